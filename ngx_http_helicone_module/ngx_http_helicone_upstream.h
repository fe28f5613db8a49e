/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Provider connections: one nginx upstream per provider origin, whose
 * addresses come from DNS at run time (dns.c) and whose connections are
 * kept alive per worker (balancer.c).
 */

#ifndef _NGX_HTTP_HELICONE_UPSTREAM_H_INCLUDED_
#define _NGX_HTTP_HELICONE_UPSTREAM_H_INCLUDED_


#include "ngx_http_helicone_module.h"


#define NGX_HTTP_HELICONE_DNS_WAIT_MAX  5000  /* ms, a lookup at most */
#define NGX_HTTP_HELICONE_DNS_RETRY     10    /* s, after a failed one */
#define NGX_HTTP_HELICONE_DNS_MIN_TTL   1     /* s, a TTL of 0 */
#define NGX_HTTP_HELICONE_DNS_ADDRS     16    /* addresses kept per name */
#define NGX_HTTP_HELICONE_DNS_STALE     60    /* s past expiry at most, idle */


typedef struct {
    ngx_uint_t                     keepalive;    /* idle connections kept */
    ngx_msec_t                     keepalive_timeout; /* idle at most */
    ngx_uint_t                     keepalive_requests;
    ngx_msec_t                     keepalive_time; /* a connection's life */
    ngx_uint_t                     max_fails;
    time_t                         fail_timeout;
} ngx_http_helicone_upstream_conf_t;


/* one address of a provider's name */

typedef struct {
    ngx_sockaddr_t                 sockaddr;
    socklen_t                      socklen;
    ngx_str_t                      name;         /* "addr:port" */
    u_char                         text[NGX_SOCKADDR_STRLEN];
    ngx_uint_t                     fails;
    time_t                         failed;       /* its last failure */
#if (NGX_HTTP_SSL)
    ngx_ssl_session_t             *ssl_session;  /* resumed next time */
#endif
} ngx_http_helicone_peer_t;


typedef struct ngx_http_helicone_idle_s  ngx_http_helicone_idle_t;


typedef struct ngx_http_helicone_upstream_s {
    ngx_str_t                      origin;       /* scheme://host[:port] */
    ngx_str_t                      host;         /* as proxy_pass sees it */
    in_port_t                      port;
    ngx_http_upstream_srv_conf_t  *uscf;
    ngx_http_helicone_upstream_conf_t  conf;

    ngx_resolver_t                *resolver;     /* NULL: an IP address */
    ngx_msec_t                     resolver_timeout;

    /* per worker, at run time */
    ngx_http_helicone_peer_t      *peers;        /* ngx_alloc()ed */
    ngx_uint_t                     npeers;
    ngx_uint_t                     next;         /* round robin */
    time_t                         expires;      /* 0: never resolved */
    time_t                         ttl;          /* of the last answer */
    time_t                         dns_logged;   /* last failure told */
    ngx_queue_t                    waiters;      /* for a first answer */
    ngx_queue_t                    idle;         /* most recent first */
    ngx_queue_t                    free;
    ngx_http_helicone_idle_t      *items;        /* conf.keepalive of them */
    unsigned                       resolving:1;
} ngx_http_helicone_upstream_t;


extern ngx_module_t  ngx_http_helicone_upstream_module;


/* balancer.c: the upstream's init_peer; NGX_OK, NGX_ERROR: no memory */
ngx_int_t ngx_http_helicone_balancer_init_peer(ngx_http_request_t *r,
    ngx_http_upstream_srv_conf_t *us);

/* the peer of this address, in hu's peers; NULL: none */
ngx_http_helicone_peer_t *ngx_http_helicone_balancer_peer(
    ngx_http_helicone_upstream_t *hu, struct sockaddr *sockaddr,
    socklen_t socklen);

/* new addresses: connections kept to one no longer named close */
void ngx_http_helicone_balancer_peers_changed(
    ngx_http_helicone_upstream_t *hu);

/*
 * dns.c: the resolver for provider names, http{}'s or one made from
 * resolv_conf (cf->pool). NGX_OK; NGX_ERROR, logged.
 */
ngx_int_t ngx_http_helicone_dns_resolver(ngx_conf_t *cf,
    ngx_str_t *resolv_conf, ngx_resolver_t **resolver, ngx_msec_t *timeout);

/*
 * An origin whose host is an IP address (or "localhost"): one peer for
 * good, NGX_OK. NGX_DECLINED: a name, for DNS; NGX_ERROR: no memory.
 */
ngx_int_t ngx_http_helicone_dns_literal(ngx_conf_t *cf,
    ngx_http_helicone_upstream_t *hu);

/*
 * Before an attempt connects: NGX_OK, the name has addresses; NGX_AGAIN,
 * the request waits for an answer (the phase handler runs it again);
 * NGX_DECLINED, the name could not be resolved; NGX_ERROR.
 */
ngx_int_t ngx_http_helicone_dns_wait(ngx_http_request_t *r,
    ngx_http_helicone_upstream_t *hu);

/* a lookup if the addresses expired (or there are none) and none runs */
void ngx_http_helicone_dns_refresh(ngx_http_helicone_upstream_t *hu);

/* a new address set into hu's peers (ngx_alloc()ed), what each learnt kept */
void ngx_http_helicone_dns_set_peers(ngx_http_helicone_upstream_t *hu,
    ngx_resolver_addr_t *addrs, ngx_uint_t naddrs, ngx_log_t *log);


#endif /* _NGX_HTTP_HELICONE_UPSTREAM_H_INCLUDED_ */
