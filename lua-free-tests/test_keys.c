/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Tests for core/helicone_keys.c: key hash, keys file lines, compare. */

#include <stdio.h>
#include <string.h>

#include "helicone_keys.h"
#include "tap.h"


static void hex(const unsigned char *in, size_t len, char *out);
static void test_hash(void);
static int parse(const char *line, unsigned char *sha, helicone_str_t *org,
    helicone_str_t *name);
static void test_parse(void);
static void test_ct_equal(void);
static int reference_equal(const unsigned char *a, const unsigned char *b,
    size_t n);
static void test_ct_equal_lengths(void);
static void test_slot_hash(void);


#define HASH_ABC                                                              \
    "69a707f153eb7f19479a7c72b5f445195b5f83ed111425a494c71cb2de02b7fd"


static void
hex(const unsigned char *in, size_t len, char *out)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        out[2 * i] = "0123456789abcdef"[in[i] >> 4];
        out[2 * i + 1] = "0123456789abcdef"[in[i] & 0x0f];
    }

    out[2 * len] = '\0';
}


static void
test_hash(void)
{
    char           h[2 * HELICONE_SHA256_LEN + 1];
    unsigned char  out[HELICONE_SHA256_LEN];

    /* printf 'Bearer sk-helicone-abc' | sha256sum */

    helicone_key_hash((const unsigned char *) "sk-helicone-abc", 15, out);
    hex(out, sizeof(out), h);
    is_str(h, HASH_ABC, "hash of sk-helicone-abc is sha256(\"Bearer \" key)");

    /* printf 'Bearer ' | sha256sum */

    helicone_key_hash((const unsigned char *) "", 0, out);
    hex(out, sizeof(out), h);
    is_str(h,
           "35e5a9632e18bc9adad684a3eafdd297139c82b5693b7fa2a8d0efcaf024cdcf",
           "hash of the empty key");
}


static int
parse(const char *line, unsigned char *sha, helicone_str_t *org,
    helicone_str_t *name)
{
    return helicone_keys_parse_line((const unsigned char *) line,
                                    strlen(line), sha, org, name);
}


static void
test_parse(void)
{
    size_t           i;
    unsigned char    sha[HELICONE_SHA256_LEN], exp[HELICONE_SHA256_LEN];
    helicone_str_t   org, name;
    char             line[256];

    static const char  *declined[] = {
        "", " ", "\t \t", "\r", "\n", "\r\n", "#", "# comment",
        "   # indented comment", "#" HASH_ABC " org",
    };

    static const char  *errors[] = {
        HASH_ABC,
        HASH_ABC "   ",
        HASH_ABC "\r",
        "69a707f153eb7f19479a7c72b5f445195b5f83ed111425a494c71cb2de02b7f org",
        HASH_ABC "0 org",
        "69a707f153eb7f19479a7c72b5f445195b5f83ed111425a494c71cb2de02b7fg org",
        "69a707f153eb7f19479a7c72b5f445195b5f83ed111425a494c71cb2de02b7f- org",
        "0x69a707f153eb7f19479a7c72b5f445195b5f83ed111425a494c71cb2de02b7 o",
        "sk-helicone-abc org",
        ("org " HASH_ABC),
        "x",
    };

    helicone_key_hash((const unsigned char *) "sk-helicone-abc", 15, exp);

    ok(parse(HASH_ABC " org-1", sha, &org, &name) == HELICONE_OK,
       "hash and org");
    is_mem(sha, sizeof(sha), exp, sizeof(exp), "  hash decoded");
    is_mem(org.data, org.len, "org-1", 5, "  org");
    is_int(name.len, 0, "  no name");

    ok(parse("  " HASH_ABC "\t\torg-2   my key name  \r", sha, &org, &name)
       == HELICONE_OK, "white space, name with spaces, CR");
    is_mem(org.data, org.len, "org-2", 5, "  org");
    is_mem(name.data, name.len, "my key name", 11, "  name trimmed");

    ok(parse("69A707F153EB7F19479A7C72B5F445195B5F83ED111425A494C71CB2DE02B7FD"
             " 3e4b2d6f-1111-4222-8333-444455556666 prod\n",
             sha, &org, &name) == HELICONE_OK, "upper-case hex, LF");
    is_mem(sha, sizeof(sha), exp, sizeof(exp), "  hash decoded");
    is_mem(org.data, org.len, "3e4b2d6f-1111-4222-8333-444455556666", 36,
           "  org");
    is_mem(name.data, name.len, "prod", 4, "  name");

    ok(parse(HASH_ABC " org # not a comment", sha, &org, &name)
       == HELICONE_OK, "a '#' later is part of the name");
    is_mem(name.data, name.len, "# not a comment", 15, "  name");

    ok(parse(HASH_ABC " org\r\n", NULL, NULL, NULL) == HELICONE_OK,
       "outputs may be NULL");

    for (i = 0; i < sizeof(declined) / sizeof(declined[0]); i++) {
        is_int(parse(declined[i], sha, &org, &name), HELICONE_DECLINED,
               "declined line");
    }

    for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
        snprintf(line, sizeof(line), "error line: %s", errors[i]);
        is_int(parse(errors[i], sha, &org, &name), HELICONE_ERROR, line);
    }

    is_int(helicone_keys_parse_line((const unsigned char *)
                                    HASH_ABC " o\0rg", 69, sha, &org, &name),
           HELICONE_OK, "NUL inside the org is no separator");
    is_int(org.len, 4, "  org keeps the NUL");

    is_int(helicone_keys_parse_line((const unsigned char *) HASH_ABC " org",
                                    40, sha, &org, &name),
           HELICONE_ERROR, "length bounds the line");
}


