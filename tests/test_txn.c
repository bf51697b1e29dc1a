/* test_txn.c - etcd_txn against a real etcd started by the harness: every
   compare target with every result, both branches, RANGE/PUT/DELETE ops
   with their options, nested responses, key_prefix, argument errors and
   values checked by the JSON serializer before anything is sent.
   Each test uses keys under "/<test name>/". */
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
#include "harness.h"

static test_etcd srv;
static etcd *cli;   /* JSON serializer, no key_prefix */

/* ---- helpers ------------------------------------------------------------ */

static etcd_res *txn(etcd *c, const etcd_compare *cmp, size_t ncmp, const etcd_op *s,
                     size_t ns, const etcd_op *f, size_t nf)
{
    return test_ok200(c, etcd_txn(c, cmp, ncmp, s, ns, f, nf, NULL));
}

/* The value etcdctl reads for key ("" when absent). */
static void check_ctl_value(const char *key, const char *want)
{
    const char *args[] = { "get", key, "--print-value-only", NULL };
    char out[512];
    size_t len;
    CHECK_INT(test_etcdctl(&srv, out, sizeof out, args), 0);
    len = strlen(out);
    if (len && out[len - 1] == '\n') out[len - 1] = '\0';
    if (strcmp(out, want) != 0) fprintf(stderr, "  key %s:\n", key);
    CHECK_STR(out, want);
}

static int64_t lease_of(etcd *c, const char *key)
{
    etcd_res *r = test_ok200(c, etcd_get(c, key, NULL));
    int64_t lease = r && r->nkvs == 1 ? r->kvs[0].lease : -1;
    etcd_res_free(r);
    return lease;
}

static etcd_compare cmp_int(etcd_cmp_target t, etcd_cmp_result res, const char *key, int64_t v)
{
    etcd_compare c;
    memset(&c, 0, sizeof c);
    c.target = t;
    c.result = res;
    c.key = key;
    if (t == ETCD_CMP_VERSION) c.version = v;
    else if (t == ETCD_CMP_CREATE) c.create_revision = v;
    else if (t == ETCD_CMP_MOD) c.mod_revision = v;
    else c.lease = v;
    return c;
}

static etcd_compare cmp_value(etcd_cmp_result res, const char *key, const char *v)
{
    etcd_compare c;
    memset(&c, 0, sizeof c);
    c.target = ETCD_CMP_VALUE;
    c.result = res;
    c.key = key;
    c.value = v;
    return c;
}

static etcd_op op(etcd_op_type type, const char *key, const char *value)
{
    etcd_op o;
    memset(&o, 0, sizeof o);
    o.type = type;
    o.key = key;
    o.value = value;
    return o;
}

/* ---- compares ----------------------------------------------------------- */

#define YES "/test_txn_compare/yes"
#define NO  "/test_txn_compare/no"

/* One compare; success reads YES, failure reads NO: the branch taken
   shows both in succeeded and in which key the range response holds. */
static void check_cmp(etcd_compare c, bool want, int line)
{
    etcd_op s = op(ETCD_OP_RANGE, YES, NULL), f = op(ETCD_OP_RANGE, NO, NULL);
    etcd_res *r = txn(cli, &c, 1, &s, 1, &f, 1);
    int bad = t__cur_failed;
    t__cur_failed = 0;
    CHECK(r != NULL);
    if (r) {
        CHECK(r->succeeded == want);
        CHECK_INT(r->nresponses, 1);
        if (r->nresponses == 1) {
            CHECK_INT(r->responses[0].nkvs, 1);
            if (r->responses[0].nkvs == 1)
                CHECK_STR(r->responses[0].kvs[0].key, want ? YES : NO);
        }
    }
    if (t__cur_failed) fprintf(stderr, "  (the compare case of line %d)\n", line);
    t__cur_failed |= bad;
    etcd_res_free(r);
}

#define CMP(t, res, key, v, want) check_cmp(cmp_int(t, res, key, v), want, __LINE__)
#define CMPV(res, key, v, want) check_cmp(cmp_value(res, key, v), want, __LINE__)

/* v (re)created: create revision *cr, then value "b", version 2 at *mr. */
static void put_compare_fixture(int64_t *cr, int64_t *mr)
{
    test_put(cli, YES, "\"yes\"");
    test_put(cli, NO, "\"no\"");
    etcd_res_free(etcd_delete(cli, "/test_txn_compare/v", NULL));
    *cr = test_put(cli, "/test_txn_compare/v", "\"a\"");
    *mr = test_put(cli, "/test_txn_compare/v", "\"b\"");
}

