/* test_tls.c - etcd.h over TLS against a real etcd, with either backend:
   OpenSSL (the default here) or mbedTLS (built with -DETCD_USE_MBEDTLS;
   mk/tlsbackends.mk builds it against mbedTLS 2.28 and 3.6).

   Three etcd members on 127.0.0.1: TLS, mutual TLS (--client-cert-auth)
   and plain HTTP for contrast, with a throwaway PKI made by the openssl CLI
   (tests/harness.h). A small OpenSSL server of our own (tests/tlsserver.h)
   records the SNI the client sends; it links OpenSSL into the mbedTLS
   build too (the two libraries share no symbol). Some checks are
   white-box (this file includes the implementation): the endpoint's
   keep-alive connection is cli->eps[i].conn, whose tls member is the
   backend's (an SSL *, or etcd.h's etcd__mbed), looked into only through
   tests/tlsbackend.h. */
#if !defined(ETCD_USE_MBEDTLS)
#define ETCD_USE_OPENSSL
#endif
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
#include "harness.h"
#include "tlsserver.h"
#include "tlsbackend.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static test_certs certs;
static test_etcd srv_tls, srv_mtls, srv_plain;
static bool up_tls, up_mtls, up_plain;
static etcd *g_tls;              /* srv_tls, verified with certs.ca */
static char missing_path[320], garbage_path[320];

#define VERSION_JSON "{\"etcdserver\":\"3.4.99\",\"etcdcluster\":\"3.4.0\"}"

/* ------------------------------------------------------------------------
   Helpers
   ------------------------------------------------------------------------ */

/* Options for an https endpoint verified with our CA. */
static etcd_opts tls_opts(const char *url)
{
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.http_host = url;
    o.ssl_ca_path = certs.ca;
    return o;
}



static void localhost_url(const test_etcd *s, char *buf, size_t n)
{
    snprintf(buf, n, "https://localhost:%d", s->port);
}

/* A get that must succeed (200). */
static bool get_ok(etcd *c, const char *key)
{
    etcd_res *r = test_ok200(c, etcd_get(c, key, NULL));
    bool ok = r != NULL;
    etcd_res_free(r);
    return ok;
}

/* A get that must fail: NULL; the reason is copied into err. */
static bool get_fails(etcd *c, const char *key, char *err, size_t n)
{
    etcd_res *r = etcd_get(c, key, NULL);
    snprintf(err, n, "%s", etcd_errstr(c));
    if (r) {
        fprintf(stderr, "  get %s unexpectedly gave status %d\n", key, r->status);
        etcd_res_free(r);
        return false;
    }
    return true;
}

/* The TLS state of endpoint i's keep-alive connection (NULL: none). */
static void *ep_tls(etcd *c, size_t i) { return c->eps[i].conn.tls; }

/* The socket under a watcher, for a poll() of the test's own (under
   tests/hook.h the handle is not the socket). */
static int watch_sock(etcd_watcher *w)
{
#ifdef TEST_HOOK
    return th_hook_fd(etcd_watch_fd(w));
#else
    return etcd_watch_fd(w);
#endif
}

/* A watch message may be buffered (in the client or inside the TLS
   backend) or arrive on the socket within ms. */
static bool watch_ready(etcd_watcher *w, int ms)
{
    struct pollfd p;
    if (etcd_watch_pending(w)) return true;
    p.fd = watch_sock(w);
    p.events = POLLIN;
    p.revents = 0;
    return poll(&p, 1, ms) > 0;
}

/* etcd_watch_pending must see what the TLS backend holds decrypted:
   otherwise a poll()-driven loop would sleep on a socket that has nothing
   more. */
static void check_pending_sees_tls(etcd_watcher *w)
{
    long n = tb_pending(&w->s.conn);
    if (n > 0 && !etcd_watch_pending(w)) {
        fprintf(stderr, "  the TLS backend holds %ld bytes but etcd_watch_pending is false\n", n);
        t__cur_failed = 1;
    }
}

/* A transport that counts the bytes a client reads, over the one it
   would use anyway: etcd.h's POSIX sockets, or tests/hook.h's under
   TEST_HOOK (mk/hook.mk). */
typedef struct byte_count { const etcd_transport *base; long in; } byte_count;

static long count_read(void *ctx, int conn, void *buf, size_t n)
{
    byte_count *b = (byte_count *)ctx;
    long r = b->base->read(b->base->ctx, conn, buf, n);
    if (r > 0) b->in += r;
    return r;
}

static long count_write(void *ctx, int conn, const void *buf, size_t n)
{
    byte_count *b = (byte_count *)ctx;
    return b->base->write(b->base->ctx, conn, buf, n);
}

static int count_wait(void *ctx, int conn, int events, double deadline)
{
    byte_count *b = (byte_count *)ctx;
    return b->base->wait(b->base->ctx, conn, events, deadline);
}

static void count_close(void *ctx, int conn)
{
    byte_count *b = (byte_count *)ctx;
    b->base->close(b->base->ctx, conn);
}

static double count_now(void *ctx)
{
    byte_count *b = (byte_count *)ctx;
    return b->base->now(b->base->ctx);
}

static int count_connect(void *ctx, const char *host, int port, double deadline)
{
    byte_count *b = (byte_count *)ctx;
    if (b->base->connect) return b->base->connect(b->base->ctx, host, port, deadline);
#ifndef ETCD_NO_SOCKETS
    {   /* etcd.h's sockets: their connect is etcd__sock_open */
        char p[16];
        etcd__error e;
        snprintf(p, sizeof p, "%d", port);
        return etcd__sock_open(NULL, host, p, deadline, &e);
    }
#else
    return -1;
#endif
}

static etcd_transport count_tr(byte_count *n)
{
    etcd_transport t;
#ifdef TEST_HOOK
    n->base = &th_hook_transport;
#elif !defined(ETCD_NO_SOCKETS)
    n->base = &etcd__sockets;
#else
#error "test_tls.c: with ETCD_NO_SOCKETS, build with TEST_HOOK (tests/hook.h's transport)"
#endif
    t.ctx = n;
    t.connect = count_connect;
    t.read = count_read;
    t.write = count_write;
    t.wait = count_wait;
    t.close = count_close;
    t.now = count_now;
    return t;
}

