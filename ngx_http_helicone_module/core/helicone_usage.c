/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Reading provider usage objects into helicone_usage_t. */

#include <string.h>

#include "helicone_usage.h"


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

/* the counts an OpenAI-style usage object may carry, by where they are */
enum {
    HELICONE_U_PROMPT = 0,          /* prompt_tokens */
    HELICONE_U_INPUT,               /* input_tokens (Responses API) */
    HELICONE_U_COMPLETION,          /* completion_tokens */
    HELICONE_U_OUTPUT,              /* output_tokens */
    HELICONE_U_CACHED,              /* prompt_tokens_details.cached_tokens */
    HELICONE_U_INPUT_CACHED,        /* input_tokens_details.cached_tokens */
    HELICONE_U_CACHE_HIT,           /* prompt_cache_hit_tokens (DeepSeek) */
    HELICONE_U_CACHE_WRITE,         /* ..._details.cache_write_tokens */
    HELICONE_U_W5M_PTD,             /* ..._details.cache_write_details */
    HELICONE_U_W1H_PTD,
    HELICONE_U_W5M,                 /* cache_write_details */
    HELICONE_U_W1H,
    HELICONE_U_AUDIO_IN,            /* prompt_tokens_details.audio_tokens */
    HELICONE_U_REASONING,           /* completion_tokens_details */
    HELICONE_U_OUTPUT_REASONING,    /* output_tokens_details */
    HELICONE_U_AUDIO_OUT,           /* completion_tokens_details */
    HELICONE_U_WEB_SEARCH,          /* server_tool_use.web_search_requests */
    HELICONE_U_N
};


typedef struct helicone_usage_field_s  helicone_usage_field_t;

struct helicone_usage_field_s {
    const char                    *name;
    size_t                         len;
    int                            slot;    /* HELICONE_U_*, or -1: ... */
    const helicone_usage_field_t  *object;  /* ... an object, its fields */
};


#define helicone_usage_field(name, slot)                                      \
    { name, sizeof(name) - 1, slot, NULL }
#define helicone_usage_object(name, fields)                                   \
    { name, sizeof(name) - 1, -1, fields }

/* the members of an OpenAI-style usage object read (see openai_scan) */
#define helicone_usage_openai_n  11


static const helicone_usage_field_t  helicone_usage_ptd[] = {
    helicone_usage_field("cached_tokens", HELICONE_U_CACHED),
    helicone_usage_field("cache_write_tokens", HELICONE_U_CACHE_WRITE),
    helicone_usage_field("audio_tokens", HELICONE_U_AUDIO_IN),
    { NULL, 0, 0, NULL }
};

static const helicone_usage_field_t  helicone_usage_ptd_writes[] = {
    helicone_usage_field("write_5m_tokens", HELICONE_U_W5M_PTD),
    helicone_usage_field("write_1h_tokens", HELICONE_U_W1H_PTD),
    { NULL, 0, 0, NULL }
};

static const helicone_usage_field_t  helicone_usage_writes[] = {
    helicone_usage_field("write_5m_tokens", HELICONE_U_W5M),
    helicone_usage_field("write_1h_tokens", HELICONE_U_W1H),
    { NULL, 0, 0, NULL }
};

static const helicone_usage_field_t  helicone_usage_itd[] = {
    helicone_usage_field("cached_tokens", HELICONE_U_INPUT_CACHED),
    { NULL, 0, 0, NULL }
};

static const helicone_usage_field_t  helicone_usage_ctd[] = {
    helicone_usage_field("reasoning_tokens", HELICONE_U_REASONING),
    helicone_usage_field("audio_tokens", HELICONE_U_AUDIO_OUT),
    { NULL, 0, 0, NULL }
};

static const helicone_usage_field_t  helicone_usage_otd[] = {
    helicone_usage_field("reasoning_tokens", HELICONE_U_OUTPUT_REASONING),
    { NULL, 0, 0, NULL }
};

static const helicone_usage_field_t  helicone_usage_stu[] = {
    helicone_usage_field("web_search_requests", HELICONE_U_WEB_SEARCH),
    { NULL, 0, 0, NULL }
};

/* Anthropic's usage, in the same slots */

static const helicone_usage_field_t  helicone_usage_anthropic_writes[] = {
    helicone_usage_field("ephemeral_5m_input_tokens", HELICONE_U_W5M),
    helicone_usage_field("ephemeral_1h_input_tokens", HELICONE_U_W1H),
    { NULL, 0, 0, NULL }
};