static void test_compare_version(void)
{
    const char *k = "/test_txn_compare/v";
    int64_t cr, mr;
    put_compare_fixture(&cr, &mr);
    CMP(ETCD_CMP_VERSION, ETCD_CMP_EQUAL, k, 2, true);
    CMP(ETCD_CMP_VERSION, ETCD_CMP_EQUAL, k, 3, false);
    CMP(ETCD_CMP_VERSION, ETCD_CMP_GREATER, k, 1, true);
    CMP(ETCD_CMP_VERSION, ETCD_CMP_GREATER, k, 2, false);
    CMP(ETCD_CMP_VERSION, ETCD_CMP_LESS, k, 3, true);
    CMP(ETCD_CMP_VERSION, ETCD_CMP_LESS, k, 2, false);
    CMP(ETCD_CMP_VERSION, ETCD_CMP_NOT_EQUAL, k, 1, true);
    CMP(ETCD_CMP_VERSION, ETCD_CMP_NOT_EQUAL, k, 2, false);
    CMP(ETCD_CMP_VERSION, ETCD_CMP_EQUAL, "/test_txn_compare/absent", 0, true);
}

static void test_compare_create(void)
{
    const char *k = "/test_txn_compare/v";
    int64_t cr, mr;
    put_compare_fixture(&cr, &mr);
    REQUIRE(cr > 0);
    CMP(ETCD_CMP_CREATE, ETCD_CMP_EQUAL, k, cr, true);
    CMP(ETCD_CMP_CREATE, ETCD_CMP_EQUAL, k, cr + 1, false);
    CMP(ETCD_CMP_CREATE, ETCD_CMP_GREATER, k, cr - 1, true);
    CMP(ETCD_CMP_CREATE, ETCD_CMP_GREATER, k, cr, false);
    CMP(ETCD_CMP_CREATE, ETCD_CMP_LESS, k, cr + 1, true);
    CMP(ETCD_CMP_CREATE, ETCD_CMP_LESS, k, cr, false);
    CMP(ETCD_CMP_CREATE, ETCD_CMP_NOT_EQUAL, k, cr, false);
    CMP(ETCD_CMP_CREATE, ETCD_CMP_NOT_EQUAL, k, cr + 1, true);
    CMP(ETCD_CMP_CREATE, ETCD_CMP_EQUAL, "/test_txn_compare/absent", 0, true);
}

static void test_compare_mod(void)
{
    const char *k = "/test_txn_compare/v";
    int64_t cr, mr;
    put_compare_fixture(&cr, &mr);
    CMP(ETCD_CMP_MOD, ETCD_CMP_EQUAL, k, mr, true);
    CMP(ETCD_CMP_MOD, ETCD_CMP_EQUAL, k, cr, false);
    CMP(ETCD_CMP_MOD, ETCD_CMP_GREATER, k, mr - 1, true);
    CMP(ETCD_CMP_MOD, ETCD_CMP_GREATER, k, mr, false);
    CMP(ETCD_CMP_MOD, ETCD_CMP_LESS, k, mr + 1, true);
    CMP(ETCD_CMP_MOD, ETCD_CMP_LESS, k, mr, false);
    CMP(ETCD_CMP_MOD, ETCD_CMP_NOT_EQUAL, k, cr, true);
    CMP(ETCD_CMP_MOD, ETCD_CMP_NOT_EQUAL, k, mr, false);
}

/* Values compare as stored bytes; the compare value goes through the JSON
   serializer too, so "{ \"a\" : 1 }" matches the stored {"a":1}. */
static void test_compare_value(void)
{
    const char *k = "/test_txn_compare/v";
    int64_t cr, mr;
    put_compare_fixture(&cr, &mr);   /* v = "b" */
    CMPV(ETCD_CMP_EQUAL, k, "\"b\"", true);
    CMPV(ETCD_CMP_EQUAL, k, "\"a\"", false);
    CMPV(ETCD_CMP_GREATER, k, "\"a\"", true);
    CMPV(ETCD_CMP_GREATER, k, "\"c\"", false);
    CMPV(ETCD_CMP_LESS, k, "\"c\"", true);
    CMPV(ETCD_CMP_LESS, k, "\"b\"", false);
    CMPV(ETCD_CMP_NOT_EQUAL, k, "\"a\"", true);
    CMPV(ETCD_CMP_NOT_EQUAL, k, "\"b\"", false);
    test_put(cli, "/test_txn_compare/obj", "{\"a\":1}");
    CMPV(ETCD_CMP_EQUAL, "/test_txn_compare/obj", "{ \"a\" : 1 }", true);
}

