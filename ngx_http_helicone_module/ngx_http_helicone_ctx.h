/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * A request's state, one ngx_http_helicone_ctx_t in r->pool, made by
 * ngx_http_helicone_create_ctx() (handler.c). Its fields are the
 * request's own (handler.c); each concern keeps its part in a sub-struct
 * declared in its header and written by its file, read by the others.
 */

#ifndef _NGX_HTTP_HELICONE_CTX_H_INCLUDED_
#define _NGX_HTTP_HELICONE_CTX_H_INCLUDED_


struct ngx_http_helicone_ctx_s {
    ngx_http_request_t            *request;
    ngx_str_t                      id;           /* Helicone-Id */
    ngx_str_t                      client_id;    /* Helicone-Request-Id */
    ngx_http_helicone_api_t       *api;          /* gateway: the client API */

    time_t                         start_sec;
    ngx_msec_t                     start_msec_part;
    ngx_msec_t                     start;        /* ngx_current_msec */
    ngx_msec_t                     first_byte;   /* filter.c */
    ngx_msec_t                     end;          /* event.c */

    ngx_str_t                      body;         /* client body, contiguous */
    helicone_json_value_t          json;         /* valid when json_ok */
    helicone_json_value_t          json_model;   /* its members, or INVALID */
    helicone_json_value_t          json_stream_options;
    ngx_str_t                      model;        /* as the client sent it */

    ngx_str_t                      user_id;
    ngx_array_t                   *properties;   /* ngx_keyval_t */
    ngx_str_t                      model_override;
    ngx_uint_t                     step;         /* NGX_HTTP_HELICONE_STEP_* */

    ngx_http_helicone_asked_t      asked;        /* headers.c */
    ngx_http_helicone_auth_ctx_t   auth;         /* auth.c */
    ngx_http_helicone_tokenlimit_result_t  tokenlimit; /* tokenlimit.c */
    ngx_http_helicone_cache_ctx_t  cache;        /* cache.c */
    ngx_http_helicone_store_ctx_t  store;        /* store.c */
    ngx_http_helicone_ratelimit_ctx_t  rl;       /* ratelimit.c */
    ngx_http_helicone_plan_ctx_t   plan;         /* plan.c */
    ngx_http_helicone_retry_t      retry;        /* attempt.c */
    ngx_http_helicone_attempts_t   attempts;     /* attempt.c */
    ngx_http_helicone_attempt_t   *served;       /* filter.c: whose response
                                                    the client got */
    ngx_http_helicone_relay_t      relay;        /* response.c */
    ngx_http_helicone_cost_ctx_t   cost;         /* cost.c */

    off_t                          response_bytes; /* sent to the client */

    ngx_str_t                      error_body;   /* error.c, filter.c: our
                                                    error JSON, for the log */

    unsigned                       json_ok:1;
    unsigned                       stream:1;     /* client asked to stream */
    unsigned                       include_usage:1; /* and for its usage */
    unsigned                       waited:1;     /* the store answered */
    unsigned                       relayed:1;    /* response headers sent */
    unsigned                       done:1;
    unsigned                       aborted:1;
    unsigned                       own_response:1; /* error JSON by us */
    unsigned                       json_error:1; /* nginx error rewritten */
    unsigned                       json_error_sent:1;
    unsigned                       misconfigured:1;
    unsigned                       logged:1;
};


#endif /* _NGX_HTTP_HELICONE_CTX_H_INCLUDED_ */
