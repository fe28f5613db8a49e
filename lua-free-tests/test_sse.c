/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Tests for core/helicone_sse.c; every fixture is also fed in pieces. */

#include <stdlib.h>
#include <string.h>

#include "helicone_sse.h"
#include "tap.h"


#define MAX_EVENTS     16
#define MAX_DATA       512


typedef struct {
    const char     *event;
    const char     *data;
    int             truncated;
} expect_t;


typedef struct {
    const char     *name;
    const char     *input;
    size_t          len;           /* 0: strlen(input) */
    size_t          cap;           /* data buffer size */
    int             finish;        /* helicone_sse_finish() result */
    size_t          n;
    expect_t        ev[MAX_EVENTS];
} fixture_t;


typedef struct {
    size_t          event_len;
    unsigned char   event[HELICONE_SSE_MAX_EVENT_NAME];
    size_t          data_len;
    unsigned char   data[MAX_DATA];
    int             truncated;
} record_t;


typedef struct {
    size_t          n;
    int             overflow;
    int             finish;
    uint64_t        counted;
    record_t        ev[MAX_EVENTS];
} recorder_t;


static int record(void *ctx, const helicone_sse_event_t *ev);
static void run_pieces(const unsigned char *in, size_t len, size_t cap,
    const size_t *cuts, size_t ncuts, recorder_t *r);
static int same(const recorder_t *a, const recorder_t *b);
static void check_fixture(const fixture_t *f);
static void test_fixtures(void);
static void test_stop(void);
static void test_random(void);
static void test_no_buffer(void);
static void test_idle(void);
static void test_grow(void);
static void test_in_place(void);


