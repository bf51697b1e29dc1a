/* etcdctl_lite - a small etcdctl built on etcd.h: same syntax, same output.

   It takes etcdctl's (v3; 3.4 and 3.5) syntax and prints what etcdctl
   prints, in each -w format etcdctl has for the command: simple (the
   default), json and fields, and table for member list and the endpoint
   commands:

       get put del watch txn lock elect version compaction defrag
       move-leader snapshot save
       lease grant|revoke|timetolive|list|keep-alive
       member list|add|remove|update|promote
       endpoint health|status|hashkv (each also with --cluster)
       alarm list|disarm
       auth enable|disable|status
       user add|get|list|delete|passwd|grant-role|revoke-role
       role add|get|list|delete|grant-permission|revoke-permission

   so scripts written for one work with the other:

       etcdctl_lite put /app/port 8080
       etcdctl_lite get /app/ --prefix -w json
       etcdctl_lite --endpoints 127.0.0.1:2379,127.0.0.1:22379 get /a
       ETCDCTL_ENDPOINTS=127.0.0.1:2379 etcdctl_lite lease grant 60
       etcdctl_lite watch /app/ --prefix --prev-kv
       printf 'version("/a") = "0"\n\nput /a 1\n\nget /a\n\n' | etcdctl_lite txn
       etcdctl_lite endpoint status --cluster -w table
       etcdctl_lite --user root:secret role grant-permission app read /app/ --prefix

   Flags may come anywhere, as --flag=value or --flag value; global flags
   also come from ETCDCTL_<FLAG> (ETCDCTL_ENDPOINTS, ETCDCTL_USER...). "--"
   ends the flags. Lease and member IDs are hexadecimal, as in etcdctl.
   Endpoints without a scheme get http:// (https:// with --cacert or
   --cert: build with -DETCD_USE_OPENSSL -lssl -lcrypto for those), and a
   call that cannot reach one endpoint goes to the next (etcd.h's retry
   option). `version` prints the server's version where etcdctl prints its
   own; the output follows the etcdctl of the server's release (3.4 or 3.5).

   Beyond etcdctl: get --count-only (etcdctl 3.5), watch --count=N (stop
   after N events), --key-prefix=P, --timeout=SECONDS (one deadline per
   request), and --json (values are JSON text, checked before they are
   sent: etcd.h's JSON serializer; the default stores them byte for byte).

   etcd 3.4's JSON gateway has no hashkv and no auth status (etcdctl 3.4
   reaches hashkv over gRPC, and has no auth status at all): against 3.4
   those two fail with exit 1 and etcd.h's error, which names the call and
   the missing gateway path.

   Not here: the protobuf format; get --consistency other than l/s; watch's
   exec command (watch KEY -- CMD) and watch -i's "progress" (a gateway
   watch stream takes one request); make-mirror, check, downgrade. Files
   are etcdutl's: defrag --data-dir and snapshot restore|status work on
   files (a stopped member's data, a snapshot), not on etcd, and are
   refused (exit 1). A format etcdctl lacks for a command is refused before
   the command runs (etcdctl runs it, a write too, and then refuses the
   format; for member promote it crashes in any format but simple). Where
   etcdctl crashes on an answer without a header (alarm disarm, 3.4's alarm
   list, in fields) etcdctl_lite prints zeros. member update of a learner
   is refused by etcd.h (etcd would make it a voter). --user against an
   etcd whose auth is off: etcdctl goes on without a token, so does this.

   Exit status, as etcdctl's: 0 ok, 1 a failed request or an unknown flag or
   command, 2 a lost connection (keep-alive --once) or a refused --user, 3
   bad txn or watch -i input, 4 an unsupported option value or output
   format, 5 snapshot save failed or the server canceled a watch, 128 bad
   arguments. Errors go to stderr as "Error: ...". -h/--help (and a bare
   "lease", "member"...) print help and exit 0.

   Build:  make examples   (or: cc -std=c99 -I. -o etcdctl_lite examples/etcdctl_lite.c) */
#define ETCD_IMPLEMENTATION
#include "etcd.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* etcdctl's exit codes (etcdctl/ctlv3/command/error.go) */
#define EXIT_ERROR      1
#define EXIT_BAD_CONN   2
#define EXIT_BAD_INPUT  3
#define EXIT_BAD_FEAT   4
#define EXIT_INTERRUPTED 5
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
    F_TTL, F_LISTEN, F_PHYSICAL, F_CLUSTER, F_DATA_DIR, F_PEER_URLS, F_LEARNER,
    F_NEW_USER_PASSWORD, F_NO_PASSWORD, F_DETAIL,
    F_DEST_PREFIX, F_NO_DEST_PREFIX, F_DEST_CACERT, F_DEST_CERT, F_DEST_KEY, F_DEST_INSECURE,
    F_MAX_TXN_OPS,
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
    { "physical", 0, false },
    { "cluster", 0, false },
    { "data-dir", 0, true },
    { "peer-urls", 0, true },
    { "learner", 0, false },
    { "new-user-password", 0, true },
    { "no-password", 0, false },
    { "detail", 0, false },
    { "dest-prefix", 0, true },
    { "no-dest-prefix", 0, false },
    { "dest-cacert", 0, true },
    { "dest-cert", 0, true },
    { "dest-key", 0, true },
    { "dest-insecure-transport", 0, false },
    { "max-txn-ops", 0, true },
};

#define BIT(f) ((uint64_t)1 << (f))

/* The command line, parsed: flag values ("true" for a bare boolean) and the
   positional words, the command's own first. */
static const char *flag_val[NFLAGS];
static const char *pos[64];
static int npos;
static int dashdash = -1;               /* how many positional words came before "--"; -1: none */

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
            dashdash = npos;
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