/* The size of the first certificate of a PEM file in DER, or -1. */
static long pem_der_len(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[256];
    long b64 = 0, pad = 0;
    int in = 0;
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        const char *p;
        if (!strncmp(line, "-----BEGIN CERTIFICATE-----", 27)) { in = 1; continue; }
        if (!strncmp(line, "-----END CERTIFICATE-----", 25)) break;
        if (!in) continue;
        for (p = line; *p; p++) {
            if (*p == '=') pad++;
            else if (*p != '\n' && *p != '\r') b64++;
        }
    }
    fclose(f);
    return in && b64 ? (b64 + pad) / 4 * 3 - pad : -1;
}

/* ------------------------------------------------------------------------
   Setup
   ------------------------------------------------------------------------ */

static void test_setup(void)
{
    FILE *f;
    REQUIRE(test_certs_make(&certs) == 0);
    snprintf(missing_path, sizeof missing_path, "%s/missing.pem", certs.dir);
    snprintf(garbage_path, sizeof garbage_path, "%s/garbage.pem", certs.dir);
    f = fopen(garbage_path, "w");
    REQUIRE(f != NULL);
    fputs("-----BEGIN CERTIFICATE-----\nthis is not base64 at all\n-----END CERTIFICATE-----\n", f);
    fclose(f);

    up_tls = test_etcd_start_tls(&srv_tls, NULL, certs.ca, certs.server_cert,
                                 certs.server_key, false) == 0;
    up_mtls = test_etcd_start_tls(&srv_mtls, NULL, certs.ca, certs.server_cert,
                                  certs.server_key, true) == 0;
    up_plain = test_etcd_start(&srv_plain, NULL) == 0;
    CHECK(up_tls);
    CHECK(up_mtls);
    CHECK(up_plain);
    fprintf(stderr, "  (TLS backend: %s)\n", tb_backend());
    TB_WORDS_CHECK();
    CHECK_PREFIX(srv_tls.url, "https://127.0.0.1:");
    CHECK_PREFIX(srv_mtls.url, "https://127.0.0.1:");
    CHECK_PREFIX(srv_plain.url, "http://127.0.0.1:");
    if (up_tls) {
        g_tls = test_client(&srv_tls, NULL);
        CHECK(g_tls != NULL);
    }
}

/* ------------------------------------------------------------------------
   Every call over TLS
   ------------------------------------------------------------------------ */

static void test_kv_over_tls(void)
{
    etcd *c = g_tls;
    etcd_res *r;
    char out[256];
    const char *const ctl_get[] = { "get", "/tls/kv/a", "--print-value-only", NULL };

    r = test_ok200(c, etcd_set(c, "/tls/kv/a", "\"alpha\"", NULL));
    REQUIRE(r != NULL);
    CHECK(r->revision > 0);
    etcd_res_free(r);

    r = test_ok200(c, etcd_get(c, "/tls/kv/a", NULL));
    REQUIRE(r != NULL);
    CHECK_INT(r->nkvs, 1);
    if (r->nkvs == 1) test_check_kv(&r->kvs[0], "/tls/kv/a", "\"alpha\"");
    etcd_res_free(r);

    /* what etcd.h wrote over TLS, etcdctl reads over TLS */
    CHECK_INT(test_etcdctl(&srv_tls, out, sizeof out, ctl_get), 0);
    CHECK_HAS(out, "\"alpha\"");

    r = test_ok200(c, etcd_setnx(c, "/tls/kv/a", "\"other\"", NULL));
    REQUIRE(r != NULL);
    CHECK(!r->succeeded);
    etcd_res_free(r);
    r = test_ok200(c, etcd_setnx(c, "/tls/kv/b", "2", NULL));
    REQUIRE(r != NULL);
    CHECK(r->succeeded);
    etcd_res_free(r);

    r = test_ok200(c, etcd_setx(c, "/tls/kv/none", "3", NULL));
    REQUIRE(r != NULL);
    CHECK(!r->succeeded);
    etcd_res_free(r);
    r = test_ok200(c, etcd_setx(c, "/tls/kv/a", "{\"x\":1}", NULL));
    REQUIRE(r != NULL);
    CHECK(r->succeeded);
    etcd_res_free(r);

    r = test_ok200(c, etcd_readdir(c, "/tls/kv/", NULL));
    REQUIRE(r != NULL);
    CHECK_INT(r->nkvs, 2);
    if (r->nkvs == 2) {
        test_check_kv(&r->kvs[0], "/tls/kv/a", "{\"x\":1}");
        test_check_kv(&r->kvs[1], "/tls/kv/b", "2");
    }
    etcd_res_free(r);

    r = test_ok200(c, etcd_delete(c, "/tls/kv/b", NULL));
    REQUIRE(r != NULL);
    CHECK_INT(r->deleted, 1);
    etcd_res_free(r);

    CHECK(test_put(c, "/tls/kv/sub/c", "true") > 0);
    r = test_ok200(c, etcd_rmdir(c, "/tls/kv/", NULL));
    REQUIRE(r != NULL);
    CHECK_INT(r->deleted, 2);
    etcd_res_free(r);

    r = test_ok200(c, etcd_readdir(c, "/tls/kv/", NULL));
    REQUIRE(r != NULL);
    CHECK_INT(r->nkvs, 0);
    etcd_res_free(r);
}

