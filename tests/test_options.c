/* test_options.c - the round-2 client options (API.md "Additions, round 2",
   "Client options") against a real etcd on 127.0.0.1:

   - max_fails = -1 turns health checks off: failures come back as they are
     (never "has no healthy"), the endpoint stays in the rotation, a
     restarted member is used at once; retry makes one try per endpoint;
   - ssl_ca_pem / ssl_cert_pem / ssl_key_pem: PEM text instead of files,
     copied by etcd_new, refused (naming the option) when malformed, when
     set together with the matching *_path, or when cert and key differ;
     missing files and encrypted keys give clear, quick refusals;
   - the named sort constants (values, and a real sorted readdir);
   - etcd_new's reasons for a bad http_host.

   Three members (plain, TLS, mutual TLS) and a throwaway PKI made with the
   openssl CLI (tests/harness.h); a tiny listener of our own that accepts
   and closes counts the tries of a call. */
/* TLS: OpenSSL, or mbedTLS when built with -DETCD_USE_MBEDTLS (mk/tlsbackends.mk) */
#if !defined(ETCD_USE_MBEDTLS)
#define ETCD_USE_OPENSSL
#endif
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
#include "harness.h"

#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NO_HEALTHY "has no healthy etcd endpoint available"

static test_certs certs;
static test_etcd srv_plain, srv_tls, srv_mtls;
static bool up_plain, up_tls, up_mtls;

/* The PKI's files as text (read once by test_setup). */
static char *pem_ca, *pem_wrong_ca, *pem_client_cert, *pem_client_key, *pem_other_key;
static char *pem_enc_key;                  /* the client key, encrypted (passphrase "x") */
static char enc_key_path[320], missing_path[320];

/* Timings reported at the end. */
static double restart_to_ok_off = -1, default_next_try = -1, default_back = -1;

/* ------------------------------------------------------------------------
   Helpers
   ------------------------------------------------------------------------ */

/* The whole file as a NUL-terminated string (malloc), or NULL. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *s = NULL;
    long n;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (s = (char *)malloc((size_t)n + 1)) != NULL) {
        if (fread(s, 1, (size_t)n, f) != (size_t)n) { free(s); s = NULL; }
        else s[n] = '\0';
    }
    fclose(f);
    return s;
}

static char *dup_text(const char *s)
{
    size_t n = strlen(s);
    char *d = (char *)malloc(n + 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}



/* Options for an https endpoint with nothing of TLS set yet. */
static etcd_opts url_opts(const char *url)
{
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.http_host = url;
    return o;
}

/* A get that must succeed (200). */
static bool get_ok(etcd *c, const char *key)
{
    etcd_res *r = test_ok200(c, etcd_get(c, key, NULL));
    bool ok = r != NULL;
    etcd_res_free(r);
    return ok;
}

/* A get that may fail (no message then): whether it gave a 200. */
static bool get_ok_quiet(etcd *c, const char *key)
{
    etcd_res *r = etcd_get(c, key, NULL);
    bool ok = r && r->status == 200;
    etcd_res_free(r);
    return ok;
}

static void sleep_s(double s)
{
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0) {}
}

/* A get that must fail: returns the error class (ETCD_OK if it did not fail). */
static etcd_err get_fails(etcd *c, const char *key)
{
    etcd_res *r = etcd_get(c, key, NULL);
    if (r) {
        fprintf(stderr, "  get %s unexpectedly gave status %d\n", key, r->status);
        etcd_res_free(r);
        return ETCD_OK;
    }
    return etcd_errcode(c);
}

#define CHECK_CODE(c, want) do { etcd_err t__c = (c), t__w = (want); if (t__c != t__w) { \
    fprintf(stderr, "  %s:%d: %s is %s, not %s\n", __FILE__, __LINE__, #c, \
            etcd_err_name(t__c), etcd_err_name(t__w)); t__cur_failed = 1; } } while (0)

