# install.mk - make install / make uninstall, as C users expect.
#   make install                             into PREFIX=/usr/local
#   make install PREFIX=/usr DESTDIR=/tmp/stage
#   make uninstall                           the same files (same PREFIX/DESTDIR)
# installs
#   $(DESTDIR)$(INCLUDEDIR)/etcd.h                    INCLUDEDIR = $(PREFIX)/include
#   $(DESTDIR)$(PKGCONFIGDIR)/etcd.pc, etcd-tls.pc    PKGCONFIGDIR = $(PREFIX)/share/pkgconfig
#   $(DESTDIR)$(BINDIR)/etcdctl_lite                  BINDIR = $(PREFIX)/bin
# The .pc files come from etcd.pc.in and etcd-tls.pc.in; their Version is
# read from etcd.h's ETCD_VERSION when installing (there is no other copy).
# etcd.pc: -I only (header-only, libc only). etcd-tls.pc: -DETCD_USE_OPENSSL
# and Requires: openssl. They go to share/pkgconfig, not lib/pkgconfig:
# they hold nothing architecture-specific (no library, no libdir), which is
# where header-only packages put them (Debian's eigen3, nlohmann_json), and
# pkg-config searches $(PREFIX)/share/pkgconfig by default wherever it
# searches $(PREFIX)/lib/pkgconfig (FreeBSD: only share/). Override with
# PKGCONFIGDIR=$(PREFIX)/lib/pkgconfig if you must.
# etcdctl_lite is build/etcdctl_lite (make examples), built if missing:
# run `make examples` as yourself before `sudo make install`.
# CMake users: CMakeLists.txt (etcd::etcd, etcd::etcd_tls), see README.md.
# tests/test_packaging.sh (make test) checks both ways in a temp dir.
PKGS += cmake pkg-config

PREFIX       ?= /usr/local
DESTDIR      ?=
BINDIR       ?= $(PREFIX)/bin
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(PREFIX)/share/pkgconfig
INSTALL      ?= install
# includedir in the .pc files: ${prefix}/include when under PREFIX.
PC_INCLUDEDIR = $(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))

.PHONY: install uninstall
install: etcd.h etcd.pc.in etcd-tls.pc.in build/etcdctl_lite
	@v=$$(sed -n 's/^#define[[:space:]]*ETCD_VERSION[[:space:]]*"\([^"]*\)".*/\1/p' etcd.h); \
	case "$$v" in [0-9]*.[0-9]*.[0-9]*) ;; \
	    *) echo "install: no ETCD_VERSION \"X.Y.Z\" in etcd.h (got '$$v')" >&2; exit 1;; esac; \
	set -e; \
	$(INSTALL) -d "$(DESTDIR)$(INCLUDEDIR)" "$(DESTDIR)$(PKGCONFIGDIR)" "$(DESTDIR)$(BINDIR)"; \
	echo "install etcd.h -> $(DESTDIR)$(INCLUDEDIR)/etcd.h"; \
	$(INSTALL) -m 644 etcd.h "$(DESTDIR)$(INCLUDEDIR)/etcd.h"; \
	for pc in etcd etcd-tls; do \
	    echo "install $$pc.pc (Version $$v) -> $(DESTDIR)$(PKGCONFIGDIR)/$$pc.pc"; \
	    sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@INCLUDEDIR@|$(PC_INCLUDEDIR)|g' -e "s|@VERSION@|$$v|g" \
	        $$pc.pc.in > "$(DESTDIR)$(PKGCONFIGDIR)/$$pc.pc"; \
	    chmod 644 "$(DESTDIR)$(PKGCONFIGDIR)/$$pc.pc"; \
	done; \
	echo "install build/etcdctl_lite -> $(DESTDIR)$(BINDIR)/etcdctl_lite"; \
	$(INSTALL) -m 755 build/etcdctl_lite "$(DESTDIR)$(BINDIR)/etcdctl_lite"

uninstall:
	rm -f "$(DESTDIR)$(INCLUDEDIR)/etcd.h" "$(DESTDIR)$(PKGCONFIGDIR)/etcd.pc" \
	      "$(DESTDIR)$(PKGCONFIGDIR)/etcd-tls.pc" "$(DESTDIR)$(BINDIR)/etcdctl_lite"
