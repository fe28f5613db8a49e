/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The Kafka sink: one librdkafka producer per worker, made after fork and
 * served from a timer on the event loop, never from librdkafka's threads.
 * Events it cannot hand over or get delivered go to a per-worker spool
 * file; a replay timer produces them again when the cluster is back.
 */

#include "ngx_http_helicone_module.h"
#include "ngx_http_helicone_sink_kafka.h"

#include <librdkafka/rdkafka.h>


#define NGX_HTTP_HELICONE_KAFKA_KEY_REQUEST    0
#define NGX_HTTP_HELICONE_KAFKA_KEY_ORG        1
#define NGX_HTTP_HELICONE_KAFKA_KEY_USER       2

#define NGX_HTTP_HELICONE_KAFKA_POLL           100      /* ms */
#define NGX_HTTP_HELICONE_KAFKA_REPLAY_FAST    100      /* ms, file open */
#define NGX_HTTP_HELICONE_KAFKA_REPLAY_SLOW    1000     /* ms, looking */
#define NGX_HTTP_HELICONE_KAFKA_REPORT         10000    /* ms, warnings */
#define NGX_HTTP_HELICONE_KAFKA_TERM_FLUSH     500      /* ms, on TERM */
#define NGX_HTTP_HELICONE_KAFKA_REPLAY_BATCH   2000     /* lines a tick */
#define NGX_HTTP_HELICONE_KAFKA_REPLAY_BYTES   (4 * 1024 * 1024) /* a tick */
#define NGX_HTTP_HELICONE_KAFKA_REPLAY_WINDOW  10000    /* in flight */
#define NGX_HTTP_HELICONE_KAFKA_READ           65536    /* first buffer */
#define NGX_HTTP_HELICONE_KAFKA_LINE_MAX       (64 * 1024 * 1024)
#define NGX_HTTP_HELICONE_KAFKA_KEY_MAX        256
#define NGX_HTTP_HELICONE_KAFKA_TOPIC_MAX      249      /* Kafka's limit */


typedef struct ngx_http_helicone_kafka_main_conf_s
    ngx_http_helicone_kafka_main_conf_t;


/* per worker; they only grow */
typedef struct {
    uint64_t                       produced;     /* taken by librdkafka */
    uint64_t                       delivered;    /* acknowledged */
    uint64_t                       failed;       /* delivery reports: error */
    uint64_t                       queue_full;   /* refused: queue full */
    uint64_t                       spooled;      /* lines written to spool */
    uint64_t                       replayed;     /* spool lines produced */
    uint64_t                       dropped;      /* lost: see drop_reason */
} ngx_http_helicone_kafka_stats_t;


typedef struct {
    ngx_str_t                      name;         /* NUL-terminated */
    ngx_uint_t                     key;          /* ..._KAFKA_KEY_* */
    ngx_path_t                    *spool;        /* NULL: none */
    ngx_http_helicone_kafka_main_conf_t  *kmcf;

    /* the worker's, from init_process on */
    rd_kafka_topic_t              *rkt;
    ngx_fd_t                       fd;           /* own spool file or -1 */
    off_t                          spool_size;   /* bytes in it */
    u_char                        *spool_name;   /* its path */
    u_char                        *path;         /* scratch path buffer */
    size_t                         path_size;

    ngx_fd_t                       replay_fd;    /* a claimed file or -1 */
    u_char                        *replay_name;  /* its path */
    ngx_uint_t                     replay_seq;   /* of its name */
    off_t                          replay_off;   /* lines before: produced */
    off_t                          replay_size;  /* its size when claimed */
    off_t                          replay_read;  /* file offset of buf end */
    ngx_uint_t                     replay_inflight; /* delivery pending */
    u_char                        *buf;          /* read, not yet produced */
    size_t                         buf_pos;
    size_t                         buf_len;
    size_t                         buf_size;
    unsigned                       replay_eof:1; /* all lines produced */
    unsigned                       replay_end:1; /* file read to its end */
    unsigned                       dir_error:1;  /* logged once */
} ngx_http_helicone_kafka_topic_t;


struct ngx_http_helicone_kafka_main_conf_s {
    ngx_str_t                      brokers;      /* bootstrap.servers */
    ngx_array_t                   *properties;   /* ngx_keyval_t, in order */
    ngx_array_t                    topics;       /* topic pointers */
    ngx_msec_t                     flush_timeout; /* at exit */
    off_t                          spool_max_size; /* per worker, topic */

    /* the worker's, from init_process on */
    rd_kafka_t                    *rk;
    ngx_log_t                     *log;
    ngx_event_t                    poll;
    ngx_event_t                    replay;
    ngx_http_helicone_kafka_stats_t  stats;
    ngx_http_helicone_kafka_stats_t  reported;   /* at the last warning */
    ngx_msec_t                     report_time[3]; /* failed, full, lost */
    rd_kafka_resp_err_t            last_error;   /* of a delivery */
    const char                    *drop_reason;
    ngx_err_t                      drop_err;
    unsigned                       healthy:1;    /* last delivery was ok */
    unsigned                       fatal:1;      /* producer must be remade */
};