/* a does not contain b */
#define CHECK_LACKS(a, b) do { const char *t__a = (a), *t__b = (b); \
    if (!t__a || strstr(t__a, t__b)) { fprintf(stderr, "  %s:%d: %s is \"%s\", which has \"%s\"\n", \
        __FILE__, __LINE__, #a, t__a ? t__a : "(null)", t__b); t__cur_failed = 1; } } while (0)

/* A listener on 127.0.0.1 that accepts every connection and closes it at
   once, counting them: each try of a call costs exactly one connection. */
typedef struct closer {
    int fd, port, accepts;
    volatile int stop;
    pthread_mutex_t mu;
    pthread_t th;
} closer;

static void *closer_main(void *arg)
{
    closer *cl = (closer *)arg;
    while (!cl->stop) {
        struct pollfd p;
        p.fd = cl->fd;
        p.events = POLLIN;
        p.revents = 0;
        if (poll(&p, 1, 20) > 0) {
            int c = accept(cl->fd, NULL, NULL);
            if (c >= 0) {
                pthread_mutex_lock(&cl->mu);
                cl->accepts++;
                pthread_mutex_unlock(&cl->mu);
                close(c);
            }
        }
    }
    return NULL;
}

static int closer_start(closer *cl)
{
    memset(cl, 0, sizeof *cl);
    pthread_mutex_init(&cl->mu, NULL);
    if ((cl->fd = test_silent_listener(&cl->port)) < 0) return -1;
    if (pthread_create(&cl->th, NULL, closer_main, cl) != 0) { close(cl->fd); return -1; }
    return 0;
}

static int closer_count(closer *cl)
{
    int n;
    pthread_mutex_lock(&cl->mu);
    n = cl->accepts;
    pthread_mutex_unlock(&cl->mu);
    return n;
}

static void closer_stop(closer *cl)
{
    cl->stop = 1;
    pthread_join(cl->th, NULL);
    close(cl->fd);
    pthread_mutex_destroy(&cl->mu);
}

/* The "next try in X s" of a no-healthy error, or -1. */
static double next_try_in(const char *err)
{
    const char *p = err ? strstr(err, "next try in ") : NULL;
    return p ? strtod(p + strlen("next try in "), NULL) : -1.0;
}

/* ------------------------------------------------------------------------
   Setup
   ------------------------------------------------------------------------ */

static void test_setup(void)
{
    REQUIRE(test_certs_make(&certs) == 0);
    snprintf(missing_path, sizeof missing_path, "%s/no-such-file.pem", certs.dir);
    snprintf(enc_key_path, sizeof enc_key_path, "%s/client-enc.key", certs.dir);
    {
        /* the client key under AES-256, passphrase "x" (openssl CLI, no shell) */
        const char *args[] = { "pkey", "-in", certs.client_key, "-aes256", "-passout", "pass:x",
                               "-out", enc_key_path, NULL };
        CHECK(th__openssl(&certs, args) == 0);
    }
    pem_ca = read_text(certs.ca);
    pem_wrong_ca = read_text(certs.wrong_ca);
    pem_client_cert = read_text(certs.client_cert);
    pem_client_key = read_text(certs.client_key);
    pem_other_key = read_text(certs.other_key);
    pem_enc_key = read_text(enc_key_path);
    REQUIRE(pem_ca && pem_wrong_ca && pem_client_cert && pem_client_key && pem_other_key);
    CHECK(pem_enc_key != NULL);
    CHECK_HAS(pem_ca, "-----BEGIN CERTIFICATE-----");
    CHECK_HAS(pem_client_key, "PRIVATE KEY-----");
    CHECK_HAS(pem_enc_key, "ENCRYPTED PRIVATE KEY");

    up_plain = test_etcd_start(&srv_plain, NULL) == 0;
    up_tls = test_etcd_start_tls(&srv_tls, NULL, certs.ca, certs.server_cert,
                                 certs.server_key, false) == 0;
    up_mtls = test_etcd_start_tls(&srv_mtls, NULL, certs.ca, certs.server_cert,
                                  certs.server_key, true) == 0;
    CHECK(up_plain);
    CHECK(up_tls);
    CHECK(up_mtls);
}

/* ------------------------------------------------------------------------
   1. max_fails = -1: health checks off
   ------------------------------------------------------------------------ */

static void test_max_fails_values(void)
{
    etcd_opts o = url_opts("http://127.0.0.1:2379");
    char err[256];
    etcd *c;
    o.max_fails = -2;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, "max_fails");
    o.max_fails = INT_MIN;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, "max_fails");
    o.max_fails = -1;                     /* accepted, and so is the default */
    c = t_client(&o);
    CHECK(c != NULL);
    if (c) CHECK(etcd_endpoint_healthy(c, "http://127.0.0.1:2379"));
    etcd_free(c);
    o.max_fails = 0;
    c = t_client(&o);
    CHECK(c != NULL);
    etcd_free(c);
}

