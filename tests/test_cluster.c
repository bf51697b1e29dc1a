/* test_cluster.c - etcd.h against a real 3-member etcd cluster: the
   guarantees of README "Running against a cluster" and "Watches".

   Members are killed and restarted by PID (harness.h). Which member is
   the leader or serves a watch is learnt from the members themselves
   (POST /v3/maintenance/status over raw HTTP), so the member ids the
   client reports are checked against an independent source. The kills in
   the set+get loops happen between two calls and hit a follower: a write
   that is in flight when its member dies, or that reaches a member while
   the cluster elects a new leader, may have been applied, and README says
   such a write returns its error; those cases are etcd's, not the
   client's, and are not what these loops measure. Reads are resent
   always, so a get-only loop has its member killed at an unchosen moment.
   Tests that need a dead member reuse the one the previous test left down
   (or kill one); each test first restarts whatever a failed predecessor
   left down. The no-quorum test runs last and brings the cluster back. */
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
#include "harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define NM 3
static test_etcd m[NM];
static uint64_t ids[NM];        /* member ids, from the members themselves */
static char hosts[256];         /* every client URL, comma-separated */
static int started;

/* The index of the member with this id, or -1. */
static int member_of(uint64_t id)
{
    int i;
    for (i = 0; i < NM; i++) if (id && ids[i] == id) return i;
    return -1;
}

/* Restart every member a failed earlier test left down. 1 when all run. */
static int all_up(void)
{
    int i, ok = 1;
    for (i = 0; i < NM; i++)
        if (m[i].pid <= 0 && test_etcd_restart(&m[i]) != 0) ok = 0;
    return ok;
}

/* A running member that is not the leader, other than `not`; -1 if none. */
static int a_follower(int not)
{
    int leader = test_cluster_leader(m, NM, 5.0), i;
    if (leader < 0) {
        fprintf(stderr, "  the members agree on no leader\n");
        return -1;
    }
    for (i = 0; i < NM; i++)
        if (i != leader && i != not && m[i].pid > 0) return i;
    return -1;
}

static int down_member(void)
{
    int i;
    for (i = 0; i < NM; i++) if (m[i].pid <= 0) return i;
    return -1;
}

/* readdir dir holds exactly prefix000 .. prefix(n-1) = 0 .. n-1. */
static void check_dir(etcd *c, const char *dir, const char *prefix, int n)
{
    etcd_get_opts go;
    etcd_res *r;
    int i;
    memset(&go, 0, sizeof go);
    go.sort_order = 1;
    r = etcd_readdir(c, dir, &go);
    CHECK(r && r->status == 200);
    if (!r || r->status != 200) {
        fprintf(stderr, "  readdir %s: %s\n", dir, r ? r->body : etcd_errstr(c));
        etcd_res_free(r);
        return;
    }
    CHECK_INT(r->nkvs, n);
    for (i = 0; i < n && (size_t)i < r->nkvs; i++) {
        char key[64], val[16];
        snprintf(key, sizeof key, "%s%03d", prefix, i);
        snprintf(val, sizeof val, "%d", i);
        test_check_kv(&r->kvs[i], key, val);
    }
    etcd_res_free(r);
}

/* ---- the cluster ------------------------------------------------------ */

static void test_cluster_up(void)
{
    int i, j;
    REQUIRE(test_cluster_start(m, NM, NULL) == 0);
    started = 1;
    for (i = 0; i < NM; i++) REQUIRE(test_member_status(&m[i], &ids[i], NULL) == 0);
    test_cluster_hosts(m, NM, -1, hosts, sizeof hosts);
    for (i = 0; i < NM; i++)
        for (j = i + 1; j < NM; j++) CHECK(ids[i] != ids[j]);
    CHECK(test_cluster_leader(m, NM, 5.0) >= 0);
}

/* ---- rotation --------------------------------------------------------- */

/* Successive calls (reads and writes alike) go to the members in turn:
   three distinct member ids, then the same cycle again. */
static void test_round_robin(void)
{
    etcd *c;
    int served[9], i, j;
    REQUIRE(all_up());
    REQUIRE((c = test_client_at(hosts, NULL, 3.0, false, 0, 0)) != NULL);
    for (i = 0; i < 9; i++) {
        etcd_res *r = i % 2 ? etcd_get(c, "/t1/k", NULL) : etcd_set(c, "/t1/k", "1", NULL);
        served[i] = -1;
        CHECK(r && r->status == 200);
        if (!r) fprintf(stderr, "  call %d: %s\n", i, etcd_errstr(c));
        if (r) served[i] = member_of(r->member_id);
        CHECK(served[i] >= 0);
        etcd_res_free(r);
    }
    for (i = 0; i < 3; i++)
        for (j = i + 1; j < 3; j++) CHECK(served[i] != served[j]);
    for (i = 3; i < 9; i++) CHECK_INT(served[i], served[i - 3]);
    /* the cycle is http_host order */
    CHECK_INT(served[1], (served[0] + 1) % NM);
    CHECK_INT(served[2], (served[0] + 2) % NM);
    etcd_free(c);
}

