// swarmwall explain: placeholder until the analyze layer lands.
#include "cli/commands.h"

namespace swarmwall::cli {
void RegisterExplain(CLI::App&, GlobalOptions&) {}
}  // namespace swarmwall::cli