/* One endpoint: killed, every call says why (ECONNECT) and the endpoint
   stays in; restarted, the next call works at once. A client with the
   default max_fails (1) / fail_timeout (10 s) fails fast while it is out
   ("has no healthy ..."), but one call a second probes it: it is back
   within a second of etcd's return, not after fail_timeout. */
static void test_health_off_one_endpoint(void)
{
    etcd_opts o, d;
    etcd *off, *def;
    double t0, el;
    int i;

    memset(&o, 0, sizeof o);
    o.max_fails = -1;
    memset(&d, 0, sizeof d);                /* max_fails 0 = 1, fail_timeout 0 = 10 s */
    off = test_client(&srv_plain, &o);
    def = test_client(&srv_plain, &d);
    REQUIRE(off && def);
    CHECK(test_put(off, "/opts/off/k", "1") > 0);
    CHECK(get_ok(def, "/opts/off/k"));

    test_etcd_kill(&srv_plain);

    t0 = test_now();
    for (i = 0; i < 6; i++) {
        CHECK_CODE(get_fails(off, "/opts/off/k"), ETCD_ECONNECT);
        CHECK_LACKS(etcd_errstr(off), "has no healthy");
        CHECK_HAS(etcd_errstr(off), "Connection refused");
        CHECK_PREFIX(etcd_errstr(off), srv_plain.url);
        CHECK(etcd_endpoint_healthy(off, srv_plain.url));
    }
    {   /* a write too, and a watch open */
        etcd_res *r = etcd_set(off, "/opts/off/k", "2", NULL);
        CHECK(r == NULL);
        etcd_res_free(r);
        CHECK_CODE(etcd_errcode(off), ETCD_ECONNECT);
        CHECK(etcd_watch(off, "/opts/off/k", NULL) == NULL);
        CHECK_CODE(etcd_errcode(off), ETCD_ECONNECT);
        CHECK(etcd_endpoint_healthy(off, srv_plain.url));
    }
    CHECK(test_now() - t0 < 2.0);           /* failures come back at once */

    /* the default client, for contrast: out after one failure */
    CHECK_CODE(get_fails(def, "/opts/off/k"), ETCD_ECONNECT);
    CHECK(!etcd_endpoint_healthy(def, srv_plain.url));
    CHECK_CODE(get_fails(def, "/opts/off/k"), ETCD_ENOHEALTHY);
    CHECK_PREFIX(etcd_errstr(def), NO_HEALTHY);

    REQUIRE(test_etcd_restart(&srv_plain) == 0);

    t0 = test_now();
    CHECK(get_ok(off, "/opts/off/k"));
    el = test_now() - t0;
    restart_to_ok_off = el;
    CHECK_TIME(el, 0.0, 2.0);
    CHECK(test_put(off, "/opts/off/k", "3") > 0);

    t0 = test_now();
    while (!get_ok_quiet(def, "/opts/off/k") && test_now() - t0 < 3.0) {
        CHECK_CODE(etcd_errcode(def), ETCD_ENOHEALTHY);     /* the calls that do not probe: at once */
        default_next_try = next_try_in(etcd_errstr(def));
        CHECK(default_next_try > 0 && default_next_try <= 10.0);
        sleep_s(0.05);
    }
    default_back = test_now() - t0;
    CHECK(default_back <= 1.5);
    CHECK(etcd_endpoint_healthy(def, srv_plain.url));
    fprintf(stderr, "  (after the restart: max_fails -1 succeeded in %.3f s; the default client in %.3f s)\n",
            el, default_back);

    etcd_free(off);
    etcd_free(def);
}

/* A refused port and the live etcd, retry on: every call works (one try
   per endpoint); with both dead, the last failure itself comes back. */
