/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The relayed response, as it passes: usage and model read from it, a
 * capped copy kept for the log event, and where the client asked for
 * something else than the provider speaks, the transformation: our own
 * usage chunk cut out of an OpenAI stream, or an Anthropic response made
 * an OpenAI one. Nothing waits for the end but a translated JSON body.
 */

#include "ngx_http_helicone_module.h"


/* one SSE event's data; a usage chunk is far smaller */
#define NGX_HTTP_HELICONE_SSE_EVENT_MAX  (16 * 1024)

/* a translated event's output buffer doubles at most this often */
#define NGX_HTTP_HELICONE_TRANSLATE_TRIES  16

/* an open event held back while cutting is passed on beyond this */
#define NGX_HTTP_HELICONE_PENDING_MAX    (64 * 1024)


/*
 * The members response_json() picks from an OpenAI body or chunk; those
 * before choices are checked, choices (the bulk) only spanned.
 */
enum {
    ngx_http_helicone_chunk_usage = 0,
    ngx_http_helicone_chunk_model,
    ngx_http_helicone_chunk_groq,
    ngx_http_helicone_chunk_error,
    ngx_http_helicone_chunk_choices,
    ngx_http_helicone_chunk_n
};


static int ngx_http_helicone_response_event(void *data,
    const helicone_sse_event_t *ev);
static ngx_uint_t ngx_http_helicone_response_chunk(
    ngx_http_helicone_ctx_t *ctx, const helicone_sse_event_t *ev);
static void ngx_http_helicone_response_api_event(ngx_http_helicone_ctx_t *ctx,
    const helicone_sse_event_t *ev, ngx_http_helicone_api_event_pt read);
static void ngx_http_helicone_response_model(ngx_http_helicone_ctx_t *ctx,
    helicone_json_value_t *v);
static unsigned char *ngx_http_helicone_response_grow(void *pool,
    size_t size);
static u_char *ngx_http_helicone_response_larger(ngx_pool_t *pool,
    u_char *data, size_t len, size_t size);
static ngx_uint_t ngx_http_helicone_response_json(
    ngx_http_helicone_ctx_t *ctx, const u_char *p, size_t len);
static void ngx_http_helicone_response_capture(ngx_http_helicone_ctx_t *ctx,
    u_char *p, size_t len);
static ngx_int_t ngx_http_helicone_response_strip(ngx_http_helicone_ctx_t *ctx,
    const helicone_sse_event_t *ev, ngx_uint_t usage_only);
static ngx_int_t ngx_http_helicone_response_cut(ngx_http_helicone_ctx_t *ctx,
    const u_char *p, size_t len);
static ngx_int_t ngx_http_helicone_response_release(
    ngx_http_helicone_ctx_t *ctx, const u_char *p, size_t len);
