/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Rate-limit policies and token buckets, in integers. */

#include <string.h>

#include "helicone_ratelimit.h"


/* products of two 64-bit counts; gcc and clang have it on 64-bit hosts */
typedef unsigned __int128  helicone_rl_wide_t;


static int helicone_rl_lower(unsigned char c);
static int helicone_rl_prefix(const unsigned char **p,
    const unsigned char *end, const char *s);
static uint64_t helicone_rl_seconds_to(const helicone_rl_bucket_t *b,
    const helicone_rl_policy_t *p, int64_t target);
static void helicone_rl_refill(helicone_rl_bucket_t *b,
    const helicone_rl_policy_t *p, uint64_t now);


static int
helicone_rl_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}


/* Takes s (lower-case) at *p, case-insensitively: 1 when there. */

static int
helicone_rl_prefix(const unsigned char **p, const unsigned char *end,
    const char *s)
{
    size_t  i, n;

    n = strlen(s);

    if ((size_t) (end - *p) < n) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        if (helicone_rl_lower((*p)[i]) != (unsigned char) s[i]) {
            return 0;
        }
    }

    *p += n;

    return 1;
}


int
helicone_rl_parse(const unsigned char *s, size_t len, helicone_rl_policy_t *p)
{
    size_t                i, frac;
    uint64_t              n;
    const unsigned char  *q, *end;

    if (s == NULL || len == 0) {
        return HELICONE_ERROR;
    }

    memset(p, 0, sizeof(helicone_rl_policy_t));

    q = s;
    end = s + len;

    /* quota: digits, an optional fraction, in millionths */

    n = 0;
    i = 0;

    while (q < end && *q >= '0' && *q <= '9' && i < 12) {
        n = n * 10 + (uint64_t) (*q++ - '0');
        i++;
    }

    if (i == 0 || (q < end && *q >= '0' && *q <= '9')) {
        return HELICONE_ERROR;
    }

    frac = 0;

    if (q < end && *q == '.') {
        q++;

        if (q == end || *q < '0' || *q > '9') {
            return HELICONE_ERROR;
        }

        while (q < end && *q >= '0' && *q <= '9') {
            if (frac < 6) {
                n = n * 10 + (uint64_t) (*q - '0');
                frac++;
            }

            q++;
        }
    }

    while (frac < 6) {
        n *= 10;
        frac++;
    }

    if (n == 0) {
        return HELICONE_ERROR;
    }

    p->quota = n;

    /* ;w=seconds */

    if (!helicone_rl_prefix(&q, end, ";w=")) {
        return HELICONE_ERROR;
    }

    n = 0;
    i = 0;

    while (q < end && *q >= '0' && *q <= '9' && i < 9) {
        n = n * 10 + (uint64_t) (*q++ - '0');
        i++;
    }

    if (i == 0 || n < 60 || n > 31536000
        || (q < end && *q >= '0' && *q <= '9'))
    {
        return HELICONE_ERROR;
    }

    p->window = n;
    p->unit = HELICONE_RL_REQUEST;
    p->segment = HELICONE_RL_GLOBAL;

    /* ;u=request|cents */

    if (helicone_rl_prefix(&q, end, ";u=")) {
        if (helicone_rl_prefix(&q, end, "request")) {
            p->unit = HELICONE_RL_REQUEST;

        } else if (helicone_rl_prefix(&q, end, "cents")) {
            p->unit = HELICONE_RL_CENTS;

        } else {
            return HELICONE_ERROR;
        }
    }

    /* ;s=user|name */

    if (helicone_rl_prefix(&q, end, ";s=")) {
        if (q == end) {
            return HELICONE_ERROR;
        }

        while (q < end && *q != ';') {
            if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z')
                  || (*q >= '0' && *q <= '9') || *q == '_' || *q == '-')
                || p->name_len == HELICONE_RL_NAME_MAX)
            {
                return HELICONE_ERROR;
            }

            p->name[p->name_len++] = (unsigned char) helicone_rl_lower(*q++);
        }

        if (p->name_len == 4 && memcmp(p->name, "user", 4) == 0) {
            p->segment = HELICONE_RL_USER;

        } else {
            p->segment = HELICONE_RL_PROPERTY;
        }
    }

    return q == end ? HELICONE_OK : HELICONE_ERROR;
}


