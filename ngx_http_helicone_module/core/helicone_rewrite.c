/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Splicing rewrites of an OpenAI chat request body. */

#include <string.h>

#include "helicone_rewrite.h"


#define HELICONE_REWRITE_EDITS  2

#define HELICONE_REWRITE_RAW     0   /* text as it is */
#define HELICONE_REWRITE_STRING  1   /* text quoted and escaped */
#define HELICONE_REWRITE_MEMBER  2   /* text, then a comma: a new member */


typedef struct {
    const unsigned char  *start;       /* span of the original replaced */
    size_t                len;
    const unsigned char  *text;        /* replacement, raw */
    size_t                text_len;
    int                   how;         /* HELICONE_REWRITE_* */
} helicone_rewrite_edit_t;


static int helicone_rewrite_empty(const helicone_json_value_t *obj);
static size_t helicone_rewrite_plan(const helicone_json_value_t *root,
    const helicone_rewrite_opts_t *opts, helicone_rewrite_edit_t *edits,
    int *injected);


static const unsigned char  helicone_rewrite_true[] = "true";
static const unsigned char  helicone_rewrite_options[] =
    "\"stream_options\":{\"include_usage\":true}";
static const unsigned char  helicone_rewrite_member[] =
    "\"include_usage\":true";


/*
 * The edits, in text order. Insertions are edits of length 0; a member
 * inserted into a non-empty object gets its comma from the edit text.
 */

static size_t
helicone_rewrite_plan(const helicone_json_value_t *root,
    const helicone_rewrite_opts_t *opts, helicone_rewrite_edit_t *edits,
    int *injected)
{
    size_t                   n, i;
    helicone_json_value_t    v, so, iu;
    helicone_rewrite_edit_t  tmp;

    n = 0;
    *injected = 0;

    if (opts->found) {
        v = opts->model_value;
        so = opts->stream_options;

    } else {
        if (helicone_json_object_get(root, "model", 5, &v) != HELICONE_OK) {
            v.type = HELICONE_JSON_INVALID;
        }

        if (helicone_json_object_get(root, "stream_options", 14, &so)
            != HELICONE_OK)
        {
            so.type = HELICONE_JSON_INVALID;
        }
    }

    if (opts->model.len && v.type != HELICONE_JSON_INVALID
        && !helicone_json_string_eq(&v, (const char *) opts->model.data,
                                    opts->model.len))
    {
        edits[n].start = v.start;
        edits[n].len = v.len;
        edits[n].text = opts->model.data;
        edits[n].text_len = opts->model.len;
        edits[n].how = HELICONE_REWRITE_STRING;
        n++;
    }

    if (!opts->include_usage) {
        return n;
    }

    *injected = 1;

    if (so.type == HELICONE_JSON_INVALID) {
        /* a new member after the opening brace */
        edits[n].start = root->start + 1;
        edits[n].len = 0;
        edits[n].text = helicone_rewrite_options;
        edits[n].text_len = sizeof(helicone_rewrite_options) - 1;
        edits[n].how = helicone_rewrite_empty(root)
                       ? HELICONE_REWRITE_RAW : HELICONE_REWRITE_MEMBER;
        n++;

    } else if (so.type != HELICONE_JSON_OBJECT) {
        edits[n].start = so.start;
        edits[n].len = so.len;
        edits[n].text = helicone_rewrite_options
                        + sizeof("\"stream_options\":") - 1;
        edits[n].text_len = sizeof(helicone_rewrite_options) - 1
                            - (sizeof("\"stream_options\":") - 1);
        edits[n].how = HELICONE_REWRITE_RAW;
        n++;

    } else if (helicone_json_object_get(&so, "include_usage", 13, &iu)
               == HELICONE_OK)
    {
        if (iu.type == HELICONE_JSON_TRUE) {
            /* the client asked itself */
            *injected = 0;

        } else {
            edits[n].start = iu.start;
            edits[n].len = iu.len;
            edits[n].text = helicone_rewrite_true;
            edits[n].text_len = sizeof(helicone_rewrite_true) - 1;
            edits[n].how = HELICONE_REWRITE_RAW;
            n++;
        }

    } else {
        edits[n].start = so.start + 1;
        edits[n].len = 0;
        edits[n].text = helicone_rewrite_member;
        edits[n].text_len = sizeof(helicone_rewrite_member) - 1;
        edits[n].how = helicone_rewrite_empty(&so)
                       ? HELICONE_REWRITE_RAW : HELICONE_REWRITE_MEMBER;
        n++;
    }

    /* text order: the model may come after stream_options */
    for (i = 1; i < n; i++) {
        if (edits[i].start < edits[i - 1].start) {
            tmp = edits[i];
            edits[i] = edits[i - 1];
            edits[i - 1] = tmp;
        }
    }

    return n;
}


