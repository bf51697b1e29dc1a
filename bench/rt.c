/* rt.c - round trips over one keep-alive connection, for etcd.h and two C
   baselines, one batch per process (bench/run.sh interleaves the batches).

     rt CLIENT OP PORT N WARMUP EXPECT
         CLIENT etcdh | paged | raw | curl; OP get | put | readdir (1,000 keys under
         /bench/rd1k/) | big (every key under /bench/big/). WARMUP calls
         (which also connect), then N timed calls; prints
         "<wall ns per call> <client CPU ns per call>". EXPECT: the number
         of kvs etcd.h must decode per read (checked on every call).
         CLIENT may be a comma-separated list (etcdh,raw,curl): one process
         holds every client, each on its own connection, and they take
         turns in blocks of N/50 calls (1 when N < 100; the order rotates);
         one line per client, in the order given.
     rt CLIENT rss PORT big EXPECT
         fork a child that connects, reads every key under /bench/big/ once
         and exits; prints "<child's peak RSS in KiB> <body bytes>" (wait4).
         paged: etcd.h's etcd_readdir_pages, pages of 1,000 keys, freed as
         they come (body bytes: the pages' sum).
     rt load PORT PREFIX COUNT
         put COUNT keys PREFIX%06d (100-byte values), txns of 128 puts (raw
         HTTP: the load does not depend on etcd.h).
     rt capture PORT DIR FILE
         write the body of a readdir of DIR (raw HTTP) into FILE.

   raw: pre-built request bytes written to the socket, the answer read by
   Content-Length or chunked framing into a reused buffer, nothing decoded.
   curl: one reused easy handle, the body appended to a reused buffer, not
   decoded. etcd.h: the public API, default options but the api prefix
   (no version probe), a long timeout and no health checks. */
#define _GNU_SOURCE          /* memmem, wait4; before any include */
#include "../etcd.h"
#include "common.h"

#include <sys/resource.h>
#include <sys/wait.h>
#ifndef BENCH_NO_CURL             /* built without libcurl: the curl client fails */
#include <curl/curl.h>
#else
typedef void CURL;
struct curl_slist;
#endif

typedef struct client {
    const char *kind;                 /* "etcdh", "paged", "raw", "curl" */
    int port;
    etcd *cli;
    bench_conn raw;
    CURL *curl;
    struct curl_slist *hdrs;
    bench_buf cbody;
    bench_buf body, req;              /* the op's JSON body; raw: the whole request */
    char url[128];
    const char *op, *key;
    size_t expect;
    size_t last_len;                  /* body bytes of the last answer */
} client;

#ifndef BENCH_NO_CURL
static size_t curl_write(char *p, size_t size, size_t n, void *ud)
{
    bench_buf_add((bench_buf *)ud, p, size * n);
    return size * n;
}
#endif

static void client_open(client *c, const char *kind, int port, const char *op, size_t expect)
{
    const char *path;
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->port = port;
    c->op = op;
    c->expect = expect;
    if (!strcmp(op, "get")) c->key = BENCH_GET_KEY;
    else if (!strcmp(op, "put")) c->key = BENCH_PUT_KEY;
    else if (!strcmp(op, "readdir")) c->key = BENCH_RD1K;
    else if (!strcmp(op, "big")) c->key = BENCH_BIG;
    else bench_die("unknown op %s", op);
    path = !strcmp(op, "put") ? "/v3/kv/put" : "/v3/kv/range";
    if (!strcmp(op, "put")) bench_body_put(&c->body, c->key, bench_value());
    else if (!strcmp(op, "get")) bench_body_get(&c->body, c->key);
    else bench_body_readdir(&c->body, c->key);

    if (!strcmp(kind, "etcdh") || !strcmp(kind, "paged")) {
        char err[256];
        etcd_opts o;
        snprintf(c->url, sizeof c->url, "http://127.0.0.1:%d", port);
        memset(&o, 0, sizeof o);
        o.http_host = c->url;
        o.api_prefix = "/v3";
        o.timeout = 600;
        o.max_fails = -1;
        if (!(c->cli = etcd_new(&o, err, sizeof err))) bench_die("etcd_new: %s", err);
    } else if (!strcmp(kind, "raw")) {
        bench_http_post(&c->req, port, path, &c->body);
        bench_conn_open(&c->raw, port);
    } else if (!strcmp(kind, "curl")) {
#ifdef BENCH_NO_CURL
        bench_die("built without libcurl (no curl/curl.h)");
#else
        snprintf(c->url, sizeof c->url, "http://127.0.0.1:%d%s", port, path);
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(c->curl = curl_easy_init()))
            bench_die("curl init failed");
        c->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
        curl_easy_setopt(c->curl, CURLOPT_URL, c->url);
        curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->hdrs);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, c->body.p);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)c->body.len);
        curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, curl_write);
        curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &c->cbody);
        curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
