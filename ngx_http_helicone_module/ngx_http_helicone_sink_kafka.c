/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The Kafka sink: "helicone_log kafka", its helicone_kafka_* directives
 * (a module of their own, for its main configuration), the process hooks,
 * the write of an event and the status page. One librdkafka producer per
 * worker (sink_kafka_producer.c); what it cannot take or get delivered is
 * spooled and replayed (sink_kafka_spool.c).
 */

#include "ngx_http_helicone_sink_kafka.h"


#define NGX_HTTP_HELICONE_KAFKA_REPORT         10000    /* ms, warnings */
#define NGX_HTTP_HELICONE_KAFKA_TERM_FLUSH     500      /* ms, on TERM */
#define NGX_HTTP_HELICONE_KAFKA_TOPIC_MAX      249      /* Kafka's limit */


static char *ngx_http_helicone_kafka_parse(ngx_conf_t *cf, ngx_str_t *args,
    ngx_uint_t n, void **data);
static ngx_int_t ngx_http_helicone_kafka_topic_valid(ngx_str_t *topic);
static ngx_http_helicone_kafka_topic_t *ngx_http_helicone_kafka_topic(
    ngx_conf_t *cf, ngx_http_helicone_kafka_main_conf_t *kmcf,
    ngx_str_t *topic, ngx_uint_t key, ngx_path_t *path);
