/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The dialects: the wire APIs the module speaks to providers, one row
 * each; a provider's "api" names its row. A row says how a request
 * reaches such a provider (URL, body) and how its answer is read (usage,
 * events, errors) or translated.
 *
 * Two tables, two sides: api.c's rows are the endpoints, what a client
 * speaks (chat, responses, embeddings, models); these rows are what a
 * provider speaks. An endpoint row names its translator to each dialect
 * that needs one (translate[], indexed by a row's translator): the
 * request, the whole answer, the stream's state and its events.
 *
 * Included by ngx_http_helicone_module.h, after its types.
 */

#ifndef _NGX_HTTP_HELICONE_DIALECT_H_INCLUDED_
#define _NGX_HTTP_HELICONE_DIALECT_H_INCLUDED_


/* an endpoint's translator to one dialect (api.c's rows) */
struct ngx_http_helicone_translator_s {
    ngx_http_helicone_api_request_pt       request;   /* client -> it */
    ngx_http_helicone_api_response_pt      response;  /* a whole answer */
    ngx_http_helicone_api_stream_pt        stream;    /* a stream's state */
    ngx_http_helicone_api_stream_event_pt  event;     /* its events fed */
};


/* whether provider p can take a request of the endpoint api */
typedef ngx_uint_t (*ngx_http_helicone_dialect_serves_pt)(
    ngx_http_helicone_api_t *api, ngx_http_helicone_provider_t *p);

/*
 * t->url, or t->body for the client's request: NGX_OK; NGX_DECLINED,
 * the request cannot go to t (ctx->error_* say why); NGX_ERROR.
 */
typedef ngx_int_t (*ngx_http_helicone_dialect_target_pt)(
    ngx_http_request_t *r, ngx_http_helicone_ctx_t *ctx,
    ngx_http_helicone_target_t *t);

/* an error body (4xx, 5xx) into OpenAI's error shape */
typedef int (*ngx_http_helicone_dialect_error_pt)(const unsigned char *body,
    size_t len, helicone_buf_t *out);

/* the usage of a JSON answer of the dialect's own shape */
typedef int (*ngx_http_helicone_dialect_usage_pt)(
    const helicone_json_value_t *doc, helicone_usage_t *u);


struct ngx_http_helicone_dialect_s {
    ngx_str_t                               name;     /* "api=" names it */
    ngx_uint_t                              translator; /* its index in
                                                   an endpoint's translate[] */
    ngx_http_helicone_dialect_serves_pt     serves;
    ngx_http_helicone_dialect_target_pt     url;
    ngx_http_helicone_dialect_target_pt     request;  /* the body it gets:
                                                   relayed, or translated */

    /* a translated answer: its whole body, its stream's events through
     * the endpoint's translate[translator]; its error bodies here */
    ngx_http_helicone_dialect_error_pt      error;

    /* reading what is relayed: NULL, OpenAI's shape (the endpoint's) */
    ngx_http_helicone_dialect_usage_pt      usage;
    ngx_http_helicone_api_event_pt          read_event;

    helicone_usage_kind_e                   usage_kind; /* cost */

    /* a provider added in the configuration: its key header, its chat
     * path, a header every request carries (empty: none) */
    ngx_uint_t                              auth;
    ngx_str_t                               chat_path;
    ngx_keyval_t                            header;

    unsigned                                deployment:1; /* the model is
                                                   in the URL (Azure) */
    unsigned                                include_usage:1; /* takes
                                          stream_options.include_usage */
};


/* the dialect of a provider that names none */
extern ngx_http_helicone_dialect_t  ngx_http_helicone_dialect_openai;


/* The row named s; NULL: none. */
ngx_http_helicone_dialect_t *ngx_http_helicone_dialect_find(ngx_str_t *s);


#endif /* _NGX_HTTP_HELICONE_DIALECT_H_INCLUDED_ */
