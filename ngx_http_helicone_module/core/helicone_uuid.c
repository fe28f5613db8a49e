/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* UUIDv4 text from random bytes; Helicone-Request-Id validation. */

#include <string.h>

#include "helicone_uuid.h"


static int helicone_uuid_hex(unsigned char c);


/*
 * Each byte's two digits are one pair from a table, copied to a place
 * known in advance: no test for the dashes and no shift in the loop,
 * which runs for every request id and event id.
 */

void
helicone_uuid_v4_format(unsigned char rnd[16],
    unsigned char out[HELICONE_UUID_LEN])
{
    size_t                      i;
    static const unsigned char  at[16] = {
        0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34
    };
    static const unsigned char  pairs[] =
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
        "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
        "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
        "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
        "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
        "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
        "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
        "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

    rnd[6] = (unsigned char) ((rnd[6] & 0x0f) | 0x40);
    rnd[8] = (unsigned char) ((rnd[8] & 0x3f) | 0x80);

    for (i = 0; i < 16; i++) {
        memcpy(out + at[i], &pairs[rnd[i] * 2], 2);
    }

    out[8] = '-';
    out[13] = '-';
    out[18] = '-';
    out[23] = '-';
}


static int
helicone_uuid_hex(unsigned char c)
{
    return (c >= '0' && c <= '9')
           || (c >= 'a' && c <= 'f')
           || (c >= 'A' && c <= 'F');
}


int
helicone_uuid_valid(const unsigned char *s, size_t len)
{
    size_t  i;

    if (s == NULL || len != HELICONE_UUID_LEN) {
        return 0;
    }

    for (i = 0; i < HELICONE_UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return 0;
            }

            continue;
        }

        if (!helicone_uuid_hex(s[i])) {
            return 0;
        }
    }

    /* version 1 to 5; variant 10xx (RFC 4122) */

    if (s[14] < '1' || s[14] > '5') {
        return 0;
    }

    switch (s[19]) {
    case '8': case '9': case 'a': case 'b': case 'A': case 'B':
        return 1;

    default:
        return 0;
    }
}
