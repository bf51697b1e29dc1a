#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
/* test_auth.c - etcd auth (opts.user / opts.password): API.md "Client",
   README "Auth", gateway-notes "Auth".

   First against scripted fake servers (tests/fakeserver.h), which show the
   exact requests: the token fetched once, sent raw as Authorization (no
   "Bearer") on every request and watch, never on /auth/authenticate; a
   refused authentication that sends nothing else and asks etcd at most once
   a second; a rejected token renewed once and the request sent again once;
   a watch canceled for its token reopened once. Then against real etcd
   members (tests/harness.h) with auth set up by etcdctl: every call as
   root, a wrong password, auth not enabled, a user limited to a prefix,
   tokens that expire after 2 s (--auth-token-ttl 2). */
#include "harness.h"
#include "fakeserver.h"
#include <stdbool.h>

/* ------------------------------------------------------------------------
   Canned etcd answers
   ------------------------------------------------------------------------ */

#define HDR FS_HDR("42")
#define OK_BODY "{" HDR "}"
#define WATCH_CREATED "{\"result\":{" HDR ",\"created\":true}}\n"
#define WATCH_EVENT "{\"result\":{" HDR ",\"events\":[{\"kv\":{\"key\":\"Zm9v\"," \
    "\"create_revision\":\"43\",\"mod_revision\":\"43\",\"version\":\"1\",\"value\":\"ODA4MA==\"}}]}}\n"
#define WATCH_TOKEN_CANCELED "{\"result\":{\"header\":{},\"created\":true,\"canceled\":true," \
    "\"cancel_reason\":\"etcdserver: invalid auth token\"}}\n"

#define MSG_WRONG_PW "etcdserver: authentication failed, invalid user ID or password"
#define ERR_WRONG_PW "{\"error\":\"" MSG_WRONG_PW "\",\"message\":\"" MSG_WRONG_PW "\",\"code\":3}"
#define MSG_NOT_ENABLED "etcdserver: authentication is not enabled"
#define ERR_NOT_ENABLED "{\"error\":\"" MSG_NOT_ENABLED "\",\"message\":\"" MSG_NOT_ENABLED "\",\"code\":9}"
#define MSG_BAD_TOKEN "etcdserver: invalid auth token"
#define ERR_BAD_TOKEN "{\"error\":\"" MSG_BAD_TOKEN "\",\"message\":\"" MSG_BAD_TOKEN "\",\"code\":16}"
#define MSG_OLD_STORE "etcdserver: revision of auth store is old"
#define ERR_OLD_STORE "{\"error\":\"" MSG_OLD_STORE "\",\"message\":\"" MSG_OLD_STORE "\",\"code\":3}"
#define MSG_NO_USER "etcdserver: user name is empty"
#define ERR_NO_USER "{\"error\":\"" MSG_NO_USER "\",\"message\":\"" MSG_NO_USER "\",\"code\":3}"
#define ERR_503 "{\"error\":\"etcdserver: leader changed\"," \
    "\"message\":\"etcdserver: leader changed\",\"code\":14}"
#define AUTH_FAILED "authentication failed: "

/* ------------------------------------------------------------------------
   Helpers
   ------------------------------------------------------------------------ */

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

static void sleep_s(double s) { fs_sleep_us((long)(s * 1e6)); }

/* A JSON string's inside (valid JSON, escapes and all) decoded to UTF-8. */
static void json_unescape(const char *s, size_t n, char *out, size_t outsz)
{
    size_t a, o = 0;
    for (a = 0; a < n && o + 5 < outsz; a++) {
        unsigned long cp;
        if (s[a] != '\\') { out[o++] = s[a]; continue; }
        a++;
        switch (s[a]) {
        case 'b': out[o++] = '\b'; break;
        case 'f': out[o++] = '\f'; break;
        case 'n': out[o++] = '\n'; break;
        case 'r': out[o++] = '\r'; break;
        case 't': out[o++] = '\t'; break;
        case 'u':
            cp = strtoul((char[5]){ s[a + 1], s[a + 2], s[a + 3], s[a + 4], 0 }, NULL, 16);
            a += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && a + 6 < n && s[a + 1] == '\\' && s[a + 2] == 'u') {
                unsigned long lo = strtoul((char[5]){ s[a + 3], s[a + 4], s[a + 5], s[a + 6], 0 },
                                           NULL, 16);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                a += 6;
            }
            if (cp < 0x80) out[o++] = (char)cp;
            else if (cp < 0x800) {
                out[o++] = (char)(0xC0 | (cp >> 6)); out[o++] = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                out[o++] = (char)(0xE0 | (cp >> 12)); out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                out[o++] = (char)(0x80 | (cp & 0x3F));
            } else {
                out[o++] = (char)(0xF0 | (cp >> 18)); out[o++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                out[o++] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[o++] = (char)(0x80 | (cp & 0x3F));
            }
            break;
        default: out[o++] = s[a]; break;        /* " \ / */
        }
    }
    out[o] = '\0';
}

/* The top-level string member `name` of JSON text, unescaped into out.
   1 found, 0 not, -1 not valid JSON. */
static int json_member(const char *text, size_t len, const char *name, char *out, size_t outsz)
{
    long n = etcd_json_parse(text, len, NULL, 0);
    etcd_json_tok *t;
    int found = 0;
    if (n <= 0) return -1;
    t = (etcd_json_tok *)malloc((size_t)n * sizeof *t);
    if (!t || etcd_json_parse(text, len, t, (size_t)n) != n) { free(t); return -1; }
    /* keys of the top-level object are the STRING tokens right after a
       member's end; walk members by skipping nested tokens */
    if (t[0].type == ETCD_JSON_OBJECT) {
        long j = 1;
        size_t k;
        for (k = 0; k < t[0].size && j + 1 < n; k++) {
            const etcd_json_tok *key = &t[j], *val = &t[j + 1];
            long skip = j + 2;
            size_t end = val->end;
            while (skip < n && t[skip].start < end) skip++;   /* nested tokens of val */
            if (key->end - key->start == strlen(name) &&
                memcmp(text + key->start, name, key->end - key->start) == 0 &&
                val->type == ETCD_JSON_STRING) {
                json_unescape(text + val->start, val->end - val->start, out, outsz);
                found = 1;
                break;
            }
            j = skip;
        }
    }
    free(t);
    return found;
}

/* ------------------------------------------------------------------------
   The fake etcd with auth
   ------------------------------------------------------------------------ */

typedef struct {
    int auth_status;            /* 200: the Nth authenticate gets token "tok.N";
                                   else this status with auth_body */
    const char *auth_body;
    int refuse_upto;            /* with auth_status != 200: only authenticates 1 .. refuse_upto
                                   are refused (0: all); later ones get tokens */
    int reject_upto;            /* requests with tok.1 .. tok.reject_upto are refused */
    int reject_status;          /* ... with this status and body (a watch: in the stream,
                                   as etcd does: 200 + a canceled "created" message) */
    const char *reject_body;
} auth_script;

/* How many /auth/authenticate requests the server has seen up to record i. */
static int auths_upto(fs_server *s, int i)
{
    int k, n = 0;
    for (k = 0; k <= i; k++) {
        const fs_req *r = fs_get(s, k);
        if (r && ends_with(r->target, "/auth/authenticate")) n++;
    }
    return n;
}

static int auth_count(fs_server *s) { return auths_upto(s, fs_nreqs(s) - 1); }

