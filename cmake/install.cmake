# Install rules and the exported CMake package, so that an installed halt is used with
#   find_package(halt CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE halt::halt)

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(HALT_CONFIG_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/halt")

install(TARGETS halt
  EXPORT haltTargets
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/halt"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
  FILES_MATCHING PATTERN "*.hpp")

install(EXPORT haltTargets
  NAMESPACE halt::
  FILE haltTargets.cmake
  DESTINATION "${HALT_CONFIG_INSTALL_DIR}")

# halt::asio has its own export set, loaded by haltConfig.cmake only where Boost is found, so that
# consumers of the core alone never need Boost.
if(TARGET halt_asio)
  install(TARGETS halt_asio EXPORT haltAsioTargets)
  install(EXPORT haltAsioTargets
    NAMESPACE halt::
    FILE haltAsioTargets.cmake
    DESTINATION "${HALT_CONFIG_INSTALL_DIR}")
endif()

# halt::http likewise (it needs halt::asio, hence Boost).
if(TARGET halt_http)
  install(TARGETS halt_http
    EXPORT haltHttpTargets
    ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
    LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
    RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}")
  install(EXPORT haltHttpTargets
    NAMESPACE halt::
    FILE haltHttpTargets.cmake
    DESTINATION "${HALT_CONFIG_INSTALL_DIR}")
endif()

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/haltConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/haltConfig.cmake"
  INSTALL_DESTINATION "${HALT_CONFIG_INSTALL_DIR}")

write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/haltConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMajorVersion)

install(FILES
  "${PROJECT_BINARY_DIR}/haltConfig.cmake"
  "${PROJECT_BINARY_DIR}/haltConfigVersion.cmake"
  DESTINATION "${HALT_CONFIG_INSTALL_DIR}")
