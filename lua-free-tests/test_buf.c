/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Tests for core/helicone_buf.c: bounded appends and the overflow flag. */

#include <string.h>

#include "helicone_buf.h"
#include "tap.h"


static void test_buf(void);


static void
test_buf(void)
{
    unsigned char   mem[16], big[32];
    helicone_buf_t  b;

    helicone_buf_init(&b, mem, sizeof(mem));
    helicone_buf_add_cstr(&b, "ab");
    helicone_buf_add_int(&b, -42);
    helicone_buf_add_escaped(&b, (const unsigned char *) "\"\n", 2);
    is_mem(b.start, (size_t) (b.pos - b.start), "ab-42\\\"\\n", 9,
           "buf: add, int, escaped");
    ok(!b.overflow, "  no overflow");

    helicone_buf_add_escaped(&b, (const unsigned char *) "\x01\x02", 2);
    ok(b.overflow, "escaped write too long: overflow");
    is_int(b.pos - b.start, 9, "  nothing of it written");

    helicone_buf_add_cstr(&b, "x");
    is_int(b.pos - b.start, 9, "  nor of later writes that would fit");

    helicone_buf_init(&b, mem, sizeof(mem));
    helicone_buf_add_int(&b, INT64_MIN);
    is_int(b.pos - b.start, 0, "INT64_MIN does not fit 16 bytes");
    ok(b.overflow, "  overflow");

    helicone_buf_init(&b, mem, sizeof(mem));
    helicone_buf_add_int(&b, 0);
    helicone_buf_add(&b, "0123456789abcde", 15);
    is_mem(b.start, (size_t) (b.pos - b.start), "00123456789abcde", 16,
           "exactly full");
    ok(!b.overflow, "  no overflow");
    helicone_buf_add(&b, "", 0);
    ok(!b.overflow, "  an empty write still fits");

    helicone_buf_init(&b, NULL, 0);
    helicone_buf_add(&b, "", 0);
    ok(!b.overflow, "NULL buffer: empty write fits");
    helicone_buf_add_cstr(&b, "a");
    ok(b.overflow && b.pos == NULL, "  a byte does not");

    helicone_buf_init(&b, big, sizeof(big));
    helicone_buf_add_int(&b, INT64_MIN);
    helicone_buf_add_cstr(&b, " ");
    helicone_buf_add_int(&b, INT64_MAX);
    is_mem(b.start, (size_t) (b.pos - b.start), "-9223372036854775808 ", 21,
           "40 bytes do not fit 32");
    ok(b.overflow, "  overflow, the writes that fitted stay");
}


int
main(void)
{
    test_buf();

    return done_testing();
}
