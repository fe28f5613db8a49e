/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * OpenAI's Responses API: what a relayed response or stream event tells
 * (usage, the end), and Responses <-> Anthropic Messages for requests,
 * responses and streams. Works on spans of validated JSON, writes into a
 * caller's buffers; no allocation.
 */

#ifndef _HELICONE_TRANSLATE_RESPONSES_H_INCLUDED_
#define _HELICONE_TRANSLATE_RESPONSES_H_INCLUDED_


#include "helicone_core.h"
#include "helicone_buf.h"
#include "helicone_json.h"
#include "helicone_sse.h"
#include "helicone_usage.h"
#include "helicone_translate.h"


/* what a Responses stream event said, as bits */
#define HELICONE_RESPONSES_END    1   /* completed, incomplete or failed */
#define HELICONE_RESPONSES_ERROR  2   /* an "error" event, or failed */


/*
 * One event of a Responses stream (its parsed data): the bits above;
 * the usage of the response it carries into u, and its "model" into
 * *model (of type HELICONE_JSON_INVALID when it names none).
 */
unsigned helicone_responses_event_read(const helicone_json_value_t *doc,
    helicone_usage_t *u, helicone_json_value_t *model);


#endif /* _HELICONE_TRANSLATE_RESPONSES_H_INCLUDED_ */
