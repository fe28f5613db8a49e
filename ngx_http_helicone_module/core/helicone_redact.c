/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Key parameters redacted from URLs before they are logged. */

#include <string.h>

#include "helicone_redact.h"


/* longer names are no key parameter's */
#define HELICONE_REDACT_NAME_MAX  16


static int helicone_redact_secret(const unsigned char *name, size_t len);


static const char  *helicone_redact_names[] = {
    "key", "api_key", "api-key", "apikey", "x-api-key", "access_token",
    "token", "secret", "password", "sig", "signature", NULL
};


/* 1 when a parameter name (as sent: maybe percent-encoded) is a key's */

static int
helicone_redact_secret(const unsigned char *name, size_t len)
{
    int            hi, lo;
    size_t         i, n;
    unsigned char  c, buf[HELICONE_REDACT_NAME_MAX];
    const char   **k;

    n = 0;

    for (i = 0; i < len; i++) {
        c = name[i];

        if (c == '%' && i + 2 < len) {
            hi = helicone_hex(name[i + 1]);
            lo = helicone_hex(name[i + 2]);

            if (hi >= 0 && lo >= 0) {
                c = (unsigned char) (hi * 16 + lo);
                i += 2;
            }
        }

        if (n == HELICONE_REDACT_NAME_MAX) {
            return 0;
        }

        buf[n++] = (c >= 'A' && c <= 'Z') ? c | 0x20 : c;
    }

    for (k = helicone_redact_names; *k; k++) {
        if (strlen(*k) == n && memcmp(*k, buf, n) == 0) {
            return 1;
        }
    }

    return 0;
}


size_t
helicone_url_redact_size(const unsigned char *url, size_t len)
{
    size_t                i, size;
    const unsigned char  *q;

    size = len;

    /* before the query, nothing changes: most URLs have none */
    q = memchr(url, '?', len);

    if (q == NULL) {
        return size;
    }

    for (i = (size_t) (q - url); i < len; i++) {
        if (url[i] == '?' || url[i] == '&' || url[i] == ';') {
            size += HELICONE_REDACTED_LEN;
        }
    }

    return size;
}


size_t
helicone_url_redact(const unsigned char *url, size_t len, unsigned char *out)
{
    size_t                i, name, eq, end, qend;
    unsigned char        *o;
    const unsigned char  *q;

    q = memchr(url, '?', len);

    if (q == NULL) {
        memcpy(out, url, len);
        return len;
    }

    i = (size_t) (q - url) + 1;

    /* a '#' may follow, but a server may read past it: all is query */
    qend = len;

    memcpy(out, url, i);
    o = out + i;

    while (i < qend) {

        /* one parameter: url[name .. end), '=' at eq (or end) */

        name = i;

        for (end = i; end < qend; end++) {
            if (url[end] == '&' || url[end] == ';') {
                break;
            }
        }

        for (eq = name; eq < end && url[eq] != '='; eq++) {
            /* void */
        }

        if (eq < end && helicone_redact_secret(url + name, eq - name)) {
            memcpy(o, url + name, eq + 1 - name);
            o += eq + 1 - name;
            memcpy(o, HELICONE_REDACTED, HELICONE_REDACTED_LEN);
            o += HELICONE_REDACTED_LEN;

        } else {
            memcpy(o, url + name, end - name);
            o += end - name;
        }

        if (end < qend) {
            *o++ = url[end];
        }

        i = end + 1;
    }

    return (size_t) (o - out);
}
