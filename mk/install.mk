# install.mk - make install / make uninstall, as C users expect.
#   make install                             into PREFIX=/usr/local
#   make install PREFIX=/usr DESTDIR=/tmp/stage
#   make uninstall                           the same files (same PREFIX/DESTDIR)
# installs
#   $(DESTDIR)$(INCLUDEDIR)/etcd.h                    INCLUDEDIR = $(PREFIX)/include
#   $(DESTDIR)$(PKGCONFIGDIR)/etcd.pc, etcd-tls.pc,   PKGCONFIGDIR = $(PREFIX)/share/pkgconfig
#                             etcd-mbedtls.pc
#   $(DESTDIR)$(CMAKEDIR)/etcdConfig.cmake,           CMAKEDIR = $(PREFIX)/share/cmake/etcd
#       etcdConfigVersion.cmake, etcdTLS.cmake
#   $(DESTDIR)$(BINDIR)/etcdctl_lite                  BINDIR = $(PREFIX)/bin
# The .pc files come from etcd.pc.in, etcd-tls.pc.in and etcd-mbedtls.pc.in;
# their Version is read from etcd.h's ETCD_VERSION when installing (there is
# no other copy). etcd.pc: -I only (header-only, libc only). etcd-tls.pc:
# -DETCD_USE_OPENSSL and Requires: openssl. etcd-mbedtls.pc:
# -DETCD_USE_MBEDTLS and Libs: -lmbedtls -lmbedx509 -lmbedcrypto (its
# comment says why not a Requires). They go to share/pkgconfig, not
# lib/pkgconfig: they hold nothing architecture-specific (no library, no
# libdir), which is where header-only packages put them (Debian's eigen3,
# nlohmann_json), and pkg-config searches $(PREFIX)/share/pkgconfig by
# default wherever it searches $(PREFIX)/lib/pkgconfig (FreeBSD: only
# share/). Override with PKGCONFIGDIR=$(PREFIX)/lib/pkgconfig if you must.
# The CMake package (find_package(etcd CONFIG): etcd::etcd, etcd::etcd_tls,
# etcd::etcd_mbedtls) comes from cmake/etcdConfig.cmake.in and
# cmake/etcdConfigVersion.cmake.in, plus cmake/etcdTLS.cmake as it is; it
# goes to share/cmake/etcd for the same reason (CMake searches
# <prefix>/share/cmake/<name>*/ as it does lib/cmake), and finds the
# prefix from its own place (../../.. of share/cmake/etcd), so a staged
# DESTDIR tree works as it is (CMAKE_PREFIX_PATH=<stage>/usr).
# `cmake --install` of CMakeLists.txt writes the same files from the same
# templates (all but etcdctl_lite).
# etcdctl_lite is build/etcdctl_lite (make examples), built if missing:
# run `make examples` as yourself before `sudo make install`.
# CMake users in the source tree: CMakeLists.txt (add_subdirectory,
# FetchContent), see README.md. tests/test_packaging.sh (make test) checks
# all of it in a temp dir.
PKGS += cmake pkg-config

PREFIX       ?= /usr/local
DESTDIR      ?=
BINDIR       ?= $(PREFIX)/bin
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(PREFIX)/share/pkgconfig
CMAKEDIR     ?= $(PREFIX)/share/cmake/etcd
INSTALL      ?= install
# includedir in the .pc files: ${prefix}/include when under PREFIX.
PC_INCLUDEDIR = $(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))
# etcdConfig.cmake: the prefix as seen from CMAKEDIR (one .. a component)
# and the include dir under it, as CMakeLists.txt computes them (absolute
# when not under PREFIX).
CM_PREFIX     = $(if $(filter $(PREFIX)/%,$(CMAKEDIR)),$${CMAKE_CURRENT_LIST_DIR}/$(shell echo '$(patsubst $(PREFIX)/%,%,$(CMAKEDIR))' | sed 's|[^/][^/]*|..|g'),$(PREFIX))
CM_INCLUDEDIR = $(patsubst $(PREFIX)/%,$${_etcd_prefix}/%,$(INCLUDEDIR))

