/* test_session.c - etcd_session: a kept lease that survives its loss,
   against real etcd (a single member the test kills and restarts; a
   3-member cluster for a member kill).

   - etcd down longer than the TTL, then back: LOST, then RECOVERED, and
     the registered keys are back, under a new lease, within one keepalive
     period of etcd's return;
   - a revoke from outside: LOST, then RECOVERED, keys back;
   - a member killed on a 3-member cluster: the lease is kept, nothing is
     put again (the keys keep their revision);
   - keys and values are bytes; a tick never blocks longer than the
     client's timeout. */
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
#include "harness.h"

static test_etcd srv;

static void sleep_s(double s)
{
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0) {}
}

/* Tick s as a loop would, for up to max_s or until event happens; the
   longest tick in *longest. */
static bool tick_until(etcd_session *s, etcd_session_event event, double max_s, double *longest)
{
    double until = test_now() + max_s;
    while (test_now() < until) {
        double due = etcd_session_due(s), t0;
        etcd_session_event e;
        if (due > 0) sleep_s(due < 0.05 ? due : 0.05);
        t0 = test_now();
        e = etcd_session_tick(s);
        if (longest && test_now() - t0 > *longest) *longest = test_now() - t0;
        if (e == event) return true;
    }
    return false;
}

/* key's lease (0: no such key) and mod revision, read with c. */
static int64_t lease_of(etcd *c, const char *key, size_t len, int64_t *mod)
{
    etcd_get_opts o;
    etcd_res *r;
    int64_t lease = 0;
    memset(&o, 0, sizeof o);
    o.key_len = len;
    r = etcd_get(c, key, &o);
    if (r && r->status == 200 && r->nkvs) {
        lease = r->kvs[0].lease;
        if (mod) *mod = r->kvs[0].mod_revision;
    }
    etcd_res_free(r);
    return lease;
}

static const char bkey[] = "/sess/bin\0\xff";   /* a key holding NUL and 0xff bytes */

static etcd_session *registered(etcd *c, int64_t ttl)
{
    etcd_session *s = etcd_session_new(c, ttl);
    if (!s) { fprintf(stderr, "  etcd_session_new: %s\n", etcd_errstr(c)); return NULL; }
    CHECK_INT(etcd_session_put(s, "/sess/a", 0, "\"A\"", 0), 0);
    CHECK_INT(etcd_session_put(s, bkey, sizeof bkey - 1, "\"B\"", 0), 0);
    CHECK_INT(etcd_session_put(s, "/sess/a", 0, "\"A2\"", 0), 0);   /* again: the new value */
    CHECK(etcd_session_lease(s) > 0);
    CHECK_INT(lease_of(c, "/sess/a", 0, NULL), etcd_session_lease(s));
    CHECK_INT(lease_of(c, bkey, sizeof bkey - 1, NULL), etcd_session_lease(s));
    return s;
}

static void check_back(etcd *c, etcd_session *s)
{
    etcd_res *r = etcd_get(c, "/sess/a", NULL);
    CHECK(r && r->nkvs == 1 && !strcmp(r->kvs[0].value, "\"A2\""));
    etcd_res_free(r);
    CHECK(etcd_session_lease(s) > 0);
    CHECK_INT(lease_of(c, "/sess/a", 0, NULL), etcd_session_lease(s));
    CHECK_INT(lease_of(c, bkey, sizeof bkey - 1, NULL), etcd_session_lease(s));
}

/* etcd down for longer than the TTL (2 s), then back: the keys are back
   within one keepalive period (TTL / 3) of its return, plus a tick. */
