/* test_recovery.c - an endpoint that comes back is used again at once,
   with the default options (max_fails 1, fail_timeout 10 s), against a
   real etcd on 127.0.0.1 that the test kills and restarts.

   A dead endpoint still fails fast: the calls right after the failure that
   took it out fail at once with "has no healthy etcd endpoint available".
   But while every endpoint is out, one call a second probes the endpoint
   due back first (a half-open breaker), and any answer from an endpoint
   ends its exclusion: after etcd's return a put, a lock and a mirror work
   within 1.5 s, not after fail_timeout. A lease keeper's keepalive, which
   goes to an excluded endpoint anyway, takes it back too. */
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
#include "harness.h"

#define NO_HEALTHY "has no healthy etcd endpoint available"

static test_etcd srv;

static etcd *defaults_client(void)
{
    return test_client_at(srv.url, NULL, 2.0, false, 0, 0);   /* max_fails 1, fail_timeout 10 s */
}

static void sleep_s(double s)
{
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0) {}
}

/* Three calls to the dead endpoint: the first finds it dead, the next two
   fail at once without trying it. */
static void three_fast_failures(etcd *c)
{
    int i;
    for (i = 0; i < 3; i++) {
        double t0 = test_now();
        etcd_res *r = etcd_get(c, "/rec/x", NULL);
        CHECK(r == NULL);
        etcd_res_free(r);
        CHECK(test_now() - t0 < 0.3 * t_time_scale());
        if (i) CHECK_HAS(etcd_errstr(c), NO_HEALTHY);
        if (i) CHECK_INT(etcd_errcode(c), ETCD_ENOHEALTHY);
    }
}

static void test_dead_fails_fast(void)
{
    etcd *c = defaults_client();
    REQUIRE(c);
    test_etcd_kill(&srv);
    three_fast_failures(c);
    CHECK(!etcd_endpoint_healthy(c, srv.url));
    REQUIRE(test_etcd_restart(&srv) == 0);
    etcd_free(c);
}

/* The scenario: etcd killed, back after 2 s; the put, the lock and
   the mirror all work within 1.5 s of its return. */
static void test_back_at_once(void)
{
    etcd *c = defaults_client();
    etcd_watch_opts wo;
    etcd_watcher *m;
    etcd_res *r;
    double back, put_at = 0, lock_at = 0, seen_at = 0;
    int64_t lease;
    REQUIRE(c);
    memset(&wo, 0, sizeof wo);
    wo.timeout = 0.1;
    m = etcd_mirror(c, "/rec/m/", &wo);
    REQUIRE(m);
    while ((r = etcd_watch_next(m)) != NULL) etcd_res_free(r);   /* the snapshot, and quiet */
    test_etcd_kill(&srv);
    three_fast_failures(c);
    {
        double until = test_now() + 2.0;                 /* the program goes on calling */
        while (test_now() < until) {
            etcd_res_free(etcd_get(c, "/rec/x", NULL));
            etcd_res_free(etcd_watch_next(m));
            sleep_s(0.05);
        }
    }
    REQUIRE(test_etcd_restart(&srv) == 0);
    back = test_now();
    while (!put_at && test_now() < back + 5) {
        if ((r = etcd_set(c, "/rec/m/k", "1", NULL)) != NULL) put_at = test_now();
        etcd_res_free(r);
        if (!put_at) sleep_s(0.05);
    }
    CHECK(put_at > 0 && put_at - back < 1.5);
    CHECK(etcd_endpoint_healthy(c, srv.url));
    r = etcd_grant(c, 10, 0);
    lease = r ? r->id : 0;
    etcd_res_free(r);
    r = lease ? etcd_lock(c, "/rec/lock", lease, 2) : NULL;
    if (r && r->status == 200) lock_at = test_now();
    etcd_res_free(r);
    CHECK(lock_at > 0 && lock_at - back < 1.5);
    while (!seen_at && test_now() < back + 5) {
        if ((r = etcd_watch_next(m)) != NULL && r->nevents && !strcmp(r->events[r->nevents - 1].kv.key, "/rec/m/k"))
            seen_at = test_now();
        etcd_res_free(r);
    }
    CHECK(seen_at > 0 && seen_at - back < 1.5);
    fprintf(stderr, "  (info) after etcd's return: put %.2f s, lock %.2f s, mirror %.2f s\n", put_at - back,
            lock_at - back, seen_at - back);
    etcd_watchcancel(m);
    etcd_free(c);
}

/* At most one probe a second while every endpoint is out: a tight loop of
   calls against a dead etcd tries it about once a second, the rest fail
   at once. */
static void test_probe_rate(void)
{
    etcd *c = defaults_client();
    int probes = 0, calls = 0;
    double until;
    REQUIRE(c);
    test_etcd_kill(&srv);
    etcd_res_free(etcd_get(c, "/rec/x", NULL));        /* takes it out */
    until = test_now() + 2.5;
    while (test_now() < until) {
        etcd_res *r = etcd_get(c, "/rec/x", NULL);
        calls++;
        if (!r && etcd_errcode(c) != ETCD_ENOHEALTHY) probes++;   /* it went to etcd: refused */
        etcd_res_free(r);
        sleep_s(0.01);
    }
    fprintf(stderr, "  (info) %d calls in 2.5 s, %d probes\n", calls, probes);
    CHECK(probes >= 1 && probes <= 3);
    CHECK(calls > 20);
    REQUIRE(test_etcd_restart(&srv) == 0);
    etcd_free(c);
}

/* A lease keeper's keepalive goes to an excluded endpoint anyway; its
   answer takes the endpoint back. */
static void test_keepalive_takes_back(void)
{
    etcd *c = defaults_client();
    etcd_lease *l;
    double until;
    REQUIRE(c);
    l = etcd_lease_keep(c, 3, 0);
    REQUIRE(l);
    test_etcd_kill(&srv);
    etcd_res_free(etcd_get(c, "/rec/x", NULL));        /* out, for fail_timeout (10 s) */
    CHECK(!etcd_endpoint_healthy(c, srv.url));
    REQUIRE(test_etcd_restart(&srv) == 0);
    until = test_now() + 3;
    while (!etcd_endpoint_healthy(c, srv.url) && test_now() < until) {
        double due = etcd_lease_due(l);
        if (due > 0) sleep_s(due < 0.2 ? due : 0.2);
        CHECK_INT(etcd_lease_tick(l), 0);
    }
    CHECK(etcd_endpoint_healthy(c, srv.url));
    etcd_lease_stop(l, true);
    etcd_free(c);
}

int main(void)
{
    if (test_etcd_start(&srv, NULL) != 0) return 1;
    RUN(test_dead_fails_fast);
    RUN(test_back_at_once);
    RUN(test_probe_rate);
    RUN(test_keepalive_takes_back);
    test_etcd_stop(&srv);
    return test_summary();
}
