/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Tests for core/helicone_rewrite.c: model splice, include_usage. */

#include <stdio.h>
#include <string.h>

#include "helicone_rewrite.h"
#include "tap.h"


static const char *label(const char *name, const char *what);
static void check(const char *name, const char *body, const char *model,
    int usage, int rc, const char *expect, int injected);
static void test_cases(void);
static void test_every_body(void);
static void members(const char *name, const char *body, const char *over,
    const char *expect);
static void test_members(void);


static const char *
label(const char *name, const char *what)
{
    static char  buf[160];

    snprintf(buf, sizeof(buf), "%s: %s", name, what);

    return buf;
}


/* rewrite body, compare with expect (NULL: declined), and re-parse */

static void
check(const char *name, const char *body, const char *model, int usage,
    int rc, const char *expect, int injected)
{
    int                      got, inj;
    size_t                   len;
    unsigned char            out[1024];
    helicone_json_value_t    root, v;
    helicone_rewrite_opts_t  opts;

    if (helicone_json_parse((const unsigned char *) body, strlen(body), &root)
        != HELICONE_OK)
    {
        ok(0, "%s: fixture parses", name);
        return;
    }

    memset(&opts, 0, sizeof(opts));
    opts.model.data = (const unsigned char *) model;
    opts.model.len = model ? strlen(model) : 0;
    opts.include_usage = usage;

    ok(helicone_rewrite_size(&root, &opts) <= sizeof(out),
       "%s: size bound fits the test buffer", name);

    memset(out, 0, sizeof(out));
    len = 0;
    got = helicone_rewrite_request(&root, &opts, out, &len, &inj);

    is_int(got, rc, label(name, "result"));
    is_int(inj, injected, label(name, "injected"));

    if (got != HELICONE_OK) {
        return;
    }

    ok(len <= helicone_rewrite_size(&root, &opts), "%s: within the bound",
       name);
    is_mem(out, len, expect, strlen(expect), label(name, "body"));
    ok(helicone_json_parse(out, len, &root) == HELICONE_OK,
       "%s: still valid JSON", name);

    if (usage) {
        ok(helicone_json_path_get(&root, "stream_options.include_usage", &v)
           == HELICONE_OK && v.type == HELICONE_JSON_TRUE,
           "%s: include_usage is true", name);
    }
}


static void
test_cases(void)
{
    check("model", "{\"model\":\"a\",\"x\":[1, 2]}", "b", 0, HELICONE_OK,
          "{\"model\":\"b\",\"x\":[1, 2]}", 0);

    check("same model", "{\"model\":\"a\"}", "a", 0, HELICONE_DECLINED,
          NULL, 0);

    check("escaped model", "{\"model\" : \"x\"}", "q\"\\\n", 0,
          HELICONE_OK, "{\"model\" : \"q\\\"\\\\\\n\"}", 0);

    check("usage, no options", "{\"model\":\"a\",\"stream\":true}", NULL, 1,
          HELICONE_OK,
          "{\"stream_options\":{\"include_usage\":true},\"model\":\"a\","
          "\"stream\":true}", 1);

    check("usage, empty body", "{ }", NULL, 1, HELICONE_OK,
          "{\"stream_options\":{\"include_usage\":true} }", 1);

    check("usage, empty options", "{\"stream_options\":{ }}", NULL, 1,
          HELICONE_OK,
          "{\"stream_options\":{\"include_usage\":true }}", 1);

    check("usage, other options", "{\"stream_options\":{\"x\":1}}", NULL, 1,
          HELICONE_OK,
          "{\"stream_options\":{\"include_usage\":true,\"x\":1}}", 1);

    check("usage false", "{\"stream_options\":{\"include_usage\":false}}",
          NULL, 1, HELICONE_OK,
          "{\"stream_options\":{\"include_usage\":true}}", 1);

    check("usage asked", "{\"stream_options\":{\"include_usage\":true}}",
          NULL, 1, HELICONE_DECLINED, NULL, 0);

    check("options null", "{\"stream_options\":null,\"m\":1}", NULL, 1,
          HELICONE_OK,
          "{\"stream_options\":{\"include_usage\":true},\"m\":1}", 1);

    check("both, model last",
          "{\"stream_options\":{},\"model\":\"a\"}", "bb", 1, HELICONE_OK,
          "{\"stream_options\":{\"include_usage\":true},\"model\":\"bb\"}",
          1);

    check("both, model first",
          "{\"model\":\"a\",\"stream_options\":{\"include_usage\":0}}", "c",
          1, HELICONE_OK,
          "{\"model\":\"c\",\"stream_options\":{\"include_usage\":true}}", 1);

    check("no model member", "{\"m\":1}", "x", 0, HELICONE_DECLINED, NULL, 0);
}


