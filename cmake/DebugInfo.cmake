# How much debug information the RelWithDebInfo and Debug builds carry (ZHISUAN_DEBUG_INFO).
#
# "lines" (the default, -g1): line tables and function names. That is all a backtrace, a core
# file's stack or a sanitizer report needs to name file:line. Full -g also describes every type
# and variable for a debugger; with nlohmann/json, gRPC and GoogleTest templates in most
# translation units that doubled the compile time of the heaviest ones (agent_runner.cc: 10.3 s
# with -g, 5.6 s with -g1, gcc 12, alone on the 2-core machine) and slowed every link, which is
# what a fresh machine's CI spends most of its time on (README, "On a fresh machine").
# "full" (-g): for a debugger session, e.g. CMAKE_FLAGS=-DZHISUAN_DEBUG_INFO=full.
set(ZHISUAN_DEBUG_INFO "lines" CACHE STRING "Debug information: 'lines' (-g1) or 'full' (-g)")
set_property(CACHE ZHISUAN_DEBUG_INFO PROPERTY STRINGS lines full)

if(ZHISUAN_DEBUG_INFO STREQUAL "lines")
  set(ZHISUAN_DEBUG_FLAG -g1)
elseif(ZHISUAN_DEBUG_INFO STREQUAL "full")
  set(ZHISUAN_DEBUG_FLAG -g)
else()
  message(FATAL_ERROR "ZHISUAN_DEBUG_INFO must be 'lines' or 'full', not '${ZHISUAN_DEBUG_INFO}'")
endif()

# CMake's own per-configuration defaults say -g; swap it for the chosen flag in this project.
foreach(lang C CXX)
  foreach(config DEBUG RELWITHDEBINFO)
    string(REGEX REPLACE "(^| )-g( |$)" "\\1${ZHISUAN_DEBUG_FLAG}\\2" CMAKE_${lang}_FLAGS_${config}
                         "${CMAKE_${lang}_FLAGS_${config}}")
  endforeach()
endforeach()
