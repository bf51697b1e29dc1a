/* Unit tests of etcd.h's pure internals: base64, the JSON tokenizer and
   helpers, the HTTP head parser, the chunked decoder, the watch stream
   splitter and the result decoder. No sockets, no etcd. */
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"

/* ---- base64 ---------------------------------------------------------- */

static void test_b64_roundtrip(void)
{
    static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
    static const char *const coded[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
    size_t i;
    for (i = 0; i < 7; i++) {
        etcd__buf b = { 0 };
        unsigned char out[16];
        long n;
        etcd__b64_encode(&b, plain[i], strlen(plain[i]));
        CHECK_STR(b.p ? b.p : "", coded[i]);
        n = etcd__b64_decode(out, coded[i], strlen(coded[i]));
        CHECK_MEM(out, (size_t)n, plain[i], strlen(plain[i]));
        etcd__buf_free(&b);
    }
}

static void test_b64_binary_in_place(void)
{
    unsigned char all[256];
    etcd__buf b = { 0 };
    long n;
    int i;
    for (i = 0; i < 256; i++) all[i] = (unsigned char)i;
    etcd__b64_encode(&b, all, sizeof all);
    REQUIRE(b.p && !b.oom);
    n = etcd__b64_decode((unsigned char *)b.p, b.p, b.len);      /* in place */
    CHECK_MEM(b.p, (size_t)n, all, sizeof all);
    etcd__buf_free(&b);
}

static void test_b64_invalid(void)
{
    unsigned char out[16];
    CHECK_INT(etcd__b64_decode(out, "Zm9v!", 5), -1);
    CHECK_INT(etcd__b64_decode(out, "Z", 1), -1);
    CHECK_INT(etcd__b64_decode(out, "Zm 9", 4), -1);
    CHECK_INT(etcd__b64_decode(out, "", 0), 0);        /* empty is not an error */
    CHECK_INT(etcd__b64_decode(out, "Zm8", 3), 2);     /* padding is optional */
    CHECK_INT(etcd__b64_decode(out, "Zm8=", 4), 2);
    CHECK_INT(etcd__b64_decode(out, "Zg==", 4), 1);
    /* but canonical when there (found by fuzz/base64): '=' only up to a
       multiple of 4, and no set bits past the last byte */
    CHECK_INT(etcd__b64_decode(out, "Zg=====", 7), -1);
    CHECK_INT(etcd__b64_decode(out, "Zg=", 3), -1);
    CHECK_INT(etcd__b64_decode(out, "Zm9v=", 5), -1);
    CHECK_INT(etcd__b64_decode(out, "Zm9vYg=", 7), -1);
    CHECK_INT(etcd__b64_decode(out, "=", 1), -1);
    CHECK_INT(etcd__b64_decode(out, "====", 4), -1);
    CHECK_INT(etcd__b64_decode(out, "Zh==", 4), -1);
    CHECK_INT(etcd__b64_decode(out, "Zm9=", 4), -1);
}

/* ---- JSON tokenizer ------------------------------------------------- */

static long parse(const char *s, etcd_json_tok *t, size_t n) { return etcd_json_parse(s, strlen(s), t, n); }

static void test_json_tokens(void)
{
    const char *s = " {\"a\": [1, -2.5e3, \"x\\\"y\"], \"b\": {}, \"c\": true, \"d\": null} ";
    etcd_json_tok t[16];
    long n = parse(s, t, 16);
    REQUIRE(n == 12);
    CHECK_INT(t[0].type, ETCD_JSON_OBJECT); CHECK_INT(t[0].size, 4);
    CHECK_INT(t[0].start, 1); CHECK_INT(t[0].end, strlen(s) - 1);
    CHECK_INT(t[1].type, ETCD_JSON_STRING); CHECK_INT(t[1].start, 3); CHECK_INT(t[1].end, 4);
    CHECK_INT(t[2].type, ETCD_JSON_ARRAY); CHECK_INT(t[2].size, 3);
    CHECK_INT(t[3].type, ETCD_JSON_NUMBER); CHECK_MEM(s + t[3].start, t[3].end - t[3].start, "1", 1);
    CHECK_MEM(s + t[4].start, t[4].end - t[4].start, "-2.5e3", 6);
    CHECK_INT(t[5].type, ETCD_JSON_STRING); CHECK_MEM(s + t[5].start, t[5].end - t[5].start, "x\\\"y", 4);
    CHECK_INT(t[7].type, ETCD_JSON_OBJECT); CHECK_INT(t[7].size, 0);
    CHECK_INT(t[9].type, ETCD_JSON_TRUE);
    CHECK_INT(t[11].type, ETCD_JSON_NULL);
}

static void test_json_scalars_and_count(void)
{
    etcd_json_tok t[4];
    CHECK_INT(parse("0", t, 4), 1);
    CHECK_INT(parse("\"\"", t, 4), 1);
    CHECK_INT(t[0].start, 1); CHECK_INT(t[0].end, 1);
    CHECK_INT(parse("[[[]]]", NULL, 0), 3);             /* counting needs no tokens */
    CHECK_INT(parse("[1,2,3,4,5]", t, 4), ETCD_JSON_ENOMEM);
    CHECK_INT(parse("[1,2,3]", t, 4), 4);
}

static void test_json_invalid(void)
{
    static const char *const bad[] = {
        "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{a:1}", "'x'", "01", "1.", ".5", "-", "1e",
        "tru", "nul", "[1 2]", "{\"a\" 1}", "{\"a\":}", "\"abc", "\"a\\x\"", "\"\\u12g4\"",
        "\"tab\there\"", "[1]]", "1 2", "{\"a\":1}x", "\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"",
        "NaN", "+1", "[", "{\"a\":1", "[\"a\":1]", "{1:2}"
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
        long n = parse(bad[i], NULL, 0);
        if (n != ETCD_JSON_EINVAL) {
            fprintf(stderr, "  accepted invalid JSON #%zu <%s> (%ld)\n", i, bad[i], n);
            t__cur_failed = 1;
        }
    }
}

static void test_json_valid_edge(void)
{
    static const char *const good[] = {
        "{}", "[]", "-0", "0.5e-7", "1E+2", "\"\\u00e9\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\"",
        "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", " \t\r\n[ ] ", "[{\"\":[]}]", "false"
    };
    size_t i;
    for (i = 0; i < sizeof good / sizeof *good; i++)
        if (parse(good[i], NULL, 0) < 1) {
            fprintf(stderr, "  rejected valid JSON <%s>\n", good[i]);
            t__cur_failed = 1;
        }
}

static void test_json_len_honoured(void)
{
    etcd_json_tok t[4];
    CHECK_INT(etcd_json_parse("[1]garbage", 3, t, 4), 2);    /* stops at len, not at NUL */
    CHECK_INT(etcd_json_parse("[1]\0", 4, t, 4), ETCD_JSON_EINVAL);
    CHECK_INT(etcd_json_parse(NULL, 0, t, 4), ETCD_JSON_EINVAL);
}

static void test_json_depth(void)
{
    char deep[2 * ETCD_JSON_MAX_DEPTH + 4];
    size_t d;
    for (d = 0; d < ETCD_JSON_MAX_DEPTH; d++) { deep[d] = '['; deep[2 * ETCD_JSON_MAX_DEPTH - 1 - d] = ']'; }
    CHECK_INT(etcd_json_parse(deep, 2 * ETCD_JSON_MAX_DEPTH, NULL, 0), ETCD_JSON_MAX_DEPTH);
    memmove(deep + 1, deep, 2 * ETCD_JSON_MAX_DEPTH);
    deep[0] = '[';
    deep[2 * ETCD_JSON_MAX_DEPTH + 1] = ']';
    CHECK_INT(etcd_json_parse(deep, 2 * ETCD_JSON_MAX_DEPTH + 2, NULL, 0), ETCD_JSON_EINVAL);
}

static void test_json_unescape(void)
{
    const char *s = "a\\\"b\\\\c\\/d\\n\\u00e9\\ud83d\\ude00\\ud800x";
    char out[64];
    size_t n = etcd__json_unescape(out, s, strlen(s));
    CHECK_MEM(out, n, "a\"b\\c/d\n\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbdx", 18);
}

static void test_json_minify(void)
{
    const char *v = " { \"a b\" : [ 1 , 2 ] ,\n\t\"c\\\" d\" : \"x  y\" } ";
    etcd__buf b = { 0 };
    etcd__json_minify(&b, v, strlen(v));
    CHECK_STR(b.p, "{\"a b\":[1,2],\"c\\\" d\":\"x  y\"}");
    etcd__buf_free(&b);
}

static void test_int64_parse(void)
{
    int64_t v = 0;
    uint64_t u = 0;
    CHECK(etcd__parse_i64("9223372036854775807", 19, &v) && v == INT64_MAX);
    CHECK(etcd__parse_i64("-9223372036854775808", 20, &v) && v == INT64_MIN);
    CHECK(!etcd__parse_i64("9223372036854775808", 19, &v));
    CHECK(etcd__parse_i64("2324035592731921672", 19, &v) && v == 2324035592731921672LL);
    CHECK(!etcd__parse_i64("", 0, &v));
    CHECK(!etcd__parse_i64("-", 1, &v));
    CHECK(!etcd__parse_i64("1.5", 3, &v));
    CHECK(etcd__parse_u64("18446744073709551615", 20, &u) && u == UINT64_MAX);
    CHECK(!etcd__parse_u64("18446744073709551616", 20, &u));
}

/* ---- HTTP head and chunked bodies ------------------------------------ */

static int head(const char *s, etcd__resp *r, size_t *hl, etcd__error *err)
{
    return etcd__http_parse_head(s, strlen(s), r, hl, err);
}

static void test_http_head(void)
{
    etcd__resp r;
    size_t hl = 0;
    etcd__error err;
    const char *ok = "HTTP/1.1 200 OK\r\ncontent-LENGTH:  12 \r\nX: y\r\n\r\nbody";
    CHECK_INT(head(ok, &r, &hl, &err), 1);
    CHECK_INT(r.status, 200); CHECK_INT(r.clen, 12); CHECK(!r.chunked); CHECK(!r.close);
    CHECK_INT(hl, strlen(ok) - 4);
    CHECK_INT(head("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\nConnection: keep-alive, Close\r\n\r\n",
                   &r, &hl, &err), 1);
    CHECK(r.chunked); CHECK(r.close); CHECK_INT(r.clen, -1);
    CHECK_INT(head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", &r, &hl, &err), 1);
    CHECK(r.chunked && r.close && r.clen == -1);          /* chunked wins, then close */
    CHECK_INT(head("HTTP/1.0 404 Not Found\r\n\r\n", &r, &hl, &err), 1);
    CHECK(r.close); CHECK_INT(r.status, 404);
    CHECK_INT(head("HTTP/1.1 200 OK\r\nContent-Le", &r, &hl, &err), 0);   /* needs more */
}

static void test_http_head_bad(void)
{
    static const char *const bad[] = {
        "HTTP/1.1 abc\r\n\r\n", "SSH-2.0-OpenSSH\r\n\r\n", "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "HTTP/1.1 200 OK\r\n folded\r\n\r\n",
        "HTTP/1.1 200 OK\nX: y\r\n\r\n", "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        "HTTP/1.1 099 Odd\r\n\r\n"
    };
    size_t i, hl;
    etcd__resp r;
    etcd__error err;
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = head(bad[i], &r, &hl, &err);
        if (rc != -1) { fprintf(stderr, "  accepted bad head #%zu (%d)\n", i, rc); t__cur_failed = 1; }
    }
}

static void test_http_head_too_big(void)
{
    size_t n = ETCD__MAX_HEAD + 10, hl;
    char *s = (char *)malloc(n);
    etcd__error err;
    etcd__resp r;
    REQUIRE(s);
    memset(s, 'a', n);
    memcpy(s, "HTTP/1.1 200 OK\r\nX: ", 20);
    CHECK_INT(etcd__http_parse_head(s, n, &r, &hl, &err), -1);
    CHECK_HAS(err.msg, "head larger");
    CHECK_INT(err.code, ETCD_EPROTO);
    free(s);
}

/* Feed a body step bytes at a time; returns the decoded text or NULL. */
static int feed(const char *in, size_t step, etcd__body *b, etcd__buf *out, size_t max, etcd__error *err)
{
    size_t i = 0, n = strlen(in);
    while (i < n && !b->done) {
        size_t k = n - i < step ? n - i : step;
        long r = etcd__body_feed(b, in + i, k, out, max, err);
        if (r < 0) return -1;
        i += (size_t)r;
        if ((size_t)r < k && !b->done) return -1;
    }
    return b->done ? 0 : 1;
}

static void test_chunked(void)
{
    const char *in = "4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\n";
    size_t step;
    for (step = 1; step <= strlen(in); step++) {
        etcd__body b;
        etcd__buf out = { 0 };
        etcd__error err;
        memset(&b, 0, sizeof b);
        b.mode = ETCD__BODY_CHUNKED;
        CHECK_INT(feed(in, step, &b, &out, 1000, &err), 0);
        CHECK_STR(out.p, "Wikipedia in\r\n\r\nchunks.");
        etcd__buf_free(&out);
    }
}

static void test_chunked_bad(void)
{
    static const char *const bad[] = {
        "zz\r\n", "\r\n", "4\r\nWikiX\r\n", "4\nWiki", "FFFFFFFFFFFFFFFFF\r\n", "4\r\nWiki\r\n0\r\n\rX"
    };
    size_t i;
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
        etcd__body b;
        etcd__buf out = { 0 };
        etcd__error err;
        memset(&b, 0, sizeof b);
        b.mode = ETCD__BODY_CHUNKED;
        if (feed(bad[i], 3, &b, &out, 1000, &err) != -1) {
            fprintf(stderr, "  accepted bad chunked body #%zu\n", i);
            t__cur_failed = 1;
        }
        etcd__buf_free(&out);
    }
}

