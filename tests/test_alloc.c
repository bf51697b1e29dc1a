/* test_alloc.c - every allocation failure inside etcd.h gives a clean error.

   The "failing allocator" test: ETCD_MALLOC / ETCD_REALLOC / ETCD_FREE are
   wrappers that count allocation calls (malloc and realloc alike), track
   the blocks etcd.h holds, and fail (return NULL) exactly one chosen
   allocation. Against a real etcd started by the harness, scenarios that
   reach as many allocation sites as they can are run first with no
   failure, which numbers their T allocations (per step: see `plan`), and
   then once for every failure point 1..T (and a few runs past the end,
   where nothing fails). In every run:

     - a call that returns NULL must say why (etcd_errstr, etcd_watch_errstr,
       etcd_new's err); a result that comes back must be a correct one;
     - nothing crashes, and no sanitizer complains;
     - once everything is freed, etcd.h holds no block (a leak check that
       names the failure point, on top of LeakSanitizer);
     - test_recovery: after the injected failure, with injection off, the
       same client (every endpoint of it) works again.

   The KV scenario covers two clients (A: two endpoints, key_prefix,
   extra_headers, api prefix detection; B: api_prefix, unix socket proxy,
   ttl, RAW) and set, get, readdir of NBIG kvs (large body, token and
   connection buffers), setnx, setx, txn with nested responses, delete,
   lease calls, version, etcd_request, rmdir and etcd_json_parse (which
   must allocate nothing). A result's first arena block is sized from its
   body (2 * len + 8 per token), which always holds a readdir's kvs; the
   16-put txn is what needs a second block. The watch scenario: watchdir
   (prev_kv) and watch, their created messages, four writes, their events,
   watchcancel. Some steps' allocation counts vary by one or two between
   runs (how often a buffer grows depends on how TCP splits a response),
   so a failure point is "allocation k of step s", not a running count.

   Each failure point runs in a forked child, so that one crash is reported
   with its failure point and step and the other points still run. The
   child ends with _exit (the harness's atexit handler, which stops etcd,
   belongs to the parent). Environment knobs for debugging:
     ALLOC_ONLY=N     run only failure point N of each scenario
     ALLOC_NOFORK=1   run the failure points in this process (for gdb)
     ALLOC_VERBOSE=1  print each step's allocation count in the baseline;
                  =2  also every allocation's size */
#define _DEFAULT_SOURCE        /* MAP_ANONYMOUS; implies POSIX 2008 for etcd.h */
#include <stddef.h>

static void *ta_malloc(size_t n);
static void *ta_realloc(void *p, size_t n);
static void  ta_free(void *p);
#define ETCD_MALLOC(n)     ta_malloc(n)
#define ETCD_REALLOC(p, n) ta_realloc(p, n)
#define ETCD_FREE(p)       ta_free(p)

#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
#include "harness.h"

#include <stdarg.h>
#include <sys/mman.h>

/* ---- the failing allocator ------------------------------------------------
   Its state lives in a shared mapping, so that the parent reads what a
   forked child did (how far it got, where it crashed). */

typedef struct alloc_state {
    int  target_step;      /* fail allocation target_k of step number */
    long target_k;         /*   target_step (both 1-based); 0: never */
    int  armed;            /* injection allowed (test_recovery arms it late) */
    long allocs;           /* allocation calls since the reset */
    long live;             /* blocks etcd.h holds */
    long fired_at;         /* allocs when the injected failure happened; 0: not */
    long lingering;        /* calls that failed after, not because of, it */
    int  stepno;           /* number of the step running now */
    int  step_open, step_armed;
    long step_start;       /* allocs when it began */
    char step[96];         /* its name */
    char hit_step[96];     /* the step the injected failure hit */
    long point;            /* the failure point being run (for messages) */
} alloc_state;

static alloc_state *st;
static int verbose;
static int strict_lingering;   /* a call failing after the injection is a failure */

static int take_alloc(size_t n)
{
    st->allocs++;
    if (verbose > 1) fprintf(stderr, "      alloc #%ld: %zu bytes\n", st->allocs, n);
    if (st->fired_at || !st->armed || !st->step_open || st->stepno != st->target_step ||
        st->allocs - st->step_start != st->target_k)
        return 1;
    st->fired_at = st->allocs;
    memcpy(st->hit_step, st->step, sizeof st->step);
    return 0;
}

static void *ta_malloc(size_t n)
{
    void *p;
    if (!take_alloc(n)) return NULL;
    p = malloc(n ? n : 1);
    if (p) st->live++;
    return p;
}

static void *ta_realloc(void *p, size_t n)
{
    void *q;
    if (!take_alloc(n)) return NULL;       /* like a real failure: p stays valid */
    q = realloc(p, n ? n : 1);
    if (q && !p) st->live++;
    return q;
}

static void ta_free(void *p)
{
    if (!p) return;
    st->live--;
    free(p);
}

/* Zero the counters; the target and the point stay. */
static void reset_alloc(int armed)
{
    alloc_state keep = *st;
    memset(st, 0, sizeof *st);
    st->target_step = keep.target_step;
    st->target_k = keep.target_k;
    st->point = keep.point;
    st->armed = armed;
}

/* Failure points are anchored to steps: point (s, k) is the k-th
   allocation of the s-th step of a scenario, as the baseline numbered
   them. A plain running count would drift: how many times a buffer grows
   depends on how TCP splits a large response, so one step's count varies
   by one between runs, and every later point would move to a neighbour
   (the very first version of this test missed a crash that way). */
