/* soak_auth.h - the pieces of `make soak SOAK_MODE=tls-auth` that do not
   depend on the soak's records (tests/soak.c includes it after harness.h).

   - A count of /auth/authenticate requests per thread. etcd.h has no
     public counter, so the soak build wraps the TLS backend's write call
     with the linker (mk/soak.mk: -Wl,--wrap=SSL_write and
     -Wl,--wrap=SSL_write_ex for OpenSSL, -Wl,--wrap=mbedtls_ssl_write for
     mbedTLS, and -DSOAK_WRAP_TLS; built without them the mode's check
     fails, saying so). Every write that starts a request whose line is
     "POST <...>/auth/authenticate HTTP/1.1" and that the backend took
     (result > 0) counts once for the thread that made it (each client of
     the soak is used by one thread). A write retried after WANT_WRITE
     counted nothing the first time; the rest of a partial write does not
     start with "POST ". The plaintext is seen before encryption, so the
     count is exact whatever etcd answers.
   - A 3-member cluster whose client URLs are https (certificates made by
     test_certs_make, the openssl CLI), with JWT tokens (ES256, a key made
     by the openssl CLI): a JWT carries the auth store's revision, so every
     auth-store change kills every token ("revision of auth store is
     old"), the case where a client that renews badly floods etcd; and a
     JWT lives SA_JWT_TTL seconds however busy its client is, then etcd
     says "invalid auth token" (etcd.h's idle refresh is for simple
     tokens' 5 idle minutes: it cannot know a JWT's end). Each
     member also listens on a plain http port on 127.0.0.1 (its
     test_etcd.port and .url): the harness's raw-HTTP checks (/health, the
     member status and leader of test_cluster_leader, restarts) use it,
     the soak's etcd.h clients never do.
   - etcd's own counts (a member's /metrics, read on that plain port,
     summed over restarts): Authenticate calls (grpc_server_started_total),
     a cross-check of the client-side count; unary calls refused with gRPC
     Unauthenticated ("invalid auth token") and InvalidArgument (here:
     "revision of auth store is old"): the tokens did die. A watch refused
     for its token is a canceled message inside a stream, not counted. */
#ifndef ETCD_SOAK_AUTH_H
#define ETCD_SOAK_AUTH_H

#include <pthread.h>
#include <stdint.h>

/* ---- authenticate requests, per thread ------------------------------------ */

#define SA_MAXSLOT 16
#define SA_OTHER   0          /* threads that did not register */

static struct sa_slot { char name[32]; long auths, clients; } sa_slots[SA_MAXSLOT] = { { "other", 0, 0 } };
static int sa_nslots = 1;
static pthread_mutex_t sa_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t sa_key;
static pthread_once_t sa_once = PTHREAD_ONCE_INIT;

static void sa_key_make(void) { pthread_key_create(&sa_key, NULL); }

/* The calling thread counts under a slot of its own, named name; the slot. */
static TH__UNUSED int sa_register(const char *name)
{
    int s;
    pthread_once(&sa_once, sa_key_make);
    pthread_mutex_lock(&sa_mu);
    s = sa_nslots < SA_MAXSLOT ? sa_nslots++ : SA_OTHER;
    if (s != SA_OTHER) snprintf(sa_slots[s].name, sizeof sa_slots[s].name, "%s", name);
    pthread_mutex_unlock(&sa_mu);
    pthread_setspecific(sa_key, (void *)(intptr_t)(s + 1));
    return s;
}

static int sa_mine(void)
{
    void *v;
    pthread_once(&sa_once, sa_key_make);
    v = pthread_getspecific(sa_key);
    return v ? (int)(intptr_t)v - 1 : SA_OTHER;
}

/* The calling thread made one more client (the bound allows a token each). */
static TH__UNUSED void sa_client_made(void)
{
    int s = sa_mine();
    pthread_mutex_lock(&sa_mu);
    sa_slots[s].clients++;
    pthread_mutex_unlock(&sa_mu);
}