static void test_body_max(void)
{
    etcd__body b;
    etcd__buf out = { 0 };
    etcd__error err;
    memset(&b, 0, sizeof b);
    b.mode = ETCD__BODY_CHUNKED;
    CHECK_INT(feed("8\r\n12345678\r\n0\r\n\r\n", 100, &b, &out, 7, &err), -1);
    CHECK_HAS(err.msg, "max_response");
    CHECK_INT(err.code, ETCD_ETOOLARGE);
    etcd__buf_free(&out);
    memset(&b, 0, sizeof b);
    b.mode = ETCD__BODY_LENGTH;
    b.left = 4;
    CHECK_INT(feed("abcdEXTRA", 100, &b, &out, 10, &err), 0);
    CHECK_STR(out.p, "abcd");
    etcd__buf_free(&out);
}

/* ---- watch stream splitter ------------------------------------------- */

static void test_json_next(void)
{
    const char *s = "\n {\"a\":\"}{\\\"\"}{\"b\":[1,{}]}\n{\"c\"";
    etcd__split sp;
    size_t st = 0, en = 0, off = 0;
    memset(&sp, 0, sizeof sp);
    CHECK_INT(etcd__json_next(&sp, s, strlen(s), &st, &en), 1);
    CHECK_MEM(s + st, en - st, "{\"a\":\"}{\\\"\"}", 12);
    off = en;
    CHECK_INT(etcd__json_next(&sp, s + off, strlen(s) - off, &st, &en), 1);
    CHECK_MEM(s + off + st, en - st, "{\"b\":[1,{}]}", 12);
    off += en;
    CHECK_INT(etcd__json_next(&sp, s + off, strlen(s) - off, &st, &en), 0);   /* incomplete */
    memset(&sp, 0, sizeof sp);
    CHECK_INT(etcd__json_next(&sp, " \n ", 3, &st, &en), 0);
    memset(&sp, 0, sizeof sp);
    CHECK_INT(etcd__json_next(&sp, "x{}", 3, &st, &en), -1);
}

