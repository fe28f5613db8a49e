/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* The provider and model tables: defaults, overrides, keys, look-ups. */

#include "ngx_http_helicone_module.h"


#define NGX_HTTP_HELICONE_NAME_MAX  256

#define ngx_http_helicone_isalnum(c)                                          \
    (((c) >= '0' && (c) <= '9') || ((c) >= 'a' && (c) <= 'z')               \
     || ((c) >= 'A' && (c) <= 'Z'))


typedef struct {
    ngx_str_t                      name;
    ngx_http_helicone_provider_t   spec;         /* fields set or unset */
    ngx_uint_t                     api_set;
    ngx_uint_t                     auth_set;
    ngx_str_t                      file;         /* for error messages */
    ngx_uint_t                     line;
} ngx_http_helicone_override_t;


typedef struct {
    ngx_str_t                      name;
    ngx_str_t                      key;
    ngx_str_t                      file;
    ngx_uint_t                     line;
} ngx_http_helicone_provider_key_t;


static ngx_int_t ngx_http_helicone_apply_override(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, ngx_http_helicone_override_t *ov);
static ngx_uint_t ngx_http_helicone_lower_key(u_char *dst, u_char *src,
    size_t len);


ngx_int_t
ngx_http_helicone_providers_init(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf)
{
    ngx_str_t                          text, source;
    ngx_uint_t                         i;
    ngx_hash_init_t                    hash;
    ngx_hash_keys_arrays_t             keys;
    ngx_http_helicone_provider_t     **pp, *p;
    ngx_http_helicone_override_t      *ov;
    ngx_http_helicone_provider_key_t  *pk;

    if (hmcf->providers_file.len) {
        if (ngx_conf_full_name(cf->cycle, &hmcf->providers_file, 1)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (ngx_http_helicone_conf_read_file(cf, &hmcf->providers_file, &text)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        source = hmcf->providers_file;

    } else {
        text.data = (u_char *) ngx_http_helicone_embedded_providers;
        text.len = ngx_http_helicone_embedded_providers_len;
        ngx_str_set(&source, "built-in providers.json");
    }

    if (ngx_http_helicone_json_load_providers(cf, hmcf, text.data, text.len,
                                              &source)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (hmcf->overrides) {
        ov = hmcf->overrides->elts;

        for (i = 0; i < hmcf->overrides->nelts; i++) {
            if (ngx_http_helicone_apply_override(cf, hmcf, &ov[i]) != NGX_OK) {
                return NGX_ERROR;
            }
        }
    }

    /* the providers hash */

    ngx_memzero(&keys, sizeof(ngx_hash_keys_arrays_t));
    keys.pool = cf->pool;
    keys.temp_pool = cf->temp_pool;

    if (ngx_hash_keys_array_init(&keys, NGX_HASH_SMALL) != NGX_OK) {
        return NGX_ERROR;
    }

    pp = hmcf->providers.elts;

    for (i = 0; i < hmcf->providers.nelts; i++) {
        if (ngx_hash_add_key(&keys, &pp[i]->name, pp[i],
                             NGX_HASH_READONLY_KEY)
            == NGX_ERROR)
        {
            return NGX_ERROR;
        }
    }

    hash.hash = &hmcf->providers_hash;
    hash.key = ngx_hash_key_lc;
    hash.max_size = 1024;
    hash.bucket_size = ngx_align(64, ngx_cacheline_size);
    hash.name = "helicone_providers_hash";
    hash.pool = cf->pool;
    hash.temp_pool = NULL;

    if (ngx_hash_init(&hash, keys.keys.elts, keys.keys.nelts) != NGX_OK) {
        return NGX_ERROR;
    }

    /* keys after overrides, so a key can name a provider added here */

    if (hmcf->provider_keys) {
        pk = hmcf->provider_keys->elts;

        for (i = 0; i < hmcf->provider_keys->nelts; i++) {
            p = ngx_http_helicone_provider_find(hmcf, pk[i].name.data,
                                                pk[i].name.len);
            if (p == NULL) {
                ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                              "helicone_provider_key: unknown provider "
                              "\"%V\" in %V:%ui",
                              &pk[i].name, &pk[i].file, pk[i].line);
                return NGX_ERROR;
            }

            p->key = pk[i].key;
            p->has_key = 1;
        }
    }

    /* the models hash */

    if (hmcf->models_file.len) {
        if (ngx_conf_full_name(cf->cycle, &hmcf->models_file, 1) != NGX_OK) {
            return NGX_ERROR;
        }

        if (ngx_http_helicone_conf_read_file(cf, &hmcf->models_file, &text)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        source = hmcf->models_file;

    } else {
        text.data = (u_char *) ngx_http_helicone_embedded_models;
        text.len = ngx_http_helicone_embedded_models_len;
        ngx_str_set(&source, "built-in models.json");
    }

    ngx_memzero(&keys, sizeof(ngx_hash_keys_arrays_t));
    keys.pool = cf->pool;
    keys.temp_pool = cf->temp_pool;

    if (ngx_hash_keys_array_init(&keys, NGX_HASH_LARGE) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_helicone_json_load_models(cf, hmcf, text.data, text.len,
                                           &source, &keys)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    hash.hash = &hmcf->models_hash;
    hash.max_size = 8192;
    hash.bucket_size = ngx_align(512, ngx_cacheline_size);
    hash.name = "helicone_models_hash";

    if (ngx_hash_init(&hash, keys.keys.elts, keys.keys.nelts) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_http_helicone_provider_t *
ngx_http_helicone_provider_find(ngx_http_helicone_main_conf_t *hmcf,
    u_char *name, size_t len)
{
    ngx_uint_t  key;
    u_char      lc[NGX_HTTP_HELICONE_NAME_MAX];

    if (len == 0 || len > NGX_HTTP_HELICONE_NAME_MAX
        || hmcf->providers_hash.buckets == NULL)
    {
        return NULL;
    }

    key = ngx_http_helicone_lower_key(lc, name, len);

    return ngx_hash_find(&hmcf->providers_hash, key, lc, len);
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
    ngx_uint_t  key;
    u_char      lc[NGX_HTTP_HELICONE_NAME_MAX];

    if (len == 0 || len > NGX_HTTP_HELICONE_NAME_MAX
        || hmcf->models_hash.buckets == NULL)
    {
        return NULL;
    }

    key = ngx_http_helicone_lower_key(lc, name, len);

    return ngx_hash_find(&hmcf->models_hash, key, lc, len);
}


static ngx_uint_t
ngx_http_helicone_lower_key(u_char *dst, u_char *src, size_t len)
{
    ngx_uint_t  key;

    key = 0;

    while (len--) {
        *dst = ngx_tolower(*src);
        key = ngx_hash(key, *dst);
        dst++;
        src++;
    }

    return key;
}


/*
 * helicone_provider NAME [url=URL] [api=openai|anthropic|azure]
 *     [path=/chat/path] [responses=/path] [embeddings=/path]
 *     [auth=bearer|x-api-key|api-key|none]
 *     [api_version=VERSION] [legacy=NAME];  (url= for a new provider)
 */

char *
ngx_http_helicone_provider_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_helicone_main_conf_t *hmcf = conf;

    ngx_str_t                     *value, s, origin;
    ngx_uint_t                     i;
    ngx_http_helicone_override_t  *ov;

    if (hmcf->overrides == NULL) {
        hmcf->overrides = ngx_array_create(cf->pool, 4,
                              sizeof(ngx_http_helicone_override_t));
        if (hmcf->overrides == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    ov = ngx_array_push(hmcf->overrides);
    if (ov == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(ov, sizeof(ngx_http_helicone_override_t));

    value = cf->args->elts;

    ov->name = value[1];
    ov->file = cf->conf_file->file.name;
    ov->line = cf->conf_file->line;

    for (i = 0; i < value[1].len; i++) {
        if (!(ngx_http_helicone_isalnum(value[1].data[i])
              || value[1].data[i] == '-' || value[1].data[i] == '_'))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid provider name \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_http_helicone_conf_value(&value[i], "url", &s)) {
            while (s.len && s.data[s.len - 1] == '/') {
                s.len--;
            }

            if (ngx_http_helicone_url_origin(&s, &origin) != NGX_OK) {
                goto invalid;
            }

            ov->spec.base_url = s;
            ov->spec.origin = origin;
            continue;
        }

        if (ngx_http_helicone_conf_value(&value[i], "path", &s)) {
            if (s.len == 0 || s.data[0] != '/') {
                goto invalid;
            }

            ov->spec.chat_path = s;
            continue;
        }

        /* the provider serves these APIs too, at these paths */
        if (ngx_http_helicone_conf_value(&value[i], "responses", &s)
            || ngx_http_helicone_conf_value(&value[i], "embeddings", &s))
        {
            if (s.len == 0 || s.data[0] != '/') {
                goto invalid;
            }

            if (value[i].data[0] == 'r') {
                ov->spec.responses_path = s;

            } else {
                ov->spec.embeddings_path = s;
            }

            continue;
        }

        if (ngx_http_helicone_conf_value(&value[i], "api", &s)) {
            ov->spec.dialect = ngx_http_helicone_dialect_find(&s);
            if (ov->spec.dialect == NULL) {
                goto invalid;
            }

            ov->api_set = 1;
            continue;
        }

        if (ngx_http_helicone_conf_value(&value[i], "auth", &s)) {
            if (ngx_http_helicone_provider_parse_auth(&s, &ov->spec.auth)
                != NGX_OK)
            {
                goto invalid;
            }

            ov->auth_set = 1;
            continue;
        }

        if (ngx_http_helicone_conf_value(&value[i], "api_version",
                                         &ov->spec.api_version)
            || ngx_http_helicone_conf_value(&value[i], "legacy",
                                            &ov->spec.legacy_name))
        {
            continue;
        }

        goto invalid;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);
    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_helicone_apply_override(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, ngx_http_helicone_override_t *ov)
{
    ngx_uint_t                     i;
    ngx_keyval_t                  *kv;
    ngx_http_helicone_dialect_t   *d;
    ngx_http_helicone_provider_t  *p, **pp;

    p = NULL;
    pp = hmcf->providers.elts;

    for (i = 0; i < hmcf->providers.nelts; i++) {
        if (pp[i]->name.len == ov->name.len
            && ngx_strncasecmp(pp[i]->name.data, ov->name.data,
                               ov->name.len) == 0)
        {
            p = pp[i];
            break;
        }
    }

    if (p == NULL) {
        if (ov->spec.base_url.len == 0) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "helicone_provider \"%V\" is new and needs url= "
                          "in %V:%ui", &ov->name, &ov->file, ov->line);
            return NGX_ERROR;
        }

        p = ngx_pcalloc(cf->pool, sizeof(ngx_http_helicone_provider_t));
        if (p == NULL) {
            return NGX_ERROR;
        }

        pp = ngx_array_push(&hmcf->providers);
        if (pp == NULL) {
            return NGX_ERROR;
        }

        *pp = p;

        p->name.len = ov->name.len;
        p->name.data = ngx_pnalloc(cf->pool, ov->name.len + 1);
        if (p->name.data == NULL) {
            return NGX_ERROR;
        }

        ngx_strlow(p->name.data, ov->name.data, ov->name.len);
        p->name.data[p->name.len] = '\0';
        ngx_str_set(&p->legacy_name, "CUSTOM");
        p->dialect = &ngx_http_helicone_dialect_openai;
        ngx_str_set(&p->chat_path, "/v1/chat/completions");
        p->auth = NGX_HTTP_HELICONE_KEY_BEARER;
        p->priority = 4;
        p->stream_usage = 1;
    }

    if (ov->spec.base_url.len) {
        p->base_url = ov->spec.base_url;
        p->origin = ov->spec.origin;
    }

    if (ov->spec.chat_path.len) {
        p->chat_path = ov->spec.chat_path;
    }

    if (ov->spec.responses_path.len) {
        p->responses_path = ov->spec.responses_path;
    }

    if (ov->spec.embeddings_path.len) {
        p->embeddings_path = ov->spec.embeddings_path;
    }

    if (ov->api_set) {
        p->dialect = ov->spec.dialect;
    }

    if (ov->auth_set) {
        p->auth = ov->spec.auth;
    }

    if (ov->spec.legacy_name.len) {
        p->legacy_name = ov->spec.legacy_name;
    }

    if (ov->spec.api_version.len) {
        p->api_version = ov->spec.api_version;
    }

    d = p->dialect;

    if (!ov->auth_set && p->auth == NGX_HTTP_HELICONE_KEY_BEARER
        && (d->header.key.len == 0 || p->headers == NULL))
    {
        /* the dialect's key header: Azure's "api-key", Anthropic's
         * "x-api-key" (unless the provider is one with headers of its
         * own already) */
        p->auth = d->auth;
    }

    if (d->header.key.len && p->headers == NULL) {
        /* a provider speaking it, added here: the dialect's ways */
        if (ov->spec.chat_path.len == 0 && d->chat_path.len
            && p->chat_path.len
            && ngx_strcmp(p->chat_path.data, "/v1/chat/completions") == 0)
        {
            p->chat_path = d->chat_path;
        }

        p->headers = ngx_array_create(cf->pool, 1, sizeof(ngx_keyval_t));
        if (p->headers == NULL) {
            return NGX_ERROR;
        }

        kv = ngx_array_push(p->headers);
        if (kv == NULL) {
            return NGX_ERROR;
        }

        *kv = d->header;
    }

    return NGX_OK;
}


/* helicone_provider_key NAME env=VAR | file=PATH; */

char *
ngx_http_helicone_provider_key_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_helicone_main_conf_t *hmcf = conf;

    u_char                            *env;
    ngx_str_t                         *value, path, text;
    ngx_uint_t                         i;
    ngx_http_helicone_provider_key_t  *pk;

    value = cf->args->elts;

    if (hmcf->provider_keys == NULL) {
        hmcf->provider_keys = ngx_array_create(cf->pool, 4,
                                    sizeof(ngx_http_helicone_provider_key_t));
        if (hmcf->provider_keys == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    pk = ngx_array_push(hmcf->provider_keys);
    if (pk == NULL) {
        return NGX_CONF_ERROR;
    }

    pk->name = value[1];
    pk->file = cf->conf_file->file.name;
    pk->line = cf->conf_file->line;

    if (ngx_strncmp(value[2].data, "env=", 4) == 0 && value[2].len > 4) {
        env = (u_char *) getenv((char *) value[2].data + 4);

        if (env == NULL || *env == '\0') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "environment variable \"%s\" is not set",
                               value[2].data + 4);
            return NGX_CONF_ERROR;
        }

        text.len = ngx_strlen(env);
        text.data = ngx_pnalloc(cf->pool, text.len);
        if (text.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memcpy(text.data, env, text.len);

    } else if (ngx_strncmp(value[2].data, "file=", 5) == 0
               && value[2].len > 5)
    {
        path.data = value[2].data + 5;
        path.len = value[2].len - 5;

        if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        if (ngx_http_helicone_conf_read_file(cf, &path, &text) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\": expected env=VAR "
                           "or file=PATH", &value[2]);
        return NGX_CONF_ERROR;
    }

    /* a secret file usually ends in a newline */
    while (text.len && (text.data[text.len - 1] == '\n'
                        || text.data[text.len - 1] == '\r'
                        || text.data[text.len - 1] == ' '))
    {
        text.len--;
    }

    if (text.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "empty key for provider \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < text.len; i++) {
        if (text.data[i] < 0x21 || text.data[i] == 0x7f) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "key for provider \"%V\" has white space or "
                               "control characters", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    pk->key = text;

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_helicone_url_origin(ngx_str_t *url, ngx_str_t *origin)
{
    u_char  *p, *last, *host;

    p = url->data;
    last = p + url->len;

    if (url->len > 7 && ngx_strncasecmp(p, (u_char *) "http://", 7) == 0) {
        p += 7;

    } else if (url->len > 8
               && ngx_strncasecmp(p, (u_char *) "https://", 8) == 0)
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


/* A whole file into cf->pool, NUL-terminated, at configuration time. */

ngx_int_t
ngx_http_helicone_conf_read_file(ngx_conf_t *cf, ngx_str_t *path,
    ngx_str_t *out)
{
    ssize_t          n;
    ngx_file_t       file;
    ngx_file_info_t  fi;

    ngx_memzero(&file, sizeof(ngx_file_t));

    file.name = *path;
    file.log = cf->log;

    file.fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", path);
        return NGX_ERROR;
    }

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%V\" failed", path);
        goto failed;
    }

    out->len = ngx_file_size(&fi);
    out->data = ngx_pnalloc(cf->pool, out->len + 1);
    if (out->data == NULL) {
        goto failed;
    }

    n = ngx_read_file(&file, out->data, out->len, 0);
    if (n == NGX_ERROR || (size_t) n != out->len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "could not read \"%V\"", path);
        goto failed;
    }

    out->data[out->len] = '\0';

    ngx_close_file(file.fd);

    return NGX_OK;

failed:

    ngx_close_file(file.fd);

    return NGX_ERROR;
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

