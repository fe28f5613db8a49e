/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* OpenAI's Responses API: reading it, and to and from Anthropic Messages. */

#include "helicone_translate_responses.h"


/* the event types that matter to a relayed stream */
static const helicone_str_t  helicone_responses_ends[] = {
    helicone_string("response.completed"),
    helicone_string("response.incomplete"),
    helicone_string("response.failed"),
    helicone_string("error")
};


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
