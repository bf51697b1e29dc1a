/* test_binary.c - binary-safe keys (key_len, range_end_len) against a real
   etcd started by the harness: keys holding NUL and 0xff bytes round-trip
   through get, set, setnx, setx, delete, readdir, rmdir, txn (compares and
   RANGE/PUT/DELETE ops, a binary range_end), watch, watchdir and
   timetolive, with no key_prefix and under key_prefix "/bin\xff/". A
   dir's range end is checked on bytes: the 0xff carry ("e\xff" ends at
   "f"), a dir of 0xff bytes only (to the end of the keyspace), and a carry
   that runs into the key_prefix ("/c\xff" + "\xff" ends at "/d"). etcdctl
   (-w json, base64 keys) checks independently that the stored bytes are
   exactly the intended ones, and reads a key etcdctl wrote.

   Most tests run twice: as test_x with no key_prefix and keys under
   "/np/<x>/", and as test_x_prefix with key_prefix "/bin\xff/" and keys
   under "<x>/"; returned keys carry the prefix. Only test_dir_all_ff and
   test_watchdir_all_ff write top-level keys starting with 0xff. */
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
#include "harness.h"

#define PFX "/bin\xff/"

static test_etcd srv;
static etcd *cli;     /* JSON serializer, no key_prefix */
static etcd *pcli;    /* key_prefix PFX */

/* The context of the running body: client, its key_prefix, the test's
   namespace (prepended to every key the test passes to etcd.h). */
static etcd *C;
static const char *P = "", *N = "";

static void use(etcd *c, const char *pfx, const char *ns) { C = c; P = pfx; N = ns; }

/* A byte string literal and its length, NULs included. */
#define L(s) s, (sizeof(s) - 1)
typedef struct bk { const char *b; size_t n; } bk;
#define BK(s) { s, sizeof(s) - 1 }

#define KMAX 256

/* N + b: the key as the test passes it to etcd.h. */
static size_t rel(char *out, const char *b, size_t n)
{
    size_t l = strlen(N);
    memcpy(out, N, l);
    memcpy(out + l, b, n);
    out[l + n] = '\0';
    return l + n;
}

/* P + N + b: the key as etcd stores and returns it. */
static size_t full(char *out, const char *b, size_t n)
{
    size_t l = strlen(P);
    memcpy(out, P, l);
    return l + rel(out + l, b, n);
}

static void hex(const char *what, const char *p, size_t n)
{
    size_t i;
    fprintf(stderr, "    %s (%zu):", what, n);
    for (i = 0; i < n; i++) fprintf(stderr, " %02x", (unsigned char)p[i]);
    fprintf(stderr, "\n");
}

/* kv->key is exactly the bytes want/wn, NUL-terminated. */
static void check_key_bytes(const char *got, size_t gn, const char *want, size_t wn, int line)
{
    if (!got || gn != wn || memcmp(got, want, wn) != 0 || got[gn] != '\0') {
        fprintf(stderr, "  line %d: key differs\n", line);
        if (got) hex("got ", got, gn);
        hex("want", want, wn);
        t__cur_failed = 1;
    }
}

/* kv holds key P+N+b and value val (when val is not NULL). */
static void check_kv_at(const etcd_kv *kv, const char *b, size_t n, const char *val, int line)
{
    char k[KMAX];
    size_t kn = full(k, b, n);
    check_key_bytes(kv->key, kv->key_len, k, kn, line);
    if (val && (kv->value_len != strlen(val) || memcmp(kv->value, val, kv->value_len) != 0)) {
        fprintf(stderr, "  line %d: value is \"%.*s\", not \"%s\"\n", line, (int)kv->value_len,
                kv->value, val);
        t__cur_failed = 1;
    }
}
#define CHECK_KV(kv, lit, val) check_kv_at((kv), L(lit), (val), __LINE__)

/* kvs[0..n) hold exactly the keys want[0..nw) (P+N prepended), in order. */
static void check_keys_at(const etcd_kv *kvs, size_t n, const bk *want, size_t nw, int line)
{
    size_t i;
    if (n != nw) {
        fprintf(stderr, "  line %d: %zu keys, not %zu\n", line, n, nw);
        for (i = 0; i < n; i++) hex("got", kvs[i].key, kvs[i].key_len);
        t__cur_failed = 1;
        return;
    }
    for (i = 0; i < n; i++) check_kv_at(&kvs[i], want[i].b, want[i].n, NULL, line);
}
#define CHECK_KEYS(kvs, n, want) check_keys_at((kvs), (n), (want), sizeof(want) / sizeof(want)[0], __LINE__)

static void put_at(const char *b, size_t n, const char *val, int line)
{
    char k[KMAX];
    etcd_set_opts o = {0};
    etcd_res *r;
    o.key_len = rel(k, b, n);
    r = test_ok200(C, etcd_set(C, k, val, &o));
    if (!r) { fprintf(stderr, "  line %d: set failed\n", line); t__cur_failed = 1; }
    etcd_res_free(r);
}
#define PUT(lit, val) put_at(L(lit), (val), __LINE__)

static etcd_res *get_b(const char *b, size_t n)
{
    char k[KMAX];
    etcd_get_opts o = {0};
    o.key_len = rel(k, b, n);
    return test_ok200(C, etcd_get(C, k, &o));
}

