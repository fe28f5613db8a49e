/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Reads the provider and model data files at configuration time. */

#include "ngx_http_helicone_module.h"

#include <cjson/cJSON.h>


static ngx_int_t ngx_http_helicone_json_str(ngx_conf_t *cf, cJSON *obj,
    const char *name, ngx_uint_t required, ngx_str_t *out, ngx_str_t *source);
static u_char *ngx_http_helicone_json_strdup(ngx_pool_t *pool,
    ngx_str_t *s);
static uint64_t ngx_http_helicone_json_price(cJSON *obj, const char *name,
    uint64_t dflt, double scale);
static ngx_int_t ngx_http_helicone_json_enum(cJSON *obj, const char *name,
    const char **names, ngx_uint_t n, ngx_uint_t *out);
static ngx_int_t ngx_http_helicone_json_load_price(ngx_conf_t *cf,
    cJSON *item, ngx_str_t *source, ngx_hash_keys_arrays_t *keys);
static ngx_int_t ngx_http_helicone_json_load_legacy(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, cJSON *item, ngx_str_t *source);
static ngx_int_t ngx_http_helicone_json_add_model_key(
    ngx_hash_keys_arrays_t *keys, ngx_pool_t *pool, const char *name,
    ngx_http_helicone_model_t *model);


ngx_int_t
ngx_http_helicone_json_load_providers(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, u_char *text, size_t len,
    ngx_str_t *source)
{
    cJSON                          *root, *list, *item, *v, *h;
    ngx_str_t                       s;
    ngx_keyval_t                   *kv;
    ngx_http_helicone_provider_t   *p, **pp;

    root = cJSON_ParseWithLength((const char *) text, len);
    if (root == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V is not valid JSON", source);
        return NGX_ERROR;
    }

    list = cJSON_GetObjectItemCaseSensitive(root, "providers");
    if (!cJSON_IsArray(list)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V has no \"providers\" array", source);
        goto failed;
    }

    cJSON_ArrayForEach(item, list) {

        p = ngx_pcalloc(cf->pool, sizeof(ngx_http_helicone_provider_t));
        if (p == NULL) {
            goto failed;
        }

        if (ngx_http_helicone_json_str(cf, item, "name", 1, &p->name, source)
            != NGX_OK
            || ngx_http_helicone_json_str(cf, item, "base_url", 1,
                                          &p->base_url, source)
               != NGX_OK
            || ngx_http_helicone_json_str(cf, item, "chat_path", 1,
                                          &p->chat_path, source)
               != NGX_OK
            || ngx_http_helicone_json_str(cf, item, "legacy_name", 0,
                                          &p->legacy_name, source)
               != NGX_OK
            || ngx_http_helicone_json_str(cf, item, "responses_path", 0,
                                          &p->responses_path, source)
               != NGX_OK
            || ngx_http_helicone_json_str(cf, item, "embeddings_path", 0,
                                          &p->embeddings_path, source)
               != NGX_OK)
        {
            goto failed;
        }

        if (p->legacy_name.len == 0) {
            ngx_str_set(&p->legacy_name, "CUSTOM");
        }

        if (ngx_http_helicone_url_origin(&p->base_url, &p->origin) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%V: provider \"%V\" has an invalid base_url",
                               source, &p->name);
            goto failed;
        }

        if (ngx_http_helicone_json_str(cf, item, "api", 1, &s, source)
            != NGX_OK)
        {
            goto failed;
        }

        p->dialect = ngx_http_helicone_dialect_find(&s);
        if (p->dialect == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%V: unknown api \"%V\" in provider \"%V\"",
                               source, &s, &p->name);
            goto failed;
        }

        if (ngx_http_helicone_json_str(cf, item, "auth", 1, &s, source)
            != NGX_OK)
        {
            goto failed;
        }

        if (ngx_http_helicone_provider_parse_auth(&s, &p->auth) != NGX_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%V: unknown auth \"%V\" in provider \"%V\"",
                               source, &s, &p->name);
            goto failed;
        }

        v = cJSON_GetObjectItemCaseSensitive(item, "priority");
        p->priority = cJSON_IsNumber(v) ? (ngx_uint_t) v->valuedouble : 4;

        v = cJSON_GetObjectItemCaseSensitive(item, "stream_usage");
        p->stream_usage = cJSON_IsFalse(v) ? 0 : 1;

        v = cJSON_GetObjectItemCaseSensitive(item, "headers");

        if (cJSON_IsObject(v) && v->child) {
            p->headers = ngx_array_create(cf->pool, 2, sizeof(ngx_keyval_t));
            if (p->headers == NULL) {
                goto failed;
            }

            cJSON_ArrayForEach(h, v) {
                if (!cJSON_IsString(h)) {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "%V: header \"%s\" of provider "
                                       "\"%V\" is not a string",
                                       source, h->string, &p->name);
                    goto failed;
                }

                kv = ngx_array_push(p->headers);
                if (kv == NULL) {
                    goto failed;
                }

                s.len = ngx_strlen(h->string);
                s.data = (u_char *) h->string;
                kv->key.len = s.len;
                kv->key.data = ngx_http_helicone_json_strdup(cf->pool, &s);

                s.len = ngx_strlen(h->valuestring);
                s.data = (u_char *) h->valuestring;
                kv->value.len = s.len;
                kv->value.data = ngx_http_helicone_json_strdup(cf->pool, &s);

                if (kv->key.data == NULL || kv->value.data == NULL) {
                    goto failed;
                }
            }
        }

        pp = ngx_array_push(&hmcf->providers);
        if (pp == NULL) {
            goto failed;
        }

        *pp = p;
    }

    cJSON_Delete(root);

    return NGX_OK;