static void test_txn_over_tls(void)
{
    etcd *c = g_tls;
    etcd_compare cmp;
    etcd_op ok[2], fail[1];
    etcd_res *r;

    memset(&cmp, 0, sizeof cmp);
    cmp.result = ETCD_CMP_EQUAL;
    cmp.target = ETCD_CMP_VERSION;
    cmp.key = "/tls/txn/k";
    cmp.version = 0;
    memset(ok, 0, sizeof ok);
    ok[0].type = ETCD_OP_PUT;
    ok[0].key = "/tls/txn/k";
    ok[0].value = "\"first\"";
    ok[1].type = ETCD_OP_RANGE;
    ok[1].key = "/tls/txn/k";
    memset(fail, 0, sizeof fail);
    fail[0].type = ETCD_OP_RANGE;
    fail[0].key = "/tls/txn/k";

    r = test_ok200(c, etcd_txn(c, &cmp, 1, ok, 2, fail, 1, NULL));
    REQUIRE(r != NULL);
    CHECK(r->succeeded);
    CHECK_INT(r->nresponses, 2);
    if (r->nresponses == 2 && r->responses[1].nkvs == 1)
        test_check_kv(&r->responses[1].kvs[0], "/tls/txn/k", "\"first\"");
    else
        CHECK(0);
    etcd_res_free(r);

    r = test_ok200(c, etcd_txn(c, &cmp, 1, ok, 2, fail, 1, NULL));
    REQUIRE(r != NULL);
    CHECK(!r->succeeded);
    CHECK_INT(r->nresponses, 1);
    if (r->nresponses == 1 && r->responses[0].nkvs == 1)
        test_check_kv(&r->responses[0].kvs[0], "/tls/txn/k", "\"first\"");
    else
        CHECK(0);
    etcd_res_free(r);
}

static void test_leases_over_tls(void)
{
    etcd *c = g_tls;
    etcd_set_opts so;
    etcd_res *r;
    int64_t id;
    size_t i;
    bool found = false;

    r = test_ok200(c, etcd_grant(c, 60, 0));
    REQUIRE(r != NULL);
    id = r->id;
    CHECK(id != 0);
    CHECK_INT(r->ttl, 60);
    etcd_res_free(r);

    memset(&so, 0, sizeof so);
    so.lease = id;
    r = test_ok200(c, etcd_set(c, "/tls/lease/k", "1", &so));
    CHECK(r != NULL);
    etcd_res_free(r);

    r = test_ok200(c, etcd_keepalive(c, id));
    REQUIRE(r != NULL);
    CHECK(r->ttl > 0 && r->ttl <= 60);
    etcd_res_free(r);

    r = test_ok200(c, etcd_timetolive(c, id, true));
    REQUIRE(r != NULL);
    CHECK_INT(r->granted_ttl, 60);
    CHECK(r->ttl > 0 && r->ttl <= 60);
    CHECK_INT(r->nkeys, 1);
    if (r->nkeys == 1) CHECK_MEM(r->keys[0].ptr, r->keys[0].len, "/tls/lease/k", strlen("/tls/lease/k"));
    etcd_res_free(r);

    r = test_ok200(c, etcd_leases(c));
    REQUIRE(r != NULL);
    for (i = 0; i < r->nleases; i++) if (r->leases[i] == id) found = true;
    CHECK(found);
    etcd_res_free(r);

    r = test_ok200(c, etcd_revoke(c, id));
    CHECK(r != NULL);
    etcd_res_free(r);

    r = test_ok200(c, etcd_get(c, "/tls/lease/k", NULL));
    REQUIRE(r != NULL);
    CHECK_INT(r->nkvs, 0);                 /* the revoked lease took its key */
    etcd_res_free(r);

    r = test_ok200(c, etcd_keepalive(c, id));
    REQUIRE(r != NULL);
    CHECK_INT(r->ttl, 0);
    etcd_res_free(r);
}

static void test_version_and_request_over_tls(void)
{
    etcd *c = g_tls;
    etcd_res *r = test_ok200(c, etcd_version(c));
    REQUIRE(r != NULL);
    CHECK_PREFIX(r->etcdserver, "3.");
    CHECK(r->etcdcluster != NULL);
    etcd_res_free(r);

    r = test_ok200(c, etcd_request(c, "/maintenance/status", "{}", 0));
    REQUIRE(r != NULL);
    CHECK_HAS(r->body, "\"version\"");
    CHECK(r->member_id != 0);
    etcd_res_free(r);

    r = test_ok200(c, etcd_request(c, "/cluster/member/list", NULL, 0));
    REQUIRE(r != NULL);
    CHECK_HAS(r->body, srv_tls.url);       /* the member advertises its https URL */
    etcd_res_free(r);
}

/* No api_prefix: the GET /version probe runs over TLS, on the same
   keep-alive connection as the call that needed it. */
static void test_api_prefix_detection_over_tls(void)
{
    etcd_opts o = tls_opts(srv_tls.url);
    etcd *c = t_client(&o);
    REQUIRE(c != NULL);
    CHECK_STR(c->prefix, "");
    CHECK(get_ok(c, "/tls/prefix"));
    CHECK_STR(c->prefix, "/v3");
    CHECK(ep_tls(c, 0) != NULL);
    CHECK_INT(c->eps[0].conn.requests, 2);
    etcd_free(c);
}