/* get N+b: exactly one kv, key P+N+b, value val; or (val NULL) none. */
static void get_at(const char *b, size_t n, const char *val, int line)
{
    etcd_res *r = get_b(b, n);
    if (!r) { fprintf(stderr, "  line %d: get failed\n", line); t__cur_failed = 1; return; }
    if (r->nkvs != (val ? 1u : 0u) || r->count != (val ? 1 : 0)) {
        fprintf(stderr, "  line %d: get gave %zu kvs (count %" PRId64 "), not %d\n", line, r->nkvs,
                r->count, val ? 1 : 0);
        hex("key", b, n);
        t__cur_failed = 1;
    } else if (val) {
        check_kv_at(&r->kvs[0], b, n, val, line);
    }
    etcd_res_free(r);
}
#define GET(lit, val) get_at(L(lit), (val), __LINE__)
#define ABSENT(lit) get_at(L(lit), NULL, __LINE__)

static etcd_res *readdir_b(const char *b, size_t n)
{
    char k[KMAX];
    etcd_get_opts o = {0};
    o.key_len = rel(k, b, n);
    return test_ok200(C, etcd_readdir(C, k, &o));
}
#define READDIR(lit) readdir_b(L(lit))

static etcd_res *rmdir_b(const char *b, size_t n, bool prev_kv)
{
    char k[KMAX];
    etcd_delete_opts o = {0};
    o.key_len = rel(k, b, n);
    o.prev_kv = prev_kv;
    return test_ok200(C, etcd_rmdir(C, k, &o));
}

static etcd_res *delete_b(const char *b, size_t n, bool prev_kv)
{
    char k[KMAX];
    etcd_delete_opts o = {0};
    o.key_len = rel(k, b, n);
    o.prev_kv = prev_kv;
    return test_ok200(C, etcd_delete(C, k, &o));
}

/* ---- set / get / delete ------------------------------------------------- */

static void set_get_delete(void)
{
    char k[KMAX];
    etcd_set_opts so = {0};
    etcd_res *r;

    PUT("a\0b", "1");                 /* 3 bytes */
    PUT("\xff\x00\xff", "2");
    PUT("z\0", "3");                  /* ends in NUL */
    PUT("k", "4");                    /* "k\0" is k plus a trailing NUL */
    PUT("k\0", "5");
    GET("a\0b", "1");
    GET("\xff\x00\xff", "2");
    GET("z\0", "3");
    GET("k", "4");
    GET("k\0", "5");
    ABSENT("a");                      /* nothing was written at the strlen() key */
    ABSENT("z");
    ABSENT("\xff");
    ABSENT("k\0\0");

    /* without key_len the key is strlen(): "a", another key */
    rel(k, L("a\0b"));
    r = test_ok200(C, etcd_set(C, k, "6", NULL));
    CHECK(r != NULL);
    etcd_res_free(r);
    GET("a", "6");
    GET("a\0b", "1");

    /* set's prev_kv carries the binary key */
    so.key_len = rel(k, L("a\0b"));
    so.prev_kv = true;
    r = test_ok200(C, etcd_set(C, k, "7", &so));
    REQUIRE(r);
    CHECK(r->prev_kv != NULL);
    if (r->prev_kv) CHECK_KV(r->prev_kv, "a\0b", "1");
    etcd_res_free(r);
    GET("a\0b", "7");

    /* delete takes exactly the bytes: "k\0" goes, "k" stays */
    r = delete_b(L("k\0"), true);
    REQUIRE(r);
    CHECK_INT(r->deleted, 1);
    CHECK_INT(r->nprev_kvs, 1);
    if (r->nprev_kvs == 1) CHECK_KV(&r->prev_kvs[0], "k\0", "5");
    etcd_res_free(r);
    ABSENT("k\0");
    GET("k", "4");

    r = delete_b(L("a\0b"), false);
    REQUIRE(r);
    CHECK_INT(r->deleted, 1);
    etcd_res_free(r);
    ABSENT("a\0b");
    GET("a", "6");                    /* its strlen() neighbour is untouched */

    r = delete_b(L("\xff\x00\xff"), false);
    REQUIRE(r);
    CHECK_INT(r->deleted, 1);
    etcd_res_free(r);
    ABSENT("\xff\x00\xff");
    r = delete_b(L("\xff\x00\xff"), false);   /* gone: nothing to delete */
    REQUIRE(r);
    CHECK_INT(r->deleted, 0);
    etcd_res_free(r);
}

static void test_set_get_delete(void)        { use(cli, "", "/np/sgd/");   set_get_delete(); }
static void test_set_get_delete_prefix(void) { use(pcli, PFX, "sgd/");     set_get_delete(); }

/* ---- the empty key ------------------------------------------------------ */

static void check_empty_err(etcd *c, const void *res, int line)
{
    if (res != NULL || etcd_errcode(c) != ETCD_EARG ||
        !strstr(etcd_errstr(c), "key should not be empty")) {
        fprintf(stderr, "  line %d: expected ETCD_EARG \"key should not be empty\", got %s: %s\n",
                line, res ? "a result" : etcd_err_name(etcd_errcode(c)), etcd_errstr(c));
        t__cur_failed = 1;
    }
}
#define CHECK_EMPTY(c, res) do { etcd_res *t__r = (res); check_empty_err((c), t__r, __LINE__); \
    etcd_res_free(t__r); } while (0)

