/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Types shared by the module's files: configuration, request state. */

#ifndef _NGX_HTTP_HELICONE_MODULE_H_INCLUDED_
#define _NGX_HTTP_HELICONE_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <helicone_core.h>
#include <helicone_json.h>
#include <helicone_sse.h>
#include <helicone_usage.h>
#include <helicone_buf.h>
#include <helicone_translate_anthropic.h>
#include <helicone_translate_responses_anthropic.h>
#include <helicone_cost.h>
#include <helicone_tokenlimit.h>
#include <helicone_policy.h>
#include <helicone_ratelimit.h>

#include "ngx_http_helicone_sink.h"


#define NGX_HTTP_HELICONE_PASS_OFF        0
#define NGX_HTTP_HELICONE_PASS_GATEWAY    1
#define NGX_HTTP_HELICONE_PASS_PROVIDER   2
#define NGX_HTTP_HELICONE_PASS_TARGET     3

#define NGX_HTTP_HELICONE_AUTH_OFF        0
#define NGX_HTTP_HELICONE_AUTH_OPTIONAL   1
#define NGX_HTTP_HELICONE_AUTH_REQUIRED   2

/* the dialects an endpoint may be translated to (dialect.c's rows) */
#define NGX_HTTP_HELICONE_TRANSLATE_ANTHROPIC  0
#define NGX_HTTP_HELICONE_TRANSLATORS          1

/* how a relayed response reaches the client */
#define NGX_HTTP_HELICONE_RESPONSE_PASS    0  /* byte for byte */
#define NGX_HTTP_HELICONE_RESPONSE_STRIP   1  /* less our usage chunk */
#define NGX_HTTP_HELICONE_RESPONSE_STREAM  2  /* Anthropic SSE translated */
#define NGX_HTTP_HELICONE_RESPONSE_JSON    3  /* Anthropic JSON translated */

/* the client APIs gateway mode serves (api.c's table) */
#define NGX_HTTP_HELICONE_ENDPOINT_CHAT        0
#define NGX_HTTP_HELICONE_ENDPOINT_RESPONSES   1
#define NGX_HTTP_HELICONE_ENDPOINT_EMBEDDINGS  2
#define NGX_HTTP_HELICONE_ENDPOINT_MODELS      3
#define NGX_HTTP_HELICONE_ENDPOINT_MODEL       4

#define NGX_HTTP_HELICONE_KEY_BEARER      0
#define NGX_HTTP_HELICONE_KEY_X_API_KEY   1
#define NGX_HTTP_HELICONE_KEY_API_KEY     2
#define NGX_HTTP_HELICONE_KEY_NONE        3

#define NGX_HTTP_HELICONE_MAX_TARGETS     16

#define NGX_HTTP_HELICONE_UUID_LEN        36

#define NGX_HTTP_HELICONE_CACHE_BUCKETS   20

/* the request's steps before the first attempt, each may wait for the store */
#define NGX_HTTP_HELICONE_STEP_AUTH       0
#define NGX_HTTP_HELICONE_STEP_CACHE      1
#define NGX_HTTP_HELICONE_STEP_LIMIT      2

#define NGX_HTTP_HELICONE_FAIL_OPEN       0
#define NGX_HTTP_HELICONE_FAIL_CLOSED     1

/* reply types, as Redis names them */
#define NGX_HTTP_HELICONE_REDIS_STRING    1
#define NGX_HTTP_HELICONE_REDIS_ARRAY     2
#define NGX_HTTP_HELICONE_REDIS_INTEGER   3
#define NGX_HTTP_HELICONE_REDIS_NIL       4
#define NGX_HTTP_HELICONE_REDIS_STATUS    5
#define NGX_HTTP_HELICONE_REDIS_ERROR     6


typedef enum {
    ngx_http_helicone_attempt_running = 0,
    ngx_http_helicone_attempt_ok,
    ngx_http_helicone_attempt_failed,
    ngx_http_helicone_attempt_truncated,
    ngx_http_helicone_attempt_aborted
} ngx_http_helicone_attempt_outcome_e;


