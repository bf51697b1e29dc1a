/* service_registry - register a service instance in etcd and follow its peers.

   Shows two recipes sharing one poll() loop, with no thread:
   - etcd_session: the registration <prefix>/<name> = {"addr":"HOST:PORT"}
     is put under a lease that the loop keeps alive (etcd_session_tick when
     etcd_session_due says so; a tick sends nothing until a keepalive is
     due). A clean stop (SIGINT/SIGTERM) revokes the lease, so the entry
     vanishes at once; a crashed process's entry vanishes when its TTL runs
     out. A lost lease (revoked by someone else, or etcd unreachable for
     longer than the TTL) is said, and the session grants a new one and
     puts the entry back: the service is listed again as soon as etcd
     answers.
   - etcd_mirror: every entry under <prefix>/ as a local table that is
     always whole: a snapshot first (reset: start over), then each change,
     and a new snapshot whenever the watch cannot be resumed.
   Also shows etcd_json_parse to read one member of a JSON value.

   Build:  make examples
   Run:    build/service_registry --prefix=/services/web --name=a --addr=127.0.0.1:8001
           build/service_registry --prefix=/services/web --name=b --addr=127.0.0.1:8002 --ttl=10

   Prints "peers: NAME=ADDR,..." (sorted by name) whenever the set of peers
   changes, itself included. Exit status: 0 on SIGINT/SIGTERM, 1 when etcd
   fails, 2 on a usage error. */
#define ETCD_IMPLEMENTATION
#include "etcd.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the peers: name -> address, sorted by name -------------------------- */

typedef struct peer { char *name, *addr; } peer;
typedef struct peers { peer *p; size_t n, cap; } peers;

static char *copy_str(const char *s, size_t n)
{
    char *c = (char *)malloc(n + 1);
    if (c) {
        memcpy(c, s, n);
        c[n] = '\0';
    }
    return c;
}

/* The index of name, or where it would go (*found false). */
static size_t peers_find(const peers *t, const char *name, bool *found)
{
    size_t i = 0;
    while (i < t->n && strcmp(t->p[i].name, name) < 0) i++;
    *found = i < t->n && strcmp(t->p[i].name, name) == 0;
    return i;
}

static int peers_put(peers *t, const char *name, const char *addr, size_t addr_len)
{
    bool found;
    size_t i = peers_find(t, name, &found);
    char *a = copy_str(addr, addr_len);
    if (!a) return -1;
    if (found) {
        free(t->p[i].addr);
        t->p[i].addr = a;
        return 0;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 8;
        peer *p = (peer *)realloc(t->p, cap * sizeof *p);
        if (!p) { free(a); return -1; }
        t->p = p;
        t->cap = cap;
    }
    char *n = copy_str(name, strlen(name));
    if (!n) { free(a); return -1; }
    memmove(&t->p[i + 1], &t->p[i], (t->n - i) * sizeof *t->p);
    t->p[i].name = n;
    t->p[i].addr = a;
    t->n++;
    return 0;
}

static void peers_del(peers *t, const char *name)
{
    bool found;
    size_t i = peers_find(t, name, &found);
    if (!found) return;
    free(t->p[i].name);
    free(t->p[i].addr);
    memmove(&t->p[i], &t->p[i + 1], (t->n - i - 1) * sizeof *t->p);
    t->n--;
}

static void peers_clear(peers *t)
{
    while (t->n) peers_del(t, t->p[t->n - 1].name);
}

/* "peers: a=ADDR,b=ADDR" (malloc'd), or NULL when out of memory. */
static char *peers_line(const peers *t)
{
    size_t len = sizeof "peers: (none)", i;
    for (i = 0; i < t->n; i++) len += strlen(t->p[i].name) + strlen(t->p[i].addr) + 2;
    char *s = (char *)malloc(len), *e = s;
    if (!s) return NULL;
    e += sprintf(e, "peers: %s", t->n ? "" : "(none)");
    for (i = 0; i < t->n; i++) e += sprintf(e, "%s%s=%s", i ? "," : "", t->p[i].name, t->p[i].addr);
    return s;
}

/* ---- one registration ---------------------------------------------------- */

/* The "addr" string of a value like {"addr":"HOST:PORT",...}; "?" if none
   (or if the value is not JSON, or too big for 64 tokens). */