static void empty_key(void)
{
    etcd_get_opts go = {0};
    etcd_set_opts so = {0};
    etcd_delete_opts dop = {0};
    etcd_watch_opts wo = {0};
    etcd_compare cmp;
    etcd_op op;
    etcd_watcher *w;
    etcd_res *r;
    const char nul[1] = { '\0' };

    /* key_len 0 with "": strlen, so empty; refused before anything is sent */
    CHECK_EMPTY(C, etcd_get(C, "", &go));
    CHECK_EMPTY(C, etcd_set(C, "", "1", &so));
    CHECK_EMPTY(C, etcd_setnx(C, "", "1", &so));
    CHECK_EMPTY(C, etcd_setx(C, "", "1", &so));
    CHECK_EMPTY(C, etcd_delete(C, "", &dop));
    w = etcd_watch(C, "", &wo);
    check_empty_err(C, w, __LINE__);
    etcd_watchcancel(w);
    memset(&cmp, 0, sizeof cmp);
    memset(&op, 0, sizeof op);
    cmp.key = "";
    op.key = "x";
    op.type = ETCD_OP_RANGE;
    CHECK_EMPTY(C, etcd_txn(C, &cmp, 1, &op, 1, NULL, 0, NULL));
    cmp.key = "x";
    op.key = "";
    CHECK_EMPTY(C, etcd_txn(C, &cmp, 1, &op, 1, NULL, 0, NULL));

    /* one NUL byte is a key */
    so.key_len = 1;
    r = test_ok200(C, etcd_set(C, nul, "\"nul\"", &so));
    REQUIRE(r);
    etcd_res_free(r);
    go.key_len = 1;
    r = test_ok200(C, etcd_get(C, "", &go));    /* "" + key_len 1: its terminator */
    REQUIRE(r);
    CHECK_INT(r->nkvs, 1);
    if (r->nkvs == 1) {
        char k[KMAX];
        size_t kn = strlen(P);
        memcpy(k, P, kn);
        k[kn++] = '\0';
        check_key_bytes(r->kvs[0].key, r->kvs[0].key_len, k, kn, __LINE__);
        CHECK_MEM(r->kvs[0].value, r->kvs[0].value_len, "\"nul\"", 5);
    }
    etcd_res_free(r);
    dop.key_len = 1;
    r = test_ok200(C, etcd_delete(C, nul, &dop));
    REQUIRE(r);
    CHECK_INT(r->deleted, 1);
    etcd_res_free(r);
    r = test_ok200(C, etcd_get(C, nul, &go));
    REQUIRE(r);
    CHECK_INT(r->nkvs, 0);
    etcd_res_free(r);
}

static void test_empty_key(void)        { use(cli, "", "");  empty_key(); }
static void test_empty_key_prefix(void) { use(pcli, PFX, ""); empty_key(); }

/* ---- readdir / rmdir ---------------------------------------------------- */

/* dir "d\0": its keys, not "d" nor "d\x01" */
static void dir_nul(void)
{
    static const bk in[] = { BK("d\0"), BK("d\0x"), BK("d\0\xff") };
    static const bk all[] = { BK("d"), BK("d\0"), BK("d\0x"), BK("d\0\xff"), BK("d\x01") };
    static const bk left[] = { BK("d"), BK("d\x01") };
    char k[KMAX];
    etcd_res *r;

    PUT("d", "1");
    PUT("d\0", "2");
    PUT("d\0x", "3");
    PUT("d\0\xff", "4");
    PUT("d\x01", "5");
    PUT("c\xff", "6");
    r = READDIR("d\0");
    REQUIRE(r);
    CHECK_KEYS(r->kvs, r->nkvs, in);
    CHECK_INT(r->count, 3);
    etcd_res_free(r);

    /* the same dir without key_len is "d": every one of them */
    rel(k, L("d"));
    r = test_ok200(C, etcd_readdir(C, k, NULL));
    REQUIRE(r);
    CHECK_KEYS(r->kvs, r->nkvs, all);
    etcd_res_free(r);

    r = rmdir_b(L("d\0"), true);
    REQUIRE(r);
    CHECK_INT(r->deleted, 3);
    CHECK_KEYS(r->prev_kvs, r->nprev_kvs, in);
    etcd_res_free(r);
    r = READDIR("d");
    REQUIRE(r);
    CHECK_KEYS(r->kvs, r->nkvs, left);
    etcd_res_free(r);
    GET("c\xff", "6");
}

static void test_dir_nul(void)        { use(cli, "", "/np/dnul/"); dir_nul(); }
static void test_dir_nul_prefix(void) { use(pcli, PFX, "dnul/");   dir_nul(); }

