"""rt.py - the Python peer of bench/rt.c: http.client over one keep-alive
connection, json to parse the answer, base64 to decode every key and value.

    python3 bench/rt.py OP PORT N WARMUP EXPECT

OP get | put | readdir; prints "<wall ns per call> <client CPU ns per call>"
(CPU: time.process_time, the whole process). Same requests as rt.c."""
import base64
import http.client
import json
import sys
import time

VALUE_LEN = 100


def value():
    # the same bytes as bench_value() in common.h
    return '"' + ''.join(chr(ord('a') + (i * 7) % 26) for i in range(1, VALUE_LEN - 1)) + '"'


def b64(s):
    return base64.b64encode(s.encode()).decode()


def main():
    if len(sys.argv) != 6:
        sys.stderr.write("usage: rt.py OP PORT N WARMUP EXPECT\n")
        return 2
    op, port, n, warm, expect = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    hdrs = {"Content-Type": "application/json"}
    val = value()

    if op == "get":
        path, key = "/v3/kv/range", "/bench/get/000000"
    elif op == "put":
        path, key = "/v3/kv/put", "/bench/put/000000"
    elif op == "readdir":
        path, key = "/v3/kv/range", "/bench/rd1k/"
    else:
        sys.stderr.write("unknown op %s\n" % op)
        return 2

    def call():
        if op == "put":
            body = json.dumps({"key": b64(key), "value": b64(val)})
        elif op == "get":
            body = json.dumps({"key": b64(key)})
        else:
            end = key[:-1] + chr(ord(key[-1]) + 1)
            body = json.dumps({"key": b64(key), "range_end": b64(end)})
        conn.request("POST", path, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        if r.status != 200:
            raise SystemExit("rt.py %s: HTTP %d" % (op, r.status))
        j = json.loads(data)
        kvs = j.get("kvs", [])
        for kv in kvs:
            base64.b64decode(kv["key"])
            base64.b64decode(kv.get("value", ""))
        if op != "put" and len(kvs) != expect:
            raise SystemExit("rt.py %s: %d kvs, expected %d" % (op, len(kvs), expect))

    for _ in range(warm):
        call()
    w0, c0 = time.monotonic_ns(), time.process_time_ns()
    for _ in range(n):
        call()
    c1, w1 = time.process_time_ns(), time.monotonic_ns()
    print("%.1f %.1f" % ((w1 - w0) / n, (c1 - c0) / n))
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
