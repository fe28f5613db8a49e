/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Helicone-Token-Limit-Exception-Handler: a request made to fit its
 * model's context window (truncate, middle-out), or sent to the next
 * model of its list when the first would overflow (fallback). The
 * estimate and the rewrites are core/helicone_tokenlimit.c's.
 */

#include "ngx_http_helicone_module.h"
#include "helicone_model.h"


static ngx_int_t ngx_http_helicone_tokenlimit_fallback(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, helicone_model_entry_t *entries, size_t n,
    ngx_uint_t over);
static size_t ngx_http_helicone_tokenlimit_entry_len(
    helicone_model_entry_t *e);


/*
 * Runs the strategy the client asked for, before the cache key is
 * taken. NGX_OK: ctx->body holds the rewritten body (the caller reads
 * it again when it is a new one) or, for fallback, ctx->model names the
 * chosen model (and so does the body's "model"); NGX_DECLINED: nothing
 * asked or nothing to do; NGX_ERROR: no memory. ctx->tokenlimit says
 * what ran, for the log.
 */

ngx_int_t
ngx_http_helicone_tokenlimit(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx)
{
    int                            rc;
    size_t                         n, len;
    u_char                        *out;
    ngx_uint_t                     over;
    helicone_tokenlimit_t         *tl;
    helicone_model_entry_t         entries[HELICONE_MODEL_MAX_ENTRIES];
    ngx_http_helicone_model_t     *model;
    ngx_http_helicone_main_conf_t  *hmcf;

    if (ctx->asked.token_limit == HELICONE_TOKENLIMIT_NONE || !ctx->json_ok
        || ctx->model.len == 0)
    {
        return NGX_DECLINED;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);

    if (helicone_model_parse(ctx->model.data, ctx->model.len, entries,
                             HELICONE_MODEL_MAX_ENTRIES, &n,
                             ngx_http_helicone_provider_known, hmcf)
        != HELICONE_OK
        || entries[0].exclude)
    {
        /* the plan refuses it with the reason */
        return NGX_DECLINED;
    }

    /* the limit is the first model's, as Helicone takes the primary's */
    model = ngx_http_helicone_model_find(hmcf,
                                         (u_char *) entries[0].model.data,
                                         entries[0].model.len);

    tl = ngx_palloc(r->pool, sizeof(helicone_tokenlimit_t));
    if (tl == NULL) {
        return NGX_ERROR;
    }

    tl->strategy = ctx->asked.token_limit;
    tl->per_char = (entries[0].model.len >= 13
                    && ngx_strncmp(entries[0].model.data, "gpt-3.5-turbo", 13)
                       == 0)
                   ? HELICONE_TOKENLIMIT_PER_CHAR_GPT35
                   : HELICONE_TOKENLIMIT_PER_CHAR;
    tl->limit = (model && model->context)
                ? helicone_tokenlimit_limit(model->context, &ctx->json) : 0;

    (void) helicone_tokenlimit_estimate(tl, &ctx->json);

    ctx->tokenlimit.strategy = tl->strategy;
    ctx->tokenlimit.estimate = tl->estimate;
    ctx->tokenlimit.limit = tl->limit;
    ctx->tokenlimit.result = tl->estimate;

    /* an unknown window counts as too small, as Helicone's does */
    over = (tl->limit == 0 || tl->estimate > tl->limit);

    if (tl->strategy == HELICONE_TOKENLIMIT_FALLBACK) {
        return ngx_http_helicone_tokenlimit_fallback(r, ctx, entries, n,
                                                     over);
    }

    if (tl->limit == 0 || !over) {
        return NGX_DECLINED;
    }

    out = ngx_pnalloc(r->pool, ctx->json.len);
    if (out == NULL) {
        return NGX_ERROR;
    }

    rc = helicone_tokenlimit_fit(tl, &ctx->json, out, &len);

    if (rc != HELICONE_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "helicone tokenlimit: %s cannot make %uL tokens fit "
                      "%uL", helicone_tokenlimit_name(tl->strategy),
                      tl->estimate, tl->limit);
        return NGX_DECLINED;
    }

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "helicone tokenlimit: %uL -> %uL tokens, %uz dropped, "
                   "%uz cut", tl->estimate, tl->result, tl->dropped, tl->cut);

    ctx->tokenlimit.result = tl->result;
    ctx->tokenlimit.dropped = tl->dropped;
    ctx->tokenlimit.cut = tl->cut;

    ctx->body.data = out;
    ctx->body.len = len;

    return NGX_OK;
}


/*
 * fallback: the first model when the request fits it, else the second;
 * the exclusions ("!provider") of the list still apply. The plan then
 * routes the one model chosen, with no chain after it.
 */

static ngx_int_t
ngx_http_helicone_tokenlimit_fallback(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, helicone_model_entry_t *entries, size_t n,
    ngx_uint_t over)
{
    int                            injected;
    u_char                        *p;
    size_t                         i, len;
    ngx_str_t                      name;
    ngx_uint_t                     k, chosen;
    helicone_model_entry_t        *e;
    ngx_http_helicone_loc_conf_t  *hlcf;

    /* the candidates are the entries that name a model */
    chosen = n;
    k = 0;

    for (i = 0; i < n; i++) {
        if (entries[i].exclude) {
            continue;
        }

        if (k++ == (over ? 1 : 0)) {
            chosen = i;
            break;
        }
    }

    if (chosen == n) {
        /* one model only: nothing to choose from */
        return NGX_DECLINED;
    }

    ctx->tokenlimit.model.len =
        ngx_http_helicone_tokenlimit_entry_len(&entries[chosen]);
    len = ctx->tokenlimit.model.len;

    for (i = 0; i < n; i++) {
        if (entries[i].exclude) {
            len += 2 + entries[i].provider.len;
        }
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->tokenlimit.model.data = p;

    p = ngx_cpymem(p, entries[chosen].model.data, ctx->tokenlimit.model.len);

    for (i = 0; i < n; i++) {
        e = &entries[i];

        if (e->exclude) {
            *p++ = ',';
            *p++ = '!';
            p = ngx_cpymem(p, e->provider.data, e->provider.len);
        }
    }

    ctx->model.data = ctx->tokenlimit.model.data;
    ctx->model.len = len;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "helicone tokenlimit: fallback to \"%V\" (%s)",
                   &ctx->tokenlimit.model, over ? "over" : "fits");

    hlcf = ngx_http_get_module_loc_conf(r, ngx_http_helicone_module);

    /*
     * The body's "model" is the one chosen: the proxy modes send the
     * body; in gateway mode the plan routes ctx->model, read again from
     * the body, which the cache key is taken from too (a cached answer
     * of the second model is no answer for the first).
     */
    if (hlcf->pass == NGX_HTTP_HELICONE_PASS_GATEWAY) {
        name = ctx->model;

    } else {
        name.data = (u_char *) entries[chosen].model.data;
        name.len = entries[chosen].model.len;
    }

    if (ngx_http_helicone_plan_splice(r, ctx, &name, 0, &ctx->body,
                                      &injected)
        == NGX_ERROR)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* The text of one list entry: "model", "model/provider[/deployment]". */

static size_t
ngx_http_helicone_tokenlimit_entry_len(helicone_model_entry_t *e)
{
    const unsigned char  *end;

    end = e->model.data + e->model.len;

    if (e->provider.len && e->provider.data + e->provider.len > end) {
        end = e->provider.data + e->provider.len;
    }

    if (e->deployment.len && e->deployment.data + e->deployment.len > end) {
        end = e->deployment.data + e->deployment.len;
    }

    return (size_t) (end - e->model.data);
}
