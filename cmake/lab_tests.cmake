# `ninja lab_tests` builds what the lab, end-to-end and adversarial suites
# run (every program under tests/ that no unit test needs, and swarmwall),
# and nothing else: CI's release build makes these first and starts the
# lab with them, and builds the unit tests' programs in the background
# while the lab waits on dockerd (scripts/test.sh).
# Called at the end of the top-level CMakeLists.txt, when every target is
# known.
function(swarmwall_lab_tests_target)
  swarmwall_targets_under(${CMAKE_SOURCE_DIR}/tests targets)
  get_property(unit DIRECTORY ${CMAKE_SOURCE_DIR} PROPERTY SWARMWALL_UNIT_TEST_TARGETS)
  set(lab swarmwall)
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    if(type STREQUAL "EXECUTABLE" AND NOT target IN_LIST unit)
      list(APPEND lab ${target})
    endif()
  endforeach()
  add_custom_target(lab_tests)
  add_dependencies(lab_tests ${lab})
endfunction()