/* the wire API a provider speaks; an endpoint's translator to one */
typedef struct ngx_http_helicone_dialect_s     ngx_http_helicone_dialect_t;
typedef struct ngx_http_helicone_translator_s  ngx_http_helicone_translator_t;


typedef struct {
    ngx_str_t                      name;         /* "openai" */
    ngx_str_t                      legacy_name;  /* "OPENAI", for events */
    ngx_http_helicone_dialect_t   *dialect;      /* dialect.c's row */
    ngx_str_t                      base_url;     /* no trailing slash */
    ngx_str_t                      origin;       /* scheme://host[:port] */
    ngx_str_t                      chat_path;
    ngx_str_t                      responses_path; /* empty: not native */
    ngx_str_t                      embeddings_path; /* empty: none */
    ngx_str_t                      api_version;  /* Azure "api-version" */
    ngx_uint_t                     auth;         /* NGX_HTTP_HELICONE_KEY_* */
    ngx_array_t                   *headers;      /* ngx_keyval_t, static */
    ngx_uint_t                     priority;     /* lower routes first */
    ngx_str_t                      key;          /* secret: never logged */
    unsigned                       stream_usage:1;
    unsigned                       has_key:1;
} ngx_http_helicone_provider_t;


typedef struct {
    ngx_http_helicone_provider_t  *provider;
    ngx_str_t                      id;           /* provider's model id */
} ngx_http_helicone_endpoint_t;


typedef struct {
    ngx_str_t                      name;         /* registry model name */
    ngx_array_t                    endpoints;    /* cheapest first */
    ngx_uint_t                     context;      /* window in tokens;
                                                    0: unknown */
} ngx_http_helicone_model_t;


typedef struct {
    ngx_str_t                      provider;     /* legacy name, "OPENAI" */
    helicone_legacy_row_t         *rows;         /* in the data's order */
    size_t                         nrows;
} ngx_http_helicone_legacy_t;


/* a provider's registry prices, for the ceiling of an unknown price */
typedef struct {
    ngx_str_t                      provider;     /* registry name, lower */
    ngx_array_t                    prices;       /* helicone_price_t * */
} ngx_http_helicone_prices_t;


typedef struct {
    u_char                         sha[32];      /* sha256("Bearer " key) */
    ngx_str_t                      org;
    ngx_str_t                      name;
} ngx_http_helicone_key_t;


typedef struct ngx_http_helicone_key_memo_s  ngx_http_helicone_key_memo_t;


typedef struct ngx_http_helicone_redis_s        ngx_http_helicone_redis_t;
typedef struct ngx_http_helicone_redis_op_s     ngx_http_helicone_redis_op_t;
typedef struct ngx_http_helicone_redis_reply_s  ngx_http_helicone_redis_reply_t;
typedef struct ngx_http_helicone_store_redis_s  ngx_http_helicone_store_redis_t;
typedef struct ngx_http_helicone_wait_s         ngx_http_helicone_wait_t;
typedef struct ngx_http_helicone_store_s        ngx_http_helicone_store_t;


/* an answer from Redis, valid during the handler's call only */
struct ngx_http_helicone_redis_reply_s {
    ngx_uint_t                         type;     /* NGX_HTTP_HELICONE_REDIS_* */
    int64_t                            integer;
    ngx_str_t                          str;      /* string, status, error */
    ngx_uint_t                         nelts;
    ngx_http_helicone_redis_reply_t   *elts;     /* one level deep */
};


/* reply NULL: no answer came (timeout, connection lost) */
typedef void (*ngx_http_helicone_redis_handler_pt)(void *data,
    ngx_http_helicone_redis_reply_t *reply);


typedef struct {
    ngx_str_t                          text;
    u_char                             sha1[40];  /* hex */
} ngx_http_helicone_redis_script_t;