static void addr_of(const etcd_kv *kv, const char **addr, size_t *len)
{
    etcd_json_tok tok[64];
    long n = etcd_json_parse(kv->value, kv->value_len, tok, 64);
    *addr = "?";
    *len = 1;
    if (n < 1 || tok[0].type != ETCD_JSON_OBJECT) return;
    for (long i = 1; i + 1 < n;) {              /* a member: its key, then its value */
        const etcd_json_tok *k = &tok[i], *v = &tok[i + 1];
        if (k->end - k->start == 4 && !memcmp(kv->value + k->start, "addr", 4) &&
            v->type == ETCD_JSON_STRING) {
            *addr = kv->value + v->start;
            *len = v->end - v->start;
            return;
        }
        for (i += 2; i < n && tok[i].start < v->end; i++) {}   /* past v's own tokens */
    }
}

/* Apply one mirror message: a snapshot page or changes. skip: the length
   of "<prefix>/", cut from each key to give the peer's name. */
static int apply(peers *t, const etcd_res *m, size_t skip)
{
    if (m->reset) peers_clear(t);               /* a new snapshot: start over */
    for (size_t i = 0; i < m->nevents; i++) {
        const etcd_kv *kv = &m->events[i].kv;
        if (kv->key_len <= skip) continue;
        if (m->events[i].type == ETCD_EVENT_DELETE) {
            peers_del(t, kv->key + skip);
        } else {
            const char *addr;
            size_t len;
            addr_of(kv, &addr, &len);
            if (peers_put(t, kv->key + skip, addr, len) != 0) return -1;
        }
    }
    return 0;
}

/* ---- signals, waiting ---------------------------------------------------- */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Whether the watcher has input now, or within ms (a signal ends the wait).
   A negative fd means the stream is being opened: etcd_watch_next does it. */
static bool watch_ready(const etcd_watcher *w, int ms)
{
    struct pollfd p;
    if (etcd_watch_pending(w) || etcd_watch_fd(w) < 0) return true;
    p.fd = etcd_watch_fd(w);
    p.events = POLLIN;
    p.revents = 0;
    int n = poll(&p, 1, ms);
    return n > 0 || (n < 0 && errno != EINTR);
}

/* One session tick when due; its losses and recoveries said on stderr. */
static void keep(etcd *cli, etcd_session *s)
{
    switch (etcd_session_due(s) <= 0 ? etcd_session_tick(s) : ETCD_SESSION_OK) {
    case ETCD_SESSION_LOST:
        fprintf(stderr, "service_registry: %s; the registration is gone, registering again\n", etcd_errstr(cli));
        break;
    case ETCD_SESSION_RECOVERED:
        fprintf(stderr, "service_registry: registered again (lease %lld)\n", (long long)etcd_session_lease(s));
        break;
    default:
        break;
    }
}

/* The loop: keep the registration, follow the peers, until a signal or a
   failure. */
static int serve(etcd *cli, etcd_session *s, etcd_watcher *w, size_t skip)
{
    peers t;
    char *shown = NULL;                         /* the last line printed */
    int rc = 0;
    memset(&t, 0, sizeof t);
    while (rc == 0 && !stop_requested) {
        keep(cli, s);
        double due = etcd_session_due(s);
        if (!watch_ready(w, due > 0 ? (int)(due * 1000) + 1 : 0)) continue;
        do {                                    /* every message already here */
            etcd_res *m = etcd_watch_next(w);
            if (!m) {
                if (etcd_watch_errcode(w) == ETCD_ETIMEOUT) break;     /* nothing yet */
                fprintf(stderr, "service_registry: watch: %s\n", etcd_watch_errstr(w));
                rc = 1;
                break;
            }
            if (apply(&t, m, skip) != 0) {
                fprintf(stderr, "service_registry: out of memory\n");
                rc = 1;
            } else if (!m->more) {              /* not in the middle of a snapshot */
                char *line = peers_line(&t);
                if (line && (!shown || strcmp(line, shown) != 0)) {
                    printf("%s\n", line);
                    free(shown);
                    shown = line;
                } else {
                    free(line);
                }
            }
            etcd_res_free(m);
        } while (rc == 0 && !stop_requested && etcd_watch_fd(w) >= 0 && watch_ready(w, 0));
    }
    free(shown);
    peers_clear(&t);
    free(t.p);
    return rc;
}

