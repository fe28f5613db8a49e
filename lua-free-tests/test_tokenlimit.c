/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Tests for core/helicone_tokenlimit.c: estimate, truncate, middle-out. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helicone_tokenlimit.h"
#include "tap.h"


static helicone_tokenlimit_t *state(helicone_tokenlimit_e strategy,
    uint64_t limit);
static int parse(const char *s, helicone_json_value_t *root);
static int fit(const char *name, const char *body,
    helicone_tokenlimit_e strategy, uint64_t limit, char *out);
static uint64_t estimate(const char *body);
static size_t roles(const char *body, char *out, size_t size);
static int subsequence(const char *small, const char *big);
static size_t together(const char *name, const char *body, const char *a,
    const char *b, const char *c, const char *d);
static void test_strategy(void);
static void test_limit(void);
static void test_estimate(void);
static void test_truncate(void);
static void test_middle_out(void);
static void test_tools_pairs(void);
static void test_characters(void);
static void test_responses(void);
static void test_random(void);


static helicone_tokenlimit_t  *tl;
static helicone_tokenlimit_t  *tl_check;   /* estimate()'s own */


static helicone_tokenlimit_t *
state(helicone_tokenlimit_e strategy, uint64_t limit)
{
    memset(tl, 0, sizeof(*tl));
    tl->strategy = strategy;
    tl->per_char = HELICONE_TOKENLIMIT_PER_CHAR;
    tl->limit = limit;

    return tl;
}


static int
parse(const char *s, helicone_json_value_t *root)
{
    return helicone_json_parse((const unsigned char *) s, strlen(s), root);
}


static uint64_t
estimate(const char *body)
{
    helicone_json_value_t  root;

    if (parse(body, &root) != HELICONE_OK) {
        return (uint64_t) -1;
    }

    memset(tl_check, 0, sizeof(*tl_check));
    tl_check->per_char = HELICONE_TOKENLIMIT_PER_CHAR;
    (void) helicone_tokenlimit_estimate(tl_check, &root);

    return tl_check->estimate;
}


/*
 * Rewrites body into out (NUL-terminated) and checks what every rewrite
 * must give: valid JSON, no longer than the input, within the limit by
 * the same estimate, tl->result telling that estimate. Returns the rc.
 */

static int
fit(const char *name, const char *body, helicone_tokenlimit_e strategy,
    uint64_t limit, char *out)
{
    int                    rc;
    size_t                 len;
    uint64_t               result;
    helicone_json_value_t  root, again;

    if (parse(body, &root) != HELICONE_OK) {
        ok(0, "%s: fixture parses", name);
        return HELICONE_ERROR;
    }

    state(strategy, limit);
    len = 0;

    rc = helicone_tokenlimit_fit(tl, &root, (unsigned char *) out, &len);

    if (rc != HELICONE_OK) {
        out[0] = '\0';
        return rc;
    }

    result = tl->result;
    out[len] = '\0';

    if (len > strlen(body)) {
        ok(0, "%s: the rewrite is longer than the body", name);
    }

    if (parse(out, &again) != HELICONE_OK) {
        ok(0, "%s: the rewrite is no JSON: %s", name, out);
        return HELICONE_ERROR;
    }

    if (estimate(out) > limit || estimate(out) != result) {
        ok(0, "%s: estimate %llu after, %llu said, limit %llu", name,
           (unsigned long long) estimate(out),
           (unsigned long long) result, (unsigned long long) limit);
        return HELICONE_ERROR;
    }

    return rc;
}


/* The roles (or item types) of a body's list, one letter each. */

static size_t
roles(const char *body, char *out, size_t size)
{
    size_t                 n;
    helicone_json_iter_t   it;
    helicone_json_value_t  root, list, key, v, r;

    n = 0;

    if (parse(body, &root) != HELICONE_OK
        || (helicone_json_object_get(&root, "messages", 8, &list)
            != HELICONE_OK
            && helicone_json_object_get(&root, "input", 5, &list)
               != HELICONE_OK)
        || list.type != HELICONE_JSON_ARRAY
        || helicone_json_iter_init(&it, &list) != HELICONE_OK)
    {
        out[0] = '\0';
        return 0;
    }

    while (n + 1 < size && helicone_json_iter_next(&it, &key, &v)
                           == HELICONE_OK)
    {
        if (helicone_json_object_get(&v, "role", 4, &r) == HELICONE_OK
            || helicone_json_object_get(&v, "type", 4, &r) == HELICONE_OK)
        {
            out[n++] = (char) r.start[1];

        } else {
            out[n++] = '?';
        }
    }

    out[n] = '\0';

    return n;
}


