/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The log event: one JSON line per request, built in the log phase (which
 * runs once, client aborts included) into one buffer, then handed to the
 * sinks.
 */

#include "ngx_http_helicone_module.h"

#include <helicone_redact.h>



#define NGX_HTTP_HELICONE_EVENT_SCHEMA   1

/* status Helicone logs for a client that went away, and for a cut stream */
#define NGX_HTTP_HELICONE_STATUS_ABORTED    -3
#define NGX_HTTP_HELICONE_STATUS_TRUNCATED  -100

/*
 * The worker's event buffer: allocated at the first event and kept, grown
 * to the largest event up to this size; larger events take the request's
 * pool. The sinks copy a line before they return.
 */
#define NGX_HTTP_HELICONE_EVENT_BUF_MIN     16384
#define NGX_HTTP_HELICONE_EVENT_BUF_MAX     262144


typedef struct {
    u_char                        *pos;
    u_char                        *last;
} ngx_http_helicone_writer_t;


/*
 * The values of the target the event is about as written in its head
 * (quotes, escapes and redaction done): that target's attempts copy them
 * rather than escape them again. len 0: not written.
 */
typedef struct {
    ngx_http_helicone_target_t    *target;
    ngx_str_t                      provider;
    ngx_str_t                      model;
    ngx_str_t                      url;
} ngx_http_helicone_event_seen_t;


/*
 * The writers take a member's name as a literal: the macros turn it into
 * "name": and its length at compile time, so that the name's copy is a
 * few moves, not a strlen() and a memcpy() call.
 */
#define ngx_http_helicone_key(name)  "\"" name "\":", sizeof(name) + 2

#define ngx_http_helicone_w_raw(w, text)                                      \
    ngx_http_helicone_w_text(w, text, sizeof(text) - 1)
#define ngx_http_helicone_w_str(w, name, data, len)                           \
    ngx_http_helicone_w_str_key(w, ngx_http_helicone_key(name), data, len)
#define ngx_http_helicone_w_plain(w, name, data, len)                         \
    ngx_http_helicone_w_plain_key(w, ngx_http_helicone_key(name), data, len)
#define ngx_http_helicone_w_seen(w, start, name, value)                       \
    ngx_http_helicone_w_seen_key(w, start, sizeof(name) + 2, value)
#define ngx_http_helicone_w_copy(w, name, value)                              \
    ngx_http_helicone_w_copy_key(w, ngx_http_helicone_key(name), value)
#define ngx_http_helicone_w_opt_str(w, name, s)                               \
    ngx_http_helicone_w_opt_str_key(w, ngx_http_helicone_key(name), s)
#define ngx_http_helicone_w_int(w, name, n)                                   \
    ngx_http_helicone_w_int_key(w, ngx_http_helicone_key(name), n)
#define ngx_http_helicone_w_tokens(w, name, n)                                \
    ngx_http_helicone_w_tokens_key(w, ngx_http_helicone_key(name), n)
#define ngx_http_helicone_w_null(w, name)                                     \
    ngx_http_helicone_w_null_key(w, ngx_http_helicone_key(name))
#define ngx_http_helicone_w_bool(w, name, b)                                  \
    ngx_http_helicone_w_bool_key(w, ngx_http_helicone_key(name), b)
#define ngx_http_helicone_w_time(w, name, sec, msec)                          \
    ngx_http_helicone_w_time_key(w, ngx_http_helicone_key(name), sec, msec)
#define ngx_http_helicone_w_url(w, pool, name, url)                           \
    ngx_http_helicone_w_url_key(w, pool, ngx_http_helicone_key(name), url)


static u_char *ngx_http_helicone_event_buffer(ngx_pool_t *pool,
    size_t *size);
static size_t ngx_http_helicone_event_size(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_str_t *req_body, ngx_str_t *resp_body,
    ngx_str_t *url);
static void ngx_http_helicone_event_write(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_writer_t *w,
    ngx_str_t *req_body, ngx_str_t *resp_body, ngx_str_t *url);
static void ngx_http_helicone_event_attempts(ngx_http_helicone_ctx_t *ctx,
    ngx_http_helicone_writer_t *w, ngx_http_helicone_event_seen_t *seen);
static void ngx_http_helicone_event_tokenlimit(ngx_http_helicone_ctx_t *ctx,
    ngx_http_helicone_writer_t *w);
static ngx_inline void ngx_http_helicone_w_text(
    ngx_http_helicone_writer_t *w, const char *text, size_t len);
static ngx_inline ngx_uint_t ngx_http_helicone_w_key(
    ngx_http_helicone_writer_t *w, const char *key, size_t klen,
    size_t value);
static u_char *ngx_http_helicone_w_digits(u_char *p, uint64_t n,
    size_t width);