/* ---- kill a member under retry: no call fails -------------------------- */

static void test_kill_with_retry(void)
{
    etcd *c;
    int victim, i, fails = 0, on_victim = 0;
    REQUIRE(all_up());
    REQUIRE((victim = a_follower(-1)) >= 0);
    REQUIRE((c = test_client_at(hosts, NULL, 3.0, true, 1, 10.0)) != NULL);
    for (i = 0; i < 100; i++) {
        char key[32], val[16];
        etcd_res *r;
        if (i == 30) {
            test_etcd_kill_hard(&m[victim]);
            CHECK(etcd_endpoint_healthy(c, m[victim].url));   /* nothing tried it yet */
        }
        snprintf(key, sizeof key, "/t2/k%03d", i);
        snprintf(val, sizeof val, "%d", i);
        r = etcd_set(c, key, val, NULL);
        if (!r || r->status != 200) {
            fails++;
            fprintf(stderr, "  set %s: %s\n", key, r ? r->body : etcd_errstr(c));
        } else if (i >= 30 && member_of(r->member_id) == victim) on_victim++;
        etcd_res_free(r);
        r = etcd_get(c, key, NULL);
        if (!r || r->status != 200 || r->nkvs != 1) {
            fails++;
            fprintf(stderr, "  get %s: %s\n", key, r ? r->body : etcd_errstr(c));
        } else {
            test_check_kv(&r->kvs[0], key, val);
            if (i >= 30 && member_of(r->member_id) == victim) on_victim++;
        }
        etcd_res_free(r);
    }
    CHECK_INT(fails, 0);
    CHECK_INT(on_victim, 0);
    /* the one try that hit it took it out of the rotation */
    CHECK(!etcd_endpoint_healthy(c, m[victim].url));
    for (i = 0; i < NM; i++) if (i != victim) CHECK(etcd_endpoint_healthy(c, m[i].url));
    check_dir(c, "/t2/", "/t2/k", 100);
    etcd_free(c);
    CHECK(test_etcd_restart(&m[victim]) == 0);
}

/* A get loop with retry while another thread kills a member at a moment
   the loop does not choose: a read in flight on the dying member is sent
   again elsewhere, so no get fails. */
struct killer { int victim; long delay_ms; };

static void *killer_main(void *arg)
{
    struct killer *k = (struct killer *)arg;
    th__sleep_ms(k->delay_ms);
    test_etcd_kill_hard(&m[k->victim]);
    return NULL;
}

static void test_reads_survive_kill_in_flight(void)
{
    etcd *c;
    pthread_t th;
    struct killer k;
    int i, fails = 0;
    double until;
    REQUIRE(all_up());
    REQUIRE((k.victim = a_follower(-1)) >= 0);
    REQUIRE((c = test_client_at(hosts, NULL, 3.0, true, 1, 10.0)) != NULL);
    REQUIRE(test_set(c, "/t2b/k", "7") > 0);
    k.delay_ms = 150 + (long)(test_now() * 1000) % 100;
    REQUIRE(pthread_create(&th, NULL, killer_main, &k) == 0);
    until = test_now() + 0.6;
    for (i = 0; test_now() < until; i++) {
        etcd_res *r = etcd_get(c, "/t2b/k", NULL);
        if (!r || r->status != 200 || r->nkvs != 1) {
            fails++;
            fprintf(stderr, "  get %d: %s\n", i, r ? r->body : etcd_errstr(c));
        } else test_check_kv(&r->kvs[0], "/t2b/k", "7");
        etcd_res_free(r);
    }
    pthread_join(th, NULL);
    fprintf(stderr, "  (info) %d gets around the kill\n", i);
    CHECK_INT(fails, 0);
    CHECK(i > 30);
    CHECK(!etcd_endpoint_healthy(c, m[k.victim].url));
    etcd_free(c);
    CHECK(test_etcd_restart(&m[k.victim]) == 0);   /* from the thread that started it */
}

/* ---- kill a member without retry: one fast, clear failure --------------- */

