/* etcdctl_lite - a small etcdctl-like command line client built on etcd.h.

   Shows every kind of call (get/put/del, watch, leases, txn, version), how
   to tell the two kinds of failure apart (NULL result: etcd_errstr says why;
   a result whose status is not 200: etcd's own error), and how to turn
   etcd_res fields into etcdctl-style output.

   Build:  make examples
           (or: cc -std=c99 -Wall -I. -o build/etcdctl_lite examples/etcdctl_lite.c)
   Run:    build/etcdctl_lite put /app/port 8080
           build/etcdctl_lite get /app/ --prefix
           build/etcdctl_lite watch /app/ --prefix --count=1
           build/etcdctl_lite lease grant 60
           build/etcdctl_lite txn --if 'version(/lock) = 0' --then 'put /lock me' \
                                  --else 'get /lock'
           build/etcdctl_lite --endpoints=http://127.0.0.1:2379 version

   Global flags go before the command; command flags take the form --name or
   --name=value, anywhere after the command ("--" ends them). Values are
   stored byte for byte unless --json is given. Lease IDs are decimal.
   Exit status: 0 ok, 1 the request failed (message on stderr), 2 usage. */
#define ETCD_IMPLEMENTATION
#include "etcd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_FAIL  1
#define EXIT_USAGE 2

static const char usage_text[] =
    "usage: etcdctl_lite [global flags] COMMAND [args]\n"
    "\n"
    "global flags:\n"
    "  --endpoints=URL[,URL...]  default http://127.0.0.1:2379\n"
    "  --timeout=SECONDS         per request, default 5\n"
    "  --key-prefix=P            prepended to every key\n"
    "  --json                    values are JSON text (default: raw bytes)\n"
    "\n"
    "commands:\n"
    "  get KEY [--prefix] [--limit=N] [--rev=N] [--keys-only] [--count-only]\n"
    "          [--sort=asc|desc]\n"
    "  put KEY VALUE [--lease=ID] [--prev-kv]\n"
    "  del KEY [--prefix] [--prev-kv]\n"
    "  watch KEY [--prefix] [--rev=N] [--prev-kv] [--count=N]\n"
    "  lease grant TTL | revoke ID | timetolive ID [--keys] | keep-alive ID | list\n"
    "  txn [--if CMP...] [--then OP...] [--else OP...]\n"
    "      CMP: 'TARGET(KEY) OP VALUE', TARGET one of value version create mod\n"
    "           lease, OP one of = != > <, e.g. 'version(/a) = 0'\n"
    "      OP:  'put KEY VALUE', 'get KEY', 'del KEY' (VALUE: the rest, literally)\n"
    "  version\n";

/* ---- the parsed command line ------------------------------------------ */

enum {                                   /* the flags a command accepts */
    F_PREFIX = 1 << 0, F_PREV_KV = 1 << 1, F_LIMIT = 1 << 2, F_REV = 1 << 3,
    F_KEYS_ONLY = 1 << 4, F_COUNT_ONLY = 1 << 5, F_SORT = 1 << 6,
    F_COUNT = 1 << 7, F_LEASE = 1 << 8, F_KEYS = 1 << 9,
    F_NUM = 1 << 10,                     /* pos[0] is a number > 0 (TTL, lease ID) */
    F_RAW = 1 << 11                      /* the command parses its own argv */
};

typedef struct args {
    const char *pos[2]; int npos;        /* positional arguments */
    bool prefix, prev_kv, keys_only, count_only, keys;
    int64_t limit, rev, count, lease;
    int64_t num;                         /* pos[0] as a number, with F_NUM */
    int sort;                            /* etcd_get_opts.sort_order */
    int argc; char **argv;               /* everything after the command */
} args;

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "etcdctl_lite: %s%s%s\n\n%s", what, arg ? ": " : "",
            arg ? arg : "", usage_text);
    return EXIT_USAGE;
}

/* "--name=value" -> "value"; NULL for anything else. */
static const char *flag_value(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno) return -1;
    *out = v;
    return 0;
}

