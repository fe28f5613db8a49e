/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * A provider's addresses, from DNS at run time: looked up with nginx's
 * resolver (the one in http{}, or one made from resolv.conf), kept for
 * the answer's TTL and looked up again when a request finds them expired,
 * without making it wait. Only a name never resolved in this worker makes
 * its first attempt wait, at most NGX_HTTP_HELICONE_DNS_WAIT_MAX. When a
 * lookup fails the last good addresses stay in use.
 */

#include "ngx_http_helicone_upstream.h"


typedef struct {
    ngx_queue_t                    queue;
    ngx_http_request_t            *request;
    unsigned                       waiting:1;
} ngx_http_helicone_dns_waiter_t;


static void ngx_http_helicone_dns_handler(ngx_resolver_ctx_t *ctx);
static void ngx_http_helicone_dns_wake(ngx_http_helicone_upstream_t *hu);
static ngx_uint_t ngx_http_helicone_dns_stale(
    ngx_http_helicone_upstream_t *hu);
static void ngx_http_helicone_dns_waiter_cleanup(void *data);
static ngx_int_t ngx_http_helicone_dns_servers(ngx_conf_t *cf,
    ngx_str_t *path, ngx_array_t *names);
static ngx_int_t ngx_http_helicone_dns_read(ngx_conf_t *cf, ngx_str_t *path,
    ngx_str_t *text);
static ngx_uint_t ngx_http_helicone_dns_same(ngx_http_helicone_upstream_t *hu,
    ngx_resolver_addr_t *addrs, ngx_uint_t naddrs);


/*
 * The resolver for provider names: the one "resolver" set in http{}, or
 * else one made from the name servers in resolv.conf, as a stock Debian
 * box has no DNS server nginx could guess.
 */

ngx_int_t
ngx_http_helicone_dns_resolver(ngx_conf_t *cf, ngx_str_t *resolv_conf,
    ngx_resolver_t **resolver, ngx_msec_t *timeout)
{
    u_char                    *p;
    ngx_str_t                 *name, list;
    ngx_uint_t                 i;
    ngx_array_t                names;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->resolver && clcf->resolver->connections.nelts) {
        *resolver = clcf->resolver;
        *timeout = ngx_min(clcf->resolver_timeout,
                           NGX_HTTP_HELICONE_DNS_WAIT_MAX);
        return NGX_OK;
    }

    if (ngx_array_init(&names, cf->temp_pool, 4, sizeof(ngx_str_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_helicone_dns_servers(cf, resolv_conf, &names) != NGX_OK) {
        return NGX_ERROR;
    }

    /* what a message needs: the servers, space-separated */

    list.len = 0;
    name = names.elts;

    for (i = 0; i < names.nelts; i++) {
        list.len += name[i].len + 1;
    }

    list.data = ngx_pnalloc(cf->temp_pool, list.len);
    if (list.data == NULL) {
        return NGX_ERROR;
    }

    p = list.data;

    for (i = 0; i < names.nelts; i++) {
        p = ngx_cpymem(p, name[i].data, name[i].len);
        *p++ = ' ';
    }

    list.len--;

    ngx_conf_log_error(NGX_LOG_NOTICE, cf, 0,
                       "helicone upstream: no \"resolver\" in http{}, "
                       "provider names go to %V from \"%V\"",
                       &list, resolv_conf);

    /*
     * IPv4 only: a box that is given no resolver is rarely known to
     * reach IPv6 addresses, and every one would fail
     */

    name = ngx_array_push(&names);
    if (name == NULL) {
        return NGX_ERROR;
    }

    ngx_str_set(name, "ipv6=off");

    *resolver = ngx_resolver_create(cf, names.elts, names.nelts);
    if (*resolver == NULL) {
        return NGX_ERROR;
    }

    *timeout = NGX_HTTP_HELICONE_DNS_WAIT_MAX;

    return NGX_OK;
}


/* The file's text; none (empty) if it does not exist. */

static ngx_int_t
ngx_http_helicone_dns_read(ngx_conf_t *cf, ngx_str_t *path, ngx_str_t *text)
{
    ssize_t           n;
    ngx_file_t        file;
    ngx_file_info_t   fi;

    ngx_str_null(text);
    ngx_memzero(&file, sizeof(ngx_file_t));

    file.name = *path;
    file.log = cf->log;

    file.fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (file.fd == NGX_INVALID_FILE) {

        if (ngx_errno == NGX_ENOENT) {
            return NGX_OK;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "helicone upstream: " ngx_open_file_n " \"%V\" "
                           "failed", path);
        return NGX_ERROR;
    }

    n = NGX_ERROR;

    if (ngx_fd_info(file.fd, &fi) != NGX_FILE_ERROR
        && ngx_file_size(&fi) <= 65536)
    {
        text->data = ngx_pnalloc(cf->temp_pool,
                                 (size_t) ngx_file_size(&fi) + 1);

        if (text->data) {
            n = ngx_read_file(&file, text->data, (size_t) ngx_file_size(&fi),
                              0);
        }
    }

    ngx_close_file(file.fd);

    if (n == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "helicone upstream: cannot read \"%V\"", path);
        return NGX_ERROR;
    }

    text->len = n;

    return NGX_OK;
}


