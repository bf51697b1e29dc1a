/* fakeserver.h - a small scripted HTTP server for etcd.h's transport tests.

   fs_start() listens on 127.0.0.1, ::1 or a unix socket (free port) and runs
   an accept thread; every accepted connection gets its own thread running the
   test's handler (the "script"), which reads requests with fs_read_req() (each
   one is recorded: request line, head, body) and answers with fs_send*(),
   fs_respond(), fs_chunk(), fs_close(), ... fs_stop() stops everything, joins
   every thread, closes every fd and frees every record.

   Every blocking step polls in short slices and gives up when the server is
   stopping or its deadline passes, so a misbehaving client cannot hang the
   suite. Writes use MSG_NOSIGNAL: the test process never gets SIGPIPE from
   its own server. Include after a header that defines _POSIX_C_SOURCE. */
#ifndef FAKESERVER_H
#define FAKESERVER_H

#include <pthread.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <unistd.h>
#include <errno.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <stdio.h>

#define FS_MAXCONN 64
#define FS_MAXREQ  256
#define FS_SLICE_MS 20
#define FS_MAX_BODY (16u << 20)

/* Canned etcd answers for scripted servers (as etcd 3.4 writes them). */
#define FS_HDR(rev) "\"header\":{\"cluster_id\":\"14841639068965178418\"," \
    "\"member_id\":\"10276657743932975437\",\"revision\":\"" rev "\",\"raft_term\":\"7\"}"
#define FS_RANGE_BODY "{" FS_HDR("42") ",\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"40\"," \
    "\"mod_revision\":\"42\",\"version\":\"3\",\"value\":\"ODA4MA==\"}],\"count\":\"1\"}"
#define FS_VERSION_34 "{\"etcdserver\":\"3.4.23\",\"etcdcluster\":\"3.4.0\"}"

typedef enum { FS_TCP4, FS_TCP6, FS_UNIX } fs_kind;

typedef struct fs_server fs_server;

typedef struct fs_conn {
    fs_server *srv;
    int fd;
    int index;                    /* accept number, 0-based */
    char *buf; size_t len, cap;   /* received, not yet consumed */
    pthread_t th;
} fs_conn;

typedef void (*fs_handler)(fs_conn *c);

typedef struct fs_req {
    int conn;                     /* fs_conn.index it came on */
    char method[16], target[512], version[16];
    char *head; size_t head_len;  /* request line .. CRLFCRLF, NUL-terminated */
    char *body; size_t body_len;  /* NUL-terminated */
} fs_req;

struct fs_server {
    fs_kind kind;
    int lfd, port;
    char path[256];               /* unix socket path */
    char url[300];                /* http://host:port (TCP) */
    fs_handler handler;
    const void *arg;              /* the test's script data */
    pthread_t th;
    pthread_mutex_t mu;
    int stop, accepts, go;
    fs_conn *conns[FS_MAXCONN]; int nconns;
    fs_req *reqs[FS_MAXREQ]; int nreqs;
};

static double fs_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fs_sleep_us(long us)
{
    struct timespec ts;
    ts.tv_sec = us / 1000000; ts.tv_nsec = (us % 1000000) * 1000;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}
static void fs_sleep_ms(long ms) { fs_sleep_us(ms * 1000); }

static int fs_get_int(fs_server *s, const int *p)
{
    int v;
    pthread_mutex_lock(&s->mu); v = *p; pthread_mutex_unlock(&s->mu);
    return v;
}
static int fs_stopping(fs_server *s) { return fs_get_int(s, &s->stop); }
static int fs_accepts(fs_server *s)  { return fs_get_int(s, &s->accepts); }
static int fs_nreqs(fs_server *s)    { return fs_get_int(s, &s->nreqs); }

/* Request i as recorded (NULL if there is none). Records never change. */
static const fs_req *fs_get(fs_server *s, int i)
{
    const fs_req *r = NULL;
    pthread_mutex_lock(&s->mu);
    if (i >= 0 && i < s->nreqs) r = s->reqs[i];
    pthread_mutex_unlock(&s->mu);
    return r;
}

/* Let a handler blocked in fs_wait_go() go on. */
static void fs_go(fs_server *s)
{
    pthread_mutex_lock(&s->mu); s->go++; pthread_mutex_unlock(&s->mu);
}

