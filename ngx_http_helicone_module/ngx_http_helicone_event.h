/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The log event, once per request (event.c), written to the sinks; and
 * the ids it carries (uuid.c).
 */

#ifndef _NGX_HTTP_HELICONE_EVENT_H_INCLUDED_
#define _NGX_HTTP_HELICONE_EVENT_H_INCLUDED_


#define NGX_HTTP_HELICONE_UUID_LEN        36


/*
 * The log phase handler: the event written to every sink of the level.
 * NGX_OK (also when there is nothing to log); NGX_ERROR: no memory.
 */
ngx_int_t ngx_http_helicone_log_handler(ngx_http_request_t *r);

/*
 * uuid.c: a fresh UUIDv4 into out (36 bytes, the caller's). NGX_OK;
 * NGX_ERROR: OpenSSL had no random bytes.
 */
ngx_int_t ngx_http_helicone_uuid(u_char *out);


#endif /* _NGX_HTTP_HELICONE_EVENT_H_INCLUDED_ */
