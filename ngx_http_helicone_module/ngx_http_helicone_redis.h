/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The Redis client: its interface, for store_redis.c, and its own parts,
 * seen only by its files: the connection (redis.c), its configuration
 * (redis_conf.c), TLS on it (redis_tls.c), the master's address from
 * Sentinel (redis_sentinel.c) and the nodes of a Cluster
 * (redis_cluster.c).
 */

#ifndef _NGX_HTTP_HELICONE_REDIS_H_INCLUDED_
#define _NGX_HTTP_HELICONE_REDIS_H_INCLUDED_


#include "ngx_http_helicone_module.h"


/* reply types, as Redis names them */
#define NGX_HTTP_HELICONE_REDIS_STRING    1
#define NGX_HTTP_HELICONE_REDIS_ARRAY     2
#define NGX_HTTP_HELICONE_REDIS_INTEGER   3
#define NGX_HTTP_HELICONE_REDIS_NIL       4
#define NGX_HTTP_HELICONE_REDIS_STATUS    5
#define NGX_HTTP_HELICONE_REDIS_ERROR     6


typedef struct ngx_http_helicone_redis_s        ngx_http_helicone_redis_t;
typedef struct ngx_http_helicone_redis_op_s     ngx_http_helicone_redis_op_t;
typedef struct ngx_http_helicone_redis_reply_s  ngx_http_helicone_redis_reply_t;


/* an answer from Redis, valid during the handler's call only */
struct ngx_http_helicone_redis_reply_s {
    ngx_uint_t                         type;     /* NGX_HTTP_HELICONE_REDIS_* */
    int64_t                            integer;
    ngx_str_t                          str;      /* string, status, error */
    ngx_uint_t                         nelts;
    ngx_http_helicone_redis_reply_t   *elts;     /* one level deep */
};


/* reply NULL: no answer came (timeout, connection lost) */
typedef void (*ngx_http_helicone_redis_handler_pt)(void *data,
    ngx_http_helicone_redis_reply_t *reply);


typedef struct {
    ngx_str_t                          text;
    u_char                             sha1[40];  /* hex */
} ngx_http_helicone_redis_script_t;


/*
 * The client as store_redis.c uses it. create: an empty client in
 * cf->pool (NULL: no memory), whose parameters follow one by one:
 * param() NGX_OK when value was one (kept), NGX_DECLINED when it is not,
 * NGX_ERROR when given twice or empty (logged); then configure():
 * NGX_CONF_OK, or what is wrong.
 */
ngx_http_helicone_redis_t *ngx_http_helicone_redis_create(ngx_conf_t *cf);
ngx_int_t ngx_http_helicone_redis_param(ngx_conf_t *cf,
    ngx_http_helicone_redis_t *redis, ngx_str_t *value);
char *ngx_http_helicone_redis_configure(ngx_conf_t *cf,
    ngx_http_helicone_redis_t *redis);

/* a Lua script loaded on every connect, in cf->pool; NULL: no memory */
ngx_http_helicone_redis_script_t *ngx_http_helicone_redis_script(
    ngx_conf_t *cf, ngx_http_helicone_redis_t *redis, ngx_str_t *text);

/* the worker's connection: NGX_OK or NGX_ERROR (the worker ends) */
ngx_int_t ngx_http_helicone_redis_init_worker(
    ngx_http_helicone_redis_t *redis, ngx_cycle_t *cycle);
void ngx_http_helicone_redis_exit_worker(ngx_http_helicone_redis_t *redis);

/*
 * Queues a command (argv copied). NGX_AGAIN: handler(data, reply) is
 * called once, from an event handler, never from here; *opp set for
 * cancel(). NGX_ERROR: Redis is unreachable or the queue is full;
 * nothing is called. eval(): EVALSHA script nkeys argv..., the same.
 */
ngx_int_t ngx_http_helicone_redis_command(ngx_http_helicone_redis_t *redis,
    ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_helicone_redis_handler_pt handler, void *data,
    ngx_http_helicone_redis_op_t **opp);