static void test_compare_lease(void)
{
    const char *k = "/test_txn_compare/leased";
    etcd_set_opts o = {0};
    etcd_res *r = test_ok200(cli, etcd_grant(cli, 60, 0));
    int64_t id = r ? r->id : 0, cr, mr;
    etcd_res_free(r);
    REQUIRE(id > 0);
    put_compare_fixture(&cr, &mr);
    o.lease = id;
    r = test_ok200(cli, etcd_set(cli, k, "1", &o));
    CHECK(r != NULL);
    etcd_res_free(r);
    CMP(ETCD_CMP_LEASE, ETCD_CMP_EQUAL, k, id, true);
    CMP(ETCD_CMP_LEASE, ETCD_CMP_EQUAL, k, id + 1, false);
    CMP(ETCD_CMP_LEASE, ETCD_CMP_GREATER, k, 0, true);
    CMP(ETCD_CMP_LEASE, ETCD_CMP_GREATER, k, id, false);
    CMP(ETCD_CMP_LEASE, ETCD_CMP_LESS, k, id + 1, true);
    CMP(ETCD_CMP_LEASE, ETCD_CMP_LESS, k, id, false);
    CMP(ETCD_CMP_LEASE, ETCD_CMP_NOT_EQUAL, k, id, false);
    CMP(ETCD_CMP_LEASE, ETCD_CMP_NOT_EQUAL, k, 0, true);
    CMP(ETCD_CMP_LEASE, ETCD_CMP_EQUAL, "/test_txn_compare/v", 0, true);
    etcd_res_free(etcd_revoke(cli, id));
}

/* A compare with range_end holds only if every key in the range passes. */
static void test_compare_range_end(void)
{
    const char *a = "/test_txn_compare_range_end/a", *b = "/test_txn_compare_range_end/b";
    etcd_compare c = cmp_int(ETCD_CMP_VERSION, ETCD_CMP_EQUAL, a, 1);
    int64_t cr, mr;
    put_compare_fixture(&cr, &mr);        /* YES and NO, read by check_cmp */
    test_put(cli, a, "1");
    test_put(cli, b, "1");
    c.range_end = "/test_txn_compare_range_end/c";
    check_cmp(c, true, __LINE__);
    test_put(cli, b, "2");                     /* b now has version 2 */
    check_cmp(c, false, __LINE__);
    c.range_end = NULL;                   /* a alone still passes */
    check_cmp(c, true, __LINE__);
}

/* ---- ops and nested responses ------------------------------------------- */

static void test_op_range(void)
{
    const char *k1 = "/test_op_range/1";
    etcd_compare c = cmp_int(ETCD_CMP_VERSION, ETCD_CMP_GREATER, k1, 0);
    etcd_op s[4];
    etcd_res *r;
    int64_t old = test_put(cli, k1, "\"old\"");
    test_put(cli, k1, "\"new\"");
    test_put(cli, "/test_op_range/2", "2");
    test_put(cli, "/test_op_range/3", "3");
    s[0] = op(ETCD_OP_RANGE, "/test_op_range/", NULL);
    s[0].range_end = "/test_op_range0";
    s[1] = s[0];
    s[1].limit = 2;
    s[2] = op(ETCD_OP_RANGE, k1, NULL);
    s[2].revision = old;
    s[3] = op(ETCD_OP_RANGE, k1, NULL);
    r = txn(cli, &c, 1, s, 4, NULL, 0);
    REQUIRE(r);
    CHECK(r->succeeded);
    CHECK_INT(r->nresponses, 4);
    if (r->nresponses == 4) {
        const etcd_res *q = r->responses;
        CHECK_INT(q[0].nkvs, 3);
        CHECK_INT(q[0].count, 3);
        CHECK(!q[0].more);
        if (q[0].nkvs == 3) test_check_kv(&q[0].kvs[2], "/test_op_range/3", "3");
        CHECK_INT(q[1].nkvs, 2);
        CHECK_INT(q[1].count, 3);
        CHECK(q[1].more);
        CHECK_INT(q[2].nkvs, 1);
        if (q[2].nkvs == 1) {
            test_check_kv(&q[2].kvs[0], k1, "\"old\"");
            CHECK_INT(q[2].kvs[0].mod_revision, old);
        }
        CHECK_INT(q[3].nkvs, 1);
        if (q[3].nkvs == 1) {
            test_check_kv(&q[3].kvs[0], k1, "\"new\"");
            CHECK_INT(q[3].kvs[0].version, 2);
        }
    }
    etcd_res_free(r);
}

