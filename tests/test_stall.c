/* test_stall.c - etcd_watch_opts.stall_check (API.md "Watches that notice a
   frozen member", issue 15): a watch whose member freezes or is cut off must
   not go silent forever.

   The fake-server tests (fakeserver.h playing etcd: GET /version answered
   or never answered, POST /v3/watch a chunked stream that stays silent or
   sends an event every 0.3 s) count every check request and every stream
   opening, with the time each arrived: one check per stall_check seconds of
   silence and no more, on a connection other than the stream's; none while
   events flow, none with stall_check < 0 or without auto_resume; the
   default (0) checks after 10 s. A check that is answered keeps the stream;
   one that is not reopens on the next member from the newest delivered
   revision + 1, counting the failure against the silent member only, also
   when the check outlives etcd_watch_next's own timeout.

   The real-cluster test freezes the watcher's member (a follower) with
   SIGSTOP while a writer puts 20 values through the two others, one every
   0.5 s: every event arrives exactly once, in order, within stall_check +
   the client's timeout + 2 s of its put; after SIGCONT nothing is repeated.
   Only PIDs the harness started are signalled, and the member is resumed
   whatever happens (also from an atexit handler) before the cluster stops. */
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
#include "harness.h"
#include "fakeserver.h"
#include "kvmap.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
   A fake etcd that records when each request came
   ------------------------------------------------------------------------ */

#define CHUNKED_HEAD "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" \
    "Grpc-Metadata-Content-Type: application/grpc\r\nTransfer-Encoding: chunked\r\n\r\n"
#define CREATED "{\"result\":{" FS_HDR("5") ",\"created\":true}}\n"

typedef struct fake {
    int busy;           /* the stream sends an event every 0.3 s */
    int version_hangs;  /* GET /version is read and never answered (a frozen member) */
    int first_rev;      /* > 0: an event of this revision right after "created" */
    int go_rev;         /* the event a silent stream sends on fs_go() */
    int watch_delay_ms; /* a watch opening is answered after this long */
    pthread_mutex_t mu;
    double at[FS_MAXREQ];   /* when request i was read */
} fake;

static void fake_init(fake *f, int busy, int version_hangs, int first_rev)
{
    memset(f, 0, sizeof *f);
    f->busy = busy;
    f->version_hangs = version_hangs;
    f->first_rev = first_rev;
    f->go_rev = 6;
    pthread_mutex_init(&f->mu, NULL);
}

static double fake_at(fake *f, int i)
{
    double t;
    pthread_mutex_lock(&f->mu);
    t = f->at[i];
    pthread_mutex_unlock(&f->mu);
    return t;
}

/* A PUT of /s/k = "1" at revision rev, as one stream message. */
static int event_msg(char *out, size_t n, int rev)
{
    return snprintf(out, n, "{\"result\":{\"header\":{\"cluster_id\":\"14841639068965178418\","
                    "\"member_id\":\"10276657743932975437\",\"revision\":\"%d\",\"raft_term\":\"7\"},"
                    "\"events\":[{\"kv\":{\"key\":\"L3Mvaw==\",\"create_revision\":\"%d\","
                    "\"mod_revision\":\"%d\",\"version\":\"1\",\"value\":\"MQ==\"}}]}}\n",
                    rev, rev, rev);
}

static int send_event(fs_conn *c, int rev)
{
    char m[512];
    int n = event_msg(m, sizeof m, rev);
    return fs_chunk(c, m, (size_t)n);
}

static void fake_stream(fs_conn *c, fake *f)
{
    int rev;
    if (f->watch_delay_ms) fs_sleep_ms(f->watch_delay_ms);
    if (fs_sends(c, CHUNKED_HEAD) != 0 || fs_chunk(c, CREATED, strlen(CREATED)) != 0) return;
    if (f->first_rev > 0 && send_event(c, f->first_rev) != 0) return;
    if (f->busy) {
        for (rev = 6; !fs_stopping(c->srv); rev++) {
            fs_sleep_ms(300);
            if (send_event(c, rev) != 0) return;
        }
        return;
    }
    if (!fs_wait_go(c, 60.0)) return;          /* silent until the test says */
    if (send_event(c, f->go_rev) != 0) return;
    fs_wait_close(c, 60.0);
}

static void h_fake(fs_conn *c)
{
    fake *f = (fake *)c->srv->arg;
    int i;
    while ((i = fs_read_req(c)) >= 0) {
        const fs_req *q = fs_get(c->srv, i);
        pthread_mutex_lock(&f->mu);
        f->at[i] = fs_now();
        pthread_mutex_unlock(&f->mu);
        if (!strcmp(q->method, "GET") && !strcmp(q->target, "/version")) {
            if (f->version_hangs) { fs_wait_close(c, 60.0); return; }
            if (fs_respond(c, 200, "", FS_VERSION_34) != 0) return;
        } else if (!strcmp(q->method, "POST") && !strcmp(q->target, "/v3/watch")) {
            fake_stream(c, f);
            return;
        } else if (fs_respond(c, 404, "", "{\"error\":\"not here\",\"code\":5}") != 0) {
            return;
        }
    }
}

