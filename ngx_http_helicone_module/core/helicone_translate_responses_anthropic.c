/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* OpenAI's Responses API: reading it, and to and from Anthropic Messages. */

#include "helicone_translate_responses_anthropic.h"


/* the event types that matter to a relayed stream */
static const helicone_str_t  helicone_responses_ends[] = {
    helicone_string("response.completed"),
    helicone_string("response.incomplete"),
    helicone_string("response.failed"),
    helicone_string("error")
};


/* reasoning effort -> thinking budget; Anthropic's least is 1024 */
#define HELICONE_RESPONSES_BUDGET_LOW     1024
#define HELICONE_RESPONSES_BUDGET_MEDIUM  4096
#define HELICONE_RESPONSES_BUDGET_HIGH    16384


/* the request members read, picked in one pass */

enum {
    helicone_rq_model = 0,
    helicone_rq_input,
    helicone_rq_instructions,
    helicone_rq_tools,
    helicone_rq_tool_choice,
    helicone_rq_parallel_tool_calls,
    helicone_rq_max_output_tokens,
    helicone_rq_temperature,
    helicone_rq_top_p,
    helicone_rq_stream,
    helicone_rq_reasoning,
    helicone_rq_user,
    helicone_rq_safety_identifier,
    helicone_rq_text,
    helicone_rq_background,
    helicone_rq_previous_response_id,
    helicone_rq_conversation,
    helicone_rq_prompt,
    helicone_rq_top_logprobs,
    helicone_rq_max_tool_calls,
    helicone_rq_n
};

static const helicone_str_t  helicone_rq_names[] = {
    helicone_string("model"), helicone_string("input"),
    helicone_string("instructions"), helicone_string("tools"),
    helicone_string("tool_choice"), helicone_string("parallel_tool_calls"),
    helicone_string("max_output_tokens"), helicone_string("temperature"),
    helicone_string("top_p"), helicone_string("stream"),
    helicone_string("reasoning"), helicone_string("user"),
    helicone_string("safety_identifier"), helicone_string("text"),
    helicone_string("background"), helicone_string("previous_response_id"),
    helicone_string("conversation"), helicone_string("prompt"),
    helicone_string("top_logprobs"), helicone_string("max_tool_calls")
};


/* members that need what a Messages provider does not keep or do */

static const struct {
    unsigned     member;
    const char  *error;
} helicone_rq_refused[] = {
    { helicone_rq_previous_response_id,
      "\"previous_response_id\" needs responses stored by the provider, "
      "which cannot be done" },
    { helicone_rq_conversation,
      "\"conversation\" needs conversations stored by the provider, which "
      "cannot be done" },
    { helicone_rq_prompt,
      "\"prompt\" (a stored prompt template) cannot be translated" },
    { helicone_rq_background,
      "\"background\" cannot be translated" },
    { helicone_rq_top_logprobs,
      "\"top_logprobs\" cannot be translated" },
    { helicone_rq_max_tool_calls,
      "\"max_tool_calls\" cannot be translated" }
};


/* an input item's members, picked in one pass */

enum {
    helicone_it_type = 0,
    helicone_it_role,
    helicone_it_content,
    helicone_it_call_id,
    helicone_it_name,
    helicone_it_arguments,
    helicone_it_output,
    helicone_it_summary,
    helicone_it_encrypted_content,
    helicone_it_n
};

static const helicone_str_t  helicone_it_names[] = {
    helicone_string("type"), helicone_string("role"),
    helicone_string("content"), helicone_string("call_id"),
    helicone_string("name"), helicone_string("arguments"),
    helicone_string("output"), helicone_string("summary"),
    helicone_string("encrypted_content")
};

/* its roles */

enum {
    helicone_role_user = 0,
    helicone_role_assistant,
    helicone_role_system,
    helicone_role_developer,
    helicone_role_n
};

static const helicone_str_t  helicone_role_names[] = {
    helicone_string("user"), helicone_string("assistant"),
    helicone_string("system"), helicone_string("developer")
};


/*
 * The system and developer messages met among the input items, written
 * after "messages" as "system" without a second pass over the input;
 * past HELICONE_RESPONSES_SYSTEM_MAX the input is read again for them.
 */

#define HELICONE_RESPONSES_SYSTEM_MAX  16

typedef struct {
    helicone_json_value_t   content[HELICONE_RESPONSES_SYSTEM_MAX];
    unsigned                n;
    unsigned                more:1;
} helicone_responses_system_t;


/*
 * The messages written so far, and whether the last one is a list of
 * blocks that the next call (assistant) or result (user) joins: Messages
 * wants a turn's thinking and tool uses in one message, and the results
 * of parallel calls in the next one.
 */

enum {
    helicone_turn_none = 0,
    helicone_turn_assistant,
    helicone_turn_user
};

typedef struct {
    unsigned                n;
    unsigned                open;     /* helicone_turn_* */
} helicone_responses_turns_t;


typedef enum {
    helicone_item_none = 0,
    helicone_item_text,
    helicone_item_tool,
    helicone_item_thinking,
    helicone_item_skip
} helicone_responses_item_e;


static int helicone_responses_max_tokens(const helicone_json_value_t *m,
    const helicone_translate_opts_t *opts, int64_t *max, int64_t *budget,
    const char **error);
static int helicone_responses_system(const helicone_json_value_t *m,
    const helicone_responses_system_t *sys, helicone_buf_t *out,
    const char **error);
static int helicone_responses_system_content(
    const helicone_json_value_t *content, helicone_buf_t *out, unsigned *n,
    const char **error);
static int helicone_responses_messages(const helicone_json_value_t *input,
    helicone_responses_system_t *sys, helicone_buf_t *out,
    const char **error);
static int helicone_responses_item(const helicone_json_value_t *item,
    helicone_responses_system_t *sys, helicone_buf_t *out,
    helicone_responses_turns_t *turns, const char **error);
static void helicone_responses_turn(helicone_buf_t *out,
    helicone_responses_turns_t *turns, unsigned role);
static int helicone_responses_reasoning(const helicone_json_value_t *m,
    helicone_buf_t *out, helicone_responses_turns_t *turns);
static int helicone_responses_content(const helicone_json_value_t *content,
    helicone_buf_t *out, const char **error);
static int helicone_responses_part(const helicone_json_value_t *part,
    helicone_buf_t *out, const char **error);
static int helicone_responses_image(const helicone_json_value_t *url,
    helicone_buf_t *out, const char **error);
static int helicone_responses_arguments(const helicone_json_value_t *args,
    helicone_buf_t *out, const char **error);
static int helicone_responses_tools(const helicone_json_value_t *tools,
    helicone_buf_t *out, const char **error);
static int helicone_responses_tool_choice(const helicone_json_value_t *m,
    int tools, helicone_buf_t *out, const char **error);
static int helicone_responses_text_format(const helicone_json_value_t *text,
    const char **error);
static void helicone_responses_usage(helicone_buf_t *out,
    const helicone_usage_t *u);
static void helicone_responses_status(helicone_buf_t *out, int incomplete,
    int refused);
static void helicone_responses_head(helicone_buf_t *out,
    const unsigned char *id, size_t id_len, int64_t created,
    const unsigned char *model, size_t model_len);

static void helicone_responses_event_open(helicone_responses_stream_t *s,
    helicone_buf_t *out, const char *type, size_t len);
static void helicone_responses_item_ref(helicone_responses_stream_t *s,
    helicone_buf_t *out);
static void helicone_responses_stream_start(helicone_responses_stream_t *s,
    const helicone_json_value_t *message, helicone_buf_t *out);
static void helicone_responses_stream_response(helicone_responses_stream_t *s,
    helicone_buf_t *out, const char *status, int output);
static void helicone_responses_block_start(helicone_responses_stream_t *s,
    const helicone_json_value_t *block, helicone_buf_t *out);
static void helicone_responses_block_delta(helicone_responses_stream_t *s,
    const helicone_json_value_t *delta, helicone_buf_t *out);
static void helicone_responses_text_delta(helicone_responses_stream_t *s,
    const helicone_json_value_t *text, helicone_buf_t *out);
static void helicone_responses_thinking_delta(
    helicone_responses_stream_t *s, const helicone_json_value_t *delta,
    helicone_buf_t *out);
static void helicone_responses_block_stop(helicone_responses_stream_t *s,
    helicone_buf_t *out);
static void helicone_responses_stream_stop(helicone_responses_stream_t *s,
    helicone_buf_t *out);