static u_char *ngx_http_helicone_w_decimal(u_char *p, uint64_t n);
static ngx_inline void ngx_http_helicone_w_plain_key(
    ngx_http_helicone_writer_t *w, const char *key, size_t klen,
    u_char *data, size_t len);
static ngx_inline void ngx_http_helicone_w_str_key(
    ngx_http_helicone_writer_t *w, const char *key, size_t klen,
    u_char *data, size_t len);
static ngx_inline void ngx_http_helicone_w_seen_key(
    ngx_http_helicone_writer_t *w, u_char *start, size_t klen,
    ngx_str_t *value);
static ngx_inline void ngx_http_helicone_w_copy_key(
    ngx_http_helicone_writer_t *w, const char *key, size_t klen,
    ngx_str_t *value);
static ngx_inline void ngx_http_helicone_w_opt_str_key(
    ngx_http_helicone_writer_t *w, const char *key, size_t klen,
    ngx_str_t *s);
static ngx_inline void ngx_http_helicone_w_int_key(
    ngx_http_helicone_writer_t *w, const char *key, size_t klen, int64_t n);
static ngx_inline void ngx_http_helicone_w_tokens_key(
    ngx_http_helicone_writer_t *w, const char *key, size_t klen, int64_t n);
static ngx_inline void ngx_http_helicone_w_null_key(
    ngx_http_helicone_writer_t *w, const char *key, size_t klen);
static ngx_inline void ngx_http_helicone_w_bool_key(
    ngx_http_helicone_writer_t *w, const char *key, size_t klen,
    ngx_uint_t b);
static void ngx_http_helicone_w_time_key(ngx_http_helicone_writer_t *w,
    const char *key, size_t klen, time_t sec, ngx_msec_t msec);
static size_t ngx_http_helicone_str_size(ngx_str_t *s);
static size_t ngx_http_helicone_url_size(ngx_str_t *url);
static void ngx_http_helicone_w_url_key(ngx_http_helicone_writer_t *w,
    ngx_pool_t *pool, const char *key, size_t klen, ngx_str_t *url);
static ngx_int_t ngx_http_helicone_event_url(ngx_http_request_t *r,
    ngx_str_t *url);


ngx_int_t
ngx_http_helicone_log_handler(ngx_http_request_t *r)
{
    u_char                        *line;
    size_t                         size;
    ngx_uint_t                     exact;
    ngx_str_t                      req_body, resp_body, url;
    ngx_http_helicone_ctx_t       *ctx;
    ngx_http_helicone_writer_t     w;
    ngx_http_helicone_loc_conf_t  *hlcf;

    if (r != r->main) {
        return NGX_OK;
    }

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);

    if (hlcf->pass == NGX_HTTP_HELICONE_PASS_OFF) {
        return NGX_OK;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_helicone_module);

    if (hlcf->logs == NULL) {
        /* no event, but the limits and the cache still learn the outcome */
        if (ctx && !ctx->logged) {
            ctx->logged = 1;
            ngx_http_helicone_metrics_record(r, ctx);
            ngx_http_helicone_ratelimit_commit(r, ctx);
            ngx_http_helicone_cache_save(r, ctx);
        }

        return NGX_OK;
    }

    if (ctx == NULL) {
        /* refused before our handler ran, say by client_max_body_size */
        ctx = ngx_http_helicone_create_ctx(r);
        if (ctx == NULL) {
            return NGX_ERROR;
        }
    }

    if (ctx->logged) {
        return NGX_OK;
    }

    ctx->logged = 1;
    ctx->end = ngx_current_msec;

    if (r->connection->error && !ctx->done && !ctx->own_response
        && !ctx->json_error)
    {
        ctx->aborted = 1;
    }

    ngx_http_helicone_metrics_record(r, ctx);
    ngx_http_helicone_ratelimit_commit(r, ctx);
    ngx_http_helicone_cache_save(r, ctx);

    req_body = ctx->body;
    req_body.len = ngx_min(req_body.len, hlcf->log_body_max);

    resp_body.data = ctx->relay.capture;
    resp_body.len = ngx_min(ctx->relay.capture_len, hlcf->log_body_max);

    if ((ctx->own_response && !ctx->cache.hit) || ctx->json_error) {
        resp_body = ctx->error_body;
    }

    if (hlcf->log_body_max == 0) {
        /* helicone_log_body_max 0: no bodies at all */
        ngx_str_null(&req_body);
        ngx_str_null(&resp_body);
    }

    if (ngx_http_helicone_event_url(r, &url) != NGX_OK) {
        return NGX_ERROR;
    }

    /*
     * Bodies are escaped once: half again their size and room for the
     * other members is enough for most events, which are written at once
     * into whatever the worker's buffer holds; the few that need more are
     * measured.
     */
    size = (req_body.len + resp_body.len) * 3 / 2 + 4096;

    for (exact = 0; exact < 2; exact++) {
        line = ngx_http_helicone_event_buffer(r->pool, &size);
        if (line == NULL) {
            return NGX_ERROR;
        }

        w.pos = line;
        w.last = line + size;

        ngx_http_helicone_event_write(r, ctx, &w, &req_body, &resp_body,
                                      &url);

        if (w.pos < w.last) {
            break;
        }

        size = ngx_http_helicone_event_size(r, ctx, &req_body, &resp_body,
                                            &url);
    }

    if (w.pos == w.last) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "helicone event: %uz bytes were not enough", size);
        return NGX_OK;
    }

    *w.pos++ = '\n';

    ngx_http_helicone_sink_write(hlcf->logs, r->connection->log, line,
                                 w.pos - line);

    return NGX_OK;
}


