/* watch_config - keep an in-memory copy of every key under a prefix.

   Shows etcd_mirror, the "load, then watch" pattern done right: its first
   messages are the keys under the prefix (snapshot pages, all read at one
   revision), then every change from that revision + 1, none lost and none
   twice, resumed across broken streams. When a stream cannot be resumed
   because etcd compacted the revision it needs, the mirror reads the
   prefix anew (a snapshot whose first page has reset set): this program
   then prints what changed meanwhile, instead of stopping. Also shows: an
   idle etcd_watch_next ("timeout") is not an error; waiting on
   etcd_watch_fd() with poll() (after etcd_watch_pending()) so a signal can
   stop the loop; a clean shutdown on SIGINT/SIGTERM that frees everything.

   Build:  make examples
           (or: cc -std=c99 -Wall -I. -o build/watch_config examples/watch_config.c)
   Run:    build/watch_config /app/config/
           build/watch_config --endpoints=http://127.0.0.1:2379 /app/config/ --max-events=10

   Prints "key = value" for each key loaded, then "set key = value" or
   "del key" for each change. Exits 0 on SIGINT/SIGTERM or after
   --max-events changes, 1 when etcd cannot be read, 2 on a usage error. */
#define ETCD_IMPLEMENTATION
#include "etcd.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the table: entries sorted by key ----------------------------------- */

typedef struct entry { char *key, *value; } entry;
typedef struct table { entry *items; size_t len, cap; } table;

static char *copy_str(const char *s, size_t n)
{
    char *p = (char *)malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* Index of key if *found, else where it would be inserted. */
static size_t table_find(const table *t, const char *key, bool *found)
{
    size_t lo = 0, hi = t->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(t->items[mid].key, key);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    *found = false;
    return lo;
}

static int table_set(table *t, const etcd_kv *kv)
{
    bool found;
    size_t i = table_find(t, kv->key, &found);
    char *value = copy_str(kv->value, kv->value_len);
    if (!value) return -1;
    if (found) {
        free(t->items[i].value);
        t->items[i].value = value;
        return 0;
    }
    if (t->len == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        entry *items = (entry *)realloc(t->items, cap * sizeof *items);
        if (!items) {
            free(value);
            return -1;
        }
        t->items = items;
        t->cap = cap;
    }
    char *key = copy_str(kv->key, kv->key_len);
    if (!key) {
        free(value);
        return -1;
    }
    memmove(&t->items[i + 1], &t->items[i], (t->len - i) * sizeof *t->items);
    t->items[i].key = key;
    t->items[i].value = value;
    t->len++;
    return 0;
}

static void table_del(table *t, const char *key)
{
    bool found;
    size_t i = table_find(t, key, &found);
    if (!found) return;
    free(t->items[i].key);
    free(t->items[i].value);
    memmove(&t->items[i], &t->items[i + 1], (t->len - i - 1) * sizeof *t->items);
    t->len--;
}

static void table_free(table *t)
{
    for (size_t i = 0; i < t->len; i++) {
        free(t->items[i].key);
        free(t->items[i].value);
    }
    free(t->items);
    memset(t, 0, sizeof *t);
}

/* ---- signals ------------------------------------------------------------ */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;                 /* the main loop checks this flag */
}

static void install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;                    /* no SA_RESTART: poll() returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* ---- follow the prefix ------------------------------------------------- */

typedef struct state {
    table t;                    /* the prefix as it is */
    table next;                 /* a snapshot being read */
    bool loaded;                /* t holds the first snapshot (or a later one) */
    int64_t rev;                /* the revision the snapshot was read at */
    int64_t applied, max;       /* changes printed; stop after max (<= 0: never) */
} state;

static bool done(const state *s) { return s->max > 0 && s->applied >= s->max; }

static void print_set(state *s, const char *key, const char *value)
{
    printf("set %s = %s\n", key, value);
    s->applied++;
}

static void print_del(state *s, const char *key)
{
    printf("del %s\n", key);
    s->applied++;
}

/* Print what turns table a into table b (both sorted by key). */
static void print_diff(state *s, const table *a, const table *b)
{
    size_t i = 0, j = 0;
    while ((i < a->len || j < b->len) && !done(s)) {
        int c = i == a->len ? 1 : j == b->len ? -1 : strcmp(a->items[i].key, b->items[j].key);
        if (c < 0) {                    /* only in a: deleted */
            print_del(s, a->items[i++].key);
            continue;
        }
        if (c > 0 || strcmp(a->items[i].value, b->items[j].value) != 0)
            print_set(s, b->items[j].key, b->items[j].value);   /* new, or changed */
        if (c == 0) i++;
        j++;
    }
}

