/* test_mirror.c - etcd_mirror: applying its messages in order always
   reproduces the prefix.

   Every test keeps a map (key bytes -> value bytes) built only from the
   mirror's messages: a message with reset clears it, PUT events set, DELETE
   events remove. Once the writers have stopped and the mirror has caught up
   (etcd_watch_next says "timeout"), the map must equal a fresh etcd_readdir
   of the prefix. Along the way every message is checked against the
   contract: snapshot pages of at most 1000 PUT events in key order, more on
   every page but a snapshot's last, reset only on a snapshot's first;
   changes never older than what was applied (no event repeated, none lost:
   every write the test knows of shows up), never a canceled message, and
   etcd_watch_errcode never ETCD_ECOMPACTED / ETCD_ECANCELED.

   A real etcd on 127.0.0.1 (single member; a 3-member cluster for the
   member kills) and, for the exact compaction sequence and for "nothing
   sent", the scripted fake server. */
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
#include "harness.h"
#include "fakeserver.h"
#include "kvmap.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static test_etcd srv;
static etcd *cli;            /* JSON serializer, no key_prefix */

/* ---- applying the mirror's messages, checking each --------------------- */

typedef struct mstate {
    kvmap map;
    int64_t applied;         /* newest revision applied: a whole snapshot's, or a change's */
    int64_t snap_rev;        /* the revision of the newest snapshot (its first page's) */
    bool in_snap;            /* a snapshot has begun and more pages are due */
    char *lastkey; size_t lastkey_len; bool have_last;   /* key order within a snapshot */
    int pages, snap_pages, snapshots, change_msgs, change_events, page_events;
    int64_t *crevs; size_t ncrevs, ccap;                 /* every change event's revision */
    int bad_codes;           /* NULLs with ECOMPACTED / ECANCELED / an end */
    int timeouts;
} mstate;

static void ms_init(mstate *ms)
{
    memset(ms, 0, sizeof *ms);
}

static void ms_free(mstate *ms)
{
    map_free(&ms->map);
    free(ms->lastkey);
    free(ms->crevs);
    memset(ms, 0, sizeof *ms);
}

/* ms_init(ms) and a mirror of dir on c with o; NULL (CHECKed, printed) if
   it did not open. */
static etcd_watcher *ms_open(mstate *ms, etcd *c, const char *dir, const etcd_watch_opts *o)
{
    etcd_watcher *w;
    ms_init(ms);
    w = etcd_mirror(c, dir, o);
    CHECK(w != NULL);
    if (!w) fprintf(stderr, "  etcd_mirror: %s\n", etcd_errstr(c));
    return w;
}

static void ms_note_crev(mstate *ms, int64_t rev)
{
    if (ms->ncrevs == ms->ccap) {
        size_t nc = ms->ccap ? ms->ccap * 2 : 256;
        int64_t *p = (int64_t *)realloc(ms->crevs, nc * sizeof *p);
        if (!p) return;
        ms->crevs = p;
        ms->ccap = nc;
    }
    ms->crevs[ms->ncrevs++] = rev;
}

/* Whether a change event of revision rev was delivered (crevs ascend). */
static bool ms_has_crev(const mstate *ms, int64_t rev)
{
    size_t lo = 0, hi = ms->ncrevs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (ms->crevs[mid] < rev) lo = mid + 1;
        else hi = mid;
    }
    return lo < ms->ncrevs && ms->crevs[lo] == rev;
}

static int keycmp(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : al < bl ? -1 : al > bl;
}

/* Apply message r to the map, checking it against the contract. */
static void apply(mstate *ms, const etcd_res *r)
{
    size_t i;
    CHECK(!r->canceled);
    CHECK(!r->created);
    CHECK_INT(r->compact_revision, 0);
    ms->pages++;
    if (r->snapshot) {
        ms->snap_pages++;
        if (r->reset) {
            CHECK(r->revision >= ms->applied);        /* a new snapshot is never older */
            if (r->revision < ms->applied)
                fprintf(stderr, "  snapshot at %lld after %lld was applied\n", (long long)r->revision,
                        (long long)ms->applied);
            map_clear(&ms->map);
            ms->snapshots++;
            ms->snap_rev = r->revision;
            ms->in_snap = true;
            ms->have_last = false;
        } else {
            CHECK(ms->in_snap);                       /* a later page continues a snapshot */
            CHECK(r->revision >= ms->snap_rev);
        }
        CHECK(r->nevents <= 1000);
        for (i = 0; i < r->nevents; i++) {
            const etcd_event *e = &r->events[i];
            CHECK(e->type == ETCD_EVENT_PUT);
            CHECK(e->kv.key && e->kv.value);
            CHECK(e->kv.mod_revision > 0 && e->kv.mod_revision <= ms->snap_rev);
            if (ms->have_last && keycmp(e->kv.key, e->kv.key_len, ms->lastkey, ms->lastkey_len) <= 0) {
                fprintf(stderr, "  snapshot key %s not after %s\n", e->kv.key, ms->lastkey);
                CHECK(!"snapshot keys in order, each once");
            }
            free(ms->lastkey);
            ms->lastkey = (char *)malloc(e->kv.key_len + 1);
            if (ms->lastkey) {
                memcpy(ms->lastkey, e->kv.key, e->kv.key_len + 1);
                ms->lastkey_len = e->kv.key_len;
                ms->have_last = true;
            }
            map_set(&ms->map, e->kv.key, e->kv.key_len, e->kv.value, e->kv.value_len, e->kv.mod_revision);
        }
        ms->page_events += (int)r->nevents;
        if (!r->more) {
            ms->in_snap = false;
            ms->applied = ms->snap_rev;
        }
        return;
    }
    /* a change */
    CHECK(!ms->in_snap);                              /* never in the middle of a snapshot */
    CHECK(!r->reset);
    CHECK(!r->more);
    CHECK(r->nevents > 0);
    ms->change_msgs++;
    for (i = 0; i < r->nevents; i++) {
        const etcd_event *e = &r->events[i];
        int64_t rev = e->kv.mod_revision;
        if (i == 0 ? rev <= ms->applied : rev < r->events[i - 1].kv.mod_revision) {
            fprintf(stderr, "  change at revision %lld after %lld was applied: repeated or out of order\n",
                    (long long)rev, (long long)(i ? r->events[i - 1].kv.mod_revision : ms->applied));
            CHECK(!"no change older than one applied");
        }
        if (e->type == ETCD_EVENT_PUT) map_set(&ms->map, e->kv.key, e->kv.key_len, e->kv.value, e->kv.value_len, e->kv.mod_revision);
        else map_del(&ms->map, e->kv.key, e->kv.key_len);
        if (!ms->ncrevs || ms->crevs[ms->ncrevs - 1] != rev) ms_note_crev(ms, rev);
        ms->change_events++;
    }
    if (r->nevents && r->events[r->nevents - 1].kv.mod_revision > ms->applied)
        ms->applied = r->events[r->nevents - 1].kv.mod_revision;
}

/* One etcd_watch_next: 1 a message (applied), 0 "timeout", -1 the mirror
   ended (which it never may). *out, when given, gets a copy of the flags. */
typedef struct msgflags { bool snapshot, reset, more; size_t nevents; int64_t revision; } msgflags;

