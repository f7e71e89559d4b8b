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
  set_property(DIRECTORY ${CMAKE_SOURCE_DIR} APPEND PROPERTY SWARMWALL_UNIT_TEST_TARGETS ${target})
endfunction()

# All build-system targets defined in DIR and below.
function(swarmwall_targets_under dir out)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub IN LISTS subdirs)
    swarmwall_targets_under(${sub} more)
    list(APPEND targets ${more})
  endforeach()
  set(${out} ${targets} PARENT_SCOPE)
endfunction()
