/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Tests for core/helicone_cost.c: every expected cost is worked out by hand
 * in the comment next to it, from prices copied out of costs/costs.json
 * (the entry is named: registry provider + ids, or legacy table + value).
 * Prices are pico-USD per token: USD per 1M x 1e6, e.g. $3 per 1M = 3e6.
 */

#include <math.h>
#include <string.h>

#include "helicone_cost.h"
#include "tap.h"


#define NA     -1.0     /* a price the entry does not have */
#define X      -1       /* a count the usage does not have */
#define UNSET  HELICONE_COST_UNSET


static helicone_price_tier_t tier(uint64_t threshold, double input,
    double output, double cached, double w5m, double w1h);
static helicone_legacy_row_t row(helicone_match_e match, const char *value,
    double input, double output, double read, double cw, double cw5m,
    double cw1h, double audio_in, double audio_out, double image_usd,
    double call_usd);
static helicone_usage_t usage(int64_t prompt, int64_t completion,
    int64_t read, int64_t write, int64_t w5m, int64_t w1h, int64_t reasoning,
    int64_t prompt_audio, int64_t completion_audio);
static void is_cost(int rc, uint64_t pico, uint64_t exp, const char *usd,
    const char *name);
static void registry(const char *name, const helicone_price_t *price,
    helicone_usage_t u, uint64_t exp, const char *usd);
static void legacy(const char *name, const helicone_legacy_row_t *r,
    helicone_usage_t u, helicone_usage_kind_e kind, uint64_t exp,
    const char *usd);
static const char *matched(const helicone_legacy_row_t *rows, size_t n,
    const char *model);
static void test_from_usd(void);
static void test_format(void);
static void test_registry(void);
static void test_legacy(void);
static void test_match(void);
static void test_declined(void);
static void test_saturation(void);
static void test_random(void);


static helicone_price_tier_t
tier(uint64_t threshold, double input, double output, double cached,
    double w5m, double w1h)
{
    helicone_price_tier_t  t;

    t.threshold = threshold;
    t.input = helicone_cost_from_usd_per_1m(input);
    t.output = helicone_cost_from_usd_per_1m(output);
    t.cached_input = helicone_cost_from_usd_per_1m(cached);
    t.cache_write_5m = helicone_cost_from_usd_per_1m(w5m);
    t.cache_write_1h = helicone_cost_from_usd_per_1m(w1h);
    t.thinking = UNSET;   /* no entry of the data prices thinking */

    return t;
}


static helicone_legacy_row_t
row(helicone_match_e match, const char *value, double input, double output,
    double read, double cw, double cw5m, double cw1h, double audio_in,
    double audio_out, double image_usd, double call_usd)
{
    helicone_legacy_row_t  r;

    r.match = match;
    r.value.data = (const unsigned char *) value;
    r.value.len = strlen(value);
    r.input = helicone_cost_from_usd_per_1m(input);
    r.output = helicone_cost_from_usd_per_1m(output);
    r.cache_read = helicone_cost_from_usd_per_1m(read);
    r.cache_write = helicone_cost_from_usd_per_1m(cw);
    r.cache_write_5m = helicone_cost_from_usd_per_1m(cw5m);
    r.cache_write_1h = helicone_cost_from_usd_per_1m(cw1h);
    r.audio_input = helicone_cost_from_usd_per_1m(audio_in);
    r.audio_output = helicone_cost_from_usd_per_1m(audio_out);
    r.per_image = helicone_cost_from_usd(image_usd);
    r.per_call = helicone_cost_from_usd(call_usd);

    return r;
}


static helicone_usage_t
usage(int64_t prompt, int64_t completion, int64_t read, int64_t write,
    int64_t w5m, int64_t w1h, int64_t reasoning, int64_t prompt_audio,
    int64_t completion_audio)
{
    helicone_usage_t  u;

    helicone_usage_init(&u);

    u.prompt_tokens = prompt;
    u.completion_tokens = completion;
    u.cache_read_tokens = read;
    u.cache_write_tokens = write;
    u.cache_write_5m_tokens = w5m;
    u.cache_write_1h_tokens = w1h;
    u.reasoning_tokens = reasoning;
    u.prompt_audio_tokens = prompt_audio;
    u.completion_audio_tokens = completion_audio;
    u.found = 1;

    return u;
}


static void
is_cost(int rc, uint64_t pico, uint64_t exp, const char *usd,
    const char *name)
{
    size_t         n;
    unsigned char  buf[32];

    is_int(rc, HELICONE_OK, name);

    if (!ok(pico == exp, "  %llu pico-USD", (unsigned long long) exp)) {
        diag("         got: %llu", (unsigned long long) pico);
    }

    n = helicone_cost_format_usd(pico, buf);
    is_mem(buf, n, usd, strlen(usd), "  formats as $");
}


static void
registry(const char *name, const helicone_price_t *price, helicone_usage_t u,
    uint64_t exp, const char *usd)
{
    int       rc;
    uint64_t  pico;

    pico = 0;
    rc = helicone_cost_registry(price, &u, &pico);

    is_cost(rc, pico, exp, usd, name);
}


static void
legacy(const char *name, const helicone_legacy_row_t *r, helicone_usage_t u,
    helicone_usage_kind_e kind, uint64_t exp, const char *usd)
{
    int       rc;
    uint64_t  pico;

    pico = 0;
    rc = helicone_cost_legacy(r, &u, kind, &pico);

    is_cost(rc, pico, exp, usd, name);
}


