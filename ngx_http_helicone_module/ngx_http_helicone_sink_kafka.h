/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The Kafka sink's own types, shared by its three files only:
 * sink_kafka.c (configuration, process hooks, the sink's write, status),
 * sink_kafka_producer.c (librdkafka) and sink_kafka_spool.c (the spool
 * file and its replay). Everything here runs on the worker's event loop.
 */

#ifndef _NGX_HTTP_HELICONE_SINK_KAFKA_H_INCLUDED_
#define _NGX_HTTP_HELICONE_SINK_KAFKA_H_INCLUDED_


#include "ngx_http_helicone_module.h"

#include <librdkafka/rdkafka.h>


#define NGX_HTTP_HELICONE_KAFKA_KEY_REQUEST    0
#define NGX_HTTP_HELICONE_KAFKA_KEY_ORG        1
#define NGX_HTTP_HELICONE_KAFKA_KEY_USER       2

#define NGX_HTTP_HELICONE_KAFKA_POLL           100      /* ms */


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


/* sink_kafka.c: the sink's accounting */

/* one event lost for good: counted, the reason told by the next report */
void ngx_http_helicone_kafka_drop(ngx_http_helicone_kafka_main_conf_t *kmcf,
    const char *reason, ngx_err_t err);
/* failures since the last report, logged at most once a period */
void ngx_http_helicone_kafka_report(ngx_http_helicone_kafka_main_conf_t *kmcf);
/* this worker's queue and spool into the shared gauges */
void ngx_http_helicone_kafka_gauges(ngx_http_helicone_kafka_main_conf_t *kmcf);
/* ev armed: handler, data kmcf, kmcf->log, timer ms from now */
void ngx_http_helicone_kafka_timer(ngx_http_helicone_kafka_main_conf_t *kmcf,
    ngx_event_t *ev, ngx_event_handler_pt handler, ngx_msec_t timer);


/* sink_kafka_producer.c: the worker's librdkafka producer */

/* nginx -t: the properties as rd_kafka_new() will see them; logged */
ngx_int_t ngx_http_helicone_kafka_check(ngx_conf_t *cf,
    ngx_http_helicone_kafka_main_conf_t *kmcf);
/* a producer and its topics; NGX_ERROR (logged): events are spooled */
ngx_int_t ngx_http_helicone_kafka_start(
    ngx_http_helicone_kafka_main_conf_t *kmcf);
/* flush for up to timeout ms, purge the rest (it is spooled), destroy */
void ngx_http_helicone_kafka_stop(ngx_http_helicone_kafka_main_conf_t *kmcf,
    ngx_msec_t timeout);
/* the poll timer: delivery reports, a fatal producer remade, reports */
void ngx_http_helicone_kafka_poll_handler(ngx_event_t *ev);
/*
 * Hands one line (no newline) to librdkafka, which copies it:
 * RD_KAFKA_RESP_ERR_NO_ERROR, or why not (no producer: ERR__STATE).
 * opaque comes back in the delivery report: non-NULL for a replayed line.
 */
rd_kafka_resp_err_t ngx_http_helicone_kafka_produce(
    ngx_http_helicone_kafka_topic_t *kt, u_char *line, size_t len,
    void *opaque);


/* sink_kafka_spool.c: the spool file and its replay */

/* spool=DIR: its ngx_path_t, shared by the lines that name it; NULL */
ngx_path_t *ngx_http_helicone_kafka_spool_path(ngx_conf_t *cf,
    ngx_str_t *dir);
/* the topics' spool paths, the replay timer; NGX_ERROR: no memory */
ngx_int_t ngx_http_helicone_kafka_spool_init(
    ngx_http_helicone_kafka_main_conf_t *kmcf, ngx_cycle_t *cycle);
/* at exit, after the producer's stop: claimed files renamed or deleted */
void ngx_http_helicone_kafka_spool_exit(
    ngx_http_helicone_kafka_main_conf_t *kmcf);
/* one line (no newline) appended, or dropped and counted */
void ngx_http_helicone_kafka_spool(ngx_http_helicone_kafka_topic_t *kt,
    const u_char *line, size_t len);
/* bytes of events this worker holds on disk for the topic */
off_t ngx_http_helicone_kafka_spool_held(ngx_http_helicone_kafka_topic_t *kt);


extern ngx_module_t  ngx_http_helicone_kafka_module;


#endif /* _NGX_HTTP_HELICONE_SINK_KAFKA_H_INCLUDED_ */
