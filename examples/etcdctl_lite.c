/* etcdctl_lite - a small etcdctl built on etcd.h: same syntax, same output.

   It takes etcdctl's (v3, 3.4) syntax and prints what etcdctl prints, with
   -w simple (the default), json or fields, for its everyday commands
   (and -w table for member list and endpoint health/status):

       get put del watch txn lock elect version
       lease grant|revoke|timetolive|list|keep-alive
       member list, endpoint health|status

   so scripts written for one work with the other:

       etcdctl_lite put /app/port 8080
       etcdctl_lite get /app/ --prefix -w json
       etcdctl_lite --endpoints 127.0.0.1:2379,127.0.0.1:22379 get /a
       ETCDCTL_ENDPOINTS=127.0.0.1:2379 etcdctl_lite lease grant 60
       etcdctl_lite watch /app/ --prefix --prev-kv
       printf 'version("/a") = "0"\n\nput /a 1\n\nget /a\n\n' | etcdctl_lite txn

   Flags may come anywhere, as --flag=value or --flag value; global flags
   also come from ETCDCTL_<FLAG> (ETCDCTL_ENDPOINTS, ETCDCTL_USER...). "--"
   ends the flags. Lease IDs are hexadecimal, as in etcdctl. Endpoints
   without a scheme get http:// (https:// with --cacert or --cert: build
   with -DETCD_USE_OPENSSL -lssl -lcrypto for those), and a call that cannot
   reach one endpoint goes to the next (etcd.h's retry option). `version`
   prints the server's version where etcdctl prints its own.

   Beyond etcdctl: get --count-only (etcdctl 3.5), watch --count=N (stop
   after N events), --key-prefix=P, --timeout=SECONDS (one deadline per
   request), and --json (values are JSON text, checked before they are
   sent: etcd.h's JSON serializer; the default stores them byte for byte).
   Not here: watch KEY RANGE_END, watch -i, get --consistency other than
   l/s, the protobuf format, table for other commands (etcdctl runs a write
   and then refuses the format; this refuses first), --cluster, auth/role/user/snapshot/
   defrag/alarm/move-leader/compaction/make-mirror/check commands.

   Exit status, as etcdctl's: 0 ok, 1 a failed request or an unknown flag or
   command, 2 a lost connection (keep-alive --once), 3 bad txn input, 4 an
   unsupported option value, 128 bad arguments. Errors go to stderr as
   "Error: ...". -h/--help (and a bare "lease") print help and exit 0.

   Build:  make examples   (or: cc -std=c99 -I. -o etcdctl_lite examples/etcdctl_lite.c) */
#define ETCD_IMPLEMENTATION
#include "etcd.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* etcdctl's exit codes (etcdctl/ctlv3/command/error.go) */
#define EXIT_ERROR      1
#define EXIT_BAD_CONN   2
#define EXIT_BAD_INPUT  3
#define EXIT_BAD_FEAT   4
#define EXIT_BAD_ARGS   128

/* ---- flags -------------------------------------------------------------
   One table for every flag: its name, whether it takes a value, and whether
   it is global (any command, also from ETCDCTL_*). Knowing which flags take
   a value is what lets "--limit 5" work anywhere on the line. */

enum flag_id {
    /* global */
    G_ENDPOINTS, G_DIAL_TIMEOUT, G_COMMAND_TIMEOUT, G_USER, G_PASSWORD, G_CACERT,
    G_CERT, G_KEY, G_INSECURE_SKIP, G_HEX, G_WRITE_OUT, G_HELP, G_DEBUG,
    G_INSECURE_TRANSPORT, G_KEEPALIVE_TIME, G_KEEPALIVE_TIMEOUT,
    G_KEY_PREFIX, G_JSON, G_TIMEOUT,                     /* etcdctl_lite's own */
    /* per command */
    F_PREFIX, F_FROM_KEY, F_KEYS_ONLY, F_PRINT_VALUE_ONLY, F_COUNT_ONLY, F_LIMIT,
    F_REV, F_ORDER, F_SORT_BY, F_CONSISTENCY, F_LEASE, F_PREV_KV, F_IGNORE_VALUE,
    F_IGNORE_LEASE, F_PROGRESS_NOTIFY, F_COUNT, F_KEYS, F_ONCE, F_INTERACTIVE,
    F_TTL, F_LISTEN,
    NFLAGS
};

typedef struct flag_def {
    const char *name;
    char short_name;                     /* -w, -h, -i; 0: none */
    bool takes_value;
} flag_def;

/* in enum flag_id order */
static const flag_def flags[NFLAGS] = {
    { "endpoints", 0, true },
    { "dial-timeout", 0, true },
    { "command-timeout", 0, true },
    { "user", 0, true },
    { "password", 0, true },
    { "cacert", 0, true },
    { "cert", 0, true },
    { "key", 0, true },
    { "insecure-skip-tls-verify", 0, false },
    { "hex", 0, false },
    { "write-out", 'w', true },
    { "help", 'h', false },
    { "debug", 0, false },                   /* accepted, no effect */
    { "insecure-transport", 0, false },
    { "keepalive-time", 0, true },
    { "keepalive-timeout", 0, true },
    { "key-prefix", 0, true },
    { "json", 0, false },
    { "timeout", 0, true },
    { "prefix", 0, false },
    { "from-key", 0, false },
    { "keys-only", 0, false },
    { "print-value-only", 0, false },
    { "count-only", 0, false },
    { "limit", 0, true },
    { "rev", 0, true },
    { "order", 0, true },
    { "sort-by", 0, true },
    { "consistency", 0, true },
    { "lease", 0, true },
    { "prev-kv", 0, false },
    { "ignore-value", 0, false },
    { "ignore-lease", 0, false },
    { "progress-notify", 0, false },
    { "count", 0, true },
    { "keys", 0, false },
    { "once", 0, false },
    { "interactive", 'i', false },
    { "ttl", 0, true },
    { "listen", 'l', false },
};

#define BIT(f) ((uint64_t)1 << (f))

/* The command line, parsed: flag values ("true" for a bare boolean) and the
   positional words, the command's own first. */
static const char *flag_val[NFLAGS];
static const char *pos[64];
static int npos;

static void die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("Error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(code);
}

static bool flag_on(int f)
{
    return flag_val[f] && strcmp(flag_val[f], "false") != 0;
}

static int64_t parse_int(int f, int base)
{
    char *end;
    errno = 0;
    long long v = strtoll(flag_val[f], &end, base);
    if (!*flag_val[f] || *end || errno)
        die(EXIT_ERROR, "invalid argument \"%s\" for \"--%s\" flag", flag_val[f], flags[f].name);
    return v;
}

static int64_t flag_int(int f) { return flag_val[f] ? parse_int(f, 10) : 0; }

/* Go durations as etcdctl takes them: "5s", "500ms", "1m", "2.5s". */
static double flag_seconds(int f, double dflt)
{
    const char *v = flag_val[f];
    if (!v) return dflt;
    char *end;
    double d = strtod(v, &end);
    double unit = !strcmp(end, "ms") ? 0.001 : !strcmp(end, "s") || !*end ? 1
                : !strcmp(end, "m") ? 60 : -1;
    if (end == v || unit < 0 || d <= 0)
        die(EXIT_ERROR, "invalid argument \"%s\" for \"--%s\" flag", v, flags[f].name);
    return d * unit;
}

/* One argument that starts with "-": find its flag, take its value (after
   "=" or the next argument). Returns how many arguments it used. */
static int parse_flag(int argc, char **argv, int i)
{
    const char *arg = argv[i], *name = arg + 2, *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    int f = 0;
    if (arg[1] != '-') {                                  /* -w json, -h, -wjson */
        for (; f < NFLAGS && flags[f].short_name != arg[1]; f++) {}
        if (f == NFLAGS) die(EXIT_ERROR, "unknown shorthand flag: '%c' in %s", arg[1], arg);
        name = arg + 2;
        eq = *name == '=' ? name : *name ? name - 1 : NULL;
    } else {
        for (; f < NFLAGS && (strlen(flags[f].name) != len ||
                              strncmp(flags[f].name, name, len) != 0); f++) {}
        if (f == NFLAGS) die(EXIT_ERROR, "unknown flag: %.*s", (int)(len + 2), arg);
    }
    if (eq) {
        flag_val[f] = eq + 1;
        return 1;
    }
    if (!flags[f].takes_value) {
        flag_val[f] = "true";
        return 1;
    }
    if (i + 1 >= argc) die(EXIT_ERROR, "flag needs an argument: %s", arg);
    flag_val[f] = argv[i + 1];
    return 2;
}

static void parse_command_line(int argc, char **argv)
{
    bool flags_done = false;
    for (int i = 1; i < argc;) {
        if (!flags_done && !strcmp(argv[i], "--")) {
            flags_done = true;
            i++;
        } else if (!flags_done && argv[i][0] == '-' && argv[i][1]) {
            i += parse_flag(argc, argv, i);
        } else if (npos < (int)(sizeof pos / sizeof pos[0])) {
            pos[npos++] = argv[i++];
        } else {
            die(EXIT_BAD_ARGS, "too many arguments");
        }
    }
    /* Global flags not on the command line come from ETCDCTL_<NAME>. */
    for (int f = 0; f <= G_TIMEOUT; f++) {
        char env[64] = "ETCDCTL_";
        size_t n = strlen(env);
        for (const char *p = flags[f].name; *p && n < sizeof env - 1; p++)
            env[n++] = *p == '-' ? '_' : (char)(*p - 'a' + 'A');
        env[n] = '\0';
        if (!flag_val[f] && getenv(env)) flag_val[f] = getenv(env);
    }
}

/* ---- bytes -------------------------------------------------------------
   etcdctl's json output carries keys and values as base64; etcd.h builds
   every request, so this is the only encoder here. */

/* A growing buffer: base64 on its way to stdout. */
typedef struct body { char *p; size_t len, cap; } body;

/* Room for more bytes and a NUL. */
static void body_reserve(body *b, size_t more)
{
    if (b->p && b->cap - b->len > more) return;
    b->cap = b->cap * 2 + more + 64;
    char *p = (char *)realloc(b->p, b->cap);
    if (!p) die(EXIT_ERROR, "out of memory");
    b->p = p;
}

static void base64(body *b, const char *p, size_t n)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *s = (const unsigned char *)p;
    body_reserve(b, (n + 2) / 3 * 4);
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0)
                   | (i + 2 < n ? s[i + 2] : 0);
        b->p[b->len++] = b64[v >> 18 & 63];
        b->p[b->len++] = b64[v >> 12 & 63];
        b->p[b->len++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
        b->p[b->len++] = i + 2 < n ? b64[v & 63] : '=';
    }
    b->p[b->len] = '\0';
}

