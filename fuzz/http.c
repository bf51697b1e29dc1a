/* http.c - libFuzzer target: the HTTP response reader, driven through the
   real internals: etcd__read_head (etcd__http_parse_head, 1xx skipped),
   etcd__body_init and etcd__body_pump (Content-Length, chunked with
   extensions and trailers, read to EOF, max_response) over an etcd__conn
   whose etcd__io table is ours: it serves the input in fuzzer-chosen
   pieces, says EAGAIN now and then (the conn then waits, with the socket
   transport's poll(), on a pipe that is always readable, so nothing
   blocks), and ends with EOF or a reset.

   Input: one option byte, FZ_NPIECES piece sizes (fuzz.h), the response
   bytes as a server would send them.
     bits 0-1  max_response: 128 MiB, 64, 4096, 65536
     bit 2     a watch stream (etcd__watch_read's loop: pump without
               waiting, split messages with etcd__json_next, fill) instead
               of calls (etcd__exchange's: head, then the whole body; up to
               four responses on the kept-alive connection)
     bit 3     the peer resets the connection at the end instead of EOF
     bit 4     a piece of 0 means EAGAIN (else one byte)
   Seeds are real etcd answers (fuzz/capture.sh) behind 9 such bytes.

   Checks: no crash, leak, UB; a failure always has an error code and
   text; a body never over max_response, a Content-Length body exactly
   that long; and the differential one: the input read whole (as much as
   each read asks for) gives the same heads, bodies and errors as in the
   fuzzer's pieces. A stream that fails stops at the first failure it
   notices, which may depend on the reads (a bad chunk behind a bad
   message); then one run's messages must be a prefix of the other's.

   Run: make fuzz, or build/fuzz/http -dict=fuzz/http.dict fuzz/corpus/http */
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "fuzz/fuzz.h"

/* What our etcd__io serves: one run over the input. */
typedef struct feed {
    const char *p;
    size_t n, at;
    fz_pieces pieces;
    int whole;                   /* 1: as much as asked for, every read */
    int again_ok, last_again;
    int reset;                   /* end with an error, not EOF */
} feed;

static feed fd_now;              /* the run in progress (one at a time) */
static int always_readable = -1; /* a pipe's read end with a byte in it */

static long fz_read(etcd__conn *c, char *buf, size_t n, etcd__error *err)
{
    feed *f = &fd_now;
    size_t k = f->whole ? n : fz_piece(&f->pieces);
    if (k == 0 && f->again_ok && !f->last_again) {   /* never twice running: no endless loop */
        f->last_again = 1;
        c->want = ETCD_IO_READ;
        return ETCD_IO_AGAIN;
    }
    f->last_again = 0;
    if (k == 0) k = 1;
    if (f->at == f->n) {
        if (!f->reset) return 0;
        etcd__errf(err, ETCD_ETRANSPORT, "read: %s", "Connection reset by peer");
        return -1;
    }
    if (k > n) k = n;
    if (k > f->n - f->at) k = f->n - f->at;
    memcpy(buf, f->p + f->at, k);
    f->at += k;
    return (long)k;
}

static long fz_write(etcd__conn *c, const char *buf, size_t n, etcd__error *err)
{
    (void)c; (void)buf; (void)err;
    return (long)n;
}

static void fz_close(etcd__conn *c) { (void)c; }   /* the pipe is shared by every run */
static bool fz_stale(etcd__conn *c) { return c->off < c->in.len; }
static size_t fz_pending(const etcd__conn *c) { (void)c; return 0; }

static const etcd__io fz_io = { fz_read, fz_write, fz_close, fz_stale, fz_pending };

static void log_err(fz_log *l, const char *what, const etcd__error *err)
{
    FZ_CHECK(err->code != ETCD_OK && err->msg[0] != 0);
    fz_log_add(l, what, strlen(what));
    fz_log_fmt(l, ": code %lld: ", err->code);
    fz_log_add(l, err->msg, strlen(err->msg));
    fz_log_add(l, "\n", 1);
}

/* etcd__exchange's reading: up to four responses on one connection. */
static void calls(fz_log *l, etcd__conn *c, size_t max, double deadline)
{
    int k;
    for (k = 0; k < 4; k++) {
        etcd__resp head;
        etcd__body b;
        etcd__buf body;
        etcd__error err;
        bool got = false;
        etcd__err_clear(&err);
        if (etcd__read_head(c, &head, deadline, &got, &err) < 0) { log_err(l, "head", &err); return; }
        FZ_CHECK(head.status >= 200 && head.status <= 999);
        fz_log_fmt(l, "status %lld", head.status);
        fz_log_fmt(l, " chunked %lld", head.chunked);
        fz_log_fmt(l, " close %lld", head.close);
        fz_log_fmt(l, " clen %lld\n", (long long)head.clen);
        memset(&body, 0, sizeof body);
        etcd__body_init(&b, &head);
        if (etcd__body_pump(c, &b, &body, max, deadline, true, &err) < 0) {
            etcd__buf_free(&body);
            log_err(l, "body", &err);
            return;
        }
        FZ_CHECK(b.done && body.len <= max && !body.oom);
        if (head.status == 204 || head.status == 304) FZ_CHECK(body.len == 0);   /* never a body */
        else if (b.mode == ETCD__BODY_LENGTH) FZ_CHECK(head.clen >= 0 && body.len == (size_t)head.clen);
        fz_log_bytes(l, body.p, body.len);
        etcd__buf_free(&body);
        c->requests++;
        /* another answer when bytes are left, wherever they are: in c or still to come */
        if (head.close || b.mode == ETCD__BODY_EOF || (c->off == c->in.len && fd_now.at == fd_now.n)) return;
    }
}

