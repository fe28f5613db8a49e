/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Rate limits (ratelimit.c): helicone_ratelimit policies and
 * Helicone-RateLimit-Policy, checked after the cache, charged in the
 * log phase, through the store.
 */

#ifndef _NGX_HTTP_HELICONE_RATELIMIT_H_INCLUDED_
#define _NGX_HTTP_HELICONE_RATELIMIT_H_INCLUDED_


/* A request's part of the limits, written by ratelimit.c only. */
typedef struct {
    helicone_rl_policy_t          *policy;       /* the one reported */
    uint64_t                       remaining;
    uint64_t                       reset;
    uint64_t                       wait;         /* Retry-After of a 429 */
    ngx_array_t                   *charges;      /* cents, after the fact */
    unsigned                       denied:1;     /* a policy said no */
    unsigned                       failed:1;     /* a limit not checked */
    unsigned                       limited:1;    /* the request refused */
} ngx_http_helicone_ratelimit_ctx_t;


/* helicone_ratelimit POLICY; NGX_CONF_OK or an error */
char *ngx_http_helicone_ratelimit_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);

/*
 * NGX_OK: within every policy (or none applies); NGX_BUSY: a limit is
 * reached; NGX_DECLINED: a limit could not be checked and they fail
 * closed; NGX_ERROR. NGX_AGAIN: the store is asked, and check_done()
 * tells once it answered.
 */
ngx_int_t ngx_http_helicone_ratelimit_check(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
ngx_int_t ngx_http_helicone_ratelimit_check_done(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);

/* in the log phase: cents policies are charged the request's cost */
void ngx_http_helicone_ratelimit_commit(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);

/*
 * Helicone-RateLimit-* on every response of an evaluated request (a
 * headers_out row). NGX_OK; NGX_ERROR: no memory.
 */
ngx_int_t ngx_http_helicone_ratelimit_headers(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);


#endif /* _NGX_HTTP_HELICONE_RATELIMIT_H_INCLUDED_ */
