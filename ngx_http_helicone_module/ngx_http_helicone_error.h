/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Responses of our own that say what went wrong, as OpenAI's do. */

#ifndef _NGX_HTTP_HELICONE_ERROR_H_INCLUDED_
#define _NGX_HTTP_HELICONE_ERROR_H_INCLUDED_


/*
 * Why a request cannot go on, returned by the function that found out
 * (plan.c, cache.c) for its caller to send.
 */
typedef struct {
    ngx_uint_t                     status;       /* 0: none */
    const char                    *type;         /* static */
    const char                    *code;         /* static */
    ngx_str_t                      message;      /* in r->pool, or static */
} ngx_http_helicone_refusal_t;


/*
 * error.c: sends {"error":{...}} with status from the main request and
 * returns what the caller passes to ngx_http_finalize_request().
 */
ngx_int_t ngx_http_helicone_send_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *type, const char *code,
    ngx_str_t *message);

/*
 * Writes {"error":{"message":...,"type":...,"param":null,"code":...}}
 * into *out, in r->pool. NGX_OK; NGX_ERROR: no memory.
 */
ngx_int_t ngx_http_helicone_error_json(ngx_http_request_t *r,
    const char *type, const char *code, ngx_str_t *message, ngx_str_t *out);

/* what an error nginx raised in our location means to a client (static) */
void ngx_http_helicone_error_for_status(ngx_uint_t status,
    const char **type, const char **code, ngx_str_t *message);

/*
 * Fills *rf, its message formatted into pool (512 bytes at most), its
 * type told by the status. NGX_DECLINED, for the caller to return;
 * NGX_ERROR: no memory.
 */
ngx_int_t ngx_http_helicone_refuse(ngx_pool_t *pool,
    ngx_http_helicone_refusal_t *rf, ngx_uint_t status, const char *code,
    const char *fmt, ...);

/* send_error() of *rf; returns what finalizes the request */
ngx_int_t ngx_http_helicone_send_refusal(ngx_http_request_t *r,
    ngx_http_helicone_refusal_t *rf);

/*
 * A response of our own in one buffer (data's memory the caller's, alive
 * until sent): status and headers already set. Returns what the output
 * filter did, for ngx_http_finalize_request().
 */
ngx_int_t ngx_http_helicone_send_whole(ngx_http_request_t *r, u_char *data,
    size_t len);


#endif /* _NGX_HTTP_HELICONE_ERROR_H_INCLUDED_ */