/* N of "Authorization: tok.N"; 0 without one, -1 for anything else. */
static int token_no(const fs_req *r)
{
    char v[128];
    int n = 0;
    char extra;
    if (fs_header(r, "authorization", v, sizeof v) == 0) return 0;
    if (sscanf(v, "tok.%d%c", &n, &extra) != 1 || n <= 0) return -1;
    return n;
}

static void h_auth(fs_conn *c)
{
    const auth_script *sc = (const auth_script *)c->srv->arg;
    int i;
    while ((i = fs_read_req(c)) >= 0) {
        const fs_req *r = fs_get(c->srv, i);
        int tok;
        bool refused;
        if (ends_with(r->target, "/auth/authenticate")) {
            if (sc->auth_status == 200 ||
                (sc->refuse_upto > 0 && auths_upto(c->srv, i) > sc->refuse_upto)) {
                char body[128];
                snprintf(body, sizeof body, "{\"header\":{},\"token\":\"tok.%d\"}",
                         auths_upto(c->srv, i));
                fs_respond(c, 200, "", body);
            } else {
                fs_respond(c, sc->auth_status, "", sc->auth_body);
            }
            continue;
        }
        if (strcmp(r->method, "GET") == 0 && strcmp(r->target, "/version") == 0) {
            fs_respond(c, 200, "", FS_VERSION_34);
            continue;
        }
        tok = token_no(r);
        refused = tok < 0 || (tok > 0 && tok <= sc->reject_upto);
        if (ends_with(r->target, "/watch")) {
            if (fs_sends(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n") != 0) return;
            if (refused || tok == 0) {
                fs_chunk(c, WATCH_TOKEN_CANCELED, strlen(WATCH_TOKEN_CANCELED));
            } else {
                fs_chunk(c, WATCH_CREATED, strlen(WATCH_CREATED));
                fs_sleep_ms(5);
                fs_chunk(c, WATCH_EVENT, strlen(WATCH_EVENT));
            }
            fs_wait_close(c, 10.0);
            return;
        }
        if (tok == 0) fs_respond(c, 400, "", ERR_NO_USER);
        else if (refused) fs_respond(c, sc->reject_status, "", sc->reject_body);
        else if (ends_with(r->target, "/kv/range")) fs_respond(c, 200, "", FS_RANGE_BODY);
        else fs_respond(c, 200, "", OK_BODY);
    }
}

static etcd_opts fake_opts(const fs_server *s, const char *user, const char *password)
{
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.http_host = s->url;
    o.api_prefix = "/v3";
    o.timeout = 2.0;
    o.user = user;
    o.password = password;
    return o;
}

static void print_reqs(fs_server *s)
{
    int i, n = fs_nreqs(s);
    fprintf(stderr, "  requests (%d):\n", n);
    for (i = 0; i < n; i++) {
        const fs_req *r = fs_get(s, i);
        char v[128];
        int has = fs_header(r, "authorization", v, sizeof v);
        fprintf(stderr, "    %s %s  Authorization: %s\n", r->method, r->target, has ? v : "(none)");
    }
}

/* request i is target (suffix) with Authorization tok (NULL: none) */
static void check_req(fs_server *s, int i, const char *target, const char *tok)
{
    const fs_req *q = fs_get(s, i);
    char v[128];
    CHECK(q != NULL);
    if (!q) return;
    if (!ends_with(q->target, target))
        fprintf(stderr, "  request %d is %s, not ...%s\n", i, q->target, target);
    CHECK(ends_with(q->target, target));
    if (tok) {
        CHECK_INT(fs_header(q, "authorization", v, sizeof v), 1);
        CHECK_STR(v, tok);                            /* the raw token: no "Bearer" */
    } else {
        CHECK_INT(fs_header(q, "authorization", NULL, 0), 0);
    }
}

/* ------------------------------------------------------------------------
   Fake server: the token and the Authorization header
   ------------------------------------------------------------------------ */

static void test_fake_token_header(void)
{
    static const auth_script sc = { 200, NULL, 0, 0, 0, NULL };
    fs_server *s = fs_start(FS_TCP4, NULL, h_auth, &sc);
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    etcd_watcher *w;
    etcd_watch_opts wo;
    const fs_req *q;
    char v[128];
    int i;
    REQUIRE(s);
    o = fake_opts(s, "root", "pw");
    cli = t_client(&o);
    if (!cli) { fs_stop(s); REQUIRE(cli); }

    /* nothing is sent before the first call */
    CHECK_INT(fs_nreqs(s), 0);
    CHECK(fs_get_ok(cli));
    CHECK_STR(etcd_errstr(cli), "");
    CHECK_INT(fs_nreqs(s), 2);
    q = fs_get(s, 0);
    CHECK(q != NULL);
    if (q) {
        CHECK_STR(q->method, "POST");
        CHECK_STR(q->target, "/v3/auth/authenticate");
        CHECK_INT(fs_header(q, "authorization", NULL, 0), 0);
        CHECK_INT(json_member(q->body, q->body_len, "name", v, sizeof v), 1);
        CHECK_STR(v, "root");
        CHECK_INT(json_member(q->body, q->body_len, "password", v, sizeof v), 1);
        CHECK_STR(v, "pw");
    }
    check_req(s, 1, "/v3/kv/range", "tok.1");
    q = fs_get(s, 1);
    if (q) CHECK_HAS(q->head, "\r\nAuthorization: tok.1\r\n");

    /* every later request carries the same token; no new authenticate */
    r = etcd_set(cli, "foo", "1", NULL);
    CHECK(r != NULL && r->status == 200);
    etcd_res_free(r);
    r = etcd_grant(cli, 60, 0);
    CHECK(r != NULL && r->status == 200);
    etcd_res_free(r);
    r = etcd_request(cli, "/maintenance/status", NULL, 0);
    CHECK(r != NULL && r->status == 200);
    etcd_res_free(r);
    r = etcd_version(cli);
    CHECK(r != NULL && r->status == 200);
    etcd_res_free(r);
    memset(&wo, 0, sizeof wo);
    wo.timeout = 2.0;
    w = etcd_watch(cli, "foo", &wo);
    if (!w) fprintf(stderr, "  etcd_watch: %s\n", etcd_errstr(cli));
    CHECK(w != NULL);
    if (w) {
        r = etcd_watch_next(w);
        CHECK(r != NULL && r->created && !r->canceled);
        etcd_res_free(r);
        r = etcd_watch_next(w);
        CHECK(r != NULL && r->nevents == 1);
        etcd_res_free(r);
    }
    etcd_watchcancel(w);
    CHECK(fs_get_ok(cli));
    CHECK_INT(fs_nreqs(s), 8);
    CHECK_INT(auth_count(s), 1);
    for (i = 1; i < fs_nreqs(s); i++) {
        q = fs_get(s, i);
        CHECK_INT(fs_header(q, "authorization", v, sizeof v), 1);
        CHECK_STR(v, "tok.1");
    }
    if (t__cur_failed) print_reqs(s);
    etcd_free(cli);
    fs_stop(s);
}

/* Without user/password no authenticate and no Authorization header. */
static void test_fake_no_credentials(void)
{
    static const auth_script sc = { 200, NULL, 0, 0, 0, NULL };
    fs_server *s = fs_start(FS_TCP4, NULL, h_auth, &sc);
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    REQUIRE(s);
    o = fake_opts(s, NULL, NULL);
    cli = t_client(&o);
    if (!cli) { fs_stop(s); REQUIRE(cli); }
    r = etcd_get(cli, "foo", NULL);
    CHECK(r != NULL && r->status == 400);      /* the fake's "user name is empty" */
    etcd_res_free(r);
    CHECK_INT(fs_nreqs(s), 1);
    check_req(s, 0, "/v3/kv/range", NULL);
    etcd_free(cli);
    fs_stop(s);
}

/* ------------------------------------------------------------------------
   Fake server: refused authentication
   ------------------------------------------------------------------------ */

static void refused_case(int status, const char *body, const char *msg)
{
    auth_script sc;
    fs_server *s;
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    etcd_watcher *w;
    char first[256];
    double t0;
    int i;
    memset(&sc, 0, sizeof sc);
    sc.auth_status = status;
    sc.auth_body = body;
    s = fs_start(FS_TCP4, NULL, h_auth, &sc);
    REQUIRE(s);
    o = fake_opts(s, "root", "wrong");
    cli = t_client(&o);
    if (!cli) { fs_stop(s); REQUIRE(cli); }

    t0 = fs_now();
    r = etcd_get(cli, "foo", NULL);
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_PREFIX(etcd_errstr(cli), AUTH_FAILED);
    CHECK_HAS(etcd_errstr(cli), msg);
    snprintf(first, sizeof first, "%s", etcd_errstr(cli));
    /* the request itself was not sent */
    CHECK_INT(fs_nreqs(s), 1);
    check_req(s, 0, "/v3/auth/authenticate", NULL);
    /* not an endpoint failure */
    CHECK(etcd_endpoint_healthy(cli, s->url));

    /* no flood: more calls within the second ask etcd nothing */
    for (i = 0; i < 10; i++) {
        r = i % 3 == 0 ? etcd_get(cli, "foo", NULL) :
            i % 3 == 1 ? etcd_set(cli, "foo", "1", NULL) : etcd_grant(cli, 60, 0);
        CHECK(r == NULL);
        etcd_res_free(r);
        CHECK_STR(etcd_errstr(cli), first);
    }
    w = etcd_watch(cli, "foo", NULL);
    CHECK(w == NULL);
    CHECK_PREFIX(etcd_errstr(cli), AUTH_FAILED);
    etcd_watchcancel(w);
    CHECK_TIME(fs_now() - t0, 0, 0.9);
    CHECK_INT(auth_count(s), 1);
    CHECK_INT(fs_nreqs(s), 1);
    CHECK(etcd_endpoint_healthy(cli, s->url));

    /* later on: still refused, still no request loop */
    if (fs_now() - t0 < 1.2) sleep_s(1.2 - (fs_now() - t0));
    r = etcd_get(cli, "foo", NULL);
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_PREFIX(etcd_errstr(cli), AUTH_FAILED);
    CHECK(auth_count(s) <= 2);
    CHECK_INT(fs_nreqs(s), auth_count(s));    /* only ever authenticate */
    CHECK(etcd_endpoint_healthy(cli, s->url));
    if (t__cur_failed) print_reqs(s);
    etcd_free(cli);
    fs_stop(s);
}

static void test_fake_wrong_password(void)
{
    refused_case(400, ERR_WRONG_PW, MSG_WRONG_PW);
}

/* etcd 3.4.23 answers 412 (FailedPrecondition) when auth is not enabled */
static void test_fake_auth_not_enabled(void)
{
    refused_case(412, ERR_NOT_ENABLED, MSG_NOT_ENABLED);
    refused_case(400, ERR_NOT_ENABLED, MSG_NOT_ENABLED);
}

/* With retry and several endpoints, a refusal is still final for the call:
   not tried on the next endpoint, no endpoint marked down. */
static void test_fake_wrong_password_retry(void)
{
    auth_script sc;
    fs_server *a, *b;
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    char hosts[700];
    int i;
    memset(&sc, 0, sizeof sc);
    sc.auth_status = 400;
    sc.auth_body = ERR_WRONG_PW;
    a = fs_start(FS_TCP4, NULL, h_auth, &sc);
    b = fs_start(FS_TCP4, NULL, h_auth, &sc);
    if (!a || !b) { fs_stop(a); fs_stop(b); REQUIRE(a && b); }
    snprintf(hosts, sizeof hosts, "%s,%s", a->url, b->url);
    o = fake_opts(a, "root", "wrong");
    o.http_host = hosts;
    o.retry = true;
    o.fail_timeout = 5.0;
    cli = t_client(&o);
    if (!cli) { fs_stop(a); fs_stop(b); REQUIRE(cli); }
    for (i = 0; i < 5; i++) {
        r = etcd_get(cli, "foo", NULL);
        CHECK(r == NULL);
        etcd_res_free(r);
        CHECK_PREFIX(etcd_errstr(cli), AUTH_FAILED);
        CHECK_HAS(etcd_errstr(cli), MSG_WRONG_PW);
    }
    CHECK_INT(auth_count(a) + auth_count(b), 1);
    CHECK_INT(fs_nreqs(a) + fs_nreqs(b), 1);
    CHECK(etcd_endpoint_healthy(cli, a->url));
    CHECK(etcd_endpoint_healthy(cli, b->url));
    etcd_free(cli);
    fs_stop(a);
    fs_stop(b);
}

/* An authenticate that got a 5xx is the endpoint's failure, not a refusal:
   with retry the call goes on to the next endpoint. */
static void test_fake_authenticate_5xx(void)
{
    auth_script bad, good;
    fs_server *a, *b;
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    char hosts[700];
    int i;
    memset(&bad, 0, sizeof bad);
    bad.auth_status = 503;
    bad.auth_body = ERR_503;
    memset(&good, 0, sizeof good);
    good.auth_status = 200;
    a = fs_start(FS_TCP4, NULL, h_auth, &bad);
    b = fs_start(FS_TCP4, NULL, h_auth, &good);
    if (!a || !b) { fs_stop(a); fs_stop(b); REQUIRE(a && b); }

    /* without retry: the error is the 503, and A is out */
    o = fake_opts(a, "root", "pw");
    o.fail_timeout = 5.0;
    cli = t_client(&o);
    if (!cli) { fs_stop(a); fs_stop(b); REQUIRE(cli); }
    r = etcd_get(cli, "foo", NULL);
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_HAS(etcd_errstr(cli), "HTTP 503");
    CHECK(strstr(etcd_errstr(cli), AUTH_FAILED) == NULL);
    CHECK(!etcd_endpoint_healthy(cli, a->url));
    etcd_free(cli);

    /* with retry over A and B: the get succeeds */
    snprintf(hosts, sizeof hosts, "%s,%s", a->url, b->url);
    o.http_host = hosts;
    o.retry = true;
    cli = t_client(&o);
    if (!cli) { fs_stop(a); fs_stop(b); REQUIRE(cli); }
    for (i = 0; i < 2; i++) CHECK(fs_get_ok(cli));
    CHECK(!etcd_endpoint_healthy(cli, a->url));
    CHECK(etcd_endpoint_healthy(cli, b->url));
    CHECK_INT(auth_count(b), 1);
    etcd_free(cli);
    fs_stop(a);
    fs_stop(b);
}

/* A refusal is remembered for a second only: a user created meanwhile can
   log in on a later call. */
static void test_fake_refusal_then_success(void)
{
    auth_script sc;
    fs_server *s;
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    double t0;
    memset(&sc, 0, sizeof sc);
    sc.auth_status = 400;
    sc.auth_body = ERR_WRONG_PW;
    sc.refuse_upto = 1;
    s = fs_start(FS_TCP4, NULL, h_auth, &sc);
    REQUIRE(s);
    o = fake_opts(s, "root", "pw");
    cli = t_client(&o);
    if (!cli) { fs_stop(s); REQUIRE(cli); }
    t0 = fs_now();
    r = etcd_get(cli, "foo", NULL);
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_PREFIX(etcd_errstr(cli), AUTH_FAILED);
    r = etcd_get(cli, "foo", NULL);          /* within the second: not asked */
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_INT(fs_nreqs(s), 1);
    if (fs_now() - t0 < 1.2) sleep_s(1.2 - (fs_now() - t0));
    CHECK(fs_get_ok(cli));
    CHECK_STR(etcd_errstr(cli), "");
    CHECK_INT(fs_nreqs(s), 3);
    check_req(s, 1, "/v3/auth/authenticate", NULL);
    check_req(s, 2, "/v3/kv/range", "tok.2");
    if (t__cur_failed) print_reqs(s);
    etcd_free(cli);
    fs_stop(s);
}

/* Credentials with quotes, backslashes, a colon and non-ASCII letters are
   sent as proper JSON strings. */
static void test_fake_credentials_escaped(void)
{
    static const auth_script sc = { 200, NULL, 0, 0, 0, NULL };
    static const char user[] = "w\xc3\xabi\"rd\\", password[] = "p\"a\\s:s/\t\xe2\x82\xac";
    fs_server *s = fs_start(FS_TCP4, NULL, h_auth, &sc);
    etcd_opts o;
    etcd *cli;
    const fs_req *q;
    char v[128];
    REQUIRE(s);
    o = fake_opts(s, user, password);
    cli = t_client(&o);
    if (!cli) { fs_stop(s); REQUIRE(cli); }
    CHECK(fs_get_ok(cli));
    q = fs_get(s, 0);
    CHECK(q != NULL);
    if (q) {
        CHECK(etcd_json_parse(q->body, q->body_len, NULL, 0) > 0);
        CHECK_INT(json_member(q->body, q->body_len, "name", v, sizeof v), 1);
        CHECK_STR(v, user);
        CHECK_INT(json_member(q->body, q->body_len, "password", v, sizeof v), 1);
        CHECK_STR(v, password);
        if (t__cur_failed) fprintf(stderr, "  body: %s\n", q->body);
    }
    etcd_free(cli);
    fs_stop(s);
}

/* ------------------------------------------------------------------------
   Fake server: a rejected token is renewed once
   ------------------------------------------------------------------------ */

/* The first token is rejected with status/body: authenticate again (without
   the old token), send the request once more with the new one. */
static void refresh_case(int status, const char *body, bool write)
{
    auth_script sc;
    fs_server *s;
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    const char *target = write ? "/v3/kv/put" : "/v3/kv/range";
    memset(&sc, 0, sizeof sc);
    sc.auth_status = 200;
    sc.reject_upto = 1;
    sc.reject_status = status;
    sc.reject_body = body;
    s = fs_start(FS_TCP4, NULL, h_auth, &sc);
    REQUIRE(s);
    o = fake_opts(s, "root", "pw");
    cli = t_client(&o);
    if (!cli) { fs_stop(s); REQUIRE(cli); }
    if (write) {
        r = etcd_set(cli, "foo", "1", NULL);
        if (!r) fprintf(stderr, "  etcd_set: %s\n", etcd_errstr(cli));
        CHECK(r != NULL && r->status == 200);
        etcd_res_free(r);
    } else {
        CHECK(fs_get_ok(cli));
    }
    CHECK_STR(etcd_errstr(cli), "");
    CHECK_INT(fs_nreqs(s), 4);
    check_req(s, 0, "/v3/auth/authenticate", NULL);
    check_req(s, 1, target, "tok.1");
    check_req(s, 2, "/v3/auth/authenticate", NULL);   /* the old token is not sent */
    check_req(s, 3, target, "tok.2");
    /* and the new token is kept */
    CHECK(fs_get_ok(cli));
    CHECK_INT(fs_nreqs(s), 5);
    check_req(s, 4, "/v3/kv/range", "tok.2");
    CHECK(etcd_endpoint_healthy(cli, s->url));
    if (t__cur_failed) { fprintf(stderr, "  (rejected with %d %s)\n", status, body); print_reqs(s); }
    etcd_free(cli);
    fs_stop(s);
}

static void test_fake_token_refresh(void)
{
    refresh_case(401, ERR_BAD_TOKEN, false);
    refresh_case(401, ERR_BAD_TOKEN, true);
}

/* JWT tokens die when the auth store changes: 400 "auth store is old" */
static void test_fake_token_refresh_auth_store_old(void)
{
    refresh_case(400, ERR_OLD_STORE, false);
    refresh_case(400, ERR_OLD_STORE, true);
}

/* A new token rejected too: the call returns the 401 result, no loop. */
static void test_fake_new_token_rejected_too(void)
{
    auth_script sc;
    fs_server *s;
    etcd_opts o;
    etcd *cli;
    etcd_res *r;
    int n;
    memset(&sc, 0, sizeof sc);
    sc.auth_status = 200;
    sc.reject_upto = 1000000;
    sc.reject_status = 401;
    sc.reject_body = ERR_BAD_TOKEN;
    s = fs_start(FS_TCP4, NULL, h_auth, &sc);
    REQUIRE(s);
    o = fake_opts(s, "root", "pw");
    cli = t_client(&o);
    if (!cli) { fs_stop(s); REQUIRE(cli); }
    r = etcd_get(cli, "foo", NULL);
    if (!r) fprintf(stderr, "  etcd_get: %s\n", etcd_errstr(cli));
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->status, 401);
        CHECK_INT(r->code, 16);
        CHECK_STR(r->message, MSG_BAD_TOKEN);
        CHECK_INT(r->nkvs, 0);
    }
    etcd_res_free(r);
    CHECK_INT(fs_nreqs(s), 4);
    check_req(s, 0, "/v3/auth/authenticate", NULL);
    check_req(s, 1, "/v3/kv/range", "tok.1");
    check_req(s, 2, "/v3/auth/authenticate", NULL);
    check_req(s, 3, "/v3/kv/range", "tok.2");
    CHECK(etcd_endpoint_healthy(cli, s->url));       /* a 4xx */
    /* the next call: again at most one renewal */
    n = fs_nreqs(s);
    r = etcd_set(cli, "foo", "1", NULL);
    CHECK(r != NULL && r->status == 401);
    etcd_res_free(r);
    CHECK(fs_nreqs(s) - n >= 1 && fs_nreqs(s) - n <= 4);
    CHECK(auth_count(s) - 2 <= 2);
    CHECK(etcd_endpoint_healthy(cli, s->url));
    if (t__cur_failed) print_reqs(s);
    etcd_free(cli);
    fs_stop(s);
}

