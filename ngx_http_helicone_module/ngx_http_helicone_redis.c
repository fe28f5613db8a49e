/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * A Redis client inside the worker's event loop, and the only file that
 * knows the wire format: one connection per worker, opened and read with
 * nginx's own events; hiredis only formats commands and parses replies.
 * Operations wait in one FIFO (Redis answers in order), go out pipelined,
 * and share one timer on the earliest deadline. A timeout or an error
 * fails every pending operation and closes the connection; it is opened
 * again after a backoff, and meanwhile operations fail at once.
 */

#include "ngx_http_helicone_redis.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>


#define NGX_HTTP_HELICONE_REDIS_MAX_ARGS     48
#define NGX_HTTP_HELICONE_REDIS_MAX_PENDING  4096
#define NGX_HTTP_HELICONE_REDIS_MAX_OUT      (64 * 1024 * 1024)
#define NGX_HTTP_HELICONE_REDIS_BACKOFF_MIN  50
#define NGX_HTTP_HELICONE_REDIS_BACKOFF_MAX  3000
#define NGX_HTTP_HELICONE_REDIS_ELTS         32


struct ngx_http_helicone_redis_op_s {
    ngx_queue_t                          queue;      /* FIFO, or free */
    ngx_http_helicone_redis_handler_pt   handler;    /* NULL: no answer */
    void                                *data;       /* NULL: cancelled */
    ngx_msec_t                           deadline;   /* ngx_current_msec */
    ngx_http_helicone_redis_script_t    *script;     /* EVALSHA, to retry */
    char                                *cmd;        /* kept for the retry */
    size_t                               len;
    unsigned                             handshake:1;
    unsigned                             role:1;     /* ROLE, a handshake's */
    unsigned                             redirects:3; /* MOVED, ASK */
};




static ngx_int_t ngx_http_helicone_redis_queue(
    ngx_http_helicone_redis_t *redis, ngx_uint_t argc, const char **argv,
    size_t *lens, ngx_http_helicone_redis_script_t *script,
    ngx_http_helicone_redis_handler_pt handler, void *data,
    ngx_http_helicone_redis_op_t **opp, ngx_uint_t handshake);
static void ngx_http_helicone_redis_enqueue(ngx_http_helicone_redis_t *redis,
    ngx_http_helicone_redis_op_t *op);
static ngx_int_t ngx_http_helicone_redis_append(
    ngx_http_helicone_redis_t *redis, char *cmd, size_t len);
static void ngx_http_helicone_redis_post_write(
    ngx_http_helicone_redis_t *redis);
static void ngx_http_helicone_redis_connect(ngx_http_helicone_redis_t *redis);
static ngx_http_helicone_redis_op_t *ngx_http_helicone_redis_handshake_op(
    ngx_http_helicone_redis_t *redis, ngx_uint_t argc, const char **argv,
    size_t *lens);
static void ngx_http_helicone_redis_tls_handshake(
    ngx_http_helicone_redis_t *redis, ngx_connection_t *c);
static void ngx_http_helicone_redis_tls_handshaked(ngx_connection_t *c);
static void ngx_http_helicone_redis_tls_save_session(ngx_connection_t *c);
static void ngx_http_helicone_redis_write_handler(ngx_event_t *wev);
static void ngx_http_helicone_redis_read_handler(ngx_event_t *rev);
static ngx_int_t ngx_http_helicone_redis_replies(
    ngx_http_helicone_redis_t *redis, ngx_connection_t *c);
static ngx_int_t ngx_http_helicone_redis_redirect(
    ngx_http_helicone_redis_t *redis, ngx_http_helicone_redis_op_t *op,
    redisReply *reply);
static ngx_int_t ngx_http_helicone_redis_noscript(
    ngx_http_helicone_redis_t *redis, ngx_http_helicone_redis_op_t *op);
static void ngx_http_helicone_redis_dispatch(ngx_http_helicone_redis_t *redis,
    ngx_http_helicone_redis_op_t *op, redisReply *reply);
static void ngx_http_helicone_redis_handshake_done(
    ngx_http_helicone_redis_t *redis, redisReply *reply, ngx_uint_t role);
static void ngx_http_helicone_redis_convert(redisReply *reply,
    ngx_http_helicone_redis_reply_t *out);
static ngx_uint_t ngx_http_helicone_redis_nested(redisReply *reply);
static void ngx_http_helicone_redis_convert_all(redisReply *reply,
    ngx_http_helicone_redis_reply_t *r, ngx_http_helicone_redis_op_t *op,
    ngx_http_helicone_redis_t *redis);
static ngx_int_t ngx_http_helicone_redis_convert_tree(redisReply *reply,
    ngx_http_helicone_redis_reply_t *r, ngx_pool_t *pool);
static void ngx_http_helicone_redis_timer_handler(ngx_event_t *ev);
static void ngx_http_helicone_redis_reconnect_handler(ngx_event_t *ev);
static void ngx_http_helicone_redis_failure(ngx_http_helicone_redis_t *redis,
    ngx_err_t err, const char *what);
static void ngx_http_helicone_redis_close(ngx_http_helicone_redis_t *redis,
    ngx_uint_t notify);
static void ngx_http_helicone_redis_free_op(ngx_http_helicone_redis_t *redis,
    ngx_http_helicone_redis_op_t *op);
static void ngx_http_helicone_redis_trouble(ngx_http_helicone_redis_t *redis,
    ngx_uint_t level, ngx_err_t err, const char *what, ngx_str_t *detail);


static u_char  ngx_http_helicone_redis_buf[65536];


/*
 * A Lua script the connection loads on every connect: operations then
 * name it by its SHA-1 (EVALSHA), and fall back to EVAL on NOSCRIPT.
 */

ngx_http_helicone_redis_script_t *
ngx_http_helicone_redis_script(ngx_conf_t *cf,
    ngx_http_helicone_redis_t *redis, ngx_str_t *text)
{
    u_char                             sha[SHA_DIGEST_LENGTH];
    ngx_http_helicone_redis_script_t  *s, **p;

    s = ngx_pcalloc(cf->pool, sizeof(ngx_http_helicone_redis_script_t));
    if (s == NULL) {
        return NULL;
    }

    p = ngx_array_push(&redis->conf->scripts);
    if (p == NULL) {
        return NULL;
    }

    *p = s;

    s->text = *text;

    SHA1(text->data, text->len, sha);
    ngx_hex_dump(s->sha1, sha, SHA_DIGEST_LENGTH);

    return s;
}


