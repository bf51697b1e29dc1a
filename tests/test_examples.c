/* test_examples.c - run the example programs against a real etcd.

   Starts etcd with tests/harness.h, then runs etcdctl_lite, watch_config,
   service_registry and leader from $EXAMPLES_DIR (default "build"; `make
   examples` builds them) with fork/exec, capturing stdout, stderr and the
   exit status. Every child runs under a time limit and is killed by its
   PID when it overruns; daemons are stopped by their PID (SIGTERM, SIGKILL
   or, for a pause, SIGSTOP/SIGCONT). */
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "test.h"
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHILD_LIMIT 10.0        /* seconds any one child may take */

static test_etcd g_etcd;
static char g_lite[512], g_watch_config[512], g_registry[512], g_leader[512], g_endpoints[128];

/* ---- child processes --------------------------------------------------- */

typedef struct proc {
    pid_t pid;
    int fd[2];                  /* read ends of its stdout, stderr; -1 at EOF */
    size_t len[2];
    char out[16384], err[16384];
    int status;                 /* exit code, 128 + signal, -1 killed on time */
} proc;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* Start argv[0] (a path) with stdin from /dev/null. */
static bool proc_start(proc *p, const char *const *argv)
{
    int po[2], pe[2];
    memset(p, 0, sizeof *p);
    p->pid = -1;
    p->status = -1;
    p->fd[0] = p->fd[1] = -1;
    if (pipe(po) != 0) return false;
    if (pipe(pe) != 0) {
        close(po[0]);
        close(po[1]);
        return false;
    }
    fflush(stdout);
    fflush(stderr);
    p->pid = fork();
    if (p->pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        if (in > 0) {
            dup2(in, 0);
            close(in);
        }
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]); close(po[1]); close(pe[0]); close(pe[1]);
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    if (p->pid < 0) {
        close(po[0]);
        close(pe[0]);
        return false;
    }
    p->fd[0] = po[0];
    p->fd[1] = pe[0];
    fcntl(po[0], F_SETFD, FD_CLOEXEC);  /* later children must not inherit them */
    fcntl(pe[0], F_SETFD, FD_CLOEXEC);
    return true;
}

static void proc_read_fd(proc *p, int k)
{
    char *buf = k ? p->err : p->out, scratch[4096];
    size_t room = sizeof p->out - 1 - p->len[k];
    ssize_t n = room ? read(p->fd[k], buf + p->len[k], room)
                     : read(p->fd[k], scratch, sizeof scratch);     /* overflow: drop */
    if (n > 0 && room) {
        p->len[k] += (size_t)n;
        buf[p->len[k]] = '\0';
    } else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        close(p->fd[k]);
        p->fd[k] = -1;
    }
}

/* Wait up to ms for output and take it in; false when both pipes are closed. */
static bool proc_poll(proc *p, int ms)
{
    struct pollfd pf[2];
    int which[2];
    nfds_t n = 0;
    for (int k = 0; k < 2; k++) {
        if (p->fd[k] < 0) continue;
        pf[n].fd = p->fd[k];
        pf[n].events = POLLIN;
        pf[n].revents = 0;
        which[n++] = k;
    }
    if (n == 0) return false;
    if (poll(pf, n, ms) > 0)
        for (nfds_t i = 0; i < n; i++)
            if (pf[i].revents) proc_read_fd(p, which[i]);
    return p->fd[0] >= 0 || p->fd[1] >= 0;
}

/* Wait up to secs for its stdout (k 0) or stderr (k 1), after its first
   `from` bytes, to contain needle. */
static bool proc_wait_from(proc *p, int k, size_t from, const char *needle, double secs)
{
    double end = now() + secs;
    const char *buf = k ? p->err : p->out;
    while (!strstr(buf + from, needle))
        if (now() >= end || !proc_poll(p, 20)) return strstr(buf + from, needle) != NULL;
    return true;
}

/* Wait up to secs for its stdout (k 0) or stderr (k 1) to contain needle. */
static bool proc_wait_for(proc *p, int k, const char *needle, double secs)
{
    return proc_wait_from(p, k, 0, needle, secs);
}

/* Wait up to secs for it to exit (else kill it), read all its output. */
static void proc_finish(proc *p, double secs)
{
    double end = now() + secs;
    int st = 0;
    bool killed = false;
    if (p->pid <= 0) goto done;
    for (;;) {
        bool reading = proc_poll(p, 50);
        if (waitpid(p->pid, &st, WNOHANG) == p->pid) break;
        if (now() >= end) {
            fprintf(stderr, "  child %d overran %.0f s: killed\n", (int)p->pid, secs);
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &st, 0);
            killed = true;
            break;
        }
        if (!reading) sleep_ms(10);
    }
    for (int i = 0; i < 100 && proc_poll(p, 20); i++) {}   /* what is left */
    p->status = killed ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
done:
    for (int k = 0; k < 2; k++)
        if (p->fd[k] >= 0) close(p->fd[k]);
    p->fd[0] = p->fd[1] = -1;
    p->pid = -1;
}

/* A proc that was never started (proc_kill and proc_finish do nothing). */
static void proc_none(proc *p)
{
    memset(p, 0, sizeof *p);
    p->pid = -1;
    p->fd[0] = p->fd[1] = -1;
}

/* Stop a daemon that may still run: SIGKILL by its PID, reap it. For the
   end of a test (also one that failed half-way); a no-op once finished. */
static void proc_kill(proc *p)
{
    if (p->pid > 0) kill(p->pid, SIGKILL);
    proc_finish(p, CHILD_LIMIT);
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* Start exe with args, after --endpoints=<test etcd> when with_endpoints. */
static bool start(proc *p, const char *exe, bool with_endpoints, const char *const *args)
{
    const char *argv[32];
    size_t n = 0;
    argv[n++] = exe;
    if (with_endpoints) argv[n++] = g_endpoints;
    for (size_t i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    return proc_start(p, argv);
}

static void run(proc *p, const char *exe, bool with_endpoints, const char *const *args)
{
    if (!start(p, exe, with_endpoints, args)) fprintf(stderr, "  cannot start %s\n", exe);
    proc_finish(p, CHILD_LIMIT);
}

/* etcdctl_lite --endpoints=<test etcd> ... */
#define LITE(p, ...) run((p), g_lite, true, ARGS(__VA_ARGS__))
#define LITE_START(p, ...) start((p), g_lite, true, ARGS(__VA_ARGS__))

/* Exit status code, with its output shown when it is not. */
#define CHECK_EXIT(p, code) do { \
    if ((p).status != (code)) { \
        fprintf(stderr, "  stdout: [%s]\n  stderr: [%s]\n", (p).out, (p).err); \
    } \
    CHECK_INT((p).status, (code)); } while (0)

/* Success with exactly this stdout and nothing on stderr. */
#define CHECK_OUT(p, text) do { CHECK_EXIT(p, 0); CHECK_STR((p).out, (text)); \
    CHECK_STR((p).err, ""); } while (0)

