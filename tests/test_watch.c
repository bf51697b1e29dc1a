/* test_watch.c - etcd_watch / etcd_watchdir against a real etcd.

   Every watcher is opened and its "created" message read before anything
   is written: only then is the watch registered on the server, so no write
   can slip in before it. */
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
#include "harness.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static test_etcd srv;
static etcd *cli;            /* JSON serializer, no key_prefix */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static etcd *client(const char *key_prefix, etcd_serializer ser)
{
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.key_prefix = key_prefix;
    o.serializer = ser;
    return test_client(&srv, &o);
}

/* Write a value (JSON text under the JSON serializer); the write's revision,
   0 on failure. */
/* Open a watch (or watchdir) and consume its first message, which must say
   created. NULL (reported) on failure. */
static etcd_watcher *open_w(etcd *c, const char *key, bool dir, const etcd_watch_opts *o)
{
    etcd_watcher *w = dir ? etcd_watchdir(c, key, o) : etcd_watch(c, key, o);
    etcd_res *r;
    if (!w) {
        fprintf(stderr, "  watch %s failed: %s\n", key, etcd_errstr(c));
        return NULL;
    }
    r = etcd_watch_next(w);
    if (!r || !r->created || r->canceled) {
        fprintf(stderr, "  watch %s: first message is %s\n", key,
                r ? r->body : etcd_watch_errstr(w));
        etcd_res_free(r);
        etcd_watchcancel(w);
        return NULL;
    }
    etcd_res_free(r);
    return w;
}

/* The next message, with the reason printed when there is none. */
static etcd_res *next(etcd_watcher *w)
{
    etcd_res *r = etcd_watch_next(w);
    if (!r) fprintf(stderr, "  etcd_watch_next: %s\n", etcd_watch_errstr(w));
    return r;
}

/* A copy of the parts of an event the tests compare. */
typedef struct ev {
    etcd_event_type type;
    char key[64], val[32];
    int64_t mod, ver;
} ev;

/* Read messages until n events came (events of one message may be spread
   over several messages, or several revisions joined in one); returns how
   many came. Counts the messages in *nmsg when given. */
static size_t read_events(etcd_watcher *w, ev *out, size_t n, size_t *nmsg)
{
    size_t got = 0, i;
    while (got < n) {
        etcd_res *r = next(w);
        if (!r) break;
        if (nmsg) (*nmsg)++;
        if (r->canceled) {
            fprintf(stderr, "  watch canceled: %s\n", r->body);
            etcd_res_free(r);
            break;
        }
        for (i = 0; i < r->nevents && got < n; i++, got++) {
            const etcd_event *e = &r->events[i];
            out[got].type = e->type;
            snprintf(out[got].key, sizeof out[got].key, "%.*s", (int)e->kv.key_len, e->kv.key);
            snprintf(out[got].val, sizeof out[got].val, "%.*s", (int)e->kv.value_len, e->kv.value);
            out[got].mod = e->kv.mod_revision;
            out[got].ver = e->kv.version;
        }
        etcd_res_free(r);
    }
    return got;
}

/* The next message must hold exactly one event; returns the message. */
static etcd_res *next_one(etcd_watcher *w)
{
    etcd_res *r = next(w);
    if (r && (r->nevents != 1 || r->canceled)) {
        fprintf(stderr, "  expected one event, got %s\n", r->body);
        etcd_res_free(r);
        return NULL;
    }
    return r;
}

/* ------------------------------------------------------------------------ */

static void test_start(void)
{
    REQUIRE(test_etcd_start(&srv, NULL) == 0);
    cli = client(NULL, ETCD_SERIALIZER_JSON);
    REQUIRE(cli != NULL);
}