#define MAX_STEPS 128
typedef struct plan {
    int  nsteps;
    long count[MAX_STEPS + 1];     /* most allocations of step s in the baseline runs */
    int  armed[MAX_STEPS + 1];
    char name[MAX_STEPS + 1][96];
    long total;                    /* sum of count[] over armed steps */
} plan;

static plan *recording;            /* the baseline fills it */

/* ---- steps ----------------------------------------------------------------- */

static test_etcd srv;
static char hosts[200];        /* two endpoints, the same server written twice */

#define PREFIX "/alloc/"
#define NBIG 300               /* keys under PREFIX "big/", written once */

static void fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "  [point %ld] %s: ", st->point, st->step);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    t__cur_failed = 1;
}

static void end_step(void)
{
    long n = st->allocs - st->step_start;
    int s = st->stepno;
    if (!st->step_open) return;
    st->step_open = 0;
    if (verbose) fprintf(stderr, "    %2d %-40s %3ld allocations\n", s, st->step, n);
    if (recording && s <= MAX_STEPS) {
        if (n > recording->count[s]) recording->count[s] = n;
        recording->armed[s] = st->step_armed;
        memcpy(recording->name[s], st->step, sizeof st->step);
        if (s > recording->nsteps) recording->nsteps = s;
    }
}

/* Name the step (for reports) and return the allocation count before it. */
static long step(const char *fmt, ...)
{
    va_list ap;
    end_step();
    va_start(ap, fmt);
    vsnprintf(st->step, sizeof st->step, fmt, ap);
    va_end(ap);
    st->stepno++;
    st->step_start = st->allocs;
    st->step_open = 1;
    st->step_armed = st->armed;
    return st->allocs;
}

/* Injection on / off, between steps. */
static void arm(int on)
{
    end_step();
    st->armed = on;
}

/* Whether the injected failure happened since allocation count `before`. */
static int injected_since(long before)
{
    return st->fired_at > before;
}

/* A call since `before` returned NULL with error text err. It must say why,
   and fail only because an allocation failed in it (or, hurt, because one
   failed earlier in the life of the watcher it was called on). */
static void null_result(const char *err, long before, int hurt)
{
    if (!err || !*err) fail("returned NULL with an empty error string");
    if (injected_since(before) || hurt) return;
    if (!st->fired_at || strict_lingering) {
        fail("failed although no allocation failed (error: %s)", err ? err : "(null)");
    } else {
        if (st->lingering < 3)
            fprintf(stderr, "  [point %ld] note: %s failed after the injected failure in %s: %s\n",
                    st->point, st->step, st->hit_step, err);
        st->lingering++;
    }
}

/* A result of a call on c: 1 when it is a 200, 0 when it is NULL (checked
   by null_result) or another status (a failure: the request sent was not
   what the call meant). */
static int ok200(etcd *c, const etcd_res *r, long before)
{
    if (!r) { null_result(etcd_errstr(c), before, 0); return 0; }
    if (r->status != 200) { fail("HTTP %d: %s", r->status, r->body ? r->body : "(no body)"); return 0; }
    return 1;
}

static int mem_is(const char *p, size_t n, const char *want, size_t wn)
{
    return p && n == wn && memcmp(p, want, n) == 0;
}

static int str_is(const char *p, size_t n, const char *want)
{
    return mem_is(p, n, want, strlen(want));
}

/* ---- clients ------------------------------------------------------------- */

static const char *const xheaders[] = { "X-Alloc-Test: 1", "X-Trace: etcd.h alloc", NULL };

/* A: two endpoints (round-robin, each its own connection and buffers),
   key_prefix, extra headers, api prefix detected on first use. */
static etcd *client_a(char *err, size_t errsz)
{
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.http_host = hosts;
    o.key_prefix = PREFIX;
    o.extra_headers = xheaders;
    o.timeout = 5;
    return etcd_new(&o, err, errsz);
}

/* B: every other owned string: api_prefix given, a unix socket proxy that
   does not exist (so TCP), the ttl option (a lease grant inside set), the
   RAW serializer. */
static etcd *client_b(char *err, size_t errsz)
{
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.http_host = srv.url;
    o.key_prefix = PREFIX;
    o.api_prefix = "/v3";
    o.unix_socket_proxy = "unix:/nonexistent-etcdh-alloc/etcd.sock";
    o.ttl = 30;
    o.serializer = ETCD_SERIALIZER_RAW;
    return etcd_new(&o, err, errsz);
}

static etcd *new_client(const char *name, etcd *(*mk)(char *, size_t))
{
    char err[256];
    long b = step("etcd_new(%s)", name);
    etcd *c;
    err[0] = '\0';
    c = mk(err, sizeof err);
    if (!c) null_result(err, b, 0);
    return c;
}

/* ---- the KV / txn / lease scenario ---------------------------------------- */

/* JSON text with whitespace between tokens, and what etcd.h stores. */
static const char JSONV[] = "{ \"x\" : [1, 2, {\"y\": \"z w\"}] ,\n \"s\" : \"a\\\" b\" }";
static const char JSONV_MIN[] = "{\"x\":[1,2,{\"y\":\"z w\"}],\"s\":\"a\\\" b\"}";

