/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Helicone's token-limit handler: the estimate and the rewrites. */

#include <string.h>

#include "helicone_tokenlimit.h"


#define HELICONE_TOKENLIMIT_OUTSIDE  HELICONE_TOKENLIMIT_MAX_ITEMS


static int helicone_tokenlimit_collect(helicone_tokenlimit_t *tl,
    const helicone_json_value_t *root);
static int helicone_tokenlimit_item(helicone_tokenlimit_t *tl,
    const helicone_json_value_t *item, int chat);
static int helicone_tokenlimit_content(helicone_tokenlimit_t *tl,
    const helicone_json_value_t *content, uint32_t item);
static int helicone_tokenlimit_text(helicone_tokenlimit_t *tl,
    const helicone_json_value_t *s, uint32_t item);
static void helicone_tokenlimit_units(helicone_tokenlimit_t *tl, int chat);
static int helicone_tokenlimit_ends(const helicone_json_value_t *s,
    const char *tail, size_t n);
static int helicone_tokenlimit_has_part(const helicone_json_value_t *content,
    const char *type, size_t n);
static size_t helicone_tokenlimit_char(const unsigned char *p,
    const unsigned char *end);
static int helicone_tokenlimit_space(const unsigned char *p, size_t n);
static int helicone_tokenlimit_surrogate(const unsigned char *p,
    const unsigned char *end, unsigned lo);
static size_t helicone_tokenlimit_walk(const helicone_tokenlimit_text_t *t,
    unsigned char **out);
static size_t helicone_tokenlimit_kept(const helicone_tokenlimit_t *tl);
static uint64_t helicone_tokenlimit_tokens(const helicone_tokenlimit_t *tl,
    size_t chars);
static void helicone_tokenlimit_cap(helicone_tokenlimit_t *tl, size_t budget,
    int middle);
static void helicone_tokenlimit_drop(helicone_tokenlimit_t *tl,
    size_t budget);
static unsigned char *helicone_tokenlimit_write_item(
    const helicone_tokenlimit_t *tl, size_t i, unsigned char *p);
static unsigned char *helicone_tokenlimit_write(
    const helicone_tokenlimit_t *tl, const helicone_json_value_t *root,
    unsigned char *p);


helicone_tokenlimit_e
helicone_tokenlimit_strategy(const unsigned char *p, size_t len)
{
    size_t                i, k, n;
    unsigned char         c;
    const unsigned char  *end;

    static const struct {
        const char             *name;
        size_t                  len;
        helicone_tokenlimit_e   strategy;
    } names[] = {
        { "truncate", 8, HELICONE_TOKENLIMIT_TRUNCATE },
        { "middle-out", 10, HELICONE_TOKENLIMIT_MIDDLE_OUT },
        { "fallback", 8, HELICONE_TOKENLIMIT_FALLBACK },
    };

    end = p + len;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    while (end > p && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }

    n = (size_t) (end - p);

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (n != names[i].len) {
            continue;
        }

        for (k = 0; k < n; k++) {
            c = p[k];
            c = (c >= 'A' && c <= 'Z') ? (unsigned char) (c | 0x20) : c;

            if (c != (unsigned char) names[i].name[k]) {
                break;
            }
        }

        if (k == n) {
            return names[i].strategy;
        }
    }

    return HELICONE_TOKENLIMIT_NONE;
}


const char *
helicone_tokenlimit_name(helicone_tokenlimit_e strategy)
{
    switch (strategy) {
    case HELICONE_TOKENLIMIT_TRUNCATE:
        return "truncate";
    case HELICONE_TOKENLIMIT_MIDDLE_OUT:
        return "middle-out";
    case HELICONE_TOKENLIMIT_FALLBACK:
        return "fallback";
    default:
        return "none";
    }
}


