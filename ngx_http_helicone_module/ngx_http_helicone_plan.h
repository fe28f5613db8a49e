/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The plan: which targets a request may go to, in which order, and each
 * one's URL, headers and body (plan.c); attempt.c tries them.
 */

#ifndef _NGX_HTTP_HELICONE_PLAN_H_INCLUDED_
#define _NGX_HTTP_HELICONE_PLAN_H_INCLUDED_


#define NGX_HTTP_HELICONE_MAX_TARGETS     16


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


/* The request's targets, written by plan.c only. */
typedef struct {
    ngx_http_helicone_target_t    *targets;
    ngx_uint_t                     ntargets;
    ngx_str_t                      target_origin; /* target mode */
} ngx_http_helicone_plan_ctx_t;


/*
 * The targets, in r->pool, into ctx. NGX_OK; NGX_DECLINED with *rf
 * saying why the request cannot be routed; NGX_ERROR.
 */
ngx_int_t ngx_http_helicone_plan(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_refusal_t *rf);

/*
 * Target t's URL and body, made when it is first tried. NGX_OK;
 * NGX_DECLINED: the request cannot go to this target (*rf says why);
 * NGX_ERROR.
 */
ngx_int_t ngx_http_helicone_plan_prepare(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_target_t *t,
    ngx_http_helicone_refusal_t *rf);

/*
 * *body (the client's, or one of a target's own) with "model" replaced
 * by *model (NULL: kept) and, with include_usage,
 * stream_options.include_usage set, spliced into a new buffer from
 * r->pool that *body then points to. NGX_OK (*injected: include_usage
 * was added by us); NGX_DECLINED: nothing changed, *body untouched and
 * *injected 0; NGX_ERROR: no memory.
 */
ngx_int_t ngx_http_helicone_plan_splice(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_str_t *model, ngx_uint_t include_usage,
    ngx_str_t *body, int *injected);

/*
 * Helicone-Fallbacks (h) as the targets, in r->pool. NGX_OK;
 * NGX_DECLINED with *rf for a bad header or target; NGX_ERROR.
 */
ngx_int_t ngx_http_helicone_plan_fallbacks(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_table_elt_t *h,
    ngx_http_helicone_refusal_t *rf);


#endif /* _NGX_HTTP_HELICONE_PLAN_H_INCLUDED_ */