static void check_big_kv(const etcd_kv *kv, int i)
{
    char key[64], val[16];
    snprintf(key, sizeof key, PREFIX "big/%03d", i);
    snprintf(val, sizeof val, "%d", i);
    if (!str_is(kv->key, kv->key_len, key) || !str_is(kv->value, kv->value_len, val))
        fail("big kv %d is %.*s = %.*s", i, (int)kv->key_len, kv->key ? kv->key : "",
             (int)kv->value_len, kv->value ? kv->value : "");
}

/* etcd_json_parse allocates nothing, with and without tokens. */
static void json_parse_allocates_nothing(void)
{
    static const char text[] = "{\"a\":[1,2.5e3,{\"b\":null}],\"c\":\"\\u00e9\\n\",\"d\":[true,false,[]]}";
    etcd_json_tok toks[32];
    long before = step("etcd_json_parse"), n1, n2, n3;
    n1 = etcd_json_parse(text, strlen(text), NULL, 0);
    n2 = etcd_json_parse(text, strlen(text), toks, 32);
    n3 = etcd_json_parse(text, strlen(text), toks, 3);
    if (n1 != 15 || n2 != 15 || n3 != ETCD_JSON_ENOMEM)
        fail("etcd_json_parse gave %ld, %ld, %ld, not 15, 15, ENOMEM", n1, n2, n3);
    if (st->allocs != before) fail("etcd_json_parse made %ld allocations", st->allocs - before);
}

