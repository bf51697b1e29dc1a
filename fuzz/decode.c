/* decode.c - libFuzzer target: the response decoder, etcd__decode and all
   it dispatches on (field tables, kvs, events, txn responses nested in
   responses, leases, keys, lock and election answers, error bodies of
   etcd 3.4/3.5/3.6, watch stream errors, non-JSON error pages), plus
   etcd__token_of (authenticate's answer).

   Input: one control byte, then the body.
     bits 0-2  the HTTP status: 200 400 404 500 503 401 408 204
     bits 3+6  (both) also decode it padded with newlines past 64 KiB,
               through etcd__decode_buf (the path where the buffer becomes
               the result's without a copy): the same result
     bit 4     also run etcd__token_of on it
     bit 5     a valid JSON object is also decoded with a blank after
               every '{', '[', ',' and ':' outside strings: etcd writes
               none, so the decoder's fast paths for etcd's own layout
               step aside for the general walk; the same result
   Seeds start with '0'..'7' (0x30-0x37: that status, etcd__token_of and
   the blanks too) or 'x'..'\x7f' (0x78-0x7f: that status, padded too,
   etcd__token_of and the blanks too).

   Checks, whatever the input: a result or an error code with a text,
   never both absent (and no error code with a result); no crash, leak,
   UB or overread (the body is decoded in a block of its exact size);
   every string NUL-terminated at its length, never NULL where the API
   says so; a status-200 result only from a valid JSON object (as
   etcd_json_parse judges it, its depth limit included) and an error for
   any other status-200 body; a valid JSON object never called malformed
   JSON (only a field of the wrong type, or a cap); the result's memory
   within the documented cap (16x the body + 64 KiB); the copying path
   (etcd__decode) and the owning one (etcd__decode_in with a block) give
   the same result and the same error, and so do the padded body and the
   body with blanks, unless one of them hit the cap: the cap counts the
   blocks a decoding takes, and these differ by path (the copying path's
   first block holds the body too) and by length, so near the cap one
   decoding may stop where the other does not.

   Run: make fuzz, or build/fuzz/decode -dict=fuzz/decode.dict fuzz/corpus/decode */
#define ETCD_IMPLEMENTATION
#include "etcd.h"
#include "fuzz/fuzz.h"

static const int statuses[8] = { 200, 400, 404, 500, 503, 401, 408, 204 };

/* Both bits: the padded run costs a few 64 KiB+ allocations (mmap'd by
   ASan), ten times a plain run: a quarter of the inputs is enough. */
#define PADDED 0x48

/* ---- a fingerprint of a result: every field, every byte ------------- */

static void fp_name(fz_log *l, const char *name) { fz_log_add(l, name, strlen(name)); fz_log_add(l, "=", 1); }

static void fp_i64(fz_log *l, const char *name, long long v)
{
    fp_name(l, name);
    fz_log_fmt(l, "%lld;", v);
}

/* A NUL-terminated string or NULL. */
static void fp_cstr(fz_log *l, const char *name, const char *s)
{
    fp_name(l, name);
    if (!s) fz_log_add(l, "NULL;", 5);
    else fz_log_bytes(l, s, strlen(s));
}

/* Bytes with a length that the API says are never NULL and end in NUL. */
static void fp_mem(fz_log *l, const char *name, const char *p, size_t n)
{
    FZ_CHECK(p != NULL);
    FZ_CHECK(p[n] == 0);
    fp_name(l, name);
    fz_log_bytes(l, p, n);
}

static void fp_kv(fz_log *l, const etcd_kv *kv)
{
    fp_mem(l, "key", kv->key, kv->key_len);
    fp_mem(l, "value", kv->value, kv->value_len);
    fp_i64(l, "cr", kv->create_revision);
    fp_i64(l, "mr", kv->mod_revision);
    fp_i64(l, "ver", kv->version);
    fp_i64(l, "lease", kv->lease);
}

