/* test_ranges.c - range_end on etcd_get, etcd_delete and etcd_watch, and the
   revision bounds of etcd_get, against a real etcd started by the harness:
   [key, range_end), "" (every key from key on), binary ends, key_prefix
   before both ends, min/max mod and create revisions; bad input refused
   with ETCD_EARG and nothing written. Keys live under "/<test name>/". */
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
#include "harness.h"

static test_etcd srv;
static etcd *cli;                     /* no key_prefix */

/* "a b c": the keys of r, space-separated, into out. */
static const char *keys_of(const etcd_res *r, char *out, size_t n)
{
    size_t i, at = 0;
    out[0] = 0;
    for (i = 0; r && i < r->nkvs && at < n; i++)
        at += (size_t)snprintf(out + at, n - at, "%s%.*s", i ? " " : "", (int)r->kvs[i].key_len, r->kvs[i].key);
    return out;
}

static void check_keys(etcd *c, const char *key, const etcd_get_opts *o, const char *want)
{
    char got[512];
    etcd_res *r = test_ok200(c, etcd_get(c, key, o));
    CHECK_STR(keys_of(r, got, sizeof got), want);
    etcd_res_free(r);
}

static etcd_get_opts range(const char *end)
{
    etcd_get_opts o;
    memset(&o, 0, sizeof o);
    o.range_end = end;
    return o;
}

static void fixture(etcd *c, const char *d)
{
    static const char *const names[] = { "a", "b", "c", "d" };
    char k[64];
    size_t i;
    for (i = 0; i < 4; i++) {
        snprintf(k, sizeof k, "%s%s", d, names[i]);
        test_set(c, k, "1");
    }
    snprintf(k, sizeof k, "%.*s~", (int)strlen(d) - 1, d);   /* just past the dir */
    test_set(c, k, "1");
}

static void test_get_range(void)
{
    etcd_get_opts o = range("/gr/c");
    fixture(cli, "/gr/");
    check_keys(cli, "/gr/a", &o, "/gr/a /gr/b");
    o = range("/gr/d\xff");
    check_keys(cli, "/gr/b", &o, "/gr/b /gr/c /gr/d");
    o = range("");                                        /* from key on: the dir and past it */
    check_keys(cli, "/gr/c", &o, "/gr/c /gr/d /gr~");
    o = range("/gr/a");                                   /* empty range */
    check_keys(cli, "/gr/c", &o, "");
    o = range(NULL);                                      /* the key alone */
    check_keys(cli, "/gr/c", &o, "/gr/c");
    o = range("/gr/z");
    o.count_only = true;
    {
        etcd_res *r = test_ok200(cli, etcd_get(cli, "/gr/a", &o));
        CHECK_INT(r ? r->count : -1, 4);
        CHECK_INT(r ? (long long)r->nkvs : -1, 0);
        etcd_res_free(r);
    }
}

/* Bytes: NUL and 0xff in both ends, lengths given. */
static void test_binary_range(void)
{
    static const char k1[] = "/gb/\x00\x01", k2[] = "/gb/\x00\xff", k3[] = "/gb/\x01";
    etcd_get_opts o;
    etcd_set_opts so;
    etcd_res *r;
    memset(&so, 0, sizeof so);
    so.key_len = sizeof k1 - 1;
    etcd_res_free(test_ok200(cli, etcd_set(cli, k1, "1", &so)));
    so.key_len = sizeof k2 - 1;
    etcd_res_free(test_ok200(cli, etcd_set(cli, k2, "2", &so)));
    so.key_len = sizeof k3 - 1;
    etcd_res_free(test_ok200(cli, etcd_set(cli, k3, "3", &so)));
    memset(&o, 0, sizeof o);
    o.key_len = sizeof k1 - 1;
    o.range_end = k3;                                     /* [k1, k3): k1 and k2 */
    o.range_end_len = sizeof k3 - 1;
    r = test_ok200(cli, etcd_get(cli, k1, &o));
    CHECK_INT(r ? (long long)r->nkvs : -1, 2);
    if (r && r->nkvs == 2) {
        CHECK_INT((long long)r->kvs[1].key_len, (long long)sizeof k2 - 1);
        CHECK(memcmp(r->kvs[1].key, k2, sizeof k2 - 1) == 0);
    }
    etcd_res_free(r);
}

