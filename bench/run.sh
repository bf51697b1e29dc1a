#!/bin/sh
# bench/run.sh - etcd.h's performance bench (bench/README.md says what each
# figure measures).
#
#   sh bench/run.sh            make bench: every figure, about 5-10 minutes;
#                              the table goes to stdout and bench/last-run.md
#   BENCH_QUICK=1 sh bench/run.sh   fewer and shorter runs (~2 minutes)
#   sh bench/run.sh --smoke    make bench-smoke: builds everything and runs
#                              every bench program once with tiny sizes;
#                              checks that they run and that a table comes
#                              out, judges no speed; exits 1 on any failure
#   sh bench/run.sh --ir       only the callgrind figures of etcd.h (section b
#                              without libcurl: instructions per get, per put
#                              and per readdir-1k, at the full mode's run
#                              lengths), as a small table on stdout, in about
#                              10 s; builds only rt, loads only the small
#                              keys; writes nothing into the tree (no
#                              bench/last-run.md, no build/bench/ copies);
#                              exits 1 if a figure could not be measured
#
# Starts its own etcd (Debian's etcd-server) on 127.0.0.1 with free ports and
# its data dir on tmpfs (/dev/shm), and stops it by PID at the end. Every
# figure is the median of several runs in which etcd.h and its baselines
# alternate. A figure that cannot be measured says "n/a" and why.
# Environment: CC (default cc), BENCH_QUICK=1, BENCH_BUDGET (seconds after
# which the remaining figures are skipped as n/a; default 900),
# BENCH_BIG_REPS (runs of the end-to-end big readdir; default 9).
set -u
cd "$(dirname "$0")/.." || exit 1

MODE=full
case "${1:-}" in
    --smoke) MODE=smoke ;;
    --ir) MODE=ir ;;
    "") [ "${BENCH_QUICK:-0}" = 1 ] && MODE=quick ;;
    *) echo "usage: sh bench/run.sh [--smoke | --ir]" >&2; exit 2 ;;
esac

# Sizes and repetitions. N_*: timed calls per batch, W_*: warm-up calls;
# CG_*: the two run lengths under callgrind; BIG: keys of the large answer.
case $MODE in
full|ir)  REPS=11; N_SMALL=1000; W_SMALL=50; N_RD=40; W_RD=5
       CG_S1=100; CG_S2=200; CG_R1=10; CG_R2=20
       BIG=100000; BIG_REPS=9; RSS_REPS=3; DEC_REPS=9
       W_REPS=5; W_SEQ=3000; W_TXN=25600 ;;
quick) REPS=3; N_SMALL=300; W_SMALL=20; N_RD=10; W_RD=2
       CG_S1=50; CG_S2=100; CG_R1=5; CG_R2=10
       BIG=100000; BIG_REPS=3; RSS_REPS=1; DEC_REPS=5
       W_REPS=3; W_SEQ=1000; W_TXN=12800 ;;
smoke) REPS=1; N_SMALL=5; W_SMALL=2; N_RD=2; W_RD=1
       CG_S1=2; CG_S2=4; CG_R1=1; CG_R2=2
       BIG=2000; BIG_REPS=1; RSS_REPS=1; DEC_REPS=1
       W_REPS=1; W_SEQ=50; W_TXN=256 ;;
esac
BIG_REPS=${BENCH_BIG_REPS:-$BIG_REPS}     # the end-to-end big readdir is the noisiest figure
BUDGET=${BENCH_BUDGET:-900}
[ "$MODE" = smoke ] && BUDGET=${BENCH_BUDGET:-85}

CC=${CC:-cc}
WARN="-std=c99 -Wall -Wextra -Wpedantic"
OUTB=build/bench     # where the programs are copied for use by hand
T0=$(date +%s)
FAILS=0
EPID=

if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3      # Debian's python3
elif command -v python3 >/dev/null 2>&1; then PY=python3
else echo "bench: python3 is needed (make deps)" >&2; exit 1; fi
command -v etcd >/dev/null 2>&1 || { echo "bench: no etcd binary (make deps)" >&2; exit 1; }

SHM=/dev/shm
[ -d "$SHM" ] && [ -w "$SHM" ] || SHM=${TMPDIR:-/tmp}
TMP=$(mktemp -d "$SHM/etcdh-bench-XXXXXX") || exit 1
B=$TMP/bin           # a private build dir: runs at the same time do not mix
mkdir -p "$B"
RES=$TMP/results
LOG=$TMP/log
ERRF=$TMP/stderr
: >"$RES"
: >"$LOG"

