/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * helicone_mock: a tiny OpenAI-compatible provider inside nginx, so the
 * gateway can be tried with no network and no API key. It answers chat
 * completions, streamed or not, with a fixed text.
 */

#include "ngx_http_helicone_module.h"


#define NGX_HTTP_HELICONE_MOCK_TEXT                                           \
    "Hello! This answer comes from the gateway's built-in mock provider."

#define NGX_HTTP_HELICONE_MOCK_WORDS        11
#define NGX_HTTP_HELICONE_MOCK_COMPLETION   16


static void ngx_http_helicone_mock_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_helicone_mock_send(ngx_http_request_t *r,
    ngx_str_t *model, ngx_uint_t stream, ngx_uint_t usage,
    ngx_uint_t prompt);
static ngx_int_t ngx_http_helicone_mock_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *text);


char *
ngx_http_helicone_mock_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_helicone_mock_handler;

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_helicone_mock_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_helicone_mock_error(r, NGX_HTTP_NOT_ALLOWED,
                                            "only POST is supported");
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_helicone_mock_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_helicone_mock_body(ngx_http_request_t *r)
{
    size_t                 n;
    ngx_str_t              body, model;
    ngx_uint_t             stream, usage;
    helicone_json_value_t  root, v;

    if (ngx_http_helicone_body_collect(r, &body) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (helicone_json_parse(body.data, body.len, &root) != HELICONE_OK
        || root.type != HELICONE_JSON_OBJECT)
    {
        ngx_http_finalize_request(r, ngx_http_helicone_mock_error(r,
                                  NGX_HTTP_BAD_REQUEST,
                                  "the body is not a JSON object"));
        return;
    }

    ngx_str_set(&model, "mock-model");

    if (helicone_json_object_get(&root, "model", 5, &v) == HELICONE_OK
        && v.type == HELICONE_JSON_STRING)
    {
        model.data = ngx_pnalloc(r->pool, v.len);
        if (model.data == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        n = helicone_json_string_decode(&v, model.data);
        model.len = (n == (size_t) -1) ? 0 : n;
    }

    stream = (helicone_json_object_get(&root, "stream", 6, &v) == HELICONE_OK
              && v.type == HELICONE_JSON_TRUE);

    usage = (helicone_json_path_get(&root, "stream_options.include_usage", &v)
             == HELICONE_OK
             && v.type == HELICONE_JSON_TRUE);

    ngx_http_finalize_request(r, ngx_http_helicone_mock_send(r, &model,
                                 stream, usage, 1 + body.len / 4));
}


static ngx_int_t
ngx_http_helicone_mock_send(ngx_http_request_t *r, ngx_str_t *model,
    ngx_uint_t stream, ngx_uint_t usage, ngx_uint_t prompt)
{
    u_char       *p, *word, *end;
    size_t        len, mlen;
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    static u_char  text[] = NGX_HTTP_HELICONE_MOCK_TEXT;

    mlen = helicone_json_escape_len(model->data, model->len);

    /* every event or the object, each under 256 bytes plus the model */
    len = (NGX_HTTP_HELICONE_MOCK_WORDS + 4) * (256 + mlen) + sizeof(text);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = b->last;

    if (!stream) {
        p = ngx_sprintf(p, "{\"id\":\"chatcmpl-helicone-mock\","
                        "\"object\":\"chat.completion\",\"created\":%T,"
                        "\"model\":\"", ngx_time());
        p = helicone_json_escape(p, model->data, model->len);
        p = ngx_sprintf(p, "\",\"choices\":[{\"index\":0,\"message\":"
                        "{\"role\":\"assistant\",\"content\":\"%s\"},"
                        "\"finish_reason\":\"stop\"}],\"usage\":"
                        "{\"prompt_tokens\":%ui,\"completion_tokens\":%d,"
                        "\"total_tokens\":%ui}}\n",
                        text, prompt, NGX_HTTP_HELICONE_MOCK_COMPLETION,
                        prompt + NGX_HTTP_HELICONE_MOCK_COMPLETION);

    } else {
        /* one event per word, as a model would stream them */
        word = text;
        end = text + sizeof(text) - 1;

        while (word < end) {
            u_char  *next;

            next = ngx_strlchr(word + 1, end, ' ');
            if (next == NULL) {
                next = end;
            }

            p = ngx_sprintf(p, "data: {\"id\":\"chatcmpl-helicone-mock\","
                            "\"object\":\"chat.completion.chunk\","
                            "\"created\":%T,\"model\":\"", ngx_time());
            p = helicone_json_escape(p, model->data, model->len);
            p = ngx_sprintf(p, "\",\"choices\":[{\"index\":0,\"delta\":"
                            "{\"content\":\"%*s\"},\"finish_reason\":null}]}"
                            "\n\n", next - word, word);

            word = next;
        }

        p = ngx_sprintf(p, "data: {\"id\":\"chatcmpl-helicone-mock\","
                        "\"object\":\"chat.completion.chunk\","
                        "\"created\":%T,\"model\":\"", ngx_time());
        p = helicone_json_escape(p, model->data, model->len);
        p = ngx_sprintf(p, "\",\"choices\":[{\"index\":0,\"delta\":{},"
                        "\"finish_reason\":\"stop\"}]}\n\n");

        if (usage) {
            p = ngx_sprintf(p, "data: {\"id\":\"chatcmpl-helicone-mock\","
                            "\"object\":\"chat.completion.chunk\","
                            "\"created\":%T,\"model\":\"", ngx_time());
            p = helicone_json_escape(p, model->data, model->len);
            p = ngx_sprintf(p, "\",\"choices\":[],\"usage\":"
                            "{\"prompt_tokens\":%ui,\"completion_tokens\":%d,"
                            "\"total_tokens\":%ui}}\n\n",
                            prompt, NGX_HTTP_HELICONE_MOCK_COMPLETION,
                            prompt + NGX_HTTP_HELICONE_MOCK_COMPLETION);
        }

        p = ngx_cpymem(p, "data: [DONE]\n\n", 14);
    }

    b->last = p;
    b->last_buf = 1;
    b->last_in_chain = 1;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = stream ? -1 : b->last - b->pos;

    if (stream) {
        ngx_str_set(&r->headers_out.content_type, "text/event-stream");

    } else {
        ngx_str_set(&r->headers_out.content_type, "application/json");
    }

    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_helicone_mock_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *text)
{
    ngx_str_t  msg;

    msg.data = (u_char *) text;
    msg.len = ngx_strlen(text);

    return ngx_http_helicone_send_error(r, status, "invalid_request_error",
                                        "mock_error", &msg);
}
