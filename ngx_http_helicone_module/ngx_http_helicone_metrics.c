/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Metrics: counters and histograms in a shared memory zone every worker
 * adds to with atomics, served as Prometheus text by helicone_metrics.
 * The zone keeps its name, size and tag across reloads, so nginx hands
 * the old one back and the counters carry on. helicone_health answers a
 * load balancer's probe.
 */

#include "ngx_http_helicone_module.h"


#define NGX_HTTP_HELICONE_METRICS_ZONE     "helicone_metrics"
#define NGX_HTTP_HELICONE_METRICS_SIZE     (1024 * 1024)
#define NGX_HTTP_HELICONE_SERIES           1024
#define NGX_HTTP_HELICONE_PROVIDER_LEN     32
#define NGX_HTTP_HELICONE_MODEL_LEN        96
#define NGX_HTTP_HELICONE_BUCKETS          14

#define NGX_HTTP_HELICONE_WORKER_SLOTS     64

#define NGX_HTTP_HELICONE_SERIES_EMPTY     0
#define NGX_HTTP_HELICONE_SERIES_FILLING   1
#define NGX_HTTP_HELICONE_SERIES_READY     2


/* one label set: provider, model and status */
typedef struct {
    ngx_atomic_t                   state;        /* SERIES_EMPTY, ... */
    uint32_t                       hash;
    uint16_t                       status;
    u_char                         provider_len;
    u_char                         model_len;
    u_char                         provider[NGX_HTTP_HELICONE_PROVIDER_LEN];
    u_char                         model[NGX_HTTP_HELICONE_MODEL_LEN];
    ngx_atomic_t                   requests;
    ngx_atomic_t                   prompt_tokens;
    ngx_atomic_t                   completion_tokens;
    ngx_atomic_t                   cost;         /* pico-USD */
} ngx_http_helicone_series_t;


typedef struct {
    ngx_atomic_t                   le[NGX_HTTP_HELICONE_BUCKETS];
    ngx_atomic_t                   count;        /* also the +Inf bucket */
    ngx_atomic_t                   sum;          /* milliseconds */
} ngx_http_helicone_histogram_t;


/* one worker's gauges, found by pid; a dead worker's slot is skipped */
typedef struct {
    ngx_atomic_t                   pid;
    ngx_atomic_t                   value[NGX_HTTP_HELICONE_GAUGES];
} ngx_http_helicone_worker_slot_t;


typedef struct {
    ngx_atomic_t                   cache_hits;
    ngx_atomic_t                   cache_misses;
    ngx_atomic_t                   rate_limited;
    ngx_atomic_t                   attempts;
    ngx_atomic_t                   retries;
    ngx_atomic_t                   fallbacks;
    ngx_atomic_t                   aborted;
    ngx_atomic_t                   dropped;      /* no series slot left */
    ngx_atomic_t                   events[NGX_HTTP_HELICONE_EVENT_COUNTERS];
    ngx_http_helicone_worker_slot_t  workers[NGX_HTTP_HELICONE_WORKER_SLOTS];
    ngx_http_helicone_histogram_t  duration;
    ngx_http_helicone_histogram_t  first_byte;
    ngx_http_helicone_series_t     series[NGX_HTTP_HELICONE_SERIES];
} ngx_http_helicone_metrics_t;


typedef struct {
    const char                    *name;
    const char                    *help;
    size_t                         offset;       /* in the metrics */
} ngx_http_helicone_counter_t;


