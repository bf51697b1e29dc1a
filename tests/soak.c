/* soak.c - a chaos soak for etcd.h: `make soak` (mk/soak.mk). Not a
   test_*.c suite, so `make test` never runs it.

   For SOAK_SECONDS (default 120) a 3-member etcd cluster from harness.h
   (data dirs under $TMPDIR; mk/soak.mk points TMPDIR at /dev/shm) takes
   random faults while clients of etcd.h load it; then what the clients saw
   is checked against what etcd recorded.

   FAULTS (the main thread; seeded: the seed is printed, SOAK_SEED=N gives
   the same fault schedule again, though not the same timing). A pause of
   1.5-4 s, then one of (the first four are the four kinds in a seeded
   order, so every kind happens):
     - kill:        SIGKILL of a random member, restarted after 1-4 s;
     - freeze:      SIGSTOP of a member for 2-6 s, then SIGCONT; the member
                    is the one holding the watcher's stream (45 %), the
                    mirror's (40 %) or a random one;
     - leader kill: SIGKILL of the member all agree is the leader, restarted
                    after 1-4 s;
     - compaction:  forced, at a revision just written (see HISTORY).
   During a kill (30 %) or a freeze (60 %; the freeze then lasts at least
   4.5 s, longer than stall_check + the client's timeout) a compaction may
   also run: that is what compacts a stalled watcher's resume point and
   makes the watcher end with ETCD_ECOMPACTED and the mirror start a new
   snapshot. Only one member is ever down or frozen (quorum kept): the next
   member fault waits until all three answer /health. Only the harness's
   PIDs are signalled; a frozen member is resumed at exit.

   LOAD (a thread and a client of its own each; every client lists the three
   members, retry on, timeout 1.5 s, max_fails 1, fail_timeout 1 s):
     - 2 writers, at most 50 ops/s each. Writer N's op s is a put of key
       /soak/wN/<s as %08d> = s*10+N, except that every even op after
       2*LIVE (LIVE = 150) deletes the key of op s-2*LIVE-1 instead. Every
       key is put at most once and deleted at most once, so each history
       event names the one op that can have made it, and a value or key
       seen twice is a write applied twice.
     - an auto_resume watcher (stall_check 2 s, timeout 1 s) on /soak/;
       when it ends (a canceled message with compact_revision, then NULL
       with ETCD_ECOMPACTED) a new one is opened from the current revision.
     - an etcd_mirror of /soak/ applied to a map (reset: start over).
     - a lease keeper (TTL 6 s, ticked when etcd_lease_due says) with
       /soak/lease attached.
   Before the writers start, 600 static keys /soak/s/NNNN go in with 6 txns
   of 100 puts: revisions of 100 events, and snapshots of two pages.

   HISTORY. Compaction removes old history, so the history is read in
   parts, each before the compaction that would remove it: a compaction
   puts a marker key (/soak/marker = n) and reads every event of /soak/
   from the last part's end + 1 up to the marker's revision M with a plain
   etcd.h watch from that start_revision (reopened where it stopped when a
   fault breaks it); only then is etcd compacted at M (and a read at M-1
   must fail as compacted). At the end a last marker F is put after the
   writers stop, and the last part is read up to F. So the soak holds every
   event of revisions 2..F though etcd no longer does. As every write in
   this cluster is under /soak/, the history must hold every revision from
   2 to F. It is cross-checked by range reads at specific revisions (a
   sample of acknowledged ops per part, before the compaction): a put's
   key at its revision has that mod/create revision, version 1 and value;
   a deleted key is absent at its revision and present just before.

   CHECKS (one RUN each, after the figures):
     - faults: every kind injected, every restart worked.
     - history: revisions 2..F each present, in order, only known keys,
       compactions only of history already read.
     - acked writes: every op a writer saw succeed (HTTP 200) is in the
       history at the revision its answer gave (put: that value; delete:
       deleted > 0 a delete event, deleted == 0 the key absent then);
       each writer's acknowledged revisions grow with its op order; an op
       that failed (may or may not have happened) appears at most once and
       only after every acknowledged op before it; nothing else of the
       writer's appears; the static keys, markers and lease key likewise;
       every sampled range read agrees.
     - watcher: each watcher's events equal the history's in (its created
       revision, its last event] exactly (every revision once, in order);
       a watcher ends only by a compaction that covers its resume point
       (resume < compact_revision, a revision we compacted at) with
       ETCD_ECOMPACTED after the canceled message; the last one reaches F.
     - mirror: every whole snapshot equals the history replayed to its
       revision (keys, values, mod revisions); the changes after it equal
       the history's from its revision + 1 up to the next snapshot; a
       snapshot is never older than what was applied; the mirror never
       ends; at the end its map equals a paged readdir at F (and the
       replayed history).
     - fds: /proc/self/fd counted at the start and after freeing clients.
     - memory: VmRSS and live heap (ASan's allocator) sampled at warm-up
       (a third of the run, at least 5 s: in a 10-minute run ASan's
       allocator grew RSS 7.8 MB from 40 s to 600 s with the live heap
       flat) and when the load stops: RSS may grow by 4 MiB + 10 %, the
       heap by 1 MiB. The soak's own records are
       allocated and touched before the warm-up sample; ASan's quarantine
       is kept small so that RSS can level off (see below).
     - calls: every call is timed; one that failed has an error code and a
       non-empty text, one that gave a result ETCD_OK and ""; none took
       longer than its bound (+ 1 s for ASan and two shared cores), from
       etcd.h's retry rules: with retry each try has the whole timeout and
       a call makes up to endpoints * max_fails + 1 = 4 tries: a unary
       call (put, delete, get, txn, page, request, keepalive, grant, watch
       open) 4 * 1.5 s; etcd_watch_next with stall_check its timeout + the
       client's timeout (the silence check); a mirror's next its timeout +
       a page's 4 tries (a page started just before its deadline); a plain
       watch (the history reader) its timeout.
     - lease: alive at the end (etcd agrees, the key is there), or lost
       exactly once, every later tick -1 with ETCD_ELOST at once, and only
       legitimately: no keepalive acknowledged for a whole TTL, or etcd
       said it was gone and had really revoked it (the lease key's delete is
       in the history at or before the revision read right after the loss,
       the key is gone then and timetolive says -1).

   MODES (SOAK_MODE; mk/soak.mk passes it on):
     - plain (the default): http:// client URLs, no auth; everything above.
     - tls-auth: the same load, faults and checks, with the cluster serving
       https client URLs (a throwaway CA and server certificate made with
       the openssl CLI, tests/harness.h's test_certs_make) and etcd auth
       enabled with JWT tokens (ES256; a JWT carries the auth store's
       revision, so every auth-store change kills every token: "revision
       of auth store is old"; and each lives 10 s, busy or not: "invalid
       auth token"). Users: root (role root: the checker's
       client, the churn actor) and "soak" (role soak-rw: readwrite on the
       prefix /soak/; the writers, watcher, mirror and lease keeper). Every
       client verifies the server certificate: ssl_ca_path for the
       writers, the lease keeper and the checker, ssl_ca_pem for the
       watcher, the mirror and the churn actor. A harness-only plain
       listener per member (tests/soak_auth.h) serves the raw-HTTP health,
       status and leader checks; no etcd.h client uses it.
       AUTH CHURN: while the load runs, an actor (its own thread and root
       client; gaps of 1.5-3.5 s from the seed) changes the auth store one
       step at a time, in a cycle: add a throwaway role, grant it a
       permission, add a throwaway user, grant it the role, grant the role
       to "soak" too, change the throwaway user's password, grant soak-rw
       an extra permission (outside /soak/), revoke it, revoke the role
       from "soak", delete the user, delete the role. /soak/ stays
       readwrite for "soak" throughout, so every failure of the load is
       the clients' (or etcd's), not a permission taken away.
       RENEWALS: the soak build counts every /auth/authenticate request
       each thread writes (tests/soak_auth.h wraps the TLS backend's write
       with the linker: etcd.h has no public counter), and etcd's own
       counts are read from the members' /metrics. prop_auth checks: the
       actor changed the store; etcd refused calls for an old auth
       revision; each writer renewed its token for at least half of the
       changes (the tokens did die, and were renewed rather than the
       writes failing); no thread sent more than 2 * (clients it made +
       changes tried + JWT lifetimes in the run + member faults)
       authenticates (a renewal storm, one per request, would be
       thousands); every thread that made calls authenticated (the count
       works); etcd counted no more authenticates than the clients wrote.
       The backend
       is a compile flag: this file defines ETCD_USE_OPENSSL unless
       ETCD_USE_MBEDTLS is given (mk/soak.mk builds both).

   A failure of a check is a finding: the printed lines say which event,
   op or call, so an etcd.h bug can be told from an environment problem
   (a member that would not restart, a history read that timed out). */
#if !defined(ETCD_USE_MBEDTLS)
#define ETCD_USE_OPENSSL
#endif
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
#include "harness.h"
#include "soak_auth.h"
#define MAP_BUCKETS 4096
#include "kvmap.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SOAK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SOAK_ASAN 1
#endif
#endif

#if defined(ETCD_USE_MBEDTLS)
#define SOAK_BACKEND "mbedTLS"
#else
#define SOAK_BACKEND "OpenSSL"
#endif

#ifdef SOAK_ASAN
/* A small quarantine (4 MiB, 64 KiB per thread, instead of 256 MiB and
   1 MiB): freed memory is reused soon, so VmRSS levels off within the
   warm-up. With the defaults it grows for minutes while the quarantine
   fills, though the live heap stays flat (a plain -O2 build of this file
   stays at about 3.5 MB). ASAN_OPTIONS in the environment overrides it. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "quarantine_size_mb=4:thread_local_quarantine_size_kb=64"; }
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t heap_bytes(void) { return __sanitizer_get_current_allocated_bytes(); }
#else
static size_t heap_bytes(void) { return 0; }
#endif

/* ---- parameters ---------------------------------------------------------- */

#define NMEM          3
#define NWRITERS      2
#define PREFIX        "/soak/"
#define CLI_TIMEOUT   1.5
#define MAX_FAILS     1
#define FAIL_TIMEOUT  1.0
#define WATCH_TIMEOUT 1.0
#define STALL_CHECK   2.0
#define LEASE_TTL     6
#define WRITER_RATE   50.0
#define LIVE          150
#define NSTATIC       600
#define TXN_OPS       100
#define MARGIN        1.0
#define TRIES         (NMEM * MAX_FAILS + 1)
#define MAXSEG        256
#define MAXSNAP       256
#define MAXCOMPACT    256
#define MAXMARK       512
#define AUTH_GAP      1.5       /* tls-auth: the churn actor's gaps, 1.5 s ... */
#define AUTH_GAP_SPAN 2.0       /* ... plus up to this */

/* ---- small things -------------------------------------------------------- */

static double t_origin;
static volatile sig_atomic_t g_term;

static void on_term(int sig) { (void)sig; g_term = 1; }

static double now(void) { return test_now(); }

static void nap(double s)
{
    double until = now() + s;
    while (!g_term && now() < until) {
        double left = until - now();
        th__sleep_ms(left > 0.05 ? 50 : (long)(left * 1000) + 1);
    }
}

static void say(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "[%6.1f] ", now() - t_origin);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double rnd01(uint64_t *s) { return (double)(splitmix(s) >> 11) / 9007199254740992.0; }

static uint64_t mix64(uint64_t x) { return splitmix(&x); }

static long vm_rss_kb(void)
{
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) { kb = strtol(line + 6, NULL, 10); break; }
    fclose(f);
    return kb;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;
    if (!d) return -1;
    while ((e = readdir(d)) != NULL) if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1;          /* the directory's own fd */
}

/* ---- keys and events ----------------------------------------------------- */

/* A key as an int: class << 24 | number. */
enum { KC_W0 = 1, KC_STATIC = 8, KC_MARKER = 9, KC_LEASE = 10, KC_OTHER = 15 };
#define KEY(kc, n) ((int32_t)(((int32_t)(kc) << 24) | (int32_t)(n)))
#define KC(k)      ((int)((k) >> 24))
#define KN(k)      ((long)((k) & 0xFFFFFF))
#define IS_W(k)    (KC(k) >= KC_W0 && KC(k) < KC_W0 + NWRITERS)

static void key_name(char *buf, size_t n, int32_t key)
{
    int kc = KC(key);
    if (IS_W(key)) snprintf(buf, n, PREFIX "w%d/%08ld", kc - KC_W0, KN(key));
    else if (kc == KC_STATIC) snprintf(buf, n, PREFIX "s/%04ld", KN(key));
    else if (kc == KC_MARKER) snprintf(buf, n, PREFIX "marker");
    else if (kc == KC_LEASE) snprintf(buf, n, PREFIX "lease");
    else snprintf(buf, n, "(a key the soak never writes)");
}

static int32_t key_id(const char *k, size_t kl)
{
    char buf[64];
    int w;
    long num;
    int32_t id = KEY(KC_OTHER, 0);
    if (kl >= sizeof buf - 1 || strlen(k) != kl) return id;
    if (!strcmp(k, PREFIX "marker")) return KEY(KC_MARKER, 0);
    if (!strcmp(k, PREFIX "lease")) return KEY(KC_LEASE, 0);
    if (sscanf(k, PREFIX "w%d/%ld", &w, &num) == 2 && w >= 0 && w < NWRITERS && num > 0 && num < 0xFFFFFF)
        id = KEY(KC_W0 + w, num);
    else if (sscanf(k, PREFIX "s/%ld", &num) == 1 && num >= 0 && num < NSTATIC)
        id = KEY(KC_STATIC, num);
    else
        return KEY(KC_OTHER, 0);
    key_name(buf, sizeof buf, id);           /* exactly that spelling */
    return strcmp(buf, k) ? KEY(KC_OTHER, 0) : id;
}

