/* test_elections.c - etcd.h's locks and elections (etcd_lock, etcd_unlock,
   etcd_campaign, etcd_proclaim, etcd_leader, etcd_resign, etcd_observe)
   against a real etcd: README / API.md "Locks and elections".

   Contenders are separate clients with their own lease keepers: forked
   processes where a holder must be killed (SIGKILL, then its lease runs
   out) or where mutual exclusion is checked across processes, threads
   where a campaign blocks while the test watches. Children exit with
   _exit (never the harness's atexit handler, which would stop etcd), die
   with the parent (PR_SET_PDEATHSIG) and are reaped here, by PID. What a
   thread learns is recorded under a mutex and checked by the main thread.
   "Nothing sent" is proven against the scripted fake server (no
   connection accepted). The last test runs a 3-member cluster and kills a
   follower under retry. */
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
#include "harness.h"
#include "fakeserver.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static test_etcd srv;

/* ---- small helpers ------------------------------------------------------- */

static long long mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static etcd *client_on(const test_etcd *s, const char *key_prefix)
{
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.key_prefix = key_prefix;
    return test_client(s, &o);
}

/* A kept lease of ttl seconds on c, or NULL (printed). */
static etcd_lease *keep(etcd *c, int64_t ttl)
{
    etcd_lease *l = etcd_lease_keep(c, ttl, 0);
    if (!l) fprintf(stderr, "  etcd_lease_keep: %s\n", etcd_errstr(c));
    return l;
}

/* etcd's key for a lock or campaign of lease id on name: name/<id in hex>. */
static void lease_key(char *out, size_t n, const char *name, int64_t id)
{
    snprintf(out, n, "%s/%llx", name, (unsigned long long)id);
}

/* The keys under dir/ (readdir, oldest create revision first); -1 on failure. */
static int keys_under(etcd *c, const char *name, etcd_res **out)
{
    char dir[256];
    etcd_get_opts go;
    etcd_res *r;
    int n;
    memset(&go, 0, sizeof go);
    go.sort_order = ETCD_SORT_ASCEND;
    go.sort_target = ETCD_SORT_CREATE;
    snprintf(dir, sizeof dir, "%s/", name);
    r = test_ok200(c, etcd_readdir(c, dir, &go));
    n = r ? (int)r->nkvs : -1;
    if (out) *out = r;
    else etcd_res_free(r);
    return n;
}

/* Poll keys_under until it reports want keys (<= secs); the last count. */
static int wait_keys(etcd *c, const char *name, int want, double secs)
{
    double end = test_now() + secs;
    int n;
    while ((n = keys_under(c, name, NULL)) != want && test_now() < end) th__sleep_ms(20);
    return n;
}

static int64_t lease_ttl(etcd *c, int64_t id)
{
    etcd_res *r = test_ok200(c, etcd_timetolive(c, id, false));
    int64_t ttl = r ? r->ttl : -2;
    etcd_res_free(r);
    return ttl;
}

/* ---- forked children ----------------------------------------------------- */

/* Fork; the child runs fn(arg) and leaves with _exit(its result): no
   atexit handler (the harness's would stop etcd), no stdio flush of the
   parent's buffers. It dies with the parent. */
static pid_t spawn(int (*fn)(void *), void *arg)
{
    pid_t parent = getpid(), pid;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(99);
        _exit(fn(arg));
    }
    if (pid < 0) fprintf(stderr, "  fork: %s\n", strerror(errno));
    return pid;
}

/* Wait for our child pid up to secs, then SIGKILL it; its wait status,
   or -1 when it had to be killed. */
static int reap(pid_t pid, double secs)
{
    double end = test_now() + secs;
    int st = 0;
    if (pid <= 0) return -1;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return st;
        if (r < 0 && errno != EINTR) return -1;
        if (test_now() >= end) break;
        th__sleep_ms(10);
    }
    fprintf(stderr, "  child %ld still running after %.0f s: killed\n", (long)pid, secs);
    kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    return -1;
}

static int exited_ok(int st) { return st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0; }

/* What a holding child tells its parent, in one write (< PIPE_BUF). */
typedef struct held_msg {
    int ok;
    int64_t lease, rev;
    size_t key_len;
    char key[256];
    char err[400];
} held_msg;

/* Read a held_msg from fd within secs; 0 ok. */
static int read_held(int fd, held_msg *m, double secs)
{
    struct pollfd p;
    ssize_t n;
    memset(m, 0, sizeof *m);
    p.fd = fd;
    p.events = POLLIN;
    if (poll(&p, 1, (int)(secs * 1000)) != 1) return -1;
    n = read(fd, m, sizeof *m);
    if (n != (ssize_t)sizeof *m) return -1;
    if (!m->ok) fprintf(stderr, "  child: %s\n", m->err);
    return m->ok ? 0 : -1;
}

/* ---- locks: mutual exclusion between two processes ------------------------ */

#define L1_NAME "/el/lock-mutex"
#define L1_ROUNDS 50

typedef struct worker_arg { const char *path; int go_fd, go_wr; } worker_arg;

/* A child: its own client and lease keeper; 50 times lock, write
   "start <pid> <ns>", sleep 2 ms, write "end <pid> <ns>", unlock. */
static int lock_worker(void *p)
{
    const worker_arg *a = (const worker_arg *)p;
    etcd *c = client_on(&srv, NULL);
    etcd_lease *l = c ? keep(c, 10) : NULL;
    int fd = open(a->path, O_WRONLY | O_APPEND), i, rc = 0;
    char b, line[96], want[256];
    close(a->go_wr);                                 /* only the parent's end keeps it open */
    if (!c || !l || fd < 0) return 2;
    lease_key(want, sizeof want, L1_NAME, etcd_lease_id(l));
    if (read(a->go_fd, &b, 1) < 0) return 3;        /* EOF: the parent says go */
    for (i = 0; i < L1_ROUNDS && !rc; i++) {
        etcd_res *r = etcd_lock(c, L1_NAME, etcd_lease_id(l), 30), *u;
        int n;
        if (!r || r->status != 200 || !r->lock_key.ptr ||
            r->lock_key.len != strlen(want) || memcmp(r->lock_key.ptr, want, r->lock_key.len)) {
            fprintf(stderr, "  child %ld: lock %d: %s\n", (long)getpid(), i,
                    r ? r->body : etcd_errstr(c));
            etcd_res_free(r);
            rc = 4;
            break;
        }
        n = snprintf(line, sizeof line, "start %ld %lld\n", (long)getpid(), mono_ns());
        if (write(fd, line, (size_t)n) != n) rc = 5;
        th__sleep_ms(2);
        n = snprintf(line, sizeof line, "end %ld %lld\n", (long)getpid(), mono_ns());
        if (write(fd, line, (size_t)n) != n) rc = 5;
        u = etcd_unlock(c, r->lock_key.ptr, r->lock_key.len);     /* exactly as returned */
        if (!u || u->status != 200) {
            fprintf(stderr, "  child %ld: unlock %d: %s\n", (long)getpid(), i,
                    u ? u->body : etcd_errstr(c));
            rc = 6;
        }
        etcd_res_free(u);
        etcd_res_free(r);
        if (etcd_lease_tick(l) != 0) rc = 7;
    }
    etcd_lease_stop(l, true);
    etcd_free(c);
    close(fd);
    return rc;
}

/* Two processes contend 50 times each: the sections written to one
   O_APPEND file never overlap (each start follows the previous end, of
   the same holder, in time order) and there are 100 of them. */