/* The revision etcd is at now, read with the library. */
static int64_t current_revision(void)
{
    etcd *cli = test_client(&g_etcd, NULL);
    etcd_res *r = cli ? etcd_get(cli, "/no/such/key", NULL) : NULL;
    int64_t rev = r && r->status == 200 ? r->revision : -1;
    etcd_res_free(r);
    etcd_free(cli);
    return rev;
}

/* ---- etcdctl_lite ------------------------------------------------------- */

static void test_lite_usage(void)
{
    /* etcdctl's exit codes: 128 bad arguments, 1 unknown flag or command,
       4 an unsupported option value; "Error: ..." on stderr */
    const struct { const char *const *args; int code; } bad[] = {
        { ARGS("get"), 128 }, { ARGS("frobnicate"), 1 }, { ARGS("get", "/a", "--bogus"), 1 },
{ ARGS("get", "/a", "--limit=x"), 1 },
        { ARGS("get", "/a", "--order=sideways"), 4 }, { ARGS("get", "/a", "--sort-by=size"), 4 },
        { ARGS("get", "/a", "--prefix", "--from-key"), 128 }, { ARGS("put", "/a"), 128 },
        { ARGS("put", "/a", "1", "--prefix"), 1 }, { ARGS("--nope", "get", "/a"), 1 },
        { ARGS("--timeout=soon", "get", "/a"), 1 }, { ARGS("get", "/a", "--limit"), 1 },
        { ARGS("lease", "grant"), 128 }, { ARGS("lease", "grant", "abc"), 128 },
        { ARGS("lease", "revoke", "xyz"), 128 }, { ARGS("lease", "revoke", "-5"), 1 },
        { ARGS("put", "/a", "1", "--lease=zz"), 128 }, { ARGS("-w", "yaml", "get", "/a"), 4 },
        { ARGS("watch", "/a", "--count=many"), 1 }, { ARGS("txn", "extra"), 128 },
    };
    proc p;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        run(&p, g_lite, true, bad[i].args);
        if (p.status != bad[i].code) fprintf(stderr, "  case %zu (%s %s)\n", i, bad[i].args[0],
                                             bad[i].args[1] ? bad[i].args[1] : "");
        CHECK_EXIT(p, bad[i].code);
        CHECK_PREFIX(p.err, "Error: ");
        CHECK_STR(p.out, "");
    }
    /* help: stdout, exit 0; a bare command group too (etcdctl does so) */
    const char *const *help[] = { ARGS("--help"), ARGS("-h"), ARGS("get", "--help"),
                                  ARGS("lease"), ARGS("lease", "lend", "1") };
    for (size_t i = 0; i < sizeof help / sizeof help[0]; i++) {
        run(&p, g_lite, false, help[i]);
        CHECK_EXIT(p, 0);
        CHECK_HAS(p.out, "USAGE:");
        CHECK_STR(p.err, "");
    }
    run(&p, g_lite, false, ARGS("--endpoints=http://127.0.0.1:1"));   /* no command */
    CHECK_EXIT(p, 0);
    CHECK_HAS(p.out, "USAGE:");
}

static void test_lite_unreachable(void)
{
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "--endpoints=http://127.0.0.1:%d", test_free_port());
    proc p;
    double t0 = now();
    run(&p, g_lite, false, ARGS(endpoint, "--timeout=2", "get", "/a"));
    CHECK_EXIT(p, 1);
    CHECK_PREFIX(p.err, "Error: ");
    CHECK(strlen(p.err) > strlen("Error: \n"));
    CHECK_STR(p.out, "");
    CHECK(now() - t0 < 5);
    run(&p, g_lite, false, ARGS(endpoint, "--timeout=2", "put", "/a", "1"));
    CHECK_EXIT(p, 1);
    CHECK_PREFIX(p.err, "Error: ");

    /* a dead endpoint first: the call fails over to the live one */
    char both[160];
    snprintf(both, sizeof both, "%s,127.0.0.1:%d", endpoint + strlen("--endpoints="),
             g_etcd.port);
    run(&p, g_lite, false, ARGS("--endpoints", both, "put", "/fo", "1"));
    CHECK_OUT(p, "OK\n");
}

