/* test_client.c - etcd_new option handling and client-level behaviour:
   defaults, refused options, extra headers, version and api prefix,
   key_prefix, the JSON and RAW serializers, ttl, etcd_request,
   etcd_json_parse, etcd_errstr, NULL frees, a dead endpoint.
   Everything that talks to etcd uses a server started by the harness and
   keys under "/<test name>/". */
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
#include "harness.h"

static test_etcd srv;
static etcd *cli;   /* JSON serializer, no key_prefix */

/* ---- helpers ------------------------------------------------------------ */

/* etcdctl's output for args (trailing newline removed); its exit status. */
static int ctl(char *out, size_t n, const char *const *args)
{
    int rc = test_etcdctl(&srv, out, n, args);
    size_t len = strlen(out);
    if (len && out[len - 1] == '\n') out[len - 1] = '\0';
    return rc;
}

/* The stored bytes of key per etcdctl ("" when absent). */
static void check_stored(const char *key, const char *want)
{
    const char *args[] = { "get", key, "--print-value-only", NULL };
    char out[1024];
    CHECK_INT(ctl(out, sizeof out, args), 0);
    if (strcmp(out, want) != 0) fprintf(stderr, "  stored under %s:\n", key);
    CHECK_STR(out, want);
}

static long ctl_count(const char *prefix)
{
    const char *args[] = { "get", prefix, "--prefix", "--keys-only", "--limit=1",
                           "-w", "json", NULL };
    char out[4096];
    const char *p;
    CHECK_INT(ctl(out, sizeof out, args), 0);
    p = strstr(out, "\"count\":");
    return p ? strtol(p + 8, NULL, 10) : 0;
}

/* Around the CHECKs of one case of a loop: names the case if one failed. */
static int case_begin(void)
{
    int saved = t__cur_failed;
    t__cur_failed = 0;
    return saved;
}

static void case_end(int saved, const char *what)
{
    if (t__cur_failed) fprintf(stderr, "  (in the case of %s)\n", what);
    t__cur_failed |= saved;
}

/* etcd_new(opts) fails, and err names why (contains want, if given). */
static void check_refused(const etcd_opts *o, const char *want, const char *what)
{
    char err[256] = "";
    int saved = case_begin();
    etcd *c = etcd_new(o, err, sizeof err);
    CHECK(c == NULL);
    CHECK(err[0] != '\0');
    if (want) CHECK_HAS(err, want);
    case_end(saved, what);
    etcd_free(c);
}

/* set then get key through c: the value comes back. */
static void check_roundtrip(etcd *c, const char *key)
{
    etcd_res *r = test_ok200(c, etcd_set(c, key, "\"rt\"", NULL));
    CHECK(r != NULL);
    etcd_res_free(r);
    r = test_ok200(c, etcd_get(c, key, NULL));
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->nkvs, 1);
        if (r->nkvs == 1) CHECK_STR(r->kvs[0].value, "\"rt\"");
    }
    etcd_res_free(r);
    check_stored(key, "\"rt\"");
}

/* ---- etcd_new ----------------------------------------------------------- */

static void test_new_defaults(void)
{
    etcd_opts zero = {0};
    char err[256] = "unchanged";
    etcd *c = etcd_new(NULL, err, sizeof err);   /* connects nowhere yet */
    CHECK(c != NULL);
    if (c) CHECK_STR(etcd_errstr(c), "");
    etcd_free(c);
    c = etcd_new(&zero, err, sizeof err);
    CHECK(c != NULL);
    etcd_free(c);
    c = etcd_new(NULL, NULL, 0);
    CHECK(c != NULL);
    etcd_free(c);
    zero.protocol = "v3";
    c = etcd_new(&zero, err, sizeof err);
    CHECK(c != NULL);
    etcd_free(c);
    etcd_free(NULL);
    etcd_res_free(NULL);
    zero.protocol = "v2";                        /* no err buffer: no crash */
    CHECK(etcd_new(&zero, NULL, 0) == NULL);
}

