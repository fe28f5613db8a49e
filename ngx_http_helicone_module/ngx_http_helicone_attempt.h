/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Attempts: one upstream try each, a subrequest (attempt.c), and the
 * decision whether another follows; only attempt.c makes it.
 */

#ifndef _NGX_HTTP_HELICONE_ATTEMPT_H_INCLUDED_
#define _NGX_HTTP_HELICONE_ATTEMPT_H_INCLUDED_


typedef enum {
    ngx_http_helicone_attempt_running = 0,
    ngx_http_helicone_attempt_ok,
    ngx_http_helicone_attempt_failed,
    ngx_http_helicone_attempt_truncated,
    ngx_http_helicone_attempt_aborted
} ngx_http_helicone_attempt_outcome_e;


typedef struct {
    ngx_http_helicone_target_t    *target;
    ngx_uint_t                     retry;        /* 0: first try of target */
    ngx_http_helicone_attempt_outcome_e  outcome;
    ngx_uint_t                     status;       /* upstream status or 0 */
    const char                    *error;        /* failure class or NULL */
    ngx_msec_t                     start;        /* ngx_current_msec */
    ngx_msec_t                     first_byte;   /* 0: none */
    ngx_msec_t                     end;
} ngx_http_helicone_attempt_t;


/*
 * The request's tries, written by attempt.c (filter.c notes the Retry-After
 * of a failed try's response).
 */
typedef struct {
    ngx_array_t                    list;     /* ngx_http_helicone_attempt_t */
    ngx_uint_t                     next_target;
    ngx_http_helicone_target_t    *retry_target; /* tried again next */
    ngx_http_request_t            *sr;           /* the attempt running */
    ngx_event_t                    timer;        /* its first-byte limit */
    ngx_msec_t                     deadline;     /* ngx_current_msec, 0: none */
    ngx_msec_t                     retry_after;  /* asked by the provider */
    ngx_http_helicone_refusal_t    refusal;      /* why the last target
                                                    could not be tried */
    unsigned                       running:1;    /* attempt in flight */
    unsigned                       truncated:1;
    unsigned                       backoff:1;    /* waiting to retry */
} ngx_http_helicone_attempts_t;


/*
 * A retry policy: the one in force (the ctx's retry, attempt.c's), or
 * what the client's Helicone-Retry-* headers ask (the ctx's
 * asked.retry, each field NGX_CONF_UNSET* when not asked).
 */
typedef struct {
    ngx_flag_t                     on;
    ngx_uint_t                     num;          /* retries, not calls */
    ngx_uint_t                     factor;       /* thousandths */
    ngx_msec_t                     min;
    ngx_msec_t                     max;
} ngx_http_helicone_retry_t;


/* an attempt subrequest's own ctx */
typedef struct {
    ngx_http_helicone_ctx_t       *main;
    ngx_http_helicone_attempt_t   *attempt;
    ngx_int_t                      result;       /* post_subrequest verdict */
    unsigned                       decided:1;
    unsigned                       swallow:1;    /* failed: hide response */
    unsigned                       relayed:1;
} ngx_http_helicone_sr_ctx_t;


/*
 * The retry policy in force, the client's Helicone-Retry-* over the
 * location's (headers_read() first), and the chain's deadline.
 */
void ngx_http_helicone_attempt_policy(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);

/*
 * The first try, or the next after a failed one: NGX_OK when an attempt
 * runs, NGX_AGAIN when one will after a backoff, NGX_DECLINED when
 * nothing is left to try, NGX_ERROR.
 */
ngx_int_t ngx_http_helicone_attempt_start(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
ngx_int_t ngx_http_helicone_attempt_next(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);

/*
 * 1 when another try may follow a response of this status to attempt a:
 * decided when its headers arrive, so a failure that is retried or
 * passed on is never shown to the client.
 */
ngx_uint_t ngx_http_helicone_attempt_has_next(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_attempt_t *a,
    ngx_uint_t status);

/*
 * The milliseconds left before the chain's helicone_deadline, at most
 * limit (limit itself when there is none); 0 once the deadline passed.
 * Every wait of an attempt (its timer, a backoff, the proxy's read
 * timeout) and the "may another try follow" tests go through it.
 */
ngx_msec_t ngx_http_helicone_attempt_time_left(ngx_http_helicone_ctx_t *ctx,
    ngx_msec_t limit);


#endif /* _NGX_HTTP_HELICONE_ATTEMPT_H_INCLUDED_ */
