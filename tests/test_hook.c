/* test_hook.c - the transport hook (etcd_opts.transport, etcd_transport)
   against a real etcd: what etcd_new refuses, how each failure of the
   caller's functions comes back (code and text), the unix socket proxy,
   the watcher's handle and its reconnect backoff, the clock (every
   deadline is on the transport's now()), and TLS over the hook.

   The transport is tests/hook.h's (POSIX sockets of its own, handles that
   are not fds, a clock that starts near 0), wrapped here per test by an
   fx: a context whose functions fail on demand. Built two ways: as every
   suite (sockets compiled in: a transport still takes over), and by
   mk/hook.mk with -DETCD_NO_SOCKETS -DTEST_HOOK (no sockets in etcd.h;
   then a NULL transport or a NULL now is refused). All on 127.0.0.1 and
   a unix socket in a temp dir (a one-answer server of its own). */
/* TLS: OpenSSL, or mbedTLS when built with -DETCD_USE_MBEDTLS (mk/tlsbackends.mk) */
#if !defined(ETCD_USE_MBEDTLS)
#define ETCD_USE_OPENSSL
#endif
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
#include "harness.h"
#include "hook.h"

#include <pthread.h>
#include <stdbool.h>

static test_etcd srv, srv_tls;
static test_certs certs;
static bool up_tls;

/* ------------------------------------------------------------------------
   fx: tests/hook.h's transport, with failures on demand
   ------------------------------------------------------------------------ */

#define FX_NO_ERRNO (-1)         /* fail with errno left 0 */

typedef struct fx {
    th_hook_ctx hc;              /* first: the hook's own context */
    int connect_errno;           /* != 0: connect fails so (FX_NO_ERRNO: no errno) */
    int refuse;                  /* 1: connect fails with ECONNREFUSED */
    int read_errno;              /* != 0: reads fail so once the body started ... */
    long body_after;             /* ... and this many body bytes went by (plain HTTP) */
    int read_fail_handle;        /* >= 0: reads on this handle fail with read_errno */
    int eof_handle;              /* >= 0: reads on this handle say EOF */
    int write_errno;             /* != 0: writes fail so */
    int wait_errno;              /* != 0: waits on a connection fail so */
    int again_after_ready;       /* 1: the next read after a ready wait says ETCD_IO_AGAIN, once */
    int armed[TH_HOOK_SLOTS];    /* ... that wait happened on this slot */
    /* seen */
    long connects, reads_failed, agains;
    char host[256];
    int port;
    char tail[4];                /* the last bytes read, to find the end of the head */
    bool in_body;
    long body_seen;
} fx;

static void fx_init(fx *f)
{
    memset(f, 0, sizeof *f);
    f->hc.calm = 1;              /* failures exactly where asked */
    f->read_fail_handle = f->eof_handle = -1;
}

static int fx_fail(int e) { errno = e == FX_NO_ERRNO ? 0 : e; return -1; }

static int fx_connect(void *ctx, const char *host, int port, double deadline)
{
    fx *f = (fx *)ctx;
    f->connects++;
    snprintf(f->host, sizeof f->host, "%s", host);
    f->port = port;
    if (f->connect_errno) return fx_fail(f->connect_errno);
    if (f->refuse) return fx_fail(ECONNREFUSED);
    f->in_body = false;
    f->body_seen = 0;
    memset(f->tail, 0, sizeof f->tail);
    return th_hook_connect(&f->hc, host, port, deadline);
}

static long fx_read(void *ctx, int conn, void *buf, size_t n)
{
    fx *f = (fx *)ctx;
    long r;
    int *armed = conn >= TH_HOOK_BASE && conn < TH_HOOK_BASE + TH_HOOK_SLOTS ? &f->armed[conn - TH_HOOK_BASE] : NULL;
    if (f->again_after_ready && armed && *armed) {
        *armed = 0;
        f->again_after_ready = 0;
        f->agains++;
        return ETCD_IO_AGAIN;
    }
    if (armed) *armed = 0;
    if (conn == f->eof_handle) return 0;
    if (f->wait_errno) return ETCD_IO_AGAIN;          /* so that a wait comes */
    if (conn == f->read_fail_handle) { f->reads_failed++; return fx_fail(f->read_errno); }
    if (!f->read_errno) return th_hook_read(&f->hc, conn, buf, n);
    if (f->in_body && f->body_seen >= f->body_after) { f->reads_failed++; return fx_fail(f->read_errno); }
    r = th_hook_read(&f->hc, conn, buf, 1);          /* a byte at a time: see where the head ends */
    if (r == 1) {
        if (f->in_body) f->body_seen++;
        memmove(f->tail, f->tail + 1, 3);
        f->tail[3] = *(char *)buf;
        if (!f->in_body && !memcmp(f->tail, "\r\n\r\n", 4)) f->in_body = true;
    }
    return r;
}