static TH__UNUSED long sa_total(void)
{
    long n = 0;
    int s;
    pthread_mutex_lock(&sa_mu);
    for (s = 0; s < sa_nslots; s++) n += sa_slots[s].auths;
    pthread_mutex_unlock(&sa_mu);
    return n;
}

/* buf[0..n) is what the backend took: the start of an authenticate? */
static TH__UNUSED void sa_saw_write(const void *buf, size_t n)
{
    static const char tail[] = "/auth/authenticate";
    const char *p = (const char *)buf, *sp;
    size_t lim = n < 256 ? n : 256, tl = sizeof tail - 1;
    if (lim < 5 || memcmp(p, "POST ", 5) != 0) return;
    sp = (const char *)memchr(p + 5, ' ', lim - 5);          /* the end of the target */
    if (!sp || (size_t)(sp - (p + 5)) < tl || memcmp(sp - tl, tail, tl) != 0) return;
    {
        int s = sa_mine();
        pthread_mutex_lock(&sa_mu);
        sa_slots[s].auths++;
        pthread_mutex_unlock(&sa_mu);
    }
}

#ifdef SOAK_WRAP_TLS
#define SA_COUNTING 1
/* Prototypes of our own (void * for the backend's types): the wraps do not
   depend on what etcd.h includes. */
#if defined(ETCD_USE_MBEDTLS)
int __real_mbedtls_ssl_write(void *ssl, const unsigned char *buf, size_t len);
int __wrap_mbedtls_ssl_write(void *ssl, const unsigned char *buf, size_t len);
int __wrap_mbedtls_ssl_write(void *ssl, const unsigned char *buf, size_t len)
{
    int r = __real_mbedtls_ssl_write(ssl, buf, len);
    if (r > 0) sa_saw_write(buf, (size_t)r);
    return r;
}
#elif defined(ETCD_USE_OPENSSL)
int __real_SSL_write(void *ssl, const void *buf, int num);
int __wrap_SSL_write(void *ssl, const void *buf, int num);
int __wrap_SSL_write(void *ssl, const void *buf, int num)
{
    int r = __real_SSL_write(ssl, buf, num);
    if (r > 0) sa_saw_write(buf, (size_t)r);
    return r;
}
int __real_SSL_write_ex(void *ssl, const void *buf, size_t num, size_t *written);
int __wrap_SSL_write_ex(void *ssl, const void *buf, size_t num, size_t *written);
int __wrap_SSL_write_ex(void *ssl, const void *buf, size_t num, size_t *written)
{
    int r = __real_SSL_write_ex(ssl, buf, num, written);
    if (r == 1 && written && *written > 0) sa_saw_write(buf, *written);
    return r;
}
#endif
#else
#define SA_COUNTING 0
#endif

/* ---- the TLS cluster ------------------------------------------------------- */

#define SA_MAXMEM  8
#define SA_NARGS   5
#define SA_JWT_TTL 10              /* seconds, etcd's --auth-token ...,ttl= */

/* etcd's counts, per member (/metrics): the line prefixes, summed. */
enum { SA_M_AUTH, SA_M_UNAUTH, SA_M_BADARG, SA_NM };
static const char *const sa_metric[SA_NM] = {
    "grpc_server_started_total{grpc_method=\"Authenticate\",",
    "grpc_server_handled_total{grpc_code=\"Unauthenticated\",",
    "grpc_server_handled_total{grpc_code=\"InvalidArgument\"," };

typedef struct sa_cluster {
    test_certs certs;                   /* ca, server_cert, server_key */
    char jwt_key[300], jwt_pub[300];
    char url[SA_MAXMEM][64];            /* the members' https client URLs */
    char arg[SA_MAXMEM][SA_NARGS][700]; /* each member's extra flags, kept for restarts */
    long base[SA_MAXMEM][SA_NM];        /* etcd's counts before restarts */
    int lost;                           /* counts that could not be read */
} sa_cluster;

