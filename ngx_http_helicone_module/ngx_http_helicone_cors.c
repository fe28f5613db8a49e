/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * CORS for browser clients (helicone_cors): answers the preflight
 * (OPTIONS) of a listed origin and adds Access-Control-* headers to its
 * responses. Off unless configured; an origin not listed gets nothing.
 */

#include "ngx_http_helicone_module.h"


#define NGX_HTTP_HELICONE_CORS_MAX_AGE  "7200"


static ngx_table_elt_t *ngx_http_helicone_cors_origin(ngx_http_request_t *r,
    ngx_http_helicone_loc_conf_t *hlcf);
static ngx_int_t ngx_http_helicone_cors_allow_headers(ngx_http_request_t *r,
    ngx_str_t *requested);
static ngx_uint_t ngx_http_helicone_cors_header_allowed(u_char *name,
    size_t len);
static ngx_int_t ngx_http_helicone_cors_add(ngx_http_request_t *r,
    const char *name, size_t len, ngx_str_t *value);


/* request headers a browser may send: the SDKs' own, and Helicone-* */
static ngx_str_t  ngx_http_helicone_cors_headers_allowed[] = {
    ngx_string("authorization"),
    ngx_string("content-type"),
    ngx_string("x-api-key"),
    ngx_string("anthropic-version"),
    ngx_string("anthropic-beta"),
    ngx_string("anthropic-dangerous-direct-browser-access"),
    ngx_string("openai-organization"),
    ngx_string("openai-project"),
    ngx_string("openai-beta"),
    ngx_string("idempotency-key"),
    ngx_null_string
};

static ngx_str_t  ngx_http_helicone_cors_prefixes[] = {
    ngx_string("helicone-"),
    ngx_string("x-stainless-"),    /* the OpenAI and Anthropic SDKs' */
    ngx_null_string
};

/* response headers that say who may read a response: always ours */
static ngx_str_t  ngx_http_helicone_cors_replaced[] = {
    ngx_string("access-control-allow-origin"),
    ngx_string("access-control-allow-credentials"),
    ngx_string("access-control-expose-headers"),
    ngx_null_string
};

/* response headers a page may read */
static ngx_str_t  ngx_http_helicone_cors_expose = ngx_string(
    "Helicone-Id, Helicone-Status, Helicone-Cache, Helicone-Cache-Bucket-Idx, "
    "Helicone-Cache-Latency, Helicone-Fallback-Index, Helicone-Provider, "
    "Helicone-Model, Helicone-RateLimit-Limit, Helicone-RateLimit-Remaining, "
    "Helicone-RateLimit-Reset, Helicone-RateLimit-Policy, Retry-After, "
    "x-request-id, request-id");


/* helicone_cors off | * | origin ...; */

char *
ngx_http_helicone_cors_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_helicone_loc_conf_t *hlcf = conf;

    ngx_str_t   *value, *origin, o;
    ngx_uint_t   i;

    if (hlcf->cors != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        hlcf->cors = NULL;
        return NGX_CONF_OK;
    }

    hlcf->cors = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                  sizeof(ngx_str_t));
    if (hlcf->cors == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "*") == 0) {
            if (cf->args->nelts != 2) {
                return "takes \"*\" alone";
            }

        } else if (ngx_http_helicone_url_origin(&value[i], &o) != NGX_OK
                   || o.len != value[i].len)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid origin \"%V\": expected "
                               "scheme://host[:port] without a path",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        origin = ngx_array_push(hlcf->cors);
        if (origin == NULL) {
            return NGX_CONF_ERROR;
        }

        *origin = value[i];
    }

    return NGX_CONF_OK;
}


/*
 * Answers a CORS preflight from a listed origin with 204 (the header
 * filter adds its Access-Control-Allow-Origin). NGX_DECLINED: not a
 * preflight, or not for us; the request goes on as any other.
 */

