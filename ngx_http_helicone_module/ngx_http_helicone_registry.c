/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The registry's look-ups and words: a provider or model by name, the
 * names of key placements, a URL's origin. The data files' reader
 * (json.c) and the directives (providers.c) both use them; they call
 * neither.
 */

#include "ngx_http_helicone_module.h"


#define NGX_HTTP_HELICONE_NAME_MAX  256


static void *ngx_http_helicone_registry_find(ngx_hash_t *hash, u_char *name,
    size_t len);


ngx_http_helicone_provider_t *
ngx_http_helicone_provider_find(ngx_http_helicone_main_conf_t *hmcf,
    u_char *name, size_t len)
{
    return ngx_http_helicone_registry_find(&hmcf->providers_hash, name, len);
}


int
ngx_http_helicone_provider_known(void *data, const unsigned char *name,
    size_t len)
{
    return ngx_http_helicone_provider_find(data, (u_char *) name, len)
           != NULL;
}


ngx_http_helicone_model_t *
ngx_http_helicone_model_find(ngx_http_helicone_main_conf_t *hmcf,
    u_char *name, size_t len)
{
    return ngx_http_helicone_registry_find(&hmcf->models_hash, name, len);
}


/* A look-up in any case: the hashes hold lower-case names. */

static void *
ngx_http_helicone_registry_find(ngx_hash_t *hash, u_char *name, size_t len)
{
    ngx_uint_t  i, key;
    u_char      lc[NGX_HTTP_HELICONE_NAME_MAX];

    if (len == 0 || len > NGX_HTTP_HELICONE_NAME_MAX
        || hash->buckets == NULL)
    {
        return NULL;
    }

    key = 0;

    for (i = 0; i < len; i++) {
        lc[i] = ngx_tolower(name[i]);
        key = ngx_hash(key, lc[i]);
    }

    return ngx_hash_find(hash, key, lc, len);
}


ngx_int_t
ngx_http_helicone_url_origin(ngx_str_t *url, ngx_str_t *origin)
{
    u_char  *p, *last, *host;

    p = url->data;
    last = p + url->len;

    if (url->len > 7 && helicone_caseless_eq(p, (u_char *) "http://", 7)) {
        p += 7;

    } else if (url->len > 8
               && helicone_caseless_eq(p, (u_char *) "https://", 8))
    {
        p += 8;

    } else {
        return NGX_ERROR;
    }

    host = p;

    while (p < last && *p != '/' && *p != ':' && *p != '?' && *p != '#') {
        if (!(ngx_http_helicone_isalnum(*p) || *p == '.' || *p == '-'
              || *p == '_' || *p == '[' || *p == ']'))
        {
            return NGX_ERROR;
        }

        p++;
    }

    if (p == host) {
        return NGX_ERROR;
    }

    if (p < last && *p == ':') {
        p++;

        if (p == last || !(*p >= '0' && *p <= '9')) {
            return NGX_ERROR;
        }

        while (p < last && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < last && *p != '/' && *p != '?') {
        return NGX_ERROR;
    }

    origin->data = url->data;
    origin->len = p - url->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_helicone_provider_parse_auth(ngx_str_t *s, ngx_uint_t *auth)
{
    ngx_uint_t  i;

    static ngx_str_t  names[] = {
        ngx_string("bearer"),
        ngx_string("x-api-key"),
        ngx_string("api-key"),
        ngx_string("none")
    };

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (s->len == names[i].len
            && ngx_strncmp(s->data, names[i].data, s->len) == 0)
        {
            *auth = i;
            return NGX_OK;
        }
    }

    return NGX_ERROR;
}