/*
 * Room for an event of *size bytes: the worker's buffer, grown when
 * needed, with *size set to all it holds; an event larger than
 * NGX_HTTP_HELICONE_EVENT_BUF_MAX gets the request's pool.
 */

static u_char *
ngx_http_helicone_event_buffer(ngx_pool_t *pool, size_t *size)
{
    size_t   want;
    u_char  *p;

    static u_char  *buf;
    static size_t   buf_size;

    if (*size <= buf_size) {
        *size = buf_size;
        return buf;
    }

    if (*size > NGX_HTTP_HELICONE_EVENT_BUF_MAX) {
        return ngx_pnalloc(pool, *size);
    }

    want = ngx_max(ngx_align(*size, 4096), NGX_HTTP_HELICONE_EVENT_BUF_MIN);

    p = ngx_alloc(want, pool->log);
    if (p == NULL) {
        return NULL;
    }

    if (buf) {
        ngx_free(buf);
    }

    buf = p;
    buf_size = want;

    *size = buf_size;

    return buf;
}


/*
 * the request's URL as the client addressed it: the Host header with its
 * port (headers_in.server has the name only)
 */

static ngx_int_t
ngx_http_helicone_event_url(ngx_http_request_t *r, ngx_str_t *url)
{
    u_char     *p;
    ngx_str_t  *host, localhost = ngx_string("localhost");

    host = r->headers_in.host ? &r->headers_in.host->value
           : r->headers_in.server.len ? &r->headers_in.server : &localhost;

    url->len = sizeof("https://") - 1 + host->len + r->unparsed_uri.len;
    url->data = ngx_pnalloc(r->pool, url->len);
    if (url->data == NULL) {
        return NGX_ERROR;
    }

#if (NGX_HTTP_SSL)
    p = ngx_cpymem(url->data, r->connection->ssl ? "https://" : "http://",
                   r->connection->ssl ? 8 : 7);
#else
    p = ngx_cpymem(url->data, "http://", 7);
#endif

    p = ngx_cpymem(p, host->data, host->len);
    p = ngx_cpymem(p, r->unparsed_uri.data, r->unparsed_uri.len);

    url->len = p - url->data;

    return NGX_OK;
}


/* the escaped size of a URL once redacted (helicone_url_redact()) */

static size_t
ngx_http_helicone_url_size(ngx_str_t *url)
{
    if (url->data == NULL) {
        return 0;
    }

    return ngx_http_helicone_str_size(url)
           + helicone_url_redact_size(url->data, url->len) - url->len;
}


static size_t
ngx_http_helicone_str_size(ngx_str_t *s)
{
    return s->data ? helicone_json_escape_len(s->data, s->len) : 0;
}


/*
 * An upper bound of the event's size: names, quotes and numbers fixed;
 * the bodies measured when given.
 */

static size_t
ngx_http_helicone_event_size(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_str_t *req_body, ngx_str_t *resp_body,
    ngx_str_t *url)
{
    size_t                        size;
    ngx_uint_t                    i;
    ngx_keyval_t                 *kv;
    ngx_http_helicone_attempt_t  *a;
    ngx_http_helicone_target_t   *t;

    size = 2048
           + ngx_http_helicone_str_size(&ctx->auth.org_id)
           + ngx_http_helicone_str_size(&ctx->user_id)
           + ngx_http_helicone_str_size(&ctx->model)
           + ngx_http_helicone_str_size(&ctx->relay.served_model)
           + ngx_http_helicone_str_size(&ctx->model_override)
           + ngx_http_helicone_str_size(&ctx->tokenlimit.model)
           + ngx_http_helicone_url_size(url)
           + (req_body ? ngx_http_helicone_str_size(req_body) : 0)
           + (resp_body ? ngx_http_helicone_str_size(resp_body) : 0);

    if (ctx->properties) {
        kv = ctx->properties->elts;

        for (i = 0; i < ctx->properties->nelts; i++) {
            size += 6 + ngx_http_helicone_str_size(&kv[i].key)
                    + ngx_http_helicone_str_size(&kv[i].value);
        }
    }

    a = ctx->attempts.list.elts;

    for (i = 0; i < ctx->attempts.list.nelts; i++) {
        t = a[i].target;

        /* twice: the target served also fills request-level fields */
        size += 256 + 2 * ngx_http_helicone_url_size(&t->url)
                + 2 * ngx_http_helicone_str_size(&t->model)
                + (t->provider ? 2 * t->provider->name.len
                                 + t->provider->legacy_name.len : 0);
    }

    return size;
}