/* Leaves the victim down for the max_fails and recovery tests. */
static void test_kill_without_retry(void)
{
    etcd *c;
    int victim, i, k, fails = 0, early = 0, on_victim = 0;
    double t_loop;
    REQUIRE(all_up());
    REQUIRE((victim = a_follower(-1)) >= 0);
    REQUIRE((c = test_client_at(hosts, NULL, 2.0, false, 1, 10.0)) != NULL);
    t_loop = test_now();
    for (i = 0; i < 100; i++) {
        char key[32], val[16];
        if (i == 30) test_etcd_kill_hard(&m[victim]);
        snprintf(key, sizeof key, "/t3/k%03d", i);
        snprintf(val, sizeof val, "%d", i);
        for (k = 0; k < 2; k++) {              /* k 0: set, 1: get */
            double t0 = test_now(), dt;
            etcd_res *r = k ? etcd_get(c, key, NULL) : etcd_set(c, key, val, NULL);
            dt = test_now() - t0;
            if (!r) {
                int j;
                fails++;
                if (i < 30) early++;
                fprintf(stderr, "  (expected) call %d.%d failed in %.3f s: %s\n", i, k, dt,
                        etcd_errstr(c));
                CHECK(dt < 1.0);
                CHECK_HAS(etcd_errstr(c), m[victim].url);
                CHECK_HAS(etcd_errstr(c), "connect");
                CHECK(!etcd_endpoint_healthy(c, m[victim].url));
                for (j = 0; j < NM; j++) if (j != victim) CHECK(etcd_endpoint_healthy(c, m[j].url));
                /* the same call again goes to a live member */
                r = k ? etcd_get(c, key, NULL) : etcd_set(c, key, val, NULL);
                CHECK(r != NULL);
                if (!r) fprintf(stderr, "  again: %s\n", etcd_errstr(c));
            }
            CHECK(r == NULL || r->status == 200);
            if (r && k) {
                CHECK_INT(r->nkvs, 1);
                if (r->nkvs == 1) test_check_kv(&r->kvs[0], key, val);
            }
            if (r && i >= 30 && member_of(r->member_id) == victim) on_victim++;
            etcd_res_free(r);
        }
    }
    t_loop = test_now() - t_loop;
    CHECK_INT(early, 0);
    CHECK_INT(on_victim, 0);
    /* max_fails 1: after its one failure the dead member is skipped for
       fail_timeout (10 s), longer than the loop took */
    CHECK(fails >= 1);
    if (t_loop < 9.0) CHECK_INT(fails, 1);
    check_dir(c, "/t3/", "/t3/k", 100);
    etcd_free(c);
}

/* ---- max_fails / fail_timeout on a real dead member -------------------- */

/* Calls until `want` of them fail on the dead member (at most `limit`
   calls); every failure names it. Returns the failures seen. */
static int fail_on_dead(etcd *c, int dead, int want, int limit, int *calls)
{
    int seen = 0;
    for (*calls = 0; *calls < limit && seen < want; (*calls)++) {
        etcd_res *r = etcd_get(c, "/t8/k", NULL);
        if (!r) {
            seen++;
            CHECK_HAS(etcd_errstr(c), m[dead].url);
        } else {
            CHECK_INT(r->status, 200);
            CHECK(member_of(r->member_id) != dead);
        }
        etcd_res_free(r);
    }
    return seen;
}

static void test_max_fails(void)
{
    etcd *c;
    int dead = down_member(), calls, i, j;
    if (dead < 0) {                            /* test 3 left none down */
        REQUIRE(all_up());
        REQUIRE((dead = a_follower(-1)) >= 0);
        test_etcd_kill_hard(&m[dead]);
    }
    REQUIRE((c = test_client_at(hosts, NULL, 2.0, false, 2, 5.0)) != NULL);
    CHECK_INT(fail_on_dead(c, dead, 1, 3, &calls), 1);
    CHECK(etcd_endpoint_healthy(c, m[dead].url));      /* 1 < max_fails */
    CHECK_INT(fail_on_dead(c, dead, 1, 3, &calls), 1); /* its next turn */
    CHECK(!etcd_endpoint_healthy(c, m[dead].url));     /* 2 within fail_timeout */
    for (j = 0; j < NM; j++) if (j != dead) CHECK(etcd_endpoint_healthy(c, m[j].url));
    CHECK_INT(fail_on_dead(c, dead, 1, 6, &calls), 0); /* skipped now: 6 calls succeed */
    etcd_free(c);

    /* two failures further apart than fail_timeout do not add up */
    REQUIRE((c = test_client_at(hosts, NULL, 2.0, false, 2, 0.5)) != NULL);
    CHECK_INT(fail_on_dead(c, dead, 1, 3, &calls), 1);
    CHECK(etcd_endpoint_healthy(c, m[dead].url));
    th__sleep_ms(700);
    CHECK_INT(fail_on_dead(c, dead, 1, 3, &calls), 1);
    CHECK(etcd_endpoint_healthy(c, m[dead].url));      /* a new window: 1 failure */
    CHECK_INT(fail_on_dead(c, dead, 1, 3, &calls), 1);
    CHECK(!etcd_endpoint_healthy(c, m[dead].url));
    /* out for fail_timeout, then back without a request */
    th__sleep_ms(700);
    CHECK(etcd_endpoint_healthy(c, m[dead].url));
    for (i = 0; i < NM; i++) if (i != dead) CHECK(etcd_endpoint_healthy(c, m[i].url));
    etcd_free(c);
}