/* The calls of the scenario on an existing client A; keys under tag/. */
static void kv_calls(etcd *c, const char *tag)
{
    char ka[64], knx[64], kt1[64], kt2[64], kf[64], kl[64], knone[64], dir[64], want_l[80];
    int set_ok, nx_ok = 0, setx_ok = 0, txn_won = 0, lset_ok = 0;
    int64_t lease = 0;
    etcd_res *r;
    long b;
    size_t i;

    snprintf(ka, sizeof ka, "%s/a", tag);
    snprintf(knx, sizeof knx, "%s/nx", tag);
    snprintf(kt1, sizeof kt1, "%s/t1", tag);
    snprintf(kt2, sizeof kt2, "%s/t2", tag);
    snprintf(kf, sizeof kf, "%s/f", tag);
    snprintf(kl, sizeof kl, "%s/l", tag);
    snprintf(knone, sizeof knone, "%s/none", tag);
    snprintf(dir, sizeof dir, "%s/", tag);
    snprintf(want_l, sizeof want_l, PREFIX "%s", kl);

    /* the first prefixed call detects the api prefix (GET /version) */
    b = step("set (JSON, minified)");
    r = etcd_set(c, ka, JSONV, NULL);
    set_ok = ok200(c, r, b);
    etcd_res_free(r);

    b = step("get");
    r = etcd_get(c, ka, NULL);
    if (ok200(c, r, b)) {
        if (r->nkvs > 1 || (set_ok && r->nkvs != 1)) fail("%zu kvs", r->nkvs);
        else if (r->nkvs == 1 && !str_is(r->kvs[0].value, r->kvs[0].value_len, JSONV_MIN))
            fail("value %s", r->kvs[0].value);
    }
    etcd_res_free(r);

    b = step("readdir (%d kvs)", NBIG);
    r = etcd_readdir(c, "big/", NULL);
    if (ok200(c, r, b)) {
        if (r->nkvs != NBIG) fail("%zu kvs", r->nkvs);
        else for (i = 0; i < NBIG; i++) check_big_kv(&r->kvs[i], (int)i);
    }
    etcd_res_free(r);

    {
        etcd_get_opts o;
        memset(&o, 0, sizeof o);
        o.sort_order = 2;
        o.limit = 50;
        b = step("readdir (descending, limit)");
        r = etcd_readdir(c, "big/", &o);
        if (ok200(c, r, b)) {
            if (r->nkvs != 50 || !r->more || r->count != NBIG) fail("%zu kvs, more %d, count %lld",
                r->nkvs, (int)r->more, (long long)r->count);
            else for (i = 0; i < 50; i++) check_big_kv(&r->kvs[i], NBIG - 1 - (int)i);
        }
        etcd_res_free(r);
    }

    b = step("setnx (absent)");
    r = etcd_setnx(c, knx, "\"first\"", NULL);
    if ((nx_ok = ok200(c, r, b)) && !r->succeeded) fail("did not write");
    etcd_res_free(r);

    b = step("setnx (present)");
    r = etcd_setnx(c, knx, "\"second\"", NULL);
    if (ok200(c, r, b) && nx_ok && r->succeeded) fail("wrote over an existing key");
    etcd_res_free(r);

    b = step("setx");
    r = etcd_setx(c, ka, "2", NULL);
    if ((setx_ok = ok200(c, r, b)) && set_ok && !r->succeeded) fail("did not write");
    etcd_res_free(r);

    {
        etcd_compare cmp[2];
        etcd_op ok[5], ko[2];
        memset(cmp, 0, sizeof cmp);
        memset(ok, 0, sizeof ok);
        memset(ko, 0, sizeof ko);
        cmp[0].result = ETCD_CMP_GREATER; cmp[0].target = ETCD_CMP_VERSION; cmp[0].key = ka;
        cmp[1].result = ETCD_CMP_EQUAL; cmp[1].target = ETCD_CMP_VALUE; cmp[1].key = knx;
        cmp[1].value = "\"first\"";
        ok[0].type = ETCD_OP_PUT; ok[0].key = kt1; ok[0].value = "1";
        ok[1].type = ETCD_OP_PUT; ok[1].key = kt2; ok[1].value = "[ 1, 2 ]"; ok[1].prev_kv = true;
        ok[2].type = ETCD_OP_RANGE; ok[2].key = "big/"; ok[2].range_end = "big0"; ok[2].limit = 5;
        ok[3].type = ETCD_OP_RANGE; ok[3].key = ka;
        ok[4].type = ETCD_OP_DELETE; ok[4].key = knx; ok[4].prev_kv = true;
        ko[0].type = ETCD_OP_RANGE; ko[0].key = ka;
        ko[1].type = ETCD_OP_PUT; ko[1].key = kf; ko[1].value = "0";
        b = step("txn (2 compares, 5+2 ops)");
        r = etcd_txn(c, cmp, 2, ok, 5, ko, 2, NULL);
        if (ok200(c, r, b)) {
            const etcd_res *rs = r->responses;
            txn_won = r->succeeded;
            if (set_ok && nx_ok && !r->succeeded) fail("compare failed");
            if (r->nresponses != (r->succeeded ? 5u : 2u)) fail("%zu responses", r->nresponses);
            else if (r->succeeded) {
                if (rs[2].nkvs != 5 || !rs[2].more || rs[2].count != NBIG) fail("range: %zu kvs", rs[2].nkvs);
                else for (i = 0; i < 5; i++) check_big_kv(&rs[2].kvs[i], (int)i);
                if (rs[3].nkvs != 1 || (!str_is(rs[3].kvs[0].value, rs[3].kvs[0].value_len, "2") &&
                                        !str_is(rs[3].kvs[0].value, rs[3].kvs[0].value_len, JSONV_MIN)))
                    fail("range of %s: %zu kvs", ka, rs[3].nkvs);
                else if (setx_ok && !str_is(rs[3].kvs[0].value, rs[3].kvs[0].value_len, "2"))
                    fail("range of %s: %s", ka, rs[3].kvs[0].value);
                if (rs[4].deleted != 1 || rs[4].nprev_kvs != 1 ||
                    !str_is(rs[4].prev_kvs[0].value, rs[4].prev_kvs[0].value_len, "\"first\""))
                    fail("delete: deleted %lld, %zu prev_kvs", (long long)rs[4].deleted, rs[4].nprev_kvs);
            }
        }
        etcd_res_free(r);
    }

    {
        /* Many small responses: NMANY etcd_res in the arena outgrow the
           first block, which is sized from the body (2 * len + 8 per
           token); a second block is allocated while decoding. */
        enum { NMANY = 16 };
        etcd_compare cmp;
        etcd_op ops[NMANY];
        char keys[NMANY][64];
        memset(&cmp, 0, sizeof cmp);
        memset(ops, 0, sizeof ops);
        cmp.result = ETCD_CMP_EQUAL; cmp.target = ETCD_CMP_VERSION; cmp.key = knone;
        for (i = 0; i < NMANY; i++) {
            snprintf(keys[i], sizeof keys[i], "%s/m%02d", tag, (int)i);
            ops[i].type = ETCD_OP_PUT; ops[i].key = keys[i]; ops[i].value = "\"m\"";
        }
        b = step("txn (%d puts: a second arena block)", (int)NMANY);
        r = etcd_txn(c, &cmp, 1, ops, NMANY, NULL, 0, NULL);
        if (ok200(c, r, b)) {
            if (!r->succeeded || r->nresponses != NMANY) fail("succeeded %d, %zu responses", (int)r->succeeded, r->nresponses);
            else for (i = 0; i < NMANY; i++)
                if (r->responses[i].status != 200 || r->responses[i].revision != r->revision)
                    fail("response %zu: status %d revision %lld", i, r->responses[i].status,
                         (long long)r->responses[i].revision);
        }
        etcd_res_free(r);
    }

    {
        etcd_delete_opts o;
        memset(&o, 0, sizeof o);
        o.prev_kv = true;
        b = step("delete (prev_kv)");
        r = etcd_delete(c, kt1, &o);
        if (ok200(c, r, b) && txn_won &&
            (r->deleted != 1 || r->nprev_kvs != 1 || !str_is(r->prev_kvs[0].value, r->prev_kvs[0].value_len, "1")))
            fail("deleted %lld, %zu prev_kvs", (long long)r->deleted, r->nprev_kvs);
        etcd_res_free(r);
    }

    b = step("grant");
    r = etcd_grant(c, 30, 0);
    if (ok200(c, r, b)) {
        lease = r->id;
        if (!lease || r->ttl != 30) fail("ID %lld TTL %lld", (long long)r->id, (long long)r->ttl);
    }
    etcd_res_free(r);

    if (lease) {
        etcd_set_opts so;
        memset(&so, 0, sizeof so);
        so.lease = lease;
        b = step("set (with lease)");
        r = etcd_set(c, kl, "true", &so);
        lset_ok = ok200(c, r, b);
        etcd_res_free(r);

        b = step("timetolive (keys)");
        r = etcd_timetolive(c, lease, true);
        if (ok200(c, r, b)) {
            if (r->id != lease || r->ttl <= 0 || r->granted_ttl != 30 || r->nkeys > 1 || (lset_ok && r->nkeys != 1))
                fail("ID %lld TTL %lld granted %lld, %zu keys", (long long)r->id, (long long)r->ttl,
                     (long long)r->granted_ttl, r->nkeys);
            else if (r->nkeys == 1 && !str_is(r->keys[0].ptr, r->keys[0].len, want_l))
                fail("key %s", r->keys[0].ptr);
        }
        etcd_res_free(r);

        b = step("keepalive");
        r = etcd_keepalive(c, lease);
        if (ok200(c, r, b) && (r->id != lease || r->ttl <= 0))
            fail("ID %lld TTL %lld", (long long)r->id, (long long)r->ttl);
        etcd_res_free(r);

        b = step("leases");
        r = etcd_leases(c);
        if (ok200(c, r, b)) {
            int found = 0;
            for (i = 0; i < r->nleases; i++) found |= r->leases[i] == lease;
            if (!found) fail("lease %lld not among %zu", (long long)lease, r->nleases);
        }
        etcd_res_free(r);

        b = step("revoke");
        r = etcd_revoke(c, lease);
        ok200(c, r, b);
        etcd_res_free(r);
    }

    b = step("version");
    r = etcd_version(c);
    if (ok200(c, r, b) && (!r->etcdserver || !r->etcdcluster)) fail("no etcdserver/etcdcluster");
    etcd_res_free(r);

    b = step("etcd_request (maintenance/status)");
    r = etcd_request(c, "/maintenance/status", "{ }", 0);
    if (ok200(c, r, b) && !r->member_id) fail("no member_id: %s", r->body);
    etcd_res_free(r);

    {
        etcd_delete_opts o;
        memset(&o, 0, sizeof o);
        o.prev_kv = true;
        b = step("rmdir (prev_kv)");
        r = etcd_rmdir(c, dir, &o);
        if (ok200(c, r, b) && (r->deleted < 0 || (size_t)r->deleted != r->nprev_kvs))
            fail("deleted %lld, %zu prev_kvs", (long long)r->deleted, r->nprev_kvs);
        etcd_res_free(r);
    }

    json_parse_allocates_nothing();
    end_step();
}