static char *ngx_http_helicone_kafka_property(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_helicone_kafka_status(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static void *ngx_http_helicone_kafka_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_helicone_kafka_init_main_conf(ngx_conf_t *cf,
    void *conf);
static ngx_int_t ngx_http_helicone_kafka_init_process(ngx_cycle_t *cycle);
static void ngx_http_helicone_kafka_exit_process(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_helicone_kafka_write(void *data, ngx_log_t *log,
    u_char *line, size_t len);
static ngx_int_t ngx_http_helicone_kafka_status_handler(
    ngx_http_request_t *r);


ngx_http_helicone_sink_t  ngx_http_helicone_sink_kafka = {
    ngx_string("kafka"),
    ngx_http_helicone_kafka_parse,
    ngx_http_helicone_kafka_init_process,
    ngx_http_helicone_kafka_exit_process,
    ngx_http_helicone_kafka_write
};


static ngx_command_t  ngx_http_helicone_kafka_commands[] = {

    { ngx_string("helicone_kafka_property"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_helicone_kafka_property,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("helicone_kafka_flush_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_helicone_kafka_main_conf_t, flush_timeout),
      NULL },

    { ngx_string("helicone_kafka_spool_max_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_off_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_helicone_kafka_main_conf_t, spool_max_size),
      NULL },

    { ngx_string("helicone_kafka_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_helicone_kafka_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_helicone_kafka_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_helicone_kafka_create_main_conf, /* create main configuration */
    ngx_http_helicone_kafka_init_main_conf, /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_helicone_kafka_module = {
    NGX_MODULE_V1,
    &ngx_http_helicone_kafka_module_ctx,   /* module context */
    ngx_http_helicone_kafka_commands,      /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process: the sink's */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process: the sink's */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* properties the module sets itself */
static const char  *ngx_http_helicone_kafka_reserved[] = {
    "bootstrap.servers",     /* brokers= */
    "metadata.broker.list",
    "log.queue",             /* logs served on the event loop */
    NULL
};


/* configuration ------------------------------------------------------- */


/* helicone_log kafka brokers=LIST topic=NAME [key=...] [spool=DIR] */

static char *
ngx_http_helicone_kafka_parse(ngx_conf_t *cf, ngx_str_t *args, ngx_uint_t n,
    void **data)
{
    ngx_str_t                             brokers, topic, spool;
    ngx_uint_t                            i, key;
    ngx_path_t                           *path;
    ngx_http_helicone_kafka_topic_t      *kt;
    ngx_http_helicone_kafka_main_conf_t  *kmcf;

    ngx_str_null(&brokers);
    ngx_str_null(&topic);
    ngx_str_null(&spool);
    key = NGX_HTTP_HELICONE_KAFKA_KEY_REQUEST;

    for (i = 0; i < n; i++) {

        if (ngx_http_helicone_conf_value(&args[i], "brokers", &brokers)) {
            continue;
        }

        if (ngx_http_helicone_conf_value(&args[i], "topic", &topic)) {
            continue;
        }

        if (ngx_strcmp(args[i].data, "key=request") == 0) {
            key = NGX_HTTP_HELICONE_KAFKA_KEY_REQUEST;
            continue;
        }

        if (ngx_strcmp(args[i].data, "key=org") == 0) {
            key = NGX_HTTP_HELICONE_KAFKA_KEY_ORG;
            continue;
        }

        if (ngx_strcmp(args[i].data, "key=user") == 0) {
            key = NGX_HTTP_HELICONE_KAFKA_KEY_USER;
            continue;
        }

        if (ngx_http_helicone_conf_value(&args[i], "spool", &spool)) {
            /* "dir/" and "dir" are one path */
            while (spool.len > 1 && spool.data[spool.len - 1] == '/') {
                spool.len--;
            }

            if (spool.len == 0) {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    if (brokers.len == 0) {
        return "needs brokers=";
    }

    if (topic.len == 0) {
        return "needs topic=";
    }

    if (ngx_http_helicone_kafka_topic_valid(&topic) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid Kafka topic \"%V\": up to 249 of "
                           "a-z A-Z 0-9 . _ -", &topic);
        return NGX_CONF_ERROR;
    }

    kmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_helicone_kafka_module);

    if (kmcf->brokers.len
        && (kmcf->brokers.len != brokers.len
            || ngx_strncmp(kmcf->brokers.data, brokers.data, brokers.len)
               != 0))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "brokers=%V differ from brokers=%V given before: "
                           "one producer serves every topic",
                           &brokers, &kmcf->brokers);
        return NGX_CONF_ERROR;
    }

    kmcf->brokers = brokers;

    path = NULL;

    if (spool.len) {
        path = ngx_http_helicone_kafka_spool_path(cf, &spool);
        if (path == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    kt = ngx_http_helicone_kafka_topic(cf, kmcf, &topic, key, path);
    if (kt == NULL) {
        return NGX_CONF_ERROR;
    }

    *data = kt;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &args[i]);
    return NGX_CONF_ERROR;
}


/* a topic name Kafka takes: up to 249 of a-z A-Z 0-9 . _ -, not . or .. */

static ngx_int_t
ngx_http_helicone_kafka_topic_valid(ngx_str_t *topic)
{
    u_char  *p;

    if (topic->len > NGX_HTTP_HELICONE_KAFKA_TOPIC_MAX
        || ngx_strcmp(topic->data, ".") == 0
        || ngx_strcmp(topic->data, "..") == 0)
    {
        return NGX_ERROR;
    }

    for (p = topic->data; p < topic->data + topic->len; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9')
              || *p == '.' || *p == '_' || *p == '-'))
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * One object per topic: the same line in several places shares it, and
 * must say the same key= and spool=. NULL: an error, logged.
 */

static ngx_http_helicone_kafka_topic_t *
ngx_http_helicone_kafka_topic(ngx_conf_t *cf,
    ngx_http_helicone_kafka_main_conf_t *kmcf, ngx_str_t *topic,
    ngx_uint_t key, ngx_path_t *path)
{
    ngx_uint_t                         i;
    ngx_http_helicone_kafka_topic_t   *kt, **ktp;

    kt = NULL;
    ktp = kmcf->topics.elts;

    for (i = 0; i < kmcf->topics.nelts; i++) {
        if (ktp[i]->name.len == topic->len
            && ngx_strncmp(ktp[i]->name.data, topic->data, topic->len) == 0)
        {
            kt = ktp[i];
            break;
        }
    }

    if (kt && (kt->key != key || kt->spool != path)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "topic \"%V\" is used with another key= or spool=",
                           topic);
        return NULL;
    }

    if (kt) {
        return kt;
    }

    kt = ngx_pcalloc(cf->pool, sizeof(ngx_http_helicone_kafka_topic_t));
    if (kt == NULL) {
        return NULL;
    }

    kt->name = *topic;
    kt->key = key;
    kt->spool = path;
    kt->kmcf = kmcf;
    kt->fd = NGX_INVALID_FILE;
    kt->replay_fd = NGX_INVALID_FILE;

    ktp = ngx_array_push(&kmcf->topics);
    if (ktp == NULL) {
        return NULL;
    }

    *ktp = kt;

    return kt;
}


/* helicone_kafka_property NAME VALUE: checked by librdkafka right away */

static char *
ngx_http_helicone_kafka_property(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_helicone_kafka_main_conf_t *kmcf = conf;

    size_t                n;
    char                  errstr[512];
    ngx_str_t            *value;
    ngx_uint_t            i;
    ngx_keyval_t         *kv;
    rd_kafka_conf_t      *kc;
    rd_kafka_conf_res_t   res;

    value = cf->args->elts;

    for (i = 0; ngx_http_helicone_kafka_reserved[i]; i++) {
        if (ngx_strcmp(value[1].data, ngx_http_helicone_kafka_reserved[i])
            == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "helicone_kafka_property: \"%V\" is set by "
                               "the module%s", &value[1],
                               i < 2 ? ", from brokers= of helicone_log"
                                     : "");
            return NGX_CONF_ERROR;
        }
    }

    /* a throw-away configuration: no handle, no thread in the master */

    kc = rd_kafka_conf_new();
    if (kc == NULL) {
        return NGX_CONF_ERROR;
    }

    res = rd_kafka_conf_set(kc, (const char *) value[1].data,
                            (const char *) value[2].data,
                            errstr, sizeof(errstr));

    rd_kafka_conf_destroy(kc);

    if (res != RD_KAFKA_CONF_OK) {
        n = ngx_strlen(errstr);

        while (n && (errstr[n - 1] == '\n' || errstr[n - 1] == ' ')) {
            errstr[--n] = '\0';
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "helicone_kafka_property: %s", errstr);
        return NGX_CONF_ERROR;
    }

    if (kmcf->properties == NULL) {
        kmcf->properties = ngx_array_create(cf->pool, 4,
                                            sizeof(ngx_keyval_t));
        if (kmcf->properties == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    kv = ngx_array_push(kmcf->properties);
    if (kv == NULL) {
        return NGX_CONF_ERROR;
    }

    kv->key = value[1];
    kv->value = value[2];

    return NGX_CONF_OK;
}


static char *
ngx_http_helicone_kafka_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_helicone_kafka_status_handler;

    return NGX_CONF_OK;
}


static void *
ngx_http_helicone_kafka_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_helicone_kafka_main_conf_t  *kmcf;

    kmcf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_helicone_kafka_main_conf_t));
    if (kmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     kmcf->brokers = { 0, NULL };
     *     kmcf->properties = NULL;
     *     kmcf->rk = NULL;
     *     kmcf->stats = { 0 };
     */

    if (ngx_array_init(&kmcf->topics, cf->pool, 2, sizeof(void *))
        != NGX_OK)
    {
        return NULL;
    }

    kmcf->flush_timeout = NGX_CONF_UNSET_MSEC;
    kmcf->spool_max_size = NGX_CONF_UNSET;

    return kmcf;
}


static char *
ngx_http_helicone_kafka_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_helicone_kafka_main_conf_t *kmcf = conf;

    ngx_str_t      acks, idempotence;
    ngx_uint_t     i;
    ngx_keyval_t  *kv;

    ngx_conf_init_msec_value(kmcf->flush_timeout, 3000);

    if (kmcf->spool_max_size == NGX_CONF_UNSET) {
        kmcf->spool_max_size = (off_t) 1024 * 1024 * 1024;
    }

    /*
     * the check below would refuse this pair too; this says it in our
     * words, and also when no helicone_log kafka is configured yet
     */

    ngx_str_set(&acks, "all");
    ngx_str_set(&idempotence, "true");

    if (kmcf->properties) {
        kv = kmcf->properties->elts;

        for (i = 0; i < kmcf->properties->nelts; i++) {
            if (ngx_strcmp(kv[i].key.data, "acks") == 0
                || ngx_strcmp(kv[i].key.data, "request.required.acks") == 0)
            {
                acks = kv[i].value;

            } else if (ngx_strcmp(kv[i].key.data, "enable.idempotence")
                       == 0)
            {
                idempotence = kv[i].value;
            }
        }
    }

    if (ngx_strcmp(idempotence.data, "true") == 0
        && ngx_strcmp(acks.data, "all") != 0
        && ngx_strcmp(acks.data, "-1") != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "helicone_kafka_property: \"acks\" must be "
                           "\"all\" while \"enable.idempotence\" is true");
        return NGX_CONF_ERROR;
    }

    if (kmcf->brokers.len && ngx_http_helicone_kafka_check(cf, kmcf) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* the worker's sink --------------------------------------------------- */


static ngx_int_t
ngx_http_helicone_kafka_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                            i;
    ngx_http_helicone_kafka_main_conf_t  *kmcf;

    kmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_helicone_kafka_module);

    if (kmcf == NULL || kmcf->topics.nelts == 0) {
        return NGX_OK;
    }

    kmcf->log = cycle->log;

    /* the first failure of a kind is told at once */
    for (i = 0; i < 3; i++) {
        kmcf->report_time[i] = ngx_current_msec
                               - NGX_HTTP_HELICONE_KAFKA_REPORT;
    }

    if (ngx_http_helicone_kafka_spool_init(kmcf, cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    /*
     * A failure leaves the worker serving without a producer: events go
     * to the spool. NGX_ERROR here would end the worker for good.
     */
    (void) ngx_http_helicone_kafka_start(kmcf);

    ngx_http_helicone_kafka_timer(kmcf, &kmcf->poll,
                                  ngx_http_helicone_kafka_poll_handler,
                                  NGX_HTTP_HELICONE_KAFKA_POLL);

    return NGX_OK;
}


/* the sink's timers: cancelable, so that they never delay an exit */

void
ngx_http_helicone_kafka_timer(ngx_http_helicone_kafka_main_conf_t *kmcf,
    ngx_event_t *ev, ngx_event_handler_pt handler, ngx_msec_t timer)
{
    ev->handler = handler;
    ev->data = kmcf;
    ev->log = kmcf->log;
    ev->cancelable = 1;

    ngx_add_timer(ev, timer);
}


/*
 * Exit, for a quit, a reload and a terminate alike: the flush is bounded,
 * so a cluster that is down never keeps an old worker alive; what is left
 * is purged, and its delivery reports put it in the spool.
 */

static void
ngx_http_helicone_kafka_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_helicone_kafka_stats_t      *s;
    ngx_http_helicone_kafka_main_conf_t  *kmcf;

    kmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_helicone_kafka_module);

    if (kmcf == NULL || kmcf->topics.nelts == 0) {
        return;
    }

    if (kmcf->rk) {
        /*
         * on a fast shutdown (TERM) the master sends KILL after about
         * 1.5 s: the purge must come before it
         */
        ngx_http_helicone_kafka_stop(kmcf,
            ngx_terminate ? ngx_min(kmcf->flush_timeout,
                                    NGX_HTTP_HELICONE_KAFKA_TERM_FLUSH)
                          : kmcf->flush_timeout);
    }

    ngx_http_helicone_kafka_spool_exit(kmcf);

    s = &kmcf->stats;

    ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                  "helicone kafka: exit: %uL produced, %uL delivered, "
                  "%uL failed, %uL queue full, %uL spooled, %uL replayed, "
                  "%uL dropped", s->produced, s->delivered, s->failed,
                  s->queue_full, s->spooled, s->replayed, s->dropped);

    if (s->dropped) {
        ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                      "helicone kafka: %uL events were lost: %s",
                      s->dropped, kmcf->drop_reason);
    }
}


/* this worker's queue and spool, into the shared metrics as changes */

void
ngx_http_helicone_kafka_gauges(ngx_http_helicone_kafka_main_conf_t *kmcf)
{
    off_t                              spool;
    ngx_uint_t                         i;
    ngx_atomic_int_t                   queue;
    ngx_http_helicone_kafka_topic_t  **ktp;

    static ngx_atomic_int_t  shown_queue, shown_spool;

    queue = kmcf->rk ? rd_kafka_outq_len(kmcf->rk) : 0;

    spool = 0;
    ktp = kmcf->topics.elts;

    for (i = 0; i < kmcf->topics.nelts; i++) {
        spool += ngx_http_helicone_kafka_spool_held(ktp[i]);
    }

    if (queue != shown_queue) {
        ngx_http_helicone_metrics_gauge(NGX_HTTP_HELICONE_GAUGE_KAFKA_QUEUE,
                                        queue - shown_queue);
        shown_queue = queue;
    }

    if ((ngx_atomic_int_t) spool != shown_spool) {
        ngx_http_helicone_metrics_gauge(NGX_HTTP_HELICONE_GAUGE_KAFKA_SPOOL,
                                        (ngx_atomic_int_t) spool
                                        - shown_spool);
        shown_spool = (ngx_atomic_int_t) spool;
    }
}


/* failures are counted as they happen and told at most once a period */

void
ngx_http_helicone_kafka_report(ngx_http_helicone_kafka_main_conf_t *kmcf)
{
    ngx_msec_t                        now, *last;
    ngx_http_helicone_kafka_stats_t  *s, *p;

    s = &kmcf->stats;
    p = &kmcf->reported;
    now = ngx_current_msec;
    last = kmcf->report_time;

    if (s->failed != p->failed
        && now - last[0] >= NGX_HTTP_HELICONE_KAFKA_REPORT)
    {
        ngx_log_error(NGX_LOG_WARN, kmcf->log, 0,
                      "helicone kafka: %uL events not delivered (%s)",
                      s->failed - p->failed,
                      rd_kafka_err2str(kmcf->last_error));

        p->failed = s->failed;
        last[0] = now;
    }

    if (s->queue_full != p->queue_full
        && now - last[1] >= NGX_HTTP_HELICONE_KAFKA_REPORT)
    {
        ngx_log_error(NGX_LOG_WARN, kmcf->log, 0,
                      "helicone kafka: %uL events refused: queue full",
                      s->queue_full - p->queue_full);

        p->queue_full = s->queue_full;
        last[1] = now;
    }

    if (s->dropped != p->dropped
        && now - last[2] >= NGX_HTTP_HELICONE_KAFKA_REPORT)
    {
        ngx_log_error(NGX_LOG_ERR, kmcf->log, kmcf->drop_err,
                      "helicone kafka: %uL events lost: %s",
                      s->dropped - p->dropped, kmcf->drop_reason);

        p->dropped = s->dropped;
        last[2] = now;
    }
}


/* the sink's write and accounting ------------------------------------ */


static ngx_int_t
ngx_http_helicone_kafka_write(void *data, ngx_log_t *log, u_char *line,
    size_t len)
{
    ngx_http_helicone_kafka_topic_t *kt = data;

    rd_kafka_resp_err_t  err;

    /* the value is the JSON object, without the line's newline */
    if (len && line[len - 1] == '\n') {
        len--;
    }

    err = ngx_http_helicone_kafka_produce(kt, line, len, NULL);

    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        return NGX_OK;
    }

    if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
        /* it would never fit: the spool would not help */
        ngx_http_helicone_kafka_drop(kt->kmcf, "an event larger than "
                                     "message.max.bytes", 0);
        return NGX_OK;
    }

    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        kt->kmcf->stats.queue_full++;
        ngx_http_helicone_metrics_count(NGX_HTTP_HELICONE_KAFKA_QUEUE_FULL);
    }

    ngx_http_helicone_kafka_spool(kt, line, len);

    return NGX_OK;
}


