/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Tests for core/helicone_translate_responses_anthropic.c: reading
 * relayed events, Responses requests to Messages, messages to Responses,
 * and Messages streams to Responses events, split at every offset.
 */

#include <stdlib.h>
#include <string.h>

#include "helicone_translate_responses_anthropic.h"
#include "tap.h"


#define OUT_MAX        65536
#define SSE_MAX        65536
#define MODEL          "claude-sonnet-4-20250514"
#define REQ(max)       "{\"model\":\"" MODEL "\",\"max_tokens\":" max

#define A_START                                                               \
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":"   \
    "{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\","         \
    "\"model\":\"" MODEL "\",\"content\":[],\"stop_reason\":null,"            \
    "\"usage\":{\"input_tokens\":20,\"cache_read_input_tokens\":5,"           \
    "\"cache_creation_input_tokens\":7,\"output_tokens\":1}}}\n\n"
#define A_TEXT_START(i)                                                       \
    "event: content_block_start\ndata: {\"type\":\"content_block_start\","   \
    "\"index\":" i ",\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
#define A_TEXT(i, t)                                                          \
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","   \
    "\"index\":" i ",\"delta\":{\"type\":\"text_delta\",\"text\":\"" t         \
    "\"}}\n\n"
#define A_STOP(i)                                                             \
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\","     \
    "\"index\":" i "}\n\n"
#define A_DELTA(reason)                                                       \
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":"     \
    "{\"stop_reason\":\"" reason "\",\"stop_sequence\":null},"                \
    "\"usage\":{\"output_tokens\":4}}\n\n"
#define A_END                                                                 \
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"


typedef struct {
    const char     *name;
    const char     *input;
    const char     *types;      /* the events out, space-separated */
    const char     *contains;   /* in the output */
    int             failed;
} stream_fixture_t;


typedef struct {
    helicone_responses_stream_t   st;
    helicone_buf_t                out;
    int                           errors;
    int                           tight;
    int                           bound_ok;
} stream_ctx_t;


static unsigned char  out_buf[OUT_MAX];
static unsigned char  sse_buf[SSE_MAX];

/* the items' buffers grown by the tests, freed at the end */
static void          *grown[4096];
static size_t         ngrown;


static int parse(const char *json, helicone_json_value_t *v);
static void req_is(const char *name, const char *json, const char *expect);
static void req_declined(const char *name, const char *json,
    const char *field);
static void resp_is(const char *name, const char *json, const char *expect);
static unsigned char *grow(void *ctx, size_t size);
static void grown_free(void);
static int on_event(void *ctx, const helicone_sse_event_t *ev);
static size_t run_stream(const stream_fixture_t *f, const size_t *cuts,
    size_t ncuts, unsigned char *dst, size_t items, int tight);
static int check_events(const unsigned char *p, size_t len,
    const char *types);
static int types_event(void *ctx, const helicone_sse_event_t *ev);
static const unsigned char *find(const unsigned char *p, size_t len,
    const char *s, size_t n);
static void test_event_read(void);
static void test_request(void);
static void test_request_declined(void);
static void test_response(void);
static void test_stream(void);
static void test_stream_items_full(void);


static const helicone_translate_opts_t  opts = {
    { (const unsigned char *) MODEL, sizeof(MODEL) - 1 }, 0
};


static int
parse(const char *json, helicone_json_value_t *v)
{
    return helicone_json_parse((const unsigned char *) json, strlen(json), v);
}


static void
req_is(const char *name, const char *json, const char *expect)
{
    int                     rc;
    const char             *error;
    helicone_buf_t          out;
    helicone_json_value_t   req, check;

    if (parse(json, &req) != HELICONE_OK) {
        ok(0, "%s: the test's JSON parses", name);
        return;
    }

    helicone_buf_init(&out, out_buf, sizeof(out_buf));
    error = NULL;

    rc = helicone_translate_responses_request(&req, &opts, &out, &error);

    if (!ok(rc == HELICONE_OK, "%s", name)) {
        diag("error: %s", error ? error : "(none)");
        return;
    }

    is_mem(out.start, out.pos - out.start, expect, strlen(expect),
           "  the Messages body");
    ok(helicone_json_parse(out.start, out.pos - out.start, &check)
       == HELICONE_OK, "  valid JSON");
}


