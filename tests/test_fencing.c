/* test_fencing.c - fenced locks, etcd_trylock and the leadership guard,
   against a real etcd started by the harness.

   A lock is only as safe as the writes it guards: a holder that pauses
   past its lease and then writes corrupts data. etcd_lock and
   etcd_trylock give the fencing token (the lock key's create revision);
   etcd_lock_guard / etcd_leader_guard make the compare that refuses a
   write once the lock or the leadership is gone, while an unguarded write
   still goes through. etcd_trylock answers at once and leaves nothing
   behind when the lock is held by another lease. */
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
#include "harness.h"

static test_etcd srv;
static etcd *cli;

static int64_t grant(etcd *c, int64_t ttl)
{
    etcd_res *r = test_ok200(c, etcd_grant(c, ttl, 0));
    int64_t id = r ? r->id : 0;
    etcd_res_free(r);
    return id;
}

static void revoke(etcd *c, int64_t id)
{
    etcd_res_free(test_ok200(c, etcd_revoke(c, id)));
}

/* A put of val to key guarded by g (NULL: none); whether it happened. */
static bool guarded_put(etcd *c, const etcd_compare *g, const char *key, const char *val)
{
    etcd_op put;
    etcd_res *r;
    bool ok;
    memset(&put, 0, sizeof put);
    put.type = ETCD_OP_PUT;
    put.key = key;
    put.value = val;
    if (!g) {
        r = test_ok200(c, etcd_set(c, key, val, NULL));
        ok = r != NULL;
    } else {
        r = test_ok200(c, etcd_txn(c, g, 1, &put, 1, NULL, 0, NULL));
        ok = r && r->succeeded;
    }
    etcd_res_free(r);
    return ok;
}

/* Keys under prefix, as etcd holds them. */
static int64_t count(etcd *c, const char *prefix)
{
    etcd_get_opts o;
    etcd_res *r;
    int64_t n;
    memset(&o, 0, sizeof o);
    o.count_only = true;
    r = test_ok200(c, etcd_readdir(c, prefix, &o));
    n = r ? r->count : -1;
    etcd_res_free(r);
    return n;
}

/* The holder loses its lease: its guarded write is refused, an unguarded
   one still goes through; the token is the lock key's create revision. */
static void test_fenced_lock(void)
{
    int64_t lease = grant(cli, 30);
    etcd_res *l, *g;
    etcd_compare guard;
    REQUIRE(lease);
    l = test_ok200(cli, etcd_lock(cli, "/fence/lk", lease, 5));
    REQUIRE(l);
    CHECK(l->lock_revision > 0);
    g = test_ok200(cli, etcd_get(cli, l->lock_key.ptr, NULL));
    CHECK(g && g->nkvs == 1 && g->kvs[0].create_revision == l->lock_revision);
    etcd_res_free(g);
    guard = etcd_lock_guard(cli, l);
    CHECK(guarded_put(cli, &guard, "/fence/data", "1"));          /* held: written */
    revoke(cli, lease);                                           /* the holder's lease is gone */
    CHECK(!guarded_put(cli, &guard, "/fence/data", "2"));         /* fenced off */
    CHECK(guarded_put(cli, NULL, "/fence/data", "3"));            /* no guard: through */
    g = test_ok200(cli, etcd_get(cli, "/fence/data", NULL));
    CHECK(g && g->nkvs == 1 && !strcmp(g->kvs[0].value, "3"));
    etcd_res_free(g);
    etcd_res_free(l);
}

/* A new holder of the same name after the old one lost it: the old
   token no longer passes, the new one does. */
static void test_token_changes(void)
{
    int64_t a = grant(cli, 30), b = grant(cli, 30);
    etcd_res *la, *lb;
    etcd_compare ga, gb;
    REQUIRE(a && b);
    la = test_ok200(cli, etcd_lock(cli, "/fence/tc", a, 5));
    REQUIRE(la);
    revoke(cli, a);
    lb = test_ok200(cli, etcd_lock(cli, "/fence/tc", b, 5));
    REQUIRE(lb);
    CHECK(lb->lock_revision > la->lock_revision);
    ga = etcd_lock_guard(cli, la);
    gb = etcd_lock_guard(cli, lb);
    CHECK(!guarded_put(cli, &ga, "/fence/tcdata", "1"));
    CHECK(guarded_put(cli, &gb, "/fence/tcdata", "2"));
    etcd_res_free(etcd_unlock(cli, lb->lock_key.ptr, lb->lock_key.len));
    etcd_res_free(la);
    etcd_res_free(lb);
    revoke(cli, b);
}

static void test_trylock(void)
{
    int64_t a = grant(cli, 30), b = grant(cli, 30);
    etcd_res *ta, *tb, *again;
    etcd_compare g;
    double t0;
    REQUIRE(a && b);
    ta = test_ok200(cli, etcd_trylock(cli, "/fence/try", a));
    REQUIRE(ta);
    CHECK(ta->succeeded);
    CHECK(ta->lock_revision > 0);
    CHECK_INT(count(cli, "/fence/try/"), 1);
    t0 = test_now();
    tb = test_ok200(cli, etcd_trylock(cli, "/fence/try", b));    /* held by a: at once, not taken */
    CHECK(test_now() - t0 < 1.0 * t_time_scale());
    REQUIRE(tb);
    CHECK(!tb->succeeded);
    CHECK_INT(tb->lock_key.len, 0);
    CHECK_INT(tb->lock_revision, 0);
    CHECK_INT(etcd_errcode(cli), ETCD_OK);
    CHECK_INT(count(cli, "/fence/try/"), 1);                      /* nothing of b's left */
    again = test_ok200(cli, etcd_trylock(cli, "/fence/try", a)); /* the same lease: taken */
    CHECK(again && again->succeeded && again->lock_revision == ta->lock_revision);
    etcd_res_free(again);
    g = etcd_lock_guard(cli, ta);
    CHECK(guarded_put(cli, &g, "/fence/trydata", "1"));
    etcd_res_free(test_ok200(cli, etcd_unlock(cli, ta->lock_key.ptr, ta->lock_key.len)));
    CHECK(!guarded_put(cli, &g, "/fence/trydata", "2"));          /* unlocked: the guard fails */
    etcd_res_free(tb);
    tb = test_ok200(cli, etcd_trylock(cli, "/fence/try", b));    /* free now: b takes it */
    CHECK(tb && tb->succeeded);
    etcd_res_free(tb);
    etcd_res_free(ta);
    revoke(cli, a);
    revoke(cli, b);
}