/* A range op's own keys_only and count_only. */
static void test_op_range_only(void)
{
    etcd_compare c = cmp_int(ETCD_CMP_VERSION, ETCD_CMP_GREATER, "/test_op_only/a", 0);
    etcd_op s[2];
    etcd_res *r;
    test_put(cli, "/test_op_only/a", "\"va\"");
    test_put(cli, "/test_op_only/b", "\"vb\"");
    s[0] = op(ETCD_OP_RANGE, "/test_op_only/", NULL);
    s[0].range_end = "/test_op_only0";
    s[0].keys_only = true;
    s[1] = s[0];
    s[1].keys_only = false;
    s[1].count_only = true;
    r = txn(cli, &c, 1, s, 2, NULL, 0);
    REQUIRE(r);
    CHECK_INT(r->nresponses, 2);
    if (r->nresponses == 2) {
        CHECK_INT(r->responses[0].nkvs, 2);
        if (r->responses[0].nkvs == 2) {
            CHECK_STR(r->responses[0].kvs[1].key, "/test_op_only/b");
            CHECK_INT(r->responses[0].kvs[1].value_len, 0);      /* keys only */
        }
        CHECK_INT(r->responses[1].nkvs, 0);
        CHECK_INT(r->responses[1].count, 2);
    }
    etcd_res_free(r);
}

static void test_op_put(void)
{
    const char *p = "/test_op_put/p", *q = "/test_op_put/q", *o3 = "/test_op_put/r";
    etcd_compare c = cmp_int(ETCD_CMP_VERSION, ETCD_CMP_EQUAL, p, 1);
    etcd_op s[3];
    etcd_res *r = test_ok200(cli, etcd_grant(cli, 60, 0));
    int64_t id = r ? r->id : 0, before;
    etcd_res_free(r);
    REQUIRE(id > 0);
    test_put(cli, p, "\"one\"");
    before = test_put(cli, o3, "0");
    s[0] = op(ETCD_OP_PUT, p, "\"two\"");
    s[0].prev_kv = true;
    s[1] = op(ETCD_OP_PUT, q, "{ \"a\" : [1, 2] }");
    s[1].lease = id;
    s[1].prev_kv = true;                 /* q is new: no prev_kv */
    s[2] = op(ETCD_OP_PUT, o3, "3");     /* exists, but no prev_kv asked */
    r = txn(cli, &c, 1, s, 3, NULL, 0);
    REQUIRE(r);
    CHECK(r->succeeded);
    CHECK_INT(r->revision, before + 1);  /* one txn, one revision */
    CHECK_INT(r->nresponses, 3);
    if (r->nresponses == 3) {
        CHECK(r->responses[0].prev_kv != NULL);
        if (r->responses[0].prev_kv) {
            test_check_kv(r->responses[0].prev_kv, p, "\"one\"");
            CHECK_INT(r->responses[0].prev_kv->version, 1);
            CHECK_INT(r->responses[0].prev_kv->mod_revision, before - 1);
        }
        CHECK(r->responses[1].prev_kv == NULL);
        CHECK(r->responses[2].prev_kv == NULL);
    }
    etcd_res_free(r);
    check_ctl_value(p, "\"two\"");
    check_ctl_value(q, "{\"a\":[1,2]}");
    check_ctl_value(o3, "3");
    CHECK(lease_of(cli, q) == id);
    CHECK_INT(lease_of(cli, p), 0);
    etcd_res_free(etcd_revoke(cli, id));
}