static void helicone_responses_stream_error(helicone_responses_stream_t *s,
    const helicone_json_value_t *doc, helicone_buf_t *out);
static void helicone_responses_stream_failed(helicone_responses_stream_t *s,
    helicone_buf_t *out);
static void helicone_responses_reserve(helicone_responses_stream_t *s,
    size_t len);


/* reading a relayed stream */

unsigned
helicone_responses_event_read(const helicone_json_value_t *doc,
    helicone_usage_t *u, helicone_json_value_t *model)
{
    size_t                 kind;
    helicone_json_value_t  v, resp;

    model->type = HELICONE_JSON_INVALID;

    if (helicone_json_object_get(doc, "type", 4, &v) != HELICONE_OK) {
        return 0;
    }

    kind = helicone_json_string_index(&v, helicone_responses_ends, 4);

    if (kind == 3) {
        return HELICONE_RESPONSES_ERROR;
    }

    /* response.created names the model first; the end has the usage */
    if (helicone_json_object_get(doc, "response", 8, &resp) != HELICONE_OK
        || resp.type != HELICONE_JSON_OBJECT)
    {
        return 0;
    }

    (void) helicone_json_object_get(&resp, "model", 5, model);

    if (kind == 4) {
        return 0;
    }

    (void) helicone_usage_from_openai(&resp, u);

    return HELICONE_RESPONSES_END | (kind == 2 ? HELICONE_RESPONSES_ERROR : 0);
}


/* request: Responses -> Anthropic Messages */

int
helicone_translate_responses_request(const helicone_json_value_t *req,
    const helicone_translate_opts_t *opts, helicone_buf_t *out,
    const char **error)
{
    int                    rc, tools;
    size_t                 i;
    int64_t                       max, budget;
    const char                   *err;
    unsigned char                *pos;
    helicone_json_value_t         m[helicone_rq_n], *v;
    helicone_responses_system_t   sys;

    pos = out->pos;
    err = NULL;
    rc = HELICONE_DECLINED;

    if (req == NULL || req->type != HELICONE_JSON_OBJECT
        || helicone_json_object_pick(req, helicone_rq_names, helicone_rq_n, m)
           != HELICONE_OK)
    {
        err = "request body must be a JSON object";
        goto done;
    }

    for (i = 0; i < sizeof(helicone_rq_refused)
                    / sizeof(helicone_rq_refused[0]); i++)
    {
        v = &m[helicone_rq_refused[i].member];

        if (helicone_translate_has(v) && v->type != HELICONE_JSON_FALSE) {
            err = helicone_rq_refused[i].error;
            goto done;
        }
    }

    if (helicone_responses_text_format(&m[helicone_rq_text], &err)
        != HELICONE_OK)
    {
        goto done;
    }

    v = &m[helicone_rq_input];

    if (v->type != HELICONE_JSON_STRING && v->type != HELICONE_JSON_ARRAY) {
        err = "\"input\" must be a string or an array of items";
        goto done;
    }

    if (helicone_responses_max_tokens(m, opts, &max, &budget, &err)
        != HELICONE_OK)
    {
        goto done;
    }

    helicone_anthropic_head(out, opts ? &opts->model : NULL,
                            &m[helicone_rq_model], max);

    sys.n = 0;
    sys.more = 0;

    if (helicone_responses_messages(v, &sys, out, &err) != HELICONE_OK
        || helicone_responses_system(m, &sys, out, &err) != HELICONE_OK)
    {
        goto done;
    }

    if (budget) {
        /* thinking wants temperature 1 and no top_p below 0.95 */
        helicone_translate_lit(out, ",\"temperature\":1,\"thinking\":"
                                    "{\"type\":\"enabled\","
                                    "\"budget_tokens\":");
        helicone_buf_add_int(out, budget);
        helicone_translate_lit(out, "}");

    } else {
        if (helicone_translate_has(&m[helicone_rq_temperature])) {
            if (m[helicone_rq_temperature].type != HELICONE_JSON_NUMBER) {
                err = "\"temperature\" must be a number";
                goto done;
            }

            helicone_translate_lit(out, ",\"temperature\":");
            helicone_translate_raw(out, &m[helicone_rq_temperature]);
        }

        if (helicone_translate_has(&m[helicone_rq_top_p])) {
            if (m[helicone_rq_top_p].type != HELICONE_JSON_NUMBER) {
                err = "\"top_p\" must be a number";
                goto done;
            }

            helicone_translate_lit(out, ",\"top_p\":");
            helicone_translate_raw(out, &m[helicone_rq_top_p]);
        }
    }

    v = &m[helicone_rq_stream];

    if (v->type == HELICONE_JSON_TRUE) {
        helicone_translate_lit(out, ",\"stream\":true");

    } else if (helicone_translate_has(v) && v->type != HELICONE_JSON_FALSE) {
        err = "\"stream\" must be a boolean";
        goto done;
    }

    v = (m[helicone_rq_safety_identifier].type == HELICONE_JSON_STRING)
        ? &m[helicone_rq_safety_identifier] : &m[helicone_rq_user];

    if (v->type == HELICONE_JSON_STRING && v->len > 2) {
        helicone_translate_lit(out, ",\"metadata\":{\"user_id\":");
        helicone_translate_raw(out, v);
        helicone_translate_lit(out, "}");
    }

    tools = helicone_responses_tools(&m[helicone_rq_tools], out, &err);
    if (tools < 0) {
        goto done;
    }

    if (helicone_responses_tool_choice(m, tools, out, &err) != HELICONE_OK) {
        goto done;
    }

    helicone_translate_lit(out, "}");

    rc = HELICONE_OK;

done:

    if (error) {
        *error = err;
    }

    return helicone_buf_end(out, pos, rc);
}


/* only plain text out: Messages has no JSON schema mode */

static int
helicone_responses_text_format(const helicone_json_value_t *text,
    const char **error)
{
    helicone_json_value_t  format;

    if (!helicone_translate_has(text)) {
        return HELICONE_OK;
    }

    if (text->type != HELICONE_JSON_OBJECT) {
        *error = "\"text\" must be an object";
        return HELICONE_DECLINED;
    }

    if (helicone_translate_get(text, "format", &format)
        && helicone_translate_has(&format)
        && !helicone_translate_is(&format, "type", "text"))
    {
        *error = "\"text.format\" other than text cannot be translated";
        return HELICONE_DECLINED;
    }

    return HELICONE_OK;
}


/*
 * max_output_tokens, or the default; a reasoning effort turns thinking
 * on with a budget (*budget, 0: off) below max_tokens: without
 * max_output_tokens the budget is added to the default, with it the
 * budget is cut to fit.
 */

static int
helicone_responses_max_tokens(const helicone_json_value_t *m,
    const helicone_translate_opts_t *opts, int64_t *max, int64_t *budget,
    const char **error)
{
    int                    given;
    helicone_json_value_t  effort;

    given = helicone_translate_has(&m[helicone_rq_max_output_tokens]);

    if (given) {
        if (helicone_json_int64(&m[helicone_rq_max_output_tokens], max)
            != HELICONE_OK
            || *max < 1)
        {
            *error = "\"max_output_tokens\" must be a positive integer";
            return HELICONE_DECLINED;
        }

    } else {
        *max = (opts && opts->max_tokens > 0)
               ? opts->max_tokens : HELICONE_TRANSLATE_DEFAULT_MAX_TOKENS;
    }

    *budget = 0;

    if (!helicone_translate_has(&m[helicone_rq_reasoning])) {
        return HELICONE_OK;
    }

    if (m[helicone_rq_reasoning].type != HELICONE_JSON_OBJECT) {
        *error = "\"reasoning\" must be an object";
        return HELICONE_DECLINED;
    }

    if (!helicone_translate_get(&m[helicone_rq_reasoning], "effort", &effort)
        || effort.type == HELICONE_JSON_NULL
        || helicone_json_string_eq(&effort, "none", 4)
        || helicone_json_string_eq(&effort, "minimal", 7))
    {
        return HELICONE_OK;
    }

    if (helicone_json_string_eq(&effort, "low", 3)) {
        *budget = HELICONE_RESPONSES_BUDGET_LOW;

    } else if (helicone_json_string_eq(&effort, "medium", 6)) {
        *budget = HELICONE_RESPONSES_BUDGET_MEDIUM;

    } else if (helicone_json_string_eq(&effort, "high", 4)) {
        *budget = HELICONE_RESPONSES_BUDGET_HIGH;

    } else {
        *error = "\"reasoning.effort\" must be minimal, low, medium or high";
        return HELICONE_DECLINED;
    }

    if (!given) {
        *max += *budget;
        return HELICONE_OK;
    }

    if (*budget >= *max) {
        *budget = *max - 1;
    }

    if (*budget < HELICONE_RESPONSES_BUDGET_LOW) {
        *error = "\"reasoning.effort\" needs \"max_output_tokens\" above "
                 "1024 for this model";
        return HELICONE_DECLINED;
    }

    return HELICONE_OK;
}


