/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * What a request cost: the price of the served provider and model, from
 * the registry (by provider model id) or else Helicone's legacy tables
 * (by model name), applied to the usage the response reported; and, for
 * cost limits, the ceiling charged when that price is unknown.
 */

#include "ngx_http_helicone_module.h"


#define NGX_HTTP_HELICONE_PRICE_KEY_MAX  512


static helicone_price_t *ngx_http_helicone_price_find(
    ngx_http_helicone_main_conf_t *hmcf, ngx_str_t *provider,
    ngx_str_t *model);
static const helicone_legacy_row_t *ngx_http_helicone_legacy_find(
    ngx_http_helicone_provider_t *provider, ngx_str_t *model);
static void ngx_http_helicone_legacy_resolve(
    ngx_http_helicone_main_conf_t *hmcf);
static ngx_http_helicone_legacy_t *ngx_http_helicone_legacy_table(
    ngx_http_helicone_main_conf_t *hmcf, ngx_str_t *provider);
static helicone_usage_kind_e ngx_http_helicone_legacy_kind(
    ngx_http_helicone_provider_t *provider);
static ngx_int_t ngx_http_helicone_price_sets_init(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, ngx_array_t *keys);
static void ngx_http_helicone_ceiling_registry(
    ngx_http_helicone_prices_t *set, helicone_usage_t *usage,
    uint64_t *pico);
static void ngx_http_helicone_ceiling_legacy(ngx_http_helicone_legacy_t *t,
    helicone_usage_t *usage, helicone_usage_kind_e kind, uint64_t *pico);


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

    if (ngx_http_helicone_price_sets_init(cf, hmcf, &keys.keys) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_http_helicone_legacy_resolve(hmcf);

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
 * NGX_OK with ctx->cost.pico (pico-USD); NGX_DECLINED when the cost is not
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

    if (ctx->cost.done) {
        return ctx->cost.known ? NGX_OK : NGX_DECLINED;
    }

    ctx->cost.done = 1;

    if (ctx->served == NULL || ctx->served->target->provider == NULL
        || !ctx->relay.usage.found)
    {
        return NGX_DECLINED;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);
    t = ctx->served->target;
    provider = &t->provider->name;

    /*
     * the model priced: the response's, else the one sent; never
     * Helicone-Model-Override, which a client could point at a cheap
     * price (it only renames the model in the event)
     */
    if (ctx->relay.served_model.len) {
        model = ctx->relay.served_model;

    } else {
        model = t->model;
    }

    price = ngx_http_helicone_price_find(hmcf, provider, &model);

    if (price == NULL && t->model.len
        && (t->model.len != model.len
            || ngx_strncmp(t->model.data, model.data, model.len) != 0))
    {
        /* a response may name a dated model: the id sent is registered */
        price = ngx_http_helicone_price_find(hmcf, provider, &t->model);
    }

    if (price) {
        if (helicone_cost_registry(price, &ctx->relay.usage, &ctx->cost.pico)
            != HELICONE_OK)
        {
            return NGX_DECLINED;
        }

        ctx->cost.known = 1;
        return NGX_OK;
    }

    row = ngx_http_helicone_legacy_find(t->provider, &model);
    if (row == NULL) {
        return NGX_DECLINED;
    }

    kind = ngx_http_helicone_legacy_kind(t->provider);

    if (helicone_cost_legacy(row, &ctx->relay.usage, kind, &ctx->cost.pico)
        != HELICONE_OK)
    {
        return NGX_DECLINED;
    }

    ctx->cost.known = 1;

    return NGX_OK;
}


static helicone_usage_kind_e
ngx_http_helicone_legacy_kind(ngx_http_helicone_provider_t *provider)
{
    if (provider->dialect->usage_kind != HELICONE_USAGE_OPENAI) {
        /* the dialect counts its own way (Anthropic: cache apart) */
        return provider->dialect->usage_kind;
    }

    if (provider->name.len == 3
        && ngx_strncmp(provider->name.data, "xai", 3) == 0)
    {
        /* xAI's completion count leaves reasoning out */
        return HELICONE_USAGE_XAI;
    }

    return HELICONE_USAGE_OPENAI;
}


/*
 * What a cost limit charges when the price is unknown (an unknown price
 * must not be free): the usage at the served provider's most expensive
 * known price (its registry prices, else its legacy table), or at the
 * most expensive price known at all when the provider has none.
 * NGX_OK with *pico; NGX_DECLINED without usage.
 */

ngx_int_t
ngx_http_helicone_cost_ceiling(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, uint64_t *pico)
{
    ngx_uint_t                      i;
    helicone_usage_kind_e           kind;
    ngx_http_helicone_prices_t     *set;
    ngx_http_helicone_legacy_t     *t;
    ngx_http_helicone_provider_t   *provider;
    ngx_http_helicone_main_conf_t  *hmcf;

    if (ctx->served == NULL || ctx->served->target->provider == NULL
        || !ctx->relay.usage.found)
    {
        return NGX_DECLINED;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);
    provider = ctx->served->target->provider;
    kind = ngx_http_helicone_legacy_kind(provider);

    *pico = 0;

    set = hmcf->price_sets.elts;

    for (i = 0; i < hmcf->price_sets.nelts; i++) {
        if (set[i].provider.len == provider->name.len
            && ngx_strncasecmp(set[i].provider.data, provider->name.data,
                               provider->name.len) == 0)
        {
            ngx_http_helicone_ceiling_registry(&set[i], &ctx->relay.usage,
                                               pico);
            return NGX_OK;
        }
    }

    t = provider->legacy;

    if (t) {
        ngx_http_helicone_ceiling_legacy(t, &ctx->relay.usage, kind, pico);
        return NGX_OK;
    }

    /* a provider without prices: the dearest of all */

    for (i = 0; i < hmcf->price_sets.nelts; i++) {
        ngx_http_helicone_ceiling_registry(&set[i], &ctx->relay.usage, pico);
    }

    t = hmcf->legacy.elts;

    for (i = 0; i < hmcf->legacy.nelts; i++) {
        ngx_http_helicone_ceiling_legacy(&t[i], &ctx->relay.usage, kind, pico);
    }

    return NGX_OK;
}