static int fs_wait_go(fs_conn *c, double max_s)
{
    double end = fs_now() + max_s;
    while (fs_now() < end) {
        int ok = 0, stop;
        pthread_mutex_lock(&c->srv->mu);
        stop = c->srv->stop;
        if (c->srv->go > 0) { c->srv->go--; ok = 1; }
        pthread_mutex_unlock(&c->srv->mu);
        if (ok) return 1;
        if (stop) return 0;
        fs_sleep_ms(2);
    }
    return 0;
}

/* Wait until fd is ready for ev, in slices; 1 ready, 0 deadline/stop. */
static int fs_poll(fs_conn *c, short ev, double end)
{
    while (!fs_stopping(c->srv)) {
        struct pollfd p;
        int r;
        if (c->fd < 0 || fs_now() >= end) return 0;
        p.fd = c->fd; p.events = ev; p.revents = 0;
        r = poll(&p, 1, FS_SLICE_MS);
        if (r > 0) return 1;
        if (r < 0 && errno != EINTR) return 0;
    }
    return 0;
}

/* Read more into c->buf: > 0 bytes read, 0 EOF, -1 deadline/stop/error. */
static long fs_fill(fs_conn *c, double end)
{
    ssize_t n;
    if (!fs_poll(c, POLLIN, end)) return -1;
    if (c->cap - c->len < 65536) {
        size_t ncap = c->cap ? c->cap * 2 : 131072;
        char *nb = (char *)realloc(c->buf, ncap);
        if (!nb) return -1;
        c->buf = nb; c->cap = ncap;
    }
    n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, MSG_DONTWAIT);
    if (n < 0) return (errno == EAGAIN || errno == EINTR) ? fs_fill(c, end) : -1;
    c->len += (size_t)n;
    return (long)n;
}

static const char *fs_memmem(const char *h, size_t hl, const char *n, size_t nl)
{
    size_t i;
    if (nl == 0) return h;
    for (i = 0; i + nl <= hl; i++)
        if (memcmp(h + i, n, nl) == 0) return h + i;
    return NULL;
}

/* Header `name` of a head (case-insensitive); value (trimmed) copied into
   out. Returns how many times the header occurs. */
static int fs_head_header(const char *head, const char *name, char *out, size_t outsz)
{
    int count = 0;
    size_t nl = strlen(name);
    const char *p = strstr(head, "\r\n");
    if (out && outsz) out[0] = '\0';
    while (p && p[2] && !(p[2] == '\r' && p[3] == '\n')) {
        const char *line = p + 2, *eol = strstr(line, "\r\n");
        if (!eol) break;
        if ((size_t)(eol - line) > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
            const char *v = line + nl + 1, *ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t')) v++;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
            if (count == 0 && out && outsz) {
                size_t l = (size_t)(ve - v) < outsz - 1 ? (size_t)(ve - v) : outsz - 1;
                memcpy(out, v, l); out[l] = '\0';
            }
            count++;
        }
        p = eol;
    }
    return count;
}

static int fs_header(const fs_req *r, const char *name, char *out, size_t outsz)
{
    return r ? fs_head_header(r->head, name, out, outsz) : 0;
}

/* Read and record one request (head + Content-Length body). Returns its
   index in the server's record, or -1 on EOF, error, stop or 5 s. */
static int fs_read_req(fs_conn *c)
{
    double end = fs_now() + 5.0;
    const char *he = NULL;
    size_t hl, bl = 0;
    char cl[64];
    fs_req *r;
    int idx;
    while (!(c->buf && (he = fs_memmem(c->buf, c->len, "\r\n\r\n", 4))))
        if (fs_fill(c, end) <= 0) return -1;
    hl = (size_t)(he - c->buf) + 4;
    r = (fs_req *)calloc(1, sizeof *r);
    if (!r) return -1;
    r->conn = c->index;
    r->head = (char *)malloc(hl + 1);
    if (!r->head) { free(r); return -1; }
    memcpy(r->head, c->buf, hl); r->head[hl] = '\0'; r->head_len = hl;
    {
        char fmt[64];
        snprintf(fmt, sizeof fmt, "%%%ds %%%ds %%%ds", (int)sizeof r->method - 1,
                 (int)sizeof r->target - 1, (int)sizeof r->version - 1);
        if (sscanf(r->head, fmt, r->method, r->target, r->version) != 3)
            r->method[0] = '\0';
    }
    if (fs_head_header(r->head, "content-length", cl, sizeof cl) > 0) {
        char *e;
        unsigned long v = strtoul(cl, &e, 10);
        if (*e == '\0' && v <= FS_MAX_BODY) bl = v;
    }
    while (c->len < hl + bl)
        if (fs_fill(c, end) <= 0) { free(r->head); free(r); return -1; }
    r->body = (char *)malloc(bl + 1);
    if (!r->body) { free(r->head); free(r); return -1; }
    memcpy(r->body, c->buf + hl, bl); r->body[bl] = '\0'; r->body_len = bl;
    memmove(c->buf, c->buf + hl + bl, c->len - hl - bl);
    c->len -= hl + bl;
    pthread_mutex_lock(&c->srv->mu);
    idx = c->srv->nreqs;
    if (idx < FS_MAXREQ) c->srv->reqs[c->srv->nreqs++] = r;
    pthread_mutex_unlock(&c->srv->mu);
    if (idx >= FS_MAXREQ) { free(r->head); free(r->body); free(r); return -1; }
    return idx;
}