static const helicone_usage_field_t  helicone_usage_anthropic[] = {
    helicone_usage_field("input_tokens", HELICONE_U_INPUT),
    helicone_usage_field("output_tokens", HELICONE_U_OUTPUT),
    helicone_usage_field("cache_read_input_tokens", HELICONE_U_CACHED),
    helicone_usage_field("cache_creation_input_tokens",
                         HELICONE_U_CACHE_WRITE),
    helicone_usage_object("cache_creation", helicone_usage_anthropic_writes),
    helicone_usage_object("server_tool_use", helicone_usage_stu),
    { NULL, 0, 0, NULL }
};


static void helicone_usage_read(const helicone_json_value_t *obj,
    const helicone_usage_field_t *fields, int64_t *raw);
static void helicone_usage_openai_scan(const helicone_json_value_t *usage,
    int64_t *raw);
static void helicone_usage_pick(int64_t *field, int64_t a, int64_t b,
    int64_t c);


/*
 * Reads the integers of obj named in fields into raw[], and the objects
 * named there by their own fields, in one pass: the last of duplicate
 * names wins, negative or non-integral values are ignored.
 */

static void
helicone_usage_read(const helicone_json_value_t *obj,
    const helicone_usage_field_t *fields, int64_t *raw)
{
    int64_t                        n;
    helicone_json_iter_t           it;
    helicone_json_value_t          k, v;
    const helicone_usage_field_t  *f;

    if (obj->type != HELICONE_JSON_OBJECT
        || helicone_json_iter_init(&it, obj) != HELICONE_OK)
    {
        return;
    }

    while (helicone_json_iter_next(&it, &k, &v) == HELICONE_OK) {
        for (f = fields; f->name; f++) {
            if (helicone_json_string_eq(&k, f->name, f->len)) {
                if (f->object) {
                    helicone_usage_read(&v, f->object, raw);

                } else if (helicone_json_int64(&v, &n) == HELICONE_OK
                           && n >= 0)
                {
                    raw[f->slot] = n;
                }

                break;
            }
        }
    }
}


static void
helicone_usage_openai_scan(const helicone_json_value_t *usage, int64_t *raw)
{
    size_t                 i;
    int64_t                n;
    helicone_json_value_t  m[helicone_usage_openai_n], w;

    /* the counts, then the objects that hold more of them */
    static const helicone_str_t  names[helicone_usage_openai_n] = {
        helicone_string("prompt_tokens"),
        helicone_string("input_tokens"),
        helicone_string("completion_tokens"),
        helicone_string("output_tokens"),
        helicone_string("prompt_cache_hit_tokens"),
        helicone_string("prompt_tokens_details"),
        helicone_string("cache_write_details"),
        helicone_string("input_tokens_details"),
        helicone_string("completion_tokens_details"),
        helicone_string("output_tokens_details"),
        helicone_string("server_tool_use")
    };

    static const int  slots[5] = {
        HELICONE_U_PROMPT, HELICONE_U_INPUT, HELICONE_U_COMPLETION,
        HELICONE_U_OUTPUT, HELICONE_U_CACHE_HIT
    };

    for (i = 0; i < HELICONE_U_N; i++) {
        raw[i] = -1;
    }

    /* one pass over the object: usage is read on every response */

    if (helicone_json_object_pick(usage, names, helicone_usage_openai_n, m)
        != HELICONE_OK)
    {
        return;
    }

    for (i = 0; i < 5; i++) {
        if (helicone_json_int64(&m[i], &n) == HELICONE_OK && n >= 0) {
            raw[slots[i]] = n;
        }
    }

    helicone_usage_read(&m[5], helicone_usage_ptd, raw);

    if (m[5].type == HELICONE_JSON_OBJECT
        && helicone_json_object_get(&m[5], "cache_write_details", 19, &w)
           == HELICONE_OK)
    {
        helicone_usage_read(&w, helicone_usage_ptd_writes, raw);
    }

    helicone_usage_read(&m[6], helicone_usage_writes, raw);
    helicone_usage_read(&m[7], helicone_usage_itd, raw);
    helicone_usage_read(&m[8], helicone_usage_ctd, raw);
    helicone_usage_read(&m[9], helicone_usage_otd, raw);
    helicone_usage_read(&m[10], helicone_usage_stu, raw);
}


/* the first known of up to three counts overwrites *field */