static int step(mstate *ms, etcd_watcher *w, msgflags *out)
{
    etcd_res *r = etcd_watch_next(w);
    if (out) memset(out, 0, sizeof *out);
    if (!r) {
        etcd_err code = etcd_watch_errcode(w);
        if (code == ETCD_ETIMEOUT) {
            CHECK_STR(etcd_watch_errstr(w), "timeout");
            ms->timeouts++;
            return 0;
        }
        ms->bad_codes++;
        fprintf(stderr, "  the mirror ended: %s: %s\n", etcd_err_name(code), etcd_watch_errstr(w));
        CHECK(code != ETCD_ECOMPACTED);
        CHECK(code != ETCD_ECANCELED);
        CHECK(!"a mirror never ends");
        return -1;
    }
    {
        etcd_err code = etcd_watch_errcode(w);
        CHECK(code != ETCD_ECOMPACTED && code != ETCD_ECANCELED);
        if (code != ETCD_OK) {       /* README "Errors": a call that gave a result leaves ETCD_OK and "" */
            fprintf(stderr, "  a message came with etcd_watch_errcode %s, errstr \"%s\"\n", etcd_err_name(code),
                    etcd_watch_errstr(w));
            CHECK(code == ETCD_OK);
        }
    }
    if (out) {
        out->snapshot = r->snapshot;
        out->reset = r->reset;
        out->more = r->more;
        out->nevents = r->nevents;
        out->revision = r->revision;
    }
    apply(ms, r);
    etcd_res_free(r);
    return 1;
}

/* Read until the mirror has applied revision `target` (0: anything), no
   snapshot is half read, and etcd_watch_next said "timeout". */
static bool drain(mstate *ms, etcd_watcher *w, int64_t target, double max_s)
{
    double end = test_now() + max_s;
    while (test_now() < end) {
        int k = step(ms, w, NULL);
        if (k < 0) return false;
        if (k == 0 && !ms->in_snap && ms->applied >= target) return true;
    }
    fprintf(stderr, "  not caught up within %.0f s: applied %lld, want %lld%s\n", max_s,
            (long long)ms->applied, (long long)target, ms->in_snap ? ", inside a snapshot" : "");
    CHECK(!"the mirror caught up");
    return false;
}

/* Read for `secs` seconds, whatever comes. */
static bool read_for(mstate *ms, etcd_watcher *w, double secs)
{
    double end = test_now() + secs;
    while (test_now() < end)
        if (step(ms, w, NULL) < 0) return false;
    return true;
}

/* The rule: the map equals a fresh readdir of dir (same keys, same values). */
static void check_same(mstate *ms, etcd *c, const char *dir)
{
    etcd_res *r = etcd_readdir(c, dir, NULL);
    long missing = 0, differ = 0;
    CHECK(r != NULL && r->status == 200);
    if (!r || r->status != 200) {
        fprintf(stderr, "  readdir %s: %s\n", dir, r ? r->body : etcd_errstr(c));
        etcd_res_free(r);
        return;
    }
    map_compare(&ms->map, r, &missing, &differ);
    CHECK_INT(missing, 0);
    CHECK_INT(differ, 0);
    CHECK_INT(ms->map.n, r->nkvs);          /* with the above: nothing extra in the map */
    etcd_res_free(r);
}

/* ---- writing ------------------------------------------------------------- */

/* Keys dir + "k%05d" = "%d" for first <= i < first + n, 100 per txn. The
   revision of the last txn, 0 on failure. */
static int64_t load(etcd *c, const char *dir, int first, int n)
{
    static char keys[100][64], vals[100][16];
    etcd_op ops[100];
    etcd_compare cmp;
    int64_t rev = 0;
    int i = 0;
    memset(&cmp, 0, sizeof cmp);
    cmp.result = ETCD_CMP_GREATER;           /* a compare that always holds */
    cmp.target = ETCD_CMP_MOD;
    cmp.key = "/no-such-key-ever";
    cmp.mod_revision = -1;
    while (i < n) {
        int k = 0;
        etcd_res *r;
        memset(ops, 0, sizeof ops);
        for (; k < 100 && i < n; k++, i++) {
            snprintf(keys[k], sizeof keys[k], "%sk%05d", dir, first + i);
            snprintf(vals[k], sizeof vals[k], "%d", first + i);
            ops[k].type = ETCD_OP_PUT;
            ops[k].key = keys[k];
            ops[k].value = vals[k];
        }
        r = etcd_txn(c, &cmp, 1, ops, (size_t)k, NULL, 0, NULL);
        if (!r || r->status != 200 || !r->succeeded) {
            fprintf(stderr, "  load txn failed: %s\n", r ? r->body : etcd_errstr(c));
            etcd_res_free(r);
            return 0;
        }
        rev = r->revision;
        etcd_res_free(r);
    }
    return rev;
}

static int64_t compact(etcd *c, int64_t rev)
{
    char body[64];
    etcd_res *r;
    int ok;
    snprintf(body, sizeof body, "{\"revision\":\"%" PRId64 "\"}", rev);
    r = etcd_request(c, "/kv/compaction", body, 0);
    ok = r && r->status == 200;
    if (!ok) fprintf(stderr, "  compaction at %lld: %s\n", (long long)rev, r ? r->body : etcd_errstr(c));
    etcd_res_free(r);
    return ok ? rev : 0;
}

static etcd_watch_opts mopts(double timeout)
{
    etcd_watch_opts o;
    memset(&o, 0, sizeof o);
    o.timeout = timeout;
    return o;
}

/* A writer thread: puts and deletes keys dir + "w%03d" on its own client
   until stopped; remembers the revision of every write it knows happened
   (a write that failed may or may not have). */
typedef struct writer {
    etcd *c;
    const char *dir;
    int nkeys, pause_ms, tag;
    pthread_t th;
    pthread_mutex_t mu;
    int stop;
    int64_t *revs; size_t nrevs, cap;
    int64_t last;
    int ops, fails;
} writer;

/* wr's counters, read under its lock. */
typedef struct writer_counts { int stop, ops; size_t nrevs; } writer_counts;

static writer_counts writer_now(writer *wr)
{
    writer_counts n;
    pthread_mutex_lock(&wr->mu);
    n.stop = wr->stop;
    n.ops = wr->ops;
    n.nrevs = wr->nrevs;
    pthread_mutex_unlock(&wr->mu);
    return n;
}

static void writer_note(writer *wr, int64_t rev)
{
    pthread_mutex_lock(&wr->mu);
    if (wr->nrevs == wr->cap) {
        size_t nc = wr->cap ? wr->cap * 2 : 256;
        int64_t *p = (int64_t *)realloc(wr->revs, nc * sizeof *p);
        if (!p) { pthread_mutex_unlock(&wr->mu); return; }
        wr->revs = p;
        wr->cap = nc;
    }
    wr->revs[wr->nrevs++] = rev;
    if (rev > wr->last) wr->last = rev;
    pthread_mutex_unlock(&wr->mu);
}

static void *writer_main(void *p)
{
    writer *wr = (writer *)p;
    int i;
    for (i = 0; !writer_now(wr).stop; i++) {
        char key[96], val[32];
        etcd_res *r;
        snprintf(key, sizeof key, "%sw%03d", wr->dir, (i * 7) % wr->nkeys);
        if (i % 3 == 2) {
            r = etcd_delete(wr->c, key, NULL);
            if (r && r->status == 200) { if (r->deleted > 0) writer_note(wr, r->revision); }
            else wr->fails++;
        } else {
            snprintf(val, sizeof val, "%d", wr->tag * 100000 + i);
            r = etcd_set(wr->c, key, val, NULL);
            if (r && r->status == 200) writer_note(wr, r->revision);
            else wr->fails++;
        }
        etcd_res_free(r);
        pthread_mutex_lock(&wr->mu);
        wr->ops++;
        pthread_mutex_unlock(&wr->mu);
        if (wr->pause_ms) th__sleep_ms(wr->pause_ms);
    }
    return NULL;
}