static void
req_declined(const char *name, const char *json, const char *field)
{
    int                     rc;
    const char             *error;
    helicone_buf_t          out;
    helicone_json_value_t   req;

    if (parse(json, &req) != HELICONE_OK) {
        ok(0, "%s: the test's JSON parses", name);
        return;
    }

    helicone_buf_init(&out, out_buf, sizeof(out_buf));
    error = NULL;

    rc = helicone_translate_responses_request(&req, &opts, &out, &error);

    ok(rc == HELICONE_DECLINED, "%s: declined", name);
    ok(error && strstr(error, field) != NULL, "  the error names %s", field);
    ok(out.pos == out.start, "  nothing written");
}


static void
resp_is(const char *name, const char *json, const char *expect)
{
    int                     rc;
    helicone_buf_t          out;
    helicone_usage_t        u;
    helicone_json_value_t   resp;

    if (parse(json, &resp) != HELICONE_OK) {
        ok(0, "%s: the test's JSON parses", name);
        return;
    }

    helicone_buf_init(&out, out_buf, sizeof(out_buf));
    helicone_usage_init(&u);

    rc = helicone_translate_responses_response(&resp, 1700000000, &out, &u);

    ok(rc == HELICONE_OK, "%s", name);
    is_mem(out.start, out.pos - out.start, expect, strlen(expect),
           "  the response object");
}


static void
test_event_read(void)
{
    unsigned               said;
    helicone_usage_t       u;
    helicone_json_value_t  doc, model;

    helicone_usage_init(&u);
    parse("{\"type\":\"response.created\",\"sequence_number\":0,"
          "\"response\":{\"id\":\"resp_1\",\"model\":\"gpt-4o\","
          "\"usage\":null}}", &doc);
    said = helicone_responses_event_read(&doc, &u, &model);
    is_int(said, 0, "response.created: not the end");
    ok(helicone_json_string_eq(&model, "gpt-4o", 6), "  its model");
    ok(!u.found, "  no usage");

    parse("{\"type\":\"response.output_text.delta\",\"delta\":\"usage\"}",
          &doc);
    said = helicone_responses_event_read(&doc, &u, &model);
    is_int(said, 0, "a delta: nothing");
    is_int(model.type, HELICONE_JSON_INVALID, "  no model");

    parse("{\"type\":\"response.completed\",\"response\":{\"model\":\"m\","
          "\"usage\":{\"input_tokens\":11,\"input_tokens_details\":"
          "{\"cached_tokens\":2},\"output_tokens\":3,"
          "\"output_tokens_details\":{\"reasoning_tokens\":1},"
          "\"total_tokens\":14}}}", &doc);
    said = helicone_responses_event_read(&doc, &u, &model);
    is_int(said, HELICONE_RESPONSES_END, "response.completed: the end");
    is_int(u.prompt_tokens, 11, "  input tokens");
    is_int(u.completion_tokens, 3, "  output tokens");
    is_int(u.cache_read_tokens, 2, "  cached tokens");
    is_int(u.reasoning_tokens, 1, "  reasoning tokens");

    parse("{\"type\":\"response.incomplete\",\"response\":{}}", &doc);
    is_int(helicone_responses_event_read(&doc, &u, &model),
           HELICONE_RESPONSES_END, "response.incomplete: the end");

    parse("{\"type\":\"response.failed\",\"response\":{}}", &doc);
    is_int(helicone_responses_event_read(&doc, &u, &model),
           HELICONE_RESPONSES_END | HELICONE_RESPONSES_ERROR,
           "response.failed: the end, an error");

    parse("{\"type\":\"error\",\"code\":\"x\",\"message\":\"m\"}", &doc);
    is_int(helicone_responses_event_read(&doc, &u, &model),
           HELICONE_RESPONSES_ERROR, "error: an error");

    parse("{\"type\":\"response.completed\",\"response\":\"x\"}", &doc);
    is_int(helicone_responses_event_read(&doc, &u, &model), 0,
           "a response that is no object: nothing");
}