/* dir "e\xff": the 0xff carry makes its range end "f" */
static void dir_ff_carry(void)
{
    static const bk in[] = { BK("e\xff"), BK("e\xff\x00"), BK("e\xff\x01"), BK("e\xff\xff\xff") };
    static const bk left[] = { BK("e"), BK("e\xfe"), BK("e\xfe\xff"), BK("f"), BK("f\x00") };
    etcd_res *r;

    PUT("e", "0");
    PUT("e\xfe", "1");
    PUT("e\xfe\xff", "2");
    PUT("e\xff", "3");
    PUT("e\xff\x00", "4");
    PUT("e\xff\x01", "5");
    PUT("e\xff\xff\xff", "6");
    PUT("f", "7");
    PUT("f\x00", "8");
    r = READDIR("e\xff");
    REQUIRE(r);
    CHECK_KEYS(r->kvs, r->nkvs, in);
    etcd_res_free(r);

    r = READDIR("e\xff\xff");       /* still ends at "f" */
    REQUIRE(r);
    CHECK_INT(r->nkvs, 1);
    if (r->nkvs == 1) CHECK_KV(&r->kvs[0], "e\xff\xff\xff", "6");
    etcd_res_free(r);

    r = rmdir_b(L("e\xff"), false);
    REQUIRE(r);
    CHECK_INT(r->deleted, 4);
    etcd_res_free(r);
    r = READDIR("");
    REQUIRE(r);
    CHECK_KEYS(r->kvs, r->nkvs, left);
    etcd_res_free(r);
}

static void test_dir_ff_carry(void)        { use(cli, "", "/np/dff/"); dir_ff_carry(); }
static void test_dir_ff_carry_prefix(void) { use(pcli, PFX, "dff/");   dir_ff_carry(); }

/* A dir of 0xff bytes only ranges to the end of the keyspace; under a
   key_prefix of 0xff bytes only too. Top-level keys: only this test and
   test_watchdir_all_ff write keys starting with 0xff. */
static void test_dir_all_ff(void)
{
    static const bk in[] = { BK("\xff"), BK("\xff\x00"), BK("\xff\x01\xff"), BK("\xff\xff\xff"),
                             BK("\xff\xff\xff\xff\x00") };
    static const bk in2[] = { BK("\xff\xff\xff"), BK("\xff\xff\xff\xff\x00") };
    static const bk out[] = { BK("\xfe\xff"), BK("\xfe\xff\xff") };
    etcd_opts o;
    etcd *fcli;
    etcd_res *r;
    size_t i;

    use(cli, "", "");
    for (i = 0; i < sizeof in / sizeof in[0]; i++) put_at(in[i].b, in[i].n, "1", __LINE__);
    for (i = 0; i < sizeof out / sizeof out[0]; i++) put_at(out[i].b, out[i].n, "2", __LINE__);

    r = READDIR("\xff");
    REQUIRE(r);
    CHECK_KEYS(r->kvs, r->nkvs, in);
    etcd_res_free(r);
    r = READDIR("\xff\xff");
    REQUIRE(r);
    CHECK_KEYS(r->kvs, r->nkvs, in2);
    etcd_res_free(r);
    r = READDIR("\xfe\xff");           /* ends at "\xff": not past it */
    REQUIRE(r);
    CHECK_KEYS(r->kvs, r->nkvs, out);
    etcd_res_free(r);

    /* key_prefix "\xff\xff": its dir "\xff" is "\xff\xff\xff" to the end,
       and "" the whole prefix, keys returned with the prefix */
    memset(&o, 0, sizeof o);
    o.key_prefix = "\xff\xff";
    fcli = test_client(&srv, &o);
    REQUIRE(fcli);
    use(fcli, "\xff\xff", "");
    r = READDIR("\xff");
    CHECK(r != NULL);
    if (r) {
        static const bk rest[] = { BK("\xff"), BK("\xff\xff\x00") };   /* after "\xff\xff" */
        CHECK_KEYS(r->kvs, r->nkvs, rest);
    }
    etcd_res_free(r);
    r = test_ok200(fcli, etcd_readdir(fcli, "", NULL));
    CHECK(r != NULL);
    if (r) {
        use(cli, "", "");
        CHECK_KEYS(r->kvs, r->nkvs, in2);
    }
    etcd_res_free(r);
    etcd_free(fcli);

    use(cli, "", "");
    r = rmdir_b(L("\xff"), true);
    REQUIRE(r);
    CHECK_INT(r->deleted, 5);
    CHECK_KEYS(r->prev_kvs, r->nprev_kvs, in);
    etcd_res_free(r);
    r = READDIR("\xfe");
    REQUIRE(r);
    CHECK_KEYS(r->kvs, r->nkvs, out);
    etcd_res_free(r);
    r = rmdir_b(L("\xfe"), false);
    REQUIRE(r);
    CHECK_INT(r->deleted, 2);
    etcd_res_free(r);
}

/* key_prefix "/c\xff" and dir "\xff": the carry runs into the prefix, so
   the range is ["/c\xff\xff", "/d"). */
