/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Helicone API keys: the keys file, keys in Redis (with a short cache of
 * Redis's verdicts in the shm zone), and each request's credential.
 */

#include "ngx_http_helicone_module.h"

#include <helicone_keys.h>


/* a verdict kept for this long serves while Redis is unreachable */
#define NGX_HTTP_HELICONE_KEY_STALE  3600

/* the key memo: slots (a power of two), and the longest key it keeps */
#define NGX_HTTP_HELICONE_KEY_MEMO_SLOTS  64
#define NGX_HTTP_HELICONE_KEY_MEMO_MAX    128


/*
 * A key the worker has seen, with its keys file entry: the next request
 * with the same key skips SHA-256 and the search. The memo belongs to
 * the configuration, so a reload, which reads the keys file again,
 * starts with an empty one; Redis's verdicts, which expire, are not kept.
 */
struct ngx_http_helicone_key_memo_s {
    ngx_http_helicone_key_t       *entry;        /* NULL: the slot is free */
    size_t                         len;
    u_char                         key[NGX_HTTP_HELICONE_KEY_MEMO_MAX];
};


/* a cached verdict: this header, then the org id and the name */
typedef struct {
    time_t                         checked;      /* when Redis said so */
    uint32_t                       known;
    uint32_t                       org_len;
    uint32_t                       name_len;
} ngx_http_helicone_key_entry_t;


typedef struct {
    u_char                         sha[32];      /* the key's hash */
    ngx_str_t                      stale;        /* an old verdict, or empty */
    ngx_str_t                      record;       /* the store's answer */
    ngx_http_helicone_store_get_t  get;
} ngx_http_helicone_key_query_t;


static int ngx_libc_cdecl ngx_http_helicone_key_cmp(const void *a,
    const void *b);
static ngx_http_helicone_key_t *ngx_http_helicone_key_file_find(
    ngx_http_helicone_main_conf_t *hmcf, u_char *sha);
static ngx_http_helicone_key_memo_t *ngx_http_helicone_key_memo_slot(
    ngx_http_helicone_main_conf_t *hmcf, ngx_str_t *key);
static ngx_int_t ngx_http_helicone_credential(ngx_http_request_t *r,
    ngx_uint_t pass, ngx_str_t *key);
static ngx_int_t ngx_http_helicone_auth_store(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, u_char *sha);
static void ngx_http_helicone_auth_reply(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, void *op, ngx_int_t rc);
static ngx_int_t ngx_http_helicone_auth_verdict(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_str_t *entry);
static void ngx_http_helicone_auth_remember(ngx_http_request_t *r,
    ngx_http_helicone_key_query_t *q, ngx_http_helicone_ctx_t *ctx,
    ngx_uint_t known);


ngx_int_t
ngx_http_helicone_keys_load(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, ngx_str_t *path)
{
    u_char                   *p, *last, *eol;
    ngx_int_t                 rc;
    ngx_str_t                 text;
    ngx_uint_t                line;
    helicone_str_t            org, name;
    ngx_http_helicone_key_t  *key;

    if (ngx_http_helicone_conf_read_file(cf, path, &text) != NGX_OK) {
        return NGX_ERROR;
    }

    hmcf->keys = ngx_array_create(cf->pool, 16,
                                  sizeof(ngx_http_helicone_key_t));
    if (hmcf->keys == NULL) {
        return NGX_ERROR;
    }

    p = text.data;
    last = text.data + text.len;
    line = 0;

    while (p < last) {
        line++;

        eol = ngx_strlchr(p, last, '\n');
        if (eol == NULL) {
            eol = last;
        }

        key = ngx_array_push(hmcf->keys);
        if (key == NULL) {
            return NGX_ERROR;
        }

        rc = helicone_keys_parse_line(p, eol - p, key->sha, &org, &name);

        if (rc == HELICONE_ERROR) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid line %ui in \"%V\": expected "
                               "\"<sha256-hex> <org-id> [name]\"",
                               line, path);
            return NGX_ERROR;
        }

        if (rc == HELICONE_DECLINED) {
            hmcf->keys->nelts--;

        } else {
            key->org.data = (u_char *) org.data;
            key->org.len = org.len;
            key->name.data = (u_char *) name.data;
            key->name.len = name.len;
        }

        p = eol + 1;
    }

    ngx_qsort(hmcf->keys->elts, hmcf->keys->nelts,
              sizeof(ngx_http_helicone_key_t), ngx_http_helicone_key_cmp);

    hmcf->keys_memo = ngx_pcalloc(cf->pool,
                                  NGX_HTTP_HELICONE_KEY_MEMO_SLOTS
                                  * sizeof(ngx_http_helicone_key_memo_t));
    if (hmcf->keys_memo == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static int ngx_libc_cdecl
ngx_http_helicone_key_cmp(const void *a, const void *b)
{
    const ngx_http_helicone_key_t  *ka = a, *kb = b;

    return ngx_memcmp(ka->sha, kb->sha, 32);
}


/*
 * NGX_OK: the request may go on (ctx->auth.org_id set when the key is known);
 * NGX_DECLINED: a key is required and missing or unknown; NGX_BUSY: it
 * is required and Redis, which would know it, is unavailable; NGX_AGAIN:
 * Redis is asked, ngx_http_helicone_auth_done() tells once it answered.
 */

ngx_int_t
ngx_http_helicone_auth(ngx_http_request_t *r, ngx_http_helicone_ctx_t *ctx)
{
    u_char                          sha[32];
    ngx_str_t                       key;
    ngx_http_helicone_key_t        *entry;
    ngx_http_helicone_key_memo_t   *memo;
    ngx_http_helicone_loc_conf_t   *hlcf;
    ngx_http_helicone_main_conf_t  *hmcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);

    if (hlcf->auth == NGX_HTTP_HELICONE_AUTH_OFF) {
        return NGX_OK;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);

    if (ngx_http_helicone_credential(r, hlcf->pass, &key) != NGX_OK
        || (hmcf->keys == NULL && !hmcf->keys_redis))
    {
        goto unknown;
    }

    memo = ngx_http_helicone_key_memo_slot(hmcf, &key);

    if (memo && memo->entry && memo->len == key.len
        && helicone_ct_equal(memo->key, key.data, key.len))
    {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "helicone auth: key known from the memo");

        ctx->auth.org_id = memo->entry->org;
        ctx->auth.key_name = memo->entry->name;
        return NGX_OK;
    }

    helicone_key_hash(key.data, key.len, sha);

    entry = ngx_http_helicone_key_file_find(hmcf, sha);

    if (entry) {
        if (memo) {
            /* no byte of a longer key that had the slot stays behind */
            ngx_memzero(memo->key, sizeof(memo->key));
            ngx_memcpy(memo->key, key.data, key.len);
            memo->len = key.len;
            memo->entry = entry;
        }

        ctx->auth.org_id = entry->org;
        ctx->auth.key_name = entry->name;
        return NGX_OK;
    }

    if (hmcf->keys_redis) {
        if (ngx_http_helicone_auth_store(r, ctx, sha) == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        return ngx_http_helicone_auth_done(r, ctx);
    }

unknown:

    if (hlcf->auth == NGX_HTTP_HELICONE_AUTH_REQUIRED) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* The keys file's entry of a key hash, or NULL. */

static ngx_http_helicone_key_t *
ngx_http_helicone_key_file_find(ngx_http_helicone_main_conf_t *hmcf,
    u_char *sha)
{
    ngx_int_t                 lo, hi, mid, cmp, n;
    ngx_http_helicone_key_t  *keys;

    if (hmcf->keys == NULL) {
        return NULL;
    }

    keys = hmcf->keys->elts;
    n = (ngx_int_t) hmcf->keys->nelts;
    lo = 0;
    hi = n - 1;

    while (lo <= hi) {
        mid = lo + (hi - lo) / 2;
        cmp = ngx_memcmp(sha, keys[mid].sha, 8);

        if (cmp == 0) {
            /* the first 8 bytes found the slot: compare all 32 blindly */
            for (lo = mid; lo > 0
                           && ngx_memcmp(keys[lo - 1].sha, sha, 8) == 0;
                 lo--)
            {
                /* void */
            }

            for ( /* void */ ; lo < n && ngx_memcmp(keys[lo].sha, sha, 8) == 0;
                 lo++)
            {
                if (helicone_ct_equal(keys[lo].sha, sha, 32)) {
                    return &keys[lo];
                }
            }

            return NULL;
        }

        if (cmp < 0) {
            hi = mid - 1;

        } else {
            lo = mid + 1;
        }
    }

    return NULL;
}


/* The key's slot in the memo, or NULL: no keys file, or a key too long. */

static ngx_http_helicone_key_memo_t *
ngx_http_helicone_key_memo_slot(ngx_http_helicone_main_conf_t *hmcf,
    ngx_str_t *key)
{
    if (hmcf->keys_memo == NULL
        || key->len > NGX_HTTP_HELICONE_KEY_MEMO_MAX)
    {
        return NULL;
    }

    return &hmcf->keys_memo[helicone_key_slot_hash(key->data, key->len)
                            & (NGX_HTTP_HELICONE_KEY_MEMO_SLOTS - 1)];
}


ngx_int_t
ngx_http_helicone_auth_done(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    ngx_http_helicone_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);

    if (ctx->auth.org_id.len || hlcf->auth != NGX_HTTP_HELICONE_AUTH_REQUIRED) {
        return NGX_OK;
    }

    return ctx->auth.key_unavailable ? NGX_BUSY : NGX_DECLINED;
}