static void test_lite_put_get(void)
{
    proc p;
    LITE(&p, "put", "/g/a", "1");
    CHECK_OUT(p, "OK\n");
    int64_t rev1 = current_revision();
    LITE(&p, "put", "/g/a", "10");
    CHECK_OUT(p, "OK\n");
    LITE(&p, "put", "/g/b", "two words");
    CHECK_OUT(p, "OK\n");
    LITE(&p, "put", "/g/c", "--", "-3");                /* "-3" alone: a flag */
    CHECK_OUT(p, "OK\n");
    LITE(&p, "put", "/gx", "outside");
    CHECK_OUT(p, "OK\n");

    LITE(&p, "get", "/g/a");
    CHECK_OUT(p, "/g/a\n10\n");
    LITE(&p, "get", "/g/a", "--rev=0");
    CHECK_OUT(p, "/g/a\n10\n");
    char rev[32];
    snprintf(rev, sizeof rev, "--rev=%" PRId64, rev1);
    LITE(&p, "get", rev, "/g/a");                       /* flags anywhere */
    CHECK_OUT(p, "/g/a\n1\n");
    LITE(&p, "get", "/g/nothing");
    CHECK_OUT(p, "");
    LITE(&p, "get", "/g/", "--prefix");
    CHECK_OUT(p, "/g/a\n10\n/g/b\ntwo words\n/g/c\n-3\n");
    LITE(&p, "get", "/g/", "--prefix", "--keys-only");   /* etcdctl: an empty value line */
    CHECK_OUT(p, "/g/a\n\n/g/b\n\n/g/c\n\n");
    LITE(&p, "get", "/g/", "--prefix", "--print-value-only");
    CHECK_OUT(p, "10\ntwo words\n-3\n");
    LITE(&p, "get", "/g/b", "--from-key", "--keys-only", "--limit", "2");
    CHECK_OUT(p, "/g/b\n\n/g/c\n\n");
    LITE(&p, "get", "/g/a", "/g/c", "--print-value-only");   /* [key, range_end) */
    CHECK_OUT(p, "10\ntwo words\n");
    LITE(&p, "get", "/g/", "--prefix", "--count-only");
    CHECK_OUT(p, "3\n");
    LITE(&p, "get", "/g/", "--prefix", "--limit=2");
    CHECK_OUT(p, "/g/a\n10\n/g/b\ntwo words\n");
    LITE(&p, "get", "/g/", "--prefix", "--order=DESCEND", "--print-value-only");
    CHECK_OUT(p, "-3\ntwo words\n10\n");
    LITE(&p, "get", "/g/", "--prefix", "--order", "ascend", "--limit=1");
    CHECK_OUT(p, "/g/a\n10\n");
    LITE(&p, "get", "/g/", "--prefix", "--sort-by=VALUE", "--print-value-only");
    CHECK_OUT(p, "-3\n10\ntwo words\n");
    LITE(&p, "get", "/g/a", "--hex");
    CHECK_OUT(p, "\\x2f\\x67\\x2f\\x61\n\\x31\\x30\n");
    LITE(&p, "get", "/g/a", "-w", "fields");
    CHECK_EXIT(p, 0);
    CHECK_HAS(p.out, "\"Key\" : \"/g/a\"\n\"CreateRevision\" : ");
    CHECK_HAS(p.out, "\"Value\" : \"10\"\n\"Lease\" : 0\n\"More\" : false\n\"Count\" : 1\n");
    LITE(&p, "get", "/g/a", "--write-out=json");
    CHECK_EXIT(p, 0);
    CHECK_PREFIX(p.out, "{\"header\":{\"cluster_id\":");
    CHECK_HAS(p.out, "\"kvs\":[{\"key\":\"L2cvYQ==\",\"create_revision\":");
    CHECK_HAS(p.out, "\"version\":2,\"value\":\"MTA=\"}],\"count\":1}\n");

    LITE(&p, "put", "/g/b", "20", "--prev-kv");
    CHECK_OUT(p, "OK\n/g/b\ntwo words\n");
    LITE(&p, "put", "--prev-kv", "/g/new", "x");        /* no previous kv */
    CHECK_OUT(p, "OK\n");
    LITE(&p, "put", "/g/dash", "--", "--not-a-flag");
    CHECK_OUT(p, "OK\n");
    LITE(&p, "get", "/g/dash");
    CHECK_OUT(p, "/g/dash\n--not-a-flag\n");
    LITE(&p, "put", "/g/extra", "v", "ignored", "words");     /* as etcdctl */
    CHECK_OUT(p, "OK\n");
    LITE(&p, "get", "/g/extra", "--print-value-only");
    CHECK_OUT(p, "v\n");
    run(&p, "/bin/sh", false, ARGS("-c", "printf 'from\\nstdin' | \"$0\" \"$1\" put /g/in",
                                   g_lite, g_endpoints));
    CHECK_OUT(p, "OK\n");
    LITE(&p, "get", "/g/in", "--print-value-only");
    CHECK_OUT(p, "from\nstdin\n");
}

static void test_lite_del(void)
{
    proc p;
    LITE(&p, "put", "/d/a", "1");
    LITE(&p, "put", "/d/b", "2");
    LITE(&p, "put", "/d/c", "3");
    LITE(&p, "put", "/dz", "keep");
    LITE(&p, "del", "/d/a");
    CHECK_OUT(p, "1\n");
    LITE(&p, "del", "/d/a");
    CHECK_OUT(p, "0\n");
    LITE(&p, "del", "/d/b", "--prev-kv");
    CHECK_OUT(p, "1\n/d/b\n2\n");
    LITE(&p, "put", "/d/b", "22");
    LITE(&p, "del", "/d/", "--prefix", "--prev-kv");
    CHECK_OUT(p, "2\n/d/b\n22\n/d/c\n3\n");
    LITE(&p, "get", "/d/", "--prefix", "--count-only");
    CHECK_OUT(p, "0\n");
    LITE(&p, "get", "/dz");
    CHECK_OUT(p, "/dz\nkeep\n");
}

static void test_lite_global_flags(void)
{
    proc p;
    LITE(&p, "--key-prefix=/kp/", "put", "a", "1");
    CHECK_OUT(p, "OK\n");
    LITE(&p, "--key-prefix=/kp/", "--timeout=3", "get", "a");
    CHECK_OUT(p, "/kp/a\n1\n");                          /* keys keep the prefix */
    LITE(&p, "get", "/kp/a");
    CHECK_OUT(p, "/kp/a\n1\n");

    LITE(&p, "--json", "put", "/j/x", "not json");
    CHECK_EXIT(p, 1);
    CHECK_PREFIX(p.err, "Error: ");
    CHECK_STR(p.out, "");
    LITE(&p, "--json", "put", "/j/x", "{\"a\": [1, 2]}");
    CHECK_OUT(p, "OK\n");
    LITE(&p, "get", "/j/x");
    CHECK_OUT(p, "/j/x\n{\"a\":[1,2]}\n");
    LITE(&p, "put", "/j/raw", "not json");                /* RAW by default */
    CHECK_OUT(p, "OK\n");

    /* a comma-separated endpoint list */
    char both[160];
    snprintf(both, sizeof both, "--endpoints=%s,%s", g_etcd.url, g_etcd.url);
    run(&p, g_lite, false, ARGS(both, "get", "/j/raw"));
    CHECK_OUT(p, "/j/raw\nnot json\n");

    /* global flags after the command, "--flag value", schemeless endpoints */
    char hostport[64];
    snprintf(hostport, sizeof hostport, "127.0.0.1:%d", g_etcd.port);
    run(&p, g_lite, false, ARGS("get", "/j/raw", "--endpoints", hostport, "-w", "simple"));
    CHECK_OUT(p, "/j/raw\nnot json\n");
    /* ETCDCTL_ENDPOINTS: through env(1), the only way this runner sets one */
    char env[96];
    snprintf(env, sizeof env, "ETCDCTL_ENDPOINTS=%s", hostport);
    run(&p, "/usr/bin/env", false, ARGS(env, g_lite, "get", "/j/raw", "--print-value-only"));
    CHECK_OUT(p, "not json\n");
}