static void test_dir_prefix_carry(void)
{
    static const bk in[] = { BK("/c\xff\xff"), BK("/c\xff\xff\x00"), BK("/c\xff\xff\xff") };
    static const bk out[] = { BK("/c\xff"), BK("/c\xff\xfe"), BK("/d"), BK("/d\x00") };
    etcd_opts o;
    etcd *ccli;
    etcd_res *r;
    size_t i;

    use(cli, "", "");
    for (i = 0; i < sizeof in / sizeof in[0]; i++) put_at(in[i].b, in[i].n, "1", __LINE__);
    for (i = 0; i < sizeof out / sizeof out[0]; i++) put_at(out[i].b, out[i].n, "2", __LINE__);

    memset(&o, 0, sizeof o);
    o.key_prefix = "/c\xff";
    ccli = test_client(&srv, &o);
    REQUIRE(ccli);
    use(ccli, "/c\xff", "");
    r = READDIR("\xff");
    CHECK(r != NULL);
    if (r) {
        static const bk rest[] = { BK("\xff"), BK("\xff\x00"), BK("\xff\xff") };
        CHECK_KEYS(r->kvs, r->nkvs, rest);
    }
    etcd_res_free(r);
    r = rmdir_b(L("\xff"), false);
    CHECK(r != NULL);
    if (r) CHECK_INT(r->deleted, 3);
    etcd_res_free(r);
    etcd_free(ccli);

    use(cli, "", "");
    r = READDIR("/c");
    REQUIRE(r);
    {
        static const bk left[] = { BK("/c\xff"), BK("/c\xff\xfe") };
        CHECK_KEYS(r->kvs, r->nkvs, left);
    }
    etcd_res_free(r);
    r = READDIR("/d");
    REQUIRE(r);
    {
        static const bk left[] = { BK("/d"), BK("/d\x00") };
        CHECK_KEYS(r->kvs, r->nkvs, left);
    }
    etcd_res_free(r);
    for (i = 0; i < sizeof out / sizeof out[0]; i++) {
        r = delete_b(out[i].b, out[i].n, false);
        CHECK(r && r->deleted == 1);
        etcd_res_free(r);
    }
}

/* ---- txn ---------------------------------------------------------------- */

static etcd_compare cmp_b(etcd_cmp_target t, char *buf, const char *b, size_t n)
{
    etcd_compare c;
    memset(&c, 0, sizeof c);
    c.target = t;
    c.result = ETCD_CMP_EQUAL;
    c.key = buf;
    c.key_len = rel(buf, b, n);
    return c;
}

static etcd_op op_b(etcd_op_type t, char *buf, const char *b, size_t n)
{
    etcd_op o;
    memset(&o, 0, sizeof o);
    o.type = t;
    o.key = buf;
    o.key_len = rel(buf, b, n);
    return o;
}

static void txn_binary(void)
{
    static const bk range[] = { BK("k\0"), BK("k\0z"), BK("k\0\xff") };
    static const bk range2[] = { BK("k\0"), BK("k\0z") };
    char kc[KMAX], kc2[KMAX], kp[KMAX], kr[KMAX], kre[KMAX], kre2[KMAX], kd[KMAX], kf[KMAX];
    etcd_compare cmp[3];
    etcd_op ok[4], fail[1];
    etcd_res *r;

    PUT("c\0", "1");
    PUT("c", "2");                     /* strlen() neighbour, other value */
    PUT("k", "0");
    PUT("k\0", "1");
    PUT("k\0z", "2");
    PUT("k\0\xff", "3");
    PUT("k\x01", "4");
    PUT("del\0", "1");
    PUT("del", "2");

    cmp[0] = cmp_b(ETCD_CMP_VERSION, kc, L("c\0"));
    cmp[0].version = 1;
    cmp[1] = cmp_b(ETCD_CMP_VALUE, kc2, L("c\0"));
    cmp[1].value = "1";
    /* every key of ["k\0", "k\x01") has version 1 */
    cmp[2] = cmp_b(ETCD_CMP_VERSION, kr, L("k\0"));
    cmp[2].version = 1;
    cmp[2].range_end = kre;
    cmp[2].range_end_len = rel(kre, L("k\x01"));
    ok[0] = op_b(ETCD_OP_PUT, kp, L("p\0\xff"));
    ok[0].value = "\"put\"";
    ok[1] = op_b(ETCD_OP_RANGE, kr, L("k\0"));
    ok[1].range_end = kre;
    ok[1].range_end_len = cmp[2].range_end_len;
    /* a range_end with a NUL inside: ["k\0", "k\0\xff") */
    ok[2] = op_b(ETCD_OP_RANGE, kr, L("k\0"));
    ok[2].range_end = kre2;
    ok[2].range_end_len = rel(kre2, L("k\0\xff"));
    ok[3] = op_b(ETCD_OP_DELETE, kd, L("del\0"));
    ok[3].prev_kv = true;
    fail[0] = op_b(ETCD_OP_RANGE, kf, L("c"));

    r = test_ok200(C, etcd_txn(C, cmp, 3, ok, 4, fail, 1, NULL));
    REQUIRE(r);
    CHECK(r->succeeded);
    CHECK_INT(r->nresponses, 4);
    if (r->nresponses == 4) {
        CHECK_KEYS(r->responses[1].kvs, r->responses[1].nkvs, range);
        CHECK_INT(r->responses[1].count, 3);
        CHECK_KEYS(r->responses[2].kvs, r->responses[2].nkvs, range2);
        CHECK_INT(r->responses[3].deleted, 1);
        CHECK_INT(r->responses[3].nprev_kvs, 1);
        if (r->responses[3].nprev_kvs == 1) CHECK_KV(&r->responses[3].prev_kvs[0], "del\0", "1");
    }
    etcd_res_free(r);
    GET("p\0\xff", "\"put\"");
    ABSENT("p");
    ABSENT("del\0");
    GET("del", "2");

    /* the compares are false on the strlen() neighbour "c" and once a key
       of the range has version 2: the failure branch runs */
    PUT("k\0z", "5");
    cmp[0] = cmp_b(ETCD_CMP_VALUE, kc, L("c"));
    cmp[0].value = "1";
    r = test_ok200(C, etcd_txn(C, cmp, 1, ok, 1, fail, 1, NULL));
    REQUIRE(r);
    CHECK(!r->succeeded);
    CHECK_INT(r->nresponses, 1);
    if (r->nresponses == 1 && r->responses[0].nkvs == 1) CHECK_KV(&r->responses[0].kvs[0], "c", "2");
    else CHECK(0);
    etcd_res_free(r);
    r = test_ok200(C, etcd_txn(C, &cmp[2], 1, ok, 1, fail, 1, NULL));
    REQUIRE(r);
    CHECK(!r->succeeded);
    etcd_res_free(r);

    /* a binary failure RANGE op, read on "c\0" */
    cmp[0] = cmp_b(ETCD_CMP_VERSION, kc, L("nope\0"));
    cmp[0].result = ETCD_CMP_GREATER;
    fail[0] = op_b(ETCD_OP_RANGE, kf, L("c\0"));
    r = test_ok200(C, etcd_txn(C, cmp, 1, ok, 1, fail, 1, NULL));
    REQUIRE(r);
    CHECK(!r->succeeded);
    if (r->nresponses == 1 && r->responses[0].nkvs == 1) CHECK_KV(&r->responses[0].kvs[0], "c\0", "1");
    else CHECK(0);
    etcd_res_free(r);
}

