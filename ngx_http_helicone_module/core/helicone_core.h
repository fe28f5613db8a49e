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


#endif /* _HELICONE_CORE_H_INCLUDED_ */
