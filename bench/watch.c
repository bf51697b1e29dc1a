/* watch.c - a watcher consuming what a writer process puts as fast as it can.

     watch CLIENT MODE PORT N
         CLIENT etcdh | raw; MODE seq (N sequential puts) | txn (N/128 txns
         of 128 puts each). The watcher opens a watch on /bench/w/ (from the
         current revision + 1) and waits for its "created" message; then it
         forks the writer (raw HTTP over its own keep-alive connection) and
         consumes events until it has all N. Prints
         "<N> <watcher CPU ns per event> <received events/s> <written events/s> <lag ns>"
         - watcher CPU: this process, from the fork to the last event;
         - written/s: N over the writer's time from its first request to its
           last answer; received/s: N over the time from the writer's first
           request to the last event received;
         - lag: the last event's arrival minus the writer's last answer.

   raw: reads the same chunked stream (same request as etcd.h's), splits it
   into messages at their newlines and counts the events ("kv":{) without
   decoding anything. etcd.h: etcd_watchdir / etcd_watch_next, counting
   res->nevents. */
#define _GNU_SOURCE          /* memmem, memrchr; before any include */
#include "../etcd.h"
#include "common.h"

#include <sys/wait.h>

#define TXN_OPS 128

static void writer(int port, const char *mode, long n, int out)
{
    bench_conn c;
    bench_buf body = { NULL, 0, 0 }, req = { NULL, 0, 0 };
    int64_t t[2];
    long i, step = 1;
    if (!strcmp(mode, "txn")) {
        bench_body_txn_puts(&body, BENCH_WATCH, 0, TXN_OPS);
        bench_http_post(&req, port, "/v3/kv/txn", &body);
        step = TXN_OPS;
    } else {
        bench_body_put(&body, BENCH_WATCH "000000", bench_value());
        bench_http_post(&req, port, "/v3/kv/put", &body);
    }
    bench_conn_open(&c, port);
    t[0] = bench_now_ns();
    for (i = 0; i < n; i += step) bench_roundtrip(&c, &req);
    t[1] = bench_now_ns();
    if (write(out, t, sizeof t) != (ssize_t)sizeof t) _exit(1);
    _exit(0);
}

/* The store's revision (a raw get). */
static long long current_revision(int port)
{
    bench_conn c;
    bench_buf body = { NULL, 0, 0 }, req = { NULL, 0, 0 };
    long long rev;
    bench_body_get(&body, BENCH_GET_KEY);
    bench_http_post(&req, port, "/v3/kv/range", &body);
    bench_conn_open(&c, port);
    bench_roundtrip(&c, &req);
    rev = bench_revision(c.body.p);
    bench_conn_close(&c);
    free(body.p);
    free(req.p);
    return rev;
}

/* ---- the raw watcher ------------------------------------------------------- */

typedef struct raw_watch { bench_conn c; int created; } raw_watch;

static void raw_open(raw_watch *w, int port, long long start)
{
    char end[64];
    bench_buf body = { NULL, 0, 0 }, req = { NULL, 0, 0 };
    bench_prefix_end(end, BENCH_WATCH);
    bench_buf_str(&body, "{\"create_request\":{");
    bench_j_b64(&body, "key", BENCH_WATCH, strlen(BENCH_WATCH));
    bench_buf_str(&body, ",");
    bench_j_b64(&body, "range_end", end, strlen(end));
    bench_buf_fmt(&body, ",\"start_revision\":\"%lld\"}}", start);
    bench_buf_fmt(&req, "POST /v3/watch HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                  "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                  "Grpc-Metadata-Hasleader: true\r\n\r\n", port, body.len);
    bench_buf_add(&req, body.p, body.len);
    memset(w, 0, sizeof *w);
    bench_conn_open(&w->c, port);
    bench_send(w->c.fd, req.p, req.len);
    bench_read_head(&w->c);
    if (w->c.status != 200 || !w->c.chunked) bench_die("raw watch: HTTP %d", w->c.status);
    w->c.body.len = 0;
    free(body.p);
    free(req.p);
}