static int32_t val_of(const char *v, size_t vl)
{
    char *end;
    long x;
    if (!vl || vl > 10 || strlen(v) != vl || v[0] < '0' || v[0] > '9') return INT32_MIN;
    x = strtol(v, &end, 10);
    if (end != v + vl || x < 0 || x > INT32_MAX) return INT32_MIN;
    return (int32_t)x;
}

typedef struct ev { int64_t rev; int32_t key, val; int type; } ev;   /* type 0 PUT, 1 DELETE */

static ev ev_of(const etcd_event *e)
{
    ev x;
    x.rev = e->kv.mod_revision;
    x.key = key_id(e->kv.key, e->kv.key_len);
    x.type = e->type == ETCD_EVENT_DELETE ? 1 : 0;
    x.val = x.type ? 0 : val_of(e->kv.value, e->kv.value_len);
    return x;
}

static bool ev_eq(const ev *a, const ev *b)
{
    return a->rev == b->rev && a->key == b->key && a->val == b->val && a->type == b->type;
}

static const char *ev_str(const ev *e, char *buf, size_t n)
{
    char k[80];
    if (!e) { snprintf(buf, n, "(nothing)"); return buf; }
    key_name(k, sizeof k, e->key);
    snprintf(buf, n, "%s %s=%ld at %lld", e->type ? "DELETE" : "PUT", k, (long)e->val, (long long)e->rev);
    return buf;
}

typedef struct evlist { ev *v; long n, cap, overflow; } evlist;

static void *touched(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) { fprintf(stderr, "soak: out of memory\n"); exit(2); }
    memset(p, 0xA5, n);                      /* resident now, not after the warm-up */
    return p;
}

static void evlist_init(evlist *l, long cap)
{
    l->v = (ev *)touched((size_t)cap * sizeof *l->v);
    l->n = 0;
    l->cap = cap;
    l->overflow = 0;
}

static void evlist_push(evlist *l, const ev *e)
{
    if (l->n < l->cap) l->v[l->n++] = *e;
    else l->overflow++;
}

/* Hash of one key's state, summed over a set: the same for the same keys,
   values and mod revisions, whatever the order. */
static uint64_t kv_hash(int32_t key, int32_t val, int64_t mod)
{
    return mix64(((uint64_t)(uint32_t)key << 32) | (uint32_t)val) ^ mix64((uint64_t)mod + 0x5bd1e995ULL);
}

/* ---- call accounting ----------------------------------------------------- */

enum { K_PUT, K_DELETE, K_TXN, K_GET, K_PAGE, K_WATCH_OPEN, K_WATCH_NEXT, K_MIRROR_NEXT, K_HIST_NEXT,
       K_LEASE_KEEP, K_LEASE_TICK, K_TIMETOLIVE, K_REQUEST, K_AUTH, NKIND };
static const char *const kind_name[NKIND] = {
    "put", "delete", "txn", "get", "readdir page", "watch open", "watch next", "mirror next",
    "history watch next", "lease keep", "lease tick", "timetolive", "request (compaction)", "auth change" };

static double kind_bound(int k)
{
    switch (k) {
    case K_WATCH_NEXT:  return WATCH_TIMEOUT + CLI_TIMEOUT + MARGIN;
    case K_MIRROR_NEXT: return WATCH_TIMEOUT + TRIES * CLI_TIMEOUT + MARGIN;
    case K_HIST_NEXT:   return WATCH_TIMEOUT + MARGIN;
    default:            return TRIES * CLI_TIMEOUT + MARGIN;
    }
}

typedef struct kstat { long calls, fails, idle, over; double worst; } kstat;

#define NNOTES 6
static struct {
    pthread_mutex_t mu;
    kstat k[NKIND];
    long codes[ETCD_ELOST + 1];
    char code_note[ETCD_ELOST + 1][200];
    long over, bad, non200;
    char over_notes[NNOTES][256], bad_notes[NNOTES][256], non200_note[256];
} S;

/* One call of kind k took dur seconds. failed: it returned NULL (a lease
   tick: left an error); idle: a watch's "nothing yet". ended_ok: a canceled
   watch message, which carries the end's code with it. */
static void note(int k, bool failed, etcd_err code, const char *text, double dur, bool idle, bool ended_ok)
{
    kstat *ks = &S.k[k];
    pthread_mutex_lock(&S.mu);
    ks->calls++;
    if (dur > ks->worst) ks->worst = dur;
    if (idle) ks->idle++;
    else if (failed) {
        int c = (int)code >= 0 && (int)code <= ETCD_ELOST ? (int)code : 0;
        ks->fails++;
        if (!S.codes[c]++)
            snprintf(S.code_note[c], sizeof S.code_note[c], "%s: %.150s", kind_name[k], text ? text : "(null)");
    }
    if (failed && (code == ETCD_OK || !text || !*text)) {
        if (S.bad < NNOTES)
            snprintf(S.bad_notes[S.bad], sizeof S.bad_notes[0], "%s failed with code %s and text \"%s\"",
                     kind_name[k], etcd_err_name(code), text ? text : "(null)");
        S.bad++;
    } else if (!failed && !ended_ok && (code != ETCD_OK || (text && *text))) {
        if (S.bad < NNOTES)
            snprintf(S.bad_notes[S.bad], sizeof S.bad_notes[0], "%s gave a result but left code %s, text \"%s\"",
                     kind_name[k], etcd_err_name(code), text ? text : "(null)");
        S.bad++;
    }
    if (dur > kind_bound(k)) {
        ks->over++;
        if (S.over < NNOTES)
            snprintf(S.over_notes[S.over], sizeof S.over_notes[0], "at %.1f s a %s took %.2f s (bound %.2f s): %s%s%s",
                     now() - t_origin, kind_name[k], dur, kind_bound(k), failed ? etcd_err_name(code) : "a result",
                     failed ? ": " : "", failed && text ? text : "");
        S.over++;
    }
    pthread_mutex_unlock(&S.mu);
}

static void note_res(int k, etcd *c, const etcd_res *r, double t0)
{
    note(k, r == NULL, etcd_errcode(c), etcd_errstr(c), now() - t0, false, false);
    if (r && r->status != 200 && (k == K_PUT || k == K_DELETE || k == K_TXN)) {
        pthread_mutex_lock(&S.mu);
        if (!S.non200++)
            snprintf(S.non200_note, sizeof S.non200_note, "%s: HTTP %d: %s", kind_name[k], r->status,
                     r->message ? r->message : r->error ? r->error : "");
        pthread_mutex_unlock(&S.mu);
    }
}

static etcd_res *t_set(etcd *c, const char *k, const char *v, const etcd_set_opts *o)
{
    double t0 = now();
    etcd_res *r = etcd_set(c, k, v, o);
    note_res(K_PUT, c, r, t0);
    return r;
}

static etcd_res *t_delete(etcd *c, const char *k)
{
    double t0 = now();
    etcd_res *r = etcd_delete(c, k, NULL);
    note_res(K_DELETE, c, r, t0);
    return r;
}

static etcd_res *t_get(etcd *c, const char *k, int64_t rev)
{
    etcd_get_opts o;
    double t0 = now();
    etcd_res *r;
    memset(&o, 0, sizeof o);
    o.revision = rev;
    r = etcd_get(c, k, &o);
    note_res(K_GET, c, r, t0);
    return r;
}

static etcd_res *t_txn(etcd *c, const etcd_compare *cmp, const etcd_op *ops, size_t n)
{
    double t0 = now();
    etcd_res *r = etcd_txn(c, cmp, 1, ops, n, NULL, 0, NULL);
    note_res(K_TXN, c, r, t0);
    return r;
}

static etcd_res *t_request(etcd *c, const char *path, const char *body)
{
    double t0 = now();
    etcd_res *r = etcd_request(c, path, body, 0);
    note_res(K_REQUEST, c, r, t0);
    return r;
}

static etcd_res *t_timetolive(etcd *c, int64_t id)
{
    double t0 = now();
    etcd_res *r = etcd_timetolive(c, id, false);
    note_res(K_TIMETOLIVE, c, r, t0);
    return r;
}

static etcd_res *t_page(etcd *c, etcd_pager *p)
{
    double t0 = now();
    etcd_res *r = etcd_pager_next(p);
    /* NULL with ETCD_OK is the end, not a failure */
    note(K_PAGE, !r && etcd_errcode(c) != ETCD_OK, etcd_errcode(c), etcd_errstr(c), now() - t0, false, false);
    return r;
}

static etcd_watcher *t_watchdir(etcd *c, const etcd_watch_opts *o)
{
    double t0 = now();
    etcd_watcher *w = etcd_watchdir(c, PREFIX, o);
    note(K_WATCH_OPEN, !w, etcd_errcode(c), etcd_errstr(c), now() - t0, false, false);
    return w;
}

static etcd_res *t_next(int k, etcd_watcher *w)
{
    double t0 = now();
    etcd_res *r = etcd_watch_next(w);
    etcd_err code = etcd_watch_errcode(w);
    note(k, !r, code, etcd_watch_errstr(w), now() - t0, !r && code == ETCD_ETIMEOUT, r && r->canceled);
    return r;
}

/* ---- shared state -------------------------------------------------------- */

static test_etcd m[NMEM];
static char g_url[NMEM][64], g_hosts[256];
static int g_down = -1, g_frozen = -1;          /* main thread only */

static pthread_mutex_t g_mu;
static int g_stop_load, g_quit, g_quit_lease;
static int64_t g_final;
static struct {
    int watcher_ep, mirror_ep;
    int64_t watcher_last, mirror_applied;
    int mirror_in_snap, watcher_ready, mirror_ready, lease_ready;
} g_pub;

static int flag_get(const int *p)
{
    int v;
    pthread_mutex_lock(&g_mu);
    v = *p;
    pthread_mutex_unlock(&g_mu);
    return v;
}

static void flag_set(int *p)
{
    pthread_mutex_lock(&g_mu);
    *p = 1;
    pthread_mutex_unlock(&g_mu);
}

static int64_t final_rev(void)
{
    int64_t f;
    pthread_mutex_lock(&g_mu);
    f = g_final;
    pthread_mutex_unlock(&g_mu);
    return f;
}

/* White-box (the soak includes the implementation): the member a
   watcher's stream is on, or -1. Read by the watcher's own thread. */
static int ep_index(const etcd_watcher *w)
{
    int i;
    if (!w || !w->s.ep) return -1;
    for (i = 0; i < NMEM; i++) if (!strcmp(w->s.ep->url, g_url[i])) return i;
    return -1;
}

/* tls-auth: the cluster, the CA as PEM text, the credentials. */
static int g_tls;
static sa_cluster SC;
static const char *g_ca_pem;
#define ROOT_PW "soak-root-pw"
#define LOAD_USER "soak"
#define LOAD_PW "soak-pw"
#define LOAD_ROLE "soak-rw"

/* A client of hosts: retry on, CLI_TIMEOUT, MAX_FAILS, FAIL_TIMEOUT. In
   tls-auth mode it verifies the members' certificate against the CA
   (ssl_ca_pem with pem, else ssl_ca_path) and logs in as root (root) or
   as the load's user. */
static etcd *make_client(const char *hosts, bool root, bool pem)
{
    etcd_opts o;
    char err[256] = "";
    etcd *cli;
    if (!g_tls) return test_client_at(hosts, NULL, CLI_TIMEOUT, true, MAX_FAILS, FAIL_TIMEOUT);
    memset(&o, 0, sizeof o);
    o.http_host = hosts;
    o.timeout = CLI_TIMEOUT;
    o.retry = true;
    o.max_fails = MAX_FAILS;
    o.fail_timeout = FAIL_TIMEOUT;
    if (pem) o.ssl_ca_pem = g_ca_pem;
    else o.ssl_ca_path = SC.certs.ca;
    o.user = root ? "root" : LOAD_USER;
    o.password = root ? ROOT_PW : LOAD_PW;
    cli = etcd_new(&o, err, sizeof err);
    if (!cli) fprintf(stderr, "  etcd_new(%s): %s\n", hosts, err);
    return cli;
}

/* The checker's client (root): the members that are up and not frozen.
   Made and used by the main thread only. */
static etcd *admin_client(void)
{
    char hosts[256];
    size_t len = 0;
    int i;
    hosts[0] = '\0';
    for (i = 0; i < NMEM; i++)
        if (m[i].pid > 0 && i != g_frozen)
            len += (size_t)snprintf(hosts + len, sizeof hosts - len, "%s%s", len ? "," : "", g_url[i]);
    sa_client_made();
    return make_client(hosts, true, false);
}

/* ---- writers ------------------------------------------------------------- */

enum { OP_PUT = 1, OP_DEL = 2 };
enum { OUT_NONE = 0, OUT_ACK, OUT_NOTFOUND, OUT_FAIL };

static int op_kind(long s) { return s % 2 == 0 && s > 2 * LIVE ? OP_DEL : OP_PUT; }
static long op_target(long s) { return op_kind(s) == OP_DEL ? s - 2 * LIVE - 1 : s; }
/* The op that deletes key t, or 0 when none ever does. */
static long del_op_of(long t) { return t % 2 == 1 ? t + 2 * LIVE + 1 : 0; }

typedef struct wop { int64_t rev; int outcome; etcd_err code; } wop;

typedef struct writer {
    int id;
    pthread_t th;
    etcd *c;
    wop *ops;            /* [1..n] */
    long cap, n;         /* n under g_mu */
    long acked, notfound, failed;
    int slot;            /* its count of authenticate requests (soak_auth.h) */
} writer;

