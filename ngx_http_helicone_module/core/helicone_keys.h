/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Helicone API keys: the hash Helicone stores, key file lines, compare. */

#ifndef _HELICONE_KEYS_H_INCLUDED_
#define _HELICONE_KEYS_H_INCLUDED_


/*
 * SHA-256 by libcrypto's low-level calls: the same assembly as EVP (the
 * CPU's SHA extensions where it has them) without OpenSSL 3's malloc and
 * free of a digest context on every EVP_DigestInit_ex(). They are
 * deprecated in 3.0, not removed; a libcrypto built without deprecated
 * calls would need the EVP path back.
 */
#ifndef OPENSSL_SUPPRESS_DEPRECATED
#define OPENSSL_SUPPRESS_DEPRECATED
#endif
#include <openssl/sha.h>

#include "helicone_core.h"


#define HELICONE_SHA256_LEN  32


typedef SHA256_CTX  helicone_sha256_t;

/* a digest in pieces: init, update as often as needed, final */
void helicone_sha256_init(helicone_sha256_t *sha);
void helicone_sha256_update(helicone_sha256_t *sha, const void *data,
    size_t len);
void helicone_sha256_final(helicone_sha256_t *sha,
    unsigned char out[HELICONE_SHA256_LEN]);

/* SHA-256 of one buffer. */
void helicone_sha256(const void *data, size_t len,
    unsigned char out[HELICONE_SHA256_LEN]);

/* SHA-256 of "Bearer " + key: what Helicone stores as api_key_hash. */
void helicone_key_hash(const unsigned char *key, size_t len,
    unsigned char out[HELICONE_SHA256_LEN]);

/*
 * Parses one line of a keys file, "<sha256-hex> <org-id> [name]",
 * white space separated, the hex in either case:
 * HELICONE_OK; HELICONE_DECLINED for a blank or "#" comment line;
 * HELICONE_ERROR for anything else. org and name point into line.
 */
int helicone_keys_parse_line(const unsigned char *line, size_t len,
    unsigned char sha[HELICONE_SHA256_LEN], helicone_str_t *org,
    helicone_str_t *name);

/* Compares n bytes in time independent of their contents: 1 equal. */
int helicone_ct_equal(const unsigned char *a, const unsigned char *b,
    size_t n);


#endif /* _HELICONE_KEYS_H_INCLUDED_ */
