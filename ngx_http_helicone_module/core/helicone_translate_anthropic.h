/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * OpenAI chat.completions <-> Anthropic Messages: requests, responses,
 * errors and streams. Works on spans of validated JSON, writes into a
 * caller's buffer; no allocation.
 */

#ifndef _HELICONE_TRANSLATE_ANTHROPIC_H_INCLUDED_
#define _HELICONE_TRANSLATE_ANTHROPIC_H_INCLUDED_


#include "helicone_core.h"
#include "helicone_buf.h"
#include "helicone_json.h"
#include "helicone_sse.h"
#include "helicone_usage.h"
#include "helicone_translate.h"
#include "helicone_anthropic.h"


/*
 * An OpenAI chat request into an Anthropic Messages request body.
 * HELICONE_OK; HELICONE_DECLINED when the request cannot be expressed
 * (*error: a static message for the client's 400); HELICONE_ERROR when
 * out->overflow (retry with a larger buffer; twice the input plus 4k
 * is always enough).
 */
int helicone_translate_request(const helicone_json_value_t *req,
    const helicone_translate_opts_t *opts, helicone_buf_t *out,
    const char **error);

/*
 * An Anthropic Messages response (2xx) into an OpenAI chat.completion;
 * created is the Unix time to report. Fills usage. HELICONE_OK,
 * HELICONE_DECLINED when resp is not a message, HELICONE_ERROR on
 * overflow.
 */
int helicone_translate_response(const helicone_json_value_t *resp,
    int64_t created, helicone_buf_t *out, helicone_usage_t *usage);

/*
 * An Anthropic error body ({"type":"error","error":{"type","message"}})
 * into the OpenAI error shape; anything else is wrapped as a message.
 */
int helicone_translate_error(const unsigned char *body, size_t len,
    helicone_buf_t *out);


/* Anthropic SSE events into chat.completion.chunk events, as they come. */

#define HELICONE_TRANSLATE_ID_MAX     128
#define HELICONE_TRANSLATE_MODEL_MAX  256
#define HELICONE_TRANSLATE_BLOCKS     64

typedef struct {
    int64_t             created;
    unsigned            include_usage:1;  /* emit the usage chunk */
    unsigned            started:1;        /* message_start seen */
    unsigned            stopped:1;        /* message_stop seen */
    unsigned            failed:1;         /* an "error" event came */

    size_t              id_len;
    unsigned char       id[HELICONE_TRANSLATE_ID_MAX];
    size_t              model_len;
    unsigned char       model[HELICONE_TRANSLATE_MODEL_MAX];

    /* per content block index: its kind and its tool call number */
    unsigned char       block_kind[HELICONE_TRANSLATE_BLOCKS];
    unsigned char       block_tool[HELICONE_TRANSLATE_BLOCKS];
    unsigned char       block_args[HELICONE_TRANSLATE_BLOCKS];
    unsigned            tools;            /* tool calls so far */

    helicone_str_t      finish_reason;    /* static string */
    helicone_usage_t    usage;
} helicone_translate_stream_t;


void helicone_translate_stream_init(helicone_translate_stream_t *s,
    int64_t created, int include_usage);

/*
 * One Anthropic event in; zero or more "data: {...}\n\n" chunks out
 * (message_stop also writes the usage chunk when asked and
 * "data: [DONE]\n\n"). HELICONE_OK, or HELICONE_ERROR on overflow
 * (out->overflow; an output buffer of twice the event's data plus 2k is
 * always enough).
 */
int helicone_translate_stream_event(helicone_translate_stream_t *s,
    const helicone_sse_event_t *ev, helicone_buf_t *out);


#endif /* _HELICONE_TRANSLATE_ANTHROPIC_H_INCLUDED_ */