/* Client B: set with the ttl option (grant + put, RAW), get, rmdir. */
static void b_calls(etcd *c, const char *tag)
{
    static const char raw[] = "raw\0bytes\n";
    char kb[64], dir[64];
    etcd_set_opts so;
    etcd_res *r;
    long b;
    int set_ok;
    snprintf(kb, sizeof kb, "%s/b", tag);
    snprintf(dir, sizeof dir, "%s/", tag);
    memset(&so, 0, sizeof so);
    so.val_len = sizeof raw - 1;

    b = step("B: set (ttl lease, RAW)");
    r = etcd_set(c, kb, raw, &so);
    set_ok = ok200(c, r, b);
    etcd_res_free(r);

    b = step("B: get");
    r = etcd_get(c, kb, NULL);
    if (ok200(c, r, b)) {
        if (r->nkvs > 1 || (set_ok && r->nkvs != 1)) fail("%zu kvs", r->nkvs);
        else if (r->nkvs == 1 && (!mem_is(r->kvs[0].value, r->kvs[0].value_len, raw, sizeof raw - 1) ||
                                  !r->kvs[0].lease))
            fail("value of %zu bytes, lease %lld", r->kvs[0].value_len, (long long)r->kvs[0].lease);
    }
    etcd_res_free(r);

    b = step("B: rmdir");
    r = etcd_rmdir(c, dir, NULL);
    ok200(c, r, b);
    etcd_res_free(r);
    end_step();
}

static void check_no_leak(void)
{
    end_step();
    if (st->live != 0) {
        snprintf(st->step, sizeof st->step, "end of the scenario");
        fail("%ld blocks allocated by etcd.h are still held (leak)", st->live);
    }
}

/* The whole scenario, injection armed from the start. */
static void scenario_kv(const char *tag)
{
    etcd *c;
    reset_alloc(1);
    if ((c = new_client("A: 2 endpoints, key_prefix, extra_headers", client_a))) {
        kv_calls(c, tag);
        step("etcd_free(A)");
        etcd_free(c);
    }
    if ((c = new_client("B: api_prefix, unix proxy, ttl, RAW", client_b))) {
        b_calls(c, tag);
        step("etcd_free(B)");
        etcd_free(c);
    }
    check_no_leak();
}

/* ---- the watch scenario -------------------------------------------------- */

typedef struct wstate {
    const char *name;
    etcd_watcher *w;
    int hurt;              /* an allocation failed in a call on it */
    int live;              /* opened, created message read, not ended */
    long events;           /* events read */
    long want;             /* events that must come */
} wstate;

/* The next message of s; NULL (checked) ends s. */
static etcd_res *w_next(wstate *s, const char *what)
{
    long b = step("%s: etcd_watch_next (%s)", s->name, what);
    etcd_res *r = etcd_watch_next(s->w);
    if (injected_since(b)) s->hurt = 1;
    if (!r) {
        /* a watcher no allocation failed on must not fail: no lingering */
        if (!s->hurt) {
            const char *e = etcd_watch_errstr(s->w);
            fail("failed although no allocation failed on this watcher (error: %s)", e);
        }
        null_result(etcd_watch_errstr(s->w), b, 1);
        s->live = 0;
        return NULL;
    }
    if (r->status != 200 || r->error || r->canceled) {
        fail("message %s", r->body);
        s->live = 0;
        etcd_res_free(r);
        return NULL;
    }
    return r;
}

