/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Rewrites an OpenAI chat body for one target by splicing: the model
 * replaced and stream_options.include_usage set when asked, every other
 * byte as the client sent it.
 */

#ifndef _HELICONE_REWRITE_H_INCLUDED_
#define _HELICONE_REWRITE_H_INCLUDED_


#include "helicone_core.h"
#include "helicone_json.h"


#define HELICONE_REWRITE_EXTRA  64   /* bytes an include_usage splice adds */


typedef struct {
    helicone_str_t      model;          /* empty: keep the client's */
    unsigned            include_usage:1; /* a stream must report usage */
    unsigned            found:1;        /* the two below were looked up */

    /* the root's "model" and "stream_options" members, when the caller
     * found them already (type HELICONE_JSON_INVALID: absent) */
    helicone_json_value_t  model_value;
    helicone_json_value_t  stream_options;
} helicone_rewrite_opts_t;


/*
 * root is the parsed body (an object). Writes the new body into out,
 * which holds at least helicone_rewrite_size() bytes, and sets *len.
 * HELICONE_DECLINED when nothing changes (out unused); *injected tells
 * whether include_usage was added by us (the client did not ask).
 */
int helicone_rewrite_request(const helicone_json_value_t *root,
    const helicone_rewrite_opts_t *opts, unsigned char *out, size_t *len,
    int *injected);

size_t helicone_rewrite_size(const helicone_json_value_t *root,
    const helicone_rewrite_opts_t *opts);


#define HELICONE_REWRITE_MAX_MEMBERS  32

/*
 * Sets each top-level member of overrides (an object) in root: the value
 * replaced where root has the name, the member added otherwise
 * (Helicone-Fallbacks' bodyKeyOverride). out holds root->len +
 * overrides->len + 2 bytes. HELICONE_OK with *len; HELICONE_DECLINED when
 * overrides has no member; HELICONE_ERROR for a non-object or more than
 * HELICONE_REWRITE_MAX_MEMBERS members.
 */
int helicone_rewrite_members(const helicone_json_value_t *root,
    const helicone_json_value_t *overrides, unsigned char *out, size_t *len);


#endif /* _HELICONE_REWRITE_H_INCLUDED_ */
