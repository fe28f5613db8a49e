/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Tests for core/helicone_policy.c: retry values, backoff, code sets. */

#include <string.h>

#include "helicone_policy.h"
#include "tap.h"


static int uint_of(const char *s, uint64_t *n);
static int factor_of(const char *s, uint64_t *n);
static int codes_of(const char *json, helicone_codes_t *c);
static void test_values(void);
static void test_backoff(void);
static void test_codes(void);


static int
uint_of(const char *s, uint64_t *n)
{
    return helicone_policy_uint((const unsigned char *) s, strlen(s), n);
}


static int
factor_of(const char *s, uint64_t *n)
{
    return helicone_policy_factor((const unsigned char *) s, strlen(s), n);
}


static int
codes_of(const char *json, helicone_codes_t *c)
{
    helicone_json_value_t  v;

    if (helicone_json_parse((const unsigned char *) json, strlen(json), &v)
        != HELICONE_OK)
    {
        return HELICONE_ERROR;
    }

    return helicone_policy_codes(&v, c);
}


static void
test_values(void)
{
    uint64_t  n;

    ok(uint_of("5", &n) == HELICONE_OK && n == 5, "uint: 5");
    ok(uint_of("1000", &n) == HELICONE_OK && n == 1000, "uint: 1000");
    ok(uint_of("", &n) == HELICONE_ERROR, "uint: empty refused");
    ok(uint_of("-1", &n) == HELICONE_ERROR, "uint: sign refused");
    ok(uint_of("1e3", &n) == HELICONE_ERROR, "uint: exponent refused");
    ok(uint_of("1234567890", &n) == HELICONE_ERROR, "uint: too long");

    ok(factor_of("2", &n) == HELICONE_OK && n == 2000, "factor: 2");
    ok(factor_of("1.5", &n) == HELICONE_OK && n == 1500, "factor: 1.5");
    ok(factor_of("0.25", &n) == HELICONE_OK && n == 250, "factor: 0.25");
    ok(factor_of("1.23456", &n) == HELICONE_OK && n == 1234,
       "factor: thousandths kept");
    ok(factor_of("1.", &n) == HELICONE_ERROR, "factor: dangling dot");
    ok(factor_of(".5", &n) == HELICONE_ERROR, "factor: leading dot");
    ok(factor_of("1.2.3", &n) == HELICONE_ERROR, "factor: two dots");
    ok(factor_of("abc", &n) == HELICONE_ERROR, "factor: letters");
    ok(factor_of("2000", &n) == HELICONE_ERROR, "factor: over 1000");
}


static void
test_backoff(void)
{
    /* Helicone's defaults: 1s, 2s, 4s, 8s, then capped at 10s */
    is_int(helicone_policy_backoff(1000, 10000, 2000, 1), 1000, "backoff: 1");
    is_int(helicone_policy_backoff(1000, 10000, 2000, 2), 2000, "backoff: 2");
    is_int(helicone_policy_backoff(1000, 10000, 2000, 3), 4000, "backoff: 3");
    is_int(helicone_policy_backoff(1000, 10000, 2000, 4), 8000, "backoff: 4");
    is_int(helicone_policy_backoff(1000, 10000, 2000, 5), 10000,
           "backoff: 5 capped");
    is_int(helicone_policy_backoff(100, 1000, 1500, 3), 225,
           "backoff: factor 1.5");
    is_int(helicone_policy_backoff(100, 1000, 1000, 9), 100,
           "backoff: factor 1 stays");
    is_int(helicone_policy_backoff(500, 300, 2000, 1), 300,
           "backoff: min over max is max");
    is_int(helicone_policy_backoff(UINT64_MAX / 2, UINT64_MAX, 1000000, 60),
           (long long) UINT64_MAX, "backoff: no overflow");
}


static void
test_codes(void)
{
    helicone_codes_t  c;

    ok(codes_of("[429, {\"from\": 500, \"to\": 599}]", &c) == HELICONE_OK
       && c.n == 2, "codes: number and range");
    ok(helicone_policy_codes_match(&c, 429), "codes: 429 in");
    ok(helicone_policy_codes_match(&c, 503), "codes: 503 in range");
    ok(!helicone_policy_codes_match(&c, 400), "codes: 400 out");
    ok(!helicone_policy_codes_match(&c, 600), "codes: 600 out");

    ok(codes_of("[]", &c) == HELICONE_OK && c.n == 0, "codes: empty");
    ok(codes_of("[\"429\"]", &c) == HELICONE_ERROR, "codes: string refused");
    ok(codes_of("[{\"from\": 500}]", &c) == HELICONE_ERROR,
       "codes: range without to");
    ok(codes_of("[{\"from\": 599, \"to\": 500}]", &c) == HELICONE_ERROR,
       "codes: reversed range");
    ok(codes_of("[42]", &c) == HELICONE_ERROR, "codes: not a status");
    ok(codes_of("{}", &c) == HELICONE_ERROR, "codes: not an array");
    ok(codes_of("[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]", &c)
       == HELICONE_ERROR, "codes: too many");
}


int
main(void)
{
    test_values();
    test_backoff();
    test_codes();

    return done_testing();
}
