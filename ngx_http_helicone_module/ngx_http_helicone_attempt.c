/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Upstream tries: each a subrequest to the internal attempt location,
 * which the stock proxy module serves; and what follows a failure: the
 * same target again after a backoff, the next target, or the end. Only
 * this file decides whether a try failed in a way that lets another go.
 */

#include "ngx_http_helicone_module.h"


static ngx_int_t ngx_http_helicone_attempt_run(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_target_t *t);
static ngx_int_t ngx_http_helicone_attempt_backoff(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_attempt_t *a);
static void ngx_http_helicone_attempt_backoff_done(ngx_http_request_t *r);
static ngx_uint_t ngx_http_helicone_attempt_retryable(ngx_uint_t status);
static ngx_uint_t ngx_http_helicone_attempt_fails_over(ngx_http_request_t *r,
    ngx_http_helicone_target_t *t, ngx_uint_t status);
static void ngx_http_helicone_attempt_timeout(ngx_event_t *ev);
static void ngx_http_helicone_attempt_cleanup(void *data);
static ngx_int_t ngx_http_helicone_attempt_done(ngx_http_request_t *sr,
    void *data, ngx_int_t rc);
static ngx_int_t ngx_http_helicone_attempt_verdict(ngx_http_request_t *sr,
    ngx_http_helicone_sr_ctx_t *srctx, ngx_int_t rc);
static ngx_uint_t ngx_http_helicone_attempt_cut(ngx_http_request_t *sr,
    ngx_http_helicone_ctx_t *ctx, ngx_int_t rc);


/*
 * The policy in force: what the request's headers asked (headers.c read
 * them), the location's for the rest.
 */

void
ngx_http_helicone_attempt_policy(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    ngx_http_helicone_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);

    /* what the client asked, the location's for the rest */
    ctx->retry = ctx->asked.retry;

    ngx_conf_merge_value(ctx->retry.on, hlcf->retry, 0);
    ngx_conf_merge_uint_value(ctx->retry.num, hlcf->retry_num, 0);
    ngx_conf_merge_uint_value(ctx->retry.factor, hlcf->retry_factor, 0);
    ngx_conf_merge_msec_value(ctx->retry.min, hlcf->retry_min, 0);
    ngx_conf_merge_msec_value(ctx->retry.max, hlcf->retry_max, 0);

    if (hlcf->deadline) {
        /* 0 would mean "none": the clock starts at the request */
        ctx->attempts.deadline = (ctx->start + hlcf->deadline) | 1;
    }
}


/* The first try: the first target that can take the request. */

ngx_int_t
ngx_http_helicone_attempt_start(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    return ngx_http_helicone_attempt_next(r, ctx);
}


/*
 * After a failed try, or before the first: NGX_OK when an attempt runs,
 * NGX_AGAIN when one will after a backoff, NGX_DECLINED when nothing is
 * left to try, NGX_ERROR.
 */

ngx_int_t
ngx_http_helicone_attempt_next(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    ngx_int_t                     rc;
    ngx_http_helicone_attempt_t  *a;
    ngx_http_helicone_target_t   *t;

    a = ctx->attempts.list.nelts
        ? &((ngx_http_helicone_attempt_t *) ctx->attempts.list.elts)
                                                [ctx->attempts.list.nelts - 1]
        : NULL;

    if (a && ngx_http_helicone_attempt_time_left(ctx, 1) == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "helicone attempt: deadline passed after %ui attempts",
                      ctx->attempts.list.nelts);
        return NGX_DECLINED;
    }

    if (a && a->outcome == ngx_http_helicone_attempt_failed
        && ctx->retry.on && a->target->tries <= ctx->retry.num
        && (a->status == 0 || ngx_http_helicone_attempt_retryable(a->status))
        && (a->error == NULL || ngx_strcmp(a->error, "unsupported") != 0))
    {
        return ngx_http_helicone_attempt_backoff(r, ctx, a);
    }

    for ( ;; ) {
        if (ctx->attempts.next_target == ctx->plan.ntargets) {
            return NGX_DECLINED;
        }

        t = &ctx->plan.targets[ctx->attempts.next_target++];

        rc = ngx_http_helicone_plan_prepare(r, ctx, t,
                                             &ctx->attempts.refusal);

        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_OK) {
            return ngx_http_helicone_attempt_run(r, ctx, t);
        }

        /* this target cannot take the request: the next may */

        a = ngx_array_push(&ctx->attempts.list);
        if (a == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(a, sizeof(ngx_http_helicone_attempt_t));

        a->target = t;
        a->start = ngx_current_msec;
        a->end = a->start;
        a->outcome = ngx_http_helicone_attempt_failed;
        a->error = "unsupported";
    }
}