/*
 * A key not in the keys file: its verdict from the zone (the local memo,
 * always there) if fresh, else the store's record of it. NGX_AGAIN: the
 * store is asked; NGX_OK: the verdict is in ctx.
 */

static ngx_int_t
ngx_http_helicone_auth_store(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, u_char *sha)
{
    ngx_int_t                       rc;
    ngx_str_t                       v;
    ngx_http_helicone_key_entry_t   e;
    ngx_http_helicone_key_query_t  *q;
    ngx_http_helicone_store_get_t   memo;
    ngx_http_helicone_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);

    q = ngx_pcalloc(r->pool, sizeof(ngx_http_helicone_key_query_t));
    if (q == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(q->sha, sha, 32);

    ngx_memzero(&memo, sizeof(memo));
    memo.kind = NGX_HTTP_HELICONE_STORE_VERDICT;
    memo.sha = q->sha;
    memo.n = 1;
    memo.values = &v;

    if (ngx_http_helicone_store_shm.get(r, ctx, &memo) == NGX_OK
        && v.data && v.len >= sizeof(ngx_http_helicone_key_entry_t))
    {
        ngx_memcpy(&e, v.data, sizeof(e));

        if (e.checked + hmcf->keys_valid > ngx_time()) {
            ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "helicone auth: cached verdict, known:%uD",
                           e.known);

            return ngx_http_helicone_auth_verdict(r, ctx, &v);
        }

        q->stale = v;
    }

    q->get.kind = NGX_HTTP_HELICONE_STORE_KEY;
    q->get.sha = q->sha;
    q->get.n = 1;
    q->get.values = &q->record;
    q->get.done = ngx_http_helicone_auth_reply;
    q->get.data = q;

    rc = hmcf->store->get(r, ctx, &q->get);

    if (rc == NGX_AGAIN) {
        return NGX_AGAIN;
    }

    ngx_http_helicone_auth_reply(r, ctx, &q->get,
                                 (rc == NGX_OK) ? NGX_OK : NGX_ERROR);

    return NGX_OK;
}