/* The end of the range of the keys that start with key[0..len), written
   to end (len + 2 bytes) with a NUL after it; returns its length. The
   first key past them all: the last byte that is not 0xff, plus one; a
   prefix of 0xff bytes only has none, so "\0": etcd's end of the
   keyspace (as a C string, "": etcd.h's own word for it in a txn). */
static size_t prefix_end(const char *key, size_t len, char *end)
{
    while (len > 0 && (unsigned char)key[len - 1] == 0xff) len--;
    memcpy(end, key, len);
    if (len > 0) end[len - 1]++;
    else end[len++] = '\0';
    end[len] = '\0';
    return len;
}

/* ---- output ------------------------------------------------------------
   One printer per -w format, as etcdctl has (ctlv3/command/printer*.go):
   simple (the default), json (Go's encoding/json of the response: base64
   bytes, omitted zero fields), fields ("Name" : value lines, strings
   quoted as Go's %q) and table. Commands hand their results to the one
   chosen, so a format's whole output reads in one place. */

/* What the cluster commands print, read from bodies etcd_res does not
   decode. A JSON array of strings stays as the tokens it came in. */
typedef struct str_list { const char *text; const etcd_json_tok *items; size_t n; } str_list;

typedef struct member {
    uint64_t id;
    etcd_str name;                       /* empty: not started yet */
    str_list peers, clients;
    bool learner;
} member;

typedef struct ep_status {
    const char *endpoint;
    const etcd_res *r;                   /* its header */
    etcd_str version;
    uint64_t db, in_use, leader, index, term, applied;
    bool learner;
} ep_status;

typedef struct ep_health {
    const char *endpoint, *took, *error;  /* error: when not ok */
    bool ok;
} ep_health;

typedef struct printer {
    const char *name;                    /* -w NAME */
    bool cluster_only;                   /* refuses the commands not marked cluster */
    void (*get)(const etcd_res *r);
    void (*leader)(const etcd_res *r);   /* elect -l, each leader */
    void (*put)(const etcd_res *r);
    void (*del)(const etcd_res *r);
    void (*txn)(const etcd_res *r, const etcd_op *ops);      /* ops: the branch that ran */
    void (*watch)(const etcd_res *m);
    void (*grant)(const etcd_res *r);
    void (*revoke)(int64_t id, const etcd_res *r);
    void (*timetolive)(int64_t id, const etcd_res *r, bool keys);
    void (*keepalive)(int64_t id, const etcd_res *r);
    void (*expired)(int64_t id);         /* keep-alive's lease is gone */
    void (*leases)(const etcd_res *r);
    void (*members)(const etcd_res *r, const member *ms, size_t n);
    void (*status)(const ep_status *s, int i);               /* i: the endpoint's index */
    void (*status_end)(void);
    void (*health)(const ep_health *h, int i);
    void (*health_end)(void);
} printer;

static const printer *display;          /* chosen by -w, once */

static bool speaks_35(void);            /* the etcdctl release whose output to print */

static void nothing(void) {}
static void nothing_id(int64_t id) { (void)id; }

/* Rows of cells: the cluster commands' output in simple and table. Simple
   prints each row once it is made, ", " between cells; table keeps them
   all (malloc'd, row by row) for table_print. */

enum { CELL_MAX = 256, TABLE_COLS = 10 };
static char **cells;
static size_t ncells;

static void cell(const char *fmt, ...)
{
    char buf[CELL_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **more = (char **)realloc(cells, (ncells + 1) * sizeof *cells);
    if (!more || !(more[ncells] = strdup(buf))) die(EXIT_ERROR, "out of memory");
    cells = more;
    ncells++;
}

static void cells_free(void)
{
    for (size_t i = 0; i < ncells; i++) free(cells[i]);
    free(cells);
    cells = NULL;
    ncells = 0;
}

static void row_print(void)
{
    for (size_t i = 0; i < ncells; i++) printf("%s%s", i ? ", " : "", cells[i]);
    putchar('\n');
    cells_free();
}

/* Display width: UTF-8 characters ("µs" is two). */
static int width(const char *s)
{
    int n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void table_rule(const int *w, int ncols)
{
    for (int c = 0; c < ncols; c++) {
        putchar('+');
        for (int i = 0; i < w[c] + 2; i++) putchar('-');
    }
    puts("+");
}

/* As etcdctl's tablewriter: headers centered, cells right-aligned. */
static void table_print(const char *const *headers, int ncols)
{
    int w[TABLE_COLS];
    size_t rows = ncells / (size_t)ncols;
    for (int c = 0; c < ncols; c++) {
        w[c] = width(headers[c]);
        for (size_t r = 0; r < rows; r++)
            if (width(cells[r * (size_t)ncols + (size_t)c]) > w[c]) w[c] = width(cells[r * (size_t)ncols + (size_t)c]);
    }
    table_rule(w, ncols);
    for (int c = 0; c < ncols; c++) {
        int pad = w[c] - width(headers[c]);
        printf("| %*s%s%*s ", pad / 2, "", headers[c], pad - pad / 2, "");
    }
    puts("|");
    table_rule(w, ncols);
    for (size_t r = 0; r < rows; r++) {
        for (int c = 0; c < ncols; c++) {
            const char *v = cells[r * (size_t)ncols + (size_t)c];
            printf("| %*s%s ", w[c] - width(v), "", v);
        }
        puts("|");
    }
    table_rule(w, ncols);
    cells_free();
}

static void put_bytes(const char *p, size_t n) { fwrite(p, 1, n, stdout); }

/* --hex in simple output: every byte as \xNN */
static void put_hex(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) printf("\\x%02x", (unsigned char)p[i]);
}

static void put_base64(const char *p, size_t n)
{
    body b = { NULL, 0, 0 };
    base64(&b, p, n);
    put_bytes(b.p, b.len);
    free(b.p);
}

/* Go's %q for ASCII; other bytes are written as they are (valid UTF-8
   is what Go writes as is too). */
static void put_quoted(const char *p, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n"
                        : c == '\t' ? "\\t" : c == '\r' ? "\\r" : NULL;
        if (esc) fputs(esc, stdout);
        else if (c < 0x20 || c == 0x7f) printf("\\x%02x", c);
        else putchar(c);
    }
    putchar('"');
}

static etcd_str list_at(str_list l, size_t k)
{
    etcd_str s = { l.text + l.items[k].start, l.items[k].end - l.items[k].start };
    return s;
}

/* "a,b": a member's URLs in one cell */
static const char *joined(str_list l, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < l.n && n < size; k++) {
        etcd_str u = list_at(l, k);
        n += (size_t)snprintf(buf + n, size - n, "%s%.*s", k ? "," : "", (int)u.len, u.ptr);
    }
    return buf;
}

static void member_cells(const member *m)
{
    char urls[CELL_MAX];
    cell("%" PRIx64, m->id);
    cell("%s", m->name.len ? "started" : "unstarted");
    cell("%.*s", (int)m->name.len, m->name.ptr);
    cell("%s", joined(m->peers, urls, sizeof urls));
    cell("%s", joined(m->clients, urls, sizeof urls));
    cell("%s", m->learner ? "true" : "false");
}

/* go-humanize's Bytes: SI units, "25 kB" */
static const char *fmt_size(uint64_t n, char *buf, size_t size)
{
    static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB" };
    if (n < 10) { snprintf(buf, size, "%" PRIu64 " B", n); return buf; }
    double v = (double)n;
    int e = 0;
    while (v >= 1000 && e < 6) { v /= 1000; e++; }
    v = (double)(long long)(v * 10 + 0.5) / 10;
    snprintf(buf, size, v < 10 ? "%.1f %s" : "%.0f %s", v, units[e]);
    return buf;
}

static void status_cells(const ep_status *s)
{
    char size[32];
    cell("%s", s->endpoint);
    cell("%" PRIx64, s->r->member_id);
    cell("%.*s", (int)s->version.len, s->version.ptr);
    cell("%s", fmt_size(s->db, size, sizeof size));
    cell("%s", s->leader == s->r->member_id ? "true" : "false");
    cell("%s", s->learner ? "true" : "false");
    cell("%" PRIu64, s->term);
    cell("%" PRIu64, s->index);
    cell("%" PRIu64, s->applied);
    cell("%s", "");                                  /* errors: none */
}

/* ---- simple ---- */

/* key line (unless value-only), value line */
static void simple_kv(const etcd_kv *kv, bool value_only)
{
    bool hex = flag_on(G_HEX);
    if (!value_only) {
        if (hex) put_hex(kv->key, kv->key_len); else put_bytes(kv->key, kv->key_len);
        putchar('\n');
    }
    if (hex) put_hex(kv->value, kv->value_len); else put_bytes(kv->value, kv->value_len);
    putchar('\n');
}

/* --count-only and --print-value-only are read here, as etcdctl's simple
   printer holds them: a txn's or an election's get cannot have them. */
static void simple_get(const etcd_res *r)
{
    if (flag_on(F_COUNT_ONLY)) printf("%" PRId64 "\n", r->count);
    for (size_t i = 0; i < r->nkvs; i++) simple_kv(&r->kvs[i], flag_on(F_PRINT_VALUE_ONLY));
}

static void simple_put(const etcd_res *r)
{
    puts("OK");
    if (r->prev_kv) simple_kv(r->prev_kv, false);
}

static void simple_del(const etcd_res *r)
{
    printf("%" PRId64 "\n", r->deleted);
    for (size_t i = 0; i < r->nprev_kvs; i++) simple_kv(&r->prev_kvs[i], false);
}

static void simple_txn(const etcd_res *r, const etcd_op *ops)
{
    static void (*const print_op[3])(const etcd_res *) = { simple_get, simple_put, simple_del };
    puts(r->succeeded ? "SUCCESS" : "FAILURE");
    for (size_t i = 0; i < r->nresponses; i++) {
        putchar('\n');
        print_op[ops[i].type](&r->responses[i]);
    }
}

static void simple_watch(const etcd_res *m)
{
    for (size_t i = 0; i < m->nevents; i++) {
        const etcd_event *e = &m->events[i];
        puts(e->type == ETCD_EVENT_PUT ? "PUT" : "DELETE");
        if (e->prev_kv) simple_kv(e->prev_kv, flag_on(F_PRINT_VALUE_ONLY));
        simple_kv(&e->kv, flag_on(F_PRINT_VALUE_ONLY));
    }
}