static writer W[NWRITERS];

static long writer_n(writer *wr)
{
    long n;
    pthread_mutex_lock(&g_mu);
    n = wr->n;
    pthread_mutex_unlock(&g_mu);
    return n;
}

static void *writer_main(void *p)
{
    writer *wr = (writer *)p;
    double next = now();
    long s;
    char name[32];
    snprintf(name, sizeof name, "writer %d", wr->id);
    wr->slot = sa_register(name);
    sa_client_made();                /* wr->c, made by main, used here only */
    for (s = 1; s <= wr->cap && !flag_get(&g_stop_load); s++) {
        char key[64], val[32];
        etcd_res *r;
        wop op;
        while (now() < next && !flag_get(&g_stop_load)) {
            double left = next - now();
            th__sleep_ms(left > 0.02 ? 20 : (long)(left * 1000) + 1);
        }
        if (flag_get(&g_stop_load)) break;
        memset(&op, 0, sizeof op);
        key_name(key, sizeof key, KEY(KC_W0 + wr->id, op_target(s)));
        if (op_kind(s) == OP_PUT) {
            snprintf(val, sizeof val, "%ld", s * 10 + wr->id);
            r = t_set(wr->c, key, val, NULL);
            if (r && r->status == 200) { op.outcome = OUT_ACK; op.rev = r->revision; }
        } else {
            r = t_delete(wr->c, key);
            if (r && r->status == 200) { op.outcome = r->deleted > 0 ? OUT_ACK : OUT_NOTFOUND; op.rev = r->revision; }
        }
        if (!op.outcome) { op.outcome = OUT_FAIL; op.code = r ? ETCD_OK : etcd_errcode(wr->c); }
        etcd_res_free(r);
        if (op.outcome == OUT_ACK) wr->acked++;
        else if (op.outcome == OUT_NOTFOUND) wr->notfound++;
        else wr->failed++;
        pthread_mutex_lock(&g_mu);
        wr->ops[s] = op;
        wr->n = s;
        pthread_mutex_unlock(&g_mu);
        next += 1.0 / WRITER_RATE;
        if (next < now() - 0.1) next = now();     /* behind after an outage: no burst */
    }
    return NULL;
}

/* ---- the watcher ----------------------------------------------------------- */

enum { END_OPEN = 0, END_COMPACTED, END_OTHER };

typedef struct seg {
    int64_t created;      /* the created message's revision; -1: none yet */
    long first, n;        /* its events in WEV */
    int created_msgs, msgs_before_created, after_cancel;
    int end;
    etcd_err code;        /* etcd_watch_errcode after the end */
    int64_t compact_rev;
    char why[256];
} seg;

static evlist WEV;
static seg SEG[MAXSEG];
static int nSEG, seg_overflow;

static void *watcher_main(void *arg)
{
    etcd *c = make_client(g_hosts, false, true);
    etcd_watcher *w = NULL;
    seg *sg = NULL;
    etcd_watch_opts o;
    (void)arg;
    memset(&o, 0, sizeof o);
    o.auto_resume = true;
    o.stall_check = STALL_CHECK;
    o.timeout = WATCH_TIMEOUT;
    sa_register("watcher");
    sa_client_made();
    while (c && !flag_get(&g_quit)) {
        int64_t fin = final_rev();
        etcd_res *r;
        size_t i;
        if (fin && sg && sg->n && WEV.v[sg->first + sg->n - 1].rev >= fin) break;     /* done */
        if (!w) {
            if (nSEG == MAXSEG) { seg_overflow = 1; break; }
            if (!(w = t_watchdir(c, &o))) { nap(0.1); continue; }
            sg = &SEG[nSEG++];
            memset(sg, 0, sizeof *sg);
            sg->created = -1;
            sg->first = WEV.n;
            continue;
        }
        r = t_next(K_WATCH_NEXT, w);
        pthread_mutex_lock(&g_mu);
        g_pub.watcher_ep = ep_index(w);
        pthread_mutex_unlock(&g_mu);
        if (!r) {
            if (etcd_watch_errcode(w) == ETCD_ETIMEOUT) continue;
            sg->end = END_OTHER;
            sg->code = etcd_watch_errcode(w);
            snprintf(sg->why, sizeof sg->why, "%s", etcd_watch_errstr(w));
            say("watcher %d ended: %s: %s", nSEG - 1, etcd_err_name(sg->code), sg->why);
            etcd_watchcancel(w);
            w = NULL;
            continue;
        }
        if (r->created) {
            if (sg->created < 0) sg->created = r->revision;
            sg->created_msgs++;
            if (sg->created_msgs == 1 && sg->n) sg->msgs_before_created++;
            flag_set(&g_pub.watcher_ready);
        } else if (sg->created < 0) {
            sg->msgs_before_created++;
        }
        if (r->canceled) {
            etcd_res *r2;
            sg->compact_rev = r->compact_revision;
            etcd_res_free(r);
            r2 = t_next(K_WATCH_NEXT, w);         /* the canceled message was the last */
            if (r2) sg->after_cancel++;
            etcd_res_free(r2);
            sg->code = etcd_watch_errcode(w);
            snprintf(sg->why, sizeof sg->why, "%s", etcd_watch_errstr(w));
            sg->end = sg->compact_rev ? END_COMPACTED : END_OTHER;
            say("watcher %d canceled (compact_revision %lld): %s: %s", nSEG - 1, (long long)sg->compact_rev,
                etcd_err_name(sg->code), sg->why);
            etcd_watchcancel(w);
            w = NULL;
            continue;
        }
        for (i = 0; i < r->nevents; i++) {
            ev e = ev_of(&r->events[i]);
            evlist_push(&WEV, &e);
            if (!WEV.overflow) sg->n++;
        }
        if (r->nevents) {
            pthread_mutex_lock(&g_mu);
            g_pub.watcher_last = r->events[r->nevents - 1].kv.mod_revision;
            pthread_mutex_unlock(&g_mu);
        }
        etcd_res_free(r);
    }
    etcd_watchcancel(w);
    etcd_free(c);
    return NULL;
}

/* ---- the mirror ------------------------------------------------------------ */

static uint64_t map_hash(kvmap *mp)
{
    uint64_t h = 0;
    size_t i;
    ment *e;
    if (!mp->b) return 0;
    for (i = 0; i < MAP_BUCKETS; i++)
        for (e = mp->b[i]; e; e = e->next)
            h += kv_hash(key_id(e->k, e->kl), val_of(e->v, e->vl), e->mod);
    return h;
}

typedef struct snaprec {
    int64_t rev;          /* the snapshot's revision (its first page's) */
    int64_t last;         /* the newest revision applied while it was current */
    long count;           /* keys when whole; -1: cut short by a newer reset */
    uint64_t hash;
    long first, n;        /* its change events in MEV */
    int pages;
} snaprec;

static kvmap MM;
static evlist MEV;
static snaprec SNAP[MAXSNAP];
static int nSNAP, snap_overflow;
static struct {
    int64_t applied;
    bool in_snap, have_last;
    char lastkey[64];
    long bad, ends, pages, snap_keys;
    char notes[NNOTES][256];
} MS;

static void mbad(const char *fmt, ...)
{
    va_list ap;
    if (MS.bad < NNOTES) {
        va_start(ap, fmt);
        vsnprintf(MS.notes[MS.bad], sizeof MS.notes[0], fmt, ap);
        va_end(ap);
    }
    MS.bad++;
}

static void mirror_apply(const etcd_res *r)
{
    size_t i;
    snaprec *sn = nSNAP ? &SNAP[nSNAP - 1] : NULL;
    if (r->canceled || r->created || r->compact_revision) mbad("a mirror message with created/canceled: %.120s", r->body);
    MS.pages++;
    if (r->snapshot) {
        if (r->reset) {
            if (r->revision < MS.applied) mbad("snapshot at %lld after %lld was applied", (long long)r->revision,
                                               (long long)MS.applied);
            if (MS.in_snap && sn) sn->count = -1;          /* cut short: restarted */
            if (nSNAP == MAXSNAP) { snap_overflow = 1; return; }
            map_clear(&MM);
            sn = &SNAP[nSNAP++];
            memset(sn, 0, sizeof *sn);
            sn->rev = sn->last = r->revision;
            sn->first = MEV.n;
            MS.in_snap = true;
            MS.have_last = false;
        } else if (!MS.in_snap || !sn) {
            mbad("a snapshot page without a reset before it");
            return;
        }
        sn->pages++;
        for (i = 0; i < r->nevents; i++) {
            const etcd_event *e = &r->events[i];
            if (e->type != ETCD_EVENT_PUT || e->kv.mod_revision <= 0 || e->kv.mod_revision > sn->rev)
                mbad("snapshot event %s at %lld in a snapshot at %lld", e->kv.key, (long long)e->kv.mod_revision,
                     (long long)sn->rev);
            if (MS.have_last && strcmp(e->kv.key, MS.lastkey) <= 0)
                mbad("snapshot key %s not after %s", e->kv.key, MS.lastkey);
            snprintf(MS.lastkey, sizeof MS.lastkey, "%s", e->kv.key);
            MS.have_last = true;
            map_set(&MM, e->kv.key, e->kv.key_len, e->kv.value, e->kv.value_len, e->kv.mod_revision);
            MS.snap_keys++;
        }
        if (!r->more) {
            MS.in_snap = false;
            MS.applied = sn->rev;
            sn->count = MM.n;
            sn->hash = map_hash(&MM);
        }
        return;
    }
    if (MS.in_snap || !sn) mbad("a change in the middle of a snapshot");
    if (r->reset || r->more || !r->nevents) mbad("a change message with reset/more/no events");
    for (i = 0; i < r->nevents; i++) {
        const etcd_event *e = &r->events[i];
        int64_t rev = e->kv.mod_revision;
        ev x = ev_of(e);
        if (i == 0 ? rev <= MS.applied : rev < r->events[i - 1].kv.mod_revision)
            mbad("change at %lld after %lld was applied: repeated or out of order", (long long)rev,
                 (long long)(i ? r->events[i - 1].kv.mod_revision : MS.applied));
        if (e->type == ETCD_EVENT_PUT) map_set(&MM, e->kv.key, e->kv.key_len, e->kv.value, e->kv.value_len, rev);
        else if (!map_del(&MM, e->kv.key, e->kv.key_len)) mbad("a delete of %s, which the map does not hold", e->kv.key);
        evlist_push(&MEV, &x);
        if (sn && !MEV.overflow) sn->n++;
    }
    if (r->nevents && r->events[r->nevents - 1].kv.mod_revision > MS.applied)
        MS.applied = r->events[r->nevents - 1].kv.mod_revision;
    if (sn) sn->last = MS.applied;
}

static void *mirror_main(void *arg)
{
    etcd *c = make_client(g_hosts, false, true);
    etcd_watcher *w = NULL;
    etcd_watch_opts o;
    (void)arg;
    sa_register("mirror");
    sa_client_made();
    memset(&o, 0, sizeof o);
    o.stall_check = STALL_CHECK;
    o.timeout = WATCH_TIMEOUT;
    while (c && !flag_get(&g_quit)) {
        int64_t fin = final_rev();
        etcd_res *r;
        if (fin && MS.applied >= fin && !MS.in_snap) break;
        if (!w) {
            double t0 = now();
            w = etcd_mirror(c, PREFIX, &o);
            note(K_WATCH_OPEN, !w, etcd_errcode(c), etcd_errstr(c), now() - t0, false, false);
            if (!w) { nap(0.1); continue; }
        }
        r = t_next(K_MIRROR_NEXT, w);
        pthread_mutex_lock(&g_mu);
        g_pub.mirror_ep = ep_index(w);
        pthread_mutex_unlock(&g_mu);
        if (!r) {
            if (etcd_watch_errcode(w) == ETCD_ETIMEOUT) continue;
            MS.ends++;
            mbad("the mirror ended: %s: %s", etcd_err_name(etcd_watch_errcode(w)), etcd_watch_errstr(w));
            say("mirror ended: %s: %s", etcd_err_name(etcd_watch_errcode(w)), etcd_watch_errstr(w));
            etcd_watchcancel(w);
            w = NULL;                             /* a new one: its first message resets */
            continue;
        }
        if (etcd_watch_errcode(w) != ETCD_OK)
            mbad("a mirror message came with etcd_watch_errcode %s", etcd_err_name(etcd_watch_errcode(w)));
        if (r->reset && nSNAP) say("mirror: a new snapshot at %lld (%d so far)", (long long)r->revision, nSNAP + 1);
        mirror_apply(r);
        etcd_res_free(r);
        pthread_mutex_lock(&g_mu);
        g_pub.mirror_applied = MS.applied;
        g_pub.mirror_in_snap = MS.in_snap;
        if (!MS.in_snap && nSNAP) g_pub.mirror_ready = 1;
        pthread_mutex_unlock(&g_mu);
    }
    etcd_watchcancel(w);
    etcd_free(c);
    return NULL;
}

/* ---- the lease keeper ------------------------------------------------------ */

static struct {
    int64_t id;
    long ticks, failed_tries, lost, after_lost_bad;
    double t_last_ack, t_lost, gap_at_loss, worst_gap;
    etcd_err lost_code;
    char lost_why[256];
    int64_t rev_after, ttl_after;  /* right after the loss: the store's revision, etcd's ttl */
    int key_after;                 /* ... and whether the lease key was still there */
    int64_t put_revs[16];
    int nput_acked, nput_tries;
} L;

