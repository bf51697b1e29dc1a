/* harness.h - start and stop a real etcd for the suites, run etcdctl.

   Include after `#define ETCD_IMPLEMENTATION`, `#include "etcd.h"` and
   `#include "test.h"` (etcd.h defines _POSIX_C_SOURCE 200809L first).

       static test_etcd srv;
       if (test_etcd_start(&srv, NULL) != 0) return 1;
       etcd *cli = test_client(&srv, NULL);
       ...
       etcd_free(cli);
       test_etcd_stop(&srv);

   etcd runs with its output in DIR/etcd.log; it is killed when the test
   process (more exactly: the thread that started it) dies, and an atexit
   handler stops every server still running. Only PIDs started here are
   ever signalled. The harness talks to etcd over raw sockets and etcdctl,
   never through etcd.h, so it does not depend on the code under test.

   A cluster: test_etcd m[3]; test_cluster_start(m, 3, NULL) starts members
   "m0".."m2" together (one --initial-cluster) and waits until all are
   healthy; kill and restart each with test_etcd_kill (SIGTERM) or
   test_etcd_kill_hard (SIGKILL) and test_etcd_restart; test_member_status
   and test_cluster_leader tell member ids and the leader (raw HTTP);
   test_cluster_stop(m, 3) ends them.

   TLS members (test_etcd_start_tls) serve https:// on the client port; the
   harness checks them with curl and runs etcdctl with --cacert (and, for
   client-cert-auth members, --cert/--key). test_certs_make writes a
   throwaway PKI with the openssl CLI for them. */
#ifndef ETCD_TEST_HARNESS_H
#define ETCD_TEST_HARNESS_H

#include <poll.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__GNUC__) || defined(__clang__)
#define TH__UNUSED __attribute__((unused))
#else
#define TH__UNUSED
#endif

typedef struct test_etcd {
    pid_t pid;            /* 0 when not running */
    int   port, peer_port;
    char  dir[256];       /* temp data dir, removed by test_etcd_stop */
    char  url[64];        /* "http://127.0.0.1:PORT" (TLS members: "https://...") */
    const char *extra[16];   /* extra etcd flags (not copied), for restarts */
    /* TLS members only (all "" for plain ones); copies, so restarts work: */
    char  ca[256];        /* trusted CA: what curl/etcdctl/test_client verify with,
                             and etcd's --trusted-ca-file with client_auth */
    char  cert[256], key[256];   /* etcd's --cert-file/--key-file; with client_auth
                                    also the client certificate curl and etcdctl present
                                    (so it must allow clientAuth, as etcd's own gateway
                                    needs it to) */
    int   client_auth;    /* --client-cert-auth */
    /* Cluster members only (test_cluster_start; all "" for single ones),
       kept so test_etcd_restart brings the same member back: */
    char  name[16];       /* --name, "m0", "m1", ... */
    char  cluster[512];   /* --initial-cluster m0=http://127.0.0.1:P0,m1=... */
    char  token[64];      /* --initial-cluster-token, unique per run */
} test_etcd;

/* A throwaway PKI (test_certs_make): every path is absolute, in dir. */
typedef struct test_certs {
    char dir[256];                    /* removed by test_certs_remove / at exit */
    char ca[300], ca_key[300];        /* CA "etcdh-test-ca" */
    char server_cert[300], server_key[300]; /* CN etcd-test-server, SAN IP:127.0.0.1 and
                                         DNS:localhost, EKU serverAuth+clientAuth */
    char client_cert[300], client_key[300]; /* CN etcdh-test-client, EKU clientAuth */
    char wrong_ca[300];               /* an unrelated CA "etcdh-wrong-ca" */
    char other_key[300];              /* a key that matches no certificate */
} test_certs;

/* ---- internals ---------------------------------------------------------- */

#define TH__MAX_SERVERS 16
#define TH__START_TRIES 3
#define TH__MAX_EXTRA   15

/* Copies (not pointers: a test_etcd may live on a stack that is gone by
   the time atexit handlers run) of every server started and not stopped. */
static struct { pid_t pid; char dir[256]; } th__running[TH__MAX_SERVERS];
static int th__atexit_done;

static double th__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void th__sleep_ms(long ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* rm -rf path (lstat: never follows a symlink out of the tree). */
static void th__rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            char sub[1024];
            while ((e = readdir(d)) != NULL) {
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
                if (snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) >= (int)sizeof sub)
                    continue;
                th__rm_rf(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* SIGTERM, wait up to 5 s, then SIGKILL; reaps the child. */
static void th__kill_wait(pid_t pid)
{
    double deadline;
    int status;
    if (pid <= 0) return;
    if (kill(pid, SIGTERM) != 0 && errno == ESRCH) {
        waitpid(pid, &status, WNOHANG);
        return;
    }
    deadline = th__now() + 5.0;
    while (th__now() < deadline) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD)) return;
        th__sleep_ms(20);
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
}

/* Every server still running: SIGTERM to all first (members of a cluster
   then stop together), then wait for each, then remove the dirs. */
static void th__atexit(void)
{
    int i;
    for (i = 0; i < TH__MAX_SERVERS; i++)
        if (th__running[i].pid > 0) kill(th__running[i].pid, SIGTERM);
    for (i = 0; i < TH__MAX_SERVERS; i++) {
        if (th__running[i].pid > 0) th__kill_wait(th__running[i].pid);
        th__running[i].pid = 0;
    }
    for (i = 0; i < TH__MAX_SERVERS; i++) {
        if (th__running[i].dir[0]) th__rm_rf(th__running[i].dir);
        th__running[i].dir[0] = '\0';
    }
}

static void th__register(pid_t pid, const char *dir)
{
    int i;
    if (!th__atexit_done) {
        atexit(th__atexit);
        th__atexit_done = 1;
    }
    for (i = 0; i < TH__MAX_SERVERS; i++) {
        if (th__running[i].pid == 0 && !th__running[i].dir[0]) {
            th__running[i].pid = pid;
            snprintf(th__running[i].dir, sizeof th__running[i].dir, "%s", dir);
            return;
        }
    }
}