static void simple_grant(const etcd_res *r)
{
    printf("lease %016" PRIx64 " granted with TTL(%" PRId64 "s)\n", (uint64_t)r->id, r->ttl);
}

static void simple_revoke(int64_t id, const etcd_res *r)
{
    (void)r;
    printf("lease %016" PRIx64 " revoked\n", (uint64_t)id);
}

static void simple_timetolive(int64_t id, const etcd_res *r, bool keys)
{
    if (r->ttl == -1) {
        printf("lease %016" PRIx64 " already expired\n", (uint64_t)id);
        return;
    }
    printf("lease %016" PRIx64 " granted with TTL(%" PRId64 "s), remaining(%" PRId64 "s)",
           (uint64_t)id, r->granted_ttl, r->ttl);
    if (keys) {
        fputs(", attached keys([", stdout);
        for (size_t i = 0; i < r->nkeys; i++) {
            if (i) putchar(' ');
            put_bytes(r->keys[i].ptr, r->keys[i].len);
        }
        fputs("])", stdout);
    }
    putchar('\n');
}

static void simple_keepalive(int64_t id, const etcd_res *r)
{
    printf("lease %016" PRIx64 " keepalived with TTL(%" PRId64 ")\n", (uint64_t)id, r->ttl);
}

/* the only format etcdctl tells it in */
static void simple_expired(int64_t id)
{
    printf("lease %016" PRIx64 " expired or revoked.\n", (uint64_t)id);
}

static void simple_leases(const etcd_res *r)
{
    printf("found %zu leases\n", r->nleases);
    for (size_t i = 0; i < r->nleases; i++) printf("%016" PRIx64 "\n", (uint64_t)r->leases[i]);
}

static void simple_members(const etcd_res *r, const member *ms, size_t n)
{
    (void)r;
    for (size_t k = 0; k < n; k++) {
        member_cells(&ms[k]);
        row_print();
    }
}

static void simple_status(const ep_status *s, int i)
{
    (void)i;
    status_cells(s);
    row_print();
}

/* Fields prints health this way too (etcdctl's fields lines for it are
   not done here). 3.4's etcdctl wrote a healthy endpoint to stderr. */
static void simple_health(const ep_health *h, int i)
{
    (void)i;
    if (h->ok)
        fprintf(speaks_35() ? stdout : stderr, "%s is healthy: successfully committed proposal: "
                "took = %s\n", h->endpoint, h->took);
    else
        fprintf(stderr, "%s is unhealthy: failed to commit proposal: %s\n", h->endpoint, h->error);
}

/* ---- json ---- */

/* the header's fields, zeros omitted (a txn's inner headers have only
   "revision") */
static void json_header(const etcd_res *r)
{
    const char *sep = "";
    if (r->cluster_id) { printf("\"cluster_id\":%" PRIu64, r->cluster_id); sep = ","; }
    if (r->member_id) { printf("%s\"member_id\":%" PRIu64, sep, r->member_id); sep = ","; }
    if (r->revision) { printf("%s\"revision\":%" PRId64, sep, r->revision); sep = ","; }
    if (r->raft_term) printf("%s\"raft_term\":%" PRId64, sep, r->raft_term);
}

/* a KeyValue: zero fields are omitted, as Go's omitempty does */
static void json_kv(const etcd_kv *kv)
{
    fputs("{\"key\":\"", stdout);
    put_base64(kv->key, kv->key_len);
    putchar('"');
    if (kv->create_revision) printf(",\"create_revision\":%" PRId64, kv->create_revision);
    if (kv->mod_revision) printf(",\"mod_revision\":%" PRId64, kv->mod_revision);
    if (kv->version) printf(",\"version\":%" PRId64, kv->version);
    if (kv->value_len) {
        fputs(",\"value\":\"", stdout);
        put_base64(kv->value, kv->value_len);
        putchar('"');
    }
    if (kv->lease) printf(",\"lease\":%" PRId64, kv->lease);
    putchar('}');
}

static void json_kvs(const char *name, const etcd_kv *kvs, size_t n)
{
    if (!n) return;
    printf(",\"%s\":[", name);
    for (size_t i = 0; i < n; i++) {
        if (i) putchar(',');
        json_kv(&kvs[i]);
    }
    putchar(']');
}

/* Range, Put and DeleteRange responses without the newline: a txn's JSON
   nests them. */
static void json_range_res(const etcd_res *r)
{
    fputs("{\"header\":{", stdout);
    json_header(r);
    putchar('}');
    json_kvs("kvs", r->kvs, r->nkvs);
    if (r->more) fputs(",\"more\":true", stdout);
    if (r->count) printf(",\"count\":%" PRId64, r->count);
    putchar('}');
}

static void json_put_res(const etcd_res *r)
{
    fputs("{\"header\":{", stdout);
    json_header(r);
    putchar('}');
    if (r->prev_kv) {
        fputs(",\"prev_kv\":", stdout);
        json_kv(r->prev_kv);
    }
    putchar('}');
}

static void json_del_res(const etcd_res *r)
{
    fputs("{\"header\":{", stdout);
    json_header(r);
    putchar('}');
    if (r->deleted) printf(",\"deleted\":%" PRId64, r->deleted);
    json_kvs("prev_kvs", r->prev_kvs, r->nprev_kvs);
    putchar('}');
}

static void json_get(const etcd_res *r) { json_range_res(r); putchar('\n'); }
static void json_put(const etcd_res *r) { json_put_res(r); putchar('\n'); }
static void json_del(const etcd_res *r) { json_del_res(r); putchar('\n'); }

static void json_txn(const etcd_res *r, const etcd_op *ops)
{
    static const char *const names[2][3] = {
        { "ResponseRange", "ResponsePut", "ResponseDeleteRange" },
        { "response_range", "response_put", "response_delete_range" } };
    static void (*const print_op[3])(const etcd_res *) = { json_range_res, json_put_res, json_del_res };
    fputs("{\"header\":{", stdout);
    json_header(r);
    putchar('}');
    if (r->succeeded) fputs(",\"succeeded\":true", stdout);
    if (r->nresponses) fputs(",\"responses\":[", stdout);
    for (size_t i = 0; i < r->nresponses; i++) {
        printf("%s{\"Response\":{\"%s\":", i ? "," : "", names[speaks_35()][ops[i].type]);
        print_op[ops[i].type](&r->responses[i]);
        fputs("}}", stdout);
    }
    puts(r->nresponses ? "]}" : "}");
}

static void json_event(const etcd_event *e)
{
    fputs(e->type == ETCD_EVENT_DELETE ? "{\"type\":1,\"kv\":" : "{\"kv\":", stdout);
    json_kv(&e->kv);
    if (e->prev_kv) {
        fputs(",\"prev_kv\":", stdout);
        json_kv(e->prev_kv);
    }
    putchar('}');
}

/* etcdctl marshals clientv3's WatchResponse, whose own fields have no
   json tags: Go's names, never omitted. */
static void json_watch(const etcd_res *m)
{
    fputs("{\"Header\":{", stdout);
    json_header(m);
    fputs("},\"Events\":", stdout);
    if (!m->nevents) fputs("null", stdout);
    for (size_t i = 0; i < m->nevents; i++) {
        fputs(i ? "," : "[", stdout);
        json_event(&m->events[i]);
    }
    if (m->nevents) putchar(']');
    printf(",\"CompactRevision\":%" PRId64 ",\"Canceled\":%s,\"Created\":false}\n",
           m->compact_revision, m->canceled ? "true" : "false");
}

/* The lease header fields inline, as clientv3's lease responses print. */
static void json_lease(const etcd_res *r)
{
    putchar('{');
    json_header(r);
}

static void json_grant(const etcd_res *r)
{
    json_lease(r);
    printf(",\"ID\":%" PRId64 ",\"TTL\":%" PRId64 ",\"Error\":\"\"}\n", r->id, r->ttl);
}

static void json_revoke(int64_t id, const etcd_res *r)
{
    (void)id;
    fputs("{\"header\":{", stdout);
    json_header(r);
    puts("}}");
}

static void json_timetolive(int64_t id, const etcd_res *r, bool keys)
{
    (void)keys;
    json_lease(r);
    printf(",\"id\":%" PRId64 ",\"ttl\":%" PRId64 ",\"granted-ttl\":%" PRId64 ",\"keys\":",
           id, r->ttl, r->granted_ttl);
    if (!r->nkeys) fputs("null", stdout);
    for (size_t i = 0; i < r->nkeys; i++) {
        fputs(i ? ",\"" : "[\"", stdout);
        put_base64(r->keys[i].ptr, r->keys[i].len);
        fputs(i + 1 == r->nkeys ? "\"]" : "\"", stdout);
    }
    puts("}");
}

static void json_keepalive(int64_t id, const etcd_res *r)
{
    json_lease(r);
    printf(",\"ID\":%" PRId64 ",\"TTL\":%" PRId64 "}\n", id, r->ttl);
}

static void json_leases(const etcd_res *r)
{
    json_lease(r);
    fputs(",\"leases\":", stdout);
    if (!r->nleases) fputs("[]", stdout);
    for (size_t i = 0; i < r->nleases; i++)
        printf("%s{\"id\":%" PRId64 "}%s", i ? "," : "[", r->leases[i],
               i + 1 == r->nleases ? "]" : "");
    puts("}");
}

/* ,"name":["a","b"]; omitted when empty */
static void json_urls(const char *name, str_list l)
{
    if (!l.n) return;
    printf(",\"%s\":[", name);
    for (size_t k = 0; k < l.n; k++) {
        etcd_str u = list_at(l, k);
        printf("%s\"%.*s\"", k ? "," : "", (int)u.len, u.ptr);
    }
    putchar(']');
}

static void json_members(const etcd_res *r, const member *ms, size_t n)
{
    fputs("{\"header\":{", stdout);
    json_header(r);
    fputs("},\"members\":[", stdout);
    for (size_t k = 0; k < n; k++) {
        const member *m = &ms[k];
        printf("%s{\"ID\":%" PRIu64, k ? "," : "", m->id);
        if (m->name.len) printf(",\"name\":\"%.*s\"", (int)m->name.len, m->name.ptr);
        json_urls("peerURLs", m->peers);
        json_urls("clientURLs", m->clients);
        if (m->learner) fputs(",\"isLearner\":true", stdout);
        putchar('}');
    }
    puts("]}");
}

/* The endpoint commands print one array: "[" before the first endpoint
   (i == 0), "]" after them all. */
