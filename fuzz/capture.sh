#!/bin/sh
# capture.sh - record real etcd answers as the fuzzers' seed corpora.
#
#   sh fuzz/capture.sh        (from the repo root or anywhere)
#
# Starts its own etcd (the etcd on PATH; Debian's is 3.4) on 127.0.0.1 with
# free ports and a temporary data dir, makes every kind of call etcd.h makes
# with curl against the JSON gateway, stops etcd by its PID, and writes:
#   fuzz/corpus/decode/etcd_*   a status digit ('0' 200, '1' 400, '2' 404,
#                               '3' 500, '4' 503, '5' 401) + the body
#   fuzz/corpus/http/etcd_*     9 control bytes (fuzz/http.c) + the raw
#                               response (curl -i --raw: 1xx heads, chunks,
#                               trailers and all)
#   fuzz/corpus/split/etcd_*    8 read sizes + a stream's decoded body
#   fuzz/corpus/json/etcd_*     bodies as they are
#   fuzz/corpus/base64/etcd_*   base64 strings from the bodies
# Only etcd_* files are replaced; the hand-written seeds (hand_*) stay.
# Needs etcd, etcdctl (auth setup), curl and python3 (de-chunking, JSON picking).
set -eu

cd "$(dirname "$0")/.."
C=fuzz/corpus
for d in decode http split json base64; do mkdir -p "$C/$d"; rm -f "$C/$d"/etcd_*; done

tmp=$(mktemp -d)
pid=
stop() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap stop EXIT
trap 'exit 1' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cport=$(free_port)
pport=$(free_port)
U=http://127.0.0.1:$cport
etcd --name capture --data-dir "$tmp/data" \
     --listen-client-urls "$U" --advertise-client-urls "$U" \
     --listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
     --initial-cluster "capture=http://127.0.0.1:$pport" >"$tmp/etcd.log" 2>&1 &
pid=$!
i=0
until curl -s "$U/health" | grep -q '"true"'; do
    i=$((i + 1))
    if [ $i -gt 100 ]; then echo "capture: etcd did not start:"; cat "$tmp/etcd.log"; exit 1; fi
    sleep 0.1
done

# A raw answer split into head status and decoded body (1xx heads skipped,
# chunks joined): py_split RAW BODY prints the status.
py_split() {
    python3 - "$1" "$2" <<'EOF'
import sys
raw = open(sys.argv[1], "rb").read()
while True:
    head, _, rest = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    if status >= 200 or not rest:
        break
    raw = rest
headers = head.lower()
if b"transfer-encoding: chunked" in headers:
    body = b""
    while rest:
        line, _, rest = rest.partition(b"\r\n")
        size = int(line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        body += rest[:size]
        rest = rest[size + 2:]
else:
    body = rest
open(sys.argv[2], "wb").write(body)
print(status)
EOF
}

# One JSON field of a saved body: pick NAME EXPR (EXPR indexes j, the body).
pick() {
    python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$tmp/$1.body" "$2"
}

# call NAME METHOD PATH BODY [curl options]: the answer in $tmp/NAME.raw,
# .body and .status. Streams need --max-time (curl then exits 28).
call() {
    name=$1 method=$2 path=$3 body=$4
    shift 4
    if [ "$method" = GET ]; then
        curl -s -i --raw "$@" "$U$path" >"$tmp/$name.raw" || true
    else
        curl -s -i --raw -X POST --data-binary "$body" "$@" "$U$path" >"$tmp/$name.raw" || true
    fi
    py_split "$tmp/$name.raw" "$tmp/$name.body" >"$tmp/$name.status"
}

status_digit() {
    case $(cat "$tmp/$1.status") in
        200) echo 0 ;; 400) echo 1 ;; 404) echo 2 ;; 500) echo 3 ;; 503) echo 4 ;; 401) echo 5 ;;
        *) echo 1 ;;
    esac
}

# Seeds from a saved answer. One set of read sizes for all: the fuzzer varies them.
PIECES='\001\007\000\100\003\220\015\377'
seed_decode() { { printf '%s' "$(status_digit "$1")"; cat "$tmp/$1.body"; } >"$C/decode/etcd_$1"; }
seed_json()   { cp "$tmp/$1.body" "$C/json/etcd_$1"; }
# seed_http NAME OPT: OPT an octal escape, e.g. '\020' (calls, EAGAIN on)
seed_http()   { { printf "$2$PIECES"; cat "$tmp/$1.raw"; } >"$C/http/etcd_$1"; }
seed_split()  { { printf "$PIECES"; cat "$tmp/$1.body"; } >"$C/split/etcd_$1"; }
seeds()       { seed_decode "$1"; seed_json "$1"; }
# a stream's first message alone, as the decoder gets it
first_msg()   { head -n 1 "$tmp/$1.body" | tr -d '\n' >"$tmp/$1.first"; mv "$tmp/$1.first" "$tmp/$1.body"; }