/* Certificates, a JWT key pair, then the members (as test_cluster_start
   does it, with each member's flags of its own). 0, or -1 (printed,
   nothing left running). */
static TH__UNUSED int sa_cluster_start(test_etcd *m, int n, sa_cluster *c)
{
    static int seq;
    const char *tmp = getenv("TMPDIR");
    int tries, i, j, bad = 0;

    if (n < 1 || n > SA_MAXMEM || n > TH__MAX_MEMBERS) return -1;
    if (test_certs_make(&c->certs) != 0) return -1;
    snprintf(c->jwt_key, sizeof c->jwt_key, "%s/jwt.key", c->certs.dir);
    snprintf(c->jwt_pub, sizeof c->jwt_pub, "%s/jwt.pub", c->certs.dir);
    {
        const char *key[] = { "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", c->jwt_key, NULL };
        const char *pub[] = { "pkey", "-in", c->jwt_key, "-pubout", "-out", c->jwt_pub, NULL };
        if (th__openssl(&c->certs, key) || th__openssl(&c->certs, pub)) return -1;
    }
    for (tries = 0; tries < TH__START_TRIES; tries++) {
        int ports[3 * SA_MAXMEM], taken = 0, r;
        char cluster[512], token[64], tmpl[256];
        size_t len = 0;

        memset(m, 0, (size_t)n * sizeof *m);
        if (test_free_ports(ports, 3 * n) < 0) return -1;
        snprintf(token, sizeof token, "etcdh-soak-%ld-%ld-%d", (long)getpid(), (long)time(NULL), ++seq);
        cluster[0] = '\0';
        for (i = 0; i < n; i++)
            len += (size_t)snprintf(cluster + len, sizeof cluster - len, "%sm%d=http://127.0.0.1:%d", i ? "," : "", i,
                                    ports[3 * i + 1]);
        for (i = 0; i < n; i++) {
            test_etcd *s = &m[i];
            char plain[64], https[64];
            s->port = ports[3 * i];
            s->peer_port = ports[3 * i + 1];
            snprintf(plain, sizeof plain, "http://127.0.0.1:%d", s->port);
            snprintf(https, sizeof https, "https://127.0.0.1:%d", ports[3 * i + 2]);
            snprintf(s->url, sizeof s->url, "%s", plain);
            snprintf(c->url[i], sizeof c->url[i], "%s", https);
            snprintf(s->name, sizeof s->name, "m%d", i);
            snprintf(s->cluster, sizeof s->cluster, "%s", cluster);
            snprintf(s->token, sizeof s->token, "%s", token);
            snprintf(c->arg[i][0], sizeof c->arg[i][0], "--listen-client-urls=%s,%s", plain, https);
            snprintf(c->arg[i][1], sizeof c->arg[i][1], "--advertise-client-urls=%s", https);
            snprintf(c->arg[i][2], sizeof c->arg[i][2], "--cert-file=%s", c->certs.server_cert);
            snprintf(c->arg[i][3], sizeof c->arg[i][3], "--key-file=%s", c->certs.server_key);
            snprintf(c->arg[i][4], sizeof c->arg[i][4], "--auth-token=jwt,pub-key=%s,priv-key=%s,sign-method=ES256,ttl=%ds",
                     c->jwt_pub, c->jwt_key, SA_JWT_TTL);
            for (j = 0; j < SA_NARGS; j++) s->extra[j] = c->arg[i][j];
            s->extra[SA_NARGS] = NULL;
            snprintf(tmpl, sizeof tmpl, "%s/etcdh-soak-XXXXXX", tmp && *tmp ? tmp : "/tmp");
            if (!mkdtemp(tmpl)) {
                fprintf(stderr, "soak: mkdtemp %s: %s\n", tmpl, strerror(errno));
                test_cluster_stop(m, i);
                return -1;
            }
            snprintf(s->dir, sizeof s->dir, "%s", tmpl);
        }
        for (i = 0; i < n; i++)
            if (th__fork_etcd(&m[i]) != 0) {
                test_cluster_stop(m, n);
                return -1;
            }
        r = th__cluster_wait(m, n, th__now() + 30.0 * t_time_scale(), &bad);
        if (r == 0) return 0;
        for (i = 0; i < n; i++) taken |= th__log_has(m[i].dir, "address already in use");
        if (taken && tries + 1 < TH__START_TRIES) {
            fprintf(stderr, "soak: cluster: a port was taken, retrying\n");
            test_cluster_stop(m, n);
            continue;
        }
        fprintf(stderr, "soak: TLS cluster member %s (%s, %s) %s\n", m[bad].name, c->url[bad], m[bad].url,
                r > 0 ? "exited before it was ready" : "was not healthy within 30 s");
        th__print_log_tail(m[bad].dir);
        test_cluster_stop(m, n);
        return -1;
    }
    return -1;
}