static void test_lite_watch(void)
{
    int64_t rev = current_revision();
    REQUIRE(rev > 0);
    char from[32];
    snprintf(from, sizeof from, "--rev=%" PRId64, rev + 1);
    proc w, p;
    REQUIRE(LITE_START(&w, "watch", "/w/", "--prefix", from, "--count=3"));
    LITE(&p, "put", "/w/a", "1");
    CHECK_OUT(p, "OK\n");
    /* each event is flushed as it comes, before the watch ends */
    CHECK(proc_wait_for(&w, 0, "PUT\n/w/a\n1\n", 5));
    LITE(&p, "put", "/wx", "not watched");
    LITE(&p, "put", "/w/b", "two words");
    LITE(&p, "del", "/w/a");
    CHECK_OUT(p, "1\n");
    proc_finish(&w, CHILD_LIMIT);
    CHECK_OUT(w, "PUT\n/w/a\n1\nPUT\n/w/b\ntwo words\nDELETE\n/w/a\n\n");

    /* one key, with the previous kv, from a past revision */
    REQUIRE(LITE_START(&w, "watch", "/w/b", from, "--prev-kv", "--count=1"));
    proc_finish(&w, CHILD_LIMIT);
    CHECK_OUT(w, "PUT\n/w/b\ntwo words\n");
    rev = current_revision();
    snprintf(from, sizeof from, "--rev=%" PRId64, rev + 1);
    REQUIRE(LITE_START(&w, "watch", "/w/b", from, "--prev-kv", "--count=2"));
    LITE(&p, "put", "/w/b", "3");
    LITE(&p, "del", "/w/b");
    proc_finish(&w, CHILD_LIMIT);
    CHECK_OUT(w, "PUT\n/w/b\ntwo words\n/w/b\n3\nDELETE\n/w/b\n3\n/w/b\n\n");

    /* idle past the client timeout: "timeout" just means wait again */
    snprintf(from, sizeof from, "--rev=%" PRId64, current_revision() + 1);
    REQUIRE(start(&w, g_lite, true, ARGS("--timeout=0.5", "watch", "/w/c", from, "--count=1")));
    sleep_ms(1300);
    LITE(&p, "put", "/w/c", "late");
    proc_finish(&w, CHILD_LIMIT);
    CHECK_OUT(w, "PUT\n/w/c\nlate\n");
}

static void test_lite_lease(void)
{
    proc p;
    uint64_t id = 0;
    int64_t ttl = 0;
    LITE(&p, "lease", "grant", "60");
    CHECK_EXIT(p, 0);
    /* etcdctl's format: the ID in hex, 16 digits */
    REQUIRE(sscanf(p.out, "lease %" SCNx64 " granted with TTL(%" SCNd64 "s)", &id, &ttl) == 2);
    CHECK_INT(ttl, 60);
    char ids[32], lease_flag[48];
    snprintf(ids, sizeof ids, "%016" PRIx64, id);
    snprintf(lease_flag, sizeof lease_flag, "--lease=%" PRIx64, id);
    CHECK_INT(strlen(p.out), strlen("lease  granted with TTL(60s)\n") + 16);

    /* the printed ID is the lease etcd knows */
    etcd *cli = test_client(&g_etcd, NULL);
    REQUIRE(cli);
    etcd_res *r = etcd_timetolive(cli, (int64_t)id, false);
    CHECK(r && r->status == 200 && r->granted_ttl == 60);
    etcd_res_free(r);
    etcd_free(cli);

    LITE(&p, "put", "/l/k", "v", lease_flag);
    CHECK_OUT(p, "OK\n");
    LITE(&p, "lease", "timetolive", ids);
    CHECK_EXIT(p, 0);
    CHECK_HAS(p.out, "granted with TTL(60s), remaining(");
    CHECK(strstr(p.out, "attached keys") == NULL);
    LITE(&p, "lease", "timetolive", ids, "--keys");
    CHECK_EXIT(p, 0);
    CHECK_HAS(p.out, ids);
    CHECK_HAS(p.out, "attached keys([/l/k])");
    LITE(&p, "lease", "keep-alive", "--once", ids);
    char expect[96];
    snprintf(expect, sizeof expect, "lease %s keepalived with TTL(60)\n", ids);
    CHECK_OUT(p, expect);
    /* without --once: keeps it alive until a signal */
    proc k;
    REQUIRE(LITE_START(&k, "lease", "keep-alive", ids));
    CHECK(proc_wait_for(&k, 0, expect, 5));
    sleep_ms(300);
    CHECK(k.pid > 0 && waitpid(k.pid, NULL, WNOHANG) == 0);      /* still running */
    /* ends by the signal's default action, as etcdctl; SIGTERM, as SIGINT
       is ignored in children of a background job (tests/run.sh's) */
    if (k.pid > 0) kill(k.pid, SIGTERM);
    proc_finish(&k, CHILD_LIMIT);
    CHECK_INT(k.status, 128 + SIGTERM);
    LITE(&p, "lease", "list");
    CHECK_EXIT(p, 0);
    CHECK_HAS(p.out, "found ");
    snprintf(expect, sizeof expect, "\n%s\n", ids);
    CHECK_HAS(p.out, expect);

    LITE(&p, "lease", "revoke", ids);
    snprintf(expect, sizeof expect, "lease %s revoked\n", ids);
    CHECK_OUT(p, expect);
    LITE(&p, "get", "/l/k");                             /* gone with its lease */
    CHECK_OUT(p, "");
    LITE(&p, "lease", "timetolive", ids);
    snprintf(expect, sizeof expect, "lease %s already expired\n", ids);
    CHECK_OUT(p, expect);
    LITE(&p, "lease", "keep-alive", "--once", ids);      /* etcdctl: exit 2 */
    CHECK_EXIT(p, 2);
    CHECK_HAS(p.err, "lease not found");
    LITE(&p, "lease", "keep-alive", ids);                /* ends: the lease is gone */
    snprintf(expect, sizeof expect, "lease %s expired or revoked.\n", ids);
    CHECK_OUT(p, expect);
    LITE(&p, "lease", "revoke", ids);                    /* etcd's error */
    CHECK_EXIT(p, 1);
    CHECK_HAS(p.err, "lease not found");
    CHECK_STR(p.out, "");
}