static int parse_flag(const char *arg, unsigned allowed, args *a)
{
    const char *v;
    if ((allowed & F_PREFIX) && !strcmp(arg, "--prefix")) a->prefix = true;
    else if ((allowed & F_PREV_KV) && !strcmp(arg, "--prev-kv")) a->prev_kv = true;
    else if ((allowed & F_KEYS_ONLY) && !strcmp(arg, "--keys-only")) a->keys_only = true;
    else if ((allowed & F_COUNT_ONLY) && !strcmp(arg, "--count-only")) a->count_only = true;
    else if ((allowed & F_KEYS) && !strcmp(arg, "--keys")) a->keys = true;
    else if ((allowed & F_LIMIT) && (v = flag_value(arg, "--limit")))
        return parse_i64(v, &a->limit);
    else if ((allowed & F_REV) && (v = flag_value(arg, "--rev")))
        return parse_i64(v, &a->rev);
    else if ((allowed & F_COUNT) && (v = flag_value(arg, "--count")))
        return parse_i64(v, &a->count);
    else if ((allowed & F_LEASE) && (v = flag_value(arg, "--lease")))
        return parse_i64(v, &a->lease);
    else if ((allowed & F_SORT) && (v = flag_value(arg, "--sort"))) {
        if (!strcmp(v, "asc")) a->sort = 1;
        else if (!strcmp(v, "desc")) a->sort = 2;
        else return -1;
    } else return -1;
    return 0;
}

/* ---- output helpers ---------------------------------------------------- */

static void print_kv(const etcd_kv *kv, bool key_only)
{
    fwrite(kv->key, 1, kv->key_len, stdout);        /* bytes: may hold NULs */
    putchar('\n');
    if (key_only) return;
    fwrite(kv->value, 1, kv->value_len, stdout);
    putchar('\n');
}

/* The result of a call, or NULL after saying on stderr why there is none:
   either the library got no answer (NULL, reason in etcd_errstr) or etcd
   answered with an error status (its message in the result). */
static etcd_res *check(etcd *cli, etcd_res *r)
{
    if (!r) {
        fprintf(stderr, "etcdctl_lite: %s\n", etcd_errstr(cli));
        return NULL;
    }
    if (r->status != 200) {
        const char *msg = r->message && *r->message ? r->message
                        : r->error && *r->error ? r->error : r->body;
        fprintf(stderr, "etcdctl_lite: etcd error (HTTP %d): %s\n", r->status, msg);
        etcd_res_free(r);
        return NULL;
    }
    return r;
}

/* ---- key-value commands ------------------------------------------------ */

static int cmd_get(etcd *cli, const args *a)
{
    etcd_get_opts o;
    memset(&o, 0, sizeof o);
    o.limit = a->limit;
    o.revision = a->rev;
    o.sort_order = a->sort;                         /* sort_target 0: by key */
    o.keys_only = a->keys_only;
    o.count_only = a->count_only;
    etcd_res *r = check(cli, a->prefix ? etcd_readdir(cli, a->pos[0], &o)
                                       : etcd_get(cli, a->pos[0], &o));
    if (!r) return EXIT_FAIL;
    if (a->count_only)
        printf("%" PRId64 "\n", r->count);
    else
        for (size_t i = 0; i < r->nkvs; i++) print_kv(&r->kvs[i], a->keys_only);
    etcd_res_free(r);
    return 0;
}

static int cmd_put(etcd *cli, const args *a)
{
    etcd_set_opts o;
    memset(&o, 0, sizeof o);
    o.lease = a->lease;
    o.prev_kv = a->prev_kv;
    etcd_res *r = check(cli, etcd_set(cli, a->pos[0], a->pos[1], &o));
    if (!r) return EXIT_FAIL;
    puts("OK");
    if (r->prev_kv) print_kv(r->prev_kv, false);
    etcd_res_free(r);
    return 0;
}