/* The splitter resumes: a message fed one byte per call (cut right after
   a backslash too) is found exactly once, at its end. */
static void test_json_next_incremental(void)
{
    const char *s = "  {\"r\":\"a}{\\\"b\\\\\",\"e\":[{}]} {\"x\":1}";
    size_t n = strlen(s), len, st = 0, en = 0, found = 0;
    etcd__split sp;
    memset(&sp, 0, sizeof sp);
    for (len = 1; len <= n; len++) {
        int k = etcd__json_next(&sp, s, len, &st, &en);
        if (k == 1) {
            found++;
            CHECK_INT(st, 2);
            CHECK_INT(en, 27);
            CHECK_INT(len, 27);
            break;
        }
        CHECK_INT(k, 0);
    }
    CHECK_INT(found, 1);
}

/* ---- result decoding ------------------------------------------------- */

static etcd_res *decode(const char *js, int status, etcd__error *err)
{
    return etcd__decode(js, strlen(js), status, err);
}

static void test_decode_range(void)
{
    const char *js = "{\"header\":{\"cluster_id\":\"14841639068965178418\",\"member_id\":\"10276657743932975437\","
                     "\"revision\":\"9\",\"raft_term\":\"2\"},\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"2\","
                     "\"mod_revision\":\"9\",\"version\":\"3\",\"value\":\"YmFy\",\"lease\":\"7587869\"},"
                     "{\"key\":\"AP8=\",\"mod_revision\":\"4\"}],\"more\":true,\"count\":\"2\"}";
    etcd__error err;
    etcd_res *r = decode(js, 200, &err);
    REQUIRE(r);
    CHECK_INT(r->status, 200);
    CHECK(r->cluster_id == 14841639068965178418ULL);
    CHECK_INT(r->revision, 9); CHECK_INT(r->raft_term, 2);
    REQUIRE(r->nkvs == 2);
    CHECK_STR(r->kvs[0].key, "foo"); CHECK_STR(r->kvs[0].value, "bar");
    CHECK_INT(r->kvs[0].create_revision, 2); CHECK_INT(r->kvs[0].version, 3);
    CHECK_INT(r->kvs[0].lease, 7587869);
    CHECK_MEM(r->kvs[1].key, r->kvs[1].key_len, "\0\xff", 2);
    CHECK_STR(r->kvs[1].value, ""); CHECK_INT(r->kvs[1].value_len, 0);
    CHECK(r->more); CHECK_INT(r->count, 2);
    CHECK_MEM(r->body, r->body_len, js, strlen(js));
    etcd_res_free(r);
}

