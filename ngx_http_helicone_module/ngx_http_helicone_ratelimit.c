/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Rate limits: Helicone-RateLimit-Policy and helicone_ratelimit policies,
 * one token bucket per organization, segment and unit in the store (shm:
 * core/helicone_ratelimit.c under the zone's lock; Redis: the same in a
 * Lua script). A request is checked (and counted) before any provider is
 * asked; a cents policy is charged the request's cost once it is known.
 */

#include "ngx_http_helicone_module.h"

#include <helicone_keys.h>


#define NGX_HTTP_HELICONE_RL_KEY_MAX  1024


typedef struct {
    u_char                         sha[32];
    helicone_rl_policy_t          *policy;
} ngx_http_helicone_rl_charge_t;


static ngx_int_t ngx_http_helicone_rl_key(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, helicone_rl_policy_t *p,
    ngx_uint_t client, u_char *sha);
static ngx_int_t ngx_http_helicone_rl_apply(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_store_take_t *op);
static void ngx_http_helicone_rl_taken(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, void *op, ngx_int_t rc);
static ngx_int_t ngx_http_helicone_ratelimit_unavailable(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx);
static void ngx_http_helicone_ratelimit_refused(ngx_http_request_t *r);


/* helicone_ratelimit policy; (several may be given) */

char *
ngx_http_helicone_ratelimit_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_helicone_loc_conf_t *hlcf = conf;

    ngx_str_t             *value;
    helicone_rl_policy_t  *p;

    if (hlcf->ratelimits == NGX_CONF_UNSET_PTR) {
        hlcf->ratelimits = ngx_array_create(cf->pool, 2,
                                            sizeof(helicone_rl_policy_t));
        if (hlcf->ratelimits == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    p = ngx_array_push(hlcf->ratelimits);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    if (helicone_rl_parse(value[1].data, value[1].len, p) != HELICONE_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid rate limit policy \"%V\": expected "
                           "\"quota;w=seconds[;u=request|cents][;s=segment]\"",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * NGX_OK: within every policy (or none applies); NGX_BUSY: a limit is
 * reached; NGX_DECLINED: a limit could not be checked and they fail
 * closed. Missing segments let the request through, and store trouble
 * does too by default (Helicone fails open). NGX_AGAIN: the store is
 * asked, and ngx_http_helicone_ratelimit_check_done() tells once it
 * answered.
 */

ngx_int_t
ngx_http_helicone_ratelimit_check(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    ngx_int_t                        rc;
    ngx_uint_t                       i, n, asked;
    ngx_table_elt_t                 *h;
    helicone_rl_policy_t            *policies, *header, *policy;
    ngx_http_helicone_loc_conf_t    *hlcf;
    ngx_http_helicone_main_conf_t   *hmcf;
    ngx_http_helicone_store_take_t  *op;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);
    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);

    header = NULL;

    h = ngx_http_helicone_header_find(&r->headers_in.headers,
                                      "helicone-ratelimit-policy", 25);
    if (h) {
        header = ngx_palloc(r->pool, sizeof(helicone_rl_policy_t));
        if (header == NULL) {
            return NGX_ERROR;
        }

        if (helicone_rl_parse(h->value.data, h->value.len, header)
            != HELICONE_OK)
        {
            /* a malformed policy is no policy */
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "helicone ratelimit: invalid policy \"%V\"",
                          &h->value);
            header = NULL;
        }
    }

    policies = hlcf->ratelimits ? hlcf->ratelimits->elts : NULL;
    n = hlcf->ratelimits ? hlcf->ratelimits->nelts : 0;
    asked = 0;

    /*
     * the header's policy first: its figures are the ones reported (a
     * store answers in the order asked)
     */
    for (i = 0; i < n + 1; i++) {

        policy = (i == 0) ? header : &policies[i - 1];

        if (policy == NULL) {
            continue;
        }

        /* the store may answer later: the op lives with the request */
        op = ngx_pcalloc(r->pool, sizeof(ngx_http_helicone_store_take_t));
        if (op == NULL) {
            return NGX_ERROR;
        }

        op->policy = policy;
        op->done = ngx_http_helicone_rl_taken;

        if (ngx_http_helicone_rl_key(r, ctx, policy, i == 0, op->sha)
            != NGX_OK)
        {
            continue;
        }

        rc = hmcf->store->take(r, ctx, op);

        if (rc == NGX_AGAIN) {
            asked++;
            continue;
        }

        if (rc == NGX_BUSY) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "helicone ratelimit: no room in the store");
        }

        if (rc != NGX_OK) {
            /* the store is unavailable: this policy is not checked */
            ctx->rl.failed = 1;
            continue;
        }

        if (ngx_http_helicone_rl_apply(r, ctx, op) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (asked) {
        return NGX_AGAIN;
    }

    return ngx_http_helicone_ratelimit_check_done(r, ctx);
}


