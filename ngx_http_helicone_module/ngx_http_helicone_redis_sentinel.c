/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The master's address from Redis Sentinel: before every connect to the
 * master, and once a second besides, each worker asks a sentinel
 * (SENTINEL get-master-addr-by-name) over a connection of its own, tried
 * in turn over the configured sentinels. A connect follows every failure
 * of the master's connection (a READONLY answer or a ROLE other than
 * master is one), and the second's check moves to a new master at once:
 * Sentinel may leave the old master up, taking writes, for seconds after
 * it switched.
 */

#include "ngx_http_helicone_redis.h"


struct ngx_http_helicone_redis_sentinel_s {
    ngx_str_t                            master_name;
    ngx_http_helicone_redis_t           *link;       /* to a sentinel */
    ngx_http_helicone_redis_t           *master;
    ngx_uint_t                           known;      /* an address came */
    ngx_event_t                          check;      /* every second */
    unsigned                             fresh:1;    /* since last failure */
    unsigned                             asking:1;
};


#define NGX_HTTP_HELICONE_REDIS_SENTINEL_CHECK  1000


static ngx_int_t ngx_http_helicone_redis_sentinel_ask(
    ngx_http_helicone_redis_sentinel_t *s);
static void ngx_http_helicone_redis_sentinel_check(ngx_event_t *ev);
static void ngx_http_helicone_redis_sentinel_answer(void *data,
    ngx_http_helicone_redis_reply_t *reply);


/*
 * sentinels=host:port,host:port...: resolved now; the master's name is
 * the URL's host. The link to the sentinels shares the master's timeout,
 * logs in with sentinel_password= if given, and uses no TLS.
 */

ngx_int_t
ngx_http_helicone_redis_sentinel_conf(ngx_conf_t *cf,
    ngx_http_helicone_redis_t *master, ngx_str_t *sentinels,
    ngx_str_t *master_name)
{
    u_char                              *p, *last, *comma;
    ngx_url_t                            u;
    ngx_array_t                          addrs;
    ngx_addr_t                          *addr;
    ngx_http_helicone_redis_t           *link;
    ngx_http_helicone_redis_sentinel_t  *s;

    s = ngx_pcalloc(cf->pool, sizeof(ngx_http_helicone_redis_sentinel_t));
    if (s == NULL) {
        return NGX_ERROR;
    }

    if (ngx_array_init(&addrs, cf->pool, 3, sizeof(ngx_addr_t)) != NGX_OK) {
        return NGX_ERROR;
    }

    p = sentinels->data;
    last = p + sentinels->len;

    while (p < last) {
        comma = ngx_strlchr(p, last, ',');
        if (comma == NULL) {
            comma = last;
        }

        ngx_memzero(&u, sizeof(ngx_url_t));

        u.url.data = p;
        u.url.len = comma - p;
        u.default_port = 26379;

        if (u.url.len == 0 || ngx_parse_url(cf->pool, &u) != NGX_OK
            || u.naddrs == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s in sentinel \"%V\"",
                               u.err ? u.err : "no address", &u.url);
            return NGX_ERROR;
        }

        addr = ngx_array_push(&addrs);
        if (addr == NULL) {
            return NGX_ERROR;
        }

        *addr = u.addrs[0];

        p = comma + 1;
    }

    link = ngx_http_helicone_redis_create(cf);
    if (link == NULL) {
        return NGX_ERROR;
    }

    link->conf->timeout = master->conf->timeout;
    link->conf->password = master->conf->sentinel_password;
    /* messages say "sentinels of mymaster" */
    link->conf->url.len = sizeof("sentinels of ") - 1 + master_name->len;
    link->conf->url.data = ngx_pnalloc(cf->pool, link->conf->url.len);
    if (link->conf->url.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(link->conf->url.data, "sentinels of %V", master_name);

    link->addrs = addrs.elts;
    link->naddrs = addrs.nelts;
    link->addr = link->addrs[0];
    link->aux = 1;

    s->master_name = *master_name;
    s->link = link;
    s->master = master;

    master->sentinel = s;

    return NGX_OK;
}


ngx_int_t
ngx_http_helicone_redis_sentinel_init_worker(
    ngx_http_helicone_redis_sentinel_t *s, ngx_cycle_t *cycle)
{
    s->check.handler = ngx_http_helicone_redis_sentinel_check;
    s->check.data = s;
    s->check.log = cycle->log;
    s->check.cancelable = 1;

    ngx_add_timer(&s->check, NGX_HTTP_HELICONE_REDIS_SENTINEL_CHECK);

    return ngx_http_helicone_redis_init_worker(s->link, cycle);
}