static void test_decode_txn_watch_lease(void)
{
    const char *txn = "{\"header\":{\"revision\":\"5\"},\"succeeded\":true,\"responses\":[{\"response_put\":"
                      "{\"header\":{\"revision\":\"5\"},\"prev_kv\":{\"key\":\"YQ==\",\"value\":\"MQ==\"}}},"
                      "{\"response_range\":{\"kvs\":[{\"key\":\"Yg==\"}],\"count\":\"1\"}},"
                      "{\"response_delete_range\":{\"deleted\":\"3\"}}]}";
    const char *watch = "{\"result\":{\"header\":{\"revision\":\"7\"},\"watch_id\":\"3\",\"events\":[{\"kv\":"
                        "{\"key\":\"YQ==\",\"value\":\"Mg==\"}},{\"type\":\"DELETE\",\"kv\":{\"key\":\"Yg==\"},"
                        "\"prev_kv\":{\"key\":\"Yg==\",\"value\":\"eA==\"}}]}}";
    const char *ttl = "{\"ID\":\"2324035592731921672\",\"TTL\":\"-1\",\"grantedTTL\":\"60\","
                      "\"keys\":[\"Zm9v\",\"\"],\"leases\":[{\"ID\":\"1\"},{\"ID\":\"2\"}]}";
    etcd__error err;
    etcd_res *r = decode(txn, 200, &err);
    REQUIRE(r && r->succeeded && r->nresponses == 3);
    CHECK_STR(r->responses[0].prev_kv->value, "1");
    CHECK_STR(r->responses[1].kvs[0].key, "b");
    CHECK_INT(r->responses[2].deleted, 3);
    etcd_res_free(r);
    r = decode(watch, 200, &err);
    REQUIRE(r && r->nevents == 2);
    CHECK_INT(r->revision, 7); CHECK_INT(r->watch_id, 3);
    CHECK_INT(r->events[0].type, ETCD_EVENT_PUT); CHECK(r->events[0].prev_kv == NULL);
    CHECK_INT(r->events[1].type, ETCD_EVENT_DELETE); CHECK_STR(r->events[1].prev_kv->value, "x");
    CHECK_STR(r->events[1].kv.value, "");
    etcd_res_free(r);
    /* a repeated "kv" replaces the first whole, in etcd's layout or not */
    r = decode("{\"events\":[{\"kv\":{\"key\":\"YQ==\",\"lease\":\"5\"},\"kv\":{\"value\":\"Yg==\"}},"
               "{\"kv\":{\"key\":\"YQ==\",\"lease\":\"5\"},\"kv\": {\"value\":\"Yg==\"}}]}", 200, &err);
    REQUIRE(r && r->nevents == 2);
    CHECK_STR(r->events[0].kv.key, ""); CHECK_STR(r->events[0].kv.value, "b"); CHECK_INT(r->events[0].kv.lease, 0);
    CHECK_STR(r->events[1].kv.key, ""); CHECK_STR(r->events[1].kv.value, "b"); CHECK_INT(r->events[1].kv.lease, 0);
    etcd_res_free(r);
    r = decode(ttl, 200, &err);
    REQUIRE(r);
    CHECK(r->id == 2324035592731921672LL); CHECK_INT(r->ttl, -1); CHECK_INT(r->granted_ttl, 60);
    REQUIRE(r->nkeys == 2 && r->nleases == 2);
    CHECK_STR(r->keys[0].ptr, "foo"); CHECK_INT(r->keys[1].len, 0);
    CHECK_INT(r->leases[1], 2);
    etcd_res_free(r);
}