static const fixture_t  fixtures[] = {

    { "OpenAI chunks and [DONE]",
      "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n"
      "\n"
      "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,"
      "\"completion_tokens\":2}}\n"
      "\n"
      "data: [DONE]\n"
      "\n",
      0, 256, HELICONE_OK, 3,
      { { "", "{\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}",
          0 },
        { "", "{\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,"
              "\"completion_tokens\":2}}", 0 },
        { "", "[DONE]", 0 } } },

    { "Anthropic event and data lines",
      "event: message_start\n"
      "data: {\"type\":\"message_start\",\"message\":{\"usage\":"
      "{\"input_tokens\":10}}}\n"
      "\n"
      "event: ping\n"
      "data: {\"type\": \"ping\"}\n"
      "\n"
      "event: content_block_delta\n"
      "data: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"a\"}}\n"
      "\n"
      "event: message_stop\n"
      "data: {\"type\":\"message_stop\"}\n"
      "\n",
      0, 256, HELICONE_OK, 4,
      { { "message_start", "{\"type\":\"message_start\",\"message\":"
          "{\"usage\":{\"input_tokens\":10}}}", 0 },
        { "ping", "{\"type\": \"ping\"}", 0 },
        { "content_block_delta", "{\"type\":\"content_block_delta\","
          "\"delta\":{\"text\":\"a\"}}", 0 },
        { "message_stop", "{\"type\":\"message_stop\"}", 0 } } },

    { "CRLF line ends",
      "event: message_start\r\ndata: {\"a\":1}\r\n\r\n"
      "event: message_stop\r\ndata: {}\r\n\r\n",
      0, 256, HELICONE_OK, 2,
      { { "message_start", "{\"a\":1}", 0 },
        { "message_stop", "{}", 0 } } },

    { "CR line ends",
      "event: a\rdata: 1\r\rdata: 2\rdata: 3\r\r",
      0, 256, HELICONE_OK, 2,
      { { "a", "1", 0 },
        { "", "2\n3", 0 } } },

    { "mixed line ends",
      "data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\r\n\n",
      0, 256, HELICONE_OK, 2,
      { { "", "a\nb\nc", 0 },
        { "", "d", 0 } } },

    { "CR CR is two line ends",
      "data: x\r\r",
      0, 256, HELICONE_OK, 1,
      { { "", "x", 0 } } },

    { "OpenRouter comments",
      ": OPENROUTER PROCESSING\n\n"
      ": OPENROUTER PROCESSING\n\n"
      "data: {\"x\":1}\n\n"
      ":\n\n"
      "data: [DONE]\n\n",
      0, 256, HELICONE_OK, 2,
      { { "", "{\"x\":1}", 0 },
        { "", "[DONE]", 0 } } },

    { "comment inside an event",
      "data: a\n: keep-alive\ndata: b\n\n",
      0, 256, HELICONE_OK, 1,
      { { "", "a\nb", 0 } } },

    { "multi-line data",
      "data: line1\ndata: line2\ndata:\ndata:  two spaces\ndata:\tx\n\n",
      0, 256, HELICONE_OK, 1,
      { { "", "line1\nline2\n\n two spaces\n\tx", 0 } } },

    { "value without space, value with colons",
      "data:x\n\ndata: a: b:c\n\n",
      0, 256, HELICONE_OK, 2,
      { { "", "x", 0 },
        { "", "a: b:c", 0 } } },

    { "missing trailing blank line",
      "data: a\n\ndata: b\n",
      0, 256, HELICONE_AGAIN, 1,
      { { "", "a", 0 } } },

    { "missing final line end",
      "data: a\n\ndata: b",
      0, 256, HELICONE_AGAIN, 1,
      { { "", "a", 0 } } },

    { "stream ends inside a comment",
      "data: a\n\n: ping",
      0, 256, HELICONE_AGAIN, 1,
      { { "", "a", 0 } } },

    { "stream ends after an event line",
      "data: a\n\nevent: message_stop\n",
      0, 256, HELICONE_AGAIN, 1,
      { { "", "a", 0 } } },

    { "stream ends after id and comment lines",
      "data: a\n\nid: 7\n: x\n",
      0, 256, HELICONE_OK, 1,
      { { "", "a", 0 } } },

    { "BOM at stream start",
      "\xef\xbb\xbf" "data: x\n\n",
      0, 256, HELICONE_OK, 1,
      { { "", "x", 0 } } },

    { "BOM only once",
      "\xef\xbb\xbf\xef\xbb\xbf" "data: x\n\ndata: y\n\n",
      0, 256, HELICONE_OK, 1,
      { { "", "y", 0 } } },

    { "partial BOM is part of the first line",
      "\xef\xbb" "data: x\n\ndata: y\n\n",
      0, 256, HELICONE_OK, 1,
      { { "", "y", 0 } } },

    { "BOM alone",
      "\xef\xbb\xbf",
      0, 256, HELICONE_OK, 0, { { NULL, NULL, 0 } } },

    { "partial BOM alone",
      "\xef\xbb",
      0, 256, HELICONE_AGAIN, 0, { { NULL, NULL, 0 } } },

    { "BOM not at stream start",
      "data: a\n\n\xef\xbb\xbf" "data: b\n\n",
      0, 256, HELICONE_OK, 1,
      { { "", "a", 0 } } },

    { "data longer than the buffer",
      "data: 0123456789\n\ndata: ok\n\n",
      0, 8, HELICONE_OK, 2,
      { { "", "01234567", 1 },
        { "", "ok", 0 } } },

    { "data exactly the buffer",
      "data: ab\ndata: cd\n\n",
      0, 5, HELICONE_OK, 1,
      { { "", "ab\ncd", 0 } } },

    { "separator beyond the buffer",
      "data: ab\ndata: cd\n\n",
      0, 2, HELICONE_OK, 1,
      { { "", "ab", 1 } } },

    { "one byte beyond the buffer",
      "data: ab\ndata: cd\n\n",
      0, 4, HELICONE_OK, 1,
      { { "", "ab\nc", 1 } } },

    { "zero-size buffer",
      "data: ab\n\ndata\n\n",
      0, 0, HELICONE_OK, 2,
      { { "", "", 1 },
        { "", "", 0 } } },

    { "field name without colon",
      "data\n\ndata\ndata\n\n",
      0, 256, HELICONE_OK, 2,
      { { "", "", 0 },
        { "", "\n", 0 } } },

    { "event without data is not dispatched and resets the name",
      "event: foo\n\ndata: x\n\n",
      0, 256, HELICONE_OK, 1,
      { { "", "x", 0 } } },

    { "last event name wins",
      "event: a\nevent: b\ndata: x\n\nevent: c\nevent\ndata: y\n\n",
      0, 256, HELICONE_OK, 2,
      { { "b", "x", 0 },
        { "", "y", 0 } } },

    { "event name after data",
      "data: x\nevent: late\n\n",
      0, 256, HELICONE_OK, 1,
      { { "late", "x", 0 } } },

    { "long event name truncated",
      "event: "
      "0123456789012345678901234567890123456789012345678901234567890123"
      "456789\n"
      "data: x\n\n",
      0, 256, HELICONE_OK, 1,
      { { "0123456789012345678901234567890123456789012345678901234567890123",
          "x", 0 } } },

    { "other fields ignored",
      "id: 5\nretry: 100\nfoo: bar\nDATA: no\nData: no\n"
      "datadatadata: no\ndata : no\n data: no\ndata: yes\n\n",
      0, 256, HELICONE_OK, 1,
      { { "", "yes", 0 } } },

    { "long field names never match",
      "eventeventevent: e\ndata_long_name: d\n"
      "dataaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: d\n\n",
      0, 256, HELICONE_OK, 0, { { NULL, NULL, 0 } } },

    { "blank lines only",
      "\n\r\n\r\n\n",
      0, 256, HELICONE_OK, 0, { { NULL, NULL, 0 } } },

    { "empty input",
      "",
      0, 256, HELICONE_OK, 0, { { NULL, NULL, 0 } } },

    { "NUL bytes in data",
      "data: a\0b\n\n",
      11, 256, HELICONE_OK, 1,
      { { "", "a", 0 } } },    /* checked by length in check_fixture */

    { "Groq final chunk with x_groq",
      "data: {\"choices\":[],\"x_groq\":{\"id\":\"r\",\"usage\":"
      "{\"prompt_tokens\":3}}}\n\ndata: [DONE]\n\n",
      0, 256, HELICONE_OK, 2,
      { { "", "{\"choices\":[],\"x_groq\":{\"id\":\"r\",\"usage\":"
              "{\"prompt_tokens\":3}}}", 0 },
        { "", "[DONE]", 0 } } },

    { "Responses API events",
      "event: response.created\n"
      "data: {\"type\":\"response.created\"}\n\n"
      "event: response.completed\n"
      "data: {\"type\":\"response.completed\",\"response\":{\"usage\":"
      "{\"input_tokens\":1}}}\n\n",
      0, 256, HELICONE_OK, 2,
      { { "response.created", "{\"type\":\"response.created\"}", 0 },
        { "response.completed", "{\"type\":\"response.completed\","
          "\"response\":{\"usage\":{\"input_tokens\":1}}}", 0 } } },
};


