/* test_kv.c - get, set, setnx, setx, delete, readdir, rmdir against a real
   etcd started by the harness: every option of etcd_get_opts,
   etcd_set_opts and etcd_delete_opts, every result field they fill.
   Each test uses keys under "/<test name>/" so that tests do not meet. */
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
#include "harness.h"

static test_etcd srv;
static etcd *cli;                     /* JSON serializer, no key_prefix */
static uint64_t ctl_cluster_id, ctl_member_id, ctl_raft_term;   /* per etcdctl */

/* ---- helpers ------------------------------------------------------------ */

static etcd_res *get(const char *key, const etcd_get_opts *o)
{
    return test_ok200(cli, etcd_get(cli, key, o));
}

static etcd_res *dir(etcd *c, const char *d, const etcd_get_opts *o)
{
    return test_ok200(c, etcd_readdir(c, d, o));
}

/* The value of key as etcdctl prints it (trailing newline removed). */
static void ctl_value(const char *key, char *out, size_t n)
{
    const char *args[] = { "get", key, "--print-value-only", NULL };
    size_t len;
    CHECK_INT(test_etcdctl(&srv, out, n, args), 0);
    len = strlen(out);
    if (len && out[len - 1] == '\n') out[len - 1] = '\0';
}

/* Unsigned number after "name": in etcdctl's JSON output; 0 if absent. */
static uint64_t json_u64(const char *out, const char *name)
{
    char pat[64];
    const char *p;
    snprintf(pat, sizeof pat, "\"%s\":", name);
    p = strstr(out, pat);
    return p ? strtoull(p + strlen(pat), NULL, 10) : 0;
}

/* How many keys etcdctl sees under prefix ("" = every key). */
static long ctl_count(const char *prefix)
{
    const char *args[] = { "get", prefix, "--prefix", "--keys-only", "--limit=1",
                           "-w", "json", NULL };
    char out[4096];
    CHECK_INT(test_etcdctl(&srv, out, sizeof out, args), 0);
    return (long)json_u64(out, "count");
}

/* ---- set / get ---------------------------------------------------------- */

static void test_set_get_fields(void)
{
    const char *k = "/test_set_get_fields/k";
    etcd_res *r;
    int64_t rev1 = test_put(cli, k, "\"v1\""), rev2;
    REQUIRE(rev1 > 0);
    r = get(k, NULL);
    REQUIRE(r);
    CHECK_INT(r->nkvs, 1);
    CHECK_INT(r->count, 1);
    CHECK(!r->more);
    CHECK_INT(r->revision, rev1);
    if (r->nkvs == 1) {
        test_check_kv(&r->kvs[0], k, "\"v1\"");
        CHECK_INT(r->kvs[0].create_revision, rev1);
        CHECK_INT(r->kvs[0].mod_revision, rev1);
        CHECK_INT(r->kvs[0].version, 1);
        CHECK_INT(r->kvs[0].lease, 0);
    }
    etcd_res_free(r);

    rev2 = test_put(cli, k, "{\"n\":2}");
    CHECK(rev2 > rev1);
    r = get(k, NULL);
    REQUIRE(r);
    CHECK_INT(r->nkvs, 1);
    if (r->nkvs == 1) {
        test_check_kv(&r->kvs[0], k, "{\"n\":2}");
        CHECK_INT(r->kvs[0].create_revision, rev1);
        CHECK_INT(r->kvs[0].mod_revision, rev2);
        CHECK_INT(r->kvs[0].version, 2);
    }
    etcd_res_free(r);
}

/* Header fields of a set answer equal what etcdctl reports (cluster and
   member ids above 2^63 on this server: parsed as uint64, not double). */
static void test_header_fields(void)
{
    etcd_res *r = test_ok200(cli, etcd_set(cli, "/test_header_fields/k", "1", NULL));
    REQUIRE(r);
    CHECK(r->body != NULL && strstr(r->body, "\"header\"") != NULL);
    CHECK(r->cluster_id == ctl_cluster_id);
    CHECK(r->member_id == ctl_member_id);
    CHECK(r->cluster_id != 0 && r->member_id != 0);
    CHECK_INT(r->raft_term, ctl_raft_term);
    CHECK(r->revision > 1);
    CHECK(r->error == NULL && r->message == NULL);
    CHECK_INT(r->code, 0);
    etcd_res_free(r);
}