static void fp_kvs(fz_log *l, const char *name, const etcd_kv *kvs, size_t n)
{
    size_t i;
    fp_i64(l, name, (long long)n);
    if (n) FZ_CHECK(kvs != NULL);
    for (i = 0; i < n; i++) fp_kv(l, &kvs[i]);
}

static void fp_res(fz_log *l, const etcd_res *r);

static void fp_lists(fz_log *l, const etcd_res *r)
{
    size_t i;
    fp_kvs(l, "kvs", r->kvs, r->nkvs);
    fp_kvs(l, "prev_kvs", r->prev_kvs, r->nprev_kvs);
    if (r->prev_kv) fp_kvs(l, "prev_kv", r->prev_kv, 1);
    fp_i64(l, "nresponses", (long long)r->nresponses);
    if (r->nresponses) FZ_CHECK(r->responses != NULL);
    for (i = 0; i < r->nresponses; i++) {
        FZ_CHECK(r->responses[i].status == 200);
        fp_res(l, &r->responses[i]);
    }
    fp_i64(l, "nevents", (long long)r->nevents);
    if (r->nevents) FZ_CHECK(r->events != NULL);
    for (i = 0; i < r->nevents; i++) {
        const etcd_event *e = &r->events[i];
        FZ_CHECK(e->type == ETCD_EVENT_PUT || e->type == ETCD_EVENT_DELETE);
        fp_i64(l, "type", e->type);
        fp_kv(l, &e->kv);
        if (e->prev_kv) fp_kvs(l, "prev", e->prev_kv, 1);
    }
    fp_i64(l, "nkeys", (long long)r->nkeys);
    if (r->nkeys) FZ_CHECK(r->keys != NULL);
    for (i = 0; i < r->nkeys; i++) fp_mem(l, "k", r->keys[i].ptr, r->keys[i].len);
    fp_i64(l, "nleases", (long long)r->nleases);
    if (r->nleases) FZ_CHECK(r->leases != NULL);
    for (i = 0; i < r->nleases; i++) fp_i64(l, "l", r->leases[i]);
}

static void fp_res(fz_log *l, const etcd_res *r)
{
    fp_i64(l, "status", r->status);
    fp_i64(l, "cluster", (long long)r->cluster_id);
    fp_i64(l, "member", (long long)r->member_id);
    fp_i64(l, "rev", r->revision);
    fp_i64(l, "term", r->raft_term);
    fp_cstr(l, "error", r->error);
    fp_cstr(l, "message", r->message);
    fp_i64(l, "code", r->code);
    fp_i64(l, "count", r->count);
    fp_i64(l, "more", r->more);
    fp_i64(l, "deleted", r->deleted);
    fp_i64(l, "succeeded", r->succeeded);
    fp_i64(l, "created", r->created);
    fp_i64(l, "canceled", r->canceled);
    fp_i64(l, "fragment", r->fragment);
    fp_i64(l, "watch_id", r->watch_id);
    fp_i64(l, "compact", r->compact_revision);
    fp_cstr(l, "cancel_reason", r->cancel_reason);
    fp_i64(l, "id", r->id);
    fp_i64(l, "ttl", r->ttl);
    fp_i64(l, "granted", r->granted_ttl);
    fp_cstr(l, "etcdserver", r->etcdserver);
    fp_cstr(l, "etcdcluster", r->etcdcluster);
    if (r->lock_key.ptr) fp_mem(l, "lock_key", r->lock_key.ptr, r->lock_key.len);
    else FZ_CHECK(r->lock_key.len == 0);
    if (r->leader) {
        fp_mem(l, "leader.name", r->leader->name.ptr, r->leader->name.len);
        fp_mem(l, "leader.key", r->leader->key.ptr, r->leader->key.len);
        fp_i64(l, "leader.rev", r->leader->rev);
        fp_i64(l, "leader.lease", r->leader->lease);
    }
    fp_i64(l, "snapshot", r->snapshot);
    fp_i64(l, "reset", r->reset);
    fp_lists(l, r);
}

