/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Tests for core/helicone_json.c: validation, lookup, decoding, escaping. */

#include <stdlib.h>
#include <string.h>

#include "helicone_json.h"
#include "tap.h"


typedef struct {
    const char  *text;
    size_t       len;      /* 0: strlen(text) */
    const char  *name;
} json_case_t;


static void test_compact(void);
static int parse_bytes(const char *s, size_t len, helicone_json_value_t *v);
static int parse_str(const char *s, helicone_json_value_t *v);
static void test_valid(void);
static void test_invalid(void);
static void test_bad_utf8(void);
static void test_prefixes(void);
static char *nest(const char *open, const char *close, const char *inner,
    size_t depth);
static void test_depth(void);
static void test_root(void);
static void test_object_get(void);
static void test_may_have(void);
static int may_have_both(const unsigned char *p, size_t len);
static void test_may_have_any(void);
static void test_object_pick(void);
static int pick_members_agree(const char *text, size_t len, size_t checked);
static void test_pick_members(void);
static void test_path_get(void);
static void test_iter(void);
static void test_decode(void);
static void test_int64(void);
static void check_escape(const char *in, size_t len, const char *exp,
    const char *name);
static void test_escape(void);
static uint32_t rnd(uint32_t *seed);
static size_t gen_utf8(uint32_t *seed, unsigned char *out, size_t max);
static void test_escape_roundtrip(void);
static void test_escape_random_bytes(void);
static void test_plain_runs(void);
static void test_escape_dense(void);
static void test_escape_short(void);
static void test_scan_short(void);
static void test_every_byte(void);


static int
parse_bytes(const char *s, size_t len, helicone_json_value_t *v)
{
    int                     rc;
    unsigned char          *copy;
    helicone_json_value_t   tmp;

    /* an exact-size heap copy lets ASan see any read past the end */

    copy = malloc(len ? len : 1);
    if (copy == NULL) {
        abort();
    }

    memcpy(copy, s, len);

    rc = helicone_json_parse(copy, len, &tmp);

    free(copy);

    if (v) {
        /* spans would point into freed memory: keep type and length only */
        v->type = tmp.type;
        v->start = NULL;
        v->len = tmp.len;
    }

    return rc;
}


static int
parse_str(const char *s, helicone_json_value_t *v)
{
    int  rc;

    rc = helicone_json_parse((const unsigned char *) s, strlen(s), v);

    return rc;
}


static void
test_valid(void)
{
    size_t                  i;
    helicone_json_value_t   v;

    static const struct {
        const char            *text;
        helicone_json_type_e   type;
    } cases[] = {
        { "0", HELICONE_JSON_NUMBER },
        { "-0", HELICONE_JSON_NUMBER },
        { "1", HELICONE_JSON_NUMBER },
        { "-1", HELICONE_JSON_NUMBER },
        { "1.5", HELICONE_JSON_NUMBER },
        { "-0.0e0", HELICONE_JSON_NUMBER },
        { "1e10", HELICONE_JSON_NUMBER },
        { "1E+2", HELICONE_JSON_NUMBER },
        { "1e-2", HELICONE_JSON_NUMBER },
        { "123456789012345678901234567890", HELICONE_JSON_NUMBER },
        { "1e999999999", HELICONE_JSON_NUMBER },
        { "\"\"", HELICONE_JSON_STRING },
        { "\"abc\"", HELICONE_JSON_STRING },
        { "\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", HELICONE_JSON_STRING },
        { "\"\\u00e9\\u00E9\"", HELICONE_JSON_STRING },
        { "\"\\ud83d\\ude00\"", HELICONE_JSON_STRING },
        { "\"\\ud83d\"", HELICONE_JSON_STRING },
        { "\"\\ude00\\ud83d\"", HELICONE_JSON_STRING },
        { "\"\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", HELICONE_JSON_STRING },
        { "\"\xf4\x8f\xbf\xbf\"", HELICONE_JSON_STRING },
        { "\"\xef\xbb\xbf\"", HELICONE_JSON_STRING },
        { "\"\x7f\"", HELICONE_JSON_STRING },
        { "true", HELICONE_JSON_TRUE },
        { "false", HELICONE_JSON_FALSE },
        { "null", HELICONE_JSON_NULL },
        { "[]", HELICONE_JSON_ARRAY },
        { "{}", HELICONE_JSON_OBJECT },
        { "[ ]", HELICONE_JSON_ARRAY },
        { "{ \t\r\n }", HELICONE_JSON_OBJECT },
        { " [ 1 , 2 ] ", HELICONE_JSON_ARRAY },
        { "\t\r\n{\"a\":1}\n", HELICONE_JSON_OBJECT },
        { "{\"a\":{\"b\":[1,{\"c\":null}]},\"d\":[[],{}]}",
          HELICONE_JSON_OBJECT },
        { "[1,-2.5e+3,\"x\",true,false,null,[],{},[[]]]",
          HELICONE_JSON_ARRAY },
        { "{\"\":0,\"a\":1,\"a\":2}", HELICONE_JSON_OBJECT },
        { "{\"a\" : 1 , \"b\" :\"\" }", HELICONE_JSON_OBJECT },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        v.type = HELICONE_JSON_INVALID;
        ok(parse_bytes(cases[i].text, strlen(cases[i].text), &v)
           == HELICONE_OK, "valid: %s", cases[i].text);
        is_int(v.type, cases[i].type, "  and has the right type");
    }
}


