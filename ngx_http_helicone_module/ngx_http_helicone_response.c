/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Watches the relayed response without holding it back: SSE events as
 * they pass, usage and model, and a capped copy for the log event.
 */

#include "ngx_http_helicone_module.h"


/* one SSE event's data; a usage chunk is far smaller */
#define NGX_HTTP_HELICONE_SSE_EVENT_MAX  (16 * 1024)


static int ngx_http_helicone_response_event(void *data,
    const helicone_sse_event_t *ev);
static void ngx_http_helicone_response_json(ngx_http_helicone_ctx_t *ctx,
    const u_char *p, size_t len);
static void ngx_http_helicone_response_capture(ngx_http_helicone_ctx_t *ctx,
    u_char *p, size_t len);


ngx_int_t
ngx_http_helicone_response_start(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    u_char                        *buf;
    size_t                         cap;
    ngx_str_t                     *type;
    ngx_http_helicone_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);

    type = &r->headers_out.content_type;

    ctx->event_stream = (type->len >= 17
                && ngx_strncasecmp(type->data, (u_char *) "text/event-stream",
                                   17) == 0);

    if (ctx->event_stream) {
        buf = ngx_palloc(r->pool, NGX_HTTP_HELICONE_SSE_EVENT_MAX);
        if (buf == NULL) {
            return NGX_ERROR;
        }

        helicone_sse_init(&ctx->sse, buf, NGX_HTTP_HELICONE_SSE_EVENT_MAX);

        /* a stream is kept only for the log */
        cap = hlcf->log_body_max;

    } else {
        /* a JSON body is kept whole, up to a limit, to read its usage */
        cap = ngx_max(hlcf->log_body_max, hlcf->response_buffer);

        if (r->headers_out.content_length_n >= 0
            && (size_t) r->headers_out.content_length_n < cap)
        {
            cap = (size_t) r->headers_out.content_length_n;
        }
    }

    ctx->capture_cap = cap;

    return NGX_OK;
}


void
ngx_http_helicone_response_observe(ngx_http_helicone_ctx_t *ctx, u_char *p,
    size_t len)
{
    ctx->response_bytes += len;
    ctx->response_chunks++;

    ngx_http_helicone_response_capture(ctx, p, len);

    if (ctx->event_stream) {
        (void) helicone_sse_feed(&ctx->sse, p, len,
                                 ngx_http_helicone_response_event, ctx);
    }
}


static void
ngx_http_helicone_response_capture(ngx_http_helicone_ctx_t *ctx, u_char *p,
    size_t len)
{
    u_char  *buf;
    size_t   n, size;

    if (ctx->capture_len + len > ctx->capture_cap) {
        ctx->capture_overflow = 1;
        len = ctx->capture_cap - ctx->capture_len;
    }

    if (len == 0) {
        return;
    }

    if (ctx->capture == NULL || ctx->capture_len + len > ctx->capture_size) {
        /* grow by doubling: the final size is seldom known up front */
        size = ngx_max(ctx->capture_size * 2, 4096);
        size = ngx_max(size, ctx->capture_len + len);
        size = ngx_min(size, ctx->capture_cap);

        buf = ngx_pnalloc(ctx->request->pool, size);
        if (buf == NULL) {
            ctx->capture_overflow = 1;
            return;
        }

        if (ctx->capture_len) {
            ngx_memcpy(buf, ctx->capture, ctx->capture_len);
        }

        ctx->capture = buf;
        ctx->capture_size = size;
    }

    n = len;
    ngx_memcpy(ctx->capture + ctx->capture_len, p, n);
    ctx->capture_len += n;
}


/* The response ended: a JSON body is read now, once, for usage. */

void
ngx_http_helicone_response_end(ngx_http_helicone_ctx_t *ctx)
{
    if (ctx->event_stream || ctx->capture_overflow || ctx->capture_len == 0) {
        return;
    }

    ngx_http_helicone_response_json(ctx, ctx->capture, ctx->capture_len);
}


static int
ngx_http_helicone_response_event(void *data, const helicone_sse_event_t *ev)
{
    ngx_http_helicone_ctx_t *ctx = data;

    if (ev->data.len == 6 && ngx_strncmp(ev->data.data, "[DONE]", 6) == 0) {
        ctx->sse_done = 1;
        return 0;
    }

    if (ev->truncated) {
        return 0;
    }

    /* most chunks carry neither; skip the JSON scan for those */
    if (ctx->served_model.len == 0
        || ngx_strnstr((u_char *) ev->data.data, "\"usage\"", ev->data.len))
    {
        ngx_http_helicone_response_json(ctx, ev->data.data, ev->data.len);
    }

    return 0;
}


static void
ngx_http_helicone_response_json(ngx_http_helicone_ctx_t *ctx,
    const u_char *p, size_t len)
{
    size_t                 n;
    helicone_json_value_t  doc, v;

    if (helicone_json_parse(p, len, &doc) != HELICONE_OK
        || doc.type != HELICONE_JSON_OBJECT)
    {
        return;
    }

    (void) helicone_usage_from_openai(&doc, &ctx->usage);

    if (ctx->served_model.len == 0
        && helicone_json_object_get(&doc, "model", 5, &v) == HELICONE_OK
        && v.type == HELICONE_JSON_STRING)
    {
        ctx->served_model.data = ngx_pnalloc(ctx->request->pool, v.len);
        if (ctx->served_model.data == NULL) {
            return;
        }

        n = helicone_json_string_decode(&v, ctx->served_model.data);
        ctx->served_model.len = (n == (size_t) -1) ? 0 : n;
    }
}
