/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Cost of a request from its usage and a price, in integers: prices are
 * pico-USD (1e-12 USD) per token, which is USD per 1M tokens times 1e6,
 * so no float ever touches a sum.
 */

#ifndef _HELICONE_COST_H_INCLUDED_
#define _HELICONE_COST_H_INCLUDED_


#include "helicone_core.h"
#include "helicone_usage.h"


#define HELICONE_COST_UNSET  UINT64_MAX      /* a price the data lacks */


/* how a provider picks its pricing tier (spec/costs.md 3.2) */
typedef enum {
    HELICONE_TIER_FIRST = 0,     /* always tier 0 */
    HELICONE_TIER_ANTHROPIC,     /* input + cached + writes */
    HELICONE_TIER_GOOGLE,        /* input + cached */
    HELICONE_TIER_VERTEX,        /* input; cached reads by cached */
    HELICONE_TIER_XAI            /* input + cached */
} helicone_tier_rule_e;


/* how usage counts split into disjoint buckets (spec/costs.md 3.1) */
typedef enum {
    HELICONE_USAGE_OPENAI = 0,   /* prompt includes cached and audio */
    HELICONE_USAGE_ANTHROPIC,    /* writes billed 5m unless split */
    HELICONE_USAGE_XAI           /* completion excludes reasoning */
} helicone_usage_kind_e;


typedef struct {
    uint64_t            threshold;       /* tokens */
    uint64_t            input;           /* pico-USD per token */
    uint64_t            output;
    uint64_t            cached_input;    /* HELICONE_COST_UNSET: input */
    uint64_t            cache_write_5m;  /* HELICONE_COST_UNSET: input */
    uint64_t            cache_write_1h;  /* HELICONE_COST_UNSET: input */
    uint64_t            thinking;        /* HELICONE_COST_UNSET: output */
} helicone_price_tier_t;


/* a registry endpoint's price */
typedef struct {
    const helicone_price_tier_t  *tiers;       /* by threshold, ascending */
    size_t                        ntiers;
    uint64_t                      per_request;    /* pico-USD, 0: none */
    uint64_t                      per_web_search; /* pico-USD, 0: none */
    helicone_tier_rule_e          tier_rule;
    helicone_usage_kind_e         usage_kind;
} helicone_price_t;


/* a legacy table row; HELICONE_COST_UNSET where the row has no price */
typedef enum {
    HELICONE_MATCH_EXACT = 0,
    HELICONE_MATCH_PREFIX,
    HELICONE_MATCH_SUBSTRING
} helicone_match_e;

typedef struct {
    helicone_match_e    match;
    helicone_str_t      value;           /* lower-case */
    uint64_t            input;
    uint64_t            output;
    uint64_t            cache_read;
    uint64_t            cache_write;
    uint64_t            cache_write_5m;
    uint64_t            cache_write_1h;
    uint64_t            audio_input;
    uint64_t            audio_output;
    uint64_t            per_image;       /* pico-USD per image */
    uint64_t            per_call;        /* pico-USD per call */
} helicone_legacy_row_t;


/*
 * USD per 1M tokens from the data into pico-USD per token, rounded to the
 * nearest; negative (the data's -1000000 "unknown"), not finite or too
 * large for uint64_t: UNSET.
 */
uint64_t helicone_cost_from_usd_per_1m(double usd);

/* USD (the data's per_*_usd prices) into pico-USD, the same way. */
uint64_t helicone_cost_from_usd(double usd);

/*
 * The registry formula. HELICONE_OK with *pico; HELICONE_DECLINED when the
 * usage has no token counts or a tier lacks its input or output price
 * (cost unknown, never 0).  Sums saturate at UINT64_MAX instead of
 * wrapping, whatever counts a response claims.
 */
int helicone_cost_registry(const helicone_price_t *price,
    const helicone_usage_t *usage, uint64_t *pico);

/* The legacy formula (costOfPrompt), same return codes. */
int helicone_cost_legacy(const helicone_legacy_row_t *row,
    const helicone_usage_t *usage, helicone_usage_kind_e kind,
    uint64_t *pico);

/*
 * The first row matching model (compared lower-case), in table order, or
 * NULL: exact = equal, prefix = starts with, substring = contains.
 */
const helicone_legacy_row_t *helicone_cost_legacy_match(
    const helicone_legacy_row_t *rows, size_t n, const unsigned char *model,
    size_t len);

/*
 * Writes pico-USD as a decimal USD number for JSON ("0.0002832", "0",
 * "12.5"): no exponent, no trailing zeros. buf holds at least 32 bytes;
 * returns the length.
 */
size_t helicone_cost_format_usd(uint64_t pico, unsigned char *buf);


#endif /* _HELICONE_COST_H_INCLUDED_ */