static int
record(void *ctx, const helicone_sse_event_t *ev)
{
    record_t    *e;
    recorder_t  *r;

    r = ctx;

    if (r->n == MAX_EVENTS
        || ev->event.len > HELICONE_SSE_MAX_EVENT_NAME
        || ev->data.len > MAX_DATA)
    {
        r->overflow = 1;
        return HELICONE_OK;
    }

    e = &r->ev[r->n++];

    e->event_len = ev->event.len;
    if (ev->event.len) {
        memcpy(e->event, ev->event.data, ev->event.len);
    }

    e->data_len = ev->data.len;
    if (ev->data.len) {
        memcpy(e->data, ev->data.data, ev->data.len);
    }

    e->truncated = ev->truncated;

    return HELICONE_OK;
}


/* Feeds in->len bytes cut at the given offsets, each piece a heap copy. */

static void
run_pieces(const unsigned char *in, size_t len, size_t cap,
    const size_t *cuts, size_t ncuts, recorder_t *r)
{
    int                     rc;
    size_t                  i, from, to;
    unsigned char          *buf, *piece;
    helicone_sse_parser_t   p;

    memset(r, 0, sizeof(recorder_t));

    buf = malloc(cap ? cap : 1);
    if (buf == NULL) {
        abort();
    }

    helicone_sse_init(&p, buf, cap);

    from = 0;

    for (i = 0; i <= ncuts; i++) {
        to = (i < ncuts) ? cuts[i] : len;

        piece = malloc(to - from ? to - from : 1);
        if (piece == NULL) {
            abort();
        }

        memcpy(piece, in + from, to - from);

        rc = helicone_sse_feed(&p, piece, to - from, record, r);
        if (rc != HELICONE_OK) {
            r->overflow = 1;
        }

        free(piece);
        from = to;
    }

    r->finish = helicone_sse_finish(&p);
    r->counted = p.events;

    free(buf);
}