J='Content-Type: application/json'

# ---- kv -------------------------------------------------------------------
call put POST /v3/kv/put '{"key":"Zm9v","value":"YmFy"}'                       # foo=bar
seed_decode put
call put_prev POST /v3/kv/put '{"key":"Zm9v","value":"eyJhIjoiXHUwMGU5In0=","prev_kv":true}' -H "$J"
seeds put_prev
call put_bin POST /v3/kv/put '{"key":"/wAB","value":"AAEC/w=="}'                # binary key and value
call range POST /v3/kv/range '{"key":"Zm9v"}' -H 'Expect: 100-continue'         # a 100 Continue first
seed_decode range; seed_http range '\020'
call range_all POST /v3/kv/range '{"key":"AA==","range_end":"AA=="}'
seeds range_all
call put2 POST /v3/kv/put '{"key":"Zm9vMg==","value":"Mg=="}'
call put3 POST /v3/kv/put '{"key":"Zm9vMw==","value":"Mw=="}'
call delete POST /v3/kv/deleterange '{"key":"Zm9vMg==","prev_kv":true}'
seed_decode delete
call range_http10 POST /v3/kv/range '{"key":"Zm9v","keys_only":true}' -0 -H 'Connection: close'
seed_http range_http10 '\000'

# Over 2 KiB: Go's server sends it chunked.
for n in 00 01 02 03 04 05 06 07 08 09 10 11; do
    v=$(printf 'value %s of a key big enough to push the range answer past two KiB....%s' "$n" "$n" | base64 -w0)
    k=$(printf 'big/%s' "$n" | base64 -w0)
    curl -s -X POST --data-binary "{\"key\":\"$k\",\"value\":\"$v\"}" "$U/v3/kv/put" >/dev/null
done
call range_big POST /v3/kv/range "{\"key\":\"$(printf big/ | base64 -w0)\",\"range_end\":\"$(printf big0 | base64 -w0)\"}"
seed_http range_big '\022'

# ---- txn ------------------------------------------------------------------
call txn POST /v3/kv/txn '{"compare":[{"key":"Zm9v","result":"GREATER","target":"VERSION","version":"0"}],
  "success":[{"request_range":{"key":"Zm9v"}},{"request_put":{"key":"Zm9vMg==","value":"dHhu","prev_kv":true}},
             {"request_delete_range":{"key":"Zm9vMw==","prev_kv":true}},
             {"request_txn":{"success":[{"request_range":{"key":"Zm9v","count_only":true}}]}}],
  "failure":[{"request_range":{"key":"Zm9v"}}]}'
seeds txn
call txn_failed POST /v3/kv/txn '{"compare":[{"key":"Zm9v","result":"EQUAL","target":"VALUE","value":"bm9wZQ=="}],
  "failure":[{"request_put":{"key":"Zm9v","value":"YmF6"}}]}'
seed_decode txn_failed

# ---- watch (streams: curl stops them) -------------------------------------
call watch POST /v3/watch '{"create_request":{"key":"Zm9v","range_end":"Zm9w","start_revision":"1","prev_kv":true}}' \
     -N --max-time 1.5
seed_split watch; seed_http watch '\024'
python3 - "$tmp/watch.body" "$tmp" <<'EOF'
import sys
for i, line in enumerate(open(sys.argv[1], "rb").read().split(b"\n")[:3]):
    if line.strip():
        open("%s/watch_msg%d.body" % (sys.argv[2], i), "wb").write(line)
        open("%s/watch_msg%d.status" % (sys.argv[2], i), "w").write("200\n")
EOF
for m in watch_msg0 watch_msg1 watch_msg2; do if [ -f "$tmp/$m.body" ]; then seeds $m; fi; done

# ---- leases ---------------------------------------------------------------
call grant POST /v3/lease/grant '{"TTL":"60"}'
seed_decode grant
lease=$(pick grant 'j["ID"]')
call put_lease POST /v3/kv/put "{\"key\":\"bGVhc2Vk\",\"value\":\"eA==\",\"lease\":\"$lease\"}"
call keepalive POST /v3/lease/keepalive "{\"ID\":\"$lease\"}" -N --max-time 1
seed_split keepalive; seed_http keepalive '\024'; first_msg keepalive; seed_decode keepalive
call keepalive_gone POST /v3/lease/keepalive '{"ID":"12345"}' -N --max-time 1
seed_split keepalive_gone
call timetolive POST /v3/kv/lease/timetolive "{\"ID\":\"$lease\",\"keys\":true}"
seeds timetolive
call timetolive_gone POST /v3/kv/lease/timetolive '{"ID":"12345"}'
seed_decode timetolive_gone
call leases POST /v3/lease/leases '{}'
seeds leases

