#include "base/json_text.h"

#include <gtest/gtest.h>

namespace swarmwall {
namespace {

TEST(JsonText, InvalidUtf8IsReplacedNotThrown) {
  nlohmann::json j = {{"set", std::string("off\xe9" "ce")}, {"path", std::string("x/\xff.yaml")}};
  std::string text;
  ASSERT_NO_THROW(text = JsonText(j));
  EXPECT_EQ(text, "{\"path\":\"x/\xef\xbf\xbd.yaml\",\"set\":\"off\xef\xbf\xbd" "ce\"}");
  // The text is valid JSON again.
  EXPECT_FALSE(nlohmann::json::parse(text, nullptr, false).is_discarded());
}

TEST(JsonText, IndentAsDump) {
  nlohmann::json j = {{"a", 1}};
  EXPECT_EQ(JsonText(j, 2), j.dump(2));
  EXPECT_EQ(JsonText(j), j.dump());
}

}  // namespace
}  // namespace swarmwall
