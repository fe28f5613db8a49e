/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The configuration: the main conf (data tables, the store) and the
 * location conf (mode, policies), filled by module.c's create and merge
 * and by the directives of each concern; the helpers directives share.
 */

#ifndef _NGX_HTTP_HELICONE_CONF_H_INCLUDED_
#define _NGX_HTTP_HELICONE_CONF_H_INCLUDED_


#define NGX_HTTP_HELICONE_PASS_OFF        0
#define NGX_HTTP_HELICONE_PASS_GATEWAY    1
#define NGX_HTTP_HELICONE_PASS_PROVIDER   2
#define NGX_HTTP_HELICONE_PASS_TARGET     3

#define NGX_HTTP_HELICONE_AUTH_OFF        0
#define NGX_HTTP_HELICONE_AUTH_OPTIONAL   1
#define NGX_HTTP_HELICONE_AUTH_REQUIRED   2

#define NGX_HTTP_HELICONE_FAIL_OPEN       0
#define NGX_HTTP_HELICONE_FAIL_CLOSED     1


typedef struct {
    ngx_array_t                    providers;    /* provider pointers */
    ngx_hash_t                     providers_hash;
    ngx_hash_t                     models_hash;  /* name, alias or id */
    ngx_array_t                   *overrides;    /* helicone_provider */
    ngx_array_t                   *provider_keys; /* helicone_provider_key */
    ngx_str_t                      providers_file;
    ngx_str_t                      models_file;
    ngx_str_t                      costs_file;
    ngx_hash_t                     prices_hash;  /* "provider:model id" */
    ngx_shm_zone_t                *store_zone;   /* helicone_store shm */
    ngx_http_helicone_store_redis_t  *store_redis; /* NULL: shm only */
    ngx_http_helicone_store_t     *store;        /* helicone_store's */
    ngx_flag_t                     keys_redis;   /* helicone_keys_redis */
    time_t                         keys_valid;   /* its local cache */
    ngx_array_t                    legacy;  /* ngx_http_helicone_legacy_t */
    ngx_array_t                    price_sets;   /* by provider, for
                                                    cost_ceiling() */
    ngx_array_t                   *keys;         /* sorted by sha */
    ngx_http_helicone_key_memo_t  *keys_memo;    /* auth.c: keys seen */
    ngx_array_t                   *models;       /* model pointers */
    ngx_str_t                      models_list;  /* GET /v1/models JSON */
    ngx_array_t                    models_ids;   /* ngx_keyval_t: id, object */
    ngx_array_t                    headers_out;  /* headers.c's rows */
} ngx_http_helicone_main_conf_t;


typedef struct {
    ngx_uint_t                     pass;         /* NGX_HTTP_HELICONE_PASS_* */
    ngx_str_t                      pass_name;
    ngx_http_helicone_provider_t  *pass_provider;
    ngx_uint_t                     auth;
    ngx_str_t                      attempt_uri;
    ngx_array_t                   *target_allow; /* ngx_str_t origins */
    ngx_flag_t                     target_allow_providers;
    size_t                         log_body_max;
    size_t                         response_buffer;
    ngx_http_helicone_log_t       *logs;         /* NULL: no event log */
    ngx_flag_t                     log_off;

    ngx_msec_t                     attempt_timeout; /* to response headers */
    ngx_msec_t                     deadline;     /* of the whole chain */
    ngx_array_t                   *fallback_on;  /* ngx_uint_t statuses */
    ngx_str_t                      fallback_models; /* appended chain */

    ngx_flag_t                     retry;        /* helicone_retry on */
    ngx_uint_t                     retry_num;    /* retries, not calls */
    ngx_uint_t                     retry_factor; /* thousandths */
    ngx_msec_t                     retry_min;
    ngx_msec_t                     retry_max;
    ngx_msec_t                     retry_after_max; /* cap on Retry-After */
    ngx_flag_t                     retry_jitter;

    ngx_array_t                   *ratelimits;   /* helicone_rl_policy_t */
    ngx_uint_t                     ratelimit_fail; /* open or closed */

    ngx_flag_t                     cache;        /* unset: headers decide */
    time_t                         cache_max_ttl;
    size_t                         cache_max_entry;

    ngx_array_t                   *cors;         /* ngx_str_t origins, or
                                                    "*"; NULL: off */
} ngx_http_helicone_loc_conf_t;


extern ngx_module_t  ngx_http_helicone_module;

/* the data files compiled in as the defaults (build/gen, embed-data) */
extern const unsigned char  ngx_http_helicone_embedded_providers[];
extern const size_t         ngx_http_helicone_embedded_providers_len;
extern const unsigned char  ngx_http_helicone_embedded_models[];
extern const size_t         ngx_http_helicone_embedded_models_len;
extern const unsigned char  ngx_http_helicone_embedded_costs[];
extern const size_t         ngx_http_helicone_embedded_costs_len;


/*
 * module.c: a directive's "key=value" argument. 1 and *value set to what
 * follows "key=" (a part of arg, possibly empty) when arg is one; 0 when
 * it is not.
 */
ngx_uint_t ngx_http_helicone_conf_value(ngx_str_t *arg, const char *key,
    ngx_str_t *value);

/*
 * providers.c: a whole file into cf->pool, NUL-terminated, at
 * configuration time. NGX_OK with *out; NGX_ERROR, logged.
 */
ngx_int_t ngx_http_helicone_conf_read_file(ngx_conf_t *cf, ngx_str_t *path,
    ngx_str_t *out);


/*
 * Trouble that recurs (a store down, requests refused for it) is logged
 * at most once per interval per worker: whether it may be now, *last
 * moved on if so.
 */

#define NGX_HTTP_HELICONE_LOG_EVERY  10   /* seconds */

static ngx_inline ngx_uint_t
ngx_http_helicone_log_due(time_t *last)
{
    if (*last && ngx_time() - *last < NGX_HTTP_HELICONE_LOG_EVERY) {
        return 0;
    }

    *last = ngx_time();

    return 1;
}


#endif /* _NGX_HTTP_HELICONE_CONF_H_INCLUDED_ */