static void test_protocol_refused(void)
{
    etcd_opts o = {0};
    o.protocol = "v2";
    check_refused(&o, NULL, o.protocol);
    o.protocol = "v4";
    check_refused(&o, NULL, o.protocol);
}

#if !defined(ETCD_USE_OPENSSL) && !defined(ETCD_USE_MBEDTLS)
/* No TLS backend compiled in: https:// is refused, naming both. */
static void test_https_refused(void)
{
    static const char want[] = "compile etcd.h with ETCD_USE_OPENSSL or ETCD_USE_MBEDTLS";
    etcd_opts o = {0};
    o.http_host = "https://127.0.0.1:2379";
    check_refused(&o, want, o.http_host);
    o.http_host = "http://127.0.0.1:2379,https://127.0.0.1:2380";
    check_refused(&o, want, o.http_host);
}
#endif

static void test_bad_http_host(void)
{
    static const char *bad[] = {
        "ftp://127.0.0.1:2379", "http://", "http://127.0.0.1:abc",
        "http://127.0.0.1:99999", "http://127.0.0.1:-1", "not a url",
        "http://[::1\r\nX-Injected: yes\r\nX-A: b]:2379", "http://[::1]x:2379",
        "http://a b:2379", "http://host/path", "http://user@host:2379",
    };
    etcd_opts o = {0};
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o.http_host = bad[i];
        check_refused(&o, NULL, bad[i]);
    }
}

static void test_extra_headers_refused(void)
{
    static const char *bad[] = {
        "X-Ok: a\r\nInjected: b", "X-Ok: a\nb", "X-Ok: a\r", "X-Ok\r\n: a",
        "Host: other", "hOsT: other", "authorization: x", "AUTHORIZATION: x",
        "Content-Length: 5", "CONTENT-LENGTH: 5", "transfer-encoding: chunked",
        "Transfer-Encoding: chunked", "Connection: close", "connection: close",
        "Upgrade: h2c", "UPGRADE: h2c",
    };
    const char *list[3] = { "X-Fine: 1", NULL, NULL };
    etcd_opts o = {0};
    size_t i;
    o.http_host = srv.url;
    o.extra_headers = list;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        list[1] = bad[i];                         /* after a harmless one */
        check_refused(&o, NULL, bad[i]);
    }
}

static void test_extra_headers_accepted(void)
{
    const char *hdrs[] = { "X-Test-Header: yes", "X-Connection-Id: 7",
                           "Accept-Language: en", NULL };
    etcd_opts o = {0};
    etcd *c;
    o.extra_headers = hdrs;
    c = test_client(&srv, &o);
    REQUIRE(c);
    check_roundtrip(c, "/test_extra_headers_accepted/k");
    etcd_free(c);
}

/* Options and their strings are copied: free them, the client still works
   (under ASan a kept pointer is a use-after-free). */
static void test_opts_copied(void)
{
    char *host = malloc(64), *prefix = malloc(64), *hdr = malloc(64);
    const char **hdrs = malloc(2 * sizeof *hdrs);
    char err[256];
    etcd_opts o = {0};
    etcd *c;
    REQUIRE(host && prefix && hdr && hdrs);
    snprintf(host, 64, "%s", srv.url);
    snprintf(prefix, 64, "/test_opts_copied/");
    snprintf(hdr, 64, "X-Copied: 1");
    hdrs[0] = hdr;
    hdrs[1] = NULL;
    o.http_host = host;
    o.key_prefix = prefix;
    o.extra_headers = hdrs;
    c = etcd_new(&o, err, sizeof err);
    free(host);
    free(prefix);
    free(hdr);
    free((void *)hdrs);
    REQUIRE(c);
    test_put(c, "k", "1");
    etcd_free(c);
    check_stored("/test_opts_copied/k", "1");
}

/* ---- version, api prefix ------------------------------------------------ */