stop_etcd() {
    [ -n "$EPID" ] || return 0
    kill -TERM "$EPID" 2>/dev/null
    i=0
    while kill -0 "$EPID" 2>/dev/null && [ $i -lt 50 ]; do
        # a zombie still answers kill -0: stop waiting once it has exited
        grep -q '^State:.*Z' "/proc/$EPID/status" 2>/dev/null && break
        sleep 0.1; i=$((i + 1))
    done
    kill -KILL "$EPID" 2>/dev/null
    wait "$EPID" 2>/dev/null
    EPID=
}
cleanup() {
    stop_etcd
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { printf '[%4ds] %s\n' $(( $(date +%s) - T0 )) "$*" >&2; }
rec() { echo "$*" >>"$RES"; }
na() { k=$1; c=$2; shift 2; echo "na $k $c $*" >>"$RES"; }

# run SECONDS CMD...: stdout in $OUT; on failure 1, with the reason in $WHY.
run() {
    t=$1; shift
    OUT=
    if [ $(( $(date +%s) - T0 )) -ge "$BUDGET" ]; then
        WHY="skipped: the time budget of ${BUDGET} s was used up"
        FAILS=$((FAILS + 1))
        return 1
    fi
    if OUT=$(timeout -k 5 "$t" "$@" 2>"$ERRF"); then
        cat "$ERRF" >>"$LOG"
        return 0
    fi
    rc=$?
    { echo "== failed ($rc): $*"; cat "$ERRF"; } >>"$LOG"
    if [ $rc -eq 124 ]; then WHY="$(basename "$1") timed out after ${t} s"
    else WHY="$(basename "$1") failed: $(grep -v '^==' "$ERRF" | tail -n 1 | cut -c1-120)"; fi
    echo "bench: $WHY" >&2
    FAILS=$((FAILS + 1))
    return 1
}

# rotate "a b c" N: the list rotated left by N (the order of the clients
# changes from run to run).
rotate() {
    k=$2
    set -- $1
    k=$((k % $#))
    while [ $k -gt 0 ]; do x=$1; shift; set -- "$@" "$x"; k=$((k - 1)); done
    echo "$@"
}

# ---- build ---------------------------------------------------------------------
# bg NAME CMD...: build in the background; $B/NAME.log, $B/NAME.rc.
bg() { n=$1; shift; ( "$@" >"$B/$n.log" 2>&1; echo $? >"$B/$n.rc" ) & }
built() { [ "$(cat "$B/$1.rc" 2>/dev/null)" = 0 ]; }
why_not() { echo "build of $1 failed: $(grep -m1 -E 'error|fatal' "$B/$1.log" 2>/dev/null | cut -c1-120)"; }

if [ "$MODE" = ir ]; then say "mode ir: building impl.o and rt"
else say "mode $MODE: building (copies go to $OUTB/)"; fi
CURL_FLAGS=-lcurl
if ! echo '#include <curl/curl.h>' | "$CC" -E - >/dev/null 2>&1; then
    CURL_FLAGS=-DBENCH_NO_CURL
    CURL_WHY="libcurl not installed (libcurl4-openssl-dev; make deps)"
fi
bg impl    "$CC" $WARN -O2 -g -c -o "$B/impl.o" bench/impl.c
if [ "$MODE" != ir ]; then     # --ir: impl.o and rt only
DECINT="$CC $WARN -Werror -O2 -g -o $B/decode_internal bench/decode.c -pthread -DBENCH_INTERNAL_DECODE"
bg decint  sh -c "$DECINT=1 || $DECINT=2"      # each known signature of the internal call
bg decapi  "$CC" $WARN -O2 -g -o "$B/decode_api" bench/decode.c -pthread
bg allocs  "$CC" $WARN -O2 -g -o "$B/allocs" bench/allocs.c
bg heap    "$CC" $WARN -O2 -g -o "$B/heap" bench/heap.c
bg os      "$CC" $WARN -Os -c -o "$B/impl_os.o" bench/impl.c
bg ostls   "$CC" $WARN -Os -DETCD_USE_OPENSSL -c -o "$B/impl_os_tls.o" bench/impl.c
if command -v musl-gcc >/dev/null 2>&1; then
    bg musl sh -c "musl-gcc -std=c99 -Os -static -I. -o '$B/etcdctl_lite_musl' examples/etcdctl_lite.c && strip '$B/etcdctl_lite_musl'"
fi
fi
wait
if built impl; then
    bg rt    "$CC" $WARN -O2 -g -o "$B/rt" bench/rt.c "$B/impl.o" $CURL_FLAGS
    [ "$MODE" = ir ] || bg watch "$CC" $WARN -O2 -g -o "$B/watch" bench/watch.c "$B/impl.o"
    wait
fi
for n in impl decapi allocs heap os ostls musl rt watch; do
    if [ -f "$B/$n.rc" ] && ! built $n; then
        echo "bench: $(why_not $n)" >&2; cat "$B/$n.log" >&2; FAILS=$((FAILS + 1))
    elif [ -s "$B/$n.log" ]; then
        echo "bench: warnings building $n:" >&2; cat "$B/$n.log" >&2
    fi
done
if [ "$MODE" != ir ]; then
mkdir -p "$OUTB"
for f in rt watch decode_internal decode_api allocs heap etcdctl_lite_musl; do   # rename: atomic
    [ -f "$B/$f" ] && cp "$B/$f" "$OUTB/.$f.$$" && mv -f "$OUTB/.$f.$$" "$OUTB/$f"
done
fi
if [ "$MODE" != ir ] && ! built decint; then
    say "the internal decode call does not compile (etcd.h changed?): decode measured through the public API"
fi

# ---- footprint (no etcd needed) --------------------------------------------------
if built os; then rec fp.text etcdh "$(size "$B/impl_os.o" | awk 'NR == 2 {print $1}')"
else na fp.text etcdh "$(why_not os)"; fi
if built ostls; then rec fp.tls etcdh "$(size "$B/impl_os_tls.o" | awk 'NR == 2 {print $1}')"
else na fp.tls etcdh "$(why_not ostls)"; fi
if ! command -v musl-gcc >/dev/null 2>&1; then na fp.musl etcdh "musl-gcc not installed (musl-tools; make deps)"
elif built musl; then rec fp.musl etcdh "$(wc -c <"$B/etcdctl_lite_musl" | tr -d ' ')"
else na fp.musl etcdh "$(why_not musl)"; fi

# ---- etcd ----------------------------------------------------------------------
start_etcd() {
    tries=0
    while [ $tries -lt 3 ]; do
        tries=$((tries + 1))
        set -- $("$PY" -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
        PORT=$1; PEER=$2
        rm -rf "$TMP/etcd"; mkdir -p "$TMP/etcd"
        etcd --name bench --data-dir "$TMP/etcd/data" \
            --listen-client-urls "http://127.0.0.1:$PORT" --advertise-client-urls "http://127.0.0.1:$PORT" \
            --listen-peer-urls "http://127.0.0.1:$PEER" --initial-advertise-peer-urls "http://127.0.0.1:$PEER" \
            --initial-cluster "bench=http://127.0.0.1:$PEER" --initial-cluster-state new \
            --max-txn-ops 1024 --max-request-bytes 33554432 \
            >"$TMP/etcd/etcd.log" 2>&1 </dev/null &
        EPID=$!
        i=0
        while [ $i -lt 200 ]; do
            if curl -s -m 1 "http://127.0.0.1:$PORT/health" 2>/dev/null | grep -q '"true"'; then return 0; fi
            grep -q 'address already in use' "$TMP/etcd/etcd.log" && break
            kill -0 "$EPID" 2>/dev/null || break
            sleep 0.1; i=$((i + 1))
        done
        grep -q 'address already in use' "$TMP/etcd/etcd.log" || break
        stop_etcd
    done
    echo "bench: etcd did not start; the end of its log:" >&2
    tail -n 20 "$TMP/etcd/etcd.log" >&2
    stop_etcd
    return 1
}

say "starting etcd on 127.0.0.1 (data dir on $SHM)"
start_etcd || exit 1
say "etcd $(etcd --version | awk '/etcd Version/ {print $3}') on 127.0.0.1:$PORT, pid $EPID"

rec meta mode $MODE
rec meta big_keys $BIG
rec meta etcd "$(etcd --version | awk '/etcd Version/ {print $3}')"
rec meta cc "$("$CC" --version | head -n 1)"
rec meta cpu "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo) ($(nproc) cores)"
rec meta datadir "$SHM"
rec meta load_start "$(cut -d' ' -f1 /proc/loadavg)"

ready=1
if ! built rt; then ready=0; RT_WHY=$(why_not rt); fi
load() {   # load PREFIX COUNT
    [ $ready = 1 ] && run 600 "$B/rt" load "$PORT" "$1" "$2"
}
say "loading data"
if load /bench/get/ 1 && load /bench/put/ 1 && load /bench/rd1k/ 1000; then :; else
    ready=0; RT_WHY=${RT_WHY:-"loading the data failed: $WHY"}
fi

# ---- a. round trips ----------------------------------------------------------------
# The C clients share one process and take turns in blocks of calls (rt with
# a list of clients); Python runs as its own process, before or after them.
CCLIENTS="etcdh raw curl"
[ -n "${CURL_WHY:-}" ] && CCLIENTS="etcdh raw"
CLIST=$(echo $CCLIENTS | tr ' ' ,)
r=0
[ "$MODE" = ir ] && r=$REPS      # --ir: no round trips
while [ $r -lt $REPS ]; do
    say "round trips: run $((r + 1)) of $REPS"
    for op in get put readdir; do
        case $op in readdir) n=$N_RD; w=$W_RD; e=1000 ;; *) n=$N_SMALL; w=$W_SMALL; e=1 ;; esac
        [ -n "${CURL_WHY:-}" ] && { na rt.$op.wall curl "$CURL_WHY"; na rt.$op.cpu curl "$CURL_WHY"; }
        for who in $(rotate "c py" $r); do
            if [ $ready = 0 ]; then
                for c in $CCLIENTS py; do na rt.$op.wall $c "$RT_WHY"; na rt.$op.cpu $c "$RT_WHY"; done
                break
            fi
            if [ $who = py ]; then
                if run 300 "$PY" bench/rt.py $op "$PORT" $n $w $e; then
                    set -- $OUT; rec rt.$op.wall py "$1"; rec rt.$op.cpu py "$2"
                else na rt.$op.wall py "$WHY"; na rt.$op.cpu py "$WHY"; fi
            elif run 600 "$B/rt" "$CLIST" $op "$PORT" $n $w $e; then
                set -- $OUT
                for c in $CCLIENTS; do rec rt.$op.wall $c "$1"; rec rt.$op.cpu $c "$2"; shift 2; done
            else
                for c in $CCLIENTS; do na rt.$op.wall $c "$WHY"; na rt.$op.cpu $c "$WHY"; done
            fi
        done
    done
    r=$((r + 1))
done

# ---- b. instructions per call (callgrind) -------------------------------------------
cg_ir() {   # cg_ir CLIENT OP N EXPECT: total Ir of a run with N timed calls
    rm -f "$TMP/cg.out"
    run 600 valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.out" \
        "$B/rt" "$1" "$2" "$PORT" "$3" 2 "$4" || return 1
    IR=$(awk '/^summary:/ {print $2}' "$TMP/cg.out")
    [ -n "$IR" ] || { WHY="no summary in callgrind's output"; return 1; }
}
say "instructions per call under callgrind"
CG_CLIENTS="etcdh curl"
[ "$MODE" = ir ] && CG_CLIENTS=etcdh
for op in get put readdir; do
    case $op in readdir) n1=$CG_R1; n2=$CG_R2; e=1000 ;; *) n1=$CG_S1; n2=$CG_S2; e=1 ;; esac
    [ "$MODE" = ir ] && say "callgrind: etcdh $op, $n1 and $n2 calls"
    for c in $CG_CLIENTS; do
        if [ $ready = 0 ]; then na cg.$op $c "$RT_WHY"; continue; fi
        if ! command -v valgrind >/dev/null 2>&1; then na cg.$op $c "valgrind not installed (make deps)"; continue; fi
        if [ $c = curl ] && [ -n "${CURL_WHY:-}" ]; then na cg.$op curl "$CURL_WHY"; continue; fi
        if cg_ir $c $op $n1 $e; then
            i1=$IR
            if cg_ir $c $op $n2 $e; then rec cg.$op $c $(( (IR - i1) / (n2 - n1) )); continue; fi
        fi
        na cg.$op $c "$WHY"
    done