uint64_t
helicone_tokenlimit_requested(const helicone_json_value_t *root)
{
    size_t                 i;
    int64_t                n;
    helicone_json_value_t  v;

    static const helicone_str_t  names[] = {
        helicone_string("max_completion_tokens"),
        helicone_string("max_tokens"),
        helicone_string("max_output_tokens"),
    };

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (helicone_json_object_get(root, (const char *) names[i].data,
                                     names[i].len, &v) == HELICONE_OK
            && helicone_json_int64(&v, &n) == HELICONE_OK
            && n > 0)
        {
            return (uint64_t) n;
        }
    }

    return 0;
}


uint64_t
helicone_tokenlimit_limit(uint64_t context,
    const helicone_json_value_t *root)
{
    uint64_t  answer;

    answer = helicone_tokenlimit_requested(root);

    if (answer == 0) {
        answer = context / 10;
    }

    return answer >= context ? 0 : context - answer;
}


int
helicone_tokenlimit_estimate(helicone_tokenlimit_t *tl,
    const helicone_json_value_t *root)
{
    int     rc;
    size_t  i, chars;

    rc = helicone_tokenlimit_collect(tl, root);

    chars = tl->fixed_chars;

    for (i = 0; i < tl->ntexts; i++) {
        chars += tl->texts[i].chars;
    }

    tl->estimate = helicone_tokenlimit_tokens(tl, chars);
    tl->result = tl->estimate;

    return rc;
}


int
helicone_tokenlimit_fit(helicone_tokenlimit_t *tl,
    const helicone_json_value_t *root, unsigned char *out, size_t *len)
{
    size_t                       i, budget, chars;
    uint64_t                     most;
    helicone_tokenlimit_text_t  *t;

    tl->dropped = 0;
    tl->cut = 0;

    if (helicone_tokenlimit_estimate(tl, root) != HELICONE_OK
        || tl->estimate <= tl->limit)
    {
        return HELICONE_DECLINED;
    }

    /* the most characters whose estimate is within the limit */
    most = tl->limit * 100 / tl->per_char;

    if (tl->limit > UINT64_MAX / 100 || most > SIZE_MAX) {
        return HELICONE_DECLINED;
    }

    if ((size_t) most < tl->fixed_chars) {
        return HELICONE_ERROR;
    }

    budget = (size_t) most - tl->fixed_chars;

    if (tl->strategy == HELICONE_TOKENLIMIT_TRUNCATE) {
        chars = 0;

        for (i = 0; i < tl->ntexts; i++) {
            tl->texts[i].folded = 1;
            tl->texts[i].norm = helicone_tokenlimit_walk(&tl->texts[i], NULL);
            tl->texts[i].keep = tl->texts[i].norm;
            chars += tl->texts[i].norm;
        }

        if (chars > budget) {
            helicone_tokenlimit_cap(tl, budget, 0);
        }

    } else if (tl->strategy == HELICONE_TOKENLIMIT_MIDDLE_OUT) {
        helicone_tokenlimit_drop(tl, budget);

        if (helicone_tokenlimit_kept(tl) > budget) {
            helicone_tokenlimit_cap(tl, budget, 1);
        }

    } else {
        return HELICONE_DECLINED;
    }

    for (i = 0; i < tl->ntexts; i++) {
        t = &tl->texts[i];

        if (t->keep < t->norm) {
            tl->cut++;
        }

        if ((t->keep < t->chars || t->folded)
            && t->item != HELICONE_TOKENLIMIT_OUTSIDE)
        {
            tl->items[t->item].changed = 1;
        }
    }

    tl->result = helicone_tokenlimit_tokens(tl, tl->fixed_chars
                                                + helicone_tokenlimit_kept(tl));

    *len = (size_t) (helicone_tokenlimit_write(tl, root, out) - out);

    return HELICONE_OK;
}


/*
 * The members the estimate counts, in the order of the text: "messages"
 * (chat) or "input" and "instructions" (Responses), and "tools".
 */