/* Opening a watch is retried like a read: with retry it gets past a dead
   member; without, the open that meets it fails with its connect error. */
static void test_watch_open_retry(void)
{
    etcd *c;
    etcd_watch_opts wo;
    int dead = down_member(), i, refused = 0;
    if (dead < 0) {
        REQUIRE(all_up());
        REQUIRE((dead = a_follower(-1)) >= 0);
        test_etcd_kill_hard(&m[dead]);
    }
    memset(&wo, 0, sizeof wo);
    wo.timeout = 1.0;
    REQUIRE((c = test_client_at(hosts, NULL, 2.0, true, 1, 10.0)) != NULL);
    for (i = 0; i < NM; i++) {                 /* one of these starts at the dead one */
        etcd_watcher *w = etcd_watchdir(c, "/t9/", &wo);
        etcd_res *r;
        CHECK(w != NULL);
        if (!w) { fprintf(stderr, "  watchdir: %s\n", etcd_errstr(c)); continue; }
        CHECK(strcmp(w->s.ep->url, m[dead].url) != 0);
        r = etcd_watch_next(w);
        CHECK(r && r->created && member_of(r->member_id) != dead);
        etcd_res_free(r);
        etcd_watchcancel(w);
    }
    CHECK(!etcd_endpoint_healthy(c, m[dead].url));
    etcd_free(c);

    REQUIRE((c = test_client_at(hosts, NULL, 2.0, false, 1, 10.0)) != NULL);
    for (i = 0; i < NM; i++) {
        etcd_watcher *w = etcd_watchdir(c, "/t9/", &wo);
        if (!w) {
            refused++;
            CHECK_HAS(etcd_errstr(c), m[dead].url);
            CHECK_HAS(etcd_errstr(c), "connect");
        }
        etcd_watchcancel(w);
    }
    CHECK_INT(refused, 1);
    etcd_free(c);
}

/* ---- back in the rotation after fail_timeout --------------------------- */

static void test_recovery(void)
{
    etcd *c;
    int dead = down_member(), calls, i, seen_back = 0, errs = 0;
    double t_fail;
    if (dead < 0) {
        REQUIRE(all_up());
        REQUIRE((dead = a_follower(-1)) >= 0);
        test_etcd_kill_hard(&m[dead]);
    }
    REQUIRE((c = test_client_at(hosts, NULL, 2.0, false, 1, 1.0)) != NULL);
    CHECK_INT(fail_on_dead(c, dead, 1, 3, &calls), 1);
    t_fail = test_now();
    CHECK(!etcd_endpoint_healthy(c, m[dead].url));
    th__sleep_ms(500);
    CHECK(!etcd_endpoint_healthy(c, m[dead].url));     /* still out at 0.5 s */
    while (test_now() < t_fail + 1.1) th__sleep_ms(20);
    CHECK(etcd_endpoint_healthy(c, m[dead].url));      /* back at 1 s, no request made */
    REQUIRE(test_etcd_restart(&m[dead]) == 0);
    CHECK(etcd_endpoint_healthy(c, m[dead].url));
    for (i = 0; i < 6; i++) {
        etcd_res *r = etcd_get(c, "/t4/k", NULL);
        if (!r) {
            errs++;
            fprintf(stderr, "  get after restart: %s\n", etcd_errstr(c));
        } else if (member_of(r->member_id) == dead) seen_back++;
        etcd_res_free(r);
    }
    CHECK_INT(errs, 0);
    CHECK_INT(seen_back, 2);                   /* its turn, twice in 6 calls */
    etcd_free(c);
}

