/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The relayed response: watched for usage, and where the client's API
 * differs from the provider's, transformed on its way (response.c).
 */

#ifndef _NGX_HTTP_HELICONE_RESPONSE_H_INCLUDED_
#define _NGX_HTTP_HELICONE_RESPONSE_H_INCLUDED_


/* how a relayed response reaches the client */
#define NGX_HTTP_HELICONE_RESPONSE_PASS    0  /* byte for byte */
#define NGX_HTTP_HELICONE_RESPONSE_STRIP   1  /* less our usage chunk */
#define NGX_HTTP_HELICONE_RESPONSE_STREAM  2  /* Anthropic SSE translated */
#define NGX_HTTP_HELICONE_RESPONSE_JSON    3  /* Anthropic JSON translated */


/*
 * Decides how the response of target t reaches the client, from what the
 * provider answered (r->headers_out is its copy already). NGX_OK;
 * NGX_ERROR: no memory.
 */
ngx_int_t ngx_http_helicone_response_start(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_target_t *t);

/* PASS: the bytes go on as they are; this only reads them */
void ngx_http_helicone_response_observe(ngx_http_helicone_ctx_t *ctx,
    u_char *p, size_t len);

/*
 * Every mode but PASS: the subrequest's bufs are consumed and *out gets
 * what the client is sent instead, in buffers of r->pool recycled
 * through ctx's free chain (the caller updates the chains once sent).
 * NGX_OK; NGX_ERROR.
 */
ngx_int_t ngx_http_helicone_response_transform(ngx_http_request_t *sr,
    ngx_http_helicone_ctx_t *ctx, ngx_chain_t *in, ngx_chain_t **out);

/* the response ended: a JSON body is read now, once, for usage */
void ngx_http_helicone_response_end(ngx_http_helicone_ctx_t *ctx);

/*
 * The end of the client's response: the bytes transform() held, if
 * any, with the last buffer flag, or the flag alone. Returns what the
 * output filter did, for ngx_http_finalize_request().
 */
ngx_int_t ngx_http_helicone_response_last(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);


#endif /* _NGX_HTTP_HELICONE_RESPONSE_H_INCLUDED_ */