void
ngx_http_helicone_kafka_drop(ngx_http_helicone_kafka_main_conf_t *kmcf,
    const char *reason, ngx_err_t err)
{
    kmcf->stats.dropped++;
    ngx_http_helicone_metrics_count(NGX_HTTP_HELICONE_KAFKA_DROPPED);
    kmcf->drop_reason = reason;
    kmcf->drop_err = err;
}


/* helicone_kafka_status ----------------------------------------------- */


/* this worker's counters as JSON */

static ngx_int_t
ngx_http_helicone_kafka_status_handler(ngx_http_request_t *r)
{
    off_t                                 spool;
    u_char                               *body, *last;
    ngx_int_t                             rc;
    ngx_uint_t                            i, replaying;
    ngx_http_helicone_kafka_stats_t      *s;
    ngx_http_helicone_kafka_topic_t     **ktp;
    ngx_http_helicone_kafka_main_conf_t  *kmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_kafka_module);

    s = &kmcf->stats;
    spool = 0;
    replaying = 0;
    ktp = kmcf->topics.elts;

    for (i = 0; i < kmcf->topics.nelts; i++) {
        spool += ngx_http_helicone_kafka_spool_held(ktp[i]);

        if (ktp[i]->replay_fd != NGX_INVALID_FILE) {
            replaying++;
        }
    }

    body = ngx_pnalloc(r->pool, 512);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = ngx_sprintf(body,
                          "{\"pid\":%P,\"producer\":%s,\"healthy\":%s,"
                          "\"queued\":%d,\"produced\":%uL,\"delivered\":%uL,"
                          "\"failed\":%uL,\"queue_full\":%uL,"
                          "\"spooled\":%uL,\"replayed\":%uL,"
                          "\"dropped\":%uL,\"spool_bytes\":%O,"
                          "\"replaying\":%ui}\n",
                          ngx_pid, kmcf->rk ? "true" : "false",
                          kmcf->healthy ? "true" : "false",
                          kmcf->rk ? rd_kafka_outq_len(kmcf->rk) : 0,
                          s->produced, s->delivered, s->failed,
                          s->queue_full, s->spooled, s->replayed,
                          s->dropped, spool, replaying);

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = last - body;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    return ngx_http_helicone_send_whole(r, body, last - body);
}
