/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* OpenAI chat.completions <-> Anthropic Messages, as spans in, JSON out. */

#include <string.h>

#include "helicone_translate_anthropic.h"


#define HELICONE_TRANSLATE_ERROR_MAX  1000

typedef enum {
    helicone_block_none = 0,
    helicone_block_text,
    helicone_block_tool,
    helicone_block_thinking,
    helicone_block_other
} helicone_translate_block_e;


/*
 * The request's top-level members that the translator reads, picked in
 * one pass: a look-up each would rescan a large body every time.
 */

enum {
    helicone_req_messages = 0,
    helicone_req_model,
    helicone_req_reasoning_effort,
    helicone_req_temperature,
    helicone_req_top_p,
    helicone_req_stream,
    helicone_req_functions,
    helicone_req_function_call,
    helicone_req_logit_bias,
    helicone_req_max_completion_tokens,
    helicone_req_max_tokens,
    helicone_req_stop,
    helicone_req_safety_identifier,
    helicone_req_prompt_cache_key,
    helicone_req_user,
    helicone_req_tools,
    helicone_req_tool_choice,
    helicone_req_n
};

typedef struct {
    const helicone_json_value_t  *obj;
    helicone_json_value_t         v[helicone_req_n];
} helicone_translate_req_t;


static void helicone_translate_req_read(helicone_translate_req_t *req,
    const helicone_json_value_t *obj);

static int helicone_translate_check_unsupported(
    const helicone_translate_req_t *req, const char **error);
static int helicone_translate_max_tokens(const helicone_translate_req_t *req,
    const helicone_translate_opts_t *opts, int64_t *max, const char **error);


/*
 * A message's members, picked in one pass: the translators ask for
 * several, and a scan per question re-read the content every time.
 */

enum {
    helicone_msg_role = 0,
    helicone_msg_content,
    helicone_msg_cache_control,
    helicone_msg_tool_calls,
    helicone_msg_reasoning_details,
    helicone_msg_images,
    helicone_msg_tool_call_id,
    helicone_msg_n
};

typedef struct {
    helicone_json_value_t  v[helicone_msg_n];
} helicone_translate_msg_t;


/*
 * The messages, picked once for the two passes over them (system, then
 * the rest); past the first HELICONE_TRANSLATE_MSGS they are picked as
 * each pass comes to them.
 */

#define HELICONE_TRANSLATE_MSGS  32

typedef struct {
    size_t                     count;    /* messages in the array */
    size_t                     n;        /* of them picked here */
    helicone_json_iter_t       rest;     /* the array after those */
    helicone_json_value_t      obj[HELICONE_TRANSLATE_MSGS];
    helicone_translate_msg_t   msg[HELICONE_TRANSLATE_MSGS];
} helicone_translate_msgs_t;

/* a pass over the list */

typedef struct {
    size_t                     i;
    helicone_json_iter_t       it;
    helicone_json_value_t      obj;
    helicone_translate_msg_t   scratch;
} helicone_translate_msgs_pass_t;

static int helicone_translate_msg_read(const helicone_json_value_t *m,
    helicone_translate_msg_t *msg);
static void helicone_translate_msgs_read(helicone_translate_msgs_t *list,
    const helicone_json_value_t *msgs);
static const helicone_translate_msg_t *helicone_translate_msgs_next(
    const helicone_translate_msgs_t *list,
    helicone_translate_msgs_pass_t *pass);

static int helicone_translate_system(const helicone_translate_msgs_t *msgs,
    helicone_buf_t *out, const char **error);
static int helicone_translate_mget(const helicone_json_value_t *picked,
    unsigned member, helicone_json_value_t *v);
static int helicone_translate_system_blocks(const helicone_translate_msg_t *m,
    helicone_buf_t *out, unsigned *n);
static int helicone_translate_messages(const helicone_translate_msgs_t *msgs,
    helicone_buf_t *out, const char **error);
static int helicone_translate_user(const helicone_translate_msg_t *m,
    helicone_buf_t *out, const char **error);
static int helicone_translate_assistant(const helicone_translate_msg_t *m,
    helicone_buf_t *out, const char **error);
static int helicone_translate_tool_result(const helicone_translate_msg_t *m,
    helicone_buf_t *out, const char **error);
static int helicone_translate_parts(const helicone_json_value_t *parts,
    const helicone_json_value_t *cc, helicone_buf_t *out, unsigned *n,
    const char **error);
static int helicone_translate_part(const helicone_json_value_t *part,
    const helicone_json_value_t *cc, helicone_buf_t *out,
    const char **error);
static int helicone_translate_image(const helicone_json_value_t *url,
    helicone_buf_t *out, const char **error);
static int helicone_translate_tool_use(const helicone_json_value_t *call,
    helicone_buf_t *out, const char **error);
static int helicone_translate_stop(const helicone_translate_req_t *req,
    helicone_buf_t *out, const char **error);
static int helicone_translate_user_id(const helicone_translate_req_t *req,
    helicone_buf_t *out);
static int helicone_translate_tools(const helicone_translate_req_t *req,
    helicone_buf_t *out, const char **error);
static int helicone_translate_tool_choice(const helicone_translate_req_t *req,
    int emit, helicone_buf_t *out, const char **error);
static int helicone_translate_request_body(const helicone_translate_req_t *req,
    const helicone_translate_opts_t *opts, helicone_buf_t *out,
    const char **error);

static const char *helicone_translate_finish(const helicone_json_value_t *v);
static void helicone_translate_usage(helicone_buf_t *out,
    const helicone_usage_t *u, int stream);
static void helicone_translate_text(const helicone_json_value_t *content,
    const char *type, const char *field, helicone_buf_t *out);
static void helicone_translate_tool_calls(
    const helicone_json_value_t *content, helicone_buf_t *out);
static void helicone_translate_reasoning_details(
    const helicone_json_value_t *content, helicone_buf_t *out);
static void helicone_translate_annotations(
    const helicone_json_value_t *content, helicone_buf_t *out);

static void helicone_translate_chunk_open(helicone_translate_stream_t *s,
    helicone_buf_t *out);
static void helicone_translate_delta_open(helicone_translate_stream_t *s,
    helicone_buf_t *out);
static void helicone_translate_delta_close(helicone_buf_t *out);
static void helicone_translate_delta_text(helicone_translate_stream_t *s,
    const char *field, const helicone_json_value_t *text,
    helicone_buf_t *out);
static void helicone_translate_delta_args(helicone_translate_stream_t *s,
    unsigned k, const char *args, const helicone_json_value_t *v,
    helicone_buf_t *out);
static int helicone_translate_block_index(const helicone_json_value_t *ev,
    unsigned *index);
static void helicone_translate_stream_start(helicone_translate_stream_t *s,
    const helicone_json_value_t *ev, helicone_buf_t *out);
static void helicone_translate_stream_block_start(
    helicone_translate_stream_t *s, const helicone_json_value_t *ev,
    helicone_buf_t *out);
static void helicone_translate_stream_block_delta(
    helicone_translate_stream_t *s, const helicone_json_value_t *ev,
    helicone_buf_t *out);
static void helicone_translate_stream_block_stop(
    helicone_translate_stream_t *s, const helicone_json_value_t *ev,
    helicone_buf_t *out);
static void helicone_translate_stream_delta(helicone_translate_stream_t *s,
    const helicone_json_value_t *ev, helicone_buf_t *out);
static void helicone_translate_stream_stop(helicone_translate_stream_t *s,
    helicone_buf_t *out);
static void helicone_translate_stream_error(helicone_translate_stream_t *s,
    const helicone_sse_event_t *ev, helicone_buf_t *out);


/* helpers */

static void
helicone_translate_req_read(helicone_translate_req_t *req,
    const helicone_json_value_t *obj)
{
    static const helicone_str_t  names[helicone_req_n] = {
        helicone_string("messages"),
        helicone_string("model"),
        helicone_string("reasoning_effort"),
        helicone_string("temperature"),
        helicone_string("top_p"),
        helicone_string("stream"),
        helicone_string("functions"),
        helicone_string("function_call"),
        helicone_string("logit_bias"),
        helicone_string("max_completion_tokens"),
        helicone_string("max_tokens"),
        helicone_string("stop"),
        helicone_string("safety_identifier"),
        helicone_string("prompt_cache_key"),
        helicone_string("user"),
        helicone_string("tools"),
        helicone_string("tool_choice")
    };

    req->obj = obj;

    (void) helicone_json_object_pick(obj, names, helicone_req_n, req->v);
}


static int
helicone_translate_msg_read(const helicone_json_value_t *m,
    helicone_translate_msg_t *msg)
{
    static const helicone_str_t  names[helicone_msg_n] = {
        helicone_string("role"), helicone_string("content"),
        helicone_string("cache_control"), helicone_string("tool_calls"),
        helicone_string("reasoning_details"), helicone_string("images"),
        helicone_string("tool_call_id")
    };

    return helicone_json_object_pick(m, names, helicone_msg_n, msg->v);
}