/* *w: a watchdir of dir on wc with wo; its first message must say created.
   The index of the member serving it, or -1 (CHECKed) on failure. */
static int watch_served(etcd *wc, const char *dir, const etcd_watch_opts *wo, etcd_watcher **w)
{
    etcd_res *r;
    int served;
    *w = etcd_watchdir(wc, dir, wo);
    CHECK(*w != NULL);
    if (!*w) { fprintf(stderr, "  watchdir: %s\n", etcd_errstr(wc)); return -1; }
    r = etcd_watch_next(*w);
    CHECK(r && r->created);
    served = r ? member_of(r->member_id) : -1;
    etcd_res_free(r);
    CHECK(served >= 0);
    return served;
}

/* ---- a watch with auto_resume rides out the loss of its member --------- */

#define T6_BEFORE 5
#define T6_DURING 20
#define T6_TOTAL (T6_BEFORE + T6_DURING)

static void watch_resume_across(bool hard)
{
    etcd *wc = NULL, *writer = NULL;
    etcd_watcher *w = NULL;
    etcd_watch_opts wo;
    etcd_res *r;
    /* each variant its own dir: a watch from "now" on a member restarted by
       the previous variant may start behind and see that one's last write */
    const char *dir = hard ? "/t6k/" : "/t6s/";
    char whosts[200], keys[T6_TOTAL][32], after[32];
    int64_t revs[T6_TOTAL], got_rev[T6_TOTAL + 8];
    char got_key[T6_TOTAL + 8][32];
    int served, i, n = 0, timeouts = 0, dup_or_extra = 0;
    double deadline;

    REQUIRE(all_up());
    REQUIRE((wc = test_client_at(hosts, NULL, 1.0, false, 1, 1.0)) != NULL);
    memset(&wo, 0, sizeof wo);
    wo.auto_resume = true;
    wo.timeout = 1.0;
    if ((served = watch_served(wc, dir, &wo, &w)) < 0) goto out;
    CHECK_STR(w->s.ep->url, m[served].url);      /* white-box: where the stream is */

    /* writes go to the other two members only */
    test_cluster_hosts(m, NM, served, whosts, sizeof whosts);
    REQUIRE((writer = test_client_at(whosts, NULL, 3.0, true, 1, 1.0)) != NULL);
    for (i = 0; i < T6_TOTAL; i++) snprintf(keys[i], sizeof keys[i], "%sk%03d", dir, i);
    snprintf(after, sizeof after, "%safter", dir);
    for (i = 0; i < T6_BEFORE; i++) CHECK((revs[i] = test_set(writer, keys[i], "1")) > 0);
    th__sleep_ms(100);                        /* on their way to the watcher */

    if (hard) test_etcd_kill_hard(&m[served]);
    else test_etcd_kill(&m[served]);
    /* the survivors elect a new leader if the victim led */
    CHECK(test_cluster_leader(m, NM, 5.0) >= 0);
    for (i = T6_BEFORE; i < T6_TOTAL; i++) CHECK((revs[i] = test_set(writer, keys[i], "2")) > 0);

    deadline = test_now() + 15.0;
    while (n < T6_TOTAL && test_now() < deadline) {
        size_t e;
        r = etcd_watch_next(w);
        if (!r) {
            if (!strcmp(etcd_watch_errstr(w), "timeout")) { timeouts++; continue; }
            fprintf(stderr, "  watch ended: %s\n", etcd_watch_errstr(w));
            CHECK(!"the watch ended");
            break;
        }
        CHECK(!r->created);                    /* the reopened stream's is hidden */
        CHECK(!r->canceled);
        for (e = 0; e < r->nevents; e++) {
            CHECK(r->events[e].type == ETCD_EVENT_PUT);
            if (n < T6_TOTAL + 8) {
                snprintf(got_key[n], sizeof got_key[n], "%s", r->events[e].kv.key);
                got_rev[n] = r->events[e].kv.mod_revision;
            }
            n++;
        }
        etcd_res_free(r);
    }
    fprintf(stderr, "  (info) %d events, %d \"timeout\" returns while resuming\n", n, timeouts);
    CHECK_INT(n, T6_TOTAL);
    for (i = 0; i < n && i < T6_TOTAL; i++) {
        CHECK_STR(got_key[i], keys[i]);
        CHECK_INT(got_rev[i], revs[i]);
        if (i) CHECK(got_rev[i] > got_rev[i - 1]);
    }
    /* nothing more: no event repeated after the last one */
    r = etcd_watch_next(w);
    if (r) {
        dup_or_extra += (int)r->nevents;
        fprintf(stderr, "  extra message: %s\n", r->body);
    }
    CHECK(r == NULL && !strcmp(etcd_watch_errstr(w), "timeout"));
    CHECK_INT(dup_or_extra, 0);
    etcd_res_free(r);
    CHECK(strcmp(w->s.ep->url, m[served].url) != 0);   /* reopened elsewhere */

    /* and it keeps following once its member is back */
    CHECK(test_etcd_restart(&m[served]) == 0);
    {
        int64_t rev = test_set(writer, after, "3");
        CHECK(rev > 0);
        deadline = test_now() + 5.0;
        r = NULL;
        while (!r && test_now() < deadline) {
            r = etcd_watch_next(w);
            if (!r && strcmp(etcd_watch_errstr(w), "timeout")) break;
        }
        CHECK(r && r->nevents == 1);
        if (r && r->nevents == 1) {
            CHECK_STR(r->events[0].kv.key, after);
            CHECK_INT(r->events[0].kv.mod_revision, rev);
        }
        etcd_res_free(r);
    }
out:
    etcd_watchcancel(w);
    etcd_free(writer);
    etcd_free(wc);
}