static void test_lock_mutual_exclusion(void)
{
    char path[256];
    const char *tmp = getenv("TMPDIR");
    int go[2], fd, i, sections = 0, open_pid = 0, bad = 0, handovers = 0, last_pid = 0;
    int per[2] = { 0, 0 };
    pid_t kids[2];
    worker_arg a;
    long long prev = 0;
    FILE *f;
    char kind[16];
    long pid;
    long long ns;
    double t0;

    snprintf(path, sizeof path, "%s/etcdh-lock-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    REQUIRE((fd = mkstemp(path)) >= 0);
    close(fd);
    REQUIRE(pipe(go) == 0);
    a.path = path;
    a.go_fd = go[0];
    a.go_wr = go[1];
    t0 = test_now();
    for (i = 0; i < 2; i++) kids[i] = spawn(lock_worker, &a);
    close(go[0]);
    th__sleep_ms(200);                 /* both have their client and lease */
    close(go[1]);                      /* go */
    for (i = 0; i < 2; i++) {
        int st = reap(kids[i], 60);
        CHECK(exited_ok(st));
        if (!exited_ok(st)) fprintf(stderr, "  child %d: status %d\n", i, st);
    }
    fprintf(stderr, "  (info) 2 x %d locked sections took %.2f s\n", L1_ROUNDS, test_now() - t0);

    f = fopen(path, "r");
    REQUIRE(f != NULL);
    while (fscanf(f, "%15s %ld %lld", kind, &pid, &ns) == 3) {
        if (ns < prev) bad++;                           /* time never goes back */
        prev = ns;
        if (!strcmp(kind, "start")) {
            if (open_pid) bad++;                        /* someone else still inside */
            open_pid = (int)pid;
            if (last_pid && last_pid != (int)pid) handovers++;
            last_pid = (int)pid;
        } else if (!strcmp(kind, "end")) {
            if (open_pid != (int)pid) bad++;            /* not the holder's end */
            else sections++;
            open_pid = 0;
            if (pid == (long)kids[0]) per[0]++;
            else if (pid == (long)kids[1]) per[1]++;
        } else {
            bad++;
        }
    }
    fclose(f);
    unlink(path);
    CHECK_INT(bad, 0);
    CHECK_INT(open_pid, 0);
    CHECK_INT(sections, 2 * L1_ROUNDS);
    CHECK_INT(per[0], L1_ROUNDS);
    CHECK_INT(per[1], L1_ROUNDS);
    CHECK(handovers > 0);                               /* they really contended */
    fprintf(stderr, "  (info) %d handovers between the two processes\n", handovers);
    {
        etcd *c = client_on(&srv, NULL);
        REQUIRE(c != NULL);
        CHECK_INT(keys_under(c, L1_NAME, NULL), 0);     /* both unlocked, leases revoked */
        etcd_free(c);
    }
}

/* ---- locks: a timed-out attempt ----------------------------------------- */

#define L2_NAME "/el/lock-timeout"

typedef struct waiter {
    etcd *cli;
    const char *name;
    int64_t lease;
    double timeout;
    /* results, read after join or under wmu */
    etcd_res *res;
    etcd_err code;
    char err[400];
    double took, got_at;
    int done;
} waiter;

static pthread_mutex_t wmu = PTHREAD_MUTEX_INITIALIZER;

static void *waiter_main(void *p)
{
    waiter *w = (waiter *)p;
    double t = test_now();
    etcd_res *r = etcd_lock(w->cli, w->name, w->lease, w->timeout);
    double now = test_now();
    pthread_mutex_lock(&wmu);
    w->res = r;
    w->code = etcd_errcode(w->cli);
    snprintf(w->err, sizeof w->err, "%s", etcd_errstr(w->cli));
    w->took = now - t;
    w->got_at = now;
    w->done = 1;
    pthread_mutex_unlock(&wmu);
    return NULL;
}

static int waiter_done(waiter *w)
{
    int d;
    pthread_mutex_lock(&wmu);
    d = w->done;
    pthread_mutex_unlock(&wmu);
    return d;
}

/* Another lease holds the lock: etcd_lock with 0.5 s returns NULL with
   ETCD_ETIMEOUT in about that time; the waiting key etcd made for it is
   gone soon after (only the holder's is left); the endpoint stays healthy
   (max_fails 1) and the next call on that client works at once. */
static void test_lock_timeout(void)
{
    etcd *a = client_on(&srv, NULL), *b = client_on(&srv, NULL);
    etcd_lease *la = a ? keep(a, 15) : NULL, *lb = b ? keep(b, 15) : NULL;
    etcd_res *h = NULL, *r;
    char holder[256], waiting[256];
    waiter w;
    pthread_t th;
    int seen_waiting = 0, n;
    double t;

    REQUIRE(a && b && la && lb);
    h = etcd_lock(a, L2_NAME, etcd_lease_id(la), 5);
    REQUIRE(h && h->status == 200 && h->lock_key.ptr);
    snprintf(holder, sizeof holder, "%.*s", (int)h->lock_key.len, h->lock_key.ptr);
    lease_key(waiting, sizeof waiting, L2_NAME, etcd_lease_id(la));
    CHECK_STR(holder, waiting);
    lease_key(waiting, sizeof waiting, L2_NAME, etcd_lease_id(lb));

    memset(&w, 0, sizeof w);
    w.cli = b;
    w.name = L2_NAME;
    w.lease = etcd_lease_id(lb);
    w.timeout = 0.5;
    REQUIRE(pthread_create(&th, NULL, waiter_main, &w) == 0);
    while (!waiter_done(&w)) {          /* while it waits, its key is there */
        etcd_res *d = NULL;
        if (keys_under(a, L2_NAME, &d) == 2 && d->kvs[1].key_len == strlen(waiting) &&
            !memcmp(d->kvs[1].key, waiting, d->kvs[1].key_len))
            seen_waiting = 1;
        etcd_res_free(d);
        th__sleep_ms(20);
    }
    pthread_join(th, NULL);
    {                                   /* gone before etcd_lock returned: a retry cannot reuse it */
        etcd_res *d = NULL;
        CHECK_INT(keys_under(a, L2_NAME, &d), 1);
        etcd_res_free(d);
    }
    CHECK(w.res == NULL);
    CHECK_INT(w.code, ETCD_ETIMEOUT);
    CHECK_ANY(w.err, "timeout");
    CHECK_TIME(w.took, 0.45, 1.5);
    CHECK(seen_waiting);
    etcd_res_free(w.res);
    fprintf(stderr, "  (info) etcd_lock(timeout 0.5) returned after %.3f s\n", w.took);

    CHECK(etcd_endpoint_healthy(b, srv.url));           /* waiting is not failing */
    t = test_now();
    r = test_ok200(b, etcd_get(b, "/el/anything", NULL));
    CHECK(r != NULL);
    CHECK(test_now() - t < 1.0);
    etcd_res_free(r);

    t = test_now();
    n = wait_keys(a, L2_NAME, 1, 3.0);                  /* etcd drops the waiting key */
    CHECK_INT(n, 1);
    fprintf(stderr, "  (info) the abandoned waiting key was gone %.3f s after the timeout\n",
            test_now() - t);
    {
        etcd_res *d = NULL;
        if (keys_under(a, L2_NAME, &d) == 1) test_check_kv(&d->kvs[0], holder, "");
        else CHECK(!"only the holder's key");
        etcd_res_free(d);
    }
    r = test_ok200(a, etcd_get(a, waiting, NULL));
    CHECK(r && r->nkvs == 0);
    etcd_res_free(r);

    /* the holder lets go: the contender gets it at once */
    r = test_ok200(a, etcd_unlock(a, h->lock_key.ptr, h->lock_key.len));
    CHECK(r != NULL);
    etcd_res_free(r);
    t = test_now();
    r = test_ok200(b, etcd_lock(b, L2_NAME, etcd_lease_id(lb), 2));
    CHECK(r && r->lock_key.len == strlen(waiting) && !memcmp(r->lock_key.ptr, waiting, r->lock_key.len));
    CHECK(test_now() - t < 1.0);
    if (r) etcd_res_free(test_ok200(b, etcd_unlock(b, r->lock_key.ptr, r->lock_key.len)));
    etcd_res_free(r);
    etcd_res_free(h);
    etcd_lease_stop(la, true);
    etcd_lease_stop(lb, true);
    etcd_free(a);
    etcd_free(b);
}

/* ---- locks: the holder is killed -------------------------------------------- */

#define L3_NAME "/el/lock-kill"
#define KILL_TTL 2

typedef struct holder_arg { const char *name; int campaign; int fd; } holder_arg;

/* A child: a KILL_TTL lease kept alive, the lock (or leadership) taken,
   a held_msg to the parent, then ticking until killed. */
static int holder_main(void *p)
{
    const holder_arg *a = (const holder_arg *)p;
    etcd *c = client_on(&srv, NULL);
    etcd_lease *l = c ? keep(c, KILL_TTL) : NULL;
    etcd_res *r = NULL;
    held_msg m;
    memset(&m, 0, sizeof m);
    if (l) {
        r = a->campaign ? etcd_campaign(c, a->name, etcd_lease_id(l), "\"doomed\"", 0, 10)
                        : etcd_lock(c, a->name, etcd_lease_id(l), 10);
        if (r && r->status == 200 && (a->campaign ? r->leader != NULL : r->lock_key.len > 0)) {
            const etcd_str *k = a->campaign ? &r->leader->key : &r->lock_key;
            m.ok = 1;
            m.lease = etcd_lease_id(l);
            m.rev = a->campaign ? r->leader->rev : 0;
            m.key_len = k->len < sizeof m.key ? k->len : sizeof m.key - 1;
            memcpy(m.key, k->ptr, m.key_len);
        } else {
            snprintf(m.err, sizeof m.err, "%s", r ? r->body : etcd_errstr(c));
        }
    } else {
        snprintf(m.err, sizeof m.err, "no lease: %s", c ? etcd_errstr(c) : "no client");
    }
    if (write(a->fd, &m, sizeof m) != (ssize_t)sizeof m || !m.ok) return 2;
    for (;;) {                                   /* keep the lease until SIGKILL */
        double due = etcd_lease_due(l);
        if (etcd_lease_tick(l) != 0) return 3;
        th__sleep_ms(due > 0.05 ? 50 : due > 0 ? (long)(due * 1000) + 1 : 1);
    }
}

/* Fork a holder_main of name (campaign: elected in it, else its lock) and
   read what it holds into *m: its pid, or -1 (reported as `what` not
   happening, the child killed and reaped) on failure. Call before any
   thread of ours. */
static pid_t start_holder(const char *name, int campaign, held_msg *m, const char *what)
{
    holder_arg ha;
    pid_t kid;
    int pfd[2];
    if (pipe(pfd) != 0) { fprintf(stderr, "  pipe: %s\n", strerror(errno)); return -1; }
    ha.name = name;
    ha.campaign = campaign;
    ha.fd = pfd[1];
    kid = spawn(holder_main, &ha);
    close(pfd[1]);
    if (kid <= 0) { close(pfd[0]); return -1; }
    if (read_held(pfd[0], m, 10) != 0) {
        close(pfd[0]);
        kill(kid, SIGKILL);
        reap(kid, 5);
        fprintf(stderr, "  %s: no\n", what);
        return -1;
    }
    close(pfd[0]);
    return kid;
}

/* A forked holder keeps a 2 s lease (past its TTL) while the other
   contender waits in etcd_lock; SIGKILL it: the waiter gets the lock
   when the lease expires, within TTL + a few seconds. */
static void test_lock_holder_killed(void)
{
    etcd *b = client_on(&srv, NULL), *o = client_on(&srv, NULL);   /* b: the waiter's only */
    etcd_lease *lb = b ? keep(b, 20) : NULL;
    held_msg m;
    waiter w;
    pthread_t th;
    pid_t kid;
    int st;
    double t_kill, dt;
    char want[256];

    REQUIRE(b && o && lb);
    kid = start_holder(L3_NAME, 0, &m, "the child took the lock");   /* before any thread of ours */
    REQUIRE(kid > 0);
    lease_key(want, sizeof want, L3_NAME, m.lease);
    CHECK_STR(m.key, want);

    memset(&w, 0, sizeof w);
    w.cli = b;
    w.name = L3_NAME;
    w.lease = etcd_lease_id(lb);
    w.timeout = 15;
    if (pthread_create(&th, NULL, waiter_main, &w) != 0) {
        kill(kid, SIGKILL);
        reap(kid, 5);
        REQUIRE(!"pthread_create");
    }
    th__sleep_ms(2500);                          /* longer than the TTL: kept alive */
    CHECK(!waiter_done(&w));
    CHECK_INT(wait_keys(o, L3_NAME, 2, 1.0), 2); /* holder's and waiter's keys */

    t_kill = test_now();
    kill(kid, SIGKILL);
    st = reap(kid, 5);
    CHECK(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    pthread_join(th, NULL);
    dt = w.got_at - t_kill;
    CHECK(w.res && w.res->status == 200);
    if (!w.res) fprintf(stderr, "  waiter: %s\n", w.err);
    lease_key(want, sizeof want, L3_NAME, etcd_lease_id(lb));
    CHECK(w.res && w.res->lock_key.len == strlen(want) && !memcmp(w.res->lock_key.ptr, want, strlen(want)));
    CHECK_TIME(dt, 0.8, KILL_TTL + 3.0);
    fprintf(stderr, "  (info) lock taken over %.2f s after the holder's SIGKILL (TTL %d s)\n",
            dt, KILL_TTL);
    CHECK_INT(lease_ttl(o, m.lease), -1);        /* the holder's lease is gone */
    {
        etcd_res *d = NULL;
        if (keys_under(o, L3_NAME, &d) == 1) test_check_kv(&d->kvs[0], want, "");
        else CHECK(!"only the new holder's key");
        etcd_res_free(d);
    }
    if (w.res) etcd_res_free(test_ok200(b, etcd_unlock(b, w.res->lock_key.ptr, w.res->lock_key.len)));
    etcd_res_free(w.res);
    etcd_lease_stop(lb, true);
    etcd_free(b);
    etcd_free(o);
}

/* ---- locks: the same lease ------------------------------------------------ */

#define L4_NAME "/el/lock-same"

/* The same name with the same lease returns at once with the same
   lock_key (a lock is held per lease); another lease still waits. */
static void test_lock_same_lease(void)
{
    etcd *c = client_on(&srv, NULL), *o = client_on(&srv, NULL);
    etcd_lease *l = c ? keep(c, 15) : NULL, *lo = o ? keep(o, 15) : NULL;
    etcd_res *r1, *r2, *r3;
    char want[256];
    double t;
    REQUIRE(c && o && l && lo);
    lease_key(want, sizeof want, L4_NAME, etcd_lease_id(l));
    r1 = test_ok200(c, etcd_lock(c, L4_NAME, etcd_lease_id(l), 2));
    REQUIRE(r1 != NULL);
    CHECK_MEM(r1->lock_key.ptr, r1->lock_key.len, want, strlen(want));
    CHECK(r1->lock_key.ptr[r1->lock_key.len] == '\0');
    t = test_now();
    r2 = test_ok200(c, etcd_lock(c, L4_NAME, etcd_lease_id(l), 2));
    CHECK(test_now() - t < 0.5);
    CHECK(r2 != NULL);
    if (r2) CHECK_MEM(r2->lock_key.ptr, r2->lock_key.len, r1->lock_key.ptr, r1->lock_key.len);
    CHECK_INT(keys_under(c, L4_NAME, NULL), 1);
    r3 = etcd_lock(o, L4_NAME, etcd_lease_id(lo), 0.3);  /* held: another lease waits */
    CHECK(r3 == NULL);
    CHECK_INT(etcd_errcode(o), ETCD_ETIMEOUT);
    etcd_res_free(r3);
    r3 = test_ok200(c, etcd_unlock(c, r1->lock_key.ptr, r1->lock_key.len));
    CHECK(r3 != NULL);
    etcd_res_free(r3);
    CHECK_INT(wait_keys(c, L4_NAME, 0, 2.0), 0);
    etcd_res_free(r1);
    etcd_res_free(r2);
    etcd_lease_stop(l, true);
    etcd_lease_stop(lo, true);
    etcd_free(c);
    etcd_free(o);
}

/* ---- bad input, against the fake server --------------------------------- */

/* The election service answers "no leader" (HTTP 500), the rest 200. */
static void h_no_leader(fs_conn *c)
{
    int i;
    while ((i = fs_read_req(c)) >= 0) {
        int rc = strstr(fs_get(c->srv, i)->target, "/election/")
            ? fs_respond(c, 500, "", "{\"error\":\"election: no leader\",\"code\":2,"
                                     "\"message\":\"election: no leader\"}")
            : fs_respond(c, 200, "", "{" FS_HDR("42") "}");
        if (rc != 0) return;
    }
}

#define EXPECT_EARG(cli, call) do { \
    etcd_res *t__r = (call); \
    CHECK(t__r == NULL); \
    etcd_res_free(t__r); \
    CHECK_INT(etcd_errcode(cli), ETCD_EARG); \
    CHECK(etcd_errstr(cli)[0] != '\0'); } while (0)

static fs_server *fake_start(etcd **cli)
{
    etcd_opts o;
    fs_server *s = fs_start(FS_TCP4, NULL, h_no_leader, NULL);
    *cli = NULL;
    if (!s) return NULL;
    memset(&o, 0, sizeof o);
    o.http_host = s->url;
    o.api_prefix = "/v3";           /* no /version probe either */
    o.timeout = 2;
    *cli = t_client(&o);
    return s;
}

/* An observer's head comes late, with the first message (after a pause
   here): a refusal in it (the status in arg) ends or breaks the stream at
   etcd_watch_next, not at etcd_observe. */
static void h_observe_refused(fs_conn *c)
{
    int i, status = *(const int *)c->srv->arg;
    while ((i = fs_read_req(c)) >= 0) {
        int rc;
        if (strstr(fs_get(c->srv, i)->target, "/election/observe")) {
            fs_sleep_ms(200);
            rc = fs_respond(c, status, "", "{\"error\":\"etcdserver: permission denied\",\"code\":7,"
                                           "\"message\":\"etcdserver: permission denied\"}");
        } else {
            rc = fs_respond(c, 200, "", "{" FS_HDR("42") "}");
        }
        if (rc != 0) return;
    }
}

static void test_observe_late_refusal(void)
{
    static const int statuses[] = { 400, 503 };
    size_t k;
    for (k = 0; k < 2; k++) {
        etcd_opts o;
        etcd_watch_opts wo;
        etcd *c;
        etcd_watcher *w;
        etcd_res *r;
        fs_server *s = fs_start(FS_TCP4, NULL, h_observe_refused, &statuses[k]);
        REQUIRE(s);
        memset(&o, 0, sizeof o);
        o.http_host = s->url;
        o.api_prefix = "/v3";
        o.timeout = 2;
        c = t_client(&o);
        memset(&wo, 0, sizeof wo);
        wo.timeout = 1;
        w = c ? etcd_observe(c, "/el/e", &wo) : NULL;
        CHECK(w != NULL);
        r = w ? etcd_watch_next(w) : NULL;
        CHECK(r == NULL);
        etcd_res_free(r);
        if (w && k == 0) {                        /* a 4xx: etcd's reason, the end */
            CHECK_INT(etcd_watch_errcode(w), ETCD_ECANCELED);
            CHECK_HAS(etcd_watch_errstr(w), "HTTP 400");
            CHECK_HAS(etcd_watch_errstr(w), "permission denied");
            CHECK(etcd_endpoint_healthy(c, s->url));
        } else if (w) {                           /* a 5xx: the member's trouble */
            CHECK_INT(etcd_watch_errcode(w), ETCD_ESERVER);
            CHECK_HAS(etcd_watch_errstr(w), "HTTP 503");
            CHECK(!etcd_endpoint_healthy(c, s->url));
        }
        r = w ? etcd_watch_next(w) : NULL;        /* ended: at once, the same reason */
        CHECK(r == NULL);
        etcd_res_free(r);
        if (w) CHECK_INT(etcd_watch_errcode(w), k == 0 ? ETCD_ECANCELED : ETCD_ESERVER);
        etcd_watchcancel(w);
        etcd_free(c);
        fs_stop(s);
    }
}

/* Locks: NULL or "" name, lease 0 or negative, unlock of a NULL or empty
   key: ETCD_EARG, and not even a connection is made. */
static void test_lock_bad_input(void)
{
    etcd *c;
    fs_server *s = fake_start(&c);
    etcd_res *r;
    REQUIRE(s && c);
    EXPECT_EARG(c, etcd_lock(c, NULL, 7, 1));
    EXPECT_EARG(c, etcd_lock(c, "", 7, 1));
    EXPECT_EARG(c, etcd_lock(c, "/el/x", 0, 1));
    EXPECT_EARG(c, etcd_lock(c, "/el/x", -7, 1));
    EXPECT_EARG(c, etcd_unlock(c, NULL, 0));
    EXPECT_EARG(c, etcd_unlock(c, "", 0));
    EXPECT_EARG(c, etcd_unlock(c, NULL, 5));
    CHECK_INT(fs_accepts(s), 0);
    CHECK_INT(fs_nreqs(s), 0);
    /* the counting works: a good call reaches the server */
    r = etcd_unlock(c, "/el/x/1", 0);
    CHECK(r != NULL);
    etcd_res_free(r);
    CHECK_INT(fs_nreqs(s), 1);
    if (fs_nreqs(s) == 1) CHECK_STR(fs_get(s, 0)->target, "/v3/lock/unlock");
    etcd_free(c);
    fs_stop(s);
}

/* Elections: NULL/"" name, lease <= 0, a value that is not JSON (JSON
   serializer), a foreign etcd_leader_key for proclaim and resign (zeroed,
   key not under name + "/", rev or lease 0), a NULL leader; nothing sent. */
static void test_election_bad_input(void)
{
    etcd *c;
    fs_server *s = fake_start(&c);
    etcd_leader_key good, k;
    etcd_res *r;
    REQUIRE(s && c);
    memset(&good, 0, sizeof good);
    good.name.ptr = "/el/e";
    good.name.len = 5;
    good.key.ptr = "/el/e/694d8b3c2a1f0e05";
    good.key.len = strlen(good.key.ptr);
    good.rev = 42;
    good.lease = 0x694d8b3c2a1f0e05LL;

    EXPECT_EARG(c, etcd_campaign(c, NULL, 7, "1", 0, 1));
    EXPECT_EARG(c, etcd_campaign(c, "", 7, "1", 0, 1));
    EXPECT_EARG(c, etcd_campaign(c, "/el/e", 0, "1", 0, 1));
    EXPECT_EARG(c, etcd_campaign(c, "/el/e", -1, "1", 0, 1));
    EXPECT_EARG(c, etcd_campaign(c, "/el/e", 7, "not json", 0, 1));
    EXPECT_EARG(c, etcd_campaign(c, "/el/e", 7, "{\"a\":", 0, 1));
    EXPECT_EARG(c, etcd_campaign(c, "/el/e", 7, "\"x\" 1", 0, 1));
    EXPECT_EARG(c, etcd_leader(c, NULL));
    EXPECT_EARG(c, etcd_leader(c, ""));
    CHECK(etcd_observe(c, NULL, NULL) == NULL);
    CHECK_INT(etcd_errcode(c), ETCD_EARG);
    CHECK(etcd_observe(c, "", NULL) == NULL);
    CHECK_INT(etcd_errcode(c), ETCD_EARG);

    EXPECT_EARG(c, etcd_proclaim(c, NULL, "1", 0));
    EXPECT_EARG(c, etcd_resign(c, NULL));
    EXPECT_EARG(c, etcd_proclaim(c, &good, "not json", 0));
    memset(&k, 0, sizeof k);                                     /* zeroed */
    EXPECT_EARG(c, etcd_proclaim(c, &k, "1", 0));
    EXPECT_EARG(c, etcd_resign(c, &k));
    k = good; k.key.ptr = "/other/694d8b3c2a1f0e05"; k.key.len = strlen(k.key.ptr);
    EXPECT_EARG(c, etcd_proclaim(c, &k, "1", 0));                /* another name's key */
    EXPECT_EARG(c, etcd_resign(c, &k));
    k = good; k.key.ptr = "/el/ex/694d8b3c2a1f0e05"; k.key.len = strlen(k.key.ptr);
    EXPECT_EARG(c, etcd_proclaim(c, &k, "1", 0));                /* name + "x", not name + "/" */
    EXPECT_EARG(c, etcd_resign(c, &k));
    k = good; k.key.ptr = "/el/e"; k.key.len = 5;
    EXPECT_EARG(c, etcd_proclaim(c, &k, "1", 0));                /* the name itself */
    EXPECT_EARG(c, etcd_resign(c, &k));
    k = good; k.rev = 0;
    EXPECT_EARG(c, etcd_proclaim(c, &k, "1", 0));
    EXPECT_EARG(c, etcd_resign(c, &k));
    k = good; k.lease = 0;
    EXPECT_EARG(c, etcd_proclaim(c, &k, "1", 0));
    EXPECT_EARG(c, etcd_resign(c, &k));
    k = good; k.lease = -3;
    EXPECT_EARG(c, etcd_proclaim(c, &k, "1", 0));
    EXPECT_EARG(c, etcd_resign(c, &k));
    k = good; k.name.ptr = NULL; k.name.len = 0;
    EXPECT_EARG(c, etcd_proclaim(c, &k, "1", 0));
    EXPECT_EARG(c, etcd_resign(c, &k));
    CHECK_INT(fs_accepts(s), 0);
    CHECK_INT(fs_nreqs(s), 0);

    /* the well-formed key goes out, and etcd's "election: ..." 500 is a result */
    r = etcd_resign(c, &good);
    CHECK(r && r->status == 500);
    CHECK_INT(etcd_errcode(c), ETCD_OK);
    etcd_res_free(r);
    CHECK_INT(fs_nreqs(s), 1);
    if (fs_nreqs(s) == 1) {
        CHECK_STR(fs_get(s, 0)->target, "/v3/election/resign");
        CHECK_HAS(fs_get(s, 0)->body, "\"rev\"");
    }
    CHECK(etcd_endpoint_healthy(c, s->url));
    etcd_free(c);
    fs_stop(s);
}

/* ---- elections: contenders in threads ------------------------------------- */

enum { C_WAIT = 0, C_WON, C_FAILED, C_RESIGNED };

typedef struct contender {
    etcd *cli;
    etcd_lease *lease;
    int64_t lease_id;
    const char *name;
    char value[32];
    double timeout;
    pthread_t th;
    int started;
    /* under cmu */
    int state, resign;
    double won_at, resign_at;
    int resign_status;
    etcd_res *res;                /* the campaign's answer: res->leader */
    char err[400];
} contender;

static pthread_mutex_t cmu = PTHREAD_MUTEX_INITIALIZER;

static void *contender_main(void *p)
{
    contender *c = (contender *)p;
    etcd_res *r = etcd_campaign(c->cli, c->name, c->lease_id, c->value, 0, c->timeout);
    double now = test_now(), end = now + 60;
    int won;
    pthread_mutex_lock(&cmu);
    won = r && r->status == 200 && r->leader;
    if (won) {
        c->res = r;
        c->won_at = now;
        c->state = C_WON;
    } else {
        snprintf(c->err, sizeof c->err, "%s", r ? r->body : etcd_errstr(c->cli));
        c->state = C_FAILED;
        etcd_res_free(r);
    }
    pthread_mutex_unlock(&cmu);
    if (!won) return NULL;
    for (;;) {                                    /* leader until told to resign */
        int go;
        pthread_mutex_lock(&cmu);
        go = c->resign;
        pthread_mutex_unlock(&cmu);
        if (go || test_now() > end) break;
        th__sleep_ms(5);
    }
    {
        double t = test_now();
        etcd_res *rr = etcd_resign(c->cli, r->leader);
        pthread_mutex_lock(&cmu);
        c->resign_at = t;
        c->resign_status = rr ? rr->status : -1;
        if (!rr) snprintf(c->err, sizeof c->err, "resign: %s", etcd_errstr(c->cli));
        c->state = C_RESIGNED;
        pthread_mutex_unlock(&cmu);
        etcd_res_free(rr);
    }
    return NULL;
}

/* n contenders for name, each with its own client and a kept lease of
   ttl seconds (granted here, in order); 0 when all are ready. */
static int contest_init(contender *c, int n, const char *name, int64_t ttl)
{
    int i;
    memset(c, 0, (size_t)n * sizeof *c);
    for (i = 0; i < n; i++) {
        c[i].name = name;
        c[i].timeout = 25;
        snprintf(c[i].value, sizeof c[i].value, "\"c%d\"", i);
        if (!(c[i].cli = client_on(&srv, NULL)) || !(c[i].lease = keep(c[i].cli, ttl))) return -1;
        c[i].lease_id = etcd_lease_id(c[i].lease);
    }
    return 0;
}

static int contest_start(contender *c, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        if (pthread_create(&c[i].th, NULL, contender_main, &c[i]) != 0) return -1;
        c[i].started = 1;
    }
    return 0;
}

