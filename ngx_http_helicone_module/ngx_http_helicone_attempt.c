/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * One upstream try: a subrequest to the internal attempt location, which
 * the stock proxy module serves. Only this file decides whether a try
 * failed in a way that lets the next target have a go.
 */

#include "ngx_http_helicone_module.h"


static ngx_int_t ngx_http_helicone_attempt_done(ngx_http_request_t *sr,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_helicone_attempt_verdict(ngx_http_request_t *sr,
    ngx_http_helicone_sr_ctx_t *srctx, ngx_int_t rc);
static ngx_uint_t ngx_http_helicone_attempt_cut(ngx_http_request_t *sr,
    ngx_http_helicone_ctx_t *ctx, ngx_int_t rc);


ngx_int_t
ngx_http_helicone_attempt_start(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    ngx_int_t                      rc;
    ngx_buf_t                     *b;
    ngx_chain_t                   *cl;
    ngx_http_request_t            *sr;
    ngx_http_request_body_t       *rb;
    ngx_http_helicone_attempt_t   *a;
    ngx_http_helicone_target_t    *t;
    ngx_http_helicone_sr_ctx_t    *srctx;
    ngx_http_post_subrequest_t    *ps;
    ngx_http_helicone_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);

    for ( ;; ) {
        if (ctx->next_target == ctx->ntargets) {
            return NGX_DECLINED;
        }

        t = &ctx->targets[ctx->next_target++];

        rc = ngx_http_helicone_plan_prepare(r, ctx, t);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        a = ngx_array_push(&ctx->attempts);
        if (a == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(a, sizeof(ngx_http_helicone_attempt_t));

        a->target = t;
        a->start = ngx_current_msec;

        if (rc == NGX_OK) {
            break;
        }

        /* this target cannot take the request: the next may */
        a->outcome = ngx_http_helicone_attempt_failed;
        a->error = "unsupported";
        a->end = a->start;
    }

    srctx = ngx_pcalloc(r->pool, sizeof(ngx_http_helicone_sr_ctx_t));
    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (srctx == NULL || ps == NULL) {
        return NGX_ERROR;
    }

    srctx->main = ctx;
    srctx->attempt = a;
    srctx->last = (ctx->next_target == ctx->ntargets);

    ps->handler = ngx_http_helicone_attempt_done;
    ps->data = srctx;

    if (ngx_http_subrequest(r, &hlcf->attempt_uri, NULL, &sr, ps, 0)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    sr->method = r->method;
    sr->method_name = r->method_name;

    /* the body goes as it is: proxy copies the buf structs, not the data */

    if (t->body.len || r->headers_in.content_length_n >= 0) {
        rb = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
        if (rb == NULL) {
            return NGX_ERROR;
        }

        if (t->body.len) {
            b = ngx_calloc_buf(r->pool);
            cl = ngx_alloc_chain_link(r->pool);
            if (b == NULL || cl == NULL) {
                return NGX_ERROR;
            }

            b->pos = t->body.data;
            b->last = t->body.data + t->body.len;
            b->start = b->pos;
            b->end = b->last;
            b->memory = 1;
            b->last_buf = 1;

            cl->buf = b;
            cl->next = NULL;

            rb->bufs = cl;
            rb->buf = b;
        }

        sr->request_body = rb;
        sr->headers_in.content_length_n = t->body.len;

    } else {
        sr->request_body = NULL;
        sr->headers_in.content_length_n = -1;
    }

    sr->headers_in.content_length = NULL;
    sr->headers_in.transfer_encoding = NULL;
    sr->headers_in.chunked = 0;

    /* the subrequest gets its own header list: nothing of Helicone's */
    if (ngx_http_helicone_headers_upstream(r, t, &sr->headers_in.headers)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_set_ctx(sr, srctx, ngx_http_helicone_module);

    ctx->running = 1;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "helicone attempt: #%ui to \"%V\" model \"%V\"",
                   ctx->attempts.nelts, &t->url, &t->model);

    return NGX_OK;
}


/* Statuses after which the next target, if any, is tried. */

ngx_int_t
ngx_http_helicone_attempt_retryable(ngx_uint_t status)
{
    return status == NGX_HTTP_TOO_MANY_REQUESTS
           || status >= NGX_HTTP_INTERNAL_SERVER_ERROR;
}


/*
 * post_subrequest: its return replaces rc. NGX_OK lets the main request
 * wake up (ngx_http_helicone_wake); an error terminates the request,
 * which is what a cut stream or a gone client must do.
 */

static ngx_int_t
ngx_http_helicone_attempt_done(ngx_http_request_t *sr, void *data,
    ngx_int_t rc)
{
    ngx_http_helicone_sr_ctx_t *srctx = data;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, sr->connection->log, 0,
                   "helicone attempt: done rc:%i relayed:%d swallow:%d",
                   rc, srctx->relayed, srctx->swallow);

    if (srctx->decided) {
        /* finalized again (it had buffered output): same verdict */
        return srctx->result;
    }

    srctx->decided = 1;
    srctx->result = ngx_http_helicone_attempt_verdict(sr, srctx, rc);

    return srctx->result;
}


static ngx_int_t
ngx_http_helicone_attempt_verdict(ngx_http_request_t *sr,
    ngx_http_helicone_sr_ctx_t *srctx, ngx_int_t rc)
{
    ngx_http_helicone_ctx_t      *ctx;
    ngx_http_helicone_attempt_t  *a;

    ctx = srctx->main;
    a = srctx->attempt;

    ctx->running = 0;
    a->end = ngx_current_msec;

    if (rc == NGX_HTTP_CLIENT_CLOSED_REQUEST || sr->connection->error) {
        a->outcome = ngx_http_helicone_attempt_aborted;
        ctx->aborted = 1;

        ngx_log_error(NGX_LOG_INFO, sr->connection->log, 0,
                      "helicone attempt: client closed the connection");

        return (rc == NGX_OK) ? NGX_ERROR : rc;
    }

    if (srctx->relayed) {
        ngx_http_helicone_response_end(ctx);

        if (ngx_http_helicone_attempt_cut(sr, ctx, rc)) {
            a->outcome = ngx_http_helicone_attempt_truncated;
            a->error = "truncated";
            ctx->truncated = 1;

            ngx_log_error(NGX_LOG_ERR, sr->connection->log, 0,
                          "helicone upstream: response from \"%V\" was cut "
                          "short", &a->target->url);

            /* no clean end: the client must see the response broke */
            return NGX_ERROR;
        }

        a->outcome = ngx_http_helicone_attempt_ok;
        ctx->done = 1;

        return NGX_OK;
    }

    a->outcome = ngx_http_helicone_attempt_failed;

    if (a->error == NULL) {
        a->error = (rc == NGX_HTTP_GATEWAY_TIME_OUT) ? "timeout" : "connect";
    }

    if (!srctx->last) {
        ngx_log_error(NGX_LOG_WARN, sr->connection->log, 0,
                      "helicone attempt: \"%V\" failed (%s), trying the "
                      "next target", &a->target->url, a->error);
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_http_helicone_attempt_cut(ngx_http_request_t *sr,
    ngx_http_helicone_ctx_t *ctx, ngx_int_t rc)
{
    ngx_http_upstream_t  *u;

    if (rc == NGX_ERROR || rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return 1;
    }

    u = sr->upstream;

    /* the proxy counts down what a length or chunked framing promised */
    if (u && u->length > 0) {
        return 1;
    }

    /* a stream that ended on a close: complete only with its "[DONE]" */
    if (ctx->event_stream && !ctx->sse_done && u && u->length == -1) {
        return 1;
    }

    return 0;
}
