/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * What a request cost: the price of the served provider and model, from
 * the registry (by provider model id) or else Helicone's legacy tables
 * (by model name), applied to the usage the response reported.
 */

#include "ngx_http_helicone_module.h"


#define NGX_HTTP_HELICONE_PRICE_KEY_MAX  512


static helicone_price_t *ngx_http_helicone_price_find(
    ngx_http_helicone_main_conf_t *hmcf, ngx_str_t *provider,
    ngx_str_t *model);
static const helicone_legacy_row_t *ngx_http_helicone_legacy_find(
    ngx_http_helicone_main_conf_t *hmcf, ngx_str_t *provider,
    ngx_str_t *model);


ngx_int_t
ngx_http_helicone_costs_init(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf)
{
    ngx_str_t               text, source;
    ngx_hash_init_t         hash;
    ngx_hash_keys_arrays_t  keys;

    if (hmcf->costs_file.len) {
        if (ngx_conf_full_name(cf->cycle, &hmcf->costs_file, 1) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ngx_http_helicone_conf_read_file(cf, &hmcf->costs_file, &text)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        source = hmcf->costs_file;

    } else {
        text.data = (u_char *) ngx_http_helicone_embedded_costs;
        text.len = ngx_http_helicone_embedded_costs_len;
        ngx_str_set(&source, "built-in costs.json");
    }

    if (ngx_array_init(&hmcf->legacy, cf->pool, 40,
                       sizeof(ngx_http_helicone_legacy_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_memzero(&keys, sizeof(ngx_hash_keys_arrays_t));
    keys.pool = cf->pool;
    keys.temp_pool = cf->temp_pool;

    if (ngx_hash_keys_array_init(&keys, NGX_HASH_LARGE) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_helicone_json_load_costs(cf, hmcf, text.data, text.len,
                                          &source, &keys)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    hash.hash = &hmcf->prices_hash;
    hash.key = ngx_hash_key_lc;
    hash.max_size = 8192;
    hash.bucket_size = ngx_align(512, ngx_cacheline_size);
    hash.name = "helicone_prices_hash";
    hash.pool = cf->pool;
    hash.temp_pool = NULL;

    return ngx_hash_init(&hash, keys.keys.elts, keys.keys.nelts);
}


/*
 * NGX_OK with ctx->cost (pico-USD); NGX_DECLINED when the cost is not
 * known: no usage, or no price for the model. Computed once.
 */

ngx_int_t
ngx_http_helicone_cost(ngx_http_request_t *r, ngx_http_helicone_ctx_t *ctx)
{
    ngx_str_t                       model, *provider;
    helicone_price_t               *price;
    helicone_usage_kind_e           kind;
    ngx_http_helicone_target_t     *t;
    const helicone_legacy_row_t    *row;
    ngx_http_helicone_main_conf_t  *hmcf;

    if (ctx->cost_done) {
        return ctx->cost_known ? NGX_OK : NGX_DECLINED;
    }

    ctx->cost_done = 1;

    if (ctx->served == NULL || ctx->served->target->provider == NULL
        || !ctx->usage.found)
    {
        return NGX_DECLINED;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);
    t = ctx->served->target;
    provider = &t->provider->name;

    /* the model priced: override, else the response's, else the one sent */
    if (ctx->model_override.len) {
        model = ctx->model_override;

    } else if (ctx->served_model.len) {
        model = ctx->served_model;

    } else {
        model = t->model;
    }

    price = ngx_http_helicone_price_find(hmcf, provider, &model);

    if (price == NULL && ctx->model_override.len == 0 && t->model.len
        && (t->model.len != model.len
            || ngx_strncmp(t->model.data, model.data, model.len) != 0))
    {
        /* a response may name a dated model: the id sent is registered */
        price = ngx_http_helicone_price_find(hmcf, provider, &t->model);
    }

    if (price) {
        if (helicone_cost_registry(price, &ctx->usage, &ctx->cost)
            != HELICONE_OK)
        {
            return NGX_DECLINED;
        }

        ctx->cost_known = 1;
        return NGX_OK;
    }

    row = ngx_http_helicone_legacy_find(hmcf, &t->provider->legacy_name,
                                        &model);
    if (row == NULL) {
        return NGX_DECLINED;
    }

    if (t->provider->api == NGX_HTTP_HELICONE_API_ANTHROPIC) {
        kind = HELICONE_USAGE_ANTHROPIC;

    } else if (provider->len == 3 && ngx_strncmp(provider->data, "xai", 3) == 0)
    {
        /* xAI's completion count leaves reasoning out */
        kind = HELICONE_USAGE_XAI;

    } else {
        kind = HELICONE_USAGE_OPENAI;
    }

    if (helicone_cost_legacy(row, &ctx->usage, kind, &ctx->cost)
        != HELICONE_OK)
    {
        return NGX_DECLINED;
    }

    ctx->cost_known = 1;

    return NGX_OK;
}


/* The cost as a JSON number in USD, or "null"; buf holds 32 bytes. */

size_t
ngx_http_helicone_cost_format(ngx_http_helicone_ctx_t *ctx, u_char *buf)
{
    if (ngx_http_helicone_cost(ctx->request, ctx) != NGX_OK) {
        ngx_memcpy(buf, "null", 4);
        return 4;
    }

    return helicone_cost_format_usd(ctx->cost, buf);
}


static helicone_price_t *
ngx_http_helicone_price_find(ngx_http_helicone_main_conf_t *hmcf,
    ngx_str_t *provider, ngx_str_t *model)
{
    u_char      *p, key[NGX_HTTP_HELICONE_PRICE_KEY_MAX];
    size_t       len;
    ngx_uint_t   hash;

    len = provider->len + 1 + model->len;

    if (len > sizeof(key) || hmcf->prices_hash.buckets == NULL) {
        return NULL;
    }

    p = ngx_cpymem(key, provider->data, provider->len);
    *p++ = ':';
    ngx_memcpy(p, model->data, model->len);

    hash = ngx_hash_strlow(key, key, len);

    return ngx_hash_find(&hmcf->prices_hash, hash, key, len);
}


static const helicone_legacy_row_t *
ngx_http_helicone_legacy_find(ngx_http_helicone_main_conf_t *hmcf,
    ngx_str_t *provider, ngx_str_t *model)
{
    ngx_uint_t                   i;
    ngx_http_helicone_legacy_t  *t;

    t = hmcf->legacy.elts;

    for (i = 0; i < hmcf->legacy.nelts; i++) {
        if (t[i].provider.len == provider->len
            && ngx_strncasecmp(t[i].provider.data, provider->data,
                               provider->len) == 0)
        {
            return helicone_cost_legacy_match(t[i].rows, t[i].nrows,
                                              model->data, model->len);
        }
    }

    return NULL;
}
