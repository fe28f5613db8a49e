/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Incremental text/event-stream parser; knows no JSON or providers. */

#ifndef _HELICONE_SSE_H_INCLUDED_
#define _HELICONE_SSE_H_INCLUDED_


#include "helicone_core.h"


#define HELICONE_SSE_MAX_EVENT_NAME  64


typedef struct {
    helicone_str_t      event;       /* "" when the event had no "event:" */
    helicone_str_t      data;        /* "data:" lines joined by "\n" */
    size_t              end;         /* bytes of the current feed up to
                                        the line end that completed it */
    unsigned            truncated:1; /* data longer than the buffer */
} helicone_sse_event_t;


/* A nonzero return stops the feed and is returned by it. */
typedef int (*helicone_sse_event_pt)(void *ctx,
    const helicone_sse_event_t *ev);

/* A buffer of size bytes for an event's data, or NULL; the caller owns
 * it (the parser copies the data so far and forgets the old one). */
typedef unsigned char *(*helicone_sse_grow_pt)(void *ctx, size_t size);


typedef struct {
    unsigned            state;
    unsigned            field;       /* which field the value belongs to */
    size_t              name_len;    /* bytes of the field name so far */
    unsigned char       name[8];     /* field name being read */

    unsigned char      *buf;         /* data of the current event */
    size_t              len;
    const unsigned char  *ref;       /* or its one line, still in the
                                        feed: not copied unless needed */
    size_t              ref_len;
    size_t              cap;
    helicone_sse_grow_pt  grow;      /* NULL: data past cap is cut */
    void               *grow_ctx;
    size_t              max;         /* cap grows up to this */
    unsigned            has_data:1;
    unsigned            truncated:1;
    unsigned            bom_checked:1;

    size_t              event_len;
    unsigned char       event[HELICONE_SSE_MAX_EVENT_NAME];

    uint64_t            events;      /* events dispatched so far */
    size_t              feed_pos;    /* bytes of the current feed taken */
} helicone_sse_parser_t;


/* buf of cap bytes holds one event's data; the caller owns it. */
void helicone_sse_init(helicone_sse_parser_t *p, unsigned char *buf,
    size_t cap);

/*
 * Lets an event's data outgrow the buffer: grow() is asked for a larger
 * one, doubling, up to max bytes; past that (or when grow fails) the
 * event is truncated as without it.
 */
void helicone_sse_set_grow(helicone_sse_parser_t *p,
    helicone_sse_grow_pt grow, void *ctx, size_t max);

/*
 * Feeds the next bytes, split anywhere; calls handler for each complete
 * event (one ending in a blank line) with data. Returns HELICONE_OK, or
 * the handler's nonzero return. An event's data lies in the parser's
 * buffer or, when it is one line whole in these bytes, in them: either
 * way it is the handler's only until the feed returns.
 */
int helicone_sse_feed(helicone_sse_parser_t *p, const unsigned char *data,
    size_t len, helicone_sse_event_pt handler, void *ctx);

/*
 * Whether no part of an event is pending: at the start of a line, with
 * no data and no event name taken since the last blank line. Bytes fed
 * so far are then complete events, comments or fields of no event.
 */
int helicone_sse_idle(const helicone_sse_parser_t *p);

/*
 * At the end of the stream: HELICONE_OK when it ended on an event
 * boundary, HELICONE_AGAIN when an event was left incomplete (it is not
 * dispatched, as the SSE specification says).
 */
int helicone_sse_finish(helicone_sse_parser_t *p);


#endif /* _HELICONE_SSE_H_INCLUDED_ */