done

# ---- --ir: the three figures, and done ---------------------------------------------------
if [ "$MODE" = ir ]; then
    stop_etcd
    ELAPSED=$(( $(date +%s) - T0 ))
    irmeta() { awk -v k="$1" '$1 == "meta" && $2 == k { $1 = ""; $2 = ""; sub(/^  /, ""); v = $0 } END { print v }' "$RES"; }
    echo
    echo "etcd.h, instructions per call (callgrind Ir, libc included: (Ir(N2) - Ir(N1)) / (N2 - N1)" \
         "with N = $CG_S1 and $CG_S2 for get and put, $CG_R1 and $CG_R2 for readdir-1k); --ir mode, ${ELAPSED} s," \
         "etcd $(irmeta etcd) on 127.0.0.1, $(irmeta cc)."
    echo
    echo "| figure | etcd.h |"
    echo "|---|---|"
    missing=0
    for op in get put readdir; do
        case $op in readdir) label="instructions per readdir-1k" ;; *) label="instructions per $op" ;; esac
        v=$(awk -v k=cg.$op '$1 == k && $2 == "etcdh" { v = $3 } END { print v }' "$RES")
        if [ -n "$v" ]; then   # thousands separated by commas, as in the full table
            v=$(echo "$v" | awk '{ s = $1; o = ""; while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) } print s o }')
        else
            missing=$((missing + 1))
            v="n/a ($(awk -v k=cg.$op '$1 == "na" && $2 == k && $3 == "etcdh" { $1 = $2 = $3 = ""; sub(/^ +/, ""); w = $0 } END { print w }' "$RES"))"
        fi
        echo "| $label | $v |"
    done
    echo
    if [ $missing -gt 0 ]; then
        echo "bench --ir: $missing of the 3 figures n/a (log follows)" >&2; tail -n 60 "$LOG" >&2
        exit 1
    fi
    exit 0