/*
 * "system": instructions, then the system and developer messages of the
 * input, as text blocks, in order.
 */

static int
helicone_responses_system(const helicone_json_value_t *m,
    const helicone_responses_system_t *sys, helicone_buf_t *out,
    const char **error)
{
    size_t                       role;
    unsigned                     i, n;
    helicone_json_iter_t         it;
    helicone_json_value_t        item, im[helicone_it_n];
    const helicone_json_value_t *instructions;

    n = 0;
    instructions = &m[helicone_rq_instructions];

    if (helicone_translate_has(instructions)) {
        if (instructions->type != HELICONE_JSON_STRING) {
            *error = "\"instructions\" must be a string";
            return HELICONE_DECLINED;
        }

        if (instructions->len > 2
            && helicone_responses_system_content(instructions, out, &n,
                                                 error)
               != HELICONE_OK)
        {
            return HELICONE_DECLINED;
        }
    }

    if (!sys->more) {
        for (i = 0; i < sys->n; i++) {
            if (helicone_responses_system_content(&sys->content[i], out, &n,
                                                  error)
                != HELICONE_OK)
            {
                return HELICONE_DECLINED;
            }
        }

        goto done;
    }

    /* too many to remember: read them again */

    helicone_json_iter_init(&it, &m[helicone_rq_input]);

    while (helicone_json_iter_next(&it, NULL, &item) == HELICONE_OK) {
        /* type, role and content only */
        if (helicone_json_object_pick(&item, helicone_it_names,
                                      helicone_it_call_id, im)
            != HELICONE_OK)
        {
            continue;
        }

        role = helicone_json_string_index(&im[helicone_it_role],
                                          helicone_role_names,
                                          helicone_role_n);

        if ((role == helicone_role_system || role == helicone_role_developer)
            && helicone_responses_system_content(&im[helicone_it_content],
                                                 out, &n, error)
               != HELICONE_OK)
        {
            return HELICONE_DECLINED;
        }
    }

done:

    if (n) {
        helicone_translate_lit(out, "]");
    }

    return HELICONE_OK;
}


/* one system message's content as text blocks, n the blocks so far */

static int
helicone_responses_system_content(const helicone_json_value_t *content,
    helicone_buf_t *out, unsigned *n, const char **error)
{
    helicone_json_iter_t   it;
    helicone_json_value_t  part, text;

    if (content->type == HELICONE_JSON_STRING) {
        helicone_buf_add_cstr(out, (*n)++ ? "," : ",\"system\":[");
        helicone_anthropic_text_block(out, content, NULL);
        return HELICONE_OK;
    }

    if (content->type != HELICONE_JSON_ARRAY) {
        *error = "a system message's \"content\" must be a string or an "
                 "array";
        return HELICONE_DECLINED;
    }

    helicone_json_iter_init(&it, content);

    while (helicone_json_iter_next(&it, NULL, &part) == HELICONE_OK) {
        if (!helicone_translate_is(&part, "type", "input_text")
            || !helicone_translate_get_string(&part, "text", &text))
        {
            *error = "a system message may hold input_text parts only";
            return HELICONE_DECLINED;
        }

        helicone_buf_add_cstr(out, (*n)++ ? "," : ",\"system\":[");
        helicone_anthropic_text_block(out, &text, NULL);
    }

    return HELICONE_OK;
}


/*
 * "messages": each input item a message of its own (Messages joins
 * turns of one role); a string input is one user message.
 */

static int
helicone_responses_messages(const helicone_json_value_t *input,
    helicone_responses_system_t *sys, helicone_buf_t *out,
    const char **error)
{
    helicone_json_iter_t         it;
    helicone_json_value_t        item;
    helicone_responses_turns_t   turns;

    helicone_translate_lit(out, ",\"messages\":[");

    if (input->type == HELICONE_JSON_STRING) {
        helicone_translate_lit(out, "{\"role\":\"user\",\"content\":");
        helicone_translate_raw(out, input);
        helicone_translate_lit(out, "}]");
        return HELICONE_OK;
    }

    turns.n = 0;
    turns.open = helicone_turn_none;
    helicone_json_iter_init(&it, input);

    while (helicone_json_iter_next(&it, NULL, &item) == HELICONE_OK) {
        if (helicone_responses_item(&item, sys, out, &turns, error)
            != HELICONE_OK)
        {
            return HELICONE_DECLINED;
        }
    }

    if (turns.n == 0) {
        *error = "\"input\" has no message";
        return HELICONE_DECLINED;
    }

    helicone_translate_lit(out, "]");

    return HELICONE_OK;
}


static int
helicone_responses_item(const helicone_json_value_t *item,
    helicone_responses_system_t *sys, helicone_buf_t *out,
    helicone_responses_turns_t *turns, const char **error)
{
    size_t                  role;
    helicone_json_value_t   m[helicone_it_n], *type;

    if (helicone_json_object_pick(item, helicone_it_names, helicone_it_n, m)
        != HELICONE_OK)
    {
        *error = "every \"input\" item must be an object";
        return HELICONE_DECLINED;
    }

    type = &m[helicone_it_type];

    if (type->type == HELICONE_JSON_INVALID
        || helicone_json_string_eq(type, "message", 7))
    {
        role = helicone_json_string_index(&m[helicone_it_role],
                                          helicone_role_names,
                                          helicone_role_n);

        if (role == helicone_role_system || role == helicone_role_developer) {
            /* for "system", written after "messages" */
            if (sys->n < HELICONE_RESPONSES_SYSTEM_MAX) {
                sys->content[sys->n++] = m[helicone_it_content];

            } else {
                sys->more = 1;
            }

            return HELICONE_OK;
        }

        if (role == helicone_role_n) {
            *error = "an \"input\" message's role must be user, assistant, "
                     "system or developer";
            return HELICONE_DECLINED;
        }

        if (m[helicone_it_content].type == HELICONE_JSON_INVALID) {
            *error = "an \"input\" message needs \"content\"";
            return HELICONE_DECLINED;
        }

        helicone_translate_sep(out, &turns->n);
        turns->open = helicone_turn_none;
        helicone_buf_add_cstr(out, role == helicone_role_user
                                   ? "{\"role\":\"user\",\"content\":"
                                   : "{\"role\":\"assistant\",\"content\":");

        if (helicone_responses_content(&m[helicone_it_content], out, error)
            != HELICONE_OK)
        {
            return HELICONE_DECLINED;
        }

        helicone_translate_lit(out, "}");
        return HELICONE_OK;
    }

    if (helicone_json_string_eq(type, "function_call", 13)) {
        helicone_responses_turn(out, turns, helicone_turn_assistant);
        helicone_translate_lit(out, "{\"type\":\"tool_use\",\"id\":");
        helicone_translate_string(out, &m[helicone_it_call_id]);
        helicone_translate_lit(out, ",\"name\":");
        helicone_translate_string(out, &m[helicone_it_name]);
        helicone_translate_lit(out, ",\"input\":");

        if (helicone_responses_arguments(&m[helicone_it_arguments], out,
                                         error)
            != HELICONE_OK)
        {
            return HELICONE_DECLINED;
        }

        helicone_translate_lit(out, "}]}");
        return HELICONE_OK;
    }

    if (helicone_json_string_eq(type, "function_call_output", 20)) {
        helicone_responses_turn(out, turns, helicone_turn_user);
        helicone_translate_lit(out, "{\"type\":\"tool_result\","
                                    "\"tool_use_id\":");
        helicone_translate_string(out, &m[helicone_it_call_id]);
        helicone_translate_lit(out, ",\"content\":");

        if (!helicone_translate_has(&m[helicone_it_output])) {
            helicone_translate_lit(out, "\"\"");

        } else if (helicone_responses_content(&m[helicone_it_output], out,
                                              error)
                   != HELICONE_OK)
        {
            return HELICONE_DECLINED;
        }

        helicone_translate_lit(out, "}]}");
        return HELICONE_OK;
    }

    if (helicone_json_string_eq(type, "reasoning", 9)) {
        return helicone_responses_reasoning(m, out, turns);
    }

    if (helicone_json_string_eq(type, "item_reference", 14)) {
        *error = "an \"item_reference\" input needs responses stored by the "
                 "provider, which cannot be done";
        return HELICONE_DECLINED;
    }

    *error = "an \"input\" item of this type cannot be translated (message, "
             "function_call, function_call_output and reasoning can)";
    return HELICONE_DECLINED;
}


