/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Responses of our own: errors in the shape OpenAI clients parse,
 * {"error":{...}}, and any whole body we answer with.
 */

#include "ngx_http_helicone_module.h"


/*
 * Writes {"error":{"message":...,"type":...,"param":null,"code":...}}
 * into r->pool.
 */

ngx_int_t
ngx_http_helicone_error_json(ngx_http_request_t *r, const char *type,
    const char *code, ngx_str_t *message, ngx_str_t *out)
{
    u_char  *p;
    size_t   len;

    static const char  head[] = "{\"error\":{\"message\":\"";

    len = sizeof(head) - 1
          + helicone_json_escape_len(message->data, message->len)
          + sizeof("\",\"type\":\"\",\"param\":null,\"code\":\"\"}}\n")
          + ngx_strlen(type) + ngx_strlen(code);

    out->data = ngx_pnalloc(r->pool, len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(out->data, head, sizeof(head) - 1);
    p = helicone_json_escape(p, message->data, message->len);
    p = ngx_sprintf(p, "\",\"type\":\"%s\",\"param\":null,\"code\":\"%s\"}}\n",
                    type, code);

    out->len = p - out->data;

    return NGX_OK;
}


/*
 * Sends an error of our own from the main request and returns what the
 * caller passes to ngx_http_finalize_request().
 */

ngx_int_t
ngx_http_helicone_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, const char *code, ngx_str_t *message)
{
    ngx_str_t                 body;
    ngx_http_helicone_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_helicone_module);
    if (ctx == NULL) {
        ctx = ngx_http_helicone_create_ctx(r);
        if (ctx == NULL) {
            return NGX_ERROR;
        }
    }

    if (r->header_sent || ctx->relayed) {
        /* too late for a status: the client sees a cut response */
        return NGX_ERROR;
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    if (ngx_http_helicone_error_json(r, type, code, message, &body)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ctx->own_response = 1;
    ctx->error_body = body;
    ctx->response_bytes = body.len;

    ngx_http_clean_header(r);

    r->headers_out.status = status;
    r->headers_out.content_length_n = body.len;
    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    if (ngx_http_helicone_headers_response(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    if (status == NGX_HTTP_NOT_ALLOWED) {
        static ngx_str_t  post = ngx_string("POST");
        static ngx_str_t  get = ngx_string("GET, HEAD");

        if (ngx_http_helicone_header_add(r, &r->headers_out.headers,
                                         "Allow", 5,
                                         (ctx->api && ctx->api->method
                                                      != NGX_HTTP_POST)
                                         ? &get : &post)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return ngx_http_helicone_send_whole(r, body.data, body.len);
}


/* What an error nginx itself raised in our location means to a client. */

void
ngx_http_helicone_error_for_status(ngx_uint_t status, const char **type,
    const char **code, ngx_str_t *message)
{
    *type = "invalid_request_error";

    switch (status) {

    case NGX_HTTP_BAD_REQUEST:
        *code = "bad_request";
        ngx_str_set(message, "the request could not be parsed");
        break;

    case NGX_HTTP_NOT_FOUND:
        *code = "not_found";
        ngx_str_set(message, "unknown URL");
        break;

    case NGX_HTTP_NOT_ALLOWED:
        *code = "method_not_allowed";
        ngx_str_set(message, "method not allowed");
        break;

    case NGX_HTTP_REQUEST_TIME_OUT:
        *code = "request_timeout";
        ngx_str_set(message, "the client did not send the request in time");
        break;

    case NGX_HTTP_LENGTH_REQUIRED:
        *code = "length_required";
        ngx_str_set(message, "a Content-Length is required");
        break;

    case NGX_HTTP_REQUEST_ENTITY_TOO_LARGE:
        *code = "request_too_large";
        ngx_str_set(message, "the request body is larger than the gateway "
                             "accepts (client_max_body_size)");
        break;

    case NGX_HTTP_REQUEST_URI_TOO_LARGE:
        *code = "uri_too_long";
        ngx_str_set(message, "the request URI is too long");
        break;

    case NGX_HTTP_REQUEST_HEADER_TOO_LARGE:
        *code = "header_too_large";
        ngx_str_set(message, "a request header is too large");
        break;

    default:
        if (status >= NGX_HTTP_INTERNAL_SERVER_ERROR) {
            *type = "server_error";
            *code = "internal_error";
            ngx_str_set(message, "the gateway failed to serve the request");

        } else {
            *code = "bad_request";
            ngx_str_set(message, "the request was refused");
        }
    }
}


/*
 * A refusal for the caller to send: the message formatted into pool (at
 * most 512 bytes), the type told by the status. NGX_DECLINED, so that a
 * function can return what this returns; NGX_ERROR: no memory.
 */

ngx_int_t
ngx_http_helicone_refuse(ngx_pool_t *pool, ngx_http_helicone_refusal_t *rf,
    ngx_uint_t status, const char *code, const char *fmt, ...)
{
    u_char   *p;
    va_list   args;

    p = ngx_pnalloc(pool, 512);
    if (p == NULL) {
        return NGX_ERROR;
    }

    va_start(args, fmt);
    rf->message.len = ngx_vslprintf(p, p + 512, fmt, args) - p;
    va_end(args);

    rf->message.data = p;
    rf->status = status;
    rf->code = code;
    rf->type = (status >= NGX_HTTP_INTERNAL_SERVER_ERROR)
               ? "server_error" : "invalid_request_error";

    return NGX_DECLINED;
}


ngx_int_t
ngx_http_helicone_send_refusal(ngx_http_request_t *r,
    ngx_http_helicone_refusal_t *rf)
{
    return ngx_http_helicone_send_error(r, rf->status, rf->type, rf->code,
                                        &rf->message);
}


/*
 * A response of our own in one buffer: the status and headers already
 * set, the body sent after them unless the request wants headers only.
 */

ngx_int_t
ngx_http_helicone_send_whole(ngx_http_request_t *r, u_char *data,
    size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = data;
    b->last = data + len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