static int
helicone_tokenlimit_collect(helicone_tokenlimit_t *tl,
    const helicone_json_value_t *root)
{
    int                    chat;
    helicone_json_iter_t   it;
    helicone_json_value_t  key, v, m[4];

    enum { messages = 0, input, instructions, tools };

    static const helicone_str_t  names[] = {
        helicone_string("messages"), helicone_string("input"),
        helicone_string("instructions"), helicone_string("tools")
    };

    tl->nitems = 0;
    tl->ntexts = 0;
    tl->fixed_chars = 0;
    tl->list.type = HELICONE_JSON_INVALID;

    if (helicone_json_object_pick(root, names, 4, m) != HELICONE_OK) {
        return HELICONE_OK;
    }

    if (m[tools].type == HELICONE_JSON_ARRAY) {
        tl->fixed_chars = m[tools].len;
    }

    chat = (m[messages].type == HELICONE_JSON_ARRAY);

    /* texts outside the list come before or after it, in text order */
    if (!chat && m[instructions].type == HELICONE_JSON_STRING
        && m[instructions].start < m[input].start
        && helicone_tokenlimit_text(tl, &m[instructions],
                                    HELICONE_TOKENLIMIT_OUTSIDE)
           != HELICONE_OK)
    {
        return HELICONE_DECLINED;
    }

    if (chat) {
        tl->list = m[messages];

    } else if (m[input].type == HELICONE_JSON_ARRAY) {
        tl->list = m[input];

    } else if (m[input].type == HELICONE_JSON_STRING) {
        if (helicone_tokenlimit_text(tl, &m[input],
                                     HELICONE_TOKENLIMIT_OUTSIDE)
            != HELICONE_OK)
        {
            return HELICONE_DECLINED;
        }
    }

    if (tl->list.type == HELICONE_JSON_ARRAY) {
        if (helicone_json_iter_init(&it, &tl->list) != HELICONE_OK) {
            return HELICONE_DECLINED;
        }

        while (helicone_json_iter_next(&it, &key, &v) == HELICONE_OK) {
            if (helicone_tokenlimit_item(tl, &v, chat) != HELICONE_OK) {
                return HELICONE_DECLINED;
            }
        }

        helicone_tokenlimit_units(tl, chat);
    }

    if (!chat && m[instructions].type == HELICONE_JSON_STRING
        && m[instructions].start > m[input].start
        && helicone_tokenlimit_text(tl, &m[instructions],
                                    HELICONE_TOKENLIMIT_OUTSIDE)
           != HELICONE_OK)
    {
        return HELICONE_DECLINED;
    }

    return HELICONE_OK;
}


/* One message or input item, and the texts it holds. */

static int
helicone_tokenlimit_item(helicone_tokenlimit_t *tl,
    const helicone_json_value_t *item, int chat)
{
    size_t                       k, n, first;
    uint32_t                     i;
    helicone_json_value_t        m[2];
    helicone_tokenlimit_text_t   t;
    helicone_tokenlimit_item_t  *it;

    enum { content = 0, output };

    static const helicone_str_t  names[] = {
        helicone_string("content"), helicone_string("output")
    };

    if (tl->nitems == HELICONE_TOKENLIMIT_MAX_ITEMS) {
        return HELICONE_DECLINED;
    }

    i = (uint32_t) tl->nitems++;
    it = &tl->items[i];
    first = tl->ntexts;

    it->value = *item;
    it->unit = i;
    it->fixed = 0;
    it->dropped = 0;
    it->changed = 0;

    if (helicone_json_object_pick(item, names, 2, m) != HELICONE_OK) {
        return HELICONE_OK;
    }

    if (helicone_tokenlimit_content(tl, &m[content], i) != HELICONE_OK) {
        return HELICONE_DECLINED;
    }

    /* a Responses function_call_output's result is prompt text too */
    if (!chat && m[output].type == HELICONE_JSON_STRING
        && helicone_tokenlimit_text(tl, &m[output], i) != HELICONE_OK)
    {
        return HELICONE_DECLINED;
    }

    /* the writer wants them in the order of the text: "output" may come
     * before "content" (an insertion sort: an item has a few) */
    for (k = first + 1; k < tl->ntexts; k++) {
        t = tl->texts[k];

        for (n = k; n > first && tl->texts[n - 1].start > t.start; n--) {
            tl->texts[n] = tl->texts[n - 1];
        }

        tl->texts[n] = t;
    }

    return HELICONE_OK;
}