static void test_version(void)
{
    etcd_res *r = test_ok200(cli, etcd_version(cli));
    REQUIRE(r);
    CHECK(r->etcdserver != NULL && strncmp(r->etcdserver, "3.", 2) == 0);
    CHECK(r->etcdcluster != NULL && strncmp(r->etcdcluster, "3.", 2) == 0);
    CHECK_HAS(r->body, "etcdserver");
    etcd_res_free(r);
}

static void test_api_prefix(void)
{
    static const char *prefixes[] = { NULL, "/v3", "/v3beta" };
    static const char *keys[] = { "/test_api_prefix/detected", "/test_api_prefix/v3",
                                  "/test_api_prefix/v3beta" };
    etcd_opts o = {0};
    etcd *c;
    int i;
    for (i = 0; i < 3; i++) {
        o.api_prefix = prefixes[i];
        c = test_client(&srv, &o);
        CHECK(c != NULL);
        if (c) check_roundtrip(c, keys[i]);
        etcd_free(c);
    }
}

/* A wrong explicit api_prefix: a non-200 result or an error, no crash,
   nothing written. */
static void test_api_prefix_bogus(void)
{
    etcd_opts o = {0};
    etcd_res *r;
    etcd *c;
    o.api_prefix = "/v9bogus";
    c = test_client(&srv, &o);
    REQUIRE(c);
    r = etcd_set(c, "/test_api_prefix_bogus/k", "1", NULL);
    CHECK(r == NULL || r->status != 200);
    if (!r) CHECK(etcd_errstr(c)[0] != '\0');
    etcd_res_free(r);
    r = etcd_get(c, "/test_api_prefix_bogus/k", NULL);
    CHECK(r == NULL || r->status != 200);
    etcd_res_free(r);
    etcd_free(c);
    CHECK_INT(ctl_count("/test_api_prefix_bogus/"), 0);
}

/* ---- key_prefix --------------------------------------------------------- */

static void test_key_prefix(void)
{
    etcd_opts o = {0};
    etcd_res *r;
    etcd *pc;
    test_put(cli, "/test_key_prefix", "0");     /* the prefix minus its '/' */
    test_put(cli, "/test_key_prefix0", "0");    /* just past the prefix range */
    o.key_prefix = "/test_key_prefix/";
    pc = test_client(&srv, &o);
    REQUIRE(pc);
    test_put(pc, "k", "1");
    test_put(pc, "d/x", "2");
    check_stored("/test_key_prefix/k", "1");
    check_stored("k", "");
    r = test_ok200(pc, etcd_get(pc, "k", NULL));
    CHECK(r != NULL);
    if (r && r->nkvs == 1) CHECK_STR(r->kvs[0].key, "/test_key_prefix/k");
    else CHECK(!"one kv");
    etcd_res_free(r);
    r = test_ok200(pc, etcd_readdir(pc, "", NULL));
    CHECK(r != NULL);
    if (r && r->nkvs == 2) {
        CHECK_STR(r->kvs[0].key, "/test_key_prefix/d/x");
        CHECK_STR(r->kvs[1].key, "/test_key_prefix/k");
    } else CHECK(!"readdir(\"\") gives the two prefixed keys");
    etcd_res_free(r);
    r = test_ok200(pc, etcd_delete(pc, "k", NULL));
    CHECK(r != NULL && r->deleted == 1);
    etcd_res_free(r);
    etcd_free(pc);
    check_stored("/test_key_prefix/k", "");
    CHECK_INT(ctl_count("/test_key_prefix"), 3);
}

/* ---- serializers -------------------------------------------------------- */

static void check_json_stored(const char *key, const char *val, const char *want)
{
    etcd_res *r = test_ok200(cli, etcd_set(cli, key, val, NULL));
    CHECK(r != NULL);
    etcd_res_free(r);
    check_stored(key, want);
    r = test_ok200(cli, etcd_get(cli, key, NULL));   /* read back as stored */
    CHECK(r != NULL && r->nkvs == 1);
    if (r && r->nkvs == 1) CHECK_STR(r->kvs[0].value, want);
    etcd_res_free(r);
}