/* ------------------------------------------------------------------------
   Fake server: a watch canceled for its token
   ------------------------------------------------------------------------ */

static void test_fake_watch_reauth(void)
{
    auth_script sc;
    fs_server *s;
    etcd_opts o;
    etcd *cli;
    etcd_watcher *w;
    etcd_watch_opts wo;
    etcd_res *r;
    memset(&sc, 0, sizeof sc);
    sc.auth_status = 200;
    sc.reject_upto = 1;
    sc.reject_status = 401;
    sc.reject_body = ERR_BAD_TOKEN;
    s = fs_start(FS_TCP4, NULL, h_auth, &sc);
    REQUIRE(s);
    o = fake_opts(s, "root", "pw");
    cli = t_client(&o);
    if (!cli) { fs_stop(s); REQUIRE(cli); }
    memset(&wo, 0, sizeof wo);
    wo.timeout = 1.0;
    w = etcd_watch(cli, "foo", &wo);
    if (!w) fprintf(stderr, "  etcd_watch: %s\n", etcd_errstr(cli));
    if (!w) { etcd_free(cli); fs_stop(s); REQUIRE(w); }
    /* one normal "created", then the event */
    r = etcd_watch_next(w);
    if (!r) fprintf(stderr, "  etcd_watch_next: %s\n", etcd_watch_errstr(w));
    CHECK(r != NULL);
    if (r) {
        CHECK(r->created);
        CHECK(!r->canceled);
        CHECK(r->cancel_reason == NULL || r->cancel_reason[0] == '\0');
        CHECK_INT(r->nevents, 0);
    }
    etcd_res_free(r);
    r = etcd_watch_next(w);
    if (!r) fprintf(stderr, "  etcd_watch_next: %s\n", etcd_watch_errstr(w));
    CHECK(r != NULL);
    if (r) {
        CHECK(!r->created && !r->canceled);
        CHECK_INT(r->nevents, 1);
        if (r->nevents == 1) {
            CHECK_STR(r->events[0].kv.key, "foo");
            CHECK_STR(r->events[0].kv.value, "8080");
        }
    }
    etcd_res_free(r);
    r = etcd_watch_next(w);
    CHECK(r == NULL);
    CHECK_STR(etcd_watch_errstr(w), "timeout");
    etcd_res_free(r);
    etcd_watchcancel(w);
    CHECK_INT(fs_nreqs(s), 4);
    check_req(s, 0, "/v3/auth/authenticate", NULL);
    check_req(s, 1, "/v3/watch", "tok.1");
    check_req(s, 2, "/v3/auth/authenticate", NULL);
    check_req(s, 3, "/v3/watch", "tok.2");
    CHECK(etcd_endpoint_healthy(cli, s->url));
    /* the client goes on with the new token */
    CHECK(fs_get_ok(cli));
    check_req(s, 4, "/v3/kv/range", "tok.2");
    if (t__cur_failed) print_reqs(s);
    etcd_free(cli);
    fs_stop(s);
}

