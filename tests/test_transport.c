#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
/* test_transport.c - transport hardening: what a real etcd never does.

   Every test talks to a scripted fake HTTP server (tests/fakeserver.h) on
   127.0.0.1, ::1 or a unix socket, which records the exact requests the
   client sends and answers by script: odd framings, hostile or truncated
   responses, stalls, closed connections, watch streams cut anywhere. */
#include "fakeserver.h"
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------------
   Canned etcd answers
   ------------------------------------------------------------------------ */

#define HDR(rev) FS_HDR(rev)
#define PUT_BODY "{" HDR("43") "}"

/* watch messages: created, PUT foo=8080, DELETE foo, canceled with a
   cancel_reason holding braces and an escaped quote */
#define M1 "{\"result\":{" HDR("5") ",\"created\":true}}"
#define M2 "{\"result\":{" HDR("6") ",\"events\":[{\"kv\":{\"key\":\"Zm9v\"," \
    "\"create_revision\":\"6\",\"mod_revision\":\"6\",\"version\":\"1\",\"value\":\"ODA4MA==\"}}]}}"
#define M3 "{\"result\":{" HDR("7") ",\"events\":[{\"type\":\"DELETE\",\"kv\":{\"key\":\"Zm9v\"," \
    "\"mod_revision\":\"7\"}}]}}"
#define M4_A "{\"result\":{" HDR("8") ",\"canceled\":true,\"cancel_reason\":\"a}"
#define M4_B "{\\"
#define M4_C "\"b\"}}"
#define M4 M4_A M4_B M4_C
#define M4_REASON "a}{\"b"

#define CHUNKED_HEAD "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" \
    "Transfer-Encoding: chunked\r\n\r\n"

/* ------------------------------------------------------------------------
   Helpers
   ------------------------------------------------------------------------ */

/* etcd_watch_next(w) gives no message, with an errstr that is `why`
   (exact) or holds it, within [lo, hi] seconds. */
#define CHECK_NO_MESSAGE(w, why, exact, lo, hi) check_no_message(w, why, exact, lo, hi, __LINE__)
static void check_no_message(etcd_watcher *w, const char *why, bool exact, double lo, double hi, int line)
{
    double t0 = fs_now(), took;
    etcd_res *r = etcd_watch_next(w);
    const char *e = etcd_watch_errstr(w);
    took = fs_now() - t0;
    if (r || (exact ? strcmp(e, why) != 0 : !strstr(e, why)) || took < lo || took > hi) {
        fprintf(stderr, "  %s:%d: etcd_watch_next gave %s, \"%s\" after %.3f s; want NULL, \"%s\", %.2f..%.2f s\n",
                __FILE__, line, r ? "a message" : "NULL", e, took, why, lo, hi);
        t__cur_failed = 1;
    }
    etcd_res_free(r);
}

/* etcd_watch "foo" on a server playing plan; returns the watcher */
/* Client options for fake server s: explicit /v3 prefix, short timeout. */
static etcd_opts opts_for(const fs_server *s)
{
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.http_host = s->url;
    o.api_prefix = "/v3";
    o.timeout = 2.0;
    return o;
}

/* FS_RANGE_BODY as a result */
static void check_range(const etcd_res *r)
{
    REQUIRE(r != NULL);
    CHECK_INT(r->status, 200);
    CHECK(r->cluster_id == 14841639068965178418ULL);
    CHECK(r->member_id == 10276657743932975437ULL);
    CHECK_INT(r->revision, 42);
    CHECK_INT(r->raft_term, 7);
    CHECK_INT(r->count, 1);
    REQUIRE(r->nkvs == 1 && r->kvs != NULL);
    CHECK_STR(r->kvs[0].key, "foo");
    CHECK_INT(r->kvs[0].key_len, 3);
    CHECK_STR(r->kvs[0].value, "8080");
    CHECK_INT(r->kvs[0].value_len, 4);
    CHECK_INT(r->kvs[0].create_revision, 40);
    CHECK_INT(r->kvs[0].mod_revision, 42);
    CHECK_INT(r->kvs[0].version, 3);
}

/* get "foo" and check it is FS_RANGE_BODY */
static void get_ok(etcd *cli)
{
    etcd_res *r = etcd_get(cli, "foo", NULL);
    if (!r) fprintf(stderr, "  etcd_get: %s\n", etcd_errstr(cli));
    check_range(r);
    if (r) CHECK_STR(etcd_errstr(cli), "");
    etcd_res_free(r);
}

static char *b64(const unsigned char *p, size_t n)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = (char *)malloc((n + 2) / 3 * 4 + 1), *q = o;
    size_t i;
    for (i = 0; i + 2 < n; i += 3) {
        *q++ = A[p[i] >> 2]; *q++ = A[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
        *q++ = A[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)]; *q++ = A[p[i + 2] & 63];
    }
    if (n - i == 1) {
        *q++ = A[p[i] >> 2]; *q++ = A[(p[i] & 3) << 4]; *q++ = '='; *q++ = '=';
    } else if (n - i == 2) {
        *q++ = A[p[i] >> 2]; *q++ = A[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
        *q++ = A[(p[i + 1] & 15) << 2]; *q++ = '=';
    }
    *q = '\0';
    return o;
}

/* JSON lookup with the library's own tokenizer. */
static size_t json_skip(const etcd_json_tok *t, size_t i)
{
    size_t j = i + 1, k;
    if (t[i].type == ETCD_JSON_OBJECT)
        for (k = 0; k < t[i].size; k++) { j = json_skip(t, j); j = json_skip(t, j); }
    else if (t[i].type == ETCD_JSON_ARRAY)
        for (k = 0; k < t[i].size; k++) j = json_skip(t, j);
    return j;
}

/* The string at dotted path ("create_request.key") of the JSON text,
   unescaped (\/ \\ \" only; enough for base64) into out. 1 found, 0 not,
   -1 text is not valid JSON. */
static int json_str(const char *text, size_t len, const char *path, char *out, size_t outsz)
{
    long n = etcd_json_parse(text, len, NULL, 0);
    etcd_json_tok *t;
    size_t cur = 0;
    int found = 0;
    if (n <= 0) return -1;
    t = (etcd_json_tok *)malloc((size_t)n * sizeof *t);
    if (!t || etcd_json_parse(text, len, t, (size_t)n) != n) { free(t); return -1; }
    while (*path) {
        const char *dot = strchr(path, '.');
        size_t pl = dot ? (size_t)(dot - path) : strlen(path), k, j;
        int hit = 0;
        if (t[cur].type != ETCD_JSON_OBJECT) break;
        for (k = 0, j = cur + 1; k < t[cur].size; k++) {
            if (t[j].end - t[j].start == pl && memcmp(text + t[j].start, path, pl) == 0) {
                cur = j + 1; hit = 1; break;
            }
            j = json_skip(t, j + 1);
        }
        if (!hit) break;
        path += pl;
        if (*path == '.') path++;
        if (!*path && t[cur].type == ETCD_JSON_STRING) {
            size_t i, o = 0;
            for (i = t[cur].start; i < t[cur].end && o + 1 < outsz; i++) {
                if (text[i] == '\\' && i + 1 < t[cur].end) i++;
                out[o++] = text[i];
            }
            out[o] = '\0';
            found = 1;
        }
    }
    free(t);
    return found;
}

static char *xstrcat3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = (char *)malloc(la + lb + lc + 1);
    memcpy(s, a, la); memcpy(s + la, b, lb); memcpy(s + la + lb, c, lc + 1);
    return s;
}

/* A chunked body of text in pieces of `piece` bytes, sizes in upper-case
   hex when upper, with extensions when ext, ending with trailers when
   trailers. Malloc'd. */
static char *chunked(const char *text, size_t piece, int upper, int ext, int trailers)
{
    size_t n = strlen(text), cap = n * 2 + n / (piece ? piece : 1) * 40 + 200, o = 0, i;
    char *s = (char *)malloc(cap);
    for (i = 0; i < n; i += piece) {
        size_t k = n - i < piece ? n - i : piece;
        o += (size_t)sprintf(s + o, upper ? "%zX" : "%zx", k);
        if (ext) o += (size_t)sprintf(s + o, i ? ";name=\"q;v\"" : ";x=y");
        o += (size_t)sprintf(s + o, "\r\n");
        memcpy(s + o, text + i, k); o += k;
        o += (size_t)sprintf(s + o, "\r\n");
    }
    o += (size_t)sprintf(s + o, ext ? "0;z=1\r\n" : "0\r\n");
    if (trailers) o += (size_t)sprintf(s + o, "X-Trailer: v\r\nGrpc-Trailer-Foo: bar\r\n");
    sprintf(s + o, "\r\n");
    return s;
}

/* ------------------------------------------------------------------------
   Server scripts
   ------------------------------------------------------------------------ */

/* The body a well-behaved etcd gives for request i. */
static void respond_ok(fs_conn *c, int i, const char *extra)
{
    const fs_req *r = fs_get(c->srv, i);
    const char *body = PUT_BODY;
    size_t tl = strlen(r->target);
    if (strcmp(r->method, "GET") == 0 && strcmp(r->target, "/version") == 0)
        body = c->srv->arg ? (const char *)c->srv->arg : FS_VERSION_34;
    else if (tl >= 9 && strcmp(r->target + tl - 9, "/kv/range") == 0)
        body = FS_RANGE_BODY;
    fs_respond(c, 200, extra, body);
}

/* well-behaved keep-alive etcd (arg: the /version body or NULL) */
static void h_ok(fs_conn *c)
{
    int i;
    while ((i = fs_read_req(c)) >= 0) respond_ok(c, i, "");
}

/* every request gets the raw response arg */
static void h_raw(fs_conn *c)
{
    while (fs_read_req(c) >= 0) fs_sends(c, (const char *)c->srv->arg);
}

/* every request gets the raw response arg, one byte per write */
static void h_raw_slow(fs_conn *c)
{
    const char *raw = (const char *)c->srv->arg;
    while (fs_read_req(c) >= 0) fs_send_slow(c, raw, strlen(raw), 1, 300);
}

/* one raw response per connection, then close */
static void h_raw_eof(fs_conn *c)
{
    if (fs_read_req(c) >= 0) fs_sends(c, (const char *)c->srv->arg);
}

/* The first request overall gets a hostile raw answer (then close, or keep
   serving); every later request a good one. */
typedef struct { const char *raw; int close_after; } first_script;
static void h_first(fs_conn *c)
{
    const first_script *fs = (const first_script *)c->srv->arg;
    int i;
    while ((i = fs_read_req(c)) >= 0) {
        if (i == 0) {
            fs_sends(c, fs->raw);
            if (fs->close_after) return;
        } else {
            respond_ok(c, i, "");
        }
    }
}

