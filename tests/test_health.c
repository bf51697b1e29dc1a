#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
/* test_health.c - endpoint rotation, health checks and retry (API.md
   "Client"), against scripted fake servers (tests/fakeserver.h) and dead
   ports on 127.0.0.1: no etcd needed, short fail_timeouts, fast.

   Every fake server logs the order in which requests reach it into one
   global log, so the rotation across servers can be checked. */
#include "fakeserver.h"
#include <stdbool.h>

/* ------------------------------------------------------------------------
   Canned etcd answers
   ------------------------------------------------------------------------ */

#define HDR FS_HDR("42")
#define OK_BODY "{" HDR "}"
#define GRANT_BODY "{" HDR ",\"ID\":\"7587869361041950001\",\"TTL\":\"60\"}"
#define TOKEN_BODY "{\"header\":{},\"token\":\"tok.1\"}"
#define WATCH_CREATED "{\"result\":{" HDR ",\"created\":true}}\n"
#define ERR_503 "{\"error\":\"etcdserver: leader changed\"," \
    "\"message\":\"etcdserver: leader changed\",\"code\":14}"
#define ERR_500 "{\"error\":\"etcdserver: internal\",\"message\":\"etcdserver: internal\",\"code\":13}"
#define ERR_404 "{\"error\":\"not found\",\"message\":\"not found\",\"code\":5}"
#define NO_HEALTHY "has no healthy etcd endpoint available"

/* ------------------------------------------------------------------------
   The global request log: which server (script id) saw each request
   ------------------------------------------------------------------------ */

#define LOG_MAX 256
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static int log_ids[LOG_MAX];
static char log_targets[LOG_MAX][64];
static int log_n;

static void log_reset(void)
{
    pthread_mutex_lock(&log_mu);
    log_n = 0;
    pthread_mutex_unlock(&log_mu);
}

static void log_add(int id, const char *target)
{
    pthread_mutex_lock(&log_mu);
    if (log_n < LOG_MAX) {
        log_ids[log_n] = id;
        size_t n = strlen(target);
        if (n >= sizeof log_targets[0]) n = sizeof log_targets[0] - 1;
        memcpy(log_targets[log_n], target, n);
        log_targets[log_n][n] = '\0';
        log_n++;
    }
    pthread_mutex_unlock(&log_mu);
}

/* A copy of the log; returns its length. */
static int log_get(int *ids, char (*targets)[64])
{
    int n, i;
    pthread_mutex_lock(&log_mu);
    n = log_n;
    for (i = 0; i < n; i++) {
        ids[i] = log_ids[i];
        if (targets) memcpy(targets[i], log_targets[i], sizeof log_targets[0]);
    }
    pthread_mutex_unlock(&log_mu);
    return n;
}

static void log_print(void)
{
    int ids[LOG_MAX], n, i;
    char targets[LOG_MAX][64];
    n = log_get(ids, targets);
    fprintf(stderr, "  request log (%d):", n);
    for (i = 0; i < n; i++) fprintf(stderr, " %c:%s", 'A' + ids[i], targets[i]);
    fprintf(stderr, "\n");
}

/* ------------------------------------------------------------------------
   Server script
   ------------------------------------------------------------------------ */

typedef struct {
    int id;            /* 0 = A, 1 = B, ... in the request log */
    int status;        /* answer to every call: 200 (an etcd-like body) or this
                          status with an etcd error body */
    int watch_silent;  /* a /watch gets 200, the created message, then silence */
    int silent;        /* reads the request, never answers */
} script;

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

static const char *error_body(int status)
{
    return status == 503 ? ERR_503 : status == 500 ? ERR_500 : ERR_404;
}