/* Every stream canceled for its token: reopened once, then the caller gets
   the canceled message; no loop. */
static void test_fake_watch_reauth_once(void)
{
    auth_script sc;
    fs_server *s;
    etcd_opts o;
    etcd *cli;
    etcd_watcher *w;
    etcd_watch_opts wo;
    etcd_res *r;
    memset(&sc, 0, sizeof sc);
    sc.auth_status = 200;
    sc.reject_upto = 1000000;
    sc.reject_status = 401;
    sc.reject_body = ERR_BAD_TOKEN;
    s = fs_start(FS_TCP4, NULL, h_auth, &sc);
    REQUIRE(s);
    o = fake_opts(s, "root", "pw");
    cli = t_client(&o);
    if (!cli) { fs_stop(s); REQUIRE(cli); }
    memset(&wo, 0, sizeof wo);
    wo.timeout = 1.0;
    w = etcd_watch(cli, "foo", &wo);
    if (!w) fprintf(stderr, "  etcd_watch: %s\n", etcd_errstr(cli));
    if (!w) { etcd_free(cli); fs_stop(s); REQUIRE(w); }
    r = etcd_watch_next(w);
    if (!r) fprintf(stderr, "  etcd_watch_next: %s\n", etcd_watch_errstr(w));
    CHECK(r != NULL);
    if (r) {
        CHECK(r->canceled);
        CHECK_HAS(r->cancel_reason, "invalid auth token");
    }
    etcd_res_free(r);
    r = etcd_watch_next(w);            /* nothing more comes; no reopening */
    CHECK(r == NULL);
    etcd_res_free(r);
    etcd_watchcancel(w);
    CHECK_INT(fs_nreqs(s), 4);
    check_req(s, 0, "/v3/auth/authenticate", NULL);
    check_req(s, 1, "/v3/watch", "tok.1");
    check_req(s, 2, "/v3/auth/authenticate", NULL);
    check_req(s, 3, "/v3/watch", "tok.2");
    if (t__cur_failed) print_reqs(s);
    etcd_free(cli);
    fs_stop(s);
}

