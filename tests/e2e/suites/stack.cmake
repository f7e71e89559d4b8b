# Issue 6: deploy/swarmwall-stack.yml on a 3-node Swarm (20.10 and 28.5): the
# image from deploy/image/build.sh, healthy agents on every node, a broken
# policy update rolled back by Swarm.
add_executable(stack_e2e_test stack_test.cc)
target_link_libraries(stack_e2e_test PRIVATE swarmwall_lab GTest::gtest_main)
target_compile_definitions(stack_e2e_test PRIVATE SWARMWALL_BINARY="$<TARGET_FILE:swarmwall>"
  SWARMWALL_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
add_dependencies(stack_e2e_test swarmwall)
add_test(NAME stack_e2e_test COMMAND stack_e2e_test --gtest_color=no)
set_tests_properties(stack_e2e_test PROPERTIES LABELS "e2e" TIMEOUT 600)
