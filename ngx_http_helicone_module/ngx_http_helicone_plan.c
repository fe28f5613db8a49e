/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The plan: which targets (provider + model) a request may go to, in
 * order, and for each the URL and body it is sent with.
 */

#include "ngx_http_helicone_module.h"

#include <helicone_model.h>
#include <helicone_rewrite.h>


static ngx_int_t ngx_http_helicone_plan_gateway(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
static ngx_int_t ngx_http_helicone_plan_provider(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_provider_t *p);
static ngx_int_t ngx_http_helicone_plan_target(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
static ngx_int_t ngx_http_helicone_plan_add(ngx_http_helicone_ctx_t *ctx,
    ngx_http_helicone_provider_t *p, u_char *model, size_t len);
static ngx_int_t ngx_http_helicone_plan_uri(ngx_http_request_t *r,
    ngx_str_t *origin, ngx_str_t *url);
static ngx_uint_t ngx_http_helicone_plan_allowed(ngx_http_request_t *r,
    ngx_str_t *origin);
static ngx_int_t ngx_http_helicone_plan_header_ok(ngx_str_t *name,
    ngx_str_t *value);
static ngx_uint_t ngx_http_helicone_plan_internal(ngx_str_t *origin);


/* an HTTP token character (RFC 9110) */
#define ngx_http_helicone_plan_token(c)                                       \
    (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z')                \
     || ((c) >= '0' && (c) <= '9')                                            \
     || ((c) != 0 && ngx_strchr("!#$%&'*+-.^_`|~", (c)) != NULL))


/*
 * NGX_OK with ctx->targets; NGX_DECLINED with ctx->error_* saying why
 * the request cannot be routed; NGX_ERROR.
 */

ngx_int_t
ngx_http_helicone_plan(ngx_http_request_t *r, ngx_http_helicone_ctx_t *ctx)
{
    ngx_http_helicone_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);

    ctx->targets = ngx_pcalloc(r->pool, NGX_HTTP_HELICONE_MAX_TARGETS
                                        * sizeof(ngx_http_helicone_target_t));
    if (ctx->targets == NULL) {
        return NGX_ERROR;
    }

    switch (hlcf->pass) {

    case NGX_HTTP_HELICONE_PASS_GATEWAY:
        return ngx_http_helicone_plan_gateway(r, ctx);

    case NGX_HTTP_HELICONE_PASS_PROVIDER:
        return ngx_http_helicone_plan_provider(r, ctx, hlcf->pass_provider);

    default: /* NGX_HTTP_HELICONE_PASS_TARGET */
        return ngx_http_helicone_plan_target(r, ctx);
    }
}


static ngx_int_t
ngx_http_helicone_plan_gateway(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    size_t                          n, i, j, k, more;
    ngx_uint_t                      excluded;
    ngx_http_helicone_loc_conf_t   *hlcf;
    helicone_model_entry_t          entries[HELICONE_MODEL_MAX_ENTRIES], *e;
    ngx_http_helicone_model_t      *m;
    ngx_http_helicone_provider_t   *p;
    ngx_http_helicone_endpoint_t   *ep;
    ngx_http_helicone_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);

    if (helicone_model_parse(ctx->model.data, ctx->model.len, entries,
                             HELICONE_MODEL_MAX_ENTRIES, &n,
                             ngx_http_helicone_provider_known, hmcf)
        != HELICONE_OK)
    {
        return ngx_http_helicone_plan_refuse(r, ctx, NGX_HTTP_BAD_REQUEST,
                   "invalid_model", "invalid model string \"%V\"",
                   &ctx->model);
    }

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);

    if (n == 1 && !entries[0].exclude && hlcf->fallback_models.len) {
        /* one model asked: the location's chain follows it */
        if (helicone_model_parse(hlcf->fallback_models.data,
                                 hlcf->fallback_models.len, entries + 1,
                                 HELICONE_MODEL_MAX_ENTRIES - 1, &more,
                                 ngx_http_helicone_provider_known, hmcf)
            == HELICONE_OK)
        {
            n += more;
        }
    }

    for (i = 0; i < n; i++) {
        e = &entries[i];

        if (!e->exclude) {
            continue;
        }

        if (ngx_http_helicone_provider_find(hmcf, (u_char *) e->provider.data,
                                            e->provider.len)
            == NULL)
        {
            return ngx_http_helicone_plan_refuse(r, ctx,
                       NGX_HTTP_BAD_REQUEST, "invalid_provider",
                       "unknown provider \"%*s\" in the exclusion list",
                       e->provider.len, e->provider.data);
        }
    }

    for (i = 0; i < n; i++) {
        e = &entries[i];

        if (e->exclude) {
            continue;
        }

        m = ngx_http_helicone_model_find(hmcf, (u_char *) e->model.data,
                                         e->model.len);

        if (e->provider.len) {
            /* "model/provider": that provider, even for unknown models */
            p = ngx_http_helicone_provider_find(hmcf,
                                                (u_char *) e->provider.data,
                                                e->provider.len);

            if (p == NULL || !ngx_http_helicone_api_usable(p)
                || !ngx_http_helicone_api_serves(ctx->api, p))
            {
                continue;
            }

            ep = NULL;

            if (m) {
                ep = m->endpoints.elts;

                for (k = 0; k < m->endpoints.nelts; k++) {
                    if (ep[k].provider == p) {
                        break;
                    }
                }

                ep = (k < m->endpoints.nelts) ? &ep[k] : NULL;
            }

            if (ep == NULL && p->dialect->deployment
                && !helicone_model_segment_ok((u_char *) e->model.data,
                                              e->model.len))
            {
                /* the deployment is a path segment: it must stay one */
                return ngx_http_helicone_plan_refuse(r, ctx,
                           NGX_HTTP_BAD_REQUEST, "invalid_model",
                           "invalid deployment name \"%*s\" for \"%V\"",
                           e->model.len, e->model.data, &p->name);
            }

            if (ngx_http_helicone_plan_add(ctx, p,
                        ep ? ep->id.data : (u_char *) e->model.data,
                        ep ? ep->id.len : e->model.len)
                != NGX_OK)
            {
                break;
            }

            continue;
        }

        if (m == NULL) {
            continue;
        }

        ep = m->endpoints.elts;

        for (k = 0; k < m->endpoints.nelts; k++) {
            p = ep[k].provider;

            if (p == NULL || !ngx_http_helicone_api_usable(p)
                || !ngx_http_helicone_api_serves(ctx->api, p))
            {
                continue;
            }

            excluded = 0;

            for (j = 0; j < n; j++) {
                if (entries[j].exclude
                    && entries[j].provider.len == p->name.len
                    && ngx_strncasecmp((u_char *) entries[j].provider.data,
                                       p->name.data, p->name.len) == 0)
                {
                    excluded = 1;
                }
            }

            if (!excluded
                && ngx_http_helicone_plan_add(ctx, p, ep[k].id.data,
                                              ep[k].id.len)
                   != NGX_OK)
            {
                break;
            }
        }
    }

    if (ctx->ntargets) {
        return NGX_OK;
    }

    /* say the most specific reason nothing can serve the request */

    for (i = 0; i < n; i++) {
        e = &entries[i];

        if (e->exclude || e->provider.len == 0) {
            continue;
        }

        p = ngx_http_helicone_provider_find(hmcf, (u_char *) e->provider.data,
                                            e->provider.len);
        if (p == NULL) {
            return ngx_http_helicone_plan_refuse(r, ctx, NGX_HTTP_NOT_FOUND,
                       "provider_not_found", "unknown provider \"%*s\"",
                       e->provider.len, e->provider.data);
        }

        if (!ngx_http_helicone_api_serves(ctx->api, p)) {
            return ngx_http_helicone_plan_refuse(r, ctx,
                       NGX_HTTP_BAD_REQUEST, "unsupported_endpoint",
                       "provider \"%V\" does not serve POST .../%s",
                       &p->name, ctx->api->path.data + 1);
        }

        return ngx_http_helicone_plan_refuse(r, ctx,
                   NGX_HTTP_SERVICE_UNAVAILABLE, "provider_not_configured",
                   "provider \"%V\" has no API key configured on the "
                   "gateway", &p->name);
    }

    return ngx_http_helicone_plan_refuse(r, ctx, NGX_HTTP_NOT_FOUND,
               "model_not_found",
               "the model \"%V\" does not exist or no configured provider "
               "serves it at .../%s", &ctx->model, ctx->api->path.data + 1);
}


static ngx_int_t
ngx_http_helicone_plan_add(ngx_http_helicone_ctx_t *ctx,
    ngx_http_helicone_provider_t *p, u_char *model, size_t len)
{
    ngx_http_helicone_target_t  *t;

    if (ctx->ntargets == NGX_HTTP_HELICONE_MAX_TARGETS) {
        return NGX_DECLINED;
    }

    t = &ctx->targets[ctx->ntargets++];

    t->provider = p;
    t->model.data = model;
    t->model.len = len;

    return NGX_OK;
}


/* Proxy mode: the provider's origin, the client's path and key. */

static ngx_int_t
ngx_http_helicone_plan_provider(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_provider_t *p)
{
    ngx_table_elt_t             *h;
    ngx_http_helicone_target_t  *t;

    h = ngx_http_helicone_header_find(&r->headers_in.headers,
                                      "helicone-fallbacks", 18);
    if (h) {
        return ngx_http_helicone_plan_fallbacks(r, ctx, h);
    }

    t = &ctx->targets[0];
    ctx->ntargets = 1;

    t->provider = p;
    t->model = ctx->model;

    return ngx_http_helicone_plan_uri(r, &p->origin, &t->url);
}


/*
 * Helicone-Fallbacks: a JSON array of {"target-url", "headers", "onCodes",
 * "bodyKeyOverride"?} tried in order: each its origin (allowed like a
 * target) with the client's path, exactly its headers, its body changes;
 * the next is tried when a status is in onCodes.
 */

ngx_int_t
ngx_http_helicone_plan_fallbacks(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_table_elt_t *h)
{
    size_t                          len;
    u_char                         *p;
    ngx_str_t                       url, origin, name, value;
    ngx_uint_t                      i;
    helicone_json_iter_t            it, hit;
    helicone_json_value_t           root, item, k, v, hk, hv;
    ngx_http_helicone_target_t     *t;
    ngx_http_helicone_provider_t  **pp;
    ngx_http_helicone_main_conf_t  *hmcf;

    if (helicone_json_parse(h->value.data, h->value.len, &root) != HELICONE_OK
        || root.type != HELICONE_JSON_ARRAY
        || helicone_json_iter_init(&it, &root) != HELICONE_OK)
    {
        goto invalid;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);

    while (helicone_json_iter_next(&it, &k, &item) == HELICONE_OK) {

        if (ctx->ntargets == NGX_HTTP_HELICONE_MAX_TARGETS
            || item.type != HELICONE_JSON_OBJECT)
        {
            goto invalid;
        }

        t = &ctx->targets[ctx->ntargets];
        t->index = ctx->ntargets;
        t->model = ctx->model;
        t->body_override.type = HELICONE_JSON_INVALID;

        /* target-url: its origin only */

        if (helicone_json_object_get(&item, "target-url", 10, &v)
            != HELICONE_OK
            || v.type != HELICONE_JSON_STRING)
        {
            goto invalid;
        }

        url.data = ngx_pnalloc(r->pool, v.len);
        if (url.data == NULL) {
            return NGX_ERROR;
        }

        url.len = helicone_json_string_decode(&v, url.data);

        if (ngx_http_helicone_url_origin(&url, &origin) != NGX_OK) {
            return ngx_http_helicone_plan_refuse(r, ctx,
                       NGX_HTTP_BAD_REQUEST, "invalid_fallbacks",
                       "Helicone-Fallbacks item %ui: target-url must be an "
                       "http or https URL", ctx->ntargets);
        }

        if (!ngx_http_helicone_plan_allowed(r, &origin)) {
            return ngx_http_helicone_plan_refuse(r, ctx,
                       NGX_HTTP_BAD_REQUEST, "target_not_allowed",
                       "the target \"%V\" is not allowed by this gateway",
                       &origin);
        }

        pp = hmcf->providers.elts;

        for (i = 0; i < hmcf->providers.nelts; i++) {
            if (pp[i]->origin.len == origin.len
                && ngx_strncasecmp(pp[i]->origin.data, origin.data,
                                   origin.len) == 0)
            {
                t->provider = pp[i];
                break;
            }
        }

        if (ngx_http_helicone_plan_uri(r, &origin, &t->url) != NGX_OK) {
            return NGX_ERROR;
        }

        /* onCodes */

        t->on_codes = ngx_palloc(r->pool, sizeof(helicone_codes_t));
        if (t->on_codes == NULL) {
            return NGX_ERROR;
        }

        if (helicone_json_object_get(&item, "onCodes", 7, &v) != HELICONE_OK
            || helicone_policy_codes(&v, t->on_codes) != HELICONE_OK)
        {
            goto invalid;
        }

        /* headers: the whole set sent upstream */

        if (helicone_json_object_get(&item, "headers", 7, &v) != HELICONE_OK
            || v.type != HELICONE_JSON_OBJECT
            || helicone_json_iter_init(&hit, &v) != HELICONE_OK)
        {
            goto invalid;
        }

        t->headers = ngx_list_create(r->pool, 8, sizeof(ngx_table_elt_t));
        if (t->headers == NULL) {
            return NGX_ERROR;
        }

        while (helicone_json_iter_next(&hit, &hk, &hv) == HELICONE_OK) {
            if (hv.type != HELICONE_JSON_STRING) {
                goto invalid;
            }

            name.data = ngx_pnalloc(r->pool, hk.len + hv.len);
            if (name.data == NULL) {
                return NGX_ERROR;
            }

            name.len = helicone_json_string_decode(&hk, name.data);
            value.data = name.data + name.len;
            value.len = helicone_json_string_decode(&hv, value.data);

            if (ngx_http_helicone_plan_header_ok(&name, &value) != NGX_OK) {
                return ngx_http_helicone_plan_refuse(r, ctx,
                           NGX_HTTP_BAD_REQUEST, "invalid_fallbacks",
                           "Helicone-Fallbacks item %ui has an invalid "
                           "header", ctx->ntargets);
            }

            if (ngx_http_helicone_header_add(r, t->headers,
                                             (char *) name.data, name.len,
                                             &value)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        /* bodyKeyOverride, applied to a JSON body */

        if (helicone_json_object_get(&item, "bodyKeyOverride", 15, &v)
            == HELICONE_OK)
        {
            if (v.type != HELICONE_JSON_OBJECT) {
                goto invalid;
            }

            t->body_override = v;
        }

        if (t->body_override.type == HELICONE_JSON_OBJECT && ctx->json_ok) {
            len = ctx->json.len + t->body_override.len + 2;

            p = ngx_pnalloc(r->pool, len);
            if (p == NULL) {
                return NGX_ERROR;
            }

            if (helicone_rewrite_members(&ctx->json, &t->body_override, p,
                                         &len)
                == HELICONE_OK)
            {
                t->body.data = p;
                t->body.len = len;
            }
        }

        ctx->ntargets++;
    }

    if (ctx->ntargets) {
        return NGX_OK;
    }

invalid:

    ctx->ntargets = 0;

    return ngx_http_helicone_plan_refuse(r, ctx, NGX_HTTP_BAD_REQUEST,
               "invalid_fallbacks",
               "Helicone-Fallbacks must be a JSON array of objects with "
               "\"target-url\", \"headers\" and \"onCodes\"");
}


/* A header from Helicone-Fallbacks must be one a client could send. */

static ngx_int_t
ngx_http_helicone_plan_header_ok(ngx_str_t *name, ngx_str_t *value)
{
    ngx_uint_t  i;

    if (name->len == 0) {
        return NGX_ERROR;
    }

    for (i = 0; i < name->len; i++) {
        if (!(ngx_http_helicone_plan_token(name->data[i]))) {
            return NGX_ERROR;
        }
    }

    for (i = 0; i < value->len; i++) {
        if (value->data[i] < 0x20 || value->data[i] == 0x7f) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* Target mode: Helicone-Target-Url's origin, if the allowlist has it. */

static ngx_int_t
ngx_http_helicone_plan_target(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    ngx_str_t                       origin;
    ngx_uint_t                      i;
    ngx_table_elt_t                *h;
    ngx_http_helicone_target_t     *t;
    ngx_http_helicone_provider_t  **pp;
    ngx_http_helicone_main_conf_t  *hmcf;

    h = ngx_http_helicone_header_find(&r->headers_in.headers,
                                      "helicone-fallbacks", 18);
    if (h) {
        return ngx_http_helicone_plan_fallbacks(r, ctx, h);
    }

    h = ngx_http_helicone_header_find(&r->headers_in.headers,
                                      "helicone-target-url", 19);
    if (h == NULL || h->value.len == 0) {
        return ngx_http_helicone_plan_refuse(r, ctx, NGX_HTTP_BAD_REQUEST,
                   "missing_target_url",
                   "the Helicone-Target-Url header is required");
    }

    if (ngx_http_helicone_url_origin(&h->value, &origin) != NGX_OK) {
        return ngx_http_helicone_plan_refuse(r, ctx, NGX_HTTP_BAD_REQUEST,
                   "invalid_target_url",
                   "Helicone-Target-Url must be an http or https URL");
    }

    ctx->target_origin = origin;

    if (!ngx_http_helicone_plan_allowed(r, &origin)) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "helicone: target \"%V\" is not allowed", &origin);

        return ngx_http_helicone_plan_refuse(r, ctx, NGX_HTTP_BAD_REQUEST,
                   "target_not_allowed",
                   "the target \"%V\" is not allowed by this gateway",
                   &origin);
    }

    t = &ctx->targets[0];
    ctx->ntargets = 1;

    t->model = ctx->model;

    /* a known provider's origin names the provider in the log */
    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);
    pp = hmcf->providers.elts;

    for (i = 0; i < hmcf->providers.nelts; i++) {
        if (pp[i]->origin.len == origin.len
            && ngx_strncasecmp(pp[i]->origin.data, origin.data, origin.len)
               == 0)
        {
            t->provider = pp[i];
            break;
        }
    }

    /*
     * Helicone-Target-Provider names the provider of an origin the table
     * does not know (a self-hosted model server): how its usage is read
     * and priced. A known origin is what it is: a client naming a cheaper
     * provider would lower what its cost limits are charged.
     */
    if (t->provider == NULL && ctx->asked.target_provider.len) {
        t->provider = ngx_http_helicone_provider_find(hmcf,
                                           ctx->asked.target_provider.data,
                                           ctx->asked.target_provider.len);
        t->provider_named = (t->provider != NULL);
    }

    return ngx_http_helicone_plan_uri(r, &origin, &t->url);
}


static ngx_uint_t
ngx_http_helicone_plan_allowed(ngx_http_request_t *r, ngx_str_t *origin)
{
    ngx_str_t                      *allow;
    ngx_uint_t                      i;
    ngx_http_helicone_provider_t  **pp;
    ngx_http_helicone_loc_conf_t   *hlcf;
    ngx_http_helicone_main_conf_t  *hmcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);

    if (hlcf->target_allow) {
        allow = hlcf->target_allow->elts;

        for (i = 0; i < hlcf->target_allow->nelts; i++) {
            if (allow[i].len == origin->len
                && ngx_strncasecmp(allow[i].data, origin->data, origin->len)
                   == 0)
            {
                return 1;
            }
        }
    }

    if (!hlcf->target_allow_providers
        || ngx_http_helicone_plan_internal(origin))
    {
        /* a provider on this host (ollama) is reached only if listed */
        return 0;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);
    pp = hmcf->providers.elts;

    for (i = 0; i < hmcf->providers.nelts; i++) {
        if (pp[i]->origin.len == origin->len
            && ngx_strncasecmp(pp[i]->origin.data, origin->data, origin->len)
               == 0)
        {
            return 1;
        }
    }

    return 0;
}


/*
 * Loopback, link-local (cloud metadata) and unspecified hosts: never
 * allowed by the "providers" keyword, only when listed by origin.
 */

static ngx_uint_t
ngx_http_helicone_plan_internal(ngx_str_t *origin)
{
    u_char  *host, *end;
    size_t   len;

    host = ngx_strlchr(origin->data, origin->data + origin->len, ':');
    if (host == NULL || origin->data + origin->len - host < 3) {
        return 1;
    }

    host += 3;
    end = origin->data + origin->len;

    /* the port, if any, is not part of the host */
    if (*host != '[') {
        end = ngx_strlchr(host, end, ':');
        end = end ? end : origin->data + origin->len;
    }

    len = end - host;

    return (len == 9 && ngx_strncasecmp(host, (u_char *) "localhost", 9) == 0)
           || (len >= 4 && ngx_strncmp(host, "127.", 4) == 0)
           || (len >= 8 && ngx_strncmp(host, "169.254.", 8) == 0)
           || (len >= 7 && ngx_strncmp(host, "0.0.0.0", 7) == 0)
           || (len >= 5 && ngx_strncmp(host, "[::1]", 5) == 0)
           || (len >= 4 && ngx_strncasecmp(host, (u_char *) "[fe8", 4) == 0)
           || (len >= 4 && ngx_strncmp(host, "[::]", 4) == 0);
}


/* origin + the client's path and query, as the client sent them */

static ngx_int_t
ngx_http_helicone_plan_uri(ngx_http_request_t *r, ngx_str_t *origin,
    ngx_str_t *url)
{
    u_char     *p;
    size_t      len;
    uintptr_t   escape;

    if (r->valid_unparsed_uri && !r->uri_changed) {
        url->len = origin->len + r->unparsed_uri.len;
        url->data = ngx_pnalloc(r->pool, url->len);
        if (url->data == NULL) {
            return NGX_ERROR;
        }

        p = ngx_cpymem(url->data, origin->data, origin->len);
        ngx_memcpy(p, r->unparsed_uri.data, r->unparsed_uri.len);

        return NGX_OK;
    }

    /* rewritten: r->uri is decoded, so escape it again */
    escape = 2 * ngx_escape_uri(NULL, r->uri.data, r->uri.len,
                                NGX_ESCAPE_URI);

    len = origin->len + r->uri.len + escape
          + (r->args.len ? 1 + r->args.len : 0);

    url->data = ngx_pnalloc(r->pool, len);
    if (url->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(url->data, origin->data, origin->len);

    if (escape) {
        p = (u_char *) ngx_escape_uri(p, r->uri.data, r->uri.len,
                                      NGX_ESCAPE_URI);

    } else {
        p = ngx_cpymem(p, r->uri.data, r->uri.len);
    }

    if (r->args.len) {
        *p++ = '?';
        p = ngx_cpymem(p, r->args.data, r->args.len);
    }

    url->len = p - url->data;

    return NGX_OK;
}


/*
 * The request cannot go on as planned: ctx->error_* say why, for
 * handler.c to send. Returns NGX_DECLINED (NGX_ERROR: no memory).
 */

ngx_int_t
ngx_http_helicone_plan_refuse(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_uint_t status, const char *code,
    const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    p = ngx_pnalloc(r->pool, 512);
    if (p == NULL) {
        return NGX_ERROR;
    }

    va_start(args, fmt);
    ctx->error_message.len = ngx_vslprintf(p, p + 512, fmt, args) - p;
    va_end(args);

    ctx->error_message.data = p;
    ctx->error_status = status;
    ctx->error_code = code;
    ctx->error_type = (status >= NGX_HTTP_INTERNAL_SERVER_ERROR)
                      ? "server_error" : "invalid_request_error";

    return NGX_DECLINED;
}


/*
 * The gateway target's URL and body, as its provider's dialect wants
 * them (dialect.c): the client's body with "model" replaced by the
 * provider's model id (and stream usage asked for), or translated.
 * NGX_DECLINED: the request cannot go to this target (ctx->error_* say
 * why).
 */

ngx_int_t
ngx_http_helicone_plan_prepare(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_target_t *t)
{
    int                             injected;
    ngx_http_helicone_provider_t   *pr;
    ngx_http_helicone_loc_conf_t   *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);

    if (hlcf->pass != NGX_HTTP_HELICONE_PASS_GATEWAY) {
        if (t->body.data == NULL) {
            /* Helicone-Fallbacks may have changed it already */
            t->body = ctx->body;
        }

        if (ctx->asked.stream_usage && ctx->stream && ctx->json_ok
            && !t->usage_injected
            && (ctx->api == NULL || ctx->api->stream_usage)
            && (t->provider == NULL || t->provider->dialect->include_usage))
        {
            /* Helicone-Stream-Usage: usage asked for, as gateway mode
             * always does, and cut from what the client gets; not of an
             * API without stream_options (Responses: its last event has
             * the usage) */
            if (ngx_http_helicone_plan_splice(r, ctx, NULL, 1, &t->body,
                                              &injected)
                == NGX_ERROR)
            {
                return NGX_ERROR;
            }

            t->usage_injected = injected;
        }

        return NGX_OK;
    }

    pr = t->provider;

    if (t->url.len == 0 && pr->dialect->url(r, ctx, t) != NGX_OK) {
        return NGX_ERROR;
    }

    if (t->body.len) {
        /* prepared for an earlier try */
        return NGX_OK;
    }

    /* the dialect's: translated, or the client's with its model id */
    return pr->dialect->request(r, ctx, t);
}


/*
 * *body (the client's, or one of a target's own) with "model" replaced
 * by *model (NULL: kept) and, with include_usage,
 * stream_options.include_usage set, spliced into a new buffer from the
 * request's pool that *body then points to. NGX_OK
 * (*injected: include_usage was added by us); NGX_DECLINED: nothing
 * changed, *body and *injected untouched but for *injected = 0;
 * NGX_ERROR: no memory.
 */

ngx_int_t
ngx_http_helicone_plan_splice(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_str_t *model, ngx_uint_t include_usage,
    ngx_str_t *body, int *injected)
{
    u_char                   *p;
    size_t                    len;
    helicone_json_value_t     root, m[2];
    helicone_rewrite_opts_t   rw;

    static const helicone_str_t  names[2] = {
        helicone_string("model"), helicone_string("stream_options")
    };

    *injected = 0;

    ngx_memzero(&rw, sizeof(helicone_rewrite_opts_t));

    if (model) {
        rw.model.data = model->data;
        rw.model.len = model->len;
    }

    rw.include_usage = include_usage;
    rw.found = 1;

    if (body->data == ctx->body.data) {
        root = ctx->json;
        rw.model_value = ctx->json_model;
        rw.stream_options = ctx->json_stream_options;

    } else {
        /* a body of its own (a bodyKeyOverride's): read it first */
        if (helicone_json_parse_pick(body->data, body->len, &root, names, 2,
                                     m)
            != HELICONE_OK
            || root.type != HELICONE_JSON_OBJECT)
        {
            return NGX_DECLINED;
        }

        rw.model_value = m[0];
        rw.stream_options = m[1];
    }

    p = ngx_pnalloc(r->pool, helicone_rewrite_size(&root, &rw));
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (helicone_rewrite_request(&root, &rw, p, &len, injected)
        != HELICONE_OK)
    {
        return NGX_DECLINED;
    }

    body->data = p;
    body->len = len;

    return NGX_OK;
}