/* ------------------------------------------------------------------------
   Real etcd
   ------------------------------------------------------------------------ */

static test_etcd srv;          /* auth enabled by test_setup_auth */
static test_etcd srv_ttl;      /* --auth-token-ttl 2, auth enabled */
static bool srv_up, auth_on, ttl_up;

/* etcdctl with args; as root (--user root:pw) when root. 0 on exit 0. */
static int ctl(const test_etcd *s, bool root, const char *const *args)
{
    const char *argv[32];
    char out[4096];
    int n = 0, i, rc;
    if (root) { argv[n++] = "--user"; argv[n++] = "root:pw"; }
    for (i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    rc = test_etcdctl(s, out, sizeof out, argv);
    if (rc != 0) {
        fprintf(stderr, "  etcdctl");
        for (i = 0; i < n; i++) fprintf(stderr, " %s", argv[i]);
        fprintf(stderr, ": exit %d: %s\n", rc, out);
    }
    return rc;
}

/* root:pw, auth enabled; with limited, also user lu:lpw whose role may
   read and write /limited/ only. */
static bool enable_auth(const test_etcd *s, bool limited)
{
    static const char *const add_root[] = { "user", "add", "root:pw", NULL };
    static const char *const enable[] = { "auth", "enable", NULL };
    static const char *const add_role[] = { "role", "add", "lim", NULL };
    static const char *const grant[] = { "role", "grant-permission", "lim", "readwrite",
                                         "/limited/", "--prefix=true", NULL };
    static const char *const add_lu[] = { "user", "add", "lu:lpw", NULL };
    static const char *const grant_role[] = { "user", "grant-role", "lu", "lim", NULL };
    if (ctl(s, false, add_root) != 0 || ctl(s, false, enable) != 0) return false;
    if (!limited) return true;
    return ctl(s, true, add_role) == 0 && ctl(s, true, grant) == 0 &&
           ctl(s, true, add_lu) == 0 && ctl(s, true, grant_role) == 0;
}

static etcd *auth_client(const test_etcd *s, const char *user, const char *password)
{
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.user = user;
    o.password = password;
    o.timeout = 5.0;
    return test_client(s, &o);
}

/* Raw HTTP/1.0 POST to 127.0.0.1:port (Authorization auth unless NULL);
   the status (-1: no answer); the response body into out. */
static int raw_post(int port, const char *path, const char *auth, const char *body,
                    char *out, size_t outsz)
{
    char req[1024], buf[8192], *p;
    size_t got = 0;
    ssize_t n;
    int fd, status = -1;
    out[0] = '\0';
    if ((fd = test_connect_local(port, 3)) < 0) return -1;
    n = snprintf(req, sizeof req, "POST %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n%s%s%s"
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                 path, port, auth ? "Authorization: " : "", auth ? auth : "", auth ? "\r\n" : "",
                 strlen(body), body);
    if (n <= 0 || (size_t)n >= sizeof req || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) goto done;
    while (got < sizeof buf - 1 && (n = recv(fd, buf + got, sizeof buf - 1 - got, 0)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) status = -1;
    p = strstr(buf, "\r\n\r\n");
    snprintf(out, outsz, "%s", p ? p + 4 : "");
done:
    close(fd);
    return status;
}

/* A token for user:password from the member, by hand; "" on failure. */
static void raw_token(const test_etcd *s, const char *user, const char *password, char *tok, size_t toksz)
{
    char body[256], out[4096];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"password\":\"%s\"}", user, password);
    tok[0] = '\0';
    if (raw_post(s->port, "/v3/auth/authenticate", NULL, body, out, sizeof out) == 200 &&
        json_member(out, strlen(out), "token", tok, toksz) != 1)
        tok[0] = '\0';
}

static void test_start(void)
{
    REQUIRE(test_etcd_start(&srv, NULL) == 0);
    srv_up = true;
}

/* Credentials given, auth not enabled on the member. */
static void test_auth_not_enabled(void)
{
    etcd *cli = auth_client(&srv, "root", "pw");
    etcd *plain = test_client(&srv, NULL);
    etcd_res *r;
    if (!cli || !plain) { etcd_free(cli); etcd_free(plain); REQUIRE(cli && plain); }
    r = etcd_set(cli, "/na/key", "1", NULL);
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_PREFIX(etcd_errstr(cli), AUTH_FAILED);
    CHECK_HAS(etcd_errstr(cli), "authentication is not enabled");
    CHECK(etcd_endpoint_healthy(cli, srv.url));
    /* the set was not sent */
    r = test_ok200(plain, etcd_get(plain, "/na/key", NULL));
    CHECK(r != NULL);
    if (r) CHECK_INT(r->nkvs, 0);
    etcd_res_free(r);
    etcd_free(cli);
    etcd_free(plain);
}

static void test_setup_auth(void)
{
    REQUIRE(enable_auth(&srv, true));
    auth_on = true;
}

/* Every call works with correct credentials. */
static void test_all_calls(void)
{
    etcd *cli = auth_client(&srv, "root", "pw");
    etcd_res *r;
    etcd_compare cmp;
    etcd_op ops[2];
    etcd_set_opts so;
    int64_t lease = 0;
    size_t i;
    bool found;
    REQUIRE(cli);

    r = test_ok200(cli, etcd_set(cli, "/all/k", "1", NULL));
    CHECK(r != NULL);
    if (r) CHECK(r->revision > 0);
    etcd_res_free(r);
    CHECK_STR(etcd_errstr(cli), "");

    r = test_ok200(cli, etcd_get(cli, "/all/k", NULL));
    CHECK(r != NULL);
    if (r) { CHECK_INT(r->nkvs, 1); if (r->nkvs == 1) test_check_kv(&r->kvs[0], "/all/k", "1"); }
    etcd_res_free(r);

    r = test_ok200(cli, etcd_setnx(cli, "/all/k", "9", NULL));
    CHECK(r != NULL && !r->succeeded);
    etcd_res_free(r);
    r = test_ok200(cli, etcd_setnx(cli, "/all/n", "2", NULL));
    CHECK(r != NULL && r->succeeded);
    etcd_res_free(r);
    r = test_ok200(cli, etcd_setx(cli, "/all/k", "3", NULL));
    CHECK(r != NULL && r->succeeded);
    etcd_res_free(r);
    r = test_ok200(cli, etcd_setx(cli, "/all/none", "3", NULL));
    CHECK(r != NULL && !r->succeeded);
    etcd_res_free(r);

    r = test_ok200(cli, etcd_readdir(cli, "/all/", NULL));
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->nkvs, 2);
        if (r->nkvs == 2) {
            test_check_kv(&r->kvs[0], "/all/k", "3");
            test_check_kv(&r->kvs[1], "/all/n", "2");
        }
    }
    etcd_res_free(r);

    r = test_ok200(cli, etcd_delete(cli, "/all/n", NULL));
    CHECK(r != NULL && r->deleted == 1);
    etcd_res_free(r);

    memset(&cmp, 0, sizeof cmp);
    cmp.result = ETCD_CMP_GREATER;
    cmp.target = ETCD_CMP_VERSION;
    cmp.key = "/all/k";
    cmp.version = 0;
    memset(ops, 0, sizeof ops);
    ops[0].type = ETCD_OP_PUT; ops[0].key = "/all/t"; ops[0].value = "4";
    ops[1].type = ETCD_OP_RANGE; ops[1].key = "/all/k";
    r = test_ok200(cli, etcd_txn(cli, &cmp, 1, ops, 2, NULL, 0, NULL));
    CHECK(r != NULL);
    if (r) {
        CHECK(r->succeeded);
        CHECK_INT(r->nresponses, 2);
        if (r->nresponses == 2) {
            CHECK_INT(r->responses[1].nkvs, 1);
            if (r->responses[1].nkvs == 1) test_check_kv(&r->responses[1].kvs[0], "/all/k", "3");
        }
    }
    etcd_res_free(r);

    r = test_ok200(cli, etcd_grant(cli, 60, 0));
    CHECK(r != NULL);
    if (r) { lease = r->id; CHECK(lease != 0); CHECK_INT(r->ttl, 60); }
    etcd_res_free(r);
    memset(&so, 0, sizeof so);
    so.lease = lease;
    r = test_ok200(cli, etcd_set(cli, "/all/l", "5", &so));
    CHECK(r != NULL);
    etcd_res_free(r);
    r = test_ok200(cli, etcd_keepalive(cli, lease));
    CHECK(r != NULL);
    if (r) CHECK(r->ttl > 0 && r->ttl <= 60);
    etcd_res_free(r);
    r = test_ok200(cli, etcd_timetolive(cli, lease, true));
    CHECK(r != NULL);
    if (r) {
        CHECK(r->ttl > 0);
        CHECK_INT(r->granted_ttl, 60);
        CHECK_INT(r->nkeys, 1);
        if (r->nkeys == 1) CHECK_MEM(r->keys[0].ptr, r->keys[0].len, "/all/l", 6);
    }
    etcd_res_free(r);
    r = test_ok200(cli, etcd_leases(cli));
    CHECK(r != NULL);
    found = false;
    for (i = 0; r && i < r->nleases; i++) if (r->leases[i] == lease) found = true;
    CHECK(found);
    etcd_res_free(r);
    r = test_ok200(cli, etcd_revoke(cli, lease));
    CHECK(r != NULL);
    etcd_res_free(r);
    r = test_ok200(cli, etcd_get(cli, "/all/l", NULL));
    CHECK(r != NULL && r->nkvs == 0);          /* revoked with its lease */
    etcd_res_free(r);

    r = test_ok200(cli, etcd_rmdir(cli, "/all/", NULL));
    CHECK(r != NULL && r->deleted == 2);       /* /all/k and /all/t */
    etcd_res_free(r);

    r = test_ok200(cli, etcd_version(cli));
    CHECK(r != NULL);
    if (r) CHECK_PREFIX(r->etcdserver, "3.");
    etcd_res_free(r);

    r = test_ok200(cli, etcd_request(cli, "/maintenance/status", NULL, 0));
    CHECK(r != NULL);
    if (r) CHECK_HAS(r->body, "\"version\"");
    etcd_res_free(r);
    /* a root-only call: the token is root's */
    r = test_ok200(cli, etcd_request(cli, "/auth/user/list", "{}", 0));
    CHECK(r != NULL);
    if (r) { CHECK_HAS(r->body, "\"root\""); CHECK_HAS(r->body, "\"lu\""); }
    etcd_res_free(r);

    CHECK_STR(etcd_errstr(cli), "");
    CHECK(etcd_endpoint_healthy(cli, srv.url));
    etcd_free(cli);
}