static char *ngx_http_helicone_kafka_property(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_helicone_kafka_status(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static void *ngx_http_helicone_kafka_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_helicone_kafka_init_main_conf(ngx_conf_t *cf,
    void *conf);
static ngx_int_t ngx_http_helicone_kafka_init_process(ngx_cycle_t *cycle);
static void ngx_http_helicone_kafka_exit_process(ngx_cycle_t *cycle);

static rd_kafka_conf_t *ngx_http_helicone_kafka_conf(
    ngx_http_helicone_kafka_main_conf_t *kmcf, ngx_log_t *log,
    ngx_uint_t real);
static ngx_int_t ngx_http_helicone_kafka_check(ngx_conf_t *cf,
    ngx_http_helicone_kafka_main_conf_t *kmcf);
static ngx_int_t ngx_http_helicone_kafka_start(
    ngx_http_helicone_kafka_main_conf_t *kmcf);
static void ngx_http_helicone_kafka_stop(
    ngx_http_helicone_kafka_main_conf_t *kmcf, ngx_msec_t timeout);
static ngx_int_t ngx_http_helicone_kafka_conf_set(rd_kafka_conf_t *conf,
    const char *name, const char *value, ngx_log_t *log);
static void ngx_http_helicone_kafka_poll_handler(ngx_event_t *ev);
static off_t ngx_http_helicone_kafka_spool_held(
    ngx_http_helicone_kafka_topic_t *kt);
static void ngx_http_helicone_kafka_gauges(
    ngx_http_helicone_kafka_main_conf_t *kmcf);
static void ngx_http_helicone_kafka_report(
    ngx_http_helicone_kafka_main_conf_t *kmcf);
static void ngx_http_helicone_kafka_dr(rd_kafka_t *rk,
    const rd_kafka_message_t *msg, void *opaque);
static void ngx_http_helicone_kafka_error(rd_kafka_t *rk, int err,
    const char *reason, void *opaque);
static void ngx_http_helicone_kafka_log(const rd_kafka_t *rk, int level,
    const char *fac, const char *buf);

static ngx_int_t ngx_http_helicone_kafka_emit(ngx_http_helicone_sink_t *sink,
    ngx_log_t *log, u_char *line, size_t len);
static rd_kafka_resp_err_t ngx_http_helicone_kafka_produce(
    ngx_http_helicone_kafka_topic_t *kt, u_char *line, size_t len,
    void *opaque);
static u_char *ngx_http_helicone_kafka_key(ngx_http_helicone_kafka_topic_t *kt,
    u_char *line, size_t len, u_char *buf, size_t *key_len);
static u_char *ngx_http_helicone_kafka_string_end(u_char *p, u_char *end,
    size_t max);

static void ngx_http_helicone_kafka_spool(ngx_http_helicone_kafka_topic_t *kt,
    const u_char *line, size_t len);
static void ngx_http_helicone_kafka_spool_cut(
    ngx_http_helicone_kafka_topic_t *kt);
static void ngx_http_helicone_kafka_drop(
    ngx_http_helicone_kafka_main_conf_t *kmcf, const char *reason,
    ngx_err_t err);
static void ngx_http_helicone_kafka_replay_handler(ngx_event_t *ev);
static ngx_uint_t ngx_http_helicone_kafka_replay_step(
    ngx_http_helicone_kafka_topic_t *kt);
static ngx_int_t ngx_http_helicone_kafka_replay_line(
    ngx_http_helicone_kafka_topic_t *kt, u_char **line, size_t *len);
static ngx_int_t ngx_http_helicone_kafka_replay_claim(
    ngx_http_helicone_kafka_topic_t *kt);
static ngx_int_t ngx_http_helicone_kafka_replay_open(
    ngx_http_helicone_kafka_topic_t *kt, u_char *name, off_t offset);
static void ngx_http_helicone_kafka_replay_close(
    ngx_http_helicone_kafka_topic_t *kt);
static ngx_int_t ngx_http_helicone_kafka_spool_parse(u_char *p, u_char *end,
    ngx_pid_t *pid, off_t *offset, ngx_uint_t *own);
static u_char *ngx_http_helicone_kafka_replay_path(
    ngx_http_helicone_kafka_topic_t *kt, u_char *buf, ngx_uint_t seq,
    off_t offset);

static ngx_int_t ngx_http_helicone_kafka_status_handler(
    ngx_http_request_t *r);


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
    ngx_http_helicone_kafka_init_process,  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_helicone_kafka_exit_process,  /* exit process */
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


char *
ngx_http_helicone_kafka_sink(ngx_conf_t *cf, ngx_http_helicone_sink_t **sink)
{
    u_char                               *p;
    ngx_str_t                            *value, brokers, topic, spool;
    ngx_uint_t                            i, key;
    ngx_path_t                           *path;
    ngx_http_helicone_sink_t             *s;
    ngx_http_helicone_kafka_topic_t      *kt, **ktp;
    ngx_http_helicone_kafka_main_conf_t  *kmcf;

    value = cf->args->elts;

    ngx_str_null(&brokers);
    ngx_str_null(&topic);
    ngx_str_null(&spool);
    key = NGX_HTTP_HELICONE_KAFKA_KEY_REQUEST;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "brokers=", 8) == 0) {
            brokers.data = value[i].data + 8;
            brokers.len = value[i].len - 8;
            continue;
        }

        if (ngx_strncmp(value[i].data, "topic=", 6) == 0) {
            topic.data = value[i].data + 6;
            topic.len = value[i].len - 6;
            continue;
        }

        if (ngx_strcmp(value[i].data, "key=request") == 0) {
            key = NGX_HTTP_HELICONE_KAFKA_KEY_REQUEST;
            continue;
        }

        if (ngx_strcmp(value[i].data, "key=org") == 0) {
            key = NGX_HTTP_HELICONE_KAFKA_KEY_ORG;
            continue;
        }

        if (ngx_strcmp(value[i].data, "key=user") == 0) {
            key = NGX_HTTP_HELICONE_KAFKA_KEY_USER;
            continue;
        }

        if (ngx_strncmp(value[i].data, "spool=", 6) == 0) {
            spool.data = value[i].data + 6;
            spool.len = value[i].len - 6;

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

    if (topic.len > NGX_HTTP_HELICONE_KAFKA_TOPIC_MAX
        || ngx_strcmp(topic.data, ".") == 0
        || ngx_strcmp(topic.data, "..") == 0)
    {
        goto bad_topic;
    }

    for (p = topic.data; p < topic.data + topic.len; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9')
              || *p == '.' || *p == '_' || *p == '-'))
        {
            goto bad_topic;
        }
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
        path = ngx_pcalloc(cf->pool, sizeof(ngx_path_t));
        if (path == NULL) {
            return NGX_CONF_ERROR;
        }

        /* a copy: the trailing slashes are cut off */
        path->name.data = ngx_pnalloc(cf->pool, spool.len + 1);
        if (path->name.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_cpystrn(path->name.data, spool.data, spool.len + 1);
        path->name.len = spool.len;

        if (ngx_conf_full_name(cf->cycle, &path->name, 0) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        path->conf_file = cf->conf_file->file.name.data;
        path->line = cf->conf_file->line;

        /* the master makes it, owned by the worker user (ngx_create_paths) */
        if (ngx_add_path(cf, &path) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    /* one object per topic: the same line in several places shares it */

    kt = NULL;
    ktp = kmcf->topics.elts;

    for (i = 0; i < kmcf->topics.nelts; i++) {
        if (ktp[i]->name.len == topic.len
            && ngx_strncmp(ktp[i]->name.data, topic.data, topic.len) == 0)
        {
            kt = ktp[i];
            break;
        }
    }

    if (kt && (kt->key != key || kt->spool != path)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "topic \"%V\" is used with another key= or spool=",
                           &topic);
        return NGX_CONF_ERROR;
    }

    if (kt == NULL) {
        kt = ngx_pcalloc(cf->pool, sizeof(ngx_http_helicone_kafka_topic_t));
        if (kt == NULL) {
            return NGX_CONF_ERROR;
        }

        kt->name = topic;
        kt->key = key;
        kt->spool = path;
        kt->kmcf = kmcf;
        kt->fd = NGX_INVALID_FILE;
        kt->replay_fd = NGX_INVALID_FILE;

        ktp = ngx_array_push(&kmcf->topics);
        if (ktp == NULL) {
            return NGX_CONF_ERROR;
        }

        *ktp = kt;
    }

    s = ngx_pcalloc(cf->pool, sizeof(ngx_http_helicone_sink_t));
    if (s == NULL) {
        return NGX_CONF_ERROR;
    }

    s->emit = ngx_http_helicone_kafka_emit;
    s->data = kt;

    *sink = s;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);
    return NGX_CONF_ERROR;

bad_topic:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid Kafka topic \"%V\": up to 249 of "
                       "a-z A-Z 0-9 . _ -", &topic);
    return NGX_CONF_ERROR;
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


/* the worker's producer ----------------------------------------------- */


static ngx_int_t
ngx_http_helicone_kafka_init_process(ngx_cycle_t *cycle)
{
    size_t                                size;
    ngx_uint_t                            i, spool;
    ngx_http_helicone_kafka_topic_t     **ktp, *kt;
    ngx_http_helicone_kafka_main_conf_t  *kmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        /* not in the cache manager and loader */
        return NGX_OK;
    }

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

    spool = 0;
    ktp = kmcf->topics.elts;

    for (i = 0; i < kmcf->topics.nelts; i++) {
        kt = ktp[i];

        kt->fd = NGX_INVALID_FILE;
        kt->replay_fd = NGX_INVALID_FILE;

        if (kt->spool == NULL) {
            continue;
        }

        /* claimed names stay unique should a pid come back */
        kt->replay_seq = (ngx_uint_t) ngx_time();

        spool = 1;

        /* "<dir>/<topic>.<pid>.<seq>.<offset>.replay" at most */
        size = kt->spool->name.len + 1 + kt->name.len
               + 3 * (NGX_OFF_T_LEN + 1) + sizeof(".replay");

        kt->path_size = size;
        kt->spool_name = ngx_pnalloc(cycle->pool, size);
        kt->replay_name = ngx_pnalloc(cycle->pool, size);
        kt->path = ngx_pnalloc(cycle->pool, size);

        if (kt->spool_name == NULL || kt->replay_name == NULL
            || kt->path == NULL)
        {
            return NGX_ERROR;
        }

        ngx_sprintf(kt->spool_name, "%V/%V.%P.jsonl%Z",
                    &kt->spool->name, &kt->name, ngx_pid);
    }

    /*
     * A failure leaves the worker serving without a producer: events go
     * to the spool. NGX_ERROR here would end the worker for good.
     */
    (void) ngx_http_helicone_kafka_start(kmcf);

    kmcf->poll.handler = ngx_http_helicone_kafka_poll_handler;
    kmcf->poll.data = kmcf;
    kmcf->poll.log = cycle->log;
    kmcf->poll.cancelable = 1;

    ngx_add_timer(&kmcf->poll, NGX_HTTP_HELICONE_KAFKA_POLL);

    if (spool) {
        kmcf->replay.handler = ngx_http_helicone_kafka_replay_handler;
        kmcf->replay.data = kmcf;
        kmcf->replay.log = cycle->log;
        kmcf->replay.cancelable = 1;

        ngx_add_timer(&kmcf->replay, NGX_HTTP_HELICONE_KAFKA_REPLAY_SLOW);
    }

    return NGX_OK;
}