ngx_int_t
ngx_http_helicone_cors_preflight(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_str_t                      v;
    ngx_table_elt_t               *h;
    ngx_http_helicone_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);

    if (hlcf->cors == NULL || r->method != NGX_HTTP_OPTIONS
        || ngx_http_helicone_cors_origin(r, hlcf) == NULL)
    {
        return NGX_DECLINED;
    }

    h = ngx_http_helicone_header_find(&r->headers_in.headers,
                                      "Access-Control-Request-Method",
                                      sizeof("Access-Control-Request-Method")
                                      - 1);
    if (h == NULL) {
        return NGX_DECLINED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_str_set(&v, "POST, GET, OPTIONS");

    if (ngx_http_helicone_cors_add(r, "Access-Control-Allow-Methods",
                                   sizeof("Access-Control-Allow-Methods") - 1,
                                   &v)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h = ngx_http_helicone_header_find(&r->headers_in.headers,
                                      "Access-Control-Request-Headers",
                                      sizeof("Access-Control-Request-Headers")
                                      - 1);

    if (h && ngx_http_helicone_cors_allow_headers(r, &h->value) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&v, NGX_HTTP_HELICONE_CORS_MAX_AGE);

    if (ngx_http_helicone_cors_add(r, "Access-Control-Max-Age",
                                   sizeof("Access-Control-Max-Age") - 1, &v)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "helicone cors: preflight answered");

    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


/*
 * Adds Access-Control-Allow-Origin (with Vary: Origin) and the headers a
 * page may read to a response for a listed origin, in place of any the
 * provider sent.
 */

ngx_int_t
ngx_http_helicone_cors_headers(ngx_http_request_t *r)
{
    ngx_str_t                     *name, v;
    ngx_table_elt_t               *origin, *h;
    ngx_http_helicone_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);

    if (hlcf->cors == NULL) {
        return NGX_OK;
    }

    /*
     * a provider's own say on who may read the response goes (and ours
     * from a first pass); a preflight's headers stay
     */

    for (name = ngx_http_helicone_cors_replaced; name->len; name++) {
        while ((h = ngx_http_helicone_header_find(&r->headers_out.headers,
                                                  (char *) name->data,
                                                  name->len))
               != NULL)
        {
            h->hash = 0;
        }
    }

    origin = ngx_http_helicone_cors_origin(r, hlcf);
    if (origin == NULL) {
        return NGX_OK;
    }

    v = origin->value;

    if (((ngx_str_t *) hlcf->cors->elts)[0].data[0] == '*') {
        ngx_str_set(&v, "*");

    } else {
        ngx_str_set(&v, "Origin");

        if (ngx_http_helicone_header_add(r, &r->headers_out.headers, "Vary",
                                         sizeof("Vary") - 1, &v)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        v = origin->value;
    }

    if (ngx_http_helicone_cors_add(r, "Access-Control-Allow-Origin",
                                   sizeof("Access-Control-Allow-Origin") - 1,
                                   &v)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_helicone_cors_add(r, "Access-Control-Expose-Headers",
                                      sizeof("Access-Control-Expose-Headers")
                                      - 1, &ngx_http_helicone_cors_expose);
}


/* the request's Origin header if CORS allows that origin here, else NULL */

static ngx_table_elt_t *
ngx_http_helicone_cors_origin(ngx_http_request_t *r,
    ngx_http_helicone_loc_conf_t *hlcf)
{
    ngx_str_t        *allowed, origin;
    ngx_uint_t        i;
    ngx_table_elt_t  *h;

    h = ngx_http_helicone_header_find(&r->headers_in.headers, "Origin",
                                      sizeof("Origin") - 1);

    if (h == NULL
        || ngx_http_helicone_url_origin(&h->value, &origin) != NGX_OK
        || origin.len != h->value.len)
    {
        return NULL;
    }

    allowed = hlcf->cors->elts;

    for (i = 0; i < hlcf->cors->nelts; i++) {

        if (allowed[i].data[0] == '*'
            || (allowed[i].len == origin.len
                && ngx_strncasecmp(allowed[i].data, origin.data,
                                   origin.len) == 0))
        {
            return h;
        }
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "helicone cors: origin \"%V\" not listed", &h->value);

    return NULL;
}


/*
 * Access-Control-Allow-Headers: those of the requested headers the
 * gateway allows; a browser refuses the request if one is missing.
 */

static ngx_int_t
ngx_http_helicone_cors_allow_headers(ngx_http_request_t *r,
    ngx_str_t *requested)
{
    u_char     *p, *last, *name, *out;
    ngx_str_t   v;

    out = ngx_pnalloc(r->pool, requested->len);
    if (out == NULL) {
        return NGX_ERROR;
    }

    v.data = out;
    p = requested->data;
    last = p + requested->len;

    while (p < last) {

        while (p < last && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        name = p;

        while (p < last && *p != ',' && *p != ' ' && *p != '\t') {
            p++;
        }

        if (p == name || !ngx_http_helicone_cors_header_allowed(name, p - name))
        {
            continue;
        }

        if (out != v.data) {
            *out++ = ',';
        }

        out = ngx_cpymem(out, name, p - name);
    }

    v.len = out - v.data;

    if (v.len == 0) {
        return NGX_OK;
    }

    return ngx_http_helicone_cors_add(r, "Access-Control-Allow-Headers",
                                      sizeof("Access-Control-Allow-Headers")
                                      - 1, &v);
}


static ngx_uint_t
ngx_http_helicone_cors_header_allowed(u_char *name, size_t len)
{
    ngx_str_t  *s;

    for (s = ngx_http_helicone_cors_headers_allowed; s->len; s++) {
        if (s->len == len && ngx_strncasecmp(s->data, name, len) == 0) {
            return 1;
        }
    }

    for (s = ngx_http_helicone_cors_prefixes; s->len; s++) {
        if (len > s->len && ngx_strncasecmp(s->data, name, s->len) == 0) {
            return 1;
        }
    }

    return 0;
}


static ngx_int_t
ngx_http_helicone_cors_add(ngx_http_request_t *r, const char *name,
    size_t len, ngx_str_t *value)
{
    return ngx_http_helicone_header_add(r, &r->headers_out.headers, name, len,
                                        value);
}
