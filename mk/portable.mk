# Portability: static builds for musl, 32-bit ARM, 64-bit ARM, big-endian
# s390x and big-endian 32-bit MIPS, and their tests under qemu-user against
# the host's real etcd.
#   make test-portable  builds, warning-free (-Werror) and static, for each of
#                       musl (musl-gcc), armhf (arm-linux-gnueabihf-gcc),
#                       aarch64 (aarch64-linux-gnu-gcc), s390x
#                       (s390x-linux-gnu-gcc) and mips (mips-linux-gnu-gcc,
#                       o32, big-endian): test_unit, the core real-etcd suites
#                       (kv, watch, lease, txn), test_examples and every
#                       example; runs the suites (musl natively, the others
#                       under qemu-arm / qemu-aarch64 / qemu-s390x / qemu-mips;
#                       the harness' execvp of etcd starts the host's native
#                       etcd, and test_examples drives the examples of its own
#                       platform), all through one tests/run.sh
#                       (tests/portable.sh); also prints, per platform, the
#                       size of etcdctl_lite built -static -Os, stripped, as a
#                       table (the glibc platforms' sizes are mostly glibc's
#                       static libc). Fails on any failure. About 3 min on 2
#                       cores.
PKGS += gcc-arm-linux-gnueabihf libc6-dev-armhf-cross \
        gcc-aarch64-linux-gnu libc6-dev-arm64-cross \
        gcc-s390x-linux-gnu libc6-dev-s390x-cross \
        gcc-mips-linux-gnu libc6-dev-mips-cross qemu-user

PORT_PLATFORMS = musl arm aarch64 s390x mips
PORT_CC_musl    = musl-gcc
PORT_CC_arm     = arm-linux-gnueabihf-gcc
PORT_CC_aarch64 = aarch64-linux-gnu-gcc
PORT_CC_s390x   = s390x-linux-gnu-gcc
PORT_CC_mips    = mips-linux-gnu-gcc
PORT_CFLAGS   ?= -O2
PORT_SUITES    = test_unit test_kv test_watch test_lease test_txn test_examples
PORT_EXAMPLES  = $(patsubst examples/%.c,%,$(wildcard examples/*.c))
PORT_BINS      = $(foreach p,$(PORT_PLATFORMS),\
                   $(addprefix build/portable/$(p)/,$(PORT_SUITES)) \
                   $(addprefix build/portable/$(p)/examples/,$(PORT_EXAMPLES)))
PORT_SIZE_BINS = $(foreach p,$(PORT_PLATFORMS),build/portable/$(p)/etcdctl_lite-Os)

# $(call port_cc,COMPILER,FLAGS): $< to a static $@. Compiler warnings are
# errors (WARN has -Werror). glibc's libc.a (armhf, aarch64, s390x, mips)
# makes the linker print "Using 'getaddrinfo' in statically linked
# applications requires at runtime the shared libraries from the glibc
# version used for linking" (and the "in function `etcd__exchange':" line
# before it): a note about NSS, not the code; glibc 2.36 resolves numeric
# hosts and localhost statically, as the tests show. Only those two lines are dropped; any other output shows.
define port_cc
	@mkdir -p $(@D)
	@echo "$(1) $(WARN) $(2) -static -I. -o $@ $<"
	@$(1) $(WARN) $(2) -static -I. -o $@ $< $(LDLIBS) 2>$@.log; rc=$$?; \
	grep -v -e "Using 'getaddrinfo' in statically linked" \
	        -e "in function .etcd__exchange':$$" $@.log >&2; \
	rm -f $@.log; exit $$rc
endef

define port_rules
build/portable/$(1)/%: tests/%.c $$(DEPS)
	$$(call port_cc,$$(PORT_CC_$(1)),$$(PORT_CFLAGS))
build/portable/$(1)/examples/%: examples/%.c etcd.h
	$$(call port_cc,$$(PORT_CC_$(1)),$$(PORT_CFLAGS))
build/portable/$(1)/etcdctl_lite-Os: examples/etcdctl_lite.c etcd.h
	$$(call port_cc,$$(PORT_CC_$(1)),-Os -s)
endef
$(foreach p,$(PORT_PLATFORMS),$(eval $(call port_rules,$(p))))

.PHONY: test-portable portable-build
portable-build: $(PORT_BINS) $(PORT_SIZE_BINS)

test-portable: portable-build
	@sh tests/portable.sh $(PORT_PLATFORMS) -- $(PORT_SUITES) -- $(PORT_EXAMPLES)