static void
test_ct_equal(void)
{
    unsigned char  a[HELICONE_SHA256_LEN], b[HELICONE_SHA256_LEN];

    memset(a, 0x5a, sizeof(a));
    memcpy(b, a, sizeof(b));

    ok(helicone_ct_equal(a, b, sizeof(a)) == 1, "equal buffers");
    b[0] ^= 1;
    ok(helicone_ct_equal(a, b, sizeof(a)) == 0, "first byte differs");
    b[0] ^= 1;
    b[31] ^= 0x80;
    ok(helicone_ct_equal(a, b, sizeof(a)) == 0, "last byte differs");
    ok(helicone_ct_equal(a, b, 31) == 1, "length bounds the compare");
    ok(helicone_ct_equal(a, b, 0) == 1, "zero length is equal");
}


static int
reference_equal(const unsigned char *a, const unsigned char *b, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            return 0;
        }
    }

    return 1;
}


/* the word-wide compare against a byte loop: every length, byte and bit */

static void
test_ct_equal_lengths(void)
{
    int            bad, bit;
    size_t         n, i;
    unsigned char  a[72], b[72];

    bad = 0;

    for (i = 0; i < sizeof(a); i++) {
        a[i] = (unsigned char) (i * 37 + 11);
    }

    for (n = 0; n <= sizeof(a); n++) {
        memcpy(b, a, sizeof(b));

        if (helicone_ct_equal(a, b, n) != 1) {
            bad++;
        }

        for (i = 0; i < sizeof(a); i++) {
            for (bit = 0; bit < 8; bit++) {
                b[i] ^= (unsigned char) (1 << bit);

                if (helicone_ct_equal(a, b, n) != reference_equal(a, b, n)) {
                    diag("length %zu, byte %zu, bit %d", n, i, bit);
                    bad++;
                }

                b[i] ^= (unsigned char) (1 << bit);
            }
        }
    }

    is_int(bad, 0, "ct_equal agrees with a byte loop at every length");
}


static void
test_slot_hash(void)
{
    int            bad, max, min;
    char           key[64];
    size_t         n, i;
    uint64_t       h;
    unsigned int   k, slots[64];
    unsigned char  buf[80];

    /* every byte of keys of every length moves the hash */

    bad = 0;

    for (i = 0; i < sizeof(buf); i++) {
        buf[i] = (unsigned char) ('a' + i % 26);
    }

    for (n = 1; n <= sizeof(buf); n++) {
        h = helicone_key_slot_hash(buf, n);

        if (h != helicone_key_slot_hash(buf, n)) {
            bad++;
        }

        for (i = 0; i < n; i++) {
            buf[i] ^= 0x01;

            if (helicone_key_slot_hash(buf, n) == h) {
                diag("length %zu, byte %zu left the hash as it was", n, i);
                bad++;
            }

            buf[i] ^= 0x01;
        }
    }

    is_int(bad, 0, "every byte of a key counts in its slot hash");

    /* keys that differ in a digit or two spread over a memo's 64 slots */

    memset(slots, 0, sizeof(slots));

    for (k = 0; k < 6400; k++) {
        n = (size_t) snprintf(key, sizeof(key), "sk-helicone-test-key-%u", k);
        slots[helicone_key_slot_hash((unsigned char *) key, n) & 63]++;
    }

    min = 6400;
    max = 0;

    for (i = 0; i < 64; i++) {
        min = (int) slots[i] < min ? (int) slots[i] : min;
        max = (int) slots[i] > max ? (int) slots[i] : max;
    }

    ok(min > 50 && max < 150, "6400 keys over 64 slots: %d to %d a slot",
       min, max);
}


/* the value the key hash falls back to must never match */
static void
test_zero_hash(void)
{
    unsigned char   sha[HELICONE_SHA256_LEN];
    helicone_str_t  org, name;

    is_int(parse("00000000000000000000000000000000"
                 "00000000000000000000000000000000 org", sha, &org, &name),
           HELICONE_ERROR, "an all-zero hash is refused");
}


int
main(void)
{
    test_hash();
    test_parse();
    test_zero_hash();
    test_ct_equal();
    test_ct_equal_lengths();
    test_slot_hash();

    return done_testing();
}