/*
 * Exit, for a quit, a reload and a terminate alike: the flush is bounded,
 * so a cluster that is down never keeps an old worker alive; what is left
 * is purged, and its delivery reports put it in the spool.
 */

static void
ngx_http_helicone_kafka_exit_process(ngx_cycle_t *cycle)
{
    u_char                               *name;
    ngx_uint_t                            i;
    ngx_http_helicone_kafka_stats_t      *s;
    ngx_http_helicone_kafka_topic_t     **ktp, *kt;
    ngx_http_helicone_kafka_main_conf_t  *kmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return;
    }

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

    ktp = kmcf->topics.elts;

    for (i = 0; i < kmcf->topics.nelts; i++) {
        kt = ktp[i];

        if (kt->replay_fd != NGX_INVALID_FILE && !kt->replay_eof) {

            /*
             * What was produced from it is delivered or spooled again by
             * now: the name keeps where the rest starts, for whoever
             * claims the file next
             */

            name = ngx_http_helicone_kafka_replay_path(kt, kt->path,
                                                       kt->replay_seq,
                                                       kt->replay_off);

            if (ngx_rename_file(kt->replay_name, name) == NGX_FILE_ERROR) {
                ngx_log_error(NGX_LOG_ERR, cycle->log, ngx_errno,
                              "helicone kafka: " ngx_rename_file_n
                              " \"%s\" to \"%s\" failed, its lines will "
                              "be produced again", kt->replay_name, name);
            }

            (void) ngx_close_file(kt->replay_fd);
            kt->replay_fd = NGX_INVALID_FILE;
        }

        if (kt->replay_fd != NGX_INVALID_FILE) {
            ngx_http_helicone_kafka_replay_close(kt);
        }

        if (kt->fd != NGX_INVALID_FILE) {
            (void) ngx_close_file(kt->fd);
            kt->fd = NGX_INVALID_FILE;
        }
    }

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