ngx_int_t
ngx_http_helicone_redis_init_worker(ngx_http_helicone_redis_t *redis,
    ngx_cycle_t *cycle)
{
    redis->log = *cycle->log;

    /*
     * nginx's own connect(), recv() and SSL messages (a refused client
     * certificate is a [crit] SSL_read() there) would come on every try:
     * ours say it once per interval. No debug bits either: with them
     * every level passes. Our own debug messages go to the cycle's log.
     */
    redis->log.log_level = NGX_LOG_ALERT;
    redis->log.next = NULL;

    ngx_queue_init(&redis->ops);
    ngx_queue_init(&redis->free);

    redis->timer.handler = ngx_http_helicone_redis_timer_handler;
    redis->timer.data = redis;
    redis->timer.log = cycle->log;

    redis->reconnect.handler = ngx_http_helicone_redis_reconnect_handler;
    redis->reconnect.data = redis;
    redis->reconnect.log = cycle->log;
    redis->reconnect.cancelable = 1;

    redis->backoff = NGX_HTTP_HELICONE_REDIS_BACKOFF_MIN;
    redis->running = 1;

    if (redis->sentinel
        && ngx_http_helicone_redis_sentinel_init_worker(redis->sentinel,
                                                        cycle)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_helicone_redis_connect(redis);

    if (redis->cluster && !redis->node
        && ngx_http_helicone_redis_cluster_init_worker(redis->cluster, cycle)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* The worker exits: no answers are waited for, no handler is called. */

void
ngx_http_helicone_redis_exit_worker(ngx_http_helicone_redis_t *redis)
{
    ngx_queue_t                   *q;
    ngx_http_helicone_redis_op_t  *op;

    if (!redis->running) {
        return;
    }

    redis->running = 0;

    ngx_http_helicone_redis_close(redis, 0);

    if (redis->sentinel) {
        ngx_http_helicone_redis_sentinel_exit_worker(redis->sentinel);
    }

    if (redis->cluster && !redis->node) {
        ngx_http_helicone_redis_cluster_exit_worker(redis->cluster);
    }

    if (redis->reconnect.timer_set) {
        ngx_del_timer(&redis->reconnect);
    }

    while (!ngx_queue_empty(&redis->free)) {
        q = ngx_queue_head(&redis->free);
        ngx_queue_remove(q);
        op = ngx_queue_data(q, ngx_http_helicone_redis_op_t, queue);
        ngx_free(op);
    }

    if (redis->out) {
        ngx_free(redis->out);
        redis->out = NULL;
    }

    if (redis->ssl_session) {
        ngx_ssl_free_session(redis->ssl_session);
        redis->ssl_session = NULL;
    }
}


/*
 * Queues a command. NGX_AGAIN: handler(data, reply) is called once, from
 * an event handler, never from here; a NULL reply means no answer came
 * (timeout, connection lost). NGX_ERROR: Redis is unreachable or the
 * queue is full; nothing is called. argv is copied.
 */

ngx_int_t
ngx_http_helicone_redis_command(ngx_http_helicone_redis_t *redis,
    ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_helicone_redis_handler_pt handler, void *data,
    ngx_http_helicone_redis_op_t **opp)
{
    size_t       lens[NGX_HTTP_HELICONE_REDIS_MAX_ARGS];
    ngx_uint_t   i;
    const char  *args[NGX_HTTP_HELICONE_REDIS_MAX_ARGS];

    if (argc > NGX_HTTP_HELICONE_REDIS_MAX_ARGS) {
        return NGX_ERROR;
    }

    for (i = 0; i < argc; i++) {
        args[i] = (const char *) argv[i].data;
        lens[i] = argv[i].len;
    }

    if (redis->cluster && argc > 1) {
        /* our commands name their key first: GET key, MGET keys... */
        redis = ngx_http_helicone_redis_cluster_route(redis->cluster,
                                                      &argv[1]);
    }

    return ngx_http_helicone_redis_queue(redis, argc, args, lens, NULL,
                                         handler, data, opp, 0);
}


/* A command to this very server, a Cluster's node or not. */

ngx_int_t
ngx_http_helicone_redis_direct(ngx_http_helicone_redis_t *redis,
    ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_helicone_redis_handler_pt handler, void *data)
{
    ngx_int_t                           rc;
    ngx_http_helicone_redis_cluster_t  *cluster;

    cluster = redis->cluster;
    redis->cluster = NULL;

    rc = ngx_http_helicone_redis_command(redis, argc, argv, handler, data,
                                         NULL);
    redis->cluster = cluster;

    return rc;
}


/* EVALSHA script nkeys argv...: as ngx_http_helicone_redis_command(). */

ngx_int_t
ngx_http_helicone_redis_eval(ngx_http_helicone_redis_t *redis,
    ngx_http_helicone_redis_script_t *script, ngx_uint_t nkeys,
    ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_helicone_redis_handler_pt handler, void *data,
    ngx_http_helicone_redis_op_t **opp)
{
    u_char       n[NGX_INT_T_LEN];
    size_t       lens[NGX_HTTP_HELICONE_REDIS_MAX_ARGS];
    ngx_uint_t   i;
    const char  *args[NGX_HTTP_HELICONE_REDIS_MAX_ARGS];

    if (argc + 3 > NGX_HTTP_HELICONE_REDIS_MAX_ARGS) {
        return NGX_ERROR;
    }

    args[0] = "EVALSHA";
    lens[0] = 7;
    args[1] = (const char *) script->sha1;
    lens[1] = 40;
    args[2] = (const char *) n;
    lens[2] = ngx_sprintf(n, "%ui", nkeys) - n;

    for (i = 0; i < argc; i++) {
        args[i + 3] = (const char *) argv[i].data;
        lens[i + 3] = argv[i].len;
    }

    if (redis->cluster && nkeys) {
        redis = ngx_http_helicone_redis_cluster_route(redis->cluster,
                                                      &argv[0]);
    }

    return ngx_http_helicone_redis_queue(redis, argc + 3, args, lens, script,
                                         handler, data, opp, 0);
}


/* From the request's cleanup: the answer, when it comes, is dropped. */

void
ngx_http_helicone_redis_cancel(ngx_http_helicone_redis_op_t *op)
{
    op->data = NULL;
}


static ngx_int_t
ngx_http_helicone_redis_queue(ngx_http_helicone_redis_t *redis,
    ngx_uint_t argc, const char **argv, size_t *lens,
    ngx_http_helicone_redis_script_t *script,
    ngx_http_helicone_redis_handler_pt handler, void *data,
    ngx_http_helicone_redis_op_t **opp, ngx_uint_t handshake)
{
    int                            len;
    char                          *cmd;
    ngx_queue_t                   *q;
    ngx_http_helicone_redis_op_t  *op;

    if (redis->connection == NULL) {
        redis->failed++;
        redis->failed_total++;
        ngx_http_helicone_metrics_count(NGX_HTTP_HELICONE_REDIS_FAILED);
        ngx_http_helicone_redis_trouble(redis, NGX_LOG_ERR, 0,
                                        "is unreachable", NULL);
        return NGX_ERROR;
    }

    if (redis->nops >= NGX_HTTP_HELICONE_REDIS_MAX_PENDING
        || redis->out_len > NGX_HTTP_HELICONE_REDIS_MAX_OUT)
    {
        redis->failed++;
        redis->failed_total++;
        ngx_http_helicone_metrics_count(NGX_HTTP_HELICONE_REDIS_FAILED);
        ngx_http_helicone_redis_trouble(redis, NGX_LOG_ERR, 0,
                                        "is too slow: too many operations "
                                        "pending", NULL);
        return NGX_ERROR;
    }

    len = redisFormatCommandArgv(&cmd, (int) argc, argv, lens);
    if (len < 0) {
        return NGX_ERROR;
    }

    if (ngx_http_helicone_redis_append(redis, cmd, len) != NGX_OK) {
        redisFreeCommand(cmd);
        return NGX_ERROR;
    }

    if (!ngx_queue_empty(&redis->free)) {
        q = ngx_queue_head(&redis->free);
        ngx_queue_remove(q);
        op = ngx_queue_data(q, ngx_http_helicone_redis_op_t, queue);

    } else {
        op = ngx_alloc(sizeof(ngx_http_helicone_redis_op_t), &redis->log);
        if (op == NULL) {
            /* the command is out: its answer must find an op */
            redis->out_len -= len;
            redisFreeCommand(cmd);
            return NGX_ERROR;
        }
    }

    op->handler = handler;
    op->data = data;
    op->deadline = ngx_current_msec + redis->conf->timeout;
    op->script = script;
    op->handshake = handshake;
    op->role = 0;

    op->redirects = 0;

    if (script || redis->cluster) {
        /* kept: sent again with EVAL on NOSCRIPT, or to another node */
        op->cmd = cmd;
        op->len = len;

    } else {
        op->cmd = NULL;
        redisFreeCommand(cmd);
    }

    ngx_http_helicone_redis_enqueue(redis, op);

    if (opp) {
        *opp = op;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "helicone redis: queued %*s, %ui pending",
                   ngx_min(lens[0], 16), argv[0], redis->nops);

    return NGX_AGAIN;
}


/* The op's command is in the output: its answer is awaited. */

static void
ngx_http_helicone_redis_enqueue(ngx_http_helicone_redis_t *redis,
    ngx_http_helicone_redis_op_t *op)
{
    ngx_queue_insert_tail(&redis->ops, &op->queue);
    redis->nops++;

    if (!redis->timer.timer_set) {
        ngx_add_timer(&redis->timer, redis->conf->timeout);
    }

    ngx_http_helicone_redis_post_write(redis);
}


static ngx_int_t
ngx_http_helicone_redis_append(ngx_http_helicone_redis_t *redis, char *cmd,
    size_t len)
{
    u_char  *p;
    size_t   size;

    if (redis->out_sent && redis->out_sent == redis->out_len) {
        /* all sent, the handshake's commands included */
        redis->out_sent = 0;
        redis->out_len = 0;
        redis->out_handshake = 0;
    }

    if (redis->out_len + len > redis->out_size) {
        size = ngx_max(redis->out_size * 2, 16384);

        while (size < redis->out_len + len) {
            size *= 2;
        }

        p = ngx_alloc(size, &redis->log);
        if (p == NULL) {
            return NGX_ERROR;
        }

        if (redis->out) {
            ngx_memcpy(p, redis->out, redis->out_len);
            ngx_free(redis->out);
        }

        redis->out = p;
        redis->out_size = size;
    }

    ngx_memcpy(redis->out + redis->out_len, cmd, len);
    redis->out_len += len;

    return NGX_OK;
}


/* All commands queued in this turn of the event loop go in one send(). */

static void
ngx_http_helicone_redis_post_write(ngx_http_helicone_redis_t *redis)
{
    ngx_connection_t  *c;

    c = redis->connection;

    if (c && redis->connected && (c->ssl == NULL || c->ssl->handshaked)
        && !c->write->posted)
    {
        ngx_post_event(c->write, &ngx_posted_events);
    }
}


static void
ngx_http_helicone_redis_connect(ngx_http_helicone_redis_t *redis)
{
    size_t                              lens[3];
    u_char                              n[NGX_INT_T_LEN];
    ngx_int_t                           rc;
    ngx_err_t                           err;
    ngx_uint_t                          i;
    const char                         *args[3];
    ngx_connection_t                   *c;
    ngx_http_helicone_redis_op_t       *op;
    ngx_http_helicone_redis_script_t  **scripts;

    if (redis->sentinel) {
        rc = ngx_http_helicone_redis_sentinel_locate(redis->sentinel);

        if (rc == NGX_AGAIN) {
            /* the answer connects */
            return;
        }

        if (rc == NGX_ERROR) {
            ngx_http_helicone_redis_failure(redis, 0,
                                            "has no sentinel to ask");
            return;
        }
    }

    ngx_memzero(&redis->peer, sizeof(ngx_peer_connection_t));

    redis->peer.sockaddr = redis->addr.sockaddr;
    redis->peer.socklen = redis->addr.socklen;
    redis->peer.name = &redis->addr.name;
    redis->peer.get = ngx_event_get_peer;
    redis->peer.log = &redis->log;
    redis->peer.log_error = NGX_ERROR_INFO;

    rc = ngx_event_connect_peer(&redis->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        err = ngx_socket_errno;
        redis->connection = NULL;
        ngx_http_helicone_redis_failure(redis, err, "connect() failed");
        return;
    }

    c = redis->peer.connection;

    c->data = redis;
    c->read->handler = ngx_http_helicone_redis_read_handler;
    c->write->handler = ngx_http_helicone_redis_write_handler;

    redis->connection = c;
    redis->connected = 0;

    if (rc == NGX_OK) {
        /* connected at once: the write handler goes on from there */
        ngx_post_event(c->write, &ngx_posted_events);
    }

    redis->ready = 0;
    redis->handshake = 0;
    redis->out_len = 0;
    redis->out_sent = 0;
    redis->out_handshake = 0;

    redis->reader = redisReaderCreate();
    if (redis->reader == NULL) {
        ngx_http_helicone_redis_failure(redis, 0, "has no reader");
        return;
    }

    /* the handshake goes first; operations queued meanwhile follow it */

    if (redis->conf->password.len) {
        /* AUTH [user] password: an ACL user, or "default" */
        i = 0;
        args[i] = "AUTH";
        lens[i++] = 4;

        if (redis->conf->user.len) {
            args[i] = (const char *) redis->conf->user.data;
            lens[i++] = redis->conf->user.len;
        }

        args[i] = (const char *) redis->conf->password.data;
        lens[i++] = redis->conf->password.len;

        op = ngx_http_helicone_redis_handshake_op(redis, i, args, lens);
        if (op == NULL) {
            goto failed;
        }
    }

    if (redis->conf->db) {
        args[0] = "SELECT";
        lens[0] = 6;
        args[1] = (const char *) n;
        lens[1] = ngx_sprintf(n, "%ui", redis->conf->db) - n;

        op = ngx_http_helicone_redis_handshake_op(redis, 2, args, lens);
        if (op == NULL) {
            goto failed;
        }
    }

    if (redis->sentinel) {
        /* Sentinel's answer may be stale: the server says what it is */
        args[0] = "ROLE";
        lens[0] = 4;

        op = ngx_http_helicone_redis_handshake_op(redis, 1, args, lens);
        if (op == NULL) {
            goto failed;
        }

        op->role = 1;
    }

    scripts = redis->conf->scripts.elts;

    for (i = 0; i < redis->conf->scripts.nelts; i++) {
        args[0] = "SCRIPT";
        lens[0] = 6;
        args[1] = "LOAD";
        lens[1] = 4;
        args[2] = (const char *) scripts[i]->text.data;
        lens[2] = scripts[i]->text.len;

        op = ngx_http_helicone_redis_handshake_op(redis, 3, args, lens);
        if (op == NULL) {
            goto failed;
        }
    }

    if (redis->handshake == 0) {
        args[0] = "PING";
        lens[0] = 4;

        op = ngx_http_helicone_redis_handshake_op(redis, 1, args, lens);
        if (op == NULL) {
            goto failed;
        }
    }

    /* operations queued from now on wait for the handshake's answers */
    redis->out_handshake = redis->out_len;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "helicone redis: connecting to %V", &redis->addr.name);

    /* NGX_AGAIN: the write event tells when; the handshake's deadline
     * bounds the wait */
    return;

failed:

    ngx_http_helicone_redis_failure(redis, 0, "cannot queue the handshake");
}


/* One command of the handshake, queued first: its answer is awaited. */

static ngx_http_helicone_redis_op_t *
ngx_http_helicone_redis_handshake_op(ngx_http_helicone_redis_t *redis,
    ngx_uint_t argc, const char **argv, size_t *lens)
{
    if (ngx_http_helicone_redis_queue(redis, argc, argv, lens, NULL, NULL,
                                      NULL, NULL, 1)
        != NGX_AGAIN)
    {
        return NULL;
    }

    redis->handshake++;

    return ngx_queue_data(ngx_queue_last(&redis->ops),
                          ngx_http_helicone_redis_op_t, queue);
}


/*
 * TLS over the new TCP connection, on the event loop; the handshake's
 * commands wait in the output until it is done. The handshake is
 * bounded by the deadline of those commands, as any answer is.
 */

static void
ngx_http_helicone_redis_tls_handshake(ngx_http_helicone_redis_t *redis,
    ngx_connection_t *c)
{
    ngx_int_t  rc;

    rc = ngx_http_helicone_redis_tls_start(redis->conf, c,
                                           redis->ssl_session);

    if (rc == NGX_ERROR) {
        ngx_http_helicone_redis_failure(redis, 0, "TLS handshake failed");
        return;
    }

    c->ssl->save_session = ngx_http_helicone_redis_tls_save_session;

    if (rc == NGX_AGAIN) {
        c->ssl->handler = ngx_http_helicone_redis_tls_handshaked;
        return;
    }

    ngx_http_helicone_redis_tls_handshaked(c);
}


static void
ngx_http_helicone_redis_tls_handshaked(ngx_connection_t *c)
{
    const char                 *why;
    ngx_str_t                   detail;
    ngx_http_helicone_redis_t  *redis;

    redis = c->data;

    if (!c->ssl->handshaked) {
        ngx_http_helicone_redis_failure(redis, 0, "TLS handshake failed");
        return;
    }

    why = ngx_http_helicone_redis_tls_verify(c);

    if (why) {
        detail.data = (u_char *) why;
        detail.len = ngx_strlen(why);

        /* told however often it happens: it will not pass by itself */
        redis->logged = 0;
        redis->trouble = 1;
        ngx_http_helicone_redis_trouble(redis, NGX_LOG_ERR, 0,
                                        "failed TLS verification:",
                                        &detail);
        ngx_http_helicone_redis_failure(redis, 0, NULL);
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "helicone redis: TLS to %V, session %s",
                   &redis->addr.name,
                   SSL_session_reused(c->ssl->connection) ? "reused"
                                                           : "new");

    if (SSL_session_reused(c->ssl->connection)) {
        ngx_http_helicone_metrics_count(
                                  NGX_HTTP_HELICONE_REDIS_TLS_RESUMED);
    }

    c->read->handler = ngx_http_helicone_redis_read_handler;
    c->write->handler = ngx_http_helicone_redis_write_handler;

    /* the handshake's commands, and what was queued behind them */
    ngx_http_helicone_redis_post_write(redis);
}


/* A session the server gave (TLS 1.3: after the handshake): kept. */

static void
ngx_http_helicone_redis_tls_save_session(ngx_connection_t *c)
{
    ngx_ssl_session_t          *session;
    ngx_http_helicone_redis_t  *redis;

    redis = c->data;

    session = ngx_ssl_get_session(c);
    if (session == NULL) {
        return;
    }

    if (redis->ssl_session) {
        ngx_ssl_free_session(redis->ssl_session);
    }

    redis->ssl_session = session;
}


static void
ngx_http_helicone_redis_write_handler(ngx_event_t *wev)
{
    int                         err;
    size_t                      limit;
    ssize_t                     n;
    socklen_t                   len;
    ngx_connection_t           *c;
    ngx_http_helicone_redis_t  *redis;

    c = wev->data;
    redis = c->data;

    if (!redis->connected) {
        err = 0;
        len = sizeof(int);

        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len)
            == -1)
        {
            err = ngx_socket_errno;
        }

        if (err) {
            ngx_http_helicone_redis_failure(redis, err, "connect() failed");
            return;
        }

        redis->connected = 1;

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "helicone redis: connected to %V", &redis->addr.name);

        if (redis->conf->ssl) {
            ngx_http_helicone_redis_tls_handshake(redis, c);
            return;
        }
    }

    /*
     * Until the handshake is answered only its commands go: an operation
     * sent behind a refused SELECT would run in another database.
     */
    limit = redis->ready ? redis->out_len
                         : ngx_min(redis->out_handshake, redis->out_len);

    while (redis->out_sent < limit) {
        n = c->send(c, redis->out + redis->out_sent,
                    limit - redis->out_sent);

        if (n == NGX_ERROR) {
            ngx_http_helicone_redis_failure(redis, ngx_socket_errno,
                                            "send() failed");
            return;
        }

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_http_helicone_redis_failure(redis, 0,
                                                "cannot wait to send");
            }

            return;
        }

        redis->out_sent += n;
    }

    if (redis->out_sent < redis->out_len) {
        /* the rest when the handshake is done */
        return;
    }

    redis->out_len = 0;
    redis->out_sent = 0;
    redis->out_handshake = 0;

    if (redis->out_size > 1024 * 1024) {
        /* a large cache entry went out: give the memory back */
        ngx_free(redis->out);
        redis->out = NULL;
        redis->out_size = 0;
    }
}


