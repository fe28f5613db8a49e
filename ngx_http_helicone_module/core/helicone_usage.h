/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Token usage as providers report it, in one provider-neutral shape. */

#ifndef _HELICONE_USAGE_H_INCLUDED_
#define _HELICONE_USAGE_H_INCLUDED_


#include "helicone_core.h"
#include "helicone_json.h"


/* Every count is -1 while unknown; prompt counts include cached tokens. */
typedef struct {
    int64_t             prompt_tokens;
    int64_t             completion_tokens;
    int64_t             cache_read_tokens;
    int64_t             cache_write_tokens;
    int64_t             cache_write_5m_tokens;
    int64_t             cache_write_1h_tokens;
    int64_t             reasoning_tokens;
    int64_t             prompt_audio_tokens;
    int64_t             completion_audio_tokens;
    int64_t             uncached_input_tokens;  /* Anthropic input_tokens */
    int64_t             web_search_requests;    /* server_tool_use count */
    unsigned            found:1;
} helicone_usage_t;


void helicone_usage_init(helicone_usage_t *u);

/*
 * Reads an OpenAI-style "usage" object (chat completion, stream chunk,
 * or Groq's "x_groq.usage") from a parsed document into u, overwriting
 * the fields it carries: HELICONE_OK, or HELICONE_DECLINED when the
 * document has no usage object.
 */
int helicone_usage_from_openai(const helicone_json_value_t *doc,
    helicone_usage_t *u);

/* The same from the "usage" object itself, found by the caller. */
int helicone_usage_openai_object(const helicone_json_value_t *usage,
    helicone_usage_t *u);

/*
 * Reads an Anthropic "usage" object (a message, or the "message" of a
 * message_start event, or a message_delta's "usage"; not a bare usage
 * object) into u, overwriting only the fields it carries; prompt_tokens
 * is then set to input + cache read + cache creation from the merged
 * counts, so it includes cached tokens as everywhere else, and a
 * message_delta carrying only output_tokens keeps message_start's sum.
 * The 5m/1h write split is set only when "cache_creation" carries it.
 * HELICONE_OK, or HELICONE_DECLINED without usage.
 */
int helicone_usage_from_anthropic(const helicone_json_value_t *doc,
    helicone_usage_t *u);

/* The same from the "usage" object itself, found by the caller. */
int helicone_usage_anthropic_object(const helicone_json_value_t *usage,
    helicone_usage_t *u);


/* counts added without overflow: providers' numbers are not trusted */
static inline int64_t
helicone_usage_add(int64_t a, int64_t b)
{
    return (a > INT64_MAX - b) ? INT64_MAX : a + b;
}

/* an unknown (-1) count reported as 0 */
static inline int64_t
helicone_usage_count(int64_t n)
{
    return n > 0 ? n : 0;
}


/*
 * What an event of a relayed stream said besides its usage, as bits, for
 * the readers of a stream that is not chat chunks (a Responses stream,
 * an Anthropic one).
 */
#define HELICONE_EVENT_END    1   /* the answer is complete */
#define HELICONE_EVENT_ERROR  2   /* an error event, or a failed answer */


#endif /* _HELICONE_USAGE_H_INCLUDED_ */
