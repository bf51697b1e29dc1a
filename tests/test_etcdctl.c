/* test_etcdctl.c - etcdctl_lite side by side with the real etcdctl.

   Starts etcd (tests/harness.h), then runs `etcdctl` (ETCDCTL_API=3) and
   $EXAMPLES_DIR/etcdctl_lite (default build/) with the same arguments
   against it and compares stdout and the exit status: one CHECK per
   command, a diff on mismatch.

   Both run on the same state: read-only commands on the same seeded keys;
   a write command runs after the state is reset (the keys under /t/, or
   what the test sets up: users and roles, an alarm, members, the leader),
   and its effect is compared too (etcdctl's `get /t/ --prefix`, or the
   test's own commands, after it, appended to the output). What still
   differs legitimately is masked, each with its reason (see the MASK_*
   flags): nothing else.

   Commands that change the cluster run where they disturb nothing: member
   add/remove/update/promote and move-leader on a 3-member cluster of
   their own (test_cluster_cmds); compaction, alarms and auth
   enable/disable on the suite's etcd after every other test.
   TEST_ONLY=test_a,test_b runs only those. */
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static test_etcd g_etcd;
static char g_lite[512], g_endpoints[128], g_hostport[64];
static bool g_v34;                /* the server (and etcdctl) is 3.4 */
static int64_t g_rev;             /* revision of the first seeded put (%R) */
static int64_t g_lease;           /* a lease for the lease commands (%L) */

/* Allowed differences, each with why it cannot be equal. */
enum {
    MASK_REV = 1,    /* revisions: a write ran at a different time for each tool
                        (the state is reset between them, at new revisions) */
    MASK_LEASE = 2,  /* lease IDs: each tool's `lease grant` made its own lease */
    MASK_TTL = 4,    /* remaining TTL seconds: a second may tick between the runs */
    MASK_HELP = 8,   /* help text: etcdctl's is cobra's full option list; compare
                        the exit status only */
    MASK_TOOK = 16,  /* endpoint health: how long the check took */
    MASK_VERSION = 32, /* version: etcdctl prints its own release, etcdctl_lite
                        the server's (equal when both are the same 3.x.y) */
    MASK_TABLE = 64, /* with MASK_TOOK, a table: its column widths follow the
                        length of the time taken, so runs of blanks and of
                        dashes count as one */
    MASK_GW34 = 128, /* etcd 3.4's JSON gateway has no hashkv and no auth
                        status: etcdctl 3.4 reaches hashkv over gRPC (and has
                        no auth status: it prints help), etcdctl_lite cannot.
                        On 3.4 nothing is compared; etcdctl_lite must fail
                        with exit 1 and name the gateway on stderr */
    MASK_CRASH34 = 256, /* etcdctl 3.4 crashes (exit 2) printing an alarm
                        answer that has no header in fields: on 3.4 nothing
                        is compared */
    MASK_MEMBER = 512, /* member IDs: each tool's member add made a member
                        of its own, whose ID etcd makes from the time; and so
                        the order of the members, which etcd sorts by ID */
    MASK_TERM = 1024, /* raft terms: each leadership move starts a term */
    MASK_SORT = 2048, /* line order: etcdctl checks endpoints concurrently and
                        prints each as it answers */
};

typedef struct cmd_case {
    const char *args;             /* space-separated ('' is an empty word); %R %L
                                     %E %H and the test's %A..%Z substituted */
    int masks;
    bool write;                   /* reset before, show the state after */
    const char *input;            /* stdin, substituted as args; NULL: /dev/null */
    const char *env;              /* "NAME=value" for the child, or NULL */
    int stop_ms;                  /* > 0: SIGTERM after this long (watch, keep-alive);
                                     stdin (with input) stays open until then */
} cmd_case;

/* What a test sets for its cases: the reset before each write case (NULL:
   the keys under /t/), the etcdctl commands whose output is the state after
   it (NULL: `get /t/ --prefix -w json`; g_no_show: none), and its own
   substitutions %A..%Z (those but R, L, E, H), which a reset may set. */
static void (*g_reset)(void);
static const char *const *g_show;
static const char *const g_no_show[] = { NULL };
static char g_var[26][512];

/* ---- running a tool ----------------------------------------------------- */

/* The child's side: stdin, stdout and stderr (err_fd, or /dev/null), the
   case's environment, then argv. */
static void exec_child(char *const *argv, const cmd_case *c, int in, int out, int err_fd)
{
    dup2(in, 0);
    dup2(out, 1);
    if (err_fd < 0) err_fd = open("/dev/null", O_WRONLY);
    if (err_fd >= 0) dup2(err_fd, 2);
    if (c->env) {                                   /* NAME=value, %H: host:port */
        static char env[256];
        const char *h = strstr(c->env, "%H");
        snprintf(env, sizeof env, "%.*s%s", (int)(h ? h - c->env : (long)strlen(c->env)),
                 c->env, h ? g_hostport : "");
        char *eq = strchr(env, '=');
        if (eq) { *eq = '\0'; setenv(env, eq + 1, 1); }
    }
    execvp(argv[0], argv);
    _exit(127);
}

/* Read the child's stdout into out until it closes it; SIGTERM it after
   stop_ms (SIGKILL after 15 s). Its stdin stays open meanwhile: a Go
   program that saw it end might exit on its own before the signal lands. */
static size_t collect(pid_t pid, int fd, int stop_ms, char *out, size_t size)
{
    size_t n = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool stopped = false;
    for (;;) {
        struct pollfd pf = { fd, POLLIN, 0 };
        if (poll(&pf, 1, 50) > 0) {
            char buf[4096];
            ssize_t got = read(fd, buf, sizeof buf);
            if (got <= 0) break;
            size_t take = (size_t)got < size - 1 - n ? (size_t)got : size - 1 - n;
            memcpy(out + n, buf, take);
            n += take;
        }
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (!stopped && ((stop_ms > 0 && ms >= stop_ms) || ms > 15000)) {
            kill(pid, ms > 15000 ? SIGKILL : SIGTERM);    /* our own child only */
            stopped = true;
        }
    }
    return n;
}

/* Run argv with stdin `input`; stdout into out, stderr into err (NULL:
   dropped); returns the exit status (128 + signal for a signal). */