/*
 * A block of role's turn: into the last message when it is one of the
 * same role's blocks (its "]}" taken back), else in a new message. The
 * caller writes the block, then "]}".
 */

static void
helicone_responses_turn(helicone_buf_t *out,
    helicone_responses_turns_t *turns, unsigned role)
{
    if (turns->open == role && !out->overflow) {
        out->pos -= 2;
        helicone_translate_lit(out, ",");
        return;
    }

    helicone_translate_sep(out, &turns->n);
    turns->open = role;

    if (role == helicone_turn_assistant) {
        helicone_translate_lit(out, "{\"role\":\"assistant\",\"content\":[");

    } else {
        helicone_translate_lit(out, "{\"role\":\"user\",\"content\":[");
    }
}


/*
 * A reasoning item that came from Anthropic through us carries its
 * thinking's signature as encrypted_content: it goes back as that
 * thinking block, which Messages wants before a turn's tool use when
 * thinking is on. Any other (an OpenAI model's) is left out.
 */

static int
helicone_responses_reasoning(const helicone_json_value_t *m,
    helicone_buf_t *out, helicone_responses_turns_t *turns)
{
    helicone_json_iter_t   it;
    helicone_json_value_t  part, text;

    if (m[helicone_it_encrypted_content].type != HELICONE_JSON_STRING) {
        return HELICONE_OK;
    }

    text.type = HELICONE_JSON_INVALID;

    if (m[helicone_it_summary].type == HELICONE_JSON_ARRAY) {
        helicone_json_iter_init(&it, &m[helicone_it_summary]);

        if (helicone_json_iter_next(&it, NULL, &part) == HELICONE_OK) {
            (void) helicone_translate_get(&part, "text", &text);
        }
    }

    helicone_responses_turn(out, turns, helicone_turn_assistant);
    helicone_anthropic_thinking_block(out, &text,
                                      &m[helicone_it_encrypted_content]);
    helicone_translate_lit(out, "]}");

    return HELICONE_OK;
}


/*
 * A string as it is, or an array of parts as content blocks. Not
 * helicone_translate_parts() of the chat translator on purpose: the
 * part types differ (input_text, output_text, refusal, input_image) and
 * Responses has no cache_control to carry to the last block.
 */

static int
helicone_responses_content(const helicone_json_value_t *content,
    helicone_buf_t *out, const char **error)
{
    unsigned               n;
    helicone_json_iter_t   it;
    helicone_json_value_t  part;

    if (content->type == HELICONE_JSON_STRING) {
        helicone_translate_raw(out, content);
        return HELICONE_OK;
    }

    if (content->type != HELICONE_JSON_ARRAY) {
        *error = "\"content\" must be a string or an array of parts";
        return HELICONE_DECLINED;
    }

    n = 0;
    helicone_translate_lit(out, "[");
    helicone_json_iter_init(&it, content);

    while (helicone_json_iter_next(&it, NULL, &part) == HELICONE_OK) {
        helicone_translate_sep(out, &n);

        if (helicone_responses_part(&part, out, error) != HELICONE_OK) {
            return HELICONE_DECLINED;
        }
    }

    helicone_translate_lit(out, "]");

    return HELICONE_OK;
}


static int
helicone_responses_part(const helicone_json_value_t *part,
    helicone_buf_t *out, const char **error)
{
    helicone_json_value_t  type, v;

    if (!helicone_translate_get(part, "type", &type)) {
        *error = "a content part needs a \"type\"";
        return HELICONE_DECLINED;
    }

    if (helicone_json_string_eq(&type, "input_text", 10)
        || helicone_json_string_eq(&type, "output_text", 11)
        || helicone_json_string_eq(&type, "refusal", 7))
    {
        if (!helicone_translate_get(part,
                 helicone_json_string_eq(&type, "refusal", 7) ? "refusal"
                                                              : "text", &v)
            || v.type != HELICONE_JSON_STRING)
        {
            *error = "a text part needs a string \"text\"";
            return HELICONE_DECLINED;
        }

        helicone_anthropic_text_block(out, &v, NULL);
        return HELICONE_OK;
    }

    if (helicone_json_string_eq(&type, "input_image", 11)) {
        if (!helicone_translate_get_string(part, "image_url", &v)) {
            *error = "an input_image part needs an \"image_url\" (file_id "
                     "cannot be translated)";
            return HELICONE_DECLINED;
        }

        return helicone_responses_image(&v, out, error);
    }

    *error = "a content part of this type cannot be translated (input_text, "
             "output_text, refusal and input_image can)";
    return HELICONE_DECLINED;
}


/*
 * A data: URL as a base64 source, any other URL as a url source.
 * Stricter than the chat translator's helicone_translate_image() (a
 * lower-case "data:", no parameters before ";base64", no escapes), so
 * not that one: folding them would change what is accepted here.
 */

static int
helicone_responses_image(const helicone_json_value_t *url,
    helicone_buf_t *out, const char **error)
{
    size_t                 len;
    const unsigned char   *p, *semi, *end;

    static const char  b64[] = ";base64,";

    p = url->start + 1;
    end = url->start + url->len - 1;
    len = (size_t) (end - p);

    if (len > 5 && memcmp(p, "data:", 5) == 0) {
        for (semi = p + 5; semi + sizeof(b64) - 1 <= end; semi++) {
            if (*semi == ';') {
                break;
            }
        }

        if (semi + sizeof(b64) - 1 > end
            || memcmp(semi, b64, sizeof(b64) - 1) != 0)
        {
            *error = "an image data URL must be base64";
            return HELICONE_DECLINED;
        }

        helicone_anthropic_image_base64(out, p + 5, (size_t) (semi - p - 5),
                                        semi + sizeof(b64) - 1,
                                        (size_t) (end - semi
                                                  - (sizeof(b64) - 1)));
        helicone_translate_lit(out, "}");
        return HELICONE_OK;
    }

    helicone_anthropic_image_url(out, url);
    helicone_translate_lit(out, "}");

    return HELICONE_OK;
}


/* a function call's "arguments", a string of JSON, as the object */

static int
helicone_responses_arguments(const helicone_json_value_t *args,
    helicone_buf_t *out, const char **error)
{
    if (!helicone_translate_has(args) || args->len <= 2) {
        helicone_translate_lit(out, "{}");
        return HELICONE_OK;
    }

    if (args->type != HELICONE_JSON_STRING
        && args->type != HELICONE_JSON_OBJECT)
    {
        *error = "a function_call's \"arguments\" must be a string of JSON";
        return HELICONE_DECLINED;
    }

    if (helicone_anthropic_input(args, out) != HELICONE_OK) {
        *error = "a function_call's \"arguments\" must be a JSON object";
        return HELICONE_DECLINED;
    }

    return HELICONE_OK;
}


/*
 * Function tools; the number written, or -1 (*error). Not the chat
 * translator's helicone_translate_tools() on purpose: a Responses tool
 * is flat ({type, name, description, parameters}) and its parameters go
 * as the input_schema whole, where chat's sit under "function", always
 * carry a description and keep only "properties" and "required" of
 * their schema.
 */

static int
helicone_responses_tools(const helicone_json_value_t *tools,
    helicone_buf_t *out, const char **error)
{
    unsigned               n;
    helicone_json_iter_t   it;
    helicone_json_value_t  tool, v;

    if (!helicone_translate_has(tools)) {
        return 0;
    }

    if (tools->type != HELICONE_JSON_ARRAY) {
        *error = "\"tools\" must be an array";
        return -1;
    }

    n = 0;
    helicone_json_iter_init(&it, tools);

    while (helicone_json_iter_next(&it, NULL, &tool) == HELICONE_OK) {
        if (!helicone_translate_is(&tool, "type", "function")) {
            *error = "only function \"tools\" can be translated";
            return -1;
        }

        if (!helicone_translate_get_string(&tool, "name", &v)) {
            *error = "a function tool needs a \"name\"";
            return -1;
        }

        helicone_anthropic_tool_open(out, &n, &v);

        if (helicone_translate_get_string(&tool, "description", &v)) {
            helicone_translate_lit(out, ",\"description\":");
            helicone_translate_raw(out, &v);
        }

        helicone_translate_lit(out, ",\"input_schema\":");

        if (helicone_translate_get(&tool, "parameters", &v)
            && v.type == HELICONE_JSON_OBJECT)
        {
            helicone_translate_raw(out, &v);

        } else {
            helicone_translate_lit(out, "{\"type\":\"object\","
                                        "\"properties\":{}}");
        }

        helicone_translate_lit(out, "}");
    }

    if (n) {
        helicone_translate_lit(out, "]");
    }

    return (int) n;
}


