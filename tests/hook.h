/* hook.h - a transport of the tests' own (etcd_transport), written here
   over POSIX sockets, not etcd.h's: for the suites built with
   -DETCD_NO_SOCKETS -DTEST_HOOK (mk/hook.mk: build/hook/, build/hook-asan/)
   and for tests/test_hook.c, which tests the hook contract itself.

   Include after etcd.h (with ETCD_IMPLEMENTATION: its _POSIX_C_SOURCE).
   With TEST_HOOK defined, tests/test.h includes this file at its end.

   th_hook_transport (ctx: th_hook_default_ctx) is deliberately awkward:
   - handles are slots of a table plus TH_HOOK_BASE (1000), never the fds,
     so code that takes a handle for an fd (poll, close) breaks; slots are
     taken round-robin, so a stale handle is not soon another connection;
   - connect: getaddrinfo, then a non-blocking connect polled to the
     deadline (ETIMEDOUT after it); port 0: host is a unix socket path.
     Only loopback is dialled (127/8, ::1): any other address fails with
     ENETUNREACH, so no suite ever sends a packet off the machine;
   - read/write: recv/send (MSG_NOSIGNAL), never blocking. Unless the
     context is calm, a call may move fewer bytes than asked (1..n) and
     may say ETCD_IO_AGAIN for nothing (never twice in a row on one
     connection and direction), drawn from a PRNG seeded by TEST_HOOK_SEED
     (printed at first use; default: time and pid). Not right after a
     wait() that said ready for that direction, as wait's declaration
     promises ("1 ready (or failed: the next read or write says how)"),
     unless the context's again_after_ready is set
     (TEST_HOOK_AGAIN_AFTER_READY=1 sets it for the default context):
     etcd.h's TLS stale check does not survive that (tests/test_hook.c,
     test_tls_idle_close_again_after_ready);
   - wait: poll() to the deadline, on the hook's clock; conn -1 sleeps;
   - now: CLOCK_MONOTONIC minus its value at the context's first use,
     times ctx->rate: it starts near 0, so a deadline taken from
     CLOCK_MONOTONIC (hours or days ahead of it) or compared with it shows.
     A context with system_clock uses CLOCK_MONOTONIC itself (for a
     transport whose now is NULL: etcd.h then uses the system clock).

   th_hook_fd(h) is the socket behind a handle, for a test that polls it
   itself (test_tls does); th_hook_make(ctx) a transport of a context of
   the caller's (a clock rate, calm I/O, the system clock).

   th_hook holds the counters (connects, bytes in and out, waits, sleeps,
   injected short reads/writes and spurious AGAINs, ...), and the contract
   violations seen (a handle not open, a read or write of 0 bytes, a wait
   for no event, a deadline more than a day ahead, a sleep without a
   deadline): th_hook.bad, the first one's text in th_hook.bad_what.

   With TEST_HOOK, every client a suite makes goes over the hook:
   etcd_new, t_client and t_refused are macros that set opts.transport
   (unless the caller set one), and test_summary() first runs one more
   test, hook_carried_traffic: the hook made connections and moved bytes
   both ways (shook them, when there were enough), and saw no contract
   violation. TEST_HOOK_NO_TRAFFIC (test_unit, which makes no client)
   keeps only the last part. (etcd_new) with parentheses is the real one.
   One thread: the table, counters and PRNG are not locked. */
#ifndef ETCD_TEST_HOOK_H
#define ETCD_TEST_HOOK_H

#ifndef ETCD_H
#error "hook.h: include etcd.h first"
#endif

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>

#if defined(__GNUC__) || defined(__clang__)
#define TH_HOOK_UNUSED __attribute__((unused))
#else
#define TH_HOOK_UNUSED
#endif

#define TH_HOOK_BASE  1000   /* handle = slot + TH_HOOK_BASE */
#define TH_HOOK_SLOTS 1024

typedef struct th_hook_ctx {
    double rate;          /* the clock's speed against real time; 0 means 1 */
    int    calm;          /* 1: no short reads/writes, no spurious ETCD_IO_AGAIN */
    int    system_clock;  /* 1: now and deadlines are CLOCK_MONOTONIC itself */
    int    again_after_ready; /* 1: a spurious AGAIN may come right after wait() said ready */
    double mono0;         /* CLOCK_MONOTONIC at first use */
    int    started;
} th_hook_ctx;

