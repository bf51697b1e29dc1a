/* test_lease.c - grant, revoke, keepalive, timetolive, leases and the
   client's ttl option against a real etcd. */
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
#include "harness.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static test_etcd srv;
static etcd *cli;            /* JSON serializer, no key_prefix, no ttl */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}

static etcd *client(const char *key_prefix, int64_t ttl)
{
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.key_prefix = key_prefix;
    o.ttl = ttl;
    return test_client(&srv, &o);
}

/* A lease id etcd has never seen: odd, above 2^60, so no double holds it. */
static int64_t random_id(void)
{
    static uint64_t x;
    struct timespec ts;
    uint64_t z;
    clock_gettime(CLOCK_REALTIME, &ts);
    x += (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
    z = x;                                   /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (int64_t)((z & 0x0fffffffffffffffULL) | (1ULL << 60) | 1);
}

/* A new lease's id, 0 (reported) on failure. */
static int64_t grant(int64_t ttl)
{
    etcd_res *r = etcd_grant(cli, ttl, 0);
    int64_t id = r && r->status == 200 ? r->id : 0;
    if (!id) fprintf(stderr, "  grant failed: %s\n", r ? r->body : etcd_errstr(cli));
    etcd_res_free(r);
    return id;
}

static void revoke(int64_t id)
{
    etcd_res *r = etcd_revoke(cli, id);
    if (!r || r->status != 200)
        fprintf(stderr, "  revoke failed: %s\n", r ? r->body : etcd_errstr(cli));
    etcd_res_free(r);
}

/* The lease attached to key, 0 for none, -1 when the key is missing. */
static int64_t key_lease(etcd *c, const char *key)
{
    etcd_res *r = etcd_get(c, key, NULL);
    int64_t lease = r && r->status == 200 && r->nkvs == 1 ? r->kvs[0].lease : -1;
    etcd_res_free(r);
    return lease;
}

static bool key_exists(const char *key)
{
    etcd_res *r = etcd_get(cli, key, NULL);
    bool yes = !r || r->nkvs > 0;            /* an error never reads as gone */
    etcd_res_free(r);
    return yes;
}

/* timetolive(id).granted_ttl; -2 when the call failed. */
static int64_t granted_ttl(int64_t id)
{
    etcd_res *r = etcd_timetolive(cli, id, false);
    int64_t g = r && r->status == 200 ? r->granted_ttl : -2;
    etcd_res_free(r);
    return g;
}

/* Whether etcd_leases lists id; -1 when the call failed. */
static int listed(int64_t id)
{
    etcd_res *r = etcd_leases(cli);
    int found = -1;
    size_t i;
    if (r && r->status == 200)
        for (found = 0, i = 0; i < r->nleases; i++)
            if (r->leases[i] == id) found = 1;
    etcd_res_free(r);
    return found;
}

/* Whether timetolive's keys hold exactly key (bytes, length). */
static bool has_key(const etcd_res *r, const char *key)
{
    size_t i;
    for (i = 0; i < r->nkeys; i++)
        if (r->keys[i].len == strlen(key) && memcmp(r->keys[i].ptr, key, r->keys[i].len) == 0)
            return r->keys[i].ptr[r->keys[i].len] == '\0';
    return false;
}

/* ------------------------------------------------------------------------ */

static void test_start(void)
{
    REQUIRE(test_etcd_start(&srv, NULL) == 0);
    cli = client(NULL, 0);
    REQUIRE(cli != NULL);
}

static void test_grant(void)
{
    etcd_res *r = etcd_grant(cli, 30, 0);
    REQUIRE(r != NULL);
    CHECK_INT(r->status, 200);
    CHECK(r->id != 0);
    CHECK_INT(r->ttl, 30);
    CHECK(r->revision > 0);
    if (r->id) revoke(r->id);
    etcd_res_free(r);
}

static void test_grant_explicit_id(void)
{
    int64_t id = random_id();
    char dec[32];
    etcd_res *r = etcd_grant(cli, 30, id);
    REQUIRE(r != NULL);
    CHECK_INT(r->status, 200);
    CHECK_INT(r->id, id);                    /* exact above 2^53 */
    CHECK_INT(r->ttl, 30);
    snprintf(dec, sizeof dec, "\"%" PRId64 "\"", id);
    CHECK_HAS(r->body, dec);
    etcd_res_free(r);

    r = etcd_timetolive(cli, id, false);
    REQUIRE(r != NULL);
    CHECK_INT(r->id, id);
    CHECK_INT(r->granted_ttl, 30);
    etcd_res_free(r);
    CHECK_INT(listed(id), 1);
    revoke(id);
    CHECK_INT(listed(id), 0);
}

static void test_attach_and_timetolive(void)
{
    const char *k1 = "/tl/attach/a", *k2 = "/tl/attach/\xff\x01z";
    int64_t id = grant(60);
    etcd_res *r;
    REQUIRE(id != 0);
    CHECK(test_put_lease(cli, k1, "1", id));
    CHECK_INT(key_lease(cli, k1), id);

    r = etcd_timetolive(cli, id, false);
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->status, 200);
        CHECK_INT(r->id, id);
        CHECK_INT(r->granted_ttl, 60);
        CHECK(r->ttl > 0 && r->ttl <= 60);
        CHECK_INT(r->nkeys, 0);              /* not asked for */
    }
    etcd_res_free(r);

    CHECK(test_put_lease(cli, k2, "2", id));
    r = etcd_timetolive(cli, id, true);
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->status, 200);
        CHECK_INT(r->granted_ttl, 60);
        CHECK_INT(r->nkeys, 2);              /* in any order */
        CHECK(has_key(r, k1));
        CHECK(has_key(r, k2));
    }
    etcd_res_free(r);
    revoke(id);
}

