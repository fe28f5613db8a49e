/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Request and response headers: what Helicone-* headers say, what goes
 * upstream (never a Helicone-* header), what the client gets back.
 */

#include "ngx_http_helicone_module.h"


#define NGX_HTTP_HELICONE_PROPERTY_PREFIX  "helicone-property-"


static ngx_uint_t ngx_http_helicone_header_is(ngx_table_elt_t *h,
    const char *name, size_t len);
static ngx_uint_t ngx_http_helicone_header_true(ngx_table_elt_t *h);
static ngx_int_t ngx_http_helicone_property_add(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_str_t *name, ngx_str_t *value);
static ngx_uint_t ngx_http_helicone_header_hop(ngx_table_elt_t *h,
    ngx_uint_t pass);
static ngx_uint_t ngx_http_helicone_header_nominated(ngx_list_t *headers,
    ngx_table_elt_t *h);
static ngx_int_t ngx_http_helicone_headers_served(ngx_http_request_t *r,
    ngx_str_t *provider, ngx_str_t *model);
static void ngx_http_helicone_headers_retry(ngx_http_helicone_ctx_t *ctx,
    ngx_table_elt_t *h);
static void ngx_http_helicone_header_str(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_table_elt_t *h, void *data);
static void ngx_http_helicone_header_flag(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_table_elt_t *h, void *data);
static void ngx_http_helicone_header_property(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_table_elt_t *h, void *data);
static void ngx_http_helicone_header_tokenlimit(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_table_elt_t *h, void *data);


typedef void (*ngx_http_helicone_header_read_pt)(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_table_elt_t *h, void *data);

/* A Helicone-* request header read once per request into the ctx. */
typedef struct {
    ngx_str_t                          name;     /* lower case */
    ngx_http_helicone_header_read_pt   read;
    size_t                             offset;   /* of its ctx field */
    void                              *data;     /* the reader's own */
} ngx_http_helicone_header_t;


#define ngx_http_helicone_ctx_field(f)  offsetof(ngx_http_helicone_ctx_t, f)

static ngx_str_t  ngx_http_helicone_session_id =
    ngx_string("Helicone-Session-Id");
static ngx_str_t  ngx_http_helicone_session_path =
    ngx_string("Helicone-Session-Path");
static ngx_str_t  ngx_http_helicone_session_name =
    ngx_string("Helicone-Session-Name");
static ngx_str_t  ngx_http_helicone_prompt_id =
    ngx_string("Helicone-Prompt-Id");

/*
 * The Helicone-* headers that shape this request's handling and its log
 * (docs/headers.md lists them all, t/headers_doc.t checks that it does).
 * Helicone-Property-* and Helicone-Retry-* are read by their prefix;
 * Helicone-Auth, -Cache-*, -RateLimit-Policy, -Fallbacks, -Target-Url
 * and -Request-Id by the concern that uses them.
 */
static ngx_http_helicone_header_t  ngx_http_helicone_headers_in[] = {

    { ngx_string("helicone-user-id"), ngx_http_helicone_header_str,
      ngx_http_helicone_ctx_field(user_id), NULL },

    { ngx_string("helicone-session-id"), ngx_http_helicone_header_property,
      0, &ngx_http_helicone_session_id },

    { ngx_string("helicone-session-path"), ngx_http_helicone_header_property,
      0, &ngx_http_helicone_session_path },

    { ngx_string("helicone-session-name"), ngx_http_helicone_header_property,
      0, &ngx_http_helicone_session_name },

    { ngx_string("helicone-prompt-id"), ngx_http_helicone_header_property,
      0, &ngx_http_helicone_prompt_id },

    { ngx_string("helicone-model-override"), ngx_http_helicone_header_str,
      ngx_http_helicone_ctx_field(model_override), NULL },

    { ngx_string("helicone-omit-request"), ngx_http_helicone_header_flag,
      ngx_http_helicone_ctx_field(asked.omit_request), NULL },

    { ngx_string("helicone-omit-response"), ngx_http_helicone_header_flag,
      ngx_http_helicone_ctx_field(asked.omit_response), NULL },

    { ngx_string("helicone-token-limit-exception-handler"),
      ngx_http_helicone_header_tokenlimit,
      ngx_http_helicone_ctx_field(asked.token_limit), NULL },

    { ngx_string("helicone-stream-usage"), ngx_http_helicone_header_flag,
      ngx_http_helicone_ctx_field(asked.stream_usage), NULL },

    { ngx_string("helicone-increase-timeout"), ngx_http_helicone_header_flag,
      ngx_http_helicone_ctx_field(asked.increase_timeout), NULL },

    { ngx_string("helicone-target-provider"), ngx_http_helicone_header_str,
      ngx_http_helicone_ctx_field(asked.target_provider), NULL },

    { ngx_string("helicone-stream-force-format"),
      ngx_http_helicone_header_flag,
      ngx_http_helicone_ctx_field(asked.force_format), NULL },

    { ngx_null_string, NULL, 0, NULL }
};


