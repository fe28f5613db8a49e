/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Responses of our own that say what went wrong, as OpenAI's do. */

#ifndef _NGX_HTTP_HELICONE_ERROR_H_INCLUDED_
#define _NGX_HTTP_HELICONE_ERROR_H_INCLUDED_


/*
 * error.c: sends {"error":{...}} with status from the main request and
 * returns what the caller passes to ngx_http_finalize_request().
 */
ngx_int_t ngx_http_helicone_send_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *type, const char *code,
    ngx_str_t *message);

/*
 * Writes {"error":{"message":...,"type":...,"param":null,"code":...}}
 * into *out, in r->pool. NGX_OK; NGX_ERROR: no memory.
 */
ngx_int_t ngx_http_helicone_error_json(ngx_http_request_t *r,
    const char *type, const char *code, ngx_str_t *message, ngx_str_t *out);

/* what an error nginx raised in our location means to a client (static) */
void ngx_http_helicone_error_for_status(ngx_uint_t status,
    const char **type, const char **code, ngx_str_t *message);


#endif /* _NGX_HTTP_HELICONE_ERROR_H_INCLUDED_ */