static long fx_write(void *ctx, int conn, const void *buf, size_t n)
{
    fx *f = (fx *)ctx;
    if (f->write_errno) return fx_fail(f->write_errno);
    return th_hook_write(&f->hc, conn, buf, n);
}

static int fx_wait(void *ctx, int conn, int events, double deadline)
{
    fx *f = (fx *)ctx;
    int r;
    if (conn >= 0 && f->wait_errno) return fx_fail(f->wait_errno);
    if (conn >= 0 && (conn == f->eof_handle || conn == f->read_fail_handle)) return 1;  /* the read says how */
    r = th_hook_wait(&f->hc, conn, events, deadline);
    if (r == 1 && conn >= TH_HOOK_BASE && conn < TH_HOOK_BASE + TH_HOOK_SLOTS && (events & ETCD_IO_READ))
        f->armed[conn - TH_HOOK_BASE] = 1;
    return r;
}

static void fx_close(void *ctx, int conn) { th_hook_close(&((fx *)ctx)->hc, conn); }

static double fx_now(void *ctx) { return th_hook_now(&((fx *)ctx)->hc); }

static etcd_transport fx_transport(fx *f)
{
    etcd_transport t;
    t.ctx = f;
    t.connect = fx_connect;
    t.read = fx_read;
    t.write = fx_write;
    t.wait = fx_wait;
    t.close = fx_close;
    t.now = fx_now;
    return t;
}

/* The real etcd_new (not TEST_HOOK's redirect), printing why it failed. */
static etcd *mk(const etcd_opts *o)
{
    char err[256] = "";
    etcd *c = (etcd_new)(o, err, sizeof err);
    if (!c) fprintf(stderr, "  etcd_new: %s\n", err);
    else if (o->transport) th_hook.clients++;        /* TEST_HOOK's check counts them */
    return c;
}

static bool refused(const etcd_opts *o, char *err, size_t n)
{
    etcd *c;
    err[0] = '\0';
    if (!(c = (etcd_new)(o, err, n))) return true;
    fprintf(stderr, "  etcd_new accepted what it should refuse\n");
    etcd_free(c);
    return false;
}

/* Options for srv over transport t. */
static etcd_opts opts_at(const char *url, const etcd_transport *t)
{
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.http_host = url;
    o.transport = t;
    o.api_prefix = "/v3";        /* no GET /version first: one exchange per call */
    return o;
}

static void sleep_s(double s) { th__sleep_ms((long)(s * 1000)); }

/* ------------------------------------------------------------------------
   etcd_new
   ------------------------------------------------------------------------ */

static void test_refuses_incomplete_transport(void)
{
    fx f;
    int i;
    fx_init(&f);
    for (i = 0; i < 5; i++) {
        etcd_transport t = fx_transport(&f);
        etcd_opts o = opts_at(srv.url, &t);
        char err[256];
        if (i == 0) t.connect = NULL;
        if (i == 1) t.read = NULL;
        if (i == 2) t.write = NULL;
        if (i == 3) t.wait = NULL;
        if (i == 4) t.close = NULL;
        CHECK(refused(&o, err, sizeof err));
        CHECK_STR(err, "transport: connect, read, write, wait and close are required");
    }
}

/* ETCD_NO_SOCKETS: a transport and its clock are required. With sockets:
   NULL is POSIX sockets, and a NULL now is the system's CLOCK_MONOTONIC. */
static void test_null_transport_and_now(void)
{
    fx f;
    etcd_transport t;
    etcd_opts o;
    char err[256];
    fx_init(&f);
    t = fx_transport(&f);
    t.now = NULL;
    o = opts_at(srv.url, NULL);
#ifdef ETCD_NO_SOCKETS
    CHECK(refused(&o, err, sizeof err));
    CHECK_STR(err, "transport: required with ETCD_NO_SOCKETS");
    o.transport = &t;
    CHECK(refused(&o, err, sizeof err));
    CHECK_STR(err, "transport: now is required with ETCD_NO_SOCKETS (no system clock)");
#else
    {
        long before = th_hook.connects;
        etcd *c = mk(&o);
        REQUIRE(c != NULL);
        CHECK(test_put(c, "/hook/null", "1") > 0);       /* etcd.h's own sockets */
        CHECK_INT(th_hook.connects, before);
        etcd_free(c);
        /* now NULL: deadlines on CLOCK_MONOTONIC, so the hook must wait on it too */
        f.hc.system_clock = 1;
        o.transport = &t;
        c = mk(&o);
        REQUIRE(c != NULL);
        CHECK(test_put(c, "/hook/null", "2") > 0);
        CHECK_INT(th_hook.connects, before + 1);
        etcd_free(c);
    }
    (void)err;
#endif
}