/* etcd__watch_read's loop: messages as the splitter finds them, each a
   record of l; *end gets how it ended, *bad whether that was an error. */
static void stream(fz_log *l, fz_log *end, int *bad, etcd__conn *c, size_t max, double deadline)
{
    etcd__resp head;
    etcd__body b;
    etcd__buf msg;
    etcd__split sp;
    etcd__error err;
    bool got = false;
    *bad = 1;
    etcd__err_clear(&err);
    if (etcd__read_head(c, &head, deadline, &got, &err) < 0) { log_err(end, "head", &err); return; }
    fz_log_fmt(l, "status %lld\n", head.status);
    memset(&msg, 0, sizeof msg);
    memset(&sp, 0, sizeof sp);
    etcd__body_init(&b, &head);
    for (;;) {
        size_t s = 0, e = 0, had;
        long n;
        int k = etcd__json_next(&sp, msg.p, msg.len, &s, &e);
        if (k > 0) {
            FZ_CHECK(s < e && e <= msg.len);
            fz_log_bytes(l, msg.p + s, e - s);
            etcd__buf_consume(&msg, e);
            continue;
        }
        if (k < 0) { fz_log_add(end, "not JSON\n", 9); break; }
        if (b.done) { fz_log_add(end, "ended\n", 6); *bad = 0; break; }
        had = msg.len;
        if (etcd__body_pump(c, &b, &msg, max, deadline, false, &err) < 0) { log_err(end, "pump", &err); break; }
        FZ_CHECK(msg.len <= max);
        if (msg.len > had || b.done) continue;
        n = etcd__conn_fill(c, deadline, &err);
        if (n < 0) { log_err(end, "fill", &err); break; }
        if (n == 0 && b.mode == ETCD__BODY_EOF) b.done = true;
        else if (n == 0) { fz_log_add(end, "closed\n", 7); *bad = 0; break; }
    }
    /* what is left unsplit counts too: it may not depend on the split
       when the stream ended cleanly */
    if (!*bad) fz_log_bytes(end, msg.p, msg.len);
    etcd__buf_free(&msg);
}

/* One run's account: calls' log, or a stream's messages and its end. */
typedef struct account { fz_log log, end; int bad; } account;

static void account_free(account *a) { fz_log_free(&a->log); fz_log_free(&a->end); }

/* A stream ends at the first failure noticed, and reads in other sizes
   notice another first (a bad chunk after a bad message, say): then one
   run's messages are a prefix of the other's. A clean end (the body done,
   EOF) depends on nothing but the bytes: then all must agree. */
static int accounts_agree(const account *a, const account *b, int streaming)
{
    const account *shorter = a->log.len <= b->log.len ? a : b, *longer = shorter == a ? b : a;
    if (!streaming || (!a->bad && !b->bad))
        return fz_log_same(&a->log, &b->log) && fz_log_same(&a->end, &b->end) && a->bad == b->bad;
    if (!shorter->bad) return 0;            /* the clean one must have seen everything */
    return shorter->log.len == 0 || memcmp(shorter->log.p, longer->log.p, shorter->log.len) == 0;
}

static void run(account *acc, const uint8_t *opt, const char *p, size_t n, const fz_pieces *pieces, int whole)
{
    static const size_t maxes[4] = { ETCD__DEF_MAXRESP, 64, 4096, 65536 };
    etcd__conn c;
    size_t max = maxes[opt[0] & 3];
    double deadline = etcd__sock_now(NULL) + 5.0;
    memset(&fd_now, 0, sizeof fd_now);
    fd_now.p = p;
    fd_now.n = n;
    fd_now.pieces = *pieces;
    fd_now.whole = whole;
    fd_now.again_ok = (opt[0] & 16) != 0;
    fd_now.reset = (opt[0] & 8) != 0;
    etcd__conn_init(&c);
    c.fd = always_readable;
    c.tr = &etcd__sockets;           /* its wait() polls the pipe */
    c.io = &fz_io;
    if (opt[0] & 4) stream(&acc->log, &acc->end, &acc->bad, &c, max, deadline);
    else calls(&acc->log, &c, max, deadline);
    etcd__conn_free(&c);
}

static void setup(void)
{
    int p[2];
    if (always_readable >= 0) return;
    FZ_CHECK(pipe(p) == 0);
    FZ_CHECK(write(p[1], "x", 1) == 1);   /* never read: POLLIN for good */
    always_readable = p[0];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    account split, whole;
    fz_pieces pieces;
    const uint8_t *opt = data;
    char *p;
    if (size < 1) return 0;
    data++; size--;
    if (fz_pieces_take(&pieces, &data, &size) < 0) return 0;
    setup();
    p = (char *)fz_dup(data, size);
    memset(&split, 0, sizeof split);
    memset(&whole, 0, sizeof whole);
    run(&split, opt, p, size, &pieces, 0);
    run(&whole, opt, p, size, &pieces, 1);
    if (!accounts_agree(&split, &whole, (opt[0] & 4) != 0)) {
        fz_log_show("in pieces", &split.log);
        fz_log_show("its end", &split.end);
        fz_log_show("whole", &whole.log);
        fz_log_show("its end", &whole.end);
        FZ_CHECK(!"the result depends on how the bytes were split");
    }
    account_free(&split);
    account_free(&whole);
    free(p);
    return 0;
}