failed:

    cJSON_Delete(root);

    return NGX_ERROR;
}


ngx_int_t
ngx_http_helicone_json_load_models(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, u_char *text, size_t len,
    ngx_str_t *source, ngx_hash_keys_arrays_t *keys)
{
    cJSON                          *root, *models, *aliases, *contexts, *m,
                                   *e, *v;
    ngx_str_t                       name, provider, id;
    ngx_uint_t                      i, j;
    ngx_array_t                     all;
    ngx_http_helicone_model_t      *model, **mp;
    ngx_http_helicone_endpoint_t   *ep;

    if (ngx_array_init(&all, cf->pool, 128,
                       sizeof(ngx_http_helicone_model_t *))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    root = cJSON_ParseWithLength((const char *) text, len);
    if (root == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V is not valid JSON", source);
        return NGX_ERROR;
    }

    models = cJSON_GetObjectItemCaseSensitive(root, "models");
    if (!cJSON_IsObject(models)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V has no \"models\" object", source);
        goto failed;
    }

    /* model names first: they win over ids and aliases of the same text */

    cJSON_ArrayForEach(m, models) {

        if (!cJSON_IsArray(m)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%V: model \"%s\" is not an array",
                               source, m->string);
            goto failed;
        }

        model = ngx_pcalloc(cf->pool, sizeof(ngx_http_helicone_model_t));
        if (model == NULL) {
            goto failed;
        }

        name.len = ngx_strlen(m->string);
        name.data = (u_char *) m->string;

        model->name.len = name.len;
        model->name.data = ngx_http_helicone_json_strdup(cf->pool, &name);
        if (model->name.data == NULL) {
            goto failed;
        }

        if (ngx_array_init(&model->endpoints, cf->pool, 4,
                           sizeof(ngx_http_helicone_endpoint_t))
            != NGX_OK)
        {
            goto failed;
        }

        cJSON_ArrayForEach(e, m) {
            if (ngx_http_helicone_json_str(cf, e, "provider", 1, &provider,
                                           source)
                != NGX_OK
                || ngx_http_helicone_json_str(cf, e, "id", 1, &id, source)
                   != NGX_OK)
            {
                goto failed;
            }

            ep = ngx_array_push(&model->endpoints);
            if (ep == NULL) {
                goto failed;
            }

            /* a replaced provider table may lack some: those stay NULL */
            ep->provider = ngx_http_helicone_provider_find(hmcf,
                                                           provider.data,
                                                           provider.len);
            ep->id = id;
        }

        if (ngx_http_helicone_json_add_model_key(keys, cf->pool, m->string,
                                                 model)
            != NGX_OK)
        {
            goto failed;
        }

        mp = ngx_array_push(&all);
        if (mp == NULL) {
            goto failed;
        }

        *mp = model;
    }

    aliases = cJSON_GetObjectItemCaseSensitive(root, "aliases");

    if (cJSON_IsObject(aliases)) {
        cJSON_ArrayForEach(v, aliases) {
            if (!cJSON_IsString(v)) {
                continue;
            }

            model = NULL;
            mp = all.elts;

            for (i = 0; i < all.nelts; i++) {
                if (ngx_strcmp(mp[i]->name.data, v->valuestring) == 0) {
                    model = mp[i];
                    break;
                }
            }

            if (model == NULL) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "%V: alias \"%s\" names unknown model "
                                   "\"%s\"", source, v->string,
                                   v->valuestring);
                goto failed;
            }

            if (ngx_http_helicone_json_add_model_key(keys, cf->pool,
                                                     v->string, model)
                != NGX_OK)
            {
                goto failed;
            }
        }
    }

    /* context windows, where known: what a token limit is taken from */

    contexts = cJSON_GetObjectItemCaseSensitive(root, "contexts");

    if (cJSON_IsObject(contexts)) {
        mp = all.elts;

        cJSON_ArrayForEach(v, contexts) {
            if (!cJSON_IsNumber(v) || v->valuedouble < 1) {
                continue;
            }

            for (i = 0; i < all.nelts; i++) {
                if (ngx_strcmp(mp[i]->name.data, v->string) == 0) {
                    mp[i]->context = (ngx_uint_t) v->valuedouble;
                    break;
                }
            }
        }
    }

    /* provider model ids route to their model too */

    mp = all.elts;

    for (i = 0; i < all.nelts; i++) {
        ep = mp[i]->endpoints.elts;

        for (j = 0; j < mp[i]->endpoints.nelts; j++) {
            if (ngx_http_helicone_json_add_model_key(keys, cf->pool,
                                                     (char *) ep[j].id.data,
                                                     mp[i])
                != NGX_OK)
            {
                goto failed;
            }
        }
    }

    /* kept for the model list (models.c) */
    hmcf->models = ngx_palloc(cf->pool, sizeof(ngx_array_t));
    if (hmcf->models == NULL) {
        goto failed;
    }

    *hmcf->models = all;

    cJSON_Delete(root);

    return NGX_OK;