/* SIGKILL: the stream just ends; SIGTERM: etcd stops gracefully */
static void test_watch_resume_across_kill(void) { watch_resume_across(true); }
static void test_watch_resume_across_stop(void) { watch_resume_across(false); }

/* ---- without auto_resume the same kill ends the watch ------------------ */

static void test_watch_ends_without_resume(void)
{
    etcd *wc = NULL, *writer = NULL;
    etcd_watcher *w = NULL;
    etcd_watch_opts wo;
    etcd_res *r;
    int served;
    int64_t rev;
    double t0, dt;

    REQUIRE(all_up());
    REQUIRE((wc = test_client_at(hosts, NULL, 1.0, false, 1, 1.0)) != NULL);
    memset(&wo, 0, sizeof wo);
    wo.timeout = 3.0;
    if ((served = watch_served(wc, "/t7/", &wo, &w)) < 0) goto out;
    REQUIRE((writer = test_client_at(m[(served + 1) % NM].url, NULL, 3.0, false, 1, 1.0)) != NULL);
    CHECK((rev = test_set(writer, "/t7/k", "1")) > 0);
    r = etcd_watch_next(w);                    /* delivered before the kill */
    CHECK(r && r->nevents == 1 && r->events[0].kv.mod_revision == rev);
    etcd_res_free(r);

    test_etcd_kill_hard(&m[served]);
    t0 = test_now();
    r = etcd_watch_next(w);
    dt = test_now() - t0;
    CHECK(r == NULL);
    fprintf(stderr, "  (expected) watch ended after %.3f s: %s\n", dt, etcd_watch_errstr(w));
    CHECK(strcmp(etcd_watch_errstr(w), "timeout") != 0);
    CHECK(etcd_watch_errstr(w)[0] != '\0');
    CHECK(dt < 2.0);                           /* the break, not the 3 s watch timeout */
    etcd_res_free(r);
    r = etcd_watch_next(w);                    /* and it stays ended */
    CHECK(r == NULL && strcmp(etcd_watch_errstr(w), "timeout") != 0);
    etcd_res_free(r);
    CHECK(test_etcd_restart(&m[served]) == 0);
out:
    etcd_watchcancel(w);
    etcd_free(writer);
    etcd_free(wc);
}

/* ---- a member that lost its leader ends its watch streams ---------------- */

/* Watches carry Grpc-Metadata-Hasleader, so when a member loses its leader
   (the two others die) etcd ends the stream with "no leader" instead of
   keeping it open and silent. Without auto_resume etcd_watch_next reports
   that; with auto_resume it says "timeout" until the stream can be
   reopened, then delivers what was written meanwhile, exactly once. */
