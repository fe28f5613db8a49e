/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Tests for core/helicone_core.h: the caseless compare. */

#include <stdlib.h>
#include <string.h>

#include "helicone_core.h"
#include "tap.h"


static int reference_caseless_eq(const unsigned char *a,
    const unsigned char *b, size_t n);
static void test_caseless_bytes(void);
static void test_caseless_strings(void);


/* ngx_strncasecmp()'s rule, byte by byte: fold A-Z, then compare */

static int
reference_caseless_eq(const unsigned char *a, const unsigned char *b,
    size_t n)
{
    size_t         i;
    unsigned char  c1, c2;

    for (i = 0; i < n; i++) {
        c1 = a[i];
        c2 = b[i];

        c1 = (c1 >= 'A' && c1 <= 'Z') ? (c1 | 0x20) : c1;
        c2 = (c2 >= 'A' && c2 <= 'Z') ? (c2 | 0x20) : c2;

        if (c1 != c2) {
            return 0;
        }
    }

    return 1;
}


/* every pair of bytes but NUL, both ways */

static void
test_caseless_bytes(void)
{
    int            a, b, bad;
    unsigned char  x, y;

    bad = 0;

    for (a = 1; a < 256; a++) {
        for (b = 1; b < 256; b++) {
            x = (unsigned char) a;
            y = (unsigned char) b;

            if (helicone_caseless_eq(&x, &y, 1)
                != reference_caseless_eq(&x, &y, 1))
            {
                diag("bytes 0x%02x 0x%02x", a, b);
                bad++;
            }
        }
    }

    is_int(bad, 0, "every byte pair as ngx_strncasecmp() sees it");
}


static void
test_caseless_strings(void)
{
    int            i, bad;
    size_t         j, n;
    unsigned char  a[32], b[32];

    static const char  alphabet[] = "aAzZ-_@[`{09 \x80\xc1\xe1";

    ok(helicone_caseless_eq((const unsigned char *) "Content-Length",
                            (const unsigned char *) "content-length", 14),
       "Content-Length is content-length");
    ok(!helicone_caseless_eq((const unsigned char *) "Content-Length",
                             (const unsigned char *) "content-lengti", 14),
       "the last byte counts");
    ok(helicone_caseless_eq((const unsigned char *) "x", (const unsigned char *)
                            "y", 0),
       "zero length is equal");

    /* random strings over bytes near the case bit's edges */

    srand(16);
    bad = 0;

    for (i = 0; i < 200000; i++) {
        n = (size_t) (rand() % 20);

        for (j = 0; j < n; j++) {
            a[j] = (unsigned char) alphabet[rand() % (sizeof(alphabet) - 1)];
            b[j] = (rand() % 2) ? a[j] ^ 0x20
                                : (unsigned char)
                                  alphabet[rand() % (sizeof(alphabet) - 1)];
        }

        if (helicone_caseless_eq(a, b, n) != reference_caseless_eq(a, b, n)) {
            bad++;
        }
    }

    is_int(bad, 0, "random strings as ngx_strncasecmp() sees them");
}


int
main(void)
{
    test_caseless_bytes();
    test_caseless_strings();

    return done_testing();
}