static void test_watch_over_tls(void)
{
    const char *k = "/tls/watch/k";
    etcd_watch_opts wo;
    etcd_watcher *w;
    etcd_res *r;
    int64_t rev;
    double t0;

    memset(&wo, 0, sizeof wo);
    wo.timeout = 0.3;
    w = etcd_watch(g_tls, k, &wo);
    REQUIRE(w != NULL);
    CHECK(w->s.conn.tls != NULL);
    CHECK(w->s.conn.tls != g_tls->eps[0].conn.tls);   /* its own connection */
    r = etcd_watch_next(w);
    CHECK(r != NULL && r->created);
    etcd_res_free(r);

    /* nothing happens: "timeout", and the stream stays usable */
    t0 = test_now();
    r = etcd_watch_next(w);
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_STR(etcd_watch_errstr(w), "timeout");
    CHECK(test_now() - t0 >= 0.25 && test_now() - t0 < 1.5);
    CHECK(!etcd_watch_pending(w));

    /* the client stays usable while the watch is open */
    rev = test_put(g_tls, k, "\"v1\"");
    CHECK(watch_ready(w, 5000));
    r = etcd_watch_next(w);
    REQUIRE(r != NULL);
    CHECK_INT(r->nevents, 1);
    if (r->nevents == 1) {
        CHECK_INT(r->events[0].type, ETCD_EVENT_PUT);
        test_check_kv(&r->events[0].kv, k, "\"v1\"");
        CHECK_INT(r->events[0].kv.mod_revision, rev);
    }
    etcd_res_free(r);
    check_pending_sees_tls(w);

    rev = -1;
    r = etcd_delete(g_tls, k, NULL);
    CHECK(r != NULL);
    if (r) rev = r->revision;
    etcd_res_free(r);
    CHECK(watch_ready(w, 5000));
    r = etcd_watch_next(w);
    REQUIRE(r != NULL);
    CHECK_INT(r->nevents, 1);
    if (r->nevents == 1) {
        CHECK_INT(r->events[0].type, ETCD_EVENT_DELETE);
        CHECK_INT(r->events[0].kv.mod_revision, rev);
    }
    etcd_res_free(r);
    CHECK_INT(etcd_watchcancel(w), 0);
}

/* Bytes that the TLS backend has read off the socket and holds decrypted
   (here put there by tb_fill: an SSL_peek of OpenSSL, a read of 0 bytes
   of mbedTLS, as a partial read would) are reported by
   etcd_watch_pending, though poll() on the fd sees nothing. */
static void test_watch_pending_sees_tls_buffer(void)
{
    const char *k = "/tls/watchpend/k";
    etcd_watch_opts wo;
    etcd_watcher *w;
    etcd_res *r;
    struct pollfd p;
    etcd__conn *conn;
    int i;

    memset(&wo, 0, sizeof wo);
    wo.timeout = 3;
    w = etcd_watch(g_tls, k, &wo);
    REQUIRE(w != NULL);
    r = etcd_watch_next(w);
    CHECK(r != NULL && r->created);
    etcd_res_free(r);
    conn = &w->s.conn;
    if (!conn->tls) etcd_watchcancel(w);
    REQUIRE(conn->tls != NULL);
    CHECK(!etcd_watch_pending(w));
    CHECK_INT(tb_pending(conn), 0);

    CHECK(test_put(g_tls, k, "\"peeked\"") > 0);
    for (i = 0; i < 50 && tb_pending(conn) <= 0; i++) {
        p.fd = watch_sock(w);
        p.events = POLLIN;
        p.revents = 0;
        if (poll(&p, 1, 100) <= 0) continue;
        CHECK(tb_fill(conn) >= 0);
    }
    CHECK(tb_pending(conn) > 0);
    p.fd = watch_sock(w);
    p.events = POLLIN;
    p.revents = 0;
    if (tb_pending(conn) > 0 && poll(&p, 1, 0) == 0)
        CHECK(etcd_watch_pending(w));        /* the case that matters: the socket is dry */
    else
        fprintf(stderr, "  (the socket was not dry: %ld bytes held, more to read)\n", tb_pending(conn));
    CHECK(etcd_watch_pending(w));
    r = etcd_watch_next(w);
    CHECK(r != NULL && r->nevents == 1);
    if (r && r->nevents == 1) test_check_kv(&r->events[0].kv, k, "\"peeked\"");
    etcd_res_free(r);
    CHECK_INT(etcd_watchcancel(w), 0);
}

/* A poll()-driven reader gets every event, small ones and values that span
   several TLS records: what the TLS backend holds decrypted shows in
   etcd_watch_pending, so the loop never sleeps on data it already has. */
static void test_watch_poll_loop_over_tls(void)
{
    enum { N = 24, BIG = 40000 };
    const char *k = "/tls/watchpoll/k";
    etcd_watch_opts wo;
    etcd_watcher *w;
    etcd_res *r;
    char *big = (char *)malloc(BIG + 3);
    int i, got = 0, bigs = 0, timeouts = 0;

    REQUIRE(big != NULL);
    big[0] = '"';
    memset(big + 1, 'x', BIG);
    big[BIG + 1] = '"';
    big[BIG + 2] = '\0';

    memset(&wo, 0, sizeof wo);
    wo.timeout = 0.3;
    w = etcd_watch(g_tls, k, &wo);
    if (!w) free(big);
    REQUIRE(w != NULL);
    r = etcd_watch_next(w);
    CHECK(r != NULL && r->created);
    etcd_res_free(r);

    for (i = 0; i < N; i++) {
        etcd_res *p = test_ok200(g_tls, etcd_set(g_tls, k, i % 3 == 1 ? big : "1", NULL));
        CHECK(p != NULL);
        etcd_res_free(p);
    }
    free(big);

    while (got < N) {
        size_t j;
        if (!watch_ready(w, 3000)) break;       /* a lost wake-up ends the loop short */
        r = etcd_watch_next(w);
        if (!r) {
            if (strcmp(etcd_watch_errstr(w), "timeout") != 0 || ++timeouts > 20) break;
            continue;
        }
        for (j = 0; j < r->nevents; j++)
            if (r->events[j].kv.value_len == BIG + 2) bigs++;
        got += (int)r->nevents;
        etcd_res_free(r);
        check_pending_sees_tls(w);
    }
    CHECK_INT(got, N);
    CHECK_INT(bigs, N / 3);
    CHECK_INT(etcd_watchcancel(w), 0);
}

/* ------------------------------------------------------------------------
   Verification
   ------------------------------------------------------------------------ */

static void test_verify_with_right_ca(void)
{
    etcd_opts o = tls_opts(srv_tls.url);
    etcd *c = t_client(&o);
    REQUIRE(c != NULL);
    CHECK(get_ok(c, "/tls/verify"));
    CHECK(ep_tls(c, 0) != NULL);
    CHECK(tb_verified(&c->eps[0].conn));
    etcd_free(c);
}