static void
ngx_http_helicone_redis_read_handler(ngx_event_t *rev)
{
    ssize_t                     n;
    ngx_connection_t           *c;
    ngx_http_helicone_redis_t  *redis;

    c = rev->data;
    redis = c->data;

    if (c->close) {
        /* worker_shutdown_timeout: the worker is going away */
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "helicone redis: closed for shutdown");
        ngx_http_helicone_redis_close(redis, 1);
        return;
    }

    for ( ;; ) {
        n = c->recv(c, ngx_http_helicone_redis_buf,
                    sizeof(ngx_http_helicone_redis_buf));

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            ngx_http_helicone_redis_failure(redis,
                                            n ? ngx_socket_errno : 0,
                                            "closed the connection");
            return;
        }

        if (redisReaderFeed(redis->reader,
                            (const char *) ngx_http_helicone_redis_buf, n)
            != REDIS_OK)
        {
            ngx_http_helicone_redis_failure(redis, 0, "reader failed");
            return;
        }

        if (ngx_http_helicone_redis_replies(redis, c) != NGX_OK) {
            /* closed while answering */
            return;
        }
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_http_helicone_redis_failure(redis, 0, "cannot wait to read");
    }
}


/* Each complete reply answers the oldest operation. */

static ngx_int_t
ngx_http_helicone_redis_replies(ngx_http_helicone_redis_t *redis,
    ngx_connection_t *c)
{
    void                          *reply;
    ngx_queue_t                   *q;
    ngx_http_helicone_redis_op_t  *op;

    for ( ;; ) {
        if (redisReaderGetReply(redis->reader, &reply) != REDIS_OK) {
            ngx_http_helicone_redis_failure(redis, 0,
                                            "sent an invalid reply");
            return NGX_ERROR;
        }

        if (reply == NULL) {
            return NGX_OK;
        }

        if (ngx_queue_empty(&redis->ops)) {
            freeReplyObject(reply);
            ngx_http_helicone_redis_failure(redis, 0,
                                            "sent a reply nobody asked for");
            return NGX_ERROR;
        }

        q = ngx_queue_head(&redis->ops);
        ngx_queue_remove(q);
        redis->nops--;

        op = ngx_queue_data(q, ngx_http_helicone_redis_op_t, queue);

        if (ngx_queue_empty(&redis->ops) && redis->timer.timer_set) {
            ngx_del_timer(&redis->timer);
        }

        if (redis->cluster
            && ((redisReply *) reply)->type == REDIS_REPLY_ERROR
            && ngx_http_helicone_redis_redirect(redis, op, reply) == NGX_OK)
        {
            freeReplyObject(reply);
            continue;
        }

        if (op->script
            && ((redisReply *) reply)->type == REDIS_REPLY_ERROR
            && ((redisReply *) reply)->len >= 8
            && ngx_strncmp(((redisReply *) reply)->str, "NOSCRIPT", 8) == 0
            && ngx_http_helicone_redis_noscript(redis, op) == NGX_OK)
        {
            freeReplyObject(reply);
            continue;
        }

        ngx_http_helicone_redis_dispatch(redis, op, reply);

        freeReplyObject(reply);

        if (redis->connection != c) {
            return NGX_DONE;
        }
    }
}


