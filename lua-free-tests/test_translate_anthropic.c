/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Tests for core/helicone_translate_anthropic.c (OpenAI chat <-> Anthropic
 * Messages): requests, responses, errors, SSE.
 */

#include <stdlib.h>
#include <string.h>

#include "helicone_translate_anthropic.h"
#include "tap.h"


#define OUT_MAX        65536
#define SSE_MAX        65536

#define MODEL          "claude-sonnet-4-20250514"

/* the start of every request written with the test options */
#define REQ(max)       "{\"model\":\"" MODEL "\",\"max_tokens\":" max

#define HI             "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]"
#define HI_OUT         ",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]"

#define CHUNK(id, model)                                                      \
    "data: {\"id\":\"" id "\",\"object\":\"chat.completion.chunk\","          \
    "\"created\":1700000000,\"model\":\"" model "\","                         \
    "\"system_fingerprint\":\"\",\"choices\":["
#define DELTA          "{\"index\":0,\"delta\":{"
#define DELTA_END      "},\"logprobs\":null,\"finish_reason\":null}]}\n\n"
#define ZERO_DETAILS                                                          \
    "\"completion_tokens_details\":{\"reasoning_tokens\":0,"                  \
    "\"audio_tokens\":0,\"accepted_prediction_tokens\":0,"                    \
    "\"rejected_prediction_tokens\":0}"
#define DONE           "data: [DONE]\n\n"

#define X10            "\\\"xxxxxxxx"
#define X100           X10 X10 X10 X10 X10 X10 X10 X10 X10 X10
#define X500           X100 X100 X100 X100 X100


typedef struct {
    const char     *name;
    const char     *input;
    int             include_usage;
    const char     *expect;
} stream_fixture_t;


typedef struct {
    helicone_translate_stream_t   st;
    helicone_buf_t                out;
    int                           errors;
    int                           tight;    /* per-event bound checked */
    int                           bound_ok;
} stream_ctx_t;


static unsigned char  out_buf[OUT_MAX];
static unsigned char  sse_buf[SSE_MAX];


static int parse(const char *json, helicone_json_value_t *v);
static int valid_json(const unsigned char *p, size_t len);
static int request(const char *json, const helicone_translate_opts_t *opts,
    helicone_buf_t *out, const char **error);
static void req_is(const char *name, const char *json, const char *expect);
static void req_declined(const char *name, const char *json,
    const char *error);
static void resp_is(const char *name, const char *json, const char *expect);
static int on_event(void *ctx, const helicone_sse_event_t *ev);
static size_t run_stream(const stream_fixture_t *f, const unsigned char *in,
    size_t len, const size_t *cuts, size_t ncuts, unsigned char *dst,
    int tight);
static const unsigned char *find(const unsigned char *p, size_t len,
    const char *s);
static int chunks_valid(const unsigned char *p, size_t len);
static void test_request(void);
static void test_request_declined(void);
static void test_request_roundtrip(void);
static void test_request_overflow(void);
static void test_response(void);
static void test_error(void);
static void test_stream(void);
static void test_stream_direct(void);
static void test_text_delta_fast(void);
static uint32_t rnd(void);
static size_t mutate(const char *src, unsigned char *dst, size_t cap);
static void test_fuzz(void);
static size_t spans(const helicone_json_value_t *v, helicone_json_value_t *out,
    size_t n, size_t max);
static void test_sweep(void);
static void test_sweep_stream(void);


static const helicone_translate_opts_t  opts = {
    helicone_string(MODEL), 0
};


static int
parse(const char *json, helicone_json_value_t *v)
{
    return helicone_json_parse((const unsigned char *) json, strlen(json), v);
}


static int
valid_json(const unsigned char *p, size_t len)
{
    helicone_json_value_t  v;

    return helicone_json_parse(p, len, &v) == HELICONE_OK;
}


static int
request(const char *json, const helicone_translate_opts_t *o,
    helicone_buf_t *out, const char **error)
{
    helicone_json_value_t  root;

    if (parse(json, &root) != HELICONE_OK) {
        return 99;
    }

    helicone_buf_init(out, out_buf, sizeof(out_buf));

    return helicone_translate_request(&root, o, out, error);
}


static void
req_is(const char *name, const char *json, const char *expect)
{
    int              rc;
    const char      *err;
    helicone_buf_t   out;

    err = "unset";
    rc = request(json, &opts, &out, &err);

    if (!is_int(rc, HELICONE_OK, name)) {
        diag("error: %s", err ? err : "(null)");
    }

    is_mem(out.start, (size_t) (out.pos - out.start), expect, strlen(expect),
           "  output");
    ok(valid_json(out.start, out.pos - out.start), "  output is JSON");
}


static void
req_declined(const char *name, const char *json, const char *error)
{
    int              rc;
    const char      *err;
    helicone_buf_t   out;

    err = NULL;
    rc = request(json, &opts, &out, &err);

    is_int(rc, HELICONE_DECLINED, name);
    is_str(err, error, "  message");
    ok(out.pos == out.start && !out.overflow, "  nothing written");
}


static void
resp_is(const char *name, const char *json, const char *expect)
{
    int                    rc;
    helicone_buf_t         out;
    helicone_usage_t       u;
    helicone_json_value_t  root;

    ok(parse(json, &root) == HELICONE_OK, "%s: fixture parses", name);

    helicone_buf_init(&out, out_buf, sizeof(out_buf));
    helicone_usage_init(&u);

    rc = helicone_translate_response(&root, 1700000000, &out, &u);

    is_int(rc, HELICONE_OK, name);
    is_mem(out.start, (size_t) (out.pos - out.start), expect, strlen(expect),
           "  output");
    ok(valid_json(out.start, out.pos - out.start), "  output is JSON");
}