/* Write everything (within 5 s); 0 ok, -1 peer gone/stop/deadline. */
static int fs_send(fs_conn *c, const void *data, size_t n)
{
    const char *p = (const char *)data;
    double end = fs_now() + 5.0;
    while (n > 0) {
        ssize_t w;
        if (!fs_poll(c, POLLOUT, end)) return -1;
        w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            return -1;
        }
        p += w; n -= (size_t)w;
    }
    return 0;
}

static int fs_sends(fs_conn *c, const char *s) { return fs_send(c, s, strlen(s)); }

/* n bytes, `step` bytes per write, `us` microseconds apart. */
static int fs_send_slow(fs_conn *c, const char *s, size_t n, size_t step, long us)
{
    while (n > 0) {
        size_t k = n < step ? n : step;
        if (fs_send(c, s, k) != 0) return -1;
        s += k; n -= k;
        if (n) fs_sleep_us(us);
    }
    return 0;
}

/* One chunk of a chunked body. */
static int fs_chunk(fs_conn *c, const char *data, size_t n)
{
    char *b = (char *)malloc(n + 32);
    int len, rc;
    if (!b) return -1;
    len = snprintf(b, 32, "%zx\r\n", n);
    memcpy(b + len, data, n);
    memcpy(b + len + n, "\r\n", 2);
    rc = fs_send(c, b, (size_t)len + n + 2);
    free(b);
    return rc;
}

/* A whole response with a Content-Length body; extra: "Name: v\r\n"... */
static int fs_respond(fs_conn *c, int status, const char *extra, const char *body)
{
    size_t bl = strlen(body), hl;
    char *b = (char *)malloc(bl + strlen(extra) + 200);
    int rc;
    if (!b) return -1;
    hl = (size_t)sprintf(b, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n%s"
                         "Content-Length: %zu\r\n\r\n", status,
                         status == 200 ? "OK" : status == 503 ? "Service Unavailable" :
                         status == 404 ? "Not Found" : "Bad Request", extra, bl);
    memcpy(b + hl, body, bl);
    rc = fs_send(c, b, hl + bl);
    free(b);
    return rc;
}

static void fs_close(fs_conn *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
}

/* Close with a TCP RST (SO_LINGER 0). */
static void fs_reset(fs_conn *c)
{
    struct linger l;
    l.l_onoff = 1; l.l_linger = 0;
    if (c->fd >= 0) setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    fs_close(c);
}

/* Discard input until the peer closes (or stop, or max_s). 1 if it closed. */
static int fs_wait_close(fs_conn *c, double max_s)
{
    double end = fs_now() + max_s;
    for (;;) {
        long n = fs_fill(c, end);
        if (n == 0) return 1;
        if (n < 0) return 0;
        c->len = 0;
    }
}

static void *fs_conn_main(void *p)
{
    fs_conn *c = (fs_conn *)p;
    c->srv->handler(c);
    fs_close(c);
    return NULL;
}