/*
 * "MOVED <slot> <ip:port>" or "ASK <slot> <ip:port>": the operation goes
 * to that node as it is, with its deadline (after ASKING for ASK); a
 * MOVED updates the map. NGX_DECLINED: not a redirect; NGX_ERROR: cannot
 * follow it (the error is the answer).
 */

static ngx_int_t
ngx_http_helicone_redis_redirect(ngx_http_helicone_redis_t *redis,
    ngx_http_helicone_redis_op_t *op, redisReply *reply)
{
    u_char                     *p, *last, *sp, *colon;
    size_t                      lens[1];
    ngx_int_t                   slot;
    ngx_str_t                   ip, port;
    ngx_uint_t                  ask;
    ngx_addr_t                  addr;
    ngx_pool_t                 *pool;
    const char                 *args[1];
    ngx_http_helicone_redis_t  *to;

    p = (u_char *) reply->str;
    last = p + reply->len;

    if (reply->len > 6 && ngx_strncmp(p, "MOVED ", 6) == 0) {
        ask = 0;
        p += 6;

    } else if (reply->len > 4 && ngx_strncmp(p, "ASK ", 4) == 0) {
        ask = 1;
        p += 4;

    } else {
        return NGX_DECLINED;
    }

    sp = ngx_strlchr(p, last, ' ');
    if (sp == NULL) {
        return NGX_ERROR;
    }

    slot = ngx_atoi(p, sp - p);

    if (slot == NGX_ERROR || op->cmd == NULL || op->redirects == 7) {
        return NGX_ERROR;
    }

    /* "ip:port", the port after the last colon (IPv6 comes bare) */

    for (colon = last; colon > sp && colon[-1] != ':'; colon--) {
        /* void */
    }

    ip.data = sp + 1;
    ip.len = colon - 1 - ip.data;
    port.data = colon;
    port.len = last - colon;

    pool = ngx_create_pool(NGX_MIN_POOL_SIZE, &redis->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    to = NULL;

    if (colon > sp + 1
        && ngx_http_helicone_redis_parse_addr(pool, &ip, &port, &addr)
           == NGX_OK)
    {
        to = ngx_http_helicone_redis_cluster_node(redis->cluster, &addr);
    }

    ngx_destroy_pool(pool);

    if (to == NULL || to->connection == NULL) {
        return NGX_ERROR;
    }

    if (!ask) {
        ngx_http_helicone_redis_cluster_moved(redis->cluster, slot, to);
    }

    if (ask) {
        args[0] = "ASKING";
        lens[0] = 6;

        if (ngx_http_helicone_redis_queue(to, 1, args, lens, NULL, NULL,
                                          NULL, NULL, 0)
            != NGX_AGAIN)
        {
            return NGX_ERROR;
        }
    }

    if (ngx_http_helicone_redis_append(to, op->cmd, op->len) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "helicone redis: %s slot %i to %V",
                   ask ? "ASK" : "MOVED", slot, &to->addr.name);

    ngx_http_helicone_metrics_count(NGX_HTTP_HELICONE_REDIS_REDIRECTED);

    op->redirects++;

    ngx_http_helicone_redis_enqueue(to, op);

    return NGX_OK;
}


/* The script is not in Redis (flushed, or a new server): EVAL it. */

static ngx_int_t
ngx_http_helicone_redis_noscript(ngx_http_helicone_redis_t *redis,
    ngx_http_helicone_redis_op_t *op)
{
    u_char         *p, *rest, *end, *cmd;
    size_t          head, len;
    static time_t   told;

    end = (u_char *) op->cmd + op->len;

    /* "*N\r\n" "$7\r\nEVALSHA\r\n" "$40\r\n<sha>\r\n" then the rest */
    p = ngx_strlchr((u_char *) op->cmd, end, '\n');
    if (p == NULL || end - (p + 1) < 60) {
        return NGX_ERROR;
    }

    head = p + 1 - (u_char *) op->cmd;
    rest = p + 1 + 60;

    len = head + sizeof("$4\r\nEVAL\r\n$\r\n\r\n") - 1 + NGX_SIZE_T_LEN
          + op->script->text.len + (end - rest);

    cmd = ngx_alloc(len, &redis->log);
    if (cmd == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(cmd, op->cmd, head);
    p = ngx_sprintf(p, "$4\r\nEVAL\r\n$%uz\r\n", op->script->text.len);
    p = ngx_cpymem(p, op->script->text.data, op->script->text.len);
    *p++ = '\r';
    *p++ = '\n';
    p = ngx_cpymem(p, rest, end - rest);

    if (ngx_http_helicone_redis_append(redis, (char *) cmd, p - cmd)
        != NGX_OK)
    {
        ngx_free(cmd);
        return NGX_ERROR;
    }

    ngx_free(cmd);

    /* every operation in flight meets it after a SCRIPT FLUSH: told once
     * per interval */
    if (ngx_http_helicone_log_due(&told)) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "helicone redis: script %*s not loaded, sent it again",
                      (size_t) 8, op->script->sha1);
    }

    redisFreeCommand(op->cmd);
    op->cmd = NULL;
    op->script = NULL;

    ngx_http_helicone_redis_enqueue(redis, op);

    return NGX_OK;
}