static void test_put_and_delete_events(void)
{
    const char *k = "/tw/basic/k";
    etcd_watcher *w = etcd_watch(cli, k, NULL);
    etcd_res *r;
    int64_t r1, r2, r3;
    REQUIRE(w != NULL);

    r = next(w);
    REQUIRE(r != NULL);
    CHECK_INT(r->status, 200);
    CHECK(r->created);
    CHECK(!r->canceled);
    CHECK_INT(r->nevents, 0);
    CHECK(r->revision > 0);
    CHECK_HAS(r->body, "created");
    etcd_res_free(r);

    r1 = test_set(cli, k, "\"one\"");
    REQUIRE(r1 > 0);
    r = next_one(w);
    REQUIRE(r != NULL);
    CHECK(!r->created);
    CHECK_INT(r->revision, r1);
    CHECK_INT(r->events[0].type, ETCD_EVENT_PUT);
    CHECK_STR(r->events[0].kv.key, k);
    CHECK_INT(r->events[0].kv.key_len, strlen(k));
    CHECK_STR(r->events[0].kv.value, "\"one\"");
    CHECK_INT(r->events[0].kv.value_len, 5);
    CHECK_INT(r->events[0].kv.create_revision, r1);
    CHECK_INT(r->events[0].kv.mod_revision, r1);
    CHECK_INT(r->events[0].kv.version, 1);
    CHECK_INT(r->events[0].kv.lease, 0);
    CHECK(r->events[0].prev_kv == NULL);
    etcd_res_free(r);

    r2 = test_set(cli, k, "2");
    r = next_one(w);
    REQUIRE(r != NULL);
    CHECK_INT(r->events[0].type, ETCD_EVENT_PUT);
    CHECK_STR(r->events[0].kv.value, "2");
    CHECK_INT(r->events[0].kv.create_revision, r1);
    CHECK_INT(r->events[0].kv.mod_revision, r2);
    CHECK_INT(r->events[0].kv.version, 2);
    CHECK(r->events[0].prev_kv == NULL);     /* not asked for */
    etcd_res_free(r);

    r3 = test_del(cli, k);
    r = next_one(w);
    REQUIRE(r != NULL);
    CHECK_INT(r->events[0].type, ETCD_EVENT_DELETE);
    CHECK_STR(r->events[0].kv.key, k);
    CHECK_INT(r->events[0].kv.mod_revision, r3);
    CHECK(r->events[0].kv.value != NULL);
    CHECK_INT(r->events[0].kv.value_len, 0);
    CHECK(r->events[0].prev_kv == NULL);
    etcd_res_free(r);

    CHECK_INT(etcd_watchcancel(w), 0);
}

static void test_prev_kv(void)
{
    const char *k = "/tw/prevkv/k";
    etcd_watch_opts o = {0};
    etcd_watcher *w;
    etcd_res *r;
    int64_t r1;
    o.prev_kv = true;
    w = open_w(cli, k, false, &o);
    REQUIRE(w != NULL);

    r1 = test_set(cli, k, "1");
    r = next_one(w);
    REQUIRE(r != NULL);
    CHECK(r->events[0].prev_kv == NULL);     /* a new key has none */
    etcd_res_free(r);

    test_set(cli, k, "2");
    r = next_one(w);
    REQUIRE(r != NULL);
    CHECK_STR(r->events[0].kv.value, "2");
    REQUIRE(r->events[0].prev_kv != NULL);
    CHECK_STR(r->events[0].prev_kv->key, k);
    CHECK_STR(r->events[0].prev_kv->value, "1");
    CHECK_INT(r->events[0].prev_kv->version, 1);
    CHECK_INT(r->events[0].prev_kv->mod_revision, r1);
    etcd_res_free(r);

    test_del(cli, k);
    r = next_one(w);
    REQUIRE(r != NULL);
    CHECK_INT(r->events[0].type, ETCD_EVENT_DELETE);
    REQUIRE(r->events[0].prev_kv != NULL);
    CHECK_STR(r->events[0].prev_kv->value, "2");
    CHECK_INT(r->events[0].prev_kv->version, 2);
    etcd_res_free(r);
    CHECK_INT(etcd_watchcancel(w), 0);
}

static void test_filter_noput(void)
{
    const char *k = "/tw/noput/k";
    etcd_watch_opts o = {0};
    etcd_watcher *w;
    etcd_res *r;
    int64_t rd;
    o.filters = ETCD_FILTER_NOPUT;
    w = open_w(cli, k, false, &o);
    REQUIRE(w != NULL);
    test_set(cli, k, "1");
    rd = test_del(cli, k);
    r = next_one(w);                         /* the put never shows */
    REQUIRE(r != NULL);
    CHECK_INT(r->events[0].type, ETCD_EVENT_DELETE);
    CHECK_INT(r->events[0].kv.mod_revision, rd);
    etcd_res_free(r);
    CHECK_INT(etcd_watchcancel(w), 0);
}