static bool writer_start(writer *wr, etcd *c, const char *dir, int nkeys, int pause_ms, int tag)
{
    memset(wr, 0, sizeof *wr);
    wr->c = c;
    wr->dir = dir;
    wr->nkeys = nkeys;
    wr->pause_ms = pause_ms;
    wr->tag = tag;
    pthread_mutex_init(&wr->mu, NULL);
    if (pthread_create(&wr->th, NULL, writer_main, wr) != 0) {
        pthread_mutex_destroy(&wr->mu);
        return false;
    }
    return true;
}

static void writer_stop(writer *wr)
{
    pthread_mutex_lock(&wr->mu);
    wr->stop = 1;
    pthread_mutex_unlock(&wr->mu);
    pthread_join(wr->th, NULL);
    pthread_mutex_destroy(&wr->mu);
}

/* Every write the writer knows of after the newest snapshot came as a
   change (none lost); returns how many did not. */
static int writer_missing(const mstate *ms, const writer *wr)
{
    size_t i;
    int missing = 0;
    for (i = 0; i < wr->nrevs; i++)
        if (wr->revs[i] > ms->snap_rev && !ms_has_crev(ms, wr->revs[i])) {
            if (!missing++) fprintf(stderr, "  the write at revision %lld never came\n", (long long)wr->revs[i]);
        }
    return missing;
}

/* ---- a scripted etcd: the exact compaction sequence ---------------------- */

#define JSON_HEAD "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
#define FKV(k, v, cr, mr, ver) "{\"key\":\"" k "\",\"create_revision\":\"" cr "\",\"mod_revision\":\"" \
    mr "\",\"version\":\"" ver "\",\"value\":\"" v "\"}"
#define B_A "L2YvYQ=="       /* /f/a */
#define B_B "L2YvYg=="
#define B_C "L2YvYw=="
#define B_D "L2YvZA=="
#define B_E "L2YvZQ=="

/* range answers in order: a 503 (a transient failure the mirror rides
   out), the first snapshot (one page at 10), then after the compaction the
   second snapshot in two pages at 20 (the later page's header says 22, as
   etcd's does: the header has the store's newest revision) */
static const struct { int status; const char *body; } fk_ranges[] = {
    { 503, "{\"error\":\"etcdserver: leader changed\",\"code\":14,\"message\":\"etcdserver: leader changed\"}" },
    { 200, "{" FS_HDR("10") ",\"kvs\":[" FKV(B_A, "MQ==", "5", "5", "1") "," FKV(B_B, "Mg==", "7", "7", "1")
           "],\"count\":\"2\"}" },
    { 200, "{" FS_HDR("20") ",\"kvs\":[" FKV(B_B, "MjA=", "7", "18", "2") "],\"more\":true,\"count\":\"2\"}" },
    { 200, "{" FS_HDR("22") ",\"kvs\":[" FKV(B_D, "NA==", "19", "19", "1") "],\"count\":\"1\"}" },
};
#define FK_NRANGES 4

/* watch streams in order: events then the end of the stream; on the
   reopening a compacted resume point; then after the new snapshot, changes */
static const char *const fk_watch0[] = {
    "{\"result\":{" FS_HDR("10") ",\"created\":true}}",
    "{\"result\":{" FS_HDR("11") ",\"events\":[{\"kv\":" FKV(B_C, "Mw==", "11", "11", "1") "}]}}",
    NULL };
static const char *const fk_watch1[] = {
    "{\"result\":{" FS_HDR("15") ",\"created\":true,\"canceled\":true,\"compact_revision\":\"15\"}}",
    NULL };
static const char *const fk_watch2[] = {
    "{\"result\":{" FS_HDR("22") ",\"created\":true}}",
    "{\"result\":{" FS_HDR("21") ",\"events\":[{\"type\":\"DELETE\",\"kv\":{\"key\":\"" B_B
        "\",\"mod_revision\":\"21\"}}]}}",
    "{\"result\":{" FS_HDR("22") ",\"events\":[{\"kv\":" FKV(B_E, "NQ==", "22", "22", "1") "}]}}",
    NULL };

static pthread_mutex_t fk_mu = PTHREAD_MUTEX_INITIALIZER;
static int fk_nrange, fk_nwatch, fk_other;

static int fk_bump(int *p)
{
    int v;
    pthread_mutex_lock(&fk_mu);
    v = (*p)++;
    pthread_mutex_unlock(&fk_mu);
    return v;
}

static void h_mirror(fs_conn *c)
{
    int i;
    while ((i = fs_read_req(c)) >= 0) {
        const fs_req *q = fs_get(c->srv, i);
        if (strstr(q->target, "/kv/range")) {
            int k = fk_bump(&fk_nrange);
            if (k < FK_NRANGES) {
                if (fs_respond(c, fk_ranges[k].status, "", fk_ranges[k].body) != 0) return;
            } else if (fs_respond(c, 500, "", "{\"error\":\"unexpected range\",\"code\":2}") != 0) {
                return;
            }
        } else if (strstr(q->target, "/watch")) {
            int k = fk_bump(&fk_nwatch), j;
            const char *const *parts = k == 0 ? fk_watch0 : k == 1 ? fk_watch1 : k == 2 ? fk_watch2 : NULL;
            if (!parts) { fs_respond(c, 500, "", "{\"error\":\"unexpected watch\",\"code\":2}"); return; }
            if (fs_sends(c, JSON_HEAD "Transfer-Encoding: chunked\r\n\r\n") != 0) return;
            for (j = 0; parts[j]; j++)
                if (fs_chunk(c, parts[j], strlen(parts[j])) != 0) return;
            if (k == 0) { fs_sends(c, "0\r\n\r\n"); return; }      /* the stream ends: a break */
            fs_wait_close(c, 10.0);                                 /* etcd keeps it open */
            return;
        } else {
            fk_bump(&fk_other);
            if (fs_respond(c, 404, "", "{}") != 0) return;
        }
    }
}

static etcd *fake_client(const fs_server *s)
{
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.http_host = s->url;
    o.api_prefix = "/v3";        /* no /version probe */
    o.timeout = 2.0;
    o.max_fails = -1;            /* the scripted break must not take the endpoint out */
    return t_client(&o);
}

/* The counters zeroed, a fake server running h_mirror (*s) and a client
   of it; NULL (the server stopped) on failure. */
static etcd *fake_open(fs_server **s)
{
    etcd *c;
    fk_nrange = fk_nwatch = fk_other = 0;
    if (!(*s = fs_start(FS_TCP4, NULL, h_mirror, NULL))) return NULL;
    if (!(c = fake_client(*s))) fs_stop(*s);
    return c;
}

/* The i-th request (0-based) whose target contains path, or NULL. */
static const fs_req *nth_req(fs_server *s, const char *path, int i)
{
    int k, n = fs_nreqs(s);
    for (k = 0; k < n; k++) {
        const fs_req *q = fs_get(s, k);
        if (q && strstr(q->target, path) && i-- == 0) return q;
    }
    return NULL;
}

