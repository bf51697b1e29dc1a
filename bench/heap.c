/* heap.c - the heap a client holds, counted through etcd.h's allocator
   override (ETCD_MALLOC / ETCD_REALLOC / ETCD_FREE) with a size header on
   every block (heapcount.h): live bytes, not the allocator's own overhead.

     heap PORT [READ_STEP]

   Against the bench's etcd (BENCH_GET_KEY loaded). Prints one line
   "<name> <bytes>" per figure:
     new        after etcd_new (no call yet)
     first      after the first get (its result freed): an idle client
     get100     after 100 more small gets
     watch      per open watch (10 watchdirs, each past its first event),
                the client's own bytes not counted
     keeper     one lease keeper, granted and ticked
     w2k        a client with 2 watches and a lease keeper, all of it
     allocs     allocations (malloc + realloc) per small get, median */
#define _GNU_SOURCE
#include "heapcount.h"
#define ETCD_IMPLEMENTATION
#include "../etcd.h"
#include "common.h"

static void get(etcd *cli)
{
    etcd_res *r = etcd_get(cli, BENCH_GET_KEY, NULL);
    if (!r || r->status != 200 || r->nkvs != 1) bench_die("get: %s", r ? "bad answer" : etcd_errstr(cli));
    etcd_res_free(r);
}

static void put(etcd *cli, const char *key)
{
    etcd_res *r = etcd_set(cli, key, "1", NULL);
    if (!r || r->status != 200) bench_die("put: %s", r ? "bad answer" : etcd_errstr(cli));
    etcd_res_free(r);
}

/* A watchdir of BENCH_WATCH past its first event. */
static etcd_watcher *watch(etcd *cli, etcd *writer)
{
    etcd_watcher *w = etcd_watchdir(cli, BENCH_WATCH, NULL);
    etcd_res *r;
    int tries;
    if (!w) bench_die("etcd_watchdir: %s", etcd_errstr(cli));
    put(writer, BENCH_WATCH "heap");
    for (tries = 0; tries < 10; tries++) {
        if (!(r = etcd_watch_next(w))) bench_die("etcd_watch_next: %s", etcd_watch_errstr(w));
        if (r->nevents) { etcd_res_free(r); return w; }
        etcd_res_free(r);
    }
    bench_die("no event on the watch");
}

static int cmp(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    char url[64], err[256];
    etcd_opts o;
    etcd *cli, *writer;
    etcd_watcher *w[10];
    etcd_lease *l;
    long long base, with, n[51];
    int i;
    if (argc < 2) { fprintf(stderr, "usage: heap PORT [READ_STEP]\n"); return 2; }
    snprintf(url, sizeof url, "http://127.0.0.1:%d", atoi(argv[1]));
    memset(&o, 0, sizeof o);
    o.http_host = url;
    o.api_prefix = "/v3";
    if (argc > 2) o.read_step = (size_t)atol(argv[2]);
    if (!(writer = etcd_new(&o, err, sizeof err))) bench_die("etcd_new: %s", err);
    base = hc_live;
    if (!(cli = etcd_new(&o, err, sizeof err))) bench_die("etcd_new: %s", err);
    printf("new %lld\n", hc_live - base);
    get(cli);
    printf("first %lld\n", hc_live - base);
    for (i = 0; i < 100; i++) get(cli);
    printf("get100 %lld\n", hc_live - base);
    for (i = 0; i < 51; i++) {
        hc_allocs = 0;
        get(cli);
        n[i] = hc_allocs;
    }
    qsort(n, 51, sizeof *n, cmp);
    with = hc_live;
    for (i = 0; i < 10; i++) w[i] = watch(cli, writer);
    printf("watch %lld\n", (hc_live - with) / 10);
    for (i = 0; i < 10; i++) etcd_watchcancel(w[i]);
    with = hc_live;
    if (!(l = etcd_lease_keep(cli, 60, 0))) bench_die("etcd_lease_keep: %s", etcd_errstr(cli));
    etcd_lease_tick(l);
    printf("keeper %lld\n", hc_live - with);
    for (i = 0; i < 2; i++) w[i] = watch(cli, writer);
    printf("w2k %lld\n", hc_live - base);
    printf("allocs %lld\n", n[25]);
    for (i = 0; i < 2; i++) etcd_watchcancel(w[i]);
    etcd_lease_stop(l, true);
    etcd_free(cli);
    etcd_free(writer);
    return hc_live == 0 ? 0 : (fprintf(stderr, "heap: %lld bytes still hc_live\n", hc_live), 1);
}
