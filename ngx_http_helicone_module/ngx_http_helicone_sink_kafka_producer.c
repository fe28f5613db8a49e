/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The Kafka sink's producer: one librdkafka handle per worker, made after
 * fork and served from a timer on the event loop, never from librdkafka's
 * threads. Its callbacks count deliveries and hand failures to the spool.
 */

#include "ngx_http_helicone_sink_kafka.h"


#define NGX_HTTP_HELICONE_KAFKA_KEY_MAX        256


static rd_kafka_conf_t *ngx_http_helicone_kafka_conf(
    ngx_http_helicone_kafka_main_conf_t *kmcf, ngx_log_t *log,
    ngx_uint_t real);
static ngx_int_t ngx_http_helicone_kafka_conf_set(rd_kafka_conf_t *conf,
    const char *name, const char *value, ngx_log_t *log);
static void ngx_http_helicone_kafka_dr(rd_kafka_t *rk,
    const rd_kafka_message_t *msg, void *opaque);
static void ngx_http_helicone_kafka_error(rd_kafka_t *rk, int err,
    const char *reason, void *opaque);
static void ngx_http_helicone_kafka_log(const rd_kafka_t *rk, int level,
    const char *fac, const char *buf);
static u_char *ngx_http_helicone_kafka_key(ngx_http_helicone_kafka_topic_t *kt,
    u_char *line, size_t len, u_char *buf, size_t *key_len);
static u_char *ngx_http_helicone_kafka_string_end(u_char *p, u_char *end,
    size_t max);


/*
 * The producer's configuration: our defaults, then the properties; with
 * the brokers and the log queue for a real producer, without them for
 * the check at configuration time (nothing connects).
 */

static rd_kafka_conf_t *
ngx_http_helicone_kafka_conf(ngx_http_helicone_kafka_main_conf_t *kmcf,
    ngx_log_t *log, ngx_uint_t real)
{
    ngx_uint_t        i;
    ngx_keyval_t     *kv;
    rd_kafka_conf_t  *conf;

    conf = rd_kafka_conf_new();
    if (conf == NULL) {
        return NULL;
    }

    /* defaults first, so that properties override them */

    if (ngx_http_helicone_kafka_conf_set(conf, "enable.idempotence", "true",
                                         log) != NGX_OK
        || ngx_http_helicone_kafka_conf_set(conf, "acks", "all", log)
           != NGX_OK
        || ngx_http_helicone_kafka_conf_set(conf, "message.timeout.ms",
                                            "30000", log) != NGX_OK
        || ngx_http_helicone_kafka_conf_set(conf, "client.id",
                                            "ngx_http_helicone", log)
           != NGX_OK)
    {
        goto failed;
    }

    if (real
        && (ngx_http_helicone_kafka_conf_set(conf, "log.queue", "true", log)
            != NGX_OK
            || ngx_http_helicone_kafka_conf_set(conf, "bootstrap.servers",
                                                (char *) kmcf->brokers.data,
                                                log)
               != NGX_OK))
    {
        goto failed;
    }

    if (kmcf->properties) {
        kv = kmcf->properties->elts;

        for (i = 0; i < kmcf->properties->nelts; i++) {
            if (ngx_http_helicone_kafka_conf_set(conf,
                                                 (char *) kv[i].key.data,
                                                 (char *) kv[i].value.data,
                                                 log)
                != NGX_OK)
            {
                goto failed;
            }
        }
    }

    return conf;

failed:

    rd_kafka_conf_destroy(conf);

    return NULL;
}


/*
 * At nginx -t and every start: the properties as a whole, as the workers'
 * rd_kafka_new() will see them (properties that only make sense together
 * are checked there), by a producer made without brokers and destroyed.
 */

ngx_int_t
ngx_http_helicone_kafka_check(ngx_conf_t *cf,
    ngx_http_helicone_kafka_main_conf_t *kmcf)
{
    char              errstr[512];
    rd_kafka_t       *rk;
    rd_kafka_conf_t  *conf;

    conf = ngx_http_helicone_kafka_conf(kmcf, cf->log, 0);
    if (conf == NULL) {
        return NGX_ERROR;
    }

    /* no brokers: nothing to say in the master's log */
    rd_kafka_conf_set_log_cb(conf, NULL);

    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));

    if (rk == NULL) {
        rd_kafka_conf_destroy(conf);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "helicone_kafka_property: the producer cannot be "
                           "made with these properties: %s", errstr);
        return NGX_ERROR;
    }

    rd_kafka_destroy(rk);

    return NGX_OK;
}