/* How many have ever won (leader now, or resigned since). */
static int contest_won(contender *c, int n)
{
    int i, k = 0;
    pthread_mutex_lock(&cmu);
    for (i = 0; i < n; i++) k += c[i].state == C_WON || c[i].state == C_RESIGNED;
    pthread_mutex_unlock(&cmu);
    return k;
}

/* The one leader now (won, not resigned): its index; -1 none; -2 several. */
static int contest_leader(contender *c, int n)
{
    int i, who = -1;
    pthread_mutex_lock(&cmu);
    for (i = 0; i < n; i++)
        if (c[i].state == C_WON) who = who == -1 ? i : -2;
    pthread_mutex_unlock(&cmu);
    return who;
}

static int contest_failed(contender *c, int n)
{
    int i, k = 0;
    pthread_mutex_lock(&cmu);
    for (i = 0; i < n; i++)
        if (c[i].state == C_FAILED) {
            k++;
            fprintf(stderr, "  contender %d failed: %s\n", i, c[i].err);
        }
    pthread_mutex_unlock(&cmu);
    return k;
}

/* Wait (<= secs) until k have ever won; that number. */
static int contest_wait_won(contender *c, int n, int k, double secs)
{
    double end = test_now() + secs;
    int w;
    while ((w = contest_won(c, n)) < k && test_now() < end) th__sleep_ms(5);
    return w;
}

