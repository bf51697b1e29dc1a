#!/bin/sh
# Run one test suite under valgrind memcheck: tests/valgrind_suite.sh BIN.
#
# `make test-valgrind` feeds one wrapper per suite (build/valgrind/test_X,
# which execs this with build/test_X) to tests/run.sh. The suite's output
# passes through; valgrind's reports go to build/valgrind/logs/NAME.PID.log
# (one per process). Any memcheck error (invalid access, use of an
# uninitialised value, bad free, a leak of any kind) or a descriptor the
# suite opened and left open makes the suite fail even when it printed
# "N passed, 0 failed": the reports are printed after it, then its summary
# line again with one more failure, which is the line tests/run.sh adds up.
#
# Only our binaries are checked: --trace-children=no, so etcd, etcdctl,
# curl, openssl and the example programs that the suites fork/exec run
# natively. A child forked without exec (test_alloc's failure points,
# test_elections' and test_recipes' helpers) stays under valgrind: a memcheck
# error there exits the child with 99, which fails the suite's check on it,
# and its report is in its own log, printed here.
#
# The suite sees TEST_TIME_SCALE (default 5): tests/test.h's CHECK_TIME
# slack and tests/harness.h's waits for etcd are that many times longer.
set -u
bin=$1
name=$(basename "$bin")
top=$(cd "$(dirname "$0")/.." && pwd)
logs=${VALGRIND_LOGDIR:-$top/build/valgrind/logs}
code=99                                   # valgrind's, not a suite's 0/1
mkdir -p "$logs"
rm -f "$logs/$name".*.log
out=$(mktemp)
trap 'rm -f "$out" "$out.rc" "$out.pid"' EXIT

TEST_TIME_SCALE=${TEST_TIME_SCALE:-5}
export TEST_TIME_SCALE
{
    valgrind --tool=memcheck -q \
        --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all \
        --error-exitcode=$code --trace-children=no --track-fds=yes \
        --num-callers=30 --log-file="$logs/$name.%p.log" \
        ${VALGRIND_OPTS:-} "$bin" 2>&1 &
    echo $! > "$out.pid"
    wait $!
    echo $? > "$out.rc"
} | tee "$out"
rc=$(cat "$out.rc" 2>/dev/null || echo 1)
main=$logs/$name.$(cat "$out.pid").log    # valgrind runs in the PID it started with

# A log's reports apart from the open-descriptor listing (which -q still
# prints at every exit): memcheck's errors and leaks. With "child" (the log
# of a child forked without exec), without the leak records too: such a
# child ends with _exit by design (the harness's atexit handler belongs to
# the parent), holding the heap it inherited and what it made itself; its
# other errors count, and a suite that checks a child's exit status (0)
# sees valgrind's 99 for its leaks as well.
reports() {
    awk -v child="${2:-}" '
         /FILE DESCRIPTORS: / { skip = 1; next }
         child != "" && /==[0-9]+== [0-9,]+ (\([0-9,]+ direct, [0-9,]+ indirect\) )?bytes in [0-9,]+ blocks are .* in loss record / { skip = 1; next }
         skip && (/== Open / || /==[0-9]+== *$/ || /==[0-9]+==    /) { next }
         { skip = 0 }
         /==[0-9]+== *$/ { next }
         { print }' "$1"
}

bad=0
for log in "$logs/$name".*.log; do
    [ -s "$log" ] || { rm -f "$log"; continue; }
    if [ "$log" = "$main" ]; then
        [ -z "$(reports "$log" | head -n 1)" ] || bad=1
    elif [ -n "$(reports "$log" child | head -n 1)" ]; then
        bad=1
    elif [ "$rc" -eq 0 ]; then
        rm -f "$log"          # a forked child's descriptor listing and leaks only
    fi
done
# Descriptors the suite opened and left open at exit (not the ones it
# inherited: stdin/out/err, the log, whatever the caller had open).
if [ -s "$main" ]; then
    extra=$(awk '/== Open / { if (e != "") print e; e = $0; next }
                 /<inherited from parent>/ { e = ""; next }
                 /==[0-9]+== *$/ { if (e != "") print e; e = ""; next }
                 END { if (e != "") print e }' "$main" | head -n 20)
    if [ -n "$extra" ]; then
        echo "!! $name: descriptors it opened are still open at exit:"
        echo "$extra"
        bad=1
    else
        [ -n "$(reports "$main" | head -n 1)" ] || rm -f "$main"
    fi
fi
[ "$rc" -eq "$code" ] && bad=1

if [ "$bad" -eq 1 ] || [ "$rc" -ne 0 ]; then
    n=0
    for log in "$logs/$name".*.log; do
        [ -s "$log" ] || continue
        n=$((n + 1))
        if [ "$n" -le 8 ]; then echo "---- $log"; head -n 300 "$log"; fi
    done
    [ "$n" -le 8 ] || echo "---- ($n logs in all: $logs/$name.*.log)"
fi
if [ "$bad" -eq 1 ]; then
    echo "!! $name: valgrind found problems (exit status $rc; $code: memcheck errors), reports above"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
    if [ -n "$line" ]; then
        p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed}
        echo "$p passed, $((f + 1)) failed"
    fi
    exit 1
fi
exit "$rc"