/*
 * The "nameserver" lines of a resolv.conf file, at most three as glibc
 * takes. An address may carry a port ("127.0.0.1:5353", "[::1]:5353"),
 * which glibc does not read: tests use it. None (or no file): 127.0.0.1,
 * as glibc.
 */

static ngx_int_t
ngx_http_helicone_dns_servers(ngx_conf_t *cf, ngx_str_t *path,
    ngx_array_t *names)
{
    u_char      *p, *q, *last, *start, *end;
    size_t       colons;
    ngx_str_t   *name, text;
    ngx_uint_t   bracket;

    if (ngx_http_helicone_dns_read(cf, path, &text) != NGX_OK) {
        return NGX_ERROR;
    }

    p = text.data;
    last = text.data + text.len;

    while (p < last && names->nelts < 3) {

        end = ngx_strlchr(p, last, '\n');
        end = end ? end : last;

        if ((size_t) (end - p) > 11 && ngx_strncmp(p, "nameserver", 10) == 0
            && (p[10] == ' ' || p[10] == '\t'))
        {
            for (start = p + 11; start < end; start++) {
                if (*start != ' ' && *start != '\t') {
                    break;
                }
            }

            colons = 0;

            for (p = start; p < end && *p != ' ' && *p != '\t'
                            && *p != '\r' && *p != '#' && *p != ';'; p++)
            {
                colons += (*p == ':');
            }

            /* a link-local IPv6 address with a zone: nginx cannot use it */

            if (p > start && ngx_strlchr(start, p, '%') == NULL) {
                name = ngx_array_push(names);
                if (name == NULL) {
                    return NGX_ERROR;
                }

                /* a bare IPv6 address: the resolver wants [::1] */
                bracket = (colons > 1 && *start != '[');

                name->len = p - start + 2 * bracket;
                name->data = ngx_pnalloc(cf->pool, name->len);
                if (name->data == NULL) {
                    return NGX_ERROR;
                }

                q = name->data;

                if (bracket) {
                    *q++ = '[';
                }

                q = ngx_cpymem(q, start, p - start);

                if (bracket) {
                    *q = ']';
                }
            }
        }

        p = end + 1;
    }

    if (names->nelts == 0) {
        name = ngx_array_push(names);
        if (name == NULL) {
            return NGX_ERROR;
        }

        ngx_str_set(name, "127.0.0.1");
    }

    return NGX_OK;
}


/*
 * An origin whose host is an IP address (or "localhost"): one peer for
 * good, no DNS.
 */