/* A resume point compacted while the stream was broken: the mirror reads
   the dir again and delivers a new snapshot whose first page has reset,
   never a canceled end; the changes then go on from the new snapshot's
   revision + 1. */
static void test_fake_compaction_resets(void)
{
    fs_server *s;
    etcd *c;
    etcd_watcher *w;
    etcd_watch_opts o = mopts(1.0);
    mstate ms;
    msgflags f;
    const fs_req *q;
    ment *e;
    int k;

    REQUIRE((c = fake_open(&s)) != NULL);
    if (!(w = ms_open(&ms, c, "/f/", &o))) goto out;

    /* the first snapshot, after a 503 the mirror tried again */
    CHECK_INT(step(&ms, w, &f), 1);
    CHECK(f.snapshot && f.reset && !f.more);
    CHECK_INT(f.nevents, 2);
    CHECK_INT(ms.snap_rev, 10);
    /* a change, then the stream ends; the reopening from 12 is compacted:
       a new snapshot in two pages, the first with reset */
    CHECK_INT(step(&ms, w, &f), 1);
    CHECK(!f.snapshot && !f.reset && f.nevents == 1);
    CHECK_INT(ms.applied, 11);
    CHECK_INT(ms.map.n, 3);
    CHECK_INT(step(&ms, w, &f), 1);
    CHECK(f.snapshot && f.reset && f.more);
    CHECK_INT(f.nevents, 1);
    CHECK_INT(ms.map.n, 1);                    /* a and c dropped with the reset */
    CHECK_INT(step(&ms, w, &f), 1);
    CHECK(f.snapshot && !f.reset && !f.more);
    CHECK_INT(f.nevents, 1);
    CHECK_INT(ms.applied, 20);                 /* the snapshot's revision, not the header's 22 */
    /* the changes from 21 */
    CHECK_INT(step(&ms, w, &f), 1);
    CHECK(!f.snapshot && !f.reset && f.nevents == 1);
    CHECK_INT(step(&ms, w, &f), 1);
    CHECK(!f.snapshot && !f.reset && f.nevents == 1);
    CHECK_INT(step(&ms, w, NULL), 0);          /* caught up: "timeout", not an end */
    CHECK_INT(etcd_watch_errcode(w), ETCD_ETIMEOUT);
    CHECK_INT(ms.snapshots, 2);
    CHECK_INT(ms.bad_codes, 0);

    /* the map is what the scripted etcd holds now: d=4, e=5 */
    CHECK_INT(ms.map.n, 2);
    e = *map_find(&ms.map, "/f/d", 4);
    CHECK(e && e->vl == 1 && e->v[0] == '4');
    e = *map_find(&ms.map, "/f/e", 4);
    CHECK(e && e->vl == 1 && e->v[0] == '5');

    /* what was asked: the snapshot pages, the resume points */
    CHECK_INT(fk_nrange, 4);
    CHECK_INT(fk_nwatch, 3);
    CHECK_INT(fk_other, 0);
    for (k = 0; k < 3; k++) {                  /* fresh reads carry no revision */
        q = nth_req(s, "/kv/range", k);
        CHECK(q != NULL);
        if (q) CHECK(strstr(q->body, "\"revision\"") == NULL);
    }
    q = nth_req(s, "/kv/range", 3);            /* the second page: at the snapshot's revision */
    CHECK(q != NULL);
    if (q) CHECK_HAS(q->body, "\"revision\":\"20\"");
    q = nth_req(s, "/watch", 0);
    CHECK(q != NULL);
    if (q) CHECK_HAS(q->body, "\"start_revision\":\"11\"");
    q = nth_req(s, "/watch", 1);
    CHECK(q != NULL);
    if (q) CHECK_HAS(q->body, "\"start_revision\":\"12\"");
    q = nth_req(s, "/watch", 2);
    CHECK(q != NULL);
    if (q) CHECK_HAS(q->body, "\"start_revision\":\"21\"");
out:
    CHECK_INT(etcd_watchcancel(w), 0);
    ms_free(&ms);
    etcd_free(c);
    fs_stop(s);
}

/* start_revision is refused with ETCD_EARG and nothing is sent; a NULL
   client gives NULL. */
static void test_bad_input(void)
{
    fs_server *s;
    etcd *c;
    etcd_watch_opts o = mopts(1.0);
    etcd_watcher *w;
    REQUIRE((c = fake_open(&s)) != NULL);

    o.start_revision = 5;
    w = etcd_mirror(c, "/f/", &o);
    CHECK(w == NULL);
    etcd_watchcancel(w);
    CHECK_STR(etcd_err_name(etcd_errcode(c)), "ETCD_EARG");
    CHECK_HAS(etcd_errstr(c), "start_revision");
    o.start_revision = -1;
    w = etcd_mirror(c, "/f/", &o);
    CHECK(w == NULL);
    etcd_watchcancel(w);
    CHECK_STR(etcd_err_name(etcd_errcode(c)), "ETCD_EARG");

    o.start_revision = 0;
    w = etcd_mirror(NULL, "/f/", &o);
    CHECK(w == NULL);
    etcd_watchcancel(w);
    w = etcd_mirror(NULL, "/f/", NULL);
    CHECK(w == NULL);
    etcd_watchcancel(w);

    th__sleep_ms(100);
    CHECK_INT(fs_accepts(s), 0);               /* nothing sent, no connection made */
    CHECK_INT(fs_nreqs(s), 0);
    etcd_free(c);
    fs_stop(s);
}

/* ---- against a real etcd -------------------------------------------------- */

static void test_start(void)
{
    REQUIRE(test_etcd_start(&srv, NULL) == 0);
    cli = test_client_at(srv.url, NULL, 5.0, false, 0, 0);
    REQUIRE(cli != NULL);
}

/* 2,500 keys: 3 pages (1000, 1000, 500), reset on the first only, more on
   all but the last; then changes (put, update, delete, a txn, an rmdir) as
   ordinary messages. */
static void test_basic(void)
{
    const char *dir = "/mb/";
    etcd_watch_opts o = mopts(0.5);
    etcd_watcher *w;
    mstate ms;
    msgflags f;
    int64_t last, snap;
    int i;

    REQUIRE(load(cli, dir, 0, 2500) > 0);
    if (!(w = ms_open(&ms, cli, dir, &o))) goto out;
    for (i = 0; i < 3; i++) {
        CHECK_INT(step(&ms, w, &f), 1);
        CHECK(f.snapshot);
        CHECK(f.reset == (i == 0));
        CHECK(f.more == (i < 2));
        CHECK_INT(f.nevents, i < 2 ? 1000 : 500);
    }
    CHECK_INT(ms.map.n, 2500);
    snap = ms.snap_rev;
    CHECK(snap > 0);
    CHECK_INT(ms.applied, snap);
    CHECK_INT(step(&ms, w, NULL), 0);          /* nothing changed: "timeout" */

    CHECK(test_set(cli, "/mb/new", "\"fresh\"") > snap);
    CHECK(test_set(cli, "/mb/k00007", "77") > 0);
    CHECK(test_del(cli, "/mb/k01500") > 0);
    {
        etcd_compare cmp;
        etcd_op ops[3];
        etcd_res *r;
        memset(&cmp, 0, sizeof cmp);
        cmp.result = ETCD_CMP_GREATER;
        cmp.target = ETCD_CMP_MOD;
        cmp.key = "/no-such-key-ever";
        cmp.mod_revision = -1;
        memset(ops, 0, sizeof ops);
        ops[0].type = ETCD_OP_PUT; ops[0].key = "/mb/t1"; ops[0].value = "1";
        ops[1].type = ETCD_OP_PUT; ops[1].key = "/mb/k00008"; ops[1].value = "[8]";
        ops[2].type = ETCD_OP_DELETE; ops[2].key = "/mb/k00009";
        r = etcd_txn(cli, &cmp, 1, ops, 3, NULL, 0, NULL);
        CHECK(r && r->status == 200 && r->succeeded);
        etcd_res_free(r);
    }
    {
        etcd_res *r = etcd_rmdir(cli, "/mb/k0249", NULL);   /* k02490 .. k02499: one revision */
        CHECK(r && r->status == 200 && r->deleted == 10);
        last = r ? r->revision : 0;
        etcd_res_free(r);
    }
    drain(&ms, w, last, 10);
    CHECK_INT(ms.applied, last);
    CHECK_INT(ms.snapshots, 1);
    CHECK_INT(ms.snap_pages, 3);
    CHECK_INT(ms.change_events, 1 + 1 + 1 + 3 + 10);
    CHECK(ms.change_msgs >= 1 && ms.change_msgs <= 5);   /* a txn's events come whole; etcd may join revisions */
    CHECK_INT(ms.map.n, 2500 + 1 + 1 - 1 - 1 - 10);
    check_same(&ms, cli, dir);
out:
    CHECK_INT(etcd_watchcancel(w), 0);
    ms_free(&ms);
}