/* The transport is copied: the caller's struct may change or go. */
static void test_transport_copied(void)
{
    fx f;
    etcd_transport t;
    etcd_opts o;
    etcd *c;
    fx_init(&f);
    t = fx_transport(&f);
    o = opts_at(srv.url, &t);
    c = mk(&o);
    REQUIRE(c != NULL);
    memset(&t, 0, sizeof t);
    CHECK(test_put(c, "/hook/copied", "1") > 0);
    CHECK(f.connects == 1);
    etcd_free(c);
}

/* ETCD_NO_SOCKETS has no files: etcd_snapshot_save is refused. */
static void test_snapshot_save_refused(void)
{
#ifdef ETCD_NO_SOCKETS
    etcd_transport t = th_hook_make(&th_hook_default_ctx);
    etcd_opts o = opts_at(srv.url, &t);
    etcd *c = mk(&o);
    REQUIRE(c != NULL);
    CHECK(etcd_snapshot_save(c, NULL, "/nonexistent/snap.db") == NULL);
    CHECK_INT(etcd_errcode(c), ETCD_EARG);
    CHECK_STR(etcd_errstr(c), "etcd_snapshot_save: no files with ETCD_NO_SOCKETS: use etcd_snapshot");
    etcd_free(c);
#else
    printf("  (sockets compiled in: etcd_snapshot_save has its files)\n");
#endif
}

/* ------------------------------------------------------------------------
   Traffic over the hook, shaken
   ------------------------------------------------------------------------ */

static void test_kv_over_shaking_hook(void)
{
    enum { BIG = 300000 };
    th_hook_ctx hc;
    etcd_transport t;
    etcd_opts o;
    etcd *c;
    etcd_res *r;
    etcd_set_opts so;
    char *big = (char *)malloc(BIG);
    long shorts = th_hook.shorts, conns = th_hook.connects;
    long long in = th_hook.bytes_in, out = th_hook.bytes_out;
    int i;
    REQUIRE(big != NULL);
    memset(&hc, 0, sizeof hc);                        /* shaking */
    t = th_hook_make(&hc);
    o = opts_at(srv.url, &t);
    o.api_prefix = NULL;                              /* GET /version too */
    o.serializer = ETCD_SERIALIZER_RAW;
    c = mk(&o);
    if (!c) free(big);
    REQUIRE(c != NULL);
    for (i = 0; i < BIG; i++) big[i] = (char)('a' + i % 26);
    memset(&so, 0, sizeof so);
    so.val_len = BIG;
    for (i = 0; i < 20; i++) {
        char k[32];
        snprintf(k, sizeof k, "/hook/shake/%02d", i);
        r = test_ok200(c, etcd_set(c, k, i % 5 == 0 ? big : "v", i % 5 == 0 ? &so : NULL));
        CHECK(r != NULL);
        etcd_res_free(r);
    }
    r = test_ok200(c, etcd_readdir(c, "/hook/shake/", NULL));
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->nkvs, 20);
        for (i = 0; i < (int)r->nkvs; i++)
            if (i % 5 == 0) CHECK_MEM(r->kvs[i].value, r->kvs[i].value_len, big, (size_t)BIG);
            else CHECK_STR(r->kvs[i].value, "v");
    }
    etcd_res_free(r);
    free(big);
    CHECK(th_hook.last_handle >= TH_HOOK_BASE);
    CHECK(th_hook.connects > conns);
    CHECK(th_hook.bytes_in - in > 4 * BIG);
    CHECK(th_hook.bytes_out - out > 4 * BIG);
    CHECK(th_hook.shorts > shorts);
    /* no check of agains here: an AGAIN is drawn only on calls no wait()
       came before, and a seed may give none in this test (a CI run had
       one); hook_carried_traffic checks that the suite's calls had some */
    etcd_free(c);
    CHECK_INT(th_hook.open, 0);
}

/* ------------------------------------------------------------------------
   Failures of the caller's functions: code and text
   ------------------------------------------------------------------------ */