static void *lease_main(void *arg)
{
    etcd *c = make_client(g_hosts, false, false);
    etcd_lease *l = NULL;
    (void)arg;
    sa_register("lease keeper");
    sa_client_made();
    while (c && !l && !flag_get(&g_quit_lease)) {
        double t0 = now();
        l = etcd_lease_keep(c, LEASE_TTL, 0);
        note(K_LEASE_KEEP, !l, etcd_errcode(c), etcd_errstr(c), now() - t0, false, false);
        if (!l) nap(0.2);
        else L.t_last_ack = t0;
    }
    if (l) L.id = etcd_lease_id(l);
    while (l && !L.nput_acked && L.nput_tries < 16 && !flag_get(&g_quit_lease)) {
        etcd_set_opts so;
        etcd_res *r;
        memset(&so, 0, sizeof so);
        so.lease = L.id;
        r = t_set(c, PREFIX "lease", "1", &so);
        L.nput_tries++;
        if (r && r->status == 200) L.put_revs[L.nput_acked++] = r->revision;
        etcd_res_free(r);
        if (!L.nput_acked) nap(0.2);
    }
    flag_set(&g_pub.lease_ready);
    while (l && !flag_get(&g_quit_lease)) {
        double due = etcd_lease_due(l), t0, dur;
        etcd_err code;
        int rc;
        if (!L.lost && due > 0) { nap(due < 0.1 ? due : 0.1); continue; }
        t0 = now();
        rc = etcd_lease_tick(l);
        dur = now() - t0;
        code = etcd_errcode(c);
        note(K_LEASE_TICK, code != ETCD_OK, code, etcd_errstr(c), dur, false, false);
        L.ticks++;
        if (rc == 0 && code == ETCD_OK) {
            if (t0 - L.t_last_ack > L.worst_gap) L.worst_gap = t0 - L.t_last_ack;
            L.t_last_ack = t0;
        } else if (rc == 0) {
            L.failed_tries++;
        } else if (!L.lost) {
            L.lost = 1;
            L.t_lost = now();
            L.gap_at_loss = L.t_lost - L.t_last_ack;
            L.lost_code = code;
            snprintf(L.lost_why, sizeof L.lost_why, "%s", etcd_errstr(c));
            {
                etcd_res *g = t_get(c, PREFIX "lease", 0), *t;
                L.rev_after = g && g->status == 200 ? g->revision : 0;
                L.key_after = g && g->status == 200 ? (int)g->nkvs : -1;
                etcd_res_free(g);
                t = t_timetolive(c, L.id);
                L.ttl_after = t && t->status == 200 ? t->ttl : -2;
                etcd_res_free(t);
            }
            say("lease lost: %s: %s (%.1f s after the last acknowledged keepalive); then at revision %lld "
                "etcd has the key %s, lease ttl %lld", etcd_err_name(code), L.lost_why, L.gap_at_loss,
                (long long)L.rev_after, L.key_after > 0 ? "still" : L.key_after == 0 ? "no more" : "(no answer)",
                (long long)L.ttl_after);
        } else {
            if (code != ETCD_ELOST || dur > 0.05) L.after_lost_bad++;
        }
        if (L.lost) nap(0.5);
    }
    etcd_lease_stop(l, l && !L.lost);
    etcd_free(c);
    return NULL;
}

/* ---- the auth churn (tls-auth) --------------------------------------------- */

enum { CH_ROLE_ADD, CH_ROLE_GRANT, CH_USER_ADD, CH_USER_GRANT, CH_LOAD_GRANT, CH_PASSWD, CH_PERM_ADD, CH_PERM_DEL,
       CH_LOAD_REVOKE, CH_USER_DEL, CH_ROLE_DEL, NCHURN };
static const char *const churn_name[NCHURN] = {
    "role add", "role grant-permission", "user add", "user grant-role", "grant-role to " LOAD_USER, "user passwd",
    LOAD_ROLE " grant-permission", LOAD_ROLE " revoke-permission", "revoke-role from " LOAD_USER, "user delete",
    "role delete" };

static struct {
    long tried, applied, refused, failed;
    char refused_note[256], failed_note[256];
} CH;

/* Step step of cycle k: one change of the auth store. The throwaway
   role's permission and soak-rw's extra one are on /churn/<k>/, outside
   the load's prefix. */
static etcd_res *churn_step(etcd *c, int step, int k)
{
    char role[32], user[32], key[32], end[32];
    snprintf(role, sizeof role, "churn-role-%d", k);
    snprintf(user, sizeof user, "churn-user-%d", k);
    snprintf(key, sizeof key, "/churn/%d/", k);
    snprintf(end, sizeof end, "/churn/%d0", k);          /* the prefix's end: '/' + 1 */
    switch (step) {
    case CH_ROLE_ADD:    return etcd_role_add(c, role);
    case CH_ROLE_GRANT:  return etcd_role_grant(c, role, ETCD_PERM_READ, key, 0, end, 0);
    case CH_USER_ADD:    return etcd_user_add(c, user, "churn-pw-1");
    case CH_USER_GRANT:  return etcd_user_grant_role(c, user, role);
    case CH_LOAD_GRANT:  return etcd_user_grant_role(c, LOAD_USER, role);
    case CH_PASSWD:      return etcd_user_passwd(c, user, "churn-pw-2");
    case CH_PERM_ADD:    return etcd_role_grant(c, LOAD_ROLE, ETCD_PERM_READWRITE, key, 0, end, 0);
    case CH_PERM_DEL:    return etcd_role_revoke(c, LOAD_ROLE, key, 0, end, 0);
    case CH_LOAD_REVOKE: return etcd_user_revoke_role(c, LOAD_USER, role);
    case CH_USER_DEL:    return etcd_user_delete(c, user);
    default:             return etcd_role_delete(c, role);
    }
}

/* arg: the seed. Until the load stops: a gap, one step, the next. */
static void *churn_main(void *arg)
{
    uint64_t rng = *(const uint64_t *)arg ^ 0x3c6ef372fe94f82bULL;
    etcd *c = make_client(g_hosts, true, true);
    int step = 0, k = 0;
    sa_register("auth churn");
    sa_client_made();
    while (c && !flag_get(&g_stop_load)) {
        double until = now() + AUTH_GAP + AUTH_GAP_SPAN * rnd01(&rng), t0;
        etcd_res *r;
        while (!flag_get(&g_stop_load) && !g_term && now() < until) nap(0.05);
        if (flag_get(&g_stop_load) || g_term) break;
        t0 = now();
        r = churn_step(c, step, k);
        note_res(K_AUTH, c, r, t0);
        CH.tried++;
        if (r && r->status == 200) CH.applied++;
        else if (r) {
            if (!CH.refused++)
                snprintf(CH.refused_note, sizeof CH.refused_note, "%s %d: HTTP %d: %.150s", churn_name[step], k, r->status,
                         r->message ? r->message : r->body);
        } else if (!CH.failed++) {
            snprintf(CH.failed_note, sizeof CH.failed_note, "%s %d: %s: %.150s", churn_name[step], k,
                     etcd_err_name(etcd_errcode(c)), etcd_errstr(c));
        }
        etcd_res_free(r);
        if (++step == NCHURN) { step = 0; k++; }
    }
    etcd_free(c);
    return NULL;
}

/* tls-auth: root (role root), the load's role (readwrite on PREFIX) and
   user, then auth on; a client without credentials must then be refused.
   Over https, verified, before any other client exists. 0, or -1. */
static int auth_setup(void)
{
    etcd_opts o;
    etcd *c;
    char err[256] = "";
    int i, ok = 1;
    memset(&o, 0, sizeof o);
    o.http_host = g_hosts;
    o.timeout = 5;
    o.retry = true;
    o.ssl_ca_path = SC.certs.ca;
    if (!(c = etcd_new(&o, err, sizeof err))) {
        say("auth setup: etcd_new: %s", err);
        return -1;
    }
    for (i = 0; i < 8 && ok; i++) {
        etcd_res *r = NULL;
        switch (i) {
        case 0: r = etcd_user_add(c, "root", ROOT_PW); break;
        case 1: r = etcd_user_grant_role(c, "root", "root"); break;
        case 2: r = etcd_role_add(c, LOAD_ROLE); break;
        case 3: r = etcd_role_grant(c, LOAD_ROLE, ETCD_PERM_READWRITE, PREFIX, 0, "/soak0", 0); break;
        case 4: r = etcd_user_add(c, LOAD_USER, LOAD_PW); break;
        case 5: r = etcd_user_grant_role(c, LOAD_USER, LOAD_ROLE); break;
        case 6: r = etcd_auth_enable(c); break;
        default: r = etcd_get(c, PREFIX "x", NULL); break;      /* no credentials: refused now */
        }
        if (i < 7 ? !r || r->status != 200 : !r || r->status == 200) {
            say("auth setup step %d: %s", i, r ? r->body : etcd_errstr(c));
            ok = 0;
        }
        etcd_res_free(r);
    }
    etcd_free(c);
    return ok ? 0 : -1;
}

/* ---- history ------------------------------------------------------------- */

static evlist H;
static int64_t hist_next = 1;     /* the next revision to read */
static long hist_parts, hist_dupes, hist_lost, hist_order_bad;

/* Append every event of PREFIX with revision in [hist_next, upto] to H. */
static int read_history(etcd *ac, int64_t upto)
{
    double deadline = now() + 40.0;
    while (hist_next <= upto && now() < deadline && !g_term) {
        etcd_watch_opts o;
        etcd_watcher *w;
        double idle_since = now();
        memset(&o, 0, sizeof o);
        o.start_revision = hist_next;
        o.timeout = WATCH_TIMEOUT;
        if (!(w = t_watchdir(ac, &o))) { nap(0.2); continue; }
        while (hist_next <= upto && now() < deadline && !g_term) {
            etcd_res *r = t_next(K_HIST_NEXT, w);
            size_t i;
            if (!r) {
                if (etcd_watch_errcode(w) == ETCD_ETIMEOUT && now() - idle_since < 3.0) continue;
                break;                                   /* reopen where it stopped */
            }
            if (r->canceled) {
                say("history read canceled at %lld: %s (compact_revision %lld)", (long long)hist_next,
                    r->cancel_reason ? r->cancel_reason : "", (long long)r->compact_revision);
                hist_lost++;
                etcd_res_free(r);
                break;
            }
            for (i = 0; i < r->nevents; i++) {
                ev e = ev_of(&r->events[i]);
                if (e.rev < hist_next) { hist_dupes++; continue; }
                if (e.rev > upto) continue;
                if (H.n && e.rev < H.v[H.n - 1].rev) hist_order_bad++;
                evlist_push(&H, &e);
            }
            if (r->nevents) {
                int64_t last = r->events[r->nevents - 1].kv.mod_revision;
                idle_since = now();
                if (last >= hist_next) hist_next = (last < upto ? last : upto) + 1;
            }
            etcd_res_free(r);
            if (hist_lost) break;
        }
        etcd_watchcancel(w);
        if (hist_lost) return -1;
    }
    hist_parts++;
    return hist_next > upto ? 0 : -1;
}

/* ---- range reads at specific revisions ------------------------------------ */

static long range_checked, range_bad;
static char range_notes[NNOTES][256];
static uint64_t sample_rng;

static void rbad(const char *fmt, ...)
{
    va_list ap;
    if (range_bad < NNOTES) {
        va_start(ap, fmt);
        vsnprintf(range_notes[range_bad], sizeof range_notes[0], fmt, ap);
        va_end(ap);
    }
    range_bad++;
}

/* Whether key holds exactly one kv at rev (*kv its copy); -1: no answer. */
static int kv_at(etcd *ac, const char *key, int64_t rev, etcd_kv *kv, char *val, size_t vn)
{
    etcd_res *r = t_get(ac, key, rev);
    int have;
    if (!r || r->status != 200) { etcd_res_free(r); return -1; }
    have = r->nkvs == 1;
    if (have) {
        *kv = r->kvs[0];
        snprintf(val, vn, "%s", r->kvs[0].value);
    }
    etcd_res_free(r);
    return have;
}

static void range_check_op(etcd *ac, int w, long s, const wop *op)
{
    char key[64], val[32], want[32];
    etcd_kv kv;
    int have;
    key_name(key, sizeof key, KEY(KC_W0 + w, op_target(s)));
    if (op_kind(s) == OP_PUT) {
        snprintf(want, sizeof want, "%ld", s * 10 + w);
        if ((have = kv_at(ac, key, op->rev, &kv, val, sizeof val)) < 0) return;
        range_checked++;
        if (!have || kv.mod_revision != op->rev || kv.create_revision != op->rev || kv.version != 1 || strcmp(val, want))
            rbad("put %s=%s acked at %lld: at that revision: %s, mod %lld, create %lld, version %lld, value %s", key,
                 want, (long long)op->rev, have ? "present" : "absent", (long long)(have ? kv.mod_revision : 0),
                 (long long)(have ? kv.create_revision : 0), (long long)(have ? kv.version : 0), have ? val : "-");
    } else {
        if ((have = kv_at(ac, key, op->rev, &kv, val, sizeof val)) < 0) return;
        range_checked++;
        if (have) rbad("delete of %s acked at %lld: present at that revision", key, (long long)op->rev);
        if ((have = kv_at(ac, key, op->rev - 1, &kv, val, sizeof val)) < 0) return;
        if (!have) rbad("delete of %s acked at %lld: absent just before", key, (long long)op->rev);
    }
}