static void
ngx_http_helicone_redis_dispatch(ngx_http_helicone_redis_t *redis,
    ngx_http_helicone_redis_op_t *op, redisReply *reply)
{
    ngx_str_t                        msg;
    ngx_uint_t                       i, role;
    ngx_http_helicone_redis_reply_t  r, elts[NGX_HTTP_HELICONE_REDIS_ELTS];

    if (op->handshake) {
        role = op->role;
        ngx_http_helicone_redis_free_op(redis, op);
        ngx_http_helicone_redis_handshake_done(redis, reply, role);
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        redis->failed++;
        redis->failed_total++;
        ngx_http_helicone_metrics_count(NGX_HTTP_HELICONE_REDIS_FAILED);

        msg.data = (u_char *) reply->str;
        msg.len = reply->len;

        ngx_http_helicone_redis_trouble(redis, NGX_LOG_ERR, 0,
                                        "answered with an error:", &msg);
    }

    if (op->handler == NULL || op->data == NULL) {
        /* fire and forget, or the request went away */
        ngx_http_helicone_redis_free_op(redis, op);
        return;
    }

    ngx_http_helicone_redis_convert(reply, &r);

    if (reply->type == REDIS_REPLY_ARRAY
        && ngx_http_helicone_redis_nested(reply))
    {
        /* CLUSTER SLOTS: every level, in a pool of its own */
        ngx_http_helicone_redis_convert_all(reply, &r, op, redis);
        ngx_http_helicone_redis_free_op(redis, op);
        return;
    }

    if (reply->type == REDIS_REPLY_ARRAY) {
        r.nelts = reply->elements;
        r.elts = (r.nelts <= NGX_HTTP_HELICONE_REDIS_ELTS)
                 ? elts
                 : ngx_alloc(r.nelts * sizeof(ngx_http_helicone_redis_reply_t),
                             &redis->log);

        if (r.elts == NULL) {
            r.type = NGX_HTTP_HELICONE_REDIS_ERROR;
            r.nelts = 0;
            ngx_str_set(&r.str, "no memory");

        } else {
            for (i = 0; i < r.nelts; i++) {
                ngx_http_helicone_redis_convert(reply->element[i],
                                                &r.elts[i]);
            }
        }
    }

    /* the handler may queue more: the op is freed after it */
    op->handler(op->data, &r);

    if (r.elts && r.elts != elts) {
        ngx_free(r.elts);
    }

    ngx_http_helicone_redis_free_op(redis, op);

    if (redis->sentinel && reply->type == REDIS_REPLY_ERROR
        && reply->len >= 8 && ngx_strncmp(reply->str, "READONLY", 8) == 0)
    {
        /* a failover made our master a replica: ask the sentinels */
        ngx_http_helicone_redis_failure(redis, 0,
                                        "is a replica now (READONLY)");
    }
}


