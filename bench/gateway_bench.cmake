# Gateway load benchmarks: included from bench/CMakeLists.txt with
#   include(${CMAKE_CURRENT_SOURCE_DIR}/gateway_bench.cmake)
#
# grpc_load_client: a gRPC client that runs N calls of one session-gateway
# RPC with C in flight over K channels and prints a JSON summary (status
# counts, latency percentiles). bench/ratio.sh and bench/scaling.sh use it
# to check gRPC statuses h2load cannot see; bench/inflight.sh to put N
# calls in flight at once.
#
# Needs only targets the root project defines (the generated service and
# health protos) plus gRPC and abseil flags, so it does not depend on the
# converter benchmark's extra packages.

add_executable(grpc_load_client ${CMAKE_CURRENT_LIST_DIR}/grpc_load_client.cc)
target_link_libraries(grpc_load_client PRIVATE
  session_gateway_service_protos
  session_gateway_health_protos
  gRPC::grpc++
  absl::flags
  absl::flags_parse
  absl::flags_usage
  Threads::Threads)
session_gateway_warnings(grpc_load_client)
