#!/bin/sh
# Builds without ETCD_USE_OPENSSL must not reference OpenSSL at all; the TLS
# suite (the positive control) must.
dir=${EXAMPLES_DIR:-build}
passed=0; failed=0
ossl=' (SSL|SSL_CTX|BIO|X509|ERR|OPENSSL|TLS)_[A-Za-z0-9_]*$'
for bin in "$dir/test_unit" "$dir/test_kv" "$dir/etcdctl_lite" "$dir/watch_config"; do
    if [ -x "$bin" ] && ! nm "$bin" | grep -qE "$ossl"; then
        echo "ok   no OpenSSL symbol in $bin"; passed=$((passed + 1))
    else
        echo "FAIL $bin missing or references OpenSSL:"; nm "$bin" 2>&1 | grep -E "$ossl" | head -3
        failed=$((failed + 1))
    fi
done
if [ -x "$dir/test_tls" ] && nm "$dir/test_tls" | grep -qE ' U SSL_connect'; then
    echo "ok   $dir/test_tls references SSL_connect"; passed=$((passed + 1))
else
    echo "FAIL $dir/test_tls missing or without SSL_connect"; failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