/* helicone_translate_get() on a member picked in one pass */

static int
helicone_translate_mget(const helicone_json_value_t *picked, unsigned member,
    helicone_json_value_t *v)
{
    *v = picked[member];

    return helicone_translate_has(v);
}


static void
helicone_translate_msgs_read(helicone_translate_msgs_t *list,
    const helicone_json_value_t *msgs)
{
    helicone_json_iter_t   it;
    helicone_json_value_t  m;

    list->count = 0;
    list->n = 0;

    if (helicone_json_iter_init(&it, msgs) != HELICONE_OK) {
        return;
    }

    list->rest = it;

    while (helicone_json_iter_next(&it, NULL, &m) == HELICONE_OK) {
        if (list->n < HELICONE_TRANSLATE_MSGS) {
            list->obj[list->n] = m;
            helicone_translate_msg_read(&m, &list->msg[list->n]);
            list->n++;
            list->rest = it;
        }

        list->count++;
    }
}


/* the next message of a pass (pass->i starts at 0), or NULL at the end */

static const helicone_translate_msg_t *
helicone_translate_msgs_next(const helicone_translate_msgs_t *list,
    helicone_translate_msgs_pass_t *pass)
{
    size_t  i;

    i = pass->i;

    if (i >= list->count) {
        return NULL;
    }

    pass->i++;

    if (i < list->n) {
        pass->obj = list->obj[i];
        return &list->msg[i];
    }

    if (i == list->n) {
        pass->it = list->rest;
    }

    if (helicone_json_iter_next(&pass->it, NULL, &pass->obj) != HELICONE_OK) {
        return NULL;
    }

    helicone_translate_msg_read(&pass->obj, &pass->scratch);

    return &pass->scratch;
}


/* request: OpenAI chat -> Anthropic Messages */

int
helicone_translate_request(const helicone_json_value_t *req,
    const helicone_translate_opts_t *opts, helicone_buf_t *out,
    const char **error)
{
    int                       rc;
    const char               *err;
    unsigned char            *pos;
    helicone_translate_req_t  index;

    pos = out->pos;
    err = NULL;

    helicone_translate_req_read(&index, req);

    rc = helicone_translate_request_body(&index, opts, out, &err);

    if (error) {
        *error = err;
    }

    return helicone_buf_end(out, pos, rc);
}


/*
 * Fields are checked in the same order whatever the buffer's size, so a
 * request declined with a large buffer is declined with a small one,
 * except that tool call arguments are only parsed when they fit.
 */

static int
helicone_translate_request_body(const helicone_translate_req_t *req,
    const helicone_translate_opts_t *opts, helicone_buf_t *out,
    const char **error)
{
    int                         rc, thinking, tools;
    int64_t                     max, budget;
    helicone_json_value_t       msgs, v;
    helicone_translate_msgs_t   list;

    if (req->obj == NULL || req->obj->type != HELICONE_JSON_OBJECT) {
        *error = "request body must be a JSON object";
        return HELICONE_DECLINED;
    }

    if (helicone_translate_check_unsupported(req, error) != HELICONE_OK) {
        return HELICONE_DECLINED;
    }

    if (!helicone_translate_mget(req->v, helicone_req_messages, &msgs)
        || msgs.type != HELICONE_JSON_ARRAY)
    {
        *error = "\"messages\" must be an array";
        return HELICONE_DECLINED;
    }

    if (helicone_translate_max_tokens(req, opts, &max, error)
        != HELICONE_OK)
    {
        return HELICONE_DECLINED;
    }

    helicone_anthropic_head(out, opts ? &opts->model : NULL,
                            helicone_translate_mget(req->v, helicone_req_model,
                                                    &v)
                            ? &v : NULL,
                            max);

    helicone_translate_msgs_read(&list, &msgs);

    rc = helicone_translate_system(&list, out, error);
    if (rc != HELICONE_OK) {
        return rc;
    }

    rc = helicone_translate_messages(&list, out, error);
    if (rc != HELICONE_OK) {
        return rc;
    }

    /*
     * "reasoning_effort": "none" asks for no reasoning (gpt-5.1), so it
     * does not turn thinking on, unlike upstream Helicone.
     */

    thinking = helicone_translate_mget(req->v, helicone_req_reasoning_effort,
                                       &v)
               && !helicone_json_string_eq(&v, "none", 4);

    if (thinking) {
        helicone_translate_lit(out, ",\"temperature\":1");

    } else if (helicone_translate_mget(req->v, helicone_req_temperature, &v)) {
        if (v.type != HELICONE_JSON_NUMBER) {
            *error = "\"temperature\" must be a number";
            return HELICONE_DECLINED;
        }

        helicone_translate_lit(out, ",\"temperature\":");
        helicone_translate_raw(out, &v);
    }

    if (helicone_translate_mget(req->v, helicone_req_top_p, &v)) {
        if (v.type != HELICONE_JSON_NUMBER) {
            *error = "\"top_p\" must be a number";
            return HELICONE_DECLINED;
        }

        helicone_translate_lit(out, ",\"top_p\":");
        helicone_translate_raw(out, &v);
    }

    rc = helicone_translate_stop(req, out, error);
    if (rc != HELICONE_OK) {
        return rc;
    }

    if (helicone_translate_mget(req->v, helicone_req_stream, &v)) {
        if (v.type == HELICONE_JSON_TRUE) {
            helicone_translate_lit(out, ",\"stream\":true");

        } else if (v.type == HELICONE_JSON_FALSE) {
            helicone_translate_lit(out, ",\"stream\":false");

        } else {
            *error = "\"stream\" must be a boolean";
            return HELICONE_DECLINED;
        }
    }

    if (thinking) {
        if (helicone_json_path_get(req->obj,
                                   "reasoning_options.budget_tokens", &v)
            != HELICONE_OK
            || v.type == HELICONE_JSON_NULL)
        {
            budget = max / 2;

        } else if (helicone_json_int64(&v, &budget) != HELICONE_OK
                   || budget < 1)
        {
            *error = "\"reasoning_options.budget_tokens\" must be "
                     "a positive integer";
            return HELICONE_DECLINED;
        }

        helicone_translate_lit(out,
                               ",\"thinking\":{\"type\":\"enabled\","
                               "\"budget_tokens\":");
        helicone_buf_add_int(out, budget);
        helicone_translate_lit(out, "}");
    }

    helicone_translate_user_id(req, out);

    tools = helicone_translate_tools(req, out, error);
    if (tools < 0) {
        return HELICONE_DECLINED;
    }

    rc = helicone_translate_tool_choice(req, tools, out, error);
    if (rc != HELICONE_OK) {
        return rc;
    }

    /*
     * Unlike upstream Helicone, no default cache_control breakpoint is
     * added: a cache write costs 1.25x input, so caching stays what the
     * client asked for, in cost and in behaviour.
     */

    helicone_translate_lit(out, "}");

    return HELICONE_OK;
}


static int
helicone_translate_check_unsupported(const helicone_translate_req_t *req,
    const char **error)
{
    helicone_json_value_t  v;

    if (helicone_translate_mget(req->v, helicone_req_functions, &v)
        || helicone_translate_mget(req->v, helicone_req_function_call, &v))
    {
        *error = "\"functions\" and \"function_call\" are not supported "
                 "for this model, use \"tools\"";
        return HELICONE_DECLINED;
    }

    /* SDKs may send an empty map, which asks for nothing */

    if (helicone_translate_mget(req->v, helicone_req_logit_bias, &v)
        && !(v.type == HELICONE_JSON_OBJECT
             && helicone_translate_count(&v) == 0))
    {
        *error = "\"logit_bias\" is not supported for this model";
        return HELICONE_DECLINED;
    }

    return HELICONE_OK;
}


static int
helicone_translate_max_tokens(const helicone_translate_req_t *req,
    const helicone_translate_opts_t *opts, int64_t *max, const char **error)
{
    helicone_json_value_t  v;

    if (helicone_translate_mget(req->v, helicone_req_max_completion_tokens, &v)
        || helicone_translate_mget(req->v, helicone_req_max_tokens, &v))
    {
        if (helicone_json_int64(&v, max) != HELICONE_OK || *max < 1) {
            *error = "\"max_tokens\" must be a positive integer";
            return HELICONE_DECLINED;
        }

        return HELICONE_OK;
    }

    *max = (opts && opts->max_tokens > 0)
           ? opts->max_tokens : HELICONE_TRANSLATE_DEFAULT_MAX_TOKENS;

    return HELICONE_OK;
}


/*
 * System and developer messages leave "messages" for "system": their
 * one string as it is, or text blocks keeping cache_control.
 */

