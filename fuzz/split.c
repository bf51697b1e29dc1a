/* split.c - libFuzzer target: the watch stream splitter, etcd__json_next
   with its etcd__split state, fed as etcd__watch_read feeds it: bytes
   appended to a buffer in reads of fuzzer-chosen sizes, each message
   dropped from the front (etcd__buf_consume) once found.

   Input: FZ_NPIECES read sizes (fuzz.h; 0 counts as 1), then the stream
   (the decoded body of a /v3/watch or /v3/election/observe answer).

   Checks: every message lies in the buffer, starts with { or [ and ends
   with } or ]; the sequence of messages (and where a "not JSON" comes)
   is the same with the fuzzer's read sizes as with the whole stream in
   one read, and the same as an independent splitter's written here
   (a bracket counter that skips strings and their escapes).

   Run: make fuzz, or build/fuzz/split fuzz/corpus/split */
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "fuzz/fuzz.h"

/* The stream read in pieces; messages and the end go to l. */
static void run(fz_log *l, const char *s, size_t n, fz_pieces *pieces, int whole)
{
    etcd__buf msg;
    etcd__split sp;
    size_t at = 0;
    memset(&msg, 0, sizeof msg);
    memset(&sp, 0, sizeof sp);
    for (;;) {
        size_t st = 0, e = 0, k;
        int r = etcd__json_next(&sp, msg.p, msg.len, &st, &e);
        if (r > 0) {
            FZ_CHECK(st < e && e <= msg.len);
            FZ_CHECK(msg.p[st] == '{' || msg.p[st] == '[');
            FZ_CHECK(msg.p[e - 1] == '}' || msg.p[e - 1] == ']');
            fz_log_bytes(l, msg.p + st, e - st);
            etcd__buf_consume(&msg, e);
            continue;
        }
        if (r < 0) { fz_log_add(l, "not JSON", 8); break; }
        if (at == n) { fz_log_add(l, "end", 3); break; }     /* what is left is a partial message */
        k = whole ? n - at : fz_piece(pieces);
        if (k == 0) k = 1;
        if (k > n - at) k = n - at;
        etcd__buf_add(&msg, s + at, k);
        FZ_CHECK(!msg.oom);
        at += k;
    }
    etcd__buf_free(&msg);
}

/* The reference: the messages of s[0..n) by counting brackets outside
   strings; the same records as run(). */
static void reference(fz_log *l, const char *s, size_t n)
{
    size_t i = 0;
    for (;;) {
        size_t start;
        long depth = 0;
        int in_str = 0, esc = 0;
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
        if (i == n) { fz_log_add(l, "end", 3); return; }
        if (s[i] != '{' && s[i] != '[') { fz_log_add(l, "not JSON", 8); return; }
        for (start = i; i < n; i++) {
            char c = s[i];
            if (esc) esc = 0;
            else if (in_str && c == '\\') esc = 1;
            else if (c == '"') in_str = !in_str;
            else if (in_str) continue;
            else if (c == '{' || c == '[') depth++;
            else if ((c == '}' || c == ']') && --depth == 0) break;
        }
        if (i == n) { fz_log_add(l, "end", 3); return; }
        i++;
        fz_log_bytes(l, s + start, i - start);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_log split = { 0 }, whole = { 0 }, ref = { 0 };
    fz_pieces pieces;
    char *s;
    if (fz_pieces_take(&pieces, &data, &size) < 0) return 0;
    s = (char *)fz_dup(data, size);
    run(&split, s, size, &pieces, 0);
    run(&whole, s, size, &pieces, 1);
    reference(&ref, s, size);
    if (!fz_log_same(&split, &whole) || !fz_log_same(&whole, &ref)) {
        fz_log_show("in pieces", &split);
        fz_log_show("whole", &whole);
        fz_log_show("reference", &ref);
        FZ_CHECK(!"the messages depend on the read sizes, or differ from the reference");
    }
    fz_log_free(&split);
    fz_log_free(&whole);
    fz_log_free(&ref);
    free(s);
    return 0;
}
