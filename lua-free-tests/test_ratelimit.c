/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Tests for core/helicone_ratelimit.c: policies and token buckets. */

#include <string.h>

#include "helicone_ratelimit.h"
#include "tap.h"


static int parse(const char *s, helicone_rl_policy_t *p);
static void test_parse(void);
static void test_format(void);
static void test_requests(void);
static void test_cents(void);


static int
parse(const char *s, helicone_rl_policy_t *p)
{
    return helicone_rl_parse((const unsigned char *) s, strlen(s), p);
}


static void
test_parse(void)
{
    helicone_rl_policy_t  p;

    ok(parse("1000;w=3600", &p) == HELICONE_OK
       && p.quota == 1000ULL * HELICONE_RL_UNIT && p.window == 3600
       && p.unit == HELICONE_RL_REQUEST && p.segment == HELICONE_RL_GLOBAL,
       "parse: quota and window");
    ok(parse("500;w=3600;u=cents;s=user", &p) == HELICONE_OK
       && p.unit == HELICONE_RL_CENTS && p.segment == HELICONE_RL_USER,
       "parse: cents per user");
    ok(parse("10;W=60;U=REQUEST;S=Team_Id", &p) == HELICONE_OK
       && p.segment == HELICONE_RL_PROPERTY && p.name_len == 7
       && memcmp(p.name, "team_id", 7) == 0,
       "parse: case-insensitive, property lower-cased");
    ok(parse("0.5;w=60;u=cents", &p) == HELICONE_OK
       && p.quota == HELICONE_RL_UNIT / 2, "parse: decimal quota");
    ok(parse("100;w=60;s=organization", &p) == HELICONE_OK
       && p.segment == HELICONE_RL_PROPERTY, "parse: other segment");

    ok(parse("", &p) == HELICONE_ERROR, "parse: empty");
    ok(parse("0;w=60", &p) == HELICONE_ERROR, "parse: zero quota");
    ok(parse("10;w=59", &p) == HELICONE_ERROR, "parse: window under 60");
    ok(parse("10;w=31536001", &p) == HELICONE_ERROR, "parse: window too long");
    ok(parse("10", &p) == HELICONE_ERROR, "parse: no window");
    ok(parse("10;w=60;u=tokens", &p) == HELICONE_ERROR, "parse: bad unit");
    ok(parse("10;w=60;s=", &p) == HELICONE_ERROR, "parse: empty segment");
    ok(parse("10;w=60;s=a b", &p) == HELICONE_ERROR, "parse: bad segment");
    ok(parse("10;w=60;s=user;u=cents", &p) == HELICONE_ERROR,
       "parse: fields out of order");
    ok(parse("10 ;w=60", &p) == HELICONE_ERROR, "parse: spaces");
    ok(parse("-1;w=60", &p) == HELICONE_ERROR, "parse: negative");
    ok(parse("1.;w=60", &p) == HELICONE_ERROR, "parse: dangling dot");
    ok(parse("1234567890123;w=60", &p) == HELICONE_ERROR, "parse: too big");
}


static void
test_format(void)
{
    size_t                len;
    unsigned char         buf[128];
    helicone_rl_policy_t  p;

    parse("1000;W=3600;u=request;s=GLOBALX", &p);
    len = helicone_rl_format(&p, buf);
    is_mem(buf, len, "1000;w=3600;s=globalx", 21,
           "format: request unit left out, segment kept");

    parse("2.5;w=60;u=cents", &p);
    len = helicone_rl_format(&p, buf);
    is_mem(buf, len, "2.5;w=60;u=cents", 16, "format: decimal, cents");
}