/* A snapshot page: collect it; once whole, it replaces the table. */
static int apply_snapshot(state *s, const etcd_res *m, const char *prefix)
{
    if (m->reset) {                     /* a new snapshot begins */
        table_free(&s->next);
        s->rev = m->revision;
    }
    for (size_t i = 0; i < m->nevents; i++)
        if (table_set(&s->next, &m->events[i].kv) != 0) return -1;
    if (m->more) return 0;
    if (!s->loaded) {
        for (size_t i = 0; i < s->next.len; i++)
            printf("%s = %s\n", s->next.items[i].key, s->next.items[i].value);
        fprintf(stderr, "watch_config: %zu keys loaded, watching %s from revision %"
                PRId64 "\n", s->next.len, prefix, s->rev + 1);
    } else {                            /* the watch could not be resumed: what changed? */
        fprintf(stderr, "watch_config: read %s anew at revision %" PRId64 " (%zu keys)\n",
                prefix, s->rev, s->next.len);
        print_diff(s, &s->t, &s->next);
    }
    table_free(&s->t);
    s->t = s->next;
    memset(&s->next, 0, sizeof s->next);
    s->loaded = true;
    return 0;
}

/* A message of the mirror: a snapshot page, or changes. */
static int apply(state *s, const etcd_res *m, const char *prefix)
{
    int rc = 0;
    if (m->snapshot) rc = apply_snapshot(s, m, prefix);
    for (size_t i = 0; i < m->nevents && !m->snapshot && rc == 0 && !done(s); i++) {
        const etcd_kv *kv = &m->events[i].kv;
        if (m->events[i].type == ETCD_EVENT_DELETE) {
            table_del(&s->t, kv->key);
            print_del(s, kv->key);
        } else if ((rc = table_set(&s->t, kv)) == 0) {
            print_set(s, kv->key, kv->value);
        }
    }
    if (rc) fprintf(stderr, "watch_config: out of memory\n");
    return rc;
}

/* Wait up to ms for the watcher to have input: true when etcd_watch_next
   should be called, false when the time ran out or a signal came. */
static bool watch_ready(const etcd_watcher *w, int ms)
{
    if (etcd_watch_pending(w)) return true;     /* buffered: poll cannot see it */
    struct pollfd p;
    p.fd = etcd_watch_fd(w);
    p.events = POLLIN;
    p.revents = 0;
    if (p.fd < 0) return true;                  /* (re)opening: let next() do it */
    int n = poll(&p, 1, ms);                    /* readable, closed or in error */
    return n > 0 || (n < 0 && errno != EINTR);  /* EINTR: a signal came */
}

/* Mirror prefix until a signal, an error or `max` changes (max <= 0: no
   limit). */
static int follow(etcd *cli, const char *prefix, int64_t max)
{
    etcd_watch_opts o;
    memset(&o, 0, sizeof o);
    o.timeout = 1;                  /* one etcd_watch_next waits at most 1 s */
    etcd_watcher *w = etcd_mirror(cli, prefix, &o);
    if (!w) {
        fprintf(stderr, "watch_config: mirror %s: %s\n", prefix, etcd_errstr(cli));
        return -1;
    }
    state s;
    memset(&s, 0, sizeof s);
    s.max = max;
    int rc = 0;
    while (rc == 0 && !stop_requested && !done(&s)) {
        if (!watch_ready(w, 500)) continue;     /* idle: check the flag again */
        etcd_res *m = etcd_watch_next(w);
        if (m) {
            rc = apply(&s, m, prefix);
        } else if (!s.loaded) {                 /* nothing read within 1 s: give up */
            fprintf(stderr, "watch_config: cannot read %s: %s\n", prefix, etcd_watch_errstr(w));
            rc = -1;
        } else if (etcd_watch_errcode(w) != ETCD_ETIMEOUT) {   /* timeout: just idle */
            fprintf(stderr, "watch_config: watch: %s\n", etcd_watch_errstr(w));
            rc = -1;
        }
        etcd_res_free(m);
    }
    etcd_watchcancel(w);
    table_free(&s.t);
    table_free(&s.next);
    return rc;
}

/* ---- main --------------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr, "usage: watch_config [--endpoints=URL[,URL...]] PREFIX"
                    " [--max-events=N]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *endpoints = NULL, *prefix = NULL;
    int64_t max_events = 0;
    for (int i = 1; i < argc; i++) {
        char *end;
        if (!strncmp(argv[i], "--endpoints=", 12)) {
            endpoints = argv[i] + 12;
        } else if (!strncmp(argv[i], "--max-events=", 13)) {
            errno = 0;
            max_events = strtoll(argv[i] + 13, &end, 10);
            if (!argv[i][13] || *end || errno || max_events < 0) return usage();
        } else if (!strncmp(argv[i], "--", 2) || prefix) {
            return usage();
        } else {
            prefix = argv[i];
        }
    }
    if (!prefix) return usage();

    setvbuf(stdout, NULL, _IOLBF, 0);   /* a line at a time, even into a pipe */
    install_signal_handlers();

    etcd_opts opts;

    memset(&opts, 0, sizeof opts);
    opts.http_host = endpoints;
    opts.serializer = ETCD_SERIALIZER_RAW;  /* print values as stored */
    char err[256];
    etcd *cli = etcd_new(&opts, err, sizeof err);
    if (!cli) {
        fprintf(stderr, "watch_config: %s\n", err);
        return 1;
    }

    int rc = follow(cli, prefix, max_events);
    etcd_free(cli);
    return rc == 0 ? 0 : 1;
}