/* An empty dir: one page with no events (reset and snapshot set, more
   not), then changes arrive. */
static void test_empty_dir(void)
{
    const char *dir = "/me/";
    etcd_watch_opts o = mopts(0.5);
    etcd_watcher *w;
    mstate ms;
    msgflags f;
    int64_t before, r1, r2;

    before = test_rev(cli);
    if (!(w = ms_open(&ms, cli, dir, &o))) goto out;
    CHECK_INT(step(&ms, w, &f), 1);
    CHECK(f.snapshot && f.reset && !f.more);
    CHECK_INT(f.nevents, 0);
    CHECK(f.revision >= before);               /* the read's revision */
    CHECK_INT(step(&ms, w, NULL), 0);
    CHECK_INT(etcd_watch_errcode(w), ETCD_ETIMEOUT);

    r1 = test_set(cli, "/me/a", "1");
    r2 = test_set(cli, "/me/b", "2");
    CHECK(r1 > 0 && r2 > r1);
    CHECK_INT(step(&ms, w, &f), 1);
    CHECK(!f.snapshot && !f.reset && !f.more && f.nevents >= 1);
    drain(&ms, w, r2, 5);
    CHECK_INT(ms.snapshots, 1);
    CHECK_INT(ms.change_events, 2);
    CHECK(ms_has_crev(&ms, r1) && ms_has_crev(&ms, r2));
    check_same(&ms, cli, dir);
out:
    CHECK_INT(etcd_watchcancel(w), 0);
    ms_free(&ms);
}

/* Writes between the snapshot's pages: the pages are all of one revision
   (a key deleted after the first page still comes on the third, a key
   added behind the cursor does not come), and each write then comes as a
   change. */
static void test_writes_between_pages(void)
{
    const char *dir = "/mw/";
    etcd_watch_opts o = mopts(0.5);
    etcd_watcher *w;
    etcd *c2 = NULL;
    mstate ms;
    msgflags f;
    int64_t revs[6], snap;
    bool saw_deleted = false, saw_added = false;
    int i, n = 0;

    REQUIRE(load(cli, dir, 0, 2500) > 0);
    REQUIRE((c2 = test_client_at(srv.url, NULL, 5.0, false, 0, 0)) != NULL);
    if (!(w = ms_open(&ms, cli, dir, &o))) goto out;
    CHECK_INT(step(&ms, w, &f), 1);            /* page 1: k00000 .. k00999 */
    CHECK(f.reset && f.more);
    snap = ms.snap_rev;
    revs[n++] = test_del(c2, "/mw/k02300");         /* on page 3, not yet read */
    revs[n++] = test_set(c2, "/mw/k00010", "\"changed\"");  /* on page 1, read */
    revs[n++] = test_set(c2, "/mw/k00500x", "1");   /* a new key behind the cursor */
    CHECK_INT(step(&ms, w, &f), 1);            /* page 2 */
    CHECK(!f.reset && f.more);
    revs[n++] = test_set(c2, "/mw/k02499x", "2");   /* a new key ahead of the cursor */
    revs[n++] = test_del(c2, "/mw/k00000");
    CHECK_INT(step(&ms, w, &f), 1);            /* page 3 */
    CHECK(!f.reset && !f.more);
    CHECK_INT(f.nevents, 500);
    CHECK_INT(ms.map.n, 2500);                 /* the snapshot as it was at its revision */
    saw_deleted = *map_find(&ms.map, "/mw/k02300", 10) != NULL;
    saw_added = *map_find(&ms.map, "/mw/k02499x", 11) != NULL || *map_find(&ms.map, "/mw/k00500x", 11) != NULL;
    CHECK(saw_deleted);
    CHECK(!saw_added);
    revs[n++] = test_set(c2, "/mw/late", "3");
    for (i = 0; i < n; i++) CHECK(revs[i] > snap);
    drain(&ms, w, revs[n - 1], 10);
    for (i = 0; i < n; i++) CHECK(ms_has_crev(&ms, revs[i]));
    CHECK_INT(ms.change_events, n);
    CHECK_INT(ms.snapshots, 1);
    check_same(&ms, cli, dir);
out:
    CHECK_INT(etcd_watchcancel(w), 0);
    ms_free(&ms);
    etcd_free(c2);
}

/* A writer thread puts and deletes keys under the prefix the whole time
   the snapshot is read (slowly, page by page) and after: the map ends
   equal to the readdir, every write after the snapshot's revision came as
   a change, none before it did. */
static void test_writer_thread_during_snapshot(void)
{
    const char *dir = "/mt/";
    etcd_watch_opts o = mopts(0.5);
    etcd_watcher *w = NULL;
    etcd *wc;
    writer wr;
    mstate ms;
    msgflags f;
    int pages = 0, wrote_during = 0;
    size_t i;

    REQUIRE(load(cli, dir, 0, 3500) > 0);
    REQUIRE((wc = test_client_at(srv.url, NULL, 5.0, false, 0, 0)) != NULL);
    ms_init(&ms);
    if (!writer_start(&wr, wc, dir, 200, 2, 1)) { etcd_free(wc); ms_free(&ms); REQUIRE(false); }
    th__sleep_ms(100);
    w = etcd_mirror(cli, dir, &o);
    CHECK(w != NULL);
    if (w) {
        do {
            int before = writer_now(&wr).ops;
            if (step(&ms, w, &f) < 0) break;
            if (f.snapshot) pages++;
            th__sleep_ms(150);                 /* writes land between the pages */
            if (f.snapshot && f.more && writer_now(&wr).ops > before) wrote_during++;
        } while (ms.in_snap || pages == 0);
        read_for(&ms, w, 0.5);
    }
    writer_stop(&wr);
    fprintf(stderr, "  (info) writer: %d ops, %zu writes, %d failed; %d pages\n", wr.ops, wr.nrevs, wr.fails,
            pages);
    CHECK_INT(wr.fails, 0);
    CHECK(wrote_during >= 2);                  /* it really wrote between the pages */
    if (w) {
        drain(&ms, w, wr.last, 10);
        CHECK_INT(pages, 4);                   /* 3500 keys, maybe plus the writer's */
        CHECK_INT(ms.snapshots, 1);
        CHECK_INT(writer_missing(&ms, &wr), 0);
        for (i = 0; i < wr.nrevs; i++)         /* what the snapshot holds never comes again */
            if (wr.revs[i] <= ms.snap_rev) CHECK(!ms_has_crev(&ms, wr.revs[i]));
        check_same(&ms, cli, dir);
    }
    CHECK_INT(etcd_watchcancel(w), 0);
    free(wr.revs);
    ms_free(&ms);
    etcd_free(wc);
}

