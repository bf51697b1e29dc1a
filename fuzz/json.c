/* json.c - libFuzzer target: etcd_json_parse, the public JSON tokenizer.

   The input is the JSON text itself. Checks, for every input:
   - counting mode (toks NULL) and filling mode agree: same count, same
     accept/reject; fewer tokens than needed give ETCD_JSON_ENOMEM;
   - an independent RFC 8259 parser written here (reference) accepts the
     same texts and produces the same tokens (type, span, size);
   - every token's span is inside the text and the tokens nest: each
     container holds exactly `size` members (2 * size tokens in an object,
     keys being STRINGs), in order, inside its brackets;
   - the decoder's own strict skipper (etcd__dec_skip) accepts the same;
   - etcd__json_minify of an accepted text is accepted again, holds the
     same tokens, and is its own minified form;
   - etcd__json_unescape of every string fits its span and is valid UTF-8.

   Run: make fuzz (every target), or after it
        build/fuzz/json -max_total_time=20 -dict=fuzz/json.dict fuzz/corpus/json */
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "fuzz/fuzz.h"

/* ---- the reference parser ----------------------------------------------
   Written from RFC 8259's grammar and Unicode's table of well-formed UTF-8
   (3-7), not from etcd.h, so a shared mistake is unlikely. */

typedef struct ref {
    const unsigned char *s;
    size_t n, i;
    unsigned depth;
    etcd_json_tok *toks;         /* room for n + 1: a token takes a byte at least */
    long count;
} ref;

static int ref_value(ref *r);

static void ref_ws(ref *r)
{
    while (r->i < r->n && (r->s[r->i] == 0x20 || r->s[r->i] == 0x09 || r->s[r->i] == 0x0A || r->s[r->i] == 0x0D))
        r->i++;
}

static long ref_tok(ref *r, etcd_json_type type, size_t start, size_t end)
{
    etcd_json_tok *t = &r->toks[r->count];
    t->type = type; t->start = start; t->end = end; t->size = 0;
    return r->count++;
}

/* One well-formed UTF-8 sequence at s[0..n): its length, or 0. */
static size_t ref_utf8(const unsigned char *s, size_t n)
{
    static const struct { unsigned char lo, hi, len, lo2, hi2; } rows[] = {
        { 0xC2, 0xDF, 2, 0x80, 0xBF }, { 0xE0, 0xE0, 3, 0xA0, 0xBF }, { 0xE1, 0xEC, 3, 0x80, 0xBF },
        { 0xED, 0xED, 3, 0x80, 0x9F }, { 0xEE, 0xEF, 3, 0x80, 0xBF }, { 0xF0, 0xF0, 4, 0x90, 0xBF },
        { 0xF1, 0xF3, 4, 0x80, 0xBF }, { 0xF4, 0xF4, 4, 0x80, 0x8F },
    };
    size_t k, j;
    if (s[0] <= 0x7F) return 1;
    for (k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        if (s[0] < rows[k].lo || s[0] > rows[k].hi) continue;
        if (n < rows[k].len || s[1] < rows[k].lo2 || s[1] > rows[k].hi2) return 0;
        for (j = 2; j < rows[k].len; j++)
            if (s[j] < 0x80 || s[j] > 0xBF) return 0;
        return rows[k].len;
    }
    return 0;
}

static int ref_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* string = quotation-mark *char quotation-mark */
static int ref_string(ref *r)
{
    size_t start = ++r->i;
    while (r->i < r->n) {
        unsigned char c = r->s[r->i];
        if (c == '"') { ref_tok(r, ETCD_JSON_STRING, start, r->i); r->i++; return 0; }
        if (c < 0x20) return -1;
        if (c == '\\') {
            if (++r->i >= r->n) return -1;
            c = r->s[r->i];
            if (c == 'u') {
                int k;
                for (k = 1; k <= 4; k++)
                    if (r->i + (size_t)k >= r->n || !ref_hex(r->s[r->i + (size_t)k])) return -1;
                r->i += 5;
            } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' ||
                       c == 't') {
                r->i++;
            } else {
                return -1;
            }
            continue;
        }
        {
            size_t len = ref_utf8(r->s + r->i, r->n - r->i);
            if (!len) return -1;
            r->i += len;
        }
    }
    return -1;
}

static int ref_digit(const ref *r) { return r->i < r->n && r->s[r->i] >= '0' && r->s[r->i] <= '9'; }

/* number = [ minus ] int [ frac ] [ exp ] */
static int ref_number(ref *r)
{
    size_t start = r->i;
    if (r->i < r->n && r->s[r->i] == '-') r->i++;
    if (!ref_digit(r)) return -1;
    if (r->s[r->i] == '0') r->i++;
    else while (ref_digit(r)) r->i++;
    if (r->i < r->n && r->s[r->i] == '.') {
        r->i++;
        if (!ref_digit(r)) return -1;
        while (ref_digit(r)) r->i++;
    }
    if (r->i < r->n && (r->s[r->i] == 'e' || r->s[r->i] == 'E')) {
        r->i++;
        if (r->i < r->n && (r->s[r->i] == '+' || r->s[r->i] == '-')) r->i++;
        if (!ref_digit(r)) return -1;
        while (ref_digit(r)) r->i++;
    }
    ref_tok(r, ETCD_JSON_NUMBER, start, r->i);
    return 0;
}