static int
helicone_translate_system(const helicone_translate_msgs_t *msgs,
    helicone_buf_t *out, const char **error)
{
    unsigned                         n, simple;
    helicone_json_value_t            role, first, v;
    helicone_translate_msgs_pass_t   pass;
    const helicone_translate_msg_t  *msg;

    n = 0;
    simple = 1;
    pass.i = 0;

    /* set with the first message; gcc cannot tell from n */
    memset(&first, 0, sizeof(helicone_json_value_t));

    while ((msg = helicone_translate_msgs_next(msgs, &pass)) != NULL) {
        if (pass.obj.type != HELICONE_JSON_OBJECT) {
            *error = "each message must be an object";
            return HELICONE_DECLINED;
        }

        if (!helicone_translate_mget(msg->v, helicone_msg_role, &role)
            || role.type != HELICONE_JSON_STRING)
        {
            *error = "each message must have a \"role\"";
            return HELICONE_DECLINED;
        }

        if (!helicone_json_string_eq(&role, "system", 6)
            && !helicone_json_string_eq(&role, "developer", 9))
        {
            continue;
        }

        if (n++ == 0) {
            first = msg->v[helicone_msg_content];
        }

        if (!helicone_translate_mget(msg->v, helicone_msg_content, &v)
            || v.type != HELICONE_JSON_STRING
            || helicone_translate_mget(msg->v, helicone_msg_cache_control, &v))
        {
            simple = 0;
        }
    }

    if (n == 0) {
        return HELICONE_OK;
    }

    if (n == 1 && simple) {
        helicone_translate_lit(out, ",\"system\":");
        helicone_translate_raw(out, &first);
        return HELICONE_OK;
    }

    helicone_translate_lit(out, ",\"system\":[");

    n = 0;
    pass.i = 0;

    while ((msg = helicone_translate_msgs_next(msgs, &pass)) != NULL) {
        role = msg->v[helicone_msg_role];

        if (helicone_json_string_eq(&role, "system", 6)
            || helicone_json_string_eq(&role, "developer", 9))
        {
            if (helicone_translate_system_blocks(msg, out, &n)
                != HELICONE_OK)
            {
                *error = "system message content must be text";
                return HELICONE_DECLINED;
            }
        }
    }

    helicone_translate_lit(out, "]");

    return HELICONE_OK;
}


/* a reasoning_details entry Anthropic takes back: text and signature */

static int
helicone_translate_signed_thinking(const helicone_json_value_t *d,
    helicone_json_value_t *thinking, helicone_json_value_t *signature)
{
    return helicone_translate_get_string(d, "thinking", thinking)
           && helicone_translate_get_string(d, "signature", signature);
}


/*
 * Anthropic refuses empty text blocks in "system": they are left out.
 * A message's cache_control goes to its last block, as in messages.
 */

static int
helicone_translate_system_blocks(const helicone_translate_msg_t *m,
    helicone_buf_t *out, unsigned *n)
{
    int                    has_cc, part_cc;
    unsigned               i, last;
    helicone_json_iter_t   it;
    helicone_json_value_t  content, cc, part, text, pcc;

    if (!helicone_translate_mget(m->v, helicone_msg_content, &content)) {
        return HELICONE_OK;
    }

    has_cc = helicone_translate_mget(m->v, helicone_msg_cache_control, &cc);

    if (content.type == HELICONE_JSON_STRING) {
        if (content.len <= 2) {
            return HELICONE_OK;
        }

        helicone_translate_sep(out, n);
        helicone_anthropic_text_block(out, &content, has_cc ? &cc : NULL);

        return HELICONE_OK;
    }

    if (content.type != HELICONE_JSON_ARRAY) {
        return HELICONE_DECLINED;
    }

    /* the number of the last non-empty text part */

    i = 0;
    last = 0;
    helicone_json_iter_init(&it, &content);

    while (helicone_json_iter_next(&it, NULL, &part) == HELICONE_OK) {
        if (!helicone_translate_is(&part, "type", "text")
            || !helicone_translate_get_string(&part, "text", &text))
        {
            return HELICONE_DECLINED;
        }

        i++;

        if (text.len > 2) {
            last = i;
        }
    }

    i = 0;
    helicone_json_iter_init(&it, &content);

    while (helicone_json_iter_next(&it, NULL, &part) == HELICONE_OK) {
        helicone_translate_get(&part, "text", &text);

        if (++i > last || text.len <= 2) {
            continue;
        }

        part_cc = helicone_translate_get(&part, "cache_control", &pcc);

        helicone_translate_sep(out, n);
        helicone_anthropic_text_block(out, &text,
                                      part_cc ? &pcc
                                      : (has_cc && i == last) ? &cc : NULL);
    }

    return HELICONE_OK;
}


/*
 * Every other message in order; adjacent messages of one role are not
 * merged, Anthropic accepts them.
 */

static int
helicone_translate_messages(const helicone_translate_msgs_t *msgs,
    helicone_buf_t *out, const char **error)
{
    int                              rc;
    unsigned                         n;
    helicone_json_value_t            role;
    helicone_translate_msgs_pass_t   pass;
    const helicone_translate_msg_t  *msg;

    helicone_translate_lit(out, ",\"messages\":[");

    n = 0;
    pass.i = 0;

    while ((msg = helicone_translate_msgs_next(msgs, &pass)) != NULL) {
        role = msg->v[helicone_msg_role];

        if (helicone_json_string_eq(&role, "system", 6)
            || helicone_json_string_eq(&role, "developer", 9))
        {
            continue;
        }

        helicone_translate_sep(out, &n);

        if (helicone_json_string_eq(&role, "user", 4)) {
            rc = helicone_translate_user(msg, out, error);

        } else if (helicone_json_string_eq(&role, "assistant", 9)) {
            rc = helicone_translate_assistant(msg, out, error);

        } else if (helicone_json_string_eq(&role, "tool", 4)) {
            rc = helicone_translate_tool_result(msg, out, error);

        } else if (helicone_json_string_eq(&role, "function", 8)) {
            *error = "messages with role \"function\" are not supported "
                     "for this model, use \"tool\"";
            return HELICONE_DECLINED;

        } else {
            *error = "unsupported message role";
            return HELICONE_DECLINED;
        }

        if (rc != HELICONE_OK) {
            return rc;
        }
    }

    if (n == 0) {
        *error = "at least one non-system message is required";
        return HELICONE_DECLINED;
    }

    helicone_translate_lit(out, "]");

    return HELICONE_OK;
}


static int
helicone_translate_user(const helicone_translate_msg_t *m, helicone_buf_t *out,
    const char **error)
{
    int                    rc, has_cc;
    unsigned               n;
    helicone_json_value_t  content, cc;

    has_cc = helicone_translate_mget(m->v, helicone_msg_cache_control, &cc);

    helicone_translate_lit(out, "{\"role\":\"user\",\"content\":");

    if (!helicone_translate_mget(m->v, helicone_msg_content, &content)) {
        helicone_translate_lit(out, "\"\"}");
        return HELICONE_OK;
    }

    if (content.type == HELICONE_JSON_STRING) {
        if (!has_cc) {
            helicone_translate_raw(out, &content);
            helicone_translate_lit(out, "}");
            return HELICONE_OK;
        }

        helicone_translate_lit(out, "[");
        helicone_anthropic_text_block(out, &content, &cc);
        helicone_translate_lit(out, "]}");
        return HELICONE_OK;
    }

    if (content.type != HELICONE_JSON_ARRAY) {
        *error = "message content must be a string or an array";
        return HELICONE_DECLINED;
    }

    helicone_translate_lit(out, "[");

    n = 0;
    rc = helicone_translate_parts(&content, has_cc ? &cc : NULL, out, &n,
                                  error);
    if (rc != HELICONE_OK) {
        return rc;
    }

    helicone_translate_lit(out, "]}");

    return HELICONE_OK;
}


/*
 * Thinking blocks (only signed ones: Anthropic refuses a thinking block
 * without its signature, so a bare "reasoning" string is dropped), then
 * the content, then one tool_use per tool call.
 */

