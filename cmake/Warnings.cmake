# zhisuan_warnings(target): the warning set every first-party target is built with.
add_library(zhisuan_warnings INTERFACE)
target_compile_options(zhisuan_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                       -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused
                       -Woverloaded-virtual -Wnull-dereference)
if(ZHISUAN_WERROR)
  target_compile_options(zhisuan_warnings INTERFACE -Werror)
endif()
