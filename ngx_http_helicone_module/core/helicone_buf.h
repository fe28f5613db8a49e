/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* An output buffer the caller owns; writers flag overflow, never grow it. */

#ifndef _HELICONE_BUF_H_INCLUDED_
#define _HELICONE_BUF_H_INCLUDED_


#include <string.h>

#include "helicone_core.h"


typedef struct {
    unsigned char      *start;
    unsigned char      *pos;        /* next byte to write */
    unsigned char      *end;
    unsigned            overflow:1; /* a write did not fit: retry larger */
} helicone_buf_t;


void helicone_buf_init(helicone_buf_t *b, unsigned char *p, size_t size);

/*
 * Append bytes / a C string / JSON-escaped bytes (no quotes added).
 * Once a write has not fitted, nothing more is written, so the bytes
 * before pos are always a prefix of what a larger buffer would hold.
 * helicone_buf_add() is inline: translators call it for every literal
 * piece, and a literal's length makes its copy a few moves.
 */

/* 1 when len more bytes fit; else 0, and the buffer is flagged */

static inline int
helicone_buf_room(helicone_buf_t *b, size_t len)
{
    if (b->overflow || b->pos == NULL || (size_t) (b->end - b->pos) < len) {
        b->overflow = 1;
        return 0;
    }

    return 1;
}


static inline void
helicone_buf_add(helicone_buf_t *b, const void *p, size_t len)
{
    if (len == 0) {
        return;
    }

    if (p == NULL || !helicone_buf_room(b, len)) {
        b->overflow = 1;
        return;
    }

    memcpy(b->pos, p, len);
    b->pos += len;
}

void helicone_buf_add_cstr(helicone_buf_t *b, const char *s);
void helicone_buf_add_escaped(helicone_buf_t *b, const unsigned char *p,
    size_t len);
void helicone_buf_add_int(helicone_buf_t *b, int64_t n);


/*
 * The end of a write that began at pos: when it was declined (rc) or b
 * overflowed, what it wrote is taken back. rc, or HELICONE_ERROR for the
 * overflow (the caller may try again with more room).
 */

static inline int
helicone_buf_end(helicone_buf_t *b, unsigned char *pos, int rc)
{
    if (rc == HELICONE_DECLINED || b->overflow) {
        b->pos = pos;
        return (rc == HELICONE_DECLINED) ? HELICONE_DECLINED : HELICONE_ERROR;
    }

    return rc;
}


#endif /* _HELICONE_BUF_H_INCLUDED_ */
