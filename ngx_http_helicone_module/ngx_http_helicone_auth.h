/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Helicone API keys (auth.c): the keys file, and per request whether the
 * key the client sent is known, from the file or through the store.
 */

#ifndef _NGX_HTTP_HELICONE_AUTH_H_INCLUDED_
#define _NGX_HTTP_HELICONE_AUTH_H_INCLUDED_


typedef struct {
    u_char                         sha[32];      /* sha256("Bearer " key) */
    ngx_str_t                      org;
    ngx_str_t                      name;
} ngx_http_helicone_key_t;


/* Whose key the request carried, written by auth.c only. */
typedef struct {
    ngx_str_t                      org_id;
    ngx_str_t                      key_name;
    unsigned                       key_unavailable:1; /* no verdict */
} ngx_http_helicone_auth_ctx_t;


/*
 * helicone_keys FILE: its lines into hmcf->keys (cf->pool), sorted by
 * sha. NGX_OK; NGX_ERROR, logged with the line.
 */
ngx_int_t ngx_http_helicone_keys_load(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, ngx_str_t *path);

/* helicone_keys_redis on | off [valid=time]; NGX_CONF_OK or an error */
char *ngx_http_helicone_keys_redis_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);

/*
 * NGX_OK: the request may go on (the key's org and name in ctx when it
 * is known); NGX_DECLINED: a key is required and missing or unknown;
 * NGX_BUSY: it is required and the store that would know it is
 * unavailable; NGX_ERROR. NGX_AGAIN: the store is asked, and
 * auth_done() tells once it answered.
 */
ngx_int_t ngx_http_helicone_auth(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
ngx_int_t ngx_http_helicone_auth_done(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);


#endif /* _NGX_HTTP_HELICONE_AUTH_H_INCLUDED_ */
