/* test_errors.c - every error code of etcd.h provoked for real (API.md
   "Additions, round 2" / "Error codes"): etcd_errcode / etcd_watch_errcode
   and etcd_errstr / etcd_watch_errstr must name the same failure.

   What a real etcd never sends (malformed HTTP or JSON, cut bodies,
   oversized answers, 5xx, in-stream errors, refused watches, etcd 3.6's
   error shape) comes from scripted fake servers (tests/fakeserver.h); the
   rest from the real thing (tests/harness.h): a plain etcd for results,
   idle watches and compaction, the same etcd with auth enabled (last) for
   a wrong password and a permission-denied watch, a TLS etcd trusted with
   the wrong CA, a refused port, a silent listener. All on 127.0.0.1.

   ETCD_ENOMEM is not provoked here: tests/test_alloc.c fails every
   allocation in turn. ETCD_ELOST belongs to the lease keeper (not built
   yet). */
/* TLS: OpenSSL, or mbedTLS when built with -DETCD_USE_MBEDTLS (mk/tlsbackends.mk) */
#if !defined(ETCD_USE_MBEDTLS)
#define ETCD_USE_OPENSSL
#endif
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
#include "harness.h"
#include "fakeserver.h"
#include <stdbool.h>

/* ------------------------------------------------------------------------
   Canned answers
   ------------------------------------------------------------------------ */

#define HDR FS_HDR("42")
#define JSON_HEAD "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
#define WATCH_CREATED "{\"result\":{" HDR ",\"created\":true}}\n"
#define MSG_LEADER "etcdserver: leader changed"
#define ERR_503 "{\"error\":\"" MSG_LEADER "\",\"code\":14,\"message\":\"" MSG_LEADER "\"}"
#define NO_HEALTHY "has no healthy etcd endpoint available"
#define BIG 4096                  /* bodies over max_response = 1024 */
#define MAX_RESPONSE 1024

static const char WAIT_GO[] = "";   /* a watch plan part: wait for fs_go() */

/* ------------------------------------------------------------------------
   Fake server scripts
   ------------------------------------------------------------------------ */

/* every request on the connection gets the raw bytes arg */
static void h_raw(fs_conn *c)
{
    while (fs_read_req(c) >= 0)
        if (fs_sends(c, (const char *)c->srv->arg) != 0) return;
}

/* one request gets the raw bytes arg, then the server closes */
static void h_raw_close(fs_conn *c)
{
    if (fs_read_req(c) >= 0) fs_sends(c, (const char *)c->srv->arg);
}

/* every request gets status + an etcd-like JSON body */
typedef struct { int status; const char *body; } answer;
static void h_answer(fs_conn *c)
{
    const answer *a = (const answer *)c->srv->arg;
    while (fs_read_req(c) >= 0)
        if (fs_respond(c, a->status, "", a->body) != 0) return;
}

/* the first request gets a 200 with malformed JSON, every later one a
   good range answer */
static void h_bad_then_ok(fs_conn *c)
{
    int i;
    while ((i = fs_read_req(c)) >= 0)
        if (fs_respond(c, 200, "", i == 0 ? "{\"kvs\":[" : FS_RANGE_BODY) != 0) return;
}

/* A watch stream: the chunked 200 head, each part as one chunk (WAIT_GO:
   wait for fs_go), then end: 0 stay open, 1 terminating chunk, 2 close. */
typedef struct { int end; const char *parts[6]; } wplan;
static void h_watch(fs_conn *c)
{
    const wplan *p = (const wplan *)c->srv->arg;
    int k;
    if (fs_read_req(c) < 0) return;
    if (fs_sends(c, JSON_HEAD "Transfer-Encoding: chunked\r\n\r\n") != 0) return;
    for (k = 0; p->parts[k]; k++) {
        if (p->parts[k] == WAIT_GO) {
            if (!fs_wait_go(c, 5.0)) return;
        } else if (fs_chunk(c, p->parts[k], strlen(p->parts[k])) != 0) {
            return;
        }
    }
    if (p->end == 2) return;
    if (p->end == 1) fs_sends(c, "0\r\n\r\n");
    fs_wait_close(c, 5.0);
}

/* ------------------------------------------------------------------------
   Helpers
   ------------------------------------------------------------------------ */

/* A client of fake server s: no /version probe, health checks off (so a
   failure never hides the next one behind ENOHEALTHY). */
static etcd *fake_client(const fs_server *s, size_t max_response)
{
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.http_host = s->url;
    o.api_prefix = "/v3";
    o.timeout = 2.0;
    o.max_fails = -1;
    o.max_response = max_response;
    return t_client(&o);
}

/* A get of "foo" must fail with code and a text containing want. */
static void get_fails(etcd *cli, etcd_err code, const char *want)
{
    etcd_res *r = etcd_get(cli, "foo", NULL);
    CHECK(r == NULL);
    if (r) fprintf(stderr, "  unexpected result: status %d body %s\n", r->status, r->body);
    etcd_res_free(r);
    CHECK_STR(etcd_err_name(etcd_errcode(cli)), etcd_err_name(code));
    CHECK_HAS(etcd_errstr(cli), want);
}

/* Fake server answering every request with raw; a get must fail so. */
static void raw_get_case(fs_handler h, const char *raw, size_t max_response, etcd_err code,
                         const char *want)
{
    fs_server *s = fs_start(FS_TCP4, NULL, h, raw);
    etcd *cli;
    REQUIRE(s);
    cli = fake_client(s, max_response);
    if (cli) get_fails(cli, code, want);
    CHECK(cli != NULL);
    CHECK(fs_nreqs(s) >= 1);                     /* it was really sent */
    etcd_free(cli);
    fs_stop(s);
}

