/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* The cost formulas of spec/costs.md (3: registry, 4: legacy) in pico-USD. */

#include "helicone_cost.h"


/*
 * 2^64 as a double: the first value a uint64_t cannot hold.  Prices and
 * sums never come near it (it is $18,446,744.07).
 */
#define HELICONE_COST_2_64     18446744073709551616.0

#define HELICONE_COST_PICO     1000000000000ULL    /* pico-USD per USD */


/*
 * A usage split into disjoint buckets (spec/costs.md 3.1), in tokens.
 * Cache writes are kept twice: as the registry bills them (writes not
 * split into 5m/1h count as 5m) and as reported (the legacy formula
 * prices the unsplit rest on its own).
 */
typedef struct {
    uint64_t            input;          /* uncached text input */
    uint64_t            cached;         /* cache reads */
    uint64_t            writes;         /* all cache writes */
    uint64_t            write_5m;       /* registry: 5m and unsplit */
    uint64_t            write_1h;
    uint64_t            split_5m;       /* legacy: as reported */
    uint64_t            split_1h;
    uint64_t            output;         /* text output: no reasoning, audio */
    uint64_t            thinking;       /* reasoning */
    uint64_t            audio_input;
    uint64_t            audio_output;
    uint64_t            web_search;     /* calls */
} helicone_cost_buckets_t;


static uint64_t helicone_cost_round(double v);
static int helicone_cost_buckets(const helicone_usage_t *u,
    helicone_usage_kind_e kind, helicone_cost_buckets_t *b);
static uint64_t helicone_cost_count(int64_t n);
static const helicone_price_tier_t *helicone_cost_tier(
    const helicone_price_t *price, uint64_t v);
static uint64_t helicone_cost_or(uint64_t price, uint64_t fallback);
static uint64_t helicone_cost_add(uint64_t a, uint64_t b);
static uint64_t helicone_cost_sub(uint64_t a, uint64_t b);
static uint64_t helicone_cost_mul(uint64_t a, uint64_t b);
static unsigned char helicone_cost_lower(unsigned char c);
static int helicone_cost_equal(const unsigned char *a,
    const unsigned char *b, size_t n);


uint64_t
helicone_cost_from_usd_per_1m(double usd)
{
    return helicone_cost_round(usd * 1e6);
}


uint64_t
helicone_cost_from_usd(double usd)
{
    return helicone_cost_round(usd * 1e12);
}


/* Rounds half up; written so that NaN fails the range test. */

static uint64_t
helicone_cost_round(double v)
{
    if (!(v >= 0.0 && v < HELICONE_COST_2_64)) {
        return HELICONE_COST_UNSET;
    }

    v += 0.5;

    if (!(v < HELICONE_COST_2_64)) {
        return HELICONE_COST_UNSET;
    }

    /* the largest double below 2^64 is below UINT64_MAX, so never UNSET */

    return (uint64_t) v;
}


/*
 * Every product and sum saturates at UINT64_MAX, so a response that
 * claims 2^62 tokens costs UINT64_MAX pico-USD instead of wrapping to a
 * small number; the tier value saturates the same way and so picks the
 * last tier.
 */

int
helicone_cost_registry(const helicone_price_t *price,
    const helicone_usage_t *usage, uint64_t *pico)
{
    size_t                        i;
    uint64_t                      sum, v_input, v_cached;
    helicone_cost_buckets_t       b;
    const helicone_price_tier_t  *t0, *tin, *tc;

    if (price == NULL || price->tiers == NULL || price->ntiers == 0
        || pico == NULL)
    {
        return HELICONE_DECLINED;
    }

    for (i = 0; i < price->ntiers; i++) {
        if (price->tiers[i].input == HELICONE_COST_UNSET
            || price->tiers[i].output == HELICONE_COST_UNSET)
        {
            return HELICONE_DECLINED;
        }
    }

    if (helicone_cost_buckets(usage, price->usage_kind, &b) != HELICONE_OK) {
        return HELICONE_DECLINED;
    }

    switch (price->tier_rule) {

    case HELICONE_TIER_ANTHROPIC:
        v_input = helicone_cost_add(helicone_cost_add(b.input, b.cached),
                                    helicone_cost_add(b.write_5m, b.write_1h));
        v_cached = 0;
        break;

    case HELICONE_TIER_GOOGLE:
    case HELICONE_TIER_XAI:
        v_input = helicone_cost_add(b.input, b.cached);
        v_cached = v_input;
        break;

    case HELICONE_TIER_VERTEX:
        v_input = b.input;
        v_cached = b.cached;
        break;

    default: /* HELICONE_TIER_FIRST */
        v_input = 0;
        v_cached = 0;
        break;
    }

    t0 = &price->tiers[0];
    tin = helicone_cost_tier(price, v_input);
    tc = helicone_cost_tier(price, v_cached);

    sum = helicone_cost_mul(b.input, tin->input);

    sum = helicone_cost_add(sum,
              helicone_cost_mul(b.cached,
                  helicone_cost_or(tc->cached_input, tc->input)));

    sum = helicone_cost_add(sum,
              helicone_cost_mul(b.write_5m,
                  helicone_cost_or(t0->cache_write_5m, t0->input)));

    sum = helicone_cost_add(sum,
              helicone_cost_mul(b.write_1h,
                  helicone_cost_or(t0->cache_write_1h, t0->input)));

    sum = helicone_cost_add(sum, helicone_cost_mul(b.output, tin->output));

    sum = helicone_cost_add(sum,
              helicone_cost_mul(b.thinking,
                  helicone_cost_or(t0->thinking, t0->output)));

    /*
     * Audio has no price of its own here: the data prices audio only for
     * a few Gemini models, and spec/costs.md 3.3 falls back to the text
     * prices of the first tier.
     */

    sum = helicone_cost_add(sum, helicone_cost_mul(b.audio_input, t0->input));
    sum = helicone_cost_add(sum,
                            helicone_cost_mul(b.audio_output, t0->output));

    if (price->per_web_search != HELICONE_COST_UNSET) {
        sum = helicone_cost_add(sum,
                  helicone_cost_mul(b.web_search, price->per_web_search));
    }

    if (price->per_request != HELICONE_COST_UNSET) {
        sum = helicone_cost_add(sum, price->per_request);
    }

    *pico = sum;

    return HELICONE_OK;
}