static void test_timetolive_keys_keep_prefix(void)
{
    etcd *pc = client("/tl/kp", 0);
    int64_t id = grant(60);
    etcd_res *r = NULL;
    CHECK(pc != NULL && id != 0);
    if (pc && id) {
        CHECK(test_put_lease(pc, "/a", "1", id));
        CHECK_INT(key_lease(pc, "/a"), id);
        r = etcd_timetolive(pc, id, true);
        CHECK(r != NULL);
    }
    if (r) {
        CHECK_INT(r->nkeys, 1);
        if (r->nkeys == 1) {
            CHECK_INT(r->keys[0].len, 8);
            CHECK_STR(r->keys[0].ptr, "/tl/kp/a");
        }
    }
    etcd_res_free(r);
    if (id) revoke(id);
    etcd_free(pc);
}

static void test_keepalive(void)
{
    int64_t id = grant(40);
    etcd_res *r;
    REQUIRE(id != 0);
    r = etcd_keepalive(cli, id);
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->status, 200);
        CHECK_INT(r->id, id);
        CHECK_INT(r->ttl, 40);
    }
    etcd_res_free(r);
    revoke(id);
}

static void test_leases_list(void)
{
    int64_t a = grant(60), b = grant(60);
    REQUIRE(a != 0 && b != 0);
    CHECK_INT(listed(a), 1);
    CHECK_INT(listed(b), 1);
    revoke(a);
    CHECK_INT(listed(a), 0);
    CHECK_INT(listed(b), 1);
    revoke(b);
    CHECK_INT(listed(b), 0);
}

static void test_revoke_deletes_keys(void)
{
    int64_t id = grant(60);
    etcd_res *r;
    REQUIRE(id != 0);
    CHECK(test_put_lease(cli, "/tl/revoke/a", "1", id));
    CHECK(test_put_lease(cli, "/tl/revoke/b", "2", id));
    CHECK(test_put_lease(cli, "/tl/revoke/c", "3", 0));   /* not on the lease */
    r = etcd_revoke(cli, id);
    REQUIRE(r != NULL);
    CHECK_INT(r->status, 200);
    CHECK(r->revision > 0);
    etcd_res_free(r);

    r = etcd_readdir(cli, "/tl/revoke/", NULL);
    REQUIRE(r != NULL);
    CHECK_INT(r->nkvs, 1);
    if (r->nkvs == 1) CHECK_STR(r->kvs[0].key, "/tl/revoke/c");
    etcd_res_free(r);
    r = etcd_get(cli, "/tl/revoke/a", NULL);
    REQUIRE(r != NULL);
    CHECK_INT(r->nkvs, 0);
    etcd_res_free(r);
}

static void test_revoke_unknown(void)
{
    etcd_res *r = etcd_revoke(cli, random_id());
    REQUIRE(r != NULL);                      /* a 4xx is a result */
    CHECK(r->status >= 400 && r->status < 500);
    CHECK_INT(r->code, 5);                   /* gRPC NotFound */
    CHECK_HAS(r->message, "lease not found");
    etcd_res_free(r);
}

static void test_keepalive_revoked(void)
{
    int64_t id = grant(30);
    etcd_res *r;
    REQUIRE(id != 0);
    revoke(id);
    r = etcd_keepalive(cli, id);
    REQUIRE(r != NULL);
    CHECK_INT(r->status, 200);
    CHECK_INT(r->ttl, 0);
    etcd_res_free(r);
}

static void test_timetolive_unknown(void)
{
    int64_t id = random_id();
    etcd_res *r = etcd_timetolive(cli, id, true);
    REQUIRE(r != NULL);
    CHECK_INT(r->status, 200);
    CHECK_INT(r->ttl, -1);
    CHECK_INT(r->nkeys, 0);
    etcd_res_free(r);
}