static int
subsequence(const char *small, const char *big)
{
    while (*small && *big) {
        if (*small == *big) {
            small++;
        }

        big++;
    }

    return *small == '\0';
}


/*
 * Middle-out of body at every limit from 1 to 200: the number of limits
 * whose rewrite keeps a without b, or b without a (and the same of c and
 * d, unless NULL).
 */

static size_t
together(const char *name, const char *body, const char *a, const char *b,
    const char *c, const char *d)
{
    char    out[16384];
    size_t  i, bad;

    bad = 0;

    for (i = 1; i <= 200; i++) {
        if (fit(name, body, HELICONE_TOKENLIMIT_MIDDLE_OUT, i, out)
            != HELICONE_OK)
        {
            continue;
        }

        if ((strstr(out, a) == NULL) != (strstr(out, b) == NULL)
            || (c && (strstr(out, c) == NULL) != (strstr(out, d) == NULL)))
        {
            bad++;
            diag("%s, limit %zu: %s", name, i, out);
        }
    }

    return bad;
}


static void
test_strategy(void)
{
    size_t  i;

    static const struct {
        const char             *value;
        helicone_tokenlimit_e   expect;
    } cases[] = {
        { "truncate", HELICONE_TOKENLIMIT_TRUNCATE },
        { "TRUNCATE", HELICONE_TOKENLIMIT_TRUNCATE },
        { " Middle-Out\t", HELICONE_TOKENLIMIT_MIDDLE_OUT },
        { "fallback", HELICONE_TOKENLIMIT_FALLBACK },
        { "middle out", HELICONE_TOKENLIMIT_NONE },
        { "truncated", HELICONE_TOKENLIMIT_NONE },
        { "", HELICONE_TOKENLIMIT_NONE },
        { "  ", HELICONE_TOKENLIMIT_NONE },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ok(helicone_tokenlimit_strategy((const unsigned char *)
                                        cases[i].value,
                                        strlen(cases[i].value))
           == cases[i].expect, "strategy \"%s\"", cases[i].value);
    }

    is_str(helicone_tokenlimit_name(HELICONE_TOKENLIMIT_MIDDLE_OUT),
           "middle-out", "strategy name");
}


static void
test_limit(void)
{
    helicone_json_value_t  root;

    parse("{\"max_tokens\":100}", &root);
    is_int(helicone_tokenlimit_limit(1000, &root), 900,
           "limit: context less max_tokens");

    parse("{\"max_completion_tokens\":300,\"max_tokens\":100}", &root);
    is_int(helicone_tokenlimit_limit(1000, &root), 700,
           "limit: max_completion_tokens first");

    parse("{\"max_output_tokens\":50}", &root);
    is_int(helicone_tokenlimit_limit(1000, &root), 950,
           "limit: max_output_tokens (Responses)");

    parse("{\"max_tokens\":0,\"model\":\"x\"}", &root);
    is_int(helicone_tokenlimit_limit(1000, &root), 900,
           "limit: no answer asked: a tenth of the context");

    parse("{\"max_tokens\":\"100\"}", &root);
    is_int(helicone_tokenlimit_limit(1000, &root), 900,
           "limit: a string is no number");

    parse("{\"max_tokens\":5000}", &root);
    is_int(helicone_tokenlimit_limit(1000, &root), 0,
           "limit: the answer fills the context");
}