static int ref_literal(ref *r, const char *word, etcd_json_type type)
{
    size_t n = strlen(word);
    if (r->n - r->i < n || memcmp(r->s + r->i, word, n) != 0) return -1;
    ref_tok(r, type, r->i, r->i + n);
    r->i += n;
    return 0;
}

/* object = { [ member *( , member ) ] }, array = [ [ value *( , value ) ] ] */
static int ref_container(ref *r, int object)
{
    long me = ref_tok(r, object ? ETCD_JSON_OBJECT : ETCD_JSON_ARRAY, r->i, 0);
    char close = object ? '}' : ']';
    if (++r->depth > ETCD_JSON_MAX_DEPTH) return -1;
    r->i++;
    ref_ws(r);
    if (r->i < r->n && r->s[r->i] == close) goto done;
    for (;;) {
        if (object) {
            if (r->i >= r->n || r->s[r->i] != '"' || ref_string(r) < 0) return -1;
            ref_ws(r);
            if (r->i >= r->n || r->s[r->i] != ':') return -1;
            r->i++;
            ref_ws(r);
        }
        if (ref_value(r) < 0) return -1;
        r->toks[me].size++;
        ref_ws(r);
        if (r->i < r->n && r->s[r->i] == close) break;
        if (r->i >= r->n || r->s[r->i] != ',') return -1;
        r->i++;
        ref_ws(r);
    }
done:
    r->i++;
    r->toks[me].end = r->i;
    r->depth--;
    return 0;
}

static int ref_value(ref *r)
{
    if (r->i >= r->n) return -1;
    switch (r->s[r->i]) {
    case '{': return ref_container(r, 1);
    case '[': return ref_container(r, 0);
    case '"': return ref_string(r);
    case 't': return ref_literal(r, "true", ETCD_JSON_TRUE);
    case 'f': return ref_literal(r, "false", ETCD_JSON_FALSE);
    case 'n': return ref_literal(r, "null", ETCD_JSON_NULL);
    default: return ref_number(r);
    }
}

/* JSON-text = ws value ws. The token count, or -1. */
static long ref_parse(ref *r)
{
    r->i = 0;
    r->depth = 0;
    r->count = 0;
    ref_ws(r);
    if (ref_value(r) < 0) return -1;
    ref_ws(r);
    return r->i == r->n ? r->count : -1;
}

/* ---- properties of etcd_json_parse's tokens ---------------------------- */

/* The subtree at toks[*i] lies within s[lo, hi) and starts at or after
   `from`; returns the offset just past it. */
static size_t walk(const char *s, const etcd_json_tok *t, long n, long *i, size_t from, size_t hi)
{
    const etcd_json_tok *k;
    size_t pos, m, members;
    FZ_CHECK(*i < n);
    k = &t[(*i)++];
    FZ_CHECK(k->start <= k->end && k->end <= hi);
    switch (k->type) {
    case ETCD_JSON_OBJECT: case ETCD_JSON_ARRAY:
        FZ_CHECK(k->start >= from && k->end - k->start >= 2);
        FZ_CHECK(s[k->start] == (k->type == ETCD_JSON_OBJECT ? '{' : '['));
        FZ_CHECK(s[k->end - 1] == (k->type == ETCD_JSON_OBJECT ? '}' : ']'));
        members = k->type == ETCD_JSON_OBJECT ? 2 * k->size : k->size;
        for (m = 0, pos = k->start + 1; m < members; m++) {
            if (k->type == ETCD_JSON_OBJECT && m % 2 == 0) FZ_CHECK(*i < n && t[*i].type == ETCD_JSON_STRING);
            pos = walk(s, t, n, i, pos, k->end - 1);
        }
        return k->end;
    case ETCD_JSON_STRING:
        FZ_CHECK(k->start > from && s[k->start - 1] == '"' && k->end < hi && s[k->end] == '"');
        return k->end + 1;
    case ETCD_JSON_NUMBER:
        FZ_CHECK(k->start >= from && k->end > k->start);
        for (pos = k->start; pos < k->end; pos++) FZ_CHECK(strchr("0123456789+-.eE", s[pos]) && s[pos]);
        return k->end;
    default: {
        const char *w = k->type == ETCD_JSON_TRUE ? "true" : k->type == ETCD_JSON_FALSE ? "false" : "null";
        FZ_CHECK(k->type == ETCD_JSON_TRUE || k->type == ETCD_JSON_FALSE || k->type == ETCD_JSON_NULL);
        FZ_CHECK(k->start >= from && k->end - k->start == strlen(w) && !memcmp(s + k->start, w, strlen(w)));
        return k->end;
    }
    }
}