static int is_check(const fs_req *q) { return q && !strcmp(q->method, "GET") && !strcmp(q->target, "/version"); }
static int is_watch(const fs_req *q) { return q && !strcmp(q->method, "POST") && !strcmp(q->target, "/v3/watch"); }

/* Requests of the kind since the first watch opening (inclusive). */
static int count_since_watch(fs_server *s, int (*kind)(const fs_req *))
{
    int i, n = 0, seen = 0;
    for (i = 0; i < fs_nreqs(s); i++) {
        const fs_req *q = fs_get(s, i);
        if (is_watch(q)) seen = 1;
        if (seen && kind(q)) n++;
    }
    return n;
}

static etcd *fake_client(const char *hosts, double timeout)
{
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.http_host = hosts;
    o.api_prefix = "/v3";               /* no version probe: every GET /version is a check */
    o.timeout = timeout;
    o.fail_timeout = 60.0;
    return t_client(&o);
}

static etcd_watch_opts watch_opts(bool auto_resume, double stall, double timeout)
{
    etcd_watch_opts wo;
    memset(&wo, 0, sizeof wo);
    wo.auto_resume = auto_resume;
    wo.stall_check = stall;
    wo.timeout = timeout;
    return wo;
}

/* The first message must be "created". */
static int take_created(etcd_watcher *w)
{
    etcd_res *r = etcd_watch_next(w);
    int ok = r && r->created && !r->nevents;
    if (!ok) fprintf(stderr, "  first message: %s\n", r ? r->body : etcd_watch_errstr(w));
    etcd_res_free(r);
    return ok;
}

/* Call etcd_watch_next until `until`: every call must say "timeout"
   (ETCD_ETIMEOUT). Returns how many calls did not. */
static int only_timeouts(etcd_watcher *w, double until)
{
    int bad = 0;
    while (test_now() < until) {
        etcd_res *r = etcd_watch_next(w);
        if (r || etcd_watch_errcode(w) != ETCD_ETIMEOUT || strcmp(etcd_watch_errstr(w), "timeout")) {
            bad++;
            fprintf(stderr, "  unexpected: %s (%s)\n", r ? r->body : etcd_watch_errstr(w),
                    etcd_err_name(etcd_watch_errcode(w)));
        }
        etcd_res_free(r);
        if (bad > 3) break;
    }
    return bad;
}

/* fake_init(f, ...) and a fake server running it; NULL if it did not start. */
static fs_server *fake_start(fake *f, int busy, int version_hangs, int first_rev)
{
    fake_init(f, busy, version_hangs, first_rev);
    return fs_start(FS_TCP4, NULL, h_fake, f);
}

/* A client of hosts (*cli, freed by the caller) and its watchdir of /s/
   with wo, whose first message must be "created" (CHECKed); *t_open (when
   not NULL) is taken just before the watch opens. NULL (CHECKed) when the
   client or the watch could not be had. */
static etcd_watcher *fake_watch(const char *hosts, double timeout, const etcd_watch_opts *wo, etcd **cli,
                                double *t_open)
{
    etcd_watcher *w;
    if (!(*cli = fake_client(hosts, timeout))) { CHECK(*cli != NULL); return NULL; }
    if (t_open) *t_open = test_now();
    w = etcd_watchdir(*cli, "/s/", wo);
    CHECK(w != NULL);
    if (!w) { fprintf(stderr, "  watchdir: %s\n", etcd_errstr(*cli)); return NULL; }
    CHECK(take_created(w));
    return w;
}

/* Undo fake_start and fake_watch. */
static void fake_stop(fake *f, fs_server *s, etcd *cli, etcd_watcher *w)
{
    etcd_watchcancel(w);
    etcd_free(cli);
    fs_stop(s);
    pthread_mutex_destroy(&f->mu);
}

/* After fs_go(), the silent stream's event (rev) must come on it. */
static void expect_go_event(fs_server *s, etcd_watcher *w, int rev)
{
    etcd_res *r = NULL;
    double until = test_now() + 3.0;
    fs_go(s);
    while (!r && test_now() < until) {
        r = etcd_watch_next(w);
        if (!r && etcd_watch_errcode(w) != ETCD_ETIMEOUT) break;
    }
    CHECK(r != NULL);
    if (!r) { fprintf(stderr, "  no event after go: %s\n", etcd_watch_errstr(w)); return; }
    CHECK(!r->created);
    CHECK_INT(r->nevents, 1);
    if (r->nevents == 1) {
        CHECK_STR(r->events[0].kv.key, "/s/k");
        CHECK_INT(r->events[0].kv.mod_revision, rev);
    }
    etcd_res_free(r);
}

/* ---- idle: one check per stall_check of silence ------------------------ */