static int
helicone_translate_assistant(const helicone_translate_msg_t *m,
    helicone_buf_t *out, const char **error)
{
    int                    rc, has_cc, has_content, has_calls, has_thinking;
    unsigned               n;
    helicone_json_iter_t   it;
    helicone_json_value_t  content, cc, calls, details, d, t, sig;

    if (helicone_translate_mget(m->v, helicone_msg_images, &d)) {
        *error = "assistant \"images\" are not supported for this model";
        return HELICONE_DECLINED;
    }

    has_cc = helicone_translate_mget(m->v, helicone_msg_cache_control, &cc);
    has_content = helicone_translate_mget(m->v, helicone_msg_content,
                                          &content);

    if (has_content && content.type != HELICONE_JSON_STRING
        && content.type != HELICONE_JSON_ARRAY)
    {
        *error = "message content must be a string or an array";
        return HELICONE_DECLINED;
    }

    has_calls = helicone_translate_mget(m->v, helicone_msg_tool_calls, &calls);

    if (has_calls && calls.type != HELICONE_JSON_ARRAY) {
        *error = "\"tool_calls\" must be an array";
        return HELICONE_DECLINED;
    }

    has_calls = has_calls && helicone_translate_count(&calls) > 0;

    has_thinking = 0;

    if (helicone_translate_mget(m->v, helicone_msg_reasoning_details,
                                &details))
    {
        helicone_json_iter_init(&it, &details);

        while (helicone_json_iter_next(&it, NULL, &d) == HELICONE_OK) {
            if (helicone_translate_signed_thinking(&d, &t, &sig)) {
                has_thinking = 1;
            }
        }
    }

    helicone_translate_lit(out, "{\"role\":\"assistant\",\"content\":");

    if (!has_calls && !has_thinking && !has_cc
        && (!has_content || content.type == HELICONE_JSON_STRING))
    {
        helicone_translate_string(out, has_content ? &content : NULL);
        helicone_translate_lit(out, "}");
        return HELICONE_OK;
    }

    helicone_translate_lit(out, "[");

    n = 0;

    if (has_thinking) {
        helicone_json_iter_init(&it, &details);

        while (helicone_json_iter_next(&it, NULL, &d) == HELICONE_OK) {
            if (helicone_translate_signed_thinking(&d, &t, &sig)) {
                helicone_translate_sep(out, &n);
                helicone_anthropic_thinking_block(out, &t, &sig);
            }
        }
    }

    if (has_content && content.type == HELICONE_JSON_ARRAY) {
        rc = helicone_translate_parts(&content, has_cc ? &cc : NULL, out, &n,
                                      error);
        if (rc != HELICONE_OK) {
            return rc;
        }

    } else if (has_content && (content.len > 2 || (has_cc && !has_calls))) {

        /* Anthropic refuses empty text blocks: "" beside tool calls goes */

        helicone_translate_sep(out, &n);
        helicone_anthropic_text_block(out, &content, has_cc ? &cc : NULL);
    }

    if (has_calls) {
        helicone_json_iter_init(&it, &calls);

        while (helicone_json_iter_next(&it, NULL, &d) == HELICONE_OK) {
            helicone_translate_sep(out, &n);

            rc = helicone_translate_tool_use(&d, out, error);
            if (rc != HELICONE_OK) {
                return rc;
            }
        }
    }

    helicone_translate_lit(out, "]}");

    return HELICONE_OK;
}


/*
 * A tool message is its own user message with one tool_result; empty
 * content is left out, which Anthropic reads as "".
 */

static int
helicone_translate_tool_result(const helicone_translate_msg_t *m,
    helicone_buf_t *out, const char **error)
{
    int                    rc;
    unsigned               n;
    helicone_json_value_t  id, content, cc;

    if (!helicone_translate_mget(m->v, helicone_msg_tool_call_id, &id)
        || id.type != HELICONE_JSON_STRING)
    {
        *error = "a tool message needs a \"tool_call_id\"";
        return HELICONE_DECLINED;
    }

    helicone_translate_lit(out,
                           "{\"role\":\"user\",\"content\":"
                           "[{\"type\":\"tool_result\",\"tool_use_id\":");
    helicone_translate_raw(out, &id);

    if (helicone_translate_mget(m->v, helicone_msg_content, &content)) {
        if (content.type == HELICONE_JSON_STRING) {
            if (content.len > 2) {
                helicone_translate_lit(out, ",\"content\":");
                helicone_translate_raw(out, &content);
            }

        } else if (content.type == HELICONE_JSON_ARRAY) {
            helicone_translate_lit(out, ",\"content\":[");

            n = 0;
            rc = helicone_translate_parts(&content, NULL, out, &n, error);
            if (rc != HELICONE_OK) {
                return rc;
            }

            helicone_translate_lit(out, "]");

        } else {
            *error = "message content must be a string or an array";
            return HELICONE_DECLINED;
        }
    }

    if (helicone_translate_mget(m->v, helicone_msg_cache_control, &cc)) {
        helicone_translate_lit(out, ",\"cache_control\":");
        helicone_translate_raw(out, &cc);
    }

    helicone_translate_lit(out, "}]}");

    return HELICONE_OK;
}


/* content parts; a message's cache_control goes to its last part */

static int
helicone_translate_parts(const helicone_json_value_t *parts,
    const helicone_json_value_t *cc, helicone_buf_t *out, unsigned *n,
    const char **error)
{
    int                    rc, have;
    helicone_json_iter_t   it;
    helicone_json_value_t  part, next;

    helicone_json_iter_init(&it, parts);

    have = (helicone_json_iter_next(&it, NULL, &part) == HELICONE_OK);

    while (have) {
        have = (helicone_json_iter_next(&it, NULL, &next) == HELICONE_OK);

        helicone_translate_sep(out, n);

        rc = helicone_translate_part(&part, have ? NULL : cc, out, error);
        if (rc != HELICONE_OK) {
            return rc;
        }

        part = next;
    }

    return HELICONE_OK;
}


static int
helicone_translate_part(const helicone_json_value_t *part,
    const helicone_json_value_t *cc, helicone_buf_t *out, const char **error)
{
    int                    rc;
    helicone_json_value_t  type, v, pcc;

    if (!helicone_translate_get_string(part, "type", &type)) {
        *error = "each content part must have a \"type\"";
        return HELICONE_DECLINED;
    }

    if (helicone_translate_get(part, "cache_control", &pcc)) {
        cc = &pcc;
    }

    if (helicone_json_string_eq(&type, "text", 4)
        || helicone_json_string_eq(&type, "refusal", 7))
    {
        if (!helicone_translate_get(part,
                                    helicone_json_string_eq(&type, "text", 4)
                                    ? "text" : "refusal", &v)
            || v.type != HELICONE_JSON_STRING)
        {
            *error = "a text content part needs a string \"text\"";
            return HELICONE_DECLINED;
        }

        helicone_translate_lit(out, "{\"type\":\"text\",\"text\":");
        helicone_translate_raw(out, &v);

    } else if (helicone_json_string_eq(&type, "image_url", 9)) {
        if (!helicone_translate_get(part, "image_url", &v)) {
            *error = "an image_url content part needs an \"image_url\"";
            return HELICONE_DECLINED;
        }

        if (v.type == HELICONE_JSON_OBJECT
            && !helicone_translate_get(&v, "url", &v))
        {
            v.type = HELICONE_JSON_NULL;
        }

        rc = helicone_translate_image(&v, out, error);
        if (rc != HELICONE_OK) {
            return rc;
        }

    } else if (helicone_json_string_eq(&type, "document", 8)) {

        /* Anthropic's own shape, as the client wrote it */

        helicone_translate_raw(out, part);
        return HELICONE_OK;

    } else if (helicone_json_string_eq(&type, "input_audio", 11)
               || helicone_json_string_eq(&type, "file", 4))
    {
        *error = "audio and file content parts are not supported "
                 "for this model";
        return HELICONE_DECLINED;

    } else {
        *error = "unsupported content part type";
        return HELICONE_DECLINED;
    }

    if (cc) {
        helicone_translate_lit(out, ",\"cache_control\":");
        helicone_translate_raw(out, cc);
    }

    helicone_translate_lit(out, "}");

    return HELICONE_OK;
}


/*
 * "data:<mime>[;param...];base64,<data>" becomes a base64 source, any
 * other URL a url source; the open brace is left for cache_control.
 */

static int
helicone_translate_image(const helicone_json_value_t *url,
    helicone_buf_t *out, const char **error)
{
    size_t                i;
    uint32_t              c;
    const unsigned char  *p, *end, *mime, *mime_end, *param, *next;

    static const char     scheme[] = "data:";
    static const char     base64[] = ";base64";

    if (url->type != HELICONE_JSON_STRING || url->len < 2) {
        *error = "an image_url content part needs a string \"url\"";
        return HELICONE_DECLINED;
    }

    p = url->start + 1;
    end = url->start + url->len - 1;

    for (i = 0; i < sizeof(scheme) - 1 && p < end; i++) {
        p = helicone_translate_char(p, end, &c);

        if (c >= 'A' && c <= 'Z') {
            c |= 0x20;
        }

        if (c != (uint32_t) scheme[i]) {
            break;
        }
    }

    if (i < sizeof(scheme) - 1) {
        helicone_anthropic_image_url(out, url);
        return HELICONE_OK;
    }

    mime = p;
    mime_end = NULL;
    param = NULL;

    while (p < end) {
        next = helicone_translate_char(p, end, &c);

        if (c == ';' && mime_end == NULL) {
            mime_end = p;
        }

        if (c == ';') {
            param = p;
        }

        if (c == ',') {
            break;
        }

        p = next;
    }

    /* the last parameter before the comma must be ";base64" */

    if (p == end || mime_end == NULL || mime_end == mime) {
        goto invalid;
    }

    for (i = 0; i < sizeof(base64) - 1 && param < p; i++) {
        param = helicone_translate_char(param, p, &c);

        if (c >= 'A' && c <= 'Z') {
            c |= 0x20;
        }

        if (c != (uint32_t) base64[i]) {
            goto invalid;
        }
    }

    if (i < sizeof(base64) - 1 || param != p) {
        goto invalid;
    }

    p = helicone_translate_char(p, end, &c);

    helicone_anthropic_image_base64(out, mime, mime_end - mime, p, end - p);

    return HELICONE_OK;

invalid:

    *error = "an image data URL must be \"data:<type>;base64,<data>\"";

    return HELICONE_DECLINED;
}


