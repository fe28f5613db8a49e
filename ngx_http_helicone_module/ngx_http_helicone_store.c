/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * helicone_store: which store, chosen once at configuration time. The
 * zone= parameter (the shm zone, which with Redis keeps the keys'
 * verdicts) is every store's; the rest is the store's own.
 */

#include "ngx_http_helicone_module.h"


#define NGX_HTTP_HELICONE_STORE_ARGS  32


static ngx_http_helicone_store_t  *ngx_http_helicone_stores[] = {
    &ngx_http_helicone_store_shm,
    &ngx_http_helicone_store_redis,
    NULL
};


/* helicone_store shm zone=NAME:SIZE | redis url=... [zone=NAME:SIZE]; */

char *
ngx_http_helicone_store_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_helicone_main_conf_t *hmcf = conf;

    ngx_str_t                   *value, args[NGX_HTTP_HELICONE_STORE_ARGS];
    ngx_uint_t                   i, n;
    ngx_http_helicone_store_t  **store;

    if (hmcf->store) {
        return "is duplicate";
    }

    value = cf->args->elts;

    for (store = ngx_http_helicone_stores; *store; store++) {
        if ((*store)->name.len == value[1].len
            && ngx_strcmp((*store)->name.data, value[1].data) == 0)
        {
            break;
        }
    }

    if (*store == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown store \"%V\": expected \"shm\" or "
                           "\"redis\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    n = 0;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "zone=", 5) == 0) {
            if (hmcf->store_zone) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "duplicate parameter \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            if (ngx_http_helicone_store_zone_parse(cf, hmcf, &value[i])
                != NGX_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (n == NGX_HTTP_HELICONE_STORE_ARGS) {
            return "has too many parameters";
        }

        args[n++] = value[i];
    }

    hmcf->store = *store;

    return (*store)->configure(cf, hmcf, args, n);
}