static void
test_request(void)
{
    const char      *err;
    helicone_buf_t   out;

    static const helicone_translate_opts_t  o = {
        helicone_string("m\"x"), 1000
    };

    static const char  own[] =
        "{\"model\":\"m\\\"x\",\"max_tokens\":1000" HI_OUT "}";

    req_is("minimal: default max_tokens",
           "{\"model\":\"gpt-4o\"," HI "}",
           REQ("4096") HI_OUT "}");

    is_int(request("{" HI "}", &o, &out, &err), HELICONE_OK,
           "opts max_tokens when the client sent none");
    is_mem(out.start, (size_t) (out.pos - out.start), own, sizeof(own) - 1,
           "  and the model escaped");

    req_is("max_completion_tokens wins over max_tokens",
           "{\"max_tokens\":10,\"max_completion_tokens\":20," HI "}",
           REQ("20") HI_OUT "}");

    req_is("max_tokens; null max_completion_tokens ignored",
           "{\"max_tokens\":10,\"max_completion_tokens\":null," HI "}",
           REQ("10") HI_OUT "}");

    req_is("system string",
           "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
           "{\"role\":\"user\",\"content\":\"Hi\"}]}",
           REQ("4096") ",\"system\":\"Be brief.\"" HI_OUT "}");

    req_is("two system messages: text blocks, developer too",
           "{\"messages\":[{\"role\":\"system\",\"content\":\"A\"},"
           "{\"role\":\"user\",\"content\":\"Hi\"},"
           "{\"role\":\"developer\",\"content\":[{\"type\":\"text\","
           "\"text\":\"B\"},{\"type\":\"text\",\"text\":\"\"}]}]}",
           REQ("4096") ",\"system\":[{\"type\":\"text\",\"text\":\"A\"},"
           "{\"type\":\"text\",\"text\":\"B\"}]" HI_OUT "}");

    req_is("system with cache_control: blocks keep it",
           "{\"messages\":[{\"role\":\"system\",\"content\":\"Long\","
           "\"cache_control\":{\"type\":\"ephemeral\"}},"
           "{\"role\":\"user\",\"content\":\"Hi\"}]}",
           REQ("4096") ",\"system\":[{\"type\":\"text\",\"text\":\"Long\","
           "\"cache_control\":{\"type\":\"ephemeral\"}}]" HI_OUT "}");

    req_is("system parts: message cache_control on the last block only",
           "{\"messages\":[{\"role\":\"system\",\"cache_control\":"
           "{\"type\":\"ephemeral\"},\"content\":[{\"type\":\"text\","
           "\"text\":\"A\"},{\"type\":\"text\",\"text\":\"B\"},"
           "{\"type\":\"text\",\"text\":\"\"}]},"
           "{\"role\":\"user\",\"content\":\"Hi\"}]}",
           REQ("4096") ",\"system\":[{\"type\":\"text\",\"text\":\"A\"},"
           "{\"type\":\"text\",\"text\":\"B\",\"cache_control\":"
           "{\"type\":\"ephemeral\"}}]" HI_OUT "}");

    req_is("system array content: part cache_control",
           "{\"messages\":[{\"role\":\"system\",\"content\":[{\"type\":"
           "\"text\",\"text\":\"S\",\"cache_control\":{\"type\":"
           "\"ephemeral\",\"ttl\":\"1h\"}}]},"
           "{\"role\":\"user\",\"content\":\"Hi\"}]}",
           REQ("4096") ",\"system\":[{\"type\":\"text\",\"text\":\"S\","
           "\"cache_control\":{\"type\":\"ephemeral\",\"ttl\":\"1h\"}}]"
           HI_OUT "}");

    req_is("multi-turn, escapes kept as they were",
           "{\"messages\":[{\"role\":\"user\",\"content\":\"Say \\\"a\\\"\"},"
           "{\"role\":\"assistant\",\"content\":\"\\u0061\\n\"},"
           "{\"role\":\"user\",\"content\":null},"
           "{\"role\":\"assistant\",\"content\":null},"
           "{\"role\":\"user\",\"content\":\"caf\xc3\xa9 \\ud83d\\ude00\"}]}",
           REQ("4096") ",\"messages\":[{\"role\":\"user\","
           "\"content\":\"Say \\\"a\\\"\"},"
           "{\"role\":\"assistant\",\"content\":\"\\u0061\\n\"},"
           "{\"role\":\"user\",\"content\":\"\"},"
           "{\"role\":\"assistant\",\"content\":\"\"},"
           "{\"role\":\"user\",\"content\":\"caf\xc3\xa9 \\ud83d\\ude00\"}]}");

    req_is("user string with cache_control becomes a block",
           "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\","
           "\"cache_control\":{\"type\":\"ephemeral\"}}]}",
           REQ("4096") ",\"messages\":[{\"role\":\"user\",\"content\":"
           "[{\"type\":\"text\",\"text\":\"Hi\",\"cache_control\":"
           "{\"type\":\"ephemeral\"}}]}]}");

    req_is("images: data URL, URL, string image_url; message cache_control "
           "on the last part",
           "{\"messages\":[{\"role\":\"user\",\"cache_control\":{\"type\":"
           "\"ephemeral\"},\"content\":["
           "{\"type\":\"text\",\"text\":\"What is this?\"},"
           "{\"type\":\"image_url\",\"image_url\":{\"url\":"
           "\"data:image/png;base64,iVBORw0KGgo\\/AAA=\",\"detail\":\"low\"}},"
           "{\"type\":\"image_url\",\"image_url\":{\"url\":"
           "\"DATA:image\\/jpeg;name=a.jpg;BASE64,\\/9j\\/4A==\"}},"
           "{\"type\":\"image_url\",\"image_url\":\"https://e.x/a.png\"},"
           "{\"type\":\"image_url\",\"image_url\":{\"url\":"
           "\"https://e.x/b.png?x=1\"}}]}]}",
           REQ("4096") ",\"messages\":[{\"role\":\"user\",\"content\":["
           "{\"type\":\"text\",\"text\":\"What is this?\"},"
           "{\"type\":\"image\",\"source\":{\"type\":\"base64\","
           "\"media_type\":\"image/png\",\"data\":\"iVBORw0KGgo\\/AAA=\"}},"
           "{\"type\":\"image\",\"source\":{\"type\":\"base64\","
           "\"media_type\":\"image\\/jpeg\",\"data\":\"\\/9j\\/4A==\"}},"
           "{\"type\":\"image\",\"source\":{\"type\":\"url\","
           "\"url\":\"https://e.x/a.png\"}},"
           "{\"type\":\"image\",\"source\":{\"type\":\"url\","
           "\"url\":\"https://e.x/b.png?x=1\"},"
           "\"cache_control\":{\"type\":\"ephemeral\"}}]}]}");

    req_is("document passed through",
           "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
           "\"document\",\"source\":{\"type\":\"url\",\"url\":"
           "\"https://e.x/a.pdf\"}}]}]}",
           REQ("4096") ",\"messages\":[{\"role\":\"user\",\"content\":["
           "{\"type\":\"document\",\"source\":{\"type\":\"url\",\"url\":"
           "\"https://e.x/a.pdf\"}}]}]}");

    req_is("assistant tool_calls and tool results",
           "{\"messages\":[{\"role\":\"user\",\"content\":\"Weather?\"},"
           "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
           "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":"
           "\"get_weather\",\"arguments\":"
           "\"{\\\"city\\\": \\\"Paris \\\\\\\"FR\\\\\\\"\\\"}\"}},"
           "{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":"
           "\"now\",\"arguments\":\"\"}},"
           "{\"id\":\"call_3\",\"function\":{\"name\":\"x\"}}]},"
           "{\"role\":\"tool\",\"tool_call_id\":\"call_1\","
           "\"content\":\"18C\"},"
           "{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":\"\"},"
           "{\"role\":\"tool\",\"tool_call_id\":\"call_3\",\"content\":["
           "{\"type\":\"text\",\"text\":\"ok\"}]}]}",
           REQ("4096") ",\"messages\":["
           "{\"role\":\"user\",\"content\":\"Weather?\"},"
           "{\"role\":\"assistant\",\"content\":["
           "{\"type\":\"tool_use\",\"id\":\"call_1\",\"name\":\"get_weather\","
           "\"input\":{\"city\": \"Paris \\\"FR\\\"\"}},"
           "{\"type\":\"tool_use\",\"id\":\"call_2\",\"name\":\"now\","
           "\"input\":{}},"
           "{\"type\":\"tool_use\",\"id\":\"call_3\",\"name\":\"x\","
           "\"input\":{}}]},"
           "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
           "\"tool_use_id\":\"call_1\",\"content\":\"18C\"}]},"
           "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
           "\"tool_use_id\":\"call_2\"}]},"
           "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
           "\"tool_use_id\":\"call_3\",\"content\":[{\"type\":\"text\","
           "\"text\":\"ok\"}]}]}]}");

    req_is("assistant text, signed thinking, tool call",
           "{\"messages\":[{\"role\":\"user\",\"content\":\"Q\"},"
           "{\"role\":\"assistant\",\"content\":\"Checking.\","
           "\"reasoning\":\"unsigned, dropped\","
           "\"reasoning_details\":[{\"thinking\":\"T\",\"signature\":\"S\"},"
           "{\"thinking\":\"no signature\"}],"
           "\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\",\"function\":"
           "{\"name\":\"f\",\"arguments\":\"{}\"}}]}]}",
           REQ("4096") ",\"messages\":[{\"role\":\"user\",\"content\":\"Q\"},"
           "{\"role\":\"assistant\",\"content\":["
           "{\"type\":\"thinking\",\"thinking\":\"T\",\"signature\":\"S\"},"
           "{\"type\":\"text\",\"text\":\"Checking.\"},"
           "{\"type\":\"tool_use\",\"id\":\"c\",\"name\":\"f\","
           "\"input\":{}}]}]}");

    req_is("assistant array content",
           "{\"messages\":[{\"role\":\"user\",\"content\":\"Q\"},"
           "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\","
           "\"text\":\"A\"},{\"type\":\"refusal\",\"refusal\":\"No.\"}]}]}",
           REQ("4096") ",\"messages\":[{\"role\":\"user\",\"content\":\"Q\"},"
           "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\","
           "\"text\":\"A\"},{\"type\":\"text\",\"text\":\"No.\"}]}]}");

    req_is("tools and tool_choice auto",
           "{" HI ",\"tools\":[{\"type\":\"function\",\"function\":{"
           "\"name\":\"get_weather\",\"description\":\"Weather now\","
           "\"strict\":true,\"parameters\":{\"type\":\"object\","
           "\"properties\":{\"city\":{\"type\":\"string\"}},"
           "\"required\":[\"city\"],\"additionalProperties\":false}}},"
           "{\"type\":\"function\",\"function\":{\"name\":\"now\"}}],"
           "\"tool_choice\":\"auto\",\"parallel_tool_calls\":false}",
           REQ("4096") HI_OUT ",\"tools\":["
           "{\"name\":\"get_weather\",\"description\":\"Weather now\","
           "\"input_schema\":{\"type\":\"object\",\"properties\":"
           "{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}},"
           "{\"name\":\"now\",\"description\":\"\",\"input_schema\":"
           "{\"type\":\"object\",\"properties\":{}}}],"
           "\"tool_choice\":{\"type\":\"auto\"}}");

#define ONE_TOOL                                                              \
    ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]"
#define ONE_TOOL_OUT                                                          \
    ",\"tools\":[{\"name\":\"f\",\"description\":\"\",\"input_schema\":"      \
    "{\"type\":\"object\",\"properties\":{}}}]"

    req_is("tool_choice none",
           "{" HI ONE_TOOL ",\"tool_choice\":\"none\"}",
           REQ("4096") HI_OUT ONE_TOOL_OUT
           ",\"tool_choice\":{\"type\":\"none\"}}");

    req_is("tool_choice required means any",
           "{" HI ONE_TOOL ",\"tool_choice\":\"required\"}",
           REQ("4096") HI_OUT ONE_TOOL_OUT
           ",\"tool_choice\":{\"type\":\"any\"}}");

    req_is("tool_choice a function",
           "{" HI ONE_TOOL ",\"tool_choice\":{\"type\":\"function\","
           "\"function\":{\"name\":\"f\"}}}",
           REQ("4096") HI_OUT ONE_TOOL_OUT
           ",\"tool_choice\":{\"type\":\"tool\",\"name\":\"f\"}}");

    req_is("tool_choice without tools is left out",
           "{" HI ",\"tool_choice\":\"auto\",\"tools\":[]}",
           REQ("4096") HI_OUT "}");

    req_is("stop string",
           "{" HI ",\"stop\":\"END\"}",
           REQ("4096") HI_OUT ",\"stop_sequences\":[\"END\"]}");

    req_is("stop array",
           "{" HI ",\"stop\":[\"a\",\"\\n\\n\"]}",
           REQ("4096") HI_OUT ",\"stop_sequences\":[\"a\",\"\\n\\n\"]}");

    req_is("stop null",
           "{" HI ",\"stop\":null}",
           REQ("4096") HI_OUT "}");

    req_is("temperature, top_p copied as written; stream",
           "{" HI ",\"temperature\":0.70,\"top_p\":1e-1,\"stream\":true,"
           "\"stream_options\":{\"include_usage\":true}}",
           REQ("4096") HI_OUT ",\"temperature\":0.70,\"top_p\":1e-1,"
           "\"stream\":true}");

    req_is("stream false",
           "{" HI ",\"stream\":false}",
           REQ("4096") HI_OUT ",\"stream\":false}");

    req_is("reasoning_effort: thinking with half max_tokens, temperature 1",
           "{" HI ",\"max_tokens\":10001,\"reasoning_effort\":\"high\","
           "\"temperature\":0.2}",
           REQ("10001") HI_OUT ",\"temperature\":1,\"thinking\":{\"type\":"
           "\"enabled\",\"budget_tokens\":5000}}");

    req_is("reasoning_options.budget_tokens",
           "{" HI ",\"max_tokens\":20000,\"reasoning_effort\":\"low\","
           "\"reasoning_options\":{\"budget_tokens\":1024}}",
           REQ("20000") HI_OUT ",\"temperature\":1,\"thinking\":{\"type\":"
           "\"enabled\",\"budget_tokens\":1024}}");

    req_is("reasoning_effort none: no thinking",
           "{" HI ",\"reasoning_effort\":\"none\",\"temperature\":0.5}",
           REQ("4096") HI_OUT ",\"temperature\":0.5}");

    req_is("user metadata from user",
           "{" HI ",\"user\":\"u-1\"}",
           REQ("4096") HI_OUT ",\"metadata\":{\"user_id\":\"u-1\"}}");

    req_is("safety_identifier before prompt_cache_key before user",
           "{" HI ",\"user\":\"u\",\"prompt_cache_key\":\"k\","
           "\"safety_identifier\":\"s\"}",
           REQ("4096") HI_OUT ",\"metadata\":{\"user_id\":\"s\"}}");

    req_is("prompt_cache_key before user",
           "{" HI ",\"user\":\"u\",\"prompt_cache_key\":\"k\","
           "\"safety_identifier\":null}",
           REQ("4096") HI_OUT ",\"metadata\":{\"user_id\":\"k\"}}");

    req_is("other fields dropped",
           "{" HI ",\"n\":1,\"seed\":7,\"presence_penalty\":0,"
           "\"frequency_penalty\":0,\"response_format\":{\"type\":\"text\"},"
           "\"logprobs\":false,\"top_k\":5,\"logit_bias\":{},"
           "\"functions\":null}",
           REQ("4096") HI_OUT "}");
}


