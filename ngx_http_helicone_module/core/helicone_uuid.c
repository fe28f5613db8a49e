/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* UUIDv4 text from random bytes; Helicone-Request-Id validation. */

#include "helicone_uuid.h"


static int helicone_uuid_hex(unsigned char c);


/*
 * Each byte's two digits go to a place known in advance: no test for the
 * dashes in the loop, which runs for every request id and event id.
 */

void
helicone_uuid_v4_format(unsigned char rnd[16],
    unsigned char out[HELICONE_UUID_LEN])
{
    size_t                      i;
    unsigned char              *o;
    static const unsigned char  hex[] = "0123456789abcdef";
    static const unsigned char  at[16] = {
        0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34
    };

    rnd[6] = (unsigned char) ((rnd[6] & 0x0f) | 0x40);
    rnd[8] = (unsigned char) ((rnd[8] & 0x3f) | 0x80);

    for (i = 0; i < 16; i++) {
        o = out + at[i];
        o[0] = hex[rnd[i] >> 4];
        o[1] = hex[rnd[i] & 0x0f];
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