static void test_verify_fails_with_wrong_ca(void)
{
    etcd_opts o = tls_opts(srv_tls.url);
    char err[256];
    etcd *c;
    double t0;
    o.ssl_ca_path = certs.wrong_ca;
    o.api_prefix = "/v3";
    c = t_client(&o);
    REQUIRE(c != NULL);
    t0 = test_now();
    CHECK(get_fails(c, "/tls/verify", err, sizeof err));
    CHECK(test_now() - t0 < 2.0);
    CHECK_HAS(err, "certificate verif");
    CHECK_ANY(err, "unable to get local issuer certificate|unable to get issuer certificate|"
                   "self-signed certificate in certificate chain|"
                   "self signed certificate in certificate chain");
    CHECK_HAS(err, TB_UNTRUSTED);
    CHECK_PREFIX(err, srv_tls.url);
    etcd_free(c);
}

/* No ssl_ca_path: the system store, which does not know our CA. */
static void test_verify_fails_with_system_store(void)
{
    etcd_opts o = tls_opts(srv_tls.url);
    char err[256];
    etcd *c;
    o.ssl_ca_path = NULL;
    o.api_prefix = "/v3";
    c = t_client(&o);
    REQUIRE(c != NULL);
    CHECK(get_fails(c, "/tls/verify", err, sizeof err));
    CHECK_HAS(err, "certificate verif");
    CHECK_HAS(err, TB_UNTRUSTED);
    CHECK_PREFIX(err, srv_tls.url);
    etcd_free(c);
}

static void test_skip_verify(void)
{
    etcd_opts o = tls_opts(srv_tls.url);
    etcd *c;
    o.ssl_ca_path = NULL;               /* nothing to verify with ... */
    o.ssl_skip_verify = true;           /* ... and nothing verified */
    c = t_client(&o);
    REQUIRE(c != NULL);
    CHECK(get_ok(c, "/tls/skip"));
    etcd_free(c);

    o.ssl_ca_path = certs.wrong_ca;     /* a CA that would fail */
    c = t_client(&o);
    REQUIRE(c != NULL);
    CHECK(get_ok(c, "/tls/skip"));
    etcd_free(c);
}

/* The DNS SAN: https://localhost works. */
static void test_hostname_localhost(void)
{
    char url[64];
    etcd_opts o;
    etcd *c;
    localhost_url(&srv_tls, url, sizeof url);
    o = tls_opts(url);
    c = t_client(&o);
    REQUIRE(c != NULL);
    CHECK(get_ok(c, "/tls/host"));
    etcd_free(c);
}

/* A name not in the SAN (and the CN is not a name): "hostname mismatch";
   the same with ssl_skip_verify works. */
static void test_hostname_mismatch(void)
{
    static const char *const bad[] = { "not-in-san.example", "etcd-test-server" };
    char err[256];
    size_t i;
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
        etcd_opts o = tls_opts(srv_tls.url);
        etcd *c;
        o.sni = bad[i];
        o.api_prefix = "/v3";
        c = t_client(&o);
        REQUIRE(c != NULL);
        CHECK(get_fails(c, "/tls/host", err, sizeof err));
        CHECK_HAS(err, "certificate verif");
        CHECK_HAS(err, TB_HOSTNAME_MISMATCH);
        CHECK_PREFIX(err, srv_tls.url);
        etcd_free(c);

        o.ssl_skip_verify = true;
        c = t_client(&o);
        REQUIRE(c != NULL);
        CHECK(get_ok(c, "/tls/host"));
        etcd_free(c);
    }
}

/* sni is what the certificate is verified against. */
static void test_sni_is_verified_name(void)
{
    char url[64], err[256];
    etcd_opts o = tls_opts(srv_tls.url);
    etcd *c;

    o.sni = "localhost";                 /* https://127.0.0.1, checked as localhost */
    c = t_client(&o);
    REQUIRE(c != NULL);
    CHECK(get_ok(c, "/tls/sni"));
    etcd_free(c);

    o.sni = "127.0.0.2";                 /* an IP literal is checked as an IP */
    o.api_prefix = "/v3";
    c = t_client(&o);
    REQUIRE(c != NULL);
    CHECK(get_fails(c, "/tls/sni", err, sizeof err));
    CHECK_HAS(err, "certificate verif");
    CHECK_HAS(err, TB_IP_MISMATCH);
    etcd_free(c);

    localhost_url(&srv_tls, url, sizeof url);
    o = tls_opts(url);
    o.sni = "127.0.0.1";                 /* https://localhost, checked as the IP */
    c = t_client(&o);
    REQUIRE(c != NULL);
    CHECK(get_ok(c, "/tls/sni"));
    etcd_free(c);
}

/* ------------------------------------------------------------------------
   SNI on the wire (our own TLS server)
   ------------------------------------------------------------------------ */

/* One etcd_version against ts with o; the SNI record of the connection it
   made (the newest). Returns whether the servername callback ran. */
static int sni_of_call(tls_server *ts, etcd_opts *o, int *has, char *name, size_t n)
{
    etcd *c;
    etcd_res *r;
    int before = tlssrv_count(ts, NULL, NULL), after;
    *has = -1;
    name[0] = '\0';
    o->api_prefix = "/v3";
    o->timeout = 3;
    c = t_client(o);
    if (!c) return 0;
    r = test_ok200(c, etcd_version(c));
    CHECK(r != NULL);
    if (r) CHECK_STR(r->etcdserver, "3.4.99");
    etcd_res_free(r);
    etcd_free(c);
    after = tlssrv_count(ts, NULL, NULL);
    CHECK_INT(after, before + 1);
    return tlssrv_sni(ts, after - 1, has, name, n);
}

