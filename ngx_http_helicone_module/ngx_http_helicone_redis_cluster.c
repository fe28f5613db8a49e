/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Redis Cluster: the worker's map of the 16384 hash slots to masters,
 * learnt with CLUSTER SLOTS from the configured node, one connection per
 * master (made when the map first names it), and the node a key's
 * command goes to. redis.c follows MOVED and ASK with the same
 * operation, and a MOVED or a node's failure asks for the map again.
 * Every command of the store touches one slot (hash tags), so it runs
 * on one node, scripts included.
 */

#include "ngx_http_helicone_redis.h"


#define NGX_HTTP_HELICONE_REDIS_SLOTS    16384
#define NGX_HTTP_HELICONE_REDIS_REFRESH  100     /* ms after a redirect */


struct ngx_http_helicone_redis_cluster_s {
    ngx_http_helicone_redis_t           *seed;      /* the configured node */
    ngx_http_helicone_redis_t          **slots;     /* NULL: the seed's */
    ngx_array_t                         *nodes;     /* the others, learnt */
    ngx_event_t                          refresh;
    unsigned                             asking:1;  /* CLUSTER SLOTS */
};


static void ngx_http_helicone_redis_cluster_refresh(ngx_event_t *ev);
static void ngx_http_helicone_redis_cluster_map(void *data,
    ngx_http_helicone_redis_reply_t *reply);
static ngx_uint_t ngx_http_helicone_redis_cluster_slot(u_char *key,
    size_t len);


ngx_int_t
ngx_http_helicone_redis_cluster_conf(ngx_conf_t *cf,
    ngx_http_helicone_redis_t *seed)
{
    ngx_http_helicone_redis_cluster_t  *cl;

    if (seed->conf->db) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "a Redis Cluster has only database 0");
        return NGX_ERROR;
    }

    cl = ngx_pcalloc(cf->pool, sizeof(ngx_http_helicone_redis_cluster_t));
    if (cl == NULL) {
        return NGX_ERROR;
    }

    cl->seed = seed;
    seed->cluster = cl;

    return NGX_OK;
}


/* After the seed's connect: the map is asked for at once. */

ngx_int_t
ngx_http_helicone_redis_cluster_init_worker(
    ngx_http_helicone_redis_cluster_t *cl, ngx_cycle_t *cycle)
{
    cl->slots = ngx_calloc(NGX_HTTP_HELICONE_REDIS_SLOTS
                           * sizeof(ngx_http_helicone_redis_t *), cycle->log);
    if (cl->slots == NULL) {
        return NGX_ERROR;
    }

    cl->nodes = ngx_array_create(cycle->pool, 4,
                                 sizeof(ngx_http_helicone_redis_t *));
    if (cl->nodes == NULL) {
        return NGX_ERROR;
    }

    cl->refresh.handler = ngx_http_helicone_redis_cluster_refresh;
    cl->refresh.data = cl;
    cl->refresh.log = cycle->log;
    cl->refresh.cancelable = 1;

    ngx_http_helicone_redis_cluster_refresh(&cl->refresh);

    return NGX_OK;
}


void
ngx_http_helicone_redis_cluster_exit_worker(
    ngx_http_helicone_redis_cluster_t *cl)
{
    ngx_uint_t                   i;
    ngx_http_helicone_redis_t  **node;

    if (cl->refresh.timer_set) {
        ngx_del_timer(&cl->refresh);
    }

    if (cl->nodes) {
        node = cl->nodes->elts;

        for (i = 0; i < cl->nodes->nelts; i++) {
            ngx_http_helicone_redis_exit_worker(node[i]);
            ngx_free(node[i]);
        }

        cl->nodes->nelts = 0;
    }

    if (cl->slots) {
        ngx_free(cl->slots);
        cl->slots = NULL;
    }
}


/* The node that serves key: the map's, or the seed while none is known. */

ngx_http_helicone_redis_t *
ngx_http_helicone_redis_cluster_route(ngx_http_helicone_redis_cluster_t *cl,
    ngx_str_t *key)
{
    ngx_http_helicone_redis_t  *node;

    if (cl->slots == NULL) {
        return cl->seed;
    }

    node = cl->slots[ngx_http_helicone_redis_cluster_slot(key->data,
                                                          key->len)];

    return node ? node : cl->seed;
}


/*
 * The node at addr (as MOVED, ASK and CLUSTER SLOTS name them): a known
 * one, or a new connection. NULL: no memory.
 */

ngx_http_helicone_redis_t *
ngx_http_helicone_redis_cluster_node(ngx_http_helicone_redis_cluster_t *cl,
    ngx_addr_t *addr)
{
    ngx_uint_t                   i;
    ngx_http_helicone_redis_t   *node, **p;

    if (ngx_cmp_sockaddr(addr->sockaddr, addr->socklen,
                         cl->seed->addr.sockaddr, cl->seed->addr.socklen, 1)
        == NGX_OK)
    {
        return cl->seed;
    }

    p = cl->nodes->elts;

    for (i = 0; i < cl->nodes->nelts; i++) {
        if (ngx_cmp_sockaddr(addr->sockaddr, addr->socklen,
                             p[i]->addr.sockaddr, p[i]->addr.socklen, 1)
            == NGX_OK)
        {
            return p[i];
        }
    }

    node = ngx_calloc(sizeof(ngx_http_helicone_redis_t), ngx_cycle->log);
    if (node == NULL) {
        return NULL;
    }

    p = ngx_array_push(cl->nodes);
    if (p == NULL) {
        ngx_free(node);
        return NULL;
    }

    *p = node;

    node->conf = cl->seed->conf;
    node->node = 1;

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "helicone redis: cluster node %V", &addr->name);

    /* the address first: init_worker connects */
    ngx_http_helicone_redis_connect_to(node, addr);

    if (ngx_http_helicone_redis_init_worker(node, (ngx_cycle_t *) ngx_cycle)
        != NGX_OK)
    {
        cl->nodes->nelts--;
        ngx_free(node);
        return NULL;
    }

    node->cluster = cl;

    return node;
}