/* Whitespace between tokens goes, whitespace inside strings stays. */
static void test_json_minified(void)
{
    check_json_stored("/test_json_minified/obj", "{ \"a\" : [1, 2] }", "{\"a\":[1,2]}");
    check_json_stored("/test_json_minified/str", "\"x y\"", "\"x y\"");
    check_json_stored("/test_json_minified/esc", " \"a\\\" b , c\" ", "\"a\\\" b , c\"");
    check_json_stored("/test_json_minified/ws", "{\n\t\"k\" :\r\n [ true , null ] }",
                      "{\"k\":[true,null]}");
    check_json_stored("/test_json_minified/num", " -1.5e3 ", "-1.5e3");
}

static void test_json_invalid(void)
{
    static const char *bad[] = { "{a:1}", "'x'", "", "{\"a\":1} x", "1 2", "[1,]",
                                 "\"open", "tru", "{\"a\":1}}" };
    const char *k = "/test_json_invalid/k";
    int64_t before = test_rev(cli);
    size_t i;
    etcd_res *r;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int saved = case_begin();
        r = etcd_set(cli, k, bad[i], NULL);
        CHECK(r == NULL);
        etcd_res_free(r);
        CHECK_HAS(etcd_errstr(cli), "JSON");
        r = etcd_setnx(cli, k, bad[i], NULL);
        CHECK(r == NULL);
        etcd_res_free(r);
        CHECK_HAS(etcd_errstr(cli), "JSON");
        case_end(saved, bad[i]);
    }
    CHECK_INT(test_rev(cli), before);
    CHECK_INT(ctl_count(k), 0);
}

static etcd *raw_client(void)
{
    etcd_opts o = {0};
    o.serializer = ETCD_SERIALIZER_RAW;
    return test_client(&srv, &o);
}

static void test_raw_bytes(void)
{
    static const char nul[] = "\"a\0b\" {";
    const char *args[] = { "get", "/test_raw_bytes/nul", "-w", "json", NULL };
    etcd_set_opts so = {0};
    etcd *raw = raw_client();
    etcd_res *r;
    char out[1024];
    REQUIRE(raw);
    test_put(raw, "/test_raw_bytes/notjson", "{a:1}  ");
    check_stored("/test_raw_bytes/notjson", "{a:1}  ");
    so.val_len = sizeof nul - 1;
    r = test_ok200(raw, etcd_set(raw, "/test_raw_bytes/nul", nul, &so));
    CHECK(r != NULL);
    etcd_res_free(r);
    CHECK_INT(ctl(out, sizeof out, args), 0);
    CHECK_HAS(out, "\"value\":\"ImEAYiIgew==\"");   /* base64 of "a\0b" { */
    r = test_ok200(raw, etcd_get(raw, "/test_raw_bytes/nul", NULL));
    CHECK(r != NULL && r->nkvs == 1);
    if (r && r->nkvs == 1) CHECK_MEM(r->kvs[0].value, r->kvs[0].value_len, nul, sizeof nul - 1);
    etcd_res_free(r);
    etcd_free(raw);
}

/* What a JSON client wrote, a RAW client reads byte for byte. */
static void test_raw_reads_json(void)
{
    const char *k = "/test_raw_reads_json/k";
    etcd *raw = raw_client();
    etcd_res *r;
    REQUIRE(raw);
    test_put(cli, k, "{ \"b\" : true, \"s\" : \"x y\" }");
    r = test_ok200(raw, etcd_get(raw, k, NULL));
    CHECK(r != NULL && r->nkvs == 1);
    if (r && r->nkvs == 1) CHECK_STR(r->kvs[0].value, "{\"b\":true,\"s\":\"x y\"}");
    etcd_res_free(r);
    etcd_free(raw);
}

/* ---- ttl ---------------------------------------------------------------- */

