/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The sink table and helicone_log: the one place that knows which sinks
 * exist. A sink's own arguments, process hooks and writes are its file's.
 */

#include "ngx_http_helicone_module.h"


static ngx_http_helicone_sink_t *ngx_http_helicone_sink_find(ngx_str_t *name);
static char *ngx_http_helicone_sink_unknown(ngx_conf_t *cf, ngx_str_t *name);


static ngx_http_helicone_sink_t  *ngx_http_helicone_sinks[] = {
    &ngx_http_helicone_sink_file,
    &ngx_http_helicone_sink_kafka,
    NULL
};


/*
 * helicone_log file path=PATH [buffer=SIZE] [flush=TIME];
 * helicone_log kafka brokers=LIST topic=NAME [key=...] [spool=DIR];
 * helicone_log off;
 *
 * Several lines at one level all get every event, in the order of the
 * lines; a level without helicone_log inherits its parent's whole chain.
 */

char *
ngx_http_helicone_log_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_helicone_loc_conf_t *hlcf = conf;

    char                       *rv;
    ngx_str_t                  *value;
    ngx_http_helicone_log_t    *log, **last;
    ngx_http_helicone_sink_t   *sink;

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        if (cf->args->nelts != 2) {
            return "takes no parameters after \"off\"";
        }

        if (hlcf->log_off != NGX_CONF_UNSET) {
            return "is duplicate";
        }

        hlcf->log_off = 1;
        hlcf->logs = NULL;
        return NGX_CONF_OK;
    }

    sink = ngx_http_helicone_sink_find(&value[1]);

    if (sink == NULL) {
        return ngx_http_helicone_sink_unknown(cf, &value[1]);
    }

    if (hlcf->log_off == 1) {
        return "conflicts with \"helicone_log off\"";
    }

    hlcf->log_off = 0;

    log = ngx_pcalloc(cf->pool, sizeof(ngx_http_helicone_log_t));
    if (log == NULL) {
        return NGX_CONF_ERROR;
    }

    log->sink = sink;

    rv = sink->parse(cf, &value[2], cf->args->nelts - 2, &log->data);

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    for (last = &hlcf->logs; *last; last = &(*last)->next) {
        /* void */
    }

    *last = log;

    return NGX_CONF_OK;
}


static ngx_http_helicone_sink_t *
ngx_http_helicone_sink_find(ngx_str_t *name)
{
    ngx_http_helicone_sink_t  **sink;

    for (sink = ngx_http_helicone_sinks; *sink; sink++) {
        if ((*sink)->name.len == name->len
            && ngx_strncmp((*sink)->name.data, name->data, name->len) == 0)
        {
            return *sink;
        }
    }

    return NULL;
}


/* the names the table knows, as the message lists them */

static char *
ngx_http_helicone_sink_unknown(ngx_conf_t *cf, ngx_str_t *name)
{
    u_char                     *p, names[256];
    ngx_http_helicone_sink_t  **sink;

    p = names;

    for (sink = ngx_http_helicone_sinks; *sink; sink++) {
        p = ngx_slprintf(p, names + sizeof(names), "%s\"%V\"",
                         p == names ? "" : ", ", &(*sink)->name);
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "unknown log sink \"%V\": expected %*s or \"off\"",
                       name, (size_t) (p - names), names);

    return NGX_CONF_ERROR;
}


ngx_int_t
ngx_http_helicone_sink_init_process(ngx_cycle_t *cycle)
{
    ngx_http_helicone_sink_t  **sink;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        /* not in the cache manager and loader */
        return NGX_OK;
    }

    for (sink = ngx_http_helicone_sinks; *sink; sink++) {
        if ((*sink)->init_process
            && (*sink)->init_process(cycle) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


void
ngx_http_helicone_sink_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_helicone_sink_t  **sink;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return;
    }

    for (sink = ngx_http_helicone_sinks; *sink; sink++) {
        if ((*sink)->exit_process) {
            (*sink)->exit_process(cycle);
        }
    }
}


void
ngx_http_helicone_sink_write(ngx_http_helicone_log_t *logs, ngx_log_t *log,
    u_char *line, size_t len)
{
    for ( /* void */ ; logs; logs = logs->next) {
        (void) logs->sink->write(logs->data, log, line, len);
    }
}
