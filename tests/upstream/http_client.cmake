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