static void h_script(fs_conn *c)
{
    const script *sc = (const script *)c->srv->arg;
    int i;
    while ((i = fs_read_req(c)) >= 0) {
        const fs_req *r = fs_get(c->srv, i);
        log_add(sc->id, r->target);
        if (sc->silent) { fs_wait_close(c, 10.0); return; }
        if (strcmp(r->method, "GET") == 0 && strcmp(r->target, "/version") == 0) {
            if (sc->status == 200) fs_respond(c, 200, "", FS_VERSION_34);
            else fs_respond(c, sc->status, "", error_body(sc->status));
        } else if (ends_with(r->target, "/watch") && (sc->watch_silent || sc->status == 200)) {
            if (fs_sends(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n") != 0) return;
            if (fs_chunk(c, WATCH_CREATED, strlen(WATCH_CREATED)) != 0) return;
            fs_wait_close(c, 10.0);
            return;
        } else if (sc->status != 200) {
            fs_respond(c, sc->status, "", error_body(sc->status));
        } else if (ends_with(r->target, "/kv/range")) {
            fs_respond(c, 200, "", FS_RANGE_BODY);
        } else if (ends_with(r->target, "/lease/grant")) {
            fs_respond(c, 200, "", GRANT_BODY);
        } else if (ends_with(r->target, "/auth/authenticate")) {
            fs_respond(c, 200, "", TOKEN_BODY);
        } else {
            fs_respond(c, 200, "", OK_BODY);
        }
    }
}

/* ------------------------------------------------------------------------
   Helpers
   ------------------------------------------------------------------------ */

#define MAXS 4
typedef struct {
    fs_server *s[MAXS];
    script sc[MAXS];
    char url[MAXS][300];       /* the endpoints as written in http_host */
    char hosts[MAXS * 301];
    int n;
} cluster;

/* Endpoints from a spec string: '2' a 200 server, '5' a 503 server, '0' a
   500 server, '4' a 404 server, 'w' a 200 server whose watches stay silent,
   's' a server that never answers, 'd' a dead port. Returns false (and stops what started) on failure. */
static bool cluster_start(cluster *cl, const char *spec)
{
    int i;
    memset(cl, 0, sizeof *cl);
    log_reset();
    for (i = 0; spec[i] && i < MAXS; i++) {
        cl->sc[i].id = i;
        if (spec[i] == 'd') {
            int port = fs_free_port();
            if (port <= 0) goto fail;
            snprintf(cl->url[i], sizeof cl->url[i], "http://127.0.0.1:%d", port);
        } else {
            cl->sc[i].status = spec[i] == '5' ? 503 : spec[i] == '0' ? 500 : spec[i] == '4' ? 404 : 200;
            cl->sc[i].watch_silent = spec[i] == 'w';
            cl->sc[i].silent = spec[i] == 's';
            cl->s[i] = fs_start(FS_TCP4, NULL, h_script, &cl->sc[i]);
            if (!cl->s[i]) goto fail;
            snprintf(cl->url[i], sizeof cl->url[i], "%s", cl->s[i]->url);
        }
        if (i) strcat(cl->hosts, ",");
        strcat(cl->hosts, cl->url[i]);
        cl->n = i + 1;
    }
    return true;
fail:
    fprintf(stderr, "  cannot start fake server %d\n", i);
    for (i = 0; i < MAXS; i++) fs_stop(cl->s[i]);
    memset(cl, 0, sizeof *cl);
    return false;
}

static void cluster_stop(cluster *cl)
{
    int i;
    for (i = 0; i < MAXS; i++) fs_stop(cl->s[i]);
    memset(cl, 0, sizeof *cl);
}

static int nreqs(cluster *cl, int i) { return cl->s[i] ? fs_nreqs(cl->s[i]) : 0; }

static int total_reqs(cluster *cl)
{
    int i, n = 0;
    for (i = 0; i < cl->n; i++) n += nreqs(cl, i);
    return n;
}

static etcd_opts opts_for(const cluster *cl, double fail_timeout, int max_fails, bool retry)
{
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.http_host = cl->hosts;
    o.api_prefix = "/v3";
    o.timeout = 2.0;
    o.fail_timeout = fail_timeout;
    o.max_fails = max_fails;
    o.retry = retry;
    return o;
}

static void sleep_s(double s) { fs_sleep_us((long)(s * 1e6)); }

/* ids[0..n) visit the m servers cyclically in http_host order (any start). */
static bool cyclic(const int *ids, int n, int m)
{
    int i;
    for (i = 1; i < n; i++)
        if (ids[i] != (ids[i - 1] + 1) % m) return false;
    return true;
}

/* ------------------------------------------------------------------------
   Rotation
   ------------------------------------------------------------------------ */

static void test_round_robin_order(void)
{
    cluster cl;
    etcd_opts o;
    etcd *cli;
    int ids[LOG_MAX], n, i;
    REQUIRE(cluster_start(&cl, "222"));
    o = opts_for(&cl, 0.5, 1, false);
    cli = t_client(&o);
    if (!cli) { cluster_stop(&cl); REQUIRE(cli); }
    for (i = 0; i < 6; i++) CHECK(fs_get_ok(cli));
    n = log_get(ids, NULL);
    CHECK_INT(n, 6);
    CHECK(cyclic(ids, n, 3));
    for (i = 0; i < 3; i++) {
        const fs_req *q = fs_get(cl.s[i], 1);
        CHECK_INT(nreqs(&cl, i), 2);
        CHECK_INT(fs_accepts(cl.s[i]), 1);     /* one keep-alive connection each */
        CHECK(q != NULL && fs_header(q, "authorization", NULL, 0) == 0);
    }
    if (t__cur_failed) log_print();
    etcd_free(cli);
    cluster_stop(&cl);
}

/* Every kind of request takes the next endpoint: calls of every sort and
   opening a watch. */
static void test_round_robin_all_calls(void)
{
    cluster cl;
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    etcd_watcher *w;
    int ids[LOG_MAX], n, i;
    REQUIRE(cluster_start(&cl, "222"));
    o = opts_for(&cl, 0.5, 1, false);
    cli = t_client(&o);
    if (!cli) { cluster_stop(&cl); REQUIRE(cli); }
    for (i = 0; i < 2; i++) {
        CHECK(fs_get_ok(cli));
        r = etcd_set(cli, "foo", "1", NULL);
        CHECK(r != NULL && r->status == 200);
        etcd_res_free(r);
        w = etcd_watch(cli, "foo", NULL);
        if (!w) fprintf(stderr, "  etcd_watch: %s\n", etcd_errstr(cli));
        CHECK(w != NULL);
        etcd_watchcancel(w);
        r = etcd_grant(cli, 60, 0);
        CHECK(r != NULL && r->status == 200);
        etcd_res_free(r);
        r = etcd_version(cli);
        CHECK(r != NULL && r->status == 200);
        etcd_res_free(r);
        r = etcd_request(cli, "/maintenance/status", NULL, 0);
        CHECK(r != NULL && r->status == 200);
        etcd_res_free(r);
    }
    n = log_get(ids, NULL);
    CHECK_INT(n, 12);
    CHECK(cyclic(ids, n, 3));
    for (i = 0; i < 3; i++) CHECK_INT(nreqs(&cl, i), 4);
    if (t__cur_failed) log_print();
    etcd_free(cli);
    cluster_stop(&cl);
}

/* API.md: "calls, opening a watch, the GET /version probe and
   /auth/authenticate alike" each take the next healthy endpoint. With
   api_prefix unset (probe) and/or user/password (authenticate), 4 gets. */
static void probe_auth_case(bool probe, bool auth)
{
    cluster cl;
    etcd_opts o;
    etcd *cli;
    int ids[LOG_MAX], n, i, probes = 0, auths = 0;
    char targets[LOG_MAX][64];
    REQUIRE(cluster_start(&cl, "222"));
    o = opts_for(&cl, 0.5, 1, false);
    if (probe) o.api_prefix = NULL;          /* learnt from GET /version */
    if (auth) { o.user = "root"; o.password = "pw"; }
    cli = t_client(&o);
    if (!cli) { cluster_stop(&cl); REQUIRE(cli); }
    for (i = 0; i < 4; i++) CHECK(fs_get_ok(cli));
    n = log_get(ids, targets);
    for (i = 0; i < n; i++) {
        if (strcmp(targets[i], "/version") == 0) probes++;
        if (ends_with(targets[i], "/auth/authenticate")) auths++;
    }
    CHECK_INT(probes, probe ? 1 : 0);
    CHECK_INT(auths, auth ? 1 : 0);
    CHECK_INT(n, 4 + probes + auths);
    CHECK(cyclic(ids, n, 3));
    if (t__cur_failed) log_print();
    etcd_free(cli);
    cluster_stop(&cl);
}

static void test_round_robin_version_probe(void) { probe_auth_case(true, false); }
static void test_round_robin_authenticate(void)  { probe_auth_case(false, true); }

/* ------------------------------------------------------------------------
   A dead endpoint
   ------------------------------------------------------------------------ */

static void test_dead_endpoint_skipped(void)
{
    cluster cl;
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    int i, fails = 0, a0, b0;
    double t_fail = 0, t0;
    REQUIRE(cluster_start(&cl, "2d2"));
    o = opts_for(&cl, 0.5, 1, false);
    cli = t_client(&o);
    if (!cli) { cluster_stop(&cl); REQUIRE(cli); }
    for (i = 0; i < 3; i++) CHECK(etcd_endpoint_healthy(cli, cl.url[i]));

    /* one round: the dead one fails (without retry: its error comes back) */
    for (i = 0; i < 3; i++) {
        r = etcd_get(cli, "foo", NULL);
        if (!r) {
            fails++;
            t_fail = fs_now();
            CHECK_HAS(etcd_errstr(cli), cl.url[1]);
            CHECK_HAS(etcd_errstr(cli), "connect");
            CHECK(!etcd_endpoint_healthy(cli, cl.url[1]));
        } else {
            CHECK_INT(r->status, 200);
        }
        etcd_res_free(r);
    }
    CHECK_INT(fails, 1);
    CHECK(!etcd_endpoint_healthy(cli, cl.url[1]));
    CHECK(etcd_endpoint_healthy(cli, cl.url[0]));
    CHECK(etcd_endpoint_healthy(cli, cl.url[2]));

    /* skipped: the next calls all succeed, alternating between A and C */
    a0 = nreqs(&cl, 0); b0 = nreqs(&cl, 2);
    for (i = 0; i < 4; i++) CHECK(fs_get_ok(cli));
    CHECK_INT(nreqs(&cl, 0) - a0, 2);
    CHECK_INT(nreqs(&cl, 2) - b0, 2);
    CHECK(!etcd_endpoint_healthy(cli, cl.url[1]));   /* still inside fail_timeout */
    CHECK(fs_now() - t_fail < 0.5);

    /* after fail_timeout: healthy again, with no request made */
    a0 = nreqs(&cl, 0); b0 = nreqs(&cl, 2);
    t0 = t_fail + 0.5 + 0.05 - fs_now();
    if (t0 > 0) sleep_s(t0);
    CHECK(etcd_endpoint_healthy(cli, cl.url[1]));
    CHECK_INT(nreqs(&cl, 0), a0);
    CHECK_INT(nreqs(&cl, 2), b0);

    /* and it is tried again within one round, and fails again */
    fails = 0;
    for (i = 0; i < 3; i++) {
        r = etcd_get(cli, "foo", NULL);
        if (!r) {
            fails++;
            CHECK_HAS(etcd_errstr(cli), cl.url[1]);
        }
        etcd_res_free(r);
    }
    CHECK_INT(fails, 1);
    CHECK(!etcd_endpoint_healthy(cli, cl.url[1]));
    CHECK(etcd_endpoint_healthy(cli, cl.url[0]));
    CHECK(etcd_endpoint_healthy(cli, cl.url[2]));
    etcd_free(cli);
    cluster_stop(&cl);
}

/* ------------------------------------------------------------------------
   max_fails and the fail_timeout window
   ------------------------------------------------------------------------ */

/* one endpoint of kind spec ('d' dead, '5' 503), max_fails 2 */
static void max_fails_case(const char *spec)
{
    cluster cl;
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    double t0, t1;
    REQUIRE(cluster_start(&cl, spec));
    o = opts_for(&cl, 0.5, 2, false);
    cli = t_client(&o);
    if (!cli) { cluster_stop(&cl); REQUIRE(cli); }

    /* one failure: still healthy */
    r = etcd_get(cli, "foo", NULL);
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK(etcd_endpoint_healthy(cli, cl.url[0]));
    /* a second one within fail_timeout: out */
    r = etcd_get(cli, "foo", NULL);
    CHECK(r == NULL);
    t0 = fs_now();
    etcd_res_free(r);
    CHECK(!etcd_endpoint_healthy(cli, cl.url[0]));
    r = etcd_get(cli, "foo", NULL);
    CHECK(r == NULL);
    CHECK_PREFIX(etcd_errstr(cli), NO_HEALTHY);
    CHECK_INT(etcd_errcode(cli), ETCD_ENOHEALTHY);
    etcd_res_free(r);
    sleep_s(0.25);
    CHECK(!etcd_endpoint_healthy(cli, cl.url[0]));

    /* back after fail_timeout; one new failure does not take it out again */
    t1 = t0 + 0.55 - fs_now();
    if (t1 > 0) sleep_s(t1);
    CHECK(etcd_endpoint_healthy(cli, cl.url[0]));
    r = etcd_get(cli, "foo", NULL);
    CHECK(r == NULL);
    if (r == NULL) CHECK(etcd_errcode(cli) != ETCD_ENOHEALTHY);
    etcd_res_free(r);
    CHECK(etcd_endpoint_healthy(cli, cl.url[0]));

    /* two failures further apart than fail_timeout: still healthy */
    sleep_s(0.65);
    r = etcd_get(cli, "foo", NULL);
    CHECK(r == NULL);
    if (r == NULL) CHECK(etcd_errcode(cli) != ETCD_ENOHEALTHY);
    etcd_res_free(r);
    CHECK(etcd_endpoint_healthy(cli, cl.url[0]));
    etcd_free(cli);
    cluster_stop(&cl);
}

static void test_max_fails_dead(void) { max_fails_case("d"); }
static void test_max_fails_5xx(void)  { max_fails_case("5"); }

/* max_fails 1 (the default when 0): the first failure takes it out */
static void test_max_fails_default(void)
{
    cluster cl;
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    REQUIRE(cluster_start(&cl, "d2"));
    o = opts_for(&cl, 0.5, 0, false);
    cli = t_client(&o);
    if (!cli) { cluster_stop(&cl); REQUIRE(cli); }
    /* at most two calls reach the dead one */
    r = etcd_get(cli, "foo", NULL);
    if (r) { etcd_res_free(r); r = etcd_get(cli, "foo", NULL); }
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK(!etcd_endpoint_healthy(cli, cl.url[0]));
    CHECK(etcd_endpoint_healthy(cli, cl.url[1]));
    etcd_free(cli);
    cluster_stop(&cl);
}

/* ------------------------------------------------------------------------
   What counts as a failure
   ------------------------------------------------------------------------ */

static void test_5xx_counts(void)
{
    static const char *const specs[] = { "5", "0" };
    static const int statuses[] = { 503, 500 };
    int k;
    for (k = 0; k < 2; k++) {
        cluster cl;
        etcd_opts o;
        etcd *cli;
        etcd_res *r;
        char want[32];
        REQUIRE(cluster_start(&cl, specs[k]));
        o = opts_for(&cl, 5.0, 1, false);
        cli = t_client(&o);
        if (!cli) { cluster_stop(&cl); REQUIRE(cli); }
        r = etcd_get(cli, "foo", NULL);
        CHECK(r == NULL);
        etcd_res_free(r);
        snprintf(want, sizeof want, "HTTP %d", statuses[k]);
        CHECK_PREFIX(etcd_errstr(cli), want);
        CHECK(!etcd_endpoint_healthy(cli, cl.url[0]));
        etcd_free(cli);
        cluster_stop(&cl);
    }
}

static void test_watch_open_5xx_counts(void)
{
    cluster cl;
    etcd_opts o;
    etcd *cli;
    etcd_watcher *w;
    REQUIRE(cluster_start(&cl, "5"));
    o = opts_for(&cl, 5.0, 1, false);
    cli = t_client(&o);
    if (!cli) { cluster_stop(&cl); REQUIRE(cli); }
    w = etcd_watch(cli, "foo", NULL);
    CHECK(w == NULL);
    etcd_watchcancel(w);
    CHECK(!etcd_endpoint_healthy(cli, cl.url[0]));
    etcd_free(cli);
    cluster_stop(&cl);
}

static void test_4xx_does_not_count(void)
{
    cluster cl;
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    etcd_watcher *w;
    int i;
    REQUIRE(cluster_start(&cl, "4"));
    o = opts_for(&cl, 5.0, 1, false);
    cli = t_client(&o);
    if (!cli) { cluster_stop(&cl); REQUIRE(cli); }
    for (i = 0; i < 3; i++) {
        r = etcd_get(cli, "foo", NULL);
        if (!r) fprintf(stderr, "  etcd_get: %s\n", etcd_errstr(cli));
        CHECK(r != NULL);
        if (r) {
            CHECK_INT(r->status, 404);
            CHECK_INT(r->code, 5);
            CHECK_STR(r->message, "not found");
        }
        etcd_res_free(r);
        CHECK(etcd_endpoint_healthy(cli, cl.url[0]));
        r = etcd_set(cli, "foo", "1", NULL);
        CHECK(r != NULL && r->status == 404);
        etcd_res_free(r);
        CHECK(etcd_endpoint_healthy(cli, cl.url[0]));
    }
    /* a watch refused with a 4xx does not count either */
    w = etcd_watch(cli, "foo", NULL);
    CHECK(w == NULL);
    etcd_watchcancel(w);
    CHECK(etcd_endpoint_healthy(cli, cl.url[0]));
    CHECK_INT(nreqs(&cl, 0), 7);
    etcd_free(cli);
    cluster_stop(&cl);
}

static void test_idle_watch_timeout_does_not_count(void)
{
    cluster cl;
    etcd_opts o;
    etcd *cli;
    etcd_watcher *w;
    etcd_watch_opts wo;
    etcd_res *r;
    int i;
    REQUIRE(cluster_start(&cl, "w"));
    o = opts_for(&cl, 5.0, 1, false);
    cli = t_client(&o);
    if (!cli) { cluster_stop(&cl); REQUIRE(cli); }
    memset(&wo, 0, sizeof wo);
    wo.timeout = 0.15;
    w = etcd_watch(cli, "foo", &wo);
    if (!w) fprintf(stderr, "  etcd_watch: %s\n", etcd_errstr(cli));
    if (!w) { etcd_free(cli); cluster_stop(&cl); REQUIRE(w); }
    r = etcd_watch_next(w);
    CHECK(r != NULL && r->created);
    etcd_res_free(r);
    for (i = 0; i < 3; i++) {
        r = etcd_watch_next(w);
        CHECK(r == NULL);
        etcd_res_free(r);
        CHECK_STR(etcd_watch_errstr(w), "timeout");
        CHECK(etcd_endpoint_healthy(cli, cl.url[0]));
    }
    etcd_watchcancel(w);
    CHECK(fs_get_ok(cli));
    CHECK(etcd_endpoint_healthy(cli, cl.url[0]));
    etcd_free(cli);
    cluster_stop(&cl);
}

/* A request that times out (not an idle watch) is a transport failure. */
static void test_request_timeout_counts(void)
{
    cluster cl;
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    REQUIRE(cluster_start(&cl, "s"));
    o = opts_for(&cl, 5.0, 1, false);
    o.timeout = 0.2;
    cli = t_client(&o);
    if (!cli) { cluster_stop(&cl); REQUIRE(cli); }
    r = etcd_get(cli, "foo", NULL);
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_STR(etcd_errstr(cli), "timeout");
    CHECK(!etcd_endpoint_healthy(cli, cl.url[0]));
    etcd_free(cli);
    cluster_stop(&cl);
}

/* ------------------------------------------------------------------------
   No endpoint healthy
   ------------------------------------------------------------------------ */

static void none_healthy_case(bool retry)
{
    cluster cl;
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    etcd_watcher *w;
    double t0;
    int i;
    REQUIRE(cluster_start(&cl, "d5"));
    o = opts_for(&cl, 5.0, 1, retry);
    cli = t_client(&o);
    if (!cli) { cluster_stop(&cl); REQUIRE(cli); }
    for (i = 0; i < 2 && (etcd_endpoint_healthy(cli, cl.url[0]) ||
                          etcd_endpoint_healthy(cli, cl.url[1])); i++) {
        r = etcd_get(cli, "foo", NULL);
        CHECK(r == NULL);
        etcd_res_free(r);
    }
    CHECK(!etcd_endpoint_healthy(cli, cl.url[0]));
    CHECK(!etcd_endpoint_healthy(cli, cl.url[1]));
    i = nreqs(&cl, 1);

    t0 = fs_now();
    r = etcd_get(cli, "foo", NULL);
    CHECK_TIME(fs_now() - t0, 0, 0.05);
    CHECK(r == NULL);
    CHECK_PREFIX(etcd_errstr(cli), NO_HEALTHY);
    CHECK_INT(etcd_errcode(cli), ETCD_ENOHEALTHY);
    etcd_res_free(r);

    t0 = fs_now();
    r = etcd_set(cli, "foo", "1", NULL);
    CHECK_TIME(fs_now() - t0, 0, 0.05);
    CHECK(r == NULL);
    CHECK_PREFIX(etcd_errstr(cli), NO_HEALTHY);
    CHECK_INT(etcd_errcode(cli), ETCD_ENOHEALTHY);
    etcd_res_free(r);

    t0 = fs_now();
    w = etcd_watch(cli, "foo", NULL);
    CHECK_TIME(fs_now() - t0, 0, 0.05);
    CHECK(w == NULL);
    CHECK_PREFIX(etcd_errstr(cli), NO_HEALTHY);
    CHECK_INT(etcd_errcode(cli), ETCD_ENOHEALTHY);
    etcd_watchcancel(w);

    t0 = fs_now();
    r = etcd_version(cli);
    CHECK_TIME(fs_now() - t0, 0, 0.05);
    CHECK(r == NULL);
    CHECK_PREFIX(etcd_errstr(cli), NO_HEALTHY);
    CHECK_INT(etcd_errcode(cli), ETCD_ENOHEALTHY);
    etcd_res_free(r);

    CHECK_INT(nreqs(&cl, 1), i);         /* nothing was sent */
    etcd_free(cli);
    cluster_stop(&cl);
}

static void test_none_healthy(void)       { none_healthy_case(false); }
static void test_none_healthy_retry(void) { none_healthy_case(true); }

/* ------------------------------------------------------------------------
   Retry
   ------------------------------------------------------------------------ */

/* A read that got a 503 is resent to the next endpoint. */
static void test_retry_read_after_5xx(void)
{
    cluster cl;
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    int i;
    REQUIRE(cluster_start(&cl, "52"));
    o = opts_for(&cl, 5.0, 1, true);
    cli = t_client(&o);
    if (!cli) { cluster_stop(&cl); REQUIRE(cli); }
    /* wherever the rotation starts, within two gets one reaches A */
    for (i = 0; i < 2; i++) {
        CHECK(fs_get_ok(cli));
        CHECK_STR(etcd_errstr(cli), "");
    }
    CHECK_INT(nreqs(&cl, 0), 1);
    CHECK_INT(nreqs(&cl, 1), 2);
    CHECK(!etcd_endpoint_healthy(cli, cl.url[0]));
    CHECK(etcd_endpoint_healthy(cli, cl.url[1]));
    /* the other reads too: readdir, timetolive, leases, keepalive, version */
    etcd_free(cli);
    cluster_stop(&cl);

    {
        int k;
        for (k = 0; k < 5; k++) {
            REQUIRE(cluster_start(&cl, "52"));
            o = opts_for(&cl, 5.0, 1, true);
            cli = t_client(&o);
            if (!cli) { cluster_stop(&cl); REQUIRE(cli); }
            for (i = 0; i < 2; i++) {
                r = k == 0 ? etcd_readdir(cli, "dir/", NULL) :
                    k == 1 ? etcd_timetolive(cli, 5, false) :
                    k == 2 ? etcd_leases(cli) :
                    k == 3 ? etcd_keepalive(cli, 5) : etcd_version(cli);
                if (!r) fprintf(stderr, "  read %d: %s\n", k, etcd_errstr(cli));
                CHECK(r != NULL && r->status == 200);
                etcd_res_free(r);
            }
            CHECK_INT(nreqs(&cl, 0), 1);
            CHECK_INT(nreqs(&cl, 1), 2);
            CHECK(!etcd_endpoint_healthy(cli, cl.url[0]));
            if (t__cur_failed) { fprintf(stderr, "  (read kind %d)\n", k); log_print(); }
            etcd_free(cli);
            cluster_stop(&cl);
        }
    }
}

/* Opening a watch is retried like a read. */
static void test_retry_watch_open(void)
{
    cluster cl;
    etcd_opts o;
    etcd *cli;
    etcd_watcher *w;
    etcd_res *r;
    int i;
    REQUIRE(cluster_start(&cl, "5w"));
    o = opts_for(&cl, 5.0, 1, true);
    cli = t_client(&o);
    if (!cli) { cluster_stop(&cl); REQUIRE(cli); }
    for (i = 0; i < 2; i++) {
        w = etcd_watch(cli, "foo", NULL);
        if (!w) fprintf(stderr, "  etcd_watch: %s\n", etcd_errstr(cli));
        CHECK(w != NULL);
        if (w) {
            r = etcd_watch_next(w);
            CHECK(r != NULL && r->created);
            etcd_res_free(r);
        }
        etcd_watchcancel(w);
    }
    CHECK_INT(nreqs(&cl, 0), 1);
    CHECK_INT(nreqs(&cl, 1), 2);
    CHECK(!etcd_endpoint_healthy(cli, cl.url[0]));
    etcd_free(cli);
    cluster_stop(&cl);
}

/* A write that got a 5xx may have been applied: never sent again. */
static void test_retry_write_not_resent_after_5xx(void)
{
    int k;
    for (k = 0; k < 4; k++) {
        cluster cl;
        etcd_opts o;
        etcd *cli;
        etcd_res *r;
        int i, hit = 0;
        REQUIRE(cluster_start(&cl, "52"));
        o = opts_for(&cl, 5.0, 1, true);
        cli = t_client(&o);
        if (!cli) { cluster_stop(&cl); REQUIRE(cli); }
        for (i = 0; i < 2 && !hit; i++) {
            int a0 = nreqs(&cl, 0), b0 = nreqs(&cl, 1);
            etcd_op op;
            etcd_compare cmp;
            memset(&op, 0, sizeof op);
            memset(&cmp, 0, sizeof cmp);
            op.type = ETCD_OP_PUT; op.key = "foo"; op.value = "1";
            cmp.key = "foo"; cmp.target = ETCD_CMP_VERSION;
            r = k == 0 ? etcd_set(cli, "foo", "1", NULL) :
                k == 1 ? etcd_delete(cli, "foo", NULL) :
                k == 2 ? etcd_txn(cli, &cmp, 1, &op, 1, NULL, 0, NULL) : etcd_grant(cli, 60, 0);
            if (nreqs(&cl, 0) > a0) {          /* it reached A */
                hit = 1;
                CHECK(r == NULL);
                CHECK_PREFIX(etcd_errstr(cli), "HTTP 503");
                CHECK_HAS(etcd_errstr(cli), "etcdserver: leader changed");
                CHECK_INT(nreqs(&cl, 1), b0);  /* B saw nothing */
                CHECK(!etcd_endpoint_healthy(cli, cl.url[0]));
            } else {
                CHECK(r != NULL && r->status == 200);
            }
            etcd_res_free(r);
        }
        CHECK(hit);
        if (t__cur_failed) { fprintf(stderr, "  (write kind %d)\n", k); log_print(); }
        etcd_free(cli);
        cluster_stop(&cl);
    }
}

/* A write whose connect was refused was not sent: it goes to the next one. */
static void test_retry_write_after_refused_connect(void)
{
    cluster cl;
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    int i;
    REQUIRE(cluster_start(&cl, "d2"));
    o = opts_for(&cl, 5.0, 1, true);
    cli = t_client(&o);
    if (!cli) { cluster_stop(&cl); REQUIRE(cli); }
    for (i = 0; i < 2; i++) {
        r = etcd_set(cli, "foo", "1", NULL);
        if (!r) fprintf(stderr, "  etcd_set: %s\n", etcd_errstr(cli));
        CHECK(r != NULL && r->status == 200);
        CHECK_STR(etcd_errstr(cli), "");
        etcd_res_free(r);
    }
    CHECK_INT(nreqs(&cl, 1), 2);
    CHECK(!etcd_endpoint_healthy(cli, cl.url[0]));
    CHECK(etcd_endpoint_healthy(cli, cl.url[1]));
    etcd_free(cli);
    cluster_stop(&cl);

    /* the same for a txn and a grant */
    REQUIRE(cluster_start(&cl, "d2"));
    o = opts_for(&cl, 5.0, 1, true);
    cli = t_client(&o);
    if (!cli) { cluster_stop(&cl); REQUIRE(cli); }
    for (i = 0; i < 2; i++) {
        r = etcd_grant(cli, 60, 0);
        CHECK(r != NULL && r->status == 200);
        etcd_res_free(r);
    }
    CHECK_INT(nreqs(&cl, 1), 2);
    CHECK(!etcd_endpoint_healthy(cli, cl.url[0]));
    etcd_free(cli);
    cluster_stop(&cl);
}

/* A read that timed out is tried on the next endpoint; a write that timed
   out after it was sent is not. */
static void test_retry_after_timeout(void)
{
    int k;
    for (k = 0; k < 2; k++) {
        cluster cl;
        etcd_opts o;
        etcd *cli;
        etcd_res *r;
        int i, hit = 0;
        REQUIRE(cluster_start(&cl, "s2"));
        o = opts_for(&cl, 5.0, 1, true);
        o.timeout = 0.2;
        cli = t_client(&o);
        if (!cli) { cluster_stop(&cl); REQUIRE(cli); }
        for (i = 0; i < 2 && !hit; i++) {
            int a0 = nreqs(&cl, 0), b0 = nreqs(&cl, 1);
            r = k == 0 ? etcd_get(cli, "foo", NULL) : etcd_set(cli, "foo", "1", NULL);
            if (nreqs(&cl, 0) > a0) {          /* it reached the silent one */
                hit = 1;
                CHECK(!etcd_endpoint_healthy(cli, cl.url[0]));
                if (k == 0) {
                    if (!r) fprintf(stderr, "  etcd_get: %s\n", etcd_errstr(cli));
                    CHECK(r != NULL && r->status == 200);
                    CHECK_INT(nreqs(&cl, 1), b0 + 1);
                } else {
                    CHECK(r == NULL);
                    CHECK_STR(etcd_errstr(cli), "timeout");
                    CHECK_INT(nreqs(&cl, 1), b0);   /* not sent twice */
                }
            } else {
                CHECK(r != NULL && r->status == 200);
            }
            etcd_res_free(r);
        }
        CHECK(hit);
        etcd_free(cli);
        cluster_stop(&cl);
    }
}

/* Without retry a failed call is not tried again anywhere. */
static void test_no_retry_by_default(void)
{
    cluster cl;
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    int i, fails = 0;
    REQUIRE(cluster_start(&cl, "52"));
    o = opts_for(&cl, 5.0, 1, false);
    cli = t_client(&o);
    if (!cli) { cluster_stop(&cl); REQUIRE(cli); }
    for (i = 0; i < 2; i++) {
        int b0 = nreqs(&cl, 1), a0 = nreqs(&cl, 0);
        r = etcd_get(cli, "foo", NULL);
        if (nreqs(&cl, 0) > a0) {
            fails++;
            CHECK(r == NULL);
            CHECK_PREFIX(etcd_errstr(cli), "HTTP 503");
            CHECK_INT(nreqs(&cl, 1), b0);
        }
        etcd_res_free(r);
    }
    CHECK_INT(fails, 1);
    etcd_free(cli);
    cluster_stop(&cl);
}

/* Tries are bounded by endpoints * max_fails + 1; all down: no healthy. */
static void retry_bound_case(int max_fails)
{
    cluster cl;
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    int n;
    REQUIRE(cluster_start(&cl, "555"));
    o = opts_for(&cl, 5.0, max_fails, true);
    cli = t_client(&o);
    if (!cli) { cluster_stop(&cl); REQUIRE(cli); }
    r = etcd_get(cli, "foo", NULL);
    CHECK(r == NULL);
    etcd_res_free(r);
    n = total_reqs(&cl);
    CHECK(n <= 3 * max_fails + 1);
    CHECK(n >= 3 * max_fails);           /* every healthy endpoint was tried */
    CHECK_PREFIX(etcd_errstr(cli), NO_HEALTHY);
    CHECK_INT(etcd_errcode(cli), ETCD_ENOHEALTHY);
    CHECK(!etcd_endpoint_healthy(cli, cl.url[0]));
    CHECK(!etcd_endpoint_healthy(cli, cl.url[1]));
    CHECK(!etcd_endpoint_healthy(cli, cl.url[2]));
    /* and the next call fails at once, sending nothing */
    r = etcd_get(cli, "foo", NULL);
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_PREFIX(etcd_errstr(cli), NO_HEALTHY);
    CHECK_INT(etcd_errcode(cli), ETCD_ENOHEALTHY);
    CHECK_INT(total_reqs(&cl), n);
    if (t__cur_failed) { fprintf(stderr, "  (max_fails %d, %d requests)\n", max_fails, n); log_print(); }
    etcd_free(cli);
    cluster_stop(&cl);
}

static void test_retry_bounded(void)
{
    retry_bound_case(1);
    retry_bound_case(2);
}

/* ------------------------------------------------------------------------
   etcd_endpoint_healthy's argument
   ------------------------------------------------------------------------ */

static void test_healthy_exact_string(void)
{
    cluster cl;
    etcd_opts o;
    etcd *cli;
    char s[700];
    int port;
    REQUIRE(cluster_start(&cl, "22"));
    o = opts_for(&cl, 5.0, 1, false);
    cli = t_client(&o);
    if (!cli) { cluster_stop(&cl); REQUIRE(cli); }
    port = cl.s[0]->port;
    CHECK(etcd_endpoint_healthy(cli, cl.url[0]));
    CHECK(etcd_endpoint_healthy(cli, cl.url[1]));
    snprintf(s, sizeof s, "%s/", cl.url[0]);
    CHECK(!etcd_endpoint_healthy(cli, s));
    snprintf(s, sizeof s, "127.0.0.1:%d", port);
    CHECK(!etcd_endpoint_healthy(cli, s));
    snprintf(s, sizeof s, "http://localhost:%d", port);
    CHECK(!etcd_endpoint_healthy(cli, s));
    snprintf(s, sizeof s, "HTTP://127.0.0.1:%d", port);
    CHECK(!etcd_endpoint_healthy(cli, s));
    CHECK(!etcd_endpoint_healthy(cli, cl.hosts));
    CHECK(!etcd_endpoint_healthy(cli, ""));
    CHECK(!etcd_endpoint_healthy(cli, "http://127.0.0.1:2379"));
    etcd_free(cli);

    /* an endpoint written with a name is known by that name */
    snprintf(s, sizeof s, "http://localhost:%d,%s", port, cl.url[1]);
    o.http_host = s;
    cli = t_client(&o);
    if (!cli) { cluster_stop(&cl); REQUIRE(cli); }
    {
        char name[64];
        snprintf(name, sizeof name, "http://localhost:%d", port);
        CHECK(etcd_endpoint_healthy(cli, name));
        CHECK(!etcd_endpoint_healthy(cli, cl.url[0]));
        CHECK(etcd_endpoint_healthy(cli, cl.url[1]));
    }
    etcd_free(cli);

    /* ... and one written with a trailing slash by that spelling */
    snprintf(s, sizeof s, "%s/,%s", cl.url[0], cl.url[1]);
    o.http_host = s;
    cli = t_client(&o);
    if (!cli) { cluster_stop(&cl); REQUIRE(cli); }
    {
        char name[320];
        snprintf(name, sizeof name, "%s/", cl.url[0]);
        CHECK(etcd_endpoint_healthy(cli, name));
        CHECK(!etcd_endpoint_healthy(cli, cl.url[0]));
        CHECK(fs_get_ok(cli));                   /* and it is a working endpoint */
        CHECK(fs_get_ok(cli));
        CHECK_INT(nreqs(&cl, 0), 1);
        CHECK_INT(nreqs(&cl, 1), 1);
        if (nreqs(&cl, 0) == 1) CHECK_STR(fs_get(cl.s[0], 0)->target, "/v3/kv/range");
    }
    etcd_free(cli);
    cluster_stop(&cl);
}

int main(void)
{
    /* fakeserver.h helpers this suite has no use for */
    (void)fs_reset; (void)fs_send_slow; (void)fs_go; (void)fs_wait_go;
    RUN(test_round_robin_order);
    RUN(test_round_robin_all_calls);
    RUN(test_round_robin_version_probe);
    RUN(test_round_robin_authenticate);
    RUN(test_dead_endpoint_skipped);
    RUN(test_max_fails_dead);
    RUN(test_max_fails_5xx);
    RUN(test_max_fails_default);
    RUN(test_5xx_counts);
    RUN(test_watch_open_5xx_counts);
    RUN(test_4xx_does_not_count);
    RUN(test_idle_watch_timeout_does_not_count);
    RUN(test_request_timeout_counts);
    RUN(test_none_healthy);
    RUN(test_none_healthy_retry);
    RUN(test_retry_read_after_5xx);
    RUN(test_retry_watch_open);
    RUN(test_retry_write_not_resent_after_5xx);
    RUN(test_retry_write_after_refused_connect);
    RUN(test_retry_after_timeout);
    RUN(test_no_retry_by_default);
    RUN(test_retry_bounded);
    RUN(test_healthy_exact_string);
    return test_summary();
}