static void
ngx_http_helicone_event_write(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_writer_t *w,
    ngx_str_t *req_body, ngx_str_t *resp_body, ngx_str_t *url)
{
    u_char                           response_id[36], *start;
    ngx_int_t                        status;
    ngx_uint_t                       i;
    ngx_time_t                      *tp;
    ngx_keyval_t                    *kv;
    ngx_http_helicone_target_t      *t;
    ngx_http_helicone_provider_t    *provider;
    ngx_http_helicone_event_seen_t   seen;

    static u_char  nil_uuid[] = "00000000-0000-0000-0000-000000000000";

    t = ctx->served ? ctx->served->target
                    : (ctx->attempts.list.nelts
                       ? ((ngx_http_helicone_attempt_t *)
                          ctx->attempts.list.elts)
                         [ctx->attempts.list.nelts - 1].target
                       : NULL);
    provider = t ? t->provider : NULL;

    ngx_memzero(&seen, sizeof(ngx_http_helicone_event_seen_t));
    seen.target = t;

    status = r->headers_out.status;

    if (ctx->attempts.truncated) {
        status = NGX_HTTP_HELICONE_STATUS_TRUNCATED;

    } else if (ctx->aborted) {
        status = NGX_HTTP_HELICONE_STATUS_ABORTED;
    }

    if (ngx_http_helicone_uuid(response_id) != NGX_OK) {
        ngx_memcpy(response_id, nil_uuid, 36);
    }

    ngx_http_helicone_w_raw(w, "{");
    ngx_http_helicone_w_int(w, "schema_version",
                            NGX_HTTP_HELICONE_EVENT_SCHEMA);
    ngx_http_helicone_w_plain(w, "id", ctx->id.data, ctx->id.len);
    ngx_http_helicone_w_opt_str(w, "organizationId", &ctx->auth.org_id);

    /* heliconeMeta */

    ngx_http_helicone_w_raw(w, "\"heliconeMeta\":{");
    ngx_http_helicone_w_bool(w, "omitRequestLog", ctx->asked.omit_request);
    ngx_http_helicone_w_bool(w, "omitResponseLog", ctx->asked.omit_response);

    if (ctx->model_override.len) {
        ngx_http_helicone_w_opt_str(w, "modelOverride", &ctx->model_override);
    }

    if (provider) {
        start = w->pos;
        ngx_http_helicone_w_opt_str(w, "gatewayProvider", &provider->name);
        ngx_http_helicone_w_seen(w, start, "gatewayProvider", &seen.provider);
    }

    if (t && t->model.len) {
        start = w->pos;
        ngx_http_helicone_w_opt_str(w, "providerModelId", &t->model);
        ngx_http_helicone_w_seen(w, start, "providerModelId", &seen.model);
    }

    w->pos--;   /* the last comma */
    ngx_http_helicone_w_raw(w, "},");

    /* log.request */

    ngx_http_helicone_w_raw(w, "\"log\":{\"request\":{");
    ngx_http_helicone_w_plain(w, "id", ctx->id.data, ctx->id.len);

    if (ctx->client_id.len) {
        ngx_http_helicone_w_str(w, "clientRequestId", ctx->client_id.data,
                                ctx->client_id.len);
    }
    ngx_http_helicone_w_str(w, "userId", ctx->user_id.data,
                            ctx->user_id.len);

    ngx_http_helicone_w_raw(w, "\"properties\":{");

    if (ctx->properties && ctx->properties->nelts) {
        kv = ctx->properties->elts;

        for (i = 0; i < ctx->properties->nelts; i++) {
            /* "name":"value", with the name escaped as the value is */
            ngx_http_helicone_w_str_key(w, "", 0, kv[i].key.data,
                                        kv[i].key.len);
            w->pos--;
            ngx_http_helicone_w_raw(w, ":");
            ngx_http_helicone_w_str_key(w, "", 0, kv[i].value.data,
                                        kv[i].value.len);
        }

        w->pos--;
    }

    ngx_http_helicone_w_raw(w, "},");

    if (provider) {
        ngx_http_helicone_w_str(w, "provider", provider->legacy_name.data,
                                provider->legacy_name.len);

    } else {
        ngx_http_helicone_w_str(w, "provider", (u_char *) "CUSTOM", 6);
    }

    if (t && t->url.len) {
        start = w->pos;
        ngx_http_helicone_w_url(w, r->pool, "targetUrl", &t->url);
        ngx_http_helicone_w_seen(w, start, "targetUrl", &seen.url);
    }

    ngx_http_helicone_w_url(w, r->pool, "path", url);
    ngx_http_helicone_w_int(w, "bodySize", ctx->body.len);
    ngx_http_helicone_w_bool(w, "isStream", ctx->stream);
    ngx_http_helicone_w_time(w, "requestCreatedAt", ctx->start_sec,
                             ctx->start_msec_part);
    ngx_http_helicone_w_opt_str(w, "model", &ctx->model);

    if (ctx->tokenlimit.strategy != HELICONE_TOKENLIMIT_NONE) {
        ngx_http_helicone_event_tokenlimit(ctx, w);
    }

    if (ctx->cache.hit) {
        /* read back from the store: escaped as any outside text is */
        ngx_http_helicone_w_str(w, "cacheReferenceId", ctx->cache.ref, 36);

    } else {
        ngx_http_helicone_w_plain(w, "cacheReferenceId", nil_uuid, 36);
    }

    if (!ctx->asked.omit_request && req_body->data) {
        ngx_http_helicone_w_str(w, "body", req_body->data, req_body->len);
        ngx_http_helicone_w_bool(w, "bodyTruncated",
                                 req_body->len < ctx->body.len);
    }

    w->pos--;
    ngx_http_helicone_w_raw(w, "},");

    /* log.response */

    tp = ngx_timeofday();

    ngx_http_helicone_w_raw(w, "\"response\":{");
    ngx_http_helicone_w_plain(w, "id", response_id, 36);
    ngx_http_helicone_w_int(w, "status", status);
    ngx_http_helicone_w_int(w, "httpStatus", r->headers_out.status);
    ngx_http_helicone_w_int(w, "bodySize", ctx->response_bytes);
    ngx_http_helicone_w_time(w, "responseCreatedAt", tp->sec, tp->msec);
    ngx_http_helicone_w_int(w, "delayMs", ctx->end - ctx->start);

    if (ctx->first_byte) {
        ngx_http_helicone_w_int(w, "timeToFirstToken",
                                ctx->first_byte - ctx->start);
    }

    ngx_http_helicone_w_tokens(w, "promptTokens",
                               ctx->relay.usage.prompt_tokens);
    ngx_http_helicone_w_tokens(w, "completionTokens",
                               ctx->relay.usage.completion_tokens);
    ngx_http_helicone_w_tokens(w, "promptCacheReadTokens",
                               ctx->relay.usage.cache_read_tokens);
    ngx_http_helicone_w_tokens(w, "promptCacheWriteTokens",
                               ctx->relay.usage.cache_write_tokens);
    ngx_http_helicone_w_tokens(w, "reasoningTokens",
                               ctx->relay.usage.reasoning_tokens);
    ngx_http_helicone_w_tokens(w, "promptAudioTokens",
                               ctx->relay.usage.prompt_audio_tokens);
    ngx_http_helicone_w_tokens(w, "completionAudioTokens",
                               ctx->relay.usage.completion_audio_tokens);
    ngx_http_helicone_w_opt_str(w, "model", &ctx->relay.served_model);

    if ((size_t) (w->last - w->pos) > 96) {
        w->pos = ngx_cpymem(w->pos, "\"cost\":", 7);

        if (ctx->cache.hit) {
            /* a hit cost nothing; the original's cost is what it saved */
            *w->pos++ = '0';

            w->pos = ngx_cpymem(w->pos, ",\"costSaved\":", 13);

            if (ctx->cache.saved != HELICONE_COST_UNSET) {
                w->pos += helicone_cost_format_usd(ctx->cache.saved, w->pos);

            } else {
                w->pos = ngx_cpymem(w->pos, "null", 4);
            }

        } else {
            w->pos += ngx_http_helicone_cost_format(ctx, w->pos);
        }

        *w->pos++ = ',';

    } else {
        w->pos = w->last;
    }

    if (!ctx->asked.omit_response && resp_body->data) {
        ngx_http_helicone_w_str(w, "body", resp_body->data, resp_body->len);
        ngx_http_helicone_w_bool(w, "bodyTruncated",
                                 ctx->relay.capture_overflow
                                 || resp_body->len < ctx->relay.capture_len);
    }

    w->pos--;
    ngx_http_helicone_w_raw(w, "}},");

    ngx_http_helicone_event_attempts(ctx, w, &seen);

    ngx_http_helicone_w_bool(w, "aborted", ctx->aborted);
    ngx_http_helicone_w_bool(w, "truncated", ctx->attempts.truncated);
    ngx_http_helicone_w_bool(w, "cacheHit", ctx->cache.hit);

    w->pos--;
    ngx_http_helicone_w_raw(w, "}");
}