static int
helicone_rewrite_empty(const helicone_json_value_t *obj)
{
    helicone_json_iter_t   it;
    helicone_json_value_t  k, v;

    if (helicone_json_iter_init(&it, obj) != HELICONE_OK) {
        return 1;
    }

    return helicone_json_iter_next(&it, &k, &v) != HELICONE_OK;
}


size_t
helicone_rewrite_size(const helicone_json_value_t *root,
    const helicone_rewrite_opts_t *opts)
{
    return root->len + 2 + HELICONE_REWRITE_EXTRA
           + helicone_json_escape_len(opts->model.data, opts->model.len);
}


int
helicone_rewrite_request(const helicone_json_value_t *root,
    const helicone_rewrite_opts_t *opts, unsigned char *out, size_t *len,
    int *injected)
{
    size_t                   n, i;
    unsigned char           *p;
    const unsigned char     *from;
    helicone_rewrite_edit_t  edits[HELICONE_REWRITE_EDITS];

    if (root->type != HELICONE_JSON_OBJECT) {
        *injected = 0;
        return HELICONE_DECLINED;
    }

    n = helicone_rewrite_plan(root, opts, edits, injected);

    if (n == 0) {
        return HELICONE_DECLINED;
    }

    p = out;
    from = root->start;

    for (i = 0; i < n; i++) {
        memcpy(p, from, (size_t) (edits[i].start - from));
        p += edits[i].start - from;

        if (edits[i].how == HELICONE_REWRITE_STRING) {
            *p++ = '"';
            p = helicone_json_escape(p, edits[i].text, edits[i].text_len);
            *p++ = '"';

        } else {
            memcpy(p, edits[i].text, edits[i].text_len);
            p += edits[i].text_len;

            /* an insertion before existing members */
            if (edits[i].how == HELICONE_REWRITE_MEMBER) {
                *p++ = ',';
            }
        }

        from = edits[i].start + edits[i].len;
    }

    memcpy(p, from, (size_t) (root->start + root->len - from));
    p += root->start + root->len - from;

    *len = p - out;

    return HELICONE_OK;
}


int
helicone_rewrite_members(const helicone_json_value_t *root,
    const helicone_json_value_t *overrides, unsigned char *out, size_t *len)
{
    size_t                 i, m, n, nins, dlen;
    unsigned char         *p, name[256];
    const unsigned char   *from;
    helicone_json_iter_t   it;
    helicone_json_value_t  k, v, old, rk[HELICONE_REWRITE_MAX_MEMBERS],
                           rv[HELICONE_REWRITE_MAX_MEMBERS],
                           ro[HELICONE_REWRITE_MAX_MEMBERS];

    if (root->type != HELICONE_JSON_OBJECT
        || overrides->type != HELICONE_JSON_OBJECT
        || helicone_json_iter_init(&it, overrides) != HELICONE_OK)
    {
        return HELICONE_ERROR;
    }

    n = 0;

    while (helicone_json_iter_next(&it, &k, &v) == HELICONE_OK) {
        if (n == HELICONE_REWRITE_MAX_MEMBERS) {
            return HELICONE_ERROR;
        }

        rk[n] = k;
        rv[n] = v;
        ro[n].type = HELICONE_JSON_INVALID;

        if (k.len <= sizeof(name)) {
            dlen = helicone_json_string_decode(&k, name);

            if (dlen != (size_t) -1
                && helicone_json_object_get(root, (const char *) name, dlen,
                                            &old)
                   == HELICONE_OK)
            {
                ro[n] = old;
            }
        }

        n++;
    }

    if (n == 0) {
        return HELICONE_DECLINED;
    }

    p = out;
    *p++ = '{';

    /* new members first, right after the brace */
    nins = 0;

    for (i = 0; i < n; i++) {
        if (ro[i].type != HELICONE_JSON_INVALID) {
            continue;
        }

        if (nins++) {
            *p++ = ',';
        }

        memcpy(p, rk[i].start, rk[i].len);
        p += rk[i].len;
        *p++ = ':';
        memcpy(p, rv[i].start, rv[i].len);
        p += rv[i].len;
    }

    if (nins && !helicone_rewrite_empty(root)) {
        *p++ = ',';
    }

    /* replaced values in text order; a name given twice: the last wins */
    from = root->start + 1;

    for ( ;; ) {
        m = n;

        for (i = 0; i < n; i++) {
            if (ro[i].type != HELICONE_JSON_INVALID && ro[i].start >= from
                && (m == n || ro[i].start < ro[m].start
                    || (ro[i].start == ro[m].start && i > m)))
            {
                m = i;
            }
        }

        if (m == n) {
            break;
        }

        memcpy(p, from, (size_t) (ro[m].start - from));
        p += ro[m].start - from;
        memcpy(p, rv[m].start, rv[m].len);
        p += rv[m].len;
        from = ro[m].start + ro[m].len;
    }

    memcpy(p, from, (size_t) (root->start + root->len - from));
    p += root->start + root->len - from;

    *len = p - out;

    return HELICONE_OK;
}
