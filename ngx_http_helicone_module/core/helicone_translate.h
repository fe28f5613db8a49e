/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * What every translator uses, whatever its dialects: the options a
 * request is translated with, reading members of validated JSON, and
 * copying its spans into a caller's buffer. A string value is never
 * decoded into scratch memory: it is valid JSON string content between
 * its quotes, so it is copied as it is, or cut at character boundaries
 * found by helicone_translate_char(). No allocation.
 */

#ifndef _HELICONE_TRANSLATE_H_INCLUDED_
#define _HELICONE_TRANSLATE_H_INCLUDED_


#include "helicone_core.h"
#include "helicone_buf.h"
#include "helicone_json.h"


/* max_tokens for a dialect that requires one, when the client sent none */
#define HELICONE_TRANSLATE_DEFAULT_MAX_TOKENS  4096


typedef struct {
    helicone_str_t      model;          /* provider model id to send */
    int64_t             max_tokens;     /* when the client sent none */
} helicone_translate_opts_t;


/*
 * helicone_translate_lit() appends a string literal ("" s: only a
 * literal compiles, so sizeof is its length).
 */

#define helicone_translate_lit(b, s)                                          \
    helicone_buf_add(b, "" s, sizeof(s) - 1)


/* reading */

/* obj's member name, when obj is an object and it is there, not null */
int helicone_translate_get(const helicone_json_value_t *obj,
    const char *name, helicone_json_value_t *v);

/* helicone_translate_get(), when the member is a string */
int helicone_translate_get_string(const helicone_json_value_t *obj,
    const char *name, helicone_json_value_t *v);

/* 1 when obj's member name is the string s */
int helicone_translate_is(const helicone_json_value_t *obj, const char *name,
    const char *s);

/* a member picked by helicone_json_object_pick(): there and not null */
static inline int
helicone_translate_has(const helicone_json_value_t *v)
{
    return v->type != HELICONE_JSON_INVALID && v->type != HELICONE_JSON_NULL;
}

/* elements of an array or members of an object; 0 for anything else */
int helicone_translate_count(const helicone_json_value_t *v);

/*
 * One character of string content at p (p < end): its code point in
 * *c (U+FFFD for a broken one), and where the next one starts; so cuts
 * between characters leave valid string content on both sides.
 */
const unsigned char *helicone_translate_char(const unsigned char *p,
    const unsigned char *end, uint32_t *c);

/* a string's length as JavaScript reports it, UTF-16 code units */
int64_t helicone_translate_utf16_len(const helicone_json_value_t *v);

/* how many bytes of a string's content fit in max, cut between chars */
size_t helicone_translate_cut(const helicone_json_value_t *v, size_t max);


/* writing: each appends to b (b->overflow when it did not fit) */

/* a value as it is */
static inline void
helicone_translate_raw(helicone_buf_t *b, const helicone_json_value_t *v)
{
    helicone_buf_add(b, v->start, v->len);
}

/* a string value as it is, or "" for anything else (v may be NULL) */
void helicone_translate_string(helicone_buf_t *b,
    const helicone_json_value_t *v);

/* the content of a string value between its quotes, still escaped */
void helicone_translate_body(helicone_buf_t *b,
    const helicone_json_value_t *v);

/*
 * A value as JSON.stringify() would make a string of it: white space
 * outside strings dropped, then escaped (without the quotes).
 */
void helicone_translate_minified(helicone_buf_t *b,
    const helicone_json_value_t *v);

/* a comma before every list element but the first */
static inline void
helicone_translate_sep(helicone_buf_t *b, unsigned *n)
{
    if ((*n)++) {
        helicone_translate_lit(b, ",");
    }
}

/*
 * String content kept for later (a stream's id, its model): at most
 * cap bytes into dst, cut between characters; *len the bytes kept.
 */
void helicone_translate_keep(const helicone_json_value_t *v,
    unsigned char *dst, size_t cap, size_t *len);


#endif /* _HELICONE_TRANSLATE_H_INCLUDED_ */