/* Tell the leader i to resign and wait (<= 5 s) until it did; its status. */
static int contest_resign(contender *c, int i)
{
    double end = test_now() + 5;
    int st = -1, done = 0;
    pthread_mutex_lock(&cmu);
    c[i].resign = 1;
    pthread_mutex_unlock(&cmu);
    while (!done && test_now() < end) {
        th__sleep_ms(5);
        pthread_mutex_lock(&cmu);
        done = c[i].state == C_RESIGNED;
        st = c[i].resign_status;
        pthread_mutex_unlock(&cmu);
    }
    return done ? st : -1;
}

/* Every leader in turn resigns until all have had their turn; checks
   that no one won before the previous leader resigned; joins, frees. */
static void contest_end(contender *c, int n)
{
    double end = test_now() + 30;
    int i;
    for (;;) {
        int who = contest_leader(c, n), done = 1;
        CHECK(who != -2);
        if (who >= 0) {
            CHECK_INT(contest_resign(c, who), 200);
        }
        pthread_mutex_lock(&cmu);
        for (i = 0; i < n; i++) if (c[i].started && (c[i].state == C_WAIT || c[i].state == C_WON)) done = 0;
        pthread_mutex_unlock(&cmu);
        if (done || test_now() > end) break;
        th__sleep_ms(5);
    }
    for (i = 0; i < n; i++) if (c[i].started) pthread_join(c[i].th, NULL);
    /* one at a time: each win came after every earlier leader's resign */
    for (i = 0; i < n; i++) {
        int j;
        if (c[i].state != C_RESIGNED) continue;
        for (j = 0; j < n; j++)
            if (j != i && c[j].state == C_RESIGNED && c[j].won_at > c[i].won_at)
                CHECK(c[j].won_at >= c[i].resign_at);
    }
    for (i = 0; i < n; i++) {
        etcd_res_free(c[i].res);
        etcd_lease_stop(c[i].lease, true);
        etcd_free(c[i].cli);
    }
}