static int64_t lease_of(etcd *c, const char *key)
{
    etcd_res *r = test_ok200(c, etcd_get(c, key, NULL));
    int64_t lease = r && r->nkvs == 1 ? r->kvs[0].lease : -1;
    etcd_res_free(r);
    return lease;
}

static void check_granted_ttl(int64_t lease, int64_t want)
{
    etcd_res *r = test_ok200(cli, etcd_timetolive(cli, lease, false));
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->granted_ttl, want);
        CHECK(r->ttl > 0 && r->ttl <= want);
    }
    etcd_res_free(r);
}

/* ttl > 0: set and setnx without a lease attach a fresh lease of ttl
   seconds; with an explicit lease, that one; ttl -1: none. */
static void test_ttl(void)
{
    const char *args[] = { "get", "/test_ttl/set", "-w", "json", NULL };
    etcd_opts o = {0};
    etcd_set_opts so = {0};
    etcd_res *r;
    char out[1024], want[64];
    int64_t l1, l2;
    etcd *c;
    o.ttl = 30;
    c = test_client(&srv, &o);
    REQUIRE(c);
    test_put(c, "/test_ttl/set", "1");
    l1 = lease_of(c, "/test_ttl/set");
    CHECK(l1 > 0);
    check_granted_ttl(l1, 30);
    CHECK_INT(ctl(out, sizeof out, args), 0);
    snprintf(want, sizeof want, "\"lease\":%lld", (long long)l1);
    CHECK_HAS(out, want);
    r = test_ok200(c, etcd_setnx(c, "/test_ttl/setnx", "1", NULL));
    CHECK(r != NULL && r->succeeded);
    etcd_res_free(r);
    l2 = lease_of(c, "/test_ttl/setnx");
    CHECK(l2 > 0);
    if (l2 > 0) check_granted_ttl(l2, 30);
    so.lease = l1;                                /* an explicit lease wins */
    r = test_ok200(c, etcd_set(c, "/test_ttl/explicit", "1", &so));
    CHECK(r != NULL);
    etcd_res_free(r);
    CHECK(lease_of(c, "/test_ttl/explicit") == l1);
    etcd_free(c);
    o.ttl = -1;                                   /* off */
    c = test_client(&srv, &o);
    REQUIRE(c);
    test_put(c, "/test_ttl/off", "1");
    CHECK_INT(lease_of(c, "/test_ttl/off"), 0);
    etcd_free(c);
}

/* ---- etcd_request ------------------------------------------------------- */

static void test_request(void)
{
    etcd_res *r = test_ok200(cli, etcd_request(cli, "/maintenance/status", "{}", 0));
    CHECK(r != NULL);
    if (r) {
        CHECK_HAS(r->body, "\"version\"");
        CHECK_INT(r->body_len, strlen(r->body));
        CHECK(r->revision > 0 && r->member_id != 0);
    }
    etcd_res_free(r);
    r = test_ok200(cli, etcd_request(cli, "/cluster/member/list", NULL, 2.0));
    CHECK(r != NULL);
    if (r) CHECK_HAS(r->body, "\"members\"");
    etcd_res_free(r);
}

/* A 4xx answer is a result with etcd's error fields, not NULL (the body
   is valid JSON that etcd refuses: a key must be a base64 string). */
static void test_request_error_body(void)
{
    etcd_res *r = etcd_request(cli, "/kv/range", "{\"key\": 12}", 0);
    REQUIRE(r);
    CHECK_INT(r->status, 400);
    CHECK(r->error != NULL && r->error[0] != '\0');
    CHECK(r->message != NULL && r->message[0] != '\0');
    CHECK_INT(r->code, 3);
    etcd_res_free(r);
}

/* ---- etcd_json_parse ---------------------------------------------------- */

typedef struct { etcd_json_type type; size_t start, end, size; } want_tok;