/* Up to max acknowledged writer ops with revisions in (lo, hi]. */
static void range_samples(etcd *ac, int64_t lo, int64_t hi, int max)
{
    int w;
    for (w = 0; w < NWRITERS; w++) {
        long n = writer_n(&W[w]), s, cand = 0, step, k = 0;
        for (s = 1; s <= n; s++)
            if (W[w].ops[s].outcome == OUT_ACK && W[w].ops[s].rev > lo && W[w].ops[s].rev <= hi) cand++;
        if (!cand) continue;
        step = cand / (max / NWRITERS) + 1;
        k = (long)(splitmix(&sample_rng) % (uint64_t)step);
        for (s = 1; s <= n; s++) {
            const wop *op = &W[w].ops[s];
            if (op->outcome != OUT_ACK || op->rev <= lo || op->rev > hi) continue;
            if (k-- == 0) { range_check_op(ac, w, s, op); k = step - 1; }
        }
    }
}

/* ---- compaction ------------------------------------------------------------ */

static int64_t compact_revs[MAXCOMPACT];
static int ncompact_tries, ncompact_ok, ncompact_verified, ncompact_skipped, ncompact_in_fault;
static int64_t last_compact;
static int64_t marker_rev[MAXMARK];     /* acked marker n's revision, 0 if not acked */
static int nmarkers;

/* Put the next marker; its revision, or 0. */
static int64_t put_marker(etcd *ac)
{
    double until = now() + 15.0;
    while (nmarkers + 1 < MAXMARK && now() < until && !g_term) {
        char val[16];
        etcd_res *r;
        int n = ++nmarkers;
        snprintf(val, sizeof val, "%d", n);
        r = t_set(ac, PREFIX "marker", val, NULL);
        if (r && r->status == 200) {
            marker_rev[n] = r->revision;
            etcd_res_free(r);
            return marker_rev[n];
        }
        etcd_res_free(r);
        nap(0.2);
    }
    return 0;
}

static void do_compaction(const char *when)
{
    etcd *ac = admin_client();
    int64_t mrev;
    char body[64];
    etcd_res *r;
    if (!ac) return;
    if (!(mrev = put_marker(ac))) {
        say("compaction skipped: no marker could be written");
        ncompact_skipped++;
        etcd_free(ac);
        return;
    }
    if (read_history(ac, mrev) != 0) {
        say("compaction skipped: the history up to %lld could not be read", (long long)mrev);
        ncompact_skipped++;
        etcd_free(ac);
        return;
    }
    range_samples(ac, last_compact, mrev, 40);
    snprintf(body, sizeof body, "{\"revision\":\"%lld\"}", (long long)mrev);
    if (ncompact_tries < MAXCOMPACT) compact_revs[ncompact_tries++] = mrev;
    r = t_request(ac, "/kv/compaction", body);
    if (r && r->status == 200) {
        etcd_res *g;
        ncompact_ok++;
        last_compact = mrev;
        g = t_get(ac, PREFIX "marker", mrev - 1);       /* must be gone now */
        if (g && g->status != 200 && ((g->message && strstr(g->message, "compacted")) ||
                                      (g->error && strstr(g->error, "compacted"))))
            ncompact_verified++;
        else say("compaction at %lld: a read at %lld was not refused: %s", (long long)mrev, (long long)(mrev - 1),
                 g ? g->body : etcd_errstr(ac));
        etcd_res_free(g);
        say("compacted at %lld (%s)", (long long)mrev, when);
    } else {
        say("compaction at %lld failed: %s", (long long)mrev, r ? r->body : etcd_errstr(ac));
    }
    etcd_res_free(r);
    etcd_free(ac);
}

/* ---- faults ---------------------------------------------------------------- */

enum { F_KILL, F_FREEZE, F_LEADER, F_COMPACT, NFAULT };
static const char *const fault_name[NFAULT] = { "member kills", "freezes", "leader kills", "compactions" };
static int faults[NFAULT], restart_failed, leader_unknown, health_waits_failed, leader_frozen;

static void thaw_at_exit(void)
{
    int i;
    for (i = 0; i < NMEM; i++) if (m[i].pid > 0) kill(m[i].pid, SIGCONT);
}

static bool all_healthy(double wait)
{
    double until = now() + wait;
    for (;;) {
        int i, ok = 0;
        for (i = 0; i < NMEM; i++)
            if (m[i].pid > 0 && i != g_frozen && th__http_get_has(m[i].port, "/health", "true")) ok++;
        if (ok == NMEM) return true;
        if (now() >= until || g_term) return false;
        nap(0.1);
    }
}

/* A compaction 0.3 s into a fault, counted as one. */
static void compact_in_fault(const char *why)
{
    nap(0.3);
    ncompact_in_fault++;
    faults[F_COMPACT]++;
    do_compaction(why);
}

static void kill_member(int i, uint64_t *rng, bool leader)
{
    double down = 1.0 + 3.0 * rnd01(rng), t;
    bool mid = rnd01(rng) < 0.3;
    say("SIGKILL m%d%s, down for %.1f s%s", i, leader ? " (the leader)" : "", down, mid ? ", compacting meanwhile" : "");
    if (g_tls) sa_keep_member_counts(&SC, m, i);      /* its counts start again at 0 */
    t = now();
    test_etcd_kill_hard(&m[i]);
    g_down = i;
    if (mid) compact_in_fault("while a member is down");
    nap(down - (now() - t));
    if (test_etcd_restart(&m[i]) != 0 && test_etcd_restart(&m[i]) != 0) {
        say("m%d could not be restarted", i);
        restart_failed++;
        return;
    }
    g_down = -1;
    say("m%d restarted", i);
}

static void freeze_member(int i, uint64_t *rng, const char *whose)
{
    const char *whose_l = "";
    double hold = 2.0 + 4.0 * rnd01(rng), t;
    bool mid = rnd01(rng) < 0.6;
    /* a stream on the frozen member is given up after stall_check + the
       client's timeout (the check's wait): freeze longer than that, or the
       member answers the check after SIGCONT and no resume point is ever
       compacted */
    if (mid && hold < STALL_CHECK + CLI_TIMEOUT + 1.0) hold = STALL_CHECK + CLI_TIMEOUT + 1.0;
    if (test_cluster_leader(m, NMEM, 0.5) == i) { leader_frozen++; whose_l = ", the leader"; }
    say("SIGSTOP m%d (%s%s) for %.1f s%s", i, whose, whose_l, hold, mid ? ", compacting meanwhile" : "");
    t = now();
    kill(m[i].pid, SIGSTOP);
    g_frozen = i;
    if (mid) compact_in_fault("while a member is frozen");
    nap(hold - (now() - t));
    kill(m[i].pid, SIGCONT);
    g_frozen = -1;
    say("SIGCONT m%d", i);
}

/* ---- the replayed history ----------------------------------------------- */

typedef struct slot { int64_t mod; int32_t val; bool present; } slot;
static slot *slots_w[NWRITERS], slots_static[NSTATIC], slot_marker, slot_lease, slot_other;
static long replay_count, replay_bad;
static uint64_t replay_hash;

static slot *slot_of(int32_t key)
{
    if (IS_W(key) && KN(key) <= W[KC(key) - KC_W0].cap) return &slots_w[KC(key) - KC_W0][KN(key)];
    if (KC(key) == KC_STATIC) return &slots_static[KN(key)];
    if (KC(key) == KC_MARKER) return &slot_marker;
    if (KC(key) == KC_LEASE) return &slot_lease;
    return &slot_other;
}

static void replay(const ev *e)
{
    slot *s = slot_of(e->key);
    if (s->present) {
        replay_hash -= kv_hash(e->key, s->val, s->mod);
        replay_count--;
    } else if (e->type) {
        replay_bad++;                            /* a delete of a key not there */
    }
    s->present = !e->type;
    if (!e->type) {
        s->val = e->val;
        s->mod = e->rev;
        replay_hash += kv_hash(e->key, e->val, e->rev);
        replay_count++;
    }
}

enum { P_SNAP, P_NOTFOUND, P_FINAL };
typedef struct probe { int64_t rev; int kind; long a; int32_t key; } probe;

static int probe_cmp(const void *a, const void *b)
{
    const probe *x = (const probe *)a, *y = (const probe *)b;
    return x->rev < y->rev ? -1 : x->rev > y->rev;
}

/* ---- the end: figures and checks ------------------------------------------ */

static uint64_t g_seed;
static double g_dur, t_load;
static int fd_start, fd_load, fd_end;
static long rss_start, rss_warm, rss_end, rss_freed, rss_max;
static size_t heap_warm, heap_end, heap_freed;
#define NTRACE 64
static long rss_trace[NTRACE], heap_trace[NTRACE];
static int ntrace;
static double next_trace;
static int64_t static_rev[NSTATIC / TXN_OPS];
static int preload_ok;
static int64_t g_F;
static long final_kvs, final_missing, final_differ, final_pages;
static int64_t final_at;
static uint64_t final_hash;
static int final_read_ok;
static int64_t lease_ttl_end = -2;
static int lease_key_at_end;
static int64_t lease_key_lease;
static int64_t *rev_first;         /* [rev]: H's first event of rev, or -1 */

/* H's events with revision in (lo, hi]: [*a, *b). */
static void h_range(int64_t lo, int64_t hi, long *a, long *b)
{
    long i = 0, j;
    while (i < H.n && H.v[i].rev <= lo) i++;
    j = i;
    while (j < H.n && H.v[j].rev <= hi) j++;
    *a = i;
    *b = j;
}

/* events[0..n) against H's (lo, hi]; 0 when equal (else prints the first difference). */
static long compare_events(const char *who, const ev *got, long n, int64_t lo, int64_t hi)
{
    long a, b, i, diff = 0;
    char x[160], y[160];
    h_range(lo, hi, &a, &b);
    for (i = 0; i < n || a + i < b; i++) {
        const ev *g = i < n ? &got[i] : NULL, *h = a + i < b ? &H.v[a + i] : NULL;
        if (g && h && ev_eq(g, h)) continue;
        if (!diff++)
            fprintf(stderr, "  %s, revisions %lld..%lld: event %ld is %s, the history has %s (%ld events seen, %ld in the history)\n",
                    who, (long long)lo + 1, (long long)hi, i, ev_str(g, x, sizeof x), ev_str(h, y, sizeof y), n, b - a);
        if (!g || !h) break;
    }
    return diff;
}

static long events_checked;

/* How many of evs[0..n) to compare with the history, which ends at F: a
   write that failed at the very end could come after F. */
static long upto(const ev *evs, long n, int64_t f)
{
    while (n > 0 && evs[n - 1].rev > f) n--;
    return n;
}

static void prop_faults(void)
{
    int k;
    if (g_dur >= 20)
        for (k = 0; k < NFAULT; k++) {
            if (!faults[k]) fprintf(stderr, "  no %s were injected\n", fault_name[k]);
            CHECK(faults[k] > 0);
        }
    CHECK_INT(restart_failed, 0);
    CHECK(preload_ok);
    CHECK(g_F > 0);
    CHECK_INT(g_term, 0);
}

static void prop_history(void)
{
    int64_t r, missing = 0, first_missing = 0;
    long i, other = 0;
    char x[160];
    CHECK_INT(hist_lost, 0);
    CHECK_INT(hist_dupes, 0);
    CHECK_INT(hist_order_bad, 0);
    CHECK_INT(H.overflow, 0);
    CHECK_INT(ncompact_skipped, 0);
    CHECK(hist_next > g_F);
    for (r = 2; r <= g_F; r++)
        if (rev_first[r] < 0) { if (!missing++) first_missing = r; }
    if (missing) fprintf(stderr, "  %lld revisions of 2..%lld are not in the history (the first: %lld)\n",
                         (long long)missing, (long long)g_F, (long long)first_missing);
    CHECK_INT(missing, 0);
    for (i = 0; i < H.n; i++)
        if (KC(H.v[i].key) == KC_OTHER || H.v[i].rev < 2 || H.v[i].rev > g_F) {
            if (!other++) fprintf(stderr, "  unexpected history event: %s\n", ev_str(&H.v[i], x, sizeof x));
        }
    CHECK_INT(other, 0);
    CHECK_INT(replay_bad, 0);
}