/* A content: a string, or parts of which those with "text" count. */

static int
helicone_tokenlimit_content(helicone_tokenlimit_t *tl,
    const helicone_json_value_t *content, uint32_t item)
{
    helicone_json_iter_t   it;
    helicone_json_value_t  key, part, text;

    if (content->type == HELICONE_JSON_STRING) {
        return helicone_tokenlimit_text(tl, content, item);
    }

    if (content->type != HELICONE_JSON_ARRAY
        || helicone_json_iter_init(&it, content) != HELICONE_OK)
    {
        return HELICONE_OK;
    }

    while (helicone_json_iter_next(&it, &key, &part) == HELICONE_OK) {
        if (part.type == HELICONE_JSON_OBJECT
            && helicone_json_object_get(&part, "text", 4, &text)
               == HELICONE_OK
            && text.type == HELICONE_JSON_STRING
            && helicone_tokenlimit_text(tl, &text, item) != HELICONE_OK)
        {
            return HELICONE_DECLINED;
        }
    }

    return HELICONE_OK;
}


static int
helicone_tokenlimit_text(helicone_tokenlimit_t *tl,
    const helicone_json_value_t *s, uint32_t item)
{
    helicone_tokenlimit_text_t  *t;

    if (tl->ntexts == HELICONE_TOKENLIMIT_MAX_TEXTS) {
        return HELICONE_DECLINED;
    }

    t = &tl->texts[tl->ntexts++];

    t->start = s->start + 1;
    t->len = s->len - 2;
    t->item = item;
    t->folded = 0;
    t->middle = 0;
    t->chars = helicone_tokenlimit_walk(t, NULL);
    t->norm = t->chars;
    t->keep = t->chars;

    return HELICONE_OK;
}


/*
 * Which items go together, and which stay: the leading system and
 * developer messages, and the last unit. A chat assistant message with
 * "tool_calls" and the "tool" messages after it are one unit (with a
 * legacy "function_call", the "function" message; in Anthropic's
 * Messages, "tool_use" and "tool_result" blocks); so are a
 * Responses "function_call" and the "function_call_output" items after
 * it (any "..._call" and "..._call_output": custom tools, computer use,
 * shell): a provider refuses a tool result whose call is gone. A Responses
 * "reasoning" item joins the item after it: OpenAI refuses either
 * without the other.
 */