static int cmd_del(etcd *cli, const args *a)
{
    etcd_delete_opts o;
    memset(&o, 0, sizeof o);
    o.prev_kv = a->prev_kv;
    etcd_res *r = check(cli, a->prefix ? etcd_rmdir(cli, a->pos[0], &o)
                                       : etcd_delete(cli, a->pos[0], &o));
    if (!r) return EXIT_FAIL;
    printf("%" PRId64 "\n", r->deleted);
    for (size_t i = 0; i < r->nprev_kvs; i++) print_kv(&r->prev_kvs[i], false);
    etcd_res_free(r);
    return 0;
}

/* ---- watch ------------------------------------------------------------- */

/* Print the events of one watch message; true once `count` were printed. */
static bool print_events(const etcd_res *m, int64_t count, int64_t *seen)
{
    for (size_t i = 0; i < m->nevents; i++) {
        const etcd_event *e = &m->events[i];
        puts(e->type == ETCD_EVENT_PUT ? "PUT" : "DELETE");
        if (e->prev_kv) print_kv(e->prev_kv, false);
        print_kv(&e->kv, e->type == ETCD_EVENT_DELETE);
        fflush(stdout);                             /* one event, one flush */
        if (count > 0 && ++*seen >= count) return true;
    }
    return false;
}

static int cmd_watch(etcd *cli, const args *a)
{
    etcd_watch_opts o;
    memset(&o, 0, sizeof o);
    o.start_revision = a->rev;
    o.prev_kv = a->prev_kv;
    etcd_watcher *w = a->prefix ? etcd_watchdir(cli, a->pos[0], &o)
                                : etcd_watch(cli, a->pos[0], &o);
    if (!w) {
        fprintf(stderr, "etcdctl_lite: watch: %s\n", etcd_errstr(cli));
        return EXIT_FAIL;
    }
    int64_t seen = 0;
    int rc = -1;
    while (rc < 0) {
        etcd_res *m = etcd_watch_next(w);
        if (!m) {
            if (etcd_watch_errcode(w) == ETCD_ETIMEOUT) continue;  /* idle */
            fprintf(stderr, "etcdctl_lite: watch: %s\n", etcd_watch_errstr(w));
            rc = EXIT_FAIL;
        } else if (m->canceled) {                   /* e.g. --rev was compacted */
            fprintf(stderr, "etcdctl_lite: watch canceled: %s (compact revision %"
                    PRId64 ")\n", m->cancel_reason && *m->cancel_reason ?
                    m->cancel_reason : "by etcd", m->compact_revision);
            rc = EXIT_FAIL;
        } else if (print_events(m, a->count, &seen)) {
            rc = 0;
        }
        etcd_res_free(m);
    }
    etcd_watchcancel(w);
    return rc;
}

/* ---- leases ------------------------------------------------------------ */

static int cmd_grant(etcd *cli, const args *a)
{
    etcd_res *r = check(cli, etcd_grant(cli, a->num, 0));   /* ID 0: etcd picks */
    if (!r) return EXIT_FAIL;
    printf("lease %" PRId64 " granted with TTL(%" PRId64 "s)\n", r->id, r->ttl);
    etcd_res_free(r);
    return 0;
}

static int cmd_revoke(etcd *cli, const args *a)
{
    etcd_res *r = check(cli, etcd_revoke(cli, a->num));
    if (!r) return EXIT_FAIL;
    printf("lease %" PRId64 " revoked\n", a->num);
    etcd_res_free(r);
    return 0;
}

static int cmd_timetolive(etcd *cli, const args *a)
{
    int64_t id = a->num;
    etcd_res *r = check(cli, etcd_timetolive(cli, id, a->keys));
    if (!r) return EXIT_FAIL;
    if (r->ttl == -1) {
        printf("lease %" PRId64 " already expired\n", id);
    } else {
        printf("lease %" PRId64 " granted with TTL(%" PRId64 "s), remaining(%" PRId64 "s)",
               id, r->granted_ttl, r->ttl);
        if (a->keys) {
            printf(", attached keys([");
            for (size_t i = 0; i < r->nkeys; i++) {
                if (i) putchar(' ');
                fwrite(r->keys[i].ptr, 1, r->keys[i].len, stdout);
            }
            printf("])");
        }
        putchar('\n');
    }
    etcd_res_free(r);
    return 0;
}