/*
 * the client's credentials: replaced by the provider key in gateway mode,
 * part of the cache key in the proxy modes
 */
static ngx_str_t  ngx_http_helicone_auth_headers[] = {
    ngx_string("authorization"),
    ngx_string("x-api-key"),
    ngx_string("api-key"),
    ngx_string("x-goog-api-key"),
    ngx_null_string
};


ngx_table_elt_t *
ngx_http_helicone_header_find(ngx_list_t *headers, const char *name,
    size_t len)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &headers->part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash && ngx_http_helicone_header_is(&h[i], name, len)) {
            return &h[i];
        }
    }
}


static ngx_uint_t
ngx_http_helicone_header_is(ngx_table_elt_t *h, const char *name, size_t len)
{
    return h->key.len == len
           && helicone_caseless_eq(h->key.data, (u_char *) name, len);
}


static ngx_uint_t
ngx_http_helicone_header_true(ngx_table_elt_t *h)
{
    return h->value.len == 4
           && helicone_caseless_eq(h->value.data, (u_char *) "true", 4);
}


ngx_int_t
ngx_http_helicone_header_add(ngx_http_request_t *r, ngx_list_t *headers,
    const char *name, size_t len, ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->key.len = len;
    h->key.data = (u_char *) name;
    h->value = *value;

    if (headers == &r->headers_out.headers) {
        /*
         * as nginx's own response headers: nothing looks a response
         * header up by its lower-case name, an attempt's request
         * headers are (the proxy module's proxy_set_header hash)
         */
        h->hash = 1;
        h->lowcase_key = NULL;
        return NGX_OK;
    }

    h->lowcase_key = ngx_pnalloc(r->pool, len);
    if (h->lowcase_key == NULL) {
        return NGX_ERROR;
    }

    h->hash = ngx_hash_strlow(h->lowcase_key, h->key.data, len);

    return NGX_OK;
}


/* A response header whose value is a number. */

ngx_int_t
ngx_http_helicone_header_add_number(ngx_http_request_t *r, const char *name,
    size_t len, uint64_t n)
{
    u_char     *p;
    ngx_str_t   v;

    p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v.data = p;
    v.len = ngx_sprintf(p, "%uL", n) - p;

    return ngx_http_helicone_header_add(r, &r->headers_out.headers, name, len,
                                        &v);
}


/* A fresh list holding the elements of src; dst may be src's struct copy. */

ngx_int_t
ngx_http_helicone_headers_copy(ngx_http_request_t *r, ngx_list_t *dst,
    ngx_list_t *src)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *copy;

    part = &src->part;

    if (ngx_list_init(dst, r->pool, 16, sizeof(ngx_table_elt_t)) != NGX_OK) {
        return NGX_ERROR;
    }

    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0) {
            continue;
        }

        copy = ngx_list_push(dst);
        if (copy == NULL) {
            return NGX_ERROR;
        }

        *copy = h[i];
    }

    return NGX_OK;
}


/* Reads every Helicone-* request header that shapes logging. */

