/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Anthropic Messages, the wire format: what the translators to it
 * (helicone_translate_anthropic.c from chat, ..._responses_anthropic.c
 * from Responses) both write and read, and what a stream of it relayed
 * as it is tells. Works on spans of validated JSON; no allocation.
 */

#ifndef _HELICONE_ANTHROPIC_H_INCLUDED_
#define _HELICONE_ANTHROPIC_H_INCLUDED_


#include "helicone_core.h"
#include "helicone_buf.h"
#include "helicone_json.h"
#include "helicone_usage.h"


/*
 * One event of a relayed Messages stream (its parsed data): the
 * HELICONE_EVENT_* bits; the usage it carries into u (message_start's,
 * then message_delta's), and its message's "model" into *model (of type
 * HELICONE_JSON_INVALID when it names none).
 */
unsigned helicone_anthropic_event_read(const helicone_json_value_t *doc,
    helicone_usage_t *u, helicone_json_value_t *model);


#endif /* _HELICONE_ANTHROPIC_H_INCLUDED_ */