static void
test_request_declined(void)
{
    req_declined("functions", "{" HI ",\"functions\":[]}",
                 "\"functions\" and \"function_call\" are not supported "
                 "for this model, use \"tools\"");
    req_declined("function_call", "{" HI ",\"function_call\":\"auto\"}",
                 "\"functions\" and \"function_call\" are not supported "
                 "for this model, use \"tools\"");
    req_declined("logit_bias", "{" HI ",\"logit_bias\":{\"50256\":-100}}",
                 "\"logit_bias\" is not supported for this model");
    req_declined("no messages", "{\"model\":\"x\"}",
                 "\"messages\" must be an array");
    req_declined("only system messages",
                 "{\"messages\":[{\"role\":\"system\",\"content\":\"S\"}]}",
                 "at least one non-system message is required");
    req_declined("empty messages", "{\"messages\":[]}",
                 "at least one non-system message is required");
    req_declined("not an object", "[1]",
                 "request body must be a JSON object");
    req_declined("message not an object", "{\"messages\":[1]}",
                 "each message must be an object");
    req_declined("message without role", "{\"messages\":[{}]}",
                 "each message must have a \"role\"");
    req_declined("function role",
                 "{\"messages\":[{\"role\":\"function\",\"name\":\"f\","
                 "\"content\":\"x\"}]}",
                 "messages with role \"function\" are not supported for "
                 "this model, use \"tool\"");
    req_declined("unknown role",
                 "{\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}",
                 "unsupported message role");
    req_declined("input_audio",
                 "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
                 "\"input_audio\",\"input_audio\":{\"data\":\"x\","
                 "\"format\":\"wav\"}}]}]}",
                 "audio and file content parts are not supported for "
                 "this model");
    req_declined("file",
                 "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
                 "\"file\",\"file\":{\"file_id\":\"f\"}}]}]}",
                 "audio and file content parts are not supported for "
                 "this model");
    req_declined("unknown part",
                 "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
                 "\"video\"}]}]}",
                 "unsupported content part type");
    req_declined("assistant images",
                 "{\"messages\":[{\"role\":\"assistant\",\"content\":\"x\","
                 "\"images\":[]}]}",
                 "assistant \"images\" are not supported for this model");
    req_declined("tool call arguments not JSON",
                 "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{"
                 "\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":"
                 "\"f\",\"arguments\":\"{\\\"a\\\":\"}}]}]}",
                 "tool call arguments are not valid JSON");
    req_declined("tool call arguments not an object",
                 "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{"
                 "\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":"
                 "\"f\",\"arguments\":\"[1]\"}}]}]}",
                 "tool call arguments are not valid JSON");
    req_declined("tool call without id",
                 "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{"
                 "\"type\":\"function\",\"function\":{\"name\":\"f\"}}]}]}",
                 "a tool call needs an \"id\" and a \"function.name\"");
    req_declined("tool message without tool_call_id",
                 "{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}",
                 "a tool message needs a \"tool_call_id\"");
    req_declined("image data URL not base64",
                 "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
                 "\"image_url\",\"image_url\":{\"url\":"
                 "\"data:image/png,abc\"}}]}]}",
                 "an image data URL must be \"data:<type>;base64,<data>\"");
    req_declined("image data URL without type",
                 "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
                 "\"image_url\",\"image_url\":{\"url\":"
                 "\"data:;base64,abc\"}}]}]}",
                 "an image data URL must be \"data:<type>;base64,<data>\"");
    req_declined("image without url",
                 "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
                 "\"image_url\",\"image_url\":{}}]}]}",
                 "an image_url content part needs a string \"url\"");
    req_declined("max_tokens zero", "{" HI ",\"max_tokens\":0}",
                 "\"max_tokens\" must be a positive integer");
    req_declined("max_tokens fraction", "{" HI ",\"max_tokens\":1.5}",
                 "\"max_tokens\" must be a positive integer");
    req_declined("temperature string", "{" HI ",\"temperature\":\"1\"}",
                 "\"temperature\" must be a number");
    req_declined("stop array of numbers", "{" HI ",\"stop\":[1]}",
                 "\"stop\" must be a string or an array of strings");
    req_declined("non-function tool",
                 "{" HI ",\"tools\":[{\"type\":\"code_interpreter\"}]}",
                 "only function tools are supported for this model");
    req_declined("tool_choice unknown", "{" HI ",\"tool_choice\":\"any\"}",
                 "unsupported \"tool_choice\"");
    req_declined("content a number",
                 "{\"messages\":[{\"role\":\"user\",\"content\":1}]}",
                 "message content must be a string or an array");
}


/* an OpenAI request through, then read back with the scanner */

static void
test_request_roundtrip(void)
{
    int                    rc;
    size_t                 n;
    int64_t                i;
    const char            *err;
    unsigned char          tmp[256];
    helicone_buf_t         out;
    helicone_json_value_t  root, v;

    rc = request("{\"model\":\"gpt-4o\",\"messages\":["
                 "{\"role\":\"system\",\"content\":\"You are \\\"helpful\\\"."
                 "\"},{\"role\":\"user\","
                 "\"content\":\"Line1\\nLine2 \\u00e9\"},"
                 "{\"role\":\"assistant\",\"content\":\"ok\","
                 "\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
                 "\"function\":{\"name\":\"f\",\"arguments\":"
                 "\"{\\\"q\\\":\\\"\\\\u00e9\\\\n\\\"}\"}}]},"
                 "{\"role\":\"tool\",\"tool_call_id\":\"c1\","
                 "\"content\":\"r\"}"
                 "],\"max_completion_tokens\":256,\"stream\":true}",
                 &opts, &out, &err);

    is_int(rc, HELICONE_OK, "round trip: translated");
    ok(helicone_json_parse(out.start, out.pos - out.start, &root)
       == HELICONE_OK, "  parses");

    ok(helicone_json_path_get(&root, "max_tokens", &v) == HELICONE_OK
       && helicone_json_int64(&v, &i) == HELICONE_OK && i == 256,
       "  max_tokens 256");
    ok(helicone_json_object_get(&root, "system", 6, &v) == HELICONE_OK
       && helicone_json_string_eq(&v, "You are \"helpful\".", 18),
       "  system decoded");
    ok(helicone_json_object_get(&root, "stream", 6, &v) == HELICONE_OK
       && v.type == HELICONE_JSON_TRUE, "  stream true");
    ok(helicone_json_object_get(&root, "model", 5, &v) == HELICONE_OK
       && helicone_json_string_eq(&v, MODEL, sizeof(MODEL) - 1),
       "  model from opts");

    ok(helicone_json_object_get(&root, "messages", 8, &v) == HELICONE_OK
       && v.type == HELICONE_JSON_ARRAY, "  messages array");

    {
        helicone_json_iter_t   it;
        helicone_json_value_t  m, c, b, in, q;

        helicone_json_iter_init(&it, &v);

        ok(helicone_json_iter_next(&it, NULL, &m) == HELICONE_OK
           && helicone_json_object_get(&m, "content", 7, &c) == HELICONE_OK
           && (n = helicone_json_string_decode(&c, tmp)) != (size_t) -1
           && n == 14 && memcmp(tmp, "Line1\nLine2 \xc3\xa9", 14) == 0,
           "  user text decodes the same");

        ok(helicone_json_iter_next(&it, NULL, &m) == HELICONE_OK
           && helicone_json_path_get(&m, "role", &c) == HELICONE_OK
           && helicone_json_string_eq(&c, "assistant", 9)
           && helicone_json_object_get(&m, "content", 7, &c) == HELICONE_OK
           && c.type == HELICONE_JSON_ARRAY,
           "  assistant blocks");

        {
            helicone_json_iter_t  bi;

            helicone_json_iter_init(&bi, &c);
            helicone_json_iter_next(&bi, NULL, &b);
            ok(helicone_json_string_eq(&b, "", 0) == 0
               && helicone_json_path_get(&b, "text", &q) == HELICONE_OK
               && helicone_json_string_eq(&q, "ok", 2), "  text block");
            helicone_json_iter_next(&bi, NULL, &b);
            ok(helicone_json_path_get(&b, "input", &in) == HELICONE_OK
               && in.type == HELICONE_JSON_OBJECT
               && helicone_json_path_get(&b, "input.q", &q) == HELICONE_OK
               && helicone_json_string_eq(&q, "\xc3\xa9\n", 3),
               "  tool_use input is the parsed arguments");
        }

        ok(helicone_json_iter_next(&it, NULL, &m) == HELICONE_OK
           && helicone_json_path_get(&m, "role", &c) == HELICONE_OK
           && helicone_json_string_eq(&c, "user", 4),
           "  tool result is a user message");
        ok(helicone_json_iter_next(&it, NULL, &m) == HELICONE_DECLINED,
           "  three messages");
    }
}


/*
 * Every buffer size below the needed one fails with the flag set and
 * nothing appended; the needed size and the documented bound succeed.
 */

static void
test_request_overflow(void)
{
    int                    rc, bad;
    size_t                 i, need, len, size;
    const char            *err, *json;
    unsigned char         *mem;
    helicone_buf_t         out;
    helicone_json_value_t  root;

    static const char  *reqs[] = {
        "{\"messages\":[{\"role\":\"system\",\"content\":\"S\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"x\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":"
        "\"data:image/png;base64,AAAA\"}}]},"
        "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"type\":"
        "\"function\",\"function\":{\"name\":\"f\",\"arguments\":"
        "\"{\\\"a\\\":[1,2,3]}\"}}]},{\"role\":\"tool\",\"tool_call_id\":"
        "\"c\",\"content\":\"ok\"}],\"tools\":[{\"type\":\"function\","
        "\"function\":{\"name\":\"f\"}}],\"tool_choice\":\"auto\","
        "\"stop\":[\"x\"],\"user\":\"u\",\"reasoning_effort\":\"low\"}",

        /* the worst case for size: many tiny tool results */
        "{\"messages\":[{\"role\":\"tool\",\"tool_call_id\":\"\"},"
        "{\"role\":\"tool\",\"tool_call_id\":\"\"},"
        "{\"role\":\"tool\",\"tool_call_id\":\"\"},"
        "{\"role\":\"tool\",\"tool_call_id\":\"\"}]}",
    };

    for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        json = reqs[i];
        len = strlen(json);

        rc = request(json, &opts, &out, &err);
        is_int(rc, HELICONE_OK, "overflow fixture translates");
        need = out.pos - out.start;

        ok(parse(json, &root) == HELICONE_OK, "  parses");

        bad = 0;

        for (size = 0; size < need; size++) {
            mem = malloc(size ? size : 1);
            helicone_buf_init(&out, mem, size);
            rc = helicone_translate_request(&root, &opts, &out, &err);

            if (rc != HELICONE_ERROR || !out.overflow || out.pos != mem) {
                bad++;
            }

            free(mem);
        }

        is_int(bad, 0, "  every smaller buffer: HELICONE_ERROR, overflow, "
                       "nothing appended");

        mem = malloc(need);
        helicone_buf_init(&out, mem, need);
        rc = helicone_translate_request(&root, &opts, &out, &err);
        ok(rc == HELICONE_OK && !out.overflow
           && (size_t) (out.pos - mem) == need
           && memcmp(mem, out_buf, need) == 0,
           "  the exact size succeeds with the same output");
        free(mem);

        mem = malloc(2 * len + 4096);
        helicone_buf_init(&out, mem, 2 * len + 4096);
        ok(helicone_translate_request(&root, &opts, &out, &err)
           == HELICONE_OK, "  twice the input plus 4k succeeds");
        free(mem);
    }
}


