/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The store in Redis, shared by every nginx that points at it: key names
 * (prefixed, hash-tagged for Redis Cluster), the rate-limit Lua scripts,
 * and a request's waits for answers, behind the store table (store.h).
 * A request that waits is resumed when its last answer comes
 * (ngx_http_helicone_resume()); a request that goes away first leaves
 * its operations cancelled, not freed.
 */

#include "ngx_http_helicone_module.h"
#include "ngx_http_helicone_redis.h"


struct ngx_http_helicone_store_redis_s {
    ngx_http_helicone_redis_t          *redis;
    ngx_str_t                           prefix;      /* "helicone" */
    ngx_http_helicone_redis_script_t   *rl_take;
    ngx_http_helicone_redis_script_t   *rl_charge;
    ngx_http_helicone_redis_script_t   *cache_put;
};


/* an answer for a request that waits; reply NULL: none came in time */
typedef void (*ngx_http_helicone_store_redis_pt)(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, void *data,
    ngx_http_helicone_redis_reply_t *reply);


/* a question out, in its wait (store.c's) */
typedef struct {
    ngx_http_helicone_redis_op_t       *op;          /* NULL: answered */
    ngx_http_helicone_store_redis_pt    handler;
    void                               *data;
} ngx_http_helicone_store_redis_ask_t;


static char *ngx_http_helicone_store_redis_configure(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, ngx_str_t *args, ngx_uint_t n);
static ngx_int_t ngx_http_helicone_store_redis_init_worker(
    ngx_http_helicone_main_conf_t *hmcf, ngx_cycle_t *cycle);
static void ngx_http_helicone_store_redis_exit_worker(
    ngx_http_helicone_main_conf_t *hmcf);
static ngx_int_t ngx_http_helicone_store_redis_get(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_store_get_t *op);
static void ngx_http_helicone_store_redis_got(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, void *data,
    ngx_http_helicone_redis_reply_t *reply);
static ngx_int_t ngx_http_helicone_store_redis_put(ngx_http_request_t *r,
    ngx_http_helicone_store_put_t *op);
static ngx_int_t ngx_http_helicone_store_redis_take(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_store_take_t *op);
static void ngx_http_helicone_store_redis_took(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, void *data,
    ngx_http_helicone_redis_reply_t *reply);
static ngx_int_t ngx_http_helicone_store_redis_charge(ngx_http_request_t *r,
    helicone_rl_policy_t *policy, u_char *sha, uint64_t cost);
static ngx_int_t ngx_http_helicone_store_redis_send(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_redis_script_t *script,
    ngx_uint_t nkeys, ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_helicone_store_redis_pt handler, void *data);
static void ngx_http_helicone_store_redis_reply(void *data,
    ngx_http_helicone_redis_reply_t *reply);
static void ngx_http_helicone_store_redis_cancel(ngx_http_helicone_wait_t *w);
static ngx_int_t ngx_http_helicone_store_redis_name(ngx_pool_t *pool,
    ngx_str_t *prefix, const char *family, u_char *sha, ngx_int_t index,
    ngx_str_t *name);


ngx_http_helicone_store_t  ngx_http_helicone_store_redis = {
    ngx_string("redis"),
    ngx_http_helicone_store_redis_configure,
    ngx_http_helicone_store_redis_init_worker,
    ngx_http_helicone_store_redis_exit_worker,
    ngx_http_helicone_store_redis_get,
    ngx_http_helicone_store_redis_put,
    ngx_http_helicone_store_redis_take,
    ngx_http_helicone_store_redis_charge
};


/*
 * The token bucket of core/helicone_ratelimit.c, in Lua, atomic in Redis:
 * millionths of a token, milliseconds of Redis's own clock (one clock for
 * every nginx), a new bucket starts full and refills continuously at the
 * quota per window. A bucket expires when it would be full again anyway
 * (a missing bucket is a full one), plus a window.
 * KEYS[1] bucket; ARGV quota, window (s), then the script's own.
 */

