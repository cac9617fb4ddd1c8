# Run by CMake after a doctest executable is built (see doctest_tests.cmake): lists its test cases
# and writes one CTest test per case to OUT.
#
#   -D EXE=<test executable>  -D LABEL=<CTest label>  -D WORKDIR=<working directory>
#   -D OUT=<file to write>
#   -D SERIAL=<comma-separated test files, named as below ("integration.store_crash"), whose
#              cases must not share the machine (RUN_SERIAL)>
#   -D LOCK=<comma-separated file=resource pairs ("peer.contract_abi_cast=contracts_out"): the
#            file's cases get RESOURCE_LOCK resource>
#
# A case is named after the test file it is in, mirroring the source it tests, then its doctest
# name: tests/risk/oprisk_test.cpp's "a case" is "risk.oprisk: a case"; the suite is its label
# (`ctest -L unit`). Each runs alone in its own process as `EXE --test-case=<name>
# --expect-cases=1`, so a name that no longer selects exactly its case fails (tests/main.cpp).
cmake_minimum_required(VERSION 3.20)

foreach(var EXE LABEL WORKDIR OUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "doctest_add_tests.cmake: -D ${var}=... is missing")
  endif()
endforeach()

execute_process(
  COMMAND "${EXE}" --list-test-cases --reporters=xml --no-intro
  OUTPUT_VARIABLE xml
  ERROR_VARIABLE err
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} --list-test-cases failed (${rc}): ${err}")
endif()

# CMake lists split on ';' and keep '[' ']' groups together: hide those three characters (the XML
# escapes '<' inside values, so these placeholders cannot occur in it) before splitting lines.
string(REPLACE ";" "<semicolon>" xml "${xml}")
string(REPLACE "[" "<open>" xml "${xml}")
string(REPLACE "]" "<close>" xml "${xml}")
string(REPLACE "\n" ";" lines "${xml}")

string(REPLACE "," ";" serial "${SERIAL}")
string(REPLACE "," ";" locks "${LOCK}")
set(script "")
set(seen "")
set(count 0)
foreach(line IN LISTS lines)
  if(NOT line MATCHES "^ *<TestCase name=\"([^\"]*)\" filename=\"([^\"]*)\"")
    continue()
  endif()
  set(name "${CMAKE_MATCH_1}")
  set(file "${CMAKE_MATCH_2}")
  # doctest matches names case-insensitively: two that differ only in case would run together.
  # (Compared before ';' comes back, so that each name stays one list element.)
  string(TOLOWER "${name}" key)
  if(key IN_LIST seen)
    message(FATAL_ERROR "${file}: two test cases are named \"${name}\" (ignoring case): rename one")
  endif()
  list(APPEND seen "${key}")
  foreach(pair "<semicolon>=;" "<open>=[" "<close>=]" "&quot;=\"" "&apos;='" "&lt;=<" "&gt;=>"
               "&amp;=&")
    string(FIND "${pair}" "=" eq)
    string(SUBSTRING "${pair}" 0 ${eq} from)
    math(EXPR eq "${eq} + 1")
    string(SUBSTRING "${pair}" ${eq} -1 to)
    string(REPLACE "${from}" "${to}" name "${name}")
    string(REPLACE "${from}" "${to}" file "${file}")
  endforeach()
  if(name MATCHES "\\]==\\]|[*?\\\\]")
    message(FATAL_ERROR "${file}: the test case name \"${name}\" has one of * ? \\ ]==] in it, "
                        "which cannot name a single CTest test: reword it")
  endif()

  # "tests/risk/oprisk_test.cpp" -> "risk.oprisk"; "tests/hostile/rlp_hostile_test.cpp" ->
  # "hostile.rlp". (doctest gives the path the compiler was given: absolute or relative to the
  # build directory.)
  if(NOT file MATCHES "(^|/)tests/([^/]+)/([^/]+)\\.cpp$")
    message(FATAL_ERROR "${file}: a test file must be tests/<folder>/<name>.cpp")
  endif()
  set(where "${CMAKE_MATCH_2}.${CMAKE_MATCH_3}")
  string(REGEX REPLACE "(_${LABEL})?_test$" "" where "${where}")
  set(test "${where}: ${name}")

  # doctest splits --test-case on unescaped commas.
  string(REPLACE "," "\\," filter "${name}")
  string(APPEND script
    "add_test([==[${test}]==] [==[${EXE}]==] [==[--test-case=${filter}]==] --expect-cases=1 "
    "--no-intro)\n"
    "set_tests_properties([==[${test}]==] PROPERTIES LABELS [==[${LABEL}]==] "
    "WORKING_DIRECTORY [==[${WORKDIR}]==]")
  if(NOT where STREQUAL "" AND where IN_LIST serial)
    string(APPEND script " RUN_SERIAL TRUE")
  endif()
  set(resources "")
  foreach(pair IN LISTS locks)
    if(pair MATCHES "^([^=]+)=(.+)$" AND CMAKE_MATCH_1 STREQUAL where)
      list(APPEND resources "${CMAKE_MATCH_2}")
    endif()
  endforeach()
  if(resources)
    string(APPEND script " RESOURCE_LOCK [==[${resources}]==]")
  endif()
  string(APPEND script ")\n")
  math(EXPR count "${count} + 1")
endforeach()

if(count EQUAL 0)
  message(FATAL_ERROR "${EXE} --list-test-cases listed no test case")
endif()
file(WRITE "${OUT}" "# ${count} test cases of ${EXE}, written by ${CMAKE_CURRENT_LIST_FILE}\n${script}")