/* A watch on fake server s; the first message must be "created". */
static etcd_watcher *open_watch(etcd *cli, double timeout)
{
    etcd_watch_opts o;
    etcd_watcher *w;
    etcd_res *r;
    memset(&o, 0, sizeof o);
    o.timeout = timeout;
    w = etcd_watch(cli, "foo", &o);
    if (!w) { fprintf(stderr, "  etcd_watch: %s\n", etcd_errstr(cli)); return NULL; }
    CHECK_INT(etcd_errcode(cli), ETCD_OK);
    CHECK_STR(etcd_errstr(cli), "");
    r = etcd_watch_next(w);
    if (!r) fprintf(stderr, "  etcd_watch_next: %s\n", etcd_watch_errstr(w));
    CHECK(r != NULL && r->created);
    etcd_res_free(r);
    return w;
}

/* The next etcd_watch_next must end the stream with code and want; the
   one after must say the same at once. */
static void watch_ends(etcd_watcher *w, etcd_err code, const char *want)
{
    etcd_res *r = etcd_watch_next(w);
    double t0;
    CHECK(r == NULL);
    if (r) fprintf(stderr, "  unexpected message: %s\n", r->body);
    etcd_res_free(r);
    CHECK_STR(etcd_err_name(etcd_watch_errcode(w)), etcd_err_name(code));
    CHECK_HAS(etcd_watch_errstr(w), want);
    t0 = fs_now();
    r = etcd_watch_next(w);
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_TIME(fs_now() - t0, 0, 0.1);
    CHECK_STR(etcd_err_name(etcd_watch_errcode(w)), etcd_err_name(code));
    CHECK_HAS(etcd_watch_errstr(w), want);
}

/* A watch stream by plan p (fs_go after "created" when go); its second
   etcd_watch_next must end it with code and want. */
static void watch_case(const wplan *p, bool go, size_t max_response, etcd_err code, const char *want)
{
    fs_server *s = fs_start(FS_TCP4, NULL, h_watch, p);
    etcd *cli;
    etcd_watcher *w = NULL;
    REQUIRE(s);
    cli = fake_client(s, max_response);
    if (cli) w = open_watch(cli, 2.0);
    CHECK(w != NULL);
    if (w) {
        if (go) fs_go(s);
        watch_ends(w, code, want);
    }
    etcd_watchcancel(w);
    etcd_free(cli);
    fs_stop(s);
}

/* A watch open answered with status/body must fail with code and want. */
static void watch_refused_case(int status, const char *body, etcd_err code, const char *want)
{
    answer a;
    fs_server *s;
    etcd *cli;
    etcd_watcher *w = NULL;
    a.status = status;
    a.body = body;
    s = fs_start(FS_TCP4, NULL, h_answer, &a);
    REQUIRE(s);
    cli = fake_client(s, 0);
    if (cli) {
        w = etcd_watch(cli, "foo", NULL);
        CHECK(w == NULL);
        CHECK_STR(etcd_err_name(etcd_errcode(cli)), etcd_err_name(code));
        CHECK_HAS(etcd_errstr(cli), want);
        CHECK_INT(fs_nreqs(s), 1);
    }
    CHECK(cli != NULL);
    etcd_watchcancel(w);
    etcd_free(cli);
    fs_stop(s);
}

/* A JSON object of exactly n bytes: {"header":{},"pad":"xxx..."} */
static void make_big(char *out, size_t n)
{
    static const char head[] = "{\"header\":{},\"pad\":\"";
    size_t h = sizeof head - 1;
    memcpy(out, head, h);
    memset(out + h, 'x', n - h - 2);
    memcpy(out + n - 2, "\"}", 2);
    out[n] = '\0';
}

/* ------------------------------------------------------------------------
   Names and NULL handles
   ------------------------------------------------------------------------ */

static void test_err_names(void)
{
    static const char *const names[] = {
        "ETCD_OK", "ETCD_EARG", "ETCD_ENOMEM", "ETCD_ECONNECT", "ETCD_ETIMEOUT", "ETCD_ETRANSPORT",
        "ETCD_EPROTO", "ETCD_ETOOLARGE", "ETCD_ETLS", "ETCD_EAUTH", "ETCD_ENOHEALTHY", "ETCD_ESERVER",
        "ETCD_ECOMPACTED", "ETCD_ECANCELED", "ETCD_ELOST"
    };
    int i;
    CHECK_INT(ETCD_ELOST, 14);
    for (i = 0; i <= (int)ETCD_ELOST; i++) CHECK_STR(etcd_err_name((etcd_err)i), names[i]);
    CHECK_STR(etcd_err_name((etcd_err)99), "?");
    CHECK_STR(etcd_err_name((etcd_err)15), "?");
    CHECK_STR(etcd_err_name((etcd_err)-1), "?");
}

static void test_earg_null_handles(void)
{
    CHECK_INT(etcd_errcode(NULL), ETCD_EARG);
    CHECK_INT(etcd_watch_errcode(NULL), ETCD_EARG);
    CHECK(etcd_errstr(NULL) != NULL && etcd_errstr(NULL)[0] != '\0');
    CHECK(etcd_watch_errstr(NULL) != NULL && etcd_watch_errstr(NULL)[0] != '\0');
}

/* ------------------------------------------------------------------------
   ETCD_EARG: refused before anything is sent (not even a connection)
   ------------------------------------------------------------------------ */

static void earg(etcd *cli, etcd_res *r, const char *want)
{
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_STR(etcd_err_name(etcd_errcode(cli)), "ETCD_EARG");
    CHECK_HAS(etcd_errstr(cli), want);
}

