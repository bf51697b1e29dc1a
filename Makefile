# etcd.h - build, check and test.
#   make deps      install what the tests need (Debian, apt-get; idempotent)
#   make test      compile checks + every suite: plain, and under ASan/UBSan
#                  with gcc and with clang
#   make examples  build examples/
# Builds are independent: use every core (CI has two).
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)

CC      ?= cc
CLANG   ?= clang
CXX     ?= g++
WARN     = -std=c99 -Wall -Wextra -Wpedantic -Werror
CFLAGS  ?= -O2 -g
SAN      = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDLIBS   = -lpthread
TLS_LIBS = -lssl -lcrypto

SUITES   = $(patsubst tests/%.c,%,$(wildcard tests/test_*.c))
SCRIPTS  = $(wildcard tests/test_*.sh)
EXAMPLES = $(patsubst examples/%.c,build/%,$(wildcard examples/*.c))
DEPS     = etcd.h $(wildcard tests/*.h)

PKGS = etcd-server etcd-client gcc g++ clang libclang-rt-dev binutils make openssl libssl-dev curl procps \
       libcurl4-openssl-dev valgrind musl-tools python3

.PHONY: all deps test check examples clean bench bench-smoke
all: examples

deps::
	@missing=""; for p in $(PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	    $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	else echo "deps: all installed"; fi

# Passes beyond make test (fuzz, valgrind, etcd 3.5, portable, soak) each
# live in mk/*.mk: they add to PKGS, and a setup step of their own is a
# further "deps::" rule (double-colon rules run in order, after this one).
include $(wildcard mk/*.mk)

build/%: tests/%.c $(DEPS)
	@mkdir -p build
	$(CC) $(WARN) $(CFLAGS) -I. -o $@ $< $(LDLIBS)

build/asan/%: tests/%.c $(DEPS)
	@mkdir -p build/asan
	$(CC) $(WARN) $(SAN) -I. -o $@ $< $(LDLIBS)

# Suites that define ETCD_USE_OPENSSL link OpenSSL; the others must not need it.
TLS_SUITES = $(patsubst tests/%.c,%,$(shell grep -l '^#define ETCD_USE_OPENSSL' tests/test_*.c))
$(addprefix build/,$(TLS_SUITES)) $(addprefix build/asan/,$(TLS_SUITES)) \
$(addprefix build/asan-clang/,$(TLS_SUITES)): LDLIBS += $(TLS_LIBS)

# clang's UBSan checks more (e.g. arithmetic on a NULL pointer) than gcc's.
build/asan-clang/%: tests/%.c $(DEPS)
	@mkdir -p build/asan-clang
	$(CLANG) $(WARN) $(SAN) -I. -o $@ $< $(LDLIBS)

# etcdctl_lite speaks https wherever OpenSSL's headers are (make deps
# installs them); the static musl build (mk/portable.mk) stays plain.
LITE_TLS := $(shell printf '\#include <openssl/ssl.h>\n' | $(CC) -E - >/dev/null 2>&1 && echo yes)
ifeq ($(LITE_TLS),yes)
build/etcdctl_lite: EXAMPLE_FLAGS = -DETCD_USE_OPENSSL
build/etcdctl_lite: EXAMPLE_LIBS = $(TLS_LIBS)
endif

build/%: examples/%.c etcd.h
	@mkdir -p build
	$(CC) $(WARN) $(CFLAGS) $(EXAMPLE_FLAGS) -I. -o $@ $< $(EXAMPLE_LIBS)

examples: $(EXAMPLES)

# The header alone and with its implementation, as C (gcc, clang) and C++.
CXXWARN = -std=c++11 -Wall -Wextra -Wpedantic -Werror -x c++
check: $(wildcard tests/compile/*) etcd.h README.md $(wildcard examples/*.c)
	@mkdir -p build
	$(CC)    $(WARN) -c -o build/impl_gcc.o   tests/compile/impl.c
	$(CLANG) $(WARN) -c -o build/impl_clang.o tests/compile/impl.c
	$(CC)    $(WARN) -DETCD_STATIC -c -o build/impl_static.o tests/compile/impl.c
	$(CC)    $(WARN) -c -o build/decl.o tests/compile/decl.c
	$(CXX)   $(CXXWARN) -c -o build/impl_cxx.o tests/compile/impl.cc
	$(CC)    $(WARN) -c -o build/tls_gcc.o   tests/compile/tls.c
	$(CLANG) $(WARN) -c -o build/tls_clang.o tests/compile/tls.c
	$(CXX)   $(CXXWARN) -c -o build/tls_cxx.o tests/compile/tls.cc
	CC=$(CC) CXX=$(CXX) sh tests/compile/readme.sh
	@if $(CC) $(WARN) -DETCD_USE_OPENSSL -DETCD_USE_MBEDTLS -c -o build/both.o tests/compile/impl.c 2>build/both.err; \
	then echo "check: ETCD_USE_OPENSSL with ETCD_USE_MBEDTLS compiled" >&2; exit 1; fi; \
	grep -q "not both" build/both.err || { cat build/both.err >&2; exit 1; }
	@echo "compile checks passed"

# mk/*.mk may add builds of their own (BINS +=): they were read above.
BINS += $(addprefix build/,$(SUITES)) $(addprefix build/asan/,$(SUITES)) \
       $(addprefix build/asan-clang/,$(SUITES))

# Three suites at a time: they mostly wait on etcd (two cores stay half idle
# at two), and the plain, ASan, hook and mbedTLS builds make ~200 runs.
test: check examples $(BINS)
	@EXAMPLES_DIR=build TEST_JOBS=$${TEST_JOBS:-3} tests/run.sh $(BINS) $(SCRIPTS)

# Performance bench (bench/README.md): its own etcd on 127.0.0.1, ~5 min;
# bench-smoke builds and runs every bench program once with tiny sizes.
bench:
	sh bench/run.sh
bench-smoke:
	sh bench/run.sh --smoke

clean:
	rm -rf build