/* A member's counts since it started (sa_metric, from GET /metrics on
   its plain port) into v. 0, or -1 (v all 0). */
static TH__UNUSED int sa_member_counts(const test_etcd *s, long v[SA_NM])
{
    char req[128], line[512];
    size_t ll = 0;
    int fd, n, k, in_head = 1, seen = 0;
    for (k = 0; k < SA_NM; k++) v[k] = 0;
    if (s->pid <= 0 || (fd = test_connect_local(s->port, 2)) < 0) return -1;
    n = snprintf(req, sizeof req, "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n\r\n", s->port);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) { close(fd); return -1; }
    for (;;) {
        char buf[4096];
        ssize_t got = recv(fd, buf, sizeof buf, 0), i;
        if (got <= 0) break;
        for (i = 0; i < got; i++) {
            if (buf[i] != '\n') {
                if (ll < sizeof line - 1) line[ll++] = buf[i];
                continue;
            }
            line[ll] = '\0';
            if (in_head) {
                if (ll <= 1) in_head = 0;               /* the blank line after the head */
            } else {
                for (k = 0; k < SA_NM; k++)
                    if (!strncmp(line, sa_metric[k], strlen(sa_metric[k]))) {
                        const char *sp = strrchr(line, ' ');
                        if (sp) v[k] += (long)strtod(sp + 1, NULL);
                        if (k == SA_M_AUTH) seen = 1;
                    }
            }
            ll = 0;
        }
    }
    close(fd);
    return seen ? 0 : -1;
}

/* Before a member's restart resets its counts: keep them. */
static TH__UNUSED void sa_keep_member_counts(sa_cluster *c, const test_etcd *m, int i)
{
    long v[SA_NM];
    int k;
    if (sa_member_counts(&m[i], v) != 0) c->lost++;
    for (k = 0; k < SA_NM; k++) c->base[i][k] += v[k];
}

/* Every member's counts so far, over restarts, into sum. */
static TH__UNUSED void sa_cluster_counts(sa_cluster *c, const test_etcd *m, int n, long sum[SA_NM])
{
    int i, k;
    for (k = 0; k < SA_NM; k++) sum[k] = 0;
    for (i = 0; i < n; i++) {
        long v[SA_NM];
        if (sa_member_counts(&m[i], v) != 0) c->lost++;
        for (k = 0; k < SA_NM; k++) sum[k] += c->base[i][k] + v[k];
    }
}

/* A whole file (PEM text) into a static buffer; NULL if it does not fit. */
static TH__UNUSED const char *sa_read_text(const char *path)
{
    static char text[16384];
    FILE *f = fopen(path, "r");
    size_t n;
    if (!f) return NULL;
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    if (n == 0 || n == sizeof text - 1) return NULL;
    text[n] = '\0';
    return text;
}

#endif