static void
test_estimate(void)
{
    is_int(estimate("{\"messages\":[{\"role\":\"user\","
                    "\"content\":\"abcd\"}]}"), 1,
           "estimate: 4 characters, 1 token");

    is_int(estimate("{\"messages\":[{\"role\":\"user\","
                    "\"content\":\"abcde\"}]}"), 2,
           "estimate: rounded up");

    is_int(estimate("{\"messages\":[{\"role\":\"user\",\"content\":["
                    "{\"type\":\"text\",\"text\":\"abcd\"},"
                    "{\"type\":\"image_url\",\"image_url\":{\"url\":\"x\"}},"
                    "{\"type\":\"text\",\"text\":\"efgh\"}]}]}"), 2,
           "estimate: text parts count, others not");

    is_int(estimate("{\"messages\":[{\"role\":\"user\","
                    "\"content\":\"\\n\\u00e9\\ud83d\\ude00\xc3\xa9\"}]}"),
           1, "estimate: escapes and UTF-8 are a character each");

    is_int(estimate("{\"tools\":[{\"a\":1}],\"messages\":[]}"), 3,
           "estimate: the JSON of tools counts (9 bytes)");

    is_int(estimate("{\"instructions\":\"abcd\",\"input\":\"efgh\"}"), 2,
           "estimate: Responses instructions and string input");

    is_int(estimate("{\"input\":[{\"role\":\"user\",\"content\":["
                    "{\"type\":\"input_text\",\"text\":\"abcdefgh\"}]},"
                    "{\"type\":\"function_call_output\",\"call_id\":\"c\","
                    "\"output\":\"ijkl\"}]}"), 3,
           "estimate: Responses items and tool output");

    is_int(estimate("{\"model\":\"x\"}"), 0, "estimate: nothing to count");
}


static void
test_truncate(void)
{
    char         *body, out[8192], r1[64], r2[64];
    size_t        i;
    int           rc;

    /* fits already: nothing to do */
    rc = fit("small", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
             HELICONE_TOKENLIMIT_TRUNCATE, 100, out);
    is_int(rc, HELICONE_DECLINED, "truncate: a body that fits is declined");

    /* white space alone is enough */
    rc = fit("folding",
             "{\"messages\":[{\"role\":\"user\",\"content\":"
             "\"  a   b\\n\\n\\tc  \"}],\"model\":\"m\"}",
             HELICONE_TOKENLIMIT_TRUNCATE, 2, out);
    is_int(rc, HELICONE_OK, "truncate: folding fits");
    is_str(out, "{\"messages\":[{\"role\":\"user\",\"content\":\"a b c\"}],"
                "\"model\":\"m\"}", "truncate: white space folded, rest kept");

    /* a long document and a short question: the document is cut */
    body = malloc(8192);
    strcpy(body, "{\"model\":\"m\",\"messages\":[{\"role\":\"system\","
                 "\"content\":\"be brief\"},{\"role\":\"user\",\"content\":\"");
    for (i = 0; i < 400; i++) {
        strcat(body, "word ");
    }
    strcat(body, "\"},{\"role\":\"user\",\"content\":\"summarise it\"}]}");

    rc = fit("document", body, HELICONE_TOKENLIMIT_TRUNCATE, 100, out);
    is_int(rc, HELICONE_OK, "truncate: a long document");
    ok(tl->estimate > 100 && tl->result <= 100, "truncate: %llu -> %llu",
       (unsigned long long) tl->estimate, (unsigned long long) tl->result);
    ok(strstr(out, "\"content\":\"be brief\"") != NULL
       && strstr(out, "\"content\":\"summarise it\"") != NULL,
       "truncate: short texts untouched");
    ok(strstr(out, "\"content\":\"word word") != NULL,
       "truncate: the document keeps its beginning");
    roles(body, r1, sizeof(r1));
    roles(out, r2, sizeof(r2));
    is_str(r2, r1, "truncate: no message dropped");
    is_int(tl->dropped, 0, "truncate: dropped count");
    is_int(tl->cut, 1, "truncate: one text cut");

    /* the tools alone are over the limit */
    rc = fit("tools", "{\"tools\":[{\"type\":\"function\",\"function\":"
                      "{\"name\":\"a_rather_long_name\"}}],\"messages\":"
                      "[{\"role\":\"user\",\"content\":\"hi\"}]}",
             HELICONE_TOKENLIMIT_TRUNCATE, 5, out);
    is_int(rc, HELICONE_ERROR, "truncate: tools alone over the limit");

    free(body);
}


