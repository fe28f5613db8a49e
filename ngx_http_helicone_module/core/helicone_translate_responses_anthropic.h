/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * OpenAI's Responses API: what a relayed response or stream event tells
 * (usage, the end), and Responses <-> Anthropic Messages for requests,
 * responses and streams. Works on spans of validated JSON, writes into a
 * caller's buffers; no allocation.
 */

#ifndef _HELICONE_TRANSLATE_RESPONSES_ANTHROPIC_H_INCLUDED_
#define _HELICONE_TRANSLATE_RESPONSES_ANTHROPIC_H_INCLUDED_


#include "helicone_core.h"
#include "helicone_buf.h"
#include "helicone_json.h"
#include "helicone_sse.h"
#include "helicone_usage.h"
#include "helicone_translate.h"
#include "helicone_anthropic.h"
/* the chat stream's state, which the Responses stream builds on */
#include "helicone_translate_anthropic.h"


/* what a Responses stream event said, as bits */
#define HELICONE_RESPONSES_END    HELICONE_EVENT_END   /* completed,
                                                         incomplete, failed */
#define HELICONE_RESPONSES_ERROR  HELICONE_EVENT_ERROR /* "error", failed */


/*
 * One event of a Responses stream (its parsed data): the bits above;
 * the usage of the response it carries into u, and its "model" into
 * *model (of type HELICONE_JSON_INVALID when it names none).
 */
unsigned helicone_responses_event_read(const helicone_json_value_t *doc,
    helicone_usage_t *u, helicone_json_value_t *model);


/*
 * A Responses request into an Anthropic Messages request body: input
 * items and instructions, tools and tool results, reasoning effort,
 * max_output_tokens. HELICONE_OK; HELICONE_DECLINED when the request
 * asks for what Messages cannot do or the gateway cannot keep
 * (previous_response_id, ...): *error, a static message naming the
 * field; HELICONE_ERROR when out->overflow (twice the input plus 4k is
 * always enough).
 */
int helicone_translate_responses_request(const helicone_json_value_t *req,
    const helicone_translate_opts_t *opts, helicone_buf_t *out,
    const char **error);

/*
 * An Anthropic message (2xx) into a Responses "response" object, created
 * the Unix time to report. Fills usage. HELICONE_OK, HELICONE_DECLINED
 * when resp is not a message, HELICONE_ERROR on overflow (twice the
 * input plus 4k is always enough).
 */
int helicone_translate_responses_response(const helicone_json_value_t *resp,
    int64_t created, helicone_buf_t *out, helicone_usage_t *usage);


/*
 * Anthropic SSE events into the Responses stream's typed events:
 * response.created ... response.output_text.delta ... response.completed.
 * The chat stream's state comes first, so the caller reads usage, the
 * model and the end from it alike.
 */

#define HELICONE_RESPONSES_ITEM_ID_MAX  (HELICONE_TRANSLATE_ID_MAX + 32)

typedef struct {
    helicone_translate_stream_t  base;

    /*
     * The output items so far, as the final response lists them, for
     * the .done events and response.completed: the caller's buffer,
     * grown through grow() (the SSE parser's kind) up to max.
     */
    helicone_buf_t               items;
    helicone_sse_grow_pt         grow;         /* NULL: never grows */
    void                        *grow_ctx;
    size_t                       max;
    size_t                       item_start;   /* the open item, in items */
    size_t                       value_start;  /* its text or arguments */
    int64_t                      seq;          /* sequence_number */
    unsigned                     output_index; /* of the open item */
    unsigned                     nitems;
    unsigned                     open;         /* helicone_block_e kind */
    size_t                       value_end;    /* thinking: its text's */
    unsigned                     incomplete:1; /* max_tokens reached */
    unsigned                     signature:1;    /* thinking: signature
                                                  begun */
    unsigned                     refused:1;
    size_t                       item_id_len;
    unsigned char                item_id[HELICONE_RESPONSES_ITEM_ID_MAX];
} helicone_responses_stream_t;


/*
 * items: the caller's buffer for the output items (see above), grown
 * by grow (may be NULL), doubling, up to max bytes.
 */
void helicone_responses_stream_init(helicone_responses_stream_t *s,
    int64_t created, unsigned char *items, size_t size,
    helicone_sse_grow_pt grow, void *grow_ctx, size_t max);

/*
 * One Anthropic event in; zero or more "event: ...\ndata: {...}\n\n"
 * out. HELICONE_OK, or HELICONE_ERROR on overflow of out (nothing was
 * written and the state is unchanged: feed it again with more room;
 * twice the event's data plus 4k is always enough, and the final event
 * needs the output items' size more). When the items buffer is full the
 * stream ends with response.failed (base.failed).
 */
int helicone_responses_stream_event(helicone_responses_stream_t *s,
    const helicone_sse_event_t *ev, helicone_buf_t *out);


#endif /* _HELICONE_TRANSLATE_RESPONSES_ANTHROPIC_H_INCLUDED_ */
