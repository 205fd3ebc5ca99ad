# session_gateway_fuzz_checks: the properties the fuzz targets check
# (fuzz_checks.h), as a library of its own so that both the libFuzzer
# targets (fuzz/CMakeLists.txt) and the ordinary test suite
# (tests/fuzz_regressions) run the same code. Included from both places; the
# guard keeps the target defined once.
include_guard(GLOBAL)

add_library(session_gateway_fuzz_checks STATIC ${CMAKE_CURRENT_LIST_DIR}/fuzz_checks.cc)
target_include_directories(session_gateway_fuzz_checks PUBLIC ${PROJECT_SOURCE_DIR})
target_link_libraries(session_gateway_fuzz_checks
  PUBLIC absl::status absl::strings
  PRIVATE session_gateway_cli session_gateway_server session_gateway_convert
          session_gateway_service_protos session_gateway_protos protobuf::libprotobuf re2::re2)
session_gateway_warnings(session_gateway_fuzz_checks)