static void
ngx_http_helicone_event_attempts(ngx_http_helicone_ctx_t *ctx,
    ngx_http_helicone_writer_t *w, ngx_http_helicone_event_seen_t *seen)
{
    ngx_uint_t                    i, same;
    ngx_http_helicone_target_t   *t;
    ngx_http_helicone_attempt_t  *a;

    static ngx_str_t  outcomes[] = {
        ngx_string("running"), ngx_string("ok"), ngx_string("failed"),
        ngx_string("truncated"), ngx_string("aborted")
    };

    ngx_http_helicone_w_raw(w, "\"attempts\":[");

    a = ctx->attempts.list.elts;

    for (i = 0; i < ctx->attempts.list.nelts; i++) {
        t = a[i].target;
        same = (t == seen->target);

        ngx_http_helicone_w_raw(w, "{");

        if (same && seen->provider.len) {
            ngx_http_helicone_w_copy(w, "provider", &seen->provider);

        } else if (t->provider) {
            ngx_http_helicone_w_opt_str(w, "provider", &t->provider->name);
        }

        if (same && seen->model.len) {
            ngx_http_helicone_w_copy(w, "model", &seen->model);

        } else {
            ngx_http_helicone_w_opt_str(w, "model", &t->model);
        }

        if (same && seen->url.len) {
            ngx_http_helicone_w_copy(w, "url", &seen->url);

        } else if (t->url.len) {
            ngx_http_helicone_w_url(w, ctx->request->pool, "url", &t->url);

        } else {
            ngx_http_helicone_w_null(w, "url");
        }
        ngx_http_helicone_w_int(w, "retry", a[i].retry);
        ngx_http_helicone_w_int(w, "status", a[i].status);
        ngx_http_helicone_w_plain(w, "outcome", outcomes[a[i].outcome].data,
                                  outcomes[a[i].outcome].len);

        if (a[i].error) {
            ngx_http_helicone_w_str(w, "error", (u_char *) a[i].error,
                                    ngx_strlen(a[i].error));
        }

        ngx_http_helicone_w_int(w, "startMs", a[i].start - ctx->start);

        if (a[i].first_byte) {
            ngx_http_helicone_w_int(w, "ttfbMs",
                                    a[i].first_byte - a[i].start);
        }

        if (a[i].end) {
            ngx_http_helicone_w_int(w, "durationMs", a[i].end - a[i].start);
        }

        w->pos--;
        ngx_http_helicone_w_raw(w, "},");
    }

    if (ctx->attempts.list.nelts) {
        w->pos--;
    }

    ngx_http_helicone_w_raw(w, "],");
}


