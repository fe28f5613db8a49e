/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The response cache, with Helicone's semantics: Helicone-Cache-Enabled
 * (or -Read, -Save), buckets of Helicone-Cache-Bucket-Max-Size responses
 * per key, a seed, ignored body keys, the TTL of Cache-Control. Only a
 * complete 200 is stored, as the client got it (SSE text included), and
 * a hit replays it.
 */

#include "ngx_http_helicone_module.h"

#include <helicone_keys.h>


#define NGX_HTTP_HELICONE_CACHE_TTL       604800      /* 7 days */
#define NGX_HTTP_HELICONE_CACHE_TTL_MAX   31536000    /* 365 days */
#define NGX_HTTP_HELICONE_CACHE_IGNORE    32


/* an entry: this header, then the content type, then the body */
typedef struct {
    uint32_t                       status;
    uint32_t                       latency;      /* ms of the original */
    uint64_t                       cost;         /* pico-USD, or UNSET */
    u_char                         id[36];       /* the original request */
    uint32_t                       type_len;
    uint32_t                       body_len;
    uint32_t                       provider_len; /* after the body */
    uint32_t                       model_len;    /* after the provider */
} ngx_http_helicone_cache_entry_t;


static ngx_uint_t ngx_http_helicone_cache_true(ngx_list_t *headers,
    const char *name, size_t len);
static ngx_int_t ngx_http_helicone_cache_ignore(ngx_http_request_t *r,
    ngx_table_elt_t *h, helicone_str_t *keys, size_t *n);
static time_t ngx_http_helicone_cache_ttl(ngx_http_request_t *r);
static ngx_int_t ngx_http_helicone_cache_seconds(u_char *p, u_char *end);
static void ngx_http_helicone_cache_credentials(ngx_http_request_t *r,
    helicone_sha256_t *sha);
static void ngx_http_helicone_cache_got(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, void *op, ngx_int_t rc);


/*
 * What the request asks of the cache, and the key's digest. NGX_OK;
 * NGX_DECLINED with *rf for a bad cache header.
 */

