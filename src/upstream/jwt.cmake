# The ES512 bearer-token signer for Gr4vy's REST API (jwt_signer.h).
# Meant to be include()d; paths are relative to this file, not to the
# including directory.
find_package(OpenSSL 3.0 REQUIRED)

add_library(session_gateway_jwt ${CMAKE_CURRENT_LIST_DIR}/jwt_signer.cc)
set_target_properties(session_gateway_jwt PROPERTIES
  POSITION_INDEPENDENT_CODE ON)
target_include_directories(session_gateway_jwt PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/src>)
# OpenSSL stays private: jwt_signer.h only forward-declares its key type.
target_link_libraries(session_gateway_jwt
  PUBLIC absl::status absl::statusor absl::strings absl::time
  PRIVATE OpenSSL::Crypto)
session_gateway_warnings(session_gateway_jwt)