/* 10,000 keys: 10 pages of 1000, the map equals the readdir. */
static void test_10k_keys(void)
{
    const char *dir = "/m10k/";
    etcd_watch_opts o = mopts(2.0);
    etcd_watcher *w;
    mstate ms;
    msgflags f;
    int64_t last;
    int i;
    double t0 = test_now();

    REQUIRE(load(cli, dir, 0, 10000) > 0);
    if (!(w = ms_open(&ms, cli, dir, &o))) goto out;
    for (i = 0; i < 10; i++) {
        CHECK_INT(step(&ms, w, &f), 1);
        CHECK(f.snapshot);
        CHECK(f.reset == (i == 0));
        CHECK(f.more == (i < 9));
        CHECK_INT(f.nevents, 1000);
    }
    CHECK_INT(ms.snap_pages, 10);
    CHECK_INT(ms.page_events, 10000);
    CHECK(!ms.in_snap);
    last = test_set(cli, "/m10k/k10000", "10000");
    CHECK(test_del(cli, "/m10k/k00000") > 0);
    last = test_set(cli, "/m10k/k05000", "-1");
    drain(&ms, w, last, 10);
    CHECK_INT(ms.snapshots, 1);
    CHECK_INT(ms.map.n, 10000);
    check_same(&ms, cli, dir);
    fprintf(stderr, "  (info) 10,000 keys mirrored in %.2f s, %d pages\n", test_now() - t0, ms.snap_pages);
out:
    CHECK_INT(etcd_watchcancel(w), 0);
    ms_free(&ms);
}

/* The watcher API on a mirror, as an event loop uses it: pending is true
   while snapshot pages are queued (no poll needed), then poll() on the fd
   wakes for the changes. */
static void test_watcher_api_poll(void)
{
    const char *dir = "/mapi/";
    etcd_watch_opts o = mopts(0.5);
    etcd_watcher *w;
    mstate ms;
    int pages = 0, got = 0, fd;
    int64_t last = 0;
    double end;

    REQUIRE(load(cli, dir, 0, 2500) > 0);
    if (!(w = ms_open(&ms, cli, dir, &o))) goto out;
    CHECK(etcd_watch_pending(w));              /* the snapshot is there to read */
    while (etcd_watch_pending(w) && pages < 20) {
        msgflags f;
        if (step(&ms, w, &f) != 1) break;
        CHECK(f.snapshot);
        pages++;
        if (f.more) CHECK(etcd_watch_pending(w));
    }
    CHECK_INT(pages, 3);
    CHECK(!ms.in_snap);
    CHECK_INT(ms.map.n, 2500);

    /* changes, through poll() */
    fd = etcd_watch_fd(w);
    last = test_set(cli, "/mapi/x", "1");
    test_set(cli, "/mapi/y", "2");
    last = test_set(cli, "/mapi/z", "3");
    end = test_now() + 4.0;
    while (got < 3 && test_now() < end) {
        msgflags f;
        if (!test_watch_readable(w, 500)) continue;
        if (step(&ms, w, &f) < 0) break;
        got += (int)f.nevents;
    }
    if (got < 3)
        fprintf(stderr, "  after the last snapshot page: etcd_watch_fd %d, etcd_watch_pending %d: "
                "a poll() loop never calls etcd_watch_next, which is what opens the watch\n",
                fd, (int)etcd_watch_pending(w));
    CHECK_INT(got, 3);
    /* once the stream is open, poll() does wake for a change */
    drain(&ms, w, last, 5);
    fd = etcd_watch_fd(w);
    CHECK(fd >= 0);
    CHECK(!etcd_watch_pending(w));
    last = test_set(cli, "/mapi/w", "4");
    got = 0;
    end = test_now() + 4.0;
    while (got < 1 && test_now() < end) {
        msgflags f;
        if (!test_watch_readable(w, 500)) continue;
        if (step(&ms, w, &f) < 0) break;
        got += (int)f.nevents;
    }
    CHECK_INT(got, 1);
    CHECK_INT(ms.applied, last);
    CHECK_INT(ms.snapshots, 1);
    check_same(&ms, cli, dir);
out:
    CHECK_INT(etcd_watchcancel(w), 0);
    ms_free(&ms);
}

/* etcd_watchcancel at any point frees everything (the sanitizer builds
   check the leaks) and leaves the client usable. */
static void test_cancel_any_point(void)
{
    const char *dir = "/mcan/";
    etcd_watch_opts o = mopts(0.5);
    etcd_watcher *w;
    mstate ms;
    etcd_res *r;
    int i;

    REQUIRE(load(cli, dir, 0, 1500) > 0);
    /* before any page */
    w = etcd_mirror(cli, dir, &o);
    CHECK(w != NULL);
    CHECK_INT(etcd_watchcancel(w), 0);
    /* in the middle of the snapshot */
    w = ms_open(&ms, cli, dir, &o);
    if (w) {
        CHECK_INT(step(&ms, w, NULL), 1);
        CHECK(ms.in_snap);
    }
    CHECK_INT(etcd_watchcancel(w), 0);
    ms_free(&ms);
    /* after the last page, before the watch was opened */
    w = ms_open(&ms, cli, dir, &o);
    for (i = 0; w && i < 2; i++) CHECK_INT(step(&ms, w, NULL), 1);
    CHECK(!ms.in_snap && ms.snapshots == 1);
    CHECK_INT(etcd_watchcancel(w), 0);
    ms_free(&ms);
    /* with the watch open and a change waiting unread */
    w = ms_open(&ms, cli, dir, &o);
    if (w) {
        drain(&ms, w, 0, 5);
        CHECK(test_set(cli, "/mcan/x", "1") > 0);
        th__sleep_ms(100);
    }
    CHECK_INT(etcd_watchcancel(w), 0);
    ms_free(&ms);
    /* a mirror of an empty dir, before and after its page */
    w = etcd_mirror(cli, "/mcan-none/", &o);
    CHECK(w != NULL);
    CHECK_INT(etcd_watchcancel(w), 0);
    w = ms_open(&ms, cli, "/mcan-none/", &o);
    if (w) CHECK_INT(step(&ms, w, NULL), 1);
    CHECK_INT(etcd_watchcancel(w), 0);
    ms_free(&ms);
    CHECK_INT(etcd_watchcancel(NULL), 0);
    /* the client goes on */
    r = etcd_get(cli, "/mcan/k00001", NULL);
    CHECK(r && r->status == 200 && r->nkvs == 1);
    etcd_res_free(r);
}

/* With a client key_prefix, the messages' keys carry it (as readdir's do),
   keys outside it never come, and the map equals the readdir; an empty dir
   mirrors everything under key_prefix. */