static void test_filter_nodelete(void)
{
    const char *k = "/tw/nodelete/k";
    etcd_watch_opts o = {0};
    ev e[2];
    etcd_watcher *w;
    o.filters = ETCD_FILTER_NODELETE;
    w = open_w(cli, k, false, &o);
    REQUIRE(w != NULL);
    test_set(cli, k, "1");
    test_del(cli, k);
    test_set(cli, k, "2");
    CHECK_INT(read_events(w, e, 2, NULL), 2);
    CHECK_INT(e[0].type, ETCD_EVENT_PUT);
    CHECK_STR(e[0].val, "1");
    CHECK_INT(e[1].type, ETCD_EVENT_PUT);    /* the delete never shows */
    CHECK_STR(e[1].val, "2");
    CHECK_INT(e[1].ver, 1);
    CHECK_INT(etcd_watchcancel(w), 0);
}

static void test_start_revision(void)
{
    const char *k = "/tw/startrev/k";
    etcd_watch_opts o = {0};
    int64_t rev[3];
    ev e[3];
    etcd_watcher *w;
    int i;
    rev[0] = test_set(cli, k, "10");
    rev[1] = test_set(cli, k, "11");
    rev[2] = test_set(cli, k, "12");
    REQUIRE(rev[0] > 0 && rev[2] > 0);
    o.start_revision = rev[0];
    w = open_w(cli, k, false, &o);
    REQUIRE(w != NULL);
    CHECK_INT(read_events(w, e, 3, NULL), 3);
    for (i = 0; i < 3; i++) {
        char want[16];
        snprintf(want, sizeof want, "%d", 10 + i);
        CHECK_INT(e[i].type, ETCD_EVENT_PUT);
        CHECK_STR(e[i].val, want);
        CHECK_INT(e[i].mod, rev[i]);
        CHECK_INT(e[i].ver, i + 1);
    }
    CHECK_INT(etcd_watchcancel(w), 0);
}

/* Writes outside the watched range come before each write inside it: had
   they been reported, they would be the next event. */
static void test_watchdir(void)
{
    etcd_watcher *w = open_w(cli, "/tw/wd/", true, NULL);
    etcd_res *r;
    REQUIRE(w != NULL);

    test_set(cli, "/tw/wd", "0");                 /* shorter than the prefix */
    test_set(cli, "/tw/we/a", "0");               /* next range */
    test_set(cli, "/tw/wd/a", "1");
    r = next_one(w);
    REQUIRE(r != NULL);
    CHECK_STR(r->events[0].kv.key, "/tw/wd/a");
    CHECK_STR(r->events[0].kv.value, "1");
    etcd_res_free(r);

    test_set(cli, "/tw/wc/z", "0");               /* previous range */
    test_set(cli, "/tw/wd/b/c", "2");
    r = next_one(w);
    REQUIRE(r != NULL);
    CHECK_STR(r->events[0].kv.key, "/tw/wd/b/c");
    etcd_res_free(r);

    test_del(cli, "/tw/wd");
    test_del(cli, "/tw/wd/a");
    r = next_one(w);
    REQUIRE(r != NULL);
    CHECK_INT(r->events[0].type, ETCD_EVENT_DELETE);
    CHECK_STR(r->events[0].kv.key, "/tw/wd/a");
    etcd_res_free(r);
    CHECK_INT(etcd_watchcancel(w), 0);
}

