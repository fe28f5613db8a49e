/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Tests for core/helicone_anthropic.c, the Messages wire format both
 * translators share: a relayed stream's events read and picked, and the
 * request pieces (tool input, tools, tool_choice, text, thinking and
 * image blocks) written.
 */

#include <string.h>

#include "helicone_anthropic.h"
#include "tap.h"


static void parse(const char *json, helicone_json_value_t *v);
static unsigned read_event(const char *json, helicone_usage_t *u,
    helicone_json_value_t *model);
static void test_event_read(void);
static void check_input(const char *args, int rc, const char *expect);
static void test_input(void);
static void test_writers(void);
static unsigned pick_event(const char *data, helicone_json_value_t *m);
static void test_event_pick(void);
static void test_blocks(void);


static void
parse(const char *json, helicone_json_value_t *v)
{
    if (helicone_json_parse((const unsigned char *) json, strlen(json), v)
        != HELICONE_OK)
    {
        v->type = HELICONE_JSON_INVALID;
    }
}


static unsigned
read_event(const char *json, helicone_usage_t *u,
    helicone_json_value_t *model)
{
    helicone_json_value_t  doc;

    parse(json, &doc);

    return helicone_anthropic_event_read(&doc, u, model);
}


static void
test_event_read(void)
{
    unsigned               said;
    helicone_usage_t       u;
    helicone_json_value_t  model;

    helicone_usage_init(&u);

    said = read_event("{\"type\":\"message_start\",\"message\":{\"id\":\"m\","
                      "\"model\":\"claude-x\",\"usage\":{\"input_tokens\":7,"
                      "\"output_tokens\":1}}}", &u, &model);
    is_int(said, 0, "message_start: not the end");
    is_mem(model.start, model.len, "\"claude-x\"", 10,
           "message_start: its message's model");
    is_int(u.prompt_tokens, 7, "message_start: the input");

    said = read_event("{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
                      "\"end_turn\"},\"usage\":{\"output_tokens\":12}}",
                      &u, &model);
    is_int(said, 0, "message_delta: not the end");
    is_int(model.type, HELICONE_JSON_INVALID, "message_delta: no model");
    is_int(u.completion_tokens, 12, "message_delta: the output");
    is_int(u.prompt_tokens, 7, "message_delta: the input kept");

    is_int(read_event("{\"type\":\"message_stop\"}", &u, &model),
           HELICONE_EVENT_END, "message_stop: the end");
    is_int(read_event("{\"type\":\"error\",\"error\":{\"type\":\"x\"}}", &u,
                      &model),
           HELICONE_EVENT_ERROR, "error: an error");
    is_int(read_event("{\"type\":\"ping\"}", &u, &model), 0, "ping: nothing");
    is_int(read_event("{\"message\":{}}", &u, &model), 0, "no type: nothing");
    is_int(read_event("{\"type\":\"message_start\",\"message\":3}", &u,
                      &model),
           0, "message_start without a message: nothing");
    is_int(model.type, HELICONE_JSON_INVALID, "... and no model");
}


static void
check_input(const char *args, int rc, const char *expect)
{
    int                    got;
    unsigned char          buf[256];
    helicone_buf_t         out;
    helicone_json_value_t  v;

    parse(args, &v);
    helicone_buf_init(&out, buf, sizeof(buf));

    got = helicone_anthropic_input(&v, &out);
    is_int(got, rc, args);

    if (rc == HELICONE_OK) {
        is_mem(out.start, (size_t) (out.pos - out.start), expect,
               strlen(expect), args);
    }
}


static void
test_input(void)
{
    unsigned char          buf[8];
    helicone_buf_t         out;
    helicone_json_value_t  v;

    check_input("{\"a\":1}", HELICONE_OK, "{\"a\":1}");
    check_input("\"{\\\"city\\\":\\\"Paris\\\"}\"", HELICONE_OK,
                "{\"city\":\"Paris\"}");
    check_input("\"\"", HELICONE_OK, "{}");
    check_input("\"[1,2]\"", HELICONE_DECLINED, NULL);
    check_input("\"{\\\"a\\\":\"", HELICONE_DECLINED, NULL);
    check_input("[1]", HELICONE_DECLINED, NULL);
    check_input("null", HELICONE_DECLINED, NULL);

    /* too long for the buffer: flagged, nothing read past it */
    parse("\"{\\\"long enough\\\":1}\"", &v);
    helicone_buf_init(&out, buf, sizeof(buf));
    is_int(helicone_anthropic_input(&v, &out), HELICONE_OK,
           "overflow: still OK");
    ok(out.overflow, "overflow: flagged");
}