static void test_txn_binary(void)        { use(cli, "", "/np/txn/"); txn_binary(); }
static void test_txn_binary_prefix(void) { use(pcli, PFX, "txn/");   txn_binary(); }

/* ---- setnx / setx ------------------------------------------------------- */

static etcd_res *write_b(int kind, const char *b, size_t n, const char *val)
{
    char k[KMAX];
    etcd_set_opts o = {0};
    o.key_len = rel(k, b, n);
    return test_ok200(C, kind == 0 ? etcd_setnx(C, k, val, &o) : etcd_setx(C, k, val, &o));
}

static void setnx_setx(void)
{
    etcd_res *r;
    PUT("x", "1");                     /* "x" exists, "x\0" does not */

    r = write_b(1, L("x\0"), "2");     /* setx: absent, so not written */
    REQUIRE(r);
    CHECK(!r->succeeded);
    etcd_res_free(r);
    ABSENT("x\0");
    GET("x", "1");

    r = write_b(0, L("x\0"), "3");     /* setnx: absent, written */
    REQUIRE(r);
    CHECK(r->succeeded);
    etcd_res_free(r);
    GET("x\0", "3");
    GET("x", "1");

    r = write_b(0, L("x\0"), "4");     /* setnx: present now */
    REQUIRE(r);
    CHECK(!r->succeeded);
    etcd_res_free(r);
    GET("x\0", "3");

    r = write_b(1, L("x\0"), "5");     /* setx: present, written */
    REQUIRE(r);
    CHECK(r->succeeded);
    etcd_res_free(r);
    GET("x\0", "5");
    GET("x", "1");

    r = write_b(0, L("\xff\x00"), "6");
    REQUIRE(r);
    CHECK(r->succeeded);
    etcd_res_free(r);
    GET("\xff\x00", "6");
    ABSENT("\xff");
}

static void test_setnx_setx(void)        { use(cli, "", "/np/nx/"); setnx_setx(); }
static void test_setnx_setx_prefix(void) { use(pcli, PFX, "nx/");   setnx_setx(); }

/* ---- watch / watchdir --------------------------------------------------- */

static etcd_watcher *open_w(const char *b, size_t n, bool dir)
{
    char k[KMAX];
    etcd_watch_opts o = {0};
    etcd_watcher *w;
    etcd_res *r;
    o.key_len = rel(k, b, n);
    o.timeout = 5;
    w = dir ? etcd_watchdir(C, k, &o) : etcd_watch(C, k, &o);
    if (!w) { fprintf(stderr, "  watch failed: %s\n", etcd_errstr(C)); return NULL; }
    r = etcd_watch_next(w);
    if (!r || !r->created || r->canceled) {
        fprintf(stderr, "  watch: first message is %s\n", r ? r->body : etcd_watch_errstr(w));
        etcd_res_free(r);
        etcd_watchcancel(w);
        return NULL;
    }
    etcd_res_free(r);
    return w;
}

/* The next event must be a PUT of P+N+b with value val. */
static void next_event_at(etcd_watcher *w, const char *b, size_t n, const char *val, int line)
{
    etcd_res *r = etcd_watch_next(w);
    if (!r || r->canceled || r->nevents < 1) {
        fprintf(stderr, "  line %d: no event: %s\n", line, r ? r->body : etcd_watch_errstr(w));
        t__cur_failed = 1;
    } else {
        CHECK_INT(r->events[0].type, ETCD_EVENT_PUT);
        check_kv_at(&r->events[0].kv, b, n, val, line);
        if (r->nevents != 1) {
            fprintf(stderr, "  line %d: %zu events, not 1\n", line, r->nevents);
            t__cur_failed = 1;
        }
    }
    etcd_res_free(r);
}
#define NEXT_EVENT(w, lit, val) next_event_at((w), L(lit), (val), __LINE__)