static void w_open(etcd *c, wstate *s, const char *name, const char *key, bool dir, const etcd_watch_opts *o)
{
    long b = step("%s: %s", name, dir ? "etcd_watchdir" : "etcd_watch");
    etcd_res *r;
    memset(s, 0, sizeof *s);
    s->name = name;
    s->w = dir ? etcd_watchdir(c, key, o) : etcd_watch(c, key, o);
    if (injected_since(b)) s->hurt = 1;
    if (!s->w) { null_result(etcd_errstr(c), b, 0); return; }
    s->live = 1;
    if (!(r = w_next(s, "created"))) return;
    if (!r->created || r->nevents) { fail("first message %s", r->body); s->live = 0; }
    etcd_res_free(r);
}

/* Read until s->want events came. */
static void w_drain(wstate *s, const char *prefix)
{
    int msgs = 0;
    size_t i;
    while (s->live && s->events < s->want && msgs++ < 10) {
        etcd_res *r = w_next(s, "events");
        if (!r) return;
        for (i = 0; i < r->nevents; i++) {
            const etcd_event *e = &r->events[i];
            if (!e->kv.key || strncmp(e->kv.key, prefix, strlen(prefix)) != 0 || !e->kv.value ||
                (e->type == ETCD_EVENT_PUT && !e->kv.value_len) ||
                (e->prev_kv && (!e->prev_kv->key || !e->prev_kv->value_len)))
                fail("event %zu of %s", i, r->body);
        }
        s->events += (long)r->nevents;
        etcd_res_free(r);
    }
    if (s->live && s->events < s->want) fail("%ld of %ld events", s->events, s->want);
}

static void watch_calls(etcd *c, const char *tag)
{
    char k[64], j[64], dir[64], full[80];
    etcd_watch_opts o;
    wstate wd, wk;
    etcd_res *r;
    long b, okk = 0, okj = 0;

    snprintf(k, sizeof k, "%s/k", tag);
    snprintf(j, sizeof j, "%s/j", tag);
    snprintf(dir, sizeof dir, "%s/", tag);
    snprintf(full, sizeof full, PREFIX "%s", dir);

    memset(&o, 0, sizeof o);
    o.timeout = 5;
    o.prev_kv = true;
    w_open(c, &wd, "watchdir", dir, true, &o);
    memset(&o, 0, sizeof o);
    o.timeout = 5;
    w_open(c, &wk, "watch", k, false, &o);

    b = step("watch: set k 1");
    r = etcd_set(c, k, "1", NULL);
    okk += ok200(c, r, b);
    etcd_res_free(r);
    b = step("watch: set k [2]");
    r = etcd_set(c, k, "[ 2, \"two\" ]", NULL);
    okk += ok200(c, r, b);
    etcd_res_free(r);
    b = step("watch: set j");
    r = etcd_set(c, j, "{\"three\": 3}", NULL);
    okj += ok200(c, r, b);
    etcd_res_free(r);
    b = step("watch: delete k");
    r = etcd_delete(c, k, NULL);
    okk += ok200(c, r, b) && r->deleted == 1;
    etcd_res_free(r);

    wd.want = okk + okj;
    wk.want = okk;
    w_drain(&wd, full);
    w_drain(&wk, full);

    step("watchdir: etcd_watchcancel");
    etcd_watchcancel(wd.w);
    step("watch: etcd_watchcancel");
    etcd_watchcancel(wk.w);

    b = step("watch: rmdir");
    r = etcd_rmdir(c, dir, NULL);
    ok200(c, r, b);
    etcd_res_free(r);
    end_step();
}

static etcd *client_w(char *err, size_t errsz)
{
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.http_host = srv.url;
    o.key_prefix = PREFIX;
    return etcd_new(&o, err, errsz);
}

static void scenario_watch(const char *tag)
{
    etcd *c;
    reset_alloc(1);
    if ((c = new_client("W: key_prefix", client_w))) {
        watch_calls(c, tag);
        step("etcd_free(W)");
        etcd_free(c);
    }
    check_no_leak();
}

/* ---- recovery -------------------------------------------------------------
   Client A made unarmed; injection armed for the KV calls and the watch
   calls on it; disarmed; then every endpoint must serve again, and a watch
   must open. */

static void must(etcd *c, etcd_res *r, const char *what)
{
    if (!r) fail("%s failed after the injected failure: %s", what, etcd_errstr(c));
    else if (r->status != 200) fail("%s: HTTP %d", what, r->status);
}

static void scenario_recovery(const char *tag)
{
    char err[256], kr[64], kw[64];
    etcd *c;
    etcd_res *r;
    etcd_watcher *w;
    int i;
    reset_alloc(0);
    step("recovery: etcd_new(A)");
    c = client_a(err, sizeof err);
    if (!c) { fail("etcd_new: %s", err); return; }
    arm(1);
    kv_calls(c, tag);
    watch_calls(c, tag);
    arm(0);

    strict_lingering = 1;
    snprintf(kr, sizeof kr, "%s/r", tag);
    snprintf(kw, sizeof kw, "%s/w", tag);
    for (i = 0; i < 2; i++) {          /* round-robin: each endpoint in turn */
        step("recovery: get big/007 #%d", i + 1);
        r = etcd_get(c, "big/007", NULL);
        must(c, r, "get");
        if (r && r->status == 200 && (r->nkvs != 1 || !str_is(r->kvs[0].value, r->kvs[0].value_len, "7")))
            fail("get: %zu kvs", r->nkvs);
        etcd_res_free(r);
    }
    for (i = 0; i < 2; i++) {
        step("recovery: set + readdir #%d", i + 1);
        r = etcd_set(c, kr, JSONV, NULL);
        must(c, r, "set");
        etcd_res_free(r);
        r = etcd_readdir(c, "big/", NULL);
        must(c, r, "readdir");
        if (r && r->status == 200 && r->nkvs != NBIG) fail("readdir: %zu kvs", r->nkvs);
        etcd_res_free(r);
    }
    step("recovery: watch");
    w = etcd_watch(c, kw, NULL);
    if (!w) fail("etcd_watch failed after the injected failure: %s", etcd_errstr(c));
    else {
        r = etcd_watch_next(w);
        if (!r || !r->created) fail("watch: %s", r ? r->body : etcd_watch_errstr(w));
        etcd_res_free(r);
        etcd_watchcancel(w);
    }
    step("recovery: rmdir");
    snprintf(kr, sizeof kr, "%s/", tag);
    r = etcd_rmdir(c, kr, NULL);
    must(c, r, "rmdir");
    etcd_res_free(r);
    step("recovery: etcd_free");
    etcd_free(c);
    strict_lingering = 0;
    check_no_leak();
}