static void json_status(const ep_status *s, int i)
{
    printf("%s{\"Endpoint\":\"%s\",\"Status\":{\"header\":{", i ? "," : "[", s->endpoint);
    json_header(s->r);
    printf("},\"version\":\"%.*s\",\"dbSize\":%" PRIu64 ",\"leader\":%" PRIu64 ",\"raftIndex\":%"
           PRIu64 ",\"raftTerm\":%" PRIu64 ",\"raftAppliedIndex\":%" PRIu64 ",\"dbSizeInUse\":%"
           PRIu64 "%s}}", (int)s->version.len, s->version.ptr, s->db, s->leader, s->index,
           s->term, s->applied, s->in_use, s->learner ? ",\"isLearner\":true" : "");
}

static void json_health(const ep_health *h, int i)
{
    printf("%s{\"endpoint\":\"%s\",\"health\":%s,\"took\":\"%s%s", i ? "," : "[", h->endpoint,
           h->ok ? "true" : "false", h->took, h->ok ? "\"}" : "\",\"error\":\"unhealthy\"}");
}

static void json_endpoints_end(void) { puts("]"); }

/* ---- fields ---- */

static void fields_header(const etcd_res *r)
{
    printf("\"ClusterID\" : %" PRIu64 "\n\"MemberID\" : %" PRIu64 "\n\"Revision\" : %" PRId64
           "\n\"RaftTerm\" : %" PRId64 "\n", r->cluster_id, r->member_id, r->revision, r->raft_term);
}

static void fields_kv(const char *pfx, const etcd_kv *kv)
{
    printf("\"%sKey\" : ", pfx);
    put_quoted(kv->key, kv->key_len);
    printf("\n\"%sCreateRevision\" : %" PRId64 "\n\"%sModRevision\" : %" PRId64
           "\n\"%sVersion\" : %" PRId64 "\n\"%sValue\" : ", pfx, kv->create_revision,
           pfx, kv->mod_revision, pfx, kv->version, pfx);
    put_quoted(kv->value, kv->value_len);
    printf("\n\"%sLease\" : %" PRId64 "\n", pfx, kv->lease);
}

static void fields_get(const etcd_res *r)
{
    fields_header(r);
    for (size_t i = 0; i < r->nkvs; i++) fields_kv("", &r->kvs[i]);
    printf("\"More\" : %s\n\"Count\" : %" PRId64 "\n", r->more ? "true" : "false", r->count);
}

static void fields_put(const etcd_res *r)
{
    fields_header(r);
    if (r->prev_kv) fields_kv("Prev", r->prev_kv);
}

static void fields_del(const etcd_res *r)
{
    fields_header(r);
    printf("\"Deleted\" : %" PRId64 "\n", r->deleted);
    for (size_t i = 0; i < r->nprev_kvs; i++) fields_kv("Prev", &r->prev_kvs[i]);
}

static void fields_txn(const etcd_res *r, const etcd_op *ops)
{
    static void (*const print_op[3])(const etcd_res *) = { fields_get, fields_put, fields_del };
    fields_header(r);
    printf("\"Succeeded\" : %s\n", r->succeeded ? "true" : "false");
    for (size_t i = 0; i < r->nresponses; i++) print_op[ops[i].type](&r->responses[i]);
}

static void fields_watch(const etcd_res *m)
{
    fields_header(m);
    for (size_t i = 0; i < m->nevents; i++) {
        const etcd_event *e = &m->events[i];
        printf("\"Type\" : %s\n", e->type == ETCD_EVENT_PUT ? "PUT" : "DELETE");
        if (e->prev_kv) fields_kv("Prev", e->prev_kv);
        fields_kv("", &e->kv);
    }
}

static void fields_grant(const etcd_res *r)
{
    fields_header(r);
    printf("\"ID\" : %" PRId64 "\n\"TTL\" : %" PRId64 "\n", r->id, r->ttl);
}

static void fields_revoke(int64_t id, const etcd_res *r)
{
    (void)id;
    fields_header(r);
}

static void fields_timetolive(int64_t id, const etcd_res *r, bool keys)
{
    (void)keys;
    fields_header(r);
    printf("\"ID\" : %" PRId64 "\n\"TTL\" : %" PRId64 "\n\"GrantedTTL\" : %" PRId64 "\n",
           id, r->ttl, r->granted_ttl);
    for (size_t i = 0; i < r->nkeys; i++) {
        fputs("\"Key\" : ", stdout);
        put_quoted(r->keys[i].ptr, r->keys[i].len);
        putchar('\n');
    }
}

static void fields_keepalive(int64_t id, const etcd_res *r)
{
    fields_header(r);
    printf("\"ID\" : %" PRId64 "\n\"TTL\" : %" PRId64 "\n", id, r->ttl);
}

static void fields_leases(const etcd_res *r)
{
    fields_header(r);
    for (size_t i = 0; i < r->nleases; i++) printf("\"ID\" : %" PRId64 "\n", r->leases[i]);
}

static void fields_urls(const char *name, str_list l)
{
    for (size_t k = 0; k < l.n; k++) {
        etcd_str u = list_at(l, k);
        printf("\"%s\" : \"%.*s\"\n", name, (int)u.len, u.ptr);
    }
}

static void fields_members(const etcd_res *r, const member *ms, size_t n)
{
    fields_header(r);
    for (size_t k = 0; k < n; k++) {
        const member *m = &ms[k];
        printf("\"ID\" : %" PRIu64 "\n\"Name\" : \"%.*s\"\n", m->id, (int)m->name.len, m->name.ptr);
        fields_urls("PeerURL", m->peers);
        fields_urls("ClientURL", m->clients);
        printf("\"IsLearner\" : %s\n\n", m->learner ? "true" : "false");
    }
}

static void fields_status(const ep_status *s, int i)
{
    (void)i;
    fields_header(s->r);
    printf("\"Version\" : \"%.*s\"\n\"DBSize\" : %" PRIu64 "\n\"Leader\" : %" PRIu64
           "\n\"IsLearner\" : %s\n\"RaftIndex\" : %" PRIu64 "\n\"RaftTerm\" : %" PRIu64
           "\n\"RaftAppliedIndex\" : %" PRIu64 "\n\"Errors\" : []\n\"Endpoint\" : \"%s\"\n\n",
           (int)s->version.len, s->version.ptr, s->db, s->leader, s->learner ? "true" : "false",
           s->index, s->term, s->applied, s->endpoint);
}

/* ---- table: the cluster commands only ---- */

static void table_members(const etcd_res *r, const member *ms, size_t n)
{
    static const char *const heads[] = { "ID", "STATUS", "NAME", "PEER ADDRS", "CLIENT ADDRS", "IS LEARNER" };
    (void)r;
    for (size_t k = 0; k < n; k++) member_cells(&ms[k]);
    table_print(heads, 6);
}

static void table_status(const ep_status *s, int i)
{
    (void)i;
    status_cells(s);
}

static void table_status_end(void)
{
    static const char *const heads[] = { "ENDPOINT", "ID", "VERSION", "DB SIZE", "IS LEADER", "IS LEARNER",
                                         "RAFT TERM", "RAFT INDEX", "RAFT APPLIED INDEX", "ERRORS" };
    table_print(heads, 10);
}

static void table_health(const ep_health *h, int i)
{
    (void)i;
    cell("%s", h->endpoint);
    cell("%s", h->ok ? "true" : "false");
    cell("%s", h->took);
    cell("%s", h->ok ? "" : h->error);
}

static void table_health_end(void)
{
    static const char *const heads[] = { "ENDPOINT", "HEALTH", "TOOK", "ERROR" };
    table_print(heads, 4);
}

/* ---- the printers ---- */

/* Positional initializers, in the order of struct printer: C++ (which
   compiles the examples too) has no designated ones before C++20. */
static const printer printer_simple = {
    "simple", false, simple_get, simple_get, simple_put, simple_del, simple_txn, simple_watch,
    simple_grant, simple_revoke, simple_timetolive, simple_keepalive, simple_expired, simple_leases,
    simple_members, simple_status, nothing, simple_health, nothing
};

static const printer printer_json = {
    "json", false, json_get, json_get, json_put, json_del, json_txn, json_watch,
    json_grant, json_revoke, json_timetolive, json_keepalive, nothing_id, json_leases,
    json_members, json_status, json_endpoints_end, json_health, json_endpoints_end
};

static const printer printer_fields = {
    "fields", false, fields_get, fields_get, fields_put, fields_del, fields_txn, fields_watch,
    fields_grant, fields_revoke, fields_timetolive, fields_keepalive, nothing_id, fields_leases,
    fields_members, fields_status, nothing, simple_health, nothing
};

/* etcdctl refuses table for the other commands too, but after running
   them; this refuses them before it starts, so it has no entries for them. */
static const printer printer_table = {
    "table", true, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    table_members, table_status, table_status_end, table_health, table_health_end
};

/* The printer -w names; exit 4 (etcdctl's) for another name, or for a
   command the printer has nothing for. */
static void choose_display(const char *w, bool cluster)
{
    static const printer *const printers[] = { &printer_simple, &printer_json, &printer_fields,
                                               &printer_table };
    for (size_t i = 0; i < sizeof printers / sizeof printers[0] && !display; i++)
        if (!strcmp(w, printers[i]->name)) display = printers[i];
    if (!display) die(EXIT_BAD_FEAT, "unsupported output format %s", w);
    if (display->cluster_only && !cluster) die(EXIT_BAD_FEAT, "%s not supported as output format", w);
}

/* ---- talking to etcd --------------------------------------------------- */

static etcd *cli;

/* The endpoints with a scheme: etcdctl takes "host:port". */
static char *endpoint_urls(const char *list)
{
    bool tls = flag_val[G_CACERT] || flag_val[G_CERT];
    size_t size = strlen(list) * 2 + 16, n = 0;
    char *out = (char *)malloc(size);
    if (!out) die(EXIT_ERROR, "out of memory");
    while (*list) {
        size_t len = strcspn(list, ",");
        const char *scheme = strstr(list, "://") && (size_t)(strstr(list, "://") - list) < len
                           ? "" : tls ? "https://" : "http://";
        n += (size_t)snprintf(out + n, size - n, "%s%s%.*s", n ? "," : "", scheme,
                              (int)len, list);
        list += len + (list[len] == ',');
    }
    return out;
}