static void th__unregister(pid_t pid, const char *dir)
{
    int i;
    for (i = 0; i < TH__MAX_SERVERS; i++) {
        if ((pid > 0 && th__running[i].pid == pid) ||
            (dir[0] && !strcmp(th__running[i].dir, dir))) {
            th__running[i].pid = 0;
            th__running[i].dir[0] = '\0';
        }
    }
}

/* A TCP connection to 127.0.0.1:port with send/receive timeouts of secs
   seconds; the fd or -1. For talking to etcd without etcd.h. */
static int test_connect_local(int port, int secs)
{
    struct sockaddr_in a;
    struct timeval tv;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    tv.tv_sec = secs;
    tv.tv_usec = 0;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) return fd;
    close(fd);
    return -1;
}

/* Raw HTTP/1.0 GET on 127.0.0.1:port; 1 when the answer is a 200 whose
   text contains want. */
static int th__http_get_has(int port, const char *path, const char *want)
{
    char req[256], buf[4096];
    size_t got = 0;
    ssize_t n;
    int fd, ok = 0;

    if ((fd = test_connect_local(port, 1)) < 0) return 0;
    n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n\r\n", path, port);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) goto done;
    while (got < sizeof buf - 1 && (n = recv(fd, buf + got, sizeof buf - 1 - got, 0)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    ok = strncmp(buf, "HTTP/1.", 7) == 0 && strncmp(buf + 8, " 200", 4) == 0 &&
         strstr(buf, want) != NULL;
done:
    close(fd);
    return ok;
}

static void th__print_log_tail(const char *dir)
{
    char path[512], buf[4096];
    long size, from;
    size_t n;
    FILE *f;
    snprintf(path, sizeof path, "%s/etcd.log", dir);
    f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "harness: no etcd log at %s\n", path);
        return;
    }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    from = size > (long)sizeof buf - 1 ? size - (long)sizeof buf + 1 : 0;
    fseek(f, from, SEEK_SET);
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    fprintf(stderr, "harness: last %zu bytes of %s:\n%s\n", n, path, buf);
}

/* 1 when DIR/etcd.log contains needle. */
static int th__log_has(const char *dir, const char *needle)
{
    char path[512], buf[8192];
    size_t n;
    FILE *f;
    snprintf(path, sizeof path, "%s/etcd.log", dir);
    f = fopen(path, "r");
    if (!f) return 0;
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strstr(buf, needle) != NULL;
}

/* Child side of the fork: never returns. Only async-signal-safe calls. */
static void th__exec_child(pid_t parent, const char *log, char *const argv[])
{
    static const char msg[] = "harness: exec failed\n";
    int fd;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);   /* parent died before prctl */
    fd = open("/dev/null", O_RDONLY);
    if (fd >= 0) { dup2(fd, 0); close(fd); }
    if (log) {
        fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) { dup2(fd, 1); dup2(fd, 2); close(fd); }
    }
    execvp(argv[0], argv);
    if (write(2, msg, sizeof msg - 1) < 0) {}
    _exit(127);
}

/* fork/exec argv (no shell), stdout into out (NUL-terminated, at most
   outsz-1 bytes, the rest read and dropped; out NULL: dropped too), stderr
   passes through or, with log, goes (with stdout when out is NULL) into
   that file. Returns the exit status, or -1. */
static int th__run(const char *const *argv, char *out, size_t outsz, const char *log)
{
    char drop[512];
    int p[2], status;
    size_t got = 0;
    ssize_t n;
    pid_t parent = getpid(), pid;

    if (out && outsz) out[0] = '\0';
    if (pipe(p) != 0) return -1;
    pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        close(p[0]);
        if (log) {
            int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) { dup2(fd, 2); if (!out) dup2(fd, 1); close(fd); }
        }
        if (out || !log) dup2(p[1], 1);
        close(p[1]);
        th__exec_child(parent, NULL, (char *const *)argv);
    }
    close(p[1]);
    for (;;) {
        char *dst = drop;
        size_t room = sizeof drop;
        if (out && got + 1 < outsz) {
            dst = out + got;
            room = outsz - 1 - got;
        }
        n = read(p[0], dst, room);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (dst != drop) got += (size_t)n;
    }
    if (out && outsz) out[got] = '\0';
    close(p[0]);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A TLS member: GET https://127.0.0.1:port/path with curl, verifying with
   s->ca (and presenting s->cert with client_auth); 1 when it succeeds and
   the body contains want. */
static int th__curl_has(const test_etcd *s, const char *path, const char *want)
{
    const char *argv[16];
    char url[128], out[4096];
    int argc = 0;
    snprintf(url, sizeof url, "https://127.0.0.1:%d%s", s->port, path);
    argv[argc++] = "curl";
    argv[argc++] = "-s";
    argv[argc++] = "-f";
    argv[argc++] = "-m";
    argv[argc++] = "2";
    argv[argc++] = "--cacert";
    argv[argc++] = s->ca;
    if (s->client_auth) {
        argv[argc++] = "--cert";
        argv[argc++] = s->cert;
        argv[argc++] = "--key";
        argv[argc++] = s->key;
    }
    argv[argc++] = url;
    argv[argc] = NULL;
    return th__run(argv, out, sizeof out, NULL) == 0 && strstr(out, want) != NULL;
}

/* 1 when the child has exited (and is reaped). */
static int th__exited(pid_t pid)
{
    int status;
    pid_t r = waitpid(pid, &status, WNOHANG);
    return r == pid || (r < 0 && errno == ECHILD);
}

/* 0 ready; 1 etcd exited early (worth another try); -1 timed out. */
static int th__wait_ready(test_etcd *s, double deadline)
{
    int version_ok = 0;
    while (th__now() < deadline) {
        if (th__exited(s->pid)) return 1;
        /* /version first (the HTTP server is up), then /health so that
           tests do not race the first leader election. */
        if (s->cert[0]) {
            if (!version_ok) version_ok = th__curl_has(s, "/version", "etcdserver");
            if (version_ok && th__curl_has(s, "/health", "true")) return 0;
        } else {
            if (!version_ok) version_ok = th__http_get_has(s->port, "/version", "etcdserver");
            if (version_ok && th__http_get_has(s->port, "/health", "true")) return 0;
        }
        th__sleep_ms(50);
    }
    return -1;
}

/* ---- public ------------------------------------------------------------- */