typedef struct {
    ngx_array_t                    providers;    /* provider pointers */
    ngx_hash_t                     providers_hash;
    ngx_hash_t                     models_hash;  /* name, alias or id */
    ngx_array_t                   *overrides;    /* helicone_provider */
    ngx_array_t                   *provider_keys; /* helicone_provider_key */
    ngx_str_t                      providers_file;
    ngx_str_t                      models_file;
    ngx_str_t                      costs_file;
    ngx_hash_t                     prices_hash;  /* "provider:model id" */
    ngx_shm_zone_t                *store_zone;   /* helicone_store shm */
    ngx_http_helicone_store_redis_t  *store_redis; /* NULL: shm only */
    ngx_http_helicone_store_t     *store;        /* helicone_store's */
    ngx_flag_t                     keys_redis;   /* helicone_keys_redis */
    time_t                         keys_valid;   /* its local cache */
    ngx_array_t                    legacy;  /* ngx_http_helicone_legacy_t */
    ngx_array_t                    price_sets;   /* by provider, for
                                                    cost_ceiling() */
    ngx_array_t                   *keys;         /* sorted by sha */
    ngx_http_helicone_key_memo_t  *keys_memo;    /* auth.c: keys seen */
    ngx_array_t                   *models;       /* model pointers */
    ngx_str_t                      models_list;  /* GET /v1/models JSON */
    ngx_array_t                    models_ids;   /* ngx_keyval_t: id, object */
} ngx_http_helicone_main_conf_t;


typedef struct {
    ngx_uint_t                     pass;         /* NGX_HTTP_HELICONE_PASS_* */
    ngx_str_t                      pass_name;
    ngx_http_helicone_provider_t  *pass_provider;
    ngx_uint_t                     auth;
    ngx_str_t                      attempt_uri;
    ngx_array_t                   *target_allow; /* ngx_str_t origins */
    ngx_flag_t                     target_allow_providers;
    size_t                         log_body_max;
    size_t                         response_buffer;
    ngx_http_helicone_log_t       *logs;         /* NULL: no event log */
    ngx_flag_t                     log_off;

    ngx_msec_t                     attempt_timeout; /* to response headers */
    ngx_msec_t                     deadline;     /* of the whole chain */
    ngx_array_t                   *fallback_on;  /* ngx_uint_t statuses */
    ngx_str_t                      fallback_models; /* appended chain */

    ngx_flag_t                     retry;        /* helicone_retry on */
    ngx_uint_t                     retry_num;    /* retries, not calls */
    ngx_uint_t                     retry_factor; /* thousandths */
    ngx_msec_t                     retry_min;
    ngx_msec_t                     retry_max;
    ngx_msec_t                     retry_after_max; /* cap on Retry-After */
    ngx_flag_t                     retry_jitter;

    ngx_array_t                   *ratelimits;   /* helicone_rl_policy_t */
    ngx_uint_t                     ratelimit_fail; /* open or closed */

    ngx_flag_t                     cache;        /* unset: headers decide */
    time_t                         cache_max_ttl;
    size_t                         cache_max_entry;

    ngx_array_t                   *cors;         /* ngx_str_t origins, or
                                                    "*"; NULL: off */
} ngx_http_helicone_loc_conf_t;


typedef struct ngx_http_helicone_ctx_s  ngx_http_helicone_ctx_t;

/* a request the gateway answers itself, after auth (GET /v1/models) */
typedef ngx_int_t (*ngx_http_helicone_api_local_pt)(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);

typedef int (*ngx_http_helicone_api_request_pt)(
    const helicone_json_value_t *req, const helicone_translate_opts_t *opts,
    helicone_buf_t *out, const char **error);
typedef int (*ngx_http_helicone_api_response_pt)(
    const helicone_json_value_t *resp, int64_t created, helicone_buf_t *out,
    helicone_usage_t *usage);

/* a translated stream's state (its chat part first), for one response */
typedef helicone_translate_stream_t *(*ngx_http_helicone_api_stream_pt)(
    ngx_http_request_t *r, ngx_http_helicone_ctx_t *ctx, size_t max);