static void connect_client(void)
{
    etcd_opts o;
    memset(&o, 0, sizeof o);
    char *urls = endpoint_urls(flag_val[G_ENDPOINTS] ? flag_val[G_ENDPOINTS] : "127.0.0.1:2379");
    o.http_host = urls;
    o.serializer = flag_on(G_JSON) ? ETCD_SERIALIZER_JSON : ETCD_SERIALIZER_RAW;
    o.key_prefix = flag_val[G_KEY_PREFIX];
    /* one deadline per request in etcd.h: dial plus command, as etcdctl allows */
    o.timeout = flag_val[G_TIMEOUT] ? flag_seconds(G_TIMEOUT, 5)
              : flag_seconds(G_COMMAND_TIMEOUT, 5) + flag_seconds(G_DIAL_TIMEOUT, 2);
    o.retry = true;                                 /* fail over to the next endpoint */
    o.ssl_ca_path = flag_val[G_CACERT];
    o.ssl_cert_path = flag_val[G_CERT];
    o.ssl_key_path = flag_val[G_KEY];
    o.ssl_skip_verify = flag_on(G_INSECURE_SKIP);
    /* --user name:password, or --user name --password secret */
    static char user[256];
    if (flag_val[G_USER]) {
        snprintf(user, sizeof user, "%s", flag_val[G_USER]);
        char *colon = flag_val[G_PASSWORD] ? NULL : strchr(user, ':');
        if (colon) *colon = '\0';
        o.user = user;
        o.password = colon ? colon + 1 : flag_val[G_PASSWORD];
    }
    char err[256];
    cli = etcd_new(&o, err, sizeof err);
    free(urls);
    if (!cli) die(EXIT_ERROR, "%s", err);
}

/* The result of a call, or exit with etcdctl's "Error: ..." when there is
   none (etcd_errstr says why) or etcd answered with an error. */
static etcd_res *check(etcd_res *r, const char *what)
{
    const char *close = *what ? ")" : "";
    if (!r) die(EXIT_ERROR, "%s%s%s", what, etcd_errstr(cli), close);
    if (r->status != 200)
        die(EXIT_ERROR, "%s%s%s", what, r->message && *r->message ? r->message
                                   : r->error && *r->error ? r->error : r->body, close);
    return r;
}

/* KEY [RANGE_END] with --prefix / --from-key as etcd.h's range: *dir for
   a prefix (etcd_readdir, etcd_rmdir), else o_range_end. etcdctl reads an
   empty KEY with either flag as every key. */
static const char *range_of(const char *key, const char *range_end, bool *dir)
{
    *dir = flag_on(F_PREFIX) || (!*key && flag_on(F_FROM_KEY));
    if (*dir) return NULL;
    return flag_on(F_FROM_KEY) ? "" : range_end;
}

/* etcdctl's output changed in 3.5 (txn's JSON names, where `endpoint
   health` writes); etcdctl_lite speaks like the etcdctl of the server's
   release, asked once (a failure to ask means the newer one). */
static bool speaks_35(void)
{
    static int known = -1;
    if (known < 0) {
        etcd_res *r = etcd_version(cli);
        int major = 3, minor = 5;
        if (r && r->etcdserver && sscanf(r->etcdserver, "%d.%d", &major, &minor) != 2) minor = 5;
        known = major > 3 || (major == 3 && minor >= 5);
        etcd_res_free(r);
    }
    return known != 0;
}

/* ---- key-value commands ------------------------------------------------ */

/* KEY [RANGE_END] with --prefix / --from-key, as etcdctl checks them */
static void check_range_args(const char *cmd, int nargs)
{
    if (nargs < 1)                               /* words after range_end: ignored */
        die(EXIT_BAD_ARGS, "%s command needs one argument as key and an optional argument "
            "as range_end", cmd);
    if (flag_on(F_PREFIX) && flag_on(F_FROM_KEY))
        die(EXIT_BAD_ARGS, "`--prefix` and `--from-key` cannot be set at the same time, choose one");
    if ((flag_on(F_PREFIX) || flag_on(F_FROM_KEY)) && nargs > 1)
        die(EXIT_BAD_ARGS, "too many arguments, only accept one argument when `--prefix` or "
            "`--from-key` is set");
}

/* "ASCEND" -> 1 etc.; the position in names, or exit like etcdctl */
static int pick(int f, const char *const *names, int n, const char *what)
{
    const char *v = flag_val[f];
    if (!v || !*v) return 0;
    for (int i = 0; i < n; i++)
        if (names[i] && strlen(v) == strlen(names[i])) {
            size_t j = 0;
            while (v[j] && (v[j] == names[i][j] || v[j] - 'a' + 'A' == names[i][j])) j++;
            if (!v[j]) return i;
        }
    die(EXIT_BAD_FEAT, "bad %s %s", what, v);
    return 0;
}

static int cmd_get(const char **args, int nargs)
{
    static const char *const orders[] = { NULL, "ASCEND", "DESCEND" };
    static const char *const targets[] = { "KEY", "VERSION", "CREATE", "MODIFY", "VALUE" };
    check_range_args("get", nargs);
    int order = pick(F_ORDER, orders, 3, "sort order");
    int target = pick(F_SORT_BY, targets, 5, "sort target");
    if (flag_val[F_CONSISTENCY] && strcmp(flag_val[F_CONSISTENCY], "l") &&
        strcmp(flag_val[F_CONSISTENCY], "s"))
        die(EXIT_BAD_ARGS, "unknown consistency flag \"%s\"", flag_val[F_CONSISTENCY]);
    etcd_get_opts o;
    bool dir;
    memset(&o, 0, sizeof o);
    o.range_end = range_of(args[0], nargs > 1 ? args[1] : NULL, &dir);
    o.limit = flag_int(F_LIMIT);
    o.revision = flag_int(F_REV);
    o.sort_order = order;
    o.sort_target = target;
    o.keys_only = flag_on(F_KEYS_ONLY);
    o.count_only = flag_on(F_COUNT_ONLY);
    o.serializable = flag_val[F_CONSISTENCY] && !strcmp(flag_val[F_CONSISTENCY], "s");
    etcd_res *r = check(dir ? etcd_readdir(cli, args[0], &o) : etcd_get(cli, args[0], &o), "");
    display->get(r);
    etcd_res_free(r);
    return 0;
}

/* All of stdin: put's value when the command line has none. */
static char *read_stdin(size_t *len)
{
    size_t cap = 4096, n = 0, got;
    char *buf = (char *)malloc(cap);
    while (buf && (got = fread(buf + n, 1, cap - n - 1, stdin)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *p = (char *)realloc(buf, cap *= 2);
            if (!p) { free(buf); buf = NULL; }
            buf = p;
        }
    }
    if (!buf) die(EXIT_ERROR, "out of memory");
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int64_t parse_lease_id(const char *s, const char *arg)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 16);                 /* etcdctl: hex */
    if (!*s || *end || errno)
        die(EXIT_BAD_ARGS, "bad lease ID%s (strconv.ParseInt: parsing \"%s\": invalid syntax), "
            "expecting ID in Hex", arg, s);
    return v;
}

static int cmd_put(const char **args, int nargs)
{
    static const char usage[] = "put command needs 1 argument and input from stdin or 2 arguments";
    if (nargs == 0) die(EXIT_BAD_ARGS, usage);
    bool ignore_value = flag_on(F_IGNORE_VALUE);
    if (ignore_value && nargs > 1)
        die(EXIT_BAD_ARGS, "put command needs only 1 argument when 'ignore-value' is set");
    etcd_set_opts o;
    memset(&o, 0, sizeof o);
    if (flag_val[F_LEASE]) o.lease = parse_lease_id(flag_val[F_LEASE], "");
    o.prev_kv = flag_on(F_PREV_KV);
    o.ignore_value = ignore_value;
    o.ignore_lease = flag_on(F_IGNORE_LEASE);
    char *input = NULL;
    const char *value = "";
    if (nargs > 1) {
        value = args[1];                                /* further words: ignored */
    } else if (!ignore_value) {
        input = read_stdin(&o.val_len);
        if (!o.val_len) die(EXIT_BAD_ARGS, usage);
        value = input;
    }
    etcd_res *r = check(etcd_set(cli, args[0], value, &o), "");
    free(input);
    display->put(r);
    etcd_res_free(r);
    return 0;
}

static int cmd_del(const char **args, int nargs)
{
    check_range_args("del", nargs);
    etcd_delete_opts o;
    bool dir;
    memset(&o, 0, sizeof o);
    o.range_end = range_of(args[0], nargs > 1 ? args[1] : NULL, &dir);
    o.prev_kv = flag_on(F_PREV_KV);
    etcd_res *r = check(dir ? etcd_rmdir(cli, args[0], &o) : etcd_delete(cli, args[0], &o), "");
    display->del(r);
    etcd_res_free(r);
    return 0;
}

/* ---- watch ------------------------------------------------------------- */

static int cmd_watch(const char **args, int nargs)
{
    if (nargs != 1) die(EXIT_BAD_ARGS, nargs ? "etcdctl_lite watches one key or prefix"
                                             : "bad number of arguments");
    etcd_watch_opts o;
    memset(&o, 0, sizeof o);
    o.start_revision = flag_int(F_REV);
    o.prev_kv = flag_on(F_PREV_KV);
    o.progress_notify = flag_on(F_PROGRESS_NOTIFY);
    o.timeout = -1;                                     /* wait for events forever */
    etcd_watcher *w = flag_on(F_PREFIX) ? etcd_watchdir(cli, args[0], &o)
                                        : etcd_watch(cli, args[0], &o);
    if (!w) die(EXIT_ERROR, "%s", etcd_errstr(cli));
    int64_t count = flag_int(F_COUNT), seen = 0;
    for (;;) {
        etcd_res *m = etcd_watch_next(w);
        if (!m) {
            if (etcd_watch_errcode(w) == ETCD_ETIMEOUT) continue;
            die(EXIT_ERROR, "%s", etcd_watch_errstr(w));
        }
        if (m->canceled)                            /* e.g. --rev was compacted */
            printf("watch was canceled (%s)\n", m->compact_revision
                   ? "etcdserver: mvcc: required revision has been compacted"
                   : m->cancel_reason && *m->cancel_reason ? m->cancel_reason : "canceled");
        else if (!m->created && !m->nevents && m->revision)
            printf("progress notify: %" PRId64 "\n", m->revision);
        if (!m->created) display->watch(m);
        fflush(stdout);                             /* each response as it comes */
        seen += (int64_t)m->nevents;
        bool done = m->canceled || (count > 0 && seen >= count);
        etcd_res_free(m);
        if (done) break;
    }
    etcd_watchcancel(w);
    return 0;
}

/* ---- leases ------------------------------------------------------------ */

