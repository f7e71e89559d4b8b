# Issue 16: containers rules naming a Swarm service, a container or a label,
# on a real node of every lab version: plan, apply, scans from a stranger,
# and the agent following a recreate, a service update and a new label.
add_executable(selectors_e2e_test ${CMAKE_CURRENT_LIST_DIR}/../selectors_test.cc)
target_link_libraries(selectors_e2e_test PRIVATE swarmwall_lab GTest::gtest nlohmann_json::nlohmann_json)
target_compile_definitions(selectors_e2e_test PRIVATE SWARMWALL_BINARY="$<TARGET_FILE:swarmwall>")
add_dependencies(selectors_e2e_test swarmwall)
add_test(NAME selectors_e2e_test COMMAND selectors_e2e_test --gtest_color=no)
set_tests_properties(selectors_e2e_test PROPERTIES LABELS "e2e" TIMEOUT 900)