static void
test_invalid(void)
{
    size_t  i;

    static const json_case_t cases[] = {
        { "", 0, "empty" },
        { " \t\r\n", 0, "white space only" },
        { "01", 0, "leading zero" },
        { "-01", 0, "leading zero after minus" },
        { "00", 0, "double zero" },
        { "-", 0, "minus alone" },
        { "+1", 0, "plus sign" },
        { "1.", 0, "no fraction digits" },
        { ".5", 0, "no integer part" },
        { "1.e5", 0, "dot then exponent" },
        { "1e", 0, "no exponent digits" },
        { "1e+", 0, "no exponent digits after sign" },
        { "1e5.5", 0, "fractional exponent" },
        { "0x10", 0, "hex number" },
        { "NaN", 0, "NaN" },
        { "Infinity", 0, "Infinity" },
        { "-Infinity", 0, "-Infinity" },
        { "1 2", 0, "two numbers" },
        { "tru", 0, "truncated true" },
        { "nul", 0, "truncated null" },
        { "truex", 0, "true followed by junk" },
        { "True", 0, "capital True" },
        { "[1,]", 0, "trailing comma in array" },
        { "[,1]", 0, "leading comma in array" },
        { "[1,,2]", 0, "double comma" },
        { "[1 2]", 0, "missing comma" },
        { "[", 0, "open array" },
        { "]", 0, "close only" },
        { "[1]]", 0, "extra close" },
        { "[1}", 0, "mismatched close" },
        { "{\"a\":1]", 0, "object closed as array" },
        { "{\"a\"}", 0, "member without value" },
        { "{\"a\":}", 0, "member with empty value" },
        { "{\"a\" 1}", 0, "member without colon" },
        { "{a:1}", 0, "unquoted name" },
        { "{1:1}", 0, "number name" },
        { "{\"a\":1,}", 0, "trailing comma in object" },
        { "{,}", 0, "comma only object" },
        { "{\"a\":1 \"b\":2}", 0, "missing comma in object" },
        { "[1] [2]", 0, "two roots" },
        { "{} x", 0, "junk after root" },
        { "\"abc", 0, "unterminated string" },
        { "\"\\\"", 0, "escaped closing quote" },
        { "\"\\x\"", 0, "bad escape" },
        { "\"\\U0041\"", 0, "capital U escape" },
        { "\"\\u12\"", 0, "short \\u" },
        { "\"\\u12g4\"", 0, "non-hex \\u" },
        { "\"\\", 0, "backslash at end" },
        { "'a'", 0, "single quotes" },
        { "\"a\tb\"", 0, "raw tab in string" },
        { "\"a\nb\"", 0, "raw newline in string" },
        { "\"\x01\"", 0, "raw control in string" },
        { "\"\x1f\"", 0, "raw 0x1f in string" },
        { "\"a\0b\"", 5, "NUL in string" },
        { "1\0", 2, "NUL after number" },
        { "\0", 1, "NUL alone" },
        { "[1]\0", 4, "NUL after array" },
        { "\xef\xbb\xbf{}", 0, "BOM before the value" },
        { "/* c */ 1", 0, "comment" },
        { "\v1", 0, "vertical tab is no white space" },
        { "\f1", 0, "form feed is no white space" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ok(parse_bytes(cases[i].text,
                       cases[i].len ? cases[i].len : strlen(cases[i].text),
                       NULL)
           == HELICONE_ERROR, "invalid: %s", cases[i].name);
    }

    ok(helicone_json_parse(NULL, 0, NULL) == HELICONE_ERROR, "NULL text");
}


static void
test_bad_utf8(void)
{
    size_t  i;

    static const json_case_t cases[] = {
        { "\"\x80\"", 0, "lone continuation byte" },
        { "\"\xbf\"", 0, "lone 0xbf" },
        { "\"\xc0\x80\"", 0, "overlong NUL (c0 80)" },
        { "\"\xc1\xbf\"", 0, "overlong c1 bf" },
        { "\"\xe0\x80\xaf\"", 0, "overlong 3-byte slash" },
        { "\"\xe0\x9f\xbf\"", 0, "overlong 3-byte e0 9f bf" },
        { "\"\xf0\x80\x80\x80\"", 0, "overlong 4-byte" },
        { "\"\xf0\x8f\xbf\xbf\"", 0, "overlong 4-byte f0 8f" },
        { "\"\xed\xa0\x80\"", 0, "UTF-8 encoded high surrogate" },
        { "\"\xed\xbf\xbf\"", 0, "UTF-8 encoded low surrogate" },
        { "\"\xed\xa0\xbd\xed\xb8\x80\"", 0, "CESU-8 surrogate pair" },
        { "\"\xf4\x90\x80\x80\"", 0, "above U+10FFFF" },
        { "\"\xf5\x80\x80\x80\"", 0, "f5 lead byte" },
        { "\"\xf8\x88\x80\x80\x80\"", 0, "5-byte form" },
        { "\"\xfe\"", 0, "0xfe" },
        { "\"\xff\"", 0, "0xff" },
        { "\"\xc3\"", 0, "truncated 2-byte" },
        { "\"\xe2\x82\"", 0, "truncated 3-byte" },
        { "\"\xf0\x9f\x98\"", 0, "truncated 4-byte" },
        { "\"\xc3\x28\"", 0, "bad continuation" },
        { "\"\xe2\x28\xa1\"", 0, "bad second byte of 3" },
        { "\"\xe2\x82\x28\"", 0, "bad third byte of 3" },
        { "\"\xc3", 0, "truncated 2-byte at end of text" },
        { "\xc3\xa9", 0, "UTF-8 outside a string" },
        { "{\"\xff\":1}", 0, "bad UTF-8 in a member name" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ok(parse_bytes(cases[i].text,
                       cases[i].len ? cases[i].len : strlen(cases[i].text),
                       NULL)
           == HELICONE_ERROR, "invalid UTF-8: %s", cases[i].name);
    }
}


static void
test_prefixes(void)
{
    int          bad;
    size_t       i, len;
    const char  *doc;

    doc = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\","
          "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
          "\"content\":\"h\\u00e9llo \\ud83d\\ude00 \xe2\x82\xac\"},"
          "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,"
          "\"completion_tokens\":-3.5e+2,\"x\":[true,false,null]}}";

    len = strlen(doc);

    ok(parse_bytes(doc, len, NULL) == HELICONE_OK, "whole document is valid");

    bad = 0;

    for (i = 0; i < len; i++) {
        if (parse_bytes(doc, i, NULL) != HELICONE_ERROR) {
            diag("prefix of %lu bytes accepted", (unsigned long) i);
            bad++;
        }
    }

    ok(bad == 0, "every truncation of the document is refused");
}


static char *
nest(const char *open, const char *close, const char *inner, size_t depth)
{
    char    *s, *p;
    size_t   i, olen, clen, ilen;

    olen = strlen(open);
    clen = strlen(close);
    ilen = strlen(inner);

    s = malloc(depth * (olen + clen) + ilen + 1);
    if (s == NULL) {
        abort();
    }

    p = s;

    for (i = 0; i < depth; i++) {
        memcpy(p, open, olen);
        p += olen;
    }

    memcpy(p, inner, ilen);
    p += ilen;

    for (i = 0; i < depth; i++) {
        memcpy(p, close, clen);
        p += clen;
    }

    *p = '\0';

    return s;
}


static void
test_depth(void)
{
    char                   *s;
    helicone_json_value_t   v, w;

    s = nest("[", "]", "", HELICONE_JSON_MAX_DEPTH);
    ok(parse_str(s, NULL) == HELICONE_OK, "arrays nested %d deep are valid",
       HELICONE_JSON_MAX_DEPTH);
    free(s);

    s = nest("[", "]", "", HELICONE_JSON_MAX_DEPTH + 1);
    ok(parse_str(s, NULL) == HELICONE_ERROR, "arrays nested %d deep are not",
       HELICONE_JSON_MAX_DEPTH + 1);
    free(s);

    s = nest("{\"a\":", "}", "1", HELICONE_JSON_MAX_DEPTH);
    ok(parse_str(s, &v) == HELICONE_OK, "objects nested %d deep are valid",
       HELICONE_JSON_MAX_DEPTH);
    ok(helicone_json_path_get(&v, "a.a.a.a", &w) == HELICONE_OK
       && w.type == HELICONE_JSON_OBJECT, "  and can be walked");
    free(s);

    s = nest("{\"a\":", "}", "1", HELICONE_JSON_MAX_DEPTH + 1);
    ok(parse_str(s, NULL) == HELICONE_ERROR, "objects nested %d deep are not",
       HELICONE_JSON_MAX_DEPTH + 1);
    free(s);

    s = nest("[{\"k\":", "}]", "0", HELICONE_JSON_MAX_DEPTH / 2);
    ok(parse_str(s, NULL) == HELICONE_OK, "mixed nesting at the limit");
    free(s);

    s = nest("[{\"k\":", "}]", "[]", HELICONE_JSON_MAX_DEPTH / 2);
    ok(parse_str(s, NULL) == HELICONE_ERROR, "mixed nesting one past it");
    free(s);

    s = nest("[", "]", "", 1000000);
    ok(parse_str(s, NULL) == HELICONE_ERROR, "a million open arrays");
    free(s);

    s = nest("[", "", "", 1000000);
    ok(parse_str(s, NULL) == HELICONE_ERROR, "a million unclosed arrays");
    free(s);

    s = nest("{\"a\":[", "]}", "", 500000);
    ok(parse_str(s, NULL) == HELICONE_ERROR, "a million mixed containers");
    free(s);
}


static void
test_root(void)
{
    const char             *s;
    helicone_json_value_t   v;

    s = "  {\"a\":1}\r\n";
    ok(parse_str(s, &v) == HELICONE_OK, "root with white space");
    ok(v.start == (const unsigned char *) s + 2, "  root starts at the '{'");
    is_int(v.len, 7, "  root span excludes white space");
    is_int(v.type, HELICONE_JSON_OBJECT, "  root is an object");

    s = " \"abc\" ";
    ok(parse_str(s, &v) == HELICONE_OK && v.len == 5
       && v.start == (const unsigned char *) s + 1,
       "string root span includes quotes");

    s = "-12.5e3";
    ok(parse_str(s, &v) == HELICONE_OK && v.len == 7, "number root span");

    ok(parse_str("[1]", NULL) == HELICONE_OK, "root may be NULL");
}


/*
 * helicone_json_may_have(), the prefilter of stream chunks: each case at
 * every offset after 0..40 bytes of padding, so that the name falls on
 * every place of a 16-byte window and across two.
 */

static void
test_may_have(void)
{
    size_t          i, k, pad, len, bad;
    unsigned char   buf[512];

    static const struct {
        const char  *doc;
        int          expect;
    } cases[] = {
        { "{\"usage\":{\"prompt_tokens\":1}}", 1 },
        { "{\"choices\":[],\"usage\":null}", 0 },
        { "{\"usage\" :  null ,\"x\":1}", 0 },
        { "{\"usage\":\n\tnull}", 0 },
        { "{\"usage\":nul", 1 },
        { "{\"usage\":null,\"usage\":{\"a\":1}}", 1 },
        { "{\"usage\":0}", 1 },
        { "{\"choices\":[{\"delta\":{\"content\":\"usage\"}}]}", 0 },
        { "{\"content\":\"the \\\"usage\\\": x\"}", 0 },
        { "{\"content\":\"the \\\\\"usage\":1}", 1 },
        { "{\"usages\":{}}", 0 },
        { "{\"xusage\":{}}", 0 },
        { "usage\":{}", 0 },
        { "\"usage\"", 0 },
        { "\"usage\":", 1 },
        { "", 0 },
        { "usage", 0 },
        { "{\"us\\u0061ge\":{}}", 0 },
        { "{\"a\":\"usag\",\"b\":\"sage\",\"u\":\"e\"}", 0 },
    };

    bad = 0;

    for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        len = strlen(cases[k].doc);

        for (pad = 0; pad <= 40; pad++) {
            memset(buf, 'u', pad);
            memcpy(buf + pad, cases[k].doc, len);

            /* the padding is outside what is searched: a name may not
             * be read across the start */
            if (helicone_json_may_have(buf + pad, len, "usage", 5)
                != cases[k].expect)
            {
                bad++;
                diag("case %zu at offset %zu", k, pad);
            }

            /* and bytes after the end are never read as its own */
            for (i = 0; i < 8; i++) {
                buf[pad + len + i] = "\"usage\""[i % 7];
            }

            if (len > 0
                && helicone_json_may_have(buf + pad, len - 1, "usage", 5)
                   > cases[k].expect
                && cases[k].expect == 0)
            {
                bad++;
                diag("case %zu short by one at offset %zu", k, pad);
            }
        }
    }

    ok(bad == 0, "may_have: every case at every offset");

    ok(helicone_json_may_have((const unsigned char *) "{\"error\":{}}",
                              12, "error", 5) == 1,
       "may_have: another name");
}


static void
test_object_get(void)
{
    const char             *s;
    helicone_json_value_t   doc, v;

    s = "{\"mod\\u0065l\":\"gpt-4o\",\"n\":1,\"n\":2,\"o\":{\"x\":[1,2]},"
        "\"a\\\"b\":true,\"nul\\u0000l\":null,\"s\": \"abc\" ,"
        "\"\\ud83d\\ude00\":3,\"\":4}";

    ok(parse_str(s, &doc) == HELICONE_OK, "lookup document parses");

    ok(helicone_json_object_get(&doc, "model", 5, &v) == HELICONE_OK
       && helicone_json_string_eq(&v, "gpt-4o", 6),
       "escaped member name matches decoded");

    ok(helicone_json_object_get(&doc, "n", 1, &v) == HELICONE_OK
       && v.len == 1 && v.start[0] == '2', "last duplicate wins");

    ok(helicone_json_object_get(&doc, "o", 1, &v) == HELICONE_OK
       && v.type == HELICONE_JSON_OBJECT && v.len == 11,
       "object member span");

    ok(helicone_json_object_get(&doc, "a\"b", 3, &v) == HELICONE_OK
       && v.type == HELICONE_JSON_TRUE && v.len == 4,
       "name with an escaped quote");

    ok(helicone_json_object_get(&doc, "nul\0l", 5, &v) == HELICONE_OK
       && v.type == HELICONE_JSON_NULL, "name with an escaped NUL");

    ok(helicone_json_object_get(&doc, "s", 1, &v) == HELICONE_OK
       && v.type == HELICONE_JSON_STRING && v.len == 5
       && memcmp(v.start, "\"abc\"", 5) == 0, "string span with spaces");

    ok(helicone_json_object_get(&doc, "\xf0\x9f\x98\x80", 4, &v)
       == HELICONE_OK && v.start[0] == '3', "surrogate-pair name");

    ok(helicone_json_object_get(&doc, "", 0, &v) == HELICONE_OK
       && v.start[0] == '4', "empty name");

    is_int(helicone_json_object_get(&doc, "mode", 4, &v), HELICONE_DECLINED,
           "prefix of a name is absent");
    is_int(helicone_json_object_get(&doc, "models", 6, &v),
           HELICONE_DECLINED, "extension of a name is absent");
    is_int(helicone_json_object_get(&doc, "x", 1, &v), HELICONE_DECLINED,
           "nested name is not a member");

    ok(helicone_json_object_get(&doc, "o", 1, &v) == HELICONE_OK,
       "find nested object");
    is_int(helicone_json_object_get(&v, "x", 1, NULL), HELICONE_OK,
           "out may be NULL");

    ok(parse_str("[1,2]", &v) == HELICONE_OK, "array parses");
    is_int(helicone_json_object_get(&v, "a", 1, NULL), HELICONE_ERROR,
           "object_get on an array");

    ok(parse_str("\"a\"", &v) == HELICONE_OK, "string parses");
    is_int(helicone_json_object_get(&v, "a", 1, NULL), HELICONE_ERROR,
           "object_get on a string");
    is_int(helicone_json_object_get(NULL, "a", 1, NULL), HELICONE_ERROR,
           "object_get on NULL");

    test_object_pick();
    test_pick_members();

    ok(parse_str("{}", &v) == HELICONE_OK
       && helicone_json_object_get(&v, "a", 1, NULL) == HELICONE_DECLINED,
       "empty object has no members");
}


static void
test_path_get(void)
{
    const char             *s;
    int64_t                 n;
    helicone_json_value_t   doc, v;

    s = "{\"usage\":{\"prompt_tokens\":10,"
        "\"prompt_tokens_details\":{\"cached_tokens\":4}},"
        "\"x\":5,\"a.b\":1}";

    ok(parse_str(s, &doc) == HELICONE_OK, "path document parses");

    ok(helicone_json_path_get(&doc, "usage.prompt_tokens", &v) == HELICONE_OK
       && helicone_json_int64(&v, &n) == HELICONE_OK && n == 10,
       "usage.prompt_tokens");

    ok(helicone_json_path_get(&doc,
                              "usage.prompt_tokens_details.cached_tokens", &v)
       == HELICONE_OK && helicone_json_int64(&v, &n) == HELICONE_OK && n == 4,
       "three-level path");

    ok(helicone_json_path_get(&doc, "usage", &v) == HELICONE_OK
       && v.type == HELICONE_JSON_OBJECT, "one-segment path");

    is_int(helicone_json_path_get(&doc, "usage.nope", &v), HELICONE_DECLINED,
           "absent leaf");
    is_int(helicone_json_path_get(&doc, "nope.x", &v), HELICONE_DECLINED,
           "absent middle");
    is_int(helicone_json_path_get(&doc, "x.y", &v), HELICONE_DECLINED,
           "path through a number");
    is_int(helicone_json_path_get(&doc, "usage.prompt_tokens.z", &v),
           HELICONE_DECLINED, "path past a leaf");
    is_int(helicone_json_path_get(&doc, "a.b", &v), HELICONE_DECLINED,
           "a dot always splits");
    is_int(helicone_json_path_get(&doc, "usage.", &v), HELICONE_DECLINED,
           "trailing dot looks for an empty name");

    ok(parse_str("[1]", &v) == HELICONE_OK, "array parses");
    is_int(helicone_json_path_get(&v, "a", NULL), HELICONE_ERROR,
           "path_get on an array");
    is_int(helicone_json_path_get(&doc, NULL, NULL), HELICONE_ERROR,
           "NULL path");
}


static void
test_iter(void)
{
    int                     rc;
    size_t                  i;
    const char             *s;
    helicone_json_iter_t    it;
    helicone_json_value_t   doc, k, v;

    static const helicone_json_type_e  types[] = {
        HELICONE_JSON_NUMBER, HELICONE_JSON_STRING, HELICONE_JSON_OBJECT,
        HELICONE_JSON_ARRAY, HELICONE_JSON_NULL, HELICONE_JSON_TRUE,
        HELICONE_JSON_FALSE, HELICONE_JSON_NUMBER, HELICONE_JSON_STRING
    };
    static const size_t  lens[] = { 1, 8, 13, 2, 4, 4, 5, 7, 4 };

    s = "[ 1 , \"a,]\\\"}\" ,{\"x\":[1,\"]\"]} ,[],null,true,false,-1.5e+3"
        ",\"\\\\\"]";

    ok(parse_str(s, &doc) == HELICONE_OK, "array for iteration parses");
    ok(helicone_json_iter_init(&it, &doc) == HELICONE_OK, "iter_init array");

    for (i = 0; ; i++) {
        rc = helicone_json_iter_next(&it, &k, &v);
        if (rc != HELICONE_OK) {
            break;
        }

        if (i < sizeof(types) / sizeof(types[0])) {
            ok(v.type == types[i] && v.len == lens[i]
               && k.type == HELICONE_JSON_INVALID,
               "array element %lu: type %d len %lu", (unsigned long) i,
               (int) v.type, (unsigned long) v.len);
        }
    }

    is_int(i, 9, "nine elements");
    is_int(rc, HELICONE_DECLINED, "ends with HELICONE_DECLINED");
    is_int(helicone_json_iter_next(&it, &k, &v), HELICONE_DECLINED,
           "and stays ended");

    s = "{\"a\":1,\"b\" : {\"c\":[]} , \"d\\u0065\":\"x\"}";
    ok(parse_str(s, &doc) == HELICONE_OK, "object for iteration parses");
    ok(helicone_json_iter_init(&it, &doc) == HELICONE_OK, "iter_init object");

    ok(helicone_json_iter_next(&it, &k, &v) == HELICONE_OK
       && helicone_json_string_eq(&k, "a", 1) && v.len == 1
       && v.type == HELICONE_JSON_NUMBER, "member a");
    ok(helicone_json_iter_next(&it, &k, &v) == HELICONE_OK
       && helicone_json_string_eq(&k, "b", 1) && v.len == 8
       && v.type == HELICONE_JSON_OBJECT, "member b");
    ok(helicone_json_iter_next(&it, &k, &v) == HELICONE_OK
       && helicone_json_string_eq(&k, "de", 2) && k.len == 9
       && v.type == HELICONE_JSON_STRING, "member de, key span raw");
    is_int(helicone_json_iter_next(&it, &k, &v), HELICONE_DECLINED,
           "object iteration ends");

    ok(parse_str(" [ ] ", &doc) == HELICONE_OK
       && helicone_json_iter_init(&it, &doc) == HELICONE_OK
       && helicone_json_iter_next(&it, &k, &v) == HELICONE_DECLINED,
       "empty array");
    ok(parse_str("{ }", &doc) == HELICONE_OK
       && helicone_json_iter_init(&it, &doc) == HELICONE_OK
       && helicone_json_iter_next(&it, NULL, NULL) == HELICONE_DECLINED,
       "empty object");

    ok(parse_str("[[1,2],[3]]", &doc) == HELICONE_OK
       && helicone_json_iter_init(&it, &doc) == HELICONE_OK
       && helicone_json_iter_next(&it, NULL, &v) == HELICONE_OK
       && v.len == 5
       && helicone_json_iter_next(&it, NULL, &v) == HELICONE_OK
       && v.len == 3
       && helicone_json_iter_next(&it, NULL, &v) == HELICONE_DECLINED,
       "nested arrays, key NULL");

    ok(parse_str("\"x\"", &doc) == HELICONE_OK
       && helicone_json_iter_init(&it, &doc) == HELICONE_ERROR
       && helicone_json_iter_next(&it, &k, &v) == HELICONE_DECLINED,
       "iter_init on a string fails and the iterator is ended");
    ok(helicone_json_iter_init(&it, NULL) == HELICONE_ERROR,
       "iter_init on NULL");
}


static void
test_decode(void)
{
    size_t                  n, i;
    unsigned char          *dst;
    helicone_json_value_t   v;

    static const struct {
        const char  *json;
        const char  *exp;
        size_t       exp_len;
    } cases[] = {
        { "\"\"", "", 0 },
        { "\"abc\"", "abc", 3 },
        { "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8 },
        { "\"\\u0041\\u00e9\\u20AC\"", "A\xc3\xa9\xe2\x82\xac", 6 },
        { "\"\\u0000\"", "\0", 1 },
        { "\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4 },
        { "\"\\uDBFF\\uDFFF\"", "\xf4\x8f\xbf\xbf", 4 },
        { "\"\\ud83dx\"", "\xef\xbf\xbdx", 4 },
        { "\"\\ude00\"", "\xef\xbf\xbd", 3 },
        { "\"\\ud83d\\ud83d\\ude00\"", "\xef\xbf\xbd\xf0\x9f\x98\x80", 7 },
        { "\"\\ud83d\\n\"", "\xef\xbf\xbd\n", 4 },
        { "\"\\ud83d\"", "\xef\xbf\xbd", 3 },
        { "\"\xc3\xa9\xf0\x9f\x98\x80\"", "\xc3\xa9\xf0\x9f\x98\x80", 6 },
        { "\"\\u2028\"", "\xe2\x80\xa8", 3 },
        { "\"ab\\ncd\\u0041ef\\t\"", "ab\ncdAef\t", 9 },
        { "\"\\\\\\\\x\"", "\\\\x", 3 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ok(parse_str(cases[i].json, &v) == HELICONE_OK,
           "decode case parses: %s", cases[i].json);

        /* exactly v.len bytes, as the contract allows */
        dst = malloc(v.len);
        if (dst == NULL) {
            abort();
        }

        n = helicone_json_string_decode(&v, dst);
        is_mem(dst, n, cases[i].exp, cases[i].exp_len, "  decodes");
        ok(helicone_json_string_eq(&v, cases[i].exp, cases[i].exp_len),
           "  string_eq agrees");
        free(dst);
    }

    ok(parse_str("\"abc\"", &v) == HELICONE_OK, "string parses");
    ok(!helicone_json_string_eq(&v, "ab", 2), "shorter is not equal");
    ok(!helicone_json_string_eq(&v, "abcd", 4), "longer is not equal");
    ok(!helicone_json_string_eq(&v, "abd", 3), "different is not equal");
    ok(!helicone_json_string_eq(&v, "", 0), "empty is not equal");

    ok(parse_str("12", &v) == HELICONE_OK
       && helicone_json_string_decode(&v, NULL) == (size_t) -1,
       "decode of a number is (size_t) -1");
    ok(!helicone_json_string_eq(&v, "12", 2), "a number is no string");
    ok(helicone_json_string_decode(NULL, NULL) == (size_t) -1,
       "decode of NULL");
}


static void
test_int64(void)
{
    size_t                  i;
    int64_t                 n;
    helicone_json_value_t   v;

    static const struct {
        const char  *text;
        int          rc;
        int64_t      value;
    } cases[] = {
        { "0", HELICONE_OK, 0 },
        { "-0", HELICONE_OK, 0 },
        { "42", HELICONE_OK, 42 },
        { "-42", HELICONE_OK, -42 },
        { "9223372036854775807", HELICONE_OK, INT64_MAX },
        { "-9223372036854775808", HELICONE_OK, INT64_MIN },
        { "9223372036854775808", HELICONE_DECLINED, 0 },
        { "-9223372036854775809", HELICONE_DECLINED, 0 },
        { "18446744073709551616", HELICONE_DECLINED, 0 },
        { "99999999999999999999999999999999", HELICONE_DECLINED, 0 },
        { "12.0", HELICONE_DECLINED, 0 },
        { "1e2", HELICONE_DECLINED, 0 },
        { "1E2", HELICONE_DECLINED, 0 },
        { "-0.5", HELICONE_DECLINED, 0 },
        { "\"12\"", HELICONE_DECLINED, 0 },
        { "true", HELICONE_DECLINED, 0 },
        { "null", HELICONE_DECLINED, 0 },
        { "[1]", HELICONE_DECLINED, 0 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = 12345;
        ok(parse_str(cases[i].text, &v) == HELICONE_OK
           && helicone_json_int64(&v, &n) == cases[i].rc
           && (cases[i].rc != HELICONE_OK || n == cases[i].value),
           "int64 of %s", cases[i].text);
    }

    ok(helicone_json_int64(NULL, &n) == HELICONE_DECLINED, "int64 of NULL");
}


static void
check_escape(const char *in, size_t len, const char *exp, const char *name)
{
    size_t          n;
    unsigned char  *dst, *end;

    n = helicone_json_escape_len((const unsigned char *) in, len);

    dst = malloc(n ? n : 1);
    if (dst == NULL) {
        abort();
    }

    end = helicone_json_escape(dst, (const unsigned char *) in, len);

    is_mem(dst, (size_t) (end - dst), exp, strlen(exp), name);
    is_int(end - dst, n, "  escape_len agrees");

    free(dst);
}


static void
test_escape(void)
{
    check_escape("", 0, "", "escape empty");
    check_escape("plain text", 10, "plain text", "escape plain");
    check_escape("a\"b\\c/d", 7, "a\\\"b\\\\c/d", "escape quote, backslash");
    check_escape("\n\r\t\b\f", 5, "\\n\\r\\t\\b\\f", "escape short forms");
    check_escape("\x01\x1f\x0b", 3, "\\u0001\\u001f\\u000b",
                 "escape other controls");
    check_escape("a\0b", 3, "a\\u0000b", "escape NUL");
    check_escape("\x7f", 1, "\x7f", "DEL is left alone");
    check_escape("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9,
                 "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "valid UTF-8 kept");
    check_escape("\xe2\x80\xa8|\xe2\x80\xa9", 7, "\\u2028|\\u2029",
                 "U+2028 and U+2029 escaped");
    check_escape("\xe2\x80\xaa", 3, "\xe2\x80\xaa", "U+202A kept");
    check_escape("\xff", 1, "\\ufffd", "0xff replaced");
    check_escape("a\x80z", 3, "a\\ufffdz", "lone continuation replaced");
    check_escape("\xc3", 1, "\\ufffd", "truncated 2-byte at end");
    check_escape("\xe2\x82", 2, "\\ufffd\\ufffd",
                 "truncated 3-byte: each byte replaced");
    check_escape("\xc0\x80", 2, "\\ufffd\\ufffd", "overlong replaced");
    check_escape("\xed\xa0\x80", 3, "\\ufffd\\ufffd\\ufffd",
                 "encoded surrogate replaced");
    check_escape("\xf4\x90\x80\x80", 4, "\\ufffd\\ufffd\\ufffd\\ufffd",
                 "above U+10FFFF replaced");
    check_escape("\xe2\x82x\xac", 4, "\\ufffd\\ufffdx\\ufffd",
                 "interrupted sequence");

    ok(helicone_json_escape_len(NULL, 5) == 0, "escape_len of NULL");
}


/*
 * Long plain runs are scanned a word at a time: one byte that is not
 * plain, at every offset of a run, must be found exactly where it is by
 * the escapers, the validator and the skipper.
 */

static void
test_plain_runs(void)
{
    size_t                  off, i, n, len, jlen;
    unsigned char           in[64], out[512], roomy[512], json[160], *end;
    helicone_json_value_t   doc, v;

    static const struct {
        const char  *raw;      /* the byte in the run */
        const char  *escaped;  /* what the escapers make of it */
        const char  *in_json;  /* how it stands in a JSON string */
        int          valid;    /* the JSON string is valid */
    } cases[] = {
        { "\"", "\\\"", "\\\"", 1 },
        { "\\", "\\\\", "\\\\", 1 },
        { "\x01", "\\u0001", "\x01", 0 },
        { "\x1f", "\\u001f", "\x1f", 0 },
        { "\x7f", "\x7f", "\x7f", 1 },
        { "\x80", "\\ufffd", "\x80", 0 },
        { "\xc3\xa9", "\xc3\xa9", "\xc3\xa9", 1 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = 0;

        for (off = 0; off <= 40; off++) {
            /* "aaa" X "bbb": X at off, 20 plain bytes after it */
            memset(in, 'a', off);
            len = off;
            memcpy(in + len, cases[i].raw, strlen(cases[i].raw));
            len += strlen(cases[i].raw);
            memset(in + len, 'b', 20);
            len += 20;

            end = helicone_json_escape(out, in, len);

            /* with room to spare, escape_into copies short runs 16 bytes
             * at a time: the same text must come out */
            memset(roomy, 0, sizeof(roomy));

            if (helicone_json_escape_into(roomy, roomy + sizeof(roomy), in,
                                          len)
                != roomy + (end - out)
                || memcmp(roomy, out, (size_t) (end - out)) != 0)
            {
                n++;
                continue;
            }

            if ((size_t) (end - out) != off + strlen(cases[i].escaped) + 20
                || memcmp(out + off, cases[i].escaped,
                          strlen(cases[i].escaped)) != 0
                || helicone_json_escape_len(in, len) != (size_t) (end - out)
                || helicone_json_escape_into(out, out + (end - out), in, len)
                   != out + (end - out)
                || helicone_json_escape_into(out, out + (end - out) - 1, in,
                                             len) != NULL)
            {
                n++;
                continue;
            }

            /* {"s":"aaa" X "bbb","t":7} */
            jlen = (size_t) snprintf((char *) json, sizeof(json),
                                     "{\"s\":\"%.*s%s%.*s\",\"t\":7}",
                                     (int) off, (char *) in, cases[i].in_json,
                                     20, "bbbbbbbbbbbbbbbbbbbb");

            if ((helicone_json_parse(json, jlen, &doc) == HELICONE_OK)
                != cases[i].valid)
            {
                n++;
                continue;
            }

            if (cases[i].valid
                && (helicone_json_object_get(&doc, "t", 1, &v) != HELICONE_OK
                    || v.len != 1 || v.start[0] != '7'))
            {
                n++;
            }
        }

        ok(n == 0, "plain run: case %zu found at every offset 0-40 (%zu "
           "wrong)", i, n);
    }
}


/*
 * Two bytes that are not plain in one word, or in words next to each
 * other: the first is found where it is, and the scan resumes right
 * after it (the word test also flags some plain bytes above a hit).
 */

static void
test_plain_pairs(void)
{
    size_t          i, j, off, gap, len, elen, n, runs;
    unsigned char   in[96], want[256], out[256], *end;

    static const struct {
        const char  *raw;
        const char  *escaped;
    } cases[] = {
        { "\"", "\\\"" },          /* quote */
        { "\\", "\\\\" },        /* backslash */
        { "\x1f", "\\u001f" },      /* a control byte, then a space */
        { "\n", "\\n" },
        { "\xff", "\\ufffd" },      /* carries into the byte above */
        { "\xc3\xa9", "\xc3\xa9" },
        { "\x7f", "\x7f" },          /* flagged, yet copied as it is */
    };

    n = 0;
    runs = 0;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (j = 0; j < sizeof(cases) / sizeof(cases[0]); j++) {
            for (off = 0; off <= 17; off++) {
                for (gap = 0; gap <= 9; gap++) {
                    /* off x " ", X, gap x "~", Y, 11 x "a": spaces and
                     * tildes are the plain bytes next to the flagged
                     * ranges */
                    len = 0;
                    elen = 0;

                    memset(in, ' ', off);
                    memset(want, ' ', off);
                    len += off;
                    elen += off;

                    memcpy(in + len, cases[i].raw, strlen(cases[i].raw));
                    len += strlen(cases[i].raw);
                    memcpy(want + elen, cases[i].escaped,
                           strlen(cases[i].escaped));
                    elen += strlen(cases[i].escaped);

                    memset(in + len, '~', gap);
                    memset(want + elen, '~', gap);
                    len += gap;
                    elen += gap;

                    memcpy(in + len, cases[j].raw, strlen(cases[j].raw));
                    len += strlen(cases[j].raw);
                    memcpy(want + elen, cases[j].escaped,
                           strlen(cases[j].escaped));
                    elen += strlen(cases[j].escaped);

                    memset(in + len, 'a', 11);
                    memset(want + elen, 'a', 11);
                    len += 11;
                    elen += 11;

                    runs++;

                    end = helicone_json_escape(out, in, len);

                    if ((size_t) (end - out) != elen
                        || memcmp(out, want, elen) != 0
                        || helicone_json_escape_len(in, len) != elen)
                    {
                        n++;
                        continue;
                    }

                    memset(out, 0, sizeof(out));

                    if (helicone_json_escape_into(out, out + sizeof(out),
                                                  in, len) != out + elen
                        || memcmp(out, want, elen) != 0
                        || helicone_json_escape_into(out, out + elen, in,
                                                     len) != out + elen
                        || memcmp(out, want, elen) != 0
                        || helicone_json_escape_into(out, out + elen - 1,
                                                     in, len) != NULL)
                    {
                        n++;
                    }
                }
            }
        }
    }

    ok(n == 0, "plain pairs: %zu strings escaped as expected (%zu wrong)",
       runs, n);
}


/*
 * Long strings made of pieces, with a quote or a backslash every few
 * bytes as in JSON text within JSON text: the escapers agree with the
 * pieces' known escapes at every length and with room to the byte
 * (escape_into works 16 bytes at a time where it can).
 */

static void
test_escape_long(void)
{
    size_t          k, r, len, elen, n, pick;
    uint32_t        seed;
    unsigned char   in[400], want[2400], out[2400], *end;

    static const struct {
        const char  *raw;
        const char  *escaped;
    } pieces[] = {
        { "a", "a" }, { "bcdefgh", "bcdefgh" }, { " ", " " },
        { "\"", "\\\"" }, { "\\", "\\\\" }, { "\n", "\\n" },
        { "\x01", "\\u0001" }, { "\x7f", "\x7f" }, { "~", "~" },
        { "\xc3\xa9", "\xc3\xa9" }, { "\xe2\x80\xa8", "\\u2028" },
        { "\xff", "\\ufffd" }, { "0123456789abcdefXYZ", "0123456789abcdefXYZ" },
    };

    n = 0;
    seed = 7;

    for (r = 0; r < 3000; r++) {
        len = 0;
        elen = 0;

        /* mostly plain pieces and quotes, as in a request body */
        while (len < 20 + r % 300) {
            seed = seed * 1103515245 + 12345;
            pick = (seed >> 16) % 40;
            k = pick < 13 ? pick : (pick < 30 ? 0 + (pick % 3 == 0) * 3
                                                : 12);

            memcpy(in + len, pieces[k].raw, strlen(pieces[k].raw));
            len += strlen(pieces[k].raw);
            memcpy(want + elen, pieces[k].escaped,
                   strlen(pieces[k].escaped));
            elen += strlen(pieces[k].escaped);
        }

        end = helicone_json_escape(out, in, len);

        if ((size_t) (end - out) != elen || memcmp(out, want, elen) != 0
            || helicone_json_escape_len(in, len) != elen)
        {
            n++;
            continue;
        }

        memset(out, 0, sizeof(out));

        if (helicone_json_escape_into(out, out + sizeof(out), in, len)
            != out + elen
            || memcmp(out, want, elen) != 0
            || helicone_json_escape_into(out, out + elen, in, len)
               != out + elen
            || memcmp(out, want, elen) != 0
            || helicone_json_escape_into(out, out + elen - 1, in, len)
               != NULL
            || helicone_json_escape_into(out, out + elen / 2, in, len)
               != NULL)
        {
            n++;
        }
    }

    ok(n == 0, "long strings: 3000 escaped as expected (%zu wrong)", n);
}


/* the one-pass pick agrees with object_get, name by name */


/*
 * JSON text within JSON text, as the log event keeps a stream: a quote
 * every few bytes, runs of them, backslashes, line ends and UTF-8 among
 * them. escape_into() (shuffles 16 bytes at a time where the CPU can)
 * against escape() (runs and a byte at a time), from every start to
 * every end, with room to the byte and one byte short.
 */

static void
test_escape_dense(void)
{
    size_t          from, to, elen, bad, runs;
    unsigned char   want[1200], *out, *e;

    static const char  text[] =
        "data: {\"id\":\"c-1\",\"object\":\"chat.completion.chunk\","
        "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a \\\"q\\\" "
        "\\\\ \xc3\xa9\"},\"finish_reason\":null}],\"usage\":null}\n\n"
        "data: \"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\"\\\\\\\\\"\"x"
        "\"\"\"\"\"\"\"\"\r\n"
        "data: [DONE]\n\n";

    bad = 0;
    runs = 0;

    for (from = 0; from < sizeof(text) - 1; from++) {
        for (to = from; to < sizeof(text); to++) {
            elen = (size_t) (helicone_json_escape(want,
                                 (const unsigned char *) text + from,
                                 to - from) - want);

            /* an exact-size heap buffer: ASan sees a write past it */
            out = malloc(elen ? elen : 1);
            if (out == NULL) {
                abort();
            }

            runs++;

            e = helicone_json_escape_into(out, out + elen,
                                          (const unsigned char *) text
                                          + from, to - from);

            if (e != out + elen || memcmp(out, want, elen) != 0
                || (elen > 0
                    && helicone_json_escape_into(out, out + elen - 1,
                                                 (const unsigned char *)
                                                 text + from, to - from)
                       != NULL))
            {
                bad++;
            }

            free(out);
        }
    }

    ok(bad == 0, "dense quotes: %zu escaped as escape() does (%zu wrong)",
       runs, bad);
}

/*
 * Short strings as an event has many (ids, names, URLs): escape_into()
 * copies one with nothing to escape in a few overlapping word moves and
 * falls back to its escaping loop at the first byte that is not plain.
 * Every length to 40, with no escape or one of each kind at every place,
 * from an exact-size heap copy into an exact-size buffer (ASan sees a
 * read or a write past either), against escape(), and one byte short.
 */

static void
test_escape_short(void)
{
    size_t          len, pos, k, sl, elen, runs, bad;
    unsigned char  *in, *out, *e, want[300];

    static const char  *specials[] = {
        "", "\"", "\\", "\n", "\x01", "\x7f", "\xc3\xa9", "\xe2\x80\xa8",
        "\xff", "\xe2\x82"
    };

    runs = 0;
    bad = 0;

    for (len = 0; len <= 40; len++) {
        for (k = 0; k < sizeof(specials) / sizeof(specials[0]); k++) {
            sl = strlen(specials[k]);

            for (pos = 0; pos + sl <= len; pos++) {
                in = malloc(len ? len : 1);
                if (in == NULL) {
                    abort();
                }

                /* every byte its own, so a byte moved wrong shows */
                for (e = in; e < in + len; e++) {
                    *e = (unsigned char) ('A' + (e - in) % 26);
                }

                memcpy(in + pos, specials[k], sl);

                elen = (size_t) (helicone_json_escape(want, in, len) - want);

                out = malloc(elen ? elen : 1);
                if (out == NULL) {
                    abort();
                }

                runs++;

                e = helicone_json_escape_into(out, out + elen, in, len);

                if (e != out + elen || memcmp(out, want, elen) != 0
                    || (elen > 0
                        && helicone_json_escape_into(out, out + elen - 1,
                                                     in, len)
                           != NULL))
                {
                    bad++;
                }

                free(out);
                free(in);

                if (sl == 0) {
                    /* no escape: once a length */
                    break;
                }
            }
        }
    }

    ok(bad == 0, "short strings: %zu escaped as escape() does (%zu wrong)",
       runs, bad);
}


/*
 * The validator ends a short plain string (most member names) in one
 * look at its next 16 bytes, and takes the full scan otherwise, or when
 * fewer than 17 bytes are left. A name and a value of every length to 40
 * with no escape or one thing of each kind at every place, followed by
 * 0 to 24 spaces (which moves the end, so both ways are taken): valid as
 * expected, the same span, and the name picked, escaped or not.
 */

static void
test_scan_short(void)
{
    int                     rc;
    size_t                  len, pos, k, sl, pad, jlen, dlen, runs, bad;
    unsigned char           str[64], dec[64], nm[64], *json;
    helicone_str_t          name;
    helicone_json_value_t   doc, v, got;

    static const struct {
        const char  *in_json;
        int          valid;
    } things[] = {
        { "", 1 }, { "\\\"", 1 }, { "\\\\", 1 }, { "\\n", 1 },
        { "\\u0041", 1 }, { "\\ud83d\\ude00", 1 }, { "\xc3\xa9", 1 },
        { "\x7f", 1 }, { "\x01", 0 }, { "\x1f", 0 }, { "\\x", 0 },
        { "\\u00g0", 0 }, { "\xff", 0 }, { "\xc3", 0 }, { "\"", 0 },
        { "\xed\xa0\x80", 0 }
    };

    runs = 0;
    bad = 0;

    for (len = 0; len <= 40; len++) {
        for (k = 0; k < sizeof(things) / sizeof(things[0]); k++) {
            sl = strlen(things[k].in_json);

            for (pos = 0; pos + sl <= len; pos++) {
                memset(str, 'm', len);
                memcpy(str + pos, things[k].in_json, sl);

                /* the name decoded, to be picked by */
                v.type = HELICONE_JSON_STRING;
                v.start = dec;
                v.len = len + 2;
                dec[0] = '"';
                memcpy(dec + 1, str, len);
                dec[len + 1] = '"';

                name.data = nm;
                dlen = things[k].valid
                       ? helicone_json_string_decode(&v, nm) : 0;
                name.len = dlen;

                for (pad = 0; pad <= 24; pad++) {
                    /* {"S":"S"} and pad spaces, in an exact-size copy */
                    jlen = 2 * len + 9 + pad;
                    json = malloc(jlen);
                    if (json == NULL) {
                        abort();
                    }

                    json[0] = '{';
                    json[1] = '"';
                    memcpy(json + 2, str, len);
                    memcpy(json + 2 + len, "\":\"", 3);
                    memcpy(json + 5 + len, str, len);
                    memcpy(json + 5 + 2 * len, "\"}", 2);
                    memset(json + 7 + 2 * len, ' ', pad + 2);

                    runs++;

                    rc = helicone_json_parse_pick(json, jlen, &doc, &name, 1,
                                                  &got);

                    if (things[k].valid
                        ? (rc != HELICONE_OK || doc.len != 2 * len + 7
                           || got.type != HELICONE_JSON_STRING
                           || got.start != json + 4 + len
                           || got.len != len + 2)
                        : rc != HELICONE_ERROR)
                    {
                        bad++;
                    }

                    free(json);
                }

                if (sl == 0) {
                    break;
                }
            }
        }
    }

    ok(bad == 0, "short strings: %zu scanned alike either way (%zu wrong)",
       runs, bad);
}


/*
 * Every byte value at every place of a 48-byte string (three windows of
 * 16, where the escapers and the validator classify bytes 16 at a time):
 * escape_into() as escape(), with room to the byte, and a JSON string
 * holding the byte valid exactly when RFC 8259 allows it unescaped (a
 * lone byte from 0x80 is invalid UTF-8; the quote and backslash stand
 * escaped).
 */

static void
test_every_byte(void)
{
    int             valid;
    size_t          c, pos, elen, bad;
    unsigned char   in[48], json[52], want[300], out[300];

    bad = 0;

    for (c = 0; c < 256; c++) {
        for (pos = 0; pos < sizeof(in); pos++) {
            memset(in, 'x', sizeof(in));
            in[pos] = (unsigned char) c;

            elen = (size_t) (helicone_json_escape(want, in, sizeof(in))
                             - want);

            if (helicone_json_escape_into(out, out + elen, in, sizeof(in))
                != out + elen
                || memcmp(out, want, elen) != 0
                || helicone_json_escape_into(out, out + elen - 1, in,
                                             sizeof(in))
                   != NULL)
            {
                bad++;
            }

            json[0] = '"';
            memcpy(json + 1, in, sizeof(in));
            json[sizeof(in) + 1] = '"';
            json[sizeof(in) + 2] = ' ';
            json[sizeof(in) + 3] = ' ';

            valid = (c >= 0x20 && c < 0x80 && c != '"' && c != '\\');

            if ((parse_bytes((const char *) json, sizeof(json), NULL)
                 == HELICONE_OK) != valid)
            {
                bad++;
            }
        }
    }

    ok(bad == 0, "every byte at every place: escaped and validated "
       "(%zu wrong)", bad);
}


/* the plain way: one may_have() pass a name */

static int
may_have_both(const unsigned char *p, size_t len)
{
    return helicone_json_may_have(p, len, "usage", 5)
           || helicone_json_may_have(p, len, "error", 5);
}


/*
 * helicone_json_may_have_any(), the one-pass prefilter of stream chunks,
 * against may_have() a name at a time: each case in an exact-size heap
 * copy (ASan sees a read past the end) after 0..40 bytes of padding, cut
 * at every length; then random texts of the bytes that matter.
 */

static void
test_may_have_any(void)
{
    size_t          k, pad, len, cut, bad, i, n;
    uint32_t        seed;
    unsigned char  *buf;

    static const helicone_str_t  names[] = {
        helicone_string("usage"), helicone_string("error")
    };

    static const char  *cases[] = {
        "{\"usage\":{\"prompt_tokens\":1}}",
        "{\"choices\":[],\"usage\":null}",
        "{\"usage\" :  null ,\"x\":1}",
        "{\"usage\":null,\"error\":{\"message\":\"x\"}}",
        "{\"error\":null,\"usage\":null}",
        "{\"error\" : \"x\"}",
        "{\"index\":0,\"delta\":{\"content\":\"usage error\"}}",
        "{\"content\":\"the \\\"error\\\": x\"}",
        "{\"errors\":{},\"eusage\":1}",
        "\"error\"", "\"error\":", "\"usage\":nul", "\"\"\"\"\"\"\"",
        "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
        "\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
        "\"delta\":{\"content\":\"reads usage\"},\"finish_reason\":null}],"
        "\"usage\":null}",
    };

    /* the pieces random texts are made of */
    static const char  *tokens[] = {
        "\"usage\"", "\"error\"", "usage", "error", "\"", ":", " ", "\t",
        "null", "nul", "{", "}", "x", "\\", "\"usag", "rror\"", "\"e", "0"
    };

    bad = 0;

    for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        len = strlen(cases[k]);

        for (pad = 0; pad <= 40; pad++) {
            for (cut = 0; cut <= len; cut++) {
                buf = malloc(pad + cut + 1);
                if (buf == NULL) {
                    abort();
                }

                memset(buf, '"', pad);
                memcpy(buf + pad, cases[k], cut);

                if (helicone_json_may_have_any(buf + pad, cut, names, 2)
                    != may_have_both(buf + pad, cut))
                {
                    bad++;
                    diag("case %zu cut at %zu after %zu", k, cut, pad);
                }

                free(buf);
            }
        }
    }

    ok(bad == 0, "may_have_any: as may_have() a name at a time, every cut");

    seed = 16;
    bad = 0;

    for (k = 0; k < 20000; k++) {
        buf = malloc(16 * 7);
        if (buf == NULL) {
            abort();
        }

        n = 0;

        for (i = rnd(&seed) % 16; i > 0; i--) {
            cut = rnd(&seed) % (sizeof(tokens) / sizeof(tokens[0]));
            len = strlen(tokens[cut]);
            memcpy(buf + n, tokens[cut], len);
            n += len;
        }

        /* the text's end at the buffer's: reads past it are seen */
        memmove(buf + 16 * 7 - n, buf, n);

        if (helicone_json_may_have_any(buf + 16 * 7 - n, n, names, 2)
            != may_have_both(buf + 16 * 7 - n, n))
        {
            bad++;
            diag("random text %zu", k);
        }

        free(buf);
    }

    ok(bad == 0, "may_have_any: as may_have() a name at a time, random");

    ok(helicone_json_may_have_any((const unsigned char *) "\"error\":1", 9,
                                  names, 0) == 0,
       "may_have_any: no names, no hit");
}

static void
test_object_pick(void)
{
    size_t                  i;
    const char             *s;
    helicone_json_value_t   doc, v, out[8];

    static const helicone_str_t  names[] = {
        helicone_string("model"), helicone_string("n"),
        helicone_string("a\"b"), helicone_string("o"), helicone_string("s"),
        helicone_string(""), helicone_string("absent"),
        helicone_string("nul\0l")
    };

    s = "{\"mod\\u0065l\":\"gpt-4o\",\"n\":1,\"n\":2,\"o\":{\"x\":[1,2]},"
        "\"a\\\"b\":true,\"nul\\u0000l\":null,\"s\": \"abc\" ,\"\":4}";

    ok(parse_str(s, &doc) == HELICONE_OK, "pick document parses");
    is_int(helicone_json_object_pick(&doc, names, 8, out), HELICONE_OK,
           "pick from an object");

    for (i = 0; i < 8; i++) {
        if (helicone_json_object_get(&doc, (const char *) names[i].data,
                                     names[i].len, &v)
            == HELICONE_OK)
        {
            ok(out[i].start == v.start && out[i].len == v.len
               && out[i].type == v.type, "pick \"%s\" as object_get",
               names[i].data);

        } else {
            ok(out[i].type == HELICONE_JSON_INVALID,
               "pick \"%s\" absent as object_get", names[i].data);
        }
    }

    /* the same while validating, for documents of every shape */
    {
        size_t                  d, j;
        helicone_json_value_t   root, want[8], got[8];

        static const char *const  docs[] = {
            "{\"mod\\u0065l\":\"gpt-4o\",\"n\":1,\"n\":2,"
            "\"o\":{\"x\":[1,{\"s\":\"}\"}]},\"a\\\"b\":true,"
            "\"nul\\u0000l\":null,\"s\": \"abc\" ,\"\":4}",
            " { \"o\" : { } , \"s\" : [ ] , \"n\" : -1.5e3 } ",
            "{\"o\":{\"model\":1},\"model\":\"m\"}",
            "[{\"model\":1}]",
            "{}",
            "\"model\"",
        };

        for (d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
            ok(helicone_json_parse_pick((const unsigned char *) docs[d],
                                        strlen(docs[d]), &root, names, 8,
                                        got)
               == HELICONE_OK, "parse_pick: document %zu valid", d);

            helicone_json_object_pick(&root, names, 8, want);

            for (j = 0; j < 8; j++) {
                if (want[j].type != got[j].type
                    || (want[j].type != HELICONE_JSON_INVALID
                        && (want[j].start != got[j].start
                            || want[j].len != got[j].len)))
                {
                    break;
                }
            }

            ok(j == 8, "parse_pick: document %zu picks as object_pick", d);
        }

        is_int(helicone_json_parse_pick((const unsigned char *) "{\"n\":1,",
                                        7, &root, names, 8, got),
               HELICONE_ERROR, "parse_pick: invalid document");
        ok(got[1].type == HELICONE_JSON_INVALID,
           "parse_pick: nothing picked from an invalid document");
    }

    /* which name a string is, escaped or not */
    ok(parse_str("\"model\"", &v) == HELICONE_OK
       && helicone_json_string_index(&v, names, 8) == 0, "string_index plain");
    ok(parse_str("\"mod\\u0065l\"", &v) == HELICONE_OK
       && helicone_json_string_index(&v, names, 8) == 0,
       "string_index escaped");
    ok(parse_str("\"models\"", &v) == HELICONE_OK
       && helicone_json_string_index(&v, names, 8) == 8, "string_index none");
    ok(parse_str("7", &v) == HELICONE_OK
       && helicone_json_string_index(&v, names, 8) == 8,
       "string_index of a number");

    ok(parse_str("[1,2]", &v) == HELICONE_OK, "pick: array parses");
    out[0].type = HELICONE_JSON_TRUE;
    ok(helicone_json_object_pick(&v, names, 8, out) == HELICONE_ERROR
       && out[0].type == HELICONE_JSON_INVALID, "pick from an array: absent");
}


static uint32_t
rnd(uint32_t *seed)
{
    *seed = *seed * 1103515245u + 12345u;

    return *seed >> 8;
}


/* Random valid UTF-8 of every length class, controls and specials. */

static size_t
gen_utf8(uint32_t *seed, unsigned char *out, size_t max)
{
    size_t    n, len;
    uint32_t  cp, r;

    len = rnd(seed) % 40;
    n = 0;

    while (len-- && n + 4 <= max) {
        r = rnd(seed) % 8;

        switch (r) {
        case 0:
            cp = rnd(seed) % 0x20;
            break;
        case 1:
            cp = "\"\\/\x7f"[rnd(seed) % 4];
            break;
        case 2:
            cp = 0x2028 + rnd(seed) % 2;
            break;
        case 3:
            cp = 0x80 + rnd(seed) % (0x800 - 0x80);
            break;
        case 4:
            cp = 0x800 + rnd(seed) % (0x10000 - 0x800);
            if (cp >= 0xd800 && cp <= 0xdfff) {
                cp = 0xfffd;
            }
            break;
        case 5:
            cp = 0x10000 + rnd(seed) % (0x110000 - 0x10000);
            break;
        default:
            cp = 0x20 + rnd(seed) % 0x60;
            break;
        }

        if (cp < 0x80) {
            out[n++] = (unsigned char) cp;

        } else if (cp < 0x800) {
            out[n++] = (unsigned char) (0xc0 | (cp >> 6));
            out[n++] = (unsigned char) (0x80 | (cp & 0x3f));

        } else if (cp < 0x10000) {
            out[n++] = (unsigned char) (0xe0 | (cp >> 12));
            out[n++] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
            out[n++] = (unsigned char) (0x80 | (cp & 0x3f));

        } else {
            out[n++] = (unsigned char) (0xf0 | (cp >> 18));
            out[n++] = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
            out[n++] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
            out[n++] = (unsigned char) (0x80 | (cp & 0x3f));
        }
    }

    return n;
}


static void
test_escape_roundtrip(void)
{
    int                     bad;
    size_t                  i, len, elen, dlen;
    uint32_t                seed;
    unsigned char           src[200], json[2000], dec[2000], *e;
    helicone_json_value_t   v;

    seed = 1;
    bad = 0;

    for (i = 0; i < 20000; i++) {
        len = gen_utf8(&seed, src, sizeof(src));

        elen = helicone_json_escape_len(src, len);

        json[0] = '"';
        e = helicone_json_escape(json + 1, src, len);
        *e++ = '"';

        if ((size_t) (e - json) != elen + 2
            || helicone_json_parse(json, e - json, &v) != HELICONE_OK
            || v.type != HELICONE_JSON_STRING)
        {
            bad++;
            continue;
        }

        dlen = helicone_json_string_decode(&v, dec);

        if (dlen != len || memcmp(dec, src, len) != 0
            || !helicone_json_string_eq(&v, (const char *) src, len))
        {
            bad++;
        }
    }

    is_int(bad, 0, "20000 random UTF-8 strings: escape, parse, decode "
           "gives the original");
}


static void
test_escape_random_bytes(void)
{
    int                     bad;
    size_t                  i, j, len, elen;
    uint32_t                seed;
    unsigned char           src[64], json[64 * 6 + 2], *e;
    helicone_json_value_t   v;

    seed = 7;
    bad = 0;

    for (i = 0; i < 20000; i++) {
        len = rnd(&seed) % sizeof(src);

        for (j = 0; j < len; j++) {
            /* bias to bytes that start or continue UTF-8 sequences */
            src[j] = (unsigned char) ((rnd(&seed) % 3)
                                      ? 0x80 + rnd(&seed) % 0x80
                                      : rnd(&seed) % 0x100);
        }

        elen = helicone_json_escape_len(src, len);

        json[0] = '"';
        e = helicone_json_escape(json + 1, src, len);
        *e++ = '"';

        if ((size_t) (e - json) != elen + 2
            || helicone_json_parse(json, e - json, &v) != HELICONE_OK)
        {
            bad++;
        }
    }

    is_int(bad, 0, "20000 random byte strings escape to valid JSON, "
           "escape_len exact");
}


/* the compact copy a cache key is made of */

static void
test_compact(void)
{
    size_t                 len;
    unsigned char          out[256];
    helicone_json_value_t  v;
    helicone_str_t         skip[2];

    static const char  in[] = "{ \"model\" : \"m\",\n \"ts\": 123,"
                              " \"msg\": [ \"a b\" , {\"x\" : \"\\\" }\"} ] ,"
                              " \"request_id\":\"r\" }";

    skip[0].data = (const unsigned char *) "ts";
    skip[0].len = 2;
    skip[1].data = (const unsigned char *) "request_id";
    skip[1].len = 10;

    if (helicone_json_parse((const unsigned char *) in, sizeof(in) - 1, &v)
        != HELICONE_OK)
    {
        ok(0, "compact: fixture parses");
        return;
    }

    static const char  all[] = "{\"model\":\"m\",\"ts\":123,\"msg\":"
                               "[\"a b\",{\"x\":\"\\\" }\"}],"
                               "\"request_id\":\"r\"}";
    static const char  some[] = "{\"model\":\"m\",\"msg\":[\"a b\","
                                "{\"x\":\"\\\" }\"}]}";

    len = helicone_json_compact(&v, NULL, 0, out);
    is_mem(out, len, all, sizeof(all) - 1,
           "compact: white space gone, strings kept");

    len = helicone_json_compact(&v, skip, 2, out);
    is_mem(out, len, some, sizeof(some) - 1,
           "compact: top-level names skipped");
    ok(len <= v.len && helicone_json_parse(out, len, &v) == HELICONE_OK,
       "compact: shorter and valid");
}


/* the names response.c reads, "choices" spanned only */
static const helicone_str_t  pick_names[] = {
    helicone_string("usage"), helicone_string("model"),
    helicone_string("x_groq"), helicone_string("error"),
    helicone_string("choices")
};

#define PICK_NAMES  (sizeof(pick_names) / sizeof(pick_names[0]))


/*
 * helicone_json_pick_members() against helicone_json_parse_pick(): the
 * same answer for a text the validator accepts; for another, an error or
 * only checked members that are valid JSON. 1 when that holds.
 */

static int
pick_members_agree(const char *text, size_t len, size_t checked)
{
    int                     full, fast;
    size_t                  i;
    helicone_json_value_t   rw, rg, want[PICK_NAMES], got[PICK_NAMES];
    const unsigned char    *p;

    p = (const unsigned char *) text;

    full = helicone_json_parse_pick(p, len, &rw, pick_names, PICK_NAMES,
                                    want);
    fast = helicone_json_pick_members(p, len, &rg, pick_names, PICK_NAMES,
                                      checked, got);

    if (full == HELICONE_OK && rw.type == HELICONE_JSON_OBJECT) {
        if (fast != HELICONE_OK || rg.start != rw.start
            || rg.len != rw.len || rg.type != rw.type)
        {
            return 0;
        }

        for (i = 0; i < PICK_NAMES; i++) {
            if (got[i].type != want[i].type
                || (want[i].type != HELICONE_JSON_INVALID
                    && (got[i].start != want[i].start
                        || got[i].len != want[i].len)))
            {
                return 0;
            }
        }

        return 1;
    }

    if (fast == HELICONE_ERROR) {
        for (i = 0; i < PICK_NAMES; i++) {
            if (got[i].type != HELICONE_JSON_INVALID) {
                return 0;
            }
        }

        return 1;
    }

    /* a fault the reader did not look at: what it gives is sound */

    if (full == HELICONE_OK || rg.type != HELICONE_JSON_OBJECT) {
        return 0;
    }

    for (i = 0; i < checked; i++) {
        if (got[i].type != HELICONE_JSON_INVALID
            && helicone_json_parse(got[i].start, got[i].len, NULL)
               != HELICONE_OK)
        {
            return 0;
        }
    }

    return 1;
}


static void
test_pick_members(void)
{
    char                   *buf;
    size_t                  i, j, len, bad, n;
    uint32_t                seed;
    helicone_json_value_t   root, out[PICK_NAMES];

    static const char  response[] =
        "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\","
        "\"created\":1700000000,\"model\":\"gpt-4o\",\"choices\":[{\"index\""
        ":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi \\\"there"
        "\\\" \\u00e9 \xc3\xa9 [{}]\",\"refusal\":null},\"logprobs\":null,"
        "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":9,"
        "\"completion_tokens\":3,\"total_tokens\":12,"
        "\"prompt_tokens_details\":{\"cached_tokens\":0}},"
        "\"m\\u006fdel\":\"gpt-4o-2024\",\"x_groq\":{\"id\":\"r\"}}";

    static const char *const  docs[] = {
        response,
        "{}",
        " { } ",
        "{\"choices\":[],\"usage\":{\"prompt_tokens\":1}}",
        "{\"choices\" : [ ] ,\"usage\":null}",
        "{\"error\":{\"message\":\"x\",\"code\":null}}",
        "{\"usage\":1,\"usage\":{\"a\":[1,2]}}",
        "{\"a\":{\"usage\":{}},\"b\":[{\"model\":\"no\"}],\"model\":\"yes\"}",
        "{\"s\":\"}]\\\"{[\",\"model\":\"m\"}",
        "{\"n\":-1.5e+3,\"t\":true,\"f\":false,\"z\":null,\"model\":0}",
        "[{\"model\":1}]",
        "\"model\"",
        "7",
        "",
        "{\"model\":\"m\"} x",
        "{\"model\":\"m\",}",
        "{\"model\":}",
        "{\"model\" \"m\"}",
        "{\"model\":\"m\"",
        "{\"usage\":{\"a\":01}}",
        "{\"usage\":{\"a\":\"\xff\"}}",
        "{\"model\":tru}",
        "{\"model\":\"\\x\"}",
        "{\"usage\":[1,}",
        "{\"choices\":[\"\xff\"],\"usage\":{\"prompt_tokens\":1}}",
        "{\"choices\":[01,tru,{]],\"model\":\"m\"}",
        "{\"other\":\"a\tb\",\"model\":\"m\"}",
        "{\"other\":[}\"model\":\"m\"}",
    };

    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        ok(pick_members_agree(docs[i], strlen(docs[i]), 4),
           "pick_members: document %zu as parse_pick", i);
        ok(pick_members_agree(docs[i], strlen(docs[i]), PICK_NAMES),
           "pick_members: document %zu, all checked, as parse_pick", i);
    }

    /* a fault in a member not checked: its usage is still read */
    is_int(helicone_json_pick_members(
               (const unsigned char *) docs[24], strlen(docs[24]), &root,
               pick_names, PICK_NAMES, 4, out), HELICONE_OK,
           "pick_members: bad bytes in choices, not checked");
    ok(out[0].type == HELICONE_JSON_OBJECT && out[4].type
       == HELICONE_JSON_ARRAY, "pick_members: usage and choices given");
    is_int(helicone_json_pick_members(
               (const unsigned char *) docs[24], strlen(docs[24]), &root,
               pick_names, PICK_NAMES, PICK_NAMES, out), HELICONE_ERROR,
           "pick_members: the same checked is refused");

    /* in a checked member: refused, nothing given */
    out[1].type = HELICONE_JSON_TRUE;
    is_int(helicone_json_pick_members(
               (const unsigned char *) docs[20], strlen(docs[20]), &root,
               pick_names, PICK_NAMES, 4, out), HELICONE_ERROR,
           "pick_members: bad bytes in usage refused");
    ok(out[1].type == HELICONE_JSON_INVALID,
       "pick_members: nothing given from a refused text");

    /* every prefix of the response, and the valid texts of test_valid()
     * as a member's value */
    len = strlen(response);
    bad = 0;

    for (i = 0; i <= len; i++) {
        bad += !pick_members_agree(response, i, 4);
    }

    ok(bad == 0, "pick_members: every prefix of a response");

    buf = malloc(len + 64);
    if (buf == NULL) {
        return;
    }

    /* random bytes changed, one to three at a time */
    seed = 16;
    bad = 0;

    for (i = 0; i < 20000; i++) {
        memcpy(buf, response, len);
        n = 1 + rnd(&seed) % 3;

        for (j = 0; j < n; j++) {
            buf[rnd(&seed) % len] = "{}[]\",:\\ 0a\xff\x01tn-"[rnd(&seed) % 16];
        }

        bad += !pick_members_agree(buf, len, 4);
    }

    ok(bad == 0, "pick_members: 20000 responses with bytes changed");

    free(buf);

    ok(helicone_json_pick_members(NULL, 0, &root, pick_names, PICK_NAMES, 4,
                                  out)
       == HELICONE_ERROR, "pick_members: NULL text");
}


int
main(void)
{
    test_compact();
    test_valid();
    test_invalid();
    test_bad_utf8();
    test_prefixes();
    test_depth();
    test_root();
    test_object_get();
    test_may_have();
    test_may_have_any();
    test_escape_dense();
    test_path_get();
    test_iter();
    test_decode();
    test_int64();
    test_escape();
    test_escape_roundtrip();
    test_escape_random_bytes();
    test_plain_runs();
    test_plain_pairs();
    test_escape_long();
    test_escape_short();
    test_scan_short();
    test_every_byte();

    return done_testing();
}