static void test_lease_expires(void)
{
    const char *k = "/tl/expire/k";
    etcd_res *r = etcd_grant(cli, 2, 0);
    int64_t id;
    double t0;
    REQUIRE(r != NULL);
    id = r->id;
    CHECK_INT(r->ttl, 2);
    etcd_res_free(r);
    REQUIRE(id != 0);
    t0 = now();
    CHECK(test_put_lease(cli, k, "1", id));
    CHECK(key_exists(k));
    while (key_exists(k) && now() - t0 < 8) sleep_s(0.2);
    CHECK(!key_exists(k));
    CHECK(now() - t0 > 1);                   /* not gone at once */

    r = etcd_keepalive(cli, id);
    REQUIRE(r != NULL);
    CHECK_INT(r->ttl, 0);
    etcd_res_free(r);
    r = etcd_timetolive(cli, id, false);
    REQUIRE(r != NULL);
    CHECK_INT(r->ttl, -1);
    etcd_res_free(r);
}

/* opts.ttl: set, setnx and setx without a lease attach a new lease of ttl
   seconds; an explicit lease wins; 0 and -1 attach nothing. */
static void test_client_ttl(void)
{
    etcd *tc = client(NULL, 5), *off = client(NULL, -1);
    etcd_set_opts so = {0};
    etcd_res *r;
    int64_t l, mine = 0;
    CHECK(tc != NULL && off != NULL);
    if (!tc || !off) goto out;

    r = etcd_set(tc, "/tl/ttl/set", "1", NULL);
    CHECK(r != NULL && r->status == 200);
    etcd_res_free(r);
    l = key_lease(cli, "/tl/ttl/set");
    CHECK(l > 0);
    if (l > 0) { CHECK_INT(granted_ttl(l), 5); revoke(l); }

    r = etcd_setnx(tc, "/tl/ttl/setnx", "2", NULL);
    CHECK(r != NULL && r->status == 200 && r->succeeded);
    etcd_res_free(r);
    l = key_lease(cli, "/tl/ttl/setnx");
    CHECK(l > 0);
    if (l > 0) CHECK_INT(granted_ttl(l), 5);

    r = etcd_setx(tc, "/tl/ttl/setnx", "3", NULL);   /* the key exists */
    CHECK(r != NULL && r->status == 200 && r->succeeded);
    etcd_res_free(r);
    l = key_lease(cli, "/tl/ttl/setnx");
    CHECK(l > 0);
    if (l > 0) { CHECK_INT(granted_ttl(l), 5); revoke(l); }

    mine = grant(60);
    CHECK(mine != 0);
    so.lease = mine;
    r = etcd_set(tc, "/tl/ttl/mine", "4", &so);
    CHECK(r != NULL && r->status == 200);
    etcd_res_free(r);
    CHECK_INT(key_lease(cli, "/tl/ttl/mine"), mine);
    r = etcd_setnx(tc, "/tl/ttl/mine2", "5", &so);
    CHECK(r != NULL && r->succeeded);
    etcd_res_free(r);
    CHECK_INT(key_lease(cli, "/tl/ttl/mine2"), mine);
    r = etcd_setx(tc, "/tl/ttl/mine2", "6", &so);
    CHECK(r != NULL && r->succeeded);
    etcd_res_free(r);
    CHECK_INT(key_lease(cli, "/tl/ttl/mine2"), mine);

    r = etcd_set(off, "/tl/ttl/off", "7", NULL);     /* ttl -1: off */
    CHECK(r != NULL && r->status == 200);
    etcd_res_free(r);
    CHECK_INT(key_lease(cli, "/tl/ttl/off"), 0);
    CHECK(test_put_lease(cli, "/tl/ttl/off0", "8", 0));   /* ttl 0: off */
    CHECK_INT(key_lease(cli, "/tl/ttl/off0"), 0);
out:
    if (mine) revoke(mine);
    etcd_free(tc);
    etcd_free(off);
}

int main(void)
{
    RUN(test_start);
    if (cli) {
        RUN(test_grant);
        RUN(test_grant_explicit_id);
        RUN(test_attach_and_timetolive);
        RUN(test_timetolive_keys_keep_prefix);
        RUN(test_keepalive);
        RUN(test_leases_list);
        RUN(test_revoke_deletes_keys);
        RUN(test_revoke_unknown);
        RUN(test_keepalive_revoked);
        RUN(test_timetolive_unknown);
        RUN(test_lease_expires);
        RUN(test_client_ttl);
    }
    etcd_free(cli);
    test_etcd_stop(&srv);
    return test_summary();
}
