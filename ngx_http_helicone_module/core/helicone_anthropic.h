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
#include "helicone_sse.h"
#include "helicone_usage.h"


/* a Messages stream's events, by their "type" */

enum {
    helicone_anthropic_message_start = 0,
    helicone_anthropic_block_start,
    helicone_anthropic_block_delta,
    helicone_anthropic_block_stop,
    helicone_anthropic_message_delta,
    helicone_anthropic_message_stop,
    helicone_anthropic_error,
    helicone_anthropic_event_n
};

/* their names, in that order (for helicone_json_string_index()) */
extern const helicone_str_t  helicone_anthropic_events[];


/*
 * The members of a stream event that the translators read, picked in
 * one pass over the event into m[helicone_anthropic_ev_n].
 */

enum {
    helicone_anthropic_ev_type = 0,
    helicone_anthropic_ev_index,
    helicone_anthropic_ev_delta,
    helicone_anthropic_ev_block,      /* content_block */
    helicone_anthropic_ev_message,
    helicone_anthropic_ev_usage,
    helicone_anthropic_ev_error,
    helicone_anthropic_ev_n
};

/*
 * An event's data parsed and its members picked into m: which event it
 * is (helicone_anthropic_message_start, ...), or helicone_anthropic_event_n
 * when it is not an object of a known type (a ping, a new event, not
 * JSON).
 */
unsigned helicone_anthropic_event_pick(const helicone_sse_event_t *ev,
    helicone_json_value_t *m);


/*
 * One event of a relayed Messages stream (its parsed data): the
 * HELICONE_EVENT_* bits; the usage it carries into u (message_start's,
 * then message_delta's), and its message's "model" into *model (of type
 * HELICONE_JSON_INVALID when it names none).
 */
unsigned helicone_anthropic_event_read(const helicone_json_value_t *doc,
    helicone_usage_t *u, helicone_json_value_t *model);

/*
 * A text delta event as Anthropic writes it (on one line, no white
 * space): 1 and *text, its JSON string, found without parsing the whole
 * event; 0 for anything else (parse it then). The bulk of a stream.
 */
int helicone_anthropic_text_delta(const helicone_sse_event_t *ev,
    helicone_json_value_t *text);


/*
 * Writing a request: the pieces both translators to Messages write
 * alike. Each appends to out (out->overflow when it did not fit).
 */

/*
 * A request's head, {"model":<model>,"max_tokens":<max>: the provider's
 * model id (model, when not NULL and not empty), else the one the client
 * asked for (requested, a JSON string; may be NULL).
 */
void helicone_anthropic_head(helicone_buf_t *out, const helicone_str_t *model,
    const helicone_json_value_t *requested, int64_t max);

/*
 * A tool call's arguments (a string of JSON, or an object) as a tool_use
 * "input": an object as it is; a string decoded in place at the end of
 * out, kept when it holds an object; an empty string: {}. HELICONE_OK;
 * HELICONE_DECLINED when args is neither, or not an object's JSON (the
 * caller names the error).
 */
int helicone_anthropic_input(const helicone_json_value_t *args,
    helicone_buf_t *out);

/*
 * A tool's definition opened: ,"tools":[ before the first (*n == 0), a
 * comma before the others, then {"name":<name>; *n counts them.
 */
void helicone_anthropic_tool_open(helicone_buf_t *out, unsigned *n,
    const helicone_json_value_t *name);

/*
 * ,"tool_choice":{"type":<type>} with "name" (a JSON string, or NULL)
 * and, when serial, "disable_parallel_tool_use":true.
 */
void helicone_anthropic_tool_choice(helicone_buf_t *out, const char *type,
    const helicone_json_value_t *name, int serial);

/* {"type":"text","text":<text>} with cache_control (cc, may be NULL) */
void helicone_anthropic_text_block(helicone_buf_t *out,
    const helicone_json_value_t *text, const helicone_json_value_t *cc);

/*
 * A signed thinking block, as Anthropic takes it back: its text (a JSON
 * string; anything else writes "") and its signature.
 */
void helicone_anthropic_thinking_block(helicone_buf_t *out,
    const helicone_json_value_t *text, const helicone_json_value_t *sig);

/*
 * An image block by URL (a JSON string), or by base64 data with its media
 * type (both unquoted, as they go in); the block is left open, for
 * cache_control or its closing brace.
 */
void helicone_anthropic_image_url(helicone_buf_t *out,
    const helicone_json_value_t *url);
void helicone_anthropic_image_base64(helicone_buf_t *out,
    const unsigned char *type, size_t type_len, const unsigned char *data,
    size_t len);


#endif /* _HELICONE_ANTHROPIC_H_INCLUDED_ */
