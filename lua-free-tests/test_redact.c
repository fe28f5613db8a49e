/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Tests for core/helicone_redact.c: key parameters out of logged URLs. */

#include <stdlib.h>
#include <string.h>

#include "helicone_redact.h"
#include "tap.h"


static void check(const char *url, const char *want);


static void
check(const char *url, const char *want)
{
    size_t          len, size, n;
    unsigned char  *out;

    len = strlen(url);
    size = helicone_url_redact_size((const unsigned char *) url, len);

    /* exactly the room promised: ASan catches a write past it */
    out = malloc(size ? size : 1);
    if (out == NULL) {
        abort();
    }

    n = helicone_url_redact((const unsigned char *) url, len, out);

    ok(n <= size && n == strlen(want) && memcmp(out, want, n) == 0,
       "\"%s\" -> \"%.*s\"", url, (int) n, out);

    free(out);
}


int
main(void)
{
    check("", "");
    check("/v1/chat/completions", "/v1/chat/completions");
    check("http://h/v1/models/gemini:generateContent?key=AIzaSECRET",
          "http://h/v1/models/gemini:generateContent?key=REDACTED");
    check("/p?alt=sse&key=AIza&x=1", "/p?alt=sse&key=REDACTED&x=1");
    check("/p?KEY=a&Api-Key=b&api_key=c&apikey=d&x-api-key=e",
          "/p?KEY=REDACTED&Api-Key=REDACTED&api_key=REDACTED"
          "&apikey=REDACTED&x-api-key=REDACTED");
    check("/p?access_token=t&token=u&secret=v&password=w&sig=x"
          "&signature=y",
          "/p?access_token=REDACTED&token=REDACTED&secret=REDACTED"
          "&password=REDACTED&sig=REDACTED&signature=REDACTED");
    check("/p?k%65y=AIza", "/p?k%65y=REDACTED");
    check("/p?%6B%45%79=AIza", "/p?%6B%45%79=REDACTED");
    check("/p?key=", "/p?key=REDACTED");
    check("/p?key", "/p?key");
    check("/p?keys=a&monkey=b&key2=c", "/p?keys=a&monkey=b&key2=c");
    check("/p?key=a;key=b", "/p?key=REDACTED;key=REDACTED");
    check("/p?key=a&&key=b&", "/p?key=REDACTED&&key=REDACTED&");
    check("/p?key=a#&key=b", "/p?key=REDACTED&key=REDACTED");
    check("/p?", "/p?");
    check("/p?x=1?key=2", "/p?x=1?key=2");
    check("/p?%=1&%4=2&key%=3", "/p?%=1&%4=2&key%=3");
    check("/p?a-very-long-parameter-name=1&key=2",
          "/p?a-very-long-parameter-name=1&key=REDACTED");
    check("?key=a&key=b&key=c", "?key=REDACTED&key=REDACTED&key=REDACTED");
    check("/a&b;c/p?key=1&x=2", "/a&b;c/p?key=REDACTED&x=2");

    /* no query, no room beyond the URL itself */
    ok(helicone_url_redact_size((const unsigned char *) "/a&b;c/p", 8) == 8,
       "no query: the URL's length");

    return done_testing();
}
