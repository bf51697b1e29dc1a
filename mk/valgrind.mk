# make test-valgrind: every suite's plain build (build/test_X: no sanitizer
# runtime) under valgrind memcheck, through tests/run.sh. Each suite runs
# via a wrapper build/valgrind/test_X (tests/valgrind_suite.sh), which
# counts a memcheck error (or a leak of any kind, or a descriptor left open)
# as one more failed test even when the suite itself passed. Children the
# suites exec (etcd, etcdctl, curl, openssl, the examples) are not traced.
# The suites run with TEST_TIME_SCALE=5 (test.h's CHECK_TIME slack and
# harness.h's waits for etcd five times longer); set it to override.

VG_WRAPPERS = $(addprefix build/valgrind/,$(SUITES))

.PHONY: test-valgrind
build/valgrind/%: build/% tests/valgrind_suite.sh
	@mkdir -p build/valgrind
	@printf '#!/bin/sh\nexec "%s/tests/valgrind_suite.sh" "%s/build/%s" "$$@"\n' \
	    "$(CURDIR)" "$(CURDIR)" "$*" > $@
	@chmod +x $@

# Valgrind makes the suites' own CPU work 10-50 times slower (etcd and the
# other exec'd programs run natively): a suite gets 900 s here, not
# tests/run.sh's default 300 s. The whole pass takes about 4 minutes on two
# cores (test_recipes alone ~100 s).
test-valgrind: examples $(VG_WRAPPERS)
	@command -v valgrind >/dev/null || { echo "test-valgrind: no valgrind: run make deps"; exit 1; }
	@EXAMPLES_DIR=build TEST_TIME_LIMIT=$${TEST_TIME_LIMIT:-900} tests/run.sh $(VG_WRAPPERS)
