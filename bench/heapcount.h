/* heapcount.h - an allocator override for etcd.h that counts the bytes
   etcd.h holds: every block carries its size in 16 bytes in front (which
   keeps alignment), so live bytes are what etcd.h asked for, not the
   allocator's overhead. Include before etcd.h; bench/heap.c and
   tests/test_heap.c read hc_live and hc_allocs (malloc + realloc calls). */
#ifndef BENCH_HEAPCOUNT_H
#define BENCH_HEAPCOUNT_H
#include <stdlib.h>

static long long hc_live, hc_allocs;

static void *hc_malloc(size_t n)
{
    size_t *p = (size_t *)malloc(n + 16);
    if (!p) return NULL;
    *p = n;
    hc_live += (long long)n;
    hc_allocs++;
    return (char *)p + 16;
}

static void hc_free(void *q)
{
    size_t *p;
    if (!q) return;
    p = (size_t *)((char *)q - 16);
    hc_live -= (long long)*p;
    free(p);
}

static void *hc_realloc(void *q, size_t n)
{
    size_t *p = q ? (size_t *)((char *)q - 16) : NULL, old = p ? *p : 0;
    hc_allocs++;
    if (!(p = (size_t *)realloc(p, n + 16))) return NULL;
    *p = n;
    hc_live += (long long)n - (long long)old;
    return (char *)p + 16;
}

#define ETCD_MALLOC(n)     hc_malloc(n)
#define ETCD_REALLOC(p, n) hc_realloc(p, n)
#define ETCD_FREE(p)       hc_free(p)
#endif
