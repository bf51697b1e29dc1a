/* test_recipes.c - the paged readdir (etcd_readdir_pages, etcd_pager_next,
   etcd_pager_free) and the lease keeper (etcd_lease_keep, _id, _due, _tick,
   _stop) of API.md "Additions, round 2", against a real etcd: a single
   node first, then a 3-member cluster where a member is killed.

   Where the claim is "nothing is sent" a scripted fake server
   (fakeserver.h) counts the requests; every etcd process is started and
   stopped by PID through harness.h; everything is on 127.0.0.1. The
   100,000-key test measures peak RSS (getrusage ru_maxrss) in forked
   children that only read; under ASan the children purge the allocator's
   quarantine after every free, so freed pages are given back as they
   would be without it. */
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
#include "harness.h"
#include "fakeserver.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define T_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define T_ASAN 1
#endif
#endif
#ifdef T_ASAN
void __sanitizer_purge_allocator(void);      /* libasan's, sanitizer/allocator_interface.h */
#define T_PURGE() __sanitizer_purge_allocator()
#else
#define T_PURGE() ((void)0)
#endif
#if defined(__GLIBC__) && !defined(T_ASAN)
#include <malloc.h>
#define T_TRIM() malloc_trim(0)
#else
#define T_TRIM() ((void)0)
#endif

static test_etcd srv;
static etcd *cli;            /* the single node, JSON serializer, defaults */

/* ------------------------------------------------------------------------
   Helpers
   ------------------------------------------------------------------------ */

static void sleep_s(double s)
{
    struct timespec ts;
    if (s <= 0) return;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* What a poll() loop does: wait until the keeper has work (at most max s). */
static void wait_due(const etcd_lease *l, double max)
{
    double d = etcd_lease_due(l);
    if (d > max) d = max;
    if (d > 0) poll(NULL, 0, (int)(d * 1000.0) + 1);
}

/* Put keys fmt(i) = value for i in [from, to), 128 puts per txn. 0 ok. */
static int load(etcd *c, const char *fmt, int from, int to, const char *value)
{
    enum { BATCH = 128 };
    char keys[BATCH][128];
    etcd_op ops[BATCH];
    etcd_compare cmp;                       /* etcd.h wants one: "never written" holds */
    int i = from;
    memset(&cmp, 0, sizeof cmp);
    cmp.result = ETCD_CMP_EQUAL;
    cmp.target = ETCD_CMP_VERSION;
    cmp.key = "/test-recipes-never-written";
    while (i < to) {
        int n = 0;
        etcd_res *r;
        memset(ops, 0, sizeof ops);
        for (; i < to && n < BATCH; i++, n++) {
            snprintf(keys[n], sizeof keys[n], fmt, i);
            ops[n].type = ETCD_OP_PUT;
            ops[n].key = keys[n];
            ops[n].value = value;
        }
        r = etcd_txn(c, &cmp, 1, ops, (size_t)n, NULL, 0, NULL);
        if (!r || r->status != 200 || !r->succeeded) {
            fprintf(stderr, "  load txn failed: %s\n", r ? r->body : etcd_errstr(c));
            etcd_res_free(r);
            return -1;
        }
        etcd_res_free(r);
    }
    return 0;
}

/* Byte order of two keys, as etcd sorts them. */
static int keycmp(const char *a, size_t al, const char *b, size_t bl)
{
    int d = memcmp(a, b, al < bl ? al : bl);
    return d ? d : al < bl ? -1 : al > bl ? 1 : 0;
}

/* A copy of every kv the pages gave, in order. */
typedef struct {
    struct { char *key, *val; size_t klen, vlen; int64_t mod, create; } *v;
    size_t n, cap;
} kvlist;

static void kv_add(kvlist *l, const etcd_kv *kv)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v) abort();
    }
    l->v[l->n].key = malloc(kv->key_len + 1);
    l->v[l->n].val = malloc(kv->value_len + 1);
    if (!l->v[l->n].key || !l->v[l->n].val) abort();
    memcpy(l->v[l->n].key, kv->key, kv->key_len + 1);
    memcpy(l->v[l->n].val, kv->value, kv->value_len + 1);
    l->v[l->n].klen = kv->key_len;
    l->v[l->n].vlen = kv->value_len;
    l->v[l->n].mod = kv->mod_revision;
    l->v[l->n].create = kv->create_revision;
    l->n++;
}

