#!/bin/sh
# Run every test program given (binaries or .sh scripts), each bounded in
# time, and add up their "N passed, N failed" lines. A program that ends
# without that line (crash, sanitizer report, time limit) counts as one
# failure. Prints the total last; exits non-zero on any failure.
limit=${TEST_TIME_LIMIT:-300}
passed=0; failed=0
for t in "$@"; do
    echo "== $t"
    out=$(mktemp)
    timeout "$limit" "$t" 2>&1 | tee "$out"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
    if [ -n "$line" ]; then
        p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed}
        passed=$((passed + p)); failed=$((failed + f))
        tail -n 1 "$out" | grep -qE '^[0-9]+ passed, [0-9]+ failed$' || {
            echo "!! $t printed output after its summary (sanitizer report?)"; failed=$((failed + 1)); }
    else
        echo "!! $t ended without a summary line"; failed=$((failed + 1))
    fi
    rm -f "$out"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