static void
helicone_tokenlimit_units(helicone_tokenlimit_t *tl, int chat)
{
    size_t                 i;
    uint32_t               unit;
    unsigned               leading, call, is_call, prev_call, reasoning;
    helicone_json_value_t  m[5];

    enum { role = 0, type, tool_calls, function_call, content };

    static const helicone_str_t  names[] = {
        helicone_string("role"), helicone_string("type"),
        helicone_string("tool_calls"), helicone_string("function_call"),
        helicone_string("content")
    };

    leading = 1;
    call = 0;
    prev_call = 0;
    reasoning = 0;
    unit = 0;

    for (i = 0; i < tl->nitems; i++) {
        /* an item that is no object has every member absent */
        (void) helicone_json_object_pick(&tl->items[i].value, names, 5, m);

        if (leading
            && (helicone_json_string_eq(&m[role], "system", 6)
                || helicone_json_string_eq(&m[role], "developer", 9)))
        {
            tl->items[i].fixed = 1;
            continue;
        }

        leading = 0;

        /* a tool result joins the unit of its call ("function": the
         * legacy functions API's) */
        if (call
            && (chat ? helicone_json_string_eq(&m[role], "tool", 4)
                       || helicone_json_string_eq(&m[role], "function", 8)
                       || helicone_tokenlimit_has_part(&m[content],
                                                       "tool_result", 11)
                     : helicone_tokenlimit_ends(&m[type], "_call_output",
                                                12)))
        {
            tl->items[i].unit = unit;
            prev_call = 0;
            continue;
        }

        is_call = chat ? ((m[tool_calls].type == HELICONE_JSON_ARRAY
                           && m[tool_calls].len > 2)
                          || m[function_call].type == HELICONE_JSON_OBJECT
                          || helicone_tokenlimit_has_part(&m[content],
                                                          "tool_use", 8))
                       : helicone_tokenlimit_ends(&m[type], "_call", 5);

        /* Responses items: parallel calls are one function_call each,
         * their outputs after all of them */
        if (!(is_call && prev_call) && !reasoning) {
            unit = (uint32_t) i;
        }

        tl->items[i].unit = unit;
        call = is_call;
        prev_call = is_call && !chat;
        reasoning = !chat && helicone_json_string_eq(&m[type], "reasoning",
                                                     9);
    }

    /* the last unit, the question being asked, always stays */
    if (tl->nitems) {
        unit = tl->items[tl->nitems - 1].unit;

        for (i = tl->nitems; i > 0 && tl->items[i - 1].unit == unit; i--) {
            tl->items[i - 1].fixed = 1;
        }
    }
}


/* Whether s is a string (as sent, unescaped) that ends with tail. */

static int
helicone_tokenlimit_ends(const helicone_json_value_t *s, const char *tail,
    size_t n)
{
    return s->type == HELICONE_JSON_STRING && s->len >= n + 2
           && memcmp(s->start + s->len - 1 - n, tail, n) == 0;
}


/* Whether content is an array with a part of that "type". */

static int
helicone_tokenlimit_has_part(const helicone_json_value_t *content,
    const char *type, size_t n)
{
    helicone_json_iter_t   it;
    helicone_json_value_t  key, part, t;

    if (content->type != HELICONE_JSON_ARRAY
        || helicone_json_iter_init(&it, content) != HELICONE_OK)
    {
        return 0;
    }

    while (helicone_json_iter_next(&it, &key, &part) == HELICONE_OK) {
        if (part.type == HELICONE_JSON_OBJECT
            && helicone_json_object_get(&part, "type", 4, &t) == HELICONE_OK
            && helicone_json_string_eq(&t, type, n))
        {
            return 1;
        }
    }

    return 0;
}


/* The bytes of the character at p in a string's text (p < end). */

static size_t
helicone_tokenlimit_char(const unsigned char *p, const unsigned char *end)
{
    size_t  n;

    if (*p == '\\') {
        if (end - p < 2 || p[1] != 'u') {
            return (end - p < 2) ? 1 : 2;
        }

        /* a surrogate pair is one character, never cut in two */
        if (helicone_tokenlimit_surrogate(p, end, 0)
            && helicone_tokenlimit_surrogate(p + 6, end, 1))
        {
            return 12;
        }

        return (end - p < 6) ? (size_t) (end - p) : 6;
    }

    n = (*p < 0x80) ? 1 : (*p < 0xe0) ? 2 : (*p < 0xf0) ? 3 : 4;

    return ((size_t) (end - p) < n) ? (size_t) (end - p) : n;
}


/* Whether p holds a \u escape of a high (lo 0) or low (lo 1) surrogate. */

static int
helicone_tokenlimit_surrogate(const unsigned char *p,
    const unsigned char *end, unsigned lo)
{
    unsigned char  c;

    if (end - p < 6 || p[0] != '\\' || p[1] != 'u'
        || (p[2] | 0x20) != 'd')
    {
        return 0;
    }

    c = p[3] | 0x20;

    return lo ? (c >= 'c' && c <= 'f') : (c == '8' || c == '9'
                                          || c == 'a' || c == 'b');
}


