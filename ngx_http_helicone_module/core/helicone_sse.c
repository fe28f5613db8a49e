/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Incremental text/event-stream parser (WHATWG "Server-sent events"). */

#include <string.h>

#include "helicone_sse.h"


typedef enum {
    sw_start = 0,      /* at the start of a line */
    sw_cr,             /* after a CR: a LF here ends no second line */
    sw_name,           /* in a field name */
    sw_value_start,    /* after the colon: one space may be skipped */
    sw_value,          /* in a field value */
    sw_comment,        /* in a line starting with a colon */
    sw_bom1,           /* stream start: one byte of a BOM seen */
    sw_bom2            /* stream start: two bytes of a BOM seen */
} helicone_sse_state_e;


typedef enum {
    helicone_sse_field_other = 0,
    helicone_sse_field_data,
    helicone_sse_field_event
} helicone_sse_field_e;


static int helicone_sse_byte(helicone_sse_parser_t *p, unsigned char c,
    helicone_sse_event_pt handler, void *ctx);
static void helicone_sse_field_begin(helicone_sse_parser_t *p);
static void helicone_sse_value_byte(helicone_sse_parser_t *p,
    unsigned char c);
static void helicone_sse_data_byte(helicone_sse_parser_t *p,
    unsigned char c);
static int helicone_sse_dispatch(helicone_sse_parser_t *p,
    helicone_sse_event_pt handler, void *ctx);
static size_t helicone_sse_value_run(helicone_sse_parser_t *p,
    const unsigned char *data, size_t len);
static size_t helicone_sse_field_run(helicone_sse_parser_t *p,
    const unsigned char *data, size_t len);
static size_t helicone_sse_room(helicone_sse_parser_t *p, size_t need);
static void helicone_sse_keep(helicone_sse_parser_t *p);
static int helicone_sse_feed_run(helicone_sse_parser_t *p,
    const unsigned char *data, size_t len, helicone_sse_event_pt handler,
    void *ctx);


static const unsigned char  helicone_sse_bom[3] = { 0xef, 0xbb, 0xbf };


void
helicone_sse_init(helicone_sse_parser_t *p, unsigned char *buf, size_t cap)
{
    memset(p, 0, sizeof(helicone_sse_parser_t));

    p->state = sw_start;
    p->field = helicone_sse_field_other;
    p->buf = buf;
    p->cap = buf ? cap : 0;
}


void
helicone_sse_set_grow(helicone_sse_parser_t *p, helicone_sse_grow_pt grow,
    void *ctx, size_t max)
{
    p->grow = grow;
    p->grow_ctx = ctx;
    p->max = max;
}


int
helicone_sse_feed(helicone_sse_parser_t *p, const unsigned char *data,
    size_t len, helicone_sse_event_pt handler, void *ctx)
{
    int  rc;

    if (data == NULL) {
        return HELICONE_OK;
    }

    rc = helicone_sse_feed_run(p, data, len, handler, ctx);

    /* the caller may reuse these bytes: data of an event begun is kept */
    helicone_sse_keep(p);

    return rc;
}


static int
helicone_sse_feed_run(helicone_sse_parser_t *p, const unsigned char *data,
    size_t len, helicone_sse_event_pt handler, void *ctx)
{
    int            rc;
    size_t         i, j, k;
    unsigned char  c;

    for (i = 0; i < len; i++) {
        c = data[i];

        if (!p->bom_checked) {
            k = (p->state == sw_bom1) ? 1 : (p->state == sw_bom2) ? 2 : 0;

            if (c == helicone_sse_bom[k]) {
                if (k == 2) {
                    p->bom_checked = 1;
                    p->state = sw_start;

                } else {
                    p->state = (k == 0) ? sw_bom1 : sw_bom2;
                }

                continue;
            }

            /* no BOM after all: the bytes taken for one are line bytes */

            p->bom_checked = 1;
            p->state = sw_start;

            for (j = 0; j < k; j++) {
                rc = helicone_sse_byte(p, helicone_sse_bom[j], handler, ctx);
                if (rc != HELICONE_OK) {
                    return rc;
                }
            }
        }

        if (p->state == sw_start && c != ':' && c != '\r' && c != '\n') {
            /* "data: " and "event: " at once */
            j = helicone_sse_field_run(p, data + i, len - i);

            if (j) {
                i += j - 1;
                continue;
            }
        }

        if (p->state == sw_value && c != '\r' && c != '\n') {
            /* the bulk of a stream: a value up to the line end, at once */
            j = helicone_sse_value_run(p, data + i, len - i);
            i += j;

            if (i < len && data[i] == '\n') {
                /* its LF, and the blank line that most often follows,
                 * taken as the byte parser would take them */
                p->state = sw_start;

                if (i + 1 < len && data[i + 1] == '\n') {
                    i++;
                    p->feed_pos = i + 1;

                    rc = helicone_sse_dispatch(p, handler, ctx);
                    if (rc != HELICONE_OK) {
                        return rc;
                    }
                }

                continue;
            }

            /* a CR, or the end of these bytes: the loop goes on there */
            i--;
            continue;
        }

        p->feed_pos = i + 1;

        rc = helicone_sse_byte(p, c, handler, ctx);
        if (rc != HELICONE_OK) {
            return rc;
        }
    }

    return HELICONE_OK;
}


