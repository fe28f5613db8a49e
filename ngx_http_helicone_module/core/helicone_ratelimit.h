/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Helicone-RateLimit-Policy and the token bucket behind it, in integers:
 * tokens are counted in millionths, time in milliseconds.
 */

#ifndef _HELICONE_RATELIMIT_H_INCLUDED_
#define _HELICONE_RATELIMIT_H_INCLUDED_


#include "helicone_core.h"


#define HELICONE_RL_UNIT       1000000    /* one token, in millionths */
#define HELICONE_RL_NAME_MAX   64

#define HELICONE_RL_REQUEST    0
#define HELICONE_RL_CENTS      1

#define HELICONE_RL_GLOBAL     0
#define HELICONE_RL_USER       1
#define HELICONE_RL_PROPERTY   2


typedef struct {
    uint64_t            quota;          /* millionths of a token */
    uint64_t            window;         /* seconds, 60 to 31536000 */
    unsigned            unit;           /* HELICONE_RL_REQUEST | _CENTS */
    unsigned            segment;        /* HELICONE_RL_GLOBAL | ... */
    size_t              name_len;       /* the property, lower-case */
    unsigned char       name[HELICONE_RL_NAME_MAX];
} helicone_rl_policy_t;


typedef struct {
    int64_t             tokens;         /* millionths; may go negative */
    uint64_t            updated;        /* ms of the last refill */
    uint64_t            capacity;       /* the quota it was filled to */
    uint64_t            rest;           /* refill short of a millionth, in
                                           millionths x ms / (window ms) */
} helicone_rl_bucket_t;


/*
 * "quota;w=seconds[;u=request|cents][;s=user|name]", case-insensitive,
 * fields in this order: HELICONE_OK, or HELICONE_ERROR for anything else.
 */
int helicone_rl_parse(const unsigned char *s, size_t len,
    helicone_rl_policy_t *p);

/* The policy as Helicone echoes it: u= only for cents, s= unless global.
 * buf holds 128 bytes; returns the length. */
size_t helicone_rl_format(const helicone_rl_policy_t *p, unsigned char *buf);

/*
 * Refills b to now and takes cost (millionths) if the policy allows:
 * u=request needs a whole token and takes it; u=cents needs any positive
 * balance and takes nothing now (the cost is known later: see
 * helicone_rl_charge). A new bucket (capacity 0) starts full. Returns 1
 * when allowed; *remaining whole tokens left, *reset seconds until full.
 */
/*
 * Seconds until the bucket lets a request through again (0: now): a whole
 * token for requests, a positive balance for cents; rounded up.
 */
uint64_t helicone_rl_wait(const helicone_rl_bucket_t *b,
    const helicone_rl_policy_t *p);

int helicone_rl_take(helicone_rl_bucket_t *b, const helicone_rl_policy_t *p,
    uint64_t now, uint64_t *remaining, uint64_t *reset);

/* Charges cost (millionths) after the fact, even into debt. */
void helicone_rl_charge(helicone_rl_bucket_t *b,
    const helicone_rl_policy_t *p, uint64_t now, uint64_t cost);


#endif /* _HELICONE_RATELIMIT_H_INCLUDED_ */