static void test_get_missing(void)
{
    etcd_res *r = etcd_get(cli, "/test_get_missing/nope", NULL);
    REQUIRE(r);
    CHECK_INT(r->status, 200);
    CHECK_INT(r->nkvs, 0);
    CHECK_INT(r->count, 0);
    CHECK(!r->more);
    CHECK(r->revision > 0);
    CHECK(r->cluster_id == ctl_cluster_id);
    CHECK_STR(etcd_errstr(cli), "");
    etcd_res_free(r);
}

static void check_empty_key_error(etcd *c, etcd_res *r)
{
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_HAS(etcd_errstr(c), "key should not be empty");
}

/* Every key call refuses "" and NULL, and nothing is written. */
static void check_empty_keys(etcd *c)
{
    const char *keys[2] = { "", NULL };
    int i;
    for (i = 0; i < 2; i++) {
        const char *k = keys[i];
        check_empty_key_error(c, etcd_get(c, k, NULL));
        check_empty_key_error(c, etcd_set(c, k, "1", NULL));
        check_empty_key_error(c, etcd_setnx(c, k, "1", NULL));
        check_empty_key_error(c, etcd_setx(c, k, "1", NULL));
        check_empty_key_error(c, etcd_delete(c, k, NULL));
    }
}

static void test_empty_key(void)
{
    etcd_opts o = {0};
    etcd *pc;
    int64_t before = test_rev(cli);
    REQUIRE(before > 0);
    check_empty_keys(cli);
    o.key_prefix = "/test_empty_key/";   /* "" is refused even with a prefix */
    pc = test_client(&srv, &o);
    REQUIRE(pc);
    check_empty_keys(pc);
    etcd_free(pc);
    CHECK_INT(test_rev(cli), before);
    CHECK_INT(ctl_count("/test_empty_key"), 0);
}

/* The check comes before any I/O: a dead endpoint still says "empty key". */
static void test_empty_key_nothing_sent(void)
{
    char host[64], err[256];
    etcd_opts o = {0};
    etcd *dead;
    snprintf(host, sizeof host, "http://127.0.0.1:%d", test_free_port());
    o.http_host = host;
    o.api_prefix = "/v3";
    dead = etcd_new(&o, err, sizeof err);
    REQUIRE(dead);
    check_empty_key_error(dead, etcd_set(dead, "", "1", NULL));
    check_empty_key_error(dead, etcd_get(dead, NULL, NULL));
    etcd_free(dead);
}

/* ---- readdir / rmdir ---------------------------------------------------- */

/* Keys around dir "/<t>/a": inside "/<t>/a", "/<t>/a/x", "/<t>/ab";
   outside "/<t>/`" (just below 'a'), "/<t>/b" (the range end), "/<t>". */
static void put_dir_fixture(const char *t)
{
    static const char *in[] = { "a", "a/x", "ab" };
    static const char *out[] = { "`", "b", "" };
    char k[128];
    int i;
    for (i = 0; i < 3; i++) {
        snprintf(k, sizeof k, "/%s/%s", t, in[i]);
        test_put(cli, k, "1");
        if (out[i][0]) snprintf(k, sizeof k, "/%s/%s", t, out[i]);
        else snprintf(k, sizeof k, "/%s", t);
        test_put(cli, k, "2");
    }
}