static void test_earg_nothing_sent(void)
{
    answer a = { 200, FS_RANGE_BODY };
    fs_server *s = fs_start(FS_TCP4, NULL, h_answer, &a);
    etcd *cli;
    etcd_get_opts go;
    etcd_compare cmp;
    etcd_op op;
    etcd_watcher *w;
    REQUIRE(s);
    cli = fake_client(s, 0);
    if (!cli) { fs_stop(s); REQUIRE(cli); }
    memset(&cmp, 0, sizeof cmp);
    cmp.key = "k";
    memset(&op, 0, sizeof op);
    op.type = ETCD_OP_PUT;
    op.key = "k";
    op.value = "1";

    earg(cli, etcd_get(cli, NULL, NULL), "key should not be empty");
    earg(cli, etcd_get(cli, "", NULL), "key should not be empty");
    earg(cli, etcd_delete(cli, "", NULL), "key should not be empty");
    earg(cli, etcd_set(cli, "", "1", NULL), "key should not be empty");
    earg(cli, etcd_set(cli, "k", NULL, NULL), "value should not be NULL");
    earg(cli, etcd_set(cli, "k", "{bad", NULL), "value is not valid JSON");
    earg(cli, etcd_setnx(cli, "k", "nope", NULL), "value is not valid JSON");
    earg(cli, etcd_txn(cli, NULL, 0, &op, 1, NULL, 0, NULL), "compare couldn't be empty");
    earg(cli, etcd_txn(cli, &cmp, 1, NULL, 0, NULL, 0, NULL), "success and failure couldn't be empty");
    cmp.target = (etcd_cmp_target)9;
    earg(cli, etcd_txn(cli, &cmp, 1, &op, 1, NULL, 0, NULL), "invalid compare result or target");
    cmp.target = ETCD_CMP_VERSION;
    cmp.result = (etcd_cmp_result)7;
    earg(cli, etcd_txn(cli, &cmp, 1, &op, 1, NULL, 0, NULL), "invalid compare result or target");
    cmp.result = ETCD_CMP_EQUAL;
    op.value = "{bad";
    earg(cli, etcd_txn(cli, &cmp, 1, &op, 1, NULL, 0, NULL), "value is not valid JSON");
    earg(cli, etcd_request(cli, "/kv/range\r\nX-Evil: 1", "{}", 0), "path must start with '/'");
    earg(cli, etcd_request(cli, "/kv/range\n", "{}", 0), "CR/LF");
    earg(cli, etcd_request(cli, "kv/range", "{}", 0), "path must start with '/'");
    earg(cli, etcd_request(cli, "/kv/range", "{nope", 0), "not valid JSON");
    memset(&go, 0, sizeof go);
    go.sort_order = 3;
    earg(cli, etcd_get(cli, "k", &go), "sort_order");
    go.sort_order = 1;
    go.sort_target = 5;
    earg(cli, etcd_get(cli, "k", &go), "sort_target");
    go.sort_target = -1;
    earg(cli, etcd_readdir(cli, "/d", &go), "sort_target");
    w = etcd_watch(cli, "", NULL);
    CHECK(w == NULL);
    etcd_watchcancel(w);
    CHECK_INT(etcd_errcode(cli), ETCD_EARG);
    CHECK_HAS(etcd_errstr(cli), "key should not be empty");

    CHECK_INT(fs_accepts(s), 0);                 /* not even a connection */
    CHECK_INT(fs_nreqs(s), 0);
    /* and the client is fine: the next call reaches the server */
    CHECK(fs_get_ok(cli));
    CHECK_INT(etcd_errcode(cli), ETCD_OK);
    CHECK_STR(etcd_errstr(cli), "");
    CHECK_INT(fs_nreqs(s), 1);
    etcd_free(cli);
    fs_stop(s);
}

/* ------------------------------------------------------------------------
   ETCD_ECONNECT, ETCD_ETIMEOUT, ETCD_ENOHEALTHY (no server needed)
   ------------------------------------------------------------------------ */

