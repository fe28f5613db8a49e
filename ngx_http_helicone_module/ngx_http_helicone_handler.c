/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The main request, in order: body, checks, auth, plan, attempts, end.
 * Each attempt runs as a subrequest (attempt.c); when one finishes the
 * main request wakes up here and decides what comes next.
 */

#include "ngx_http_helicone_module.h"

#include <helicone_uuid.h>


static void ngx_http_helicone_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_helicone_start(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
static ngx_int_t ngx_http_helicone_steps(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
static ngx_int_t ngx_http_helicone_wait(ngx_http_request_t *r);
static ngx_int_t ngx_http_helicone_fit(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
static ngx_int_t ngx_http_helicone_first_attempt(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
static ngx_int_t ngx_http_helicone_read_json(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
static ngx_int_t ngx_http_helicone_all_failed(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);


ngx_int_t
ngx_http_helicone_handler(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_str_t                      msg;
    ngx_http_helicone_ctx_t       *ctx;
    ngx_http_helicone_loc_conf_t  *hlcf;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    /* a browser's preflight carries no key: answered before anything */
    rc = ngx_http_helicone_cors_preflight(r);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);

    ctx = ngx_http_get_module_ctx(r, ngx_http_helicone_module);
    if (ctx == NULL) {
        ctx = ngx_http_helicone_create_ctx(r);
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    /* in the proxy modes it only tells how to read the response */
    ctx->api = ngx_http_helicone_api_find(r,
                               hlcf->pass == NGX_HTTP_HELICONE_PASS_GATEWAY);

    if (hlcf->pass == NGX_HTTP_HELICONE_PASS_GATEWAY) {

        if (ctx->api == NULL) {
            ngx_str_set(&msg, "the gateway serves POST .../chat/completions, "
                              ".../responses, .../embeddings and GET "
                              ".../models");
            return ngx_http_helicone_send_error(r, NGX_HTTP_NOT_FOUND,
                                                "invalid_request_error",
                                                "unknown_url", &msg);
        }

        if (!(r->method & ctx->api->method)) {
            if (ctx->api->method == NGX_HTTP_POST) {
                ngx_str_set(&msg, "the gateway accepts POST requests only");

            } else {
                ngx_str_set(&msg, "this URL accepts GET requests only");
            }

            return ngx_http_helicone_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                                "invalid_request_error",
                                                "method_not_allowed", &msg);
        }
    }

    /* one buffer: the body is parsed and spliced, never streamed */
    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_helicone_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


ngx_http_helicone_ctx_t *
ngx_http_helicone_create_ctx(ngx_http_request_t *r)
{
    u_char                   *p;
    ngx_uint_t                i;
    ngx_time_t               *tp;
    ngx_table_elt_t          *h;
    ngx_http_helicone_ctx_t  *ctx;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_helicone_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    ctx->request = r;

    tp = ngx_timeofday();
    ctx->start_sec = tp->sec;
    ctx->start_msec_part = tp->msec;
    ctx->start = ngx_current_msec;

    helicone_usage_init(&ctx->relay.usage);

    if (ngx_array_init(&ctx->attempts.list, r->pool, 2,
                       sizeof(ngx_http_helicone_attempt_t))
        != NGX_OK)
    {
        return NULL;
    }

    p = ngx_pnalloc(r->pool, 2 * NGX_HTTP_HELICONE_UUID_LEN);
    if (p == NULL) {
        return NULL;
    }

    /*
     * the event's id is ours, unique per request: a client may send one
     * Helicone-Request-Id many times, and consumers deduplicate on id
     */
    ctx->id.data = p;
    ctx->id.len = NGX_HTTP_HELICONE_UUID_LEN;

    if (ngx_http_helicone_uuid(p) != NGX_OK) {
        return NULL;
    }

    h = ngx_http_helicone_header_find(&r->headers_in.headers,
                                      "helicone-request-id", 19);

    if (h && helicone_uuid_valid(h->value.data, h->value.len)) {
        p += NGX_HTTP_HELICONE_UUID_LEN;

        for (i = 0; i < NGX_HTTP_HELICONE_UUID_LEN; i++) {
            p[i] = ngx_tolower(h->value.data[i]);
        }

        ctx->client_id.data = p;
        ctx->client_id.len = NGX_HTTP_HELICONE_UUID_LEN;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_helicone_module);

    return ctx;
}


static void
ngx_http_helicone_body_handler(ngx_http_request_t *r)
{
    ngx_int_t                 rc;
    ngx_http_helicone_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_helicone_module);

    rc = ngx_http_helicone_start(r, ctx);

    if (rc == NGX_DONE) {
        return;
    }

    ngx_http_finalize_request(r, rc);
}


/*
 * NGX_DONE: waiting for the store, or an attempt is running; anything
 * else finalizes the request.
 */

static ngx_int_t
ngx_http_helicone_start(ngx_http_request_t *r, ngx_http_helicone_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (ngx_http_helicone_body_collect(r, &ctx->body) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_helicone_headers_read(r, ctx);
    ngx_http_helicone_attempt_policy(r, ctx);

    if (ctx->api == NULL || ctx->api->json) {
        rc = ngx_http_helicone_read_json(r, ctx);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    ctx->step = NGX_HTTP_HELICONE_STEP_AUTH;

    return ngx_http_helicone_steps(r, ctx);
}


/*
 * The store's steps: auth, the cache, the limits. Each completes at once
 * (shm) or returns NGX_AGAIN and is called again, as its _done() half,
 * when the store has answered (ngx_http_helicone_resume()). The cache
 * goes before the limits: a hit is never limited, nor counted.
 */

static ngx_int_t
ngx_http_helicone_steps(ngx_http_request_t *r, ngx_http_helicone_ctx_t *ctx)
{
    ngx_int_t                      rc;
    ngx_str_t                      msg;
    ngx_http_helicone_refusal_t    rf;
    ngx_http_helicone_loc_conf_t  *hlcf;

    if (ctx->step == NGX_HTTP_HELICONE_STEP_AUTH) {

        rc = ctx->waited ? ngx_http_helicone_auth_done(r, ctx)
                         : ngx_http_helicone_auth(r, ctx);
        ctx->waited = 0;

        if (rc == NGX_AGAIN) {
            return ngx_http_helicone_wait(r);
        }

        if (rc == NGX_DECLINED) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "helicone auth: missing or unknown Helicone API "
                          "key");

            /* the proxy modes take it in Helicone-Auth only */
            hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);

            if (hlcf->pass == NGX_HTTP_HELICONE_PASS_GATEWAY) {
                ngx_str_set(&msg, "Invalid Helicone API key: pass a valid "
                                  "key in the Authorization, x-api-key or "
                                  "Helicone-Auth header");

            } else {
                ngx_str_set(&msg, "Invalid Helicone API key: pass a valid "
                                  "key in the Helicone-Auth header");
            }

            return ngx_http_helicone_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                                "invalid_request_error",
                                                "invalid_api_key", &msg);
        }

        if (rc == NGX_BUSY) {
            ngx_str_set(&msg, "the Helicone API key could not be checked: "
                              "the key store is unavailable");
            return ngx_http_helicone_send_error(r,
                                                NGX_HTTP_SERVICE_UNAVAILABLE,
                                                "server_error",
                                                "key_store_unavailable",
                                                &msg);
        }

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ctx->api && ctx->api->local) {
            /* the gateway answers it: nothing to cache or limit */
            return ctx->api->local(r, ctx);
        }

        /* the cache key is the body that goes, not the one that came */
        rc = ngx_http_helicone_fit(r, ctx);
        if (rc != NGX_OK) {
            return rc;
        }

        rf.status = 0;

        rc = ngx_http_helicone_cache_init(r, ctx, &rf);

        if (rc == NGX_DECLINED && rf.status) {
            return ngx_http_helicone_send_refusal(r, &rf);
        }

        if (rc != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->step = NGX_HTTP_HELICONE_STEP_CACHE;
    }

    if (ctx->step == NGX_HTTP_HELICONE_STEP_CACHE) {

        rc = ctx->waited ? ngx_http_helicone_cache_lookup_done(r, ctx)
                         : ngx_http_helicone_cache_lookup(r, ctx);
        ctx->waited = 0;

        if (rc == NGX_AGAIN) {
            return ngx_http_helicone_wait(r);
        }

        if (rc == NGX_OK) {
            return ngx_http_helicone_cache_send(r, ctx);
        }

        ctx->step = NGX_HTTP_HELICONE_STEP_LIMIT;
    }

    /* NGX_HTTP_HELICONE_STEP_LIMIT */

    rc = ctx->waited ? ngx_http_helicone_ratelimit_check_done(r, ctx)
                     : ngx_http_helicone_ratelimit_check(r, ctx);
    ctx->waited = 0;

    if (rc == NGX_AGAIN) {
        return ngx_http_helicone_wait(r);
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_BUSY) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "helicone ratelimit: limited");

        ngx_str_set(&msg, "Helicone user was rate limit via "
                          "Helicone-RateLimit-Policy header. Please wait "
                          "before making more requests.");
        return ngx_http_helicone_send_error(r, NGX_HTTP_TOO_MANY_REQUESTS,
                                            "rate_limit_error",
                                            "rate_limited", &msg);
    }

    if (rc == NGX_DECLINED) {
        /* the limits could not be checked, and they fail closed */
        ngx_str_set(&msg, "the rate limits could not be checked: the store "
                          "is unavailable");
        return ngx_http_helicone_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                            "server_error",
                                            "rate_limit_unavailable", &msg);
    }

    return ngx_http_helicone_first_attempt(r, ctx);
}


