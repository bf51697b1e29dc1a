# Run by `cmake --install` (an install(CODE) of CMakeLists.txt): writes
# etcd.pc, etcd-tls.pc and etcd-mbedtls.pc from the .pc.in files the way
# mk/install.mk's sed does, and installs them. Here, at install time, because
# @PREFIX@ is the prefix installed to, which `cmake --install --prefix P`
# may change after the configure step: CMAKE_INSTALL_PREFIX is that prefix.
#   @PREFIX@      CMAKE_INSTALL_PREFIX
#   @INCLUDEDIR@  ${prefix}/<includedir> (absolute if it is not under it)
#   @VERSION@     ETCD_VERSION of etcd.h (the project's VERSION)
# Set by the caller: _etcd_pc_src (source dir), _etcd_pc_tmp (a build dir
# scratch dir), _etcd_pc_version, _etcd_pc_includedir, _etcd_pc_dir.
if(IS_ABSOLUTE "${_etcd_pc_includedir}")
  set(_etcd_pc_inc "${_etcd_pc_includedir}")
  string(LENGTH "${CMAKE_INSTALL_PREFIX}/" _etcd_pc_n)
  string(SUBSTRING "${_etcd_pc_includedir}" 0 ${_etcd_pc_n} _etcd_pc_head)
  if(_etcd_pc_head STREQUAL "${CMAKE_INSTALL_PREFIX}/")
    string(SUBSTRING "${_etcd_pc_includedir}" ${_etcd_pc_n} -1 _etcd_pc_tail)
    set(_etcd_pc_inc "\${prefix}/${_etcd_pc_tail}")
  endif()
else()
  set(_etcd_pc_inc "\${prefix}/${_etcd_pc_includedir}")
endif()
if(IS_ABSOLUTE "${_etcd_pc_dir}")
  set(_etcd_pc_dest "${_etcd_pc_dir}")
else()
  set(_etcd_pc_dest "${CMAKE_INSTALL_PREFIX}/${_etcd_pc_dir}")
endif()
file(MAKE_DIRECTORY "${_etcd_pc_tmp}")
set(_etcd_pc_files "")
foreach(_etcd_pc etcd etcd-tls etcd-mbedtls)
  file(READ "${_etcd_pc_src}/${_etcd_pc}.pc.in" _etcd_pc_text)
  string(REPLACE "@PREFIX@" "${CMAKE_INSTALL_PREFIX}" _etcd_pc_text "${_etcd_pc_text}")
  string(REPLACE "@INCLUDEDIR@" "${_etcd_pc_inc}" _etcd_pc_text "${_etcd_pc_text}")
  string(REPLACE "@VERSION@" "${_etcd_pc_version}" _etcd_pc_text "${_etcd_pc_text}")
  file(WRITE "${_etcd_pc_tmp}/${_etcd_pc}.pc" "${_etcd_pc_text}")
  list(APPEND _etcd_pc_files "${_etcd_pc_tmp}/${_etcd_pc}.pc")
endforeach()
# file(INSTALL) is what install() runs: DESTDIR, the "-- Installing" lines
# and install_manifest.txt, as for the other files.
file(INSTALL DESTINATION "${_etcd_pc_dest}" TYPE FILE
     PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
     FILES ${_etcd_pc_files})
