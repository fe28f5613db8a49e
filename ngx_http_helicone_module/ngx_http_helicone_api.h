/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The client APIs gateway mode serves, one row each in api.c's table,
 * and GET /v1/models, answered by the gateway itself (models.c).
 */

#ifndef _NGX_HTTP_HELICONE_API_H_INCLUDED_
#define _NGX_HTTP_HELICONE_API_H_INCLUDED_


/* the client APIs gateway mode serves (api.c's table) */
#define NGX_HTTP_HELICONE_ENDPOINT_CHAT        0
#define NGX_HTTP_HELICONE_ENDPOINT_RESPONSES   1
#define NGX_HTTP_HELICONE_ENDPOINT_EMBEDDINGS  2
#define NGX_HTTP_HELICONE_ENDPOINT_MODELS      3
#define NGX_HTTP_HELICONE_ENDPOINT_MODEL       4

/* the dialects an endpoint may be translated to (dialect.c's rows) */
#define NGX_HTTP_HELICONE_TRANSLATE_ANTHROPIC  0
#define NGX_HTTP_HELICONE_TRANSLATORS          1


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


/*
 * api.c: the row for the request's URI (a static row, never freed); NULL:
 * no API of ours. The proxy modes (gateway 0) answer none themselves.
 */
ngx_http_helicone_api_t *ngx_http_helicone_api_find(ngx_http_request_t *r,
    ngx_uint_t gateway);

/* 1 when provider p can take a request of this API, natively or not */
ngx_uint_t ngx_http_helicone_api_serves(ngx_http_helicone_api_t *api,
    ngx_http_helicone_provider_t *p);

/* the provider's own path for the API (p's memory); empty: it has none */
ngx_str_t *ngx_http_helicone_api_path(ngx_http_helicone_api_t *api,
    ngx_http_helicone_provider_t *p);

/* 1 when gateway mode may use p: it has a key, or needs none */
ngx_uint_t ngx_http_helicone_api_usable(ngx_http_helicone_provider_t *p);


/*
 * models.c: GET /v1/models, built once per configuration into hmcf
 * (cf->pool); NGX_OK or NGX_ERROR. list and retrieve are api_local_pt
 * rows: they send the response and return what finalizes the request.
 */
ngx_int_t ngx_http_helicone_models_init(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf);
ngx_int_t ngx_http_helicone_models_list(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
ngx_int_t ngx_http_helicone_models_retrieve(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);


#endif /* _NGX_HTTP_HELICONE_API_H_INCLUDED_ */