/* A watch with auth: created, then an event. */
static void test_watch(void)
{
    etcd *cli = auth_client(&srv, "root", "pw");
    etcd_watcher *w, *wd;
    etcd_watch_opts wo;
    etcd_res *r;
    REQUIRE(cli);
    memset(&wo, 0, sizeof wo);
    wo.timeout = 5.0;
    w = etcd_watch(cli, "/aw/k", &wo);
    if (!w) fprintf(stderr, "  etcd_watch: %s\n", etcd_errstr(cli));
    wd = etcd_watchdir(cli, "/aw/", &wo);
    if (!wd) fprintf(stderr, "  etcd_watchdir: %s\n", etcd_errstr(cli));
    if (!w || !wd) { etcd_watchcancel(w); etcd_watchcancel(wd); etcd_free(cli); REQUIRE(w && wd); }
    r = etcd_watch_next(w);
    if (!r) fprintf(stderr, "  etcd_watch_next: %s\n", etcd_watch_errstr(w));
    CHECK(r != NULL && r->created && !r->canceled);
    etcd_res_free(r);
    r = etcd_watch_next(wd);
    if (!r) fprintf(stderr, "  etcd_watch_next: %s\n", etcd_watch_errstr(wd));
    CHECK(r != NULL && r->created && !r->canceled);
    etcd_res_free(r);
    test_put(cli, "/aw/k", "\"v\"");
    r = etcd_watch_next(w);
    if (!r) fprintf(stderr, "  etcd_watch_next: %s\n", etcd_watch_errstr(w));
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->nevents, 1);
        if (r->nevents == 1) {
            CHECK_INT(r->events[0].type, ETCD_EVENT_PUT);
            test_check_kv(&r->events[0].kv, "/aw/k", "\"v\"");
        }
    }
    etcd_res_free(r);
    r = etcd_watch_next(wd);
    CHECK(r != NULL && r->nevents == 1);
    etcd_res_free(r);
    etcd_watchcancel(w);
    etcd_watchcancel(wd);
    etcd_free(cli);
}