/* etcdctl_lite txn with stdin (through sh: this runner's stdin is /dev/null) */
static void lite_txn(proc *p, const char *input)
{
    run(p, "/bin/sh", false, ARGS("-c", "printf '%s' \"$3\" | \"$0\" \"$1\" txn $2", g_lite,
                                  g_endpoints, "", input));
}

static void test_lite_txn(void)
{
    proc p;
    lite_txn(&p, "version(\"/x/a\") = \"0\"\n\nput /x/a 1\n\nget /x/a\n\n");
    CHECK_OUT(p, "SUCCESS\n\nOK\n");
    lite_txn(&p, "version(\"/x/a\") = \"0\"\n\nput /x/a 1\n\nget /x/a\n\n");
    CHECK_OUT(p, "FAILURE\n\n/x/a\n1\n");
    /* several compares and ops; a quoted value with spaces */
    lite_txn(&p, "value(\"/x/a\") = \"1\"\nmod(\"/x/a\") > \"0\"\n\n"
                 "put /x/b \"two words\"\ndel /x/a\nget /x/a\n\n\n");
    CHECK_OUT(p, "SUCCESS\n\nOK\n\n1\n\n");
    LITE(&p, "get", "/x/b");
    CHECK_OUT(p, "/x/b\ntwo words\n");
    lite_txn(&p, "create(\"/x/b\") < \"1\"\n\nput /x/c 1\n\nget /x/b\nget /x/none\n\n");
    CHECK_OUT(p, "FAILURE\n\n/x/b\ntwo words\n\n");
    lite_txn(&p, "value(\"/x/b\") != \"two words\"\n\nput /x/c 1\n\ndel /x/ --prefix\n\n");
    CHECK_OUT(p, "FAILURE\n\n1\n");
    lite_txn(&p, "lease(\"/x/c\") = \"0\"\nver(\"/x/c\") = \"0\"\n\nput /x/c 3\n\n\n");
    CHECK_OUT(p, "SUCCESS\n\nOK\n");
    lite_txn(&p, "lease(\"/x/c\") > \"0\"\n\nput /x/c 4\n\n\n");      /* empty else */
    CHECK_OUT(p, "FAILURE\n");
    LITE(&p, "get", "/x/c");
    CHECK_OUT(p, "/x/c\n3\n");
    /* -i: etcdctl's prompts */
    run(&p, "/bin/sh", false, ARGS("-c", "printf 'val(\"/x/c\") = \"3\"\\n\\nget /x/c\\n\\n\\n' | "
                                   "\"$0\" \"$1\" txn -i", g_lite, g_endpoints));
    CHECK_OUT(p, "compares:\nsuccess requests (get, put, del):\n"
                 "failure requests (get, put, del):\nSUCCESS\n\n/x/c\n3\n");
    /* etcdctl's input errors: exit 3 */
    lite_txn(&p, "bogus\n\n\n\n");
    CHECK_EXIT(p, 3);
    CHECK_HAS(p.err, "Error: malformed comparison");
    lite_txn(&p, "version(\"/x/a\") = \"0\"\n\nput /x/a 1\n");            /* no blank lines */
    CHECK_EXIT(p, 3);
    CHECK_STR(p.err, "Error: EOF\n");
    lite_txn(&p, "version(\"/x/a\") ~ \"0\"\n\nput /x/a 1\n\n\n");
    CHECK_EXIT(p, 3);
    lite_txn(&p, "version(\"/x/a\") = \"x\"\n\nput /x/a 1\n\n\n");
    CHECK_EXIT(p, 3);
    lite_txn(&p, "\n\nfrob /x/a\n\n\n");
    CHECK_EXIT(p, 3);
}

static void test_lite_version(void)
{
    proc p;
    LITE(&p, "version");
    CHECK_EXIT(p, 0);
    CHECK(strncmp(p.out, "etcdctl version: 3.", 19) == 0);
    CHECK_HAS(p.out, "\nAPI version: 3.");
    CHECK_HAS(p.err, "etcdctl_lite (etcd.h ");            /* and whether it has TLS */
    CHECK_HAS(p.err, "TLS");
}

/* make examples builds etcdctl_lite with TLS wherever OpenSSL is: it
   speaks https to a TLS etcd, verified with --cacert. */
static void test_lite_https(void)
{
    test_certs certs;
    test_etcd tls;
    proc p;
    char ep[160], ca[320];
    memset(&tls, 0, sizeof tls);
    LITE(&p, "version");
    if (!strstr(p.err, "TLS with OpenSSL")) {     /* make examples: only without OpenSSL; the cross builds */
        fprintf(stderr, "  (info) %s was built without TLS: nothing to check\n", g_lite);
        return;
    }
    REQUIRE(test_certs_make(&certs) == 0);
    if (test_etcd_start_tls(&tls, NULL, certs.ca, certs.server_cert, certs.server_key, false) != 0) {
        CHECK(!"a TLS etcd");
        test_certs_remove(&certs);
        return;
    }
    snprintf(ep, sizeof ep, "--endpoints=%s", tls.url);
    snprintf(ca, sizeof ca, "--cacert=%s", certs.ca);
    run(&p, g_lite, false, ARGS(ep, ca, "put", "/tls/a", "1"));
    CHECK_OUT(p, "OK\n");
    run(&p, g_lite, false, ARGS(ep, ca, "get", "/tls/a"));
    CHECK_OUT(p, "/tls/a\n1\n");
    snprintf(ca, sizeof ca, "--cacert=%s", certs.wrong_ca);
    run(&p, g_lite, false, ARGS(ep, ca, "get", "/tls/a"));   /* not verified: refused */
    CHECK_EXIT(p, 1);
    CHECK_HAS(p.err, "certificate");
    test_etcd_stop(&tls);
    test_certs_remove(&certs);
}

/* ---- watch_config ------------------------------------------------------- */