static int
same(const recorder_t *a, const recorder_t *b)
{
    size_t  i;

    if (a->n != b->n || a->overflow != b->overflow || a->finish != b->finish
        || a->counted != b->counted)
    {
        return 0;
    }

    for (i = 0; i < a->n; i++) {
        if (a->ev[i].event_len != b->ev[i].event_len
            || memcmp(a->ev[i].event, b->ev[i].event, a->ev[i].event_len)
            || a->ev[i].data_len != b->ev[i].data_len
            || memcmp(a->ev[i].data, b->ev[i].data, a->ev[i].data_len)
            || a->ev[i].truncated != b->ev[i].truncated)
        {
            return 0;
        }
    }

    return 1;
}


static void
check_fixture(const fixture_t *f)
{
    int                   bad;
    size_t                i, j, len, two[2], *cuts;
    recorder_t           *whole, *split;
    const unsigned char  *in;

    whole = malloc(sizeof(recorder_t));
    split = malloc(sizeof(recorder_t));
    if (whole == NULL || split == NULL) {
        abort();
    }

    in = (const unsigned char *) f->input;
    len = f->len ? f->len : strlen(f->input);

    run_pieces(in, len, f->cap, NULL, 0, whole);

    is_int(whole->n, f->n, f->name);
    is_int(whole->counted, f->n, "  p->events counts them");
    is_int(whole->finish, f->finish, "  finish result");
    ok(!whole->overflow, "  handler saw sane events");

    for (i = 0; i < whole->n && i < f->n; i++) {
        is_mem(whole->ev[i].event, whole->ev[i].event_len,
               f->ev[i].event, strlen(f->ev[i].event), "  event name");

        if (f->len) {
            /* the NUL fixture */
            is_mem(whole->ev[i].data, whole->ev[i].data_len, "a\0b", 3,
                   "  data with NUL");

        } else {
            is_mem(whole->ev[i].data, whole->ev[i].data_len,
                   f->ev[i].data, strlen(f->ev[i].data), "  data");
        }

        is_int(whole->ev[i].truncated, f->ev[i].truncated, "  truncated");
    }

    /* two pieces, cut at every offset */

    bad = 0;

    for (i = 0; i <= len; i++) {
        run_pieces(in, len, f->cap, &i, 1, split);

        if (!same(whole, split)) {
            diag("differs when cut at %lu", (unsigned long) i);
            bad++;
        }
    }

    ok(bad == 0, "  same events when split in two at each of %lu offsets",
       (unsigned long) len + 1);

    /* three pieces, cut at every pair of offsets, for shorter fixtures */

    if (len <= 120) {
        bad = 0;

        for (i = 0; i <= len; i++) {
            for (j = i; j <= len; j++) {
                two[0] = i;
                two[1] = j;

                run_pieces(in, len, f->cap, two, 2, split);

                if (!same(whole, split)) {
                    bad++;
                }
            }
        }

        ok(bad == 0, "  same events when split in three anywhere");
    }

    /* one byte at a time */

    cuts = malloc((len ? len : 1) * sizeof(size_t));
    if (cuts == NULL) {
        abort();
    }

    for (i = 0; i < len; i++) {
        cuts[i] = i;
    }

    run_pieces(in, len, f->cap, cuts, len, split);
    ok(same(whole, split), "  same events when fed one byte at a time");

    free(cuts);
    free(whole);
    free(split);
}


static void
test_fixtures(void)
{
    size_t  i;

    for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        check_fixture(&fixtures[i]);
    }
}


typedef struct {
    int     stop_at;
    int     calls;
} stopper_t;


static int stop(void *ctx, const helicone_sse_event_t *ev);


static int
stop(void *ctx, const helicone_sse_event_t *ev)
{
    stopper_t  *s;

    (void) ev;

    s = ctx;
    s->calls++;

    return (s->calls == s->stop_at) ? 7 : HELICONE_OK;
}


static void
test_stop(void)
{
    int                     rc;
    const char             *in;
    stopper_t               s;
    unsigned char           buf[64];
    helicone_sse_parser_t   p;

    in = "data: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\n";

    helicone_sse_init(&p, buf, sizeof(buf));
    s.stop_at = 2;
    s.calls = 0;

    rc = helicone_sse_feed(&p, (const unsigned char *) in, strlen(in), stop,
                           &s);
    is_int(rc, 7, "handler's nonzero return is returned by feed");
    is_int(s.calls, 2, "  and no further event is dispatched");
    is_int(p.events, 2, "  events counts the stopping one");

    rc = helicone_sse_feed(&p, (const unsigned char *) in, strlen(in), stop,
                           &s);
    ok(rc == HELICONE_OK, "feeding after a stop stays safe");
    (void) helicone_sse_finish(&p);

    helicone_sse_init(&p, buf, sizeof(buf));
    rc = helicone_sse_feed(&p, (const unsigned char *) in, strlen(in), NULL,
                           NULL);
    ok(rc == HELICONE_OK && p.events == 4, "a NULL handler only counts");

    ok(helicone_sse_feed(&p, NULL, 10, NULL, NULL) == HELICONE_OK,
       "NULL data is nothing to feed");
}