static void
ngx_http_helicone_redis_handshake_done(ngx_http_helicone_redis_t *redis,
    redisReply *reply, ngx_uint_t role)
{
    ngx_str_t  msg;

    if (role
        && (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0
            || reply->element[0]->type != REDIS_REPLY_STRING
            || reply->element[0]->len != 6
            || ngx_strncmp(reply->element[0]->str, "master", 6) != 0))
    {
        redis->trouble = 1;
        ngx_http_helicone_redis_trouble(redis, NGX_LOG_ERR, 0,
                                        "is not the master yet", NULL);
        ngx_http_helicone_redis_failure(redis, 0, NULL);
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        msg.data = (u_char *) reply->str;
        msg.len = reply->len;

        redis->trouble = 1;
        ngx_http_helicone_redis_trouble(redis, NGX_LOG_ERR, 0,
                                        "refused the handshake:", &msg);

        ngx_http_helicone_redis_failure(redis, 0, NULL);
        return;
    }

    if (--redis->handshake) {
        return;
    }

    if (!redis->ready && !redis->aux) {
        ngx_http_helicone_metrics_gauge(NGX_HTTP_HELICONE_GAUGE_REDIS_READY,
                                        1);
    }

    redis->ready = 1;
    redis->backoff = NGX_HTTP_HELICONE_REDIS_BACKOFF_MIN;

    /* what was queued behind the handshake */
    ngx_http_helicone_redis_post_write(redis);

    /*
     * Back after trouble: told only when the trouble was (the log's
     * interval holds however often a connection comes and goes).
     */
    if (redis->trouble) {
        redis->trouble = 0;

        if (redis->told) {
            redis->told = 0;
            ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                          "helicone redis: \"%V\" is back, %ui operations "
                          "failed meanwhile", &redis->conf->url, redis->failed);
            redis->failed = 0;
        }
    }
}