/* Every H event (put or delete) of each writer key, by key number. */
static void prop_acked_writes(void)
{
    long bad = 0, applied_late = 0, absent_failed = 0;
    int w;
    char x[160];
    int64_t *put_rev[NWRITERS], *del_rev[NWRITERS];
    long i;
#define WBAD(...) do { if (bad++ < NNOTES) fprintf(stderr, "  " __VA_ARGS__); } while (0)
    for (w = 0; w < NWRITERS; w++) {
        put_rev[w] = (int64_t *)calloc((size_t)W[w].cap + 2, sizeof **put_rev);
        del_rev[w] = (int64_t *)calloc((size_t)W[w].cap + 2, sizeof **del_rev);
        if (!put_rev[w] || !del_rev[w]) { CHECK(!"memory"); return; }
    }
    /* attribute every history event of a writer's key */
    for (i = 0; i < H.n; i++) {
        const ev *e = &H.v[i];
        long num = KN(e->key);
        if (!IS_W(e->key)) continue;
        w = KC(e->key) - KC_W0;
        if (num > W[w].n || op_kind(num) != OP_PUT) { WBAD("%s: no op of the writer's wrote it\n", ev_str(e, x, sizeof x)); continue; }
        if (!e->type) {
            if (e->val != num * 10 + w) WBAD("%s: value should be %ld\n", ev_str(e, x, sizeof x), num * 10 + w);
            if (put_rev[w][num]) WBAD("%s: the key was put before, at %lld: a write applied twice\n", ev_str(e, x, sizeof x),
                                      (long long)put_rev[w][num]);
            else put_rev[w][num] = e->rev;
        } else {
            long d = del_op_of(num);
            if (!d || d > W[w].n) { WBAD("%s: no op of the writer's deletes it\n", ev_str(e, x, sizeof x)); continue; }
            if (del_rev[w][num]) WBAD("%s: deleted twice\n", ev_str(e, x, sizeof x));
            else del_rev[w][num] = e->rev;
        }
    }
    /* every op against it */
    for (w = 0; w < NWRITERS; w++) {
        int64_t last_ack = 0;
        long s;
        for (s = 1; s <= W[w].n; s++) {
            const wop *op = &W[w].ops[s];
            long t = op_target(s);
            int64_t hr = op_kind(s) == OP_PUT ? put_rev[w][t] : del_rev[w][t];
            const char *what = op_kind(s) == OP_PUT ? "put" : "delete";
            if (op->outcome == OUT_ACK) {
                if (hr != op->rev)
                    WBAD("writer %d op %ld (%s of key %ld) acked at revision %lld; the history has it at %lld\n", w, s,
                         what, t, (long long)op->rev, (long long)hr);
                if (op->rev <= last_ack)
                    WBAD("writer %d op %ld acked at %lld, not after the previous ack (%lld)\n", w, s,
                         (long long)op->rev, (long long)last_ack);
            } else if (op->outcome == OUT_NOTFOUND) {
                if (hr) WBAD("writer %d op %ld: delete of key %ld said deleted 0 at %lld, the history deletes it at %lld\n",
                             w, s, t, (long long)op->rev, (long long)hr);
                if (W[w].ops[t].outcome == OUT_ACK)
                    WBAD("writer %d op %ld: delete of key %ld said deleted 0, but its put was acked at %lld\n", w, s, t,
                         (long long)W[w].ops[t].rev);
                if (op->rev < last_ack)
                    WBAD("writer %d op %ld answered at %lld, before the previous ack (%lld)\n", w, s,
                         (long long)op->rev, (long long)last_ack);
            } else if (hr) {
                applied_late++;
                if (hr <= last_ack)
                    WBAD("writer %d op %ld (%s of key %ld) failed, yet the history has it at %lld, before op's predecessor's ack at %lld\n",
                         w, s, what, t, (long long)hr, (long long)last_ack);
            } else {
                absent_failed++;
            }
            if ((op->outcome == OUT_ACK || op->outcome == OUT_NOTFOUND) && op->rev > last_ack) last_ack = op->rev;
        }
    }
    /* static keys, markers, the lease key */
    {
        long seen_static = 0, seen_markers = 0, lease_puts = 0, lease_dels = 0;
        int64_t mseen[MAXMARK];
        memset(mseen, 0, sizeof mseen);
        for (i = 0; i < H.n; i++) {
            const ev *e = &H.v[i];
            if (KC(e->key) == KC_STATIC) {
                seen_static++;
                if (e->type || e->val != KN(e->key) || e->rev != static_rev[KN(e->key) / TXN_OPS])
                    WBAD("%s: the static key was put once by txn %ld at %lld\n", ev_str(e, x, sizeof x),
                         KN(e->key) / TXN_OPS, (long long)static_rev[KN(e->key) / TXN_OPS]);
            } else if (KC(e->key) == KC_MARKER) {
                seen_markers++;
                if (e->type || e->val < 1 || e->val > nmarkers || mseen[e->val])
                    WBAD("%s: not a marker put (or one put twice)\n", ev_str(e, x, sizeof x));
                else mseen[e->val] = e->rev;
            } else if (KC(e->key) == KC_LEASE) {
                if (e->type) lease_dels++;
                else if (e->val != 1) WBAD("%s: the lease key's value is 1\n", ev_str(e, x, sizeof x));
                else lease_puts++;
            }
        }
        CHECK_INT(seen_static, NSTATIC);
        for (i = 1; i <= nmarkers; i++)
            if (marker_rev[i] && mseen[i] != marker_rev[i])
                WBAD("marker %ld acked at %lld, in the history at %lld\n", i, (long long)marker_rev[i], (long long)mseen[i]);
        for (i = 0; i < L.nput_acked; i++) {
            long a, b;
            h_range(L.put_revs[i] - 1, L.put_revs[i], &a, &b);
            if (b - a != 1 || H.v[a].key != KEY(KC_LEASE, 0) || H.v[a].type)
                WBAD("the lease key's put acked at %lld is not in the history\n", (long long)L.put_revs[i]);
        }
        if (lease_puts > L.nput_tries) WBAD("%ld puts of the lease key, %d tried\n", lease_puts, L.nput_tries);
        if (lease_dels > (L.lost ? 1 : 0)) WBAD("%ld deletes of the lease key (lease lost: %ld)\n", lease_dels, L.lost);
        (void)seen_markers;
    }
    for (w = 0; w < NWRITERS; w++) { free(put_rev[w]); free(del_rev[w]); }
    fprintf(stderr, "  (info) failed writer ops: %ld applied anyway (after their predecessors), %ld never applied\n",
            applied_late, absent_failed);
    for (i = 0; i < range_bad && i < NNOTES; i++) fprintf(stderr, "  range read: %s\n", range_notes[i]);
    CHECK_INT(range_bad, 0);
    CHECK(range_checked > 0);
    CHECK_INT(bad, 0);
#undef WBAD
}

static bool compacted_at(int64_t rev)
{
    int i;
    for (i = 0; i < ncompact_tries; i++) if (compact_revs[i] == rev) return true;
    return false;
}

static void prop_watcher(void)
{
    int k;
    CHECK(nSEG > 0);
    CHECK_INT(seg_overflow, 0);
    CHECK_INT(WEV.overflow, 0);
    for (k = 0; k < nSEG; k++) {
        seg *sg = &SEG[k];
        const ev *evs = WEV.v + sg->first;
        int64_t start = sg->created, last, end;
        char who[64];
        snprintf(who, sizeof who, "watcher %d", k);
        if (sg->created < 0 || sg->created_msgs != 1 || sg->msgs_before_created) {
            fprintf(stderr, "  %s: %d created messages, %d before it\n", who, sg->created_msgs, sg->msgs_before_created);
            CHECK(!"a watcher's first message, and only it, is created");
        }
        if (sg->n && evs[0].rev - 1 < start) start = evs[0].rev - 1;   /* registered just before "now" */
        last = sg->n ? evs[sg->n - 1].rev : start;
        end = last < g_F ? last : g_F;               /* the history ends at F */
        CHECK_INT(compare_events(who, evs, upto(evs, sg->n, g_F), start, end), 0);
        if (sg->end == END_COMPACTED) {
            int64_t resume = (sg->created > last ? sg->created : last) + 1;
            if (!(resume < sg->compact_rev && compacted_at(sg->compact_rev))) {
                fprintf(stderr, "  %s canceled with compact_revision %lld, resuming from %lld: not a compaction that covers it\n",
                        who, (long long)sg->compact_rev, (long long)resume);
                CHECK(!"a watcher ends only by a compaction past its resume point");
            }
            if (sg->code != ETCD_ECOMPACTED || !sg->why[0] || sg->after_cancel) {
                fprintf(stderr, "  %s: after the canceled message: %s \"%s\", %d more messages\n", who,
                        etcd_err_name(sg->code), sg->why, sg->after_cancel);
                CHECK(!"the canceled message is the last, then ETCD_ECOMPACTED");
            }
        } else if (sg->end == END_OTHER) {
            fprintf(stderr, "  %s ended: %s: %s\n", who, etcd_err_name(sg->code), sg->why);
            CHECK(!"an auto_resume watcher ends only by compaction");
        } else if (k != nSEG - 1) {
            CHECK(!"only the last watcher is open at the end");
        } else if (last < g_F) {
            fprintf(stderr, "  the last watcher got to %lld, not to the final revision %lld\n", (long long)last, (long long)g_F);
            CHECK(!"the watcher reached the final revision");
        }
    }
}

static void prop_mirror(void)
{
    int k;
    char who[64];
    for (k = 0; k < MS.bad && k < NNOTES; k++) fprintf(stderr, "  mirror: %s\n", MS.notes[k]);
    CHECK_INT(MS.bad, 0);
    CHECK_INT(MS.ends, 0);
    CHECK_INT(snap_overflow, 0);
    CHECK_INT(MEV.overflow, 0);
    CHECK(nSNAP > 0);
    for (k = 0; k < nSNAP; k++) {
        snaprec *sn = &SNAP[k];
        snprintf(who, sizeof who, "mirror snapshot %d (at %lld)", k, (long long)sn->rev);
        CHECK_INT(compare_events(who, MEV.v + sn->first, upto(MEV.v + sn->first, sn->n, g_F), sn->rev,
                                 sn->last < g_F ? sn->last : g_F), 0);
        if (k + 1 < nSNAP && SNAP[k + 1].rev < sn->last) CHECK(!"a snapshot never older than what was applied");
    }
    if (nSNAP && SNAP[nSNAP - 1].last < g_F) {
        fprintf(stderr, "  the mirror got to %lld, not to the final revision %lld\n", (long long)SNAP[nSNAP - 1].last,
                (long long)g_F);
        CHECK(!"the mirror reached the final revision");
    }
    CHECK(final_read_ok);
    if (final_missing || final_differ || MM.n != final_kvs)
        fprintf(stderr, "  final readdir at %lld: %ld keys; the map: %ld keys, %ld of etcd's missing, %ld differ\n",
                (long long)final_at, final_kvs, MM.n, final_missing, final_differ);
    CHECK_INT(final_missing, 0);
    CHECK_INT(final_differ, 0);
    CHECK_INT(MM.n, final_kvs);
}

static long probe_bad;

/* The history replayed (run_replay): equal to every whole mirror snapshot
   at its revision and to the final readdir, and without the key of every
   "deleted 0" answer at that answer's revision. */
static void prop_replay(void)
{
    CHECK_INT(probe_bad, 0);
}

static void prop_fds(void)
{
    if (fd_end != fd_start) fprintf(stderr, "  %d fds at the start, %d at the end\n", fd_start, fd_end);
    CHECK_INT(fd_end, fd_start);
    CHECK(fd_load > 0 && fd_load < fd_start + 64);
}

static void prop_memory(void)
{
    long rss_slack = 4096 + rss_warm / 10;
    CHECK(rss_warm > 0 && rss_end > 0);
    if (rss_end - rss_warm > rss_slack)
        fprintf(stderr, "  VmRSS grew from %ld kB (warm) to %ld kB (end of load), more than %ld kB\n", rss_warm, rss_end,
                rss_slack);
    CHECK(rss_end - rss_warm <= rss_slack);
#ifdef SOAK_ASAN
    if ((long)heap_end - (long)heap_warm > 1L << 20)
        fprintf(stderr, "  the live heap grew from %zu to %zu bytes\n", heap_warm, heap_end);
    CHECK((long)heap_end - (long)heap_warm <= 1L << 20);
#endif
}

static void prop_calls(void)
{
    int i;
    for (i = 0; i < S.bad && i < NNOTES; i++) fprintf(stderr, "  %s\n", S.bad_notes[i]);
    for (i = 0; i < S.over && i < NNOTES; i++) fprintf(stderr, "  %s\n", S.over_notes[i]);
    CHECK_INT(S.bad, 0);
    CHECK_INT(S.over, 0);
}

static void prop_lease(void)
{
    CHECK(L.id != 0);
    CHECK(L.nput_acked > 0);
    if (!L.lost) {
        if (lease_ttl_end <= 0 || !lease_key_at_end || lease_key_lease != L.id)
            fprintf(stderr, "  the keeper says alive; etcd: ttl %lld, key %s (lease %lld)\n", (long long)lease_ttl_end,
                    lease_key_at_end ? "present" : "absent", (long long)lease_key_lease);
        CHECK(lease_ttl_end > 0);
        CHECK(lease_key_at_end && lease_key_lease == L.id);
        return;
    }
    CHECK_INT(L.lost, 1);
    CHECK_INT(L.after_lost_bad, 0);
    CHECK(L.lost_code == ETCD_ELOST);
    if (L.gap_at_loss >= LEASE_TTL - 0.01) {
        fprintf(stderr, "  (info) lease lost %.2f s after the last acknowledged keepalive (TTL %d s): expired\n",
                L.gap_at_loss, LEASE_TTL);
    } else {
        /* "etcd says it is gone": etcd must have deleted the lease's key by
           the time the keeper said so, and know the lease no more */
        int64_t del = 0;
        long i;
        for (i = 0; i < H.n; i++)
            if (H.v[i].key == KEY(KC_LEASE, 0) && H.v[i].type) { del = H.v[i].rev; break; }
        if (strstr(L.lost_why, "gone") && del > 0 && L.rev_after >= del && L.key_after == 0 && L.ttl_after == -1) {
            fprintf(stderr, "  (info) lease lost %.2f s after an acknowledged keepalive (TTL %d s) because etcd revoked it:"
                    " its key was deleted at revision %lld, before the keeper reported the loss (at %lld); etcd had"
                    " renewed it %.2f s earlier, so etcd itself revoked a lease being kept alive\n", L.gap_at_loss,
                    LEASE_TTL, (long long)del, (long long)L.rev_after, L.gap_at_loss);
        } else {
            fprintf(stderr, "  lost %.2f s after the last acknowledged keepalive (TTL %d s): %s; right after, at revision"
                    " %lld, etcd had the key: %d, lease ttl %lld; the key's delete in the history: %lld\n",
                    L.gap_at_loss, LEASE_TTL, L.lost_why, (long long)L.rev_after, L.key_after,
                    (long long)L.ttl_after, (long long)del);
            CHECK(!"a lease is lost only after a TTL without an acknowledgement, or when etcd revoked it");
        }
    }
}

