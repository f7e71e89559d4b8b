# SWARMWALL_TEST_CODE_O0: the tests' own code (every *_test.cc and all of
# tests/) compiled at -O0, the product's code as configured. For CI's
# build (scripts/test.sh --ci): GoogleTest's macros and the lab's fixtures
# cost up to twice the compile time at -O2 (tests/e2e/apply_test.cc: 10.4 s
# user at -O2, 5.7 s at -O0; 180 of the whole build's 1,590 core-seconds)
# and run no faster for it; what the tests measure is the product's code,
# which keeps its optimisation.

function(swarmwall_test_code_at_o0)
  swarmwall_targets_under(${CMAKE_SOURCE_DIR} targets)
  set(tests_dir ${CMAKE_SOURCE_DIR}/tests)
  foreach(target IN LISTS targets)
    get_target_property(type ${target} TYPE)
    if(NOT type MATCHES "EXECUTABLE|STATIC_LIBRARY|OBJECT_LIBRARY")
      continue()
    endif()
    get_target_property(dir ${target} SOURCE_DIR)
    get_target_property(sources ${target} SOURCES)
    foreach(source IN LISTS sources)
      cmake_path(ABSOLUTE_PATH source BASE_DIRECTORY ${dir} OUTPUT_VARIABLE path)
      # A prefix test, not a regex: the source dir may hold regex characters.
      cmake_path(IS_PREFIX tests_dir ${path} under_tests)
      if(path MATCHES "_test\\.cc$" OR under_tests)
        set_property(SOURCE ${path} TARGET_DIRECTORY ${target} APPEND PROPERTY COMPILE_OPTIONS -O0)
      endif()
    endforeach()
  endforeach()
endfunction()