static void test_watchdir_key_prefix(void)
{
    etcd *pc = client("/tw/kp", ETCD_SERIALIZER_JSON);
    etcd *all = client("/tw/kq", ETCD_SERIALIZER_JSON);
    etcd_watcher *w = NULL, *wall = NULL;
    etcd_res *r = NULL;
    if (!pc || !all) goto out;
    w = open_w(pc, "/d/", true, NULL);
    wall = open_w(all, "", true, NULL);      /* empty dir: all of key_prefix */
    if (!w || !wall) goto out;

    test_set(pc, "/e/x", "0");                    /* /tw/kp/e/x: outside /d/ */
    test_set(cli, "/d/x", "0");                   /* no prefix: outside */
    test_set(pc, "/d/x", "1");
    r = next_one(w);
    CHECK(r != NULL);
    if (r) {
        CHECK_STR(r->events[0].kv.key, "/tw/kp/d/x");   /* keeps the prefix */
        CHECK_INT(r->events[0].kv.key_len, 10);
    }
    etcd_res_free(r);

    test_set(cli, "/tw/kp/d/y", "2");             /* the same key space */
    r = next_one(w);
    CHECK(r != NULL);
    if (r) CHECK_STR(r->events[0].kv.key, "/tw/kp/d/y");
    etcd_res_free(r);

    test_set(cli, "/tw/kp", "0");
    test_set(cli, "/tw/kq", "3");                 /* the prefix itself is inside */
    r = next_one(wall);
    CHECK(r != NULL);
    if (r) CHECK_STR(r->events[0].kv.key, "/tw/kq");
    etcd_res_free(r);
    test_set(all, "/z", "4");
    r = next_one(wall);
    CHECK(r != NULL);
    if (r) CHECK_STR(r->events[0].kv.key, "/tw/kq/z");
    etcd_res_free(r);
out:
    CHECK(w != NULL && wall != NULL);
    etcd_watchcancel(w);
    etcd_watchcancel(wall);
    etcd_free(pc);
    etcd_free(all);
}

static void test_watch_id(void)
{
    const char *k = "/tw/watchid/k";
    etcd_watch_opts o = {0};
    etcd_watcher *w;
    etcd_res *r;
    o.watch_id = 4242;
    w = etcd_watch(cli, k, &o);
    REQUIRE(w != NULL);
    r = next(w);
    if (r) {
        CHECK(r->created);
        CHECK_INT(r->watch_id, 4242);
    }
    CHECK(r != NULL);
    etcd_res_free(r);
    test_set(cli, k, "1");
    r = next_one(w);
    if (r) CHECK_INT(r->watch_id, 4242);
    CHECK(r != NULL);
    etcd_res_free(r);
    CHECK_INT(etcd_watchcancel(w), 0);
}

/* progress_notify and fragment change what etcd may send, not whether the
   watch works: created comes, then the event. */
static void watch_with(const char *k, const etcd_watch_opts *o)
{
    etcd_watcher *w = open_w(cli, k, false, o);
    etcd_res *r;
    REQUIRE(w != NULL);
    test_set(cli, k, "7");
    r = next_one(w);
    if (r) {
        CHECK_STR(r->events[0].kv.key, k);
        CHECK_STR(r->events[0].kv.value, "7");
    }
    CHECK(r != NULL);
    etcd_res_free(r);
    CHECK_INT(etcd_watchcancel(w), 0);
}

static void test_progress_notify(void)
{
    etcd_watch_opts o = {0};
    o.progress_notify = true;
    watch_with("/tw/progress/k", &o);
}

static void test_fragment(void)
{
    etcd_watch_opts o = {0};
    o.fragment = true;
    watch_with("/tw/fragment/k", &o);
}

static void test_next_timeout_keeps_stream(void)
{
    const char *k = "/tw/timeout/k";
    etcd_watch_opts o = {0};
    etcd_watcher *w;
    etcd_res *r;
    double t0, dt;
    int tries;
    o.timeout = 0.2;
    w = open_w(cli, k, false, &o);
    REQUIRE(w != NULL);

    t0 = now();
    r = etcd_watch_next(w);
    dt = now() - t0;
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_STR(etcd_watch_errstr(w), "timeout");
    CHECK(dt >= 0.15 && dt < 1.5);
    r = etcd_watch_next(w);                  /* again: still just a timeout */
    CHECK(r == NULL);
    etcd_res_free(r);
    CHECK_STR(etcd_watch_errstr(w), "timeout");

    test_set(cli, k, "1");
    for (tries = 0, r = NULL; !r && tries < 25; tries++) {
        r = etcd_watch_next(w);
        if (!r && strcmp(etcd_watch_errstr(w), "timeout") != 0) break;
    }
    REQUIRE(r != NULL);
    CHECK_INT(r->nevents, 1);
    if (r->nevents == 1) CHECK_STR(r->events[0].kv.value, "1");
    etcd_res_free(r);
    CHECK_INT(etcd_watchcancel(w), 0);
}