/* tool_choice and parallel_tool_calls, only with tools */

static int
helicone_responses_tool_choice(const helicone_json_value_t *m, int tools,
    helicone_buf_t *out, const char **error)
{
    int                          serial;
    const helicone_json_value_t *choice;
    helicone_json_value_t        v;

    choice = &m[helicone_rq_tool_choice];
    serial = (m[helicone_rq_parallel_tool_calls].type == HELICONE_JSON_FALSE);

    if (tools == 0) {
        return HELICONE_OK;
    }

    if (!helicone_translate_has(choice)
        || helicone_json_string_eq(choice, "auto", 4))
    {
        if (serial) {
            helicone_anthropic_tool_choice(out, "auto", NULL, 1);
        }

        return HELICONE_OK;
    }

    if (helicone_json_string_eq(choice, "none", 4)) {
        helicone_anthropic_tool_choice(out, "none", NULL, 0);

    } else if (helicone_json_string_eq(choice, "required", 8)) {
        helicone_anthropic_tool_choice(out, "any", NULL, serial);

    } else if (helicone_translate_is(choice, "type", "function")
               && helicone_translate_get_string(choice, "name", &v))
    {
        helicone_anthropic_tool_choice(out, "tool", &v, serial);

    } else {
        *error = "this \"tool_choice\" cannot be translated (auto, none, "
                 "required and a function can)";
        return HELICONE_DECLINED;
    }

    return HELICONE_OK;
}


/* response: Anthropic message -> Responses "response" */

static void
helicone_responses_head(helicone_buf_t *out, const unsigned char *id,
    size_t id_len, int64_t created, const unsigned char *model,
    size_t model_len)
{
    /* "msg_..." becomes "resp_...": one id names both */
    if (id_len > 4 && memcmp(id, "msg_", 4) == 0) {
        id += 4;
        id_len -= 4;
    }

    helicone_translate_lit(out, "{\"id\":\"resp_");
    helicone_buf_add(out, id, id_len);
    helicone_translate_lit(out, "\",\"object\":\"response\",\"created_at\":");
    helicone_buf_add_int(out, created);
    helicone_translate_lit(out, ",\"model\":\"");
    helicone_buf_add(out, model, model_len);
    helicone_translate_lit(out, "\"");
}


static void
helicone_responses_status(helicone_buf_t *out, int incomplete, int refused)
{
    if (incomplete || refused) {
        helicone_translate_lit(out, ",\"status\":\"incomplete\","
                                    "\"incomplete_details\":{\"reason\":");

        if (incomplete) {
            helicone_translate_lit(out, "\"max_output_tokens\"}");

        } else {
            helicone_translate_lit(out, "\"content_filter\"}");
        }

        return;
    }

    helicone_translate_lit(out, ",\"status\":\"completed\","
                                "\"incomplete_details\":null");
}


/* input_tokens counts cached tokens too, as OpenAI reports it */

static void
helicone_responses_usage(helicone_buf_t *out, const helicone_usage_t *u)
{
    int64_t  in, output, read;

    read = helicone_usage_count(u->cache_read_tokens);
    output = helicone_usage_count(u->completion_tokens);

    in = helicone_usage_add(helicone_usage_count(u->uncached_input_tokens),
                            read);
    in = helicone_usage_add(in, helicone_usage_count(u->cache_write_tokens));

    helicone_translate_lit(out, ",\"usage\":{\"input_tokens\":");
    helicone_buf_add_int(out, in);
    helicone_translate_lit(out, ",\"input_tokens_details\":"
                                "{\"cached_tokens\":");
    helicone_buf_add_int(out, read);
    helicone_translate_lit(out, "},\"output_tokens\":");
    helicone_buf_add_int(out, output);
    helicone_translate_lit(out, ",\"output_tokens_details\":"
                                "{\"reasoning_tokens\":0},"
                                "\"total_tokens\":");
    helicone_buf_add_int(out, helicone_usage_add(in, output));
    helicone_translate_lit(out, "}");
}


int
helicone_translate_responses_response(const helicone_json_value_t *resp,
    int64_t created, helicone_buf_t *out, helicone_usage_t *usage)
{
    unsigned               n, text, parts;
    unsigned char         *pos;
    helicone_usage_t       u;
    helicone_json_iter_t   it;
    helicone_json_value_t  content, block, id, model, v;

    if (resp == NULL || resp->type != HELICONE_JSON_OBJECT
        || !helicone_translate_get(resp, "content", &content)
        || content.type != HELICONE_JSON_ARRAY
        || !helicone_translate_is(resp, "type", "message"))
    {
        return HELICONE_DECLINED;
    }

    pos = out->pos;

    if (!helicone_translate_get_string(resp, "id", &id)) {
        id.start = (const unsigned char *) "\"msg\"";
        id.len = 5;
    }

    if (!helicone_translate_get_string(resp, "model", &model)) {
        model.start = (const unsigned char *) "\"\"";
        model.len = 2;
    }

    helicone_responses_head(out, id.start + 1, id.len - 2, created,
                            model.start + 1, model.len - 2);

    helicone_responses_status(out,
                              helicone_translate_is(resp, "stop_reason",
                                                    "max_tokens"),
                              helicone_translate_is(resp, "stop_reason",
                                                    "refusal"));

    helicone_translate_lit(out, ",\"error\":null,\"output\":[");

    /* text blocks in a message item, each a part; each tool_use a call */

    n = 0;
    text = 0;
    parts = 0;
    helicone_json_iter_init(&it, &content);

    while (helicone_json_iter_next(&it, NULL, &block) == HELICONE_OK) {

        if (helicone_translate_is(&block, "type", "text")
            && helicone_translate_get_string(&block, "text", &v))
        {
            if (!text) {
                helicone_translate_sep(out, &n);
                helicone_translate_lit(out, "{\"id\":\"");
                helicone_buf_add(out, id.start + 1, id.len - 2);
                helicone_translate_lit(out, "_");
                helicone_buf_add_int(out, (int64_t) n - 1);
                helicone_translate_lit(out, "\",\"type\":\"message\","
                                            "\"status\":\"completed\","
                                            "\"role\":\"assistant\","
                                            "\"content\":[");
                text = 1;
                parts = 0;
            }

            helicone_translate_sep(out, &parts);
            helicone_translate_lit(out, "{\"type\":\"output_text\","
                                        "\"annotations\":[],"
                                        "\"logprobs\":[],\"text\":");
            helicone_translate_raw(out, &v);
            helicone_translate_lit(out, "}");
            continue;
        }

        if (helicone_translate_is(&block, "type", "thinking")) {
            if (text) {
                helicone_translate_lit(out, "]}");
                text = 0;
            }

            /* its signature brings it back (helicone_responses_reasoning) */
            helicone_translate_sep(out, &n);
            helicone_translate_lit(out, "{\"id\":\"rs_");
            helicone_buf_add(out, id.start + 1, id.len - 2);
            helicone_translate_lit(out, "_");
            helicone_buf_add_int(out, (int64_t) n - 1);
            helicone_translate_lit(out, "\",\"type\":\"reasoning\","
                                        "\"summary\":[{\"type\":"
                                        "\"summary_text\",\"text\":");
            helicone_translate_string(out,
                helicone_translate_get(&block, "thinking", &v) ? &v : NULL);
            helicone_translate_lit(out, "}]");

            if (helicone_translate_get_string(&block, "signature", &v)) {
                helicone_translate_lit(out, ",\"encrypted_content\":");
                helicone_translate_raw(out, &v);
            }

            helicone_translate_lit(out, "}");
            continue;
        }

        if (!helicone_translate_is(&block, "type", "tool_use")) {
            /* redacted thinking: its tokens are in the usage only */
            continue;
        }

        if (text) {
            helicone_translate_lit(out, "]}");
            text = 0;
        }

        helicone_translate_sep(out, &n);

        if (!helicone_translate_get_string(&block, "id", &v)) {
            v.start = (const unsigned char *) "\"\"";
            v.len = 2;
        }

        helicone_translate_lit(out, "{\"id\":\"fc_");
        helicone_buf_add(out, v.start + 1, v.len - 2);
        helicone_translate_lit(out, "\",\"type\":\"function_call\","
                                    "\"status\":\"completed\",\"call_id\":");
        helicone_translate_raw(out, &v);
        helicone_translate_lit(out, ",\"name\":");
        helicone_translate_string(out, helicone_translate_get(&block, "name",
                                                               &v)
                                       ? &v : NULL);
        helicone_translate_lit(out, ",\"arguments\":\"");

        if (helicone_translate_get(&block, "input", &v)) {
            helicone_buf_add_escaped(out, v.start, v.len);

        } else {
            helicone_translate_lit(out, "{}");
        }

        helicone_translate_lit(out, "\"}");
    }

    if (text) {
        helicone_translate_lit(out, "]}");
    }

    helicone_translate_lit(out, "]");

    helicone_usage_init(&u);
    (void) helicone_usage_from_anthropic(resp, &u);
    helicone_responses_usage(out, &u);

    helicone_translate_lit(out, "}");

    if (helicone_buf_end(out, pos, HELICONE_OK) != HELICONE_OK) {
        return HELICONE_ERROR;
    }

    if (usage) {
        *usage = u;
    }

    return HELICONE_OK;
}


