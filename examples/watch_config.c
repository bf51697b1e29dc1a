/* watch_config - keep an in-memory copy of every key under a prefix.

   Shows the "load, then watch from the next revision" pattern: etcd_readdir
   returns the keys together with the revision they were read at
   (res->revision); a watch opened at that revision + 1 sees every later
   change, none lost and none twice, however long the gap between the two
   calls. Also shows: an idle etcd_watch_next ("timeout") is not an error;
   waiting on etcd_watch_fd() with poll() (after etcd_watch_pending()) so a
   signal can stop the loop; a clean shutdown on SIGINT/SIGTERM that frees
   everything.

   Build:  make examples
           (or: cc -std=c99 -Wall -I. -o build/watch_config examples/watch_config.c)
   Run:    build/watch_config /app/config/
           build/watch_config --endpoints=http://127.0.0.1:2379 /app/config/ --max-events=10

   Prints "key = value" for each key loaded, then "set key = value" or
   "del key" for each change. Exits 0 on SIGINT/SIGTERM or after
   --max-events changes, 1 when etcd cannot be reached, 2 on a usage error. */
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

/* ---- load, then follow -------------------------------------------------- */

/* Read every key under prefix into t; *rev: the revision of that read. */
static int load(etcd *cli, const char *prefix, table *t, int64_t *rev)
{
    etcd_res *r = etcd_readdir(cli, prefix, NULL);
    if (!r || r->status != 200) {
        fprintf(stderr, "watch_config: readdir %s: %s\n", prefix,
                r ? (r->message ? r->message : r->body) : etcd_errstr(cli));
        etcd_res_free(r);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < r->nkvs && rc == 0; i++) {
        rc = table_set(t, &r->kvs[i]);
        if (rc == 0) printf("%s = %s\n", r->kvs[i].key, r->kvs[i].value);
    }
    if (rc) fprintf(stderr, "watch_config: out of memory\n");
    *rev = r->revision;
    etcd_res_free(r);
    return rc;
}

/* Apply a watch message's events to t, counting them in *applied, up to
   max of them in all (max <= 0: no limit). */
static int apply(table *t, const etcd_res *m, int64_t *applied, int64_t max)
{
    for (size_t i = 0; i < m->nevents && (max <= 0 || *applied < max); i++) {
        ++*applied;
        const etcd_kv *kv = &m->events[i].kv;
        if (m->events[i].type == ETCD_EVENT_DELETE) {
            table_del(t, kv->key);
            printf("del %s\n", kv->key);
        } else if (table_set(t, kv) == 0) {
            printf("set %s = %s\n", kv->key, kv->value);
        } else {
            fprintf(stderr, "watch_config: out of memory\n");
            return -1;
        }
    }
    return 0;
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
    if (p.fd < 0) return true;                  /* reconnecting: let next() do it */
    int n = poll(&p, 1, ms);                    /* readable, closed or in error */
    return n > 0 || (n < 0 && errno != EINTR);  /* EINTR: a signal came */
}

/* Follow prefix from revision `from` until a signal, an error or `max`
   events (max <= 0: no limit). */
static int follow(etcd *cli, const char *prefix, int64_t from, table *t, int64_t max)
{
    etcd_watch_opts o;
    memset(&o, 0, sizeof o);
    o.start_revision = from;
    o.timeout = 1;                  /* one etcd_watch_next waits at most 1 s */
    o.auto_resume = true;           /* a broken stream reopens at last revision + 1 */
    etcd_watcher *w = etcd_watchdir(cli, prefix, &o);
    if (!w) {
        fprintf(stderr, "watch_config: watch %s: %s\n", prefix, etcd_errstr(cli));
        return -1;
    }
    fprintf(stderr, "watch_config: %zu keys loaded, watching %s from revision %"
            PRId64 "\n", t->len, prefix, from);
    int64_t applied = 0;
    int rc = 0;
    while (rc == 0 && !stop_requested && (max <= 0 || applied < max)) {
        if (!watch_ready(w, 500)) continue;     /* idle: check the flag again */
        etcd_res *m = etcd_watch_next(w);
        if (!m) {
            if (etcd_watch_errcode(w) == ETCD_ETIMEOUT) continue;
            fprintf(stderr, "watch_config: watch: %s\n", etcd_watch_errstr(w));
            rc = -1;
        } else if (m->canceled) {       /* by etcd: e.g. `from` was compacted */
            fprintf(stderr, "watch_config: watch canceled: %s (compact revision %"
                    PRId64 ")\n", m->cancel_reason && *m->cancel_reason ?
                    m->cancel_reason : "by etcd", m->compact_revision);
            rc = -1;
        } else {
            rc = apply(t, m, &applied, max);
        }
        etcd_res_free(m);
    }
    etcd_watchcancel(w);
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

    table t;

    memset(&t, 0, sizeof t);
    int64_t rev = 0;
    int rc = load(cli, prefix, &t, &rev);
    if (rc == 0) rc = follow(cli, prefix, rev + 1, &t, max_events);
    table_free(&t);
    etcd_free(cli);
    return rc == 0 ? 0 : 1;
}