static void test_idle_one_check_per_period(void)
{
    fake f;
    fs_server *s;
    etcd *cli = NULL;
    etcd_watcher *w = NULL;
    etcd_watch_opts wo = watch_opts(true, 1.0, 0.3);
    double t_open, prev;
    int i, checks = 0;

    REQUIRE((s = fake_start(&f, 0, 0, 0)) != NULL);
    if (!(w = fake_watch(s->url, 1.0, &wo, &cli, &t_open))) goto out;
    /* watch_next's own timeout (0.3 s) is shorter than stall_check: the
       silence is counted across calls, and each call says "timeout" */
    CHECK_INT(only_timeouts(w, t_open + 5.5), 0);
    prev = t_open;
    for (i = 0; i < fs_nreqs(s); i++) {
        const fs_req *q = fs_get(s, i);
        double at = fake_at(&f, i);
        if (!is_check(q)) continue;
        checks++;
        /* one per second of silence: never sooner, and not late */
        if (at - prev < 0.95 || at - prev > 1.5)
            fprintf(stderr, "  check %d came %.3f s after the previous one\n", checks, at - prev);
        CHECK(at - prev >= 0.95);
        CHECK(at - prev <= 1.5);
        prev = at;
    }
    fprintf(stderr, "  (info) %d checks in 5.5 s of silence, stall_check 1 s\n", checks);
    CHECK(checks >= 4 && checks <= 5);
    CHECK_INT(count_since_watch(s, is_check), checks);
    CHECK_INT(count_since_watch(s, is_watch), 1);
out:
    fake_stop(&f, s, cli, w);
}

/* ---- busy: no check while events flow ---------------------------------- */

static void test_busy_no_check(void)
{
    fake f;
    fs_server *s;
    etcd *cli = NULL;
    etcd_watcher *w = NULL;
    etcd_watch_opts wo = watch_opts(true, 1.0, 0.5);
    double until;
    int events = 0, bad = 0;
    int64_t last = 5;

    REQUIRE((s = fake_start(&f, 1, 0, 0)) != NULL);
    if (!(w = fake_watch(s->url, 1.0, &wo, &cli, NULL))) goto out;
    until = test_now() + 5.0;
    while (test_now() < until) {
        etcd_res *r = etcd_watch_next(w);
        size_t e;
        if (!r) {
            if (etcd_watch_errcode(w) != ETCD_ETIMEOUT) {
                fprintf(stderr, "  watch ended: %s\n", etcd_watch_errstr(w));
                bad++;
                break;
            }
            continue;
        }
        for (e = 0; e < r->nevents; e++, events++) {
            CHECK_INT(r->events[e].kv.mod_revision, last + 1);
            last = r->events[e].kv.mod_revision;
        }
        etcd_res_free(r);
    }
    fprintf(stderr, "  (info) %d events in 5 s, %d checks\n", events, count_since_watch(s, is_check));
    CHECK_INT(bad, 0);
    CHECK(events >= 12);
    CHECK_INT(count_since_watch(s, is_check), 0);
    CHECK_INT(count_since_watch(s, is_watch), 1);
out:
    fake_stop(&f, s, cli, w);
}

/* ---- answered: the stream stays ---------------------------------------- */

static void test_check_answered_keeps_stream(void)
{
    fake f;
    fs_server *s;
    etcd *cli = NULL;
    etcd_watcher *w = NULL;
    etcd_watch_opts wo = watch_opts(true, 0.5, 1.0);
    double t_open, span;
    int checks;

    REQUIRE((s = fake_start(&f, 0, 0, 0)) != NULL);
    if (!(w = fake_watch(s->url, 1.0, &wo, &cli, &t_open))) goto out;
    CHECK_INT(only_timeouts(w, t_open + 3.0), 0);
    span = test_now() - t_open;        /* the last call may end up to 1 s later */
    checks = count_since_watch(s, is_check);
    fprintf(stderr, "  (info) %d answered checks in %.1f s of silence, stall_check 0.5 s\n", checks, span);
    /* one per 0.5 s of silence, every one answered, the stream kept */
    CHECK(checks >= (int)(span / 0.5) - 1 && checks <= (int)(span / 0.5));
    /* each check on a connection of its own, not the stream's */
    {
        int i, stream_conn = -1;
        for (i = 0; i < fs_nreqs(s); i++) if (is_watch(fs_get(s, i))) stream_conn = fs_get(s, i)->conn;
        for (i = 0; i < fs_nreqs(s); i++) if (is_check(fs_get(s, i))) CHECK(fs_get(s, i)->conn != stream_conn);
        CHECK(fs_accepts(s) >= 2);
    }
    /* no reconnect: the one stream, and what it sends next arrives */
    CHECK_INT(count_since_watch(s, is_watch), 1);
    CHECK(etcd_endpoint_healthy(cli, s->url));
    expect_go_event(s, w, 6);
    CHECK_INT(count_since_watch(s, is_watch), 1);
out:
    fake_stop(&f, s, cli, w);
}

/* ---- unanswered: reopened on the next member from last + 1 ------------- */

/* The start_revision of a watch request body; 0 when absent. */
static long long start_revision(const fs_req *q)
{
    const char *p = q && q->body ? strstr(q->body, "\"start_revision\":") : NULL;
    if (!p) return 0;
    p += strlen("\"start_revision\":");
    if (*p == '"') p++;
    return strtoll(p, NULL, 10);
}

