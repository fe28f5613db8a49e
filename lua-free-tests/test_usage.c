/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Tests for core/helicone_usage.c: OpenAI and Anthropic usage objects. */

#include <string.h>

#include "helicone_usage.h"
#include "tap.h"


typedef struct {
    int64_t     prompt;
    int64_t     completion;
    int64_t     cache_read;
    int64_t     cache_write;
    int64_t     cache_write_5m;
    int64_t     cache_write_1h;
    int64_t     reasoning;
    int64_t     prompt_audio;
    int64_t     completion_audio;
} counts_t;


static int from_text(const char *json, helicone_usage_t *u);
static void check(const char *name, const char *json, int rc,
    const counts_t *c);
static void test_cases(void);
static void test_overwrite(void);
static int anthropic(const char *json, helicone_usage_t *u);
static void check_anthropic(const char *name, const char *json, int rc,
    const counts_t *c, int64_t uncached, int64_t searches);
static void test_anthropic(void);
static void test_anthropic_stream(void);


static int
from_text(const char *json, helicone_usage_t *u)
{
    helicone_json_value_t  doc;

    if (helicone_json_parse((const unsigned char *) json, strlen(json), &doc)
        != HELICONE_OK)
    {
        return HELICONE_ERROR;
    }

    return helicone_usage_from_openai(&doc, u);
}


static void
check(const char *name, const char *json, int rc, const counts_t *c)
{
    helicone_usage_t  u;

    helicone_usage_init(&u);

    is_int(from_text(json, &u), rc, name);
    is_int(u.found, rc == HELICONE_OK, "  found");
    is_int(u.prompt_tokens, c->prompt, "  prompt_tokens");
    is_int(u.completion_tokens, c->completion, "  completion_tokens");
    is_int(u.cache_read_tokens, c->cache_read, "  cache_read_tokens");
    is_int(u.cache_write_tokens, c->cache_write, "  cache_write_tokens");
    is_int(u.cache_write_5m_tokens, c->cache_write_5m,
           "  cache_write_5m_tokens");
    is_int(u.cache_write_1h_tokens, c->cache_write_1h,
           "  cache_write_1h_tokens");
    is_int(u.reasoning_tokens, c->reasoning, "  reasoning_tokens");
    is_int(u.prompt_audio_tokens, c->prompt_audio, "  prompt_audio_tokens");
    is_int(u.completion_audio_tokens, c->completion_audio,
           "  completion_audio_tokens");
}