/* ---- running failure points ------------------------------------------------ */

typedef void (*scenario_fn)(const char *tag);

static int nofork;
static long only;

#define MAX_DETAILS 6        /* failure points reported in full */

typedef struct sweep {
    long points;           /* runs with the failure injected */
    long beyond;           /* runs past the last allocation */
    long failed;           /* runs that crashed, leaked or failed a check */
    long lingering;        /* calls that failed after the injected failure */
} sweep;

/* Run fn with allocation k of step s failing (failure point n), in a
   child unless nofork. 0 when it passed. */
static int run_point(scenario_fn fn, const plan *pl, int s, long k, long n, const char *tag, sweep *sw)
{
    char out[12288];
    size_t got = 0;
    int p[2], status, bad;
    pid_t pid;
    ssize_t rd;

    st->point = n;
    st->target_step = s;
    st->target_k = k;
    if (nofork) {
        int was = t__cur_failed;
        t__cur_failed = 0;
        fn(tag);
        bad = t__cur_failed;
        t__cur_failed = was || bad;
        if (st->fired_at) sw->points++; else sw->beyond++;
        sw->lingering += st->lingering;
        sw->failed += bad;
        return bad;
    }
    fflush(stdout);
    fflush(stderr);
    if (pipe(p) != 0) { perror("pipe"); t__cur_failed = 1; return 1; }
    pid = fork();
    if (pid < 0) { perror("fork"); close(p[0]); close(p[1]); t__cur_failed = 1; return 1; }
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 2);
        close(p[1]);
        alarm(60);                          /* a hang is reported as SIGALRM */
        verbose = 0;
        t__cur_failed = 0;
        fn(tag);
        fflush(stderr);
        _exit(t__cur_failed ? 3 : 0);      /* _exit: the harness's atexit is the parent's */
    }
    close(p[1]);
    for (;;) {
        char drop[4096];
        rd = read(p[0], got < sizeof out - 1 ? out + got : drop,
                 got < sizeof out - 1 ? sizeof out - 1 - got : sizeof drop);
        if (rd < 0 && errno == EINTR) continue;
        if (rd <= 0) break;
        if (got < sizeof out - 1) got += (size_t)rd;
    }
    out[got] = '\0';
    close(p[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}

    if (st->fired_at) sw->points++; else sw->beyond++;
    sw->lingering += st->lingering;
    if (verbose)
        fprintf(stderr, "  point %ld (step %d, allocation %ld): %s%s, exit status %d\n", n, s, k,
                st->fired_at ? "hit " : "never fired", st->fired_at ? st->hit_step : "", status);
    bad = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (!bad) return 0;
    t__cur_failed = 1;
    if (sw->failed++ < MAX_DETAILS) {
        char how[64];
        if (WIFSIGNALED(status)) snprintf(how, sizeof how, "killed by signal %d", WTERMSIG(status));
        else if (WEXITSTATUS(status) == 3) snprintf(how, sizeof how, "checks failed");
        else snprintf(how, sizeof how, "crashed (exit %d: sanitizer?)", WEXITSTATUS(status));
        fprintf(stderr, "  FAILURE POINT %ld (allocation %ld of step %d, \"%s\"): %s; %s; last step \"%s\"\n",
                n, k, s, s <= pl->nsteps ? pl->name[s] : "past the end", how,
                st->fired_at ? "the injected failure happened" : "the injected failure never happened",
                st->step);
        fprintf(stderr, "  ---- its output%s:\n%s%s  ----\n", got >= sizeof out - 1 ? " (truncated)" : "",
                out, got && out[got - 1] != '\n' ? "\n" : "");
    }
    return 1;
}

/* Every failure point of fn's plan, then a few past its end. */
static void sweep_all(scenario_fn fn, const plan *pl, const char *name, char letter)
{
    sweep sw;
    long n = 0, k;
    int s;
    char tag[32];
    memset(&sw, 0, sizeof sw);
    for (s = 1; s <= pl->nsteps + 3; s++) {
        long count = s <= pl->nsteps ? pl->count[s] : 1;
        if (s <= pl->nsteps && !pl->armed[s]) continue;
        for (k = 1; k <= count; k++) {
            n++;
            if (only && n != only) continue;
            snprintf(tag, sizeof tag, "%c%04ld", letter, n);
            run_point(fn, pl, s, k, n, tag, &sw);
        }
    }
    printf("  %ld failure points in the %s scenario (%ld planned; + %ld runs where none fired), %ld failed\n",
           sw.points, name, pl->total, sw.beyond, sw.failed);
    if (sw.lingering)
        printf("  %ld calls failed after (not because of) the injected failure\n", sw.lingering);
    if (sw.failed > MAX_DETAILS)
        fprintf(stderr, "  (%ld more failing points not shown)\n", sw.failed - MAX_DETAILS);
    CHECK(sw.points > 0);
    CHECK_INT(sw.failed, 0);
}