/*
 * What Helicone-Token-Limit-Exception-Handler did: the strategy, the
 * estimate as sent and as forwarded, the limit (null: the model's window
 * is unknown), and what was dropped, cut or chosen.
 */

static void
ngx_http_helicone_event_tokenlimit(ngx_http_helicone_ctx_t *ctx,
    ngx_http_helicone_writer_t *w)
{
    const char                             *name;
    ngx_http_helicone_tokenlimit_result_t  *tl;

    tl = &ctx->tokenlimit;
    name = helicone_tokenlimit_name(tl->strategy);

    ngx_http_helicone_w_raw(w, "\"tokenLimit\":{");
    ngx_http_helicone_w_str(w, "strategy", (u_char *) name, ngx_strlen(name));
    ngx_http_helicone_w_int(w, "estimate", (int64_t) tl->estimate);

    if (tl->limit) {
        ngx_http_helicone_w_int(w, "limit", (int64_t) tl->limit);

    } else {
        ngx_http_helicone_w_null(w, "limit");
    }

    ngx_http_helicone_w_int(w, "result", (int64_t) tl->result);
    ngx_http_helicone_w_int(w, "dropped", (int64_t) tl->dropped);
    ngx_http_helicone_w_int(w, "cut", (int64_t) tl->cut);

    if (tl->model.len) {
        ngx_http_helicone_w_opt_str(w, "model", &tl->model);
    }

    w->pos--;   /* the last comma */
    ngx_http_helicone_w_raw(w, "},");
}


/*
 * The writers below never pass w->last; each value ends with a comma that
 * the caller removes after the last member of an object. They are inline:
 * with the name's length a constant, its copy is a few moves.
 */

