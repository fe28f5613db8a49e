/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Retry and fallback policy: header values, backoff, status code sets. */

#ifndef _HELICONE_POLICY_H_INCLUDED_
#define _HELICONE_POLICY_H_INCLUDED_


#include "helicone_core.h"
#include "helicone_json.h"


#define HELICONE_POLICY_MAX_RANGES  16


/* a whole decimal number, no sign, at most 9 digits: HELICONE_OK */
int helicone_policy_uint(const unsigned char *s, size_t len,
    uint64_t *out);

/* a decimal factor such as "2" or "1.5" in thousandths: HELICONE_OK */
int helicone_policy_factor(const unsigned char *s, size_t len,
    uint64_t *milli);

/*
 * Milliseconds to wait before retry k (1, 2, ...):
 * min(max_ms, min_ms * factor^(k-1)), factor in thousandths, no overflow.
 */
uint64_t helicone_policy_backoff(uint64_t min_ms, uint64_t max_ms,
    uint64_t factor_milli, unsigned k);


/* status codes as inclusive ranges, as Helicone-Fallbacks' onCodes */
typedef struct {
    size_t              n;
    uint16_t            from[HELICONE_POLICY_MAX_RANGES];
    uint16_t            to[HELICONE_POLICY_MAX_RANGES];
} helicone_codes_t;


/*
 * onCodes: an array of integers and {"from": a, "to": b} objects:
 * HELICONE_OK, or HELICONE_ERROR for anything else (or too many).
 */
int helicone_policy_codes(const helicone_json_value_t *array,
    helicone_codes_t *codes);

int helicone_policy_codes_match(const helicone_codes_t *codes,
    unsigned status);


#endif /* _HELICONE_POLICY_H_INCLUDED_ */