/* stream: Anthropic events -> Responses events */

/* the members of message_start's message read */

enum {
    helicone_sm_id = 0,
    helicone_sm_model,
    helicone_sm_usage,
    helicone_sm_n
};

static const helicone_str_t  helicone_sm_members[] = {
    helicone_string("id"), helicone_string("model"), helicone_string("usage")
};

/* and of a content block */

enum {
    helicone_sb_type = 0,
    helicone_sb_id,
    helicone_sb_name,
    helicone_sb_n
};

static const helicone_str_t  helicone_sb_members[] = {
    helicone_string("type"), helicone_string("id"), helicone_string("name")
};


void
helicone_responses_stream_init(helicone_responses_stream_t *s,
    int64_t created, unsigned char *items, size_t size,
    helicone_sse_grow_pt grow, void *grow_ctx, size_t max)
{
    helicone_translate_stream_init(&s->base, created, 0);

    helicone_buf_init(&s->items, items, size);
    s->grow = grow;
    s->grow_ctx = grow_ctx;
    s->max = max;
    s->item_start = 0;
    s->value_start = 0;
    s->seq = 0;
    s->output_index = 0;
    s->nitems = 0;
    s->open = helicone_item_none;
    s->incomplete = 0;
    s->refused = 0;
    s->item_id_len = 0;
}


/*
 * The event is translated into a copy of the state, kept only when the
 * output fitted; text deltas, the bulk, only move the items' end and the
 * sequence, which are put back instead.
 */

int
helicone_responses_stream_event(helicone_responses_stream_t *s,
    const helicone_sse_event_t *ev, helicone_buf_t *out)
{
    size_t                        used;
    int64_t                       seq;
    unsigned                      kind;
    unsigned char                *pos;
    helicone_json_value_t         m[helicone_anthropic_ev_n], text;
    helicone_responses_stream_t   t;

    if (s == NULL || ev == NULL || s->base.failed || s->base.stopped
        || ev->truncated || ev->data.data == NULL)
    {
        return HELICONE_OK;
    }

    pos = out->pos;

    if (helicone_anthropic_text_delta(ev, &text)) {
        if (s->open != helicone_item_text) {
            return HELICONE_OK;
        }

        seq = s->seq;
        used = (size_t) (s->items.pos - s->items.start);

        helicone_responses_text_delta(s, &text, out);

        if (out->overflow) {
            /* the items' buffer may have grown meanwhile: by offset */
            out->pos = pos;
            s->seq = seq;
            s->items.pos = s->items.start + used;
            s->items.overflow = 0;
            s->base.failed = 0;
            return HELICONE_ERROR;
        }

        return HELICONE_OK;
    }

    kind = helicone_anthropic_event_pick(ev, m);

    if (kind == helicone_anthropic_event_n) {
        /* ping, and what comes new */
        return HELICONE_OK;
    }

    t = *s;

    switch (kind) {
    case helicone_anthropic_message_start:
        helicone_responses_stream_start(&t, &m[helicone_anthropic_ev_message],
                                        out);
        break;

    case helicone_anthropic_block_start:
        helicone_responses_block_start(&t, &m[helicone_anthropic_ev_block],
                                       out);
        break;

    case helicone_anthropic_block_delta:
        helicone_responses_block_delta(&t, &m[helicone_anthropic_ev_delta],
                                       out);
        break;

    case helicone_anthropic_block_stop:
        helicone_responses_block_stop(&t, out);
        break;

    case helicone_anthropic_message_delta:
        (void) helicone_usage_anthropic_object(
                   &m[helicone_anthropic_ev_usage], &t.base.usage);

        if (helicone_translate_get(&m[helicone_anthropic_ev_delta],
                                   "stop_reason", &text))
        {
            t.incomplete = helicone_json_string_eq(&text, "max_tokens", 10);
            t.refused = helicone_json_string_eq(&text, "refusal", 7);
        }

        break;

    case helicone_anthropic_message_stop:
        helicone_responses_stream_stop(&t, out);
        break;

    case helicone_anthropic_error:
        helicone_responses_stream_error(&t, &m[helicone_anthropic_ev_error],
                                        out);
        break;

    default:
        break;
    }

    if (helicone_buf_end(out, pos, HELICONE_OK) != HELICONE_OK) {
        return HELICONE_ERROR;
    }

    *s = t;

    return HELICONE_OK;
}


/*
 * Room for len more bytes of items, the buffer grown if it must be; when
 * it cannot, the write that follows flags the overflow.
 */

static void
helicone_responses_reserve(helicone_responses_stream_t *s, size_t len)
{
    size_t          used, size;
    unsigned char  *p;

    used = (size_t) (s->items.pos - s->items.start);
    size = (size_t) (s->items.end - s->items.start);

    if (s->items.overflow || size - used >= len || s->grow == NULL) {
        return;
    }

    while (size - used < len && size < s->max) {
        size = (size > s->max / 2) ? s->max : 2 * size;
    }

    if (size - used < len) {
        return;
    }

    p = s->grow(s->grow_ctx, size);
    if (p == NULL) {
        return;
    }

    if (used) {
        memcpy(p, s->items.start, used);
    }

    helicone_buf_init(&s->items, p, size);
    s->items.pos = p + used;
}


static void
helicone_responses_event_open(helicone_responses_stream_t *s,
    helicone_buf_t *out, const char *type, size_t len)
{
    helicone_translate_lit(out, "event: ");
    helicone_buf_add(out, type, len);
    helicone_translate_lit(out, "\ndata: {\"type\":\"");
    helicone_buf_add(out, type, len);
    helicone_translate_lit(out, "\",\"sequence_number\":");
    helicone_buf_add_int(out, s->seq++);
}


#define helicone_responses_event(s, out, type)                                \
    helicone_responses_event_open(s, out, type, sizeof(type) - 1)


/* ,"item_id":...,"output_index":N of the open item */

static void
helicone_responses_item_ref(helicone_responses_stream_t *s,
    helicone_buf_t *out)
{
    helicone_translate_lit(out, ",\"item_id\":\"");
    helicone_buf_add(out, s->item_id, s->item_id_len);
    helicone_translate_lit(out, "\",\"output_index\":");
    helicone_buf_add_int(out, s->output_index);
}


/* the response object: in progress, or at its end with the output */

static void
helicone_responses_stream_response(helicone_responses_stream_t *s,
    helicone_buf_t *out, const char *status, int output)
{
    helicone_responses_head(out, s->base.id, s->base.id_len, s->base.created,
                            s->base.model, s->base.model_len);

    if (!output) {
        helicone_translate_lit(out, ",\"status\":\"");
        helicone_buf_add_cstr(out, status);
        helicone_translate_lit(out, "\",\"incomplete_details\":null,"
                                    "\"error\":null,\"output\":[],"
                                    "\"usage\":null}");
        return;
    }

    helicone_responses_status(out, s->incomplete, s->refused);
    helicone_translate_lit(out, ",\"error\":null,\"output\":[");
    helicone_buf_add(out, s->items.start,
                     (size_t) (s->items.pos - s->items.start));
    helicone_translate_lit(out, "]");
    helicone_responses_usage(out, &s->base.usage);
    helicone_translate_lit(out, "}");
}