static void test_decode_errors(void)
{
    etcd__error err;
    etcd_res *r = decode("{\"error\":\"etcdserver: key not found\",\"message\":\"m\",\"code\":5}", 404, &err);
    REQUIRE(r);
    CHECK_STR(r->error, "etcdserver: key not found"); CHECK_STR(r->message, "m"); CHECK_INT(r->code, 5);
    etcd_res_free(r);
    r = decode("{\"code\":3,\"message\":\"bad\",\"details\":[]}", 400, &err);     /* etcd 3.6 */
    REQUIRE(r);
    CHECK_STR(r->error, "bad"); CHECK_INT(r->code, 3);
    etcd_res_free(r);
    r = decode("{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"no leader\",\"http_status\":\"x\"}}",
               200, &err);
    REQUIRE(r);
    CHECK_STR(r->error, "no leader"); CHECK_INT(r->code, 14);
    etcd_res_free(r);
    CHECK(decode("{\"kvs\":5}", 200, &err) == NULL);
    CHECK_HAS(err.msg, "kvs");
    CHECK_INT(err.code, ETCD_EPROTO);
    CHECK(decode("{\"count\":\"abc\"}", 200, &err) == NULL);
    CHECK(decode("{\"kvs\":[{\"key\":\"!!\"}]}", 200, &err) == NULL);
    CHECK(decode("[1]", 200, &err) == NULL);
    CHECK(decode("{\"a\":", 200, &err) == NULL);
    CHECK_HAS(err.msg, "JSON");
    CHECK_INT(err.code, ETCD_EPROTO);
    CHECK(decode(" ", 200, &err) == NULL);             /* a 200 must carry JSON */
    CHECK_HAS(err.msg, "empty body");
    CHECK_INT(err.code, ETCD_EPROTO);
    r = decode("{\"result\":{\"events\":[{},{\"type\":\"DELETE\"},{\"kv\":null}]}}", 200, &err);
    REQUIRE(r && r->nevents == 3);                         /* kv fields never NULL */
    CHECK_STR(r->events[0].kv.key, ""); CHECK_STR(r->events[1].kv.value, "");
    CHECK_STR(r->events[2].kv.key, ""); CHECK_INT(r->events[1].type, ETCD_EVENT_DELETE);
    etcd_res_free(r);
    r = decode("Bad Gateway\r\n", 404, &err);            /* a text error page */
    REQUIRE(r);
    CHECK_STR(r->message, "Bad Gateway"); CHECK_STR(r->error, "Bad Gateway");
    etcd_res_free(r);
    CHECK(decode("Bad Gateway", 200, &err) == NULL);
    r = decode("", 404, &err);                         /* no body at all */
    REQUIRE(r);
    CHECK_INT(r->status, 404); CHECK_STR(r->body, "");
    etcd_res_free(r);
}