/* A wrong password: NULL with etcd's reason, nothing written, the endpoint
   still healthy, and the same answer without asking etcd for a second. */
static void test_wrong_password(void)
{
    etcd *bad = auth_client(&srv, "root", "wrong");
    etcd *root = auth_client(&srv, "root", "pw");
    etcd_res *r;
    etcd_watcher *w;
    char first[256];
    double t0;
    int i;
    if (!bad || !root) { etcd_free(bad); etcd_free(root); REQUIRE(bad && root); }
    t0 = test_now();
    r = etcd_set(bad, "/wp/k", "1", NULL);
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_PREFIX(etcd_errstr(bad), AUTH_FAILED);
    CHECK_HAS(etcd_errstr(bad), MSG_WRONG_PW);
    snprintf(first, sizeof first, "%s", etcd_errstr(bad));
    CHECK(etcd_endpoint_healthy(bad, srv.url));
    for (i = 0; i < 5; i++) {
        r = etcd_get(bad, "/wp/k", NULL);
        CHECK(r == NULL);
        etcd_res_free(r);
        CHECK_STR(etcd_errstr(bad), first);
    }
    w = etcd_watch(bad, "/wp/k", NULL);
    CHECK(w == NULL);
    CHECK_PREFIX(etcd_errstr(bad), AUTH_FAILED);
    etcd_watchcancel(w);
    CHECK_TIME(test_now() - t0, 0, 0.9);
    CHECK(etcd_endpoint_healthy(bad, srv.url));
    /* the set was not sent */
    r = test_ok200(root, etcd_get(root, "/wp/k", NULL));
    CHECK(r != NULL && r->nkvs == 0);
    etcd_res_free(r);
    /* an unknown user is refused the same way */
    etcd_free(bad);
    bad = auth_client(&srv, "nobody", "pw");
    REQUIRE(bad);
    r = etcd_get(bad, "/wp/k", NULL);
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_PREFIX(etcd_errstr(bad), AUTH_FAILED);
    CHECK_HAS(etcd_errstr(bad), MSG_WRONG_PW);
    CHECK(etcd_endpoint_healthy(bad, srv.url));
    etcd_free(bad);
    etcd_free(root);
}

/* A user whose role covers /limited/ only: outside it etcd's 403 comes
   back as a result, not an endpoint failure. */
static void test_permission_denied(void)
{
    etcd *lu = auth_client(&srv, "lu", "lpw");
    etcd_res *r;
    etcd_watcher *w;
    etcd_watch_opts wo;
    REQUIRE(lu);
    r = test_ok200(lu, etcd_set(lu, "/limited/x", "1", NULL));
    CHECK(r != NULL);
    etcd_res_free(r);
    r = test_ok200(lu, etcd_get(lu, "/limited/x", NULL));
    CHECK(r != NULL && r->nkvs == 1);
    etcd_res_free(r);

    r = etcd_set(lu, "/outside", "1", NULL);
    if (!r) fprintf(stderr, "  etcd_set: %s\n", etcd_errstr(lu));
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->status, 403);
        CHECK_INT(r->code, 7);
        CHECK_STR(r->message, "etcdserver: permission denied");
        CHECK_STR(r->error, "etcdserver: permission denied");
    }
    etcd_res_free(r);
    CHECK_STR(etcd_errstr(lu), "");
    CHECK(etcd_endpoint_healthy(lu, srv.url));
    r = etcd_get(lu, "/outside", NULL);
    CHECK(r != NULL && r->status == 403 && r->code == 7);
    etcd_res_free(r);
    r = etcd_readdir(lu, "/", NULL);
    CHECK(r != NULL && r->status == 403);
    etcd_res_free(r);
    CHECK(etcd_endpoint_healthy(lu, srv.url));

    /* a watch outside the prefix: canceled by etcd with its reason */
    memset(&wo, 0, sizeof wo);
    wo.timeout = 3.0;
    w = etcd_watch(lu, "/outside", &wo);
    if (!w) fprintf(stderr, "  etcd_watch: %s\n", etcd_errstr(lu));
    CHECK(w != NULL);
    if (w) {
        r = etcd_watch_next(w);
        if (!r) fprintf(stderr, "  etcd_watch_next: %s\n", etcd_watch_errstr(w));
        CHECK(r != NULL && r->canceled);
        if (r) CHECK_HAS(r->cancel_reason, "permission denied");
        etcd_res_free(r);
    }
    etcd_watchcancel(w);
    CHECK(etcd_endpoint_healthy(lu, srv.url));
    /* and the client still works inside its prefix */
    r = test_ok200(lu, etcd_get(lu, "/limited/x", NULL));
    CHECK(r != NULL);
    etcd_res_free(r);
    etcd_free(lu);
}