static void test_watch_config(void)
{
    proc p, w;
    char out[4096];
    LITE(&p, "put", "/cfg/b", "2");
    LITE(&p, "put", "/cfg/a", "one");
    LITE(&p, "put", "/cfgx", "not under the prefix");
    REQUIRE(start(&w, g_watch_config, true, ARGS("/cfg/", "--max-events=3")));
    /* loaded (sorted), and watching: then change things */
    CHECK(proc_wait_for(&w, 1, "watching /cfg/", 5));
    CHECK(proc_wait_for(&w, 0, "/cfg/b = 2\n", 5));
    CHECK_STR(w.out, "/cfg/a = one\n/cfg/b = 2\n");
    sleep_ms(1200);                               /* idle past the 1 s watch timeout */
    LITE(&p, "put", "/cfgx", "still not");
    LITE(&p, "put", "/cfg/c", "three words");
    CHECK_OUT(p, "OK\n");
    CHECK(proc_wait_for(&w, 0, "set /cfg/c = three words\n", 5));  /* line by line */
    CHECK_INT(test_etcdctl(&g_etcd, out, sizeof out, ARGS("del", "/cfg/a")), 0);
    LITE(&p, "put", "/cfg/b", "22");
    proc_finish(&w, CHILD_LIMIT);
    CHECK_EXIT(w, 0);
    CHECK_STR(w.out, "/cfg/a = one\n/cfg/b = 2\n"
                     "set /cfg/c = three words\ndel /cfg/a\nset /cfg/b = 22\n");
}

static void test_watch_config_signals(void)
{
    static const int sigs[] = { SIGTERM, SIGINT };
    for (size_t i = 0; i < 2; i++) {
        proc w;
        REQUIRE(start(&w, g_watch_config, true, ARGS("/sig/")));
        CHECK(proc_wait_for(&w, 1, "watching /sig/", 5));
        double t0 = now();
        kill(w.pid, sigs[i]);
        proc_finish(&w, CHILD_LIMIT);
        CHECK_EXIT(w, 0);                         /* a clean stop, not death by signal */
        CHECK(now() - t0 < 3);
    }
}

static void test_watch_config_errors(void)
{
    proc p;
    run(&p, g_watch_config, false, ARGS("--endpoints=http://127.0.0.1:1"));
    CHECK_EXIT(p, 2);
    CHECK_HAS(p.err, "usage:");
    run(&p, g_watch_config, true, ARGS("/p/", "--max-events=x"));
    CHECK_EXIT(p, 2);
    run(&p, g_watch_config, true, ARGS("/p/", "/q/"));
    CHECK_EXIT(p, 2);

    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "--endpoints=http://127.0.0.1:%d", test_free_port());
    double t0 = now();
    run(&p, g_watch_config, false, ARGS(endpoint, "/p/"));
    CHECK_EXIT(p, 1);                             /* the mirror's first page never came */
    CHECK_HAS(p.err, "watch_config: cannot read /p/: ");
    CHECK_STR(p.out, "");
    CHECK_TIME(now() - t0, 0, 5);
}

/* etcdctl compact <the current revision>: every older revision is gone. */
static bool compact_now(void)
{
    char rev[32], out[256];
    int64_t r = current_revision();
    snprintf(rev, sizeof rev, "%" PRId64, r);
    return r > 0 && test_etcdctl(&g_etcd, out, sizeof out, ARGS("compact", rev)) == 0;
}

/* The mirror's reset: watch_config is paused (SIGSTOP) while etcd restarts,
   so its stream breaks; the prefix then changes and etcd compacts past the
   point where the watch would resume. Resumed (SIGCONT), it must read the
   prefix anew and print exactly what changed, then go on following. */
static void test_watch_config_reset(void)
{
    proc p, w;
    proc_none(&w);
    LITE(&p, "put", "/rs/a", "1");
    LITE(&p, "put", "/rs/b", "2");
    LITE(&p, "put", "/rs/keep", "same");
    REQUIRE(start(&w, g_watch_config, true, ARGS("/rs/")));
    CHECK(proc_wait_for(&w, 1, "watching /rs/", 5));
    LITE(&p, "put", "/rs/b", "22");               /* its stream is open: it sees this */
    CHECK(proc_wait_for(&w, 0, "set /rs/b = 22\n", 5));
    kill(w.pid, SIGSTOP);
    test_etcd_kill(&g_etcd);                      /* the stream breaks... */
    bool up = test_etcd_restart(&g_etcd) == 0;
    CHECK(up);
    if (up) {
        LITE(&p, "put", "/rs/a", "one");          /* ...these are not sent on it... */
        LITE(&p, "del", "/rs/b");
        LITE(&p, "put", "/rs/c", "3");
        LITE(&p, "put", "/rs/keep", "same");      /* a new revision, the same value */
        LITE(&p, "put", "/rsx", "not under the prefix");
        CHECK(compact_now());                     /* ...and the watch cannot resume */
    }
    kill(w.pid, SIGCONT);
    /* ~10 s: the broken stream took the only endpoint out of the rotation
       for the client's fail_timeout (10 s) */
    CHECK(proc_wait_for(&w, 1, "read /rs/ anew", 15));
    CHECK(proc_wait_for(&w, 0, "set /rs/c = 3\n", 5));
    LITE(&p, "put", "/rs/d", "4");                /* and it follows on from there */
    CHECK(proc_wait_for(&w, 0, "set /rs/d = 4\n", 5));
    kill(w.pid, SIGTERM);
    proc_finish(&w, CHILD_LIMIT);
    CHECK_EXIT(w, 0);
    CHECK_STR(w.out, "/rs/a = 1\n/rs/b = 2\n/rs/keep = same\nset /rs/b = 22\n"
                     "set /rs/a = one\ndel /rs/b\nset /rs/c = 3\nset /rs/d = 4\n");
    proc_kill(&w);
}

/* ---- service_registry --------------------------------------------------- */

#define REG(p, name, port) start((p), g_registry, true, ARGS("--prefix=/services/t", \
    "--name=" name, "--addr=127.0.0.1:" port, "--ttl=2"))

/* A client with the RAW serializer (values as stored). */
static etcd *raw_client(void)
{
    etcd_opts o;
    memset(&o, 0, sizeof o);
    o.serializer = ETCD_SERIALIZER_RAW;
    return test_client(&g_etcd, &o);
}

