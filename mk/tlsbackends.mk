# tlsbackends.mk - every TLS suite with etcd.h's mbedTLS backend too.
# The TLS suites (the tests/test_*.c that define ETCD_USE_OPENSSL: the
# Makefile's TLS_SUITES; test_tls, test_options, test_errors) define it
# only when ETCD_USE_MBEDTLS is not given, so -DETCD_USE_MBEDTLS builds
# them on mbedTLS. Besides the Makefile's OpenSSL builds (build/, build/asan/,
# build/asan-clang/), each one is built
#   build/mbedtls/test_X        mbedTLS 2.28 (the system's), -O2 as build/
#   build/mbedtls-asan/test_X   mbedTLS 2.28, gcc ASan+UBSan as build/asan/
#   build/mbedtls3/test_X       mbedTLS 3.6 (build/mbedtls36, make deps;
#                               mk/mbedtls.mk), static, -O2
# A suite that includes tests/tlsserver.h (an OpenSSL server of the
# test's) links OpenSSL for that server as well; etcd.h itself then uses
# mbedTLS only (the libraries share no symbol name). The others link no
# OpenSSL at all.
#   make test-tls-backends     build them all and run them (tests/run.sh)
#   make tls-backends-build    only build them
# make test runs $(BINS). The Makefile assigns BINS (BINS = ...) after it
# includes mk/*.mk, which replaces the append at the end of this file; with
# its line made "BINS += ..." (as mk/hook.mk asks too) the append survives
# and make test builds and runs these as well.

# The suites: those of the Makefile's TLS_SUITES (set after this file is
# read, so found again here) whose define is the three lines
#   #if !defined(ETCD_USE_MBEDTLS)
#   #define ETCD_USE_OPENSSL
#   #endif
# A TLS suite with a bare #define ETCD_USE_OPENSSL (it could not build with
# -DETCD_USE_MBEDTLS) stays OpenSSL-only until it says so.
TLSB_SUITES   := $(patsubst tests/%.c,%,$(shell grep -l '^#if !defined(ETCD_USE_MBEDTLS)$$' tests/test_*.c 2>/dev/null | \
                   xargs -r grep -l '^#define ETCD_USE_OPENSSL' 2>/dev/null))
TLSB_SERVERED := $(patsubst tests/%.c,%,$(shell grep -l '^#include "tlsserver.h"' tests/test_*.c 2>/dev/null))
TLSB_BINS      = $(addprefix build/mbedtls/,$(TLSB_SUITES)) $(addprefix build/mbedtls-asan/,$(TLSB_SUITES)) \
                 $(addprefix build/mbedtls3/,$(TLSB_SUITES))

# OpenSSL for tests/tlsserver.h, where a suite has it.
TLSB_SRV_LIBS  =
$(foreach d,mbedtls mbedtls-asan mbedtls3,$(addprefix build/$(d)/,$(filter $(TLSB_SUITES),$(TLSB_SERVERED)))): \
    TLSB_SRV_LIBS = $(TLS_LIBS)

$(addprefix build/mbedtls/,$(TLSB_SUITES)): build/mbedtls/%: tests/%.c $(DEPS)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) -DETCD_USE_MBEDTLS -I. -o $@ $< $(LDLIBS) $(MBEDTLS_LIBS) $(TLSB_SRV_LIBS)

$(addprefix build/mbedtls-asan/,$(TLSB_SUITES)): build/mbedtls-asan/%: tests/%.c $(DEPS)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(SAN) -DETCD_USE_MBEDTLS -I. -o $@ $< $(LDLIBS) $(MBEDTLS_LIBS) $(TLSB_SRV_LIBS)

# 3.6's headers come before /usr/include's 2.28; its libraries by path.
$(addprefix build/mbedtls3/,$(TLSB_SUITES)): build/mbedtls3/%: tests/%.c $(DEPS)
	@test -r "$(firstword $(MBEDTLS36_LIBS))" || { echo "$@: no mbedTLS 3.6 ($(firstword $(MBEDTLS36_LIBS))): run make deps" >&2; exit 1; }
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) $(MBEDTLS36_CFLAGS) -DETCD_USE_MBEDTLS -I. -o $@ $< $(LDLIBS) $(MBEDTLS36_LIBS) $(TLSB_SRV_LIBS)

.PHONY: test-tls-backends tls-backends-build
tls-backends-build: $(TLSB_BINS)

test-tls-backends: $(TLSB_BINS)
	@tests/run.sh $(TLSB_BINS)

BINS += $(TLSB_BINS)