ngx_int_t
ngx_http_helicone_cache_init(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_refusal_t *rf)
{
    u_char                        *body;
    size_t                         len, nignore;
    ngx_int_t                      n;
    helicone_sha256_t              sha;
    ngx_table_elt_t               *h, *seed;
    helicone_str_t                 ignore[NGX_HTTP_HELICONE_CACHE_IGNORE];
    ngx_http_helicone_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);

    if (hlcf->cache == 1) {
        ctx->cache.read = 1;
        ctx->cache.save = 1;

    } else if (hlcf->cache == NGX_CONF_UNSET) {
        ctx->cache.read = ngx_http_helicone_cache_true(&r->headers_in.headers,
                                                       "helicone-cache-enabled",
                                                       22)
                          || ngx_http_helicone_cache_true(
                                 &r->headers_in.headers,
                                 "helicone-cache-read", 19);
        ctx->cache.save = ngx_http_helicone_cache_true(&r->headers_in.headers,
                                                       "helicone-cache-enabled",
                                                       22)
                          || ngx_http_helicone_cache_true(
                                 &r->headers_in.headers,
                                 "helicone-cache-save", 19);
    }

    if (!ctx->cache.read && !ctx->cache.save) {
        return NGX_OK;
    }

    ctx->cache.buckets = 1;

    h = ngx_http_helicone_header_find(&r->headers_in.headers,
                                      "helicone-cache-bucket-max-size", 30);
    if (h) {
        n = ngx_atoi(h->value.data, h->value.len);

        if (n < 1 || n > NGX_HTTP_HELICONE_CACHE_BUCKETS) {
            return ngx_http_helicone_refuse(r->pool, rf, NGX_HTTP_BAD_REQUEST,
                       "invalid_cache_bucket_size",
                       "Helicone-Cache-Bucket-Max-Size must be 1 to %d",
                       NGX_HTTP_HELICONE_CACHE_BUCKETS);
        }

        ctx->cache.buckets = n;
    }

    nignore = 0;

    h = ngx_http_helicone_header_find(&r->headers_in.headers,
                                      "helicone-cache-ignore-keys", 26);
    if (h && ngx_http_helicone_cache_ignore(r, h, ignore, &nignore)
             != NGX_OK)
    {
        return ngx_http_helicone_refuse(r->pool, rf, NGX_HTTP_BAD_REQUEST,
                   "invalid_cache_ignore_keys",
                   "Helicone-Cache-Ignore-Keys must list names, "
                   "\"a\",\"b\" or a,b");
    }

    ctx->cache.ttl = ngx_min(ngx_http_helicone_cache_ttl(r),
                             hlcf->cache_max_ttl);

    /*
     * The key: seed, URL (with its query, where a key may be), the
     * organization, every credential header the client sends upstream in
     * the proxy modes, and the body compacted without the ignored keys.
     */

    seed = ngx_http_helicone_header_find(&r->headers_in.headers,
                                         "helicone-cache-seed", 19);

    helicone_sha256_init(&sha);
    /* -2: entries carry the provider and model (the -1 ones did not) */
    helicone_sha256_update(&sha, "helicone-cache-2", 17);

    if (seed) {
        helicone_sha256_update(&sha, seed->value.data, seed->value.len);
    }

    helicone_sha256_update(&sha, "\0", 1);
    helicone_sha256_update(&sha, r->unparsed_uri.data, r->unparsed_uri.len);
    helicone_sha256_update(&sha, "\0", 1);
    helicone_sha256_update(&sha, ctx->auth.org_id.data, ctx->auth.org_id.len);
    helicone_sha256_update(&sha, "\0", 1);

    if (hlcf->pass != NGX_HTTP_HELICONE_PASS_GATEWAY) {
        ngx_http_helicone_cache_credentials(r, &sha);
    }

    helicone_sha256_update(&sha, "\0", 1);

    if (ctx->json_ok) {
        body = ngx_pnalloc(r->pool, ctx->json.len);
        if (body == NULL) {
            return NGX_ERROR;
        }

        len = helicone_json_compact(&ctx->json, ignore, nignore, body);
        helicone_sha256_update(&sha, body, len);

    } else {
        helicone_sha256_update(&sha, ctx->body.data, ctx->body.len);
    }

    helicone_sha256_final(&sha, ctx->cache.digest);

    return NGX_OK;
}


/*
 * Every credential header the client sends (name and value): two clients
 * with different provider keys never share an answer, nor does a bad key
 * get a good key's.
 */

static void
ngx_http_helicone_cache_credentials(ngx_http_request_t *r,
    helicone_sha256_t *sha)
{
    u_char            name[32];
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

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

        if (h[i].hash == 0
            || !ngx_http_helicone_header_credential(&h[i])
            || h[i].key.len > sizeof(name))
        {
            continue;
        }

        ngx_strlow(name, h[i].key.data, h[i].key.len);

        helicone_sha256_update(sha, name, h[i].key.len);
        helicone_sha256_update(sha, ":", 1);
        helicone_sha256_update(sha, h[i].value.data, h[i].value.len);
        helicone_sha256_update(sha, "\n", 1);
    }
}


static ngx_uint_t
ngx_http_helicone_cache_true(ngx_list_t *headers, const char *name,
    size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_http_helicone_header_find(headers, name, len);

    /* compared case-insensitively, as Helicone does for these */
    return h && h->value.len == 4
           && ngx_strncasecmp(h->value.data, (u_char *) "true", 4) == 0;
}


/*
 * Helicone-Cache-Ignore-Keys: Helicone reads it as JSON inside brackets
 * ("a","b"); its docs show a,b. Both are taken.
 */