/*
 * Whether another try may follow a response of this status: decided
 * when its headers arrive, so a failure that will be retried or passed
 * to the next target is never shown to the client.
 */

ngx_uint_t
ngx_http_helicone_attempt_has_next(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_attempt_t *a,
    ngx_uint_t status)
{
    if (ngx_http_helicone_attempt_time_left(ctx, 1) == 0) {
        return 0;
    }

    if (ctx->retry.on && a->target->tries <= ctx->retry.num
        && ngx_http_helicone_attempt_retryable(status))
    {
        return 1;
    }

    return ngx_http_helicone_attempt_fails_over(r, a->target, status)
           && ctx->attempts.next_target < ctx->plan.ntargets;
}


/* Helicone retries 429 and 5xx (and network failures). */

static ngx_uint_t
ngx_http_helicone_attempt_retryable(ngx_uint_t status)
{
    return status == NGX_HTTP_TOO_MANY_REQUESTS
           || status >= NGX_HTTP_INTERNAL_SERVER_ERROR;
}


/* The next target is tried after these: retryable ones and any the
 * location (helicone_fallback_on) or Helicone-Fallbacks' onCodes add. */

static ngx_uint_t
ngx_http_helicone_attempt_fails_over(ngx_http_request_t *r,
    ngx_http_helicone_target_t *t, ngx_uint_t status)
{
    ngx_uint_t                     i, *codes;
    ngx_http_helicone_loc_conf_t  *hlcf;

    if (t->on_codes) {
        return helicone_policy_codes_match(t->on_codes, status);
    }

    if (ngx_http_helicone_attempt_retryable(status)) {
        return 1;
    }

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);

    if (hlcf->fallback_on) {
        codes = hlcf->fallback_on->elts;

        for (i = 0; i < hlcf->fallback_on->nelts; i++) {
            if (codes[i] == status) {
                return 1;
            }
        }
    }

    return 0;
}


/*
 * Waits before trying a->target again: Helicone's backoff
 * min(max, min * factor^(k-1)), at least what the provider asked with
 * Retry-After (capped), with jitter if asked, within the deadline. The
 * limit_req way: a timer on the client connection's write event.
 */

static ngx_int_t
ngx_http_helicone_attempt_backoff(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_attempt_t *a)
{
    uint64_t                       delay;
    ngx_event_t                   *wev;
    ngx_http_helicone_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);

    delay = helicone_policy_backoff(ctx->retry.min, ctx->retry.max,
                                    ctx->retry.factor,
                                    (unsigned) a->target->tries);

    if (ctx->attempts.retry_after) {
        delay = ngx_max(delay, ngx_min(ctx->attempts.retry_after,
                                       hlcf->retry_after_max));
    }

    if (hlcf->retry_jitter && delay > 1) {
        /* "equal jitter": half the delay, plus up to the other half */
        delay = delay / 2 + (uint64_t) ngx_random() % (delay / 2 + 1);
    }

    delay = ngx_http_helicone_attempt_time_left(ctx, (ngx_msec_t) delay);

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "helicone attempt: retrying \"%V\" in %uL ms",
                  &a->target->url, delay);

    ctx->attempts.retry_target = a->target;
    ctx->attempts.backoff = 1;

    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_helicone_attempt_backoff_done;

    wev = r->connection->write;
    wev->delayed = 1;
    ngx_add_timer(wev, (ngx_msec_t) delay);

    return NGX_AGAIN;
}


