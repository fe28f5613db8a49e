/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Fuzzing of the header and policy parsers: rate-limit policies (parse,
 * format, parse again gives the same policy), model strings and path
 * segments, retry values, onCodes, request ids, keys file lines, usage
 * objects, and URLs redacted within the room promised.
 */

#include <stdlib.h>
#include <string.h>

#include "helicone_keys.h"
#include "helicone_model.h"
#include "helicone_policy.h"
#include "helicone_ratelimit.h"
#include "helicone_redact.h"
#include "helicone_usage.h"
#include "helicone_uuid.h"


static int fuzz_provider(void *ctx, const unsigned char *name, size_t len);


static int
fuzz_provider(void *ctx, const unsigned char *name, size_t len)
{
    (void) ctx;

    return (len == 6 && memcmp(name, "openai", 6) == 0)
           || (len == 9 && memcmp(name, "anthropic", 9) == 0);
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    size_t                  n, len;
    uint64_t                u;
    unsigned char           buf[128], sha[32], *out;
    helicone_str_t          org, name;
    helicone_codes_t        codes;
    helicone_usage_t        usage;
    helicone_rl_bucket_t    bucket;
    helicone_json_value_t   v;
    helicone_rl_policy_t    p, q;
    helicone_model_entry_t  entries[HELICONE_MODEL_MAX_ENTRIES];

    if (helicone_rl_parse(data, size, &p) == HELICONE_OK) {
        len = helicone_rl_format(&p, buf);

        if (len > sizeof(buf)
            || helicone_rl_parse(buf, len, &q) != HELICONE_OK
            || q.quota != p.quota || q.window != p.window
            || q.unit != p.unit || q.segment != p.segment)
        {
            abort();
        }

        memset(&bucket, 0, sizeof(bucket));
        (void) helicone_rl_take(&bucket, &p, size, &u, &u);
        helicone_rl_charge(&bucket, &p, size * 7, UINT64_MAX);
        (void) helicone_rl_take(&bucket, &p, size * 1000, &u, &u);
    }

    (void) helicone_model_parse(data, size, entries,
                                HELICONE_MODEL_MAX_ENTRIES, &n,
                                fuzz_provider, NULL);
    (void) helicone_model_segment_ok(data, size);

    /* exactly the room promised: ASan catches a write past it */
    len = helicone_url_redact_size(data, size);
    out = malloc(len ? len : 1);

    if (out == NULL || helicone_url_redact(data, size, out) > len) {
        abort();
    }

    free(out);

    (void) helicone_policy_uint(data, size, &u);
    (void) helicone_policy_factor(data, size, &u);
    (void) helicone_uuid_valid(data, size);
    (void) helicone_keys_parse_line(data, size, sha, &org, &name);

    if (helicone_json_parse(data, size, &v) == HELICONE_OK) {
        (void) helicone_policy_codes(&v, &codes);

        helicone_usage_init(&usage);
        (void) helicone_usage_from_openai(&v, &usage);
        (void) helicone_usage_from_anthropic(&v, &usage);
    }

    return 0;
}
