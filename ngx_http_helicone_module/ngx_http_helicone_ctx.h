/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * A request's state: what it asked, each concern's part, and the
 * relayed response's, one ngx_http_helicone_ctx_t in r->pool, made by
 * ngx_http_helicone_create_ctx() (handler.c).
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
    ngx_msec_t                     first_byte;
    ngx_msec_t                     end;

    ngx_str_t                      body;         /* client body, contiguous */
    helicone_json_value_t          json;         /* valid when json_ok */
    helicone_json_value_t          json_model;   /* its members, or INVALID */
    helicone_json_value_t          json_stream_options;
    ngx_str_t                      model;        /* as the client sent it */
    ngx_str_t                      served_model; /* response "model" */

    ngx_str_t                      org_id;
    ngx_str_t                      key_name;
    ngx_str_t                      user_id;
    ngx_array_t                   *properties;   /* ngx_keyval_t */
    ngx_str_t                      model_override;
    ngx_str_t                      target_origin; /* target mode */
    ngx_http_helicone_asked_t      asked;        /* headers.c */
    ngx_http_helicone_tokenlimit_result_t  tokenlimit; /* tokenlimit.c */

    ngx_http_helicone_target_t    *targets;
    ngx_uint_t                     ntargets;
    ngx_uint_t                     next_target;
    ngx_http_helicone_target_t    *retry_target; /* tried again next */
    ngx_http_request_t            *sr;           /* the attempt running */
    ngx_event_t                    timer;        /* its first-byte limit */
    ngx_msec_t                     deadline;     /* ngx_current_msec, 0: none */
    ngx_msec_t                     retry_after;  /* asked by the provider */

    u_char                         cache_digest[32]; /* of the key */
    ngx_uint_t                     cache_buckets;
    ngx_uint_t                     cache_bucket; /* the one served */
    time_t                         cache_ttl;
    ngx_str_t                      cache_entry;  /* a hit, copied */
    u_char                         cache_ref[36]; /* the original's id */
    ngx_uint_t                     cache_latency;
    uint64_t                       cache_saved;  /* pico-USD, or UNSET */
    ngx_str_t                      cache_provider; /* who served the hit */
    ngx_str_t                      cache_model;  /* the model id it got */

    ngx_uint_t                     step;         /* NGX_HTTP_HELICONE_STEP_* */
    ngx_uint_t                     store_pending; /* answers awaited */
    ngx_http_helicone_wait_t      *waits;        /* store.c's */

    helicone_rl_policy_t          *rl_policy;    /* the one reported */
    uint64_t                       rl_remaining;
    uint64_t                       rl_reset;
    uint64_t                       rl_wait;      /* Retry-After of a 429 */
    ngx_array_t                   *rl_charges;   /* cents, after the fact */

    ngx_uint_t                     retry_num;    /* the policy in force */
    ngx_uint_t                     retry_factor;
    ngx_msec_t                     retry_min;
    ngx_msec_t                     retry_max;
    ngx_array_t                    attempts; /* ngx_http_helicone_attempt_t */
    ngx_http_helicone_attempt_t   *served;

    helicone_sse_parser_t          sse;
    helicone_usage_t               usage;
    ngx_uint_t                     mode;  /* NGX_HTTP_HELICONE_RESPONSE_* */
    ngx_uint_t                     dialect;      /* NGX_HTTP_HELICONE_API_* */
    helicone_translate_stream_t   *translate;
    helicone_buf_t                 out;          /* transformed bytes */
    u_char                        *pending;      /* strip: the open event */
    size_t                         pending_len;
    size_t                         pending_size;
    const u_char                  *feed;         /* the input being parsed */
    size_t                         feed_start;   /* of it, not yet cut */
    ngx_chain_t                   *free;
    ngx_chain_t                   *busy;
    ngx_chain_t                   *held;         /* goes out with the end */
    u_char                        *capture;      /* response bytes kept */
    size_t                         capture_len;
    size_t                         capture_size; /* allocated */
    size_t                         capture_cap;  /* kept at most */
    off_t                          response_bytes;
    ngx_uint_t                     response_chunks;
    uint64_t                       cost;         /* pico-USD, if cost_known */

    ngx_uint_t                     error_status; /* plan refused: why */
    const char                    *error_type;
    const char                    *error_code;
    ngx_str_t                      error_message;
    ngx_str_t                      error_body;   /* nginx error as JSON */

    unsigned                       json_ok:1;
    unsigned                       stream:1;     /* client asked to stream */
    unsigned                       include_usage:1; /* and for its usage */
    unsigned                       event_stream:1; /* response is SSE */
    unsigned                       sse_done:1;   /* "[DONE]" seen */
    unsigned                       cut_usage:1;  /* STRIP: the usage chunk
                                                    is ours, not the
                                                    client's */
    unsigned                       provider_error:1; /* an error in a 200 */
    unsigned                       sse_overflow:1; /* an event too large to
                                                      translate */
    unsigned                       capture_overflow:1;
    unsigned                       running:1;    /* attempt in flight */
    unsigned                       relayed:1;    /* response headers sent */
    unsigned                       done:1;
    unsigned                       truncated:1;
    unsigned                       aborted:1;
    unsigned                       own_response:1; /* error JSON by us */
    unsigned                       json_error:1; /* nginx error rewritten */
    unsigned                       json_error_sent:1;
    unsigned                       misconfigured:1;
    unsigned                       header_deferred:1; /* sent with the body */
    unsigned                       logged:1;
    unsigned                       retry:1;      /* retries enabled */
    unsigned                       rate_limited:1;
    unsigned                       cache_read:1;
    unsigned                       cache_save:1;
    unsigned                       cache_hit:1;
    unsigned                       backoff:1;    /* waiting to retry */
    unsigned                       cost_done:1;
    unsigned                       cost_known:1;
    unsigned                       waited:1;     /* the store answered */
    unsigned                       store_cleanup:1;
    unsigned                       rl_limited:1;
    unsigned                       rl_failed:1;  /* a limit not checked */
    unsigned                       key_unavailable:1; /* no verdict */
};


#endif /* _NGX_HTTP_HELICONE_CTX_H_INCLUDED_ */