static int
helicone_translate_tool_use(const helicone_json_value_t *call,
    helicone_buf_t *out, const char **error)
{
    helicone_json_value_t  type, id, fn, name, args;

    if (call->type != HELICONE_JSON_OBJECT
        || (helicone_translate_get(call, "type", &type)
            && !helicone_json_string_eq(&type, "function", 8)))
    {
        *error = "only function tool calls are supported";
        return HELICONE_DECLINED;
    }

    if (!helicone_translate_get_string(call, "id", &id)
        || !helicone_translate_get(call, "function", &fn)
        || !helicone_translate_get_string(&fn, "name", &name))
    {
        *error = "a tool call needs an \"id\" and a \"function.name\"";
        return HELICONE_DECLINED;
    }

    helicone_translate_lit(out, "{\"type\":\"tool_use\",\"id\":");
    helicone_translate_raw(out, &id);
    helicone_translate_lit(out, ",\"name\":");
    helicone_translate_raw(out, &name);
    helicone_translate_lit(out, ",\"input\":");

    if (!helicone_translate_get(&fn, "arguments", &args)) {
        helicone_translate_lit(out, "{}}");
        return HELICONE_OK;
    }

    if (helicone_anthropic_input(&args, out) != HELICONE_OK) {
        *error = "tool call arguments are not valid JSON";
        return HELICONE_DECLINED;
    }

    helicone_translate_lit(out, "}");

    return HELICONE_OK;
}


static int
helicone_translate_stop(const helicone_translate_req_t *req,
    helicone_buf_t *out, const char **error)
{
    unsigned               n;
    helicone_json_iter_t   it;
    helicone_json_value_t  stop, v;

    if (!helicone_translate_mget(req->v, helicone_req_stop, &stop)) {
        return HELICONE_OK;
    }

    helicone_translate_lit(out, ",\"stop_sequences\":[");

    if (stop.type == HELICONE_JSON_STRING) {
        helicone_translate_raw(out, &stop);

    } else if (stop.type == HELICONE_JSON_ARRAY) {
        n = 0;
        helicone_json_iter_init(&it, &stop);

        while (helicone_json_iter_next(&it, NULL, &v) == HELICONE_OK) {
            if (v.type != HELICONE_JSON_STRING) {
                goto invalid;
            }

            helicone_translate_sep(out, &n);
            helicone_translate_raw(out, &v);
        }

    } else {
        goto invalid;
    }

    helicone_translate_lit(out, "]");

    return HELICONE_OK;

invalid:

    *error = "\"stop\" must be a string or an array of strings";

    return HELICONE_DECLINED;
}


/* the first string of safety_identifier, prompt_cache_key, user */

static int
helicone_translate_user_id(const helicone_translate_req_t *req,
    helicone_buf_t *out)
{
    helicone_json_value_t  v;

    if (!(helicone_translate_mget(req->v, helicone_req_safety_identifier, &v)
          && v.type == HELICONE_JSON_STRING)
        && !(helicone_translate_mget(req->v, helicone_req_prompt_cache_key, &v)
             && v.type == HELICONE_JSON_STRING)
        && !(helicone_translate_mget(req->v, helicone_req_user, &v)
             && v.type == HELICONE_JSON_STRING))
    {
        return HELICONE_DECLINED;
    }

    helicone_translate_lit(out, ",\"metadata\":{\"user_id\":");
    helicone_translate_raw(out, &v);
    helicone_translate_lit(out, "}");

    return HELICONE_OK;
}


/*
 * Function tools; the schema keeps "properties" and "required" only.
 * Returns the number of tools written, or -1 when declined.
 */

static int
helicone_translate_tools(const helicone_translate_req_t *req,
    helicone_buf_t *out, const char **error)
{
    unsigned               n;
    helicone_json_iter_t   it;
    helicone_json_value_t  tools, t, fn, name, desc, params, v;

    if (!helicone_translate_mget(req->v, helicone_req_tools, &tools)) {
        return 0;
    }

    if (tools.type != HELICONE_JSON_ARRAY) {
        *error = "\"tools\" must be an array";
        return -1;
    }

    n = 0;
    helicone_json_iter_init(&it, &tools);

    while (helicone_json_iter_next(&it, NULL, &t) == HELICONE_OK) {
        if (!helicone_translate_is(&t, "type", "function")
            || !helicone_translate_get(&t, "function", &fn)
            || fn.type != HELICONE_JSON_OBJECT)
        {
            *error = "only function tools are supported for this model";
            return -1;
        }

        if (!helicone_translate_get_string(&fn, "name", &name)) {
            *error = "a tool function needs a \"name\"";
            return -1;
        }

        if (!helicone_translate_get(&fn, "parameters", &params)) {
            params.type = HELICONE_JSON_NULL;

        } else if (params.type != HELICONE_JSON_OBJECT) {
            *error = "tool function \"parameters\" must be an object";
            return -1;
        }

        helicone_anthropic_tool_open(out, &n, &name);
        helicone_translate_lit(out, ",\"description\":");

        if (helicone_translate_get_string(&fn, "description", &desc)) {
            helicone_translate_raw(out, &desc);

        } else {
            helicone_translate_lit(out, "\"\"");
        }

        helicone_translate_lit(out,
                               ",\"input_schema\":{\"type\":\"object\","
                               "\"properties\":");

        if (helicone_translate_get(&params, "properties", &v)
            && v.type == HELICONE_JSON_OBJECT)
        {
            helicone_translate_raw(out, &v);

        } else {
            helicone_translate_lit(out, "{}");
        }

        if (helicone_translate_get(&params, "required", &v)
            && v.type == HELICONE_JSON_ARRAY)
        {
            helicone_translate_lit(out, ",\"required\":");
            helicone_translate_raw(out, &v);
        }

        helicone_translate_lit(out, "}}");
    }

    if (n) {
        helicone_translate_lit(out, "]");
    }

    return (int) n;
}


/*
 * Written only beside tools: Anthropic refuses tool_choice without them.
 * Two deviations from upstream Helicone: "none" is honoured, Anthropic
 * has {"type":"none"} now; "required" maps to {"type":"any"}, which is
 * what it means (some tool must be used), instead of failing.
 */

static int
helicone_translate_tool_choice(const helicone_translate_req_t *req, int emit,
    helicone_buf_t *out, const char **error)
{
    const char             *type;
    helicone_json_value_t   tc, name, *named;

    if (!helicone_translate_mget(req->v, helicone_req_tool_choice, &tc)) {
        return HELICONE_OK;
    }

    named = NULL;

    if (helicone_json_string_eq(&tc, "auto", 4)) {
        type = "auto";

    } else if (helicone_json_string_eq(&tc, "none", 4)) {
        type = "none";

    } else if (helicone_json_string_eq(&tc, "required", 8)) {
        type = "any";

    } else if (helicone_translate_is(&tc, "type", "function")
               && helicone_json_path_get(&tc, "function.name", &name)
                  == HELICONE_OK
               && name.type == HELICONE_JSON_STRING)
    {
        type = "tool";
        named = &name;

    } else {
        *error = "unsupported \"tool_choice\"";
        return HELICONE_DECLINED;
    }

    if (emit) {
        helicone_anthropic_tool_choice(out, type, named, 0);
    }

    return HELICONE_OK;
}


/* response: Anthropic message -> OpenAI chat.completion */

