/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The balancer of a provider origin's upstream (upstream.c makes them):
 * an idle connection kept by this worker if there is one, else the next
 * address of the name (dns.c) not set aside for failing; connections that
 * can serve again wait in a bounded pool; TLS sessions are resumed per
 * address.
 */

#include "ngx_http_helicone_upstream.h"


struct ngx_http_helicone_idle_s {
    ngx_queue_t                    queue;
    ngx_connection_t              *connection;
    ngx_http_helicone_upstream_t  *upstream;
    ngx_sockaddr_t                 sockaddr;
    socklen_t                      socklen;
    size_t                         len;          /* of text */
    u_char                         text[NGX_SOCKADDR_STRLEN];
};


/* a request's side of the balancer */

typedef struct {
    ngx_http_helicone_upstream_t  *upstream;
    ngx_http_upstream_t           *u;
    ngx_sockaddr_t                 sockaddr;     /* the peer it got */
    socklen_t                      socklen;
    ngx_str_t                      name;
    u_char                         text[NGX_SOCKADDR_STRLEN];
    ngx_uint_t                     moved;        /* addresses that failed */
    unsigned                       fresh:1;      /* a kept one failed */
} ngx_http_helicone_balancer_data_t;


static ngx_http_helicone_peer_t *ngx_http_helicone_balancer_pick(
    ngx_http_helicone_upstream_t *hu);
static ngx_int_t ngx_http_helicone_balancer_timeouts(ngx_http_request_t *r,
    ngx_http_upstream_t *u);
static ngx_int_t ngx_http_helicone_balancer_get_peer(ngx_peer_connection_t *pc,
    void *data);
static void ngx_http_helicone_balancer_free_peer(ngx_peer_connection_t *pc,
    void *data, ngx_uint_t state);
static void ngx_http_helicone_balancer_keep(ngx_peer_connection_t *pc,
    ngx_http_helicone_balancer_data_t *pd);
static void ngx_http_helicone_balancer_idle_handler(ngx_event_t *ev);
static void ngx_http_helicone_balancer_idle_dummy(ngx_event_t *ev);
static void ngx_http_helicone_balancer_close(ngx_connection_t *c);
#if (NGX_HTTP_SSL)
static ngx_int_t ngx_http_helicone_balancer_set_session(
    ngx_peer_connection_t *pc, void *data);
static void ngx_http_helicone_balancer_save_session(ngx_peer_connection_t *pc,
    void *data);
#endif


ngx_int_t
ngx_http_helicone_balancer_init_peer(ngx_http_request_t *r,
    ngx_http_upstream_srv_conf_t *us)
{
    ngx_http_upstream_t                *u;
    ngx_http_helicone_upstream_t       *hu;
    ngx_http_helicone_balancer_data_t  *pd;

    hu = us->peer.data;
    u = r->upstream;

    pd = ngx_pcalloc(r->pool, sizeof(ngx_http_helicone_balancer_data_t));
    if (pd == NULL) {
        return NGX_ERROR;
    }

    pd->upstream = hu;
    pd->u = u;

    if (ngx_http_helicone_balancer_timeouts(r, u) != NGX_OK) {
        return NGX_ERROR;
    }

    u->peer.data = pd;
    u->peer.get = ngx_http_helicone_balancer_get_peer;
    u->peer.free = ngx_http_helicone_balancer_free_peer;
    u->peer.tries = 1;

#if (NGX_HTTP_SSL)
    u->peer.set_session = ngx_http_helicone_balancer_set_session;
    u->peer.save_session = ngx_http_helicone_balancer_save_session;
#endif

    /* expired addresses are used while new ones are looked up */
    ngx_http_helicone_dns_refresh(hu);

    return NGX_OK;
}


/*
 * Helicone-Increase-Timeout: the proxy's wait between two reads (the
 * attempt location's proxy_read_timeout, which also bounds the wait for
 * a response header) grows to Helicone's 30 minutes for this attempt,
 * on a copy of the location's upstream settings; never past
 * helicone_deadline, which a client header does not loosen.
 */