static int cmd_keepalive(etcd *cli, const args *a)
{
    int64_t id = a->num;
    etcd_res *r = check(cli, etcd_keepalive(cli, id));
    if (!r) return EXIT_FAIL;
    int rc = 0;
    if (r->ttl <= 0) {                                  /* 0: the lease is gone */
        fprintf(stderr, "etcdctl_lite: lease %" PRId64 " expired or revoked\n", id);
        rc = EXIT_FAIL;
    } else {
        printf("lease %" PRId64 " keepalived with TTL(%" PRId64 ")\n", id, r->ttl);
    }
    etcd_res_free(r);
    return rc;
}

static int cmd_leases(etcd *cli, const args *a)
{
    (void)a;
    etcd_res *r = check(cli, etcd_leases(cli));
    if (!r) return EXIT_FAIL;
    printf("found %zu leases\n", r->nleases);
    for (size_t i = 0; i < r->nleases; i++) printf("%" PRId64 "\n", r->leases[i]);
    etcd_res_free(r);
    return 0;
}

/* ---- txn --------------------------------------------------------------- */

#define TXN_MAX 16

typedef struct txn_spec {
    etcd_compare cmp[TXN_MAX]; size_t ncmp;
    etcd_op then_ops[TXN_MAX]; size_t nthen;
    etcd_op else_ops[TXN_MAX]; size_t nelse;
    char text[4096]; size_t used;        /* copies of the arguments, cut up */
} txn_spec;

static char *skip_spaces(char *s)
{
    while (*s == ' ') s++;
    return s;
}

/* Cut the next word (or "quoted words") off *s; NULL if there is none. */
static char *next_word(char **s)
{
    char *w = skip_spaces(*s), *end;
    if (!*w) return NULL;
    if (*w == '"') {
        end = strchr(++w, '"');
        if (!end) return NULL;
    } else {
        end = w + strcspn(w, " ");
    }
    *s = *end ? end + 1 : end;
    *end = '\0';
    return w;
}

/* "TARGET(KEY) OP VALUE", e.g. "version(/a) = 0" or "value(/a) != on". */
static int parse_compare(char *s, etcd_compare *c)
{
    static const struct { const char *name; etcd_cmp_target target; } targets[] = {
        { "value", ETCD_CMP_VALUE }, { "val", ETCD_CMP_VALUE },
        { "version", ETCD_CMP_VERSION }, { "ver", ETCD_CMP_VERSION },
        { "create", ETCD_CMP_CREATE }, { "c", ETCD_CMP_CREATE },
        { "mod", ETCD_CMP_MOD }, { "m", ETCD_CMP_MOD }, { "lease", ETCD_CMP_LEASE },
    };
    static const struct { const char *op; etcd_cmp_result result; } ops[] = {
        { "!=", ETCD_CMP_NOT_EQUAL }, { "==", ETCD_CMP_EQUAL }, { "=", ETCD_CMP_EQUAL },
        { ">", ETCD_CMP_GREATER }, { "<", ETCD_CMP_LESS },
    };
    char *lp = strchr(s, '('), *rp = lp ? strchr(lp, ')') : NULL;
    if (!rp) return -1;
    *lp = *rp = '\0';                              /* s: TARGET, lp + 1: KEY */
    size_t t = 0, nt = sizeof targets / sizeof targets[0];
    size_t o = 0, no = sizeof ops / sizeof ops[0];
    while (t < nt && strcmp(skip_spaces(s), targets[t].name) != 0) t++;
    char *key = lp + 1, *p = skip_spaces(rp + 1);
    while (o < no && strncmp(p, ops[o].op, strlen(ops[o].op)) != 0) o++;
    if (t == nt || o == no || !(key = next_word(&key))) return -1;
    c->target = targets[t].target;
    c->result = ops[o].result;
    c->key = key;
    p = skip_spaces(p + strlen(ops[o].op));
    if (c->target == ETCD_CMP_VALUE) {              /* the rest, literally */
        c->value = p;
        return 0;
    }
    int64_t v;
    if (!(p = next_word(&p)) || parse_i64(p, &v) != 0) return -1;
    if (c->target == ETCD_CMP_VERSION) c->version = v;
    else if (c->target == ETCD_CMP_CREATE) c->create_revision = v;
    else if (c->target == ETCD_CMP_MOD) c->mod_revision = v;
    else c->lease = v;
    return 0;
}