static void test_op_delete(void)
{
    const char *a = "/test_op_delete/d/a";
    etcd_compare c = cmp_int(ETCD_CMP_VERSION, ETCD_CMP_EQUAL, a, 1);
    etcd_op s[2];
    etcd_res *r;
    test_put(cli, a, "\"a\"");
    test_put(cli, "/test_op_delete/d/b", "\"b\"");
    test_put(cli, "/test_op_delete/d/c", "\"c\"");
    test_put(cli, "/test_op_delete/e", "\"e\"");
    s[0] = op(ETCD_OP_DELETE, a, NULL);
    s[0].range_end = "/test_op_delete/d/c";   /* a and b, not c */
    s[0].prev_kv = true;
    s[1] = op(ETCD_OP_DELETE, "/test_op_delete/absent", NULL);
    r = txn(cli, &c, 1, s, 2, NULL, 0);
    REQUIRE(r);
    CHECK(r->succeeded);
    CHECK_INT(r->nresponses, 2);
    if (r->nresponses == 2) {
        CHECK_INT(r->responses[0].deleted, 2);
        CHECK_INT(r->responses[0].nprev_kvs, 2);
        if (r->responses[0].nprev_kvs == 2) {
            test_check_kv(&r->responses[0].prev_kvs[0], a, "\"a\"");
            test_check_kv(&r->responses[0].prev_kvs[1], "/test_op_delete/d/b", "\"b\"");
        }
        CHECK_INT(r->responses[1].deleted, 0);
        CHECK_INT(r->responses[1].nprev_kvs, 0);
    }
    etcd_res_free(r);
    check_ctl_value(a, "");
    check_ctl_value("/test_op_delete/d/b", "");
    check_ctl_value("/test_op_delete/d/c", "\"c\"");
    check_ctl_value("/test_op_delete/e", "\"e\"");
}

/* ---- branches ----------------------------------------------------------- */

/* A false compare runs failure only; a true one success only. */
static void test_branches(void)
{
    const char *x = "/test_branches/x", *y = "/test_branches/y", *m = "/test_branches/m";
    etcd_compare no = cmp_int(ETCD_CMP_VERSION, ETCD_CMP_EQUAL, m, 5);
    etcd_compare yes = cmp_int(ETCD_CMP_VERSION, ETCD_CMP_EQUAL, m, 1);
    etcd_op s = op(ETCD_OP_PUT, x, "1"), f[2];
    etcd_res *r;
    test_put(cli, m, "\"m\"");
    f[0] = op(ETCD_OP_PUT, y, "2");
    f[1] = op(ETCD_OP_RANGE, m, NULL);
    r = txn(cli, &no, 1, &s, 1, f, 2);
    REQUIRE(r);
    CHECK(!r->succeeded);
    CHECK_INT(r->nresponses, 2);
    if (r->nresponses == 2) {
        CHECK(r->responses[0].prev_kv == NULL);
        CHECK_INT(r->responses[1].nkvs, 1);
        if (r->responses[1].nkvs == 1) test_check_kv(&r->responses[1].kvs[0], m, "\"m\"");
    }
    etcd_res_free(r);
    check_ctl_value(x, "");
    check_ctl_value(y, "2");

    r = txn(cli, &yes, 1, NULL, 0, f, 1);    /* true, failure only: no op */
    REQUIRE(r);
    CHECK(r->succeeded);
    CHECK_INT(r->nresponses, 0);
    etcd_res_free(r);
    r = txn(cli, &no, 1, &s, 1, NULL, 0);    /* false, success only: no op */
    REQUIRE(r);
    CHECK(!r->succeeded);
    CHECK_INT(r->nresponses, 0);
    etcd_res_free(r);
    check_ctl_value(x, "");
    r = txn(cli, &yes, 1, &s, 1, NULL, 0);
    REQUIRE(r);
    CHECK(r->succeeded);
    CHECK_INT(r->nresponses, 1);
    etcd_res_free(r);
    check_ctl_value(x, "1");
}

/* ---- errors ------------------------------------------------------------- */

static void check_txn_error(etcd *c, etcd_res *r, const char *want)
{
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_HAS(etcd_errstr(c), want);
}

