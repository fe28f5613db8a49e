/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Retry and fallback policy: header values, backoff, status code sets. */

#include "helicone_policy.h"


static int helicone_policy_code(const helicone_json_value_t *v,
    uint16_t *out);


int
helicone_policy_uint(const unsigned char *s, size_t len, uint64_t *out)
{
    size_t    i;
    uint64_t  n;

    if (s == NULL || len == 0 || len > 9) {
        return HELICONE_ERROR;
    }

    n = 0;

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return HELICONE_ERROR;
        }

        n = n * 10 + (uint64_t) (s[i] - '0');
    }

    *out = n;

    return HELICONE_OK;
}


int
helicone_policy_factor(const unsigned char *s, size_t len, uint64_t *milli)
{
    size_t    i, frac;
    uint64_t  n;
    int       dot;

    if (s == NULL || len == 0 || len > 12) {
        return HELICONE_ERROR;
    }

    n = 0;
    frac = 0;
    dot = 0;

    for (i = 0; i < len; i++) {
        if (s[i] == '.' && !dot && i > 0 && i + 1 < len) {
            dot = 1;
            continue;
        }

        if (s[i] < '0' || s[i] > '9') {
            return HELICONE_ERROR;
        }

        if (dot) {
            /* thousandths: further digits are dropped */
            if (frac == 3) {
                continue;
            }

            frac++;
        }

        n = n * 10 + (uint64_t) (s[i] - '0');
    }

    while (frac < 3) {
        n *= 10;
        frac++;
    }

    if (n > 1000000) {
        return HELICONE_ERROR;
    }

    *milli = n;

    return HELICONE_OK;
}


uint64_t
helicone_policy_backoff(uint64_t min_ms, uint64_t max_ms,
    uint64_t factor_milli, unsigned k)
{
    unsigned  i;
    uint64_t  d;

    d = min_ms;

    for (i = 1; i < k && d < max_ms; i++) {
        if (factor_milli > 1000 && d > UINT64_MAX / factor_milli) {
            d = max_ms;
            break;
        }

        d = d * factor_milli / 1000;
    }

    return d < max_ms ? d : max_ms;
}


static int
helicone_policy_code(const helicone_json_value_t *v, uint16_t *out)
{
    int64_t  n;

    if (helicone_json_int64(v, &n) != HELICONE_OK || n < 100 || n > 999) {
        return HELICONE_ERROR;
    }

    *out = (uint16_t) n;

    return HELICONE_OK;
}


int
helicone_policy_codes(const helicone_json_value_t *array,
    helicone_codes_t *codes)
{
    helicone_json_iter_t   it;
    helicone_json_value_t  k, v, from, to;

    codes->n = 0;

    if (array == NULL || array->type != HELICONE_JSON_ARRAY
        || helicone_json_iter_init(&it, array) != HELICONE_OK)
    {
        return HELICONE_ERROR;
    }

    while (helicone_json_iter_next(&it, &k, &v) == HELICONE_OK) {

        if (codes->n == HELICONE_POLICY_MAX_RANGES) {
            return HELICONE_ERROR;
        }

        if (v.type == HELICONE_JSON_NUMBER) {
            if (helicone_policy_code(&v, &codes->from[codes->n]) != HELICONE_OK)
            {
                return HELICONE_ERROR;
            }

            codes->to[codes->n] = codes->from[codes->n];
            codes->n++;
            continue;
        }

        if (v.type != HELICONE_JSON_OBJECT
            || helicone_json_object_get(&v, "from", 4, &from) != HELICONE_OK
            || helicone_json_object_get(&v, "to", 2, &to) != HELICONE_OK
            || helicone_policy_code(&from, &codes->from[codes->n])
               != HELICONE_OK
            || helicone_policy_code(&to, &codes->to[codes->n]) != HELICONE_OK
            || codes->from[codes->n] > codes->to[codes->n])
        {
            return HELICONE_ERROR;
        }

        codes->n++;
    }

    return HELICONE_OK;
}


int
helicone_policy_codes_match(const helicone_codes_t *codes, unsigned status)
{
    size_t  i;

    for (i = 0; i < codes->n; i++) {
        if (status >= codes->from[i] && status <= codes->to[i]) {
            return 1;
        }
    }

    return 0;
}
