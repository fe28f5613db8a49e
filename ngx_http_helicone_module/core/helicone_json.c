/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* JSON validation, lookup by span, string decoding and escaping. */

#include <string.h>

#include "helicone_json.h"

#if (defined __SSE2__ && defined __GNUC__)
#include <emmintrin.h>
#define HELICONE_JSON_SSE2  1
#else
#define HELICONE_JSON_SSE2  0
#endif

/* SSSE3's byte shuffle, in functions of their own, where the CPU has it
 * (HELICONE_JSON_NO_SSSE3: never, for the unit tests of the SSE2 path) */
#if (HELICONE_JSON_SSE2 && defined __x86_64__                                \
     && !defined HELICONE_JSON_NO_SSSE3)
#include <tmmintrin.h>
#define HELICONE_JSON_SSSE3  1
#else
#define HELICONE_JSON_SSSE3  0
#endif


#define HELICONE_JSON_FFFD_ESCAPE_LEN  6


static const unsigned char *helicone_json_find(const unsigned char *p,
    const unsigned char *end, const char *s, size_t n);
static const unsigned char *helicone_json_ws(const unsigned char *p,
    const unsigned char *end);
static int helicone_json_not_null_after(const unsigned char *p,
    const unsigned char *end);
static int helicone_json_key_at(const unsigned char *q,
    const unsigned char *end, const helicone_str_t *names, size_t n);
static int helicone_json_may_have_pair(const unsigned char *p, size_t len,
    const helicone_str_t *names, size_t n);
#if (HELICONE_JSON_SSE2)
static inline unsigned int helicone_json_unplain_v(__m128i v);
static inline unsigned int helicone_json_pair_window(const unsigned char *p,
    size_t nl, __m128i lead0, __m128i lead1);
#endif
static size_t helicone_json_utf8_len(const unsigned char *p,
    const unsigned char *end);
static int helicone_json_hex4(const unsigned char *p, const unsigned char *end,
    uint32_t *cp);
static const unsigned char *helicone_json_scan_string(const unsigned char *p,
    const unsigned char *end);
static const unsigned char *helicone_json_scan_rest(const unsigned char *p,
    const unsigned char *end);
static const unsigned char *helicone_json_scan_number(const unsigned char *p,
    const unsigned char *end);
static const unsigned char *helicone_json_scan_literal(const unsigned char *p,
    const unsigned char *end);
static const unsigned char *helicone_json_scan_key(const unsigned char *p,
    const unsigned char *end, const unsigned char **key,
    const unsigned char **key_end, int *escaped);
static inline helicone_json_type_e helicone_json_type(unsigned char c);
static const unsigned char *helicone_json_skip_string(const unsigned char *p,
    const unsigned char *end);
static const unsigned char *helicone_json_skip(const unsigned char *p,
    const unsigned char *end);
static int helicone_json_validate(const unsigned char *p, size_t len,
    helicone_json_value_t *root, const helicone_str_t *names, size_t n,
    helicone_json_value_t *out, const unsigned char **rest);
static void helicone_json_absent(helicone_json_value_t *out, size_t n);
static size_t helicone_json_name_index(const unsigned char *key, size_t len,
    int escaped, const helicone_str_t *names, size_t n);
static int helicone_json_string_body(const helicone_json_value_t *v,
    const unsigned char **start, const unsigned char **end);
static size_t helicone_json_decode_char(const unsigned char **pp,
    const unsigned char *end, unsigned char out[4]);
static size_t helicone_json_utf8_put(uint32_t cp, unsigned char out[4]);
static size_t helicone_json_escape_char(const unsigned char **pp,
    const unsigned char *end, unsigned char *dst);
static size_t helicone_json_copy_plain(unsigned char *dst,
    const unsigned char *src, size_t len);
#if (HELICONE_JSON_SSE2)
static unsigned char *helicone_json_escape_sse2(unsigned char *dst,
    const unsigned char *end, const unsigned char **pp,
    const unsigned char *last);
#endif
#if (HELICONE_JSON_SSSE3)
static int helicone_json_ssse3(void);
static unsigned char *helicone_json_escape_ssse3(unsigned char *dst,
    const unsigned char *end, const unsigned char **pp,
    const unsigned char *last);
#endif
static unsigned char *helicone_json_compact_value(
    const helicone_json_value_t *v, unsigned char *out);


static const unsigned char  helicone_json_hex_digits[] = "0123456789abcdef";


/* 1 for the bytes a JSON string holds as they are: printable ASCII but
 * the quote and the backslash */

static const unsigned char  helicone_json_plain[256] = {
#define P(c) ((c) >= 0x20 && (c) < 0x7f && (c) != '"' && (c) != '\\')
#define P8(c) P(c), P(c + 1), P(c + 2), P(c + 3), P(c + 4), P(c + 5),         \
              P(c + 6), P(c + 7)
    P8(0x00), P8(0x08), P8(0x10), P8(0x18), P8(0x20), P8(0x28), P8(0x30),
    P8(0x38), P8(0x40), P8(0x48), P8(0x50), P8(0x58), P8(0x60), P8(0x68),
    P8(0x70), P8(0x78)
#undef P8
#undef P
};


/*
 * What skip() sees in a byte, one look-up where a byte took up to seven
 * compares: the end of a number or literal (a comma, white space, and a
 * closing bracket, which also closes a container), a quote, an opening
 * bracket; 0 for the rest.
 */

#define HELICONE_JSON_END    0x01
#define HELICONE_JSON_CLOSE  0x03
#define HELICONE_JSON_QUOTE  0x04
#define HELICONE_JSON_OPEN   0x08

static const unsigned char  helicone_json_skip_class[256] = {
    ['\t'] = HELICONE_JSON_END, ['\n'] = HELICONE_JSON_END,
    ['\r'] = HELICONE_JSON_END, [' '] = HELICONE_JSON_END,
    [','] = HELICONE_JSON_END, ['"'] = HELICONE_JSON_QUOTE,
    ['{'] = HELICONE_JSON_OPEN, ['['] = HELICONE_JSON_OPEN,
    ['}'] = HELICONE_JSON_CLOSE, [']'] = HELICONE_JSON_CLOSE
};


/*
 * Eight bytes at once: helicone_json_unplain() is nonzero when the word
 * has a control byte, quote, backslash, DEL or non-ASCII byte, and its
 * lowest flagged byte is the first such byte (the subtractions only
 * borrow, and the addition only carries, out of a byte that is flagged
 * itself, so a plain byte below the first hit is never flagged). On a
 * little-endian machine the count of trailing zero bits finds that byte
 * without a byte loop.
 */

#define HELICONE_JSON_ONES   0x0101010101010101ULL
#define HELICONE_JSON_HIGHS  0x8080808080808080ULL

#if (defined __GNUC__ && defined __BYTE_ORDER__                               \
     && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)
#define HELICONE_JSON_WORD_INDEX  1
#define helicone_json_first_flagged(flags)                                    \
    ((size_t) __builtin_ctzll(flags) >> 3)
#else
#define HELICONE_JSON_WORD_INDEX  0
#endif


static inline uint64_t
helicone_json_unplain(uint64_t x)
{
    uint64_t  q, b;

    q = x ^ (HELICONE_JSON_ONES * '"');
    b = x ^ (HELICONE_JSON_ONES * '\\');

    return (((x - HELICONE_JSON_ONES * 0x20) & ~x)    /* < 0x20 */
            | ((x + HELICONE_JSON_ONES) | x)          /* >= 0x7f */
            | ((q - HELICONE_JSON_ONES) & ~q)         /* '"' */
            | ((b - HELICONE_JSON_ONES) & ~b))        /* '\\' */
           & HELICONE_JSON_HIGHS;
}


#if (HELICONE_JSON_SSE2)

/* a bit for each of the 16 bytes at p that is not plain */