/* Nested txn answers: each level is 3 JSON levels ({, [, {) and all count
   against ETCD_JSON_MAX_DEPTH, as in etcd_json_parse (found by fuzz/decode). */
static etcd_res *nested_txn(int levels, etcd__error *err)
{
    etcd__buf js = { 0 };
    etcd_res *r;
    int i;
    for (i = 0; i < levels; i++) etcd__buf_str(&js, "{\"responses\":[{\"r\":");
    etcd__buf_str(&js, "{}");
    for (i = 0; i < levels; i++) etcd__buf_str(&js, "}]}");
    r = etcd__decode(js.p, js.len, 200, err);
    etcd__buf_free(&js);
    return r;
}

static void test_decode_txn_depth(void)
{
    etcd__error err;
    etcd_res *r = nested_txn(170, &err);        /* 3 * 170 + 1 = 511 levels */
    CHECK(r != NULL);
    etcd_res_free(r);
    CHECK(nested_txn(171, &err) == NULL);       /* 514 */
    CHECK_INT(err.code, ETCD_EPROTO);
}

/* A hostile body cannot make decoding take much more than its size. */
static void test_decode_caps(void)
{
    etcd__buf js = { 0 };
    etcd__error err;
    etcd_res *r;
    int i;
    etcd__buf_str(&js, "{\"events\":[");                 /* 3 bytes -> an etcd_event each */
    for (i = 0; i < 200000; i++) etcd__buf_str(&js, i ? ",{}" : "{}");
    etcd__buf_str(&js, "]}");
    CHECK(etcd__decode(js.p, js.len, 200, &err) == NULL);
    CHECK_HAS(err.msg, "too complex");
    CHECK_INT(err.code, ETCD_ETOOLARGE);
    etcd__buf_reset(&js);
    etcd__buf_str(&js, "{\"leases\":[");                 /* 3 bytes -> 8 of int64 */
    for (i = 0; i < 200000; i++) etcd__buf_str(&js, i ? ",{}" : "{}");
    etcd__buf_str(&js, "]}");
    r = etcd__decode(js.p, js.len, 200, &err);          /* within the cap */
    CHECK(r != NULL && r->nleases == 200000);
    etcd_res_free(r);
    etcd__buf_reset(&js);
    etcd__buf_str(&js, "{\"unknown\":[");                /* skipped: costs no memory */
    for (i = 0; i < 200000; i++) etcd__buf_str(&js, i ? ",0" : "0");
    etcd__buf_str(&js, "],\"count\":\"7\"}");
    r = etcd__decode(js.p, js.len, 200, &err);
    CHECK(r != NULL && r->count == 7);
    etcd_res_free(r);
    etcd__buf_reset(&js);                               /* nesting past ETCD_JSON_MAX_DEPTH */
    etcd__buf_str(&js, "{\"a\":");
    for (i = 0; i < 600; i++) etcd__buf_str(&js, "[");
    for (i = 0; i < 600; i++) etcd__buf_str(&js, "]");
    etcd__buf_str(&js, "}");
    CHECK(etcd__decode(js.p, js.len, 200, &err) == NULL);
    CHECK_INT(err.code, ETCD_EPROTO);
    etcd__buf_free(&js);
}