static void test_health_off_two_endpoints_retry(void)
{
    char hosts[160], dead[64];
    etcd_opts o, d;
    etcd *off, *def;
    double t0;
    int i, port = test_free_port();

    REQUIRE(port > 0 && port != srv_plain.port);
    snprintf(dead, sizeof dead, "http://127.0.0.1:%d", port);
    snprintf(hosts, sizeof hosts, "%s,%s", dead, srv_plain.url);
    memset(&o, 0, sizeof o);
    o.http_host = hosts;
    o.api_prefix = "/v3";       /* the version probe has its own test below */
    o.max_fails = -1;
    o.retry = true;
    d = o;
    d.max_fails = 0;
    off = t_client(&o);
    def = t_client(&d);
    REQUIRE(off && def);

    for (i = 0; i < 8; i++) {               /* half of them start on the dead port */
        char key[32];
        snprintf(key, sizeof key, "/opts/two/%d", i);
        CHECK(test_put(off, key, "1") > 0);
        CHECK(get_ok(off, key));
        CHECK(etcd_endpoint_healthy(off, dead));
        CHECK(etcd_endpoint_healthy(off, srv_plain.url));
    }

    test_etcd_kill(&srv_plain);
    t0 = test_now();
    for (i = 0; i < 4; i++) {
        CHECK_CODE(get_fails(off, "/opts/two/0"), ETCD_ECONNECT);
        CHECK_LACKS(etcd_errstr(off), "has no healthy");
        CHECK_HAS(etcd_errstr(off), "Connection refused");
        CHECK(etcd_endpoint_healthy(off, dead));
        CHECK(etcd_endpoint_healthy(off, srv_plain.url));
    }
    CHECK(test_now() - t0 < 2.0);
    /* contrast: with health checks on, the tries take both out */
    CHECK_CODE(get_fails(def, "/opts/two/0"), ETCD_ENOHEALTHY);
    CHECK_PREFIX(etcd_errstr(def), NO_HEALTHY);

    REQUIRE(test_etcd_restart(&srv_plain) == 0);
    t0 = test_now();
    CHECK(get_ok(off, "/opts/two/0"));
    CHECK(test_put(off, "/opts/two/0", "2") > 0);
    CHECK(test_now() - t0 < 2.0);
    etcd_free(off);
    etcd_free(def);
}

/* The same, but the first call must also find the api prefix (GET
   /version, which takes an endpoint of the rotation too): the dead port
   first in http_host must not make that call fail while etcd is up. */
static void test_health_off_first_call_probes_version(void)
{
    char hosts[160], dead[64];
    etcd_opts o;
    int port = test_free_port(), i, fails = 0;

    REQUIRE(port > 0 && port != srv_plain.port);
    snprintf(dead, sizeof dead, "http://127.0.0.1:%d", port);
    snprintf(hosts, sizeof hosts, "%s,%s", dead, srv_plain.url);
    memset(&o, 0, sizeof o);
    o.http_host = hosts;
    o.max_fails = -1;
    o.retry = true;
    for (i = 0; i < 3; i++) {                 /* fresh clients: each probes again */
        etcd *c = t_client(&o);
        REQUIRE(c != NULL);
        if (!get_ok(c, "/opts/probe")) fails++;
        CHECK(get_ok(c, "/opts/probe"));      /* the prefix is known by now */
        etcd_free(c);
    }
    CHECK_INT(fails, 0);
    /* for contrast, with health checks on the same first call works */
    o.max_fails = 0;
    {
        etcd *c = t_client(&o);
        REQUIRE(c != NULL);
        CHECK(get_ok(c, "/opts/probe"));
        etcd_free(c);
    }
}

/* Exactly one try per endpoint with retry (counted by listeners that
   accept and close), the last failure returned; one try without retry. */
static void test_health_off_one_try_per_endpoint(void)
{
    closer a, b;
    char hosts[160], ua[64], ub[64];
    etcd_opts o;
    etcd *c;
    bool started_a, started_b;

    started_a = closer_start(&a) == 0;
    started_b = closer_start(&b) == 0;
    if (!started_a || !started_b) {
        if (started_a) closer_stop(&a);
        if (started_b) closer_stop(&b);
        REQUIRE(!"listeners started");
    }
    snprintf(ua, sizeof ua, "http://127.0.0.1:%d", a.port);
    snprintf(ub, sizeof ub, "http://127.0.0.1:%d", b.port);
    snprintf(hosts, sizeof hosts, "%s,%s", ua, ub);
    memset(&o, 0, sizeof o);
    o.http_host = hosts;
    o.api_prefix = "/v3";                    /* no version probe: only the call's tries */
    o.timeout = 3;
    o.max_fails = -1;
    o.retry = true;

    c = t_client(&o);
    if (c) {
        CHECK_CODE(get_fails(c, "/k"), ETCD_ETRANSPORT);
        CHECK_INT(closer_count(&a), 1);
        CHECK_INT(closer_count(&b), 1);
        CHECK_LACKS(etcd_errstr(c), "has no healthy");
        CHECK(etcd_endpoint_healthy(c, ua) && etcd_endpoint_healthy(c, ub));
        CHECK_CODE(get_fails(c, "/k"), ETCD_ETRANSPORT);      /* again: both still tried */
        CHECK_INT(closer_count(&a), 2);
        CHECK_INT(closer_count(&b), 2);
        etcd_free(c);
    }

    o.retry = false;                          /* without retry: one try per call */
    c = t_client(&o);
    if (c) {
        CHECK_CODE(get_fails(c, "/k"), ETCD_ETRANSPORT);
        CHECK_INT(closer_count(&a) + closer_count(&b), 5);
        etcd_free(c);
    }

    o.retry = true;                           /* contrast: health checks on */
    o.max_fails = 0;
    c = t_client(&o);
    if (c) {
        CHECK_CODE(get_fails(c, "/k"), ETCD_ENOHEALTHY);
        CHECK_INT(closer_count(&a) + closer_count(&b), 7);
        CHECK(!etcd_endpoint_healthy(c, ua) && !etcd_endpoint_healthy(c, ub));
        etcd_free(c);
    }
    closer_stop(&a);
    closer_stop(&b);
}