/* ---- tests --------------------------------------------------------------- */

static plan plan_kv, plan_watch, plan_rec;

static void test_start(void)
{
    etcd_opts o;
    etcd *c;
    int i, k;
    REQUIRE(test_etcd_start(&srv, NULL) == 0);
    snprintf(hosts, sizeof hosts, "%s, %s/", srv.url, srv.url);
    /* NBIG keys under big/, in txns of 100 puts (etcd's limit is 128) */
    reset_alloc(0);
    memset(&o, 0, sizeof o);
    o.key_prefix = PREFIX;
    REQUIRE((c = test_client(&srv, &o)) != NULL);
    for (i = 0; i < NBIG; i += 100) {
        etcd_compare cmp;
        etcd_op ops[100];
        char keys[100][32], vals[100][16];
        etcd_res *r;
        memset(&cmp, 0, sizeof cmp);
        memset(ops, 0, sizeof ops);
        cmp.key = "big/none"; cmp.target = ETCD_CMP_VERSION; cmp.result = ETCD_CMP_EQUAL;
        for (k = 0; k < 100 && i + k < NBIG; k++) {
            snprintf(keys[k], sizeof keys[k], "big/%03d", i + k);
            snprintf(vals[k], sizeof vals[k], "%d", i + k);
            ops[k].type = ETCD_OP_PUT; ops[k].key = keys[k]; ops[k].value = vals[k];
        }
        r = etcd_txn(c, &cmp, 1, ops, (size_t)k, NULL, 0, NULL);
        CHECK(r && r->status == 200 && r->succeeded);
        if (!r) fprintf(stderr, "  txn: %s\n", etcd_errstr(c));
        etcd_res_free(r);
    }
    etcd_free(c);
    CHECK_INT(st->live, 0);
}

/* Three runs of fn with no failure: every call succeeds; pl gets each
   step's largest allocation count. */
static void record(scenario_fn fn, plan *pl, char letter, const char *name)
{
    char tag[32];
    int i, s, v = verbose;
    memset(pl, 0, sizeof *pl);
    st->target_step = 0;
    recording = pl;
    for (i = 1; i <= 3; i++) {
        if (v && i == 1) fprintf(stderr, "  %s scenario:\n", name);
        verbose = i == 1 ? v : 0;
        snprintf(tag, sizeof tag, "%c%04d", letter, 9000 + i);   /* as long as a sweep's */
        fn(tag);
        CHECK(!st->fired_at);
    }
    verbose = v;
    recording = NULL;
    for (s = 1; s <= pl->nsteps; s++) if (pl->armed[s]) pl->total += pl->count[s];
    CHECK(pl->nsteps < MAX_STEPS && pl->total > 0);
}

static void test_baseline(void)
{
    REQUIRE(srv.pid > 0);
    record(scenario_kv, &plan_kv, 'k', "kv");
    record(scenario_watch, &plan_watch, 'w', "watch");
    record(scenario_recovery, &plan_rec, 'r', "recovery");
    printf("  allocations: kv scenario %ld in %d steps, watch scenario %ld in %d steps, "
           "recovery's armed calls %ld\n", plan_kv.total, plan_kv.nsteps, plan_watch.total,
           plan_watch.nsteps, plan_rec.total);
}

static void test_json_parse_allocates_nothing(void)
{
    reset_alloc(0);
    json_parse_allocates_nothing();
    reset_alloc(1);                        /* again, any allocation failing */
    st->target_step = 1;
    st->target_k = 1;
    json_parse_allocates_nothing();
    end_step();
    CHECK(!st->fired_at);
    st->target_step = 0;
}

static void test_every_failure_kv(void)
{
    REQUIRE(plan_kv.total > 0);
    sweep_all(scenario_kv, &plan_kv, "kv/txn/lease", 'k');
}

static void test_every_failure_watch(void)
{
    REQUIRE(plan_watch.total > 0);
    sweep_all(scenario_watch, &plan_watch, "watch", 'w');
}

static void test_recovery(void)
{
    REQUIRE(plan_rec.total > 0);
    sweep_all(scenario_recovery, &plan_rec, "recovery", 'r');
}

int main(void)
{
    static alloc_state fallback;
    const char *e;
    void *m = mmap(NULL, sizeof *st, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    st = m == MAP_FAILED ? &fallback : (alloc_state *)m;
    if (m == MAP_FAILED) nofork = 1;
    if ((e = getenv("ALLOC_ONLY")) && *e) only = atol(e);
    if ((e = getenv("ALLOC_NOFORK")) && *e && *e != '0') nofork = 1;
    if ((e = getenv("ALLOC_VERBOSE")) && *e) verbose = atoi(e);

    RUN(test_start);
    RUN(test_json_parse_allocates_nothing);
    RUN(test_baseline);
    RUN(test_every_failure_kv);
    RUN(test_every_failure_watch);
    RUN(test_recovery);
    test_etcd_stop(&srv);
    return test_summary();
}