static void
test_request(void)
{
    req_is("a string input",
           "{\"model\":\"x\",\"input\":\"Hi\"}",
           REQ("4096") ",\"messages\":[{\"role\":\"user\",\"content\":"
           "\"Hi\"}]}");

    req_is("instructions, max_output_tokens, temperature, stream, user",
           "{\"model\":\"x\",\"instructions\":\"Be brief.\",\"input\":\"Hi\","
           "\"max_output_tokens\":64,\"temperature\":0.5,\"top_p\":0.9,"
           "\"stream\":true,\"user\":\"u1\",\"store\":false,"
           "\"metadata\":{\"a\":\"b\"}}",
           REQ("64") ",\"messages\":[{\"role\":\"user\",\"content\":"
           "\"Hi\"}],\"system\":[{\"type\":\"text\",\"text\":"
           "\"Be brief.\"}],\"temperature\":0.5,\"top_p\":0.9,\"stream\":true,"
           "\"metadata\":{\"user_id\":\"u1\"}}");

    req_is("messages of every role, parts, images",
           "{\"input\":[{\"role\":\"developer\",\"content\":\"Rules\"},"
           "{\"type\":\"message\",\"role\":\"user\",\"content\":["
           "{\"type\":\"input_text\",\"text\":\"Look\"},"
           "{\"type\":\"input_image\",\"image_url\":"
           "\"data:image/png;base64,iVBO\"},"
           "{\"type\":\"input_image\",\"image_url\":\"https://x/y.png\"}]},"
           "{\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\","
           "\"text\":\"A cat\"}]},"
           "{\"role\":\"system\",\"content\":[{\"type\":\"input_text\","
           "\"text\":\"More\"}]}]}",
           "{\"model\":\"" MODEL "\",\"max_tokens\":4096,\"messages\":["
           "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
           "\"Look\"},{\"type\":\"image\",\"source\":{\"type\":\"base64\","
           "\"media_type\":\"image/png\",\"data\":\"iVBO\"}},"
           "{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":"
           "\"https://x/y.png\"}}]},"
           "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\","
           "\"text\":\"A cat\"}]}],\"system\":["
           "{\"type\":\"text\",\"text\":\"Rules\"},"
           "{\"type\":\"text\",\"text\":\"More\"}]}");

#define SYS "{\"role\":\"system\",\"content\":\"s\"},"
#define SYS_OUT ",{\"type\":\"text\",\"text\":\"s\"}"

    req_is("more system messages than remembered: read again, in order",
           "{\"instructions\":\"i\",\"input\":[" SYS SYS SYS SYS SYS SYS SYS
           SYS SYS SYS SYS SYS SYS SYS SYS SYS SYS
           "{\"role\":\"user\",\"content\":\"x\"},"
           "{\"role\":\"developer\",\"content\":\"d\"}]}",
           REQ("4096") ",\"messages\":[{\"role\":\"user\",\"content\":"
           "\"x\"}],\"system\":[{\"type\":\"text\",\"text\":\"i\"}"
           SYS_OUT SYS_OUT SYS_OUT SYS_OUT SYS_OUT SYS_OUT SYS_OUT SYS_OUT
           SYS_OUT SYS_OUT SYS_OUT SYS_OUT SYS_OUT SYS_OUT SYS_OUT SYS_OUT
           SYS_OUT ",{\"type\":\"text\",\"text\":\"d\"}]}");

    req_is("a tool call and its result, tools, tool_choice",
           "{\"input\":[{\"role\":\"user\",\"content\":\"Weather?\"},"
           "{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":[]},"
           "{\"type\":\"function_call\",\"call_id\":\"call_1\","
           "\"name\":\"get_weather\","
           "\"arguments\":\"{\\\"city\\\": \\\"Paris\\\"}\"},"
           "{\"type\":\"function_call_output\",\"call_id\":\"call_1\","
           "\"output\":\"{\\\"temp\\\":21}\"}],"
           "\"tools\":[{\"type\":\"function\",\"name\":\"get_weather\","
           "\"description\":\"Weather\",\"parameters\":{\"type\":\"object\","
           "\"properties\":{\"city\":{\"type\":\"string\"}}},"
           "\"strict\":true},{\"type\":\"function\",\"name\":\"noop\"}],"
           "\"tool_choice\":{\"type\":\"function\",\"name\":\"get_weather\"},"
           "\"parallel_tool_calls\":false}",
           REQ("4096") ",\"messages\":["
           "{\"role\":\"user\",\"content\":\"Weather?\"},"
           "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\","
           "\"id\":\"call_1\",\"name\":\"get_weather\",\"input\":"
           "{\"city\": \"Paris\"}}]},"
           "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
           "\"tool_use_id\":\"call_1\",\"content\":\"{\\\"temp\\\":21}\"}]}],"
           "\"tools\":[{\"name\":\"get_weather\",\"description\":\"Weather\","
           "\"input_schema\":{\"type\":\"object\",\"properties\":{\"city\":"
           "{\"type\":\"string\"}}}},{\"name\":\"noop\",\"input_schema\":"
           "{\"type\":\"object\",\"properties\":{}}}],"
           "\"tool_choice\":{\"type\":\"tool\",\"name\":\"get_weather\","
           "\"disable_parallel_tool_use\":true}}");

    req_is("a reasoning item of ours back as its thinking block",
           "{\"input\":[{\"role\":\"user\",\"content\":\"Weather?\"},"
           "{\"type\":\"reasoning\",\"id\":\"rs_msg_1_0\",\"summary\":"
           "[{\"type\":\"summary_text\",\"text\":\"I should call it\"}],"
           "\"encrypted_content\":\"c2ln\"},"
           "{\"type\":\"function_call\",\"call_id\":\"t1\",\"name\":\"f\","
           "\"arguments\":\"{}\"},"
           "{\"type\":\"function_call_output\",\"call_id\":\"t1\","
           "\"output\":\"ok\"}],\"reasoning\":{\"effort\":\"low\"}}",
           REQ("5120") ",\"messages\":["
           "{\"role\":\"user\",\"content\":\"Weather?\"},"
           "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\","
           "\"thinking\":\"I should call it\",\"signature\":\"c2ln\"},"
           "{\"type\":\"tool_use\","
           "\"id\":\"t1\",\"name\":\"f\",\"input\":{}}]},"
           "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
           "\"tool_use_id\":\"t1\",\"content\":\"ok\"}]}],"
           "\"temperature\":1,\"thinking\":{\"type\":\"enabled\","
           "\"budget_tokens\":1024}}");

    req_is("parallel calls in one turn, their results in the next",
           "{\"input\":[{\"role\":\"user\",\"content\":\"Both?\"},"
           "{\"type\":\"function_call\",\"call_id\":\"a\",\"name\":\"f\","
           "\"arguments\":\"{}\"},"
           "{\"type\":\"function_call\",\"call_id\":\"b\",\"name\":\"g\","
           "\"arguments\":\"{}\"},"
           "{\"type\":\"function_call_output\",\"call_id\":\"a\","
           "\"output\":\"1\"},"
           "{\"type\":\"function_call_output\",\"call_id\":\"b\","
           "\"output\":\"2\"},"
           "{\"role\":\"user\",\"content\":\"Thanks\"}]}",
           REQ("4096") ",\"messages\":["
           "{\"role\":\"user\",\"content\":\"Both?\"},"
           "{\"role\":\"assistant\",\"content\":["
           "{\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"f\","
           "\"input\":{}},{\"type\":\"tool_use\",\"id\":\"b\","
           "\"name\":\"g\",\"input\":{}}]},"
           "{\"role\":\"user\",\"content\":["
           "{\"type\":\"tool_result\",\"tool_use_id\":\"a\","
           "\"content\":\"1\"},{\"type\":\"tool_result\","
           "\"tool_use_id\":\"b\",\"content\":\"2\"}]},"
           "{\"role\":\"user\",\"content\":\"Thanks\"}]}");

    req_is("tool_choice required; none; auto without parallel calls",
           "{\"input\":\"x\",\"tools\":[{\"type\":\"function\",\"name\":\"f\","
           "\"parameters\":{}}],\"tool_choice\":\"required\"}",
           REQ("4096") ",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
           "\"tools\":[{\"name\":\"f\",\"input_schema\":{}}],"
           "\"tool_choice\":{\"type\":\"any\"}}");

    req_is("  none",
           "{\"input\":\"x\",\"tools\":[{\"type\":\"function\","
           "\"name\":\"f\"}],"
           "\"tool_choice\":\"none\"}",
           REQ("4096") ",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
           "\"tools\":[{\"name\":\"f\",\"input_schema\":{\"type\":\"object\","
           "\"properties\":{}}}],\"tool_choice\":{\"type\":\"none\"}}");

    req_is("reasoning effort without max_output_tokens: budget added",
           "{\"input\":\"x\",\"reasoning\":{\"effort\":\"medium\"},"
           "\"temperature\":0.2}",
           REQ("8192") ",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
           "\"temperature\":1,\"thinking\":{\"type\":\"enabled\","
           "\"budget_tokens\":4096}}");

    req_is("reasoning effort high within max_output_tokens: cut to fit",
           "{\"input\":\"x\",\"reasoning\":{\"effort\":\"high\"},"
           "\"max_output_tokens\":5000}",
           REQ("5000") ",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
           "\"temperature\":1,\"thinking\":{\"type\":\"enabled\","
           "\"budget_tokens\":4999}}");

    req_is("reasoning effort minimal: no thinking",
           "{\"input\":\"x\",\"reasoning\":{\"effort\":\"minimal\","
           "\"summary\":\"auto\"},\"text\":{\"format\":{\"type\":\"text\"}}}",
           REQ("4096") ",\"messages\":[{\"role\":\"user\",\"content\":"
           "\"x\"}]}");
}