static void
helicone_responses_stream_start(helicone_responses_stream_t *s,
    const helicone_json_value_t *message, helicone_buf_t *out)
{
    size_t                 len;
    unsigned char         *resp;
    helicone_json_value_t  v[helicone_sm_n];

    if (s->base.started
        || helicone_json_object_pick(message, helicone_sm_members,
                                     helicone_sm_n, v)
           != HELICONE_OK)
    {
        return;
    }

    s->base.started = 1;

    /* the id and model as they are written, escapes kept */

    if (v[helicone_sm_id].type == HELICONE_JSON_STRING
        && v[helicone_sm_id].len - 2 <= HELICONE_TRANSLATE_ID_MAX)
    {
        memcpy(s->base.id, v[helicone_sm_id].start + 1,
               v[helicone_sm_id].len - 2);
        s->base.id_len = v[helicone_sm_id].len - 2;
    }

    if (v[helicone_sm_model].type == HELICONE_JSON_STRING
        && v[helicone_sm_model].len - 2 <= HELICONE_TRANSLATE_MODEL_MAX)
    {
        memcpy(s->base.model, v[helicone_sm_model].start + 1,
               v[helicone_sm_model].len - 2);
        s->base.model_len = v[helicone_sm_model].len - 2;
    }

    (void) helicone_usage_anthropic_object(&v[helicone_sm_usage],
                                           &s->base.usage);

    helicone_responses_event(s, out, "response.created");
    helicone_translate_lit(out, ",\"response\":");
    resp = out->pos;
    helicone_responses_stream_response(s, out, "in_progress", 0);
    len = (size_t) (out->pos - resp);
    helicone_translate_lit(out, "}\n\n");

    /* the same response object again */
    helicone_responses_event(s, out, "response.in_progress");
    helicone_translate_lit(out, ",\"response\":");

    if (!out->overflow) {
        helicone_buf_add(out, resp, len);
    }

    helicone_translate_lit(out, "}\n\n");
}


static void
helicone_responses_block_start(helicone_responses_stream_t *s,
    const helicone_json_value_t *block, helicone_buf_t *out)
{
    helicone_buf_t          id;
    helicone_json_value_t   b[helicone_sb_n], v, name;

    if (s->open != helicone_item_none) {
        /* blocks come one after another: close one left open */
        helicone_responses_block_stop(s, out);
    }

    if (helicone_json_object_pick(block, helicone_sb_members, helicone_sb_n,
                                  b)
        != HELICONE_OK)
    {
        s->open = helicone_item_skip;
        return;
    }

    v = b[helicone_sb_id];
    name = b[helicone_sb_name];

    if (helicone_json_string_eq(&b[helicone_sb_type], "text", 4)) {
        s->open = helicone_item_text;

    } else if (helicone_json_string_eq(&b[helicone_sb_type], "tool_use", 8)
               && v.type == HELICONE_JSON_STRING
               && v.len - 2 + 3 <= HELICONE_RESPONSES_ITEM_ID_MAX
               && name.type == HELICONE_JSON_STRING)
    {
        s->open = helicone_item_tool;

    } else if (helicone_json_string_eq(&b[helicone_sb_type], "thinking", 8)) {
        s->open = helicone_item_thinking;
        s->signature = 0;

    } else {
        /* redacted thinking and the rest: in the usage only */
        s->open = helicone_item_skip;
        return;
    }

    s->output_index = s->nitems;

    /*
     * the open item's id: "<message id>_<index>", "rs_" and the same, or
     * "fc_<tool id>"
     */

    helicone_buf_init(&id, s->item_id, sizeof(s->item_id));

    if (s->open == helicone_item_thinking) {
        helicone_translate_lit(&id, "rs_");
    }

    if (s->open != helicone_item_tool) {
        helicone_buf_add(&id, s->base.id,
                         s->base.id_len < sizeof(s->item_id) - 24
                         ? s->base.id_len : 0);
        helicone_translate_lit(&id, "_");
        helicone_buf_add_int(&id, s->output_index);

    } else {
        helicone_translate_lit(&id, "fc_");
        helicone_buf_add(&id, v.start + 1, v.len - 2);
    }

    s->item_id_len = (size_t) (id.pos - id.start);

    /* its final form in items, but for the text or arguments */

    /* the item's start: its id, type, call id and name */
    helicone_responses_reserve(s, 256 + s->item_id_len
                                  + (s->open == helicone_item_tool
                                     ? v.len + name.len : 0));

    if (s->nitems++) {
        helicone_translate_lit(&s->items, ",");
    }

    s->item_start = (size_t) (s->items.pos - s->items.start);

    helicone_translate_lit(&s->items, "{\"id\":\"");
    helicone_buf_add(&s->items, s->item_id, s->item_id_len);

    helicone_responses_event(s, out, "response.output_item.added");
    helicone_translate_lit(out, ",\"output_index\":");
    helicone_buf_add_int(out, s->output_index);
    helicone_translate_lit(out, ",\"item\":{\"id\":\"");
    helicone_buf_add(out, s->item_id, s->item_id_len);

    if (s->open == helicone_item_text) {
        helicone_translate_lit(&s->items, "\",\"type\":\"message\","
                                          "\"status\":\"completed\","
                                          "\"role\":\"assistant\","
                                          "\"content\":[{\"type\":"
                                          "\"output_text\",\"annotations\":"
                                          "[],\"logprobs\":[],\"text\":\"");

        helicone_translate_lit(out, "\",\"type\":\"message\","
                                    "\"status\":\"in_progress\","
                                    "\"role\":\"assistant\","
                                    "\"content\":[]}}\n\n");

        helicone_responses_event(s, out, "response.content_part.added");
        helicone_responses_item_ref(s, out);
        helicone_translate_lit(out, ",\"content_index\":0,\"part\":"
                                    "{\"type\":\"output_text\","
                                    "\"annotations\":[],\"logprobs\":[],"
                                    "\"text\":\"\"}}\n\n");

    } else if (s->open == helicone_item_thinking) {
        helicone_translate_lit(&s->items, "\",\"type\":\"reasoning\","
                                          "\"summary\":[{\"type\":"
                                          "\"summary_text\",\"text\":\"");

        helicone_translate_lit(out, "\",\"type\":\"reasoning\","
                                    "\"summary\":[]}}\n\n");

        helicone_responses_event(s, out,
                                 "response.reasoning_summary_part.added");
        helicone_responses_item_ref(s, out);
        helicone_translate_lit(out, ",\"summary_index\":0,\"part\":"
                                    "{\"type\":\"summary_text\","
                                    "\"text\":\"\"}}\n\n");

    } else {
        helicone_translate_lit(&s->items, "\",\"type\":\"function_call\","
                                          "\"status\":\"completed\","
                                          "\"call_id\":");
        helicone_buf_add(&s->items, v.start, v.len);
        helicone_translate_lit(&s->items, ",\"name\":");
        helicone_buf_add(&s->items, name.start, name.len);
        helicone_translate_lit(&s->items, ",\"arguments\":\"");

        helicone_translate_lit(out, "\",\"type\":\"function_call\","
                                    "\"status\":\"in_progress\","
                                    "\"call_id\":");
        helicone_translate_raw(out, &v);
        helicone_translate_lit(out, ",\"name\":");
        helicone_translate_raw(out, &name);
        helicone_translate_lit(out, ",\"arguments\":\"\"}}\n\n");
    }

    s->value_start = (size_t) (s->items.pos - s->items.start);

    if (s->items.overflow) {
        helicone_responses_stream_failed(s, out);
    }
}


static void
helicone_responses_block_delta(helicone_responses_stream_t *s,
    const helicone_json_value_t *delta, helicone_buf_t *out)
{
    helicone_json_value_t  v;

    if (s->open == helicone_item_text
        && helicone_translate_is(delta, "type", "text_delta")
        && helicone_translate_get_string(delta, "text", &v))
    {
        helicone_responses_text_delta(s, &v, out);
        return;
    }

    if (s->open == helicone_item_thinking) {
        helicone_responses_thinking_delta(s, delta, out);
        return;
    }

    if (s->open != helicone_item_tool
        || !helicone_translate_is(delta, "type", "input_json_delta")
        || !helicone_translate_get_string(delta, "partial_json", &v)
        || v.len <= 2)
    {
        return;
    }

    helicone_responses_reserve(s, v.len);
    helicone_translate_body(&s->items, &v);

    helicone_responses_event(s, out, "response.function_call_arguments.delta");
    helicone_responses_item_ref(s, out);
    helicone_translate_lit(out, ",\"delta\":");
    helicone_translate_raw(out, &v);
    helicone_translate_lit(out, "}\n\n");

    if (s->items.overflow) {
        helicone_responses_stream_failed(s, out);
    }
}


