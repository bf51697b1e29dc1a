/* etcd.h - v0.1.0 - single-file C client for etcd v3 over its JSON gateway

   Talk to an etcd v3 cluster from C with no dependency: a blocking HTTP/1.1
   client over POSIX sockets (or a transport of yours), a small JSON
   tokenizer, base64, and every call
   of lua-resty-etcd (get, set, setnx, setx, delete, readdir, rmdir, watch,
   watchdir, watchcancel, txn, grant, revoke, keepalive, timetolive, leases,
   version) on etcd's /v3/... gateway. Beyond it: error codes, binary-safe
   keys, and the patterns people adopt etcd for, each part of the library:
   a paged readdir at one revision, a lease keeper, locks, elections, and a
   prefix mirrored locally that survives compaction (>>recipes).

   QUICK START
       Do this in *one* C or C++ file, before any other #include:

           #define ETCD_IMPLEMENTATION
           #include "etcd.h"

       Every other file just #includes "etcd.h".

           char err[256];
           etcd *cli = etcd_new(NULL, err, sizeof err);    // http://127.0.0.1:2379
           if (!cli) { fprintf(stderr, "%s\n", err); return 1; }
           etcd_res *r = etcd_set(cli, "/app/port", "8080", NULL);
           etcd_res_free(r);
           r = etcd_get(cli, "/app/port", NULL);
           if (r && r->nkvs) printf("%s\n", r->kvs[0].value);   // 8080
           else if (!r) fprintf(stderr, "%s\n", etcd_errstr(cli));
           etcd_res_free(r);
           etcd_free(cli);

   CONFIGURATION MACROS
       ETCD_IMPLEMENTATION   emit the implementation in this translation unit
       ETCD_STATIC           give every function internal linkage
       ETCD_USE_OPENSSL      TLS for https:// endpoints (link -lssl -lcrypto,
                             OpenSSL 1.1.1 or 3.x)
       ETCD_USE_MBEDTLS      the same with mbedTLS 2.28 or 3.x (link
                             -lmbedtls -lmbedx509 -lmbedcrypto). Not both:
                             that is a compile error. With neither, no TLS
                             library is referenced and https:// is refused
                             by etcd_new
       ETCD_MALLOC(n), ETCD_REALLOC(p,n), ETCD_FREE(p)
                             allocator override: define all three or none
                             (default: malloc, realloc, free)
       ETCD_NO_SOCKETS       no socket, netdb, poll or file header: every
                             byte goes through opts.transport (TRANSPORT),
                             which is then required; etcd_snapshot_save
                             is refused (etcd_snapshot works)

       The implementation needs POSIX declarations (getaddrinfo, poll,
       clock_gettime). It defines _POSIX_C_SOURCE 200809L itself, which works
       when etcd.h is the first include of that file; otherwise compile it
       with -D_POSIX_C_SOURCE=200809L (or _GNU_SOURCE / _DEFAULT_SOURCE).
       With ETCD_NO_SOCKETS it needs only C99's headers and strings.h.

   TRANSPORT
       By default etcd.h connects with POSIX sockets. opts.transport
       replaces them with functions of yours (etcd_transport, >>client):
       connect, read, write, wait, close and a clock, for lwIP, a modem
       behind AT commands, a vendor's TLS offload (then use http://
       endpoints: the TLS is yours). HTTP, the watchers, and TLS when a
       backend is compiled in, all run on top of it. The README shows one
       for lwIP's socket API.

   TLS (ETCD_USE_OPENSSL or ETCD_USE_MBEDTLS)
       An https:// endpoint is verified by default: the chain against
       ssl_ca_path (or the system store) and the host name or IP literal
       (or opts.sni) against the certificate's SAN; ssl_skip_verify turns
       both off. ssl_cert_path + ssl_key_path present a client certificate
       (mutual TLS). Files are read by etcd_new, which names the file that
       cannot be used. The SNI is opts.sni or the endpoint's host, never an
       IP literal. Sessions are resumed across reconnects; the handshake
       runs under the request's deadline; no SIGPIPE (bytes go through the
       transport; the sockets one sends with MSG_NOSIGNAL, a transport of
       yours must not raise it either). Both backends do all of
       this and word failures alike ("TLS certificate verification failed:
       hostname mismatch"; other texts may differ). mbedTLS has no system
       store: without ssl_ca_* it reads the first bundle it can parse of
       /etc/ssl/certs/ca-certificates.crt, /etc/pki/tls/certs/ca-bundle.crt,
       /etc/ssl/cert.pem, /etc/ssl/ca-bundle.pem (files are read with
       stdio: a board without files uses ssl_*_pem). Its buffers
       (MBEDTLS_SSL_IN/OUT_CONTENT_LEN, 16 KiB each by default, per
       connection) and its entropy source are its configuration's.

   OPTIONS
       Every option struct (etcd_opts, etcd_get_opts, ...) means "default"
       when zero-initialised. The idiom that compiles warning-free in C and
       C++ alike (`= {0}` is an error in C++ for etcd_op, etcd_compare and
       etcd_event, whose first member is an enum):

           etcd_get_opts o;
           memset(&o, 0, sizeof o);
           o.limit = 10;

       A NULL options pointer means all defaults. New fields are only ever
       appended, so positional initialisers keep compiling.

   VALUES AND SERIALIZERS
       ETCD_SERIALIZER_JSON (default): values are JSON text ("8080", "\"on\"",
       "{\"a\":1}"). They are validated before anything is sent and stored
       with the whitespace between tokens removed, which is how
       lua-resty-etcd's cjson encodes the same value, so C and Lua programs
       share keys. Read values come back as the stored JSON text.
       ETCD_SERIALIZER_RAW: values are stored byte for byte; set
       etcd_set_opts.val_len (or value_len in txn ops) for values with NULs.

   ERRORS
       Calls return NULL on failure; etcd_errcode(cli) gives its class and
       etcd_errstr(cli) its text, which always describe the same failure.
       After a call that gave a result the code is ETCD_OK and the text "".
       Any HTTP status below 500 is a result: check res->status and
       res->error / res->message / res->code (etcd's body, any version's
       shape). Watchers have etcd_watch_errcode / etcd_watch_errstr. The
       codes, and what to do about each, are the table at etcd_err
       (>>client).

       Where a call needs an answer that is not a 200 turned into a code
       (a 5xx, a watch refused, a recipe's grant), one table decides:
           408, 5xx                ETCD_ESERVER; counted against the endpoint
           401, gRPC code 16       ETCD_EAUTH
           gRPC code 11, or a
           message with "compacted" ETCD_ECOMPACTED
           200 without what the
           call asked for          ETCD_EPROTO
           any other 4xx           the call's refusal: ETCD_EARG, for a
                                   watch ETCD_ECANCELED
       Connect, transport and timeout failures and 5xx answers count
       against an endpoint (max_fails); a 4xx never does, nor a watch's
       idle timeout, the timeout of a call that waits on purpose (a lock,
       a campaign), or etcd's election answers ("election: no leader"
       comes as a 500).

   MEMORY AND OWNERSHIP
       Each etcd_res is one arena: free it (and everything it points to) with
       etcd_res_free. A client's buffers grow with need and what a big
       answer or watch message grew is given back after it: an idle client
       holds about 7 KiB, an open watch about 5 KiB (4 KiB of it the read
       buffer, opts.read_step). Strings in results are NUL-terminated and also carry
       their length. Options and their strings are copied by etcd_new; the
       caller may free them afterwards. A watcher uses its client's settings:
       cancel it before freeing the client.

   THREADS
       No global state. A client (and its watchers) is used by one thread at
       a time; separate clients in separate threads share nothing. The
       library installs no signal handler and never raises SIGPIPE.

   LIMITS
       Every cap, and the failure it gives:
       - max_response (default 128 MiB): one response body or one watch
         message; a declared Content-Length or chunk size over it fails at
         once. ETCD_ETOOLARGE "response larger than max_response (N bytes)".
       - Decoding memory: a result may take 16x its body + 64 KiB.
         ETCD_ETOOLARGE "response too complex: decoding it would take ...".
       - Response head (status line + headers): 64 KiB.
         ETCD_EPROTO "malformed HTTP response: head larger than 65536 bytes".
       - Chunk-size line or trailer line: 4096 bytes.
         ETCD_EPROTO "malformed HTTP response: chunk line too long".
       - JSON nesting: ETCD_JSON_MAX_DEPTH (512) levels. etcd_json_parse
         returns ETCD_JSON_EINVAL; in a response: ETCD_EPROTO.
       - Error texts: 255 bytes, cut beyond.

   CONTENTS
       Every section starts with a banner holding its tag: grep for it. A
       tag names a part's declarations and its implementation alike.
       Declarations
         >>client     etcd_new and its options, errors, endpoint health
         >>results    etcd_res, etcd_kv, etcd_event: what calls return
         >>kv         get, readdir, set, setnx, setx, delete, rmdir
         >>watch      watch, watchdir, the watcher's calls and states
         >>txn        etcd_txn: compares and ops
         >>lease      grant, revoke, keepalive, timetolive, leases, version
         >>admin      compaction, members, maintenance, alarms, auth
         >>recipes    paged readdir, lease keeper, locks, elections, mirror
         >>request    etcd_request, the escape hatch; >>json, the tokenizer
       Implementation (behind ETCD_IMPLEMENTATION), in dependency order
         >>config     includes, the allocator, caps, the one error setter
         >>buf        growable byte buffer whose out-of-memory is sticky
         >>base64     encoder into a buffer; decoder in place
         >>sha256     for the snapshot's trailing checksum
         >>json       the tokenizer, scanning helpers, number parsing, the
                      writer, the stream splitter
         >>body       a request body being written, with its own failure
         >>net        connections over the transport (POSIX sockets or the
                      caller's): reads never block, each wait to a deadline
         >>tls        OpenSSL or mbedTLS behind the same table, over it
         >>http       request bytes, response head, chunked body: pure
         >>decode     one walk of a body into a result arena, by field tables
         >>status     what an answer other than 200 means (ERRORS' table)
         >>options    etcd_new: options checked and copied, endpoints parsed
         >>endpoints  round-robin over the healthy, max_fails, fail_timeout
         >>exchange   one request on one endpoint: connect, send, read
         >>request    the one retry loop every request goes through
         >>auth       the api prefix and the token, each a sub-request
         >>kv         request bodies of the key-value calls
         >>txn        compares and ops into a txn body
         >>lease      lease calls, etcd_version, etcd_request
         >>watch      the watcher: one state machine over a stream
         >>admin      administration: a body and one etcd__admin each;
                      the snapshot, a stream checked by its sha256
         >>recipes    pager, lease keeper, locks, elections and observe,
                      mirror (a watcher kind)

   LICENSE
       MIT, see the end of this file.
*/
#ifndef ETCD_H
#define ETCD_H

#define ETCD_VERSION       "0.1.0"
#define ETCD_VERSION_NUM   100   /* major*10000 + minor*100 + patch */

#if defined(ETCD_IMPLEMENTATION) && !defined(_POSIX_C_SOURCE) && \
    !defined(_GNU_SOURCE) && !defined(_DEFAULT_SOURCE) && !defined(_XOPEN_SOURCE)
#define _POSIX_C_SOURCE 200809L
#if defined(__APPLE__) && !defined(_DARWIN_C_SOURCE)
#define _DARWIN_C_SOURCE         /* SO_NOSIGPIPE */
#endif
#endif

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef ETCD_STATIC
#if defined(__GNUC__) || defined(__clang__)
#define ETCDDEF static __attribute__((unused))   /* a program may use only some calls */
#else
#define ETCDDEF static
#endif
#else
#define ETCDDEF extern
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
   >>client
   ------------------------------------------------------------------------ */

typedef struct etcd etcd;   /* opaque; owns its connections and last error */

/* The class of a failure, and what to do about it: the one table (the
   README links here). */
typedef enum etcd_err {
    ETCD_OK = 0,       /* the last call gave a result (any HTTP status), or did not fail */
    ETCD_EARG,         /* bad argument or option; nothing was sent. Fix the call */
    ETCD_ENOMEM,       /* an allocation failed; the client stays usable */
    ETCD_ECONNECT,     /* refused, unreachable, not resolved; nothing was sent, so any
                          call may be tried again (or let opts.retry do it) */
    ETCD_ETIMEOUT,     /* "timeout": the deadline passed. A write may or may not have
                          happened: read before writing again. A watch: nothing came in
                          time, the stream is still usable: call again */
    ETCD_ETRANSPORT,   /* reset, EOF, truncated body, write error after connecting: as
                          for a timeout */
    ETCD_EPROTO,       /* malformed HTTP or JSON, a body of the wrong shape: a proxy or
                          something that is not etcd answered */
    ETCD_ETOOLARGE,    /* over max_response or a decoding cap (LIMITS): raise
                          max_response, or page (limit) the read */
    ETCD_ETLS,         /* TLS handshake or certificate verification failed: check
                          ssl_ca_*, sni, the certificate's names, the clock */
    ETCD_EAUTH,        /* wrong user or password, auth not enabled, a token refused:
                          calls fail the same way for a second without asking etcd */
    ETCD_ENOHEALTHY,   /* every endpoint is out of the rotation; the text says which
                          comes back first, why it went, and when */
    ETCD_ESERVER,      /* a 5xx ("HTTP 503: <etcd's message>"), or an error inside a
                          watch stream: transient; retry, or let retry/auto_resume */
    ETCD_ECOMPACTED,   /* the revision asked for is compacted: read anew, and watch
                          from that read's revision + 1 */
    ETCD_ECANCELED,    /* etcd canceled (or with a 4xx refused) the watch: see the text */
    ETCD_ELOST         /* a kept lease expired or was revoked: grant a new one and
                          register again */
} etcd_err;

typedef enum { ETCD_SERIALIZER_JSON = 0, ETCD_SERIALIZER_RAW = 1 } etcd_serializer;

/* A transport of the caller's (TRANSPORT at the top). A connection is a
   handle >= 0 of the transport's choosing (a socket, a slot). Every
   function gets ctx first; those returning a number return -1 on failure,
   with errno saying why when it is set. Deadlines are absolute, on now()'s
   clock; < 0 means none. */
#define ETCD_IO_AGAIN (-2)       /* read/write: nothing now; wait, then again */
#define ETCD_IO_READ  1          /* events for wait() */
#define ETCD_IO_WRITE 2

typedef struct etcd_transport {
    void  *ctx;
    /* A connection to host:port, made before deadline (else -1 with errno
       ETIMEDOUT). host is as written in http_host: a name, or an IP literal
       without brackets; with opts.unix_socket_proxy, its path and port 0. */
    int    (*connect)(void *ctx, const char *host, int port, double deadline);
    /* Never blocking: bytes moved (> 0; a write may be short), 0 at the
       end of the stream (read), or ETCD_IO_AGAIN. */
    long   (*read)(void *ctx, int conn, void *buf, size_t n);
    long   (*write)(void *ctx, int conn, const void *buf, size_t n);
    /* Until conn is ready for events (ETCD_IO_READ or ETCD_IO_WRITE), or the
       deadline: 1 ready (or failed: the next read or write says how), 0
       the deadline came. A deadline already passed: look, do not wait.
       conn -1: sleep until the deadline, return 0. */
    int    (*wait)(void *ctx, int conn, int events, double deadline);
    void   (*close)(void *ctx, int conn);
    /* Seconds (>= 0) on a clock that never goes back. NULL: the system's
       CLOCK_MONOTONIC, which ETCD_NO_SOCKETS does not have. */
    double (*now)(void *ctx);
} etcd_transport;

typedef struct etcd_opts {
    const char *protocol;        /* "v3"; NULL means "v3"; anything else: error */
    const char *http_host;       /* NULL: "http://127.0.0.1:2379"; several endpoints
                                    separated by commas */
    int64_t     ttl;             /* > 0: set/setnx/setx without a lease grant a lease
                                    of ttl seconds and attach it; 0 or -1: off */
    const char *key_prefix;      /* prepended to every key and dir */
    double      timeout;         /* seconds per request; 0 means 5 */
    const char *api_prefix;      /* "/v3", "/v3beta", "/v3alpha"; NULL: detected once
                                    from GET /version */
    bool        ssl_skip_verify; /* do not verify the server certificate or name */
    const char *ssl_ca_path;     /* PEM CA file; NULL: system default store */
    const char *ssl_cert_path;   /* PEM client certificate (chain) for mutual TLS */
    const char *ssl_key_path;    /* PEM client key, with ssl_cert_path */
    etcd_serializer serializer;  /* JSON (default) or RAW */
    const char *const *extra_headers; /* NULL-terminated "Name: value" list */
    const char *sni;             /* TLS server name, sent and verified (as Go's
                                    ServerName); default: the endpoint's host; an IP
                                    literal is verified as an IP, not sent */
    const char *unix_socket_proxy; /* "unix:/path" or "/path"; TCP when no such file
                                    (a transport gets the path and port 0) */
    const char *user, *password; /* etcd auth: a token is fetched on first use, sent
                                    on every request, refreshed before etcd's idle
                                    expiry and once when etcd rejects it */
    double      fail_timeout;    /* seconds: the window max_fails count in, and how
                                    long an endpoint then stays out; 0 means 10 */
    int         max_fails;       /* connect/transport/5xx failures within fail_timeout
                                    that take an endpoint out; 0 means 1; -1 turns
                                    health checks off: no endpoint is ever taken
                                    out, failures are returned as they are */
    bool        retry;           /* a failed call tries again on the next healthy
                                    endpoint, up to endpoints * max_fails + 1 tries:
                                    reads (get, readdir, timetolive, leases, keepalive,
                                    version, opening a watch) always; writes only when
                                    not a byte of the request was written */
    size_t      max_response;    /* bytes; 0 means 128 MiB */
    const char *ssl_ca_pem;      /* PEM text instead of ssl_ca_path (not both) */
    const char *ssl_cert_pem;    /* PEM text instead of ssl_cert_path (not both) */
    const char *ssl_key_pem;     /* PEM text instead of ssl_key_path (not both) */
    const etcd_transport *transport; /* NULL: POSIX sockets. Copied; its ctx must
                                    outlive the client. Required with
                                    ETCD_NO_SOCKETS */
    size_t      read_step;       /* bytes asked of the transport per read at first;
                                    0 means 4096; 256 to 65536. A read that fills it
                                    makes the next ones 64 KiB for the rest of that
                                    answer; the buffer it grew is given back after
                                    the answer (MEMORY AND OWNERSHIP) */
} etcd_opts;

/* Create a client. opts NULL: defaults. Copies everything it keeps. Returns
   NULL with the reason in err (if err_size > 0) on bad options. Neither
   connects nor resolves host names: that happens at first use. */
ETCDDEF etcd       *etcd_new(const etcd_opts *opts, char *err, size_t err_size);
/* Close every connection and free the client. NULL is fine. Cancel the
   client's watchers first: they use its settings (and TLS context). */
ETCDDEF void        etcd_free(etcd *cli);
/* Why the last call on cli failed; "" when it did not. Owned by cli. */
ETCDDEF const char *etcd_errstr(const etcd *cli);
/* The class of that failure: ETCD_OK after every call that gave a result
   or succeeded. etcd_errstr and etcd_errcode always describe one failure. */
ETCDDEF etcd_err    etcd_errcode(const etcd *cli);
/* "ETCD_ETIMEOUT", ...; "?" for a value outside the enum. */
ETCDDEF const char *etcd_err_name(etcd_err e);
/* Whether endpoint http_host (as written in opts.http_host) is in the
   rotation now: false from the failure that reached max_fails until
   fail_timeout seconds later, or until it answers a request sooner. With
   none healthy, calls fail at once with "has no healthy etcd endpoint
   available", except one a second, which probes the endpoint due back
   first (not in the first second after it went out). */
ETCDDEF bool        etcd_endpoint_healthy(const etcd *cli, const char *http_host);

/* ------------------------------------------------------------------------
   >>results
   ------------------------------------------------------------------------ */

typedef struct etcd_kv {
    const char *key;   size_t key_len;      /* decoded, NUL-terminated, never NULL */
    const char *value; size_t value_len;    /* stored bytes, NUL-terminated, never NULL */
    int64_t create_revision, mod_revision, version, lease;
} etcd_kv;

typedef enum { ETCD_EVENT_PUT = 0, ETCD_EVENT_DELETE = 1 } etcd_event_type;

typedef struct etcd_event {
    etcd_event_type type;
    etcd_kv         kv;
    const etcd_kv  *prev_kv;                /* NULL unless asked for and present */
} etcd_event;

typedef struct etcd_str { const char *ptr; size_t len; } etcd_str;

typedef struct etcd_leader_key {        /* etcd's LeaderKey: a campaign that won */
    etcd_str name, key;                  /* key: the campaign's own key */
    int64_t  rev, lease;
} etcd_leader_key;

typedef struct etcd_member {            /* a cluster member, as etcd lists it */
    uint64_t id;
    const char *name;                    /* "" until the member has started */
    const etcd_str *peer_urls; size_t npeer_urls;
    const etcd_str *client_urls; size_t nclient_urls;   /* none until it has started */
    bool is_learner;
} etcd_member;

typedef struct etcd_alarm { uint64_t member_id; int alarm; } etcd_alarm;   /* alarm: ETCD_ALARM_* */

typedef struct etcd_perm {              /* a role's permission: perm is ETCD_PERM_* */
    int perm;
    etcd_str key, range_end;             /* range_end "": the key alone; "\0": from key on */
} etcd_perm;

typedef struct etcd_res etcd_res;
struct etcd_res {
    int         status;                     /* HTTP status */
    const char *body;  size_t body_len;     /* the raw JSON body, NUL-terminated */

    uint64_t cluster_id, member_id;         /* response header */
    int64_t  revision, raft_term;

    const char *error, *message; int code;  /* etcd's error body, when status != 200 */

    const etcd_kv *kvs; size_t nkvs;        /* get, readdir, txn range ops */
    int64_t count; bool more;

    const etcd_kv *prev_kv;                 /* set with prev_kv */
    int64_t deleted;                        /* delete, rmdir */
    const etcd_kv *prev_kvs; size_t nprev_kvs;

    bool succeeded;                         /* txn, setnx, setx */
    const etcd_res *responses; size_t nresponses; /* one per executed op, in order */

    bool created, canceled;                 /* watch messages */
    bool fragment;                          /* more events of this revision follow */
    int64_t watch_id, compact_revision;
    const char *cancel_reason;
    const etcd_event *events; size_t nevents;

    int64_t id, ttl, granted_ttl;           /* grant, keepalive, timetolive */
    const etcd_str *keys; size_t nkeys;     /* timetolive with keys */
    const int64_t *leases; size_t nleases;  /* leases */

    const char *etcdserver, *etcdcluster;   /* version */

    etcd_str lock_key;                      /* etcd_lock: the key that holds the lock */
    const etcd_leader_key *leader;          /* etcd_campaign */
    bool snapshot;                          /* mirror: these events are the current contents */
    bool reset;                             /* mirror: first page of a snapshot: drop every key held */

    /* Administration. Strings are never NULL ("" when etcd left them out). */
    const etcd_member *members; size_t nmembers;  /* member calls: every member after the call */
    const etcd_member *member;              /* etcd_member_add: the member added */
    const char *version;                    /* etcd_status: the member's etcd version */
    int64_t db_size, db_size_in_use;        /* etcd_status: database bytes allocated, in use */
    uint64_t leader_id;                     /* etcd_status: the leader, as that member sees it */
    uint64_t raft_index, raft_applied_index; /* etcd_status (its raftTerm is raft_term) */
    bool is_learner;                        /* etcd_status: the member answering is a learner */
    const etcd_str *errors; size_t nerrors; /* etcd_status: alarms and health, as etcd says them */
    uint64_t hash;                          /* etcd_hash, etcd_hash_kv (a uint32); hash_kv's
                                               compaction revision is compact_revision */
    int64_t hash_revision;                  /* etcd_hash_kv: the revision hashed (3.5) */
    const etcd_alarm *alarms; size_t nalarms; /* etcd_alarm_list, etcd_alarm_disarm */
    bool enabled;                           /* etcd_auth_status */
    uint64_t auth_revision;                 /* etcd_auth_status */
    const etcd_str *names; size_t nnames;   /* user and role lists; etcd_user_get: its roles */
    const etcd_perm *perms; size_t nperms;  /* etcd_role_get */
    int64_t snapshot_size;                  /* etcd_snapshot: bytes handed over (checksum included) */
    etcd_str blob;                          /* a /maintenance/snapshot message: its bytes */
    int64_t remaining_bytes;                /* ... and how many are still to come */
    int64_t lock_revision;                  /* etcd_lock, etcd_trylock: the fencing token, the
                                               lock key's create revision (0: not held) */
};

/* Free a result and everything it points to. NULL is fine. Only top-level
   results are freed; responses[] belong to their parent. */
ETCDDEF void etcd_res_free(etcd_res *res);

/* ------------------------------------------------------------------------
   >>kv
   ------------------------------------------------------------------------ */

enum { ETCD_SORT_NONE = 0, ETCD_SORT_ASCEND = 1, ETCD_SORT_DESCEND = 2 };      /* sort_order */
enum { ETCD_SORT_KEY = 0, ETCD_SORT_VERSION = 1, ETCD_SORT_CREATE = 2,          /* sort_target */
       ETCD_SORT_MOD = 3, ETCD_SORT_VALUE = 4 };

typedef struct etcd_get_opts {
    double  timeout;         /* 0: the client's */
    int64_t revision;        /* <= 0: newest */
    int64_t limit;           /* 0: no limit */
    int     sort_order;      /* ETCD_SORT_NONE (0), _ASCEND, _DESCEND */
    int     sort_target;     /* ETCD_SORT_KEY (0), _VERSION, _CREATE, _MOD, _VALUE */
    bool    keys_only, count_only, serializable;
    size_t  key_len;         /* 0: strlen(key); set it for keys holding NUL bytes */
    const char *range_end;   /* etcd_get: NULL: the key alone; "" (range_end_len 0):
                                every key from key on; else [key, range_end).
                                key_prefix goes before both ends. Not for a dir */
    size_t  range_end_len;   /* 0: strlen(range_end) */
    int64_t min_mod_revision, max_mod_revision;        /* 0: no bound; < 0 refused */
    int64_t min_create_revision, max_create_revision;  /* (not with pages) */
} etcd_get_opts;

typedef struct etcd_set_opts {
    double  timeout;
    int64_t lease;           /* attach this lease */
    bool    prev_kv, ignore_value, ignore_lease;
    size_t  val_len;         /* 0: strlen(val); set it for values holding NUL bytes */
    size_t  key_len;         /* 0: strlen(key) */
} etcd_set_opts;

typedef struct etcd_delete_opts {
    double  timeout;
    bool    prev_kv;
    size_t  key_len;         /* 0: strlen(key) */
    const char *range_end;   /* etcd_delete: as in etcd_get_opts */
    size_t  range_end_len;
} etcd_delete_opts;

/* key/dir get key_prefix prepended. An empty or NULL key fails with
   "key should not be empty"; an empty dir means every key under key_prefix.
   Keys are bytes: with opts->key_len they may hold NUL and 0xff bytes; a
   dir's range ends after the last byte that is not 0xff, plus one (a dir
   of 0xff bytes only: the end of the keyspace).
   setnx writes only if the key is absent, setx only if it exists; both are
   one txn and res->succeeded says whether the write happened. */
ETCDDEF etcd_res *etcd_get    (etcd *cli, const char *key, const etcd_get_opts *opts);
ETCDDEF etcd_res *etcd_readdir(etcd *cli, const char *dir, const etcd_get_opts *opts);
ETCDDEF etcd_res *etcd_set    (etcd *cli, const char *key, const char *val, const etcd_set_opts *opts);
ETCDDEF etcd_res *etcd_setnx  (etcd *cli, const char *key, const char *val, const etcd_set_opts *opts);
ETCDDEF etcd_res *etcd_setx   (etcd *cli, const char *key, const char *val, const etcd_set_opts *opts);
ETCDDEF etcd_res *etcd_delete (etcd *cli, const char *key, const etcd_delete_opts *opts);
ETCDDEF etcd_res *etcd_rmdir  (etcd *cli, const char *dir, const etcd_delete_opts *opts);

/* ------------------------------------------------------------------------
   >>watch
   ------------------------------------------------------------------------ */

enum { ETCD_FILTER_NOPUT = 1, ETCD_FILTER_NODELETE = 2 };  /* bits */

typedef struct etcd_watch_opts {
    double  timeout;         /* longest wait of one etcd_watch_next; 0: the client's;
                                < 0: wait forever */
    int64_t start_revision;  /* 0: now */
    bool    progress_notify, prev_kv, fragment;
    int     filters;         /* ETCD_FILTER_* bits */
    int64_t watch_id;
    bool    auto_resume;     /* a broken stream (EOF, reset, an error message from
                                etcd) is reopened from the newest revision delivered
                                + 1: no event lost or repeated. While it cannot be
                                reopened, etcd_watch_next keeps trying until its
                                timeout and says "timeout"; a resume point that was
                                compacted meanwhile comes back as a canceled message
                                with compact_revision. A revision split by fragment
                                and cut by a break is fetched again whole, minus the
                                events already delivered. */
    size_t  key_len;         /* 0: strlen(key) */
    double  stall_check;     /* with auto_resume (ignored without): after this many
                                seconds of silence on the stream, its member is asked
                                a small request on another connection; no answer: the
                                stream counts as broken and reopens on another member.
                                0: 10; < 0: never. A call that checks may take its
                                timeout + the client's timeout */
    const char *range_end;   /* etcd_watch: as in etcd_get_opts (copied) */
    size_t  range_end_len;
} etcd_watch_opts;

typedef struct etcd_watcher etcd_watcher;

/* Open a watch stream on its own connection (the client stays usable).
   Returns NULL with etcd_errstr(cli) set on failure. */
ETCDDEF etcd_watcher *etcd_watch     (etcd *cli, const char *key, const etcd_watch_opts *opts);
ETCDDEF etcd_watcher *etcd_watchdir  (etcd *cli, const char *dir, const etcd_watch_opts *opts);
/* Next whole message (the first has created = true); free it with
   etcd_res_free. NULL with etcd_watch_errstr(w) == "timeout" when nothing
   came in time (call again), or another reason when the stream ended. A
   canceled message (e.g. compact_revision set) is the stream's last. */
ETCDDEF etcd_res     *etcd_watch_next(etcd_watcher *w);
ETCDDEF const char   *etcd_watch_errstr(const etcd_watcher *w);
/* The class of etcd_watch_next's NULL: ETCD_ETIMEOUT means "nothing yet,
   call again"; anything else means the stream has ended. */
ETCDDEF etcd_err      etcd_watch_errcode(const etcd_watcher *w);
/* The socket, for poll()/select() (with opts.transport: the transport's
   handle); -1 while a broken stream awaits its
   reopening. A message may already be buffered, or a reopening be due:
   check etcd_watch_pending() before polling, and poll with a timeout
   (stall checks run inside etcd_watch_next). */
ETCDDEF int           etcd_watch_fd  (const etcd_watcher *w);
ETCDDEF bool          etcd_watch_pending(const etcd_watcher *w);
/* Close the stream at once and free w. NULL is fine. Returns 0. */
ETCDDEF int           etcd_watchcancel(etcd_watcher *w);
/* Whether w's stream is open, and for how long it has been in that state
   (*seconds, if not NULL). ETCD_ETIMEOUT from etcd_watch_next means
   "quiet" while LIVE, but "may be behind" while OPENING: e.g. a mirror
   whose member is gone is OPENING until auto_resume finds another. */
typedef enum {
    ETCD_WATCH_LIVE = 0,         /* a stream is open: events arrive as etcd sends them */
    ETCD_WATCH_SNAPSHOT = 1,     /* a mirror reads its snapshot: not yet current */
    ETCD_WATCH_OPENING = 2,      /* no stream: the next etcd_watch_next (re)opens it from
                                    the newest revision delivered + 1; nothing is lost */
    ETCD_WATCH_ENDED = 3         /* over: etcd_watch_errcode says why */
} etcd_stream_state;
ETCDDEF etcd_stream_state etcd_watch_state(const etcd_watcher *w, double *seconds);

/* ------------------------------------------------------------------------
   >>txn
   ------------------------------------------------------------------------ */

typedef enum { ETCD_CMP_EQUAL = 0, ETCD_CMP_GREATER = 1, ETCD_CMP_LESS = 2,
               ETCD_CMP_NOT_EQUAL = 3 } etcd_cmp_result;
typedef enum { ETCD_CMP_VERSION = 0, ETCD_CMP_CREATE = 1, ETCD_CMP_MOD = 2,
               ETCD_CMP_VALUE = 3, ETCD_CMP_LEASE = 4 } etcd_cmp_target;

typedef struct etcd_compare {
    etcd_cmp_result result;
    etcd_cmp_target target;
    const char *key, *range_end;                     /* range_end NULL: just key */
    int64_t version, create_revision, mod_revision, lease; /* the one target names */
    const char *value; size_t value_len;             /* ETCD_CMP_VALUE; serialized */
    size_t key_len, range_end_len;                   /* 0: strlen() of the string */
} etcd_compare;

typedef enum { ETCD_OP_RANGE = 0, ETCD_OP_PUT = 1, ETCD_OP_DELETE = 2 } etcd_op_type;

typedef struct etcd_op {
    etcd_op_type type;
    const char *key, *range_end;
    const char *value; size_t value_len;              /* PUT; serialized */
    int64_t lease;                                   /* PUT */
    bool prev_kv;                                    /* PUT, DELETE */
    int64_t limit, revision;                         /* RANGE */
    size_t key_len, range_end_len;                   /* 0: strlen() of the string */
    bool keys_only, count_only;                      /* RANGE */
    int sort_order, sort_target;                     /* RANGE: ETCD_SORT_* */
} etcd_op;

typedef struct etcd_txn_opts { double timeout; } etcd_txn_opts;

/* Keys and range_ends get key_prefix and base64; values go through the
   serializer (value_len 0: strlen). A range_end of "" is etcd's "\0":
   every key from key on, kept within key_prefix when there is one. */
ETCDDEF etcd_res *etcd_txn(etcd *cli, const etcd_compare *compare, size_t ncompare,
                           const etcd_op *success, size_t nsuccess,
                           const etcd_op *failure, size_t nfailure,
                           const etcd_txn_opts *opts);

/* ------------------------------------------------------------------------
   >>lease
   ------------------------------------------------------------------------ */

ETCDDEF etcd_res *etcd_grant     (etcd *cli, int64_t ttl, int64_t id);  /* id 0: etcd picks */
ETCDDEF etcd_res *etcd_revoke    (etcd *cli, int64_t id);   /* deletes the lease's keys */
ETCDDEF etcd_res *etcd_keepalive (etcd *cli, int64_t id);   /* res->ttl 0: lease gone */
ETCDDEF etcd_res *etcd_timetolive(etcd *cli, int64_t id, bool keys); /* ttl -1: unknown */
ETCDDEF etcd_res *etcd_leases    (etcd *cli);
ETCDDEF etcd_res *etcd_version   (etcd *cli);               /* GET /version */

/* ------------------------------------------------------------------------
   >>admin  compaction, members, maintenance, auth (see the README's
   "Administration"). Results as for any call: the fields at etcd_res's
   end. A call the server's release lacks in its gateway (3.4: hash_kv,
   auth_status, downgrade) fails with ETCD_ESERVER naming both.
   ------------------------------------------------------------------------ */

enum { ETCD_ALARM_NONE = 0, ETCD_ALARM_NOSPACE = 1, ETCD_ALARM_CORRUPT = 2 };
enum { ETCD_PERM_READ = 0, ETCD_PERM_WRITE = 1, ETCD_PERM_READWRITE = 2 };

/* Compact the history up to revision (> 0); physical: wait until the
   space is freed in the backend. */
ETCDDEF etcd_res *etcd_compact(etcd *cli, int64_t revision, bool physical);

/* Members: res->members is every member after the call. linearizable
   (etcd 3.5) reads through the leader. Learners: add with learner set,
   start the new etcd with the answer's member, promote it once it is in
   sync (etcd refuses before). etcd_member_update refuses a learner
   (ETCD_EARG): etcd would make it a voter. An id 0, or no peer URLs,
   is refused with nothing sent. */
ETCDDEF etcd_res *etcd_member_list   (etcd *cli, bool linearizable);
ETCDDEF etcd_res *etcd_member_add    (etcd *cli, const char *const *peer_urls, size_t n, bool learner);
ETCDDEF etcd_res *etcd_member_remove (etcd *cli, uint64_t id);
ETCDDEF etcd_res *etcd_member_update (etcd *cli, uint64_t id, const char *const *peer_urls, size_t n);
ETCDDEF etcd_res *etcd_member_promote(etcd *cli, uint64_t id);

/* Per member: endpoint is one of the client's endpoints as written in
   http_host, or a member's client URL from etcd_member_list; NULL: the
   next healthy endpoint. */
ETCDDEF etcd_res *etcd_status    (etcd *cli, const char *endpoint);
ETCDDEF etcd_res *etcd_defragment(etcd *cli, const char *endpoint);
ETCDDEF etcd_res *etcd_hash_kv   (etcd *cli, const char *endpoint, int64_t revision);  /* 0: newest */
ETCDDEF etcd_res *etcd_hash      (etcd *cli, const char *endpoint);   /* the whole backend (res->hash) */
ETCDDEF etcd_res *etcd_alarm_list  (etcd *cli);
ETCDDEF etcd_res *etcd_alarm_disarm(etcd *cli, uint64_t member_id, int alarm);  /* 0, 0: every alarm */
ETCDDEF etcd_res *etcd_move_leader (etcd *cli, uint64_t target_id);   /* sent to the leader */
/* etcd 3.5's cluster downgrade: validate or enable one to version ("3.4"),
   or cancel the one in progress (version NULL). res->version: the
   cluster's version. */
enum { ETCD_DOWNGRADE_VALIDATE = 0, ETCD_DOWNGRADE_ENABLE = 1, ETCD_DOWNGRADE_CANCEL = 2 };
ETCDDEF etcd_res *etcd_downgrade   (etcd *cli, int action, const char *version);

/* A backup of one member's database: the stream is handed to write() in
   order, with bounded memory (a message at a time); the call checks
   etcd's trailing sha256 (the stream's last 32 bytes) and fails
   (ETCD_EPROTO) on a mismatch or a short stream; write() returning
   non-zero stops it (ETCD_ECANCELED). res->snapshot_size: bytes handed
   over. etcd_snapshot_save writes path.part, fsyncs it, renames it to
   path: the whole file or nothing (refused with ETCD_NO_SOCKETS). Restore it with etcdutl (3.5) or
   etcdctl (3.4) snapshot restore. */
typedef int (*etcd_snapshot_fn)(void *arg, const void *data, size_t len);
ETCDDEF etcd_res *etcd_snapshot     (etcd *cli, const char *endpoint, etcd_snapshot_fn write, void *arg);
ETCDDEF etcd_res *etcd_snapshot_save(etcd *cli, const char *endpoint, const char *path);

/* Auth. Names are strings; permission keys are bytes taken as given (no
   key_prefix): range_end NULL is the key alone, "" every key from key on.
   With auth on, these need root's credentials in the client's options. */
ETCDDEF etcd_res *etcd_auth_enable (etcd *cli);           /* needs user root with role root */
ETCDDEF etcd_res *etcd_auth_disable(etcd *cli);
ETCDDEF etcd_res *etcd_auth_status (etcd *cli);           /* res->enabled, res->auth_revision */
ETCDDEF etcd_res *etcd_user_add    (etcd *cli, const char *name, const char *password); /* NULL: no password */
ETCDDEF etcd_res *etcd_user_get    (etcd *cli, const char *name);     /* res->names: its roles */
ETCDDEF etcd_res *etcd_user_list   (etcd *cli);                       /* res->names */
ETCDDEF etcd_res *etcd_user_delete (etcd *cli, const char *name);
ETCDDEF etcd_res *etcd_user_passwd (etcd *cli, const char *name, const char *password);
ETCDDEF etcd_res *etcd_user_grant_role (etcd *cli, const char *user, const char *role);
ETCDDEF etcd_res *etcd_user_revoke_role(etcd *cli, const char *user, const char *role);
ETCDDEF etcd_res *etcd_role_add    (etcd *cli, const char *name);
ETCDDEF etcd_res *etcd_role_get    (etcd *cli, const char *name);     /* res->perms */
ETCDDEF etcd_res *etcd_role_list   (etcd *cli);                       /* res->names */
ETCDDEF etcd_res *etcd_role_delete (etcd *cli, const char *name);
ETCDDEF etcd_res *etcd_role_grant  (etcd *cli, const char *role, int perm,
                                    const char *key, size_t key_len, const char *range_end, size_t range_end_len);
ETCDDEF etcd_res *etcd_role_revoke (etcd *cli, const char *role,
                                    const char *key, size_t key_len, const char *range_end, size_t range_end_len);

/* ------------------------------------------------------------------------
   >>recipes  paged readdir, lease keeper, locks, elections (see the README)
   ------------------------------------------------------------------------ */

/* Pages of opts->limit keys (0: 1000) under dir, in key order, all read at
   one revision (opts->revision, or the first page's); one page in memory
   at a time. Sort options are refused. etcd_pager_next: a page with
   nkvs > 0, or NULL: the end (etcd_errcode ETCD_OK) or a failure
   (ETCD_ECOMPACTED when the revision is compacted meanwhile). Free a pager
   before its client. */
typedef struct etcd_pager etcd_pager;
ETCDDEF etcd_pager *etcd_readdir_pages(etcd *cli, const char *dir, const etcd_get_opts *opts);
ETCDDEF etcd_res   *etcd_pager_next(etcd_pager *p);
ETCDDEF void        etcd_pager_free(etcd_pager *p);

/* A lease kept alive from the caller's loop, no thread: etcd_lease_keep
   grants it (id 0: etcd picks); call etcd_lease_tick when etcd_lease_due
   says (seconds; <= 0: now). A tick sends a keepalive once a third of the
   TTL passed since etcd last acknowledged one, and nothing otherwise; a
   failed keepalive is tried again at least once a second while the lease
   may live. Returns 0 (alive; a failed try leaves its error in errstr) or
   -1 once the lease is lost (expired, revoked, TTL 0): ETCD_ELOST, then -1
   at once on every later tick. It never grants a new lease. The grant and
   the keepalives go to an endpoint that is out of the rotation anyway
   (the one due back first): a lease does not wait for fail_timeout. */
typedef struct etcd_lease etcd_lease;
ETCDDEF etcd_lease *etcd_lease_keep(etcd *cli, int64_t ttl, int64_t id);
ETCDDEF int64_t     etcd_lease_id(const etcd_lease *l);
ETCDDEF double      etcd_lease_due(const etcd_lease *l);
ETCDDEF int         etcd_lease_tick(etcd_lease *l);
ETCDDEF void        etcd_lease_stop(etcd_lease *l, bool revoke);   /* frees l; NULL is fine */

/* A session: a kept lease that survives its loss. Keys registered with
   etcd_session_put live under the lease; when the lease is lost (etcd
   down past the TTL, a revoke from outside) etcd_session_tick says
   ETCD_SESSION_LOST once, then grants a new lease of the same TTL and
   puts every registered key back (binary-safe; values through the
   serializer), saying ETCD_SESSION_RECOVERED when all are back. Tick when
   etcd_session_due says (seconds; <= 0: now): a tick makes at most one
   request, so it never blocks longer than the client's timeout; a failed
   try is repeated within a second (a keepalive period if that is shorter)
   and leaves its error in errstr: the keys are back within one keepalive
   period of etcd's return. A member lost while the lease lives changes
   nothing: nothing is re-put. */
typedef struct etcd_session etcd_session;
typedef enum {
    ETCD_SESSION_OK = 0,         /* alive (or still recovering: nothing new to tell) */
    ETCD_SESSION_LOST = 1,       /* the lease is gone, and with it the keys: recovering */
    ETCD_SESSION_RECOVERED = 2   /* a new lease, every registered key put back under it */
} etcd_session_event;
ETCDDEF etcd_session *etcd_session_new(etcd *cli, int64_t ttl);      /* grants the lease */
/* Register key = val and put it under the lease now (key_len / val_len 0:
   strlen). 0, or -1 when the put failed (it is registered all the same
   and put by the next tick). A key registered again gets the new value. */
ETCDDEF int   etcd_session_put(etcd_session *s, const char *key, size_t key_len, const char *val, size_t val_len);
ETCDDEF double etcd_session_due(const etcd_session *s);
ETCDDEF etcd_session_event etcd_session_tick(etcd_session *s);
ETCDDEF int64_t etcd_session_lease(const etcd_session *s);        /* 0 while recovering */
ETCDDEF void  etcd_session_free(etcd_session *s, bool revoke);     /* NULL is fine */

/* etcd's lock and election services. name gets key_prefix; lock_key and
   leader keys are passed back exactly as returned. etcd_lock/etcd_campaign
   block until held or timeout (0: the client's); a timeout abandons the
   request and etcd removes the waiting key; waiting is not an endpoint
   failure. The lease is the caller's (a lease keeper's id): when it ends,
   so does the lock or the leadership. etcd_leader with no leader: a
   result with nkvs 0 (etcd's HTTP 500 "election: no leader" kept in
   status/error, not an endpoint failure). etcd_observe's messages carry
   the leader in kvs[0]; etcd answers an observer only once there is a
   leader, so etcd_observe returns when its request is sent and a refusal
   shows at the first etcd_watch_next; waiting for a leader is timeouts. */
ETCDDEF etcd_res *etcd_lock    (etcd *cli, const char *name, int64_t lease, double timeout);
ETCDDEF etcd_res *etcd_unlock  (etcd *cli, const char *lock_key, size_t lock_key_len);
ETCDDEF etcd_res *etcd_campaign(etcd *cli, const char *name, int64_t lease,
                                const char *value, size_t value_len, double timeout);
ETCDDEF etcd_res *etcd_proclaim(etcd *cli, const etcd_leader_key *leader, const char *value, size_t value_len);
ETCDDEF etcd_res *etcd_leader  (etcd *cli, const char *name);
ETCDDEF etcd_res *etcd_resign  (etcd *cli, const etcd_leader_key *leader);
ETCDDEF etcd_watcher *etcd_observe(etcd *cli, const char *name, const etcd_watch_opts *opts);

/* Fencing. A holder that pauses past its lease and then writes corrupts
   what the lock guards: put the guard among the compares of the txn that
   writes, and the write happens only while the lock (or the leadership)
   is still held. etcd_lock and etcd_trylock fill res->lock_revision, the
   fencing token. The guards point into lock / leader: keep them alive
   until the txn is sent; use them with the client that took the lock
   (its key_prefix is taken off, for etcd_txn to put back). */
ETCDDEF etcd_compare etcd_lock_guard(const etcd *cli, const etcd_res *lock);
ETCDDEF etcd_compare etcd_leader_guard(const etcd *cli, const etcd_leader_key *leader);
/* One attempt, at once: res->succeeded says whether the lock was taken
   (lock_key and lock_revision then set, as etcd_lock's; free it with
   etcd_unlock). Not taken (another lease holds it): succeeded false and
   nothing left behind. The same lease taking it again: taken. */
ETCDDEF etcd_res *etcd_trylock(etcd *cli, const char *name, int64_t lease);

/* A prefix kept in sync: a watchdir that starts with what is there.
   etcd_watch_next first returns the keys under dir as PUT events, pages of
   up to 1000 with snapshot set (more on every page but the last; reset on
   the first: drop every key held), then the changes from the snapshot's
   revision + 1, resumed across breaks (auto_resume). A resume point that
   was compacted gives a new snapshot (reset again), never an end: applying
   the messages in order always gives the prefix's contents. An empty dir
   gives one page with no events. start_revision is refused. */
ETCDDEF etcd_watcher *etcd_mirror(etcd *cli, const char *dir, const etcd_watch_opts *opts);

/* ------------------------------------------------------------------------
   >>request  >>json (public)
   ------------------------------------------------------------------------ */

/* POST json_body (NULL: "{}") to path under the api prefix, e.g.
   "/maintenance/status". timeout 0: the client's. */
ETCDDEF etcd_res *etcd_request(etcd *cli, const char *path, const char *json_body,
                               double timeout);
/* The same for a streaming path ("/watch", "/maintenance/snapshot", the
   next RPC etcd adds): its messages, one by one, from etcd_watch_next
   (each "result" unwrapped, as for a watch); never resumed (auto_resume
   and stall_check are ignored), and the end of the stream is the end:
   NULL with etcd_watch_errcode ETCD_OK. opts: its timeout, per message. */
ETCDDEF etcd_watcher *etcd_request_stream(etcd *cli, const char *path, const char *json_body,
                                          const etcd_watch_opts *opts);

typedef enum { ETCD_JSON_OBJECT = 1, ETCD_JSON_ARRAY, ETCD_JSON_STRING,
               ETCD_JSON_NUMBER, ETCD_JSON_TRUE, ETCD_JSON_FALSE,
               ETCD_JSON_NULL } etcd_json_type;

typedef struct etcd_json_tok {
    etcd_json_type type;
    size_t start, end;       /* byte span [start, end) in the text; strings
                                without their quotes and still escaped */
    size_t size;             /* members of an object, items of an array */
} etcd_json_tok;

#define ETCD_JSON_ENOMEM (-1)    /* more than ntoks tokens needed */
#define ETCD_JSON_EINVAL (-2)    /* not valid JSON (or nested too deep) */
#define ETCD_JSON_MAX_DEPTH 512

/* Tokenize text (strict RFC 8259, exactly one value, whitespace around it).
   Tokens come in document order, a container before its members, an
   object's keys as STRING tokens. Allocates nothing. toks NULL: only count.
   Returns the number of tokens, ETCD_JSON_ENOMEM or ETCD_JSON_EINVAL. */
ETCDDEF long etcd_json_parse(const char *text, size_t len, etcd_json_tok *toks, size_t ntoks);

#ifdef __cplusplus
}
#endif

#endif /* ETCD_H */
/* ======================== end of the header part ======================== */

#if defined(ETCD_IMPLEMENTATION) && !defined(ETCD__IMPLEMENTED)
#define ETCD__IMPLEMENTED

/* ------------------------------------------------------------------------
   >>config  includes, the allocator, caps, the one error setter
   ------------------------------------------------------------------------ */

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#ifndef ETCD_NO_SOCKETS
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#endif

#if defined(ETCD_MALLOC) && defined(ETCD_REALLOC) && defined(ETCD_FREE)
#elif !defined(ETCD_MALLOC) && !defined(ETCD_REALLOC) && !defined(ETCD_FREE)
#define ETCD_MALLOC(n)     malloc(n)
#define ETCD_REALLOC(p, n) realloc(p, n)
#define ETCD_FREE(p)       free(p)
#else
#error "etcd.h: define all or none of ETCD_MALLOC, ETCD_REALLOC, ETCD_FREE"
#endif

#if defined(ETCD_USE_OPENSSL) && defined(ETCD_USE_MBEDTLS)
#error "etcd.h: define ETCD_USE_OPENSSL or ETCD_USE_MBEDTLS, not both: one TLS backend serves https://"
#endif
#if defined(ETCD_USE_OPENSSL) || defined(ETCD_USE_MBEDTLS)
#define ETCD__TLS 1
#endif

#ifdef ETCD_USE_OPENSSL
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#endif

#ifdef ETCD_USE_MBEDTLS
#include <mbedtls/version.h>
#include <mbedtls/asn1.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>          /* MBEDTLS_ERR_NET_*: the transport's failures */
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#if MBEDTLS_VERSION_MAJOR >= 3 && defined(MBEDTLS_PSA_CRYPTO_C)
#include <psa/crypto.h>
#endif
#endif

#define ETCD__ERRLEN        256
#define ETCD__MAX_HEAD      (64u * 1024u)      /* response status line + headers */
#define ETCD__MAX_LINE      4096u              /* chunk-size line, trailer line */
#define ETCD__DEF_TIMEOUT   5.0
#define ETCD__DEF_MAXRESP   ((size_t)128 << 20)
#define ETCD__READ_STEP     4096u              /* opts.read_step's default */
#define ETCD__READ_MAX      (64u * 1024u)      /* reads grow to this within an answer */
#define ETCD__KEEP          (16u * 1024u)      /* a client's buffers beyond this go after a call */

static char etcd__empty[1] = "";   /* never written: the "" of omitted fields */

/* A failure: its class and its text, always set together. */
typedef struct etcd__error { etcd_err code; char msg[ETCD__ERRLEN]; } etcd__error;

/* The one setter of every failure. fmt's arguments must not point into e. */
static void etcd__errf(etcd__error *e, etcd_err code, const char *fmt, ...)
{
    va_list ap;
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
}

static void etcd__err_clear(etcd__error *e) { e->code = ETCD_OK; e->msg[0] = 0; }

/* The clock of cli's transport (>>options); deadlines are on it. */
static double etcd__now(const etcd *cli);

/* A deadline < 0 means "wait forever". */
static double etcd__deadline(const etcd *cli, double timeout)
{
    return timeout < 0 ? -1.0 : etcd__now(cli) + timeout;
}

static char *etcd__strndup(const char *s, size_t n)
{
    char *d = (char *)ETCD_MALLOC(n + 1);
    if (d) { memcpy(d, s, n); d[n] = 0; }
    return d;
}

/* ------------------------------------------------------------------------
   >>buf  growable byte buffer; an append failure is sticky (oom), so
   builders append freely and check once at the end
   ------------------------------------------------------------------------ */

typedef struct etcd__buf { char *p; size_t len, cap; bool oom; } etcd__buf;

static bool etcd__buf_reserve(etcd__buf *b, size_t extra)
{
    size_t want, cap;
    char *p;
    if (b->oom) return false;
    if (extra > (size_t)-1 - b->len - 1) { b->oom = true; return false; }
    want = b->len + extra + 1;              /* + 1: room for a NUL */
    if (want <= b->cap) return true;
    cap = b->cap ? b->cap : 256;
    while (cap < want) cap = cap > (size_t)-1 / 2 ? want : cap * 2;
    if (!b->len && b->p) {                  /* nothing to keep: no copy of the old bytes */
        ETCD_FREE(b->p);
        b->p = NULL;
        b->cap = 0;
    }
    p = (char *)ETCD_REALLOC(b->p, cap);
    if (!p) { b->oom = true; return false; }
    b->p = p; b->cap = cap;
    return true;
}

static void etcd__buf_add(etcd__buf *b, const void *p, size_t n)
{
    if (!etcd__buf_reserve(b, n)) return;
    if (n) memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void etcd__buf_str(etcd__buf *b, const char *s) { etcd__buf_add(b, s, strlen(s)); }

static void etcd__buf_fmt(etcd__buf *b, const char *fmt, ...)
{
    char tmp[128];
    int n;
    va_list ap;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) { b->oom = true; return; }
    etcd__buf_add(b, tmp, (size_t)n);
}

/* Decimal digits, without printf (on every request's path). */
static void etcd__buf_u64(etcd__buf *b, uint64_t u)
{
    char tmp[24], *p = tmp + sizeof tmp;
    do *--p = (char)('0' + u % 10); while (u /= 10);
    etcd__buf_add(b, p, (size_t)(tmp + sizeof tmp - p));
}

static void etcd__buf_i64(etcd__buf *b, int64_t v)
{
    if (v < 0) etcd__buf_add(b, "-", 1);
    etcd__buf_u64(b, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
}

static void etcd__buf_reset(etcd__buf *b) { b->len = 0; b->oom = false; if (b->p) b->p[0] = 0; }
static void etcd__buf_free(etcd__buf *b) { ETCD_FREE(b->p); b->p = NULL; b->len = b->cap = 0; }

/* Drop the first n bytes. */
static void etcd__buf_consume(etcd__buf *b, size_t n)
{
    if (n >= b->len) { b->len = 0; return; }
    memmove(b->p, b->p + n, b->len - n);
    b->len -= n;
}

/* Down to cap bytes when what it holds fits: memory a big message grew
   goes back. A failed shrink keeps the buffer as it was. */
static void etcd__buf_shrink(etcd__buf *b, size_t cap)
{
    char *p;
    if (b->cap <= cap || b->len >= cap) return;
    if (!b->len) { etcd__buf_free(b); return; }
    if ((p = (char *)ETCD_REALLOC(b->p, cap))) { b->p = p; b->cap = cap; }
}

/* ------------------------------------------------------------------------
   >>base64  standard alphabet, padded (what etcd's gateway uses)
   ------------------------------------------------------------------------ */

static const char etcd__b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void etcd__b64_encode(etcd__buf *b, const void *data, size_t n)
{
    const unsigned char *in = (const unsigned char *)data;
    char *o;
    size_t i;
    if (n > ((size_t)-1 / 4) * 3 - 3 || !etcd__buf_reserve(b, (n + 2) / 3 * 4)) {
        b->oom = true;
        return;
    }
    o = b->p + b->len;
    for (i = 0; i + 2 < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        *o++ = etcd__b64chars[v >> 18];
        *o++ = etcd__b64chars[v >> 12 & 63];
        *o++ = etcd__b64chars[v >> 6 & 63];
        *o++ = etcd__b64chars[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0u);
        *o++ = etcd__b64chars[v >> 18];
        *o++ = etcd__b64chars[v >> 12 & 63];
        *o++ = i + 1 < n ? etcd__b64chars[v >> 6 & 63] : '=';
        *o++ = '=';
    }
    b->len = (size_t)(o - b->p);
    b->p[b->len] = 0;
}

/* Each byte's 6 bits, or X (0x80 and up) for bytes outside the alphabet. */
#define X 255
static const unsigned char etcd__b64_bits[256] = {
    X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X, X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
      X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X, 62,  X,  X,  X, 63,
     52, 53, 54, 55, 56, 57, 58, 59, 60, 61,  X,  X,  X,  X,  X,  X,
      X,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
     15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,  X,  X,  X,  X,  X,
      X, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
     41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51,  X,  X,  X,  X,  X,
    X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X, X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
    X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X, X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
    X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X, X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
    X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X, X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,X,
};
#undef X

/* Decode n chars of in into out (out may equal in: output never overtakes
   input), four at a time. Padding is optional. Returns the decoded
   length, or -1 when in is not base64. */
static long etcd__b64_decode(unsigned char *out, const char *in, size_t n)
{
    const unsigned char *s = (const unsigned char *)in, *t = etcd__b64_bits;
    size_t i = 0, o = 0;
    unsigned v;
    size_t pad = 0;
    while (n > 0 && in[n - 1] == '=' && pad < 3) n--, pad++;
    if (n % 4 == 1 || (pad && ((n + pad) % 4 || pad > 2))) return -1;   /* padding: none or canonical */
    for (; i + 4 <= n; i += 4, o += 3) {
        unsigned a = t[s[i]], b = t[s[i + 1]], c = t[s[i + 2]], d = t[s[i + 3]];
        if ((a | b | c | d) & 0x80) return -1;
        v = a << 18 | b << 12 | c << 6 | d;
        out[o] = (unsigned char)(v >> 16);
        out[o + 1] = (unsigned char)(v >> 8);
        out[o + 2] = (unsigned char)v;
    }
    if (i < n) {                 /* 2 or 3 chars: 1 or 2 bytes */
        unsigned c = i + 2 < n ? t[s[i + 2]] : 0;
        if ((t[s[i]] | t[s[i + 1]] | c) & 0x80) return -1;
        if (i + 2 < n ? c & 3 : t[s[i + 1]] & 15) return -1;      /* bits past the end: 0, as encoded */
        v = (unsigned)t[s[i]] << 18 | (unsigned)t[s[i + 1]] << 12 | c << 6;
        out[o++] = (unsigned char)(v >> 16);
        if (i + 2 < n) out[o++] = (unsigned char)(v >> 8);
    }
    return (long)o;
}

/* ------------------------------------------------------------------------
   >>sha256  FIPS 180-4, for the snapshot's trailing checksum
   ------------------------------------------------------------------------ */

typedef struct etcd__sha256 {
    uint32_t h[8];
    uint64_t n;                  /* bytes hashed */
    unsigned char buf[64];
} etcd__sha256;

static const uint32_t etcd__sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

#define ETCD__ROR(x, n) ((x) >> (n) | (x) << (32 - (n)))

static void etcd__sha256_block(uint32_t h[8], const unsigned char *p)
{
    uint32_t w[64], v[8], t1, t2;
    int i;
    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (; i < 64; i++)
        w[i] = w[i - 16] + (ETCD__ROR(w[i - 15], 7) ^ ETCD__ROR(w[i - 15], 18) ^ w[i - 15] >> 3) + w[i - 7] +
               (ETCD__ROR(w[i - 2], 17) ^ ETCD__ROR(w[i - 2], 19) ^ w[i - 2] >> 10);
    memcpy(v, h, sizeof v);
    for (i = 0; i < 64; i++) {
        t1 = v[7] + (ETCD__ROR(v[4], 6) ^ ETCD__ROR(v[4], 11) ^ ETCD__ROR(v[4], 25)) +
             ((v[4] & v[5]) ^ (~v[4] & v[6])) + etcd__sha_k[i] + w[i];
        t2 = (ETCD__ROR(v[0], 2) ^ ETCD__ROR(v[0], 13) ^ ETCD__ROR(v[0], 22)) +
             ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
        memmove(v + 1, v, 7 * sizeof v[0]);
        v[4] += t1;
        v[0] = t1 + t2;
    }
    for (i = 0; i < 8; i++) h[i] += v[i];
}

static void etcd__sha256_init(etcd__sha256 *s)
{
    static const uint32_t h0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    memcpy(s->h, h0, sizeof h0);
    s->n = 0;
}

static void etcd__sha256_add(etcd__sha256 *s, const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t have = (size_t)(s->n % 64), take;
    s->n += n;
    if (have) {
        take = n < 64 - have ? n : 64 - have;
        memcpy(s->buf + have, p, take);
        p += take;
        n -= take;
        if (have + take < 64) return;
        etcd__sha256_block(s->h, s->buf);
    }
    for (; n >= 64; p += 64, n -= 64) etcd__sha256_block(s->h, p);
    memcpy(s->buf, p, n);
}

static void etcd__sha256_end(etcd__sha256 *s, unsigned char out[32])
{
    unsigned char pad[72];
    uint64_t bits = s->n * 8;
    size_t padlen = 64 - (size_t)(s->n % 64), i;
    if (padlen < 9) padlen += 64;
    memset(pad, 0, sizeof pad);
    pad[0] = 0x80;
    for (i = 0; i < 8; i++) pad[padlen - 1 - i] = (unsigned char)(bits >> (8 * i));
    etcd__sha256_add(s, pad, padlen);
    for (i = 0; i < 32; i++) out[i] = (unsigned char)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

/* ------------------------------------------------------------------------
   >>json  tokenizer (no allocation, spans into the text), scanning
   helpers, writer for request bodies
   ------------------------------------------------------------------------ */

typedef struct etcd__jp {
    const char *s; size_t len, pos;
    etcd_json_tok *toks; size_t ntoks, count;
    long open;                                  /* innermost open container token */
    unsigned depth;
    unsigned char kinds[ETCD_JSON_MAX_DEPTH / 8]; /* bit set: that level is an object */
} etcd__jp;

static void etcd__ws(const char *s, size_t len, size_t *pos)
{
    while (*pos < len && (s[*pos] == ' ' || s[*pos] == '\t' || s[*pos] == '\n' || s[*pos] == '\r'))
        (*pos)++;
}

static bool etcd__ishex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Length of a valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t etcd__utf8_len(const unsigned char *s, size_t n)
{
    size_t len, i;
    unsigned cp;
    if (s[0] < 0x80) return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) { len = 2; cp = s[0] & 0x1Fu; }
    else if (s[0] >= 0xE0 && s[0] <= 0xEF) { len = 3; cp = s[0] & 0x0Fu; }
    else if (s[0] >= 0xF0 && s[0] <= 0xF4) { len = 4; cp = s[0] & 0x07u; }
    else return 0;
    if (n < len) return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* s[*pos] is the opening quote; on success *pos is past the closing one. */
static bool etcd__scan_string(const char *s, size_t len, size_t *pos)
{
    size_t i = *pos + 1;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') { i++; continue; }   /* most bytes */
        if (c == '"') { *pos = i + 1; return true; }
        if (c < 0x20) return false;
        if (c == '\\') {
            if (++i >= len) return false;
            c = (unsigned char)s[i];
            if (c == 'u') {
                if (len - i < 5 || !etcd__ishex(s[i + 1]) || !etcd__ishex(s[i + 2]) ||
                    !etcd__ishex(s[i + 3]) || !etcd__ishex(s[i + 4]))
                    return false;
                i += 5;
            } else if (strchr("\"\\/bfnrt", c) && c) {
                i++;
            } else {
                return false;
            }
        } else {
            size_t n = etcd__utf8_len((const unsigned char *)s + i, len - i);
            if (!n) return false;
            i += n;
        }
    }
    return false;
}

static bool etcd__isdigit(char c) { return c >= '0' && c <= '9'; }

static bool etcd__scan_number(const char *s, size_t len, size_t *pos)
{
    size_t i = *pos;
    if (i < len && s[i] == '-') i++;
    if (i >= len || !etcd__isdigit(s[i])) return false;
    if (s[i] == '0') i++;
    else while (i < len && etcd__isdigit(s[i])) i++;
    if (i < len && s[i] == '.') {
        if (++i >= len || !etcd__isdigit(s[i])) return false;
        while (i < len && etcd__isdigit(s[i])) i++;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= len || !etcd__isdigit(s[i])) return false;
        while (i < len && etcd__isdigit(s[i])) i++;
    }
    *pos = i;
    return true;
}

/* Records a token (unless only counting) and counts it as a member of the
   open container. While a container is open its `end` holds its parent's
   index + 1, so no stack is needed to find the parent again. */
static long etcd__jp_push(etcd__jp *p, etcd_json_type type, size_t start, size_t end)
{
    etcd_json_tok *t;
    if (p->toks) {
        if (p->count >= p->ntoks) return ETCD_JSON_ENOMEM;
        t = &p->toks[p->count];
        t->type = type; t->start = start; t->end = end; t->size = 0;
    }
    return (long)p->count++;
}

static void etcd__jp_member(etcd__jp *p)
{
    if (p->toks && p->open >= 0) p->toks[p->open].size++;
}

static bool etcd__jp_in_object(const etcd__jp *p)
{
    unsigned d = p->depth - 1;
    return p->depth > 0 && (p->kinds[d / 8] >> (d % 8) & 1);
}

static long etcd__jp_open(etcd__jp *p, bool object)
{
    long i;
    unsigned d = p->depth;
    if (d >= ETCD_JSON_MAX_DEPTH) return ETCD_JSON_EINVAL;
    i = etcd__jp_push(p, object ? ETCD_JSON_OBJECT : ETCD_JSON_ARRAY, p->pos, 0);
    if (i < 0) return i;
    if (p->toks) { p->toks[i].end = (size_t)(p->open + 1); p->open = i; }
    if (object) p->kinds[d / 8] = (unsigned char)(p->kinds[d / 8] | 1u << (d % 8));
    else p->kinds[d / 8] = (unsigned char)(p->kinds[d / 8] & ~(1u << (d % 8)));
    p->depth++;
    p->pos++;
    return 0;
}

static void etcd__jp_close(etcd__jp *p)
{
    if (p->toks) {
        etcd_json_tok *t = &p->toks[p->open];
        p->open = (long)t->end - 1;
        t->end = p->pos + 1;
    }
    p->depth--;
    p->pos++;
}

/* One scalar or the opening of a container at p->pos. */
static long etcd__jp_value(etcd__jp *p)
{
    const char *s = p->s;
    size_t start = p->pos;
    if (start >= p->len) return ETCD_JSON_EINVAL;
    if (!etcd__jp_in_object(p)) etcd__jp_member(p);   /* keys count in objects */
    switch (s[start]) {
    case '{': return etcd__jp_open(p, true);
    case '[': return etcd__jp_open(p, false);
    case '"':
        if (!etcd__scan_string(s, p->len, &p->pos)) return ETCD_JSON_EINVAL;
        return etcd__jp_push(p, ETCD_JSON_STRING, start + 1, p->pos - 1);
    case 't': case 'f': case 'n': {
        static const char *const lit[] = { "true", "false", "null" };
        static const etcd_json_type typ[] = { ETCD_JSON_TRUE, ETCD_JSON_FALSE, ETCD_JSON_NULL };
        int k = s[start] == 't' ? 0 : s[start] == 'f' ? 1 : 2;
        size_t n = strlen(lit[k]);
        if (p->len - start < n || memcmp(s + start, lit[k], n) != 0) return ETCD_JSON_EINVAL;
        p->pos += n;
        return etcd__jp_push(p, typ[k], start, p->pos);
    }
    default:
        if (!etcd__scan_number(s, p->len, &p->pos)) return ETCD_JSON_EINVAL;
        return etcd__jp_push(p, ETCD_JSON_NUMBER, start, p->pos);
    }
}

/* An object key and its colon. */
static long etcd__jp_key(etcd__jp *p)
{
    size_t start = p->pos;
    long r;
    if (start >= p->len || p->s[start] != '"') return ETCD_JSON_EINVAL;
    if (!etcd__scan_string(p->s, p->len, &p->pos)) return ETCD_JSON_EINVAL;
    etcd__jp_member(p);
    r = etcd__jp_push(p, ETCD_JSON_STRING, start + 1, p->pos - 1);
    if (r < 0) return r;
    etcd__ws(p->s, p->len, &p->pos);
    if (p->pos >= p->len || p->s[p->pos] != ':') return ETCD_JSON_EINVAL;
    p->pos++;
    etcd__ws(p->s, p->len, &p->pos);
    return 0;
}

/* After a value or an opening bracket: commas, closing brackets, the end. */
static long etcd__jp_after(etcd__jp *p, bool just_opened, bool *want_key, bool *done)
{
    for (;;) {
        char c;
        etcd__ws(p->s, p->len, &p->pos);
        if (p->depth == 0) { *done = true; return p->pos == p->len ? 0 : ETCD_JSON_EINVAL; }
        if (p->pos >= p->len) return ETCD_JSON_EINVAL;
        c = p->s[p->pos];
        if (c == (etcd__jp_in_object(p) ? '}' : ']')) { etcd__jp_close(p); just_opened = false; continue; }
        if (!just_opened) {
            if (c != ',') return ETCD_JSON_EINVAL;
            p->pos++;
            etcd__ws(p->s, p->len, &p->pos);
        }
        *want_key = etcd__jp_in_object(p);
        return 0;
    }
}

ETCDDEF long etcd_json_parse(const char *text, size_t len, etcd_json_tok *toks, size_t ntoks)
{
    etcd__jp p;
    bool done = false, want_key = false;
    long r;
    memset(&p, 0, sizeof p);
    p.s = text; p.len = len; p.toks = toks; p.ntoks = ntoks; p.open = -1;
    if (!text) return ETCD_JSON_EINVAL;
    etcd__ws(text, len, &p.pos);
    while (!done) {
        unsigned depth = p.depth;
        r = want_key ? etcd__jp_key(&p) : 0;
        if (r >= 0) r = etcd__jp_value(&p);
        if (r < 0) return r;
        r = etcd__jp_after(&p, p.depth > depth, &want_key, &done);
        if (r < 0) return r;
    }
    return (long)p.count;
}

static int etcd__hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return c - 'A' + 10;
}

static unsigned etcd__hex4(const char *s)
{
    return (unsigned)(etcd__hexval(s[0]) << 12 | etcd__hexval(s[1]) << 8 |
                      etcd__hexval(s[2]) << 4 | etcd__hexval(s[3]));
}

static size_t etcd__put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | (cp >> 6 & 63));
        o[2] = (char)(0x80 | (cp & 63)); return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | (cp >> 12 & 63));
    o[2] = (char)(0x80 | (cp >> 6 & 63)); o[3] = (char)(0x80 | (cp & 63));
    return 4;
}

/* Unescape the (already validated) JSON string body s[0..n) into o, which
   has room for n bytes: escapes never expand. Lone surrogates become
   U+FFFD. Returns the length written. */
static size_t etcd__json_unescape(char *o, const char *s, size_t n)
{
    size_t i = 0, k = 0;
    while (i < n) {
        char c = s[i++];
        if (c != '\\') { o[k++] = c; continue; }
        c = s[i++];
        switch (c) {
        case 'b': o[k++] = '\b'; break;
        case 'f': o[k++] = '\f'; break;
        case 'n': o[k++] = '\n'; break;
        case 'r': o[k++] = '\r'; break;
        case 't': o[k++] = '\t'; break;
        case 'u': {
            unsigned cp = etcd__hex4(s + i);
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && n - i >= 6 && s[i] == '\\' && s[i + 1] == 'u') {
                unsigned lo = etcd__hex4(s + i + 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
            k += etcd__put_utf8(o + k, cp);
            break;
        }
        default: o[k++] = c; break;      /* \" \\ \/ */
        }
    }
    return k;
}

/* Exact int64 from etcd's "123" strings or plain numbers; no doubles. */
static bool etcd__parse_i64(const char *s, size_t n, int64_t *out)
{
    uint64_t v = 0, lim;
    size_t i = 0;
    bool neg = false;
    if (n > 0 && s[0] == '-') { neg = true; i = 1; }
    if (i == n) return false;
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9 || (v >= 922337203685477580u && v > (lim - d) / 10)) return false;   /* 18 digits never overflow */
        v = v * 10 + d;
    }
    *out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return true;
}

static bool etcd__parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;
    if (n == 0) return false;
    for (i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9 || (v >= 1844674407370955161u && v > (UINT64_MAX - d) / 10)) return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* Writer for request bodies: the comma goes in front of every member but
   the first of its container. */
static void etcd__j_name(etcd__buf *b, const char *name)
{
    if (b->len && b->p[b->len - 1] != '{' && b->p[b->len - 1] != '[') etcd__buf_add(b, ",", 1);
    if (name) { etcd__buf_add(b, "\"", 1); etcd__buf_str(b, name); etcd__buf_add(b, "\":", 2); }
}

static void etcd__j_open(etcd__buf *b, const char *name, char bracket)
{
    etcd__j_name(b, name);
    etcd__buf_add(b, &bracket, 1);
}

static void etcd__j_close(etcd__buf *b, char bracket) { etcd__buf_add(b, &bracket, 1); }

/* int64 as a JSON string, like etcd itself: exact beyond 2^53. */
static void etcd__j_i64(etcd__buf *b, const char *name, int64_t v)
{
    etcd__j_name(b, name);
    etcd__buf_add(b, "\"", 1);
    etcd__buf_i64(b, v);
    etcd__buf_add(b, "\"", 1);
}

/* uint64 (member ids) as a JSON string of its digits. */
static void etcd__j_u64(etcd__buf *b, const char *name, uint64_t v)
{
    etcd__j_name(b, name);
    etcd__buf_add(b, "\"", 1);
    etcd__buf_u64(b, v);
    etcd__buf_add(b, "\"", 1);
}

static void etcd__j_true(etcd__buf *b, const char *name)
{
    etcd__j_name(b, name);
    etcd__buf_str(b, "true");
}

static void etcd__j_b64(etcd__buf *b, const char *name, const void *p, size_t n)
{
    etcd__j_name(b, name);
    etcd__buf_add(b, "\"", 1);
    etcd__b64_encode(b, p, n);
    etcd__buf_add(b, "\"", 1);
}

/* A JSON string from bytes: quotes, backslashes and control bytes escaped. */
static void etcd__j_str(etcd__buf *b, const char *name, const char *s)
{
    etcd__j_name(b, name);
    etcd__buf_add(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') { etcd__buf_add(b, "\\", 1); etcd__buf_add(b, s, 1); }
        else if (c < 0x20) etcd__buf_fmt(b, "\\u%04x", c);
        else etcd__buf_add(b, s, 1);
    }
    etcd__buf_add(b, "\"", 1);
}

/* Append valid JSON text v without the whitespace between tokens: the
   bytes lua-resty-etcd's cjson would store for the same value. */
static void etcd__json_minify(etcd__buf *b, const char *v, size_t n)
{
    size_t i = 0, run;
    if (!etcd__buf_reserve(b, n)) return;
    while (i < n) {
        char c = v[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') { i++; continue; }
        run = i + 1;
        if (c == '"') {
            while (v[run] != '"') run += v[run] == '\\' ? 2 : 1;
            run++;
        }
        memcpy(b->p + b->len, v + i, run - i);
        b->len += run - i;
        i = run;
    }
    b->p[b->len] = 0;
}

/* Finds whole JSON objects or arrays in a growing stream buffer (a brace
   counter that skips strings). It resumes where the last call stopped, so
   a big message arriving in many reads is scanned once. */
typedef struct etcd__split { size_t pos, start; long depth; bool in_str, esc; } etcd__split;

/* Returns 1 with the message at [*start, *end) (then reset the state and
   drop those bytes), 0 when more bytes are needed, -1 when the stream holds
   something that is not an object or array. */
static int etcd__json_next(etcd__split *sp, const char *s, size_t n, size_t *start, size_t *end)
{
    size_t i = sp->pos;
    if (sp->depth == 0) {
        etcd__ws(s, n, &i);
        sp->pos = i;
        if (i == n) return 0;
        if (s[i] != '{' && s[i] != '[') return -1;
        sp->start = i;
    }
    for (; i < n; i++) {
        char c = s[i];
        if (sp->esc) sp->esc = false;
        else if (sp->in_str) {                   /* jump to the string's next quote or backslash */
            const char *q = (const char *)memchr(s + i, '"', n - i), *b;
            b = (const char *)memchr(s + i, '\\', (size_t)((q ? q : s + n) - (s + i)));
            if (b) { i = (size_t)(b - s); sp->esc = true; }
            else if (q) { i = (size_t)(q - s); sp->in_str = false; }
            else i = n - 1;
        }
        else if (c == '"') sp->in_str = true;
        else if (c == '{' || c == '[') sp->depth++;
        else if ((c == '}' || c == ']') && --sp->depth == 0) {
            *start = sp->start;
            *end = i + 1;
            memset(sp, 0, sizeof *sp);
            return 1;
        }
    }
    sp->pos = i;
    return 0;
}

/* ------------------------------------------------------------------------
   >>body  a request body being written: its JSON, a scratch buffer for
   a key or a value on its way into it, and one failure for both
   ------------------------------------------------------------------------ */

typedef struct etcd__jw {
    etcd__buf json;              /* the body */
    etcd__buf tmp;               /* key_prefix + a key, a minified value */
    const char *key_prefix;      /* the client's, or NULL */
    bool json_values;            /* the JSON serializer: values are minified */
} etcd__jw;

/* A new body: "{" and what etcd__j_* append; closed by whoever sends it. */
static void etcd__jw_begin(etcd__jw *w)
{
    etcd__buf_reset(&w->json);
    etcd__buf_reset(&w->tmp);
    etcd__buf_add(&w->json, "{", 1);
}

/* The scratch buffer, emptied; a failure in it stays, for etcd__jw_ok. */
static etcd__buf *etcd__jw_tmp(etcd__jw *w)
{
    w->tmp.len = 0;
    return &w->tmp;
}

static bool etcd__jw_ok(const etcd__jw *w) { return !w->json.oom && !w->tmp.oom; }

static void etcd__jw_free(etcd__jw *w)
{
    etcd__buf_free(&w->json);
    etcd__buf_free(&w->tmp);
}

/* ------------------------------------------------------------------------
   >>net  connections over the client's transport (etcd_transport): POSIX
   sockets, or the caller's. Reads and writes never block; every wait is
   the transport's wait(), bounded by the request's deadline
   ------------------------------------------------------------------------ */

typedef struct etcd__conn etcd__conn;

/* How bytes move on a connection: plain here; TLS plugs in the same way.
   read/write return bytes moved, 0 on EOF (read), ETCD_IO_AGAIN with
   c->want set to the events to wait for, or -1 with err set. */
typedef struct etcd__io {
    long (*read)(etcd__conn *c, char *buf, size_t n, etcd__error *err);
    long (*write)(etcd__conn *c, const char *buf, size_t n, etcd__error *err);
    void (*close)(etcd__conn *c);
    bool (*stale)(etcd__conn *c);           /* an idle connection that cannot be reused */
    size_t (*pending)(const etcd__conn *c); /* bytes read from the transport, not yet by us */
} etcd__io;

struct etcd__conn {
    int fd;                      /* the transport's handle; -1: closed */
    const etcd_transport *tr;
    const etcd__io *io;
    void *tls;                   /* the TLS backend's connection */
    int want;                    /* ETCD_IO_READ or ETCD_IO_WRITE */
    size_t step, step0;          /* bytes the next read asks for; what an answer starts with */
    unsigned requests;           /* answered on this connection: > 0 means reused */
    bool waited;                 /* the last read drained the transport: wait before the next */
    etcd__buf in;                /* received, not yet consumed: [off, in.len) */
    size_t off;
};

/* A transport's failure; errno is cleared before each call, so a hook
   that sets none is said to have failed, not blamed on an old errno. */
static void etcd__io_fail(etcd__error *err, etcd_err code, const char *what)
{
    etcd__errf(err, code, "%s: %s", what, errno ? strerror(errno) : "the transport failed");
}

/* What a transport's read or write (the events it waits for: want)
   gave, in the etcd__io convention. */
static long etcd__plain_moved(etcd__conn *c, long r, int want, const char *what, etcd__error *err)
{
    if (r >= 0) return r;
    if (r == ETCD_IO_AGAIN) { c->want = want; return r; }
    etcd__io_fail(err, ETCD_ETRANSPORT, what);
    return -1;
}

static long etcd__plain_read(etcd__conn *c, char *buf, size_t n, etcd__error *err)
{
    errno = 0;
    return etcd__plain_moved(c, c->tr->read(c->tr->ctx, c->fd, buf, n), ETCD_IO_READ, "read", err);
}

static long etcd__plain_write(etcd__conn *c, const char *buf, size_t n, etcd__error *err)
{
    errno = 0;
    return etcd__plain_moved(c, c->tr->write(c->tr->ctx, c->fd, buf, n), ETCD_IO_WRITE, "write", err);
}

static void etcd__plain_close(etcd__conn *c) { c->tr->close(c->tr->ctx, c->fd); }

static bool etcd__readable_now(const etcd__conn *c)
{
    return c->tr->wait(c->tr->ctx, c->fd, ETCD_IO_READ, 0) != 0;
}

/* An idle keep-alive connection that is readable was closed by the server
   (or holds junk): either way it cannot carry the next request. */
static bool etcd__plain_stale(etcd__conn *c) { return c->off < c->in.len || etcd__readable_now(c); }

static size_t etcd__plain_pending(const etcd__conn *c) { (void)c; return 0; }

static const etcd__io etcd__plain_io = { etcd__plain_read, etcd__plain_write, etcd__plain_close,
                                         etcd__plain_stale, etcd__plain_pending };

/* The unconsumed input; never NULL, so no arithmetic on a NULL pointer. */
static const char *etcd__conn_data(const etcd__conn *c)
{
    return c->in.p ? c->in.p + c->off : etcd__empty;
}

static void etcd__conn_init(etcd__conn *c)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

static void etcd__conn_close(etcd__conn *c)
{
    if (c->fd >= 0) c->io->close(c);
    c->fd = -1;
    c->tls = NULL;
    c->requests = 0;
    c->waited = false;
    c->in.len = c->off = 0;
    c->in.oom = false;           /* a failed allocation must not poison the next connection */
}

static void etcd__conn_free(etcd__conn *c)
{
    etcd__conn_close(c);
    etcd__buf_free(&c->in);
}

/* Wait until c is ready for events or the deadline passes ("timeout"). */
static int etcd__wait(const etcd__conn *c, int events, double deadline, etcd__error *err)
{
    int r;
    errno = 0;
    r = c->tr->wait(c->tr->ctx, c->fd, events, deadline);
    if (r > 0) return 0;
    if (r == 0) etcd__errf(err, ETCD_ETIMEOUT, "timeout");
    else etcd__io_fail(err, ETCD_ETRANSPORT, "wait");
    return -1;
}

/* *sent counts the bytes handed to the transport: 0 after a failure means
   the peer cannot have seen any of the request. */
static int etcd__conn_write(etcd__conn *c, const char *p, size_t n, double deadline, size_t *sent, etcd__error *err)
{
    *sent = 0;
    while (n > 0) {
        long r = c->io->write(c, p, n, err);
        if (r == ETCD_IO_AGAIN) {
            if (etcd__wait(c, c->want, deadline, err) < 0) return -1;
            continue;
        }
        if (r < 0) return -1;
        if (r == 0) {                         /* would loop for ever, past the deadline */
            etcd__errf(err, ETCD_ETRANSPORT, "write: the transport accepted nothing");
            return -1;
        }
        p += r;
        n -= (size_t)r;
        *sent += (size_t)r;
    }
    return 0;
}

/* Read more bytes into c->in. Returns the count, 0 on EOF, -1 on error.
   A read that fills its step makes the next ETCD__READ_MAX: a big answer
   comes in big reads (one growth of the buffer), a small one costs a
   small buffer. */
static long etcd__conn_fill(etcd__conn *c, double deadline, etcd__error *err)
{
    if (!c->step) c->step = c->step0 = ETCD__READ_STEP;
    if (c->off == c->in.len) c->in.len = c->off = 0;
    else if (c->off > 0 && c->in.cap - c->in.len <= c->step) {
        etcd__buf_consume(&c->in, c->off);
        c->off = 0;
    }
    if (!etcd__buf_reserve(&c->in, c->step - 1)) { etcd__errf(err, ETCD_ENOMEM, "out of memory"); return -1; }
    /* answers and stream messages mostly arrive after we ask: one wait
       then one read, not a read that finds nothing first */
    if (c->waited && !c->io->pending(c) && etcd__wait(c, ETCD_IO_READ, deadline, err) < 0) return -1;
    for (;;) {
        size_t room = c->in.cap - c->in.len - 1;
        long r = c->io->read(c, c->in.p + c->in.len, room, err);
        if (r == ETCD_IO_AGAIN) {
            if (etcd__wait(c, c->want, deadline, err) < 0) return -1;
            continue;
        }
        c->waited = r > 0 && (size_t)r < room;   /* a short read drained the transport: wait first next time */
        if (r > 0) c->in.len += (size_t)r;
        if (r > 0 && (size_t)r == room) c->step = ETCD__READ_MAX;
        return r;
    }
}

/* An answer (or a message) read whole: reads start small again, and a
   buffer a big one grew is given back, keeping what came after it. */
static void etcd__conn_rest(etcd__conn *c)
{
    c->step = c->step0;
    if (c->in.cap <= c->step0) return;
    etcd__buf_consume(&c->in, c->off);
    c->off = 0;
    etcd__buf_shrink(&c->in, c->step0);
}

/* A transport of the caller's connects; its failure becomes ours. */
static int etcd__hook_connect(const etcd_transport *tr, const char *host, int port, double deadline,
                              etcd__error *err)
{
    int fd, e;
    bool late;
    errno = 0;
    fd = tr->connect(tr->ctx, host, port, deadline);
    if (fd >= 0) return fd;
    e = errno;                              /* before now() may change it */
    late = deadline >= 0 && tr->now(tr->ctx) >= deadline;
#ifdef ETIMEDOUT                            /* POSIX, not C99: a board's libc may lack it */
    late = late || e == ETIMEDOUT;
#endif
    if (late) etcd__errf(err, ETCD_ETIMEOUT, "timeout");
    else etcd__errf(err, ETCD_ECONNECT, "connect: %s", e ? strerror(e) : "the transport failed");
    return -1;
}

#ifndef ETCD_NO_SOCKETS

/* POSIX sockets as the default etcd_transport. Its connect is NULL: the
   client calls etcd__sock_open, whose failures say more than an errno. */

#ifdef MSG_NOSIGNAL
#define ETCD__SEND_FLAGS MSG_NOSIGNAL
#elif defined(SO_NOSIGPIPE)
#define ETCD__SEND_FLAGS 0            /* SO_NOSIGPIPE is set on the socket instead */
#else
#error "etcd.h: neither MSG_NOSIGNAL nor SO_NOSIGPIPE: a closed peer would raise SIGPIPE"
#endif

static double etcd__sock_now(void *ctx)
{
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long etcd__sock_read(void *ctx, int fd, void *buf, size_t n)
{
    ssize_t r;
    (void)ctx;
    do r = recv(fd, buf, n, 0); while (r < 0 && errno == EINTR);
    return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? ETCD_IO_AGAIN : (long)r;
}

static long etcd__sock_write(void *ctx, int fd, const void *buf, size_t n)
{
    ssize_t r;
    (void)ctx;
    do r = send(fd, buf, n, ETCD__SEND_FLAGS); while (r < 0 && errno == EINTR);
    return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? ETCD_IO_AGAIN : (long)r;
}

static int etcd__poll_ms(double deadline)
{
    double left;
    if (deadline < 0) return -1;
    left = deadline - etcd__sock_now(NULL);
    if (left <= 0) return 0;
    return left > 86400.0 ? 86400000 : (int)(left * 1000.0) + 1;
}

static int etcd__sock_wait(void *ctx, int fd, int events, double deadline)
{
    (void)ctx;
    for (;;) {
        struct pollfd p;
        int r;
        p.fd = fd;
        p.events = (short)((events & ETCD_IO_READ ? POLLIN : 0) | (events & ETCD_IO_WRITE ? POLLOUT : 0));
        p.revents = 0;
        r = poll(fd < 0 ? NULL : &p, fd < 0 ? 0 : 1, etcd__poll_ms(deadline));
        if (r >= 0) return r > 0;
        if (errno != EINTR) return -1;
    }
}

static void etcd__sock_close(void *ctx, int fd) { (void)ctx; close(fd); }

static const etcd_transport etcd__sockets = { NULL, NULL, etcd__sock_read, etcd__sock_write,
                                              etcd__sock_wait, etcd__sock_close, etcd__sock_now };

static int etcd__socket(int family, etcd__error *err)
{
    int fd = socket(family, SOCK_STREAM, 0), one = 1;
    if (fd < 0) { etcd__errf(err, ETCD_ECONNECT, "socket: %s", strerror(errno)); return -1; }
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
        etcd__errf(err, ETCD_ECONNECT, "fcntl: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (family != AF_UNIX) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
#ifdef SO_NOSIGPIPE
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    (void)one;
    return fd;
}

static int etcd__connect_addr(const struct sockaddr *sa, socklen_t salen, double deadline, etcd__error *err)
{
    int fd = etcd__socket(sa->sa_family, err), soerr = 0, r;
    socklen_t len = sizeof soerr;
    if (fd < 0) return -1;
    if (connect(fd, sa, salen) == 0) return fd;
    if (errno != EINPROGRESS && errno != EINTR) {
        etcd__errf(err, ETCD_ECONNECT, "connect: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if ((r = etcd__sock_wait(NULL, fd, ETCD_IO_WRITE, deadline)) <= 0) {
        if (r == 0) etcd__errf(err, ETCD_ETIMEOUT, "timeout");
        else etcd__errf(err, ETCD_ECONNECT, "poll: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0) soerr = errno;
    if (soerr) {
        etcd__errf(err, ETCD_ECONNECT, "connect: %s", strerror(soerr));
        close(fd);
        return -1;
    }
    return fd;
}

/* Every address of host in turn until one answers or the deadline passes. */
static int etcd__connect_tcp(const char *host, const char *port, double deadline, etcd__error *err)
{
    struct addrinfo hints, *res = NULL, *ai;
    int fd = -1, rc;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        etcd__errf(err, ETCD_ECONNECT, "resolve %s: %s", host, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = etcd__connect_addr(ai->ai_addr, ai->ai_addrlen, deadline, err);
        if (fd < 0 && err->code == ETCD_ETIMEOUT) break;
    }
    freeaddrinfo(res);
    return fd;
}

/* Through the unix socket proxy when its file exists, else over TCP. */
static int etcd__sock_open(const char *sock, const char *host, const char *port, double deadline, etcd__error *err)
{
    struct sockaddr_un sa;
    struct stat st;
    if (!sock || stat(sock, &st) != 0) return etcd__connect_tcp(host, port, deadline, err);
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, sock, strlen(sock) + 1);    /* length checked by etcd_new */
    return etcd__connect_addr((const struct sockaddr *)&sa, (socklen_t)sizeof sa, deadline, err);
}

#endif /* ETCD_NO_SOCKETS */

/* ------------------------------------------------------------------------
   >>tls  a TLS backend behind the same etcd__io table, over the client's
   transport: OpenSSL (ETCD_USE_OPENSSL) or mbedTLS (ETCD_USE_MBEDTLS).
   Each gives etcd__tls_ctx_new/_free, etcd__tls_connect and
   etcd__tls_session_free; the rest of etcd.h knows no backend
   ------------------------------------------------------------------------ */

#ifdef ETCD__TLS

/* Text and file for one role are not both allowed; cert and key go together. */
static bool etcd__tls_check(const etcd_opts *o, etcd__error *err)
{
    if (o->ssl_ca_pem && o->ssl_ca_path) etcd__errf(err, ETCD_EARG, "ssl_ca_pem and ssl_ca_path: set one, not both");
    else if (o->ssl_cert_pem && o->ssl_cert_path) etcd__errf(err, ETCD_EARG, "ssl_cert_pem and ssl_cert_path: set one, not both");
    else if (o->ssl_key_pem && o->ssl_key_path) etcd__errf(err, ETCD_EARG, "ssl_key_pem and ssl_key_path: set one, not both");
    else if (!(o->ssl_cert_path || o->ssl_cert_pem) != !(o->ssl_key_path || o->ssl_key_pem))
        etcd__errf(err, ETCD_EARG, "ssl_cert_path (or _pem) and ssl_key_path (or _pem) go together");
    else return true;
    return false;
}

/* A readable key that is not the certificate's: both named. */
static void etcd__tls_mismatch(const etcd_opts *o, etcd__error *err)
{
    etcd__errf(err, ETCD_EARG, "%s %s and %s %s do not match",
               o->ssl_cert_pem ? "ssl_cert_pem" : "ssl_cert_path", o->ssl_cert_pem ? "" : o->ssl_cert_path,
               o->ssl_key_pem ? "ssl_key_pem" : "ssl_key_path", o->ssl_key_pem ? "" : o->ssl_key_path);
}

enum { ETCD__PEM_CA, ETCD__PEM_CERT, ETCD__PEM_KEY };

/* What a role's PEM is called in errors: "ssl_ca_pem", "ssl_ca_path /x". */
static void etcd__tls_what(char *what, size_t n, const char *role, const char *text, const char *path)
{
    if (text) snprintf(what, n, "%s_pem", role);
    else snprintf(what, n, "%s_path %s", role, path);
}

static size_t etcd__ip4(const char *s, unsigned char *out)
{
    int i;
    for (i = 0; i < 4; i++) {
        unsigned v = 0, d = 0;
        while (etcd__isdigit(*s) && d < 4) { v = v * 10 + (unsigned)(*s++ - '0'); d++; }
        if (!d || d > 3 || v > 255 || (d > 1 && s[-(int)d] == '0')) return 0;
        out[i] = (unsigned char)v;
        if (i < 3 && *s++ != '.') return 0;
    }
    return *s ? 0 : 4;
}

/* Groups of up to 4 hex digits, one "::" at most, an IPv4 tail. */
static size_t etcd__ip6(const char *s, unsigned char *out)
{
    unsigned char b[16];
    size_t n = 0, gap = 17;
    if (s[0] == ':' && s[1] == ':') { gap = 0; s += 2; }
    while (*s && n < 16) {
        const char *g = s;
        unsigned v = 0;
        while (etcd__ishex(*s) && s - g < 4) v = v * 16 + (unsigned)etcd__hexval(*s++);
        if (*s == '.' && n <= 12 && etcd__ip4(g, b + n)) { n += 4; s = ""; break; }
        if (s == g) return 0;
        b[n++] = (unsigned char)(v >> 8);
        b[n++] = (unsigned char)v;
        if (!*s) break;
        if (*s++ != ':') return 0;
        if (*s == ':') {
            if (gap != 17) return 0;
            gap = n;
            s++;
        } else if (!*s) return 0;
    }
    if (*s || (gap == 17 ? n != 16 : n > 14)) return 0;
    if (gap == 17) gap = 16;
    memset(out, 0, 16);
    memcpy(out, b, gap);
    memcpy(out + 16 - (n - gap), b + gap, n - gap);
    return 16;
}

/* An IP literal's bytes (4 or 16), or 0: a name. An IP is verified
   against the certificate's IP SANs and never sent as the SNI. */
static size_t etcd__ip_bytes(const char *name, unsigned char *out)
{
    return etcd__ip4(name, out) ? 4 : etcd__ip6(name, out);
}

#endif /* ETCD__TLS */

#ifdef ETCD_USE_OPENSSL

/* OpenSSL's reason for the newest error on this thread's queue. */
static const char *etcd__tls_reason(char *buf, size_t n)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    if (r) return r;
    if (!e) return "unknown error";
    ERR_error_string_n(e, buf, n);
    return buf;
}

static void etcd__tls_fail(etcd__error *err, etcd_err code, const char *what, const char *path)
{
    char buf[160];
    if (path) etcd__errf(err, code, "%s %s: %s", what, path, etcd__tls_reason(buf, sizeof buf));
    else etcd__errf(err, code, "%s: %s", what, etcd__tls_reason(buf, sizeof buf));
    ERR_clear_error();
}

/* OpenSSL's bytes go through the connection's transport (the socket BIO
   would write() and raise SIGPIPE on a closed peer). The etcd__conn is
   the BIO's data. */
static int etcd__bio_write(BIO *b, const char *buf, int n)
{
    etcd__conn *c = (etcd__conn *)BIO_get_data(b);
    long r;
    BIO_clear_retry_flags(b);
    errno = 0;
    r = c->tr->write(c->tr->ctx, c->fd, buf, (size_t)n);
    if (r == ETCD_IO_AGAIN) BIO_set_retry_write(b);
    return r < 0 ? -1 : (int)r;
}

static int etcd__bio_read(BIO *b, char *buf, int n)
{
    etcd__conn *c = (etcd__conn *)BIO_get_data(b);
    long r;
    BIO_clear_retry_flags(b);
    errno = 0;
    r = c->tr->read(c->tr->ctx, c->fd, buf, (size_t)n);
    if (r == ETCD_IO_AGAIN) BIO_set_retry_read(b);
    return r < 0 ? -1 : (int)r;
}

static long etcd__bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b; (void)num; (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int etcd__bio_create(BIO *b) { BIO_set_init(b, 1); return 1; }

/* A new TLS session for an endpoint: keep it for the next connection. */
static int etcd__tls_new_session(SSL *ssl, SSL_SESSION *sess)
{
    SSL_SESSION **slot = (SSL_SESSION **)SSL_get_app_data(ssl);
    if (!slot) return 0;
    if (*slot) SSL_SESSION_free(*slot);
    *slot = sess;
    return 1;
}

/* Never ask a terminal for a passphrase: an encrypted key is refused. */
static int etcd__no_pass(char *buf, int size, int rw, void *u)
{
    (void)buf; (void)size; (void)rw; (void)u;
    return -1;
}

/* Reading PEM stopped at the end of the text, not at something malformed. */
static bool etcd__pem_end(void)
{
    unsigned long e = ERR_peek_last_error();
    bool end = !e || (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE);
    if (end) ERR_clear_error();
    return end;
}

/* The certificates in b, into the CA store or as the client certificate
   and its chain. How many, or -1 when the PEM is malformed. */
static int etcd__pem_certs(SSL_CTX *ctx, BIO *b, int kind)
{
    X509 *x;
    int n = 0;
    while ((x = PEM_read_bio_X509(b, NULL, etcd__no_pass, NULL))) {
        long ok = kind == ETCD__PEM_CA ? X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), x)
                  : n == 0 ? SSL_CTX_use_certificate(ctx, x) : SSL_CTX_add1_chain_cert(ctx, x);
        X509_free(x);
        if (ok != 1) return -1;
        n++;
    }
    return etcd__pem_end() ? n : -1;
}

/* The client key in b. A key that is not the certificate's is taken too:
   etcd__tls_files names both then. */
static int etcd__pem_key(SSL_CTX *ctx, BIO *b)
{
    EVP_PKEY *k = PEM_read_bio_PrivateKey(b, NULL, etcd__no_pass, NULL);
    int ok;
    if (!k) return etcd__pem_end() ? 0 : -1;
    ok = SSL_CTX_use_PrivateKey(ctx, k) == 1 || ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
    EVP_PKEY_free(k);
    return ok ? 1 : -1;
}

/* One role's PEM (role "ssl_ca", "ssl_cert", "ssl_key"), from its text
   or its file; errors name the option and the file. */
static bool etcd__tls_load(SSL_CTX *ctx, const char *text, const char *path, const char *role, int kind,
                           etcd__error *err)
{
    char what[300];
    BIO *b;
    int n = -1;
    etcd__tls_what(what, sizeof what, role, text, path);
    errno = 0;
    b = text ? BIO_new_mem_buf(text, -1) : BIO_new_file(path, "r");
    if (!b && !text && errno) {             /* "No such file or directory", not "system lib" */
        etcd__errf(err, ETCD_EARG, "%s: %s", what, strerror(errno));
        ERR_clear_error();
        return false;
    }
    if (b) n = kind == ETCD__PEM_KEY ? etcd__pem_key(ctx, b) : etcd__pem_certs(ctx, b, kind);
    BIO_free(b);
    if (n > 0) return true;
    if (n == 0) etcd__errf(err, ETCD_EARG, "%s: no PEM %s in it", what, kind == ETCD__PEM_KEY ? "private key" : "certificate");
    else etcd__tls_fail(err, ETCD_EARG, what, NULL);
    ERR_clear_error();
    return false;
}

static bool etcd__tls_files(SSL_CTX *ctx, const etcd_opts *o, etcd__error *err)
{
    if (!etcd__tls_check(o, err)) return false;
    if (o->ssl_ca_pem || o->ssl_ca_path) {
        if (!etcd__tls_load(ctx, o->ssl_ca_pem, o->ssl_ca_path, "ssl_ca", ETCD__PEM_CA, err)) return false;
    } else if (!o->ssl_skip_verify && SSL_CTX_set_default_verify_paths(ctx) != 1) {
        etcd__tls_fail(err, ETCD_EARG, "loading the system CA store", NULL);
        return false;
    }
    if (!o->ssl_cert_path && !o->ssl_cert_pem) return true;
    if (!etcd__tls_load(ctx, o->ssl_cert_pem, o->ssl_cert_path, "ssl_cert", ETCD__PEM_CERT, err) ||
        !etcd__tls_load(ctx, o->ssl_key_pem, o->ssl_key_path, "ssl_key", ETCD__PEM_KEY, err))
        return false;
    if (ERR_peek_last_error() || SSL_CTX_check_private_key(ctx) != 1) {   /* a readable key, not this cert's */
        etcd__tls_mismatch(o, err);
        ERR_clear_error();
        return false;
    }
    return true;
}

typedef struct etcd__tls_ctx { SSL_CTX *ssl; BIO_METHOD *bio; } etcd__tls_ctx;

static void etcd__tls_ctx_free(etcd__tls_ctx *t)
{
    if (!t) return;
    SSL_CTX_free(t->ssl);
    BIO_meth_free(t->bio);
    ETCD_FREE(t);
}

static void etcd__tls_session_free(void *session) { SSL_SESSION_free((SSL_SESSION *)session); }

/* The client's TLS context: verification, CA, client certificate, session
   cache, and the BIO method. Files are read here, so etcd_new reports them. */
static SSL_CTX *etcd__ssl_ctx(const etcd_opts *o, BIO_METHOD **bm, etcd__error *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) { etcd__tls_fail(err, ETCD_ETLS, "TLS setup", NULL); return NULL; }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);   /* EOF is judged by HTTP framing */
#endif
    SSL_CTX_set_verify(ctx, o->ssl_skip_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_set_default_passwd_cb(ctx, etcd__no_pass);
    SSL_CTX_sess_set_new_cb(ctx, etcd__tls_new_session);
    if (!etcd__tls_files(ctx, o, err)) { SSL_CTX_free(ctx); return NULL; }
    *bm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "etcd.h socket");
    if (!*bm || !BIO_meth_set_write(*bm, etcd__bio_write) || !BIO_meth_set_read(*bm, etcd__bio_read) ||
        !BIO_meth_set_ctrl(*bm, etcd__bio_ctrl) || !BIO_meth_set_create(*bm, etcd__bio_create)) {
        etcd__errf(err, ETCD_ENOMEM, "TLS setup: out of memory");
        BIO_meth_free(*bm);
        *bm = NULL;
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static etcd__tls_ctx *etcd__tls_ctx_new(const etcd_opts *o, etcd__error *err)
{
    etcd__tls_ctx *t = (etcd__tls_ctx *)ETCD_MALLOC(sizeof *t);
    if (!t) { etcd__errf(err, ETCD_ENOMEM, "out of memory"); return NULL; }
    t->bio = NULL;
    if ((t->ssl = etcd__ssl_ctx(o, &t->bio, err))) return t;
    ETCD_FREE(t);
    return NULL;
}

/* Map an SSL_read/SSL_write result to the etcd__io convention. */
static long etcd__tls_result(etcd__conn *c, int r, const char *what, etcd__error *err)
{
    int e = SSL_get_error((SSL *)c->tls, r);
    if (e == SSL_ERROR_WANT_READ) { c->want = ETCD_IO_READ; return ETCD_IO_AGAIN; }
    if (e == SSL_ERROR_WANT_WRITE) { c->want = ETCD_IO_WRITE; return ETCD_IO_AGAIN; }
    if (e == SSL_ERROR_ZERO_RETURN) return 0;
    if (e == SSL_ERROR_SYSCALL && !ERR_peek_error()) {
        if (r == 0) return 0;                 /* EOF without close_notify: the HTTP framing judges */
        etcd__io_fail(err, ETCD_ETRANSPORT, what);
        return -1;
    }
    etcd__tls_fail(err, ETCD_ETLS, what, NULL);
    return -1;
}

static long etcd__tls_read(etcd__conn *c, char *buf, size_t n, etcd__error *err)
{
    int r;
    ERR_clear_error();
    errno = 0;
    r = SSL_read((SSL *)c->tls, buf, n > INT_MAX ? INT_MAX : (int)n);
    return r > 0 ? r : etcd__tls_result(c, r, "TLS read", err);
}

static long etcd__tls_write(etcd__conn *c, const char *buf, size_t n, etcd__error *err)
{
    int r;
    ERR_clear_error();
    errno = 0;
    r = SSL_write((SSL *)c->tls, buf, n > INT_MAX ? INT_MAX : (int)n);
    return r > 0 ? r : etcd__tls_result(c, r, "TLS write", err);
}

/* Without a close_notify the session would be marked not resumable: mark
   the connection shut down quietly, then free it. */
static void etcd__tls_close(etcd__conn *c)
{
    SSL *ssl = (SSL *)c->tls;
    if (ssl) {
        SSL_set_quiet_shutdown(ssl, 1);
        SSL_shutdown(ssl);
        SSL_free(ssl);
    }
    ERR_clear_error();
    c->tr->close(c->tr->ctx, c->fd);
}

static size_t etcd__tls_pending(const etcd__conn *c)
{
    int n = c->tls ? SSL_pending((const SSL *)c->tls) : 0;
    return n > 0 ? (size_t)n : 0;
}

/* Readable while idle is fine if it was only TLS 1.3 session tickets. */
static bool etcd__tls_stale(etcd__conn *c)
{
    char b;
    int r;
    if (c->off < c->in.len || etcd__tls_pending(c)) return true;
    if (!etcd__readable_now(c)) return false;
    ERR_clear_error();
    r = SSL_peek((SSL *)c->tls, &b, 1);
    r = r > 0 ? 1 : SSL_get_error((SSL *)c->tls, r) != SSL_ERROR_WANT_READ;
    ERR_clear_error();
    return r != 0 || etcd__readable_now(c);     /* a ticket read, or a transport that said "again" too soon */
}

static const etcd__io etcd__tls_io = { etcd__tls_read, etcd__tls_write, etcd__tls_close,
                                       etcd__tls_stale, etcd__tls_pending };

static void etcd__tls_handshake_error(SSL *ssl, int r, bool verify, etcd__error *err)
{
    long v = verify ? SSL_get_verify_result(ssl) : X509_V_OK;   /* recorded even when not enforced */
    if (v != X509_V_OK) {
        etcd__errf(err, ETCD_ETLS, "TLS certificate verification failed: %s", X509_verify_cert_error_string(v));
        ERR_clear_error();
    } else if (SSL_get_error(ssl, r) == SSL_ERROR_SYSCALL && !ERR_peek_error()) {
        etcd__errf(err, ETCD_ETLS, "TLS handshake failed: %s", errno ? strerror(errno) : "connection closed by the server");
    } else {
        etcd__tls_fail(err, ETCD_ETLS, "TLS handshake failed", NULL);
    }
}

/* TLS over the connection c. name: the SNI (not for an IP literal) and
   what the certificate must match. *session: the one to resume, and
   where a new one goes. */
static int etcd__tls_connect(etcd__tls_ctx *t, etcd__conn *c, const char *name, bool verify, void **session,
                             double deadline, etcd__error *err)
{
    SSL *ssl = SSL_new(t->ssl);
    BIO *bio = ssl ? BIO_new(t->bio) : NULL;
    unsigned char ip[16];
    bool is_ip = etcd__ip_bytes(name, ip) != 0;
    if (!bio) { SSL_free(ssl); etcd__tls_fail(err, ETCD_ETLS, "TLS setup", NULL); return -1; }
    BIO_set_data(bio, c);
    SSL_set_bio(ssl, bio, bio);
    c->tls = ssl;
    c->io = &etcd__tls_io;                  /* from now on etcd__conn_close frees ssl */
    SSL_set_app_data(ssl, session);
    if (!is_ip && SSL_set_tlsext_host_name(ssl, name) != 1) { etcd__tls_fail(err, ETCD_ETLS, "TLS SNI", name); return -1; }
    if (verify && (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) : SSL_set1_host(ssl, name)) != 1) {
        etcd__tls_fail(err, ETCD_ETLS, "TLS verify name", name);
        return -1;
    }
    if (*session) SSL_set_session(ssl, (SSL_SESSION *)*session);
    for (;;) {
        int r, e;
        ERR_clear_error();
        errno = 0;
        if ((r = SSL_connect(ssl)) == 1) return 0;
        e = SSL_get_error(ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) { etcd__tls_handshake_error(ssl, r, verify, err); return -1; }
        if (etcd__wait(c, e == SSL_ERROR_WANT_READ ? ETCD_IO_READ : ETCD_IO_WRITE, deadline, err) < 0) return -1;
    }
}

#endif /* ETCD_USE_OPENSSL */

#ifdef ETCD_USE_MBEDTLS

/* mbedTLS 2.28 or 3.x. Its allocations are its own (its calloc, its
   buffers of MBEDTLS_SSL_IN_CONTENT_LEN/OUT_CONTENT_LEN per connection);
   its randomness is mbedtls_entropy_func's, which a board without an OS
   provides in its mbedTLS configuration. */

typedef struct etcd__tls_ctx {
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca, cert;
    mbedtls_pk_context key;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
} etcd__tls_ctx;

/* c->tls: the TLS state of one connection. */
typedef struct etcd__mbed {
    mbedtls_ssl_context ssl;
    void **session;              /* the endpoint's: a TLS 1.3 ticket comes after the handshake */
    unsigned char ip[16];        /* the IP literal the certificate must name, */
    size_t iplen;                /* or 0: a host name, mbedTLS's own check */
} etcd__mbed;

#if MBEDTLS_VERSION_MAJOR >= 3
#define ETCD__MBED_RNG(t) , mbedtls_ctr_drbg_random, &(t)->drbg
#else
#define ETCD__MBED_RNG(t)
#endif

static void etcd__mbed_fail(etcd__error *err, etcd_err code, const char *what, int ret)
{
    char buf[160];
#ifdef MBEDTLS_ERROR_C
    mbedtls_strerror(ret, buf, sizeof buf);
#else
    snprintf(buf, sizeof buf, "mbedTLS error -0x%04x", (unsigned)-ret);
#endif
    etcd__errf(err, code, "%s: %s", what, buf);
}

/* A whole file into b; b->len + 1 bytes with the NUL, as mbedTLS's PEM
   parsers want them. */
static bool etcd__slurp(const char *path, etcd__buf *b)
{
    FILE *f = fopen(path, "rb");
    size_t n = 0;
    bool ok;
    if (!f) return false;
    do {
        if (!etcd__buf_reserve(b, 4096)) break;
        n = fread(b->p + b->len, 1, 4096, f);
        b->len += n;
        b->p[b->len] = 0;
    } while (n == 4096);
#ifdef EIO
    if (ferror(f) && !errno) errno = EIO;
#endif
    ok = !ferror(f) && !b->oom && b->p;
    fclose(f);
    return ok;
}

/* One role's PEM (role "ssl_ca", "ssl_cert", "ssl_key"), from its text or
   its file, into the CA chain, the client chain or the key. */
static bool etcd__mbed_load(etcd__tls_ctx *t, const char *text, const char *path, const char *role, int kind,
                            etcd__error *err)
{
    char what[300];
    etcd__buf b;
    const unsigned char *pem = (const unsigned char *)text;
    size_t len = text ? strlen(text) + 1 : 0;
    int r;
    etcd__tls_what(what, sizeof what, role, text, path);
    memset(&b, 0, sizeof b);
    errno = 0;
    if (!text) {
        if (!etcd__slurp(path, &b)) {
            if (b.oom) etcd__errf(err, ETCD_ENOMEM, "out of memory");
            else etcd__errf(err, ETCD_EARG, "%s: %s", what, errno ? strerror(errno) : "cannot be read");
            etcd__buf_free(&b);
            return false;
        }
        pem = (const unsigned char *)b.p;
        len = b.len + 1;
    }
    if (kind == ETCD__PEM_KEY) r = mbedtls_pk_parse_key(&t->key, pem, len, NULL, 0 ETCD__MBED_RNG(t));
    else r = mbedtls_x509_crt_parse(kind == ETCD__PEM_CA ? &t->ca : &t->cert, pem, len);
    etcd__buf_free(&b);
    if (r > 0 && kind == ETCD__PEM_CA && t->ca.raw.len) r = 0;   /* a bundle: what mbedTLS can read of it, as
                                                                   for the system's */
    if (r > 0) r = MBEDTLS_ERR_X509_INVALID_FORMAT;   /* some of its certificates are not */
    if (r) etcd__mbed_fail(err, ETCD_EARG, what, r);
    return r == 0;
}

/* mbedTLS knows no system store: the first bundle found where systems
   keep one. */
static bool etcd__mbed_system_ca(etcd__tls_ctx *t, etcd__error *err)
{
    static const char *const bundles[] = {
        "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem",
        "/etc/ssl/ca-bundle.pem"
    };
    size_t i;
    for (i = 0; i < sizeof bundles / sizeof *bundles; i++) {
        etcd__buf b;
        memset(&b, 0, sizeof b);
        if (etcd__slurp(bundles[i], &b)) mbedtls_x509_crt_parse(&t->ca, (const unsigned char *)b.p, b.len + 1);
        etcd__buf_free(&b);
        if (t->ca.raw.len) return true;   /* some bundles hold certificates mbedTLS cannot parse */
    }
    etcd__errf(err, ETCD_EARG, "no system CA bundle found (%s, ...): set ssl_ca_path or ssl_ca_pem", bundles[0]);
    return false;
}

static bool etcd__mbed_files(etcd__tls_ctx *t, const etcd_opts *o, etcd__error *err)
{
    int r;
    if (!etcd__tls_check(o, err)) return false;
    if (o->ssl_ca_pem || o->ssl_ca_path) {
        if (!etcd__mbed_load(t, o->ssl_ca_pem, o->ssl_ca_path, "ssl_ca", ETCD__PEM_CA, err)) return false;
    } else if (!o->ssl_skip_verify && !etcd__mbed_system_ca(t, err)) {
        return false;
    }
    mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
    if (!o->ssl_cert_path && !o->ssl_cert_pem) return true;
    if (!etcd__mbed_load(t, o->ssl_cert_pem, o->ssl_cert_path, "ssl_cert", ETCD__PEM_CERT, err) ||
        !etcd__mbed_load(t, o->ssl_key_pem, o->ssl_key_path, "ssl_key", ETCD__PEM_KEY, err))
        return false;
    if (mbedtls_pk_check_pair(&t->cert.pk, &t->key ETCD__MBED_RNG(t)) != 0) {
        etcd__tls_mismatch(o, err);
        return false;
    }
    if ((r = mbedtls_ssl_conf_own_cert(&t->conf, &t->cert, &t->key)) != 0) {
        etcd__mbed_fail(err, ETCD_ENOMEM, "TLS setup", r);
        return false;
    }
    return true;
}

static void etcd__tls_ctx_free(etcd__tls_ctx *t)
{
    if (!t) return;
    mbedtls_ssl_config_free(&t->conf);
    mbedtls_x509_crt_free(&t->ca);
    mbedtls_x509_crt_free(&t->cert);
    mbedtls_pk_free(&t->key);
    mbedtls_ctr_drbg_free(&t->drbg);
    mbedtls_entropy_free(&t->entropy);
    ETCD_FREE(t);
}

/* The client's TLS configuration: TLS 1.2 at least, verification, CA,
   client certificate. Files are read here, so etcd_new reports them. */
static etcd__tls_ctx *etcd__tls_ctx_new(const etcd_opts *o, etcd__error *err)
{
    etcd__tls_ctx *t = (etcd__tls_ctx *)ETCD_MALLOC(sizeof *t);
    int r;
    if (!t) { etcd__errf(err, ETCD_ENOMEM, "out of memory"); return NULL; }
    mbedtls_ssl_config_init(&t->conf);
    mbedtls_x509_crt_init(&t->ca);
    mbedtls_x509_crt_init(&t->cert);
    mbedtls_pk_init(&t->key);
    mbedtls_entropy_init(&t->entropy);
    mbedtls_ctr_drbg_init(&t->drbg);
#if MBEDTLS_VERSION_MAJOR >= 3 && defined(MBEDTLS_PSA_CRYPTO_C)
    if (psa_crypto_init() != PSA_SUCCESS) { etcd__errf(err, ETCD_ETLS, "TLS setup: psa_crypto_init failed"); goto fail; }
#endif
    if ((r = mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->entropy, (const unsigned char *)"etcd.h", 6)) ||
        (r = mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                         MBEDTLS_SSL_PRESET_DEFAULT))) {
        etcd__mbed_fail(err, ETCD_ETLS, "TLS setup", r);
        goto fail;
    }
#if MBEDTLS_VERSION_MAJOR >= 3
    mbedtls_ssl_conf_min_tls_version(&t->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
    mbedtls_ssl_conf_min_version(&t->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
#endif
#if defined(MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED) && defined(MBEDTLS_SSL_PROTO_TLS1_3) && \
    defined(MBEDTLS_SSL_SESSION_TICKETS)
    mbedtls_ssl_conf_tls13_enable_signal_new_session_tickets(&t->conf, MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED);
#endif
    mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);
    mbedtls_ssl_conf_authmode(&t->conf, o->ssl_skip_verify ? MBEDTLS_SSL_VERIFY_NONE : MBEDTLS_SSL_VERIFY_REQUIRED);
    if (etcd__mbed_files(t, o, err)) return t;
fail:
    etcd__tls_ctx_free(t);
    return NULL;
}

static void etcd__tls_session_free(void *session)
{
    if (!session) return;
    mbedtls_ssl_session_free((mbedtls_ssl_session *)session);
    ETCD_FREE(session);
}

/* The connection's session replaces the endpoint's; kept only if got. */
static void etcd__mbed_keep_session(etcd__mbed *m)
{
    mbedtls_ssl_session *s = (mbedtls_ssl_session *)ETCD_MALLOC(sizeof *s);
    if (!s) return;
    mbedtls_ssl_session_init(s);
    if (mbedtls_ssl_get_session(&m->ssl, s) != 0) {
        etcd__tls_session_free(s);
        return;
    }
    etcd__tls_session_free(*m->session);
    *m->session = s;
}

/* mbedTLS's bytes go through the connection's transport: what it gave,
   as mbedTLS's callbacks say it. */
static int etcd__mbed_moved(long r, int again, int failed)
{
    if (r == ETCD_IO_AGAIN) return again;
    return r < 0 ? failed : (int)r;
}

static int etcd__mbed_send(void *ctx, const unsigned char *buf, size_t n)
{
    etcd__conn *c = (etcd__conn *)ctx;
    long r;
    errno = 0;
    r = c->tr->write(c->tr->ctx, c->fd, buf, n > INT_MAX ? INT_MAX : n);
    return etcd__mbed_moved(r ? r : -1, MBEDTLS_ERR_SSL_WANT_WRITE, MBEDTLS_ERR_NET_SEND_FAILED);   /* 0: mbedTLS
                                                                          would take it for sent */
}

static int etcd__mbed_recv(void *ctx, unsigned char *buf, size_t n)
{
    etcd__conn *c = (etcd__conn *)ctx;
    errno = 0;
    return etcd__mbed_moved(c->tr->read(c->tr->ctx, c->fd, buf, n > INT_MAX ? INT_MAX : n),
                            MBEDTLS_ERR_SSL_WANT_READ, MBEDTLS_ERR_NET_RECV_FAILED);
}

/* Map an mbedtls_ssl_read/write result to the etcd__io convention. EOF
   without close_notify is judged by the HTTP framing, as with OpenSSL. */
static long etcd__mbed_result(etcd__conn *c, int r, const char *what, etcd__error *err)
{
    if (r == MBEDTLS_ERR_SSL_WANT_READ) { c->want = ETCD_IO_READ; return ETCD_IO_AGAIN; }
    if (r == MBEDTLS_ERR_SSL_WANT_WRITE) { c->want = ETCD_IO_WRITE; return ETCD_IO_AGAIN; }
    if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || r == MBEDTLS_ERR_SSL_CONN_EOF) return 0;
    if (r == MBEDTLS_ERR_NET_SEND_FAILED || r == MBEDTLS_ERR_NET_RECV_FAILED) etcd__io_fail(err, ETCD_ETRANSPORT, what);
    else etcd__mbed_fail(err, ETCD_ETLS, what, r);
    return -1;
}

static long etcd__tls_read(etcd__conn *c, char *buf, size_t n, etcd__error *err)
{
    etcd__mbed *m = (etcd__mbed *)c->tls;
    for (;;) {
        int r = mbedtls_ssl_read(&m->ssl, (unsigned char *)buf, n > INT_MAX ? INT_MAX : n);
        if (r > 0) return r;
#ifdef MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET
        if (r == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) { etcd__mbed_keep_session(m); continue; }
#endif
        return etcd__mbed_result(c, r, "TLS read", err);
    }
}

static long etcd__tls_write(etcd__conn *c, const char *buf, size_t n, etcd__error *err)
{
    int r = mbedtls_ssl_write(&((etcd__mbed *)c->tls)->ssl, (const unsigned char *)buf, n > INT_MAX ? INT_MAX : n);
    return r > 0 ? r : etcd__mbed_result(c, r, "TLS write", err);
}

static void etcd__tls_close(etcd__conn *c)
{
    etcd__mbed *m = (etcd__mbed *)c->tls;
    if (m) {
        mbedtls_ssl_free(&m->ssl);
        ETCD_FREE(m);
    }
    c->tr->close(c->tr->ctx, c->fd);
}

/* Decrypted bytes, or a record mbedTLS holds but has not opened yet. */
static size_t etcd__tls_pending(const etcd__conn *c)
{
    const mbedtls_ssl_context *s;
    size_t n;
    if (!c->tls) return 0;
    s = &((const etcd__mbed *)c->tls)->ssl;
    n = mbedtls_ssl_get_bytes_avail(s);
    return n ? n : (size_t)(mbedtls_ssl_check_pending(s) != 0);
}

/* Readable while idle is fine if it was only TLS 1.3 session tickets. */
static bool etcd__tls_stale(etcd__conn *c)
{
    char b;
    etcd__error e;
    if (c->off < c->in.len || etcd__tls_pending(c)) return true;
    if (!etcd__readable_now(c)) return false;
    return etcd__tls_read(c, &b, 1, &e) != ETCD_IO_AGAIN || etcd__readable_now(c);
}

static const etcd__io etcd__tls_io = { etcd__tls_read, etcd__tls_write, etcd__tls_close,
                                       etcd__tls_stale, etcd__tls_pending };

/* Whether the certificate's subjectAltName lists the IP: parsed here,
   as mbedTLS 2.28 keeps only the DNS names of it. */
static bool etcd__san_has_ip(const mbedtls_x509_crt *crt, const unsigned char *ip, size_t iplen)
{
    static const unsigned char san[] = { 0x55, 0x1d, 0x11 };   /* 2.5.29.17 */
    const int seq = MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE;
    unsigned char *p = crt->v3_ext.p, *end = p + crt->v3_ext.len, *next;
    size_t len;
    int critical;
    if (!p || mbedtls_asn1_get_tag(&p, end, &len, seq)) return false;
    for (end = p + len; p < end; p = next) {
        if (mbedtls_asn1_get_tag(&p, end, &len, seq)) return false;
        next = p + len;
        if (mbedtls_asn1_get_tag(&p, next, &len, MBEDTLS_ASN1_OID)) return false;
        if (len != sizeof san || memcmp(p, san, sizeof san) != 0) continue;
        p += len;
        mbedtls_asn1_get_bool(&p, next, &critical);
        if (mbedtls_asn1_get_tag(&p, next, &len, MBEDTLS_ASN1_OCTET_STRING) ||
            mbedtls_asn1_get_tag(&p, next, &len, seq))
            return false;
        for (end = p + len; p < end; p += len) {
            unsigned char tag = *p++;
            if (mbedtls_asn1_get_len(&p, end, &len)) return false;
            if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && len == iplen && !memcmp(p, ip, len)) return true;
        }
        return false;
    }
    return false;
}

/* The server's certificate must name the IP literal it was reached by. */
static int etcd__mbed_verify_ip(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    const etcd__mbed *m = (const etcd__mbed *)arg;
    if (depth == 0 && !etcd__san_has_ip(crt, m->ip, m->iplen)) *flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
    return 0;
}

/* OpenSSL's words for the failures both backends see, so that a log
   reads the same whichever is compiled in. */
static void etcd__mbed_verify_failed(const etcd__mbed *m, etcd__error *err)
{
    uint32_t f = mbedtls_ssl_get_verify_result(&m->ssl);
    char buf[160];
    const char *why = f & MBEDTLS_X509_BADCERT_NOT_TRUSTED ? "unable to get local issuer certificate"
                      : f & MBEDTLS_X509_BADCERT_EXPIRED ? "certificate has expired"
                      : f & MBEDTLS_X509_BADCERT_FUTURE ? "certificate is not yet valid"
                      : f & MBEDTLS_X509_BADCERT_REVOKED ? "certificate revoked"
                      : f & MBEDTLS_X509_BADCERT_CN_MISMATCH ? (m->iplen ? "IP address mismatch" : "hostname mismatch")
                      : NULL;
    if (!why) {
        char *nl;
        buf[0] = 0;
        mbedtls_x509_crt_verify_info(buf, sizeof buf, "", f);
        if ((nl = strchr(buf, '\n'))) *nl = 0;
        why = buf;
    }
    etcd__errf(err, ETCD_ETLS, "TLS certificate verification failed: %s", why);
}

static void etcd__mbed_handshake_error(const etcd__mbed *m, int r, etcd__error *err)
{
    if (r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && mbedtls_ssl_get_verify_result(&m->ssl))
        etcd__mbed_verify_failed(m, err);
    else if (r == MBEDTLS_ERR_NET_SEND_FAILED || r == MBEDTLS_ERR_NET_RECV_FAILED)
        etcd__io_fail(err, ETCD_ETLS, "TLS handshake failed");
    else if (r == MBEDTLS_ERR_SSL_CONN_EOF)
        etcd__errf(err, ETCD_ETLS, "TLS handshake failed: connection closed by the server");
    else
        etcd__mbed_fail(err, ETCD_ETLS, "TLS handshake failed", r);
}

/* TLS over the connection c. name: the SNI (not for an IP literal) and
   what the certificate must match. *session: the one to resume, and
   where a new one goes. */
static int etcd__tls_connect(etcd__tls_ctx *t, etcd__conn *c, const char *name, bool verify, void **session,
                             double deadline, etcd__error *err)
{
    etcd__mbed *m = (etcd__mbed *)ETCD_MALLOC(sizeof *m);
    int r;
    if (!m) { etcd__errf(err, ETCD_ENOMEM, "out of memory"); return -1; }
    mbedtls_ssl_init(&m->ssl);
    m->session = session;
    m->iplen = etcd__ip_bytes(name, m->ip);
    c->tls = m;
    c->io = &etcd__tls_io;                  /* from now on etcd__conn_close frees m */
    if ((r = mbedtls_ssl_setup(&m->ssl, &t->conf)) != 0) { etcd__mbed_fail(err, ETCD_ETLS, "TLS setup", r); return -1; }
    if ((r = mbedtls_ssl_set_hostname(&m->ssl, m->iplen ? NULL : name)) != 0) {
        etcd__mbed_fail(err, ETCD_ETLS, "TLS SNI", r);
        return -1;
    }
    if (m->iplen && verify) mbedtls_ssl_set_verify(&m->ssl, etcd__mbed_verify_ip, m);
    mbedtls_ssl_set_bio(&m->ssl, c, etcd__mbed_send, etcd__mbed_recv, NULL);
    if (*session) mbedtls_ssl_set_session(&m->ssl, (const mbedtls_ssl_session *)*session);
    for (;;) {
        errno = 0;
        if ((r = mbedtls_ssl_handshake(&m->ssl)) == 0) break;
        if (r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE) {
            etcd__mbed_handshake_error(m, r, err);
            return -1;
        }
        if (etcd__wait(c, r == MBEDTLS_ERR_SSL_WANT_READ ? ETCD_IO_READ : ETCD_IO_WRITE, deadline, err) < 0) return -1;
    }
#if MBEDTLS_VERSION_MAJOR >= 3
    if (mbedtls_ssl_get_version_number(&m->ssl) == MBEDTLS_SSL_VERSION_TLS1_3) return 0;   /* its ticket comes
                                                                                      later (etcd__tls_read) */
#endif
    etcd__mbed_keep_session(m);             /* TLS 1.2: its ticket or id came with the handshake */
    return 0;
}

#endif /* ETCD_USE_MBEDTLS */

/* ------------------------------------------------------------------------
   >>http  the request writer, the response head parser and the chunked
   decoder: pure functions of the bytes they are given (the I/O that
   drives them is in >>exchange)
   ------------------------------------------------------------------------ */

/* What a request is, said by the call that makes it: nothing below looks
   at the path to guess. */
enum {
    ETCD__RQ_PREFIX = 1,         /* the path goes under the api prefix */
    ETCD__RQ_IDEM   = 2,         /* a read: may reach etcd twice, so any failure is retried */
    ETCD__RQ_STREAM = 4,         /* a stream: its own connection, Hasleader, no body read */
    ETCD__RQ_AUTH   = 8,         /* needs the token (fetched first) and sends it */
    ETCD__RQ_RETRY  = 16,        /* the client's retry option applies */
    ETCD__RQ_NOHEAD = 32         /* a stream whose head its caller reads: sent, not awaited */
};

typedef struct etcd__ans etcd__ans;
typedef struct etcd__ep etcd__ep;

typedef struct etcd__req {
    const char *method;          /* "GET" or "POST" */
    const char *path;            /* "/kv/range", "/version", ... */
    const etcd__jw *body;        /* sent as JSON; NULL: no body */
    unsigned flags;              /* ETCD__RQ_* */
    double timeout;              /* seconds per try; < 0: none */
    double deadline;             /* a sub-request's: its request's try's; 0: per try */
    etcd__ep *ep;                /* this endpoint, healthy or not; NULL: the next healthy */
    /* Is what looks like the endpoint's failure (a 5xx, or err) this call's
       own answer? A call that waits on purpose, or whose service answers
       with a 500, says so; then nothing is counted against the endpoint.
       NULL: every such failure is the endpoint's. */
    bool (*answer)(const etcd__ans *a, const etcd__error *err);
} etcd__req;

/* A request with the fields every request sets; the rest zero. */
static etcd__req etcd__rq(const char *method, const char *path, const etcd__jw *body, unsigned flags,
                          double timeout)
{
    etcd__req rq;
    memset(&rq, 0, sizeof rq);
    rq.method = method;
    rq.path = path;
    rq.body = body;
    rq.flags = flags;
    rq.timeout = timeout;
    return rq;
}

/* The request bytes. prefix: the api prefix ("" when not under it);
   token: the Authorization value, or NULL. */
static void etcd__http_request(etcd__buf *o, const etcd__req *rq, const char *prefix,
                               const char *hostport, const char *headers, const char *token)
{
    etcd__buf_reset(o);
    etcd__buf_str(o, rq->method);
    etcd__buf_add(o, " ", 1);
    etcd__buf_str(o, prefix);
    etcd__buf_str(o, rq->path);
    etcd__buf_str(o, " HTTP/1.1\r\nHost: ");
    etcd__buf_str(o, hostport);
    etcd__buf_str(o, "\r\n");
    if (rq->body) {
        etcd__buf_str(o, "Content-Type: application/json\r\nContent-Length: ");
        etcd__buf_i64(o, (int64_t)rq->body->json.len);
        etcd__buf_add(o, "\r\n", 2);
    }
    if (rq->flags & ETCD__RQ_STREAM)      /* else a leaderless member's watch stays silent */
        etcd__buf_str(o, "Grpc-Metadata-Hasleader: true\r\n");
    if (headers) etcd__buf_str(o, headers);
    if (token) {                          /* no "Bearer" */
        etcd__buf_str(o, "Authorization: ");
        etcd__buf_str(o, token);
        etcd__buf_str(o, "\r\n");
    }
    etcd__buf_str(o, "\r\n");
    if (rq->body) etcd__buf_add(o, rq->body->json.p, rq->body->json.len);
}

typedef struct etcd__resp {
    int status;
    bool chunked, close;
    int64_t clen;                /* Content-Length, -1 when absent */
} etcd__resp;

static const char *etcd__find_crlfcrlf(const char *p, size_t n)
{
    const char *e = p + n, *q = p;
    while (e - q >= 4 && (q = (const char *)memchr(q, '\r', (size_t)(e - q - 3))) != NULL) {
        if (q[1] == '\n' && q[2] == '\r' && q[3] == '\n') return q;
        q++;
    }
    return NULL;
}

/* RFC 9110 token characters: letters, digits and !#$%&'*+-.^_`|~ (a bit each). */
static bool etcd__tchar(char c)
{
    static const unsigned char bits[16] = { 0x00, 0x00, 0x00, 0x00, 0xfa, 0x6c, 0xff, 0x03,
                                            0xfe, 0xff, 0xff, 0xc7, 0xff, 0xff, 0xff, 0x57 };
    unsigned char u = (unsigned char)c;
    return u < 128 && (bits[u >> 3] >> (u & 7) & 1);
}

static bool etcd__name_is(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

/* Does the comma-separated header value v[0..n) hold token tok? */
static bool etcd__has_token(const char *v, size_t n, const char *tok)
{
    size_t i = 0;
    while (i < n) {
        size_t s, e;
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) i++;
        s = i;
        while (i < n && v[i] != ',') i++;
        e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t')) e--;
        if (etcd__name_is(v + s, e - s, tok)) return true;
    }
    return false;
}

static int etcd__http_header(etcd__resp *r, const char *name, size_t nlen,
                             const char *v, size_t vlen, etcd__error *err)
{
    if (etcd__name_is(name, nlen, "content-length")) {
        int64_t cl;
        if (!etcd__parse_i64(v, vlen, &cl) || cl < 0 || v[0] == '-') {
            etcd__errf(err, ETCD_EPROTO, "malformed HTTP response: bad Content-Length");
            return -1;
        }
        if (r->clen >= 0 && r->clen != cl) {
            etcd__errf(err, ETCD_EPROTO, "malformed HTTP response: conflicting Content-Length headers");
            return -1;
        }
        r->clen = cl;
    } else if (etcd__name_is(name, nlen, "transfer-encoding")) {
        if (!etcd__name_is(v, vlen, "chunked")) {
            etcd__errf(err, ETCD_EPROTO, "unsupported Transfer-Encoding: %.*s", (int)(vlen > 64 ? 64 : vlen), v);
            return -1;
        }
        r->chunked = true;
    } else if (etcd__name_is(name, nlen, "connection")) {
        if (etcd__has_token(v, vlen, "close")) r->close = true;
    }
    return 0;
}

/* Parse a response head at p. Returns 1 with *head_len set, 0 when more
   bytes are needed, -1 when malformed. */
static int etcd__http_parse_head(const char *p, size_t n, etcd__resp *r, size_t *head_len, etcd__error *err)
{
    const char *end = etcd__find_crlfcrlf(p, n < ETCD__MAX_HEAD ? n : ETCD__MAX_HEAD), *line;
    if (!end) {
        if (n < ETCD__MAX_HEAD) return 0;
        etcd__errf(err, ETCD_EPROTO, "malformed HTTP response: head larger than %u bytes", ETCD__MAX_HEAD);
        return -1;
    }
    memset(r, 0, sizeof *r);
    r->clen = -1;
    if (n < 13 || memcmp(p, "HTTP/1.", 7) != 0 || !etcd__isdigit(p[7]) || p[8] != ' ' ||
        !etcd__isdigit(p[9]) || !etcd__isdigit(p[10]) || !etcd__isdigit(p[11]) ||
        (p[12] != ' ' && p[12] != '\r')) {
        goto bad_status;
    }
    r->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    if (r->status < 100) goto bad_status;
    r->close = p[7] == '0';
    line = (const char *)memchr(p, '\n', (size_t)(end + 2 - p)) + 1;   /* end + 2: a head may have no headers */
    if (line[-2] != '\r') goto bad;
    while (line < end + 2) {
        const char *eol = (const char *)memchr(line, '\n', (size_t)(end + 2 - line));
        const char *colon = (const char *)memchr(line, ':', (size_t)(eol - line));
        const char *v, *ve = eol - 1;
        size_t i;
        if (!colon || colon == line || eol[-1] != '\r') goto bad;
        for (i = 0; line + i < colon; i++) if (!etcd__tchar(line[i])) goto bad;
        for (v = colon + 1; v < ve && (*v == ' ' || *v == '\t'); v++) {}
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        if (etcd__http_header(r, line, (size_t)(colon - line), v, (size_t)(ve - v), err) < 0) return -1;
        line = eol + 1;
    }
    if (r->chunked && r->clen >= 0) { r->clen = -1; r->close = true; }  /* RFC 9112 6.3 */
    *head_len = (size_t)(end - p) + 4;
    return 1;
bad:
    etcd__errf(err, ETCD_EPROTO, "malformed HTTP response: bad header line");
    return -1;
bad_status:
    etcd__errf(err, ETCD_EPROTO, "malformed HTTP response: bad status line");
    return -1;
}

enum { ETCD__CH_SIZE, ETCD__CH_EXT, ETCD__CH_SIZE_LF, ETCD__CH_DATA, ETCD__CH_DATA_CR,
       ETCD__CH_DATA_LF, ETCD__CH_TRAILER, ETCD__CH_TRAILER_LINE, ETCD__CH_TRAILER_LF,
       ETCD__CH_END_LF, ETCD__CH_DONE };

typedef enum { ETCD__BODY_LENGTH, ETCD__BODY_CHUNKED, ETCD__BODY_EOF } etcd__body_mode;

typedef struct etcd__body {
    etcd__body_mode mode;
    uint64_t left;               /* LENGTH: bytes to come; CHUNKED: of this chunk */
    int state;                   /* CHUNKED: ETCD__CH_* */
    size_t line;                 /* bytes of the current size or trailer line */
    bool digits, done;
} etcd__body;

static long etcd__chunk_fail(etcd__error *err, const char *what)
{
    etcd__errf(err, ETCD_EPROTO, "malformed HTTP response: %s", what);
    return -1;
}

static int etcd__too_big(etcd__error *err, size_t max)
{
    etcd__errf(err, ETCD_ETOOLARGE, "response larger than max_response (%zu bytes)", max);
    return -1;
}

/* One byte of a chunk-size line or trailer; returns 0, or -1 with err. */
static int etcd__chunk_byte(etcd__body *b, char c, etcd__error *err)
{
    if (++b->line > ETCD__MAX_LINE) return (int)etcd__chunk_fail(err, "chunk line too long");
    switch (b->state) {
    case ETCD__CH_SIZE:
        if (etcd__ishex(c)) {
            if (b->left > (UINT64_MAX >> 4)) return (int)etcd__chunk_fail(err, "chunk size overflows");
            b->left = b->left << 4 | (uint64_t)etcd__hexval(c);
            b->digits = true;
            return 0;
        }
        if (!b->digits) return (int)etcd__chunk_fail(err, "bad chunk size");
        if (c == ';' || c == ' ' || c == '\t') { b->state = ETCD__CH_EXT; return 0; }
        if (c == '\r') { b->state = ETCD__CH_SIZE_LF; return 0; }
        return (int)etcd__chunk_fail(err, "bad chunk size");
    case ETCD__CH_EXT:
        if (c == '\r') b->state = ETCD__CH_SIZE_LF;
        else if (c == '\n') return (int)etcd__chunk_fail(err, "bad chunk extension");
        return 0;
    case ETCD__CH_SIZE_LF:
        if (c != '\n') return (int)etcd__chunk_fail(err, "bad chunk size line");
        b->line = 0;
        b->state = b->left ? ETCD__CH_DATA : ETCD__CH_TRAILER;
        return 0;
    case ETCD__CH_DATA_CR:
        if (c != '\r') return (int)etcd__chunk_fail(err, "chunk longer than its size");
        b->state = ETCD__CH_DATA_LF;
        return 0;
    case ETCD__CH_DATA_LF:
        if (c != '\n') return (int)etcd__chunk_fail(err, "chunk longer than its size");
        b->state = ETCD__CH_SIZE; b->left = 0; b->digits = false; b->line = 0;
        return 0;
    case ETCD__CH_TRAILER:
        b->state = c == '\r' ? ETCD__CH_END_LF : ETCD__CH_TRAILER_LINE;
        return 0;
    case ETCD__CH_TRAILER_LINE:
        if (c == '\r') b->state = ETCD__CH_TRAILER_LF;
        return 0;
    case ETCD__CH_TRAILER_LF:
        if (c != '\n') return (int)etcd__chunk_fail(err, "bad trailer");
        b->state = ETCD__CH_TRAILER; b->line = 0;
        return 0;
    default: /* ETCD__CH_END_LF */
        if (c != '\n') return (int)etcd__chunk_fail(err, "bad end of chunked body");
        b->state = ETCD__CH_DONE;
        b->done = true;
        return 0;
    }
}

/* Move body bytes from in[0..n) to out, decoding chunks; out may not grow
   past max. Returns the bytes of in consumed (fewer than n only once the
   body is done), or -1 with err. */
static long etcd__body_feed(etcd__body *b, const char *in, size_t n, etcd__buf *out,
                            size_t max, etcd__error *err)
{
    size_t i = 0, take;
    if (b->mode == ETCD__BODY_LENGTH && b->left > max - out->len) return etcd__too_big(err, max);
    while (i < n && !b->done) {
        if (b->mode == ETCD__BODY_CHUNKED && b->state != ETCD__CH_DATA) {
            if (etcd__chunk_byte(b, in[i++], err) < 0) return -1;
            if (b->state == ETCD__CH_DATA && b->left > max - out->len) return etcd__too_big(err, max);
            continue;
        }
        take = n - i;
        if (b->mode != ETCD__BODY_EOF && take > b->left) take = (size_t)b->left;
        if (take > max - out->len) return etcd__too_big(err, max);
        etcd__buf_add(out, in + i, take);
        if (out->oom) { etcd__errf(err, ETCD_ENOMEM, "out of memory"); return -1; }
        i += take;
        if (b->mode == ETCD__BODY_EOF) continue;
        b->left -= take;
        if (b->left == 0) {
            if (b->mode == ETCD__BODY_LENGTH) b->done = true;
            else b->state = ETCD__CH_DATA_CR;
        }
    }
    return (long)i;
}

static void etcd__body_init(etcd__body *b, const etcd__resp *r)
{
    memset(b, 0, sizeof *b);
    if (r->chunked) b->mode = ETCD__BODY_CHUNKED;
    else if (r->clen >= 0) { b->mode = ETCD__BODY_LENGTH; b->left = (uint64_t)r->clen; b->done = r->clen == 0; }
    else b->mode = ETCD__BODY_EOF;
    if (r->status == 204 || r->status == 304) b->done = true;
}

/* ------------------------------------------------------------------------
   >>decode  one arena per result: the etcd_res first, then the body copy,
   arrays and decoded strings; decoding is driven by field tables
   ------------------------------------------------------------------------ */

typedef struct etcd__blk { struct etcd__blk *next; size_t cap, used; } etcd__blk;
#define ETCD__ALIGN 16u
#define ETCD__HDR   ((sizeof(etcd__blk) + ETCD__ALIGN - 1) / ETCD__ALIGN * ETCD__ALIGN)

typedef struct etcd__arena {
    etcd__blk *first, *cur;
    size_t total, limit;         /* bytes in blocks; limit 0: none */
    bool over;                   /* an allocation failed on the limit */
} etcd__arena;

static etcd__blk *etcd__blk_new(size_t cap)
{
    etcd__blk *b;
    if (cap > (size_t)-1 - ETCD__HDR) return NULL;
    b = (etcd__blk *)ETCD_MALLOC(ETCD__HDR + cap);
    if (b) { b->next = NULL; b->cap = cap; b->used = 0; }
    return b;
}

/* Memory from the arena (bytes, for strings); a new block when the
   current one is full. */
static char *etcd__take(etcd__arena *a, size_t n, size_t align)
{
    etcd__blk *b = a->cur;
    size_t at = (b->used + align - 1) & ~(align - 1);
    if (at > b->cap || n > b->cap - at) {
        size_t cap = n > b->cap ? n : b->cap;
        etcd__blk *nb;
        if (a->limit && (cap > a->limit || a->total > a->limit - cap)) { a->over = true; return NULL; }
        if (!(nb = etcd__blk_new(cap))) return NULL;
        a->total += cap;
        nb->next = b->next;          /* arrays' own blocks may follow b */
        b->next = nb;
        a->cur = b = nb;
        at = 0;
    }
    b->used = at + n;
    return (char *)b + ETCD__HDR + at;
}

/* Zeroed, aligned memory for a struct or an array of them. */
static void *etcd__alloc(etcd__arena *a, size_t n)
{
    char *p = etcd__take(a, n, ETCD__ALIGN);
    if (p) memset(p, 0, n);
    return p;
}

/* An array of count elements of size bytes, overflow-checked. */
static void *etcd__alloc_n(etcd__arena *a, size_t count, size_t size)
{
    if (count && size > (size_t)-1 / count) return NULL;
    return etcd__alloc(a, count * size);
}

static void etcd__blk_free(etcd__blk *b)
{
    while (b) {
        etcd__blk *next = b->next;
        ETCD_FREE(b);
        b = next;
    }
}

ETCDDEF void etcd_res_free(etcd_res *res)
{
    if (res) etcd__blk_free((etcd__blk *)(void *)((char *)res - ETCD__HDR));
}

/* The decoder walks the body once, strictly (RFC 8259), straight into the
   result: no token array, so decoding a body costs one pass and memory in
   proportion to what the result holds. */
typedef struct etcd__dec {
    const char *s;               /* the JSON text */
    size_t n, i;                 /* its length; the read position */
    unsigned depth;
    bool syntax;                 /* the failure was the JSON itself, not a field's type */
    etcd__arena a;
    etcd__error *err;
} etcd__dec;

/* Field kinds: scalars, then arrays (ETCD__F_KVS to ETCD__F_PERMS), then
   objects. */
enum { ETCD__F_I64, ETCD__F_U64, ETCD__F_INT, ETCD__F_BOOL, ETCD__F_STR, ETCD__F_B64, ETCD__F_EVTYPE,
       ETCD__F_ENUM,
       ETCD__F_KVS, ETCD__F_EVENTS, ETCD__F_RESPONSES, ETCD__F_KEYS, ETCD__F_LEASES, ETCD__F_STRS,
       ETCD__F_MEMBERS, ETCD__F_ALARMS, ETCD__F_PERMS,
       ETCD__F_NEST, ETCD__F_ERROR, ETCD__F_KV, ETCD__F_KVIN, ETCD__F_KV1, ETCD__F_LEADER, ETCD__F_MEMBER };

/* ETCD__F_ENUM: etcd writes enums by name; off2 picks the list. */
enum { ETCD__E_ALARM, ETCD__E_PERM };
static const char *const etcd__enum_names[][4] = { { "NONE", "NOSPACE", "CORRUPT", NULL },
                                                    { "READ", "WRITE", "READWRITE", NULL } };

typedef struct etcd__field {
    const char *name;
    unsigned char len, kind;
    unsigned short off, off2;    /* where the value goes; off2: its count or length */
} etcd__field;

#define ETCD__F(name, kind, T, f)        { name, sizeof name - 1, ETCD__F_##kind, \
                                           (unsigned short)offsetof(T, f), 0 }
#define ETCD__F2(name, kind, T, f, n)    { name, sizeof name - 1, ETCD__F_##kind, \
                                           (unsigned short)offsetof(T, f), (unsigned short)offsetof(T, n) }
#define ETCD__F0(name, kind)             { name, sizeof name - 1, ETCD__F_##kind, 0, 0 }
#define ETCD__FE(name, T, f, list)       { name, sizeof name - 1, ETCD__F_ENUM, \
                                           (unsigned short)offsetof(T, f), list }

/* In the order etcd writes them: a lookup tries the member after the last
   one found first. */
static const etcd__field etcd__res_fields[] = {
    ETCD__F0("header", NEST), ETCD__F("cluster_id", U64, etcd_res, cluster_id),
    ETCD__F("member_id", U64, etcd_res, member_id), ETCD__F("revision", I64, etcd_res, revision),
    ETCD__F("raft_term", I64, etcd_res, raft_term), ETCD__F0("result", NEST),
    ETCD__F("error", ERROR, etcd_res, error), ETCD__F("code", INT, etcd_res, code),
    ETCD__F("grpc_code", INT, etcd_res, code), ETCD__F("message", STR, etcd_res, message),
    ETCD__F2("kvs", KVS, etcd_res, kvs, nkvs), ETCD__F("more", BOOL, etcd_res, more),
    ETCD__F("count", I64, etcd_res, count), ETCD__F("prev_kv", KV, etcd_res, prev_kv),
    ETCD__F("deleted", I64, etcd_res, deleted),
    ETCD__F2("prev_kvs", KVS, etcd_res, prev_kvs, nprev_kvs),
    ETCD__F("succeeded", BOOL, etcd_res, succeeded),
    ETCD__F2("responses", RESPONSES, etcd_res, responses, nresponses),
    ETCD__F("watch_id", I64, etcd_res, watch_id), ETCD__F("created", BOOL, etcd_res, created),
    ETCD__F("canceled", BOOL, etcd_res, canceled),
    ETCD__F("compact_revision", I64, etcd_res, compact_revision),
    ETCD__F("cancel_reason", STR, etcd_res, cancel_reason),
    ETCD__F("fragment", BOOL, etcd_res, fragment),
    ETCD__F2("events", EVENTS, etcd_res, events, nevents),
    ETCD__F("ID", I64, etcd_res, id), ETCD__F("TTL", I64, etcd_res, ttl),
    ETCD__F("grantedTTL", I64, etcd_res, granted_ttl),
    ETCD__F2("keys", KEYS, etcd_res, keys, nkeys), ETCD__F2("leases", LEASES, etcd_res, leases, nleases),
    ETCD__F("etcdserver", STR, etcd_res, etcdserver), ETCD__F("etcdcluster", STR, etcd_res, etcdcluster),
    ETCD__F2("key", B64, etcd_res, lock_key.ptr, lock_key.len),
    ETCD__F2("leader", LEADER, etcd_res, leader, leader_id), ETCD__F2("kv", KV1, etcd_res, kvs, nkvs),
    ETCD__F2("members", MEMBERS, etcd_res, members, nmembers), ETCD__F("member", MEMBER, etcd_res, member),
    ETCD__F("version", STR, etcd_res, version), ETCD__F("dbSize", I64, etcd_res, db_size),
    ETCD__F("raftIndex", U64, etcd_res, raft_index), ETCD__F("raftTerm", I64, etcd_res, raft_term),
    ETCD__F("raftAppliedIndex", U64, etcd_res, raft_applied_index),
    ETCD__F2("errors", STRS, etcd_res, errors, nerrors), ETCD__F("dbSizeInUse", I64, etcd_res, db_size_in_use),
    ETCD__F("isLearner", BOOL, etcd_res, is_learner), ETCD__F("hash", U64, etcd_res, hash),
    ETCD__F("hash_revision", I64, etcd_res, hash_revision),
    ETCD__F2("alarms", ALARMS, etcd_res, alarms, nalarms),
    ETCD__F("enabled", BOOL, etcd_res, enabled), ETCD__F("authRevision", U64, etcd_res, auth_revision),
    ETCD__F2("users", STRS, etcd_res, names, nnames), ETCD__F2("roles", STRS, etcd_res, names, nnames),
    ETCD__F2("perm", PERMS, etcd_res, perms, nperms),
    ETCD__F("remaining_bytes", I64, etcd_res, remaining_bytes), ETCD__F2("blob", B64, etcd_res, blob.ptr, blob.len),
};

static const etcd__field etcd__member_fields[] = {
    ETCD__F("ID", U64, etcd_member, id), ETCD__F("name", STR, etcd_member, name),
    ETCD__F2("peerURLs", STRS, etcd_member, peer_urls, npeer_urls),
    ETCD__F2("clientURLs", STRS, etcd_member, client_urls, nclient_urls),
    ETCD__F("isLearner", BOOL, etcd_member, is_learner),
};

static const etcd__field etcd__alarm_fields[] = {
    ETCD__F("memberID", U64, etcd_alarm, member_id), ETCD__FE("alarm", etcd_alarm, alarm, ETCD__E_ALARM),
};

static const etcd__field etcd__perm_fields[] = {
    ETCD__FE("permType", etcd_perm, perm, ETCD__E_PERM),
    ETCD__F2("key", B64, etcd_perm, key.ptr, key.len), ETCD__F2("range_end", B64, etcd_perm, range_end.ptr, range_end.len),
};

static const etcd__field etcd__leader_fields[] = {
    ETCD__F2("name", B64, etcd_leader_key, name.ptr, name.len),
    ETCD__F2("key", B64, etcd_leader_key, key.ptr, key.len),
    ETCD__F("rev", I64, etcd_leader_key, rev), ETCD__F("lease", I64, etcd_leader_key, lease),
};

static const etcd__field etcd__kv_fields[] = {
    ETCD__F2("key", B64, etcd_kv, key, key_len),
    ETCD__F("create_revision", I64, etcd_kv, create_revision),
    ETCD__F("mod_revision", I64, etcd_kv, mod_revision),
    ETCD__F("version", I64, etcd_kv, version), ETCD__F2("value", B64, etcd_kv, value, value_len),
    ETCD__F("lease", I64, etcd_kv, lease),
};

static const etcd__field etcd__event_fields[] = {
    ETCD__F("type", EVTYPE, etcd_event, type), ETCD__F("kv", KVIN, etcd_event, kv),
    ETCD__F("prev_kv", KV, etcd_event, prev_kv),
};

static const etcd__field etcd__lease_fields[] = { ETCD__F0("ID", I64) };

#define ETCD__NFIELDS(t) (sizeof(t) / sizeof((t)[0]))

/* Store a pointer into a field of exactly type T (no aliasing through
   another pointer type). */
#define ETCD__STORE(p, T, v) do { T etcd__v = (T)(v); memcpy((p), &etcd__v, sizeof etcd__v); } while (0)
#define ETCD__DEC_FACTOR 16u     /* results may take 16x the body (+64 KiB), no more */

static int etcd__dec_obj(etcd__dec *d, const etcd__field *tab, size_t ntab, void *base);

static int etcd__dec_nomem(etcd__dec *d)
{
    if (d->a.over) etcd__errf(d->err, ETCD_ETOOLARGE, "response too complex: decoding it would take over %ux its size",
                              ETCD__DEC_FACTOR);
    else etcd__errf(d->err, ETCD_ENOMEM, "out of memory");
    return -1;
}

static int etcd__dec_syntax(etcd__dec *d)
{
    d->syntax = true;
    etcd__errf(d->err, ETCD_EPROTO, "malformed JSON in response");
    return -1;
}

static int etcd__dec_bad(etcd__dec *d, const char *name)
{
    etcd__errf(d->err, ETCD_EPROTO, "malformed JSON response: field \"%s\" has the wrong type or value", name);
    return -1;
}

static char etcd__dec_blanks(etcd__dec *d)
{
    etcd__ws(d->s, d->n, &d->i);
    return d->i < d->n ? d->s[d->i] : 0;
}

/* The next byte after blanks, not consumed; 0 at the end. etcd writes no
   blanks: the first test is the one that counts, and small enough to be
   inlined everywhere. */
static inline char etcd__dec_peek(etcd__dec *d)
{
    return d->i < d->n && (unsigned char)d->s[d->i] > ' ' ? d->s[d->i] : etcd__dec_blanks(d);
}

static int etcd__dec_eat(etcd__dec *d, char c)
{
    if (etcd__dec_peek(d) != c) return etcd__dec_syntax(d);
    d->i++;
    return 0;
}

/* The first token of the next value: a scalar consumed whole (a string as
   its span without quotes, size 1 when it holds escapes), a container
   only looked at (its type; d->i stays on the bracket). */
static int etcd__dec_next(etcd__dec *d, etcd_json_tok *t)
{
    static const char *const lit[] = { "true", "false", "null" };
    static const etcd_json_type typ[] = { ETCD_JSON_TRUE, ETCD_JSON_FALSE, ETCD_JSON_NULL };
    const char *q;
    char c = etcd__dec_peek(d);
    int k;
    t->start = d->i;
    t->size = 0;
    if (c == '{' || c == '[') { t->type = c == '{' ? ETCD_JSON_OBJECT : ETCD_JSON_ARRAY; return 0; }
    if (c == '"') {
        /* etcd's strings (base64, digits) hold no escape: their end is the
           next quote. The bytes between are checked by whoever uses them,
           or here when there is a backslash. */
        t->type = ETCD_JSON_STRING;
        q = (const char *)memchr(d->s + d->i + 1, '"', d->n - d->i - 1);
        if (q && !memchr(d->s + d->i + 1, '\\', (size_t)(q - d->s) - d->i - 1)) {
            t->start = d->i + 1;
            t->end = (size_t)(q - d->s);
            d->i = t->end + 1;
            return 0;
        }
        if (!etcd__scan_string(d->s, d->n, &d->i)) return etcd__dec_syntax(d);
        t->start++;
        t->end = d->i - 1;
        t->size = 1;
        return 0;
    }
    for (k = 0; k < 3 && c != lit[k][0]; k++) {}
    if (k < 3) {
        size_t n = strlen(lit[k]);
        if (d->n - d->i < n || memcmp(d->s + d->i, lit[k], n)) return etcd__dec_syntax(d);
        t->type = typ[k];
        d->i += n;
    } else {
        if (!etcd__scan_number(d->s, d->n, &d->i)) return etcd__dec_syntax(d);
        t->type = ETCD_JSON_NUMBER;
    }
    t->end = d->i;
    return 0;
}

/* A plain string's bytes are valid JSON string content: no control byte,
   valid UTF-8. */
static bool etcd__dec_plain_ok(const etcd__dec *d, const etcd_json_tok *t)
{
    size_t i = t->start - 1;
    return t->size || (etcd__scan_string(d->s, d->n, &i) && i == t->end + 1);
}

static int etcd__dec_skip(etcd__dec *d);

/* Skip "{...}" or "[...]" at d->i, checking it. */
static int etcd__dec_skip_container(etcd__dec *d, char close)
{
    etcd_json_tok k;
    if (++d->depth > ETCD_JSON_MAX_DEPTH) return etcd__dec_syntax(d);
    d->i++;
    if (etcd__dec_peek(d) != close) {
        for (;;) {
            if (close == '}' && (etcd__dec_peek(d) != '"' || etcd__dec_next(d, &k) < 0 ||
                                 !etcd__dec_plain_ok(d, &k) || etcd__dec_eat(d, ':') < 0))
                return etcd__dec_syntax(d);
            if (etcd__dec_skip(d) < 0) return -1;
            if (etcd__dec_peek(d) == close) break;
            if (etcd__dec_eat(d, ',') < 0) return -1;
        }
    }
    d->i++;
    d->depth--;
    return 0;
}

/* Skip any value, checking it. */
static int etcd__dec_skip(etcd__dec *d)
{
    etcd_json_tok t;
    if (etcd__dec_next(d, &t) < 0) return -1;
    if (t.type == ETCD_JSON_OBJECT || t.type == ETCD_JSON_ARRAY)
        return etcd__dec_skip_container(d, t.type == ETCD_JSON_OBJECT ? '}' : ']');
    if (t.type == ETCD_JSON_STRING && !etcd__dec_plain_ok(d, &t)) return etcd__dec_syntax(d);
    return 0;
}

/* A value of the wrong type for field name: a syntax error if it is not
   even JSON, else a field error. */
static int etcd__dec_wrong(etcd__dec *d, size_t at, const char *name)
{
    d->i = at;
    return etcd__dec_skip(d) < 0 ? -1 : etcd__dec_bad(d, name);
}

/* A string token's bytes, unescaped into the arena and NUL-terminated;
   room: bytes to allocate (at least the span + 1). */
static char *etcd__dec_text(etcd__dec *d, const etcd_json_tok *t, size_t room, size_t *len)
{
    size_t n = t->end - t->start;
    char *o = etcd__take(&d->a, room, 1);
    if (!o) { etcd__dec_nomem(d); return NULL; }
    if (t->size) *len = etcd__json_unescape(o, d->s + t->start, n);
    else { memcpy(o, d->s + t->start, n); *len = n; }
    o[*len] = 0;
    return o;
}

static int etcd__dec_strn(etcd__dec *d, const char *name, const char **out, size_t *len)
{
    etcd_json_tok t;
    size_t at = d->i;
    if (etcd__dec_next(d, &t) < 0) return -1;
    if (t.type != ETCD_JSON_STRING) return etcd__dec_wrong(d, at, name);
    if (!etcd__dec_plain_ok(d, &t)) return etcd__dec_syntax(d);
    return (*out = etcd__dec_text(d, &t, t.end - t.start + 1, len)) ? 0 : -1;
}

static int etcd__dec_str(etcd__dec *d, const char *name, const char **out)
{
    size_t n;
    return etcd__dec_strn(d, name, out, &n);
}

/* Base64 straight from the body into the arena: the decoder's alphabet
   check is the string's check too. */
static int etcd__dec_b64(etcd__dec *d, const char *name, const char **out, size_t *outlen)
{
    etcd_json_tok t;
    size_t at = d->i, n;
    const char *q;
    long r;
    char *o;
    if (etcd__dec_peek(d) == '"' && (q = (const char *)memchr(d->s + d->i + 1, '"', d->n - d->i - 1))) {
        n = (size_t)(q - d->s) - d->i - 1;    /* no escape is base64: a backslash fails below */
        if (!(o = etcd__take(&d->a, n / 4 * 3 + 3, 1))) return etcd__dec_nomem(d);
        if ((r = etcd__b64_decode((unsigned char *)o, d->s + d->i + 1, n)) >= 0) {
            d->i += n + 2;
            o[r] = 0;
            *out = o;
            *outlen = (size_t)r;
            return 0;
        }
    }
    if (etcd__dec_next(d, &t) < 0) return -1;
    if (t.type != ETCD_JSON_STRING) return etcd__dec_wrong(d, at, name);
    n = t.end - t.start;
    if (t.size) {                                  /* escaped: unescape, then decode */
        if (!(o = etcd__dec_text(d, &t, n + 1, &n))) return -1;
        r = etcd__b64_decode((unsigned char *)o, o, n);
    } else {
        if (!(o = etcd__take(&d->a, n / 4 * 3 + 3, 1))) return etcd__dec_nomem(d);
        r = etcd__b64_decode((unsigned char *)o, d->s + t.start, n);
    }
    if (r < 0) return etcd__dec_plain_ok(d, &t) ? etcd__dec_bad(d, name) : etcd__dec_syntax(d);
    o[r] = 0;
    *out = o;
    *outlen = (size_t)r;
    return 0;
}

/* An integer as etcd writes it ("123") or as a number: its digits. */
static int etcd__dec_digits(etcd__dec *d, const char *name, etcd_json_tok *t)
{
    size_t at = d->i, j;
    if (etcd__dec_peek(d) == '"') {           /* "123": no need to look further */
        for (j = d->i + 1; j < d->n && (etcd__isdigit(d->s[j]) || d->s[j] == '-'); j++) {}
        if (j < d->n && d->s[j] == '"') {
            t->type = ETCD_JSON_STRING;
            t->start = d->i + 1;
            t->end = j;
            t->size = 0;
            d->i = j + 1;
            return 0;
        }
    }
    if (etcd__dec_next(d, t) < 0) return -1;
    if (t->type == ETCD_JSON_STRING && !etcd__dec_plain_ok(d, t)) return etcd__dec_syntax(d);
    if (t->type == ETCD_JSON_NUMBER || (t->type == ETCD_JSON_STRING && !t->size)) return 0;
    return etcd__dec_wrong(d, at, name);
}

static int etcd__dec_i64(etcd__dec *d, const char *name, int64_t *v)
{
    etcd_json_tok t;
    const char *s = d->s + d->i;
    size_t room = d->n - d->i, k = 1, most = room < 19 ? room : 19;
    uint64_t u = 0;
    unsigned dg;
    if (room && s[0] == '"') {                /* etcd's "123": up to 18 digits need no check */
        while (k < most && (dg = (unsigned)(unsigned char)s[k] - '0') < 10) { u = u * 10 + dg; k++; }
        if (k > 1 && k < room && s[k] == '"') {
            *v = (int64_t)u;
            d->i += k + 1;
            return 0;
        }
    }
    if (etcd__dec_digits(d, name, &t) < 0) return -1;
    return etcd__parse_i64(d->s + t.start, t.end - t.start, v) ? 0 : etcd__dec_bad(d, name);
}

/* kv: zeroed memory. */
static int etcd__dec_kv(etcd__dec *d, etcd_kv *kv)
{
    if (etcd__dec_obj(d, etcd__kv_fields, ETCD__NFIELDS(etcd__kv_fields), kv) < 0) return -1;
    if (!kv->key) kv->key = etcd__empty;
    if (!kv->value) kv->value = etcd__empty;
    return 0;
}

static int etcd__dec_leader(etcd__dec *d, char *p)
{
    etcd_leader_key *l = (etcd_leader_key *)etcd__alloc(&d->a, sizeof *l);
    if (!l) return etcd__dec_nomem(d);
    ETCD__STORE(p, const etcd_leader_key *, l);
    if (etcd__dec_obj(d, etcd__leader_fields, ETCD__NFIELDS(etcd__leader_fields), l) < 0) return -1;
    if (!l->name.ptr) l->name.ptr = etcd__empty;
    if (!l->key.ptr) l->key.ptr = etcd__empty;
    return 0;
}

/* Arrays: each element decoded by one function into zeroed memory. */
typedef int (*etcd__dec_elem)(etcd__dec *d, void *elem);

static int etcd__dec_kv_elem(etcd__dec *d, void *e) { return etcd__dec_kv(d, (etcd_kv *)e); }

static int etcd__dec_event_elem(etcd__dec *d, void *e)
{
    etcd_event *ev = (etcd_event *)e;
    if (etcd__dec_obj(d, etcd__event_fields, ETCD__NFIELDS(etcd__event_fields), e) < 0) return -1;
    if (!ev->kv.key) ev->kv.key = etcd__empty;          /* even when "kv" is missing */
    if (!ev->kv.value) ev->kv.value = etcd__empty;
    return 0;
}

static int etcd__dec_lease_elem(etcd__dec *d, void *e)
{
    return etcd__dec_obj(d, etcd__lease_fields, 1, e);
}

static int etcd__dec_key_elem(etcd__dec *d, void *e)
{
    etcd_str *s = (etcd_str *)e;
    return etcd__dec_b64(d, "keys", &s->ptr, &s->len);
}

static int etcd__dec_str_elem(etcd__dec *d, void *e)
{
    etcd_str *s = (etcd_str *)e;
    return etcd__dec_strn(d, "string", &s->ptr, &s->len);
}

static int etcd__dec_member_elem(etcd__dec *d, void *e)
{
    etcd_member *m = (etcd_member *)e;
    if (etcd__dec_obj(d, etcd__member_fields, ETCD__NFIELDS(etcd__member_fields), m) < 0) return -1;
    if (!m->name) m->name = etcd__empty;
    return 0;
}

static int etcd__dec_alarm_elem(etcd__dec *d, void *e)
{
    return etcd__dec_obj(d, etcd__alarm_fields, ETCD__NFIELDS(etcd__alarm_fields), e);
}

static int etcd__dec_perm_elem(etcd__dec *d, void *e)
{
    etcd_perm *p = (etcd_perm *)e;
    if (etcd__dec_obj(d, etcd__perm_fields, ETCD__NFIELDS(etcd__perm_fields), p) < 0) return -1;
    if (!p->key.ptr) p->key.ptr = etcd__empty;
    if (!p->range_end.ptr) p->range_end.ptr = etcd__empty;
    return 0;
}

/* An enum by its name ("NOSPACE"), or its number; a name this release of
   etcd.h does not know is -1. */
static int etcd__dec_enum(etcd__dec *d, const etcd__field *f, int *v)
{
    const char *const *names = etcd__enum_names[f->off2];
    etcd_json_tok t;
    size_t at = d->i, k;
    int64_t n;
    if (etcd__dec_peek(d) != '"' || (d->i + 1 < d->n && etcd__isdigit(d->s[d->i + 1]))) {
        if (etcd__dec_i64(d, f->name, &n) < 0) return -1;
        if (n < INT_MIN || n > INT_MAX) return etcd__dec_bad(d, f->name);
        *v = (int)n;
        return 0;
    }
    if (etcd__dec_next(d, &t) < 0) return -1;
    if (t.type != ETCD_JSON_STRING) return etcd__dec_wrong(d, at, f->name);
    if (!etcd__dec_plain_ok(d, &t)) return etcd__dec_syntax(d);
    *v = -1;
    for (k = 0; names[k]; k++)
        if (strlen(names[k]) == t.end - t.start && !memcmp(names[k], d->s + t.start, t.end - t.start)) *v = (int)k;
    return 0;
}

/* txn: each element is {"response_range"|"response_put"|...: {...}}. */
static int etcd__dec_response_elem(etcd__dec *d, void *e)
{
    etcd_json_tok k;
    size_t at = d->i;
    ((etcd_res *)e)->status = 200;
    if (etcd__dec_peek(d) != '{') return etcd__dec_wrong(d, at, "responses");
    if (++d->depth > ETCD_JSON_MAX_DEPTH) return etcd__dec_syntax(d);   /* a level of its own */
    d->i++;
    if (etcd__dec_peek(d) != '"' || etcd__dec_next(d, &k) < 0 || !etcd__dec_plain_ok(d, &k) ||
        etcd__dec_eat(d, ':') < 0)
        return etcd__dec_wrong(d, at, "responses");
    if (etcd__dec_obj(d, etcd__res_fields, ETCD__NFIELDS(etcd__res_fields), e) < 0) return -1;
    d->depth--;
    return etcd__dec_peek(d) == '}' ? (d->i++, 0) : etcd__dec_wrong(d, at, "responses");
}

/* Room for more elements: the first few sit on the caller's stack, more
   in a block of their own that grows in place (no copy of a big array). */
static char *etcd__dec_grow(etcd__dec *d, etcd__blk **big, char *buf, size_t *cap, size_t size)
{
    size_t want = *cap * 2, bytes, had = *big ? (*big)->cap : 0;
    etcd__blk *nb;
    if (want > ((size_t)-1 - ETCD__HDR) / size) return NULL;
    bytes = want * size;
    if (d->a.limit && (bytes > d->a.limit || d->a.total - had > d->a.limit - bytes)) { d->a.over = true; return NULL; }
    nb = (etcd__blk *)ETCD_REALLOC(*big, ETCD__HDR + bytes);
    if (!nb) return NULL;
    if (!*big) memcpy((char *)nb + ETCD__HDR, buf, *cap * size);
    d->a.total += bytes - had;
    nb->next = NULL;
    nb->cap = nb->used = bytes;
    *big = nb;
    *cap = want;
    return (char *)nb + ETCD__HDR;
}

/* Decode the array at d->i into elements of size bytes; *out gets the
   array (NULL when empty) for the caller to store with its real type. */
static int etcd__dec_array(etcd__dec *d, const char *name, size_t size, etcd__dec_elem fn,
                           void **out, size_t *count)
{
    union { etcd_res r; etcd_event e; char c[1024]; } local;
    char *buf = local.c;
    size_t cap = sizeof local / size, n = 0, at = d->i;
    etcd__blk *big = NULL;
    int rc = 0;
    if (etcd__dec_peek(d) != '[') return etcd__dec_wrong(d, at, name);
    if (++d->depth > ETCD_JSON_MAX_DEPTH) return etcd__dec_syntax(d);
    d->i++;
    if (etcd__dec_peek(d) == ']') { d->i++; d->depth--; return 0; }
    for (;;) {
        char c;
        if (n == cap && !(buf = etcd__dec_grow(d, &big, buf, &cap, size))) { rc = etcd__dec_nomem(d); break; }
        memset(buf + n * size, 0, size);
        if ((rc = fn(d, buf + n++ * size)) < 0) break;
        if ((c = etcd__dec_peek(d)) == ']') break;
        if (c != ',') { rc = etcd__dec_syntax(d); break; }
        d->i++;
    }
    if (rc < 0) { ETCD_FREE(big); return -1; }
    d->i++;
    d->depth--;
    if (big) {                   /* into the result's chain */
        big->next = d->a.first->next;
        d->a.first->next = big;
    } else if ((buf = (char *)etcd__alloc_n(&d->a, n, size)) != NULL) {
        memcpy(buf, local.c, n * size);
    } else {
        return etcd__dec_nomem(d);
    }
    *out = buf;
    *count = n;
    return 0;
}

static int etcd__dec_digits_u64(etcd__dec *d, const char *name, uint64_t *v)
{
    etcd_json_tok t;
    if (etcd__dec_digits(d, name, &t) < 0) return -1;
    return etcd__parse_u64(d->s + t.start, t.end - t.start, v) ? 0 : etcd__dec_bad(d, name);
}

static int etcd__dec_member_one(etcd__dec *d, char *p)
{
    etcd_member *m = (etcd_member *)etcd__alloc(&d->a, sizeof *m);
    if (!m) return etcd__dec_nomem(d);
    ETCD__STORE(p, const etcd_member *, m);
    return etcd__dec_member_elem(d, m);
}

static int etcd__dec_scalar(etcd__dec *d, const etcd__field *f, char *p)
{
    etcd_json_tok t;
    size_t at = d->i;
    int64_t v;
    switch (f->kind) {
    case ETCD__F_I64:
        return etcd__dec_i64(d, f->name, (int64_t *)(void *)p);
    case ETCD__F_INT:
        if (etcd__dec_i64(d, f->name, &v) < 0) return -1;
        if (v < INT_MIN || v > INT_MAX) return etcd__dec_bad(d, f->name);
        *(int *)(void *)p = (int)v;
        return 0;
    case ETCD__F_U64:
        return etcd__dec_digits_u64(d, f->name, (uint64_t *)(void *)p);
    case ETCD__F_ENUM:
        return etcd__dec_enum(d, f, (int *)(void *)p);
    case ETCD__F_BOOL:
        if (etcd__dec_next(d, &t) < 0) return -1;
        if (t.type != ETCD_JSON_TRUE && t.type != ETCD_JSON_FALSE) return etcd__dec_wrong(d, at, f->name);
        *(bool *)(void *)p = t.type == ETCD_JSON_TRUE;
        return 0;
    case ETCD__F_STR:
        return etcd__dec_str(d, f->name, (const char **)(void *)p);
    case ETCD__F_EVTYPE:
        if (etcd__dec_skip(d) < 0) return -1;
        if ((d->i - at == 8 && !memcmp(d->s + at, "\"DELETE\"", 8)) || (d->i - at == 1 && d->s[at] == '1'))
            *(etcd_event_type *)(void *)p = ETCD_EVENT_DELETE;
        return 0;
    default: /* ETCD__F_B64 */
        return etcd__dec_b64(d, f->name, (const char **)(void *)p, (size_t *)(void *)(p - f->off + f->off2));
    }
}


/* The array kinds, in ETCD__F_KVS order: element size and decoder. */
static const struct etcd__list { size_t size; etcd__dec_elem fn; } etcd__lists[] = {
    { sizeof(etcd_kv), etcd__dec_kv_elem }, { sizeof(etcd_event), etcd__dec_event_elem },
    { sizeof(etcd_res), etcd__dec_response_elem }, { sizeof(etcd_str), etcd__dec_key_elem },
    { sizeof(int64_t), etcd__dec_lease_elem }, { sizeof(etcd_str), etcd__dec_str_elem },
    { sizeof(etcd_member), etcd__dec_member_elem }, { sizeof(etcd_alarm), etcd__dec_alarm_elem },
    { sizeof(etcd_perm), etcd__dec_perm_elem },
};

/* An array into the field at p (typed: no aliasing through another
   pointer type) and its count. */
static int etcd__dec_list(etcd__dec *d, const etcd__field *f, char *p, size_t *cnt)
{
    const struct etcd__list *l = &etcd__lists[f->kind - ETCD__F_KVS];
    void *arr = NULL;
    int rc = etcd__dec_array(d, f->name, l->size, l->fn, &arr, cnt);
    switch (f->kind) {
    case ETCD__F_KVS:       ETCD__STORE(p, const etcd_kv *, arr); break;
    case ETCD__F_EVENTS:    ETCD__STORE(p, const etcd_event *, arr); break;
    case ETCD__F_RESPONSES: ETCD__STORE(p, const etcd_res *, arr); break;
    case ETCD__F_LEASES:    ETCD__STORE(p, const int64_t *, arr); break;
    case ETCD__F_MEMBERS:   ETCD__STORE(p, const etcd_member *, arr); break;
    case ETCD__F_ALARMS:    ETCD__STORE(p, const etcd_alarm *, arr); break;
    case ETCD__F_PERMS:     ETCD__STORE(p, const etcd_perm *, arr); break;
    default:                ETCD__STORE(p, const etcd_str *, arr); break;   /* KEYS, STRS */
    }
    return rc;
}

static int etcd__dec_field(etcd__dec *d, const etcd__field *f, const etcd__field *tab, size_t ntab, char *base)
{
    char *p = base + f->off;
    etcd_res *res = (etcd_res *)(void *)base;
    etcd_kv *kv;
    char c = etcd__dec_peek(d);
    if (c == 'n') return etcd__dec_skip(d);              /* null: same as omitted */
    switch (f->kind) {
    case ETCD__F_NEST:
        return etcd__dec_obj(d, tab, ntab, base);
    case ETCD__F_ERROR:        /* a string, or an object inside a watch stream */
        if (c != '{') return etcd__dec_str(d, f->name, &res->error);
        if (etcd__dec_obj(d, tab, ntab, base) < 0) return -1;
        if (!res->error) res->error = res->message ? res->message : "error";
        return 0;
    case ETCD__F_KV:
        if (!(kv = (etcd_kv *)etcd__alloc(&d->a, sizeof *kv))) return etcd__dec_nomem(d);
        ETCD__STORE(p, const etcd_kv *, kv);
        return etcd__dec_kv(d, kv);
    case ETCD__F_KVIN:         /* a repeated "kv" replaces the first whole, on either path */
        memset(p, 0, sizeof(etcd_kv));
        return etcd__dec_kv(d, (etcd_kv *)(void *)p);
    case ETCD__F_KV1:          /* one kv (election leader, observe) as kvs[0] */
        if (c != '{') return etcd__dec_skip(d);       /* the same name in another answer */
        if (!(kv = (etcd_kv *)etcd__alloc(&d->a, sizeof *kv))) return etcd__dec_nomem(d);
        ETCD__STORE(p, const etcd_kv *, kv);
        *(size_t *)(void *)(base + f->off2) = 1;
        return etcd__dec_kv(d, kv);
    case ETCD__F_LEADER:       /* maintenance/status has a "leader" too: a member id */
        if (c == '{') return etcd__dec_leader(d, p);
        return etcd__dec_digits_u64(d, f->name, (uint64_t *)(void *)(base + f->off2));
    case ETCD__F_MEMBER:
        return etcd__dec_member_one(d, p);
    default:
        if (f->kind >= ETCD__F_KVS) return etcd__dec_list(d, f, p, (size_t *)(void *)(base + f->off2));
        return etcd__dec_scalar(d, f, p);
    }
}

/* The field named k[0..n), trying the one after the last found first. */
static const etcd__field *etcd__dec_lookup(const etcd__field *tab, size_t ntab, const char *k, size_t n,
                                           size_t *hint)
{
    size_t j, at;
    for (j = 0; j < ntab; j++) {
        at = (*hint + j) % ntab;
        if (tab[at].len == n && !memcmp(tab[at].name, k, n)) {
            *hint = at + 1;
            return &tab[at];
        }
    }
    return NULL;
}

/* The member at d->i is the field etcd writes next, f, and its colon
   follows at once: step past both. */
static bool etcd__dec_member_is(etcd__dec *d, const etcd__field *f)
{
    const char *s = d->s + d->i;
    if (d->n - d->i <= f->len + 2u || s[0] != '"' || s[f->len + 1] != '"' || s[f->len + 2] != ':' ||
        memcmp(s + 1, f->name, f->len))
        return false;
    d->i += f->len + 3u;
    return true;
}

/* A field's value, straight to its decoder when it is what etcd sends
   most: an int64 or base64 string. */
static int etcd__dec_plain(etcd__dec *d, const etcd__field *f, const etcd__field *tab, size_t ntab, char *base)
{
    if (d->s[d->i] != '"') return etcd__dec_field(d, f, tab, ntab, base);
    if (f->kind == ETCD__F_I64) return etcd__dec_i64(d, f->name, (int64_t *)(void *)(base + f->off));
    if (f->kind == ETCD__F_B64)
        return etcd__dec_b64(d, f->name, (const char **)(void *)(base + f->off), (size_t *)(void *)(base + f->off2));
    return etcd__dec_field(d, f, tab, ntab, base);
}

/* Any other member name: its field (NULL: unknown), and the colon. */
static int etcd__dec_member(etcd__dec *d, const etcd__field *tab, size_t ntab, size_t *next,
                            const etcd__field **f)
{
    etcd_json_tok k;
    if (etcd__dec_peek(d) != '"' || etcd__dec_next(d, &k) < 0) return etcd__dec_syntax(d);
    *f = k.end > k.start ? etcd__dec_lookup(tab, ntab, d->s + k.start, k.end - k.start, next) : NULL;
    if (!*f && !etcd__dec_plain_ok(d, &k)) return etcd__dec_syntax(d);   /* a known name is plain */
    return etcd__dec_eat(d, ':');
}

/* Decode the object at d->i into base using tab; unknown members are
   skipped (and checked). Members come in etcd's order, so the name to
   try first is the one after the last found. */
static int etcd__dec_obj(etcd__dec *d, const etcd__field *tab, size_t ntab, void *base)
{
    const etcd__field *next = tab, *f;
    size_t at = d->i, hint;
    char c;
    if (etcd__dec_peek(d) != '{') return etcd__dec_wrong(d, at, ntab ? tab[0].name : "?");
    if (++d->depth > ETCD_JSON_MAX_DEPTH) return etcd__dec_syntax(d);
    d->i++;
    for (c = etcd__dec_peek(d); c != '}';) {
        int rc;
        if (etcd__dec_member_is(d, f = next)) {
            next = f + 1 == tab + ntab ? tab : f + 1;
            rc = etcd__dec_plain(d, f, tab, ntab, (char *)base);
        } else {
            hint = (size_t)(next - tab);
            if (etcd__dec_member(d, tab, ntab, &hint, &f) < 0) return -1;
            next = hint == ntab ? tab : tab + hint;
            rc = f ? etcd__dec_field(d, f, tab, ntab, (char *)base) : etcd__dec_skip(d);
        }
        if (rc < 0) return -1;
        if ((c = etcd__dec_peek(d)) == ',') { d->i++; continue; }
        if (c != '}') return etcd__dec_syntax(d);
    }
    d->i++;
    d->depth--;
    return 0;
}

static bool etcd__blank(const char *s, size_t n)
{
    size_t i = 0;
    etcd__ws(s, n, &i);
    return i == n;
}

/* The first line of a text body, trimmed and cut at 200 bytes. */
static const char *etcd__first_line(etcd__arena *a, const char *s, size_t n)
{
    size_t i = 0, e;
    char *o;
    etcd__ws(s, n, &i);
    for (e = i; e < n && e - i < 200 && s[e] != '\r' && s[e] != '\n'; e++) {}
    if (!(o = (char *)etcd__alloc(a, e - i + 1))) return NULL;
    memcpy(o, s + i, e - i);
    return o;
}

/* One JSON object, the whole of js, into base by tab. Returns 0, or -1
   with d->err (d->syntax: not JSON, or not an object). */
static int etcd__dec_run(etcd__dec *d, const char *js, size_t len, const etcd__field *tab, size_t ntab,
                         void *base)
{
    d->s = js;
    d->n = len;
    if (etcd__dec_peek(d) != '{') {
        if (etcd__dec_skip(d) < 0) return -1;
        d->syntax = true;
        etcd__errf(d->err, ETCD_EPROTO, "malformed JSON response: not an object");
        return -1;
    }
    if (etcd__dec_obj(d, tab, ntab, base) < 0) return -1;
    etcd__ws(d->s, d->n, &d->i);
    return d->i == d->n ? 0 : etcd__dec_syntax(d);
}

/* A result from an HTTP status and a JSON body: the body is copied into
   the result, or, when own is set, own (a block holding it) becomes part
   of the result. */
static etcd_res *etcd__decode_in(const char *body, size_t len, int status, etcd__blk *own, etcd__error *err)
{
    etcd__dec d;
    etcd_res *res;
    char *copy = own ? (char *)own + ETCD__HDR : NULL;
    bool blank = etcd__blank(body, len);
    memset(&d, 0, sizeof d);
    d.err = err;
    if (status == 200 && blank) etcd__errf(err, ETCD_EPROTO, "malformed JSON in response: empty body");
    else if (len > ((size_t)-1 - 65536) / ETCD__DEC_FACTOR ||
             !(d.a.first = d.a.cur = etcd__blk_new(sizeof(etcd_res) + ETCD__ALIGN * 4 + 2 * len + 256 -
                                                  (own ? len : 0))))
        etcd__errf(err, ETCD_ENOMEM, "out of memory");
    if (!d.a.first) { ETCD_FREE(own); return NULL; }
    d.a.total = d.a.first->cap;
    d.a.limit = len * ETCD__DEC_FACTOR + 65536;
    res = (etcd_res *)etcd__alloc(&d.a, sizeof *res);        /* first: etcd_res_free finds the block */
    if (own) {
        own->next = NULL;
        d.a.first->next = own;
    } else {
        copy = etcd__take(&d.a, len + 1, 1);                  /* the first block has room for both */
        if (len) memcpy(copy, body, len);
        copy[len] = 0;
    }
    res->body = copy;
    res->body_len = len;
    res->status = status;
    if (!blank && etcd__dec_run(&d, copy, len, etcd__res_fields, ETCD__NFIELDS(etcd__res_fields), res) < 0) {
        if (status == 200 || (!d.syntax && etcd_json_parse(copy, len, NULL, 0) >= 0)) {
            etcd_res_free(res);
            return NULL;
        }
        memset(res, 0, sizeof *res);       /* an error page that is not JSON (a proxy's, say) */
        res->body = copy;
        res->body_len = len;
        res->status = status;
        res->message = etcd__first_line(&d.a, copy, len);
        etcd__err_clear(err);
    }
    if (status != 200 && !res->error) res->error = res->message;
    return res;
}

static etcd_res *etcd__decode(const char *body, size_t len, int status, etcd__error *err)
{
    return etcd__decode_in(body, len, status, NULL, err);
}

#define ETCD__KEEP_BODY (64u * 1024u)   /* bodies this big become the result's, not copied */

/* Decode the body received in in. A big one is not copied: the buffer,
   moved up to make room for a block header, becomes part of the result
   and in starts afresh. */
static etcd_res *etcd__decode_buf(etcd__buf *in, int status, etcd__error *err)
{
    size_t len = in->len;
    etcd__blk *own;
    if (len < ETCD__KEEP_BODY || !(own = (etcd__blk *)ETCD_REALLOC(in->p, ETCD__HDR + len + 1)))
        return etcd__decode(in->p ? in->p : etcd__empty, len, status, err);
    memmove((char *)own + ETCD__HDR, own, len + 1);
    own->cap = own->used = len + 1;
    in->p = NULL;
    in->len = in->cap = 0;
    return etcd__decode_in((char *)own + ETCD__HDR, len, status, own, err);
}

/* The token in authenticate's answer (malloc'd), or NULL. */
static char *etcd__token_of(const etcd__buf *in, etcd__error *err)
{
    static const etcd__field fields[] = { ETCD__F0("token", STR) };
    struct { const char *token; } ans;
    etcd__dec d;
    char *tok = NULL;
    memset(&d, 0, sizeof d);
    ans.token = NULL;
    d.err = err;
    if (!(d.a.first = d.a.cur = etcd__blk_new(in->len + 64))) return NULL;
    d.a.total = d.a.first->cap;
    if (etcd__dec_run(&d, in->p ? in->p : "", in->len, fields, 1, &ans) == 0 && ans.token)
        tok = etcd__strndup(ans.token, strlen(ans.token));
    etcd__blk_free(d.a.first);
    return tok;
}

/* ------------------------------------------------------------------------
   >>status  what an answer other than 200 means, decided here only (the
   header's ERRORS section shows the same table to users)
   ------------------------------------------------------------------------ */

/* etcd's words in a refusal: its message, else its error, else "". */
static const char *etcd__res_why(const etcd_res *r)
{
    return !r ? "" : r->message ? r->message : r->error ? r->error : "";
}

/* A 5xx, or the gateway's 408 "the client connection is closing" from a
   member shutting down: the member's trouble, another may answer. */
static bool etcd__sick(int status) { return status >= 500 || status == 408; }

/* The code of an answer a call cannot use:
     408, 5xx                      ETCD_ESERVER     the endpoint's failure: counted
     401, gRPC 16                  ETCD_EAUTH       the token or the user
     gRPC 11, "compacted"          ETCD_ECOMPACTED  the revision is gone
     200                           ETCD_EPROTO      not what the call asked for
     any other 4xx                 refused          the call's own: ETCD_EARG for a
                                                    request, ETCD_ECANCELED for a watch */
static etcd_err etcd__status_code(int status, const etcd_res *r, etcd_err refused)
{
    if (etcd__sick(status)) return ETCD_ESERVER;
    if (status == 401 || (r && r->code == 16)) return ETCD_EAUTH;
    if ((r && r->code == 11) || strstr(etcd__res_why(r), "compacted")) return ETCD_ECOMPACTED;
    if (status == 200) return ETCD_EPROTO;
    return refused;
}

/* err: "<what>HTTP <status>: <etcd's words>", coded by etcd__status_code. */
static void etcd__refusal(etcd__error *err, const etcd_res *r, int status, const char *what, etcd_err refused)
{
    const char *why = status == 200 && !*etcd__res_why(r) ? "not the answer asked for" : etcd__res_why(r);
    etcd__errf(err, etcd__status_code(status, r, refused), "%sHTTP %d%s%s", what, status, *why ? ": " : "", why);
}

/* ------------------------------------------------------------------------
   >>options  the client: its options checked and copied, its endpoints
   parsed
   ------------------------------------------------------------------------ */

struct etcd__ep {
    char *url;                   /* as written in http_host */
    char *host;                  /* to resolve: no brackets */
    char *hostport;              /* for the Host header */
    char port[8];
    bool tls;                    /* https:// */
    void *session;               /* the TLS session to resume on the next connection */
    int fails;                   /* failures in the window that started at `window` */
    double window, down_until;   /* out of the rotation until down_until */
    etcd__error last;            /* its last failure, "url: why" */
    etcd__conn conn;             /* the keep-alive connection */
};

struct etcd {
    etcd_opts o;                 /* caller's options, defaults filled, strings owned */
    char *headers;               /* extra_headers as "Name: value\r\n" lines */
    char *sock;                  /* unix_socket_proxy path without "unix:" */
    etcd__ep *eps;
    size_t neps, next;           /* next: round-robin position */
    char prefix[16];             /* api prefix; "" until known */
    char release[24];            /* etcd's version ("3.5.16"); "" until seen */
    etcd__jw jw;                 /* the call's request body */
    etcd__buf out, in;           /* the request's bytes, the answer's body */
    char *token;                 /* auth token, NULL until fetched */
    double token_used;           /* when etcd last accepted it */
    double auth_retry_at;        /* after a refused authentication: no new try before */
    double probe_at;             /* every endpoint out: the next probe, not before */
    etcd__error auth_err;        /* ... and its reason, repeated until then */
    const etcd_transport *tr;    /* etcd__sockets, or trs */
    etcd_transport trs;          /* opts.transport's copy */
#ifdef ETCD__TLS
    etcd__tls_ctx *tls;          /* made when an endpoint is https:// */
#endif
    etcd__error err;             /* the last call's failure */
};

static double etcd__now(const etcd *cli) { return cli->tr->now(cli->tr->ctx); }

static const char *const etcd__owned_headers[] = {
    "host", "authorization", "content-length", "transfer-encoding", "connection", "upgrade"
};

/* Host name or IPv4 characters; inside [...] also ':' and a zone id. */
static bool etcd__hostchar(char c, bool v6)
{
    if (etcd__isdigit(c) || ((c | 32) >= 'a' && (c | 32) <= 'z') || c == '.' || c == '-' || c == '_')
        return true;
    return v6 && (c == ':' || c == '%' || c == '~');
}

/* The parts of "http[s]://host[:port][/]". Returns NULL, or what is
   wrong with s. */
static const char *etcd__url_parts(const char *s, size_t n, bool *tls, size_t *hs, size_t *he,
                                   unsigned long *port)
{
    size_t i, ps;
    bool v6;
    *tls = n >= 8 && !strncasecmp(s, "https://", 8);
    if (!*tls && (n < 7 || strncasecmp(s, "http://", 7) != 0)) return "the scheme must be http:// or https://";
    i = *hs = *tls ? 8 : 7;
    if (memchr(s + i, '@', n - i)) return "user info (user@) is not supported: use opts.user and opts.password";
    v6 = i < n && s[i] == '[';
    if (v6) {
        for (i++; i < n && etcd__hostchar(s[i], true); i++) {}
        if (i == n || s[i] != ']') return "bad IPv6 literal: want [address]";
        (*hs)++; *he = i++;
    } else {
        while (i < n && etcd__hostchar(s[i], false)) i++;
        *he = i;
    }
    if (*he == *hs) return "no host";
    *port = 2379;
    if (i < n && s[i] == ':') {
        ps = ++i;
        *port = 0;
        while (i < n && etcd__isdigit(s[i]) && *port <= 65535) *port = *port * 10 + (unsigned long)(s[i++] - '0');
        if (i == ps || *port == 0 || *port > 65535 || (i < n && etcd__isdigit(s[i])))
            return "the port must be a number from 1 to 65535";
    }
    if (i < n && s[i] == '/' && i + 1 < n) return "no path allowed: the api prefix is opts.api_prefix";
    if (i < n && s[i] == '/') i++;
    if (i != n) return s[i] == ':' || etcd__isdigit(s[i]) ? "the port must be a number from 1 to 65535"
                                                          : "bad character in the host";
    return NULL;
}

static bool etcd__ep_parse(etcd__ep *ep, const char *s, size_t n, etcd__error *err)
{
    size_t hs = 0, he = 0;
    unsigned long port = 0;
    const char *why = etcd__url_parts(s, n, &ep->tls, &hs, &he, &port);
    if (why) {
        etcd__errf(err, ETCD_EARG, "invalid http_host \"%.*s\": %s", (int)(n > 100 ? 100 : n), s, why);
        return false;
    }
#ifndef ETCD__TLS
    if (ep->tls) {
        etcd__errf(err, ETCD_EARG, "https endpoint %.*s needs TLS: compile etcd.h with ETCD_USE_OPENSSL "
                   "or ETCD_USE_MBEDTLS", (int)n, s);
        return false;
    }
#endif
    ep->url = etcd__strndup(s, n);
    ep->host = etcd__strndup(s + hs, he - hs);
    ep->hostport = (char *)ETCD_MALLOC(he - hs + 10);
    snprintf(ep->port, sizeof ep->port, "%lu", port);
    if (ep->hostport)
        snprintf(ep->hostport, he - hs + 10, s[hs - 1] == '[' ? "[%.*s]:%lu" : "%.*s:%lu", (int)(he - hs), s + hs, port);
    if (!ep->url || !ep->host || !ep->hostport) { etcd__errf(err, ETCD_ENOMEM, "out of memory"); return false; }
    return true;
}

static bool etcd__parse_hosts(etcd *cli, const char *hosts, etcd__error *err)
{
    const char *p = hosts;
    size_t n = 1;
    for (; *p; p++) n += *p == ',';
    cli->eps = (etcd__ep *)ETCD_MALLOC(n * sizeof *cli->eps);
    if (!cli->eps) { etcd__errf(err, ETCD_ENOMEM, "out of memory"); return false; }
    memset(cli->eps, 0, n * sizeof *cli->eps);
    for (p = hosts; cli->neps < n; p++) {
        const char *e = strchr(p, ','), *q = p;
        size_t len;
        if (!e) e = p + strlen(p);
        while (q < e && (*q == ' ' || *q == '\t')) q++;
        len = (size_t)(e - q);
        while (len && (q[len - 1] == ' ' || q[len - 1] == '\t')) len--;
        if (!len) {
            etcd__errf(err, ETCD_EARG, "invalid http_host: endpoint %zu of %zu is empty (a stray comma?)",
                       cli->neps + 1, n);
            return false;
        }
        etcd__conn_init(&cli->eps[cli->neps].conn);
        if (!etcd__ep_parse(&cli->eps[cli->neps++], q, len, err)) return false;
        p = e;
    }
    return true;
}

static bool etcd__check_header(const char *h, etcd__error *err)
{
    const char *colon = strchr(h, ':');
    size_t i, n;
    if (strpbrk(h, "\r\n")) { etcd__errf(err, ETCD_EARG, "extra_headers: CR or LF in \"%.40s\"", h); return false; }
    if (!colon || colon == h) { etcd__errf(err, ETCD_EARG, "extra_headers: want \"Name: value\", got \"%.40s\"", h); return false; }
    n = (size_t)(colon - h);
    for (i = 0; i < n; i++)
        if (!etcd__tchar(h[i])) { etcd__errf(err, ETCD_EARG, "extra_headers: bad header name in \"%.40s\"", h); return false; }
    for (i = 0; i < sizeof etcd__owned_headers / sizeof *etcd__owned_headers; i++)
        if (etcd__name_is(h, n, etcd__owned_headers[i])) {
            etcd__errf(err, ETCD_EARG, "extra_headers: %.*s is set by the client and cannot be overridden", (int)n, h);
            return false;
        }
    return true;
}

static bool etcd__build_headers(etcd *cli, const char *const *hs, etcd__error *err)
{
    etcd__buf b;
    memset(&b, 0, sizeof b);
    for (; hs && *hs; hs++) {
        if (!etcd__check_header(*hs, err)) { etcd__buf_free(&b); return false; }
        etcd__buf_str(&b, *hs);
        etcd__buf_add(&b, "\r\n", 2);
    }
    if (b.oom) { etcd__buf_free(&b); etcd__errf(err, ETCD_ENOMEM, "out of memory"); return false; }
    cli->headers = b.p;
    return true;
}

/* The option strings a client keeps its own copy of. */
#define ETCD__NSTRINGS 11
static void etcd__strings(etcd_opts *o, const char **f[ETCD__NSTRINGS])
{
    f[0] = &o->key_prefix;    f[1] = &o->api_prefix;   f[2] = &o->ssl_ca_path;
    f[3] = &o->ssl_cert_path; f[4] = &o->ssl_key_path; f[5] = &o->sni;
    f[6] = &o->user;          f[7] = &o->password;     f[8] = &o->ssl_ca_pem;
    f[9] = &o->ssl_cert_pem;  f[10] = &o->ssl_key_pem;
}

/* Replace each borrowed option string with an owned copy. */
static bool etcd__own_strings(etcd *cli)
{
    const char **f[ETCD__NSTRINGS], *theirs[ETCD__NSTRINGS];
    size_t i;
    bool ok = true;
    etcd__strings(&cli->o, f);
    for (i = 0; i < ETCD__NSTRINGS; i++) { theirs[i] = *f[i]; *f[i] = NULL; }  /* never free theirs */
    for (i = 0; i < ETCD__NSTRINGS; i++)
        if (theirs[i] && !(*f[i] = etcd__strndup(theirs[i], strlen(theirs[i])))) ok = false;
    cli->o.protocol = cli->o.http_host = cli->o.unix_socket_proxy = NULL;
    cli->o.extra_headers = NULL;
    return ok;
}

static void etcd__free_strings(etcd *cli)
{
    const char **f[ETCD__NSTRINGS];
    size_t i;
    etcd__strings(&cli->o, f);
    for (i = 0; i < ETCD__NSTRINGS; i++) ETCD_FREE((void *)*f[i]);
}

static bool etcd__check_opts(const etcd_opts *o, etcd__error *err)
{
    if (o->protocol && strcmp(o->protocol, "v3") != 0) etcd__errf(err, ETCD_EARG, "protocol must be \"v3\"");
    else if (!(o->timeout >= 0)) etcd__errf(err, ETCD_EARG, "timeout must be >= 0 seconds");
    else if (!(o->fail_timeout >= 0)) etcd__errf(err, ETCD_EARG, "fail_timeout must be >= 0 seconds");
    else if (o->max_fails < -1) etcd__errf(err, ETCD_EARG, "max_fails must be >= 0, or -1 to turn health checks off");
    else if (o->serializer != ETCD_SERIALIZER_JSON && o->serializer != ETCD_SERIALIZER_RAW)
        etcd__errf(err, ETCD_EARG, "serializer must be ETCD_SERIALIZER_JSON or ETCD_SERIALIZER_RAW");
    else if (o->api_prefix && (o->api_prefix[0] != '/' || strlen(o->api_prefix) >= 16 ||
                               strpbrk(o->api_prefix, " \t\r\n?#")))
        etcd__errf(err, ETCD_EARG, "api_prefix must look like \"/v3\"");
    else if ((o->user != NULL) != (o->password != NULL))
        etcd__errf(err, ETCD_EARG, "user and password go together");
    else if (o->read_step && (o->read_step < 256 || o->read_step > ETCD__READ_MAX))
        etcd__errf(err, ETCD_EARG, "read_step must be 256 to 65536 bytes (0: 4096)");
    else return true;
    return false;
}

/* POSIX sockets, or a copy of the caller's transport (with the system
   clock when it brings none). */
static bool etcd__set_transport(etcd *cli, const etcd_transport *t, etcd__error *err)
{
#ifndef ETCD_NO_SOCKETS
    cli->tr = &etcd__sockets;
    if (!t) return true;
#else
    if (!t) { etcd__errf(err, ETCD_EARG, "transport: required with ETCD_NO_SOCKETS"); return false; }
#endif
    if (!t->connect || !t->read || !t->write || !t->wait || !t->close) {
        etcd__errf(err, ETCD_EARG, "transport: connect, read, write, wait and close are required");
        return false;
    }
    cli->trs = *t;
#ifndef ETCD_NO_SOCKETS
    if (!cli->trs.now) cli->trs.now = etcd__sock_now;
#endif
    if (!cli->trs.now) {
        etcd__errf(err, ETCD_EARG, "transport: now is required with ETCD_NO_SOCKETS (no system clock)");
        return false;
    }
    cli->tr = &cli->trs;
    return true;
}

static bool etcd__setup(etcd *cli, const etcd_opts *o, etcd__error *err)
{
    const char *sock = o->unix_socket_proxy;
    if (!etcd__check_opts(o, err) || !etcd__set_transport(cli, o->transport, err)) return false;
    cli->o = *o;
    cli->o.transport = cli->tr == &cli->trs ? &cli->trs : NULL;
    if (!cli->o.timeout) cli->o.timeout = ETCD__DEF_TIMEOUT;
    if (!cli->o.fail_timeout) cli->o.fail_timeout = 10;
    if (!cli->o.max_fails) cli->o.max_fails = 1;
    if (!cli->o.max_response) cli->o.max_response = ETCD__DEF_MAXRESP;
    if (!cli->o.read_step) cli->o.read_step = ETCD__READ_STEP;
    if (!etcd__own_strings(cli)) { etcd__errf(err, ETCD_ENOMEM, "out of memory"); return false; }
    cli->jw.key_prefix = cli->o.key_prefix;
    cli->jw.json_values = cli->o.serializer == ETCD_SERIALIZER_JSON;
    if (cli->o.api_prefix) {
        size_t n = strlen(cli->o.api_prefix);
        while (n > 1 && cli->o.api_prefix[n - 1] == '/') n--;
        memcpy(cli->prefix, cli->o.api_prefix, n);
    }
    if (sock) {
        if (!strncmp(sock, "unix:", 5)) sock += 5;
#ifndef ETCD_NO_SOCKETS
        if (strlen(sock) >= sizeof(((struct sockaddr_un *)0)->sun_path) || !*sock) {
#else
        if (!*sock) {
#endif
            etcd__errf(err, ETCD_EARG, "unix_socket_proxy: path empty or too long");
            return false;
        }
        if (!(cli->sock = etcd__strndup(sock, strlen(sock)))) { etcd__errf(err, ETCD_ENOMEM, "out of memory"); return false; }
    }
    if (!etcd__build_headers(cli, o->extra_headers, err) ||
        !etcd__parse_hosts(cli, o->http_host ? o->http_host : "http://127.0.0.1:2379", err))
        return false;
#ifdef ETCD__TLS
    {
        size_t i;
        for (i = 0; i < cli->neps; i++)
            if (cli->eps[i].tls) return (cli->tls = etcd__tls_ctx_new(&cli->o, err)) != NULL;
    }
#endif
    return true;
}

ETCDDEF etcd *etcd_new(const etcd_opts *opts, char *err, size_t err_size)
{
    etcd_opts defaults;
    etcd__error why;
    etcd *cli = (etcd *)ETCD_MALLOC(sizeof *cli);
    if (!opts) { memset(&defaults, 0, sizeof defaults); opts = &defaults; }
    if (!cli) { etcd__errf(&why, ETCD_ENOMEM, "out of memory"); goto fail; }
    memset(cli, 0, sizeof *cli);
    if (etcd__setup(cli, opts, &why)) return cli;
    etcd_free(cli);
fail:
    if (err && err_size) snprintf(err, err_size, "%s", why.msg);
    return NULL;
}

static void etcd__ep_free(etcd__ep *ep)
{
    etcd__conn_free(&ep->conn);
    ETCD_FREE(ep->url); ETCD_FREE(ep->host); ETCD_FREE(ep->hostport);
#ifdef ETCD__TLS
    etcd__tls_session_free(ep->session);
#endif
}

ETCDDEF void etcd_free(etcd *cli)
{
    size_t i;
    if (!cli) return;
    for (i = 0; i < cli->neps; i++) etcd__ep_free(&cli->eps[i]);
#ifdef ETCD__TLS
    etcd__tls_ctx_free(cli->tls);
#endif
    ETCD_FREE(cli->eps);
    etcd__free_strings(cli);
    ETCD_FREE(cli->token);
    ETCD_FREE(cli->headers); ETCD_FREE(cli->sock);
    etcd__jw_free(&cli->jw);
    etcd__buf_free(&cli->out); etcd__buf_free(&cli->in);
    ETCD_FREE(cli);
}

ETCDDEF const char *etcd_errstr(const etcd *cli) { return cli ? cli->err.msg : "no client"; }

ETCDDEF etcd_err etcd_errcode(const etcd *cli) { return cli ? cli->err.code : ETCD_EARG; }

ETCDDEF const char *etcd_err_name(etcd_err e)
{
    static const char *const names[] = {
        "ETCD_OK", "ETCD_EARG", "ETCD_ENOMEM", "ETCD_ECONNECT", "ETCD_ETIMEOUT", "ETCD_ETRANSPORT",
        "ETCD_EPROTO", "ETCD_ETOOLARGE", "ETCD_ETLS", "ETCD_EAUTH", "ETCD_ENOHEALTHY", "ETCD_ESERVER",
        "ETCD_ECOMPACTED", "ETCD_ECANCELED", "ETCD_ELOST"
    };
    return (unsigned)e < sizeof names / sizeof *names ? names[e] : "?";
}

/* ------------------------------------------------------------------------
   >>endpoints  round-robin over the healthy ones; max_fails failures
   within fail_timeout take one out for fail_timeout (max_fails -1: never);
   an answer from it takes it back at once. With every endpoint out, calls
   fail at once, but one a second goes to the endpoint due back first (a
   half-open breaker): one etcd back after a hiccup is used again within a
   second, not after fail_timeout.
   ------------------------------------------------------------------------ */

ETCDDEF bool etcd_endpoint_healthy(const etcd *cli, const char *http_host)
{
    size_t i;
    for (i = 0; cli && http_host && i < cli->neps; i++)
        if (!strcmp(cli->eps[i].url, http_host)) return cli->eps[i].down_until <= etcd__now(cli);
    return false;
}

/* A connect, transport or 5xx failure on ep, for why. */
#define ETCD__PROBE_EVERY 1.0     /* seconds between probes while every endpoint is out */

static void etcd__ep_failed(etcd *cli, etcd__ep *ep, const etcd__error *why)
{
    double now = etcd__now(cli);
    etcd__errf(&ep->last, why->code, "%s: %s", ep->url, why->msg);
    if (cli->o.max_fails < 0) return;
    if (!ep->fails || now - ep->window > cli->o.fail_timeout) { ep->window = now; ep->fails = 0; }
    if (++ep->fails < cli->o.max_fails) return;
    ep->down_until = now + cli->o.fail_timeout;
    ep->fails = 0;
    cli->probe_at = now + ETCD__PROBE_EVERY;     /* calls right after this fail at once */
}

/* ep answered: back in the rotation if it was out. */
static void etcd__ep_answered(const etcd *cli, etcd__ep *ep)
{
    if (ep->down_until == 0) return;
    if (ep->down_until > etcd__now(cli)) ep->fails = 0;
    ep->down_until = 0;
}

/* Prefix a failure with the endpoint it happened on ("timeout" stays bare). */
static void etcd__fail_at(etcd__error *err, const etcd__ep *ep)
{
    etcd__error e = *err;
    if (e.code != ETCD_ETIMEOUT) etcd__errf(err, e.code, "%s: %s", ep->url, e.msg);
}

static bool etcd__any_healthy(const etcd *cli)
{
    double now = etcd__now(cli);
    size_t i;
    for (i = 0; i < cli->neps; i++) if (cli->eps[i].down_until <= now) return true;
    return false;
}

/* The endpoint due back in the rotation first. */
static etcd__ep *etcd__soonest(const etcd *cli)
{
    etcd__ep *first = &cli->eps[0];
    size_t i;
    for (i = 1; i < cli->neps; i++) if (cli->eps[i].down_until < first->down_until) first = &cli->eps[i];
    return first;
}

/* Says which endpoint comes back first, why it went, and when. */
static void etcd__no_healthy(const etcd *cli, etcd__error *err)
{
    const etcd__ep *first = etcd__soonest(cli);
    etcd__errf(err, ETCD_ENOHEALTHY, "has no healthy etcd endpoint available (last: %s; next try in %.1f s)",
               first->last.msg, first->down_until - etcd__now(cli));
}

/* The endpoint for the next request: the next healthy one in http_host
   order, cyclically. */
static etcd__ep *etcd__pick(etcd *cli, etcd__error *err)
{
    double now = etcd__now(cli);
    size_t i;
    for (i = 0; i < cli->neps; i++) {
        etcd__ep *ep = &cli->eps[cli->next];
        cli->next = (cli->next + 1) % cli->neps;
        if (ep->down_until <= now) return ep;
    }
    if (now >= cli->probe_at) {                  /* the probe of this second */
        cli->probe_at = now + ETCD__PROBE_EVERY;
        return etcd__soonest(cli);
    }
    etcd__no_healthy(cli, err);
    return NULL;
}

/* A connection to ep over the client's transport; POSIX sockets take
   the unix socket proxy when its file exists, a transport of the
   caller's whenever it is set. */
static int etcd__ep_connect(const etcd *cli, etcd__ep *ep, etcd__conn *c, double deadline, etcd__error *err)
{
    int fd;
#ifndef ETCD_NO_SOCKETS
    if (!cli->tr->connect) fd = etcd__sock_open(cli->sock, ep->host, ep->port, deadline, err);
    else
#endif
    fd = etcd__hook_connect(cli->tr, cli->sock ? cli->sock : ep->host, cli->sock ? 0 : atoi(ep->port), deadline, err);
    if (fd < 0) return -1;
    c->fd = fd;
    c->tr = cli->tr;
    c->step = c->step0 = cli->o.read_step;
    c->io = &etcd__plain_io;
    c->requests = 0;
    c->in.len = c->off = 0;
#ifdef ETCD__TLS
    if (ep->tls && etcd__tls_connect(cli->tls, c, cli->o.sni ? cli->o.sni : ep->host, !cli->o.ssl_skip_verify,
                                     &ep->session, deadline, err) < 0) {
        etcd__conn_close(c);
        return -1;
    }
#endif
    return 0;
}

/* ------------------------------------------------------------------------
   >>exchange  one request on one endpoint: connect, send, read the answer
   (blocking, under the request's deadline), with the health accounting
   ------------------------------------------------------------------------ */

/* How a try ended: an answer; a failure another try may cure (nothing
   of the request was written, or it is a read); a final failure. */
typedef enum { ETCD__STEP_OK, ETCD__STEP_NEXT, ETCD__STEP_FAIL } etcd__step;

/* Where an exchange's bytes go. Sub-requests (the version probe,
   authenticate) bring their own out and in, so a call's are never
   overwritten under it. */
struct etcd__ans {
    etcd__buf *out;              /* the request's bytes */
    etcd__buf *in;               /* the answer's body (a stream's only when refused) */
    etcd__conn *conn;            /* a stream's own connection; NULL: the endpoint's */
    etcd__ep *ep;                /* the endpoint of the last try */
    etcd__resp head;
    bool wrote;                  /* a byte of the request may have reached etcd */
};

/* Feed what c holds into the body; read more when needed. Returns 1 when
   the body is complete, 0 when more may come later (stream), -1 on error. */
static int etcd__body_pump(etcd__conn *c, etcd__body *b, etcd__buf *out, size_t max,
                           double deadline, bool wait, etcd__error *err)
{
    for (;;) {
        long r = etcd__body_feed(b, etcd__conn_data(c), c->in.len - c->off, out, max, err);
        if (r < 0) return -1;
        c->off += (size_t)r;
        if (b->done) return 1;
        if (!wait) return 0;
        r = etcd__conn_fill(c, deadline, err);
        if (r < 0) return -1;
        if (r == 0) {
            if (b->mode == ETCD__BODY_EOF) { b->done = true; return 1; }
            etcd__errf(err, ETCD_ETRANSPORT, "server closed the connection in the middle of the body (truncated response)");
            return -1;
        }
    }
}

/* Read one response head from c (skipping 1xx). *got says whether any
   byte arrived, which tells a stale keep-alive connection apart. */
static int etcd__read_head(etcd__conn *c, etcd__resp *r, double deadline, bool *got, etcd__error *err)
{
    size_t seen = 0;             /* bytes known to hold no head end: a head read byte by byte is scanned once */
    for (;;) {
        size_t hl = 0, avail = c->in.len - c->off, from = seen > 3 ? seen - 3 : 0;
        int rc = 0;
        long n;
        if (!seen || avail >= ETCD__MAX_HEAD || etcd__find_crlfcrlf(etcd__conn_data(c) + from, avail - from))
            rc = etcd__http_parse_head(etcd__conn_data(c), avail, r, &hl, err);
        if (rc < 0) return -1;
        if (rc > 0) {
            c->off += hl;
            seen = 0;
            if (r->status >= 200) return 0;
            *got = true;                 /* a 1xx is part of the answer: it was not stale */
            continue;
        }
        seen = avail;
        n = etcd__conn_fill(c, deadline, err);
        if (n < 0) return -1;
        if (n == 0) {
            etcd__errf(err, ETCD_ETRANSPORT, *got || c->off < c->in.len
                       ? "server closed the connection in the middle of the response head"
                       : "server closed the connection before answering");
            return -1;
        }
        *got = true;
    }
}


/* Send a->out on c and read the answer's head (ETCD__RQ_NOHEAD: not;
   status 0 says so). When a reused connection turns out to be closed by
   the server, the request goes once more on a fresh one: a read if no
   answer byte came back, a write only if none of it was written. */
static int etcd__send(const etcd *cli, etcd__ans *a, etcd__conn *c, double deadline, unsigned flags,
                      etcd__error *err)
{
    bool idem = (flags & ETCD__RQ_IDEM) != 0;
    int attempt;
    a->wrote = false;
    for (attempt = 0;; attempt++) {
        bool reused, got = false;
        size_t sent = 0;
        if (c->fd >= 0 && c->io->stale(c)) etcd__conn_close(c);
        if (c->fd < 0 && etcd__ep_connect(cli, a->ep, c, deadline, err) < 0) return -1;
        reused = c->requests > 0;
        a->head.status = 0;
        if (etcd__conn_write(c, a->out->p, a->out->len, deadline, &sent, err) == 0 &&
            ((flags & ETCD__RQ_NOHEAD) || etcd__read_head(c, &a->head, deadline, &got, err) == 0)) {
            etcd__err_clear(err);               /* a resend may follow a failure */
            return 0;
        }
        etcd__conn_close(c);
        a->wrote = sent > 0;
        if (!reused || got || attempt > 0 || err->code == ETCD_ETIMEOUT || (!idem && sent > 0))
            return -1;
    }
}

/* A failure of the endpoint's: counted, and said where it happened. */
static etcd__step etcd__ep_broke(etcd *cli, etcd__ep *ep, etcd__error *err, bool again)
{
    etcd__ep_failed(cli, ep, err);
    etcd__fail_at(err, ep);
    return again ? ETCD__STEP_NEXT : ETCD__STEP_FAIL;
}

/* The body of a refusal, as a result (NULL when even that fails). */
static etcd_res *etcd__decode_ans(const etcd__ans *a, etcd__error *err)
{
    return etcd__decode(a->in->p ? a->in->p : etcd__empty, a->in->len, a->head.status, err);
}

/* A 5xx: "HTTP 503: <etcd's message>". */
static void etcd__server_error(const etcd__ans *a, etcd__error *err)
{
    etcd_res *e = etcd__decode_ans(a, err);
    etcd__refusal(err, e, a->head.status, "", ETCD_ESERVER);
    etcd_res_free(e);
}

/* One round trip of rq on a->ep: the head, and the body unless a stream
   was accepted. Connect, transport and 5xx failures count against it,
   unless rq->answer takes them as the call's answer. */
static etcd__step etcd__exchange(etcd *cli, const etcd__req *rq, etcd__ans *a, double deadline,
                                 etcd__error *err)
{
    etcd__conn *c = a->conn ? a->conn : &a->ep->conn;
    bool idem = (rq->flags & ETCD__RQ_IDEM) != 0;
    etcd__body b;
    etcd__http_request(a->out, rq, rq->flags & ETCD__RQ_PREFIX ? cli->prefix : "", a->ep->hostport,
                       cli->headers, rq->flags & ETCD__RQ_AUTH ? cli->token : NULL);
    if (a->out->oom) { etcd__errf(err, ETCD_ENOMEM, "out of memory"); return ETCD__STEP_FAIL; }
    if (etcd__send(cli, a, c, deadline, rq->flags, err) < 0) {
        if (rq->answer && rq->answer(a, err)) return ETCD__STEP_FAIL;
        return etcd__ep_broke(cli, a->ep, err, idem || !a->wrote);
    }
    if ((rq->flags & ETCD__RQ_STREAM) && a->head.status == 200) etcd__ep_answered(cli, a->ep);
    if ((rq->flags & ETCD__RQ_STREAM) && (a->head.status == 200 || !a->head.status)) return ETCD__STEP_OK;
    etcd__buf_reset(a->in);
    etcd__body_init(&b, &a->head);
    if (etcd__body_pump(c, &b, a->in, cli->o.max_response, deadline, true, err) < 0) {
        etcd__conn_close(c);
        return etcd__ep_broke(cli, a->ep, err, idem);
    }
    c->requests++;
    etcd__conn_rest(c);
    if (a->conn || a->head.close || b.mode == ETCD__BODY_EOF) etcd__conn_close(c);
    if (!etcd__sick(a->head.status) || (rq->answer && rq->answer(a, NULL))) {
        etcd__ep_answered(cli, a->ep);
        return ETCD__STEP_OK;
    }
    etcd__server_error(a, err);
    etcd__ep_failed(cli, a->ep, err);
    return idem ? ETCD__STEP_NEXT : ETCD__STEP_FAIL;
}

/* ------------------------------------------------------------------------
   >>request  the one retry loop: calls, watch opens, the version probe
   and authentication all go through it
   ------------------------------------------------------------------------ */

static etcd__step etcd__prepare(etcd *cli, const etcd__req *rq, double deadline, etcd__error *err);
static bool etcd__token_rejected(const etcd *cli, const etcd__req *rq, const etcd__ans *a);
static void etcd__auth_drop(etcd *cli);

/* Seconds left until deadline, for a sub-request (< 0: no deadline). */
static double etcd__left(const etcd *cli, double deadline)
{
    double left = deadline - etcd__now(cli);
    if (deadline < 0) return -1.0;
    return left > 1e-3 ? left : 1e-3;
}

/* How many tries rq gets: with retry, endpoints * max_fails + 1 (health
   checks off: one per endpoint). */
static int etcd__retries(const etcd *cli, const etcd__req *rq)
{
    if (!(rq->flags & ETCD__RQ_RETRY) || !cli->o.retry) return 1;
    return cli->o.max_fails < 0 ? (int)cli->neps : (int)cli->neps * cli->o.max_fails + 1;
}

/* One try: what the request needs first (api prefix, token), then the
   exchange on the next healthy endpoint; once more there when etcd turned
   the token down. */
static etcd__step etcd__try(etcd *cli, const etcd__req *rq, etcd__ans *a, etcd__error *err)
{
    double deadline = rq->deadline ? rq->deadline : etcd__deadline(cli, rq->timeout);
    etcd__step st = ETCD__STEP_FAIL;
    int round;
    a->ep = NULL;
    for (round = 0; round < 2; round++) {
        if ((st = etcd__prepare(cli, rq, deadline, err)) != ETCD__STEP_OK)   /* retried inside already */
            return st == ETCD__STEP_NEXT && etcd__retries(cli, rq) > 1 ? ETCD__STEP_FAIL : st;
        if (!a->ep && !(a->ep = rq->ep ? rq->ep : etcd__pick(cli, err)))
            return ETCD__STEP_NEXT;                                              /* may change */
        st = etcd__exchange(cli, rq, a, deadline, err);
        if (st != ETCD__STEP_OK || !etcd__token_rejected(cli, rq, a)) break;
        etcd__auth_drop(cli);                   /* once: a fresh token, the request again */
    }
    if (st == ETCD__STEP_OK && cli->token && (rq->flags & ETCD__RQ_AUTH)) cli->token_used = etcd__now(cli);
    return st;
}

/* With retry, a try that failed but may work elsewhere goes to the next
   healthy endpoint. Each try has the whole timeout. */
static etcd__step etcd__run(etcd *cli, const etcd__req *rq, etcd__ans *a, etcd__error *err)
{
    int tries = etcd__retries(cli, rq), t;
    etcd__step st = ETCD__STEP_NEXT;
    for (t = 0; t < tries && st == ETCD__STEP_NEXT; t++) st = etcd__try(cli, rq, a, err);
    if (st == ETCD__STEP_NEXT && tries > 1 && !etcd__any_healthy(cli)) etcd__no_healthy(cli, err);
    return st;
}

/* Buffers a big call grew are given back after it: an idle client holds
   little, whatever it did before. */
static void etcd__trim(etcd *cli)
{
    etcd__buf *b[4];
    size_t i;
    b[0] = &cli->in; b[1] = &cli->out; b[2] = &cli->jw.json; b[3] = &cli->jw.tmp;
    for (i = 0; i < 4; i++)
        if (b[i]->cap > ETCD__KEEP) etcd__buf_free(b[i]);
}

/* A call: the request in full, then its answer decoded (NULL with
   cli->err on failure). */
static etcd_res *etcd__call(etcd *cli, const etcd__req *rq)
{
    etcd__ans a;
    etcd_res *r;
    memset(&a, 0, sizeof a);
    a.out = &cli->out;
    a.in = &cli->in;
    etcd__err_clear(&cli->err);
    if (rq->body && !etcd__jw_ok(rq->body)) { etcd__errf(&cli->err, ETCD_ENOMEM, "out of memory"); return NULL; }
    r = etcd__run(cli, rq, &a, &cli->err) == ETCD__STEP_OK ? etcd__decode_buf(a.in, a.head.status, &cli->err) : NULL;
    if (r) etcd__err_clear(&cli->err);      /* an answer: earlier tries' failures are moot */
    etcd__trim(cli);
    return r;
}

/* The request that POSTs cli->jw to path under the api prefix; reads
   are ETCD__RQ_IDEM. */
static etcd__req etcd__post_rq(const etcd *cli, const char *path, unsigned flags, double timeout)
{
    return etcd__rq("POST", path, &cli->jw, flags | ETCD__RQ_PREFIX | ETCD__RQ_AUTH | ETCD__RQ_RETRY,
                    timeout > 0 ? timeout : cli->o.timeout);
}

/* POST the body etcd__jw_begin opened, closing it first. */
static etcd_res *etcd__post(etcd *cli, const char *path, unsigned flags, double timeout)
{
    etcd__req rq = etcd__post_rq(cli, path, flags, timeout);
    etcd__buf_add(&cli->jw.json, "}", 1);
    return etcd__call(cli, &rq);
}

/* ------------------------------------------------------------------------
   >>auth  the api prefix and the token, each fetched by a request of its
   own. etcd's simple tokens die after 5 idle minutes; JWTs on their own
   TTL or any auth change: refresh before the first, and once when etcd
   says the token is bad.
   ------------------------------------------------------------------------ */

#define ETCD__TOKEN_IDLE 240.0   /* refresh a token idle this long (etcd: 300 s) */
#define ETCD__AUTH_PAUSE 1.0     /* after a refusal, calls fail this long without asking */

/* A sub-request with its own buffers, under the deadline of the try it
   prepares, retried as that request is; on ETCD__STEP_OK its status and
   body are in *status and in. */
static etcd__step etcd__sub(etcd *cli, etcd__req *rq, double deadline, etcd__buf *in, int *status,
                            etcd__error *err)
{
    etcd__buf out;
    etcd__ans a;
    etcd__step st;
    memset(&out, 0, sizeof out);
    memset(&a, 0, sizeof a);
    a.out = &out;
    a.in = in;
    rq->timeout = -1;
    rq->deadline = deadline;
    st = etcd__run(cli, rq, &a, err);
    *status = a.head.status;
    etcd__buf_free(&out);
    return st;
}

/* The api prefix from /version's answer: >= 3.4 /v3, 3.3 /v3beta, 3.2 /v3alpha. */
static etcd__step etcd__take_prefix(etcd *cli, const etcd__buf *in, int status, etcd__error *err)
{
    etcd_res *v = etcd__decode(in->p, in->len, status, err);
    const char *ver;
    int major = 0, minor = 0;
    if (!v) return ETCD__STEP_FAIL;
    ver = v->etcdcluster && etcd__isdigit(v->etcdcluster[0]) ? v->etcdcluster : v->etcdserver;
    if (status != 200 || !ver || sscanf(ver, "%d.%d", &major, &minor) != 2) {
        etcd__errf(err, ETCD_EPROTO, "GET /version: cannot tell the etcd version (HTTP %d)", status);
        etcd_res_free(v);
        return ETCD__STEP_FAIL;
    }
    snprintf(cli->release, sizeof cli->release, "%s", v->etcdserver ? v->etcdserver : ver);
    etcd_res_free(v);
    if (major < 3 || (major == 3 && minor < 2)) {
        etcd__errf(err, ETCD_EPROTO, "etcd %d.%d has no v3 JSON gateway", major, minor);
        return ETCD__STEP_FAIL;
    }
    strcpy(cli->prefix, major > 3 || minor >= 4 ? "/v3" : minor == 3 ? "/v3beta" : "/v3alpha");
    return ETCD__STEP_OK;
}

/* GET /version, like every request on the next endpoint in the rotation. */
static etcd__step etcd__detect_prefix(etcd *cli, double deadline, unsigned retry, etcd__error *err)
{
    etcd__req rq = etcd__rq("GET", "/version", NULL, ETCD__RQ_IDEM | retry, -1);
    etcd__buf in;
    etcd__step st;
    int status;
    memset(&in, 0, sizeof in);
    st = etcd__sub(cli, &rq, deadline, &in, &status, err);
    if (st == ETCD__STEP_OK) st = etcd__take_prefix(cli, &in, status, err);
    etcd__buf_free(&in);
    return st;
}

static void etcd__auth_drop(etcd *cli)
{
    ETCD_FREE(cli->token);
    cli->token = NULL;
}

/* A token goes into a header line: printable ASCII only. */
static bool etcd__token_ok(const char *t)
{
    for (; *t; t++) if ((unsigned char)*t < 0x21 || (unsigned char)*t > 0x7e) return false;
    return true;
}

/* The token from authenticate's answer, or why there is none. */
static etcd__step etcd__take_token(etcd *cli, const etcd__buf *in, int status, etcd__error *err)
{
    etcd_res *e;
    if (status == 200 && (cli->token = etcd__token_of(in, err))) {
        if (*cli->token && etcd__token_ok(cli->token)) return ETCD__STEP_OK;
        etcd__auth_drop(cli);
        etcd__errf(err, ETCD_EPROTO, "authenticate: the token in etcd's answer is not a printable string");
        return ETCD__STEP_FAIL;
    }
    e = etcd__decode(in->p, in->len, status, err);
    etcd__errf(err, ETCD_EAUTH, "authentication failed: %s", *etcd__res_why(e) ? etcd__res_why(e) : "no token in the answer");
    etcd_res_free(e);
    return ETCD__STEP_FAIL;
}

/* POST /auth/authenticate, never with the old token. */
static etcd__step etcd__authenticate(etcd *cli, double deadline, unsigned retry, etcd__error *err)
{
    etcd__jw body;
    etcd__buf in;
    etcd__req rq;
    etcd__step st = ETCD__STEP_FAIL;
    int status;
    memset(&body, 0, sizeof body);
    memset(&in, 0, sizeof in);
    rq = etcd__rq("POST", "/auth/authenticate", &body, ETCD__RQ_PREFIX | ETCD__RQ_IDEM | retry, -1);
    etcd__jw_begin(&body);
    etcd__j_str(&body.json, "name", cli->o.user);
    etcd__j_str(&body.json, "password", cli->o.password);
    etcd__j_close(&body.json, '}');
    if (!etcd__jw_ok(&body)) etcd__errf(err, ETCD_ENOMEM, "out of memory");
    else if ((st = etcd__sub(cli, &rq, deadline, &in, &status, err)) == ETCD__STEP_OK)
        st = etcd__take_token(cli, &in, status, err);
    etcd__jw_free(&body);
    etcd__buf_free(&in);
    return st;
}

/* A usable token (nothing to do without user/password). A refusal is
   final and repeated for ETCD__AUTH_PAUSE without asking etcd again. */
static etcd__step etcd__auth(etcd *cli, double deadline, unsigned retry, etcd__error *err)
{
    double now = etcd__now(cli);
    etcd__step st;
    if (!cli->o.user || (cli->token && now - cli->token_used < ETCD__TOKEN_IDLE)) return ETCD__STEP_OK;
    if (now < cli->auth_retry_at) { *err = cli->auth_err; return ETCD__STEP_FAIL; }
    etcd__auth_drop(cli);
    st = etcd__authenticate(cli, deadline, retry, err);
    if (st == ETCD__STEP_OK) cli->token_used = now;
    if (st == ETCD__STEP_FAIL && err->code == ETCD_EAUTH) {
        cli->auth_retry_at = now + ETCD__AUTH_PAUSE;
        cli->auth_err = *err;
    }
    return st;
}

/* What rq needs before it is sent: the api prefix (once per client) and
   a token. */
static etcd__step etcd__prepare(etcd *cli, const etcd__req *rq, double deadline, etcd__error *err)
{
    unsigned retry = rq->flags & ETCD__RQ_RETRY;
    etcd__step st = ETCD__STEP_OK;
    if ((rq->flags & ETCD__RQ_PREFIX) && !cli->prefix[0]) st = etcd__detect_prefix(cli, deadline, retry, err);
    if (st == ETCD__STEP_OK && (rq->flags & ETCD__RQ_AUTH)) st = etcd__auth(cli, deadline, retry, err);
    return st;
}

/* Did etcd turn the request down for its token (expired, or the auth
   store changed under a JWT)? */
static bool etcd__token_rejected(const etcd *cli, const etcd__req *rq, const etcd__ans *a)
{
    static const char *const why[] = { "invalid auth token", "auth store is old", "token expired" };
    size_t i;
    if (!cli->token || !(rq->flags & ETCD__RQ_AUTH) || a->head.status == 200) return false;
    for (i = 0; i < sizeof why / sizeof *why; i++)
        if (a->in->p && strstr(a->in->p, why[i])) return true;
    return a->head.status == 401;
}

/* ------------------------------------------------------------------------
   >>kv  request bodies: keys get key_prefix and base64, values the
   serializer; then one etcd__post
   ------------------------------------------------------------------------ */

/* A key, dir or value as the caller gave it: len 0 means strlen (NULL: ""). */
static etcd_str etcd__span(const char *s, size_t len)
{
    etcd_str k;
    k.ptr = s ? s : "";
    k.len = s && len ? len : strlen(k.ptr);
    return k;
}

static bool etcd__check_key(etcd *cli, etcd_str key)
{
    if (key.len) return true;
    etcd__errf(&cli->err, ETCD_EARG, "key should not be empty");
    return false;
}

/* Under the JSON serializer a value must be JSON text: checked before any
   request (a lease grant included) is sent. */
static bool etcd__check_value(etcd *cli, const char *v, size_t n)
{
    if (cli->o.serializer != ETCD_SERIALIZER_JSON || etcd_json_parse(v, n, NULL, 0) >= 0) return true;
    etcd__errf(&cli->err, ETCD_EARG, "value is not valid JSON text (the JSON serializer stores JSON; "
               "use ETCD_SERIALIZER_RAW for raw bytes)");
    return false;
}

/* key_prefix + key into w->tmp. */
static void etcd__full_key(etcd__jw *w, etcd_str key)
{
    etcd__jw_tmp(w);
    if (w->key_prefix) etcd__buf_str(&w->tmp, w->key_prefix);
    etcd__buf_add(&w->tmp, key.ptr, key.len);
}

static void etcd__j_key(etcd__jw *w, const char *name, etcd_str key)
{
    etcd__full_key(w, key);
    etcd__j_b64(&w->json, name, w->tmp.p, w->tmp.len);
}

/* b holds a whole key: make it the end of the range of the keys that
   start with it, on bytes (the last byte that is not 0xff, plus one; "\0",
   the end of the keyspace, when there is none). */
static void etcd__prefix_end(etcd__buf *b)
{
    while (b->len && (unsigned char)b->p[b->len - 1] == 0xFF) b->len--;
    if (b->len) b->p[b->len - 1]++;
    else etcd__buf_add(b, "", 1);
}

/* The end of the range of every key starting with key_prefix + key. */
static void etcd__j_prefix_end(etcd__jw *w, const char *name, etcd_str key)
{
    etcd__full_key(w, key);
    etcd__prefix_end(&w->tmp);
    etcd__j_b64(&w->json, name, w->tmp.p, w->tmp.len);
}

/* A key, or a dir: every key starting with key_prefix + dir ("" and no
   prefix: all). */
static void etcd__j_target(etcd__jw *w, etcd_str key, bool dir)
{
    if (!dir) { etcd__j_key(w, "key", key); return; }
    etcd__full_key(w, key);
    etcd__j_b64(&w->json, "key", w->tmp.len ? w->tmp.p : "", w->tmp.len ? w->tmp.len : 1);
    etcd__j_prefix_end(w, "range_end", key);
}

/* A txn range_end: "" means every key from key on (within key_prefix). */
static void etcd__j_range_end(etcd__jw *w, const char *range_end, size_t len)
{
    etcd_str re = etcd__span(range_end, len);
    if (!range_end) return;
    if (re.len) etcd__j_key(w, "range_end", re);
    else etcd__j_prefix_end(w, "range_end", re);
}

static void etcd__j_value(etcd__jw *w, const char *name, const char *v, size_t n)
{
    if (w->json_values) {
        etcd__json_minify(etcd__jw_tmp(w), v, n);
        v = w->tmp.p ? w->tmp.p : "";
        n = w->tmp.len;
    }
    etcd__j_b64(&w->json, name, v, n);
}

static void etcd__j_flag(etcd__buf *b, const char *name, bool on) { if (on) etcd__j_true(b, name); }
static void etcd__j_nz(etcd__buf *b, const char *name, int64_t v) { if (v) etcd__j_i64(b, name, v); }

/* A range_end is for a key: a dir is a range already. */
static bool etcd__check_range(etcd *cli, bool dir, const char *range_end)
{
    if (!dir || !range_end) return true;
    etcd__errf(&cli->err, ETCD_EARG, "range_end goes with a key (etcd_get, etcd_delete, etcd_watch), not a dir");
    return false;
}

/* A range's sort (checked by the caller): enums as bare numbers (a
   string would be read as an enum's name); 0 is left out. */
static void etcd__j_sort(etcd__jw *w, int order, int target)
{
    if (order) { etcd__j_name(&w->json, "sort_order"); etcd__buf_i64(&w->json, order); }
    if (target) { etcd__j_name(&w->json, "sort_target"); etcd__buf_i64(&w->json, target); }
}

static etcd_res *etcd__range(etcd *cli, const char *key, bool dir, const etcd_get_opts *o)
{
    etcd_get_opts none;
    etcd_str k;
    if (!cli) return NULL;
    if (!o) { memset(&none, 0, sizeof none); o = &none; }
    k = etcd__span(key, o->key_len);
    if (!dir && !etcd__check_key(cli, k)) return NULL;
    if (!etcd__check_range(cli, dir, o->range_end)) return NULL;
    if (o->sort_order < ETCD_SORT_NONE || o->sort_order > ETCD_SORT_DESCEND || o->sort_target < ETCD_SORT_KEY ||
        o->sort_target > ETCD_SORT_VALUE || o->limit < 0 || o->min_mod_revision < 0 || o->max_mod_revision < 0 ||
        o->min_create_revision < 0 || o->max_create_revision < 0) {
        etcd__errf(&cli->err, ETCD_EARG, "get options: sort_order 0-2, sort_target 0-4, limit and revision "
                   "bounds >= 0");
        return NULL;
    }
    etcd__jw_begin(&cli->jw);
    etcd__j_target(&cli->jw, k, dir);
    etcd__j_range_end(&cli->jw, o->range_end, o->range_end_len);
    etcd__j_nz(&cli->jw.json, "min_mod_revision", o->min_mod_revision);
    etcd__j_nz(&cli->jw.json, "max_mod_revision", o->max_mod_revision);
    etcd__j_nz(&cli->jw.json, "min_create_revision", o->min_create_revision);
    etcd__j_nz(&cli->jw.json, "max_create_revision", o->max_create_revision);
    etcd__j_nz(&cli->jw.json, "limit", o->limit);
    etcd__j_nz(&cli->jw.json, "revision", o->revision > 0 ? o->revision : 0);
    etcd__j_sort(&cli->jw, o->sort_order, o->sort_target);
    etcd__j_flag(&cli->jw.json, "serializable", o->serializable);
    etcd__j_flag(&cli->jw.json, "keys_only", o->keys_only);
    etcd__j_flag(&cli->jw.json, "count_only", o->count_only);
    return etcd__post(cli, "/kv/range", ETCD__RQ_IDEM, o->timeout);
}

ETCDDEF etcd_res *etcd_get(etcd *cli, const char *key, const etcd_get_opts *opts)
{
    return etcd__range(cli, key, false, opts);
}

ETCDDEF etcd_res *etcd_readdir(etcd *cli, const char *dir, const etcd_get_opts *opts)
{
    return etcd__range(cli, dir, true, opts);
}

/* The members of a PutRequest. */
static void etcd__j_put(etcd__jw *w, etcd_str key, const char *val, size_t n,
                        int64_t lease, const etcd_set_opts *o)
{
    etcd__j_key(w, "key", key);
    if (val) etcd__j_value(w, "value", val, n);
    etcd__j_nz(&w->json, "lease", lease);
    etcd__j_flag(&w->json, "prev_kv", o->prev_kv);
    etcd__j_flag(&w->json, "ignore_value", o->ignore_value);
    etcd__j_flag(&w->json, "ignore_lease", o->ignore_lease);
}

/* The client's ttl option: a new lease for a write that names none. */
static bool etcd__ttl_lease(etcd *cli, const etcd_set_opts *o, int64_t *lease)
{
    etcd_res *g;
    *lease = o->lease;
    if (o->lease || o->ignore_lease || cli->o.ttl <= 0) return true;
    if (!(g = etcd_grant(cli, cli->o.ttl, 0))) return false;
    if (g->status != 200 || !g->id) {
        etcd__refusal(&cli->err, g, g->status, "ttl: lease grant failed: ", ETCD_EARG);
        etcd_res_free(g);
        return false;
    }
    *lease = g->id;
    etcd_res_free(g);
    return true;
}

typedef enum { ETCD__PUT, ETCD__PUT_IF_ABSENT, ETCD__PUT_IF_PRESENT } etcd__put_kind;

static etcd_res *etcd__write(etcd *cli, const char *key, const char *val, const etcd_set_opts *o,
                             etcd__put_kind kind)
{
    etcd_set_opts none;
    etcd_str k;
    size_t n;
    int64_t lease;
    if (!cli) return NULL;
    if (!o) { memset(&none, 0, sizeof none); o = &none; }
    k = etcd__span(key, o->key_len);
    if (!etcd__check_key(cli, k)) return NULL;
    if (!val && !o->ignore_value) { etcd__errf(&cli->err, ETCD_EARG, "value should not be NULL"); return NULL; }
    n = val ? (o->val_len ? o->val_len : strlen(val)) : 0;
    if (val && !etcd__check_value(cli, val, n)) return NULL;
    if (!etcd__ttl_lease(cli, o, &lease)) return NULL;
    etcd__jw_begin(&cli->jw);
    if (kind == ETCD__PUT) {
        etcd__j_put(&cli->jw, k, val, n, lease, o);
        return etcd__post(cli, "/kv/put", 0, o->timeout);
    }
    etcd__j_open(&cli->jw.json, "compare", '[');
    etcd__j_open(&cli->jw.json, NULL, '{');
    etcd__j_str(&cli->jw.json, "result", kind == ETCD__PUT_IF_ABSENT ? "EQUAL" : "GREATER");
    etcd__j_str(&cli->jw.json, "target", "CREATE");
    etcd__j_key(&cli->jw, "key", k);
    etcd__j_i64(&cli->jw.json, "create_revision", 0);
    etcd__buf_str(&cli->jw.json, "}],\"success\":[{\"request_put\":{");
    etcd__j_put(&cli->jw, k, val, n, lease, o);
    etcd__buf_str(&cli->jw.json, "}}]");
    return etcd__post(cli, "/kv/txn", 0, o->timeout);
}

ETCDDEF etcd_res *etcd_set(etcd *cli, const char *key, const char *val, const etcd_set_opts *opts)
{
    return etcd__write(cli, key, val, opts, ETCD__PUT);
}

ETCDDEF etcd_res *etcd_setnx(etcd *cli, const char *key, const char *val, const etcd_set_opts *opts)
{
    return etcd__write(cli, key, val, opts, ETCD__PUT_IF_ABSENT);
}

ETCDDEF etcd_res *etcd_setx(etcd *cli, const char *key, const char *val, const etcd_set_opts *opts)
{
    return etcd__write(cli, key, val, opts, ETCD__PUT_IF_PRESENT);
}

static etcd_res *etcd__delete(etcd *cli, const char *key, bool dir, const etcd_delete_opts *o)
{
    etcd_str k;
    if (!cli) return NULL;
    k = etcd__span(key, o ? o->key_len : 0);
    if (!dir && !etcd__check_key(cli, k)) return NULL;
    if (o && !etcd__check_range(cli, dir, o->range_end)) return NULL;
    etcd__jw_begin(&cli->jw);
    etcd__j_target(&cli->jw, k, dir);
    if (o) etcd__j_range_end(&cli->jw, o->range_end, o->range_end_len);
    etcd__j_flag(&cli->jw.json, "prev_kv", o && o->prev_kv);
    return etcd__post(cli, "/kv/deleterange", 0, o ? o->timeout : 0);
}

ETCDDEF etcd_res *etcd_delete(etcd *cli, const char *key, const etcd_delete_opts *opts)
{
    return etcd__delete(cli, key, false, opts);
}

ETCDDEF etcd_res *etcd_rmdir(etcd *cli, const char *dir, const etcd_delete_opts *opts)
{
    return etcd__delete(cli, dir, true, opts);
}

/* ------------------------------------------------------------------------
   >>txn
   ------------------------------------------------------------------------ */

static size_t etcd__vlen(const char *v, size_t n) { return etcd__span(v, n).len; }

static bool etcd__check_compare(etcd *cli, const etcd_compare *c)
{
    if (!etcd__check_key(cli, etcd__span(c->key, c->key_len))) return false;
    if ((unsigned)c->result > ETCD_CMP_NOT_EQUAL || (unsigned)c->target > ETCD_CMP_LEASE) {
        etcd__errf(&cli->err, ETCD_EARG, "txn: invalid compare result or target");
        return false;
    }
    if (c->target != ETCD_CMP_VALUE) return true;
    if (!c->value) { etcd__errf(&cli->err, ETCD_EARG, "txn: a VALUE compare needs a value"); return false; }
    return etcd__check_value(cli, c->value, etcd__vlen(c->value, c->value_len));
}

static bool etcd__check_ops(etcd *cli, const etcd_op *ops, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (!etcd__check_key(cli, etcd__span(ops[i].key, ops[i].key_len))) return false;
        if ((unsigned)ops[i].type > ETCD_OP_DELETE) { etcd__errf(&cli->err, ETCD_EARG, "txn: invalid op type"); return false; }
        if ((unsigned)ops[i].sort_order > ETCD_SORT_DESCEND || (unsigned)ops[i].sort_target > ETCD_SORT_VALUE) {
            etcd__errf(&cli->err, ETCD_EARG, "txn: a range op's sort_order is 0-2, its sort_target 0-4");
            return false;
        }
        if (ops[i].type != ETCD_OP_PUT) continue;
        if (!ops[i].value) { etcd__errf(&cli->err, ETCD_EARG, "txn: a PUT op needs a value"); return false; }
        if (!etcd__check_value(cli, ops[i].value, etcd__vlen(ops[i].value, ops[i].value_len))) return false;
    }
    return true;
}

static void etcd__j_compare(etcd__jw *w, const etcd_compare *c)
{
    static const char *const results[] = { "EQUAL", "GREATER", "LESS", "NOT_EQUAL" };
    static const char *const targets[] = { "VERSION", "CREATE", "MOD", "VALUE", "LEASE" };
    etcd__j_open(&w->json, NULL, '{');
    etcd__j_str(&w->json, "result", results[c->result]);
    etcd__j_str(&w->json, "target", targets[c->target]);
    etcd__j_key(w, "key", etcd__span(c->key, c->key_len));
    etcd__j_range_end(w, c->range_end, c->range_end_len);
    switch (c->target) {
    case ETCD_CMP_VERSION: etcd__j_i64(&w->json, "version", c->version); break;
    case ETCD_CMP_CREATE:  etcd__j_i64(&w->json, "create_revision", c->create_revision); break;
    case ETCD_CMP_MOD:     etcd__j_i64(&w->json, "mod_revision", c->mod_revision); break;
    case ETCD_CMP_LEASE:   etcd__j_i64(&w->json, "lease", c->lease); break;
    case ETCD_CMP_VALUE:   etcd__j_value(w, "value", c->value, etcd__vlen(c->value, c->value_len)); break;
    }
    etcd__j_close(&w->json, '}');
}

static void etcd__j_op(etcd__jw *w, const etcd_op *op)
{
    static const char *const names[] = { "request_range", "request_put", "request_delete_range" };
    etcd__j_open(&w->json, NULL, '{');
    etcd__j_open(&w->json, names[op->type], '{');
    etcd__j_key(w, "key", etcd__span(op->key, op->key_len));
    if (op->type != ETCD_OP_PUT) etcd__j_range_end(w, op->range_end, op->range_end_len);
    if (op->type == ETCD_OP_PUT) {
        etcd__j_value(w, "value", op->value, etcd__vlen(op->value, op->value_len));
        etcd__j_nz(&w->json, "lease", op->lease);
    }
    if (op->type == ETCD_OP_RANGE) {
        etcd__j_nz(&w->json, "limit", op->limit);
        etcd__j_nz(&w->json, "revision", op->revision);
        etcd__j_flag(&w->json, "keys_only", op->keys_only);
        etcd__j_flag(&w->json, "count_only", op->count_only);
        etcd__j_sort(w, op->sort_order, op->sort_target);
    } else {
        etcd__j_flag(&w->json, "prev_kv", op->prev_kv);
    }
    etcd__buf_str(&w->json, "}}");
}

static void etcd__j_ops(etcd__jw *w, const char *name, const etcd_op *ops, size_t n)
{
    size_t i;
    if (!n) return;
    etcd__j_open(&w->json, name, '[');
    for (i = 0; i < n; i++) etcd__j_op(w, &ops[i]);
    etcd__j_close(&w->json, ']');
}

ETCDDEF etcd_res *etcd_txn(etcd *cli, const etcd_compare *compare, size_t ncompare,
                           const etcd_op *success, size_t nsuccess,
                           const etcd_op *failure, size_t nfailure, const etcd_txn_opts *opts)
{
    size_t i;
    if (!cli) return NULL;
    if (!compare || !ncompare) { etcd__errf(&cli->err, ETCD_EARG, "compare couldn't be empty"); return NULL; }
    if (!success) nsuccess = 0;
    if (!failure) nfailure = 0;
    if (!nsuccess && !nfailure) {
        etcd__errf(&cli->err, ETCD_EARG, "success and failure couldn't be empty at the same time");
        return NULL;
    }
    for (i = 0; i < ncompare; i++) if (!etcd__check_compare(cli, &compare[i])) return NULL;
    if (!etcd__check_ops(cli, success, nsuccess) || !etcd__check_ops(cli, failure, nfailure)) return NULL;
    etcd__jw_begin(&cli->jw);
    etcd__j_open(&cli->jw.json, "compare", '[');
    for (i = 0; i < ncompare; i++) etcd__j_compare(&cli->jw, &compare[i]);
    etcd__j_close(&cli->jw.json, ']');
    etcd__j_ops(&cli->jw, "success", success, nsuccess);
    etcd__j_ops(&cli->jw, "failure", failure, nfailure);
    return etcd__post(cli, "/kv/txn", 0, opts ? opts->timeout : 0);
}

/* ------------------------------------------------------------------------
   >>lease  lease calls, etcd_version, etcd_request
   ------------------------------------------------------------------------ */

static void etcd__j_lease(etcd *cli, int64_t ttl, int64_t id, bool keys)
{
    etcd__jw_begin(&cli->jw);
    if (ttl) etcd__j_i64(&cli->jw.json, "TTL", ttl);
    etcd__j_nz(&cli->jw.json, "ID", id);
    etcd__j_flag(&cli->jw.json, "keys", keys);
}

static etcd_res *etcd__lease_call(etcd *cli, const char *path, unsigned flags, int64_t ttl, int64_t id,
                                  bool keys)
{
    if (!cli) return NULL;
    etcd__j_lease(cli, ttl, id, keys);
    return etcd__post(cli, path, flags, 0);
}

ETCDDEF etcd_res *etcd_grant(etcd *cli, int64_t ttl, int64_t id)
{
    return etcd__lease_call(cli, "/lease/grant", 0, ttl, id, false);
}

ETCDDEF etcd_res *etcd_revoke(etcd *cli, int64_t id)
{
    return etcd__lease_call(cli, "/kv/lease/revoke", 0, 0, id, false);
}

ETCDDEF etcd_res *etcd_keepalive(etcd *cli, int64_t id)
{
    return etcd__lease_call(cli, "/lease/keepalive", ETCD__RQ_IDEM, 0, id, false);
}

ETCDDEF etcd_res *etcd_timetolive(etcd *cli, int64_t id, bool keys)
{
    return etcd__lease_call(cli, "/kv/lease/timetolive", ETCD__RQ_IDEM, 0, id, keys);
}

ETCDDEF etcd_res *etcd_leases(etcd *cli)
{
    return etcd__lease_call(cli, "/kv/lease/leases", ETCD__RQ_IDEM, 0, 0, false);
}

ETCDDEF etcd_res *etcd_version(etcd *cli)
{
    etcd__req rq;
    if (!cli) return NULL;
    rq = etcd__rq("GET", "/version", NULL, ETCD__RQ_IDEM | ETCD__RQ_AUTH | ETCD__RQ_RETRY, cli->o.timeout);
    return etcd__call(cli, &rq);
}

/* etcd_request's path is the caller's: these are the reads among etcd's. */
static bool etcd__read_path(const char *path)
{
    static const char *const reads[] = { "/kv/range", "/kv/lease/timetolive", "/lease/timetolive",
                                         "/kv/lease/leases", "/lease/leases", "/lease/keepalive" };
    size_t i;
    for (i = 0; i < sizeof reads / sizeof *reads; i++) if (!strcmp(path, reads[i])) return true;
    return false;
}

/* The escape hatch's path and body: a path under the api prefix, JSON. */
static bool etcd__check_path(etcd *cli, const char *call, const char *path, const char *json_body)
{
    if (!path || path[0] != '/' || strpbrk(path, " \t\r\n"))
        etcd__errf(&cli->err, ETCD_EARG, "%s: path must start with '/' and hold no space or CR/LF", call);
    else if (json_body && etcd_json_parse(json_body, strlen(json_body), NULL, 0) < 0)
        etcd__errf(&cli->err, ETCD_EARG, "%s: json_body is not valid JSON", call);
    else return true;
    return false;
}

ETCDDEF etcd_res *etcd_request(etcd *cli, const char *path, const char *json_body, double timeout)
{
    etcd__req rq;
    size_t n;
    if (!cli || !etcd__check_path(cli, "etcd_request", path, json_body)) return NULL;
    if (!json_body) json_body = "{}";
    n = strlen(json_body);
    etcd__jw_begin(&cli->jw);
    etcd__buf_reset(&cli->jw.json);
    etcd__buf_add(&cli->jw.json, json_body, n);
    rq = etcd__post_rq(cli, path, etcd__read_path(path) ? ETCD__RQ_IDEM : 0, timeout);
    return etcd__call(cli, &rq);
}

/* ------------------------------------------------------------------------
   >>watch  a streaming POST on its own connection; the chunked body is
   split into whole JSON messages however etcd (or a proxy) cut it.
   A watcher is one state machine, stepped by etcd_watch_next:
     SNAPSHOT  its kind's snapshot (the mirror's pages)        -> OPEN
     OPEN      no stream: open one from the newest revision
               delivered + 1 (after a break: auto_resume)       -> HEAD, STREAM, ENDED
     HEAD      sent; the head is still to come (an observer's
               comes with its first message)                    -> STREAM, OPEN, ENDED
     STREAM    each message is classified, then applied         -> OPEN, SNAPSHOT, ENDED
     ENDED     nothing more: err says why
   ------------------------------------------------------------------------ */

typedef enum { ETCD__W_SNAPSHOT, ETCD__W_OPEN, ETCD__W_HEAD, ETCD__W_STREAM, ETCD__W_ENDED } etcd__wstate;

/* What a kind of watcher adds to a plain watch (observe and mirror are
   in >>recipes). */
typedef struct etcd__wkind {
    const char *path;                        /* the stream's POST; NULL: a raw stream's (w->ext) */
    bool late_head;                          /* etcd sends the head with the first message */
    bool own_created;                        /* "created" messages are not the caller's */
    void (*body)(etcd_watcher *w, int64_t start);   /* the request, into cli->jw */
    bool (*start)(etcd_watcher *w);          /* NULL: open the stream; else begin a SNAPSHOT
                                                (again when the resume point is compacted) */
    etcd_res *(*snapshot)(etcd_watcher *w, double deadline);  /* SNAPSHOT's next message */
    void (*drop)(etcd_watcher *w);           /* free w->ext */
} etcd__wkind;

/* The open stream: where, its bytes, and when it was last heard. */
typedef struct etcd__stream {
    etcd__ep *ep;
    etcd__conn conn;
    etcd__body body;             /* the HTTP framing */
    etcd__buf msg;               /* stream bytes not yet returned as messages */
    etcd__split split;           /* how far msg has been scanned */
    double heard;                /* when it last carried anything (or opened) */
} etcd__stream;

/* With fragment, a revision may come in parts; a break between them
   reopens at that revision, which etcd then sends whole. */
typedef struct etcd__frag {
    int64_t rev;                 /* a revision delivered in part, or 0 */
    size_t seen, skip;           /* its events delivered; to drop after a reopening */
} etcd__frag;

struct etcd_watcher {
    etcd *cli;
    const etcd__wkind *kind;
    void *ext;                   /* the kind's own state (the mirror's snapshot) */
    etcd__wstate state;
    double since;                /* when etcd_watch_state's answer last changed */
    etcd_str key;                /* key, dir or election name (owned), kept to reopen */
    bool dir;
    etcd_watch_opts o;
    double timeout;              /* per etcd_watch_next; < 0: forever */
    int64_t last;                /* newest revision wholly delivered; 0: none yet */
    etcd__frag frag;
    etcd__stream s;
    bool created_seen;           /* the caller had a "created": later ones are reopenings' */
    bool reauthed;               /* reopened for a rejected token, until events flow again */
    etcd__error why;             /* what broke the stream */
    etcd__error err;             /* why etcd_watch_next returned NULL */
};

static etcd_stream_state etcd__public_state(etcd__wstate s)
{
    static const etcd_stream_state pub[] = { ETCD_WATCH_SNAPSHOT, ETCD_WATCH_OPENING, ETCD_WATCH_LIVE,
                                             ETCD_WATCH_LIVE, ETCD_WATCH_ENDED };
    return pub[s];
}

static void etcd__watch_to(etcd_watcher *w, etcd__wstate st)
{
    if (etcd__public_state(st) != etcd__public_state(w->state)) w->since = etcd__now(w->cli);
    w->state = st;
}

static void etcd__j_watch(etcd_watcher *w, int64_t start)
{
    etcd *cli = w->cli;
    const etcd_watch_opts *o = &w->o;
    etcd__jw_begin(&cli->jw);
    etcd__j_open(&cli->jw.json, "create_request", '{');
    etcd__j_target(&cli->jw, w->key, w->dir);
    etcd__j_range_end(&cli->jw, o->range_end, o->range_end_len);
    etcd__j_nz(&cli->jw.json, "start_revision", start);
    etcd__j_flag(&cli->jw.json, "progress_notify", o->progress_notify);
    if (o->filters & (ETCD_FILTER_NOPUT | ETCD_FILTER_NODELETE)) {
        etcd__j_open(&cli->jw.json, "filters", '[');
        if (o->filters & ETCD_FILTER_NOPUT) etcd__buf_str(&cli->jw.json, "\"NOPUT\"");
        if ((o->filters & ETCD_FILTER_NOPUT) && (o->filters & ETCD_FILTER_NODELETE)) etcd__buf_str(&cli->jw.json, ",");
        if (o->filters & ETCD_FILTER_NODELETE) etcd__buf_str(&cli->jw.json, "\"NODELETE\"");
        etcd__j_close(&cli->jw.json, ']');
    }
    etcd__j_flag(&cli->jw.json, "prev_kv", o->prev_kv);
    etcd__j_nz(&cli->jw.json, "watch_id", o->watch_id);
    etcd__j_flag(&cli->jw.json, "fragment", o->fragment);
    etcd__j_close(&cli->jw.json, '}');
    etcd__j_close(&cli->jw.json, '}');
}

static const etcd__wkind etcd__watch_kind = { "/watch", false, false, etcd__j_watch, NULL, NULL, NULL };

/* A raw stream (etcd_request_stream, the snapshot): the caller's path and
   body, on one endpoint or the next healthy; its messages handed over as
   they come, never resumed; the end of the body is the end of the stream. */
typedef struct etcd__raw {
    char *path, *body;
    etcd__ep tmp, *ep;           /* ep: the endpoint named (maybe tmp); NULL: any */
} etcd__raw;

static void etcd__j_raw(etcd_watcher *w, int64_t start)
{
    (void)start;
    etcd__jw_begin(&w->cli->jw);
    etcd__buf_reset(&w->cli->jw.json);
    etcd__buf_str(&w->cli->jw.json, ((etcd__raw *)w->ext)->body);
}

static void etcd__raw_drop(etcd_watcher *w)
{
    etcd__raw *r = (etcd__raw *)w->ext;
    if (!r) return;
    ETCD_FREE(r->path);
    ETCD_FREE(r->body);
    etcd__ep_free(&r->tmp);
    ETCD_FREE(r);
    w->ext = NULL;
}

static const etcd__wkind etcd__raw_kind = { NULL, false, false, etcd__j_raw, NULL, NULL, etcd__raw_drop };

/* A watch refused with a 4xx: its body says why. */
static void etcd__watch_refused(int status, const etcd__buf *body, etcd__error *err)
{
    etcd_res *e = etcd__decode(body->p ? body->p : etcd__empty, body->len, status, err);
    etcd__refusal(err, e, status, "watch refused: ", ETCD_ECANCELED);
    etcd_res_free(e);
}

static void etcd__stream_close(etcd__stream *s)
{
    etcd__conn_close(&s->conn);
    etcd__buf_reset(&s->msg);
    memset(&s->split, 0, sizeof s->split);
}

/* (Re)open w's stream from revision start; flags: ETCD__RQ_RETRY or 0.
   The head is read here, unless its kind's comes late (HEAD). */
static etcd__step etcd__watch_connect(etcd_watcher *w, int64_t start, unsigned flags, double timeout,
                                      etcd__error *err)
{
    etcd *cli = w->cli;
    etcd__req rq;
    etcd__ans a;
    etcd__step st;
    etcd__stream_close(&w->s);
    w->kind->body(w, start);
    if (!etcd__jw_ok(&cli->jw)) { etcd__errf(err, ETCD_ENOMEM, "out of memory"); return ETCD__STEP_FAIL; }
    rq = etcd__rq("POST", w->kind->path ? w->kind->path : ((etcd__raw *)w->ext)->path, &cli->jw,
                  ETCD__RQ_PREFIX | ETCD__RQ_IDEM | ETCD__RQ_STREAM | ETCD__RQ_AUTH | flags |
                  (w->kind->late_head ? (unsigned)ETCD__RQ_NOHEAD : 0u), timeout);
    if (!w->kind->path) rq.ep = ((etcd__raw *)w->ext)->ep;
    memset(&a, 0, sizeof a);
    a.out = &cli->out;
    a.in = &cli->in;
    a.conn = &w->s.conn;
    st = etcd__run(cli, &rq, &a, err);
    w->s.ep = a.ep;
    if (st != ETCD__STEP_OK) return st;
    w->s.heard = etcd__now(w->cli);
    if (!a.head.status) { etcd__watch_to(w, ETCD__W_HEAD); return ETCD__STEP_OK; }
    if (a.head.status != 200) { etcd__watch_refused(a.head.status, a.in, err); return ETCD__STEP_FAIL; }
    /* the first message often shares a segment with the head: move it
       where etcd_watch_pending() looks */
    etcd__body_init(&w->s.body, &a.head);
    if (etcd__body_pump(&w->s.conn, &w->s.body, &w->s.msg, cli->o.max_response, etcd__deadline(cli, timeout),
                        false, err) < 0) {
        etcd__conn_close(&w->s.conn);
        return ETCD__STEP_FAIL;
    }
    etcd__watch_to(w, ETCD__W_STREAM);
    return ETCD__STEP_OK;
}

/* The one constructor: a watcher of kind on key, not yet started. */
static etcd_watcher *etcd__watcher_new(etcd *cli, etcd_str key, bool dir, const etcd_watch_opts *o,
                                       const etcd__wkind *kind)
{
    etcd_watcher *w = (etcd_watcher *)ETCD_MALLOC(sizeof *w);
    etcd_str re = etcd__span(o ? o->range_end : NULL, o ? o->range_end_len : 0);
    size_t need = key.len + re.len + 2;                    /* both NUL-terminated */
    char *copy = w && need > key.len ? (char *)ETCD_MALLOC(need) : NULL;
    if (!w || !copy) {
        ETCD_FREE(w);
        ETCD_FREE(copy);
        etcd__errf(&cli->err, ETCD_ENOMEM, "out of memory");
        return NULL;
    }
    memset(w, 0, sizeof *w);
    memcpy(copy, key.ptr, key.len);                        /* key, then its range end: one block */
    copy[key.len] = 0;
    memcpy(copy + key.len + 1, re.ptr, re.len);
    copy[key.len + 1 + re.len] = 0;
    etcd__conn_init(&w->s.conn);
    w->cli = cli;
    w->kind = kind;
    w->state = ETCD__W_OPEN;
    w->since = etcd__now(w->cli);
    w->key.ptr = copy;
    w->key.len = key.len;
    w->dir = dir;
    if (o) w->o = *o;
    if (w->o.range_end) w->o.range_end = copy + key.len + 1;   /* the caller's may go */
    w->o.range_end_len = re.len;
    w->timeout = w->o.timeout ? w->o.timeout : cli->o.timeout;
    return w;
}

/* Make and start a watcher: its stream opened (or its snapshot begun).
   NULL with cli's error on failure. */
static etcd_watcher *etcd__watch_begin(etcd *cli, etcd_watcher *w)
{
    const etcd__wkind *kind = w->kind;
    if (kind->start ? kind->start(w)
                    : etcd__watch_connect(w, w->o.start_revision, ETCD__RQ_RETRY, cli->o.timeout, &cli->err) ==
                      ETCD__STEP_OK)
        return w;
    if (kind->start) cli->err = w->err;
    etcd_watchcancel(w);
    return NULL;
}

static etcd_watcher *etcd__watch_open(etcd *cli, etcd_str key, bool dir, const etcd_watch_opts *o,
                                      const etcd__wkind *kind)
{
    etcd_watcher *w;
    etcd__err_clear(&cli->err);
    return (w = etcd__watcher_new(cli, key, dir, o, kind)) != NULL ? etcd__watch_begin(cli, w) : NULL;
}

static etcd_watcher *etcd__watch_key(etcd *cli, const char *key, bool dir, const etcd_watch_opts *o)
{
    etcd_str k;
    if (!cli) return NULL;
    k = etcd__span(key, o ? o->key_len : 0);
    if (!dir && !etcd__check_key(cli, k)) return NULL;
    if (o && !etcd__check_range(cli, dir, o->range_end)) return NULL;
    return etcd__watch_open(cli, k, dir, o, &etcd__watch_kind);
}

ETCDDEF etcd_watcher *etcd_watch(etcd *cli, const char *key, const etcd_watch_opts *opts)
{
    return etcd__watch_key(cli, key, false, opts);
}

ETCDDEF etcd_watcher *etcd_watchdir(etcd *cli, const char *dir, const etcd_watch_opts *opts)
{
    return etcd__watch_key(cli, dir, true, opts);
}

static bool etcd__ep_named(etcd *cli, const char *endpoint, etcd__ep *tmp, etcd__ep **ep);
static bool etcd__check_path(etcd *cli, const char *call, const char *path, const char *json_body);

/* A raw stream to path on endpoint (NULL: the next healthy). */
static etcd_watcher *etcd__stream_open(etcd *cli, const char *endpoint, const char *path, const char *json_body,
                                       const etcd_watch_opts *o)
{
    etcd_watcher *w;
    etcd__raw *r;
    etcd__err_clear(&cli->err);
    if (!etcd__check_path(cli, "etcd_request_stream", path, json_body)) return NULL;
    if (!(w = etcd__watcher_new(cli, etcd__span("", 0), false, o, &etcd__raw_kind))) return NULL;
    w->o.auto_resume = false;                     /* nothing to resume from: stall checks are off too */
    if (!(w->ext = r = (etcd__raw *)ETCD_MALLOC(sizeof *r))) {
        etcd_watchcancel(w);
        etcd__errf(&cli->err, ETCD_ENOMEM, "out of memory");
        return NULL;
    }
    memset(r, 0, sizeof *r);
    etcd__conn_init(&r->tmp.conn);
    r->path = etcd__strndup(path, strlen(path));
    r->body = etcd__strndup(json_body ? json_body : "{}", strlen(json_body ? json_body : "{}"));
    if (!r->path || !r->body) etcd__errf(&cli->err, ETCD_ENOMEM, "out of memory");
    else if (etcd__ep_named(cli, endpoint, &r->tmp, &r->ep)) return etcd__watch_begin(cli, w);
    etcd_watchcancel(w);
    return NULL;
}

ETCDDEF etcd_watcher *etcd_request_stream(etcd *cli, const char *path, const char *json_body,
                                          const etcd_watch_opts *opts)
{
    return cli ? etcd__stream_open(cli, NULL, path, json_body, opts) : NULL;
}

/* The stream is over for good; why NULL: w->err already says why. */
static etcd_res *etcd__watch_end(etcd_watcher *w, etcd_err code, const char *why)
{
    if (why) etcd__errf(&w->err, code, "%s", why);
    etcd__watch_to(w, ETCD__W_ENDED);
    etcd__conn_close(&w->s.conn);
    return NULL;
}

/* The stream is gone (w->err says why): reopened with auto_resume, else
   the end. */
static void etcd__watch_lost(etcd_watcher *w)
{
    etcd__conn_close(&w->s.conn);
    etcd__watch_to(w, w->o.auto_resume ? ETCD__W_OPEN : ETCD__W_ENDED);
}

/* The stream failed in a way a reopening can cure (EOF, reset, an error
   message from etcd such as "no leader"): counted against its member. */
static etcd_res *etcd__watch_break(etcd_watcher *w, etcd_err code, const char *why)
{
    if (why != w->why.msg) etcd__errf(&w->why, code, "%s", why);
    w->err = w->why;
    if (w->s.ep) etcd__ep_failed(w->cli, w->s.ep, &w->why);   /* an idle timeout never gets here */
    etcd__watch_lost(w);
    return NULL;
}

/* Between messages a stream holds what a small one needs: a big one's
   buffers are given back once it is taken (not a medium one's, which
   would come and go with every message). */
static void etcd__stream_rest(etcd__stream *st)
{
    if (st->msg.cap > ETCD__KEEP) etcd__buf_shrink(&st->msg, 1024);
    etcd__conn_rest(&st->conn);
}

/* Decode the whole message at msg[s, e) and drop it from the buffer. */
static etcd_res *etcd__watch_take(etcd_watcher *w, size_t s, size_t e)
{
    etcd_res *res = etcd__decode(w->s.msg.p + s, e - s, 200, &w->err);
    etcd__buf_consume(&w->s.msg, e);
    etcd__stream_rest(&w->s);
    if (!res) return etcd__watch_end(w, ETCD_OK, NULL);
    if (res->error) {
        etcd__errf(&w->why, ETCD_ESERVER, "watch stream error: %s (code %d)", etcd__res_why(res), res->code);
        etcd_res_free(res);
        return etcd__watch_break(w, ETCD_ESERVER, w->why.msg);
    }
    return res;
}

/* A frozen or cut-off member keeps a stream open and silent, and etcd's
   Hasleader cannot end it: with auto_resume, a stream silent for
   stall_check seconds gets its member checked over another connection. */
static double etcd__watch_stall(const etcd_watcher *w)
{
    if (!w->o.auto_resume || w->o.stall_check < 0) return -1;
    return w->o.stall_check ? w->o.stall_check : 10.0;
}

/* How long to wait for the stream: until deadline, or until a check is due. */
static double etcd__watch_until(const etcd_watcher *w, double deadline)
{
    double stall = etcd__watch_stall(w), at = w->s.heard + stall;
    if (stall < 0) return deadline;
    return deadline >= 0 && deadline < at ? deadline : at;
}

static bool etcd__watch_stalled(const etcd_watcher *w)
{
    double stall = etcd__watch_stall(w);
    return stall >= 0 && etcd__now(w->cli) >= w->s.heard + stall;
}

/* GET /version on the stream's member, on its keep-alive connection. An
   answer keeps the stream (and the silence is counted again); none loses
   it, counted against the member by the exchange. Returns false when the
   stream is lost. */
static bool etcd__watch_check(etcd_watcher *w)
{
    etcd__buf out, in;
    etcd__req rq = etcd__rq("GET", "/version", NULL, ETCD__RQ_IDEM, -1);
    etcd__ans a;
    etcd__error e;
    etcd__step st;
    memset(&out, 0, sizeof out);
    memset(&in, 0, sizeof in);
    memset(&a, 0, sizeof a);
    a.out = &out;
    a.in = &in;
    a.ep = w->s.ep;
    st = w->s.ep ? etcd__exchange(w->cli, &rq, &a, etcd__deadline(w->cli, w->cli->o.timeout), &e) : ETCD__STEP_OK;
    etcd__buf_free(&out);
    etcd__buf_free(&in);
    w->s.heard = etcd__now(w->cli);
    if (st == ETCD__STEP_OK) return true;
    etcd__errf(&w->why, e.code, "watch stream silent for %.1f s and its member did not answer: %s",
               etcd__watch_stall(w), e.msg);
    w->err = w->why;
    etcd__watch_lost(w);
    return false;
}

/* A stream silent until deadline: false (w->err "timeout", w usable) at
   the deadline, or when its member failed a stall check (w lost it). */
static bool etcd__watch_quiet(etcd_watcher *w, double deadline)
{
    if (etcd__watch_stalled(w) && !etcd__watch_check(w)) return false;
    return deadline < 0 || etcd__now(w->cli) < deadline;
}

/* HEAD: the head, which etcd sends an observer only with its first
   message (none while the election has no leader): until then the stream
   is silent like any other. A 4xx ends the stream, a 5xx breaks it. */
static void etcd__watch_head(etcd_watcher *w, double deadline)
{
    etcd__ans a;
    bool got = false;
    memset(&a, 0, sizeof a);
    while (etcd__read_head(&w->s.conn, &a.head, etcd__watch_until(w, deadline), &got, &w->err) < 0) {
        if (w->err.code != ETCD_ETIMEOUT) goto broke;
        if (!etcd__watch_quiet(w, deadline)) return;
    }
    w->s.heard = etcd__now(w->cli);
    etcd__body_init(&w->s.body, &a.head);
    if (a.head.status == 200) { etcd__watch_to(w, ETCD__W_STREAM); return; }
    a.in = &w->s.msg;
    if (etcd__body_pump(&w->s.conn, &w->s.body, &w->s.msg, w->cli->o.max_response, deadline, true, &w->err) < 0)
        goto broke;
    if (!etcd__sick(a.head.status)) {
        etcd__watch_refused(a.head.status, &w->s.msg, &w->err);
        etcd__watch_end(w, w->err.code, NULL);
        return;
    }
    etcd__server_error(&a, &w->err);
broke:
    etcd__watch_break(w, w->err.code, w->err.msg);
}

/* STREAM: the next message, or NULL: "timeout" (still STREAM), or the
   stream broke or ended (the state says which). */
static etcd_res *etcd__watch_read(etcd_watcher *w, double deadline)
{
    size_t max = w->cli->o.max_response;
    etcd__stream *st = &w->s;
    for (;;) {
        size_t s = 0, e = 0, had, room;
        long n;
        int k = etcd__json_next(&st->split, st->msg.p, st->msg.len, &s, &e);
        if (k > 0 && e - s <= max) return etcd__watch_take(w, s, e);
        if (k < 0) return etcd__watch_end(w, ETCD_EPROTO, "malformed watch stream: not a JSON object");
        if (k > 0 || (st->split.depth && st->msg.len - st->split.start > max)) {   /* the cap is per message */
            etcd__too_big(&w->err, max);
            return etcd__watch_end(w, ETCD_OK, NULL);
        }
        if (st->body.done && !w->kind->path) return etcd__watch_end(w, ETCD_OK, "the stream ended");
        if (st->body.done) return etcd__watch_break(w, ETCD_ETRANSPORT, "watch stream ended by the server");
        had = st->msg.len;
        /* what one read brought may hold several whole messages: let them
           all in, plus up to max of the next */
        room = st->conn.in.len - st->conn.off + had;
        room = room > SIZE_MAX - max ? SIZE_MAX : room + max;
        if (etcd__body_pump(&st->conn, &st->body, &st->msg, room, deadline, false, &w->err) < 0)
            return etcd__watch_end(w, ETCD_OK, NULL);
        if (st->msg.len > had || st->body.done) continue;
        n = etcd__conn_fill(&st->conn, etcd__watch_until(w, deadline), &w->err);
        if (n < 0 && w->err.code == ETCD_ETIMEOUT) {
            if (!etcd__watch_quiet(w, deadline)) return NULL;   /* a timeout: the stream stays usable */
            continue;
        }
        if (n > 0) st->heard = etcd__now(w->cli);
        if (n < 0) return etcd__watch_break(w, w->err.code, w->err.msg);
        if (n == 0 && st->body.mode == ETCD__BODY_EOF) st->body.done = true;
        else if (n == 0) return etcd__watch_break(w, ETCD_ETRANSPORT, "watch stream closed by the server");
    }
}

/* After a break between the parts of a revision, drop the events of it
   the caller already has. Returns false when nothing of m is left. */
static bool etcd__watch_fragment(etcd__frag *f, etcd_res *m)
{
    size_t k = 0, same = 0, i;
    int64_t rev;
    while (f->skip && k < m->nevents && m->events[k].kv.mod_revision == f->rev) {
        k++;
        f->skip--;
    }
    m->events += k;
    m->nevents -= k;
    if (!m->nevents) return false;
    f->skip = 0;
    rev = m->events[m->nevents - 1].kv.mod_revision;
    for (i = m->nevents; i > 0 && m->events[i - 1].kv.mod_revision == rev; i--) same++;
    f->seen = rev == f->rev ? f->seen + same : same;
    f->rev = m->fragment ? rev : 0;
    return true;
}

/* What a message is to the watcher. */
typedef enum {
    ETCD__M_REAUTH,              /* canceled for its token: reopen once with a new one */
    ETCD__M_COMPACTED,           /* canceled: the resume point is compacted */
    ETCD__M_CANCELED,            /* canceled for another reason */
    ETCD__M_CREATED,
    ETCD__M_EVENTS,
    ETCD__M_PROGRESS             /* no events: a progress notification (or an empty message) */
} etcd__mclass;

/* Classify m; changes nothing. */
static etcd__mclass etcd__watch_classify(const etcd_watcher *w, const etcd_res *m)
{
    const char *r = m->cancel_reason ? m->cancel_reason : "";
    if (m->canceled && w->cli->token && !w->reauthed &&
        (strstr(r, "invalid auth token") || strstr(r, "auth store is old")))
        return ETCD__M_REAUTH;
    if (m->canceled) return m->compact_revision ? ETCD__M_COMPACTED : ETCD__M_CANCELED;
    if (m->created) return ETCD__M_CREATED;
    return m->nevents ? ETCD__M_EVENTS : ETCD__M_PROGRESS;
}

/* Advance the newest revision the caller has wholly seen: only by
   delivered events and progress notifications (an idle timeout says
   nothing about the store). */
static void etcd__watch_advance(etcd_watcher *w, const etcd_res *m)
{
    size_t i;
    for (i = 0; i < m->nevents; i++)
        if (m->events[i].kv.mod_revision > w->last) w->last = m->events[i].kv.mod_revision;
    if (m->fragment && w->frag.rev && w->last >= w->frag.rev) w->last = w->frag.rev - 1;   /* not whole yet */
    if (!m->nevents && !w->frag.rev && m->revision > w->last) w->last = m->revision;
}

/* Canceled for its token: a new one, and the stream reopened once (even
   without auto_resume): not the endpoint's fault. */
static void etcd__watch_reauth(etcd_watcher *w, const etcd_res *m)
{
    etcd__auth_drop(w->cli);
    w->reauthed = true;
    etcd__errf(&w->why, ETCD_ECANCELED, "watch canceled: %s", m->cancel_reason);
    etcd__conn_close(&w->s.conn);
    etcd__watch_to(w, ETCD__W_OPEN);
}

/* A canceled message, the stream's last: etcd keeps the stream open and
   silent, so it ends here. A kind with a start begins again instead of
   ending on a compacted resume point (the mirror's new snapshot). Returns
   whether the caller gets m. */
static bool etcd__watch_canceled(etcd_watcher *w, const etcd_res *m)
{
    if (!m->compact_revision)
        etcd__errf(&w->why, ETCD_ECANCELED, "watch canceled: %s",
                   m->cancel_reason && *m->cancel_reason ? m->cancel_reason : "by etcd");
    else if (w->kind->start) { etcd__stream_close(&w->s); w->kind->start(w); return false; }
    else etcd__errf(&w->why, ETCD_ECOMPACTED, "watch canceled: revision compacted (compact_revision %lld)",
                    (long long)m->compact_revision);
    etcd__watch_end(w, w->why.code, w->why.msg);
    return true;
}

/* Apply m, classified as c. Returns whether the caller gets it. */
static bool etcd__watch_apply(etcd_watcher *w, etcd_res *m, etcd__mclass c)
{
    bool seen = w->created_seen;
    switch (c) {
    case ETCD__M_REAUTH:
        etcd__watch_reauth(w, m);
        return false;
    case ETCD__M_COMPACTED: case ETCD__M_CANCELED:
        return etcd__watch_canceled(w, m);
    case ETCD__M_CREATED:
        if (!w->o.start_revision && !w->last) w->last = m->revision;   /* "now" was this */
        w->created_seen = true;
        return !seen && !w->kind->own_created;
    case ETCD__M_EVENTS:
        w->reauthed = false;
        if (!etcd__watch_fragment(&w->frag, m)) return false;
        break;
    case ETCD__M_PROGRESS:
        break;
    }
    etcd__watch_advance(w, m);
    return true;
}

/* The transport's wait on no connection is a sleep. */
static void etcd__sleep(const etcd *cli, double seconds)
{
    double until = etcd__now(cli) + seconds;
    while (etcd__now(cli) < until && cli->tr->wait(cli->tr->ctx, -1, 0, until) >= 0) {}
}

/* Wait before trying again: pause, doubled up to 1 s each time. False
   ("timeout" in err) when the wait would pass the deadline. */
static bool etcd__backoff(const etcd *cli, double *pause, double deadline, etcd__error *err)
{
    if (deadline >= 0 && etcd__now(cli) + *pause >= deadline) {
        etcd__errf(err, ETCD_ETIMEOUT, "timeout");
        return false;
    }
    etcd__sleep(cli, *pause);
    *pause = *pause * 2 > 1.0 ? 1.0 : *pause * 2;
    return true;
}

/* OPEN: a stream from the last seen revision + 1, tried again with
   backoff until deadline ("timeout": call again later). */
static void etcd__watch_reopen(etcd_watcher *w, double deadline)
{
    double pause = 0.05, timeout;
    etcd__error e;
    for (;;) {
        if (deadline >= 0 && etcd__now(w->cli) >= deadline) {     /* a 1 ms try would blame a healthy member */
            etcd__errf(&w->err, ETCD_ETIMEOUT, "timeout");
            return;
        }
        timeout = w->cli->o.timeout;
        if (deadline >= 0 && etcd__left(w->cli, deadline) < timeout) timeout = etcd__left(w->cli, deadline);
        w->frag.skip = w->frag.rev ? w->frag.seen : 0;
        switch (etcd__watch_connect(w, w->last ? w->last + 1 : w->o.start_revision, 0, timeout, &e)) {
        case ETCD__STEP_OK:
            return;
        case ETCD__STEP_FAIL:
            if (w->why.msg[0]) etcd__errf(&w->err, e.code, "%s; reopening it failed: %s", w->why.msg, e.msg);
            else etcd__errf(&w->err, e.code, "opening the watch stream failed: %s", e.msg);
            etcd__watch_to(w, ETCD__W_ENDED);
            return;
        case ETCD__STEP_NEXT:
            break;
        }
        if (!etcd__backoff(w->cli, &pause, deadline, &w->err)) return;
    }
}

/* One step of the state machine. A message for the caller, or NULL: see
   w->state (unchanged after a timeout, in w->err). */
static etcd_res *etcd__watch_step(etcd_watcher *w, double deadline, bool *again)
{
    etcd__wstate was = w->state;
    etcd_res *m = NULL;
    switch (w->state) {
    case ETCD__W_SNAPSHOT: return w->kind->snapshot(w, deadline);
    case ETCD__W_OPEN:     etcd__watch_reopen(w, deadline); break;
    case ETCD__W_HEAD:     etcd__watch_head(w, deadline); break;
    case ETCD__W_STREAM:
        if ((m = etcd__watch_read(w, deadline)) != NULL) {
            *again = w->kind->path && !etcd__watch_apply(w, m, etcd__watch_classify(w, m));
            if (*again) { etcd_res_free(m); m = NULL; }
            return m;
        }
        break;
    case ETCD__W_ENDED:    return NULL;
    }
    *again = w->state != was && w->state != ETCD__W_ENDED;    /* not a timeout: go on */
    return NULL;
}

ETCDDEF etcd_res *etcd_watch_next(etcd_watcher *w)
{
    double deadline;
    etcd_res *res = NULL;
    bool again = true;
    if (!w) return NULL;
    deadline = etcd__deadline(w->cli, w->timeout);
    if (w->state != ETCD__W_ENDED) etcd__err_clear(&w->err);
    while (!res && again) {
        again = false;
        res = etcd__watch_step(w, deadline, &again);
    }
    if (res && w->state != ETCD__W_ENDED) etcd__err_clear(&w->err);   /* a break cured on the way is no error */
    return res;
}

ETCDDEF const char *etcd_watch_errstr(const etcd_watcher *w) { return w ? w->err.msg : "no watcher"; }

ETCDDEF etcd_err etcd_watch_errcode(const etcd_watcher *w) { return w ? w->err.code : ETCD_EARG; }

ETCDDEF int etcd_watch_fd(const etcd_watcher *w) { return w ? w->s.conn.fd : -1; }

ETCDDEF etcd_stream_state etcd_watch_state(const etcd_watcher *w, double *seconds)
{
    if (seconds) *seconds = w ? etcd__now(w->cli) - w->since : 0;
    return w ? etcd__public_state(w->state) : ETCD_WATCH_ENDED;
}

ETCDDEF bool etcd_watch_pending(const etcd_watcher *w)
{
    size_t s, e;
    etcd__split sp;
    if (!w || w->state == ETCD__W_ENDED) return false;
    if (w->state == ETCD__W_SNAPSHOT || w->state == ETCD__W_OPEN) return true;   /* no fd to wait on */
    if (w->s.conn.fd >= 0 && w->s.conn.io->pending(&w->s.conn)) return true;   /* inside the TLS backend */
    if (w->state == ETCD__W_HEAD)
        return etcd__find_crlfcrlf(etcd__conn_data(&w->s.conn), w->s.conn.in.len - w->s.conn.off) != NULL;
    sp = w->s.split;                     /* a look, not a step */
    return etcd__json_next(&sp, w->s.msg.p, w->s.msg.len, &s, &e) > 0;
}

ETCDDEF int etcd_watchcancel(etcd_watcher *w)
{
    if (!w) return 0;
    if (w->kind->drop) w->kind->drop(w);
    ETCD_FREE((void *)w->key.ptr);
    etcd__conn_free(&w->s.conn);
    etcd__buf_free(&w->s.msg);
    ETCD_FREE(w);
    return 0;
}


/* ------------------------------------------------------------------------
   >>admin  compaction, members, maintenance, auth: etcd's administration,
   each a request body and one etcd__admin
   ------------------------------------------------------------------------ */

/* etcd's release, for saying which one lacks a call: learnt with the api
   prefix, or asked for now. */
static const char *etcd__release(etcd *cli)
{
    etcd_res *v;
    if (!cli->release[0] && (v = etcd_version(cli)) != NULL) {
        if (v->etcdserver) snprintf(cli->release, sizeof cli->release, "%s", v->etcdserver);
        etcd_res_free(v);
    }
    return cli->release[0] ? cli->release : "(release unknown)";
}

/* The endpoint a per-member call names: one of the client's as written in
   http_host, else a member's client URL made into tmp (free it with
   etcd__ep_free). NULL endpoint: *ep NULL, the next healthy. */
static bool etcd__ep_named(etcd *cli, const char *endpoint, etcd__ep *tmp, etcd__ep **ep)
{
    size_t i;
    *ep = NULL;
    memset(tmp, 0, sizeof *tmp);
    etcd__conn_init(&tmp->conn);
    if (!endpoint) return true;
    for (i = 0; i < cli->neps; i++) if (!strcmp(cli->eps[i].url, endpoint)) { *ep = &cli->eps[i]; return true; }
    if (!etcd__ep_parse(tmp, endpoint, strlen(endpoint), &cli->err)) return false;
#ifdef ETCD__TLS
    if (tmp->tls && !cli->tls) {
        etcd__errf(&cli->err, ETCD_EARG, "endpoint %s is https: the client has no https endpoint, so no TLS "
                   "settings", endpoint);
        return false;
    }
#endif
    *ep = tmp;
    return true;
}

/* Did the gateway lack the path (not etcd refusing the call: etcd's own
   404 says what was not found, "etcdserver: member not found")? 3.4
   answers a plain "Not Found", 3.5 {"code":5,"message":"Not Found"}. */
static bool etcd__no_route(const etcd_res *r)
{
    return r->status == 501 || (r->status == 404 && !strcmp(etcd__res_why(r), "Not Found"));
}

/* POST the body etcd__jw_begin opened to path, on ep (NULL: the next
   healthy). A call the server's gateway lacks fails, naming the call and
   the release. */
static etcd_res *etcd__admin(etcd *cli, const char *call, const char *path, unsigned flags, etcd__ep *ep)
{
    etcd__req rq = etcd__post_rq(cli, path, flags, 0);
    etcd_res *r;
    rq.ep = ep;
    etcd__buf_add(&cli->jw.json, "}", 1);
    if (!(r = etcd__call(cli, &rq)) || !etcd__no_route(r)) return r;
    etcd__errf(&cli->err, ETCD_ESERVER, "%s: etcd %s has no %s in its JSON gateway (HTTP %d)", call,
               etcd__release(cli), path, r->status);
    etcd_res_free(r);
    return NULL;
}

/* An admin call whose body is {}. */
static etcd_res *etcd__admin0(etcd *cli, const char *call, const char *path, unsigned flags)
{
    if (!cli) return NULL;
    etcd__jw_begin(&cli->jw);
    return etcd__admin(cli, call, path, flags, NULL);
}

/* An admin call on the member an endpoint names. */
static etcd_res *etcd__admin_at(etcd *cli, const char *endpoint, const char *call, const char *path,
                                unsigned flags)
{
    etcd__ep tmp, *ep;
    etcd_res *r = NULL;
    if (etcd__ep_named(cli, endpoint, &tmp, &ep)) r = etcd__admin(cli, call, path, flags, ep);
    etcd__ep_free(&tmp);
    return r;
}

ETCDDEF etcd_res *etcd_compact(etcd *cli, int64_t revision, bool physical)
{
    if (!cli) return NULL;
    if (revision <= 0) { etcd__errf(&cli->err, ETCD_EARG, "etcd_compact: revision must be > 0"); return NULL; }
    etcd__jw_begin(&cli->jw);
    etcd__j_i64(&cli->jw.json, "revision", revision);
    etcd__j_flag(&cli->jw.json, "physical", physical);
    return etcd__admin(cli, "etcd_compact", "/kv/compaction", 0, NULL);
}

ETCDDEF etcd_res *etcd_member_list(etcd *cli, bool linearizable)
{
    if (!cli) return NULL;
    etcd__jw_begin(&cli->jw);
    etcd__j_flag(&cli->jw.json, "linearizable", linearizable);
    return etcd__admin(cli, "etcd_member_list", "/cluster/member/list", ETCD__RQ_IDEM, NULL);
}

/* "peerURLs": [...]; each URL a non-empty string without blanks. */
static bool etcd__j_urls(etcd *cli, const char *call, const char *const *urls, size_t n)
{
    size_t i;
    if (!urls || !n) { etcd__errf(&cli->err, ETCD_EARG, "%s: no peer URLs", call); return false; }
    for (i = 0; i < n; i++)
        if (!urls[i] || !*urls[i] || strpbrk(urls[i], " \t\r\n\"\\")) {
            etcd__errf(&cli->err, ETCD_EARG, "%s: peer URL %zu is empty or holds a blank or a quote", call, i + 1);
            return false;
        }
    etcd__j_open(&cli->jw.json, "peerURLs", '[');
    for (i = 0; i < n; i++) etcd__j_str(&cli->jw.json, NULL, urls[i]);
    etcd__j_close(&cli->jw.json, ']');
    return true;
}

ETCDDEF etcd_res *etcd_member_add(etcd *cli, const char *const *peer_urls, size_t n, bool learner)
{
    if (!cli) return NULL;
    etcd__jw_begin(&cli->jw);
    if (!etcd__j_urls(cli, "etcd_member_add", peer_urls, n)) return NULL;
    etcd__j_flag(&cli->jw.json, "isLearner", learner);
    return etcd__admin(cli, "etcd_member_add", "/cluster/member/add", 0, NULL);
}

static bool etcd__check_id(etcd *cli, const char *call, uint64_t id)
{
    if (id) return true;
    etcd__errf(&cli->err, ETCD_EARG, "%s: member id 0 names no member", call);
    return false;
}

/* {"ID": id} to path. */
static etcd_res *etcd__member_call(etcd *cli, const char *call, const char *path, uint64_t id)
{
    if (!cli || !etcd__check_id(cli, call, id)) return NULL;
    etcd__jw_begin(&cli->jw);
    etcd__j_u64(&cli->jw.json, "ID", id);
    return etcd__admin(cli, call, path, 0, NULL);
}

ETCDDEF etcd_res *etcd_member_remove(etcd *cli, uint64_t id)
{
    return etcd__member_call(cli, "etcd_member_remove", "/cluster/member/remove", id);
}

ETCDDEF etcd_res *etcd_member_promote(etcd *cli, uint64_t id)
{
    return etcd__member_call(cli, "etcd_member_promote", "/cluster/member/promote", id);
}

/* etcd makes a learner whose peer URLs change a voter: an unstarted one
   then costs the quorum. Refuse one that etcd lists as a learner. */
static bool etcd__not_learner(etcd *cli, uint64_t id)
{
    etcd_res *l = etcd_member_list(cli, false);
    size_t i;
    bool learner = false;
    if (!l) return false;
    if (l->status != 200) {
        etcd__refusal(&cli->err, l, l->status, "etcd_member_update: the member list it checks first: ", ETCD_EARG);
        etcd_res_free(l);
        return false;
    }
    for (i = 0; i < l->nmembers; i++) if (l->members[i].id == id) learner = l->members[i].is_learner;
    etcd_res_free(l);
    if (learner)
        etcd__errf(&cli->err, ETCD_EARG, "etcd_member_update: member %llx is a learner, which etcd would make "
                   "a voter: promote it first (etcd_member_promote)", (unsigned long long)id);
    return !learner;
}

ETCDDEF etcd_res *etcd_member_update(etcd *cli, uint64_t id, const char *const *peer_urls, size_t n)
{
    if (!cli || !etcd__check_id(cli, "etcd_member_update", id)) return NULL;
    etcd__jw_begin(&cli->jw);
    if (!etcd__j_urls(cli, "etcd_member_update", peer_urls, n) || !etcd__not_learner(cli, id)) return NULL;
    etcd__jw_begin(&cli->jw);                    /* the list used the body: write it again */
    etcd__j_u64(&cli->jw.json, "ID", id);
    etcd__j_urls(cli, "etcd_member_update", peer_urls, n);
    return etcd__admin(cli, "etcd_member_update", "/cluster/member/update", 0, NULL);
}

ETCDDEF etcd_res *etcd_status(etcd *cli, const char *endpoint)
{
    if (!cli) return NULL;
    etcd__jw_begin(&cli->jw);
    return etcd__admin_at(cli, endpoint, "etcd_status", "/maintenance/status", ETCD__RQ_IDEM);
}

ETCDDEF etcd_res *etcd_defragment(etcd *cli, const char *endpoint)
{
    if (!cli) return NULL;
    etcd__jw_begin(&cli->jw);
    return etcd__admin_at(cli, endpoint, "etcd_defragment", "/maintenance/defragment", ETCD__RQ_IDEM);
}

ETCDDEF etcd_res *etcd_hash_kv(etcd *cli, const char *endpoint, int64_t revision)
{
    if (!cli) return NULL;
    if (revision < 0) { etcd__errf(&cli->err, ETCD_EARG, "etcd_hash_kv: revision must be >= 0"); return NULL; }
    etcd__jw_begin(&cli->jw);
    etcd__j_nz(&cli->jw.json, "revision", revision);
    return etcd__admin_at(cli, endpoint, "etcd_hash_kv", "/maintenance/hashkv", ETCD__RQ_IDEM);
}

ETCDDEF etcd_res *etcd_hash(etcd *cli, const char *endpoint)
{
    if (!cli) return NULL;
    etcd__jw_begin(&cli->jw);
    return etcd__admin_at(cli, endpoint, "etcd_hash", "/maintenance/hash", ETCD__RQ_IDEM);
}

ETCDDEF etcd_res *etcd_downgrade(etcd *cli, int action, const char *version)
{
    static const char *const actions[] = { "VALIDATE", "ENABLE", "CANCEL" };
    if (!cli) return NULL;
    if (action < ETCD_DOWNGRADE_VALIDATE || action > ETCD_DOWNGRADE_CANCEL ||
        ((!version || !*version) != (action == ETCD_DOWNGRADE_CANCEL)) || (version && strpbrk(version, "\"\\"))) {
        etcd__errf(&cli->err, ETCD_EARG, "etcd_downgrade: VALIDATE or ENABLE with a version (\"3.4\"), or CANCEL "
                   "without one");
        return NULL;
    }
    etcd__jw_begin(&cli->jw);
    etcd__j_str(&cli->jw.json, "action", actions[action]);
    if (version) etcd__j_str(&cli->jw.json, "version", version);
    return etcd__admin(cli, "etcd_downgrade", "/maintenance/downgrade", 0, NULL);
}

ETCDDEF etcd_res *etcd_alarm_list(etcd *cli)
{
    if (!cli) return NULL;
    etcd__jw_begin(&cli->jw);
    etcd__j_str(&cli->jw.json, "action", "GET");
    return etcd__admin(cli, "etcd_alarm_list", "/maintenance/alarm", ETCD__RQ_IDEM, NULL);
}

static etcd_res *etcd__alarm_off(etcd *cli, uint64_t member_id, int alarm)
{
    etcd__jw_begin(&cli->jw);
    etcd__j_str(&cli->jw.json, "action", "DEACTIVATE");
    etcd__j_u64(&cli->jw.json, "memberID", member_id);
    etcd__j_str(&cli->jw.json, "alarm", etcd__enum_names[ETCD__E_ALARM][alarm]);
    return etcd__admin(cli, "etcd_alarm_disarm", "/maintenance/alarm", 0, NULL);
}

/* As etcdctl does: the alarms listed, each that matches disarmed; the
   answer of the last (or the list, when none matched). */
ETCDDEF etcd_res *etcd_alarm_disarm(etcd *cli, uint64_t member_id, int alarm)
{
    etcd_res *l, *r;
    size_t i;
    if (!cli) return NULL;
    if (alarm < ETCD_ALARM_NONE || alarm > ETCD_ALARM_CORRUPT || (member_id && !alarm)) {
        etcd__errf(&cli->err, ETCD_EARG, "etcd_alarm_disarm: alarm is ETCD_ALARM_NOSPACE or _CORRUPT (0 with "
                   "member 0: every alarm)");
        return NULL;
    }
    if (member_id) return etcd__alarm_off(cli, member_id, alarm);
    if (!(l = etcd_alarm_list(cli)) || l->status != 200) return l;
    for (i = 0, r = NULL; i < l->nalarms; i++) {
        if (alarm && l->alarms[i].alarm != alarm) continue;
        etcd_res_free(r);
        if (!(r = etcd__alarm_off(cli, l->alarms[i].member_id, l->alarms[i].alarm)) || r->status != 200) break;
    }
    if (!r && i == l->nalarms) return l;
    etcd_res_free(l);
    return r;
}

/* The client URL of the member etcd says leads. */
static char *etcd__leader_url(etcd *cli)
{
    etcd_res *st = etcd_status(cli, NULL), *l = NULL;
    char *url = NULL;
    size_t i;
    if (st && st->status == 200 && st->leader_id && (l = etcd_member_list(cli, false)) != NULL)
        for (i = 0; i < l->nmembers && !url; i++)
            if (l->members[i].id == st->leader_id && l->members[i].nclient_urls)
                url = etcd__strndup(l->members[i].client_urls[0].ptr, l->members[i].client_urls[0].len);
    if (st && !url && cli->err.code == ETCD_OK)
        etcd__errf(&cli->err, ETCD_ESERVER, "etcd_move_leader: no leader with a client URL in the member list");
    etcd_res_free(st);
    etcd_res_free(l);
    return url;
}

ETCDDEF etcd_res *etcd_move_leader(etcd *cli, uint64_t target_id)
{
    etcd_res *r;
    char *url;
    if (!cli || !etcd__check_id(cli, "etcd_move_leader", target_id)) return NULL;
    if (!(url = etcd__leader_url(cli))) return NULL;
    etcd__jw_begin(&cli->jw);
    etcd__j_u64(&cli->jw.json, "targetID", target_id);
    r = etcd__admin_at(cli, url, "etcd_move_leader", "/maintenance/transfer-leadership", 0);
    ETCD_FREE(url);
    return r;
}

/* ---- auth ---- */

ETCDDEF etcd_res *etcd_auth_enable(etcd *cli)
{
    return etcd__admin0(cli, "etcd_auth_enable", "/auth/enable", 0);
}

ETCDDEF etcd_res *etcd_auth_disable(etcd *cli)
{
    return etcd__admin0(cli, "etcd_auth_disable", "/auth/disable", 0);
}

ETCDDEF etcd_res *etcd_auth_status(etcd *cli)
{
    return etcd__admin0(cli, "etcd_auth_status", "/auth/status", ETCD__RQ_IDEM);
}

/* A body of one or two named strings, {"user": u, "role": r}: names are
   never empty; a password may be (etcd takes "" as one). */
static bool etcd__j_names(etcd *cli, const char *call, const char *n1, const char *v1, const char *n2,
                          const char *v2)
{
    if (!v1 || !*v1 || (n2 && (!v2 || (!*v2 && strcmp(n2, "password"))))) {
        etcd__errf(&cli->err, ETCD_EARG, "%s: %s should not be empty", call, !v1 || !*v1 ? n1 : n2);
        return false;
    }
    etcd__jw_begin(&cli->jw);
    etcd__j_str(&cli->jw.json, n1, v1);
    if (n2) etcd__j_str(&cli->jw.json, n2, v2);
    return true;
}

/* A call whose body is one or two names. */
static etcd_res *etcd__named(etcd *cli, const char *call, const char *path, unsigned flags, const char *n1,
                             const char *v1, const char *n2, const char *v2)
{
    if (!cli || !etcd__j_names(cli, call, n1, v1, n2, v2)) return NULL;
    return etcd__admin(cli, call, path, flags, NULL);
}

ETCDDEF etcd_res *etcd_user_add(etcd *cli, const char *name, const char *password)
{
    if (!cli || !etcd__j_names(cli, "etcd_user_add", "name", name, NULL, NULL)) return NULL;
    if (password) etcd__j_str(&cli->jw.json, "password", password);
    else etcd__buf_str(&cli->jw.json, ",\"options\":{\"no_password\":true}");
    return etcd__admin(cli, "etcd_user_add", "/auth/user/add", 0, NULL);
}

ETCDDEF etcd_res *etcd_user_get(etcd *cli, const char *name)
{
    return etcd__named(cli, "etcd_user_get", "/auth/user/get", ETCD__RQ_IDEM, "name", name, NULL, NULL);
}

ETCDDEF etcd_res *etcd_user_list(etcd *cli)
{
    return etcd__admin0(cli, "etcd_user_list", "/auth/user/list", ETCD__RQ_IDEM);
}

ETCDDEF etcd_res *etcd_user_delete(etcd *cli, const char *name)
{
    return etcd__named(cli, "etcd_user_delete", "/auth/user/delete", 0, "name", name, NULL, NULL);
}

ETCDDEF etcd_res *etcd_user_passwd(etcd *cli, const char *name, const char *password)
{
    return etcd__named(cli, "etcd_user_passwd", "/auth/user/changepw", 0, "name", name, "password", password);
}

ETCDDEF etcd_res *etcd_user_grant_role(etcd *cli, const char *user, const char *role)
{
    return etcd__named(cli, "etcd_user_grant_role", "/auth/user/grant", 0, "user", user, "role", role);
}

ETCDDEF etcd_res *etcd_user_revoke_role(etcd *cli, const char *user, const char *role)
{
    return etcd__named(cli, "etcd_user_revoke_role", "/auth/user/revoke", 0, "name", user, "role", role);
}

ETCDDEF etcd_res *etcd_role_add(etcd *cli, const char *name)
{
    return etcd__named(cli, "etcd_role_add", "/auth/role/add", 0, "name", name, NULL, NULL);
}

ETCDDEF etcd_res *etcd_role_get(etcd *cli, const char *name)
{
    return etcd__named(cli, "etcd_role_get", "/auth/role/get", ETCD__RQ_IDEM, "role", name, NULL, NULL);
}

ETCDDEF etcd_res *etcd_role_list(etcd *cli)
{
    return etcd__admin0(cli, "etcd_role_list", "/auth/role/list", ETCD__RQ_IDEM);
}

ETCDDEF etcd_res *etcd_role_delete(etcd *cli, const char *name)
{
    return etcd__named(cli, "etcd_role_delete", "/auth/role/delete", 0, "role", name, NULL, NULL);
}

/* A permission's keys, taken as given (no key_prefix): range_end NULL is
   the key alone, "" every key from key on ("\0" to etcd). */
static bool etcd__j_perm_keys(etcd *cli, const char *call, const char *key, size_t key_len,
                              const char *range_end, size_t range_end_len)
{
    etcd_str k = etcd__span(key, key_len), re = etcd__span(range_end, range_end_len);
    if (!key || (!k.len && !range_end)) {
        etcd__errf(&cli->err, ETCD_EARG, "%s: key should not be empty (\"\" with a range_end: from the start)", call);
        return false;
    }
    if (!k.len) k.ptr = "", k.len = 1;           /* "\0": etcd 3.5 refuses an empty key; the start */
    etcd__j_b64(&cli->jw.json, "key", k.ptr, k.len);
    if (range_end) etcd__j_b64(&cli->jw.json, "range_end", re.len ? re.ptr : "", re.len ? re.len : 1);
    return true;
}

ETCDDEF etcd_res *etcd_role_grant(etcd *cli, const char *role, int perm, const char *key, size_t key_len,
                                  const char *range_end, size_t range_end_len)
{
    if (!cli || !etcd__j_names(cli, "etcd_role_grant", "name", role, NULL, NULL)) return NULL;
    if (perm < ETCD_PERM_READ || perm > ETCD_PERM_READWRITE) {
        etcd__errf(&cli->err, ETCD_EARG, "etcd_role_grant: perm is ETCD_PERM_READ, _WRITE or _READWRITE");
        return NULL;
    }
    etcd__j_open(&cli->jw.json, "perm", '{');
    etcd__j_str(&cli->jw.json, "permType", etcd__enum_names[ETCD__E_PERM][perm]);
    if (!etcd__j_perm_keys(cli, "etcd_role_grant", key, key_len, range_end, range_end_len)) return NULL;
    etcd__j_close(&cli->jw.json, '}');
    return etcd__admin(cli, "etcd_role_grant", "/auth/role/grant", 0, NULL);
}

ETCDDEF etcd_res *etcd_role_revoke(etcd *cli, const char *role, const char *key, size_t key_len,
                                   const char *range_end, size_t range_end_len)
{
    if (!cli || !etcd__j_names(cli, "etcd_role_revoke", "role", role, NULL, NULL)) return NULL;
    if (!etcd__j_perm_keys(cli, "etcd_role_revoke", key, key_len, range_end, range_end_len)) return NULL;
    return etcd__admin(cli, "etcd_role_revoke", "/auth/role/revoke", 0, NULL);
}


/* ---- snapshot ---- */

/* The stream's bytes, hashed but for the last 32 seen, which may be the
   checksum etcd sends last. */
typedef struct etcd__snap {
    etcd__sha256 sha;
    unsigned char tail[32];
    size_t ntail;
    int64_t total;
} etcd__snap;

static void etcd__snap_feed(etcd__snap *s, const char *p, size_t n)
{
    size_t all = s->ntail + n, out = all > 32 ? all - 32 : 0, from_tail = out < s->ntail ? out : s->ntail;
    etcd__sha256_add(&s->sha, s->tail, from_tail);
    etcd__sha256_add(&s->sha, p, out - from_tail);
    memmove(s->tail, s->tail + from_tail, s->ntail - from_tail);
    s->ntail -= from_tail;
    memcpy(s->tail + s->ntail, p + (out - from_tail), n - (out - from_tail));
    s->ntail += n - (out - from_tail);
    s->total += (int64_t)n;
}

/* The stream ended: its last 32 bytes must be the sha256 of the rest. */
static bool etcd__snap_whole(etcd *cli, etcd__snap *s)
{
    unsigned char sum[32];
    etcd__sha256_end(&s->sha, sum);
    if (s->ntail == 32 && !memcmp(sum, s->tail, 32)) return true;
    etcd__errf(&cli->err, ETCD_EPROTO, "etcd_snapshot: %lld bytes are not a whole snapshot: %s", (long long)s->total,
               s->ntail < 32 ? "the stream ended before the sha256"
                             : "its last 32 bytes are not the sha256 of the rest (cut short, or corrupted)");
    return false;
}

/* Each message's bytes to write(); the last message, or NULL with
   cli->err. */
static etcd_res *etcd__snap_pump(etcd *cli, etcd_watcher *w, etcd__snap *s, etcd_snapshot_fn write, void *arg)
{
    etcd_res *m, *last = NULL;
    while ((m = etcd_watch_next(w)) != NULL) {
        etcd_res_free(last);
        last = m;
        etcd__snap_feed(s, m->blob.ptr, m->blob.len);
        if (m->blob.len && write(arg, m->blob.ptr, m->blob.len) != 0) {
            etcd__errf(&cli->err, ETCD_ECANCELED, "etcd_snapshot: write() stopped it after %lld bytes",
                       (long long)s->total);
            etcd_res_free(last);
            return NULL;
        }
    }
    if (etcd_watch_errcode(w) != ETCD_OK) {
        etcd__errf(&cli->err, etcd_watch_errcode(w), "etcd_snapshot: %s", etcd_watch_errstr(w));
        etcd_res_free(last);
        return NULL;
    }
    if (!last) etcd__errf(&cli->err, ETCD_EPROTO, "etcd_snapshot: the stream ended before any message");
    return last;
}

ETCDDEF etcd_res *etcd_snapshot(etcd *cli, const char *endpoint, etcd_snapshot_fn write, void *arg)
{
    etcd_watcher *w;
    etcd_res *r;
    etcd__snap s;
    if (!cli) return NULL;
    if (!write) { etcd__errf(&cli->err, ETCD_EARG, "etcd_snapshot: write() should not be NULL"); return NULL; }
    memset(&s, 0, sizeof s);
    etcd__sha256_init(&s.sha);
    if (!(w = etcd__stream_open(cli, endpoint, "/maintenance/snapshot", "{}", NULL))) return NULL;
    r = etcd__snap_pump(cli, w, &s, write, arg);
    etcd_watchcancel(w);
    if (r && !etcd__snap_whole(cli, &s)) { etcd_res_free(r); return NULL; }
    if (r) {
        r->snapshot_size = s.total;
        etcd__err_clear(&cli->err);
    }
    return r;
}

#ifndef ETCD_NO_SOCKETS

/* etcd_snapshot_save's write(): the whole chunk, or the errno that
   stopped it. */
typedef struct etcd__file { int fd, err; } etcd__file;

static int etcd__file_write(void *arg, const void *data, size_t len)
{
    etcd__file *f = (etcd__file *)arg;
    const char *p = (const char *)data;
    while (len > 0) {
        ssize_t n = write(f->fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { f->err = n < 0 ? errno : EIO; return -1; }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Make a rename durable: fsync the directory that holds path. */
static void etcd__sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? etcd__strndup(path, slash == path ? 1 : (size_t)(slash - path)) : NULL;
    int fd = open(dir ? dir : ".", O_RDONLY);
    if (fd >= 0) { fsync(fd); close(fd); }
    ETCD_FREE(dir);
}

/* The file step that failed, as the call's failure. */
static etcd_res *etcd__save_failed(etcd *cli, etcd_res *r, const char *what, const char *part, int err)
{
    if (err) etcd__errf(&cli->err, ETCD_ECANCELED, "etcd_snapshot_save: %s %s: %s", what, part, strerror(err));
    etcd_res_free(r);
    unlink(part);
    return NULL;
}

ETCDDEF etcd_res *etcd_snapshot_save(etcd *cli, const char *endpoint, const char *path)
{
    etcd__file f;
    etcd_res *r;
    char *part;
    size_t n;
    if (!cli) return NULL;
    if (!path || !*path) { etcd__errf(&cli->err, ETCD_EARG, "etcd_snapshot_save: path should not be empty"); return NULL; }
    n = strlen(path);
    if (!(part = (char *)ETCD_MALLOC(n + 6))) { etcd__errf(&cli->err, ETCD_ENOMEM, "out of memory"); return NULL; }
    memcpy(part, path, n);
    memcpy(part + n, ".part", 6);
    f.err = 0;
    if ((f.fd = open(part, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0) {
        etcd__errf(&cli->err, ETCD_EARG, "etcd_snapshot_save: open %s: %s", part, strerror(errno));
        ETCD_FREE(part);
        return NULL;
    }
    fcntl(f.fd, F_SETFD, FD_CLOEXEC);
    r = etcd_snapshot(cli, endpoint, etcd__file_write, &f);
    if (!r) r = etcd__save_failed(cli, NULL, "write", part, f.err);
    else if (fsync(f.fd) < 0) r = etcd__save_failed(cli, r, "fsync", part, errno);
    if (close(f.fd) < 0 && r) r = etcd__save_failed(cli, r, "close", part, errno);
    if (r && rename(part, path) < 0) r = etcd__save_failed(cli, r, "rename to the path", part, errno);
    if (r) etcd__sync_dir(path);
    ETCD_FREE(part);
    return r;
}

#else

ETCDDEF etcd_res *etcd_snapshot_save(etcd *cli, const char *endpoint, const char *path)
{
    (void)endpoint; (void)path;
    if (cli) etcd__errf(&cli->err, ETCD_EARG, "etcd_snapshot_save: no files with ETCD_NO_SOCKETS: use etcd_snapshot");
    return NULL;
}

#endif /* ETCD_NO_SOCKETS */

/* ------------------------------------------------------------------------
   >>recipes  paged readdir, lease keeper, locks and elections: what
   people adopt etcd for, each built on the calls above
   ------------------------------------------------------------------------ */

struct etcd_pager {
    etcd *cli;
    etcd_get_opts o;
    etcd__buf next;              /* the next page's first key, key_prefix included */
    etcd__buf end;               /* the range end */
    int64_t rev;                 /* every page's revision; 0 until the first page */
    bool done;
};

ETCDDEF etcd_pager *etcd_readdir_pages(etcd *cli, const char *dir, const etcd_get_opts *opts)
{
    etcd_pager *p;
    etcd_str d;
    if (!cli) return NULL;
    etcd__err_clear(&cli->err);
    if (opts && (opts->sort_order || opts->sort_target || opts->count_only || opts->limit < 0 || opts->range_end ||
                 opts->min_mod_revision || opts->max_mod_revision || opts->min_create_revision ||
                 opts->max_create_revision)) {
        etcd__errf(&cli->err, ETCD_EARG, "etcd_readdir_pages: pages are every key of the dir in key order: no "
                   "sort options, no count_only, no range_end or revision bounds, limit >= 0");
        return NULL;
    }
    if (!(p = (etcd_pager *)ETCD_MALLOC(sizeof *p))) { etcd__errf(&cli->err, ETCD_ENOMEM, "out of memory"); return NULL; }
    memset(p, 0, sizeof *p);
    p->cli = cli;
    if (opts) p->o = *opts;
    if (!p->o.limit) p->o.limit = 1000;
    p->rev = p->o.revision > 0 ? p->o.revision : 0;
    d = etcd__span(dir, p->o.key_len);
    if (cli->o.key_prefix) etcd__buf_str(&p->next, cli->o.key_prefix);
    etcd__buf_add(&p->next, d.ptr, d.len);
    etcd__buf_add(&p->end, p->next.p ? p->next.p : "", p->next.len);
    etcd__prefix_end(&p->end);
    if (!p->next.len) etcd__buf_add(&p->next, "", 1);      /* every key: from "\0" */
    if (!p->next.oom && !p->end.oom) return p;
    etcd__errf(&cli->err, ETCD_ENOMEM, "out of memory");
    etcd_pager_free(p);
    return NULL;
}

ETCDDEF etcd_res *etcd_pager_next(etcd_pager *p)
{
    etcd *cli;
    etcd_res *r;
    const etcd_kv *last;
    if (!p) return NULL;
    cli = p->cli;
    etcd__err_clear(&cli->err);
    if (p->done) return NULL;
    etcd__jw_begin(&cli->jw);
    etcd__j_b64(&cli->jw.json, "key", p->next.p, p->next.len);
    etcd__j_b64(&cli->jw.json, "range_end", p->end.p, p->end.len);
    etcd__j_i64(&cli->jw.json, "limit", p->o.limit);
    etcd__j_nz(&cli->jw.json, "revision", p->rev);
    etcd__j_flag(&cli->jw.json, "serializable", p->o.serializable);
    etcd__j_flag(&cli->jw.json, "keys_only", p->o.keys_only);
    if (!(r = etcd__post(cli, "/kv/range", ETCD__RQ_IDEM, p->o.timeout))) return NULL;   /* may be called again */
    if (r->status != 200 || !r->nkvs) {
        if (r->status != 200) etcd__refusal(&cli->err, r, r->status, "readdir page: ", ETCD_EARG);
        else if (!p->rev) p->rev = r->revision;      /* an empty dir has a revision too */
        p->done = true;
        etcd_res_free(r);
        return NULL;
    }
    if (!p->rev) p->rev = r->revision;
    last = &r->kvs[r->nkvs - 1];
    etcd__buf_reset(&p->next);                    /* after the last key: the same key + "\0" */
    etcd__buf_add(&p->next, last->key, last->key_len + 1);
    p->done = !r->more || p->next.oom;
    if (p->next.oom) etcd__errf(&cli->err, ETCD_ENOMEM, "out of memory");
    return r;
}

ETCDDEF void etcd_pager_free(etcd_pager *p)
{
    if (!p) return;
    etcd__buf_free(&p->next);
    etcd__buf_free(&p->end);
    ETCD_FREE(p);
}

struct etcd_lease {
    etcd *cli;
    int64_t id;
    double acked;                /* when the last acknowledged keepalive (or the grant) was sent */
    int64_t ttl;                 /* the TTL etcd gave then */
    double failed;               /* the last failed keepalive; 0: none since */
    bool lost;
    etcd__error why;             /* why it was lost, repeated by later ticks */
};

/* A lease request (a keepalive; a keeper's or a session's grant) that,
   with every endpoint out of the rotation, goes to the one due back first
   anyway: a lease does not wait for fail_timeout, nor for the breaker's
   probe. */
static etcd_res *etcd__lease_anyway(etcd *cli, const char *path, unsigned flags, int64_t ttl, int64_t id)
{
    etcd__req rq = etcd__post_rq(cli, path, flags, 0);
    etcd__j_lease(cli, ttl, id, false);
    etcd__buf_add(&cli->jw.json, "}", 1);
    if (!etcd__any_healthy(cli)) rq.ep = etcd__soonest(cli);
    return etcd__call(cli, &rq);
}

ETCDDEF etcd_lease *etcd_lease_keep(etcd *cli, int64_t ttl, int64_t id)
{
    etcd_lease *l;
    etcd_res *g;
    double sent;
    if (!cli) return NULL;
    sent = etcd__now(cli);
    if (ttl <= 0) { etcd__errf(&cli->err, ETCD_EARG, "etcd_lease_keep: ttl must be > 0 seconds"); return NULL; }
    if (!(g = etcd__lease_anyway(cli, "/lease/grant", 0, ttl, id))) return NULL;
    if (g->status != 200 || !g->id || g->ttl <= 0) {
        etcd__refusal(&cli->err, g, g->status, "lease grant refused: ", ETCD_EARG);
        etcd_res_free(g);
        return NULL;
    }
    if (!(l = (etcd_lease *)ETCD_MALLOC(sizeof *l))) {
        etcd__errf(&cli->err, ETCD_ENOMEM, "out of memory");
        etcd_revoke(cli, g->id);
        etcd_res_free(g);
        return NULL;
    }
    memset(l, 0, sizeof *l);
    l->cli = cli;
    l->id = g->id;
    l->ttl = g->ttl;
    l->acked = sent;
    etcd_res_free(g);
    return l;
}

ETCDDEF int64_t etcd_lease_id(const etcd_lease *l) { return l ? l->id : 0; }

ETCDDEF double etcd_lease_due(const etcd_lease *l)
{
    double at, retry;
    if (!l || l->lost) return 0;
    at = l->acked + (double)l->ttl / 3;
    retry = (double)l->ttl / 3 < 1.0 ? (double)l->ttl / 3 : 1.0;   /* a failed try: again within a second */
    if (l->failed) at = l->failed + retry;
    if (at > l->acked + (double)l->ttl) at = l->acked + (double)l->ttl;   /* then it is lost */
    return at - etcd__now(l->cli);
}

static int etcd__lease_lost(etcd_lease *l, const char *why)
{
    l->lost = true;
    etcd__errf(&l->why, ETCD_ELOST, "lease %lld lost: %s", (long long)l->id, why);
    l->cli->err = l->why;
    return -1;
}

ETCDDEF int etcd_lease_tick(etcd_lease *l)
{
    double now;
    etcd_res *r;
    if (!l) return -1;
    now = etcd__now(l->cli);
    if (l->lost) { l->cli->err = l->why; return -1; }
    etcd__err_clear(&l->cli->err);
    if (now >= l->acked + (double)l->ttl) return etcd__lease_lost(l, "no keepalive acknowledged within its TTL");
    if (etcd_lease_due(l) > 0) return 0;
    r = etcd__lease_anyway(l->cli, "/lease/keepalive", ETCD__RQ_IDEM, 0, l->id);
    if (r && r->status == 200 && r->ttl > 0) {
        l->acked = now;
        l->ttl = r->ttl;
        l->failed = 0;
    } else if (r && (r->status == 200 || r->code == 5 || r->status == 404)) {
        etcd_res_free(r);
        return etcd__lease_lost(l, "etcd says it is gone (revoked or expired)");
    } else {
        if (r) etcd__refusal(&l->cli->err, r, r->status, "keepalive: ", ETCD_ESERVER);
        l->failed = now;
        etcd_res_free(r);
        if (etcd__now(l->cli) >= l->acked + (double)l->ttl) return etcd__lease_lost(l, "no keepalive acknowledged within its TTL");
        return 0;
    }
    etcd_res_free(r);
    return 0;
}

ETCDDEF void etcd_lease_stop(etcd_lease *l, bool revoke)
{
    if (!l) return;
    if (revoke && !l->lost) etcd_res_free(etcd_revoke(l->cli, l->id));
    ETCD_FREE(l);
}

/* ---- session: a kept lease, and keys put back when it is lost ---- */

typedef struct etcd__skey { etcd_str key, val; } etcd__skey;

struct etcd_session {
    etcd *cli;
    int64_t ttl;
    etcd_lease *lease;           /* NULL while recovering */
    etcd__skey *keys;
    size_t nkeys, cap;
    size_t unput;                /* keys from here on are not under the current lease yet */
    double retry_at;             /* keys or a lease to get: the next try, not before */
    bool lost;                   /* recovering from a loss: say RECOVERED when done */
};

#define ETCD__SESSION_BATCH 128  /* puts per txn: etcd's --max-txn-ops default */

static bool etcd__skey_set(etcd_str *s, const char *p, size_t n)
{
    char *c = etcd__strndup(p, n);
    if (!c) return false;
    ETCD_FREE((void *)s->ptr);
    s->ptr = c;
    s->len = n;
    return true;
}

ETCDDEF etcd_session *etcd_session_new(etcd *cli, int64_t ttl)
{
    etcd_session *s;
    etcd_lease *l;
    if (!cli || !(l = etcd_lease_keep(cli, ttl, 0))) return NULL;
    if (!(s = (etcd_session *)ETCD_MALLOC(sizeof *s))) {
        etcd_lease_stop(l, true);
        etcd__errf(&cli->err, ETCD_ENOMEM, "out of memory");
        return NULL;
    }
    memset(s, 0, sizeof *s);
    s->cli = cli;
    s->ttl = ttl;
    s->lease = l;
    return s;
}

ETCDDEF int64_t etcd_session_lease(const etcd_session *s) { return s && s->lease ? etcd_lease_id(s->lease) : 0; }

/* Put keys[from, from + n) under the current lease in one txn. */
static bool etcd__session_puts(etcd_session *s, size_t from, size_t n)
{
    etcd_op ops[ETCD__SESSION_BATCH];
    etcd_compare always;
    etcd_res *r;
    size_t i;
    bool ok;
    memset(ops, 0, n * sizeof *ops);
    memset(&always, 0, sizeof always);
    always.result = ETCD_CMP_GREATER;            /* true for every key: version > -1 */
    always.target = ETCD_CMP_VERSION;
    always.key = s->keys[from].key.ptr;
    always.key_len = s->keys[from].key.len;
    always.version = -1;
    for (i = 0; i < n; i++) {
        ops[i].type = ETCD_OP_PUT;
        ops[i].key = s->keys[from + i].key.ptr;
        ops[i].key_len = s->keys[from + i].key.len;
        ops[i].value = s->keys[from + i].val.ptr;
        ops[i].value_len = s->keys[from + i].val.len;
        ops[i].lease = etcd_lease_id(s->lease);
    }
    r = etcd_txn(s->cli, &always, 1, ops, n, NULL, 0, NULL);
    ok = r && r->status == 200 && r->succeeded;
    if (r && !ok) etcd__refusal(&s->cli->err, r, r->status, "session: putting the keys back: ", ETCD_EARG);
    etcd_res_free(r);
    return ok;
}

ETCDDEF int etcd_session_put(etcd_session *s, const char *key, size_t key_len, const char *val, size_t val_len)
{
    etcd_str k, v;
    size_t i;
    if (!s) return -1;
    k = etcd__span(key, key_len);
    v = etcd__span(val, val_len);
    if (!key || !k.len || !val) { etcd__errf(&s->cli->err, ETCD_EARG, "etcd_session_put: key and value are needed"); return -1; }
    if (!etcd__check_value(s->cli, v.ptr, v.len)) return -1;
    for (i = 0; i < s->nkeys && (s->keys[i].key.len != k.len || memcmp(s->keys[i].key.ptr, k.ptr, k.len)); i++) {}
    if (i == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        etcd__skey *nk = (etcd__skey *)ETCD_REALLOC(s->keys, cap * sizeof *nk);
        if (!nk) { etcd__errf(&s->cli->err, ETCD_ENOMEM, "out of memory"); return -1; }
        s->keys = nk;
        s->cap = cap;
    }
    if (i == s->nkeys) memset(&s->keys[s->nkeys++], 0, sizeof *s->keys);
    if ((i + 1 == s->nkeys && !s->keys[i].key.ptr && !etcd__skey_set(&s->keys[i].key, k.ptr, k.len)) ||
        !etcd__skey_set(&s->keys[i].val, v.ptr, v.len)) {
        if (!s->keys[i].key.ptr) s->nkeys--;
        etcd__errf(&s->cli->err, ETCD_ENOMEM, "out of memory");
        return -1;
    }
    if (!s->lease) return 0;                      /* recovering: it goes back with the others */
    if (etcd__session_puts(s, i, 1)) {
        if (s->unput == i) s->unput = i + 1;
        return 0;
    }
    if (s->unput > i) s->unput = i;              /* put by the next tick (with those after it) */
    return -1;
}

ETCDDEF double etcd_session_due(const etcd_session *s)
{
    double keys, lease;
    if (!s) return 0;
    keys = !s->lease || s->unput < s->nkeys ? s->retry_at - etcd__now(s->cli) : 1e9;
    lease = s->lease ? etcd_lease_due(s->lease) : 1e9;
    return keys < lease ? keys : lease;
}

/* Recovering: a new lease, then the keys in batches; one request a tick. */
static etcd_session_event etcd__session_recover(etcd_session *s)
{
    size_t n;
    if (etcd__now(s->cli) < s->retry_at) return ETCD_SESSION_OK;
    s->retry_at = etcd__now(s->cli) + (s->ttl < 3 ? (double)s->ttl / 3 : 1.0);   /* a failed try: again within a
                                                   second, or a keepalive period if shorter */
    if (!s->lease) {
        if ((s->lease = etcd_lease_keep(s->cli, s->ttl, 0)) != NULL) s->retry_at = 0;
        return ETCD_SESSION_OK;
    }
    n = s->nkeys - s->unput < ETCD__SESSION_BATCH ? s->nkeys - s->unput : ETCD__SESSION_BATCH;
    if (n && !etcd__session_puts(s, s->unput, n)) return ETCD_SESSION_OK;
    s->unput += n;
    s->retry_at = 0;
    if (s->unput < s->nkeys || !s->lost) return ETCD_SESSION_OK;
    s->lost = false;
    return ETCD_SESSION_RECOVERED;
}

ETCDDEF etcd_session_event etcd_session_tick(etcd_session *s)
{
    bool keepalive;
    if (!s) return ETCD_SESSION_OK;
    if (s->lease) {
        keepalive = etcd_lease_due(s->lease) <= 0;
        if (etcd_lease_tick(s->lease) < 0) {
            etcd_lease_stop(s->lease, false);     /* lost: its keys went with it */
            s->lease = NULL;
            s->unput = 0;
            s->retry_at = 0;
            s->lost = true;
            return ETCD_SESSION_LOST;
        }
        if (keepalive) return ETCD_SESSION_OK;    /* that was this tick's request */
    }
    if (!s->lease || s->unput < s->nkeys) return etcd__session_recover(s);
    return ETCD_SESSION_OK;
}

ETCDDEF void etcd_session_free(etcd_session *s, bool revoke)
{
    size_t i;
    if (!s) return;
    etcd_lease_stop(s->lease, revoke);
    for (i = 0; i < s->nkeys; i++) {
        ETCD_FREE((void *)s->keys[i].key.ptr);
        ETCD_FREE((void *)s->keys[i].val.ptr);
    }
    ETCD_FREE(s->keys);
    ETCD_FREE(s);
}

static bool etcd__check_name(etcd *cli, const char *name, int64_t lease, bool need_lease)
{
    if (!name || !*name) etcd__errf(&cli->err, ETCD_EARG, "name should not be empty");
    else if (need_lease && lease <= 0) etcd__errf(&cli->err, ETCD_EARG, "lease must be a granted lease's id (> 0)");
    else return true;
    return false;
}

/* A lock or campaign that timed out left its waiting key, name/<lease in
   hex>, which etcd deletes once it sees the connection closed. A retry
   before that would reuse the key and then lose it to that late delete
   while believing it holds the lock: wait (bounded) until it is gone. */
static etcd_res *etcd__waited(etcd *cli, etcd_res *r, const char *name, int64_t lease)
{
    etcd__error timedout = cli->err;
    double until = etcd__now(cli) + cli->o.timeout;
    size_t n = strlen(name);
    char *k;
    if (r || timedout.code != ETCD_ETIMEOUT || !(k = (char *)ETCD_MALLOC(n + 20))) return r;
    memcpy(k, name, n);
    snprintf(k + n, 20, "/%llx", (unsigned long long)lease);
    while (etcd__now(cli) < until) {
        etcd_res *g = etcd_get(cli, k, NULL);
        bool gone = g && g->status == 200 && !g->nkvs;
        etcd_res_free(g);
        if (gone) break;
        etcd__sleep(cli, 0.02);
    }
    ETCD_FREE(k);
    cli->err = timedout;
    return NULL;
}

/* etcd's election service answers "no leader", "not leader" and "session
   expired" with HTTP 500: answers, not a sick member. */
static bool etcd__election_answer(const etcd__ans *a, const etcd__error *err)
{
    etcd__error ignored;
    etcd_res *e;
    bool answer;
    if (err) return false;
    e = etcd__decode_ans(a, &ignored);
    answer = !strncmp(etcd__res_why(e), "election:", 9);
    etcd_res_free(e);
    return answer;
}

/* A lock waits on purpose: its timeout, once the request is out, is no
   failure of the endpoint. */
static bool etcd__lock_answer(const etcd__ans *a, const etcd__error *err)
{
    return err && err->code == ETCD_ETIMEOUT && a->wrote;
}

static bool etcd__campaign_answer(const etcd__ans *a, const etcd__error *err)
{
    return etcd__lock_answer(a, err) || etcd__election_answer(a, err);
}

/* POST the body etcd__jw_begin opened, as a recipe whose service has
   answers that look like failures. */
static etcd_res *etcd__post_answer(etcd *cli, const char *path, unsigned flags, double timeout,
                                   bool (*answer)(const etcd__ans *, const etcd__error *))
{
    etcd__req rq = etcd__post_rq(cli, path, flags, timeout);
    rq.answer = answer;
    etcd__buf_add(&cli->jw.json, "}", 1);
    return etcd__call(cli, &rq);
}

/* A block of n zeroed bytes that lives as long as r. */
static void *etcd__res_more(etcd_res *r, size_t n)
{
    etcd__blk *first = (etcd__blk *)(void *)((char *)r - ETCD__HDR), *b = etcd__blk_new(n);
    if (!b) return NULL;
    memset((char *)b + ETCD__HDR, 0, n);
    b->next = first->next;
    first->next = b;
    return (char *)b + ETCD__HDR;
}

/* The create revision of a key as etcd holds it (key_prefix included):
   the fencing token of a lock key. 0 when it is gone. */
static int64_t etcd__create_rev(etcd *cli, etcd_str key)
{
    etcd_res *r;
    int64_t rev = 0;
    etcd__jw_begin(&cli->jw);
    etcd__j_b64(&cli->jw.json, "key", key.ptr, key.len);
    if ((r = etcd__post(cli, "/kv/range", ETCD__RQ_IDEM, 0)) != NULL && r->status == 200 && r->nkvs)
        rev = r->kvs[0].create_revision;
    etcd_res_free(r);
    return rev;
}

ETCDDEF etcd_res *etcd_lock(etcd *cli, const char *name, int64_t lease, double timeout)
{
    etcd_res *r;
    if (!cli || !etcd__check_name(cli, name, lease, true)) return NULL;
    etcd__jw_begin(&cli->jw);
    etcd__j_key(&cli->jw, "name", etcd__span(name, 0));
    etcd__j_i64(&cli->jw.json, "lease", lease);
    r = etcd__waited(cli, etcd__post_answer(cli, "/lock/lock", 0, timeout, etcd__lock_answer), name, lease);
    if (r && r->status == 200 && r->lock_key.len) {
        r->lock_revision = etcd__create_rev(cli, r->lock_key);
        etcd__err_clear(&cli->err);              /* the lock is the answer, whatever the look-up said */
    }
    return r;
}

/* A compare "key (as etcd holds it) still has this create revision", for
   etcd_txn, which puts key_prefix back. */
static etcd_compare etcd__guard(const etcd *cli, const char *key, size_t len, int64_t rev)
{
    etcd_compare c;
    size_t p = cli && cli->o.key_prefix ? strlen(cli->o.key_prefix) : 0;
    memset(&c, 0, sizeof c);
    if (key && len >= p && p && !memcmp(key, cli->o.key_prefix, p)) key += p, len -= p;
    c.result = ETCD_CMP_EQUAL;
    c.target = ETCD_CMP_CREATE;
    c.key = key ? key : "";
    c.key_len = len;
    c.create_revision = rev;
    return c;
}

ETCDDEF etcd_compare etcd_lock_guard(const etcd *cli, const etcd_res *lock)
{
    return lock ? etcd__guard(cli, lock->lock_key.ptr, lock->lock_key.len, lock->lock_revision)
                : etcd__guard(cli, NULL, 0, 0);
}

ETCDDEF etcd_compare etcd_leader_guard(const etcd *cli, const etcd_leader_key *leader)
{
    return leader ? etcd__guard(cli, leader->key.ptr, leader->key.len, leader->rev) : etcd__guard(cli, NULL, 0, 0);
}

/* One txn: if no key under name/ exists, put ours (name/<lease in hex>,
   as etcd's lock service names it) and read it; else read ours and the
   owner (the oldest key). */
static etcd_res *etcd__trylock_txn(etcd *cli, const char *dir, const char *end, const char *mine, int64_t lease)
{
    etcd_compare free_;
    etcd_op yes[2], no[2];
    memset(&free_, 0, sizeof free_);
    memset(yes, 0, sizeof yes);
    memset(no, 0, sizeof no);
    free_.result = ETCD_CMP_EQUAL;
    free_.target = ETCD_CMP_CREATE;                        /* every key in the range: none */
    free_.key = dir;
    free_.range_end = end;
    yes[0].type = ETCD_OP_PUT;
    yes[0].key = mine;
    yes[0].lease = lease;
    yes[0].value = cli->o.serializer == ETCD_SERIALIZER_JSON ? "\"\"" : "";
    yes[1].type = ETCD_OP_RANGE;
    yes[1].key = mine;
    no[0] = yes[1];
    no[1] = yes[1];
    no[1].key = dir;
    no[1].range_end = end;
    no[1].limit = 1;
    no[1].sort_order = ETCD_SORT_ASCEND;
    no[1].sort_target = ETCD_SORT_CREATE;
    return etcd_txn(cli, &free_, 1, yes, 2, no, 2, NULL);
}

/* Taken: the txn put our key (succeeded; responses[1] reads it back), or
   ours is the oldest key under the name (the same lease took it before;
   responses[0] is ours, [1] the oldest). Then the lock key, as etcd holds
   it, and its create revision go into r. False only when out of memory. */
static bool etcd__trylock_took(etcd *cli, etcd_res *r)
{
    const etcd_res *q = r->responses;
    const etcd_kv *mine = NULL;
    char *key;
    if (r->nresponses == 2 && r->succeeded && q[1].nkvs == 1) mine = q[1].kvs;
    else if (r->nresponses == 2 && q[0].nkvs == 1 && q[1].nkvs == 1 &&
             q[1].kvs[0].create_revision == q[0].kvs[0].create_revision) mine = q[0].kvs;
    r->succeeded = mine != NULL;
    if (!mine) return true;
    if (!(key = (char *)etcd__res_more(r, mine->key_len + 1))) {
        etcd__errf(&cli->err, ETCD_ENOMEM, "out of memory");
        return false;
    }
    memcpy(key, mine->key, mine->key_len);
    r->lock_key.ptr = key;
    r->lock_key.len = mine->key_len;
    r->lock_revision = mine->create_revision;
    return true;
}

static char *etcd__join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = (char *)ETCD_MALLOC(na + nb + 1);
    if (s) { memcpy(s, a, na); memcpy(s + na, b, nb + 1); }
    return s;
}

ETCDDEF etcd_res *etcd_trylock(etcd *cli, const char *name, int64_t lease)
{
    char hex[24], *dir, *end, *mine;
    etcd_res *r = NULL;
    if (!cli || !etcd__check_name(cli, name, lease, true)) return NULL;
    snprintf(hex, sizeof hex, "/%llx", (unsigned long long)lease);
    dir = etcd__join(name, "/");                  /* name/, its end name0, ours name/<lease in hex> */
    end = etcd__join(name, "0");
    mine = etcd__join(name, hex);
    if (!dir || !end || !mine) etcd__errf(&cli->err, ETCD_ENOMEM, "out of memory");
    else r = etcd__trylock_txn(cli, dir, end, mine, lease);
    ETCD_FREE(dir);
    ETCD_FREE(end);
    ETCD_FREE(mine);
    if (r && r->status == 200 && !etcd__trylock_took(cli, r)) { etcd_res_free(r); return NULL; }
    return r;
}

ETCDDEF etcd_res *etcd_unlock(etcd *cli, const char *lock_key, size_t lock_key_len)
{
    etcd_str k;
    if (!cli) return NULL;
    k = etcd__span(lock_key, lock_key_len);
    if (!etcd__check_key(cli, k)) return NULL;
    etcd__jw_begin(&cli->jw);
    etcd__j_b64(&cli->jw.json, "key", k.ptr, k.len);                 /* as returned: key_prefix is in it */
    return etcd__post(cli, "/lock/unlock", 0, 0);
}

ETCDDEF etcd_res *etcd_campaign(etcd *cli, const char *name, int64_t lease,
                                const char *value, size_t value_len, double timeout)
{
    size_t n;
    if (!cli || !etcd__check_name(cli, name, lease, true)) return NULL;
    if (!value) { etcd__errf(&cli->err, ETCD_EARG, "value should not be NULL"); return NULL; }
    n = etcd__vlen(value, value_len);
    if (!etcd__check_value(cli, value, n)) return NULL;
    etcd__jw_begin(&cli->jw);
    etcd__j_key(&cli->jw, "name", etcd__span(name, 0));
    etcd__j_i64(&cli->jw.json, "lease", lease);
    etcd__j_value(&cli->jw, "value", value, n);
    return etcd__waited(cli, etcd__post_answer(cli, "/election/campaign", 0, timeout, etcd__campaign_answer),
                        name, lease);
}

/* A leader key as etcd_campaign returned it: its key is name + "/" + ... */
static bool etcd__j_leader(etcd *cli, const etcd_leader_key *l)
{
    if (!l || !l->name.ptr || !l->key.ptr || !l->name.len || l->key.len <= l->name.len + 1 || l->lease <= 0 ||
        l->rev <= 0 || memcmp(l->key.ptr, l->name.ptr, l->name.len) || l->key.ptr[l->name.len] != '/') {
        etcd__errf(&cli->err, ETCD_EARG, "not a leader key returned by etcd_campaign");
        return false;
    }
    etcd__j_open(&cli->jw.json, "leader", '{');
    etcd__j_b64(&cli->jw.json, "name", l->name.ptr, l->name.len);
    etcd__j_b64(&cli->jw.json, "key", l->key.ptr, l->key.len);
    etcd__j_i64(&cli->jw.json, "rev", l->rev);
    etcd__j_i64(&cli->jw.json, "lease", l->lease);
    etcd__j_close(&cli->jw.json, '}');
    return true;
}

ETCDDEF etcd_res *etcd_proclaim(etcd *cli, const etcd_leader_key *leader, const char *value, size_t value_len)
{
    size_t n;
    if (!cli) return NULL;
    if (!value) { etcd__errf(&cli->err, ETCD_EARG, "value should not be NULL"); return NULL; }
    n = etcd__vlen(value, value_len);
    if (!etcd__check_value(cli, value, n)) return NULL;
    etcd__jw_begin(&cli->jw);
    if (!etcd__j_leader(cli, leader)) return NULL;
    etcd__j_value(&cli->jw, "value", value, n);
    return etcd__post_answer(cli, "/election/proclaim", 0, 0, etcd__election_answer);
}

ETCDDEF etcd_res *etcd_leader(etcd *cli, const char *name)
{
    if (!cli || !etcd__check_name(cli, name, 0, false)) return NULL;
    etcd__jw_begin(&cli->jw);
    etcd__j_key(&cli->jw, "name", etcd__span(name, 0));
    return etcd__post_answer(cli, "/election/leader", ETCD__RQ_IDEM, 0, etcd__election_answer);
}

ETCDDEF etcd_res *etcd_resign(etcd *cli, const etcd_leader_key *leader)
{
    if (!cli) return NULL;
    etcd__jw_begin(&cli->jw);
    if (!etcd__j_leader(cli, leader)) return NULL;
    return etcd__post_answer(cli, "/election/resign", 0, 0, etcd__election_answer);
}

static void etcd__j_observe(etcd_watcher *w, int64_t start)
{
    (void)start;                 /* an observer starts with the leader of now */
    etcd__jw_begin(&w->cli->jw);
    etcd__j_key(&w->cli->jw, "name", w->key);
    etcd__j_close(&w->cli->jw.json, '}');
}

/* etcd answers an observer only once there is a leader: its head comes
   with its first message. */
static const etcd__wkind etcd__observe_kind = { "/election/observe", true, false, etcd__j_observe, NULL, NULL,
                                                NULL };

ETCDDEF etcd_watcher *etcd_observe(etcd *cli, const char *name, const etcd_watch_opts *opts)
{
    if (!cli || !etcd__check_name(cli, name, 0, false)) return NULL;
    return etcd__watch_open(cli, etcd__span(name, 0), false, opts, &etcd__observe_kind);
}


/* The mirror: a watchdir whose kind begins with a snapshot of the dir,
   and begins again when its resume point is compacted. */
typedef struct etcd__mirror {
    etcd_pager *pager;           /* the snapshot being read */
    bool first;                  /* its next page is the first: reset */
} etcd__mirror;

static void etcd__mirror_drop(etcd_watcher *w)
{
    etcd__mirror *m = (etcd__mirror *)w->ext;
    if (m) etcd_pager_free(m->pager);
    ETCD_FREE(m);
    w->ext = NULL;
}

/* Read the dir anew: the next messages are a snapshot, the first with
   reset. False (w ended) when the pager cannot be made. */
static bool etcd__mirror_start(etcd_watcher *w)
{
    etcd *cli = w->cli;
    etcd__error saved = cli->err;
    etcd__mirror *m = (etcd__mirror *)w->ext;
    etcd_get_opts o;
    w->o.auto_resume = true;
    if (!m && (m = (etcd__mirror *)ETCD_MALLOC(sizeof *m)) != NULL) m->pager = NULL;
    if (!(w->ext = m)) { etcd__watch_end(w, ETCD_ENOMEM, "out of memory"); return false; }
    memset(&o, 0, sizeof o);
    o.key_len = w->key.len;
    etcd_pager_free(m->pager);
    m->pager = etcd_readdir_pages(cli, w->key.len ? w->key.ptr : "", &o);
    m->first = true;
    if (m->pager) etcd__watch_to(w, ETCD__W_SNAPSHOT);
    else etcd__watch_end(w, cli->err.code, cli->err.msg);
    cli->err = saved;
    return m->pager != NULL;
}

/* A snapshot page as a message: the kvs as PUT events. */
static etcd_res *etcd__mirror_wrap(etcd_watcher *w, etcd__mirror *m, etcd_res *r)
{
    etcd_event *ev = r->nkvs ? (etcd_event *)etcd__res_more(r, r->nkvs * sizeof *ev) : NULL;
    size_t i;
    if (r->nkvs && !ev) { etcd_res_free(r); etcd__errf(&w->err, ETCD_ENOMEM, "out of memory"); return NULL; }
    for (i = 0; i < r->nkvs; i++) ev[i].kv = r->kvs[i];
    r->events = ev;
    r->nevents = r->nkvs;
    r->snapshot = true;
    r->reset = m->first;
    r->more = !m->pager->done;
    m->first = false;
    if (!r->more) {              /* the snapshot is whole: the changes from its revision + 1 */
        w->last = m->pager->rev ? m->pager->rev : r->revision;
        etcd_pager_free(m->pager);
        m->pager = NULL;
        etcd__err_clear(&w->why);
        etcd__watch_to(w, ETCD__W_OPEN);
    }
    return r;
}

/* The next snapshot page; transient failures are tried again until the
   deadline ("timeout"), a compacted revision restarts the snapshot. */
static etcd_res *etcd__mirror_page(etcd_watcher *w, double deadline)
{
    etcd *cli = w->cli;
    etcd__error saved = cli->err;
    etcd__mirror *m = (etcd__mirror *)w->ext;
    double pause = 0.05;
    etcd_res *r;
    for (;;) {
        if ((r = etcd_pager_next(m->pager)) != NULL) break;
        if (cli->err.code == ETCD_OK) {                   /* an empty dir: one page, no events */
            if ((r = etcd__decode("{}", 2, 200, &w->err)) != NULL) r->revision = m->pager->rev;
            break;
        }
        if (cli->err.code == ETCD_ECOMPACTED) { if (!etcd__mirror_start(w)) break; continue; }
        if (cli->err.code == ETCD_EARG || cli->err.code == ETCD_EAUTH || cli->err.code == ETCD_ENOMEM) {
            etcd__watch_end(w, cli->err.code, cli->err.msg);
            break;
        }
        m->pager->done = false;                           /* a failed page is asked for again */
        if (!etcd__backoff(w->cli, &pause, deadline, &w->err)) break;
    }
    cli->err = saved;
    return r ? etcd__mirror_wrap(w, m, r) : NULL;
}

static const etcd__wkind etcd__mirror_kind = { "/watch", false, true, etcd__j_watch, etcd__mirror_start,
                                               etcd__mirror_page, etcd__mirror_drop };

ETCDDEF etcd_watcher *etcd_mirror(etcd *cli, const char *dir, const etcd_watch_opts *opts)
{
    if (!cli) return NULL;
    if (opts && opts->start_revision) {
        etcd__errf(&cli->err, ETCD_EARG, "etcd_mirror: no start_revision: it starts from what is there");
        return NULL;
    }
    if (opts && !etcd__check_range(cli, true, opts->range_end)) return NULL;
    return etcd__watch_open(cli, etcd__span(dir, opts ? opts->key_len : 0), true, opts, &etcd__mirror_kind);
}

#endif /* ETCD_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
MIT License

Copyright (c) 2026 the etcd.h authors

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
------------------------------------------------------------------------------
*/
