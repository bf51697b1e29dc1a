/* test_heap.c - the heap budget: what a client holds, counted in bytes
   through etcd.h's allocator override (every block carries its size in
   front), against a real etcd started by the harness.

   Budgets (issue "where embedded users are"): an idle client after its
   first call holds at most 8 KiB, after 100 small gets at most 12 KiB; an
   open watch at most 8 KiB; a small get is one allocation (its result).
   Big answers may grow the buffers while they are read, but those are
   given back afterwards: a client that read a big range, or a watch that
   took a big message, is back within its budget. opts.read_step bounds
   the reads and is checked. make bench gives the same figures
   (bench/heap.c, the same counter: bench/heapcount.h); this suite keeps
   them from creeping up. */
#define _DEFAULT_SOURCE
#include "bench/heapcount.h"       /* ETCD_MALLOC & co., counting bytes */

#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
#include "harness.h"

#define KIB 1024LL

static test_etcd srv;
static etcd *writer;             /* puts for the clients under test; its bytes are not theirs */

static bool get_one(etcd *c, const char *key)
{
    etcd_res *r = test_ok200(c, etcd_get(c, key, NULL));
    bool ok = r && r->nkvs == 1;
    etcd_res_free(r);
    return ok;
}

static void fill(const char *dir, int n, size_t vlen)
{
    char key[64], *v = (char *)malloc(vlen + 3);
    int i;
    memset(v + 1, 'x', vlen);
    v[0] = '"'; v[vlen + 1] = '"'; v[vlen + 2] = 0;
    for (i = 0; i < n; i++) {
        snprintf(key, sizeof key, "%s%04d", dir, i);
        CHECK(test_put(writer, key, v) > 0);
    }
    free(v);
}

/* A watch on dir past its first event (a put of val by the writer). */
static etcd_watcher *watch_one(etcd *c, const char *dir, const char *key, const char *val)
{
    etcd_watcher *w = etcd_watchdir(c, dir, NULL);
    int i;
    if (!w) { fprintf(stderr, "  watchdir: %s\n", etcd_errstr(c)); return NULL; }
    CHECK(test_put(writer, key, val) > 0);
    for (i = 0; i < 10; i++) {
        etcd_res *r = etcd_watch_next(w);
        size_t n = r ? r->nevents : 0;
        if (!r) fprintf(stderr, "  watch_next: %s\n", etcd_watch_errstr(w));
        etcd_res_free(r);
        if (!r || n) return r ? w : (etcd_watchcancel(w), (etcd_watcher *)NULL);
    }
    etcd_watchcancel(w);
    return NULL;
}

static void test_idle_client(void)
{
    long long base = hc_live, a;
    etcd *c = test_client(&srv, NULL);
    int i;
    REQUIRE(c != NULL);
    CHECK(get_one(c, "/heap/small"));
    fprintf(stderr, "  after etcd_new and one get: %lld bytes\n", hc_live - base);
    CHECK(hc_live - base <= 8 * KIB);
    for (i = 0; i < 100; i++) CHECK(get_one(c, "/heap/small"));
    fprintf(stderr, "  after 100 more gets: %lld bytes\n", hc_live - base);
    CHECK(hc_live - base <= 12 * KIB);
    for (i = 0; i < 20; i++) {                 /* one allocation per small get: its result */
        etcd_res *r;
        hc_allocs = 0;
        r = etcd_get(c, "/heap/small", NULL);
        a = hc_allocs;
        CHECK(r && r->nkvs == 1);
        etcd_res_free(r);
        CHECK_INT(a, 1);
    }
    etcd_free(c);
    CHECK_INT(hc_live, base);
}

/* A range of ~1 MiB grows the buffers while it is read; after it, an
   idle client holds no more than its budget. */
static void test_big_answer_given_back(void)
{
    long long base = hc_live, peak;
    etcd *c = test_client(&srv, NULL);
    etcd_res *r;
    REQUIRE(c != NULL);
    CHECK(get_one(c, "/heap/small"));
    r = test_ok200(c, etcd_readdir(c, "/heap/big/", NULL));
    CHECK(r && r->nkvs == 256);
    peak = hc_live - base;
    etcd_res_free(r);
    fprintf(stderr, "  holding a 256-kv range: %lld bytes; after freeing it: %lld\n", peak, hc_live - base);
    CHECK(peak > 512 * KIB);                   /* the result owns the body */
    CHECK(hc_live - base <= 12 * KIB);
    CHECK(test_put(c, "/heap/big/0000", "\"again\"") > 0);   /* still works, small again */
    CHECK(get_one(c, "/heap/small"));
    CHECK(hc_live - base <= 12 * KIB);
    etcd_free(c);
    CHECK_INT(hc_live, base);
}