static void
test_middle_out(void)
{
    char    body[16384], out[16384], r[64];
    size_t  i;
    int     rc;

    strcpy(body, "{\"messages\":[{\"role\":\"system\",\"content\":\"S\"}");
    for (i = 0; i < 10; i++) {
        sprintf(body + strlen(body),
                ",{\"role\":\"%s\",\"content\":\"message %zu %s\"}",
                i % 2 ? "assistant" : "user", i,
                "padding padding padding padding padding padding padding");
    }
    strcat(body, ",{\"role\":\"user\",\"content\":\"the question\"}]}");

    rc = fit("middle", body, HELICONE_TOKENLIMIT_MIDDLE_OUT, 80, out);
    is_int(rc, HELICONE_OK, "middle-out: over the limit");
    roles(out, r, sizeof(r));
    ok(r[0] == 's', "middle-out: the system message stays (%s)", r);
    ok(strstr(out, "\"content\":\"the question\"}]") != NULL,
       "middle-out: the last message stays");
    ok(strstr(out, "message 0 ") != NULL && strstr(out, "message 9 ") != NULL,
       "middle-out: the ends stay");
    ok(strstr(out, "message 5 ") == NULL, "middle-out: the middle goes");
    ok(tl->dropped > 0 && tl->cut == 0,
       "middle-out: %zu dropped, none cut", tl->dropped);

    /* one huge last message: nothing to drop, its middle is cut */
    strcpy(body, "{\"messages\":[{\"role\":\"user\",\"content\":\"BEGIN ");
    for (i = 0; i < 300; i++) {
        strcat(body, "filler ");
    }
    strcat(body, "END\"}]}");

    rc = fit("middle text", body, HELICONE_TOKENLIMIT_MIDDLE_OUT, 50, out);
    is_int(rc, HELICONE_OK, "middle-out: one long text");
    ok(strstr(out, "\"BEGIN ") != NULL && strstr(out, " END\"") != NULL,
       "middle-out: beginning and end kept, middle cut");
    is_int(tl->cut, 1, "middle-out: one text cut");
}


/* a tool call and its results go together, or stay together */

