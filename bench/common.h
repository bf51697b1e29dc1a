/* common.h - what the bench programs share: clocks, base64, request bodies
   for etcd's JSON gateway, and the "raw loop": a keep-alive HTTP/1.1
   connection that writes pre-built request bytes and reads the answer by
   Content-Length (or chunked framing), decoding nothing.

   Each bench .c file defines _GNU_SOURCE (memmem, wait4) before its first
   include. Everything here is static. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE          /* memmem */
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/types.h>

#if defined(__GNUC__) || defined(__clang__)
#define BENCH_UNUSED __attribute__((unused))
#define BENCH_NORETURN __attribute__((noreturn))
#else
#define BENCH_UNUSED
#define BENCH_NORETURN
#endif

/* The data the bench loads (bench/run.sh): keys PREFIX%06d, each value a
   JSON string of BENCH_VALUE_LEN bytes (valid under etcd.h's default JSON
   serializer). */
#define BENCH_VALUE_LEN 100
#define BENCH_GET_KEY   "/bench/get/000000"
#define BENCH_PUT_KEY   "/bench/put/000000"
#define BENCH_RD1K      "/bench/rd1k/"
#define BENCH_BIG       "/bench/big/"
#define BENCH_WATCH     "/bench/w/"

static BENCH_UNUSED BENCH_NORETURN void bench_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static BENCH_UNUSED int64_t bench_clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
static BENCH_UNUSED int64_t bench_now_ns(void) { return bench_clock_ns(CLOCK_MONOTONIC); }
static BENCH_UNUSED int64_t bench_cpu_ns(void) { return bench_clock_ns(CLOCK_PROCESS_CPUTIME_ID); }
static BENCH_UNUSED int64_t bench_tcpu_ns(void) { return bench_clock_ns(CLOCK_THREAD_CPUTIME_ID); }

static BENCH_UNUSED void *bench_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) bench_die("out of memory (%zu bytes)", n);
    return p;
}

/* The value stored under every key: "vvvv...", BENCH_VALUE_LEN bytes. */
static BENCH_UNUSED const char *bench_value(void)
{
    static char v[BENCH_VALUE_LEN + 1];
    int i;
    if (!v[0]) {
        v[0] = '"';
        for (i = 1; i < BENCH_VALUE_LEN - 1; i++) v[i] = (char)('a' + (i * 7) % 26);
        v[BENCH_VALUE_LEN - 1] = '"';
    }
    return v;
}

/* ---- growable byte buffer ------------------------------------------------ */

typedef struct bench_buf { char *p; size_t len, cap; } bench_buf;

static BENCH_UNUSED void bench_buf_reserve(bench_buf *b, size_t extra)
{
    size_t cap = b->cap ? b->cap : 256;
    char *p;
    if (b->len + extra + 1 <= b->cap) return;
    while (cap < b->len + extra + 1) cap *= 2;
    if (!(p = (char *)realloc(b->p, cap))) bench_die("out of memory (%zu bytes)", cap);
    b->p = p;
    b->cap = cap;
}
static BENCH_UNUSED void bench_buf_add(bench_buf *b, const void *s, size_t n)
{
    bench_buf_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}