static ngx_int_t
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


static ngx_int_t
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


static void
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


static void
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


/* this worker's queue and spool, into the shared metrics as changes */

static void
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


/*
 * Bytes of events this worker holds on disk: its own spool file, and what
 * is not yet produced of a file it claimed for replay (which no longer
 * counts as a spool file once renamed).
 */

static off_t
ngx_http_helicone_kafka_spool_held(ngx_http_helicone_kafka_topic_t *kt)
{
    off_t  held;

    held = kt->spool_size;

    if (kt->replay_fd != NGX_INVALID_FILE && kt->replay_size > kt->replay_off)
    {
        held += kt->replay_size - kt->replay_off;
    }

    return held;
}


/* failures are counted as they happen and told at most once a period */

static void
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


/* the sink ------------------------------------------------------------ */


static ngx_int_t
ngx_http_helicone_kafka_emit(ngx_http_helicone_sink_t *sink, ngx_log_t *log,
    u_char *line, size_t len)
{
    ngx_http_helicone_kafka_topic_t *kt = sink->data;

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


/* RD_KAFKA_RESP_ERR_NO_ERROR: librdkafka owns a copy of the line now */

static rd_kafka_resp_err_t
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


/* the spool ----------------------------------------------------------- */


/*
 * Appends one line to this worker's spool file of the topic,
 * "<dir>/<topic>.<pid>.jsonl": one writev() per line, O_APPEND.
 */

static void
ngx_http_helicone_kafka_spool(ngx_http_helicone_kafka_topic_t *kt,
    const u_char *line, size_t len)
{
    u_char                                last;
    ssize_t                               n;
    struct iovec                          iov[2];
    ngx_file_info_t                       fi;
    ngx_http_helicone_kafka_main_conf_t  *kmcf;

    kmcf = kt->kmcf;

    if (kt->spool == NULL) {
        ngx_http_helicone_kafka_drop(kmcf, "no spool= is set", 0);
        return;
    }

    if (kt->fd == NGX_INVALID_FILE) {
        kt->fd = ngx_open_file(kt->spool_name, NGX_FILE_APPEND,
                               NGX_FILE_CREATE_OR_OPEN,
                               NGX_FILE_DEFAULT_ACCESS);

        if (kt->fd == NGX_INVALID_FILE) {
            ngx_http_helicone_kafka_drop(kmcf, "the spool file could not "
                                         "be opened", ngx_errno);
            return;
        }

        /* left by an earlier process with this pid, maybe */
        kt->spool_size = (ngx_fd_info(kt->fd, &fi) == NGX_FILE_ERROR)
                         ? 0 : ngx_file_size(&fi);

        /* ...cut mid-line when it died */
        if (kt->spool_size > 0
            && pread(kt->fd, &last, 1, kt->spool_size - 1) == 1
            && last != '\n')
        {
            ngx_http_helicone_kafka_spool_cut(kt);
        }
    }

    if (kt->spool_size + (off_t) len + 1 > kmcf->spool_max_size) {
        ngx_http_helicone_kafka_drop(kmcf, "the spool file is at "
                                     "helicone_kafka_spool_max_size", 0);
        return;
    }

    iov[0].iov_base = (void *) line;
    iov[0].iov_len = len;
    iov[1].iov_base = "\n";
    iov[1].iov_len = 1;

    n = writev(kt->fd, iov, 2);

    if (n == (ssize_t) len + 1) {
        kt->spool_size += n;
        kmcf->stats.spooled++;
        ngx_http_helicone_metrics_count(NGX_HTTP_HELICONE_KAFKA_SPOOLED);
        return;
    }

    if (n == -1) {
        ngx_http_helicone_kafka_drop(kmcf, "a write to the spool failed",
                                     ngx_errno);
        return;
    }

    /* a part of the line went (a full disk): it is taken back, so that
     * the next line does not join it */
    if (ftruncate(kt->fd, kt->spool_size) != 0) {
        kt->spool_size += n;
        ngx_http_helicone_kafka_spool_cut(kt);
    }

    ngx_http_helicone_kafka_drop(kmcf, "a write to the spool was "
                                 "incomplete", 0);
}


/*
 * The spool file ends in a cut line: it is ended here, alone (the replay
 * skips it as invalid), so that the next line does not join it.
 */

static void
ngx_http_helicone_kafka_spool_cut(ngx_http_helicone_kafka_topic_t *kt)
{
    if (write(kt->fd, "\n", 1) == 1) {
        kt->spool_size++;
    }
}


static void
ngx_http_helicone_kafka_drop(ngx_http_helicone_kafka_main_conf_t *kmcf,
    const char *reason, ngx_err_t err)
{
    kmcf->stats.dropped++;
    ngx_http_helicone_metrics_count(NGX_HTTP_HELICONE_KAFKA_DROPPED);
    kmcf->drop_reason = reason;
    kmcf->drop_err = err;
}


/*
 * The replay timer: while a spool file is claimed, a batch of its lines
 * every tick; otherwise a look for a file once a second.
 */

static void
ngx_http_helicone_kafka_replay_handler(ngx_event_t *ev)
{
    ngx_uint_t                            i, fast;
    ngx_http_helicone_kafka_topic_t     **ktp;
    ngx_http_helicone_kafka_main_conf_t  *kmcf;

    if (ngx_exiting) {
        /* the next generation's workers take the files over */
        return;
    }

    kmcf = ev->data;
    fast = 0;

    if (kmcf->rk) {
        ktp = kmcf->topics.elts;

        for (i = 0; i < kmcf->topics.nelts; i++) {
            if (ktp[i]->spool && ktp[i]->rkt) {
                fast |= ngx_http_helicone_kafka_replay_step(ktp[i]);
            }
        }
    }

    ngx_add_timer(ev, fast ? NGX_HTTP_HELICONE_KAFKA_REPLAY_FAST
                           : NGX_HTTP_HELICONE_KAFKA_REPLAY_SLOW);
}


/* 1: come back soon */

static ngx_uint_t
ngx_http_helicone_kafka_replay_step(ngx_http_helicone_kafka_topic_t *kt)
{
    u_char                               *line;
    size_t                                len;
    size_t                                bytes;
    ngx_int_t                             rc;
    ngx_uint_t                            n, window;
    rd_kafka_resp_err_t                   err;
    ngx_http_helicone_kafka_main_conf_t  *kmcf;

    kmcf = kt->kmcf;
    bytes = 0;

    if (kt->replay_fd == NGX_INVALID_FILE
        && ngx_http_helicone_kafka_replay_claim(kt) != NGX_OK)
    {
        return 0;
    }

    /* while deliveries fail, one line at a time probes the cluster */
    window = kmcf->healthy ? NGX_HTTP_HELICONE_KAFKA_REPLAY_WINDOW : 1;

    for (n = 0; !kt->replay_eof && n < NGX_HTTP_HELICONE_KAFKA_REPLAY_BATCH;
         n++)
    {
        if (kt->replay_inflight >= window
            || bytes >= NGX_HTTP_HELICONE_KAFKA_REPLAY_BYTES)
        {
            /* the rest next tick: large events must not stall the loop */
            return 1;
        }

        rc = ngx_http_helicone_kafka_replay_line(kt, &line, &len);

        if (rc == NGX_DONE) {
            kt->replay_eof = 1;
            break;
        }

        if (rc == NGX_ERROR) {
            return 0;
        }

        if (len == 0 || helicone_json_parse(line, len, NULL) != HELICONE_OK)
        {
            kt->buf_pos += len + 1;
            kt->replay_off += len + 1;

            if (len) {
                ngx_http_helicone_kafka_drop(kmcf, "an invalid line in "
                                             "the spool", 0);
            }

            continue;
        }

        err = ngx_http_helicone_kafka_produce(kt, line, len, kt);

        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            /* the line stays first for the next tick */
            return 1;
        }

        kt->buf_pos += len + 1;
        kt->replay_off += len + 1;
        bytes += len;

        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            kt->replay_inflight++;
            kmcf->stats.replayed++;
            ngx_http_helicone_metrics_count(NGX_HTTP_HELICONE_KAFKA_REPLAYED);
            continue;
        }

        if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
            ngx_http_helicone_kafka_drop(kmcf, "an event larger than "
                                         "message.max.bytes", 0);
            continue;
        }

        ngx_http_helicone_kafka_spool(kt, line, len);

        return 0;
    }

    if (kt->replay_eof && kt->replay_inflight == 0) {
        ngx_http_helicone_kafka_replay_close(kt);
    }

    /* a tick with a full window costs nothing */
    return 1;
}


