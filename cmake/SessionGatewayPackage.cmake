# Installs the SessionGateway CMake package so that other projects can write
#   find_package(SessionGateway CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE SessionGateway::convert)
include_guard(GLOBAL)
include(CMakePackageConfigHelpers)

set(SESSION_GATEWAY_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/SessionGateway)
install(EXPORT SessionGatewayTargets
  NAMESPACE SessionGateway::
  DESTINATION ${SESSION_GATEWAY_CMAKE_DIR})
configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/SessionGatewayConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/SessionGatewayConfig.cmake
  INSTALL_DESTINATION ${SESSION_GATEWAY_CMAKE_DIR})
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/SessionGatewayConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/SessionGatewayConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/SessionGatewayConfigVersion.cmake
  DESTINATION ${SESSION_GATEWAY_CMAKE_DIR})