ngx_int_t ngx_http_helicone_redis_eval(ngx_http_helicone_redis_t *redis,
    ngx_http_helicone_redis_script_t *script, ngx_uint_t nkeys,
    ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_helicone_redis_handler_pt handler, void *data,
    ngx_http_helicone_redis_op_t **opp);

/* from a request's cleanup: the answer, when it comes, is dropped */
void ngx_http_helicone_redis_cancel(ngx_http_helicone_redis_op_t *op);


/* the rest is the client's own, seen by its files only */


typedef struct ngx_http_helicone_redis_sentinel_s
    ngx_http_helicone_redis_sentinel_t;
typedef struct ngx_http_helicone_redis_cluster_s
    ngx_http_helicone_redis_cluster_t;


/* what every connection of one helicone_store redis shares */
typedef struct {
    ngx_str_t                            url;        /* no credentials */
    ngx_str_t                            url_param;  /* as configured */
    ngx_str_t                            password_param;
    ngx_str_t                            timeout_param;
    ngx_str_t                            sentinels_param;
    ngx_str_t                            sentinel_password_param;
    ngx_str_t                            sentinel_password;
    ngx_str_t                            cluster_param;
    ngx_str_t                            user;       /* empty: no user */
    ngx_str_t                            password;   /* empty: no AUTH */
    ngx_uint_t                           db;
    ngx_msec_t                           timeout;
    ngx_array_t                          scripts;    /* script pointers */

    ngx_ssl_t                           *ssl;        /* NULL: plain TCP */
    ngx_str_t                            tls_name;   /* null-terminated */
    ngx_str_t                            tls_ca;
    ngx_str_t                            tls_cert;
    ngx_str_t                            tls_key;
} ngx_http_helicone_redis_conf_t;


/* one connection to one server, and the worker's state of it */
struct ngx_http_helicone_redis_s {
    ngx_http_helicone_redis_conf_t      *conf;
    ngx_addr_t                           addr;
    ngx_addr_t                          *addrs;      /* tried in turn */
    ngx_uint_t                           naddrs;
    ngx_uint_t                           next;
    ngx_http_helicone_redis_sentinel_t  *sentinel;   /* NULL: addr fixed */
    ngx_http_helicone_redis_cluster_t   *cluster;    /* NULL: one server */
    ngx_sockaddr_t                       sockaddr;   /* addr, when learnt */
    u_char                               name[NGX_SOCKADDR_STRLEN];

    /* the worker's, from init_worker on */
    ngx_connection_t                    *connection; /* NULL: closed */
    ngx_peer_connection_t                peer;
    struct redisReader                  *reader;
    ngx_queue_t                          ops;        /* sent or to send */
    ngx_queue_t                          free;       /* ops to reuse */
    ngx_uint_t                           nops;
    ngx_uint_t                           handshake;  /* answers awaited */
    u_char                              *out;        /* bytes to send */
    size_t                               out_len;
    size_t                               out_sent;
    size_t                               out_handshake; /* its bytes, first */
    size_t                               out_size;
    ngx_event_t                          timer;      /* earliest deadline */
    ngx_event_t                          reconnect;
    ngx_msec_t                           backoff;
    ngx_ssl_session_t                   *ssl_session; /* to resume */
    ngx_log_t                            log;        /* of the connection */
    time_t                               logged;     /* last trouble told */
    ngx_uint_t                           failed;     /* ops, since then */
    ngx_uint_t                           failed_total;
    unsigned                             connected:1; /* TCP is up */
    unsigned                             ready:1;    /* handshake done */
    unsigned                             trouble:1;  /* since last ready */
    unsigned                             told:1;     /* trouble was logged */
    unsigned                             running:1;  /* init_worker ran */
    unsigned                             aux:1;      /* to a sentinel */
    unsigned                             node:1;     /* learnt, not seed */
};


/*
 * redis_conf.c: an address as Sentinel and Cluster announce it into
 * addr (allocated in pool). NGX_OK; NGX_ERROR: not an ip and port.
 */
ngx_int_t ngx_http_helicone_redis_parse_addr(ngx_pool_t *pool,
    ngx_str_t *ip, ngx_str_t *port, ngx_addr_t *addr);

