/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Helicone API keys: the hash Helicone stores, key file lines, compare. */

#ifndef _HELICONE_KEYS_H_INCLUDED_
#define _HELICONE_KEYS_H_INCLUDED_


#include <openssl/evp.h>

#include "helicone_core.h"


#define HELICONE_SHA256_LEN  32


/*
 * A digest in pieces: init, update as often as needed, final. It runs on
 * one EVP context per process (a worker is one thread), so one digest
 * must be finished before the next begins. EVP, not the low-level
 * SHA256_*() calls: those are deprecated in OpenSSL 3 and bypass its
 * providers (a FIPS provider, say).
 */
typedef struct {
    EVP_MD_CTX         *md;          /* NULL when libcrypto failed */
} helicone_sha256_t;

void helicone_sha256_init(helicone_sha256_t *sha);
void helicone_sha256_update(helicone_sha256_t *sha, const void *data,
    size_t len);
/* out is zeros when libcrypto failed: a value no key hashes to */
void helicone_sha256_final(helicone_sha256_t *sha,
    unsigned char out[HELICONE_SHA256_LEN]);

/* SHA-256 of one buffer; zeros when libcrypto fails. */
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

/* A hash of a key for a memo's slot: every byte counts, no secret kept. */
uint64_t helicone_key_slot_hash(const unsigned char *key, size_t len);


#endif /* _HELICONE_KEYS_H_INCLUDED_ */