/* Cancel frees everything: unread messages, a watcher whose created message
   was never read. LeakSanitizer has the last word. */
static void test_watchcancel(void)
{
    const char *k = "/tw/cancel/k";
    etcd_watcher *w = open_w(cli, k, false, NULL);
    REQUIRE(w != NULL);
    test_set(cli, k, "1");
    test_set(cli, k, "2");
    CHECK_INT(etcd_watchcancel(w), 0);

    w = etcd_watch(cli, k, NULL);
    REQUIRE(w != NULL);
    CHECK_INT(etcd_watchcancel(w), 0);
    CHECK_INT(etcd_watchcancel(NULL), 0);

    w = open_w(cli, k, false, NULL);         /* the client is still fine */
    CHECK(w != NULL);
    etcd_watchcancel(w);
}

static void test_client_usable_while_watching(void)
{
    const char *k = "/tw/busy/k";
    etcd_watcher *w1 = open_w(cli, k, false, NULL);
    etcd_watcher *w2 = open_w(cli, k, false, NULL);
    etcd_res *r;
    int i;
    CHECK(w1 != NULL && w2 != NULL);
    if (!w1 || !w2) goto out;

    r = etcd_set(cli, "/tw/busy/other", "5", NULL);
    CHECK(r != NULL && r->status == 200);
    etcd_res_free(r);
    r = etcd_get(cli, "/tw/busy/other", NULL);
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->nkvs, 1);
        if (r->nkvs == 1) CHECK_STR(r->kvs[0].value, "5");
    }
    etcd_res_free(r);

    test_set(cli, k, "6");
    for (i = 0; i < 2; i++) {
        r = next_one(i ? w2 : w1);
        CHECK(r != NULL);
        if (r) CHECK_STR(r->events[0].kv.value, "6");
        etcd_res_free(r);
    }
out:
    etcd_watchcancel(w1);
    etcd_watchcancel(w2);
}

static void test_txn_events_in_one_message(void)
{
    etcd_watcher *w = open_w(cli, "/tw/txn/", true, NULL);
    etcd_compare cmp;
    etcd_op ops[2];
    etcd_res *t, *r;
    REQUIRE(w != NULL);
    memset(&cmp, 0, sizeof cmp);
    memset(ops, 0, sizeof ops);
    cmp.result = ETCD_CMP_EQUAL;
    cmp.target = ETCD_CMP_VERSION;
    cmp.key = "/tw/txn/a";
    cmp.version = 0;
    ops[0].type = ETCD_OP_PUT; ops[0].key = "/tw/txn/a"; ops[0].value = "1";
    ops[1].type = ETCD_OP_PUT; ops[1].key = "/tw/txn/b"; ops[1].value = "2";
    t = etcd_txn(cli, &cmp, 1, ops, 2, NULL, 0, NULL);
    CHECK(t != NULL && t->status == 200 && t->succeeded);

    r = next(w);
    CHECK(r != NULL);
    if (r && t) {
        CHECK_INT(r->nevents, 2);
        CHECK_INT(r->revision, t->revision);
        if (r->nevents == 2) {
            CHECK_STR(r->events[0].kv.key, "/tw/txn/a");
            CHECK_STR(r->events[0].kv.value, "1");
            CHECK_STR(r->events[1].kv.key, "/tw/txn/b");
            CHECK_STR(r->events[1].kv.value, "2");
            CHECK_INT(r->events[0].kv.mod_revision, t->revision);
            CHECK_INT(r->events[1].kv.mod_revision, t->revision);
        }
    }
    etcd_res_free(r);
    etcd_res_free(t);
    CHECK_INT(etcd_watchcancel(w), 0);
}

/* All the writes happen before the first read, so the messages pile up in
   the socket and come in reads holding many of them. */