static void
test_from_usd(void)
{
    volatile double  zero;

    zero = 0.0;

    is_int(helicone_cost_from_usd_per_1m(0.15), 150000, "$0.15/1M = 150000");
    is_int(helicone_cost_from_usd_per_1m(23.7375), 23737500,
           "$23.7375/1M = 23737500");
    is_int(helicone_cost_from_usd_per_1m(0), 0, "$0/1M = 0");
    is_int(helicone_cost_from_usd_per_1m(-0.0), 0, "-0.0 = 0");

    /* legacy OPENROUTER "google/gemma-3-4b-it" input is 0.01703012 per 1M */
    is_int(helicone_cost_from_usd_per_1m(0.01703012), 17030,
           "17030.12 pico rounds to 17030");
    is_int(helicone_cost_from_usd_per_1m(0.0000005), 1, "0.5 pico rounds up");

    ok(helicone_cost_from_usd_per_1m(-1000000) == UNSET,
       "openrouter/auto's -1000000 is UNSET");
    ok(helicone_cost_from_usd_per_1m(-1e-9) == UNSET, "negative is UNSET");
    ok(helicone_cost_from_usd_per_1m(zero / zero) == UNSET, "NaN is UNSET");
    ok(helicone_cost_from_usd_per_1m(INFINITY) == UNSET, "inf is UNSET");
    ok(helicone_cost_from_usd_per_1m(-INFINITY) == UNSET, "-inf is UNSET");
    ok(helicone_cost_from_usd_per_1m(2e13) == UNSET, "2e19 pico is UNSET");
    ok(helicone_cost_from_usd_per_1m(1e13) == 10000000000000000000ULL,
       "1e19 pico fits");

    /* perplexity sonar-pro per_request_usd 0.006; PERPLEXITY sonar 5e-06 */
    is_int(helicone_cost_from_usd(0.006), 6000000000LL, "$0.006 = 6e9 pico");
    is_int(helicone_cost_from_usd(5e-06), 5000000, "$5e-06 = 5e6 pico");
    ok(helicone_cost_from_usd(-1) == UNSET, "negative USD is UNSET");
}