static BENCH_UNUSED void bench_buf_str(bench_buf *b, const char *s) { bench_buf_add(b, s, strlen(s)); }
static BENCH_UNUSED void bench_buf_fmt(bench_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    bench_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static BENCH_UNUSED void bench_b64(bench_buf *b, const void *data, size_t n)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *s = (const unsigned char *)data;
    size_t i;
    char q[4];
    for (i = 0; i + 2 < n; i += 3) {
        q[0] = t[s[i] >> 2];
        q[1] = t[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
        q[2] = t[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)];
        q[3] = t[s[i + 2] & 63];
        bench_buf_add(b, q, 4);
    }
    if (i < n) {
        q[0] = t[s[i] >> 2];
        if (i + 1 < n) {
            q[1] = t[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
            q[2] = t[(s[i + 1] & 15) << 2];
        } else {
            q[1] = t[(s[i] & 3) << 4];
            q[2] = '=';
        }
        q[3] = '=';
        bench_buf_add(b, q, 4);
    }
}

/* "name":"<base64 of s>" */
static BENCH_UNUSED void bench_j_b64(bench_buf *b, const char *name, const void *s, size_t n)
{
    bench_buf_fmt(b, "\"%s\":\"", name);
    bench_b64(b, s, n);
    bench_buf_str(b, "\"");
}

/* etcd's prefix rule: the range end of a dir is its last byte + 1. */
static BENCH_UNUSED void bench_prefix_end(char *end, const char *dir)
{
    size_t n = strlen(dir);
    memcpy(end, dir, n + 1);
    end[n - 1] = (char)(end[n - 1] + 1);
}

/* JSON bodies as etcd.h sends them. */
static BENCH_UNUSED void bench_body_get(bench_buf *b, const char *key)
{
    bench_buf_str(b, "{");
    bench_j_b64(b, "key", key, strlen(key));
    bench_buf_str(b, "}");
}
static BENCH_UNUSED void bench_body_readdir(bench_buf *b, const char *dir)
{
    char end[256];
    bench_prefix_end(end, dir);
    bench_buf_str(b, "{");
    bench_j_b64(b, "key", dir, strlen(dir));
    bench_buf_str(b, ",");
    bench_j_b64(b, "range_end", end, strlen(end));
    bench_buf_str(b, "}");
}
static BENCH_UNUSED void bench_body_put(bench_buf *b, const char *key, const char *val)
{
    bench_buf_str(b, "{");
    bench_j_b64(b, "key", key, strlen(key));
    bench_buf_str(b, ",");
    bench_j_b64(b, "value", val, strlen(val));
    bench_buf_str(b, "}");
}
/* A txn of n puts: keys prefix%06d from first on. */
static BENCH_UNUSED void bench_body_txn_puts(bench_buf *b, const char *prefix, long first, long n)
{
    char key[256];
    long i;
    bench_buf_str(b, "{\"success\":[");
    for (i = 0; i < n; i++) {
        snprintf(key, sizeof key, "%s%06ld", prefix, first + i);
        bench_buf_str(b, i ? ",{\"request_put\":" : "{\"request_put\":");
        bench_body_put(b, key, bench_value());
        bench_buf_str(b, "}");
    }
    bench_buf_str(b, "]}");
}

/* The whole request: what etcd.h writes for the same call. */
static BENCH_UNUSED void bench_http_post(bench_buf *req, int port, const char *path, const bench_buf *body)
{
    bench_buf_fmt(req, "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                  "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                  path, port, body->len);
    bench_buf_add(req, body->p, body->len);
}

/* ---- the raw loop's connection --------------------------------------------- */

typedef struct bench_conn {
    int fd;
    char in[65536];                 /* bytes read, not yet consumed: in[s, e) */
    size_t s, e;
    bench_buf body;                 /* the last response's body (reused) */
    int status;
    int chunked;                    /* the current response is chunked */
} bench_conn;

static BENCH_UNUSED int bench_connect(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0) bench_die("socket: %s", strerror(errno));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        bench_die("connect 127.0.0.1:%d: %s", port, strerror(errno));
    return fd;
}

static BENCH_UNUSED void bench_conn_open(bench_conn *c, int port)
{
    memset(c, 0, sizeof *c);
    c->fd = bench_connect(port);
}

static BENCH_UNUSED void bench_conn_close(bench_conn *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    free(c->body.p);
    c->body.p = NULL;
    c->body.len = c->body.cap = 0;
}

static BENCH_UNUSED void bench_send(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) bench_die("send: %s", w < 0 ? strerror(errno) : "closed");
        p += w;
        n -= (size_t)w;
    }
}

/* Read more into c->in; 0 at EOF. */
static BENCH_UNUSED size_t bench_fill(bench_conn *c)
{
    ssize_t r;
    if (c->s == c->e) c->s = c->e = 0;
    if (c->e == sizeof c->in) {
        memmove(c->in, c->in + c->s, c->e - c->s);
        c->e -= c->s;
        c->s = 0;
        if (c->e == sizeof c->in) bench_die("HTTP line longer than %zu bytes", sizeof c->in);
    }
    do r = recv(c->fd, c->in + c->e, sizeof c->in - c->e, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0) bench_die("recv: %s", strerror(errno));
    c->e += (size_t)r;
    return (size_t)r;
}