static void test_sni_sent(void)
{
    tls_server ts;
    char url[64], ipurl[64], name[256], head[4096], host[64];
    etcd_opts o;
    int has;

    REQUIRE(tlssrv_start(&ts, certs.server_cert, certs.server_key, TLSSRV_ANSWER, VERSION_JSON) == 0);
    snprintf(url, sizeof url, "https://localhost:%d", ts.port);
    snprintf(ipurl, sizeof ipurl, "https://127.0.0.1:%d", ts.port);

    /* default: the endpoint's host name */
    o = tls_opts(url);
    CHECK(sni_of_call(&ts, &o, &has, name, sizeof name));
    CHECK_INT(has, 1);
    CHECK_STR(name, "localhost");

    /* opts.sni is sent instead; the Host header still names the endpoint */
    o = tls_opts(ipurl);
    o.ssl_ca_path = NULL;
    o.ssl_skip_verify = true;
    o.sni = "custom.example";
    CHECK(sni_of_call(&ts, &o, &has, name, sizeof name));
    CHECK_INT(has, 1);
    CHECK_STR(name, "custom.example");
    tlssrv_head(&ts, head, sizeof head);
    snprintf(host, sizeof host, "\r\nHost: 127.0.0.1:%d\r\n", ts.port);
    CHECK_HAS(head, host);
    CHECK_HAS(head, "GET /version HTTP/1.1");

    /* an IP literal endpoint: no SNI at all (RFC 6066) */
    o = tls_opts(ipurl);
    CHECK(sni_of_call(&ts, &o, &has, name, sizeof name));
    CHECK_INT(has, 0);
    CHECK_STR(name, "");

    /* nor an IP literal given as sni */
    o = tls_opts(url);
    o.sni = "127.0.0.1";
    CHECK(sni_of_call(&ts, &o, &has, name, sizeof name));
    CHECK_INT(has, 0);

    /* sni with verification on: verified against the sni, and sent */
    o = tls_opts(ipurl);
    o.sni = "localhost";
    CHECK(sni_of_call(&ts, &o, &has, name, sizeof name));
    CHECK_INT(has, 1);
    CHECK_STR(name, "localhost");

    tlssrv_stop(&ts);
}

/* ------------------------------------------------------------------------
   Mutual TLS and the files behind it
   ------------------------------------------------------------------------ */

static void test_mtls_with_client_cert(void)
{
    etcd_opts o = tls_opts(srv_mtls.url);
    etcd_watch_opts wo;
    etcd_watcher *w;
    etcd_res *r;
    etcd *c;
    o.ssl_cert_path = certs.client_cert;
    o.ssl_key_path = certs.client_key;
    c = t_client(&o);
    REQUIRE(c != NULL);
    CHECK(test_put(c, "/tls/mtls/k", "\"m\"") > 0);
    r = test_ok200(c, etcd_get(c, "/tls/mtls/k", NULL));
    CHECK(r != NULL && r->nkvs == 1);
    if (r && r->nkvs == 1) test_check_kv(&r->kvs[0], "/tls/mtls/k", "\"m\"");
    etcd_res_free(r);

    memset(&wo, 0, sizeof wo);
    wo.timeout = 3;
    w = etcd_watch(c, "/tls/mtls/k", &wo);
    REQUIRE(w != NULL);
    r = etcd_watch_next(w);
    CHECK(r != NULL && r->created);
    etcd_res_free(r);
    CHECK(test_put(c, "/tls/mtls/k", "\"n\"") > 0);
    r = etcd_watch_next(w);
    CHECK(r != NULL && r->nevents == 1);
    if (r && r->nevents == 1) test_check_kv(&r->events[0].kv, "/tls/mtls/k", "\"n\"");
    etcd_res_free(r);
    CHECK_INT(etcd_watchcancel(w), 0);
    etcd_free(c);
}

static void test_mtls_without_client_cert(void)
{
    etcd_opts o = tls_opts(srv_mtls.url);
    char err[256];
    etcd *c;
    double t0;
    o.api_prefix = "/v3";
    o.timeout = 3;
    c = t_client(&o);
    REQUIRE(c != NULL);
    t0 = test_now();
    CHECK(get_fails(c, "/tls/mtls/k", err, sizeof err));
    CHECK(test_now() - t0 < 2.5);
    CHECK(err[0] != '\0');
    CHECK(strcmp(err, "timeout") != 0);
    CHECK_ANY(err, "TLS|SSL|certificate|handshake|alert");
    CHECK_PREFIX(err, srv_mtls.url);
    fprintf(stderr, "  (without a client certificate: %s)\n", err);
    etcd_free(c);
}

/* etcd_new reads the files: each bad one is refused, naming it. */
static void test_bad_files_refused(void)
{
    etcd_opts o;
    char err[256];
    etcd *c;

    /* the good combination, for contrast */
    o = tls_opts(srv_mtls.url);
    o.ssl_cert_path = certs.client_cert;
    o.ssl_key_path = certs.client_key;
    c = t_client(&o);
    CHECK(c != NULL);
    etcd_free(c);

    /* a certificate and a key that do not match: both named */
    o.ssl_key_path = certs.other_key;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, certs.client_cert);
    CHECK_HAS(err, certs.other_key);

    /* unreadable (missing) files */
    o = tls_opts(srv_mtls.url);
    o.ssl_cert_path = missing_path;
    o.ssl_key_path = certs.client_key;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, missing_path);

    o.ssl_cert_path = certs.client_cert;
    o.ssl_key_path = missing_path;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, missing_path);

    o = tls_opts(srv_mtls.url);
    o.ssl_ca_path = missing_path;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, missing_path);

    /* files that are not PEM certificates / keys */
    o = tls_opts(srv_mtls.url);
    o.ssl_cert_path = garbage_path;
    o.ssl_key_path = certs.client_key;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, garbage_path);

    o.ssl_cert_path = certs.client_cert;
    o.ssl_key_path = garbage_path;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, garbage_path);

    o = tls_opts(srv_mtls.url);
    o.ssl_ca_path = garbage_path;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, garbage_path);

    o.ssl_ca_path = certs.client_key;    /* a key where the CA file belongs */
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, certs.client_key);

    /* only one of cert/key */
    o = tls_opts(srv_mtls.url);
    o.ssl_cert_path = certs.client_cert;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_ANY(err, "ssl_key_path");
    CHECK(err[0] != '\0');

    o = tls_opts(srv_mtls.url);
    o.ssl_key_path = certs.client_key;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_ANY(err, "ssl_cert_path");
}