static inline unsigned int
helicone_json_unplain16(const unsigned char *p)
{
    return helicone_json_unplain_v(_mm_loadu_si128((const __m128i *) p));
}


/* the same of 16 bytes already loaded */

static inline unsigned int
helicone_json_unplain_v(__m128i v)
{
    /* signed, one added: below 0x21 are the control bytes, DEL (which
     * wraps to -128) and every byte from 0x80 (negative, or 0 for 0xff) */
    return (unsigned int) _mm_movemask_epi8(
               _mm_or_si128(
                   _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                   _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8(1)),
                                  _mm_set1_epi8(0x21))));
}

#endif


/*
 * The first place at or after p where the n bytes of s (n >= 2) stand,
 * or NULL. Candidates are the places where both the first and the last
 * byte of s stand, 16 at a time: two letters at a fixed distance are
 * rare in a chunk, where a single letter (memchr()) is everywhere and
 * glibc's memmem() takes several instructions a byte.
 */

static const unsigned char *
helicone_json_find(const unsigned char *p, const unsigned char *end,
    const char *s, size_t n)
{
#if (HELICONE_JSON_SSE2)
    __m128i       first, last;
    unsigned int  mask;

    first = _mm_set1_epi8(s[0]);
    last = _mm_set1_epi8(s[n - 1]);

    while ((size_t) (end - p) >= 16 + n - 1) {
        mask = (unsigned int) _mm_movemask_epi8(
                   _mm_and_si128(
                       _mm_cmpeq_epi8(
                           _mm_loadu_si128((const __m128i *) p), first),
                       _mm_cmpeq_epi8(
                           _mm_loadu_si128((const __m128i *) (p + n - 1)),
                           last)));

        while (mask) {
            if (memcmp(p + __builtin_ctz(mask) + 1, s + 1, n - 2) == 0) {
                return p + __builtin_ctz(mask);
            }

            mask &= mask - 1;
        }

        p += 16;
    }
#endif

    while ((size_t) (end - p) >= n) {
        if (p[0] == (unsigned char) s[0] && p[n - 1] == (unsigned char) s[n - 1]
            && memcmp(p + 1, s + 1, n - 2) == 0)
        {
            return p;
        }

        p++;
    }

    return NULL;
}


/* The first byte at or after p that is not plain, or end. */

static inline const unsigned char *
helicone_json_plain_end(const unsigned char *p, const unsigned char *end)
{
    uint64_t      x, flags;
#if (HELICONE_JSON_SSE2)
    unsigned int  mask;

    while (end - p >= 16) {
        mask = helicone_json_unplain16(p);

        if (mask) {
            return p + __builtin_ctz(mask);
        }

        p += 16;
    }
#endif

    while (end - p >= 8) {
        memcpy(&x, p, 8);

        flags = helicone_json_unplain(x);

        if (flags) {
#if (HELICONE_JSON_WORD_INDEX)
            return p + helicone_json_first_flagged(flags);
#else
            break;
#endif
        }

        p += 8;
    }

    while (p < end && helicone_json_plain[*p]) {
        p++;
    }

    return p;
}


static const unsigned char *
helicone_json_ws(const unsigned char *p, const unsigned char *end)
{
    /* compact text has none: one test */
    if (p < end && *p > ' ') {
        return p;
    }

    while (p < end
           && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
    {
        p++;
    }

    return p;
}


/*
 * The length of the well-formed UTF-8 sequence at p (1 to 4), or 0 when
 * the bytes there are no such sequence: overlong forms, UTF-16
 * surrogates and code points above U+10FFFF are refused (RFC 3629).
 */

static size_t
helicone_json_utf8_len(const unsigned char *p, const unsigned char *end)
{
    size_t         n, i;
    unsigned char  c, lo, hi;

    c = p[0];

    if (c < 0x80) {
        return 1;
    }

    lo = 0x80;
    hi = 0xbf;

    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;

        if (c == 0xe0) {
            lo = 0xa0;

        } else if (c == 0xed) {
            hi = 0x9f;
        }

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;

        if (c == 0xf0) {
            lo = 0x90;

        } else if (c == 0xf4) {
            hi = 0x8f;
        }

    } else {
        return 0;
    }

    if ((size_t) (end - p) < n) {
        return 0;
    }

    if (p[1] < lo || p[1] > hi) {
        return 0;
    }

    for (i = 2; i < n; i++) {
        if (p[i] < 0x80 || p[i] > 0xbf) {
            return 0;
        }
    }

    return n;
}


static int
helicone_json_hex4(const unsigned char *p, const unsigned char *end,
    uint32_t *cp)
{
    int       d;
    size_t    i;
    uint32_t  v;

    if (end - p < 4) {
        return HELICONE_ERROR;
    }

    v = 0;

    for (i = 0; i < 4; i++) {
        d = helicone_hex(p[i]);

        if (d < 0) {
            return HELICONE_ERROR;
        }

        v = (v << 4) | (uint32_t) d;
    }

    *cp = v;

    return HELICONE_OK;
}


/*
 * p is at the opening quote; returns the byte after the closing one.
 * A short plain string (a member name, a word) ends at its first byte
 * that is not plain, seen in one look at 16 bytes without the call of
 * the full scan.
 */

static inline const unsigned char *
helicone_json_scan_string(const unsigned char *p, const unsigned char *end)
{
#if (HELICONE_JSON_SSE2)
    unsigned int  mask;

    if (end - p > 16) {
        mask = helicone_json_unplain16(p + 1);

        if (mask == 0) {
            return helicone_json_scan_rest(p + 17, end);
        }

        p += 1 + __builtin_ctz(mask);

        if (*p == '"') {
            return p + 1;
        }

        return helicone_json_scan_rest(p, end);
    }
#endif

    return helicone_json_scan_rest(p + 1, end);
}


/* the rest of a string from p, inside it: the byte after its end */

static const unsigned char *
helicone_json_scan_rest(const unsigned char *p, const unsigned char *end)
{
    size_t         n;
    uint32_t       cp;
    unsigned char  c;

    for ( ;; ) {
        /* most of a string: printable ASCII, no escapes */
        p = helicone_json_plain_end(p, end);

        if (p == end) {
            return NULL;
        }

        c = *p;

        if (c == '"') {
            return p + 1;
        }

        if (c < 0x20) {
            return NULL;
        }

        if (c == '\\') {
            p++;

            if (p == end) {
                return NULL;
            }

            switch (*p) {
            case '"': case '\\': case '/': case 'b':
            case 'f': case 'n': case 'r': case 't':
                p++;
                break;

            case 'u':
                if (helicone_json_hex4(p + 1, end, &cp) != HELICONE_OK) {
                    return NULL;
                }

                p += 5;
                break;

            default:
                return NULL;
            }

            continue;
        }

        if (c == 0x7f) {
            p++;
            continue;
        }

        n = helicone_json_utf8_len(p, end);

        if (n == 0) {
            return NULL;
        }

        p += n;
    }
}


/* The RFC 8259 number grammar, exactly. */

static const unsigned char *
helicone_json_scan_number(const unsigned char *p, const unsigned char *end)
{
    if (p < end && *p == '-') {
        p++;
    }

    if (p == end) {
        return NULL;
    }

    if (*p == '0') {
        p++;

    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }

    } else {
        return NULL;
    }

    if (p < end && *p == '.') {
        p++;

        if (p == end || *p < '0' || *p > '9') {
            return NULL;
        }

        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;

        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == end || *p < '0' || *p > '9') {
            return NULL;
        }

        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    return p;
}


static const unsigned char *
helicone_json_scan_literal(const unsigned char *p, const unsigned char *end)
{
    size_t       n;
    const char  *lit;

    switch (*p) {
    case 't':
        lit = "true";
        break;

    case 'f':
        lit = "false";
        break;

    default:
        lit = "null";
        break;
    }

    n = strlen(lit);

    if ((size_t) (end - p) < n || memcmp(p, lit, n) != 0) {
        return NULL;
    }

    return p + n;
}


