/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Anthropic Messages, the wire format both translators to it share. */

#include <string.h>

#include "helicone_translate.h"
#include "helicone_anthropic.h"


const helicone_str_t  helicone_anthropic_events[] = {
    helicone_string("message_start"),
    helicone_string("content_block_start"),
    helicone_string("content_block_delta"),
    helicone_string("content_block_stop"),
    helicone_string("message_delta"),
    helicone_string("message_stop"),
    helicone_string("error")
};


unsigned
helicone_anthropic_event_pick(const helicone_sse_event_t *ev,
    helicone_json_value_t *m)
{
    helicone_json_value_t  root;

    static const helicone_str_t  names[helicone_anthropic_ev_n] = {
        helicone_string("type"), helicone_string("index"),
        helicone_string("delta"), helicone_string("content_block"),
        helicone_string("message"), helicone_string("usage"),
        helicone_string("error")
    };

    if (helicone_json_parse_pick(ev->data.data, ev->data.len, &root, names,
                                 helicone_anthropic_ev_n, m)
        != HELICONE_OK
        || root.type != HELICONE_JSON_OBJECT)
    {
        return helicone_anthropic_event_n;
    }

    return helicone_json_string_index(&m[helicone_anthropic_ev_type],
                                      helicone_anthropic_events,
                                      helicone_anthropic_event_n);
}


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

    switch (helicone_json_string_index(&type, helicone_anthropic_events,
                                       helicone_anthropic_event_n))
    {
    case helicone_anthropic_message_stop:
        return HELICONE_EVENT_END;

    case helicone_anthropic_error:
        return HELICONE_EVENT_ERROR;

    case helicone_anthropic_message_start:
        /* the model, and the input side of the usage */
        if (helicone_json_object_get(doc, "message", 7, &message)
                == HELICONE_OK
            && message.type == HELICONE_JSON_OBJECT)
        {
            (void) helicone_usage_from_anthropic(&message, u);
            (void) helicone_json_object_get(&message, "model", 5, model);
        }

        return 0;

    case helicone_anthropic_message_delta:
        (void) helicone_usage_from_anthropic(doc, u);
        return 0;

    default:
        return 0;
    }
}


/*
 * A text delta as Anthropic writes it, byte for byte:
 *     {"type":"content_block_delta","index":N,
 *      "delta":{"type":"text_delta","text":"..."}}   (on one line)
 * Most events of a stream are these, so they are recognised without
 * parsing the event: 1 and *text, the JSON string. Anything else, even
 * the same event with white space, is left to the general way (0).
 */

int
helicone_anthropic_text_delta(const helicone_sse_event_t *ev,
    helicone_json_value_t *text)
{
    const unsigned char    *p, *q, *end;
    helicone_json_value_t   index;

    static const char  head[] = "{\"type\":\"content_block_delta\",\"index\":";
    static const char  mid[] = ",\"delta\":{\"type\":\"text_delta\",\"text\":";

    p = ev->data.data;
    end = p + ev->data.len;

    if ((size_t) (end - p) < sizeof(head) - 1 + 1 + sizeof(mid) - 1 + 4
        || memcmp(p, head, sizeof(head) - 1) != 0
        || end[-1] != '}' || end[-2] != '}')
    {
        return 0;
    }

    p += sizeof(head) - 1;

    /* the index: any JSON number, as the general way takes it */

    q = memchr(p, ',', (size_t) (end - p));

    if (q == NULL
        || helicone_json_parse(p, (size_t) (q - p), &index) != HELICONE_OK
        || index.type != HELICONE_JSON_NUMBER
        || index.start != p || index.len != (size_t) (q - p))
    {
        return 0;
    }

    p = q;

    if ((size_t) (end - p) < sizeof(mid) - 1 + 4
        || memcmp(p, mid, sizeof(mid) - 1) != 0)
    {
        return 0;
    }

    p += sizeof(mid) - 1;

    /* one JSON string, with nothing around it, up to the closing braces */

    return helicone_json_parse(p, (size_t) (end - 2 - p), text) == HELICONE_OK
           && text->type == HELICONE_JSON_STRING
           && text->start == p
           && text->start + text->len == end - 2;
}


/* request pieces */