/* Writes to neighbours come first: had the watch matched them, their event
   would be the next one, before the expected one. */
static void watch_binary(void)
{
    etcd_watcher *w = open_w(L("w\0"), false);
    REQUIRE(w);
    PUT("w", "1");
    PUT("w\0\0", "2");
    PUT("w\x01", "3");
    PUT("w\0", "4");
    NEXT_EVENT(w, "w\0", "4");
    PUT("w\0\xff", "5");
    PUT("w\0", "6");
    NEXT_EVENT(w, "w\0", "6");
    etcd_watchcancel(w);
}

static void test_watch_binary(void)        { use(cli, "", "/np/w/"); watch_binary(); }
static void test_watch_binary_prefix(void) { use(pcli, PFX, "w/");   watch_binary(); }

static void watchdir_binary(void)
{
    etcd_watcher *w = open_w(L("wd\0"), true);
    REQUIRE(w);
    PUT("wd", "1");
    PUT("wd\x01", "2");
    PUT("wc\xff", "3");
    PUT("wd\0a", "4");
    NEXT_EVENT(w, "wd\0a", "4");
    PUT("wd\x01\x00", "5");
    PUT("wd\0\xff", "6");
    NEXT_EVENT(w, "wd\0\xff", "6");
    etcd_watchcancel(w);

    /* dir ending in 0xff: up to "wf", not "wf" itself */
    w = open_w(L("we\xff"), true);
    REQUIRE(w);
    PUT("wf", "7");
    PUT("we\xfe\xff", "8");
    PUT("we\xff\xff\x00", "9");
    NEXT_EVENT(w, "we\xff\xff\x00", "9");
    etcd_watchcancel(w);
}

static void test_watchdir_binary(void)        { use(cli, "", "/np/wd/"); watchdir_binary(); }
static void test_watchdir_binary_prefix(void) { use(pcli, PFX, "wd/");   watchdir_binary(); }

/* watchdir of "\xff" (no prefix): to the end of the keyspace; watchdir of
   "\xff" under key_prefix "/c\xff": ["/c\xff\xff", "/d"). */
static void test_watchdir_all_ff(void)
{
    etcd_opts o;
    etcd *ccli;
    etcd_watcher *w;
    etcd_res *r;

    use(cli, "", "");
    w = open_w(L("\xff"), true);
    REQUIRE(w);
    PUT("\xfe\xff\xff", "1");
    PUT("\xff\xff\xff\x07", "2");
    NEXT_EVENT(w, "\xff\xff\xff\x07", "2");
    etcd_watchcancel(w);

    memset(&o, 0, sizeof o);
    o.key_prefix = "/c\xff";
    ccli = test_client(&srv, &o);
    REQUIRE(ccli);
    use(ccli, "/c\xff", "");
    w = open_w(L("\xff"), true);
    if (w) {
        use(cli, "", "");
        PUT("/d", "3");
        PUT("/c\xff\xfe", "4");
        PUT("/c\xff", "5");
        PUT("/c\xff\xff\x01", "6");
        NEXT_EVENT(w, "/c\xff\xff\x01", "6");
        etcd_watchcancel(w);
    } else {
        CHECK(0);
    }
    etcd_free(ccli);

    use(cli, "", "");
    r = rmdir_b(L("\xfe"), false);     /* ["\xfe", "\xff") */
    CHECK(r && r->deleted == 1);
    etcd_res_free(r);
    r = rmdir_b(L("\xff"), false);     /* ["\xff", end) */
    CHECK(r && r->deleted == 1);
    etcd_res_free(r);
    r = rmdir_b(L("/c\xff"), false);   /* ["/c\xff", "/d") */
    CHECK(r && r->deleted == 3);
    etcd_res_free(r);
    r = rmdir_b(L("/d"), false);
    CHECK(r && r->deleted == 1);
    etcd_res_free(r);
}

/* ---- timetolive keys ---------------------------------------------------- */

static void lease_keys(void)
{
    char k[KMAX], want[KMAX];
    etcd_set_opts so = {0};
    etcd_res *g, *r;
    size_t wn;
    int64_t id;

    g = test_ok200(C, etcd_grant(C, 60, 0));
    REQUIRE(g);
    id = g->id;
    etcd_res_free(g);
    REQUIRE(id != 0);
    so.key_len = rel(k, L("l\0\xff"));
    so.lease = id;
    r = test_ok200(C, etcd_set(C, k, "1", &so));
    CHECK(r != NULL);
    etcd_res_free(r);

    r = test_ok200(C, etcd_timetolive(C, id, true));
    CHECK(r != NULL);
    if (r) {
        wn = full(want, L("l\0\xff"));
        CHECK_INT(r->nkeys, 1);
        if (r->nkeys == 1) check_key_bytes(r->keys[0].ptr, r->keys[0].len, want, wn, __LINE__);
    }
    etcd_res_free(r);
    r = test_ok200(C, etcd_revoke(C, id));
    CHECK(r != NULL);
    etcd_res_free(r);
    ABSENT("l\0\xff");
}

static void test_lease_keys(void)        { use(cli, "", "/np/lk/"); lease_keys(); }
static void test_lease_keys_prefix(void) { use(pcli, PFX, "lk/");   lease_keys(); }