/* A space, or an escaped tab, line feed, carriage return or form feed. */

static int
helicone_tokenlimit_space(const unsigned char *p, size_t n)
{
    if (n == 1) {
        return *p == ' ';
    }

    return n == 2 && (p[1] == 'n' || p[1] == 't' || p[1] == 'r'
                      || p[1] == 'f');
}


/*
 * Walks a text character by character, as the rewrite gives it: white
 * space folded to single spaces and trimmed when t->folded; of those,
 * the first (and with t->middle, the last) t->keep kept. Writes what is
 * kept at *pout and moves it on, unless pout is NULL; returns the
 * characters of the walked text before the cut.
 */

static size_t
helicone_tokenlimit_walk(const helicone_tokenlimit_text_t *t,
    unsigned char **pout)
{
    size_t                n, i, head, tail, total;
    unsigned              seen, space;
    unsigned char        *out;
    const unsigned char  *p, *end;

    out = pout ? *pout : NULL;

    total = t->folded ? t->norm : t->chars;
    head = t->middle ? t->keep - t->keep / 2 : t->keep;
    tail = t->middle ? t->keep / 2 : 0;

    p = t->start;
    end = t->start + t->len;
    i = 0;
    seen = 0;
    space = 0;

    while (p < end) {
        n = helicone_tokenlimit_char(p, end);

        if (t->folded && helicone_tokenlimit_space(p, n)) {
            space = seen;
            p += n;
            continue;
        }

        if (space) {
            if (out && (i < head || i >= total - tail)) {
                *out++ = ' ';
            }

            i++;
            space = 0;
        }

        if (out && (i < head || i >= total - tail)) {
            memcpy(out, p, n);
            out += n;
        }

        i++;
        seen = 1;
        p += n;
    }

    if (pout) {
        *pout = out;
    }

    return i;
}


static size_t
helicone_tokenlimit_kept(const helicone_tokenlimit_t *tl)
{
    size_t  i, chars;

    chars = 0;

    for (i = 0; i < tl->ntexts; i++) {
        if (tl->texts[i].item == HELICONE_TOKENLIMIT_OUTSIDE
            || !tl->items[tl->texts[i].item].dropped)
        {
            chars += tl->texts[i].keep;
        }
    }

    return chars;
}


static uint64_t
helicone_tokenlimit_tokens(const helicone_tokenlimit_t *tl, size_t chars)
{
    return ((uint64_t) chars * tl->per_char + 99) / 100;
}


/*
 * The longest texts (of the items kept) cut to one common length, the
 * largest that keeps their sum within budget: a long pasted document
 * loses most, short questions nothing.
 */

static void
helicone_tokenlimit_cap(helicone_tokenlimit_t *tl, size_t budget, int middle)
{
    size_t                       i, lo, hi, cap, sum, have;
    helicone_tokenlimit_text_t  *t;

    lo = 0;
    hi = 0;

    for (i = 0; i < tl->ntexts; i++) {
        t = &tl->texts[i];
        have = t->folded ? t->norm : t->chars;
        hi = have > hi ? have : hi;
    }

    /* the largest cap whose sum fits: sum(min(have, cap)) <= budget */
    while (lo < hi) {
        cap = lo + (hi - lo + 1) / 2;
        sum = 0;

        for (i = 0; i < tl->ntexts; i++) {
            t = &tl->texts[i];

            if (t->item != HELICONE_TOKENLIMIT_OUTSIDE
                && tl->items[t->item].dropped)
            {
                continue;
            }

            have = t->folded ? t->norm : t->chars;
            sum += have < cap ? have : cap;
        }

        if (sum <= budget) {
            lo = cap;

        } else {
            hi = cap - 1;
        }
    }

    for (i = 0; i < tl->ntexts; i++) {
        t = &tl->texts[i];
        have = t->folded ? t->norm : t->chars;

        if (have > lo) {
            t->keep = lo;
            t->middle = middle;
        }
    }
}