/* tls-auth, right before the cluster stops: what etcd counted (SA_M_*),
   the authenticates the clients wrote, the JWT lifetimes the run spanned. */
static long srv[SA_NM], cli_auths, jwt_lives;

static int member_faults(void) { return faults[F_KILL] + faults[F_LEADER] + faults[F_FREEZE]; }

/* The authenticate requests a thread may send: a token per client it made,
   per auth-store change (each kills every JWT) and per JWT lifetime (an
   expired one is "invalid auth token"), twice over (the one renewal after
   a rejection may itself meet the next change, or go to a member that
   dies or freezes first), plus two per member fault. */
static long auth_bound(int s) { return 2 * (sa_slots[s].clients + CH.tried + jwt_lives + member_faults()); }

static void prop_auth(void)
{
    int s, w;
    if (!SA_COUNTING)
        fprintf(stderr, "  built without mk/soak.mk's -DSOAK_WRAP_TLS and --wrap: authenticates not counted\n");
    CHECK(SA_COUNTING);
    if (g_dur >= 20) CHECK(CH.tried >= (long)(g_dur / (AUTH_GAP + AUTH_GAP_SPAN)) / 2);
    CHECK(CH.applied > 0 && CH.applied * 2 >= CH.tried);
    for (s = 1; s < sa_nslots; s++) {
        if (!sa_slots[s].clients) continue;
        if (sa_slots[s].auths < 1 || sa_slots[s].auths > auth_bound(s))
            fprintf(stderr, "  %s: %ld authenticate requests; %ld clients, %ld auth-store changes tried, %ld JWT lifetimes,"
                    " %d member faults: between 1 and %ld\n", sa_slots[s].name, sa_slots[s].auths, sa_slots[s].clients,
                    CH.tried, jwt_lives, member_faults(), auth_bound(s));
        CHECK(sa_slots[s].auths >= 1);                 /* it made calls: it logged in, and the count saw it */
        CHECK(sa_slots[s].auths <= auth_bound(s));     /* no renewal storm */
    }
    for (w = 0; w < NWRITERS; w++) {
        /* writing 50 times a second, a writer meets every change: its
           token died and was renewed (else its writes would fail) */
        s = W[w].slot;
        if (sa_slots[s].auths < 1 + CH.applied / 2)
            fprintf(stderr, "  %s renewed its token %ld times for %ld auth-store changes: did the tokens die?\n",
                    sa_slots[s].name, sa_slots[s].auths - 1, CH.applied);
        CHECK(s != SA_OTHER && sa_slots[s].auths >= 1 + CH.applied / 2);
    }
    CHECK_INT(sa_slots[SA_OTHER].auths, 0);
    if (!SC.lost) {
        if (srv[SA_M_AUTH] > cli_auths)
            fprintf(stderr, "  etcd counted %ld Authenticate calls, the clients wrote %ld\n", srv[SA_M_AUTH], cli_auths);
        CHECK(srv[SA_M_AUTH] <= cli_auths);
    }
    if (CH.applied >= 2) CHECK(srv[SA_M_BADARG] > 0);  /* etcd did refuse tokens of an old auth store */
}

/* ---- main ------------------------------------------------------------------ */

static void print_figures(double total)
{
    int k, i;
    long calls = 0, fails = 0, idle = 0;
    printf("soak: seed %llu (SOAK_SEED=%llu replays the fault schedule), %.0f s of faults and load, %.1f s in all\n",
           (unsigned long long)g_seed, (unsigned long long)g_seed, g_dur, total);
    printf("faults: ");
    for (k = 0; k < NFAULT; k++) printf("%s%d %s", k ? ", " : "", faults[k], fault_name[k]);
    printf(" (%d freezes of the leader; %d compactions during a kill or freeze; %d compacted, %d verified by a refused read, %d skipped;"
           " leader unknown %d times, health waits failed %d times)\n", leader_frozen, ncompact_in_fault, ncompact_ok,
           ncompact_verified, ncompact_skipped, leader_unknown, health_waits_failed);
    for (k = 0; k < NKIND; k++) { calls += S.k[k].calls; fails += S.k[k].fails; idle += S.k[k].idle; }
    printf("calls: %ld made, %ld failed, %ld idle watch timeouts; failed by code:", calls, fails, idle);
    for (k = 1; k <= ETCD_ELOST; k++) if (S.codes[k]) printf(" %s %ld", etcd_err_name((etcd_err)k), S.codes[k]);
    printf("; %ld results with HTTP status != 200%s%s\n", S.non200, S.non200 ? " (first: " : "", S.non200 ? S.non200_note : "");
    if (S.non200) printf(")\n");
    for (k = 1; k <= ETCD_ELOST; k++)
        if (S.codes[k]) printf("  first %s: %s\n", etcd_err_name((etcd_err)k), S.code_note[k]);
    for (k = 0; k < NKIND; k++)
        if (S.k[k].calls)
            printf("  %-20s %7ld calls %6ld failed %6ld idle, worst %5.2f s (bound %5.2f s)\n", kind_name[k],
                   S.k[k].calls, S.k[k].fails, S.k[k].idle, S.k[k].worst, kind_bound(k));
    for (k = 0; k < NWRITERS; k++)
        printf("writer %d: %ld ops, %ld acked, %ld \"deleted 0\", %ld failed\n", k, W[k].n, W[k].acked, W[k].notfound,
               W[k].failed);
    printf("history: %ld events, revisions 2..%lld, read in %ld parts; %ld range reads at specific revisions\n", H.n,
           (long long)g_F, hist_parts, range_checked);
    for (k = 0, i = 0; k < nSEG; k++) i += SEG[k].end == END_COMPACTED;
    printf("watcher: %d watchers (%d ended by compaction), %ld events\n", nSEG, i, WEV.n);
    printf("mirror: %d snapshots (%ld messages, %ld snapshot keys), %ld change events, final map %ld keys (readdir at %lld: %ld keys in %ld pages)\n",
           nSNAP, MS.pages, MS.snap_keys, MEV.n, MM.n, (long long)final_at, final_kvs, final_pages);
    events_checked = 0;
    for (k = 0; k < nSEG; k++) events_checked += SEG[k].n;
    for (k = 0; k < nSNAP; k++) events_checked += SNAP[k].n;
    printf("events checked: %ld (history %ld; watcher %ld and mirror changes %ld against it; %ld snapshot keys and"
           " %ld final keys against the history replayed)\n", H.n + events_checked + MS.snap_keys + final_kvs, H.n,
           WEV.n, MEV.n, MS.snap_keys, final_kvs);
    if (!L.lost)
        printf("lease: alive (id %lld, %ld ticks, %ld failed tries, longest gap between acks %.1f s of TTL %d; etcd ttl %lld)\n",
               (long long)L.id, L.ticks, L.failed_tries, L.worst_gap, LEASE_TTL, (long long)lease_ttl_end);
    else
        printf("lease: lost once (%s: %s, %.1f s after the last ack, TTL %d; etcd ttl now %lld)\n",
               etcd_err_name(L.lost_code), L.lost_why, L.gap_at_loss, LEASE_TTL, (long long)lease_ttl_end);
    printf("rss: start %ld kB, warm %ld kB, end of load %ld kB (%+ld kB), after freeing %ld kB, max %ld kB\n", rss_start,
           rss_warm, rss_end, rss_end - rss_warm, rss_freed, rss_max);
#ifdef SOAK_ASAN
    printf("heap in use: warm %zu kB, end of load %zu kB (%+ld kB), after freeing %zu kB\n", heap_warm / 1024,
           heap_end / 1024, ((long)heap_end - (long)heap_warm) / 1024, heap_freed / 1024);
#endif
    printf("rss every 5 s of load (kB):");
    for (k = 0; k < ntrace; k++) printf(" %ld", rss_trace[k]);
#ifdef SOAK_ASAN
    printf("; heap (kB):");
    for (k = 0; k < ntrace; k++) printf(" %ld", heap_trace[k]);
#endif
    printf("\n");
    printf("fds: start %d, during load %d, end %d\n", fd_start, fd_load, fd_end);
    if (g_tls) {
        printf("auth: %ld auth-store changes tried every %.1f-%.1f s (%ld applied, %ld refused, %ld failed)%s%s%s%s\n",
               CH.tried, AUTH_GAP, AUTH_GAP + AUTH_GAP_SPAN, CH.applied, CH.refused, CH.failed,
               CH.refused ? "; first refused: " : "", CH.refused ? CH.refused_note : "",
               CH.failed ? "; first failed: " : "", CH.failed ? CH.failed_note : "");
        printf("etcd refused %ld unary calls with gRPC InvalidArgument (\"revision of auth store is old\") and %ld with"
               " Unauthenticated (\"invalid auth token\": JWTs live %d s)%s\n", srv[SA_M_BADARG], srv[SA_M_UNAUTH],
               SA_JWT_TTL, SC.lost ? " (some members' counts could not be read)" : "");
        printf("authenticate requests written: %ld (etcd counted %ld); per thread (bound: 2 * (clients + %ld changes + %ld"
               " JWT lifetimes + %d member faults)):\n", cli_auths, srv[SA_M_AUTH], CH.tried, jwt_lives, member_faults());
        for (k = 0; k < sa_nslots; k++)
            if (k != SA_OTHER || sa_slots[k].auths)
                printf("  %-14s %5ld (%ld client%s, bound %ld)\n", sa_slots[k].name, sa_slots[k].auths, sa_slots[k].clients,
                       sa_slots[k].clients == 1 ? "" : "s", k == SA_OTHER ? 0 : auth_bound(k));
    }
    fflush(stdout);
}

/* The maximum, and every 5 s a sample for the figures. */
static void sample_rss(void)
{
    long r = vm_rss_kb();
    if (r > rss_max) rss_max = r;
    if (now() >= next_trace && ntrace < NTRACE) {
        rss_trace[ntrace] = r;
        heap_trace[ntrace++] = (long)(heap_bytes() / 1024);
        next_trace = now() + 5.0;
    }
}

/* The static keys, TXN_OPS a txn; each txn only if its first key is
   absent, so one tried again after a failure that may have happened is
   never applied twice. */
static int preload(void)
{
    etcd *ac = admin_client();
    int b, tries;
    if (!ac) return 0;
    for (b = 0; b < NSTATIC / TXN_OPS; b++) {
        static char keys[TXN_OPS][32], vals[TXN_OPS][16];
        etcd_op ops[TXN_OPS];
        etcd_compare cmp;
        int i;
        for (i = 0; i < TXN_OPS; i++) {
            key_name(keys[i], sizeof keys[i], KEY(KC_STATIC, b * TXN_OPS + i));
            snprintf(vals[i], sizeof vals[i], "%d", b * TXN_OPS + i);
            memset(&ops[i], 0, sizeof ops[i]);
            ops[i].type = ETCD_OP_PUT;
            ops[i].key = keys[i];
            ops[i].value = vals[i];
        }
        memset(&cmp, 0, sizeof cmp);
        cmp.result = ETCD_CMP_EQUAL;
        cmp.target = ETCD_CMP_CREATE;
        cmp.key = keys[0];
        cmp.create_revision = 0;
        for (tries = 0; tries < 10 && !static_rev[b] && !g_term; tries++) {
            etcd_res *r = t_txn(ac, &cmp, ops, TXN_OPS);
            if (r && r->status == 200 && r->succeeded) static_rev[b] = r->revision;
            else if (r && r->status == 200) {                 /* an earlier try did it */
                etcd_res *g = t_get(ac, keys[0], 0);
                if (g && g->status == 200 && g->nkvs == 1) static_rev[b] = g->kvs[0].mod_revision;
                etcd_res_free(g);
            } else {
                say("preload txn %d: %s", b, r ? r->body : etcd_errstr(ac));
                nap(0.2);
            }
            etcd_res_free(r);
        }
        if (!static_rev[b]) { etcd_free(ac); return 0; }
    }
    etcd_free(ac);
    return 1;
}

static void final_state(void)
{
    etcd *ac = admin_client();
    etcd_get_opts o;
    etcd_pager *p;
    etcd_res *r;
    if (!ac) return;
    memset(&o, 0, sizeof o);
    o.limit = 500;
    final_at = MS.applied > g_F ? MS.applied : g_F;     /* the map's revision (F, unless a late write came) */
    o.revision = final_at;
    final_hash = 0;
    if ((p = etcd_readdir_pages(ac, PREFIX, &o)) != NULL) {
        while ((r = t_page(ac, p)) != NULL) {
            size_t i;
            final_pages++;
            for (i = 0; i < r->nkvs; i++) {
                const etcd_kv *kv = &r->kvs[i];
                ment *e = *map_find(&MM, kv->key, kv->key_len);
                final_kvs++;
                final_hash += kv_hash(key_id(kv->key, kv->key_len), val_of(kv->value, kv->value_len), kv->mod_revision);
                if (!e) { if (!final_missing++) fprintf(stderr, "  %s is in etcd, not in the mirror's map\n", kv->key); }
                else if (e->vl != kv->value_len || memcmp(e->v, kv->value, e->vl) || e->mod != kv->mod_revision) {
                    if (!final_differ++)
                        fprintf(stderr, "  %s is %s (mod %lld) in etcd, %s (mod %lld) in the map\n", kv->key, kv->value,
                                (long long)kv->mod_revision, e->v, (long long)e->mod);
                }
                if (key_id(kv->key, kv->key_len) == KEY(KC_LEASE, 0)) {
                    lease_key_at_end = 1;
                    lease_key_lease = kv->lease;
                }
            }
            etcd_res_free(r);
        }
        final_read_ok = etcd_errcode(ac) == ETCD_OK && final_pages > 0;
        if (!final_read_ok) say("final readdir: %s", etcd_errstr(ac));
        etcd_pager_free(p);
    }
    if (L.id) {
        r = t_timetolive(ac, L.id);
        if (r && r->status == 200) lease_ttl_end = r->ttl;
        etcd_res_free(r);
    }
    etcd_free(ac);
}

