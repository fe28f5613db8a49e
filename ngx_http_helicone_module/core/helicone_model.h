/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* The gateway's model string: "model[/provider]", comma lists, "!provider". */

#ifndef _HELICONE_MODEL_H_INCLUDED_
#define _HELICONE_MODEL_H_INCLUDED_


#include "helicone_core.h"


#define HELICONE_MODEL_MAX_ENTRIES  16


typedef struct {
    helicone_str_t      model;       /* empty for an exclusion */
    helicone_str_t      provider;    /* empty: any provider serving model */
    helicone_str_t      deployment;  /* "model/provider/deployment" */
    unsigned            exclude:1;   /* "!provider" */
    unsigned            online:1;    /* ":online" suffix on the model */
} helicone_model_entry_t;


/* 1 when name is a known provider; lets the split tell "org/model" ids
 * (OpenRouter style) from "model/provider". */
typedef int (*helicone_model_provider_pt)(void *ctx, const unsigned char *name,
    size_t len);

/*
 * Splits a model string into at most max entries, white space around
 * entries trimmed. A "/" separates a provider only when the text after
 * it names a known provider (or a known provider then a deployment).
 * HELICONE_OK with *n entries; HELICONE_ERROR for an empty string, an
 * empty entry, a "!" without a name or more than max entries.
 */
int helicone_model_parse(const unsigned char *s, size_t len,
    helicone_model_entry_t *entries, size_t max, size_t *n,
    helicone_model_provider_pt is_provider, void *ctx);

/*
 * 1 when a model name can be one URL path segment (Azure's deployment):
 * not empty, not "." or "..", and no '/', '\\', '%', '?', '#', space or
 * control byte; 0 otherwise.
 */
int helicone_model_segment_ok(const unsigned char *s, size_t len);


#endif /* _HELICONE_MODEL_H_INCLUDED_ */
