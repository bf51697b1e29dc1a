/* test.h - the tiny test framework of etcd.h's suites.

   A suite is one program: static void test_x(void) functions, each run by
   RUN(test_x) from main, which ends with `return test_summary();`. A test
   fails if any CHECK in it fails; the summary line "N passed, N failed"
   (tests, not checks) is what tests/run.sh adds up. */
#ifndef ETCD_TEST_H
#define ETCD_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <strings.h>

#if defined(__GNUC__) || defined(__clang__)
#define T__UNUSED __attribute__((unused))
#else
#define T__UNUSED
#endif

static int t__passed, t__failed, t__cur_failed;

#define CHECK(cond) do { if (!(cond)) { \
    fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
    t__cur_failed = 1; } } while (0)

/* Stops the current test: for preconditions whose failure makes the rest
   meaningless (e.g. a call returned NULL). */
#define REQUIRE(cond) do { if (!(cond)) { \
    fprintf(stderr, "  %s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #cond); \
    t__cur_failed = 1; return; } } while (0)

#define CHECK_INT(a, b) do { long long t__a = (long long)(a), t__b = (long long)(b); \
    if (t__a != t__b) { fprintf(stderr, "  %s:%d: %s is %lld, not %lld\n", \
        __FILE__, __LINE__, #a, t__a, t__b); t__cur_failed = 1; } } while (0)

#define CHECK_STR(a, b) do { const char *t__a = (a), *t__b = (b); \
    if (!t__a || !t__b || strcmp(t__a, t__b) != 0) { \
        fprintf(stderr, "  %s:%d: %s is \"%s\", not \"%s\"\n", __FILE__, __LINE__, \
            #a, t__a ? t__a : "(null)", t__b ? t__b : "(null)"); \
        t__cur_failed = 1; } } while (0)

/* a contains b */
#define CHECK_HAS(a, b) do { const char *t__a = (a), *t__b = (b); \
    if (!t__a || !t__b || !strstr(t__a, t__b)) { \
        fprintf(stderr, "  %s:%d: %s is \"%s\", which lacks \"%s\"\n", __FILE__, \
            __LINE__, #a, t__a ? t__a : "(null)", t__b); t__cur_failed = 1; } } while (0)

#define CHECK_MEM(a, alen, b, blen) do { size_t t__al = (alen), t__bl = (blen); \
    if (t__al != t__bl || memcmp((a), (b), t__al) != 0) { \
        fprintf(stderr, "  %s:%d: %s (%zu bytes) differs from %s (%zu bytes)\n", \
            __FILE__, __LINE__, #a, t__al, #b, t__bl); t__cur_failed = 1; } } while (0)

/* a starts with b */
#define CHECK_PREFIX(a, b) do { const char *t__a = (a), *t__b = (b); \
    if (!t__a || !t__b || strncmp(t__a, t__b, strlen(t__b)) != 0) { \
        fprintf(stderr, "  %s:%d: %s is \"%s\", which does not start with \"%s\"\n", __FILE__, \
                __LINE__, #a, t__a ? t__a : "(null)", t__b ? t__b : "(null)"); \
        t__cur_failed = 1; } } while (0)

#define CHECK_NOT_STR(a, b) do { const char *t__a = (a); if (!t__a || strcmp(t__a, b) == 0) { \
    fprintf(stderr, "  %s:%d: %s is \"%s\"\n", __FILE__, __LINE__, #a, \
        t__a ? t__a : "(null)"); t__cur_failed = 1; } } while (0)

/* TEST_TIME_SCALE: a number >= 1 (default 1), read once, for slow runs
   such as under valgrind (tests/valgrind_suite.sh sets it): CHECK_TIME's
   slack (its window above lo) and the harness's waits for etcd are that
   many times longer. Lower bounds stay: slowness never makes a thing early. */
static T__UNUSED double t_time_scale(void)
{
    static double scale;
    if (scale == 0) {
        const char *e = getenv("TEST_TIME_SCALE");
        double s = e && *e ? strtod(e, NULL) : 1.0;
        scale = s >= 1.0 && s <= 1000.0 ? s : 1.0;
    }
    return scale;
}

/* an elapsed time el (seconds) within [lo, hi] (hi: lo + (hi - lo) *
   TEST_TIME_SCALE when that is set) */
#define CHECK_TIME(el, lo, hi) do { double t__e = (el), t__lo = (lo), t__hi = (hi); \
    if (t_time_scale() != 1.0) t__hi = t__lo + (t__hi - t__lo) * t_time_scale(); \
    if (t__e < t__lo || t__e > t__hi) { \
    fprintf(stderr, "  %s:%d: took %.3f s, expected %.3f..%.3f s\n", __FILE__, __LINE__, \
        t__e, t__lo, t__hi); t__cur_failed = 1; } } while (0)

/* s contains one of the '|'-separated alternatives, ignoring case */
static T__UNUSED int t__has_any(const char *s, const char *alts)
{
    if (!s) return 0;
    for (;;) {
        const char *bar = strchr(alts, '|'), *p;
        size_t n = bar ? (size_t)(bar - alts) : strlen(alts);
        for (p = s; *p; p++)
            if (strncasecmp(p, alts, n) == 0) return 1;
        if (!bar) return 0;
        alts = bar + 1;
    }
}

#define CHECK_ANY(s, alts) do { const char *t__s = (s); if (!t__has_any(t__s, alts)) { \
    fprintf(stderr, "  %s:%d: %s is \"%s\", which has none of \"%s\"\n", __FILE__, \
        __LINE__, #s, t__s ? t__s : "(null)", alts); t__cur_failed = 1; } } while (0)

#ifdef ETCD_H
/* etcd_new, printing why it failed. */
static T__UNUSED etcd *t_client(const etcd_opts *o)
{
    char err[256] = "";
    etcd *cli = etcd_new(o, err, sizeof err);
    if (!cli) fprintf(stderr, "  etcd_new: %s\n", err);
    return cli;
}

/* etcd_new must refuse o; err (n bytes) gets the reason. */
static T__UNUSED int t_refused(const etcd_opts *o, char *err, size_t n)
{
    etcd *cli;
    err[0] = '\0';
    if (!(cli = etcd_new(o, err, n))) return 1;
    fprintf(stderr, "  etcd_new accepted what it should refuse\n");
    etcd_free(cli);
    return 0;
}
#endif

#define RUN(fn) do { t__cur_failed = 0; fflush(stdout); fn(); \
    if (t__cur_failed) { t__failed++; printf("FAIL %s\n", #fn); } \
    else { t__passed++; printf("ok   %s\n", #fn); } fflush(stdout); } while (0)

static int test_summary(void)
{
    printf("%d passed, %d failed\n", t__passed, t__failed);
    return t__failed ? 1 : 0;
}

/* The suites built by mk/hook.mk: every client over tests/hook.h's transport. */
#ifdef TEST_HOOK
#include "hook.h"
#endif

#endif