/* Member A answers the watch with event 6, then freezes: its checks hang.
   Member B (second in http_host) answers a watch opening after 20 ms,
   with event 7. The watcher (client timeout 0.5 s, stall_check 0.5 s,
   etcd_watch_next timeout watch_timeout) must get event 7 from B within
   stall_check + the check's timeout + 1 s, with B's stream started at 7,
   A counted as failed and B not. */
static void unanswered(double watch_timeout)
{
    fake fa, fb;
    fs_server *a = NULL, *b = NULL;
    etcd *cli = NULL;
    etcd_watcher *w = NULL;
    etcd_watch_opts wo = watch_opts(true, 0.5, watch_timeout);
    etcd_res *r = NULL;
    char hosts[700];
    double t0 = 0, dt = 0, until;
    int i, timeouts = 0;

    fake_init(&fa, 0, 1, 6);           /* event 6, then frozen: checks hang */
    fake_init(&fb, 0, 0, 7);           /* the next member: event 7 on its stream */
    fb.watch_delay_ms = 20;
    a = fs_start(FS_TCP4, NULL, h_fake, &fa);
    b = fs_start(FS_TCP4, NULL, h_fake, &fb);
    CHECK(a && b);
    if (!a || !b) goto out;
    snprintf(hosts, sizeof hosts, "%s,%s", a->url, b->url);
    if (!(cli = fake_client(hosts, 0.5))) { CHECK(cli != NULL); goto out; }
    w = etcd_watchdir(cli, "/s/", &wo);
    CHECK(w != NULL);
    if (!w) { fprintf(stderr, "  watchdir: %s\n", etcd_errstr(cli)); goto out; }
    CHECK_STR(w->s.ep->url, a->url);      /* white-box: rotation starts at the first */
    CHECK(take_created(w));
    r = etcd_watch_next(w);
    CHECK(r && r->nevents == 1 && r->events[0].kv.mod_revision == 6);
    etcd_res_free(r);
    r = NULL;
    t0 = test_now();
    until = t0 + 5.0;
    while (!r && test_now() < until) {
        r = etcd_watch_next(w);
        if (!r && etcd_watch_errcode(w) != ETCD_ETIMEOUT) break;
        if (!r) timeouts++;
    }
    dt = test_now() - t0;
    CHECK(r != NULL);
    if (!r) {
        size_t k;
        fprintf(stderr, "  not reopened within 5 s: %s\n", etcd_watch_errstr(w));
        for (k = 0; k < cli->neps; k++)      /* white-box: why */
            fprintf(stderr, "  endpoint %s %s, last failure: %s\n", cli->eps[k].url,
                    etcd_endpoint_healthy(cli, cli->eps[k].url) ? "healthy" : "taken out", cli->eps[k].last.msg);
    } else {
        fprintf(stderr, "  (info) reopened on the next member %.3f s after the last event (%d timeouts)\n",
                dt, timeouts);
        CHECK(!r->created);             /* the reopened stream's "created" is hidden */
        CHECK_INT(r->nevents, 1);
        if (r->nevents == 1) CHECK_INT(r->events[0].kv.mod_revision, 7);
        CHECK(dt >= 0.45);              /* not before stall_check */
        CHECK(dt < 0.5 + 0.5 + 1.0);    /* stall_check + the check's timeout + slack */
        CHECK_STR(w->s.ep->url, b->url);
        for (i = 0; i < fs_nreqs(b); i++)
            if (is_watch(fs_get(b, i))) CHECK_INT(start_revision(fs_get(b, i)), 7);
    }
    etcd_res_free(r);
    CHECK_INT(count_since_watch(a, is_check), 1);
    CHECK_INT(count_since_watch(a, is_watch), 1);
    CHECK_INT(count_since_watch(b, is_check), 0);
    /* the unanswered check counted against the frozen member, and only it */
    CHECK(!etcd_endpoint_healthy(cli, a->url));
    CHECK(etcd_endpoint_healthy(cli, b->url));
out:
    etcd_watchcancel(w);
    etcd_free(cli);
    fs_stop(a);
    fs_stop(b);
    pthread_mutex_destroy(&fa.mu);
    pthread_mutex_destroy(&fb.mu);
}

/* The check fails well within etcd_watch_next's timeout (at 1 s of 3 s). */
static void test_check_unanswered_reopens(void) { unanswered(3.0); }
/* The check fails after etcd_watch_next's timeout has run out (it starts
   at 0.5 s and fails at 1 s, of 0.6 s): the reopening still goes to the
   healthy member, which must not be blamed for the exhausted budget. */
static void test_check_unanswered_late_in_call(void) { unanswered(0.6); }

/* ---- off: stall_check < 0, and without auto_resume --------------------- */

/* A member whose checks would hang: with checks off (stall_check < 0), or
   without auto_resume (which stall_check needs), none is sent, the watch
   says "timeout" each watch timeout (today's behaviour) and its stream
   stays open: what the member sends next arrives on it. */