/* A redirect or a node's failure: the map is asked for again, soon. */

void
ngx_http_helicone_redis_cluster_stale(ngx_http_helicone_redis_cluster_t *cl)
{
    if (cl->slots && !cl->refresh.timer_set && !cl->asking
        && !ngx_exiting)
    {
        ngx_add_timer(&cl->refresh, NGX_HTTP_HELICONE_REDIS_REFRESH);
    }
}


/* MOVED: the slot is the node's from now on. */

void
ngx_http_helicone_redis_cluster_moved(ngx_http_helicone_redis_cluster_t *cl,
    ngx_uint_t slot, ngx_http_helicone_redis_t *node)
{
    if (cl->slots && slot < NGX_HTTP_HELICONE_REDIS_SLOTS) {
        cl->slots[slot] = node;
    }

    ngx_http_helicone_redis_cluster_stale(cl);
}


static void
ngx_http_helicone_redis_cluster_refresh(ngx_event_t *ev)
{
    ngx_uint_t                          i;
    ngx_str_t                           argv[2];
    ngx_http_helicone_redis_t          *via, **node;
    ngx_http_helicone_redis_cluster_t  *cl;

    cl = ev->data;

    if (cl->asking || ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    /* any node that answers knows the whole map */

    via = cl->seed;
    node = cl->nodes->elts;

    for (i = 0; !via->ready && i < cl->nodes->nelts; i++) {
        if (node[i]->ready) {
            via = node[i];
        }
    }

    ngx_str_set(&argv[0], "CLUSTER");
    ngx_str_set(&argv[1], "SLOTS");

    if (ngx_http_helicone_redis_direct(via, 2, argv,
                                       ngx_http_helicone_redis_cluster_map,
                                       cl)
        == NGX_AGAIN)
    {
        cl->asking = 1;
        return;
    }

    /* no node to ask now: again a little later */
    ngx_add_timer(&cl->refresh, 1000);
}


/*
 * CLUSTER SLOTS: [[start, end, [ip, port, id], replicas...], ...]; the
 * master of each range gets its slots.
 */

static void
ngx_http_helicone_redis_cluster_map(void *data,
    ngx_http_helicone_redis_reply_t *reply)
{
    ngx_http_helicone_redis_cluster_t *cl = data;

    u_char                            buf[NGX_INT64_LEN];
    int64_t                           start, end, s;
    ngx_str_t                         port;
    ngx_uint_t                        i, n;
    ngx_addr_t                        addr;
    ngx_pool_t                       *pool;
    ngx_http_helicone_redis_t        *node;
    ngx_http_helicone_redis_reply_t  *range, *master;

    cl->asking = 0;

    if (reply == NULL || reply->type != NGX_HTTP_HELICONE_REDIS_ARRAY) {
        ngx_http_helicone_redis_cluster_stale(cl);
        return;
    }

    pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    n = 0;

    for (i = 0; i < reply->nelts; i++) {
        range = &reply->elts[i];

        if (range->type != NGX_HTTP_HELICONE_REDIS_ARRAY || range->nelts < 3
            || range->elts[2].type != NGX_HTTP_HELICONE_REDIS_ARRAY
            || range->elts[2].nelts < 2)
        {
            continue;
        }

        start = range->elts[0].integer;
        end = range->elts[1].integer;
        master = &range->elts[2];

        if (start < 0 || end >= NGX_HTTP_HELICONE_REDIS_SLOTS || start > end)
        {
            continue;
        }

        port.data = buf;
        port.len = ngx_sprintf(buf, "%L", master->elts[1].integer) - buf;

        if (ngx_http_helicone_redis_parse_addr(pool, &master->elts[0].str,
                                               &port, &addr)
            != NGX_OK)
        {
            continue;
        }

        node = ngx_http_helicone_redis_cluster_node(cl, &addr);
        if (node == NULL) {
            continue;
        }

        for (s = start; s <= end; s++) {
            cl->slots[s] = node;
        }

        n += end - start + 1;
    }

    ngx_destroy_pool(pool);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "helicone redis: cluster map, %ui slots on %ui nodes", n,
                   cl->nodes->nelts + 1);
}


/* CRC16 (XMODEM) of the key's hash tag, or of the key, mod 16384 */

static ngx_uint_t
ngx_http_helicone_redis_cluster_slot(u_char *key, size_t len)
{
    u_char      *open, *close, *last;
    uint16_t     crc;
    ngx_uint_t   bit;

    last = key + len;

    open = ngx_strlchr(key, last, '{');

    if (open) {
        close = ngx_strlchr(open + 1, last, '}');

        if (close && close > open + 1) {
            key = open + 1;
            last = close;
        }
    }

    crc = 0;

    while (key < last) {
        crc ^= (uint16_t) *key++ << 8;

        for (bit = 0; bit < 8; bit++) {
            crc = (crc & 0x8000) ? (uint16_t) ((crc << 1) ^ 0x1021)
                                 : (uint16_t) (crc << 1);
        }
    }

    return crc & (NGX_HTTP_HELICONE_REDIS_SLOTS - 1);
}