ngx_int_t
ngx_http_helicone_kafka_start(ngx_http_helicone_kafka_main_conf_t *kmcf)
{
    char                              errstr[512];
    ngx_uint_t                        i;
    rd_kafka_t                       *rk;
    rd_kafka_conf_t                  *conf;
    rd_kafka_topic_conf_t            *tconf;
    ngx_http_helicone_kafka_topic_t **ktp;

    conf = ngx_http_helicone_kafka_conf(kmcf, kmcf->log, 1);
    if (conf == NULL) {
        return NGX_ERROR;
    }

    rd_kafka_conf_set_opaque(conf, kmcf);
    rd_kafka_conf_set_dr_msg_cb(conf, ngx_http_helicone_kafka_dr);
    rd_kafka_conf_set_error_cb(conf, ngx_http_helicone_kafka_error);
    rd_kafka_conf_set_log_cb(conf, ngx_http_helicone_kafka_log);

    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));

    if (rk == NULL) {
        rd_kafka_conf_destroy(conf);
        ngx_log_error(NGX_LOG_ERR, kmcf->log, 0,
                      "helicone kafka: rd_kafka_new() failed: %s, events "
                      "are spooled", errstr);
        return NGX_ERROR;
    }

    /* logs of librdkafka's threads wait for rd_kafka_poll() */
    (void) rd_kafka_set_log_queue(rk, NULL);

    kmcf->rk = rk;
    kmcf->fatal = 0;
    kmcf->healthy = 0;

    ktp = kmcf->topics.elts;

    for (i = 0; i < kmcf->topics.nelts; i++) {

        /* the topic defaults of conf (acks, message.timeout.ms) */
        tconf = rd_kafka_default_topic_conf_dup(rk);
        if (tconf == NULL) {
            continue;
        }

        rd_kafka_topic_conf_set_opaque(tconf, ktp[i]);

        ktp[i]->rkt = rd_kafka_topic_new(rk, (char *) ktp[i]->name.data,
                                         tconf);

        if (ktp[i]->rkt == NULL) {
            ngx_log_error(NGX_LOG_ERR, kmcf->log, 0,
                          "helicone kafka: topic \"%V\": %s, events are "
                          "spooled", &ktp[i]->name,
                          rd_kafka_err2str(rd_kafka_last_error()));
        }
    }

    ngx_log_error(NGX_LOG_INFO, kmcf->log, 0,
                  "helicone kafka: producer %s for %V",
                  rd_kafka_name(rk), &kmcf->brokers);

    return NGX_OK;
}


void
ngx_http_helicone_kafka_stop(ngx_http_helicone_kafka_main_conf_t *kmcf,
    ngx_msec_t timeout)
{
    int                                n;
    ngx_uint_t                         i;
    rd_kafka_t                        *rk;
    rd_kafka_resp_err_t                err;
    ngx_http_helicone_kafka_topic_t  **ktp;

    rk = kmcf->rk;

    /* delivery reports are served here, failures spooled */
    err = rd_kafka_flush(rk, (int) timeout);

    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ngx_log_error(NGX_LOG_WARN, kmcf->log, 0,
                      "helicone kafka: %d events not delivered in %M ms, "
                      "purged", rd_kafka_outq_len(rk), timeout);
    }

    (void) rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE
                              |RD_KAFKA_PURGE_F_INFLIGHT);

    /* the purged messages' reports: they spool them */
    (void) rd_kafka_flush(rk, 500);

    n = rd_kafka_outq_len(rk);

    if (n) {
        ngx_log_error(NGX_LOG_ERR, kmcf->log, 0,
                      "helicone kafka: %d events neither delivered nor "
                      "spooled", n);
    }

    ktp = kmcf->topics.elts;

    for (i = 0; i < kmcf->topics.nelts; i++) {
        if (ktp[i]->rkt) {
            rd_kafka_topic_destroy(ktp[i]->rkt);
            ktp[i]->rkt = NULL;
        }
    }

    rd_kafka_destroy(rk);

    kmcf->rk = NULL;
}