static void no_checks(bool auto_resume, double stall, double watch_timeout, double span, const char *what)
{
    fake f;
    fs_server *s;
    etcd *cli = NULL;
    etcd_watcher *w = NULL;
    etcd_watch_opts wo = watch_opts(auto_resume, stall, watch_timeout);
    double t0;
    int k, calls = (int)(span / watch_timeout + 0.5);

    REQUIRE((s = fake_start(&f, 0, 1, 0)) != NULL);
    if (!(w = fake_watch(s->url, 0.5, &wo, &cli, NULL))) goto out;
    for (k = 0; k < calls; k++) {
        etcd_res *r;
        double dt;
        t0 = test_now();
        r = etcd_watch_next(w);
        dt = test_now() - t0;
        CHECK(r == NULL);
        CHECK_INT(etcd_watch_errcode(w), ETCD_ETIMEOUT);
        CHECK_STR(etcd_watch_errstr(w), "timeout");
        CHECK_TIME(dt, watch_timeout - 0.05, watch_timeout + 0.5);
        if (r) fprintf(stderr, "  unexpected message: %s\n", r->body);
        etcd_res_free(r);
    }
    fprintf(stderr, "  (info) %s: %d checks over %.1f s of silence\n", what,
            count_since_watch(s, is_check), span);
    CHECK_INT(count_since_watch(s, is_check), 0);
    CHECK_INT(count_since_watch(s, is_watch), 1);
    CHECK(etcd_endpoint_healthy(cli, s->url));
    expect_go_event(s, w, 6);
    CHECK_INT(count_since_watch(s, is_watch), 1);
out:
    fake_stop(&f, s, cli, w);
}

static void test_check_off(void) { no_checks(true, -1.0, 1.0, 3.0, "stall_check -1"); }
static void test_without_auto_resume_ignored(void) { no_checks(false, 0.5, 0.5, 2.5, "no auto_resume"); }
/* stall_check 0 means 10 s: one check, after 10 s of silence */
static void test_default_is_10s(void)
{
    fake f;
    fs_server *s;
    etcd *cli = NULL;
    etcd_watcher *w = NULL;
    etcd_watch_opts wo = watch_opts(true, 0.0, 1.0);
    double t_open;
    int i;

    REQUIRE((s = fake_start(&f, 0, 0, 0)) != NULL);
    if (!(w = fake_watch(s->url, 1.0, &wo, &cli, &t_open))) goto out;
    CHECK_INT(only_timeouts(w, t_open + 10.6), 0);
    CHECK_INT(count_since_watch(s, is_check), 1);
    for (i = 0; i < fs_nreqs(s); i++)
        if (is_check(fs_get(s, i))) {
            fprintf(stderr, "  (info) stall_check 0: the check came %.3f s into the silence\n",
                    fake_at(&f, i) - t_open);
            CHECK_TIME(fake_at(&f, i) - t_open, 10.0, 10.5);
        }
    CHECK_INT(count_since_watch(s, is_watch), 1);
out:
    fake_stop(&f, s, cli, w);
}

/* ------------------------------------------------------------------------
   A real cluster: freeze the watcher's member
   ------------------------------------------------------------------------ */

#define NM 3
#define NPUTS 20
#define STALL 2.0
#define CLI_TIMEOUT 1.0

static test_etcd m[NM];
static uint64_t ids[NM];
static int started;
static pid_t frozen;            /* a member's PID we stopped, until resumed */

static void thaw(void)
{
    if (frozen > 0) kill(frozen, SIGCONT);
    frozen = 0;
}

/* SIGSTOP member i (a PID the harness started). */
static int freeze(int i)
{
    if (m[i].pid <= 0) return -1;
    if (kill(m[i].pid, SIGSTOP) != 0) return -1;
    frozen = m[i].pid;
    return 0;
}

static int member_of(uint64_t id)
{
    int i;
    for (i = 0; i < NM; i++) if (id && ids[i] == id) return i;
    return -1;
}

static etcd *cluster_client(const char *hosts, double timeout, bool retry)
{
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.http_host = hosts;
    o.api_prefix = "/v3";               /* the watch is the client's first request */
    o.timeout = timeout;
    o.retry = retry;
    o.max_fails = 1;
    o.fail_timeout = 60.0;              /* a member taken out stays out for the test */
    return t_client(&o);
}

static void test_cluster_up(void)
{
    int i;
    REQUIRE(test_cluster_start(m, NM, NULL) == 0);
    started = 1;
    atexit(thaw);                       /* runs before the harness's own stop */
    for (i = 0; i < NM; i++) REQUIRE(test_member_status(&m[i], &ids[i], NULL) == 0);
    CHECK(test_cluster_leader(m, NM, 5.0) >= 0);
}

struct writer {
    etcd *cli;
    double start;
    char keys[NPUTS][32];
    int64_t revs[NPUTS];
    double at[NPUTS];           /* when each put was sent */
    int fails;
};

