/* A program using etcd.h the way a project that depends on it does: found
   through CMake (etcd::etcd, etcd::etcd_tls or etcd::etcd_mbedtls) or
   pkg-config (etcd, etcd-tls or etcd-mbedtls). tests/test_packaging.sh
   builds and runs it.

   It makes a client for an endpoint on 127.0.0.1 and frees it; etcd_new
   sends nothing, so no etcd is needed. Then an https:// endpoint: accepted
   only when built with a TLS backend, ETCD_USE_OPENSSL or ETCD_USE_MBEDTLS
   (refused with ETCD_EARG without). Prints "etcd.h <ETCD_VERSION> ETCD_OK
   http", or "... https" with TLS. */
#define ETCD_IMPLEMENTATION
#include "etcd.h"

#include <stdio.h>
#include <string.h>

int main(void)
{
    char err[256];
    etcd_opts o;
    etcd *cli;
    int tls;

    memset(&o, 0, sizeof o);
    o.http_host = "http://127.0.0.1:1";
    cli = etcd_new(&o, err, sizeof err);
    if (!cli) { fprintf(stderr, "etcd_new: %s\n", err); return 1; }
    etcd_free(cli);

    o.http_host = "https://127.0.0.1:1";
    cli = etcd_new(&o, err, sizeof err);
    tls = cli != NULL;
    etcd_free(cli);
#if defined(ETCD_USE_OPENSSL) || defined(ETCD_USE_MBEDTLS)
    if (!tls) { fprintf(stderr, "etcd_new (https): %s\n", err); return 1; }
#else
    if (tls) { fprintf(stderr, "https:// accepted without a TLS backend\n"); return 1; }
#endif
    printf("etcd.h %s %s %s\n", ETCD_VERSION, etcd_err_name(ETCD_OK), tls ? "https" : "http");
    return 0;
}