static void
helicone_responses_text_delta(helicone_responses_stream_t *s,
    const helicone_json_value_t *text, helicone_buf_t *out)
{
    if (text->len <= 2) {
        return;
    }

    helicone_responses_reserve(s, text->len);
    helicone_translate_body(&s->items, text);

    helicone_responses_event(s, out, "response.output_text.delta");
    helicone_responses_item_ref(s, out);
    helicone_translate_lit(out, ",\"content_index\":0,\"delta\":");
    helicone_translate_raw(out, text);
    helicone_translate_lit(out, ",\"logprobs\":[]}\n\n");

    if (s->items.overflow) {
        helicone_responses_stream_failed(s, out);
    }
}


/*
 * Thinking as a reasoning item: its text as the summary, then its
 * signature as encrypted_content, which brings it back (see
 * helicone_responses_item()).
 */

static void
helicone_responses_thinking_delta(helicone_responses_stream_t *s,
    const helicone_json_value_t *delta, helicone_buf_t *out)
{
    helicone_json_value_t  v;

    if (!s->signature
        && helicone_translate_is(delta, "type", "thinking_delta")
        && helicone_translate_get_string(delta, "thinking", &v)
        && v.len > 2)
    {
        helicone_responses_reserve(s, v.len);
        helicone_translate_body(&s->items, &v);

        helicone_responses_event(s, out,
                                 "response.reasoning_summary_text.delta");
        helicone_responses_item_ref(s, out);
        helicone_translate_lit(out, ",\"summary_index\":0,\"delta\":");
        helicone_translate_raw(out, &v);
        helicone_translate_lit(out, "}\n\n");

    } else if (helicone_translate_is(delta, "type", "signature_delta")
               && helicone_translate_get_string(delta, "signature", &v))
    {
        helicone_responses_reserve(s, v.len + 32);

        if (!s->signature) {
            s->signature = 1;
            s->value_end = (size_t) (s->items.pos - s->items.start);
            helicone_translate_lit(&s->items,
                                   "\"}],\"encrypted_content\":\"");
        }

        helicone_translate_body(&s->items, &v);

    } else {
        return;
    }

    if (s->items.overflow) {
        helicone_responses_stream_failed(s, out);
    }
}


/* the open item is done: its text or arguments whole, then the item */

static void
helicone_responses_block_stop(helicone_responses_stream_t *s,
    helicone_buf_t *out)
{
    size_t          value_end;
    unsigned        open;
    unsigned char  *value, *item;

    open = s->open;
    s->open = helicone_item_none;

    if (open == helicone_item_none || open == helicone_item_skip) {
        return;
    }

    helicone_responses_reserve(s, 32);

    if (open == helicone_item_tool
        && s->items.start + s->value_start == s->items.pos)
    {
        /* a call without arguments has an empty object */
        helicone_translate_lit(&s->items, "{}");
    }

    value_end = (size_t) (s->items.pos - s->items.start);

    if (open == helicone_item_text) {
        helicone_translate_lit(&s->items, "\"}]}");

    } else if (open == helicone_item_thinking) {
        if (s->signature) {
            /* the text ended where the signature began */
            value_end = s->value_end;
            helicone_translate_lit(&s->items, "\"}");

        } else {
            helicone_translate_lit(&s->items, "\"}]}");
        }

    } else {
        helicone_translate_lit(&s->items, "\"}");
    }

    if (s->items.overflow) {
        helicone_responses_stream_failed(s, out);
        return;
    }

    value = s->items.start + s->value_start;
    item = s->items.start + s->item_start;

    if (open == helicone_item_text) {
        helicone_responses_event(s, out, "response.output_text.done");
        helicone_responses_item_ref(s, out);
        helicone_translate_lit(out, ",\"content_index\":0,\"text\":\"");
        helicone_buf_add(out, value, value_end - s->value_start);
        helicone_translate_lit(out, "\",\"logprobs\":[]}\n\n");

        helicone_responses_event(s, out, "response.content_part.done");
        helicone_responses_item_ref(s, out);
        helicone_translate_lit(out, ",\"content_index\":0,\"part\":"
                                    "{\"type\":\"output_text\","
                                    "\"annotations\":[],\"logprobs\":[],"
                                    "\"text\":\"");
        helicone_buf_add(out, value, value_end - s->value_start);
        helicone_translate_lit(out, "\"}}\n\n");

    } else if (open == helicone_item_thinking) {
        helicone_responses_event(s, out,
                                 "response.reasoning_summary_text.done");
        helicone_responses_item_ref(s, out);
        helicone_translate_lit(out, ",\"summary_index\":0,\"text\":\"");
        helicone_buf_add(out, value, value_end - s->value_start);
        helicone_translate_lit(out, "\"}\n\n");

        helicone_responses_event(s, out,
                                 "response.reasoning_summary_part.done");
        helicone_responses_item_ref(s, out);
        helicone_translate_lit(out, ",\"summary_index\":0,\"part\":"
                                    "{\"type\":\"summary_text\",\"text\":\"");
        helicone_buf_add(out, value, value_end - s->value_start);
        helicone_translate_lit(out, "\"}}\n\n");

    } else {
        helicone_responses_event(s, out,
                                 "response.function_call_arguments.done");
        helicone_responses_item_ref(s, out);
        helicone_translate_lit(out, ",\"arguments\":\"");
        helicone_buf_add(out, value, value_end - s->value_start);
        helicone_translate_lit(out, "\"}\n\n");
    }

    helicone_responses_event(s, out, "response.output_item.done");
    helicone_translate_lit(out, ",\"output_index\":");
    helicone_buf_add_int(out, s->output_index);
    helicone_translate_lit(out, ",\"item\":");
    helicone_buf_add(out, item, (size_t) (s->items.pos - item));
    helicone_translate_lit(out, "}\n\n");
}


static void
helicone_responses_stream_stop(helicone_responses_stream_t *s,
    helicone_buf_t *out)
{
    if (s->open != helicone_item_none) {
        helicone_responses_block_stop(s, out);

        if (s->base.failed) {
            return;
        }
    }

    s->base.stopped = 1;

    if (s->incomplete || s->refused) {
        helicone_responses_event(s, out, "response.incomplete");

    } else {
        helicone_responses_event(s, out, "response.completed");
    }

    helicone_translate_lit(out, ",\"response\":");
    helicone_responses_stream_response(s, out, NULL, 1);
    helicone_translate_lit(out, "}\n\n");
}


/* Anthropic's error event as the Responses stream's "error" */

static void
helicone_responses_stream_error(helicone_responses_stream_t *s,
    const helicone_json_value_t *error, helicone_buf_t *out)
{
    helicone_json_value_t  v;

    s->base.failed = 1;

    helicone_responses_event(s, out, "error");
    helicone_translate_lit(out, ",\"code\":");
    helicone_translate_string(out, helicone_translate_get(error, "type", &v)
                                   ? &v : NULL);
    helicone_translate_lit(out, ",\"message\":");
    helicone_translate_string(out, helicone_translate_get(error, "message",
                                                          &v)
                                   ? &v : NULL);
    helicone_translate_lit(out, ",\"param\":null}\n\n");
}


/* the output items outgrew their buffer: the response cannot be whole */

static void
helicone_responses_stream_failed(helicone_responses_stream_t *s,
    helicone_buf_t *out)
{
    s->base.failed = 1;
    s->open = helicone_item_none;

    helicone_responses_event(s, out, "response.failed");
    helicone_translate_lit(out, ",\"response\":");
    helicone_responses_head(out, s->base.id, s->base.id_len, s->base.created,
                            s->base.model, s->base.model_len);
    helicone_translate_lit(out, ",\"status\":\"failed\","
                                "\"incomplete_details\":null,"
                                "\"error\":{\"code\":\"server_error\","
                                "\"message\":\"the response is too large "
                                "to be translated\"},\"output\":[]");
    helicone_responses_usage(out, &s->base.usage);
    helicone_translate_lit(out, "}}\n\n");
}