static void test_readdir_prefix(void)
{
    etcd_res *r;
    put_dir_fixture("test_readdir_prefix");
    r = dir(cli, "/test_readdir_prefix/a", NULL);
    REQUIRE(r);
    CHECK_INT(r->nkvs, 3);
    CHECK_INT(r->count, 3);
    if (r->nkvs == 3) {   /* etcd answers in key order */
        test_check_kv(&r->kvs[0], "/test_readdir_prefix/a", "1");
        test_check_kv(&r->kvs[1], "/test_readdir_prefix/a/x", "1");
        test_check_kv(&r->kvs[2], "/test_readdir_prefix/ab", "1");
    }
    etcd_res_free(r);

    r = dir(cli, "/test_readdir_prefix/a/", NULL);   /* only the subtree */
    REQUIRE(r);
    CHECK_INT(r->nkvs, 1);
    if (r->nkvs == 1) test_check_kv(&r->kvs[0], "/test_readdir_prefix/a/x", "1");
    etcd_res_free(r);

    r = dir(cli, "/test_readdir_prefix/zzz", NULL);  /* empty range */
    REQUIRE(r);
    CHECK_INT(r->nkvs, 0);
    CHECK_INT(r->count, 0);
    etcd_res_free(r);
}

static void test_rmdir_prefix(void)
{
    etcd_res *r;
    put_dir_fixture("test_rmdir_prefix");
    CHECK_INT(ctl_count("/test_rmdir_prefix"), 6);
    r = test_ok200(cli, etcd_rmdir(cli, "/test_rmdir_prefix/a", NULL));
    REQUIRE(r);
    CHECK_INT(r->deleted, 3);
    CHECK_INT(r->nprev_kvs, 0);
    CHECK(r->revision > 0);
    etcd_res_free(r);
    CHECK_INT(ctl_count("/test_rmdir_prefix/a"), 0);
    CHECK_INT(ctl_count("/test_rmdir_prefix"), 3);   /* "`", "b" and the bare one */

    r = test_ok200(cli, etcd_rmdir(cli, "/test_rmdir_prefix/a", NULL));
    REQUIRE(r);
    CHECK_INT(r->deleted, 0);
    etcd_res_free(r);
}

static void test_rmdir_prev_kv(void)
{
    etcd_delete_opts o = {0};
    etcd_res *r;
    test_put(cli, "/test_rmdir_prev_kv/d/1", "\"one\"");
    test_put(cli, "/test_rmdir_prev_kv/d/2", "\"two\"");
    o.prev_kv = true;
    o.timeout = 3;
    r = test_ok200(cli, etcd_rmdir(cli, "/test_rmdir_prev_kv/d/", &o));
    REQUIRE(r);
    CHECK_INT(r->deleted, 2);
    CHECK_INT(r->nprev_kvs, 2);
    if (r->nprev_kvs == 2) {
        test_check_kv(&r->prev_kvs[0], "/test_rmdir_prev_kv/d/1", "\"one\"");
        test_check_kv(&r->prev_kvs[1], "/test_rmdir_prev_kv/d/2", "\"two\"");
        CHECK_INT(r->prev_kvs[0].version, 1);
        CHECK(r->prev_kvs[0].create_revision > 0);
    }
    etcd_res_free(r);
}

/* No key_prefix: readdir("") is every key of the store. */
static void test_readdir_empty_dir_all(void)
{
    etcd_res *r;
    size_t i, found = 0;
    test_put(cli, "/test_readdir_empty_dir_all/k", "1");
    r = dir(cli, "", NULL);
    REQUIRE(r);
    CHECK_INT(r->count, ctl_count(""));
    CHECK_INT(r->nkvs, r->count);
    for (i = 0; i < r->nkvs; i++)
        found += strcmp(r->kvs[i].key, "/test_readdir_empty_dir_all/k") == 0;
    CHECK_INT(found, 1);
    etcd_res_free(r);
}

/* With a key_prefix, readdir("") and rmdir("") cover exactly the prefix;
   returned keys keep it. */