static void
test_tools_pairs(void)
{
    int   rc;
    char  out[16384];

    ok(together("pairs",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"q0 "
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"},"
                "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
                "[{\"id\":\"call_1\",\"type\":\"function\",\"function\":"
                "{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
                "{\"role\":\"tool\",\"tool_call_id\":\"call_1\","
                "\"content\":\"RESULT bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"},"
                "{\"role\":\"assistant\",\"content\":\"a1 "
                "cccccccccccccccccccccccccccccc\"},"
                "{\"role\":\"user\",\"content\":\"q2 "
                "dddddddddddddddddddddddddddddd\"}]}",
                "call_1\",\"type\"", "RESULT", NULL, NULL) == 0,
       "middle-out: a tool call never loses its result");

    /* the legacy functions API: "function_call" and a "function" role */
    ok(together("functions",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"q0 "
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"},"
                "{\"role\":\"assistant\",\"content\":null,"
                "\"function_call\":{\"name\":\"f\",\"arguments\":\"{}\"}},"
                "{\"role\":\"function\",\"name\":\"f\","
                "\"content\":\"RESULT bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"},"
                "{\"role\":\"assistant\",\"content\":\"a1 "
                "cccccccccccccccccccccccccccccc\"},"
                "{\"role\":\"user\",\"content\":\"q2 "
                "dddddddddddddddddddddddddddddd\"}]}",
                "function_call", "RESULT", NULL, NULL) == 0,
       "middle-out: a function call never loses its result");

    /* Anthropic's Messages (the proxy modes): tool_use and tool_result
     * blocks in the content */
    ok(together("anthropic",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
                "{\"role\":\"assistant\",\"content\":\"q0 "
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"},"
                "{\"role\":\"user\",\"content\":\"y\"},"
                "{\"role\":\"assistant\",\"content\":[{\"type\":"
                "\"text\",\"text\":\"let me look kkkkkkkkkkkkkkkkkkkk"
                "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\"},{\"type\":"
                "\"tool_use\",\"id\":\"tu_1\",\"name\":\"f\","
                "\"input\":{}}]},"
                "{\"role\":\"user\",\"content\":[{\"type\":"
                "\"tool_result\",\"tool_use_id\":\"tu_1\",\"content\":"
                "[{\"type\":\"text\",\"text\":\"RESULT "
                "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"}]}]},"
                "{\"role\":\"assistant\",\"content\":\"a1 "
                "cccccccccccccccccccccccccccccc\"},"
                "{\"role\":\"user\",\"content\":\"q2 "
                "dddddddddddddddddddddddddddddd\"}]}",
                "\"tool_use\"", "\"tool_result\"", NULL, NULL) == 0,
       "middle-out: a tool_use block never loses its result");

    rc = fit("responses pairs",
             "{\"input\":[{\"role\":\"user\",\"content\":\"q0 xxxxxxxxxxxxxxxx"
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"},"
             "{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"f\","
             "\"arguments\":\"{}\"},"
             "{\"type\":\"function_call\",\"call_id\":\"c2\",\"name\":\"g\","
             "\"arguments\":\"{}\"},"
             "{\"type\":\"function_call_output\",\"call_id\":\"c1\","
             "\"output\":\"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\"},"
             "{\"type\":\"function_call_output\",\"call_id\":\"c2\","
             "\"output\":\"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\"},"
             "{\"role\":\"user\",\"content\":\"q1\"}]}",
             HELICONE_TOKENLIMIT_MIDDLE_OUT, 20, out);
    is_int(rc, HELICONE_OK, "middle-out: Responses items");
    ok(strstr(out, "\"c1\"") == NULL && strstr(out, "\"c2\"") == NULL
       && strstr(out, "q0") != NULL,
       "middle-out: parallel calls and their outputs go together");

    /* OpenAI refuses a reasoning item without the item that follows it,
     * and a function call or message without its reasoning */
    ok(together("reasoning",
                "{\"input\":[{\"role\":\"user\",\"content\":\"q0 "
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"},"
                "{\"type\":\"reasoning\",\"id\":\"rs_1\","
                "\"summary\":[]},"
                "{\"type\":\"function_call\",\"id\":\"fc_1\","
                "\"call_id\":\"c1\",\"name\":\"f\",\"arguments\":\"{}\"},"
                "{\"type\":\"function_call_output\",\"call_id\":\"c1\","
                "\"output\":\"RESULT bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"},"
                "{\"type\":\"reasoning\",\"id\":\"rs_2\","
                "\"summary\":[]},"
                "{\"type\":\"message\",\"id\":\"msg_2\","
                "\"role\":\"assistant\",\"content\":[{\"type\":"
                "\"output_text\",\"text\":\"a1 "
                "cccccccccccccccccccccccccccccc\"}]},"
                "{\"role\":\"user\",\"content\":\"q2 "
                "dddddddddddddddddddddddddddddd\"}]}",
                "rs_1", "fc_1", "rs_2", "msg_2") == 0,
       "middle-out: a reasoning item goes with the next item");

    /* custom, computer and shell tool calls have their outputs too */
    ok(together("custom",
                "{\"input\":[{\"role\":\"user\",\"content\":\"q0 "
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"},"
                "{\"type\":\"custom_tool_call\",\"call_id\":\"c1\","
                "\"name\":\"f\",\"input\":\"x\"},"
                "{\"type\":\"custom_tool_call_output\","
                "\"call_id\":\"c1\","
                "\"output\":\"RESULT bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"},"
                "{\"role\":\"assistant\",\"content\":\"a1 "
                "cccccccccccccccccccccccccccccc\"},"
                "{\"role\":\"user\",\"content\":\"q2 "
                "dddddddddddddddddddddddddddddd\"}]}",
                "\"custom_tool_call\"", "RESULT", NULL, NULL) == 0,
       "middle-out: any Responses tool call keeps its output");
}


/* cuts between characters: UTF-8, escapes and surrogate pairs whole */

static void
test_characters(void)
{
    char          body[4096], out[4096];
    size_t        i, limit;
    int           rc, bad, k;
    const char   *pieces[] = { "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                               "\\u00e9", "\\ud83d\\ude00", "\\\"", "\\\\",
                               "\\n", "x" };
    helicone_tokenlimit_e  strategies[] = { HELICONE_TOKENLIMIT_TRUNCATE,
                                            HELICONE_TOKENLIMIT_MIDDLE_OUT };

    strcpy(body, "{\"messages\":[{\"role\":\"user\",\"content\":\"");
    for (i = 0; i < 90; i++) {
        strcat(body, pieces[i % 9]);
    }
    strcat(body, "\"}]}");

    bad = 0;

    for (k = 0; k < 2; k++) {
        for (limit = 1; limit < estimate(body); limit++) {
            rc = fit("characters", body, strategies[k], limit, out);

            if (rc != HELICONE_OK) {
                bad++;
                diag("limit %zu: rc %d", limit, rc);
                continue;
            }

            /* a lone surrogate escape would be a cut pair */
            if ((strstr(out, "\\ud83d") && !strstr(out, "\\ud83d\\ude00"))
                || (strstr(out, "\\ude00") && !strstr(out, "\\ud83d\\ude00")))
            {
                bad++;
                diag("limit %zu: a pair cut: %s", limit, out);
            }
        }
    }

    ok(bad == 0, "every cut is valid JSON and UTF-8, pairs whole");
}


