/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Secrets out of what is logged: key parameters in a URL's query. */

#ifndef _HELICONE_REDACT_H_INCLUDED_
#define _HELICONE_REDACT_H_INCLUDED_


#include "helicone_core.h"


#define HELICONE_REDACTED      "REDACTED"
#define HELICONE_REDACTED_LEN  (sizeof(HELICONE_REDACTED) - 1)


/*
 * The room helicone_url_redact() may need for url: its length and
 * HELICONE_REDACTED_LEN for each query parameter; its length when it has
 * no query.
 */
size_t helicone_url_redact_size(const unsigned char *url, size_t len);

/*
 * Copies url into out (of helicone_url_redact_size() bytes) with the
 * value of every query parameter that carries a key replaced by
 * HELICONE_REDACTED: key, api_key, api-key, apikey, x-api-key,
 * access_token, token, secret, password, sig and signature, names
 * compared case-insensitively after percent-decoding. All after the
 * first '?' is taken as the query (a '#' too: a server may read past
 * it). Returns the length written.
 */
size_t helicone_url_redact(const unsigned char *url, size_t len,
    unsigned char *out);


#endif /* _HELICONE_REDACT_H_INCLUDED_ */