static void test_econnect_refused_port(void)
{
    char url[64];
    etcd_opts o;
    etcd *cli;
    etcd_watcher *w;
    int port = test_free_port();
    REQUIRE(port > 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    memset(&o, 0, sizeof o);
    o.http_host = url;
    o.timeout = 2.0;
    o.max_fails = -1;
    cli = t_client(&o);                          /* with the /version probe */
    REQUIRE(cli);
    get_fails(cli, ETCD_ECONNECT, "connect");
    CHECK_ANY(etcd_errstr(cli), "refused");
    CHECK_HAS(etcd_errstr(cli), url);
    w = etcd_watch(cli, "foo", NULL);
    CHECK(w == NULL);
    etcd_watchcancel(w);
    CHECK_INT(etcd_errcode(cli), ETCD_ECONNECT);
    CHECK_HAS(etcd_errstr(cli), "connect");
    etcd_free(cli);
}

static void test_etimeout_silent_listener(void)
{
    char url[64];
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    double t0;
    int port = 0, fd = test_silent_listener(&port);
    REQUIRE(fd >= 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    memset(&o, 0, sizeof o);
    o.http_host = url;
    o.api_prefix = "/v3";
    o.timeout = 0.3;
    o.max_fails = -1;
    cli = t_client(&o);
    if (!cli) { close(fd); REQUIRE(cli); }
    t0 = test_now();
    r = etcd_get(cli, "foo", NULL);
    CHECK_TIME(test_now() - t0, 0.25, 1.5);
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_INT(etcd_errcode(cli), ETCD_ETIMEOUT);
    CHECK_STR(etcd_errstr(cli), "timeout");
    etcd_free(cli);
    close(fd);
}

/* Two refused ports, max_fails 1, no retry: each call takes one endpoint
   out (ECONNECT, naming it); then none is left (ENOHEALTHY). */
static void test_enohealthy_all_down(void)
{
    char url[2][64], hosts[140], want[160];
    const char *p;
    etcd_opts o;
    etcd *cli;
    double next = -1;
    int i, port[2];
    for (i = 0; i < 2; i++) {
        int tries = 0;
        do port[i] = test_free_port(); while (i && port[1] == port[0] && ++tries < 10);
        REQUIRE(port[i] > 0);
        snprintf(url[i], sizeof url[i], "http://127.0.0.1:%d", port[i]);
    }
    REQUIRE(strcmp(url[0], url[1]) != 0);
    snprintf(hosts, sizeof hosts, "%s,%s", url[0], url[1]);
    memset(&o, 0, sizeof o);
    o.http_host = hosts;
    o.api_prefix = "/v3";
    o.max_fails = 1;
    o.fail_timeout = 10.0;
    cli = t_client(&o);
    REQUIRE(cli);
    for (i = 0; i < 2; i++) {           /* no retry: one endpoint per call */
        snprintf(want, sizeof want, "%s: connect: ", url[i]);
        get_fails(cli, ETCD_ECONNECT, want);
        CHECK(!etcd_endpoint_healthy(cli, url[i]));
    }
    get_fails(cli, ETCD_ENOHEALTHY, NO_HEALTHY);
    CHECK_PREFIX(etcd_errstr(cli), NO_HEALTHY " (last: ");
    snprintf(want, sizeof want, "(last: %s: connect: ", url[0]);   /* the first back */
    CHECK_HAS(etcd_errstr(cli), want);
    CHECK_HAS(etcd_errstr(cli), "; next try in ");
    p = strstr(etcd_errstr(cli), "next try in ");
    if (p) CHECK(sscanf(p, "next try in %lf s)", &next) == 1);
    CHECK(next > 8.0 && next <= 10.0);
    etcd_free(cli);
}

/* ------------------------------------------------------------------------
   ETCD_ETRANSPORT
   ------------------------------------------------------------------------ */

static void test_etransport_closed_after_head(void)
{
    raw_get_case(h_raw_close, JSON_HEAD "Content-Length: 100\r\n\r\n", 0, ETCD_ETRANSPORT,
                 "truncated");
}

static void test_etransport_truncated_body(void)
{
    raw_get_case(h_raw_close, JSON_HEAD "Content-Length: 100\r\n\r\n{\"header\":{\"revision\":",
                 0, ETCD_ETRANSPORT, "in the middle of the body");
}

static void test_etransport_closed_before_answer(void)
{
    raw_get_case(h_raw_close, "", 0, ETCD_ETRANSPORT, "closed the connection");
}

static void test_etransport_watch_closed(void)
{
    wplan closed = { 2, { WATCH_CREATED, NULL } };
    wplan ended = { 1, { WATCH_CREATED, NULL } };
    watch_case(&closed, false, 0, ETCD_ETRANSPORT, "closed by the server");
    watch_case(&ended, false, 0, ETCD_ETRANSPORT, "ended by the server");
}

/* ------------------------------------------------------------------------
   ETCD_EPROTO
   ------------------------------------------------------------------------ */

static void test_eproto_bad_status_line(void)
{
    raw_get_case(h_raw, "HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\n{}", 0, ETCD_EPROTO,
                 "bad status line");
}

static void test_eproto_malformed_json(void)
{
    raw_get_case(h_raw, JSON_HEAD "Content-Length: 8\r\n\r\n{\"kvs\":[", 0, ETCD_EPROTO,
                 "malformed JSON");
}

static void test_eproto_wrong_shape(void)
{
    raw_get_case(h_raw, JSON_HEAD "Content-Length: 9\r\n\r\n{\"kvs\":5}", 0, ETCD_EPROTO,
                 "\"kvs\" has the wrong type");
}

static void test_eproto_bad_chunked(void)
{
    raw_get_case(h_raw, JSON_HEAD "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 0,
                 ETCD_EPROTO, "chunk");
}

static void test_eproto_watch_not_object(void)
{
    wplan text = { 0, { WATCH_CREATED, "hello\n", NULL } };
    wplan array = { 0, { WATCH_CREATED, "[1,2]\n", NULL } };
    watch_case(&text, false, 0, ETCD_EPROTO, "not a JSON object");
    watch_case(&array, false, 0, ETCD_EPROTO, "not an object");
}

/* ------------------------------------------------------------------------
   ETCD_ETOOLARGE: max_response 1024, 4 KiB bodies
   ------------------------------------------------------------------------ */

static void test_etoolarge_content_length(void)
{
    static char big[BIG + 1], raw[BIG + 200];
    make_big(big, BIG);
    snprintf(raw, sizeof raw, JSON_HEAD "Content-Length: %d\r\n\r\n%s", BIG, big);
    raw_get_case(h_raw, raw, MAX_RESPONSE, ETCD_ETOOLARGE, "max_response");
    /* the same body fits the default max_response */
    {
        fs_server *s = fs_start(FS_TCP4, NULL, h_raw, raw);
        etcd *cli;
        etcd_res *r = NULL;
        REQUIRE(s);
        cli = fake_client(s, 0);
        if (cli) r = etcd_get(cli, "foo", NULL);
        CHECK(r != NULL && r->status == 200 && r->body_len == BIG);
        etcd_res_free(r);
        CHECK_INT(etcd_errcode(cli), ETCD_OK);
        etcd_free(cli);
        fs_stop(s);
    }
}

static void test_etoolarge_chunked(void)
{
    static char big[BIG + 1], raw[BIG + 400];
    size_t n, i;
    make_big(big, BIG);
    n = (size_t)snprintf(raw, sizeof raw, JSON_HEAD "Transfer-Encoding: chunked\r\n\r\n");
    for (i = 0; i < BIG; i += 1024)
        n += (size_t)snprintf(raw + n, sizeof raw - n, "400\r\n%.1024s\r\n", big + i);
    snprintf(raw + n, sizeof raw - n, "0\r\n\r\n");
    raw_get_case(h_raw, raw, MAX_RESPONSE, ETCD_ETOOLARGE, "max_response");
}

static void test_etoolarge_watch_message(void)
{
    static char msg[BIG + 2];
    static const char head[] = "{\"result\":{" HDR ",\"pad\":\"";
    wplan p = { 0, { WATCH_CREATED, WAIT_GO, msg, NULL } };
    size_t h = sizeof head - 1;
    memcpy(msg, head, h);
    memset(msg + h, 'x', BIG - h - 4);
    memcpy(msg + BIG - 4, "\"}}\n", 5);
    watch_case(&p, true, MAX_RESPONSE, ETCD_ETOOLARGE, "max_response");
}

/* ------------------------------------------------------------------------
   ETCD_ESERVER, ETCD_EAUTH / ETCD_ECANCELED of refused watches, etcd 3.6
   ------------------------------------------------------------------------ */

static void test_eserver_503(void)
{
    answer a = { 503, ERR_503 };
    fs_server *s = fs_start(FS_TCP4, NULL, h_answer, &a);
    etcd *cli;
    REQUIRE(s);
    cli = fake_client(s, 0);
    if (cli) {
        get_fails(cli, ETCD_ESERVER, "HTTP 503");
        CHECK_STR(etcd_errstr(cli), "HTTP 503: " MSG_LEADER);
    }
    CHECK(cli != NULL);
    etcd_free(cli);
    fs_stop(s);
}

static void test_eserver_watch_stream_error(void)
{
    wplan v34 = { 0, { WATCH_CREATED, "{\"error\":{\"grpc_code\":14,\"http_code\":503,"
                       "\"message\":\"etcdserver: no leader\",\"http_status\":\"Service Unavailable\"}}\n",
                       NULL } };
    wplan v36 = { 0, { WATCH_CREATED, "{\"error\":{\"code\":14,\"message\":\"etcdserver: no leader\","
                       "\"details\":[]}}\n", NULL } };
    watch_case(&v34, false, 0, ETCD_ESERVER, "etcdserver: no leader");
    watch_case(&v36, false, 0, ETCD_ESERVER, "etcdserver: no leader");
    watch_case(&v36, false, 0, ETCD_ESERVER, "code 14");
}

static void test_eauth_watch_refused_401(void)
{
    watch_refused_case(401, "{\"error\":\"etcdserver: invalid auth token\",\"code\":16,"
                       "\"message\":\"etcdserver: invalid auth token\"}", ETCD_EAUTH,
                       "watch refused: HTTP 401");
}

static void test_ecanceled_watch_refused_400(void)
{
    watch_refused_case(400, "{\"error\":\"bad watch\",\"code\":3,\"message\":\"bad watch\"}",
                       ETCD_ECANCELED, "watch refused: HTTP 400");
}

/* A member shutting down answers a watch with the gateway's 408 "the
   client connection is closing": its trouble (ESERVER, counted), so with
   retry the watch opens on the next member. */
#define GRPC_CLOSING "{\"error\":\"grpc: the client connection is closing\",\"code\":1," \
                     "\"message\":\"grpc: the client connection is closing\"}"
static void test_eserver_watch_408_next_member(void)
{
    answer a = { 408, GRPC_CLOSING };
    wplan p = { 0, { WATCH_CREATED, NULL } };
    fs_server *sa = fs_start(FS_TCP4, NULL, h_answer, &a), *sb = fs_start(FS_TCP4, NULL, h_watch, &p);
    char hosts[700];
    etcd_opts o;
    etcd *cli;
    etcd_watcher *w = NULL;
    etcd_res *m = NULL;
    REQUIRE(sa && sb);
    snprintf(hosts, sizeof hosts, "%s,%s", sa->url, sb->url);
    memset(&o, 0, sizeof o);
    o.http_host = hosts;
    o.api_prefix = "/v3";
    o.timeout = 2.0;
    o.retry = true;
    cli = t_client(&o);
    if (cli) {
        w = etcd_watch(cli, "foo", NULL);
        CHECK(w != NULL);
        m = w ? etcd_watch_next(w) : NULL;
        CHECK(m && m->created);
        CHECK_INT(fs_nreqs(sa), 1);
        CHECK_INT(fs_nreqs(sb), 1);
        CHECK(!etcd_endpoint_healthy(cli, sa->url));
        etcd_res_free(m);
        etcd_watchcancel(w);
        etcd_free(cli);
    }
    CHECK(cli != NULL);
    cli = fake_client(sa, 0);                     /* alone: a server error, not a refusal */
    if (cli) {
        w = etcd_watch(cli, "foo", NULL);
        CHECK(w == NULL);
        CHECK_STR(etcd_err_name(etcd_errcode(cli)), "ETCD_ESERVER");
        CHECK_HAS(etcd_errstr(cli), "HTTP 408: grpc: the client connection is closing");
        etcd_watchcancel(w);
    }
    CHECK(cli != NULL);
    etcd_free(cli);
    fs_stop(sa);
    fs_stop(sb);
}

static void test_ecanceled_watch_fake(void)
{
    wplan p = { 0, { WATCH_CREATED, "{\"result\":{" HDR ",\"canceled\":true,"
                     "\"cancel_reason\":\"some reason\"}}\n", NULL } };
    fs_server *s = fs_start(FS_TCP4, NULL, h_watch, &p);
    etcd *cli;
    etcd_watcher *w = NULL;
    etcd_res *r;
    REQUIRE(s);
    cli = fake_client(s, 0);
    if (cli) w = open_watch(cli, 2.0);
    CHECK(w != NULL);
    if (w) {
        r = etcd_watch_next(w);              /* the canceled message itself */
        CHECK(r != NULL && r->canceled);
        if (r) CHECK_STR(r->cancel_reason, "some reason");
        etcd_res_free(r);
        watch_ends(w, ETCD_ECANCELED, "some reason");
    }
    etcd_watchcancel(w);
    etcd_free(cli);
    fs_stop(s);
}

/* etcd 3.6 writes {"code":N,"message":"..."}: still a result, ETCD_OK. */
static void test_ok_etcd36_error_body(void)
{
    answer a = { 400, "{\"code\":3,\"message\":\"bad thing\",\"details\":[]}" };
    fs_server *s = fs_start(FS_TCP4, NULL, h_answer, &a);
    etcd *cli;
    etcd_res *r = NULL;
    REQUIRE(s);
    cli = fake_client(s, 0);
    if (cli) {
        earg(cli, etcd_get(cli, "", NULL), "key should not be empty");   /* a failure first */
        r = etcd_get(cli, "foo", NULL);
        if (!r) fprintf(stderr, "  etcd_get: %s\n", etcd_errstr(cli));
        CHECK(r != NULL);
        if (r) {
            CHECK_INT(r->status, 400);
            CHECK_INT(r->code, 3);
            CHECK_STR(r->error, "bad thing");
            CHECK_STR(r->message, "bad thing");
        }
        CHECK_INT(etcd_errcode(cli), ETCD_OK);
        CHECK_STR(etcd_errstr(cli), "");
    }
    CHECK(cli != NULL);
    etcd_res_free(r);
    etcd_free(cli);
    fs_stop(s);
}

/* A non-JSON error page (a proxy's, or etcd's own text 404) is a result
   too: the body's first line in res->error, ETCD_OK. */
static void test_ok_text_error_page(void)
{
    answer a = { 404, "Not Found\n" };
    fs_server *s = fs_start(FS_TCP4, NULL, h_answer, &a);
    etcd *cli;
    etcd_res *r = NULL;
    REQUIRE(s);
    cli = fake_client(s, 0);
    if (cli) {
        r = etcd_get(cli, "foo", NULL);
        CHECK(r != NULL && r->status == 404);
        if (r) CHECK_STR(r->error, "Not Found");
        CHECK_STR(etcd_err_name(etcd_errcode(cli)), "ETCD_OK");
        CHECK_STR(etcd_errstr(cli), "");
    }
    CHECK(cli != NULL);
    etcd_res_free(r);
    etcd_free(cli);
    fs_stop(s);
}

/* A failure (malformed JSON), then a success: ETCD_OK and "" again. */
static void test_ok_after_eproto(void)
{
    fs_server *s = fs_start(FS_TCP4, NULL, h_bad_then_ok, NULL);
    etcd *cli;
    REQUIRE(s);
    cli = fake_client(s, 0);
    if (cli) {
        get_fails(cli, ETCD_EPROTO, "malformed JSON");
        CHECK(fs_get_ok(cli));
        CHECK_INT(etcd_errcode(cli), ETCD_OK);
        CHECK_STR(etcd_errstr(cli), "");
    }
    CHECK(cli != NULL);
    etcd_free(cli);
    fs_stop(s);
}

/* ------------------------------------------------------------------------
   A real etcd: results, idle watch, compaction; then auth
   ------------------------------------------------------------------------ */

static test_etcd srv;
static etcd *cli;
static bool srv_up, auth_on;

static void test_start_etcd(void)
{
    etcd_opts o;
    REQUIRE(test_etcd_start(&srv, NULL) == 0);
    memset(&o, 0, sizeof o);
    o.timeout = 5.0;
    cli = test_client(&srv, &o);
    REQUIRE(cli);
    srv_up = true;
}

/* etcd's gateway answers an unknown path with a text/plain 404 ("Not
   Found"): a result all the same, ETCD_OK even right after a failure. */
static void test_ok_http_404_result(void)
{
    etcd_res *r;
    earg(cli, etcd_get(cli, NULL, NULL), "key should not be empty");
    r = etcd_request(cli, "/kv/no-such-call", "{}", 0);
    if (!r) fprintf(stderr, "  etcd_request: %s\n", etcd_errstr(cli));
    CHECK(r != NULL && r->status == 404);
    if (r) CHECK_STR(r->error, "Not Found");
    etcd_res_free(r);
    CHECK_STR(etcd_err_name(etcd_errcode(cli)), "ETCD_OK");
    CHECK_STR(etcd_errstr(cli), "");
}

/* A JSON 400 from etcd (a future revision): a result, ETCD_OK. */
static void test_ok_http_400_result(void)
{
    etcd_get_opts go;
    etcd_res *r;
    int64_t rev = test_rev(cli);
    REQUIRE(rev > 0);
    earg(cli, etcd_get(cli, "", NULL), "key should not be empty");
    memset(&go, 0, sizeof go);
    go.revision = rev + 1000;
    r = etcd_get(cli, "/te/k", &go);
    if (!r) fprintf(stderr, "  etcd_get: %s\n", etcd_errstr(cli));
    CHECK(r != NULL && r->status == 400);
    if (r) {
        CHECK_INT(r->code, 11);
        CHECK_HAS(r->error, "future revision");
    }
    etcd_res_free(r);
    CHECK_STR(etcd_err_name(etcd_errcode(cli)), "ETCD_OK");
    CHECK_STR(etcd_errstr(cli), "");
}

/* Bad arguments change nothing in etcd; the next good call is ETCD_OK. */
static void test_ok_after_earg_real(void)
{
    etcd_res *r;
    int64_t rev = test_rev(cli);
    REQUIRE(rev > 0);
    earg(cli, etcd_set(cli, "/te/k", NULL, NULL), "value should not be NULL");
    earg(cli, etcd_set(cli, "/te/k", "not json", NULL), "value is not valid JSON");
    earg(cli, etcd_request(cli, "kv/put", "{}", 0), "path must start with '/'");
    CHECK_INT(test_rev(cli), rev);
    earg(cli, etcd_delete(cli, NULL, NULL), "key should not be empty");
    r = test_ok200(cli, etcd_set(cli, "/te/k", "1", NULL));
    CHECK(r != NULL && r->revision == rev + 1);
    etcd_res_free(r);
    CHECK_INT(etcd_errcode(cli), ETCD_OK);
    CHECK_STR(etcd_errstr(cli), "");
}

/* Nothing happens: "timeout", the stream stays usable; then an event. */
static void test_etimeout_watch_idle(void)
{
    etcd_watch_opts o;
    etcd_watcher *w;
    etcd_res *r;
    double t0;
    int64_t rev;
    memset(&o, 0, sizeof o);
    o.timeout = 0.3;
    w = etcd_watch(cli, "/te/idle", &o);
    REQUIRE(w);
    r = etcd_watch_next(w);
    CHECK(r != NULL && r->created);
    etcd_res_free(r);
    t0 = test_now();
    r = etcd_watch_next(w);
    CHECK_TIME(test_now() - t0, 0.25, 1.5);
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_INT(etcd_watch_errcode(w), ETCD_ETIMEOUT);
    CHECK_STR(etcd_watch_errstr(w), "timeout");
    rev = test_put(cli, "/te/idle", "\"hi\"");
    r = etcd_watch_next(w);
    if (!r) fprintf(stderr, "  etcd_watch_next: %s\n", etcd_watch_errstr(w));
    CHECK(r != NULL && r->nevents == 1);
    if (r && r->nevents == 1) CHECK_INT(r->events[0].kv.mod_revision, rev);
    etcd_res_free(r);
    CHECK_INT(etcd_watch_errcode(w), ETCD_OK);
    CHECK_STR(etcd_watch_errstr(w), "");
    etcd_watchcancel(w);
}

/* A watch from a compacted revision: a canceled message with
   compact_revision, then ETCD_ECOMPACTED. */
static void test_ecompacted_watch(void)
{
    const char *k = "/te/compact";
    etcd_watch_opts o;
    etcd_watcher *w;
    etcd_res *r;
    int64_t r1, r3;
    char body[64];
    int i;
    bool canceled = false;
    r1 = test_put(cli, k, "1");
    test_put(cli, k, "2");
    r3 = test_put(cli, k, "3");
    REQUIRE(r1 > 0 && r3 > r1);
    snprintf(body, sizeof body, "{\"revision\":\"%" PRId64 "\"}", r3);
    r = test_ok200(cli, etcd_request(cli, "/kv/compaction", body, 0));
    REQUIRE(r);
    etcd_res_free(r);
    CHECK_INT(etcd_errcode(cli), ETCD_OK);

    memset(&o, 0, sizeof o);
    o.timeout = 3.0;
    o.start_revision = r1;
    w = etcd_watch(cli, k, &o);
    REQUIRE(w);
    for (i = 0; i < 3 && !canceled; i++) {
        r = etcd_watch_next(w);
        if (!r) { fprintf(stderr, "  etcd_watch_next: %s\n", etcd_watch_errstr(w)); break; }
        if (r->canceled) {
            canceled = true;
            CHECK_INT(r->compact_revision, r3);
            CHECK_INT(r->nevents, 0);
        }
        etcd_res_free(r);
    }
    CHECK(canceled);
    if (canceled) watch_ends(w, ETCD_ECOMPACTED, "compacted");
    etcd_watchcancel(w);
}

/* etcdctl with args, as root:pw when root. */
static int ctl(bool root, const char *const *args)
{
    const char *argv[16];
    char out[2048];
    int n = 0, i, rc;
    if (root) { argv[n++] = "--user"; argv[n++] = "root:pw"; }
    for (i = 0; args[i] && n < 15; i++) argv[n++] = args[i];
    argv[n] = NULL;
    rc = test_etcdctl(&srv, out, sizeof out, argv);
    if (rc != 0) fprintf(stderr, "  etcdctl %s: exit %d: %s\n", args[0], rc, out);
    return rc;
}

static etcd *auth_client(const char *user, const char *password)
{
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.user = user;
    o.password = password;
    o.timeout = 5.0;
    return test_client(&srv, &o);
}

/* Auth on (root:pw, and lu:lpw who may use /limited/ only); a wrong
   password is ETCD_EAUTH and sends nothing but the authenticate. */
static void test_eauth_wrong_password(void)
{
    static const char *const add_root[] = { "user", "add", "root:pw", NULL };
    static const char *const root_role[] = { "role", "add", "root", NULL };
    static const char *const grant_root[] = { "user", "grant-role", "root", "root", NULL };
    static const char *const enable[] = { "auth", "enable", NULL };
    static const char *const add_role[] = { "role", "add", "lim", NULL };
    static const char *const grant[] = { "role", "grant-permission", "lim", "readwrite",
                                         "/limited/", "--prefix=true", NULL };
    static const char *const add_lu[] = { "user", "add", "lu:lpw", NULL };
    static const char *const grant_role[] = { "user", "grant-role", "lu", "lim", NULL };
    etcd *bad, *root;
    etcd_res *r;
    int64_t rev;
    REQUIRE(ctl(false, add_root) == 0 && ctl(false, root_role) == 0 &&
            ctl(false, grant_root) == 0 && ctl(false, enable) == 0);
    auth_on = true;
    REQUIRE(ctl(true, add_role) == 0 && ctl(true, grant) == 0 && ctl(true, add_lu) == 0 &&
            ctl(true, grant_role) == 0);
    root = auth_client("root", "pw");
    REQUIRE(root);
    rev = test_rev(root);
    bad = auth_client("root", "wrong");
    if (!bad) etcd_free(root);
    REQUIRE(bad);
    r = etcd_set(bad, "/te/auth", "1", NULL);
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_INT(etcd_errcode(bad), ETCD_EAUTH);
    CHECK_PREFIX(etcd_errstr(bad), "authentication failed: ");
    CHECK_HAS(etcd_errstr(bad), "invalid user ID or password");
    CHECK_INT(test_rev(root), rev);             /* the set was not sent */
    /* the client without credentials: a result (etcd's 401), not a failure */
    r = etcd_get(cli, "/te/auth", NULL);
    CHECK(r != NULL && r->status >= 400 && r->status < 500);
    etcd_res_free(r);
    CHECK_INT(etcd_errcode(cli), ETCD_OK);
    etcd_free(bad);
    etcd_free(root);
}

/* etcd cancels a watch for itself: lu may not read /outside. */
static void test_ecanceled_permission_denied(void)
{
    etcd *lu = auth_client("lu", "lpw");
    etcd_watch_opts o;
    etcd_watcher *w;
    etcd_res *r;
    int i;
    bool canceled = false;
    REQUIRE(lu);
    memset(&o, 0, sizeof o);
    o.timeout = 3.0;
    w = etcd_watch(lu, "/outside", &o);
    if (!w) { fprintf(stderr, "  etcd_watch: %s\n", etcd_errstr(lu)); etcd_free(lu); }
    REQUIRE(w);
    for (i = 0; i < 2 && !canceled; i++) {
        r = etcd_watch_next(w);
        if (!r) { fprintf(stderr, "  etcd_watch_next: %s\n", etcd_watch_errstr(w)); break; }
        canceled = r->canceled;
        if (canceled) CHECK_HAS(r->cancel_reason, "permission denied");
        etcd_res_free(r);
    }
    CHECK(canceled);
    if (canceled) watch_ends(w, ETCD_ECANCELED, "permission denied");
    etcd_watchcancel(w);
    etcd_free(lu);
}

/* Three messages of 600 bytes, one chunk each as etcd frames them, in one
   write: each is under max_response (1024) though the three are not, so
   all three come (the cap is per message; found by fuzz/http). */
#define MSG600_PAD 530
static void h_three_in_one_write(fs_conn *c)
{
    static char msg[700], out[4096];
    size_t n = 0, m;
    int k;
    if (fs_read_req(c) < 0) return;
    m = (size_t)snprintf(msg, sizeof msg, "{\"result\":{" HDR ",\"pad\":\"%0*d\"}}\n", MSG600_PAD, 0);
    for (k = 0; k < 3; k++) n += (size_t)snprintf(out + n, sizeof out - n, "%zx\r\n%s\r\n", m, msg);
    if (fs_sends(c, JSON_HEAD "Transfer-Encoding: chunked\r\n\r\n") != 0) return;
    fs_sleep_ms(100);
    if (fs_send(c, out, n) != 0) return;
    fs_wait_close(c, 5.0);
}

static void test_ok_watch_messages_capped_one_by_one(void)
{
    fs_server *s = fs_start(FS_TCP4, NULL, h_three_in_one_write, NULL);
    etcd *cli;
    etcd_watcher *w = NULL;
    etcd_watch_opts o;
    int k, got = 0;
    REQUIRE(s);
    cli = fake_client(s, MAX_RESPONSE);
    memset(&o, 0, sizeof o);
    o.timeout = 2.0;
    if (cli) w = etcd_watch(cli, "foo", &o);
    CHECK(w != NULL);
    for (k = 0; w && k < 3; k++) {
        etcd_res *r = etcd_watch_next(w);
        if (!r) fprintf(stderr, "  message %d: %s\n", k, etcd_watch_errstr(w));
        else got++;
        CHECK(r == NULL || r->body_len > 500);
        etcd_res_free(r);
    }
    CHECK_INT(got, 3);
    etcd_watchcancel(w);
    etcd_free(cli);
    fs_stop(s);
}

/* ------------------------------------------------------------------------
   ETCD_ETLS: a TLS etcd, trusted with the wrong CA
   ------------------------------------------------------------------------ */

static test_certs certs;
static test_etcd tls_srv;

static void test_etls_wrong_ca(void)
{
    etcd_opts o;
    etcd *bad, *good;
    etcd_res *r;
    REQUIRE(test_certs_make(&certs) == 0);
    REQUIRE(test_etcd_start_tls(&tls_srv, NULL, certs.ca, certs.server_cert, certs.server_key,
                                false) == 0);
    memset(&o, 0, sizeof o);
    o.ssl_ca_path = certs.wrong_ca;
    o.timeout = 5.0;
    bad = test_client(&tls_srv, &o);
    REQUIRE(bad);
    get_fails(bad, ETCD_ETLS, "certificate verification failed");
    etcd_free(bad);
    /* the right CA works: the failure was the certificate */
    good = test_client(&tls_srv, NULL);
    REQUIRE(good);
    r = test_ok200(good, etcd_get(good, "foo", NULL));
    CHECK(r != NULL);
    etcd_res_free(r);
    CHECK_INT(etcd_errcode(good), ETCD_OK);
    etcd_free(good);
}

int main(void)
{
    double t0 = test_now();
    /* fakeserver.h helpers this suite has no use for */
    (void)fs_reset; (void)fs_send_slow; (void)fs_free_port; (void)fs_header; (void)fs_get;
    (void)fs_sleep_ms;

    RUN(test_err_names);
    RUN(test_earg_null_handles);
    RUN(test_earg_nothing_sent);
    RUN(test_econnect_refused_port);
    RUN(test_etimeout_silent_listener);
    RUN(test_enohealthy_all_down);
    RUN(test_etransport_closed_after_head);
    RUN(test_etransport_truncated_body);
    RUN(test_etransport_closed_before_answer);
    RUN(test_etransport_watch_closed);
    RUN(test_eproto_bad_status_line);
    RUN(test_eproto_malformed_json);
    RUN(test_eproto_wrong_shape);
    RUN(test_eproto_bad_chunked);
    RUN(test_eproto_watch_not_object);
    RUN(test_etoolarge_content_length);
    RUN(test_etoolarge_chunked);
    RUN(test_ok_watch_messages_capped_one_by_one);
    RUN(test_etoolarge_watch_message);
    RUN(test_eserver_503);
    RUN(test_eserver_watch_stream_error);
    RUN(test_eauth_watch_refused_401);
    RUN(test_ecanceled_watch_refused_400);
    RUN(test_eserver_watch_408_next_member);
    RUN(test_ecanceled_watch_fake);
    RUN(test_ok_etcd36_error_body);
    RUN(test_ok_text_error_page);
    RUN(test_ok_after_eproto);

    RUN(test_start_etcd);
    if (srv_up) {
        RUN(test_ok_http_404_result);
        RUN(test_ok_http_400_result);
        RUN(test_ok_after_earg_real);
        RUN(test_etimeout_watch_idle);
        RUN(test_ecompacted_watch);
        RUN(test_eauth_wrong_password);      /* turns auth on: keep these last */
        if (auth_on) RUN(test_ecanceled_permission_denied);
    }
    etcd_free(cli);
    test_etcd_stop(&srv);

    RUN(test_etls_wrong_ca);
    test_etcd_stop(&tls_srv);
    test_certs_remove(&certs);
    fprintf(stderr, "  (suite took %.1f s)\n", test_now() - t0);
    return test_summary();
}
