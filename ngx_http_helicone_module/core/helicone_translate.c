/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* What every translator uses: reading members, copying JSON spans. */

#include <string.h>

#include "helicone_translate.h"


static int helicone_translate_hex4(const unsigned char *p, uint32_t *cp);


int
helicone_translate_get(const helicone_json_value_t *obj, const char *name,
    helicone_json_value_t *v)
{
    if (obj == NULL || obj->type != HELICONE_JSON_OBJECT) {
        return 0;
    }

    if (helicone_json_object_get(obj, name, strlen(name), v) != HELICONE_OK) {
        return 0;
    }

    return v->type != HELICONE_JSON_NULL;
}


int
helicone_translate_get_string(const helicone_json_value_t *obj,
    const char *name, helicone_json_value_t *v)
{
    return helicone_translate_get(obj, name, v)
           && v->type == HELICONE_JSON_STRING;
}


/* 1 when obj's member name is the string s */

int
helicone_translate_is(const helicone_json_value_t *obj, const char *name,
    const char *s)
{
    helicone_json_value_t  v;

    if (!helicone_translate_get(obj, name, &v)) {
        return 0;
    }

    return helicone_json_string_eq(&v, s, strlen(s));
}


/* elements of an array or members of an object */

int
helicone_translate_count(const helicone_json_value_t *v)
{
    int                   n;
    helicone_json_iter_t  it;

    if (helicone_json_iter_init(&it, v) != HELICONE_OK) {
        return 0;
    }

    n = 0;

    while (helicone_json_iter_next(&it, NULL, NULL) == HELICONE_OK) {
        n++;
    }

    return n;
}


/* the content of a string value, between its quotes */

void
helicone_translate_body(helicone_buf_t *b, const helicone_json_value_t *v)
{
    if (v->type != HELICONE_JSON_STRING || v->len < 2) {
        return;
    }

    helicone_buf_add(b, v->start + 1, v->len - 2);
}


/* a string value as it is, or "" for anything else */

void
helicone_translate_string(helicone_buf_t *b, const helicone_json_value_t *v)
{
    if (v == NULL || v->type != HELICONE_JSON_STRING) {
        helicone_translate_lit(b, "\"\"");
        return;
    }

    helicone_translate_raw(b, v);
}


static int
helicone_translate_hex4(const unsigned char *p, uint32_t *cp)
{
    int            i;
    uint32_t       n;
    unsigned char  c;

    n = 0;

    for (i = 0; i < 4; i++) {
        c = p[i];

        if (c >= '0' && c <= '9') {
            n = n * 16 + (c - '0');

        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            n = n * 16 + ((c | 0x20) - 'a' + 10);

        } else {
            return 0;
        }
    }

    *cp = n;

    return 1;
}


/*
 * One character of string content at p (p < end): its code point in *c,
 * and where the next one starts; so cuts between characters leave valid
 * string content on both sides.
 */

const unsigned char *
helicone_translate_char(const unsigned char *p, const unsigned char *end,
    uint32_t *c)
{
    size_t    n, i;
    uint32_t  cp, lo;

    if (*p != '\\') {
        if (*p < 0x80) {
            *c = *p;
            return p + 1;
        }

        n = (*p >= 0xf0) ? 4 : (*p >= 0xe0) ? 3 : (*p >= 0xc0) ? 2 : 1;
        cp = *p & (0x7f >> n);

        for (i = 1; i < n; i++) {
            if (p + i == end || (p[i] & 0xc0) != 0x80) {
                break;
            }

            cp = (cp << 6) | (p[i] & 0x3f);
        }

        *c = (i == n && n > 1) ? cp : 0xfffd;

        return p + i;
    }

    if (end - p < 2) {
        *c = '\\';
        return end;
    }

    switch (p[1]) {
    case 'b':
        *c = '\b';
        break;
    case 'f':
        *c = '\f';
        break;
    case 'n':
        *c = '\n';
        break;
    case 'r':
        *c = '\r';
        break;
    case 't':
        *c = '\t';
        break;

    case 'u':
        if (end - p < 6 || !helicone_translate_hex4(p + 2, &cp)) {
            *c = 0xfffd;
            return p + 2;
        }

        if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 12
            && p[6] == '\\' && p[7] == 'u'
            && helicone_translate_hex4(p + 8, &lo)
            && lo >= 0xdc00 && lo <= 0xdfff)
        {
            *c = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            return p + 12;
        }

        *c = (cp >= 0xd800 && cp <= 0xdfff) ? 0xfffd : cp;
        return p + 6;

    default:
        *c = p[1];
        break;
    }

    return p + 2;
}


/* the length JavaScript would report: UTF-16 code units */

int64_t
helicone_translate_utf16_len(const helicone_json_value_t *v)
{
    int64_t               n;
    uint32_t              c;
    const unsigned char  *p, *end;

    if (v->type != HELICONE_JSON_STRING || v->len < 2) {
        return 0;
    }

    p = v->start + 1;
    end = v->start + v->len - 1;
    n = 0;

    while (p < end) {
        p = helicone_translate_char(p, end, &c);
        n += (c >= 0x10000) ? 2 : 1;
    }

    return n;
}


/* how many bytes of a string's content fit in max, cut between chars */

size_t
helicone_translate_cut(const helicone_json_value_t *v, size_t max)
{
    uint32_t              c;
    const unsigned char  *p, *next, *start, *end;

    if (v->type != HELICONE_JSON_STRING || v->len < 2) {
        return 0;
    }

    start = v->start + 1;
    end = v->start + v->len - 1;

    if ((size_t) (end - start) <= max) {
        return end - start;
    }

    for (p = start; p < end; p = next) {
        next = helicone_translate_char(p, end, &c);

        if ((size_t) (next - start) > max) {
            break;
        }
    }

    return p - start;
}


/*
 * A value as JSON.stringify() would make a string of it: white space
 * outside strings dropped, then escaped (without the quotes).
 */

void
helicone_translate_minified(helicone_buf_t *b, const helicone_json_value_t *v)
{
    size_t                i, run;
    unsigned              in;
    const unsigned char  *p;

    p = v->start;
    run = 0;
    in = 0;

    for (i = 0; i < v->len; i++) {
        if (in) {
            if (p[i] == '\\') {
                i++;

            } else if (p[i] == '"') {
                in = 0;
            }

            continue;
        }

        if (p[i] == '"') {
            in = 1;
            continue;
        }

        if (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r') {
            helicone_buf_add_escaped(b, p + run, i - run);
            run = i + 1;
        }
    }

    if (run < v->len) {
        helicone_buf_add_escaped(b, p + run, v->len - run);
    }
}


/* string content kept for later chunks, cut between characters */

void
helicone_translate_keep(const helicone_json_value_t *v, unsigned char *dst,
    size_t cap, size_t *len)
{
    size_t  n;

    n = helicone_translate_cut(v, cap);

    if (n) {
        memcpy(dst, v->start + 1, n);
    }

    *len = n;
}
