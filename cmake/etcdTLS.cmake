# The TLS libraries of etcd.h's two backends, looked up for the
# etcd::etcd_tls (OpenSSL) and etcd::etcd_mbedtls (mbedTLS) targets. One
# copy for both ways of getting etcd.h: CMakeLists.txt includes it from the
# source tree (add_subdirectory, FetchContent), and it is installed beside
# etcdConfig.cmake, which includes it when a consumer calls
# find_package(etcd CONFIG): the libraries are looked up on the consumer's
# machine when the consumer configures, not when etcd.h was installed.
#
# Every lookup is QUIET and a miss only leaves a list empty: a missing
# OpenSSL or mbedTLS never fails a configure step or find_package(etcd).
# (find_dependency() is not used for that reason: on a miss it makes the
# whole find_package(etcd) fail.)

# _etcd_find_openssl(<var>): <var> = OpenSSL::SSL (which brings
# OpenSSL::Crypto) when OpenSSL >= 1.1.1 is found, else empty.
# CMAKE_DISABLE_FIND_PACKAGE_OpenSSL=ON makes it a miss.
function(_etcd_find_openssl var)
  set(${var} "" PARENT_SCOPE)
  find_package(OpenSSL 1.1.1 QUIET)
  if(OPENSSL_FOUND AND TARGET OpenSSL::SSL)
    set(${var} OpenSSL::SSL PARENT_SCOPE)
  endif()
endfunction()

# _etcd_find_mbedtls(<libs> <includes> <version>): mbedTLS >= 2.28, all of
# mbedtls, mbedx509 and mbedcrypto (etcd.h calls into the three of them).
#  - mbedTLS 3.x installs a CMake package, MbedTLS (Debian 13: in
#    lib/<multiarch>/cmake/MbedTLS), with the targets MbedTLS::mbedtls,
#    MbedTLS::mbedx509 and MbedTLS::mbedcrypto: used when found.
#  - mbedTLS 2.28 as Debian 12 packages it (libmbedtls-dev) has neither a
#    CMake package nor a .pc file: then find_path(mbedtls/ssl.h) and
#    find_library(mbedtls, mbedx509, mbedcrypto), cached as
#    ETCD_MBEDTLS_INCLUDE_DIR, ETCD_MBEDTLS_LIBRARY, ETCD_MBEDX509_LIBRARY
#    and ETCD_MBEDCRYPTO_LIBRARY (set them to point elsewhere). find_library
#    searches lib/<multiarch> only once a language is enabled (C or CXX:
#    any project that compiles has one).
# The version is MBEDTLS_VERSION_STRING of the headers found (build_info.h
# in 3.x, version.h in 2.x). Empty lists when not found or older than 2.28;
# CMAKE_DISABLE_FIND_PACKAGE_MbedTLS=ON makes both lookups a miss.
function(_etcd_find_mbedtls libs_var incs_var version_var)
  set(${libs_var} "" PARENT_SCOPE)
  set(${incs_var} "" PARENT_SCOPE)
  set(${version_var} "" PARENT_SCOPE)
  if(CMAKE_DISABLE_FIND_PACKAGE_MbedTLS)
    return()
  endif()
  set(libs "")
  set(incs "")
  set(version "")
  find_package(MbedTLS CONFIG QUIET)
  if(MbedTLS_FOUND AND TARGET MbedTLS::mbedtls AND TARGET MbedTLS::mbedx509
     AND TARGET MbedTLS::mbedcrypto)
    set(libs MbedTLS::mbedtls MbedTLS::mbedx509 MbedTLS::mbedcrypto)
    set(version "${MbedTLS_VERSION}")
  else()
    find_path(ETCD_MBEDTLS_INCLUDE_DIR mbedtls/ssl.h)
    find_library(ETCD_MBEDTLS_LIBRARY mbedtls)
    find_library(ETCD_MBEDX509_LIBRARY mbedx509)
    find_library(ETCD_MBEDCRYPTO_LIBRARY mbedcrypto)
    mark_as_advanced(ETCD_MBEDTLS_INCLUDE_DIR ETCD_MBEDTLS_LIBRARY
                     ETCD_MBEDX509_LIBRARY ETCD_MBEDCRYPTO_LIBRARY)
    if(ETCD_MBEDTLS_INCLUDE_DIR AND ETCD_MBEDTLS_LIBRARY AND ETCD_MBEDX509_LIBRARY
       AND ETCD_MBEDCRYPTO_LIBRARY)
      foreach(h build_info.h version.h)
        set(f "${ETCD_MBEDTLS_INCLUDE_DIR}/mbedtls/${h}")
        if(NOT version AND EXISTS "${f}")
          file(STRINGS "${f}" line
               REGEX "^#define[ \t]+MBEDTLS_VERSION_STRING[ \t]+\"[0-9.]+\"")
          string(REGEX REPLACE ".*\"([0-9.]+)\".*" "\\1" version "${line}")
        endif()
      endforeach()
      set(libs "${ETCD_MBEDTLS_LIBRARY}" "${ETCD_MBEDX509_LIBRARY}"
               "${ETCD_MBEDCRYPTO_LIBRARY}")
      set(incs "${ETCD_MBEDTLS_INCLUDE_DIR}")
    endif()
  endif()
  if(NOT libs OR NOT version OR version VERSION_LESS 2.28)
    return()
  endif()
  set(${libs_var} "${libs}" PARENT_SCOPE)
  set(${incs_var} "${incs}" PARENT_SCOPE)
  set(${version_var} "${version}" PARENT_SCOPE)
endfunction()
