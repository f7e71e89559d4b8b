// Which process a pid names, read from /proc: its start (clock ticks after
// boot), the boot it belongs to (boot_id) and this process's pid namespace.
// A pid alone does not say which process it is: it is reused after an exit
// and starts over after a reboot; the agent records these so that status
// and health can tell its pid from a later process's (agent::AgentRuns).
#pragma once

#include <string>

namespace swarmwall::host {

// Whether a process PID exists (it may belong to another user).
bool ProcessExists(int pid);

// Field 22 of /proc/PID/stat: when PID started, in clock ticks after boot;
// -1 when unreadable (no such process).
long long ProcessStartTicks(int pid);

// When PID started, in seconds since the epoch (btime of /proc/stat plus
// its start ticks); -1 when unknown.
long long ProcessStartSeconds(int pid);

// This boot's id (/proc/sys/kernel/random/boot_id); "" when unreadable.
std::string BootId();

// This process's pid namespace (/proc/self/ns/pid, "pid:[N]"); "" when
// unreadable.
std::string PidNamespace();

}  // namespace swarmwall::host