#define NGX_HTTP_HELICONE_RL_LUA_REFILL                                       \
    "local q = tonumber(ARGV[1])\n"                                           \
    "local w = tonumber(ARGV[2])\n"                                           \
    "local t = redis.call('TIME')\n"                                          \
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"\
    "local b = redis.call('HMGET', KEYS[1], 't', 'u', 'c', 'r')\n"            \
    "local tokens = tonumber(b[1])\n"                                         \
    "local updated = tonumber(b[2])\n"                                        \
    "local cap = tonumber(b[3])\n"                                            \
    "local rest = tonumber(b[4]) or 0\n"                                      \
    "if not tokens or not updated or not cap or cap == 0 then\n"              \
    "  tokens = q\n"                                                          \
    "  updated = now\n"                                                       \
    "  cap = q\n"                                                             \
    "  rest = 0\n"                                                            \
    "else\n"                                                                  \
    "  if cap ~= q then\n"                                                    \
    "    cap = q\n"                                                           \
    "    if tokens > q then tokens = q end\n"                                 \
    "  end\n"                                                                 \
    "  if now > updated then\n"                                               \
    "    local el = now - updated\n"                                          \
    "    local span = w * 1000\n"                                             \
    "    updated = now\n"                                                     \
    "    if tokens >= q then\n"                                               \
    "      rest = 0\n"                                                        \
    "    else\n"                                                              \
    "      local room = q - tokens\n"                                         \
    "      local add = room\n"                                                \
    "      local part = 0\n"                                                  \
    "      if el < span then\n"                                               \
    "        if rest >= span then rest = 0 end\n"                             \
    "        part = q * el + rest\n"                                          \
    "        add = math.floor(part / span)\n"                                 \
    "        part = part - add * span\n"                                      \
    "        if part < 0 then part = 0 end\n"                                 \
    "      end\n"                                                             \
    "      if add >= room then\n"                                             \
    "        tokens = q\n"                                                    \
    "        rest = 0\n"                                                      \
    "      else\n"                                                            \
    "        tokens = tokens + add\n"                                         \
    "        rest = part\n"                                                   \
    "      end\n"                                                             \
    "    end\n"                                                               \
    "  end\n"                                                                 \
    "end\n"

#define NGX_HTTP_HELICONE_RL_LUA_SAVE                                         \
    "local remaining = 0\n"                                                   \
    "if tokens > 0 then remaining = math.floor(tokens / 1000000) end\n"       \
    "local function secs_to(target)\n"                                        \
    "  if tokens >= target then return 0 end\n"                               \
    "  return math.floor(((target - tokens) * w + q - 1) / q)\n"              \
    "end\n"                                                                   \
    "local reset = secs_to(q)\n"                                              \
    "redis.call('HSET', KEYS[1], 't', string.format('%d', tokens),\n"         \
    "           'u', string.format('%d', updated),\n"                         \
    "           'c', string.format('%d', cap),\n"                             \
    "           'r', string.format('%d', rest))\n"                            \
    "redis.call('EXPIRE', KEYS[1], string.format('%d', reset + w))\n"


/* ARGV[3] unit: "0" request takes a whole token, "1" cents needs > 0 */

static ngx_str_t  ngx_http_helicone_rl_take_lua = ngx_string(
    NGX_HTTP_HELICONE_RL_LUA_REFILL
    "local allowed = 0\n"
    "if ARGV[3] == '0' then\n"
    "  if tokens >= 1000000 then\n"
    "    allowed = 1\n"
    "    tokens = tokens - 1000000\n"
    "  end\n"
    "elseif tokens > 0 then\n"
    "  allowed = 1\n"
    "end\n"
    NGX_HTTP_HELICONE_RL_LUA_SAVE
    "local wait = 0\n"
    "if allowed == 0 and ARGV[3] == '0' then\n"
    "  wait = secs_to(1000000)\n"
    "elseif allowed == 0 then\n"
    "  wait = secs_to(1)\n"
    "end\n"
    "return {allowed, remaining, reset, wait}\n"
);


/* ARGV[3] cost in millionths of a cent, charged even into debt */

static ngx_str_t  ngx_http_helicone_rl_charge_lua = ngx_string(
    NGX_HTTP_HELICONE_RL_LUA_REFILL
    "local cost = tonumber(ARGV[3])\n"
    "if cost > 1000000000000 then cost = 1000000000000 end\n"
    "tokens = tokens - cost\n"
    NGX_HTTP_HELICONE_RL_LUA_SAVE
    "return remaining\n"
);


/*
 * A response into the first free bucket of its key, atomically: KEYS the
 * buckets (one hash tag, one slot), ARGV the entry and its TTL.
 */

static ngx_str_t  ngx_http_helicone_cache_put_lua = ngx_string(
    "for i = 1, #KEYS do\n"
    "  if redis.call('EXISTS', KEYS[i]) == 0 then\n"
    "    redis.call('SET', KEYS[i], ARGV[1], 'EX', ARGV[2])\n"
    "    return i - 1\n"
    "  end\n"
    "end\n"
    "return -1\n"
);