/* ---- properties of one decoding ----------------------------------------- */

/* Is the body one valid JSON object (what a 200 must be)? */
static int json_object(const char *s, size_t n)
{
    size_t i = 0;
    etcd__ws(s, n, &i);
    return i < n && s[i] == '{' && etcd_json_parse(s, n, NULL, 0) > 0;
}

/* Bytes in the result's blocks, the body block it was given excepted. */
static size_t arena_bytes(const etcd_res *r, size_t own)
{
    const etcd__blk *b = (const etcd__blk *)(const void *)((const char *)r - ETCD__HDR);
    size_t total = 0;
    for (; b; b = b->next) total += b->cap;
    return total - own;
}

/* The properties of one decode; its fingerprint (or error) goes to l. */
static void check_one(fz_log *l, const etcd_res *r, const etcd__error *err, const char *body, size_t len,
                      int status, size_t own)
{
    if (!r) {
        FZ_CHECK(err->code != ETCD_OK && err->msg[0] != 0);     /* never both absent */
        fz_log_fmt(l, "error %lld: ", err->code);
        fz_log_add(l, err->msg, strlen(err->msg));
        if (!json_object(body, len)) {
            FZ_CHECK(status == 200);                     /* other statuses give a result */
            FZ_CHECK(err->code == ETCD_EPROTO || err->code == ETCD_ETOOLARGE);
        } else {                                         /* valid JSON: a field's fault, or a cap */
            FZ_CHECK(strstr(err->msg, "malformed JSON in response") == NULL);
        }
        return;
    }
    FZ_CHECK(err->code == ETCD_OK && err->msg[0] == 0);
    FZ_CHECK(r->status == status);
    FZ_CHECK(r->body != NULL && r->body_len == len && r->body[len] == 0);
    FZ_CHECK(len == 0 || memcmp(r->body, body, len) == 0);
    if (status == 200) FZ_CHECK(json_object(body, len));
    else FZ_CHECK(r->error != NULL || r->message == NULL);
    FZ_CHECK(arena_bytes(r, own) <= len * ETCD__DEC_FACTOR + 65536);
    fp_res(l, r);
}

/* etcd__decode_in with the body in a block of its own, of its exact size:
   the decoder reads from it, so an overread is an ASan report. */
static etcd_err decode_owned(fz_log *l, const char *body, size_t len, int status)
{
    etcd__blk *own = (etcd__blk *)malloc(ETCD__HDR + len + 1);
    etcd__error err;
    etcd_res *r;
    FZ_CHECK(own);
    if (len) memcpy((char *)own + ETCD__HDR, body, len);
    ((char *)own + ETCD__HDR)[len] = 0;
    own->next = NULL;
    own->cap = own->used = len + 1;
    etcd__err_clear(&err);
    r = etcd__decode_in((char *)own + ETCD__HDR, len, status, own, &err);   /* takes own */
    check_one(l, r, &err, body, len, status, len + 1);
    etcd_res_free(r);
    return err.code;
}

/* etcd__decode, copying the body from an exact-size buffer. */
static etcd_err decode_copied(fz_log *l, const char *body, size_t len, int status)
{
    char *b = (char *)fz_dup(body, len);
    etcd__error err;
    etcd_res *r;
    etcd__err_clear(&err);
    r = etcd__decode(b, len, status, &err);
    check_one(l, r, &err, body, len, status, 0);
    etcd_res_free(r);
    free(b);
    return err.code;
}

/* Through etcd__decode_buf, padded past ETCD__KEEP_BODY with newlines
   (which change neither the JSON nor a text body's first line). */