static void
test_response(void)
{
#define RESP(content)                                                         \
    "{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\","         \
    "\"model\":\"claude-sonnet-4-20250514\",\"content\":" content

#define OUT(message)                                                          \
    "{\"id\":\"msg_01\",\"object\":\"chat.completion\","                      \
    "\"created\":1700000000,\"model\":\"claude-sonnet-4-20250514\","          \
    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","          \
    "\"content\":" message

#define USAGE_10_5                                                            \
    "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,"                \
    "\"total_tokens\":15," ZERO_DETAILS "}}"

    int                    rc;
    helicone_buf_t         out;
    helicone_usage_t       u;
    helicone_json_value_t  root;

    resp_is("text",
            RESP("[{\"type\":\"text\",\"text\":\"Hello \\\"you\\\"\"}],"
                 "\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
                 "\"usage\":{\"input_tokens\":10,\"output_tokens\":5}}"),
            OUT("\"Hello \\\"you\\\"\"},\"logprobs\":null,"
                "\"finish_reason\":\"stop\"}]," USAGE_10_5));

    resp_is("two text blocks joined; stop_sequence",
            RESP("[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\","
                 "\"text\":\"b\"}],\"stop_reason\":\"stop_sequence\","
                 "\"usage\":{\"input_tokens\":10,\"output_tokens\":5}}"),
            OUT("\"ab\"},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
                USAGE_10_5));

    resp_is("max_tokens is length",
            RESP("[{\"type\":\"text\",\"text\":\"a\"}],"
                 "\"stop_reason\":\"max_tokens\","
                 "\"usage\":{\"input_tokens\":10,\"output_tokens\":5}}"),
            OUT("\"a\"},\"logprobs\":null,\"finish_reason\":\"length\"}],"
                USAGE_10_5));

    resp_is("refusal, pause_turn, null are stop; empty content is null",
            RESP("[],\"stop_reason\":\"refusal\","
                 "\"usage\":{\"input_tokens\":10,\"output_tokens\":5}}"),
            OUT("null},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
                USAGE_10_5));

    resp_is("tool_use: arguments stringified, content null",
            RESP("[{\"type\":\"tool_use\",\"id\":\"toolu_01\",\"name\":"
                 "\"get_weather\",\"input\":{ \"city\" : \"San Francisco\","
                 " \"q\": \"a \\\"b\\\"\\n\", \"n\": [1, 2] }},"
                 "{\"type\":\"tool_use\",\"id\":\"toolu_02\",\"name\":\"now\","
                 "\"input\":{}}],\"stop_reason\":\"tool_use\","
                 "\"usage\":{\"input_tokens\":10,\"output_tokens\":5}}"),
            OUT("null,\"tool_calls\":["
                "{\"id\":\"toolu_01\",\"type\":\"function\",\"function\":"
                "{\"name\":\"get_weather\",\"arguments\":"
                "\"{\\\"city\\\":\\\"San Francisco\\\","
                "\\\"q\\\":\\\"a \\\\\\\"b\\\\\\\"\\\\n\\\","
                "\\\"n\\\":[1,2]}\"}},"
                "{\"id\":\"toolu_02\",\"type\":\"function\",\"function\":"
                "{\"name\":\"now\",\"arguments\":\"{}\"}}]},"
                "\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],"
                USAGE_10_5));

    resp_is("thinking: reasoning and reasoning_details",
            RESP("[{\"type\":\"thinking\",\"thinking\":\"Let me \","
                 "\"signature\":\"EqQB\"},{\"type\":\"thinking\","
                 "\"thinking\":\"think.\",\"signature\":\"Zm9v\"},"
                 "{\"type\":\"redacted_thinking\",\"data\":\"x\"},"
                 "{\"type\":\"text\",\"text\":\"42\"}],"
                 "\"stop_reason\":\"end_turn\","
                 "\"usage\":{\"input_tokens\":10,\"output_tokens\":5}}"),
            OUT("\"42\",\"reasoning\":\"Let me think.\","
                "\"reasoning_details\":[{\"thinking\":\"Let me \","
                "\"signature\":\"EqQB\"},{\"thinking\":\"think.\","
                "\"signature\":\"Zm9v\"}]},\"logprobs\":null,"
                "\"finish_reason\":\"stop\"}]," USAGE_10_5));

    resp_is("web search: server blocks dropped, citations, search count",
            RESP("[{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\","
                 "\"name\":\"web_search\",\"input\":{\"query\":\"q\"}},"
                 "{\"type\":\"web_search_tool_result\",\"tool_use_id\":"
                 "\"srvtoolu_1\",\"content\":[]},"
                 "{\"type\":\"text\",\"text\":\"Intro \\ud83d\\ude00 \"},"
                 "{\"type\":\"text\",\"text\":\"caf\xc3\xa9\",\"citations\":"
                 "[{\"type\":\"web_search_result_location\",\"url\":"
                 "\"https://e.x/a\",\"title\":\"A\",\"cited_text\":\"c\","
                 "\"encrypted_index\":\"Eo8B\"},{\"type\":\"char_location\","
                 "\"cited_text\":\"no url\"}]}],\"stop_reason\":\"end_turn\","
                 "\"usage\":{\"input_tokens\":10,\"output_tokens\":5,"
                 "\"server_tool_use\":{\"web_search_requests\":1}}}"),
            OUT("\"Intro \\ud83d\\ude00 caf\xc3\xa9\",\"annotations\":["
                "{\"type\":\"url_citation\",\"url_citation\":{\"url\":"
                "\"https://e.x/a\",\"title\":\"A\",\"content\":\"c\","
                "\"start_index\":9,\"end_index\":13}}]},"
                "\"logprobs\":null,\"finish_reason\":\"stop\"}],"
                "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,"
                "\"total_tokens\":15," ZERO_DETAILS ",\"server_tool_use\":"
                "{\"web_search_requests\":1}}}"));

    resp_is("cache read only",
            RESP("[{\"type\":\"text\",\"text\":\"a\"}],"
                 "\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":3,"
                 "\"cache_read_input_tokens\":100,"
                 "\"cache_creation_input_tokens\":0,\"output_tokens\":7}}"),
            OUT("\"a\"},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
                "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":7,"
                "\"total_tokens\":110,\"prompt_tokens_details\":"
                "{\"cached_tokens\":100,\"audio_tokens\":0},"
                ZERO_DETAILS "}}"));

    resp_is("cache writes with the 5m/1h split",
            RESP("[{\"type\":\"text\",\"text\":\"a\"}],"
                 "\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":3,"
                 "\"cache_read_input_tokens\":0,"
                 "\"cache_creation_input_tokens\":300,\"cache_creation\":"
                 "{\"ephemeral_5m_input_tokens\":100,"
                 "\"ephemeral_1h_input_tokens\":200},\"output_tokens\":7}}"),
            OUT("\"a\"},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
                "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":7,"
                "\"total_tokens\":310,\"prompt_tokens_details\":"
                "{\"cached_tokens\":0,\"audio_tokens\":0,"
                "\"cache_write_tokens\":300,\"cache_write_details\":"
                "{\"write_5m_tokens\":100,\"write_1h_tokens\":200}},"
                ZERO_DETAILS "}}"));

    resp_is("cache writes without the split: all 5m",
            RESP("[{\"type\":\"text\",\"text\":\"a\"}],"
                 "\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":3,"
                 "\"cache_read_input_tokens\":50,"
                 "\"cache_creation_input_tokens\":300,\"output_tokens\":7}}"),
            OUT("\"a\"},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
                "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":7,"
                "\"total_tokens\":360,\"prompt_tokens_details\":"
                "{\"cached_tokens\":50,\"audio_tokens\":0,"
                "\"cache_write_tokens\":300,\"cache_write_details\":"
                "{\"write_5m_tokens\":300,\"write_1h_tokens\":0}},"
                ZERO_DETAILS "}}"));

    resp_is("no usage, no id: zeros and empty strings",
            "{\"type\":\"message\",\"content\":[{\"type\":\"text\","
            "\"text\":\"a\"}]}",
            "{\"id\":\"\",\"object\":\"chat.completion\","
            "\"created\":1700000000,\"model\":\"\",\"choices\":[{\"index\":0,"
            "\"message\":{\"role\":\"assistant\",\"content\":\"a\"},"
            "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":"
            "{\"prompt_tokens\":0,\"completion_tokens\":0,\"total_tokens\":0,"
            ZERO_DETAILS "}}");

    /* usage filled for cost: prompt includes the cache */

    parse(RESP("[],\"usage\":{\"input_tokens\":3,\"cache_read_input_tokens\":"
               "50,\"cache_creation_input_tokens\":300,\"output_tokens\":7}}"),
          &root);
    helicone_buf_init(&out, out_buf, sizeof(out_buf));
    helicone_usage_init(&u);
    rc = helicone_translate_response(&root, 1, &out, &u);
    ok(rc == HELICONE_OK && u.found && u.prompt_tokens == 353
       && u.completion_tokens == 7 && u.cache_read_tokens == 50
       && u.cache_write_tokens == 300 && u.uncached_input_tokens == 3,
       "response usage: prompt includes cache reads and writes");

    parse("{\"type\":\"error\",\"error\":{}}", &root);
    helicone_buf_init(&out, out_buf, sizeof(out_buf));
    is_int(helicone_translate_response(&root, 1, &out, NULL),
           HELICONE_DECLINED, "an error body is no message");
    parse("[]", &root);
    is_int(helicone_translate_response(&root, 1, &out, NULL),
           HELICONE_DECLINED, "an array is no message");
    is_int(helicone_translate_response(NULL, 1, &out, NULL),
           HELICONE_DECLINED, "NULL is no message");
    ok(out.pos == out.start, "  nothing written");

    parse(RESP("[{\"type\":\"text\",\"text\":\"a\"}]}"), &root);
    helicone_buf_init(&out, out_buf, 100);
    is_int(helicone_translate_response(&root, 1, &out, NULL),
           HELICONE_ERROR, "response overflow");
    ok(out.overflow && out.pos == out.start, "  flagged, nothing appended");
}