/* The next line (CRLF-terminated) from the stream; *len without CRLF. */
static BENCH_UNUSED const char *bench_line(bench_conn *c, size_t *len)
{
    for (;;) {
        char *nl = (char *)memchr(c->in + c->s, '\n', c->e - c->s);
        if (nl) {
            const char *l = c->in + c->s;
            size_t n = (size_t)(nl - l);
            c->s += n + 1;
            *len = n && l[n - 1] == '\r' ? n - 1 : n;
            return l;
        }
        if (!bench_fill(c)) bench_die("EOF in an HTTP line");
    }
}

/* Append exactly n body bytes: what is buffered first, then recv straight
   into the body buffer. */
static BENCH_UNUSED void bench_take(bench_conn *c, size_t n)
{
    size_t have = c->e - c->s;
    if (have > n) have = n;
    bench_buf_reserve(&c->body, n);
    memcpy(c->body.p + c->body.len, c->in + c->s, have);
    c->body.len += have;
    c->s += have;
    n -= have;
    while (n) {
        ssize_t r = recv(c->fd, c->body.p + c->body.len, n, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) bench_die("recv body: %s", r < 0 ? strerror(errno) : "EOF");
        c->body.len += (size_t)r;
        n -= (size_t)r;
    }
    c->body.p[c->body.len] = '\0';
}

/* Read a response head; sets status and chunked; returns Content-Length
   or -1. */
static BENCH_UNUSED long long bench_read_head(bench_conn *c)
{
    long long clen = -1;
    size_t n;
    const char *l = bench_line(c, &n);
    if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0) bench_die("not an HTTP response");
    c->status = atoi(l + 9);
    c->chunked = 0;
    while ((l = bench_line(c, &n)) != NULL && n) {
        if (n > 15 && !strncasecmp(l, "Content-Length:", 15)) clen = atoll(l + 15);
        else if (n > 18 && !strncasecmp(l, "Transfer-Encoding:", 18)) c->chunked = 1;
    }
    return clen;
}

/* The size of the next chunk (after its data's CRLF when not the first). */
static BENCH_UNUSED size_t bench_chunk_size(bench_conn *c)
{
    size_t n;
    const char *l = bench_line(c, &n);
    if (!n) l = bench_line(c, &n);       /* the CRLF after the previous chunk's data */
    return (size_t)strtoul(l, NULL, 16);
}

/* One whole response into c->body (dechunked); returns the status. */
static BENCH_UNUSED int bench_read_response(bench_conn *c)
{
    long long clen = bench_read_head(c);
    c->body.len = 0;
    if (!c->chunked) {
        if (clen < 0) bench_die("response without Content-Length or chunked framing");
        bench_take(c, (size_t)clen);
    } else {
        size_t n, ln;
        while ((n = bench_chunk_size(c)) > 0) bench_take(c, n);
        while (bench_line(c, &ln) && ln) {}      /* trailers, then the blank line */
    }
    if (!c->body.p) bench_buf_reserve(&c->body, 0);
    c->body.p[c->body.len] = '\0';
    return c->status;
}

/* Send a pre-built request and read the answer; die unless 200. */
static BENCH_UNUSED void bench_roundtrip(bench_conn *c, const bench_buf *req)
{
    bench_send(c->fd, req->p, req->len);
    if (bench_read_response(c) != 200)
        bench_die("HTTP %d: %.200s", c->status, c->body.p ? c->body.p : "");
}

/* "revision":"N" in the first header of a body. */
static BENCH_UNUSED long long bench_revision(const char *body)
{
    const char *p = body ? strstr(body, "\"revision\":\"") : NULL;
    return p ? atoll(p + 12) : -1;
}

/* A count of needle in s[0, n). */
static BENCH_UNUSED size_t bench_count(const char *s, size_t n, const char *needle)
{
    size_t k = 0, m = strlen(needle);
    const char *p = s, *end = s + n;
    while (p < end && (p = (const char *)memmem(p, (size_t)(end - p), needle, m)) != NULL) {
        k++;
        p += m;
    }
    return k;
}

static BENCH_UNUSED int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static BENCH_UNUSED int64_t bench_median(int64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_i64);
    return n ? v[n / 2] : 0;
}

#endif