static ngx_int_t
ngx_http_helicone_cache_ignore(ngx_http_request_t *r, ngx_table_elt_t *h,
    helicone_str_t *keys, size_t *n)
{
    u_char                *p, *end, *start, *text;
    size_t                 len;
    helicone_json_iter_t   it;
    helicone_json_value_t  root, k, v;

    *n = 0;

    text = ngx_pnalloc(r->pool, h->value.len + 2);
    if (text == NULL) {
        return NGX_ERROR;
    }

    text[0] = '[';
    ngx_memcpy(text + 1, h->value.data, h->value.len);
    text[h->value.len + 1] = ']';

    if (helicone_json_parse(text, h->value.len + 2, &root) == HELICONE_OK
        && helicone_json_iter_init(&it, &root) == HELICONE_OK)
    {
        while (helicone_json_iter_next(&it, &k, &v) == HELICONE_OK) {
            if (v.type != HELICONE_JSON_STRING
                || *n == NGX_HTTP_HELICONE_CACHE_IGNORE)
            {
                return NGX_ERROR;
            }

            p = ngx_pnalloc(r->pool, v.len);
            if (p == NULL) {
                return NGX_ERROR;
            }

            len = helicone_json_string_decode(&v, p);
            keys[*n].data = p;
            keys[(*n)++].len = len;
        }

        return NGX_OK;
    }

    /* bare names, comma separated */

    p = h->value.data;
    end = p + h->value.len;

    while (p < end) {
        while (p < end && (*p == ' ' || *p == ',')) {
            p++;
        }

        start = p;

        while (p < end && *p != ',') {
            if (*p == '"' || *p == '\\' || *p < 0x20) {
                return NGX_ERROR;
            }

            p++;
        }

        len = p - start;

        while (len && start[len - 1] == ' ') {
            len--;
        }

        if (len) {
            if (*n == NGX_HTTP_HELICONE_CACHE_IGNORE) {
                return NGX_ERROR;
            }

            keys[*n].data = start;
            keys[(*n)++].len = len;
        }
    }

    return NGX_OK;
}


/* Cache-Control: s-maxage, else max-age; 7 days when absent */

static time_t
ngx_http_helicone_cache_ttl(ngx_http_request_t *r)
{
    u_char           *p, *end, *s;
    ngx_int_t         n, smax, max;
    ngx_table_elt_t  *h;

    h = ngx_http_helicone_header_find(&r->headers_in.headers,
                                      "cache-control", 13);
    if (h == NULL) {
        return NGX_HTTP_HELICONE_CACHE_TTL;
    }

    smax = NGX_ERROR;
    max = NGX_ERROR;

    p = h->value.data;
    end = p + h->value.len;

    while (p < end) {
        while (p < end && (*p == ' ' || *p == ',')) {
            p++;
        }

        if (end - p > 9 && ngx_strncasecmp(p, (u_char *) "s-maxage=", 9) == 0)
        {
            s = p + 9;

            for (p = s; p < end && *p >= '0' && *p <= '9'; p++) { /* void */ }

            n = ngx_http_helicone_cache_seconds(s, p);
            smax = (n == NGX_ERROR) ? smax : n;
            continue;
        }

        if (end - p > 8 && ngx_strncasecmp(p, (u_char *) "max-age=", 8) == 0)
        {
            s = p + 8;

            for (p = s; p < end && *p >= '0' && *p <= '9'; p++) { /* void */ }

            n = ngx_http_helicone_cache_seconds(s, p);
            max = (n == NGX_ERROR) ? max : n;
            continue;
        }

        while (p < end && *p != ',') {
            p++;
        }
    }

    n = (smax != NGX_ERROR) ? smax : max;

    if (n == NGX_ERROR) {
        return NGX_HTTP_HELICONE_CACHE_TTL;
    }

    return ngx_min(n, NGX_HTTP_HELICONE_CACHE_TTL_MAX);
}


/* A count of seconds: more than fits is as long as any (capped later). */

static ngx_int_t
ngx_http_helicone_cache_seconds(u_char *p, u_char *end)
{
    ngx_int_t  n;

    if (p == end) {
        return NGX_ERROR;
    }

    n = ngx_atoi(p, end - p);

    return (n == NGX_ERROR) ? NGX_MAX_INT_T_VALUE : n;
}