typedef struct th_hook_counters {
    long      clients;        /* clients made over the hook by the TEST_HOOK redirects */
    long      connects;       /* connections made */
    long      connect_fails;
    long      refused_remote; /* addresses not dialled: not loopback */
    long      closes;
    long      open;           /* connections open now */
    long      reads, writes, eofs;
    long long bytes_in, bytes_out;
    long      shorts;         /* injected short reads and writes */
    long      agains;         /* injected spurious ETCD_IO_AGAIN */
    long      waits;          /* wait() on a connection */
    long      sleeps;         /* wait() on conn -1 */
    long      bad;            /* contract violations */
    char      bad_what[200];  /* the first one */
    char      last_host[256]; /* the last connect's host and port */
    int       last_port;
    int       last_handle;    /* the last connection made */
    unsigned char last_first_out; /* the first byte written on the last connection */
} th_hook_counters;

static th_hook_counters th_hook;
static th_hook_ctx th_hook_default_ctx;
static unsigned long long th_hook_seed, th__hook_rng;
static int th__hook_seeded;

static struct th__hook_slot {
    int used, fd;
    int again_r, again_w;     /* the last read / write was a spurious AGAIN */
    int ready_r, ready_w;     /* wait() said ready to read / write, not used since */
    long long in, out;
} th__hook_slots[TH_HOOK_SLOTS];
static int th__hook_next;

static void th__hook_bad(const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!th_hook.bad++) snprintf(th_hook.bad_what, sizeof th_hook.bad_what, "%s", msg);
    fprintf(stderr, "  hook: contract violation: %s\n", msg);
}

/* ---- the PRNG (splitmix64), seeded once ---------------------------------- */

static void th__hook_seed(void)
{
    const char *e;
    if (th__hook_seeded) return;
    th__hook_seeded = 1;
    e = getenv("TEST_HOOK_SEED");
    th_hook_seed = e && *e ? strtoull(e, NULL, 10)
                           : ((unsigned long long)time(NULL) * 2654435761ULL) ^ (unsigned long long)getpid();
    th__hook_rng = th_hook_seed;
    e = getenv("TEST_HOOK_AGAIN_AFTER_READY");
    if (e && *e == '1') th_hook_default_ctx.again_after_ready = 1;
    printf("hook: TEST_HOOK_SEED=%llu (short reads and writes, spurious ETCD_IO_AGAIN: "
           "set it to replay them)\n", th_hook_seed);
    fflush(stdout);
}

static unsigned long long th__hook_rand(unsigned long long n)   /* 0 .. n-1 */
{
    unsigned long long z;
    th__hook_seed();
    z = (th__hook_rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return n ? z % n : 0;
}

/* How many of n bytes this call moves: 0 for a spurious AGAIN. *ready:
   wait() said this direction was ready, and nothing used that since. */
static size_t th__hook_shake(const th_hook_ctx *c, int *again, int *ready, size_t n)
{
    unsigned long long r;
    size_t k = n;
    int after_ready = *ready;
    *ready = 0;
    if (c->calm || n == 0) return n;
    if (!*again && (!after_ready || c->again_after_ready) && th__hook_rand(16) == 0) {
        *again = 1;
        th_hook.agains++;
        return 0;
    }
    *again = 0;
    r = th__hook_rand(8);
    if (r == 0) k = 1 + (size_t)th__hook_rand(n < 8 ? n : 8);     /* a few bytes */
    else if (r <= 3) k = 1 + (size_t)th__hook_rand(n);            /* anything */
    if (k < n) th_hook.shorts++;
    return k;
}

/* ---- the clock ------------------------------------------------------------ */

static th_hook_ctx *th__hook_ctx(void *ctx) { return ctx ? (th_hook_ctx *)ctx : &th_hook_default_ctx; }

static double th__hook_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double th__hook_rate(const th_hook_ctx *c) { return c->rate > 0 ? c->rate : 1.0; }

static TH_HOOK_UNUSED double th_hook_now(void *ctx)
{
    th_hook_ctx *c = th__hook_ctx(ctx);
    double m = th__hook_mono();
    if (c->system_clock) return m;
    if (!c->started) {
        c->started = 1;
        c->mono0 = m;
    }
    return (m - c->mono0) * th__hook_rate(c);
}

/* poll()'s timeout for what is left of a deadline on c's clock: -1 none,
   0 passed. */
static int th__hook_ms(th_hook_ctx *c, double deadline)
{
    double left;
    if (deadline < 0) return -1;
    left = (deadline - th_hook_now(c)) / th__hook_rate(c);
    if (left <= 0) return 0;
    return left > 86400.0 ? 86400000 : (int)(left * 1000.0) + 1;
}

static void th__hook_check_deadline(th_hook_ctx *c, const char *what, double deadline)
{
    double now = th_hook_now(c);
    if (deadline >= 0 && deadline - now > 86400.0)
        th__hook_bad("%s: deadline %.0f s ahead of now() (%.3f): on another clock?", what, deadline - now, now);
}

/* ---- handles -------------------------------------------------------------- */

static struct th__hook_slot *th__hook_slot(int h, const char *what)
{
    int i = h - TH_HOOK_BASE;
    if (i < 0 || i >= TH_HOOK_SLOTS || !th__hook_slots[i].used) {
        th__hook_bad("%s on handle %d, which is not an open connection", what, h);
        errno = EBADF;
        return NULL;
    }
    return &th__hook_slots[i];
}

/* The socket behind handle h, or -1: for a test that polls it itself. */
static TH_HOOK_UNUSED int th_hook_fd(int h)
{
    int i = h - TH_HOOK_BASE;
    return i >= 0 && i < TH_HOOK_SLOTS && th__hook_slots[i].used ? th__hook_slots[i].fd : -1;
}

static int th__hook_take(int fd)
{
    int k;
    for (k = 0; k < TH_HOOK_SLOTS; k++) {
        int i = (th__hook_next + k) % TH_HOOK_SLOTS;
        if (!th__hook_slots[i].used) {
            memset(&th__hook_slots[i], 0, sizeof th__hook_slots[i]);
            th__hook_slots[i].used = 1;
            th__hook_slots[i].fd = fd;
            th__hook_next = (i + 1) % TH_HOOK_SLOTS;
            th_hook.open++;
            return i + TH_HOOK_BASE;
        }
    }
    close(fd);
    errno = EMFILE;
    return -1;
}

/* ---- connect -------------------------------------------------------------- */

static int th__hook_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return 0;
}