static void test_down_past_ttl(void)
{
    etcd *c = test_client_at(srv.url, NULL, 1.0, false, 0, 0);   /* the defaults, a 1 s timeout */
    etcd_session *s;
    int64_t old;
    double back, longest = 0;
    REQUIRE(c);
    s = registered(c, 2);
    REQUIRE(s);
    old = etcd_session_lease(s);
    test_etcd_kill(&srv);
    CHECK(tick_until(s, ETCD_SESSION_LOST, 4.0, &longest));
    CHECK_INT(etcd_session_lease(s), 0);
    CHECK(tick_until(s, ETCD_SESSION_RECOVERED, 1.0, &longest) == false);   /* etcd is still down */
    REQUIRE(test_etcd_restart(&srv) == 0);
    back = test_now();
    CHECK(tick_until(s, ETCD_SESSION_RECOVERED, 5.0, &longest));
    fprintf(stderr, "  (info) keys back %.2f s after etcd's return; longest tick %.2f s\n", test_now() - back,
            longest);
    CHECK(test_now() - back < 2.0 / 3 + 1.0);
    CHECK(longest < 1.0 + 0.5 * t_time_scale());                  /* the client's timeout, and slack */
    CHECK(etcd_session_lease(s) != old);
    check_back(c, s);
    etcd_session_free(s, true);
    CHECK_INT(lease_of(c, "/sess/a", 0, NULL), 0);                /* revoked: gone */
    etcd_free(c);
}

/* A revoke from outside: LOST, RECOVERED, keys back. */
static void test_revoked(void)
{
    etcd *c = test_client(&srv, NULL);
    etcd_session *s;
    REQUIRE(c);
    s = registered(c, 5);
    REQUIRE(s);
    etcd_res_free(etcd_revoke(c, etcd_session_lease(s)));
    CHECK_INT(lease_of(c, "/sess/a", 0, NULL), 0);
    CHECK(tick_until(s, ETCD_SESSION_LOST, 4.0, NULL));             /* the next keepalive finds it gone */
    CHECK(tick_until(s, ETCD_SESSION_RECOVERED, 3.0, NULL));
    check_back(c, s);
    etcd_session_free(s, true);
    etcd_free(c);
}

static void test_bad_input(void)
{
    etcd *c = test_client(&srv, NULL);
    etcd_session *s;
    REQUIRE(c);
    CHECK(etcd_session_new(c, 0) == NULL);
    CHECK_INT(etcd_errcode(c), ETCD_EARG);
    s = etcd_session_new(c, 5);
    REQUIRE(s);
    CHECK_INT(etcd_session_put(s, "", 0, "1", 0), -1);
    CHECK_INT(etcd_errcode(c), ETCD_EARG);
    CHECK_INT(etcd_session_put(s, "/k", 0, NULL, 0), -1);
    CHECK_INT(etcd_errcode(c), ETCD_EARG);
    CHECK_INT(etcd_session_put(s, "/k", 0, "not json", 0), -1);     /* the JSON serializer */
    CHECK_INT(etcd_errcode(c), ETCD_EARG);
    CHECK_INT(etcd_session_tick(NULL), ETCD_SESSION_OK);
    CHECK_INT(etcd_session_lease(NULL), 0);
    etcd_session_free(NULL, true);
    etcd_session_free(s, true);
    etcd_free(c);
}

/* A member killed on a 3-member cluster: the lease lives on (keepalives
   go to the others), nothing is put again. */
static void test_member_kill(void)
{
    test_etcd m[3];
    char hosts[256];
    etcd *c;
    etcd_session *s;
    int64_t mod0 = 0, mod1 = 0, lease;
    memset(m, 0, sizeof m);
    REQUIRE(test_cluster_start(m, 3, NULL) == 0);
    test_cluster_hosts(m, 3, -1, hosts, sizeof hosts);
    c = test_client_at(hosts, NULL, 1.0, true, 0, 0);
    s = c ? registered(c, 3) : NULL;
    if (!s) { CHECK(!"a session"); goto out; }
    lease = etcd_session_lease(s);
    CHECK(lease_of(c, "/sess/a", 0, &mod0) == lease);
    test_etcd_kill(&m[0]);
    CHECK(!tick_until(s, ETCD_SESSION_LOST, 4.0, NULL));           /* past the TTL: still alive */
    CHECK_INT(etcd_session_lease(s), lease);
    CHECK(lease_of(c, "/sess/a", 0, &mod1) == lease);
    CHECK_INT(mod1, mod0);                                          /* not put again */
out:
    etcd_session_free(s, true);
    etcd_free(c);
    test_cluster_stop(m, 3);
}

int main(void)
{
    if (test_etcd_start(&srv, NULL) != 0) return 1;
    RUN(test_bad_input);
    RUN(test_revoked);
    RUN(test_down_past_ttl);
    test_etcd_stop(&srv);
    RUN(test_member_kill);
    return test_summary();
}
