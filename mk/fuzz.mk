# fuzz.mk - libFuzzer targets for etcd.h's parsers (fuzz/*.c).
#   make fuzz                   build every target into build/fuzz/ and run
#                               each FUZZ_SECONDS (default 60), one at a
#                               time, on a copy of fuzz/corpus/<target> in
#                               build/fuzz/work/; any crash fails make
#   make fuzz FUZZ_SECONDS=20   a shorter pass
#   make fuzz-build             only build them
#   make fuzz-capture           record new seeds from a real etcd (fuzz/capture.sh)
# A crashing input stays in build/fuzz/work/<target>/artifacts/; replay it
# with build/fuzz/<target> FILE.

# clang's libFuzzer and sanitizer runtimes; etcd, curl and python3 for
# fuzz/capture.sh. All are in the base list too: named here so this pass
# says what it needs.
PKGS += clang libclang-rt-dev etcd-server etcd-client curl python3

FUZZ_SECONDS ?= 60
FUZZ_TARGETS  = $(patsubst fuzz/%.c,%,$(wildcard fuzz/*.c))
FUZZ_BINS     = $(addprefix build/fuzz/,$(FUZZ_TARGETS))
# -fno-sanitize-recover: UBSan stops at the first report, so libFuzzer
# sees it as a crash and keeps the input (by default UBSan goes on).
FUZZ_CFLAGS   = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer -std=c99 -Wall -Wextra -Wpedantic -Werror -I.

.PHONY: fuzz fuzz-build fuzz-capture

build/fuzz/%: fuzz/%.c fuzz/fuzz.h etcd.h
	@mkdir -p build/fuzz
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $<

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@sh fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-capture:
	sh fuzz/capture.sh