static void
test_cases(void)
{
    helicone_usage_t  u;

    static const counts_t  none = { -1, -1, -1, -1, -1, -1, -1, -1, -1 };

    static const counts_t  openai = { 19, 10, 0, -1, -1, -1, 0, 0, 0 };
    static const counts_t  chunk = { 12, 34, 8, -1, -1, -1, 20, -1, -1 };
    static const counts_t  escaped = { 12, 34, 8, -1, -1, -1, 20, 1, 2 };
    static const counts_t  groq = { 18, 7, -1, -1, -1, -1, -1, -1, -1 };
    static const counts_t  deepseek = { 100, 50, 64, -1, -1, -1, 30, -1, -1 };
    static const counts_t  both = { 100, 50, 10, -1, -1, -1, -1, -1, -1 };
    static const counts_t  audio = { 500, 300, 128, -1, -1, -1, 64, 200, 150 };
    static const counts_t  resp = { 328, 52, 10, -1, -1, -1, 16, -1, -1 };
    static const counts_t  mixed = { 5, 6, -1, -1, -1, -1, -1, -1, -1 };
    static const counts_t  writes = { 1000, 20, 200, 300, 100, 200,
                                      -1, -1, -1 };
    static const counts_t  odd = { -1, 3, -1, -1, -1, -1, -1, -1, -1 };
    static const counts_t  dup = { 2, -1, -1, -1, -1, -1, -1, -1, -1 };

    check("OpenAI non-stream response",
          "{\"id\":\"chatcmpl-abc\",\"object\":\"chat.completion\","
          "\"created\":1700000000,\"model\":\"gpt-4o-2024-08-06\","
          "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
          "\"content\":\"Hello!\"},\"finish_reason\":\"stop\"}],"
          "\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10,"
          "\"total_tokens\":29,\"prompt_tokens_details\":{\"cached_tokens\":0,"
          "\"audio_tokens\":0},\"completion_tokens_details\":"
          "{\"reasoning_tokens\":0,\"audio_tokens\":0,"
          "\"accepted_prediction_tokens\":0,"
          "\"rejected_prediction_tokens\":0}},"
          "\"system_fingerprint\":\"fp_1\"}",
          HELICONE_OK, &openai);

    check("stream final chunk with choices []",
          "{\"id\":\"chatcmpl-abc\",\"object\":\"chat.completion.chunk\","
          "\"created\":1700000000,\"model\":\"o3-mini\",\"choices\":[],"
          "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":34,"
          "\"total_tokens\":46,\"prompt_tokens_details\":"
          "{\"cached_tokens\":8},\"completion_tokens_details\":"
          "{\"reasoning_tokens\":20}}}",
          HELICONE_OK, &chunk);

    /* escaped names in the details: the same fields, whatever the length */
    check("details with escaped member names",
          "{\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":34,"
          "\"prompt_tokens_details\":{\"cached\\u005ftokens\":8,"
          "\"audio_\\u0074okens\":1},\"completion_tokens_details\":"
          "{\"reasoning_tokens\":20,\"audio_tokens\":2}}}",
          HELICONE_OK, &escaped);

    check("stream chunk with usage null",
          "{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":"
          "{\"content\":\"Hi\"}}],\"usage\":null}",
          HELICONE_DECLINED, &none);

    check("no usage",
          "{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{}}]}",
          HELICONE_DECLINED, &none);

    check("usage not an object",
          "{\"usage\":\"lots\"}",
          HELICONE_DECLINED, &none);

    check("document not an object",
          "[{\"usage\":{\"prompt_tokens\":1}}]",
          HELICONE_DECLINED, &none);

    check("Groq x_groq.usage",
          "{\"id\":\"chatcmpl-g\",\"object\":\"chat.completion.chunk\","
          "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
          "\"x_groq\":{\"id\":\"req_01\",\"usage\":{\"queue_time\":0.03,"
          "\"prompt_tokens\":18,\"prompt_time\":0.0011,"
          "\"completion_tokens\":7,\"completion_time\":0.02,"
          "\"total_tokens\":25,\"total_time\":0.021}}}",
          HELICONE_OK, &groq);

    check("Groq x_groq.usage when usage is null",
          "{\"usage\":null,\"x_groq\":{\"usage\":{\"prompt_tokens\":18,"
          "\"completion_tokens\":7}}}",
          HELICONE_OK, &groq);

    check("usage preferred over x_groq.usage",
          "{\"usage\":{\"prompt_tokens\":18,\"completion_tokens\":7},"
          "\"x_groq\":{\"usage\":{\"prompt_tokens\":1,"
          "\"completion_tokens\":1}}}",
          HELICONE_OK, &groq);

    check("x_groq without usage",
          "{\"x_groq\":{\"id\":\"req_01\"}}",
          HELICONE_DECLINED, &none);

    check("DeepSeek prompt_cache_hit_tokens",
          "{\"id\":\"d\",\"model\":\"deepseek-reasoner\",\"usage\":"
          "{\"prompt_tokens\":100,\"completion_tokens\":50,"
          "\"total_tokens\":150,\"prompt_cache_hit_tokens\":64,"
          "\"prompt_cache_miss_tokens\":36,\"completion_tokens_details\":"
          "{\"reasoning_tokens\":30}}}",
          HELICONE_OK, &deepseek);

    check("cached_tokens preferred over prompt_cache_hit_tokens",
          "{\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":50,"
          "\"prompt_tokens_details\":{\"cached_tokens\":10},"
          "\"prompt_cache_hit_tokens\":64}}",
          HELICONE_OK, &both);

    check("audio, cached and reasoning details",
          "{\"usage\":{\"prompt_tokens\":500,\"completion_tokens\":300,"
          "\"prompt_tokens_details\":{\"cached_tokens\":128,"
          "\"audio_tokens\":200},\"completion_tokens_details\":"
          "{\"reasoning_tokens\":64,\"audio_tokens\":150}}}",
          HELICONE_OK, &audio);

    check("Responses API names",
          "{\"id\":\"resp_1\",\"object\":\"response\",\"usage\":"
          "{\"input_tokens\":328,\"input_tokens_details\":"
          "{\"cached_tokens\":10},\"output_tokens\":52,"
          "\"output_tokens_details\":{\"reasoning_tokens\":16},"
          "\"total_tokens\":380}}",
          HELICONE_OK, &resp);

    check("chat names preferred over Responses API names",
          "{\"usage\":{\"input_tokens\":1,\"output_tokens\":2,"
          "\"prompt_tokens\":5,\"completion_tokens\":6}}",
          HELICONE_OK, &mixed);

    check("Helicone cache write extension",
          "{\"usage\":{\"prompt_tokens\":1000,\"completion_tokens\":20,"
          "\"prompt_tokens_details\":{\"cached_tokens\":200,"
          "\"cache_write_tokens\":300,\"cache_write_details\":"
          "{\"write_5m_tokens\":100,\"write_1h_tokens\":200}}}}",
          HELICONE_OK, &writes);

    check("non-integer counts ignored",
          "{\"usage\":{\"prompt_tokens\":1.5,\"completion_tokens\":3,"
          "\"prompt_tokens_details\":null,"
          "\"completion_tokens_details\":{\"reasoning_tokens\":\"7\","
          "\"audio_tokens\":-2},\"input_tokens\":1e3,"
          "\"prompt_cache_hit_tokens\":99999999999999999999}}",
          HELICONE_OK, &odd);

    check("empty usage object",
          "{\"usage\":{}}",
          HELICONE_OK, &none);

    check("duplicate usage: last wins",
          "{\"usage\":{\"prompt_tokens\":1},\"usage\":{\"prompt_tokens\":2}}",
          HELICONE_OK, &dup);

    helicone_usage_init(&u);
    is_int(helicone_usage_from_openai(NULL, &u), HELICONE_DECLINED,
           "NULL document");
}