/* The lease of key, or 0 when there is no such key. */
static int64_t lease_of(etcd *cli, const char *key)
{
    etcd_res *r = cli ? etcd_get(cli, key, NULL) : NULL;
    int64_t lease = r && r->nkvs ? r->kvs[0].lease : 0;
    etcd_res_free(r);
    return lease;
}

/* Two instances see each other; SIGTERM takes one out of the other's peer
   set at once (its lease is revoked), SIGKILL after its 2 s TTL; a lease
   revoked from the outside is said, and the entry registered again. */
static void test_service_registry(void)
{
    static const char both[] = "peers: a=127.0.0.1:8001,b=127.0.0.1:8002\n";
    static const char only_a[] = "peers: a=127.0.0.1:8001\n";
    proc a, b;
    proc_none(&a);
    proc_none(&b);
    etcd *cli = raw_client();
    REQUIRE(cli);
    CHECK(REG(&a, "a", "8001"));
    CHECK(proc_wait_for(&a, 0, only_a, 5));       /* itself, alone */
    CHECK_STR(a.out, only_a);
    CHECK(REG(&b, "b", "8002"));
    CHECK(proc_wait_for(&b, 0, both, 5));
    CHECK_STR(b.out, both);                       /* its first line: both */
    CHECK(proc_wait_for(&a, 0, both, 5));
    CHECK_STR(a.out, "peers: a=127.0.0.1:8001\npeers: a=127.0.0.1:8001,b=127.0.0.1:8002\n");
    CHECK_HAS(a.err, "registered /services/t/a (lease ");

    /* the entry: the address as JSON, under a lease with the TTL asked for */
    etcd_res *r = etcd_get(cli, "/services/t/b", NULL);
    CHECK(r && r->nkvs == 1 && r->kvs[0].lease != 0);
    if (r && r->nkvs == 1) CHECK_STR(r->kvs[0].value, "{\"addr\":\"127.0.0.1:8002\"}");
    etcd_res_free(r);
    int64_t lease_b = lease_of(cli, "/services/t/b");
    r = etcd_timetolive(cli, lease_b, false);
    CHECK(r && r->granted_ttl == 2);
    etcd_res_free(r);

    /* SIGTERM: b revokes its lease on the way out; a sees it at once */
    size_t mark = a.len[0];
    double t0 = now();
    kill(b.pid, SIGTERM);
    CHECK(proc_wait_from(&a, 0, mark, only_a, 3));
    CHECK_TIME(now() - t0, 0, 1.0);               /* not the TTL's 2 s */
    proc_finish(&b, CHILD_LIMIT);
    CHECK_EXIT(b, 0);
    CHECK_INT(lease_of(cli, "/services/t/b"), 0);
    r = etcd_timetolive(cli, lease_b, false);     /* revoked, not left to expire */
    CHECK(r && r->ttl == -1);
    etcd_res_free(r);

    /* SIGKILL: nobody revokes; the entry goes when the lease runs out */
    mark = a.len[0];
    CHECK(REG(&b, "b", "8002"));
    CHECK(proc_wait_for(&b, 0, both, 5));
    CHECK(proc_wait_from(&a, 0, mark, both, 5));
    mark = a.len[0];
    t0 = now();
    kill(b.pid, SIGKILL);
    CHECK(proc_wait_from(&a, 0, mark, only_a, 6));
    CHECK_TIME(now() - t0, 1.0, 4.5);             /* 2 s TTL, ticked every 2/3 s */
    proc_finish(&b, CHILD_LIMIT);
    CHECK_EXIT(b, 128 + SIGKILL);

    /* the lease revoked behind its back: a says so and registers again */
    int64_t lease_a = lease_of(cli, "/services/t/a");
    CHECK(lease_a != 0);
    mark = a.len[1];
    t0 = now();
    etcd_res_free(etcd_revoke(cli, lease_a));
    CHECK(proc_wait_from(&a, 1, mark, "registered again (lease ", 4));
    CHECK_TIME(now() - t0, 0, 3);
    CHECK_HAS(a.err + mark, "lost");
    CHECK_HAS(a.err + mark, "the registration is gone, registering again");
    CHECK(lease_of(cli, "/services/t/a") != 0 && lease_of(cli, "/services/t/a") != lease_a);
    kill(a.pid, SIGTERM);
    proc_finish(&a, CHILD_LIMIT);
    CHECK_EXIT(a, 0);
    proc_kill(&a);
    proc_kill(&b);
    etcd_free(cli);
}

static void test_service_registry_errors(void)
{
    const char *const *bad[] = {
        ARGS("--name=a", "--addr=h:1"), ARGS("--prefix=/s", "--addr=h:1"),
        ARGS("--prefix=/s", "--name=a"), ARGS("--prefix=/s", "--name=a/b", "--addr=h:1"),
        ARGS("--prefix=/s", "--name=a", "--addr=h:1", "--ttl=0"),
        ARGS("--prefix=/s", "--name=a", "--addr=h:1", "--ttl=1.5"),
        ARGS("--prefix=/s", "--name=a", "--addr=h:1", "--timeout=x"),
        ARGS("--prefix=/s", "--name=a", "--addr=h:1", "--bogus"),
        ARGS("--prefix=/s", "--name=a", "--addr=\"h:1"),
    };
    proc p;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        run(&p, g_registry, true, bad[i]);
        if (p.status != 2) fprintf(stderr, "  case %zu\n", i);
        CHECK_EXIT(p, 2);
        CHECK_HAS(p.err, "usage:");
        CHECK_STR(p.out, "");
    }
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "--endpoints=http://127.0.0.1:%d", test_free_port());
    run(&p, g_registry, false, ARGS(endpoint, "--prefix=/s", "--name=a", "--addr=h:1"));
    CHECK_EXIT(p, 1);
    CHECK_HAS(p.err, "service_registry: lease: ");
    CHECK_STR(p.out, "");
}

/* ---- leader ------------------------------------------------------------- */

#define CANDIDATE(p, id) start((p), g_leader, true, ARGS("--name=/el/t", "--id=" id, "--ttl=2"))

/* The current leader's value ("" when none) into buf. */
static void leader_value(etcd *cli, char *buf, size_t size)
{
    etcd_res *r = etcd_leader(cli, "/el/t");
    snprintf(buf, size, "%s", r && r->nkvs ? r->kvs[0].value : "");
    etcd_res_free(r);
}

