/* What etcd::etcd_mbedtls (CMake) or etcd-mbedtls (pkg-config) gives a
   program, without etcd.h's implementation (so it builds whether or not
   etcd.h has its mbedTLS backend yet): ETCD_USE_MBEDTLS defined, etcd.h's
   declarations, mbedTLS's headers, and its three libraries, each one
   called. tests/test_packaging.sh builds and runs it against mbedTLS 2.28
   and 3.6. Prints "mbedTLS <header version> <library version>". */
#include "etcd.h"

#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>
#include <stdio.h>

#ifndef ETCD_USE_MBEDTLS
#error "ETCD_USE_MBEDTLS is not defined"
#endif

int main(void)
{
    char v[32];
    mbedtls_ssl_config conf;
    mbedtls_x509_crt crt;

    mbedtls_version_get_string(v);                                    /* mbedcrypto */
    mbedtls_x509_crt_init(&crt); mbedtls_x509_crt_free(&crt);         /* mbedx509 */
    mbedtls_ssl_config_init(&conf); mbedtls_ssl_config_free(&conf);   /* mbedtls */
    printf("mbedTLS %s %s\n", MBEDTLS_VERSION_STRING, v);
    return 0;
}
