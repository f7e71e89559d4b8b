// The lockout guard: before an apply, would the people connected over SSH
// still be able to connect again under the new rules? Clients come from
// SSH_CONNECTION and from established conntrack entries to the local sshd
// port; each is judged by walking the desired SWARMWALL-INPUT chain for a
// new TCP connection from that client, as the kernel would.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "compile/desired_state.h"
#include "netfilter/address.h"

namespace swarmwall::apply {

struct SshClient {
  netfilter::IpAddress address;
  uint16_t port = 22;           // the local sshd port it reached
  std::string interface;        // where its packets arrive ("" unknown)
  std::string seen;             // "SSH_CONNECTION" or "conntrack"
};

// From the SSH_CONNECTION value ("client cport server sport") and the
// output of `conntrack -L -p tcp --state ESTABLISHED`.
std::vector<SshClient> ParseSshClients(const std::string& ssh_connection,
                                       const std::string& conntrack_listing, uint16_t sshd_port);
// The live host: environment, conntrack, and `ip route get` for interfaces.
std::vector<SshClient> FindSshClients();

enum class Verdict { kAccepted, kDropped, kNotDecided };

// A new TCP connection from CLIENT to its port, arriving on its interface,
// walked through FS's SWARMWALL-INPUT. kNotDecided: it returns to the rest
// of INPUT, which swarmwall does not own.
Verdict JudgeNewConnection(const compile::FamilyState& fs, const SshClient& client);

// One sentence per client the desired state would lock out.
std::vector<std::string> LockedOut(const compile::DesiredState& desired,
                                   const std::vector<SshClient>& clients);

}  // namespace swarmwall::apply