static void
test_error(void)
{
    size_t          i, n;
    helicone_buf_t  out;
    unsigned char   body[1200];

    static const struct {
        const char  *name;
        const char  *in;
        const char  *out;
    } cases[] = {
        { "Anthropic error",
          "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
          "\"message\":\"max_tokens: Field required\"}}",
          "{\"error\":{\"message\":\"max_tokens: Field required\","
          "\"type\":\"invalid_request_error\",\"param\":null,"
          "\"code\":null}}" },

        { "overloaded, escapes kept",
          "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
          "\"message\":\"Over\\u006coaded \\\"now\\\"\"},"
          "\"request_id\":\"req_1\"}",
          "{\"error\":{\"message\":\"Over\\u006coaded \\\"now\\\"\","
          "\"type\":\"overloaded_error\",\"param\":null,\"code\":null}}" },

        { "error without type",
          "{\"error\":{\"message\":\"m\"}}",
          "{\"error\":{\"message\":\"m\",\"type\":\"upstream_error\","
          "\"param\":null,\"code\":null}}" },

        { "Bedrock shape is wrapped",
          "{\"message\":\"The security token is invalid.\"}",
          "{\"error\":{\"message\":\"{\\\"message\\\":\\\"The security token "
          "is invalid.\\\"}\",\"type\":\"upstream_error\",\"param\":null,"
          "\"code\":null}}" },

        { "HTML is wrapped, escaped",
          "<html>\r\n\t502 Bad \xff Gateway</html>",
          "{\"error\":{\"message\":\"<html>\\r\\n\\t502 Bad \\ufffd "
          "Gateway</html>\",\"type\":\"upstream_error\",\"param\":null,"
          "\"code\":null}}" },

        { "empty body",
          "",
          "{\"error\":{\"message\":\"\",\"type\":\"upstream_error\","
          "\"param\":null,\"code\":null}}" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        helicone_buf_init(&out, out_buf, sizeof(out_buf));
        is_int(helicone_translate_error((const unsigned char *) cases[i].in,
                                        strlen(cases[i].in), &out),
               HELICONE_OK, cases[i].name);
        is_mem(out.start, (size_t) (out.pos - out.start), cases[i].out,
               strlen(cases[i].out), "  output");
        ok(valid_json(out.start, out.pos - out.start), "  output is JSON");
    }

    /* a long body is cut to 1000 bytes, not inside a character */

    memset(body, 'a', sizeof(body));
    memcpy(body + 998, "\xc3\xa9\xc3\xa9", 4);

    helicone_buf_init(&out, out_buf, sizeof(out_buf));
    is_int(helicone_translate_error(body, sizeof(body), &out), HELICONE_OK,
           "long body");
    n = out.pos - out.start;
    ok(n == strlen("{\"error\":{\"message\":\"\",\"type\":\"upstream_error\","
                   "\"param\":null,\"code\":null}}") + 1000,
       "  cut at 1000 bytes");
    ok(valid_json(out.start, n), "  output is JSON");

    memcpy(body + 998, "a\xc3\xa9", 3);
    helicone_buf_init(&out, out_buf, sizeof(out_buf));
    helicone_translate_error(body, sizeof(body), &out);
    ok((size_t) (out.pos - out.start) == n - 1,
       "  a character across the cut is left out whole");
    ok(find(out.start, out.pos - out.start, "\\ufffd") == NULL,
       "  not replaced");

    helicone_buf_init(&out, out_buf, 10);
    is_int(helicone_translate_error((const unsigned char *) "x", 1, &out),
           HELICONE_ERROR, "error overflow");
    ok(out.overflow && out.pos == out.start, "  flagged, nothing appended");

    helicone_buf_init(&out, out_buf, sizeof(out_buf));
    is_int(helicone_translate_error(NULL, 5, &out), HELICONE_OK,
           "NULL body");
}


/* streams */

static const stream_fixture_t  streams[] = {

    { "text stream",
      "event: message_start\n"
      "data: {\"type\":\"message_start\",\"message\":{\"id\":"
      "\"msg_01XFDUDYJgAACzvnptvVoYEL\",\"type\":\"message\",\"role\":"
      "\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-20250514\","
      "\"stop_reason\":null,\"stop_sequence\":null,\"usage\":"
      "{\"input_tokens\":25,\"cache_creation_input_tokens\":0,"
      "\"cache_read_input_tokens\":0,\"output_tokens\":1}}}\n"
      "\n"
      "event: content_block_start\n"
      "data: {\"type\":\"content_block_start\",\"index\":0,"
      "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n"
      "\n"
      "event: ping\n"
      "data: {\"type\": \"ping\"}\n"
      "\n"
      "event: content_block_delta\n"
      "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
      "{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n"
      "\n"
      "event: content_block_delta\n"
      "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
      "{\"type\":\"text_delta\","
      "\"text\":\"!\\n\\\"caf\\u00e9\\\" \xe2\x82\xac\"}}\n"
      "\n"
      "event: content_block_stop\n"
      "data: {\"type\":\"content_block_stop\",\"index\":0}\n"
      "\n"
      "event: message_delta\n"
      "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
      "\"end_turn\",\"stop_sequence\":null},\"usage\":"
      "{\"output_tokens\":15}}\n"
      "\n"
      "event: message_stop\n"
      "data: {\"type\":\"message_stop\"}\n"
      "\n",
      1,
      CHUNK("msg_01XFDUDYJgAACzvnptvVoYEL", MODEL)
      DELTA "\"role\":\"assistant\",\"content\":\"\"" DELTA_END
      CHUNK("msg_01XFDUDYJgAACzvnptvVoYEL", MODEL)
      DELTA "\"content\":\"Hello\"" DELTA_END
      CHUNK("msg_01XFDUDYJgAACzvnptvVoYEL", MODEL)
      DELTA "\"content\":\"!\\n\\\"caf\\u00e9\\\" \xe2\x82\xac\"" DELTA_END
      CHUNK("msg_01XFDUDYJgAACzvnptvVoYEL", MODEL)
      DELTA "},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n"
      CHUNK("msg_01XFDUDYJgAACzvnptvVoYEL", MODEL)
      "],\"usage\":{\"prompt_tokens\":25,\"completion_tokens\":15,"
      "\"total_tokens\":40," ZERO_DETAILS "}}\n\n"
      DONE },

    { "tool-use stream with cache usage",
      "event: message_start\r\n"
      "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_t\","
      "\"type\":\"message\",\"role\":\"assistant\",\"model\":"
      "\"claude-3-5-haiku-20241022\",\"content\":[],\"stop_reason\":null,"
      "\"usage\":{\"input_tokens\":400,\"cache_creation_input_tokens\":50,"
      "\"cache_read_input_tokens\":100,\"cache_creation\":"
      "{\"ephemeral_5m_input_tokens\":50,\"ephemeral_1h_input_tokens\":0},"
      "\"output_tokens\":1}}}\r\n"
      "\r\n"
      "event: content_block_start\r\n"
      "data: {\"type\":\"content_block_start\",\"index\":0,"
      "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\r\n"
      "\r\n"
      "event: content_block_delta\r\n"
      "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
      "{\"type\":\"text_delta\",\"text\":\"Let me check.\"}}\r\n"
      "\r\n"
      "event: content_block_stop\r\n"
      "data: {\"type\":\"content_block_stop\",\"index\":0}\r\n"
      "\r\n"
      "event: content_block_start\r\n"
      "data: {\"type\":\"content_block_start\",\"index\":1,"
      "\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01A\","
      "\"name\":\"get_weather\",\"input\":{}}}\r\n"
      "\r\n"
      "event: content_block_delta\r\n"
      "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":"
      "{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\r\n"
      "\r\n"
      "event: content_block_delta\r\n"
      "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":"
      "{\"type\":\"input_json_delta\",\"partial_json\":"
      "\"{\\\"location\\\":\"}}\r\n"
      "\r\n"
      "event: content_block_delta\r\n"
      "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":"
      "{\"type\":\"input_json_delta\",\"partial_json\":"
      "\" \\\"Paris\\\"}\"}}\r\n"
      "\r\n"
      "event: content_block_stop\r\n"
      "data: {\"type\":\"content_block_stop\",\"index\":1}\r\n"
      "\r\n"
      "event: content_block_start\r\n"
      "data: {\"type\":\"content_block_start\",\"index\":2,"
      "\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01B\","
      "\"name\":\"get_time\",\"input\":{}}}\r\n"
      "\r\n"
      "event: content_block_stop\r\n"
      "data: {\"type\":\"content_block_stop\",\"index\":2}\r\n"
      "\r\n"
      "event: message_delta\r\n"
      "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
      "\"tool_use\",\"stop_sequence\":null},\"usage\":"
      "{\"output_tokens\":89}}\r\n"
      "\r\n"
      "event: message_stop\r\n"
      "data: {\"type\":\"message_stop\"}\r\n"
      "\r\n",
      1,
      CHUNK("msg_t", "claude-3-5-haiku-20241022")
      DELTA "\"role\":\"assistant\",\"content\":\"\"" DELTA_END
      CHUNK("msg_t", "claude-3-5-haiku-20241022")
      DELTA "\"content\":\"Let me check.\"" DELTA_END
      CHUNK("msg_t", "claude-3-5-haiku-20241022")
      DELTA "\"tool_calls\":[{\"index\":0,\"id\":\"toolu_01A\","
      "\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
      "\"arguments\":\"\"}}]" DELTA_END
      CHUNK("msg_t", "claude-3-5-haiku-20241022")
      DELTA "\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
      "\"{\\\"location\\\":\"}}]" DELTA_END
      CHUNK("msg_t", "claude-3-5-haiku-20241022")
      DELTA "\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
      "\" \\\"Paris\\\"}\"}}]" DELTA_END
      CHUNK("msg_t", "claude-3-5-haiku-20241022")
      DELTA "\"tool_calls\":[{\"index\":1,\"id\":\"toolu_01B\","
      "\"type\":\"function\",\"function\":{\"name\":\"get_time\","
      "\"arguments\":\"\"}}]" DELTA_END
      CHUNK("msg_t", "claude-3-5-haiku-20241022")
      DELTA "\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":"
      "\"{\"}}]" DELTA_END
      CHUNK("msg_t", "claude-3-5-haiku-20241022")
      DELTA "\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":"
      "\"}\"}}]" DELTA_END
      CHUNK("msg_t", "claude-3-5-haiku-20241022")
      DELTA "},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}]}\n\n"
      CHUNK("msg_t", "claude-3-5-haiku-20241022")
      "],\"usage\":{\"prompt_tokens\":500,\"completion_tokens\":89,"
      "\"total_tokens\":639,\"prompt_tokens_details\":{\"cached_tokens\":100,"
      "\"audio_tokens\":0,\"cache_write_tokens\":50,\"cache_write_details\":"
      "{\"write_5m_tokens\":50,\"write_1h_tokens\":0}},"
      ZERO_DETAILS "}}\n\n"
      DONE },

    { "thinking stream without usage chunk",
      "event: message_start\n"
      "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_th\","
      "\"model\":\"claude-opus-4-1\",\"usage\":{\"input_tokens\":9,"
      "\"output_tokens\":1}}}\n"
      "\n"
      "event: content_block_start\n"
      "data: {\"type\":\"content_block_start\",\"index\":0,"
      "\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\","
      "\"signature\":\"\"}}\n"
      "\n"
      "event: content_block_delta\n"
      "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
      "{\"type\":\"thinking_delta\",\"thinking\":\"2+2 is 4.\"}}\n"
      "\n"
      "event: content_block_delta\n"
      "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
      "{\"type\":\"signature_delta\",\"signature\":\"EqQBCgIYAhIM\"}}\n"
      "\n"
      "event: content_block_stop\n"
      "data: {\"type\":\"content_block_stop\",\"index\":0}\n"
      "\n"
      "event: content_block_start\n"
      "data: {\"type\":\"content_block_start\",\"index\":1,"
      "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n"
      "\n"
      "event: content_block_delta\n"
      "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":"
      "{\"type\":\"text_delta\",\"text\":\"4\"}}\n"
      "\n"
      "event: content_block_stop\n"
      "data: {\"type\":\"content_block_stop\",\"index\":1}\n"
      "\n"
      "event: message_delta\n"
      "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
      "\"max_tokens\"},\"usage\":{\"output_tokens\":30}}\n"
      "\n"
      "event: message_stop\n"
      "data: {\"type\":\"message_stop\"}\n"
      "\n"
      "data: {\"type\":\"message_stop\"}\n"
      "\n",
      0,
      CHUNK("msg_th", "claude-opus-4-1")
      DELTA "\"role\":\"assistant\",\"content\":\"\"" DELTA_END
      CHUNK("msg_th", "claude-opus-4-1")
      DELTA "\"reasoning\":\"2+2 is 4.\"" DELTA_END
      CHUNK("msg_th", "claude-opus-4-1")
      DELTA "\"content\":\"4\"" DELTA_END
      CHUNK("msg_th", "claude-opus-4-1")
      DELTA "},\"logprobs\":null,\"finish_reason\":\"length\"}]}\n\n"
      DONE },

    { "error event: an OpenAI error, no [DONE], nothing after",
      "event: message_start\n"
      "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_e\","
      "\"model\":\"m\",\"usage\":{\"input_tokens\":1}}}\n"
      "\n"
      "event: content_block_delta\n"
      "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
      "{\"type\":\"text_delta\",\"text\":\"Par\"}}\n"
      "\n"
      "event: error\n"
      "data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
      "\"message\":\"Overloaded\"}}\n"
      "\n"
      "event: message_stop\n"
      "data: {\"type\":\"message_stop\"}\n"
      "\n",
      1,
      CHUNK("msg_e", "m")
      DELTA "\"role\":\"assistant\",\"content\":\"\"" DELTA_END
      CHUNK("msg_e", "m")
      DELTA "\"content\":\"Par\"" DELTA_END
      "data: {\"error\":{\"message\":\"Overloaded\",\"type\":"
      "\"overloaded_error\",\"param\":null,\"code\":null}}\n\n" },

    { "pings, comments, junk and unknown events are ignored",
      ": hello\n"
      "\n"
      "event: ping\n"
      "data: {\"type\":\"ping\"}\n"
      "\n"
      "data: not json\n"
      "\n"
      "data: [1,2]\n"
      "\n"
      "data: {\"type\":7}\n"
      "\n"
      "event: brand_new\n"
      "data: {\"type\":\"brand_new\",\"x\":1}\n"
      "\n"
      "data: {\"type\":\"message_start\",\"message\":{\"id\":\"a\\\"b\","
      "\"model\":\"m\"}}\n"
      "\n"
      "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
      "{\"type\":\"text_delta\",\"text\":\"\"}}\n"
      "\n"
      "data: {\"type\":\"content_block_delta\",\"index\":5,\"delta\":"
      "{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}\n"
      "\n"
      "data: {\"type\":\"content_block_stop\",\"index\":99999999999}\n"
      "\n"
      "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":null},"
      "\"usage\":{\"output_tokens\":2}}\n"
      "\n"
      "data: {\"type\":\"message_stop\"}\n"
      "\n",
      1,
      CHUNK("a\\\"b", "m")
      DELTA "\"role\":\"assistant\",\"content\":\"\"" DELTA_END
      CHUNK("a\\\"b", "m")
      DELTA "},\"logprobs\":null,\"finish_reason\":\"stop\"}]}\n\n"
      CHUNK("a\\\"b", "m")
      "],\"usage\":{\"prompt_tokens\":0,\"completion_tokens\":2,"
      "\"total_tokens\":2," ZERO_DETAILS "}}\n\n"
      DONE },
};