static void
test_request_declined(void)
{
    req_declined("previous_response_id",
                 "{\"input\":\"x\",\"previous_response_id\":\"resp_1\"}",
                 "previous_response_id");
    req_declined("conversation",
                 "{\"input\":\"x\",\"conversation\":\"conv_1\"}",
                 "conversation");
    req_declined("background", "{\"input\":\"x\",\"background\":true}",
                 "background");
    req_declined("prompt", "{\"prompt\":{\"id\":\"p\"},\"input\":\"x\"}",
                 "prompt");
    req_declined("item_reference",
                 "{\"input\":[{\"type\":\"item_reference\",\"id\":\"m\"}]}",
                 "item_reference");
    req_declined("a built-in tool",
                 "{\"input\":\"x\",\"tools\":[{\"type\":\"web_search\"}]}",
                 "tools");
    req_declined("a JSON schema format",
                 "{\"input\":\"x\",\"text\":{\"format\":{\"type\":"
                 "\"json_schema\",\"schema\":{}}}}", "text.format");
    req_declined("a file part",
                 "{\"input\":[{\"role\":\"user\",\"content\":[{\"type\":"
                 "\"input_file\",\"file_id\":\"f\"}]}]}", "content part");
    req_declined("an image by file id",
                 "{\"input\":[{\"role\":\"user\",\"content\":[{\"type\":"
                 "\"input_image\",\"file_id\":\"f\"}]}]}", "file_id");
    req_declined("no input", "{\"model\":\"x\"}", "input");
    req_declined("max_output_tokens 0",
                 "{\"input\":\"x\",\"max_output_tokens\":0}",
                 "max_output_tokens");
    req_declined("reasoning in too few tokens",
                 "{\"input\":\"x\",\"reasoning\":{\"effort\":\"low\"},"
                 "\"max_output_tokens\":100}", "max_output_tokens");
    req_declined("arguments that are no object",
                 "{\"input\":[{\"type\":\"function_call\",\"call_id\":\"c\","
                 "\"name\":\"f\",\"arguments\":\"[1]\"}]}", "arguments");
    req_declined("an unknown role",
                 "{\"input\":[{\"role\":\"tool\",\"content\":\"x\"}]}",
                 "role");
}


