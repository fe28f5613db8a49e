/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * A validating, non-allocating JSON scanner: finds values inside a JSON
 * text as byte spans of the original, so a body can be inspected and
 * spliced without building a tree.
 */

#ifndef _HELICONE_JSON_H_INCLUDED_
#define _HELICONE_JSON_H_INCLUDED_


#include "helicone_core.h"


#define HELICONE_JSON_MAX_DEPTH  128


typedef enum {
    HELICONE_JSON_INVALID = 0,
    HELICONE_JSON_OBJECT,
    HELICONE_JSON_ARRAY,
    HELICONE_JSON_STRING,
    HELICONE_JSON_NUMBER,
    HELICONE_JSON_TRUE,
    HELICONE_JSON_FALSE,
    HELICONE_JSON_NULL
} helicone_json_type_e;


/*
 * One value: its type and its exact span in the text, quotes and
 * brackets included ("abc" has len 5, {} has len 2).
 */
typedef struct {
    helicone_json_type_e   type;
    const unsigned char   *start;
    size_t                 len;
} helicone_json_value_t;


/* Iterator over the members of an object or the elements of an array. */
typedef struct {
    const unsigned char   *pos;
    const unsigned char   *end;
    unsigned               object:1;
    unsigned               done:1;
} helicone_json_iter_t;


/*
 * HELICONE_OK when p..p+len is exactly one JSON value (RFC 8259, UTF-8
 * checked, nesting up to HELICONE_JSON_MAX_DEPTH) with optional white
 * space around it, and fills *root; HELICONE_ERROR otherwise.
 * The other functions trust a text that passed this check.
 */
int helicone_json_parse(const unsigned char *p, size_t len,
    helicone_json_value_t *root);

/*
 * helicone_json_parse(), picking members of the root object as it
 * passes them (see helicone_json_object_pick()): one pass instead of
 * two when a document is read once.
 */
int helicone_json_parse_pick(const unsigned char *p, size_t len,
    helicone_json_value_t *root, const helicone_str_t *names, size_t n,
    helicone_json_value_t *out);

/*
 * The root object's members named in names, read without checking the
 * whole text: names[0 .. checked - 1] are checked as helicone_json_parse()
 * checks a text, names[checked .. n - 1] only spanned (type and extent by
 * their quotes and brackets), every other member skipped that way; the
 * root must be one object with only white space after it. For a text
 * that helicone_json_parse() accepts: the answer and out[] of
 * helicone_json_parse_pick(). For another: HELICONE_ERROR, or HELICONE_OK
 * when the fault lies in a member not checked, with every checked member
 * out[] valid JSON. For a relayed body read for a few members only.
 */
int helicone_json_pick_members(const unsigned char *p, size_t len,
    helicone_json_value_t *root, const helicone_str_t *names, size_t n,
    size_t checked, helicone_json_value_t *out);

/*
 * Finds a member of an object by its decoded name: HELICONE_OK and *out,
 * HELICONE_DECLINED when absent, HELICONE_ERROR when obj is no object.
 * The last of duplicate names wins, as in JavaScript.
 */
int helicone_json_object_get(const helicone_json_value_t *obj,
    const char *name, size_t name_len, helicone_json_value_t *out);

/*
 * Several members in one pass: out[i] is the member named names[i], the
 * last of duplicates, or of type HELICONE_JSON_INVALID when absent.
 * HELICONE_ERROR when obj is no object (every out[i] is then absent).
 */
int helicone_json_object_pick(const helicone_json_value_t *obj,
    const helicone_str_t *names, size_t n, helicone_json_value_t *out);

/*
 * Whether p..p+len may hold a member "name" whose value is not null,
 * without parsing: 0 when no "name" key stands there with another value
 * than null, 1 when one may (the caller then parses). Text that reads
 * like the key gives 1: the answer errs on the side of parsing. A name
 * spelled with escapes ("us\u0061ge") is not seen. name: name_len >= 2
 * bytes, no quotes.
 */
int helicone_json_may_have(const unsigned char *p, size_t len,
    const char *name, size_t name_len);

/*
 * may_have() of any of n names in one pass over the text: names are all
 * of one length (>= 1), without quotes.
 */
int helicone_json_may_have_any(const unsigned char *p, size_t len,
    const helicone_str_t *names, size_t n);

/* Which of names the string v is: its index, n when none or no string. */
size_t helicone_json_string_index(const helicone_json_value_t *v,
    const helicone_str_t *names, size_t n);

/* Follows a dotted path of member names ("usage.prompt_tokens"). */
int helicone_json_path_get(const helicone_json_value_t *root,
    const char *path, helicone_json_value_t *out);

/* Iteration: init, then next until HELICONE_DECLINED; key is NULL-typed
 * (HELICONE_JSON_INVALID) for arrays. */
int helicone_json_iter_init(helicone_json_iter_t *it,
    const helicone_json_value_t *container);
int helicone_json_iter_next(helicone_json_iter_t *it,
    helicone_json_value_t *key, helicone_json_value_t *value);

/*
 * Decodes a string value into dst (at least v->len bytes): escapes and
 * \u surrogate pairs to UTF-8 (a lone surrogate becomes U+FFFD).
 * Returns the decoded length, or (size_t) -1 when v is no string.
 */
size_t helicone_json_string_decode(const helicone_json_value_t *v,
    unsigned char *dst);

/* Compares a string value, decoded, with s: 1 equal, 0 not. */
int helicone_json_string_eq(const helicone_json_value_t *v,
    const char *s, size_t len);

/*
 * An integral number (no fraction, no exponent; "12.0" is refused) that
 * fits int64_t: HELICONE_OK; HELICONE_DECLINED for any other value.
 */
int helicone_json_int64(const helicone_json_value_t *v, int64_t *out);

/* Bytes needed to write src escaped for use inside a JSON string. */
size_t helicone_json_escape_len(const unsigned char *src, size_t len);

/*
 * Writes src escaped for use inside a JSON string (no quotes added):
 * quote, backslash and control characters escaped, invalid UTF-8
 * replaced by \ufffd. Returns the end of the written bytes.
 */
unsigned char *helicone_json_escape(unsigned char *dst,
    const unsigned char *src, size_t len);

/*
 * Like helicone_json_escape(), into dst..end: the end of the written
 * bytes, or NULL when they do not fit (dst..end then holds a part).
 */
unsigned char *helicone_json_escape_into(unsigned char *dst,
    unsigned char *end, const unsigned char *src, size_t len);


/*
 * A compact copy of an object (no white space outside strings), without
 * the top-level members named in skip (decoded names): what a cache key
 * is made of. out holds obj->len bytes; returns the length written.
 */
size_t helicone_json_compact(const helicone_json_value_t *obj,
    const helicone_str_t *skip, size_t nskip, unsigned char *out);


#endif /* _HELICONE_JSON_H_INCLUDED_ */