static void test_many_puts_in_order(void)
{
    enum { N = 200 };
    const char *k = "/tw/many/k";
    static ev e[N + 1];
    etcd_watcher *w = open_w(cli, k, false, NULL);
    size_t got, nmsg = 0, i;
    int64_t first = 0;
    char val[16];
    REQUIRE(w != NULL);
    for (i = 0; i < N; i++) {
        int64_t rev;
        snprintf(val, sizeof val, "%zu", i);
        rev = test_set(cli, k, val);
        if (!rev) break;
        if (i == 0) first = rev;
    }
    CHECK_INT(i, N);
    test_set(cli, k, "\"done\"");                 /* a sentinel: nothing after N */
    got = read_events(w, e, N + 1, &nmsg);
    CHECK_INT(got, N + 1);
    for (i = 0; i < got && i < N; i++) {
        snprintf(val, sizeof val, "%zu", i);
        if (strcmp(e[i].val, val) != 0 || e[i].mod != first + (int64_t)i) {
            fprintf(stderr, "  event %zu: value %s rev %" PRId64 ", not %s rev %" PRId64 "\n",
                    i, e[i].val, e[i].mod, val, first + (int64_t)i);
            t__cur_failed = 1;
            break;
        }
    }
    if (got == N + 1) CHECK_STR(e[N].val, "\"done\"");
    CHECK(nmsg >= 1 && nmsg <= N + 1);
    CHECK_INT(etcd_watchcancel(w), 0);
}

static void test_large_value(void)
{
    enum { SIZE = 256 * 1024 };
    const char *k = "/tw/large/k";
    etcd *raw = client(NULL, ETCD_SERIALIZER_RAW);
    char *val = malloc(SIZE);
    etcd_watcher *w = NULL;
    etcd_set_opts so = {0};
    etcd_res *r = NULL;
    size_t i;
    CHECK(raw != NULL && val != NULL);
    if (!raw || !val) goto out;
    for (i = 0; i < SIZE; i++) val[i] = (char)(i * 7 + i / 251);  /* NULs too */
    w = open_w(raw, k, false, NULL);
    CHECK(w != NULL);
    if (!w) goto out;
    so.val_len = SIZE;
    r = etcd_set(raw, k, val, &so);
    CHECK(r != NULL && r->status == 200);
    etcd_res_free(r);

    r = next_one(w);
    CHECK(r != NULL);
    if (r) {
        CHECK_STR(r->events[0].kv.key, k);
        CHECK_MEM(r->events[0].kv.value, r->events[0].kv.value_len, val, (size_t)SIZE);
        CHECK(r->events[0].kv.value[r->events[0].kv.value_len] == '\0');
    }
    etcd_res_free(r);
out:
    etcd_watchcancel(w);
    etcd_free(raw);
    free(val);
}

static void test_fd_poll(void)
{
    const char *k = "/tw/poll/k";
    etcd_watcher *w = open_w(cli, k, false, NULL);
    etcd_res *r;
    int fd;
    REQUIRE(w != NULL);
    fd = etcd_watch_fd(w);
    CHECK(fd >= 0);
    CHECK(fcntl(fd, F_GETFD) != -1);
    CHECK(!etcd_watch_pending(w));           /* nothing written yet */

    test_set(cli, k, "1");
    CHECK(test_watch_readable(w, 5000));
    r = next_one(w);
    CHECK(r != NULL);
    if (r) CHECK_STR(r->events[0].kv.value, "1");
    etcd_res_free(r);
    CHECK_INT(etcd_watch_fd(w), fd);
    CHECK_INT(etcd_watchcancel(w), 0);
}

/* The created message may come in the same read as the HTTP head, and many
   event messages in one read: poll-driven reading still gets every one. */
static void test_poll_driven_loop(void)
{
    enum { N = 20 };
    const char *k = "/tw/pollloop/k";
    etcd_watcher *w = etcd_watch(cli, k, NULL);
    etcd_res *r;
    int i, got = 0;
    REQUIRE(w != NULL);
    CHECK(test_watch_readable(w, 3000));
    r = next(w);
    CHECK(r != NULL && r->created);
    etcd_res_free(r);
    for (i = 0; i < N; i++) test_set(cli, k, "1");
    while (got < N && test_watch_readable(w, 3000)) {
        r = next(w);
        if (!r) break;
        got += (int)r->nevents;
        etcd_res_free(r);
    }
    CHECK_INT(got, N);
    CHECK_INT(etcd_watchcancel(w), 0);
}

