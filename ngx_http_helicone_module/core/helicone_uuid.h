/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Request ids: UUIDv4 formatting and Helicone-Request-Id validation. */

#ifndef _HELICONE_UUID_H_INCLUDED_
#define _HELICONE_UUID_H_INCLUDED_


#include "helicone_core.h"


#define HELICONE_UUID_LEN  36


/* Sets the version and variant bits of rnd and writes 36 lower-case
 * characters (no terminating NUL). */
void helicone_uuid_v4_format(unsigned char rnd[16],
    unsigned char out[HELICONE_UUID_LEN]);

/*
 * 1 when s matches Helicone's accepted request id form
 * ^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$
 * (case-insensitive), else 0.
 */
int helicone_uuid_valid(const unsigned char *s, size_t len);


#endif /* _HELICONE_UUID_H_INCLUDED_ */
