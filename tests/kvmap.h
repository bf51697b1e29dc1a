/* kvmap.h - a key -> value map for the tests that rebuild a directory from
   watch or mirror messages and compare it with a readdir.

   Include after etcd.h (for etcd_res / etcd_kv). A zeroed kvmap is empty;
   its buckets are allocated on first use and released by map_free. Keys and
   values are copied, NUL-terminated at their lengths. Out of memory ends the
   program (exit 2). */
#ifndef ETCD_TEST_KVMAP_H
#define ETCD_TEST_KVMAP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define KVMAP__UNUSED __attribute__((unused))
#else
#define KVMAP__UNUSED
#endif

#ifndef MAP_BUCKETS
#define MAP_BUCKETS 16384     /* a user may define it first */
#endif

typedef struct ment {
    struct ment *next;
    int64_t mod;             /* what map_set was given (a mod_revision, or 0) */
    size_t kl, vl;
    char *k, *v;             /* in the same allocation, after the entry */
} ment;

typedef struct kvmap {
    ment **b;                /* MAP_BUCKETS chains, or NULL until first use */
    long n;                  /* entries */
} kvmap;

static void kvmap__oom(void)
{
    fprintf(stderr, "kvmap: out of memory\n");
    exit(2);
}

static size_t map_slot(const char *k, size_t kl)
{
    uint64_t h = 1469598103934665603ULL;
    size_t i;
    for (i = 0; i < kl; i++) h = (h ^ (unsigned char)k[i]) * 1099511628211ULL;
    return (size_t)(h % MAP_BUCKETS);
}

/* Allocate the buckets now rather than on first use. */
static void map_init(kvmap *m)
{
    if (!m->b && !(m->b = (ment **)calloc(MAP_BUCKETS, sizeof *m->b))) kvmap__oom();
}

/* Where key k (kl bytes) is or would go: *result is its entry or NULL. */
static ment **map_find(kvmap *m, const char *k, size_t kl)
{
    ment **p;
    map_init(m);
    p = &m->b[map_slot(k, kl)];
    while (*p && !((*p)->kl == kl && memcmp((*p)->k, k, kl) == 0)) p = &(*p)->next;
    return p;
}

/* Remove key k; false if the map did not hold it. */
static bool map_del(kvmap *m, const char *k, size_t kl)
{
    ment **p = map_find(m, k, kl), *e = *p;
    if (!e) return false;
    *p = e->next;
    free(e);
    m->n--;
    return true;
}

/* Set key k to value v, noting mod with it. */
static void map_set(kvmap *m, const char *k, size_t kl, const char *v, size_t vl, int64_t mod)
{
    ment **p, *e;
    map_del(m, k, kl);
    e = (ment *)malloc(sizeof *e + kl + vl + 2);
    if (!e) kvmap__oom();
    e->k = (char *)(e + 1);
    e->v = e->k + kl + 1;
    memcpy(e->k, k, kl);
    e->k[kl] = '\0';
    memcpy(e->v, v, vl);
    e->v[vl] = '\0';
    e->kl = kl;
    e->vl = vl;
    e->mod = mod;
    p = &m->b[map_slot(k, kl)];
    e->next = *p;
    *p = e;
    m->n++;
}

/* Remove every entry (the buckets stay). */
static void map_clear(kvmap *m)
{
    size_t i;
    if (m->b)
        for (i = 0; i < MAP_BUCKETS; i++)
            while (m->b[i]) {
                ment *e = m->b[i];
                m->b[i] = e->next;
                free(e);
            }
    m->n = 0;
}

/* Remove every entry and release the buckets: the map is zeroed. */
static KVMAP__UNUSED void map_free(kvmap *m)
{
    map_clear(m);
    free(m->b);
    m->b = NULL;
}

/* Compare the map with the kvs of r (a readdir's result): *missing counts
   r's keys the map lacks, *differ those it holds with another value (the
   first of each is printed). Returns *missing + *differ, plus one when the
   map holds another number of keys than r. */
static KVMAP__UNUSED long map_compare(kvmap *m, const etcd_res *r, long *missing, long *differ)
{
    size_t i;
    *missing = *differ = 0;
    for (i = 0; i < r->nkvs; i++) {
        const etcd_kv *kv = &r->kvs[i];
        ment *e = *map_find(m, kv->key, kv->key_len);
        if (!e) {
            if (!(*missing)++) fprintf(stderr, "  %s is in etcd, not in the map\n", kv->key);
        } else if (e->vl != kv->value_len || memcmp(e->v, kv->value, e->vl) != 0) {
            if (!(*differ)++) fprintf(stderr, "  %s is %s in etcd, %.*s in the map\n", kv->key, kv->value,
                                      (int)e->vl, e->v);
        }
    }
    return *missing + *differ + ((size_t)m->n != r->nkvs);
}

#endif
