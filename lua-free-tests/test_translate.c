/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Tests for core/helicone_translate.c: what every translator uses,
 * reading members, string content by character, copying spans.
 */

#include <string.h>

#include "helicone_translate.h"
#include "tap.h"


static void test_parse(const char *text, helicone_json_value_t *v);
static void test_read(void);
static void test_chars(void);
static void test_write(void);


static void
test_parse(const char *text, helicone_json_value_t *v)
{
    if (helicone_json_parse((const unsigned char *) text, strlen(text), v)
        != HELICONE_OK)
    {
        diag("not JSON: %s", text);
        v->type = HELICONE_JSON_INVALID;
    }
}


static void
test_read(void)
{
    helicone_json_value_t  doc, v, arr;

    test_parse("{\"a\":\"x\",\"n\":null,\"i\":3,\"o\":{\"b\":[1,2,3]}}", &doc);

    ok(helicone_translate_get(&doc, "a", &v)
       && v.type == HELICONE_JSON_STRING, "get: a string member");
    ok(!helicone_translate_get(&doc, "n", &v), "get: null is not there");
    ok(!helicone_translate_get(&doc, "zz", &v), "get: nor a missing one");
    ok(!helicone_translate_get(NULL, "a", &v), "get: NULL object");
    ok(helicone_translate_get(&doc, "i", &v)
       && !helicone_translate_get(&v, "a", &v), "get: of a number: none");

    ok(helicone_translate_get_string(&doc, "a", &v), "get_string: a string");
    ok(!helicone_translate_get_string(&doc, "i", &v),
       "get_string: a number is not");
    ok(!helicone_translate_get_string(&doc, "n", &v),
       "get_string: nor null");

    ok(helicone_translate_is(&doc, "a", "x"), "is: a is \"x\"");
    ok(!helicone_translate_is(&doc, "a", "y"), "is: not \"y\"");
    ok(!helicone_translate_is(&doc, "i", "3"), "is: a number is no string");

    v.type = HELICONE_JSON_INVALID;
    ok(!helicone_translate_has(&v), "has: not picked");
    v.type = HELICONE_JSON_NULL;
    ok(!helicone_translate_has(&v), "has: null");
    v.type = HELICONE_JSON_FALSE;
    ok(helicone_translate_has(&v), "has: false is there");

    ok(helicone_json_path_get(&doc, "o.b", &arr) == HELICONE_OK,
       "o.b found");
    is_int(helicone_translate_count(&arr), 3, "count: array elements");
    is_int(helicone_translate_count(&doc), 4, "count: object members");
    ok(helicone_translate_get(&doc, "a", &v), "a found");
    is_int(helicone_translate_count(&v), 0, "count: a string has none");
}


static void
test_chars(void)
{
    size_t                 n;
    uint32_t               c;
    const unsigned char   *p, *end;
    helicone_json_value_t  v;

    /* "a", é (2 bytes), \n, \u00e9, a surrogate pair, a lone surrogate */
    static const char  s[] = "a\xc3\xa9\\n\\u00e9\\ud83d\\ude00\\udc00";
    static const uint32_t  want[] = {
        'a', 0xe9, '\n', 0xe9, 0x1f600, 0xfffd
    };

    p = (const unsigned char *) s;
    end = p + sizeof(s) - 1;
    n = 0;

    while (p < end && n < sizeof(want) / sizeof(want[0])) {
        p = helicone_translate_char(p, end, &c);
        is_int(c, want[n], "char: one code point after another");
        n++;
    }

    ok(p == end && n == 6, "char: six characters, to the end");

    p = (const unsigned char *) "\xe2\x82";
    p = helicone_translate_char(p, p + 2, &c);
    is_int(c, 0xfffd, "char: a cut UTF-8 sequence is U+FFFD");

    test_parse("\"a\\ud83d\\ude00b\\u00e9\"", &v);
    is_int(helicone_translate_utf16_len(&v), 5,
           "utf16_len: a, a pair (2), b, e acute");

    is_int(helicone_translate_cut(&v, 100), v.len - 2,
           "cut: all of it when it fits");
    is_int(helicone_translate_cut(&v, 1), 1, "cut: 1 byte, the a");
    is_int(helicone_translate_cut(&v, 12), 1,
           "cut: not inside the surrogate pair's 12 bytes");
    is_int(helicone_translate_cut(&v, 13), 13, "cut: after the pair");

    test_parse("12", &v);
    is_int(helicone_translate_cut(&v, 10), 0, "cut: a number has none");
    is_int(helicone_translate_utf16_len(&v), 0, "utf16_len: nor length");
}


static void
test_write(void)
{
    size_t                 len;
    unsigned               n;
    unsigned char          mem[128], kept[8];
    helicone_buf_t         b;
    helicone_json_value_t  v, num;

    test_parse("\"x\\\"y\"", &v);
    test_parse("42", &num);

    helicone_buf_init(&b, mem, sizeof(mem));
    n = 0;
    helicone_translate_lit(&b, "[");
    helicone_translate_sep(&b, &n);
    helicone_translate_string(&b, &v);
    helicone_translate_sep(&b, &n);
    helicone_translate_string(&b, &num);
    helicone_translate_sep(&b, &n);
    helicone_translate_string(&b, NULL);
    helicone_translate_sep(&b, &n);
    helicone_translate_raw(&b, &num);
    helicone_translate_lit(&b, ",\"");
    helicone_translate_body(&b, &v);
    helicone_translate_body(&b, &num);
    helicone_translate_lit(&b, "\"]");
    is_mem(b.start, (size_t) (b.pos - b.start),
           "[\"x\\\"y\",\"\",\"\",42,\"x\\\"y\"]", 24,
           "lit, sep, string (\"\" for others), raw, body");

    test_parse("{ \"a b\" : [ 1 ,\n2 ] }", &v);
    helicone_buf_init(&b, mem, sizeof(mem));
    helicone_translate_minified(&b, &v);
    is_mem(b.start, (size_t) (b.pos - b.start),
           "{\\\"a b\\\":[1,2]}", 15,
           "minified: space outside strings gone, then escaped");

    test_parse("\"abc\\u00e9def\"", &v);
    helicone_translate_keep(&v, kept, sizeof(kept), &len);
    is_mem(kept, len, "abc", 3, "keep: cut before the escape that spills");

    helicone_buf_init(&b, mem, 4);
    helicone_translate_lit(&b, "12345");
    ok(b.overflow, "lit: overflow flagged");
}


int
main(void)
{
    test_read();
    test_chars();
    test_write();

    return done_testing();
}