static void test_key_prefix(void)
{
    etcd *pc = test_client_at(srv.url, "/mpfx", 5.0, false, 0, 0);
    etcd_watch_opts o = mopts(0.5);
    etcd_watcher *w = NULL, *w2 = NULL;
    mstate ms, ms2;
    ment *e;
    int64_t last;
    int pages = 0;

    REQUIRE(pc);
    ms_init(&ms);
    ms_init(&ms2);
    CHECK(load(pc, "/d/", 0, 1200) > 0);       /* /mpfx/d/k00000 ... */
    CHECK(test_set(pc, "/top", "1") > 0);           /* /mpfx/top: under "" but not under /d/ */
    CHECK(test_set(cli, "/other/d/k", "1") > 0);    /* outside the prefix altogether */
    w = etcd_mirror(pc, "/d/", &o);
    CHECK(w != NULL);
    if (!w) goto out;
    while (step(&ms, w, NULL) == 1 && ms.in_snap) pages++;
    CHECK_INT(pages + 1, 2);
    CHECK_INT(ms.map.n, 1200);
    CHECK(*map_find(&ms.map, "/mpfx/d/k00000", 14) != NULL);
    CHECK(*map_find(&ms.map, "/d/k00000", 9) == NULL);
    CHECK(test_set(pc, "/d/new", "2") > 0);
    CHECK(test_del(pc, "/d/k00001") > 0);
    CHECK(test_set(cli, "/other/d/k", "2") > 0);    /* not ours */
    last = test_set(cli, "/mpfx/d/raw", "3");       /* written without the prefix option: ours */
    drain(&ms, w, last, 5);
    e = *map_find(&ms.map, "/mpfx/d/new", 11);
    CHECK(e && e->vl == 1 && e->v[0] == '2');
    CHECK(*map_find(&ms.map, "/mpfx/d/raw", 11) != NULL);
    CHECK(*map_find(&ms.map, "/mpfx/d/k00001", 14) == NULL);
    CHECK(*map_find(&ms.map, "/other/d/k", 10) == NULL);
    CHECK_INT(ms.map.n, 1200 + 1 - 1 + 1);
    check_same(&ms, pc, "/d/");

    /* dir "": every key under key_prefix */
    w2 = etcd_mirror(pc, "", &o);
    CHECK(w2 != NULL);
    if (w2) {
        drain(&ms2, w2, 0, 5);
        CHECK(*map_find(&ms2.map, "/mpfx/top", 9) != NULL);
        CHECK(*map_find(&ms2.map, "/other/d/k", 10) == NULL);
        last = test_set(pc, "/top", "4");
        drain(&ms2, w2, last, 5);
        e = *map_find(&ms2.map, "/mpfx/top", 9);
        CHECK(e && e->vl == 1 && e->v[0] == '4');
        CHECK_INT(ms2.map.n, 1200 + 1 - 1 + 1 + 1);
        check_same(&ms2, pc, "");
    }
out:
    CHECK_INT(etcd_watchcancel(w), 0);
    CHECK_INT(etcd_watchcancel(w2), 0);
    ms_free(&ms);
    ms_free(&ms2);
    etcd_free(pc);
}

/* A compaction between two pages of a snapshot: the next page's revision
   is gone, so the mirror starts a new snapshot (reset) at once, and the
   map still ends equal to the readdir. */
static void test_compaction_during_snapshot(void)
{
    const char *dir = "/mz/";
    etcd_watch_opts o = mopts(1.0);
    etcd_watcher *w;
    mstate ms;
    msgflags f;
    int64_t rev, first_snap;

    REQUIRE(load(cli, dir, 0, 2500) > 0);
    if (!(w = ms_open(&ms, cli, dir, &o))) goto out;
    CHECK_INT(step(&ms, w, &f), 1);
    CHECK(f.reset && f.more);
    first_snap = ms.snap_rev;
    CHECK(test_del(cli, "/mz/k00003") > 0);
    rev = test_set(cli, "/mz/k02600", "1");
    CHECK(compact(cli, rev) == rev);
    CHECK_INT(step(&ms, w, &f), 1);            /* not page 2: a new snapshot's page 1 */
    CHECK(f.snapshot && f.reset && f.more);
    CHECK_INT(f.nevents, 1000);
    CHECK(ms.snap_rev >= rev && ms.snap_rev > first_snap);
    drain(&ms, w, rev, 10);
    CHECK_INT(ms.snapshots, 2);
    CHECK_INT(ms.snap_pages, 4);
    CHECK_INT(ms.map.n, 2500);
    CHECK_INT(ms.bad_codes, 0);
    check_same(&ms, cli, dir);
out:
    CHECK_INT(etcd_watchcancel(w), 0);
    ms_free(&ms);
}

/* A forced compaction past the resume point on a real etcd: the mirror's
   stream breaks (its member is stopped and started again); before the
   mirror notices, another client writes and compacts past the revision
   it would resume from. The mirror delivers a new snapshot with reset,
   never a canceled end, and goes on with the changes after it. */
static void test_compaction_past_resume_point(void)
{
    const char *dir = "/mx/";
    etcd_watch_opts o = mopts(0.5);
    etcd_watcher *w = NULL;
    etcd *mc, *wc = NULL;
    mstate ms;
    int64_t rev, resume;
    bool restarted;

    REQUIRE(load(cli, dir, 0, 1200) > 0);
    REQUIRE((mc = test_client_at(srv.url, NULL, 2.0, false, 0, 0.5)) != NULL);
    if (!(w = ms_open(&ms, mc, dir, &o))) goto out;
    drain(&ms, w, 0, 5);
    rev = test_set(cli, "/mx/a", "1");
    CHECK(test_del(cli, "/mx/k00001") > 0);
    rev = test_set(cli, "/mx/b", "2");
    drain(&ms, w, rev, 5);
    CHECK_INT(ms.snapshots, 1);
    CHECK(w->s.conn.fd >= 0);                  /* white-box: the stream is open */
    resume = ms.applied + 1;

    test_etcd_kill(&srv);
    restarted = test_etcd_restart(&srv) == 0;
    CHECK(restarted);
    if (!restarted) goto out;
    wc = test_client_at(srv.url, NULL, 5.0, false, 0, 0);
    CHECK(wc != NULL);
    if (!wc) goto out;
    CHECK(test_set(wc, "/mx/c", "3") > 0);
    CHECK(test_del(wc, "/mx/k00002") > 0);
    rev = test_set(wc, "/mx/a", "4");
    CHECK(rev > resume);
    CHECK(compact(wc, rev) == rev);

    drain(&ms, w, rev, 15);
    CHECK_INT(ms.snapshots, 2);                /* a new snapshot, with reset */
    CHECK(ms.snap_rev >= rev);
    CHECK_INT(ms.bad_codes, 0);
    CHECK_INT(ms.map.n, 1200 + 3 - 2);
    check_same(&ms, wc, dir);
    /* and it follows on from the new snapshot */
    rev = test_set(wc, "/mx/after", "5");
    drain(&ms, w, rev, 5);
    CHECK(ms_has_crev(&ms, rev));
    CHECK_INT(ms.snapshots, 2);
    check_same(&ms, wc, dir);
out:
    CHECK_INT(etcd_watchcancel(w), 0);
    ms_free(&ms);
    etcd_free(wc);
    etcd_free(mc);
}

/* ---- a 3-member cluster: the member the stream is on is killed ----------- */

/* Round after round the member the mirror's stream is on is killed (hard,
   then gracefully, then hard) while a writer thread writes through the two
   others; the mirror resumes on another member, the killed one is started
   again. Nothing is lost (every write the writer knows of comes) or
   repeated (no change older than one applied), no new snapshot is needed,
   and the map equals the readdir after every round. */