/* key_prefix goes before both ends; "" stays within the prefix. */
static void test_key_prefix_both_ends(void)
{
    etcd *pc = test_client_at(srv.url, "/kp", 5.0, false, 0, 0);
    etcd_get_opts o;
    etcd_delete_opts d;
    etcd_res *r;
    REQUIRE(pc != NULL);
    fixture(cli, "/kp/x/");
    test_set(cli, "/kq", "1");                            /* past the prefix */
    o = range("/x/c");
    check_keys(pc, "/x/a", &o, "/kp/x/a /kp/x/b");        /* keys come back whole */
    o = range("");
    check_keys(pc, "/x/b", &o, "/kp/x/b /kp/x/c /kp/x/d /kp/x~");   /* "" ends with the prefix */
    memset(&d, 0, sizeof d);
    d.range_end = "";
    d.prev_kv = true;
    r = test_ok200(pc, etcd_delete(pc, "/x/c", &d));
    CHECK_INT(r ? r->deleted : -1, 3);                   /* /x/c /x/d /x~, never /kq */
    etcd_res_free(r);
    o = range(NULL);
    check_keys(cli, "/kq", &o, "/kq");
    etcd_free(pc);
}

static void test_delete_range(void)
{
    etcd_delete_opts d;
    etcd_get_opts o = range("/ds");
    etcd_res *r;
    fixture(cli, "/dr/");
    memset(&d, 0, sizeof d);
    d.range_end = "/dr/c";
    d.prev_kv = true;
    r = test_ok200(cli, etcd_delete(cli, "/dr/a", &d));
    CHECK_INT(r ? r->deleted : -1, 2);
    CHECK_INT(r ? (long long)r->nprev_kvs : -1, 2);
    etcd_res_free(r);
    check_keys(cli, "/dr/", &o, "/dr/c /dr/d /dr~");
}

static void test_revision_bounds(void)
{
    etcd_get_opts o;
    int64_t r1, r2, r3;
    r1 = test_set(cli, "/rb/a", "1");
    r2 = test_set(cli, "/rb/b", "1");
    r3 = test_set(cli, "/rb/c", "1");
    test_set(cli, "/rb/a", "2");                          /* a: created r1, modified later */
    o = range("/rb/z");
    o.min_mod_revision = r2;
    check_keys(cli, "/rb/", &o, "/rb/a /rb/b /rb/c");
    o.max_mod_revision = r3;
    check_keys(cli, "/rb/", &o, "/rb/b /rb/c");
    o = range("/rb/z");
    o.max_create_revision = r2;
    check_keys(cli, "/rb/", &o, "/rb/a /rb/b");
    o.min_create_revision = r2;
    check_keys(cli, "/rb/", &o, "/rb/b");
    (void)r1;
}