/* A free TCP port on 127.0.0.1 (bind port 0, read it back, close), or -1. */
static TH__UNUSED int test_free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    if (fd < 0) return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* n distinct free ports; 0, or -1 with the reason on stderr. */
static TH__UNUSED int test_free_ports(int *ports, int n)
{
    int i, j;
    for (i = 0; i < n; i++) {
        int k = 0;
        do {
            ports[i] = test_free_port();
            for (j = 0; j < i && ports[j] != ports[i]; j++) {}
        } while (ports[i] > 0 && j < i && ++k < 100);
        if (ports[i] <= 0 || j < i) {
            fprintf(stderr, "harness: no free port: %s\n", strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* SIGTERM the PID we started, waitpid, SIGKILL after 5 s; rm -rf the data
   dir. Idempotent. */
static TH__UNUSED void test_etcd_stop(test_etcd *s)
{
    if (!s) return;
    th__unregister(s->pid, s->dir);
    if (s->pid > 0) th__kill_wait(s->pid);
    s->pid = 0;
    if (s->dir[0]) th__rm_rf(s->dir);
    s->dir[0] = '\0';
}

/* fork/exec etcd on s's ports and data dir (the extra args are kept for
   restarts); does not wait. A cluster member (s->name set) runs with its
   name, the whole --initial-cluster and the run's cluster token, and with
   a 50 ms heartbeat and a 500 ms election timeout (quick re-election after
   a kill; the extra args come later and may override them). With an
   existing data dir etcd ignores --initial-cluster-state, so a restart
   passes the same flags. 0, or -1 (printed). */
static int th__fork_etcd(test_etcd *s)
{
    char data[300], log[300], purl[64], cluster[96], name[32], token[96];
    char tcert[300], tkey[300], tca[300];
    const char *argv[64];
    int argc = 0, i;
    pid_t parent = getpid(), pid;

    snprintf(data, sizeof data, "--data-dir=%s/data", s->dir);
    snprintf(log, sizeof log, "%s/etcd.log", s->dir);
    snprintf(purl, sizeof purl, "http://127.0.0.1:%d", s->peer_port);
    snprintf(cluster, sizeof cluster, "default=%s", purl);
    snprintf(name, sizeof name, "--name=%s", s->name[0] ? s->name : "default");
    argv[argc++] = "etcd";
    argv[argc++] = name;
    argv[argc++] = data;
    argv[argc++] = "--listen-client-urls";   argv[argc++] = s->url;
    argv[argc++] = "--advertise-client-urls"; argv[argc++] = s->url;
    argv[argc++] = "--listen-peer-urls";     argv[argc++] = purl;
    argv[argc++] = "--initial-advertise-peer-urls"; argv[argc++] = purl;
    argv[argc++] = "--initial-cluster";
    argv[argc++] = s->name[0] ? s->cluster : cluster;
    argv[argc++] = "--initial-cluster-state=new";
    if (s->name[0]) {
        snprintf(token, sizeof token, "--initial-cluster-token=%s", s->token);
        argv[argc++] = token;
        argv[argc++] = "--heartbeat-interval=50";
        argv[argc++] = "--election-timeout=500";
    }
    if (s->cert[0]) {
        snprintf(tcert, sizeof tcert, "--cert-file=%s", s->cert);
        snprintf(tkey, sizeof tkey, "--key-file=%s", s->key);
        argv[argc++] = tcert;
        argv[argc++] = tkey;
        if (s->client_auth) {
            snprintf(tca, sizeof tca, "--trusted-ca-file=%s", s->ca);
            argv[argc++] = "--client-cert-auth";
            argv[argc++] = tca;
        }
    }
    for (i = 0; i < TH__MAX_EXTRA && s->extra[i] && argc < 63; i++) argv[argc++] = s->extra[i];
    argv[argc] = NULL;

    pid = fork();
    if (pid < 0) {
        fprintf(stderr, "harness: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) th__exec_child(parent, log, (char *const *)argv);
    s->pid = pid;
    th__register(pid, s->dir);
    return 0;
}

/* fork/exec etcd (th__fork_etcd), then wait until it answers. 0 ready;
   1 exited early; -1 not ready in time. */
static int th__spawn(test_etcd *s, double deadline)
{
    int r;
    if (th__fork_etcd(s) != 0) return -1;
    r = th__wait_ready(s, deadline);
    if (r > 0) {                 /* exited and reaped: never signal that PID again */
        th__unregister(s->pid, s->dir);
        th__register(0, s->dir); /* the dir still goes at exit */
        s->pid = 0;
    }
    return r;
}

/* One attempt: fresh ports and dir, fork/exec, wait. 0 ok; 1 a port was
   taken in between (and retry_ok): try again; -1 failed (reason printed). */
static int th__start_once(test_etcd *s, const char *const *extra_args, double deadline,
                          int retry_ok)
{
    char tmpl[256];
    const char *tmp = getenv("TMPDIR");
    int i, r;

    s->port = test_free_port();
    do s->peer_port = test_free_port(); while (s->peer_port == s->port && s->port > 0);
    if (s->port <= 0 || s->peer_port <= 0) {
        fprintf(stderr, "harness: no free port: %s\n", strerror(errno));
        return -1;
    }
    snprintf(tmpl, sizeof tmpl, "%s/etcdh-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmpl)) {
        fprintf(stderr, "harness: mkdtemp %s: %s\n", tmpl, strerror(errno));
        return -1;
    }
    snprintf(s->dir, sizeof s->dir, "%s", tmpl);
    snprintf(s->url, sizeof s->url, "%s://127.0.0.1:%d", s->cert[0] ? "https" : "http", s->port);
    for (i = 0; extra_args && extra_args[i] && i < TH__MAX_EXTRA; i++) s->extra[i] = extra_args[i];

    r = th__spawn(s, deadline);
    if (r == 0) return 0;
    if (r > 0 && retry_ok && th__log_has(s->dir, "address already in use")) {
        fprintf(stderr, "harness: etcd on %s: port taken, retrying\n", s->url);
        return 1;
    }
    if (r > 0) fprintf(stderr, "harness: etcd on %s exited before it was ready\n", s->url);
    else fprintf(stderr, "harness: etcd on %s not ready within %.0f s\n", s->url,
                 20.0 * t_time_scale());
    th__print_log_tail(s->dir);
    return -1;
}

/* Stop the etcd process (SIGTERM, then SIGKILL after 5 s) but keep its data
   dir and ports, so test_etcd_restart can bring the same member back. */
static TH__UNUSED void test_etcd_kill(test_etcd *s)
{
    if (!s || s->pid <= 0) return;
    th__unregister(s->pid, s->dir);
    th__kill_wait(s->pid);
    th__register(0, s->dir);     /* removed at exit unless restarted and stopped */
    s->pid = 0;
}

/* As test_etcd_kill, but SIGKILL: a crash (no graceful stop, no leadership
   transfer); the kernel closes its sockets. Waits until it is reaped. */
static TH__UNUSED void test_etcd_kill_hard(test_etcd *s)
{
    int status;
    if (!s || s->pid <= 0) return;
    th__unregister(s->pid, s->dir);
    kill(s->pid, SIGKILL);
    while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR) {}
    th__register(0, s->dir);
    s->pid = 0;
}

/* Start a member killed by test_etcd_kill again: same ports, same data.
   Returns 0 once it answers (<= 20 s), or -1. */
static TH__UNUSED int test_etcd_restart(test_etcd *s)
{
    int r;
    if (!s || s->pid > 0 || !s->dir[0]) return -1;
    r = th__spawn(s, th__now() + 20.0 * t_time_scale());
    if (r == 0) return 0;
    fprintf(stderr, "harness: restarting etcd on %s failed\n", s->url);
    th__print_log_tail(s->dir);
    return -1;
}

/* Start an etcd member on 127.0.0.1 with free client+peer ports and a fresh
   temp data dir; extra_args: NULL-terminated extra etcd flags, or NULL.
   Waits (<= 20 s) until GET /version (and then /health) answers on the
   client port. Returns 0, or -1 after printing why to stderr. An etcd that
   exits because a port was taken in between is retried with new ports. */
static int th__start(test_etcd *s, const char *const *extra_args)
{
    double deadline = th__now() + 20.0 * t_time_scale();
    int tries, r = -1;
    for (tries = 0; tries < TH__START_TRIES; tries++) {
        r = th__start_once(s, extra_args, deadline, tries + 1 < TH__START_TRIES);
        if (r == 0) return 0;
        test_etcd_stop(s);
        if (r < 0) break;
    }
    return -1;
}

static TH__UNUSED int test_etcd_start(test_etcd *s, const char *const *extra_args)
{
    memset(s, 0, sizeof *s);
    return th__start(s, extra_args);
}

/* As test_etcd_start, but the client port serves TLS with cert/key
   (s->url is "https://127.0.0.1:PORT"); with client_auth, etcd also runs
   with --client-cert-auth --trusted-ca-file=ca. ca is what the harness
   verifies the member with (curl, etcdctl, test_client). With client_auth,
   cert/key must also be good client credentials (EKU clientAuth): etcd's
   own gateway and the harness's curl/etcdctl present them. Paths are
   copied; test_etcd_kill/test_etcd_restart work as for plain members. */
static TH__UNUSED int test_etcd_start_tls(test_etcd *s, const char *const *extra_args,
                                          const char *ca, const char *cert,
                                          const char *key, bool client_auth)
{
    memset(s, 0, sizeof *s);
    if (!ca || !cert || !key || !*ca || !*cert || !*key ||
        strlen(ca) >= sizeof s->ca || strlen(cert) >= sizeof s->cert ||
        strlen(key) >= sizeof s->key) {
        fprintf(stderr, "harness: test_etcd_start_tls needs ca, cert and key paths\n");
        return -1;
    }
    memcpy(s->ca, ca, strlen(ca) + 1);        /* lengths checked above (snprintf would */
    memcpy(s->cert, cert, strlen(cert) + 1);  /* warn of a truncation that cannot happen) */
    memcpy(s->key, key, strlen(key) + 1);
    s->client_auth = client_auth ? 1 : 0;
    return th__start(s, extra_args);
}

/* etcd_new with *base (or all defaults if NULL) and http_host = s->url;
   NULL on failure (prints the error). For a TLS member, ssl_ca_path
   defaults to s->ca (unless base sets ssl_skip_verify), and with
   client_auth, ssl_cert_path/ssl_key_path to s->cert/s->key, when base
   leaves them NULL. */
static TH__UNUSED etcd *test_client(const test_etcd *s, const etcd_opts *base)
{
    etcd_opts o;
    char err[256] = "";
    etcd *cli;
    if (base) o = *base;
    else memset(&o, 0, sizeof o);
    o.http_host = s->url;
    if (s->cert[0]) {
        if (!o.ssl_ca_path && !o.ssl_skip_verify) o.ssl_ca_path = s->ca;
        if (s->client_auth && !o.ssl_cert_path && !o.ssl_key_path) {
            o.ssl_cert_path = s->cert;
            o.ssl_key_path = s->key;
        }
    }
    cli = etcd_new(&o, err, sizeof err);
    if (!cli) fprintf(stderr, "harness: etcd_new(%s): %s\n", s->url, err);
    return cli;
}

/* A client of hosts (comma-separated URLs) with these options and the rest
   zero; NULL on failure (prints the error). */
static TH__UNUSED etcd *test_client_at(const char *hosts, const char *key_prefix, double timeout,
                                       bool retry, int max_fails, double fail_timeout)
{
    etcd_opts o;
    char err[256] = "";
    etcd *cli;
    memset(&o, 0, sizeof o);
    o.http_host = hosts;
    o.key_prefix = key_prefix;
    o.timeout = timeout;
    o.retry = retry;
    o.max_fails = max_fails;
    o.fail_timeout = fail_timeout;
    cli = etcd_new(&o, err, sizeof err);
    if (!cli) fprintf(stderr, "  etcd_new(%s): %s\n", hosts, err);
    return cli;
}

/* What an event loop does: poll() the watcher's fd (at most ms) unless a
   message is already buffered. It must never wait on a quiet socket while
   a message sits in the watcher's buffers. */
static TH__UNUSED bool test_watch_readable(etcd_watcher *w, int ms)
{
    struct pollfd p;
    if (etcd_watch_pending(w)) return true;
    p.fd = etcd_watch_fd(w);
    p.events = POLLIN;
    p.revents = 0;
    return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* Run etcdctl (ETCDCTL_API=3, --endpoints=s->url; for a TLS member also
   --cacert=s->ca, and with client_auth --cert/--key) with the
   NULL-terminated args via fork/exec (no shell); stdout goes to out
   (NUL-terminated, at most outsz-1 bytes, the rest read and dropped),
   stderr passes through. Returns the exit status, or -1. */
static TH__UNUSED int test_etcdctl(const test_etcd *s, char *out, size_t outsz,
                                   const char *const *args)
{
    const char *argv[64];
    char endpoints[96], cacert[300], cert[300], key[300];
    int argc = 0, i;

    snprintf(endpoints, sizeof endpoints, "--endpoints=%s", s->url);
    argv[argc++] = "etcdctl";
    argv[argc++] = endpoints;
    if (s->cert[0]) {
        snprintf(cacert, sizeof cacert, "--cacert=%s", s->ca);
        argv[argc++] = cacert;
        if (s->client_auth) {
            snprintf(cert, sizeof cert, "--cert=%s", s->cert);
            snprintf(key, sizeof key, "--key=%s", s->key);
            argv[argc++] = cert;
            argv[argc++] = key;
        }
    }
    for (i = 0; args && args[i] && argc < 63; i++) argv[argc++] = args[i];
    argv[argc] = NULL;

    setenv("ETCDCTL_API", "3", 1);   /* in the parent: setenv is not fork-safe */
    return th__run(argv, out, outsz, NULL);
}

/* ---- a cluster of members on 127.0.0.1 ----------------------------------- */

#define TH__MAX_MEMBERS 8

/* Stop every member of m[0..n) (SIGTERM to all first, so they stop
   together), remove their dirs. Idempotent. */
static TH__UNUSED void test_cluster_stop(test_etcd *m, int n)
{
    int i;
    for (i = 0; m && i < n; i++)
        if (m[i].pid > 0) kill(m[i].pid, SIGTERM);
    for (i = 0; m && i < n; i++) test_etcd_stop(&m[i]);
}

/* Wait until every member answers GET /health with "true" (that needs a
   leader and a quorum read). 0; 1 member *bad exited (reaped, pid 0); -1
   *bad was not ready by deadline. */
static int th__cluster_wait(test_etcd *m, int n, double deadline, int *bad)
{
    int ready[TH__MAX_MEMBERS], nready = 0, i;
    memset(ready, 0, sizeof ready);
    *bad = 0;
    for (;;) {
        for (i = 0; i < n; i++) {
            if (ready[i]) continue;
            if (th__exited(m[i].pid)) {
                th__unregister(m[i].pid, m[i].dir);
                th__register(0, m[i].dir);
                m[i].pid = 0;
                *bad = i;
                return 1;
            }
            if (th__http_get_has(m[i].port, "/health", "true")) { ready[i] = 1; nready++; }
        }
        if (nready == n) return 0;
        if (th__now() >= deadline) break;
        th__sleep_ms(50);
    }
    for (i = 0; i < n; i++) if (!ready[i]) { *bad = i; break; }
    return -1;
}

/* Start an n-member etcd cluster (n <= 8) on 127.0.0.1: member i is named
   "mi", with its own free client and peer ports and temp data dir, all
   started at once with one --initial-cluster listing every peer, a fresh
   --initial-cluster-token, --initial-cluster-state new, a 50 ms heartbeat
   and a 500 ms election timeout. extra_args (NULL-terminated, or NULL) go
   to every member. Waits (<= 30 s) until every member's /health says true.
   Returns 0, or -1 after printing why (nothing left running). Members are
   ordinary test_etcd: test_etcd_kill / test_etcd_kill_hard /
   test_etcd_restart work on each (a restart keeps name, ports, data and
   flags; it waits for /health, so it needs a quorum with the others);
   test_cluster_stop(m, n) or the atexit handler stops them. A port taken
   in between: the whole cluster is tried again with new ports. */
static TH__UNUSED int test_cluster_start(test_etcd *m, int n, const char *const *extra_args)
{
    static int seq;
    const char *tmp = getenv("TMPDIR");
    int tries, i, j, r = -1, bad = 0;

    if (!m || n < 1 || n > TH__MAX_MEMBERS) {
        fprintf(stderr, "harness: test_cluster_start: 1 to %d members\n", TH__MAX_MEMBERS);
        return -1;
    }
    for (tries = 0; tries < TH__START_TRIES; tries++) {
        int ports[2 * TH__MAX_MEMBERS], taken = 0;
        char cluster[512], token[64], tmpl[256];
        size_t len = 0;
        double deadline;

        memset(m, 0, (size_t)n * sizeof *m);
        if (test_free_ports(ports, 2 * n) < 0) return -1;
        snprintf(token, sizeof token, "etcdh-%ld-%ld-%d", (long)getpid(), (long)time(NULL), ++seq);
        cluster[0] = '\0';
        for (i = 0; i < n; i++)
            len += (size_t)snprintf(cluster + len, sizeof cluster - len, "%sm%d=http://127.0.0.1:%d",
                                    i ? "," : "", i, ports[2 * i + 1]);
        for (i = 0; i < n; i++) {
            test_etcd *s = &m[i];
            s->port = ports[2 * i];
            s->peer_port = ports[2 * i + 1];
            snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
            snprintf(s->name, sizeof s->name, "m%d", i);
            snprintf(s->cluster, sizeof s->cluster, "%s", cluster);
            snprintf(s->token, sizeof s->token, "%s", token);
            for (j = 0; extra_args && extra_args[j] && j < TH__MAX_EXTRA; j++) s->extra[j] = extra_args[j];
            snprintf(tmpl, sizeof tmpl, "%s/etcdh-cluster-XXXXXX", tmp && *tmp ? tmp : "/tmp");
            if (!mkdtemp(tmpl)) {
                fprintf(stderr, "harness: mkdtemp %s: %s\n", tmpl, strerror(errno));
                test_cluster_stop(m, i);
                return -1;
            }
            snprintf(s->dir, sizeof s->dir, "%s", tmpl);
        }
        for (i = 0; i < n; i++) {
            if (th__fork_etcd(&m[i]) != 0) {
                test_cluster_stop(m, n);
                return -1;
            }
        }
        deadline = th__now() + 30.0 * t_time_scale();
        r = th__cluster_wait(m, n, deadline, &bad);
        if (r == 0) return 0;
        for (i = 0; i < n; i++) taken |= th__log_has(m[i].dir, "address already in use");
        if (taken && tries + 1 < TH__START_TRIES) {
            fprintf(stderr, "harness: cluster: a port was taken, retrying\n");
            test_cluster_stop(m, n);
            continue;
        }
        if (r > 0) fprintf(stderr, "harness: cluster member %s on %s exited before it was ready\n",
                           m[bad].name, m[bad].url);
        else fprintf(stderr, "harness: cluster member %s on %s not healthy within %.0f s\n",
                     m[bad].name, m[bad].url, 30.0 * t_time_scale());
        th__print_log_tail(m[bad].dir);
        test_cluster_stop(m, n);
        return -1;
    }
    return -1;
}

/* The client URLs of m[0..n) but m[skip] (skip -1: all of them), comma-
   separated in buf (sz bytes, cut short if it does not fit); buf. */
static TH__UNUSED char *test_cluster_hosts(const test_etcd *m, int n, int skip, char *buf, size_t sz)
{
    size_t len = 0;
    int i;
    if (sz) buf[0] = '\0';
    for (i = 0; i < n && len < sz; i++)
        if (i != skip) len += (size_t)snprintf(buf + len, sz - len, "%s%s", len ? "," : "", m[i].url);
    return buf;
}

/* Raw HTTP/1.0 POST of body (JSON) to 127.0.0.1:port path, 1 s socket
   timeouts; the answer's body (NUL-terminated, truncated to outsz-1) in
   out. Returns the HTTP status, or -1. Does not use etcd.h. */
static TH__UNUSED int test_http_post(int port, const char *path, const char *body,
                                     char *out, size_t outsz)
{
    char req[512], buf[16384];
    const char *p;
    size_t got = 0;
    ssize_t n;
    int fd, status = -1;

    if (out && outsz) out[0] = '\0';
    if ((fd = test_connect_local(port, 1)) < 0) return -1;
    n = snprintf(req, sizeof req, "POST %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n"
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                 path, port, strlen(body), body);
    if (n <= 0 || (size_t)n >= sizeof req || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) goto done;
    while (got < sizeof buf - 1 && (n = recv(fd, buf + got, sizeof buf - 1 - got, 0)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    if (strncmp(buf, "HTTP/1.", 7) != 0 || sscanf(buf + 8, " %d", &status) != 1) status = -1;
    p = strstr(buf, "\r\n\r\n");
    if (p && out && outsz) snprintf(out, outsz, "%s", p + 4);
done:
    close(fd);
    return status;
}

/* The uint64 JSON string member "name":"123" (etcd's gateway quotes
   64-bit numbers) at its first occurrence in text; 0 if absent. */
static TH__UNUSED uint64_t test_json_u64(const char *text, const char *name)
{
    char pat[64];
    const char *p;
    snprintf(pat, sizeof pat, "\"%s\":\"", name);
    p = text ? strstr(text, pat) : NULL;
    return p ? (uint64_t)strtoull(p + strlen(pat), NULL, 10) : 0;
}

/* A member's own id and the leader it knows of (0: none), from POST
   /v3/maintenance/status on its client port. 0, or -1 (not answering). */
static TH__UNUSED int test_member_status(const test_etcd *s, uint64_t *id, uint64_t *leader)
{
    char out[4096];
    if (id) *id = 0;
    if (leader) *leader = 0;
    if (s->pid <= 0 || test_http_post(s->port, "/v3/maintenance/status", "{}", out, sizeof out) != 200)
        return -1;
    if (id) *id = test_json_u64(out, "member_id");
    if (leader) *leader = test_json_u64(out, "leader");
    return id && !*id ? -1 : 0;
}

/* The index of the member every running member of m[0..n) agrees is the
   leader, waiting up to `wait` seconds for such agreement; -1 if none. */
static TH__UNUSED int test_cluster_leader(const test_etcd *m, int n, double wait)
{
    double deadline = th__now() + wait;
    for (;;) {
        uint64_t ids[TH__MAX_MEMBERS], leader = 0;
        int i, agree = 1, running = 0;
        for (i = 0; i < n && i < TH__MAX_MEMBERS; i++) {
            uint64_t l = 0;
            ids[i] = 0;
            if (m[i].pid <= 0) continue;
            running++;
            if (test_member_status(&m[i], &ids[i], &l) != 0 || !l || (leader && l != leader)) agree = 0;
            else leader = l;
        }
        if (agree && running && leader)
            for (i = 0; i < n && i < TH__MAX_MEMBERS; i++)
                if (m[i].pid > 0 && ids[i] == leader) return i;
        if (th__now() >= deadline) return -1;
        th__sleep_ms(50);
    }
}

/* ---- helpers shared by the suites ---------------------------------------- */

static TH__UNUSED double test_now(void) { return th__now(); }

/* r when it is a 200 result; otherwise NULL (r freed) with the reason
   printed. */
static TH__UNUSED etcd_res *test_ok200(etcd *c, etcd_res *r)
{
    if (r && r->status == 200) return r;
    if (!r) fprintf(stderr, "  call failed: %s\n", etcd_errstr(c));
    else fprintf(stderr, "  status %d: %s\n", r->status, r->body ? r->body : "");
    etcd_res_free(r);
    return NULL;
}

/* set key=val (JSON text under the JSON serializer) on c; the revision of
   the write, or -1 (and a failed CHECK). */
static TH__UNUSED int64_t test_put(etcd *c, const char *key, const char *val)
{
    etcd_res *r = test_ok200(c, etcd_set(c, key, val, NULL));
    int64_t rev = r ? r->revision : -1;
    CHECK(r != NULL);
    etcd_res_free(r);
    return rev;
}

/* set key=val on c; the revision of the write, or 0 (reason printed, no
   CHECK). */
static TH__UNUSED int64_t test_set(etcd *c, const char *key, const char *val)
{
    etcd_res *r = etcd_set(c, key, val, NULL);
    int64_t rev = r && r->status == 200 ? r->revision : 0;
    if (!rev) fprintf(stderr, "  set %s failed: %s\n", key, r ? r->body : etcd_errstr(c));
    etcd_res_free(r);
    return rev;
}

/* delete key on c, which must delete exactly one key; the revision of the
   delete, or 0 (reason printed, no CHECK). */
static TH__UNUSED int64_t test_del(etcd *c, const char *key)
{
    etcd_res *r = etcd_delete(c, key, NULL);
    int64_t rev = r && r->status == 200 && r->deleted == 1 ? r->revision : 0;
    if (!rev) fprintf(stderr, "  delete %s failed: %s\n", key, r ? r->body : etcd_errstr(c));
    etcd_res_free(r);
    return rev;
}

/* set key=val on c with lease (0: none); whether it worked (the reason
   printed, no CHECK). */
static TH__UNUSED bool test_put_lease(etcd *c, const char *key, const char *val, int64_t lease)
{
    etcd_set_opts o;
    etcd_res *r;
    bool ok;
    memset(&o, 0, sizeof o);
    o.lease = lease;
    r = etcd_set(c, key, val, &o);
    ok = r && r->status == 200;
    if (!ok) fprintf(stderr, "  set %s failed: %s\n", key, r ? r->body : etcd_errstr(c));
    etcd_res_free(r);
    return ok;
}

/* The store's current revision, read with a get of a key nobody writes. */
static TH__UNUSED int64_t test_rev(etcd *c)
{
    etcd_res *r = test_ok200(c, etcd_get(c, "/no-such-key-ever", NULL));
    int64_t rev = r ? r->revision : -1;
    etcd_res_free(r);
    return rev;
}

/* kv holds exactly key and val, both NUL-terminated at their lengths. */
static TH__UNUSED void test_check_kv(const etcd_kv *kv, const char *key, const char *val)
{
    CHECK(kv->key != NULL && kv->value != NULL);
    if (!kv->key || !kv->value) return;
    CHECK_MEM(kv->key, kv->key_len, key, strlen(key));
    CHECK_MEM(kv->value, kv->value_len, val, strlen(val));
    CHECK(kv->key[kv->key_len] == '\0' && kv->value[kv->value_len] == '\0');
}

/* A TCP listener on 127.0.0.1 that accepts (via the backlog) but never
   answers: for timeouts. Returns its fd with *port set, or -1. */
static TH__UNUSED int test_silent_listener(int *port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* ---- a throwaway PKI for TLS members ------------------------------------- */

static int th__write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    int ok;
    if (!f) return -1;
    ok = fputs(text, f) >= 0;
    if (fclose(f) != 0) ok = 0;
    return ok ? 0 : -1;
}

/* openssl with the NULL-terminated args; output into c->dir/openssl.log. */
static int th__openssl(const test_certs *c, const char *const *args)
{
    const char *argv[40];
    char log[300];
    int argc = 0, i, rc;
    argv[argc++] = "openssl";
    for (i = 0; args[i] && argc < 39; i++) argv[argc++] = args[i];
    argv[argc] = NULL;
    snprintf(log, sizeof log, "%s/openssl.log", c->dir);
    rc = th__run(argv, NULL, 0, log);
    if (rc != 0) fprintf(stderr, "harness: openssl %s ... exited %d (see %s)\n", args[0], rc, log);
    return rc == 0 ? 0 : -1;
}

/* Remove the PKI's directory. Idempotent. */
static TH__UNUSED void test_certs_remove(test_certs *c)
{
    if (!c || !c->dir[0]) return;
    th__unregister(0, c->dir);
    th__rm_rf(c->dir);
    c->dir[0] = '\0';
}

/* Write a CA, a server certificate and a client certificate signed by it,
   an unrelated CA and a stray key (EC P-256, valid for 2 days) into a fresh
   temp dir with the openssl CLI (fork/exec, no shell). The dir is removed
   by test_certs_remove or at exit. 0, or -1 with the reason on stderr. */
static TH__UNUSED int test_certs_make(test_certs *c)
{
    static const char cnf[] =
        "[req]\n"
        "distinguished_name = dn\n"
        "prompt = no\n"
        "[dn]\n"
        "CN = unused\n"
        "[v3_ca]\n"
        "basicConstraints = critical,CA:TRUE\n"
        "keyUsage = critical,keyCertSign,cRLSign\n"
        "subjectKeyIdentifier = hash\n"
        "[server]\n"
        "basicConstraints = critical,CA:FALSE\n"
        "keyUsage = critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage = serverAuth,clientAuth\n"
        "subjectAltName = IP:127.0.0.1,DNS:localhost\n"
        "subjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid\n"
        "[client]\n"
        "basicConstraints = critical,CA:FALSE\n"
        "keyUsage = critical,digitalSignature\n"
        "extendedKeyUsage = clientAuth\n"
        "subjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid\n";
    char tmpl[256], conf[300], wrong_key[300], server_csr[300], client_csr[300];
    const char *tmp = getenv("TMPDIR");

    memset(c, 0, sizeof *c);
    snprintf(tmpl, sizeof tmpl, "%s/etcdh-tls-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmpl)) {
        fprintf(stderr, "harness: mkdtemp %s: %s\n", tmpl, strerror(errno));
        return -1;
    }
    snprintf(c->dir, sizeof c->dir, "%s", tmpl);
    th__register(0, c->dir);
#define TH__P(field, name) snprintf(field, sizeof field, "%s/" name, c->dir)
    TH__P(conf, "openssl.cnf");
    TH__P(c->ca, "ca.pem");
    TH__P(c->ca_key, "ca.key");
    TH__P(c->server_cert, "server.pem");
    TH__P(c->server_key, "server.key");
    TH__P(server_csr, "server.csr");
    TH__P(c->client_cert, "client.pem");
    TH__P(c->client_key, "client.key");
    TH__P(client_csr, "client.csr");
    TH__P(c->wrong_ca, "wrong-ca.pem");
    TH__P(wrong_key, "wrong-ca.key");
    TH__P(c->other_key, "other.key");
#undef TH__P
    if (th__write_file(conf, cnf) != 0) {
        fprintf(stderr, "harness: cannot write %s\n", conf);
        goto fail;
    }
    {
        const char *ca[] = { "req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-keyout", c->ca_key, "-out", c->ca, "-days", "2",
            "-subj", "/CN=etcdh-test-ca", "-config", conf, "-extensions", "v3_ca", NULL };
        const char *wrong[] = { "req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-keyout", wrong_key, "-out", c->wrong_ca, "-days",
            "2", "-subj", "/CN=etcdh-wrong-ca", "-config", conf, "-extensions", "v3_ca", NULL };
        const char *scsr[] = { "req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-keyout", c->server_key, "-out", server_csr,
            "-subj", "/CN=etcd-test-server", "-config", conf, NULL };
        const char *ssign[] = { "x509", "-req", "-in", server_csr, "-CA", c->ca, "-CAkey",
            c->ca_key, "-set_serial", "2", "-days", "2", "-out", c->server_cert, "-extfile",
            conf, "-extensions", "server", NULL };
        const char *ccsr[] = { "req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-keyout", c->client_key, "-out", client_csr,
            "-subj", "/CN=etcdh-test-client", "-config", conf, NULL };
        const char *csign[] = { "x509", "-req", "-in", client_csr, "-CA", c->ca, "-CAkey",
            c->ca_key, "-set_serial", "3", "-days", "2", "-out", c->client_cert, "-extfile",
            conf, "-extensions", "client", NULL };
        const char *other[] = { "genpkey", "-algorithm", "EC", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-out", c->other_key, NULL };
        if (th__openssl(c, ca) || th__openssl(c, wrong) || th__openssl(c, scsr) ||
            th__openssl(c, ssign) || th__openssl(c, ccsr) || th__openssl(c, csign) ||
            th__openssl(c, other))
            goto fail;
    }
    return 0;
fail:
    test_certs_remove(c);
    return -1;
}

/* ---- a member joining a running cluster (test_admin.c) ------------------- */

/* Prepare s for a member named name that is to join a running cluster
   (etcd_member_add takes its peer URL first): free client and peer ports,
   a fresh temp dir, s->url ("http://127.0.0.1:PORT") and s->name set;
   nothing is started. Its peer URL is "http://127.0.0.1:<s->peer_port>".
   The dir is removed by test_etcd_stop or at exit. 0, or -1 (printed). */
static TH__UNUSED int test_etcd_join_prepare(test_etcd *s, const char *name)
{
    char tmpl[256];
    const char *tmp = getenv("TMPDIR");
    memset(s, 0, sizeof *s);
    if (!name || !*name || strlen(name) >= sizeof s->name) {
        fprintf(stderr, "harness: test_etcd_join_prepare: a name of 1 to %zu bytes\n", sizeof s->name - 1);
        return -1;
    }
    s->port = test_free_port();
    do s->peer_port = test_free_port(); while (s->peer_port == s->port && s->port > 0);
    if (s->port <= 0 || s->peer_port <= 0) {
        fprintf(stderr, "harness: no free port: %s\n", strerror(errno));
        return -1;
    }
    snprintf(tmpl, sizeof tmpl, "%s/etcdh-join-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(tmpl)) {
        fprintf(stderr, "harness: mkdtemp %s: %s\n", tmpl, strerror(errno));
        return -1;
    }
    snprintf(s->dir, sizeof s->dir, "%s", tmpl);
    th__register(0, s->dir);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    snprintf(s->name, sizeof s->name, "%s", name);
    return 0;
}

/* Start the member test_etcd_join_prepare made ready, as etcd's runtime
   reconfiguration says: --initial-cluster cluster (name=peerURL pairs of
   every member, this one included, as the member add answered),
   --initial-cluster-state existing, --initial-cluster-token token (the
   cluster's: m[0].token), the cluster members' 50 ms heartbeat and 500 ms
   election timeout, then extra_args (NULL-terminated, or NULL; kept for
   test_etcd_restart, as are the other flags). Waits (<= 20 s) until GET
   /version answers: a learner still catching up need not report healthy.
   The process is stopped by PID (test_etcd_stop, test_etcd_kill, or at
   exit). 0; -1 when it exited or did not answer in time (its log's tail
   printed, the process stopped, the dir kept for test_etcd_stop). */
static TH__UNUSED int test_etcd_join_start(test_etcd *s, const char *cluster, const char *token,
                                           const char *const *extra_args)
{
    double deadline = th__now() + 20.0 * t_time_scale();
    int i;
    if (!s || !s->dir[0] || !s->name[0] || s->pid > 0 || !cluster || !*cluster ||
        strlen(cluster) >= sizeof s->cluster || (token && strlen(token) >= sizeof s->token)) {
        fprintf(stderr, "harness: test_etcd_join_start: prepare s first; cluster of 1 to %zu bytes\n",
                sizeof s->cluster - 1);
        return -1;
    }
    memcpy(s->cluster, cluster, strlen(cluster) + 1);   /* lengths checked above */
    if (token) memcpy(s->token, token, strlen(token) + 1);
    else s->token[0] = '\0';
    s->extra[0] = "--initial-cluster-state=existing";  /* after th__fork_etcd's "new": the last wins */
    for (i = 0; extra_args && extra_args[i] && i + 1 < TH__MAX_EXTRA; i++) s->extra[i + 1] = extra_args[i];
    s->extra[i + 1] = NULL;
    th__unregister(0, s->dir);                 /* th__fork_etcd registers pid and dir */
    if (th__fork_etcd(s) != 0) {
        th__register(0, s->dir);
        return -1;
    }
    while (th__now() < deadline) {
        if (th__exited(s->pid)) {
            th__unregister(s->pid, s->dir);
            th__register(0, s->dir);
            s->pid = 0;
            fprintf(stderr, "harness: joining member %s on %s exited\n", s->name, s->url);
            th__print_log_tail(s->dir);
            return -1;
        }
        if (th__http_get_has(s->port, "/version", "etcdserver")) return 0;
        th__sleep_ms(50);
    }
    fprintf(stderr, "harness: joining member %s on %s not answering within %.0f s\n", s->name, s->url,
            20.0 * t_time_scale());
    th__print_log_tail(s->dir);
    test_etcd_kill(s);
    return -1;
}

#endif
