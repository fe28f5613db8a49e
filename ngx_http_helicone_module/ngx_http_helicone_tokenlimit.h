/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Helicone-Token-Limit-Exception-Handler (tokenlimit.c): a body too
 * large for the model's window is cut, or goes to a larger model.
 */

#ifndef _NGX_HTTP_HELICONE_TOKENLIMIT_H_INCLUDED_
#define _NGX_HTTP_HELICONE_TOKENLIMIT_H_INCLUDED_


/* What the token-limit handler did, for the log event (tokenlimit.c). */
typedef struct {
    ngx_uint_t                     strategy;     /* helicone_tokenlimit_e
                                                    that ran; NONE: none */
    uint64_t                       estimate;     /* tokens, as sent */
    uint64_t                       limit;        /* 0: the model's window is
                                                    unknown */
    uint64_t                       result;       /* tokens, as forwarded */
    ngx_uint_t                     dropped;      /* messages dropped */
    ngx_uint_t                     cut;          /* texts shortened */
    ngx_str_t                      model;        /* fallback's choice */
} ngx_http_helicone_tokenlimit_result_t;


/*
 * Runs the strategy the client asked for, before the cache key is
 * taken. NGX_OK: ctx's body is rewritten (in r->pool) or, for fallback,
 * ctx's model names the chosen one; NGX_DECLINED: nothing asked or
 * nothing to do; NGX_ERROR: no memory. ctx->tokenlimit says what ran.
 */
ngx_int_t ngx_http_helicone_tokenlimit(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);


#endif /* _NGX_HTTP_HELICONE_TOKENLIMIT_H_INCLUDED_ */