/* ------------------------------------------------------------------------
   2. ssl_ca_pem / ssl_cert_pem / ssl_key_pem
   ------------------------------------------------------------------------ */

static void test_pem_ca_tls(void)
{
    etcd_opts o = url_opts(srv_tls.url);
    etcd *c;
    o.ssl_ca_pem = pem_ca;
    c = t_client(&o);
    REQUIRE(c != NULL);
    CHECK(test_put(c, "/opts/pem/ca", "1") > 0);
    CHECK(get_ok(c, "/opts/pem/ca"));
    etcd_free(c);

    o.ssl_ca_pem = pem_wrong_ca;             /* a CA that did not sign the server's */
    c = t_client(&o);
    REQUIRE(c != NULL);
    CHECK_CODE(get_fails(c, "/opts/pem/ca"), ETCD_ETLS);
    CHECK_HAS(etcd_errstr(c), "certificate verif");
    CHECK_PREFIX(etcd_errstr(c), srv_tls.url);
    etcd_free(c);
}

static void test_pem_mtls(void)
{
    etcd_opts o = url_opts(srv_mtls.url);
    etcd *c;

    o.ssl_ca_pem = pem_ca;                   /* all three as text */
    o.ssl_cert_pem = pem_client_cert;
    o.ssl_key_pem = pem_client_key;
    c = t_client(&o);
    REQUIRE(c != NULL);
    CHECK(test_put(c, "/opts/pem/mtls", "\"text\"") > 0);
    CHECK(get_ok(c, "/opts/pem/mtls"));
    etcd_free(c);

    o = url_opts(srv_mtls.url);              /* cert text, key file */
    o.ssl_ca_path = certs.ca;
    o.ssl_cert_pem = pem_client_cert;
    o.ssl_key_path = certs.client_key;
    c = t_client(&o);
    REQUIRE(c != NULL);
    CHECK(get_ok(c, "/opts/pem/mtls"));
    etcd_free(c);

    o = url_opts(srv_mtls.url);              /* cert file, key text, CA text */
    o.ssl_ca_pem = pem_ca;
    o.ssl_cert_path = certs.client_cert;
    o.ssl_key_pem = pem_client_key;
    c = t_client(&o);
    REQUIRE(c != NULL);
    CHECK(get_ok(c, "/opts/pem/mtls"));
    etcd_free(c);
}

static void test_pem_and_path_both_refused(void)
{
    etcd_opts o = url_opts("https://127.0.0.1:2379");
    char err[256];

    o.ssl_ca_pem = pem_ca;
    o.ssl_ca_path = certs.ca;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, "ssl_ca_pem");
    CHECK_HAS(err, "ssl_ca_path");

    o = url_opts("https://127.0.0.1:2379");
    o.ssl_cert_pem = pem_client_cert;
    o.ssl_cert_path = certs.client_cert;
    o.ssl_key_path = certs.client_key;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, "ssl_cert_pem");
    CHECK_HAS(err, "ssl_cert_path");

    o = url_opts("https://127.0.0.1:2379");
    o.ssl_cert_path = certs.client_cert;
    o.ssl_key_pem = pem_client_key;
    o.ssl_key_path = certs.client_key;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, "ssl_key_pem");
    CHECK_HAS(err, "ssl_key_path");
}