/* "put KEY VALUE", "get KEY" or "del KEY". */
static int parse_op(char *s, etcd_op *op)
{
    char *verb = next_word(&s), *key = next_word(&s);
    if (!verb || !key) return -1;
    op->key = key;
    if (!strcmp(verb, "put")) {
        op->type = ETCD_OP_PUT;
        op->value = skip_spaces(s);                 /* the rest, literally */
        return 0;
    }
    if (!strcmp(verb, "get")) op->type = ETCD_OP_RANGE;
    else if (!strcmp(verb, "del")) op->type = ETCD_OP_DELETE;
    else return -1;
    return *skip_spaces(s) ? -1 : 0;
}

/* Fill t from --if/--then/--else sections; NULL or the offending argument. */
static const char *parse_txn(int argc, char **argv, txn_spec *t)
{
    size_t *n = NULL;
    char section = 0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--if")) { section = 'i'; n = &t->ncmp; continue; }
        if (!strcmp(arg, "--then")) { section = 't'; n = &t->nthen; continue; }
        if (!strcmp(arg, "--else")) { section = 'e'; n = &t->nelse; continue; }
        size_t len = strlen(arg) + 1;
        if (!n || *n == TXN_MAX || len > sizeof t->text - t->used) return arg;
        char *copy = (char *)memcpy(t->text + t->used, arg, len);
        t->used += len;
        int bad = section == 'i' ? parse_compare(copy, &t->cmp[*n])
                : parse_op(copy, section == 't' ? &t->then_ops[*n] : &t->else_ops[*n]);
        if (bad) return arg;
        ++*n;
    }
    return NULL;
}

static void print_op_result(const etcd_op *op, const etcd_res *r)
{
    if (op->type == ETCD_OP_PUT) puts("OK");
    else if (op->type == ETCD_OP_DELETE) printf("%" PRId64 "\n", r->deleted);
    else for (size_t i = 0; i < r->nkvs; i++) print_kv(&r->kvs[i], false);
}

static int cmd_txn(etcd *cli, const args *a)
{
    static txn_spec t;                              /* big: keep it off the stack */
    const char *bad = parse_txn(a->argc, a->argv, &t);
    if (bad) return usage_error("bad txn argument", bad);
    etcd_res *r = check(cli, etcd_txn(cli, t.cmp, t.ncmp, t.then_ops, t.nthen,
                                      t.else_ops, t.nelse, NULL));
    if (!r) return EXIT_FAIL;
    puts(r->succeeded ? "SUCCESS" : "FAILURE");
    const etcd_op *ops = r->succeeded ? t.then_ops : t.else_ops;
    size_t nops = r->succeeded ? t.nthen : t.nelse;
    for (size_t i = 0; i < r->nresponses && i < nops; i++) {
        putchar('\n');
        print_op_result(&ops[i], &r->responses[i]);
    }
    etcd_res_free(r);
    return 0;
}

/* ---- version and the command table ------------------------------------- */

static int cmd_version(etcd *cli, const args *a)
{
    (void)a;
    etcd_res *r = check(cli, etcd_version(cli));
    if (!r) return EXIT_FAIL;
    printf("etcdserver: %s\netcdcluster: %s\n", r->etcdserver ? r->etcdserver : "?",
           r->etcdcluster ? r->etcdcluster : "?");
    etcd_res_free(r);
    return 0;
}

typedef struct command {
    const char *name, *sub;              /* "lease" "grant"; sub NULL: one word */
    int (*run)(etcd *cli, const args *a);
    unsigned flags;                      /* F_* it accepts */
    int min_pos, max_pos;                /* positional arguments */
} command;