static void check_arg_errors(etcd *c)
{
    etcd_compare cmp = cmp_int(ETCD_CMP_VERSION, ETCD_CMP_EQUAL, "/test_txn_errors/k", 0);
    etcd_op s = op(ETCD_OP_PUT, "/test_txn_errors/k", "1");
    check_txn_error(c, etcd_txn(c, NULL, 0, &s, 1, &s, 1, NULL), "compare couldn't be empty");
    check_txn_error(c, etcd_txn(c, NULL, 0, &s, 1, NULL, 0, NULL), "compare couldn't be empty");
    check_txn_error(c, etcd_txn(c, &cmp, 1, NULL, 0, NULL, 0, NULL),
                    "success and failure couldn't be empty at the same time");
}

/* Argument errors send nothing: no write on a live server, and the same
   text from a client whose endpoint has nothing listening. */
static void test_txn_errors(void)
{
    char host[64], err[256];
    etcd_opts o = {0};
    etcd *dead;
    int64_t before = test_rev(cli);
    check_arg_errors(cli);
    CHECK_INT(test_rev(cli), before);
    check_ctl_value("/test_txn_errors/k", "");
    snprintf(host, sizeof host, "http://127.0.0.1:%d", test_free_port());
    o.http_host = host;
    o.api_prefix = "/v3";
    dead = etcd_new(&o, err, sizeof err);
    REQUIRE(dead);
    check_arg_errors(dead);
    etcd_free(dead);
}

/* An invalid JSON value anywhere (success op, the failure op that would not
   run, a compare) fails the whole txn before sending. */
static void test_txn_invalid_json(void)
{
    const char *k = "/test_txn_invalid_json/k";
    etcd_compare c = cmp_int(ETCD_CMP_VERSION, ETCD_CMP_EQUAL, k, 1);
    etcd_compare bad = cmp_value(ETCD_CMP_EQUAL, k, "{a:1}");
    etcd_op good = op(ETCD_OP_PUT, k, "2"), wrong = op(ETCD_OP_PUT, k, "{a:1}");
    int64_t before;
    test_put(cli, k, "1");
    before = test_rev(cli);
    check_txn_error(cli, etcd_txn(cli, &c, 1, &wrong, 1, NULL, 0, NULL), "JSON");
    check_txn_error(cli, etcd_txn(cli, &c, 1, &good, 1, &wrong, 1, NULL), "JSON");
    check_txn_error(cli, etcd_txn(cli, &bad, 1, &good, 1, NULL, 0, NULL), "JSON");
    CHECK_INT(test_rev(cli), before);
    check_ctl_value(k, "1");
}

/* ---- key_prefix, RAW values, timeout ------------------------------------ */

/* Keys and range ends of compares and ops get the prefix ("\0" stays);
   returned keys keep it. */
static void test_txn_key_prefix(void)
{
    etcd_opts o = {0};
    etcd_compare c[2];
    etcd_op s[4];
    etcd_res *r;
    etcd *pc;
    test_put(cli, "/test_txn_key_prefix/k", "1");
    test_put(cli, "/test_txn_key_prefix/r/1", "1");
    test_put(cli, "/test_txn_key_prefix/r/2", "1");
    test_put(cli, "/test_txn_key_prefiz", "1");   /* beyond the prefix, version 2: */
    test_put(cli, "/test_txn_key_prefiz", "1");   /* fails c[1] if "r/3" lacked it */
    o.key_prefix = "/test_txn_key_prefix/";
    pc = test_client(&srv, &o);
    REQUIRE(pc);
    c[0] = cmp_int(ETCD_CMP_VERSION, ETCD_CMP_EQUAL, "k", 1);
    c[1] = cmp_int(ETCD_CMP_VERSION, ETCD_CMP_EQUAL, "r/1", 1);
    c[1].range_end = "r/3";
    s[0] = op(ETCD_OP_PUT, "k2", "2");
    s[1] = op(ETCD_OP_RANGE, "r/", NULL);
    s[1].range_end = "r0";
    s[2] = op(ETCD_OP_RANGE, "r/2", NULL);
    s[2].range_end = "";      /* "\0": every key from r/2 on, within the key_prefix */
    s[3] = op(ETCD_OP_DELETE, "k", NULL);
    r = txn(pc, c, 2, s, 4, NULL, 0);
    if (r) {
        CHECK(r->succeeded);
        CHECK_INT(r->nresponses, 4);
    }
    CHECK(r != NULL);
    if (r && r->nresponses == 4) {
        const etcd_res *q = r->responses;
        CHECK_INT(q[1].nkvs, 2);
        if (q[1].nkvs == 2) test_check_kv(&q[1].kvs[1], "/test_txn_key_prefix/r/2", "1");
        CHECK_INT(q[2].nkvs, 1);                /* /test_txn_key_prefiz is outside */
        if (q[2].nkvs >= 1) test_check_kv(&q[2].kvs[0], "/test_txn_key_prefix/r/2", "1");
        CHECK_INT(q[3].deleted, 1);
    }
    etcd_res_free(r);
    etcd_free(pc);
    check_ctl_value("/test_txn_key_prefix/k2", "2");
    check_ctl_value("/test_txn_key_prefix/k", "");
    check_ctl_value("k2", "");
}