static ngx_inline void
ngx_http_helicone_w_text(ngx_http_helicone_writer_t *w, const char *text,
    size_t len)
{
    if ((size_t) (w->last - w->pos) <= len) {
        w->pos = w->last;
        return;
    }

    w->pos = ngx_cpymem(w->pos, text, len);
}


/*
 * key ("name": as written) when a value of up to value bytes and its
 * comma still fit after it; else the writer is full and 0 says to write
 * nothing.
 */

static ngx_inline ngx_uint_t
ngx_http_helicone_w_key(ngx_http_helicone_writer_t *w, const char *key,
    size_t klen, size_t value)
{
    if ((size_t) (w->last - w->pos) <= klen + value) {
        w->pos = w->last;
        return 0;
    }

    w->pos = ngx_cpymem(w->pos, key, klen);

    return 1;
}


/*
 * Decimal digits by hand, at least width of them, zeros in front: the
 * event has some fifty members, and ngx_sprintf() parsing a format for
 * each was a visible part of it.
 */

static u_char *
ngx_http_helicone_w_digits(u_char *p, uint64_t n, size_t width)
{
    u_char  tmp[NGX_INT64_LEN], *t;

    t = tmp + sizeof(tmp);

    do {
        *--t = (u_char) ('0' + n % 10);
        n /= 10;
    } while (n || (size_t) (tmp + sizeof(tmp) - t) < width);

    return ngx_cpymem(p, t, tmp + sizeof(tmp) - t);
}


/*
 * n in decimal: its digits counted first, then written from the last one
 * in place, not through a scratch buffer and a copy
 */

static u_char *
ngx_http_helicone_w_decimal(u_char *p, uint64_t n)
{
    u_char    *end;
    uint64_t   m;

    end = p + 1;

    for (m = n; m >= 10; m /= 10) {
        end++;
    }

    p = end;

    do {
        *--p = (u_char) ('0' + n % 10);
        n /= 10;
    } while (n);

    return end;
}


/*
 * A URL with its key parameters redacted: a provider key in the query
 * (Gemini's ?key=) must not reach the log
 */

static void
ngx_http_helicone_w_url_key(ngx_http_helicone_writer_t *w, ngx_pool_t *pool,
    const char *key, size_t klen, ngx_str_t *url)
{
    u_char  *p;
    size_t   len;

    /* memchr(): a URL is tens of bytes, ngx_strlchr() looks at one a turn */

    if (url->len == 0 || memchr(url->data, '?', url->len) == NULL) {
        /* no query, no key parameter: the URL as it is */
        ngx_http_helicone_w_str_key(w, key, klen, url->data, url->len);
        return;
    }

    p = ngx_pnalloc(pool, helicone_url_redact_size(url->data, url->len) + 1);
    if (p == NULL) {
        /* no room to redact: nothing rather than a key */
        ngx_http_helicone_w_str_key(w, key, klen, (u_char *) "", 0);
        return;
    }

    len = helicone_url_redact(url->data, url->len, p);

    ngx_http_helicone_w_str_key(w, key, klen, p, len);
}


/* key and the value escaped in quotes; no key when klen is 0 */

static ngx_inline void
ngx_http_helicone_w_str_key(ngx_http_helicone_writer_t *w, const char *key,
    size_t klen, u_char *data, size_t len)
{
    u_char  *p;

    if ((size_t) (w->last - w->pos) <= klen + 3) {
        w->pos = w->last;
        return;
    }

    p = ngx_cpymem(w->pos, key, klen);
    *p++ = '"';

    /* the two bytes after the value must still fit */
    p = helicone_json_escape_into(p, w->last - 2, data, len);

    if (p == NULL) {
        w->pos = w->last;
        return;
    }

    *p++ = '"';
    *p++ = ',';
    w->pos = p;
}


/*
 * key and a value in quotes that needs no escaping: only the ids the
 * module made (UUIDs: hex digits and dashes) and its own words
 */

static ngx_inline void
ngx_http_helicone_w_plain_key(ngx_http_helicone_writer_t *w,
    const char *key, size_t klen, u_char *data, size_t len)
{
    u_char  *p;

    if ((size_t) (w->last - w->pos) <= klen + len + 3) {
        w->pos = w->last;
        return;
    }

    p = ngx_cpymem(w->pos, key, klen);
    *p++ = '"';
    p = ngx_cpymem(p, data, len);
    *p++ = '"';
    *p++ = ',';
    w->pos = p;
}


/* value: what was written since start, its key and comma left out */

static ngx_inline void
ngx_http_helicone_w_seen_key(ngx_http_helicone_writer_t *w, u_char *start,
    size_t klen, ngx_str_t *value)
{
    if (w->pos == w->last) {
        /* the writer is full: this pass is lost anyway */
        return;
    }

    value->data = start + klen;
    value->len = w->pos - 1 - value->data;
}