/* etcd_leader on name: kvs[0] is contender w's key, value and lease. */
static void check_leader_is(etcd *cli, const char *name, const contender *w)
{
    etcd_res *r = test_ok200(cli, etcd_leader(cli, name));
    CHECK(r && r->nkvs == 1);
    if (r && r->nkvs == 1 && w->res && w->res->leader) {
        CHECK_MEM(r->kvs[0].key, r->kvs[0].key_len, w->res->leader->key.ptr, w->res->leader->key.len);
        CHECK_STR(r->kvs[0].value, w->value);
        CHECK_INT(r->kvs[0].lease, w->lease_id);
        CHECK_INT(r->kvs[0].create_revision, w->res->leader->rev);
    }
    etcd_res_free(r);
}

#define E1_NAME "/el/elect-one"

/* Three contenders: exactly one is leader (the others stay blocked in
   etcd_campaign); its leader key is name/<lease hex> with the name, rev
   and lease etcd answered, and etcd_leader names it. */
static void test_election_one_leader(void)
{
    contender c[3];
    etcd *o = client_on(&srv, NULL);
    etcd_res *d = NULL;
    char want[256];
    int w;
    REQUIRE(o != NULL);
    REQUIRE(contest_init(c, 3, E1_NAME, 20) == 0);
    REQUIRE(contest_start(c, 3) == 0);
    CHECK_INT(contest_wait_won(c, 3, 1, 10), 1);
    th__sleep_ms(500);
    CHECK_INT(contest_won(c, 3), 1);              /* still exactly one */
    CHECK_INT(contest_failed(c, 3), 0);
    w = contest_leader(c, 3);
    CHECK(w >= 0);
    if (w >= 0) {
        const etcd_leader_key *lk = c[w].res->leader;
        lease_key(want, sizeof want, E1_NAME, c[w].lease_id);
        CHECK_MEM(lk->key.ptr, lk->key.len, want, strlen(want));
        CHECK_MEM(lk->name.ptr, lk->name.len, E1_NAME, strlen(E1_NAME));
        CHECK_INT(lk->lease, c[w].lease_id);
        CHECK(lk->rev > 0);
        check_leader_is(o, E1_NAME, &c[w]);
        /* every contender has its key; the leader's is the oldest */
        CHECK_INT(keys_under(o, E1_NAME, &d), 3);
        if (d && d->nkvs == 3) {
            CHECK_MEM(d->kvs[0].key, d->kvs[0].key_len, want, strlen(want));
            CHECK_INT(d->kvs[0].create_revision, lk->rev);
        }
        etcd_res_free(d);
    }
    contest_end(c, 3);
    CHECK_INT(keys_under(o, E1_NAME, NULL), 0);
    etcd_free(o);
}

