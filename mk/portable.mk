# Portability: static builds for musl, 32-bit ARM and big-endian s390x, and
# their tests under qemu-user against the host's real etcd.
#   make test-portable  builds, warning-free (-Werror) and static, for each of
#                       musl (musl-gcc), armhf (arm-linux-gnueabihf-gcc) and
#                       s390x (s390x-linux-gnu-gcc): test_unit, the core
#                       real-etcd suites (kv, watch, lease, txn), test_examples
#                       and every example; runs the suites (musl natively, the
#                       others under qemu-arm / qemu-s390x; the harness' execvp
#                       of etcd starts the host's native etcd, and test_examples
#                       drives the examples of its own platform), all through
#                       one tests/run.sh (tests/portable.sh); also prints the
#                       size of etcdctl_lite built with musl-gcc -static -Os,
#                       stripped. Fails on any failure. About 3 min on 2 cores.
PKGS += gcc-arm-linux-gnueabihf libc6-dev-armhf-cross \
        gcc-s390x-linux-gnu libc6-dev-s390x-cross qemu-user

PORT_PLATFORMS = musl arm s390x
PORT_CC_musl   = musl-gcc
PORT_CC_arm    = arm-linux-gnueabihf-gcc
PORT_CC_s390x  = s390x-linux-gnu-gcc
PORT_CFLAGS   ?= -O2
PORT_SUITES    = test_unit test_kv test_watch test_lease test_txn test_examples
PORT_EXAMPLES  = $(patsubst examples/%.c,%,$(wildcard examples/*.c))
PORT_BINS      = $(foreach p,$(PORT_PLATFORMS),\
                   $(addprefix build/portable/$(p)/,$(PORT_SUITES)) \
                   $(addprefix build/portable/$(p)/examples/,$(PORT_EXAMPLES)))
PORT_SIZE_BIN  = build/portable/musl/etcdctl_lite-Os

# $(call port_cc,COMPILER,FLAGS): $< to a static $@. Compiler warnings are
# errors (WARN has -Werror). glibc's libc.a (armhf, s390x) makes the linker
# print "Using 'getaddrinfo' in statically linked applications requires at
# runtime the shared libraries from the glibc version used for linking" (and
# the "in function `etcd__exchange':" line before it): a note about NSS, not
# the code; glibc 2.36 resolves numeric hosts and localhost statically, as
# the tests show. Only those two lines are dropped; any other output shows.
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
endef
$(foreach p,$(PORT_PLATFORMS),$(eval $(call port_rules,$(p))))

$(PORT_SIZE_BIN): examples/etcdctl_lite.c etcd.h
	$(call port_cc,musl-gcc,-Os -s)

.PHONY: test-portable portable-build
portable-build: $(PORT_BINS) $(PORT_SIZE_BIN)

test-portable: portable-build
	@sh tests/portable.sh $(PORT_PLATFORMS) -- $(PORT_SUITES) -- $(PORT_EXAMPLES)