static void
test_response(void)
{
    resp_is("a text message",
            "{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\","
            "\"model\":\"" MODEL "\",\"content\":[{\"type\":\"text\","
            "\"text\":\"Hello\"}],\"stop_reason\":\"end_turn\","
            "\"usage\":{\"input_tokens\":20,\"cache_read_input_tokens\":5,"
            "\"cache_creation_input_tokens\":7,\"output_tokens\":4}}",
            "{\"id\":\"resp_01\",\"object\":\"response\",\"created_at\":"
            "1700000000,\"model\":\"" MODEL "\",\"status\":\"completed\","
            "\"incomplete_details\":null,\"error\":null,\"output\":["
            "{\"id\":\"msg_01_0\",\"type\":\"message\",\"status\":"
            "\"completed\",\"role\":\"assistant\",\"content\":["
            "{\"type\":\"output_text\",\"annotations\":[],\"logprobs\":[],"
            "\"text\":\"Hello\"}]}],\"usage\":{\"input_tokens\":32,"
            "\"input_tokens_details\":{\"cached_tokens\":5},"
            "\"output_tokens\":4,\"output_tokens_details\":"
            "{\"reasoning_tokens\":0},\"total_tokens\":36}}");

    resp_is("thinking, text, a tool call; max_tokens",
            "{\"id\":\"msg_02\",\"type\":\"message\",\"model\":\"m\","
            "\"content\":[{\"type\":\"thinking\",\"thinking\":\"hm\","
            "\"signature\":\"s\"},{\"type\":\"text\",\"text\":\"Let me\"},"
            "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"f\","
            "\"input\":{\"a\":\"b\"}}],\"stop_reason\":\"max_tokens\","
            "\"usage\":{\"input_tokens\":1,\"output_tokens\":2}}",
            "{\"id\":\"resp_02\",\"object\":\"response\",\"created_at\":"
            "1700000000,\"model\":\"m\",\"status\":\"incomplete\","
            "\"incomplete_details\":{\"reason\":\"max_output_tokens\"},"
            "\"error\":null,\"output\":[{\"id\":\"rs_msg_02_0\",\"type\":"
            "\"reasoning\",\"summary\":[{\"type\":\"summary_text\","
            "\"text\":\"hm\"}],\"encrypted_content\":\"s\"},"
            "{\"id\":\"msg_02_1\",\"type\":"
            "\"message\",\"status\":\"completed\",\"role\":\"assistant\","
            "\"content\":[{\"type\":\"output_text\",\"annotations\":[],"
            "\"logprobs\":[],\"text\":\"Let me\"}]},{\"id\":\"fc_toolu_1\","
            "\"type\":\"function_call\",\"status\":\"completed\","
            "\"call_id\":\"toolu_1\",\"name\":\"f\",\"arguments\":"
            "\"{\\\"a\\\":\\\"b\\\"}\"}],\"usage\":{\"input_tokens\":1,"
            "\"input_tokens_details\":{\"cached_tokens\":0},"
            "\"output_tokens\":2,\"output_tokens_details\":"
            "{\"reasoning_tokens\":0},\"total_tokens\":3}}");

    {
        helicone_buf_t         out;
        helicone_json_value_t  v;

        parse("{\"type\":\"error\",\"error\":{}}", &v);
        helicone_buf_init(&out, out_buf, sizeof(out_buf));
        is_int(helicone_translate_responses_response(&v, 0, &out, NULL),
               HELICONE_DECLINED, "not a message: declined");

        parse("{\"id\":\"msg_01\",\"type\":\"message\",\"content\":[]}", &v);
        helicone_buf_init(&out, out_buf, 40);
        is_int(helicone_translate_responses_response(&v, 0, &out, NULL),
               HELICONE_ERROR, "a small buffer: overflow");
    }
}