#endif
    } else {
        bench_die("unknown client %s", kind);
    }
}

/* Every key under c->key, a page at a time: only one page is ever held. */
static void paged_call(client *c)
{
    etcd_pager *p = etcd_readdir_pages(c->cli, c->key, NULL);
    etcd_res *r;
    size_t n = 0;
    if (!p) bench_die("etcd_readdir_pages: %s", etcd_errstr(c->cli));
    c->last_len = 0;
    while ((r = etcd_pager_next(p)) != NULL) {
        n += r->nkvs;
        c->last_len += r->body_len;
        etcd_res_free(r);
    }
    if (etcd_errcode(c->cli) != ETCD_OK) bench_die("etcd_pager_next: %s", etcd_errstr(c->cli));
    if (n != c->expect) bench_die("paged readdir: %zu kvs, expected %zu", n, c->expect);
    etcd_pager_free(p);
}

static void client_call(client *c)
{
    if (c->cli && !strcmp(c->kind, "paged")) {
        paged_call(c);
    } else if (c->cli) {
        etcd_res *r = !strcmp(c->op, "put") ? etcd_set(c->cli, c->key, bench_value(), NULL)
                    : !strcmp(c->op, "get") ? etcd_get(c->cli, c->key, NULL)
                    : etcd_readdir(c->cli, c->key, NULL);
        if (!r) bench_die("etcd.h %s: %s", c->op, etcd_errstr(c->cli));
        if (r->status != 200) bench_die("etcd.h %s: HTTP %d", c->op, r->status);
        if (strcmp(c->op, "put") != 0 && r->nkvs != c->expect)
            bench_die("etcd.h %s: %zu kvs, expected %zu", c->op, r->nkvs, c->expect);
        c->last_len = r->body_len;
        etcd_res_free(r);
    } else if (c->curl) {
#ifndef BENCH_NO_CURL
        long code = 0;
        CURLcode e;
        c->cbody.len = 0;
        if ((e = curl_easy_perform(c->curl)) != CURLE_OK) bench_die("curl: %s", curl_easy_strerror(e));
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
        if (code != 200) bench_die("curl %s: HTTP %ld", c->op, code);
        c->last_len = c->cbody.len;
#endif
    } else {
        bench_roundtrip(&c->raw, &c->req);
        c->last_len = c->raw.body.len;
    }
}

static void client_close(client *c)
{
    if (c->cli) etcd_free(c->cli);
#ifndef BENCH_NO_CURL
    if (c->curl) {
        curl_easy_cleanup(c->curl);
        curl_slist_free_all(c->hdrs);
        curl_global_cleanup();
    }
#endif
    if (c->raw.fd > 0) bench_conn_close(&c->raw);
    free(c->cbody.p);
    free(c->body.p);
    free(c->req.p);
}

static int do_load(int port, const char *prefix, long count)
{
    bench_conn c;
    long i;
    bench_conn_open(&c, port);
    for (i = 0; i < count; i += 128) {
        bench_buf body = { NULL, 0, 0 }, req = { NULL, 0, 0 };
        bench_body_txn_puts(&body, prefix, i, count - i < 128 ? count - i : 128);
        bench_http_post(&req, port, "/v3/kv/txn", &body);
        bench_roundtrip(&c, &req);
        free(body.p);
        free(req.p);
    }
    bench_conn_close(&c);
    return 0;
}

