# session_gateway_proto_library(): one library target holding the C++ (and
# optionally gRPC) code generated from a set of .proto files.
#
#   session_gateway_proto_library(my_protos
#     IMPORT_ROOT ${CMAKE_CURRENT_SOURCE_DIR}
#     PROTOS a/b/v1/x.proto a/b/v1/y.proto
#     [EXTRA_IMPORT_DIRS dir...]   # roots of imported protos
#     [GRPC]                       # also run grpc_cpp_plugin
#     [LINK lib...])               # libraries the generated code needs
#
# Code goes to ${CMAKE_CURRENT_BINARY_DIR}/<IMPORT_ROOT-relative path>, which
# becomes a public include directory, so includes read
# "a/b/v1/x.pb.h" exactly as the import statements do.

include_guard(GLOBAL)

function(session_gateway_proto_library target)
  cmake_parse_arguments(ARG "GRPC" "IMPORT_ROOT" "PROTOS;EXTRA_IMPORT_DIRS;LINK" ${ARGN})
  if(NOT ARG_IMPORT_ROOT)
    set(ARG_IMPORT_ROOT ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR})
  set(abs_protos)
  foreach(proto IN LISTS ARG_PROTOS)
    if(IS_ABSOLUTE "${proto}")
      list(APPEND abs_protos "${proto}")
    else()
      list(APPEND abs_protos "${ARG_IMPORT_ROOT}/${proto}")
    endif()
  endforeach()

  add_library(${target})
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf ${ARG_LINK})
  # SYSTEM: warnings in generated headers are not ours to fix.
  target_include_directories(${target} SYSTEM PUBLIC
    $<BUILD_INTERFACE:${out_dir}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/session_gateway>)
  set(import_dirs ${ARG_IMPORT_ROOT} ${ARG_EXTRA_IMPORT_DIRS})

  protobuf_generate(TARGET ${target}
    LANGUAGE cpp
    PROTOS ${abs_protos}
    IMPORT_DIRS ${import_dirs}
    PROTOC_OUT_DIR ${out_dir})
  if(ARG_GRPC)
    target_link_libraries(${target} PUBLIC gRPC::grpc++)
    protobuf_generate(TARGET ${target}
      LANGUAGE grpc
      GENERATE_EXTENSIONS .grpc.pb.h .grpc.pb.cc
      PLUGIN "protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>"
      PROTOS ${abs_protos}
      IMPORT_DIRS ${import_dirs}
      PROTOC_OUT_DIR ${out_dir})
  endif()
  # Generated code gets no warning flags (see SessionGatewayWarnings.cmake).
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()