ngx_int_t
ngx_http_helicone_ratelimit_check_done(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    ngx_keyval_t                  *kv;
    ngx_http_helicone_loc_conf_t  *hlcf;

    if (ctx->rl.denied) {
        ctx->rl.limited = 1;

        /* Helicone marks the event so */
        if (ctx->properties == NULL) {
            ctx->properties = ngx_array_create(r->pool, 1,
                                               sizeof(ngx_keyval_t));
            if (ctx->properties == NULL) {
                return NGX_ERROR;
            }
        }

        kv = ngx_array_push(ctx->properties);
        if (kv == NULL) {
            return NGX_ERROR;
        }

        ngx_str_set(&kv->key, "Helicone-Rate-Limit-Status");
        ngx_str_set(&kv->value, "bucket_rate_limited");

        return NGX_BUSY;
    }

    if (ctx->rl.failed) {
        hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);

        if (hlcf->ratelimit_fail == NGX_HTTP_HELICONE_FAIL_CLOSED) {
            ngx_http_helicone_ratelimit_refused(r);
            return NGX_DECLINED;
        }
    }

    return NGX_OK;
}


/* One policy's verdict into ctx; a cents policy is charged later. */

static ngx_int_t
ngx_http_helicone_rl_apply(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_store_take_t *op)
{
    ngx_http_helicone_rl_charge_t  *charge;

    if (ctx->rl.policy == NULL || !op->allowed) {
        ctx->rl.policy = op->policy;
        ctx->rl.remaining = op->remaining;
        ctx->rl.reset = op->reset;
        ctx->rl.wait = op->wait;
    }

    if (!op->allowed) {
        ctx->rl.denied = 1;
        return NGX_OK;
    }

    if (op->policy->unit == HELICONE_RL_CENTS) {
        if (ctx->rl.charges == NULL) {
            ctx->rl.charges = ngx_array_create(r->pool, 2,
                                  sizeof(ngx_http_helicone_rl_charge_t));
            if (ctx->rl.charges == NULL) {
                return NGX_ERROR;
            }
        }

        charge = ngx_array_push(ctx->rl.charges);
        if (charge == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(charge->sha, op->sha, 32);
        charge->policy = op->policy;
    }

    return NGX_OK;
}


/* The store's later answer: as one at once. */

static void
ngx_http_helicone_rl_taken(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, void *op, ngx_int_t rc)
{
    if (rc != NGX_OK || ngx_http_helicone_rl_apply(r, ctx, op) != NGX_OK) {
        /* no answer: this policy is not checked */
        ctx->rl.failed = 1;
    }
}


/*
 * The bucket's name, hashed: who set the policy (the operator or the
 * client), organization, segment and its value, unit, window and quota.
 * A bucket per policy: a client's policy is a bucket of its own that can
 * only add a limit, never share (and refill) the operator's.
 */

static ngx_int_t
ngx_http_helicone_rl_key(ngx_http_request_t *r, ngx_http_helicone_ctx_t *ctx,
    helicone_rl_policy_t *p, ngx_uint_t client, u_char *sha)
{
    u_char        *last, key[NGX_HTTP_HELICONE_RL_KEY_MAX];
    ngx_str_t      value;
    ngx_uint_t     i;
    ngx_keyval_t  *kv;

    ngx_str_null(&value);

    switch (p->segment) {

    case HELICONE_RL_USER:
        value = ctx->user_id;
        break;

    case HELICONE_RL_PROPERTY:
        kv = ctx->properties ? ctx->properties->elts : NULL;

        for (i = 0; kv && i < ctx->properties->nelts; i++) {
            if (kv[i].key.len == p->name_len
                && ngx_strncasecmp(kv[i].key.data, p->name, p->name_len)
                   == 0)
            {
                value = kv[i].value;
            }
        }

        break;

    default: /* HELICONE_RL_GLOBAL */
        ngx_str_set(&value, "global");
    }

    if (value.len == 0) {
        /* no user id or no such property: the policy does not apply */
        return NGX_DECLINED;
    }

    last = ngx_slprintf(key, key + sizeof(key),
                        "rl:%s:%V:%ui:%*s:%V:%ui:%uL:%uL",
                        client ? "client" : "operator", &ctx->auth.org_id,
                        (ngx_uint_t) p->segment, p->name_len, p->name,
                        &value, (ngx_uint_t) p->unit, p->window, p->quota);

    helicone_key_hash(key, last - key, sha);

    return NGX_OK;
}


/*
 * Cents policies are charged the request's cost, priced by the model
 * served; when that price is unknown, by the provider's dearest known.
 */

void
ngx_http_helicone_ratelimit_commit(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    uint64_t                        cost;
    ngx_uint_t                      i;
    ngx_http_helicone_rl_charge_t  *charge;
    ngx_http_helicone_main_conf_t  *hmcf;

    if (ctx->rl.charges == NULL) {
        return;
    }

    if (ngx_http_helicone_cost(r, ctx) == NGX_OK) {
        cost = ctx->cost.pico;

    } else if (ngx_http_helicone_cost_ceiling(r, ctx, &cost) != NGX_OK) {
        /* no usage reported: nothing to charge */
        return;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);

    /* pico-USD to millionths of a cent: x 100 cents x 1e6 / 1e12 */
    cost /= 10000;

    charge = ctx->rl.charges->elts;

    for (i = 0; i < ctx->rl.charges->nelts; i++) {
        (void) hmcf->store->charge(r, charge[i].policy, charge[i].sha,
                                   cost);
    }
}


/* Helicone-RateLimit-* on every response of an evaluated request. */

ngx_int_t
ngx_http_helicone_ratelimit_headers(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    u_char     *p;
    ngx_str_t   v;

    if (ngx_http_helicone_ratelimit_unavailable(r, ctx) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ctx->rl.policy == NULL) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, 128);
    if (p == NULL) {
        return NGX_ERROR;
    }

    /* the quota: the policy's text up to ";w=" */
    v.data = p;
    v.len = helicone_rl_format(ctx->rl.policy, p);

    if (ngx_http_helicone_header_add(r, &r->headers_out.headers,
                                     "Helicone-RateLimit-Policy", 25, &v)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    v.len = ngx_strlchr(v.data, v.data + v.len, ';') - v.data;

    if (ngx_http_helicone_header_add(r, &r->headers_out.headers,
                                     "Helicone-RateLimit-Limit", 24, &v)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_http_helicone_header_add_number(r, "Helicone-RateLimit-Remaining",
                                            28, ctx->rl.remaining)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx->rl.reset
        && ngx_http_helicone_header_add_number(r, "Helicone-RateLimit-Reset",
                                               24, ctx->rl.reset)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (!ctx->rl.limited) {
        return NGX_OK;
    }

    /* when the next request would pass, not when the bucket is full */
    return ngx_http_helicone_header_add_number(r, "Retry-After", 11,
                                               ngx_max(ctx->rl.wait, 1));
}


/*
 * A request refused because its limits could not be checked: told at
 * most once per interval, with the count since, as the store's own
 * trouble is (an outage refuses every request).
 */

static void
ngx_http_helicone_ratelimit_refused(ngx_http_request_t *r)
{
    static time_t      told;
    static ngx_uint_t  refused;

    refused++;

    if (!ngx_http_helicone_log_due(&told)) {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "helicone ratelimit: limits not checked, %ui requests "
                  "refused since the last report "
                  "(helicone_ratelimit_fail closed)", refused);

    refused = 0;
}


/* A 503 of helicone_ratelimit_fail closed: try again in a second. */

static ngx_int_t
ngx_http_helicone_ratelimit_unavailable(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    static ngx_str_t  one = ngx_string("1");

    if (!ctx->rl.failed || ctx->rl.denied
        || r->headers_out.status != NGX_HTTP_SERVICE_UNAVAILABLE)
    {
        return NGX_OK;
    }

    return ngx_http_helicone_header_add(r, &r->headers_out.headers,
                                        "Retry-After", 11, &one);
}