int
helicone_sse_idle(const helicone_sse_parser_t *p)
{
    return (p->state == sw_start || p->state == sw_cr)
           && !p->has_data && p->event_len == 0;
}


int
helicone_sse_finish(helicone_sse_parser_t *p)
{
    switch (p->state) {

    case sw_start:
    case sw_cr:
        break;

    default:
        /* a partial line, or a partial BOM, which is a partial line too */
        return HELICONE_AGAIN;
    }

    if (p->has_data || p->event_len) {
        return HELICONE_AGAIN;
    }

    return HELICONE_OK;
}


static int
helicone_sse_byte(helicone_sse_parser_t *p, unsigned char c,
    helicone_sse_event_pt handler, void *ctx)
{
    switch (p->state) {

    case sw_cr:
        p->state = sw_start;

        if (c == '\n') {
            return HELICONE_OK;
        }

        /* fall through */

    case sw_start:
        if (c == '\r' || c == '\n') {
            p->state = (c == '\r') ? sw_cr : sw_start;
            return helicone_sse_dispatch(p, handler, ctx);
        }

        if (c == ':') {
            p->state = sw_comment;
            return HELICONE_OK;
        }

        p->name_len = 0;
        p->state = sw_name;

        /* fall through */

    case sw_name:
        if (c == ':' || c == '\r' || c == '\n') {
            helicone_sse_field_begin(p);

            if (c == ':') {
                p->state = sw_value_start;
                return HELICONE_OK;
            }

            p->state = (c == '\r') ? sw_cr : sw_start;
            return HELICONE_OK;
        }

        /* a longer name is counted but not kept: it matches no field */

        if (p->name_len < sizeof(p->name)) {
            p->name[p->name_len] = c;
        }

        if (p->name_len <= sizeof(p->name)) {
            p->name_len++;
        }

        return HELICONE_OK;

    case sw_value_start:
        p->state = sw_value;

        if (c == ' ') {
            return HELICONE_OK;
        }

        /* fall through */

    case sw_value:
        if (c == '\r' || c == '\n') {
            p->state = (c == '\r') ? sw_cr : sw_start;
            return HELICONE_OK;
        }

        helicone_sse_value_byte(p, c);
        return HELICONE_OK;

    case sw_comment:
        if (c == '\r' || c == '\n') {
            p->state = (c == '\r') ? sw_cr : sw_start;
        }

        return HELICONE_OK;

    default:
        /* sw_bom1, sw_bom2: only reached through a corrupted parser */
        p->state = sw_start;
        return HELICONE_OK;
    }
}


/* The field name is complete: the value, if any, follows. */

static void
helicone_sse_field_begin(helicone_sse_parser_t *p)
{
    if (p->name_len == 4 && memcmp(p->name, "data", 4) == 0) {
        p->field = helicone_sse_field_data;

        /* lines of data are joined by LF, none after the last */

        if (p->has_data) {
            helicone_sse_data_byte(p, '\n');
        }

        p->has_data = 1;

    } else if (p->name_len == 5 && memcmp(p->name, "event", 5) == 0) {
        p->field = helicone_sse_field_event;
        p->event_len = 0;

    } else {
        p->field = helicone_sse_field_other;
    }
}


static void
helicone_sse_value_byte(helicone_sse_parser_t *p, unsigned char c)
{
    switch (p->field) {

    case helicone_sse_field_data:
        helicone_sse_data_byte(p, c);
        break;

    case helicone_sse_field_event:
        if (p->event_len < HELICONE_SSE_MAX_EVENT_NAME) {
            p->event[p->event_len++] = c;
        }

        break;

    default:
        break;
    }
}


static void
helicone_sse_data_byte(helicone_sse_parser_t *p, unsigned char c)
{
    helicone_sse_keep(p);

    if (helicone_sse_room(p, 1)) {
        p->buf[p->len++] = c;

    } else {
        p->truncated = 1;
    }
}


/* Room for the data's next bytes: what is left, after growing the
 * buffer towards need more when it can. */