/*
 * Middle-out: whole units dropped from the middle of those that may go,
 * one at a time, until the rest fits or none is left.
 */

static void
helicone_tokenlimit_drop(helicone_tokenlimit_t *tl, size_t budget)
{
    size_t    i, n, k, mid;
    uint32_t  unit;

    while (helicone_tokenlimit_kept(tl) > budget) {
        /* the units left that may be dropped, and the middle one */
        n = 0;

        for (i = 0; i < tl->nitems; i++) {
            if (!tl->items[i].fixed && !tl->items[i].dropped
                && tl->items[i].unit == i)
            {
                n++;
            }
        }

        if (n == 0) {
            return;
        }

        mid = n / 2;
        k = 0;
        unit = 0;

        for (i = 0; i < tl->nitems; i++) {
            if (!tl->items[i].fixed && !tl->items[i].dropped
                && tl->items[i].unit == i && k++ == mid)
            {
                unit = (uint32_t) i;
                break;
            }
        }

        for (i = unit; i < tl->nitems; i++) {
            if (tl->items[i].unit == unit) {
                tl->items[i].dropped = 1;
                tl->dropped++;
            }
        }
    }
}


/* An item as the client sent it, its rewritten texts in place. */

static unsigned char *
helicone_tokenlimit_write_item(const helicone_tokenlimit_t *tl, size_t i,
    unsigned char *p)
{
    size_t                             k;
    const unsigned char               *from, *end;
    const helicone_tokenlimit_text_t  *t;

    from = tl->items[i].value.start;
    end = from + tl->items[i].value.len;

    if (tl->items[i].changed) {
        for (k = 0; k < tl->ntexts; k++) {
            t = &tl->texts[k];

            if (t->item != i) {
                continue;
            }

            memcpy(p, from, (size_t) (t->start - from));
            p += t->start - from;
            (void) helicone_tokenlimit_walk(t, &p);

            from = t->start + t->len;
        }
    }

    memcpy(p, from, (size_t) (end - from));

    return p + (end - from);
}


/*
 * The body: the client's bytes, the list rebuilt from the items kept,
 * and the texts outside it (instructions, a string input) rewritten.
 */

static unsigned char *
helicone_tokenlimit_write(const helicone_tokenlimit_t *tl,
    const helicone_json_value_t *root, unsigned char *p)
{
    size_t                             i, k;
    unsigned                           first;
    const unsigned char               *from, *end, *list_end;
    const helicone_tokenlimit_text_t  *t;

    from = root->start;
    end = root->start + root->len;
    list_end = NULL;
    k = 0;

    while (from < end) {
        /* the next edit: an outside text, or the list, whichever is
         * first */
        while (k < tl->ntexts && tl->texts[k].item
                                 != HELICONE_TOKENLIMIT_OUTSIDE)
        {
            k++;
        }

        t = (k < tl->ntexts) ? &tl->texts[k] : NULL;

        if (tl->list.type == HELICONE_JSON_ARRAY && list_end == NULL
            && (t == NULL || tl->list.start < t->start))
        {
            memcpy(p, from, (size_t) (tl->list.start - from));
            p += tl->list.start - from;

            *p++ = '[';
            first = 1;

            for (i = 0; i < tl->nitems; i++) {
                if (tl->items[i].dropped) {
                    continue;
                }

                if (!first) {
                    *p++ = ',';
                }

                first = 0;
                p = helicone_tokenlimit_write_item(tl, i, p);
            }

            *p++ = ']';

            list_end = tl->list.start + tl->list.len;
            from = list_end;
            continue;
        }

        if (t == NULL) {
            break;
        }

        memcpy(p, from, (size_t) (t->start - from));
        p += t->start - from;
        (void) helicone_tokenlimit_walk(t, &p);

        from = t->start + t->len;
        k++;
    }

    memcpy(p, from, (size_t) (end - from));

    return p + (end - from);
}
