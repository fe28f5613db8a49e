/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Helicone API key hashing, keys file lines, constant-time compare. */

#include <string.h>

#include "helicone_keys.h"


#define HELICONE_KEYS_HEX_LEN  (2 * HELICONE_SHA256_LEN)


static int helicone_keys_space(unsigned char c);


/*
 * The digest and its context are made once per process and reused: with
 * OpenSSL 3, EVP_sha256() alone means a fetch under a lock on every use,
 * and a new context a malloc and a free.
 */

void
helicone_sha256_init(helicone_sha256_t *sha)
{
    static const EVP_MD  *sha256;
    static EVP_MD_CTX    *md;

    sha->md = NULL;

    if (sha256 == NULL) {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
        sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
#endif
        if (sha256 == NULL) {
            sha256 = EVP_sha256();
        }
    }

    if (md == NULL) {
        md = EVP_MD_CTX_new();

        if (md == NULL) {
            return;
        }
    }

    if (EVP_DigestInit_ex(md, sha256, NULL) == 1) {
        sha->md = md;
    }
}


void
helicone_sha256_update(helicone_sha256_t *sha, const void *data, size_t len)
{
    if (sha->md && len && data
        && EVP_DigestUpdate(sha->md, data, len) != 1)
    {
        sha->md = NULL;
    }
}


void
helicone_sha256_final(helicone_sha256_t *sha,
    unsigned char out[HELICONE_SHA256_LEN])
{
    if (sha->md == NULL || EVP_DigestFinal_ex(sha->md, out, NULL) != 1) {
        memset(out, 0, HELICONE_SHA256_LEN);
    }

    sha->md = NULL;
}


void
helicone_sha256(const void *data, size_t len,
    unsigned char out[HELICONE_SHA256_LEN])
{
    helicone_sha256_t  sha;

    helicone_sha256_init(&sha);
    helicone_sha256_update(&sha, data, len);
    helicone_sha256_final(&sha, out);
}


/* SHA-256 of "Bearer " + key: what Helicone stores as api_key_hash */

void
helicone_key_hash(const unsigned char *key, size_t len,
    unsigned char out[HELICONE_SHA256_LEN])
{
    helicone_sha256_t  sha;

    helicone_sha256_init(&sha);
    helicone_sha256_update(&sha, "Bearer ", 7);
    helicone_sha256_update(&sha, key, len);
    helicone_sha256_final(&sha, out);
}


static int
helicone_keys_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v'
           || c == '\f';
}


int
helicone_keys_parse_line(const unsigned char *line, size_t len,
    unsigned char sha[HELICONE_SHA256_LEN], helicone_str_t *org,
    helicone_str_t *name)
{
    int                   hi, lo;
    size_t                i;
    unsigned char         any, hash[HELICONE_SHA256_LEN];
    const unsigned char  *p, *end, *tok;

    any = 0;

    if (line == NULL) {
        return HELICONE_DECLINED;
    }

    p = line;
    end = line + len;

    /* line ends: the caller may pass "...\r\n" or "...\n" */

    while (end > p && (end[-1] == '\r' || end[-1] == '\n')) {
        end--;
    }

    while (p < end && helicone_keys_space(*p)) {
        p++;
    }

    if (p == end || *p == '#') {
        return HELICONE_DECLINED;
    }

    tok = p;

    while (p < end && !helicone_keys_space(*p)) {
        p++;
    }

    if (p - tok != HELICONE_KEYS_HEX_LEN) {
        return HELICONE_ERROR;
    }

    for (i = 0; i < HELICONE_SHA256_LEN; i++) {
        hi = helicone_hex(tok[2 * i]);
        lo = helicone_hex(tok[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return HELICONE_ERROR;
        }

        hash[i] = (unsigned char) ((hi << 4) | lo);
        any |= hash[i];
    }

    /* all zeros is what helicone_sha256_final() yields when libcrypto fails */
    if (any == 0) {
        return HELICONE_ERROR;
    }

    while (p < end && helicone_keys_space(*p)) {
        p++;
    }

    tok = p;

    while (p < end && !helicone_keys_space(*p)) {
        p++;
    }

    if (p == tok) {
        return HELICONE_ERROR;
    }

    if (org) {
        org->data = tok;
        org->len = p - tok;
    }

    while (p < end && helicone_keys_space(*p)) {
        p++;
    }

    while (end > p && helicone_keys_space(end[-1])) {
        end--;
    }

    if (name) {
        name->data = p;
        name->len = end - p;
    }

    if (sha) {
        memcpy(sha, hash, HELICONE_SHA256_LEN);
    }

    return HELICONE_OK;
}


/* eight bytes at a time: every byte is read whatever the ones before */

int
helicone_ct_equal(const unsigned char *a, const unsigned char *b, size_t n)
{
    size_t    i;
    uint64_t  acc, x, y;

    acc = 0;

    for (i = 0; i + 8 <= n; i += 8) {
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        acc |= x ^ y;
    }

    for ( /* void */ ; i < n; i++) {
        acc |= (uint64_t) (a[i] ^ b[i]);
    }

    return acc == 0;
}


/*
 * Eight bytes a step, each step multiplied through: a slot in a small
 * table of keys, not a digest. The last step rereads the last eight
 * bytes, so no byte is left out and none is read past the key.
 */

uint64_t
helicone_key_slot_hash(const unsigned char *key, size_t len)
{
    size_t    i;
    uint64_t  h, w;

    h = (uint64_t) len * 0x9e3779b97f4a7c15ULL;

    if (len < 8) {
        for (i = 0; i < len; i++) {
            h = (h ^ key[i]) * 0x100000001b3ULL;
        }

    } else {
        for (i = 0; i + 8 < len; i += 8) {
            memcpy(&w, key + i, 8);
            h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
            h ^= h >> 29;
        }

        memcpy(&w, key + len - 8, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
    }

    /* the high bits, which saw every bit below them, down to the low */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;

    return h ^ (h >> 33);
}