/* Read one chunk of the stream; return the events in the whole messages
   now buffered (and drop those messages). Sets w->created on the first. */
static size_t raw_next(raw_watch *w)
{
    bench_buf *b = &w->c.body;
    size_t n = bench_chunk_size(&w->c), done, events;
    char *nl;
    if (!n) bench_die("raw watch: the stream ended");
    bench_take(&w->c, n);
    if (!(nl = (char *)memrchr(b->p, '\n', b->len))) return 0;
    done = (size_t)(nl - b->p) + 1;
    if (!w->created && memmem(b->p, done, "\"created\":true", 14)) w->created = 1;
    events = bench_count(b->p, done, "\"kv\":{");
    memmove(b->p, b->p + done, b->len - done);
    b->len -= done;
    return events;
}

int main(int argc, char **argv)
{
    int port, p[2], status, raw;
    long n, got = 0;
    long long start;
    int64_t c0, tlast, wt[2] = { 0, 0 };
    etcd *cli = NULL;
    etcd_watcher *w = NULL;
    raw_watch rw;
    pid_t pid;

    if (argc != 5 || (strcmp(argv[1], "etcdh") && strcmp(argv[1], "raw")) ||
        (strcmp(argv[2], "seq") && strcmp(argv[2], "txn"))) {
        fprintf(stderr, "usage: watch etcdh|raw seq|txn PORT N\n");
        return 2;
    }
    raw = !strcmp(argv[1], "raw");
    port = atoi(argv[3]);
    n = atol(argv[4]);
    if (!strcmp(argv[2], "txn")) n = (n + TXN_OPS - 1) / TXN_OPS * TXN_OPS;
    start = current_revision(port) + 1;

    if (raw) {
        raw_open(&rw, port, start);
        while (!rw.created) got += (long)raw_next(&rw);
    } else {
        char url[64], err[256];
        etcd_opts o;
        etcd_watch_opts wo;
        etcd_res *m;
        snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
        memset(&o, 0, sizeof o);
        o.http_host = url;
        o.api_prefix = "/v3";
        o.max_fails = -1;
        if (!(cli = etcd_new(&o, err, sizeof err))) bench_die("etcd_new: %s", err);
        memset(&wo, 0, sizeof wo);
        wo.timeout = 30;
        wo.start_revision = start;
        if (!(w = etcd_watchdir(cli, BENCH_WATCH, &wo))) bench_die("etcd_watchdir: %s", etcd_errstr(cli));
        if (!(m = etcd_watch_next(w)) || !m->created) bench_die("watch: no created message: %s", etcd_watch_errstr(w));
        got += (long)m->nevents;
        etcd_res_free(m);
    }

    if (pipe(p) != 0) bench_die("pipe: %s", strerror(errno));
    fflush(stdout);
    c0 = bench_cpu_ns();
    if ((pid = fork()) < 0) bench_die("fork: %s", strerror(errno));
    if (pid == 0) {
        close(p[0]);
        close(raw ? rw.c.fd : etcd_watch_fd(w));
        writer(port, argv[2], n, p[1]);
    }
    close(p[1]);
    while (got < n) {
        if (raw) {
            got += (long)raw_next(&rw);
        } else {
            etcd_res *m = etcd_watch_next(w);
            if (!m) bench_die("etcd_watch_next after %ld of %ld events: %s", got, n, etcd_watch_errstr(w));
            got += (long)m->nevents;
            etcd_res_free(m);
        }
    }
    tlast = bench_now_ns();
    c0 = bench_cpu_ns() - c0;
    if (read(p[0], wt, sizeof wt) != (ssize_t)sizeof wt) bench_die("writer failed");
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (got != n) bench_die("%ld events, expected %ld", got, n);
    printf("%ld %.1f %.0f %.0f %lld\n", n, (double)c0 / (double)n,
           (double)n * 1e9 / (double)(tlast - wt[0]), (double)n * 1e9 / (double)(wt[1] - wt[0]),
           (long long)(tlast - wt[1]));
    if (raw) bench_conn_close(&rw.c);
    else {
        etcd_watchcancel(w);
        etcd_free(cli);
    }
    return 0;
}