static int
on_event(void *ctx, const helicone_sse_event_t *ev)
{
    int              rc;
    unsigned char   *mem;
    stream_ctx_t    *c;
    helicone_buf_t   tight;

    c = ctx;

    if (c->tight) {
        /* the documented bound: twice the event's data plus 2k */

        mem = malloc(2 * ev->data.len + 2048);
        helicone_buf_init(&tight, mem, 2 * ev->data.len + 2048);

        {
            helicone_translate_stream_t  copy;

            copy = c->st;

            if (helicone_translate_stream_event(&copy, ev, &tight)
                != HELICONE_OK)
            {
                c->bound_ok = 0;
            }
        }

        free(mem);
    }

    rc = helicone_translate_stream_event(&c->st, ev, &c->out);

    if (rc != HELICONE_OK) {
        c->errors++;
    }

    return 0;
}


/* feeds in split at cuts; returns the translator's output length */

static size_t
run_stream(const stream_fixture_t *f, const unsigned char *in, size_t len,
    const size_t *cuts, size_t ncuts, unsigned char *dst, int tight)
{
    size_t                  i, from, to;
    stream_ctx_t            c;
    helicone_sse_parser_t   p;

    helicone_sse_init(&p, sse_buf, sizeof(sse_buf));
    helicone_translate_stream_init(&c.st, 1700000000, f->include_usage);
    helicone_buf_init(&c.out, dst, OUT_MAX);
    c.errors = 0;
    c.tight = tight;
    c.bound_ok = 1;

    from = 0;

    for (i = 0; i <= ncuts; i++) {
        to = (i < ncuts) ? cuts[i] : len;
        helicone_sse_feed(&p, in + from, to - from, on_event, &c);
        from = to;
    }

    if (c.errors || !c.bound_ok) {
        return (size_t) -1;
    }

    return c.out.pos - c.out.start;
}


static const unsigned char *
find(const unsigned char *p, size_t len, const char *s)
{
    size_t  i, n;

    n = strlen(s);

    for (i = 0; i + n <= len; i++) {
        if (memcmp(p + i, s, n) == 0) {
            return p + i;
        }
    }

    return NULL;
}


/* every "data: X\n\n" holds JSON or [DONE] */

static int
chunks_valid(const unsigned char *p, size_t len)
{
    const unsigned char  *end, *e;

    end = p + len;

    while (p < end) {
        if (end - p < 8 || memcmp(p, "data: ", 6) != 0) {
            return 0;
        }

        p += 6;
        e = find(p, end - p, "\n\n");

        if (e == NULL) {
            return 0;
        }

        if (!(e - p == 6 && memcmp(p, "[DONE]", 6) == 0)
            && !valid_json(p, e - p))
        {
            return 0;
        }

        p = e + 2;
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

        whole = run_stream(f, (const unsigned char *) f->input, len, NULL, 0,
                           first, 1);
        ok(whole != (size_t) -1, "%s: no errors, within the bound", f->name);
        is_mem(first, whole == (size_t) -1 ? 0 : whole, f->expect,
               strlen(f->expect), "  output");
        ok(chunks_valid(first, whole), "  every chunk is JSON");

        bad = 0;

        for (k = 0; k <= len; k++) {
            n = run_stream(f, (const unsigned char *) f->input, len, &k, 1,
                           again, 0);

            if (n != whole || memcmp(first, again, n) != 0) {
                bad++;
            }
        }

        is_int(bad, 0, "  split in two at every offset: same output");

        cuts = malloc(len * sizeof(size_t));

        for (k = 0; k < len; k++) {
            cuts[k] = k + 1;
        }

        n = run_stream(f, (const unsigned char *) f->input, len, cuts,
                       len ? len - 1 : 0, again, 0);
        ok(n == whole && memcmp(first, again, n) == 0,
           "  byte by byte: same output");

        free(cuts);
    }
}


/*
 * Text deltas written as Anthropic writes them are recognised without a
 * parse: each one must translate exactly as the same event with a space
 * after its first colon, which takes the general way (and bad ones must
 * be turned down alike).
 */

