/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Header and body filters. On an attempt subrequest they hide a failed
 * response or relay a good one to the client as it arrives; on the main
 * request they turn nginx's own HTML error pages into JSON errors.
 */

#include "ngx_http_helicone_module.h"


static ngx_int_t ngx_http_helicone_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_helicone_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_helicone_attempt_header(ngx_http_request_t *sr,
    ngx_http_helicone_sr_ctx_t *srctx);
static ngx_int_t ngx_http_helicone_attempt_body(ngx_http_request_t *sr,
    ngx_http_helicone_sr_ctx_t *srctx, ngx_chain_t *in);
static ngx_int_t ngx_http_helicone_json_error_header(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
static ngx_int_t ngx_http_helicone_json_error_body(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_chain_t *in);
static void ngx_http_helicone_consume(ngx_chain_t *in);
static void ngx_http_helicone_filter_retry_after(ngx_http_helicone_ctx_t *ctx,
    ngx_http_request_t *sr);


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;


ngx_int_t
ngx_http_helicone_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_helicone_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_helicone_body_filter;

    return NGX_OK;
}


static ngx_int_t
ngx_http_helicone_header_filter(ngx_http_request_t *r)
{
    ngx_http_helicone_ctx_t       *ctx;
    ngx_http_helicone_sr_ctx_t    *srctx;
    ngx_http_helicone_loc_conf_t  *hlcf;

    if (r != r->main) {
        srctx = ngx_http_get_module_ctx(r, ngx_http_helicone_module);

        if (srctx == NULL || r->parent != srctx->main->request) {
            return ngx_http_next_header_filter(r);
        }

        return ngx_http_helicone_attempt_header(r, srctx);
    }

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);

    if (hlcf->pass != NGX_HTTP_HELICONE_PASS_OFF
        && ngx_http_helicone_cors_headers(r) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (hlcf->pass == NGX_HTTP_HELICONE_PASS_OFF
        || r->headers_out.status < NGX_HTTP_BAD_REQUEST)
    {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_helicone_module);

    if (ctx && (ctx->relayed || ctx->own_response)) {
        return ngx_http_next_header_filter(r);
    }

    if (ctx == NULL) {
        ctx = ngx_http_helicone_create_ctx(r);
        if (ctx == NULL) {
            return NGX_ERROR;
        }
    }

    return ngx_http_helicone_json_error_header(r, ctx);
}


static ngx_int_t
ngx_http_helicone_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_http_helicone_ctx_t     *ctx;
    ngx_http_helicone_sr_ctx_t  *srctx;

    if (r != r->main) {
        srctx = ngx_http_get_module_ctx(r, ngx_http_helicone_module);

        if (srctx == NULL || r->parent != srctx->main->request) {
            return ngx_http_next_body_filter(r, in);
        }

        return ngx_http_helicone_attempt_body(r, srctx, in);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_helicone_module);

    if (ctx && ctx->json_error) {
        return ngx_http_helicone_json_error_body(r, ctx, in);
    }

    return ngx_http_next_body_filter(r, in);
}


/*
 * An attempt's response headers. A failure that another target may
 * still fix is hidden; anything else becomes the client's response.
 */

static ngx_int_t
ngx_http_helicone_attempt_header(ngx_http_request_t *sr,
    ngx_http_helicone_sr_ctx_t *srctx)
{
    ngx_int_t                      rc;
    ngx_uint_t                     status;
    ngx_http_request_t            *r;
    ngx_http_helicone_ctx_t       *ctx;
    ngx_http_helicone_attempt_t   *a;
    ngx_http_helicone_loc_conf_t  *hlcf;

    ctx = srctx->main;
    a = srctx->attempt;
    r = ctx->request;

    status = sr->headers_out.status;
    a->status = status;

    if (sr->upstream == NULL) {
        hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);

        ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0,
                      "helicone attempt: \"%V\" is not served by proxy_pass; "
                      "include helicone_attempt.conf in the server",
                      &hlcf->attempt_uri);

        a->error = "misconfigured";
        a->status = 0;
        ctx->misconfigured = 1;
        srctx->swallow = 1;

        return NGX_OK;
    }

    if (status == 0 || sr->http_version < NGX_HTTP_VERSION_10) {
        /*
         * The proxy module passes a response without a status line on as
         * HTTP/0.9. Not for the client: a failed try, and the attempt
         * timer still ends it if the provider keeps the connection open.
         */
        a->error = "invalid_response";
        a->status = 0;
        srctx->swallow = 1;

        return NGX_OK;
    }

    if (ctx->attempts.timer.timer_set) {
        /* headers came: a slow body is no stalled provider */
        ngx_del_timer(&ctx->attempts.timer);
    }

    if (status >= NGX_HTTP_BAD_REQUEST
        && ngx_http_helicone_attempt_has_next(r, ctx, a, status))
    {
        a->error = "status";
        srctx->swallow = 1;

        ngx_http_helicone_filter_retry_after(ctx, sr);

        return NGX_OK;
    }

    srctx->relayed = 1;
    ctx->relayed = 1;
    ctx->served = a;

    /*
     * Same pool: the subrequest's header values stay valid. The list is
     * copied element by element, since a struct copy would share its
     * first part and hide what we add after.
     */
    r->headers_out = sr->headers_out;

    if (ngx_http_helicone_headers_copy(r, &r->headers_out.headers,
                                       &sr->headers_out.headers)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_helicone_response_start(r, ctx, a->target) != NGX_OK
        || ngx_http_helicone_headers_response(r, ctx) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (!ctx->relay.header_deferred) {
        rc = ngx_http_send_header(r);

        if (rc == NGX_ERROR || rc > NGX_OK) {
            return rc;
        }
    }

    return ngx_http_next_header_filter(sr);
}


