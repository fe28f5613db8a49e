/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The dialects, the wire APIs providers speak, one row each (see
 * ngx_http_helicone_dialect.h): a relayed one gets the client's request
 * with its model id, a translated one what the endpoint's translator to
 * it writes. The rest of the module asks the row, not the dialect's name.
 */

#include "ngx_http_helicone_module.h"


static ngx_uint_t ngx_http_helicone_dialect_serves_native(
    ngx_http_helicone_api_t *api, ngx_http_helicone_provider_t *p);
static ngx_uint_t ngx_http_helicone_dialect_serves_translated(
    ngx_http_helicone_api_t *api, ngx_http_helicone_provider_t *p);
static ngx_uint_t ngx_http_helicone_dialect_serves_azure(
    ngx_http_helicone_api_t *api, ngx_http_helicone_provider_t *p);
static ngx_int_t ngx_http_helicone_dialect_url_native(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_target_t *t);
static ngx_int_t ngx_http_helicone_dialect_url_chat(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_target_t *t);
static ngx_int_t ngx_http_helicone_dialect_url_azure(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_target_t *t);
static ngx_int_t ngx_http_helicone_dialect_url(ngx_http_request_t *r,
    ngx_http_helicone_target_t *t, ngx_str_t *path);
static ngx_int_t ngx_http_helicone_dialect_relay(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_target_t *t);
static ngx_int_t ngx_http_helicone_dialect_translate(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_target_t *t);


/*
 * name, translator; serves, url, request; error; usage, read_event (of
 * what is relayed); usage_kind; a provider added in the configuration:
 * auth, chat_path, header; deployment, include_usage
 */

ngx_http_helicone_dialect_t  ngx_http_helicone_dialect_openai = {
    ngx_string("openai"), 0,
    ngx_http_helicone_dialect_serves_native,
    ngx_http_helicone_dialect_url_native,
    ngx_http_helicone_dialect_relay,
    NULL,
    NULL, NULL,
    HELICONE_USAGE_OPENAI,
    NGX_HTTP_HELICONE_KEY_BEARER, ngx_null_string,
    { ngx_null_string, ngx_null_string },
    0, 1
};


static ngx_http_helicone_dialect_t  ngx_http_helicone_dialect_anthropic = {
    ngx_string("anthropic"), NGX_HTTP_HELICONE_TRANSLATE_ANTHROPIC,
    ngx_http_helicone_dialect_serves_translated,
    ngx_http_helicone_dialect_url_chat,
    ngx_http_helicone_dialect_translate,
    helicone_translate_error,
    helicone_usage_from_anthropic, helicone_anthropic_event_read,
    HELICONE_USAGE_ANTHROPIC,
    NGX_HTTP_HELICONE_KEY_X_API_KEY, ngx_string("/v1/messages"),
    { ngx_string("anthropic-version"), ngx_string("2023-06-01") },
    0, 0
};


static ngx_http_helicone_dialect_t  ngx_http_helicone_dialect_azure = {
    ngx_string("azure"), 0,
    ngx_http_helicone_dialect_serves_azure,
    ngx_http_helicone_dialect_url_azure,
    ngx_http_helicone_dialect_relay,
    NULL,
    NULL, NULL,
    HELICONE_USAGE_OPENAI,
    NGX_HTTP_HELICONE_KEY_API_KEY, ngx_null_string,
    { ngx_null_string, ngx_null_string },
    1, 0
};


static ngx_http_helicone_dialect_t  *ngx_http_helicone_dialects[] = {
    &ngx_http_helicone_dialect_openai,
    &ngx_http_helicone_dialect_anthropic,
    &ngx_http_helicone_dialect_azure
};


ngx_http_helicone_dialect_t *
ngx_http_helicone_dialect_find(ngx_str_t *s)
{
    ngx_uint_t                    i;
    ngx_http_helicone_dialect_t  *d;

    for (i = 0; i < sizeof(ngx_http_helicone_dialects)
                    / sizeof(ngx_http_helicone_dialect_t *); i++)
    {
        d = ngx_http_helicone_dialects[i];

        if (s->len == d->name.len
            && ngx_strncmp(s->data, d->name.data, s->len) == 0)
        {
            return d;
        }
    }

    return NULL;
}


/* relayed: the provider has a path of its own for the endpoint */

static ngx_uint_t
ngx_http_helicone_dialect_serves_native(ngx_http_helicone_api_t *api,
    ngx_http_helicone_provider_t *p)
{
    return ngx_http_helicone_api_path(api, p)->len != 0;
}


/* translated: the endpoint has a translator to the dialect */

static ngx_uint_t
ngx_http_helicone_dialect_serves_translated(ngx_http_helicone_api_t *api,
    ngx_http_helicone_provider_t *p)
{
    return api->translate[p->dialect->translator] != NULL;
}


static ngx_uint_t
ngx_http_helicone_dialect_serves_azure(ngx_http_helicone_api_t *api,
    ngx_http_helicone_provider_t *p)
{
    return api->azure != NULL;
}


