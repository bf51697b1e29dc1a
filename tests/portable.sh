#!/bin/sh
# tests/portable.sh - run the static musl / armhf / aarch64 / s390x / mips
# builds of `make test-portable` (mk/portable.mk builds them first):
#
#   sh tests/portable.sh PLATFORM... -- SUITE... -- EXAMPLE...
#
# For each platform it writes build/portable/PLATFORM/run/, one small script
# per suite and example that runs build/portable/PLATFORM/NAME natively
# (musl) or under qemu-user (arm: qemu-arm, aarch64: qemu-aarch64, s390x:
# qemu-s390x, mips: qemu-mips; the binaries are static, so qemu needs no
# guest libraries). The suites' harness starts etcd with execvp from PATH:
# qemu-user hands a guest's execve of a host binary straight to the kernel,
# so the host's native etcd serves every platform on 127.0.0.1. test_examples runs with EXAMPLES_DIR set to its own
# platform's run/ directory, so it drives that platform's examples (each
# under qemu as well).
#
# Before the suites it prints a table of the size of etcdctl_lite built
# -static -Os and stripped (build/portable/PLATFORM/etcdctl_lite-Os), one
# row per platform, with text/data/bss from that target's binutils size.
#
# Every suite of every platform goes through one tests/run.sh; its lines
# pass through as they come, and before its closing total this adds one line
# per platform ("portable arm: 121 passed, 0 failed in 6 programs"). Exits
# non-zero on any failure.
set -u
cd "$(dirname "$0")/.."
root=$(pwd)

plats=""; suites=""; examples=""; part=0
for a in "$@"; do
    if [ "$a" = "--" ]; then part=$((part + 1)); continue; fi
    case $part in
        0) plats="$plats $a" ;;
        1) suites="$suites $a" ;;
        *) examples="$examples $a" ;;
    esac
done
if [ -z "$plats" ] || [ -z "$suites" ]; then
    echo "usage: sh tests/portable.sh PLATFORM... -- SUITE... -- EXAMPLE..." >&2
    exit 2
fi

runner() {
    case $1 in
        musl) echo "" ;;
        arm) echo "qemu-arm" ;;
        aarch64) echo "qemu-aarch64" ;;
        s390x) echo "qemu-s390x" ;;
        mips) echo "qemu-mips" ;;
        *) echo "portable: unknown platform $1" >&2; return 1 ;;
    esac
}

# the binutils size that reads the platform's ELF (the host's for musl)
sizetool() {
    case $1 in
        musl) t=size ;;
        arm) t=arm-linux-gnueabihf-size ;;
        aarch64) t=aarch64-linux-gnu-size ;;
        s390x) t=s390x-linux-gnu-size ;;
        mips) t=mips-linux-gnu-size ;;
        *) t=size ;;
    esac
    command -v "$t" >/dev/null 2>&1 && echo "$t"
}

command -v etcd >/dev/null 2>&1 || { echo "portable: no etcd in PATH (make deps)" >&2; exit 1; }
echo "portable: $(command -v etcd): $(etcd --version 2>/dev/null | head -n 1)"

progs=""
for p in $plats; do
    q=$(runner "$p") || exit 1
    if [ -n "$q" ]; then
        command -v "$q" >/dev/null 2>&1 || { echo "portable: no $q (make deps: qemu-user)" >&2; exit 1; }
        qpath=$(command -v "$q")
    else
        qpath=""
    fi
    dir=$root/build/portable/$p
    rm -rf "$dir/run"
    mkdir -p "$dir/run"
    for n in $suites $examples; do
        bin=$dir/$n
        [ -x "$bin" ] || bin=$dir/examples/$n
        [ -x "$bin" ] || { echo "portable: no $dir/$n (make portable-build)" >&2; exit 1; }
        {
            echo "#!/bin/sh"
            [ "$n" = test_examples ] && echo "EXAMPLES_DIR=$dir/run; export EXAMPLES_DIR"
            echo "exec $qpath $bin \"\$@\""
        } > "$dir/run/$n"
        chmod +x "$dir/run/$n"
    done
    if command -v file >/dev/null 2>&1; then
        echo "portable $p: $(file -b "$dir/test_unit" | cut -d, -f1-3)${qpath:+, run with $qpath}"
    else
        echo "portable $p: ${qpath:-native}"
    fi
    for n in $suites; do progs="$progs build/portable/$p/run/$n"; done
done

# etcdctl_lite as an embedded device would ship it, per platform.
echo "portable: etcdctl_lite, -static -Os, stripped:"
printf '    %-8s %-9s %9s %8s %9s %7s %7s\n' platform libc bytes KiB text data bss
for p in $plats; do
    sizebin=build/portable/$p/etcdctl_lite-Os
    [ -f "$sizebin" ] || { printf '    %-8s (no %s)\n' "$p" "$sizebin"; continue; }
    bytes=$(wc -c < "$sizebin" | tr -d ' ')
    case $p in musl) libc=musl ;; *) libc=glibc ;; esac
    tds="- - -"
    t=$(sizetool "$p") && tds=$("$t" "$sizebin" 2>/dev/null | awk 'NR == 2 { print $1, $2, $3 }')
    # shellcheck disable=SC2086
    set -- ${tds:-- - -}
    printf '    %-8s %-9s %9s %8s %9s %7s %7s\n' "$p" "$libc" "$bytes" \
        "$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1024 }')" "$1" "$2" "$3"
done

start=$(date +%s)
status=$(mktemp)
# shellcheck disable=SC2086
{ tests/run.sh $progs; echo $? > "$status"; } 2>&1 | awk -v plats="$plats" -v start="$start" '
    function take(line,   p, f) {
        if (line ~ /^== /) {
            split(substr(line, 4), part, "/");   # build/portable/PLATFORM/run/NAME
            cur = part[3]; n[cur]++; return
        }
        if (line ~ /^!! /) { failed[cur]++; return }
        if (line ~ /^[0-9]+ passed, [0-9]+ failed$/) last[cur] = line
    }
    function settle() {                          # the program before the next ==
        if (cur != "" && last[cur] != "") {
            split(last[cur], w, " ");
            passed[cur] += w[1]; failed[cur] += w[3]; last[cur] = ""
        }
    }
    NR > 1 {
        if (held ~ /^== /) settle()
        take(held); print held; fflush()
    }
    { held = $0 }
    END {
        settle()
        np = split(plats, pl, " ")
        for (i = 1; i <= np; i++)
            printf "portable %s: %d passed, %d failed in %d programs\n", pl[i],
                   passed[pl[i]], failed[pl[i]], n[pl[i]]
        "date +%s" | getline now
        printf "portable: suites ran in %d s\n", now - start
        print held
    }'
rc=$(cat "$status" 2>/dev/null)
rm -f "$status"
[ "${rc:-1}" -eq 0 ]
