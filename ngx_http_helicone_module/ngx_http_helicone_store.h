/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The store: where cached responses, rate-limit buckets and API keys'
 * records live, behind one table of operations. "helicone_store shm"
 * and "helicone_store redis" each fill the table (store_shm.c,
 * store_redis.c); store.c parses the directive and picks one at
 * configuration time; cache.c, ratelimit.c and auth.c call through it.
 *
 * The asynchronous contract: an operation that asks a request's
 * question either answers at once (NGX_OK, the answer in its op, as
 * shm always does) or returns NGX_AGAIN (as Redis does): the op's done
 * handler is then called from an event handler, once, and after the
 * request's last awaited answer the request is resumed
 * (ngx_http_helicone_resume()), its step's *_done() function telling
 * the verdict. A request that goes away first is never called back.
 * Operations from the log phase (put, charge) are fire and forget.
 *
 * Entries are named by a SHA-256 (u_char[32]); each store makes its own
 * names from it (a Redis key, a zone's node) by the entry's kind.
 */

#ifndef _NGX_HTTP_HELICONE_STORE_H_INCLUDED_
#define _NGX_HTTP_HELICONE_STORE_H_INCLUDED_


/* what an entry is: how a store names it and what it may push out */
typedef enum {
    NGX_HTTP_HELICONE_STORE_KEY = 0,       /* an API key's record */
    NGX_HTTP_HELICONE_STORE_VERDICT,       /* a known key's verdict */
    NGX_HTTP_HELICONE_STORE_UNKNOWN,       /* an unknown key's verdict */
    NGX_HTTP_HELICONE_STORE_CACHE          /* a cached response's buckets */
} ngx_http_helicone_store_kind_e;


/*
 * rc NGX_OK: the answer is in op; NGX_ERROR: none came (timeout,
 * connection lost, an answer of the wrong shape)
 */
typedef void (*ngx_http_helicone_store_done_pt)(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, void *op, ngx_int_t rc);


/*
 * A read of n entries: the entry sha (n 1), or a cached response's
 * buckets 0 .. n-1 (kind CACHE, n up to NGX_HTTP_HELICONE_CACHE_BUCKETS).
 * values[i] is a copy in r->pool, data NULL when the entry is absent.
 */
typedef struct {
    ngx_http_helicone_store_kind_e    kind;
    u_char                           *sha;
    ngx_uint_t                        n;
    ngx_str_t                        *values;    /* n of them, filled */
    ngx_http_helicone_store_done_pt   done;
    void                             *data;
} ngx_http_helicone_store_get_t;


/*
 * A write of value for ttl seconds, replacing the entry sha; of kind
 * CACHE, into the first free of the buckets 0 .. n-1.
 */
typedef struct {
    ngx_http_helicone_store_kind_e    kind;
    u_char                           *sha;
    ngx_uint_t                        n;
    ngx_str_t                        *value;
    time_t                            ttl;
} ngx_http_helicone_store_put_t;


/* A token taken from the bucket sha of policy, and the bucket's state. */
typedef struct {
    helicone_rl_policy_t             *policy;
    u_char                            sha[32];
    ngx_uint_t                        allowed;   /* filled: 1 taken */
    uint64_t                          remaining; /* whole tokens left */
    uint64_t                          reset;     /* s until full */
    uint64_t                          wait;      /* s until one passes */
    ngx_http_helicone_store_done_pt   done;
    void                             *data;
} ngx_http_helicone_store_take_t;


/*
 * get: NGX_OK, the values filled; NGX_AGAIN, op->done() later;
 * NGX_DECLINED, this store keeps no entries of that kind; NGX_ERROR, the
 * store is unavailable now. op and its values must live as long as the
 * request.
 */
typedef ngx_int_t (*ngx_http_helicone_store_get_pt)(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_store_get_t *op);

/*
 * put, from the log phase and never waited for: NGX_OK stored (or sent);
 * NGX_DECLINED, every bucket is full or the store keeps no such kind;
 * NGX_BUSY, no room even after evicting; NGX_ERROR. value is copied.
 */
typedef ngx_int_t (*ngx_http_helicone_store_put_pt)(ngx_http_request_t *r,
    ngx_http_helicone_store_put_t *op);

/*
 * take: NGX_OK, allowed and the figures filled; NGX_AGAIN, op->done()
 * later; NGX_BUSY, no room for the bucket; NGX_ERROR, the store is
 * unavailable. op must live as long as the request.
 */
typedef ngx_int_t (*ngx_http_helicone_store_take_pt)(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_store_take_t *op);

/*
 * charge, from the log phase and never waited for: cost millionths of a
 * cent out of the bucket sha of policy, even into debt. NGX_OK charged
 * (or sent); NGX_BUSY, no room; NGX_ERROR.
 */
typedef ngx_int_t (*ngx_http_helicone_store_charge_pt)(ngx_http_request_t *r,
    helicone_rl_policy_t *policy, u_char *sha, uint64_t cost);

/*
 * configure: "helicone_store NAME args...;" with zone=NAME:SIZE already
 * taken by store.c; NGX_CONF_OK or an error.
 */
typedef char *(*ngx_http_helicone_store_configure_pt)(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, ngx_str_t *args, ngx_uint_t n);

/* a worker's connections: NGX_OK or NGX_ERROR; NULL: none needed */
typedef ngx_int_t (*ngx_http_helicone_store_init_worker_pt)(
    ngx_http_helicone_main_conf_t *hmcf, ngx_cycle_t *cycle);
typedef void (*ngx_http_helicone_store_exit_worker_pt)(
    ngx_http_helicone_main_conf_t *hmcf);


struct ngx_http_helicone_store_s {
    ngx_str_t                                name;   /* helicone_store's */
    ngx_http_helicone_store_configure_pt     configure;
    ngx_http_helicone_store_init_worker_pt   init_worker;
    ngx_http_helicone_store_exit_worker_pt   exit_worker;
    ngx_http_helicone_store_get_pt           get;
    ngx_http_helicone_store_put_pt           put;
    ngx_http_helicone_store_take_pt          take;
    ngx_http_helicone_store_charge_pt        charge;
};


/*
 * A request's wait for a store that answers later (store.c): the store
 * gets one with ngx_http_helicone_store_wait(), sends its question, and
 * once it is out calls ngx_http_helicone_store_asked(); when the answer
 * comes it calls the op's done handler, then
 * ngx_http_helicone_store_answered(), which resumes the request after
 * its last answer. A request that goes away first has cancel() called
 * for each question still out: its answer must then be dropped.
 */
typedef void (*ngx_http_helicone_store_cancel_pt)(
    ngx_http_helicone_wait_t *w);

struct ngx_http_helicone_wait_s {
    ngx_http_request_t                      *request;
    ngx_http_helicone_ctx_t                 *ctx;
    ngx_http_helicone_store_cancel_pt        cancel;
    void                                    *data;   /* the store's */
    ngx_http_helicone_wait_t                *next;   /* the request's */
    unsigned                                 answered:1;
};


/* A request's questions to the store, written by store.c only. */
typedef struct {
    ngx_uint_t                     pending;      /* answers awaited */
    ngx_http_helicone_wait_t      *waits;
    unsigned                       cleanup:1;    /* registered */
} ngx_http_helicone_store_ctx_t;


/*
 * store_shm.c: the zone, always there: the store of "helicone_store
 * shm", and with Redis the local memo of keys' verdicts (auth.c).
 */
extern ngx_http_helicone_store_t  ngx_http_helicone_store_shm;

/* store_redis.c: shared by every nginx pointing at the same Redis */
extern ngx_http_helicone_store_t  ngx_http_helicone_store_redis;


/* store.c: helicone_store shm | redis ...; NGX_CONF_OK or an error */
char *ngx_http_helicone_store_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/*
 * A wait with size bytes of the store's own (w->data) in r->pool, and
 * the request's cleanup, once. NULL: no memory. Nothing waits until
 * asked(); answered() after the store's handler took the answer resumes
 * the request after its last one.
 */
ngx_http_helicone_wait_t *ngx_http_helicone_store_wait(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, size_t size,
    ngx_http_helicone_store_cancel_pt cancel);
void ngx_http_helicone_store_asked(ngx_http_helicone_wait_t *w);
void ngx_http_helicone_store_answered(ngx_http_helicone_wait_t *w);

/*
 * store_shm.c: the zone for zone=NAME:SIZE, or a default one, into hmcf.
 * NGX_OK; NGX_ERROR, logged. zone_parse() reads the "zone=" argument.
 */
ngx_int_t ngx_http_helicone_store_zone(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, ngx_str_t *name, size_t size);
ngx_int_t ngx_http_helicone_store_zone_parse(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, ngx_str_t *value);


#endif /* _NGX_HTTP_HELICONE_STORE_H_INCLUDED_ */
