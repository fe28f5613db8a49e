/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Tests for core/helicone_uuid.c: v4 formatting and id validation. */

#include <stdio.h>
#include <string.h>

#include "helicone_uuid.h"
#include "tap.h"


static int valid(const char *s);
static void reference_format(const unsigned char rnd[16], char *out);
static void test_format(void);
static void test_valid(void);


static int
valid(const char *s)
{
    return helicone_uuid_valid((const unsigned char *) s, strlen(s));
}


/* the v4 text the slow obvious way: printf of each byte, dashes between */

static void
reference_format(const unsigned char rnd[16], char *out)
{
    size_t  i;

    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            *out++ = '-';
        }

        out += sprintf(out, "%02x",
                       i == 6 ? (rnd[i] & 0x0f) | 0x40
                       : i == 8 ? (rnd[i] & 0x3f) | 0x80 : rnd[i]);
    }
}


static void
test_format(void)
{
    size_t         i, j;
    uint32_t       seed;
    char           ref[HELICONE_UUID_LEN + 1];
    unsigned char  rnd[16], out[HELICONE_UUID_LEN + 1];
    int            bad, differ;

    memset(rnd, 0, sizeof(rnd));
    memset(out, 'X', sizeof(out));
    helicone_uuid_v4_format(rnd, out);
    is_mem(out, HELICONE_UUID_LEN, "00000000-0000-4000-8000-000000000000",
           HELICONE_UUID_LEN, "all-zero bytes");
    ok(out[HELICONE_UUID_LEN] == 'X', "  no terminating NUL written");
    ok(rnd[6] == 0x40 && rnd[8] == 0x80, "  version and variant set in rnd");

    memset(rnd, 0xff, sizeof(rnd));
    helicone_uuid_v4_format(rnd, out);
    is_mem(out, HELICONE_UUID_LEN, "ffffffff-ffff-4fff-bfff-ffffffffffff",
           HELICONE_UUID_LEN, "all-one bytes");

    for (i = 0; i < 16; i++) {
        rnd[i] = (unsigned char) (i * 0x11 + 1);
    }

    helicone_uuid_v4_format(rnd, out);
    is_mem(out, HELICONE_UUID_LEN, "01122334-4556-4778-899a-abbccddeef00",
           HELICONE_UUID_LEN, "counting bytes");

    seed = 3;
    bad = 0;
    differ = 0;

    for (i = 0; i < 10000; i++) {
        for (j = 0; j < 16; j++) {
            seed = seed * 1103515245u + 12345u;
            rnd[j] = (unsigned char) (seed >> 16);
        }

        reference_format(rnd, ref);
        helicone_uuid_v4_format(rnd, out);

        if (memcmp(out, ref, HELICONE_UUID_LEN) != 0) {
            differ++;
        }

        if (!helicone_uuid_valid(out, HELICONE_UUID_LEN) || out[14] != '4') {
            bad++;
        }

        for (j = 0; j < HELICONE_UUID_LEN; j++) {
            if (out[j] >= 'A' && out[j] <= 'F') {
                bad++;
            }
        }
    }

    is_int(bad, 0, "10000 random ids are valid, version 4, lower case");
    is_int(differ, 0, "  the same text as printf's, byte by byte");
}


static void
test_valid(void)
{
    size_t  i;

    static const char  *good[] = {
        "123e4567-e89b-12d3-a456-426614174000",
        "00000000-0000-4000-8000-000000000000",
        "f47ac10b-58cc-4372-a567-0e02b2c3d479",
        "F47AC10B-58CC-4372-A567-0E02B2C3D479",
        "f47ac10b-58cc-5372-9567-0e02b2c3d479",
        "f47ac10b-58cc-3372-b567-0e02b2c3d479",
        "f47ac10b-58cc-2372-B567-0e02b2c3d479",
        "f47ac10b-58cc-4372-A567-0e02b2c3d479",
    };

    static const char  *bad[] = {
        "",
        "f47ac10b-58cc-4372-a567-0e02b2c3d47",
        "f47ac10b-58cc-4372-a567-0e02b2c3d4790",
        "f47ac10b58cc4372a5670e02b2c3d479",
        "f47ac10b-58cc-0372-a567-0e02b2c3d479",
        "f47ac10b-58cc-6372-a567-0e02b2c3d479",
        "f47ac10b-58cc-4372-c567-0e02b2c3d479",
        "f47ac10b-58cc-4372-7567-0e02b2c3d479",
        "f47ac10b-58cc-4372-a567-0e02b2c3d47g",
        "g47ac10b-58cc-4372-a567-0e02b2c3d479",
        "f47ac10b_58cc-4372-a567-0e02b2c3d479",
        "f47ac10b-58cc-4372-a567_0e02b2c3d479",
        "f47ac10-b58cc-4372-a567-0e02b2c3d479",
        "{47ac10b-58cc-4372-a567-0e02b2c3d47}",
        " f47ac10b-58cc-4372-a567-0e02b2c3d47",
        "f47ac10b-58cc-4372-a567-0e02b2c3d479 ",
        "------------------------------------",
    };

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ok(valid(good[i]) == 1, "valid: %s", good[i]);
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ok(valid(bad[i]) == 0, "invalid: \"%s\"", bad[i]);
    }

    ok(helicone_uuid_valid((const unsigned char *)
                           "f47ac10b-58cc-4372-a567-0e02b2c3d479\0", 37) == 0,
       "invalid: trailing NUL counted");
    ok(helicone_uuid_valid(NULL, 36) == 0, "invalid: NULL");
}


int
main(void)
{
    test_format();
    test_valid();

    return done_testing();
}