/*
 * A member name and its colon; returns where the member value starts,
 * *key and *key_end span the quoted name, *escaped is 0 when the name is
 * known to hold no escape (1: it may).
 */

static const unsigned char *
helicone_json_scan_key(const unsigned char *p, const unsigned char *end,
    const unsigned char **key, const unsigned char **key_end, int *escaped)
{
#if (HELICONE_JSON_SSE2)
    unsigned int          mask;
    const unsigned char  *q;
#endif

    p = helicone_json_ws(p, end);

    if (p == end || *p != '"') {
        return NULL;
    }

    *key = p;
    *escaped = 1;

#if (HELICONE_JSON_SSE2)

    /* most names: their closing quote the first byte not plain */

    for (q = p + 1; end - q >= 16; q += 16) {
        mask = helicone_json_unplain16(q);

        if (mask) {
            q += __builtin_ctz(mask);

            if (*q == '"') {
                *escaped = 0;
                p = q + 1;
                goto colon;
            }

            /* an escape or a byte from 0x80: the full scan */
            break;
        }
    }

#endif

    p = helicone_json_scan_string(p, end);

    if (p == NULL) {
        return NULL;
    }

#if (HELICONE_JSON_SSE2)
colon:
#endif

    *key_end = p;

    if (p < end && *p == ':') {
        return p + 1;
    }

    p = helicone_json_ws(p, end);

    if (p == end || *p != ':') {
        return NULL;
    }

    return p + 1;
}


static inline helicone_json_type_e
helicone_json_type(unsigned char c)
{
    switch (c) {
    case '{':
        return HELICONE_JSON_OBJECT;
    case '[':
        return HELICONE_JSON_ARRAY;
    case '"':
        return HELICONE_JSON_STRING;
    case 't':
        return HELICONE_JSON_TRUE;
    case 'f':
        return HELICONE_JSON_FALSE;
    case 'n':
        return HELICONE_JSON_NULL;
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            return HELICONE_JSON_NUMBER;
        }

        return HELICONE_JSON_INVALID;
    }
}


/*
 * The containers still open are kept in a fixed stack, so the depth
 * limit also bounds the memory used and no recursion is needed.
 */

int
helicone_json_parse(const unsigned char *p, size_t len,
    helicone_json_value_t *root)
{
    return helicone_json_validate(p, len, root, NULL, 0, NULL, NULL);
}


int
helicone_json_parse_pick(const unsigned char *p, size_t len,
    helicone_json_value_t *root, const helicone_str_t *names, size_t n,
    helicone_json_value_t *out)
{
    if (helicone_json_validate(p, len, root, names, n, out, NULL)
        == HELICONE_OK)
    {
        return HELICONE_OK;
    }

    /* what an invalid document seemed to hold is not given out */

    helicone_json_absent(out, n);

    return HELICONE_ERROR;
}


int
helicone_json_pick_members(const unsigned char *p, size_t len,
    helicone_json_value_t *root, const helicone_str_t *names, size_t n,
    size_t checked, helicone_json_value_t *out)
{
    int                   escaped;
    size_t                member;
    const unsigned char  *end, *start, *key, *key_end, *v;

    helicone_json_absent(out, n);

    if (p == NULL) {
        return HELICONE_ERROR;
    }

    end = p + len;
    start = helicone_json_ws(p, end);

    if (start == end || *start != '{') {
        return HELICONE_ERROR;
    }

    p = helicone_json_ws(start + 1, end);

    if (p < end && *p == '}') {
        p++;
        goto done;
    }

    for ( ;; ) {
        p = helicone_json_scan_key(p, end, &key, &key_end, &escaped);

        if (p == NULL) {
            goto failed;
        }

        v = helicone_json_ws(p, end);
        member = helicone_json_name_index(key, key_end - key, escaped, names,
                                          n);

        if (member < checked) {
            if (helicone_json_validate(v, end - v, NULL, NULL, 0, NULL, &p)
                != HELICONE_OK)
            {
                goto failed;
            }

        } else {
            /* any value, by its quotes and brackets: never past end */
            p = helicone_json_skip(v, end);

            if (p == v) {
                goto failed;
            }
        }

        if (member < n) {
            /* the last of duplicates, as the validator's pick */
            out[member].type = helicone_json_type(*v);
            out[member].start = v;
            out[member].len = p - v;
        }

        p = helicone_json_ws(p, end);

        if (p == end) {
            goto failed;
        }

        if (*p == '}') {
            p++;
            break;
        }

        if (*p++ != ',') {
            goto failed;
        }
    }

done:

    if (helicone_json_ws(p, end) != end) {
        goto failed;
    }

    if (root) {
        root->type = HELICONE_JSON_OBJECT;
        root->start = start;
        root->len = p - start;
    }

    return HELICONE_OK;

failed:

    /* what a broken text seemed to hold is not given out */
    helicone_json_absent(out, n);

    return HELICONE_ERROR;
}


/*
 * The validator, which also notes the root object's members named in
 * names as it passes them: the value of the member named by the last key
 * at depth 1 (member < n) is stored when it ends. With rest, the value
 * may be followed by anything: *rest is where it ended.
 */

static int
helicone_json_validate(const unsigned char *p, size_t len,
    helicone_json_value_t *root, const helicone_str_t *names, size_t n,
    helicone_json_value_t *out, const unsigned char **rest)
{
    int                   escaped;
    size_t                depth, member;
    unsigned char         c, cl, stack[HELICONE_JSON_MAX_DEPTH];
    const unsigned char  *end, *start, *key, *key_end, *value;

    helicone_json_absent(out, n);

    if (p == NULL) {
        return HELICONE_ERROR;
    }

    end = p + len;
    depth = 0;
    member = n;
    value = NULL;

    p = helicone_json_ws(p, end);
    start = p;

    for ( ;; ) {

        /* a value is expected at p */

        p = helicone_json_ws(p, end);

        if (p == end) {
            return HELICONE_ERROR;
        }

        if (member < n && depth == 1) {
            value = p;
        }

        c = *p;

        switch (c) {

        case '{':
        case '[':
            if (depth == HELICONE_JSON_MAX_DEPTH) {
                return HELICONE_ERROR;
            }

            /* the byte that closes it */
            stack[depth++] = (c == '{') ? '}' : ']';

            p = helicone_json_ws(p + 1, end);

            if (p == end) {
                return HELICONE_ERROR;
            }

            if (*p == stack[depth - 1]) {
                p++;
                depth--;
                break;
            }

            if (c == '{') {
                p = helicone_json_scan_key(p, end, &key, &key_end,
                                           &escaped);

                if (p == NULL) {
                    return HELICONE_ERROR;
                }

                if (n && depth == 1) {
                    member = helicone_json_name_index(key, key_end - key,
                                                      escaped, names, n);
                }
            }

            continue;

        case '"':
            p = helicone_json_scan_string(p, end);
            break;

        case 't':
        case 'f':
        case 'n':
            p = helicone_json_scan_literal(p, end);
            break;

        default:
            p = helicone_json_scan_number(p, end);
            break;
        }

        if (p == NULL) {
            return HELICONE_ERROR;
        }

        /* a value ended: close containers until another value is due */

        for ( ;; ) {
            if (value && depth == 1) {
                /* a root member's value ends here */
                out[member].type = helicone_json_type(*value);
                out[member].start = value;
                out[member].len = p - value;
                value = NULL;
            }

            if (depth == 0) {
                goto done;
            }

            p = helicone_json_ws(p, end);

            if (p == end) {
                return HELICONE_ERROR;
            }

            cl = stack[depth - 1];

            if (*p == cl) {
                p++;
                depth--;
                continue;
            }

            if (*p != ',') {
                return HELICONE_ERROR;
            }

            p++;

            if (cl == '}') {
                p = helicone_json_scan_key(p, end, &key, &key_end,
                                           &escaped);

                if (p == NULL) {
                    return HELICONE_ERROR;
                }

                if (n && depth == 1) {
                    member = helicone_json_name_index(key, key_end - key,
                                                      escaped, names, n);
                }
            }

            break;
        }
    }

done:

    if (rest) {
        *rest = p;

    } else if (helicone_json_ws(p, end) != end) {
        return HELICONE_ERROR;
    }

    if (root) {
        root->type = helicone_json_type(*start);
        root->start = start;
        root->len = p - start;
    }

    return HELICONE_OK;
}


