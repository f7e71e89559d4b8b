# Issue 6: live Swarm membership (nodes: auto) -- join, leave, promote/demote
# on a real Swarm, every node running the agent (tests/e2e/membership_test.cc).
add_executable(membership_e2e_test membership_test.cc)
target_link_libraries(membership_e2e_test PRIVATE swarmwall_lab GTest::gtest nlohmann_json::nlohmann_json)
target_compile_definitions(membership_e2e_test PRIVATE SWARMWALL_BINARY="$<TARGET_FILE:swarmwall>")
add_dependencies(membership_e2e_test swarmwall)
# One process: each Docker version's cluster comes up once for the suite.
add_test(NAME membership_e2e_test COMMAND membership_e2e_test --gtest_color=no)
set_tests_properties(membership_e2e_test PROPERTIES LABELS "e2e" TIMEOUT 600)