fi

# ---- c. large answers --------------------------------------------------------------------
say "large answers: loading $BIG keys (txns of 128 puts)"
big_ok=$ready
BIG_WHY=${RT_WHY:-}
if [ $big_ok = 1 ]; then
    if ! load /bench/big/ $BIG; then big_ok=0; BIG_WHY="loading $BIG keys failed: $WHY"
    elif ! run 300 "$B/rt" capture "$PORT" /bench/big/ "$TMP/big.json"; then big_ok=0; BIG_WHY="capture failed: $WHY"
    else rec meta big_body "$OUT"; fi
fi
r=0
while [ $r -lt $BIG_REPS ]; do
    say "large answers: end-to-end readdir, run $((r + 1)) of $BIG_REPS"
    for c in $(rotate "etcdh raw" $r); do
        if [ $big_ok = 0 ]; then na big.wall $c "$BIG_WHY"; na big.cpu $c "$BIG_WHY"; continue; fi
        if run 600 "$B/rt" $c big "$PORT" 1 1 $BIG; then
            set -- $OUT; rec big.wall $c "$1"; rec big.cpu $c "$2"
        else na big.wall $c "$WHY"; na big.cpu $c "$WHY"; fi
    done
    r=$((r + 1))
done
r=0
while [ $r -lt $RSS_REPS ]; do
    say "large answers: peak RSS, run $((r + 1)) of $RSS_REPS"
    for c in $(rotate "etcdh raw curl paged" $r); do
        if [ $big_ok = 0 ]; then na rss $c "$BIG_WHY"; continue; fi
        if [ $c = curl ] && [ -n "${CURL_WHY:-}" ]; then na rss curl "$CURL_WHY"; continue; fi
        if run 600 "$B/rt" $c rss "$PORT" big $BIG; then set -- $OUT; rec rss $c "$1"
        else na rss $c "$WHY"; fi
    done
    r=$((r + 1))