/*
 * The next whole line of the claimed file in kt->buf: NGX_OK, NGX_DONE at
 * the end of the file, NGX_ERROR when it cannot be read.
 */

static ngx_int_t
ngx_http_helicone_kafka_replay_line(ngx_http_helicone_kafka_topic_t *kt,
    u_char **line, size_t *len)
{
    u_char  *p, *nl, *buf;
    size_t   size;
    ssize_t  n;

    for ( ;; ) {
        p = kt->buf + kt->buf_pos;

        nl = (kt->buf_len > kt->buf_pos)
             ? memchr(p, '\n', kt->buf_len - kt->buf_pos) : NULL;

        if (nl) {
            *line = p;
            *len = nl - p;
            return NGX_OK;
        }

        if (kt->replay_end) {
            if (kt->buf_len > kt->buf_pos) {
                /* cut short by a failed write */
                ngx_http_helicone_kafka_drop(kt->kmcf, "an incomplete line "
                                             "in the spool", 0);
                kt->replay_off += kt->buf_len - kt->buf_pos;
                kt->buf_pos = kt->buf_len;
            }

            return NGX_DONE;
        }

        if (kt->buf_pos) {
            ngx_memmove(kt->buf, p, kt->buf_len - kt->buf_pos);
            kt->buf_len -= kt->buf_pos;
            kt->buf_pos = 0;
        }

        if (kt->buf_len == kt->buf_size) {
            size = kt->buf_size ? 2 * kt->buf_size
                                : NGX_HTTP_HELICONE_KAFKA_READ;

            if (size > NGX_HTTP_HELICONE_KAFKA_LINE_MAX) {
                ngx_log_error(NGX_LOG_ERR, kt->kmcf->log, 0,
                              "helicone kafka: \"%s\" has a line longer "
                              "than %uz bytes, the rest of the file is "
                              "dropped", kt->replay_name,
                              (size_t) NGX_HTTP_HELICONE_KAFKA_LINE_MAX);

                ngx_http_helicone_kafka_drop(kt->kmcf, "a line in the spool "
                                             "is too long", 0);
                kt->replay_end = 1;
                kt->buf_pos = 0;
                kt->buf_len = 0;
                return NGX_DONE;
            }

            buf = ngx_alloc(size, kt->kmcf->log);
            if (buf == NULL) {
                return NGX_ERROR;
            }

            if (kt->buf) {
                ngx_memcpy(buf, kt->buf, kt->buf_len);
                ngx_free(kt->buf);
            }

            kt->buf = buf;
            kt->buf_size = size;
        }

        n = pread(kt->replay_fd, kt->buf + kt->buf_len,
                  kt->buf_size - kt->buf_len, kt->replay_read);

        if (n == -1) {
            ngx_log_error(NGX_LOG_ERR, kt->kmcf->log, ngx_errno,
                          "helicone kafka: pread() \"%s\" failed",
                          kt->replay_name);
            return NGX_ERROR;
        }

        if (n == 0) {
            kt->replay_end = 1;
            continue;
        }

        kt->buf_len += n;
        kt->replay_read += n;
    }
}


