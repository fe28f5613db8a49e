/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * TLS on the Redis connections through nginx's own SSL layer: a client
 * context made when the configuration is read; per connection the
 * expected name (SNI, and what the certificate must name), the last
 * session offered again, and after the handshake the verdict on the
 * server's certificate. The handshake itself runs on the event loop
 * (ngx_ssl_handshake(), driven by redis.c).
 */

#include "ngx_http_helicone_redis.h"


#define NGX_HTTP_HELICONE_REDIS_TLS_CA  "/etc/ssl/certs/ca-certificates.crt"


/*
 * The client context: TLS 1.2 and 1.3, the server checked against
 * tls_ca (the system's bundle by default), a client certificate when
 * tls_cert is given, and client sessions handed to save_session.
 */

ngx_int_t
ngx_http_helicone_redis_tls_init(ngx_conf_t *cf,
    ngx_http_helicone_redis_conf_t *rc)
{
    ngx_ssl_t           *ssl;
    ngx_pool_cleanup_t  *cln;

    ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (ssl == NULL) {
        return NGX_ERROR;
    }

    ssl->log = cf->log;

    if (ngx_ssl_create(ssl, NGX_SSL_TLSv1_2 | NGX_SSL_TLSv1_3, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(ssl);
        return NGX_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = ssl;

    if (rc->tls_cert.len
        && ngx_ssl_certificate(cf, ssl, &rc->tls_cert, &rc->tls_key, NULL)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (rc->tls_ca.len == 0) {
        ngx_str_set(&rc->tls_ca, NGX_HTTP_HELICONE_REDIS_TLS_CA);
    }

    if (ngx_ssl_trusted_certificate(cf, ssl, &rc->tls_ca, 4) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_ssl_client_session_cache(cf, ssl, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    rc->ssl = ssl;

    return NGX_OK;
}


/*
 * Makes c a TLS client of rc's context and starts the handshake: what
 * ngx_ssl_handshake() returns; on NGX_AGAIN c->ssl->handler is called
 * when it ends. The name goes out as SNI (not an address: RFC 6066) and
 * is what the certificate must name, a DNS name or an IP address.
 */

ngx_int_t
ngx_http_helicone_redis_tls_start(ngx_http_helicone_redis_conf_t *rc,
    ngx_connection_t *c, ngx_ssl_session_t *session)
{
    char               *name;
    X509_VERIFY_PARAM  *param;

    /* nginx's SSL layer keeps its state in the connection's pool */
    c->pool = ngx_create_pool(512, c->log);
    if (c->pool == NULL) {
        return NGX_ERROR;
    }

    if (ngx_ssl_create_connection(rc->ssl, c, NGX_SSL_CLIENT) != NGX_OK) {
        return NGX_ERROR;
    }

    name = (char *) rc->tls_name.data;
    param = SSL_get0_param(c->ssl->connection);

    if (X509_VERIFY_PARAM_set1_ip_asc(param, name) != 1) {

        /* not an address: a host name */

        if (SSL_set_tlsext_host_name(c->ssl->connection, name) != 1) {
            return NGX_ERROR;
        }

        X509_VERIFY_PARAM_set_hostflags(param,
                                        X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);

        if (X509_VERIFY_PARAM_set1_host(param, name, rc->tls_name.len)
            != 1)
        {
            return NGX_ERROR;
        }
    }

    if (session && ngx_ssl_set_session(c, session) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_ssl_handshake(c);
}


/*
 * After the handshake: NULL when the server's certificate chains to the
 * CA and names the expected host; else why not.
 */

const char *
ngx_http_helicone_redis_tls_verify(ngx_connection_t *c)
{
    long   rc;
    X509  *cert;

    rc = SSL_get_verify_result(c->ssl->connection);

    if (rc != X509_V_OK) {
        return X509_verify_cert_error_string(rc);
    }

    cert = SSL_get_peer_certificate(c->ssl->connection);
    if (cert == NULL) {
        return "no certificate";
    }

    X509_free(cert);

    return NULL;
}


/*
 * Before ngx_close_connection(): the SSL object and the pool are freed
 * at once, with
 * no close_notify waited for or sent (Redis does not need one, and an
 * unfinished shutdown would keep the connection past our close).
 */

void
ngx_http_helicone_redis_tls_close(ngx_connection_t *c)
{
    if (c->ssl) {
        c->ssl->no_wait_shutdown = 1;
        c->ssl->no_send_shutdown = 1;

        (void) ngx_ssl_shutdown(c);
    }

    if (c->pool) {
        ngx_destroy_pool(c->pool);
        c->pool = NULL;
    }
}