static size_t
helicone_sse_room(helicone_sse_parser_t *p, size_t need)
{
    size_t          size;
    unsigned char  *buf;

    if (p->buf == NULL || p->len > p->cap) {
        return 0;
    }

    if (p->cap - p->len < need && p->grow != NULL && p->cap < p->max) {
        size = (p->cap > p->max / 2) ? p->max : p->cap * 2;

        if (size - p->len < need) {
            size = (p->max - p->len < need) ? p->max : p->len + need;
        }

        buf = p->grow(p->grow_ctx, size);

        if (buf != NULL) {
            memcpy(buf, p->buf, p->len);
            p->buf = buf;
            p->cap = size;
        }
    }

    return p->cap - p->len;
}


/* Data referred to in the feed is copied into the buffer, as it would
 * have been byte by byte. */

static void
helicone_sse_keep(helicone_sse_parser_t *p)
{
    size_t                n, room;
    const unsigned char  *ref;

    if (p->ref == NULL) {
        return;
    }

    ref = p->ref;
    n = p->ref_len;
    p->ref = NULL;
    p->ref_len = 0;

    room = helicone_sse_room(p, n);

    if (n > room) {
        p->truncated = 1;
        n = room;
    }

    memcpy(p->buf + p->len, ref, n);
    p->len += n;
}


/*
 * Value bytes up to (not including) the next line end, kept as the field
 * says: data into the buffer, an event name into its own; returns how
 * many.
 */

static size_t
helicone_sse_value_run(helicone_sse_parser_t *p, const unsigned char *data,
    size_t len)
{
    size_t                n, room;
    const unsigned char  *nl, *cr;

    /* the line ends at the first CR or LF: LF by memchr(), then a CR
     * before it, which streams seldom have */

    nl = memchr(data, '\n', len);
    n = nl ? (size_t) (nl - data) : len;

    cr = memchr(data, '\r', n);

    if (cr) {
        n = (size_t) (cr - data);
    }

    switch (p->field) {

    case helicone_sse_field_data:
        if (p->len == 0 && p->ref == NULL && p->buf != NULL && n <= p->cap) {
            /*
             * The event's first data line: most events are one line,
             * whole in one read, and are dispatched from the feed
             * itself; anything else (a second line, the end of the
             * feed) copies it first.
             */
            p->ref = data;
            p->ref_len = n;
            break;
        }

        helicone_sse_keep(p);

        room = helicone_sse_room(p, n);

        if (n > room) {
            p->truncated = 1;
        }

        if (room) {
            memcpy(p->buf + p->len, data, n < room ? n : room);
            p->len += n < room ? n : room;
        }

        break;

    case helicone_sse_field_event:
        room = HELICONE_SSE_MAX_EVENT_NAME - p->event_len;

        memcpy(p->event + p->event_len, data, n < room ? n : room);
        p->event_len += n < room ? n : room;

        break;

    default:
        break;
    }

    return n;
}


/*
 * At the start of a line: when it begins with "data: " or "event: ",
 * whole in this piece, the field is begun and its value is due; returns
 * the bytes taken, or 0 to leave the line to the byte parser.
 */

static size_t
helicone_sse_field_run(helicone_sse_parser_t *p, const unsigned char *data,
    size_t len)
{
    size_t  n;

    if (len >= 6 && memcmp(data, "data: ", 6) == 0) {
        n = 4;

    } else if (len >= 7 && memcmp(data, "event: ", 7) == 0) {
        n = 5;

    } else {
        return 0;
    }

    memcpy(p->name, data, n);
    p->name_len = n;

    helicone_sse_field_begin(p);

    p->state = sw_value;

    return n + 2;
}


/* A blank line: dispatch the event, if it has data, and start anew. */

static int
helicone_sse_dispatch(helicone_sse_parser_t *p,
    helicone_sse_event_pt handler, void *ctx)
{
    helicone_sse_event_t  ev;

    if (!p->has_data) {
        p->event_len = 0;
        return HELICONE_OK;
    }

    if (p->event_len > HELICONE_SSE_MAX_EVENT_NAME) {
        p->event_len = HELICONE_SSE_MAX_EVENT_NAME;
    }

    if (p->len > p->cap) {
        p->len = p->cap;
    }

    ev.event.data = p->event;
    ev.event.len = p->event_len;

    if (p->ref) {
        ev.data.data = p->ref;
        ev.data.len = p->ref_len;

    } else {
        ev.data.data = p->buf;
        ev.data.len = p->len;
    }
    ev.end = p->feed_pos;
    ev.truncated = p->truncated;

    /* the handler sees the bytes, which stay until the next feed */

    p->len = 0;
    p->ref = NULL;
    p->ref_len = 0;
    p->event_len = 0;
    p->has_data = 0;
    p->truncated = 0;
    p->events++;

    if (handler == NULL) {
        return HELICONE_OK;
    }

    return handler(ctx, &ev);
}
