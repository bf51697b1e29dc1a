# make soak: the chaos soak (tests/soak.c; its top comment says what it
# does and checks). A 3-member etcd cluster on 127.0.0.1 takes kills,
# freezes, leader kills and compactions for SOAK_SECONDS while etcd.h
# clients load it; the program is built with ASan+UBSan by the
# build/asan/% rule and bounded by `timeout` (SOAK_SECONDS + 120 s).
#   make soak                      120 s
#   make soak SOAK_SECONDS=60      what CI runs
#   make soak SOAK_SEED=12345      the fault schedule of a printed seed again
# etcd's data dirs go to TMPDIR, /dev/shm when TMPDIR is unset.
# tests/soak.c is not a test_*.c suite: make test does not run it.
SOAK_SECONDS ?= 120
SOAK_SEED    ?=

.PHONY: soak
soak: build/asan/soak
	@tmp="$${TMPDIR:-}"; \
	if [ -z "$$tmp" ]; then if [ -d /dev/shm ] && [ -w /dev/shm ]; then tmp=/dev/shm; else tmp=/tmp; fi; fi; \
	echo "soak: SOAK_SECONDS=$(SOAK_SECONDS) $(if $(SOAK_SEED),SOAK_SEED=$(SOAK_SEED) )TMPDIR=$$tmp"; \
	TMPDIR="$$tmp" SOAK_SECONDS="$(SOAK_SECONDS)" $(if $(SOAK_SEED),SOAK_SEED="$(SOAK_SEED)") \
	    timeout -k 10 $$(( $(SOAK_SECONDS) + 120 )) build/asan/soak
