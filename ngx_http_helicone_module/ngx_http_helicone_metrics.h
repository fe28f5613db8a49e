/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Counters in shared memory, shown as Prometheus text, and the health
 * endpoint (metrics.c).
 */

#ifndef _NGX_HTTP_HELICONE_METRICS_H_INCLUDED_
#define _NGX_HTTP_HELICONE_METRICS_H_INCLUDED_


/* what happened outside a request: the sinks' and the store's */
typedef enum {
    NGX_HTTP_HELICONE_KAFKA_PRODUCED = 0,
    NGX_HTTP_HELICONE_KAFKA_DELIVERED,
    NGX_HTTP_HELICONE_KAFKA_FAILED,
    NGX_HTTP_HELICONE_KAFKA_QUEUE_FULL,
    NGX_HTTP_HELICONE_KAFKA_SPOOLED,
    NGX_HTTP_HELICONE_KAFKA_REPLAYED,
    NGX_HTTP_HELICONE_KAFKA_DROPPED,
    NGX_HTTP_HELICONE_REDIS_FAILED,
    NGX_HTTP_HELICONE_REDIS_TLS_RESUMED,
    NGX_HTTP_HELICONE_REDIS_MASTER_SWITCHED,
    NGX_HTTP_HELICONE_REDIS_REDIRECTED,
    NGX_HTTP_HELICONE_EVENT_COUNTERS
} ngx_http_helicone_event_counter_e;

/* a worker's own figures, summed over the live workers when shown */
typedef enum {
    NGX_HTTP_HELICONE_GAUGE_REDIS_READY = 0,
    NGX_HTTP_HELICONE_GAUGE_KAFKA_QUEUE,
    NGX_HTTP_HELICONE_GAUGE_KAFKA_SPOOL,
    NGX_HTTP_HELICONE_GAUGES
} ngx_http_helicone_gauge_e;


/* the counters' zone, at configuration time; NGX_OK or NGX_ERROR */
ngx_int_t ngx_http_helicone_metrics_init(ngx_conf_t *cf);

/* for the sinks and the store, which have no request at hand */
void ngx_http_helicone_metrics_count(ngx_http_helicone_event_counter_e which);

/* adds delta to one of this worker's gauges */
void ngx_http_helicone_metrics_gauge(ngx_http_helicone_gauge_e which,
    ngx_atomic_int_t delta);

/* in the log phase: the request's counts, status, tokens and cost */
void ngx_http_helicone_metrics_record(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);

/* helicone_metrics, helicone_health: NGX_CONF_OK or an error */
char *ngx_http_helicone_metrics_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_helicone_health_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#endif /* _NGX_HTTP_HELICONE_METRICS_H_INCLUDED_ */
