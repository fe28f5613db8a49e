/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* What a request cost, from the price data (cost.c). */

#ifndef _NGX_HTTP_HELICONE_COST_H_INCLUDED_
#define _NGX_HTTP_HELICONE_COST_H_INCLUDED_


/* What the request cost, written by cost.c only. */
typedef struct {
    uint64_t                       pico;         /* pico-USD, if known */
    unsigned                       done:1;       /* computed, once */
    unsigned                       known:1;
} ngx_http_helicone_cost_ctx_t;


/* the price tables into hmcf (cf->pool); NGX_OK; NGX_ERROR, logged */
ngx_int_t ngx_http_helicone_costs_init(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf);

/*
 * NGX_OK with the cost in ctx (pico-USD); NGX_DECLINED when it is not
 * known: no usage, or no price for the model. Computed once.
 */
ngx_int_t ngx_http_helicone_cost(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);

/* the cost as a JSON number in USD, or "null"; buf holds 32 bytes */
size_t ngx_http_helicone_cost_format(ngx_http_helicone_ctx_t *ctx,
    u_char *buf);

/*
 * What a cost limit charges when the price is unknown: the usage at the
 * served provider's dearest known price, else the dearest known at all.
 * NGX_OK with *pico; NGX_DECLINED without usage.
 */
ngx_int_t ngx_http_helicone_cost_ceiling(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, uint64_t *pico);


#endif /* _NGX_HTTP_HELICONE_COST_H_INCLUDED_ */
