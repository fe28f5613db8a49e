/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Directives, configuration lifecycle and process hooks. */

#include "ngx_http_helicone_module.h"


static ngx_int_t ngx_http_helicone_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_helicone_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_helicone_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_helicone_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_helicone_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_helicone_retry(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_helicone_fallback_on(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_helicone_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_helicone_pass(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_helicone_keys(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_helicone_target_allow(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_helicone_init_process(ngx_cycle_t *cycle);
static void ngx_http_helicone_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_helicone_auth_modes[] = {
    { ngx_string("off"), NGX_HTTP_HELICONE_AUTH_OFF },
    { ngx_string("optional"), NGX_HTTP_HELICONE_AUTH_OPTIONAL },
    { ngx_string("required"), NGX_HTTP_HELICONE_AUTH_REQUIRED },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_helicone_fail_modes[] = {
    { ngx_string("open"), NGX_HTTP_HELICONE_FAIL_OPEN },
    { ngx_string("closed"), NGX_HTTP_HELICONE_FAIL_CLOSED },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_helicone_commands[] = {

    { ngx_string("helicone_pass"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_helicone_pass,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("helicone_providers"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_helicone_main_conf_t, providers_file),
      NULL },

    { ngx_string("helicone_models"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_helicone_main_conf_t, models_file),
      NULL },

    { ngx_string("helicone_costs"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_helicone_main_conf_t, costs_file),
      NULL },

    { ngx_string("helicone_provider"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_helicone_provider_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("helicone_provider_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_helicone_provider_key_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("helicone_keys"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_helicone_keys,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("helicone_auth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_helicone_loc_conf_t, auth),
      &ngx_http_helicone_auth_modes },

    { ngx_string("helicone_attempt_uri"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_helicone_loc_conf_t, attempt_uri),
      NULL },

    { ngx_string("helicone_target_allow"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_helicone_target_allow,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("helicone_log"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_helicone_log_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("helicone_log_body_max"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_helicone_loc_conf_t, log_body_max),
      NULL },

    { ngx_string("helicone_response_buffer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_helicone_loc_conf_t, response_buffer),
      NULL },

    { ngx_string("helicone_attempt_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_helicone_loc_conf_t, attempt_timeout),
      NULL },

    { ngx_string("helicone_deadline"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_helicone_loc_conf_t, deadline),
      NULL },

    { ngx_string("helicone_fallback_on"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_helicone_fallback_on,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("helicone_fallback_models"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_helicone_loc_conf_t, fallback_models),
      NULL },

    { ngx_string("helicone_retry"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_helicone_retry,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("helicone_store"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_helicone_store_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("helicone_ratelimit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_helicone_ratelimit_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("helicone_ratelimit_fail"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_helicone_loc_conf_t, ratelimit_fail),
      &ngx_http_helicone_fail_modes },

    { ngx_string("helicone_keys_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_helicone_keys_redis_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("helicone_cache"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_helicone_loc_conf_t, cache),
      NULL },

    { ngx_string("helicone_cache_max_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_helicone_loc_conf_t, cache_max_ttl),
      NULL },

    { ngx_string("helicone_cache_max_entry"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_helicone_loc_conf_t, cache_max_entry),
      NULL },

    { ngx_string("helicone_cors"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_helicone_cors_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("helicone_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_helicone_metrics_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("helicone_health"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_helicone_health_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("helicone_mock"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_helicone_mock_directive,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_helicone_module_ctx = {
    ngx_http_helicone_preconfiguration,    /* preconfiguration */
    ngx_http_helicone_postconfiguration,   /* postconfiguration */

    ngx_http_helicone_create_main_conf,    /* create main configuration */
    ngx_http_helicone_init_main_conf,      /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_helicone_create_loc_conf,     /* create location configuration */
    ngx_http_helicone_merge_loc_conf       /* merge location configuration */
};


ngx_module_t  ngx_http_helicone_module = {
    NGX_MODULE_V1,
    &ngx_http_helicone_module_ctx,         /* module context */
    ngx_http_helicone_commands,            /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_helicone_init_process,        /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_helicone_exit_process,        /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_helicone_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_helicone_add_variables(cf);
}


static ngx_int_t
ngx_http_helicone_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_helicone_log_handler;

    /* each concern's own headers, on every response of ours, in order */
    if (ngx_http_helicone_headers_out_add(cf,
                                          ngx_http_helicone_ratelimit_headers)
        != NGX_OK
        || ngx_http_helicone_headers_out_add(cf,
                                             ngx_http_helicone_cache_headers)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_helicone_filter_init(cf);
}


static void *
ngx_http_helicone_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_helicone_main_conf_t  *hmcf;

    hmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_helicone_main_conf_t));
    if (hmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     hmcf->providers_hash = { NULL };
     *     hmcf->models_hash = { NULL };
     *     hmcf->overrides = NULL;
     *     hmcf->provider_keys = NULL;
     *     hmcf->providers_file = { 0, NULL };
     *     hmcf->models_file = { 0, NULL };
     *     hmcf->costs_file = { 0, NULL };
     *     hmcf->prices_hash = { NULL };
     *     hmcf->keys = NULL;
     *     hmcf->store_redis = NULL;
     *     hmcf->store = NULL;
     */

    hmcf->keys_redis = NGX_CONF_UNSET;
    hmcf->keys_valid = NGX_CONF_UNSET;

    if (ngx_array_init(&hmcf->providers, cf->pool, 32,
                       sizeof(ngx_http_helicone_provider_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return hmcf;
}


static char *
ngx_http_helicone_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_helicone_main_conf_t  *hmcf = conf;

    ngx_str_t  name;

    if (ngx_http_helicone_providers_init(cf, hmcf) != NGX_OK
        || ngx_http_helicone_models_init(cf, hmcf) != NGX_OK
        || ngx_http_helicone_costs_init(cf, hmcf) != NGX_OK
        || ngx_http_helicone_metrics_init(cf) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (hmcf->store_zone == NULL) {
        /*
         * one box, nothing to run: a zone of our own by default; with
         * Redis it only caches key verdicts
         */
        ngx_str_set(&name, "helicone");

        if (ngx_http_helicone_store_zone(cf, hmcf, &name,
                                         hmcf->store_redis ? 1024 * 1024
                                                           : 32 * 1024 * 1024)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    if (hmcf->store == NULL) {
        hmcf->store = &ngx_http_helicone_store_shm;
    }

    ngx_conf_init_value(hmcf->keys_redis, 0);
    ngx_conf_init_value(hmcf->keys_valid, 30);

    if (hmcf->keys_redis && hmcf->store_redis == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"helicone_keys_redis\" needs "
                           "\"helicone_store redis\"");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_helicone_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_helicone_loc_conf_t  *hlcf;

    hlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_helicone_loc_conf_t));
    if (hlcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     hlcf->pass = NGX_HTTP_HELICONE_PASS_OFF;
     *     hlcf->pass_name = { 0, NULL };
     *     hlcf->pass_provider = NULL;
     *     hlcf->attempt_uri = { 0, NULL };
     *     hlcf->logs = NULL;
     */

    hlcf->auth = NGX_CONF_UNSET_UINT;
    hlcf->target_allow = NGX_CONF_UNSET_PTR;
    hlcf->target_allow_providers = NGX_CONF_UNSET;
    hlcf->log_body_max = NGX_CONF_UNSET_SIZE;
    hlcf->response_buffer = NGX_CONF_UNSET_SIZE;
    hlcf->log_off = NGX_CONF_UNSET;
    hlcf->attempt_timeout = NGX_CONF_UNSET_MSEC;
    hlcf->deadline = NGX_CONF_UNSET_MSEC;
    hlcf->fallback_on = NGX_CONF_UNSET_PTR;
    hlcf->retry = NGX_CONF_UNSET;
    hlcf->retry_num = NGX_CONF_UNSET_UINT;
    hlcf->retry_factor = NGX_CONF_UNSET_UINT;
    hlcf->retry_min = NGX_CONF_UNSET_MSEC;
    hlcf->retry_max = NGX_CONF_UNSET_MSEC;
    hlcf->retry_after_max = NGX_CONF_UNSET_MSEC;
    hlcf->retry_jitter = NGX_CONF_UNSET;
    hlcf->ratelimits = NGX_CONF_UNSET_PTR;
    hlcf->ratelimit_fail = NGX_CONF_UNSET_UINT;
    hlcf->cache = NGX_CONF_UNSET;
    hlcf->cache_max_ttl = NGX_CONF_UNSET;
    hlcf->cache_max_entry = NGX_CONF_UNSET_SIZE;
    hlcf->cors = NGX_CONF_UNSET_PTR;

    return hlcf;
}


static char *
ngx_http_helicone_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_helicone_loc_conf_t *prev = parent;
    ngx_http_helicone_loc_conf_t *conf = child;

    ngx_http_helicone_main_conf_t  *hmcf;

    ngx_conf_merge_uint_value(conf->auth, prev->auth,
                              NGX_HTTP_HELICONE_AUTH_REQUIRED);
    ngx_conf_merge_str_value(conf->attempt_uri, prev->attempt_uri,
                             "/_helicone/attempt");
    ngx_conf_merge_ptr_value(conf->target_allow, prev->target_allow, NULL);
    ngx_conf_merge_value(conf->target_allow_providers,
                         prev->target_allow_providers, 1);
    ngx_conf_merge_size_value(conf->log_body_max, prev->log_body_max,
                              64 * 1024);
    ngx_conf_merge_size_value(conf->response_buffer, prev->response_buffer,
                              1024 * 1024);

    ngx_conf_merge_msec_value(conf->attempt_timeout, prev->attempt_timeout,
                              60000);
    ngx_conf_merge_msec_value(conf->deadline, prev->deadline, 300000);
    ngx_conf_merge_ptr_value(conf->fallback_on, prev->fallback_on, NULL);
    ngx_conf_merge_str_value(conf->fallback_models, prev->fallback_models,
                             "");

    /* Helicone's defaults: 5 retries, 1s doubling to 10s */
    ngx_conf_merge_value(conf->retry, prev->retry, 0);
    ngx_conf_merge_uint_value(conf->retry_num, prev->retry_num, 5);
    ngx_conf_merge_uint_value(conf->retry_factor, prev->retry_factor, 2000);
    ngx_conf_merge_msec_value(conf->retry_min, prev->retry_min, 1000);
    ngx_conf_merge_msec_value(conf->retry_max, prev->retry_max, 10000);
    ngx_conf_merge_msec_value(conf->retry_after_max, prev->retry_after_max,
                              30000);
    ngx_conf_merge_value(conf->retry_jitter, prev->retry_jitter, 0);
    ngx_conf_merge_ptr_value(conf->ratelimits, prev->ratelimits, NULL);
    ngx_conf_merge_ptr_value(conf->cors, prev->cors, NULL);
    ngx_conf_merge_uint_value(conf->ratelimit_fail, prev->ratelimit_fail,
                              NGX_HTTP_HELICONE_FAIL_OPEN);

    /* the cache: unset follows the request's headers */
    if (conf->cache == NGX_CONF_UNSET) {
        conf->cache = prev->cache;
    }

    ngx_conf_merge_sec_value(conf->cache_max_ttl, prev->cache_max_ttl,
                             31536000);
    ngx_conf_merge_size_value(conf->cache_max_entry, prev->cache_max_entry,
                              1024 * 1024);

    if (conf->log_off == NGX_CONF_UNSET) {
        conf->log_off = prev->log_off;
        conf->logs = prev->logs;
    }

    if (conf->pass == NGX_HTTP_HELICONE_PASS_PROVIDER) {
        hmcf = ngx_http_conf_get_module_main_conf(cf,
                                                  ngx_http_helicone_module);

        conf->pass_provider = ngx_http_helicone_provider_find(hmcf,
                                  conf->pass_name.data, conf->pass_name.len);

        if (conf->pass_provider == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "helicone_pass: unknown provider \"%V\"",
                               &conf->pass_name);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/*
 * The worker's sinks and Redis connection, opened at once and closed at
 * exit.
 */

static ngx_int_t
ngx_http_helicone_init_process(ngx_cycle_t *cycle)
{
    ngx_http_helicone_main_conf_t  *hmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    if (ngx_http_helicone_sink_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    hmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_helicone_module);

    if (hmcf == NULL || hmcf->store->init_worker == NULL) {
        return NGX_OK;
    }

    return hmcf->store->init_worker(hmcf, cycle);
}


static void
ngx_http_helicone_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_helicone_main_conf_t  *hmcf;

    ngx_http_helicone_sink_exit_process(cycle);

    hmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_helicone_module);

    if (hmcf == NULL || hmcf->store->exit_worker == NULL) {
        return;
    }

    hmcf->store->exit_worker(hmcf);
}


static char *
ngx_http_helicone_pass(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_helicone_loc_conf_t *hlcf = conf;

    ngx_str_t                 *value;
    ngx_http_core_loc_conf_t  *clcf;

    if (hlcf->pass != NGX_HTTP_HELICONE_PASS_OFF) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "gateway") == 0) {
        hlcf->pass = NGX_HTTP_HELICONE_PASS_GATEWAY;

    } else if (ngx_strcmp(value[1].data, "target") == 0) {
        hlcf->pass = NGX_HTTP_HELICONE_PASS_TARGET;

    } else {
        /* a provider name, checked once all providers are known */
        hlcf->pass = NGX_HTTP_HELICONE_PASS_PROVIDER;
        hlcf->pass_name = value[1];
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_helicone_handler;

    return NGX_CONF_OK;
}


static char *
ngx_http_helicone_keys(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_helicone_main_conf_t *hmcf = conf;

    ngx_str_t  *value;

    if (hmcf->keys != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_conf_full_name(cf->cycle, &value[1], 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_helicone_keys_load(cf, hmcf, &value[1]) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_helicone_target_allow(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_helicone_loc_conf_t *hlcf = conf;

    ngx_str_t   *value, *origin;
    ngx_uint_t   i;

    if (hlcf->target_allow != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    hlcf->target_allow = ngx_array_create(cf->pool, cf->args->nelts,
                                          sizeof(ngx_str_t));
    if (hlcf->target_allow == NULL) {
        return NGX_CONF_ERROR;
    }

    hlcf->target_allow_providers = 0;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strcmp(value[i].data, "providers") == 0) {
            hlcf->target_allow_providers = 1;
            continue;
        }

        origin = ngx_array_push(hlcf->target_allow);
        if (origin == NULL) {
            return NGX_CONF_ERROR;
        }

        if (ngx_http_helicone_url_origin(&value[i], origin) != NGX_OK
            || origin->len != value[i].len)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid origin \"%V\": expected "
                               "scheme://host[:port] without a path",
                               &value[i]);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/*
 * helicone_retry on | off [num=N] [factor=F] [min=time] [max=time]
 *     [retry_after_max=time] [jitter];
 */

static char *
ngx_http_helicone_retry(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_helicone_loc_conf_t *hlcf = conf;

    uint64_t     n;
    ngx_str_t   *value, s;
    ngx_uint_t   i;
    ngx_msec_t   ms;

    if (hlcf->retry != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "on") == 0) {
        hlcf->retry = 1;

    } else if (ngx_strcmp(value[1].data, "off") == 0) {
        hlcf->retry = 0;

    } else {
        i = 1;
        goto invalid;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_http_helicone_conf_value(&value[i], "num", &s)) {
            if (helicone_policy_uint(s.data, s.len, &n) != HELICONE_OK
                || n > 20)
            {
                goto invalid;
            }

            hlcf->retry_num = (ngx_uint_t) n;
            continue;
        }

        if (ngx_http_helicone_conf_value(&value[i], "factor", &s)) {
            if (helicone_policy_factor(s.data, s.len, &n) != HELICONE_OK) {
                goto invalid;
            }

            hlcf->retry_factor = (ngx_uint_t) n;
            continue;
        }

        if (ngx_strcmp(value[i].data, "jitter") == 0) {
            hlcf->retry_jitter = 1;
            continue;
        }

        ms = NGX_CONF_UNSET_MSEC;

        if (ngx_http_helicone_conf_value(&value[i], "min", &s)) {
            ms = ngx_parse_time(&s, 0);
            hlcf->retry_min = ms;

        } else if (ngx_http_helicone_conf_value(&value[i], "max", &s)) {
            ms = ngx_parse_time(&s, 0);
            hlcf->retry_max = ms;

        } else if (ngx_http_helicone_conf_value(&value[i], "retry_after_max",
                                                &s))
        {
            ms = ngx_parse_time(&s, 0);
            hlcf->retry_after_max = ms;
        }

        if (ms == NGX_CONF_UNSET_MSEC || ms == (ngx_msec_t) NGX_ERROR) {
            goto invalid;
        }
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);
    return NGX_CONF_ERROR;
}


/* helicone_fallback_on status ...: provider statuses that fail over too */

static char *
ngx_http_helicone_fallback_on(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_helicone_loc_conf_t *hlcf = conf;

    ngx_int_t    n;
    ngx_str_t   *value;
    ngx_uint_t   i, *status;

    if (hlcf->fallback_on != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    hlcf->fallback_on = ngx_array_create(cf->pool, cf->args->nelts,
                                         sizeof(ngx_uint_t));
    if (hlcf->fallback_on == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        n = ngx_atoi(value[i].data, value[i].len);

        if (n < 400 || n > 599) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid status \"%V\": expected 400 to 599",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        status = ngx_array_push(hlcf->fallback_on);
        if (status == NULL) {
            return NGX_CONF_ERROR;
        }

        *status = n;
    }

    return NGX_CONF_OK;
}


ngx_uint_t
ngx_http_helicone_conf_value(ngx_str_t *arg, const char *key,
    ngx_str_t *value)
{
    size_t  n;

    n = ngx_strlen(key);

    if (arg->len <= n
        || ngx_strncmp(arg->data, key, n) != 0
        || arg->data[n] != '=')
    {
        return 0;
    }

    value->data = arg->data + n + 1;
    value->len = arg->len - n - 1;

    return 1;
}