static void test_empty_key(void)
{
    etcd_watcher *w = etcd_watch(cli, "", NULL);
    CHECK(w == NULL);
    etcd_watchcancel(w);
    CHECK_STR(etcd_errstr(cli), "key should not be empty");
    w = etcd_watch(cli, NULL, NULL);
    CHECK(w == NULL);
    etcd_watchcancel(w);
    CHECK_STR(etcd_errstr(cli), "key should not be empty");
}

/* Compacts the whole store: run after every test that reads old revisions. */
/* Kill and restart the member (same data, same port). */
static bool bounce(void)
{
    test_etcd_kill(&srv);
    if (test_etcd_restart(&srv) != 0) return false;
    return true;
}

/* Read until one message with events or a cancel arrives, riding out the
   "timeout"s of a watcher that is reconnecting (at most ~15 s). */
static etcd_res *next_event(etcd_watcher *w)
{
    double end = now() + 15;
    while (now() < end) {
        etcd_res *r = etcd_watch_next(w);
        if (r) return r;
        if (strcmp(etcd_watch_errstr(w), "timeout") != 0) {
            fprintf(stderr, "  etcd_watch_next: %s\n", etcd_watch_errstr(w));
            return NULL;
        }
    }
    return NULL;
}

/* A client whose endpoint comes back soon after a failure: a restart of
   etcd breaks the watch, which counts against the only endpoint. */
static etcd *resume_client(void)
{
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.fail_timeout = 0.5;
    return test_client(&srv, &o);
}

/* auto_resume across a restart of etcd: the writes made while the watcher
   was cut off arrive once each, in order, and nothing earlier repeats. */
static void test_auto_resume_restart(void)
{
    etcd *c = resume_client();
    etcd_watch_opts o = {0};
    etcd_watcher *w;
    etcd_res *r;
    const char *want[3] = { "/tw/resume/b", "/tw/resume/c", "/tw/resume/d" };
    int64_t rb = 0;
    int got = 0, i;
    REQUIRE(c);
    o.timeout = 0.5;
    o.auto_resume = true;
    w = open_w(c, "/tw/resume/", true, &o);
    if (!w) etcd_free(c);
    REQUIRE(w);
    test_set(c, "/tw/resume/a", "1");
    r = next_one(w);
    CHECK(r && !strcmp(r->events[0].kv.key, "/tw/resume/a"));
    etcd_res_free(r);
    if (!bounce()) { etcd_watchcancel(w); etcd_free(c); REQUIRE(false); }
    rb = test_set(c, want[0], "2");             /* the watcher has not noticed yet */
    test_set(c, want[1], "3");
    CHECK(rb > 0);
    while (got < 3) {
        r = next_event(w);
        if (!r) break;
        CHECK(!r->created && !r->canceled);
        for (i = 0; i < (int)r->nevents && got < 3; i++, got++) {
            CHECK_STR(r->events[i].kv.key, want[got]);
            CHECK_INT(r->events[i].kv.mod_revision, rb + got);
        }
        etcd_res_free(r);
        if (got == 2) test_set(c, want[2], "4");     /* and after the reopening */
    }
    CHECK_INT(got, 3);
    etcd_watchcancel(w);
    etcd_free(c);
}

/* auto_resume whose resume point was compacted meanwhile: the caller gets
   the canceled message with compact_revision instead of a silent gap. */
static void test_auto_resume_compacted(void)
{
    etcd *c = resume_client();
    etcd_watch_opts o = {0};
    etcd_watcher *w;
    etcd_res *r;
    int64_t rc;
    char body[64];
    REQUIRE(c);
    o.timeout = 0.5;
    o.auto_resume = true;
    w = open_w(c, "/tw/resumec/", true, &o);
    if (!w) etcd_free(c);
    REQUIRE(w);
    test_set(c, "/tw/resumec/a", "1");
    r = next_one(w);
    etcd_res_free(r);
    if (!bounce()) { etcd_watchcancel(w); etcd_free(c); REQUIRE(false); }
    test_set(c, "/tw/resumec/b", "2");
    rc = test_set(c, "/tw/resumec/c", "3");
    snprintf(body, sizeof body, "{\"revision\":\"%" PRId64 "\"}", rc);
    r = etcd_request(c, "/kv/compaction", body, 0);
    CHECK(r != NULL && r->status == 200);
    etcd_res_free(r);
    r = next_event(w);
    CHECK(r != NULL);
    if (r) {
        CHECK(r->canceled);
        CHECK_INT(r->compact_revision, rc);
    }
    etcd_res_free(r);
    etcd_watchcancel(w);
    etcd_free(c);
}