/* streams */

static const stream_fixture_t  streams[] = {

    { "text",
      A_START A_TEXT_START("0")
      "event: ping\ndata: {\"type\":\"ping\"}\n\n"
      A_TEXT("0", "Hello") A_TEXT("0", " from")
      "event: content_block_delta\ndata: {\"type\": \"content_block_delta\","
      "\"index\":0,\"delta\":{\"type\":\"text_delta\","
      "\"text\":\" \\\"mock\\\"\"}}"
      "\n\n"
      A_STOP("0") A_DELTA("end_turn") A_END,
      "response.created response.in_progress response.output_item.added "
      "response.content_part.added response.output_text.delta "
      "response.output_text.delta response.output_text.delta "
      "response.output_text.done response.content_part.done "
      "response.output_item.done response.completed",
      "\"text\":\"Hello from \\\"mock\\\"\"}]}],\"usage\":{\"input_tokens\":32,"
      "\"input_tokens_details\":{\"cached_tokens\":5},\"output_tokens\":4",
      0 },

    { "thinking, text, a tool call",
      A_START
      "event: content_block_start\ndata: {\"type\":\"content_block_start\","
      "\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":"
      "\"\"}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
      "\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":"
      "\"hm\"}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
      "\"index\":0,\"delta\":{\"type\":\"signature_delta\","
      "\"signature\":\"c2ln\"}}\n\n"
      A_STOP("0") A_TEXT_START("1") A_TEXT("1", "Let me check.") A_STOP("1")
      "event: content_block_start\ndata: {\"type\":\"content_block_start\","
      "\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":"
      "\"toolu_1\",\"name\":\"get_weather\",\"input\":{}}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
      "\"index\":2,\"delta\":{\"type\":\"input_json_delta\","
      "\"partial_json\":\"{\\\"city\\\": \"}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
      "\"index\":2,\"delta\":{\"type\":\"input_json_delta\","
      "\"partial_json\":\"\\\"Paris\\\"}\"}}\n\n"
      A_STOP("2") A_DELTA("tool_use") A_END,
      "response.created response.in_progress response.output_item.added "
      "response.reasoning_summary_part.added "
      "response.reasoning_summary_text.delta "
      "response.reasoning_summary_text.done "
      "response.reasoning_summary_part.done response.output_item.done "
      "response.output_item.added "
      "response.content_part.added response.output_text.delta "
      "response.output_text.done response.content_part.done "
      "response.output_item.done response.output_item.added "
      "response.function_call_arguments.delta "
      "response.function_call_arguments.delta "
      "response.function_call_arguments.done response.output_item.done "
      "response.completed",
      "\"output\":[{\"id\":\"rs_msg_01_0\",\"type\":\"reasoning\","
      "\"summary\":[{\"type\":\"summary_text\",\"text\":\"hm\"}],"
      "\"encrypted_content\":\"c2ln\"},{\"id\":\"msg_01_1\","
      "\"type\":\"message\",\"status\":\"completed\",\"role\":"
      "\"assistant\",\"content\":[{\"type\":\"output_text\","
      "\"annotations\":[],\"logprobs\":[],\"text\":\"Let me check.\"}]},"
      "{\"id\":\"fc_toolu_1\",\"type\":\"function_call\",\"status\":"
      "\"completed\",\"call_id\":\"toolu_1\",\"name\":\"get_weather\","
      "\"arguments\":\"{\\\"city\\\": \\\"Paris\\\"}\"}]",
      0 },

    { "a call without arguments; max_tokens",
      A_START
      "event: content_block_start\ndata: {\"type\":\"content_block_start\","
      "\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":"
      "\"toolu_2\",\"name\":\"now\",\"input\":{}}}\n\n"
      A_STOP("0") A_DELTA("max_tokens") A_END,
      "response.created response.in_progress response.output_item.added "
      "response.function_call_arguments.done response.output_item.done "
      "response.incomplete",
      "\"arguments\":\"{}\"}],\"usage\"",
      0 },

    { "an error mid-way",
      A_START A_TEXT_START("0") A_TEXT("0", "Hel")
      "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
      "\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
      A_TEXT("0", "lo") A_END,
      "response.created response.in_progress response.output_item.added "
      "response.content_part.added response.output_text.delta error",
      "\"code\":\"overloaded_error\",\"message\":\"Overloaded\"",
      1 },
};


