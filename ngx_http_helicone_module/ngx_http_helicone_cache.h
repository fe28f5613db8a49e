/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The response cache (cache.c): asked by Helicone-Cache-Enabled, read
 * before the limits, written in the log phase, through the store.
 */

#ifndef _NGX_HTTP_HELICONE_CACHE_H_INCLUDED_
#define _NGX_HTTP_HELICONE_CACHE_H_INCLUDED_


#define NGX_HTTP_HELICONE_CACHE_BUCKETS   20


/* A request's part of the cache, written by cache.c only. */
typedef struct {
    u_char                         digest[32];   /* of the key */
    ngx_uint_t                     buckets;
    ngx_uint_t                     bucket;       /* the one served */
    time_t                         ttl;
    ngx_str_t                      entry;        /* a hit, copied */
    u_char                         ref[36];      /* the original's id */
    ngx_uint_t                     latency;
    uint64_t                       saved;        /* pico-USD, or UNSET */
    ngx_str_t                      provider;     /* who served the hit */
    ngx_str_t                      model;        /* the model id it got */
    unsigned                       read:1;       /* the request asks */
    unsigned                       save:1;
    unsigned                       hit:1;
} ngx_http_helicone_cache_ctx_t;


/*
 * What the request asks of the cache, and the key's digest. NGX_OK;
 * NGX_DECLINED with *rf for a bad cache header; NGX_ERROR.
 */
ngx_int_t ngx_http_helicone_cache_init(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_refusal_t *rf);

/*
 * NGX_OK: a hit, copied into r->pool; NGX_DECLINED: a miss (store
 * trouble is one too); NGX_AGAIN: the store is asked, and lookup_done()
 * tells once it answered.
 */
ngx_int_t ngx_http_helicone_cache_lookup(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
ngx_int_t ngx_http_helicone_cache_lookup_done(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);

/*
 * A hit, replayed: the stored status, type and body, a new id. Returns
 * what finalizes the request.
 */
ngx_int_t ngx_http_helicone_cache_send(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);

/*
 * Helicone-Cache: HIT or MISS, and for a hit its bucket and latency
 * (a headers_out row). NGX_OK; NGX_ERROR: no memory.
 */
ngx_int_t ngx_http_helicone_cache_headers(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);

/* in the log phase: a complete 200 into a free bucket of its key */
void ngx_http_helicone_cache_save(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);


#endif /* _NGX_HTTP_HELICONE_CACHE_H_INCLUDED_ */