static void
ngx_http_helicone_attempt_backoff_done(ngx_http_request_t *r)
{
    ngx_int_t                 rc;
    ngx_event_t              *wev;
    ngx_http_helicone_ctx_t  *ctx;

    wev = r->connection->write;

    if (wev->delayed) {
        /* a write event before the timer: keep waiting */
        if (ngx_handle_write_event(wev, 0) != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        }

        return;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_helicone_module);

    ctx->attempts.backoff = 0;

    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_helicone_wake;

    rc = ngx_http_helicone_attempt_run(r, ctx, ctx->attempts.retry_target);

    if (rc != NGX_OK) {
        r->write_event_handler = ngx_http_request_empty_handler;
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


/* One try of target t: the subrequest, its body and headers, its timer. */

static ngx_int_t
ngx_http_helicone_attempt_run(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_target_t *t)
{
    ngx_buf_t                     *b;
    ngx_msec_t                     timeout;
    ngx_chain_t                   *cl;
    ngx_http_request_t            *sr;
    ngx_pool_cleanup_t            *cln;
    ngx_http_request_body_t       *rb;
    ngx_http_helicone_attempt_t   *a;
    ngx_http_helicone_sr_ctx_t    *srctx;
    ngx_http_post_subrequest_t    *ps;
    ngx_http_helicone_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);

    a = ngx_array_push(&ctx->attempts.list);
    if (a == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(a, sizeof(ngx_http_helicone_attempt_t));

    a->target = t;
    a->retry = t->tries++;
    a->start = ngx_current_msec;

    ctx->attempts.retry_after = 0;

    srctx = ngx_pcalloc(r->pool, sizeof(ngx_http_helicone_sr_ctx_t));
    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    if (srctx == NULL || ps == NULL) {
        return NGX_ERROR;
    }

    srctx->main = ctx;
    srctx->attempt = a;

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

    ctx->attempts.sr = sr;
    ctx->attempts.running = 1;

    /* a stalled provider: no response headers within attempt_timeout */

    if (ctx->attempts.timer.handler == NULL) {
        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NGX_ERROR;
        }

        cln->handler = ngx_http_helicone_attempt_cleanup;
        cln->data = ctx;

        ctx->attempts.timer.handler = ngx_http_helicone_attempt_timeout;
        ctx->attempts.timer.data = ctx;
        ctx->attempts.timer.log = r->connection->log;
    }

    timeout = hlcf->attempt_timeout;

    if (ctx->asked.increase_timeout) {
        /* Helicone-Increase-Timeout: a slow model's long first byte;
         * helicone_deadline still bounds it */
        timeout = ngx_max(timeout, NGX_HTTP_HELICONE_INCREASED_TIMEOUT);
    }

    if (timeout) {
        /* a deadline passed already (a slow upload, a slow store) ends
         * the wait at once: a 1 ms timer, as no timer would wait forever */
        timeout = ngx_max(ngx_http_helicone_attempt_time_left(ctx, timeout),
                          1);
    }

    if (timeout) {
        ngx_add_timer(&ctx->attempts.timer, timeout);
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "helicone attempt: #%ui to \"%V\" model \"%V\" try %ui",
                   ctx->attempts.list.nelts, &t->url, &t->model, a->retry);

    return NGX_OK;
}


/*
 * No response headers in time: the proxy is made to see a read timeout,
 * which it answers like any other (504), and the next try can follow.
 */

static void
ngx_http_helicone_attempt_timeout(ngx_event_t *ev)
{
    ngx_connection_t             *c, *pc;
    ngx_http_upstream_t          *u;
    ngx_http_helicone_ctx_t      *ctx;
    ngx_http_helicone_attempt_t  *a;

    ctx = ev->data;

    if (!ctx->attempts.running || ctx->relayed || ctx->attempts.sr == NULL) {
        return;
    }

    u = ctx->attempts.sr->upstream;
    pc = u ? u->peer.connection : NULL;

    if (pc == NULL) {
        /* not connected yet (resolving): nginx's own timeouts apply */
        return;
    }

    a = &((ngx_http_helicone_attempt_t *) ctx->attempts.list.elts)
                                                [ctx->attempts.list.nelts - 1];

    if (a->error == NULL) {
        a->error = "timeout";
    }

    c = ctx->request->connection;

    ngx_log_error(NGX_LOG_WARN, c->log, 0,
                  "helicone attempt: no response from \"%V\" in time",
                  &a->target->url);

    pc->read->timedout = 1;
    pc->read->handler(pc->read);
}


static void
ngx_http_helicone_attempt_cleanup(void *data)
{
    ngx_http_helicone_ctx_t *ctx = data;

    if (ctx->attempts.timer.timer_set) {
        ngx_del_timer(&ctx->attempts.timer);
    }
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

    ctx->attempts.running = 0;
    ctx->attempts.sr = NULL;
    a->end = ngx_current_msec;

    if (ctx->attempts.timer.timer_set) {
        ngx_del_timer(&ctx->attempts.timer);
    }

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
            ctx->attempts.truncated = 1;

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

    ngx_log_error(NGX_LOG_WARN, sr->connection->log, 0,
                  "helicone attempt: \"%V\" failed (%s, status %ui)",
                  &a->target->url, a->error, a->status);

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

    /* a translated stream that lost an event it could not take whole */
    if (ctx->relay.sse_overflow) {
        return 1;
    }

    /* a stream that ended on a close: complete only with its "[DONE]" */
    if (ctx->relay.event_stream && !ctx->relay.sse_done && u
        && u->length == -1)
    {
        return 1;
    }

    return 0;
}


ngx_msec_t
ngx_http_helicone_attempt_time_left(ngx_http_helicone_ctx_t *ctx,
    ngx_msec_t limit)
{
    ngx_msec_int_t  left;

    if (ctx->attempts.deadline == 0) {
        return limit;
    }

    /* signed: a deadline already passed is 0 left, not an unsigned wrap */
    left = (ngx_msec_int_t) (ctx->attempts.deadline - ngx_current_msec);

    return ngx_min(limit, (ngx_msec_t) ngx_max(left, 0));
}