int
helicone_translate_response(const helicone_json_value_t *resp,
    int64_t created, helicone_buf_t *out, helicone_usage_t *usage)
{
    int                    text;
    unsigned char         *pos;
    helicone_usage_t       u;
    helicone_json_iter_t   it;
    helicone_json_value_t  content, block, v;

    if (resp == NULL || resp->type != HELICONE_JSON_OBJECT) {
        return HELICONE_DECLINED;
    }

    if (!helicone_translate_get(resp, "content", &content)) {
        content.type = HELICONE_JSON_NULL;
    }

    if (!helicone_translate_is(resp, "type", "message")
        && content.type != HELICONE_JSON_ARRAY)
    {
        return HELICONE_DECLINED;
    }

    pos = out->pos;

    helicone_translate_lit(out, "{\"id\":");
    helicone_translate_string(out, helicone_translate_get(resp, "id", &v)
                                   ? &v : NULL);
    helicone_translate_lit(out,
                           ",\"object\":\"chat.completion\",\"created\":");
    helicone_buf_add_int(out, created);
    helicone_translate_lit(out, ",\"model\":");
    helicone_translate_string(out, helicone_translate_get(resp, "model", &v)
                                   ? &v : NULL);
    helicone_translate_lit(out,
                           ",\"choices\":[{\"index\":0,\"message\":"
                           "{\"role\":\"assistant\",\"content\":");

    /* all text blocks as one string, or null when there is no text */

    text = 0;
    helicone_json_iter_init(&it, &content);

    while (helicone_json_iter_next(&it, NULL, &block) == HELICONE_OK) {
        if (helicone_translate_is(&block, "type", "text")
            && helicone_translate_get_string(&block, "text", &v)
            && v.len > 2)
        {
            text = 1;
        }
    }

    if (text) {
        helicone_translate_text(&content, "text", "text", out);

    } else {
        helicone_translate_lit(out, "null");
    }

    text = 0;
    helicone_json_iter_init(&it, &content);

    while (helicone_json_iter_next(&it, NULL, &block) == HELICONE_OK) {
        if (helicone_translate_is(&block, "type", "thinking")
            && helicone_translate_get_string(&block, "thinking", &v)
            && v.len > 2)
        {
            text = 1;
        }
    }

    if (text) {
        helicone_translate_lit(out, ",\"reasoning\":");
        helicone_translate_text(&content, "thinking", "thinking", out);
    }

    helicone_translate_reasoning_details(&content, out);
    helicone_translate_tool_calls(&content, out);
    helicone_translate_annotations(&content, out);

    helicone_translate_lit(out, "},\"logprobs\":null,\"finish_reason\":\"");
    helicone_buf_add_cstr(out,
                          helicone_translate_finish(
                              helicone_translate_get(resp, "stop_reason", &v)
                              ? &v : NULL));
    helicone_translate_lit(out, "\"}],\"usage\":");

    helicone_usage_init(&u);
    helicone_usage_from_anthropic(resp, &u);
    helicone_translate_usage(out, &u, 0);

    helicone_translate_lit(out, "}");

    if (helicone_buf_end(out, pos, HELICONE_OK) != HELICONE_OK) {
        return HELICONE_ERROR;
    }

    if (usage) {
        *usage = u;
    }

    return HELICONE_OK;
}


static const char *
helicone_translate_finish(const helicone_json_value_t *v)
{
    if (v == NULL) {
        return "stop";
    }

    if (helicone_json_string_eq(v, "max_tokens", 10)) {
        return "length";
    }

    if (helicone_json_string_eq(v, "tool_use", 8)) {
        return "tool_calls";
    }

    /* end_turn, stop_sequence, pause_turn, refusal, and anything new */

    return "stop";
}


/*
 * The client-visible usage: prompt_tokens is the uncached input in a
 * response but includes cache reads in a stream, as upstream Helicone
 * does; the 5m write count falls back to all writes, not to the reads.
 */

static void
helicone_translate_usage(helicone_buf_t *out, const helicone_usage_t *u,
    int stream)
{
    int64_t  in, output, read, write, total;

    in = helicone_usage_count(u->uncached_input_tokens);
    output = helicone_usage_count(u->completion_tokens);
    read = helicone_usage_count(u->cache_read_tokens);
    write = helicone_usage_count(u->cache_write_tokens);

    total = helicone_usage_add(in, output);
    total = helicone_usage_add(total, read);
    total = helicone_usage_add(total, write);

    helicone_translate_lit(out, "{\"prompt_tokens\":");
    helicone_buf_add_int(out, stream ? helicone_usage_add(in, read) : in);
    helicone_translate_lit(out, ",\"completion_tokens\":");
    helicone_buf_add_int(out, output);
    helicone_translate_lit(out, ",\"total_tokens\":");
    helicone_buf_add_int(out, total);

    if (read > 0 || write > 0) {
        helicone_translate_lit(out,
                               ",\"prompt_tokens_details\":"
                               "{\"cached_tokens\":");
        helicone_buf_add_int(out, read);
        helicone_translate_lit(out, ",\"audio_tokens\":0");

        if (write > 0) {
            helicone_translate_lit(out, ",\"cache_write_tokens\":");
            helicone_buf_add_int(out, write);
            helicone_translate_lit(out,
                                   ",\"cache_write_details\":"
                                   "{\"write_5m_tokens\":");
            helicone_buf_add_int(out, u->cache_write_5m_tokens >= 0
                                      ? u->cache_write_5m_tokens : write);
            helicone_translate_lit(out, ",\"write_1h_tokens\":");
            helicone_buf_add_int(out,
                helicone_usage_count(u->cache_write_1h_tokens));
            helicone_translate_lit(out, "}");
        }

        helicone_translate_lit(out, "}");
    }

    helicone_translate_lit(out,
                           ",\"completion_tokens_details\":"
                           "{\"reasoning_tokens\":0,\"audio_tokens\":0,"
                           "\"accepted_prediction_tokens\":0,"
                           "\"rejected_prediction_tokens\":0}");

    if (u->web_search_requests > 0) {
        helicone_translate_lit(out,
                               ",\"server_tool_use\":"
                               "{\"web_search_requests\":");
        helicone_buf_add_int(out, u->web_search_requests);
        helicone_translate_lit(out, "}");
    }

    helicone_translate_lit(out, "}");
}


/* the strings "field" of all blocks of a type, joined into one string */

static void
helicone_translate_text(const helicone_json_value_t *content,
    const char *type, const char *field, helicone_buf_t *out)
{
    helicone_json_iter_t   it;
    helicone_json_value_t  block, v;

    helicone_translate_lit(out, "\"");

    helicone_json_iter_init(&it, content);

    while (helicone_json_iter_next(&it, NULL, &block) == HELICONE_OK) {
        if (helicone_translate_is(&block, "type", type)
            && helicone_translate_get(&block, field, &v))
        {
            helicone_translate_body(out, &v);
        }
    }

    helicone_translate_lit(out, "\"");
}


static void
helicone_translate_tool_calls(const helicone_json_value_t *content,
    helicone_buf_t *out)
{
    unsigned               n;
    helicone_json_iter_t   it;
    helicone_json_value_t  block, v;

    n = 0;
    helicone_json_iter_init(&it, content);

    while (helicone_json_iter_next(&it, NULL, &block) == HELICONE_OK) {
        if (!helicone_translate_is(&block, "type", "tool_use")) {
            continue;
        }

        helicone_buf_add_cstr(out, n ? "," : ",\"tool_calls\":[");
        n++;

        helicone_translate_lit(out, "{\"id\":");
        helicone_translate_string(out, helicone_translate_get(&block, "id",
                                                              &v)
                                       ? &v : NULL);
        helicone_translate_lit(out,
                               ",\"type\":\"function\",\"function\":"
                               "{\"name\":");
        helicone_translate_string(out, helicone_translate_get(&block, "name",
                                                              &v)
                                       ? &v : NULL);
        helicone_translate_lit(out, ",\"arguments\":\"");

        if (helicone_translate_get(&block, "input", &v)) {
            helicone_translate_minified(out, &v);

        } else {
            helicone_translate_lit(out, "{}");
        }

        helicone_translate_lit(out, "\"}}");
    }

    if (n) {
        helicone_translate_lit(out, "]");
    }
}


static void
helicone_translate_reasoning_details(const helicone_json_value_t *content,
    helicone_buf_t *out)
{
    unsigned               n;
    helicone_json_iter_t   it;
    helicone_json_value_t  block, v;

    n = 0;
    helicone_json_iter_init(&it, content);

    while (helicone_json_iter_next(&it, NULL, &block) == HELICONE_OK) {
        if (!helicone_translate_is(&block, "type", "thinking")) {
            continue;
        }

        helicone_buf_add_cstr(out, n ? "," : ",\"reasoning_details\":[");
        n++;

        helicone_translate_lit(out, "{\"thinking\":");
        helicone_translate_string(out, helicone_translate_get(&block,
                                                              "thinking", &v)
                                       ? &v : NULL);
        helicone_translate_lit(out, ",\"signature\":");
        helicone_translate_string(out, helicone_translate_get(&block,
                                                              "signature", &v)
                                       ? &v : NULL);
        helicone_translate_lit(out, "}");
    }

    if (n) {
        helicone_translate_lit(out, "]");
    }
}