void
helicone_anthropic_head(helicone_buf_t *out, const helicone_str_t *model,
    const helicone_json_value_t *requested, int64_t max)
{
    helicone_translate_lit(out, "{\"model\":\"");

    if (model && model->len) {
        helicone_buf_add_escaped(out, model->data, model->len);

    } else if (requested && requested->type == HELICONE_JSON_STRING
               && requested->len >= 2)
    {
        /* still escaped, as it came */
        helicone_buf_add(out, requested->start + 1, requested->len - 2);
    }

    helicone_translate_lit(out, "\",\"max_tokens\":");
    helicone_buf_add_int(out, max);
}


int
helicone_anthropic_input(const helicone_json_value_t *args,
    helicone_buf_t *out)
{
    size_t                 n;
    helicone_json_value_t  root;

    if (args->type == HELICONE_JSON_OBJECT) {
        helicone_translate_raw(out, args);
        return HELICONE_OK;
    }

    if (args->type != HELICONE_JSON_STRING) {
        return HELICONE_DECLINED;
    }

    if (args->len <= 2) {
        helicone_translate_lit(out, "{}");
        return HELICONE_OK;
    }

    /* the decoded text is never longer than the string */
    if (!helicone_buf_room(out, args->len)) {
        return HELICONE_OK;
    }

    n = helicone_json_string_decode(args, out->pos);

    if (n == (size_t) -1
        || helicone_json_parse(out->pos, n, &root) != HELICONE_OK
        || root.type != HELICONE_JSON_OBJECT)
    {
        return HELICONE_DECLINED;
    }

    out->pos += n;

    return HELICONE_OK;
}


void
helicone_anthropic_tool_open(helicone_buf_t *out, unsigned *n,
    const helicone_json_value_t *name)
{
    helicone_buf_add_cstr(out, *n ? "," : ",\"tools\":[");
    (*n)++;

    helicone_translate_lit(out, "{\"name\":");
    helicone_translate_raw(out, name);
}


void
helicone_anthropic_tool_choice(helicone_buf_t *out, const char *type,
    const helicone_json_value_t *name, int serial)
{
    helicone_translate_lit(out, ",\"tool_choice\":{\"type\":\"");
    helicone_buf_add_cstr(out, type);
    helicone_translate_lit(out, "\"");

    if (name) {
        helicone_translate_lit(out, ",\"name\":");
        helicone_translate_raw(out, name);
    }

    if (serial) {
        helicone_translate_lit(out, ",\"disable_parallel_tool_use\":true");
    }

    helicone_translate_lit(out, "}");
}


void
helicone_anthropic_text_block(helicone_buf_t *out,
    const helicone_json_value_t *text, const helicone_json_value_t *cc)
{
    helicone_translate_lit(out, "{\"type\":\"text\",\"text\":");
    helicone_translate_raw(out, text);

    if (cc) {
        helicone_translate_lit(out, ",\"cache_control\":");
        helicone_translate_raw(out, cc);
    }

    helicone_translate_lit(out, "}");
}


void
helicone_anthropic_thinking_block(helicone_buf_t *out,
    const helicone_json_value_t *text, const helicone_json_value_t *sig)
{
    helicone_translate_lit(out, "{\"type\":\"thinking\",\"thinking\":");
    helicone_translate_string(out, text);
    helicone_translate_lit(out, ",\"signature\":");
    helicone_translate_raw(out, sig);
    helicone_translate_lit(out, "}");
}


void
helicone_anthropic_image_url(helicone_buf_t *out,
    const helicone_json_value_t *url)
{
    helicone_translate_lit(out, "{\"type\":\"image\",\"source\":"
                                "{\"type\":\"url\",\"url\":");
    helicone_translate_raw(out, url);
    helicone_translate_lit(out, "}");
}


void
helicone_anthropic_image_base64(helicone_buf_t *out,
    const unsigned char *type, size_t type_len, const unsigned char *data,
    size_t len)
{
    helicone_translate_lit(out, "{\"type\":\"image\",\"source\":"
                                "{\"type\":\"base64\",\"media_type\":\"");
    helicone_buf_add(out, type, type_len);
    helicone_translate_lit(out, "\",\"data\":\"");
    helicone_buf_add(out, data, len);
    helicone_translate_lit(out, "\"}");
}