static void body_add(body *b, const char *p, size_t n)
{
    body_reserve(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
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

/* One endpoint's answer to endpoint status or hashkv, under the name the
   user gave it (or a member's client URL, with --cluster). */
typedef struct ep_result {
    const char *endpoint;
    const etcd_res *r;
} ep_result;

typedef struct ep_health {
    const char *endpoint, *took, *error;  /* error: when not ok */
    bool ok;
} ep_health;

/* What alarm list and disarm print: list's answer, or the alarms disarm
   gathered with no header (clientv3 builds that answer itself). */
typedef struct alarm_view {
    const etcd_res *r;                   /* its header; NULL: none */
    const etcd_alarm *alarms;
    size_t n;
} alarm_view;

/* One entry per thing a command prints; NULL where etcdctl has no such
   output in this format (the command table's formats say so too). The
   endpoint commands print one entry at a time; *_end gets how many. */
typedef struct printer {
    const char *name;                    /* -w NAME */
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
    void (*members)(const etcd_res *r);  /* member list */
    void (*member_added)(const etcd_res *r, const char *name, const char *peer_urls);
    void (*member_changed)(const char *msg, const etcd_res *r);   /* remove, update, promote */
    void (*status)(const ep_result *s, int i);               /* i: how many came before */
    void (*status_end)(int n);
    void (*health)(const ep_health *h, int i);
    void (*health_end)(int n);
    void (*hashkv)(const ep_result *h, int i);
    void (*hashkv_end)(int n);
    void (*alarms)(const alarm_view *a);
    void (*move_leader)(uint64_t from, uint64_t to, const etcd_res *r);
    void (*auth_status)(const etcd_res *r);
    void (*done)(const char *msg, const etcd_res *r);        /* a user or role changed */
    void (*user_get)(const char *name, const etcd_res *r);
    void (*names)(const char *what, const etcd_res *r);      /* user list "users", role list "roles" */
    void (*role_get)(const char *name, const etcd_res *r);
} printer;

static const printer *display;          /* chosen by -w, once */

static bool speaks_35(void);            /* the etcdctl release whose output to print */

static void nothing(int n) { (void)n; }
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
static int width_n(const char *s, size_t n)
{
    int w = 0;
    for (size_t i = 0; i < n; i++) w += ((unsigned char)s[i] & 0xC0) != 0x80;
    return w;
}

static int width(const char *s) { return width_n(s, strlen(s)); }

enum { TABLE_WRAP = 30 };               /* tablewriter's MaxColWidth */

/* tablewriter's WrapString: a cell wider than TABLE_WRAP is cut into lines
   at its spaces (each space a break: "a  b" has an empty word), a line at
   most that wide (or as its longest word), the raggedness (the squared
   room left on each line) smallest. The breaks are written into s as '\n'.
   Returns the width the cell takes: a cut one takes TABLE_WRAP at least. */
static int wrap_cell(char *s)
{
    int wid[CELL_MAX], brk[CELL_MAX], n = 0, lim = width(s), widest = 0;
    long long cost[CELL_MAX];
    char *sp[CELL_MAX];                  /* the space before word k */
    if (lim <= TABLE_WRAP) return lim;
    lim = TABLE_WRAP;
    for (char *p = s, *w = s; n < CELL_MAX; p++) {
        if (*p && *p != ' ') continue;
        sp[n] = w - 1;
        wid[n] = width_n(w, (size_t)(p - w));
        if (wid[n++] > lim) lim = wid[n - 1];
        if (!*p) break;
        w = p + 1;
    }
    for (int i = n - 1; i >= 0; i--) {
        int total = wid[i];
        for (int j = i + 1; j < n; j++) total += 1 + wid[j];
        cost[i] = total <= lim ? 0 : 2147483647;         /* Go's math.MaxInt32 */
        brk[i] = n;
        for (int j = i + 1, len = wid[i]; total > lim && j < n; len += 1 + wid[j], j++) {
            long long d = lim - len, c = d * d + cost[j] + (len > lim ? 100000 : 0);
            if (c < cost[i]) { cost[i] = c; brk[i] = j; }
        }
    }
    for (int i = 0; i < n; i = brk[i]) {
        int len = 0;
        for (int k = i; k < brk[i]; k++) len += wid[k] + (k > i);
        if (len > widest) widest = len;
        if (brk[i] < n) *sp[brk[i]] = '\n';
    }
    return widest > TABLE_WRAP ? widest : TABLE_WRAP;
}

/* A cell's line k ("" past its last), into buf */
static const char *line_at(const char *s, int k, char *buf, size_t size)
{
    for (; k > 0 && s; k--)
        if ((s = strchr(s, '\n')) != NULL) s++;
    snprintf(buf, size, "%.*s", s ? (int)strcspn(s, "\n") : 0, s ? s : "");
    return buf;
}

static int line_count(const char *s)
{
    int n = 1;
    for (; *s; s++) n += *s == '\n';
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

/* One row: as many lines as its tallest cell, each right-aligned. */
static void table_row(char *const *row, const int *w, int ncols)
{
    int height = 1;
    for (int c = 0; c < ncols; c++)
        if (line_count(row[c]) > height) height = line_count(row[c]);
    for (int k = 0; k < height; k++) {
        for (int c = 0; c < ncols; c++) {
            char line[CELL_MAX];
            line_at(row[c], k, line, sizeof line);
            printf("| %*s%s ", w[c] - width(line), "", line);
        }
        puts("|");
    }
}

/* As etcdctl's tablewriter: headers centered, cells wrapped and
   right-aligned. */
static void table_print(const char *const *headers, int ncols)
{
    int w[TABLE_COLS];
    size_t rows = ncells / (size_t)ncols;
    for (int c = 0; c < ncols; c++) w[c] = width(headers[c]);
    for (size_t i = 0; i < rows * (size_t)ncols; i++) {
        int cw = wrap_cell(cells[i]);
        if (cw > w[i % (size_t)ncols]) w[i % (size_t)ncols] = cw;
    }
    table_rule(w, ncols);
    for (int c = 0; c < ncols; c++) {
        int pad = w[c] - width(headers[c]);
        printf("| %*s%s%*s ", pad / 2, "", headers[c], pad - pad / 2, "");
    }
    puts("|");
    table_rule(w, ncols);
    for (size_t r = 0; r < rows; r++) table_row(&cells[r * (size_t)ncols], w, ncols);
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

/* The length of the valid UTF-8 sequence at p (n bytes left); 0: none
   (a stray byte, an overlong form, a surrogate, beyond U+10FFFF). */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len = p[0] >= 0xC2 && p[0] <= 0xDF ? 2 : p[0] >= 0xE0 && p[0] <= 0xEF ? 3
               : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : 0;
    if (!len || len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    if ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0) ||
        (p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90)) return 0;
    return len;
}

/* Go's %q: ASCII escaped as Go does, valid UTF-8 as it is, any other byte
   as \xNN. */
static void put_quoted(const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        size_t u = c >= 0x80 ? utf8_len(s + i, n - i) : 0;
        const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n"
                        : c == '\t' ? "\\t" : c == '\r' ? "\\r" : NULL;
        if (esc) fputs(esc, stdout);
        else if (u) { put_bytes(p + i, u); i += u - 1; }
        else if (c < 0x20 || c >= 0x7f) printf("\\x%02x", c);
        else putchar(c);
    }
    putchar('"');
}

/* A string as Go's encoding/json writes it: quoted, control characters
   escaped, and <, > and & as \u003c... (Go escapes those for HTML). */
static void put_json_str(const char *p, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n"
                        : c == '\t' ? "\\t" : c == '\r' ? "\\r" : NULL;
        if (esc) fputs(esc, stdout);
        else if (c < 0x20 || c == '<' || c == '>' || c == '&') printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

/* "a,b": a member's URLs in one cell */
static const char *joined(const etcd_str *urls, size_t n, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < n && len < size; k++)
        len += (size_t)snprintf(buf + len, size - len, "%s%.*s", k ? "," : "", (int)urls[k].len, urls[k].ptr);
    return buf;
}

static void member_cells(const etcd_member *m)
{
    char urls[CELL_MAX];
    cell("%" PRIx64, m->id);
    cell("%s", *m->name ? "started" : "unstarted");
    cell("%s", m->name);
    cell("%s", joined(m->peer_urls, m->npeer_urls, urls, sizeof urls));
    cell("%s", joined(m->client_urls, m->nclient_urls, urls, sizeof urls));
    cell("%s", m->is_learner ? "true" : "false");
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

/* etcd's errors (alarms), joined by sep */
static const char *errors_joined(const etcd_res *r, const char *sep, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < r->nerrors && len < size; k++)
        len += (size_t)snprintf(buf + len, size - len, "%s%.*s", k ? sep : "", (int)r->errors[k].len,
                                r->errors[k].ptr);
    return buf;
}

static void status_cells(const ep_result *s)
{
    const etcd_res *r = s->r;
    char size[32], errs[CELL_MAX];
    cell("%s", s->endpoint);
    cell("%" PRIx64, r->member_id);
    cell("%s", r->version);
    cell("%s", fmt_size((uint64_t)r->db_size, size, sizeof size));
    cell("%s", r->leader_id == r->member_id ? "true" : "false");
    cell("%s", r->is_learner ? "true" : "false");
    cell("%" PRId64, r->raft_term);
    cell("%" PRIu64, r->raft_index);
    cell("%" PRIu64, r->raft_applied_index);
    cell("%s", errors_joined(r, ", ", errs, sizeof errs));
}

static void hashkv_cells(const ep_result *h)
{
    cell("%s", h->endpoint);
    cell("%" PRIu64, h->r->hash);
}

/* proto's enum names, as etcdctl prints alarms and permissions */
static const char *alarm_name(int a)
{
    return a == ETCD_ALARM_NOSPACE ? "NOSPACE" : a == ETCD_ALARM_CORRUPT ? "CORRUPT" : "NONE";
}

static const char *perm_name(int p)
{
    return p == ETCD_PERM_WRITE ? "WRITE" : p == ETCD_PERM_READWRITE ? "READWRITE" : "READ";
}

/* Whether etcd's answer had a header: 3.4's alarm list has none. */
static bool has_header(const etcd_res *r)
{
    return r && (r->cluster_id || r->member_id || r->revision || r->raft_term);
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

static void simple_members(const etcd_res *r)
{
    for (size_t k = 0; k < r->nmembers; k++) {
        member_cells(&r->members[k]);
        row_print();
    }
}

/* The new member's line, and (simple only, as etcdctl) the settings to
   start it with: every member's name=peerURL, the new one under the name
   given. */
static void simple_member_added(const etcd_res *r, const char *name, const char *peer_urls)
{
    body conf = { NULL, 0, 0 };
    printf("Member %16" PRIx64 " added to cluster %16" PRIx64 "\n\n", r->member->id, r->cluster_id);
    for (size_t k = 0; k < r->nmembers; k++) {
        const etcd_member *m = &r->members[k];
        const char *n = m->id == r->member->id ? name : m->name;
        for (size_t u = 0; u < m->npeer_urls; u++) {
            if (conf.len) body_add(&conf, ",", 1);
            body_add(&conf, n, strlen(n));
            body_add(&conf, "=", 1);
            body_add(&conf, m->peer_urls[u].ptr, m->peer_urls[u].len);
        }
    }
    fputs("ETCD_NAME=", stdout);
    put_quoted(name, strlen(name));
    fputs("\nETCD_INITIAL_CLUSTER=", stdout);
    put_quoted(conf.p ? conf.p : "", conf.len);
    fputs("\nETCD_INITIAL_ADVERTISE_PEER_URLS=", stdout);
    put_quoted(peer_urls, strlen(peer_urls));
    puts("\nETCD_INITIAL_CLUSTER_STATE=\"existing\"");
    free(conf.p);
}

static void simple_done(const char *msg, const etcd_res *r)
{
    (void)r;
    puts(msg);
}

static void simple_status(const ep_result *s, int i)
{
    (void)i;
    status_cells(s);
    row_print();
}

/* 3.4's etcdctl wrote a healthy endpoint to stderr. */
static void simple_health(const ep_health *h, int i)
{
    (void)i;
    if (h->ok)
        fprintf(speaks_35() ? stdout : stderr, "%s is healthy: successfully committed proposal: "
                "took = %s\n", h->endpoint, h->took);
    else
        fprintf(stderr, "%s is unhealthy: failed to commit proposal: %s\n", h->endpoint, h->error);
}

static void simple_hashkv(const ep_result *h, int i)
{
    (void)i;
    hashkv_cells(h);
    row_print();
}

/* Go's %+v of the AlarmMember: its proto text, zero fields left out */
static void simple_alarms(const alarm_view *a)
{
    for (size_t k = 0; k < a->n; k++) {
        if (a->alarms[k].member_id) printf("memberID:%" PRIu64 " ", a->alarms[k].member_id);
        if (a->alarms[k].alarm) printf("alarm:%s ", alarm_name(a->alarms[k].alarm));
        putchar('\n');
    }
}

static void simple_move_leader(uint64_t from, uint64_t to, const etcd_res *r)
{
    (void)r;
    printf("Leadership transferred from %" PRIx64 " to %" PRIx64 "\n", from, to);
}

static void simple_auth_status(const etcd_res *r)
{
    printf("Authentication Status: %s\nAuthRevision: %" PRIu64 "\n", r->enabled ? "true" : "false",
           r->auth_revision);
}

static void simple_user_get(const char *name, const etcd_res *r)
{
    printf("User: %s\nRoles:", name);
    for (size_t k = 0; k < r->nnames; k++) printf(" %.*s", (int)r->names[k].len, r->names[k].ptr);
    putchar('\n');
}

static void simple_names(const char *what, const etcd_res *r)
{
    (void)what;
    for (size_t k = 0; k < r->nnames; k++) printf("%.*s\n", (int)r->names[k].len, r->names[k].ptr);
}

/* etcd's "\0" as a range_end: every key from the key on */
static bool open_ended(etcd_str end)
{
    return end.len == 1 && end.ptr[0] == '\0';
}

/* A permission as etcdctl lists it: the key, or [key, end) with a note
   when the range is the key's prefix. */
static void simple_perm(const etcd_perm *p)
{
    putchar('\t');
    if (!p->range_end.len) {
        put_bytes(p->key.ptr, p->key.len);
        putchar('\n');
        return;
    }
    char *pfx = (char *)malloc(p->key.len + 2);
    if (!pfx) die(EXIT_ERROR, "out of memory");
    size_t n = prefix_end(p->key.ptr, p->key.len, pfx);
    putchar('[');
    put_bytes(p->key.ptr, p->key.len);
    fputs(", ", stdout);
    if (open_ended(p->range_end)) fputs("<open ended>", stdout);
    else { put_bytes(p->range_end.ptr, p->range_end.len); putchar(')'); }
    if (n == p->range_end.len && !memcmp(pfx, p->range_end.ptr, n)) {
        fputs(" (prefix ", stdout);
        put_bytes(p->key.ptr, p->key.len);
        putchar(')');
    }
    putchar('\n');
    free(pfx);
}

static void simple_role_get(const char *name, const etcd_res *r)
{
    printf("Role %s\nKV Read:\n", name);
    for (size_t k = 0; k < r->nperms; k++)
        if (r->perms[k].perm != ETCD_PERM_WRITE) simple_perm(&r->perms[k]);
    puts("KV Write:");
    for (size_t k = 0; k < r->nperms; k++)
        if (r->perms[k].perm != ETCD_PERM_READ) simple_perm(&r->perms[k]);
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
    if (!m->nevents) fputs(m->canceled ? "[]" : "null", stdout);    /* clientv3 makes a cancel's */
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

/* The members of the JSON object being written: whether one came already
   (the next needs a comma). Go's encoding/json leaves zero ones out. */
static bool json_more;

static void json_key(const char *name)
{
    printf("%s\"%s\":", json_more ? "," : "", name);
    json_more = true;
}

static void json_u64(const char *name, uint64_t v)
{
    if (v) { json_key(name); printf("%" PRIu64, v); }
}

static void json_i64(const char *name, int64_t v)
{
    if (v) { json_key(name); printf("%" PRId64, v); }
}

static void json_str(const char *name, const char *v)
{
    if (*v) { json_key(name); put_json_str(v, strlen(v)); }
}

/* "{" and etcd's header, when its answer had one */
static void json_open(const etcd_res *r)
{
    putchar('{');
    json_more = false;
    if (!has_header(r)) return;
    json_key("header");
    putchar('{');
    json_header(r);
    putchar('}');
}

static void json_strs(const char *name, const etcd_str *v, size_t n)
{
    if (!n) return;
    json_key(name);
    for (size_t k = 0; k < n; k++) {
        putchar(k ? ',' : '[');
        put_json_str(v[k].ptr, v[k].len);
    }
    putchar(']');
}

/* A member, nested in the object being written. */
static void json_member(const etcd_member *m)
{
    bool outer = json_more;
    putchar('{');
    json_more = false;
    json_u64("ID", m->id);
    json_str("name", m->name);
    json_strs("peerURLs", m->peer_urls, m->npeer_urls);
    json_strs("clientURLs", m->client_urls, m->nclient_urls);
    if (m->is_learner) { json_key("isLearner"); fputs("true", stdout); }
    putchar('}');
    json_more = outer;
}

static void json_member_list(const etcd_res *r)
{
    if (!r->nmembers) return;
    json_key("members");
    for (size_t k = 0; k < r->nmembers; k++) {
        putchar(k ? ',' : '[');
        json_member(&r->members[k]);
    }
    putchar(']');
}

/* Go's json.Marshal of a []string: null when there is none */
static void json_array_or_null(const etcd_str *v, size_t n)
{
    if (!n) fputs("null", stdout);
    for (size_t k = 0; k < n; k++) {
        putchar(k ? ',' : '[');
        put_json_str(v[k].ptr, v[k].len);
    }
    if (n) putchar(']');
}

/* etcdctl 3.5's member list -w json --hex: its own text, IDs as hex
   strings, names as they are, "clientURLS" spelled so. */
static void json_members_hex(const etcd_res *r)
{
    printf("{\"header\":{\"cluster_id\":\"%" PRIx64 "\",\"member_id\":\"%" PRIx64 "\",\"raft_term\":%"
           PRId64 "}", r->cluster_id, r->member_id, r->raft_term);
    for (size_t k = 0; k < r->nmembers; k++) {
        const etcd_member *m = &r->members[k];
        printf("%s{\"ID\":\"%" PRIx64 "\",\"name\":\"%s\",\"peerURLs\":", k ? "," : ",\"members\":[",
               m->id, m->name);
        json_array_or_null(m->peer_urls, m->npeer_urls);
        fputs(",\"clientURLS\":", stdout);
        json_array_or_null(m->client_urls, m->nclient_urls);
        fputs(k + 1 == r->nmembers ? "}]" : "}", stdout);
    }
    puts("}");
}

static void json_members(const etcd_res *r)
{
    if (flag_on(G_HEX) && speaks_35()) {
        json_members_hex(r);
        return;
    }
    json_open(r);
    json_member_list(r);
    puts("}");
}

static void json_member_added(const etcd_res *r, const char *name, const char *peer_urls)
{
    (void)name;
    (void)peer_urls;
    json_open(r);
    json_key("member");
    json_member(r->member);
    json_member_list(r);
    puts("}");
}

/* remove, update: etcd's answer is the member list after the change */
static void json_member_changed(const char *msg, const etcd_res *r)
{
    (void)msg;
    json_open(r);
    json_member_list(r);
    puts("}");
}

/* The endpoint commands print one array: "[" before the first endpoint
   (i == 0), "]" after them all ("[]" for none). */
static void json_status(const ep_result *s, int i)
{
    const etcd_res *r = s->r;
    printf("%s{\"Endpoint\":", i ? "," : "[");
    put_json_str(s->endpoint, strlen(s->endpoint));
    fputs(",\"Status\":", stdout);
    json_open(r);
    json_str("version", r->version);
    json_i64("dbSize", r->db_size);
    json_u64("leader", r->leader_id);
    json_u64("raftIndex", r->raft_index);
    json_i64("raftTerm", r->raft_term);
    json_u64("raftAppliedIndex", r->raft_applied_index);
    json_strs("errors", r->errors, r->nerrors);
    json_i64("dbSizeInUse", r->db_size_in_use);
    if (r->is_learner) { json_key("isLearner"); fputs("true", stdout); }
    fputs("}}", stdout);
}

static void json_health(const ep_health *h, int i)
{
    printf("%s{\"endpoint\":", i ? "," : "[");
    put_json_str(h->endpoint, strlen(h->endpoint));
    printf(",\"health\":%s,\"took\":\"%s\"", h->ok ? "true" : "false", h->took);
    if (!h->ok) {
        fputs(",\"error\":", stdout);
        put_json_str(h->error, strlen(h->error));
    }
    putchar('}');
}

static void json_hashkv(const ep_result *h, int i)
{
    printf("%s{\"Endpoint\":", i ? "," : "[");
    put_json_str(h->endpoint, strlen(h->endpoint));
    fputs(",\"HashKV\":", stdout);
    json_open(h->r);
    json_u64("hash", h->r->hash);
    json_i64("compact_revision", h->r->compact_revision);
    json_i64("hash_revision", h->r->hash_revision);
    fputs("}}", stdout);
}

static void json_endpoints_end(int n) { puts(n ? "]" : "[]"); }

/* alarm: the type as a number, as Go writes a proto enum */
static void json_alarms(const alarm_view *a)
{
    json_open(a->r);
    if (a->n) json_key("alarms");
    for (size_t k = 0; k < a->n; k++) {
        const etcd_alarm *m = &a->alarms[k];
        putchar(k ? ',' : '[');
        putchar('{');
        if (m->member_id) printf("\"memberID\":%" PRIu64, m->member_id);
        if (m->alarm) printf("%s\"alarm\":%d", m->member_id ? "," : "", m->alarm);
        putchar('}');
    }
    puts(a->n ? "]}" : "}");
}

static void json_move_leader(uint64_t from, uint64_t to, const etcd_res *r)
{
    (void)from;
    (void)to;
    json_open(r);
    puts("}");
}

static void json_auth_status(const etcd_res *r)
{
    json_open(r);
    if (r->enabled) { json_key("enabled"); fputs("true", stdout); }
    json_u64("authRevision", r->auth_revision);
    puts("}");
}

/* user and role changes: etcd's answer is its header */
static void json_done(const char *msg, const etcd_res *r)
{
    (void)msg;
    json_open(r);
    puts("}");
}

static void json_user_get(const char *name, const etcd_res *r)
{
    (void)name;
    json_open(r);
    json_strs("roles", r->names, r->nnames);
    puts("}");
}

static void json_names(const char *what, const etcd_res *r)
{
    json_open(r);
    json_strs(what, r->names, r->nnames);
    puts("}");
}

/* keys as base64 (bytes in Go); READ, 0, left out */
static void json_role_get(const char *name, const etcd_res *r)
{
    (void)name;
    json_open(r);
    if (r->nperms) json_key("perm");
    for (size_t k = 0; k < r->nperms; k++) {
        const etcd_perm *p = &r->perms[k];
        putchar(k ? ',' : '[');
        putchar('{');
        json_more = false;
        json_u64("permType", (uint64_t)p->perm);
        if (p->key.len) { json_key("key"); putchar('"'); put_base64(p->key.ptr, p->key.len); putchar('"'); }
        if (p->range_end.len) {
            json_key("range_end");
            putchar('"');
            put_base64(p->range_end.ptr, p->range_end.len);
            putchar('"');
        }
        putchar('}');
    }
    puts(r->nperms ? "]}" : "}");
}

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

static void fields_urls(const char *name, const etcd_str *urls, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        printf("\"%s\" : ", name);
        put_quoted(urls[k].ptr, urls[k].len);
        putchar('\n');
    }
}

static void fields_members(const etcd_res *r)
{
    fields_header(r);
    for (size_t k = 0; k < r->nmembers; k++) {
        const etcd_member *m = &r->members[k];
        printf("\"ID\" : %" PRIu64 "\n\"Name\" : ", m->id);
        put_quoted(m->name, strlen(m->name));
        putchar('\n');
        fields_urls("PeerURL", m->peer_urls, m->npeer_urls);
        fields_urls("ClientURL", m->client_urls, m->nclient_urls);
        printf("\"IsLearner\" : %s\n\n", m->is_learner ? "true" : "false");
    }
}

/* Errors as Go's Println writes a []string: [a b] */
static void fields_status(const ep_result *s, int i)
{
    const etcd_res *r = s->r;
    char errs[1024];
    (void)i;
    fields_header(r);
    fputs("\"Version\" : ", stdout);
    put_quoted(r->version, strlen(r->version));
    printf("\n\"DBSize\" : %" PRId64 "\n\"Leader\" : %" PRIu64 "\n\"IsLearner\" : %s\n\"RaftIndex\" : %"
           PRIu64 "\n\"RaftTerm\" : %" PRId64 "\n\"RaftAppliedIndex\" : %" PRIu64 "\n\"Errors\" : [%s]\n"
           "\"Endpoint\" : ", r->db_size, r->leader_id, r->is_learner ? "true" : "false", r->raft_index,
           r->raft_term, r->raft_applied_index, errors_joined(r, " ", errs, sizeof errs));
    put_quoted(s->endpoint, strlen(s->endpoint));
    puts("\n");
}

static void fields_health(const ep_health *h, int i)
{
    (void)i;
    fputs("\"Endpoint\" : ", stdout);
    put_quoted(h->endpoint, strlen(h->endpoint));
    printf("\n\"Health\" : %s\n\"Took\" : %s\n\"Error\" : %s\n\n", h->ok ? "true" : "false", h->took,
           h->ok ? "" : h->error);
}

static void fields_hashkv(const ep_result *h, int i)
{
    (void)i;
    fields_header(h->r);
    fputs("\"Endpoint\" : ", stdout);
    put_quoted(h->endpoint, strlen(h->endpoint));
    printf("\n\"Hash\" : %" PRIu64 "\n\n", h->r->hash);
}

/* Without a header (disarm's answer; 3.4's list) etcdctl crashes here; its
   zeros are printed instead. */
static void fields_alarms(const alarm_view *a)
{
    static etcd_res none;
    fields_header(a->r ? a->r : &none);
    for (size_t k = 0; k < a->n; k++)
        printf("\"MemberID\" : %" PRIu64 "\n\"AlarmType\" : %s\n\n", a->alarms[k].member_id,
               alarm_name(a->alarms[k].alarm));
}

static void fields_done(const char *msg, const etcd_res *r)
{
    (void)msg;
    fields_header(r);
}

/* role list only: etcdctl has no fields for user list */
static void fields_names(const char *what, const etcd_res *r)
{
    (void)what;
    fields_header(r);
    fputs("\"Roles\" :", stdout);
    for (size_t k = 0; k < r->nnames; k++) {
        putchar(' ');
        put_quoted(r->names[k].ptr, r->names[k].len);
    }
    putchar('\n');
}

static void fields_role_get(const char *name, const etcd_res *r)
{
    (void)name;
    fields_header(r);
    for (size_t k = 0; k < r->nperms; k++) {
        const etcd_perm *p = &r->perms[k];
        printf("\"PermType\" :  %s\n\"Key\" : ", perm_name(p->perm));
        put_quoted(p->key.ptr, p->key.len);
        fputs("\n\"RangeEnd\" : ", stdout);
        put_quoted(p->range_end.ptr, p->range_end.len);
        putchar('\n');
    }
}

/* ---- table: member list and the endpoint commands ---- */

static void table_members(const etcd_res *r)
{
    static const char *const heads[] = { "ID", "STATUS", "NAME", "PEER ADDRS", "CLIENT ADDRS", "IS LEARNER" };
    for (size_t k = 0; k < r->nmembers; k++) member_cells(&r->members[k]);
    table_print(heads, 6);
}

static void table_status(const ep_result *s, int i)
{
    (void)i;
    status_cells(s);
}

static void table_status_end(int n)
{
    static const char *const heads[] = { "ENDPOINT", "ID", "VERSION", "DB SIZE", "IS LEADER", "IS LEARNER",
                                         "RAFT TERM", "RAFT INDEX", "RAFT APPLIED INDEX", "ERRORS" };
    (void)n;
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

static void table_health_end(int n)
{
    static const char *const heads[] = { "ENDPOINT", "HEALTH", "TOOK", "ERROR" };
    (void)n;
    table_print(heads, 4);
}

static void table_hashkv(const ep_result *h, int i)
{
    (void)i;
    hashkv_cells(h);
}

static void table_hashkv_end(int n)
{
    static const char *const heads[] = { "ENDPOINT", "HASH" };
    (void)n;
    table_print(heads, 2);
}

/* ---- the printers ---- */

/* Positional initializers, in the order of struct printer: C++ (which
   compiles the examples too) has no designated ones before C++20. */
static const printer printer_simple = {
    "simple", simple_get, simple_get, simple_put, simple_del, simple_txn, simple_watch,
    simple_grant, simple_revoke, simple_timetolive, simple_keepalive, simple_expired, simple_leases,
    simple_members, simple_member_added, simple_done, simple_status, nothing, simple_health, nothing,
    simple_hashkv, nothing, simple_alarms, simple_move_leader, simple_auth_status, simple_done,
    simple_user_get, simple_names, simple_role_get
};

static const printer printer_json = {
    "json", json_get, json_get, json_put, json_del, json_txn, json_watch,
    json_grant, json_revoke, json_timetolive, json_keepalive, nothing_id, json_leases,
    json_members, json_member_added, json_member_changed, json_status, json_endpoints_end,
    json_health, json_endpoints_end, json_hashkv, json_endpoints_end, json_alarms, json_move_leader,
    json_auth_status, json_done, json_user_get, json_names, json_role_get
};

/* etcdctl's fields printer has no member changes, move-leader, auth
   status, user get or user list. */
static const printer printer_fields = {
    "fields", fields_get, fields_get, fields_put, fields_del, fields_txn, fields_watch,
    fields_grant, fields_revoke, fields_timetolive, fields_keepalive, nothing_id, fields_leases,
    fields_members, NULL, NULL, fields_status, nothing, fields_health, nothing, fields_hashkv, nothing,
    fields_alarms, NULL, NULL, fields_done, NULL, fields_names, fields_role_get
};

static const printer printer_table = {
    "table", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    table_members, NULL, NULL, table_status, table_status_end, table_health, table_health_end,
    table_hashkv, table_hashkv_end, NULL, NULL, NULL, NULL, NULL, NULL, NULL
};

/* -w's bits in a command's formats */
enum { FMT_SIMPLE = 1, FMT_JSON = 2, FMT_FIELDS = 4, FMT_TABLE = 8,
       FMT_NO_TABLE = FMT_SIMPLE | FMT_JSON | FMT_FIELDS, FMT_ALL = FMT_NO_TABLE | FMT_TABLE };

static void refuse_format(void)
{
    die(EXIT_BAD_FEAT, "%s not supported as output format", display->name);
}

/* The printer -w names; exit 4 (etcdctl's) for another name, or for one
   the command has no output in (formats: FMT_* bits). etcdctl runs the
   command first and then refuses; this refuses before anything is sent. */
static void choose_display(const char *w, unsigned formats)
{
    static const printer *const printers[] = { &printer_simple, &printer_json, &printer_fields,
                                               &printer_table };
    size_t i = 0;
    for (; i < sizeof printers / sizeof printers[0] && !display; i++)
        if (!strcmp(w, printers[i]->name)) display = printers[i];
    if (!display) die(EXIT_BAD_FEAT, "unsupported output format %s", w);
    if (!(formats & (1u << (i - 1)))) refuse_format();
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

/* --user, tried at once as etcdctl does (a refused login: exit 2). One
   read gets the token; whether etcd said its auth is off instead: etcd.h
   then fails every call, where etcdctl goes on without a token. */
static bool auth_is_off(void)
{
    etcd_get_opts o;
    memset(&o, 0, sizeof o);
    o.count_only = true;
    etcd_res *r = etcd_get(cli, "health", &o);
    etcd_res_free(r);
    if (r || etcd_errcode(cli) != ETCD_EAUTH) return false;        /* a permission denied is an answer */
    if (strstr(etcd_errstr(cli), "authentication is not enabled")) return true;
    die(EXIT_BAD_CONN, "%s", etcd_errstr(cli));
    return false;
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
    if (cli && o.user && auth_is_off()) {         /* etcdctl then goes on without a token */
        etcd_free(cli);
        o.user = o.password = NULL;
        cli = etcd_new(&o, err, sizeof err);
    }
    free(urls);
    if (!cli) die(EXIT_ERROR, "%s", err);
}

/* Why a call failed: etcd's message, or etcd.h's when there is no answer. */
static const char *failure(const etcd_res *r)
{
    if (!r) return etcd_errstr(cli);
    return r->message && *r->message ? r->message : r->error && *r->error ? r->error : r->body;
}

/* The result of a call, or exit with etcdctl's "Error: ..." when there is
   none (etcd_errstr says why) or etcd answered with an error. */
static etcd_res *check(etcd_res *r, const char *what)
{
    const char *close = *what ? ")" : "";
    if (!r || r->status != 200) die(EXIT_ERROR, "%s%s%s", what, failure(r), close);
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

/* ---- watch -------------------------------------------------------------
   One watch, or with -i the watches stdin asks for, line by line ("watch
   KEY [RANGE_END] [--prefix] [--rev=N] [--prev-kv] [--progress-notify]"),
   each printed as its events come. */

enum { WATCH_LINE_MAX = 8192 };           /* a watch -i line */

typedef struct watch_req {
    const char *key, *range_end;         /* range_end NULL: the key (or prefix) alone */
    bool prefix, prev_kv, progress;
    int64_t rev;
} watch_req;

static etcd_watcher *watch_open(const watch_req *q, double timeout)
{
    etcd_watch_opts o;
    memset(&o, 0, sizeof o);
    o.start_revision = q->rev;
    o.prev_kv = q->prev_kv;
    o.progress_notify = q->progress;
    o.timeout = timeout;
    o.range_end = q->range_end;
    return q->prefix ? etcd_watchdir(cli, q->key, &o) : etcd_watch(cli, q->key, &o);
}

/* One message as etcdctl prints it; whether the watch is over (etcd
   canceled it, e.g. its --rev was compacted). */
static bool watch_print(const etcd_res *m)
{
    if (m->canceled)
        fprintf(stderr, "watch was canceled (%s)\n", m->compact_revision
                ? "etcdserver: mvcc: required revision has been compacted"
                : m->cancel_reason && *m->cancel_reason ? m->cancel_reason : "canceled");
    else if (!m->created && !m->nevents && m->revision)
        printf("progress notify: %" PRId64 "\n", m->revision);
    if (!m->created) display->watch(m);
    fflush(stdout);                             /* each response as it comes */
    return m->canceled;
}

static void watch_interactive(void);
static char *next_word(char **s);       /* txn's: a "quoted", 'quoted' or bare word */

/* etcdctl runs a command after "--" on each event; etcdctl_lite does not. */
static void refuse_watch_exec(int nargs)
{
    if (dashdash < 0) return;
    if (dashdash - 1 >= nargs)
        die(EXIT_BAD_ARGS, "bad number of arguments (found separator --, but no commands)");
    die(EXIT_BAD_FEAT, "etcdctl_lite runs no command on watch events (watch ... -- COMMAND)");
}

static int cmd_watch(const char **args, int nargs)
{
    if (flag_on(F_INTERACTIVE)) watch_interactive();  /* does not return: stdin's end ends it */
    refuse_watch_exec(nargs);
    if (nargs < 1) die(EXIT_BAD_ARGS, "bad number of arguments");
    watch_req q;
    memset(&q, 0, sizeof q);
    q.key = args[0];
    q.range_end = nargs == 2 ? args[1] : NULL;         /* etcdctl: a range with exactly two */
    q.prefix = flag_on(F_PREFIX);
    if (q.range_end && q.prefix) die(EXIT_BAD_ARGS, "`range_end` and `--prefix` are mutually exclusive");
    q.rev = flag_int(F_REV);
    q.prev_kv = flag_on(F_PREV_KV);
    q.progress = flag_on(F_PROGRESS_NOTIFY);
    etcd_watcher *w = watch_open(&q, -1);               /* wait for events forever */
    if (!w) die(EXIT_ERROR, "%s", etcd_errstr(cli));
    int64_t count = flag_int(F_COUNT), seen = 0;
    for (;;) {
        etcd_res *m = etcd_watch_next(w);
        if (!m && etcd_watch_errcode(w) == ETCD_ETIMEOUT) continue;
        if (!m) die(EXIT_ERROR, "%s", etcd_watch_errstr(w));
        bool canceled = watch_print(m);
        seen += (int64_t)m->nevents;
        etcd_res_free(m);
        if (canceled) die(EXIT_INTERRUPTED, "watch is canceled by the server");
        if (count > 0 && seen >= count) break;
    }
    etcd_watchcancel(w);
    return 0;
}

/* A flag on a watch -i line: etcdctl parses those with watch's own flags
   (a bad one ends it, exit 128). */
static void watch_line_flag(char *w, char **rest, watch_req *q)
{
    char *v = strchr(w, '=');
    if (v) *v++ = '\0';
    bool on = !v || strcmp(v, "false") != 0;
    if (!strcmp(w, "--prefix")) q->prefix = on;
    else if (!strcmp(w, "--prev-kv")) q->prev_kv = on;
    else if (!strcmp(w, "--progress-notify")) q->progress = on;
    else if (!strcmp(w, "-i") || !strcmp(w, "--interactive")) {}
    else if (strcmp(w, "--rev") != 0) die(EXIT_BAD_ARGS, "unknown flag: %s", w);
    else {
        const char *n = v ? v : next_word(rest);
        char *end;
        if (!n) die(EXIT_BAD_ARGS, "flag needs an argument: --rev");
        q->rev = strtoll(n, &end, 10);
        if (!*n || *end) die(EXIT_BAD_ARGS, "invalid argument \"%s\" for \"--rev\" flag", n);
    }
}

/* The watch a line asks for; NULL (said on stderr, as etcdctl does, and
   reading goes on) for a line that asks for none. */
static etcd_watcher *watch_line(char *line)
{
    char said[WATCH_LINE_MAX], *s = line, *w, *args[2];
    int nargs = 0, nwords = 0;
    const char *why = NULL;
    watch_req q;
    memset(&q, 0, sizeof q);
    snprintf(said, sizeof said, "%s", line);
    char *cmd = next_word(&s);
    if (!cmd) {
        fprintf(stderr, "Invalid command: %s (watch and progress supported)\n", said);
        return NULL;
    }
    if (!strcmp(cmd, "progress"))                /* the gateway's stream takes one request */
        why = "etcdctl_lite cannot ask for progress: etcd's JSON gateway takes one request per watch";
    else if (strcmp(cmd, "watch") != 0) why = "only support watch";
    for (; !why && (w = next_word(&s)) != NULL; nwords++) {
        if (!strcmp(w, "--")) why = "etcdctl_lite runs no command on watch events";
        else if (w[0] == '-' && w[1]) watch_line_flag(w, &s, &q);
        else if (nargs++ < 2) args[nargs - 1] = w;
    }
    if (!why && !nwords) why = "command type or key is not provided";
    if (!why && !nargs) die(EXIT_BAD_ARGS, "bad number of arguments");
    if (!why && nargs == 2 && q.prefix) why = "`range_end` and `--prefix` are mutually exclusive";
    if (why) {
        fprintf(stderr, "Invalid command %s (%s)\n", said, why);
        return NULL;
    }
    q.key = args[0];
    q.range_end = nargs == 2 ? args[1] : NULL;
    etcd_watcher *wt = watch_open(&q, 0.2);             /* short waits: the loop polls */
    if (!wt) fprintf(stderr, "Invalid command %s (%s)\n", said, etcd_errstr(cli));
    return wt;
}

/* Every message w has ready; false once its stream is over. */
static bool watch_drain(etcd_watcher *w)
{
    do {
        etcd_res *m = etcd_watch_next(w);
        if (!m && etcd_watch_errcode(w) == ETCD_ETIMEOUT) return true;
        if (!m) {
            fprintf(stderr, "watch ended (%s)\n", etcd_watch_errstr(w));
            return false;
        }
        bool over = watch_print(m);
        etcd_res_free(m);
        if (over) return false;
    } while (etcd_watch_pending(w));
    return true;
}

enum { MAX_WATCHES = 64 };
static etcd_watcher *watches[MAX_WATCHES];
static int nwatches;

/* What stdin brought: each whole line a request. Its end ends us, as
   etcdctl: exit 3. */
static void watch_read_stdin(char *buf, size_t size, size_t *len)
{
    ssize_t got = read(0, buf + *len, size - 1 - *len);
    if (got < 0 && errno == EINTR) return;
    if (got <= 0)
        die(EXIT_BAD_INPUT, "%s reading watch request line: EOF", speaks_35() ? "error" : "Error");
    *len += (size_t)got;
    buf[*len] = '\0';
    for (char *nl; (nl = strchr(buf, '\n')) != NULL || *len == size - 1;) {
        size_t line = nl ? (size_t)(nl - buf) : *len;
        buf[line] = '\0';
        etcd_watcher *w = watch_line(buf);
        if (w && nwatches < MAX_WATCHES) watches[nwatches++] = w;
        else if (w) etcd_watchcancel(w);
        *len -= line + (nl != NULL);
        memmove(buf, buf + line + (nl != NULL), *len + 1);
    }
}

/* watch -i: stdin and every watch at once, with poll. */
static void watch_interactive(void)
{
    static char buf[WATCH_LINE_MAX];
    size_t len = 0;
    for (;;) {
        struct pollfd pf[MAX_WATCHES + 1];
        bool pending = false;
        pf[0].fd = 0;
        pf[0].events = POLLIN;
        for (int i = 0; i < nwatches; i++) {
            pf[i + 1].fd = etcd_watch_fd(watches[i]);
            pf[i + 1].events = POLLIN;
            pending |= etcd_watch_pending(watches[i]);
        }
        if (poll(pf, (nfds_t)nwatches + 1, pending ? 0 : 200) < 0 && errno != EINTR)
            die(EXIT_ERROR, "poll: %s", strerror(errno));
        for (int i = nwatches - 1; i >= 0; i--) {
            if (!(pf[i + 1].revents || etcd_watch_pending(watches[i])) || watch_drain(watches[i])) continue;
            etcd_watchcancel(watches[i]);
            watches[i] = watches[--nwatches];
        }
        if (pf[0].revents) watch_read_stdin(buf, sizeof buf, &len);
    }
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

/* ---- version ----------------------------------------------------------- */

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

/* ---- members ------------------------------------------------------------ */

static int cmd_member_list(const char **args, int nargs)
{
    (void)args;
    (void)nargs;
    etcd_res *r = check(etcd_member_list(cli, speaks_35()), "");    /* 3.5's etcdctl: linearizable */
    display->members(r);
    etcd_res_free(r);
    return 0;
}

/* A hexadecimal ID as etcdctl reads it (Go's strconv.ParseUint, base 16):
   false with Go's error text in why. */
static bool parse_hex(const char *s, uint64_t *v, char *why, size_t size)
{
    bool digits = *s && strspn(s, "0123456789abcdefABCDEF") == strlen(s);
    errno = 0;
    *v = digits ? strtoull(s, NULL, 16) : 0;
    if (digits && !errno) return true;
    snprintf(why, size, "strconv.ParseUint: parsing \"%s\": %s", s,
             digits ? "value out of range" : "invalid syntax");
    return false;
}

static uint64_t member_id_arg(const char **args, int nargs)
{
    char why[256];
    uint64_t id;
    if (nargs != 1) die(EXIT_BAD_ARGS, "member ID is not provided");
    if (!parse_hex(args[0], &id, why, sizeof why))
        die(EXIT_BAD_ARGS, "bad member ID arg (%s), expecting ID in Hex", why);
    return id;
}

/* --peer-urls=a,b split at the commas, as etcdctl does (up to 16). */
static size_t peer_urls(const char ***urls)
{
    static char copy[4096];
    static const char *list[16];
    const char *v = flag_val[F_PEER_URLS];
    size_t n = 0;
    if (!v || !*v) die(EXIT_BAD_ARGS, "member peer urls not provided");
    snprintf(copy, sizeof copy, "%s", v);
    for (char *p = copy, *comma; n < 16; p = comma + 1) {
        list[n++] = p;
        if (!(comma = strchr(p, ','))) break;
        *comma = '\0';
    }
    *urls = list;
    return n;
}

/* NAME alone; a URL given as a word gets etcdctl's "did you mean". */
static void member_add_args(const char **args, int nargs)
{
    char msg[1024] = "too many arguments";
    if (nargs < 1) die(EXIT_BAD_ARGS, "member name not provided");
    if (nargs == 1) return;
    for (int i = 0; i < nargs; i++)
        if (!strncasecmp(args[i], "http", 4))
            snprintf(msg + strlen(msg), sizeof msg - strlen(msg), ", did you mean --peer-urls=%s", args[i]);
    die(EXIT_BAD_ARGS, "%s", msg);
}

static int cmd_member_add(const char **args, int nargs)
{
    const char **urls;
    member_add_args(args, nargs);
    size_t n = peer_urls(&urls);
    etcd_res *r = check(etcd_member_add(cli, urls, n, flag_on(F_LEARNER)), "");
    if (!r->member) die(EXIT_ERROR, "etcd's answer names no member added: %s", r->body);
    display->member_added(r, args[0], flag_val[F_PEER_URLS]);
    etcd_res_free(r);
    return 0;
}

/* remove, update, promote: "Member <id> <done> cluster <cluster id>" */
static void member_changed(etcd_res *r, uint64_t id, const char *done)
{
    char msg[128];
    snprintf(msg, sizeof msg, "Member %16" PRIx64 " %s cluster %16" PRIx64, id, done, r->cluster_id);
    display->member_changed(msg, r);
    etcd_res_free(r);
}

static int cmd_member_remove(const char **args, int nargs)
{
    uint64_t id = member_id_arg(args, nargs);
    member_changed(check(etcd_member_remove(cli, id), ""), id, "removed from");
    return 0;
}

/* etcd.h refuses a learner here (etcd would make it a voter); etcdctl
   would go ahead. */
static int cmd_member_update(const char **args, int nargs)
{
    const char **urls;
    uint64_t id = member_id_arg(args, nargs);
    size_t n = peer_urls(&urls);
    member_changed(check(etcd_member_update(cli, id, urls, n), ""), id, "updated in");
    return 0;
}

static int cmd_member_promote(const char **args, int nargs)
{
    uint64_t id = member_id_arg(args, nargs);
    member_changed(check(etcd_member_promote(cli, id), ""), id, "promoted in");
    return 0;
}

/* ---- endpoints ----------------------------------------------------------
   The endpoint commands and defrag ask each endpoint in turn: those of
   --endpoints as written, or with --cluster every member's client URLs,
   which etcdctl takes from member list. One client, each call sent to the
   endpoint it is about; health alone makes a client per endpoint, as
   etcdctl does, since its read goes wherever the client sends it. */

static const char *endpoints_flag(void)
{
    return flag_val[G_ENDPOINTS] ? flag_val[G_ENDPOINTS] : "127.0.0.1:2379";
}

/* "a b" for etcdctl's messages that print the endpoints as a Go slice */
static const char *spaced(const char *list, char *buf, size_t size)
{
    snprintf(buf, size, "%s", list);
    for (char *p = buf; (p = strchr(p, ',')) != NULL;) *p = ' ';
    return buf;
}

static char *cluster_endpoints(void)
{
    body b = { NULL, 0, 0 };
    etcd_res *r = etcd_member_list(cli, speaks_35());
    if (!r || r->status != 200)
        die(EXIT_ERROR, "failed to fetch endpoints from etcd cluster member list: %s", failure(r));
    for (size_t k = 0; k < r->nmembers; k++)
        for (size_t u = 0; u < r->members[k].nclient_urls; u++) {
            if (b.len) body_add(&b, ",", 1);
            body_add(&b, r->members[k].client_urls[u].ptr, r->members[k].client_urls[u].len);
        }
    body_add(&b, "", 0);                         /* "" for none */
    etcd_res_free(r);
    return b.p;
}

static int nshown;                               /* endpoints printed so far */

/* fn on each endpoint, by the name it is printed under; how many failed */
static int each_endpoint(int (*fn)(const char *name))
{
    char *list = flag_on(F_CLUSTER) ? cluster_endpoints() : strdup(endpoints_flag());
    int failed = 0;
    if (!list) die(EXIT_ERROR, "out of memory");
    for (char *p = list; *p;) {
        char name[256];
        size_t len = strcspn(p, ",");
        snprintf(name, sizeof name, "%.*s", (int)len, p);
        p += len + (p[len] == ',');
        failed += fn(name);
    }
    free(list);
    return failed;
}

static etcd_res *status_at(const char *name)
{
    char *url = endpoint_urls(name);
    etcd_res *r = etcd_status(cli, url);
    free(url);
    return r;
}

static int status_one(const char *name)
{
    etcd_res *r = status_at(name);
    if (!r || r->status != 200) {
        fprintf(stderr, "Failed to get the status of endpoint %s (%s)\n", name, failure(r));
        etcd_res_free(r);
        return 1;
    }
    ep_result s = { name, r };
    display->status(&s, nshown++);
    etcd_res_free(r);
    return 0;
}

static int cmd_endpoint_status(const char **args, int nargs)
{
    (void)args;
    (void)nargs;
    int failed = each_endpoint(status_one);
    display->status_end(nshown);
    return failed ? EXIT_ERROR : 0;
}

static char hash_error[512];                     /* the last failure: etcdctl's "Error:" */

/* etcd 3.4's gateway has no hashkv: etcd.h's error says so. */
static int hashkv_one(const char *name)
{
    char *url = endpoint_urls(name);
    etcd_res *r = etcd_hash_kv(cli, url, flag_int(F_REV));
    free(url);
    if (!r || r->status != 200) {
        snprintf(hash_error, sizeof hash_error, "%s", failure(r));
        fprintf(stderr, "Failed to get the hash of endpoint %s (%s)\n", name, hash_error);
        etcd_res_free(r);
        return 1;
    }
    ep_result h = { name, r };
    display->hashkv(&h, nshown++);
    etcd_res_free(r);
    return 0;
}

static int cmd_endpoint_hashkv(const char **args, int nargs)
{
    (void)args;
    (void)nargs;
    int failed = each_endpoint(hashkv_one);
    display->hashkv_end(nshown);
    if (failed) die(EXIT_ERROR, "%s", hash_error);
    return 0;
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

/* 3.5's etcdctl counts an active alarm against a member that answers:
   what it says then, or NULL. */
static const char *health_alarms(char *buf, size_t size)
{
    etcd_res *r = etcd_alarm_list(cli);
    const char *why = buf;
    size_t n = (size_t)snprintf(buf, size, "Active Alarm(s): ");
    if (!r || r->status != 200) why = "Unable to fetch the alarm list";
    else if (!r->nalarms) why = NULL;
    for (size_t k = 0; why == buf && k < r->nalarms && n < size; k++)
        n += (size_t)snprintf(buf + n, size - n, "%s ", r->alarms[k].alarm == ETCD_ALARM_NONE
                              ? "UNKNOWN" : alarm_name(r->alarms[k].alarm));
    etcd_res_free(r);
    return why;
}

/* A client of its own to name, then etcdctl's check: read "health" (a
   permission denied came through consensus all the same). */
static int health_one(const char *name)
{
    static char why[512];
    const char *all = flag_val[G_ENDPOINTS];
    struct timespec t0, t1;
    char took[64];
    flag_val[G_ENDPOINTS] = name;
    etcd_free(cli);
    connect_client();
    flag_val[G_ENDPOINTS] = all;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    etcd_res *r = etcd_get(cli, "health", NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ep_health h;
    h.endpoint = name;
    h.took = fmt_duration((double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
                          took, sizeof took);
    h.ok = r && (r->status == 200 || strstr(failure(r), "permission denied"));
    snprintf(why, sizeof why, "%s", failure(r));
    h.error = h.ok ? NULL : why;
    etcd_res_free(r);
    if (h.ok && speaks_35() && (h.error = health_alarms(why, sizeof why)) != NULL) h.ok = false;
    display->health(&h, nshown++);
    return h.ok ? 0 : 1;
}

static int cmd_endpoint_health(const char **args, int nargs)
{
    (void)args;
    (void)nargs;
    speaks_35();                        /* asked once, of any endpoint, before each gets a client */
    int failed = each_endpoint(health_one);
    display->health_end(nshown);
    if (failed) die(EXIT_ERROR, "unhealthy cluster");
    return 0;
}

/* ---- maintenance -------------------------------------------------------- */

static int defrag_one(const char *name)
{
    char *url = endpoint_urls(name);
    etcd_res *r = etcd_defragment(cli, url);
    bool ok = r && r->status == 200;
    free(url);
    if (ok) printf("Finished defragmenting etcd member[%s]\n", name);
    else fprintf(stderr, "Failed to defragment etcd member[%s] (%s)\n", name, failure(r));
    etcd_res_free(r);
    return !ok;
}

/* --data-dir works on a stopped member's files: etcdutl's business. */
static int cmd_defrag(const char **args, int nargs)
{
    (void)args;
    (void)nargs;
    if (flag_val[F_DATA_DIR])
        die(EXIT_ERROR, "defrag --data-dir works on a stopped member's files, not on etcd: use "
            "etcdutl defrag --data-dir %s", flag_val[F_DATA_DIR]);
    return each_endpoint(defrag_one) ? EXIT_ERROR : 0;
}

static int cmd_compaction(const char **args, int nargs)
{
    char *end;
    if (nargs != 1) die(EXIT_BAD_ARGS, "compaction command needs 1 argument");
    errno = 0;
    long long rev = strtoll(args[0], &end, 10);
    if (!*args[0] || *end || errno)                    /* Go's strconv.ParseInt's words */
        die(EXIT_ERROR, "strconv.ParseInt: parsing \"%s\": %s", args[0],
            errno == ERANGE ? "value out of range" : "invalid syntax");
    etcd_res_free(check(etcd_compact(cli, rev, flag_on(F_PHYSICAL)), ""));
    printf("compacted revision %lld\n", rev);
    return 0;
}

static uint64_t leader_found;

static int leader_one(const char *name)
{
    if (leader_found) return 0;
    etcd_res *r = check(status_at(name), "");
    if (r->member_id == r->leader_id) leader_found = r->leader_id;
    etcd_res_free(r);
    return 0;
}

/* etcdctl asks --endpoints in turn which one leads, and says where it
   moved the leadership from. */
static int cmd_move_leader(const char **args, int nargs)
{
    char why[256], eps[1024];
    uint64_t target;
    if (nargs != 1) die(EXIT_BAD_ARGS, "move-leader command needs 1 argument");
    if (!parse_hex(args[0], &target, why, sizeof why)) die(EXIT_BAD_ARGS, "%s", why);
    each_endpoint(leader_one);
    if (!leader_found)
        die(EXIT_BAD_ARGS, "no leader endpoint given at [%s]", spaced(endpoints_flag(), eps, sizeof eps));
    etcd_res *r = check(etcd_move_leader(cli, target), "");
    display->move_leader(leader_found, target, r);
    etcd_res_free(r);
    return 0;
}

/* One member's database, the whole file or nothing (etcd.h writes
   FILE.part and renames it); etcdctl fails with exit 5. */
static int cmd_snapshot_save(const char **args, int nargs)
{
    char eps[1024];
    if (nargs != 1) die(EXIT_BAD_ARGS, "snapshot save expects one argument");
    if (strchr(endpoints_flag(), ','))
        die(EXIT_INTERRUPTED, "snapshot must be requested to one selected node, not multiple [%s]",
            spaced(endpoints_flag(), eps, sizeof eps));
    etcd_res *r = etcd_snapshot_save(cli, NULL, args[0]);
    if (!r || r->status != 200) die(EXIT_INTERRUPTED, "%s", failure(r));
    etcd_res_free(r);
    printf("Snapshot saved at %s\n", args[0]);
    return 0;
}

/* ---- make-mirror --------------------------------------------------------
   The prefix's keys copied to another cluster, then its changes as they
   come (etcd_mirror: a snapshot, then the watch, a new snapshot when the
   resume point is compacted), until interrupted; every 30 s the number of
   keys copied so far, as etcdctl prints it. */

/* make-mirror's --prefix is a string (get's is a flag): "--prefix=P", or
   "--prefix P" read back from the words. */
static const char *mirror_prefix(const char ***args, int *nargs)
{
    const char *v = flag_val[F_PREFIX];
    if (!v) return "";
    if (strcmp(v, "true") || *nargs < 2) return v;
    (*nargs)--;
    return *(*args)++;
}

static etcd *dest_client(const char *dest)
{
    etcd_opts o;
    char err[256];
    bool tls = flag_val[F_DEST_CACERT] || flag_val[F_DEST_CERT];
    char *url = (char *)malloc(strlen(dest) + 16);
    if (!url) die(EXIT_ERROR, "out of memory");
    sprintf(url, "%s%s", strstr(dest, "://") ? "" : tls ? "https://" : "http://", dest);
    memset(&o, 0, sizeof o);
    o.http_host = url;
    o.serializer = ETCD_SERIALIZER_RAW;
    o.timeout = flag_seconds(G_COMMAND_TIMEOUT, 5) + flag_seconds(G_DIAL_TIMEOUT, 2);
    o.ssl_ca_path = flag_val[F_DEST_CACERT];
    o.ssl_cert_path = flag_val[F_DEST_CERT];
    o.ssl_key_path = flag_val[F_DEST_KEY];
    etcd *c = etcd_new(&o, err, sizeof err);
    free(url);
    if (!c) die(EXIT_ERROR, "%s", err);
    return c;
}

/* One event at the destination: prefix swapped for dest_prefix. */
static void mirror_event(etcd *dc, const etcd_event *ev, const char *prefix, const char *dest_prefix)
{
    size_t np = strlen(prefix), nd = strlen(dest_prefix), n = ev->kv.key_len - np + nd;
    char *key = (char *)malloc(n + 1);
    etcd_res *r;
    if (!key) die(EXIT_ERROR, "out of memory");
    memcpy(key, dest_prefix, nd);
    memcpy(key + nd, ev->kv.key + np, ev->kv.key_len - np);
    key[n] = '\0';
    if (ev->type == ETCD_EVENT_PUT) {
        etcd_set_opts o;
        memset(&o, 0, sizeof o);
        o.key_len = n;
        o.val_len = ev->kv.value_len;
        r = etcd_set(dc, key, ev->kv.value_len ? ev->kv.value : "", &o);
    } else {
        etcd_delete_opts o;
        memset(&o, 0, sizeof o);
        o.key_len = n;
        r = etcd_delete(dc, key, &o);
    }
    free(key);
    if (!r || r->status != 200) die(EXIT_ERROR, "%s", r ? failure(r) : etcd_errstr(dc));
    etcd_res_free(r);
}

static int cmd_make_mirror(const char **args, int nargs)
{
    const char *prefix = mirror_prefix(&args, &nargs), *dest_prefix = flag_val[F_DEST_PREFIX];
    if (nargs != 1) die(EXIT_BAD_ARGS, "make-mirror takes one destination argument");
    if (flag_on(F_NO_DEST_PREFIX) && dest_prefix && *dest_prefix)
        die(EXIT_BAD_ARGS, "`--dest-prefix` and `--no-dest-prefix` cannot be set at the same time, choose one");
    if (!dest_prefix || !*dest_prefix) dest_prefix = flag_on(F_NO_DEST_PREFIX) ? "" : prefix;
    etcd *dc = dest_client(args[0]);
    etcd_watch_opts wo;
    memset(&wo, 0, sizeof wo);
    wo.timeout = 1;                               /* to say the count on time */
    etcd_watcher *m = etcd_mirror(cli, prefix, &wo);
    if (!m) die(EXIT_ERROR, "%s", etcd_errstr(cli));
    long long total = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        etcd_res *msg = etcd_watch_next(m);
        if (!msg && etcd_watch_errcode(m) != ETCD_ETIMEOUT) die(EXIT_ERROR, "%s", etcd_watch_errstr(m));
        for (size_t i = 0; msg && i < msg->nevents; i++, total++)
            mirror_event(dc, &msg->events[i], prefix, dest_prefix);
        etcd_res_free(msg);
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec >= 30) {
            printf("%lld\n", total);
            fflush(stdout);
            t0.tv_sec += 30;
        }
    }
    return 0;                                     /* not reached: it runs until stopped */
}

/* snapshot restore and status work on a file, not on etcd: etcdutl's. */
static int cmd_etcdutl(const char **args, int nargs)
{
    (void)args;
    (void)nargs;
    die(EXIT_ERROR, "snapshot %s works on a snapshot file, not on etcd: use etcdutl snapshot %s",
        pos[1], pos[1]);
    return EXIT_ERROR;
}

static void no_args(int nargs, const char *msg)
{
    if (nargs) die(EXIT_BAD_ARGS, "%s", msg);
}

static int cmd_alarm_list(const char **args, int nargs)
{
    (void)args;
    no_args(nargs, "alarm list command accepts no arguments");
    etcd_res *r = check(etcd_alarm_list(cli), "");
    alarm_view v = { r, r->alarms, r->nalarms };
    display->alarms(&v);
    etcd_res_free(r);
    return 0;
}

/* Each alarm listed disarmed on its own, as clientv3 does, and all of them
   printed: etcd_alarm_disarm(cli, 0, 0) hands back the last answer only. */
static int cmd_alarm_disarm(const char **args, int nargs)
{
    (void)args;
    no_args(nargs, "alarm disarm command accepts no arguments");
    etcd_res *l = check(etcd_alarm_list(cli), "");
    etcd_alarm *off = NULL;
    size_t n = 0;
    for (size_t k = 0; k < l->nalarms; k++) {
        etcd_res *d = check(etcd_alarm_disarm(cli, l->alarms[k].member_id, l->alarms[k].alarm), "");
        off = (etcd_alarm *)realloc(off, (n + d->nalarms + 1) * sizeof *off);
        if (!off) die(EXIT_ERROR, "out of memory");
        for (size_t j = 0; j < d->nalarms; j++) off[n++] = d->alarms[j];
        etcd_res_free(d);
    }
    alarm_view v = { NULL, off, n };                   /* clientv3's own answer: no header */
    display->alarms(&v);
    free(off);
    etcd_res_free(l);
    return 0;
}

/* ---- auth, users, roles ------------------------------------------------- */

/* etcdctl makes the root role itself (once here) when root lacks it. */
static int cmd_auth_enable(const char **args, int nargs)
{
    (void)args;
    no_args(nargs, "auth enable command does not accept any arguments");
    for (int tries = 0;; tries++) {
        etcd_res *r = etcd_auth_enable(cli);
        bool no_root_role = r && r->status != 200 && !tries &&
                            strstr(failure(r), "root user does not have root role");
        if (!no_root_role) {
            etcd_res_free(check(r, ""));
            break;
        }
        etcd_res_free(r);
        etcd_res_free(check(etcd_role_add(cli, "root"), ""));
        etcd_res_free(check(etcd_user_grant_role(cli, "root", "root"), ""));
    }
    puts("Authentication Enabled");
    return 0;
}

static int cmd_auth_disable(const char **args, int nargs)
{
    (void)args;
    no_args(nargs, "auth disable command does not accept any arguments");
    etcd_res_free(check(etcd_auth_disable(cli), ""));
    puts("Authentication Disabled");
    return 0;
}

/* etcd 3.4's gateway has no auth status: etcd.h's error says so. */
static int cmd_auth_status(const char **args, int nargs)
{
    (void)args;
    no_args(nargs, "auth status command does not accept any arguments");
    etcd_res *r = check(etcd_auth_status(cli), "");
    display->auth_status(r);
    etcd_res_free(r);
    return 0;
}

/* A user or role changed: the message (simple) or etcd's header. */
static void auth_done(etcd_res *r, const char *fmt, const char *a, const char *b)
{
    char msg[1024];
    snprintf(msg, sizeof msg, fmt, a, b);
    display->done(msg, r);
    etcd_res_free(r);
}

static void read_input_line(char *buf, size_t size)
{
    if (!fgets(buf, (int)size, stdin)) buf[0] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
}

/* As etcdctl's speakeasy asks: the prompt on stdout, the typing not
   echoed on a terminal, a newline after it. */
static void ask_password(const char *prompt, char *buf, size_t size)
{
    struct termios t, quiet;
    memset(&t, 0, sizeof t);
    bool tty = isatty(0) && tcgetattr(0, &t) == 0;
    fputs(prompt, stdout);
    fflush(stdout);
    quiet = t;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    if (tty) tcsetattr(0, TCSAFLUSH, &quiet);
    read_input_line(buf, size);
    if (tty) tcsetattr(0, TCSAFLUSH, &t);
    putchar('\n');
    fflush(stdout);
}

/* A password from stdin: asked twice, or with --interactive=false the
   first word of a line (etcdctl's fmt.Scanf("%s")). */
static const char *read_password(const char *name)
{
    static char pw[2][1024];
    char prompt[512];
    if (flag_val[F_INTERACTIVE] && !flag_on(F_INTERACTIVE)) {
        read_input_line(pw[0], sizeof pw[0]);
        char *w = pw[0] + strspn(pw[0], " \t");
        w[strcspn(w, " \t")] = '\0';
        return w;
    }
    snprintf(prompt, sizeof prompt, "Password of %s: ", name);
    ask_password(prompt, pw[0], sizeof pw[0]);
    if (!*pw[0]) die(EXIT_BAD_ARGS, "empty password");
    snprintf(prompt, sizeof prompt, "Type password of %s again for confirmation: ", name);
    ask_password(prompt, pw[1], sizeof pw[1]);
    if (strcmp(pw[0], pw[1]) != 0) die(EXIT_BAD_ARGS, "given passwords are different");
    return pw[0];
}

/* NAME[:PASSWORD]; --new-user-password wins over the colon, --no-password
   over both (a user for certificate auth only). */
static int cmd_user_add(const char **args, int nargs)
{
    if (nargs != 1) die(EXIT_BAD_ARGS, "user add command requires user name as its argument");
    char *user = strdup(args[0]), *colon = user ? strchr(user, ':') : NULL;
    const char *password = NULL, *given = flag_val[F_NEW_USER_PASSWORD];
    if (!user) die(EXIT_ERROR, "out of memory");
    if (flag_on(F_NO_PASSWORD)) password = NULL;
    else if (given && *given) password = given;
    else if (colon) {
        *colon = '\0';
        password = colon + 1;
        if (!*user) die(EXIT_BAD_ARGS, "empty user name is not allowed");
    } else password = read_password(user);
    auth_done(check(etcd_user_add(cli, user, password), ""), "User %s created", user, NULL);
    free(user);
    return 0;
}

/* --detail: the roles' permissions instead of their names */
static int cmd_user_get(const char **args, int nargs)
{
    if (nargs != 1) die(EXIT_BAD_ARGS, "user get command requires user name as its argument");
    if (!flag_on(F_DETAIL) && !display->user_get) refuse_format();
    etcd_res *r = check(etcd_user_get(cli, args[0]), "");
    if (!flag_on(F_DETAIL)) display->user_get(args[0], r);
    else printf("User: %s\n", args[0]);
    for (size_t k = 0; flag_on(F_DETAIL) && k < r->nnames; k++) {
        char role[256];
        snprintf(role, sizeof role, "%.*s", (int)r->names[k].len, r->names[k].ptr);
        etcd_res *rr = check(etcd_role_get(cli, role), "");
        putchar('\n');
        display->role_get(role, rr);
        etcd_res_free(rr);
    }
    etcd_res_free(r);
    return 0;
}

static int cmd_user_list(const char **args, int nargs)
{
    (void)args;
    no_args(nargs, "user list command requires no arguments");
    etcd_res *r = check(etcd_user_list(cli), "");
    display->names("users", r);
    etcd_res_free(r);
    return 0;
}

static int cmd_user_delete(const char **args, int nargs)
{
    if (nargs != 1) die(EXIT_BAD_ARGS, "user delete command requires user name as its argument");
    auth_done(check(etcd_user_delete(cli, args[0]), ""), "User %s deleted", args[0], NULL);
    return 0;
}

static int cmd_user_passwd(const char **args, int nargs)
{
    if (nargs != 1) die(EXIT_BAD_ARGS, "user passwd command requires user name as its argument");
    const char *password = read_password(args[0]);
    auth_done(check(etcd_user_passwd(cli, args[0], password), ""), "Password updated", NULL, NULL);
    return 0;
}

static int cmd_user_grant_role(const char **args, int nargs)
{
    if (nargs != 2) die(EXIT_BAD_ARGS, "user grant command requires user name and role name as its argument");
    auth_done(check(etcd_user_grant_role(cli, args[0], args[1]), ""), "Role %s is granted to user %s",
              args[1], args[0]);
    return 0;
}

static int cmd_user_revoke_role(const char **args, int nargs)
{
    if (nargs != 2) die(EXIT_BAD_ARGS, "user revoke-role requires user name and role name as its argument");
    auth_done(check(etcd_user_revoke_role(cli, args[0], args[1]), ""), "Role %s is revoked from user %s",
              args[1], args[0]);
    return 0;
}

static int cmd_role_add(const char **args, int nargs)
{
    if (nargs != 1) die(EXIT_BAD_ARGS, "role add command requires role name as its argument");
    auth_done(check(etcd_role_add(cli, args[0]), ""), "Role %s created", args[0], NULL);
    return 0;
}

static int cmd_role_delete(const char **args, int nargs)
{
    if (nargs != 1) die(EXIT_BAD_ARGS, "role delete command requires role name as its argument");
    auth_done(check(etcd_role_delete(cli, args[0]), ""), "Role %s deleted", args[0], NULL);
    return 0;
}

static int cmd_role_get(const char **args, int nargs)
{
    if (nargs != 1) die(EXIT_BAD_ARGS, "role get command requires role name as its argument");
    etcd_res *r = check(etcd_role_get(cli, args[0]), "");
    display->role_get(args[0], r);
    etcd_res_free(r);
    return 0;
}

static int cmd_role_list(const char **args, int nargs)
{
    (void)args;
    no_args(nargs, "role list command requires no arguments");
    etcd_res *r = check(etcd_role_list(cli), "");
    display->names("roles", r);
    etcd_res_free(r);
    return 0;
}

/* KEY [RANGE_END] with --prefix / --from-key as etcdctl's permRange: an
   empty KEY is etcd's first key "\0", and with either flag the whole
   keyspace; "\0" as the end: every key from KEY on; end->ptr NULL: the
   key alone. The prefix's end is prefix_end's, as for get. */
static void perm_range(const char **args, int nargs, etcd_str *key, etcd_str *end)
{
    static char *prefix;
    bool pfx = flag_on(F_PREFIX), from = flag_on(F_FROM_KEY), empty = !*args[0];
    key->ptr = args[0];
    key->len = empty ? 1 : strlen(args[0]);      /* "": "\0", the literal's own NUL */
    end->ptr = NULL;
    end->len = 0;
    if ((empty || nargs == 1) && pfx && from)
        die(EXIT_BAD_ARGS, "--from-key and --prefix flags are mutually exclusive");
    if (!empty && nargs > 1 && (pfx || from))
        die(EXIT_BAD_ARGS, "unexpected endkey argument with --%s flag", pfx ? "prefix" : "from-key");
    if (!empty && nargs > 1) {
        end->ptr = *args[1] ? args[1] : NULL;    /* "" as the end: the key alone */
        end->len = strlen(args[1]);
    } else if (from || (pfx && empty)) {
        end->ptr = "";                           /* "\0": every key from KEY on */
        end->len = 1;
    } else if (pfx) {
        free(prefix);
        if (!(prefix = (char *)malloc(key->len + 2))) die(EXIT_ERROR, "out of memory");
        end->len = prefix_end(key->ptr, key->len, prefix);
        end->ptr = prefix;
    }
}

static int parse_perm(const char *s)
{
    static const char *const names[] = { "READ", "WRITE", "READWRITE" };  /* ETCD_PERM_* order */
    for (int i = 0; i < 3; i++)
        if (!strcasecmp(s, names[i])) return i;
    die(EXIT_BAD_ARGS, "invalid permission type: %s", s);
    return 0;
}

static int cmd_role_grant(const char **args, int nargs)
{
    etcd_str key, end;
    if (nargs < 3)
        die(EXIT_BAD_ARGS, "role grant command requires role name, permission type, and key [endkey] "
            "as its argument");
    int perm = parse_perm(args[1]);
    perm_range(args + 2, nargs - 2, &key, &end);
    auth_done(check(etcd_role_grant(cli, args[0], perm, key.ptr, key.len, end.ptr, end.len), ""),
              "Role %s updated", args[0], NULL);
    return 0;
}

/* The message names the key as given and the range end as sent. */
static int cmd_role_revoke(const char **args, int nargs)
{
    etcd_str key, end;
    char msg[2048];
    if (nargs < 2)
        die(EXIT_BAD_ARGS, "role revoke-permission command requires role name and key [endkey] as its "
            "argument");
    perm_range(args + 1, nargs - 1, &key, &end);
    etcd_res *r = check(etcd_role_revoke(cli, args[0], key.ptr, key.len, end.ptr, end.len), "");
    if (!end.ptr) snprintf(msg, sizeof msg, "Permission of key %s is revoked from role %s", args[1], args[0]);
    else if (open_ended(end))
        snprintf(msg, sizeof msg, "Permission of range [%s, <open ended> is revoked from role %s", args[1], args[0]);
    else
        snprintf(msg, sizeof msg, "Permission of range [%s, %.*s) is revoked from role %s", args[1],
                 (int)end.len, end.ptr, args[0]);
    display->done(msg, r);
    etcd_res_free(r);
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
    unsigned formats;                    /* FMT_*: the -w formats etcdctl has for it */
} command;

#define FMT_SJ (FMT_SIMPLE | FMT_JSON)
#define EP_FLAGS BIT(F_CLUSTER)

static const command commands[] = {
    { "get", NULL, cmd_get, RANGE_FLAGS | BIT(F_KEYS_ONLY) | BIT(F_PRINT_VALUE_ONLY) |
      BIT(F_COUNT_ONLY) | BIT(F_LIMIT) | BIT(F_REV) | BIT(F_ORDER) | BIT(F_SORT_BY) |
      BIT(F_CONSISTENCY), "get [options] <key> [range_end]", FMT_NO_TABLE },
    { "put", NULL, cmd_put, BIT(F_LEASE) | BIT(F_PREV_KV) | BIT(F_IGNORE_VALUE) | BIT(F_IGNORE_LEASE),
      "put [options] <key> <value> (<value> can also be given from stdin)", FMT_NO_TABLE },
    { "del", NULL, cmd_del, RANGE_FLAGS | BIT(F_PREV_KV), "del [options] <key> [range_end]", FMT_NO_TABLE },
    { "watch", NULL, cmd_watch, BIT(F_PREFIX) | BIT(F_REV) | BIT(F_PREV_KV) | BIT(F_PROGRESS_NOTIFY) |
      BIT(F_PRINT_VALUE_ONLY) | BIT(F_COUNT) | BIT(F_INTERACTIVE),
      "watch [options] [-i] <key> [range_end] [--count=N]   (-i: \"watch ...\" lines from stdin)",
      FMT_NO_TABLE },
    { "lease", "grant", cmd_grant, 0, "lease grant <ttl>", FMT_NO_TABLE },
    { "lease", "revoke", cmd_revoke, 0, "lease revoke <leaseID>", FMT_NO_TABLE },
    { "lease", "timetolive", cmd_timetolive, BIT(F_KEYS), "lease timetolive <leaseID> [--keys]", FMT_NO_TABLE },
    { "lease", "list", cmd_leases, 0, "lease list", FMT_NO_TABLE },
    { "lease", "keep-alive", cmd_keepalive, BIT(F_ONCE), "lease keep-alive [--once] <leaseID>", FMT_NO_TABLE },
    { "version", NULL, cmd_version, 0, "version", FMT_NO_TABLE },
    { "member", "list", cmd_member_list, 0, "member list", FMT_ALL },
    { "member", "add", cmd_member_add, BIT(F_PEER_URLS) | BIT(F_LEARNER),
      "member add <memberName> --peer-urls=URL[,URL...] [--learner]", FMT_SJ },
    { "member", "remove", cmd_member_remove, 0, "member remove <memberID>", FMT_SJ },
    { "member", "update", cmd_member_update, BIT(F_PEER_URLS),
      "member update <memberID> --peer-urls=URL[,URL...]", FMT_SJ },
    { "member", "promote", cmd_member_promote, 0, "member promote <memberID>", FMT_SIMPLE },
    { "endpoint", "health", cmd_endpoint_health, EP_FLAGS, "endpoint health [--cluster]", FMT_ALL },
    { "endpoint", "status", cmd_endpoint_status, EP_FLAGS, "endpoint status [--cluster]", FMT_ALL },
    { "endpoint", "hashkv", cmd_endpoint_hashkv, EP_FLAGS | BIT(F_REV),
      "endpoint hashkv [--rev=N] [--cluster]", FMT_ALL },
    { "defrag", NULL, cmd_defrag, EP_FLAGS | BIT(F_DATA_DIR),
      "defrag [--cluster]   (defrag --data-dir is etcdutl's: refused)", FMT_ALL },
    { "compaction", NULL, cmd_compaction, BIT(F_PHYSICAL), "compaction [--physical] <revision>", FMT_ALL },
    { "move-leader", NULL, cmd_move_leader, 0, "move-leader <transferee-member-id>", FMT_SJ },
    { "snapshot", "save", cmd_snapshot_save, 0,
      "snapshot save <filename>   (snapshot restore and status are etcdutl's: refused)", FMT_ALL },
    { "snapshot", "restore", cmd_etcdutl, 0, NULL, FMT_ALL },
    { "make-mirror", NULL, cmd_make_mirror, BIT(F_PREFIX) | BIT(F_DEST_PREFIX) | BIT(F_NO_DEST_PREFIX) |
      BIT(F_DEST_CACERT) | BIT(F_DEST_CERT) | BIT(F_DEST_KEY) | BIT(F_DEST_INSECURE) | BIT(F_MAX_TXN_OPS),
      "make-mirror [--prefix=P] [--dest-prefix=D | --no-dest-prefix] <destination>", FMT_ALL },
    { "snapshot", "status", cmd_etcdutl, 0, NULL, FMT_ALL },
    { "alarm", "list", cmd_alarm_list, 0, "alarm list", FMT_NO_TABLE },
    { "alarm", "disarm", cmd_alarm_disarm, 0, "alarm disarm", FMT_NO_TABLE },
    { "auth", "enable", cmd_auth_enable, 0, "auth enable", FMT_ALL },
    { "auth", "disable", cmd_auth_disable, 0, "auth disable", FMT_ALL },
    { "auth", "status", cmd_auth_status, 0, "auth status", FMT_SJ },
    { "user", "add", cmd_user_add, BIT(F_INTERACTIVE) | BIT(F_NEW_USER_PASSWORD) | BIT(F_NO_PASSWORD),
      "user add <name>[:<password>] [--interactive=false] [--new-user-password=P] [--no-password]",
      FMT_NO_TABLE },
    { "user", "get", cmd_user_get, BIT(F_DETAIL), "user get <name> [--detail]", FMT_NO_TABLE },
    { "user", "list", cmd_user_list, 0, "user list", FMT_SJ },
    { "user", "delete", cmd_user_delete, 0, "user delete <name>", FMT_NO_TABLE },
    { "user", "passwd", cmd_user_passwd, BIT(F_INTERACTIVE), "user passwd <name> [--interactive=false]",
      FMT_NO_TABLE },
    { "user", "grant-role", cmd_user_grant_role, 0, "user grant-role <name> <role>", FMT_NO_TABLE },
    { "user", "revoke-role", cmd_user_revoke_role, 0, "user revoke-role <name> <role>", FMT_NO_TABLE },
    { "role", "add", cmd_role_add, 0, "role add <role>", FMT_NO_TABLE },
    { "role", "get", cmd_role_get, 0, "role get <role>", FMT_NO_TABLE },
    { "role", "list", cmd_role_list, 0, "role list", FMT_NO_TABLE },
    { "role", "delete", cmd_role_delete, 0, "role delete <role>", FMT_NO_TABLE },
    { "role", "grant-permission", cmd_role_grant, RANGE_FLAGS,
      "role grant-permission [--prefix|--from-key] <role> read|write|readwrite <key> [endkey]", FMT_NO_TABLE },
    { "role", "revoke-permission", cmd_role_revoke, RANGE_FLAGS,
      "role revoke-permission [--prefix|--from-key] <role> <key> [endkey]", FMT_NO_TABLE },
    { "lock", NULL, cmd_lock, BIT(F_TTL), "lock [--ttl=10] <lockname> [exec-command arg1 arg2 ...]",
      FMT_NO_TABLE },
    { "elect", NULL, cmd_elect, BIT(F_LISTEN), "elect [-l] <election-name> [proposal]", FMT_NO_TABLE },
    { "txn", NULL, cmd_txn, BIT(F_INTERACTIVE), "txn [-i]   (compares, success ops, failure "
      "ops from stdin, each ended by a blank line)", FMT_NO_TABLE },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* Help for the commands named `name` (all of them for NULL). */
static int help(const char *name)
{
    puts("NAME:\n\tetcdctl_lite - a small etcdctl built on etcd.h\n\nUSAGE:");
    for (size_t i = 0; i < NCOMMANDS; i++)
        if ((!name || !strcmp(name, commands[i].name)) && commands[i].usage)
            printf("\tetcdctl_lite %s\n", commands[i].usage);
    puts("\nGLOBAL OPTIONS:\n"
         "  --endpoints=127.0.0.1:2379      endpoints, comma separated (ETCDCTL_ENDPOINTS)\n"
         "  --dial-timeout=2s, --command-timeout=5s\n"
         "  --user=name[:password], --password=secret\n"
         "  --cacert, --cert, --key, --insecure-skip-tls-verify   TLS (needs ETCD_USE_OPENSSL)\n"
         "  --hex                           print keys and values as hex\n"
         "  -w, --write-out=simple|json|fields|table   (table: member list, endpoint)\n"
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
    choose_display(flag_val[G_WRITE_OUT] ? flag_val[G_WRITE_OUT] : "simple", c->formats);

    connect_client();
    int words = c->sub ? 2 : 1;
    int rc = c->run(pos + words, npos - words);
    etcd_free(cli);
    return rc;
}