static void
test_text_delta_fast(void)
{
    int                          rc1, rc2;
    size_t                       i, len, bad;
    char                         fast[512], slow[512], *colon;
    unsigned char                out1[2048], out2[2048], small[80];
    helicone_buf_t               b1, b2;
    helicone_sse_event_t         ev;
    helicone_translate_stream_t  s1, s2;

    static const char  *events[] = {
        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
            "{\"type\":\"text_delta\",\"text\":\"Hello\"}}",
        "{\"type\":\"content_block_delta\",\"index\":12,\"delta\":"
            "{\"type\":\"text_delta\",\"text\":\"a \\\"q\\\" \\u00e9 \\n\"}}",
        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
            "{\"type\":\"text_delta\",\"text\":\"\"}}",
        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
            "{\"type\":\"text_delta\",\"text\":\"\\\"}}\"}}",
        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
            "{\"type\":\"text_delta\",\"text\":\"\xc3\xa9t\xc3\xa9\"}}",
        /* valid, not as Anthropic writes them: the general way alone */
        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
            "{\"type\":\"text_delta\",\"text\":\"x\",\"y\":1}}",
        "{\"type\":\"content_block_delta\",\"index\":-1,\"delta\":"
            "{\"type\":\"text_delta\",\"text\":\"x\"}}",
        /* turned down both ways */
        "{\"type\":\"content_block_delta\",\"index\":01,\"delta\":"
            "{\"type\":\"text_delta\",\"text\":\"x\"}}",
        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
            "{\"type\":\"text_delta\",\"text\":\"x\"}}}",
        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
            "{\"type\":\"text_delta\",\"text\":\"x\ty\"}}",
        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
            "{\"type\":\"text_delta\",\"text\":\"x\"}",
        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
            "{\"type\":\"text_delta\",\"text\":\"\xff\"}}",
    };

    bad = 0;

    for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        len = strlen(events[i]);
        memcpy(fast, events[i], len);

        colon = strchr(events[i], ':');
        memcpy(slow, events[i], (size_t) (colon - events[i]) + 1);
        slow[colon - events[i] + 1] = ' ';
        memcpy(slow + (colon - events[i]) + 2, colon + 1,
               len - (size_t) (colon - events[i]) - 1);

        helicone_translate_stream_init(&s1, 5, 0);
        helicone_translate_stream_init(&s2, 5, 0);
        memcpy(s1.id, "msg_1", 5);
        s1.id_len = 5;
        s2 = s1;

        memset(&ev, 0, sizeof(ev));
        ev.data.data = (const unsigned char *) fast;
        ev.data.len = len;
        helicone_buf_init(&b1, out1, sizeof(out1));
        rc1 = helicone_translate_stream_event(&s1, &ev, &b1);

        ev.data.data = (const unsigned char *) slow;
        ev.data.len = len + 1;
        helicone_buf_init(&b2, out2, sizeof(out2));
        rc2 = helicone_translate_stream_event(&s2, &ev, &b2);

        if (rc1 != rc2 || b1.pos - out1 != b2.pos - out2
            || memcmp(out1, out2, (size_t) (b1.pos - out1)) != 0
            || memcmp(&s1, &s2, sizeof(s1)) != 0
            || (i < 7 && i != 2 && b1.pos == out1)
            || ((i >= 7 || i == 2) && b1.pos != out1))
        {
            diag("text delta %zu: fast %d \"%.*s\", general %d \"%.*s\"",
                 i, rc1, (int) (b1.pos - out1), out1, rc2,
                 (int) (b2.pos - out2), out2);
            bad++;
        }
    }

    ok(bad == 0, "text deltas: the fast way writes what the general way "
       "writes (%zu differ)", bad);

    /* no room: nothing appended, an error, as the general way */

    helicone_translate_stream_init(&s1, 5, 0);
    memset(&ev, 0, sizeof(ev));
    ev.data.data = (const unsigned char *) events[0];
    ev.data.len = strlen(events[0]);
    helicone_buf_init(&b1, small, sizeof(small));
    rc1 = helicone_translate_stream_event(&s1, &ev, &b1);
    ok(rc1 == HELICONE_ERROR && b1.overflow && b1.pos == small,
       "text delta without room: an error, nothing appended");
}


/* the translator alone: overflow retry, long ids, many blocks */

static void
test_stream_direct(void)
{
    int                          rc;
    size_t                       i, n;
    char                         data[1024];
    unsigned char                small[64];
    helicone_buf_t               out;
    helicone_sse_event_t         ev;
    helicone_translate_stream_t  s, before;

    helicone_translate_stream_init(&s, 5, 1);

    memset(&ev, 0, sizeof(ev));
    ev.data.data = (const unsigned char *)
        "{\"type\":\"message_start\",\"message\":{\"id\":\"m\","
        "\"model\":\"x\","
        "\"usage\":{\"input_tokens\":7}}}";
    ev.data.len = strlen((const char *) ev.data.data);

    before = s;
    helicone_buf_init(&out, small, sizeof(small));
    memcpy(small, "keep", 4);
    out.pos += 4;
    rc = helicone_translate_stream_event(&s, &ev, &out);
    is_int(rc, HELICONE_ERROR, "stream overflow");
    ok(out.overflow && out.pos == small + 4, "  flagged, nothing appended");
    ok(memcmp(&s, &before, sizeof(s)) == 0, "  state unchanged");

    helicone_buf_init(&out, out_buf, sizeof(out_buf));
    rc = helicone_translate_stream_event(&s, &ev, &out);
    ok(rc == HELICONE_OK && s.started && s.usage.prompt_tokens == 7,
       "  the same event again with room");

    /* a long id and model are cut between characters */

    helicone_translate_stream_init(&s, 5, 0);
    n = (size_t) snprintf(data, sizeof(data), "%s",
                          "{\"type\":\"message_start\","
                          "\"message\":{\"id\":\"");

    for (i = 0; i < 126; i++) {
        data[n++] = 'a';
    }

    memcpy(data + n, "\\u00e9\",\"model\":\"", 17);
    n += 17;

    for (i = 0; i < 300; i++) {
        memcpy(data + n, "\xc3\xa9", 2);
        n += 2;
    }

    memcpy(data + n, "\"}}", 4);
    n += 3;

    ev.data.data = (const unsigned char *) data;
    ev.data.len = n;

    helicone_buf_init(&out, out_buf, sizeof(out_buf));
    rc = helicone_translate_stream_event(&s, &ev, &out);
    ok(rc == HELICONE_OK && s.id_len == 126 && s.model_len == 256,
       "long id and model cut between characters");
    ok(chunks_valid(out.start, out.pos - out.start), "  chunk is JSON");

    /* more blocks than kept: their tool calls are dropped */

    helicone_translate_stream_init(&s, 5, 0);
    n = 0;

    for (i = 0; i < HELICONE_TRANSLATE_BLOCKS + 2; i++) {
        snprintf(data, sizeof(data),
                 "{\"type\":\"content_block_start\",\"index\":%u,"
                 "\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\","
                 "\"name\":\"f\"}}", (unsigned) i);
        ev.data.data = (const unsigned char *) data;
        ev.data.len = strlen(data);

        helicone_buf_init(&out, out_buf, sizeof(out_buf));

        if (helicone_translate_stream_event(&s, &ev, &out) == HELICONE_OK
            && out.pos != out.start)
        {
            n++;
        }
    }

    is_int(n, HELICONE_TRANSLATE_BLOCKS, "tool blocks up to the limit");
    is_int(s.tools, HELICONE_TRANSLATE_BLOCKS, "  numbered");

    ev.truncated = 1;
    ev.data.data = (const unsigned char *) "{\"type\":\"message_stop\"}";
    ev.data.len = strlen((const char *) ev.data.data);
    helicone_buf_init(&out, out_buf, sizeof(out_buf));
    ok(helicone_translate_stream_event(&s, &ev, &out) == HELICONE_OK
       && out.pos == out.start && !s.stopped, "truncated event ignored");

    ok(helicone_translate_stream_event(&s, NULL, &out) == HELICONE_OK,
       "NULL event ignored");
}


/* fuzzing: deterministic mutations of the fixtures through everything */

static uint32_t  rnd_state = 20240601;

static const char  *docs[] = {
    "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":"
    "\"S\"},{\"role\":\"developer\",\"content\":[{\"type\":\"text\","
    "\"text\":\"D\",\"cache_control\":{\"type\":\"ephemeral\"}}]},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"x\"},"
    "{\"type\":\"image_url\",\"image_url\":{\"url\":"
    "\"data:image/png;base64,AAAA\"}},{\"type\":\"image_url\","
    "\"image_url\":{\"url\":\"https://e.x/i.png\"}}]},"
    "{\"role\":\"assistant\",\"content\":\"c\",\"reasoning_details\":"
    "[{\"thinking\":\"t\",\"signature\":\"s\"}],\"tool_calls\":[{\"id\":"
    "\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\","
    "\"arguments\":\"{\\\"a\\\":[1,\\\"\\\\u00e9\\\"]}\"}}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"c\",\"content\":\"ok\"}],"
    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
    "\"description\":\"d\",\"parameters\":{\"type\":\"object\","
    "\"properties\":{\"a\":{}},\"required\":[\"a\"]}}}],"
    "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":"
    "\"f\"}},\"stop\":[\"x\"],\"user\":\"u\",\"reasoning_effort\":"
    "\"low\",\"max_tokens\":100,\"temperature\":0.5,\"top_p\":1,"
    "\"stream\":true}",

    "{\"id\":\"msg_1\",\"type\":\"message\",\"model\":\"m\",\"content\":"
    "[{\"type\":\"thinking\",\"thinking\":\"t\",\"signature\":\"s\"},"
    "{\"type\":\"text\",\"text\":\"a\\u00e9\",\"citations\":[{\"url\":"
    "\"u\",\"title\":\"t\",\"cited_text\":\"c\"}]},{\"type\":"
    "\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{\"a\": [1, "
    "\"x y\"]}}],\"stop_reason\":\"tool_use\",\"usage\":"
    "{\"input_tokens\":1,\"output_tokens\":2,\"cache_read_input_tokens\":"
    "3,\"cache_creation_input_tokens\":4,\"cache_creation\":"
    "{\"ephemeral_5m_input_tokens\":4},\"server_tool_use\":"
    "{\"web_search_requests\":1}}}",

    "{\"type\":\"error\","
    "\"error\":{\"type\":\"api_error\","
    "\"message\":\"Internal \\\"server\\\" error\"}}",
};


static uint32_t
rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;

    return rnd_state;
}


static size_t
mutate(const char *src, unsigned char *dst, size_t cap)
{
    size_t          len, i, n, at, k;
    unsigned char   c;

    static const char  tokens[] = "{}[]\",:\\\n 0-1e.truefalsnul";

    len = strlen(src);

    if (len > cap) {
        len = cap;
    }

    memcpy(dst, src, len);

    n = 1 + rnd() % 4;

    for (i = 0; i < n && len > 0; i++) {
        at = rnd() % len;

        switch (rnd() % 5) {
        case 0:
            dst[at] = (unsigned char) rnd();
            break;

        case 1:
            c = (unsigned char) tokens[rnd() % (sizeof(tokens) - 1)];
            dst[at] = c;
            break;

        case 2:
            len = at;
            break;

        case 3:
            k = 1 + rnd() % 8;

            if (at + k < len) {
                memmove(dst + at, dst + at + k, len - at - k);
                len -= k;
            }

            break;

        default:
            k = rnd() % len;

            if (len + (len - k) <= cap && k < at) {
                /* duplicate a span: repeats members and events */
                memmove(dst + at + (at - k), dst + at, len - at);
                memcpy(dst + at, dst + k, at - k);
                len += at - k;
            }

            break;
        }
    }

    return len;
}