static ngx_int_t
ngx_http_helicone_balancer_timeouts(ngx_http_request_t *r,
    ngx_http_upstream_t *u)
{
    ngx_msec_t                 timeout;
    ngx_http_upstream_conf_t  *conf;
    ngx_http_helicone_ctx_t   *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_helicone_module);

    if (ctx == NULL || !ctx->asked.increase_timeout) {
        return NGX_OK;
    }

    timeout = NGX_HTTP_HELICONE_INCREASED_TIMEOUT;

    timeout = ngx_http_helicone_attempt_time_left(ctx, timeout);

    if (u->conf->read_timeout >= timeout) {
        return NGX_OK;
    }

    conf = ngx_palloc(r->pool, sizeof(ngx_http_upstream_conf_t));
    if (conf == NULL) {
        return NGX_ERROR;
    }

    *conf = *u->conf;
    conf->read_timeout = timeout;
    u->conf = conf;

    return NGX_OK;
}


/*
 * A kept connection if there is one (unless a kept one just failed: the
 * retry gets a new one), else an address: round robin over those not set
 * aside; when all are, the one set aside longest.
 */

static ngx_int_t
ngx_http_helicone_balancer_get_peer(ngx_peer_connection_t *pc, void *data)
{
    ngx_http_helicone_balancer_data_t *pd = data;

    ngx_queue_t                   *q;
    ngx_connection_t              *c;
    ngx_http_helicone_idle_t      *item;
    ngx_http_helicone_peer_t      *peer;
    ngx_http_helicone_upstream_t  *hu;

    hu = pd->upstream;

    pc->cached = 0;
    pc->connection = NULL;

    if (!pd->fresh && !ngx_queue_empty(&hu->idle)) {
        q = ngx_queue_head(&hu->idle);
        ngx_queue_remove(q);
        ngx_queue_insert_head(&hu->free, q);

        item = ngx_queue_data(q, ngx_http_helicone_idle_t, queue);
        c = item->connection;

        ngx_memcpy(&pd->sockaddr, &item->sockaddr, item->socklen);
        pd->socklen = item->socklen;
        pd->name.len = item->len;
        ngx_memcpy(pd->text, item->text, item->len);

        c->idle = 0;
        c->sent = 0;
        c->data = NULL;
        c->log = pc->log;
        c->read->log = pc->log;
        c->write->log = pc->log;
        c->pool->log = pc->log;

        if (c->read->timer_set) {
            ngx_del_timer(c->read);
        }

        pc->connection = c;
        pc->cached = 1;

    } else {
        peer = ngx_http_helicone_balancer_pick(hu);

        if (peer == NULL) {
            ngx_log_error(NGX_LOG_ERR, pc->log, 0,
                          "helicone upstream: no address for \"%V\" "
                          "(DNS)", &hu->host);
            pc->name = &hu->host;
            pc->tries = 0;
            return NGX_BUSY;
        }

        ngx_memcpy(&pd->sockaddr, &peer->sockaddr, peer->socklen);
        pd->socklen = peer->socklen;
        pd->name.len = peer->name.len;
        ngx_memcpy(pd->text, peer->name.data, peer->name.len);
    }

    /* a copy: the address set may change before the request ends */
    pd->name.data = pd->text;

    pc->sockaddr = &pd->sockaddr.sockaddr;
    pc->socklen = pd->socklen;
    pc->name = &pd->name;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, pc->log, 0,
                   "helicone upstream: \"%V\" at %V%s", &hu->host, &pd->name,
                   pc->cached ? ", kept connection" : "");

    return pc->cached ? NGX_DONE : NGX_OK;
}


static ngx_http_helicone_peer_t *
ngx_http_helicone_balancer_pick(ngx_http_helicone_upstream_t *hu)
{
    time_t                     now;
    ngx_uint_t                 i, n;
    ngx_http_helicone_peer_t  *peer, *longest;

    now = ngx_time();
    longest = NULL;

    for (i = 0; i < hu->npeers; i++) {
        n = (hu->next + i) % hu->npeers;
        peer = &hu->peers[n];

        if (hu->conf.max_fails && peer->fails >= hu->conf.max_fails
            && now - peer->failed < hu->conf.fail_timeout)
        {
            if (longest == NULL || peer->failed < longest->failed) {
                longest = peer;
            }

            continue;
        }

        hu->next = (n + 1) % hu->npeers;

        return peer;
    }

    return longest;
}


ngx_http_helicone_peer_t *
ngx_http_helicone_balancer_peer(ngx_http_helicone_upstream_t *hu,
    struct sockaddr *sockaddr, socklen_t socklen)
{
    ngx_uint_t  i;