typedef int (*ngx_http_helicone_api_stream_event_pt)(
    helicone_translate_stream_t *s, const helicone_sse_event_t *ev,
    helicone_buf_t *out);

/* a relayed stream's event: HELICONE_RESPONSES_* bits, usage, model */
typedef unsigned (*ngx_http_helicone_api_event_pt)(
    const helicone_json_value_t *doc, helicone_usage_t *usage,
    helicone_json_value_t *model);

/*
 * A client API: how its URL is recognized, which providers serve it as
 * it is (a path of their own) and which through a translator.
 */
typedef struct {
    ngx_str_t                      path;         /* the URI ends with it */
    ngx_uint_t                     kind;         /* ENDPOINT_* */
    ngx_uint_t                     method;       /* NGX_HTTP_GET, _POST */
    size_t                         native;       /* offsetof a provider's
                                                    path for it; 0: none */
    const char                    *azure;        /* Azure's path, after the
                                                    deployment or not */
    ngx_http_helicone_api_local_pt  local;       /* answered here */
    ngx_http_helicone_translator_t *translate[NGX_HTTP_HELICONE_TRANSLATORS];
                                                 /* to a dialect; NULL:
                                                    none */
    ngx_http_helicone_api_event_pt     read_event;  /* NULL: chat chunks */
    unsigned                       id:1;         /* path + "/" + an id */
    unsigned                       json:1;       /* a body with "model" */
    unsigned                       stream_usage:1; /* stream_options'
                                                    include_usage exists */
    unsigned                       deployment:1; /* Azure: model in path */
} ngx_http_helicone_api_t;


typedef struct {
    ngx_http_helicone_provider_t  *provider;
    ngx_str_t                      model;        /* model id sent upstream */
    ngx_str_t                      url;          /* full upstream URL */
    ngx_str_t                      body;         /* body sent upstream */
    ngx_list_t                    *headers;      /* Helicone-Fallbacks': all */
    helicone_codes_t              *on_codes;     /* when to try the next */
    helicone_json_value_t          body_override; /* bodyKeyOverride */
    ngx_int_t                      index;        /* in Helicone-Fallbacks */
    ngx_uint_t                     tries;        /* attempts made on it */
    unsigned                       usage_injected:1; /* include_usage ours */
    unsigned                       provider_named:1; /* by the client
                                                        (Target-Provider):
                                                        read with, never
                                                        sent to */
    unsigned                       translated:1; /* OpenAI -> Anthropic */
} ngx_http_helicone_target_t;


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


/* Helicone-Increase-Timeout's wait for a first byte: Helicone's 30 min */
#define NGX_HTTP_HELICONE_INCREASED_TIMEOUT  (30 * 60 * 1000)


/* What the client's Helicone-* request headers ask (headers.c). */
typedef struct {
    ngx_str_t                      target_provider; /* names a target's
                                                       provider */
    ngx_uint_t                     token_limit;  /* helicone_tokenlimit_e */
    ngx_flag_t                     omit_request;
    ngx_flag_t                     omit_response;
    ngx_flag_t                     stream_usage; /* proxy mode: ask usage */
    ngx_flag_t                     increase_timeout;
    ngx_flag_t                     force_format; /* whole SSE events only */
} ngx_http_helicone_asked_t;


/* What the token-limit handler did, for the log event (tokenlimit.c). */
typedef struct {
    ngx_uint_t                     strategy;     /* helicone_tokenlimit_e
                                                    that ran; NONE: none */
    uint64_t                       estimate;     /* tokens, as sent */
    uint64_t                       limit;        /* 0: the model's window is
                                                    unknown */
    uint64_t                       result;       /* tokens, as forwarded */
    ngx_uint_t                     dropped;      /* messages dropped */
    ngx_uint_t                     cut;          /* texts shortened */
    ngx_str_t                      model;        /* fallback's choice */
} ngx_http_helicone_tokenlimit_result_t;


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
    ngx_http_helicone_dialect_t   *dialect;      /* the served one's */
    ngx_http_helicone_translator_t *translator;  /* the API's to it, when
                                                    translated */
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


