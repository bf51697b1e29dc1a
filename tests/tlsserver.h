/* tlsserver.h - a tiny TLS server for test_tls.c: OpenSSL in a pthread.

   Include after etcd.h, test.h and harness.h. The server is OpenSSL
   whichever TLS backend etcd.h was compiled with: a program whose etcd.h
   uses mbedTLS (ETCD_USE_MBEDTLS) links OpenSSL as well, for this server
   only (-lssl -lcrypto next to the mbedTLS libraries; no symbol of the one
   is named like one of the other's). The server listens on 127.0.0.1 (a
   free port), takes one connection at a time and records, per
   connection, the SNI the client sent (from the servername callback,
   which OpenSSL runs for every ClientHello, with or without the
   extension) and the head of the last request. What it does with a
   request depends on its mode:

     TLSSRV_ANSWER            answer 200 with the canned JSON body and
                              "Connection: close", then close_notify
     TLSSRV_RESET_AFTER_HEAD  read the request head, send a FIN, and 100 ms
                              later close the socket with a TCP RST (the rest
                              of the request unread)

       static tls_server ts;
       if (tlssrv_start(&ts, cert, key, TLSSRV_ANSWER, body) != 0) ...
       ... ts.port ...
       tlssrv_stop(&ts);

   The thread blocks SIGPIPE for itself only: a write to a vanished client
   must not kill the test, and the test's own threads keep their mask. */
#ifndef ETCD_TEST_TLSSERVER_H
#define ETCD_TEST_TLSSERVER_H

#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

enum { TLSSRV_ANSWER = 0, TLSSRV_RESET_AFTER_HEAD = 1 };

#define TLSSRV_MAX_CONN 16

typedef struct tls_server {
    int lfd, port;
    int stop_pipe[2];
    int mode;
    const char *body;                 /* the canned answer (not copied) */
    SSL_CTX *ctx;
    pthread_t th;
    int running;
    pthread_mutex_t mu;               /* guards everything below */
    int nconn;                        /* ClientHellos seen */
    int cur;                          /* the connection being served */
    int cb_called[TLSSRV_MAX_CONN];   /* the servername callback ran */
    int has_sni[TLSSRV_MAX_CONN];     /* ... and the client sent a name */
    char sni[TLSSRV_MAX_CONN][256];
    int handshakes;                   /* completed */
    int nreq;                         /* request heads read */
    char head[4096];                  /* the last request head, with its blank line */
} tls_server;

static int tlssrv__sni_cb(SSL *ssl, int *al, void *arg)
{
    tls_server *s = (tls_server *)arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    (void)al;
    pthread_mutex_lock(&s->mu);
    if (s->cur >= 0 && s->cur < TLSSRV_MAX_CONN) {
        s->cb_called[s->cur] = 1;
        s->has_sni[s->cur] = name != NULL;
        snprintf(s->sni[s->cur], sizeof s->sni[s->cur], "%s", name ? name : "");
    }
    pthread_mutex_unlock(&s->mu);
    return SSL_TLSEXT_ERR_OK;
}

/* Read a request head (and its Content-Length body unless reset mode) from
   ssl. 1 with the head recorded, 0 on EOF/error. */