static void
test_overwrite(void)
{
    helicone_usage_t  u;

    helicone_usage_init(&u);

    u.cache_write_tokens = 77;

    ok(from_text("{\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":1}}",
                 &u) == HELICONE_OK, "first chunk");
    ok(from_text("{\"usage\":{\"completion_tokens\":9}}", &u) == HELICONE_OK,
       "second chunk");
    is_int(u.prompt_tokens, 10, "fields a later chunk lacks are kept");
    is_int(u.completion_tokens, 9, "fields a later chunk has are replaced");
    is_int(u.cache_write_tokens, 77, "caller's values are kept");

    ok(from_text("{\"usage\":null}", &u) == HELICONE_DECLINED,
       "a chunk without usage");
    ok(u.found && u.prompt_tokens == 10 && u.completion_tokens == 9,
       "  changes nothing");
}


static int
anthropic(const char *json, helicone_usage_t *u)
{
    helicone_json_value_t  doc;

    if (helicone_json_parse((const unsigned char *) json, strlen(json), &doc)
        != HELICONE_OK)
    {
        return HELICONE_ERROR;
    }

    return helicone_usage_from_anthropic(&doc, u);
}


static void
check_anthropic(const char *name, const char *json, int rc,
    const counts_t *c, int64_t uncached, int64_t searches)
{
    helicone_usage_t  u;

    helicone_usage_init(&u);

    is_int(anthropic(json, &u), rc, name);
    is_int(u.found, rc == HELICONE_OK, "  found");
    is_int(u.prompt_tokens, c->prompt, "  prompt_tokens");
    is_int(u.completion_tokens, c->completion, "  completion_tokens");
    is_int(u.cache_read_tokens, c->cache_read, "  cache_read_tokens");
    is_int(u.cache_write_tokens, c->cache_write, "  cache_write_tokens");
    is_int(u.cache_write_5m_tokens, c->cache_write_5m,
           "  cache_write_5m_tokens");
    is_int(u.cache_write_1h_tokens, c->cache_write_1h,
           "  cache_write_1h_tokens");
    is_int(u.reasoning_tokens, -1, "  reasoning_tokens");
    is_int(u.prompt_audio_tokens, -1, "  prompt_audio_tokens");
    is_int(u.completion_audio_tokens, -1, "  completion_audio_tokens");
    is_int(u.uncached_input_tokens, uncached, "  uncached_input_tokens");
    is_int(u.web_search_requests, searches, "  web_search_requests");
}