/* The store's record: "<org-id> [name]", or none for an unknown key. */

static void
ngx_http_helicone_auth_reply(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, void *op, ngx_int_t rc)
{
    ngx_http_helicone_store_get_t *get = op;

    u_char                         *line;
    helicone_str_t                  org, name;
    ngx_http_helicone_key_query_t  *q;

    q = get->data;

    if (rc != NGX_OK) {
        /* no verdict: an old one serves, if any */
        if (q->stale.len) {
            (void) ngx_http_helicone_auth_verdict(r, ctx, &q->stale);

        } else {
            ctx->auth.key_unavailable = 1;
        }

        return;
    }

    if (q->record.data == NULL) {
        ngx_http_helicone_auth_remember(r, q, ctx, 0);
        return;
    }

    /* the value read as a keys file line: the same rules */

    line = ngx_pnalloc(r->pool, 65 + q->record.len);
    if (line == NULL) {
        ctx->auth.key_unavailable = 1;
        return;
    }

    ngx_hex_dump(line, q->sha, 32);
    line[64] = ' ';
    ngx_memcpy(line + 65, q->record.data, q->record.len);

    if (helicone_keys_parse_line(line, 65 + q->record.len, q->sha, &org,
                                 &name)
        != HELICONE_OK)
    {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "helicone auth: invalid key entry in the store, "
                      "expected \"<org-id> [name]\"");
        ngx_http_helicone_auth_remember(r, q, ctx, 0);
        return;
    }

    ctx->auth.org_id.data = (u_char *) org.data;
    ctx->auth.org_id.len = org.len;
    ctx->auth.key_name.data = (u_char *) name.data;
    ctx->auth.key_name.len = name.len;

    ngx_http_helicone_auth_remember(r, q, ctx, 1);
}


/* A verdict from the zone into ctx: NGX_OK. */