/* Two candidates: exactly one leads, the other waits and names it; the
   leader's heartbeat is what etcd_leader sees; SIGTERM resigns and the
   other leads at once; a SIGKILLed leader is replaced after its 2 s TTL. */
static void test_leader(void)
{
    proc a, b, c;
    char line[64], v1[128], v2[128];
    proc_none(&a);
    proc_none(&b);
    proc_none(&c);
    etcd *cli = raw_client();
    REQUIRE(cli);
    CHECK(CANDIDATE(&a, "a"));
    CHECK(CANDIDATE(&b, "b"));
    double end = now() + 5;
    while (!strstr(a.out, "leader: ") && !strstr(b.out, "leader: ") && now() < end) {
        proc_poll(&a, 20);
        proc_poll(&b, 20);
    }
    bool a_leads = strstr(a.out, "leader: a\n") != NULL;
    proc *l = a_leads ? &a : &b, *f = a_leads ? &b : &a;
    const char *lid = a_leads ? "a" : "b", *fid = a_leads ? "b" : "a";
    snprintf(line, sizeof line, "leader: %s\n", lid);
    CHECK_STR(l->out, line);
    snprintf(line, sizeof line, "leader is: %s", lid);    /* the other waits, and knows */
    CHECK(proc_wait_for(f, 0, line, 3));
    for (int i = 0; i < 30; i++) {                 /* 1.5 s more: still only one */
        proc_poll(&a, 25);
        proc_poll(&b, 25);
    }
    CHECK(strstr(f->out, "leader: ") == NULL);
    CHECK(strstr(l->out, "leader is: ") == NULL);

    /* the heartbeat: etcd_proclaim changes what etcd_leader says */
    leader_value(cli, v1, sizeof v1);
    CHECK_PREFIX(v1, lid);
    sleep_ms(1300);
    leader_value(cli, v2, sizeof v2);
    snprintf(line, sizeof line, "%s beat ", lid);
    CHECK_PREFIX(v2, line);
    CHECK(strcmp(v1, v2) != 0);

    /* SIGTERM: the leader resigns, the other leads at once */
    double t0 = now();
    kill(l->pid, SIGTERM);
    snprintf(line, sizeof line, "leader: %s\n", fid);
    CHECK(proc_wait_for(f, 0, line, 3));
    CHECK_TIME(now() - t0, 0, 1.5);
    proc_finish(l, CHILD_LIMIT);
    CHECK_EXIT(*l, 0);
    CHECK_HAS(l->out, "resigned\n");

    /* SIGKILL: nobody resigns; the next leads when the lease runs out */
    CHECK(CANDIDATE(&c, "c"));
    snprintf(line, sizeof line, "leader is: %s", fid);
    CHECK(proc_wait_for(&c, 0, line, 3));
    t0 = now();
    kill(f->pid, SIGKILL);
    CHECK(proc_wait_for(&c, 0, "leader: c\n", 6));
    CHECK_TIME(now() - t0, 1.0, 4.5);
    proc_finish(f, CHILD_LIMIT);
    CHECK_EXIT(*f, 128 + SIGKILL);

    /* the last one resigns: nobody leads */
    kill(c.pid, SIGTERM);
    proc_finish(&c, CHILD_LIMIT);
    CHECK_EXIT(c, 0);
    leader_value(cli, v1, sizeof v1);
    CHECK_STR(v1, "");
    proc_kill(&a);
    proc_kill(&b);
    proc_kill(&c);
    etcd_free(cli);
}

static void test_leader_errors(void)
{
    const char *const *bad[] = {
        ARGS("--id=a"), ARGS("--name=/e"), ARGS("--name=/e", "--id=a", "--ttl=0"),
        ARGS("--name=/e", "--id=a", "--ttl=x"), ARGS("--name=/e", "--id=a", "--nope"),
    };
    proc p;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        run(&p, g_leader, true, bad[i]);
        if (p.status != 2) fprintf(stderr, "  case %zu\n", i);
        CHECK_EXIT(p, 2);
        CHECK_HAS(p.err, "usage:");
        CHECK_STR(p.out, "");
    }
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "--endpoints=http://127.0.0.1:%d", test_free_port());
    run(&p, g_leader, false, ARGS(endpoint, "--name=/e", "--id=a"));
    CHECK_EXIT(p, 1);
    CHECK_HAS(p.err, "leader: lease: ");
    CHECK_STR(p.out, "");
}

static void test_etcd_running(void) { REQUIRE(!"etcd started"); }
static void test_examples_built(void) { REQUIRE(!"examples built (make examples)"); }

int main(void)
{
    const char *dir = getenv("EXAMPLES_DIR");
    if (!dir || !*dir) dir = "build";
    snprintf(g_lite, sizeof g_lite, "%s/etcdctl_lite", dir);
    snprintf(g_watch_config, sizeof g_watch_config, "%s/watch_config", dir);
    snprintf(g_registry, sizeof g_registry, "%s/service_registry", dir);
    snprintf(g_leader, sizeof g_leader, "%s/leader", dir);
    if (access(g_lite, X_OK) != 0 || access(g_watch_config, X_OK) != 0 ||
        access(g_registry, X_OK) != 0 || access(g_leader, X_OK) != 0) {
        fprintf(stderr, "no %s, %s, %s or %s\n", g_lite, g_watch_config, g_registry, g_leader);
        RUN(test_examples_built);
        return test_summary();
    }
    if (test_etcd_start(&g_etcd, NULL) != 0) {
        RUN(test_etcd_running);
        return test_summary();
    }
    snprintf(g_endpoints, sizeof g_endpoints, "--endpoints=%s", g_etcd.url);

    RUN(test_lite_usage);

    RUN(test_lite_unreachable);
    RUN(test_lite_put_get);
    RUN(test_lite_del);
    RUN(test_lite_global_flags);
    RUN(test_lite_watch);
    RUN(test_lite_lease);
    RUN(test_lite_txn);
    RUN(test_lite_version);
    RUN(test_lite_https);
    RUN(test_watch_config);
    RUN(test_watch_config_signals);
    RUN(test_watch_config_errors);
    RUN(test_service_registry);
    RUN(test_service_registry_errors);
    RUN(test_leader);
    RUN(test_leader_errors);
    RUN(test_watch_config_reset);           /* last: it restarts etcd */

    test_etcd_stop(&g_etcd);
    return test_summary();
}