static int do_capture(int port, const char *dir, const char *file)
{
    bench_conn c;
    bench_buf body = { NULL, 0, 0 }, req = { NULL, 0, 0 };
    FILE *f;
    bench_body_readdir(&body, dir);
    bench_http_post(&req, port, "/v3/kv/range", &body);
    bench_conn_open(&c, port);
    bench_roundtrip(&c, &req);
    if (!(f = fopen(file, "wb"))) bench_die("%s: %s", file, strerror(errno));
    if (fwrite(c.body.p, 1, c.body.len, f) != c.body.len || fclose(f) != 0)
        bench_die("%s: write failed", file);
    printf("%zu\n", c.body.len);
    bench_conn_close(&c);
    free(body.p);
    free(req.p);
    return 0;
}

int main(int argc, char **argv)
{
    client c;
    long n, warm, i;
    int port;

    if (argc == 5 && !strcmp(argv[1], "load")) return do_load(atoi(argv[2]), argv[3], atol(argv[4]));
    if (argc == 5 && !strcmp(argv[1], "capture")) return do_capture(atoi(argv[2]), argv[3], argv[4]);
    if (argc == 6 && !strcmp(argv[2], "rss")) {
        struct rusage ru;
        int status, p[2];
        char buf[64] = "";
        ssize_t got;
        pid_t pid;
        if (pipe(p) != 0) bench_die("pipe: %s", strerror(errno));
        fflush(stdout);
        if ((pid = fork()) < 0) bench_die("fork: %s", strerror(errno));
        if (pid == 0) {
            close(p[0]);
            client_open(&c, argv[1], atoi(argv[3]), argv[4], (size_t)atol(argv[5]));
            client_call(&c);
            snprintf(buf, sizeof buf, "%zu", c.last_len);
            if (write(p[1], buf, strlen(buf)) < 0) _exit(1);
            _exit(0);                  /* the peak is taken; no need to free */
        }
        close(p[1]);
        got = read(p[0], buf, sizeof buf - 1);
        buf[got > 0 ? got : 0] = '\0';
        close(p[0]);
        if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || !buf[0])
            bench_die("rss child for %s failed", argv[1]);
        printf("%ld %s\n", ru.ru_maxrss, buf);
        return 0;
    }
    if (argc != 7) {
        fprintf(stderr, "usage: rt CLIENT OP PORT N WARMUP EXPECT | rt CLIENT rss PORT big EXPECT |\n"
                        "       rt load PORT PREFIX COUNT | rt capture PORT DIR FILE\n");
        return 2;
    }
    port = atoi(argv[3]);
    n = atol(argv[4]);
    warm = atol(argv[5]);
    if (n < 1 || warm < 1) bench_die("N and WARMUP must be >= 1");
    {
        /* CLIENT may be a list ("etcdh,raw,curl"): the clients then take
           turns in blocks of N/50 calls (1 when N < 100), the order rotating from block
           to block, so that drift in etcd's speed hits them alike. */
        client cs[4];
        int64_t wall[4] = { 0, 0, 0, 0 }, cpu[4] = { 0, 0, 0, 0 };
        char list[64], *save = NULL, *name;
        long block, done, b;
        int k, nc = 0;
        snprintf(list, sizeof list, "%s", argv[1]);
        for (name = strtok_r(list, ",", &save); name && nc < 4; name = strtok_r(NULL, ",", &save))
            client_open(&cs[nc++], name, port, argv[2], (size_t)atol(argv[6]));
        for (k = 0; k < nc; k++)
            for (i = 0; i < warm; i++) client_call(&cs[k]);
        block = nc == 1 ? n : n >= 100 ? n / 50 : 1;
        for (done = 0, b = 0; done < n; done += block, b++) {
            long m = n - done < block ? n - done : block;
            for (k = 0; k < nc; k++) {
                client *c1 = &cs[(k + b) % nc];
                int64_t tw = bench_now_ns(), tc = bench_cpu_ns();
                for (i = 0; i < m; i++) client_call(c1);
                cpu[(k + b) % nc] += bench_cpu_ns() - tc;
                wall[(k + b) % nc] += bench_now_ns() - tw;
            }
        }
        for (k = 0; k < nc; k++) {
            printf("%.1f %.1f\n", (double)wall[k] / (double)n, (double)cpu[k] / (double)n);
            client_close(&cs[k]);
        }
    }
    return 0;
}