static void test_empty_dir_key_prefix(void)
{
    etcd_opts o = {0};
    etcd *pc;
    etcd_res *r;
    test_put(cli, "/test_empty_dir_key_prefix", "0");      /* the prefix minus '/' */
    test_put(cli, "/test_empty_dir_key_prefix0", "0");     /* the range end */
    o.key_prefix = "/test_empty_dir_key_prefix/";
    pc = test_client(&srv, &o);
    REQUIRE(pc);
    test_put(pc, "a", "1");
    test_put(pc, "b/c", "2");
    r = dir(pc, "", NULL);
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->nkvs, 2);
        if (r->nkvs == 2) {
            test_check_kv(&r->kvs[0], "/test_empty_dir_key_prefix/a", "1");
            test_check_kv(&r->kvs[1], "/test_empty_dir_key_prefix/b/c", "2");
        }
    }
    etcd_res_free(r);
    r = test_ok200(pc, etcd_rmdir(pc, "", NULL));
    CHECK(r != NULL);
    if (r) CHECK_INT(r->deleted, 2);
    etcd_res_free(r);
    etcd_free(pc);
    CHECK_INT(ctl_count("/test_empty_dir_key_prefix/"), 0);
    CHECK_INT(ctl_count("/test_empty_dir_key_prefix"), 2);
}

/* ---- setnx / setx ------------------------------------------------------- */

static void check_value(const char *key, const char *want)
{
    char out[256];
    ctl_value(key, out, sizeof out);
    CHECK_STR(out, want);
}

static void test_setnx(void)
{
    const char *k = "/test_setnx/k";
    etcd_res *r = test_ok200(cli, etcd_setnx(cli, k, "\"first\"", NULL));
    REQUIRE(r);
    CHECK(r->succeeded);
    CHECK(r->revision > 0);
    etcd_res_free(r);
    check_value(k, "\"first\"");

    r = test_ok200(cli, etcd_setnx(cli, k, "\"second\"", NULL));
    REQUIRE(r);
    CHECK(!r->succeeded);
    etcd_res_free(r);
    check_value(k, "\"first\"");
}

static void test_setx(void)
{
    const char *k = "/test_setx/k";
    etcd_res *r = test_ok200(cli, etcd_setx(cli, k, "\"first\"", NULL));
    REQUIRE(r);
    CHECK(!r->succeeded);
    CHECK(r->revision > 0);
    etcd_res_free(r);
    CHECK_INT(ctl_count(k), 0);

    test_put(cli, k, "\"old\"");
    r = test_ok200(cli, etcd_setx(cli, k, "\"new\"", NULL));
    REQUIRE(r);
    CHECK(r->succeeded);
    etcd_res_free(r);
    check_value(k, "\"new\"");
}

/* ---- get options -------------------------------------------------------- */

/* Three keys whose orders differ by every sort target:
   key a,b,c  version a,c,b  create b,c,a  mod b,a,c  value c,a,b. */
static void put_sort_fixture(void)
{
    test_put(cli, "/test_get_sort/b", "3");
    test_put(cli, "/test_get_sort/b", "3");
    test_put(cli, "/test_get_sort/b", "3");
    test_put(cli, "/test_get_sort/c", "1");
    test_put(cli, "/test_get_sort/a", "2");
    test_put(cli, "/test_get_sort/c", "1");
}

/* readdir sorted by target/order gives the keys' last letters in want. */
static void check_sorted(int order, int target, const char *want)
{
    etcd_get_opts o = {0};
    etcd_res *r;
    char got[8] = "";
    size_t i;
    o.sort_order = order;
    o.sort_target = target;
    r = dir(cli, "/test_get_sort/", &o);
    REQUIRE(r);
    for (i = 0; i < r->nkvs && i < 7; i++) got[i] = r->kvs[i].key[r->kvs[i].key_len - 1];
    got[i] = '\0';
    if (strcmp(got, want) != 0)
        fprintf(stderr, "  sort_order %d sort_target %d:\n", order, target);
    CHECK_STR(got, want);
    etcd_res_free(r);
}

static void test_get_sort(void)
{
    put_sort_fixture();
    check_sorted(1, 0, "abc");
    check_sorted(2, 0, "cba");
    check_sorted(1, 1, "acb");
    check_sorted(2, 1, "bca");
    check_sorted(1, 2, "bca");
    check_sorted(1, 3, "bac");
    check_sorted(2, 3, "cab");
    check_sorted(1, 4, "cab");
    check_sorted(2, 4, "bac");
}