static void test_watch_budget(void)
{
    long long base, per;
    etcd *c = test_client(&srv, NULL);
    etcd_watcher *w[4];
    char big[8200];
    int i;
    REQUIRE(c != NULL);
    CHECK(get_one(c, "/heap/small"));
    base = hc_live;
    for (i = 0; i < 4; i++) REQUIRE((w[i] = watch_one(c, "/heap/w/", "/heap/w/k", "1")) != NULL);
    per = (hc_live - base) / 4;
    fprintf(stderr, "  per open watch: %lld bytes\n", per);
    CHECK(per <= 8 * KIB);
    /* a message of ~130 KiB (12 puts of 8 KiB, base64): the watcher grows
       for it, then gives it back */
    memset(big + 1, 'y', sizeof big - 3);
    big[0] = '"'; big[sizeof big - 2] = '"'; big[sizeof big - 1] = 0;
    {
        etcd_op ops[12];
        etcd_compare always;
        etcd_res *r;
        char keys[12][32];
        memset(ops, 0, sizeof ops);
        memset(&always, 0, sizeof always);
        always.result = ETCD_CMP_GREATER;      /* version > -1: true for any key */
        always.target = ETCD_CMP_VERSION;
        always.key = "/heap/w/big00";
        always.version = -1;
        for (i = 0; i < 12; i++) {
            snprintf(keys[i], sizeof keys[i], "/heap/w/big%02d", i);
            ops[i].type = ETCD_OP_PUT;
            ops[i].key = keys[i];
            ops[i].value = big;
        }
        r = test_ok200(writer, etcd_txn(writer, &always, 1, ops, 12, NULL, 0, NULL));
        etcd_res_free(r);
    }
    {                                          /* w[0] saw the other watches' puts first */
        size_t got = 0, k;
        for (i = 0; i < 10 && got < 12; i++) {
            etcd_res *r = etcd_watch_next(w[0]);
            if (!r) break;
            for (k = 0; k < r->nevents; k++) got += !strncmp(r->events[k].kv.key, "/heap/w/big", 11);
            etcd_res_free(r);
        }
        CHECK_INT(got, 12);
    }
    fprintf(stderr, "  after a 12-event message on one watch: %lld bytes for 4 watches\n", hc_live - base);
    CHECK(hc_live - base <= 4 * 8 * KIB);
    CHECK(w[0]->s.msg.cap <= 16 * KIB && w[0]->s.conn.in.cap <= 4 * KIB);   /* white-box: given back */
    for (i = 0; i < 4; i++) etcd_watchcancel(w[i]);
    etcd_free(c);
}

/* read_step: 256 to 65536; a small one still reads every answer. */
static void test_read_step(void)
{
    etcd_opts o;
    char err[256];
    etcd *c;
    etcd_res *r;
    memset(&o, 0, sizeof o);
    o.http_host = srv.url;
    o.read_step = 255;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, "read_step");
    o.read_step = 65537;
    CHECK(t_refused(&o, err, sizeof err));
    CHECK_HAS(err, "read_step");
    o.read_step = 256;
    c = t_client(&o);
    REQUIRE(c != NULL);
    r = test_ok200(c, etcd_readdir(c, "/heap/big/", NULL));
    CHECK(r && r->nkvs == 256);
    etcd_res_free(r);
    CHECK(get_one(c, "/heap/small"));
    etcd_free(c);
}

static void test_setup(void)
{
    REQUIRE(test_etcd_start(&srv, NULL) == 0);
    writer = test_client(&srv, NULL);
    REQUIRE(writer != NULL);
    CHECK(test_put(writer, "/heap/small", "\"v\"") > 0);
    fill("/heap/big/", 256, 4000);
}

int main(void)
{
    RUN(test_setup);
    if (writer) {
        RUN(test_idle_client);
        RUN(test_big_answer_given_back);
        RUN(test_watch_budget);
        RUN(test_read_step);
    }
    etcd_free(writer);
    test_etcd_stop(&srv);
    return test_summary();
}