/* reads the request, never answers */
static void h_silent(fs_conn *c)
{
    if (fs_read_req(c) >= 0) fs_wait_close(c, 5.0);
}

/* sends arg (part of a response), then stalls */
static void h_stall(fs_conn *c)
{
    if (fs_read_req(c) >= 0) {
        fs_sends(c, (const char *)c->srv->arg);
        fs_wait_close(c, 5.0);
    }
}

/* answers after 800 ms */
static void h_late(fs_conn *c)
{
    int i;
    while ((i = fs_read_req(c)) >= 0) {
        fs_sleep_ms(800);
        respond_ok(c, i, "");
    }
}

/* connection 0: one answer, then close (arg "now": at once; "rst": with a
   RST after 30 ms; "idle": after 30 ms idle; "race": when the next request
   arrives, unanswered); later connections: well-behaved */
static void h_close_after_one(fs_conn *c)
{
    const char *how = (const char *)c->srv->arg;
    int i;
    if (c->index > 0) { h_ok(c); return; }
    if ((i = fs_read_req(c)) < 0) return;
    respond_ok(c, i, "");
    if (strcmp(how, "race") == 0) {      /* the next request meets a close */
        fs_read_req(c);
        fs_close(c);
        return;
    }
    if (strcmp(how, "now") != 0) fs_sleep_ms(30);
    if (strcmp(how, "rst") == 0) fs_reset(c);
    else fs_close(c);
}

/* connection 0 answers with Connection: close but keeps serving (a client
   that ignores the header would reuse it) */
static void h_conn_close_header(fs_conn *c)
{
    int i;
    if (c->index > 0) { h_ok(c); return; }
    while ((i = fs_read_req(c)) >= 0) respond_ok(c, i, "Connection: close\r\n");
}

/* closes (even indexes) or resets (odd) every connection at once */
static void h_slam(fs_conn *c)
{
    if (c->index % 2) fs_reset(c);
}

/* A watch stream by plan: the head, then each part as chunks of `piece`
   bytes (0: the whole part), WAIT_GO parts wait for fs_go(); then end:
   0 stay open, 1 terminating chunk, 2 close. */
static const char WAIT_GO[] = "";
typedef struct { size_t piece; int end; const char *parts[24]; } watch_plan;
static void h_watch(fs_conn *c)
{
    const watch_plan *p = (const watch_plan *)c->srv->arg;
    int k, i;
    size_t tl;
    if ((i = fs_read_req(c)) < 0) return;
    tl = strlen(fs_get(c->srv, i)->target);
    if (tl < 6 || strcmp(fs_get(c->srv, i)->target + tl - 6, "/watch") != 0) {
        /* not a watch: a well-behaved keep-alive etcd */
        do respond_ok(c, i, ""); while ((i = fs_read_req(c)) >= 0);
        return;
    }
    if (fs_sends(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 "Grpc-Metadata-Content-Type: application/grpc\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n") != 0) return;
    for (k = 0; p->parts[k]; k++) {
        const char *s = p->parts[k];
        size_t n = strlen(s), i;
        if (s == WAIT_GO) { if (!fs_wait_go(c, 5.0)) return; continue; }
        if (!p->piece) {
            if (fs_chunk(c, s, n) != 0) return;
        } else {
            for (i = 0; i < n; i += p->piece) {
                if (fs_chunk(c, s + i, n - i < p->piece ? n - i : p->piece) != 0) return;
                if (p->piece == 1) fs_sleep_us(150);
            }
        }
        fs_sleep_ms(3);
    }
    if (p->end == 2) return;
    if (p->end == 1) fs_sends(c, "0\r\n\r\n");
    fs_wait_close(c, 5.0);
}

/* ------------------------------------------------------------------------
   Request format
   ------------------------------------------------------------------------ */

static void test_request_format(void)
{
    static const char *const extra[] = { "X-Trace: abc 123", "Grpc-Metadata-hasleader: true", NULL };
    fs_server *s = fs_start(FS_TCP4, NULL, h_ok, NULL);
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    const fs_req *q;
    char v[256], want[64], got[8192], *val, *enc;
    etcd_set_opts so;
    REQUIRE(s);
    o = opts_for(s);
    o.extra_headers = extra;
    cli = t_client(&o);
    if (!cli) { fs_stop(s); REQUIRE(cli); }

    r = etcd_get(cli, "foo/bar", NULL);
    check_range(r);
    etcd_res_free(r);
    q = fs_get(s, 0);
    CHECK(q != NULL);
    if (q) {
        CHECK_STR(q->method, "POST");
        CHECK_STR(q->target, "/v3/kv/range");
        CHECK_STR(q->version, "HTTP/1.1");
        CHECK(strncmp(q->head, "POST /v3/kv/range HTTP/1.1\r\n", 28) == 0);
        snprintf(want, sizeof want, "127.0.0.1:%d", s->port);
        CHECK_INT(fs_header(q, "host", v, sizeof v), 1);
        CHECK_STR(v, want);
        CHECK_INT(fs_header(q, "content-length", v, sizeof v), 1);
        snprintf(want, sizeof want, "%zu", q->body_len);
        CHECK_STR(v, want);
        CHECK(q->body_len > 0);
        CHECK_INT(fs_header(q, "transfer-encoding", NULL, 0), 0);
        CHECK_INT(fs_header(q, "expect", NULL, 0), 0);
        CHECK_HAS(q->head, "\r\nX-Trace: abc 123\r\n");
        CHECK_HAS(q->head, "\r\nGrpc-Metadata-hasleader: true\r\n");
        CHECK_INT(json_str(q->body, q->body_len, "key", got, sizeof got), 1);
        CHECK_STR(got, "Zm9vL2Jhcg==");
    }

    /* a 5000-byte JSON value: still Content-Length, no Expect: 100-continue */
    val = (char *)malloc(5003);
    memset(val, 'a', 5003);
    val[0] = '"'; val[5001] = '"'; val[5002] = '\0';
    memset(&so, 0, sizeof so);
    r = etcd_set(cli, "k", val, &so);
    if (!r) fprintf(stderr, "  etcd_set: %s\n", etcd_errstr(cli));
    CHECK(r != NULL);
    if (r) { CHECK_INT(r->status, 200); CHECK_INT(r->revision, 43); }
    etcd_res_free(r);
    q = fs_get(s, 1);
    CHECK(q != NULL);
    if (q) {
        CHECK_STR(q->target, "/v3/kv/put");
        CHECK_INT(q->conn, 0);                   /* same keep-alive connection */
        CHECK_INT(fs_header(q, "content-length", v, sizeof v), 1);
        snprintf(want, sizeof want, "%zu", q->body_len);
        CHECK_STR(v, want);
        CHECK(q->body_len > 5000);
        CHECK_INT(fs_header(q, "transfer-encoding", NULL, 0), 0);
        CHECK_INT(fs_header(q, "expect", NULL, 0), 0);
        CHECK_INT(fs_header(q, "host", NULL, 0), 1);
        CHECK_HAS(q->head, "\r\nX-Trace: abc 123\r\n");
        enc = b64((const unsigned char *)val, 5002);
        CHECK_INT(json_str(q->body, q->body_len, "value", got, sizeof got), 1);
        CHECK_STR(got, enc);
        CHECK_INT(json_str(q->body, q->body_len, "key", got, sizeof got), 1);
        CHECK_STR(got, "aw==");
        free(enc);
    }
    free(val);
    CHECK_INT(fs_nreqs(s), 2);
    etcd_free(cli);
    fs_stop(s);
}

/* ------------------------------------------------------------------------
   Response framing
   ------------------------------------------------------------------------ */

/* Two gets against a server answering every request with raw (slow: one
   byte per write); both must parse; accepts: expected connection count. */
static void two_gets(fs_handler h, const char *raw, int accepts)
{
    fs_server *s = fs_start(FS_TCP4, NULL, h, raw);
    etcd_opts o;
    etcd *cli;
    REQUIRE(s);
    o = opts_for(s);
    cli = t_client(&o);
    if (cli) {
        get_ok(cli);
        get_ok(cli);
        CHECK_INT(fs_nreqs(s), 2);
        CHECK_INT(fs_accepts(s), accepts);
    }
    CHECK(cli != NULL);
    etcd_free(cli);
    fs_stop(s);
}