static void *writer_main(void *arg)
{
    struct writer *wr = (struct writer *)arg;
    int i;
    for (i = 0; i < NPUTS; i++) {
        etcd_res *r;
        double when = wr->start + 0.5 * i;
        while (test_now() < when) th__sleep_ms(5);
        wr->at[i] = test_now();
        r = etcd_set(wr->cli, wr->keys[i], "1", NULL);
        wr->revs[i] = r && r->status == 200 ? r->revision : -1;
        if (wr->revs[i] < 0) {
            wr->fails++;
            fprintf(stderr, "  put %s: %s\n", wr->keys[i], r ? r->body : etcd_errstr(wr->cli));
        }
        etcd_res_free(r);
    }
    return NULL;
}

/* A follower that is up, or -1 (printed) without a leader or one. */
static int a_follower(void)
{
    int leader = test_cluster_leader(m, NM, 5.0), i;
    if (leader < 0) { fprintf(stderr, "  no leader\n"); return -1; }
    for (i = 0; i < NM; i++) if (i != leader && m[i].pid > 0) return i;
    fprintf(stderr, "  no follower up\n");
    return -1;
}

/* Freeze member victim, then start wr (*th) putting dir + "k%03d", one each
   0.5 s from now, through writer_cli. 0, or -1 (CHECKed). */
