/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Fuzzing of the JSON scanner: validation, look-ups, iteration, string
 * decoding, and escaping (any bytes escaped make a valid JSON string of
 * the predicted length). Differential: members picked while validating
 * are those picked after, and validation agrees either way; the one-pass
 * prefilter of several names answers as one pass a name does; the
 * targeted read of a few members (helicone_json_pick_members()) answers
 * as the validator where it accepts, and gives only valid checked
 * members where it does not.
 */

#include <stdlib.h>
#include <string.h>

#include "helicone_json.h"


static const helicone_str_t  fuzz_names[] = {
    helicone_string("model"), helicone_string("type"),
    helicone_string("a"), helicone_string("")
};

#define FUZZ_NAMES  (sizeof(fuzz_names) / sizeof(fuzz_names[0]))


/* the names a stream chunk is searched for (all of one length) */
static const helicone_str_t  fuzz_chunk_names[] = {
    helicone_string("usage"), helicone_string("error")
};


static void fuzz_same_members(const helicone_json_value_t *got,
    const helicone_json_value_t *want);
static void fuzz_pick_members(const unsigned char *data, size_t size,
    int rc, const helicone_json_value_t *root,
    const helicone_json_value_t *want);


/* the first FUZZ_CHECKED names checked, the others spanned only */
#define FUZZ_CHECKED  2


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int                    rc;
    size_t                 len, n, i;
    unsigned char         *out, *dec;
    helicone_json_iter_t   it;
    helicone_json_value_t  v, k, m, s, r, got[FUZZ_NAMES], want[FUZZ_NAMES];

    out = malloc(6 * size + 2);
    dec = malloc(6 * size + 2);
    if (out == NULL || dec == NULL) {
        free(out);
        free(dec);
        return 0;
    }

    len = helicone_json_escape_len(data, size);
    out[0] = '"';

    if ((size_t) (helicone_json_escape(out + 1, data, size) - out - 1) != len
        || helicone_json_escape_into(out + 1, out + 1 + len, data, size)
           != out + 1 + len)
    {
        abort();
    }

    /* with room to spare (short runs are copied 16 bytes at a time) */
    if (helicone_json_escape_into(dec, dec + 6 * size + 2, data, size)
        != dec + len
        || memcmp(dec, out + 1, len) != 0)
    {
        abort();
    }

    out[len + 1] = '"';

    if (helicone_json_parse(out, len + 2, &s) != HELICONE_OK
        || s.type != HELICONE_JSON_STRING)
    {
        abort();
    }

    n = helicone_json_string_decode(&s, dec);

    if (n == (size_t) -1) {
        abort();
    }

    if (helicone_json_may_have_any(data, size, fuzz_chunk_names, 2)
        != (helicone_json_may_have(data, size, "usage", 5)
            || helicone_json_may_have(data, size, "error", 5)))
    {
        abort();
    }

    rc = helicone_json_parse(data, size, &v);

    if (helicone_json_parse_pick(data, size, &r, fuzz_names, FUZZ_NAMES, got)
        != rc)
    {
        abort();
    }

    if (rc == HELICONE_OK) {
        (void) helicone_json_object_pick(&v, fuzz_names, FUZZ_NAMES, want);
        fuzz_same_members(got, want);
    }

    fuzz_pick_members(data, size, rc, &v, got);

    if (rc == HELICONE_OK) {
        (void) helicone_json_object_get(&v, "model", 5, &m);
        (void) helicone_json_path_get(&v, "usage.prompt_tokens", &m);

        if (helicone_json_iter_init(&it, &v) == HELICONE_OK) {
            while (helicone_json_iter_next(&it, &k, &m) == HELICONE_OK) {
                if (k.type == HELICONE_JSON_STRING) {
                    (void) helicone_json_string_decode(&k, dec);
                }

                if (m.type == HELICONE_JSON_STRING) {
                    (void) helicone_json_string_decode(&m, dec);
                }
            }
        }
    }

    free(out);
    free(dec);

    return 0;
}


static void
fuzz_pick_members(const unsigned char *data, size_t size, int rc,
    const helicone_json_value_t *root, const helicone_json_value_t *want)
{
    int                    fast;
    size_t                 i;
    helicone_json_value_t  r, got[FUZZ_NAMES];

    fast = helicone_json_pick_members(data, size, &r, fuzz_names, FUZZ_NAMES,
                                      FUZZ_CHECKED, got);

    if (rc == HELICONE_OK && root->type == HELICONE_JSON_OBJECT) {
        /* a valid object: the validator's answer, member for member */
        if (fast != HELICONE_OK || r.start != root->start
            || r.len != root->len)
        {
            abort();
        }

        fuzz_same_members(got, want);

        return;
    }

    if (fast == HELICONE_ERROR) {
        for (i = 0; i < FUZZ_NAMES; i++) {
            if (got[i].type != HELICONE_JSON_INVALID) {
                abort();
            }
        }

        return;
    }

    /* accepted where the validator refused: a fault left unread, and
     * what was checked is sound */

    if (rc == HELICONE_OK || r.type != HELICONE_JSON_OBJECT) {
        abort();
    }

    for (i = 0; i < FUZZ_CHECKED; i++) {
        if (got[i].type != HELICONE_JSON_INVALID
            && helicone_json_parse(got[i].start, got[i].len, NULL)
               != HELICONE_OK)
        {
            abort();
        }
    }

    for (i = 0; i < FUZZ_NAMES; i++) {
        if (got[i].type != HELICONE_JSON_INVALID
            && (got[i].start < data || got[i].len == 0
                || got[i].start + got[i].len > data + size))
        {
            abort();
        }
    }
}


/* the same members found, at the same places */

static void
fuzz_same_members(const helicone_json_value_t *got,
    const helicone_json_value_t *want)
{
    size_t  i;

    for (i = 0; i < FUZZ_NAMES; i++) {
        if (got[i].type != want[i].type
            || (want[i].type != HELICONE_JSON_INVALID
                && (got[i].start != want[i].start
                    || got[i].len != want[i].len)))
        {
            abort();
        }
    }
}