static void test_frame_content_length(void)
{
    char raw[1024];
    snprintf(raw, sizeof raw, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n%s", strlen(FS_RANGE_BODY), FS_RANGE_BODY);
    two_gets(h_raw, raw, 1);
}

static void test_frame_chunked(void)
{
    char *body = chunked(FS_RANGE_BODY, 50, 0, 0, 0), *raw = xstrcat3(CHUNKED_HEAD, body, "");
    two_gets(h_raw, raw, 1);
    free(body); free(raw);
    /* one chunk holding everything */
    body = chunked(FS_RANGE_BODY, 100000, 0, 0, 0); raw = xstrcat3(CHUNKED_HEAD, body, "");
    two_gets(h_raw, raw, 1);
    free(body); free(raw);
}

static void test_frame_chunked_ext_trailers(void)
{
    /* chunk extensions (;x=y, quoted with a ';'), upper-case hex sizes,
       trailer fields after the last chunk: the next response on the same
       connection must still parse */
    char *body = chunked(FS_RANGE_BODY, 29, 1, 1, 1), *raw = xstrcat3(CHUNKED_HEAD, body, "");
    two_gets(h_raw, raw, 1);
    free(body); free(raw);
}

static void test_frame_chunked_byte_by_byte(void)
{
    char *body = chunked(FS_RANGE_BODY, 17, 0, 1, 1), *raw = xstrcat3(CHUNKED_HEAD, body, "");
    char cl[1024];
    two_gets(h_raw_slow, raw, 1);
    free(body); free(raw);
    snprintf(cl, sizeof cl, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(FS_RANGE_BODY), FS_RANGE_BODY);
    two_gets(h_raw_slow, cl, 1);
}

static void test_frame_header_case(void)
{
    char raw[1024], *body, *raw2;
    snprintf(raw, sizeof raw, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
             "content-length: %zu\r\n\r\n%s", strlen(FS_RANGE_BODY), FS_RANGE_BODY);
    two_gets(h_raw, raw, 1);
    /* no space after the colon, trailing blanks (OWS) */
    snprintf(raw, sizeof raw, "HTTP/1.1 200 OK\r\nCONTENT-LENGTH:%zu \t\r\n\r\n%s",
             strlen(FS_RANGE_BODY), FS_RANGE_BODY);
    two_gets(h_raw, raw, 1);
    body = chunked(FS_RANGE_BODY, 64, 0, 0, 0);
    raw2 = xstrcat3("HTTP/1.1 200 OK\r\nTRANSFER-ENCODING: Chunked\r\n\r\n", body, "");
    two_gets(h_raw, raw2, 1);
    free(body); free(raw2);
}

static void test_frame_read_to_eof(void)
{
    /* no Content-Length, Connection: close: the body ends at EOF; each call
       needs a new connection */
    two_gets(h_raw_eof, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
             "Connection: close\r\n\r\n" FS_RANGE_BODY, 2);
}

/* ------------------------------------------------------------------------
   Hostile responses
   ------------------------------------------------------------------------ */

/* The first request gets raw (then close when close_after); the call must
   fail with an error naming one of keys (and not a timeout); the next call
   must then succeed (no desynchronised connection reused). */
static void hostile(const char *name, const char *raw, int close_after, const char *keys,
                    size_t max_response)
{
    first_script sc;
    fs_server *s;
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    int before = t__cur_failed;
    double t0;
    t__cur_failed = 0;
    sc.raw = raw; sc.close_after = close_after;
    s = fs_start(FS_TCP4, NULL, h_first, &sc);
    REQUIRE(s);
    o = opts_for(s);
    o.timeout = 1.5;
    o.max_fails = 1000;
    o.max_response = max_response;
    cli = t_client(&o);
    CHECK(cli != NULL);
    if (cli) {
        t0 = fs_now();
        r = etcd_get(cli, "foo", NULL);
        CHECK(r == NULL);
        CHECK_ANY(etcd_errstr(cli), keys);
        CHECK_NOT_STR(etcd_errstr(cli), "timeout");
        CHECK_TIME(fs_now() - t0, 0, 1.2);
        etcd_res_free(r);
        get_ok(cli);
    }
    etcd_free(cli);
    fs_stop(s);
    if (t__cur_failed) fprintf(stderr, "  (in case: %s)\n", name);
    t__cur_failed |= before;
}

static void test_hostile_truncated_content_length(void)
{
    hostile("Content-Length 500, fewer bytes, close",
            "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n" FS_RANGE_BODY, 1, "closed|truncated", 0);
    hostile("Content-Length 10, nothing, close",
            "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", 1, "closed|truncated", 0);
}

static void test_hostile_truncated_chunked(void)
{
    hostile("close mid-chunk", CHUNKED_HEAD "40\r\n{\"header\":{\"revision\":\"1\"", 1,
            "closed|truncated", 0);
    hostile("close before the last 0 chunk", CHUNKED_HEAD "2\r\n{}\r\n", 1,
            "closed|truncated", 0);
    hostile("close inside a chunk size line", CHUNKED_HEAD "2\r\n{}\r\n1", 1,
            "closed|truncated", 0);
    hostile("close after the 0 chunk, before the final CRLF", CHUNKED_HEAD "2\r\n{}\r\n0\r\n", 1,
            "closed|truncated", 0);
    hostile("close before any chunk", CHUNKED_HEAD, 1, "closed|truncated", 0);
}

static void test_hostile_bad_chunk_size(void)
{
    hostile("chunk size zz", CHUNKED_HEAD "zz\r\n" FS_RANGE_BODY "\r\n0\r\n\r\n", 0, "chunk", 0);
    hostile("empty chunk size line", CHUNKED_HEAD "\r\n" FS_RANGE_BODY "\r\n0\r\n\r\n", 0, "chunk", 0);
    hostile("chunk size overflowing 64 bits (2^76)",
            CHUNKED_HEAD "10000000000000000000\r\n" FS_RANGE_BODY "\r\n0\r\n\r\n", 0,
            "chunk|max_response", 0);
    hostile("chunk size of 18 f",
            CHUNKED_HEAD "ffffffffffffffffff\r\n" FS_RANGE_BODY "\r\n0\r\n\r\n", 0,
            "chunk|max_response", 0);
    hostile("chunk size 2^64-16 (fits, huge)",
            CHUNKED_HEAD "fffffffffffffff0\r\n" FS_RANGE_BODY "\r\n0\r\n\r\n", 0,
            "chunk|max_response", 0);
    hostile("negative chunk size", CHUNKED_HEAD "-5\r\n{}\r\n0\r\n\r\n", 0, "chunk", 0);
    hostile("chunk data not followed by CRLF", CHUNKED_HEAD "2\r\n{}XX0\r\n\r\n", 0, "chunk", 0);
}

static void test_hostile_bad_content_length(void)
{
    hostile("Content-Length -5", "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n" FS_RANGE_BODY,
            0, "length", 0);
    hostile("Content-Length abc", "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n" FS_RANGE_BODY,
            0, "length", 0);
    hostile("Content-Length 12abc", "HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n" FS_RANGE_BODY,
            0, "length", 0);
    hostile("Content-Length empty", "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n" FS_RANGE_BODY,
            0, "length", 0);
    hostile("Content-Length overflowing 64 bits",
            "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n" FS_RANGE_BODY,
            0, "length|max_response", 0);
    hostile("two different Content-Lengths",
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n" FS_RANGE_BODY,
            0, "length", 0);
}

static void test_hostile_cl_and_chunked(void)
{
    /* Content-Length 5 and chunked: either an error, or the chunked body
       (RFC 9112 6.3); never 5 bytes with the rest left to poison the
       next response on the connection */
    char *body = chunked(FS_RANGE_BODY, 40, 0, 0, 0);
    char *raw = xstrcat3("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
                         body, "");
    char *raw2 = xstrcat3("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
                          body, "");
    const char *raws[2];
    int k;
    raws[0] = raw; raws[1] = raw2;
    for (k = 0; k < 2; k++) {
        first_script sc;
        fs_server *s;
        etcd_opts o;
        etcd *cli;
        etcd_res *r;
        sc.raw = raws[k]; sc.close_after = 0;
        s = fs_start(FS_TCP4, NULL, h_first, &sc);
        CHECK(s != NULL);
        if (!s) break;
        o = opts_for(s);
        o.max_fails = 1000;
        o.timeout = 1.5;
        cli = t_client(&o);
        CHECK(cli != NULL);
        if (cli) {
            r = etcd_get(cli, "foo", NULL);
            if (r) check_range(r);
            else { CHECK(etcd_errstr(cli)[0] != '\0'); CHECK_NOT_STR(etcd_errstr(cli), "timeout"); }
            etcd_res_free(r);
            get_ok(cli);
            get_ok(cli);
        }
        etcd_free(cli);
        fs_stop(s);
    }
    free(body); free(raw); free(raw2);
}

static void test_hostile_status_line(void)
{
    hostile("HTTP/1.1 abc", "HTTP/1.1 abc\r\nContent-Length: 2\r\n\r\n{}", 0,
            "status|malformed|invalid|bad|HTTP", 0);
    hostile("HTTP/1.1 2000 OK", "HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\n{}", 0,
            "status|malformed|invalid|bad|HTTP", 0);
    hostile("not HTTP at all", "hello world\r\n\r\n", 0,
            "status|malformed|invalid|bad|HTTP", 0);
    hostile("SSH banner, close", "SSH-2.0-OpenSSH_9.6\r\n", 1,
            "status|malformed|invalid|bad|HTTP|closed", 0);
}

static void test_hostile_empty_reply(void)
{
    hostile("empty reply, close", "", 1, "closed", 0);
}

static void test_hostile_huge_head(void)
{
    /* 70 KiB of headers, no end in the first 64 KiB */
    size_t n = 70 * 1024 + 512, o = 0;
    char *raw = (char *)malloc(n + 1024);
    int i;
    o += (size_t)sprintf(raw, "HTTP/1.1 200 OK\r\n");
    for (i = 0; i < 70; i++) {
        o += (size_t)sprintf(raw + o, "X-Pad-%02d: ", i);
        memset(raw + o, 'a', 1000); o += 1000;
        o += (size_t)sprintf(raw + o, "\r\n");
    }
    sprintf(raw + o, "Content-Length: %zu\r\n\r\n%s", strlen(FS_RANGE_BODY), FS_RANGE_BODY);
    hostile("head over 64 KiB", raw, 0, "head|64|large|long|big", 0);
    /* one header line longer than 64 KiB */
    o = (size_t)sprintf(raw, "HTTP/1.1 200 OK\r\nX-Big: ");
    memset(raw + o, 'b', 66000); o += 66000;
    sprintf(raw + o, "\r\nContent-Length: %zu\r\n\r\n%s", strlen(FS_RANGE_BODY), FS_RANGE_BODY);
    hostile("one header line over 64 KiB", raw, 0, "head|64|large|long|big", 0);
    free(raw);
}

static void test_hostile_max_response(void)
{
    /* max_response 1000, a valid 5000-byte JSON body */
    char *big = (char *)malloc(5001), *raw, *body;
    char head[256];
    memset(big, 'x', 5000);
    memcpy(big, "{\"header\":{},\"x\":\"", 18);
    memcpy(big + 4998, "\"}", 2);
    big[5000] = '\0';
    snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", strlen(big));
    raw = xstrcat3(head, big, "");
    hostile("Content-Length body over max_response", raw, 0, "max_response", 1000);
    free(raw);
    /* the declared length alone is over max_response: no need to wait */
    hostile("Content-Length over max_response, body not sent",
            "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n{\"header\":{", 0, "max_response", 1000);
    body = chunked(big, 700, 0, 0, 0);
    raw = xstrcat3(CHUNKED_HEAD, body, "");
    hostile("chunked body over max_response", raw, 0, "max_response", 1000);
    free(raw); free(body);
    body = chunked(big, 100000, 0, 0, 0);
    raw = xstrcat3(CHUNKED_HEAD, body, "");
    hostile("one chunk over max_response", raw, 0, "max_response", 1000);
    free(raw); free(body);
    raw = xstrcat3("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", big, "");
    hostile("read-to-EOF body over max_response", raw, 1, "max_response", 1000);
    free(raw);
    free(big);
}

static void test_hostile_invalid_json(void)
{
    static const char *const bodies[] = {
        "{\"kvs\":[", "not json at all", "{}x", "{\"a\":1,}", "", "{\"a\":\"\x01\"}", NULL };
    int i;
    for (i = 0; bodies[i]; i++) {
        char raw[512], name[64];
        int before = t__cur_failed;
        snprintf(raw, sizeof raw, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
                 strlen(bodies[i]), bodies[i]);
        snprintf(name, sizeof name, "invalid JSON body #%d", i);
        hostile(name, raw, 0, "JSON", 0);
        t__cur_failed |= before;
    }
}

/* A 200 with valid JSON of the wrong shapes: NULL with an error, or a
   result whose wrong fields read as zero; never a crash (ASan). */
static const char *const wrong_types[] = {
    "{\"header\":{\"revision\":\"abc\"},\"kvs\":5,\"count\":\"abc\",\"more\":\"yes\"}",
    "{\"header\":[],\"kvs\":[5,\"x\",null,[],true],\"count\":{}}",
    "{\"header\":5,\"kvs\":[{\"key\":5,\"value\":{},\"mod_revision\":[],\"create_revision\":true}],"
        "\"count\":[1]}",
    "{\"kvs\":[{\"key\":\"!!notbase64!!\",\"value\":\"%%%\"}],\"count\":null}",
    "{\"kvs\":[{}],\"count\":\"1x\"}",
    "{\"kvs\":{\"key\":\"Zm9v\"},\"count\":true}",
    "{\"header\":{\"revision\":\"99999999999999999999999\",\"cluster_id\":\"-1\"},\"count\":\"-\"}",
    "[]", "\"str\"", "null", "5",
    /* etcd_version */
    "{\"etcdserver\":5,\"etcdcluster\":null}",
    /* etcd_leases */
    "{\"leases\":[{\"ID\":{}},5,{\"ID\":\"abc\"},null]}",
    /* etcd_grant */
    "{\"ID\":[],\"TTL\":{\"a\":1},\"error\":5}",
    NULL };

static void h_wrong(fs_conn *c)
{
    int i;
    while ((i = fs_read_req(c)) >= 0)
        fs_respond(c, 200, "", wrong_types[i % 14]);
}

static void check_kvs_sane(const etcd_kv *kvs, size_t n)
{
    size_t i;
    CHECK(n == 0 || kvs != NULL);
    for (i = 0; kvs && i < n; i++) {
        CHECK(kvs[i].key != NULL);
        CHECK(kvs[i].value != NULL);
        if (kvs[i].key) CHECK(kvs[i].key[kvs[i].key_len] == '\0');
        if (kvs[i].value) CHECK(kvs[i].value[kvs[i].value_len] == '\0');
    }
}

static void test_hostile_wrong_types(void)
{
    fs_server *s = fs_start(FS_TCP4, NULL, h_wrong, NULL);
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    int i;
    REQUIRE(s);
    o = opts_for(s);
    o.max_fails = 1000;
    cli = t_client(&o);
    if (!cli) { fs_stop(s); REQUIRE(cli); }
    for (i = 0; i < 11; i++) {
        r = etcd_get(cli, "foo", NULL);
        if (!r) {
            CHECK(etcd_errstr(cli)[0] != '\0');
            CHECK_NOT_STR(etcd_errstr(cli), "timeout");
        } else {
            CHECK_INT(r->status, 200);
            CHECK_INT(r->count, 0);          /* every count above is of a wrong type */
            check_kvs_sane(r->kvs, r->nkvs);
            if (i == 0 || i == 5) CHECK_INT(r->nkvs, 0);   /* "kvs" not an array */
        }
        if (t__cur_failed) fprintf(stderr, "  (body #%d: %s)\n", i, wrong_types[i]);
        etcd_res_free(r);
    }
    r = etcd_version(cli);
    if (r) CHECK(r->etcdserver == NULL || r->etcdserver[0] == '\0' || strcmp(r->etcdserver, "5") == 0);
    else CHECK(etcd_errstr(cli)[0] != '\0');
    etcd_res_free(r);
    r = etcd_leases(cli);
    if (r) CHECK(r->nleases == 0 || r->leases != NULL);
    else CHECK(etcd_errstr(cli)[0] != '\0');
    etcd_res_free(r);
    r = etcd_grant(cli, 10, 0);
    if (r) { CHECK_INT(r->id, 0); CHECK_INT(r->ttl, 0); }
    else CHECK(etcd_errstr(cli)[0] != '\0');
    etcd_res_free(r);
    etcd_free(cli);
    fs_stop(s);
}

/* "HTTP/1.1 <status>\r\n<headers>" + Content-Length + body, malloc'd */
static char *mkresp(const char *status_and_headers, const char *body)
{
    char cl[64];
    snprintf(cl, sizeof cl, "Content-Length: %zu\r\n\r\n", strlen(body));
    return xstrcat3(status_and_headers, cl, body);
}

#define LEADER_CHANGED "{\"error\":\"etcdserver: leader changed\"," \
    "\"message\":\"etcdserver: leader changed\",\"code\":14}"

static void test_http_503(void)
{
    char *raws[2];
    int k;
    raws[0] = mkresp("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n",
                     LEADER_CHANGED);
    raws[1] = mkresp("HTTP/1.1 503 Service Unavailable\r\n", "upstream down");
    for (k = 0; k < 2; k++) {
        first_script sc;
        fs_server *s;
        etcd_opts o;
        etcd *cli;
        etcd_res *r;
        sc.raw = raws[k]; sc.close_after = 0;
        s = fs_start(FS_TCP4, NULL, h_first, &sc);
        CHECK(s != NULL);
        if (!s) break;
        o = opts_for(s);
        o.max_fails = 1000;
        cli = t_client(&o);
        CHECK(cli != NULL);
        if (cli) {
            r = etcd_get(cli, "foo", NULL);
            CHECK(r == NULL);
            etcd_res_free(r);
            CHECK(strncmp(etcd_errstr(cli), "HTTP 503", 8) == 0);
            if (k == 0) CHECK_HAS(etcd_errstr(cli), "etcdserver: leader changed");
            if (strncmp(etcd_errstr(cli), "HTTP 503", 8) != 0)
                fprintf(stderr, "  errstr: \"%s\"\n", etcd_errstr(cli));
            get_ok(cli);     /* the connection is still in sync */
        }
        etcd_free(cli);
        fs_stop(s);
    }
    free(raws[0]); free(raws[1]);
}

static void test_http_4xx_result(void)
{
    static const struct { const char *head, *body; int status; const char *error, *message; int code; } cases[] = {
        { "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n",
          "{\"error\":\"not found\",\"message\":\"not found\",\"code\":5}", 404, "not found", "not found", 5 },
        { "HTTP/1.1 400 Bad Request\r\n",
          "{\"error\":\"invalid character 'x'\",\"message\":\"invalid character 'x'\",\"code\":3}",
          400, "invalid character 'x'", "invalid character 'x'", 3 },
        /* etcd 3.3: no message */
        { "HTTP/1.1 400 Bad Request\r\n", "{\"error\":\"bad thing\",\"code\":3}",
          400, "bad thing", NULL, 3 },
        /* etcd 3.6: no error */
        { "HTTP/1.1 400 Bad Request\r\n", "{\"code\":3,\"message\":\"bad thing\",\"details\":[]}",
          400, NULL, "bad thing", 3 },
    };
    size_t k;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        first_script sc;
        fs_server *s;
        etcd_opts o;
        etcd *cli;
        etcd_res *r;
        char *raw = mkresp(cases[k].head, cases[k].body);
        int before = t__cur_failed;
        t__cur_failed = 0;
        sc.raw = raw; sc.close_after = 0;
        s = fs_start(FS_TCP4, NULL, h_first, &sc);
        CHECK(s != NULL);
        if (!s) { free(raw); break; }
        o = opts_for(s);
        cli = t_client(&o);
        CHECK(cli != NULL);
        if (cli) {
            r = etcd_get(cli, "foo", NULL);
            CHECK(r != NULL);
            if (!r) fprintf(stderr, "  errstr: %s\n", etcd_errstr(cli));
            if (r) {
                CHECK_INT(r->status, cases[k].status);
                if (cases[k].error) CHECK_STR(r->error, cases[k].error);
                if (cases[k].message) CHECK_STR(r->message, cases[k].message);
                CHECK_INT(r->code, cases[k].code);
                CHECK(r->body != NULL && r->body_len > 0);
                if (r->body) CHECK_STR(r->body, cases[k].body);
                CHECK_INT(r->nkvs, 0);
            }
            etcd_res_free(r);
            /* a 4xx does not count against the endpoint */
            CHECK(etcd_endpoint_healthy(cli, s->url));
            get_ok(cli);
        }
        etcd_free(cli);
        fs_stop(s);
        free(raw);
        if (t__cur_failed) fprintf(stderr, "  (in case: %s)\n", cases[k].body);
        t__cur_failed |= before;
    }
}