static int64_t lease_arg(const char **args, int nargs, const char *cmd)
{
    if (nargs != 1)                              /* etcdctl's two wordings */
        die(EXIT_BAD_ARGS, strcmp(cmd, "revoke") ? "lease %s command needs lease ID as argument"
                                                 : "lease %s command needs 1 argument", cmd);
    return parse_lease_id(args[0], " arg");
}

static int cmd_grant(const char **args, int nargs)
{
    if (nargs != 1) die(EXIT_BAD_ARGS, "lease grant command needs TTL argument");
    char *end;
    long long ttl = strtoll(args[0], &end, 10);
    if (!*args[0] || *end)
        die(EXIT_BAD_ARGS, "bad TTL (strconv.ParseInt: parsing \"%s\": invalid syntax)", args[0]);
    etcd_res *r = check(etcd_grant(cli, ttl, 0), "");
    display->grant(r);
    etcd_res_free(r);
    return 0;
}

static int cmd_revoke(const char **args, int nargs)
{
    int64_t id = lease_arg(args, nargs, "revoke");
    etcd_res *r = check(etcd_revoke(cli, id), "failed to revoke lease (");
    display->revoke(id, r);
    etcd_res_free(r);
    return 0;
}

static int cmd_timetolive(const char **args, int nargs)
{
    int64_t id = lease_arg(args, nargs, "timetolive");
    etcd_res *r = check(etcd_timetolive(cli, id, flag_on(F_KEYS)), "");
    display->timetolive(id, r, flag_on(F_KEYS));
    etcd_res_free(r);
    return 0;
}