/* ---- main ---------------------------------------------------------------- */

/* Register key = value in a session, follow dir, until the end. */
static int run(etcd *cli, int64_t ttl, const char *dir, const char *key, const char *value)
{
    etcd_session *s = etcd_session_new(cli, ttl);   /* a lease granted now, kept by serve() */
    if (!s) {
        fprintf(stderr, "service_registry: lease: %s\n", etcd_errstr(cli));
        return 1;
    }
    etcd_watcher *w = NULL;
    if (etcd_session_put(s, key, 0, value, 0) != 0) {   /* lives as long as a lease does */
        fprintf(stderr, "service_registry: register %s: %s\n", key, etcd_errstr(cli));
    } else {
        etcd_watch_opts wo;
        memset(&wo, 0, sizeof wo);
        wo.timeout = 0.5;                       /* one etcd_watch_next waits at most this */
        w = etcd_mirror(cli, dir, &wo);
        if (!w) fprintf(stderr, "service_registry: mirror %s: %s\n", dir, etcd_errstr(cli));
        else fprintf(stderr, "service_registry: registered %s (lease %lld, TTL %lld s)\n", key,
                     (long long)etcd_session_lease(s), (long long)ttl);
    }
    int rc = w ? serve(cli, s, w, strlen(dir)) : 1;
    etcd_watchcancel(w);
    etcd_session_free(s, true);     /* revoke: the entry goes now (while recovering: nothing sent) */
    return rc;
}

static int usage(const char *why)
{
    fprintf(stderr, "service_registry: %s\n"
            "usage: service_registry --prefix=/services/NAME --name=ID --addr=HOST:PORT\n"
            "                        [--endpoints=URL[,URL...]] [--ttl=SECONDS] [--timeout=SECONDS]\n",
            why);
    return 2;
}

/* "--flag=NUMBER" >= min into *out; false when not such a number. */
static bool number(const char *s, double min, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return *s && !*end && !errno && *out >= min;
}

int main(int argc, char **argv)
{
    const char *endpoints = NULL, *prefix = NULL, *name = NULL, *addr = NULL;
    double ttl = 5, timeout = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool ok = true;
        if (!strncmp(a, "--endpoints=", 12)) endpoints = a + 12;
        else if (!strncmp(a, "--prefix=", 9)) prefix = a + 9;
        else if (!strncmp(a, "--name=", 7)) name = a + 7;
        else if (!strncmp(a, "--addr=", 7)) addr = a + 7;
        else if (!strncmp(a, "--ttl=", 6)) ok = number(a + 6, 1, &ttl) && ttl == (int64_t)ttl;
        else if (!strncmp(a, "--timeout=", 10)) ok = number(a + 10, 0, &timeout);
        else ok = false;
        if (!ok) return usage(a);
    }
    if (!prefix || !*prefix || !name || !*name || strchr(name, '/') || !addr || !*addr ||
        strpbrk(addr, "\"\\"))
        return usage("--prefix, --name (no '/') and --addr (no quotes) are required");

    /* "<prefix>/" is the dir, "<prefix>/<name>" the key (a trailing '/' is ignored) */
    char dir[512], key[1024], value[512];
    int plen = (int)strlen(prefix);
    while (plen > 1 && prefix[plen - 1] == '/') plen--;
    if (snprintf(dir, sizeof dir, "%.*s/", plen, prefix) >= (int)sizeof dir ||
        snprintf(key, sizeof key, "%s%s", dir, name) >= (int)sizeof key ||
        snprintf(value, sizeof value, "{\"addr\":\"%s\"}", addr) >= (int)sizeof value)
        return usage("an argument is too long");

    setvbuf(stdout, NULL, _IOLBF, 0);           /* a line at a time, even into a pipe */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;                  /* no SA_RESTART: poll() returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.http_host = endpoints;
    o.timeout = timeout;                        /* 0: 5 s per request */
    char err[256];
    etcd *cli = etcd_new(&o, err, sizeof err);
    if (!cli) {
        fprintf(stderr, "service_registry: %s\n", err);
        return 1;
    }
    int rc = run(cli, (int64_t)ttl, dir, key, value);
    etcd_free(cli);
    return rc;
}