#define E2_NAME "/el/elect-resign"

/* etcd_resign hands over: the next contender (in campaign order) returns
   from etcd_campaign, after the resign was sent, and etcd_leader shows
   it; the resigned key can no longer proclaim ("election: not leader",
   a result, not an endpoint failure). The last resign leaves no leader. */
static void test_election_resign_hands_over(void)
{
    contender c[3];
    etcd *o = client_on(&srv, NULL);
    etcd_res *order = NULL, *r;
    int stage, i;
    REQUIRE(o != NULL);
    REQUIRE(contest_init(c, 3, E2_NAME, 20) == 0);
    REQUIRE(contest_start(c, 3) == 0);
    CHECK_INT(contest_wait_won(c, 3, 1, 10), 1);
    CHECK_INT(wait_keys(o, E2_NAME, 3, 3.0), 3);   /* all three are campaigning */
    CHECK_INT(keys_under(o, E2_NAME, &order), 3);
    for (stage = 0; stage < 3; stage++) {
        int w = contest_leader(c, 3), next;
        double handover;
        CHECK(w >= 0);
        if (w < 0) break;
        CHECK_INT(contest_won(c, 3), stage + 1);
        if (order && order->nkvs == 3)                 /* campaign order */
            CHECK_MEM(c[w].res->leader->key.ptr, c[w].res->leader->key.len,
                      order->kvs[stage].key, order->kvs[stage].key_len);
        check_leader_is(o, E2_NAME, &c[w]);
        CHECK_INT(contest_resign(c, w), 200);
        /* the old key is no leader's any more */
        r = etcd_proclaim(o, c[w].res->leader, "\"late\"", 0);
        CHECK(r && r->status == 500);
        if (r) CHECK_HAS(r->error ? r->error : r->message, "election: not leader");
        CHECK_INT(etcd_errcode(o), ETCD_OK);
        CHECK(etcd_endpoint_healthy(o, srv.url));
        etcd_res_free(r);
        if (stage == 2) break;
        CHECK_INT(contest_wait_won(c, 3, stage + 2, 5), stage + 2);
        next = contest_leader(c, 3);
        CHECK(next >= 0 && next != w);
        if (next < 0) break;
        handover = c[next].won_at - c[w].resign_at;
        CHECK(handover >= 0);
        CHECK(handover < 2.0);
        fprintf(stderr, "  (info) resign -> next leader: %.3f s\n", handover);
    }
    r = etcd_leader(o, E2_NAME);                      /* nobody left */
    CHECK(r && r->nkvs == 0 && r->status == 500);
    etcd_res_free(r);
    contest_end(c, 3);
    for (i = 0; i < 3; i++) CHECK_INT(c[i].state, C_RESIGNED);
    etcd_res_free(order);
    etcd_free(o);
}

#define E3_NAME "/el/elect-proclaim"

static int observed(etcd_watcher *w, const etcd_leader_key *lk, const char *value)
{
    etcd_res *m = etcd_watch_next(w);
    int ok = m && m->nkvs == 1 && lk && m->kvs[0].key_len == lk->key.len &&
             !memcmp(m->kvs[0].key, lk->key.ptr, lk->key.len) && !strcmp(m->kvs[0].value, value);
    if (!m) fprintf(stderr, "  observe: %s\n", etcd_watch_errstr(w));
    else if (!ok) fprintf(stderr, "  observe: unexpected %s\n", m->body);
    etcd_res_free(m);
    return ok;
}

/* etcd_proclaim changes the value etcd_leader and an observer see; the
   observer gets the current leader first, then one message per change
   (each proclaim, and a new leader after a resign), the leader in kvs[0]. */
static void test_election_proclaim_observe(void)
{
    static const char *vals[] = { "\"v1\"", "{\"n\":2}", "[1,2,3]", "\"v1\"" };
    etcd *c = client_on(&srv, NULL), *c2 = client_on(&srv, NULL), *o = client_on(&srv, NULL);
    etcd_lease *l = c ? keep(c, 20) : NULL, *l2 = c2 ? keep(c2, 20) : NULL;
    etcd_res *cr = NULL, *cr2 = NULL, *r;
    etcd_watcher *w = NULL;
    etcd_watch_opts wo;
    size_t i;
    REQUIRE(c && c2 && o && l && l2);
    cr = test_ok200(c, etcd_campaign(c, E3_NAME, etcd_lease_id(l), "\"v0\"", 0, 5));
    REQUIRE(cr && cr->leader);
    memset(&wo, 0, sizeof wo);
    wo.timeout = 1.0;
    w = etcd_observe(o, E3_NAME, &wo);
    if (!w) fprintf(stderr, "  etcd_observe: %s\n", etcd_errstr(o));
    CHECK(w != NULL);
    if (w) CHECK(observed(w, cr->leader, "\"v0\""));      /* the current leader first */
    for (i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        r = test_ok200(c, etcd_proclaim(c, cr->leader, vals[i], 0));
        CHECK(r != NULL);
        etcd_res_free(r);
        r = test_ok200(o, etcd_leader(o, E3_NAME));
        CHECK(r && r->nkvs == 1);
        if (r && r->nkvs == 1) test_check_kv(&r->kvs[0], cr->leader->key.ptr, vals[i]);
        etcd_res_free(r);
        if (w) CHECK(observed(w, cr->leader, vals[i]));
    }
    r = test_ok200(c, etcd_proclaim(c, cr->leader, "{ \"n\" : 5 }", 0));   /* serialized */
    etcd_res_free(r);
    if (w) CHECK(observed(w, cr->leader, "{\"n\":5}"));
    if (w) {                                              /* nothing more */
        r = etcd_watch_next(w);
        CHECK(r == NULL);
        CHECK_INT(etcd_watch_errcode(w), ETCD_ETIMEOUT);
        etcd_res_free(r);
    }
    /* the leader resigns, another is elected: one message, the new leader */
    r = test_ok200(c, etcd_resign(c, cr->leader));
    CHECK(r != NULL);
    etcd_res_free(r);
    cr2 = test_ok200(c2, etcd_campaign(c2, E3_NAME, etcd_lease_id(l2), "\"second\"", 0, 5));
    CHECK(cr2 && cr2->leader);
    if (w && cr2) CHECK(observed(w, cr2->leader, "\"second\""));
    if (w) {
        r = etcd_watch_next(w);
        CHECK(r == NULL);
        CHECK_INT(etcd_watch_errcode(w), ETCD_ETIMEOUT);
        etcd_res_free(r);
    }
    if (cr2) etcd_res_free(test_ok200(c2, etcd_resign(c2, cr2->leader)));
    etcd_watchcancel(w);
    etcd_res_free(cr);
    etcd_res_free(cr2);
    etcd_lease_stop(l, true);
    etcd_lease_stop(l2, true);
    etcd_free(c);
    etcd_free(c2);
    etcd_free(o);
}

#define E4_NAME "/el/elect-kill"

/* A forked leader with a 2 s lease it keeps alive is SIGKILLed while two
   contenders wait in etcd_campaign: when its lease expires exactly one of
   them is elected, within TTL + a few seconds. */