void
ngx_http_helicone_headers_read(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    ngx_str_t                    name;
    ngx_uint_t                   i;
    ngx_list_part_t             *part;
    ngx_table_elt_t             *h;
    ngx_http_helicone_header_t  *hh;

    ctx->asked.retry.on = NGX_CONF_UNSET;
    ctx->asked.retry.num = NGX_CONF_UNSET_UINT;
    ctx->asked.retry.factor = NGX_CONF_UNSET_UINT;
    ctx->asked.retry.min = NGX_CONF_UNSET_MSEC;
    ctx->asked.retry.max = NGX_CONF_UNSET_MSEC;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len < 9
            || !helicone_caseless_eq(h[i].key.data, (u_char *) "helicone-", 9))
        {
            continue;
        }

        if (h[i].key.len > sizeof(NGX_HTTP_HELICONE_PROPERTY_PREFIX) - 1
            && helicone_caseless_eq(h[i].key.data,
                               (u_char *) NGX_HTTP_HELICONE_PROPERTY_PREFIX,
                               sizeof(NGX_HTTP_HELICONE_PROPERTY_PREFIX) - 1))
        {
            /* Helicone lower-cases property names */
            name.len = h[i].key.len
                       - (sizeof(NGX_HTTP_HELICONE_PROPERTY_PREFIX) - 1);
            name.data = ngx_pnalloc(r->pool, name.len);
            if (name.data == NULL) {
                return;
            }

            ngx_strlow(name.data, h[i].key.data + h[i].key.len - name.len,
                       name.len);

            (void) ngx_http_helicone_property_add(r, ctx, &name,
                                                  &h[i].value);
            continue;
        }

        if (h[i].key.len > 15
            && helicone_caseless_eq(h[i].key.data,
                                    (u_char *) "helicone-retry-", 15))
        {
            ngx_http_helicone_headers_retry(ctx, &h[i]);
            continue;
        }

        for (hh = ngx_http_helicone_headers_in; hh->name.len; hh++) {
            if (hh->name.len == h[i].key.len
                && helicone_caseless_eq(h[i].key.data, hh->name.data,
                                        hh->name.len))
            {
                hh->read(r, ctx, &h[i], hh->data ? hh->data
                                                 : (u_char *) ctx + hh->offset);
                break;
            }
        }
    }
}


/* A header's value, as sent, into an ngx_str_t of the ctx. */

static void
ngx_http_helicone_header_str(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_table_elt_t *h, void *data)
{
    *(ngx_str_t *) data = h->value;
}


/* "true" (any case) sets an ngx_flag_t of the ctx; anything else clears it. */

static void
ngx_http_helicone_header_flag(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_table_elt_t *h, void *data)
{
    *(ngx_flag_t *) data = ngx_http_helicone_header_true(h);
}


/* Session and prompt headers are logged as properties of that name. */

static void
ngx_http_helicone_header_property(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_table_elt_t *h, void *data)
{
    (void) ngx_http_helicone_property_add(r, ctx, data, &h->value);
}


/* truncate, middle-out or fallback; Helicone ignores any other value. */

static void
ngx_http_helicone_header_tokenlimit(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_table_elt_t *h, void *data)
{
    *(ngx_uint_t *) data = helicone_tokenlimit_strategy(h->value.data,
                                                        h->value.len);
}


/*
 * Helicone-Retry-Enabled/-Num/-Factor/-Min-Timeout/-Max-Timeout, for
 * attempt.c to lay over the location's policy. Only "true" enables
 * (Helicone takes any value); a bad number leaves the default. Num
 * counts retries, so Num + 1 calls at most (Helicone makes Num calls:
 * its docs say retries).
 */

static void
ngx_http_helicone_headers_retry(ngx_http_helicone_ctx_t *ctx,
    ngx_table_elt_t *h)
{
    u_char    *v;
    size_t     len;
    uint64_t   n;

    v = h->value.data;
    len = h->value.len;

    if (ngx_http_helicone_header_is(h, "helicone-retry-enabled", 22)) {
        ctx->asked.retry.on = ngx_http_helicone_header_true(h);

    } else if (ngx_http_helicone_header_is(h, "helicone-retry-num", 18)) {
        if (helicone_policy_uint(v, len, &n) == HELICONE_OK && n <= 20) {
            ctx->asked.retry.num = (ngx_uint_t) n;
        }

    } else if (ngx_http_helicone_header_is(h, "helicone-retry-factor", 21)) {
        if (helicone_policy_factor(v, len, &n) == HELICONE_OK) {
            ctx->asked.retry.factor = (ngx_uint_t) n;
        }

    } else if (ngx_http_helicone_header_is(h, "helicone-retry-min-timeout",
                                           26))
    {
        if (helicone_policy_uint(v, len, &n) == HELICONE_OK) {
            ctx->asked.retry.min = (ngx_msec_t) n;
        }

    } else if (ngx_http_helicone_header_is(h, "helicone-retry-max-timeout",
                                           26))
    {
        if (helicone_policy_uint(v, len, &n) == HELICONE_OK) {
            ctx->asked.retry.max = (ngx_msec_t) n;
        }
    }
}


