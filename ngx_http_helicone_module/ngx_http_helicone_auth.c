/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Helicone API keys: the keys file and each request's credential. */

#include "ngx_http_helicone_module.h"

#include <helicone_keys.h>


static int ngx_libc_cdecl ngx_http_helicone_key_cmp(const void *a,
    const void *b);
static ngx_int_t ngx_http_helicone_credential(ngx_http_request_t *r,
    ngx_uint_t pass, ngx_str_t *key);


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

    return NGX_OK;
}


static int ngx_libc_cdecl
ngx_http_helicone_key_cmp(const void *a, const void *b)
{
    const ngx_http_helicone_key_t  *ka = a, *kb = b;

    return ngx_memcmp(ka->sha, kb->sha, 32);
}


/*
 * NGX_OK: the request may go on (ctx->org_id set when the key is known);
 * NGX_DECLINED: a key is required and missing or unknown.
 */

ngx_int_t
ngx_http_helicone_auth(ngx_http_request_t *r, ngx_http_helicone_ctx_t *ctx)
{
    u_char                          sha[32];
    ngx_int_t                       lo, hi, mid, cmp;
    ngx_str_t                       key;
    ngx_http_helicone_key_t        *keys;
    ngx_http_helicone_loc_conf_t   *hlcf;
    ngx_http_helicone_main_conf_t  *hmcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);

    if (hlcf->auth == NGX_HTTP_HELICONE_AUTH_OFF) {
        return NGX_OK;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);

    if (ngx_http_helicone_credential(r, hlcf->pass, &key) != NGX_OK
        || hmcf->keys == NULL)
    {
        goto unknown;
    }

    helicone_key_hash(key.data, key.len, sha);

    keys = hmcf->keys->elts;
    lo = 0;
    hi = (ngx_int_t) hmcf->keys->nelts - 1;

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

            for ( /* void */ ; lo < (ngx_int_t) hmcf->keys->nelts
                               && ngx_memcmp(keys[lo].sha, sha, 8) == 0;
                 lo++)
            {
                if (helicone_ct_equal(keys[lo].sha, sha, 32)) {
                    ctx->org_id = keys[lo].org;
                    ctx->key_name = keys[lo].name;
                    return NGX_OK;
                }
            }

            break;
        }

        if (cmp < 0) {
            hi = mid - 1;

        } else {
            lo = mid + 1;
        }
    }

unknown:

    if (hlcf->auth == NGX_HTTP_HELICONE_AUTH_REQUIRED) {
        return NGX_DECLINED;
    }

    return NGX_OK;
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

    if (key->len > 7 && ngx_strncasecmp(key->data, (u_char *) "Bearer ", 7)
                        == 0)
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