static void sleep_seconds(double s)
{
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* Keep an existing lease alive until it is gone or SIGINT ends us (the
   default action: no handler, as etcdctl). A keepalive a third of the TTL
   after the last one; a failed one is tried again a second later. etcd.h's
   lease keeper grants a lease of its own, so this loops over
   etcd_keepalive for the lease we were given. */
static int cmd_keepalive(const char **args, int nargs)
{
    int64_t id = lease_arg(args, nargs, "keep-alive");
    for (;;) {
        etcd_res *r = etcd_keepalive(cli, id);
        if (flag_on(F_ONCE)) {                      /* etcdctl: ExitBadConnection */
            if (!r) die(EXIT_BAD_CONN, "%s", etcd_errstr(cli));
            if (r->status != 200 || r->ttl <= 0)
                die(EXIT_BAD_CONN, "etcdserver: requested lease not found");
        }
        if (r && r->status == 200 && r->ttl <= 0) {
            etcd_res_free(r);
            break;
        }
        double wait = 1;                            /* failed: again in a second */
        if (r && r->status == 200) {
            display->keepalive(id, r);
            fflush(stdout);                         /* each one as it comes */
            wait = (double)r->ttl / 3 > 0.5 ? (double)r->ttl / 3 : 0.5;
        }
        etcd_res_free(r);
        if (flag_on(F_ONCE)) return 0;
        sleep_seconds(wait);
    }
    display->expired(id);
    return 0;
}

static int cmd_leases(const char **args, int nargs)
{
    (void)args;
    (void)nargs;
    etcd_res *r = check(etcd_leases(cli), "");
    display->leases(r);
    etcd_res_free(r);
    return 0;
}

/* ---- txn ---------------------------------------------------------------
   etcdctl's format, from stdin: compares, a blank line, the success ops, a
   blank line, the failure ops, a blank line. A compare is
   TARGET("key") OP "value" (TARGET ver/version, c/create, m/mod, val/value,
   lease; OP = != < >); an op is a put, get or del command line with its
   main flags, words "double quoted" (Go escapes) or 'single quoted'. */

#define TXN_MAX 64

static char *txn_text[3 * TXN_MAX];      /* the lines read, kept for the ops' strings */
static int ntxn_text;

/* Cut the next word off *s: "quoted" (with \ escapes), 'quoted' or bare. */
static char *next_word(char **s)
{
    char *w = *s, *out;
    while (*w == ' ' || *w == '\t') w++;
    if (!*w) return NULL;
    char quote = *w == '"' || *w == '\'' ? *w++ : 0;
    char *r = w;
    for (out = w; *r && (quote ? *r != quote : *r != ' ' && *r != '\t'); r++) {
        if (quote == '"' && *r == '\\' && r[1]) {
            r++;
            *out++ = *r == 'n' ? '\n' : *r == 't' ? '\t' : *r == 'r' ? '\r' : *r;
        } else {
            *out++ = *r;
        }
    }
    if (quote && *r != quote) return NULL;               /* unterminated */
    *s = *r ? r + 1 : r;
    *out = '\0';
    return w;
}

/* One line of stdin without its newline; "Error: EOF" (exit 3) at the end,
   as etcdctl, since every section must end with a blank line. */
static char *read_line(void)
{
    char buf[8192];
    if (!fgets(buf, sizeof buf, stdin)) die(EXIT_BAD_INPUT, "EOF");
    size_t n = strcspn(buf, "\r\n");
    buf[n] = '\0';
    char *copy = (char *)malloc(n + 1);
    if (!copy || ntxn_text == 3 * TXN_MAX) die(EXIT_ERROR, "txn too large");
    memcpy(copy, buf, n + 1);
    return txn_text[ntxn_text++] = copy;
}

static bool blank(const char *s)
{
    return s[strspn(s, " \t")] == '\0';
}

/* TARGET("key") OP "value" */
static void parse_compare(char *line, etcd_compare *c)
{
    static const char *const targets[] = { "ver", "version", "c", "create", "m", "mod",
                                           "val", "value", "lease" };
    static const etcd_cmp_target kinds[] = { ETCD_CMP_VERSION, ETCD_CMP_VERSION,
        ETCD_CMP_CREATE, ETCD_CMP_CREATE, ETCD_CMP_MOD, ETCD_CMP_MOD, ETCD_CMP_VALUE,
        ETCD_CMP_VALUE, ETCD_CMP_LEASE };
    char *lp = strchr(line, '('), *rest = lp ? lp + 1 : NULL;
    if (!lp) die(EXIT_BAD_INPUT, "malformed comparison: %s", line);
    *lp = '\0';
    char *target = line + strspn(line, " \t");
    char *key = *rest == '"' ? next_word(&rest) : NULL;   /* "key") OP "value" */
    char *op = key && *rest == ')' ? (rest++, next_word(&rest)) : NULL;
    char *val = op ? next_word(&rest) : NULL;
    size_t t = 0;
    while (t < 9 && strcmp(target, targets[t]) != 0) t++;
    if (!key || !op || !val) die(EXIT_BAD_INPUT, "malformed comparison: %s(", target);
    if (t == 9) die(EXIT_BAD_INPUT, "malformed comparison: %s( (unknown target %s)", target, target);
    c->key = key;
    c->target = kinds[t];
    c->result = !strcmp(op, "=") || !strcmp(op, "==") ? ETCD_CMP_EQUAL
              : !strcmp(op, "!=") ? ETCD_CMP_NOT_EQUAL : !strcmp(op, ">") ? ETCD_CMP_GREATER
              : !strcmp(op, "<") ? ETCD_CMP_LESS : (etcd_cmp_result)-1;
    if ((int)c->result < 0) die(EXIT_BAD_INPUT, "invalid txn compare request: %s(", target);
    if (c->target == ETCD_CMP_VALUE) { c->value = val; return; }
    char *end;
    int64_t v = strtoll(val, &end, 10);
    if (!*val || *end) die(EXIT_BAD_INPUT, "invalid txn compare request: %s(", target);
    if (c->target == ETCD_CMP_VERSION) c->version = v;
    else if (c->target == ETCD_CMP_CREATE) c->create_revision = v;
    else if (c->target == ETCD_CMP_MOD) c->mod_revision = v;
    else c->lease = v;
}

/* "put k v [--lease=ID] [--prev-kv]", "get k [end] [--prefix|--from-key]
   [--limit=N] [--rev=N]", "del k [end] [--prefix|--from-key] [--prev-kv]" */
static void parse_op(char *line, etcd_op *op)
{
    static char prefix_ends[TXN_MAX * 2][512];
    static int nends;
    char *s = line, *w, *args[3];
    int nargs = 0;
    bool prefix = false;
    char *verb = next_word(&s);
    if (!verb) die(EXIT_BAD_INPUT, "invalid txn request: %s", line);
    while ((w = next_word(&s))) {
        char *v = strchr(w, '=');
        if (v) *v++ = '\0';
        if (!strcmp(w, "--prefix")) prefix = true;
        else if (!strcmp(w, "--from-key")) op->range_end = "";
        else if (!strcmp(w, "--prev-kv")) op->prev_kv = true;
        else if (!strcmp(w, "--lease") && v) op->lease = strtoll(v, NULL, 16);
        else if (!strcmp(w, "--limit") && v) op->limit = strtoll(v, NULL, 10);
        else if (!strcmp(w, "--rev") && v) op->revision = strtoll(v, NULL, 10);
        else if (w[0] == '-' || nargs == 3) die(EXIT_BAD_INPUT, "invalid txn request: %s", line);
        else args[nargs++] = w;
    }
    op->type = !strcmp(verb, "put") ? ETCD_OP_PUT : !strcmp(verb, "get") ? ETCD_OP_RANGE
             : !strcmp(verb, "del") ? ETCD_OP_DELETE : (etcd_op_type)-1;
    if ((int)op->type < 0 || nargs < 1 || (op->type == ETCD_OP_PUT && nargs < 2))
        die(EXIT_BAD_INPUT, "invalid txn request: %s", line);
    op->key = args[0];
    if (op->type == ETCD_OP_PUT) op->value = args[1];
    else if (nargs > 1) op->range_end = args[1];
    if (prefix && nends < TXN_MAX * 2) {
        size_t n = strlen(args[0]);
        if (n >= sizeof prefix_ends[0]) die(EXIT_BAD_INPUT, "key too long: %s", line);
        prefix_end(args[0], n, prefix_ends[nends]);
        op->range_end = prefix_ends[nends++];  /* "\0" as a C string: "", etcd.h's end within --key-prefix */
    }
}

static size_t read_ops(etcd_op *ops, const char *prompt)
{
    size_t n = 0;
    if (flag_on(F_INTERACTIVE)) printf("%s requests (get, put, del):\n", prompt);
    for (char *line; !blank(line = read_line()); n++) {
        if (n == TXN_MAX) die(EXIT_ERROR, "too many ops");
        parse_op(line, &ops[n]);
    }
    return n;
}

/* etcd_txn wants a compare and an op, as lua-resty-etcd does; etcd and
   etcdctl take a txn without either. No compare: one that always holds
   (an op's key at version > -1, and a version is never negative); no op
   at all: the empty txn itself. */
static etcd_res *run_txn(etcd_compare *cmp, size_t ncmp, etcd_op ops[2][TXN_MAX], const size_t nops[2])
{
    const etcd_op *any = nops[0] ? &ops[0][0] : nops[1] ? &ops[1][0] : NULL;
    if (!any) return etcd_request(cli, "/kv/txn", "{}", 0);
    if (!ncmp) {
        memset(cmp, 0, sizeof *cmp);
        cmp->target = ETCD_CMP_VERSION;
        cmp->result = ETCD_CMP_GREATER;
        cmp->version = -1;
        cmp->key = any->key;
        cmp->key_len = any->key_len;
        ncmp = 1;
    }
    return etcd_txn(cli, cmp, ncmp, ops[0], nops[0], ops[1], nops[1], NULL);
}

static int cmd_txn(const char **args, int nargs)
{
    static etcd_compare cmp[TXN_MAX];
    static etcd_op ops[2][TXN_MAX];
    size_t ncmp = 0, nops[2];
    (void)args;
    if (nargs) die(EXIT_BAD_ARGS, "txn command does not accept argument");
    if (flag_on(F_INTERACTIVE)) puts("compares:");
    for (char *line; !blank(line = read_line()); ncmp++) {
        if (ncmp == TXN_MAX) die(EXIT_ERROR, "too many compares");
        parse_compare(line, &cmp[ncmp]);
    }
    nops[0] = read_ops(ops[0], "success");
    nops[1] = read_ops(ops[1], "failure");
    etcd_res *r = check(run_txn(cmp, ncmp, ops, nops), "");
    display->txn(r, r->succeeded ? ops[0] : ops[1]);
    etcd_res_free(r);
    for (int i = 0; i < ntxn_text; i++) free(txn_text[i]);
    return 0;
}

/* ---- version, member list, endpoint ----------------------------------- */

/* etcdctl prints its own version; etcdctl_lite has none, so it prints the
   server's: the etcdctl release that matches it. */
static int cmd_version(const char **args, int nargs)
{
    (void)args;
    (void)nargs;
    etcd_res *r = check(etcd_version(cli), "");
    const char *server = r->etcdserver ? r->etcdserver : "unknown";
    const char *api = r->etcdcluster ? r->etcdcluster : "3.0.0";
    printf("etcdctl version: %s\nAPI version: %.*s\n", server,
           (int)(strchr(api, '.') && strchr(strchr(api, '.') + 1, '.')
                 ? strchr(strchr(api, '.') + 1, '.') - api : (long)strlen(api)), api);
    etcd_res_free(r);
#ifdef ETCD_USE_OPENSSL                   /* on stderr: stdout stays etcdctl's */
    fprintf(stderr, "etcdctl_lite (etcd.h %s): TLS with OpenSSL\n", ETCD_VERSION);
#else
    fprintf(stderr, "etcdctl_lite (etcd.h %s): no TLS (built without ETCD_USE_OPENSSL: https:// is refused)\n",
            ETCD_VERSION);
#endif
    return 0;
}

/* Responses etcd_res does not decode (members, status): read the body with
   etcd.h's tokenizer. */
typedef struct jdoc { const char *text; etcd_json_tok t[512]; long n; } jdoc;

static long tok_skip(const jdoc *d, long i)
{
    long j = i + 1;
    if (d->t[i].type == ETCD_JSON_OBJECT)
        for (size_t k = 0; k < d->t[i].size; k++) j = tok_skip(d, j + 1);
    else if (d->t[i].type == ETCD_JSON_ARRAY)
        for (size_t k = 0; k < d->t[i].size; k++) j = tok_skip(d, j);
    return j;
}

/* The value of member `name` of the object at token obj; -1 if none. */
static long tok_find(const jdoc *d, long obj, const char *name)
{
    long j = obj + 1;
    for (size_t k = 0; obj >= 0 && k < d->t[obj].size; k++) {
        const etcd_json_tok *key = &d->t[j];
        if (key->end - key->start == strlen(name) &&
            !memcmp(d->text + key->start, name, key->end - key->start))
            return j + 1;
        j = tok_skip(d, j + 1);
    }
    return -1;
}

static uint64_t tok_u64(const jdoc *d, long i)    /* the gateway quotes int64s */
{
    return i < 0 ? 0 : strtoull(d->text + d->t[i].start, NULL, 10);
}

static etcd_str tok_str(const jdoc *d, long i)
{
    etcd_str s = { i < 0 ? "" : d->text + d->t[i].start, i < 0 ? 0 : d->t[i].end - d->t[i].start };
    return s;
}

static void jdoc_parse(jdoc *d, const etcd_res *r)
{
    d->text = r->body;
    d->n = etcd_json_parse(r->body, r->body_len, d->t, sizeof d->t / sizeof d->t[0]);
    if (d->n < 1 || d->t[0].type != ETCD_JSON_OBJECT) die(EXIT_ERROR, "unexpected answer: %s", r->body);
}

/* An array of strings (URLs): one token each, after the array's. */
static str_list tok_list(const jdoc *d, long arr)
{
    str_list l = { d->text, NULL, 0 };
    if (arr >= 0 && d->t[arr].size) {
        l.items = &d->t[arr + 1];
        l.n = d->t[arr].size;
    }
    return l;
}

static member member_at(const jdoc *d, long m)
{
    member out;
    long learner = tok_find(d, m, "isLearner");
    out.id = tok_u64(d, tok_find(d, m, "ID"));
    out.name = tok_str(d, tok_find(d, m, "name"));
    out.peers = tok_list(d, tok_find(d, m, "peerURLs"));
    out.clients = tok_list(d, tok_find(d, m, "clientURLs"));
    out.learner = learner >= 0 && d->t[learner].type == ETCD_JSON_TRUE;
    return out;
}

static int cmd_member_list(const char **args, int nargs)
{
    static jdoc d;
    (void)args;
    (void)nargs;
    etcd_res *r = check(etcd_request(cli, "/cluster/member/list", "{}", 0), "");
    jdoc_parse(&d, r);
    long list = tok_find(&d, 0, "members");
    size_t n = list >= 0 ? d.t[list].size : 0;
    member *ms = (member *)malloc((n ? n : 1) * sizeof *ms);
    if (!ms) die(EXIT_ERROR, "out of memory");
    for (size_t k = 0, m = (size_t)list + 1; k < n; k++, m = (size_t)tok_skip(&d, (long)m))
        ms[k] = member_at(&d, (long)m);
    display->members(r, ms, n);
    free(ms);
    etcd_res_free(r);
    return 0;
}

/* The endpoints one by one, as etcdctl's endpoint commands go: a client
   each, named as the user wrote it. */
static int each_endpoint(int (*fn)(const char *name, int i))
{
    const char *list = flag_val[G_ENDPOINTS] ? flag_val[G_ENDPOINTS] : "127.0.0.1:2379";
    int rc = 0;
    for (int i = 0; *list; i++) {
        char name[256];
        size_t len = strcspn(list, ",");
        snprintf(name, sizeof name, "%.*s", (int)len, list);
        list += len + (list[len] == ',');
        flag_val[G_ENDPOINTS] = name;
        etcd_free(cli);
        connect_client();
        rc |= fn(name, i);
    }
    return rc;
}

static ep_status status_of(const jdoc *d, const etcd_res *r, const char *name)
{
    ep_status s;
    long learner = tok_find(d, 0, "isLearner");
    s.endpoint = name;
    s.r = r;
    s.version = tok_str(d, tok_find(d, 0, "version"));
    s.db = tok_u64(d, tok_find(d, 0, "dbSize"));
    s.in_use = tok_u64(d, tok_find(d, 0, "dbSizeInUse"));
    s.leader = tok_u64(d, tok_find(d, 0, "leader"));
    s.index = tok_u64(d, tok_find(d, 0, "raftIndex"));
    s.term = tok_u64(d, tok_find(d, 0, "raftTerm"));
    s.applied = tok_u64(d, tok_find(d, 0, "raftAppliedIndex"));
    s.learner = learner >= 0 && d->t[learner].type == ETCD_JSON_TRUE;
    return s;
}

static int status_one(const char *name, int i)
{
    static jdoc d;
    etcd_res *r = etcd_request(cli, "/maintenance/status", "{}", 0);
    if (!r || r->status != 200) {
        fprintf(stderr, "Failed to get the status of endpoint %s (%s)\n", name,
                r ? r->body : etcd_errstr(cli));
        etcd_res_free(r);
        return 1;
    }
    jdoc_parse(&d, r);
    ep_status s = status_of(&d, r, name);
    display->status(&s, i);
    etcd_res_free(r);
    return 0;
}

static int cmd_endpoint_status(const char **args, int nargs)
{
    (void)args;
    (void)nargs;
    int rc = each_endpoint(status_one);
    display->status_end();
    return rc ? EXIT_ERROR : 0;
}

/* Go's time.Duration String() for what a health check takes */
static const char *fmt_duration(double s, char *buf, size_t size)
{
    const char *unit = s >= 1 ? "s" : s >= 1e-3 ? "ms" : "µs";
    snprintf(buf, size, "%.6f", s >= 1 ? s : s >= 1e-3 ? s * 1e3 : s * 1e6);
    char *end = buf + strlen(buf) - 1;
    while (*end == '0') *end-- = '\0';
    if (*end == '.') *end = '\0';
    strncat(buf, unit, size - strlen(buf) - 1);
    return buf;
}

static int health_one(const char *name, int i)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    etcd_res *r = etcd_get(cli, "health", NULL);          /* etcdctl reads "health" */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    char d[64];
    ep_health h;
    h.endpoint = name;
    h.took = fmt_duration(took, d, sizeof d);
    h.ok = r && r->status == 200;
    h.error = h.ok ? NULL : r ? r->body : etcd_errstr(cli);
    display->health(&h, i);
    etcd_res_free(r);
    return h.ok ? 0 : 1;
}

static int cmd_endpoint_health(const char **args, int nargs)
{
    (void)args;
    (void)nargs;
    int rc = each_endpoint(health_one);
    display->health_end();
    if (rc) die(EXIT_ERROR, "unhealthy cluster");
    return 0;
}

/* ---- lock and elect ----------------------------------------------------
   Both hold a session: a lease of --ttl seconds (default 10) that
   etcd.h's lease keeper keeps alive from our own loop, so the lock or the
   leadership ends with this process. SIGINT/SIGTERM let go and exit 0. */