static void test_compacted_revision(void)
{
    const char *k = "/tw/compact/k";
    etcd_watch_opts o = {0};
    etcd_watcher *w;
    etcd_res *r;
    int64_t r1, r3;
    char body[64];
    int i;
    bool canceled = false;
    r1 = test_set(cli, k, "1");
    test_set(cli, k, "2");
    r3 = test_set(cli, k, "3");
    REQUIRE(r1 > 0 && r3 > 0);
    snprintf(body, sizeof body, "{\"revision\":\"%" PRId64 "\"}", r3);
    r = etcd_request(cli, "/kv/compaction", body, 0);
    CHECK(r != NULL && r->status == 200);
    etcd_res_free(r);

    o.start_revision = r1;
    w = etcd_watch(cli, k, &o);
    REQUIRE(w != NULL);
    for (i = 0; i < 3 && !canceled; i++) {   /* created first, then canceled */
        r = next(w);
        if (!r) break;
        if (r->canceled) {
            canceled = true;
            CHECK_INT(r->compact_revision, r3);
            CHECK_INT(r->nevents, 0);
        }
        etcd_res_free(r);
    }
    CHECK(canceled);
    if (canceled) {             /* the canceled message was the last: no "timeout" loop */
        double t0 = now();
        r = etcd_watch_next(w);
        CHECK(r == NULL);
        CHECK_HAS(etcd_watch_errstr(w), "compacted");
        CHECK(now() - t0 < 0.5);
        etcd_res_free(r);
    }
    CHECK_INT(etcd_watchcancel(w), 0);
}

static void test_dead_endpoint(void)
{
    char url[64], err[256];
    etcd_opts o;
    etcd *c;
    int probe;
    snprintf(url, sizeof url, "http://127.0.0.1:%d", test_free_port());
    for (probe = 0; probe < 2; probe++) {    /* with and without the /version probe */
        etcd_watcher *w;
        memset(&o, 0, sizeof o);
        o.http_host = url;
        o.timeout = 1;
        o.api_prefix = probe ? NULL : "/v3";
        c = etcd_new(&o, err, sizeof err);
        CHECK(c != NULL);
        if (!c) continue;
        w = etcd_watch(c, "/tw/dead", NULL);
        CHECK(w == NULL);
        etcd_watchcancel(w);
        CHECK(etcd_errstr(c)[0] != '\0');
        etcd_free(c);
    }
}

int main(void)
{
    RUN(test_dead_endpoint);
    RUN(test_start);
    if (cli) {
        RUN(test_put_and_delete_events);
        RUN(test_prev_kv);
        RUN(test_filter_noput);
        RUN(test_filter_nodelete);
        RUN(test_start_revision);
        RUN(test_watchdir);
        RUN(test_watchdir_key_prefix);
        RUN(test_watch_id);
        RUN(test_progress_notify);
        RUN(test_fragment);
        RUN(test_next_timeout_keeps_stream);
        RUN(test_watchcancel);
        RUN(test_client_usable_while_watching);
        RUN(test_txn_events_in_one_message);
        RUN(test_many_puts_in_order);
        RUN(test_large_value);
#ifdef TEST_HOOK   /* mk/hook.mk: a transport's handle is no fd to poll() (tests/test_hook.c waits on it) */
        (void)test_fd_poll; (void)test_poll_driven_loop;
        printf("skip test_fd_poll, test_poll_driven_loop: etcd_watch_fd is the test hook's handle, not a socket\n");
#else
        RUN(test_fd_poll);
        RUN(test_poll_driven_loop);
#endif
        RUN(test_empty_key);
        RUN(test_auto_resume_restart);
        RUN(test_auto_resume_compacted);
        RUN(test_compacted_revision);
    }
    etcd_free(cli);
    test_etcd_stop(&srv);
    return test_summary();
}
