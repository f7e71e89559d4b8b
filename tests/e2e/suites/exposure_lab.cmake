# Issue 5: in the seed-004 lab (both Docker versions), after apply: the analyzer's exposure of each node's
# live ruleset equals nmap's view from the stranger and the office, audit --policy finds no difference, and
# verify from the stranger and the office exits 0.
add_executable(exposure_lab_test ${CMAKE_CURRENT_LIST_DIR}/../exposure_lab_test.cc)
target_link_libraries(exposure_lab_test PRIVATE swarmwall_lab GTest::gtest_main nlohmann_json::nlohmann_json fmt::fmt)
target_compile_definitions(exposure_lab_test PRIVATE SWARMWALL_BINARY="$<TARGET_FILE:swarmwall>" SWARMWALL_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
add_dependencies(exposure_lab_test swarmwall)
add_test(NAME exposure_lab_test COMMAND exposure_lab_test --gtest_color=no)
set_tests_properties(exposure_lab_test PROPERTIES LABELS "e2e" TIMEOUT 600)