static ngx_int_t
ngx_http_helicone_dialect_url_native(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_target_t *t)
{
    return ngx_http_helicone_dialect_url(r, t,
               ngx_http_helicone_api_path(ctx->api, t->provider));
}


/* a translated endpoint goes to the provider's own chat path */

static ngx_int_t
ngx_http_helicone_dialect_url_chat(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_target_t *t)
{
    return ngx_http_helicone_dialect_url(r, t, &t->provider->chat_path);
}


/* base_url + path */

static ngx_int_t
ngx_http_helicone_dialect_url(ngx_http_request_t *r,
    ngx_http_helicone_target_t *t, ngx_str_t *path)
{
    u_char                        *p;
    ngx_http_helicone_provider_t  *pr;

    pr = t->provider;

    t->url.len = pr->base_url.len + path->len;
    t->url.data = ngx_pnalloc(r->pool, t->url.len);
    if (t->url.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(t->url.data, pr->base_url.data, pr->base_url.len);
    ngx_memcpy(p, path->data, path->len);

    return NGX_OK;
}


/*
 * Azure names the deployment (the model) in the path and wants its API
 * version in the query.
 */

static ngx_int_t
ngx_http_helicone_dialect_url_azure(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_target_t *t)
{
    u_char                        *p;
    ngx_str_t                     *version;
    uintptr_t                      escape;
    ngx_http_helicone_api_t       *api;
    ngx_http_helicone_provider_t  *pr;

    static ngx_str_t  azure_version = ngx_string("2025-01-01-preview");

    pr = t->provider;
    api = ctx->api;

    version = pr->api_version.len ? &pr->api_version : &azure_version;
    escape = 2 * ngx_escape_uri(NULL, t->model.data, t->model.len,
                                NGX_ESCAPE_ARGS);

    t->url.len = pr->base_url.len + sizeof("/openai/deployments/") - 1
                 + t->model.len + escape + ngx_strlen(api->azure)
                 + sizeof("?api-version=") - 1 + version->len;

    t->url.data = ngx_pnalloc(r->pool, t->url.len);
    if (t->url.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(t->url.data, pr->base_url.data, pr->base_url.len);

    if (api->deployment) {
        p = ngx_cpymem(p, "/openai/deployments/",
                       sizeof("/openai/deployments/") - 1);
        p = (u_char *) ngx_escape_uri(p, t->model.data, t->model.len,
                                      NGX_ESCAPE_ARGS);
    }

    p = ngx_cpymem(p, api->azure, ngx_strlen(api->azure));
    p = ngx_cpymem(p, "?api-version=", sizeof("?api-version=") - 1);
    p = ngx_cpymem(p, version->data, version->len);

    t->url.len = p - t->url.data;

    return NGX_OK;
}


/*
 * Relayed: the client's body with "model" replaced by the provider's
 * model id, and stream usage asked for where the provider and the
 * endpoint know stream_options.
 */

static ngx_int_t
ngx_http_helicone_dialect_relay(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_target_t *t)
{
    int  injected;

    t->body = ctx->body;

    if (ngx_http_helicone_plan_splice(r, ctx, &t->model,
                                      ctx->stream && t->provider->stream_usage
                                      && ctx->api->stream_usage,
                                      &t->body, &injected)
        == NGX_ERROR)
    {
        return NGX_ERROR;
    }

    t->usage_injected = injected;

    return NGX_OK;
}


/* Translated: what the endpoint's translator to the dialect writes. */

static ngx_int_t
ngx_http_helicone_dialect_translate(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_target_t *t)
{
    size_t                          size;
    u_char                         *p;
    const char                     *error;
    helicone_buf_t                  b;
    helicone_translate_opts_t       tr;
    ngx_http_helicone_provider_t   *pr;
    ngx_http_helicone_translator_t *translator;

    /* serves() let only translatable endpoints through */
    pr = t->provider;
    translator = ctx->api->translate[pr->dialect->translator];

    tr.model.data = t->model.data;
    tr.model.len = t->model.len;
    tr.max_tokens = 0;

    size = 2 * ctx->body.len + 4096;

    p = ngx_pnalloc(r->pool, size);
    if (p == NULL) {
        return NGX_ERROR;
    }

    helicone_buf_init(&b, p, size);
    error = NULL;

    switch (translator->request(&ctx->json, &tr, &b, &error)) {

    case HELICONE_OK:
        t->body.data = b.start;
        t->body.len = b.pos - b.start;
        t->translated = 1;
        return NGX_OK;

    case HELICONE_DECLINED:
        return ngx_http_helicone_plan_refuse(r, ctx, NGX_HTTP_BAD_REQUEST,
                   "unsupported_request", "%s for provider \"%V\"",
                   error ? error : "the request cannot be translated",
                   &pr->name);

    default:
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "helicone plan: translation overflowed %uz bytes",
                      size);
        return NGX_ERROR;
    }
}

