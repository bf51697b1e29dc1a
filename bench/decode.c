/* decode.c - etcd.h decoding a big captured body (bench/run.sh captures the
   body of the 100,000-key readdir once with the raw loop).

     decode mem FILE REPS EXPECT
         In memory: REPS times, alternating, etcd.h decoding the body and
         memcpy of the same bytes into a buffer faulted in beforehand. Prints
         one line per rep: "<decode ns> <memcpy ns> <method>", thread CPU
         time. method "internal": etcd.h's decoder called directly (built
         with -DBENCH_INTERNAL_DECODE=1 or =2, see decode_internal); "api": without
         it, etcd_readdir through the public API against the in-process
         responder below, so the time also holds receiving the bytes over
         loopback (a lower bound on the decoder's speed).
     decode serve FILE REPS EXPECT
         The public API against an in-process HTTP responder on 127.0.0.1
         that answers every request with the captured body from memory (no
         etcd in the way). REPS times, alternating: etcd_readdir, and the raw
         loop receiving the same bytes. Prints "<etcd.h ns> <raw ns>" per
         rep, the client thread's CPU time.

   EXPECT: the number of kvs in the body (checked). */
#define _GNU_SOURCE          /* memmem, before any include */
#define ETCD_IMPLEMENTATION
#include "../etcd.h"
#include "common.h"

#include <pthread.h>

static const char *g_body;
static size_t g_len;

#ifdef BENCH_INTERNAL_DECODE
/* The one internal call of the bench: etcd.h's response decoder, which
   builds a result (copying the body into it) from a body, its length and
   an HTTP status. Internal names change while the decoder is rewritten, so
   run.sh compiles this with -Werror for each known signature in turn and,
   when none compiles (or the run fails), measures through the public API
   instead:
     1: etcd__decode(body, len, status, &err)
     2: etcd__decode(body, len, status, &scratch, &err)   (with a token array)
   Returns the number of kvs decoded, or (size_t)-1. */
static size_t decode_internal(const char *body, size_t len)
{
    etcd__error err;
    etcd_res *r;
    size_t n;
    memset(&err, 0, sizeof err);
#if BENCH_INTERNAL_DECODE == 1
    r = etcd__decode(body, len, 200, &err);
#else
    etcd__scratch sc;
    memset(&sc, 0, sizeof sc);
    r = etcd__decode(body, len, 200, &sc, &err);
    ETCD_FREE(sc.toks);
#endif
    n = r ? r->nkvs : (size_t)-1;
    etcd_res_free(r);
    return n;
}
#endif

/* ---- the in-process responder --------------------------------------------- */

static void *serve_conn(void *arg)
{
    bench_conn *c = (bench_conn *)arg;
    char head[160];
    int hn = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      "Content-Length: %zu\r\n\r\n", g_len);
    for (;;) {
        long long clen = 0;
        size_t n, skip;
        const char *l;
        /* request head, then its body (ignored) */
        do {
            if (c->s == c->e && !bench_fill(c)) goto done;
            l = bench_line(c, &n);
            if (n > 15 && !strncasecmp(l, "Content-Length:", 15)) clen = atoll(l + 15);
        } while (n);
        for (skip = (size_t)clen; skip;) {
            size_t have = c->e - c->s < skip ? c->e - c->s : skip;
            c->s += have;
            skip -= have;
            if (skip && !bench_fill(c)) goto done;
        }
        bench_send(c->fd, head, (size_t)hn);
        bench_send(c->fd, g_body, g_len);
    }
done:
    close(c->fd);
    free(c);
    return NULL;
}

static void *serve(void *arg)
{
    int lfd = *(int *)arg;
    for (;;) {
        pthread_t t;
        int fd = accept(lfd, NULL, NULL);
        bench_conn *c;
        if (fd < 0) {
            if (errno == EINTR) continue;
            return NULL;
        }
        c = (bench_conn *)bench_xmalloc(sizeof *c);
        memset(c, 0, sizeof *c);
        c->fd = fd;
        if (pthread_create(&t, NULL, serve_conn, c) != 0) bench_die("pthread_create");
        pthread_detach(t);
    }
}

static int responder_start(void)
{
    static int lfd;
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    pthread_t t;
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 16) != 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) != 0)
        bench_die("responder: %s", strerror(errno));
    if (pthread_create(&t, NULL, serve, &lfd) != 0) bench_die("pthread_create");
    pthread_detach(t);
    return ntohs(a.sin_port);
}