/*
 * NGX_OK: a hit, in ctx->cache.entry; NGX_DECLINED: a miss (a response
 * is then stored only once every bucket of the key is full, as Helicone
 * does). Store trouble is a miss. NGX_AGAIN: the store is asked, and
 * ngx_http_helicone_cache_lookup_done() tells once it answered.
 */

ngx_int_t
ngx_http_helicone_cache_lookup(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    ngx_int_t                        rc;
    ngx_http_helicone_main_conf_t   *hmcf;
    ngx_http_helicone_store_get_t   *op;

    if (!ctx->cache.read) {
        return NGX_DECLINED;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);

    /* the store may answer later: the op lives with the request */
    op = ngx_pcalloc(r->pool, sizeof(ngx_http_helicone_store_get_t)
                              + ctx->cache.buckets * sizeof(ngx_str_t));
    if (op == NULL) {
        return NGX_ERROR;
    }

    op->kind = NGX_HTTP_HELICONE_STORE_CACHE;
    op->sha = ctx->cache.digest;
    op->n = ctx->cache.buckets;
    op->values = (ngx_str_t *) (op + 1);
    op->done = ngx_http_helicone_cache_got;

    rc = hmcf->store->get(r, ctx, op);

    if (rc == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    if (rc == NGX_OK) {
        ngx_http_helicone_cache_got(r, ctx, op, NGX_OK);
    }

    return ngx_http_helicone_cache_lookup_done(r, ctx);
}


ngx_int_t
ngx_http_helicone_cache_lookup_done(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    return ctx->cache.hit ? NGX_OK : NGX_DECLINED;
}


/* The store's answer: a hit when every bucket is full, one at random. */

static void
ngx_http_helicone_cache_got(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, void *op, ngx_int_t rc)
{
    ngx_http_helicone_store_get_t *get = op;

    ngx_uint_t  i, pick;

    if (rc != NGX_OK) {
        /* no answer: a miss */
        return;
    }

    for (i = 0; i < get->n; i++) {
        if (get->values[i].data == NULL
            || get->values[i].len < sizeof(ngx_http_helicone_cache_entry_t))
        {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "helicone cache: miss, bucket %ui free", i);
            return;
        }
    }

    pick = (ngx_uint_t) ngx_random() % get->n;

    ctx->cache.entry = get->values[pick];
    ctx->cache.hit = 1;
    ctx->cache.bucket = pick;
}


/*
 * A hit, replayed: the stored status, type and body, a new id, and the
 * provider and model that answered, as the original's headers said.
 */