static ngx_http_helicone_counter_t  ngx_http_helicone_counters[] = {
    { "helicone_cache_hits_total", "Requests answered from the cache.",
      offsetof(ngx_http_helicone_metrics_t, cache_hits) },
    { "helicone_cache_misses_total", "Cache lookups that found nothing.",
      offsetof(ngx_http_helicone_metrics_t, cache_misses) },
    { "helicone_rate_limited_total", "Requests refused by a rate limit.",
      offsetof(ngx_http_helicone_metrics_t, rate_limited) },
    { "helicone_attempts_total", "Upstream attempts, retries included.",
      offsetof(ngx_http_helicone_metrics_t, attempts) },
    { "helicone_retries_total", "Attempts that retried a target.",
      offsetof(ngx_http_helicone_metrics_t, retries) },
    { "helicone_fallbacks_total", "Requests served by a fallback target.",
      offsetof(ngx_http_helicone_metrics_t, fallbacks) },
    { "helicone_aborted_total", "Requests the client left before the end.",
      offsetof(ngx_http_helicone_metrics_t, aborted) },
    { "helicone_metrics_series_dropped_total",
      "Requests not counted by label set: the series table was full.",
      offsetof(ngx_http_helicone_metrics_t, dropped) },
    { "helicone_kafka_produced_total", "Log events handed to librdkafka.",
      offsetof(ngx_http_helicone_metrics_t,
               events[NGX_HTTP_HELICONE_KAFKA_PRODUCED]) },
    { "helicone_kafka_delivered_total", "Log events the brokers acknowledged.",
      offsetof(ngx_http_helicone_metrics_t,
               events[NGX_HTTP_HELICONE_KAFKA_DELIVERED]) },
    { "helicone_kafka_failed_total", "Failed delivery reports.",
      offsetof(ngx_http_helicone_metrics_t,
               events[NGX_HTTP_HELICONE_KAFKA_FAILED]) },
    { "helicone_kafka_queue_full_total",
      "Log events librdkafka's queue refused.",
      offsetof(ngx_http_helicone_metrics_t,
               events[NGX_HTTP_HELICONE_KAFKA_QUEUE_FULL]) },
    { "helicone_kafka_spooled_total", "Log events written to the spool.",
      offsetof(ngx_http_helicone_metrics_t,
               events[NGX_HTTP_HELICONE_KAFKA_SPOOLED]) },
    { "helicone_kafka_replayed_total",
      "Spooled log events produced again.",
      offsetof(ngx_http_helicone_metrics_t,
               events[NGX_HTTP_HELICONE_KAFKA_REPLAYED]) },
    { "helicone_kafka_dropped_total", "Log events lost.",
      offsetof(ngx_http_helicone_metrics_t,
               events[NGX_HTTP_HELICONE_KAFKA_DROPPED]) },
    { "helicone_redis_failed_total",
      "Store operations Redis did not answer.",
      offsetof(ngx_http_helicone_metrics_t,
               events[NGX_HTTP_HELICONE_REDIS_FAILED]) },
    { "helicone_redis_tls_resumed_total",
      "TLS connections to Redis that resumed an earlier session.",
      offsetof(ngx_http_helicone_metrics_t,
               events[NGX_HTTP_HELICONE_REDIS_TLS_RESUMED]) },
    { "helicone_redis_master_switches_total",
      "Times a worker moved to another master named by Sentinel.",
      offsetof(ngx_http_helicone_metrics_t,
               events[NGX_HTTP_HELICONE_REDIS_MASTER_SWITCHED]) },
    { "helicone_redis_redirects_total",
      "MOVED and ASK redirections followed in a Redis Cluster.",
      offsetof(ngx_http_helicone_metrics_t,
               events[NGX_HTTP_HELICONE_REDIS_REDIRECTED]) },
    { NULL, NULL, 0 }
};


/* bucket bounds, milliseconds */
static ngx_msec_t  ngx_http_helicone_bounds[NGX_HTTP_HELICONE_BUCKETS] = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
    120000
};


static ngx_int_t ngx_http_helicone_metrics_init_zone(ngx_shm_zone_t *zone,
    void *data);
static ngx_http_helicone_series_t *ngx_http_helicone_series(
    ngx_http_helicone_metrics_t *m, ngx_str_t *provider, ngx_str_t *model,
    ngx_uint_t status);
static ngx_uint_t ngx_http_helicone_series_is(ngx_http_helicone_series_t *s,
    ngx_str_t *provider, size_t plen, ngx_str_t *model, size_t mlen,
    ngx_uint_t status);