static void test_watch_no_leader(void)
{
    etcd *c1 = NULL, *c2 = NULL, *writer = NULL;
    etcd_watcher *w1 = NULL, *w2 = NULL;
    etcd_watch_opts wo;
    etcd_res *r;
    int keep, i, killed[2], nk = 0, n = 0;
    int64_t revs[6];
    double t0, dt, deadline;

    REQUIRE(all_up());
    REQUIRE((keep = test_cluster_leader(m, NM, 5.0)) >= 0);
    REQUIRE((c1 = test_client_at(m[keep].url, NULL, 1.0, false, 1, 1.0)) != NULL);
    REQUIRE((c2 = test_client_at(m[keep].url, NULL, 1.0, false, 1, 1.0)) != NULL);
    REQUIRE((writer = test_client_at(hosts, NULL, 3.0, true, 1, 1.0)) != NULL);
    memset(&wo, 0, sizeof wo);
    wo.timeout = 8.0;
    w1 = etcd_watchdir(c1, "/t10/", &wo);
    wo.timeout = 1.0;
    wo.auto_resume = true;
    w2 = etcd_watchdir(c2, "/t10/", &wo);
    CHECK(w1 != NULL && w2 != NULL);
    if (!w1 || !w2) goto out;
    for (i = 0; i < 2; i++) {
        r = etcd_watch_next(i ? w2 : w1);
        CHECK(r && r->created);
        etcd_res_free(r);
    }
    CHECK((revs[0] = test_set(writer, "/t10/k000", "0")) > 0);
    for (i = 0; i < 2; i++) {
        r = etcd_watch_next(i ? w2 : w1);
        CHECK(r && r->nevents == 1 && r->events[0].kv.mod_revision == revs[0]);
        etcd_res_free(r);
    }

    for (i = 0; i < NM; i++) if (i != keep) { test_etcd_kill_hard(&m[i]); killed[nk++] = i; }
    t0 = test_now();
    r = etcd_watch_next(w1);
    dt = test_now() - t0;
    CHECK(r == NULL);
    fprintf(stderr, "  (expected) leaderless watch ended after %.3f s: %s\n", dt, etcd_watch_errstr(w1));
    CHECK_HAS(etcd_watch_errstr(w1), "no leader");
    CHECK(dt < 7.5);
    etcd_res_free(r);
    r = etcd_watch_next(w2);
    CHECK(r == NULL);
    CHECK_STR(etcd_watch_errstr(w2), "timeout");
    etcd_res_free(r);

    for (i = 0; i < nk; i++) CHECK(test_etcd_restart(&m[killed[i]]) == 0);
    for (i = 1; i < 6; i++) {
        char key[32];
        snprintf(key, sizeof key, "/t10/k%03d", i);
        CHECK((revs[i] = test_set(writer, key, "1")) > 0);
    }
    deadline = test_now() + 10.0;
    n = 1;
    while (n < 6 && test_now() < deadline) {
        size_t e;
        r = etcd_watch_next(w2);
        if (!r && !strcmp(etcd_watch_errstr(w2), "timeout")) continue;
        if (!r) { fprintf(stderr, "  w2 ended: %s\n", etcd_watch_errstr(w2)); break; }
        CHECK(!r->created && !r->canceled);
        for (e = 0; e < r->nevents; e++, n++) {
            char key[32];
            snprintf(key, sizeof key, "/t10/k%03d", n);
            if (n < 6) {
                CHECK_STR(r->events[e].kv.key, key);
                CHECK_INT(r->events[e].kv.mod_revision, revs[n]);
            }
        }
        etcd_res_free(r);
    }
    CHECK_INT(n, 6);
out:
    etcd_watchcancel(w1);
    etcd_watchcancel(w2);
    etcd_free(writer);
    etcd_free(c2);
    etcd_free(c1);
}

/* ---- two of three down: no quorum (last; brings them back) ------------ */

#define T5_TIMEOUT 1.5

