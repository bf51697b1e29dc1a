# mbedTLS, the second TLS backend (etcd.h with -DETCD_USE_MBEDTLS), in the
# two versions it supports:
#   2.28  Debian 12's libmbedtls-dev, installed by make deps (PKGS)
#   3.6   Debian 13 "trixie"'s libmbedtls-dev, libmbedtls21, libmbedx509-7,
#         libmbedcrypto16: make deps fetches them with apt-get from the
#         mirror the system's apt sources use, through an apt config of its
#         own under build/mbedtls36-apt/, and unpacks them into
#         build/mbedtls36/ (dpkg-deb -x, nothing installed; skipped when
#         build/mbedtls36/usr/include/mbedtls/build_info.h says 3.6):
#         tests/fetch_trixie.sh mbedtls36, as for etcd 3.5 (mk/etcd35.mk)
# For the build rules (a program built against either one):
#   $(MBEDTLS_LIBS)                          link the system's 2.28
#   $(MBEDTLS36_CFLAGS) ... $(MBEDTLS36_LIBS)  compile against and link
#                                            3.6: its headers first on the
#                                            include path (before
#                                            /usr/include's 2.28), and its
#                                            static libraries by path, so the
#                                            programs run without
#                                            LD_LIBRARY_PATH
#   make mbedtls-versions   builds and runs a program printing the header's
#                           MBEDTLS_VERSION_STRING and the library's
#                           mbedtls_version_get_string() with both
#   make mbedtls36          only the fetch
PKGS += libmbedtls-dev

MBEDTLS_LIBS     = -lmbedtls -lmbedx509 -lmbedcrypto
MBEDTLS36_DIR    = $(CURDIR)/build/mbedtls36/usr
# apt-get download fetched the machine's own architecture: its multiarch
# directory (x86_64-linux-gnu) holds the libraries.
MBEDTLS_MULTIARCH := $(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch 2>/dev/null)
MBEDTLS36_LIBDIR = $(MBEDTLS36_DIR)/lib/$(MBEDTLS_MULTIARCH)
MBEDTLS36_CFLAGS = -I$(MBEDTLS36_DIR)/include
MBEDTLS36_LIBS   = $(MBEDTLS36_LIBDIR)/libmbedtls.a $(MBEDTLS36_LIBDIR)/libmbedx509.a \
                   $(MBEDTLS36_LIBDIR)/libmbedcrypto.a

.PHONY: mbedtls36 mbedtls-versions
deps::
	@sh tests/fetch_trixie.sh mbedtls36

mbedtls36:
	@sh tests/fetch_trixie.sh mbedtls36

# Each program must print its own version twice (header = library).
mbedtls-versions:
	@test -r $(MBEDTLS36_LIBDIR)/libmbedtls.a || { echo "mbedtls-versions: no mbedTLS 3.6 in build/mbedtls36: run make deps"; exit 1; }
	@mkdir -p build/mbedtls
	@printf '%s\n' '#include <mbedtls/version.h>' '#include <stdio.h>' \
	    'int main(void) { char v[32]; mbedtls_version_get_string(v);' \
	    '    printf("mbedTLS header %s, library %s\n", MBEDTLS_VERSION_STRING, v); return 0; }' \
	    > build/mbedtls/version.c
	$(CC) $(WARN) -o build/mbedtls/version228 build/mbedtls/version.c $(MBEDTLS_LIBS)
	$(CC) $(WARN) $(MBEDTLS36_CFLAGS) -o build/mbedtls/version36 build/mbedtls/version.c $(MBEDTLS36_LIBS)
	@for p in 228:2.28 36:3.6; do \
	    out=$$(build/mbedtls/version$${p%%:*}) || exit 1; echo "build/mbedtls/version$${p%%:*}: $$out"; \
	    case "$$out" in "mbedTLS header $${p#*:}."*", library $${p#*:}."*) ;; *) echo "mbedtls-versions: want $${p#*:}.x" >&2; exit 1;; esac; \
	    set -- $$out; [ "$${3%,}" = "$$5" ] || { echo "mbedtls-versions: header $${3%,} != library $$5" >&2; exit 1; }; \
	done
