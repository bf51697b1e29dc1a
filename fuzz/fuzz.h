/* fuzz.h - what the libFuzzer targets in fuzz/ share: a check that aborts
   (so libFuzzer keeps the input as a crash), exact-size copies (so ASan
   sees every overread), and fuzzer-chosen read sizes.

   Not a target: each fuzz/<name>.c defines ETCD_IMPLEMENTATION, includes
   etcd.h, then this. Build and run them all with `make fuzz` (mk/fuzz.mk),
   or one by hand:
       clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
             -std=c99 -Wall -Wextra -Wpedantic -Werror -I. -o /tmp/json fuzz/json.c
       /tmp/json -max_total_time=20 fuzz/corpus/json */
#ifndef ETCD_FUZZ_H
#define ETCD_FUZZ_H

#ifndef ETCD__IMPLEMENTED
#error "fuzz.h: define ETCD_IMPLEMENTATION and include etcd.h first"
#endif

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Helpers a target may not use (clang only builds these). */
#define FZ_UNUSED __attribute__((unused))

/* A violated property: abort, so libFuzzer saves the input (an assert
   could be compiled out). */
#define FZ_CHECK(cond) do { if (!(cond)) { \
    fprintf(stderr, "%s:%d: FZ_CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
    abort(); } } while (0)

/* A malloc'd copy of exactly n bytes (at least one allocation, never NULL):
   a read past its end is an ASan report, unlike a read past the fuzzer's
   own buffer, which libFuzzer may pad. */
FZ_UNUSED static void *fz_dup(const void *p, size_t n)
{
    void *d = malloc(n ? n : 1);
    FZ_CHECK(d);
    if (n) memcpy(d, p, n);
    return d;
}

/* Read sizes chosen by the fuzzer: FZ_NPIECES bytes at the front of the
   input, used in a cycle. A byte b gives b bytes (1..127), or
   (b - 127) * 128 bytes (128..16384) for b >= 128, or 0 for b == 0
   ("nothing now": EAGAIN where a target can say so). */
#define FZ_NPIECES 8

typedef struct fz_pieces { unsigned char size[FZ_NPIECES]; unsigned at; } fz_pieces;

/* Takes the FZ_NPIECES control bytes off the front of *data. */
FZ_UNUSED static int fz_pieces_take(fz_pieces *p, const uint8_t **data, size_t *size)
{
    if (*size < FZ_NPIECES) return -1;
    memcpy(p->size, *data, FZ_NPIECES);
    p->at = 0;
    *data += FZ_NPIECES;
    *size -= FZ_NPIECES;
    return 0;
}

FZ_UNUSED static size_t fz_piece(fz_pieces *p)
{
    unsigned b = p->size[p->at++ % FZ_NPIECES];
    return b < 128 ? b : (b - 127) * 128u;
}

/* An append-only byte log; runs of an input with different read sizes
   write one each, and the logs must be equal. */
typedef struct fz_log { char *p; size_t len, cap; } fz_log;

FZ_UNUSED static void fz_log_add(fz_log *l, const void *p, size_t n)
{
    if (l->len + n > l->cap) {
        size_t cap = l->cap ? l->cap : 256;
        while (cap < l->len + n) cap *= 2;
        l->p = (char *)realloc(l->p, cap);
        FZ_CHECK(l->p);
        l->cap = cap;
    }
    if (n) memcpy(l->p + l->len, p, n);
    l->len += n;
}

FZ_UNUSED static void fz_log_fmt(fz_log *l, const char *fmt, long long v)
{
    char tmp[64];
    int n = snprintf(tmp, sizeof tmp, fmt, v);
    fz_log_add(l, tmp, (size_t)n);
}

/* A length-prefixed byte string, so no two different sequences of
   records give the same log. */
FZ_UNUSED static void fz_log_bytes(fz_log *l, const void *p, size_t n)
{
    fz_log_fmt(l, "[%lld:", (long long)n);
    fz_log_add(l, p, n);
    fz_log_add(l, "]", 1);
}

FZ_UNUSED static void fz_log_free(fz_log *l) { free(l->p); l->p = NULL; l->len = l->cap = 0; }

FZ_UNUSED static int fz_log_same(const fz_log *a, const fz_log *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

/* Both logs, for the report of a failed comparison. */
FZ_UNUSED static void fz_log_show(const char *what, const fz_log *l)
{
    fprintf(stderr, "---- %s (%zu bytes)\n%.*s\n", what, l->len, (int)(l->len > 4000 ? 4000 : l->len),
            l->p ? l->p : "");
}

#endif