ngx_int_t
ngx_http_helicone_dns_literal(ngx_conf_t *cf, ngx_http_helicone_upstream_t *hu)
{
    u_char                    *host;
    size_t                     len;
    ngx_addr_t                 addr;
    ngx_http_helicone_peer_t  *peer;

    host = hu->host.data;
    len = hu->host.len;

    if (len > 2 && host[0] == '[') {
        host++;
        len -= 2;
    }

    /* /etc/hosts's name, which a DNS server may not know (a local model) */

    if (len == 9 && ngx_strncasecmp(host, (u_char *) "localhost", 9) == 0) {
        host = (u_char *) "127.0.0.1";
        len = 9;
    }

    if (ngx_parse_addr(cf->pool, &addr, host, len) != NGX_OK) {
        return NGX_DECLINED;
    }

    peer = ngx_pcalloc(cf->pool, sizeof(ngx_http_helicone_peer_t));
    if (peer == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(&peer->sockaddr, addr.sockaddr, addr.socklen);
    peer->socklen = addr.socklen;
    ngx_inet_set_port(&peer->sockaddr.sockaddr, hu->port);

    peer->name.data = peer->text;
    peer->name.len = ngx_sock_ntop(&peer->sockaddr.sockaddr, peer->socklen,
                                   peer->text, NGX_SOCKADDR_STRLEN, 1);

    hu->peers = peer;
    hu->npeers = 1;
    hu->expires = NGX_MAX_TIME_T_VALUE;
    hu->resolver = NULL;

    return NGX_OK;
}


/*
 * Before an attempt connects: NGX_OK when the name has addresses (a lookup
 * starts behind the request if they are expired), NGX_AGAIN when the
 * request waits for an answer (ngx_http_core_run_phases() follows it),
 * NGX_DECLINED when the name could not be resolved. A request waits for
 * the first answer, and for one that replaces addresses left unused long
 * past their TTL (the provider idle for a while): those may be gone. If
 * that lookup fails, the old addresses serve.
 */

ngx_int_t
ngx_http_helicone_dns_wait(ngx_http_request_t *r,
    ngx_http_helicone_upstream_t *hu)
{
    ngx_pool_cleanup_t              *cln;
    ngx_http_helicone_dns_waiter_t  *w;

    w = ngx_http_get_module_ctx(r, ngx_http_helicone_upstream_module);

    if (w) {
        if (w->waiting) {
            return NGX_AGAIN;
        }

        return hu->npeers ? NGX_OK : NGX_DECLINED;
    }

    ngx_http_helicone_dns_refresh(hu);

    if (hu->npeers && !ngx_http_helicone_dns_stale(hu)) {
        return NGX_OK;
    }

    if (!hu->resolving) {
        /* done at once: an answer from the resolver's cache, or failed */
        return hu->npeers ? NGX_OK : NGX_DECLINED;
    }

    w = ngx_pcalloc(r->pool, sizeof(ngx_http_helicone_dns_waiter_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (w == NULL || cln == NULL) {
        return NGX_ERROR;
    }

    w->request = r;
    w->waiting = 1;

    cln->handler = ngx_http_helicone_dns_waiter_cleanup;
    cln->data = w;

    ngx_queue_insert_tail(&hu->waiters, &w->queue);
    ngx_http_set_ctx(r, w, ngx_http_helicone_upstream_module);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "helicone upstream: waiting for DNS of \"%V\"", &hu->host);

    return NGX_AGAIN;
}


/* Expired for longer than its TTL (60 s at most): nobody used the name. */

static ngx_uint_t
ngx_http_helicone_dns_stale(ngx_http_helicone_upstream_t *hu)
{
    return hu->resolver
           && ngx_time() - hu->expires
              >= ngx_min(hu->ttl, NGX_HTTP_HELICONE_DNS_STALE);
}


/* a request gone while it waited (the client closed, say) */

static void
ngx_http_helicone_dns_waiter_cleanup(void *data)
{
    ngx_http_helicone_dns_waiter_t *w = data;

    if (w->waiting) {
        w->waiting = 0;
        ngx_queue_remove(&w->queue);
    }
}


/* A lookup if the addresses expired (or there are none) and none runs. */

void
ngx_http_helicone_dns_refresh(ngx_http_helicone_upstream_t *hu)
{
    ngx_resolver_ctx_t  *ctx;

    if (hu->resolver == NULL || hu->resolving
        || (hu->npeers && ngx_time() < hu->expires))
    {
        return;
    }

    ctx = ngx_resolve_start(hu->resolver, NULL);

    if (ctx == NULL) {
        return;
    }

    if (ctx == NGX_NO_RESOLVER) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "helicone upstream: DNS lookup of \"%V\": "
                      "no resolver", &hu->host);
        return;
    }

    ctx->name = hu->host;
    ctx->handler = ngx_http_helicone_dns_handler;
    ctx->data = hu;
    ctx->timeout = hu->resolver_timeout;
    ctx->cancelable = 1;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "helicone upstream: DNS lookup of \"%V\"", &hu->host);

    hu->resolving = 1;

    if (ngx_resolve_name(ctx) != NGX_OK) {
        hu->resolving = 0;
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "helicone upstream: DNS lookup of \"%V\" could not "
                      "start", &hu->host);
    }
}


static void
ngx_http_helicone_dns_handler(ngx_resolver_ctx_t *ctx)
{
    ngx_http_helicone_upstream_t *hu = ctx->data;

    if (ctx->state == NGX_OK && ctx->naddrs) {

        if (hu->npeers && !ngx_http_helicone_dns_same(hu, ctx->addrs,
                                                      ctx->naddrs))
        {
            ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                          "helicone upstream: \"%V\" moved to %ui "
                          "addresses, the first %V", &hu->host, ctx->naddrs,
                          &ctx->addrs[0].name);
        }

        if (hu->dns_logged) {
            ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                          "helicone upstream: DNS lookup of \"%V\" works "
                          "again", &hu->host);
            hu->dns_logged = 0;
        }

        ngx_http_helicone_dns_set_peers(hu, ctx->addrs, ctx->naddrs,
                                        ngx_cycle->log);

        hu->expires = ngx_max(ctx->valid,
                              ngx_time() + NGX_HTTP_HELICONE_DNS_MIN_TTL);
        hu->ttl = hu->expires - ngx_time();

    } else {
        hu->expires = ngx_time() + NGX_HTTP_HELICONE_DNS_RETRY;

        if (hu->npeers == 0) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "helicone upstream: DNS lookup of \"%V\" "
                          "failed: %s", &hu->host,
                          ngx_resolver_strerror(ctx->state));

        } else if (ngx_http_helicone_log_due(&hu->dns_logged)) {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "helicone upstream: DNS lookup of \"%V\" failed "
                          "(%s), still using its last %ui addresses",
                          &hu->host, ngx_resolver_strerror(ctx->state),
                          hu->npeers);
        }
    }

    ngx_resolve_name_done(ctx);

    hu->resolving = 0;

    ngx_http_helicone_dns_wake(hu);
}