done
say "large answers: decoding the captured body"
dec_done=0
if [ $big_ok = 0 ]; then
    na dec etcdh "$BIG_WHY"
else
    if built decint && run 600 "$B/decode_internal" mem "$TMP/big.json" $DEC_REPS $BIG; then
        dec_done=1
    elif built decapi && run 600 "$B/decode_api" mem "$TMP/big.json" $DEC_REPS $BIG; then
        dec_done=1
    elif ! built decapi; then WHY=$(why_not decapi); fi
    if [ $dec_done = 1 ]; then
        echo "$OUT" | while read -r d m how; do rec dec etcdh "$d"; rec dec memcpy "$m"; rec meta decode_method "$how"; done
    else na dec etcdh "$WHY"; fi
fi
if [ $big_ok = 0 ]; then na srv etcdh "$BIG_WHY"
elif ! built decapi; then na srv etcdh "$(why_not decapi)"
elif run 600 "$B/decode_api" serve "$TMP/big.json" $DEC_REPS $BIG; then
    echo "$OUT" | while read -r a b; do rec srv etcdh "$a"; rec srv raw "$b"; done
else na srv etcdh "$WHY"; fi
rm -f "$TMP/big.json"

# ---- d. watch ----------------------------------------------------------------------------
for mode in seq txn; do
    case $mode in seq) n=$W_SEQ ;; *) n=$W_TXN ;; esac
    r=0
    while [ $r -lt $W_REPS ]; do
        say "watch, $mode writer ($n events): run $((r + 1)) of $W_REPS"
        for c in $(rotate "etcdh raw" $r); do
            if ! built watch; then why=$(why_not watch)
            elif [ $ready = 0 ]; then why=$RT_WHY
            elif run 120 "$B/watch" $c $mode "$PORT" $n; then
                set -- $OUT
                rec w.$mode.cpu $c "$2"; rec w.$mode.recv $c "$3"; rec w.$mode.write $c "$4"; rec w.$mode.lag $c "$5"
                continue
            else why=$WHY; fi
            for f in cpu recv write lag; do na w.$mode.$f $c "$why"; done
        done
        r=$((r + 1))
    done