static void ngx_http_helicone_observe(ngx_http_helicone_histogram_t *h,
    ngx_msec_t ms);
static ngx_int_t ngx_http_helicone_metrics_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_helicone_health_handler(ngx_http_request_t *r);
static u_char *ngx_http_helicone_write_labels(u_char *p,
    ngx_http_helicone_series_t *s);
static u_char *ngx_http_helicone_write_gauges(u_char *p,
    ngx_http_helicone_metrics_t *m);
static u_char *ngx_http_helicone_write_histogram(u_char *p,
    const char *name, const char *help, ngx_http_helicone_histogram_t *h);
static ngx_int_t ngx_http_helicone_send_text(ngx_http_request_t *r,
    ngx_str_t *type, u_char *text, size_t len);


static ngx_shm_zone_t  *ngx_http_helicone_metrics_zone;
static ngx_str_t        ngx_http_helicone_no_model = ngx_string("");


ngx_int_t
ngx_http_helicone_metrics_init(ngx_conf_t *cf)
{
    ngx_str_t        name = ngx_string(NGX_HTTP_HELICONE_METRICS_ZONE);
    ngx_shm_zone_t  *zone;

    zone = ngx_shared_memory_add(cf, &name, NGX_HTTP_HELICONE_METRICS_SIZE,
                                 &ngx_http_helicone_module);
    if (zone == NULL) {
        return NGX_ERROR;
    }

    zone->init = ngx_http_helicone_metrics_init_zone;
    ngx_http_helicone_metrics_zone = zone;

    return NGX_OK;
}