void
ngx_http_helicone_redis_sentinel_exit_worker(
    ngx_http_helicone_redis_sentinel_t *s)
{
    if (s->check.timer_set) {
        ngx_del_timer(&s->check);
    }

    ngx_http_helicone_redis_exit_worker(s->link);
}


/* The master's connection failed: ask again before the next connect. */

void
ngx_http_helicone_redis_sentinel_stale(ngx_http_helicone_redis_sentinel_t *s)
{
    s->fresh = 0;
}


/*
 * Before a connect to the master: NGX_OK, its address was asked for
 * since the last failure; NGX_AGAIN, a sentinel is asked and the answer
 * connects; NGX_ERROR, no sentinel can be asked now (the caller tries
 * again after its backoff).
 */

ngx_int_t
ngx_http_helicone_redis_sentinel_locate(ngx_http_helicone_redis_sentinel_t *s)
{
    if (s->fresh) {
        return NGX_OK;
    }

    return ngx_http_helicone_redis_sentinel_ask(s);
}


/* Once a second: has the master moved while our connection stayed up? */

static void
ngx_http_helicone_redis_sentinel_check(ngx_event_t *ev)
{
    ngx_http_helicone_redis_sentinel_t *s = ev->data;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (s->known) {
        (void) ngx_http_helicone_redis_sentinel_ask(s);
    }

    ngx_add_timer(&s->check, NGX_HTTP_HELICONE_REDIS_SENTINEL_CHECK);
}


static ngx_int_t
ngx_http_helicone_redis_sentinel_ask(ngx_http_helicone_redis_sentinel_t *s)
{
    ngx_int_t  rc;
    ngx_str_t  argv[3];

    if (s->asking) {
        return NGX_AGAIN;
    }

    ngx_str_set(&argv[0], "SENTINEL");
    ngx_str_set(&argv[1], "get-master-addr-by-name");
    argv[2] = s->master_name;

    rc = ngx_http_helicone_redis_command(s->link, 3, argv,
                                   ngx_http_helicone_redis_sentinel_answer,
                                   s, NULL);

    if (rc != NGX_AGAIN) {
        return NGX_ERROR;
    }

    s->asking = 1;

    return NGX_AGAIN;
}


static void
ngx_http_helicone_redis_sentinel_answer(void *data,
    ngx_http_helicone_redis_reply_t *reply)
{
    ngx_http_helicone_redis_sentinel_t *s = data;

    ngx_uint_t   level;
    ngx_addr_t   addr;
    ngx_pool_t  *pool;

    s->asking = 0;

    /*
     * No answer, or no address in it: a master still connected stays so
     * (the link tries the next sentinel); a connect waiting for the
     * answer is tried again after the backoff.
     */

    if (reply == NULL) {
        if (s->master->connection == NULL) {
            ngx_http_helicone_redis_retry(s->master,
                                          "has no sentinel answering");
        }

        return;
    }

    pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    /* ["ip", "port"], or nil: the sentinels do not know the name */

    if (reply->type != NGX_HTTP_HELICONE_REDIS_ARRAY || reply->nelts != 2
        || ngx_http_helicone_redis_parse_addr(pool, &reply->elts[0].str,
                                              &reply->elts[1].str, &addr)
           != NGX_OK)
    {
        if (s->master->connection == NULL) {
            ngx_http_helicone_redis_retry(s->master,
                                          "has no master address from the "
                                          "sentinels");
        }

        ngx_destroy_pool(pool);
        return;
    }

    s->fresh = 1;

    if (s->known && s->master->connection
        && ngx_cmp_sockaddr(addr.sockaddr, addr.socklen,
                            s->master->addr.sockaddr,
                            s->master->addr.socklen, 1)
           == NGX_OK)
    {
        /* the check: nothing moved */
        ngx_destroy_pool(pool);
        return;
    }

    if (!s->known
        || ngx_cmp_sockaddr(addr.sockaddr, addr.socklen,
                            s->master->addr.sockaddr,
                            s->master->addr.socklen, 1)
           != NGX_OK)
    {
        if (s->known) {
            ngx_http_helicone_metrics_count(
                                  NGX_HTTP_HELICONE_REDIS_MASTER_SWITCHED);
        }

        level = s->known ? NGX_LOG_WARN : NGX_LOG_INFO;

        ngx_log_error(level, ngx_cycle->log, 0,
                      "helicone redis: master \"%V\" is at %V",
                      &s->master_name, &addr.name);
    }

    s->known = 1;

    ngx_http_helicone_redis_connect_to(s->master, &addr);

    ngx_destroy_pool(pool);
}