static void check_tree(const char *s, size_t len, const etcd_json_tok *t, long n)
{
    long i = 0;
    walk(s, t, n, &i, 0, len);
    FZ_CHECK(i == n);
}

/* The same tokens, field by field. */
static void check_same_tokens(const etcd_json_tok *a, const etcd_json_tok *b, long n)
{
    long i;
    for (i = 0; i < n; i++) {
        FZ_CHECK(a[i].type == b[i].type);
        FZ_CHECK(a[i].start == b[i].start && a[i].end == b[i].end);
        FZ_CHECK(a[i].size == b[i].size);
    }
}

/* The decoder's strict skipper on the whole text: 1 accepted, 0 not. */
static int dec_accepts(const char *s, size_t len)
{
    etcd__dec d;
    etcd__error err;
    memset(&d, 0, sizeof d);
    d.s = s;
    d.n = len;
    d.err = &err;
    if (etcd__dec_skip(&d) < 0) return 0;
    etcd__ws(s, len, &d.i);
    return d.i == len;
}

/* Every string token unescaped: no longer than its span, valid UTF-8. */
static void check_unescape(const char *s, const etcd_json_tok *t, long n)
{
    long i;
    for (i = 0; i < n; i++) {
        size_t span = t[i].end - t[i].start, len, at;
        char *o;
        if (t[i].type != ETCD_JSON_STRING) continue;
        o = (char *)malloc(span ? span : 1);        /* exactly the promised room */
        FZ_CHECK(o);
        len = etcd__json_unescape(o, s + t[i].start, span);
        FZ_CHECK(len <= span);
        for (at = 0; at < len;) {
            size_t k = ref_utf8((const unsigned char *)o + at, len - at);
            FZ_CHECK(k > 0);
            at += k;
        }
        free(o);
    }
}

/* minify(text): accepted, same token types and sizes, a fixed point. */
static void check_minify(const char *s, size_t len, const etcd_json_tok *t, long n)
{
    etcd__buf a, b;
    etcd_json_tok *mt = (etcd_json_tok *)malloc(sizeof *mt * (size_t)n);
    long i;
    FZ_CHECK(mt);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    etcd__json_minify(&a, s, len);
    FZ_CHECK(!a.oom && a.len <= len);
    FZ_CHECK(etcd_json_parse(a.p, a.len, mt, (size_t)n) == n);
    for (i = 0; i < n; i++) FZ_CHECK(mt[i].type == t[i].type && mt[i].size == t[i].size);
    etcd__json_minify(&b, a.p, a.len);
    FZ_CHECK(b.len == a.len && !memcmp(a.p, b.p, a.len));
    etcd__buf_free(&a);
    etcd__buf_free(&b);
    free(mt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = (char *)fz_dup(data, size);
    ref r;
    long n = etcd_json_parse(s, size, NULL, 0), ref_n, got;
    etcd_json_tok *toks;

    memset(&r, 0, sizeof r);
    r.s = (const unsigned char *)s;
    r.n = size;
    r.toks = (etcd_json_tok *)calloc(size + 1, sizeof *r.toks);
    FZ_CHECK(r.toks);
    ref_n = ref_parse(&r);
    FZ_CHECK(n == ETCD_JSON_EINVAL || n > 0);
    FZ_CHECK((n > 0) == (ref_n > 0));                    /* same accept/reject */
    FZ_CHECK(dec_accepts(s, size) == (n > 0));

    if (n < 0) {                                         /* filling mode must refuse too */
        toks = (etcd_json_tok *)malloc(sizeof *toks * (size + 1));
        FZ_CHECK(toks);
        FZ_CHECK(etcd_json_parse(s, size, toks, size + 1) == ETCD_JSON_EINVAL);
        got = etcd_json_parse(s, size, toks, size ? (size_t)data[0] % (size + 1) : 0);
        FZ_CHECK(got == ETCD_JSON_EINVAL || got == ETCD_JSON_ENOMEM);
        free(toks);
    } else {
        FZ_CHECK(n == ref_n);
        toks = (etcd_json_tok *)malloc(sizeof *toks * (size_t)n);   /* exactly n: ASan guards the end */
        FZ_CHECK(toks);
        FZ_CHECK(etcd_json_parse(s, size, toks, (size_t)n) == n);
        check_same_tokens(toks, r.toks, n);
        check_tree(s, size, toks, n);
        check_unescape(s, toks, n);
        check_minify(s, size, toks, n);
        FZ_CHECK(etcd_json_parse(s, size, toks, (size_t)n - 1) == ETCD_JSON_ENOMEM);
        FZ_CHECK(etcd_json_parse(s, size, toks, (size_t)data[0] % (size_t)n) == ETCD_JSON_ENOMEM);
        free(toks);
    }
    free(r.toks);
    free(s);
    return 0;
}
