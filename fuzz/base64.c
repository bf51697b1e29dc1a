/* base64.c - libFuzzer target: etcd__b64_encode and etcd__b64_decode
   (standard alphabet; the decoder takes canonical padding or none, and
   refuses set bits past the last byte).

   The input is used both ways:
   - as bytes to encode: the text is 4 * ceil(n / 3) characters of the
     alphabet, padded with '=' only at the end, and decodes to the bytes
     again, into a buffer of exactly their size and in place;
   - as text to decode, from a buffer of its exact size into one of
     exactly the largest size it may produce: accepted exactly when an
     independent decoder written here accepts it (the alphabet, after
     trailing '=' are dropped: not 1 character over a multiple of 4, '='
     only up to a multiple of 4, leftover bits 0),
     with the same bytes; decoding in place gives them too.

   Run: make fuzz, or build/fuzz/base64 fuzz/corpus/base64 */
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "fuzz/fuzz.h"

static int sextet(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* The reference: bit by bit, the leftover bits dropped. Returns the
   length, or -1. */
static long ref_decode(unsigned char *out, const unsigned char *in, size_t n)
{
    unsigned acc = 0, bits = 0;
    size_t i;
    long o = 0;
    size_t pad = 0;
    while (n > 0 && in[n - 1] == '=') n--, pad++;
    if (n % 4 == 1) return -1;
    if (pad && (pad != (4 - n % 4) % 4 || n % 4 == 0)) return -1;   /* '=' only to a multiple of 4 */
    for (i = 0; i < n; i++) {
        int v = sextet(in[i]);
        if (v < 0) return -1;
        acc = (acc << 6 | (unsigned)v) & 0xFFFFFF;
        bits += 6;
        if (bits >= 8) { bits -= 8; out[o++] = (unsigned char)(acc >> bits); }
    }
    if (acc & ((1u << bits) - 1)) return -1;                /* leftover bits must be 0 */
    return o;
}

/* The most bytes n characters can decode to. */
static size_t max_out(size_t n) { return n / 4 * 3 + (n % 4 > 1 ? n % 4 - 1 : 0); }

static void encode_decode(const uint8_t *data, size_t size)
{
    etcd__buf b;
    unsigned char *out;
    size_t i, pad = 0;
    long r;
    memset(&b, 0, sizeof b);
    etcd__b64_encode(&b, data, size);
    FZ_CHECK(!b.oom && b.len == (size + 2) / 3 * 4);
    for (i = 0; i < b.len; i++) {
        if (b.p[i] == '=') pad++;
        else FZ_CHECK(pad == 0 && sextet((unsigned char)b.p[i]) >= 0);    /* '=' only at the end */
    }
    FZ_CHECK(pad == (3 - size % 3) % 3);
    out = (unsigned char *)malloc(size ? size : 1);       /* exactly the bytes' size */
    FZ_CHECK(out);
    r = etcd__b64_decode(out, b.p ? b.p : "", b.len);
    FZ_CHECK(r == (long)size && (size == 0 || !memcmp(out, data, size)));
    r = etcd__b64_decode((unsigned char *)b.p, b.p ? b.p : "", b.len);   /* in place */
    FZ_CHECK(r == (long)size && (size == 0 || !memcmp(b.p, data, size)));
    free(out);
    etcd__buf_free(&b);
}

static void decode_any(const uint8_t *data, size_t size)
{
    char *in = (char *)fz_dup(data, size);
    size_t room = max_out(size);
    unsigned char *out = (unsigned char *)malloc(room ? room : 1), *ref = (unsigned char *)malloc(size + 1);
    long r, want;
    FZ_CHECK(out && ref);
    r = etcd__b64_decode(out, in, size);
    want = ref_decode(ref, data, size);
    FZ_CHECK(r == want);
    if (r > 0) {
        FZ_CHECK((size_t)r <= room && !memcmp(out, ref, (size_t)r));
        FZ_CHECK(etcd__b64_decode((unsigned char *)in, in, size) == r && !memcmp(in, ref, (size_t)r));
    }
    free(ref);
    free(out);
    free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    encode_decode(data, size);
    decode_any(data, size);
    return 0;
}