/* ------------------------------------------------------------------------
   Connections: session reuse, keep-alive, timeouts, wrong peers
   ------------------------------------------------------------------------ */

/* Each reconnect resumes the endpoint's session. The measure is the same
   for both backends: a resumed handshake leaves out the server's
   certificate (and its signature), so a reconnect + get reads at least
   the certificate's DER size fewer bytes off the socket than the first
   connection's full handshake + the same get. Where the backend says so
   itself (OpenSSL's SSL_session_reused) that is checked too. */
static void test_session_reuse(void)
{
    etcd_opts o = tls_opts(srv_tls.url);
    byte_count n = { NULL, 0 };
    etcd_transport tr = count_tr(&n);
    long der = pem_der_len(certs.server_cert), full, most = 0, least = -1;
    etcd *c;
    int i;
    REQUIRE(der > 100);
    o.api_prefix = "/v3";
    o.transport = &tr;
    c = t_client(&o);
    REQUIRE(c != NULL);
    REQUIRE(get_ok(c, "/tls/sess"));
    full = n.in;
    REQUIRE(ep_tls(c, 0) != NULL);
    CHECK(tb_session_reused(&c->eps[0].conn) <= 0);   /* the first handshake is a full one */
    for (i = 0; i < 3; i++) {
        long got;
        etcd__conn_close(&c->eps[0].conn);
        CHECK(c->eps[0].conn.fd < 0);
        n.in = 0;
        CHECK(get_ok(c, "/tls/sess"));
        got = n.in;
        CHECK(ep_tls(c, 0) != NULL);
        if (ep_tls(c, 0)) CHECK(tb_session_reused(&c->eps[0].conn) != 0);   /* 1, or -1: cannot tell */
        if (full - got < der) {
            fprintf(stderr, "  reconnect %d read %ld bytes, the full handshake %ld: not %ld (the certificate) fewer\n",
                    i + 1, got, full, der);
            t__cur_failed = 1;
        }
        if (got > most) most = got;
        if (least < 0 || got < least) least = got;
    }
    fprintf(stderr, "  (%s: handshake + get read %ld bytes full, %ld..%ld resumed; the certificate is %ld)\n",
            ep_tls(c, 0) ? tb_protocol(&c->eps[0].conn) : "?", full, least, most, der);
    etcd_free(c);
}

static void test_keepalive_over_tls(void)
{
    etcd_opts o = tls_opts(srv_tls.url);
    etcd *c;
    void *s;
    int fd, i;
    unsigned req;
    o.api_prefix = "/v3";
    c = t_client(&o);
    REQUIRE(c != NULL);
    REQUIRE(get_ok(c, "/tls/ka"));
    s = ep_tls(c, 0);
    fd = c->eps[0].conn.fd;
    req = c->eps[0].conn.requests;
    REQUIRE(s != NULL);
    CHECK(fd >= 0);
    CHECK_INT(req, 1);
    for (i = 0; i < 6; i++) {
        if (i % 2) CHECK(get_ok(c, "/tls/ka"));
        else CHECK(test_put(c, "/tls/ka", "1") > 0);
        CHECK(ep_tls(c, 0) == s);
        CHECK_INT(c->eps[0].conn.fd, fd);
        CHECK_INT(c->eps[0].conn.requests, req + (unsigned)i + 1);
    }
    etcd_free(c);
}

/* A peer that accepts TCP and never speaks TLS: "timeout" within timeout. */
static void test_handshake_timeout(void)
{
    char url[64];
    etcd_opts o;
    etcd *c;
    etcd_res *r;
    etcd_watcher *w;
    double t0, dt;
    int port, lfd = test_silent_listener(&port);
    REQUIRE(lfd >= 0);
    snprintf(url, sizeof url, "https://127.0.0.1:%d", port);
    o = tls_opts(url);
    o.timeout = 0.5;
    o.api_prefix = "/v3";
    o.max_fails = 1000;              /* stay in the rotation for the next try */
    c = t_client(&o);
    if (!c) close(lfd);
    REQUIRE(c != NULL);

    t0 = test_now();
    r = etcd_get(c, "/tls/to", NULL);
    dt = test_now() - t0;
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_HAS(etcd_errstr(c), "timeout");
    CHECK(dt >= 0.45 && dt < 1.5);

    /* no api_prefix: the /version probe is bounded the same way */
    etcd_free(c);
    o.api_prefix = NULL;
    c = t_client(&o);
    if (!c) close(lfd);
    REQUIRE(c != NULL);
    t0 = test_now();
    r = etcd_version(c);
    dt = test_now() - t0;
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_HAS(etcd_errstr(c), "timeout");
    CHECK(dt >= 0.45 && dt < 1.5);

    t0 = test_now();
    w = etcd_watch(c, "/tls/to", NULL);
    dt = test_now() - t0;
    CHECK(w == NULL);
    etcd_watchcancel(w);
    CHECK_HAS(etcd_errstr(c), "timeout");
    CHECK(dt >= 0.45 && dt < 1.5);

    etcd_free(c);
    close(lfd);
}

/* https:// to a plain-HTTP etcd: a TLS handshake error, at once. */
static void test_https_to_plain_server(void)
{
    char url[64], err[256];
    etcd_opts o;
    etcd *c;
    double t0;
    snprintf(url, sizeof url, "https://127.0.0.1:%d", srv_plain.port);
    o = tls_opts(url);
    o.api_prefix = "/v3";
    o.timeout = 4;
    c = t_client(&o);
    REQUIRE(c != NULL);
    t0 = test_now();
    CHECK(get_fails(c, "/tls/plain", err, sizeof err));
    CHECK(test_now() - t0 < 2.0);
    CHECK_HAS(err, "TLS handshake");
    CHECK_PREFIX(err, url);
    CHECK(strcmp(err, "timeout") != 0);
    etcd_free(c);
}