/* every prefix-valid body shape stays valid JSON after the rewrite */

static void
test_every_body(void)
{
    int                      bad, inj, inj2, rc;
    size_t                   i, j, len, len2;
    unsigned char            out[512], out2[512];
    helicone_json_value_t    root, tmp;
    helicone_rewrite_opts_t  opts;

    static const char  *bodies[] = {
        "{}", "{ }", "{\"model\":\"m\"}", "{\"stream_options\":{}}",
        "{\"stream_options\":[],\"model\":\"m\"}",
        "{\"model\":\"m\",\"stream_options\":{\"include_usage\":null,\"a\":1}}",
        "{\"a\":{\"model\":\"inner\"},\"model\":\"outer\"}",
        "{\"model\":\"m\",\"model\":\"dup\"}",
    };

    static const char  *models[] = { NULL, "m", "new-model", "\x01\"" };

    bad = 0;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        for (j = 0; j < 8; j++) {
            if (helicone_json_parse((const unsigned char *) bodies[i],
                                    strlen(bodies[i]), &root)
                != HELICONE_OK)
            {
                bad++;
                continue;
            }

            memset(&opts, 0, sizeof(opts));
            opts.model.data = (const unsigned char *) models[j % 4];
            opts.model.len = models[j % 4] ? strlen(models[j % 4]) : 0;
            opts.include_usage = j / 4;

            if (helicone_rewrite_size(&root, &opts) > sizeof(out)) {
                bad++;
                continue;
            }

            rc = helicone_rewrite_request(&root, &opts, out, &len, &inj);

            if (rc == HELICONE_OK
                && helicone_json_parse(out, len, &tmp) != HELICONE_OK)
            {
                bad++;
            }

            /* the same with the members found by the caller */
            opts.found = 1;

            if (helicone_json_object_get(&root, "model", 5,
                                         &opts.model_value)
                != HELICONE_OK)
            {
                opts.model_value.type = HELICONE_JSON_INVALID;
            }

            if (helicone_json_object_get(&root, "stream_options", 14,
                                         &opts.stream_options)
                != HELICONE_OK)
            {
                opts.stream_options.type = HELICONE_JSON_INVALID;
            }

            if (helicone_rewrite_request(&root, &opts, out2, &len2, &inj2)
                != rc
                || (rc == HELICONE_OK
                    && (len2 != len || memcmp(out, out2, len) != 0
                        || inj2 != inj)))
            {
                bad++;
            }
        }
    }

    is_int(bad, 0, "every body and option: valid JSON out, found or not");
}


/* bodyKeyOverride: members replaced in place or added */

static void
members(const char *name, const char *body, const char *over,
    const char *expect)
{
    size_t                 len;
    unsigned char          out[512];
    helicone_json_value_t  root, ov, chk;

    if (helicone_json_parse((const unsigned char *) body, strlen(body), &root)
        != HELICONE_OK
        || helicone_json_parse((const unsigned char *) over, strlen(over),
                               &ov)
           != HELICONE_OK)
    {
        ok(0, "%s: fixtures parse", name);
        return;
    }

    if (expect == NULL) {
        ok(helicone_rewrite_members(&root, &ov, out, &len)
           == HELICONE_DECLINED, "%s: nothing to set", name);
        return;
    }

    ok(helicone_rewrite_members(&root, &ov, out, &len) == HELICONE_OK
       && len <= root.len + ov.len + 2, "%s: within the bound", name);
    is_mem(out, len, expect, strlen(expect), label(name, "body"));
    ok(helicone_json_parse(out, len, &chk) == HELICONE_OK,
       "%s: valid JSON", name);
}


static void
test_members(void)
{
    members("replace", "{\"model\":\"a\",\"t\":1}", "{\"model\":\"b\"}",
            "{\"model\":\"b\",\"t\":1}");
    members("add", "{\"t\":1}", "{\"max_tokens\":5}",
            "{\"max_tokens\":5,\"t\":1}");
    members("add to empty", "{ }", "{\"a\":[1],\"b\":{}}",
            "{\"a\":[1],\"b\":{} }");
    members("both, any order", "{\"x\":1,\"y\":2,\"z\":3}",
            "{\"z\":\"Z\",\"new\":null,\"x\":\"X\"}",
            "{\"new\":null,\"x\":\"X\",\"y\":2,\"z\":\"Z\"}");
    members("twice, the last wins", "{\"x\":1}", "{\"x\":2,\"x\":3}",
            "{\"x\":3}");
    members("none", "{\"x\":1}", "{}", NULL);
}


int
main(void)
{
    test_cases();
    test_every_body();
    test_members();

    return done_testing();
}
