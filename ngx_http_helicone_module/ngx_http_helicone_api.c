/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The endpoints: the client APIs gateway mode serves, one row each: how
 * a request's URL names it, which providers serve it as it is and which
 * through a translator. The rest of the module asks the row, not the
 * URL. What a provider speaks is the other table, dialect.c's: a row
 * here names its translator to each dialect that needs one.
 */

#include "ngx_http_helicone_module.h"


static helicone_translate_stream_t *ngx_http_helicone_api_chat_stream(
    ngx_http_request_t *r, ngx_http_helicone_ctx_t *ctx, size_t max);
static helicone_translate_stream_t *ngx_http_helicone_api_responses_stream(
    ngx_http_request_t *r, ngx_http_helicone_ctx_t *ctx, size_t max);
static int ngx_http_helicone_api_responses_event(
    helicone_translate_stream_t *s, const helicone_sse_event_t *ev,
    helicone_buf_t *out);
static unsigned char *ngx_http_helicone_api_grow(void *pool, size_t size);


/* the translators to Anthropic Messages, by endpoint */

static ngx_http_helicone_translator_t  ngx_http_helicone_anthropic_chat = {
    helicone_translate_request, helicone_translate_response,
    ngx_http_helicone_api_chat_stream, helicone_translate_stream_event
};

static ngx_http_helicone_translator_t  ngx_http_helicone_anthropic_responses = {
    helicone_translate_responses_request,
    helicone_translate_responses_response,
    ngx_http_helicone_api_responses_stream,
    ngx_http_helicone_api_responses_event
};


/*
 * path, kind, methods, the provider's path for it, Azure's path;
 * answered here; the translators, by dialect (NGX_HTTP_HELICONE_TRANSLATE_*:
 * Anthropic); the reader of a relayed stream's events; id, json,
 * stream_usage, deployment
 */

static ngx_http_helicone_api_t  ngx_http_helicone_apis[] = {

    { ngx_string("/chat/completions"), NGX_HTTP_HELICONE_ENDPOINT_CHAT,
      NGX_HTTP_POST,
      offsetof(ngx_http_helicone_provider_t, chat_path),
      "/chat/completions",
      NULL,
      { &ngx_http_helicone_anthropic_chat },
      NULL,
      0, 1, 1, 1 },

    { ngx_string("/responses"), NGX_HTTP_HELICONE_ENDPOINT_RESPONSES,
      NGX_HTTP_POST,
      offsetof(ngx_http_helicone_provider_t, responses_path),
      "/openai/responses",
      NULL,
      { &ngx_http_helicone_anthropic_responses },
      helicone_responses_event_read,
      0, 1, 0, 0 },

    { ngx_string("/embeddings"), NGX_HTTP_HELICONE_ENDPOINT_EMBEDDINGS,
      NGX_HTTP_POST,
      offsetof(ngx_http_helicone_provider_t, embeddings_path),
      "/embeddings",
      NULL,
      { NULL },
      NULL,
      0, 1, 0, 1 },

    { ngx_string("/models"), NGX_HTTP_HELICONE_ENDPOINT_MODELS,
      NGX_HTTP_GET|NGX_HTTP_HEAD, 0, NULL,
      ngx_http_helicone_models_list,
      { NULL },
      NULL,
      0, 0, 0, 0 },

    { ngx_string("/models"), NGX_HTTP_HELICONE_ENDPOINT_MODEL,
      NGX_HTTP_GET|NGX_HTTP_HEAD, 0, NULL,
      ngx_http_helicone_models_retrieve,
      { NULL },
      NULL,
      1, 0, 0, 0 },
};


/*
 * The row for the request's URI: one that ends with the row's path, or
 * has the path, a slash and an id after it. NULL: no API of ours. The
 * proxy modes (gateway 0) answer nothing themselves: such a URL goes to
 * the provider as any other.
 */

ngx_http_helicone_api_t *
ngx_http_helicone_api_find(ngx_http_request_t *r, ngx_uint_t gateway)
{
    u_char                   *p, *last;
    size_t                    len;
    ngx_uint_t                i;
    ngx_http_helicone_api_t  *api;

    last = r->uri.data + r->uri.len;

    for (i = 0; i < sizeof(ngx_http_helicone_apis)
                    / sizeof(ngx_http_helicone_api_t); i++)
    {
        api = &ngx_http_helicone_apis[i];
        len = api->path.len;

        if (api->local && !gateway) {
            continue;
        }

        if (!api->id) {
            if (r->uri.len >= len
                && ngx_strncmp(last - len, api->path.data, len) == 0)
            {
                return api;
            }

            continue;
        }

        /* ".../models/<id>": the id may itself have slashes */
        for (p = r->uri.data; last - p > (ssize_t) len + 1; p++) {
            p = ngx_strlchr(p, last, '/');

            if (p == NULL || last - p <= (ssize_t) len + 1) {
                break;
            }

            if (ngx_strncmp(p, api->path.data, len) == 0 && p[len] == '/') {
                return api;
            }
        }
    }

    return NULL;
}


/* Whether provider p can take a request of this API, natively or not. */

ngx_uint_t
ngx_http_helicone_api_serves(ngx_http_helicone_api_t *api,
    ngx_http_helicone_provider_t *p)
{
    return p->dialect->serves(api, p);
}


/* A provider gateway mode may use: it has a key, or needs none. */

ngx_uint_t
ngx_http_helicone_api_usable(ngx_http_helicone_provider_t *p)
{
    return p->has_key || p->auth == NGX_HTTP_HELICONE_KEY_NONE;
}


/* The provider's own path for the API; empty when it has none. */

ngx_str_t *
ngx_http_helicone_api_path(ngx_http_helicone_api_t *api,
    ngx_http_helicone_provider_t *p)
{
    static ngx_str_t  none = ngx_null_string;

    if (api->native == 0) {
        return &none;
    }

    return (ngx_str_t *) ((u_char *) p + api->native);
}


/* Chat: one state; the usage chunk when the client asked for it. */

static helicone_translate_stream_t *
ngx_http_helicone_api_chat_stream(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, size_t max)
{
    helicone_translate_stream_t  *s;

    s = ngx_palloc(r->pool, sizeof(helicone_translate_stream_t));
    if (s == NULL) {
        return NULL;
    }

    helicone_translate_stream_init(s, ngx_time(), ctx->include_usage);

    return s;
}


/*
 * Responses: the state and the output items it keeps for the final
 * event, growing from 4k up to max (helicone_response_buffer), as a
 * translated JSON body may.
 */

static helicone_translate_stream_t *
ngx_http_helicone_api_responses_stream(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, size_t max)
{
    size_t                        size;
    u_char                       *items;
    helicone_responses_stream_t  *s;

    size = ngx_min(4096, max);

    s = ngx_palloc(r->pool, sizeof(helicone_responses_stream_t));
    items = ngx_pnalloc(r->pool, size);

    if (s == NULL || items == NULL) {
        return NULL;
    }

    helicone_responses_stream_init(s, ngx_time(), items, size,
                                   ngx_http_helicone_api_grow, r->pool, max);

    return &s->base;
}


static int
ngx_http_helicone_api_responses_event(helicone_translate_stream_t *s,
    const helicone_sse_event_t *ev, helicone_buf_t *out)
{
    /* the chat part is the first member of the Responses state */
    return helicone_responses_stream_event((helicone_responses_stream_t *) s,
                                           ev, out);
}


static unsigned char *
ngx_http_helicone_api_grow(void *pool, size_t size)
{
    return ngx_pnalloc(pool, size);
}
