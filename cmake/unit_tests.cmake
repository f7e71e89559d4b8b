# `ninja unit_tests` builds what the tests labelled unit run, and nothing
# else: the sanitizer build of scripts/test.sh runs only those tests, so it
# need not compile the lab, end-to-end and adversarial suites or the
# throughput programs.
add_custom_target(unit_tests)

# swarmwall_unit_test(TARGET): TARGET is run by a test labelled unit (a
# gtest executable registered with LABELS unit, or a program such as
# swarmwall that a unit-labelled add_test runs). Call it next to the test's
# registration; a unit test whose target is not named here is not built by
# `ninja unit_tests` and its cases are then missing from `ctest -L unit`.
function(swarmwall_unit_test target)
  add_dependencies(unit_tests ${target})
endfunction()