static void test_pem_malformed_refused(void)
{
    static const char bad_cert[] =
        "-----BEGIN CERTIFICATE-----\nnot base64!!\n-----END CERTIFICATE-----\n";
    static const char bad_key[] =
        "-----BEGIN PRIVATE KEY-----\nnot base64!!\n-----END PRIVATE KEY-----\n";
    static const char garbage[] = "this is not PEM at all\n";
    etcd_opts o;
    char err[256];

    /* the CA */
    o = url_opts("https://127.0.0.1:2379");
    o.ssl_ca_pem = bad_cert;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, "ssl_ca_pem");
    o.ssl_ca_pem = garbage;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, "ssl_ca_pem");
    o.ssl_ca_pem = pem_client_key;           /* a key where the CA belongs */
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, "ssl_ca_pem");

    /* the client certificate */
    o = url_opts("https://127.0.0.1:2379");
    o.ssl_ca_pem = pem_ca;
    o.ssl_key_pem = pem_client_key;
    o.ssl_cert_pem = bad_cert;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, "ssl_cert_pem");
    o.ssl_cert_pem = garbage;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, "ssl_cert_pem");

    /* the client key */
    o.ssl_cert_pem = pem_client_cert;
    o.ssl_key_pem = bad_key;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, "ssl_key_pem");
    o.ssl_key_pem = garbage;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, "ssl_key_pem");
    o.ssl_key_pem = pem_client_cert;         /* a certificate given as the key */
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, "ssl_key_pem");

    /* a certificate and a key that do not belong together: both named */
    o.ssl_key_pem = pem_other_key;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, "ssl_cert_pem");
    CHECK_HAS(err, "ssl_key_pem");
    CHECK_HAS(err, "match");
    o.ssl_key_pem = NULL;                    /* text and file mixed: both named too */
    o.ssl_key_path = certs.other_key;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, "ssl_cert_pem");
    CHECK_HAS(err, certs.other_key);

    /* the good set, for contrast */
    o.ssl_key_path = NULL;
    o.ssl_key_pem = pem_client_key;
    {
        etcd *c = t_client(&o);
        CHECK(c != NULL);
        etcd_free(c);
    }
}

/* The texts are copied: the caller's buffers are wiped and freed right
   after etcd_new, and the client still connects (ASan would see a read of
   a freed buffer). */
static void test_pem_copied(void)
{
    etcd_opts o = url_opts(srv_mtls.url);
    char *ca = dup_text(pem_ca), *cert = dup_text(pem_client_cert), *key = dup_text(pem_client_key);
    etcd *c;
    if (!ca || !cert || !key) { free(ca); free(cert); free(key); REQUIRE(!"out of memory"); }
    o.ssl_ca_pem = ca;
    o.ssl_cert_pem = cert;
    o.ssl_key_pem = key;
    c = t_client(&o);
    memset(ca, 'x', strlen(ca));
    memset(cert, 'x', strlen(cert));
    memset(key, 'x', strlen(key));
    free(ca);
    free(cert);
    free(key);
    REQUIRE(c != NULL);
    CHECK(test_put(c, "/opts/pem/copied", "1") > 0);
    CHECK(get_ok(c, "/opts/pem/copied"));
    etcd_free(c);
}

/* A missing file: the system's reason and the path, not "system lib". */
static void test_missing_files_named(void)
{
    etcd_opts o;
    char err[256];

    o = url_opts("https://127.0.0.1:2379");
    o.ssl_ca_path = missing_path;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, "No such file or directory");
    CHECK_HAS(err, missing_path);
    CHECK_HAS(err, "ssl_ca_path");
    CHECK_LACKS(err, "system lib");

    o = url_opts("https://127.0.0.1:2379");
    o.ssl_ca_path = certs.ca;
    o.ssl_cert_path = missing_path;
    o.ssl_key_path = certs.client_key;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, "No such file or directory");
    CHECK_HAS(err, missing_path);
    CHECK_HAS(err, "ssl_cert_path");
    CHECK_LACKS(err, "system lib");

    o.ssl_cert_path = certs.client_cert;
    o.ssl_key_path = missing_path;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, "No such file or directory");
    CHECK_HAS(err, missing_path);
    CHECK_HAS(err, "ssl_key_path");
    CHECK_LACKS(err, "system lib");
}

/* An encrypted key is refused at once: no passphrase prompt on a terminal.
   (The alarm kills the suite rather than hang it if it ever prompts.) */
