/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Reading provider usage objects into helicone_usage_t. */

#include <string.h>

#include "helicone_usage.h"


static int helicone_usage_get(const helicone_json_value_t *usage,
    const char *path, int64_t *out);
static int64_t helicone_usage_sum(int64_t a, int64_t b);


void
helicone_usage_init(helicone_usage_t *u)
{
    u->prompt_tokens = -1;
    u->completion_tokens = -1;
    u->cache_read_tokens = -1;
    u->cache_write_tokens = -1;
    u->cache_write_5m_tokens = -1;
    u->cache_write_1h_tokens = -1;
    u->reasoning_tokens = -1;
    u->prompt_audio_tokens = -1;
    u->completion_audio_tokens = -1;
    u->uncached_input_tokens = -1;
    u->web_search_requests = -1;
    u->found = 0;
}


/*
 * Looks for "usage", then Groq's "x_groq.usage"; in the object found,
 * OpenAI's chat names win over the Responses API names, and a provider's
 * own names (DeepSeek's) are the last resort.  Counts are taken only
 * when they are non-negative integers, so a field that is absent, null
 * or odd leaves the value the caller already had.
 */

int
helicone_usage_from_openai(const helicone_json_value_t *doc,
    helicone_usage_t *u)
{
    int64_t                n;
    helicone_json_value_t  usage;

    if (doc == NULL || doc->type != HELICONE_JSON_OBJECT) {
        return HELICONE_DECLINED;
    }

    if (helicone_json_object_get(doc, "usage", 5, &usage) != HELICONE_OK
        || usage.type != HELICONE_JSON_OBJECT)
    {
        if (helicone_json_path_get(doc, "x_groq.usage", &usage)
            != HELICONE_OK
            || usage.type != HELICONE_JSON_OBJECT)
        {
            return HELICONE_DECLINED;
        }
    }

    if (helicone_usage_get(&usage, "prompt_tokens", &n) == HELICONE_OK
        || helicone_usage_get(&usage, "input_tokens", &n) == HELICONE_OK)
    {
        u->prompt_tokens = n;
    }

    if (helicone_usage_get(&usage, "completion_tokens", &n) == HELICONE_OK
        || helicone_usage_get(&usage, "output_tokens", &n) == HELICONE_OK)
    {
        u->completion_tokens = n;
    }

    if (helicone_usage_get(&usage, "prompt_tokens_details.cached_tokens", &n)
        == HELICONE_OK
        || helicone_usage_get(&usage, "input_tokens_details.cached_tokens",
                              &n)
           == HELICONE_OK
        || helicone_usage_get(&usage, "prompt_cache_hit_tokens", &n)
           == HELICONE_OK)
    {
        u->cache_read_tokens = n;
    }

    if (helicone_usage_get(&usage, "prompt_tokens_details.cache_write_tokens",
                           &n)
        == HELICONE_OK)
    {
        u->cache_write_tokens = n;
    }

    if (helicone_usage_get(&usage,
            "prompt_tokens_details.cache_write_details.write_5m_tokens", &n)
        == HELICONE_OK
        || helicone_usage_get(&usage, "cache_write_details.write_5m_tokens",
                              &n)
           == HELICONE_OK)
    {
        u->cache_write_5m_tokens = n;
    }

    if (helicone_usage_get(&usage,
            "prompt_tokens_details.cache_write_details.write_1h_tokens", &n)
        == HELICONE_OK
        || helicone_usage_get(&usage, "cache_write_details.write_1h_tokens",
                              &n)
           == HELICONE_OK)
    {
        u->cache_write_1h_tokens = n;
    }

    if (helicone_usage_get(&usage, "prompt_tokens_details.audio_tokens", &n)
        == HELICONE_OK)
    {
        u->prompt_audio_tokens = n;
    }

    if (helicone_usage_get(&usage,
                           "completion_tokens_details.reasoning_tokens", &n)
        == HELICONE_OK
        || helicone_usage_get(&usage,
                              "output_tokens_details.reasoning_tokens", &n)
           == HELICONE_OK)
    {
        u->reasoning_tokens = n;
    }

    if (helicone_usage_get(&usage, "completion_tokens_details.audio_tokens",
                           &n)
        == HELICONE_OK)
    {
        u->completion_audio_tokens = n;
    }

    if (helicone_usage_get(&usage, "server_tool_use.web_search_requests", &n)
        == HELICONE_OK)
    {
        u->web_search_requests = n;
    }

    u->found = 1;

    return HELICONE_OK;
}


/*
 * Anthropic reports input_tokens without the cache: the prompt is the
 * sum of the three, computed from whatever is known after the merge.
 */

int
helicone_usage_from_anthropic(const helicone_json_value_t *doc,
    helicone_usage_t *u)
{
    int64_t                n;
    helicone_json_value_t  usage;

    if (doc == NULL || doc->type != HELICONE_JSON_OBJECT) {
        return HELICONE_DECLINED;
    }

    if (helicone_json_object_get(doc, "usage", 5, &usage) != HELICONE_OK
        || usage.type != HELICONE_JSON_OBJECT)
    {
        if (helicone_json_path_get(doc, "message.usage", &usage)
            != HELICONE_OK
            || usage.type != HELICONE_JSON_OBJECT)
        {
            return HELICONE_DECLINED;
        }
    }

    if (helicone_usage_get(&usage, "input_tokens", &n) == HELICONE_OK) {
        u->uncached_input_tokens = n;
    }

    if (helicone_usage_get(&usage, "output_tokens", &n) == HELICONE_OK) {
        u->completion_tokens = n;
    }

    if (helicone_usage_get(&usage, "cache_read_input_tokens", &n)
        == HELICONE_OK)
    {
        u->cache_read_tokens = n;
    }

    if (helicone_usage_get(&usage, "cache_creation_input_tokens", &n)
        == HELICONE_OK)
    {
        u->cache_write_tokens = n;
    }

    if (helicone_usage_get(&usage, "cache_creation.ephemeral_5m_input_tokens",
                           &n)
        == HELICONE_OK)
    {
        u->cache_write_5m_tokens = n;
    }

    if (helicone_usage_get(&usage, "cache_creation.ephemeral_1h_input_tokens",
                           &n)
        == HELICONE_OK)
    {
        u->cache_write_1h_tokens = n;
    }

    if (helicone_usage_get(&usage, "server_tool_use.web_search_requests", &n)
        == HELICONE_OK)
    {
        u->web_search_requests = n;
    }

    if (u->uncached_input_tokens >= 0) {
        u->prompt_tokens = helicone_usage_sum(u->uncached_input_tokens,
                                              u->cache_read_tokens);
        u->prompt_tokens = helicone_usage_sum(u->prompt_tokens,
                                              u->cache_write_tokens);
    }

    u->found = 1;

    return HELICONE_OK;
}


/* a + b for counts, unknown (-1) b as 0, saturating instead of overflowing */

static int64_t
helicone_usage_sum(int64_t a, int64_t b)
{
    if (b <= 0) {
        return a;
    }

    return (a > INT64_MAX - b) ? INT64_MAX : a + b;
}


static int
helicone_usage_get(const helicone_json_value_t *usage, const char *path,
    int64_t *out)
{
    int64_t                n;
    helicone_json_value_t  v;

    if (helicone_json_path_get(usage, path, &v) != HELICONE_OK
        || helicone_json_int64(&v, &n) != HELICONE_OK
        || n < 0)
    {
        return HELICONE_DECLINED;
    }

    *out = n;

    return HELICONE_OK;
}
