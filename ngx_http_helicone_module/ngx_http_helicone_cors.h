/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* CORS for browser clients (cors.c): preflights and the response's own. */

#ifndef _NGX_HTTP_HELICONE_CORS_H_INCLUDED_
#define _NGX_HTTP_HELICONE_CORS_H_INCLUDED_


/* helicone_cors off | * | origin ...; NGX_CONF_OK or an error */
char *ngx_http_helicone_cors_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/*
 * Answers a CORS preflight from a listed origin with 204, returning what
 * finalizes the request. NGX_DECLINED: not a preflight, or not for us.
 */
ngx_int_t ngx_http_helicone_cors_preflight(ngx_http_request_t *r);

/*
 * Access-Control-Allow-Origin (with Vary: Origin) and the readable
 * headers on a response for a listed origin, in place of any the
 * provider sent. NGX_OK; NGX_ERROR: no memory.
 */
ngx_int_t ngx_http_helicone_cors_headers(ngx_http_request_t *r);


#endif /* _NGX_HTTP_HELICONE_CORS_H_INCLUDED_ */
