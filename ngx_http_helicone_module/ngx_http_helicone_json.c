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

        if (ngx_http_helicone_provider_parse_api(&s, &p->api) != NGX_OK) {
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
    cJSON                          *root, *models, *aliases, *m, *e, *v;
    ngx_str_t                       name, provider, id;
    ngx_uint_t                      i, j;
    ngx_array_t                     all;
    ngx_http_helicone_model_t      *model, **mp;
    ngx_http_helicone_endpoint_t   *ep;

    if (ngx_array_init(&all, cf->temp_pool, 128,
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