failed:

    cJSON_Delete(root);

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_helicone_json_add_model_key(ngx_hash_keys_arrays_t *keys,
    ngx_pool_t *pool, const char *name, ngx_http_helicone_model_t *model)
{
    ngx_int_t  rc;
    ngx_str_t  key;

    key.len = ngx_strlen(name);
    key.data = ngx_pnalloc(pool, key.len);
    if (key.data == NULL) {
        return NGX_ERROR;
    }

    ngx_strlow(key.data, (u_char *) name, key.len);

    rc = ngx_hash_add_key(keys, &key, model, NGX_HASH_READONLY_KEY);

    /* NGX_BUSY: the name is taken already, the first one wins */
    return rc == NGX_ERROR ? NGX_ERROR : NGX_OK;
}


static ngx_int_t
ngx_http_helicone_json_str(ngx_conf_t *cf, cJSON *obj, const char *name,
    ngx_uint_t required, ngx_str_t *out, ngx_str_t *source)
{
    cJSON      *v;
    ngx_str_t   s;

    v = cJSON_GetObjectItemCaseSensitive(obj, name);

    if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
        if (!required && v == NULL) {
            ngx_str_null(out);
            return NGX_OK;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V: \"%s\" must be a non-empty string",
                           source, name);
        return NGX_ERROR;
    }

    s.len = ngx_strlen(v->valuestring);
    s.data = (u_char *) v->valuestring;

    /* NUL-terminated copies: some are used as C strings */
    out->len = s.len;
    out->data = ngx_pnalloc(cf->pool, s.len + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(out->data, s.data, s.len);
    out->data[s.len] = '\0';

    return NGX_OK;
}


/* Like ngx_pstrdup(), NUL-terminated: names are compared as C strings. */

static u_char *
ngx_http_helicone_json_strdup(ngx_pool_t *pool, ngx_str_t *s)
{
    u_char  *p;

    p = ngx_pnalloc(pool, s->len + 1);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, s->data, s->len);
    p[s->len] = '\0';

    return p;
}


/*
 * costs.json: registry prices into a hash by "provider:model id" (every
 * id and alias id), legacy tables into hmcf->legacy in the data's order.
 */