/* etcd_lock and etcd_trylock name the same keys: each sees the other. */
static void test_trylock_with_lock(void)
{
    int64_t a = grant(cli, 30), b = grant(cli, 30);
    etcd_res *l, *t;
    REQUIRE(a && b);
    l = test_ok200(cli, etcd_lock(cli, "/fence/mix", a, 5));
    REQUIRE(l);
    t = test_ok200(cli, etcd_trylock(cli, "/fence/mix", b));
    CHECK(t && !t->succeeded);
    etcd_res_free(t);
    t = test_ok200(cli, etcd_trylock(cli, "/fence/mix", a));      /* a holds it through etcd_lock */
    CHECK(t && t->succeeded && t->lock_key.len == l->lock_key.len &&
          !memcmp(t->lock_key.ptr, l->lock_key.ptr, l->lock_key.len));
    etcd_res_free(t);
    etcd_res_free(test_ok200(cli, etcd_unlock(cli, l->lock_key.ptr, l->lock_key.len)));
    etcd_res_free(l);
    t = test_ok200(cli, etcd_trylock(cli, "/fence/mix", b));
    REQUIRE(t && t->succeeded);
    CHECK(etcd_lock(cli, "/fence/mix", a, 0.5) == NULL);           /* b holds it: a waits, times out */
    CHECK_INT(etcd_errcode(cli), ETCD_ETIMEOUT);
    etcd_res_free(t);
    revoke(cli, a);
    revoke(cli, b);
}

/* key_prefix: the guard takes it off, etcd_txn puts it back. */
static void test_key_prefix(void)
{
    etcd *pc = test_client_at(srv.url, "/kp", 5.0, false, 0, 0);
    int64_t a;
    etcd_res *t;
    etcd_compare g;
    REQUIRE(pc);
    a = grant(pc, 30);
    t = test_ok200(pc, etcd_trylock(pc, "/l", a));
    REQUIRE(t && t->succeeded);
    CHECK(t->lock_key.len > 3 && !memcmp(t->lock_key.ptr, "/kp/l/", 6));   /* as etcd holds it */
    g = etcd_lock_guard(pc, t);
    CHECK(guarded_put(pc, &g, "/d", "1"));
    revoke(pc, a);
    CHECK(!guarded_put(pc, &g, "/d", "2"));
    etcd_res_free(t);
    etcd_free(pc);
}

static void test_leader_guard(void)
{
    int64_t a = grant(cli, 30);
    etcd_res *c;
    etcd_compare g;
    REQUIRE(a);
    c = test_ok200(cli, etcd_campaign(cli, "/fence/el", a, "\"me\"", 0, 5));
    REQUIRE(c && c->leader);
    g = etcd_leader_guard(cli, c->leader);
    CHECK(guarded_put(cli, &g, "/fence/eldata", "1"));
    etcd_res_free(test_ok200(cli, etcd_resign(cli, c->leader)));
    CHECK(!guarded_put(cli, &g, "/fence/eldata", "2"));
    etcd_res_free(c);
    revoke(cli, a);
}

static void test_bad_input(void)
{
    int64_t rev = test_rev(cli);
    etcd_compare g;
    CHECK(etcd_trylock(cli, "", 5) == NULL);
    CHECK_INT(etcd_errcode(cli), ETCD_EARG);
    CHECK(etcd_trylock(cli, NULL, 5) == NULL);
    CHECK_INT(etcd_errcode(cli), ETCD_EARG);
    CHECK(etcd_trylock(cli, "/x", 0) == NULL);
    CHECK_INT(etcd_errcode(cli), ETCD_EARG);
    CHECK_INT(test_rev(cli), rev);
    g = etcd_lock_guard(cli, NULL);                                 /* no lock: a guard no key passes */
    CHECK_INT(g.key_len, 0);
    g = etcd_leader_guard(cli, NULL);
    CHECK_INT(g.key_len, 0);
    CHECK(etcd_txn(cli, &g, 1, NULL, 0, NULL, 0, NULL) == NULL);    /* an empty key: refused */
    CHECK_INT(etcd_errcode(cli), ETCD_EARG);
}

int main(void)
{
    if (test_etcd_start(&srv, NULL) != 0) return 1;
    cli = test_client(&srv, NULL);
    if (cli) {
        RUN(test_fenced_lock);
        RUN(test_token_changes);
        RUN(test_trylock);
        RUN(test_trylock_with_lock);
        RUN(test_key_prefix);
        RUN(test_leader_guard);
        RUN(test_bad_input);
    }
    etcd_free(cli);
    test_etcd_stop(&srv);
    return test_summary();
}
