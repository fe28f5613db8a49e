/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Splitting the gateway's model string into model/provider entries. */

#include <string.h>

#include "helicone_model.h"


#define HELICONE_MODEL_ONLINE      ":online"
#define HELICONE_MODEL_ONLINE_LEN  (sizeof(HELICONE_MODEL_ONLINE) - 1)


static int helicone_model_entry(const unsigned char *t, size_t len,
    helicone_model_entry_t *e, helicone_model_provider_pt is_provider,
    void *ctx);
static int helicone_model_split(const unsigned char *t, size_t len,
    helicone_model_entry_t *e, helicone_model_provider_pt is_provider,
    void *ctx);


int
helicone_model_parse(const unsigned char *s, size_t len,
    helicone_model_entry_t *entries, size_t max, size_t *n,
    helicone_model_provider_pt is_provider, void *ctx)
{
    size_t                count;
    const unsigned char  *p, *end, *comma, *a, *b;

    if (n) {
        *n = 0;
    }

    if (s == NULL || len == 0 || entries == NULL) {
        return HELICONE_ERROR;
    }

    p = s;
    end = s + len;
    count = 0;

    for ( ;; ) {
        comma = memchr(p, ',', end - p);

        a = p;
        b = comma ? comma : end;

        while (a < b && (*a == ' ' || *a == '\t')) {
            a++;
        }

        while (b > a && (b[-1] == ' ' || b[-1] == '\t')) {
            b--;
        }

        if (a == b || count == max) {
            return HELICONE_ERROR;
        }

        if (helicone_model_entry(a, b - a, &entries[count], is_provider, ctx)
            != HELICONE_OK)
        {
            return HELICONE_ERROR;
        }

        count++;

        if (comma == NULL) {
            break;
        }

        p = comma + 1;
    }

    if (n) {
        *n = count;
    }

    return HELICONE_OK;
}


/* One trimmed, non-empty entry. */

static int
helicone_model_entry(const unsigned char *t, size_t len,
    helicone_model_entry_t *e, helicone_model_provider_pt is_provider,
    void *ctx)
{
    const unsigned char  *a, *b;

    memset(e, 0, sizeof(helicone_model_entry_t));

    /* empty parts point into the string, never NULL */

    e->model.data = t;
    e->provider.data = t;
    e->deployment.data = t;

    if (t[0] == '!') {
        a = t + 1;
        b = t + len;

        while (a < b && (*a == ' ' || *a == '\t')) {
            a++;
        }

        if (a == b) {
            return HELICONE_ERROR;
        }

        e->provider.data = a;
        e->provider.len = b - a;
        e->exclude = 1;

        return HELICONE_OK;
    }

    if (helicone_model_split(t, len, e, is_provider, ctx) != HELICONE_OK) {
        e->model.data = t;
        e->model.len = len;
    }

    if (e->model.len >= HELICONE_MODEL_ONLINE_LEN
        && memcmp(e->model.data + e->model.len - HELICONE_MODEL_ONLINE_LEN,
                  HELICONE_MODEL_ONLINE, HELICONE_MODEL_ONLINE_LEN)
           == 0)
    {
        e->model.len -= HELICONE_MODEL_ONLINE_LEN;
        e->online = 1;
    }

    if (e->model.len == 0) {
        return HELICONE_ERROR;
    }

    return HELICONE_OK;
}


/*
 * "model/provider", else "model/provider/deployment"; HELICONE_DECLINED
 * when no '/' is followed by a known provider, so "org/model" ids stay
 * whole.
 */

static int
helicone_model_split(const unsigned char *t, size_t len,
    helicone_model_entry_t *e, helicone_model_provider_pt is_provider,
    void *ctx)
{
    size_t  i, j;

    if (is_provider == NULL) {
        return HELICONE_DECLINED;
    }

    for (i = len; i > 0; i--) {
        if (t[i - 1] == '/') {
            break;
        }
    }

    if (i == 0) {
        return HELICONE_DECLINED;
    }

    /* t[i - 1] is the last '/' */

    i--;

    if (i == len - 1) {
        return HELICONE_DECLINED;
    }

    if (i > 0 && is_provider(ctx, t + i + 1, len - i - 1)) {
        e->model.data = t;
        e->model.len = i;
        e->provider.data = t + i + 1;
        e->provider.len = len - i - 1;

        return HELICONE_OK;
    }

    for (j = i; j > 1; j--) {
        if (t[j - 1] != '/') {
            continue;
        }

        /* t[j - 1] is an earlier '/': "A/B/C" with B = t[j .. i) */

        if (j < i && is_provider(ctx, t + j, i - j)) {
            e->model.data = t;
            e->model.len = j - 1;
            e->provider.data = t + j;
            e->provider.len = i - j;
            e->deployment.data = t + i + 1;
            e->deployment.len = len - i - 1;

            return HELICONE_OK;
        }
    }

    return HELICONE_DECLINED;
}


int
helicone_model_segment_ok(const unsigned char *s, size_t len)
{
    size_t  i;

    if (s == NULL || len == 0 || (len == 1 && s[0] == '.')
        || (len == 2 && s[0] == '.' && s[1] == '.'))
    {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (s[i] <= ' ' || s[i] == 0x7f || s[i] == '/' || s[i] == '\\'
            || s[i] == '%' || s[i] == '?' || s[i] == '#')
        {
            return 0;
        }
    }

    return 1;
}