static void
test_requests(void)
{
    int                   i, passed;
    uint64_t              rem, reset, now;
    helicone_rl_bucket_t  b;
    helicone_rl_policy_t  p;

    parse("5;w=60", &p);
    memset(&b, 0, sizeof(b));
    now = 1000000;
    passed = 0;

    for (i = 0; i < 8; i++) {
        passed += helicone_rl_take(&b, &p, now, &rem, &reset);
    }

    is_int(passed, 5, "requests: exactly the quota passes");
    is_int(rem, 0, "requests: none remaining");
    is_int(reset, 60, "requests: full again in the window");

    /* empty: the next token in 12 s, full again in 60 */
    is_int((int) helicone_rl_wait(&b, &p), 12,
           "requests: wait for one token, not for the whole bucket");

    /* 12 s later one token came back (5 per 60 s) */
    ok(helicone_rl_take(&b, &p, now + 12000, &rem, &reset),
       "requests: refilled after window/quota");
    ok(!helicone_rl_take(&b, &p, now + 12001, &rem, &reset),
       "requests: and only one");

    ok(helicone_rl_take(&b, &p, now + 10 * 60000, &rem, &reset)
       && rem == 4, "requests: a long pause fills it, capped at the quota");

    /* the quota shrinks: tokens kept, clamped */
    parse("2;w=60", &p);
    ok(helicone_rl_take(&b, &p, now + 10 * 60000, &rem, &reset) && rem == 1,
       "requests: a smaller quota clamps the tokens");
}


static void
test_cents(void)
{
    uint64_t              rem, reset;
    helicone_rl_bucket_t  b;
    helicone_rl_policy_t  p;

    parse("10;w=3600;u=cents", &p);
    memset(&b, 0, sizeof(b));

    ok(helicone_rl_take(&b, &p, 5000, &rem, &reset) && rem == 10,
       "cents: a new bucket allows, nothing taken");

    helicone_rl_charge(&b, &p, 5000, 25 * HELICONE_RL_UNIT / 2);
    ok(!helicone_rl_take(&b, &p, 5000, &rem, &reset) && rem == 0,
       "cents: 12.5 charged, into debt, refused");
    ok(b.tokens == -(int64_t) (HELICONE_RL_UNIT * 5 / 2), "cents: debt kept");

    /* 2.5 cents of debt at 10 per hour: 900 s to positive */
    is_int((int) helicone_rl_wait(&b, &p), 901,
           "cents: wait until positive (a millionth past zero)");
    ok(!helicone_rl_take(&b, &p, 5000 + 900000, &rem, &reset),
       "cents: exactly zero is still refused");
    ok(helicone_rl_take(&b, &p, 5000 + 900000 + 360, &rem, &reset),
       "cents: allowed again once positive");

    helicone_rl_charge(&b, &p, 0, UINT64_MAX);
    ok(b.tokens < 0 && b.tokens > -(int64_t) 1000001 * HELICONE_RL_UNIT,
       "cents: one charge capped at a million cents");
}


/* requests every few milliseconds must not keep a slow bucket empty */

static void
test_slow_refill(void)
{
    int                   passed;
    uint64_t              rem, reset, now, end;
    helicone_rl_bucket_t  b;
    helicone_rl_policy_t  p;

    static const struct {
        const char  *policy;
        uint64_t     every;       /* ms between requests */
        int          after;       /* passes in one window once empty */
        const char  *name;
    } cases[] = {
        { "1;w=3600", 2, 1, "slow refill: 1 per hour, asked every 2 ms" },
        { "100;w=86400", 2, 100, "slow refill: 100 per day, every 2 ms" },
        { "3;w=60", 1, 3, "slow refill: 3 per minute, every 1 ms" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        parse(cases[i].policy, &p);
        memset(&b, 0, sizeof(b));
        now = 1000000;

        /* empty it */
        while (helicone_rl_take(&b, &p, now, &rem, &reset)) {
            /* void */
        }

        passed = 0;
        end = now + p.window * 1000;

        for (now += cases[i].every; now <= end; now += cases[i].every) {
            passed += helicone_rl_take(&b, &p, now, &rem, &reset);
        }

        is_int(passed, cases[i].after, cases[i].name);
    }
}


int
main(void)
{
    test_parse();
    test_format();
    test_requests();
    test_cents();
    test_slow_refill();

    return done_testing();
}
