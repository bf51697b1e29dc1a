/* tlsbackend.h - what a white-box TLS test sees of etcd.h's TLS backend,
   whichever is compiled in: OpenSSL (ETCD_USE_OPENSSL) or mbedTLS 2.28 /
   3.x (ETCD_USE_MBEDTLS).

   Include after etcd.h (with ETCD_IMPLEMENTATION and one backend) and
   test.h. A connection's TLS state is an etcd__conn's tls member (the
   SSL * or etcd.h's etcd__mbed): cli->eps[i].conn, a watcher's w->s.conn.
   Every function takes the etcd__conn and looks only through here:

     tb_backend()         "OpenSSL 3.0.x ..." / "mbedTLS 2.28.x": the library
                          linked, for the suite's log
     tb_protocol(c)       "TLSv1.2", "TLSv1.3" (both backends' own words)
     tb_verified(c)       1: the peer's certificate chain and name were
                          verified and nothing was wrong (SSL_get_verify_result
                          X509_V_OK / mbedtls_ssl_get_verify_result 0); 0
                          otherwise, also when nothing was verified
     tb_session_reused(c) 1 resumed, 0 a full handshake, -1 the backend
                          cannot tell (mbedTLS has no public flag for it:
                          test_tls.c's byte count decides for both)
     tb_pending(c)        decrypted application bytes the backend holds
                          (SSL_pending / mbedtls_ssl_get_bytes_avail)
     tb_fill(c)           make the backend read and decrypt what it can off
                          the transport into its own buffer without handing
                          a byte to anyone (SSL_peek of 1 byte /
                          mbedtls_ssl_read of 0 bytes): afterwards the
                          socket may be dry while tb_pending(c) > 0. Returns
                          tb_pending(c), or -1 on an error

   Verification failures: etcd.h's mbedTLS backend words them as OpenSSL's
   X509_verify_cert_error_string does, so a test checks one literal for
   both. TB_WORDS_CHECK() (OpenSSL builds) checks that the literals below
   are still OpenSSL's. */
#ifndef ETCD_TEST_TLSBACKEND_H
#define ETCD_TEST_TLSBACKEND_H

#if !defined(ETCD_USE_OPENSSL) && !defined(ETCD_USE_MBEDTLS)
#error "tlsbackend.h: etcd.h has no TLS backend (define ETCD_USE_OPENSSL or ETCD_USE_MBEDTLS)"
#endif

#define TB_UNTRUSTED         "unable to get local issuer certificate"  /* X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY */
#define TB_HOSTNAME_MISMATCH "hostname mismatch"                       /* X509_V_ERR_HOSTNAME_MISMATCH */
#define TB_IP_MISMATCH       "IP address mismatch"                     /* X509_V_ERR_IP_ADDRESS_MISMATCH */

#ifdef ETCD_USE_OPENSSL

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

static T__UNUSED SSL *tb__ssl(const etcd__conn *c) { return (SSL *)c->tls; }

static T__UNUSED const char *tb_backend(void) { return OpenSSL_version(OPENSSL_VERSION); }

static T__UNUSED const char *tb_protocol(const etcd__conn *c)
{
    return c->tls ? SSL_get_version(tb__ssl(c)) : "(no TLS)";
}

static T__UNUSED int tb_verified(const etcd__conn *c)
{
    return c->tls && SSL_get_verify_result(tb__ssl(c)) == X509_V_OK;
}

static T__UNUSED int tb_session_reused(const etcd__conn *c)
{
    return c->tls ? SSL_session_reused(tb__ssl(c)) == 1 : 0;
}

static T__UNUSED long tb_pending(const etcd__conn *c)
{
    int n = c->tls ? SSL_pending(tb__ssl(c)) : 0;
    return n > 0 ? n : 0;
}

static T__UNUSED long tb_fill(etcd__conn *c)
{
    char b;
    int r;
    if (!c->tls) return -1;
    ERR_clear_error();
    if ((r = SSL_peek(tb__ssl(c), &b, 1)) <= 0) {
        int e = SSL_get_error(tb__ssl(c), r);
        ERR_clear_error();
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return -1;
    }
    return tb_pending(c);
}

/* The literals are OpenSSL's words. */
#define TB_WORDS_CHECK() do { \
    CHECK_STR(X509_verify_cert_error_string(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY), TB_UNTRUSTED); \
    CHECK_STR(X509_verify_cert_error_string(X509_V_ERR_HOSTNAME_MISMATCH), TB_HOSTNAME_MISMATCH); \
    CHECK_STR(X509_verify_cert_error_string(X509_V_ERR_IP_ADDRESS_MISMATCH), TB_IP_MISMATCH); \
    } while (0)

#else /* ETCD_USE_MBEDTLS */

#include <mbedtls/ssl.h>
#include <mbedtls/version.h>

static T__UNUSED mbedtls_ssl_context *tb__ssl(const etcd__conn *c) { return &((etcd__mbed *)c->tls)->ssl; }

static T__UNUSED const char *tb_backend(void)
{
    static char v[64];
    char lib[32];
    mbedtls_version_get_string(lib);
    snprintf(v, sizeof v, "mbedTLS %s (headers %s)", lib, MBEDTLS_VERSION_STRING);
    return v;
}

static T__UNUSED const char *tb_protocol(const etcd__conn *c)
{
    return c->tls ? mbedtls_ssl_get_version(tb__ssl(c)) : "(no TLS)";
}

/* 0 flags: verified and nothing wrong; MBEDTLS_X509_BADCERT_SKIP_VERIFY
   with MBEDTLS_SSL_VERIFY_NONE; (uint32_t)-1 without a session. */
static T__UNUSED int tb_verified(const etcd__conn *c)
{
    return c->tls && mbedtls_ssl_get_verify_result(tb__ssl(c)) == 0;
}

static T__UNUSED int tb_session_reused(const etcd__conn *c) { (void)c; return -1; }

static T__UNUSED long tb_pending(const etcd__conn *c)
{
    return c->tls ? (long)mbedtls_ssl_get_bytes_avail(tb__ssl(c)) : 0;
}

/* A read of 0 bytes reads and opens one record and keeps all of it. A
   TLS 1.3 session ticket on the way is kept as etcd__tls_read keeps it. */
static T__UNUSED long tb_fill(etcd__conn *c)
{
    unsigned char b;
    int r;
    if (!c->tls) return -1;
    for (;;) {
        r = mbedtls_ssl_read(tb__ssl(c), &b, 0);
#ifdef MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
        if (r == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) {
            etcd__mbed_keep_session((etcd__mbed *)c->tls);
            continue;
        }
#endif
        break;
    }
    if (r < 0 && r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE) return -1;
    return tb_pending(c);
}

#define TB_WORDS_CHECK() do { } while (0)

#endif

#endif
