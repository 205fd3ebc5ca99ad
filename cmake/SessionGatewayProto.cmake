# session_gateway_proto_library(): one library target holding the C++ (and
# optionally gRPC) code generated from a set of .proto files.
#
#   session_gateway_proto_library(my_protos
#     IMPORT_ROOT ${CMAKE_CURRENT_SOURCE_DIR}
#     PROTOS a/b/v1/x.proto a/b/v1/y.proto   # relative to IMPORT_ROOT
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
  add_library(${target})
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf ${ARG_LINK})
  # SYSTEM: warnings in generated headers are not ours to fix.
  target_include_directories(${target} SYSTEM PUBLIC
    $<BUILD_INTERFACE:${out_dir}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/session_gateway>)

  set(import_flags -I ${ARG_IMPORT_ROOT})
  foreach(dir IN LISTS ARG_EXTRA_IMPORT_DIRS)
    list(APPEND import_flags -I ${dir})
  endforeach()
  set(plugin_flags)
  set(plugin_deps)
  if(ARG_GRPC)
    target_link_libraries(${target} PUBLIC gRPC::grpc++)
    set(plugin_flags --grpc_out=${out_dir}
      --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>)
    set(plugin_deps gRPC::grpc_cpp_plugin)
  endif()

  # Our own rule rather than protobuf_generate(): CMake 3.25's version puts
  # the output of a .proto outside the current source directory (such as
  # Debian's googleapis) in the wrong place.
  foreach(proto IN LISTS ARG_PROTOS)
    get_filename_component(dir "${proto}" DIRECTORY)
    get_filename_component(stem "${proto}" NAME_WE)
    set(base ${out_dir}/${dir}/${stem})
    set(outputs ${base}.pb.h ${base}.pb.cc)
    if(ARG_GRPC)
      list(APPEND outputs ${base}.grpc.pb.h ${base}.grpc.pb.cc)
    endif()
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND protobuf::protoc --cpp_out=${out_dir} ${plugin_flags} ${import_flags}
              ${ARG_IMPORT_ROOT}/${proto}
      DEPENDS ${ARG_IMPORT_ROOT}/${proto} protobuf::protoc ${plugin_deps}
      COMMENT "Generating C++ from ${proto}"
      VERBATIM)
    target_sources(${target} PRIVATE ${outputs})
  endforeach()
  # Generated code gets no warning flags (see SessionGatewayWarnings.cmake).
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()