static int freeze_and_write(int victim, struct writer *wr, etcd *writer_cli, const char *dir, pthread_t *th)
{
    int i;
    if (freeze(victim) != 0) { CHECK(!"SIGSTOP the victim"); return -1; }
    fprintf(stderr, "  (info) froze member %s (pid %ld), a follower\n", m[victim].name, (long)m[victim].pid);
    wr->cli = writer_cli;
    wr->start = test_now();
    for (i = 0; i < NPUTS; i++) snprintf(wr->keys[i], sizeof wr->keys[i], "%sk%03d", dir, i);
    if (pthread_create(th, NULL, writer_main, wr) != 0) { CHECK(!"pthread_create"); return -1; }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void frozen_member(void)
{
    etcd *wc = NULL, *writer_cli = NULL;
    etcd_watcher *w = NULL;
    etcd_watch_opts wo;
    etcd_res *r;
    struct writer wr;
    pthread_t th;
    bool running = false;
    char whosts[300], hosts[300];
    char got_key[NPUTS + 8][32];
    int64_t got_rev[NPUTS + 8], warm;
    double got_at[NPUTS + 8], delays[NPUTS], deadline, maxd = 0;
    int victim = -1, i, n = 0, timeouts = 0, ended = 0, extra = 0;
    size_t len = 0;

    memset(&wr, 0, sizeof wr);
    REQUIRE((victim = a_follower()) >= 0);   /* the cluster keeps its leader */
    /* the watcher's client lists the victim first; with api_prefix set the
       watch is its first request, so the stream is on the victim */
    len = (size_t)snprintf(hosts, sizeof hosts, "%s", m[victim].url);
    for (i = 0; i < NM; i++) if (i != victim)
        len += (size_t)snprintf(hosts + len, sizeof hosts - len, ",%s", m[i].url);
    test_cluster_hosts(m, NM, victim, whosts, sizeof whosts);
    REQUIRE((wc = cluster_client(hosts, CLI_TIMEOUT, false)) != NULL);
    if (!(writer_cli = cluster_client(whosts, 3.0, true))) { CHECK(writer_cli != NULL); goto out; }

    memset(&wo, 0, sizeof wo);
    wo.auto_resume = true;
    wo.stall_check = STALL;             /* watch timeout: the client's, 1 s */
    w = etcd_watchdir(wc, "/stall/", &wo);
    CHECK(w != NULL);
    if (!w) { fprintf(stderr, "  watchdir: %s\n", etcd_errstr(wc)); goto out; }
    r = etcd_watch_next(w);
    CHECK(r && r->created);
    /* the member itself says who serves the stream */
    CHECK(r && member_of(r->member_id) == victim);
    etcd_res_free(r);
    CHECK_STR(w->s.ep->url, m[victim].url);
    /* the stream flows before the freeze */
    CHECK((warm = test_put(writer_cli, "/stall/warm", "0")) > 0);
    r = etcd_watch_next(w);
    CHECK(r && r->nevents == 1 && r->events[0].kv.mod_revision == warm);
    etcd_res_free(r);

    if (freeze_and_write(victim, &wr, writer_cli, "/stall/", &th) != 0) goto out;
    running = true;

    deadline = wr.start + 0.5 * NPUTS + STALL + CLI_TIMEOUT + 2.0 + 3.0;
    while (n < NPUTS && test_now() < deadline) {
        size_t e;
        r = etcd_watch_next(w);
        if (!r) {
            if (etcd_watch_errcode(w) == ETCD_ETIMEOUT) { timeouts++; continue; }
            fprintf(stderr, "  watch ended: %s\n", etcd_watch_errstr(w));
            ended++;
            break;
        }
        CHECK(!r->created);             /* the reopened stream's is hidden */
        CHECK(!r->canceled);
        for (e = 0; e < r->nevents; e++, n++) {
            CHECK(r->events[e].type == ETCD_EVENT_PUT);
            if (n < NPUTS + 8) {
                snprintf(got_key[n], sizeof got_key[n], "%s", r->events[e].kv.key);
                got_rev[n] = r->events[e].kv.mod_revision;
                got_at[n] = test_now();
            }
        }
        etcd_res_free(r);
    }
    pthread_join(th, NULL);
    running = false;
    CHECK_INT(ended, 0);
    CHECK_INT(wr.fails, 0);
    CHECK_INT(n, NPUTS);
    /* exactly once, in order, each in time */
    for (i = 0; i < n && i < NPUTS; i++) {
        CHECK_STR(got_key[i], wr.keys[i]);
        CHECK_INT(got_rev[i], wr.revs[i]);
        delays[i] = got_at[i] - wr.at[i];
        if (delays[i] > maxd) maxd = delays[i];
        if (delays[i] > STALL + CLI_TIMEOUT + 2.0)
            fprintf(stderr, "  event %d came %.3f s after its put\n", i, delays[i]);
        CHECK(delays[i] <= STALL + CLI_TIMEOUT + 2.0);
    }
    if (n >= 1) {
        int k = n < NPUTS ? n : NPUTS;
        qsort(delays, (size_t)k, sizeof *delays, cmp_double);
        fprintf(stderr, "  (info) %d events across the frozen member: delivery delay max %.3f s, "
                "median %.3f s (bound %.1f s); %d \"timeout\" returns\n", k, maxd,
                k % 2 ? delays[k / 2] : (delays[k / 2 - 1] + delays[k / 2]) / 2, STALL + CLI_TIMEOUT + 2.0,
                timeouts);
    }
    /* the stream left the frozen member, whose failure was counted */
    CHECK(strcmp(w->s.ep->url, m[victim].url) != 0);
    CHECK(!etcd_endpoint_healthy(wc, m[victim].url));
    /* ... and only its: the live members were not blamed for it */
    for (i = 0; i < NM; i++)
        if (i != victim && !etcd_endpoint_healthy(wc, m[i].url)) {
            size_t k;
            for (k = 0; k < wc->neps; k++)      /* white-box: why */
                if (!strcmp(wc->eps[k].url, m[i].url))
                    fprintf(stderr, "  live member %s taken out: %s\n", m[i].name, wc->eps[k].last.msg);
            CHECK(!"a live member was counted as failed");
        }

    /* resumed: nothing repeated, nothing more (three watch timeouts) */
    thaw();
    for (i = 0; i < 3; i++) {
        r = etcd_watch_next(w);
        if (r) {
            extra += (int)r->nevents + 1;
            fprintf(stderr, "  after SIGCONT: %s\n", r->body);
        }
        CHECK(r == NULL);
        CHECK_INT(etcd_watch_errcode(w), ETCD_ETIMEOUT);
        etcd_res_free(r);
    }
    CHECK_INT(extra, 0);
    /* and it keeps following */
    {
        int64_t rev = test_put(writer_cli, "/stall/after", "1");
        r = NULL;
        deadline = test_now() + 5.0;
        while (!r && test_now() < deadline) {
            r = etcd_watch_next(w);
            if (!r && etcd_watch_errcode(w) != ETCD_ETIMEOUT) break;
        }
        CHECK(r && r->nevents == 1);
        if (r && r->nevents == 1) {
            CHECK_STR(r->events[0].kv.key, "/stall/after");
            CHECK_INT(r->events[0].kv.mod_revision, rev);
        }
        etcd_res_free(r);
    }
out:
    if (running) pthread_join(th, NULL);
    thaw();
    etcd_watchcancel(w);
    etcd_free(writer_cli);
    etcd_free(wc);
}

/* ---- a mirror across a frozen member ------------------------------------ */

/* Apply one mirror message; returns its number of events. */
static int map_apply(kvmap *mp, const etcd_res *r)
{
    size_t e;
    if (r->reset) map_clear(mp);
    for (e = 0; e < r->nevents; e++) {
        const etcd_kv *kv = &r->events[e].kv;
        if (r->events[e].type == ETCD_EVENT_DELETE) map_del(mp, kv->key, kv->key_len);
        else map_set(mp, kv->key, kv->key_len, kv->value, kv->value_len, kv->mod_revision);
    }
    return (int)r->nevents;
}

/* The map against a fresh readdir of dir; returns the number of differences. */
static int map_diff(etcd *c, kvmap *mp, const char *dir)
{
    etcd_res *d = etcd_readdir(c, dir, NULL);
    long missing, differ, bad;
    if (!d || d->status != 200) { etcd_res_free(d); return -1; }
    bad = map_compare(mp, d, &missing, &differ);
    etcd_res_free(d);
    return (int)bad;
}

/* Mirror /smir/ through a client whose watch stream lands on a follower,
   freeze that follower while a writer puts through the others: the mirror
   moves on and its map equals a final readdir, with every put seen. */
static void frozen_mirror(void)
{
    static kvmap mp;
    etcd *wc = NULL, *writer_cli = NULL;
    etcd_watcher *w = NULL;
    etcd_watch_opts wo;
    etcd_res *r;
    struct writer wr;
    pthread_t th;
    bool running = false;
    char hosts[300], whosts[300], key[32];
    int victim = -1, other = -1, i, seen = 0, ended = 0;
    double deadline;
    int64_t warm;
    size_t len = 0;

    memset(&wr, 0, sizeof wr);
    map_clear(&mp);
    REQUIRE((victim = a_follower()) >= 0);
    for (i = 0; i < NM; i++) if (i != victim) { other = i; break; }
    /* white-box: the one snapshot page goes to the first endpoint, the
       stream opened after it to the second: the victim */
    len = (size_t)snprintf(hosts, sizeof hosts, "%s,%s", m[other].url, m[victim].url);
    for (i = 0; i < NM; i++) if (i != victim && i != other)
        snprintf(hosts + len, sizeof hosts - len, ",%s", m[i].url);
    test_cluster_hosts(m, NM, victim, whosts, sizeof whosts);
    REQUIRE((writer_cli = cluster_client(whosts, 3.0, true)) != NULL);
    if (!(wc = cluster_client(hosts, CLI_TIMEOUT, false))) { CHECK(wc != NULL); goto out; }
    for (i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "/smir/pre%02d", i);
        CHECK(test_put(writer_cli, key, "0") > 0);
    }

    memset(&wo, 0, sizeof wo);
    wo.stall_check = STALL;                       /* the mirror resumes on its own */
    w = etcd_mirror(wc, "/smir/", &wo);
    CHECK(w != NULL);
    if (!w) { fprintf(stderr, "  mirror: %s\n", etcd_errstr(wc)); goto out; }
    r = etcd_watch_next(w);                       /* the snapshot: one page */
    CHECK(r && r->snapshot && r->reset && !r->more);
    if (r) map_apply(&mp, r);
    etcd_res_free(r);
    CHECK_INT(mp.n, 40);
    CHECK((warm = test_put(writer_cli, "/smir/warm", "0")) > 0);
    r = etcd_watch_next(w);                       /* opens the stream, on the victim */
    CHECK(r && r->nevents == 1 && r->events[0].kv.mod_revision == warm);
    if (r) map_apply(&mp, r);
    etcd_res_free(r);
    CHECK(w->s.ep && !strcmp(w->s.ep->url, m[victim].url));
    r = etcd_delete(writer_cli, "/smir/pre00", NULL);   /* a delete in flight too */
    CHECK(r && r->status == 200 && r->deleted == 1);
    etcd_res_free(r);
    r = etcd_watch_next(w);
    CHECK(r && r->nevents == 1 && r->events[0].type == ETCD_EVENT_DELETE);
    if (r) map_apply(&mp, r);
    etcd_res_free(r);

    if (freeze_and_write(victim, &wr, writer_cli, "/smir/", &th) != 0) goto out;
    running = true;
    deadline = wr.start + 0.5 * NPUTS + STALL + CLI_TIMEOUT + 2.0 + 3.0;
    while (seen < NPUTS && test_now() < deadline) {
        r = etcd_watch_next(w);
        if (!r) {
            if (etcd_watch_errcode(w) == ETCD_ETIMEOUT) continue;
            fprintf(stderr, "  mirror ended: %s\n", etcd_watch_errstr(w));
            ended++;
            break;
        }
        CHECK(!r->reset && !r->canceled);
        seen += map_apply(&mp, r);
        etcd_res_free(r);
    }
    pthread_join(th, NULL);
    running = false;
    thaw();
    CHECK_INT(ended, 0);
    CHECK_INT(wr.fails, 0);
    CHECK_INT(seen, NPUTS);
    CHECK(strcmp(w->s.ep->url, m[victim].url) != 0);    /* it left the frozen member */
    CHECK_INT(map_diff(writer_cli, &mp, "/smir/"), 0);
    fprintf(stderr, "  (info) mirror across the frozen member: %d puts seen, map of %ld keys equals readdir\n",
            seen, mp.n);
out:
    if (running) pthread_join(th, NULL);
    thaw();
    etcd_watchcancel(w);
    etcd_free(writer_cli);
    etcd_free(wc);
    map_free(&mp);
}

static void test_frozen_mirror(void)
{
    frozen_mirror();
    thaw();
}

static void test_frozen_member(void)
{
    frozen_member();
    thaw();                             /* whatever happened above */
}

int main(void)
{
    double t0 = test_now();
    (void)fs_free_port; (void)fs_reset; (void)fs_send_slow; (void)fs_header;
    RUN(test_idle_one_check_per_period);
    RUN(test_busy_no_check);
    RUN(test_check_answered_keeps_stream);
    RUN(test_check_unanswered_reopens);
    RUN(test_check_unanswered_late_in_call);
    RUN(test_check_off);
    RUN(test_without_auto_resume_ignored);
    RUN(test_default_is_10s);
    RUN(test_cluster_up);
    if (started) RUN(test_frozen_member);
    if (started) RUN(test_frozen_mirror);
    thaw();
    test_cluster_stop(m, NM);
    fprintf(stderr, "  (info) suite took %.1f s\n", test_now() - t0);
    return test_summary();
}