/* Raises *pico to the usage's cost at the dearest of set's prices. */

static void
ngx_http_helicone_ceiling_registry(ngx_http_helicone_prices_t *set,
    helicone_usage_t *usage, uint64_t *pico)
{
    uint64_t           cost;
    ngx_uint_t         i;
    helicone_price_t **price;

    price = set->prices.elts;

    for (i = 0; i < set->prices.nelts; i++) {
        if (helicone_cost_registry(price[i], usage, &cost) == HELICONE_OK
            && cost > *pico)
        {
            *pico = cost;
        }
    }
}


static void
ngx_http_helicone_ceiling_legacy(ngx_http_helicone_legacy_t *t,
    helicone_usage_t *usage, helicone_usage_kind_e kind, uint64_t *pico)
{
    size_t    i;
    uint64_t  cost;

    for (i = 0; i < t->nrows; i++) {
        if (helicone_cost_legacy(&t->rows[i], usage, kind, &cost)
            == HELICONE_OK
            && cost > *pico)
        {
            *pico = cost;
        }
    }
}


/*
 * The registry's prices by provider, from the hash's keys
 * ("provider:model id"); a price named by several ids is kept once.
 */

static ngx_int_t
ngx_http_helicone_price_sets_init(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, ngx_array_t *keys)
{
    u_char                      *colon;
    ngx_str_t                    provider;
    ngx_uint_t                   i, j;
    ngx_hash_key_t              *k;
    helicone_price_t           **price;
    ngx_http_helicone_prices_t  *set;

    if (ngx_array_init(&hmcf->price_sets, cf->pool, 32,
                       sizeof(ngx_http_helicone_prices_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    k = keys->elts;

    for (i = 0; i < keys->nelts; i++) {
        colon = ngx_strlchr(k[i].key.data, k[i].key.data + k[i].key.len, ':');
        if (colon == NULL) {
            continue;
        }

        provider.data = k[i].key.data;
        provider.len = colon - k[i].key.data;

        set = hmcf->price_sets.elts;

        for (j = 0; j < hmcf->price_sets.nelts; j++) {
            if (set[j].provider.len == provider.len
                && ngx_strncmp(set[j].provider.data, provider.data,
                               provider.len) == 0)
            {
                break;
            }
        }

        if (j == hmcf->price_sets.nelts) {
            set = ngx_array_push(&hmcf->price_sets);
            if (set == NULL) {
                return NGX_ERROR;
            }

            set->provider = provider;

            if (ngx_array_init(&set->prices, cf->pool, 16,
                               sizeof(helicone_price_t *))
                != NGX_OK)
            {
                return NGX_ERROR;
            }

        } else {
            set = &set[j];
        }

        price = set->prices.elts;

        if (set->prices.nelts && price[set->prices.nelts - 1] == k[i].value)
        {
            continue;
        }

        price = ngx_array_push(&set->prices);
        if (price == NULL) {
            return NGX_ERROR;
        }

        *price = k[i].value;
    }

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

    return helicone_cost_format_usd(ctx->cost.pico, buf);
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
ngx_http_helicone_legacy_find(ngx_http_helicone_provider_t *provider,
    ngx_str_t *model)
{
    ngx_http_helicone_legacy_t  *t;

    t = provider->legacy;
    if (t == NULL) {
        return NULL;
    }

    return helicone_cost_legacy_match(t->rows, t->nrows, model->data,
                                      model->len);
}


/*
 * Each provider's legacy table, found once here rather than among all
 * tables on each response: the tables are all read, none moves after.
 */

static void
ngx_http_helicone_legacy_resolve(ngx_http_helicone_main_conf_t *hmcf)
{
    ngx_uint_t                      i;
    ngx_http_helicone_provider_t  **pr;

    pr = hmcf->providers.elts;

    for (i = 0; i < hmcf->providers.nelts; i++) {
        pr[i]->legacy = ngx_http_helicone_legacy_table(hmcf,
                                                       &pr[i]->legacy_name);
    }
}


/* The legacy table of a provider (its legacy name), or NULL. */

static ngx_http_helicone_legacy_t *
ngx_http_helicone_legacy_table(ngx_http_helicone_main_conf_t *hmcf,
    ngx_str_t *provider)
{
    ngx_uint_t                   i;
    ngx_http_helicone_legacy_t  *t;

    t = hmcf->legacy.elts;

    for (i = 0; i < hmcf->legacy.nelts; i++) {
        if (t[i].provider.len == provider->len
            && helicone_caseless_eq(t[i].provider.data, provider->data,
                                    provider->len))
        {
            return &t[i];
        }
    }

    return NULL;
}
