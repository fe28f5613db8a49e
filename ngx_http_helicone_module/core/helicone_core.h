/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Shared types of the pure C core: no nginx headers, no allocation policy. */

#ifndef _HELICONE_CORE_H_INCLUDED_
#define _HELICONE_CORE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define HELICONE_OK         0
#define HELICONE_ERROR     -1
#define HELICONE_AGAIN     -2
#define HELICONE_DECLINED  -5


typedef struct {
    const unsigned char  *data;
    size_t                len;
} helicone_str_t;


#define helicone_string(s)  { (const unsigned char *) s, sizeof(s) - 1 }


/* The value of a hex digit, either case; -1 for any other byte. */

static inline int
helicone_hex(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


/*
 * 1 when a and b are equal but for ASCII case: ngx_strncasecmp()'s verdict
 * for bytes without NUL (header names, URLs). Equal bytes, the common
 * case, cost one compare instead of its two case folds: headers and
 * origins are matched this way several times a request.
 */

static inline int
helicone_caseless_eq(const unsigned char *a, const unsigned char *b,
    size_t n)
{
    size_t         i;
    unsigned char  c;

    for (i = 0; i < n; i++) {
        if (a[i] == b[i]) {
            continue;
        }

        /* only a letter's two cases differ in bit 0x20 alone */
        c = a[i] | 0x20;

        if (c != (b[i] | 0x20) || c < 'a' || c > 'z') {
            return 0;
        }
    }

    return 1;
}


#endif /* _HELICONE_CORE_H_INCLUDED_ */
