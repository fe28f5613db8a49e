/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Helicone's token-limit exception handler: an estimate of the prompt
 * tokens of an OpenAI chat or Responses body, and the rewrites that make
 * a body fit a limit ("truncate", "middle-out"). Knows no models or
 * providers: the caller brings the limit.
 */

#ifndef _HELICONE_TOKENLIMIT_H_INCLUDED_
#define _HELICONE_TOKENLIMIT_H_INCLUDED_


#include "helicone_core.h"
#include "helicone_json.h"


/* Helicone's estimate: a quarter of a token per character, a fifth for
 * gpt-3.5-turbo; in hundredths of a token */
#define HELICONE_TOKENLIMIT_PER_CHAR          25
#define HELICONE_TOKENLIMIT_PER_CHAR_GPT35    20

/* what one rewrite looks at; a larger body is left as it is */
#define HELICONE_TOKENLIMIT_MAX_ITEMS         1024
#define HELICONE_TOKENLIMIT_MAX_TEXTS         2048


typedef enum {
    HELICONE_TOKENLIMIT_NONE = 0,
    HELICONE_TOKENLIMIT_TRUNCATE,
    HELICONE_TOKENLIMIT_MIDDLE_OUT,
    HELICONE_TOKENLIMIT_FALLBACK
} helicone_tokenlimit_e;


/* One string the estimate counts: its bytes between the quotes. */
typedef struct {
    const unsigned char   *start;
    size_t                 len;
    size_t                 chars;       /* characters, escapes decoded */
    size_t                 norm;        /* characters once white space is
                                           folded (truncate) */
    size_t                 keep;        /* characters kept by the rewrite */
    uint32_t               item;        /* its message or input item;
                                           HELICONE_TOKENLIMIT_MAX_ITEMS:
                                           "instructions" */
    unsigned               folded:1;    /* white space folded */
    unsigned               middle:1;    /* cut in the middle, not at the
                                           end */
} helicone_tokenlimit_text_t;


/* One element of "messages" or of the Responses "input" array. */
typedef struct {
    helicone_json_value_t  value;
    uint32_t               unit;        /* items dropped together share it
                                           (a tool call and its results) */
    unsigned               fixed:1;     /* never dropped */
    unsigned               dropped:1;
    unsigned               changed:1;   /* one of its texts is rewritten */
} helicone_tokenlimit_item_t;


/*
 * A rewrite's state: large (about 100 KB), so the caller allocates it
 * (from the request's pool); helicone_tokenlimit_fit() fills it.
 */
typedef struct {
    /* in: set before helicone_tokenlimit_fit() */
    helicone_tokenlimit_e        strategy;
    unsigned                     per_char;   /* hundredths of a token */
    uint64_t                     limit;      /* tokens the prompt may use */

    /* out */
    uint64_t                     estimate;   /* the body as it came */
    uint64_t                     result;     /* the body as rewritten */
    size_t                       dropped;    /* messages or items dropped */
    size_t                       cut;        /* texts shortened */

    /* work */
    helicone_json_value_t        list;       /* "messages" or "input" */
    size_t                       fixed_chars; /* tools, counted, kept */
    size_t                       nitems;
    size_t                       ntexts;
    helicone_tokenlimit_item_t   items[HELICONE_TOKENLIMIT_MAX_ITEMS];
    helicone_tokenlimit_text_t   texts[HELICONE_TOKENLIMIT_MAX_TEXTS];
} helicone_tokenlimit_t;


/*
 * The strategy a Helicone-Token-Limit-Exception-Handler value names
 * (case-insensitive, white space around it ignored);
 * HELICONE_TOKENLIMIT_NONE for any other value, as Helicone ignores them.
 */
helicone_tokenlimit_e helicone_tokenlimit_strategy(const unsigned char *p,
    size_t len);

/* The strategy's name as the log event gives it ("truncate", ...). */
const char *helicone_tokenlimit_name(helicone_tokenlimit_e strategy);

/*
 * The tokens root (a chat or Responses body, an object) asks for its
 * answer: max_completion_tokens, max_tokens or max_output_tokens, the
 * first present as a positive integer; 0 when none is.
 */
uint64_t helicone_tokenlimit_requested(const helicone_json_value_t *root);

/*
 * The tokens a prompt may use on a model with a context of context
 * tokens: the context less the answer asked for, or less a tenth of the
 * context when none is asked; 0 when the answer alone fills it.
 */
uint64_t helicone_tokenlimit_limit(uint64_t context,
    const helicone_json_value_t *root);

/*
 * Helicone's estimate of root's prompt tokens: ceil(characters * per_char
 * / 100) over the text of "messages" (string contents and text parts),
 * or of the Responses "input" and "instructions", plus the JSON of
 * "tools". tl->per_char must be set; fills tl's work fields and
 * tl->estimate. HELICONE_OK; HELICONE_DECLINED when root holds more
 * items or texts than a rewrite looks at (the estimate then counts only
 * those it saw).
 */
int helicone_tokenlimit_estimate(helicone_tokenlimit_t *tl,
    const helicone_json_value_t *root);

/*
 * Rewrites root (a parsed body) so that its estimate is at most
 * tl->limit, with tl->strategy (truncate or middle-out), into out, which
 * holds at least root->len bytes: a rewrite never adds bytes.
 *   truncate    white space in every text folded to single spaces, then
 *               the longest texts cut from their end to a common length;
 *               no message is dropped.
 *   middle-out  whole messages (input items) dropped from the middle,
 *               the leading system and developer messages and the last
 *               one kept, a message with tool calls and the tool results
 *               answering it dropped together; if that is not enough,
 *               the longest texts lose their middle.
 * Texts are cut between characters: never inside a UTF-8 sequence, an
 * escape or a surrogate pair. Every other byte is the client's.
 * Returns HELICONE_OK with *len; HELICONE_DECLINED when the body fits
 * already or is too large to look at (out unused); HELICONE_ERROR when
 * nothing would make it fit (what is counted but kept, the tools, is
 * over the limit by itself). tl->estimate and tl->result tell the
 * tokens before and after.
 */
int helicone_tokenlimit_fit(helicone_tokenlimit_t *tl,
    const helicone_json_value_t *root, unsigned char *out, size_t *len);


#endif /* _HELICONE_TOKENLIMIT_H_INCLUDED_ */
