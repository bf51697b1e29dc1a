/* test_etcdctl.c - etcdctl_lite side by side with the real etcdctl.

   Starts etcd (tests/harness.h), then runs `etcdctl` (ETCDCTL_API=3) and
   $EXAMPLES_DIR/etcdctl_lite (default build/) with the same arguments
   against it and compares stdout and the exit status: one CHECK per
   command, a diff on mismatch.

   Both run on the same state: read-only commands on the same seeded keys;
   a write command runs after the keys under /t/ are reset to the same
   values, and its effect is compared too (etcdctl's `get /t/ --prefix`
   after it, appended to the output). What still differs legitimately is
   masked, each with its reason (see the MASK_* flags): nothing else. */
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
};

typedef struct cmd_case {
    const char *args;             /* space-separated; %R %L %E %H substituted */
    int masks;
    bool write;                   /* reset /t/ before, show /t/ after */
    const char *input;            /* stdin; NULL: /dev/null */
    const char *env;              /* "NAME=value" for the child, or NULL */
    int stop_ms;                  /* > 0: SIGTERM after this long (watch, keep-alive) */
} cmd_case;

/* ---- running a tool ----------------------------------------------------- */

/* Run argv with stdin `input`; stdout into out; returns the exit status
   (128 + signal for a signal). */