static const command commands[] = {
    { "get",   NULL, cmd_get,
      F_PREFIX | F_LIMIT | F_REV | F_KEYS_ONLY | F_COUNT_ONLY | F_SORT, 1, 1 },
    { "put",   NULL, cmd_put,   F_LEASE | F_PREV_KV, 2, 2 },
    { "del",   NULL, cmd_del,   F_PREFIX | F_PREV_KV, 1, 1 },
    { "watch", NULL, cmd_watch, F_PREFIX | F_REV | F_PREV_KV | F_COUNT, 1, 1 },
    { "lease", "grant",      cmd_grant,      F_NUM, 1, 1 },
    { "lease", "revoke",     cmd_revoke,     F_NUM, 1, 1 },
    { "lease", "timetolive", cmd_timetolive, F_NUM | F_KEYS, 1, 1 },
    { "lease", "keep-alive", cmd_keepalive,  F_NUM, 1, 1 },
    { "lease", "list",       cmd_leases,     0, 0, 0 },
    { "txn",     NULL, cmd_txn,     F_RAW, 0, 0 },
    { "version", NULL, cmd_version, 0, 0, 0 },
};

/* The command argv names (one or two words); *words says how many. */
static const command *find_command(int argc, char **argv, int *words)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const command *c = &commands[i];
        if (strcmp(argv[0], c->name) != 0) continue;
        *words = c->sub ? 2 : 1;
        if (!c->sub || (argc > 1 && strcmp(argv[1], c->sub) == 0)) return c;
    }
    return NULL;
}

/* 0, or EXIT_USAGE after saying what is wrong. */
static int parse_args(const command *c, int argc, char **argv, args *a)
{
    bool flags_done = false;
    memset(a, 0, sizeof *a);
    a->argc = argc;
    a->argv = argv;
    if (c->flags & F_RAW) return 0;
    for (int i = 0; i < argc; i++) {
        if (!flags_done && !strcmp(argv[i], "--")) {
            flags_done = true;
        } else if (!flags_done && !strncmp(argv[i], "--", 2)) {
            if (parse_flag(argv[i], c->flags, a) != 0)
                return usage_error("unknown or bad flag", argv[i]);
        } else if (a->npos < c->max_pos) {
            a->pos[a->npos++] = argv[i];
        } else {
            return usage_error("unexpected argument", argv[i]);
        }
    }
    if (a->npos < c->min_pos) return usage_error("missing argument", c->name);
    if ((c->flags & F_NUM) && (parse_i64(a->pos[0], &a->num) != 0 || a->num <= 0))
        return usage_error("not a number > 0", a->pos[0]);
    return 0;
}

static int parse_global(const char *arg, etcd_opts *o)
{
    const char *v;
    char *end;
    if ((v = flag_value(arg, "--endpoints"))) o->http_host = v;
    else if ((v = flag_value(arg, "--key-prefix"))) o->key_prefix = v;
    else if (!strcmp(arg, "--json")) o->serializer = ETCD_SERIALIZER_JSON;
    else if ((v = flag_value(arg, "--timeout"))) {
        o->timeout = strtod(v, &end);
        return *v && !*end && o->timeout > 0 ? 0 : -1;
    } else return -1;
    return 0;
}

int main(int argc, char **argv)
{
    etcd_opts opts;
    memset(&opts, 0, sizeof opts);
    opts.serializer = ETCD_SERIALIZER_RAW;          /* values taken literally */
    int i = 1;
    for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
        if (!strcmp(argv[i], "--help")) { fputs(usage_text, stdout); return 0; }
        if (parse_global(argv[i], &opts) != 0)
            return usage_error("unknown or bad flag", argv[i]);
    }
    if (i == argc) return usage_error("missing command", NULL);

    int words;
    const command *c = find_command(argc - i, argv + i, &words);
    if (!c) return usage_error("unknown command", argv[i]);
    args a;
    if (parse_args(c, argc - i - words, argv + i + words, &a) != 0) return EXIT_USAGE;

    char err[256];
    etcd *cli = etcd_new(&opts, err, sizeof err);
    if (!cli) {
        fprintf(stderr, "etcdctl_lite: %s\n", err);
        return EXIT_FAIL;
    }
    int rc = c->run(cli, &a);
    etcd_free(cli);
    return rc;
}
