# http_client_bench: the upstream HTTP client (CurlHttpClient) alone
# against a local upstream, for measuring changes to the client; see the
# header of http_client_bench.cc. Included from bench/CMakeLists.txt.
#
# It needs only the client library and abseil flags (the DelayServer
# upstream is compiled in from tests/upstream), so none of the converter
# benchmark's packages.

add_executable(http_client_bench
  ${CMAKE_CURRENT_LIST_DIR}/http_client_bench.cc
  ${CMAKE_CURRENT_LIST_DIR}/../tests/upstream/delay_server.cc)
target_link_libraries(http_client_bench PRIVATE
  session_gateway_http
  absl::flags
  absl::flags_parse
  absl::strings
  absl::time)
session_gateway_warnings(http_client_bench)