static unsigned char *
grow(void *ctx, size_t size)
{
    void  *p;

    (void) ctx;

    if (ngrown == sizeof(grown) / sizeof(grown[0])) {
        return NULL;
    }

    p = malloc(size);
    grown[ngrown++] = p;

    return p;
}


static void
grown_free(void)
{
    while (ngrown) {
        free(grown[--ngrown]);
    }
}


static int
on_event(void *ctx, const helicone_sse_event_t *ev)
{
    unsigned char                *mem;
    stream_ctx_t                 *c;
    helicone_buf_t                tight;
    helicone_responses_stream_t   copy;

    c = ctx;

    if (c->tight) {
        /* the documented bound: twice the data, 4k, and the items */
        size_t  size = 2 * ev->data.len + 4096
                       + (size_t) (c->st.items.pos - c->st.items.start);

        mem = malloc(size);
        helicone_buf_init(&tight, mem, size);
        copy = c->st;

        if (helicone_responses_stream_event(&copy, ev, &tight)
            != HELICONE_OK)
        {
            c->bound_ok = 0;
        }

        free(mem);

        /* and one byte: an error, then the same with room */
        mem = malloc(1);
        helicone_buf_init(&tight, mem, 1);
        copy = c->st;

        if (helicone_responses_stream_event(&copy, ev, &tight)
            == HELICONE_ERROR
            && (copy.seq != c->st.seq
                || copy.items.pos - copy.items.start
                   != c->st.items.pos - c->st.items.start))
        {
            c->bound_ok = 0;
        }

        free(mem);
    }

    if (helicone_responses_stream_event(&c->st, ev, &c->out) != HELICONE_OK)
    {
        c->errors++;
    }

    return 0;
}


static size_t
run_stream(const stream_fixture_t *f, const size_t *cuts, size_t ncuts,
    unsigned char *dst, size_t items, int tight)
{
    size_t                  i, from, to, len;
    stream_ctx_t            c;
    helicone_sse_parser_t   p;
    static unsigned char    items_buf[OUT_MAX];

    len = strlen(f->input);

    helicone_sse_init(&p, sse_buf, sizeof(sse_buf));
    helicone_responses_stream_init(&c.st, 1700000000, items_buf, items,
                                   grow, NULL, OUT_MAX);
    helicone_buf_init(&c.out, dst, OUT_MAX);
    c.errors = 0;
    c.tight = tight;
    c.bound_ok = 1;

    from = 0;

    for (i = 0; i <= ncuts; i++) {
        to = (i < ncuts) ? cuts[i] : len;
        helicone_sse_feed(&p, (const unsigned char *) f->input + from,
                          to - from, on_event, &c);
        from = to;
    }

    grown_free();

    if (c.errors || !c.bound_ok) {
        return (size_t) -1;
    }

    return c.out.pos - c.out.start;
}


static const unsigned char *
find(const unsigned char *p, size_t len, const char *s, size_t n)
{
    size_t  i;

    for (i = 0; n <= len && i <= len - n; i++) {
        if (memcmp(p + i, s, n) == 0) {
            return p + i;
        }
    }

    return NULL;
}