static void
helicone_usage_pick(int64_t *field, int64_t a, int64_t b, int64_t c)
{
    if (a >= 0) {
        *field = a;

    } else if (b >= 0) {
        *field = b;

    } else if (c >= 0) {
        *field = c;
    }
}


int
helicone_usage_from_openai(const helicone_json_value_t *doc,
    helicone_usage_t *u)
{
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

    return helicone_usage_openai_object(&usage, u);
}


int
helicone_usage_openai_object(const helicone_json_value_t *usage,
    helicone_usage_t *u)
{
    int64_t  raw[HELICONE_U_N];

    if (usage == NULL || usage->type != HELICONE_JSON_OBJECT) {
        return HELICONE_DECLINED;
    }

    /* one pass over the object: usage is read on every response */
    helicone_usage_openai_scan(usage, raw);

    helicone_usage_pick(&u->prompt_tokens, raw[HELICONE_U_PROMPT],
                        raw[HELICONE_U_INPUT], -1);
    helicone_usage_pick(&u->completion_tokens, raw[HELICONE_U_COMPLETION],
                        raw[HELICONE_U_OUTPUT], -1);
    helicone_usage_pick(&u->cache_read_tokens, raw[HELICONE_U_CACHED],
                        raw[HELICONE_U_INPUT_CACHED],
                        raw[HELICONE_U_CACHE_HIT]);
    helicone_usage_pick(&u->cache_write_tokens, raw[HELICONE_U_CACHE_WRITE],
                        -1, -1);
    helicone_usage_pick(&u->cache_write_5m_tokens, raw[HELICONE_U_W5M_PTD],
                        raw[HELICONE_U_W5M], -1);
    helicone_usage_pick(&u->cache_write_1h_tokens, raw[HELICONE_U_W1H_PTD],
                        raw[HELICONE_U_W1H], -1);
    helicone_usage_pick(&u->prompt_audio_tokens, raw[HELICONE_U_AUDIO_IN],
                        -1, -1);
    helicone_usage_pick(&u->reasoning_tokens, raw[HELICONE_U_REASONING],
                        raw[HELICONE_U_OUTPUT_REASONING], -1);
    helicone_usage_pick(&u->completion_audio_tokens,
                        raw[HELICONE_U_AUDIO_OUT], -1, -1);
    helicone_usage_pick(&u->web_search_requests, raw[HELICONE_U_WEB_SEARCH],
                        -1, -1);

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
    helicone_json_value_t  m[2], usage;

    static const helicone_str_t  names[2] = {
        helicone_string("usage"), helicone_string("message")
    };

    /* "usage", or a message_start event's "message.usage": one pass */

    if (helicone_json_object_pick(doc, names, 2, m) != HELICONE_OK) {
        return HELICONE_DECLINED;
    }

    usage = m[0];

    if (usage.type != HELICONE_JSON_OBJECT
        && helicone_json_object_get(&m[1], "usage", 5, &usage)
           != HELICONE_OK)
    {
        return HELICONE_DECLINED;
    }

    return helicone_usage_anthropic_object(&usage, u);
}


int
helicone_usage_anthropic_object(const helicone_json_value_t *usage,
    helicone_usage_t *u)
{
    size_t   i;
    int64_t  raw[HELICONE_U_N];

    if (usage == NULL || usage->type != HELICONE_JSON_OBJECT) {
        return HELICONE_DECLINED;
    }

    for (i = 0; i < HELICONE_U_N; i++) {
        raw[i] = -1;
    }

    helicone_usage_read(usage, helicone_usage_anthropic, raw);

    /* what this object reports overwrites what an earlier one did */

    helicone_usage_pick(&u->uncached_input_tokens, raw[HELICONE_U_INPUT],
                        -1, -1);
    helicone_usage_pick(&u->completion_tokens, raw[HELICONE_U_OUTPUT], -1, -1);
    helicone_usage_pick(&u->cache_read_tokens, raw[HELICONE_U_CACHED], -1, -1);
    helicone_usage_pick(&u->cache_write_tokens, raw[HELICONE_U_CACHE_WRITE],
                        -1, -1);
    helicone_usage_pick(&u->cache_write_5m_tokens, raw[HELICONE_U_W5M],
                        -1, -1);
    helicone_usage_pick(&u->cache_write_1h_tokens, raw[HELICONE_U_W1H],
                        -1, -1);
    helicone_usage_pick(&u->web_search_requests, raw[HELICONE_U_WEB_SEARCH],
                        -1, -1);

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