/* text tokenizes into exactly want[0..n); sizes checked for containers. */
static void check_tokens(const char *text, const want_tok *want, long n)
{
    etcd_json_tok toks[16];
    long got = etcd_json_parse(text, strlen(text), toks, 16), i;
    CHECK_INT(got, n);
    CHECK_INT(etcd_json_parse(text, strlen(text), NULL, 0), n);   /* count only */
    for (i = 0; i < got && i < n; i++) {
        int bad = toks[i].type != want[i].type || toks[i].start != want[i].start ||
                  toks[i].end != want[i].end ||
                  ((want[i].type == ETCD_JSON_OBJECT || want[i].type == ETCD_JSON_ARRAY) &&
                   toks[i].size != want[i].size);
        if (bad) fprintf(stderr, "  %s: token %ld is type %d [%zu,%zu) size %zu, not "
                         "type %d [%zu,%zu) size %zu\n", text, i, (int)toks[i].type,
                         toks[i].start, toks[i].end, toks[i].size, (int)want[i].type,
                         want[i].start, want[i].end, want[i].size);
        CHECK(!bad);
    }
}

static void test_json_parse_tokens(void)
{
    static const want_tok a[] = {
        { ETCD_JSON_OBJECT, 0, 30, 2 }, { ETCD_JSON_STRING, 2, 3, 0 },
        { ETCD_JSON_ARRAY, 5, 18, 3 }, { ETCD_JSON_NUMBER, 6, 7, 0 },
        { ETCD_JSON_TRUE, 8, 12, 0 }, { ETCD_JSON_NULL, 13, 17, 0 },
        { ETCD_JSON_STRING, 20, 21, 0 }, { ETCD_JSON_STRING, 24, 28, 0 },
    };
    static const want_tok b[] = {
        { ETCD_JSON_ARRAY, 2, 30, 4 }, { ETCD_JSON_NUMBER, 4, 11, 0 },
        { ETCD_JSON_FALSE, 14, 19, 0 }, { ETCD_JSON_STRING, 22, 22, 0 },
        { ETCD_JSON_OBJECT, 26, 28, 0 },
    };
    static const want_tok c[] = { { ETCD_JSON_STRING, 1, 10, 0 } };
    static const want_tok d[] = { { ETCD_JSON_NUMBER, 0, 7, 0 } };
    check_tokens("{\"a\":[1,true,null],\"b\":\"x\\\"y\"}", a, 8);
    check_tokens(" \n[ -1.5e+3 , false, \"\" , {} ] ", b, 5);
    check_tokens("\"\\u00e9\\\\n\" ", c, 1);
    check_tokens("-0.0E-1", d, 1);
}

static void test_json_parse_limits(void)
{
    const char *a = "{\"a\":[1,true,null],\"b\":\"x\\\"y\"}";
    etcd_json_tok toks[8];
    char deep[1300];
    CHECK_INT(etcd_json_parse(a, strlen(a), toks, 7), ETCD_JSON_ENOMEM);
    CHECK_INT(etcd_json_parse(a, strlen(a), toks, 0), ETCD_JSON_ENOMEM);
    CHECK_INT(etcd_json_parse(a, strlen(a), toks, 8), 8);
    CHECK_INT(etcd_json_parse(a, strlen(a), NULL, 0), 8);
    CHECK_INT(etcd_json_parse("[1]xyz", 3, toks, 8), 2);         /* len is honoured */
    CHECK_INT(etcd_json_parse("[1,2]", 2, toks, 8), ETCD_JSON_EINVAL);
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    CHECK_INT(etcd_json_parse(deep, 200, NULL, 0), 100);
    memset(deep, '[', 600);
    memset(deep + 600, ']', 600);
    CHECK_INT(etcd_json_parse(deep, 1200, NULL, 0), ETCD_JSON_EINVAL);
}