/* The hook's own connect to a port nobody listens on. */
static void test_connect_refused(void)
{
    char url[64];
    etcd_transport t = th_hook_make(&th_hook_default_ctx);
    etcd_opts o;
    etcd *c;
    int port = test_free_port();
    REQUIRE(port > 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    o = opts_at(url, &t);
    c = mk(&o);
    REQUIRE(c != NULL);
    CHECK(etcd_get(c, "/hook/x", NULL) == NULL);
    CHECK_INT(etcd_errcode(c), ETCD_ECONNECT);
    CHECK_HAS(etcd_errstr(c), "connect: Connection refused");
    CHECK_HAS(etcd_errstr(c), url);
    etcd_free(c);
}

/* A call on a client over f must fail with code and a text holding want. */
static void check_call_fails(fx *f, etcd_err code, const char *want)
{
    etcd_transport t = fx_transport(f);
    etcd_opts o = opts_at(srv.url, &t);
    etcd *c = mk(&o);
    etcd_res *r;
    REQUIRE(c != NULL);
    r = etcd_get(c, "/hook/key", NULL);
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_INT(etcd_errcode(c), code);
    CHECK_HAS(etcd_errstr(c), want);
    etcd_free(c);
}

static void test_connect_errno(void)
{
    fx f;
    char want[128];
    fx_init(&f);
    f.connect_errno = ECONNREFUSED;
    snprintf(want, sizeof want, "connect: %s", strerror(ECONNREFUSED));
    check_call_fails(&f, ETCD_ECONNECT, want);
    CHECK_INT(f.connects, 1);
    fx_init(&f);
    f.connect_errno = EHOSTUNREACH;
    snprintf(want, sizeof want, "connect: %s", strerror(EHOSTUNREACH));
    check_call_fails(&f, ETCD_ECONNECT, want);
}

/* ETIMEDOUT is a timeout, at once (not at the deadline). */
static void test_connect_etimedout(void)
{
    fx f;
    double t0 = test_now();
    fx_init(&f);
    f.connect_errno = ETIMEDOUT;
    check_call_fails(&f, ETCD_ETIMEOUT, "timeout");
    CHECK_TIME(test_now() - t0, 0, 1.0);
}

/* A hook that sets no errno is said to have failed, not given an old one. */
static void test_no_errno(void)
{
    fx f;
    fx_init(&f);
    f.connect_errno = FX_NO_ERRNO;
    check_call_fails(&f, ETCD_ECONNECT, "connect: the transport failed");
    fx_init(&f);
    f.read_errno = FX_NO_ERRNO;
    f.body_after = 3;
    check_call_fails(&f, ETCD_ETRANSPORT, "read: the transport failed");
    fx_init(&f);
    f.write_errno = FX_NO_ERRNO;
    check_call_fails(&f, ETCD_ETRANSPORT, "write: the transport failed");
    fx_init(&f);
    f.wait_errno = FX_NO_ERRNO;
    check_call_fails(&f, ETCD_ETRANSPORT, "wait: the transport failed");
}

/* read -1 in the middle of the body (head and 3 body bytes read). */
static void test_read_fails_mid_body(void)
{
    fx f;
    char want[128];
    fx_init(&f);
    f.read_errno = ECONNRESET;
    f.body_after = 3;
    snprintf(want, sizeof want, "read: %s", strerror(ECONNRESET));
    check_call_fails(&f, ETCD_ETRANSPORT, want);
    CHECK(f.in_body);
    CHECK_INT(f.body_seen, 3);
    CHECK_INT(f.reads_failed, 1);             /* answer bytes came: not sent again */
}

static void test_write_fails(void)
{
    fx f;
    char want[128];
    fx_init(&f);
    f.write_errno = EPIPE;
    snprintf(want, sizeof want, "write: %s", strerror(EPIPE));
    check_call_fails(&f, ETCD_ETRANSPORT, want);
}

static void test_wait_fails(void)
{
    fx f;
    char want[128];
    fx_init(&f);
    f.wait_errno = EIO;
    snprintf(want, sizeof want, "wait: %s", strerror(EIO));
    check_call_fails(&f, ETCD_ETRANSPORT, want);
}

/* A wait that reaches the deadline: "timeout", at the client's timeout. */
static void test_wait_reaches_deadline(void)
{
    int port = 0, lfd = test_silent_listener(&port);
    char url[64];
    th_hook_ctx hc;
    etcd_transport t;
    etcd_opts o;
    etcd *c;
    long waits = th_hook.waits;
    double t0;
    REQUIRE(lfd >= 0);
    memset(&hc, 0, sizeof hc);
    hc.calm = 1;
    t = th_hook_make(&hc);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    o = opts_at(url, &t);
    o.timeout = 0.5;
    c = mk(&o);
    if (!c) close(lfd);
    REQUIRE(c != NULL);
    t0 = test_now();
    CHECK(etcd_get(c, "/hook/x", NULL) == NULL);
    CHECK_TIME(test_now() - t0, 0.45, 1.5);
    CHECK_INT(etcd_errcode(c), ETCD_ETIMEOUT);
    CHECK_HAS(etcd_errstr(c), "timeout");
    CHECK(th_hook.waits > waits);
    etcd_free(c);
    close(lfd);
}

/* ------------------------------------------------------------------------
   unix_socket_proxy: connect gets (path, 0), whether the file exists or not
   ------------------------------------------------------------------------ */

#define RANGE_BODY "{\"header\":{\"revision\":\"42\"},\"kvs\":[{\"key\":\"Zm9v\"," \
    "\"create_revision\":\"40\",\"mod_revision\":\"42\",\"version\":\"3\",\"value\":\"ODA4MA==\"}],\"count\":\"1\"}"

/* A unix socket server that answers one request with RANGE_BODY and
   keeps the request's head. */
typedef struct us {
    int lfd;
    char path[300];
    char head[2048];
    pthread_t th;
} us;

static void *us_main(void *p)
{
    us *u = (us *)p;
    struct pollfd pf;
    char resp[512];
    size_t len = 0;
    int fd, n;
    pf.fd = u->lfd;
    pf.events = POLLIN;
    if (poll(&pf, 1, 5000) != 1 || (fd = accept(u->lfd, NULL, NULL)) < 0) return NULL;
    while (len < sizeof u->head - 1 && !strstr(u->head, "\r\n\r\n")) {
        pf.fd = fd;
        if (poll(&pf, 1, 5000) != 1) break;
        n = (int)read(fd, u->head + len, sizeof u->head - 1 - len);
        if (n <= 0) break;
        len += (size_t)n;
        u->head[len] = '\0';
    }
    n = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 "Content-Length: %d\r\n\r\n%s", (int)strlen(RANGE_BODY), RANGE_BODY);
    if (write(fd, resp, (size_t)n) != n) fprintf(stderr, "  unix server: short write\n");
    close(fd);
    return NULL;
}

