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
 * The relayed response as response.c reads and transforms it, written
 * by response.c (cache.c replays a hit's body through capture; filter.c
 * recycles the free and busy chains).
 */
typedef struct {
    helicone_sse_parser_t          sse;
    helicone_usage_t               usage;
    ngx_str_t                      served_model; /* response "model" */
    ngx_uint_t                     mode;  /* NGX_HTTP_HELICONE_RESPONSE_* */
    ngx_http_helicone_dialect_t   *dialect;      /* the served one's */
    ngx_http_helicone_translator_t *translator;  /* the API's to it, when
                                                    translated */
    helicone_translate_stream_t   *translate;
    helicone_buf_t                 out;          /* transformed bytes */
    u_char                        *pending;      /* strip: the open event */
    size_t                         pending_len;
    size_t                         pending_size;
    const u_char                  *feed;         /* the input being parsed */
    size_t                         feed_start;   /* of it, not yet cut */
    ngx_chain_t                   *free;
    ngx_chain_t                   *busy;
    ngx_chain_t                   *held;         /* goes out with the end */
    u_char                        *capture;      /* response bytes kept */
    size_t                         capture_len;
    size_t                         capture_size; /* allocated */
    size_t                         capture_cap;  /* kept at most */
    ngx_uint_t                     chunks;
    unsigned                       event_stream:1; /* response is SSE */
    unsigned                       sse_done:1;   /* "[DONE]" seen */
    unsigned                       cut_usage:1;  /* STRIP: the usage chunk
                                                    is ours, not the
                                                    client's */
    unsigned                       provider_error:1; /* an error in a 200 */
    unsigned                       sse_overflow:1; /* an event too large to
                                                      translate */
    unsigned                       capture_overflow:1;
    unsigned                       header_deferred:1; /* sent with the body */
} ngx_http_helicone_relay_t;


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