static ngx_int_t
ngx_http_helicone_property_add(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_str_t *name, ngx_str_t *value)
{
    ngx_uint_t     i;
    ngx_keyval_t  *kv;

    if (ctx->properties == NULL) {
        ctx->properties = ngx_array_create(r->pool, 4, sizeof(ngx_keyval_t));
        if (ctx->properties == NULL) {
            return NGX_ERROR;
        }
    }

    /*
     * a name once (the event's JSON has no duplicate keys): headers that
     * differ only in case, or repeat, give the last value
     */
    kv = ctx->properties->elts;

    for (i = 0; i < ctx->properties->nelts; i++) {
        if (kv[i].key.len == name->len
            && ngx_strncmp(kv[i].key.data, name->data, name->len) == 0)
        {
            kv[i].value = *value;
            return NGX_OK;
        }
    }

    kv = ngx_array_push(ctx->properties);
    if (kv == NULL) {
        return NGX_ERROR;
    }

    kv->key = *name;
    kv->value = *value;

    return NGX_OK;
}


/*
 * 1 when h is hop-by-hop, framing or ours to set: never copied upstream.
 * Every header of every attempt is asked: the names are told apart by
 * their length first, then compared.
 */

static ngx_uint_t
ngx_http_helicone_header_hop(ngx_table_elt_t *h, ngx_uint_t pass)
{
    ngx_uint_t  hop;

    switch (h->key.len) {

    case 2:
        hop = ngx_http_helicone_header_is(h, "te", 2);
        break;

    case 4:
        hop = ngx_http_helicone_header_is(h, "host", 4);
        break;

    case 6:
        hop = ngx_http_helicone_header_is(h, "expect", 6);
        break;

    case 7:
        hop = ngx_http_helicone_header_is(h, "upgrade", 7)
              || ngx_http_helicone_header_is(h, "trailer", 7);
        break;

    case 10:
        hop = ngx_http_helicone_header_is(h, "connection", 10)
              || ngx_http_helicone_header_is(h, "keep-alive", 10);
        break;

    case 14:
        hop = ngx_http_helicone_header_is(h, "content-length", 14);
        break;

    case 15:
        hop = ngx_http_helicone_header_is(h, "accept-encoding", 15);
        break;

    case 16:
        hop = ngx_http_helicone_header_is(h, "proxy-connection", 16);
        break;

    case 17:
        hop = ngx_http_helicone_header_is(h, "transfer-encoding", 17);
        break;

    case 19:
        hop = ngx_http_helicone_header_is(h, "proxy-authorization", 19);
        break;

    default:
        hop = 0;
    }

    if (hop
        || (h->key.len >= 9
            && helicone_caseless_eq(h->key.data, (u_char *) "helicone-", 9)))
    {
        return 1;
    }

    if (pass == NGX_HTTP_HELICONE_PASS_GATEWAY) {
        return ngx_http_helicone_header_credential(h);
    }

    return 0;
}


/*
 * 1 when the client's Connection header names h: hop-by-hop by the
 * client's word (RFC 9110, 7.6.1), so not forwarded
 */

