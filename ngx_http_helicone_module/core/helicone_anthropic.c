/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Anthropic Messages, the wire format both translators to it share. */

#include "helicone_anthropic.h"


/* reading a relayed stream */

unsigned
helicone_anthropic_event_read(const helicone_json_value_t *doc,
    helicone_usage_t *u, helicone_json_value_t *model)
{
    helicone_json_value_t  type, message;

    model->type = HELICONE_JSON_INVALID;

    if (helicone_json_object_get(doc, "type", 4, &type) != HELICONE_OK) {
        return 0;
    }

    if (helicone_json_string_eq(&type, "message_stop", 12)) {
        return HELICONE_EVENT_END;
    }

    if (helicone_json_string_eq(&type, "error", 5)) {
        return HELICONE_EVENT_ERROR;
    }

    if (helicone_json_string_eq(&type, "message_start", 13)) {
        /* the model, and the input side of the usage */
        if (helicone_json_object_get(doc, "message", 7, &message)
                == HELICONE_OK
            && message.type == HELICONE_JSON_OBJECT)
        {
            (void) helicone_usage_from_anthropic(&message, u);
            (void) helicone_json_object_get(&message, "model", 5, model);
        }

        return 0;
    }

    if (helicone_json_string_eq(&type, "message_delta", 13)) {
        (void) helicone_usage_from_anthropic(doc, u);
    }

    return 0;
}