static etcd_err decode_padded(fz_log *l, const char *body, size_t len, int status)
{
    static char pad[ETCD__KEEP_BODY];
    static int pad_ready;
    etcd__buf in;
    etcd__error err;
    etcd_res *r;
    size_t padded;
    memset(&in, 0, sizeof in);
    if (!pad_ready) memset(pad, '\n', sizeof pad);
    pad_ready = 1;
    etcd__buf_reserve(&in, len + sizeof pad);       /* one big allocation, not a doubling series */
    etcd__buf_add(&in, body, len);
    etcd__buf_add(&in, pad, sizeof pad);
    FZ_CHECK(!in.oom);
    padded = in.len;
    etcd__err_clear(&err);
    r = etcd__decode_buf(&in, status, &err);
    FZ_CHECK(in.len == 0 && in.p == NULL);              /* the buffer became the result's */
    if (r) {
        FZ_CHECK(err.code == ETCD_OK && r->body_len == padded && r->body[padded] == 0);
        FZ_CHECK(len == 0 || memcmp(r->body, body, len) == 0);
        fp_res(l, r);
    } else {
        FZ_CHECK(err.code != ETCD_OK && err.msg[0] != 0);
        fz_log_fmt(l, "error %lld: ", err.code);
        fz_log_add(l, err.msg, strlen(err.msg));
    }
    etcd_res_free(r);
    etcd__buf_free(&in);
    return err.code;
}

/* The body with a blank after each '{', '[', ',' and ':' outside strings
   (malloc'd; *outlen its length). */
static char *spaced(const char *body, size_t len, size_t *outlen)
{
    char *o = (char *)malloc(2 * len + 1);
    size_t i, n = 0;
    int in_str = 0;
    FZ_CHECK(o);
    for (i = 0; i < len; i++) {
        char c = body[i];
        o[n++] = c;
        if (in_str) {
            if (c == '\\' && i + 1 < len) o[n++] = body[++i];
            else if (c == '"') in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[' || c == ',' || c == ':') {
            o[n++] = ' ';
        }
    }
    o[n] = 0;
    *outlen = n;
    return o;
}

static void token_of(const char *body, size_t len)
{
    etcd__buf in;
    etcd__error err;
    char *tok;
    memset(&in, 0, sizeof in);
    etcd__buf_add(&in, body, len);
    etcd__err_clear(&err);
    tok = etcd__token_of(&in, &err);
    if (tok) FZ_CHECK(strlen(tok) <= len);
    free(tok);
    etcd__buf_free(&in);
}

/* Two decodings of the same JSON give the same result or error, unless
   one of them hit the cap (see the top). */
static void same(const char *why, const char *what_a, const fz_log *a, etcd_err ca, const char *what_b,
                 const fz_log *b, etcd_err cb)
{
    if (ca == ETCD_ETOOLARGE || cb == ETCD_ETOOLARGE || fz_log_same(a, b)) return;
    fz_log_show(what_a, a);
    fz_log_show(what_b, b);
    fprintf(stderr, "FZ_CHECK failed: %s\n", why);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_log owned = { 0 }, copied = { 0 }, padded = { 0 }, blanks = { 0 };
    const char *body = (const char *)data + 1;
    size_t len;
    int status;
    etcd_err code;
    if (size < 1) return 0;
    status = statuses[data[0] & 7];
    len = size - 1;
    code = decode_owned(&owned, body, len, status);
    same("the two paths decode differently", "decode_in, owned", &owned, code, "decode, copied", &copied,
         decode_copied(&copied, body, len, status));
    if ((data[0] & PADDED) == PADDED && code != ETCD_ETOOLARGE)   /* else nothing to compare */
        same("padding changed the result", "decode_in", &owned, code, "decode_buf, padded", &padded,
             decode_padded(&padded, body, len, status));
    if ((data[0] & 32) && code != ETCD_ETOOLARGE && json_object(body, len)) {
        size_t slen;
        char *sp = spaced(body, len, &slen);
        etcd_err cb = decode_copied(&blanks, sp, slen, status);
        free(sp);
        same("blanks changed the result", "decode_in", &owned, code, "decode, with blanks", &blanks, cb);
    }
    if (data[0] & 16) token_of(body, len);
    fz_log_free(&owned);
    fz_log_free(&copied);
    fz_log_free(&padded);
    fz_log_free(&blanks);
    return 0;
}