static void test_get_limit_more(void)
{
    etcd_get_opts o = {0};
    etcd_res *r;
    test_put(cli, "/test_get_limit_more/1", "1");
    test_put(cli, "/test_get_limit_more/2", "2");
    test_put(cli, "/test_get_limit_more/3", "3");
    o.limit = 2;
    r = dir(cli, "/test_get_limit_more/", &o);
    REQUIRE(r);
    CHECK_INT(r->nkvs, 2);
    CHECK(r->more);
    CHECK_INT(r->count, 3);
    if (r->nkvs == 2) test_check_kv(&r->kvs[1], "/test_get_limit_more/2", "2");
    etcd_res_free(r);
    o.limit = 3;
    r = dir(cli, "/test_get_limit_more/", &o);
    REQUIRE(r);
    CHECK_INT(r->nkvs, 3);
    CHECK(!r->more);
    etcd_res_free(r);
}

static void test_get_revision(void)
{
    const char *k = "/test_get_revision/k";
    etcd_get_opts o = {0};
    etcd_res *r;
    int64_t rev1 = test_put(cli, k, "\"old\"");
    test_put(cli, k, "\"new\"");
    o.revision = rev1;
    r = get(k, &o);
    REQUIRE(r);
    CHECK_INT(r->nkvs, 1);
    if (r->nkvs == 1) {
        test_check_kv(&r->kvs[0], k, "\"old\"");
        CHECK_INT(r->kvs[0].mod_revision, rev1);
        CHECK_INT(r->kvs[0].version, 1);
    }
    etcd_res_free(r);
    o.revision = 0;   /* newest */
    r = get(k, &o);
    REQUIRE(r);
    CHECK_INT(r->nkvs, 1);
    if (r->nkvs == 1) test_check_kv(&r->kvs[0], k, "\"new\"");
    etcd_res_free(r);
}

static void test_get_keys_only(void)
{
    etcd_get_opts o = {0};
    etcd_res *r;
    test_put(cli, "/test_get_keys_only/k", "\"some value\"");
    o.keys_only = true;
    r = get("/test_get_keys_only/k", &o);
    REQUIRE(r);
    CHECK_INT(r->nkvs, 1);
    if (r->nkvs == 1) {
        test_check_kv(&r->kvs[0], "/test_get_keys_only/k", "");
        CHECK_INT(r->kvs[0].value_len, 0);
        CHECK_INT(r->kvs[0].version, 1);
        CHECK(r->kvs[0].create_revision > 0);
    }
    etcd_res_free(r);
}

static void test_get_count_only(void)
{
    etcd_get_opts o = {0};
    etcd_res *r;
    test_put(cli, "/test_get_count_only/1", "1");
    test_put(cli, "/test_get_count_only/2", "2");
    test_put(cli, "/test_get_count_only/3", "3");
    o.count_only = true;
    r = dir(cli, "/test_get_count_only/", &o);
    REQUIRE(r);
    CHECK_INT(r->count, 3);
    CHECK_INT(r->nkvs, 0);
    etcd_res_free(r);
}

static void test_get_serializable(void)
{
    etcd_get_opts o = {0};
    etcd_res *r;
    int64_t rev = test_put(cli, "/test_get_serializable/k", "[1,2]");
    o.serializable = true;
    o.timeout = 3;
    r = get("/test_get_serializable/k", &o);
    REQUIRE(r);
    CHECK_INT(r->nkvs, 1);
    CHECK(r->revision >= rev);
    if (r->nkvs == 1) test_check_kv(&r->kvs[0], "/test_get_serializable/k", "[1,2]");
    etcd_res_free(r);
}

/* ---- set options -------------------------------------------------------- */

static void test_set_prev_kv(void)
{
    const char *k = "/test_set_prev_kv/k";
    etcd_set_opts o = {0};
    etcd_res *r;
    o.prev_kv = true;
    r = test_ok200(cli, etcd_set(cli, k, "\"one\"", &o));   /* new key: no prev_kv */
    REQUIRE(r);
    CHECK(r->prev_kv == NULL);
    etcd_res_free(r);

    r = test_ok200(cli, etcd_set(cli, k, "\"two\"", &o));
    REQUIRE(r);
    CHECK(r->prev_kv != NULL);
    if (r->prev_kv) {
        test_check_kv(r->prev_kv, k, "\"one\"");
        CHECK_INT(r->prev_kv->version, 1);
        CHECK(r->prev_kv->mod_revision > 0 && r->prev_kv->mod_revision < r->revision);
    }
    etcd_res_free(r);

    r = test_ok200(cli, etcd_set(cli, k, "\"three\"", NULL));   /* not asked for */
    REQUIRE(r);
    CHECK(r->prev_kv == NULL);
    etcd_res_free(r);
}

