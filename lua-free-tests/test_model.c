/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Tests for core/helicone_model.c: model strings and provider splits. */

#include <string.h>

#include "helicone_model.h"
#include "tap.h"


typedef struct {
    const char  *model;
    const char  *provider;
    const char  *deployment;
    int          exclude;
    int          online;
} want_t;


static int is_provider(void *ctx, const unsigned char *name, size_t len);
static void check(const char *s, int rc, size_t n, const want_t *w,
    helicone_model_provider_pt pp);
static void test_split(void);
static void test_lists(void);
static void test_errors(void);
static void test_segment(void);


static int
is_provider(void *ctx, const unsigned char *name, size_t len)
{
    size_t  i;

    static const char  *known[] = {
        "openai", "anthropic", "azure", "groq", "openrouter", "bedrock",
        "vertex"
    };

    (*(int *) ctx)++;

    for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strlen(known[i]) == len && memcmp(known[i], name, len) == 0) {
            return 1;
        }
    }

    return 0;
}


static void
check(const char *s, int rc, size_t n, const want_t *w,
    helicone_model_provider_pt pp)
{
    int                     calls;
    size_t                  i, got;
    helicone_model_entry_t  e[HELICONE_MODEL_MAX_ENTRIES];

    calls = 0;
    got = 99;

    is_int(helicone_model_parse((const unsigned char *) s, strlen(s), e,
                                HELICONE_MODEL_MAX_ENTRIES, &got, pp,
                                &calls),
           rc, s);

    if (rc != HELICONE_OK) {
        is_int(got, 0, "  no entries on error");
        return;
    }

    is_int(got, n, "  entries");

    for (i = 0; i < n && i < got; i++) {
        is_mem(e[i].model.data, e[i].model.len, w[i].model,
               strlen(w[i].model), "  model");
        is_mem(e[i].provider.data, e[i].provider.len, w[i].provider,
               strlen(w[i].provider), "  provider");
        is_mem(e[i].deployment.data, e[i].deployment.len, w[i].deployment,
               strlen(w[i].deployment), "  deployment");
        is_int(e[i].exclude, w[i].exclude, "  exclude");
        is_int(e[i].online, w[i].online, "  online");
    }
}


static void
test_split(void)
{
    static const want_t  plain[] = { { "gpt-4o", "", "", 0, 0 } };
    static const want_t  slash[] = { { "gpt-4o", "openai", "", 0, 0 } };
    static const want_t  org[] = {
        { "meta-llama/llama-3-70b", "", "", 0, 0 }
    };
    static const want_t  org_p[] = {
        { "meta-llama/llama-3-70b", "groq", "", 0, 0 }
    };
    static const want_t  dep[] = {
        { "gpt-4o", "azure", "my-deploy", 0, 0 }
    };
    static const want_t  org_dep[] = {
        { "org/gpt-4o", "azure", "my-deploy", 0, 0 }
    };
    static const want_t  online[] = {
        { "gpt-4o", "openrouter", "", 0, 1 }
    };
    static const want_t  online_org[] = {
        { "openai/gpt-4o", "", "", 0, 1 }
    };
    static const want_t  online_only[] = { { "gpt-4o", "", "", 0, 1 } };
    static const want_t  lead[] = { { "/openai", "", "", 0, 0 } };
    static const want_t  trail[] = { { "gpt-4o/", "", "", 0, 0 } };
    static const want_t  trail2[] = { { "a/openai/", "", "", 0, 0 } };
    static const want_t  dbl[] = { { "a/", "openai", "", 0, 0 } };
    static const want_t  lead_dep[] = {
        { "/azure/dep", "", "", 0, 0 }
    };
    static const want_t  prov_only[] = { { "openai", "", "", 0, 0 } };
    static const want_t  dep_slash[] = {
        { "a/azure/b", "openai", "", 0, 0 }
    };
    static const want_t  two_dep[] = {
        { "a/azure/b", "azure", "", 0, 0 }
    };
    static const want_t  dep_last[] = {
        { "x/openai", "azure", "d", 0, 0 }
    };
    static const want_t  excl[] = { { "", "openai", "", 1, 0 } };
    static const want_t  excl_sp[] = { { "", "azure", "", 1, 0 } };
    static const want_t  online_mid[] = {
        { "gpt-4o:online-x", "", "", 0, 0 }
    };

    check("gpt-4o", HELICONE_OK, 1, plain, is_provider);
    check("gpt-4o/openai", HELICONE_OK, 1, slash, is_provider);
    check("meta-llama/llama-3-70b", HELICONE_OK, 1, org, is_provider);
    check("meta-llama/llama-3-70b/groq", HELICONE_OK, 1, org_p, is_provider);
    check("gpt-4o/azure/my-deploy", HELICONE_OK, 1, dep, is_provider);
    check("org/gpt-4o/azure/my-deploy", HELICONE_OK, 1, org_dep, is_provider);
    check("gpt-4o:online/openrouter", HELICONE_OK, 1, online, is_provider);
    check("openai/gpt-4o:online", HELICONE_OK, 1, online_org, is_provider);
    check("gpt-4o:online", HELICONE_OK, 1, online_only, is_provider);
    check("gpt-4o:online-x", HELICONE_OK, 1, online_mid, is_provider);
    check("/openai", HELICONE_OK, 1, lead, is_provider);
    check("gpt-4o/", HELICONE_OK, 1, trail, is_provider);
    check("a/openai/", HELICONE_OK, 1, trail2, is_provider);
    check("a//openai", HELICONE_OK, 1, dbl, is_provider);
    check("/azure/dep", HELICONE_OK, 1, lead_dep, is_provider);
    check("openai", HELICONE_OK, 1, prov_only, is_provider);
    check("a/azure/b/openai", HELICONE_OK, 1, dep_slash, is_provider);
    check("a/azure/b/azure", HELICONE_OK, 1, two_dep, is_provider);
    check("x/openai/azure/d", HELICONE_OK, 1, dep_last, is_provider);
    check("!openai", HELICONE_OK, 1, excl, is_provider);
    check("! azure", HELICONE_OK, 1, excl_sp, is_provider);

    /* without a provider callback a '/' never splits */
    check("gpt-4o/openai", HELICONE_OK, 1,
          (const want_t []) { { "gpt-4o/openai", "", "", 0, 0 } }, NULL);
    check("gpt-4o:online/openai", HELICONE_OK, 1,
          (const want_t []) { { "gpt-4o:online/openai", "", "", 0, 0 } },
          NULL);
    check("m/openai:online", HELICONE_OK, 1,
          (const want_t []) { { "m/openai", "", "", 0, 1 } }, NULL);
}