/*
 * Web citations of a text block span that block's text in the joined
 * content, in UTF-16 units as OpenAI's indexes are.
 */

static void
helicone_translate_annotations(const helicone_json_value_t *content,
    helicone_buf_t *out)
{
    int64_t                start, len;
    unsigned               n;
    helicone_json_iter_t   it, ci;
    helicone_json_value_t  block, text, cites, c, url, v;

    n = 0;
    start = 0;
    helicone_json_iter_init(&it, content);

    while (helicone_json_iter_next(&it, NULL, &block) == HELICONE_OK) {
        if (!helicone_translate_is(&block, "type", "text")
            || !helicone_translate_get(&block, "text", &text))
        {
            continue;
        }

        len = helicone_translate_utf16_len(&text);

        if (helicone_translate_get(&block, "citations", &cites)) {
            helicone_json_iter_init(&ci, &cites);

            while (helicone_json_iter_next(&ci, NULL, &c) == HELICONE_OK) {
                if (!helicone_translate_get_string(&c, "url", &url)) {
                    continue;
                }

                helicone_buf_add_cstr(out, n ? "," : ",\"annotations\":[");
                n++;

                helicone_translate_lit(out,
                                       "{\"type\":\"url_citation\","
                                       "\"url_citation\":{\"url\":");
                helicone_translate_raw(out, &url);
                helicone_translate_lit(out, ",\"title\":");
                helicone_translate_string(out,
                    helicone_translate_get(&c, "title", &v) ? &v : NULL);
                helicone_translate_lit(out, ",\"content\":");
                helicone_translate_string(out,
                    helicone_translate_get(&c, "cited_text", &v) ? &v : NULL);
                helicone_translate_lit(out, ",\"start_index\":");
                helicone_buf_add_int(out, start);
                helicone_translate_lit(out, ",\"end_index\":");
                helicone_buf_add_int(out, start + len);
                helicone_translate_lit(out, "}}");
            }
        }

        start += len;
    }

    if (n) {
        helicone_translate_lit(out, "]");
    }
}


/* error: Anthropic error body -> OpenAI error body */

int
helicone_translate_error(const unsigned char *body, size_t len,
    helicone_buf_t *out)
{
    size_t                 n;
    unsigned char         *pos;
    helicone_json_value_t  root, err, msg, type;

    pos = out->pos;

    if (body != NULL
        && helicone_json_parse(body, len, &root) == HELICONE_OK
        && helicone_translate_get(&root, "error", &err)
        && helicone_translate_get_string(&err, "message", &msg))
    {
        helicone_translate_lit(out, "{\"error\":{\"message\":");
        helicone_translate_raw(out, &msg);
        helicone_translate_lit(out, ",\"type\":");

        if (helicone_translate_get_string(&err, "type", &type)) {
            helicone_translate_raw(out, &type);

        } else {
            helicone_translate_lit(out, "\"upstream_error\"");
        }

    } else {

        /* at most HELICONE_TRANSLATE_ERROR_MAX bytes, whole characters */

        n = (body == NULL) ? 0 : len;

        if (n > HELICONE_TRANSLATE_ERROR_MAX) {
            n = HELICONE_TRANSLATE_ERROR_MAX;

            while (n > HELICONE_TRANSLATE_ERROR_MAX - 3
                   && (body[n] & 0xc0) == 0x80)
            {
                n--;
            }
        }

        helicone_translate_lit(out, "{\"error\":{\"message\":\"");
        helicone_buf_add_escaped(out, body, n);
        helicone_translate_lit(out, "\",\"type\":\"upstream_error\"");
    }

    helicone_translate_lit(out, ",\"param\":null,\"code\":null}}");

    return helicone_buf_end(out, pos, HELICONE_OK);
}


/*
 * stream: Anthropic events -> chat.completion.chunk events.
 *
 * Unlike upstream Helicone, state stays fixed in size: argument chunks
 * carry the tool call's index only (as OpenAI's own do, not its id);
 * citations and signatures are not gathered into the finish chunk;
 * empty tool calls are completed at their content_block_stop, which
 * always comes before message_delta.  The usage chunk is written only
 * when the client asked for it.
 */

void
helicone_translate_stream_init(helicone_translate_stream_t *s,
    int64_t created, int include_usage)
{
    memset(s, 0, sizeof(helicone_translate_stream_t));

    s->created = created;
    s->include_usage = include_usage ? 1 : 0;
    s->finish_reason.data = (const unsigned char *) "stop";
    s->finish_reason.len = 4;

    helicone_usage_init(&s->usage);
}


/*
 * The event is translated into a copy of the state, kept only when the
 * output fitted; so after HELICONE_ERROR the caller may feed the same
 * event again with a larger buffer, and nothing was appended.
 */

int
helicone_translate_stream_event(helicone_translate_stream_t *s,
    const helicone_sse_event_t *ev, helicone_buf_t *out)
{
    unsigned                      kind;
    unsigned char                *pos;
    helicone_json_value_t         m[helicone_anthropic_ev_n], text;
    helicone_translate_stream_t   t;

    if (s == NULL || ev == NULL || s->failed || s->stopped || ev->truncated
        || ev->data.data == NULL)
    {
        return HELICONE_OK;
    }

    if (helicone_anthropic_text_delta(ev, &text)) {
        /* the bulk of a stream; the state is only read */
        if (text.len > 2) {
            pos = out->pos;
            helicone_translate_delta_text(s, "content", &text, out);

            if (helicone_buf_end(out, pos, HELICONE_OK) != HELICONE_OK) {
                return HELICONE_ERROR;
            }
        }

        return HELICONE_OK;
    }

    kind = helicone_anthropic_event_pick(ev, m);

    if (kind == helicone_anthropic_event_n) {
        /* ping, and events Anthropic may add */
        return HELICONE_OK;
    }

    t = *s;
    pos = out->pos;

    switch (kind) {
    case helicone_anthropic_message_start:
        helicone_translate_stream_start(&t, m, out);
        break;

    case helicone_anthropic_block_start:
        helicone_translate_stream_block_start(&t, m, out);
        break;

    case helicone_anthropic_block_delta:
        helicone_translate_stream_block_delta(&t, m, out);
        break;

    case helicone_anthropic_block_stop:
        helicone_translate_stream_block_stop(&t, m, out);
        break;

    case helicone_anthropic_message_delta:
        helicone_translate_stream_delta(&t, m, out);
        break;

    case helicone_anthropic_message_stop:
        helicone_translate_stream_stop(&t, out);
        break;

    case helicone_anthropic_error:
        helicone_translate_stream_error(&t, ev, out);
        break;

    default:
        return HELICONE_OK;
    }

    if (helicone_buf_end(out, pos, HELICONE_OK) != HELICONE_OK) {
        return HELICONE_ERROR;
    }

    *s = t;

    return HELICONE_OK;
}


static void
helicone_translate_chunk_open(helicone_translate_stream_t *s,
    helicone_buf_t *out)
{
    helicone_translate_lit(out, "data: {\"id\":\"");
    helicone_buf_add(out, s->id, s->id_len);
    helicone_translate_lit(out,
                           "\",\"object\":\"chat.completion.chunk\","
                           "\"created\":");
    helicone_buf_add_int(out, s->created);
    helicone_translate_lit(out, ",\"model\":\"");
    helicone_buf_add(out, s->model, s->model_len);
    helicone_translate_lit(out,
                           "\",\"system_fingerprint\":\"\",\"choices\":[");
}


static void
helicone_translate_delta_open(helicone_translate_stream_t *s,
    helicone_buf_t *out)
{
    helicone_translate_chunk_open(s, out);
    helicone_translate_lit(out, "{\"index\":0,\"delta\":{");
}


static void
helicone_translate_delta_close(helicone_buf_t *out)
{
    helicone_translate_lit(out,
                           "},\"logprobs\":null,\"finish_reason\":null}]}"
                           "\n\n");
}


static void
helicone_translate_delta_text(helicone_translate_stream_t *s,
    const char *field, const helicone_json_value_t *text, helicone_buf_t *out)
{
    helicone_translate_delta_open(s, out);
    helicone_translate_lit(out, "\"");
    helicone_buf_add_cstr(out, field);
    helicone_translate_lit(out, "\":");
    helicone_translate_raw(out, text);
    helicone_translate_delta_close(out);
}


/* a tool call arguments piece: a literal args, or the string v */

static void
helicone_translate_delta_args(helicone_translate_stream_t *s, unsigned k,
    const char *args, const helicone_json_value_t *v, helicone_buf_t *out)
{
    helicone_translate_delta_open(s, out);
    helicone_translate_lit(out, "\"tool_calls\":[{\"index\":");
    helicone_buf_add_int(out, k);
    helicone_translate_lit(out, ",\"function\":{\"arguments\":");

    if (args) {
        helicone_buf_add_cstr(out, args);

    } else {
        helicone_translate_raw(out, v);
    }

    helicone_translate_lit(out, "}}]");
    helicone_translate_delta_close(out);
}