/*
 * Claims one spool file of the topic: this worker's own, or one whose
 * worker is gone (a reload, a crash), by renaming it to a name with this
 * worker's pid. rename() is atomic: of several workers that try, one
 * wins. NGX_OK: kt->replay_fd is open; NGX_DECLINED: none; NGX_ERROR.
 */

static ngx_int_t
ngx_http_helicone_kafka_replay_claim(ngx_http_helicone_kafka_topic_t *kt)
{
    u_char           *name;
    size_t            len;
    off_t             offset;
    ngx_int_t         rc;
    ngx_pid_t         pid;
    ngx_dir_t         dir;
    ngx_uint_t        own;
    ngx_file_info_t   fi;

    if (ngx_open_dir(&kt->spool->name, &dir) == NGX_ERROR) {
        if (!kt->dir_error) {
            ngx_log_error(NGX_LOG_ERR, kt->kmcf->log, ngx_errno,
                          "helicone kafka: " ngx_open_dir_n " \"%V\" "
                          "failed", &kt->spool->name);
            kt->dir_error = 1;
        }

        return NGX_ERROR;
    }

    kt->dir_error = 0;

    rc = NGX_DECLINED;

    for ( ;; ) {
        ngx_set_errno(0);

        if (ngx_read_dir(&dir) == NGX_ERROR) {
            if (ngx_errno != NGX_ENOMOREFILES) {
                ngx_log_error(NGX_LOG_ERR, kt->kmcf->log, ngx_errno,
                              "helicone kafka: " ngx_read_dir_n " \"%V\" "
                              "failed", &kt->spool->name);
                rc = NGX_ERROR;
            }

            break;
        }

        name = ngx_de_name(&dir);
        len = ngx_de_namelen(&dir);

        if (len <= kt->name.len + 1
            || len + kt->spool->name.len + 2 > kt->path_size
            || ngx_strncmp(name, kt->name.data, kt->name.len) != 0
            || name[kt->name.len] != '.')
        {
            continue;
        }

        if (ngx_http_helicone_kafka_spool_parse(name + kt->name.len + 1,
                                                name + len, &pid, &offset,
                                                &own)
            != NGX_OK)
        {
            continue;
        }

        if (pid != ngx_pid) {
            if (kill(pid, 0) == 0 || ngx_errno != NGX_ESRCH) {
                /* its worker still writes or replays it */
                continue;
            }

            own = 0;

        } else if (own && kt->fd != NGX_INVALID_FILE) {
            /* the spool file this worker writes: later lines, new file */
            (void) ngx_close_file(kt->fd);
            kt->fd = NGX_INVALID_FILE;
            kt->spool_size = 0;
        }

        ngx_sprintf(kt->path, "%V/%s%Z", &kt->spool->name, name);

        if (ngx_file_info(kt->path, &fi) == NGX_FILE_ERROR) {
            continue;
        }

        if (ngx_file_size(&fi) <= offset) {
            /* nothing left to produce */
            (void) ngx_delete_file(kt->path);
            continue;
        }

        do {
            kt->replay_seq++;
            (void) ngx_http_helicone_kafka_replay_path(kt, kt->replay_name,
                                                       kt->replay_seq,
                                                       offset);
        } while (ngx_file_info(kt->replay_name, &fi) != NGX_FILE_ERROR);

        if (ngx_rename_file(kt->path, kt->replay_name) == NGX_FILE_ERROR) {
            if (ngx_errno != NGX_ENOENT) {
                ngx_log_error(NGX_LOG_ERR, kt->kmcf->log, ngx_errno,
                              "helicone kafka: " ngx_rename_file_n " \"%s\" "
                              "to \"%s\" failed", kt->path, kt->replay_name);
            }

            /* another worker was first */
            continue;
        }

        ngx_log_error(NGX_LOG_NOTICE, kt->kmcf->log, 0,
                      "helicone kafka: replaying \"%s\" as \"%s\" from "
                      "byte %O", kt->path, kt->replay_name, offset);

        if (ngx_http_helicone_kafka_replay_open(kt, kt->replay_name, offset)
            == NGX_OK)
        {
            rc = NGX_OK;
            break;
        }
    }

    (void) ngx_close_dir(&dir);

    return rc;
}


