/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Bounded appends into a caller's buffer; a write that does not fit flags. */

#include <string.h>

#include "helicone_buf.h"
#include "helicone_json.h"


void
helicone_buf_init(helicone_buf_t *b, unsigned char *p, size_t size)
{
    b->start = p;
    b->pos = p;
    b->end = p ? p + size : p;
    b->overflow = 0;
}


void
helicone_buf_add_cstr(helicone_buf_t *b, const char *s)
{
    if (s == NULL) {
        return;
    }

    helicone_buf_add(b, s, strlen(s));
}


void
helicone_buf_add_escaped(helicone_buf_t *b, const unsigned char *p,
    size_t len)
{
    size_t  n;

    if (len == 0 || p == NULL) {
        return;
    }

    n = helicone_json_escape_len(p, len);

    if (!helicone_buf_room(b, n)) {
        return;
    }

    b->pos = helicone_json_escape(b->pos, p, len);
}


void
helicone_buf_add_int(helicone_buf_t *b, int64_t n)
{
    uint64_t        u;
    unsigned char   tmp[24], *p;

    p = tmp + sizeof(tmp);

    /* negate in unsigned: INT64_MIN has no positive int64_t */
    u = (n < 0) ? (uint64_t) 0 - (uint64_t) n : (uint64_t) n;

    do {
        *--p = (unsigned char) ('0' + u % 10);
        u /= 10;
    } while (u);

    if (n < 0) {
        *--p = '-';
    }

    helicone_buf_add(b, p, tmp + sizeof(tmp) - p);
}