static ngx_uint_t
ngx_http_helicone_header_nominated(ngx_list_t *headers, ngx_table_elt_t *h)
{
    u_char           *p, *end, *start;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *c;

    part = &headers->part;
    c = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return 0;
            }

            part = part->next;
            c = part->elts;
            i = 0;
        }

        if (c[i].hash == 0
            || !ngx_http_helicone_header_is(&c[i], "connection", 10))
        {
            continue;
        }

        p = c[i].value.data;
        end = p + c[i].value.len;

        while (p < end) {
            while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
                p++;
            }

            start = p;

            while (p < end && *p != ',' && *p != ' ' && *p != '\t') {
                p++;
            }

            if (p > start
                && ngx_http_helicone_header_is(h, (char *) start, p - start))
            {
                return 1;
            }
        }
    }
}


/* 1 when h is one of the headers a client's credential travels in */

ngx_uint_t
ngx_http_helicone_header_credential(ngx_table_elt_t *h)
{
    ngx_str_t  *n;

    for (n = ngx_http_helicone_auth_headers; n->len; n++) {
        if (ngx_http_helicone_header_is(h, (char *) n->data, n->len)) {
            return 1;
        }
    }

    return 0;
}


/*
 * Builds the header list an attempt sends: the client's headers without
 * hop-by-hop and Helicone-* ones, and in gateway mode the provider's key
 * in place of the client's credential.
 */