/*
 * helicone_store redis url=redis[s]://[user@]host[:port][/db]
 *     [password=env:VAR|file:path] [timeout=time] [tls_ca=file]
 *     [tls_cert=file tls_key=file] [tls_name=name]
 *     [sentinels=host:port,...] [cluster=on] [prefix=string]
 *     [zone=name:size];
 * the connection's parameters are redis_conf.c's, zone= is store.c's.
 */

static char *
ngx_http_helicone_store_redis_configure(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, ngx_str_t *args, ngx_uint_t n)
{
    char                               *rv;
    ngx_int_t                           rc;
    ngx_uint_t                          i;
    ngx_http_helicone_store_redis_t    *sr;

    sr = ngx_pcalloc(cf->pool, sizeof(ngx_http_helicone_store_redis_t));
    if (sr == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_str_set(&sr->prefix, "helicone");

    sr->redis = ngx_http_helicone_redis_create(cf);
    if (sr->redis == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < n; i++) {

        rc = ngx_http_helicone_redis_param(cf, sr->redis, &args[i]);

        if (rc == NGX_OK) {
            continue;
        }

        if (rc == NGX_ERROR) {
            return NGX_CONF_ERROR;
        }

        if (ngx_strncmp(args[i].data, "prefix=", 7) == 0 && args[i].len > 7)
        {
            sr->prefix.data = args[i].data + 7;
            sr->prefix.len = args[i].len - 7;

            if (ngx_strlchr(sr->prefix.data,
                            sr->prefix.data + sr->prefix.len, '{')
                || ngx_strlchr(sr->prefix.data,
                               sr->prefix.data + sr->prefix.len, '}'))
            {
                /* our hash tags must stay the only ones */
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    rv = ngx_http_helicone_redis_configure(cf, sr->redis);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    sr->rl_take = ngx_http_helicone_redis_script(cf, sr->redis,
                                           &ngx_http_helicone_rl_take_lua);
    sr->rl_charge = ngx_http_helicone_redis_script(cf, sr->redis,
                                           &ngx_http_helicone_rl_charge_lua);
    sr->cache_put = ngx_http_helicone_redis_script(cf, sr->redis,
                                           &ngx_http_helicone_cache_put_lua);

    if (sr->rl_take == NULL || sr->rl_charge == NULL || sr->cache_put == NULL)
    {
        return NGX_CONF_ERROR;
    }

    hmcf->store_redis = sr;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &args[i]);
    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_helicone_store_redis_init_worker(ngx_http_helicone_main_conf_t *hmcf,
    ngx_cycle_t *cycle)
{
    return ngx_http_helicone_redis_init_worker(hmcf->store_redis->redis,
                                               cycle);
}


static void
ngx_http_helicone_store_redis_exit_worker(ngx_http_helicone_main_conf_t *hmcf)
{
    ngx_http_helicone_redis_exit_worker(hmcf->store_redis->redis);
}


/*
 * "<prefix>:rl:<sha hex>", "<prefix>:key:<sha hex>", and with an index
 * "<prefix>:{cache:<sha hex>}:<index>", in pool
 */

static ngx_int_t
ngx_http_helicone_store_redis_name(ngx_pool_t *pool, ngx_str_t *prefix,
    const char *family, u_char *sha, ngx_int_t index, ngx_str_t *name)
{
    u_char  *p;

    name->data = ngx_pnalloc(pool, prefix->len + ngx_strlen(family) + 64
                                   + 4 + NGX_INT_T_LEN);
    if (name->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(name->data, "%V%s", prefix, family);
    p = ngx_hex_dump(p, sha, 32);

    if (index >= 0) {
        p = ngx_sprintf(p, "}:%i", index);
    }

    name->len = p - name->data;

    return NGX_OK;
}


/*
 * An API key's record is GET; a response's buckets are an MGET, one key
 * each, all in one slot. Verdicts are not kept here (store.h).
 */

static ngx_int_t
ngx_http_helicone_store_redis_get(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_store_get_t *op)
{
    ngx_str_t                       argv[1 + NGX_HTTP_HELICONE_CACHE_BUCKETS];
    ngx_uint_t                      i;
    ngx_http_helicone_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);

    if (op->kind == NGX_HTTP_HELICONE_STORE_KEY) {
        ngx_str_set(&argv[0], "GET");

        if (ngx_http_helicone_store_redis_name(r->pool,
                                               &hmcf->store_redis->prefix,
                                               ":key:", op->sha, -1, &argv[1])
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        return ngx_http_helicone_store_redis_send(r, ctx, NULL, 0, 2, argv,
                                          ngx_http_helicone_store_redis_got,
                                          op);
    }

    if (op->kind != NGX_HTTP_HELICONE_STORE_CACHE) {
        return NGX_DECLINED;
    }

    ngx_str_set(&argv[0], "MGET");

    for (i = 0; i < op->n; i++) {
        if (ngx_http_helicone_store_redis_name(r->pool,
                                               &hmcf->store_redis->prefix,
                                               ":{cache:", op->sha, i,
                                               &argv[1 + i])
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return ngx_http_helicone_store_redis_send(r, ctx, NULL, 0, 1 + op->n,
                                          argv,
                                          ngx_http_helicone_store_redis_got,
                                          op);
}


/* GET's string or nil, MGET's array of them: copied, the reply is not ours */

static void
ngx_http_helicone_store_redis_got(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, void *data,
    ngx_http_helicone_redis_reply_t *reply)
{
    ngx_http_helicone_store_get_t *op = data;

    ngx_uint_t                        i;
    ngx_http_helicone_redis_reply_t  *e;

    if (reply == NULL) {
        goto failed;
    }

    if (op->kind == NGX_HTTP_HELICONE_STORE_CACHE) {
        if (reply->type != NGX_HTTP_HELICONE_REDIS_ARRAY
            || reply->nelts != op->n)
        {
            goto failed;
        }

        e = reply->elts;

    } else {
        e = reply;
    }

    for (i = 0; i < op->n; i++) {

        if (e[i].type == NGX_HTTP_HELICONE_REDIS_NIL) {
            ngx_str_null(&op->values[i]);
            continue;
        }

        if (e[i].type != NGX_HTTP_HELICONE_REDIS_STRING) {
            goto failed;
        }

        op->values[i].len = e[i].str.len;
        op->values[i].data = ngx_pnalloc(r->pool, e[i].str.len);
        if (op->values[i].data == NULL) {
            goto failed;
        }

        ngx_memcpy(op->values[i].data, e[i].str.data, e[i].str.len);
    }

    op->done(r, ctx, op, NGX_OK);
    return;

failed:

    op->done(r, ctx, op, NGX_ERROR);
}


/*
 * From the log phase, fire and forget: a response into the first free
 * bucket, atomically; the command is a copy, nothing points at the
 * request.
 */

static ngx_int_t
ngx_http_helicone_store_redis_put(ngx_http_request_t *r,
    ngx_http_helicone_store_put_t *op)
{
    u_char                          n[NGX_TIME_T_LEN];
    ngx_int_t                       rc;
    ngx_str_t                       argv[2 + NGX_HTTP_HELICONE_CACHE_BUCKETS];
    ngx_uint_t                      i;
    ngx_http_helicone_main_conf_t  *hmcf;

    if (op->kind != NGX_HTTP_HELICONE_STORE_CACHE) {
        return NGX_DECLINED;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);

    for (i = 0; i < op->n; i++) {
        if (ngx_http_helicone_store_redis_name(r->pool,
                                               &hmcf->store_redis->prefix,
                                               ":{cache:", op->sha, i,
                                               &argv[i])
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    argv[i] = *op->value;
    argv[i + 1].data = n;
    argv[i + 1].len = ngx_sprintf(n, "%T", op->ttl) - n;

    rc = ngx_http_helicone_redis_eval(hmcf->store_redis->redis,
                                      hmcf->store_redis->cache_put, op->n,
                                      op->n + 2, argv, NULL, NULL, NULL);

    return (rc == NGX_ERROR) ? NGX_ERROR : NGX_OK;
}


/* KEYS bucket; ARGV quota, window, unit */

static ngx_int_t
ngx_http_helicone_store_redis_take(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_store_take_t *op)
{
    u_char                         *p;
    ngx_str_t                       argv[4];
    ngx_http_helicone_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);

    if (ngx_http_helicone_store_redis_name(r->pool,
                                           &hmcf->store_redis->prefix,
                                           ":rl:", op->sha, -1, &argv[0])
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(r->pool, 2 * NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    argv[1].data = p;
    argv[1].len = ngx_sprintf(p, "%uL", op->policy->quota) - p;
    argv[2].data = p + NGX_INT64_LEN;
    argv[2].len = ngx_sprintf(argv[2].data, "%uL", op->policy->window)
                  - argv[2].data;

    if (op->policy->unit == HELICONE_RL_CENTS) {
        ngx_str_set(&argv[3], "1");

    } else {
        ngx_str_set(&argv[3], "0");
    }

    return ngx_http_helicone_store_redis_send(r, ctx,
                                          hmcf->store_redis->rl_take, 1, 4,
                                          argv,
                                          ngx_http_helicone_store_redis_took,
                                          op);
}


/* The script's answer: {allowed, remaining, reset, wait}. */

static void
ngx_http_helicone_store_redis_took(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, void *data,
    ngx_http_helicone_redis_reply_t *reply)
{
    ngx_http_helicone_store_take_t *op = data;

    ngx_uint_t                        i;
    ngx_http_helicone_redis_reply_t  *e;

    if (reply == NULL || reply->type != NGX_HTTP_HELICONE_REDIS_ARRAY
        || reply->nelts != 4)
    {
        op->done(r, ctx, op, NGX_ERROR);
        return;
    }

    e = reply->elts;

    for (i = 0; i < 4; i++) {
        if (e[i].type != NGX_HTTP_HELICONE_REDIS_INTEGER || e[i].integer < 0)
        {
            op->done(r, ctx, op, NGX_ERROR);
            return;
        }
    }

    op->allowed = (e[0].integer == 1);
    op->remaining = (uint64_t) e[1].integer;
    op->reset = (uint64_t) e[2].integer;
    op->wait = (uint64_t) e[3].integer;

    op->done(r, ctx, op, NGX_OK);
}


/*
 * From the log phase, fire and forget: the command is a copy, nothing
 * points at the request.
 */

static ngx_int_t
ngx_http_helicone_store_redis_charge(ngx_http_request_t *r,
    helicone_rl_policy_t *policy, u_char *sha, uint64_t cost)
{
    u_char                          n[3][NGX_INT64_LEN];
    ngx_int_t                       rc;
    ngx_str_t                       argv[4];
    ngx_http_helicone_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);

    if (ngx_http_helicone_store_redis_name(r->pool,
                                           &hmcf->store_redis->prefix,
                                           ":rl:", sha, -1, &argv[0])
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    argv[1].data = n[0];
    argv[1].len = ngx_sprintf(n[0], "%uL", policy->quota) - n[0];
    argv[2].data = n[1];
    argv[2].len = ngx_sprintf(n[1], "%uL", policy->window) - n[1];
    argv[3].data = n[2];
    argv[3].len = ngx_sprintf(n[2], "%uL", cost) - n[2];

    rc = ngx_http_helicone_redis_eval(hmcf->store_redis->redis,
                                      hmcf->store_redis->rl_charge, 1, 4,
                                      argv, NULL, NULL, NULL);

    return (rc == NGX_ERROR) ? NGX_ERROR : NGX_OK;
}


/*
 * A request's question: NGX_AGAIN, then handler(r, ctx, data, reply)
 * once the answer comes (reply NULL: none came in time); NGX_ERROR:
 * Redis is unavailable now.
 */

static ngx_int_t
ngx_http_helicone_store_redis_send(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_redis_script_t *script,
    ngx_uint_t nkeys, ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_helicone_store_redis_pt handler, void *data)
{
    ngx_int_t                             rc;
    ngx_http_helicone_wait_t             *w;
    ngx_http_helicone_main_conf_t        *hmcf;
    ngx_http_helicone_store_redis_ask_t  *ask;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);

    w = ngx_http_helicone_store_wait(r, ctx, sizeof(*ask),
                                     ngx_http_helicone_store_redis_cancel);
    if (w == NULL) {
        return NGX_ERROR;
    }

    ask = w->data;
    ask->handler = handler;
    ask->data = data;

    if (script) {
        rc = ngx_http_helicone_redis_eval(hmcf->store_redis->redis, script,
                                          nkeys, argc, argv,
                                          ngx_http_helicone_store_redis_reply,
                                          w, &ask->op);

    } else {
        rc = ngx_http_helicone_redis_command(hmcf->store_redis->redis, argc,
                                          argv,
                                          ngx_http_helicone_store_redis_reply,
                                          w, &ask->op);
    }

    if (rc != NGX_AGAIN) {
        return NGX_ERROR;
    }

    ngx_http_helicone_store_asked(w);

    return NGX_AGAIN;
}


/* An answer for a request that still waits. */

static void
ngx_http_helicone_store_redis_reply(void *data,
    ngx_http_helicone_redis_reply_t *reply)
{
    ngx_http_helicone_wait_t *w = data;

    ngx_http_helicone_store_redis_ask_t  *ask;

    ask = w->data;
    ask->op = NULL;

    ask->handler(w->request, w->ctx, ask->data, reply);

    ngx_http_helicone_store_answered(w);
}


/* The request goes away: the answer, when it comes, is dropped. */

static void
ngx_http_helicone_store_redis_cancel(ngx_http_helicone_wait_t *w)
{
    ngx_http_helicone_store_redis_ask_t  *ask;

    ask = w->data;

    if (ask->op) {
        ngx_http_helicone_redis_cancel(ask->op);
        ask->op = NULL;
    }
}