static ngx_int_t
ngx_http_helicone_kafka_replay_open(ngx_http_helicone_kafka_topic_t *kt,
    u_char *name, off_t offset)
{
    ngx_fd_t         fd;
    ngx_file_info_t  fi;

    fd = ngx_open_file(name, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_ERR, kt->kmcf->log, ngx_errno,
                      "helicone kafka: " ngx_open_file_n " \"%s\" failed",
                      name);
        return NGX_ERROR;
    }

    kt->replay_fd = fd;
    kt->replay_size = (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR)
                      ? offset : ngx_file_size(&fi);
    kt->replay_off = offset;
    kt->replay_read = offset;
    kt->buf_pos = 0;
    kt->buf_len = 0;
    kt->replay_eof = 0;
    kt->replay_end = 0;

    return NGX_OK;
}


/* every line delivered, or in the spool again: the file goes */

static void
ngx_http_helicone_kafka_replay_close(ngx_http_helicone_kafka_topic_t *kt)
{
    (void) ngx_close_file(kt->replay_fd);
    kt->replay_fd = NGX_INVALID_FILE;

    if (ngx_delete_file(kt->replay_name) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ERR, kt->kmcf->log, ngx_errno,
                      "helicone kafka: " ngx_delete_file_n " \"%s\" failed",
                      kt->replay_name);
        return;
    }

    ngx_log_error(NGX_LOG_NOTICE, kt->kmcf->log, 0,
                  "helicone kafka: replayed \"%s\"", kt->replay_name);
}