/* ignore_value keeps the stored value (a new revision and version still);
   on a missing key etcd refuses it: a non-200 result with etcd's error. */
static void test_set_ignore_value(void)
{
    const char *k = "/test_set_ignore_value/k";
    etcd_set_opts o = {0};
    etcd_res *r;
    test_put(cli, k, "\"kept\"");
    o.ignore_value = true;
    r = test_ok200(cli, etcd_set(cli, k, NULL, &o));
    CHECK(r != NULL);
    etcd_res_free(r);
    r = get(k, NULL);
    REQUIRE(r);
    CHECK_INT(r->nkvs, 1);
    if (r->nkvs == 1) {
        test_check_kv(&r->kvs[0], k, "\"kept\"");
        CHECK_INT(r->kvs[0].version, 2);
    }
    etcd_res_free(r);

    r = etcd_set(cli, "/test_set_ignore_value/missing", NULL, &o);
    REQUIRE(r);
    CHECK(r->status >= 400 && r->status < 500);
    CHECK_HAS(r->error, "key not found");
    CHECK_HAS(r->message, "key not found");
    CHECK_INT(r->code, 3);
    etcd_res_free(r);
}

static int64_t grant(int64_t ttl)
{
    etcd_res *r = test_ok200(cli, etcd_grant(cli, ttl, 0));
    int64_t id = r ? r->id : 0;
    CHECK(id != 0);
    etcd_res_free(r);
    return id;
}

static int64_t lease_of(const char *key)
{
    etcd_res *r = get(key, NULL);
    int64_t lease = r && r->nkvs == 1 ? r->kvs[0].lease : -1;
    etcd_res_free(r);
    return lease;
}

static void test_set_lease(void)
{
    const char *k = "/test_set_lease/k";
    etcd_set_opts o = {0};
    etcd_res *r;
    int64_t id = grant(60);
    REQUIRE(id != 0);
    o.lease = id;
    r = test_ok200(cli, etcd_set(cli, k, "1", &o));
    CHECK(r != NULL);
    etcd_res_free(r);
    CHECK(lease_of(k) == id);

    memset(&o, 0, sizeof o);   /* ignore_lease: new value, lease kept */
    o.ignore_lease = true;
    r = test_ok200(cli, etcd_set(cli, k, "2", &o));
    CHECK(r != NULL);
    etcd_res_free(r);
    CHECK(lease_of(k) == id);
    check_value(k, "2");

    r = test_ok200(cli, etcd_set(cli, k, "3", NULL));   /* a plain set drops it */
    CHECK(r != NULL);
    etcd_res_free(r);
    CHECK_INT(lease_of(k), 0);
    r = etcd_revoke(cli, id);
    etcd_res_free(r);
}

/* ---- bytes -------------------------------------------------------------- */

static void test_raw_val_len_nul(void)
{
    static const char val[] = "a\0b\0c";
    const char *k = "/test_raw_val_len_nul/k";
    const char *args[] = { "get", k, "-w", "json", NULL };
    etcd_opts oo = {0};
    etcd_set_opts o = {0};
    etcd *raw;
    etcd_res *r;
    char out[1024];
    oo.serializer = ETCD_SERIALIZER_RAW;
    raw = test_client(&srv, &oo);
    REQUIRE(raw);
    o.val_len = 5;
    r = test_ok200(raw, etcd_set(raw, k, val, &o));
    CHECK(r != NULL);
    etcd_res_free(r);
    CHECK_INT(test_etcdctl(&srv, out, sizeof out, args), 0);
    CHECK_HAS(out, "\"value\":\"YQBiAGM=\"");   /* base64 of a\0b\0c */
    r = test_ok200(raw, etcd_get(raw, k, NULL));
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->nkvs, 1);
        if (r->nkvs == 1) {
            CHECK_MEM(r->kvs[0].value, r->kvs[0].value_len, val, 5);
            CHECK(r->kvs[0].value[5] == '\0');
        }
    }
    etcd_res_free(r);
    etcd_free(raw);
}

