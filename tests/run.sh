#!/bin/sh
# Run every test program given (binaries or .sh scripts), each bounded in
# time, and add up their "N passed, N failed" lines. A program that ends
# without that line (crash, sanitizer report, time limit) counts as one
# failure. Prints the total last; exits non-zero on any failure.
#
# The suites mostly wait on etcd, so TEST_JOBS (default 2) of them run at
# once; each starts its own servers on free ports. Outputs are printed
# whole, in the order given, as soon as all before them are done.
limit=${TEST_TIME_LIMIT:-300}
jobs=${TEST_JOBS:-2}

# Worker mode (xargs below): run test $4, number $3, output into dir $2.
if [ "${1:-}" = --one ]; then
    timeout "$limit" "$4" > "$2/$3.out" 2>&1
    echo "exit status $?" > "$2/$3.rc"
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
i=0
for t in "$@"; do
    i=$((i + 1))
    printf '%s\n%s\n' "$i" "$t"
done | xargs -P "$jobs" -n 2 sh "$0" --one "$work" &
runner=$!

passed=0; failed=0; i=0
for t in "$@"; do
    i=$((i + 1))
    while [ ! -e "$work/$i.rc" ]; do
        kill -0 $runner 2>/dev/null || [ -e "$work/$i.rc" ] || break
        sleep 0.2
    done
    echo "== $t"
    out="$work/$i.out"
    [ -e "$out" ] && cat "$out"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" 2>/dev/null | tail -n 1)
    if [ -n "$line" ]; then
        p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed}
        passed=$((passed + p)); failed=$((failed + f))
        tail -n 1 "$out" | grep -qE '^[0-9]+ passed, [0-9]+ failed$' || {
            echo "!! $t printed output after its summary (sanitizer report?)"; failed=$((failed + 1)); }
    else
        echo "!! $t ended without a summary line ($(cat "$work/$i.rc" 2>/dev/null || echo 'not run'))"
        failed=$((failed + 1))
    fi
done
wait $runner
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