static void
test_writers(void)
{
    unsigned               n;
    unsigned char          buf[512];
    helicone_buf_t         out;
    helicone_json_value_t  name, url;

    static const char  tools[] = ",\"tools\":[{\"name\":\"f\",{\"name\":\"f\"";
    static const char  any[] = ",\"tool_choice\":{\"type\":\"any\"}";
    static const char  tool[] = ",\"tool_choice\":{\"type\":\"tool\","
                                "\"name\":\"f\",\"disable_parallel_tool_use\""
                                ":true}";
    static const char  image[] = "{\"type\":\"image\",\"source\":{\"type\":"
                                 "\"url\",\"url\":\"https://x/y.png\"}";
    static const char  b64[] = "{\"type\":\"image\",\"source\":{\"type\":"
                               "\"base64\",\"media_type\":\"image/png\","
                               "\"data\":\"AAAA\"}";

    parse("\"f\"", &name);
    parse("\"https://x/y.png\"", &url);

    helicone_buf_init(&out, buf, sizeof(buf));
    n = 0;
    helicone_anthropic_tool_open(&out, &n, &name);
    helicone_anthropic_tool_open(&out, &n, &name);
    is_int(n, 2, "tool_open: counted");
    is_mem(out.start, (size_t) (out.pos - out.start), tools,
           sizeof(tools) - 1, "tool_open: the list opened once");

    helicone_buf_init(&out, buf, sizeof(buf));
    helicone_anthropic_tool_choice(&out, "any", NULL, 0);
    is_mem(out.start, (size_t) (out.pos - out.start), any, sizeof(any) - 1,
           "tool_choice: a type");

    helicone_buf_init(&out, buf, sizeof(buf));
    helicone_anthropic_tool_choice(&out, "tool", &name, 1);
    is_mem(out.start, (size_t) (out.pos - out.start), tool,
           sizeof(tool) - 1, "tool_choice: a name, serial");

    helicone_buf_init(&out, buf, sizeof(buf));
    helicone_anthropic_image_url(&out, &url);
    is_mem(out.start, (size_t) (out.pos - out.start), image,
           sizeof(image) - 1, "image by URL, the block left open");

    helicone_buf_init(&out, buf, sizeof(buf));
    helicone_anthropic_image_base64(&out, (const unsigned char *) "image/png",
                                    9, (const unsigned char *) "AAAA", 4);
    is_mem(out.start, (size_t) (out.pos - out.start), b64, sizeof(b64) - 1,
           "image by data, the block left open");

    helicone_buf_init(&out, buf, 10);
    helicone_anthropic_image_url(&out, &url);
    ok(out.overflow, "image: a small buffer flagged");
}


static unsigned
pick_event(const char *data, helicone_json_value_t *m)
{
    helicone_sse_event_t  ev;

    memset(&ev, 0, sizeof(ev));
    ev.data.data = (const unsigned char *) data;
    ev.data.len = strlen(data);

    return helicone_anthropic_event_pick(&ev, m);
}


static void
test_event_pick(void)
{
    helicone_json_value_t  m[helicone_anthropic_ev_n];

    is_int(pick_event("{\"type\":\"content_block_start\",\"index\":2,"
                      "\"content_block\":{\"type\":\"text\"}}", m),
           helicone_anthropic_block_start, "pick: content_block_start");
    ok(m[helicone_anthropic_ev_index].type == HELICONE_JSON_NUMBER
       && m[helicone_anthropic_ev_block].type == HELICONE_JSON_OBJECT,
       "  its index and content_block picked");
    ok(m[helicone_anthropic_ev_error].type == HELICONE_JSON_INVALID,
       "  what it does not carry is not there");

    is_int(pick_event("{\"type\":\"error\",\"error\":{\"type\":\"x\"}}", m),
           helicone_anthropic_error, "pick: error");
    ok(m[helicone_anthropic_ev_error].type == HELICONE_JSON_OBJECT,
       "  its error picked");

    is_int(pick_event("{\"type\":\"ping\"}", m), helicone_anthropic_event_n,
           "pick: ping is none of them");
    is_int(pick_event("{\"type\":7}", m), helicone_anthropic_event_n,
           "pick: a type that is no string");
    is_int(pick_event("[\"message_stop\"]", m), helicone_anthropic_event_n,
           "pick: not an object");
    is_int(pick_event("{\"type\":", m), helicone_anthropic_event_n,
           "pick: not JSON");
}


static void
test_blocks(void)
{
    unsigned char          buf[256];
    helicone_buf_t         out;
    helicone_json_value_t  text, cc, sig, num;

    static const char  plain[] = "{\"type\":\"text\",\"text\":\"hi\"}";
    static const char  cached[] = "{\"type\":\"text\",\"text\":\"hi\","
                                  "\"cache_control\":{\"type\":"
                                  "\"ephemeral\"}}";
    static const char  thinking[] = "{\"type\":\"thinking\",\"thinking\":"
                                    "\"hi\",\"signature\":\"s\"}";
    static const char  empty[] = "{\"type\":\"thinking\",\"thinking\":"
                                 "\"\",\"signature\":\"s\"}";

    parse("\"hi\"", &text);
    parse("{\"type\":\"ephemeral\"}", &cc);
    parse("\"s\"", &sig);
    parse("1", &num);

    helicone_buf_init(&out, buf, sizeof(buf));
    helicone_anthropic_text_block(&out, &text, NULL);
    is_mem(out.start, (size_t) (out.pos - out.start), plain,
           sizeof(plain) - 1, "text block");

    helicone_buf_init(&out, buf, sizeof(buf));
    helicone_anthropic_text_block(&out, &text, &cc);
    is_mem(out.start, (size_t) (out.pos - out.start), cached,
           sizeof(cached) - 1, "text block with its cache_control inside");

    helicone_buf_init(&out, buf, sizeof(buf));
    helicone_anthropic_thinking_block(&out, &text, &sig);
    is_mem(out.start, (size_t) (out.pos - out.start), thinking,
           sizeof(thinking) - 1, "thinking block, signed");

    helicone_buf_init(&out, buf, sizeof(buf));
    helicone_anthropic_thinking_block(&out, &num, &sig);
    is_mem(out.start, (size_t) (out.pos - out.start), empty,
           sizeof(empty) - 1, "thinking block: text that is no string: \"\"");
}


int
main(void)
{
    test_event_read();
    test_input();
    test_writers();
    test_event_pick();
    test_blocks();

    return done_testing();
}