static ngx_int_t
ngx_http_helicone_metrics_init_zone(ngx_shm_zone_t *zone, void *data)
{
    ngx_slab_pool_t  *shpool;

    if (data) {
        /* a reload: the old zone, counters and all */
        zone->data = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    zone->data = ngx_slab_calloc(shpool, sizeof(ngx_http_helicone_metrics_t));
    if (zone->data == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_http_helicone_metrics_record(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    ngx_str_t                     provider, model;
    ngx_uint_t                    i, status;
    ngx_msec_t                    end;
    ngx_http_helicone_series_t   *s;
    ngx_http_helicone_attempt_t  *a;
    ngx_http_helicone_metrics_t  *m;
    helicone_usage_t             *u;

    if (ngx_http_helicone_metrics_zone == NULL
        || ngx_http_helicone_metrics_zone->data == NULL)
    {
        return;
    }

    m = ngx_http_helicone_metrics_zone->data;

    status = r->headers_out.status;

    if (r->connection->error && (status == 0 || ctx->aborted)) {
        status = 499;   /* nginx's "client closed the request" */
    }

    ngx_str_set(&provider, "none");

    /*
     * the model id a provider would have seen if the plan got that far;
     * a cache hit is answered before it, under the model as asked
     */
    model = ctx->plan.ntargets ? ctx->plan.targets[0].model : ctx->model;

    if (ctx->served) {
        if (ctx->served->target->provider) {
            provider = ctx->served->target->provider->name;

        } else {
            /* target mode, an origin no provider has */
            ngx_str_set(&provider, "custom");
        }

        model = ctx->served->target->model;

        if (ctx->served->target != &ctx->plan.targets[0]) {
            (void) ngx_atomic_fetch_add(&m->fallbacks, 1);
        }

    } else if (ctx->cache.hit) {
        ngx_str_set(&provider, "cache");

    } else if (ctx->attempts.list.nelts == 0) {
        /*
         * refused before any provider was asked: the model is only the
         * client's text, and made-up names would fill the table for good
         */
        ngx_str_set(&model, "other");
    }

    s = ngx_http_helicone_series(m, &provider, &model, status);

    if (s == NULL) {
        (void) ngx_atomic_fetch_add(&m->dropped, 1);

    } else {
        (void) ngx_atomic_fetch_add(&s->requests, 1);

        u = &ctx->relay.usage;

        if (u->found) {
            (void) ngx_atomic_fetch_add(&s->prompt_tokens,
                                        (ngx_atomic_int_t)
                                        ngx_max(u->prompt_tokens, 0));
            (void) ngx_atomic_fetch_add(&s->completion_tokens,
                                        (ngx_atomic_int_t)
                                        ngx_max(u->completion_tokens, 0));
        }

        if (ctx->cost.known && !ctx->cache.hit) {
            (void) ngx_atomic_fetch_add(&s->cost,
                                        (ngx_atomic_int_t) ctx->cost.pico);
        }
    }

    if (ctx->cache.read) {
        (void) ngx_atomic_fetch_add(ctx->cache.hit ? &m->cache_hits
                                                   : &m->cache_misses, 1);
    }

    if (ctx->rl.limited) {
        (void) ngx_atomic_fetch_add(&m->rate_limited, 1);
    }

    if (ctx->aborted) {
        (void) ngx_atomic_fetch_add(&m->aborted, 1);
    }

    a = ctx->attempts.list.elts;

    for (i = 0; i < ctx->attempts.list.nelts; i++) {
        (void) ngx_atomic_fetch_add(&m->attempts, 1);

        if (a[i].retry) {
            (void) ngx_atomic_fetch_add(&m->retries, 1);
        }
    }

    end = ctx->end ? ctx->end : ngx_current_msec;

    if (ctx->start) {
        ngx_http_helicone_observe(&m->duration, end - ctx->start);

        if (ctx->first_byte) {
            ngx_http_helicone_observe(&m->first_byte,
                                      ctx->first_byte - ctx->start);
        }
    }
}


/* for the sinks and the store, which have no request at hand */

void
ngx_http_helicone_metrics_count(ngx_http_helicone_event_counter_e which)
{
    ngx_http_helicone_metrics_t  *m;

    if (ngx_http_helicone_metrics_zone == NULL
        || ngx_http_helicone_metrics_zone->data == NULL)
    {
        return;
    }

    m = ngx_http_helicone_metrics_zone->data;

    (void) ngx_atomic_fetch_add(&m->events[which], 1);
}


/*
 * Adds delta to one of this worker's gauges. The worker claims a slot on
 * first use: its own, else one that is free or whose process is gone.
 */

void
ngx_http_helicone_metrics_gauge(ngx_http_helicone_gauge_e which,
    ngx_atomic_int_t delta)
{
    ngx_uint_t                        i, g;
    ngx_atomic_uint_t                 pid;
    ngx_http_helicone_metrics_t      *m;
    ngx_http_helicone_worker_slot_t  *w;

    static ngx_http_helicone_worker_slot_t  *mine;
    static ngx_pid_t                         mine_pid;

    if (ngx_http_helicone_metrics_zone == NULL
        || ngx_http_helicone_metrics_zone->data == NULL)
    {
        return;
    }

    m = ngx_http_helicone_metrics_zone->data;

    if (mine == NULL || mine_pid != ngx_pid) {
        mine = NULL;

        for (i = 0; i < NGX_HTTP_HELICONE_WORKER_SLOTS && mine == NULL; i++) {
            w = &m->workers[i];
            pid = w->pid;

            if (pid == (ngx_atomic_uint_t) ngx_pid) {
                mine = w;
                break;
            }

            if ((pid == 0
                 || (kill((ngx_pid_t) pid, 0) == -1 && ngx_errno == ESRCH))
                && ngx_atomic_cmp_set(&w->pid, pid, ngx_pid))
            {
                for (g = 0; g < NGX_HTTP_HELICONE_GAUGES; g++) {
                    w->value[g] = 0;
                }

                mine = w;
            }
        }

        if (mine == NULL) {
            return;
        }

        mine_pid = ngx_pid;
    }

    (void) ngx_atomic_fetch_add(&mine->value[which], delta);
}


/*
 * Finds or claims the slot of a label set with no lock: a slot goes from
 * empty to filling by one worker's compare-and-swap, and is read only
 * once that worker has marked it ready.
 */

static ngx_http_helicone_series_t *
ngx_http_helicone_series(ngx_http_helicone_metrics_t *m, ngx_str_t *provider,
    ngx_str_t *model, ngx_uint_t status)
{
    size_t                       plen, mlen;
    uint32_t                     hash;
    ngx_uint_t                   i, n, spins;
    ngx_http_helicone_series_t  *s;

    static ngx_http_helicone_series_t   *last;
    static ngx_http_helicone_metrics_t  *last_m;

    plen = ngx_min(provider->len, NGX_HTTP_HELICONE_PROVIDER_LEN);
    mlen = ngx_min(model->len, NGX_HTTP_HELICONE_MODEL_LEN);

    if (mlen == 0) {
        /* no model at all (a refused request): data may be NULL */
        model = &ngx_http_helicone_no_model;
    }

    /*
     * A worker's requests mostly go to the series of the one before: its
     * labels compared cost less than their hash. A ready slot keeps its
     * labels for good: a match is that series.
     */

    if (last_m == m
        && last->state == NGX_HTTP_HELICONE_SERIES_READY
        && ngx_http_helicone_series_is(last, provider, plen, model, mlen,
                                       status))
    {
        return last;
    }

    ngx_crc32_init(hash);
    ngx_crc32_update(&hash, provider->data, plen);
    ngx_crc32_update(&hash, (u_char *) "\0", 1);
    ngx_crc32_update(&hash, model->data, mlen);
    ngx_crc32_update(&hash, (u_char *) &status, sizeof(status));
    ngx_crc32_final(hash);

    i = hash % NGX_HTTP_HELICONE_SERIES;

    for (n = 0; n < NGX_HTTP_HELICONE_SERIES; n++) {
        s = &m->series[i];

        if (s->state == NGX_HTTP_HELICONE_SERIES_EMPTY
            && ngx_atomic_cmp_set(&s->state, NGX_HTTP_HELICONE_SERIES_EMPTY,
                                  NGX_HTTP_HELICONE_SERIES_FILLING))
        {
            s->hash = hash;
            s->status = (uint16_t) status;
            s->provider_len = (u_char) plen;
            s->model_len = (u_char) mlen;
            ngx_memcpy(s->provider, provider->data, plen);
            ngx_memcpy(s->model, model->data, mlen);

            ngx_memory_barrier();
            s->state = NGX_HTTP_HELICONE_SERIES_READY;

            last = s;
            last_m = m;

            return s;
        }

        /* another worker is writing this slot's labels: a few stores */
        for (spins = 0;
             s->state == NGX_HTTP_HELICONE_SERIES_FILLING && spins < 1000000;
             spins++)
        {
            ngx_cpu_pause();
        }

        if (s->state == NGX_HTTP_HELICONE_SERIES_READY
            && s->hash == hash
            && ngx_http_helicone_series_is(s, provider, plen, model, mlen,
                                           status))
        {
            last = s;
            last_m = m;

            return s;
        }

        i = (i + 1) % NGX_HTTP_HELICONE_SERIES;
    }

    return NULL;
}


/* 1 when s has these labels (the lengths already capped) */

static ngx_uint_t
ngx_http_helicone_series_is(ngx_http_helicone_series_t *s,
    ngx_str_t *provider, size_t plen, ngx_str_t *model, size_t mlen,
    ngx_uint_t status)
{
    return s->status == status
           && s->provider_len == plen
           && s->model_len == mlen
           && ngx_memcmp(s->provider, provider->data, plen) == 0
           && ngx_memcmp(s->model, model->data, mlen) == 0;
}


static void
ngx_http_helicone_observe(ngx_http_helicone_histogram_t *h, ngx_msec_t ms)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_HELICONE_BUCKETS; i++) {
        if (ms <= ngx_http_helicone_bounds[i]) {
            (void) ngx_atomic_fetch_add(&h->le[i], 1);
            break;
        }
    }

    (void) ngx_atomic_fetch_add(&h->count, 1);
    (void) ngx_atomic_fetch_add(&h->sum, (ngx_atomic_int_t) ms);
}


char *
ngx_http_helicone_metrics_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_helicone_metrics_handler;

    return NGX_CONF_OK;
}