    for (i = 0; i < hu->npeers; i++) {
        if (ngx_cmp_sockaddr(&hu->peers[i].sockaddr.sockaddr,
                             hu->peers[i].socklen, sockaddr, socklen, 1)
            == NGX_OK)
        {
            return &hu->peers[i];
        }
    }

    return NULL;
}


/*
 * The attempt is over with this peer. A kept connection that failed was
 * most likely closed by the provider while idle: the proxy tries once more
 * (it adds a try for a cached connection), on a new connection, and the
 * address is not blamed. A new connection that failed before the request
 * went out leaves a try for the next address.
 */

static void
ngx_http_helicone_balancer_free_peer(ngx_peer_connection_t *pc, void *data,
    ngx_uint_t state)
{
    ngx_http_helicone_balancer_data_t *pd = data;

    ngx_http_helicone_peer_t      *peer;
    ngx_http_helicone_upstream_t  *hu;

    hu = pd->upstream;
    peer = ngx_http_helicone_balancer_peer(hu, pc->sockaddr, pc->socklen);

    if (state & NGX_PEER_FAILED) {

        /* a timeout is the provider's, kept connection or not */

        if (pc->cached && !pd->fresh && pc->connection
            && !pc->connection->read->timedout
            && !pc->connection->write->timedout)
        {
            pd->fresh = 1;

            ngx_log_error(NGX_LOG_INFO, pc->log, 0,
                          "helicone upstream: a kept connection to \"%V\" "
                          "failed, trying a new one", &hu->host);

        } else {
            if (peer) {
                peer->fails++;
                peer->failed = ngx_time();

                if (hu->conf.max_fails && peer->fails == hu->conf.max_fails
                    && hu->npeers > 1)
                {
                    ngx_log_error(NGX_LOG_WARN, pc->log, 0,
                                  "helicone upstream: %V of \"%V\" set "
                                  "aside for %T s", &peer->name, &hu->host,
                                  hu->conf.fail_timeout);
                }
            }

            /*
             * nothing was sent (the connection failed): the name's next
             * address may take the request, as an upstream{}'s next
             * server would; the proxy tries again while tries are left
             */

            if (!pd->u->request_sent && ++pd->moved < hu->npeers) {
                return;
            }
        }

    } else if (peer && state == 0) {
        peer->fails = 0;
        ngx_http_helicone_balancer_keep(pc, pd);
    }

    if (pc->tries) {
        pc->tries--;
    }
}


/* A connection that can serve another request waits in the pool. */

static void
ngx_http_helicone_balancer_keep(ngx_peer_connection_t *pc,
    ngx_http_helicone_balancer_data_t *pd)
{
    ngx_uint_t                     i;
    ngx_queue_t                   *q;
    ngx_connection_t              *c;
    ngx_http_helicone_idle_t      *item;
    ngx_http_helicone_upstream_t  *hu;

    hu = pd->upstream;
    c = pc->connection;

    if (c == NULL
        || hu->conf.keepalive == 0
        || c->read->eof || c->read->error || c->read->timedout
        || c->write->error || c->write->timedout
        || c->requests >= hu->conf.keepalive_requests
        || ngx_current_msec - c->start_time > hu->conf.keepalive_time
        || !pd->u->keepalive
        || !pd->u->request_body_sent
        || ngx_terminate || ngx_exiting)
    {
        return;
    }

    if (hu->items == NULL) {
        /* this worker's first kept connection to the provider */
        hu->items = ngx_alloc(hu->conf.keepalive
                              * sizeof(ngx_http_helicone_idle_t),
                              ngx_cycle->log);
        if (hu->items == NULL) {
            return;
        }

        for (i = 0; i < hu->conf.keepalive; i++) {
            hu->items[i].upstream = hu;
            ngx_queue_insert_tail(&hu->free, &hu->items[i].queue);
        }
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        return;
    }

    if (ngx_queue_empty(&hu->free)) {
        /* full: the one idle longest goes */
        q = ngx_queue_last(&hu->idle);
        ngx_queue_remove(q);

        item = ngx_queue_data(q, ngx_http_helicone_idle_t, queue);
        ngx_http_helicone_balancer_close(item->connection);

    } else {
        q = ngx_queue_head(&hu->free);
        ngx_queue_remove(q);

        item = ngx_queue_data(q, ngx_http_helicone_idle_t, queue);
    }

    ngx_queue_insert_head(&hu->idle, q);

    item->connection = c;
    ngx_memcpy(&item->sockaddr, pc->sockaddr, pc->socklen);
    item->socklen = pc->socklen;
    item->len = pd->name.len;
    ngx_memcpy(item->text, pd->name.data, pd->name.len);

    pc->connection = NULL;

    c->read->delayed = 0;
    ngx_add_timer(c->read, hu->conf.keepalive_timeout);

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    c->write->handler = ngx_http_helicone_balancer_idle_dummy;
    c->read->handler = ngx_http_helicone_balancer_idle_handler;

    c->data = item;
    c->idle = 1;
    c->log = ngx_cycle->log;
    c->read->log = ngx_cycle->log;
    c->write->log = ngx_cycle->log;
    c->pool->log = ngx_cycle->log;

    if (c->read->ready) {
        ngx_http_helicone_balancer_idle_handler(c->read);
    }
}