/*
 * A spool file name after "<topic>.": "<pid>.jsonl", the file a worker
 * appends to, or "<pid>.<seq>.<offset>.replay", one a worker claimed,
 * whose lines before offset are done.
 */

static ngx_int_t
ngx_http_helicone_kafka_spool_parse(u_char *p, u_char *end, ngx_pid_t *pid,
    off_t *offset, ngx_uint_t *own)
{
    u_char      *dot;
    off_t        n[3];
    ngx_uint_t   i;

    for (i = 0; i < 3; i++) {
        dot = ngx_strlchr(p, end, '.');

        if (dot == NULL || dot == p) {
            return NGX_ERROR;
        }

        n[i] = ngx_atoof(p, dot - p);

        if (n[i] == NGX_ERROR) {
            return NGX_ERROR;
        }

        p = dot + 1;

        if (i == 0 && end - p == 5 && ngx_strncmp(p, "jsonl", 5) == 0) {
            break;
        }
    }

    if (n[0] <= 0 || n[0] > NGX_MAX_INT32_VALUE) {
        return NGX_ERROR;
    }

    *pid = (ngx_pid_t) n[0];

    if (i == 0) {
        *offset = 0;
        *own = 1;
        return NGX_OK;
    }

    if (end - p != 6 || ngx_strncmp(p, "replay", 6) != 0) {
        return NGX_ERROR;
    }

    *offset = n[2];
    *own = 0;

    return NGX_OK;
}


static u_char *
ngx_http_helicone_kafka_replay_path(ngx_http_helicone_kafka_topic_t *kt,
    u_char *buf, ngx_uint_t seq, off_t offset)
{
    (void) ngx_sprintf(buf, "%V/%V.%P.%ui.%O.replay%Z", &kt->spool->name,
                       &kt->name, ngx_pid, seq, offset);

    return buf;
}


/* helicone_kafka_status ----------------------------------------------- */


/* this worker's counters as JSON */

static ngx_int_t
ngx_http_helicone_kafka_status_handler(ngx_http_request_t *r)
{
    off_t                                 spool;
    ngx_int_t                             rc;
    ngx_buf_t                            *b;
    ngx_uint_t                            i, replaying;
    ngx_chain_t                           out;
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

    b = ngx_create_temp_buf(r->pool, 512);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_sprintf(b->pos,
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

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