static void kv_free(kvlist *l)
{
    size_t i;
    for (i = 0; i < l->n; i++) { free(l->v[i].key); free(l->v[i].val); }
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Whether the list holds this key. */
static bool kv_has(const kvlist *l, const char *key)
{
    size_t i, n = strlen(key);
    for (i = 0; i < l->n; i++)
        if (l->v[i].klen == n && !memcmp(l->v[i].key, key, n)) return true;
    return false;
}

/* A page as the contract wants it: 200, 0 < nkvs <= limit, keys strictly
   after *last (and each other); its kvs appended to out. Returns the
   number of contract violations. */
static int take_page(const etcd_res *r, int64_t limit, kvlist *out)
{
    int bad = 0;
    size_t i;
    if (r->status != 200) { fprintf(stderr, "  page status %d: %s\n", r->status, r->body); return 1; }
    if (r->nkvs == 0 || (int64_t)r->nkvs > limit) {
        fprintf(stderr, "  page of %zu keys (limit %lld)\n", r->nkvs, (long long)limit);
        bad++;
    }
    for (i = 0; i < r->nkvs; i++) {
        const etcd_kv *kv = &r->kvs[i];
        if (out->n && keycmp(out->v[out->n - 1].key, out->v[out->n - 1].klen, kv->key, kv->key_len) >= 0) {
            if (bad++ < 3) fprintf(stderr, "  key \"%s\" does not come after \"%s\"\n", kv->key,
                                   out->v[out->n - 1].key);
        }
        kv_add(out, kv);
    }
    return bad;
}

/* etcd_pager_next, but at most max pages in all, counted in *count: a
   pager that never ends must fail the test, not hang the suite. */
static etcd_res *next_page(etcd_pager *p, int *count, int max)
{
    etcd_res *r;
    if (*count >= max) {
        fprintf(stderr, "  the pager gives more than %d pages\n", max);
        CHECK(*count < max);
        return NULL;
    }
    if ((r = etcd_pager_next(p)) != NULL) (*count)++;
    return r;
}

/* Iterate p to its end: pages checked by take_page, *npages counted (at
   most 1000); the end must be NULL with ETCD_OK. Returns the violations. */
static int drain(etcd *c, etcd_pager *p, int64_t limit, kvlist *out, int *npages)
{
    etcd_res *r;
    int bad = 0, n = 0;
    while ((r = next_page(p, &n, 1000)) != NULL) {
        bad += take_page(r, limit, out);
        if (etcd_errcode(c) != ETCD_OK) { fprintf(stderr, "  page with errcode set\n"); bad++; }
        etcd_res_free(r);
    }
    if (npages) *npages = n;
    if (etcd_errcode(c) != ETCD_OK) {
        fprintf(stderr, "  pager ended with %s: %s\n", etcd_err_name(etcd_errcode(c)), etcd_errstr(c));
        bad++;
    }
    return bad;
}

/* The pages equal a readdir of dir (dir_len bytes) at revision rev (0:
   newest) on c: same keys, values and mod revisions, in the same order. */
static void check_same_as_readdir(etcd *c, const char *dir, size_t dir_len, int64_t rev, const kvlist *got)
{
    etcd_get_opts o;
    etcd_res *r;
    size_t i, diff = 0;
    memset(&o, 0, sizeof o);
    o.revision = rev;
    o.key_len = dir_len;
    r = test_ok200(c, etcd_readdir(c, dir, &o));
    REQUIRE(r);
    CHECK_INT(got->n, r->nkvs);
    for (i = 0; i < r->nkvs && i < got->n; i++) {
        const etcd_kv *kv = &r->kvs[i];
        if (kv->key_len != got->v[i].klen || memcmp(kv->key, got->v[i].key, kv->key_len) ||
            kv->value_len != got->v[i].vlen || memcmp(kv->value, got->v[i].val, kv->value_len) ||
            kv->mod_revision != got->v[i].mod) {
            if (diff++ < 3) fprintf(stderr, "  #%zu: pages have \"%s\"=%s@%lld, readdir \"%s\"=%s@%lld\n", i,
                                    got->v[i].key, got->v[i].val, (long long)got->v[i].mod, kv->key,
                                    kv->value, (long long)kv->mod_revision);
        }
    }
    CHECK_INT(diff, 0);
    etcd_res_free(r);
}

/* ------------------------------------------------------------------------
   A fake etcd for the keeper: grant and keepalive answered like etcd
   (keepalives 503 while `fail` is set), every request counted.
   ------------------------------------------------------------------------ */

#define ERR_503 "{\"error\":\"etcdserver: request timed out\",\"code\":14," \
                "\"message\":\"etcdserver: request timed out\"}"

typedef struct {
    pthread_mutex_t mu;
    int ttl;                 /* what grant and keepalive answer */
    int fail;                /* keepalives get 503 */
    int nka, nka_failed;     /* keepalives seen, of which answered 503 */
    double ka_at[128];       /* when each keepalive came */
    char ka_body[8];         /* the first keepalive's body ("ID" must be 7) */
} fake;

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

static void h_lease(fs_conn *c)
{
    fake *f = (fake *)c->srv->arg;
    char body[512];
    int i;
    while ((i = fs_read_req(c)) >= 0) {
        const fs_req *r = fs_get(c->srv, i);
        if (ends_with(r->target, "/lease/grant")) {
            snprintf(body, sizeof body, "{" FS_HDR("42") ",\"ID\":\"7\",\"TTL\":\"%d\"}", f->ttl);
            fs_respond(c, 200, "", body);
        } else if (ends_with(r->target, "/lease/keepalive")) {
            int fail;
            pthread_mutex_lock(&f->mu);
            fail = f->fail;
            if (f->nka < 128) f->ka_at[f->nka] = fs_now();
            if (!f->nka) snprintf(f->ka_body, sizeof f->ka_body, "%s", strstr(r->body, "\"ID\"") ? "id" : "");
            f->nka++;
            if (fail) f->nka_failed++;
            pthread_mutex_unlock(&f->mu);
            if (fail) fs_respond(c, 503, "", ERR_503);
            else {
                snprintf(body, sizeof body, "{\"result\":{" FS_HDR("42") ",\"ID\":\"7\",\"TTL\":\"%d\"}}", f->ttl);
                fs_respond(c, 200, "", body);
            }
        } else if (ends_with(r->target, "/kv/range")) {
            fs_respond(c, 200, "", FS_RANGE_BODY);
        } else {
            fs_respond(c, 404, "", "{\"error\":\"Not Found\",\"code\":5,\"message\":\"Not Found\"}");
        }
    }
}

static int fake_get(fake *f, const int *p)
{
    int v;
    pthread_mutex_lock(&f->mu);
    v = *p;
    pthread_mutex_unlock(&f->mu);
    return v;
}

static void fake_set_fail(fake *f, int fail)
{
    pthread_mutex_lock(&f->mu);
    f->fail = fail;
    pthread_mutex_unlock(&f->mu);
}

/* A fake server with its script; NULL (reported) if it cannot start. */
static fs_server *fake_start(fake *f, int ttl)
{
    fs_server *s;
    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    f->ttl = ttl;
    s = fs_start(FS_TCP4, NULL, h_lease, f);
    if (!s) fprintf(stderr, "  cannot start the fake server\n");
    return s;
}

/* Undo fake_start, and free its client c. */
static void fake_stop(fake *f, fs_server *s, etcd *c)
{
    etcd_free(c);
    fs_stop(s);
    pthread_mutex_destroy(&f->mu);
}

/* A client of the fake server(s) in hosts: no version probe. */
static etcd *fake_client(const char *hosts, int max_fails, double timeout)
{
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.http_host = hosts;
    o.api_prefix = "/v3";
    o.max_fails = max_fails;
    o.timeout = timeout;
    return t_client(&o);
}

/* A listener on 127.0.0.1:port (to see whether anything connects). */
static int listen_on(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0) {
        fprintf(stderr, "  cannot listen on %d: %s\n", port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Whether a connection waits on listener fd. */
static bool connected_to(int fd)
{
    struct pollfd p;
    p.fd = fd;
    p.events = POLLIN;
    p.revents = 0;
    return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

/* timetolive(id) on c: the TTL left; -1 when etcd does not know the lease;
   -2 when the call failed. */
static int64_t ttl_left(etcd *c, int64_t id)
{
    etcd_res *r = etcd_timetolive(c, id, false);
    int64_t t = r && r->status == 200 ? r->ttl : -2;
    if (t == -2) fprintf(stderr, "  timetolive failed: %s\n", r ? r->body : etcd_errstr(c));
    etcd_res_free(r);
    return t;
}

/* 1 the key exists, 0 not, -1 the read failed. */
static int key_exists(etcd *c, const char *key)
{
    etcd_res *r = etcd_get(c, key, NULL);
    int e = r && r->status == 200 ? r->nkvs > 0 : -1;
    etcd_res_free(r);
    return e;
}

/* After the loss: n more ticks each return -1 at once (< 20 ms), with
   etcd_lease_due 0. Returns the violations. */
static int lost_stays_lost(etcd_lease *l, int n, double spacing)
{
    int bad = 0, i;
    for (i = 0; i < n; i++) {
        double t0 = test_now();
        int rc = etcd_lease_tick(l);
        double el = test_now() - t0;
        if (rc != -1 || el > 0.02 || etcd_lease_due(l) != 0) {
            if (bad++ < 3) fprintf(stderr, "  tick after the loss: %d in %.3f s, due %.3f\n", rc, el,
                                   etcd_lease_due(l));
        }
        sleep_s(spacing);
    }
    return bad;
}

/* ------------------------------------------------------------------------
   Paged readdir
   ------------------------------------------------------------------------ */

static void test_start(void)
{
    REQUIRE(test_etcd_start(&srv, NULL) == 0);
    cli = test_client(&srv, NULL);
    REQUIRE(cli != NULL);
}

/* Every page comes from one revision: writes between pages (ahead of the
   cursor and behind it) are not seen; the pages are exactly a readdir at
   the first page's revision. */
static void test_pages_one_revision(void)
{
    etcd_get_opts o;
    etcd_pager *p;
    etcd_res *r;
    kvlist got;
    int64_t rev0, later = 0;
    int pages = 0, bad = 0;
    memset(&got, 0, sizeof got);
    REQUIRE(load(cli, "/pg/snap/%06d", 0, 2500, "0") == 0);
    memset(&o, 0, sizeof o);
    o.limit = 1000;
    p = etcd_readdir_pages(cli, "/pg/snap/", &o);
    REQUIRE(p);
    r = etcd_pager_next(p);
    if (!r) { fprintf(stderr, "  first page: %s\n", etcd_errstr(cli)); etcd_pager_free(p); REQUIRE(r); }
    rev0 = r->revision;
    bad += take_page(r, 1000, &got);
    etcd_res_free(r);
    CHECK_INT(got.n, 1000);
    for (;;) {
        char k[64];
        /* between pages: new keys ahead of and behind the cursor, a delete
           and an update ahead, and a key after the whole range */
        snprintf(k, sizeof k, "/pg/snap/%06dx", (int)got.n + 10);
        test_put(cli, k, "1");
        snprintf(k, sizeof k, "/pg/snap/%06dx", (int)got.n - 10);
        test_put(cli, k, "1");
        if (got.n + 30 < 2500) {
            snprintf(k, sizeof k, "/pg/snap/%06d", (int)got.n + 20);
            test_del(cli, k);
            snprintf(k, sizeof k, "/pg/snap/%06d", (int)got.n + 30);
            later = test_put(cli, k, "2");
        }
        test_put(cli, "/pg/snap/zzz", "1");
        if (!(r = next_page(p, &pages, 10))) break;
        bad += take_page(r, 1000, &got);
        etcd_res_free(r);
    }
    CHECK_INT(etcd_errcode(cli), ETCD_OK);
    CHECK_INT(pages, 2);
    CHECK_INT(bad, 0);
    CHECK(later > rev0);
    CHECK(test_rev(cli) >= rev0 + 13);       /* the writes happened: 5 + 5 + 3 revisions */
    CHECK_INT(got.n, 2500);
    CHECK(!kv_has(&got, "/pg/snap/zzz") && !kv_has(&got, "/pg/snap/001010x"));
    CHECK(kv_has(&got, "/pg/snap/001020") && kv_has(&got, "/pg/snap/002020"));
    check_same_as_readdir(cli, "/pg/snap/", 0, rev0, &got);
    etcd_pager_free(p);
    kv_free(&got);
}

/* Pages in key order, 0 < nkvs <= limit, nothing repeated or missing; the
   last page is followed by NULL with ETCD_OK, and more calls stay so. Also
   the default limit (0: 1000) and a count that is a multiple of the limit. */
static void test_pages_order_and_end(void)
{
    static const struct { int64_t limit; int n; int pages; int last; } cases[] = {
        { 500, 2345, 5, 345 }, { 0, 2345, 3, 345 }, { 250, 1000, 4, 250 }, { 1, 3, 3, 1 },
        { 5000, 2345, 1, 2345 },
    };
    size_t ci;
    REQUIRE(load(cli, "/pg/ord/%05d", 0, 2345, "\"v\"") == 0);
    REQUIRE(load(cli, "/pg/ord4/%05d", 0, 1000, "1") == 0);
    REQUIRE(load(cli, "/pg/ord3/%d", 0, 3, "1") == 0);
    test_put(cli, "/pg/ord", "1");                   /* next to the dir, not in it */
    test_put(cli, "/pg/ord0", "1");
    for (ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        const char *dir = cases[ci].n == 1000 ? "/pg/ord4/" : cases[ci].n == 3 ? "/pg/ord3/" : "/pg/ord/";
        etcd_get_opts o;
        etcd_pager *p;
        etcd_res *r;
        kvlist got;
        int pages = 0, bad = 0, i, lastn = 0;
        int64_t lim = cases[ci].limit ? cases[ci].limit : 1000;
        memset(&got, 0, sizeof got);
        memset(&o, 0, sizeof o);
        o.limit = cases[ci].limit;
        p = etcd_readdir_pages(cli, dir, &o);
        REQUIRE(p);
        CHECK_INT(etcd_errcode(cli), ETCD_OK);
        while ((r = next_page(p, &pages, cases[ci].pages + 5)) != NULL) {
            bad += take_page(r, lim, &got);
            CHECK_INT(etcd_errcode(cli), ETCD_OK);
            lastn = (int)r->nkvs;
            etcd_res_free(r);
        }
        CHECK_INT(etcd_errcode(cli), ETCD_OK);
        CHECK_STR(etcd_errstr(cli), "");
        for (i = 0; i < 3; i++) {                /* the end stays the end */
            CHECK(etcd_pager_next(p) == NULL);
            CHECK_INT(etcd_errcode(cli), ETCD_OK);
        }
        CHECK_INT(bad, 0);
        CHECK_INT(pages, cases[ci].pages);
        CHECK_INT(lastn, cases[ci].last);
        CHECK_INT(got.n, cases[ci].n);
        for (i = 0; i < cases[ci].n && (size_t)i < got.n; i++) {   /* every key once, in order */
            char k[64];
            snprintf(k, sizeof k, cases[ci].n == 3 ? "%s%d" : "%s%05d", dir, i);
            if (strcmp(got.v[i].key, k)) {
                fprintf(stderr, "  limit %lld: #%d is %s, not %s\n", (long long)cases[ci].limit, i,
                        got.v[i].key, k);
                CHECK(0);
                break;
            }
        }
        etcd_pager_free(p);
        kv_free(&got);
    }
}

/* opts->revision is used for every page, the first one included. */
static void test_pages_explicit_revision(void)
{
    etcd_get_opts o;
    etcd_pager *p;
    etcd_res *r;
    kvlist got;
    int64_t revA;
    int i, bad = 0, pages = 0;
    memset(&got, 0, sizeof got);
    REQUIRE(load(cli, "/pg/rev/%04d", 0, 300, "0") == 0);
    revA = test_rev(cli);
    REQUIRE(revA > 0);
    /* the newest state differs everywhere: deletes, updates, additions */
    REQUIRE(load(cli, "/pg/rev/%04d", 100, 200, "1") == 0);
    REQUIRE(load(cli, "/pg/rev/%04d", 300, 400, "1") == 0);
    for (i = 0; i < 50; i++) {
        char k[32];
        snprintf(k, sizeof k, "/pg/rev/%04d", i);
        test_del(cli, k);
    }
    memset(&o, 0, sizeof o);
    o.limit = 100;
    o.revision = revA;
    p = etcd_readdir_pages(cli, "/pg/rev/", &o);
    REQUIRE(p);
    while ((r = next_page(p, &pages, 10)) != NULL) {
        bad += take_page(r, 100, &got);
        etcd_res_free(r);
        test_put(cli, "/pg/rev/0250", "9");           /* and writes between pages */
        test_put(cli, "/pg/rev/0250a", "9");
    }
    CHECK_INT(etcd_errcode(cli), ETCD_OK);
    CHECK_INT(bad, 0);
    CHECK_INT(pages, 3);
    CHECK_INT(got.n, 300);
    for (i = 0; (size_t)i < got.n; i++) {
        char k[32];
        snprintf(k, sizeof k, "/pg/rev/%04d", i);
        if (strcmp(got.v[i].key, k) || strcmp(got.v[i].val, "0") || got.v[i].mod > revA) {
            fprintf(stderr, "  #%d: %s=%s@%lld\n", i, got.v[i].key, got.v[i].val, (long long)got.v[i].mod);
            CHECK(0);
            break;
        }
    }
    check_same_as_readdir(cli, "/pg/rev/", 0, revA, &got);
    etcd_pager_free(p);
    kv_free(&got);
}

/* The revision compacted between two pages: the next call is NULL with
   ETCD_ECOMPACTED. */
static void test_pages_compacted(void)
{
    etcd_get_opts o;
    etcd_pager *p;
    etcd_res *r;
    char body[64];
    int64_t rev0, now_rev;
    int i;
    REQUIRE(load(cli, "/pg/cmp/%04d", 0, 300, "0") == 0);
    memset(&o, 0, sizeof o);
    o.limit = 100;
    p = etcd_readdir_pages(cli, "/pg/cmp/", &o);
    REQUIRE(p);
    r = etcd_pager_next(p);
    CHECK(r && r->nkvs == 100);
    rev0 = r ? r->revision : 0;
    etcd_res_free(r);
    for (i = 0; i < 5; i++) now_rev = test_put(cli, "/pg/cmp-other", "1");
    if (!(now_rev > rev0)) { etcd_pager_free(p); REQUIRE(now_rev > rev0); }
    snprintf(body, sizeof body, "{\"revision\":\"%lld\"}", (long long)now_rev);
    r = test_ok200(cli, etcd_request(cli, "/kv/compaction", body, 0));
    CHECK(r != NULL);
    etcd_res_free(r);
    r = etcd_pager_next(p);
    CHECK(r == NULL);
    CHECK_INT(etcd_errcode(cli), ETCD_ECOMPACTED);
    CHECK_HAS(etcd_errstr(cli), "compacted");
    etcd_res_free(r);
    CHECK(etcd_pager_next(p) == NULL);          /* no page after the failure either */
    etcd_pager_free(p);

    /* an explicit revision already compacted fails on the first page */
    memset(&o, 0, sizeof o);
    o.revision = rev0;
    p = etcd_readdir_pages(cli, "/pg/cmp/", &o);
    REQUIRE(p);
    r = etcd_pager_next(p);
    CHECK(r == NULL);
    CHECK_INT(etcd_errcode(cli), ETCD_ECOMPACTED);
    etcd_res_free(r);
    etcd_pager_free(p);
}

/* An empty prefix gives no page, with ETCD_OK. */
static void test_pages_empty(void)
{
    etcd_pager *p;
    int i;
    test_put(cli, "/pg/none", "1");                  /* next to it, not in it */
    test_put(cli, "/pg/none0", "1");
    p = etcd_readdir_pages(cli, "/pg/none/", NULL);
    REQUIRE(p);
    for (i = 0; i < 3; i++) {
        CHECK(etcd_pager_next(p) == NULL);
        CHECK_INT(etcd_errcode(cli), ETCD_OK);
        CHECK_STR(etcd_errstr(cli), "");
    }
    etcd_pager_free(p);
}

/* Sort options and count_only are refused at etcd_readdir_pages, with
   ETCD_EARG, and nothing is sent (a fake server counts). */
static void test_pages_sort_refused(void)
{
    fake f;
    fs_server *s = fake_start(&f, 3);
    etcd *c;
    etcd_pager *p;
    etcd_res *r;
    int i, pages = 0;
    REQUIRE(s);
    c = fake_client(s->url, 0, 2.0);
    if (!c) { fs_stop(s); REQUIRE(c); }
    for (i = 0; i < 6; i++) {
        etcd_get_opts o;
        memset(&o, 0, sizeof o);
        switch (i) {
        case 0: o.sort_order = ETCD_SORT_ASCEND; break;
        case 1: o.sort_order = ETCD_SORT_DESCEND; break;
        case 2: o.sort_target = ETCD_SORT_MOD; break;
        case 3: o.sort_order = ETCD_SORT_ASCEND; o.sort_target = ETCD_SORT_KEY; o.limit = 10; break;
        case 4: o.count_only = true; break;
        case 5: o.sort_target = ETCD_SORT_VALUE; o.revision = 5; break;
        }
        p = etcd_readdir_pages(c, "/dir/", &o);
        CHECK(p == NULL);
        CHECK_INT(etcd_errcode(c), ETCD_EARG);
        CHECK(etcd_errstr(c)[0] != '\0');
        etcd_pager_free(p);
    }
    CHECK_INT(fs_nreqs(s), 0);
    /* the control: a pager without them does reach the server */
    p = etcd_readdir_pages(c, "/dir/", NULL);
    CHECK(p != NULL);
    while ((r = next_page(p, &pages, 5)) != NULL) etcd_res_free(r);
    CHECK_INT(pages, 1);
    CHECK_INT(etcd_errcode(c), ETCD_OK);
    CHECK_INT(fs_nreqs(s), 1);
    if (fs_nreqs(s) >= 1) CHECK_HAS(fs_get(s, 0)->target, "/v3/kv/range");
    etcd_pager_free(p);
    etcd_free(c);
    fs_stop(s);
}

/* Iterate dir (dir_len bytes) on c with limit; the pages must equal a
   readdir of the same dir on c, and hold want keys. */
static void pages_equal_readdir(etcd *c, const char *dir, size_t dir_len, int64_t limit, size_t want)
{
    etcd_get_opts o;
    etcd_pager *p;
    kvlist got;
    int pages = 0;
    memset(&got, 0, sizeof got);
    memset(&o, 0, sizeof o);
    o.limit = limit;
    o.key_len = dir_len;
    p = etcd_readdir_pages(c, dir, &o);
    REQUIRE(p);
    CHECK_INT(drain(c, p, limit, &got, &pages), 0);
    CHECK_INT(got.n, want);
    CHECK_INT(pages, (int)((want + (size_t)limit - 1) / (size_t)limit));
    check_same_as_readdir(c, dir, dir_len, 0, &got);
    etcd_pager_free(p);
    kv_free(&got);
}

/* key_prefix is prepended to the dir (and only keys under it come back);
   a binary dir (NUL and 0xff bytes, key_len) pages on bytes. */
static void test_pages_prefix_and_binary(void)
{
    static const char bdir[] = { 'b', 'i', 'n', '\0', (char)0xff };   /* 5 bytes */
    etcd *pc, *rc;
    etcd_res *r;
    etcd_get_opts go;
    size_t i;
    int bad = 0;

    /* key_prefix: "/pg/kp" + "/a/" */
    pc = test_client_at(srv.url, "/pg/kp", 0, false, 0, 0);
    REQUIRE(pc);
    REQUIRE(load(pc, "/a/%03d", 0, 250, "1") == 0);
    test_put(pc, "/a", "1");
    test_put(pc, "/a0", "1");
    test_put(pc, "/b/x", "1");
    test_put(cli, "/pg/kpx/a/000", "1");              /* outside key_prefix */
    test_put(cli, "/pg/a/000", "1");
    pages_equal_readdir(pc, "/a/", 0, 100, 250);
    pages_equal_readdir(pc, "", 0, 64, 254);      /* "": every key starting with key_prefix,
                                                     "/pg/kpx/a/000" included (etcd's prefix rule) */
    {   /* keys come back whole, key_prefix included, as readdir gives them */
        etcd_pager *p = etcd_readdir_pages(pc, "/a/", NULL);
        REQUIRE(p);
        r = etcd_pager_next(p);
        CHECK(r && r->nkvs == 250);
        if (r && r->nkvs) CHECK_STR(r->kvs[0].key, "/pg/kp/a/000");
        etcd_res_free(r);
        etcd_pager_free(p);
    }
    etcd_free(pc);

    /* binary: dir "bin\0\xff", keys dir + two bytes (0x00..0x01, 0x00..0xff),
       neighbours just outside on both sides */
    {
        etcd_opts o;
        memset(&o, 0, sizeof o);
        o.http_host = srv.url;
        o.serializer = ETCD_SERIALIZER_RAW;
        rc = t_client(&o);
    }
    REQUIRE(rc);
    for (i = 0; i < 300; i++) {
        char k[8];
        etcd_set_opts so;
        memcpy(k, bdir, 5);
        k[5] = (char)(i >> 8);
        k[6] = (char)(i & 0xff);
        memset(&so, 0, sizeof so);
        so.key_len = 7;
        so.val_len = 7;
        r = etcd_set(rc, k, k, &so);
        if (!r || r->status != 200) bad++;
        etcd_res_free(r);
    }
    CHECK_INT(bad, 0);
    {
        static const char out1[] = { 'b', 'i', 'n', '\0', (char)0xfe, 'z' };
        static const char out2[] = { 'b', 'i', 'n', '\x01' };
        static const char out3[] = { 'b', 'i', 'n', '\0' };
        const char *outs[3] = { out1, out2, out3 };
        size_t lens[3] = { sizeof out1, sizeof out2, sizeof out3 };
        for (i = 0; i < 3; i++) {
            etcd_set_opts so;
            memset(&so, 0, sizeof so);
            so.key_len = lens[i];
            r = etcd_set(rc, outs[i], "x", &so);
            CHECK(r && r->status == 200);
            etcd_res_free(r);
        }
    }
    pages_equal_readdir(rc, bdir, sizeof bdir, 64, 300);
    {   /* and the keys are the ones written, in byte order */
        etcd_pager *p;
        kvlist got;
        memset(&got, 0, sizeof got);
        memset(&go, 0, sizeof go);
        go.key_len = sizeof bdir;
        go.limit = 7;
        p = etcd_readdir_pages(rc, bdir, &go);
        REQUIRE(p);
        CHECK_INT(drain(rc, p, 7, &got, NULL), 0);
        CHECK_INT(got.n, 300);
        for (i = 0; i < got.n; i++) {
            char k[8];
            memcpy(k, bdir, 5);
            k[5] = (char)(i >> 8);
            k[6] = (char)(i & 0xff);
            if (got.v[i].klen != 7 || memcmp(got.v[i].key, k, 7) || got.v[i].vlen != 7 ||
                memcmp(got.v[i].val, k, 7)) {
                fprintf(stderr, "  binary key #%zu differs\n", i);
                CHECK(0);
                break;
            }
        }
        etcd_pager_free(p);
        kv_free(&got);
    }
    etcd_free(rc);
}

/* etcd_pager_free(NULL) is fine; so is freeing a pager never used, one
   freed mid-way, and one at its end (ASan/LSan see the rest). */
static void test_pages_free(void)
{
    etcd_pager *p;
    etcd_res *r;
    etcd_get_opts o;
    etcd_pager_free(NULL);
    p = etcd_readdir_pages(cli, "/pg/ord/", NULL);
    CHECK(p != NULL);
    etcd_pager_free(p);
    memset(&o, 0, sizeof o);
    o.limit = 10;
    p = etcd_readdir_pages(cli, "/pg/ord/", &o);
    REQUIRE(p);
    r = etcd_pager_next(p);
    CHECK(r && r->nkvs == 10);
    etcd_pager_free(p);                         /* mid-way; the page stays valid */
    if (r && r->nkvs == 10) CHECK_STR(r->kvs[9].key, "/pg/ord/00009");
    etcd_res_free(r);
    CHECK(etcd_readdir_pages(NULL, "/pg/", NULL) == NULL);
    CHECK(etcd_pager_next(NULL) == NULL);
}

/* Peak RSS growth (KiB) of a forked child that reads all of /big/ either
   through the pager (limit 1000, each page freed) or with one readdir;
   *keys gets the keys it saw. -1 on failure. */
static long rss_child(bool pager, long *keys)
{
    int fds[2];
    long msg[3] = { -1, -1, 0 };
    pid_t pid;
    int status;
    if (pipe(fds) != 0) return -1;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) { close(fds[0]); close(fds[1]); return -1; }
    if (pid == 0) {
        struct rusage ru;
        long base, n = 0;
        FILE *cr;
        etcd *c;
        close(fds[0]);
        c = test_client(&srv, NULL);
        if (c) {
            etcd_res *r = etcd_version(c);      /* connect and probe before the baseline */
            etcd_res_free(r);
        }
        T_PURGE();
        T_TRIM();                               /* the parent's free heap: back to the OS */
        if ((cr = fopen("/proc/self/clear_refs", "w")) != NULL) {   /* reset the high-water mark */
            fputs("5", cr);
            fclose(cr);
        }
        getrusage(RUSAGE_SELF, &ru);
        base = ru.ru_maxrss;
        if (c && pager) {
            etcd_get_opts o;
            etcd_pager *p;
            etcd_res *r;
            memset(&o, 0, sizeof o);
            o.limit = 1000;
            p = etcd_readdir_pages(c, "/big/", &o);
            int np = 0;
            while (p && (r = etcd_pager_next(p)) != NULL && ++np <= 200) {
                n += (long)r->nkvs;
                etcd_res_free(r);
                T_PURGE();
            }
            if (!p || etcd_errcode(c) != ETCD_OK) n = -1;
            etcd_pager_free(p);
        } else if (c) {
            etcd_res *r = etcd_readdir(c, "/big/", NULL);
            n = r && r->status == 200 ? (long)r->nkvs : -1;
            etcd_res_free(r);
        }
        getrusage(RUSAGE_SELF, &ru);
        msg[0] = ru.ru_maxrss - base;
        msg[1] = n;
        msg[2] = base;
        if (write(fds[1], msg, sizeof msg) < 0) {}
        _exit(0);                               /* no atexit: the harness's stops etcd */
    }
    close(fds[1]);
    if (read(fds[0], msg, sizeof msg) != (ssize_t)sizeof msg) msg[0] = -1;
    close(fds[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    *keys = msg[1];
    return msg[0];
}

typedef struct { etcd *c; int from, to, rc; } loader;

static void *load_main(void *p)
{
    loader *ld = (loader *)p;
    ld->rc = load(ld->c, "/big/%07d", ld->from, ld->to, "\"a-value-of-some-forty-bytes-0123456789\"");
    return NULL;
}

/* 100,000 keys: loaded by 4 concurrent clients in txns of 128 puts (they
   share etcd's fsyncs); the pager's peak RSS growth stays well below a
   plain readdir's of the same prefix. */
static void test_pages_100k(void)
{
    enum { N = 100000, T = 4 };
    pthread_t th[T];
    loader ld[T];
    double t0 = test_now(), t1;
    long grow_pager, grow_plain, kp = 0, kr = 0;
    int i, started = 0;
    for (i = 0; i < T; i++) {
        ld[i].c = test_client(&srv, NULL);
        ld[i].from = N / T * i;
        ld[i].to = N / T * (i + 1);
        ld[i].rc = -1;
    }
    for (i = 0; i < T; i++)
        if (ld[i].c && pthread_create(&th[i], NULL, load_main, &ld[i]) == 0) started |= 1 << i;
    for (i = 0; i < T; i++) {
        if (started & (1 << i)) pthread_join(th[i], NULL);
        CHECK_INT(ld[i].rc, 0);
        etcd_free(ld[i].c);
    }
    t1 = test_now();
    for (i = 0; i < T; i++) REQUIRE(ld[i].rc == 0);
    grow_pager = rss_child(true, &kp);
    grow_plain = rss_child(false, &kr);
    fprintf(stderr, "  (info) 100000 keys loaded in %.1f s; peak RSS growth: pager (limit 1000) %ld KiB, "
            "one plain readdir %ld KiB (pager/plain %.1f%%); read in %.1f s\n", t1 - t0, grow_pager, grow_plain,
            grow_plain > 0 ? 100.0 * (double)grow_pager / (double)grow_plain : 0.0, test_now() - t1);
    CHECK_INT(kp, N);
    CHECK_INT(kr, N);
    if (getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "vgpreload")) return;   /* valgrind's own
                                                   heap is what RSS shows there: once read as 0 growth */
    CHECK(grow_pager >= 0 && grow_plain > 0);
    CHECK(grow_pager * 10 < grow_plain * 4);    /* < 40% */
    CHECK(grow_plain > 10 * 1024);              /* the plain one really held it all (> 10 MiB) */
}

/* ------------------------------------------------------------------------
   Lease keeper
   ------------------------------------------------------------------------ */

/* A 3 s lease kept for 20 s from a poll() loop that sleeps etcd_lease_due(). */
static void test_keep_20s(void)
{
    etcd_lease *l = etcd_lease_keep(cli, 3, 0);
    etcd_res *r;
    double t0 = test_now(), d;
    int ticks = 0, fails = 0, due_bad = 0;
    int64_t id;
    REQUIRE(l);
    id = etcd_lease_id(l);
    CHECK(id > 0);
    d = etcd_lease_due(l);
    CHECK(d > 0.5 && d <= 1.0);                 /* a third of the TTL from the grant */
    REQUIRE(test_put_lease(cli, "/lk/alive", "\"here\"", id));
    while (test_now() - t0 < 20.0) {
        int rc;
        wait_due(l, 20.0 - (test_now() - t0));
        rc = etcd_lease_tick(l);
        ticks++;
        if (rc != 0) {
            if (fails++ < 3) fprintf(stderr, "  tick %d: %d (%s)\n", ticks, rc, etcd_errstr(cli));
        }
        d = etcd_lease_due(l);
        if (d <= 0 || d > 1.0 + 1e-6) due_bad++;
    }
    fprintf(stderr, "  (info) 20 s: %d ticks\n", ticks);
    CHECK_INT(fails, 0);
    CHECK_INT(due_bad, 0);
    CHECK(ticks >= 15 && ticks <= 45);          /* about one per second: due was honoured */
    r = test_ok200(cli, etcd_timetolive(cli, id, true));
    REQUIRE(r);
    CHECK(r->ttl > 0 && r->ttl <= 3);
    CHECK_INT(r->granted_ttl, 3);
    CHECK_INT(r->nkeys, 1);
    etcd_res_free(r);
    CHECK_INT(key_exists(cli, "/lk/alive"), 1);
    etcd_lease_stop(l, true);
    CHECK_INT(key_exists(cli, "/lk/alive"), 0);
    CHECK_INT(ttl_left(cli, id), -1);
}

/* No keepalive when none is due: ticked in a tight loop for 2.5 s, a TTL 3
   lease gets exactly the keepalives the 1/3-TTL schedule allows (at 1 s
   and 2 s), not one per tick. */
static void test_keep_sends_nothing_early(void)
{
    fake f;
    fs_server *s = fake_start(&f, 3);
    etcd *c;
    etcd_lease *l;
    double t0;
    long ticks = 0, nonzero = 0;
    int nka, i;
    REQUIRE(s);
    c = fake_client(s->url, 0, 2.0);
    if (!c) { fs_stop(s); REQUIRE(c); }
    l = etcd_lease_keep(c, 3, 0);
    t0 = test_now();
    if (!l) { fprintf(stderr, "  keep: %s\n", etcd_errstr(c)); etcd_free(c); fs_stop(s); REQUIRE(l); }
    CHECK_INT(etcd_lease_id(l), 7);
    CHECK_INT(fs_nreqs(s), 1);                   /* the grant */
    while (test_now() - t0 < 2.5) {
        if (etcd_lease_tick(l) != 0) nonzero++;
        ticks++;
    }
    nka = fake_get(&f, &f.nka);
    fprintf(stderr, "  (info) %ld ticks in 2.5 s -> %d keepalive requests (%d requests in all)\n", ticks,
            nka, fs_nreqs(s));
    CHECK_INT(nonzero, 0);
    CHECK(ticks > 1000);
    CHECK_INT(nka, 2);
    CHECK_INT(fs_nreqs(s), 1 + nka);
    CHECK_STR(f.ka_body, "id");
    for (i = 0; i < nka && i < 2; i++)          /* at 1 s and 2 s after the grant */
        CHECK_TIME(f.ka_at[i] - t0, 0.9 * (i + 1), 1.0 * (i + 1) + 0.2);
    etcd_lease_stop(l, false);
    CHECK_INT(fs_nreqs(s), 1 + nka);             /* stop without revoke sends nothing */
    fake_stop(&f, s, c);
}

/* Loss (a): the lease revoked from outside (etcdctl) is reported on the
   next keepalive's tick, once: ELOST, then -1 at once, due 0; no new lease. */
static void test_keep_lost_revoked(void)
{
    etcd_lease *l = etcd_lease_keep(cli, 3, 0);
    etcd_res *r;
    char hex[32], out[256];
    const char *args[4];
    double t_rev = 0, t_lost = 0, t0 = test_now();
    int zeros = 0, rc = 0;
    size_t nleases = 0;
    int64_t id;
    REQUIRE(l);
    id = etcd_lease_id(l);
    REQUIRE(test_put_lease(cli, "/lk/revoked", "\"here\"", id));
    r = test_ok200(cli, etcd_leases(cli));
    if (r) nleases = r->nleases;
    etcd_res_free(r);
    while (test_now() - t0 < 6.0) {
        wait_due(l, 0.25);
        if (!t_rev && test_now() - t0 > 1.3) {  /* after one keepalive went through */
            snprintf(hex, sizeof hex, "%llx", (unsigned long long)id);
            args[0] = "lease"; args[1] = "revoke"; args[2] = hex; args[3] = NULL;
            CHECK_INT(test_etcdctl(&srv, out, sizeof out, args), 0);
            CHECK_HAS(out, "revoked");
            t_rev = test_now();
        }
        rc = etcd_lease_tick(l);
        if (rc == 0) { zeros++; CHECK(!t_rev || etcd_errcode(cli) == ETCD_OK); continue; }
        t_lost = test_now();
        break;
    }
    REQUIRE(t_rev > 0);
    CHECK_INT(rc, -1);
    CHECK_INT(etcd_errcode(cli), ETCD_ELOST);
    CHECK_HAS(etcd_errstr(cli), "lost");
    CHECK(zeros >= 1);
    CHECK_TIME(t_lost - t_rev, 0.0, 1.0 + 0.3);     /* at the next keepalive (a third of the TTL) */
    CHECK(etcd_lease_due(l) == 0);
    CHECK_INT(lost_stays_lost(l, 20, 0.1), 0);     /* 2 s: two keepalives would have been due */
    CHECK_INT(key_exists(cli, "/lk/revoked"), 0);
    r = test_ok200(cli, etcd_leases(cli));        /* it granted nothing by itself */
    CHECK(r && r->nleases + 1 == nleases);
    etcd_res_free(r);
    etcd_lease_stop(l, true);
}

/* Loss (b): etcd stopped longer than the TTL: ticks go on failing (0,
   error set) until the TTL of the last acknowledgement runs out, then
   ELOST once; after etcd is back (and still holds the lease, which etcd
   extends on restart), the keeper stays lost and sends nothing. */
static void test_keep_lost_etcd_down(void)
{
    etcd *c = test_client(&srv, NULL);
    etcd *other;
    etcd_lease *l;
    double t0, t_kill = 0, t_lost = 0;
    int zeros_failed = 0, rc = 0, restarted;
    int64_t id, t1, t2;
    REQUIRE(c);
    l = etcd_lease_keep(c, 3, 0);
    if (!l) { etcd_free(c); REQUIRE(l); }
    id = etcd_lease_id(l);
    t0 = test_now();
    while (test_now() - t0 < 12.0) {
        wait_due(l, 0.25);
        if (!t_kill && test_now() - t0 > 1.2) {     /* just after a keepalive was acknowledged */
            t_kill = test_now();
            test_etcd_kill(&srv);
        }
        rc = etcd_lease_tick(l);
        if (rc == 0) {
            if (t_kill && etcd_errcode(c) != ETCD_OK) zeros_failed++;
            continue;
        }
        t_lost = test_now();
        break;
    }
    CHECK_INT(rc, -1);
    CHECK_INT(etcd_errcode(c), ETCD_ELOST);
    CHECK_HAS(etcd_errstr(c), "lost");
    CHECK(zeros_failed >= 1);                    /* failed tries, retried, before the loss */
    /* acknowledged at most 1/3 TTL before the kill: alive >= 2 s after it,
       and the loss seen within about a second of the TTL running out */
    CHECK_TIME(t_lost - t_kill, 2.0 - 0.1, 3.0 + 1.2);
    CHECK_INT(lost_stays_lost(l, 10, 0.1), 0);   /* down TTL + 1 s in all */
    restarted = test_etcd_restart(&srv) == 0;
    CHECK(restarted);
    if (restarted) {
        other = test_client(&srv, NULL);
        t1 = other ? ttl_left(other, id) : -2;
        CHECK_INT(lost_stays_lost(l, 15, 0.1), 0);   /* 1.5 s: a keepalive would be due */
        t2 = other ? ttl_left(other, id) : -2;
        fprintf(stderr, "  (info) after the restart etcd gives the lease %lld s, then %lld s\n",
                (long long)t1, (long long)t2);
        CHECK(t1 >= -1 && t2 >= -1);
        CHECK(t2 == -1 || t2 < t1);              /* not refreshed by the keeper */
        etcd_free(other);
    }
    etcd_lease_stop(l, true);
    etcd_free(c);
}

/* Not a loss: etcd frozen (SIGSTOP) for 2 s of a 4 s TTL, one endpoint,
   default max_fails. The failed keepalive marks the endpoint down for
   fail_timeout (10 s); the keeper tries it anyway within a second and
   keeps the lease once etcd is back. */
static void test_keep_short_outage(void)
{
    char url[64];
    etcd *c, *other;
    etcd_lease *l;
    double t0, t_stop = 0;
    int rc = 0, stopped = 0, failed = 0;
    int64_t id, left;
    snprintf(url, sizeof url, "%s", srv.url);
    c = test_client_at(url, NULL, 0.5, false, 0, 0);
    REQUIRE(c);
    l = etcd_lease_keep(c, 4, 0);
    if (!l) { etcd_free(c); REQUIRE(l); }
    id = etcd_lease_id(l);
    t0 = test_now();
    while (test_now() - t0 < 8.0 && rc == 0) {
        wait_due(l, 0.25);
        if (!stopped && test_now() - t0 > 1.4) { kill(srv.pid, SIGSTOP); stopped = 1; t_stop = test_now(); }
        if (stopped == 1 && test_now() - t_stop > 2.0) { kill(srv.pid, SIGCONT); stopped = 2; }
        rc = etcd_lease_tick(l);
        if (rc == 0 && stopped == 1 && etcd_errcode(c) != ETCD_OK) failed++;
    }
    if (stopped == 1) kill(srv.pid, SIGCONT);
    CHECK_INT(rc, 0);
    CHECK_INT(stopped, 2);
    CHECK(failed >= 1);
    other = test_client(&srv, NULL);             /* c has the endpoint marked down */
    left = other ? ttl_left(other, id) : -2;
    CHECK(left > 0);
    etcd_free(other);
    fprintf(stderr, "  (info) %d failed keepalives while frozen; lease kept, %lld s left\n", failed,
            (long long)left);
    etcd_lease_stop(l, true);
    etcd_free(c);
}

/* Loss (c): every endpoint dead (two endpoints, both refusing after the
   grant): failed tries at least once a second, ELOST when the TTL runs
   out, then nothing is sent (listeners on the two ports see no
   connection; the control call does connect). */
static void test_keep_lost_all_dead(void)
{
    fake fa, fb;
    fs_server *a = fake_start(&fa, 3), *b = fake_start(&fb, 3);
    char hosts[700];
    int pa, pb, la = -1, lb = -1, rc = 0, zeros_failed = 0;
    etcd *c = NULL;
    etcd_lease *l = NULL;
    etcd_res *r;
    double t0, t_dead = 0, t_lost = 0;
    if (!a || !b) { fs_stop(a); fs_stop(b); REQUIRE(a && b); }
    pa = a->port;
    pb = b->port;
    snprintf(hosts, sizeof hosts, "%s,%s", a->url, b->url);
    c = fake_client(hosts, -1, 0.5);               /* health checks off: every try goes out */
    if (c) l = etcd_lease_keep(c, 3, 0);
    if (!l) { etcd_free(c); fs_stop(a); fs_stop(b); REQUIRE(l); }
    t0 = test_now();
    while (test_now() - t0 < 9.0) {
        wait_due(l, 0.25);
        if (!t_dead && fake_get(&fa, &fa.nka) + fake_get(&fb, &fb.nka) >= 1) {
            t_dead = test_now();
            fs_stop(a);                            /* both ports refuse from now on */
            fs_stop(b);
            a = b = NULL;
        }
        rc = etcd_lease_tick(l);
        if (rc == 0) {
            if (t_dead && etcd_errcode(c) != ETCD_OK) {
                zeros_failed++;
                CHECK(etcd_errcode(c) == ETCD_ECONNECT || etcd_errcode(c) == ETCD_ETRANSPORT);
            }
            continue;
        }
        t_lost = test_now();
        break;
    }
    if (!t_dead) {
        etcd_lease_stop(l, false);
        etcd_free(c);
        fs_stop(a);
        fs_stop(b);
        REQUIRE(t_dead > 0);
    }
    CHECK_INT(rc, -1);
    CHECK_INT(etcd_errcode(c), ETCD_ELOST);
    CHECK(zeros_failed >= 2);                      /* about once a second for ~2 s */
    CHECK_TIME(t_lost - t_dead, 2.0 - 0.1, 3.0 + 1.2);
    la = listen_on(pa);
    lb = listen_on(pb);
    if (la >= 0 && lb >= 0) {
        CHECK_INT(lost_stays_lost(l, 15, 0.1), 0);
        CHECK(!connected_to(la) && !connected_to(lb));
        r = etcd_timetolive(c, 7, false);          /* the control: a call does connect */
        etcd_res_free(r);
        CHECK(connected_to(la) || connected_to(lb));
    }
    if (la >= 0) close(la);
    if (lb >= 0) close(lb);
    etcd_lease_stop(l, true);                      /* lost: nothing to revoke */
    etcd_free(c);
    pthread_mutex_destroy(&fa.mu);
    pthread_mutex_destroy(&fb.mu);
}

/* A failed keepalive (503) is tried again at least once a second while the
   lease may live; when etcd answers again before the TTL runs out the
   keeper stays alive and the tick after recovery says ETCD_OK. */
static void test_keep_retries_503(void)
{
    fake f;
    fs_server *s = fake_start(&f, 4);
    etcd *c;
    etcd_lease *l;
    double t0, maxgap = 0;
    int nonzero = 0, failed_ticks = 0, recovered = 0, nka, nfail, i;
    REQUIRE(s);
    c = fake_client(s->url, -1, 1.0);              /* health checks off: the tries reach it */
    l = c ? etcd_lease_keep(c, 4, 0) : NULL;
    if (!l) { etcd_free(c); fs_stop(s); REQUIRE(l); }
    t0 = test_now();
    fake_set_fail(&f, 1);                          /* keepalives due at 1.33, 2.33 fail ... */
    while (test_now() - t0 < 5.0) {
        int rc, ka_before = fake_get(&f, &f.nka);
        wait_due(l, 0.1);
        if (test_now() - t0 > 2.8 && fake_get(&f, &f.fail)) fake_set_fail(&f, 0);   /* ... 3.33 works */
        rc = etcd_lease_tick(l);
        if (rc != 0) nonzero++;
        if (fake_get(&f, &f.nka) == ka_before) continue;     /* nothing was due */
        if (etcd_errcode(c) != ETCD_OK) {
            failed_ticks++;
            CHECK_INT(etcd_errcode(c), ETCD_ESERVER);
        } else if (failed_ticks && !recovered) {
            double d = etcd_lease_due(l);
            recovered = 1;
            CHECK(d > 1.0 && d <= 4.0 / 3 + 1e-6);  /* back on the 1/3-TTL schedule */
        }
    }
    nka = fake_get(&f, &f.nka);
    nfail = fake_get(&f, &f.nka_failed);
    for (i = 1; i < nka && i < 128; i++) {
        if (i <= nfail && f.ka_at[i] - f.ka_at[i - 1] > maxgap) maxgap = f.ka_at[i] - f.ka_at[i - 1];
    }
    fprintf(stderr, "  (info) keepalives: %d answered 503, then %d OK; largest gap while failing %.2f s\n",
            nfail, nka - nfail, maxgap);
    CHECK_INT(nonzero, 0);
    CHECK(nfail >= 2);
    CHECK_INT(failed_ticks, nfail);
    CHECK(recovered);
    CHECK(nka - nfail >= 1);
    CHECK(maxgap <= 1.15);                          /* again at least once a second */
    CHECK(nka >= 1 && f.ka_at[0] - t0 > 1.2);       /* the first one on the schedule */
    etcd_lease_stop(l, false);
    fake_stop(&f, s, c);
}

/* Loss is reported when the TTL of the last acknowledgement runs out, to
   a loop that ticks only when etcd_lease_due() says: with every keepalive
   failing (503), a TTL 5 lease granted at t0 is lost at t0 + 5 s, not at
   the next 1 s retry after that; until then every tick returns 0. */
static void test_keep_lost_on_time(void)
{
    fake f;
    fs_server *s = fake_start(&f, 5);
    etcd *c;
    etcd_lease *l;
    double t0, t_lost = 0;
    int rc = 0, zeros = 0;
    REQUIRE(s);
    c = fake_client(s->url, -1, 1.0);
    t0 = test_now();                               /* the grant's send: where its TTL starts */
    l = c ? etcd_lease_keep(c, 5, 0) : NULL;
    if (!l) { etcd_free(c); fs_stop(s); REQUIRE(l); }
    fake_set_fail(&f, 1);
    while (test_now() - t0 < 8.0) {
        wait_due(l, 8.0);                          /* exactly what the keeper asks for */
        if ((rc = etcd_lease_tick(l)) != 0) { t_lost = test_now(); break; }
        zeros++;
    }
    fprintf(stderr, "  (info) TTL 5, every keepalive 503: lost %.2f s after the grant, %d keepalives tried\n",
            t_lost - t0, fake_get(&f, &f.nka));
    CHECK_INT(rc, -1);
    CHECK_INT(etcd_errcode(c), ETCD_ELOST);
    CHECK(zeros >= 4);                             /* tried at 1.67 s, then about once a second */
    CHECK_TIME(t_lost - t0, 5.0 - 0.05, 5.0 + 0.3);
    etcd_lease_stop(l, false);
    fake_stop(&f, s, c);
}

/* Bad input: ttl 0 / negative -> NULL with ETCD_EARG and nothing sent;
   NULL handles; a grant etcd refuses; stop with and without revoke. */
static void test_keep_bad_input(void)
{
    fake f;
    fs_server *s = fake_start(&f, 3);
    etcd *c;
    etcd_lease *l;
    etcd_res *r;
    int64_t id;
    REQUIRE(s);
    c = fake_client(s->url, 0, 2.0);
    if (!c) { fs_stop(s); REQUIRE(c); }
    CHECK(etcd_lease_keep(c, 0, 0) == NULL);
    CHECK_INT(etcd_errcode(c), ETCD_EARG);
    CHECK(etcd_errstr(c)[0] != '\0');
    CHECK(etcd_lease_keep(c, -5, 0) == NULL);
    CHECK_INT(etcd_errcode(c), ETCD_EARG);
    CHECK(etcd_lease_keep(c, INT64_MIN, 7) == NULL);
    CHECK_INT(etcd_errcode(c), ETCD_EARG);
    CHECK_INT(fs_nreqs(s), 0);
    fake_stop(&f, s, c);

    CHECK(etcd_lease_keep(NULL, 3, 0) == NULL);
    etcd_lease_stop(NULL, true);
    etcd_lease_stop(NULL, false);
    CHECK_INT(etcd_lease_tick(NULL), -1);
    CHECK_INT(etcd_lease_id(NULL), 0);

    /* an id of our choosing, then the same id again: etcd refuses the grant */
    l = etcd_lease_keep(cli, 30, 0x5eed0001);
    REQUIRE(l);
    CHECK_INT(etcd_lease_id(l), 0x5eed0001);
    CHECK(etcd_lease_keep(cli, 30, 0x5eed0001) == NULL);
    CHECK(etcd_errcode(cli) != ETCD_OK);
    CHECK_HAS(etcd_errstr(cli), "lease already exists");

    /* stop(l, false) leaves the lease and its key; stop(l, true) revokes */
    CHECK(test_put_lease(cli, "/lk/stop0", "\"here\"", 0x5eed0001));
    etcd_lease_stop(l, false);
    CHECK(ttl_left(cli, 0x5eed0001) > 0);
    CHECK_INT(key_exists(cli, "/lk/stop0"), 1);
    r = etcd_revoke(cli, 0x5eed0001);
    etcd_res_free(r);
    l = etcd_lease_keep(cli, 30, 0);
    REQUIRE(l);
    id = etcd_lease_id(l);
    CHECK(test_put_lease(cli, "/lk/stop1", "\"here\"", id));
    etcd_lease_stop(l, true);
    CHECK_INT(ttl_left(cli, id), -1);
    CHECK_INT(key_exists(cli, "/lk/stop1"), 0);
    CHECK_INT(key_exists(cli, "/lk/stop0"), 0);
}

/* ------------------------------------------------------------------------
   A 3-member cluster where a member is killed
   ------------------------------------------------------------------------ */

#define NM 3
static test_etcd m[NM];
static char hosts[256];
static bool cluster_up;

static void test_cluster_up(void)
{
    REQUIRE(test_cluster_start(m, NM, NULL) == 0);
    cluster_up = true;
    test_cluster_hosts(m, NM, -1, hosts, sizeof hosts);
}

/* With retry on and every member in http_host, a 3 s lease ticked for
   3 x TTL survives the SIGKILL of the leader (an election follows): the
   keepalives that met the dead member were retried on the others. */
static void test_cluster_keep_member_killed(void)
{
    etcd *c, *other;
    etcd_lease *l;
    double t0;
    int leader, lost = 0, ticks = 0, failed = 0, i;
    int64_t id;
    REQUIRE(cluster_up);
    c = test_client_at(hosts, NULL, 0, true, 0, 0);
    REQUIRE(c);
    l = etcd_lease_keep(c, 3, 0);
    if (!l) { fprintf(stderr, "  keep: %s\n", etcd_errstr(c)); etcd_free(c); REQUIRE(l); }
    id = etcd_lease_id(l);
    leader = test_cluster_leader(m, NM, 5.0);
    CHECK(leader >= 0);
    t0 = test_now();
    while (test_now() - t0 < 9.0) {
        wait_due(l, 0.25);
        if (leader >= 0 && m[leader].pid > 0 && test_now() - t0 > 1.5) test_etcd_kill_hard(&m[leader]);
        if (etcd_lease_tick(l) != 0) {
            if (!lost++) fprintf(stderr, "  lost: %s\n", etcd_errstr(c));
        } else if (etcd_errcode(c) != ETCD_OK) {
            if (failed++ < 3) fprintf(stderr, "  (info) a failed try: %s\n", etcd_errstr(c));
        }
        ticks++;
    }
    fprintf(stderr, "  (info) %d ticks over 9 s around the kill, %d failed tries\n", ticks, failed);
    CHECK_INT(lost, 0);
    CHECK(leader >= 0 && m[leader].pid <= 0);
    if (leader >= 0) CHECK(!etcd_endpoint_healthy(c, m[leader].url));   /* keepalives went there */
    other = test_client_at(hosts, NULL, 0, true, 0, 0);
    if (other) {
        int64_t t = ttl_left(other, id);
        CHECK(t > 0 && t <= 3);
        etcd_free(other);
    }
    etcd_lease_stop(l, true);
    etcd_free(c);
    for (i = 0; i < NM; i++)
        if (m[i].pid <= 0) CHECK_INT(test_etcd_restart(&m[i]), 0);
}

/* Pages over the cluster with retry on, a follower killed between pages:
   every page still comes (a page request that met the dead member was
   retried on another), all from the first page's revision. */
static void test_cluster_pages_member_killed(void)
{
    etcd *c;
    etcd_get_opts o;
    etcd_pager *p;
    etcd_res *r;
    kvlist got;
    int64_t rev0;
    int leader, victim = -1, i, bad = 0, pages = 1;
    REQUIRE(cluster_up);
    memset(&got, 0, sizeof got);
    c = test_client_at(hosts, NULL, 0, true, 0, 0);
    REQUIRE(c);
    if (load(c, "/cpg/%05d", 0, 2500, "0") != 0) { etcd_free(c); REQUIRE(0); }
    memset(&o, 0, sizeof o);
    o.limit = 500;
    p = etcd_readdir_pages(c, "/cpg/", &o);
    r = p ? etcd_pager_next(p) : NULL;
    if (!r) { etcd_pager_free(p); etcd_free(c); REQUIRE(r); }
    rev0 = r->revision;
    bad += take_page(r, 500, &got);
    etcd_res_free(r);
    CHECK_INT(load(c, "/cpg/%05d", 1000, 1100, "1"), 0);   /* writes ahead of the cursor */
    test_put(c, "/cpg/zzz", "1");
    leader = test_cluster_leader(m, NM, 5.0);
    for (i = 0; i < NM; i++) if (i != leader && m[i].pid > 0) { victim = i; break; }
    CHECK(victim >= 0);
    if (victim >= 0) test_etcd_kill_hard(&m[victim]);
    while ((r = next_page(p, &pages, 10)) != NULL) {  /* only the pager talks from here */
        bad += take_page(r, 500, &got);
        etcd_res_free(r);
    }
    if (victim >= 0) CHECK(!etcd_endpoint_healthy(c, m[victim].url));   /* a page went there */
    CHECK_INT(etcd_errcode(c), ETCD_OK);
    if (etcd_errcode(c) != ETCD_OK) fprintf(stderr, "  pager: %s\n", etcd_errstr(c));
    CHECK_INT(bad, 0);
    CHECK_INT(pages, 5);
    CHECK_INT(got.n, 2500);
    check_same_as_readdir(c, "/cpg/", 0, rev0, &got);
    for (i = 0; (size_t)i < got.n; i++)
        if (strcmp(got.v[i].val, "0")) { CHECK(0); break; }
    etcd_pager_free(p);
    kv_free(&got);
    etcd_free(c);
}

int main(void)
{
    double t0 = test_now();
    (void)fs_send_slow; (void)fs_sends; (void)fs_header; (void)fs_wait_go; (void)fs_go;
    (void)fs_accepts; (void)fs_reset; (void)fs_wait_close; (void)fs_chunk; (void)fs_free_port;
    (void)fs_get_ok; (void)fs_sleep_ms;
    RUN(test_start);
    if (cli) {
        RUN(test_pages_one_revision);
        RUN(test_pages_order_and_end);
        RUN(test_pages_explicit_revision);
        RUN(test_pages_compacted);
        RUN(test_pages_empty);
        RUN(test_pages_sort_refused);
        RUN(test_pages_prefix_and_binary);
        RUN(test_pages_free);
        RUN(test_pages_100k);
        RUN(test_keep_20s);
        RUN(test_keep_sends_nothing_early);
        RUN(test_keep_lost_revoked);
        RUN(test_keep_retries_503);
        RUN(test_keep_lost_all_dead);
        RUN(test_keep_lost_on_time);
        RUN(test_keep_short_outage);
        RUN(test_keep_bad_input);
        RUN(test_keep_lost_etcd_down);
    }
    etcd_free(cli);
    test_etcd_stop(&srv);
    RUN(test_cluster_up);
    RUN(test_cluster_keep_member_killed);
    RUN(test_cluster_pages_member_killed);
    test_cluster_stop(m, NM);
    fprintf(stderr, "  (info) suite took %.1f s\n", test_now() - t0);
    return test_summary();
}