static void test_encrypted_key_refused(void)
{
    etcd_opts o = url_opts("https://127.0.0.1:2379");
    char err[256];
    double t0;

    REQUIRE(pem_enc_key != NULL);
    o.ssl_ca_path = certs.ca;
    o.ssl_cert_path = certs.client_cert;
    o.ssl_key_path = enc_key_path;
    alarm(20);
    t0 = test_now();
    CHECK(t_refused(&o, err, sizeof err));
    CHECK(test_now() - t0 < 2.0);
    CHECK_HAS(err, "ssl_key_path");
    CHECK_HAS(err, enc_key_path);

    o.ssl_key_path = NULL;
    o.ssl_key_pem = pem_enc_key;
    t0 = test_now();
    CHECK(t_refused(&o, err, sizeof err));
    CHECK(test_now() - t0 < 2.0);
    CHECK_HAS(err, "ssl_key_pem");
    alarm(0);
    fprintf(stderr, "  (an encrypted key: %s)\n", err);
}

/* ------------------------------------------------------------------------
   3. Named sort constants
   ------------------------------------------------------------------------ */

/* Compile-time: a negative array size if a value is wrong. */
typedef char sort_none_is_0[ETCD_SORT_NONE == 0 ? 1 : -1];
typedef char sort_ascend_is_1[ETCD_SORT_ASCEND == 1 ? 1 : -1];
typedef char sort_descend_is_2[ETCD_SORT_DESCEND == 2 ? 1 : -1];
typedef char sort_key_is_0[ETCD_SORT_KEY == 0 ? 1 : -1];
typedef char sort_version_is_1[ETCD_SORT_VERSION == 1 ? 1 : -1];
typedef char sort_create_is_2[ETCD_SORT_CREATE == 2 ? 1 : -1];
typedef char sort_mod_is_3[ETCD_SORT_MOD == 3 ? 1 : -1];
typedef char sort_value_is_4[ETCD_SORT_VALUE == 4 ? 1 : -1];

static void test_sort_constant_values(void)
{
    etcd_get_opts g;
    CHECK_INT(ETCD_SORT_NONE, 0);
    CHECK_INT(ETCD_SORT_ASCEND, 1);
    CHECK_INT(ETCD_SORT_DESCEND, 2);
    CHECK_INT(ETCD_SORT_KEY, 0);
    CHECK_INT(ETCD_SORT_VERSION, 1);
    CHECK_INT(ETCD_SORT_CREATE, 2);
    CHECK_INT(ETCD_SORT_MOD, 3);
    CHECK_INT(ETCD_SORT_VALUE, 4);
    memset(&g, 0, sizeof g);                  /* zeroed options mean "no sort, by key" */
    CHECK_INT(g.sort_order, ETCD_SORT_NONE);
    CHECK_INT(g.sort_target, ETCD_SORT_KEY);
}

/* The keys of a readdir of /opts/sort/ with order and target. */
static int sorted_keys(etcd *c, int order, int target, char out[4][32], int64_t mods[4])
{
    etcd_get_opts g;
    etcd_res *r;
    size_t i;
    int n;
    memset(&g, 0, sizeof g);
    g.sort_order = order;
    g.sort_target = target;
    r = test_ok200(c, etcd_readdir(c, "/opts/sort/", &g));
    if (!r) return -1;
    for (i = 0; i < r->nkvs && i < 4; i++) {
        snprintf(out[i], 32, "%s", r->kvs[i].key);
        mods[i] = r->kvs[i].mod_revision;
    }
    n = (int)r->nkvs;
    etcd_res_free(r);
    return n;
}