# ---- version, status ------------------------------------------------------
call version GET /version ''
seeds version
call status POST /v3/maintenance/status '{}'                 # "leader" here is a member id
seed_decode status

# ---- lock, election -------------------------------------------------------
call lock POST /v3/lock/lock "{\"name\":\"bG9jaw==\",\"lease\":\"$lease\"}"
seed_decode lock
call unlock POST /v3/lock/unlock "{\"key\":\"$(pick lock 'j["key"]')\"}"
call no_leader POST /v3/election/leader '{"name":"ZWxlY3Rpb24="}'    # 500, chunked, a trailer
seed_decode no_leader; seed_http no_leader '\020'
call campaign POST /v3/election/campaign "{\"name\":\"ZWxlY3Rpb24=\",\"lease\":\"$lease\",\"value\":\"djE=\"}"
seeds campaign
leader=$(pick campaign 'json.dumps(j["leader"])')
call leader POST /v3/election/leader '{"name":"ZWxlY3Rpb24="}'
seed_decode leader
call proclaim POST /v3/election/proclaim "{\"leader\":$leader,\"value\":\"djI=\"}"
call observe POST /v3/election/observe '{"name":"ZWxlY3Rpb24="}' -N --max-time 1
seed_split observe; first_msg observe; seed_decode observe
call resign POST /v3/election/resign "{\"leader\":$leader}"
call revoke POST /v3/lease/revoke "{\"ID\":\"$lease\"}"

# ---- errors ---------------------------------------------------------------
call put_bad_lease POST /v3/kv/put '{"key":"eA==","value":"eQ==","lease":"12345"}'
seed_decode put_bad_lease
call bad_json POST /v3/kv/range '{"key":'
seed_decode bad_json
call not_found POST /v3/nothing '{}'                          # text/plain 404
seed_decode not_found; seed_http not_found '\020'
rev=$(pick put3 'j["header"]["revision"]')
curl -s -X POST --data-binary "{\"revision\":\"$rev\",\"physical\":true}" "$U/v3/kv/compaction" >/dev/null
call compacted POST /v3/kv/range '{"key":"Zm9v","revision":"2"}'
seeds compacted; seed_http compacted '\020'
call watch_compacted POST /v3/watch '{"create_request":{"key":"Zm9v","start_revision":"2"}}' -N --max-time 1
seed_split watch_compacted
call watch_bad POST /v3/watch '{"create_request":' -N --max-time 1
seed_split watch_bad; first_msg watch_bad; seed_decode watch_bad

# ---- auth: a token, then a refusal -----------------------------------------
E="etcdctl --endpoints=$U"
ETCDCTL_API=3 $E user add root:pw >/dev/null
ETCDCTL_API=3 $E role add root >/dev/null 2>&1 || true     # 3.4 may have it already
ETCDCTL_API=3 $E user grant-role root root >/dev/null
ETCDCTL_API=3 $E auth enable >/dev/null
call authenticate POST /v3/auth/authenticate '{"name":"root","password":"pw"}'
seeds authenticate
call no_token POST /v3/kv/range '{"key":"Zm9v"}'
seed_decode no_token
call bad_token POST /v3/kv/range '{"key":"Zm9v"}' -H 'Authorization: nope'
seed_decode bad_token
ETCDCTL_API=3 $E --user root:pw auth disable >/dev/null

# ---- base64 seeds: the strings etcd sent ------------------------------------
n=0
for f in range put_prev campaign timetolive watch; do
    grep -o '"\(key\|value\|name\)":"[A-Za-z0-9+/=]*"' "$tmp/$f.body" | sed 's/.*:"\(.*\)"/\1/' | head -n 3 |
    while read -r s; do printf '%s' "$s" >"$C/base64/etcd_${f}_$n"; n=$((n + 1)); done
done

echo "capture: etcd $(pick version 'j["etcdserver"]'); seeds written:"
for d in decode http split json base64; do
    printf '  %-7s %3d files %6d bytes\n' "$d" "$(ls "$C/$d" | wc -l)" "$(cat "$C/$d"/* | wc -c)"
done