static void
test_responses(void)
{
    char  body[8192], out[8192];
    int   rc;

    snprintf(body, sizeof(body),
             "{\"model\":\"m\",\"instructions\":\"%s\",\"input\":\"%s\","
             "\"max_output_tokens\":10}",
             "be brief and answer in English please",
             "a question that is rather long for this small a limit, "
             "with more words after the comma than before it");

    rc = fit("responses string", body, HELICONE_TOKENLIMIT_TRUNCATE, 20, out);
    is_int(rc, HELICONE_OK, "Responses: string input truncated");
    ok(strstr(out, "\"max_output_tokens\":10}") != NULL
       && strstr(out, "\"instructions\":\"be brief and answer in English "
                      "please\",\"input\":\"a question that") != NULL,
       "Responses: the rest of the body kept, the long text cut");

    rc = fit("responses middle", body, HELICONE_TOKENLIMIT_MIDDLE_OUT, 20,
             out);
    is_int(rc, HELICONE_OK, "Responses: string input, middle-out");
}


/*
 * Random chat bodies at every limit: each rewrite is valid, within the
 * limit (checked by fit()), and its roles are a subsequence of the
 * client's, in order.
 */

static void
test_random(void)
{
    char          body[8192], out[8192], r1[256], r2[256];
    size_t        n, i, j, words;
    uint64_t      limit, est;
    int           rc, bad, k;
    const char   *roles_[] = { "user", "assistant" };
    const char   *words_[] = { "alpha", "be\\u00e9ta", "  ", "\\n",
                               "\xe2\x82\xac", "\\ud83d\\ude00", "gamma" };

    srand(7);
    bad = 0;

    for (n = 0; n < 150; n++) {
        strcpy(body, "{\"model\":\"m\",\"messages\":[");

        if (rand() % 2) {
            strcat(body, "{\"role\":\"system\",\"content\":\"sys\"},");
        }

        j = 1 + rand() % 8;

        for (i = 0; i < j; i++) {
            sprintf(body + strlen(body), "%s{\"role\":\"%s\",\"content\":\"",
                    i ? "," : "", roles_[i % 2]);

            for (words = rand() % 40; words; words--) {
                strcat(body, words_[rand() % 7]);
                strcat(body, " ");
            }

            strcat(body, "\"}");
        }

        strcat(body, "]}");

        est = estimate(body);
        roles(body, r1, sizeof(r1));

        for (k = 0; k < 2; k++) {
            for (limit = 1; limit <= est + 1; limit += 1 + est / 20) {
                rc = fit("random", body,
                         k ? HELICONE_TOKENLIMIT_MIDDLE_OUT
                           : HELICONE_TOKENLIMIT_TRUNCATE, limit, out);

                if (rc == HELICONE_ERROR) {
                    bad++;
                    diag("body %zu limit %llu: error", n,
                         (unsigned long long) limit);
                    continue;
                }

                if (rc != HELICONE_OK) {
                    continue;
                }

                roles(out, r2, sizeof(r2));

                if (!subsequence(r2, r1)
                    || (k == 0 && strcmp(r1, r2) != 0))
                {
                    bad++;
                    diag("body %zu limit %llu: roles %s -> %s", n,
                         (unsigned long long) limit, r1, r2);
                }
            }
        }
    }

    ok(bad == 0, "random bodies: valid, within the limit, order kept");
}


int
main(void)
{
    tl = malloc(sizeof(helicone_tokenlimit_t));
    tl_check = malloc(sizeof(helicone_tokenlimit_t));
    if (tl == NULL || tl_check == NULL) {
        return 1;
    }

    test_strategy();
    test_limit();
    test_estimate();
    test_truncate();
    test_middle_out();
    test_tools_pairs();
    test_characters();
    test_responses();
    test_random();

    free(tl);
    free(tl_check);

    return done_testing();
}