static ngx_int_t
ngx_http_helicone_kafka_conf_set(rd_kafka_conf_t *conf, const char *name,
    const char *value, ngx_log_t *log)
{
    char  errstr[512];

    if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr))
        != RD_KAFKA_CONF_OK)
    {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "helicone kafka: property \"%s\": %s", name, errstr);
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_http_helicone_kafka_poll_handler(ngx_event_t *ev)
{
    ngx_http_helicone_kafka_main_conf_t  *kmcf;

    kmcf = ev->data;

    if (kmcf->rk) {
        (void) rd_kafka_poll(kmcf->rk, 0);

        if (kmcf->fatal) {
            /* an idempotent producer that lost its state: a new one */
            ngx_http_helicone_kafka_stop(kmcf, 0);
            (void) ngx_http_helicone_kafka_start(kmcf);
        }
    }

    ngx_http_helicone_kafka_report(kmcf);
    ngx_http_helicone_kafka_gauges(kmcf);

    ngx_add_timer(ev, NGX_HTTP_HELICONE_KAFKA_POLL);
}


/* librdkafka's callbacks, all called inside rd_kafka_poll() or flush() */

static void
ngx_http_helicone_kafka_dr(rd_kafka_t *rk, const rd_kafka_message_t *msg,
    void *opaque)
{
    ngx_http_helicone_kafka_main_conf_t *kmcf = opaque;

    ngx_http_helicone_kafka_topic_t  *kt;

    kt = rd_kafka_topic_opaque(msg->rkt);

    if (msg->_private) {
        /* a line of the spool file being replayed */
        kt->replay_inflight--;
    }

    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        kmcf->stats.delivered++;
        ngx_http_helicone_metrics_count(NGX_HTTP_HELICONE_KAFKA_DELIVERED);
        kmcf->healthy = 1;
        return;
    }

    kmcf->stats.failed++;
    ngx_http_helicone_metrics_count(NGX_HTTP_HELICONE_KAFKA_FAILED);
    kmcf->last_error = msg->err;

    if (msg->err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE
        || msg->err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE
        || msg->err == RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE)
    {
        /* the broker will never take it: spooled, it would come back */
        ngx_http_helicone_kafka_drop(kmcf, "an event larger than the "
                                     "broker takes", 0);
        return;
    }

    if (msg->err != RD_KAFKA_RESP_ERR__PURGE_QUEUE
        && msg->err != RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
    {
        kmcf->healthy = 0;
    }

    ngx_http_helicone_kafka_spool(kt, msg->payload, msg->len);
}


static void
ngx_http_helicone_kafka_error(rd_kafka_t *rk, int err, const char *reason,
    void *opaque)
{
    ngx_http_helicone_kafka_main_conf_t *kmcf = opaque;

    char  errstr[512];

    if (err != RD_KAFKA_RESP_ERR__FATAL) {
        /* librdkafka retries; its log told the details */
        ngx_log_error(NGX_LOG_INFO, kmcf->log, 0,
                      "helicone kafka: %s", reason);
        return;
    }

    (void) rd_kafka_fatal_error(rk, errstr, sizeof(errstr));

    ngx_log_error(NGX_LOG_ERR, kmcf->log, 0,
                  "helicone kafka: fatal error: %s, making a new producer",
                  errstr);

    kmcf->fatal = 1;
}


static void
ngx_http_helicone_kafka_log(const rd_kafka_t *rk, int level, const char *fac,
    const char *buf)
{
    ngx_uint_t                            l;
    ngx_http_helicone_kafka_main_conf_t  *kmcf;

    kmcf = rd_kafka_opaque(rk);

    /* syslog levels; a cluster that is down is no error of ours */

    if (level <= 4) {
        l = NGX_LOG_WARN;

    } else if (level == 5) {
        l = NGX_LOG_NOTICE;

    } else if (level == 6) {
        l = NGX_LOG_INFO;

    } else {
        l = NGX_LOG_DEBUG;
    }

    ngx_log_error(l, kmcf->log, 0, "helicone kafka: %s: %s", fac, buf);
}