/* Whether an answer names the addresses in use (in any order). */

static ngx_uint_t
ngx_http_helicone_dns_same(ngx_http_helicone_upstream_t *hu,
    ngx_resolver_addr_t *addrs, ngx_uint_t naddrs)
{
    ngx_uint_t  i;

    if (ngx_min(naddrs, NGX_HTTP_HELICONE_DNS_ADDRS) != hu->npeers) {
        return 0;
    }

    for (i = 0; i < hu->npeers; i++) {
        if (ngx_http_helicone_balancer_peer(hu, addrs[i].sockaddr,
                                            addrs[i].socklen)
            == NULL)
        {
            return 0;
        }
    }

    return 1;
}


/*
 * A new address set: what each address learnt (failures, a TLS session)
 * carries over; connections kept to an address no longer named close.
 */

void
ngx_http_helicone_dns_set_peers(ngx_http_helicone_upstream_t *hu,
    ngx_resolver_addr_t *addrs, ngx_uint_t naddrs, ngx_log_t *log)
{
    ngx_uint_t                 i, n;
    ngx_http_helicone_peer_t  *peers, *peer, *old;

    n = ngx_min(naddrs, NGX_HTTP_HELICONE_DNS_ADDRS);

    peers = ngx_alloc(n * sizeof(ngx_http_helicone_peer_t), log);
    if (peers == NULL) {
        return;
    }

    for (i = 0; i < n; i++) {
        peer = &peers[i];

        ngx_memzero(peer, sizeof(ngx_http_helicone_peer_t));

        ngx_memcpy(&peer->sockaddr, addrs[i].sockaddr,
                   ngx_min(addrs[i].socklen, sizeof(ngx_sockaddr_t)));
        peer->socklen = addrs[i].socklen;
        ngx_inet_set_port(&peer->sockaddr.sockaddr, hu->port);

        peer->name.data = peer->text;
        peer->name.len = ngx_sock_ntop(&peer->sockaddr.sockaddr,
                                       peer->socklen, peer->text,
                                       NGX_SOCKADDR_STRLEN, 1);

        old = ngx_http_helicone_balancer_peer(hu, &peer->sockaddr.sockaddr,
                                              peer->socklen);
        if (old) {
            peer->fails = old->fails;
            peer->failed = old->failed;
#if (NGX_HTTP_SSL)
            peer->ssl_session = old->ssl_session;
            old->ssl_session = NULL;
#endif
        }
    }

    for (i = 0; i < hu->npeers; i++) {
#if (NGX_HTTP_SSL)
        if (hu->peers[i].ssl_session) {
            ngx_ssl_free_session(hu->peers[i].ssl_session);
        }
#endif
    }

    if (hu->peers) {
        ngx_free(hu->peers);
    }

    hu->peers = peers;
    hu->npeers = n;

    /* the workers would all start with the same address */
    hu->next = ngx_random() % n;

    ngx_http_helicone_balancer_peers_changed(hu);
}


/*
 * The first answer came (or the lookup failed): the attempts that waited
 * for it go on, each where it stopped.
 */

static void
ngx_http_helicone_dns_wake(ngx_http_helicone_upstream_t *hu)
{
    ngx_queue_t                     *q;
    ngx_connection_t                *c;
    ngx_http_request_t              *r;
    ngx_http_helicone_dns_waiter_t  *w;

    while (!ngx_queue_empty(&hu->waiters)) {
        q = ngx_queue_head(&hu->waiters);
        ngx_queue_remove(q);

        w = ngx_queue_data(q, ngx_http_helicone_dns_waiter_t, queue);
        w->waiting = 0;

        r = w->request;
        c = r->connection;

        r->write_event_handler = ngx_http_core_run_phases;
        ngx_http_core_run_phases(r);

        ngx_http_run_posted_requests(c);
    }
}