/* Keys holding 0x01 and 0xff round-trip through etcd.h and etcdctl. */
static void test_binary_keys(void)
{
    const char *k1 = "/test_binary_keys/\x01" "a\xff" "b";   /* written by etcd.h */
    const char *k2 = "/test_binary_keys/\xff\x01";           /* written by etcdctl */
    const char *args[] = { "put", k2, "\"ctl\"", NULL };
    etcd_res *r;
    test_put(cli, k1, "\"lib\"");
    check_value(k1, "\"lib\"");
    CHECK_INT(test_etcdctl(&srv, NULL, 0, args), 0);
    r = get(k2, NULL);
    REQUIRE(r);
    CHECK_INT(r->nkvs, 1);
    if (r->nkvs == 1) test_check_kv(&r->kvs[0], k2, "\"ctl\"");
    etcd_res_free(r);
    r = dir(cli, "/test_binary_keys/", NULL);
    REQUIRE(r);
    CHECK_INT(r->nkvs, 2);
    if (r->nkvs == 2) {   /* key order: 0x01 sorts before 0xff */
        test_check_kv(&r->kvs[0], k1, "\"lib\"");
        test_check_kv(&r->kvs[1], k2, "\"ctl\"");
    }
    etcd_res_free(r);
    r = test_ok200(cli, etcd_delete(cli, k1, NULL));
    REQUIRE(r);
    CHECK_INT(r->deleted, 1);
    etcd_res_free(r);
    CHECK_INT(ctl_count("/test_binary_keys/"), 1);
}

/* ---- delete ------------------------------------------------------------- */

static void test_delete(void)
{
    const char *k = "/test_delete/a";
    etcd_res *r;
    test_put(cli, k, "1");
    test_put(cli, "/test_delete/ab", "2");   /* delete is one key, not a prefix */
    r = test_ok200(cli, etcd_delete(cli, k, NULL));
    REQUIRE(r);
    CHECK_INT(r->deleted, 1);
    CHECK_INT(r->nprev_kvs, 0);
    CHECK(r->revision > 0);
    etcd_res_free(r);
    CHECK_INT(ctl_count(k), 1);   /* only /test_delete/ab is left */
    check_value("/test_delete/ab", "2");

    r = test_ok200(cli, etcd_delete(cli, k, NULL));
    REQUIRE(r);
    CHECK_INT(r->deleted, 0);
    etcd_res_free(r);
}

static void test_delete_prev_kv(void)
{
    const char *k = "/test_delete_prev_kv/k";
    etcd_delete_opts o = {0};
    etcd_res *r;
    test_put(cli, k, "{\"x\":true}");
    o.prev_kv = true;
    r = test_ok200(cli, etcd_delete(cli, k, &o));
    REQUIRE(r);
    CHECK_INT(r->deleted, 1);
    CHECK_INT(r->nprev_kvs, 1);
    if (r->nprev_kvs == 1) {
        test_check_kv(&r->prev_kvs[0], k, "{\"x\":true}");
        CHECK_INT(r->prev_kvs[0].version, 1);
    }
    etcd_res_free(r);
}

/* ---- per-call timeouts -------------------------------------------------- */

/* r failed with "timeout" within about t seconds of t0. */
static void check_timed_out(etcd *c, etcd_res *r, double t0, double t)
{
    double took = test_now() - t0;
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_HAS(etcd_errstr(c), "timeout");
    if (took < t * 0.8 || took > t + 1.5) fprintf(stderr, "  took %.2f s\n", took);
    CHECK(took >= t * 0.8 && took < t + 1.5);
}

/* The timeout of each options struct applies (the client's default is 5 s):
   a server that accepts and never answers fails the call after it. */