/* ------------------------------------------------------------------------
   Timeouts
   ------------------------------------------------------------------------ */

/* a get against handler h with client timeout ct and per-call timeout pt
   must fail with "timeout" in lo..hi seconds */
static void expect_timeout(fs_handler h, const char *arg, double ct, double pt, double lo, double hi)
{
    fs_server *s = fs_start(FS_TCP4, NULL, h, arg);
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    etcd_get_opts go;
    double t0;
    REQUIRE(s);
    o = opts_for(s);
    o.timeout = ct;
    cli = t_client(&o);
    if (!cli) { fs_stop(s); REQUIRE(cli); }
    memset(&go, 0, sizeof go);
    go.timeout = pt;
    t0 = fs_now();
    r = etcd_get(cli, "foo", &go);
    CHECK_TIME(fs_now() - t0, lo, hi);
    CHECK(r == NULL);
    CHECK_STR(etcd_errstr(cli), "timeout");
    etcd_res_free(r);
    etcd_free(cli);
    fs_stop(s);
}

static void test_timeout_no_answer(void)
{
    expect_timeout(h_silent, NULL, 0.3, 0, 0.25, 1.5);
}

static void test_timeout_half_head(void)
{
    expect_timeout(h_stall, "HTTP/1.1 200 OK\r\nContent-Ty", 0.3, 0, 0.25, 1.5);
    /* and half a body */
    expect_timeout(h_stall, "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"header\":{", 0.3, 0,
                   0.25, 1.5);
    expect_timeout(h_stall, CHUNKED_HEAD "40\r\n{\"header\":{", 0.3, 0, 0.25, 1.5);
}

static void test_timeout_per_call(void)
{
    fs_server *s;
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    etcd_get_opts go;
    double t0;
    /* client 5 s, call 0.3 s */
    expect_timeout(h_silent, NULL, 5.0, 0.3, 0.25, 1.5);
    /* client 0.3 s, call 3 s, answer after 0.8 s: succeeds */
    s = fs_start(FS_TCP4, NULL, h_late, NULL);
    REQUIRE(s);
    o = opts_for(s);
    o.timeout = 0.3;
    cli = t_client(&o);
    if (!cli) { fs_stop(s); REQUIRE(cli); }
    memset(&go, 0, sizeof go);
    go.timeout = 3.0;
    r = etcd_get(cli, "foo", &go);
    if (!r) fprintf(stderr, "  etcd_get: %s\n", etcd_errstr(cli));
    check_range(r);
    etcd_res_free(r);
    /* and the client's 0.3 s still applies to a call without its own */
    t0 = fs_now();
    r = etcd_get(cli, "foo", NULL);
    CHECK(r == NULL);
    CHECK_STR(etcd_errstr(cli), "timeout");
    CHECK_TIME(fs_now() - t0, 0.25, 0.75);
    etcd_res_free(r);
    etcd_free(cli);
    fs_stop(s);
    /* etcd_request's timeout argument */
    s = fs_start(FS_TCP4, NULL, h_silent, NULL);
    REQUIRE(s);
    o = opts_for(s);
    o.timeout = 5.0;
    cli = t_client(&o);
    if (!cli) { fs_stop(s); REQUIRE(cli); }
    t0 = fs_now();
    r = etcd_request(cli, "/kv/range", "{\"key\":\"Zm9v\"}", 0.3);
    CHECK(r == NULL);
    CHECK_STR(etcd_errstr(cli), "timeout");
    CHECK_TIME(fs_now() - t0, 0.25, 1.5);
    etcd_res_free(r);
    etcd_free(cli);
    fs_stop(s);
}