static void test_sort_descend_mod_readdir(void)
{
    char k1[4][32], k2[4][32], k3[4][32];
    int64_t m1[4], m2[4], m3[4];
    etcd_res *r;
    etcd *c = test_client(&srv_plain, NULL);
    int i;
    REQUIRE(c != NULL);
    r = etcd_rmdir(c, "/opts/sort/", NULL);
    etcd_res_free(r);
    /* key order a, b, c; creation order a, b, c; mod order b, c, a */
    CHECK(test_put(c, "/opts/sort/a", "1") > 0);
    CHECK(test_put(c, "/opts/sort/b", "2") > 0);
    CHECK(test_put(c, "/opts/sort/c", "3") > 0);
    CHECK(test_put(c, "/opts/sort/a", "4") > 0);

    CHECK_INT(sorted_keys(c, ETCD_SORT_DESCEND, ETCD_SORT_MOD, k1, m1), 3);
    CHECK_STR(k1[0], "/opts/sort/a");
    CHECK_STR(k1[1], "/opts/sort/c");
    CHECK_STR(k1[2], "/opts/sort/b");
    CHECK(m1[0] > m1[1] && m1[1] > m1[2]);

    CHECK_INT(sorted_keys(c, 2, 3, k2, m2), 3);     /* the same as plain ints */
    for (i = 0; i < 3; i++) {
        CHECK_STR(k2[i], k1[i]);
        CHECK_INT(m2[i], m1[i]);
    }

    /* the target matters: descending by key is c, b, a */
    CHECK_INT(sorted_keys(c, ETCD_SORT_DESCEND, ETCD_SORT_KEY, k3, m3), 3);
    CHECK_STR(k3[0], "/opts/sort/c");
    CHECK_STR(k3[1], "/opts/sort/b");
    CHECK_STR(k3[2], "/opts/sort/a");
    /* and the order: ascending by mod is b, c, a */
    CHECK_INT(sorted_keys(c, ETCD_SORT_ASCEND, ETCD_SORT_MOD, k3, m3), 3);
    CHECK_STR(k3[0], "/opts/sort/b");
    CHECK_STR(k3[1], "/opts/sort/c");
    CHECK_STR(k3[2], "/opts/sort/a");
    etcd_free(c);
}

/* ------------------------------------------------------------------------
   4. etcd_new's reasons for a bad http_host
   ------------------------------------------------------------------------ */

static void check_host_refused(const char *host, const char *why)
{
    etcd_opts o = url_opts(host);
    char err[256];
    CHECK(t_refused(&o, err, sizeof err));
    if (!strstr(err, why)) fprintf(stderr, "  (http_host \"%s\")\n", host);
    CHECK_HAS(err, why);
    CHECK_HAS(err, "http_host");
}

static void test_http_host_errors(void)
{
    check_host_refused("ftp://h:1", "scheme");
    check_host_refused("http://h:0", "1 to 65535");
    check_host_refused("http://h:70000", "1 to 65535");
    check_host_refused("http://h:abc", "1 to 65535");
    check_host_refused("http://h:2379/v3", "path");
    check_host_refused("http://user:pw@h:2379", "user info");
    check_host_refused("http://a:1,", "empty");
    check_host_refused("http://a:1,,http://b:2", "empty");
}

static void test_http_host_accepted(void)
{
    static const char *const ok[] = { "http://h:2379/", "http://[::1]:2379",
                                      "http://h:2379/,https://[::1]:1" };
    size_t i;
    for (i = 0; i < sizeof ok / sizeof *ok; i++) {
        etcd_opts o = url_opts(ok[i]);
        etcd *c = t_client(&o);             /* does not connect */
        CHECK(c != NULL);
        if (c && i < 2) CHECK(etcd_endpoint_healthy(c, ok[i]));
        etcd_free(c);
    }
}

int main(void)
{
    double t0 = test_now();
    RUN(test_setup);
    RUN(test_max_fails_values);
    RUN(test_sort_constant_values);
    RUN(test_http_host_errors);
    RUN(test_http_host_accepted);
    RUN(test_health_off_one_try_per_endpoint);
    if (certs.dir[0] && pem_ca) {
        RUN(test_pem_and_path_both_refused);
        RUN(test_pem_malformed_refused);
        RUN(test_missing_files_named);
        RUN(test_encrypted_key_refused);
    }
    if (up_tls && pem_ca) RUN(test_pem_ca_tls);
    if (up_mtls && pem_ca) {
        RUN(test_pem_mtls);
        RUN(test_pem_copied);
    }
    if (up_plain) {
        RUN(test_sort_descend_mod_readdir);
        RUN(test_health_off_one_endpoint);
        RUN(test_health_off_two_endpoints_retry);
        RUN(test_health_off_first_call_probes_version);
    }

    test_etcd_stop(&srv_plain);
    test_etcd_stop(&srv_tls);
    test_etcd_stop(&srv_mtls);
    test_certs_remove(&certs);
    free(pem_ca); free(pem_wrong_ca); free(pem_client_cert); free(pem_client_key);
    free(pem_other_key); free(pem_enc_key);
    if (restart_to_ok_off >= 0)
        fprintf(stderr, "  (restart to success: max_fails -1 %.3f s; default max_fails %.3f s, probed "
                "once a second; next try then said %.1f s)\n", restart_to_ok_off, default_back, default_next_try);
    fprintf(stderr, "  (test_options ran %.1f s)\n", test_now() - t0);
    return test_summary();
}