/* Many kvs: the arena grows past its first block. */
static void test_decode_large(void)
{
    etcd__buf js = { 0 };
    etcd__error err;
    etcd_res *r;
    int i;
    etcd__buf_str(&js, "{\"kvs\":[");
    for (i = 0; i < 5000; i++) etcd__buf_fmt(&js, "%s{\"key\":\"YQ==\",\"version\":\"%d\"}", i ? "," : "", i);
    etcd__buf_str(&js, "]}");
    REQUIRE(!js.oom);
    r = etcd__decode(js.p, js.len, 200, &err);
    REQUIRE(r && r->nkvs == 5000);
    CHECK_INT(r->kvs[4999].version, 4999);
    CHECK_STR(r->kvs[4999].key, "a");
    etcd_res_free(r);
    etcd__buf_free(&js);
}

int main(void)
{
    RUN(test_b64_roundtrip);
    RUN(test_b64_binary_in_place);
    RUN(test_b64_invalid);
    RUN(test_json_tokens);
    RUN(test_json_scalars_and_count);
    RUN(test_json_invalid);
    RUN(test_json_valid_edge);
    RUN(test_json_len_honoured);
    RUN(test_json_depth);
    RUN(test_json_unescape);
    RUN(test_json_minify);
    RUN(test_int64_parse);
    RUN(test_http_head);
    RUN(test_http_head_bad);
    RUN(test_http_head_too_big);
    RUN(test_chunked);
    RUN(test_chunked_bad);
    RUN(test_body_max);
    RUN(test_json_next);
    RUN(test_json_next_incremental);
    RUN(test_decode_range);
    RUN(test_decode_txn_watch_lease);
    RUN(test_decode_errors);
    RUN(test_decode_large);
    RUN(test_decode_caps);
    RUN(test_decode_txn_depth);
    return test_summary();
}
