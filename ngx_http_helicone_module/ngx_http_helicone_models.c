/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * GET /v1/models and /v1/models/{id}: the models this gateway can route
 * now (those with a provider that has a key, or needs none), in OpenAI's
 * list shape. Built once when the configuration loads, sent as it is.
 */

#include "ngx_http_helicone_module.h"


static ngx_int_t ngx_http_helicone_models_add(ngx_http_helicone_main_conf_t
    *hmcf, helicone_buf_t *b, ngx_str_t *model, ngx_str_t *provider,
    ngx_uint_t spelled, time_t created);
static ngx_int_t ngx_http_helicone_models_send(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, u_char *data, size_t len);


/*
 * Each routable model as its name (owned by the provider tried first)
 * and as "model/provider" for every provider that serves it, so that a
 * picker can pin one.
 */

ngx_int_t
ngx_http_helicone_models_init(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf)
{
    u_char                         *p;
    size_t                          size;
    time_t                          created;
    ngx_uint_t                      i, k, first;
    helicone_buf_t                  b;
    ngx_http_helicone_model_t     **mp, *m;
    ngx_http_helicone_endpoint_t   *ep;
    ngx_http_helicone_provider_t   *pr;

    if (ngx_array_init(&hmcf->models_ids, cf->pool, 256, sizeof(ngx_keyval_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    mp = hmcf->models ? hmcf->models->elts : NULL;
    size = sizeof("{\"object\":\"list\",\"data\":[]}\n");

    for (i = 0; mp && i < hmcf->models->nelts; i++) {
        ep = mp[i]->endpoints.elts;

        for (k = 0; k < mp[i]->endpoints.nelts; k++) {
            if (ep[k].provider) {
                /* escaped, twice: the bare name and the pinned one */
                size += 2 * (6 * (mp[i]->name.len
                                  + ep[k].provider->name.len) + 96);
            }
        }
    }

    p = ngx_pnalloc(cf->pool, size);
    if (p == NULL) {
        return NGX_ERROR;
    }

    helicone_buf_init(&b, p, size);
    helicone_buf_add_cstr(&b, "{\"object\":\"list\",\"data\":[");

    created = ngx_time();

    for (i = 0; mp && i < hmcf->models->nelts; i++) {
        m = mp[i];
        ep = m->endpoints.elts;
        first = 1;

        for (k = 0; k < m->endpoints.nelts; k++) {
            pr = ep[k].provider;

            if (pr == NULL || !ngx_http_helicone_api_usable(pr)) {
                continue;
            }

            if (first
                && ngx_http_helicone_models_add(hmcf, &b, &m->name,
                                                &pr->name, 0, created)
                   != NGX_OK)
            {
                return NGX_ERROR;
            }

            first = 0;

            if (ngx_http_helicone_models_add(hmcf, &b, &m->name, &pr->name,
                                             1, created)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    helicone_buf_add_cstr(&b, "]}\n");

    if (b.overflow) {
        ngx_log_error(NGX_LOG_ALERT, cf->log, 0,
                      "helicone models: the list overflowed %uz bytes", size);
        return NGX_ERROR;
    }

    hmcf->models_list.data = b.start;
    hmcf->models_list.len = b.pos - b.start;

    return NGX_OK;
}


/* One {"id","object","created","owned_by"}, a comma before all but one. */

static ngx_int_t
ngx_http_helicone_models_add(ngx_http_helicone_main_conf_t *hmcf,
    helicone_buf_t *b, ngx_str_t *model, ngx_str_t *provider,
    ngx_uint_t spelled, time_t created)
{
    u_char        *start;
    ngx_keyval_t  *kv;

    if (hmcf->models_ids.nelts) {
        helicone_buf_add(b, ",", 1);
    }

    start = b->pos;

    helicone_buf_add_cstr(b, "{\"id\":\"");
    helicone_buf_add_escaped(b, model->data, model->len);

    if (spelled) {
        helicone_buf_add(b, "/", 1);
        helicone_buf_add_escaped(b, provider->data, provider->len);
    }

    helicone_buf_add_cstr(b, "\",\"object\":\"model\",\"created\":");
    helicone_buf_add_int(b, created);
    helicone_buf_add_cstr(b, ",\"owned_by\":\"");
    helicone_buf_add_escaped(b, provider->data, provider->len);
    helicone_buf_add_cstr(b, "\"}");

    if (b->overflow) {
        return NGX_ERROR;
    }

    kv = ngx_array_push(&hmcf->models_ids);
    if (kv == NULL) {
        return NGX_ERROR;
    }

    /* the id as a client names it: the model, "/" and the provider */
    kv->key.len = model->len + (spelled ? 1 + provider->len : 0);
    kv->key.data = ngx_pnalloc(hmcf->models_ids.pool, kv->key.len);
    if (kv->key.data == NULL) {
        return NGX_ERROR;
    }

    if (spelled) {
        ngx_sprintf(kv->key.data, "%V/%V", model, provider);

    } else {
        ngx_memcpy(kv->key.data, model->data, model->len);
    }

    kv->value.data = start;
    kv->value.len = b->pos - start;

    return NGX_OK;
}


ngx_int_t
ngx_http_helicone_models_list(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    ngx_http_helicone_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);

    return ngx_http_helicone_models_send(r, ctx, hmcf->models_list.data,
                                         hmcf->models_list.len);
}


/* The id is what follows ".../models/" in the (decoded) URI. */

ngx_int_t
ngx_http_helicone_models_retrieve(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    u_char                         *p, *last;
    ngx_str_t                       id, msg;
    ngx_uint_t                      i;
    ngx_keyval_t                   *kv;
    ngx_http_helicone_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);

    last = r->uri.data + r->uri.len;
    id.len = 0;

    for (p = r->uri.data; p + 8 < last; p++) {
        if (ngx_strncmp(p, "/models/", 8) == 0) {
            id.data = p + 8;
            id.len = last - id.data;
            break;
        }
    }

    kv = hmcf->models_ids.elts;

    for (i = 0; i < hmcf->models_ids.nelts; i++) {
        if (kv[i].key.len == id.len
            && ngx_strncasecmp(kv[i].key.data, id.data, id.len) == 0)
        {
            return ngx_http_helicone_models_send(r, ctx, kv[i].value.data,
                                                 kv[i].value.len);
        }
    }

    msg.data = ngx_pnalloc(r->pool, id.len + 64);
    if (msg.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    msg.len = ngx_sprintf(msg.data, "The model '%V' does not exist", &id)
              - msg.data;

    return ngx_http_helicone_send_error(r, NGX_HTTP_NOT_FOUND,
                                        "invalid_request_error",
                                        "model_not_found", &msg);
}


static ngx_int_t
ngx_http_helicone_models_send(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, u_char *data, size_t len)
{
    ctx->own_response = 1;
    ctx->response_bytes = len;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = len;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    if (ngx_http_helicone_headers_response(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_helicone_send_whole(r, data, len);
}