static ngx_int_t ngx_http_helicone_response_finish_json(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
static ngx_int_t ngx_http_helicone_out_reserve(ngx_http_helicone_ctx_t *ctx,
    size_t size);
static ngx_int_t ngx_http_helicone_out_chain(ngx_http_helicone_ctx_t *ctx,
    ngx_chain_t ***ll);


/*
 * Decides how the response of target t reaches the client, from what the
 * provider answered (r->headers_out is its copy already).
 */

ngx_int_t
ngx_http_helicone_response_start(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_target_t *t)
{
    u_char                        *buf;
    size_t                         cap;
    ngx_str_t                     *type;
    ngx_http_helicone_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);

    type = &r->headers_out.content_type;

    ctx->relay.event_stream = (type->len >= 17
                         && helicone_caseless_eq(type->data,
                                            (u_char *) "text/event-stream",
                                            17));

    ctx->relay.dialect = t->provider ? t->provider->dialect
                               : &ngx_http_helicone_dialect_openai;

    if (t->translated) {
        ctx->relay.mode = ctx->relay.event_stream
                          ? NGX_HTTP_HELICONE_RESPONSE_STREAM
                          : NGX_HTTP_HELICONE_RESPONSE_JSON;
        ctx->relay.translator =
                      ctx->api->translate[ctx->relay.dialect->translator];

    } else if ((t->usage_injected || ctx->asked.force_format)
               && ctx->relay.event_stream)
    {
        /* our usage chunk cut, or (Helicone-Stream-Force-Format) whole
         * events only: strip mode sends a piece only at event ends */
        ctx->relay.mode = NGX_HTTP_HELICONE_RESPONSE_STRIP;
        ctx->relay.cut_usage = t->usage_injected;

    } else {
        ctx->relay.mode = NGX_HTTP_HELICONE_RESPONSE_PASS;
    }

    if (ctx->relay.event_stream) {
        buf = ngx_palloc(r->pool, NGX_HTTP_HELICONE_SSE_EVENT_MAX);
        if (buf == NULL) {
            return NGX_ERROR;
        }

        helicone_sse_init(&ctx->relay.sse, buf,
                          NGX_HTTP_HELICONE_SSE_EVENT_MAX);

        /* a stream is kept only for the log */
        cap = hlcf->log_body_max;

    } else {
        /* a JSON body is kept whole, up to a limit, to read its usage */
        cap = ngx_max(hlcf->log_body_max, hlcf->response_buffer);

        if (ctx->relay.mode == NGX_HTTP_HELICONE_RESPONSE_PASS
            && r->headers_out.content_length_n >= 0
            && (size_t) r->headers_out.content_length_n < cap)
        {
            cap = (size_t) r->headers_out.content_length_n;
        }
    }

    if (ctx->cache.save) {
        /* the cache keeps the whole response: capture all of it */
        cap = ngx_max(cap, hlcf->cache_max_entry + 1);
    }

    ctx->relay.capture_cap = cap;

    switch (ctx->relay.mode) {

    case NGX_HTTP_HELICONE_RESPONSE_PASS:
        return NGX_OK;

    case NGX_HTTP_HELICONE_RESPONSE_STREAM:
        /* the API's translator from the dialect: chat chunks, Responses
         * events */
        ctx->relay.translate = ctx->relay.translator->stream(r, ctx,
                                                 hlcf->response_buffer);
        if (ctx->relay.translate == NULL) {
            return NGX_ERROR;
        }

        /* an event is translated whole: it may be as large as a body */
        helicone_sse_set_grow(&ctx->relay.sse, ngx_http_helicone_response_grow,
                              r->pool, hlcf->response_buffer);

        ngx_str_set(&r->headers_out.content_type, "text/event-stream");
        r->headers_out.content_type_len = r->headers_out.content_type.len;
        r->headers_out.content_type_lowcase = NULL;
        ngx_str_null(&r->headers_out.charset);
        break;

    case NGX_HTTP_HELICONE_RESPONSE_JSON:
        /* the headers go with the translated body, once it is known */
        ctx->relay.header_deferred = 1;
        break;

    default: /* NGX_HTTP_HELICONE_RESPONSE_STRIP */
        break;
    }

    ngx_http_clear_content_length(r);
    ngx_http_clear_accept_ranges(r);
    ngx_http_clear_etag(r);

    return NGX_OK;
}


/* PASS: the bytes go on as they are; this only reads them. */

void
ngx_http_helicone_response_observe(ngx_http_helicone_ctx_t *ctx, u_char *p,
    size_t len)
{
    ctx->response_bytes += len;
    ctx->relay.chunks++;

    ngx_http_helicone_response_capture(ctx, p, len);

    if (ctx->relay.event_stream) {
        (void) helicone_sse_feed(&ctx->relay.sse, p, len,
                                 ngx_http_helicone_response_event, ctx);
    }
}


/*
 * Every mode but PASS: the subrequest's bufs are consumed and *out gets
 * what the client is sent instead, in buffers recycled through
 * ctx->relay.free (the caller updates the chains once sent).
 */