static void
test_no_buffer(void)
{
    int                     rc;
    recorder_t             *r;
    helicone_sse_parser_t   p;

    r = calloc(1, sizeof(recorder_t));
    if (r == NULL) {
        abort();
    }

    helicone_sse_init(&p, NULL, 100);
    rc = helicone_sse_feed(&p, (const unsigned char *) "data: abc\n\n", 11,
                           record, r);
    ok(rc == HELICONE_OK && r->n == 1 && r->ev[0].data_len == 0
       && r->ev[0].truncated, "NULL buffer: event dispatched, truncated");

    free(r);
}


/*
 * Random streams over the bytes that matter to the parser, with a small
 * buffer: whole, split at random points and byte by byte must agree.
 */

static void
test_random(void)
{
    int              bad;
    size_t           i, j, len, cap, ncuts, cuts[8];
    uint32_t         seed;
    recorder_t      *whole, *split;
    unsigned char    in[300];

    static const char  alphabet[] = "data:event: \r\n\n\n\r\r:x\xef\xbb\xbf";

    whole = malloc(sizeof(recorder_t));
    split = malloc(sizeof(recorder_t));
    if (whole == NULL || split == NULL) {
        abort();
    }

    seed = 12345;
    bad = 0;

    for (i = 0; i < 3000; i++) {
        seed = seed * 1103515245u + 12345u;
        len = (seed >> 8) % sizeof(in);

        for (j = 0; j < len; j++) {
            seed = seed * 1103515245u + 12345u;
            in[j] = (unsigned char) alphabet[(seed >> 8)
                                             % (sizeof(alphabet) - 1)];
        }

        seed = seed * 1103515245u + 12345u;
        cap = (seed >> 8) % 24;

        run_pieces(in, len, cap, NULL, 0, whole);

        seed = seed * 1103515245u + 12345u;
        ncuts = (seed >> 8) % 8;

        for (j = 0; j < ncuts; j++) {
            seed = seed * 1103515245u + 12345u;
            cuts[j] = len ? (seed >> 8) % (len + 1) : 0;

            if (j > 0 && cuts[j] < cuts[j - 1]) {
                cuts[j] = cuts[j - 1];
            }
        }

        run_pieces(in, len, cap, cuts, ncuts, split);

        if (!same(whole, split)) {
            bad++;
        }
    }

    is_int(bad, 0, "3000 random streams: split feeds agree with whole");

    free(whole);
    free(split);
}


/* ev->end: where in the feed each event ended, for cutting raw events */

typedef struct {
    size_t          base;          /* absolute offset of the feed */
    size_t          n;
    size_t          ends[8];
} ends_t;


static int
record_end(void *ctx, const helicone_sse_event_t *ev)
{
    ends_t  *e = ctx;

    if (e->n < 8) {
        e->ends[e->n++] = e->base + ev->end;
    }

    return 0;
}


static void
test_event_ends(void)
{
    int                     bad;
    size_t                  i, len, cut;
    ends_t                  whole, split;
    unsigned char           buf[64];
    helicone_sse_parser_t   p;

    static const char  in[] = "data: a\n\ndata: b\r\n\r\n: c\n\n"
                              "event: x\ndata: d\r\rdata: e\n\n";

    len = sizeof(in) - 1;

    memset(&whole, 0, sizeof(ends_t));
    helicone_sse_init(&p, buf, sizeof(buf));
    helicone_sse_feed(&p, (const unsigned char *) in, len, record_end, &whole);

    is_int((int) whole.n, 4, "ends: four events");
    ok(whole.n == 4 && whole.ends[0] == 9 && whole.ends[1] == 19
       && whole.ends[2] == 43 && whole.ends[3] == len,
       "ends: at the byte that completed each event");

    bad = 0;

    for (cut = 0; cut <= len; cut++) {
        memset(&split, 0, sizeof(ends_t));
        helicone_sse_init(&p, buf, sizeof(buf));

        helicone_sse_feed(&p, (const unsigned char *) in, cut, record_end,
                          &split);
        split.base = cut;
        helicone_sse_feed(&p, (const unsigned char *) in + cut, len - cut,
                          record_end, &split);

        if (split.n != whole.n) {
            bad++;
            continue;
        }

        for (i = 0; i < whole.n; i++) {
            if (split.ends[i] != whole.ends[i]) {
                bad++;
            }
        }
    }

    is_int(bad, 0, "ends: the same absolute offsets for every split");
}


