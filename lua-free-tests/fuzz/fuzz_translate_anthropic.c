/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Fuzzing of the OpenAI <-> Anthropic translators: whatever the input,
 * no crash, the documented buffer bounds hold, and every output is JSON.
 */

#include <stdlib.h>
#include <string.h>

#include "helicone_translate_anthropic.h"


static void fuzz_check(const unsigned char *p, size_t len);
static int fuzz_stream_event(void *ctx, const helicone_sse_event_t *ev);


static void
fuzz_check(const unsigned char *p, size_t len)
{
    helicone_json_value_t  v;

    if (helicone_json_parse(p, len, &v) != HELICONE_OK) {
        abort();
    }
}


typedef struct {
    helicone_translate_stream_t  s;
    unsigned char               *out;
    size_t                       cap;
} fuzz_stream_t;


static int
fuzz_stream_event(void *ctx, const helicone_sse_event_t *ev)
{
    fuzz_stream_t         *fs = ctx;
    helicone_buf_t         b;
    const unsigned char   *p, *q, *end;

    if (2 * ev->data.len + 2048 > fs->cap) {
        return 0;
    }

    helicone_buf_init(&b, fs->out, 2 * ev->data.len + 2048);

    if (helicone_translate_stream_event(&fs->s, ev, &b) != HELICONE_OK) {
        /* the documented bound must be enough */
        abort();
    }

    /* each "data: <json>\n\n" chunk written is JSON, or [DONE] */
    p = b.start;
    end = b.pos;

    while (p < end) {
        if ((size_t) (end - p) < 8 || memcmp(p, "data: ", 6) != 0) {
            abort();
        }

        p += 6;
        q = p;

        while (q + 1 < end && !(q[0] == '\n' && q[1] == '\n')) {
            q++;
        }

        if (q + 1 >= end) {
            abort();
        }

        if (!(q - p == 6 && memcmp(p, "[DONE]", 6) == 0)) {
            fuzz_check(p, (size_t) (q - p));
        }

        p = q + 2;
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    size_t                      cap;
    const char                 *error;
    unsigned char              *out, sse_buf[4096];
    helicone_buf_t              b;
    fuzz_stream_t               fs;
    helicone_usage_t            usage;
    helicone_json_value_t       v;
    helicone_sse_parser_t       p;
    helicone_translate_opts_t   opts;

    cap = 2 * size + 4096;

    out = malloc(cap);
    if (out == NULL) {
        return 0;
    }

    if (helicone_json_parse(data, size, &v) == HELICONE_OK) {
        opts.model.data = (const unsigned char *) "claude-x";
        opts.model.len = 8;
        opts.max_tokens = 0;

        helicone_buf_init(&b, out, cap);
        error = NULL;

        if (helicone_translate_request(&v, &opts, &b, &error)
            == HELICONE_OK)
        {
            fuzz_check(b.start, (size_t) (b.pos - b.start));

        } else if (b.overflow) {
            abort();
        }

        helicone_buf_init(&b, out, cap);
        helicone_usage_init(&usage);

        if (helicone_translate_response(&v, 1700000000, &b, &usage)
            == HELICONE_OK)
        {
            fuzz_check(b.start, (size_t) (b.pos - b.start));

        } else if (b.overflow) {
            abort();
        }
    }

    helicone_buf_init(&b, out, cap);

    if (helicone_translate_error(data, size, &b) == HELICONE_OK) {
        fuzz_check(b.start, (size_t) (b.pos - b.start));
    }

    /* the same bytes as an Anthropic event stream */
    fs.out = out;
    fs.cap = cap;
    helicone_translate_stream_init(&fs.s, 1700000000, size & 1);
    helicone_sse_init(&p, sse_buf, sizeof(sse_buf));
    helicone_sse_feed(&p, data, size, fuzz_stream_event, &fs);

    free(out);

    return 0;
}