static ngx_uint_t
ngx_http_helicone_redis_nested(redisReply *reply)
{
    size_t  i;

    for (i = 0; i < reply->elements; i++) {
        if (reply->element[i]->type == REDIS_REPLY_ARRAY) {
            return 1;
        }
    }

    return 0;
}


/* A reply with arrays in arrays, converted whole for the handler. */

static void
ngx_http_helicone_redis_convert_all(redisReply *reply,
    ngx_http_helicone_redis_reply_t *r, ngx_http_helicone_redis_op_t *op,
    ngx_http_helicone_redis_t *redis)
{
    ngx_pool_t  *pool;

    pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, &redis->log);

    if (pool == NULL
        || ngx_http_helicone_redis_convert_tree(reply, r, pool) != NGX_OK)
    {
        r->type = NGX_HTTP_HELICONE_REDIS_ERROR;
        r->nelts = 0;
        r->elts = NULL;
        ngx_str_set(&r->str, "no memory");
    }

    op->handler(op->data, r);

    if (pool) {
        ngx_destroy_pool(pool);
    }
}


static ngx_int_t
ngx_http_helicone_redis_convert_tree(redisReply *reply,
    ngx_http_helicone_redis_reply_t *r, ngx_pool_t *pool)
{
    size_t  i;

    ngx_http_helicone_redis_convert(reply, r);

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) {
        return NGX_OK;
    }

    r->elts = ngx_palloc(pool, reply->elements
                               * sizeof(ngx_http_helicone_redis_reply_t));
    if (r->elts == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < reply->elements; i++) {
        if (ngx_http_helicone_redis_convert_tree(reply->element[i],
                                                 &r->elts[i], pool)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* Arrays are converted one level deep: that is all our commands need. */

static void
ngx_http_helicone_redis_convert(redisReply *reply,
    ngx_http_helicone_redis_reply_t *out)
{
    ngx_memzero(out, sizeof(ngx_http_helicone_redis_reply_t));

    switch (reply->type) {

    case REDIS_REPLY_STRING:
        out->type = NGX_HTTP_HELICONE_REDIS_STRING;
        break;

    case REDIS_REPLY_ARRAY:
        out->type = NGX_HTTP_HELICONE_REDIS_ARRAY;
        out->nelts = reply->elements;
        return;

    case REDIS_REPLY_INTEGER:
        out->type = NGX_HTTP_HELICONE_REDIS_INTEGER;
        out->integer = reply->integer;
        return;

    case REDIS_REPLY_NIL:
        out->type = NGX_HTTP_HELICONE_REDIS_NIL;
        return;

    case REDIS_REPLY_STATUS:
        out->type = NGX_HTTP_HELICONE_REDIS_STATUS;
        break;

    default: /* REDIS_REPLY_ERROR */
        out->type = NGX_HTTP_HELICONE_REDIS_ERROR;
        break;
    }

    out->str.data = (u_char *) reply->str;
    out->str.len = reply->len;
}


/*
 * The earliest deadline: all operations share the timeout, so one timer
 * is enough; when it fires it looks again, since the queue moved on.
 */

static void
ngx_http_helicone_redis_timer_handler(ngx_event_t *ev)
{
    ngx_msec_t                     first;
    ngx_queue_t                   *q;
    ngx_http_helicone_redis_t     *redis;
    ngx_http_helicone_redis_op_t  *op;

    redis = ev->data;

    if (ngx_queue_empty(&redis->ops)) {
        return;
    }

    q = ngx_queue_head(&redis->ops);
    op = ngx_queue_data(q, ngx_http_helicone_redis_op_t, queue);
    first = op->deadline;

    for (q = ngx_queue_next(q);
         q != ngx_queue_sentinel(&redis->ops);
         q = ngx_queue_next(q))
    {
        op = ngx_queue_data(q, ngx_http_helicone_redis_op_t, queue);

        if ((ngx_msec_int_t) (op->deadline - first) < 0) {
            first = op->deadline;
        }
    }

    if ((ngx_msec_int_t) (first - ngx_current_msec) > 0) {
        ngx_add_timer(ev, first - ngx_current_msec);
        return;
    }

    ngx_http_helicone_redis_failure(redis, NGX_ETIMEDOUT, "timed out");
}


static void
ngx_http_helicone_redis_reconnect_handler(ngx_event_t *ev)
{
    ngx_http_helicone_redis_t  *redis;

    redis = ev->data;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    ngx_http_helicone_redis_connect(redis);
}


/* A server learnt at run time (the master from Sentinel): connect now. */

void
ngx_http_helicone_redis_connect_to(ngx_http_helicone_redis_t *redis,
    ngx_addr_t *addr)
{
    if (redis->connection) {
        ngx_http_helicone_redis_close(redis, 1);
    }

    if (redis->reconnect.timer_set) {
        ngx_del_timer(&redis->reconnect);
    }

    ngx_memcpy(&redis->sockaddr, addr->sockaddr, addr->socklen);
    redis->addr.sockaddr = &redis->sockaddr.sockaddr;
    redis->addr.socklen = addr->socklen;

    redis->addr.name.len = ngx_min(addr->name.len, NGX_SOCKADDR_STRLEN);
    redis->addr.name.data = redis->name;
    ngx_memcpy(redis->name, addr->name.data, redis->addr.name.len);

    if (!redis->running || ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    ngx_http_helicone_redis_connect(redis);
}


/* Cannot connect now (no sentinel answered): again after the backoff. */

void
ngx_http_helicone_redis_retry(ngx_http_helicone_redis_t *redis,
    const char *why)
{
    ngx_http_helicone_redis_failure(redis, 0, why);
}


/*
 * The connection is unusable: every pending operation fails, and a new
 * connection is tried after the backoff, doubled on every failure in a
 * row up to a cap.
 */

static void
ngx_http_helicone_redis_failure(ngx_http_helicone_redis_t *redis,
    ngx_err_t err, const char *what)
{
    ngx_msec_t  delay;

    if (!redis->ready) {
        redis->backoff = ngx_min(redis->backoff * 2,
                                 NGX_HTTP_HELICONE_REDIS_BACKOFF_MAX);
    }

    /* the pending operations fail first, so that the report counts them */
    ngx_http_helicone_redis_close(redis, 1);

    if (redis->sentinel) {
        ngx_http_helicone_redis_sentinel_stale(redis->sentinel);
    }

    if (redis->cluster) {
        /* a failover may have moved its slots */
        ngx_http_helicone_redis_cluster_stale(redis->cluster);
    }

    if (redis->naddrs > 1) {
        /* the next of several servers (the sentinels) */
        redis->next = (redis->next + 1) % redis->naddrs;
        redis->addr = redis->addrs[redis->next];
    }

    if (what) {
        redis->trouble = 1;
        ngx_http_helicone_redis_trouble(redis, NGX_LOG_ERR, err, what, NULL);
    }

    if (ngx_exiting || ngx_terminate || ngx_quit || !redis->running) {
        return;
    }

    /* a little jitter: the workers do not knock at once */
    delay = redis->backoff + (ngx_msec_t) ngx_random() % (redis->backoff / 4
                                                          + 1);

    ngx_add_timer(&redis->reconnect, delay);
}


/* notify: pending operations get a NULL reply; else they are dropped. */

static void
ngx_http_helicone_redis_close(ngx_http_helicone_redis_t *redis,
    ngx_uint_t notify)
{
    ngx_queue_t                   *q, ops;
    ngx_http_helicone_redis_op_t  *op;

    if (redis->connection) {
        ngx_http_helicone_redis_tls_close(redis->connection);
        ngx_close_connection(redis->connection);
        redis->connection = NULL;
    }

    if (redis->ready && !redis->aux) {
        ngx_http_helicone_metrics_gauge(NGX_HTTP_HELICONE_GAUGE_REDIS_READY,
                                        -1);
    }

    redis->connected = 0;
    redis->ready = 0;
    redis->handshake = 0;
    redis->out_len = 0;
    redis->out_sent = 0;
    redis->out_handshake = 0;

    if (redis->reader) {
        redisReaderFree(redis->reader);
        redis->reader = NULL;
    }

    if (redis->timer.timer_set) {
        ngx_del_timer(&redis->timer);
    }

    if (ngx_queue_empty(&redis->ops)) {
        return;
    }

    /*
     * Handlers run with the queue detached: what they queue fails at
     * once, since the connection is gone.
     */

    ngx_queue_init(&ops);
    ngx_queue_add(&ops, &redis->ops);
    ngx_queue_init(&redis->ops);
    redis->nops = 0;

    while (!ngx_queue_empty(&ops)) {
        q = ngx_queue_head(&ops);
        ngx_queue_remove(q);
        op = ngx_queue_data(q, ngx_http_helicone_redis_op_t, queue);

        if (!op->handshake) {
            redis->failed++;
            redis->failed_total++;
            ngx_http_helicone_metrics_count(NGX_HTTP_HELICONE_REDIS_FAILED);
        }

        if (notify && op->handler && op->data) {
            op->handler(op->data, NULL);
        }

        ngx_http_helicone_redis_free_op(redis, op);
    }
}


static void
ngx_http_helicone_redis_free_op(ngx_http_helicone_redis_t *redis,
    ngx_http_helicone_redis_op_t *op)
{
    if (op->cmd) {
        redisFreeCommand(op->cmd);
        op->cmd = NULL;
    }

    op->data = NULL;
    op->handler = NULL;

    ngx_queue_insert_head(&redis->free, &op->queue);
}


/*
 * Trouble is told once per interval, with how many operations failed
 * (the caches and limits went on without Redis) since it was last told.
 */

static void
ngx_http_helicone_redis_trouble(ngx_http_helicone_redis_t *redis,
    ngx_uint_t level, ngx_err_t err, const char *what, ngx_str_t *detail)
{
    ngx_str_t  empty = ngx_null_string;

    if (!ngx_http_helicone_log_due(&redis->logged)) {
        return;
    }

    redis->told = 1;

    ngx_log_error(level, ngx_cycle->log, err,
                  "helicone redis: \"%V\" %s%s%V, %ui operations failed "
                  "since the last report (%ui in all)",
                  redis->node ? &redis->addr.name : &redis->conf->url, what,
                  detail ? " " : "",
                  detail ? detail : &empty, redis->failed,
                  redis->failed_total);

    redis->failed = 0;
}