ngx_int_t
ngx_http_helicone_cache_send(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    u_char                           *p;
    ngx_http_helicone_cache_entry_t   e;

    ngx_memcpy(&e, ctx->cache.entry.data, sizeof(e));

    if ((uint64_t) sizeof(e) + e.type_len + e.body_len + e.provider_len
        + e.model_len > ctx->cache.entry.len)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ctx->cache.entry.data + sizeof(e) + e.type_len + e.body_len;

    ctx->cache.provider.data = p;
    ctx->cache.provider.len = e.provider_len;
    ctx->cache.model.data = p + e.provider_len;
    ctx->cache.model.len = e.model_len;

    ctx->own_response = 1;
    ctx->response_bytes = e.body_len;

    ngx_memcpy(ctx->cache.ref, e.id, 36);
    ctx->cache.latency = e.latency;
    ctx->cache.saved = e.cost;

    r->headers_out.status = e.status;
    r->headers_out.content_length_n = e.body_len;
    r->headers_out.content_type.data = ctx->cache.entry.data + sizeof(e);
    r->headers_out.content_type.len = e.type_len;
    r->headers_out.content_type_len = e.type_len;

    /* what the client got is what the log keeps */
    ctx->relay.capture = ctx->cache.entry.data + sizeof(e) + e.type_len;
    ctx->relay.capture_len = e.body_len;

    if (ngx_http_helicone_headers_response(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_helicone_send_whole(r, ctx->relay.capture, e.body_len);
}


/* Helicone-Cache: HIT or MISS, and for a hit its bucket and latency. */

ngx_int_t
ngx_http_helicone_cache_headers(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    static ngx_str_t  hit = ngx_string("HIT");
    static ngx_str_t  miss = ngx_string("MISS");

    if (!ctx->cache.read) {
        return NGX_OK;
    }

    if (!ctx->cache.hit) {
        return ngx_http_helicone_header_add(r, &r->headers_out.headers,
                                            "Helicone-Cache", 14, &miss);
    }

    if (ngx_http_helicone_header_add(r, &r->headers_out.headers,
                                     "Helicone-Cache", 14, &hit)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_helicone_header_add_number(r, "Helicone-Cache-Bucket-Idx",
                                            25, ctx->cache.bucket)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_helicone_header_add_number(r, "Helicone-Cache-Latency",
                                               22, ctx->cache.latency);
}


/*
 * In the log phase: a complete 200, not cut, not a hit, as the client
 * got it, into the first free bucket of its key. A stream is complete
 * with its end event ("[DONE]", message_stop); no error may be in it.
 */

void
ngx_http_helicone_cache_save(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    u_char                           *p;
    ngx_str_t                         v, type, provider, model;
    ngx_http_helicone_target_t       *t;
    ngx_http_helicone_loc_conf_t     *hlcf;
    ngx_http_helicone_main_conf_t    *hmcf;
    ngx_http_helicone_store_put_t     op;
    ngx_http_helicone_cache_entry_t   e;

    if (!ctx->cache.save || ctx->cache.hit || !ctx->done
        || ctx->attempts.truncated || ctx->aborted || !ctx->relayed
        || ctx->relay.capture_overflow || ctx->relay.provider_error
        || (ctx->relay.event_stream && !ctx->relay.sse_done)
        || r->headers_out.status != NGX_HTTP_OK)
    {
        return;
    }

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);
    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);

    if (ctx->relay.capture_len > hlcf->cache_max_entry || ctx->cache.ttl <= 0) {
        return;
    }

    type = r->headers_out.content_type;

    ngx_str_null(&provider);
    ngx_str_null(&model);

    t = ctx->served ? ctx->served->target : NULL;

    if (t && t->provider) {
        provider = t->provider->name;
        model = t->model;
    }

    ngx_memzero(&e, sizeof(e));
    e.status = NGX_HTTP_OK;
    e.latency = (uint32_t) (ngx_current_msec - ctx->start);
    e.cost = (ngx_http_helicone_cost(r, ctx) == NGX_OK)
             ? ctx->cost.pico : HELICONE_COST_UNSET;
    ngx_memcpy(e.id, ctx->id.data, 36);
    e.type_len = (uint32_t) type.len;
    e.body_len = (uint32_t) ctx->relay.capture_len;
    e.provider_len = (uint32_t) provider.len;
    e.model_len = (uint32_t) model.len;

    v.len = sizeof(e) + type.len + ctx->relay.capture_len + provider.len
            + model.len;
    v.data = ngx_pnalloc(r->pool, v.len);
    if (v.data == NULL) {
        return;
    }

    p = ngx_cpymem(v.data, &e, sizeof(e));
    p = ngx_cpymem(p, type.data, type.len);
    p = ngx_cpymem(p, ctx->relay.capture, ctx->relay.capture_len);
    p = ngx_cpymem(p, provider.data, provider.len);
    ngx_memcpy(p, model.data, model.len);

    /* into the first bucket free now */
    op.kind = NGX_HTTP_HELICONE_STORE_CACHE;
    op.sha = ctx->cache.digest;
    op.n = ctx->cache.buckets;
    op.value = &v;
    op.ttl = ctx->cache.ttl;

    if (hmcf->store->put(r, &op) == NGX_BUSY) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "helicone cache: no room for %uz bytes", v.len);
    }
}
