/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Fuzzing of the JSON scanner: validation, look-ups, iteration, string
 * decoding, and escaping (any bytes escaped make a valid JSON string of
 * the predicted length).
 */

#include <stdlib.h>
#include <string.h>

#include "helicone_json.h"


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    size_t                 len, n;
    unsigned char         *out, *dec;
    helicone_json_iter_t   it;
    helicone_json_value_t  v, k, m, s;

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

    if (helicone_json_parse(data, size, &v) == HELICONE_OK) {
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