/*
 * The request waits for the store: its reference from reading the body
 * keeps it; a client that goes away meanwhile finalizes it, and the
 * cleanup cancels what it waited for.
 */

static ngx_int_t
ngx_http_helicone_wait(ngx_http_request_t *r)
{
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;

    return NGX_DONE;
}


/* The store's last answer came (from store_redis.c, an event handler). */

void
ngx_http_helicone_resume(ngx_http_request_t *r, ngx_http_helicone_ctx_t *ctx)
{
    ngx_int_t  rc;

    r->read_event_handler = ngx_http_block_reading;

    ctx->waited = 1;

    rc = ngx_http_helicone_steps(r, ctx);

    if (rc == NGX_DONE) {
        return;
    }

    ngx_http_finalize_request(r, rc);
}


/*
 * Helicone-Token-Limit-Exception-Handler's rewrite, if any. NGX_OK, or
 * a status that finalizes the request.
 */

static ngx_int_t
ngx_http_helicone_fit(ngx_http_request_t *r, ngx_http_helicone_ctx_t *ctx)
{
    u_char     *body;
    ngx_int_t   rc;

    body = ctx->body.data;

    rc = ngx_http_helicone_tokenlimit(r, ctx);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_OK && ctx->body.data != body) {
        /* a rewritten body: its members are found again */
        return ngx_http_helicone_read_json(r, ctx);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_helicone_first_attempt(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    ngx_int_t                     rc;
    ngx_http_helicone_refusal_t   rf;

    rf.status = 0;

    rc = ngx_http_helicone_plan(r, ctx, &rf);

    if (rc == NGX_DECLINED && rf.status) {
        return ngx_http_helicone_send_refusal(r, &rf);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->write_event_handler = ngx_http_helicone_wake;

    rc = ngx_http_helicone_attempt_start(r, ctx);

    if (rc == NGX_OK || rc == NGX_AGAIN) {
        return NGX_DONE;
    }

    r->write_event_handler = ngx_http_request_empty_handler;

    if (rc == NGX_DECLINED) {
        return ngx_http_helicone_all_failed(r, ctx);
    }

    return NGX_HTTP_INTERNAL_SERVER_ERROR;
}


/*
 * The body as JSON: required in gateway mode; in the proxy modes parsed
 * when it looks like JSON, for the log, and forwarded as it is otherwise.
 */

static ngx_int_t
ngx_http_helicone_read_json(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    size_t                         n;
    ngx_str_t                      msg;
    ngx_uint_t                     gateway;
    helicone_json_value_t          v, m[4], stream, user;
    ngx_http_helicone_loc_conf_t  *hlcf;

    /* the members that matter, picked while the body is checked */
    static const helicone_str_t  names[4] = {
        helicone_string("model"), helicone_string("stream"),
        helicone_string("stream_options"), helicone_string("user")
    };

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);
    gateway = (hlcf->pass == NGX_HTTP_HELICONE_PASS_GATEWAY);

    if (ctx->body.len == 0) {
        if (!gateway) {
            return NGX_OK;
        }

        ngx_str_set(&msg, "the request body is empty: expected a JSON "
                          "object with a \"model\"");
        return ngx_http_helicone_send_error(r, NGX_HTTP_BAD_REQUEST,
                                            "invalid_request_error",
                                            "invalid_json", &msg);
    }

    if (helicone_json_parse_pick(ctx->body.data, ctx->body.len, &ctx->json,
                                 names, 4, m)
        != HELICONE_OK
        || ctx->json.type != HELICONE_JSON_OBJECT)
    {
        if (!gateway) {
            return NGX_OK;
        }

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "helicone: client sent invalid JSON body");

        ngx_str_set(&msg, "the request body is not a valid JSON object");
        return ngx_http_helicone_send_error(r, NGX_HTTP_BAD_REQUEST,
                                            "invalid_request_error",
                                            "invalid_json", &msg);
    }

    ctx->json_ok = 1;

    ctx->json_model = m[0];
    stream = m[1];
    ctx->json_stream_options = m[2];
    user = m[3];

    v = ctx->json_model;

    if (v.type == HELICONE_JSON_STRING) {
        ctx->model.data = ngx_pnalloc(r->pool, v.len);
        if (ctx->model.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        n = helicone_json_string_decode(&v, ctx->model.data);
        ctx->model.len = (n == (size_t) -1) ? 0 : n;

    } else if (gateway) {
        ngx_str_set(&msg, "you must provide a model parameter");
        return ngx_http_helicone_send_error(r, NGX_HTTP_BAD_REQUEST,
                                            "invalid_request_error",
                                            "missing_model", &msg);
    }

    if (gateway && ctx->model.len == 0) {
        ngx_str_set(&msg, "the model parameter must not be empty");
        return ngx_http_helicone_send_error(r, NGX_HTTP_BAD_REQUEST,
                                            "invalid_request_error",
                                            "missing_model", &msg);
    }

    /* the model reaches response headers: no control characters */
    for (n = 0; n < ctx->model.len; n++) {
        if (ctx->model.data[n] < 0x20 || ctx->model.data[n] == 0x7f) {
            ngx_str_set(&msg, "the model parameter has control characters");
            return ngx_http_helicone_send_error(r, NGX_HTTP_BAD_REQUEST,
                                                "invalid_request_error",
                                                "invalid_model", &msg);
        }
    }

    ctx->stream = (stream.type == HELICONE_JSON_TRUE);

    if (ctx->json_stream_options.type == HELICONE_JSON_OBJECT
        && helicone_json_object_get(&ctx->json_stream_options,
                                    "include_usage", 13, &v)
           == HELICONE_OK
        && v.type == HELICONE_JSON_TRUE)
    {
        ctx->include_usage = 1;
    }

    if (ctx->user_id.len == 0 && user.type == HELICONE_JSON_STRING) {
        ctx->user_id.data = ngx_pnalloc(r->pool, user.len);
        if (ctx->user_id.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        n = helicone_json_string_decode(&user, ctx->user_id.data);
        ctx->user_id.len = (n == (size_t) -1) ? 0 : n;
    }

    return NGX_OK;
}


/*
 * The write event handler of the main request while attempts run: called
 * when an attempt subrequest has finished.
 */

void
ngx_http_helicone_wake(ngx_http_request_t *r)
{
    ngx_int_t                 rc;
    ngx_http_helicone_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_helicone_module);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "helicone wake: running:%d done:%d",
                   ctx->attempts.running, ctx->done);

    if (ctx->attempts.running) {
        return;
    }

    if (ctx->done) {
        r->write_event_handler = ngx_http_request_empty_handler;
        rc = ngx_http_helicone_response_last(r, ctx);
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (!ctx->misconfigured) {
        rc = ngx_http_helicone_attempt_next(r, ctx);

        if (rc == NGX_OK || rc == NGX_AGAIN) {
            return;
        }

        if (rc == NGX_ERROR) {
            r->write_event_handler = ngx_http_request_empty_handler;
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }
    }

    r->write_event_handler = ngx_http_request_empty_handler;
    ngx_http_finalize_request(r, ngx_http_helicone_all_failed(r, ctx));
}


/* Every target failed before a byte went to the client: say how. */

static ngx_int_t
ngx_http_helicone_all_failed(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    u_char                       *p, *last;
    size_t                        len;
    ngx_str_t                     msg;
    ngx_uint_t                    i, status;
    ngx_http_helicone_attempt_t  *a;

    a = ctx->attempts.list.elts;

    if (ctx->misconfigured) {
        ngx_str_set(&msg, "the gateway is misconfigured: see its error log");
        return ngx_http_helicone_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                            "server_error",
                                            "gateway_misconfigured", &msg);
    }

    /* no provider was even asked: say why the first refused */
    for (i = 0; i < ctx->attempts.list.nelts; i++) {
        if (a[i].error == NULL || ngx_strcmp(a[i].error, "unsupported") != 0)
        {
            break;
        }
    }

    if (i == ctx->attempts.list.nelts && ctx->attempts.refusal.status) {
        return ngx_http_helicone_send_refusal(r, &ctx->attempts.refusal);
    }

    len = sizeof("all  attempts failed: ") + NGX_INT_T_LEN;

    for (i = 0; i < ctx->attempts.list.nelts; i++) {
        len += a[i].target->provider ? a[i].target->provider->name.len : 6;
        len += a[i].target->model.len + sizeof(" () : ; ") + NGX_INT_T_LEN;
        len += a[i].error ? ngx_strlen(a[i].error) : 0;
    }

    msg.data = ngx_pnalloc(r->pool, len);
    if (msg.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = msg.data;
    last = p + len;

    if (ctx->attempts.list.nelts == 1) {
        p = ngx_slprintf(p, last, "the provider request failed: ");

    } else {
        p = ngx_slprintf(p, last, "all %ui attempts failed: ",
                         ctx->attempts.list.nelts);
    }

    status = NGX_HTTP_BAD_GATEWAY;

    for (i = 0; i < ctx->attempts.list.nelts; i++) {
        if (a[i].target->provider) {
            p = ngx_slprintf(p, last, "%s%V", i ? "; " : "",
                             &a[i].target->provider->name);

        } else {
            p = ngx_slprintf(p, last, "%starget", i ? "; " : "");
        }

        if (a[i].target->model.len) {
            p = ngx_slprintf(p, last, " (%V)", &a[i].target->model);
        }

        if (a[i].status) {
            p = ngx_slprintf(p, last, ": %ui", a[i].status);

        } else if (a[i].error) {
            p = ngx_slprintf(p, last, ": %s", a[i].error);
        }

        status = (a[i].error && ngx_strcmp(a[i].error, "timeout") == 0)
                 ? NGX_HTTP_GATEWAY_TIME_OUT : NGX_HTTP_BAD_GATEWAY;
    }

    msg.len = p - msg.data;

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "helicone upstream: %V", &msg);

    return ngx_http_helicone_send_error(r, status, "server_error",
                                        "upstream_failed", &msg);
}
