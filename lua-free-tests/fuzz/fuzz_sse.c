/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Differential fuzzing of the SSE parser: the input fed whole must give
 * the same events, byte for byte and at the same offsets, as the input
 * fed in pieces cut where the input's first bytes say; the pieces go to
 * a parser whose buffer starts small and grows up to the size the whole
 * run's buffer has, which must change nothing either.
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


typedef struct {
    unsigned char  *bufs[64];
    size_t          n;
} fuzz_grower_t;


static int fuzz_event(void *ctx, const helicone_sse_event_t *ev);
static unsigned char *fuzz_grow(void *ctx, size_t size);
static void fuzz_run(const unsigned char *in, size_t len, const size_t *cuts,
    size_t ncuts, size_t cap, int grow, fuzz_record_t *rec, int *finish);


static unsigned char *
fuzz_grow(void *ctx, size_t size)
{
    fuzz_grower_t  *g = ctx;

    if (g->n == sizeof(g->bufs) / sizeof(g->bufs[0])) {
        abort();
    }

    g->bufs[g->n] = malloc(size);
    if (g->bufs[g->n] == NULL) {
        abort();
    }

    return g->bufs[g->n++];
}


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
    size_t ncuts, size_t cap, int grow, fuzz_record_t *rec, int *finish)
{
    size_t                  i, from, to, first;
    unsigned char          *buf, *piece;
    fuzz_grower_t           g;
    helicone_sse_parser_t   p;

    /* growing: from a few bytes up to cap */
    first = (grow && cap > 16) ? 16 : cap;

    buf = malloc(first ? first : 1);
    if (buf == NULL) {
        abort();
    }

    memset(rec, 0, sizeof(fuzz_record_t));
    g.n = 0;
    helicone_sse_init(&p, buf, first);

    if (grow) {
        helicone_sse_set_grow(&p, fuzz_grow, &g, cap);
    }

    from = 0;

    for (i = 0; i <= ncuts; i++) {
        to = (i < ncuts) ? cuts[i] : len;

        if (to < from) {
            to = from;
        }

        /* each piece a heap copy freed after its feed: data the parser
         * kept referring to would be read after free */
        piece = malloc(to - from ? to - from : 1);
        if (piece == NULL) {
            abort();
        }

        memcpy(piece, in + from, to - from);

        rec->base = from;
        helicone_sse_feed(&p, piece, to - from, fuzz_event, rec);
        free(piece);
        from = to;
    }

    *finish = helicone_sse_finish(&p);

    free(buf);

    while (g.n) {
        free(g.bufs[--g.n]);
    }
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

    fuzz_run(data, size, NULL, 0, cap, 0, &whole, &f1);
    fuzz_run(data, size, cuts, ncuts, cap, 1, &split, &f2);

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