/*
 * redis.c, for the files below: connect_to() a server learnt at run
 * time, now; retry() after the backoff; direct() a command to this very
 * server, as command() does (NGX_AGAIN or NGX_ERROR).
 */
void ngx_http_helicone_redis_connect_to(ngx_http_helicone_redis_t *redis,
    ngx_addr_t *addr);
void ngx_http_helicone_redis_retry(ngx_http_helicone_redis_t *redis,
    const char *why);
ngx_int_t ngx_http_helicone_redis_direct(ngx_http_helicone_redis_t *redis,
    ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_helicone_redis_handler_pt handler, void *data);

/*
 * redis_sentinel.c: conf() resolves sentinels=host:port,... now (NGX_OK;
 * NGX_ERROR, logged); locate(), before a connect to the master: NGX_OK,
 * its address is fresh; NGX_AGAIN, a sentinel is asked and the answer
 * connects; NGX_ERROR, none can be asked now. stale(): ask again.
 */
ngx_int_t ngx_http_helicone_redis_sentinel_conf(ngx_conf_t *cf,
    ngx_http_helicone_redis_t *master, ngx_str_t *sentinels,
    ngx_str_t *master_name);
ngx_int_t ngx_http_helicone_redis_sentinel_init_worker(
    ngx_http_helicone_redis_sentinel_t *s, ngx_cycle_t *cycle);
void ngx_http_helicone_redis_sentinel_exit_worker(
    ngx_http_helicone_redis_sentinel_t *s);
void ngx_http_helicone_redis_sentinel_stale(
    ngx_http_helicone_redis_sentinel_t *s);
ngx_int_t ngx_http_helicone_redis_sentinel_locate(
    ngx_http_helicone_redis_sentinel_t *s);

/*
 * redis_cluster.c: conf() and init_worker() NGX_OK or NGX_ERROR; route()
 * the node that serves key (the seed while the map is unknown); node()
 * the node at addr, known or a new connection, NULL: no memory; stale()
 * asks for the map again; moved() gives a slot to a node.
 */
ngx_int_t ngx_http_helicone_redis_cluster_conf(ngx_conf_t *cf,
    ngx_http_helicone_redis_t *seed);
ngx_int_t ngx_http_helicone_redis_cluster_init_worker(
    ngx_http_helicone_redis_cluster_t *cl, ngx_cycle_t *cycle);
void ngx_http_helicone_redis_cluster_exit_worker(
    ngx_http_helicone_redis_cluster_t *cl);
ngx_http_helicone_redis_t *ngx_http_helicone_redis_cluster_route(
    ngx_http_helicone_redis_cluster_t *cl, ngx_str_t *key);
ngx_http_helicone_redis_t *ngx_http_helicone_redis_cluster_node(
    ngx_http_helicone_redis_cluster_t *cl, ngx_addr_t *addr);
void ngx_http_helicone_redis_cluster_stale(
    ngx_http_helicone_redis_cluster_t *cl);
void ngx_http_helicone_redis_cluster_moved(
    ngx_http_helicone_redis_cluster_t *cl, ngx_uint_t slot,
    ngx_http_helicone_redis_t *node);

/*
 * redis_tls.c: init() the client context in cf (NGX_OK; NGX_ERROR,
 * logged); start() makes c a TLS client, returning what
 * ngx_ssl_handshake() does; verify(): NULL when the certificate chains
 * and names the host, else why not (static); close() frees the SSL
 * object without a close_notify.
 */
ngx_int_t ngx_http_helicone_redis_tls_init(ngx_conf_t *cf,
    ngx_http_helicone_redis_conf_t *rc);
ngx_int_t ngx_http_helicone_redis_tls_start(
    ngx_http_helicone_redis_conf_t *rc, ngx_connection_t *c,
    ngx_ssl_session_t *session);
const char *ngx_http_helicone_redis_tls_verify(ngx_connection_t *c);
void ngx_http_helicone_redis_tls_close(ngx_connection_t *c);


#endif /* _NGX_HTTP_HELICONE_REDIS_H_INCLUDED_ */