static void test_no_quorum(void)
{
    etcd *a = NULL, *b = NULL, *c = NULL;
    etcd_res *r;
    int keep, i, k, killed[2], nk = 0;
    double t0, dt;
    REQUIRE(all_up());
    REQUIRE((keep = test_cluster_leader(m, NM, 5.0)) >= 0);
    REQUIRE((a = test_client_at(hosts, NULL, T5_TIMEOUT, false, 1, 10.0)) != NULL);
    REQUIRE((b = test_client_at(hosts, NULL, T5_TIMEOUT, true, 1, 10.0)) != NULL);
    REQUIRE((c = test_client_at(hosts, NULL, T5_TIMEOUT, true, 1, 10.0)) != NULL);
    for (i = 0; i < NM; i++) {                 /* api prefix learnt, connections open */
        r = etcd_get(a, "/t5/k", NULL);
        CHECK(r != NULL);
        etcd_res_free(r);
    }
    r = etcd_version(b);
    etcd_res_free(r);
    r = etcd_version(c);
    etcd_res_free(r);

    for (i = 0; i < NM; i++) if (i != keep) { test_etcd_kill_hard(&m[i]); killed[nk++] = i; }

    /* without retry: one try per call, each within timeout (+1 s slack);
       three calls meet all three members and take each out */
    for (k = 0; k < NM; k++) {
        t0 = test_now();
        r = etcd_set(a, "/t5/k", "1", NULL);
        dt = test_now() - t0;
        CHECK(r == NULL);
        fprintf(stderr, "  (expected) set %d failed in %.3f s: %s\n", k, dt, etcd_errstr(a));
        CHECK(etcd_errstr(a)[0] != '\0');
        CHECK(dt < T5_TIMEOUT + 1.0);
        etcd_res_free(r);
    }
    for (i = 0; i < NM; i++) CHECK(!etcd_endpoint_healthy(a, m[i].url));
    t0 = test_now();
    r = etcd_set(a, "/t5/k", "1", NULL);
    dt = test_now() - t0;
    CHECK(r == NULL);
    CHECK_PREFIX(etcd_errstr(a), "has no healthy etcd endpoint available");
    CHECK_INT(etcd_errcode(a), ETCD_ENOHEALTHY);
    CHECK(dt < 0.1);
    etcd_res_free(r);
    t0 = test_now();
    r = etcd_get(a, "/t5/k", NULL);
    CHECK(r == NULL && test_now() - t0 < 0.1);
    CHECK_PREFIX(etcd_errstr(a), "has no healthy etcd endpoint available");
    CHECK_INT(etcd_errcode(a), ETCD_ENOHEALTHY);
    etcd_res_free(r);

    /* a read with retry: every member tried (the dead ones refuse at once,
       the survivor within timeout), then none is left */
    t0 = test_now();
    r = etcd_get(b, "/t5/k", NULL);
    dt = test_now() - t0;
    CHECK(r == NULL);
    fprintf(stderr, "  (expected) get with retry failed in %.3f s: %s\n", dt, etcd_errstr(b));
    CHECK_PREFIX(etcd_errstr(b), "has no healthy etcd endpoint available");
    CHECK_INT(etcd_errcode(b), ETCD_ENOHEALTHY);
    CHECK(dt < T5_TIMEOUT + 1.0);
    etcd_res_free(r);

    /* a write with retry: resent past the refusing members, sent once to
       the survivor, whose failure it returns (each try within timeout) */
    t0 = test_now();
    r = etcd_set(c, "/t5/k", "2", NULL);
    dt = test_now() - t0;
    CHECK(r == NULL);
    fprintf(stderr, "  (expected) set with retry failed in %.3f s: %s\n", dt, etcd_errstr(c));
    CHECK(etcd_errstr(c)[0] != '\0');
    /* the survivor's own error: once sent, a write is not tried again (had
       it been, every member would be down and the error "has no healthy") */
    CHECK(etcd_errcode(c) != ETCD_ENOHEALTHY);
    CHECK(strstr(etcd_errstr(c), "connect") == NULL);
    CHECK(dt < T5_TIMEOUT + 1.0);
    etcd_res_free(r);
    r = etcd_set(c, "/t5/k", "2", NULL);
    CHECK(r == NULL);
    CHECK(!etcd_endpoint_healthy(c, m[keep].url));
    etcd_res_free(r);

    /* back: both members again, and a fresh client writes */
    for (i = 0; i < nk; i++) CHECK(test_etcd_restart(&m[killed[i]]) == 0);
    etcd_free(a);
    a = test_client_at(hosts, NULL, 3.0, true, 1, 1.0);
    CHECK(a != NULL);
    if (a) {
        etcd_res *g;
        CHECK(test_set(a, "/t5/k", "3") > 0);
        g = etcd_get(a, "/t5/k", NULL);
        CHECK(g && g->nkvs == 1);
        if (g && g->nkvs == 1) test_check_kv(&g->kvs[0], "/t5/k", "3");
        etcd_res_free(g);
    }
    etcd_free(a);
    etcd_free(b);
    etcd_free(c);
}

int main(void)
{
    double t0 = test_now();
    RUN(test_cluster_up);
    if (started) {
        RUN(test_round_robin);
        RUN(test_kill_with_retry);
        RUN(test_reads_survive_kill_in_flight);
        RUN(test_kill_without_retry);
        RUN(test_max_fails);
        RUN(test_watch_open_retry);
        RUN(test_recovery);
        RUN(test_watch_resume_across_kill);
        RUN(test_watch_resume_across_stop);
        RUN(test_watch_ends_without_resume);
        RUN(test_watch_no_leader);
        RUN(test_no_quorum);
    }
    test_cluster_stop(m, NM);
    fprintf(stderr, "  (info) suite took %.1f s\n", test_now() - t0);
    return test_summary();
}