ngx_int_t
ngx_http_helicone_headers_upstream(ngx_http_request_t *r,
    ngx_http_helicone_target_t *t, ngx_list_t *out)
{
    u_char                        *p;
    ngx_str_t                      value;
    ngx_uint_t                     i, typed;
    ngx_keyval_t                  *kv;
    ngx_list_part_t               *part;
    ngx_table_elt_t               *h, *copy, *connection;
    ngx_http_helicone_provider_t  *pr;
    ngx_http_helicone_loc_conf_t  *hlcf;

    static ngx_str_t  json = ngx_string("application/json");

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);
    pr = t->provider;

    /* most clients send no Connection header: no header to look up in it */
    connection = ngx_http_helicone_header_find(&r->headers_in.headers,
                                               "connection", 10);

    if (ngx_list_init(out, r->pool, 16, sizeof(ngx_table_elt_t)) != NGX_OK) {
        return NGX_ERROR;
    }

    /* Helicone-Fallbacks gives an item's headers whole: exactly those */
    part = t->headers ? &t->headers->part : &r->headers_in.headers.part;
    h = part->elts;
    typed = 0;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].hash == 0
            || ngx_http_helicone_header_hop(&h[i],
                                 t->headers ? NGX_HTTP_HELICONE_PASS_TARGET
                                            : hlcf->pass)
            || (connection
                && ngx_http_helicone_header_nominated(&r->headers_in.headers,
                                                      &h[i])))
        {
            continue;
        }

        copy = ngx_list_push(out);
        if (copy == NULL) {
            return NGX_ERROR;
        }

        *copy = h[i];

        /* noted on the way: no second walk of the list to look for it */
        typed = typed || ngx_http_helicone_header_is(copy, "content-type", 12);
    }

    if (!typed && r->method == NGX_HTTP_POST) {
        if (ngx_http_helicone_header_add(r, out, "Content-Type", 12, &json)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (pr == NULL || t->headers || t->provider_named) {
        /* a provider the client named for its usage and prices gets
         * none of the operator's headers for it: they are not that
         * origin's */
        return NGX_OK;
    }

    if (pr->headers) {
        kv = pr->headers->elts;

        for (i = 0; i < pr->headers->nelts; i++) {
            if (ngx_http_helicone_header_find(out, (char *) kv[i].key.data,
                                              kv[i].key.len)
                == NULL
                && ngx_http_helicone_header_add(r, out,
                                                (char *) kv[i].key.data,
                                                kv[i].key.len, &kv[i].value)
                   != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }

    if (hlcf->pass != NGX_HTTP_HELICONE_PASS_GATEWAY || !pr->has_key) {
        return NGX_OK;
    }

    switch (pr->auth) {

    case NGX_HTTP_HELICONE_KEY_BEARER:
        value.len = sizeof("Bearer ") - 1 + pr->key.len;
        value.data = ngx_pnalloc(r->pool, value.len);
        if (value.data == NULL) {
            return NGX_ERROR;
        }

        p = ngx_cpymem(value.data, "Bearer ", sizeof("Bearer ") - 1);
        ngx_memcpy(p, pr->key.data, pr->key.len);

        return ngx_http_helicone_header_add(r, out, "Authorization", 13,
                                            &value);

    case NGX_HTTP_HELICONE_KEY_X_API_KEY:
        return ngx_http_helicone_header_add(r, out, "x-api-key", 9, &pr->key);

    case NGX_HTTP_HELICONE_KEY_API_KEY:
        return ngx_http_helicone_header_add(r, out, "api-key", 7, &pr->key);

    default: /* NGX_HTTP_HELICONE_KEY_NONE */
        return NGX_OK;
    }
}


/* Rows live in the main conf: a reload builds them again. */

ngx_int_t
ngx_http_helicone_headers_out_add(ngx_conf_t *cf,
    ngx_http_helicone_headers_out_pt handler)
{
    ngx_http_helicone_main_conf_t     *hmcf;
    ngx_http_helicone_headers_out_pt  *row;

    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_helicone_module);

    if (hmcf->headers_out.elts == NULL
        && ngx_array_init(&hmcf->headers_out, cf->pool, 4,
                          sizeof(ngx_http_helicone_headers_out_pt))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    row = ngx_array_push(&hmcf->headers_out);
    if (row == NULL) {
        return NGX_ERROR;
    }

    *row = handler;

    return NGX_OK;
}


/* The headers every response of ours carries, on top of the provider's. */

ngx_int_t
ngx_http_helicone_headers_response(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    ngx_str_t                          index;
    ngx_uint_t                         i;
    ngx_http_helicone_target_t        *t;
    ngx_http_helicone_main_conf_t     *hmcf;
    ngx_http_helicone_headers_out_pt  *out;

    static ngx_str_t  success = ngx_string("success");

    if (ngx_http_helicone_header_add(r, &r->headers_out.headers,
                                     "Helicone-Id", 11, &ctx->id)
        != NGX_OK
        || ngx_http_helicone_header_add(r, &r->headers_out.headers,
                                        "Helicone-Status", 15, &success)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);
    out = hmcf->headers_out.elts;

    for (i = 0; i < hmcf->headers_out.nelts; i++) {
        if (out[i](r, ctx) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ctx->rl.limited) {
        static ngx_str_t  limited = ngx_string("rate_limited");

        return ngx_http_helicone_header_add(r, &r->headers_out.headers,
                                            "X-Helicone-Error", 16, &limited);
    }

    if (ctx->cache.hit) {
        /* as the original response said them */
        return ctx->cache.provider.len
               ? ngx_http_helicone_headers_served(r, &ctx->cache.provider,
                                                  &ctx->cache.model)
               : NGX_OK;
    }

    if (ctx->served == NULL) {
        return NGX_OK;
    }

    t = ctx->served->target;

    if (t->index >= 0 && t->headers) {
        index.data = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
        if (index.data == NULL) {
            return NGX_ERROR;
        }

        index.len = ngx_sprintf(index.data, "%i", t->index) - index.data;

        if (ngx_http_helicone_header_add(r, &r->headers_out.headers,
                                         "Helicone-Fallback-Index", 23,
                                         &index)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (t->provider == NULL) {
        return NGX_OK;
    }

    return ngx_http_helicone_headers_served(r, &t->provider->name,
                                            &t->model);
}


/* Who answered: Helicone-Provider, -Model and, in gateway mode, -Mode. */

static ngx_int_t
ngx_http_helicone_headers_served(ngx_http_request_t *r, ngx_str_t *provider,
    ngx_str_t *model)
{
    ngx_http_helicone_loc_conf_t  *hlcf;

    static ngx_str_t  byok = ngx_string("BYOK");

    if (ngx_http_helicone_header_add(r, &r->headers_out.headers,
                                     "Helicone-Provider", 17, provider)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (model->len
        && ngx_http_helicone_header_add(r, &r->headers_out.headers,
                                        "Helicone-Model", 14, model)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);

    if (hlcf->pass == NGX_HTTP_HELICONE_PASS_GATEWAY) {
        return ngx_http_helicone_header_add(r, &r->headers_out.headers,
                                            "Helicone-Gateway-Mode", 21,
                                            &byok);
    }

    return NGX_OK;
}
