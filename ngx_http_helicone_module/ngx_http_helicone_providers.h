/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Providers and models: the registry read from the data files (json.c)
 * and the helicone_provider directives that amend it (providers.c).
 */

#ifndef _NGX_HTTP_HELICONE_PROVIDERS_H_INCLUDED_
#define _NGX_HTTP_HELICONE_PROVIDERS_H_INCLUDED_


#define ngx_http_helicone_isalnum(c)                                          \
    (((c) >= '0' && (c) <= '9') || ((c) >= 'a' && (c) <= 'z')               \
     || ((c) >= 'A' && (c) <= 'Z'))


/* where a provider's key goes */
#define NGX_HTTP_HELICONE_KEY_BEARER      0
#define NGX_HTTP_HELICONE_KEY_X_API_KEY   1
#define NGX_HTTP_HELICONE_KEY_API_KEY     2
#define NGX_HTTP_HELICONE_KEY_NONE        3


struct ngx_http_helicone_provider_s {
    ngx_str_t                      name;         /* "openai" */
    ngx_str_t                      legacy_name;  /* "OPENAI", for events */
    ngx_http_helicone_dialect_t   *dialect;      /* dialect.c's row */
    ngx_str_t                      base_url;     /* no trailing slash */
    ngx_str_t                      origin;       /* scheme://host[:port] */
    ngx_str_t                      chat_path;
    ngx_str_t                      responses_path; /* empty: not native */
    ngx_str_t                      embeddings_path; /* empty: none */
    ngx_str_t                      api_version;  /* Azure "api-version" */
    ngx_uint_t                     auth;         /* NGX_HTTP_HELICONE_KEY_* */
    ngx_array_t                   *headers;      /* ngx_keyval_t, static */
    ngx_uint_t                     priority;     /* lower routes first */
    ngx_str_t                      key;          /* secret: never logged */
    struct ngx_http_helicone_legacy_s  *legacy;  /* its legacy prices, or
                                                    NULL (cost.c) */
    struct ngx_http_helicone_upstream_s  *upstream;  /* its origin's, or
                                                    NULL: an upstream{}
                                                    block's (upstream.c) */
    unsigned                       stream_usage:1;
    unsigned                       has_key:1;
};


typedef struct {
    ngx_http_helicone_provider_t  *provider;
    ngx_str_t                      id;           /* provider's model id */
} ngx_http_helicone_endpoint_t;


typedef struct {
    ngx_str_t                      name;         /* registry model name */
    ngx_array_t                    endpoints;    /* cheapest first */
    ngx_uint_t                     context;      /* window in tokens;
                                                    0: unknown */
} ngx_http_helicone_model_t;


typedef struct ngx_http_helicone_legacy_s {
    ngx_str_t                      provider;     /* legacy name, "OPENAI" */
    helicone_legacy_row_t         *rows;         /* in the data's order */
    size_t                         nrows;
} ngx_http_helicone_legacy_t;


/* a provider's registry prices, for the ceiling of an unknown price */
typedef struct {
    ngx_str_t                      provider;     /* registry name, lower */
    ngx_array_t                    prices;       /* helicone_price_t * */
} ngx_http_helicone_prices_t;


/*
 * providers.c: the data files, then the helicone_provider overrides and
 * keys, into hmcf (cf->pool). NGX_OK; NGX_ERROR, logged.
 */
ngx_int_t ngx_http_helicone_providers_init(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf);

/* helicone_provider, helicone_provider_key: NGX_CONF_OK or an error */
char *ngx_http_helicone_provider_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
char *ngx_http_helicone_provider_key_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);

/*
 * registry.c: the look-ups and words json.c and providers.c share.
 * The provider named so (any case); NULL: none.
 */
ngx_http_helicone_provider_t *ngx_http_helicone_provider_find(
    ngx_http_helicone_main_conf_t *hmcf, u_char *name, size_t len);

/* the model of this name, alias or provider id; NULL: none */
ngx_http_helicone_model_t *ngx_http_helicone_model_find(
    ngx_http_helicone_main_conf_t *hmcf, u_char *name, size_t len);

/* helicone_model_parse()'s provider test: data is the main conf; 1: known */
int ngx_http_helicone_provider_known(void *data, const unsigned char *name,
    size_t len);

/*
 * "scheme://host[:port]" of url, pointing into url's memory. NGX_OK;
 * NGX_ERROR: not an http(s) URL with a host.
 */
ngx_int_t ngx_http_helicone_url_origin(ngx_str_t *url, ngx_str_t *origin);

/* a key placement's name to its value; NGX_ERROR: unknown */
ngx_int_t ngx_http_helicone_provider_parse_auth(ngx_str_t *s,
    ngx_uint_t *auth);


/*
 * json.c: the data files, read at configuration time with cJSON (only
 * json.c knows it). text is the file's content, source its name for the
 * messages; what is read goes into hmcf, allocated from cf->pool; keys
 * collects the hash's names. NGX_OK; NGX_ERROR, logged with the source.
 */
ngx_int_t ngx_http_helicone_json_load_providers(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, u_char *text, size_t len,
    ngx_str_t *source);
ngx_int_t ngx_http_helicone_json_load_models(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, u_char *text, size_t len,
    ngx_str_t *source, ngx_hash_keys_arrays_t *keys);
ngx_int_t ngx_http_helicone_json_load_costs(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, u_char *text, size_t len,
    ngx_str_t *source, ngx_hash_keys_arrays_t *keys);


#endif /* _NGX_HTTP_HELICONE_PROVIDERS_H_INCLUDED_ */