/* the event's block "index", when it is one we keep state for */

static int
helicone_translate_block_index(const helicone_json_value_t *ev,
    unsigned *index)
{
    int64_t  n;

    if (helicone_json_int64(&ev[helicone_anthropic_ev_index], &n) != HELICONE_OK
        || n < 0 || n >= HELICONE_TRANSLATE_BLOCKS)
    {
        return 0;
    }

    *index = (unsigned) n;

    return 1;
}


static void
helicone_translate_stream_start(helicone_translate_stream_t *s,
    const helicone_json_value_t *ev, helicone_buf_t *out)
{
    helicone_json_value_t  m[3];

    static const helicone_str_t  names[3] = {
        helicone_string("id"), helicone_string("model"),
        helicone_string("usage")
    };

    if (helicone_json_object_pick(&ev[helicone_anthropic_ev_message], names,
                                  3, m)
        == HELICONE_OK)
    {
        if (helicone_translate_has(&m[0])) {
            helicone_translate_keep(&m[0], s->id, HELICONE_TRANSLATE_ID_MAX,
                                    &s->id_len);
        }

        if (helicone_translate_has(&m[1])) {
            helicone_translate_keep(&m[1], s->model,
                                    HELICONE_TRANSLATE_MODEL_MAX,
                                    &s->model_len);
        }
    }

    /* the event's own "usage" first, as Anthropic's readers do */
    (void) helicone_usage_anthropic_object(
               ev[helicone_anthropic_ev_usage].type == HELICONE_JSON_OBJECT
               ? &ev[helicone_anthropic_ev_usage] : &m[2], &s->usage);

    s->started = 1;

    helicone_translate_delta_open(s, out);
    helicone_translate_lit(out, "\"role\":\"assistant\",\"content\":\"\"");
    helicone_translate_delta_close(out);
}


/*
 * Tool calls are numbered in their order in the message; blocks past
 * HELICONE_TRANSLATE_BLOCKS keep no state, so their tool calls are
 * dropped while their text still streams.
 */

static void
helicone_translate_stream_block_start(helicone_translate_stream_t *s,
    const helicone_json_value_t *ev, helicone_buf_t *out)
{
    unsigned               i, k;
    helicone_json_value_t  block, v;

    block = ev[helicone_anthropic_ev_block];

    if (!helicone_translate_has(&block)) {
        return;
    }

    if (!helicone_translate_block_index(ev, &i)) {
        i = HELICONE_TRANSLATE_BLOCKS;
    }

    if (helicone_translate_is(&block, "type", "text")) {
        if (i < HELICONE_TRANSLATE_BLOCKS) {
            s->block_kind[i] = helicone_block_text;
        }

        if (helicone_translate_get_string(&block, "text", &v)
            && v.len > 2)
        {
            helicone_translate_delta_text(s, "content", &v, out);
        }

        return;
    }

    if (helicone_translate_is(&block, "type", "thinking")) {
        if (i < HELICONE_TRANSLATE_BLOCKS) {
            s->block_kind[i] = helicone_block_thinking;
        }

        if (helicone_translate_get_string(&block, "thinking", &v)
            && v.len > 2)
        {
            helicone_translate_delta_text(s, "reasoning", &v, out);
        }

        return;
    }

    if (!helicone_translate_is(&block, "type", "tool_use")) {
        if (i < HELICONE_TRANSLATE_BLOCKS) {
            s->block_kind[i] = helicone_block_other;
        }

        return;
    }

    if (i == HELICONE_TRANSLATE_BLOCKS || s->tools > 255) {
        return;
    }

    k = s->tools++;

    s->block_kind[i] = helicone_block_tool;
    s->block_tool[i] = (unsigned char) k;
    s->block_args[i] = 0;

    helicone_translate_delta_open(s, out);
    helicone_translate_lit(out, "\"tool_calls\":[{\"index\":");
    helicone_buf_add_int(out, k);
    helicone_translate_lit(out, ",\"id\":");
    helicone_translate_string(out, helicone_translate_get(&block, "id", &v)
                                   ? &v : NULL);
    helicone_translate_lit(out, ",\"type\":\"function\",\"function\":"
                                "{\"name\":");
    helicone_translate_string(out, helicone_translate_get(&block, "name", &v)
                                   ? &v : NULL);
    helicone_translate_lit(out, ",\"arguments\":\"\"}}]");
    helicone_translate_delta_close(out);
}


static void
helicone_translate_stream_block_delta(helicone_translate_stream_t *s,
    const helicone_json_value_t *ev, helicone_buf_t *out)
{
    unsigned               i;
    helicone_json_value_t  d[4], *type, *v;

    static const helicone_str_t  names[4] = {
        helicone_string("type"), helicone_string("text"),
        helicone_string("thinking"), helicone_string("partial_json")
    };

    if (helicone_json_object_pick(&ev[helicone_anthropic_ev_delta], names, 4, d)
        != HELICONE_OK
        || d[0].type != HELICONE_JSON_STRING)
    {
        return;
    }

    type = &d[0];

    if (helicone_json_string_eq(type, "text_delta", 10)) {
        v = &d[1];

        if (v->type == HELICONE_JSON_STRING && v->len > 2) {
            helicone_translate_delta_text(s, "content", v, out);
        }

        return;
    }

    if (helicone_json_string_eq(type, "thinking_delta", 14)) {
        v = &d[2];

        if (v->type == HELICONE_JSON_STRING && v->len > 2) {
            helicone_translate_delta_text(s, "reasoning", v, out);
        }

        return;
    }

    v = &d[3];

    if (!helicone_json_string_eq(type, "input_json_delta", 16)
        || !helicone_translate_block_index(ev, &i)
        || s->block_kind[i] != helicone_block_tool
        || v->type != HELICONE_JSON_STRING)
    {
        /* signature_delta, citations_delta and the like: no chunk */
        return;
    }

    if (v->len <= 2 && !s->block_args[i]) {
        return;
    }

    s->block_args[i] = 1;

    helicone_translate_delta_args(s, s->block_tool[i], NULL, v, out);
}


/* a tool call that got no arguments still gets an object: "{" then "}" */

static void
helicone_translate_stream_block_stop(helicone_translate_stream_t *s,
    const helicone_json_value_t *ev, helicone_buf_t *out)
{
    unsigned  i;

    if (!helicone_translate_block_index(ev, &i)
        || s->block_kind[i] != helicone_block_tool
        || s->block_args[i])
    {
        return;
    }

    s->block_args[i] = 1;

    helicone_translate_delta_args(s, s->block_tool[i], "\"{\"", NULL, out);
    helicone_translate_delta_args(s, s->block_tool[i], "\"}\"", NULL, out);
}


static void
helicone_translate_stream_delta(helicone_translate_stream_t *s,
    const helicone_json_value_t *ev, helicone_buf_t *out)
{
    const char             *finish;
    helicone_json_value_t   v;

    finish = helicone_translate_finish(
                 helicone_json_object_get(&ev[helicone_anthropic_ev_delta],
                                          "stop_reason", 11, &v)
                 == HELICONE_OK ? &v : NULL);

    s->finish_reason.data = (const unsigned char *) finish;
    s->finish_reason.len = strlen(finish);

    (void) helicone_usage_anthropic_object(&ev[helicone_anthropic_ev_usage],
                                           &s->usage);

    helicone_translate_delta_open(s, out);
    helicone_translate_lit(out, "},\"logprobs\":null,\"finish_reason\":\"");
    helicone_buf_add(out, s->finish_reason.data, s->finish_reason.len);
    helicone_translate_lit(out, "\"}]}\n\n");
}


static void
helicone_translate_stream_stop(helicone_translate_stream_t *s,
    helicone_buf_t *out)
{
    s->stopped = 1;

    if (s->include_usage) {
        helicone_translate_chunk_open(s, out);
        helicone_translate_lit(out, "],\"usage\":");
        helicone_translate_usage(out, &s->usage, 1);
        helicone_translate_lit(out, "}\n\n");
    }

    helicone_translate_lit(out, "data: [DONE]\n\n");
}


/*
 * OpenAI ends a stream that failed with one error object and no
 * [DONE]; upstream Helicone dropped the event silently.
 */

static void
helicone_translate_stream_error(helicone_translate_stream_t *s,
    const helicone_sse_event_t *ev, helicone_buf_t *out)
{
    s->failed = 1;

    helicone_translate_lit(out, "data: ");
    helicone_translate_error(ev->data.data, ev->data.len, out);
    helicone_translate_lit(out, "\n\n");
}