size_t
helicone_rl_format(const helicone_rl_policy_t *p, unsigned char *buf)
{
    int      i, n;
    char     digits[24];
    size_t   len;
    uint64_t whole, frac;

    whole = p->quota / HELICONE_RL_UNIT;
    frac = p->quota % HELICONE_RL_UNIT;

    len = 0;
    n = 0;

    do {
        digits[n++] = (char) ('0' + whole % 10);
        whole /= 10;
    } while (whole);

    while (n) {
        buf[len++] = (unsigned char) digits[--n];
    }

    if (frac) {
        buf[len++] = '.';

        for (i = 100000; i > 0 && frac; i /= 10) {
            buf[len++] = (unsigned char) ('0' + frac / (uint64_t) i);
            frac %= (uint64_t) i;
        }
    }

    memcpy(buf + len, ";w=", 3);
    len += 3;

    n = 0;
    whole = p->window;

    do {
        digits[n++] = (char) ('0' + whole % 10);
        whole /= 10;
    } while (whole);

    while (n) {
        buf[len++] = (unsigned char) digits[--n];
    }

    if (p->unit == HELICONE_RL_CENTS) {
        memcpy(buf + len, ";u=cents", 8);
        len += 8;
    }

    if (p->segment != HELICONE_RL_GLOBAL) {
        memcpy(buf + len, ";s=", 3);
        len += 3;
        memcpy(buf + len, p->name, p->name_len);
        len += p->name_len;
    }

    return len;
}


/* Continuous refill: quota per window, capped at the quota. */

static void
helicone_rl_refill(helicone_rl_bucket_t *b, const helicone_rl_policy_t *p,
    uint64_t now)
{
    uint64_t            elapsed, add, room;
    helicone_rl_wide_t  part, span;

    if (b->capacity == 0) {
        /* a new bucket starts full */
        b->tokens = (int64_t) p->quota;
        b->updated = now;
        b->capacity = p->quota;
        b->rest = 0;
        return;
    }

    if (b->capacity != p->quota) {
        /* the policy changed: keep the tokens, within the new capacity */
        b->capacity = p->quota;

        if (b->tokens > (int64_t) p->quota) {
            b->tokens = (int64_t) p->quota;
        }
    }

    if (now <= b->updated) {
        return;
    }

    elapsed = now - b->updated;
    b->updated = now;

    if (b->tokens >= (int64_t) p->quota) {
        /* a full bucket banks no time */
        b->rest = 0;
        return;
    }

    room = (uint64_t) ((int64_t) p->quota - b->tokens);
    span = (helicone_rl_wide_t) p->window * 1000;

    if (elapsed >= p->window * 1000) {
        add = room;
        part = 0;

    } else {
        /*
         * quota * elapsed / window, in 128 bits (both may be large), with
         * what earlier refills left short of a millionth: frequent
         * requests cannot keep a slow bucket from refilling
         */
        part = (helicone_rl_wide_t) p->quota * elapsed
               + (b->rest < span ? b->rest : 0);
        add = (uint64_t) (part / span);
        part %= span;
    }

    if (add >= room) {
        b->tokens = (int64_t) p->quota;
        b->rest = 0;
        return;
    }

    b->tokens += (int64_t) add;
    b->rest = (uint64_t) part;
}


int
helicone_rl_take(helicone_rl_bucket_t *b, const helicone_rl_policy_t *p,
    uint64_t now, uint64_t *remaining, uint64_t *reset)
{
    int  allowed;

    helicone_rl_refill(b, p, now);

    if (p->unit == HELICONE_RL_REQUEST) {
        allowed = b->tokens >= HELICONE_RL_UNIT;

        if (allowed) {
            b->tokens -= HELICONE_RL_UNIT;
        }

    } else {
        allowed = b->tokens > 0;
    }

    *remaining = b->tokens > 0 ? (uint64_t) b->tokens / HELICONE_RL_UNIT : 0;

    /* seconds until full again */
    *reset = helicone_rl_seconds_to(b, p, (int64_t) p->quota);

    return allowed;
}


uint64_t
helicone_rl_wait(const helicone_rl_bucket_t *b, const helicone_rl_policy_t *p)
{
    return helicone_rl_seconds_to(b, p, (p->unit == HELICONE_RL_REQUEST)
                                        ? HELICONE_RL_UNIT : 1);
}


/* Seconds, rounded up, until the refill brings the tokens to target. */

static uint64_t
helicone_rl_seconds_to(const helicone_rl_bucket_t *b,
    const helicone_rl_policy_t *p, int64_t target)
{
    if (b->tokens >= target) {
        return 0;
    }

    return (uint64_t) (((helicone_rl_wide_t) (target - b->tokens) * p->window
                        + p->quota - 1) / p->quota);
}


void
helicone_rl_charge(helicone_rl_bucket_t *b, const helicone_rl_policy_t *p,
    uint64_t now, uint64_t cost)
{
    helicone_rl_refill(b, p, now);

    /* Helicone caps one request's charge at a million cents */
    if (cost > (uint64_t) 1000000 * HELICONE_RL_UNIT) {
        cost = (uint64_t) 1000000 * HELICONE_RL_UNIT;
    }

    b->tokens -= (int64_t) cost;
}