/* ---- clients of the responder ----------------------------------------------- */

static etcd *api_client(int port)
{
    static char url[64];
    char err[256];
    etcd_opts o;
    etcd *cli;
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    memset(&o, 0, sizeof o);
    o.http_host = url;
    o.api_prefix = "/v3";
    o.timeout = 600;
    o.max_fails = -1;
    if (!(cli = etcd_new(&o, err, sizeof err))) bench_die("etcd_new: %s", err);
    return cli;
}

/* One etcd_readdir against the responder: client thread CPU ns. */
static int64_t api_readdir(etcd *cli, size_t expect)
{
    int64_t t0 = bench_tcpu_ns(), t1;
    etcd_res *r = etcd_readdir(cli, BENCH_BIG, NULL);
    t1 = bench_tcpu_ns();
    if (!r) bench_die("etcd_readdir: %s", etcd_errstr(cli));
    if (r->nkvs != expect) bench_die("etcd_readdir: %zu kvs, expected %zu", r->nkvs, expect);
    etcd_res_free(r);
    return t1 - t0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    long n = 0;
    char *p;
    if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        bench_die("%s: %s", path, strerror(errno));
    p = (char *)bench_xmalloc((size_t)n + 1);
    if (fread(p, 1, (size_t)n, f) != (size_t)n) bench_die("%s: short read", path);
    p[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return p;
}

int main(int argc, char **argv)
{
    long reps, i;
    size_t expect;
    int port;
    if (argc != 5 || (strcmp(argv[1], "mem") != 0 && strcmp(argv[1], "serve") != 0)) {
        fprintf(stderr, "usage: decode mem|serve FILE REPS EXPECT\n");
        return 2;
    }
    g_body = read_file(argv[2], &g_len);
    reps = atol(argv[3]);
    expect = (size_t)atol(argv[4]);

    if (!strcmp(argv[1], "mem")) {
        char *dst = (char *)bench_xmalloc(g_len + 1);
#ifndef BENCH_INTERNAL_DECODE
        etcd *cli = api_client(responder_start());
        api_readdir(cli, expect);                   /* connect, warm up */
#else
        if (decode_internal(g_body, g_len) != expect) bench_die("decode: wrong number of kvs");
#endif
        memset(dst, 1, g_len + 1);                  /* fault the memcpy target in */
        for (i = 0; i < reps; i++) {
            int64_t t0, t1, t2, dec;
#ifdef BENCH_INTERNAL_DECODE
            t0 = bench_tcpu_ns();
            if (decode_internal(g_body, g_len) != expect) bench_die("decode: wrong number of kvs");
            dec = bench_tcpu_ns() - t0;
#else
            dec = api_readdir(cli, expect);
#endif
            t1 = bench_tcpu_ns();
            memcpy(dst, g_body, g_len);
            t2 = bench_tcpu_ns();
            if (dst[g_len / 2] != g_body[g_len / 2]) bench_die("memcpy?");
            printf("%lld %lld %s\n", (long long)dec, (long long)(t2 - t1),
#ifdef BENCH_INTERNAL_DECODE
                   "internal"
#else
                   "api"
#endif
                   );
            (void)t0;
        }
        free(dst);
        return 0;
    }

    port = responder_start();
    {
        etcd *cli = api_client(port);
        bench_buf body = { NULL, 0, 0 }, req = { NULL, 0, 0 };
        bench_conn raw;
        bench_body_readdir(&body, BENCH_BIG);
        bench_http_post(&req, port, "/v3/kv/range", &body);
        bench_conn_open(&raw, port);
        api_readdir(cli, expect);                   /* connect, warm up */
        bench_roundtrip(&raw, &req);
        for (i = 0; i < reps; i++) {
            int64_t e = api_readdir(cli, expect), t0 = bench_tcpu_ns();
            bench_roundtrip(&raw, &req);
            if (raw.body.len != g_len) bench_die("raw: %zu bytes, expected %zu", raw.body.len, g_len);
            printf("%lld %lld\n", (long long)e, (long long)(bench_tcpu_ns() - t0));
        }
        etcd_free(cli);
        bench_conn_close(&raw);
        free(body.p);
        free(req.p);
    }
    return 0;
}
