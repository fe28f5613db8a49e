/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Fuzzing of the token-limit rewrites: the first two bytes give the
 * strategy and the limit, the rest is the body. For any valid JSON
 * object and any limit, a rewrite is valid JSON, no longer than the
 * body, within the limit by the same estimate, and keeps the list's
 * items in their order (each a whole element of the client's list).
 */

#include <stdlib.h>
#include <string.h>

#include "helicone_tokenlimit.h"


static helicone_tokenlimit_t  tl, check;


static void
fuzz_order(const helicone_tokenlimit_t *before,
    const helicone_tokenlimit_t *after)
{
    size_t  i, k;

    /* an item kept is the client's, or its rewrite: never longer, in
     * the same order; items that were not rewritten are byte-equal */
    k = 0;

    for (i = 0; i < after->nitems; i++) {
        while (k < before->nitems && before->items[k].dropped) {
            k++;
        }

        if (k == before->nitems
            || after->items[i].value.len > before->items[k].value.len
            || (!before->items[k].changed
                && memcmp(after->items[i].value.start,
                          before->items[k].value.start,
                          before->items[k].value.len) != 0))
        {
            abort();
        }

        k++;
    }
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    size_t                 len;
    unsigned char         *out;
    helicone_json_value_t  root, again;

    if (size < 2
        || helicone_json_parse(data + 2, size - 2, &root) != HELICONE_OK
        || root.type != HELICONE_JSON_OBJECT)
    {
        return 0;
    }

    memset(&tl, 0, sizeof(tl));
    tl.strategy = (data[0] & 1) ? HELICONE_TOKENLIMIT_MIDDLE_OUT
                                : HELICONE_TOKENLIMIT_TRUNCATE;
    tl.per_char = (data[0] & 2) ? HELICONE_TOKENLIMIT_PER_CHAR_GPT35
                                : HELICONE_TOKENLIMIT_PER_CHAR;
    tl.limit = data[1];

    out = malloc(root.len);
    if (out == NULL) {
        return 0;
    }

    if (helicone_tokenlimit_fit(&tl, &root, out, &len) == HELICONE_OK) {
        memset(&check, 0, sizeof(check));
        check.per_char = tl.per_char;

        if (len > root.len
            || helicone_json_parse(out, len, &again) != HELICONE_OK
            || helicone_tokenlimit_estimate(&check, &again) != HELICONE_OK
            || check.estimate > tl.limit
            || check.estimate != tl.result)
        {
            abort();
        }

        fuzz_order(&tl, &check);
    }

    free(out);

    return 0;
}
