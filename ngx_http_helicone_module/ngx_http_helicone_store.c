/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * helicone_store: which store, chosen once at configuration time. The
 * zone= parameter (the shm zone, which with Redis keeps the keys'
 * verdicts) is every store's; the rest is the store's own. And a
 * request's waits for a store that answers later.
 */

#include "ngx_http_helicone_module.h"


#define NGX_HTTP_HELICONE_STORE_ARGS  32


static void ngx_http_helicone_store_cleanup(void *data);


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


/*
 * A wait with size bytes of the store's own (w->data), and the
 * request's cleanup, once: NULL on no memory. Nothing waits until
 * ngx_http_helicone_store_asked().
 */

ngx_http_helicone_wait_t *
ngx_http_helicone_store_wait(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, size_t size,
    ngx_http_helicone_store_cancel_pt cancel)
{
    ngx_http_cleanup_t        *cln;
    ngx_http_helicone_wait_t  *w;

    w = ngx_pcalloc(r->pool, sizeof(ngx_http_helicone_wait_t) + size);
    if (w == NULL) {
        return NULL;
    }

    if (!ctx->store.cleanup) {
        cln = ngx_http_cleanup_add(r, 0);
        if (cln == NULL) {
            return NULL;
        }

        cln->handler = ngx_http_helicone_store_cleanup;
        cln->data = ctx;

        ctx->store.cleanup = 1;
    }

    w->request = r;
    w->ctx = ctx;
    w->cancel = cancel;
    w->data = w + 1;

    return w;
}


/* The question is out: the request waits for its answer too. */

void
ngx_http_helicone_store_asked(ngx_http_helicone_wait_t *w)
{
    w->next = w->ctx->store.waits;
    w->ctx->store.waits = w;
    w->ctx->store.pending++;
}


/*
 * The answer came, and the store's handler has taken it: after the
 * request's last, the request goes on (an event handler's duty: the
 * posted requests are run).
 */

void
ngx_http_helicone_store_answered(ngx_http_helicone_wait_t *w)
{
    ngx_connection_t         *c;
    ngx_http_request_t       *r;
    ngx_http_helicone_ctx_t  *ctx;

    r = w->request;
    ctx = w->ctx;
    c = r->connection;

    w->answered = 1;
    ctx->store.pending--;

    if (ctx->store.pending == 0) {
        ngx_http_helicone_resume(r, ctx);
    }

    ngx_http_run_posted_requests(c);
}


/* The request goes away: its questions still out are cancelled. */

static void
ngx_http_helicone_store_cleanup(void *data)
{
    ngx_http_helicone_ctx_t *ctx = data;

    ngx_http_helicone_wait_t  *w;

    for (w = ctx->store.waits; w; w = w->next) {
        if (!w->answered) {
            w->cancel(w);
            w->answered = 1;
        }
    }

    ctx->store.waits = NULL;
    ctx->store.pending = 0;
}
