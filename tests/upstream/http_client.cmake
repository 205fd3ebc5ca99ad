# Tests of session_gateway_http against real HTTP(S) servers on 127.0.0.1.
# Included from tests/upstream/CMakeLists.txt.
#
# Debian's cpp-httplib is a compiled library whose header changes layout
# with the CPPHTTPLIB_* feature macros, so its pkg-config flags are needed,
# not just the header. OpenSSL mints the throwaway certificates of the
# https tests.

find_package(PkgConfig REQUIRED)
pkg_check_modules(SESSION_GATEWAY_CPP_HTTPLIB REQUIRED IMPORTED_TARGET
  cpp-httplib)
find_package(OpenSSL REQUIRED)

session_gateway_test(curl_http_client_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/curl_http_client_test.cc
  LINK session_gateway_http PkgConfig::SESSION_GATEWAY_CPP_HTTPLIB
    OpenSSL::SSL OpenSSL::Crypto absl::strings absl::time Threads::Threads)

# The client's parts on their own, on the test's thread: no event loop.
session_gateway_test(curl_transfer_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/curl_transfer_test.cc
  LINK session_gateway_http CURL::libcurl absl::flat_hash_map absl::strings
    absl::time)
session_gateway_test(curl_trust_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/curl_trust_test.cc
  LINK session_gateway_http CURL::libcurl absl::strings)

# Under load: 2,000 requests in flight against DelayServer (an epoll HTTP
# server in the test process), and HTTP/2 multiplexing against nginx (a
# child process; the test skips if nginx is not installed).
session_gateway_test(curl_http_client_load_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/curl_http_client_load_test.cc
    ${CMAKE_CURRENT_LIST_DIR}/delay_server.cc
  LINK session_gateway_http session_gateway_test_support absl::strings
    absl::time Threads::Threads)