/* The TLS build still speaks plain HTTP to http:// endpoints, and mixes
   both kinds in one client. */
static void test_plain_and_mixed_endpoints(void)
{
    char hosts[160];
    etcd_opts o;
    etcd *c;
    int i;

    o = tls_opts(srv_plain.url);
    c = t_client(&o);
    REQUIRE(c != NULL);
    CHECK(get_ok(c, "/tls/plain"));
    CHECK(c->eps[0].conn.fd >= 0);
    CHECK(c->eps[0].conn.tls == NULL);
    etcd_free(c);

    snprintf(hosts, sizeof hosts, "%s,%s", srv_tls.url, srv_plain.url);
    o = tls_opts(hosts);
    o.api_prefix = "/v3";
    c = t_client(&o);
    REQUIRE(c != NULL);
    REQUIRE(c->neps == 2);
    for (i = 0; i < 4; i++) {
        etcd_res *r = test_ok200(c, etcd_version(c));
        CHECK(r != NULL);
        etcd_res_free(r);
    }
    CHECK(c->eps[0].conn.tls != NULL);
    CHECK(c->eps[1].conn.tls == NULL);
    CHECK(c->eps[0].conn.requests == 2 && c->eps[1].conn.requests == 2);
    etcd_free(c);
}

/* The peer resets the connection while a large request is being written:
   the call fails, and no SIGPIPE is raised (held blocked here, so a raised
   one shows as pending instead of killing the test). */
static void test_no_sigpipe_over_tls(void)
{
    enum { BIG = 4 << 20 };
    tls_server ts;
    sigset_t set, old, pend;
    struct timespec zero = { 0, 0 };
    etcd_set_opts so;
    etcd_opts o;
    etcd *c;
    char url[64], *big;
    int i, nreq = 0;

    REQUIRE(tlssrv_start(&ts, certs.server_cert, certs.server_key, TLSSRV_RESET_AFTER_HEAD, NULL) == 0);
    big = (char *)malloc(BIG);
    if (!big) tlssrv_stop(&ts);
    REQUIRE(big != NULL);
    memset(big, 'x', BIG);
    snprintf(url, sizeof url, "https://127.0.0.1:%d", ts.port);
    o = tls_opts(url);
    o.api_prefix = "/v3";
    o.timeout = 3;
    o.serializer = ETCD_SERIALIZER_RAW;
    o.max_fails = 1000;
    memset(&so, 0, sizeof so);
    so.val_len = BIG;

    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    c = t_client(&o);
    CHECK(c != NULL);
    for (i = 0; c && i < 3; i++) {
        etcd_res *r = etcd_set(c, "/tls/big", big, &so);
        CHECK(r == NULL);
        etcd_res_free(r);
    }
    etcd_free(c);
    sigemptyset(&pend);
    sigpending(&pend);
    CHECK(!sigismember(&pend, SIGPIPE));
    if (sigismember(&pend, SIGPIPE)) sigtimedwait(&set, NULL, &zero);
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    free(big);
    tlssrv_count(&ts, NULL, &nreq);
    CHECK(nreq >= 1);                    /* the requests did reach the server */
    tlssrv_stop(&ts);
}

/* A TLS member goes down and comes back: the client reconnects (its old
   session cannot be resumed by the new process: a full handshake). */
static void test_tls_member_restart(void)
{
    etcd_opts o = tls_opts(srv_mtls.url);
    char out[256];
    const char *const ctl_get[] = { "get", "/tls/restart", "--print-value-only", NULL };
    etcd *c;
    o.ssl_cert_path = certs.client_cert;
    o.ssl_key_path = certs.client_key;
    o.max_fails = 1000;
    c = t_client(&o);
    REQUIRE(c != NULL);
    CHECK(test_put(c, "/tls/restart", "\"before\"") > 0);
    test_etcd_kill(&srv_mtls);
    REQUIRE(test_etcd_restart(&srv_mtls) == 0);
    CHECK(test_put(c, "/tls/restart", "\"after\"") > 0);
    CHECK(ep_tls(c, 0) != NULL);
    CHECK_INT(test_etcdctl(&srv_mtls, out, sizeof out, ctl_get), 0);
    CHECK_HAS(out, "\"after\"");
    etcd_free(c);
}

int main(void)
{
    double t0 = test_now();
    RUN(test_setup);
    if (up_tls && g_tls) {
        RUN(test_kv_over_tls);
        RUN(test_txn_over_tls);
        RUN(test_leases_over_tls);
        RUN(test_version_and_request_over_tls);
        RUN(test_api_prefix_detection_over_tls);
        RUN(test_watch_over_tls);
        RUN(test_watch_pending_sees_tls_buffer);
        RUN(test_watch_poll_loop_over_tls);
        RUN(test_verify_with_right_ca);
        RUN(test_verify_fails_with_wrong_ca);
        RUN(test_verify_fails_with_system_store);
        RUN(test_skip_verify);
        RUN(test_hostname_localhost);
        RUN(test_hostname_mismatch);
        RUN(test_sni_is_verified_name);
        RUN(test_session_reuse);
        RUN(test_keepalive_over_tls);
    }
    if (certs.dir[0]) {
        RUN(test_sni_sent);
        RUN(test_bad_files_refused);
        RUN(test_handshake_timeout);
        RUN(test_no_sigpipe_over_tls);
    }
    if (up_mtls) {
        RUN(test_mtls_with_client_cert);
        RUN(test_mtls_without_client_cert);
    }
    if (up_plain) RUN(test_https_to_plain_server);
    if (up_tls && up_plain) RUN(test_plain_and_mixed_endpoints);
    if (up_mtls) RUN(test_tls_member_restart);

    etcd_free(g_tls);
    test_etcd_stop(&srv_tls);
    test_etcd_stop(&srv_mtls);
    test_etcd_stop(&srv_plain);
    test_certs_remove(&certs);
    fprintf(stderr, "  (test_tls ran %.1f s)\n", test_now() - t0);
    return test_summary();
}