ngx_int_t
ngx_http_helicone_json_load_costs(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, u_char *text, size_t len,
    ngx_str_t *source, ngx_hash_keys_arrays_t *keys)
{
    cJSON  *root, *list, *item;

    root = cJSON_ParseWithLength((const char *) text, len);
    if (root == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V is not valid JSON", source);
        return NGX_ERROR;
    }

    list = cJSON_GetObjectItemCaseSensitive(root, "registry");

    if (!cJSON_IsArray(list)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V has no \"registry\" array", source);
        goto failed;
    }

    cJSON_ArrayForEach(item, list) {
        if (ngx_http_helicone_json_load_price(cf, item, source, keys)
            != NGX_OK)
        {
            goto failed;
        }
    }

    list = cJSON_GetObjectItemCaseSensitive(root, "legacy");

    if (list && !cJSON_IsArray(list)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V: \"legacy\" is not an array", source);
        goto failed;
    }

    cJSON_ArrayForEach(item, list) {
        if (ngx_http_helicone_json_load_legacy(cf, hmcf, item, source)
            != NGX_OK)
        {
            goto failed;
        }
    }

    cJSON_Delete(root);

    return NGX_OK;

failed:

    cJSON_Delete(root);

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_helicone_json_load_price(ngx_conf_t *cf, cJSON *item,
    ngx_str_t *source, ngx_hash_keys_arrays_t *keys)
{
    u_char                 *p;
    size_t                  n;
    cJSON                  *tiers, *tier, *ids, *id;
    ngx_str_t               provider, key;
    ngx_uint_t              v;
    helicone_price_t       *price;
    helicone_price_tier_t  *pt;

    static const char  *rules[] = {
        "first", "anthropic", "google", "vertex", "xai"
    };

    static const char  *kinds[] = { "openai", "anthropic", "xai" };

    if (ngx_http_helicone_json_str(cf, item, "provider", 1, &provider,
                                   source)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    tiers = cJSON_GetObjectItemCaseSensitive(item, "tiers");
    ids = cJSON_GetObjectItemCaseSensitive(item, "ids");
    n = (size_t) cJSON_GetArraySize(tiers);

    if (!cJSON_IsArray(tiers) || n == 0 || !cJSON_IsArray(ids)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V: a \"%V\" price needs \"tiers\" and "
                           "\"ids\"", source, &provider);
        return NGX_ERROR;
    }

    price = ngx_pcalloc(cf->pool, sizeof(helicone_price_t));
    pt = ngx_pcalloc(cf->pool, n * sizeof(helicone_price_tier_t));
    if (price == NULL || pt == NULL) {
        return NGX_ERROR;
    }

    price->tiers = pt;
    price->ntiers = n;

    if (ngx_http_helicone_json_enum(item, "tier_rule", rules, 5, &v)
        != NGX_OK)
    {
        goto invalid;
    }

    price->tier_rule = (helicone_tier_rule_e) v;

    if (ngx_http_helicone_json_enum(item, "usage_kind", kinds, 3, &v)
        != NGX_OK)
    {
        goto invalid;
    }

    price->usage_kind = (helicone_usage_kind_e) v;

    /* per-call prices are USD, not USD per 1M tokens */
    price->per_request = ngx_http_helicone_json_price(item,
                                                      "per_request_usd", 0,
                                                      1e6);
    price->per_web_search = ngx_http_helicone_json_price(item,
                                                  "per_web_search_usd", 0,
                                                  1e6);

    cJSON_ArrayForEach(tier, tiers) {
        pt->threshold = ngx_http_helicone_json_price(tier, "threshold", 0,
                                                     1e-6);
        pt->input = ngx_http_helicone_json_price(tier, "input", 0, 1);
        pt->output = ngx_http_helicone_json_price(tier, "output", 0, 1);
        pt->cached_input = ngx_http_helicone_json_price(tier, "cached_input",
                                                  HELICONE_COST_UNSET, 1);
        pt->cache_write_5m = ngx_http_helicone_json_price(tier,
                                                  "cache_write_5m",
                                                  HELICONE_COST_UNSET, 1);
        pt->cache_write_1h = ngx_http_helicone_json_price(tier,
                                                  "cache_write_1h",
                                                  HELICONE_COST_UNSET, 1);
        pt->thinking = ngx_http_helicone_json_price(tier, "thinking",
                                                    HELICONE_COST_UNSET, 1);
        pt++;
    }

    cJSON_ArrayForEach(id, ids) {
        if (!cJSON_IsString(id)) {
            goto invalid;
        }

        key.len = provider.len + 1 + ngx_strlen(id->valuestring);
        key.data = ngx_pnalloc(cf->pool, key.len);
        if (key.data == NULL) {
            return NGX_ERROR;
        }

        p = ngx_cpymem(key.data, provider.data, provider.len);
        *p++ = ':';
        ngx_memcpy(p, id->valuestring, key.len - provider.len - 1);
        ngx_strlow(key.data, key.data, key.len);

        /* NGX_BUSY: an id priced twice, the first entry wins */
        if (ngx_hash_add_key(keys, &key, price, NGX_HASH_READONLY_KEY)
            == NGX_ERROR)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "%V: invalid price entry for provider \"%V\"",
                       source, &provider);
    return NGX_ERROR;
}