static int tlssrv__read_request(tls_server *s, SSL *ssl)
{
    char buf[8192];
    size_t got = 0, need = 0;
    char *end = NULL;
    while (!end) {
        int r;
        if (got + 1 >= sizeof buf) return 0;
        r = SSL_read(ssl, buf + got, (int)(sizeof buf - 1 - got));
        if (r <= 0) return 0;
        got += (size_t)r;
        buf[got] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    pthread_mutex_lock(&s->mu);
    s->nreq++;
    snprintf(s->head, sizeof s->head, "%.*s", (int)(end + 4 - buf), buf);
    pthread_mutex_unlock(&s->mu);
    if (s->mode == TLSSRV_RESET_AFTER_HEAD) return 1;
    {
        const char *p = buf;
        for (; p < end; p++) {
            if ((p == buf || p[-1] == '\n') && strncasecmp(p, "content-length:", 15) == 0) {
                need = (size_t)strtoul(p + 15, NULL, 10);
                break;
            }
        }
    }
    got -= (size_t)(end + 4 - buf);
    while (got < need) {
        int r = SSL_read(ssl, buf, (int)sizeof buf);
        if (r <= 0) return 0;
        got += (size_t)r;
    }
    return 1;
}

static void tlssrv__serve(tls_server *s, int cfd)
{
    struct timeval tv;
    SSL *ssl;
    tv.tv_sec = 5;
    tv.tv_usec = 0;
    setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ssl = SSL_new(s->ctx);
    if (!ssl) return;
    SSL_set_fd(ssl, cfd);
    pthread_mutex_lock(&s->mu);
    s->cur = s->nconn < TLSSRV_MAX_CONN ? s->nconn : -1;
    s->nconn++;
    pthread_mutex_unlock(&s->mu);
    if (SSL_accept(ssl) == 1) {
        pthread_mutex_lock(&s->mu);
        s->handshakes++;
        pthread_mutex_unlock(&s->mu);
        if (tlssrv__read_request(s, ssl)) {
            if (s->mode == TLSSRV_RESET_AFTER_HEAD) {
                /* FIN first, so that the RST finds the client in CLOSE_WAIT:
                   then its next send fails with EPIPE (what raises SIGPIPE
                   without MSG_NOSIGNAL), not ECONNRESET */
                struct linger lg;
                struct timespec ts;
                shutdown(cfd, SHUT_WR);
                ts.tv_sec = 0;
                ts.tv_nsec = 100 * 1000000L;
                nanosleep(&ts, NULL);
                lg.l_onoff = 1;
                lg.l_linger = 0;
                setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
            } else {
                char resp[8192];
                int n = snprintf(resp, sizeof resp,
                                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                                 strlen(s->body), s->body);
                if (n > 0 && (size_t)n < sizeof resp && SSL_write(ssl, resp, n) == n)
                    SSL_shutdown(ssl);
            }
        }
    }
    SSL_free(ssl);
    ERR_clear_error();
}

static void *tlssrv__main(void *arg)
{
    tls_server *s = (tls_server *)arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    for (;;) {
        struct pollfd p[2];
        int cfd;
        p[0].fd = s->lfd;          p[0].events = POLLIN; p[0].revents = 0;
        p[1].fd = s->stop_pipe[0]; p[1].events = POLLIN; p[1].revents = 0;
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (p[1].revents) break;
        if (!(p[0].revents & POLLIN)) continue;
        cfd = accept(s->lfd, NULL, NULL);
        if (cfd < 0) continue;
        tlssrv__serve(s, cfd);
        close(cfd);
    }
    OPENSSL_thread_stop();
    return NULL;
}

/* Listen on 127.0.0.1:(free port) with cert/key; 0, or -1 (printed). */
static TH__UNUSED int tlssrv_start(tls_server *s, const char *cert, const char *key, int mode,
                                   const char *body)
{
    memset(s, 0, sizeof *s);
    s->lfd = s->stop_pipe[0] = s->stop_pipe[1] = -1;
    s->mode = mode;
    s->body = body ? body : "{}";
    s->cur = -1;
    pthread_mutex_init(&s->mu, NULL);
    s->ctx = SSL_CTX_new(TLS_server_method());
    if (!s->ctx || SSL_CTX_use_certificate_chain_file(s->ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(s->ctx, key, SSL_FILETYPE_PEM) != 1) {
        fprintf(stderr, "tlssrv: cannot load %s / %s\n", cert, key);
        goto fail;
    }
    SSL_CTX_set_tlsext_servername_callback(s->ctx, tlssrv__sni_cb);
    SSL_CTX_set_tlsext_servername_arg(s->ctx, s);
    s->lfd = test_silent_listener(&s->port);
    if (s->lfd < 0 || pipe(s->stop_pipe) != 0) {
        fprintf(stderr, "tlssrv: listen/pipe: %s\n", strerror(errno));
        goto fail;
    }
    if (pthread_create(&s->th, NULL, tlssrv__main, s) != 0) {
        fprintf(stderr, "tlssrv: pthread_create failed\n");
        goto fail;
    }
    s->running = 1;
    return 0;
fail:
    ERR_clear_error();
    if (s->lfd >= 0) close(s->lfd);
    if (s->stop_pipe[0] >= 0) { close(s->stop_pipe[0]); close(s->stop_pipe[1]); }
    SSL_CTX_free(s->ctx);
    pthread_mutex_destroy(&s->mu);
    memset(s, 0, sizeof *s);
    s->lfd = -1;
    return -1;
}

/* Stop the thread, close everything, free the SSL_CTX. Idempotent. */
static TH__UNUSED void tlssrv_stop(tls_server *s)
{
    if (!s->running) return;
    if (write(s->stop_pipe[1], "x", 1) != 1) {}
    pthread_join(s->th, NULL);
    close(s->lfd);
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
    SSL_CTX_free(s->ctx);
    pthread_mutex_destroy(&s->mu);
    s->running = 0;
    s->lfd = -1;
}

/* A consistent copy of connection i's SNI record: returns cb_called, sets
   *has and name. */
static TH__UNUSED int tlssrv_sni(tls_server *s, int i, int *has, char *name, size_t n)
{
    int called = 0;
    pthread_mutex_lock(&s->mu);
    *has = 0;
    if (n) name[0] = '\0';
    if (i >= 0 && i < TLSSRV_MAX_CONN && i < s->nconn) {
        called = s->cb_called[i];
        *has = s->has_sni[i];
        snprintf(name, n, "%s", s->sni[i]);
    }
    pthread_mutex_unlock(&s->mu);
    return called;
}

static TH__UNUSED int tlssrv_count(tls_server *s, int *handshakes, int *nreq)
{
    int n;
    pthread_mutex_lock(&s->mu);
    n = s->nconn;
    if (handshakes) *handshakes = s->handshakes;
    if (nreq) *nreq = s->nreq;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static TH__UNUSED void tlssrv_head(tls_server *s, char *out, size_t n)
{
    pthread_mutex_lock(&s->mu);
    snprintf(out, n, "%s", s->head);
    pthread_mutex_unlock(&s->mu);
}

#endif