/* the events' names, each the type of its data, numbered from 0 */

typedef struct {
    char      names[4096];
    size_t    len;
    int64_t   seq;
    int       bad;
} types_ctx_t;


static int
types_event(void *ctx, const helicone_sse_event_t *ev)
{
    int64_t                n;
    types_ctx_t           *t;
    helicone_json_value_t  doc, v;

    t = ctx;

    if (helicone_json_parse(ev->data.data, ev->data.len, &doc) != HELICONE_OK
        || helicone_json_object_get(&doc, "type", 4, &v) != HELICONE_OK
        || !helicone_json_string_eq(&v, (const char *) ev->event.data,
                                    ev->event.len)
        || helicone_json_object_get(&doc, "sequence_number", 15, &v)
           != HELICONE_OK
        || helicone_json_int64(&v, &n) != HELICONE_OK
        || n != t->seq++
        || t->len + ev->event.len + 2 > sizeof(t->names))
    {
        t->bad++;
        return 0;
    }

    if (t->len) {
        t->names[t->len++] = ' ';
    }

    memcpy(t->names + t->len, ev->event.data, ev->event.len);
    t->len += ev->event.len;
    t->names[t->len] = '\0';

    return 0;
}


static int
check_events(const unsigned char *p, size_t len, const char *types)
{
    types_ctx_t             t;
    helicone_sse_parser_t   sse;
    static unsigned char    buf[SSE_MAX];

    memset(&t, 0, sizeof(t));
    helicone_sse_init(&sse, buf, sizeof(buf));
    helicone_sse_feed(&sse, p, len, types_event, &t);

    if (t.bad || strcmp(t.names, types) != 0) {
        diag("events: %s (%d bad)", t.names, t.bad);
        return 0;
    }

    return 1;
}


static void
test_stream(void)
{
    size_t                   i, k, len, n, whole, bad;
    size_t                  *cuts;
    const stream_fixture_t  *f;
    static unsigned char     first[OUT_MAX], again[OUT_MAX];

    for (i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
        f = &streams[i];
        len = strlen(f->input);

        whole = run_stream(f, NULL, 0, first, OUT_MAX, 1);
        ok(whole != (size_t) -1, "%s: no errors, within the bound", f->name);

        if (whole == (size_t) -1) {
            continue;
        }

        ok(check_events(first, whole, f->types),
           "  the events, typed and numbered");
        ok(find(first, whole, f->contains, strlen(f->contains)) != NULL,
           "  the output has %s", f->contains);

        bad = 0;

        for (k = 0; k <= len; k++) {
            n = run_stream(f, &k, 1, again, OUT_MAX, 0);

            if (n != whole || memcmp(first, again, n) != 0) {
                bad++;
            }
        }

        is_int(bad, 0, "  split in two at every offset: same output");

        cuts = malloc(len * sizeof(size_t));

        for (k = 0; k < len; k++) {
            cuts[k] = k + 1;
        }

        n = run_stream(f, cuts, len ? len - 1 : 0, again, 16, 0);
        ok(n == whole && memcmp(first, again, n) == 0,
           "  byte by byte, the items' buffer grown from 16: same output");

        free(cuts);
    }
}


/* items that cannot grow: response.failed, and nothing more */

static void
test_stream_items_full(void)
{
    size_t                       n;
    stream_ctx_t                 c;
    helicone_sse_parser_t        p;
    static unsigned char         items[64];
    const stream_fixture_t      *f;

    f = &streams[0];

    helicone_sse_init(&p, sse_buf, sizeof(sse_buf));
    helicone_responses_stream_init(&c.st, 1700000000, items, sizeof(items),
                                   NULL, NULL, 0);
    helicone_buf_init(&c.out, out_buf, OUT_MAX);
    c.errors = 0;
    c.tight = 0;
    c.bound_ok = 1;

    helicone_sse_feed(&p, (const unsigned char *) f->input, strlen(f->input),
                      on_event, &c);

    n = c.out.pos - c.out.start;

    ok(c.st.base.failed, "items full: failed");
    ok(!c.st.base.stopped, "  not a clean end");
    ok(find(out_buf, n, "event: response.failed", 22) != NULL,
       "  response.failed sent");
    ok(find(out_buf, n, "response.completed", 18) == NULL,
       "  no response.completed");
}


int
main(void)
{
    test_event_read();
    test_request();
    test_request_declined();
    test_response();
    test_stream();
    test_stream_items_full();

    return done_testing();
}