static void
test_anthropic(void)
{
    helicone_usage_t  u;

    static const counts_t  none = { -1, -1, -1, -1, -1, -1, -1, -1, -1 };
    static const counts_t  plain = { 25, 15, -1, -1, -1, -1, -1, -1, -1 };
    static const counts_t  zeros = { 25, 15, 0, 0, -1, -1, -1, -1, -1 };
    static const counts_t  cache = { 2164, 503, 2048, 100, 40, 60,
                                     -1, -1, -1 };
    static const counts_t  start = { 472, 1, 0, 450, 450, 0, -1, -1, -1 };
    static const counts_t  delta = { -1, 89, -1, -1, -1, -1, -1, -1, -1 };
    static const counts_t  big = { INT64_MAX, -1, INT64_MAX, -1, -1, -1,
                                   -1, -1, -1 };

    check_anthropic("Anthropic message",
          "{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\","
          "\"model\":\"claude-sonnet-4-20250514\",\"content\":[{\"type\":"
          "\"text\",\"text\":\"Hi\"}],\"stop_reason\":\"end_turn\","
          "\"usage\":{\"input_tokens\":25,\"output_tokens\":15}}",
          HELICONE_OK, &plain, 25, -1);

    check_anthropic("zero cache counts",
          "{\"usage\":{\"input_tokens\":25,\"cache_creation_input_tokens\":0,"
          "\"cache_read_input_tokens\":0,\"output_tokens\":15}}",
          HELICONE_OK, &zeros, 25, -1);

    check_anthropic("cache reads, writes with the 5m/1h split, web search",
          "{\"type\":\"message\",\"usage\":{\"input_tokens\":16,"
          "\"cache_creation_input_tokens\":100,"
          "\"cache_read_input_tokens\":2048,\"cache_creation\":"
          "{\"ephemeral_5m_input_tokens\":40,"
          "\"ephemeral_1h_input_tokens\":60},\"output_tokens\":503,"
          "\"server_tool_use\":{\"web_search_requests\":3},"
          "\"service_tier\":\"standard\"}}",
          HELICONE_OK, &cache, 16, 3);

    check_anthropic("message_start event",
          "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\","
          "\"type\":\"message\",\"role\":\"assistant\",\"content\":[],"
          "\"usage\":{\"input_tokens\":22,\"cache_creation_input_tokens\":"
          "450,\"cache_read_input_tokens\":0,\"cache_creation\":"
          "{\"ephemeral_5m_input_tokens\":450,"
          "\"ephemeral_1h_input_tokens\":0},\"output_tokens\":1}}}",
          HELICONE_OK, &start, 22, -1);

    check_anthropic("message_delta event alone: no prompt",
          "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
          "\"tool_use\"},\"usage\":{\"output_tokens\":89}}",
          HELICONE_OK, &delta, -1, -1);

    check_anthropic("huge counts saturate",
          "{\"usage\":{\"input_tokens\":9223372036854775807,"
          "\"cache_read_input_tokens\":9223372036854775807}}",
          HELICONE_OK, &big, INT64_MAX, -1);

    check_anthropic("no usage",
          "{\"type\":\"message_stop\"}",
          HELICONE_DECLINED, &none, -1, -1);

    check_anthropic("a bare usage object is not read",
          "{\"input_tokens\":5,\"output_tokens\":6}",
          HELICONE_DECLINED, &none, -1, -1);

    check_anthropic("usage null",
          "{\"usage\":null,\"message\":{\"usage\":null}}",
          HELICONE_DECLINED, &none, -1, -1);

    check_anthropic("document not an object",
          "[{\"usage\":{\"input_tokens\":1}}]",
          HELICONE_DECLINED, &none, -1, -1);

    helicone_usage_init(&u);
    is_int(helicone_usage_from_anthropic(NULL, &u), HELICONE_DECLINED,
           "Anthropic: NULL document");

    helicone_usage_init(&u);
    ok(from_text("{\"usage\":{\"prompt_tokens\":5,\"server_tool_use\":"
                 "{\"web_search_requests\":2}}}", &u) == HELICONE_OK
       && u.web_search_requests == 2 && u.uncached_input_tokens == -1,
       "OpenAI-style server_tool_use.web_search_requests");
}


/* message_start, then message_delta: the delta's fields override */

static void
test_anthropic_stream(void)
{
    helicone_usage_t  u;

    helicone_usage_init(&u);

    ok(anthropic("{\"type\":\"message_start\",\"message\":{\"usage\":"
                 "{\"input_tokens\":10,\"cache_read_input_tokens\":20,"
                 "\"cache_creation_input_tokens\":30,\"output_tokens\":1}}}",
                 &u) == HELICONE_OK, "stream: message_start");
    is_int(u.prompt_tokens, 60, "  prompt is input + reads + writes");

    ok(anthropic("{\"type\":\"message_delta\",\"usage\":"
                 "{\"output_tokens\":42,"
                 "\"cache_creation_input_tokens\":null}}",
                 &u) == HELICONE_OK, "message_delta with output only");
    is_int(u.prompt_tokens, 60, "  prompt kept");
    is_int(u.completion_tokens, 42, "  output replaced");
    is_int(u.cache_write_tokens, 30, "  a null count changes nothing");

    ok(anthropic("{\"type\":\"message_delta\",\"usage\":"
                 "{\"input_tokens\":11,\"output_tokens\":43}}",
                 &u) == HELICONE_OK, "message_delta repeating input");
    is_int(u.prompt_tokens, 61, "  prompt summed again from merged counts");
    is_int(u.uncached_input_tokens, 11, "  input replaced");

    ok(anthropic("{\"type\":\"message_delta\",\"usage\":"
                 "{\"cache_read_input_tokens\":0}}",
                 &u) == HELICONE_OK, "message_delta with cache reads only");
    is_int(u.prompt_tokens, 41, "  prompt follows the new read count");
    is_int(u.completion_tokens, 43, "  output kept");
}


int
main(void)
{
    test_cases();
    test_overwrite();
    test_anthropic();
    test_anthropic_stream();

    return done_testing();
}