static void test_cluster_member_kill(void)
{
    const char *dir = "/mk/";
    test_etcd m[3];
    char hosts[256], whosts[200];
    etcd *mc = NULL, *wc = NULL;
    etcd_watcher *w = NULL;
    etcd_watch_opts o = mopts(0.5);
    mstate ms;
    int round, i;

    memset(m, 0, sizeof m);
    REQUIRE(test_cluster_start(m, 3, NULL) == 0);
    ms_init(&ms);
    test_cluster_hosts(m, 3, -1, hosts, sizeof hosts);
    mc = test_client_at(hosts, NULL, 2.0, true, 0, 1.0);
    CHECK(mc != NULL);
    if (!mc) goto out;
    CHECK(load(mc, dir, 0, 1500) > 0);
    w = etcd_mirror(mc, dir, &o);
    CHECK(w != NULL);
    if (!w) goto out;
    drain(&ms, w, 0, 10);
    CHECK_INT(ms.snapshots, 1);
    CHECK_INT(ms.snap_pages, 2);

    for (round = 0; round < 3; round++) {
        writer wr;
        int served = -1;
        size_t at_kill, at_restart;
        double end;
        bool up;
        CHECK(w->s.ep != NULL && w->s.conn.fd >= 0);       /* white-box: where the stream is */
        for (i = 0; i < 3 && w->s.ep; i++) if (!strcmp(w->s.ep->url, m[i].url)) served = i;
        CHECK(served >= 0);
        if (served < 0) break;
        test_cluster_hosts(m, 3, served, whosts, sizeof whosts);
        wc = test_client_at(whosts, NULL, 2.0, true, 0, 1.0);
        CHECK(wc != NULL);
        if (!wc) break;
        if (!writer_start(&wr, wc, dir, 60, 3, round + 2)) { CHECK(!"writer thread"); break; }
        read_for(&ms, w, 0.3);
        if (round == 1) test_etcd_kill(&m[served]);
        else test_etcd_kill_hard(&m[served]);
        at_kill = writer_now(&wr).nrevs;
        end = test_now() + 8.0;                /* a write caught by a leader's death may hang a while */
        do read_for(&ms, w, 0.25);
        while (writer_now(&wr).nrevs - at_kill < 20 && test_now() < end);
        read_for(&ms, w, 0.3);                 /* it moves to another member */
        CHECK(w->s.ep != NULL && strcmp(w->s.ep->url, m[served].url) != 0);
        at_restart = writer_now(&wr).nrevs;
        up = test_etcd_restart(&m[served]) == 0;
        CHECK(up);
        read_for(&ms, w, 0.3);
        writer_stop(&wr);
        fprintf(stderr, "  (info) round %d: killed m%d; writer %d ops, %zu writes (%zu while it was down), "
                "%d failed\n", round, served, wr.ops, wr.nrevs, at_restart - at_kill, wr.fails);
        CHECK(at_restart - at_kill >= 20);     /* the writer kept writing through the others */
        drain(&ms, w, wr.last, 15);
        CHECK_INT(writer_missing(&ms, &wr), 0);
        CHECK_INT(ms.snapshots, 1);            /* resumed, no new snapshot needed */
        check_same(&ms, mc, dir);
        free(wr.revs);
        etcd_free(wc);
        wc = NULL;
        if (!up) break;
    }
    CHECK_INT(ms.bad_codes, 0);
    fprintf(stderr, "  (info) %d change messages, %d change events\n", ms.change_msgs, ms.change_events);
out:
    CHECK_INT(etcd_watchcancel(w), 0);
    etcd_free(wc);
    etcd_free(mc);
    ms_free(&ms);
    test_cluster_stop(m, 3);
}

/* etcd_watch_state tells a stale mirror from a quiet one: both give
   "timeout", but while its member is down the mirror is OPENING (and
   since when), LIVE again once the member is back. */
static void test_stream_state(void)
{
    const char *dir = "/mst/";
    etcd_watch_opts o = mopts(0.2);
    etcd *c = test_client_at(srv.url, NULL, 1.0, false, -1, 0);
    etcd_watcher *w = NULL;
    mstate ms;
    double secs = -1, end;
    int64_t last;
    etcd_stream_state st;

    ms_init(&ms);
    CHECK_INT(etcd_watch_state(NULL, &secs), ETCD_WATCH_ENDED);
    REQUIRE(c != NULL);
    REQUIRE(load(c, dir, 0, 5) > 0);
    if (!(w = ms_open(&ms, c, dir, &o))) goto out;
    CHECK_INT(etcd_watch_state(w, &secs), ETCD_WATCH_SNAPSHOT);
    CHECK(secs >= 0 && secs < 5);
    CHECK_INT(step(&ms, w, NULL), 1);            /* the one page: the stream opens at the next call */
    CHECK_INT(etcd_watch_state(w, NULL), ETCD_WATCH_OPENING);
    CHECK_INT(step(&ms, w, NULL), 0);            /* quiet */
    CHECK_INT(etcd_watch_state(w, &secs), ETCD_WATCH_LIVE);
    CHECK(secs >= 0 && secs < 1);

    test_etcd_kill(&srv);
    end = test_now() + 5;
    while ((st = etcd_watch_state(w, NULL)) == ETCD_WATCH_LIVE && test_now() < end) step(&ms, w, NULL);
    CHECK_INT(st, ETCD_WATCH_OPENING);
    CHECK_INT(step(&ms, w, NULL), 0);            /* a timeout, as when quiet ... */
    CHECK_INT(etcd_watch_state(w, &secs), ETCD_WATCH_OPENING);   /* ... but not live, for a while now */
    CHECK(secs >= 0.15);
    CHECK_INT(etcd_watch_fd(w), -1);
    CHECK(etcd_watch_pending(w));

    REQUIRE(test_etcd_restart(&srv) == 0);
    last = test_set(c, "/mst/after", "1");
    drain(&ms, w, last, 10);
    CHECK_INT(etcd_watch_state(w, &secs), ETCD_WATCH_LIVE);
    CHECK(secs >= 0 && secs < 10);
    CHECK_INT(ms.applied >= last, 1);
    CHECK_INT(ms.bad_codes, 0);
out:
    CHECK_INT(etcd_watchcancel(w), 0);
    ms_free(&ms);
    etcd_free(c);
}

int main(void)
{
    double t0 = test_now();
    (void)fs_wait_go; (void)fs_go; (void)fs_free_port; (void)fs_reset; (void)fs_send_slow;
    (void)fs_header; (void)fs_get_ok;
    RUN(test_bad_input);
    RUN(test_fake_compaction_resets);
    RUN(test_start);
    if (cli) {
        RUN(test_basic);
        RUN(test_empty_dir);
        RUN(test_writes_between_pages);
        RUN(test_writer_thread_during_snapshot);
        RUN(test_10k_keys);
        RUN(test_watcher_api_poll);
        RUN(test_cancel_any_point);
        RUN(test_key_prefix);
        RUN(test_compaction_during_snapshot);
        RUN(test_compaction_past_resume_point);
        RUN(test_stream_state);
    }
    etcd_free(cli);
    test_etcd_stop(&srv);
    RUN(test_cluster_member_kill);
    fprintf(stderr, "  (info) suite took %.1f s\n", test_now() - t0);
    return test_summary();
}