/*
 * costOfPrompt: one image and one call are charged when the row prices
 * them; completion tokens include reasoning, which has no price of its
 * own here.  Split cache writes whose split price is missing are not
 * charged, as in Helicone.
 */

int
helicone_cost_legacy(const helicone_legacy_row_t *row,
    const helicone_usage_t *usage, helicone_usage_kind_e kind,
    uint64_t *pico)
{
    uint64_t                 sum, completion;
    helicone_cost_buckets_t  b;

    if (row == NULL || pico == NULL
        || row->input == HELICONE_COST_UNSET
        || row->output == HELICONE_COST_UNSET)
    {
        return HELICONE_DECLINED;
    }

    if (helicone_cost_buckets(usage, kind, &b) != HELICONE_OK) {
        return HELICONE_DECLINED;
    }

    sum = helicone_cost_mul(b.input, row->input);

    if (row->cache_write != HELICONE_COST_UNSET) {
        sum = helicone_cost_add(sum,
                  helicone_cost_mul(
                      helicone_cost_sub(b.writes,
                          helicone_cost_add(b.split_5m, b.split_1h)),
                      row->cache_write));

        if (row->cache_write_5m != HELICONE_COST_UNSET) {
            sum = helicone_cost_add(sum,
                      helicone_cost_mul(b.split_5m, row->cache_write_5m));
        }

        if (row->cache_write_1h != HELICONE_COST_UNSET) {
            sum = helicone_cost_add(sum,
                      helicone_cost_mul(b.split_1h, row->cache_write_1h));
        }

    } else {
        sum = helicone_cost_add(sum, helicone_cost_mul(b.writes, row->input));
    }

    sum = helicone_cost_add(sum,
              helicone_cost_mul(b.cached,
                  helicone_cost_or(row->cache_read, row->input)));

    sum = helicone_cost_add(sum,
              helicone_cost_mul(b.audio_input,
                  helicone_cost_or(row->audio_input, row->input)));

    completion = helicone_cost_add(b.output, b.thinking);

    sum = helicone_cost_add(sum, helicone_cost_mul(completion, row->output));

    sum = helicone_cost_add(sum,
              helicone_cost_mul(b.audio_output,
                  helicone_cost_or(row->audio_output, row->output)));

    if (row->per_image != HELICONE_COST_UNSET) {
        sum = helicone_cost_add(sum, row->per_image);
    }

    if (row->per_call != HELICONE_COST_UNSET) {
        sum = helicone_cost_add(sum, row->per_call);
    }

    *pico = sum;

    return HELICONE_OK;
}


/*
 * spec/costs.md 3.1 over helicone_usage_t, whose prompt count includes
 * cache reads everywhere and, for Anthropic (see
 * helicone_usage_from_anthropic), cache writes too; Anthropic's own
 * uncached count is used when it is known.  OpenAI-style usage keeps
 * Helicone's reading: writes there are not taken out of the prompt.
 * A prompt smaller than what it should include already excludes it
 * (Helicone's guard for cached > prompt).  Unknown counts are 0; with
 * neither prompt nor completion known the cost is unknown.
 */

