/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Fuzzing of the body rewriter and the JSON compactor: for any valid
 * JSON object, the rewritten body stays valid JSON within its bound.
 */

#include <stdlib.h>
#include <string.h>

#include "helicone_rewrite.h"


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int                      injected;
    size_t                   len, cap;
    unsigned char           *out;
    helicone_str_t           skip[2];
    helicone_json_value_t    root, check, over;
    helicone_rewrite_opts_t  opts;

    if (helicone_json_parse(data, size, &root) != HELICONE_OK
        || root.type != HELICONE_JSON_OBJECT)
    {
        return 0;
    }

    memset(&opts, 0, sizeof(opts));
    opts.model.data = (const unsigned char *) "gpt-\"x\"\\\n";
    opts.model.len = 9;
    opts.include_usage = size & 1;

    cap = helicone_rewrite_size(&root, &opts);

    out = malloc(cap + root.len * 2 + 16);
    if (out == NULL) {
        return 0;
    }

    if (helicone_rewrite_request(&root, &opts, out, &len, &injected)
        == HELICONE_OK)
    {
        if (len > cap || helicone_json_parse(out, len, &check) != HELICONE_OK)
        {
            abort();
        }
    }

    skip[0].data = (const unsigned char *) "model";
    skip[0].len = 5;
    skip[1].data = (const unsigned char *) "stream";
    skip[1].len = 6;

    len = helicone_json_compact(&root, skip, 2, out);

    if (len > root.len || helicone_json_parse(out, len, &check) != HELICONE_OK)
    {
        abort();
    }

    /* the body as its own override set */
    over = root;

    if (helicone_rewrite_members(&root, &over, out, &len) == HELICONE_OK
        && (len > 2 * root.len + 2
            || helicone_json_parse(out, len, &check) != HELICONE_OK))
    {
        abort();
    }

    free(out);

    return 0;
}