/* The replayed history against the snapshots, the final state and the
   "deleted 0" answers. */
static void run_replay(void)
{
    probe *pr;
    long np = 0, cap = nSNAP + 2, i, pi = 0;
    int w;
    for (w = 0; w < NWRITERS; w++) cap += W[w].notfound;
    pr = (probe *)calloc((size_t)cap, sizeof *pr);
    if (!pr) return;
    for (i = 0; i < nSNAP; i++)
        if (SNAP[i].count >= 0) { pr[np].rev = SNAP[i].rev; pr[np].kind = P_SNAP; pr[np].a = i; np++; }
    for (w = 0; w < NWRITERS; w++) {
        long s;
        for (s = 1; s <= W[w].n; s++)
            if (W[w].ops[s].outcome == OUT_NOTFOUND && np < cap) {
                pr[np].rev = W[w].ops[s].rev;
                pr[np].kind = P_NOTFOUND;
                pr[np].key = KEY(KC_W0 + w, op_target(s));
                np++;
            }
    }
    if (final_read_ok && final_at == g_F) { pr[np].rev = g_F; pr[np].kind = P_FINAL; np++; }
    qsort(pr, (size_t)np, sizeof *pr, probe_cmp);
    for (i = 0; i <= H.n; i++) {
        int64_t rev = i < H.n ? H.v[i].rev : INT64_MAX;
        while (pi < np && pr[pi].rev < rev) {
            const probe *q = &pr[pi++];
            char k[64];
            if (q->kind == P_SNAP) {
                const snaprec *sn = &SNAP[q->a];
                if (sn->count != replay_count || sn->hash != replay_hash) {
                    if (!probe_bad++) fprintf(stderr, "  mirror snapshot %ld at %lld: %ld keys, the history has %ld there%s\n",
                                              q->a, (long long)sn->rev, sn->count, replay_count,
                                              sn->count == replay_count ? " (values or mod revisions differ)" : "");
                }
            } else if (q->kind == P_NOTFOUND) {
                if (slot_of(q->key)->present) {
                    key_name(k, sizeof k, q->key);
                    if (!probe_bad++) fprintf(stderr, "  a delete of %s said deleted 0 at %lld, but the history has it there\n", k,
                                              (long long)q->rev);
                }
            } else if (final_kvs != replay_count || final_hash != replay_hash) {
                if (!probe_bad++) fprintf(stderr, "  the readdir at %lld: %ld keys; the history replayed to it: %ld%s\n",
                                          (long long)g_F, final_kvs, replay_count,
                                          final_kvs == replay_count ? " (values or mod revisions differ)" : "");
            }
        }
        if (i == H.n) break;
        replay(&H.v[i]);
    }
    free(pr);
}

int main(void)
{
    const char *e;
    pthread_t tw, tm, tl, tc;
    uint64_t rng;
    struct sigaction sa;
    double t_start, t_warm, warm_after;
    int k, order[NFAULT], nf = 0, i;
    etcd *ac;
    size_t len;
    long wcap, hcap;

    setvbuf(stdout, NULL, _IOLBF, 0);
    t_origin = t_start = now();
    e = getenv("SOAK_SECONDS");
    g_dur = e && *e ? atof(e) : 120;
    if (g_dur < 5) g_dur = 5;
    e = getenv("SOAK_SEED");
    g_seed = e && *e ? strtoull(e, NULL, 10) : ((uint64_t)time(NULL) * 2654435761ULL) ^ (uint64_t)getpid();
    rng = g_seed;
    sample_rng = g_seed ^ 0x5a5a5a5a5a5a5a5aULL;
    e = getenv("SOAK_MODE");
    if (e && *e && strcmp(e, "plain") && strcmp(e, "tls-auth")) {
        printf("soak: SOAK_MODE is plain (the default) or tls-auth, not \"%s\"\n0 passed, 1 failed\n", e);
        return 2;
    }
    g_tls = e && !strcmp(e, "tls-auth");
    printf("soak: seed %llu, SOAK_SECONDS %.0f, SOAK_MODE %s\n", (unsigned long long)g_seed, g_dur,
           g_tls ? "tls-auth (https, JWT auth, auth churn; TLS backend " SOAK_BACKEND ")" : "plain");
    sa_register("checker");                  /* this thread: admin clients, history, compactions */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    pthread_mutex_init(&S.mu, NULL);
    pthread_mutex_init(&g_mu, NULL);
    g_pub.watcher_ep = g_pub.mirror_ep = -1;

    /* every record the soak keeps, allocated and touched now */
    wcap = (long)(WRITER_RATE * (g_dur + 10)) + 64;
    hcap = NWRITERS * wcap + NSTATIC + MAXMARK + 1024;
    for (k = 0; k < NWRITERS; k++) {
        W[k].id = k;
        W[k].cap = wcap;
        W[k].ops = (wop *)touched((size_t)(wcap + 1) * sizeof *W[k].ops);
        memset(W[k].ops, 0, (size_t)(wcap + 1) * sizeof *W[k].ops);
        slots_w[k] = (slot *)touched((size_t)(wcap + 2) * sizeof *slots_w[k]);
        memset(slots_w[k], 0, (size_t)(wcap + 2) * sizeof *slots_w[k]);
    }
    evlist_init(&H, hcap);
    evlist_init(&WEV, hcap + 1024);
    evlist_init(&MEV, hcap + 1024);
    map_init(&MM);

    rss_start = vm_rss_kb();
    if ((g_tls ? sa_cluster_start(m, NMEM, &SC) : test_cluster_start(m, NMEM, NULL)) != 0) {
        printf("soak: the cluster did not start\n0 passed, 1 failed\n");
        return 1;
    }
    atexit(thaw_at_exit);
    len = 0;
    for (i = 0; i < NMEM; i++) {
        snprintf(g_url[i], sizeof g_url[i], "%s", g_tls ? SC.url[i] : m[i].url);
        len += (size_t)snprintf(g_hosts + len, sizeof g_hosts - len, "%s%s", i ? "," : "", g_url[i]);
    }
    say("cluster up: %s; data under %s", g_hosts, getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (g_tls) {
        if (!(g_ca_pem = sa_read_text(SC.certs.ca)) || auth_setup() != 0) {
            printf("soak: the auth setup over https failed (see above)\n0 passed, 1 failed\n");
            test_cluster_stop(m, NMEM);
            return 1;
        }
        say("auth on: users root and " LOAD_USER " (role " LOAD_ROLE ": readwrite on " PREFIX "), JWT tokens; the"
            " harness's checks use http://127.0.0.1:%d,%d,%d", m[0].port, m[1].port, m[2].port);
    }
    fd_start = count_fds();

    pthread_create(&tw, NULL, watcher_main, NULL);
    pthread_create(&tm, NULL, mirror_main, NULL);
    pthread_create(&tl, NULL, lease_main, NULL);
    {
        double until = now() + 30;
        while (now() < until && !g_term && !(flag_get(&g_pub.watcher_ready) && flag_get(&g_pub.mirror_ready) &&
                                              flag_get(&g_pub.lease_ready)))
            nap(0.05);
    }
    preload_ok = preload();
    if (!preload_ok) say("preload failed");
    say("preloaded %d static keys; load starts", NSTATIC);

    for (k = 0; k < NWRITERS; k++) {
        W[k].c = make_client(g_hosts, false, false);
        pthread_create(&W[k].th, NULL, writer_main, &W[k]);
    }
    if (g_tls) pthread_create(&tc, NULL, churn_main, &g_seed);
    t_load = next_trace = now();
    warm_after = g_dur / 3 < 5 ? 5 : g_dur / 3;   /* ASan's allocator settles slowly: a third of any run */
    t_warm = t_load + warm_after;
    for (k = 0; k < NFAULT; k++) order[k] = k;
    for (k = NFAULT - 1; k > 0; k--) {
        int j = (int)(splitmix(&rng) % (uint64_t)(k + 1)), t = order[k];
        order[k] = order[j];
        order[j] = t;
    }

    /* the faults */
    while (!g_term && !restart_failed && now() < t_load + g_dur) {
        int kind;
        double gap = 1.5 + 2.5 * rnd01(&rng), x = rnd01(&rng);
        double until = now() + gap;
        while (!g_term && now() < until && now() < t_load + g_dur) {
            nap(0.2);
            sample_rss();
            if (!rss_warm && now() >= t_warm) {
                rss_warm = vm_rss_kb();
                heap_warm = heap_bytes();
                say("warm: VmRSS %ld kB, heap %zu kB", rss_warm, heap_warm / 1024);
            }
        }
        if (g_term || now() >= t_load + g_dur) break;
        kind = nf < NFAULT ? order[nf] : x < 0.3 ? F_KILL : x < 0.6 ? F_FREEZE : x < 0.8 ? F_LEADER : F_COMPACT;
        nf++;
        if (kind != F_COMPACT && !all_healthy(20)) {
            say("not every member is healthy: no member fault now");
            health_waits_failed++;
            kind = F_COMPACT;
        }
        faults[kind]++;
        if (kind == F_KILL) {
            kill_member((int)(splitmix(&rng) % NMEM), &rng, false);
        } else if (kind == F_LEADER) {
            int ld = test_cluster_leader(m, NMEM, 3.0);
            if (ld < 0) { leader_unknown++; ld = (int)(splitmix(&rng) % NMEM); }
            kill_member(ld, &rng, true);
        } else if (kind == F_FREEZE) {
            double y = rnd01(&rng);
            int who, wep, mep;
            const char *whose = "random";
            pthread_mutex_lock(&g_mu);
            wep = g_pub.watcher_ep;
            mep = g_pub.mirror_ep;
            pthread_mutex_unlock(&g_mu);
            who = (int)(splitmix(&rng) % NMEM);
            if (y < 0.45 && wep >= 0) { who = wep; whose = "the watcher's"; }
            else if (y < 0.85 && mep >= 0) { who = mep; whose = "the mirror's"; }
            freeze_member(who, &rng, whose);
        } else {
            do_compaction("on its own");
        }
    }
    if (!rss_warm) { rss_warm = vm_rss_kb(); heap_warm = heap_bytes(); }
    rss_end = vm_rss_kb();
    heap_end = heap_bytes();
    sample_rss();
    fd_load = count_fds();
    say("faults over; VmRSS %ld kB, heap %zu kB, %d fds", rss_end, heap_end / 1024, fd_load);

    /* the end: stop the writers, a last marker, everything drained to it */
    flag_set(&g_stop_load);
    for (k = 0; k < NWRITERS; k++) pthread_join(W[k].th, NULL);
    if (g_tls) pthread_join(tc, NULL);
    all_healthy(20);
    if ((ac = admin_client()) != NULL) {
        g_F = put_marker(ac);
        etcd_free(ac);
    }
    say("final marker at %lld", (long long)g_F);
    pthread_mutex_lock(&g_mu);
    g_final = g_F;
    pthread_mutex_unlock(&g_mu);
    {
        double until = now() + 40;
        for (;;) {
            int64_t wl, ma;
            int in_snap;
            pthread_mutex_lock(&g_mu);
            wl = g_pub.watcher_last;
            ma = g_pub.mirror_applied;
            in_snap = g_pub.mirror_in_snap;
            pthread_mutex_unlock(&g_mu);
            if (!g_F || (wl >= g_F && ma >= g_F && !in_snap) || now() >= until || g_term) break;
            nap(0.1);
        }
    }
    flag_set(&g_quit);
    pthread_join(tw, NULL);
    pthread_join(tm, NULL);
    if (g_F && (ac = admin_client()) != NULL) {
        if (read_history(ac, g_F) != 0) say("the last part of the history could not be read");
        range_samples(ac, last_compact, g_F, 200);
        etcd_free(ac);
        final_state();
    }
    flag_set(&g_quit_lease);
    pthread_join(tl, NULL);
    for (k = 0; k < NWRITERS; k++) etcd_free(W[k].c);
    fd_end = count_fds();
    rss_freed = vm_rss_kb();
    heap_freed = heap_bytes();
    if (g_tls) {
        cli_auths = sa_total();
        sa_cluster_counts(&SC, m, NMEM, srv);
        jwt_lives = (long)((now() - t_start) / SA_JWT_TTL) + 1;
    }
    test_cluster_stop(m, NMEM);

    /* the analysis */
    rev_first = (int64_t *)malloc((size_t)(g_F + 2) * sizeof *rev_first);
    if (!rev_first) return 2;
    for (i = 0; i < g_F + 2; i++) rev_first[i] = -1;
    for (i = (int)H.n - 1; i >= 0; i--)
        if (H.v[i].rev >= 0 && H.v[i].rev <= g_F) rev_first[H.v[i].rev] = i;
    run_replay();

    print_figures(now() - t_start);
    RUN(prop_faults);
    RUN(prop_history);
    RUN(prop_acked_writes);
    RUN(prop_watcher);
    RUN(prop_mirror);
    RUN(prop_replay);
    RUN(prop_fds);
    RUN(prop_memory);
    RUN(prop_calls);
    RUN(prop_lease);
    if (g_tls) RUN(prop_auth);

    map_free(&MM);
    free(rev_first);
    free(H.v);
    free(WEV.v);
    free(MEV.v);
    for (k = 0; k < NWRITERS; k++) { free(W[k].ops); free(slots_w[k]); }
    return test_summary();
}