/* key and a value written before, copied as it is */

static ngx_inline void
ngx_http_helicone_w_copy_key(ngx_http_helicone_writer_t *w, const char *key,
    size_t klen, ngx_str_t *value)
{
    u_char  *p;

    if ((size_t) (w->last - w->pos) <= klen + value->len + 1) {
        w->pos = w->last;
        return;
    }

    p = ngx_cpymem(w->pos, key, klen);
    p = ngx_cpymem(p, value->data, value->len);
    *p++ = ',';
    w->pos = p;
}


static ngx_inline void
ngx_http_helicone_w_opt_str_key(ngx_http_helicone_writer_t *w,
    const char *key, size_t klen, ngx_str_t *s)
{
    if (s->len == 0) {
        ngx_http_helicone_w_null_key(w, key, klen);
        return;
    }

    ngx_http_helicone_w_str_key(w, key, klen, s->data, s->len);
}


static ngx_inline void
ngx_http_helicone_w_int_key(ngx_http_helicone_writer_t *w, const char *key,
    size_t klen, int64_t n)
{
    if (!ngx_http_helicone_w_key(w, key, klen, NGX_INT64_LEN + 1)) {
        return;
    }

    if (n < 0) {
        *w->pos++ = '-';
        w->pos = ngx_http_helicone_w_decimal(w->pos, 0 - (uint64_t) n);

    } else {
        w->pos = ngx_http_helicone_w_decimal(w->pos, (uint64_t) n);
    }

    *w->pos++ = ',';
}


/* an unknown count is null, never 0 */

static ngx_inline void
ngx_http_helicone_w_tokens_key(ngx_http_helicone_writer_t *w,
    const char *key, size_t klen, int64_t n)
{
    if (n >= 0) {
        ngx_http_helicone_w_int_key(w, key, klen, n);
        return;
    }

    ngx_http_helicone_w_null_key(w, key, klen);
}


static ngx_inline void
ngx_http_helicone_w_null_key(ngx_http_helicone_writer_t *w, const char *key,
    size_t klen)
{
    if (ngx_http_helicone_w_key(w, key, klen, 5)) {
        w->pos = ngx_cpymem(w->pos, "null,", 5);
    }
}


static ngx_inline void
ngx_http_helicone_w_bool_key(ngx_http_helicone_writer_t *w, const char *key,
    size_t klen, ngx_uint_t b)
{
    if (!ngx_http_helicone_w_key(w, key, klen, 7)) {
        return;
    }

    w->pos = b ? ngx_cpymem(w->pos, "true,", 5)
               : ngx_cpymem(w->pos, "false,", 6);
}


/*
 * "2026-11-27T02:20:00.017Z". The part up to the seconds is formatted
 * once per second: an event has two times, most events share the second
 * with the one before.
 */

static void
ngx_http_helicone_w_time_key(ngx_http_helicone_writer_t *w, const char *key,
    size_t klen, time_t sec, ngx_msec_t msec)
{
    u_char    *p;
    ngx_tm_t   tm;

    static time_t  formatted_sec = -1;
    static u_char  formatted[sizeof("2026-11-27T02:20:00") - 1];

    if (!ngx_http_helicone_w_key(w, key, klen, 29)) {
        return;
    }
    if (sec != formatted_sec) {
        ngx_gmtime(sec, &tm);

        p = ngx_http_helicone_w_digits(formatted,
                                       (uint64_t) tm.ngx_tm_year, 4);
        *p++ = '-';
        p = ngx_http_helicone_w_digits(p, (uint64_t) tm.ngx_tm_mon, 2);
        *p++ = '-';
        p = ngx_http_helicone_w_digits(p, (uint64_t) tm.ngx_tm_mday, 2);
        *p++ = 'T';
        p = ngx_http_helicone_w_digits(p, (uint64_t) tm.ngx_tm_hour, 2);
        *p++ = ':';
        p = ngx_http_helicone_w_digits(p, (uint64_t) tm.ngx_tm_min, 2);
        *p++ = ':';
        (void) ngx_http_helicone_w_digits(p, (uint64_t) tm.ngx_tm_sec, 2);

        formatted_sec = sec;
    }

    p = w->pos;
    *p++ = '"';
    p = ngx_cpymem(p, formatted, sizeof(formatted));
    *p++ = '.';
    msec %= 1000;
    *p++ = (u_char) ('0' + msec / 100);
    *p++ = (u_char) ('0' + msec / 10 % 10);
    *p++ = (u_char) ('0' + msec % 10);
    *p++ = 'Z';
    *p++ = '"';
    *p++ = ',';

    w->pos = p;
}
