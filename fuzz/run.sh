#!/bin/sh
# run.sh - run libFuzzer targets one after the other (never two at once),
# each for SECONDS, on a fresh copy of its seed corpus, and report.
#
#   sh fuzz/run.sh SECONDS TARGET...     (what `make fuzz` runs, from the
#                                         repo root, after building
#                                         build/fuzz/TARGET)
#
# The committed corpus fuzz/corpus/TARGET is only read: the fuzzer works in
# build/fuzz/work/TARGET/corpus (plus tests/json_conformance for json) and
# writes crashes there under artifacts/ (and prints them in base64, so a CI
# log alone is enough to replay one). Per target it prints the
# executions and exec/s from libFuzzer's final stats; any crash, timeout
# or out-of-memory makes it exit 1, after every target has run.
secs=$1
shift
failed=""
printf '%-8s %12s %9s  %s\n' target executions exec/s result
for t in "$@"; do
    work=build/fuzz/work/$t
    rm -rf "$work"
    mkdir -p "$work/corpus" "$work/artifacts"
    if [ -d "fuzz/corpus/$t" ]; then cp fuzz/corpus/"$t"/* "$work/corpus/"; fi
    if [ "$t" = json ] && [ -d tests/json_conformance ]; then
        for f in tests/json_conformance/*.json; do cp "$f" "$work/corpus/conformance_${f##*/}"; done
    fi
    set -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
           -artifact_prefix="$work/artifacts/"
    if [ -f "fuzz/$t.dict" ]; then set -- "$@" -dict="fuzz/$t.dict"; fi
    "build/fuzz/$t" "$@" "$work/corpus" >"$work/log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -n 1)
    if [ $rc -eq 0 ]; then
        result=ok
    else
        result="FAILED (exit $rc): see $work/log, input in $work/artifacts/"
        failed="$failed $t"
    fi
    printf '%-8s %12s %9s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$result"
    if [ $rc -ne 0 ]; then
        grep -E 'ERROR|FZ_CHECK|SUMMARY|failed' "$work/log" | head -n 10 | sed 's/^/    /'
        for a in "$work/artifacts"/*; do
            [ -f "$a" ] || continue
            echo "    artifact: ${a##*/} ($(wc -c <"$a") bytes), base64 (replay: base64 -d >FILE):"
            head -c 3072 "$a" | base64 | sed 's/^/      /'
        done
    fi
done
if [ -n "$failed" ]; then
    echo "fuzz: FAILED:$failed"
    exit 1
fi
echo "fuzz: every target ran $secs s without a failure"