/* ---- independent check with etcdctl ------------------------------------- */

static int b64v(int c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Standard base64 (with padding) from s up to the closing quote, NUL-
   terminated; the number of bytes written, or (size_t)-1. */
static size_t b64dec(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (; *s && *s != '"'; s++) {
        int v;
        if (*s == '=') continue;
        if ((v = b64v((unsigned char)*s)) < 0) return (size_t)-1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n + 1 >= cap) return (size_t)-1;
            out[n++] = (char)((acc >> bits) & 0xFF);
        }
    }
    out[n] = '\0';
    return n;
}

/* The keys etcdctl lists under prefix (-w json: base64), decoded, checked
   against want (full bytes), in order. */
static void ctl_keys_at(const char *prefix, const bk *want, size_t nw, int line)
{
    const char *args[] = { "get", prefix, "--prefix", "--keys-only", "-w", "json", NULL };
    static char out[16384];
    const char *p;
    size_t i = 0;
    if (test_etcdctl(&srv, out, sizeof out, args) != 0) {
        fprintf(stderr, "  line %d: etcdctl get failed\n", line);
        t__cur_failed = 1;
        return;
    }
    for (p = strstr(out, "\"key\":\""); p; p = strstr(p, "\"key\":\"")) {
        char k[KMAX];
        size_t n;
        p += 7;
        n = b64dec(p, k, sizeof k);
        if (n == (size_t)-1) { fprintf(stderr, "  line %d: bad base64 in %s\n", line, out); t__cur_failed = 1; return; }
        if (i < nw) check_key_bytes(k, n, want[i].b, want[i].n, line);
        i++;
    }
    if (i != nw) {
        fprintf(stderr, "  line %d: etcdctl lists %zu keys, not %zu: %s\n", line, i, nw, out);
        t__cur_failed = 1;
    }
}
#define CTL_KEYS(prefix, want) ctl_keys_at((prefix), (want), sizeof(want) / sizeof(want)[0], __LINE__)

static void test_etcdctl_bytes(void)
{
    /* written by etcd.h, listed by etcdctl: exactly these bytes */
    static const bk np[] = { BK("/np/ctl/\x00"), BK("/np/ctl/a"), BK("/np/ctl/a\x00" "b"),
                             BK("/np/ctl/\xff\x00\xff") };
    static const bk pf[] = { BK(PFX "ctl/\x00\x00"), BK(PFX "ctl/z\x00") };
    const char *put_args[] = { "put", "/np/ctl2/\xff\xfe", "\"ctl\"", NULL };
    etcd_res *r;

    use(cli, "", "/np/ctl/");
    PUT("\0", "1");
    PUT("a", "2");
    PUT("a\0b", "3");
    PUT("\xff\x00\xff", "4");
    CTL_KEYS("/np/ctl/", np);

    use(pcli, PFX, "ctl/");
    PUT("\0\0", "5");
    PUT("z\0", "6");
    CTL_KEYS(PFX "ctl/", pf);

    /* written by etcdctl, read by etcd.h: get, and readdir of a binary dir */
    REQUIRE(test_etcdctl(&srv, NULL, 0, put_args) == 0);
    use(cli, "", "/np/ctl2/");
    GET("\xff\xfe", "\"ctl\"");
    r = READDIR("\xff");
    REQUIRE(r);
    CHECK_INT(r->nkvs, 1);
    if (r->nkvs == 1) CHECK_KV(&r->kvs[0], "\xff\xfe", "\"ctl\"");
    etcd_res_free(r);
    r = READDIR("\xff\xfe\x00");       /* a longer dir: not it */
    REQUIRE(r);
    CHECK_INT(r->nkvs, 0);
    etcd_res_free(r);
}

/* ------------------------------------------------------------------------ */

int main(void)
{
    etcd_opts o;
    if (test_etcd_start(&srv, NULL) != 0) return 1;
    cli = test_client(&srv, NULL);
    memset(&o, 0, sizeof o);
    o.key_prefix = PFX;
    pcli = test_client(&srv, &o);
    if (!cli || !pcli) {
        fprintf(stderr, "test_binary: setup failed\n");
        etcd_free(cli);
        etcd_free(pcli);
        test_etcd_stop(&srv);
        return 1;
    }
    RUN(test_set_get_delete);
    RUN(test_set_get_delete_prefix);
    RUN(test_empty_key);
    RUN(test_empty_key_prefix);
    RUN(test_dir_nul);
    RUN(test_dir_nul_prefix);
    RUN(test_dir_ff_carry);
    RUN(test_dir_ff_carry_prefix);
    RUN(test_dir_all_ff);
    RUN(test_dir_prefix_carry);
    RUN(test_txn_binary);
    RUN(test_txn_binary_prefix);
    RUN(test_setnx_setx);
    RUN(test_setnx_setx_prefix);
    RUN(test_watch_binary);
    RUN(test_watch_binary_prefix);
    RUN(test_watchdir_binary);
    RUN(test_watchdir_binary_prefix);
    RUN(test_watchdir_all_ff);
    RUN(test_lease_keys);
    RUN(test_lease_keys_prefix);
    RUN(test_etcdctl_bytes);
    etcd_free(pcli);
    etcd_free(cli);
    test_etcd_stop(&srv);
    return test_summary();
}