static ngx_int_t
ngx_http_helicone_attempt_body(ngx_http_request_t *sr,
    ngx_http_helicone_sr_ctx_t *srctx, ngx_chain_t *in)
{
    ngx_int_t                     rc;
    ngx_buf_t                    *b;
    ngx_chain_t                  *cl, *out;
    ngx_http_helicone_ctx_t      *ctx;
    ngx_http_helicone_attempt_t  *a;

    if (srctx->swallow || !srctx->relayed) {
        /* consumed, or a non-buffered upstream would wait for us forever */
        ngx_http_helicone_consume(in);
        return NGX_OK;
    }

    ctx = srctx->main;
    a = srctx->attempt;

    for (cl = in; a->first_byte == 0 && cl; cl = cl->next) {
        if (ngx_buf_in_memory(cl->buf) && cl->buf->last > cl->buf->pos) {
            a->first_byte = ngx_current_msec;
            ctx->first_byte = a->first_byte;
        }
    }

    if (ctx->relay.mode == NGX_HTTP_HELICONE_RESPONSE_PASS) {
        for (cl = in; cl; cl = cl->next) {
            b = cl->buf;

            if (ngx_buf_in_memory(b) && b->last > b->pos) {
                ngx_http_helicone_response_observe(ctx, b->pos,
                                                   b->last - b->pos);
            }
        }

        return ngx_http_next_body_filter(sr, in);
    }

    if (ngx_http_helicone_response_transform(sr, ctx, in, &out) != NGX_OK) {
        return NGX_ERROR;
    }

    if (out == NULL && ctx->relay.busy == NULL) {
        return NGX_OK;
    }

    rc = ngx_http_next_body_filter(sr, out);

    ngx_chain_update_chains(sr->pool, &ctx->relay.free, &ctx->relay.busy, &out,
                            (ngx_buf_tag_t) &ngx_http_helicone_module);

    return rc;
}


/* A provider's Retry-After, seconds or an HTTP date, for the backoff. */

static void
ngx_http_helicone_filter_retry_after(ngx_http_helicone_ctx_t *ctx,
    ngx_http_request_t *sr)
{
    time_t            t;
    ngx_int_t         n;
    ngx_table_elt_t  *h;

    h = ngx_http_helicone_header_find(&sr->headers_out.headers,
                                      "retry-after", 11);
    if (h == NULL) {
        return;
    }

    n = ngx_atoi(h->value.data, h->value.len);

    if (n == NGX_ERROR) {
        t = ngx_parse_http_time(h->value.data, h->value.len);
        n = (t == NGX_ERROR || t <= ngx_time()) ? 0 : t - ngx_time();
    }

    /* a day at most: the location's cap applies later */
    ctx->attempts.retry_after = (ngx_msec_t) ngx_min(n, 86400) * 1000;
}


static void
ngx_http_helicone_consume(ngx_chain_t *in)
{
    for ( /* void */ ; in; in = in->next) {
        in->buf->pos = in->buf->last;
        in->buf->file_pos = in->buf->file_last;
    }
}


/* An error nginx raised in a helicone location, say a 413: JSON instead. */

static ngx_int_t
ngx_http_helicone_json_error_header(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    ngx_str_t    message;
    const char  *type, *code;

    ngx_http_helicone_error_for_status(r->headers_out.status, &type, &code,
                                       &message);

    if (ngx_http_helicone_error_json(r, type, code, &message,
                                     &ctx->error_body)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->json_error = 1;
    ctx->response_bytes = ctx->error_body.len;

    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_last_modified(r);
    ngx_http_clear_etag(r);

    r->headers_out.content_length_n = ctx->error_body.len;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    ngx_str_null(&r->headers_out.charset);

    if (ngx_http_helicone_headers_response(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_helicone_json_error_body(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_chain_t *in)
{
    ngx_buf_t    *b;
    ngx_chain_t   out;

    ngx_http_helicone_consume(in);

    if (ctx->json_error_sent || r->header_only) {
        return NGX_OK;
    }

    ctx->json_error_sent = 1;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = ctx->error_body.data;
    b->last = ctx->error_body.data + ctx->error_body.len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_next_body_filter(r, &out);
}