static void test_opts_timeout(void)
{
    etcd_get_opts g = {0};
    etcd_set_opts s = {0};
    etcd_delete_opts d = {0};
    etcd_opts o = {0};
    char host[64], err[256];
    double t0;
    int port, fd = test_silent_listener(&port);
    etcd *c;
    REQUIRE(fd >= 0);
    snprintf(host, sizeof host, "http://127.0.0.1:%d", port);
    o.http_host = host;
    o.api_prefix = "/v3";
    o.max_fails = 100;      /* every call must reach the silent endpoint, not skip it */
    c = etcd_new(&o, err, sizeof err);
    if (!c) close(fd);
    REQUIRE(c);
    g.timeout = s.timeout = d.timeout = 0.4;
    t0 = test_now(); check_timed_out(c, etcd_get(c, "/test_opts_timeout/k", &g), t0, 0.4);
    t0 = test_now(); check_timed_out(c, etcd_readdir(c, "/test_opts_timeout/", &g), t0, 0.4);
    t0 = test_now(); check_timed_out(c, etcd_set(c, "/test_opts_timeout/k", "1", &s), t0, 0.4);
    t0 = test_now(); check_timed_out(c, etcd_setnx(c, "/test_opts_timeout/k", "1", &s), t0, 0.4);
    t0 = test_now(); check_timed_out(c, etcd_delete(c, "/test_opts_timeout/k", &d), t0, 0.4);
    t0 = test_now(); check_timed_out(c, etcd_rmdir(c, "/test_opts_timeout/", &d), t0, 0.4);
    etcd_free(c);
    close(fd);
}

/* Last: rmdir("") with no key_prefix deletes every key. */
static void test_rmdir_empty_dir_all(void)
{
    long before;
    etcd_res *r;
    test_put(cli, "/test_rmdir_empty_dir_all/k", "1");
    before = ctl_count("");
    CHECK(before > 10);
    r = test_ok200(cli, etcd_rmdir(cli, "", NULL));
    REQUIRE(r);
    CHECK_INT(r->deleted, before);
    etcd_res_free(r);
    CHECK_INT(ctl_count(""), 0);
}

/* ---- main --------------------------------------------------------------- */

static int read_ids(void)
{
    const char *args[] = { "endpoint", "status", "-w", "json", NULL };
    char out[4096];
    if (test_etcdctl(&srv, out, sizeof out, args) != 0) return -1;
    ctl_cluster_id = json_u64(out, "cluster_id");
    ctl_member_id = json_u64(out, "member_id");
    ctl_raft_term = json_u64(out, "raft_term");
    return ctl_cluster_id && ctl_member_id && ctl_raft_term ? 0 : -1;
}

int main(void)
{
    if (test_etcd_start(&srv, NULL) != 0) return 1;
    cli = test_client(&srv, NULL);
    if (!cli || read_ids() != 0) {
        fprintf(stderr, "test_kv: setup failed\n");
        etcd_free(cli);
        test_etcd_stop(&srv);
        return 1;
    }
    RUN(test_set_get_fields);
    RUN(test_header_fields);
    RUN(test_get_missing);
    RUN(test_empty_key);
    RUN(test_empty_key_nothing_sent);
    RUN(test_readdir_prefix);
    RUN(test_rmdir_prefix);
    RUN(test_rmdir_prev_kv);
    RUN(test_readdir_empty_dir_all);
    RUN(test_empty_dir_key_prefix);
    RUN(test_setnx);
    RUN(test_setx);
    RUN(test_get_sort);
    RUN(test_get_limit_more);
    RUN(test_get_revision);
    RUN(test_get_keys_only);
    RUN(test_get_count_only);
    RUN(test_get_serializable);
    RUN(test_set_prev_kv);
    RUN(test_set_ignore_value);
    RUN(test_set_lease);
    RUN(test_raw_val_len_nul);
    RUN(test_binary_keys);
    RUN(test_delete);
    RUN(test_delete_prev_kv);
    RUN(test_opts_timeout);
    RUN(test_rmdir_empty_dir_all);
    etcd_free(cli);
    test_etcd_stop(&srv);
    return test_summary();
}