char *
ngx_http_helicone_health_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_helicone_health_handler;

    return NGX_CONF_OK;
}



static ngx_int_t
ngx_http_helicone_metrics_handler(ngx_http_request_t *r)
{
    size_t                        size;
    u_char                       *text, *p;
    ngx_int_t                     rc;
    ngx_str_t                     type;
    ngx_uint_t                    i, k, n, limit, written;
    ngx_http_helicone_series_t   *s;
    ngx_http_helicone_counter_t  *c;
    ngx_http_helicone_metrics_t  *m;

    static const char  *series_names[] = {
        "helicone_requests_total",
        "helicone_prompt_tokens_total",
        "helicone_completion_tokens_total",
        "helicone_cost_usd_total"
    };

    static const char  *series_help[] = {
        "Requests by provider, model and status.",
        "Prompt tokens reported by providers.",
        "Completion tokens reported by providers.",
        "Cost of provider calls in USD (cache hits cost nothing)."
    };

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_str_set(&type, "text/plain; version=0.0.4");

    if (ngx_http_helicone_metrics_zone == NULL
        || ngx_http_helicone_metrics_zone->data == NULL)
    {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    m = ngx_http_helicone_metrics_zone->data;

    n = 0;

    for (i = 0; i < NGX_HTTP_HELICONE_SERIES; i++) {
        n += (m->series[i].state == NGX_HTTP_HELICONE_SERIES_READY);
    }

    /*
     * a series line: a name, labels at most twice their bytes escaped, a
     * number; n again for the slots another worker may fill meanwhile
     */
    limit = ngx_min(2 * n + 16, NGX_HTTP_HELICONE_SERIES);

    size = 4096 + NGX_HTTP_HELICONE_BUCKETS * 2 * 96 + limit * 4
             * (48 + 64 + 2 * (NGX_HTTP_HELICONE_PROVIDER_LEN
                               + NGX_HTTP_HELICONE_MODEL_LEN) + 32);

    text = ngx_pnalloc(r->pool, size);
    if (text == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = text;

    for (k = 0; k < 4; k++) {
        p = ngx_sprintf(p, "# HELP %s %s\n# TYPE %s counter\n",
                        series_names[k], series_help[k], series_names[k]);

        written = 0;

        for (i = 0; i < NGX_HTTP_HELICONE_SERIES; i++) {
            s = &m->series[i];

            if (s->state != NGX_HTTP_HELICONE_SERIES_READY
                || written++ == limit)
            {
                continue;
            }

            p = ngx_sprintf(p, "%s", series_names[k]);
            p = ngx_http_helicone_write_labels(p, s);

            switch (k) {
            case 0:
                p = ngx_sprintf(p, " %uA\n", s->requests);
                break;
            case 1:
                p = ngx_sprintf(p, " %uA\n", s->prompt_tokens);
                break;
            case 2:
                p = ngx_sprintf(p, " %uA\n", s->completion_tokens);
                break;
            default:
                p = ngx_sprintf(p, " %uA.%012uA\n",
                                s->cost / 1000000000000,
                                s->cost % 1000000000000);
            }
        }
    }

    for (c = ngx_http_helicone_counters; c->name; c++) {
        p = ngx_sprintf(p, "# HELP %s %s\n# TYPE %s counter\n%s %uA\n",
                        c->name, c->help, c->name, c->name,
                        *(ngx_atomic_t *) ((u_char *) m + c->offset));
    }

    p = ngx_http_helicone_write_gauges(p, m);

    p = ngx_http_helicone_write_histogram(p,
            "helicone_request_duration_seconds",
            "Time from the request to the end of its response.",
            &m->duration);
    p = ngx_http_helicone_write_histogram(p,
            "helicone_time_to_first_byte_seconds",
            "Time from the request to the first byte of a provider's answer.",
            &m->first_byte);

    return ngx_http_helicone_send_text(r, &type, text, p - text);
}


/* label values escaped as the exposition format asks: \\, \" and \n */

static u_char *
ngx_http_helicone_write_labels(u_char *p, ngx_http_helicone_series_t *s)
{
    ngx_uint_t   i, j;
    u_char      *v;
    size_t       len;

    for (i = 0; i < 2; i++) {
        v = i ? s->model : s->provider;
        len = i ? s->model_len : s->provider_len;

        p = ngx_cpymem(p, i ? ",model=\"" : "{provider=\"", i ? 8 : 11);

        for (j = 0; j < len; j++) {
            if (v[j] == '\\' || v[j] == '"') {
                *p++ = '\\';
                *p++ = v[j];

            } else if (v[j] == '\n') {
                *p++ = '\\';
                *p++ = 'n';

            } else {
                *p++ = v[j];
            }
        }

        *p++ = '"';
    }

    return ngx_sprintf(p, ",status=\"%ui\"}", (ngx_uint_t) s->status);
}


static u_char *
ngx_http_helicone_write_gauges(u_char *p, ngx_http_helicone_metrics_t *m)
{
    ngx_uint_t                        i, g;
    ngx_atomic_int_t                  sum[NGX_HTTP_HELICONE_GAUGES];
    ngx_atomic_uint_t                 pid;
    ngx_http_helicone_worker_slot_t  *w;

    static const char  *names[] = {
        "helicone_redis_ready",
        "helicone_kafka_queue_length",
        "helicone_kafka_spool_bytes"
    };

    static const char  *help[] = {
        "Workers whose Redis connection is ready.",
        "Messages librdkafka holds, all workers.",
        "Bytes in the workers' spool files."
    };

    ngx_memzero(sum, sizeof(sum));

    for (i = 0; i < NGX_HTTP_HELICONE_WORKER_SLOTS; i++) {
        w = &m->workers[i];
        pid = w->pid;

        if (pid == 0
            || (kill((ngx_pid_t) pid, 0) == -1 && ngx_errno == ESRCH))
        {
            continue;
        }

        for (g = 0; g < NGX_HTTP_HELICONE_GAUGES; g++) {
            sum[g] += (ngx_atomic_int_t) w->value[g];
        }
    }

    for (g = 0; g < NGX_HTTP_HELICONE_GAUGES; g++) {
        p = ngx_sprintf(p, "# HELP %s %s\n# TYPE %s gauge\n%s %A\n",
                        names[g], help[g], names[g], names[g], sum[g]);
    }

    return p;
}


static u_char *
ngx_http_helicone_write_histogram(u_char *p, const char *name,
    const char *help, ngx_http_helicone_histogram_t *h)
{
    ngx_uint_t         i;
    ngx_atomic_uint_t  cumulative;

    p = ngx_sprintf(p, "# HELP %s %s\n# TYPE %s histogram\n",
                    name, help, name);

    cumulative = 0;

    for (i = 0; i < NGX_HTTP_HELICONE_BUCKETS; i++) {
        cumulative += h->le[i];
        p = ngx_sprintf(p, "%s_bucket{le=\"%M.%03M\"} %uA\n", name,
                        ngx_http_helicone_bounds[i] / 1000,
                        ngx_http_helicone_bounds[i] % 1000, cumulative);
    }

    p = ngx_sprintf(p, "%s_bucket{le=\"+Inf\"} %uA\n", name, h->count);
    p = ngx_sprintf(p, "%s_sum %uA.%03uA\n", name,
                    h->sum / 1000, h->sum % 1000);

    return ngx_sprintf(p, "%s_count %uA\n", name, h->count);
}


static ngx_int_t
ngx_http_helicone_health_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;
    ngx_str_t  type = ngx_string("application/json");

    static u_char  ok[] = "{\"status\":\"ok\"}\n";

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_helicone_send_text(r, &type, ok, sizeof(ok) - 1);
}


static ngx_int_t
ngx_http_helicone_send_text(ngx_http_request_t *r, ngx_str_t *type,
    u_char *text, size_t len)
{
    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = len;
    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = type->len;

    return ngx_http_helicone_send_whole(r, text, len);
}