/* One address: the socket, or -1 with errno. */
static int th__hook_dial(th_hook_ctx *c, const struct sockaddr *sa, socklen_t len, double deadline)
{
    int fd = socket(sa->sa_family, SOCK_STREAM, 0), one = 1, soerr = 0, e;
    socklen_t sl = sizeof soerr;
    if (fd < 0) return -1;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) goto fail;
    if (sa->sa_family != AF_UNIX) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, sa, len) == 0) return fd;
    if (errno != EINPROGRESS && errno != EINTR) goto fail;
    for (;;) {
        struct pollfd p;
        int ms = th__hook_ms(c, deadline), r;
        p.fd = fd;
        p.events = POLLOUT;
        p.revents = 0;
        r = poll(&p, 1, ms);
        if (r > 0) break;
        if (r == 0 && (ms == 0 || th_hook_now(c) >= deadline)) {
            close(fd);
            errno = ETIMEDOUT;
            return -1;
        }
        if (r < 0 && errno != EINTR) goto fail;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) goto fail;
    if (soerr) {
        close(fd);
        errno = soerr;
        return -1;
    }
    return fd;
fail:
    e = errno;
    close(fd);
    errno = e;
    return -1;
}

static TH_HOOK_UNUSED int th_hook_connect(void *ctx, const char *host, int port, double deadline)
{
    th_hook_ctx *c = th__hook_ctx(ctx);
    int fd = -1, h;
    th__hook_seed();
    th__hook_check_deadline(c, "connect", deadline);
    snprintf(th_hook.last_host, sizeof th_hook.last_host, "%s", host ? host : "(null)");
    th_hook.last_port = port;
    if (!host || port < 0 || port > 65535) {
        th__hook_bad("connect(%s, %d)", host ? host : "NULL", port);
        errno = EINVAL;
    } else if (port == 0) {                              /* unix_socket_proxy's path */
        struct sockaddr_un sa;
        memset(&sa, 0, sizeof sa);
        sa.sun_family = AF_UNIX;
        if (strlen(host) >= sizeof sa.sun_path) errno = ENAMETOOLONG;
        else {
            memcpy(sa.sun_path, host, strlen(host) + 1);
            fd = th__hook_dial(c, (const struct sockaddr *)&sa, (socklen_t)sizeof sa, deadline);
        }
    } else {
        struct addrinfo hints, *res = NULL, *ai;
        char ps[16];
        int rc, e = EHOSTUNREACH;
        memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV;
        snprintf(ps, sizeof ps, "%d", port);
        rc = getaddrinfo(host, ps, &hints, &res);
        if (rc != 0) {
            if (rc == EAI_SYSTEM) e = errno;
            fprintf(stderr, "  hook: resolve %s: %s\n", host, gai_strerror(rc));
        }
        for (ai = rc == 0 ? res : NULL; ai && fd < 0; ai = ai->ai_next) {
            if (!th__hook_loopback(ai->ai_addr)) {
                th_hook.refused_remote++;
                fprintf(stderr, "  hook: %s resolves to an address off this machine: not dialled\n", host);
                e = ENETUNREACH;
                continue;
            }
            fd = th__hook_dial(c, ai->ai_addr, ai->ai_addrlen, deadline);
            if (fd < 0) e = errno;
            if (fd < 0 && e == ETIMEDOUT) break;
        }
        if (res) freeaddrinfo(res);
        if (fd < 0) errno = e;
    }
    if (fd < 0 || (h = th__hook_take(fd)) < 0) {
        th_hook.connect_fails++;
        return -1;
    }
    th_hook.connects++;
    th_hook.last_handle = h;
    return h;
}