/* A user whose name and password need JSON escaping (and hold a colon). */
static void test_escaped_credentials(void)
{
    static const char *const add[] = { "user", "add", "w\xc3\xabi\"rd\\:p\"a\\s:s/\xe2\x82\xac", NULL };
    static const char *const grant[] = { "user", "grant-role", "w\xc3\xabi\"rd\\", "lim", NULL };
    etcd *cli;
    etcd_res *r;
    REQUIRE(ctl(&srv, true, add) == 0);
    REQUIRE(ctl(&srv, true, grant) == 0);
    cli = auth_client(&srv, "w\xc3\xabi\"rd\\", "p\"a\\s:s/\xe2\x82\xac");
    REQUIRE(cli);
    r = etcd_set(cli, "/limited/esc", "1", NULL);
    if (!r) fprintf(stderr, "  etcd_set: %s\n", etcd_errstr(cli));
    CHECK(r != NULL && r->status == 200);
    etcd_res_free(r);
    etcd_free(cli);
}

static void test_start_ttl_member(void)
{
    static const char *const extra[] = { "--auth-token-ttl", "2", NULL };
    REQUIRE(test_etcd_start(&srv_ttl, extra) == 0);
    ttl_up = true;
    REQUIRE(enable_auth(&srv_ttl, false));
}

/* Tokens die after 2 idle seconds on srv_ttl: the client renews them. */
static void test_token_expiry(void)
{
    etcd *cli = auth_client(&srv_ttl, "root", "pw");
    etcd_res *r;
    char tok[256], out[1024];
    int st;
    REQUIRE(cli);
    raw_token(&srv_ttl, "root", "pw", tok, sizeof tok);
    CHECK(tok[0] != '\0');
    r = test_ok200(cli, etcd_set(cli, "/exp/a", "1", NULL));
    CHECK(r != NULL);
    etcd_res_free(r);
    sleep_s(3.5);
    /* the member did expire tokens issued before the pause */
    st = raw_post(srv_ttl.port, "/v3/kv/range", tok, "{\"key\":\"L2V4cC9h\"}", out, sizeof out);
    CHECK_INT(st, 401);
    CHECK_HAS(out, "invalid auth token");
    /* a read */
    r = etcd_get(cli, "/exp/a", NULL);
    if (!r) fprintf(stderr, "  etcd_get: %s\n", etcd_errstr(cli));
    else if (r->status != 200) fprintf(stderr, "  etcd_get: %d %s\n", r->status, r->body);
    CHECK(r != NULL && r->status == 200 && r->nkvs == 1);
    etcd_res_free(r);
    CHECK_STR(etcd_errstr(cli), "");
    sleep_s(3.5);
    /* a write */
    r = etcd_set(cli, "/exp/b", "2", NULL);
    if (!r) fprintf(stderr, "  etcd_set: %s\n", etcd_errstr(cli));
    else if (r->status != 200) fprintf(stderr, "  etcd_set: %d %s\n", r->status, r->body);
    CHECK(r != NULL && r->status == 200);
    etcd_res_free(r);
    r = test_ok200(cli, etcd_get(cli, "/exp/b", NULL));
    CHECK(r != NULL && r->nkvs == 1);
    etcd_res_free(r);
    CHECK(etcd_endpoint_healthy(cli, srv_ttl.url));
    etcd_free(cli);
}

/* A watch opened after the token expired: etcd cancels it for the token;
   the client renews it and reopens: created, then events. */
static void test_watch_after_token_expiry(void)
{
    etcd *cli = auth_client(&srv_ttl, "root", "pw");
    etcd_watcher *w;
    etcd_watch_opts wo;
    etcd_res *r;
    REQUIRE(cli);
    r = test_ok200(cli, etcd_set(cli, "/exp/w0", "1", NULL));   /* a token now */
    CHECK(r != NULL);
    etcd_res_free(r);
    sleep_s(3.5);
    memset(&wo, 0, sizeof wo);
    wo.timeout = 5.0;
    w = etcd_watch(cli, "/exp/w", &wo);
    if (!w) fprintf(stderr, "  etcd_watch: %s\n", etcd_errstr(cli));
    if (!w) { etcd_free(cli); REQUIRE(w); }
    r = etcd_watch_next(w);
    if (!r) fprintf(stderr, "  etcd_watch_next: %s\n", etcd_watch_errstr(w));
    CHECK(r != NULL);
    if (r) {
        if (r->canceled) fprintf(stderr, "  canceled: %s\n", r->cancel_reason ? r->cancel_reason : "");
        CHECK(r->created);
        CHECK(!r->canceled);
    }
    etcd_res_free(r);
    r = test_ok200(cli, etcd_set(cli, "/exp/w", "7", NULL));
    CHECK(r != NULL);
    etcd_res_free(r);
    r = etcd_watch_next(w);
    if (!r) fprintf(stderr, "  etcd_watch_next: %s\n", etcd_watch_errstr(w));
    CHECK(r != NULL);
    if (r) {
        CHECK(!r->canceled);
        CHECK_INT(r->nevents, 1);
        if (r->nevents == 1) test_check_kv(&r->events[0].kv, "/exp/w", "7");
    }
    etcd_res_free(r);
    etcd_watchcancel(w);
    CHECK(etcd_endpoint_healthy(cli, srv_ttl.url));
    etcd_free(cli);
}

static void test_disable_auth(void)
{
    static const char *const disable[] = { "auth", "disable", NULL };
    etcd *plain;
    etcd_res *r;
    if (auth_on) CHECK(ctl(&srv, true, disable) == 0);
    if (ttl_up) CHECK(ctl(&srv_ttl, true, disable) == 0);
    /* a client without credentials works again */
    plain = test_client(&srv, NULL);
    REQUIRE(plain);
    r = test_ok200(plain, etcd_get(plain, "/limited/x", NULL));
    CHECK(r != NULL);
    etcd_res_free(r);
    etcd_free(plain);
}

int main(void)
{
    /* fakeserver.h helpers this suite has no use for */
    (void)fs_reset; (void)fs_send_slow; (void)fs_go; (void)fs_wait_go; (void)fs_accepts;
    (void)fs_free_port;

    RUN(test_fake_token_header);
    RUN(test_fake_no_credentials);
    RUN(test_fake_wrong_password);
    RUN(test_fake_auth_not_enabled);
    RUN(test_fake_wrong_password_retry);
    RUN(test_fake_authenticate_5xx);
    RUN(test_fake_refusal_then_success);
    RUN(test_fake_credentials_escaped);
    RUN(test_fake_token_refresh);
    RUN(test_fake_token_refresh_auth_store_old);
    RUN(test_fake_new_token_rejected_too);
    RUN(test_fake_watch_reauth);
    RUN(test_fake_watch_reauth_once);

    RUN(test_start);
    if (srv_up) {
        RUN(test_auth_not_enabled);
        RUN(test_setup_auth);
        if (auth_on) {
            RUN(test_all_calls);
            RUN(test_watch);
            RUN(test_wrong_password);
            RUN(test_permission_denied);
            RUN(test_escaped_credentials);
        }
        RUN(test_start_ttl_member);
        if (ttl_up) {
            RUN(test_token_expiry);
            RUN(test_watch_after_token_expiry);
        }
        RUN(test_disable_auth);
    }
    test_etcd_stop(&srv_ttl);
    test_etcd_stop(&srv);
    return test_summary();
}
