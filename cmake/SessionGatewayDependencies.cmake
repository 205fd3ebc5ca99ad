# Finds the libraries session-gateway builds on and gives each one an
# imported target, whatever way it was found:
#   protobuf::libprotobuf, protobuf::protoc   (CMake's FindProtobuf)
#   absl::status, absl::statusor, absl::flags, ... (abseil's CMake config)
#   gRPC::grpc++, gRPC::grpc++_reflection, gRPC::grpc_cpp_plugin
#
# gRPC: its CMake config package first. Debian's config package refuses to
# load unless protobuf-compiler-grpc is installed, so a pkg-config fallback
# (grpc++) builds the same targets from the .pc files.

include_guard(GLOBAL)

find_package(Protobuf REQUIRED)
if(NOT TARGET protobuf::protoc)
  message(FATAL_ERROR "protoc not found: install protobuf-compiler")
endif()

find_package(absl CONFIG REQUIRED)

# Quietly: on failure we fall back to pkg-config below.
find_package(gRPC CONFIG QUIET)
if(TARGET gRPC::grpc++ AND TARGET gRPC::grpc_cpp_plugin)
  message(STATUS "gRPC ${gRPC_VERSION}: CMake config package")
else()
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(GRPCPP REQUIRED IMPORTED_TARGET grpc++)
  pkg_check_modules(GRPCPP_REFLECTION IMPORTED_TARGET grpc++_reflection)
  find_program(SESSION_GATEWAY_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
  add_library(gRPC::grpc++ INTERFACE IMPORTED)
  target_link_libraries(gRPC::grpc++ INTERFACE PkgConfig::GRPCPP)
  add_library(gRPC::grpc++_reflection INTERFACE IMPORTED)
  if(TARGET PkgConfig::GRPCPP_REFLECTION)
    target_link_libraries(gRPC::grpc++_reflection INTERFACE PkgConfig::GRPCPP_REFLECTION)
  else()
    target_link_libraries(gRPC::grpc++_reflection INTERFACE grpc++_reflection PkgConfig::GRPCPP)
  endif()
  add_executable(gRPC::grpc_cpp_plugin IMPORTED)
  set_target_properties(gRPC::grpc_cpp_plugin PROPERTIES
    IMPORTED_LOCATION "${SESSION_GATEWAY_GRPC_CPP_PLUGIN}")
  message(STATUS "gRPC ${GRPCPP_VERSION}: pkg-config")
endif()

# Plain googleapis protos (google.rpc.Status, google.api.http, ...), as
# Debian ships them in golang-github-gogo-googleapis-dev. They are compiled
# into the build, never copied into the repository.
find_path(SESSION_GATEWAY_GOOGLEAPIS_DIR google/rpc/status.proto
  HINTS /usr/share/gocode/src/github.com/gogo/googleapis
  DOC "Root of the googleapis .proto files")
if(NOT SESSION_GATEWAY_GOOGLEAPIS_DIR)
  message(FATAL_ERROR
    "googleapis protos not found: install golang-github-gogo-googleapis-dev "
    "or set SESSION_GATEWAY_GOOGLEAPIS_DIR")
endif()

# grpc/health/v1/health.proto from Debian's grpc-proto. gRPC's built-in
# health service does not register its schema, so we compile it in for
# server reflection to serve.
find_path(SESSION_GATEWAY_GRPC_PROTO_DIR grpc/health/v1/health.proto
  HINTS /usr/share/grpc-proto
  DOC "Root of gRPC's own .proto files")
if(NOT SESSION_GATEWAY_GRPC_PROTO_DIR)
  message(FATAL_ERROR "grpc/health/v1/health.proto not found: install grpc-proto "
    "or set SESSION_GATEWAY_GRPC_PROTO_DIR")
endif()

find_package(CURL REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
if(NOT TARGET re2::re2)
  pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
  add_library(re2::re2 INTERFACE IMPORTED)
  target_link_libraries(re2::re2 INTERFACE PkgConfig::RE2)
endif()

# cpp-httplib (the sandbox's HTTP server). Debian builds it as a library
# whose header layout depends on the CPPHTTPLIB_* macros in its .pc file.
pkg_check_modules(SESSION_GATEWAY_HTTPLIB REQUIRED IMPORTED_TARGET GLOBAL cpp-httplib)

# prometheus-cpp (Debian's prometheus-cpp-dev): the gateway's /metrics
# endpoint. core holds the registry and metric types, pull the HTTP exposer.
find_package(prometheus-cpp CONFIG REQUIRED)
