// The established TCP connections of conntrack's table, read over ctnetlink
// in one dump for both families (the lockout guard's question). Forking
// `conntrack -L` twice cost ~25 ms of every apply that writes.
#pragma once

#include <optional>
#include <string>

namespace swarmwall::host {

// One line per ESTABLISHED TCP entry, in the words of `conntrack -L`
// ("tcp 6 ESTABLISHED src=A dst=B sport=P dport=Q"); nullopt with ERROR
// when the kernel cannot be asked (no nf_conntrack, no netlink).
std::optional<std::string> EstablishedTcpListing(std::string& error);

}  // namespace swarmwall::host