static volatile sig_atomic_t stopping;

static void on_signal(int sig) { (void)sig; stopping = 1; }

static void catch_signals(void);

static etcd_lease *session(void)
{
    catch_signals();
    int64_t ttl = flag_val[F_TTL] ? flag_int(F_TTL) : 10;
    etcd_lease *l = etcd_lease_keep(cli, ttl > 0 ? ttl : 10, 0);
    if (!l) die(EXIT_ERROR, "%s", etcd_errstr(cli));
    return l;
}

/* Keep the session for up to `secs` (or until a signal). */
static void keep_session(etcd_lease *l, double secs)
{
    double due = etcd_lease_due(l);
    sleep_seconds(due < secs ? (due > 0 ? due : 0) : secs);
    if (etcd_lease_tick(l) < 0) die(EXIT_ERROR, "session expired");
}

/* Run argv with the lock's key and revision in its environment; its exit
   status, the session kept alive meanwhile. */
static int run_locked(etcd_lease *l, const char **argv, const etcd_res *lk)
{
    char key[1024], rev[64];
    snprintf(key, sizeof key, "%.*s", (int)lk->lock_key.len, lk->lock_key.ptr);
    snprintf(rev, sizeof rev, "%" PRId64, lk->revision);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("ETCD_LOCK_KEY", key, 1);
        setenv("ETCD_LOCK_REV", rev, 1);
        execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "Error: exec %s: %s\n", argv[0], strerror(errno));
        _exit(EXIT_ERROR);
    }
    int st = 0;
    while (pid > 0 && waitpid(pid, &st, WNOHANG) == 0) keep_session(l, 0.1);
    return pid < 0 ? EXIT_ERROR : WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_ERROR;
}

static int cmd_lock(const char **args, int nargs)
{
    if (nargs < 1) die(EXIT_BAD_ARGS, "lock takes a lock name argument and an optional command to execute.");
    etcd_lease *l = session();
    etcd_res *lk = NULL;
    while (!stopping && !lk) {                   /* wait as long as it takes */
        lk = etcd_lock(cli, args[0], etcd_lease_id(l), 1);
        if (lk && lk->status != 200) check(lk, "");
        if (!lk && etcd_errcode(cli) != ETCD_ETIMEOUT) die(EXIT_ERROR, "%s", etcd_errstr(cli));
        if (!lk) keep_session(l, 0);
    }
    int rc = 0;
    if (lk && nargs > 1) {
        static const char *argv[64];
        for (int i = 1; i < nargs && i < 63; i++) argv[i - 1] = args[i];
        rc = run_locked(l, argv, lk);
        if (rc) fprintf(stderr, "Error: exit status %d\n", rc);    /* etcdctl: exit 1 */
        rc = rc ? EXIT_ERROR : 0;
    } else if (lk) {
        put_bytes(lk->lock_key.ptr, lk->lock_key.len);      /* etcdctl: key, empty value */
        fputs("\n\n", stdout);
        fflush(stdout);
        while (!stopping) keep_session(l, 1);
    }
    if (lk) etcd_res_free(etcd_unlock(cli, lk->lock_key.ptr, lk->lock_key.len));
    etcd_res_free(lk);
    etcd_lease_stop(l, true);
    return rc;
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;                   /* no SA_RESTART: sleeps end early */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void exit_now(int sig) { (void)sig; _exit(0); }

/* elect -l: print each leader as it comes, until a signal (exit 0, as
   etcdctl). The observe stream waits forever (etcd sends nothing while
   there is no leader) and the signal ends us at once: output is flushed
   after each leader. */
static int elect_listen(const char *name)
{
    etcd_watch_opts o;
    memset(&o, 0, sizeof o);
    o.timeout = -1;
    signal(SIGINT, exit_now);
    signal(SIGTERM, exit_now);
    etcd_watcher *w = etcd_observe(cli, name, &o);
    if (!w) die(EXIT_ERROR, "%s", etcd_errstr(cli));
    for (etcd_res *m; (m = etcd_watch_next(w)) != NULL; etcd_res_free(m)) {
        display->leader(m);
        fflush(stdout);
    }
    die(EXIT_ERROR, "%s", etcd_watch_errstr(w));
    return EXIT_ERROR;
}

static int cmd_elect(const char **args, int nargs)
{
    if (nargs < 1 || nargs > 2) die(EXIT_BAD_ARGS, "elect takes one election name argument and an optional proposal argument.");
    if (flag_on(F_LISTEN)) return elect_listen(args[0]);
    if (nargs < 2) die(EXIT_BAD_ARGS, "no proposal argument but -l not set");
    etcd_lease *l = session();
    etcd_res *c = NULL;
    while (!stopping && !c) {
        c = etcd_campaign(cli, args[0], etcd_lease_id(l), args[1], 0, 1);
        if (c && c->status != 200) check(c, "");
        if (!c && etcd_errcode(cli) != ETCD_ETIMEOUT) die(EXIT_ERROR, "%s", etcd_errstr(cli));
        if (!c) keep_session(l, 0);
    }
    if (c && c->leader) {                        /* elected: our key, our proposal */
        put_bytes(c->leader->key.ptr, c->leader->key.len);
        printf("\n%s\n", args[1]);
        fflush(stdout);
        while (!stopping) keep_session(l, 1);
        etcd_res_free(etcd_resign(cli, c->leader));
    }
    etcd_res_free(c);
    etcd_lease_stop(l, true);
    return 0;
}

/* ---- the command table and help ----------------------------------------- */

#define RANGE_FLAGS (BIT(F_PREFIX) | BIT(F_FROM_KEY))

typedef struct command {
    const char *name, *sub;              /* "lease" "grant"; sub NULL: one word */
    int (*run)(const char **args, int nargs);
    uint64_t flags;                      /* the command's own flags it accepts */
    const char *usage;                   /* the line shown in help */
    bool cluster;                        /* member list, endpoint: -w table too */
} command;

static const command commands[] = {
    { "get", NULL, cmd_get, RANGE_FLAGS | BIT(F_KEYS_ONLY) | BIT(F_PRINT_VALUE_ONLY) |
      BIT(F_COUNT_ONLY) | BIT(F_LIMIT) | BIT(F_REV) | BIT(F_ORDER) | BIT(F_SORT_BY) |
      BIT(F_CONSISTENCY), "get [options] <key> [range_end]", false },
    { "put", NULL, cmd_put, BIT(F_LEASE) | BIT(F_PREV_KV) | BIT(F_IGNORE_VALUE) |
      BIT(F_IGNORE_LEASE), "put [options] <key> <value> (<value> can also be given from stdin)", false },
    { "del", NULL, cmd_del, RANGE_FLAGS | BIT(F_PREV_KV),
      "del [options] <key> [range_end]", false },
    { "watch", NULL, cmd_watch, BIT(F_PREFIX) | BIT(F_REV) | BIT(F_PREV_KV) |
      BIT(F_PROGRESS_NOTIFY) | BIT(F_PRINT_VALUE_ONLY) | BIT(F_COUNT),
      "watch [options] <key> [--count=N]", false },
    { "lease", "grant", cmd_grant, 0, "lease grant <ttl>", false },
    { "lease", "revoke", cmd_revoke, 0, "lease revoke <leaseID>", false },
    { "lease", "timetolive", cmd_timetolive, BIT(F_KEYS), "lease timetolive <leaseID> [--keys]", false },
    { "lease", "list", cmd_leases, 0, "lease list", false },
    { "lease", "keep-alive", cmd_keepalive, BIT(F_ONCE), "lease keep-alive [--once] <leaseID>", false },
    { "version", NULL, cmd_version, 0, "version", false },
    { "member", "list", cmd_member_list, 0, "member list", true },
    { "endpoint", "health", cmd_endpoint_health, 0, "endpoint health", true },
    { "endpoint", "status", cmd_endpoint_status, 0, "endpoint status", true },
    { "lock", NULL, cmd_lock, BIT(F_TTL), "lock [--ttl=10] <lockname> [exec-command arg1 arg2 ...]", false },
    { "elect", NULL, cmd_elect, BIT(F_LISTEN), "elect [-l] <election-name> [proposal]", false },
    { "txn", NULL, cmd_txn, BIT(F_INTERACTIVE), "txn [-i]   (compares, success ops, failure "
      "ops from stdin, each ended by a blank line)", false },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* Help for the commands named `name` (all of them for NULL). */
static int help(const char *name)
{
    puts("NAME:\n\tetcdctl_lite - a small etcdctl built on etcd.h\n\nUSAGE:");
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!name || !strcmp(name, commands[i].name))
            printf("\tetcdctl_lite %s\n", commands[i].usage);
    puts("\nGLOBAL OPTIONS:\n"
         "  --endpoints=127.0.0.1:2379      endpoints, comma separated (ETCDCTL_ENDPOINTS)\n"
         "  --dial-timeout=2s, --command-timeout=5s\n"
         "  --user=name[:password], --password=secret\n"
         "  --cacert, --cert, --key, --insecure-skip-tls-verify   TLS (needs ETCD_USE_OPENSSL)\n"
         "  --hex                           print keys and values as hex\n"
         "  -w, --write-out=simple|json|fields\n"
         "  --key-prefix=P, --json          etcdctl_lite's own: key prefix, JSON values");
    return 0;
}

static const command *find_command(void)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const command *c = &commands[i];
        if (strcmp(pos[0], c->name) == 0 && (!c->sub || (npos > 1 && !strcmp(pos[1], c->sub))))
            return c;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    parse_command_line(argc, argv);
    if (npos == 0) return help(NULL);                   /* etcdctl: help, exit 0 */
    const command *c = find_command();
    bool known = false;
    for (size_t i = 0; i < NCOMMANDS; i++) known |= !strcmp(pos[0], commands[i].name);
    if (!known) die(EXIT_ERROR, "unknown command \"%s\" for \"etcdctl\"", pos[0]);
    if (!c || flag_on(G_HELP)) return help(pos[0]);     /* bare "lease", -h */

    for (int f = G_TIMEOUT + 1; f < NFLAGS; f++)        /* another command's flag */
        if (flag_val[f] && !(c->flags & BIT(f))) die(EXIT_ERROR, "unknown flag: --%s", flags[f].name);
    choose_display(flag_val[G_WRITE_OUT] ? flag_val[G_WRITE_OUT] : "simple", c->cluster);

    connect_client();
    int words = c->sub ? 2 : 1;
    int rc = c->run(pos + words, npos - words);
    etcd_free(cli);
    return rc;
}