static void test_election_leader_killed(void)
{
    contender c[2];
    etcd *o = client_on(&srv, NULL);
    held_msg m;
    pid_t kid;
    int st, w;
    double t_kill, dt;
    etcd_res *r;
    REQUIRE(o != NULL);
    kid = start_holder(E4_NAME, 1, &m, "the child was elected");   /* before any thread of ours */
    REQUIRE(kid > 0);
    r = test_ok200(o, etcd_leader(o, E4_NAME));
    CHECK(r && r->nkvs == 1);
    if (r && r->nkvs == 1) test_check_kv(&r->kvs[0], m.key, "\"doomed\"");
    etcd_res_free(r);

    if (contest_init(c, 2, E4_NAME, 20) != 0 || contest_start(c, 2) != 0) {
        kill(kid, SIGKILL);
        reap(kid, 5);
        contest_end(c, 2);
        REQUIRE(!"contenders ready");
    }
    th__sleep_ms(2500);                          /* past the TTL: kept alive */
    CHECK_INT(contest_won(c, 2), 0);
    CHECK_INT(wait_keys(o, E4_NAME, 3, 1.0), 3);

    t_kill = test_now();
    kill(kid, SIGKILL);
    st = reap(kid, 5);
    CHECK(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    CHECK_INT(contest_wait_won(c, 2, 1, KILL_TTL + 5), 1);
    w = contest_leader(c, 2);
    CHECK(w >= 0);
    if (w >= 0) {
        dt = c[w].won_at - t_kill;
        CHECK_TIME(dt, 0.8, KILL_TTL + 3.0);
        fprintf(stderr, "  (info) new leader %.2f s after the leader's SIGKILL (TTL %d s)\n",
                dt, KILL_TTL);
        th__sleep_ms(300);
        CHECK_INT(contest_won(c, 2), 1);
        check_leader_is(o, E4_NAME, &c[w]);
    }
    CHECK_INT(contest_failed(c, 2), 0);
    CHECK_INT(lease_ttl(o, m.lease), -1);
    contest_end(c, 2);
    etcd_free(o);
}

/* ---- elections: no leader ----------------------------------------------- */

/* etcd_leader with no leader: a result with nkvs 0, status 500 and
   "election: no leader" kept, ETCD_OK; the endpoint stays healthy with
   max_fails 1 and the next call works at once. Also after a resign. */
/* Observing an election with no leader: etcd sends the stream's head only
   with its first message, so etcd_observe returns once the request is
   sent, and the wait is the stream's: timeouts that leave the endpoint
   healthy and the client usable, then the first leader when one is
   elected. */
static void test_observe_no_leader(void)
{
    etcd *c = client_on(&srv, NULL), *o = client_on(&srv, NULL);
    etcd_lease *l = c ? keep(c, 15) : NULL;
    etcd_res *cr = NULL, *r;
    etcd_watcher *w = NULL;
    etcd_watch_opts wo;
    double t;
    int i;
    CHECK(c && o && l);
    if (!c || !o || !l) goto out;
    memset(&wo, 0, sizeof wo);
    wo.timeout = 0.3;
    t = test_now();
    w = etcd_observe(o, "/el/unled", &wo);
    if (!w) fprintf(stderr, "  etcd_observe: %s\n", etcd_errstr(o));
    CHECK(w != NULL);
    if (!w) goto out;
    CHECK(test_now() - t < 0.3);
    CHECK(etcd_watch_fd(w) >= 0);
    CHECK(!etcd_watch_pending(w));
    for (i = 0; i < 3; i++) {
        t = test_now();
        r = etcd_watch_next(w);
        CHECK(r == NULL);
        etcd_res_free(r);
        CHECK_INT(etcd_watch_errcode(w), ETCD_ETIMEOUT);
        CHECK(test_now() - t >= 0.25);
        CHECK(etcd_endpoint_healthy(o, srv.url));
    }
    r = test_ok200(o, etcd_get(o, "/el/unled", NULL));    /* the client is fine */
    CHECK(r != NULL);
    etcd_res_free(r);
    CHECK(!test_watch_readable(w, 0));                    /* nothing to read yet */
    cr = test_ok200(c, etcd_campaign(c, "/el/unled", etcd_lease_id(l), "\"first\"", 0, 5));
    CHECK(cr && cr->leader);
    if (!cr || !cr->leader) goto out;
    CHECK(test_watch_readable(w, 2000));                  /* the head and the leader */
    CHECK(observed(w, cr->leader, "\"first\""));
    etcd_res_free(test_ok200(c, etcd_resign(c, cr->leader)));
out:
    etcd_watchcancel(w);
    etcd_res_free(cr);
    etcd_lease_stop(l, true);
    etcd_free(c);
    etcd_free(o);
}

static void test_election_no_leader(void)
{
    etcd *c = client_on(&srv, NULL);
    etcd_lease *l = c ? keep(c, 15) : NULL;
    etcd_res *r;
    int i;
    double t;
    REQUIRE(c && l);
    for (i = 0; i < 3; i++) {
        r = etcd_leader(c, "/el/nobody");
        CHECK(r != NULL);
        if (!r) { fprintf(stderr, "  etcd_leader: %s\n", etcd_errstr(c)); break; }
        CHECK_INT(r->nkvs, 0);
        CHECK_INT(r->status, 500);
        CHECK_HAS(r->error, "election: no leader");
        CHECK_INT(etcd_errcode(c), ETCD_OK);
        CHECK_STR(etcd_errstr(c), "");
        CHECK(etcd_endpoint_healthy(c, srv.url));
        etcd_res_free(r);
    }
    t = test_now();
    r = test_ok200(c, etcd_get(c, "/el/nobody", NULL));
    CHECK(r != NULL);
    CHECK(test_now() - t < 0.5);
    etcd_res_free(r);

    r = test_ok200(c, etcd_campaign(c, "/el/was-led", etcd_lease_id(l), "1", 0, 5));
    REQUIRE(r && r->leader);
    etcd_res_free(test_ok200(c, etcd_resign(c, r->leader)));
    etcd_res_free(r);
    r = etcd_leader(c, "/el/was-led");
    CHECK(r && r->nkvs == 0 && r->status == 500);
    CHECK_INT(etcd_errcode(c), ETCD_OK);
    CHECK(etcd_endpoint_healthy(c, srv.url));
    etcd_res_free(r);
    etcd_lease_stop(l, true);
    etcd_free(c);
}

/* ---- key_prefix ------------------------------------------------------------ */

/* With key_prefix "/pfx": lock_key and leader->key/name carry it, and
   are accepted back as returned (unlock, proclaim and resign act on the
   real keys, seen through a client without prefix). */
static void test_key_prefix(void)
{
    etcd *c = client_on(&srv, "/pfx"), *plain = client_on(&srv, NULL);
    etcd_lease *l = c ? keep(c, 15) : NULL;
    etcd_res *r, *lk, *cr;
    etcd_watcher *w;
    etcd_watch_opts wo;
    char want[256];
    REQUIRE(c && plain && l);

    lease_key(want, sizeof want, "/pfx/lk", etcd_lease_id(l));
    lk = test_ok200(c, etcd_lock(c, "/lk", etcd_lease_id(l), 5));
    REQUIRE(lk != NULL);
    CHECK_MEM(lk->lock_key.ptr, lk->lock_key.len, want, strlen(want));
    r = test_ok200(c, etcd_lock(c, "/lk", etcd_lease_id(l), 2));     /* same lease: same key */
    CHECK(r && r->lock_key.len == lk->lock_key.len && !memcmp(r->lock_key.ptr, want, strlen(want)));
    etcd_res_free(r);
    CHECK_INT(keys_under(plain, "/pfx/lk", NULL), 1);
    CHECK_INT(keys_under(plain, "/pfx/pfx/lk", NULL), 0);
    r = test_ok200(c, etcd_unlock(c, lk->lock_key.ptr, lk->lock_key.len));
    CHECK(r != NULL);
    etcd_res_free(r);
    CHECK_INT(keys_under(plain, "/pfx/lk", NULL), 0);                /* the real key went */
    etcd_res_free(lk);

    lease_key(want, sizeof want, "/pfx/el", etcd_lease_id(l));
    cr = test_ok200(c, etcd_campaign(c, "/el", etcd_lease_id(l), "\"p0\"", 0, 5));
    REQUIRE(cr && cr->leader);
    CHECK_MEM(cr->leader->name.ptr, cr->leader->name.len, "/pfx/el", 7);
    CHECK_MEM(cr->leader->key.ptr, cr->leader->key.len, want, strlen(want));
    r = test_ok200(c, etcd_leader(c, "/el"));
    CHECK(r && r->nkvs == 1);
    if (r && r->nkvs == 1) test_check_kv(&r->kvs[0], want, "\"p0\"");
    etcd_res_free(r);
    memset(&wo, 0, sizeof wo);
    wo.timeout = 2.0;
    w = etcd_observe(c, "/el", &wo);
    CHECK(w != NULL);
    if (w) CHECK(observed(w, cr->leader, "\"p0\""));
    r = test_ok200(c, etcd_proclaim(c, cr->leader, "\"p1\"", 0));
    CHECK(r != NULL);
    etcd_res_free(r);
    if (w) CHECK(observed(w, cr->leader, "\"p1\""));
    etcd_watchcancel(w);
    r = test_ok200(plain, etcd_get(plain, want, NULL));
    CHECK(r && r->nkvs == 1);
    if (r && r->nkvs == 1) test_check_kv(&r->kvs[0], want, "\"p1\"");
    etcd_res_free(r);
    CHECK_INT(keys_under(plain, "/pfx/pfx/el", NULL), 0);
    r = test_ok200(c, etcd_resign(c, cr->leader));
    CHECK(r != NULL);
    etcd_res_free(r);
    CHECK_INT(keys_under(plain, "/pfx/el", NULL), 0);
    r = etcd_leader(c, "/el");
    CHECK(r && r->nkvs == 0);
    etcd_res_free(r);
    etcd_res_free(cr);
    etcd_lease_stop(l, true);
    etcd_free(c);
    etcd_free(plain);
}

/* ---- a 3-member cluster ------------------------------------------------- */

#define NM 3

static int member_of(const uint64_t *ids, uint64_t id)
{
    int i;
    for (i = 0; i < NM; i++) if (id && ids[i] == id) return i;
    return -1;
}

/* A lock and an election keep working, with retry, when a non-leader
   member the client uses is SIGKILLed: a waiter on the other members
   gets the lock when the holder unlocks through the survivors; lock,
   unlock, proclaim, leader, resign and campaign all succeed; the lease
   is kept; the dead member was tried (it is out of the rotation). */
static void test_cluster_member_killed(void)
{
    test_etcd m[NM];
    uint64_t ids[NM];
    char hosts[256], others[256];
    etcd_opts o;
    etcd *c = NULL, *c2 = NULL;
    etcd_lease *l = NULL, *l2 = NULL;
    etcd_res *lk = NULL, *cr = NULL, *r;
    waiter w;
    pthread_t th;
    int leader, f = -1, i, fails = 0, on_dead = 0, started_th = 0;
    double t0 = test_now();

    REQUIRE(test_cluster_start(m, NM, NULL) == 0);
    fprintf(stderr, "  (info) cluster up in %.1f s\n", test_now() - t0);
    for (i = 0; i < NM; i++) CHECK(test_member_status(&m[i], &ids[i], NULL) == 0);
    leader = test_cluster_leader(m, NM, 5.0);
    CHECK(leader >= 0);
    for (i = 0; i < NM; i++) if (i != leader && f < 0) f = i;
    if (leader < 0 || f < 0) { test_cluster_stop(m, NM); REQUIRE(!"a follower"); }
    snprintf(hosts, sizeof hosts, "%s,%s,%s", m[f].url, m[(f + 1) % NM].url, m[(f + 2) % NM].url);
    snprintf(others, sizeof others, "%s,%s", m[(f + 1) % NM].url, m[(f + 2) % NM].url);
    memset(&o, 0, sizeof o);
    o.http_host = hosts;
    o.retry = true;
    o.timeout = 3;
    c = t_client(&o);
    o.http_host = others;
    c2 = t_client(&o);
    if (!c || !c2 || !(l = keep(c, 5)) || !(l2 = keep(c2, 20))) goto out;

    lk = test_ok200(c, etcd_lock(c, "/el/cl-lock", etcd_lease_id(l), 5));
    cr = test_ok200(c, etcd_campaign(c, "/el/cl-elect", etcd_lease_id(l), "\"before\"", 0, 5));
    CHECK(lk && cr && cr->leader);
    if (!lk || !cr || !cr->leader) goto out;
    for (i = 0; i < NM; i++) {                   /* a keep-alive connection to each */
        r = test_ok200(c, etcd_get(c, "/el/warm", NULL));
        CHECK(r != NULL);
        etcd_res_free(r);
    }
    memset(&w, 0, sizeof w);                     /* a waiter on the survivors */
    w.cli = c2;
    w.name = "/el/cl-lock";
    w.lease = etcd_lease_id(l2);
    w.timeout = 20;
    CHECK(pthread_create(&th, NULL, waiter_main, &w) == 0);
    started_th = 1;
    th__sleep_ms(300);
    CHECK(!waiter_done(&w));

    test_etcd_kill_hard(&m[f]);
    t0 = test_now();
    r = test_ok200(c, etcd_unlock(c, lk->lock_key.ptr, lk->lock_key.len));
    CHECK(r != NULL);
    if (r && member_of(ids, r->member_id) == f) on_dead++;
    etcd_res_free(r);
    pthread_join(th, NULL);
    started_th = 0;
    CHECK(w.res && w.res->status == 200);
    if (!w.res) fprintf(stderr, "  waiter: %s\n", w.err);
    else fprintf(stderr, "  (info) waiter got the lock %.3f s after the unlock began\n", w.got_at - t0);
    if (w.res) etcd_res_free(test_ok200(c2, etcd_unlock(c2, w.res->lock_key.ptr, w.res->lock_key.len)));
    etcd_res_free(w.res);

    for (i = 0; i < 2 * NM; i++) {               /* every call, several times round */
        char v[32];
        etcd_res *a;
        snprintf(v, sizeof v, "\"after-%d\"", i);
        a = etcd_lock(c, "/el/cl-lock", etcd_lease_id(l), 5);
        if (!a || a->status != 200) { fails++; fprintf(stderr, "  lock: %s\n", a ? a->body : etcd_errstr(c)); }
        else {
            if (member_of(ids, a->member_id) == f) on_dead++;
            r = etcd_unlock(c, a->lock_key.ptr, a->lock_key.len);
            if (!r || r->status != 200) { fails++; fprintf(stderr, "  unlock: %s\n", r ? r->body : etcd_errstr(c)); }
            etcd_res_free(r);
        }
        etcd_res_free(a);
        r = etcd_proclaim(c, cr->leader, v, 0);
        if (!r || r->status != 200) { fails++; fprintf(stderr, "  proclaim: %s\n", r ? r->body : etcd_errstr(c)); }
        etcd_res_free(r);
        r = etcd_leader(c, "/el/cl-elect");
        if (!r || r->status != 200 || r->nkvs != 1 || strcmp(r->kvs[0].value, v)) {
            fails++;
            fprintf(stderr, "  leader: %s\n", r ? r->body : etcd_errstr(c));
        } else if (member_of(ids, r->member_id) == f) on_dead++;
        etcd_res_free(r);
        if (etcd_lease_tick(l) != 0) { fails++; fprintf(stderr, "  tick: %s\n", etcd_errstr(c)); }
        th__sleep_ms(350);                       /* > TTL/3 in all: a keepalive after the kill */
    }
    CHECK_INT(fails, 0);
    CHECK_INT(on_dead, 0);
    CHECK(!etcd_endpoint_healthy(c, m[f].url));  /* it was tried, and retry moved on */
    CHECK(lease_ttl(c, etcd_lease_id(l)) > 0);
    r = test_ok200(c, etcd_resign(c, cr->leader));
    CHECK(r != NULL);
    etcd_res_free(r);
    r = etcd_leader(c, "/el/cl-elect");
    CHECK(r && r->nkvs == 0);
    etcd_res_free(r);
    etcd_res_free(cr);
    cr = test_ok200(c, etcd_campaign(c, "/el/cl-elect", etcd_lease_id(l), "\"again\"", 0, 5));
    CHECK(cr && cr->leader);
    if (cr && cr->leader) etcd_res_free(test_ok200(c, etcd_resign(c, cr->leader)));
out:
    if (started_th) pthread_join(th, NULL);
    etcd_res_free(lk);
    etcd_res_free(cr);
    etcd_lease_stop(l, true);
    etcd_lease_stop(l2, true);
    etcd_free(c);
    etcd_free(c2);
    CHECK(c && c2 && l && l2);
    test_cluster_stop(m, NM);
}

int main(void)
{
    double t0 = test_now();
    /* fakeserver.h helpers this suite has no use for */
    (void)fs_free_port; (void)fs_wait_close; (void)fs_reset; (void)fs_chunk; (void)fs_send_slow;
    (void)fs_sends; (void)fs_header; (void)fs_wait_go; (void)fs_go;
    if (test_etcd_start(&srv, NULL) != 0) return 1;
    RUN(test_lock_mutual_exclusion);
    RUN(test_lock_timeout);
    RUN(test_lock_holder_killed);
    RUN(test_lock_same_lease);
    RUN(test_lock_bad_input);
    RUN(test_election_one_leader);
    RUN(test_election_resign_hands_over);
    RUN(test_election_proclaim_observe);
    RUN(test_election_leader_killed);
    RUN(test_election_no_leader);
    RUN(test_observe_no_leader);
    RUN(test_observe_late_refusal);
    RUN(test_election_bad_input);
    RUN(test_key_prefix);
    test_etcd_stop(&srv);
    RUN(test_cluster_member_killed);
    fprintf(stderr, "  (info) suite took %.1f s\n", test_now() - t0);
    return test_summary();
}