static ngx_int_t
ngx_http_helicone_auth_verdict(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_str_t *entry)
{
    ngx_http_helicone_key_entry_t  e;

    ngx_memcpy(&e, entry->data, sizeof(e));

    if (!e.known || e.org_len == 0
        || sizeof(e) + e.org_len + e.name_len > entry->len)
    {
        return NGX_OK;
    }

    /* entry is the request's copy */
    ctx->auth.org_id.data = entry->data + sizeof(e);
    ctx->auth.org_id.len = e.org_len;
    ctx->auth.key_name.data = ctx->auth.org_id.data + e.org_len;
    ctx->auth.key_name.len = e.name_len;

    return NGX_OK;
}


static void
ngx_http_helicone_auth_remember(ngx_http_request_t *r,
    ngx_http_helicone_key_query_t *q, ngx_http_helicone_ctx_t *ctx,
    ngx_uint_t known)
{
    u_char                         *p;
    ngx_str_t                       v;
    ngx_http_helicone_key_entry_t   e;
    ngx_http_helicone_store_put_t   put;
    ngx_http_helicone_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);

    ngx_memzero(&e, sizeof(e));
    e.checked = ngx_time();
    e.known = known;

    if (known) {
        e.org_len = (uint32_t) ctx->auth.org_id.len;
        e.name_len = (uint32_t) ctx->auth.key_name.len;
    }

    v.len = sizeof(e) + e.org_len + e.name_len;
    v.data = ngx_pnalloc(r->pool, v.len);
    if (v.data == NULL) {
        return;
    }

    p = ngx_cpymem(v.data, &e, sizeof(e));

    /* a key line without a name leaves key_name.data NULL */
    if (e.org_len) {
        p = ngx_cpymem(p, ctx->auth.org_id.data, e.org_len);
    }

    if (e.name_len) {
        ngx_memcpy(p, ctx->auth.key_name.data, e.name_len);
    }

    put.sha = q->sha;
    put.n = 1;
    put.value = &v;

    if (known) {
        /* kept an hour (it serves while the store is unreachable), and
         * above cached responses: cache traffic cannot push it out */
        put.kind = NGX_HTTP_HELICONE_STORE_VERDICT;
        put.ttl = ngx_max(hmcf->keys_valid, NGX_HTTP_HELICONE_KEY_STALE);

    } else {
        /*
         * an unknown key's verdict: only as long as it is valid, and it
         * can push out nothing but its kind, so made-up keys cannot push
         * out known ones
         */
        put.kind = NGX_HTTP_HELICONE_STORE_UNKNOWN;
        put.ttl = hmcf->keys_valid;
    }

    (void) ngx_http_helicone_store_shm.put(r, &put);
}


/* helicone_keys_redis on | off [valid=time]; */

char *
ngx_http_helicone_keys_redis_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_helicone_main_conf_t *hmcf = conf;

    time_t      valid;
    ngx_str_t  *value, s;

    if (hmcf->keys_redis != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "on") == 0) {
        hmcf->keys_redis = 1;

    } else if (ngx_strcmp(value[1].data, "off") == 0) {
        hmcf->keys_redis = 0;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 3) {
        s = value[2];

        if (ngx_strncmp(s.data, "valid=", 6) != 0) {
            goto invalid;
        }

        s.data += 6;
        s.len -= 6;

        valid = ngx_parse_time(&s, 1);

        if (valid == (time_t) NGX_ERROR || valid < 1) {
            goto invalid;
        }

        hmcf->keys_valid = valid;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[2]);
    return NGX_CONF_ERROR;
}


/*
 * The Helicone key: Helicone-Auth in every mode; in gateway mode the
 * client's Authorization or x-api-key too, since SDKs send their API key
 * there and it is the Helicone key.
 */

static ngx_int_t
ngx_http_helicone_credential(ngx_http_request_t *r, ngx_uint_t pass,
    ngx_str_t *key)
{
    ngx_table_elt_t  *h;

    h = ngx_http_helicone_header_find(&r->headers_in.headers,
                                      "helicone-auth", 13);

    if (h == NULL && pass == NGX_HTTP_HELICONE_PASS_GATEWAY) {
        h = r->headers_in.authorization;

        if (h == NULL) {
            h = ngx_http_helicone_header_find(&r->headers_in.headers,
                                              "x-api-key", 9);
        }
    }

    if (h == NULL) {
        return NGX_DECLINED;
    }

    *key = h->value;

    if (key->len > 7
        && helicone_caseless_eq(key->data, (u_char *) "Bearer ", 7))
    {
        key->data += 7;
        key->len -= 7;
    }

    while (key->len && key->data[0] == ' ') {
        key->data++;
        key->len--;
    }

    while (key->len && key->data[key->len - 1] == ' ') {
        key->len--;
    }

    return key->len ? NGX_OK : NGX_DECLINED;
}