/* idle after each prefix of a stream: only between events */

static void
test_idle(void)
{
    size_t                  i, k, len, bad;
    unsigned char           buf[64];
    helicone_sse_parser_t   p;

    /* idle[k]: after the first k bytes, idle ('1') or not ('0') */
    static const struct {
        const char  *name;
        const char  *in;
        const char  *idle;
    } cases[] = {
        { "idle: a comment", ": ping\n\n", "100000011" },
        { "idle: an event", "data: a\n\n", "1000000001" },
        { "idle: a name, no data", "event: x\n\n", "10000000001" },
        { "idle: an id line, then an event", "id: 5\ndata: b\n\n",
          "1000001000000001" },
        { "idle: CRLF", "data: c\r\n\r\n", "100000000011" },
        { "idle: a BOM, a comment", "\xef\xbb\xbf: c\n", "10010001" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        len = strlen(cases[i].in);
        bad = (strlen(cases[i].idle) != len + 1);

        helicone_sse_init(&p, buf, sizeof(buf));

        for (k = 0; !bad && k <= len; k++) {
            if (k > 0) {
                helicone_sse_feed(&p, (const unsigned char *) cases[i].in
                                  + k - 1, 1, NULL, NULL);
            }

            if (helicone_sse_idle(&p) != (cases[i].idle[k] == '1')) {
                bad++;
            }
        }

        is_int((int) bad, 0, cases[i].name);
    }

    /* whole, not byte by byte: the same at the end */
    helicone_sse_init(&p, buf, sizeof(buf));
    helicone_sse_feed(&p, (const unsigned char *) ": a\n\ndata: x", 12,
                      NULL, NULL);
    ok(!helicone_sse_idle(&p), "idle: not inside an event fed whole");
}


/* grow(): malloc'd buffers, all freed at the end; NULL after "left" */

typedef struct {
    unsigned char  *bufs[64];
    size_t          n;
    size_t          left;
} grower_t;


static unsigned char *
grow(void *ctx, size_t size)
{
    grower_t       *g = ctx;
    unsigned char  *b;

    if (g->left == 0 || g->n == sizeof(g->bufs) / sizeof(g->bufs[0])) {
        return NULL;
    }

    b = malloc(size);
    if (b == NULL) {
        abort();
    }

    g->left--;
    g->bufs[g->n++] = b;

    return b;
}


static void
grower_free(grower_t *g)
{
    while (g->n) {
        free(g->bufs[--g->n]);
    }
}


/* the last event's data, whole up to 1100 bytes */

typedef struct {
    size_t          len;
    int             truncated;
    unsigned char   data[1100];
} last_event_t;


static int
record_last(void *ctx, const helicone_sse_event_t *ev)
{
    last_event_t  *r = ctx;

    r->len = ev->data.len < sizeof(r->data) ? ev->data.len
                                            : sizeof(r->data);
    memcpy(r->data, ev->data.data, r->len);
    r->truncated = ev->truncated;

    return 0;
}


/* data longer than the buffer: grown whole, or cut at max */

static void
test_grow(void)
{
    size_t                  i, len, step, bad;
    last_event_t           *r;
    grower_t                g;
    unsigned char           buf[16], in[1200];
    helicone_sse_parser_t   p;

    r = calloc(1, sizeof(last_event_t));
    if (r == NULL) {
        abort();
    }

    memcpy(in, "data: ", 6);

    for (i = 6; i < 1006; i++) {
        in[i] = (unsigned char) ('a' + i % 26);
    }

    memcpy(in + 1006, "\n\n", 2);
    len = 1008;

    /* fed whole, and one byte, then 7 bytes at a time */
    for (step = 0; step < 3; step++) {
        size_t  piece = step == 0 ? len : step == 1 ? 1 : 7;

        memset(&g, 0, sizeof(grower_t));
        g.left = 64;
        memset(r, 0, sizeof(last_event_t));

        helicone_sse_init(&p, buf, sizeof(buf));
        helicone_sse_set_grow(&p, grow, &g, 4096);

        for (i = 0; i < len; i += piece) {
            helicone_sse_feed(&p, in + i, len - i < piece ? len - i : piece,
                              record_last, r);
        }

        bad = (r->len != 1000 || r->truncated
               || memcmp(r->data, in + 6, 1000) != 0);

        is_int((int) bad, 0, step == 0 ? "grow: 1000 bytes of data, whole"
                             : step == 1 ? "grow: the same byte by byte"
                             : "grow: the same 7 bytes at a time");
        ok(p.cap <= 4096 && g.n >= 1 && g.n <= 8,
           "grow:   doubling, a few times");

        grower_free(&g);
    }

    /* up to max only: the event is truncated there */
    memset(&g, 0, sizeof(grower_t));
    g.left = 64;
    memset(r, 0, sizeof(last_event_t));

    helicone_sse_init(&p, buf, sizeof(buf));
    helicone_sse_set_grow(&p, grow, &g, 100);
    helicone_sse_feed(&p, in, len, record_last, r);

    ok(r->len == 100 && r->truncated && memcmp(r->data, in + 6, 100) == 0,
       "grow: no further than max, then truncated");
    grower_free(&g);

    /* grow() failing: as without it */
    memset(&g, 0, sizeof(grower_t));
    memset(r, 0, sizeof(last_event_t));

    helicone_sse_init(&p, buf, sizeof(buf));
    helicone_sse_set_grow(&p, grow, &g, 4096);
    helicone_sse_feed(&p, in, len, record_last, r);

    ok(r->len == sizeof(buf) && r->truncated,
       "grow: a failed grow truncates at the buffer");

    free(r);
}


/*
 * The fast path: an event of one data line whole in a feed is handed
 * over from the feed itself, any other from the parser's buffer. The
 * events' bytes are compared with a feed one byte at a time (all
 * copies) in check_fixture() and test_random(); here, which way each
 * took.
 */

typedef struct {
    const unsigned char  *from;
    const unsigned char  *to;
    size_t                n;
    int                   in_feed[8];
    size_t                len[8];
} placer_t;


static int place(void *ctx, const helicone_sse_event_t *ev);


static int
place(void *ctx, const helicone_sse_event_t *ev)
{
    placer_t  *pl = ctx;

    if (pl->n < 8) {
        pl->in_feed[pl->n] = (ev->data.data >= pl->from
                              && ev->data.data < pl->to);
        pl->len[pl->n] = ev->data.len;
        pl->n++;
    }

    return 0;
}


static void
test_in_place(void)
{
    size_t                  len;
    placer_t                pl;
    unsigned char           buf[16];
    helicone_sse_parser_t   p;

    static const char  in[] =
        "data: {\"a\":1}\n\n"              /* one line: in the feed */
        "data: a\ndata: b\n\n"               /* two lines: copied */
        "event: x\ndata: c\nid: 7\n\n"        /* one data line */
        "data:d\n\n"                         /* no space: byte path */
        "data: 0123456789abcdefXYZ\n\n"       /* longer than the buffer */
        "data: e\n";                          /* unfinished */

    len = sizeof(in) - 1;

    memset(&pl, 0, sizeof(placer_t));
    pl.from = (const unsigned char *) in;
    pl.to = pl.from + len;

    helicone_sse_init(&p, buf, sizeof(buf));
    (void) helicone_sse_feed(&p, pl.from, len, place, &pl);

    is_int(pl.n, 5, "in place: five events dispatched");
    ok(pl.in_feed[0] && pl.len[0] == 7, "  one line: data from the feed");
    ok(!pl.in_feed[1] && pl.len[1] == 3, "  two lines: data copied, joined");
    ok(pl.in_feed[2] && pl.len[2] == 1, "  a named event: from the feed");
    ok(!pl.in_feed[3] && pl.len[3] == 1, "  no space: copied");
    ok(!pl.in_feed[4] && pl.len[4] == sizeof(buf),
       "  longer than the buffer: copied, cut at its size");
    ok(p.ref == NULL && p.len == 1 && buf[0] == 'e',
       "  an event begun is copied before the feed returns");
}


int
main(void)
{
    test_fixtures();
    test_stop();
    test_no_buffer();
    test_random();
    test_event_ends();
    test_idle();
    test_grow();
    test_in_place();

    return done_testing();
}
