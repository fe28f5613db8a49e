/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* Request ids: random UUIDs from a per-process pool of OpenSSL bytes. */

#include "ngx_http_helicone_module.h"

#include <helicone_uuid.h>
#include <openssl/rand.h>


/* random bytes for ids, drawn from OpenSSL a page at a time */
#define NGX_HTTP_HELICONE_RANDOM_POOL  4096

static u_char      ngx_http_helicone_random[NGX_HTTP_HELICONE_RANDOM_POOL];
static ngx_uint_t  ngx_http_helicone_random_used
                       = NGX_HTTP_HELICONE_RANDOM_POOL;
static ngx_pid_t   ngx_http_helicone_random_pid;


/*
 * A fresh UUIDv4 into out (36 bytes). The pool is per process: a worker
 * refills it after fork, so no two workers share bytes.
 */

ngx_int_t
ngx_http_helicone_uuid(u_char *out)
{
    if (ngx_http_helicone_random_used + 16 > NGX_HTTP_HELICONE_RANDOM_POOL
        || ngx_http_helicone_random_pid != ngx_pid)
    {
        if (RAND_bytes(ngx_http_helicone_random,
                       NGX_HTTP_HELICONE_RANDOM_POOL) != 1)
        {
            return NGX_ERROR;
        }

        ngx_http_helicone_random_used = 0;
        ngx_http_helicone_random_pid = ngx_pid;
    }

    helicone_uuid_v4_format(ngx_http_helicone_random
                            + ngx_http_helicone_random_used, out);

    /* used bytes are not reused */
    ngx_http_helicone_random_used += 16;

    return NGX_OK;
}
