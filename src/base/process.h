// Runs an external program (iptables-save, iptables-restore, ip, ...) and
// collects its exit status and output. Arguments go straight to execvp, never
// through a shell, so no quoting bugs; Shell() exists for the lab and tests.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace swarmwall {

struct ProcessResult {
  int exit_code = -1;        // exit status, or 128+signal when killed
  std::string out;           // everything written to stdout
  std::string err;           // everything written to stderr
  bool timed_out = false;
  bool ok() const { return exit_code == 0 && !timed_out; }
};

struct ProcessOptions {
  std::string input;                       // written to the child's stdin
  std::chrono::milliseconds timeout{0};    // 0: wait forever
  std::vector<std::string> extra_env;      // "NAME=value" added to the environment
};

// Runs argv[0] (looked up in PATH) with the given arguments.
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const ProcessOptions& options = {});

// Runs a command line through /bin/sh -c. For tests and the lab only.
ProcessResult Shell(const std::string& command_line,
                    const ProcessOptions& options = {});

// True when PROGRAM is found in PATH.
bool ProgramExists(const std::string& program);

// For a detached child (a committer, a rollback timer) that outlives the
// command that forked it: stdin from /dev/null, stdout and stderr appended
// to LOG, so nothing it prints goes to a terminal that may be gone.
void RedirectStdioToLog(const std::string& log);

}  // namespace swarmwall