/*
 * An idle connection heard from: the provider closed it (or said
 * something unasked), it idled too long, or the worker is exiting.
 */

static void
ngx_http_helicone_balancer_idle_handler(ngx_event_t *ev)
{
    int                        n;
    char                       buf[1];
    ngx_connection_t          *c;
    ngx_http_helicone_idle_t  *item;

    c = ev->data;

    if (!c->close && !ev->timedout) {
        n = recv(c->fd, buf, 1, MSG_PEEK);

        if (n == -1 && ngx_socket_errno == NGX_EAGAIN) {
            ev->ready = 0;

            if (ngx_handle_read_event(c->read, 0) == NGX_OK) {
                return;
            }
        }
    }

    item = c->data;

    ngx_http_helicone_balancer_close(c);

    ngx_queue_remove(&item->queue);
    ngx_queue_insert_head(&item->upstream->free, &item->queue);
}


static void
ngx_http_helicone_balancer_idle_dummy(ngx_event_t *ev)
{
}


static void
ngx_http_helicone_balancer_close(ngx_connection_t *c)
{
#if (NGX_HTTP_SSL)

    if (c->ssl) {
        c->ssl->no_wait_shutdown = 1;
        c->ssl->no_send_shutdown = 1;

        if (ngx_ssl_shutdown(c) == NGX_AGAIN) {
            c->ssl->handler = ngx_http_helicone_balancer_close;
            return;
        }
    }

#endif

    ngx_destroy_pool(c->pool);
    ngx_close_connection(c);
}


/* New addresses: connections kept to one no longer named close. */

void
ngx_http_helicone_balancer_peers_changed(ngx_http_helicone_upstream_t *hu)
{
    ngx_queue_t               *q, *next;
    ngx_http_helicone_idle_t  *item;

    for (q = ngx_queue_head(&hu->idle);
         q != ngx_queue_sentinel(&hu->idle);
         q = next)
    {
        next = ngx_queue_next(q);
        item = ngx_queue_data(q, ngx_http_helicone_idle_t, queue);

        if (ngx_http_helicone_balancer_peer(hu, &item->sockaddr.sockaddr,
                                            item->socklen)
            == NULL)
        {
            ngx_http_helicone_balancer_close(item->connection);
            ngx_queue_remove(q);
            ngx_queue_insert_head(&hu->free, q);
        }
    }
}


#if (NGX_HTTP_SSL)

/* TLS sessions per address, as a provider's edges keep their own */

static ngx_int_t
ngx_http_helicone_balancer_set_session(ngx_peer_connection_t *pc, void *data)
{
    ngx_http_helicone_balancer_data_t *pd = data;

    ngx_http_helicone_peer_t  *peer;

    peer = ngx_http_helicone_balancer_peer(pd->upstream, pc->sockaddr,
                                           pc->socklen);

    if (peer == NULL || peer->ssl_session == NULL) {
        return NGX_OK;
    }

    return ngx_ssl_set_session(pc->connection, peer->ssl_session);
}


static void
ngx_http_helicone_balancer_save_session(ngx_peer_connection_t *pc,
    void *data)
{
    ngx_http_helicone_balancer_data_t *pd = data;

    ngx_ssl_session_t         *session;
    ngx_http_helicone_peer_t  *peer;

    peer = ngx_http_helicone_balancer_peer(pd->upstream, pc->sockaddr,
                                           pc->socklen);
    if (peer == NULL) {
        return;
    }

    session = ngx_ssl_get_session(pc->connection);
    if (session == NULL) {
        return;
    }

    if (peer->ssl_session) {
        ngx_ssl_free_session(peer->ssl_session);
    }

    peer->ssl_session = session;
}

#endif