/* the n picked members, none found yet */

static void
helicone_json_absent(helicone_json_value_t *out, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        out[i].type = HELICONE_JSON_INVALID;
        out[i].start = NULL;
        out[i].len = 0;
    }
}


int
helicone_json_may_have(const unsigned char *p, size_t len, const char *name,
    size_t name_len)
{
    const unsigned char  *q, *start, *end;

    start = p;
    end = p + len;

    /* OpenAI's chunks carry "usage":null in every one of them once
     * usage is asked for: a key with null is no hit */

    while ((size_t) (end - p) >= name_len + 2) {
        q = helicone_json_find(p, end, name, name_len);

        if (q == NULL) {
            return 0;
        }

        p = q + name_len;

        if (q == start || p == end || q[-1] != '"' || *p != '"') {
            continue;
        }

        if (helicone_json_not_null_after(p + 1, end)) {
            return 1;
        }
    }

    return 0;
}


/*
 * may_have() for several names of one length in one pass. Candidates are
 * a quote, a first letter of a name after it and a quote after the
 * name's length, 16 places at a time: in a chat chunk that is a few keys
 * ("index", "delta"), where one letter pair per name took a pass each.
 * Names are taken two by two (one pass each pair): the two first letters
 * stay in registers.
 */

int
helicone_json_may_have_any(const unsigned char *p, size_t len,
    const helicone_str_t *names, size_t n)
{
    size_t  k;

    for (k = 0; k < n; k += 2) {
        if (helicone_json_may_have_pair(p, len, names + k,
                                        n - k > 1 ? 2 : 1))
        {
            return 1;
        }
    }

    return 0;
}


/* may_have_any() of one or two names (n) */

static int
helicone_json_may_have_pair(const unsigned char *p, size_t len,
    const helicone_str_t *names, size_t n)
{
    size_t                nl;
    const unsigned char  *end;
#if (HELICONE_JSON_SSE2)
    const unsigned char  *last, *q;
    __m128i               lead0, lead1;
    unsigned int          mask;
#endif

    end = p + len;
    nl = names[0].len;

#if (HELICONE_JSON_SSE2)

    if (len >= 16 + nl + 1) {
        lead0 = _mm_set1_epi8(names[0].data[0]);
        lead1 = _mm_set1_epi8(names[n - 1].data[0]);

        /* the last window ends at the end */
        last = end - (16 + nl + 1);

        /* two windows a turn: most chunks have a candidate or two */
        while (last - p > 16) {
            mask = helicone_json_pair_window(p, nl, lead0, lead1)
                   | helicone_json_pair_window(p + 16, nl, lead0, lead1)
                     << 16;

            for (q = p; mask; mask &= mask - 1) {
                if (helicone_json_key_at(q + __builtin_ctz(mask), end,
                                         names, n))
                {
                    return 1;
                }
            }

            p += 32;
        }

        while (p < last) {
            mask = helicone_json_pair_window(p, nl, lead0, lead1);

            for (q = p; mask; mask &= mask - 1) {
                if (helicone_json_key_at(q + __builtin_ctz(mask), end,
                                         names, n))
                {
                    return 1;
                }
            }

            p += 16;
        }

        /* less the places already looked at */
        mask = helicone_json_pair_window(last, nl, lead0, lead1)
               & (~0u << (p - last));

        for ( /* void */ ; mask; mask &= mask - 1) {
            if (helicone_json_key_at(last + __builtin_ctz(mask), end,
                                     names, n))
            {
                return 1;
            }
        }

        return 0;
    }

#endif

    while ((size_t) (end - p) >= nl + 2) {
        if (p[0] == '"' && p[nl + 1] == '"'
            && helicone_json_key_at(p, end, names, n))
        {
            return 1;
        }

        p++;
    }

    return 0;
}


#if (HELICONE_JSON_SSE2)

/* a bit for each of the 16 places at p where a candidate of may_have_pair()
 * stands: a quote, a lead letter, a quote nl places after the letter */

static inline unsigned int
helicone_json_pair_window(const unsigned char *p, size_t nl, __m128i lead0,
    __m128i lead1)
{
    __m128i  quote, v;

    quote = _mm_set1_epi8('"');
    v = _mm_loadu_si128((const __m128i *) (p + 1));

    return (unsigned int) _mm_movemask_epi8(
               _mm_and_si128(
                   _mm_and_si128(
                       _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *) p),
                                      quote),
                       _mm_cmpeq_epi8(
                           _mm_loadu_si128((const __m128i *) (p + nl + 1)),
                           quote)),
                   _mm_or_si128(_mm_cmpeq_epi8(v, lead0),
                                _mm_cmpeq_epi8(v, lead1))));
}

#endif


/*
 * At q a quote, one of names (all of one length), a quote: whether a
 * colon and another value than null follow (end may come first: a hit).
 */

static int
helicone_json_key_at(const unsigned char *q, const unsigned char *end,
    const helicone_str_t *names, size_t n)
{
    size_t  k, nl;

    nl = names[0].len;

    for (k = 0; k < n; k++) {
        if (memcmp(q + 1, names[k].data, nl) == 0) {
            return helicone_json_not_null_after(q + nl + 2, end);
        }
    }

    return 0;
}


/* After a key's closing quote: a colon, then a value other than null. */

static int
helicone_json_not_null_after(const unsigned char *p, const unsigned char *end)
{
    p = helicone_json_ws(p, end);

    if (p == end || *p != ':') {
        return 0;
    }

    p = helicone_json_ws(p + 1, end);

    return (size_t) (end - p) < 4 || memcmp(p, "null", 4) != 0;
}


size_t
helicone_json_string_index(const helicone_json_value_t *v,
    const helicone_str_t *names, size_t n)
{
    if (v == NULL || v->type != HELICONE_JSON_STRING || v->start == NULL) {
        return n;
    }

    return helicone_json_name_index(v->start, v->len, 1, names, n);
}


/*
 * Which of names the member name or string key (its text with the
 * quotes, len bytes) is: its index, or n. Text without escapes is its own
 * decoding, so bytes are compared; only text with a backslash is decoded
 * (escaped 0: the scanner saw none, not looked for again).
 */

static size_t
helicone_json_name_index(const unsigned char *key, size_t len, int escaped,
    const helicone_str_t *names, size_t n)
{
    size_t                 i, raw;
    helicone_json_value_t  k;

    if (len < 2) {
        /* never in validated text */
        return n;
    }

    raw = len - 2;

    if (!escaped || memchr(key + 1, '\\', raw) == NULL) {
        for (i = 0; i < n; i++) {
            if (raw == names[i].len
                && (raw == 0
                    || (key[1] == names[i].data[0]
                        && memcmp(key + 1, names[i].data, raw) == 0)))
            {
                return i;
            }
        }

        return n;
    }

    k.type = HELICONE_JSON_STRING;
    k.start = key;
    k.len = len;

    for (i = 0; i < n; i++) {
        if (helicone_json_string_eq(&k, (const char *) names[i].data,
                                    names[i].len))
        {
            return i;
        }
    }

    return n;
}


/*
 * The skip functions below trust validated text, but still never read
 * past end, so a bad span gives a wrong answer and no crash.
 */