/* RD_KAFKA_RESP_ERR_NO_ERROR: librdkafka owns a copy of the line now */

rd_kafka_resp_err_t
ngx_http_helicone_kafka_produce(ngx_http_helicone_kafka_topic_t *kt,
    u_char *line, size_t len, void *opaque)
{
    u_char               *key, buf[NGX_HTTP_HELICONE_KAFKA_KEY_MAX];
    size_t                key_len;
    rd_kafka_resp_err_t   err;

    if (kt->rkt == NULL) {
        /* no producer in this worker */
        return RD_KAFKA_RESP_ERR__STATE;
    }

    key = ngx_http_helicone_kafka_key(kt, line, len, buf, &key_len);

    /* F_COPY and no F_BLOCK: a full queue is an error, not a wait */

    err = rd_kafka_producev(kt->kmcf->rk,
                            RD_KAFKA_V_RKT(kt->rkt),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_KEY(key, key_len),
                            RD_KAFKA_V_VALUE(line, len),
                            RD_KAFKA_V_OPAQUE(opaque),
                            RD_KAFKA_V_END);

    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        kt->kmcf->stats.produced++;
        ngx_http_helicone_metrics_count(NGX_HTTP_HELICONE_KAFKA_PRODUCED);
    }

    return err;
}


/*
 * The record key, found without parsing the event: every line starts
 * {"schema_version":N,"id":"<request id>","organizationId":null|"..."
 * and the first "userId" member is log.request's (heliconeMeta has
 * none). An event with no org or user is keyed by its request id.
 */

static u_char *
ngx_http_helicone_kafka_key(ngx_http_helicone_kafka_topic_t *kt,
    u_char *line, size_t len, u_char *buf, size_t *key_len)
{
    u_char                 *p, *q, *end, *id, *s;
    size_t                  id_len, n;
    helicone_json_value_t   v;

    end = line + len;

    p = line;

    if (len < sizeof("{\"schema_version\":") - 1
        || ngx_strncmp(p, "{\"schema_version\":", 18) != 0)
    {
        goto none;
    }

    p += 18;

    while (p < end && *p >= '0' && *p <= '9') {
        p++;
    }

    if (end - p < 7 || ngx_strncmp(p, ",\"id\":\"", 7) != 0) {
        goto none;
    }

    id = p + 7;

    q = ngx_http_helicone_kafka_string_end(id, end, 128);
    if (q == NULL) {
        goto none;
    }

    id_len = q - id;

    switch (kt->key) {

    case NGX_HTTP_HELICONE_KAFKA_KEY_ORG:
        p = q + 1;

        if (end - p < 19
            || ngx_strncmp(p, ",\"organizationId\":\"", 19) != 0)
        {
            /* null */
            goto id;
        }

        s = p + 19;
        break;

    case NGX_HTTP_HELICONE_KAFKA_KEY_USER:
        s = memmem(q, end - q, "\"userId\":\"", 10);

        if (s == NULL) {
            goto id;
        }

        s += 10;
        break;

    default: /* NGX_HTTP_HELICONE_KAFKA_KEY_REQUEST */
        goto id;
    }

    q = ngx_http_helicone_kafka_string_end(s, end, 1024);

    if (q == NULL || q == s) {
        goto id;
    }

    n = q - s;

    if (memchr(s, '\\', n) == NULL || n + 2 > NGX_HTTP_HELICONE_KAFKA_KEY_MAX)
    {
        *key_len = n;
        return s;
    }

    v.type = HELICONE_JSON_STRING;
    v.start = s - 1;
    v.len = n + 2;

    n = helicone_json_string_decode(&v, buf);

    if (n == (size_t) -1) {
        goto id;
    }

    *key_len = n;
    return buf;

id:

    *key_len = id_len;
    return id;

none:

    *key_len = 0;
    return NULL;
}


/* the closing quote of a string whose text starts at p, or NULL */

static u_char *
ngx_http_helicone_kafka_string_end(u_char *p, u_char *end, size_t max)
{
    if ((size_t) (end - p) > max) {
        end = p + max;
    }

    while (p < end) {
        if (*p == '\\') {
            p += 2;
            continue;
        }

        if (*p == '"') {
            return p;
        }

        p++;
    }

    return NULL;
}

