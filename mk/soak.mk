# make soak: the chaos soak (tests/soak.c; its top comment says what it
# does and checks). A 3-member etcd cluster on 127.0.0.1 takes kills,
# freezes, leader kills and compactions for SOAK_SECONDS while etcd.h
# clients load it; the program is built with ASan+UBSan and each run is
# bounded by `timeout` (SOAK_SECONDS + 120 s).
#   make soak                      120 s, plain http, no auth
#   make soak SOAK_SECONDS=60      what CI runs (and make soak-tls SOAK_SECONDS=60)
#   make soak SOAK_SEED=12345      the fault schedule of a printed seed again
#   make soak SOAK_MODE=tls-auth   https + etcd auth (JWT) while users and
#                                  roles change; renewals of the clients'
#                                  tokens counted and bounded
#   make soak SOAK_MODE=tls-auth SOAK_TLS=mbedtls    ... with etcd.h's mbedTLS backend
#   make soak-tls SOAK_SECONDS=60  the tls-auth mode once per backend in
#                                  SOAK_BACKENDS, SOAK_SECONDS each (a run
#                                  takes about SOAK_SECONDS + 8 s)
# etcd's data dirs go to TMPDIR, /dev/shm when TMPDIR is unset.
# tests/soak.c is not a test_*.c suite: make test does not run it.
#
# The TLS backend is a compile flag: tests/soak.c defines ETCD_USE_OPENSSL
# unless ETCD_USE_MBEDTLS is given. build/asan/soak is the OpenSSL build
# (it runs the plain mode too), build/asan/soak-mbedtls the mbedTLS one.
# Each wraps its backend's TLS write with the linker (-DSOAK_WRAP_TLS and
# --wrap) so that the soak can count the /auth/authenticate requests every
# client sends (tests/soak_auth.h): etcd.h has no public counter.
#   make soak-tls SOAK_BACKENDS=mbedtls   one backend only
SOAK_SECONDS  ?= 120
SOAK_SEED     ?=
SOAK_MODE     ?= plain
SOAK_TLS      ?= openssl
SOAK_BACKENDS ?= openssl mbedtls

# mbedTLS (2.28, the system's): MBEDTLS_LIBS and the package are mk/mbedtls.mk's.

SOAK_BIN_openssl  = build/asan/soak
SOAK_BIN_mbedtls  = build/asan/soak-mbedtls
SOAK_LIBS_openssl = $(TLS_LIBS) -Wl,--wrap=SSL_write -Wl,--wrap=SSL_write_ex
SOAK_LIBS_mbedtls = $(MBEDTLS_LIBS) -Wl,--wrap=mbedtls_ssl_write

build/asan/soak: tests/soak.c $(DEPS)
	@mkdir -p build/asan
	$(CC) $(WARN) $(SAN) -DSOAK_WRAP_TLS -I. -o $@ $< $(LDLIBS) $(SOAK_LIBS_openssl)

build/asan/soak-mbedtls: tests/soak.c $(DEPS)
	@mkdir -p build/asan
	$(CC) $(WARN) $(SAN) -DETCD_USE_MBEDTLS -DSOAK_WRAP_TLS -I. -o $@ $< $(LDLIBS) $(SOAK_LIBS_mbedtls)

# One run of the binary $$bin in the mode $$mode (shell variables the
# recipe sets), bounded by timeout; its status is the run's.
SOAK_RUN = tmp="$${TMPDIR:-}"; \
	if [ -z "$$tmp" ]; then if [ -d /dev/shm ] && [ -w /dev/shm ]; then tmp=/dev/shm; else tmp=/tmp; fi; fi; \
	echo "soak: $$bin SOAK_MODE=$$mode SOAK_SECONDS=$(SOAK_SECONDS) $(if $(SOAK_SEED),SOAK_SEED=$(SOAK_SEED) )TMPDIR=$$tmp"; \
	TMPDIR="$$tmp" SOAK_SECONDS="$(SOAK_SECONDS)" SOAK_MODE="$$mode" $(if $(SOAK_SEED),SOAK_SEED="$(SOAK_SEED)") \
	    timeout -k 10 $$(( $(SOAK_SECONDS) + 120 )) $$bin

ifeq ($(filter $(SOAK_MODE),plain tls-auth),)
$(error SOAK_MODE is plain or tls-auth, not "$(SOAK_MODE)")
endif
ifeq ($(SOAK_BIN_$(SOAK_TLS)),)
$(error SOAK_TLS is openssl or mbedtls, not "$(SOAK_TLS)")
endif
$(foreach b,$(SOAK_BACKENDS),$(if $(SOAK_BIN_$(b)),,$(error SOAK_BACKENDS holds openssl and/or mbedtls, not "$(b)")))

.PHONY: soak soak-tls
soak: $(if $(filter tls-auth,$(SOAK_MODE)),$(SOAK_BIN_$(SOAK_TLS)),$(SOAK_BIN_openssl))
	@bin=$<; mode=$(SOAK_MODE); $(SOAK_RUN)

# One run per backend, one after another (two soaks at once would share
# the cores and skew the fault timing); every run happens even when an
# earlier one fails, and the target fails if any did.
soak-tls: $(foreach b,$(SOAK_BACKENDS),$(SOAK_BIN_$(b)))
	@rc=0; for bin in $^; do mode=tls-auth; $(SOAK_RUN) || rc=1; done; exit $$rc