static int run_tool(char *const *argv, const cmd_case *c, char *out, size_t size)
{
    int po[2], pi[2];
    if (pipe(po) != 0) return -1;
    if (pipe(pi) != 0) { close(po[0]); close(po[1]); return -1; }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pi[0], 0);
        dup2(po[1], 1);
        int dn = open("/dev/null", O_WRONLY);
        if (dn >= 0) dup2(dn, 2);                       /* stderr: not compared */
        close(po[0]); close(po[1]); close(pi[0]); close(pi[1]);
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
    close(po[1]);
    close(pi[0]);
    if (c->input && write(pi[1], c->input, strlen(c->input)) < 0) {}
    close(pi[1]);
    size_t n = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool stopped = false;
    for (;;) {
        struct pollfd pf = { po[0], POLLIN, 0 };
        int r = poll(&pf, 1, 50);
        if (r > 0) {
            char buf[4096];
            ssize_t got = read(po[0], buf, sizeof buf);
            if (got <= 0) break;
            size_t take = (size_t)got < size - 1 - n ? (size_t)got : size - 1 - n;
            memcpy(out + n, buf, take);
            n += take;
        }
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        long ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (!stopped && ((c->stop_ms > 0 && ms >= c->stop_ms) || ms > 15000)) {
            kill(pid, ms > 15000 ? SIGKILL : SIGTERM);    /* our own child only */
            stopped = true;
        }
    }
    out[n] = '\0';
    close(po[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Split args (after substituting %R, %L, %E, %H) into argv after exe. */
static void make_argv(const char *exe, const cmd_case *c, char *buf, size_t size, char **argv)
{
    size_t n = 0;
    for (const char *s = c->args; *s && n + 40 < size; s++) {
        if (*s == '%' && s[1]) {
            s++;
            if (*s == 'R') n += (size_t)snprintf(buf + n, size - n, "%" PRId64, g_rev);
            else if (*s == 'L') n += (size_t)snprintf(buf + n, size - n, "%" PRIx64, (uint64_t)g_lease);
            else if (*s == 'E') n += (size_t)snprintf(buf + n, size - n, "%s", g_endpoints);
            else if (*s == 'H') n += (size_t)snprintf(buf + n, size - n, "%s", g_hostport);
        } else {
            buf[n++] = *s;
        }
    }
    buf[n] = '\0';
    int k = 0;
    argv[k++] = (char *)exe;
    if (!strstr(c->args, "%E") && !strstr(c->args, "%H") &&
        !(c->env && strstr(c->env, "ENDPOINTS"))) argv[k++] = g_endpoints;
    for (char *w = strtok(buf, " "); w && k < 62; w = strtok(NULL, " ")) argv[k++] = w;
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

static void apply_masks(char *s, int masks)
{
    static const char *const revs[] = { "\"revision\":", "\"create_revision\":",
        "\"mod_revision\":", "\"Revision\" : ", "\"CreateRevision\" : ", "\"ModRevision\" : ",
        "\"PrevCreateRevision\" : ", "\"PrevModRevision\" : " };
    static const char *const leases[] = { "lease ", "\"ID\":", "\"ID\" : ", "\"id\":",
        "\"lease\":", "\"Lease\" : ", "lk/", "el/" };    /* lk, el: lock, election */
    static const char *const ttls[] = { "remaining(", "\"ttl\":", "\"TTL\" : " };
    if (masks & MASK_REV) for (size_t i = 0; i < 8; i++) mask_after(s, revs[i]);
    if (masks & MASK_LEASE) for (size_t i = 0; i < 8; i++) mask_after(s, leases[i]);
    if (masks & MASK_TTL) for (size_t i = 0; i < 3; i++) mask_after(s, ttls[i]);
    if (masks & MASK_HELP) s[0] = '\0';
    if (masks & MASK_TABLE) {
        char *o = s;
        for (const char *p = s; *p; p++)
            if (!((*p == ' ' || *p == '-') && o > s && o[-1] == *p)) *o++ = *p;
        *o = '\0';
    }
    if (masks & MASK_TOOK) {
        mask_chars(s, "\"took\":\"", "0123456789.\xc2\xb5mns");
        mask_chars(s, "took = ", "0123456789.\xc2\xb5mns");
        mask_chars(s, "| true | ", "0123456789.\xc2\xb5mns");
    }
    if (masks & MASK_VERSION) { mask_after(s, "version: "); mask_after(s, "API version: "); }
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

/* Run one case with both tools; CHECK equal output and exit status. */
static void side_by_side(const cmd_case *c)
{
    static char out[2][16384], state[2][8192];
    const char *exe[2] = { "etcdctl", g_lite };
    int rc[2];
    for (int t = 0; t < 2; t++) {
        char buf[1024], *argv[64];
        if (c->write) reset_keys();
        make_argv(exe[t], c, buf, sizeof buf, argv);
        rc[t] = run_tool(argv, c, out[t], sizeof out[t]);
        state[t][0] = '\0';
        if (c->write) {
            cmd_case show = { "get /t/ --prefix -w json", 0, false, NULL, NULL, 0 };
            char sb[256], *sargv[64];
            make_argv("etcdctl", &show, sb, sizeof sb, sargv);
            run_tool(sargv, &show, state[t], sizeof state[t]);
            apply_masks(state[t], MASK_REV | MASK_LEASE);
        }
        apply_masks(out[t], c->masks);
    }
    bool same = rc[0] == rc[1] && !strcmp(out[0], out[1]) && !strcmp(state[0], state[1]);
    if (!same || getenv("TEST_VERBOSE")) {
        fprintf(stderr, "  `%s`: exit %d vs %d\n  --- etcdctl\n%s%s  --- etcdctl_lite\n%s%s",
                c->args, rc[0], rc[1], out[0], state[0], out[1], state[1]);
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
          { "member list -w fields", 0, false, NULL, NULL, 0 },
          { "endpoint status", 0, false, NULL, NULL, 0 },
          { "endpoint status -w json", 0, false, NULL, NULL, 0 },
          { "endpoint status -w fields", 0, false, NULL, NULL, 0 },
          { "endpoint health", MASK_TOOK, false, NULL, NULL, 0 },    /* 3.4: stdout empty */
          { "endpoint health -w json", MASK_TOOK, false, NULL, NULL, 0 },
          { "member list -w table", 0, false, NULL, NULL, 0 },
          { "endpoint status -w table", 0, false, NULL, NULL, 0 },
          { "--endpoints=%H,%H endpoint status -w table", 0, false, NULL, NULL, 0 },  /* two rows */
          { "endpoint health -w table", MASK_TABLE | MASK_TOOK, false, NULL, NULL, 0 },
          { "get /t/a -w table", 0, false, NULL, NULL, 0 },          /* exit 4, nothing printed */
          { "lease list -w table", 0, false, NULL, NULL, 0 });
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
          { "watch /t/a --rev %R -w fields", 0, false, NULL, NULL, 1000 });
}

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
    reset_keys();

    RUN(test_get);
    RUN(test_global_flags);
    RUN(test_usage);
    RUN(test_put_del);
    RUN(test_lease);
    RUN(test_txn);
    RUN(test_cluster);
    RUN(test_lock_elect);
    RUN(test_watch);

    etcd_free(g_cli);
    test_etcd_stop(&g_etcd);
    return test_summary();
}
