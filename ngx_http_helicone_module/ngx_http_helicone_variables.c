/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * $helicone_* variables. All are NOCACHEABLE: a subrequest shares the
 * variable cache with its parent, and every attempt has its own URL.
 */

#include "ngx_http_helicone_module.h"


static ngx_int_t ngx_http_helicone_variable_upstream_url(
    ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_helicone_variable_request_id(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_helicone_variable_provider(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_helicone_variable_model(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_helicone_variable_cost(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_helicone_variable_number(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_http_helicone_ctx_t *ngx_http_helicone_variable_ctx(
    ngx_http_request_t *r);
static void ngx_http_helicone_variable_str(ngx_http_variable_value_t *v,
    ngx_str_t *s);


#define NGX_HTTP_HELICONE_VAR_ATTEMPTS  0
#define NGX_HTTP_HELICONE_VAR_TTFT      1


static ngx_http_variable_t  ngx_http_helicone_vars[] = {

    { ngx_string("helicone_upstream_url"), NULL,
      ngx_http_helicone_variable_upstream_url, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("helicone_request_id"), NULL,
      ngx_http_helicone_variable_request_id, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("helicone_provider"), NULL,
      ngx_http_helicone_variable_provider, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("helicone_model"), NULL,
      ngx_http_helicone_variable_model, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("helicone_cost"), NULL,
      ngx_http_helicone_variable_cost, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("helicone_attempts"), NULL,
      ngx_http_helicone_variable_number, NGX_HTTP_HELICONE_VAR_ATTEMPTS,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("helicone_ttft"), NULL,
      ngx_http_helicone_variable_number, NGX_HTTP_HELICONE_VAR_TTFT,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_helicone_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_helicone_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


/* The URL of the attempt being proxied: used by proxy_pass. */

static ngx_int_t
ngx_http_helicone_variable_upstream_url(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_helicone_sr_ctx_t  *srctx;

    srctx = (r != r->main)
            ? ngx_http_get_module_ctx(r, ngx_http_helicone_module) : NULL;

    if (srctx == NULL || srctx->attempt->target->url.len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_http_helicone_variable_str(v, &srctx->attempt->target->url);

    return NGX_OK;
}


static ngx_int_t
ngx_http_helicone_variable_request_id(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_helicone_ctx_t  *ctx;

    ctx = ngx_http_helicone_variable_ctx(r);

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_http_helicone_variable_str(v, &ctx->id);

    return NGX_OK;
}


static ngx_int_t
ngx_http_helicone_variable_provider(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_helicone_ctx_t  *ctx;

    ctx = ngx_http_helicone_variable_ctx(r);

    if (ctx == NULL || ctx->served == NULL
        || ctx->served->target->provider == NULL)
    {
        v->not_found = 1;
        return NGX_OK;
    }

    ngx_http_helicone_variable_str(v, &ctx->served->target->provider->name);

    return NGX_OK;
}


static ngx_int_t
ngx_http_helicone_variable_model(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_helicone_ctx_t  *ctx;

    ctx = ngx_http_helicone_variable_ctx(r);

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    if (ctx->relay.served_model.len) {
        ngx_http_helicone_variable_str(v, &ctx->relay.served_model);

    } else if (ctx->served && ctx->served->target->model.len) {
        ngx_http_helicone_variable_str(v, &ctx->served->target->model);

    } else {
        v->not_found = 1;
    }

    return NGX_OK;
}


/* USD; "-" while unknown, as access_log writes empty values */

static ngx_int_t
ngx_http_helicone_variable_cost(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                   *p;
    ngx_http_helicone_ctx_t  *ctx;

    ctx = ngx_http_helicone_variable_ctx(r);

    if (ctx == NULL || ngx_http_helicone_cost(ctx->request, ctx) != NGX_OK) {
        v->not_found = 1;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, 32);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->len = helicone_cost_format_usd(ctx->cost.pico, p);
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = p;

    return NGX_OK;
}


static ngx_int_t
ngx_http_helicone_variable_number(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                   *p;
    ngx_uint_t                n;
    ngx_http_helicone_ctx_t  *ctx;

    ctx = ngx_http_helicone_variable_ctx(r);

    if (ctx == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }

    if (data == NGX_HTTP_HELICONE_VAR_ATTEMPTS) {
        n = ctx->attempts.list.nelts;

    } else {
        if (ctx->first_byte == 0) {
            v->not_found = 1;
            return NGX_OK;
        }

        n = ctx->first_byte - ctx->start;
    }

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->len = ngx_sprintf(p, "%ui", n) - p;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = p;

    return NGX_OK;
}


static ngx_http_helicone_ctx_t *
ngx_http_helicone_variable_ctx(ngx_http_request_t *r)
{
    return ngx_http_get_module_ctx(r->main, ngx_http_helicone_module);
}


static void
ngx_http_helicone_variable_str(ngx_http_variable_value_t *v, ngx_str_t *s)
{
    v->len = s->len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = s->data;
}