static int run_tool_err(char *const *argv, const cmd_case *c, const char *input, char *out, size_t size,
                        char *err, size_t errsize)
{
    int po[2], pi[2], err_fd = -1;
    char tmpl[] = "/tmp/etcdctl-stderr-XXXXXX";
    if (err && (err_fd = mkstemp(tmpl)) >= 0) unlink(tmpl);
    if (pipe(po) != 0) return -1;
    if (pipe(pi) != 0) { close(po[0]); close(po[1]); return -1; }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        close(po[0]);
        close(pi[1]);
        exec_child(argv, c, pi[0], po[1], err_fd);
    }
    close(po[1]);
    close(pi[0]);
    if (input && write(pi[1], input, strlen(input)) < 0) {}
    int in_fd = pi[1];
    if (!(input && c->stop_ms > 0)) { close(in_fd); in_fd = -1; }   /* else: open until the stop */
    out[collect(pid, po[0], c->stop_ms, out, size)] = '\0';
    close(po[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    if (in_fd >= 0) close(in_fd);
    if (err && err_fd >= 0) {
        ssize_t got = pread(err_fd, err, errsize - 1, 0);
        err[got > 0 ? got : 0] = '\0';
        close(err_fd);
    } else if (err) err[0] = '\0';
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int run_tool(char *const *argv, const cmd_case *c, char *out, size_t size)
{
    return run_tool_err(argv, c, c->input, out, size, NULL, 0);
}

/* s with %R (the first seeded revision), %L (the lease), %E (--endpoints=
   URL), %H (host:port) and the test's %A..%Z replaced */
static void expand(const char *s, char *buf, size_t size)
{
    size_t n = 0;
    for (; *s && n + 1 < size; s++) {
        int v = s[1] >= 'A' && s[1] <= 'Z' ? s[1] - 'A' : -1;
        if (*s != '%' || v < 0) { buf[n++] = *s; continue; }
        s++;
        if (*s == 'R') n += (size_t)snprintf(buf + n, size - n, "%" PRId64, g_rev);
        else if (*s == 'L') n += (size_t)snprintf(buf + n, size - n, "%" PRIx64, (uint64_t)g_lease);
        else if (*s == 'E') n += (size_t)snprintf(buf + n, size - n, "%s", g_endpoints);
        else if (*s == 'H') n += (size_t)snprintf(buf + n, size - n, "%s", g_hostport);
        else n += (size_t)snprintf(buf + n, size - n, "%s", g_var[v]);
        if (n >= size) n = size - 1;
    }
    buf[n] = '\0';
}

/* argv for exe: --endpoints=URL of the suite's etcd unless the case names
   endpoints itself, then the expanded args split at blanks ('' for "") */
static void make_argv(const char *exe, const cmd_case *c, char *buf, size_t size, char **argv)
{
    int k = 0;
    expand(c->args, buf, size);
    argv[k++] = (char *)exe;
    if (!strstr(c->args, "%E") && !strstr(c->args, "%H") && !strstr(c->args, "--endpoints") &&
        !(c->env && strstr(c->env, "ENDPOINTS"))) argv[k++] = g_endpoints;
    for (char *w = strtok(buf, " "); w && k < 62; w = strtok(NULL, " "))
        argv[k++] = strcmp(w, "''") ? w : (char *)"";
    argv[k] = NULL;
}

/* Replace the number (decimal or hex; with chars, any of them) after each
   `pfx` with "N". */
static void mask_chars(char *s, const char *pfx, const char *chars)
{
    for (char *p = strstr(s, pfx); p; p = strstr(p, pfx)) {
        p += strlen(pfx);
        char *e = p;
        while (*e && strchr(chars, *e)) e++;
        if (e == p) continue;
        *p = 'N';
        memmove(p + 1, e, strlen(e) + 1);
    }
}

static void mask_after(char *s, const char *pfx)
{
    mask_chars(s, pfx, "0123456789abcdef-");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort the parts of s[0..len), split at sep (outside brackets and braces
   when nested), in place. */
static void sort_parts(char *s, size_t len, char sep, bool nested)
{
    char *copy = (char *)malloc(len + 1), *parts[512];
    size_t n = 0, o = 0;
    int depth = 0;
    if (!copy) return;
    memcpy(copy, s, len);
    copy[len] = '\0';
    parts[n++] = copy;
    for (size_t i = 0; i < len && n < 512; i++) {
        if (nested) depth += (copy[i] == '[' || copy[i] == '{') - (copy[i] == ']' || copy[i] == '}');
        if (copy[i] == sep && depth == 0) { copy[i] = '\0'; parts[n++] = copy + i + 1; }
    }
    qsort(parts, n, sizeof *parts, cmp_str);
    for (size_t k = 0; k < n; k++) {
        size_t l = strlen(parts[k]);
        memcpy(s + o, parts[k], l);
        o += l;
        if (k + 1 < n) s[o++] = sep;
    }
    free(copy);
}

/* MASK_MEMBER: IDs out ("Member %16x", "ID":N), then the members (and
   ETCD_INITIAL_CLUSTER's name=URL pairs) in one order. */
static void mask_members(char *s)
{
    for (char *p = strstr(s, "Member "); p && strlen(p) >= 23; p = strstr(p + 8, "Member ")) {
        p[7] = 'N';
        memmove(p + 8, p + 23, strlen(p + 23) + 1);
    }
    mask_after(s, "\"ID\":");
    for (char *p = strstr(s, "ETCD_INITIAL_CLUSTER=\""); p; p = strstr(p + 1, "ETCD_INITIAL_CLUSTER=\"")) {
        p += strlen("ETCD_INITIAL_CLUSTER=\"");
        sort_parts(p, strcspn(p, "\""), ',', false);
    }
    for (char *p = strstr(s, "\"members\":["); p; p = strstr(p + 1, "\"members\":[")) {
        char *e = p += strlen("\"members\":[");
        for (int depth = 1; *e && (depth += (*e == '[') - (*e == ']')) > 0; e++) {}
        sort_parts(p, (size_t)(e - p), ',', true);
    }
}

/* Numbers that legitimately differ, as "N" */
static void mask_numbers(char *s, int masks)
{
    static const char *const revs[] = { "\"revision\":", "\"create_revision\":",
        "\"mod_revision\":", "\"Revision\" : ", "\"CreateRevision\" : ", "\"ModRevision\" : ",
        "\"PrevCreateRevision\" : ", "\"PrevModRevision\" : ", "compacted revision " };
    static const char *const leases[] = { "lease ", "\"ID\":", "\"ID\" : ", "\"id\":",
        "\"lease\":", "\"Lease\" : ", "lk/", "el/" };    /* lk, el: lock, election */
    static const char *const ttls[] = { "remaining(", "\"ttl\":", "\"TTL\" : " };
    if (masks & MASK_REV) for (size_t i = 0; i < 9; i++) mask_after(s, revs[i]);
    if (masks & MASK_LEASE) for (size_t i = 0; i < 8; i++) mask_after(s, leases[i]);
    if (masks & MASK_TTL) for (size_t i = 0; i < 3; i++) mask_after(s, ttls[i]);
    if (masks & MASK_TERM) { mask_after(s, "\"raft_term\":"); mask_after(s, "\"RaftTerm\" : "); }
    if (masks & MASK_MEMBER) mask_members(s);
    if (masks & MASK_VERSION) { mask_after(s, "version: "); mask_after(s, "API version: "); }
}

static void apply_masks(char *s, int masks)
{
    static const char *const took[] = { "\"took\":\"", "took = ", "| true | ", "| false | ", "\"Took\" : " };
    mask_numbers(s, masks);
    if (masks & MASK_HELP) s[0] = '\0';
    if (masks & MASK_TABLE) {
        char *o = s;
        for (const char *p = s; *p; p++)
            if (!((*p == ' ' || *p == '-') && o > s && o[-1] == *p)) *o++ = *p;
        *o = '\0';
    }
    if (masks & MASK_TOOK) for (size_t i = 0; i < 5; i++) mask_chars(s, took[i], "0123456789.\xc2\xb5mns");
    if (masks & MASK_SORT) sort_parts(s, strlen(s), '\n', false);
}

/* ---- the shared state --------------------------------------------------- */

static etcd *g_cli;

static void put(const char *k, const char *v)
{
    etcd_res_free(etcd_set(g_cli, k, v, NULL));
}

/* /t/a=1 (twice: version 2), /t/b=2, /t/c=3, /u=x; g_rev: the first put */
static void reset_keys(void)
{
    etcd_delete_opts d;
    memset(&d, 0, sizeof d);
    etcd_res_free(etcd_rmdir(g_cli, "/t/", &d));
    etcd_res *r = etcd_set(g_cli, "/t/a", "0", NULL);
    if (!g_rev && r) g_rev = r->revision;
    etcd_res_free(r);
    put("/t/a", "1");
    put("/t/b", "2");
    put("/t/c", "3");
    put("/u", "x");
}

static void new_lease(void)
{
    etcd_res *r = etcd_grant(g_cli, 100, 0);
    g_lease = r ? r->id : 0;
    etcd_res_free(r);
    etcd_set_opts o;
    memset(&o, 0, sizeof o);
    o.lease = g_lease;
    etcd_res_free(etcd_set(g_cli, "/t/l", "leased", &o));
}

/* The state after a write: the output of g_show's etcdctl commands (or of
   `get /t/ --prefix -w json`), masked as c is for what a write leaves
   (revisions, leases, member IDs, terms). */
static void show_state(const cmd_case *c, char *state, size_t size)
{
    static const char *const keys[] = { "get /t/ --prefix -w json", NULL };
    const char *const *show = g_show ? g_show : keys;
    size_t n = 0;
    state[0] = '\0';
    for (size_t i = 0; show[i] && n + 1 < size; i++) {
        cmd_case sc = { show[i], 0, false, NULL, NULL, 0 };
        char sb[512], *sargv[64];
        make_argv("etcdctl", &sc, sb, sizeof sb, sargv);
        int rc = run_tool(sargv, &sc, state + n, size - n);
        n += strlen(state + n);
        n += (size_t)snprintf(state + n, size - n, "(exit %d)\n", rc);
    }
    apply_masks(state, MASK_REV | MASK_LEASE | (c->masks & (MASK_MEMBER | MASK_TERM)));
}

/* A call 3.4's gateway lacks: etcdctl_lite alone, which must fail (exit 1)
   saying why. */
static void lite_fails_on_34(const cmd_case *c)
{
    static char out[16384], err[4096], buf[1024], input[4096];
    char *argv[64];
    if (c->write) (g_reset ? g_reset : reset_keys)();
    make_argv(g_lite, c, buf, sizeof buf, argv);
    expand(c->input ? c->input : "", input, sizeof input);
    int rc = run_tool_err(argv, c, c->input ? input : NULL, out, sizeof out, err, sizeof err);
    if (rc != 1 || !strstr(err, "JSON gateway"))
        fprintf(stderr, "  `%s` on 3.4: exit %d, stderr:\n%s", c->args, rc, err);
    CHECK(rc == 1 && strstr(err, "JSON gateway"));
}

/* Run one case with both tools; CHECK equal output and exit status. */
static void side_by_side(const cmd_case *c)
{
    static char out[2][16384], state[2][8192], input[4096], err[2][2048];
    const char *exe[2] = { "etcdctl", g_lite };
    int rc[2];
    if (g_v34 && (c->masks & MASK_GW34)) { lite_fails_on_34(c); return; }
    if (g_v34 && (c->masks & MASK_CRASH34)) return;
    for (int t = 0; t < 2; t++) {
        char buf[1024], *argv[64];
        if (c->write) (g_reset ? g_reset : reset_keys)();
        make_argv(exe[t], c, buf, sizeof buf, argv);
        expand(c->input ? c->input : "", input, sizeof input);
        rc[t] = run_tool_err(argv, c, c->input ? input : NULL, out[t], sizeof out[t], err[t], sizeof err[t]);
        state[t][0] = '\0';
        if (c->write) show_state(c, state[t], sizeof state[t]);
        apply_masks(out[t], c->masks);
    }
    bool same = rc[0] == rc[1] && !strcmp(out[0], out[1]) && !strcmp(state[0], state[1]);
    if (!same || getenv("TEST_VERBOSE")) {
        fprintf(stderr, "  `%s`: exit %d vs %d\n  --- etcdctl\n%s%s  --- etcdctl_lite\n%s%s",
                c->args, rc[0], rc[1], out[0], state[0], out[1], state[1]);
        if (!same) fprintf(stderr, "  --- their stderr\n%s  ---\n%s", err[0], err[1]);
    }
    CHECK(same);
}

static void run_cases(const cmd_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) side_by_side(&cases[i]);
}
#define CASES(...) do { static const cmd_case cs[] = { __VA_ARGS__ }; \
    run_cases(cs, sizeof cs / sizeof cs[0]); } while (0)

/* ---- the commands ------------------------------------------------------- */

static void test_get(void)
{
    reset_keys();
    CASES({ "get /t/a", 0, false, NULL, NULL, 0 },
          { "get /t/ --prefix", 0, false, NULL, NULL, 0 },
          { "get /t/ --prefix --keys-only", 0, false, NULL, NULL, 0 },
          { "get /t/ --prefix --print-value-only", 0, false, NULL, NULL, 0 },
          { "get /t/a /t/c", 0, false, NULL, NULL, 0 },
          { "get /t/a /t/c /ignored", 0, false, NULL, NULL, 0 },
          { "get /t/b --from-key", 0, false, NULL, NULL, 0 },
          { "get /t/ --prefix --limit=2 -w json", 0, false, NULL, NULL, 0 },
          { "get /t/ --prefix --limit 2 -w fields", 0, false, NULL, NULL, 0 },
          { "get /t/ --prefix --order=DESCEND --sort-by=MODIFY", 0, false, NULL, NULL, 0 },
          { "get /t/ --prefix --sort-by=VALUE --order descend -w json", 0, false, NULL, NULL, 0 },
          { "get /t/a --rev=%R", 0, false, NULL, NULL, 0 },
          { "get /t/a --rev %R -w fields", 0, false, NULL, NULL, 0 },
          { "get /t/ --prefix --hex", 0, false, NULL, NULL, 0 },
          { "get /nothing", 0, false, NULL, NULL, 0 },
          { "get /nothing -w json", 0, false, NULL, NULL, 0 },
          { "get --consistency=s /t/c", 0, false, NULL, NULL, 0 },
          { "get / --from-key --keys-only", 0, false, NULL, NULL, 0 });
}

static void test_global_flags(void)
{
    reset_keys();
    CASES({ "-w json get /t/a", 0, false, NULL, NULL, 0 },
          { "get /t/a --write-out fields", 0, false, NULL, NULL, 0 },
          { "--endpoints %H get /t/a", 0, false, NULL, NULL, 0 },          /* no scheme */
          { "get /t/a --endpoints=%H --command-timeout=3s --dial-timeout 1s", 0, false, NULL, NULL, 0 },
          { "--endpoints=127.0.0.1:1,%H get /t/b", 0, false, NULL, NULL, 0 },  /* failover */
          { "get /t/c -w json", 0, false, NULL, "ETCDCTL_ENDPOINTS=%H", 0 },
          { "get /t/c", 0, false, NULL, "ETCDCTL_WRITE_OUT=fields", 0 });
}

static void test_usage(void)
{
    CASES({ "get", 0, false, NULL, NULL, 0 },                       /* 128, etcdctl's words */
          { "lease grant", 0, false, NULL, NULL, 0 },
          { "lease grant abc", 0, false, NULL, NULL, 0 },
          { "lease revoke", 0, false, NULL, NULL, 0 },
          { "put /t/x", 0, false, NULL, NULL, 0 },
          { "put /t/x 1 --lease=zz", 0, false, NULL, NULL, 0 },
          { "get /t/a --order=sideways", 0, false, NULL, NULL, 0 },    /* 4 */
          { "get /t/a --sort-by=size", 0, false, NULL, NULL, 0 },
          { "get /t/ --prefix --from-key", 0, false, NULL, NULL, 0 },
          { "frobnicate", 0, false, NULL, NULL, 0 },                   /* 1 */
          { "get /t/a --bogus", MASK_HELP, false, NULL, NULL, 0 },
          { "get /t/a --limit=x", MASK_HELP, false, NULL, NULL, 0 },
          { "-h", MASK_HELP, false, NULL, NULL, 0 },                   /* help: 0 */
          { "get --help", MASK_HELP, false, NULL, NULL, 0 },
          { "lease", MASK_HELP, false, NULL, NULL, 0 });
}

static void test_put_del(void)
{
    CASES({ "put /t/n v", 0, true, NULL, NULL, 0 },
          { "put /t/a new --prev-kv", 0, true, NULL, NULL, 0 },
          { "put /t/a new --prev-kv -w json", MASK_REV, true, NULL, NULL, 0 },
          { "put /t/a new --prev-kv -w fields", MASK_REV, true, NULL, NULL, 0 },
          { "put /t/s", 0, true, "from stdin\n", NULL, 0 },
          { "put /t/a v extra words", 0, true, NULL, NULL, 0 },
          { "put /t/a --ignore-value --prev-kv", 0, true, NULL, NULL, 0 },
          { "put /t/x -- -3", 0, true, NULL, NULL, 0 },
          { "put /t/a v2 --lease=%L", 0, true, NULL, NULL, 0 },
          { "del /t/a", 0, true, NULL, NULL, 0 },
          { "del /t/zz", 0, true, NULL, NULL, 0 },
          { "del /t/ --prefix --prev-kv", 0, true, NULL, NULL, 0 },
          { "del /t/b --from-key -w json", MASK_REV, true, NULL, NULL, 0 },
          { "del /t/a /t/c --prev-kv -w fields", MASK_REV, true, NULL, NULL, 0 });
}

static void test_lease(void)
{
    new_lease();
    CASES({ "lease timetolive %L", MASK_TTL, false, NULL, NULL, 0 },
          { "lease timetolive %L --keys", MASK_TTL, false, NULL, NULL, 0 },
          { "lease timetolive %L --keys -w json", MASK_TTL, false, NULL, NULL, 0 },
          { "lease timetolive %L -w fields", MASK_TTL, false, NULL, NULL, 0 },
          { "lease timetolive 1234", 0, false, NULL, NULL, 0 },
          { "lease list", 0, false, NULL, NULL, 0 },
          { "lease list -w json", 0, false, NULL, NULL, 0 },
          { "lease keep-alive --once %L", 0, false, NULL, NULL, 0 },
          { "lease keep-alive %L", 0, false, NULL, NULL, 1200 },      /* until a signal */
          { "lease keep-alive --once 1234", 0, false, NULL, NULL, 0 },
          { "lease grant 100", MASK_LEASE, false, NULL, NULL, 0 },
          { "lease grant 100 -w json", MASK_LEASE, false, NULL, NULL, 0 },
          { "lease grant 100 -w fields", MASK_LEASE, false, NULL, NULL, 0 });
    /* revoke: a fresh lease for each tool */
    static const cmd_case revokes[] = {
        { "lease revoke %L", 0, false, NULL, NULL, 0 },
        { "lease revoke %L -w json", MASK_REV, false, NULL, NULL, 0 },
    };
    for (size_t i = 0; i < 2; i++) {
        static char out[2][4096];
        int rc[2];
        for (int t = 0; t < 2; t++) {
            char buf[512], *argv[64];
            new_lease();
            make_argv(t ? g_lite : "etcdctl", &revokes[i], buf, sizeof buf, argv);
            rc[t] = run_tool(argv, &revokes[i], out[t], sizeof out[t]);
            apply_masks(out[t], MASK_REV | MASK_LEASE);     /* each revoked its own */
        }
        if (rc[0] != rc[1] || strcmp(out[0], out[1]))
            fprintf(stderr, "  `%s`: %d vs %d\n%s---\n%s", revokes[i].args, rc[0], rc[1],
                    out[0], out[1]);
        CHECK(rc[0] == rc[1] && !strcmp(out[0], out[1]));
    }
}

static void test_txn(void)
{
    CASES({ "txn", 0, true, "value(\"/t/a\") = \"1\"\n\nput /t/n 1\nget /t/a\ndel /t/b --prev-kv\n\nget /t/c\n\n", NULL, 0 },
          { "txn", 0, true, "value(\"/t/a\") != \"1\"\n\nput /t/n 1\n\nget /t/ --prefix\nput /t/n \"two words\" --prev-kv\n\n", NULL, 0 },
          { "txn -w json", MASK_REV, true, "mod(\"/t/a\") > \"0\"\nver(\"/t/b\") = \"1\"\n\nput /t/a x --prev-kv\nget /t/b\ndel /t/c\n\n\n", NULL, 0 },
          { "txn -w fields", MASK_REV, true, "create(\"/t/a\") < \"1\"\n\n\nget /t/a\ndel /t/ --prefix\n\n", NULL, 0 },
          { "txn -i", 0, true, "val(\"/t/c\") = \"3\"\n\ndel /t/c\n\n\n", NULL, 0 },
          { "txn", 0, true, "\nput /t/a 5\nget /t/a\n\n\n", NULL, 0 },  /* no compare: success */
          { "txn", 0, true, "\n\nput /t/a 6\n\n", NULL, 0 },      /* ... so no failure op runs */
          { "txn -w json", MASK_REV, true, "\n\n\n", NULL, 0 },    /* nothing at all */
          { "txn -w fields", MASK_REV, true, "\n\n\n", NULL, 0 },
          { "txn", 0, true, "bogus\n\n\n\n", NULL, 0 },           /* exit 3 */
          { "txn", 0, true, "value(\"/t/a\") = \"1\"\n\nput /t/n 1\n", NULL, 0 });  /* EOF */
}

static void test_cluster(void)
{
    CASES({ "version", MASK_VERSION, false, NULL, NULL, 0 },
          { "member list", 0, false, NULL, NULL, 0 },
          { "member list -w json", 0, false, NULL, NULL, 0 },
          { "member list -w json --hex", 0, false, NULL, NULL, 0 },   /* 3.5: hex IDs as strings */
          { "member list -w fields", 0, false, NULL, NULL, 0 },
          { "endpoint status", 0, false, NULL, NULL, 0 },
          { "endpoint status -w json", 0, false, NULL, NULL, 0 },
          { "endpoint status -w fields", 0, false, NULL, NULL, 0 },
          { "endpoint status --cluster", 0, false, NULL, NULL, 0 },   /* the members' client URLs */
          { "endpoint status --cluster -w json", 0, false, NULL, NULL, 0 },
          { "--endpoints=127.0.0.1:1,%H --command-timeout=1s endpoint status -w json", 0, false, NULL, NULL, 0 },
          { "endpoint health", MASK_TOOK, false, NULL, NULL, 0 },    /* 3.4: stdout empty */
          { "endpoint health -w json", MASK_TOOK, false, NULL, NULL, 0 },
          { "endpoint health -w fields", MASK_TOOK, false, NULL, NULL, 0 },
          { "endpoint health --cluster -w json", MASK_TOOK, false, NULL, NULL, 0 },
          { "member list -w table", 0, false, NULL, NULL, 0 },
          { "endpoint status -w table", 0, false, NULL, NULL, 0 },
          { "--endpoints=%H,%H endpoint status -w table", 0, false, NULL, NULL, 0 },  /* two rows */
          { "endpoint status --cluster -w table", 0, false, NULL, NULL, 0 },
          { "endpoint health -w table", MASK_TABLE | MASK_TOOK, false, NULL, NULL, 0 },
          { "get /t/a -w table", 0, false, NULL, NULL, 0 },          /* exit 4, nothing printed */
          { "lease list -w table", 0, false, NULL, NULL, 0 });
}

static void test_hashkv_alarm(void)
{
    CASES({ "endpoint hashkv", MASK_GW34, false, NULL, NULL, 0 },
          { "endpoint hashkv -w json", MASK_GW34, false, NULL, NULL, 0 },
          { "endpoint hashkv -w fields", MASK_GW34, false, NULL, NULL, 0 },
          { "endpoint hashkv -w table", MASK_GW34, false, NULL, NULL, 0 },
          { "endpoint hashkv --cluster", MASK_GW34, false, NULL, NULL, 0 },
          { "endpoint hashkv --rev=%R -w json", MASK_GW34, false, NULL, NULL, 0 },
          { "alarm list", 0, false, NULL, NULL, 0 },                  /* none */
          { "alarm list -w json", 0, false, NULL, NULL, 0 },          /* 3.4: no header, "{}" */
          { "alarm list -w fields", MASK_CRASH34, false, NULL, NULL, 0 },
          { "alarm list -w table", 0, false, NULL, NULL, 0 },         /* exit 4 */
          { "alarm disarm -w json", 0, false, NULL, NULL, 0 });       /* nothing to disarm: "{}" */
}

static void test_defrag(void)
{
    CASES({ "defrag", 0, false, NULL, NULL, 0 },
          { "defrag -w json", 0, false, NULL, NULL, 0 },              /* the same words in any format */
          { "defrag --cluster", 0, false, NULL, NULL, 0 },
          { "--endpoints=%H,%H defrag", 0, false, NULL, NULL, 0 });
}

/* Bad arguments: nothing is sent, etcdctl's exit status (mostly 128). */
static void test_admin_usage(void)
{
    CASES({ "compaction", 0, false, NULL, NULL, 0 },
          { "compaction abc", 0, false, NULL, NULL, 0 },              /* 1: Go's ParseInt error */
          { "compaction 1 2", 0, false, NULL, NULL, 0 },
          { "compaction 99999999", 0, false, NULL, NULL, 0 },         /* 1: a future revision */
          { "move-leader", 0, false, NULL, NULL, 0 },
          { "move-leader zz", 0, false, NULL, NULL, 0 },
          { "move-leader 1", 0, false, NULL, NULL, 0 },               /* 1: bad leader transferee */
          { "snapshot save", 0, false, NULL, NULL, 0 },
          { "--endpoints=%H,%H snapshot save /tmp/never.db", 0, false, NULL, NULL, 0 },  /* 5 */
          { "member add", 0, false, NULL, NULL, 0 },
          { "member add x", 0, false, NULL, NULL, 0 },
          { "member add x http://127.0.0.1:1 y", 0, false, NULL, NULL, 0 },  /* did you mean */
          { "member remove", 0, false, NULL, NULL, 0 },
          { "member remove zz", 0, false, NULL, NULL, 0 },
          { "member update 1", 0, false, NULL, NULL, 0 },
          { "member promote", 0, false, NULL, NULL, 0 },
          { "member promote 1 2", 0, false, NULL, NULL, 0 },
          { "alarm list x", 0, false, NULL, NULL, 0 },
          { "alarm disarm x", 0, false, NULL, NULL, 0 },
          { "auth enable x", 0, false, NULL, NULL, 0 },
          { "auth disable x", 0, false, NULL, NULL, 0 },
          { "member", MASK_HELP, false, NULL, NULL, 0 },
          { "user --help", MASK_HELP, false, NULL, NULL, 0 });
}

static void test_auth_usage(void)
{
    CASES({ "user add", 0, false, NULL, NULL, 0 },
          { "user add :pw", 0, false, NULL, NULL, 0 },
          { "user get", 0, false, NULL, NULL, 0 },
          { "user list x", 0, false, NULL, NULL, 0 },
          { "user delete", 0, false, NULL, NULL, 0 },
          { "user passwd", 0, false, NULL, NULL, 0 },
          { "user grant-role u", 0, false, NULL, NULL, 0 },
          { "user revoke-role u", 0, false, NULL, NULL, 0 },
          { "role add", 0, false, NULL, NULL, 0 },
          { "role get", 0, false, NULL, NULL, 0 },
          { "role list x", 0, false, NULL, NULL, 0 },
          { "role delete", 0, false, NULL, NULL, 0 },
          { "role grant-permission r read", 0, false, NULL, NULL, 0 },
          { "role grant-permission r rw /a", 0, false, NULL, NULL, 0 },
          { "role grant-permission r read /a /b --prefix", 0, false, NULL, NULL, 0 },
          { "role grant-permission r read /a /b --from-key", 0, false, NULL, NULL, 0 },
          { "role grant-permission r read /a --prefix --from-key", 0, false, NULL, NULL, 0 },
          { "role grant-permission r read '' --prefix --from-key", 0, false, NULL, NULL, 0 },
          { "role revoke-permission r", 0, false, NULL, NULL, 0 });
}

/* ---- users and roles (auth stays off) ----------------------------------- */

/* etcd_str -> a C string, for the calls that take one */
static const char *cstr(etcd_str s, char *buf, size_t size)
{
    snprintf(buf, size, "%.*s", (int)s.len, s.ptr);
    return buf;
}

static void delete_all_auth(void)
{
    char name[256];
    etcd_res *r = etcd_user_list(g_cli);
    for (size_t i = 0; r && i < r->nnames; i++)
        etcd_res_free(etcd_user_delete(g_cli, cstr(r->names[i], name, sizeof name)));
    etcd_res_free(r);
    r = etcd_role_list(g_cli);
    for (size_t i = 0; r && i < r->nnames; i++)
        etcd_res_free(etcd_role_delete(g_cli, cstr(r->names[i], name, sizeof name)));
    etcd_res_free(r);
}

/* Users u1 (roles r1 and r2, password p1) and u2; role r1 reads /a,
   writes [/b, /c), reads and writes the prefix /p/ and reads from /f on;
   r2 has no permission. */
static void reset_auth(void)
{
    delete_all_auth();
    etcd_res *r[10];
    r[0] = etcd_role_add(g_cli, "r1");
    r[1] = etcd_role_add(g_cli, "r2");
    r[2] = etcd_role_grant(g_cli, "r1", ETCD_PERM_READ, "/a", 0, NULL, 0);
    r[3] = etcd_role_grant(g_cli, "r1", ETCD_PERM_WRITE, "/b", 0, "/c", 0);
    r[4] = etcd_role_grant(g_cli, "r1", ETCD_PERM_READWRITE, "/p/", 0, "/p0", 0);
    r[5] = etcd_role_grant(g_cli, "r1", ETCD_PERM_READ, "/f", 0, "", 0);
    r[6] = etcd_user_add(g_cli, "u1", "p1");
    r[7] = etcd_user_add(g_cli, "u2", "p2");
    r[8] = etcd_user_grant_role(g_cli, "u1", "r1");
    r[9] = etcd_user_grant_role(g_cli, "u1", "r2");
    for (int i = 0; i < 10; i++) {
        if (!r[i] || r[i]->status != 200)
            fprintf(stderr, "  reset_auth step %d: %s\n", i, r[i] ? r[i]->body : etcd_errstr(g_cli));
        etcd_res_free(r[i]);
    }
}

static void test_user_reads(void)
{
    reset_auth();
    CASES({ "user list", 0, false, NULL, NULL, 0 },
          { "user list -w json", 0, false, NULL, NULL, 0 },
          { "user list -w fields", 0, false, NULL, NULL, 0 },        /* 4: none in fields */
          { "user get u1", 0, false, NULL, NULL, 0 },
          { "user get u1 -w json", 0, false, NULL, NULL, 0 },
          { "user get u1 -w fields", 0, false, NULL, NULL, 0 },      /* 4 */
          { "user get u1 --detail", 0, false, NULL, NULL, 0 },       /* each role's permissions */
          { "user get u1 --detail -w json", 0, false, NULL, NULL, 0 },
          { "user get u1 --detail -w fields", 0, false, NULL, NULL, 0 },
          { "user get u2", 0, false, NULL, NULL, 0 },
          { "user get nobody", 0, false, NULL, NULL, 0 });
}

static void test_user_writes(void)
{
    static const char *const users[] = { "user list", "user get u1", "user get u2", NULL };
    g_reset = reset_auth;
    g_show = users;
    CASES({ "user add u3:pw", 0, true, NULL, NULL, 0 },
          { "user add u3 --new-user-password=x -w json", 0, true, NULL, NULL, 0 },
          { "user add a:b --new-user-password=x", 0, true, NULL, NULL, 0 },  /* the name keeps its colon */
          { "user add u3 --no-password -w fields", 0, true, NULL, NULL, 0 },
          { "user add u3 --interactive=false", 0, true, "secret more\n", NULL, 0 },
          { "user add u3", 0, true, "pw\npw\n", NULL, 0 },           /* asked twice: prompts on stdout */
          { "user add u3", 0, true, "pw\nzz\n", NULL, 0 },           /* 128: different */
          { "user add u3", 0, true, NULL, NULL, 0 },                 /* 128: empty */
          { "user add u1:x", 0, true, NULL, NULL, 0 },               /* 1: exists */
          { "user delete u2", 0, true, NULL, NULL, 0 },
          { "user delete u2 -w json", 0, true, NULL, NULL, 0 },
          { "user delete nobody", 0, true, NULL, NULL, 0 },
          { "user passwd u1 --interactive=false", 0, true, "new\n", NULL, 0 },
          { "user passwd u1 -w json", 0, true, "n\nn\n", NULL, 0 },
          { "user grant-role u2 r1", 0, true, NULL, NULL, 0 },
          { "user grant-role u2 r1 -w fields", 0, true, NULL, NULL, 0 },
          { "user grant-role u2 nothere", 0, true, NULL, NULL, 0 },
          { "user revoke-role u1 r2", 0, true, NULL, NULL, 0 },
          { "user revoke-role u1 r2 -w json", 0, true, NULL, NULL, 0 },
          { "user revoke-role u2 r1", 0, true, NULL, NULL, 0 });     /* 1: not granted */
    /* etcdctl adds the user before it refuses the format, etcdctl_lite
       refuses first: the state is not compared */
    g_show = g_no_show;
    CASES({ "user add u3:pw -w table", 0, true, NULL, NULL, 0 });
    g_reset = NULL;
    g_show = NULL;
}

static void test_roles(void)
{
    static const char *const roles[] = { "role list", "role get r1", "role get r2", NULL };
    reset_auth();
    CASES({ "role get r1", 0, false, NULL, NULL, 0 },
          { "role get r1 -w json", 0, false, NULL, NULL, 0 },
          { "role get r1 -w fields", 0, false, NULL, NULL, 0 },
          { "role get r2", 0, false, NULL, NULL, 0 },
          { "role get nothere", 0, false, NULL, NULL, 0 },
          { "role list", 0, false, NULL, NULL, 0 },
          { "role list -w json", 0, false, NULL, NULL, 0 },
          { "role list -w fields", 0, false, NULL, NULL, 0 },
          { "role list -w table", 0, false, NULL, NULL, 0 });
    g_reset = reset_auth;
    g_show = roles;
    CASES({ "role add r3", 0, true, NULL, NULL, 0 },
          { "role add r3 -w json", 0, true, NULL, NULL, 0 },
          { "role add r1", 0, true, NULL, NULL, 0 },                 /* 1: exists */
          { "role delete r2", 0, true, NULL, NULL, 0 },
          { "role delete r2 -w fields", 0, true, NULL, NULL, 0 },
          { "role grant-permission r2 read /x", 0, true, NULL, NULL, 0 },
          { "role grant-permission r2 write /x /y -w json", 0, true, NULL, NULL, 0 },
          { "role grant-permission r2 readwrite /q/ --prefix", 0, true, NULL, NULL, 0 },
          { "role grant-permission r2 READ /f --from-key -w fields", 0, true, NULL, NULL, 0 },
          { "role grant-permission r2 read '' --prefix", 0, true, NULL, NULL, 0 },   /* every key */
          { "role grant-permission r2 write ''", 0, true, NULL, NULL, 0 },           /* the key "\0" */
          { "role grant-permission nothere read /x", 0, true, NULL, NULL, 0 },
          { "role revoke-permission r1 /a", 0, true, NULL, NULL, 0 },
          { "role revoke-permission r1 /b /c -w json", 0, true, NULL, NULL, 0 },
          { "role revoke-permission r1 /p/ --prefix", 0, true, NULL, NULL, 0 },
          { "role revoke-permission r1 /f --from-key -w fields", 0, true, NULL, NULL, 0 },
          { "role revoke-permission r1 /zz", 0, true, NULL, NULL, 0 },  /* 1: not granted */
          { "role revoke-permission r1 '' --prefix", 0, true, NULL, NULL, 0 });
    g_reset = NULL;
    g_show = NULL;
    delete_all_auth();
}

static void test_lock_elect(void)
{
    /* each tool holds its own session lease: the keys hold its ID */
    CASES({ "lock lk", MASK_LEASE, false, NULL, NULL, 1500 },          /* until a signal */
          { "lock lk -- printenv ETCD_LOCK_KEY", MASK_LEASE, false, NULL, NULL, 0 },
          { "lock lk -- false", 0, false, NULL, NULL, 0 },             /* Error: exit status 1 */
          { "lock", 0, false, NULL, NULL, 0 },
          { "elect el prop", MASK_LEASE, false, NULL, NULL, 1500 },
          { "elect el", 0, false, NULL, NULL, 0 },
          { "elect el -l", 0, false, NULL, NULL, 1000 });              /* no leader: nothing */
}

static void test_watch(void)
{
    g_rev = 0;                                  /* watch from the next reset on */
    reset_keys();
    /* from a past revision: the same history for both; stopped by SIGTERM */
    CASES({ "watch /t/ --prefix --rev=%R", 0, false, NULL, NULL, 1000 },
          { "watch /t/a --rev=%R --prev-kv", 0, false, NULL, NULL, 1000 },
          { "watch /t/ --prefix --rev=%R -w json", 0, false, NULL, NULL, 1000 },
          { "watch /t/a --rev %R -w fields", 0, false, NULL, NULL, 1000 },
          { "watch /t/a /t/c --rev=%R", 0, false, NULL, NULL, 700 },    /* [/t/a, /t/c) */
          { "watch /t/b /t/z --rev=%R -w json", 0, false, NULL, NULL, 700 },
          { "watch /t/a /t/c --prefix", 0, false, NULL, NULL, 0 },      /* 128 */
          { "watch", 0, false, NULL, NULL, 0 },
          { "watch /t/a --", 0, false, NULL, NULL, 0 });                /* 128: no command */
    /* -i: requests from stdin, which stays open until the SIGTERM; a bad
       line is said on stderr and skipped; stdin's end: exit 3 */
    CASES({ "watch -i", 0, false, "bogus\nwatch\nwatch /t/a /t/c --prefix\nwatch /t/ --prefix --rev=%R\n",
            NULL, 700 },
          { "watch -i -w json", 0, false, "watch /t/a /t/c --rev %R --prev-kv\n", NULL, 700 },
          { "watch -i", 0, false, "", NULL, 0 },                               /* 3 */
          { "watch -i", 0, false, "watch --prefix\n", NULL, 0 });             /* 128 */
}

/* ---- make-mirror: into a second etcd ------------------------------------ */

static test_etcd g_dest;
static etcd *g_dest_cli;

/* the destination emptied, the source's keys reset */
static void reset_mirror(void)
{
    etcd_res_free(etcd_rmdir(g_dest_cli, "", NULL));
    reset_keys();
}

/* The source's /t/ copied into the destination (%D), as etcdctl does it:
   the state compared is the destination's every key; each run is stopped
   by SIGTERM before etcdctl's first count (at 30 s), so stdout is empty. */
static void test_make_mirror(void)
{
    static const char *const show[] = { "--endpoints=%D get '' --from-key -w json", NULL };
    memset(&g_dest, 0, sizeof g_dest);
    REQUIRE(test_etcd_start(&g_dest, NULL) == 0);
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.serializer = ETCD_SERIALIZER_RAW;
    g_dest_cli = test_client(&g_dest, &o);
    REQUIRE(g_dest_cli);
    snprintf(g_var['D' - 'A'], sizeof g_var[0], "127.0.0.1:%d", g_dest.port);
    g_reset = reset_mirror;
    g_show = show;
    CASES({ "make-mirror --prefix=/t/ --dest-prefix=/m/ %D", 0, true, NULL, NULL, 2500 },
          { "make-mirror --prefix /t/ --no-dest-prefix %D", 0, true, NULL, NULL, 2500 },
          { "make-mirror --prefix=/t/ %D", 0, true, NULL, NULL, 2500 },
          { "make-mirror --prefix=/t/ --dest-prefix=/x/ --no-dest-prefix %D", 0, true, NULL, NULL, 2500 },
          { "make-mirror", 0, false, NULL, NULL, 0 });
    g_reset = NULL;
    g_show = NULL;
    etcd_free(g_dest_cli);
    test_etcd_stop(&g_dest);
    reset_keys();
}

/* ---- after the others: compaction, alarms, auth on the suite's etcd ---- */

/* the keys reset, and %N: the revision now */
static void reset_keys_rev(void)
{
    reset_keys();
    snprintf(g_var['N' - 'A'], sizeof g_var[0], "%" PRId64, test_rev(g_cli));
}

static void test_compaction(void)
{
    g_reset = reset_keys_rev;
    CASES({ "compaction %N", MASK_REV, true, NULL, NULL, 0 },
          { "compaction %N --physical", MASK_REV, true, NULL, NULL, 0 },
          { "compaction %N -w json", MASK_REV, true, NULL, NULL, 0 },   /* the same words */
          { "compaction 1", 0, true, NULL, NULL, 0 });                  /* 1: compacted */
    g_reset = NULL;
    /* a watch from a compacted revision: etcdctl says so on stderr, prints
       the answer, exits 5 */
    CASES({ "watch /t/ --prefix --rev=1", 0, false, NULL, NULL, 0 },
          { "watch /t/ --prefix --rev=1 -w json", 0, false, NULL, NULL, 0 });
}

static uint64_t g_member_id;      /* the suite's etcd's member ID */

/* POST an alarm action on the suite's etcd (its gateway takes ACTIVATE) */
static void alarm_action(const char *action)
{
    char body[256], out[4096];
    snprintf(body, sizeof body, "{\"action\":\"%s\",\"memberID\":\"%" PRIu64 "\",\"alarm\":\"NOSPACE\"}",
             action, g_member_id);
    if (test_http_post(g_etcd.port, "/v3/maintenance/alarm", body, out, sizeof out) != 200)
        fprintf(stderr, "  alarm %s: %s\n", action, out);
}

static void raise_alarm(void) { alarm_action("ACTIVATE"); }

/* NOSPACE raised (as etcd does when its quota is full): writes refused,
   3.5's endpoint health unhealthy, status lists it */
static void test_alarms(void)
{
    static const char *const alarms[] = { "alarm list -w json", NULL };
    REQUIRE(test_member_status(&g_etcd, &g_member_id, NULL) == 0);
    raise_alarm();
    CASES({ "alarm list", 0, false, NULL, NULL, 0 },
          { "alarm list -w json", 0, false, NULL, NULL, 0 },
          { "alarm list -w fields", MASK_CRASH34, false, NULL, NULL, 0 },
          { "endpoint status", 0, false, NULL, NULL, 0 },
          { "endpoint status -w json", 0, false, NULL, NULL, 0 },
          { "endpoint status -w fields", 0, false, NULL, NULL, 0 },
          { "endpoint status -w table", 0, false, NULL, NULL, 0 },      /* its errors cell wrapped */
          { "endpoint health", MASK_TOOK, false, NULL, NULL, 0 },       /* 3.5: unhealthy, exit 1 */
          { "endpoint health -w json", MASK_TOOK, false, NULL, NULL, 0 },
          { "endpoint health -w table", MASK_TABLE | MASK_TOOK, false, NULL, NULL, 0 },
          { "put /t/x 1", 0, false, NULL, NULL, 0 });                   /* 1: no space */
    g_reset = raise_alarm;
    g_show = alarms;
    CASES({ "alarm disarm", 0, true, NULL, NULL, 0 },
          { "alarm disarm -w json", 0, true, NULL, NULL, 0 });          /* no header: clientv3's own */
    g_reset = NULL;
    g_show = NULL;
    alarm_action("DEACTIVATE");
}

/* auth off (asked as root by a client of its own: etcd.h holds a refused
   login against its client for a second); the user root (rootpw) with the
   role root */
static void auth_off(void)
{
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.user = "root";
    o.password = "rootpw";
    etcd *root = test_client(&g_etcd, &o);
    etcd_res_free(etcd_auth_disable(root));
    etcd_free(root);
    etcd_res_free(etcd_user_add(g_cli, "root", "rootpw"));
    etcd_res_free(etcd_role_add(g_cli, "root"));
    etcd_res_free(etcd_user_grant_role(g_cli, "root", "root"));
}

static void auth_off_no_root_role(void)
{
    auth_off();
    etcd_res_free(etcd_role_delete(g_cli, "root"));
}

static void auth_off_no_root(void)
{
    auth_off();
    etcd_res_free(etcd_user_delete(g_cli, "root"));
}

static void auth_on(void)
{
    auth_off();
    etcd_res *r = etcd_auth_enable(g_cli);
    if (!r || r->status != 200) fprintf(stderr, "  auth enable: %s\n", r ? r->body : etcd_errstr(g_cli));
    etcd_res_free(r);
}

/* The state: whether a wrong password is refused (auth on), and root's
   roles. */
static void test_auth_enable(void)
{
    static const char *const state[] = { "--user=root:wrong user list", "--user=root:rootpw user get root",
                                         NULL };
    g_show = state;
    g_reset = auth_off;
    CASES({ "auth enable", 0, true, NULL, NULL, 0 },
          { "auth enable -w json", 0, true, NULL, NULL, 0 },
          { "--user=root:rootpw auth enable", 0, true, NULL, NULL, 0 });
    g_reset = auth_off_no_root_role;              /* etcdctl adds the role root itself */
    CASES({ "auth enable", 0, true, NULL, NULL, 0 });
    g_reset = auth_off_no_root;
    CASES({ "auth enable", 0, true, NULL, NULL, 0 });                  /* 1: no root */
    g_reset = auth_on;
    CASES({ "--user=root:rootpw auth disable", 0, true, NULL, NULL, 0 },
          { "auth disable", 0, true, NULL, NULL, 0 },                   /* 1: user name is empty */
          { "--user=root --password=rootpw auth disable -w json", 0, true, NULL, NULL, 0 });
    g_reset = NULL;
    g_show = NULL;
    /* read only, no reset between the tools: each reset is a new auth
       revision */
    auth_on();
    CASES({ "--user=root:rootpw auth status", MASK_GW34, false, NULL, NULL, 0 },
          { "--user=root:rootpw auth status -w json", MASK_GW34, false, NULL, NULL, 0 },
          { "--user=root:rootpw user list", 0, false, NULL, NULL, 0 },
          { "--user=root:wrong role list", 0, false, NULL, NULL, 0 },   /* 2: login refused */
          { "role list", 0, false, NULL, NULL, 0 });                    /* 1: user name is empty */
    auth_off();
    CASES({ "auth status", MASK_GW34, false, NULL, NULL, 0 },
          { "auth status -w json", MASK_GW34, false, NULL, NULL, 0 });
    auth_off();
    delete_all_auth();
}

/* ---- snapshot ------------------------------------------------------------ */

static void remove_snapshot(void)
{
    unlink(g_var['S' - 'A']);
}

/* each tool saves to %S; the file is then read by etcdctl (3.5: its
   deprecated snapshot status) */
static void test_snapshot(void)
{
    static const char *const file[] = { "snapshot status %S -w json", NULL };
    snprintf(g_var['S' - 'A'], sizeof g_var[0], "%s/snap.db", g_etcd.dir);
    reset_keys();
    g_reset = remove_snapshot;
    g_show = file;
    CASES({ "snapshot save %S", 0, true, NULL, NULL, 0 },
          { "snapshot save %S -w json", 0, true, NULL, NULL, 0 },
          { "snapshot save %S/no/such/dir", 0, true, NULL, NULL, 0 });  /* 5 */
    g_reset = NULL;
    g_show = NULL;
    remove_snapshot();
}

/* What etcdctl_lite refuses as etcdutl's: exit 1, and says so. */
static void test_etcdutl(void)
{
    static const char *const args[] = { "snapshot restore x.db", "snapshot status x.db",
                                        "defrag --data-dir=/nonexistent" };
    for (size_t i = 0; i < 3; i++) {
        cmd_case c = { args[i], 0, false, NULL, NULL, 0 };
        char buf[512], *argv[64], out[4096], err[4096];
        make_argv(g_lite, &c, buf, sizeof buf, argv);
        int rc = run_tool_err(argv, &c, NULL, out, sizeof out, err, sizeof err);
        if (rc != 1 || !strstr(err, "etcdutl")) fprintf(stderr, "  `%s`: exit %d: %s", args[i], rc, err);
        CHECK(rc == 1 && strstr(err, "etcdutl") && !*out);
    }
}

/* ---- a 3-member cluster of their own: members, leadership --------------- */

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static test_etcd g_m[3];
static uint64_t g_mid[3];         /* the members' IDs */
static int g_lead0;               /* the first leader, which each reset brings back */

/* The cases' etcd: the cluster (m0's endpoint, g_cli a client of all
   three) or, with on false, the suite's own again. */
static void use_cluster(bool on)
{
    static etcd *saved;
    char hosts[256];
    if (on) {
        saved = g_cli;
        g_cli = test_client_at(test_cluster_hosts(g_m, 3, -1, hosts, sizeof hosts), NULL, 5, true, -1, 0);
    } else {
        etcd_free(g_cli);
        g_cli = saved;
    }
    const test_etcd *e = on ? &g_m[0] : &g_etcd;
    snprintf(g_endpoints, sizeof g_endpoints, "--endpoints=%s", e->url);
    snprintf(g_hostport, sizeof g_hostport, "127.0.0.1:%d", e->port);
}

/* Every member but the three: removed (the cases' adds). etcd makes a new
   member's ID from its peer URLs and the second it is added, and refuses
   an ID it removed ("member not found"): the next add of the same URLs
   waits for the next second. */
static void reset_members(void)
{
    etcd_res *r = etcd_member_list(g_cli, true);
    bool removed = false;
    for (size_t i = 0; r && i < r->nmembers; i++) {
        uint64_t id = r->members[i].id;
        if (id == g_mid[0] || id == g_mid[1] || id == g_mid[2]) continue;
        etcd_res_free(etcd_member_remove(g_cli, id));
        removed = true;
    }
    etcd_res_free(r);
    for (time_t now = time(NULL); removed && time(NULL) == now;) sleep_ms(20);
}

/* A learner added with peer URL %P; %M: its ID. etcd refuses changes with
   "unhealthy cluster" until every voter has been connected for 5 s: a
   cluster just started waits here (15 s at most). */
static uint64_t add_learner(void)
{
    const char *urls[1];
    uint64_t id = 0;
    double deadline = test_now() + 15.0;
    urls[0] = g_var['P' - 'A'];
    for (;;) {
        etcd_res *r = etcd_member_add(g_cli, urls, 1, true);
        id = r && r->member ? r->member->id : 0;
        etcd_res_free(r);
        if (id || test_now() > deadline) break;
        sleep_ms(250);
    }
    snprintf(g_var['M' - 'A'], sizeof g_var[0], "%" PRIx64, id);
    return id;
}

static void reset_learner(void)
{
    reset_members();
    add_learner();
}

/* Wait until the members agree on the raft index (and have applied it),
   so that each tool's endpoint status reads the same numbers. */
static void settle(void)
{
    for (double deadline = test_now() + 5.0; test_now() < deadline; sleep_ms(50)) {
        uint64_t idx[3] = { 0, 0, 0 };
        bool same = true;
        for (int i = 0; i < 3; i++) {
            etcd_res *r = etcd_status(g_cli, g_m[i].url);
            idx[i] = r && r->raft_applied_index == r->raft_index ? r->raft_index : 0;
            same = same && idx[i] && idx[i] == idx[0];
            etcd_res_free(r);
        }
        if (same) return;
    }
}

static void test_member_reads(void)
{
    settle();
    CASES({ "member list", 0, false, NULL, NULL, 0 },
          { "member list -w json", 0, false, NULL, NULL, 0 },
          { "member list -w fields", 0, false, NULL, NULL, 0 },
          { "member list -w table", 0, false, NULL, NULL, 0 },
          { "endpoint status --cluster", 0, false, NULL, NULL, 0 },
          { "endpoint status --cluster -w json", 0, false, NULL, NULL, 0 },
          { "endpoint status --cluster -w fields", 0, false, NULL, NULL, 0 },
          { "endpoint status --cluster -w table", 0, false, NULL, NULL, 0 },
          { "endpoint hashkv --cluster", MASK_GW34, false, NULL, NULL, 0 },
          { "endpoint hashkv --cluster -w table", MASK_GW34, false, NULL, NULL, 0 },
          { "endpoint health --cluster", MASK_TOOK | MASK_SORT, false, NULL, NULL, 0 },
          { "endpoint health --cluster -w table", MASK_TABLE | MASK_TOOK | MASK_SORT, false, NULL, NULL, 0 },
          { "defrag --cluster", 0, false, NULL, NULL, 0 });
}

/* %P, %O: peer URLs nobody has; %U, %Q: m1's ID and peer URL */
static void test_member_writes(void)
{
    static const char *const members[] = { "member list -w json", NULL };
    snprintf(g_var['P' - 'A'], sizeof g_var[0], "http://127.0.0.1:%d", test_free_port());
    snprintf(g_var['O' - 'A'], sizeof g_var[0], "http://127.0.0.1:%d", test_free_port());
    snprintf(g_var['U' - 'A'], sizeof g_var[0], "%" PRIx64, g_mid[1]);
    snprintf(g_var['Q' - 'A'], sizeof g_var[0], "http://127.0.0.1:%d", g_m[1].peer_port);
    REQUIRE(add_learner() != 0);                  /* waits until etcd takes changes */
    g_show = members;
    g_reset = reset_members;
    CASES({ "member add m9 --peer-urls=%P --learner", MASK_MEMBER, true, NULL, NULL, 0 },
          { "member add m9 --peer-urls=%P --learner -w json", MASK_MEMBER, true, NULL, NULL, 0 },
          { "member add m9 --peer-urls=%P", MASK_MEMBER, true, NULL, NULL, 0 },   /* a voter */
          { "member add m9 --peer-urls=%P,%O", MASK_MEMBER, true, NULL, NULL, 0 },
          { "member update %U --peer-urls=%Q", 0, true, NULL, NULL, 0 },        /* its own URL */
          { "member update %U --peer-urls=%Q -w json", 0, true, NULL, NULL, 0 },
          { "member update 1 --peer-urls=%Q", 0, true, NULL, NULL, 0 });        /* 1: not found */
    g_reset = reset_learner;
    CASES({ "member remove %M", MASK_MEMBER, true, NULL, NULL, 0 },
          { "member remove %M -w json", MASK_MEMBER, true, NULL, NULL, 0 },
          { "member remove 1", MASK_MEMBER, true, NULL, NULL, 0 },              /* 1: not found */
          { "member promote %M", MASK_MEMBER, true, NULL, NULL, 0 });           /* 1: not in sync */
    /* etcdctl adds the member before it refuses the format, etcdctl_lite
       refuses first: the state is not compared */
    g_show = g_no_show;
    g_reset = reset_members;
    CASES({ "member add m9 --peer-urls=%P -w fields", 0, true, NULL, NULL, 0 });
    g_reset = reset_learner;
    CASES({ "member remove %M -w table", 0, true, NULL, NULL, 0 });
    g_reset = NULL;
    g_show = NULL;
    reset_members();
}

/* The learner's status answers and it has applied what the leader has:
   etcd then promotes it (its leader sees it in sync). */
static void wait_in_sync(const test_etcd *j)
{
    for (double deadline = test_now() + 15.0; test_now() < deadline; sleep_ms(100)) {
        etcd_res *l = etcd_status(g_cli, g_m[g_lead0].url), *r = etcd_status(g_cli, j->url);
        bool ok = l && r && r->status == 200 && r->raft_applied_index >= l->raft_index;
        etcd_res_free(l);
        etcd_res_free(r);
        if (ok) break;
    }
    sleep_ms(300);                           /* its match reaches the leader */
}

/* A learner started for each tool (etcd's runtime reconfiguration: added,
   then started with --initial-cluster-state existing), promoted by it,
   then removed and stopped. */
static void test_promote(void)
{
    static char out[2][4096], err[4096];
    const char *exe[2] = { "etcdctl", g_lite };
    int rc[2];
    for (int t = 0; t < 2; t++) {
        test_etcd j;
        char cluster[1100], buf[512], *argv[64];
        cmd_case c = { "member promote %M", MASK_MEMBER, false, NULL, NULL, 0 };
        reset_members();
        REQUIRE(test_etcd_join_prepare(&j, "m9") == 0);
        snprintf(g_var['P' - 'A'], sizeof g_var[0], "http://127.0.0.1:%d", j.peer_port);
        uint64_t id = add_learner();
        REQUIRE(id != 0);
        snprintf(cluster, sizeof cluster, "%s,m9=%s", g_m[0].cluster, g_var['P' - 'A']);
        REQUIRE(test_etcd_join_start(&j, cluster, g_m[0].token, NULL) == 0);
        wait_in_sync(&j);
        make_argv(exe[t], &c, buf, sizeof buf, argv);
        rc[t] = run_tool_err(argv, &c, NULL, out[t], sizeof out[t], err, sizeof err);
        apply_masks(out[t], c.masks);
        if (t == 1 && g_v34 && rc[t]) fprintf(stderr, "  lite promote: %s", err);
        etcd_res_free(etcd_member_remove(g_cli, id));
        test_etcd_stop(&j);
    }
    if (rc[0] != rc[1] || strcmp(out[0], out[1]))
        fprintf(stderr, "  `member promote`: exit %d vs %d\n  --- etcdctl\n%s  --- etcdctl_lite\n%s",
                rc[0], rc[1], out[0], out[1]);
    CHECK(rc[0] == 0 && rc[0] == rc[1] && !strcmp(out[0], out[1]));
}

/* The first leader back, and the cluster agreeing on it. */
static void reset_leader(void)
{
    for (double deadline = test_now() + 10.0; test_now() < deadline; sleep_ms(100)) {
        int l = test_cluster_leader(g_m, 3, 2.0);
        if (l == g_lead0) return;
        if (l >= 0) etcd_res_free(etcd_move_leader(g_cli, g_mid[g_lead0]));
    }
    fprintf(stderr, "  reset_leader: m%d does not lead again\n", g_lead0);
}

static void test_move_leader(void)
{
    int to = (g_lead0 + 1) % 3;
    char hosts[256];
    snprintf(g_var['T' - 'A'], sizeof g_var[0], "%" PRIx64, g_mid[to]);
    snprintf(g_var['C' - 'A'], sizeof g_var[0], "%s", test_cluster_hosts(g_m, 3, -1, hosts, sizeof hosts));
    snprintf(g_var['F' - 'A'], sizeof g_var[0], "%s", g_m[to].url);
    g_reset = reset_leader;
    g_show = g_no_show;
    CASES({ "--endpoints=%C move-leader %T", 0, true, NULL, NULL, 0 },
          { "--endpoints=%C move-leader %T -w json", MASK_TERM, true, NULL, NULL, 0 },
          { "--endpoints=%F move-leader %T", 0, true, NULL, NULL, 0 },    /* 128: no leader given */
          { "--endpoints=%C move-leader %T -w fields", 0, true, NULL, NULL, 0 });  /* 4 */
    g_reset = NULL;
    g_show = NULL;
    reset_leader();
}

/* The cluster's tests, on it. */
static void test_cluster_cmds(void)
{
    REQUIRE(test_cluster_start(g_m, 3, NULL) == 0);
    for (int i = 0; i < 3; i++) REQUIRE(test_member_status(&g_m[i], &g_mid[i], NULL) == 0);
    REQUIRE((g_lead0 = test_cluster_leader(g_m, 3, 10.0)) >= 0);
    use_cluster(true);
    if (g_cli) {
        test_member_reads();
        test_member_writes();
        test_promote();
        test_move_leader();
    }
    use_cluster(false);
    test_cluster_stop(g_m, 3);
}

/* TEST_ONLY=test_a,test_b runs only those (the others' state is set up
   by reset_keys and each test itself). */
static bool wanted(const char *name)
{
    const char *only = getenv("TEST_ONLY");
    return !only || !*only || strstr(only, name);
}
#define RUN_WANTED(fn) do { if (wanted(#fn)) RUN(fn); } while (0)

int main(void)
{
    const char *dir = getenv("EXAMPLES_DIR");
    snprintf(g_lite, sizeof g_lite, "%s/etcdctl_lite", dir && *dir ? dir : "build");
    setenv("ETCDCTL_API", "3", 1);
    if (access(g_lite, X_OK) != 0) {
        fprintf(stderr, "no %s (make examples)\n", g_lite);
        return 1;
    }
    if (test_etcd_start(&g_etcd, NULL) != 0) {
        fprintf(stderr, "cannot start etcd\n");
        return 1;
    }
    snprintf(g_endpoints, sizeof g_endpoints, "--endpoints=%s", g_etcd.url);
    snprintf(g_hostport, sizeof g_hostport, "127.0.0.1:%d", g_etcd.port);
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.serializer = ETCD_SERIALIZER_RAW;                 /* values as etcdctl stores them */
    g_cli = test_client(&g_etcd, &o);
    if (!g_cli) return 1;
    etcd_res *v = etcd_version(g_cli);
    g_v34 = v && v->etcdserver && !strncmp(v->etcdserver, "3.4.", 4);
    etcd_res_free(v);
    reset_keys();

    RUN_WANTED(test_get);
    RUN_WANTED(test_global_flags);
    RUN_WANTED(test_usage);
    RUN_WANTED(test_put_del);
    RUN_WANTED(test_lease);
    RUN_WANTED(test_txn);
    RUN_WANTED(test_cluster);
    RUN_WANTED(test_hashkv_alarm);
    RUN_WANTED(test_defrag);
    RUN_WANTED(test_admin_usage);
    RUN_WANTED(test_auth_usage);
    RUN_WANTED(test_user_reads);
    RUN_WANTED(test_user_writes);
    RUN_WANTED(test_roles);
    RUN_WANTED(test_lock_elect);
    RUN_WANTED(test_watch);
    RUN_WANTED(test_snapshot);
    RUN_WANTED(test_etcdutl);
    RUN_WANTED(test_cluster_cmds);
    RUN_WANTED(test_make_mirror);
    /* these change the suite's etcd for good: last */
    RUN_WANTED(test_compaction);
    RUN_WANTED(test_alarms);
    RUN_WANTED(test_auth_enable);

    etcd_free(g_cli);
    test_etcd_stop(&g_etcd);
    return test_summary();
}