static void test_timeout_watch(void)
{
    static const watch_plan plan = { 0, 0, { M1 "\n", WAIT_GO, "{\"result\":{" HDR("6"),
        WAIT_GO, ",\"events\":[{\"kv\":{\"key\":\"Zm9v\",\"create_revision\":\"6\","
        "\"mod_revision\":\"6\",\"version\":\"1\",\"value\":\"ODA4MA==\"}}]}}\n", WAIT_GO,
        M3 "\n", NULL } };
    fs_server *s = fs_start(FS_TCP4, NULL, h_watch, &plan);
    etcd_opts o;
    etcd *cli;
    etcd_watcher *w;
    etcd_watch_opts wo;
    etcd_res *r;
    REQUIRE(s);
    o = opts_for(s);
    cli = t_client(&o);
    if (!cli) { fs_stop(s); REQUIRE(cli); }
    memset(&wo, 0, sizeof wo);
    wo.timeout = 0.3;
    w = etcd_watch(cli, "foo", &wo);
    if (!w) fprintf(stderr, "  etcd_watch: %s\n", etcd_errstr(cli));
    if (!w) { etcd_free(cli); fs_stop(s); REQUIRE(w); }
    r = etcd_watch_next(w);
    CHECK(r != NULL && r->created);
    etcd_res_free(r);
    /* silence: timeout, stream still usable */
    CHECK_NO_MESSAGE(w, "timeout", true, 0.25, 1.5);
    /* half a message, then silence: timeout again, the half is kept */
    fs_go(s);
    CHECK_NO_MESSAGE(w, "timeout", true, 0.25, 1.5);
    /* the rest: the whole event */
    fs_go(s);
    r = etcd_watch_next(w);
    if (!r) fprintf(stderr, "  etcd_watch_next: %s\n", etcd_watch_errstr(w));
    CHECK(r != NULL);
    if (r) {
        CHECK(!r->created);
        CHECK_INT(r->revision, 6);
        CHECK_INT(r->nevents, 1);
        if (r->nevents == 1) {
            CHECK_INT(r->events[0].type, ETCD_EVENT_PUT);
            CHECK_STR(r->events[0].kv.key, "foo");
            CHECK_STR(r->events[0].kv.value, "8080");
            CHECK_INT(r->events[0].kv.mod_revision, 6);
        }
    }
    etcd_res_free(r);
    /* and once more after another silence */
    r = etcd_watch_next(w);
    CHECK(r == NULL);
    CHECK_STR(etcd_watch_errstr(w), "timeout");
    etcd_res_free(r);
    fs_go(s);
    r = etcd_watch_next(w);
    CHECK(r != NULL && r->nevents == 1 && r->events[0].type == ETCD_EVENT_DELETE);
    etcd_res_free(r);
    /* an idle watch timeout is not an endpoint failure */
    CHECK(etcd_endpoint_healthy(cli, s->url));
    etcd_watchcancel(w);
    get_ok(cli);
    etcd_free(cli);
    fs_stop(s);
}

static void test_timeout_watch_open(void)
{
    /* a server that accepts the watch and never answers: etcd_watch gives
       up after the client's timeout */
    fs_server *s = fs_start(FS_TCP4, NULL, h_silent, NULL);
    etcd_opts o;
    etcd *cli;
    etcd_watcher *w;
    double t0;
    REQUIRE(s);
    o = opts_for(s);
    o.timeout = 0.3;
    cli = t_client(&o);
    if (!cli) { fs_stop(s); REQUIRE(cli); }
    t0 = fs_now();
    w = etcd_watch(cli, "foo", NULL);
    CHECK(w == NULL);
    CHECK_STR(etcd_errstr(cli), "timeout");
    CHECK_TIME(fs_now() - t0, 0.25, 1.5);
    etcd_watchcancel(w);
    etcd_free(cli);
    fs_stop(s);
}

/* ------------------------------------------------------------------------
   Keep-alive
   ------------------------------------------------------------------------ */

static void test_keepalive_reuse(void)
{
    fs_server *s = fs_start(FS_TCP4, NULL, h_ok, NULL);
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    int i;
    REQUIRE(s);
    o = opts_for(s);
    cli = t_client(&o);
    if (!cli) { fs_stop(s); REQUIRE(cli); }
    get_ok(cli);
    get_ok(cli);
    r = etcd_set(cli, "foo", "1", NULL);
    CHECK(r != NULL && r->status == 200);
    etcd_res_free(r);
    get_ok(cli);
    CHECK_INT(fs_accepts(s), 1);
    CHECK_INT(fs_nreqs(s), 4);
    for (i = 0; i < fs_nreqs(s); i++) {
        CHECK_INT(fs_get(s, i)->conn, 0);
        CHECK(!t__has_any(fs_get(s, i)->head, "connection: close"));
    }
    etcd_free(cli);
    fs_stop(s);
}

/* first call; server ends connection 0 per how; second call after sleep_ms
   must succeed on a new connection */
static void reconnect_case(fs_handler h, const char *how, int sleep_ms)
{
    int nreq = how && strcmp(how, "race") == 0 ? 4 : 3;
    fs_server *s = fs_start(FS_TCP4, NULL, h, how);
    etcd_opts o;
    etcd *cli;
    int before = t__cur_failed;
    t__cur_failed = 0;
    REQUIRE(s);
    o = opts_for(s);            /* default max_fails (1): a stale connection
                                   must not make the endpoint unhealthy */
    cli = t_client(&o);
    if (cli) {
        get_ok(cli);
        if (sleep_ms) fs_sleep_ms(sleep_ms);
        get_ok(cli);
        get_ok(cli);
        CHECK_INT(fs_accepts(s), 2);
        CHECK_INT(fs_nreqs(s), nreq);
        if (fs_nreqs(s) == nreq) {
            CHECK_INT(fs_get(s, nreq - 2)->conn, 1);
            CHECK_INT(fs_get(s, nreq - 1)->conn, 1);
        }
        CHECK(etcd_endpoint_healthy(cli, s->url));
    }
    CHECK(cli != NULL);
    etcd_free(cli);
    fs_stop(s);
    if (t__cur_failed) fprintf(stderr, "  (in case: %s, sleep %d ms)\n", how ? how : "-", sleep_ms);
    t__cur_failed |= before;
}

static void test_keepalive_server_closes(void)
{
    /* closed right after the response (no Connection: close header) */
    reconnect_case(h_close_after_one, "now", 0);
    reconnect_case(h_close_after_one, "now", 20);
    /* closed as the next request arrives: that request is resent on a new
       connection, and the call reports no error */
    reconnect_case(h_close_after_one, "race", 0);
}

/* Connection 0 answers its first request, then reads the second and closes
   without a word; later connections answer everything. */
static void h_drop_second(fs_conn *c)
{
    int i;
    if ((i = fs_read_req(c)) < 0) return;
    respond_ok(c, i, "");
    if (c->index == 0) {
        if (fs_read_req(c) >= 0) fs_close(c);
        return;
    }
    while ((i = fs_read_req(c)) >= 0) respond_ok(c, i, "");
}

/* On a reused connection that dies after the request went out, a read is
   sent again, a write never (etcd may have applied it). */
static void test_keepalive_resend_reads_only(void)
{
    int k;
    for (k = 0; k < 2; k++) {
        fs_server *s = fs_start(FS_TCP4, NULL, h_drop_second, NULL);
        etcd_opts o;
        etcd *cli;
        etcd_res *r;
        REQUIRE(s);
        o = opts_for(s);
        cli = t_client(&o);
        REQUIRE(cli);
        etcd_res_free(etcd_get(cli, "foo", NULL));
        r = k == 0 ? etcd_get(cli, "foo", NULL) : etcd_setnx(cli, "foo", "1", NULL);
        if (k == 0) {
            CHECK(r != NULL);                    /* the read went again */
            CHECK_INT(fs_accepts(s), 2);
            CHECK_INT(fs_nreqs(s), 3);
        } else {
            CHECK(r == NULL);                    /* the write did not */
            CHECK_HAS(etcd_errstr(cli), "closed");
            CHECK_INT(fs_nreqs(s), 2);
            CHECK_INT(fs_accepts(s), 1);
        }
        etcd_res_free(r);
        etcd_free(cli);
        fs_stop(s);
    }
}

/* A proxy's text error page is still a result with its status. */
static void h_text_404(fs_conn *c)
{
    if (fs_read_req(c) < 0) return;
    fs_sends(c, "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 24\r\n\r\n"
                "404 page not found\nmore\n");
}

static void test_text_error_body(void)
{
    fs_server *s = fs_start(FS_TCP4, NULL, h_text_404, NULL);
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    REQUIRE(s);
    o = opts_for(s);
    cli = t_client(&o);
    REQUIRE(cli);
    r = etcd_request(cli, "/nope", NULL, 0);
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->status, 404);
        CHECK_STR(r->message, "404 page not found");
        CHECK_STR(r->error, "404 page not found");
        CHECK_INT(r->body_len, 24);
    }
    etcd_res_free(r);
    etcd_free(cli);
    fs_stop(s);
}

static void test_keepalive_connection_close_header(void)
{
    reconnect_case(h_conn_close_header, NULL, 0);
}

static void test_keepalive_idle_close(void)
{
    /* closed 30 ms after the response, while the client waits 100 ms */
    reconnect_case(h_close_after_one, "idle", 100);
    /* the same with a RST (a write on it would raise EPIPE) */
    reconnect_case(h_close_after_one, "rst", 100);
}

/* ------------------------------------------------------------------------
   Dead endpoint, SIGPIPE
   ------------------------------------------------------------------------ */

