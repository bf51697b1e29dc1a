/* allocs.c - allocations per get result, counted through etcd.h's allocator
   override (ETCD_MALLOC / ETCD_REALLOC / ETCD_FREE).

     allocs PORT N

   After 20 warm-up gets (connect, grow the reusable buffers), counts the
   calls of ETCD_MALLOC and ETCD_REALLOC during each of N rounds of one
   etcd_get of BENCH_GET_KEY + etcd_res_free. Prints
   "<median allocations per round> <max> <median mallocs> <median reallocs>"
   (an allocation: a malloc, or a realloc, which may move). */
#define _GNU_SOURCE          /* before any include */
#include <stdlib.h>

static long n_malloc, n_realloc;
static void *count_malloc(size_t n) { n_malloc++; return malloc(n); }
static void *count_realloc(void *p, size_t n) { n_realloc++; return realloc(p, n); }

#define ETCD_MALLOC(n)     count_malloc(n)
#define ETCD_REALLOC(p, n) count_realloc(p, n)
#define ETCD_FREE(p)       free(p)
#define ETCD_IMPLEMENTATION
#include "../etcd.h"
#include "common.h"

int main(int argc, char **argv)
{
    char url[64], err[256];
    etcd_opts o;
    etcd *cli;
    int64_t *tot, *mal, *rea, max = 0;
    long i, n;
    if (argc != 3 || (n = atol(argv[2])) < 1) {
        fprintf(stderr, "usage: allocs PORT N\n");
        return 2;
    }
    snprintf(url, sizeof url, "http://127.0.0.1:%d", atoi(argv[1]));
    memset(&o, 0, sizeof o);
    o.http_host = url;
    o.api_prefix = "/v3";
    o.max_fails = -1;
    if (!(cli = etcd_new(&o, err, sizeof err))) bench_die("etcd_new: %s", err);
    tot = (int64_t *)bench_xmalloc((size_t)n * sizeof *tot);
    mal = (int64_t *)bench_xmalloc((size_t)n * sizeof *mal);
    rea = (int64_t *)bench_xmalloc((size_t)n * sizeof *rea);
    for (i = -20; i < n; i++) {
        etcd_res *r;
        n_malloc = n_realloc = 0;
        r = etcd_get(cli, BENCH_GET_KEY, NULL);
        if (!r || r->status != 200 || r->nkvs != 1) bench_die("get: %s", r ? "bad answer" : etcd_errstr(cli));
        etcd_res_free(r);
        if (i < 0) continue;
        mal[i] = n_malloc;
        rea[i] = n_realloc;
        tot[i] = n_malloc + n_realloc;
        if (tot[i] > max) max = tot[i];
    }
    printf("%lld %lld %lld %lld\n", (long long)bench_median(tot, (size_t)n), (long long)max,
           (long long)bench_median(mal, (size_t)n), (long long)bench_median(rea, (size_t)n));
    etcd_free(cli);
    free(tot);
    free(mal);
    free(rea);
    return 0;
}