static void *fs_accept_main(void *p)
{
    fs_server *s = (fs_server *)p;
    while (!fs_stopping(s)) {
        struct pollfd pf;
        int fd;
        fs_conn *c;
        pf.fd = s->lfd; pf.events = POLLIN; pf.revents = 0;
        if (poll(&pf, 1, FS_SLICE_MS) <= 0) continue;
        fd = accept(s->lfd, NULL, NULL);
        if (fd < 0) continue;
        if (s->kind != FS_UNIX) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        c = (fs_conn *)calloc(1, sizeof *c);
        pthread_mutex_lock(&s->mu);
        if (!c || s->nconns >= FS_MAXCONN) {
            pthread_mutex_unlock(&s->mu);
            free(c); close(fd);
            continue;
        }
        c->srv = s; c->fd = fd; c->index = s->accepts++;
        s->conns[s->nconns++] = c;
        if (pthread_create(&c->th, NULL, fs_conn_main, c) != 0) {
            s->nconns--; close(fd); free(c);
        }
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

/* Start a server. unix_path: the socket file for FS_UNIX. NULL when the
   address cannot be bound (e.g. no ::1). */
static fs_server *fs_start(fs_kind kind, const char *unix_path, fs_handler h, const void *arg)
{
    fs_server *s = (fs_server *)calloc(1, sizeof *s);
    int one = 1;
    if (!s) return NULL;
    s->kind = kind; s->handler = h; s->arg = arg; s->lfd = -1;
    if (kind == FS_UNIX) {
        struct sockaddr_un sa;
        memset(&sa, 0, sizeof sa);
        sa.sun_family = AF_UNIX;
        if (strlen(unix_path) >= sizeof sa.sun_path) goto fail;
        strcpy(sa.sun_path, unix_path);
        strcpy(s->path, unix_path);
        s->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof sa) != 0) goto fail;
    } else if (kind == FS_TCP6) {
        struct sockaddr_in6 sa;
        socklen_t sl = sizeof sa;
        memset(&sa, 0, sizeof sa);
        sa.sin6_family = AF_INET6;
        sa.sin6_addr = in6addr_loopback;
        s->lfd = socket(AF_INET6, SOCK_STREAM, 0);
        if (s->lfd < 0) goto fail;
        setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(s->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
            getsockname(s->lfd, (struct sockaddr *)&sa, &sl) != 0) goto fail;
        s->port = ntohs(sa.sin6_port);
        snprintf(s->url, sizeof s->url, "http://[::1]:%d", s->port);
    } else {
        struct sockaddr_in sa;
        socklen_t sl = sizeof sa;
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        s->lfd = socket(AF_INET, SOCK_STREAM, 0);
        if (s->lfd < 0) goto fail;
        setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(s->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
            getsockname(s->lfd, (struct sockaddr *)&sa, &sl) != 0) goto fail;
        s->port = ntohs(sa.sin_port);
        snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    }
    if (listen(s->lfd, 64) != 0) goto fail;
    if (pthread_mutex_init(&s->mu, NULL) != 0) goto fail;
    if (pthread_create(&s->th, NULL, fs_accept_main, s) != 0) {
        pthread_mutex_destroy(&s->mu);
        goto fail;
    }
    return s;
fail:
    if (s->lfd >= 0) close(s->lfd);
    if (kind == FS_UNIX && s->path[0]) unlink(s->path);
    free(s);
    return NULL;
}

static void fs_stop(fs_server *s)
{
    int i;
    if (!s) return;
    pthread_mutex_lock(&s->mu); s->stop = 1; pthread_mutex_unlock(&s->mu);
    pthread_join(s->th, NULL);
    for (i = 0; i < s->nconns; i++) {
        pthread_join(s->conns[i]->th, NULL);
        free(s->conns[i]->buf);
        free(s->conns[i]);
    }
    for (i = 0; i < s->nreqs; i++) {
        free(s->reqs[i]->head); free(s->reqs[i]->body); free(s->reqs[i]);
    }
    close(s->lfd);
    if (s->kind == FS_UNIX) unlink(s->path);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* A TCP port on 127.0.0.1 with nothing listening (bound, then released). */
static int fs_free_port(void)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;
    if (fd < 0) return 0;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

#ifdef ETCD_H
/* A get of "foo" that must come back as FS_RANGE_BODY (value "8080"). */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((unused))
#endif
static int fs_get_ok(etcd *cli)
{
    etcd_res *r = etcd_get(cli, "foo", NULL);
    int ok = r && r->status == 200 && r->nkvs == 1 && strcmp(r->kvs[0].value, "8080") == 0;
    if (!r) fprintf(stderr, "  etcd_get: %s\n", etcd_errstr(cli));
    else if (!ok) fprintf(stderr, "  etcd_get: status %d body %s\n", r->status, r->body);
    etcd_res_free(r);
    return ok;
}
#endif

#endif
