# Issue 14 in the seed-004 lab, Docker's own firewall (no swarmwall rules): exposure --live equals nmap from the
# stranger and the office, explain --live lists every published port, and an administrator's own nftables table
# dropping one published port for the stranger (conntrack original destination) is seen by exposure and trace.
add_executable(native_tables_e2e_test ${CMAKE_CURRENT_LIST_DIR}/../native_tables_test.cc)
target_link_libraries(native_tables_e2e_test PRIVATE swarmwall_lab GTest::gtest_main nlohmann_json::nlohmann_json fmt::fmt)
target_compile_definitions(native_tables_e2e_test PRIVATE SWARMWALL_BINARY="$<TARGET_FILE:swarmwall>" SWARMWALL_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
add_dependencies(native_tables_e2e_test swarmwall)
add_test(NAME native_tables_e2e_test COMMAND native_tables_e2e_test --gtest_color=no)
set_tests_properties(native_tables_e2e_test PROPERTIES LABELS "e2e" TIMEOUT 900)