static void test_dead_endpoint(void)
{
    char url[64];
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    double t0;
    int port = fs_free_port();
    REQUIRE(port > 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    memset(&o, 0, sizeof o);
    o.http_host = url;
    o.api_prefix = "/v3";
    o.timeout = 3.0;
    cli = t_client(&o);
    REQUIRE(cli);
    t0 = fs_now();
    r = etcd_get(cli, "foo", NULL);
    CHECK(r == NULL);
    CHECK_HAS(etcd_errstr(cli), "connect");
    CHECK_TIME(fs_now() - t0, 0, 1.0);
    etcd_res_free(r);
    etcd_free(cli);
}

static void test_sigpipe(void)
{
    fs_server *s = fs_start(FS_TCP4, NULL, h_slam, NULL);
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    etcd_set_opts so;
    struct sigaction sa;
    sigset_t set;
    size_t n = 1 << 20;
    char *val = (char *)malloc(n + 1), *body;
    int i;
    REQUIRE(s);
    memset(val, 'v', n); val[n] = '\0';
    CHECK(sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL);
    o = opts_for(s);
    o.serializer = ETCD_SERIALIZER_RAW;
    o.max_fails = 1000;
    cli = t_client(&o);
    if (!cli) { free(val); fs_stop(s); REQUIRE(cli); }
    memset(&so, 0, sizeof so);
    so.val_len = n;
    for (i = 0; i < 4; i++) {
        r = etcd_set(cli, "big", val, &so);
        CHECK(r == NULL);
        CHECK(etcd_errstr(cli)[0] != '\0');
        etcd_res_free(r);
    }
    body = xstrcat3("{\"key\":\"", val, "\"}");
    r = etcd_request(cli, "/kv/range", body, 0);
    CHECK(r == NULL);
    etcd_res_free(r);
    free(body);
    /* still alive, SIGPIPE untouched and not left blocked */
    CHECK(sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL);
    CHECK(pthread_sigmask(SIG_BLOCK, NULL, &set) == 0 && !sigismember(&set, SIGPIPE));
    CHECK(fs_accepts(s) >= 5);
    etcd_free(cli);
    fs_stop(s);
    free(val);
}

/* ------------------------------------------------------------------------
   Watch framing
   ------------------------------------------------------------------------ */

static etcd_watcher *open_watch(fs_server *s, etcd **cli, double timeout, size_t max_response)
{
    etcd_opts o = opts_for(s);
    etcd_watch_opts wo;
    etcd_watcher *w;
    char key[64];
    const fs_req *q;
    o.max_response = max_response;
    *cli = t_client(&o);
    if (!*cli) return NULL;
    memset(&wo, 0, sizeof wo);
    wo.timeout = timeout;
    w = etcd_watch(*cli, "foo", &wo);
    if (!w) { fprintf(stderr, "  etcd_watch: %s\n", etcd_errstr(*cli)); return NULL; }
    q = fs_get(s, 0);
    CHECK(q != NULL);
    if (q) {
        CHECK_STR(q->method, "POST");
        CHECK_STR(q->target, "/v3/watch");
        CHECK_INT(json_str(q->body, q->body_len, "create_request.key", key, sizeof key), 1);
        CHECK_STR(key, "Zm9v");
        CHECK(fs_header(q, "Grpc-Metadata-Hasleader", key, sizeof key) == 1 && !strcmp(key, "true"));
    }
    return w;
}

static etcd_res *next_ok(etcd_watcher *w)
{
    etcd_res *r = etcd_watch_next(w);
    if (!r) fprintf(stderr, "  etcd_watch_next: %s\n", etcd_watch_errstr(w));
    return r;
}

/* M1..M4 one per call, then the end of the stream */
static void watch_sequence(const watch_plan *plan, const char *name)
{
    fs_server *s = fs_start(FS_TCP4, NULL, h_watch, plan);
    etcd *cli = NULL;
    etcd_watcher *w;
    etcd_res *r;
    int before = t__cur_failed;
    t__cur_failed = 0;
    REQUIRE(s);
    w = open_watch(s, &cli, 2.0, 0);
    CHECK(w != NULL);
    if (w) {
        r = next_ok(w);
        CHECK(r != NULL);
        if (r) {
            CHECK(r->created); CHECK(!r->canceled);
            CHECK_INT(r->revision, 5); CHECK_INT(r->raft_term, 7);
            CHECK(r->cluster_id == 14841639068965178418ULL);
            CHECK_INT(r->nevents, 0);
        }
        etcd_res_free(r);
        r = next_ok(w);
        CHECK(r != NULL);
        if (r) {
            CHECK(!r->created);
            CHECK_INT(r->revision, 6);
            CHECK_INT(r->nevents, 1);
            if (r->nevents == 1) {
                const etcd_event *e = &r->events[0];
                CHECK_INT(e->type, ETCD_EVENT_PUT);
                CHECK_STR(e->kv.key, "foo");
                CHECK_STR(e->kv.value, "8080");
                CHECK_INT(e->kv.value_len, 4);
                CHECK_INT(e->kv.create_revision, 6);
                CHECK_INT(e->kv.mod_revision, 6);
                CHECK_INT(e->kv.version, 1);
                CHECK(e->prev_kv == NULL);
            }
        }
        etcd_res_free(r);
        r = next_ok(w);
        CHECK(r != NULL);
        if (r) {
            CHECK_INT(r->revision, 7);
            CHECK_INT(r->nevents, 1);
            if (r->nevents == 1) {
                CHECK_INT(r->events[0].type, ETCD_EVENT_DELETE);
                CHECK_STR(r->events[0].kv.key, "foo");
                CHECK_STR(r->events[0].kv.value, "");
                CHECK_INT(r->events[0].kv.value_len, 0);
                CHECK_INT(r->events[0].kv.mod_revision, 7);
            }
        }
        etcd_res_free(r);
        r = next_ok(w);
        CHECK(r != NULL);
        if (r) {
            CHECK_INT(r->revision, 8);
            CHECK(r->canceled);
            CHECK_STR(r->cancel_reason, M4_REASON);
            CHECK_INT(r->nevents, 0);
        }
        etcd_res_free(r);
        /* nothing more: the stream ended (terminating chunk) */
        r = etcd_watch_next(w);
        CHECK(r == NULL);
        CHECK(etcd_watch_errstr(w)[0] != '\0');
        CHECK_NOT_STR(etcd_watch_errstr(w), "timeout");
        etcd_res_free(r);
    }
    etcd_watchcancel(w);
    etcd_free(cli);
    fs_stop(s);
    if (t__cur_failed) fprintf(stderr, "  (in case: %s)\n", name);
    t__cur_failed |= before;
}

static void test_watch_one_byte_chunks(void)
{
    static const watch_plan p = { 1, 1, { M1 "\n" M2 "\n" M3 "\n" M4 "\n", NULL } };
    watch_sequence(&p, "1 byte per chunk");
}

static void test_watch_joined_messages(void)
{
    static const watch_plan p = { 0, 1, { M1 "\n" M2 "\n", M3 "\n" M4 "\n", NULL } };
    static const watch_plan all = { 0, 1, { M1 "\n" M2 "\n" M3 "\n" M4 "\n", NULL } };
    watch_sequence(&p, "two messages per chunk");
    watch_sequence(&all, "four messages in one chunk");
}

static void test_watch_lone_newline_chunks(void)
{
    static const watch_plan p = { 0, 1, { M1, "\n", M2 "\n", "\n", "\r\n", M3, "\n", " \n\t",
                                          M4 "\n", "\n", NULL } };
    watch_sequence(&p, "lone newline chunks");
}

static void test_watch_no_newlines(void)
{
    static const watch_plan p = { 0, 1, { M1 M2, M3, M4, NULL } };
    static const watch_plan q = { 0, 1, { M1 M2 M3 M4, NULL } };
    watch_sequence(&p, "no newline between messages");
    watch_sequence(&q, "no newline, one chunk");
}

static void test_watch_split_in_string(void)
{
    static const watch_plan p = { 0, 1, { M1 "\n" M2 "\n" M3 "\n" M4_A, M4_B, M4_C "\n", NULL } };
    /* split right after the backslash of \" and right after a '{' */
    static const watch_plan q = { 0, 1, { M1 "\n" M2 "\n", M3 "\n{\"result\":{", HDR("8")
        ",\"canceled\":true,\"cancel_reason\":\"a}{\\", "\"b\"}}", NULL } };
    watch_sequence(&p, "split inside a string with braces");
    watch_sequence(&q, "split after a backslash");
}

static void test_watch_error_in_stream(void)
{
    static const watch_plan p = { 0, 0, { M1 "\n",
        "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"etcdserver: no leader\","
        "\"http_status\":\"Service Unavailable\"}}\n", NULL } };
    /* etcd 3.6 shape */
    static const watch_plan q = { 0, 0, { M1 "\n",
        "{\"error\":{\"code\":14,\"message\":\"etcdserver: no leader\",\"details\":[]}}\n", NULL } };
    const watch_plan *plans[2];
    int k;
    plans[0] = &p; plans[1] = &q;
    for (k = 0; k < 2; k++) {
        fs_server *s = fs_start(FS_TCP4, NULL, h_watch, plans[k]);
        etcd *cli = NULL;
        etcd_watcher *w;
        etcd_res *r;
        CHECK(s != NULL);
        if (!s) break;
        w = open_watch(s, &cli, 2.0, 0);
        CHECK(w != NULL);
        if (w) {
            r = next_ok(w);
            CHECK(r != NULL && r->created);
            etcd_res_free(r);
            CHECK_NO_MESSAGE(w, "etcdserver: no leader", false, 0, 1.0);
        }
        etcd_watchcancel(w);
        etcd_free(cli);
        fs_stop(s);
    }
}

static void test_watch_stream_end(void)
{
    static const watch_plan zero = { 0, 1, { M1 "\n", NULL } };
    static const watch_plan close_ = { 0, 2, { M1 "\n", NULL } };
    static const watch_plan close_mid = { 0, 2, { M1 "\n", "{\"result\":{\"header\":{", NULL } };
    static const watch_plan zero_mid = { 0, 1, { M1 "\n", "{\"result\":{\"header\":{", NULL } };
    const watch_plan *plans[4];
    static const char *const names[4] = { "0 chunk", "close", "close mid-message",
                                          "0 chunk mid-message" };
    int k;
    plans[0] = &zero; plans[1] = &close_; plans[2] = &close_mid; plans[3] = &zero_mid;
    for (k = 0; k < 4; k++) {
        fs_server *s = fs_start(FS_TCP4, NULL, h_watch, plans[k]);
        etcd *cli = NULL;
        etcd_watcher *w;
        etcd_res *r;
        double t0;
        int before = t__cur_failed;
        t__cur_failed = 0;
        CHECK(s != NULL);
        if (!s) break;
        w = open_watch(s, &cli, 3.0, 0);
        CHECK(w != NULL);
        if (w) {
            r = next_ok(w);
            CHECK(r != NULL && r->created);
            etcd_res_free(r);
            t0 = fs_now();
            r = etcd_watch_next(w);
            CHECK(r == NULL);
            CHECK(etcd_watch_errstr(w)[0] != '\0');
            CHECK_NOT_STR(etcd_watch_errstr(w), "timeout");
            CHECK_TIME(fs_now() - t0, 0, 1.5);
            etcd_res_free(r);
            /* and it stays ended */
            r = etcd_watch_next(w);
            CHECK(r == NULL);
            CHECK_NOT_STR(etcd_watch_errstr(w), "timeout");
            etcd_res_free(r);
        }
        etcd_watchcancel(w);
        etcd_free(cli);
        fs_stop(s);
        if (t__cur_failed) fprintf(stderr, "  (in case: %s)\n", names[k]);
        t__cur_failed |= before;
    }
}

/* auto_resume: stream 0 delivers revision 6 and then breaks (arg: 0 by a
   close, 1 by an error message inside the 200 stream, 2 by its last chunk,
   3 like 0 but the reopening is refused with a 400); stream 1 must ask for
   revision 7 and its "created" must not reach the caller. */
#define ERR14 "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"transport is closing\"," \
    "\"http_status\":\"Service Unavailable\"}}\n"
#define CREATED7 "{\"result\":{" HDR("7") ",\"created\":true}}\n"
static void h_resume(fs_conn *c)
{
    int how = *(const int *)c->srv->arg;
    if (fs_read_req(c) < 0) return;
    if (c->index == 0) {
        if (fs_sends(c, CHUNKED_HEAD) || fs_chunk(c, M1 "\n", strlen(M1) + 1) ||
            fs_chunk(c, M2 "\n", strlen(M2) + 1)) return;
        if (how == 1) fs_chunk(c, ERR14, strlen(ERR14));
        if (how == 2) fs_sends(c, "0\r\n\r\n");
        fs_close(c);
        return;
    }
    if (how == 3) {
        fs_respond(c, 400, "", "{\"error\":\"bad\",\"message\":\"bad watch request\",\"code\":3}");
        return;
    }
    if (fs_sends(c, CHUNKED_HEAD) ||
        fs_chunk(c, CREATED7, strlen(CREATED7)) ||
        fs_chunk(c, M3 "\n", strlen(M3) + 1)) return;
    fs_wait_close(c, 5.0);
}

static void test_watch_auto_resume(void)
{
    static const int hows[3] = { 0, 1, 2 };
    int k;
    for (k = 0; k < 3; k++) {
        fs_server *s = fs_start(FS_TCP4, NULL, h_resume, &hows[k]);
        etcd_opts o;
        etcd_watch_opts wo;
        etcd *cli;
        etcd_watcher *w = NULL;
        etcd_res *r;
        char rev[32] = "";
        REQUIRE(s);
        o = opts_for(s);
        o.max_fails = 100;      /* the break must not take the only endpoint out */
    cli = t_client(&o);
        memset(&wo, 0, sizeof wo);
        wo.timeout = 2.0;
        wo.auto_resume = true;
        if (cli) w = etcd_watch(cli, "foo", &wo);
        CHECK(w != NULL);
        if (w) {
            r = next_ok(w);
            CHECK(r && r->created);
            etcd_res_free(r);
            r = next_ok(w);
            CHECK(r && r->nevents == 1 && r->events[0].kv.mod_revision == 6);
            etcd_res_free(r);
            r = next_ok(w);              /* across the break: no second "created" */
            CHECK(r && !r->created && r->nevents == 1);
            if (r && r->nevents) {
                CHECK_INT(r->events[0].type, ETCD_EVENT_DELETE);
                CHECK_INT(r->events[0].kv.mod_revision, 7);
            }
            etcd_res_free(r);
        }
        CHECK_INT(fs_accepts(s), 2);
        if (fs_nreqs(s) >= 2) {
            const fs_req *q = fs_get(s, fs_nreqs(s) - 1);
            CHECK_INT(json_str(q->body, q->body_len, "create_request.start_revision", rev, sizeof rev), 1);
            CHECK_STR(rev, "7");
        }
        etcd_watchcancel(w);
        etcd_free(cli);
        fs_stop(s);
        if (t__cur_failed) { fprintf(stderr, "  (in case %d)\n", k); break; }
    }
}

/* auto_resume with fragment: stream 0 delivers the first two events of
   revision 6 (fragment) and breaks; stream 1 must ask for revision 6 again,
   and the caller must get only the third event of 6, then revision 7. */
#define EV(key, rev) "{\"kv\":{\"key\":\"" key "\",\"mod_revision\":\"" rev "\",\"value\":\"MQ==\"}}"
#define FRAG_AB "{\"result\":{" HDR("6") ",\"events\":[" EV("YQ==", "6") "," EV("Yg==", "6") "],\"fragment\":true}}\n"
#define FRAG_C  "{\"result\":{" HDR("6") ",\"events\":[" EV("Yw==", "6") "]}}\n"
#define EV_D    "{\"result\":{" HDR("7") ",\"events\":[" EV("ZA==", "7") "]}}\n"
#define CREATED5 "{\"result\":{" HDR("5") ",\"created\":true}}\n"
#define CREATED6 "{\"result\":{" HDR("6") ",\"created\":true}}\n"
static void h_fragment(fs_conn *c)
{
    if (fs_read_req(c) < 0 || fs_sends(c, CHUNKED_HEAD)) return;
    if (c->index == 0) {
        if (fs_chunk(c, CREATED5, strlen(CREATED5)) || fs_chunk(c, FRAG_AB, strlen(FRAG_AB))) return;
        fs_close(c);
        return;
    }
    if (fs_chunk(c, CREATED6, strlen(CREATED6)) || fs_chunk(c, FRAG_AB, strlen(FRAG_AB)) ||
        fs_chunk(c, FRAG_C, strlen(FRAG_C)) || fs_chunk(c, EV_D, strlen(EV_D))) return;
    fs_wait_close(c, 5.0);
}

static void test_watch_auto_resume_fragment(void)
{
    fs_server *s = fs_start(FS_TCP4, NULL, h_fragment, NULL);
    etcd_opts o;
    etcd_watch_opts wo;
    etcd *cli;
    etcd_watcher *w = NULL;
    etcd_res *r;
    char rev[32] = "";
    REQUIRE(s);
    o = opts_for(s);
    o.max_fails = 100;
    cli = t_client(&o);
    memset(&wo, 0, sizeof wo);
    wo.timeout = 2.0;
    wo.auto_resume = true;
    wo.fragment = true;
    if (cli) w = etcd_watch(cli, "foo", &wo);
    CHECK(w != NULL);
    if (w) {
        r = next_ok(w);
        CHECK(r && r->created);
        etcd_res_free(r);
        r = next_ok(w);                          /* a, b: part of revision 6 */
        CHECK(r && r->fragment && r->nevents == 2);
        if (r && r->nevents == 2) { CHECK_STR(r->events[0].kv.key, "a"); CHECK_STR(r->events[1].kv.key, "b"); }
        etcd_res_free(r);
        r = next_ok(w);                          /* across the break: c only */
        CHECK(r && !r->fragment && r->nevents == 1);
        if (r && r->nevents == 1) CHECK_STR(r->events[0].kv.key, "c");
        etcd_res_free(r);
        r = next_ok(w);
        CHECK(r && r->nevents == 1 && r->events[0].kv.mod_revision == 7);
        etcd_res_free(r);
    }
    CHECK_INT(fs_accepts(s), 2);
    if (fs_nreqs(s) >= 2) {
        const fs_req *q = fs_get(s, fs_nreqs(s) - 1);
        CHECK_INT(json_str(q->body, q->body_len, "create_request.start_revision", rev, sizeof rev), 1);
        CHECK_STR(rev, "6");
    }
    etcd_watchcancel(w);
    etcd_free(cli);
    fs_stop(s);
}

/* A reopening refused for good ends the watcher with both reasons. */
static void test_watch_auto_resume_refused(void)
{
    static const int how = 3;
    fs_server *s = fs_start(FS_TCP4, NULL, h_resume, &how);
    etcd_opts o;
    etcd_watch_opts wo;
    etcd *cli;
    etcd_watcher *w = NULL;
    etcd_res *r;
    REQUIRE(s);
    o = opts_for(s);
    o.max_fails = 100;      /* the break must not take the only endpoint out */
    cli = t_client(&o);
    memset(&wo, 0, sizeof wo);
    wo.timeout = 2.0;
    wo.auto_resume = true;
    if (cli) w = etcd_watch(cli, "foo", &wo);
    CHECK(w != NULL);
    if (w) {
        etcd_res_free(next_ok(w));
        etcd_res_free(next_ok(w));
        r = etcd_watch_next(w);
        CHECK(r == NULL);
        CHECK_HAS(etcd_watch_errstr(w), "closed");
        CHECK_HAS(etcd_watch_errstr(w), "bad watch request");
        CHECK(etcd_watch_next(w) == NULL);
        CHECK_HAS(etcd_watch_errstr(w), "bad watch request");
        CHECK_INT(etcd_watch_fd(w), -1);
    }
    CHECK_STR(etcd_errstr(cli), "");     /* the client's own error is untouched */
    etcd_watchcancel(w);
    etcd_free(cli);
    fs_stop(s);
}

static void test_watch_open_non200(void)
{
    char *raws[2];
    int k;
    raws[0] = mkresp("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n",
                     "{\"error\":\"etcdserver: no leader\",\"message\":\"etcdserver: no leader\",\"code\":14}");
    raws[1] = mkresp("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n",
                     "{\"error\":\"bad watch request\",\"message\":\"bad watch request\",\"code\":3}");
    for (k = 0; k < 2; k++) {
        fs_server *s = fs_start(FS_TCP4, NULL, h_raw, raws[k]);
        etcd_opts o;
        etcd *cli;
        etcd_watcher *w;
        CHECK(s != NULL);
        if (!s) break;
        o = opts_for(s);
        cli = t_client(&o);
        CHECK(cli != NULL);
        if (cli) {
            w = etcd_watch(cli, "foo", NULL);
            CHECK(w == NULL);
            if (k == 0) {
                CHECK_HAS(etcd_errstr(cli), "HTTP 503");
                CHECK_HAS(etcd_errstr(cli), "etcdserver: no leader");
            } else {
                CHECK_HAS(etcd_errstr(cli), "bad watch request");
            }
            etcd_watchcancel(w);
        }
        etcd_free(cli);
        fs_stop(s);
    }
    free(raws[0]); free(raws[1]);
}

static void test_watch_max_response(void)
{
    /* one 5000-byte message, sent as 700-byte chunks, max_response 1000 */
    char *big = (char *)malloc(5001);
    watch_plan p;
    fs_server *s;
    etcd *cli = NULL;
    etcd_watcher *w;
    etcd_res *r;
    size_t pre = strlen("{\"result\":{\"events\":[{\"kv\":{\"key\":\"Zm9v\",\"value\":\"");
    memset(big, 'A', 5000);
    memcpy(big, "{\"result\":{\"events\":[{\"kv\":{\"key\":\"Zm9v\",\"value\":\"", pre);
    memcpy(big + 5000 - 7, "\"}}]}}\n", 7);
    big[5000] = '\0';
    memset(&p, 0, sizeof p);
    p.piece = 700; p.end = 0;
    p.parts[0] = M1 "\n"; p.parts[1] = big;
    s = fs_start(FS_TCP4, NULL, h_watch, &p);
    if (!s) free(big);
    REQUIRE(s);
    w = open_watch(s, &cli, 2.0, 1000);
    CHECK(w != NULL);
    if (w) {
        r = next_ok(w);
        CHECK(r != NULL && r->created);
        etcd_res_free(r);
        r = etcd_watch_next(w);
        CHECK(r == NULL);
        CHECK_HAS(etcd_watch_errstr(w), "max_response");
        etcd_res_free(r);
    }
    etcd_watchcancel(w);
    etcd_free(cli);
    fs_stop(s);
    free(big);
}

static void test_watch_wrong_types(void)
{
    static const watch_plan p = { 0, 1, { M1 "\n",
        "{\"result\":{\"events\":[5,{\"kv\":5},{\"type\":\"BOGUS\",\"kv\":{\"key\":7,\"value\":[]}},"
        "{\"kv\":{\"key\":\"%%%\"}},{\"prev_kv\":3}],\"created\":\"yes\",\"watch_id\":{}}}\n",
        "{\"result\":{\"header\":5,\"events\":{},\"cancel_reason\":7}}\n",
        "{\"result\":5}\n", "{\"foo\":1}\n", "[1,2]\n", M2 "\n", NULL } };
    fs_server *s = fs_start(FS_TCP4, NULL, h_watch, &p);
    etcd *cli = NULL;
    etcd_watcher *w;
    etcd_res *r;
    int k;
    REQUIRE(s);
    w = open_watch(s, &cli, 2.0, 0);
    CHECK(w != NULL);
    for (k = 0; w && k < 8; k++) {
        size_t i;
        r = etcd_watch_next(w);
        if (!r) { CHECK_NOT_STR(etcd_watch_errstr(w), "timeout"); break; }
        CHECK(r->nevents == 0 || r->events != NULL);
        for (i = 0; r->events && i < r->nevents; i++) {
            CHECK(r->events[i].kv.key != NULL);
            CHECK(r->events[i].kv.value != NULL);
        }
        etcd_res_free(r);
    }
    etcd_watchcancel(w);
    etcd_free(cli);
    fs_stop(s);
}

/* ------------------------------------------------------------------------
   unix_socket_proxy, IPv6, api_prefix probe
   ------------------------------------------------------------------------ */

static void test_unix_socket_proxy(void)
{
    char dir[] = "/tmp/etcdh-test-XXXXXX";
    char path[128], uri[160], missing[128];
    fs_server *us, *ts;
    etcd_opts o;
    etcd *cli;
    const fs_req *q;
    char v[128];
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/etcd.sock", dir);
    snprintf(missing, sizeof missing, "%s/missing.sock", dir);
    us = fs_start(FS_UNIX, path, h_ok, NULL);
    ts = fs_start(FS_TCP4, NULL, h_ok, NULL);
    CHECK(us != NULL && ts != NULL);
    if (us && ts) {
        /* "unix:/path" */
        snprintf(uri, sizeof uri, "unix:%s", path);
        memset(&o, 0, sizeof o);
        o.http_host = "http://example.invalid:2379";
        o.api_prefix = "/v3";
        o.timeout = 2.0;
        o.unix_socket_proxy = uri;
        cli = t_client(&o);
        CHECK(cli != NULL);
        if (cli) { get_ok(cli); get_ok(cli); }
        etcd_free(cli);
        CHECK_INT(fs_nreqs(us), 2);
        CHECK_INT(fs_accepts(us), 1);
        q = fs_get(us, 0);
        if (q) {
            CHECK_INT(fs_header(q, "host", v, sizeof v), 1);
            CHECK_STR(v, "example.invalid:2379");
            CHECK_STR(q->target, "/v3/kv/range");
        }
        /* bare "/path" */
        o.unix_socket_proxy = path;
        cli = t_client(&o);
        CHECK(cli != NULL);
        if (cli) get_ok(cli);
        etcd_free(cli);
        CHECK_INT(fs_nreqs(us), 3);
        q = fs_get(us, 2);
        if (q) {
            CHECK_INT(fs_header(q, "host", v, sizeof v), 1);
            CHECK_STR(v, "example.invalid:2379");
        }
        /* no such socket file: TCP to http_host */
        o.http_host = ts->url;
        o.unix_socket_proxy = missing;
        cli = t_client(&o);
        CHECK(cli != NULL);
        if (cli) get_ok(cli);
        etcd_free(cli);
        snprintf(uri, sizeof uri, "unix:%s", missing);
        o.unix_socket_proxy = uri;
        cli = t_client(&o);
        CHECK(cli != NULL);
        if (cli) get_ok(cli);
        etcd_free(cli);
        CHECK_INT(fs_nreqs(ts), 2);
        CHECK_INT(fs_nreqs(us), 3);
        q = fs_get(ts, 0);
        if (q) {
            snprintf(uri, sizeof uri, "127.0.0.1:%d", ts->port);
            CHECK_INT(fs_header(q, "host", v, sizeof v), 1);
            CHECK_STR(v, uri);
        }
    }
    fs_stop(us);
    fs_stop(ts);
    rmdir(dir);
}

static void test_ipv6_literal(void)
{
    fs_server *s = fs_start(FS_TCP6, NULL, h_ok, NULL);
    etcd_opts o;
    etcd *cli;
    const fs_req *q;
    char v[128], want[128];
    if (!s) {
        printf("  note: cannot bind ::1 here; IPv6 literal test skipped\n");
        return;
    }
    o = opts_for(s);
    cli = t_client(&o);
    CHECK(cli != NULL);
    if (cli) { get_ok(cli); get_ok(cli); }
    etcd_free(cli);
    CHECK_INT(fs_nreqs(s), 2);
    CHECK_INT(fs_accepts(s), 1);
    q = fs_get(s, 0);
    if (q) {
        snprintf(want, sizeof want, "[::1]:%d", s->port);
        CHECK_INT(fs_header(q, "host", v, sizeof v), 1);
        CHECK_STR(v, want);
    }
    fs_stop(s);
}

static void probe_case(const char *version_body, const char *prefix)
{
    fs_server *s = fs_start(FS_TCP4, NULL, h_ok, version_body);
    etcd_opts o;
    etcd *cli;
    const fs_req *q;
    char want[64], v[128];
    int i, gets = 0, before = t__cur_failed;
    t__cur_failed = 0;
    REQUIRE(s);
    o = opts_for(s);
    o.api_prefix = NULL;
    cli = t_client(&o);
    CHECK(cli != NULL);
    if (cli) { get_ok(cli); get_ok(cli); }
    etcd_free(cli);
    CHECK_INT(fs_nreqs(s), 3);
    for (i = 0; i < fs_nreqs(s); i++)
        if (strcmp(fs_get(s, i)->target, "/version") == 0) gets++;
    CHECK_INT(gets, 1);
    q = fs_get(s, 0);
    if (q) {
        CHECK_STR(q->method, "GET");
        CHECK_STR(q->target, "/version");
        CHECK_STR(q->version, "HTTP/1.1");
        CHECK_INT(q->body_len, 0);
        snprintf(want, sizeof want, "127.0.0.1:%d", s->port);
        CHECK_INT(fs_header(q, "host", v, sizeof v), 1);
        CHECK_STR(v, want);
    }
    snprintf(want, sizeof want, "%s/kv/range", prefix);
    if ((q = fs_get(s, 1)) != NULL) { CHECK_STR(q->method, "POST"); CHECK_STR(q->target, want); }
    if ((q = fs_get(s, 2)) != NULL) { CHECK_STR(q->method, "POST"); CHECK_STR(q->target, want); }
    fs_stop(s);
    if (t__cur_failed) fprintf(stderr, "  (in case: %s)\n", version_body);
    t__cur_failed |= before;
}

static void test_api_prefix_probe(void)
{
    probe_case("{\"etcdserver\":\"3.3.9\",\"etcdcluster\":\"3.3.0\"}", "/v3beta");
    probe_case("{\"etcdserver\":\"3.2.26\",\"etcdcluster\":\"3.2.0\"}", "/v3alpha");
    probe_case("{\"etcdserver\":\"3.5.9\",\"etcdcluster\":\"3.5.0\"}", "/v3");
    probe_case(FS_VERSION_34, "/v3");
}

int main(void)
{
    RUN(test_request_format);
    RUN(test_frame_content_length);
    RUN(test_frame_chunked);
    RUN(test_frame_chunked_ext_trailers);
    RUN(test_frame_chunked_byte_by_byte);
    RUN(test_frame_header_case);
    RUN(test_frame_read_to_eof);
    RUN(test_hostile_truncated_content_length);
    RUN(test_hostile_truncated_chunked);
    RUN(test_hostile_bad_chunk_size);
    RUN(test_hostile_bad_content_length);
    RUN(test_hostile_cl_and_chunked);
    RUN(test_hostile_status_line);
    RUN(test_hostile_empty_reply);
    RUN(test_hostile_huge_head);
    RUN(test_hostile_max_response);
    RUN(test_hostile_invalid_json);
    RUN(test_hostile_wrong_types);
    RUN(test_http_503);
    RUN(test_http_4xx_result);
    RUN(test_timeout_no_answer);
    RUN(test_timeout_half_head);
    RUN(test_timeout_per_call);
    RUN(test_timeout_watch);
    RUN(test_timeout_watch_open);
    RUN(test_keepalive_reuse);
    RUN(test_keepalive_server_closes);
    RUN(test_keepalive_connection_close_header);
    RUN(test_keepalive_resend_reads_only);
    RUN(test_text_error_body);
    RUN(test_keepalive_idle_close);
    RUN(test_dead_endpoint);
    RUN(test_sigpipe);
    RUN(test_watch_one_byte_chunks);
    RUN(test_watch_joined_messages);
    RUN(test_watch_lone_newline_chunks);
    RUN(test_watch_no_newlines);
    RUN(test_watch_split_in_string);
    RUN(test_watch_error_in_stream);
    RUN(test_watch_stream_end);
    RUN(test_watch_open_non200);
    RUN(test_watch_auto_resume);
    RUN(test_watch_auto_resume_refused);
    RUN(test_watch_auto_resume_fragment);
    RUN(test_watch_max_response);
    RUN(test_watch_wrong_types);
    RUN(test_unix_socket_proxy);
    RUN(test_ipv6_literal);
    RUN(test_api_prefix_probe);
    return test_summary();
}