static bool us_start(us *u, const char *path)
{
    struct sockaddr_un sa;
    memset(u, 0, sizeof *u);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(u->path, sizeof u->path, "%s", path);
    if (strlen(path) >= sizeof sa.sun_path) return false;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if ((u->lfd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0) return false;
    if (bind(u->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(u->lfd, 4) != 0 ||
        pthread_create(&u->th, NULL, us_main, u) != 0) {
        close(u->lfd);
        unlink(path);
        return false;
    }
    return true;
}

static void us_stop(us *u)
{
    pthread_join(u->th, NULL);
    close(u->lfd);
    unlink(u->path);
}

static void test_unix_socket_proxy(void)
{
    char dir[] = "/tmp/etcdh-hook-XXXXXX", path[300], missing[300], proxy[320], want[128];
    fx f;
    etcd_transport t;
    etcd_opts o;
    etcd *c;
    etcd_res *r;
    us u;
    bool up;
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/etcd.sock", dir);
    snprintf(missing, sizeof missing, "%s/missing.sock", dir);
    up = us_start(&u, path);
    if (!up) rmdir(dir);
    REQUIRE(up);
    fx_init(&f);
    t = fx_transport(&f);
    o = opts_at("http://127.0.0.1:9", &t);            /* port 9: never dialled */
    snprintf(proxy, sizeof proxy, "unix:%s", path);
    o.unix_socket_proxy = proxy;
    c = mk(&o);
    if (c) {
        r = etcd_get(c, "foo", NULL);
        CHECK(r && r->status == 200 && r->nkvs == 1 && !strcmp(r->kvs[0].value, "8080"));
        if (!r) fprintf(stderr, "  etcd_get: %s\n", etcd_errstr(c));
        etcd_res_free(r);
        CHECK_STR(f.host, path);
        CHECK_INT(f.port, 0);
        CHECK_STR(th_hook.last_host, path);
        etcd_free(c);
    }
    CHECK(c != NULL);
    us_stop(&u);
    CHECK_HAS(u.head, "\r\nHost: 127.0.0.1:9\r\n");  /* Host still names the endpoint */
    /* a path with no socket: the transport gets it all the same (sockets
       would fall back to TCP), and says why it cannot connect */
    o.unix_socket_proxy = missing;
    c = mk(&o);
    if (c) {
        CHECK(etcd_get(c, "foo", NULL) == NULL);
        CHECK_STR(f.host, missing);
        CHECK_INT(f.port, 0);
        CHECK_INT(etcd_errcode(c), ETCD_ECONNECT);
        snprintf(want, sizeof want, "connect: %s", strerror(ENOENT));
        CHECK_HAS(etcd_errstr(c), want);
        etcd_free(c);
    }
    rmdir(dir);
}

/* ------------------------------------------------------------------------
   Watchers: the handle, the backoff
   ------------------------------------------------------------------------ */

/* etcd_watch_fd is the transport's handle; an event loop waits on it
   with the transport's own wait. */
static void test_watch_fd_is_the_handle(void)
{
    th_hook_ctx hc;
    etcd_transport t;
    etcd_opts o;
    etcd_watch_opts wo;
    etcd *c;
    etcd_watcher *w;
    etcd_res *r;
    int h;
    memset(&hc, 0, sizeof hc);
    t = th_hook_make(&hc);
    o = opts_at(srv.url, &t);
    c = mk(&o);
    REQUIRE(c != NULL);
    memset(&wo, 0, sizeof wo);
    wo.timeout = 5;
    w = etcd_watch(c, "/hook/wfd", &wo);
    if (!w) etcd_free(c);
    REQUIRE(w != NULL);
    r = etcd_watch_next(w);
    CHECK(r && r->created);
    etcd_res_free(r);
    h = etcd_watch_fd(w);
    CHECK_INT(h, th_hook.last_handle);
    CHECK(h >= TH_HOOK_BASE);
    CHECK(th_hook_fd(h) >= 0 && th_hook_fd(h) != h);
    CHECK(!etcd_watch_pending(w));
    CHECK_INT(th_hook_wait(&hc, h, ETCD_IO_READ, th_hook_now(&hc) + 0.2), 0);   /* quiet */
    CHECK(test_put(c, "/hook/wfd", "1") > 0);
    CHECK(etcd_watch_pending(w) || th_hook_wait(&hc, h, ETCD_IO_READ, th_hook_now(&hc) + 5) == 1);
    r = etcd_watch_next(w);
    CHECK(r != NULL && r->nevents == 1);
    if (r && r->nevents == 1) test_check_kv(&r->events[0].kv, "/hook/wfd", "1");
    etcd_res_free(r);
    CHECK_INT(etcd_watch_fd(w), h);
    etcd_watchcancel(w);
    CHECK(th_hook_fd(h) < 0);                         /* closed through the hook */
    etcd_free(c);
}

/* A broken stream that cannot be reopened yet: the watcher's backoff
   between tries sleeps in the transport's wait(-1, ...). */
static void test_watch_backoff_sleeps(void)
{
    fx f;
    etcd_transport t;
    etcd_opts o;
    etcd_watch_opts wo;
    etcd *c;
    etcd_watcher *w;
    etcd_res *r = NULL;
    long sleeps, connects;
    double secs, end;
    int64_t rev;
    fx_init(&f);
    t = fx_transport(&f);
    o = opts_at(srv.url, &t);
    o.max_fails = -1;                                 /* no health checks: retry at once */
    c = mk(&o);
    REQUIRE(c != NULL);
    memset(&wo, 0, sizeof wo);
    wo.timeout = 1.5;
    wo.auto_resume = true;
    w = etcd_watch(c, "/hook/backoff", &wo);
    if (!w) etcd_free(c);
    REQUIRE(w != NULL);
    r = etcd_watch_next(w);
    CHECK(r && r->created);
    etcd_res_free(r);
    CHECK_INT(etcd_watch_state(w, NULL), ETCD_WATCH_LIVE);

    f.eof_handle = etcd_watch_fd(w);                  /* the stream breaks ... */
    f.refuse = 1;                                     /* ... and cannot be reopened */
    sleeps = th_hook.sleeps;
    connects = f.connects;
    r = etcd_watch_next(w);
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_INT(etcd_watch_errcode(w), ETCD_ETIMEOUT);
    CHECK_INT(etcd_watch_state(w, &secs), ETCD_WATCH_OPENING);
    CHECK(f.connects - connects >= 3);
    CHECK(th_hook.sleeps - sleeps >= 2);
    printf("  %ld reopen tries, %ld sleeps in wait(-1) in 1.5 s\n", f.connects - connects, th_hook.sleeps - sleeps);

    f.refuse = 0;
    f.eof_handle = -1;
    rev = test_put(c, "/hook/backoff", "2");
    CHECK(rev > 0);
    r = NULL;
    end = test_now() + 10;
    while (!r && test_now() < end) {
        r = etcd_watch_next(w);
        if (!r && etcd_watch_errcode(w) != ETCD_ETIMEOUT) break;
        if (r && !r->nevents) { etcd_res_free(r); r = NULL; }
    }
    CHECK(r != NULL && r->nevents == 1);
    if (r && r->nevents == 1) {
        test_check_kv(&r->events[0].kv, "/hook/backoff", "2");
        CHECK_INT(r->events[0].kv.mod_revision, rev);
    }
    etcd_res_free(r);
    CHECK_INT(etcd_watch_state(w, NULL), ETCD_WATCH_LIVE);
    etcd_watchcancel(w);
    etcd_free(c);
}

/* ------------------------------------------------------------------------
   The clock: every deadline is on the transport's now()
   ------------------------------------------------------------------------ */

/* A request's timeout against a silent listener, with a clock of rate. */
static double timeout_takes(double rate, double timeout)
{
    int port = 0, lfd = test_silent_listener(&port);
    char url[64];
    th_hook_ctx hc;
    etcd_transport t;
    etcd_opts o;
    etcd *c;
    double t0, el = -1;
    if (lfd < 0) return -1;
    memset(&hc, 0, sizeof hc);
    hc.calm = 1;
    hc.rate = rate;
    t = th_hook_make(&hc);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    o = opts_at(url, &t);
    o.timeout = timeout;
    if ((c = mk(&o)) != NULL) {
        t0 = test_now();
        CHECK(etcd_get(c, "/hook/x", NULL) == NULL);
        el = test_now() - t0;
        CHECK_INT(etcd_errcode(c), ETCD_ETIMEOUT);
        etcd_free(c);
    }
    close(lfd);
    return el;
}

/* 10x fast: a 5 s timeout fires after 0.5 s; 4x slow: 0.25 s after 1 s. */
static void test_clock_rate(void)
{
    CHECK_TIME(timeout_takes(10, 5), 0.45, 1.2);
    CHECK_TIME(timeout_takes(0.25, 0.25), 0.95, 1.8);
}

/* etcd_watch_state's seconds, and the backoff's sleeps, are on now(). */
static void test_clock_watch_state(void)
{
    th_hook_ctx hc;
    etcd_transport t;
    etcd_opts o;
    etcd *c;
    etcd_watcher *w;
    etcd_res *r;
    double secs = 0;
    memset(&hc, 0, sizeof hc);
    hc.calm = 1;
    hc.rate = 10;
    t = th_hook_make(&hc);
    o = opts_at(srv.url, &t);
    c = mk(&o);
    REQUIRE(c != NULL);
    w = etcd_watch(c, "/hook/clock", NULL);
    if (!w) etcd_free(c);
    REQUIRE(w != NULL);
    r = etcd_watch_next(w);
    CHECK(r && r->created);
    etcd_res_free(r);
    sleep_s(0.3);
    CHECK_INT(etcd_watch_state(w, &secs), ETCD_WATCH_LIVE);
    CHECK(secs >= 2.9 && secs < 3 + 5 * t_time_scale());   /* 0.3 s real, 10x */
    if (!(secs >= 2.9 && secs < 3 + 5 * t_time_scale())) fprintf(stderr, "  LIVE for %.3f s\n", secs);
    etcd_watchcancel(w);
    etcd_free(c);
}

/* ------------------------------------------------------------------------
   TLS over the hook (ETCD_USE_OPENSSL) against a real TLS etcd
   ------------------------------------------------------------------------ */

static etcd_opts tls_opts(const etcd_transport *t)
{
    etcd_opts o = opts_at(srv_tls.url, t);
    o.ssl_ca_path = certs.ca;
    return o;
}

static void test_tls_over_hook(void)
{
    th_hook_ctx hc;
    etcd_transport t;
    etcd_opts o;
    etcd *c;
    etcd_watcher *w;
    etcd_res *r;
    long long in = th_hook.bytes_in;
    long conns = th_hook.connects;
    int i;
    memset(&hc, 0, sizeof hc);                        /* shaking */
    t = th_hook_make(&hc);
    o = tls_opts(&t);
    c = mk(&o);
    REQUIRE(c != NULL);
    CHECK(test_put(c, "/hook/tls", "\"a\"") > 0);
    CHECK_INT(th_hook.last_first_out, 0x16);          /* a TLS handshake record went out */
    w = etcd_watch(c, "/hook/tls", NULL);
    CHECK(w != NULL);
    if (w) {
        r = etcd_watch_next(w);
        CHECK(r && r->created);
        etcd_res_free(r);
        for (i = 0; i < 5; i++) CHECK(test_put(c, "/hook/tls", "\"b\"") > 0);
        for (i = 0; i < 5;) {
            r = etcd_watch_next(w);
            if (!r) break;
            i += (int)r->nevents;
            etcd_res_free(r);
        }
        CHECK_INT(i, 5);
        etcd_watchcancel(w);
    }
    r = test_ok200(c, etcd_get(c, "/hook/tls", NULL));
    CHECK(r && r->nkvs == 1 && !strcmp(r->kvs[0].value, "\"b\""));
    etcd_res_free(r);
    CHECK(th_hook.connects - conns == 2);             /* the client's and the watcher's */
    CHECK(th_hook.bytes_in - in > 2000);
    etcd_free(c);
    /* a wrong CA fails the handshake over the hook as over sockets */
    o.ssl_ca_path = certs.wrong_ca;
    c = mk(&o);
    REQUIRE(c != NULL);
    CHECK(etcd_get(c, "/hook/tls", NULL) == NULL);
    CHECK_INT(etcd_errcode(c), ETCD_ETLS);
    CHECK_HAS(etcd_errstr(c), "certificate verification failed");
    etcd_free(c);
}

/* A read that fails ends a watch (no auto_resume) with the transport's
   reason, over plain HTTP and over TLS; with no errno, "the transport
   failed" (etcd__io_fail's promise) in both. */
static void test_watch_read_fails(void)
{
    int k;
    for (k = 0; k < 4; k++) {             /* plain, TLS; each with ECONNRESET and without errno */
        bool tls = k >= 2, no_errno = k % 2 == 1;
        fx f;
        etcd_transport t;
        etcd_opts o;
        etcd *c;
        etcd_watcher *w;
        etcd_res *r;
        if (tls && !up_tls) break;
        fx_init(&f);
        t = fx_transport(&f);
        o = tls ? tls_opts(&t) : opts_at(srv.url, &t);
        c = mk(&o);
        REQUIRE(c != NULL);
        w = etcd_watch(c, "/hook/wfail", NULL);
        if (!w) etcd_free(c);
        REQUIRE(w != NULL);
        r = etcd_watch_next(w);
        CHECK(r && r->created);
        etcd_res_free(r);
        f.read_fail_handle = etcd_watch_fd(w);
        f.read_errno = no_errno ? FX_NO_ERRNO : ECONNRESET;
        r = etcd_watch_next(w);
        CHECK(r == NULL);
        etcd_res_free(r);
        CHECK(f.reads_failed >= 1);
        CHECK_INT(etcd_watch_errcode(w), ETCD_ETRANSPORT);
        CHECK_HAS(etcd_watch_errstr(w), no_errno ? "the transport failed" : strerror(ECONNRESET));
        printf("  %s read -1 %s: \"%s\"\n", tls ? "TLS" : "plain", no_errno ? "without errno" : "with ECONNRESET",
               etcd_watch_errstr(w));
        etcd_watchcancel(w);
        etcd_free(c);
    }
}

/* An idle TLS connection the server closed (etcd restarted) must not be
   reused: over sockets and over a transport alike. Here the transport's
   first read after wait() said readable says ETCD_IO_AGAIN, once (as a
   transport with spurious readiness may: select(2) BUGS). The plain
   HTTP stale check asks only wait(); the TLS one reads once (SSL_peek,
   to let TLS 1.3 session tickets through) and takes that AGAIN for "still
   open": the next write goes to the dead connection and the call fails
   with "server closed the connection before answering", not sent again
   since it was written. The same restart without the AGAIN, and over
   plain HTTP with it, pass. */
static void test_tls_idle_close_again_after_ready(void)
{
    int k;
    for (k = 0; k < 3; k++) {             /* plain with the AGAIN, TLS without, TLS with */
        test_etcd *s = k == 0 ? &srv : &srv_tls;
        fx f;
        etcd_transport t;
        etcd_opts o;
        etcd *c;
        bool up;
        fx_init(&f);
        t = fx_transport(&f);
        o = k == 0 ? opts_at(srv.url, &t) : tls_opts(&t);
        o.max_fails = 1000;
        c = mk(&o);
        REQUIRE(c != NULL);
        CHECK(test_put(c, "/hook/restart", "1") > 0);
        test_etcd_kill(s);
        up = test_etcd_restart(s) == 0;
        if (!up) etcd_free(c);
        REQUIRE(up);
        f.again_after_ready = k != 1;
        if (test_put(c, "/hook/restart", "2") <= 0) {
            fprintf(stderr, "  %s, %s the AGAIN after a ready wait: %s\n", k == 0 ? "plain HTTP" : "TLS",
                    f.agains ? "with" : "without", etcd_errstr(c));
            t__cur_failed = 1;
        }
        etcd_free(c);
    }
}

/* ------------------------------------------------------------------------ */

static void test_no_contract_violations(void)
{
#ifndef TEST_HOOK
    th_hook_report(stdout);                           /* (TEST_HOOK's summary prints it) */
#endif
    CHECK_INT(th_hook.bad, 0);
    if (th_hook.bad) fprintf(stderr, "  the first: %s\n", th_hook.bad_what);
    CHECK_INT(th_hook.open, 0);
}

static void test_setup(void)
{
    REQUIRE(test_etcd_start(&srv, NULL) == 0);
    REQUIRE(test_certs_make(&certs) == 0);
    up_tls = test_etcd_start_tls(&srv_tls, NULL, certs.ca, certs.server_cert, certs.server_key, false) == 0;
    CHECK(up_tls);
}

int main(void)
{
    RUN(test_setup);
    if (!srv.pid) return test_summary();
    RUN(test_refuses_incomplete_transport);
    RUN(test_null_transport_and_now);
    RUN(test_transport_copied);
    RUN(test_snapshot_save_refused);
    RUN(test_kv_over_shaking_hook);
    RUN(test_connect_refused);
    RUN(test_connect_errno);
    RUN(test_connect_etimedout);
    RUN(test_no_errno);
    RUN(test_read_fails_mid_body);
    RUN(test_write_fails);
    RUN(test_wait_fails);
    RUN(test_wait_reaches_deadline);
    RUN(test_unix_socket_proxy);
    RUN(test_watch_fd_is_the_handle);
    RUN(test_watch_backoff_sleeps);
    RUN(test_clock_rate);
    RUN(test_clock_watch_state);
    RUN(test_watch_read_fails);
    if (up_tls) {
        RUN(test_tls_over_hook);
        RUN(test_tls_idle_close_again_after_ready);
    }
    RUN(test_no_contract_violations);
    test_etcd_stop(&srv);
    test_etcd_stop(&srv_tls);
    test_certs_remove(&certs);
    return test_summary();
}
