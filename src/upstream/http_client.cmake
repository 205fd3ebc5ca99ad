# session_gateway_http: the asynchronous HTTP client (libcurl multi
# interface) through which the gateway reaches the REST upstream.
# Included from src/upstream/CMakeLists.txt; paths are relative to this
# file so the including directory does not matter.

find_package(CURL REQUIRED)
find_package(Threads REQUIRED)

# One concern per file: curl_transfer (one request as a configured easy
# handle, and its outcome as a status), curl_event_loop (a thread and multi
# handle driving transfers), curl_trust (CA settings), curl_http_client
# (options, the loops, routing).
add_library(session_gateway_http
  ${CMAKE_CURRENT_LIST_DIR}/curl_event_loop.cc
  ${CMAKE_CURRENT_LIST_DIR}/curl_http_client.cc
  ${CMAKE_CURRENT_LIST_DIR}/curl_transfer.cc
  ${CMAKE_CURRENT_LIST_DIR}/curl_trust.cc)
set_target_properties(session_gateway_http PROPERTIES
  POSITION_INDEPENDENT_CODE ON)
target_include_directories(session_gateway_http PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src>)
target_link_libraries(session_gateway_http
  PUBLIC absl::any_invocable absl::status absl::statusor absl::time
  PRIVATE session_gateway_base CURL::libcurl Threads::Threads absl::flat_hash_map absl::strings)
session_gateway_warnings(session_gateway_http)
