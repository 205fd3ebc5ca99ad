# session_gateway_warnings(target): the warning flags every target we write
# is built with. Generated protobuf code is deliberately left out.
include_guard(GLOBAL)

option(SESSION_GATEWAY_WERROR "Treat warnings in our own code as errors" OFF)

function(session_gateway_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
    -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wimplicit-fallthrough)
  if(SESSION_GATEWAY_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