ngx_int_t
ngx_http_helicone_response_transform(ngx_http_request_t *sr,
    ngx_http_helicone_ctx_t *ctx, ngx_chain_t *in, ngx_chain_t **out)
{
    size_t         len;
    ngx_int_t      rc;
    ngx_buf_t     *b, *special;
    ngx_uint_t     last, flush, first;
    ngx_chain_t   *cl, **ll, **hl;

    *out = NULL;
    ll = out;
    last = 0;
    flush = 0;

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        last |= b->last_buf | b->last_in_chain;
        flush |= b->flush;

        if (!ngx_buf_in_memory(b) || b->last == b->pos) {
            continue;
        }

        len = b->last - b->pos;

        ctx->relay.chunks++;

        switch (ctx->relay.mode) {

        case NGX_HTTP_HELICONE_RESPONSE_JSON:
            ngx_http_helicone_response_capture(ctx, b->pos, len);
            break;

        default: /* STRIP, STREAM: event by event */
            if (ngx_http_helicone_out_reserve(ctx, 2 * len + 4096)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            ctx->relay.feed = b->pos;
            ctx->relay.feed_start = 0;

            (void) helicone_sse_feed(&ctx->relay.sse, b->pos, len,
                                     ngx_http_helicone_response_event, ctx);

            if (ctx->relay.mode == NGX_HTTP_HELICONE_RESPONSE_STRIP) {
                /*
                 * Between events (after comments, keep-alives) nothing
                 * here can be our usage chunk: it goes out now; else the
                 * bytes of the event begun wait for its end.
                 */
                rc = helicone_sse_idle(&ctx->relay.sse)
                     ? ngx_http_helicone_response_release(ctx,
                                     b->pos + ctx->relay.feed_start,
                                     len - ctx->relay.feed_start)
                     : ngx_http_helicone_response_cut(ctx,
                                     b->pos + ctx->relay.feed_start,
                                     len - ctx->relay.feed_start);

                if (rc != NGX_OK) {
                    return NGX_ERROR;
                }
            }

            ctx->relay.feed = NULL;
        }

        b->pos = b->last;
    }

    if (last && ctx->relay.mode == NGX_HTTP_HELICONE_RESPONSE_JSON) {
        if (ngx_http_helicone_response_finish_json(ctx->request, ctx)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (last && ctx->relay.pending_len
        && ngx_http_helicone_response_release(ctx, NULL, 0) != NGX_OK)
    {
        /* STRIP: a last event without its blank line is never complete,
         * and is not ours to cut: the client gets the bytes as sent */
        return NGX_ERROR;
    }

    if (ctx->relay.out.pos > ctx->relay.out.start) {
        first = (ctx->response_bytes == 0);

        ngx_http_helicone_response_capture(ctx, ctx->relay.out.start,
                                           ctx->relay.out.pos
                                           - ctx->relay.out.start);
        ctx->response_bytes += ctx->relay.out.pos - ctx->relay.out.start;

        if (ngx_http_helicone_out_chain(ctx, &ll) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ctx->relay.held
            || (first && sr->upstream && sr->upstream->length == 0))
        {
            /*
             * The whole response came in one piece, and nothing more can
             * come: it waits for the end of the client's response, a few
             * calls away, so that both go out in one write (one segment,
             * one wake-up of the client) instead of two. Bytes made after
             * that (an unfinished last event) wait behind it.
             */
            for (hl = &ctx->relay.held; *hl; hl = &(*hl)->next) { /* void */ }

            *hl = *out;
            *out = NULL;
            ll = out;
        }
    }

    /* while bytes are held no flush goes out: the header, still in the
     * write filter, leaves with them */

    if (last || (flush && *out == NULL && ctx->relay.held == NULL)) {
        special = ngx_calloc_buf(sr->pool);
        cl = ngx_alloc_chain_link(sr->pool);
        if (special == NULL || cl == NULL) {
            return NGX_ERROR;
        }

        /* a subrequest ends its part with last_in_chain, never last_buf */
        special->last_in_chain = last;
        special->sync = last;
        special->flush = !last;

        cl->buf = special;
        cl->next = NULL;
        *ll = cl;
    }

    return NGX_OK;
}


/*
 * The end of the client's response: the bytes held by transform(), if
 * any, with the last buffer flag, or the flag alone.
 */

ngx_int_t
ngx_http_helicone_response_last(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    ngx_int_t     rc;
    ngx_chain_t  *cl, *held;

    held = ctx->relay.held;

    if (held == NULL) {
        return ngx_http_send_special(r, NGX_HTTP_LAST);
    }

    ctx->relay.held = NULL;

    for (cl = held; cl->next; cl = cl->next) { /* void */ }

    cl->buf->last_buf = 1;
    cl->buf->last_in_chain = 1;

    rc = ngx_http_output_filter(r, held);

    if (rc == NGX_ERROR || r->connection->error) {
        /* the client went away before it got the response: logged as
         * aborted, and not cached, as if it had gone during the attempt */
        ctx->done = 0;
    }

    return rc;
}


/*
 * The bytes produced so far go out in the buffer they were made in;
 * ctx->relay.out takes over the memory of a buffer already sent (recycled),
 * or gets new memory at its next reserve.
 */

static ngx_int_t
ngx_http_helicone_out_chain(ngx_http_helicone_ctx_t *ctx, ngx_chain_t ***ll)
{
    u_char       *start, *end;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    cl = ngx_chain_get_free_buf(ctx->request->pool, &ctx->relay.free);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    b = cl->buf;

    start = b->start;
    end = b->end;

    b->start = ctx->relay.out.start;
    b->end = ctx->relay.out.end;
    b->pos = ctx->relay.out.start;
    b->last = ctx->relay.out.pos;
    b->temporary = 1;
    b->flush = 1;
    b->tag = (ngx_buf_tag_t) &ngx_http_helicone_module;

    helicone_buf_init(&ctx->relay.out, start,
                      start ? (size_t) (end - start) : 0);

    **ll = cl;
    *ll = &cl->next;

    return NGX_OK;
}


/* Room for size more bytes in ctx->relay.out, keeping what is there. */

static ngx_int_t
ngx_http_helicone_out_reserve(ngx_http_helicone_ctx_t *ctx, size_t size)
{
    u_char  *p;
    size_t   used, total;

    used = ctx->relay.out.pos - ctx->relay.out.start;

    if (ctx->relay.out.start
        && (size_t) (ctx->relay.out.end - ctx->relay.out.pos) >= size)
    {
        return NGX_OK;
    }

    total = ngx_max(used + size,
                    2 * (size_t) (ctx->relay.out.end - ctx->relay.out.start));

    p = ngx_palloc(ctx->request->pool, total);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (used) {
        ngx_memcpy(p, ctx->relay.out.start, used);
    }

    helicone_buf_init(&ctx->relay.out, p, total);
    ctx->relay.out.pos = p + used;

    return NGX_OK;
}


/* Bytes after the last complete event: held until their event ends. */

static ngx_int_t
ngx_http_helicone_response_cut(ngx_http_helicone_ctx_t *ctx, const u_char *p,
    size_t len)
{
    u_char  *buf;
    size_t   size;

    if (len == 0) {
        return NGX_OK;
    }

    if (ctx->relay.pending_len + len > NGX_HTTP_HELICONE_PENDING_MAX) {
        /* too large to be our usage chunk: let it through now */
        return ngx_http_helicone_response_release(ctx, p, len);
    }

    if (ctx->relay.pending_len + len > ctx->relay.pending_size) {
        size = ngx_max(2 * ctx->relay.pending_size,
                       ctx->relay.pending_len + len);
        size = ngx_max(size, 1024);

        buf = ngx_http_helicone_response_larger(ctx->request->pool,
                                                ctx->relay.pending,
                                                ctx->relay.pending_len, size);
        if (buf == NULL) {
            return NGX_ERROR;
        }

        ctx->relay.pending = buf;
        ctx->relay.pending_size = size;
    }

    ngx_memcpy(ctx->relay.pending + ctx->relay.pending_len, p, len);
    ctx->relay.pending_len += len;

    return NGX_OK;
}


/*
 * STRIP: an event ended at ev->end of the current feed. Its raw bytes
 * (held ones first) go out, unless it is the usage chunk we asked for
 * (usage_only, as response_json() read it).
 */

static ngx_int_t
ngx_http_helicone_response_strip(ngx_http_helicone_ctx_t *ctx,
    const helicone_sse_event_t *ev, ngx_uint_t usage_only)
{
    size_t         len;
    const u_char  *p;

    p = ctx->relay.feed + ctx->relay.feed_start;
    len = ev->end - ctx->relay.feed_start;
    ctx->relay.feed_start = ev->end;

    if (usage_only) {
        /* the client did not ask for it: as if it never came */
        ctx->relay.pending_len = 0;
        return NGX_OK;
    }

    return ngx_http_helicone_response_release(ctx, p, len);
}


/* STRIP: the bytes held back, then len more at p, go out. */

static ngx_int_t
ngx_http_helicone_response_release(ngx_http_helicone_ctx_t *ctx,
    const u_char *p, size_t len)
{
    if (ngx_http_helicone_out_reserve(ctx, ctx->relay.pending_len + len)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    helicone_buf_add(&ctx->relay.out, ctx->relay.pending,
                     ctx->relay.pending_len);
    helicone_buf_add(&ctx->relay.out, p, len);
    ctx->relay.pending_len = 0;

    return NGX_OK;
}


static int
ngx_http_helicone_response_event(void *data, const helicone_sse_event_t *ev)
{
    ngx_http_helicone_ctx_t *ctx = data;

    size_t      size;
    ngx_uint_t  usage_only, tries;

    if (ctx->relay.mode == NGX_HTTP_HELICONE_RESPONSE_STREAM) {
        if (ctx->relay.sse_overflow) {
            return 0;
        }

        if (ev->truncated) {
            /* its content cannot be translated, and the client must not
             * get the stream without it: it ends here, cut */
            ctx->relay.sse_overflow = 1;

            ngx_log_error(NGX_LOG_ERR, ctx->request->connection->log, 0,
                          "helicone: an event of the provider's stream is "
                          "larger than helicone_response_buffer and cannot "
                          "be translated");
            return 0;
        }

        size = 2 * ev->data.len + 4096;

        for (tries = 0; tries < NGX_HTTP_HELICONE_TRANSLATE_TRIES; tries++) {
            if (ngx_http_helicone_out_reserve(ctx, size) != NGX_OK) {
                return 0;
            }

            if (ctx->relay.translator->event(ctx->relay.translate, ev,
                                             &ctx->relay.out)
                != HELICONE_ERROR)
            {
                break;
            }

            /* an event that ends a response may carry all of it: more */
            ctx->relay.out.overflow = 0;
            size = 2 * (size_t) (ctx->relay.out.end - ctx->relay.out.start);
        }

        if (tries == NGX_HTTP_HELICONE_TRANSLATE_TRIES) {
            /* the translators' bounds say this cannot be */
            ctx->relay.sse_overflow = 1;

            ngx_log_error(NGX_LOG_ALERT, ctx->request->connection->log, 0,
                          "helicone: a translated event did not fit %uz "
                          "bytes", size);
            return 0;
        }

        if (ctx->relay.translate->stopped) {
            ctx->relay.sse_done = 1;
        }

        return 0;
    }

    /* PASS and STRIP: the event is read once, then relayed or cut */

    usage_only = 0;

    if (ev->data.len == 6 && ngx_strncmp(ev->data.data, "[DONE]", 6) == 0) {
        ctx->relay.sse_done = 1;

    } else if (!ev->truncated) {
        usage_only = ngx_http_helicone_response_chunk(ctx, ev);
    }

    if (ctx->relay.mode == NGX_HTTP_HELICONE_RESPONSE_STRIP) {
        (void) ngx_http_helicone_response_strip(ctx, ev, usage_only
                                                     && ctx->relay.cut_usage);
    }

    return 0;
}


/*
 * What a complete event of a relayed stream tells: usage, the served
 * model, the end. Returns 1 for a chunk of usage alone (a "usage" object
 * and no choices), the one a STRIP stream cuts.
 */

static ngx_uint_t
ngx_http_helicone_response_chunk(ngx_http_helicone_ctx_t *ctx,
    const helicone_sse_event_t *ev)
{
    ngx_http_helicone_api_event_pt  read;

    /* the members worth a parse of a chat chunk: one pass finds either */
    static const helicone_str_t  wanted[] = {
        helicone_string("usage"), helicone_string("error")
    };

    /* a dialect's own stream (a client speaking Messages to Anthropic),
     * else an API's whose events are not chat chunks (Responses) */
    read = ctx->relay.dialect->read_event;

    if (read == NULL && ctx->api) {
        read = ctx->api->read_event;
    }

    if (read) {
        ngx_http_helicone_response_api_event(ctx, ev, read);
        return 0;
    }

    /*
     * The model from the first chunk; then only the chunks that matter:
     * usage (not the "usage": null of every chunk) or an error.
     */
    if (ctx->relay.served_model.len == 0
        || helicone_json_may_have_any(ev->data.data, ev->data.len, wanted,
                                      sizeof(wanted) / sizeof(wanted[0])))
    {
        return ngx_http_helicone_response_json(ctx, ev->data.data,
                                               ev->data.len);
    }

    return 0;
}


/*
 * An event that is not a chat chunk (Responses, Messages), told by its
 * reader: the end, usage, model.
 */

static void
ngx_http_helicone_response_api_event(ngx_http_helicone_ctx_t *ctx,
    const helicone_sse_event_t *ev, ngx_http_helicone_api_event_pt read)
{
    unsigned               said;
    helicone_json_value_t  doc, model;

    if (helicone_json_parse(ev->data.data, ev->data.len, &doc) != HELICONE_OK
        || doc.type != HELICONE_JSON_OBJECT)
    {
        return;
    }

    said = read(&doc, &ctx->relay.usage, &model);

    if (said & HELICONE_EVENT_END) {
        ctx->relay.sse_done = 1;
    }

    if (said & HELICONE_EVENT_ERROR) {
        ctx->relay.provider_error = 1;
    }

    ngx_http_helicone_response_model(ctx, &model);
}


/* The model the response names, the first time one is named. */

static void
ngx_http_helicone_response_model(ngx_http_helicone_ctx_t *ctx,
    helicone_json_value_t *v)
{
    size_t  n;

    if (ctx->relay.served_model.len || v->type != HELICONE_JSON_STRING) {
        return;
    }

    ctx->relay.served_model.data = ngx_pnalloc(ctx->request->pool, v->len);
    if (ctx->relay.served_model.data == NULL) {
        return;
    }

    n = helicone_json_string_decode(v, ctx->relay.served_model.data);
    ctx->relay.served_model.len = (n == (size_t) -1) ? 0 : n;
}


/* a larger SSE buffer for a translated stream's event */

static unsigned char *
ngx_http_helicone_response_grow(void *pool, size_t size)
{
    return ngx_pnalloc(pool, size);
}


/*
 * The len bytes at data copied to the start of a new pool buffer of size
 * bytes: the strip mode's pending event and the capture grow through it,
 * each by its own rule for size. NULL: no memory, data is left as it is.
 */

static u_char *
ngx_http_helicone_response_larger(ngx_pool_t *pool, u_char *data,
    size_t len, size_t size)
{
    u_char  *buf;

    buf = ngx_pnalloc(pool, size);

    if (buf != NULL && len) {
        ngx_memcpy(buf, data, len);
    }

    return buf;
}


static void
ngx_http_helicone_response_capture(ngx_http_helicone_ctx_t *ctx, u_char *p,
    size_t len)
{
    u_char  *buf;
    size_t   size;

    if (ctx->relay.capture_len + len > ctx->relay.capture_cap) {
        ctx->relay.capture_overflow = 1;
        len = ctx->relay.capture_cap - ctx->relay.capture_len;
    }

    if (len == 0) {
        return;
    }

    if (ctx->relay.capture == NULL
        || ctx->relay.capture_len + len > ctx->relay.capture_size)
    {
        /*
         * Grow by doubling, and by four pieces like this one at least:
         * the final size is seldom known up front, and a stream's reads
         * are alike, so that one of 16k reads takes a 64k capture at
         * once instead of copying 48k on the way up.
         */
        size = ngx_max(ctx->relay.capture_size * 2, 4096);
        size = ngx_max(size, ctx->relay.capture_len + 4 * len);
        size = ngx_min(size, ctx->relay.capture_cap);

        buf = ngx_http_helicone_response_larger(ctx->request->pool,
                                                ctx->relay.capture,
                                                ctx->relay.capture_len, size);
        if (buf == NULL) {
            ctx->relay.capture_overflow = 1;
            return;
        }

        ctx->relay.capture = buf;
        ctx->relay.capture_size = size;
    }

    ngx_memcpy(ctx->relay.capture + ctx->relay.capture_len, p, len);
    ctx->relay.capture_len += len;
}


/* The response ended: a JSON body is read now, once, for usage. */

void
ngx_http_helicone_response_end(ngx_http_helicone_ctx_t *ctx)
{
    if (ctx->relay.mode == NGX_HTTP_HELICONE_RESPONSE_STREAM
        && ctx->relay.translate)
    {
        ctx->relay.usage = ctx->relay.translate->usage;

        if (ctx->relay.translate->failed) {
            ctx->relay.provider_error = 1;
        }

        if (ctx->relay.served_model.len == 0
            && ctx->relay.translate->model_len)
        {
            ctx->relay.served_model.data = ctx->relay.translate->model;
            ctx->relay.served_model.len = ctx->relay.translate->model_len;
        }

        return;
    }

    if (ctx->relay.event_stream
        || ctx->relay.mode == NGX_HTTP_HELICONE_RESPONSE_JSON
        || ctx->relay.capture_overflow || ctx->relay.capture_len == 0)
    {
        return;
    }

    (void) ngx_http_helicone_response_json(ctx, ctx->relay.capture,
                                           ctx->relay.capture_len);
}


/*
 * JSON: the whole Anthropic body is in ctx->relay.capture; the client gets an
 * OpenAI chat.completion, or an OpenAI error for an Anthropic error.
 */

static ngx_int_t
ngx_http_helicone_response_finish_json(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    int                    rc;
    size_t                 size;
    ngx_str_t              msg, body;
    helicone_json_value_t  doc, v;

    size = 2 * ctx->relay.capture_len + 4096;

    if (ngx_http_helicone_out_reserve(ctx, size) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->relay.capture_overflow) {
        r->headers_out.status = NGX_HTTP_BAD_GATEWAY;
        ngx_str_set(&msg, "the provider's response is larger than "
                          "helicone_response_buffer and cannot be translated");

        if (ngx_http_helicone_error_json(r, "server_error",
                                         "response_too_large", &msg, &body)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        helicone_buf_add(&ctx->relay.out, body.data, body.len);

    } else if (r->headers_out.status >= NGX_HTTP_BAD_REQUEST) {
        rc = ctx->relay.dialect->error(ctx->relay.capture,
                                       ctx->relay.capture_len,
                                       &ctx->relay.out);
        if (rc != HELICONE_OK) {
            return NGX_ERROR;
        }

    } else {
        rc = HELICONE_DECLINED;

        if (helicone_json_parse(ctx->relay.capture, ctx->relay.capture_len,
                                &doc)
            == HELICONE_OK)
        {
            rc = ctx->relay.translator->response(&doc, ngx_time(),
                                                 &ctx->relay.out,
                                                 &ctx->relay.usage);

            if (rc == HELICONE_OK
                && helicone_json_object_get(&doc, "model", 5, &v)
                   == HELICONE_OK)
            {
                ngx_http_helicone_response_model(ctx, &v);
            }
        }

        if (rc == HELICONE_ERROR) {
            return NGX_ERROR;
        }

        if (rc == HELICONE_DECLINED) {
            /* not a message: the client gets what the provider sent */
            helicone_buf_add(&ctx->relay.out, ctx->relay.capture,
                             ctx->relay.capture_len);
        }
    }

    if (ctx->relay.out.overflow) {
        return NGX_ERROR;
    }

    /* the log keeps what the client got */
    ctx->relay.capture_len = 0;
    ctx->relay.capture_overflow = 0;
    ctx->relay.capture_cap = ngx_max(ctx->relay.capture_cap,
                                     (size_t) (ctx->relay.out.pos
                                               - ctx->relay.out.start));

    r->headers_out.content_length_n = ctx->relay.out.pos - ctx->relay.out.start;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;
    ngx_str_null(&r->headers_out.charset);

    ctx->relay.header_deferred = 0;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Usage and the served model from a JSON response or chunk. Returns 1
 * for an OpenAI chunk of usage alone: a "usage" object and "choices": []
 * (what the provider sends last when asked for usage).
 */

static ngx_uint_t
ngx_http_helicone_response_json(ngx_http_helicone_ctx_t *ctx,
    const u_char *p, size_t len)
{
    ngx_uint_t             usage_only;
    helicone_json_value_t  doc, v, m[ngx_http_helicone_chunk_n];

    /*
     * The client gets the body as it is: only the members read here are
     * checked, the rest ("choices" can be large) skipped by its quotes
     * and brackets (helicone_json_pick_members())
     */
    static const helicone_str_t  names[ngx_http_helicone_chunk_n] = {
        helicone_string("usage"), helicone_string("model"),
        helicone_string("x_groq"), helicone_string("error"),
        helicone_string("choices")
    };

    usage_only = 0;

    if (ctx->relay.dialect->usage) {
        /* a body of the dialect's own shape (Messages): its reader */
        if (helicone_json_parse(p, len, &doc) != HELICONE_OK
            || doc.type != HELICONE_JSON_OBJECT)
        {
            return 0;
        }

        (void) ctx->relay.dialect->usage(&doc, &ctx->relay.usage);

        if (helicone_json_object_get(&doc, "model", 5, &v) != HELICONE_OK) {
            v.type = HELICONE_JSON_INVALID;
        }

    } else {
        if (helicone_json_pick_members(p, len, &doc, names,
                                       ngx_http_helicone_chunk_n,
                                       ngx_http_helicone_chunk_choices, m)
            != HELICONE_OK)
        {
            return 0;
        }

        if (m[ngx_http_helicone_chunk_error].type == HELICONE_JSON_OBJECT) {
            /* a provider's error in a 200: a stream's mid-way error chunk */
            ctx->relay.provider_error = 1;
        }

        if (m[ngx_http_helicone_chunk_usage].type == HELICONE_JSON_OBJECT) {
            (void) helicone_usage_openai_object(
                       &m[ngx_http_helicone_chunk_usage], &ctx->relay.usage);

            v = m[ngx_http_helicone_chunk_choices];
            usage_only = (v.type == HELICONE_JSON_ARRAY && v.len == 2);

        } else if (m[ngx_http_helicone_chunk_groq].type
                   == HELICONE_JSON_OBJECT
                   && helicone_json_object_get(
                          &m[ngx_http_helicone_chunk_groq], "usage", 5, &v)
                      == HELICONE_OK)
        {
            /* Groq streams put it in "x_groq" */
            (void) helicone_usage_openai_object(&v, &ctx->relay.usage);
        }

        v = m[ngx_http_helicone_chunk_model];
    }

    ngx_http_helicone_response_model(ctx, &v);

    return usage_only;
}