static void
test_format(void)
{
    size_t         i, n;
    unsigned char  buf[32];

    static const struct {
        uint64_t     pico;
        const char  *usd;
    } cases[] = {
        { 0, "0" },
        { 1, "0.000000000001" },
        { 10, "0.00000000001" },
        { 1000000000000ULL, "1" },
        { 12500000000000ULL, "12.5" },
        { 123000000000001ULL, "123.000000000001" },
        { 19500000000ULL, "0.0195" },
        { 283200000, "0.0002832" },
        { 100000000000000000ULL, "100000" },
        { UINT64_MAX, "18446744.073709551615" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(buf, 'x', sizeof(buf));
        n = helicone_cost_format_usd(cases[i].pico, buf);
        is_mem(buf, n, cases[i].usd, strlen(cases[i].usd), cases[i].usd);
    }

    is_int(helicone_cost_format_usd(1, NULL), 0, "NULL buffer: 0 bytes");
}


static void
test_registry(void)
{
    helicone_usage_t  u;

    /* anthropic claude-sonnet-4-20250514 */
    static helicone_price_tier_t  sonnet_t[2];
    static helicone_price_t       sonnet = {
        sonnet_t, 2, 0, 0, HELICONE_TIER_ANTHROPIC, HELICONE_USAGE_ANTHROPIC
    };

    /* bedrock anthropic.claude-sonnet-4-20250514-v1:0 (no 1h price) */
    static helicone_price_tier_t  bedrock_t[2];
    static helicone_price_t       bedrock = {
        bedrock_t, 2, 0, 0, HELICONE_TIER_FIRST, HELICONE_USAGE_ANTHROPIC
    };

    /* openai gpt-4o-mini */
    static helicone_price_tier_t  mini_t[1];
    static helicone_price_t       mini = {
        mini_t, 1, 0, 0, HELICONE_TIER_FIRST, HELICONE_USAGE_OPENAI
    };

    /* openai gpt-4o */
    static helicone_price_tier_t  gpt4o_t[1];
    static helicone_price_t       gpt4o = {
        gpt4o_t, 1, 0, 0, HELICONE_TIER_FIRST, HELICONE_USAGE_OPENAI
    };

    /* openai o4-mini */
    static helicone_price_tier_t  o4_t[1];
    static helicone_price_t       o4 = {
        o4_t, 1, 0, 0, HELICONE_TIER_FIRST, HELICONE_USAGE_OPENAI
    };

    /* google-ai-studio gemini-2.5-pro; vertex gemini-2.5-pro: same tiers */
    static helicone_price_tier_t  gemini_t[2];
    static helicone_price_t       gemini = {
        gemini_t, 2, 0, 0, HELICONE_TIER_GOOGLE, HELICONE_USAGE_OPENAI
    };
    static helicone_price_t       vertex = {
        gemini_t, 2, 0, 0, HELICONE_TIER_VERTEX, HELICONE_USAGE_OPENAI
    };

    /* xai grok-4 (per_request_usd 0) */
    static helicone_price_tier_t  grok_t[2];
    static helicone_price_t       grok = {
        grok_t, 2, 0, 0, HELICONE_TIER_XAI, HELICONE_USAGE_XAI
    };

    /* deepseek deepseek-chat */
    static helicone_price_tier_t  deepseek_t[1];
    static helicone_price_t       deepseek = {
        deepseek_t, 1, 0, 0, HELICONE_TIER_FIRST, HELICONE_USAGE_OPENAI
    };

    /* perplexity sonar-pro, per_request_usd 0.006 */
    static helicone_price_tier_t  sonar_t[1];
    static helicone_price_t       sonar = {
        sonar_t, 1, 0, 0, HELICONE_TIER_FIRST, HELICONE_USAGE_OPENAI
    };

    sonnet_t[0] = tier(0, 3, 15, 0.3, 3.75, 6);
    sonnet_t[1] = tier(200000, 6, 22.5, 0.6, 3.75, 6);
    bedrock_t[0] = tier(0, 3, 15, 0.3, 3.75, NA);
    bedrock_t[1] = tier(200000, 6, 22.5, 0.6, 3.75, NA);
    mini_t[0] = tier(0, 0.15, 0.6, 0.075, NA, NA);
    gpt4o_t[0] = tier(0, 2.5, 10, 1.25, NA, NA);
    o4_t[0] = tier(0, 1.1, 4.4, 0.275, NA, NA);
    gemini_t[0] = tier(0, 1.25, 10, 0.3125, 1.25, NA);
    gemini_t[1] = tier(200000, 2.5, 15, 0.625, 1.25, NA);
    grok_t[0] = tier(0, 3, 15, 0.75, NA, NA);
    grok_t[1] = tier(128000, 6, 30, 0.75, NA, NA);
    deepseek_t[0] = tier(0, 0.56, 1.68, 0.07, NA, NA);
    sonar_t[0] = tier(0, 3, 15, NA, NA, NA);
    sonar.per_request = helicone_cost_from_usd(0.006);

    /*
     * costs.md 3.4, first example: input 1000, read 5000, 5m write 2000,
     * output 500; prompt = 1000 + 5000 + 2000 = 8000 (< 200000: tier 0)
     *   1000 x 3e6 + 5000 x 0.3e6 + 2000 x 3.75e6 + 500 x 15e6
     *   = 3e9 + 1.5e9 + 7.5e9 + 7.5e9 = 19.5e9
     */
    registry("costs.md 3.4: claude-sonnet-4 via anthropic = $0.0195",
             &sonnet, usage(8000, 500, 5000, 2000, 2000, 0, X, X, X),
             19500000000ULL, "0.0195");

    /*
     * costs.md 3.4, second example: prompt 1200 of which cached 1024,
     * completion 300
     *   176 x 150000 + 1024 x 75000 + 300 x 600000
     *   = 26400000 + 76800000 + 180000000 = 283200000
     */
    registry("costs.md 3.4: gpt-4o-mini via openai = $0.0002832",
             &mini, usage(1200, 300, 1024, X, X, X, 0, 0, 0),
             283200000, "0.0002832");

    /*
     * gpt-4o: prompt 5000 = 2000 text + 2000 cached + 1000 audio;
     * completion 1500 = 500 text + 600 reasoning + 400 audio
     *   text in    2000 x 2.5e6  = 5e9
     *   cached     2000 x 1.25e6 = 2.5e9
     *   text out    500 x 10e6   = 5e9
     *   thinking    600 x 10e6   = 6e9    (no thinking price: output)
     *   audio in   1000 x 2.5e6  = 2.5e9  (no audio price: tier 0 input)
     *   audio out   400 x 10e6   = 4e9    (tier 0 output)
     *   = 25e9
     */
    registry("gpt-4o: cached + reasoning + audio = $0.025",
             &gpt4o, usage(5000, 1500, 2000, X, X, X, 600, 1000, 400),
             25000000000ULL, "0.025");

    /*
     * o4-mini: prompt 1000, completion 3000 of which reasoning 2500
     *   1000 x 1.1e6 + 500 x 4.4e6 + 2500 x 4.4e6
     *   = 1.1e9 + 2.2e9 + 11e9 = 14.3e9
     */
    registry("o4-mini: reasoning at the output price = $0.0143",
             &o4, usage(1000, 3000, X, X, X, X, 2500, X, X),
             14300000000ULL, "0.0143");

    /*
     * claude-sonnet-4: input 2000, read 10000, writes 3000 5m + 1000 1h,
     * output 800; prompt = 2000 + 10000 + 4000 = 16000 (tier 0)
     *   2000 x 3e6 + 10000 x 0.3e6 + 3000 x 3.75e6 + 1000 x 6e6
     *   + 800 x 15e6
     *   = 6e9 + 3e9 + 11.25e9 + 6e9 + 12e9 = 38.25e9
     */
    registry("claude-sonnet-4: 5m and 1h writes = $0.03825",
             &sonnet, usage(16000, 800, 10000, 4000, 3000, 1000, X, X, X),
             38250000000ULL, "0.03825");

    /*
     * bedrock claude-sonnet-4: input 1000, 4000 writes (total only),
     * output 200; prompt = 1000 + 0 + 4000 = 5000; writes billed as 5m
     *   1000 x 3e6 + 4000 x 3.75e6 + 200 x 15e6
     *   = 3e9 + 15e9 + 3e9 = 21e9
     */
    registry("bedrock claude-sonnet-4: total writes billed 5m = $0.021",
             &bedrock, usage(5000, 200, 0, 4000, X, X, X, X, X),
             21000000000ULL, "0.021");

    /*
     * Anthropic's own input_tokens wins over prompt - reads - writes:
     * input_tokens 1000, read 500, 5m writes 4000 without a total, so the
     * prompt (input + read + total) is 1500; output 200
     *   1000 x 3e6 + 500 x 0.3e6 + 4000 x 3.75e6 + 200 x 15e6
     *   = 3e9 + 0.15e9 + 15e9 + 3e9 = 21.15e9
     */
    u = usage(1500, 200, 500, X, 4000, X, X, X, X);
    u.uncached_input_tokens = 1000;
    registry("claude-sonnet-4: uncached input_tokens used = $0.02115",
             &sonnet, u, 21150000000ULL, "0.02115");

    /*
     * the same on anthropic direct, writes as a total without a split:
     * the same buckets, tier 0: 21e9
     */
    registry("claude-sonnet-4: total writes only = $0.021",
             &sonnet, usage(5000, 200, 0, 4000, X, X, X, X, X),
             21000000000ULL, "0.021");

    /*
     * claude-sonnet-4 long context: input 150000, read 60000, output 1000;
     * v = 150000 + 60000 = 210000 >= 200000: tier 1 for input and output,
     * reads stay on tier 0
     *   150000 x 6e6 + 60000 x 0.3e6 + 1000 x 22.5e6
     *   = 900e9 + 18e9 + 22.5e9 = 940.5e9
     */
    registry("claude-sonnet-4 at 210000 prompt tokens: tier 1 = $0.9405",
             &sonnet, usage(210000, 1000, 60000, 0, X, X, X, X, X),
             940500000000ULL, "0.9405");

    /*
     * bedrock, same usage: the "first" rule never leaves tier 0
     *   150000 x 3e6 + 60000 x 0.3e6 + 1000 x 15e6
     *   = 450e9 + 18e9 + 15e9 = 483e9
     */
    registry("bedrock claude-sonnet-4 at 210000: still tier 0 = $0.483",
             &bedrock, usage(210000, 1000, 60000, 0, X, X, X, X, X),
             483000000000ULL, "0.483");

    /*
     * gemini-2.5-pro on google-ai-studio, v = input + cached:
     * 199999 + 0 < 200000: tier 0
     *   199999 x 1.25e6 + 100 x 10e6 = 249998750000 + 1e9 = 250998750000
     */
    registry("gemini-2.5-pro: 199999 prompt tokens, tier 0 = $0.25099875",
             &gemini, usage(199999, 100, X, X, X, X, X, X, X),
             250998750000ULL, "0.25099875");

    /*
     * 200000 + 0 >= 200000: tier 1
     *   200000 x 2.5e6 + 100 x 15e6 = 500e9 + 1.5e9 = 501.5e9
     */
    registry("gemini-2.5-pro: 200000 prompt tokens, tier 1 = $0.5015",
             &gemini, usage(200000, 100, X, X, X, X, X, X, X),
             501500000000ULL, "0.5015");

    /*
     * prompt 250000 of which cached 100000: input 150000,
     * v = 150000 + 100000 = 250000: tier 1 for input, output and cached
     *   150000 x 2.5e6 + 100000 x 0.625e6 + 1000 x 15e6
     *   = 375e9 + 62.5e9 + 15e9 = 452.5e9
     */
    registry("gemini-2.5-pro: 150000 + 100000 cached, tier 1 = $0.4525",
             &gemini, usage(250000, 1000, 100000, X, X, X, X, X, X),
             452500000000ULL, "0.4525");

    /*
     * vertex, same usage: v = input = 150000 for input and output,
     * v = cached = 100000 for reads: tier 0 everywhere
     *   150000 x 1.25e6 + 100000 x 0.3125e6 + 1000 x 10e6
     *   = 187.5e9 + 31.25e9 + 10e9 = 228.75e9
     */
    registry("vertex gemini-2.5-pro: 150000 + 100000 cached = $0.22875",
             &vertex, usage(250000, 1000, 100000, X, X, X, X, X, X),
             228750000000ULL, "0.22875");

    /*
     * vertex: prompt 260000 of which cached 210000: input 50000 on
     * tier 0, reads 210000 >= 200000 on tier 1
     *   50000 x 1.25e6 + 210000 x 0.625e6 = 62.5e9 + 131.25e9 = 193.75e9
     */
    registry("vertex gemini-2.5-pro: cached reads alone pick tier 1 "
             "= $0.19375",
             &vertex, usage(260000, 0, 210000, X, X, X, X, X, X),
             193750000000ULL, "0.19375");

    /*
     * xai grok-4: prompt 100000 of which cached 30000; completion 2000
     * (excludes reasoning), reasoning 5000; v = 70000 + 30000 < 128000
     *   70000 x 3e6 + 30000 x 0.75e6 + 2000 x 15e6 + 5000 x 15e6
     *   = 210e9 + 22.5e9 + 30e9 + 75e9 = 337.5e9  (+ per_request 0)
     */
    registry("xai grok-4: completion excludes reasoning = $0.3375",
             &grok, usage(100000, 2000, 30000, X, X, X, 5000, X, X),
             337500000000ULL, "0.3375");

    /*
     * grok-4: prompt 130000 >= 128000: tier 1 for input and output,
     * thinking on tier 0's output
     *   130000 x 6e6 + 1000 x 30e6 + 1000 x 15e6 = 780e9 + 30e9 + 15e9
     *   = 825e9
     */
    registry("xai grok-4: 130000 prompt tokens, tier 1 = $0.825",
             &grok, usage(130000, 1000, 0, X, X, X, 1000, X, X),
             825000000000ULL, "0.825");

    /*
     * deepseek-chat: prompt_tokens 10000, prompt_cache_hit_tokens 8000
     * (read as cache_read), completion 1000
     *   2000 x 0.56e6 + 8000 x 0.07e6 + 1000 x 1.68e6
     *   = 1.12e9 + 0.56e9 + 1.68e9 = 3.36e9
     */
    registry("deepseek-chat: cache hits = $0.00336",
             &deepseek, usage(10000, 1000, 8000, X, X, X, X, X, X),
             3360000000ULL, "0.00336");

    /*
     * perplexity sonar-pro: prompt 1000, completion 500, fee $0.006
     *   1000 x 3e6 + 500 x 15e6 + 6e9 = 3e9 + 7.5e9 + 6e9 = 16.5e9
     */
    registry("sonar-pro: per-request fee = $0.0165",
             &sonar, usage(1000, 500, X, X, X, X, X, X, X),
             16500000000ULL, "0.0165");

    /*
     * claude-sonnet-4 (per_web_search_usd 0.01): input 1000, output 100,
     * 3 web searches
     *   1000 x 3e6 + 100 x 15e6 + 3 x 0.01e12 = 3e9 + 1.5e9 + 30e9
     *   = 34.5e9
     */
    sonnet.per_web_search = helicone_cost_from_usd(0.01);
    u = usage(1000, 100, X, X, X, X, X, X, X);
    u.web_search_requests = 3;
    registry("claude-sonnet-4: 3 web searches = $0.0345", &sonnet, u,
             34500000000ULL, "0.0345");
    sonnet.per_web_search = 0;

    /* the fee alone when the usage has only a zero completion */
    registry("sonar-pro: zero tokens still pay the fee = $0.006",
             &sonar, usage(X, 0, X, X, X, X, X, X, X),
             6000000000ULL, "0.006");

    /*
     * gpt-4o-mini: cached 500 > prompt 100: the prompt already excludes
     * the cache
     *   100 x 150000 + 500 x 75000 = 15e6 + 37.5e6 = 52.5e6
     */
    registry("gpt-4o-mini: cached > prompt = $0.0000525",
             &mini, usage(100, 0, 500, X, X, X, X, X, X),
             52500000, "0.0000525");

    /*
     * gpt-4o-mini: only the completion is known: 100 x 600000 = 60e6
     */
    registry("gpt-4o-mini: prompt unknown, completion 100 = $0.00006",
             &mini, usage(X, 100, X, X, X, X, X, X, X),
             60000000, "0.00006");

    /*
     * OpenAI-style usage carrying Helicone's cache_write_tokens (gemini on
     * google-ai-studio): writes are not taken out of the prompt there
     *   1000 x 1.25e6 + 400 x 1.25e6 (cache_write_5m) = 1.25e9 + 0.5e9
     */
    registry("gemini-2.5-pro: openai-style cache writes = $0.00175",
             &gemini, usage(1000, 0, X, 400, X, X, X, X, X),
             1750000000ULL, "0.00175");
}


static void
test_legacy(void)
{
    helicone_legacy_row_t  r;

    /*
     * ANTHROPIC "claude-3-5-sonnet-20241022": 3 / 15, read 0.3, write 3.75,
     * 5m 3.75, 1h 6; input 1000, read 2000, writes 3000 = 1000 5m +
     * 2000 1h, completion 500; prompt = 1000 + 2000 + 3000 = 6000
     *   1000 x 3e6 + (3000 - 1000 - 2000) x 3.75e6 + 1000 x 3.75e6
     *   + 2000 x 6e6 + 2000 x 0.3e6 + 500 x 15e6
     *   = 3e9 + 0 + 3.75e9 + 12e9 + 0.6e9 + 7.5e9 = 26.85e9
     */
    r = row(HELICONE_MATCH_EXACT, "claude-3-5-sonnet-20241022", 3, 15, 0.3,
            3.75, 3.75, 6, NA, NA, NA, NA);
    legacy("legacy claude-3-5-sonnet: 5m/1h split = $0.02685", &r,
           usage(6000, 500, 2000, 3000, 1000, 2000, X, X, X),
           HELICONE_USAGE_ANTHROPIC, 26850000000ULL, "0.02685");

    /*
     * the same writes as a total only: 3000 x 3.75e6 = 11.25e9
     *   3e9 + 11.25e9 + 0.6e9 + 7.5e9 = 22.35e9
     */
    legacy("legacy claude-3-5-sonnet: total writes = $0.02235", &r,
           usage(6000, 500, 2000, 3000, X, X, X, X, X),
           HELICONE_USAGE_ANTHROPIC, 22350000000ULL, "0.02235");

    /*
     * AWS "claude-sonnet-4" (substring): 3 / 15, read 0.3, write 3.75, no
     * 5m/1h prices; the same split usage: the unsplit rest is 0 and split
     * writes without a price are not charged (Helicone's costOfPrompt)
     *   1000 x 3e6 + 2000 x 0.3e6 + 500 x 15e6 = 3e9 + 0.6e9 + 7.5e9
     */
    r = row(HELICONE_MATCH_SUBSTRING, "claude-sonnet-4", 3, 15, 0.3, 3.75,
            NA, NA, NA, NA, NA, NA);
    legacy("legacy AWS claude-sonnet-4: unpriced split = $0.0111", &r,
           usage(6000, 500, 2000, 3000, 1000, 2000, X, X, X),
           HELICONE_USAGE_ANTHROPIC, 11100000000ULL, "0.0111");

    /*
     * GOOGLE "claude-3-5-sonnet" (substring): 3 / 15, no cache prices:
     * input 1000, read 500, write 200, completion 100; prompt 1700
     *   1000 x 3e6 + 200 x 3e6 + 500 x 3e6 + 100 x 15e6
     *   = 3e9 + 0.6e9 + 1.5e9 + 1.5e9 = 6.6e9
     */
    r = row(HELICONE_MATCH_SUBSTRING, "claude-3-5-sonnet", 3, 15, NA, NA,
            NA, NA, NA, NA, NA, NA);
    legacy("legacy GOOGLE claude-3-5-sonnet: cache at input = $0.0066", &r,
           usage(1700, 100, 500, 200, X, X, X, X, X),
           HELICONE_USAGE_ANTHROPIC, 6600000000ULL, "0.0066");

    /*
     * OPENAI "gpt-4o-realtime" (substring): 4 / 16, read 0.4, audio 40 /
     * 80; prompt 3000 = 500 text + 1000 cached + 1500 audio, completion
     * 800 = 200 text + 600 audio
     *   500 x 4e6 + 1000 x 0.4e6 + 1500 x 40e6 + 200 x 16e6 + 600 x 80e6
     *   = 2e9 + 0.4e9 + 60e9 + 3.2e9 + 48e9 = 113.6e9
     */
    r = row(HELICONE_MATCH_SUBSTRING, "gpt-4o-realtime", 4, 16, 0.4, NA, NA,
            NA, 40, 80, NA, NA);
    legacy("legacy gpt-4o-realtime: audio = $0.1136", &r,
           usage(3000, 800, 1000, X, X, X, X, 1500, 600),
           HELICONE_USAGE_OPENAI, 113600000000ULL, "0.1136");

    /*
     * OPENAI "o1-pro" (substring): 150 / 600; prompt 100, completion 1000
     * of which reasoning 800: reasoning is output here
     *   100 x 150e6 + 1000 x 600e6 = 15e9 + 600e9 = 615e9
     */
    r = row(HELICONE_MATCH_SUBSTRING, "o1-pro", 150, 600, NA, NA, NA, NA,
            NA, NA, NA, NA);
    legacy("legacy o1-pro: reasoning billed as output = $0.615", &r,
           usage(100, 1000, X, X, X, X, 800, X, X),
           HELICONE_USAGE_OPENAI, 615000000000ULL, "0.615");

    /*
     * X "grok-4" (substring): 3 / 15; xAI completion 100 excludes
     * reasoning 400
     *   1000 x 3e6 + (100 + 400) x 15e6 = 3e9 + 7.5e9 = 10.5e9
     */
    r = row(HELICONE_MATCH_SUBSTRING, "grok-4", 3, 15, NA, NA, NA, NA, NA,
            NA, NA, NA);
    legacy("legacy X grok-4: xai reasoning added = $0.0105", &r,
           usage(1000, 100, X, X, X, X, 400, X, X),
           HELICONE_USAGE_XAI, 10500000000ULL, "0.0105");

    /*
     * NEBIUS "black-forest-labs/flux-schnell": 0 / 0, per_image_usd 0.0013
     *   10 x 0 + 1 image x 1.3e9 = 1.3e9
     */
    r = row(HELICONE_MATCH_EXACT, "black-forest-labs/flux-schnell", 0, 0, NA,
            NA, NA, NA, NA, NA, 0.0013, NA);
    legacy("legacy flux-schnell: one image = $0.0013", &r,
           usage(10, 0, X, X, X, X, X, X, X),
           HELICONE_USAGE_OPENAI, 1300000000ULL, "0.0013");

    /*
     * PERPLEXITY "sonar": 1 / 1, per_call_usd 5e-06
     *   100 x 1e6 + 200 x 1e6 + 1 call x 5e6 = 300e6 + 5e6 = 305e6
     */
    r = row(HELICONE_MATCH_EXACT, "sonar", 1, 1, NA, NA, NA, NA, NA, NA, NA,
            5e-06);
    legacy("legacy sonar: one call = $0.000305", &r,
           usage(100, 200, X, X, X, X, X, X, X),
           HELICONE_USAGE_OPENAI, 305000000, "0.000305");
}


static const char *
matched(const helicone_legacy_row_t *rows, size_t n, const char *model)
{
    const helicone_legacy_row_t  *r;

    r = helicone_cost_legacy_match(rows, n, (const unsigned char *) model,
                                   strlen(model));

    return r ? (const char *) r->value.data : "(none)";
}


static void
test_match(void)
{
    size_t                        i;
    helicone_usage_t              u;
    const helicone_legacy_row_t  *r;

    /* the X table, all 9 rows in data order */
    static helicone_legacy_row_t  x[9];

    /* GOOGLE rows 6 and 17, in that order */
    static helicone_legacy_row_t  google[2];

    /* AWS rows 4 and 5; OPENAI rows 26, 27 and 169 */
    static helicone_legacy_row_t  aws[2];
    static helicone_legacy_row_t  openai[3];

    x[0] = row(HELICONE_MATCH_EXACT, "grok-beta", 5, 15, NA, NA, NA, NA, NA,
               NA, NA, NA);
    x[1] = row(HELICONE_MATCH_EXACT, "grok-vision-beta", 5, 15, NA, NA, NA,
               NA, NA, NA, NA, NA);
    x[2] = row(HELICONE_MATCH_EXACT, "grok-2-1212", 2, 10, NA, NA, NA, NA,
               NA, NA, NA, NA);
    x[3] = row(HELICONE_MATCH_EXACT, "grok-2-vision-1212", 2, 10, NA, NA, NA,
               NA, NA, NA, NA, NA);
    x[4] = row(HELICONE_MATCH_SUBSTRING, "grok-code-fast-1", 0.2, 1.5, NA,
               NA, NA, NA, NA, NA, NA, NA);
    x[5] = row(HELICONE_MATCH_SUBSTRING, "grok-4-fast", 0.2, 0.5, NA, NA, NA,
               NA, NA, NA, NA, NA);
    x[6] = row(HELICONE_MATCH_SUBSTRING, "grok-4", 3, 15, NA, NA, NA, NA, NA,
               NA, NA, NA);
    x[7] = row(HELICONE_MATCH_SUBSTRING, "grok-3-mini", 0.3, 0.5, NA, NA, NA,
               NA, NA, NA, NA, NA);
    x[8] = row(HELICONE_MATCH_SUBSTRING, "grok-3", 3, 15, NA, NA, NA, NA, NA,
               NA, NA, NA);

    google[0] = row(HELICONE_MATCH_SUBSTRING, "gemini-2.0-flash", 0.1, 0.4,
                    NA, NA, NA, NA, NA, NA, NA, NA);
    google[1] = row(HELICONE_MATCH_SUBSTRING, "gemini-2.0-flash-lite", 0.075,
                    0.3, NA, NA, NA, NA, NA, NA, NA, NA);

    aws[0] = row(HELICONE_MATCH_SUBSTRING, "claude-opus-4", 15, 75, 1.5,
                 18.75, NA, NA, NA, NA, NA, NA);
    aws[1] = row(HELICONE_MATCH_SUBSTRING, "claude-opus-4-1", 15, 75, 1.5,
                 18.75, NA, NA, NA, NA, NA, NA);

    openai[0] = row(HELICONE_MATCH_EXACT, "gpt-4o-mini", 0.15, 0.6, 0.075,
                    NA, NA, NA, NA, NA, NA, NA);
    openai[1] = row(HELICONE_MATCH_EXACT, "gpt-4o-mini-2024-07-18", 0.15,
                    0.6, 0.075, NA, NA, NA, NA, NA, NA, NA);
    openai[2] = row(HELICONE_MATCH_PREFIX, "ft:gpt-4o-mini-2024-07-18:", 0.3,
                    1.2, NA, NA, NA, NA, NA, NA, NA, NA);

    is_str(matched(x, 9, "grok-beta"), "grok-beta", "exact: equal");
    is_str(matched(x, 9, "grok-beta-2"), "(none)", "exact: not a prefix");
    is_str(matched(x, 9, "Grok-2-1212"), "grok-2-1212",
           "exact: compared lower-case");
    is_str(matched(x, 9, "grok-4-fast-reasoning"), "grok-4-fast",
           "substring: grok-4-fast before grok-4");
    is_str(matched(x, 9, "grok-4-0709"), "grok-4", "substring: grok-4");
    is_str(matched(x, 9, "xai/GROK-3-MINI-beta"), "grok-3-mini",
           "substring: grok-3-mini before grok-3, case-insensitive");
    is_str(matched(x, 9, "grok-3"), "grok-3", "substring: whole string");
    is_str(matched(x, 9, "grok"), "(none)", "no row matches");
    is_str(matched(x, 9, ""), "(none)", "empty model matches nothing");

    is_str(matched(aws, 2, "anthropic.claude-opus-4-1-20250805-v1:0"),
           "claude-opus-4", "AWS: claude-opus-4 shadows claude-opus-4-1");

    is_str(matched(openai, 3, "gpt-4o-mini"), "gpt-4o-mini",
           "OPENAI: exact gpt-4o-mini");
    is_str(matched(openai, 3, "FT:gpt-4o-mini-2024-07-18:org::abc"),
           "ft:gpt-4o-mini-2024-07-18:", "OPENAI: prefix, case-insensitive");
    is_str(matched(openai, 3, "ft:gpt-4o-mini-2024-07-18"), "(none)",
           "prefix longer than the model");
    is_str(matched(openai, 3, "my-ft:gpt-4o-mini-2024-07-18:x"), "(none)",
           "prefix only at the start");

    ok(helicone_cost_legacy_match(NULL, 3, (const unsigned char *) "a", 1)
       == NULL, "no rows: NULL");
    ok(helicone_cost_legacy_match(x, 9, NULL, 5) == NULL,
       "NULL model with a length: NULL");
    ok(helicone_cost_legacy_match(x, 0, (const unsigned char *) "grok-4", 6)
       == NULL, "zero rows: NULL");

    /*
     * GOOGLE: "gemini-2.0-flash-lite-001" contains "gemini-2.0-flash", an
     * earlier row, so it is priced 0.1 / 0.4, not the lite 0.075 / 0.3:
     *   1000 x 0.1e6 + 1000 x 0.4e6 = 100e6 + 400e6 = 500e6
     */
    is_str(matched(google, 2, "gemini-2.0-flash-lite-001"),
           "gemini-2.0-flash", "GOOGLE: gemini-2.0-flash shadows the lite");

    r = helicone_cost_legacy_match(google, 2,
            (const unsigned char *) "gemini-2.0-flash-lite-001", 25);
    u = usage(1000, 1000, X, X, X, X, X, X, X);
    legacy("legacy GOOGLE gemini-2.0-flash-lite-001 = $0.0005",
           r ? r : &google[0], u, HELICONE_USAGE_OPENAI, 500000000, "0.0005");

    /* every row found by its own value */
    for (i = 0; i < 9; i++) {
        r = helicone_cost_legacy_match(x, 9, x[i].value.data, x[i].value.len);
        if (r == NULL || r > &x[i]) {
            break;
        }
    }

    is_int(i, 9, "each X value matches itself or an earlier row");
}


static void
test_declined(void)
{
    uint64_t                pico;
    helicone_usage_t        u;
    helicone_legacy_row_t   r, bad;
    helicone_price_tier_t   t[1], nt[1];
    helicone_price_t        p, np;

    /* openai gpt-4o-mini */
    t[0] = tier(0, 0.15, 0.6, 0.075, NA, NA);
    p.tiers = t;
    p.ntiers = 1;
    p.per_request = 0;
    p.per_web_search = 0;
    p.tier_rule = HELICONE_TIER_FIRST;
    p.usage_kind = HELICONE_USAGE_OPENAI;

    r = row(HELICONE_MATCH_EXACT, "gpt-4o-mini", 0.15, 0.6, 0.075, NA, NA,
            NA, NA, NA, NA, NA);

    /* OPENROUTER "openrouter/auto": -1000000 / -1000000 */
    bad = row(HELICONE_MATCH_EXACT, "openrouter/auto", -1000000, -1000000,
              NA, NA, NA, NA, NA, NA, NA, NA);

    helicone_usage_init(&u);
    pico = 7;

    is_int(helicone_cost_registry(&p, &u, &pico), HELICONE_DECLINED,
           "registry: no usage is DECLINED");
    is_int(pico, 7, "  *pico untouched");
    is_int(helicone_cost_legacy(&r, &u, HELICONE_USAGE_OPENAI, &pico),
           HELICONE_DECLINED, "legacy: no usage is DECLINED");

    u = usage(X, X, 100, 100, 100, 100, 100, 100, 100);
    is_int(helicone_cost_registry(&p, &u, &pico), HELICONE_DECLINED,
           "registry: only detail counts is DECLINED");

    u = usage(1000, 10, X, X, X, X, X, X, X);
    is_int(helicone_cost_legacy(&bad, &u, HELICONE_USAGE_OPENAI, &pico),
           HELICONE_DECLINED, "legacy: openrouter/auto is DECLINED");

    nt[0] = t[0];
    nt[0].output = UNSET;
    np = p;
    np.tiers = nt;
    is_int(helicone_cost_registry(&np, &u, &pico), HELICONE_DECLINED,
           "registry: a tier without output price is DECLINED");

    np = p;
    np.ntiers = 0;
    is_int(helicone_cost_registry(&np, &u, &pico), HELICONE_DECLINED,
           "registry: no tiers is DECLINED");
    is_int(helicone_cost_registry(NULL, &u, &pico), HELICONE_DECLINED,
           "registry: NULL price is DECLINED");
    is_int(helicone_cost_registry(&p, NULL, &pico), HELICONE_DECLINED,
           "registry: NULL usage is DECLINED");
    is_int(helicone_cost_legacy(NULL, &u, HELICONE_USAGE_OPENAI, &pico),
           HELICONE_DECLINED, "legacy: NULL row is DECLINED");
    is_int(pico, 7, "  *pico still untouched");

    /* 0 tokens is a known zero, not unknown */
    u = usage(0, 0, X, X, X, X, X, X, X);
    is_int(helicone_cost_registry(&p, &u, &pico), HELICONE_OK,
           "registry: zero tokens is OK");
    is_int(pico, 0, "  and costs 0");
}


static void
test_saturation(void)
{
    uint64_t               pico;
    helicone_usage_t       u;
    helicone_legacy_row_t  r;
    helicone_price_tier_t  t[2];
    helicone_price_t       p;

    /* anthropic claude-opus-4-1-20250805, plus the sonnet-4 tier 1 */
    t[0] = tier(0, 15, 75, 1.5, 18.75, 30);
    t[1] = tier(200000, 6, 22.5, 0.6, 3.75, 6);
    p.tiers = t;
    p.ntiers = 1;
    p.per_request = 0;
    p.per_web_search = 0;
    p.tier_rule = HELICONE_TIER_ANTHROPIC;
    p.usage_kind = HELICONE_USAGE_ANTHROPIC;

    /* 1e12 input tokens x 15e6 = 1.5e19, still below 2^64 (1.8e19) */
    u = usage(1000000000000LL, 0, X, X, X, X, X, X, X);
    pico = 0;
    is_int(helicone_cost_registry(&p, &u, &pico), HELICONE_OK,
           "1e12 input tokens");
    ok(pico == 15000000000000000000ULL, "  = 1.5e19 pico, exact");

    /* and 1e11 output tokens more (7.5e18) passes 2^64: saturates */
    u = usage(1000000000000LL, 100000000000LL, X, X, X, X, X, X, X);
    is_int(helicone_cost_registry(&p, &u, &pico), HELICONE_OK,
           "1e12 input + 1e11 output tokens");
    ok(pico == UINT64_MAX, "  saturates at UINT64_MAX");

    /* every count INT64_MAX: every product and the tier value saturate */
    u = usage(INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX,
              INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX);
    u.web_search_requests = INT64_MAX;
    p.ntiers = 2;
    p.per_web_search = helicone_cost_from_usd(0.01);
    is_int(helicone_cost_registry(&p, &u, &pico), HELICONE_OK,
           "INT64_MAX everywhere");
    ok(pico == UINT64_MAX, "  saturates at UINT64_MAX");

    r = row(HELICONE_MATCH_EXACT, "claude-opus-4-1", 15, 75, 1.5, 18.75,
            18.75, 30, 40, 80, 0.0013, 5e-06);
    is_int(helicone_cost_legacy(&r, &u, HELICONE_USAGE_XAI, &pico),
           HELICONE_OK, "legacy: INT64_MAX everywhere");
    ok(pico == UINT64_MAX, "  saturates at UINT64_MAX");

    /* negative counts other than -1 count as 0 */
    u = usage(-5, 100, -7, INT64_MIN, -2, -3, -4, -5, -6);
    u.web_search_requests = -9;
    is_int(helicone_cost_registry(&p, &u, &pico), HELICONE_OK,
           "negative counts");

    /* 100 x 75e6 = 7.5e9 */
    ok(pico == 7500000000ULL, "  are 0: only 100 output tokens");
}


/*
 * Pseudo-random usages and prices under the sanitizers: always a result,
 * and one more completion token never costs less.
 */

static void
test_random(void)
{
    int                    k, bad;
    size_t                 i;
    int64_t               *f[10];
    uint64_t               seed, a, b;
    helicone_usage_t       u;
    helicone_legacy_row_t  r;
    helicone_price_tier_t  t[3];
    helicone_price_t       p;

    static const int64_t  pick[] = {
        -1, 0, 1, 7, 1000, 128000, 200000, 272000, INT64_MAX / 2, INT64_MAX
    };

    seed = 0x2545f4914f6cdd1dULL;
    bad = 0;

    t[0] = tier(0, 3, 15, 0.3, 3.75, 6);
    t[1] = tier(128000, 6, 22.5, NA, NA, NA);
    t[2] = tier(200000, 10, 40, 1, 5, 8);
    r = row(HELICONE_MATCH_EXACT, "m", 3, 15, 0.3, 3.75, 3.75, NA, 40, NA,
            NA, 5e-06);

    for (k = 0; k < 20000; k++) {
        helicone_usage_init(&u);

        f[0] = &u.prompt_tokens;
        f[1] = &u.completion_tokens;
        f[2] = &u.cache_read_tokens;
        f[3] = &u.cache_write_tokens;
        f[4] = &u.cache_write_5m_tokens;
        f[5] = &u.cache_write_1h_tokens;
        f[6] = &u.reasoning_tokens;
        f[7] = &u.prompt_audio_tokens;
        f[8] = &u.completion_audio_tokens;
        f[9] = &u.web_search_requests;

        for (i = 0; i < 10; i++) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            *f[i] = pick[seed % 10];
        }

        if (u.completion_tokens == INT64_MAX) {
            u.completion_tokens--;
        }

        p.tiers = t;
        p.ntiers = 1 + (seed >> 32) % 3;
        p.per_request = (seed >> 40) % 2 ? 6000000000ULL : 0;
        p.per_web_search = (seed >> 41) % 2 ? 10000000000ULL : UNSET;
        p.tier_rule = (helicone_tier_rule_e) ((seed >> 44) % 6);
        p.usage_kind = (helicone_usage_kind_e) ((seed >> 50) % 4);

        if (helicone_cost_registry(&p, &u, &a) != HELICONE_OK) {
            if (u.prompt_tokens >= 0 || u.completion_tokens >= 0) {
                bad++;
            }

            continue;
        }

        u.completion_tokens = (u.completion_tokens < 0)
                              ? 1 : u.completion_tokens + 1;

        if (helicone_cost_registry(&p, &u, &b) != HELICONE_OK || b < a) {
            bad++;
        }

        if (helicone_cost_legacy(&r, &u, p.usage_kind, &a) != HELICONE_OK) {
            bad++;
        }
    }

    is_int(bad, 0, "20000 random usages: results, monotonic in completion");
}


int
main(void)
{
    test_from_usd();
    test_format();
    test_registry();
    test_legacy();
    test_match();
    test_declined();
    test_saturation();
    test_random();

    return done_testing();
}