static void test_json_parse_invalid(void)
{
    static const char *bad[] = {
        "", " ", "{a:1}", "'x'", "[1,]", "{\"a\":1}}", "\"abc", "01", "1 2", "tru",
        "{\"a\" 1}", "\"\\x\"", "\"a\nb\"", "[1 2]", "{\"a\":}", "+1", "1.", ".5",
        "NaN", "[", "]", "{,}", "\"\\u12g4\"", "{\"a\":1,}", "[true false]", "nul",
    };
    etcd_json_tok toks[16];
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long r1 = etcd_json_parse(bad[i], strlen(bad[i]), toks, 16);
        long r2 = etcd_json_parse(bad[i], strlen(bad[i]), NULL, 0);
        if (r1 != ETCD_JSON_EINVAL || r2 != ETCD_JSON_EINVAL)
            fprintf(stderr, "  \"%s\" gives %ld / %ld\n", bad[i], r1, r2);
        CHECK(r1 == ETCD_JSON_EINVAL && r2 == ETCD_JSON_EINVAL);
    }
}

/* ---- errors ------------------------------------------------------------- */

/* errstr is "" on a fresh client and again after a successful call. */
static void test_errstr(void)
{
    etcd *c = test_client(&srv, NULL);
    etcd_res *r;
    REQUIRE(c);
    CHECK_STR(etcd_errstr(c), "");
    r = etcd_get(c, "", NULL);
    CHECK(r == NULL);
    CHECK(etcd_errstr(c)[0] != '\0');
    etcd_res_free(r);
    r = test_ok200(c, etcd_get(c, "/test_errstr/k", NULL));
    CHECK(r != NULL);
    etcd_res_free(r);
    CHECK_STR(etcd_errstr(c), "");
    etcd_free(c);
}

/* Nothing listening: a call fails at once (not after the timeout) with a
   "connect" error, detection of the api prefix included. The endpoint is
   then unhealthy (max_fails 1), so the next call fails at once too. */
static void test_dead_endpoint(void)
{
    static const char *prefixes[] = { "/v3", NULL };
    char host[64], err[256];
    etcd_opts o = {0};
    int i;
    snprintf(host, sizeof host, "http://127.0.0.1:%d", test_free_port());
    o.http_host = host;
    o.timeout = 3;
    for (i = 0; i < 2; i++) {
        etcd *c;
        etcd_res *r;
        double t0;
        o.api_prefix = prefixes[i];
        c = etcd_new(&o, err, sizeof err);
        REQUIRE(c);
        t0 = test_now();
        r = etcd_get(c, "/test_dead_endpoint/k", NULL);
        CHECK(test_now() - t0 < 1.0);
        CHECK(r == NULL);
        etcd_res_free(r);
        CHECK_HAS(etcd_errstr(c), "connect");
        r = etcd_set(c, "/test_dead_endpoint/k", "1", NULL);
        CHECK(test_now() - t0 < 1.0);
        CHECK(r == NULL);
        etcd_res_free(r);
        CHECK(etcd_errstr(c)[0] != '\0');
        etcd_free(c);
    }
}

int main(void)
{
    RUN(test_new_defaults);          /* no server needed for these */
    RUN(test_protocol_refused);
#if !defined(ETCD_USE_OPENSSL) && !defined(ETCD_USE_MBEDTLS)
    RUN(test_https_refused);
#endif
    RUN(test_bad_http_host);
    RUN(test_json_parse_tokens);
    RUN(test_json_parse_limits);
    RUN(test_json_parse_invalid);
    RUN(test_dead_endpoint);
    if (test_etcd_start(&srv, NULL) != 0) return 1;
    cli = test_client(&srv, NULL);
    if (!cli) {
        test_etcd_stop(&srv);
        return 1;
    }
    RUN(test_extra_headers_refused);
    RUN(test_extra_headers_accepted);
    RUN(test_opts_copied);
    RUN(test_version);
    RUN(test_api_prefix);
    RUN(test_api_prefix_bogus);
    RUN(test_key_prefix);
    RUN(test_json_minified);
    RUN(test_json_invalid);
    RUN(test_raw_bytes);
    RUN(test_raw_reads_json);
    RUN(test_ttl);
    RUN(test_request);
    RUN(test_request_error_body);
    RUN(test_errstr);
    etcd_free(cli);
    test_etcd_stop(&srv);
    return test_summary();
}
