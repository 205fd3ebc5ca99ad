# jwt_signer_test. Meant to be include()d; paths are relative to this file.
# The test calls OpenSSL itself to check signatures independently of the
# code under test, so it links OpenSSL::Crypto directly.
find_package(OpenSSL 3.0 REQUIRED)

session_gateway_test(jwt_signer_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/jwt_signer_test.cc
  LINK session_gateway_jwt session_gateway_test_jwt_verifier session_gateway_base
    OpenSSL::Crypto absl::status absl::statusor absl::strings absl::time)
target_compile_definitions(jwt_signer_test PRIVATE
  SESSION_GATEWAY_JWT_TESTDATA_DIR="${CMAKE_CURRENT_LIST_DIR}/testdata")