static ngx_int_t
ngx_http_helicone_json_load_legacy(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, cJSON *item, ngx_str_t *source)
{
    size_t                       n;
    cJSON                       *rows, *row;
    ngx_str_t                    value;
    ngx_uint_t                   v;
    helicone_legacy_row_t       *lr;
    ngx_http_helicone_legacy_t  *t;

    static const char  *matches[] = { "exact", "prefix", "substring" };

    t = ngx_array_push(&hmcf->legacy);
    if (t == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_helicone_json_str(cf, item, "provider", 1, &t->provider,
                                   source)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    rows = cJSON_GetObjectItemCaseSensitive(item, "rows");
    n = (size_t) cJSON_GetArraySize(rows);

    if (!cJSON_IsArray(rows)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%V: legacy table \"%V\" has no \"rows\"",
                           source, &t->provider);
        return NGX_ERROR;
    }

    t->nrows = n;
    t->rows = ngx_pcalloc(cf->pool, (n ? n : 1)
                                    * sizeof(helicone_legacy_row_t));
    if (t->rows == NULL) {
        return NGX_ERROR;
    }

    lr = t->rows;

    cJSON_ArrayForEach(row, rows) {
        if (ngx_http_helicone_json_enum(row, "match", matches, 3, &v)
            != NGX_OK
            || ngx_http_helicone_json_str(cf, row, "value", 1, &value,
                                          source)
               != NGX_OK)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%V: invalid row in legacy table \"%V\"",
                               source, &t->provider);
            return NGX_ERROR;
        }

        ngx_strlow(value.data, value.data, value.len);

        lr->match = (helicone_match_e) v;
        lr->value.data = value.data;
        lr->value.len = value.len;
        lr->input = ngx_http_helicone_json_price(row, "input", 0, 1);
        lr->output = ngx_http_helicone_json_price(row, "output", 0, 1);
        lr->cache_read = ngx_http_helicone_json_price(row, "cache_read",
                                                HELICONE_COST_UNSET, 1);
        lr->cache_write = ngx_http_helicone_json_price(row, "cache_write",
                                                HELICONE_COST_UNSET, 1);
        lr->cache_write_5m = ngx_http_helicone_json_price(row,
                                                "cache_write_5m",
                                                HELICONE_COST_UNSET, 1);
        lr->cache_write_1h = ngx_http_helicone_json_price(row,
                                                "cache_write_1h",
                                                HELICONE_COST_UNSET, 1);
        lr->audio_input = ngx_http_helicone_json_price(row, "audio_input",
                                                HELICONE_COST_UNSET, 1);
        lr->audio_output = ngx_http_helicone_json_price(row, "audio_output",
                                                HELICONE_COST_UNSET, 1);
        lr->per_image = ngx_http_helicone_json_price(row, "per_image_usd",
                                                HELICONE_COST_UNSET, 1e6);
        lr->per_call = ngx_http_helicone_json_price(row, "per_call_usd",
                                                HELICONE_COST_UNSET, 1e6);
        lr++;
    }

    return NGX_OK;
}


/*
 * A price in the data: USD per 1M tokens (scale 1) or USD (scale 1e6)
 * into pico-USD per token; "threshold" (scale 1e-6) stays a count.
 */

static uint64_t
ngx_http_helicone_json_price(cJSON *obj, const char *name, uint64_t dflt,
    double scale)
{
    cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(obj, name);

    if (!cJSON_IsNumber(v)) {
        return dflt;
    }

    return helicone_cost_from_usd_per_1m(v->valuedouble * scale);
}


static ngx_int_t
ngx_http_helicone_json_enum(cJSON *obj, const char *name, const char **names,
    ngx_uint_t n, ngx_uint_t *out)
{
    cJSON       *v;
    ngx_uint_t   i;

    v = cJSON_GetObjectItemCaseSensitive(obj, name);

    if (!cJSON_IsString(v)) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (ngx_strcmp(v->valuestring, names[i]) == 0) {
            *out = i;
            return NGX_OK;
        }
    }

    return NGX_ERROR;
}
