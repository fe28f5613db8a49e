/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Differential fuzzing of the SSE parser: the input fed whole must give
 * the same events, byte for byte and at the same offsets, as the input
 * fed in pieces cut where the input's first bytes say.
 */

#include <stdlib.h>
#include <string.h>

#include "helicone_sse.h"


#define FUZZ_EVENTS  256
#define FUZZ_DATA    (64 * 1024)


typedef struct {
    size_t          n;
    size_t          base;
    size_t          end[FUZZ_EVENTS];
    size_t          len[FUZZ_EVENTS];
    unsigned        truncated[FUZZ_EVENTS];
    unsigned long   sum[FUZZ_EVENTS];
} fuzz_record_t;


static int fuzz_event(void *ctx, const helicone_sse_event_t *ev);
static void fuzz_run(const unsigned char *in, size_t len, const size_t *cuts,
    size_t ncuts, size_t cap, fuzz_record_t *rec, int *finish);


static int
fuzz_event(void *ctx, const helicone_sse_event_t *ev)
{
    size_t          i;
    unsigned long   sum;
    fuzz_record_t  *r = ctx;

    if (r->n == FUZZ_EVENTS) {
        return 0;
    }

    sum = 5381;

    for (i = 0; i < ev->data.len; i++) {
        sum = sum * 33 + ev->data.data[i];
    }

    for (i = 0; i < ev->event.len; i++) {
        sum = sum * 31 + ev->event.data[i];
    }

    r->end[r->n] = r->base + ev->end;
    r->len[r->n] = ev->data.len;
    r->truncated[r->n] = ev->truncated;
    r->sum[r->n] = sum;
    r->n++;

    return 0;
}


static void
fuzz_run(const unsigned char *in, size_t len, const size_t *cuts,
    size_t ncuts, size_t cap, fuzz_record_t *rec, int *finish)
{
    size_t                  i, from, to;
    unsigned char          *buf;
    helicone_sse_parser_t   p;

    buf = malloc(cap ? cap : 1);
    if (buf == NULL) {
        abort();
    }

    memset(rec, 0, sizeof(fuzz_record_t));
    helicone_sse_init(&p, buf, cap);

    from = 0;

    for (i = 0; i <= ncuts; i++) {
        to = (i < ncuts) ? cuts[i] : len;

        if (to < from) {
            to = from;
        }

        rec->base = from;
        helicone_sse_feed(&p, in + from, to - from, fuzz_event, rec);
        from = to;
    }

    *finish = helicone_sse_finish(&p);

    free(buf);
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int                    f1, f2;
    size_t                 i, ncuts, cuts[8], cap;
    static fuzz_record_t   whole, split;

    if (size < 3) {
        return 0;
    }

    /* the first bytes choose the buffer size and where to cut */
    cap = (size_t) data[0] * 64;
    ncuts = data[1] % 8;
    data += 2;
    size -= 2;

    for (i = 0; i < ncuts; i++) {
        cuts[i] = size ? ((size_t) data[i % size] * 131 + i * 7) % (size + 1)
                       : 0;

        if (i > 0 && cuts[i] < cuts[i - 1]) {
            cuts[i] = cuts[i - 1];
        }
    }

    fuzz_run(data, size, NULL, 0, cap, &whole, &f1);
    fuzz_run(data, size, cuts, ncuts, cap, &split, &f2);

    if (whole.n != split.n || f1 != f2
        || memcmp(whole.end, split.end, whole.n * sizeof(size_t)) != 0
        || memcmp(whole.len, split.len, whole.n * sizeof(size_t)) != 0
        || memcmp(whole.sum, split.sum, whole.n * sizeof(unsigned long)) != 0
        || memcmp(whole.truncated, split.truncated,
                  whole.n * sizeof(unsigned)) != 0)
    {
        abort();
    }

    return 0;
}