/* Refused before anything is sent: the store's revision does not move. */
static void test_bad_input(void)
{
    etcd_get_opts o = range("/x");
    etcd_delete_opts d;
    etcd_watch_opts w;
    int64_t rev = test_rev(cli);
    CHECK(etcd_readdir(cli, "/x/", &o) == NULL);
    CHECK_INT(etcd_errcode(cli), ETCD_EARG);
    CHECK_HAS(etcd_errstr(cli), "range_end");
    CHECK(etcd_readdir_pages(cli, "/x/", &o) == NULL);
    CHECK_INT(etcd_errcode(cli), ETCD_EARG);
    o = range(NULL);
    o.min_mod_revision = -1;
    CHECK(etcd_get(cli, "/x", &o) == NULL);
    CHECK_INT(etcd_errcode(cli), ETCD_EARG);
    o.min_mod_revision = 0;
    o.max_create_revision = -5;
    CHECK(etcd_get(cli, "/x", &o) == NULL);
    CHECK_INT(etcd_errcode(cli), ETCD_EARG);
    o = range(NULL);
    o.max_mod_revision = 3;
    CHECK(etcd_readdir_pages(cli, "/x/", &o) == NULL);
    CHECK_INT(etcd_errcode(cli), ETCD_EARG);
    memset(&d, 0, sizeof d);
    d.range_end = "";
    CHECK(etcd_rmdir(cli, "/x/", &d) == NULL);
    CHECK_INT(etcd_errcode(cli), ETCD_EARG);
    CHECK(etcd_delete(cli, "", &d) == NULL);              /* no key, no range */
    CHECK_INT(etcd_errcode(cli), ETCD_EARG);
    memset(&w, 0, sizeof w);
    w.range_end = "/y";
    CHECK(etcd_watchdir(cli, "/x/", &w) == NULL);
    CHECK_INT(etcd_errcode(cli), ETCD_EARG);
    CHECK(etcd_mirror(cli, "/x/", &w) == NULL);
    CHECK_INT(etcd_errcode(cli), ETCD_EARG);
    CHECK_INT(test_rev(cli), rev);
}

/* A watch on [key, range_end): the events inside, none outside; the range
   end is the watcher's own copy (the caller's buffer is gone), so a
   reopened stream watches the same range. */
static void test_watch_range(void)
{
    etcd_watch_opts o;
    etcd_watcher *w;
    char end[16];
    int got = 0, tries;
    memset(&o, 0, sizeof o);
    o.timeout = 2.0;
    o.auto_resume = true;
    strcpy(end, "/wr/c");
    o.range_end = end;
    w = etcd_watch(cli, "/wr/a", &o);
    REQUIRE(w != NULL);
    memset(end, 'x', sizeof end - 1);                    /* the caller's buffer changes */
    etcd_res_free(etcd_watch_next(w));                   /* created */
    test_set(cli, "/wr/c", "0");
    test_set(cli, "/wr/b", "1");
    test_set(cli, "/wr/a", "1");
    for (tries = 0; tries < 5 && got < 2; tries++) {
        etcd_res *m = etcd_watch_next(w);
        size_t i;
        for (i = 0; m && i < m->nevents; i++) {
            CHECK(strcmp(m->events[i].kv.key, "/wr/c") != 0);
            got++;
        }
        etcd_res_free(m);
    }
    CHECK_INT(got, 2);
    test_etcd_kill(&srv);                                 /* reopened: the same range */
    REQUIRE(test_etcd_restart(&srv) == 0);
    test_set(cli, "/wr/c", "0");
    test_set(cli, "/wr/b", "1");
    for (tries = 0, got = 0; tries < 10 && got < 1; tries++) {
        etcd_res *m = etcd_watch_next(w);
        size_t i;
        for (i = 0; m && i < m->nevents; i++) {
            CHECK_STR(m->events[i].kv.key, "/wr/b");
            got++;
        }
        etcd_res_free(m);
    }
    CHECK_INT(got, 1);
    etcd_watchcancel(w);
    strcpy(end, "");                                      /* "": from the key on */
    o.range_end = end;
    w = etcd_watch(cli, "/wr/b", &o);
    REQUIRE(w != NULL);
    etcd_res_free(etcd_watch_next(w));
    test_set(cli, "/wr/a", "0");
    test_set(cli, "/wz", "1");
    {
        etcd_res *m = etcd_watch_next(w);
        CHECK(m != NULL && m->nevents == 1);
        if (m && m->nevents) CHECK_STR(m->events[0].kv.key, "/wz");
        etcd_res_free(m);
    }
    etcd_watchcancel(w);
}

int main(void)
{
    if (test_etcd_start(&srv, NULL) != 0) return 1;
    cli = test_client(&srv, NULL);
    if (cli) {
        RUN(test_get_range);
        RUN(test_binary_range);
        RUN(test_key_prefix_both_ends);
        RUN(test_delete_range);
        RUN(test_revision_bounds);
        RUN(test_bad_input);
        RUN(test_watch_range);
    }
    etcd_free(cli);
    test_etcd_stop(&srv);
    return test_summary();
}
