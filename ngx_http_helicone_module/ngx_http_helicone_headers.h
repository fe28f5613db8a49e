/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Request and response headers: what the client's Helicone-* headers
 * ask (read once per request from headers.c's table), what goes
 * upstream, what every response of ours carries.
 */

#ifndef _NGX_HTTP_HELICONE_HEADERS_H_INCLUDED_
#define _NGX_HTTP_HELICONE_HEADERS_H_INCLUDED_


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
    ngx_http_helicone_retry_t      retry;        /* Helicone-Retry-* */
} ngx_http_helicone_asked_t;


/*
 * Reads every Helicone-* request header that shapes the request and its
 * log into ctx (copies in r->pool); an unreadable one is ignored.
 */
void ngx_http_helicone_headers_read(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);

/*
 * Builds into out (initialized here, in r->pool) the headers an attempt
 * at target t sends: the client's without hop-by-hop and Helicone-*
 * ones, and in gateway mode the provider's key in place of the client's
 * credential. NGX_OK; NGX_ERROR: no memory.
 */
ngx_int_t ngx_http_helicone_headers_upstream(ngx_http_request_t *r,
    ngx_http_helicone_target_t *t, ngx_list_t *out);

/*
 * A fresh list in r->pool holding the elements of src (their strings
 * shared); dst may be src's struct copy. NGX_OK; NGX_ERROR: no memory.
 */
ngx_int_t ngx_http_helicone_headers_copy(ngx_http_request_t *r,
    ngx_list_t *dst, ngx_list_t *src);

/* the first header named so (any case), in the list's memory; NULL: none */
ngx_table_elt_t *ngx_http_helicone_header_find(ngx_list_t *headers,
    const char *name, size_t len);

/* 1 when h is one of the headers a client's credential travels in */
ngx_uint_t ngx_http_helicone_header_credential(ngx_table_elt_t *h);

/*
 * Appends a header to the list: name must outlive the request (a
 * literal), value's memory is the caller's. NGX_OK; NGX_ERROR: no memory.
 */
ngx_int_t ngx_http_helicone_header_add(ngx_http_request_t *r,
    ngx_list_t *headers, const char *name, size_t len, ngx_str_t *value);

/* a response header whose value is the number n; as header_add() */
ngx_int_t ngx_http_helicone_header_add_number(ngx_http_request_t *r,
    const char *name, size_t len, uint64_t n);

/*
 * A concern's own headers on every response of ours (a headers_out
 * row): NGX_OK; NGX_ERROR: no memory.
 */
typedef ngx_int_t (*ngx_http_helicone_headers_out_pt)(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);

/*
 * At configuration time: adds a row, called after those added before
 * (module.c adds them, so headers.c calls up into no concern). NGX_OK;
 * NGX_ERROR: no memory.
 */
ngx_int_t ngx_http_helicone_headers_out_add(ngx_conf_t *cf,
    ngx_http_helicone_headers_out_pt handler);

/*
 * The headers every response of ours carries, on top of the provider's:
 * Helicone-Id, -Status, the headers_out rows', who served. NGX_OK;
 * NGX_ERROR: no memory.
 */
ngx_int_t ngx_http_helicone_headers_response(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);


#endif /* _NGX_HTTP_HELICONE_HEADERS_H_INCLUDED_ */