.PHONY: install uninstall
install: etcd.h etcd.pc.in etcd-tls.pc.in etcd-mbedtls.pc.in cmake/etcdConfig.cmake.in \
         cmake/etcdConfigVersion.cmake.in cmake/etcdTLS.cmake build/etcdctl_lite
	@v=$$(sed -n 's/^#define[[:space:]]*ETCD_VERSION[[:space:]]*"\([^"]*\)".*/\1/p' etcd.h); \
	case "$$v" in [0-9]*.[0-9]*.[0-9]*) ;; \
	    *) echo "install: no ETCD_VERSION \"X.Y.Z\" in etcd.h (got '$$v')" >&2; exit 1;; esac; \
	set -e; \
	$(INSTALL) -d "$(DESTDIR)$(INCLUDEDIR)" "$(DESTDIR)$(PKGCONFIGDIR)" "$(DESTDIR)$(CMAKEDIR)" "$(DESTDIR)$(BINDIR)"; \
	echo "install etcd.h -> $(DESTDIR)$(INCLUDEDIR)/etcd.h"; \
	$(INSTALL) -m 644 etcd.h "$(DESTDIR)$(INCLUDEDIR)/etcd.h"; \
	for pc in etcd etcd-tls etcd-mbedtls; do \
	    echo "install $$pc.pc (Version $$v) -> $(DESTDIR)$(PKGCONFIGDIR)/$$pc.pc"; \
	    sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@INCLUDEDIR@|$(PC_INCLUDEDIR)|g' -e "s|@VERSION@|$$v|g" \
	        $$pc.pc.in > "$(DESTDIR)$(PKGCONFIGDIR)/$$pc.pc"; \
	    chmod 644 "$(DESTDIR)$(PKGCONFIGDIR)/$$pc.pc"; \
	done; \
	for cm in etcdConfig etcdConfigVersion; do \
	    echo "install $$cm.cmake (Version $$v) -> $(DESTDIR)$(CMAKEDIR)/$$cm.cmake"; \
	    sed -e 's|@ETCD_CONFIG_PREFIX@|$(CM_PREFIX)|g' -e 's|@ETCD_CONFIG_INCLUDEDIR@|$(CM_INCLUDEDIR)|g' \
	        -e "s|@VERSION@|$$v|g" cmake/$$cm.cmake.in > "$(DESTDIR)$(CMAKEDIR)/$$cm.cmake"; \
	    chmod 644 "$(DESTDIR)$(CMAKEDIR)/$$cm.cmake"; \
	done; \
	echo "install cmake/etcdTLS.cmake -> $(DESTDIR)$(CMAKEDIR)/etcdTLS.cmake"; \
	$(INSTALL) -m 644 cmake/etcdTLS.cmake "$(DESTDIR)$(CMAKEDIR)/etcdTLS.cmake"; \
	echo "install build/etcdctl_lite -> $(DESTDIR)$(BINDIR)/etcdctl_lite"; \
	$(INSTALL) -m 755 build/etcdctl_lite "$(DESTDIR)$(BINDIR)/etcdctl_lite"

# The CMake package's directory is etcd.h's own: removed when empty.
uninstall:
	rm -f "$(DESTDIR)$(INCLUDEDIR)/etcd.h" "$(DESTDIR)$(PKGCONFIGDIR)/etcd.pc" \
	      "$(DESTDIR)$(PKGCONFIGDIR)/etcd-tls.pc" "$(DESTDIR)$(PKGCONFIGDIR)/etcd-mbedtls.pc" \
	      "$(DESTDIR)$(CMAKEDIR)/etcdConfig.cmake" "$(DESTDIR)$(CMAKEDIR)/etcdConfigVersion.cmake" \
	      "$(DESTDIR)$(CMAKEDIR)/etcdTLS.cmake" "$(DESTDIR)$(BINDIR)/etcdctl_lite"
	-@rmdir "$(DESTDIR)$(CMAKEDIR)" 2>/dev/null || true