static int
helicone_cost_buckets(const helicone_usage_t *u, helicone_usage_kind_e kind,
    helicone_cost_buckets_t *b)
{
    uint64_t  prompt, completion, reasoning, total, split, cache;

    if (u == NULL || (u->prompt_tokens < 0 && u->completion_tokens < 0)) {
        return HELICONE_DECLINED;
    }

    prompt = helicone_cost_count(u->prompt_tokens);
    completion = helicone_cost_count(u->completion_tokens);
    reasoning = helicone_cost_count(u->reasoning_tokens);

    b->cached = helicone_cost_count(u->cache_read_tokens);
    b->audio_input = helicone_cost_count(u->prompt_audio_tokens);
    b->audio_output = helicone_cost_count(u->completion_audio_tokens);
    b->web_search = helicone_cost_count(u->web_search_requests);

    b->split_5m = helicone_cost_count(u->cache_write_5m_tokens);
    b->split_1h = helicone_cost_count(u->cache_write_1h_tokens);

    split = helicone_cost_add(b->split_5m, b->split_1h);
    total = helicone_cost_count(u->cache_write_tokens);

    b->writes = (total > split) ? total : split;
    b->write_5m = helicone_cost_add(b->split_5m, b->writes - split);
    b->write_1h = b->split_1h;

    cache = b->cached;

    if (kind == HELICONE_USAGE_ANTHROPIC) {
        cache = helicone_cost_add(cache, b->writes);
    }

    if (kind == HELICONE_USAGE_ANTHROPIC && u->uncached_input_tokens >= 0) {
        prompt = (uint64_t) u->uncached_input_tokens;

    } else if (cache <= prompt) {
        prompt -= cache;
    }

    b->input = helicone_cost_sub(prompt, b->audio_input);

    b->output = helicone_cost_sub(completion, b->audio_output);

    if (kind != HELICONE_USAGE_XAI) {
        b->output = helicone_cost_sub(b->output, reasoning);
    }

    b->thinking = reasoning;

    return HELICONE_OK;
}


static uint64_t
helicone_cost_count(int64_t n)
{
    return (n > 0) ? (uint64_t) n : 0;
}


/* The last tier whose threshold is <= v, or the first tier. */

static const helicone_price_tier_t *
helicone_cost_tier(const helicone_price_t *price, uint64_t v)
{
    size_t                        i;
    const helicone_price_tier_t  *t;

    t = &price->tiers[0];

    for (i = 1; i < price->ntiers; i++) {
        if (price->tiers[i].threshold <= v) {
            t = &price->tiers[i];
        }
    }

    return t;
}


static uint64_t
helicone_cost_or(uint64_t price, uint64_t fallback)
{
    return (price == HELICONE_COST_UNSET) ? fallback : price;
}


static uint64_t
helicone_cost_add(uint64_t a, uint64_t b)
{
    return (a > UINT64_MAX - b) ? UINT64_MAX : a + b;
}


static uint64_t
helicone_cost_sub(uint64_t a, uint64_t b)
{
    return (a > b) ? a - b : 0;
}


static uint64_t
helicone_cost_mul(uint64_t a, uint64_t b)
{
    if (a != 0 && b > UINT64_MAX / a) {
        return UINT64_MAX;
    }

    return a * b;
}


const helicone_legacy_row_t *
helicone_cost_legacy_match(const helicone_legacy_row_t *rows, size_t n,
    const unsigned char *model, size_t len)
{
    size_t                        i, j, vlen;
    const unsigned char          *v;
    const helicone_legacy_row_t  *row;

    if (rows == NULL || (model == NULL && len != 0)) {
        return NULL;
    }

    for (i = 0; i < n; i++) {
        row = &rows[i];
        v = row->value.data;
        vlen = row->value.len;

        if (v == NULL && vlen != 0) {
            continue;
        }

        switch (row->match) {

        case HELICONE_MATCH_EXACT:
            if (vlen == len && helicone_cost_equal(model, v, len)) {
                return row;
            }

            break;

        case HELICONE_MATCH_PREFIX:
            if (vlen <= len && helicone_cost_equal(model, v, vlen)) {
                return row;
            }

            break;

        case HELICONE_MATCH_SUBSTRING:
            if (vlen > len) {
                break;
            }

            for (j = 0; j <= len - vlen; j++) {
                if (helicone_cost_equal(model + j, v, vlen)) {
                    return row;
                }
            }

            break;

        default:
            break;
        }
    }

    return NULL;
}


static unsigned char
helicone_cost_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char) (c | 0x20) : c;
}


/* ASCII case-insensitive, so row values need not be lower-case. */

static int
helicone_cost_equal(const unsigned char *a, const unsigned char *b, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (helicone_cost_lower(a[i]) != helicone_cost_lower(b[i])) {
            return 0;
        }
    }

    return 1;
}


size_t
helicone_cost_format_usd(uint64_t pico, unsigned char *buf)
{
    size_t          n, i;
    uint64_t        whole, frac;
    unsigned char   digits[20];

    if (buf == NULL) {
        return 0;
    }

    whole = pico / HELICONE_COST_PICO;
    frac = pico % HELICONE_COST_PICO;

    i = 0;

    do {
        digits[i++] = (unsigned char) ('0' + whole % 10);
        whole /= 10;
    } while (whole);

    n = 0;

    while (i) {
        buf[n++] = digits[--i];
    }

    if (frac == 0) {
        return n;
    }

    /* twelve digits with their leading zeros, less the trailing ones */

    buf[n++] = '.';

    for (i = 12; i > 0; i--) {
        buf[n + i - 1] = (unsigned char) ('0' + frac % 10);
        frac /= 10;
    }

    n += 12;

    while (buf[n - 1] == '0') {
        n--;
    }

    return n;
}
