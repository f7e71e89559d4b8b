// libFuzzer target for reading STATE_DIR/agent.json back (status, health):
// any bytes must give either a state or an error, never a crash or an
// exception, and a state that was read must write and read back the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "agent/agent_state.h"
#include "base/json_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace swarmwall::agent;
  std::string text(reinterpret_cast<const char*>(data), size);
  AgentStateFile file = ParseAgentState(text, "agent.json");
  if (file.state.has_value() == !file.error.empty()) abort();  // exactly one of them
  if (!file.state) return 0;
  std::string again = swarmwall::JsonText(AgentStateToJson(*file.state), 2);
  AgentStateFile back = ParseAgentState(again, "agent.json");
  if (!back.state) abort();
  if (swarmwall::JsonText(AgentStateToJson(*back.state)) != swarmwall::JsonText(AgentStateToJson(*file.state)))
    abort();
  return 0;
}