static void
test_lists(void)
{
    size_t                  i, n;
    char                    s[256];
    helicone_model_entry_t  e[HELICONE_MODEL_MAX_ENTRIES];

    static const want_t  two[] = {
        { "claude-3-5-sonnet", "anthropic", "", 0, 0 },
        { "gpt-4o", "openai", "", 0, 0 }
    };
    static const want_t  trimmed[] = {
        { "gpt-4o", "openai", "", 0, 0 },
        { "x", "", "", 0, 0 },
        { "", "azure", "", 1, 0 }
    };
    static const want_t  mixed[] = {
        { "gpt-4o", "", "", 0, 0 },
        { "", "azure", "", 1, 0 },
        { "llama", "groq", "", 0, 1 }
    };

    check("claude-3-5-sonnet/anthropic,gpt-4o/openai", HELICONE_OK, 2, two,
          is_provider);
    check("\tgpt-4o/openai \t,  x ,!azure  ", HELICONE_OK, 3, trimmed,
          is_provider);
    check("gpt-4o, !azure, llama:online/groq", HELICONE_OK, 3, mixed,
          is_provider);

    /* exactly the maximum, then one more */

    s[0] = '\0';

    for (i = 0; i < HELICONE_MODEL_MAX_ENTRIES; i++) {
        strcat(s, i ? ",m" : "m");
    }

    ok(helicone_model_parse((const unsigned char *) s, strlen(s), e,
                            HELICONE_MODEL_MAX_ENTRIES, &n, NULL, NULL)
       == HELICONE_OK && n == HELICONE_MODEL_MAX_ENTRIES,
       "%d entries fit", HELICONE_MODEL_MAX_ENTRIES);

    strcat(s, ",m");

    n = 99;
    ok(helicone_model_parse((const unsigned char *) s, strlen(s), e,
                            HELICONE_MODEL_MAX_ENTRIES, &n, NULL, NULL)
       == HELICONE_ERROR && n == 0,
       "%d entries are too many", HELICONE_MODEL_MAX_ENTRIES + 1);

    ok(helicone_model_parse((const unsigned char *) "a,b", 3, e, 1, &n, NULL,
                            NULL) == HELICONE_ERROR, "max 1, two entries");
    ok(helicone_model_parse((const unsigned char *) "a", 1, e, 0, &n, NULL,
                            NULL) == HELICONE_ERROR, "max 0");
    ok(helicone_model_parse((const unsigned char *) "a,b", 1, e, 1, &n, NULL,
                            NULL) == HELICONE_OK && n == 1
       && e[0].model.len == 1, "length bounds the string");
}


static void
test_errors(void)
{
    size_t  i;

    static const char  *bad[] = {
        "", " ", " \t ", ",", "a,", ",a", "a,,b", "a, ,b", "!", "! ",
        "gpt-4o,!", ":online", ":online/openai", "a/openai,",
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        check(bad[i], HELICONE_ERROR, 0, NULL, is_provider);
    }

    ok(helicone_model_parse(NULL, 0, NULL, 0, NULL, NULL, NULL)
       == HELICONE_ERROR, "NULL string");
}


static void
test_segment(void)
{
    size_t  i;

    static const char  *good[] = {
        "gpt-4o", "my_deploy.v2", "...", ".a", "a..b", "o1:2024"
    };

    static const char  *bad[] = {
        "", ".", "..", "../x", "a/b", "a\\b", "a%2fb", "a?b", "a#b",
        "a b", "a\tb", "a\x7f", "a\x01"
    };

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ok(helicone_model_segment_ok((const unsigned char *) good[i],
                                     strlen(good[i])) == 1,
           "segment ok: \"%s\"", good[i]);
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ok(helicone_model_segment_ok((const unsigned char *) bad[i],
                                     strlen(bad[i])) == 0,
           "segment refused: #%zu", i);
    }

    ok(helicone_model_segment_ok((const unsigned char *) "a\0b", 3) == 0,
       "segment refused: NUL");
    ok(helicone_model_segment_ok(NULL, 0) == 0, "segment refused: NULL");
}


int
main(void)
{
    test_split();
    test_lists();
    test_errors();
    test_segment();

    return done_testing();
}
