# hook.mk - etcd.h without sockets: the core suites over a transport of the
# tests' own, and a bare-metal compile.
#   make test-hook   build/hook/test_X (plain) and build/hook-asan/test_X
#                    (ASan+UBSan) for each of HOOK_SUITES, compiled with
#                    -DETCD_NO_SOCKETS -DTEST_HOOK: every client the suite
#                    makes goes over tests/hook.h's transport (its own
#                    sockets, handles that are not fds, its own clock,
#                    seeded short reads/writes and spurious ETCD_IO_AGAIN;
#                    TEST_HOOK_SEED=N replays a printed seed), and each
#                    suite ends with a check that the hook carried its
#                    traffic. Run through tests/run.sh against real etcd.
#                    tests/test_hook.c tests the hook contract itself (it
#                    is also an ordinary suite of make test).
#   make baremetal   tests/compile/impl.c and tests/compile/baremetal.c with
#                    -DETCD_NO_SOCKETS for a Cortex-M4 (arm-none-eabi-gcc
#                    -mcpu=cortex-m4 -mthumb -Os, warnings are errors),
#                    against newlib and against picolibc; prints the size
#                    of etcd.h's code (impl.c's object) and of a linked
#                    image that keeps every public function (baremetal.c,
#                    --gc-sections, with libc and soft-float). make check
#                    runs it.
# make test builds and runs the hook binaries too (BINS), and make check
# runs make baremetal.
PKGS += gcc-arm-none-eabi libnewlib-arm-none-eabi picolibc-arm-none-eabi

HOOK_SUITES = test_unit test_kv test_watch test_lease test_txn test_tls test_hook
HOOK_FLAGS  = -DETCD_NO_SOCKETS -DTEST_HOOK
HOOK_BINS   = $(addprefix build/hook/,$(HOOK_SUITES)) $(addprefix build/hook-asan/,$(HOOK_SUITES))
# as the Makefile's TLS_SUITES (defined after this file is read)
HOOK_TLS    = $(patsubst tests/%.c,%,$(shell grep -l '^#define ETCD_USE_OPENSSL' $(HOOK_SUITES:%=tests/%.c)))

build/hook/%: tests/%.c $(DEPS)
	@mkdir -p build/hook
	$(CC) $(WARN) $(CFLAGS) $(HOOK_FLAGS) -I. -o $@ $< $(LDLIBS)

build/hook-asan/%: tests/%.c $(DEPS)
	@mkdir -p build/hook-asan
	$(CC) $(WARN) $(SAN) $(HOOK_FLAGS) -I. -o $@ $< $(LDLIBS)

$(addprefix build/hook/,$(HOOK_TLS)) $(addprefix build/hook-asan/,$(HOOK_TLS)): LDLIBS += $(TLS_LIBS)
# test_unit makes no client: its hook check looks only for contract violations.
build/hook/test_unit build/hook-asan/test_unit: HOOK_FLAGS += -DTEST_HOOK_NO_TRAFFIC

# make test runs $(BINS): the Makefile appends its own (BINS += ...) after
# it includes mk/*.mk, so this survives.
BINS += $(HOOK_BINS)

.PHONY: test-hook baremetal
test-hook: $(HOOK_BINS)
	@tests/run.sh $(HOOK_BINS)

# ---- bare metal -------------------------------------------------------------
BM_CC    = arm-none-eabi-gcc
BM_SIZE  = arm-none-eabi-size
BM_FLAGS = -mcpu=cortex-m4 -mthumb -Os -std=c99 -Wall -Wextra -Wpedantic -Werror
BM_LINK  = -ffunction-sections -fdata-sections -Wl,--gc-sections
BM_LIBCS = newlib picolibc
# compile: the C library's headers; link: its startup and system stubs
BM_SPECS_newlib   =
BM_LDSPECS_newlib = --specs=nosys.specs
BM_SPECS_picolibc   = --specs=picolibc.specs
BM_LDSPECS_picolibc =

define bm_rules
build/baremetal/etcd-$(1).o: tests/compile/impl.c etcd.h
	@mkdir -p build/baremetal
	$$(BM_CC) $$(BM_SPECS_$(1)) $$(BM_FLAGS) -DETCD_NO_SOCKETS -c -o $$@ $$<
build/baremetal/app-$(1).elf: tests/compile/baremetal.c etcd.h
	@mkdir -p build/baremetal
	$$(BM_CC) $$(BM_SPECS_$(1)) $$(BM_LDSPECS_$(1)) $$(BM_FLAGS) $$(BM_LINK) -o $$@ $$<
endef
$(foreach l,$(BM_LIBCS),$(eval $(call bm_rules,$(l))))

BM_OUT = $(foreach l,$(BM_LIBCS),build/baremetal/etcd-$(l).o build/baremetal/app-$(l).elf)

# Every ETCDDEF function declared in etcd.h's header part must be in
# baremetal.c's table, as F(name).
baremetal: $(BM_OUT)
	@missing=$$(sed -n '1,/^#endif \/\* ETCD_H \*\//p' etcd.h | grep -E '^ETCDDEF ' | \
	    sed -E 's/^([^(]*[^a-z_0-9(])([a-z_0-9]+)[[:space:]]*\(.*/\2/' | sort -u | \
	    while read f; do grep -q "F($$f)" tests/compile/baremetal.c || printf ' %s' "$$f"; done); \
	if [ -n "$$missing" ]; then echo "baremetal: tests/compile/baremetal.c lacks F() of:$$missing"; exit 1; fi
	@for l in $(BM_LIBCS); do \
	    t=$$($(BM_SIZE) build/baremetal/etcd-$$l.o | awk 'NR == 2 { print $$1 }'); \
	    c=$$($(BM_SIZE) -A build/baremetal/etcd-$$l.o | awk '$$1 == ".text" { print $$2 }'); \
	    set -- $$($(BM_SIZE) build/baremetal/app-$$l.elf | awk 'NR == 2 { print $$1, $$2, $$3 }'); \
	    echo "baremetal: cortex-m4 -Os, $$l: etcd.h: text $$t bytes (.text $$c, the rest read-only data);" \
	         "an image keeping every public function, with libc: text $$1, data $$2, bss $$3"; \
	done

check: baremetal