/*
 * In validated text a backslash always starts a two-byte escape or
 * \uXXXX, whose last four bytes are no quote, so the string ends at the
 * first quote that no backslash escapes: on x86-64 the quotes and
 * backslashes of 16 bytes are found at once.
 */

static const unsigned char *
helicone_json_skip_string(const unsigned char *p, const unsigned char *end)
{
#if (HELICONE_JSON_SSE2)
    unsigned int  n, quotes, backslashes;
    __m128i       v;
#endif

    p++;

#if (HELICONE_JSON_SSE2)

    while (end - p >= 16) {
        v = _mm_loadu_si128((const __m128i *) p);

        quotes = (unsigned int) _mm_movemask_epi8(
                     _mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
        backslashes = (unsigned int) _mm_movemask_epi8(
                          _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));

        if (backslashes == 0
            || (quotes && __builtin_ctz(quotes) < __builtin_ctz(backslashes)))
        {
            if (quotes) {
                return p + __builtin_ctz(quotes) + 1;
            }

            p += 16;
            continue;
        }

        /* past the escape, never past end */
        n = (unsigned int) __builtin_ctz(backslashes) + 2;

        if ((size_t) (end - p) < n) {
            return end;
        }

        p += n;
    }

#endif

    while (p < end) {
        if (*p == '\\') {
            if (end - p < 2) {
                return end;
            }

            p += 2;
            continue;
        }

        if (*p == '"') {
            return p + 1;
        }

        p++;
    }

    return end;
}


static const unsigned char *
helicone_json_skip(const unsigned char *p, const unsigned char *end)
{
    size_t  depth;

    if (p == end) {
        return end;
    }

    if (*p == '"') {
        return helicone_json_skip_string(p, end);
    }

    if (*p != '{' && *p != '[') {
        while (p < end && !(helicone_json_skip_class[*p] & HELICONE_JSON_END)) {
            p++;
        }

        return p;
    }

    depth = 0;

    while (p < end) {
        switch (helicone_json_skip_class[*p]) {

        case HELICONE_JSON_QUOTE:
            p = helicone_json_skip_string(p, end);
            continue;

        case HELICONE_JSON_OPEN:
            depth++;
            break;

        case HELICONE_JSON_CLOSE:
            if (--depth == 0) {
                return p + 1;
            }

            break;
        }

        p++;
    }

    return end;
}


int
helicone_json_iter_init(helicone_json_iter_t *it,
    const helicone_json_value_t *container)
{
    if (container == NULL
        || (container->type != HELICONE_JSON_OBJECT
            && container->type != HELICONE_JSON_ARRAY)
        || container->start == NULL
        || container->len < 2)
    {
        it->pos = NULL;
        it->end = NULL;
        it->object = 0;
        it->done = 1;
        return HELICONE_ERROR;
    }

    it->pos = container->start + 1;
    it->end = container->start + container->len - 1;
    it->object = (container->type == HELICONE_JSON_OBJECT);
    it->done = 0;

    return HELICONE_OK;
}


int
helicone_json_iter_next(helicone_json_iter_t *it, helicone_json_value_t *key,
    helicone_json_value_t *value)
{
    const unsigned char  *p, *end, *k;

    if (it->done) {
        return HELICONE_DECLINED;
    }

    p = it->pos;
    end = it->end;

    p = helicone_json_ws(p, end);

    if (p < end && *p == ',') {
        p = helicone_json_ws(p + 1, end);
    }

    if (p == end) {
        it->done = 1;
        return HELICONE_DECLINED;
    }

    if (key) {
        key->type = HELICONE_JSON_INVALID;
        key->start = NULL;
        key->len = 0;
    }

    if (it->object) {
        if (*p != '"') {
            goto malformed;
        }

        k = p;
        p = helicone_json_skip_string(p, end);

        if (key) {
            key->type = HELICONE_JSON_STRING;
            key->start = k;
            key->len = p - k;
        }

        p = helicone_json_ws(p, end);

        if (p == end || *p != ':') {
            goto malformed;
        }

        p = helicone_json_ws(p + 1, end);
    }

    if (p == end || helicone_json_type(*p) == HELICONE_JSON_INVALID) {
        goto malformed;
    }

    k = p;
    p = helicone_json_skip(p, end);

    if (value) {
        value->type = helicone_json_type(*k);
        value->start = k;
        value->len = p - k;
    }

    it->pos = p;

    return HELICONE_OK;

malformed:

    it->done = 1;

    return HELICONE_ERROR;
}


int
helicone_json_object_get(const helicone_json_value_t *obj, const char *name,
    size_t name_len, helicone_json_value_t *out)
{
    int                    found;
    helicone_json_iter_t   it;
    helicone_json_value_t  k, v;

    if (obj == NULL || obj->type != HELICONE_JSON_OBJECT) {
        return HELICONE_ERROR;
    }

    if (helicone_json_iter_init(&it, obj) != HELICONE_OK) {
        return HELICONE_ERROR;
    }

    found = 0;

    while (helicone_json_iter_next(&it, &k, &v) == HELICONE_OK) {
        if (helicone_json_string_eq(&k, name, name_len)) {
            if (out) {
                *out = v;
            }

            found = 1;
        }
    }

    return found ? HELICONE_OK : HELICONE_DECLINED;
}


int
helicone_json_object_pick(const helicone_json_value_t *obj,
    const helicone_str_t *names, size_t n, helicone_json_value_t *out)
{
    size_t                 i;
    helicone_json_iter_t   it;
    helicone_json_value_t  k, v;

    helicone_json_absent(out, n);

    if (obj == NULL || obj->type != HELICONE_JSON_OBJECT
        || helicone_json_iter_init(&it, obj) != HELICONE_OK)
    {
        return HELICONE_ERROR;
    }

    while (helicone_json_iter_next(&it, &k, &v) == HELICONE_OK) {
        i = helicone_json_name_index(k.start, k.len, 1, names, n);

        if (i < n) {
            out[i] = v;
        }
    }

    return HELICONE_OK;
}


/*
 * HELICONE_ERROR only when root is no object; a path running into
 * something other than an object is merely absent: HELICONE_DECLINED.
 */

int
helicone_json_path_get(const helicone_json_value_t *root, const char *path,
    helicone_json_value_t *out)
{
    int                    rc;
    const char            *dot;
    helicone_json_value_t  cur, next;

    if (root == NULL || path == NULL || root->type != HELICONE_JSON_OBJECT) {
        return HELICONE_ERROR;
    }

    cur = *root;

    for ( ;; ) {
        if (cur.type != HELICONE_JSON_OBJECT) {
            return HELICONE_DECLINED;
        }

        dot = strchr(path, '.');

        rc = helicone_json_object_get(&cur, path,
                                      dot ? (size_t) (dot - path)
                                          : strlen(path),
                                      &next);
        if (rc != HELICONE_OK) {
            return HELICONE_DECLINED;
        }

        cur = next;

        if (dot == NULL) {
            break;
        }

        path = dot + 1;
    }

    if (out) {
        *out = cur;
    }

    return HELICONE_OK;
}


static int
helicone_json_string_body(const helicone_json_value_t *v,
    const unsigned char **start, const unsigned char **end)
{
    if (v == NULL
        || v->type != HELICONE_JSON_STRING
        || v->start == NULL
        || v->len < 2
        || v->start[0] != '"'
        || v->start[v->len - 1] != '"')
    {
        return HELICONE_ERROR;
    }

    *start = v->start + 1;
    *end = v->start + v->len - 1;

    return HELICONE_OK;
}


