# idsync_library(NAME SOURCES ... DEPS ...): one static library per module.
# The include root is src/, so code includes "core/error.h", "store/store.h", ...
function(idsync_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# idsync_test(NAME SOURCES ... DEPS ...): a GoogleTest binary registered with ctest.
function(idsync_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    IDSYNC_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    IDSYNC_BINARY_DIR="${PROJECT_BINARY_DIR}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${ARG_LABELS}")
endfunction()

# idsync_test_on_postgres(NAME [LABELS ...]): registers the tests of
# idsync_test NAME a second time, suffixed .postgresql and labelled
# postgresql (and LABELS), to run on a real PostgreSQL server
# (tests/support/test_db.h).
function(idsync_test_on_postgres name)
  cmake_parse_arguments(ARG "" "" "LABELS" ${ARGN})
  gtest_discover_tests(${name} TEST_SUFFIX .postgresql DISCOVERY_TIMEOUT 60 TEST_LIST ${name}_postgresql
    PROPERTIES ENVIRONMENT IDSYNC_TEST_DB=postgresql)
  # gtest_discover_tests (CMake 3.25) splits a property's list into separate
  # arguments, so the labels are set by a script that ctest reads after the
  # discovered tests.
  set(labels postgresql ${ARG_LABELS})
  set(script ${CMAKE_CURRENT_BINARY_DIR}/${name}_postgresql_labels.cmake)
  file(WRITE ${script} "if(${name}_postgresql)\n  set_tests_properties(\${${name}_postgresql} PROPERTIES LABELS \"${labels}\")\nendif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${script})
endfunction()
