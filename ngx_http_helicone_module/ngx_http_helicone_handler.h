/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The main request, from body to the last byte (handler.c), and the
 * phases and filters around it: body.c, filter.c, variables.c, mock.c.
 */

#ifndef _NGX_HTTP_HELICONE_HANDLER_H_INCLUDED_
#define _NGX_HTTP_HELICONE_HANDLER_H_INCLUDED_


/* the request's steps before the first attempt, each may wait for the store */
#define NGX_HTTP_HELICONE_STEP_AUTH       0
#define NGX_HTTP_HELICONE_STEP_CACHE      1
#define NGX_HTTP_HELICONE_STEP_LIMIT      2


/* the content handler: NGX_DONE once the body is being read, or a status */
ngx_int_t ngx_http_helicone_handler(ngx_http_request_t *r);

/* the request's ctx, in r->pool, set as the module's; NULL: no memory */
ngx_http_helicone_ctx_t *ngx_http_helicone_create_ctx(ngx_http_request_t *r);

/* the main request's write handler while attempts run */
void ngx_http_helicone_wake(ngx_http_request_t *r);

/* the store's last answer came: the waiting step goes on */
void ngx_http_helicone_resume(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);

/*
 * body.c: NGX_OK with body pointing into memory owned by r->pool (a body
 * nginx spilled into a file is read back); NGX_ERROR.
 */
ngx_int_t ngx_http_helicone_body_collect(ngx_http_request_t *r,
    ngx_str_t *body);

/* filter.c: the header and body filters; NGX_OK */
ngx_int_t ngx_http_helicone_filter_init(ngx_conf_t *cf);

/* variables.c: $helicone_*; NGX_OK or NGX_ERROR */
ngx_int_t ngx_http_helicone_add_variables(ngx_conf_t *cf);

/* mock.c: the built-in demo provider's directive and content handler */
char *ngx_http_helicone_mock_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_helicone_mock_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_HELICONE_HANDLER_H_INCLUDED_ */
