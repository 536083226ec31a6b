if(ZHISUAN_SANITIZE)
  message(STATUS "Building with sanitizers: ${ZHISUAN_SANITIZE}")
  add_compile_options(-fsanitize=${ZHISUAN_SANITIZE} -fno-omit-frame-pointer ${ZHISUAN_DEBUG_FLAG})
  add_link_options(-fsanitize=${ZHISUAN_SANITIZE})
  if(ZHISUAN_SANITIZE MATCHES "undefined")
    add_compile_options(-fno-sanitize-recover=undefined)
  endif()
endif()

# Fuzz builds instrument every first-party library for coverage; the fuzzers link libFuzzer itself.
if(ZHISUAN_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