typedef struct {
    ngx_http_helicone_ctx_t       *main;
    ngx_http_helicone_attempt_t   *attempt;
    ngx_int_t                      result;       /* post_subrequest verdict */
    unsigned                       decided:1;
    unsigned                       swallow:1;    /* failed: hide response */
    unsigned                       relayed:1;
} ngx_http_helicone_sr_ctx_t;


#include "ngx_http_helicone_dialect.h"


extern ngx_module_t  ngx_http_helicone_module;

extern const unsigned char  ngx_http_helicone_embedded_providers[];
extern const size_t         ngx_http_helicone_embedded_providers_len;
extern const unsigned char  ngx_http_helicone_embedded_models[];
extern const size_t         ngx_http_helicone_embedded_models_len;
extern const unsigned char  ngx_http_helicone_embedded_costs[];
extern const size_t         ngx_http_helicone_embedded_costs_len;


/* handler.c: the main request, from body to the last byte */
ngx_int_t ngx_http_helicone_handler(ngx_http_request_t *r);
ngx_http_helicone_ctx_t *ngx_http_helicone_create_ctx(ngx_http_request_t *r);
void ngx_http_helicone_wake(ngx_http_request_t *r);
void ngx_http_helicone_resume(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
ngx_int_t ngx_http_helicone_uuid(u_char *out);
ngx_int_t ngx_http_helicone_send_whole(ngx_http_request_t *r, u_char *data,
    size_t len);

/* api.c: the client APIs, one row each */
ngx_http_helicone_api_t *ngx_http_helicone_api_find(ngx_http_request_t *r,
    ngx_uint_t gateway);
ngx_uint_t ngx_http_helicone_api_serves(ngx_http_helicone_api_t *api,
    ngx_http_helicone_provider_t *p);
ngx_str_t *ngx_http_helicone_api_path(ngx_http_helicone_api_t *api,
    ngx_http_helicone_provider_t *p);
ngx_uint_t ngx_http_helicone_api_usable(ngx_http_helicone_provider_t *p);

/* models.c: GET /v1/models, built once per configuration */
ngx_int_t ngx_http_helicone_models_init(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf);
ngx_int_t ngx_http_helicone_models_list(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
ngx_int_t ngx_http_helicone_models_retrieve(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);

/* body.c */
ngx_int_t ngx_http_helicone_body_collect(ngx_http_request_t *r,
    ngx_str_t *body);

/* auth.c */
ngx_int_t ngx_http_helicone_auth(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
ngx_int_t ngx_http_helicone_auth_done(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
char *ngx_http_helicone_keys_redis_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_helicone_keys_load(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, ngx_str_t *path);

/* headers.c */
void ngx_http_helicone_headers_read(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
ngx_int_t ngx_http_helicone_headers_upstream(ngx_http_request_t *r,
    ngx_http_helicone_target_t *t, ngx_list_t *out);
ngx_int_t ngx_http_helicone_headers_copy(ngx_http_request_t *r,
    ngx_list_t *dst, ngx_list_t *src);
ngx_table_elt_t *ngx_http_helicone_header_find(ngx_list_t *headers,
    const char *name, size_t len);
ngx_uint_t ngx_http_helicone_header_credential(ngx_table_elt_t *h);
ngx_int_t ngx_http_helicone_header_add(ngx_http_request_t *r,
    ngx_list_t *headers, const char *name, size_t len, ngx_str_t *value);
ngx_int_t ngx_http_helicone_header_add_number(ngx_http_request_t *r,
    const char *name, size_t len, uint64_t n);
ngx_int_t ngx_http_helicone_headers_response(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);

/* plan.c: which targets, in which order */
ngx_int_t ngx_http_helicone_plan(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
ngx_int_t ngx_http_helicone_plan_prepare(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_target_t *t);
ngx_int_t ngx_http_helicone_plan_splice(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_str_t *model, ngx_uint_t include_usage,
    ngx_str_t *body, int *injected);
ngx_int_t ngx_http_helicone_plan_fallbacks(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_table_elt_t *h);
ngx_int_t ngx_http_helicone_plan_refuse(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_uint_t status, const char *code,
    const char *fmt, ...);

/* attempt.c: one upstream try as a subrequest, and what comes next */
ngx_int_t ngx_http_helicone_attempt_start(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
ngx_int_t ngx_http_helicone_attempt_next(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
ngx_uint_t ngx_http_helicone_attempt_has_next(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_attempt_t *a,
    ngx_uint_t status);
void ngx_http_helicone_attempt_policy(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);

/* filter.c */
ngx_int_t ngx_http_helicone_filter_init(ngx_conf_t *cf);

/* error.c */
ngx_int_t ngx_http_helicone_send_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *type, const char *code,
    ngx_str_t *message);
ngx_int_t ngx_http_helicone_error_json(ngx_http_request_t *r,
    const char *type, const char *code, ngx_str_t *message, ngx_str_t *out);
void ngx_http_helicone_error_for_status(ngx_uint_t status,
    const char **type, const char **code, ngx_str_t *message);

/* variables.c */
ngx_int_t ngx_http_helicone_add_variables(ngx_conf_t *cf);

/* providers.c */
ngx_int_t ngx_http_helicone_providers_init(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf);
ngx_http_helicone_provider_t *ngx_http_helicone_provider_find(
    ngx_http_helicone_main_conf_t *hmcf, u_char *name, size_t len);
/* helicone_model_parse()'s provider test: data is the main conf */
int ngx_http_helicone_provider_known(void *data, const unsigned char *name,
    size_t len);
/* tokenlimit.c */
ngx_int_t ngx_http_helicone_tokenlimit(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);

ngx_http_helicone_model_t *ngx_http_helicone_model_find(
    ngx_http_helicone_main_conf_t *hmcf, u_char *name, size_t len);
char *ngx_http_helicone_provider_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
char *ngx_http_helicone_provider_key_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_helicone_url_origin(ngx_str_t *url, ngx_str_t *origin);
ngx_int_t ngx_http_helicone_conf_read_file(ngx_conf_t *cf, ngx_str_t *path,
    ngx_str_t *out);
ngx_int_t ngx_http_helicone_provider_parse_auth(ngx_str_t *s,
    ngx_uint_t *auth);

/* json.c: the data files, read at configuration time with cJSON */
ngx_int_t ngx_http_helicone_json_load_providers(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, u_char *text, size_t len,
    ngx_str_t *source);
ngx_int_t ngx_http_helicone_json_load_models(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, u_char *text, size_t len,
    ngx_str_t *source, ngx_hash_keys_arrays_t *keys);
ngx_int_t ngx_http_helicone_json_load_costs(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, u_char *text, size_t len,
    ngx_str_t *source, ngx_hash_keys_arrays_t *keys);

/* response.c: watches, and where needed transforms, the relayed response */
ngx_int_t ngx_http_helicone_response_start(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_target_t *t);
void ngx_http_helicone_response_observe(ngx_http_helicone_ctx_t *ctx,
    u_char *p, size_t len);
ngx_int_t ngx_http_helicone_response_transform(ngx_http_request_t *sr,
    ngx_http_helicone_ctx_t *ctx, ngx_chain_t *in, ngx_chain_t **out);
void ngx_http_helicone_response_end(ngx_http_helicone_ctx_t *ctx);
ngx_int_t ngx_http_helicone_response_last(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);

#include "ngx_http_helicone_store.h"

/* redis.c: a Redis connection per worker; the only file knowing RESP;
 * redis_conf.c: where it goes and how */
ngx_http_helicone_redis_t *ngx_http_helicone_redis_create(ngx_conf_t *cf);
ngx_int_t ngx_http_helicone_redis_param(ngx_conf_t *cf,
    ngx_http_helicone_redis_t *redis, ngx_str_t *value);
char *ngx_http_helicone_redis_configure(ngx_conf_t *cf,
    ngx_http_helicone_redis_t *redis);
ngx_http_helicone_redis_script_t *ngx_http_helicone_redis_script(
    ngx_conf_t *cf, ngx_http_helicone_redis_t *redis, ngx_str_t *text);
ngx_int_t ngx_http_helicone_redis_init_worker(
    ngx_http_helicone_redis_t *redis, ngx_cycle_t *cycle);
void ngx_http_helicone_redis_exit_worker(ngx_http_helicone_redis_t *redis);
ngx_int_t ngx_http_helicone_redis_command(ngx_http_helicone_redis_t *redis,
    ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_helicone_redis_handler_pt handler, void *data,
    ngx_http_helicone_redis_op_t **opp);
ngx_int_t ngx_http_helicone_redis_eval(ngx_http_helicone_redis_t *redis,
    ngx_http_helicone_redis_script_t *script, ngx_uint_t nkeys,
    ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_helicone_redis_handler_pt handler, void *data,
    ngx_http_helicone_redis_op_t **opp);
void ngx_http_helicone_redis_cancel(ngx_http_helicone_redis_op_t *op);

/* cache.c */
ngx_int_t ngx_http_helicone_cache_init(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
ngx_int_t ngx_http_helicone_cache_lookup(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
ngx_int_t ngx_http_helicone_cache_lookup_done(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
ngx_int_t ngx_http_helicone_cache_send(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
ngx_int_t ngx_http_helicone_cache_headers(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
void ngx_http_helicone_cache_save(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);

/* ratelimit.c */
char *ngx_http_helicone_ratelimit_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_helicone_ratelimit_check(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
ngx_int_t ngx_http_helicone_ratelimit_check_done(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
void ngx_http_helicone_ratelimit_commit(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
ngx_int_t ngx_http_helicone_ratelimit_headers(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);

/* cost.c: what a request cost, from the price data */
ngx_int_t ngx_http_helicone_costs_init(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf);
ngx_int_t ngx_http_helicone_cost(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
size_t ngx_http_helicone_cost_format(ngx_http_helicone_ctx_t *ctx,
    u_char *buf);
ngx_int_t ngx_http_helicone_cost_ceiling(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, uint64_t *pico);

/* event.c: the log event, once per request */
ngx_int_t ngx_http_helicone_log_handler(ngx_http_request_t *r);

/* metrics.c: counters in shared memory, Prometheus text, health */
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

ngx_int_t ngx_http_helicone_metrics_init(ngx_conf_t *cf);
void ngx_http_helicone_metrics_count(ngx_http_helicone_event_counter_e which);
void ngx_http_helicone_metrics_gauge(ngx_http_helicone_gauge_e which,
    ngx_atomic_int_t delta);
void ngx_http_helicone_metrics_record(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
char *ngx_http_helicone_cors_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_helicone_cors_preflight(ngx_http_request_t *r);
ngx_int_t ngx_http_helicone_cors_headers(ngx_http_request_t *r);
char *ngx_http_helicone_metrics_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_helicone_health_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* mock.c: the built-in demo provider */
char *ngx_http_helicone_mock_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_helicone_mock_handler(ngx_http_request_t *r);

/*
 * module.c: a directive's "key=value" argument. 1 and *value set to what
 * follows "key=" (a part of arg, possibly empty) when arg is one; 0 when
 * it is not.
 */
ngx_uint_t ngx_http_helicone_conf_value(ngx_str_t *arg, const char *key,
    ngx_str_t *value);


/*
 * Trouble that recurs (a store down, requests refused for it) is logged
 * at most once per interval per worker: whether it may be now, *last
 * moved on if so.
 */

#define NGX_HTTP_HELICONE_LOG_EVERY  10   /* seconds */

static ngx_inline ngx_uint_t
ngx_http_helicone_log_due(time_t *last)
{
    if (*last && ngx_time() - *last < NGX_HTTP_HELICONE_LOG_EVERY) {
        return 0;
    }

    *last = ngx_time();

    return 1;
}


#endif /* _NGX_HTTP_HELICONE_MODULE_H_INCLUDED_ */