static size_t
helicone_json_utf8_put(uint32_t cp, unsigned char out[4])
{
    if (cp < 0x80) {
        out[0] = (unsigned char) cp;
        return 1;
    }

    if (cp < 0x800) {
        out[0] = (unsigned char) (0xc0 | (cp >> 6));
        out[1] = (unsigned char) (0x80 | (cp & 0x3f));
        return 2;
    }

    if (cp < 0x10000) {
        out[0] = (unsigned char) (0xe0 | (cp >> 12));
        out[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
        out[2] = (unsigned char) (0x80 | (cp & 0x3f));
        return 3;
    }

    out[0] = (unsigned char) (0xf0 | (cp >> 18));
    out[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
    out[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
    out[3] = (unsigned char) (0x80 | (cp & 0x3f));
    return 4;
}


/*
 * Decodes the next character of a string body into out, advancing *pp;
 * never produces more bytes than it consumes.
 */

static size_t
helicone_json_decode_char(const unsigned char **pp, const unsigned char *end,
    unsigned char out[4])
{
    uint32_t              cp, lo;
    const unsigned char  *p;

    p = *pp;

    if (*p != '\\' || end - p < 2) {
        out[0] = *p;
        *pp = p + 1;
        return 1;
    }

    switch (p[1]) {
    case 'b':
        out[0] = '\b';
        break;
    case 'f':
        out[0] = '\f';
        break;
    case 'n':
        out[0] = '\n';
        break;
    case 'r':
        out[0] = '\r';
        break;
    case 't':
        out[0] = '\t';
        break;

    case 'u':
        if (helicone_json_hex4(p + 2, end, &cp) != HELICONE_OK) {
            out[0] = '\\';
            *pp = p + 1;
            return 1;
        }

        p += 6;

        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (end - p >= 6 && p[0] == '\\' && p[1] == 'u'
                && helicone_json_hex4(p + 2, end, &lo) == HELICONE_OK
                && lo >= 0xdc00 && lo <= 0xdfff)
            {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;

            } else {
                cp = 0xfffd;
            }

        } else if (cp >= 0xdc00 && cp <= 0xdfff) {
            cp = 0xfffd;
        }

        *pp = p;

        return helicone_json_utf8_put(cp, out);

    default:
        /* '"', '\\', '/' stand for themselves */
        out[0] = p[1];
        break;
    }

    *pp = p + 2;

    return 1;
}


size_t
helicone_json_string_decode(const helicone_json_value_t *v,
    unsigned char *dst)
{
    size_t                n;
    unsigned char         buf[4], *d;
    const unsigned char  *p, *q, *end;

    if (helicone_json_string_body(v, &p, &end) != HELICONE_OK) {
        return (size_t) -1;
    }

    d = dst;

    while (p < end) {
        /* the text up to the next escape, as it is, in one copy */
        q = memchr(p, '\\', (size_t) (end - p));

        if (q == NULL) {
            q = end;
        }

        memcpy(d, p, q - p);
        d += q - p;
        p = q;

        if (p < end) {
            n = helicone_json_decode_char(&p, end, buf);
            memcpy(d, buf, n);
            d += n;
        }
    }

    return d - dst;
}


int
helicone_json_string_eq(const helicone_json_value_t *v, const char *s,
    size_t len)
{
    size_t                n, i;
    unsigned char         buf[4];
    const unsigned char  *p, *end;

    if (helicone_json_string_body(v, &p, &end) != HELICONE_OK) {
        return 0;
    }

    if (s == NULL && len != 0) {
        return 0;
    }

    /*
     * Escapes only make the text longer than its decoding: text as long
     * as s is equal when it is s byte for byte (and so has no escape);
     * shorter text, or longer text without escapes, is not.
     */

    if ((size_t) (end - p) <= len) {
        return (size_t) (end - p) == len
               && (len == 0 || (memcmp(p, s, len) == 0
                                && memchr(s, '\\', len) == NULL));
    }

    if (memchr(p, '\\', (size_t) (end - p)) == NULL) {
        return 0;
    }

    i = 0;

    while (p < end) {
        n = helicone_json_decode_char(&p, end, buf);

        if (len - i < n || memcmp(s + i, buf, n) != 0) {
            return 0;
        }

        i += n;
    }

    return i == len;
}


int
helicone_json_int64(const helicone_json_value_t *v, int64_t *out)
{
    int                   neg;
    uint64_t              n, max;
    const unsigned char  *p, *end;

    if (v == NULL || v->type != HELICONE_JSON_NUMBER || v->start == NULL
        || v->len == 0)
    {
        return HELICONE_DECLINED;
    }

    p = v->start;
    end = p + v->len;

    neg = (*p == '-');

    if (neg) {
        p++;
    }

    if (p == end) {
        return HELICONE_DECLINED;
    }

    max = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
    n = 0;

    for ( /* void */ ; p < end; p++) {
        if (*p < '0' || *p > '9') {
            return HELICONE_DECLINED;
        }

        if (n > (max - (*p - '0')) / 10) {
            return HELICONE_DECLINED;
        }

        n = n * 10 + (*p - '0');
    }

    if (out) {
        if (neg) {
            /* n may be 2^63: negate in unsigned, then convert safely */
            *out = (n == (uint64_t) INT64_MAX + 1) ? INT64_MIN
                                                   : -(int64_t) n;

        } else {
            *out = (int64_t) n;
        }
    }

    return HELICONE_OK;
}


/*
 * Escapes the character at *pp into dst, or only counts when dst is
 * NULL; so escape_len and escape can never disagree.
 */

static size_t
helicone_json_escape_char(const unsigned char **pp, const unsigned char *end,
    unsigned char *dst)
{
    size_t                n;
    unsigned char         c, e;
    const unsigned char  *p;

    p = *pp;
    c = *p;

    if (c >= 0x80) {
        n = helicone_json_utf8_len(p, end);

        if (n == 0) {
            *pp = p + 1;

            if (dst) {
                memcpy(dst, "\\ufffd", HELICONE_JSON_FFFD_ESCAPE_LEN);
            }

            return HELICONE_JSON_FFFD_ESCAPE_LEN;
        }

        *pp = p + n;

        /* U+2028 and U+2029 end lines in JavaScript source */

        if (n == 3 && c == 0xe2 && p[1] == 0x80
            && (p[2] == 0xa8 || p[2] == 0xa9))
        {
            if (dst) {
                memcpy(dst, p[2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
            }

            return 6;
        }

        if (dst) {
            memcpy(dst, p, n);
        }

        return n;
    }

    *pp = p + 1;

    switch (c) {
    case '"':
        e = '"';
        break;
    case '\\':
        e = '\\';
        break;
    case '\n':
        e = 'n';
        break;
    case '\r':
        e = 'r';
        break;
    case '\t':
        e = 't';
        break;
    case '\b':
        e = 'b';
        break;
    case '\f':
        e = 'f';
        break;

    default:
        if (c >= 0x20) {
            if (dst) {
                dst[0] = c;
            }

            return 1;
        }

        if (dst) {
            dst[0] = '\\';
            dst[1] = 'u';
            dst[2] = '0';
            dst[3] = '0';
            dst[4] = helicone_json_hex_digits[c >> 4];
            dst[5] = helicone_json_hex_digits[c & 0x0f];
        }

        return 6;
    }

    if (dst) {
        dst[0] = '\\';
        dst[1] = e;
    }

    return 2;
}


size_t
helicone_json_escape_len(const unsigned char *src, size_t len)
{
    size_t                n;
    const unsigned char  *p, *end, *run;

    if (src == NULL) {
        return 0;
    }

    p = src;
    end = src + len;
    n = 0;

    while (p < end) {
        if (helicone_json_plain[*p]) {
            /* the common case: printable ASCII passes as it is */
            run = helicone_json_plain_end(p + 1, end);
            n += run - p;
            p = run;
            continue;
        }

        n += helicone_json_escape_char(&p, end, NULL);
    }

    return n;
}


unsigned char *
helicone_json_escape(unsigned char *dst, const unsigned char *src, size_t len)
{
    const unsigned char  *p, *end, *run;

    if (src == NULL) {
        return dst;
    }

    p = src;
    end = src + len;

    while (p < end) {
        run = p;
        p = helicone_json_plain_end(p, end);

        if (p > run) {
            memcpy(dst, run, (size_t) (p - run));
            dst += p - run;
            continue;
        }

        dst += helicone_json_escape_char(&p, end, dst);
    }

    return dst;
}


unsigned char *
helicone_json_escape_into(unsigned char *dst, unsigned char *end,
    const unsigned char *src, size_t len)
{
    size_t                n;
    const unsigned char  *p, *last, *q;
#if (HELICONE_JSON_WORD_INDEX)
    uint64_t              x, flags;
#endif

    if (src == NULL) {
        return dst;
    }

    p = src;
    last = src + len;

    /* most of an event's strings (ids, names, times, URLs) have nothing
     * to escape: copied whole, in a few word moves */

    if ((size_t) (end - dst) >= len) {
        n = helicone_json_copy_plain(dst, src, len);

        if (n == len) {
            return dst + len;
        }

        p += n;
        dst += n;
    }

#if (HELICONE_JSON_SSSE3)
    if (helicone_json_ssse3()) {
        dst = helicone_json_escape_ssse3(dst, end, &p, last);

    } else {
        dst = helicone_json_escape_sse2(dst, end, &p, last);
    }
#elif (HELICONE_JSON_SSE2)
    dst = helicone_json_escape_sse2(dst, end, &p, last);
#endif

#if (HELICONE_JSON_WORD_INDEX)

    /*
     * While there are 8 bytes to read and 16 to write, copy a word at a
     * time, escapes included, without a room check: a word's bytes past
     * its first escape are written too and then overwritten.
     */

    while (last - p >= 8 && end - dst >= 16) {
        memcpy(&x, p, 8);
        memcpy(dst, &x, 8);

        flags = helicone_json_unplain(x);

        if (flags == 0) {
            p += 8;
            dst += 8;
            continue;
        }

        n = helicone_json_first_flagged(flags);
        p += n;
        dst += n;

        if (*p == '"' || *p == '\\') {
            dst[0] = '\\';
            dst[1] = *p++;
            dst += 2;
            continue;
        }

        /* at most 6 bytes, and at least 9 are left */
        dst += helicone_json_escape_char(&p, last, dst);
    }

#endif

    while (p < last) {
        n = (size_t) (last - p);

        if ((size_t) (end - dst) >= n) {
            /* room for the rest as it is: its plain run in word moves */
            n = helicone_json_copy_plain(dst, p, n);

        } else {
            n = (size_t) (helicone_json_plain_end(p, last) - p);

            if ((size_t) (end - dst) < n) {
                return NULL;
            }

            memcpy(dst, p, n);
        }

        p += n;
        dst += n;

        if (p == last) {
            break;
        }

        if (*p == '"' || *p == '\\') {
            /* the common escapes of JSON text within JSON text */
            if (end - dst < 2) {
                return NULL;
            }

            *dst++ = '\\';
            *dst++ = *p++;
            continue;
        }

        q = p;
        n = helicone_json_escape_char(&q, last, NULL);

        if ((size_t) (end - dst) < n) {
            return NULL;
        }

        dst += helicone_json_escape_char(&p, last, dst);
    }

    return dst;
}


/*
 * Copies the plain bytes that begin src (room for len at dst): how many,
 * len when all are. Whole words are moved, the last one overlapping the
 * one before, so a short string takes no byte loop; bytes past the plain
 * run may be written too (within dst + len), for the caller to overwrite.
 */

static size_t
helicone_json_copy_plain(unsigned char *dst, const unsigned char *src,
    size_t len)
{
    size_t        i;
    uint32_t      lo, hi;
    uint64_t      x, flags;
#if (HELICONE_JSON_SSE2)
    unsigned int  mask;
    __m128i       v;

    if (len >= 16) {
        for (i = 0; i + 16 <= len; i += 16) {
            v = _mm_loadu_si128((const __m128i *) (src + i));
            _mm_storeu_si128((__m128i *) (dst + i), v);

            mask = helicone_json_unplain_v(v);

            if (mask) {
                return i + __builtin_ctz(mask);
            }
        }

        if (i == len) {
            return len;
        }

        /* the last 16, whose bytes before i are known plain */
        i = len - 16;
        v = _mm_loadu_si128((const __m128i *) (src + i));
        _mm_storeu_si128((__m128i *) (dst + i), v);

        mask = helicone_json_unplain_v(v);

        return mask ? i + __builtin_ctz(mask) : len;
    }
#endif

    if (len >= 8) {
        for (i = 0; i + 8 <= len; i += 8) {
            memcpy(&x, src + i, 8);
            memcpy(dst + i, &x, 8);

            flags = helicone_json_unplain(x);

            if (flags) {
                goto flagged;
            }
        }

        if (i == len) {
            return len;
        }

        i = len - 8;
        memcpy(&x, src + i, 8);
        memcpy(dst + i, &x, 8);

        flags = helicone_json_unplain(x);

        if (flags == 0) {
            return len;
        }

    flagged:

#if (HELICONE_JSON_WORD_INDEX)
        return i + helicone_json_first_flagged(flags);
#else
        return (size_t) (helicone_json_plain_end(src + i, src + len) - src);
#endif
    }

    if (len >= 4) {
        /* the first four and the last four are all of them */
        memcpy(&lo, src, 4);
        memcpy(&hi, src + len - 4, 4);
        memcpy(dst, &lo, 4);
        memcpy(dst + len - 4, &hi, 4);

        if (helicone_json_unplain(lo | (uint64_t) hi << 32) == 0) {
            return len;
        }

        return (size_t) (helicone_json_plain_end(src, src + len) - src);
    }

    if (len == 0) {
        return 0;
    }

    /* 1 to 3 bytes: the first, the middle and the last are all of them */

    dst[0] = src[0];
    dst[len >> 1] = src[len >> 1];
    dst[len - 1] = src[len - 1];

    if (helicone_json_plain[src[0]] & helicone_json_plain[src[len >> 1]]
        & helicone_json_plain[src[len - 1]])
    {
        return len;
    }

    return (size_t) (helicone_json_plain_end(src, src + len) - src);
}


#if (HELICONE_JSON_SSE2)

/*
 * The bulk of escape_into() on x86-64: sixteen bytes are classified at
 * once, and every quote and backslash of the window is escaped from that
 * one classification, which matters for JSON text within JSON text (a
 * quote every few bytes). Each run before an escape is moved with one
 * fixed 16-byte copy, so the loop keeps 32 bytes to read and 48 to write
 * ahead; a byte of another kind ends its window. Stops when the ends are
 * near: returns the new dst, *pp the first byte not done.
 */

static unsigned char *
helicone_json_escape_sse2(unsigned char *dst, const unsigned char *end,
    const unsigned char **pp, const unsigned char *last)
{
    unsigned int          i, n, start, quoted, other;
    const unsigned char  *p;
    __m128i               v;

    p = *pp;

    while (last - p >= 32 && end - dst >= 48) {
        v = _mm_loadu_si128((const __m128i *) p);

        quoted = (unsigned int) _mm_movemask_epi8(
                     _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                  _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));

        /* control bytes, DEL and every byte from 0x80, as in
         * helicone_json_unplain_v() */
        other = (unsigned int) _mm_movemask_epi8(
                    _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8(1)),
                                   _mm_set1_epi8(0x21)));

        if ((quoted | other) == 0) {
            memcpy(dst, p, 16);
            p += 16;
            dst += 16;
            continue;
        }

        /* the window up to its first byte of another kind, if any */
        n = other ? (unsigned int) __builtin_ctz(other) : 16;
        quoted &= (1u << n) - 1;
        start = 0;

        while (quoted) {
            i = (unsigned int) __builtin_ctz(quoted);

            memcpy(dst, p + start, 16);
            dst += i - start;
            *dst++ = '\\';

            /* the quote or backslash itself begins the next run */
            start = i;
            quoted &= quoted - 1;
        }

        /* at most 16 escapes have added 16 bytes: 48 are enough */
        memcpy(dst, p + start, 16);
        dst += n - start;
        p += n;

        if (n < 16) {
            /* a control or non-ASCII byte: at most 6 bytes (30 are
             * written at most), then the next window from after it */
            dst += helicone_json_escape_char(&p, last, dst);
        }
    }

    *pp = p;

    return dst;
}

#endif


#if (HELICONE_JSON_SSSE3)

/*
 * Escaping by shuffle: for each set of quotes and backslashes among 8
 * bytes (a bit a byte), where each of the up to 16 bytes made comes
 * from, 0x80 for an inserted backslash (the shuffle makes it a zero,
 * which no escaped byte is); and how many bytes are made. Built on the
 * first use, by the process's only thread (the tables are the same
 * whoever builds them).
 */

static unsigned char  helicone_json_expand[256][16]
                          __attribute__((aligned(16)));
static unsigned char  helicone_json_expand_len[256];


/* 1 when the CPU has SSSE3 (the tables are then built), else 0 */

static int
helicone_json_ssse3(void)
{
    unsigned int  m, i, j;

    static int  have = -1;

    if (have >= 0) {
        return have;
    }

    __builtin_cpu_init();

    if (!__builtin_cpu_supports("ssse3")) {
        have = 0;
        return have;
    }

    for (m = 0; m < 256; m++) {
        j = 0;

        for (i = 0; i < 8; i++) {
            if (m & (1u << i)) {
                helicone_json_expand[m][j++] = 0x80;
            }

            helicone_json_expand[m][j++] = (unsigned char) i;
        }

        helicone_json_expand_len[m] = (unsigned char) j;

        while (j < 16) {
            helicone_json_expand[m][j++] = 0x80;
        }
    }

    have = 1;

    return have;
}


/*
 * escape_sse2() where quotes are dense (JSON text within JSON text): a
 * window of 16 bytes whose escapes are quotes, backslashes and line
 * feeds (an SSE stream's framing) is escaped in two shuffles of 8,
 * whatever their number, where a loop took a copy and a store for each.
 * A window with another byte to escape goes byte by byte up to it.
 * Windows are done in batches that cannot run out of input (16 bytes
 * each) or room (48 bytes each, at most 36 made), checked once a batch.
 */

__attribute__((target("ssse3")))
static unsigned char *
helicone_json_escape_ssse3(unsigned char *dst, const unsigned char *end,
    const unsigned char **pp, const unsigned char *last)
{
    size_t                k;
    unsigned int          n, i, quoted, other, lf;
    unsigned char         c;
    const unsigned char  *p;
    __m128i               v, e, nl, one, zero, backslash, lf_to_n;

    p = *pp;
    one = _mm_set1_epi8(1);
    zero = _mm_setzero_si128();
    backslash = _mm_set1_epi8('\\');

    /* a LF moved by the shuffle becomes the n of its escape */
    lf_to_n = _mm_set1_epi8('\n' ^ 'n');

    for ( ;; ) {
        k = (size_t) (last - p) / 16;

        if (k > (size_t) (end - dst) / 48) {
            k = (size_t) (end - dst) / 48;
        }

        if (k == 0) {
            break;
        }

        while (k--) {
            v = _mm_loadu_si128((const __m128i *) p);
            nl = _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'));

            quoted = (unsigned int) _mm_movemask_epi8(
                         _mm_or_si128(
                             _mm_or_si128(
                                 _mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                 _mm_cmpeq_epi8(v, backslash)),
                             nl));

            /* the control bytes but LF, DEL and every byte from 0x80, as
             * in helicone_json_unplain_v() */
            other = (unsigned int) _mm_movemask_epi8(
                        _mm_andnot_si128(
                            nl, _mm_cmplt_epi8(_mm_add_epi8(v, one),
                                               _mm_set1_epi8(0x21))));

            if ((quoted | other) == 0) {
                _mm_storeu_si128((__m128i *) dst, v);
                p += 16;
                dst += 16;
                continue;
            }

            if (other) {
                /* at most 15 bytes made 30, then one made at most 6; it
                 * may end past the window: the bounds are taken anew */
                n = (unsigned int) __builtin_ctz(other);

                for (i = 0; i < n; i++) {
                    c = p[i];

                    if (c == '"' || c == '\\' || c == '\n') {
                        *dst++ = '\\';
                        c = (c == '\n') ? 'n' : c;
                    }

                    *dst++ = c;
                }

                p += n;
                dst += helicone_json_escape_char(&p, last, dst);
                break;
            }

            /* 8 bytes made at most 16, twice: the bytes made past the
             * count are written and then overwritten */

            lf = (unsigned int) _mm_movemask_epi8(nl);

            e = _mm_shuffle_epi8(v, _mm_load_si128(
                                        (const __m128i *)
                                        helicone_json_expand[quoted & 0xff]));
            e = _mm_or_si128(e, _mm_and_si128(_mm_cmpeq_epi8(e, zero),
                                              backslash));

            if (lf & 0xff) {
                e = _mm_xor_si128(e, _mm_and_si128(
                                         _mm_cmpeq_epi8(
                                             e, _mm_set1_epi8('\n')),
                                         lf_to_n));
            }

            _mm_storeu_si128((__m128i *) dst, e);
            dst += helicone_json_expand_len[quoted & 0xff];

            e = _mm_shuffle_epi8(_mm_srli_si128(v, 8), _mm_load_si128(
                                        (const __m128i *)
                                        helicone_json_expand[quoted >> 8]));
            e = _mm_or_si128(e, _mm_and_si128(_mm_cmpeq_epi8(e, zero),
                                              backslash));

            if (lf >> 8) {
                e = _mm_xor_si128(e, _mm_and_si128(
                                         _mm_cmpeq_epi8(
                                             e, _mm_set1_epi8('\n')),
                                         lf_to_n));
            }

            _mm_storeu_si128((__m128i *) dst, e);
            dst += helicone_json_expand_len[quoted >> 8];

            p += 16;
        }
    }

    *pp = p;

    return dst;
}

#endif


/* value text without white space outside strings */

static unsigned char *
helicone_json_compact_value(const helicone_json_value_t *v,
    unsigned char *out)
{
    const unsigned char  *p, *end, *q;

    p = v->start;
    end = v->start + v->len;

    while (p < end) {
        if (*p == '"') {
            /* a string as it is, in one copy */
            q = helicone_json_skip_string(p, end);
            memcpy(out, p, (size_t) (q - p));
            out += q - p;
            p = q;
            continue;
        }

        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            *out++ = *p;
        }

        p++;
    }

    return out;
}


size_t
helicone_json_compact(const helicone_json_value_t *obj,
    const helicone_str_t *skip, size_t nskip, unsigned char *out)
{
    size_t                 i, n;
    unsigned char         *p;
    helicone_json_iter_t   it;
    helicone_json_value_t  k, v;

    if (obj->type != HELICONE_JSON_OBJECT
        || helicone_json_iter_init(&it, obj) != HELICONE_OK)
    {
        return (size_t) (helicone_json_compact_value(obj, out) - out);
    }

    p = out;
    *p++ = '{';
    n = 0;

    while (helicone_json_iter_next(&it, &k, &v) == HELICONE_OK) {

        for (i = 0; i < nskip; i++) {
            if (helicone_json_string_eq(&k, (const char *) skip[i].data,
                                        skip[i].len))
            {
                break;
            }
        }

        if (i < nskip) {
            continue;
        }

        if (n++) {
            *p++ = ',';
        }

        p = helicone_json_compact_value(&k, p);
        *p++ = ':';
        p = helicone_json_compact_value(&v, p);
    }

    *p++ = '}';

    return (size_t) (p - out);
}
