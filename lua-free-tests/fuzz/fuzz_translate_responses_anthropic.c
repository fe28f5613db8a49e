/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Fuzzing of the Responses <-> Anthropic translators, the stream side
 * above all: whatever the events, no crash, the documented bound holds,
 * every event written is "event: T\ndata: <JSON of type T>\n\n", and the
 * output is the same whole or split, with a growing items buffer or a
 * large one. JSON inputs also go through the request and response
 * translators, whose output must be JSON.
 */

#include <stdlib.h>
#include <string.h>

#include "helicone_translate_responses_anthropic.h"


#define FUZZ_ITEMS_MAX  (1024 * 1024)


typedef struct {
    helicone_responses_stream_t   s;
    helicone_buf_t                out;
    unsigned char                *tmp;
    size_t                        tmp_cap;
} fuzz_stream_t;


static void fuzz_json(const unsigned char *p, size_t len);
static void fuzz_events(const unsigned char *p, size_t len);
static int fuzz_event(void *ctx, const helicone_sse_event_t *ev);
static unsigned char *fuzz_grow(void *ctx, size_t size);
static size_t fuzz_run(const unsigned char *data, size_t size, size_t cut,
    unsigned char *out, size_t cap, size_t items, unsigned char *tmp,
    size_t tmp_cap);


/* the buffers grown during one run, freed after it */
static void    *fuzz_grown[64];
static size_t   fuzz_ngrown;


static void
fuzz_json(const unsigned char *p, size_t len)
{
    helicone_json_value_t  v;

    if (helicone_json_parse(p, len, &v) != HELICONE_OK) {
        abort();
    }
}


/* each event: its name, and data of that type */

static void
fuzz_events(const unsigned char *p, size_t len)
{
    size_t                 n;
    const unsigned char   *end, *nl, *q;
    helicone_json_value_t  v, type;

    end = p + len;

    while (p < end) {
        if ((size_t) (end - p) < 8 || memcmp(p, "event: ", 7) != 0) {
            abort();
        }

        p += 7;
        nl = memchr(p, '\n', (size_t) (end - p));

        if (nl == NULL || (size_t) (end - nl) < 7
            || memcmp(nl, "\ndata: ", 7) != 0)
        {
            abort();
        }

        n = (size_t) (nl - p);
        q = nl + 7;

        while (q + 1 < end && !(q[0] == '\n' && q[1] == '\n')) {
            q++;
        }

        if (q + 1 >= end
            || helicone_json_parse(nl + 7, (size_t) (q - nl - 7), &v)
               != HELICONE_OK
            || helicone_json_object_get(&v, "type", 4, &type) != HELICONE_OK
            || !helicone_json_string_eq(&type, (const char *) p, n))
        {
            abort();
        }

        p = q + 2;
    }
}


static unsigned char *
fuzz_grow(void *ctx, size_t size)
{
    void  *p;

    (void) ctx;

    if (fuzz_ngrown == sizeof(fuzz_grown) / sizeof(fuzz_grown[0])) {
        return NULL;
    }

    p = malloc(size);
    if (p) {
        fuzz_grown[fuzz_ngrown++] = p;
    }

    return p;
}


static int
fuzz_event(void *ctx, const helicone_sse_event_t *ev)
{
    fuzz_stream_t  *fs = ctx;

    size_t          need;
    helicone_buf_t  b;

    need = 2 * ev->data.len + 4096
           + (size_t) (fs->s.items.pos - fs->s.items.start);

    if (need > fs->tmp_cap) {
        return 0;
    }

    helicone_buf_init(&b, fs->tmp, need);

    if (helicone_responses_stream_event(&fs->s, ev, &b) != HELICONE_OK) {
        /* the documented bound must be enough */
        abort();
    }

    fuzz_events(b.start, (size_t) (b.pos - b.start));

    helicone_buf_add(&fs->out, b.start, (size_t) (b.pos - b.start));

    return 0;
}


static size_t
fuzz_run(const unsigned char *data, size_t size, size_t cut,
    unsigned char *out, size_t cap, size_t items, unsigned char *tmp,
    size_t tmp_cap)
{
    size_t                  n;
    unsigned char          *first, sse_buf[4096];
    fuzz_stream_t           fs;
    helicone_sse_parser_t   p;

    first = malloc(items);
    if (first == NULL) {
        return (size_t) -1;
    }

    helicone_sse_init(&p, sse_buf, sizeof(sse_buf));
    helicone_responses_stream_init(&fs.s, 1700000000, first, items,
                                   fuzz_grow, NULL, FUZZ_ITEMS_MAX);
    helicone_buf_init(&fs.out, out, cap);
    fs.tmp = tmp;
    fs.tmp_cap = tmp_cap;

    (void) helicone_sse_feed(&p, data, cut, fuzz_event, &fs);
    (void) helicone_sse_feed(&p, data + cut, size - cut, fuzz_event, &fs);

    n = fs.out.overflow ? (size_t) -1 : (size_t) (fs.out.pos - fs.out.start);

    free(first);

    while (fuzz_ngrown) {
        free(fuzz_grown[--fuzz_ngrown]);
    }

    return n;
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    size_t                      cap, tmp_cap, whole, split;
    const char                 *error;
    unsigned char              *out, *again, *tmp;
    helicone_buf_t              b;
    helicone_usage_t            usage;
    helicone_json_value_t       v;
    helicone_translate_opts_t   opts;

    cap = 8 * size + 65536;
    tmp_cap = 2 * size + 4096 + FUZZ_ITEMS_MAX;

    out = malloc(cap);
    again = malloc(cap);
    tmp = malloc(tmp_cap);

    if (out == NULL || again == NULL || tmp == NULL) {
        goto done;
    }

    if (helicone_json_parse(data, size, &v) == HELICONE_OK) {
        opts.model.data = (const unsigned char *) "claude-x";
        opts.model.len = 8;
        opts.max_tokens = 0;

        helicone_buf_init(&b, out, 2 * size + 4096);
        error = NULL;

        if (helicone_translate_responses_request(&v, &opts, &b, &error)
            == HELICONE_OK)
        {
            fuzz_json(b.start, (size_t) (b.pos - b.start));

        } else if (b.overflow || error == NULL) {
            /* declined requests say why; the bound is enough */
            abort();
        }

        helicone_buf_init(&b, out, 2 * size + 4096);

        if (helicone_translate_responses_response(&v, 1700000000, &b,
                                                  &usage)
            == HELICONE_OK)
        {
            fuzz_json(b.start, (size_t) (b.pos - b.start));

        } else if (b.overflow) {
            abort();
        }
    }

    /* the stream: whole with a large items buffer, then split, growing */

    whole = fuzz_run(data, size, size, out, cap, FUZZ_ITEMS_MAX, tmp,
                     tmp_cap);
    split = fuzz_run(data, size, size ? data[0] % size : 0, again, cap, 16,
                     tmp, tmp_cap);

    if (whole != split
        || (whole != (size_t) -1 && memcmp(out, again, whole) != 0))
    {
        abort();
    }

done:

    free(out);
    free(again);
    free(tmp);

    return 0;
}
