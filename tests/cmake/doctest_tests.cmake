# One CTest test per doctest test case (like doctest_discover_tests, plus what we rely on: a
# label per suite, names that mirror the tested source, and a case that must be selected).
#
#   varkeeper_doctest_tests(<target> LABEL <label> [SERIAL <file>...] [LOCK <file>=<resource>...])
#
# After <target> is built, doctest_add_tests.cmake lists its cases into
# <build>/tests/<target>_cases.cmake, which CTest reads; until then `ctest -N` shows one failing
# "<target> is not built" test. SERIAL names test files ("integration.store_crash") whose cases run
# alone (RUN_SERIAL) under `ctest -j`; LOCK gives a file's cases a RESOURCE_LOCK, so that under
# `ctest -j` they never run beside another test holding the same resource
# ("peer.contract_abi_cast=contracts_out": it and the foundry test both write contracts/out).
set(VARKEEPER_DOCTEST_ADD_TESTS ${CMAKE_CURRENT_LIST_DIR}/doctest_add_tests.cmake)

function(varkeeper_doctest_tests target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "LABEL" "SERIAL;LOCK")
  set(cases ${CMAKE_CURRENT_BINARY_DIR}/${target}_cases.cmake)
  set(include ${CMAKE_CURRENT_BINARY_DIR}/${target}_include.cmake)
  string(REPLACE ";" "," serial "${arg_SERIAL}")
  string(REPLACE ";" "," locks "${arg_LOCK}")
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND ${CMAKE_COMMAND} -D EXE=$<TARGET_FILE:${target}> -D LABEL=${arg_LABEL}
            -D WORKDIR=${CMAKE_CURRENT_BINARY_DIR}
            -D OUT=${cases} -D SERIAL=${serial} -D LOCK=${locks} -P ${VARKEEPER_DOCTEST_ADD_TESTS}
    BYPRODUCTS ${cases}
    VERBATIM)
  file(WRITE ${include}
    "if(EXISTS \"${cases}\")\n"
    "  include(\"${cases}\")\n"
    "else()\n"
    "  add_test([==[${target} is not built]==] \"${CMAKE_COMMAND}\" -E false)\n"
    "  set_tests_properties([==[${target} is not built]==] PROPERTIES LABELS ${arg_LABEL})\n"
    "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${include})
endfunction()
