/* test_snapshot.c - etcd_snapshot, etcd_snapshot_save and etcd_request_stream.

   Against a real etcd (tests/harness.h): a snapshot handed to a callback
   in order (its size is etcd's, its trailing sha256 checked), a saved
   file that etcdutl (3.5) or etcdctl (3.4) restores into an etcd holding
   the same keys, a callback that stops the stream, a path that cannot be
   written, memory bounded by a message whatever the database's size.
   Against scripted fake servers (tests/fakeserver.h), for what etcd never
   sends: a stream cut before its checksum, a wrong checksum, an error
   inside the stream; each refused, and nothing left on disk. */
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
#include "harness.h"
#include "fakeserver.h"

#include <sys/resource.h>
#include <sys/stat.h>

static test_etcd srv;
static etcd *cli;

typedef struct sink { char *p; size_t len, cap; int stop_after; int calls; } sink;

static int to_sink(void *arg, const void *data, size_t len)
{
    sink *s = (sink *)arg;
    s->calls++;
    if (s->stop_after && s->calls >= s->stop_after) return 1;
    if (s->len + len > s->cap) {
        size_t cap = (s->len + len) * 2;
        char *p = (char *)realloc(s->p, cap);
        if (!p) return 1;
        s->p = p;
        s->cap = cap;
    }
    memcpy(s->p + s->len, data, len);
    s->len += len;
    return 0;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* The snapshot's last 32 bytes are the sha256 of the rest. */
static void check_trailer(const sink *s)
{
    etcd__sha256 h;
    unsigned char sum[32];
    REQUIRE(s->len > 32);
    etcd__sha256_init(&h);
    etcd__sha256_add(&h, s->p, s->len - 32);
    etcd__sha256_end(&h, sum);
    CHECK(memcmp(sum, s->p + s->len - 32, 32) == 0);
}

static void test_to_callback(void)
{
    sink s;
    etcd_res *r;
    int i;
    char k[32];
    memset(&s, 0, sizeof s);
    for (i = 0; i < 50; i++) {
        snprintf(k, sizeof k, "/snap/k%02d", i);
        test_set(cli, k, "\"v\"");
    }
    r = etcd_snapshot(cli, NULL, to_sink, &s);
    CHECK(r != NULL);
    if (!r) fprintf(stderr, "  etcd_snapshot: %s\n", etcd_errstr(cli));
    CHECK_INT(etcd_errcode(cli), ETCD_OK);
    if (r) {
        CHECK_INT(r->snapshot_size, (long long)s.len);
        CHECK(r->snapshot_size > 4096);
    }
    check_trailer(&s);
    etcd_res_free(r);
    free(s.p);
}

static void test_callback_stops(void)
{
    sink s;
    memset(&s, 0, sizeof s);
    s.stop_after = 1;
    CHECK(etcd_snapshot(cli, NULL, to_sink, &s) == NULL);
    CHECK_INT(etcd_errcode(cli), ETCD_ECANCELED);
    CHECK_HAS(etcd_errstr(cli), "write() stopped it");
    CHECK(etcd_snapshot(cli, NULL, NULL, NULL) == NULL);
    CHECK_INT(etcd_errcode(cli), ETCD_EARG);
    free(s.p);
    {
        etcd_res *r = test_ok200(cli, etcd_get(cli, "/snap/k00", NULL));   /* the client is fine */
        CHECK(r != NULL);
        etcd_res_free(r);
    }
}

/* Is name an executable in PATH? (Looked up, not run: a child that fails
   to exec would stay under valgrind and count as a leak.) */
static bool on_path(const char *name)
{
    const char *p = getenv("PATH");
    char dir[1024];
    while (p && *p) {
        size_t n = strcspn(p, ":");
        if (n && n < sizeof dir - strlen(name) - 2) {
            snprintf(dir, sizeof dir, "%.*s/%s", (int)n, p, name);
            if (access(dir, X_OK) == 0) return true;
        }
        p += n + (p[n] == ':');
    }
    return false;
}

static void run_restore(const char *file, const test_etcd *into, char *datadir)
{
    char peer[64], cluster[96];
    const char *tool = on_path("etcdutl") ? "etcdutl" : "etcdctl";   /* 3.4: etcdctl restores */
    const char *argv[16];
    int n = 0;
    snprintf(peer, sizeof peer, "http://127.0.0.1:%d", into->peer_port);
    snprintf(cluster, sizeof cluster, "default=%s", peer);
    argv[n++] = tool; argv[n++] = "snapshot"; argv[n++] = "restore"; argv[n++] = file;
    argv[n++] = "--data-dir"; argv[n++] = datadir; argv[n++] = "--name"; argv[n++] = "default";
    argv[n++] = "--initial-cluster"; argv[n++] = cluster;
    argv[n++] = "--initial-advertise-peer-urls"; argv[n++] = peer;
    argv[n] = NULL;
    setenv("ETCDCTL_API", "3", 1);
    CHECK_INT(th__run(argv, NULL, 0, NULL), 0);
}

/* The saved file restores into an etcd holding the same keys. */
static void test_save_restore(void)
{
    char dir[] = "/tmp/etcdh-snap-XXXXXX", path[300], part[310], datadir[400];
    const char *rm[] = { "rm", "-rf", NULL, NULL };
    test_etcd other;
    etcd *oc;
    etcd_res *r;
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/backup.db", dir);
    snprintf(part, sizeof part, "%s.part", path);
    test_set(cli, "/snap/restored", "\"yes\"");
    r = etcd_snapshot_save(cli, srv.url, path);
    CHECK(r != NULL);
    if (!r) fprintf(stderr, "  etcd_snapshot_save: %s\n", etcd_errstr(cli));
    CHECK(!file_exists(part));
    if (r) CHECK_INT(file_size(path), r->snapshot_size);
    etcd_res_free(r);

    memset(&other, 0, sizeof other);
    if (test_etcd_start(&other, NULL) != 0) { CHECK(!"a second etcd"); goto out; }
    test_etcd_kill(&other);
    snprintf(datadir, sizeof datadir, "%s/data", other.dir);
    rm[2] = datadir;
    th__run(rm, NULL, 0, NULL);
    run_restore(path, &other, datadir);
    REQUIRE(test_etcd_restart(&other) == 0);
    oc = test_client(&other, NULL);
    r = oc ? test_ok200(oc, etcd_get(oc, "/snap/restored", NULL)) : NULL;
    CHECK(r && r->nkvs == 1);
    if (r && r->nkvs) CHECK_STR(r->kvs[0].value, "\"yes\"");
    etcd_res_free(r);
    etcd_free(oc);
    test_etcd_stop(&other);
out:
    unlink(path);
    rmdir(dir);
}

static void test_save_bad_path(void)
{
    CHECK(etcd_snapshot_save(cli, NULL, "/nonexistent-dir-etcdh/x.db") == NULL);
    CHECK_INT(etcd_errcode(cli), ETCD_EARG);
    CHECK_HAS(etcd_errstr(cli), "x.db.part");
    CHECK(etcd_snapshot_save(cli, NULL, "") == NULL);
    CHECK_INT(etcd_errcode(cli), ETCD_EARG);
    CHECK(etcd_snapshot(cli, "not a url", to_sink, NULL) == NULL);
    CHECK_INT(etcd_errcode(cli), ETCD_EARG);
}

/* Resident KiB now (/proc/self/statm); -1 where there is none. */
static long rss_kb(void)
{
    long size, res;
    FILE *f = fopen("/proc/self/statm", "r");
    int ok = f && fscanf(f, "%ld %ld", &size, &res) == 2;
    if (f) fclose(f);
    return ok ? res * (sysconf(_SC_PAGESIZE) / 1024) : -1;
}

typedef struct counter { size_t bytes; long max_rss; unsigned calls; } counter;

static int to_nothing(void *arg, const void *data, size_t len)
{
    counter *c = (counter *)arg;
    long r;
    (void)data;
    c->bytes += len;
    if (c->calls++ % 16 == 0 && (r = rss_kb()) > c->max_rss) c->max_rss = r;
    return 0;
}

/* ASan's quarantine and valgrind's freed-block queue keep freed memory
   resident: the figure means something only in a plain run. */
#if defined(__SANITIZE_ADDRESS__)
#define ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN 1
#endif
#endif

static bool under_valgrind(void)
{
    const char *p = getenv("LD_PRELOAD");
    return p && strstr(p, "vgpreload");
}

/* A database of SNAP_MB megabytes (default 16) streamed to a callback
   that keeps nothing: the resident set grows by a few messages, not by
   the database. SNAP_MB=100 gives the closing note's figure. */
static void test_memory_bounded(void)
{
    const char *mb_env = getenv("SNAP_MB");
    int mb = mb_env ? atoi(mb_env) : 16, i;
    char *val = (char *)malloc(1 << 20 | 1), k[32];
    counter cnt;
    long before;
    bool judged;
    etcd_set_opts o;
    etcd_res *r;
    REQUIRE(val != NULL);
    memset(val, 'x', 1 << 20);                      /* a JSON string: the client's serializer is JSON */
    val[0] = val[(1 << 20) - 1] = '"';
    val[1 << 20] = 0;
    memset(&o, 0, sizeof o);
    o.val_len = 1 << 20;
    for (i = 0; i < mb; i++) {
        snprintf(k, sizeof k, "/big/%04d", i);
        val[1] = (char)('a' + i % 26);              /* distinct values: no dedup anywhere */
        r = etcd_set(cli, k, val, &o);
        CHECK(r && r->status == 200);
        etcd_res_free(r);
    }
    free(val);
    memset(&cnt, 0, sizeof cnt);
    before = cnt.max_rss = rss_kb();
    r = etcd_snapshot(cli, NULL, to_nothing, &cnt);
    CHECK(r != NULL);
    CHECK((long long)cnt.bytes >= (long long)mb << 20);
    fprintf(stderr, "  (info) a %zu-byte snapshot: resident %ld KiB before, at most %ld KiB during (+%ld KiB)\n",
            cnt.bytes, before, cnt.max_rss, cnt.max_rss - before);
    judged = !under_valgrind();
#ifdef ASAN
    judged = false;
#endif
    if (judged) CHECK(before < 0 || cnt.max_rss - before < 4 * 1024);
    etcd_res_free(r);
}

/* ---- fake servers ------------------------------------------------------ */

typedef enum { FAKE_GOOD, FAKE_SHORT, FAKE_BAD_SUM, FAKE_ERROR } fake_mode;

static void b64(const unsigned char *in, size_t n, char *out)
{
    etcd__buf b;
    memset(&b, 0, sizeof b);
    etcd__b64_encode(&b, in, n);
    memcpy(out, b.p, b.len + 1);
    free(b.p);
}

static void fake_snapshot(fs_conn *c)
{
    fake_mode mode = *(const fake_mode *)c->srv->arg;
    unsigned char data[3000], sum[32];
    char enc[8192], msg[9000];
    etcd__sha256 h;
    size_t i;
    if (fs_read_req(c) < 0) return;
    for (i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i * 7);
    fs_sends(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
    b64(data, sizeof data, enc);
    snprintf(msg, sizeof msg, "{\"result\":{" FS_HDR("9") ",\"remaining_bytes\":\"0\",\"blob\":\"%s\"}}\n", enc);
    fs_chunk(c, msg, strlen(msg));
    if (mode == FAKE_ERROR) {
        const char *e = "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"etcdserver: leader changed\"}}\n";
        fs_chunk(c, e, strlen(e));
    } else if (mode != FAKE_SHORT) {
        etcd__sha256_init(&h);
        etcd__sha256_add(&h, data, sizeof data);
        etcd__sha256_end(&h, sum);
        if (mode == FAKE_BAD_SUM) sum[5] ^= 1;
        b64(sum, 32, enc);
        snprintf(msg, sizeof msg, "{\"result\":{" FS_HDR("9") ",\"blob\":\"%s\"}}\n", enc);
        fs_chunk(c, msg, strlen(msg));
    }
    fs_chunk(c, "", 0);                        /* the end of the chunked body */
    fs_wait_close(c, 2.0);
}

static etcd *fake_client(fs_server *s)
{
    etcd_opts o;
    char err[256];
    etcd *c;
    memset(&o, 0, sizeof o);
    o.http_host = s->url;
    o.api_prefix = "/v3";
    o.timeout = 2.0;
    c = etcd_new(&o, err, sizeof err);
    if (!c) fprintf(stderr, "  etcd_new: %s\n", err);
    return c;
}

static void fake_case(fake_mode mode, etcd_err want, const char *text)
{
    char dir[] = "/tmp/etcdh-snapf-XXXXXX", path[300], part[310];
    fs_server *s;
    etcd *c;
    etcd_res *r;
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/b.db", dir);
    snprintf(part, sizeof part, "%s.part", path);
    s = fs_start(FS_TCP4, NULL, fake_snapshot, &mode);
    REQUIRE(s != NULL);
    c = fake_client(s);
    REQUIRE(c != NULL);
    r = etcd_snapshot_save(c, NULL, path);
    if (want == ETCD_OK) {
        CHECK(r != NULL);
        if (!r) fprintf(stderr, "  %s\n", etcd_errstr(c));
        CHECK_INT(file_size(path), 3032);
        CHECK(r && r->snapshot_size == 3032);
    } else {
        CHECK(r == NULL);
        CHECK_INT(etcd_errcode(c), want);
        CHECK_HAS(etcd_errstr(c), text);
        CHECK(!file_exists(path));
    }
    CHECK(!file_exists(part));
    CHECK_STR(fs_get(s, 0) ? fs_get(s, 0)->target : "", "/v3/maintenance/snapshot");
    etcd_res_free(r);
    etcd_free(c);
    fs_stop(s);
    unlink(path);
    rmdir(dir);
}

static void test_fake_streams(void)
{
    fake_case(FAKE_GOOD, ETCD_OK, "");
    fake_case(FAKE_SHORT, ETCD_EPROTO, "3000 bytes are not a whole snapshot");
    fake_case(FAKE_BAD_SUM, ETCD_EPROTO, "3032 bytes are not a whole snapshot");
    fake_case(FAKE_ERROR, ETCD_ESERVER, "leader changed");
}

/* etcd_request_stream: a streaming path's messages as they come; the end
   of the stream ends the watcher with ETCD_OK. */
static void test_request_stream(void)
{
    etcd_watcher *w = etcd_request_stream(cli, "/maintenance/snapshot", NULL, NULL);
    etcd_res *m;
    size_t bytes = 0;
    int msgs = 0;
    REQUIRE(w != NULL);
    while ((m = etcd_watch_next(w)) != NULL) {
        bytes += m->blob.len;
        msgs++;
        etcd_res_free(m);
    }
    CHECK_INT(etcd_watch_errcode(w), ETCD_OK);
    CHECK_STR(etcd_watch_errstr(w), "the stream ended");
    CHECK(msgs >= 2 && bytes > 4096);
    CHECK_INT(etcd_watch_state(w, NULL), ETCD_WATCH_ENDED);
    etcd_watchcancel(w);
    CHECK(etcd_request_stream(cli, "no slash", NULL, NULL) == NULL);
    CHECK_INT(etcd_errcode(cli), ETCD_EARG);
    CHECK(etcd_request_stream(cli, "/watch", "{not json", NULL) == NULL);
    CHECK_INT(etcd_errcode(cli), ETCD_EARG);
}

int main(void)
{
    (void)fs_go; (void)fs_wait_go; (void)fs_free_port; (void)fs_reset; (void)fs_send_slow;
    (void)fs_header; (void)fs_get_ok; (void)fs_respond; (void)fs_nreqs; (void)fs_accepts;
    RUN(test_fake_streams);
    if (test_etcd_start(&srv, NULL) != 0) return 1;
    cli = test_client(&srv, NULL);
    if (cli) {
        RUN(test_to_callback);
        RUN(test_callback_stops);
        RUN(test_request_stream);
        RUN(test_save_bad_path);
        RUN(test_save_restore);
        RUN(test_memory_bounded);
    }
    etcd_free(cli);
    test_etcd_stop(&srv);
    return test_summary();
}