done

# ---- e. allocations per get --------------------------------------------------------------
say "allocations per get"
if ! built allocs; then na allocs etcdh "$(why_not allocs)"; na allocs.max etcdh "$(why_not allocs)"
elif [ $ready = 1 ] && run 120 "$B/allocs" "$PORT" 100; then
    set -- $OUT; rec allocs etcdh "$1"; rec allocs.max etcdh "$2"
else w=${WHY:-$RT_WHY}; na allocs etcdh "$w"; na allocs.max etcdh "$w"; fi

# ---- e. heap held (bench/heap.c: live bytes through the allocator override) -------
say "heap held by a client"
HEAP_FIGS="first get100 watch keeper w2k"
if ! built heap; then for f in $HEAP_FIGS; do na heap.$f etcdh "$(why_not heap)"; done
elif [ $ready = 1 ] && run 120 "$B/heap" "$PORT"; then
    echo "$OUT" | while read -r k v; do [ -n "$v" ] && rec heap.$k etcdh "$v"; done
else w=${WHY:-$RT_WHY}; for f in $HEAP_FIGS; do na heap.$f etcdh "$w"; done; fi

rec meta load_end "$(cut -d' ' -f1 /proc/loadavg)"
stop_etcd
ELAPSED=$(( $(date +%s) - T0 ))
say "done; making the table"

# ---- the table ---------------------------------------------------------------------------
TABLE=$TMP/table.md
if ! "$PY" bench/table.py "$RES" >"$TABLE"; then FAILS=$((FAILS + 1)); fi
meta() { awk -v k="$1" '$1 == "meta" && $2 == k { $1 = ""; $2 = ""; sub(/^  /, ""); v = $0 } END { print v }' "$RES"; }
{
    echo "Run of $(date -u '+%Y-%m-%d %H:%M UTC') ($MODE mode, ${ELAPSED} s): etcd $(meta etcd) on 127.0.0.1" \
         "with its data dir on $(meta datadir), $(meta cpu), $(meta cc)."
    echo "Medians of $REPS interleaved runs for round trips, $BIG_REPS for the end-to-end big readdir," \
         "$RSS_REPS for RSS, $DEC_REPS for decoding, $W_REPS for watch; big answer: $(meta big_keys) keys," \
         "$(meta big_body) bytes of body. Load average (1 min) at the start $(meta load_start), at the end" \
         "$(meta load_end): on 2 cores, etcd and the bench take about 2; more means something else ran too."
    echo
    cat "$TABLE"
} >"$TMP/out.md"
if [ "$MODE" = smoke ]; then
    cp "$TMP/out.md" "$OUTB/smoke-run.md"
else
    {
        echo "# Last \`make bench\` run"; echo; cat "$TMP/out.md"; echo
        echo "Every sample (figure, client, one value per run: ns, KiB, bytes, events/s or Ir per call):"
        echo; echo '```'; "$PY" bench/table.py --samples "$RES"; echo '```'
    } >bench/last-run.md
fi
echo
cat "$TMP/out.md"
echo

rows=$(grep -c '^| [a-e]\. ' "$TABLE" 2>/dev/null || echo 0)
if [ "$MODE" = smoke ]; then
    if [ "$FAILS" -eq 0 ] && [ "$rows" -ge 38 ]; then
        echo "bench-smoke: ok ($rows figures, ${ELAPSED} s)"
        exit 0
    fi
    echo "bench-smoke: FAILED ($FAILS failures, $rows figures; log follows)" >&2
    tail -n 60 "$LOG" >&2
    exit 1
fi
[ "$FAILS" -eq 0 ] || { echo "bench: $FAILS runs failed (their figures say n/a; log follows)" >&2; tail -n 60 "$LOG" >&2; }
exit 0