static void
test_fuzz(void)
{
    int                    rc;
    size_t                 i, j, len, parsed, bad_json, bad_bound, bad_stream;
    const char            *err;
    unsigned char         *mem;
    helicone_buf_t         out;
    helicone_usage_t       u;
    helicone_json_value_t  root;
    stream_fixture_t       f;
    static unsigned char   in[8192], res[OUT_MAX];


    parsed = 0;
    bad_json = 0;
    bad_bound = 0;

    for (i = 0; i < 6000; i++) {
        len = mutate(docs[i % 3], in, sizeof(in) / 2);

        /* any bytes are an error body */

        helicone_buf_init(&out, res, sizeof(res));
        if (helicone_translate_error(in, len, &out) != HELICONE_OK
            || !valid_json(out.start, out.pos - out.start))
        {
            bad_json++;
        }

        if (helicone_json_parse(in, len, &root) != HELICONE_OK) {
            continue;
        }

        parsed++;

        helicone_buf_init(&out, res, sizeof(res));
        rc = helicone_translate_request(&root, &opts, &out, &err);

        if ((rc == HELICONE_OK && !valid_json(out.start, out.pos - out.start))
            || (rc == HELICONE_DECLINED && err == NULL)
            || rc == HELICONE_ERROR)
        {
            bad_json++;
        }

        mem = malloc(2 * len + 4096);
        helicone_buf_init(&out, mem, 2 * len + 4096);
        if (helicone_translate_request(&root, &opts, &out, &err)
            == HELICONE_ERROR)
        {
            bad_bound++;
        }
        free(mem);

        /* and a tiny buffer never writes past its end */

        mem = malloc(17);
        helicone_buf_init(&out, mem, 17);
        helicone_translate_request(&root, &opts, &out, &err);
        helicone_translate_response(&root, 1, &out, &u);
        free(mem);

        helicone_buf_init(&out, res, sizeof(res));
        helicone_usage_init(&u);
        rc = helicone_translate_response(&root, 1, &out, &u);

        if ((rc == HELICONE_OK && !valid_json(out.start, out.pos - out.start))
            || rc == HELICONE_ERROR)
        {
            bad_json++;
        }

        helicone_usage_init(&u);
        helicone_usage_from_anthropic(&root, &u);
        helicone_usage_from_openai(&root, &u);
    }

    ok(parsed > 500, "fuzz: %lu of 6000 mutations parsed",
       (unsigned long) parsed);
    is_int(bad_json, 0, "  every OK output is JSON, every decline says why");
    is_int(bad_bound, 0, "  twice the request plus 4k always suffices");

    bad_stream = 0;

    for (i = 0; i < 3000; i++) {
        j = i % (sizeof(streams) / sizeof(streams[0]));

        f = streams[j];
        len = mutate(streams[j].input, in, sizeof(in));

        len = run_stream(&f, in, len, NULL, 0, res, 1);

        if (len == (size_t) -1 || !chunks_valid(res, len)) {
            bad_stream++;
        }
    }

    is_int(bad_stream, 0, "  mutated streams: within the bound, valid chunks");
}


/* the spans of every value inside v, v included, in document order */

static size_t
spans(const helicone_json_value_t *v, helicone_json_value_t *out, size_t n,
    size_t max)
{
    helicone_json_iter_t   it;
    helicone_json_value_t  e;

    if (n == max) {
        return n;
    }

    out[n++] = *v;

    if (helicone_json_iter_init(&it, v) != HELICONE_OK) {
        return n;
    }

    while (helicone_json_iter_next(&it, NULL, &e) == HELICONE_OK) {
        n = spans(&e, out, n, max);
    }

    return n;
}


/*
 * Every value of every document replaced by values of every type: the
 * type checks of each field, and the bound, for each of them.
 */

static void
test_sweep(void)
{
    int                    rc;
    size_t                 d, i, r, n, len, pre, runs, bad, declined;
    const char            *err;
    unsigned char         *mem;
    helicone_buf_t         out;
    helicone_usage_t       u;
    helicone_json_value_t  root, all[512];
    static unsigned char   in[8192], res[OUT_MAX];

    static const char  *values[] = {
        "null", "true", "0", "-1", "1.5", "\"\"", "\"x\"", "[]", "{}",
        "[1,\"a\",null]", "{\"type\":\"text\"}", "\"{\\\"a\\\":1}\"",
        "\"data:image/gif;base64,R0lG\"", "99999999999999999999",
        "\"\\ud800\\u0000\\n\"", "\"none\"", "\"required\"",
        "{\"url\":\"data:x;base64,\"}", "[{\"type\":\"image_url\"}]",

        /* long values: anything copied twice would break the bound */
        "{\"type\":\"ephemeral\",\"x\":\"" X500 "\"}",
        "\"" X500 "\""
    };

    runs = 0;
    bad = 0;
    declined = 0;

    for (d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
        parse(docs[d], &root);
        n = spans(&root, all, 0, sizeof(all) / sizeof(all[0]));

        for (i = 1; i < n; i++) {
            for (r = 0; r < sizeof(values) / sizeof(values[0]); r++) {
                pre = all[i].start - root.start;
                len = pre + strlen(values[r])
                      + (root.len - pre - all[i].len);

                if (len > sizeof(in)) {
                    continue;
                }

                memcpy(in, docs[d], pre);
                memcpy(in + pre, values[r], strlen(values[r]));
                memcpy(in + pre + strlen(values[r]),
                       all[i].start + all[i].len, root.len - pre - all[i].len);

                if (helicone_json_parse(in, len, &root) != HELICONE_OK) {
                    bad++;
                    parse(docs[d], &root);
                    continue;
                }

                runs++;

                mem = malloc(2 * len + 4096);
                helicone_buf_init(&out, mem, 2 * len + 4096);
                rc = helicone_translate_request(&root, &opts, &out, &err);

                if (rc == HELICONE_ERROR
                    || (rc == HELICONE_OK
                        && !valid_json(out.start, out.pos - out.start)))
                {
                    bad++;
                }

                declined += (rc == HELICONE_DECLINED);

                helicone_buf_init(&out, mem, 2 * len + 4096);
                rc = helicone_translate_response(&root, 1, &out, &u);

                if (rc == HELICONE_OK
                    && !valid_json(out.start, out.pos - out.start))
                {
                    bad++;
                }

                free(mem);

                helicone_buf_init(&out, res, sizeof(res));
                if (helicone_translate_error(in, len, &out) != HELICONE_OK
                    || !valid_json(out.start, out.pos - out.start))
                {
                    bad++;
                }

                helicone_usage_init(&u);
                helicone_usage_from_anthropic(&root, &u);

                parse(docs[d], &root);
            }
        }
    }

    ok(runs > 1000 && declined > 100,
       "sweep: %lu documents, %lu requests declined", (unsigned long) runs,
       (unsigned long) declined);
    is_int(bad, 0, "  all outputs JSON, within the bound");
}


/* the same for stream events, fed to a state with a tool call open */

static void
test_sweep_stream(void)
{
    size_t                       e, i, r, n, len, pre, runs, bad;
    unsigned char                in[2048], *mem;
    helicone_buf_t               out;
    helicone_json_value_t        root, all[128];
    helicone_sse_event_t         ev, open;
    helicone_translate_stream_t  s;

    static const char  *events[] = {
        "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\","
        "\"model\":\"m\",\"usage\":{\"input_tokens\":1,"
        "\"cache_read_input_tokens\":2,\"cache_creation_input_tokens\":3,"
        "\"cache_creation\":{\"ephemeral_5m_input_tokens\":3}}}}",
        "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":"
        "{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\"}}",
        "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
        "{\"type\":\"text\",\"text\":\"x\"}}",
        "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":"
        "{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\"}}",
        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
        "{\"type\":\"text_delta\",\"text\":\"hi\"}}",
        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
        "{\"type\":\"thinking_delta\",\"thinking\":\"hm\"}}",
        "{\"type\":\"content_block_stop\",\"index\":1}",
        "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
        "\"tool_use\"},\"usage\":{\"output_tokens\":9,"
        "\"server_tool_use\":{\"web_search_requests\":2}}}",
        "{\"type\":\"message_stop\"}",
        "{\"type\":\"error\",\"error\":{\"type\":\"t\",\"message\":"
        "\"m\"}}",
    };

    static const char  *values[] = {
        "null", "true", "0", "-1", "63", "64", "1.5", "\"\"", "\"x\"", "[]",
        "{}", "9223372036854775807", "\"message_stop\"", "\"tool_use\"",
        "\"input_json_delta\"", "{\"type\":\"tool_use\"}"
    };

    static const char  tool[] =
        "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":"
        "{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\"}}";

    memset(&open, 0, sizeof(open));
    open.data.data = (const unsigned char *) tool;
    open.data.len = sizeof(tool) - 1;

    runs = 0;
    bad = 0;

    for (e = 0; e < sizeof(events) / sizeof(events[0]); e++) {
        parse(events[e], &root);
        n = spans(&root, all, 0, sizeof(all) / sizeof(all[0]));

        for (i = 1; i < n; i++) {
            for (r = 0; r < sizeof(values) / sizeof(values[0]); r++) {
                pre = all[i].start - root.start;
                len = pre + strlen(values[r])
                      + (root.len - pre - all[i].len);

                memcpy(in, events[e], pre);
                memcpy(in + pre, values[r], strlen(values[r]));
                memcpy(in + pre + strlen(values[r]),
                       all[i].start + all[i].len, root.len - pre - all[i].len);

                memset(&ev, 0, sizeof(ev));
                ev.data.data = in;
                ev.data.len = len;

                helicone_translate_stream_init(&s, 1, 1);
                helicone_buf_init(&out, out_buf, sizeof(out_buf));
                helicone_translate_stream_event(&s, &open, &out);

                mem = malloc(2 * len + 2048);
                helicone_buf_init(&out, mem, 2 * len + 2048);

                if (helicone_translate_stream_event(&s, &ev, &out)
                    != HELICONE_OK
                    || !chunks_valid(out.start, out.pos - out.start))
                {
                    bad++;
                }

                free(mem);
                runs++;
            }
        }
    }

    ok(runs > 500, "stream sweep: %lu events", (unsigned long) runs);
    is_int(bad, 0, "  all chunks JSON, within the bound");
}


int
main(void)
{
    test_request();
    test_request_declined();
    test_request_roundtrip();
    test_request_overflow();
    test_response();
    test_error();
    test_stream();
    test_stream_direct();
    test_text_delta_fast();
    test_fuzz();
    test_sweep();
    test_sweep_stream();

    return done_testing();
}