/* ---- read, write, wait, close ----------------------------------------------- */

static TH_HOOK_UNUSED long th_hook_read(void *ctx, int conn, void *buf, size_t n)
{
    th_hook_ctx *c = th__hook_ctx(ctx);
    struct th__hook_slot *s = th__hook_slot(conn, "read");
    size_t k;
    ssize_t r;
    th_hook.reads++;
    if (!s) return -1;
    if (n == 0) {
        th__hook_bad("read of 0 bytes on %d (its 0 would mean EOF)", conn);
        errno = EINVAL;
        return -1;
    }
    if ((k = th__hook_shake(c, &s->again_r, &s->ready_r, n)) == 0) return ETCD_IO_AGAIN;
    do r = recv(s->fd, buf, k, 0); while (r < 0 && errno == EINTR);
    if (r < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? ETCD_IO_AGAIN : -1;
    if (r == 0) th_hook.eofs++;
    th_hook.bytes_in += r;
    s->in += r;
    return (long)r;
}

static TH_HOOK_UNUSED long th_hook_write(void *ctx, int conn, const void *buf, size_t n)
{
    th_hook_ctx *c = th__hook_ctx(ctx);
    struct th__hook_slot *s = th__hook_slot(conn, "write");
    size_t k;
    ssize_t r;
    th_hook.writes++;
    if (!s) return -1;
    if (n == 0) {
        th__hook_bad("write of 0 bytes on %d", conn);
        errno = EINVAL;
        return -1;
    }
    if ((k = th__hook_shake(c, &s->again_w, &s->ready_w, n)) == 0) return ETCD_IO_AGAIN;
    do r = send(s->fd, buf, k, MSG_NOSIGNAL); while (r < 0 && errno == EINTR);
    if (r < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? ETCD_IO_AGAIN : -1;
    if (r > 0 && s->out == 0 && conn == th_hook.last_handle) th_hook.last_first_out = *(const unsigned char *)buf;
    th_hook.bytes_out += r;
    s->out += r;
    return (long)r;
}

static TH_HOOK_UNUSED int th_hook_wait(void *ctx, int conn, int events, double deadline)
{
    th_hook_ctx *c = th__hook_ctx(ctx);
    struct th__hook_slot *s;
    th__hook_check_deadline(c, "wait", deadline);
    if (conn == -1) {                                    /* a sleep */
        th_hook.sleeps++;
        if (deadline < 0) {
            th__hook_bad("wait(-1) without a deadline: a sleep forever");
            return 0;
        }
        for (;;) {
            int ms = th__hook_ms(c, deadline);
            if (ms == 0) return 0;
            poll(NULL, 0, ms);
        }
    }
    th_hook.waits++;
    if (!(s = th__hook_slot(conn, "wait"))) return -1;
    if (!events || (events & ~(ETCD_IO_READ | ETCD_IO_WRITE))) {
        th__hook_bad("wait on %d for events %d", conn, events);
        errno = EINVAL;
        return -1;
    }
    for (;;) {
        struct pollfd p;
        int ms = th__hook_ms(c, deadline), r;
        p.fd = s->fd;
        p.events = (short)((events & ETCD_IO_READ ? POLLIN : 0) | (events & ETCD_IO_WRITE ? POLLOUT : 0));
        p.revents = 0;
        r = poll(&p, 1, ms);
        if (r > 0) {
            if (p.revents & POLLNVAL) { errno = EBADF; return -1; }
            if (events & ETCD_IO_READ) s->ready_r = 1;
            if (events & ETCD_IO_WRITE) s->ready_w = 1;
            return 1;                                    /* ready, or failed: the next call says */
        }
        if (r == 0 && (ms == 0 || th_hook_now(c) >= deadline)) return 0;
        if (r < 0 && errno != EINTR) return -1;
    }
}

static TH_HOOK_UNUSED void th_hook_close(void *ctx, int conn)
{
    struct th__hook_slot *s = th__hook_slot(conn, "close");
    (void)ctx;
    if (!s) return;
    close(s->fd);
    s->used = 0;
    s->fd = -1;
    th_hook.closes++;
    th_hook.open--;
}

/* The transport of a context of the caller's (which must outlive it). */
static TH_HOOK_UNUSED etcd_transport th_hook_make(th_hook_ctx *ctx)
{
    etcd_transport t;
    t.ctx = ctx;
    t.connect = th_hook_connect;
    t.read = th_hook_read;
    t.write = th_hook_write;
    t.wait = th_hook_wait;
    t.close = th_hook_close;
    t.now = th_hook_now;
    return t;
}

static TH_HOOK_UNUSED const etcd_transport th_hook_transport = {
    &th_hook_default_ctx, th_hook_connect, th_hook_read, th_hook_write, th_hook_wait, th_hook_close, th_hook_now
};

/* One line of what the hook did. */
static TH_HOOK_UNUSED void th_hook_report(FILE *f)
{
    th__hook_seed();
    fprintf(f, "  hook: seed %llu: %ld clients, %ld connects (%ld failed), %ld closes, %ld open; "
            "%lld bytes in, %lld out; %ld reads, %ld writes (%ld short, %ld spurious AGAIN); "
            "%ld waits, %ld sleeps\n", th_hook_seed, th_hook.clients, th_hook.connects,
            th_hook.connect_fails, th_hook.closes, th_hook.open, th_hook.bytes_in, th_hook.bytes_out,
            th_hook.reads, th_hook.writes, th_hook.shorts, th_hook.agains, th_hook.waits, th_hook.sleeps);
}

/* ---- TEST_HOOK: every client of the suite over the hook --------------------- */

#ifdef TEST_HOOK

static const etcd_opts *th__hook_opts(const etcd_opts *o, etcd_opts *copy)
{
    if (o) *copy = *o;
    else memset(copy, 0, sizeof *copy);
    if (!copy->transport) copy->transport = &th_hook_transport;
    return copy;
}

static TH_HOOK_UNUSED etcd *th_hook_new(const etcd_opts *o, char *err, size_t err_size)
{
    etcd_opts c;
    etcd *cli = (etcd_new)(th__hook_opts(o, &c), err, err_size);
    if (cli) th_hook.clients++;
    return cli;
}
#define etcd_new(o, err, err_size) th_hook_new(o, err, err_size)

static TH_HOOK_UNUSED etcd *th_hook_t_client(const etcd_opts *o)
{
    etcd_opts c;
    etcd *cli = (t_client)(th__hook_opts(o, &c));
    if (cli) th_hook.clients++;
    return cli;
}
#define t_client(o) th_hook_t_client(o)

static TH_HOOK_UNUSED int th_hook_t_refused(const etcd_opts *o, char *err, size_t n)
{
    etcd_opts c;
    return (t_refused)(th__hook_opts(o, &c), err, n);
}
#define t_refused(o, err, n) th_hook_t_refused(o, err, n)

/* The last test of every suite built with TEST_HOOK. */
static TH_HOOK_UNUSED int th_hook_summary(void)
{
    int ok = 1;
    fflush(stdout);
    th_hook_report(stdout);
#ifndef TEST_HOOK_NO_TRAFFIC
    if (th_hook.clients == 0) {
        printf("  hook: no client was made over the hook\n");
        ok = 0;
    }
    if (th_hook.connects == 0 || th_hook.bytes_in == 0 || th_hook.bytes_out == 0) {
        printf("  hook: the hook carried no traffic (connects %ld, bytes in %lld, out %lld)\n",
               th_hook.connects, th_hook.bytes_in, th_hook.bytes_out);
        ok = 0;
    }
    if (!th_hook_default_ctx.calm && th_hook.reads + th_hook.writes >= 200 &&
        (th_hook.shorts == 0 || th_hook.agains == 0)) {
        printf("  hook: %ld reads and writes, none shaken\n", th_hook.reads + th_hook.writes);
        ok = 0;
    }
#endif
    if (th_hook.bad) {
        printf("  hook: %ld contract violations, the first: %s\n", th_hook.bad, th_hook.bad_what);
        ok = 0;
    }
    if (ok) { t__passed++; printf("ok   hook_carried_traffic\n"); }
    else { t__failed++; printf("FAIL hook_carried_traffic\n"); }
    return (test_summary)();
}
#define test_summary() th_hook_summary()

#endif /* TEST_HOOK */

#endif