static void test_txn_raw_value_len(void)
{
    static const char v[] = "x\0y";
    const char *k = "/test_txn_raw_value_len/k";
    etcd_opts o = {0};
    etcd_compare eq, prefix_only;
    etcd_op s, rd;
    etcd_res *r;
    etcd *raw;
    o.serializer = ETCD_SERIALIZER_RAW;
    raw = test_client(&srv, &o);
    REQUIRE(raw);
    eq = cmp_value(ETCD_CMP_EQUAL, k, v);
    eq.value_len = 3;
    prefix_only = eq;
    prefix_only.value_len = 1;                /* "x" is not "x\0y" */
    s = op(ETCD_OP_PUT, k, v);
    s.value_len = 3;
    rd = op(ETCD_OP_RANGE, k, NULL);
    r = txn(raw, &eq, 1, &rd, 1, &s, 1);      /* k absent: failure puts it */
    CHECK(r != NULL && !r->succeeded);
    etcd_res_free(r);
    r = txn(raw, &eq, 1, &rd, 1, &s, 1);      /* now equal: success reads it */
    CHECK(r != NULL && r->succeeded);
    if (r && r->nresponses == 1 && r->responses[0].nkvs == 1)
        CHECK_MEM(r->responses[0].kvs[0].value, r->responses[0].kvs[0].value_len, v, 3);
    else CHECK(!"one range response with one kv");
    etcd_res_free(r);
    r = txn(raw, &prefix_only, 1, &rd, 1, NULL, 0);
    CHECK(r != NULL && !r->succeeded);
    etcd_res_free(r);
    etcd_free(raw);
}

/* etcd_txn_opts.timeout applies: a server that never answers fails the
   txn after it (the client default being 5 s). */
static void test_txn_timeout(void)
{
    etcd_compare c = cmp_int(ETCD_CMP_VERSION, ETCD_CMP_EQUAL, "/test_txn_timeout/k", 0);
    etcd_op s = op(ETCD_OP_RANGE, "/test_txn_timeout/k", NULL);
    etcd_txn_opts to = {0};
    etcd_opts o = {0};
    struct timespec t0, t1;
    char host[64], err[256];
    double took;
    int port, fd = test_silent_listener(&port);
    etcd *c2;
    etcd_res *r;
    REQUIRE(fd >= 0);
    snprintf(host, sizeof host, "http://127.0.0.1:%d", port);
    o.http_host = host;
    o.api_prefix = "/v3";
    c2 = etcd_new(&o, err, sizeof err);
    if (!c2) close(fd);
    REQUIRE(c2);
    to.timeout = 0.4;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = etcd_txn(c2, &c, 1, &s, 1, NULL, 0, &to);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_HAS(etcd_errstr(c2), "timeout");
    CHECK(took > 0.3 && took < 2.0);
    etcd_free(c2);
    close(fd);
}

int main(void)
{
    if (test_etcd_start(&srv, NULL) != 0) return 1;
    cli = test_client(&srv, NULL);
    if (!cli) {
        test_etcd_stop(&srv);
        return 1;
    }
    RUN(test_compare_version);
    RUN(test_compare_create);
    RUN(test_compare_mod);
    RUN(test_compare_value);
    RUN(test_compare_lease);
    RUN(test_compare_range_end);
    RUN(test_op_range);
    RUN(test_op_range_only);
    RUN(test_op_put);
    RUN(test_op_delete);
    RUN(test_branches);
    RUN(test_txn_errors);
    RUN(test_txn_invalid_json);
    RUN(test_txn_key_prefix);
    RUN(test_txn_raw_value_len);
    RUN(test_txn_timeout);
    etcd_free(cli);
    test_etcd_stop(&srv);
    return test_summary();
}
