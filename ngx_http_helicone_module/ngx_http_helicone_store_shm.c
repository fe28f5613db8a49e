/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The shared-memory store: entries named by a SHA-256, in an rbtree with
 * an LRU queue per rank, in one zone shared by all workers. The least
 * recently used entries make room for new ones, lowest rank first, and
 * a new entry pushes out only entries of its own rank or lower: unknown
 * keys' verdicts, cached responses, known keys' verdicts, limit buckets.
 * It fills the store table (store.h): every operation answers at once,
 * working under the zone's lock and copying out what the caller keeps.
 */

#include "ngx_http_helicone_module.h"

#include <helicone_keys.h>


/* an entry pushes out only entries of its rank or lower, lowest first */
typedef enum {
    NGX_HTTP_HELICONE_SHM_EXPENDABLE = 0,     /* an unknown key's verdict */
    NGX_HTTP_HELICONE_SHM_CACHED,             /* a cached response */
    NGX_HTTP_HELICONE_SHM_KEPT,               /* a known key's verdict */
    NGX_HTTP_HELICONE_SHM_LASTING,            /* a limit's bucket */
    NGX_HTTP_HELICONE_SHM_RANKS
} ngx_http_helicone_shm_rank_e;


/* works on an entry under the zone's lock */
typedef void (*ngx_http_helicone_shm_update_pt)(u_char *data, void *ctx);


typedef struct {
    helicone_rl_policy_t          *policy;
    uint64_t                       cost;         /* millionths of a cent */
} ngx_http_helicone_shm_charge_t;


typedef struct {
    ngx_rbtree_node_t              node;         /* key: the sha's start */
    ngx_queue_t                    queue;        /* LRU */
    u_char                         sha[32];
    time_t                         expires;      /* 0: never */
    size_t                         len;
    ngx_uint_t                     rank;         /* its LRU queue */
    u_char                         data[1];
} ngx_http_helicone_shm_node_t;


typedef struct {
    ngx_rbtree_t                   rbtree;
    ngx_rbtree_node_t              sentinel;
    ngx_queue_t                    lru[NGX_HTTP_HELICONE_SHM_RANKS];
} ngx_http_helicone_shm_sh_t;


typedef struct {
    ngx_http_helicone_shm_sh_t    *sh;
    ngx_slab_pool_t               *shpool;
} ngx_http_helicone_shm_t;


static ngx_int_t ngx_http_helicone_shm_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_helicone_shm_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_helicone_shm_node_t *ngx_http_helicone_shm_find(
    ngx_http_helicone_shm_t *shm, u_char *sha);
static ngx_http_helicone_shm_node_t *ngx_http_helicone_shm_live(
    ngx_http_helicone_shm_t *shm, u_char *sha);
static void ngx_http_helicone_shm_free(ngx_http_helicone_shm_t *shm,
    ngx_http_helicone_shm_node_t *n);
static void ngx_http_helicone_shm_used(ngx_http_helicone_shm_t *shm,
    ngx_http_helicone_shm_node_t *n);
static ngx_http_helicone_shm_node_t *ngx_http_helicone_shm_alloc(
    ngx_http_helicone_shm_t *shm, size_t size, ngx_uint_t rank);
static char *ngx_http_helicone_store_shm_configure(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, ngx_str_t *args, ngx_uint_t n);
static ngx_int_t ngx_http_helicone_store_shm_get(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_store_get_t *op);
static ngx_int_t ngx_http_helicone_store_shm_put(ngx_http_request_t *r,
    ngx_http_helicone_store_put_t *op);
static ngx_int_t ngx_http_helicone_store_shm_take(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_store_take_t *op);
static ngx_int_t ngx_http_helicone_store_shm_charge(ngx_http_request_t *r,
    helicone_rl_policy_t *policy, u_char *sha, uint64_t cost);
static void ngx_http_helicone_shm_name(ngx_http_helicone_store_kind_e kind,
    u_char *sha, ngx_uint_t i, u_char *name);
static ngx_int_t ngx_http_helicone_shm_set(ngx_shm_zone_t *zone,
    u_char *sha, size_t size, time_t expires, ngx_uint_t rank,
    ngx_http_helicone_shm_update_pt fn, void *data);
static ngx_int_t ngx_http_helicone_shm_read(ngx_shm_zone_t *zone,
    u_char *sha, ngx_pool_t *pool, ngx_str_t *value);
static ngx_uint_t ngx_http_helicone_shm_exists(ngx_shm_zone_t *zone,
    u_char *sha);
static void ngx_http_helicone_shm_copy(u_char *data, void *value);
static void ngx_http_helicone_shm_take(u_char *data, void *op);
static void ngx_http_helicone_shm_charge(u_char *data, void *op);


ngx_http_helicone_store_t  ngx_http_helicone_store_shm = {
    ngx_string("shm"),
    ngx_http_helicone_store_shm_configure,
    NULL,
    NULL,
    ngx_http_helicone_store_shm_get,
    ngx_http_helicone_store_shm_put,
    ngx_http_helicone_store_shm_take,
    ngx_http_helicone_store_shm_charge
};


/* helicone_store shm zone=NAME:SIZE; (store.c took the zone) */

static char *
ngx_http_helicone_store_shm_configure(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, ngx_str_t *args, ngx_uint_t n)
{
    if (n || hmcf->store_zone == NULL) {
        return "needs zone=NAME:SIZE";
    }

    return NGX_CONF_OK;
}


/* "zone=NAME:SIZE": the zone, added */

ngx_int_t
ngx_http_helicone_store_zone_parse(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, ngx_str_t *value)
{
    u_char     *p;
    ssize_t     size;
    ngx_str_t   name, s;

    name.data = value->data + 5;
    p = (u_char *) ngx_strchr(name.data, ':');

    if (p == NULL || p == name.data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone \"%V\": expected zone=NAME:SIZE",
                           value);
        return NGX_ERROR;
    }

    name.len = p - name.data;

    s.data = p + 1;
    s.len = value->data + value->len - s.data;

    size = ngx_parse_size(&s);

    if (size == NGX_ERROR || size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small", value);
        return NGX_ERROR;
    }

    return ngx_http_helicone_store_zone(cf, hmcf, &name, size);
}


ngx_int_t
ngx_http_helicone_store_zone(ngx_conf_t *cf,
    ngx_http_helicone_main_conf_t *hmcf, ngx_str_t *name, size_t size)
{
    ngx_http_helicone_shm_t  *shm;

    shm = ngx_pcalloc(cf->pool, sizeof(ngx_http_helicone_shm_t));
    if (shm == NULL) {
        return NGX_ERROR;
    }

    hmcf->store_zone = ngx_shared_memory_add(cf, name, size,
                                             &ngx_http_helicone_module);
    if (hmcf->store_zone == NULL) {
        return NGX_ERROR;
    }

    if (hmcf->store_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is already used", name);
        return NGX_ERROR;
    }

    hmcf->store_zone->init = ngx_http_helicone_shm_init_zone;
    hmcf->store_zone->data = shm;

    return NGX_OK;
}


static ngx_int_t
ngx_http_helicone_shm_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_helicone_shm_t  *oshm = data;

    size_t                    len;
    ngx_uint_t                i;
    ngx_http_helicone_shm_t  *shm;

    shm = shm_zone->data;

    if (oshm) {
        /* a reload: the entries stay */
        shm->sh = oshm->sh;
        shm->shpool = oshm->shpool;
        return NGX_OK;
    }

    shm->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm->sh = shm->shpool->data;
        return NGX_OK;
    }

    shm->sh = ngx_slab_alloc(shm->shpool, sizeof(ngx_http_helicone_shm_sh_t));
    if (shm->sh == NULL) {
        return NGX_ERROR;
    }

    shm->shpool->data = shm->sh;

    ngx_rbtree_init(&shm->sh->rbtree, &shm->sh->sentinel,
                    ngx_http_helicone_shm_insert);
    for (i = 0; i < NGX_HTTP_HELICONE_SHM_RANKS; i++) {
        ngx_queue_init(&shm->sh->lru[i]);
    }

    len = sizeof(" in helicone zone \"\"") + shm_zone->shm.name.len;

    shm->shpool->log_ctx = ngx_slab_alloc(shm->shpool, len);
    if (shm->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(shm->shpool->log_ctx, " in helicone zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* eviction makes room: running out of memory is no news */
    shm->shpool->log_nomem = 0;

    return NGX_OK;
}


static void
ngx_http_helicone_shm_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t             **p;
    ngx_http_helicone_shm_node_t   *n, *t;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            n = (ngx_http_helicone_shm_node_t *) node;
            t = (ngx_http_helicone_shm_node_t *) temp;

            p = (ngx_memcmp(n->sha, t->sha, 32) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static ngx_http_helicone_shm_node_t *
ngx_http_helicone_shm_find(ngx_http_helicone_shm_t *shm, u_char *sha)
{
    ngx_int_t                      rc;
    ngx_rbtree_key_t               key;
    ngx_rbtree_node_t             *node, *sentinel;
    ngx_http_helicone_shm_node_t  *n;

    ngx_memcpy(&key, sha, sizeof(ngx_rbtree_key_t));

    node = shm->sh->rbtree.root;
    sentinel = shm->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (key < node->key) {
            node = node->left;
            continue;
        }

        if (key > node->key) {
            node = node->right;
            continue;
        }

        n = (ngx_http_helicone_shm_node_t *) node;
        rc = ngx_memcmp(sha, n->sha, 32);

        if (rc == 0) {
            return n;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


/* the entry named sha unless expired; an expired one is freed now */

static ngx_http_helicone_shm_node_t *
ngx_http_helicone_shm_live(ngx_http_helicone_shm_t *shm, u_char *sha)
{
    ngx_http_helicone_shm_node_t  *n;

    n = ngx_http_helicone_shm_find(shm, sha);

    if (n && n->expires && n->expires <= ngx_time()) {
        ngx_http_helicone_shm_free(shm, n);
        return NULL;
    }

    return n;
}


static void
ngx_http_helicone_shm_free(ngx_http_helicone_shm_t *shm,
    ngx_http_helicone_shm_node_t *n)
{
    ngx_queue_remove(&n->queue);
    ngx_rbtree_delete(&shm->sh->rbtree, &n->node);
    ngx_slab_free_locked(shm->shpool, n);
}


/* n was just used: first in its LRU */

static void
ngx_http_helicone_shm_used(ngx_http_helicone_shm_t *shm,
    ngx_http_helicone_shm_node_t *n)
{
    ngx_queue_insert_head(&shm->sh->lru[n->rank], &n->queue);
}


/*
 * An entry of size bytes, evicting until it fits: the least recently
 * used of the lowest rank goes first, and nothing above rank: unknown
 * keys' verdicts cannot push out known ones (anyone can make those by
 * the thousand), nor can cache traffic reset limits. NULL when even that
 * leaves no room.
 */

static ngx_http_helicone_shm_node_t *
ngx_http_helicone_shm_alloc(ngx_http_helicone_shm_t *shm, size_t size,
    ngx_uint_t rank)
{
    ngx_uint_t                     i;
    ngx_queue_t                   *q;
    ngx_http_helicone_shm_node_t  *n;

    for ( ;; ) {
        n = ngx_slab_alloc_locked(shm->shpool,
                                  offsetof(ngx_http_helicone_shm_node_t, data)
                                  + size);
        if (n) {
            return n;
        }

        for (i = 0; i <= rank; i++) {
            if (!ngx_queue_empty(&shm->sh->lru[i])) {
                break;
            }
        }

        if (i > rank) {
            return NULL;
        }

        q = ngx_queue_last(&shm->sh->lru[i]);
        n = ngx_queue_data(q, ngx_http_helicone_shm_node_t, queue);
        ngx_http_helicone_shm_free(shm, n);
    }
}


/*
 * An entry's name in the zone: a response's bucket i by the digest and
 * the index; a key's verdict by a name of its own, so that no other
 * entry can be taken for it.
 */

static void
ngx_http_helicone_shm_name(ngx_http_helicone_store_kind_e kind, u_char *sha,
    ngx_uint_t i, u_char *name)
{
    u_char  buf[sizeof("helicone-key") - 1 + 32];

    if (kind == NGX_HTTP_HELICONE_STORE_CACHE) {
        ngx_memcpy(buf, sha, 32);
        buf[32] = (u_char) i;

        helicone_sha256(buf, 33, name);
        return;
    }

    ngx_memcpy(ngx_cpymem(buf, "helicone-key", sizeof("helicone-key") - 1),
               sha, 32);
    helicone_sha256(buf, sizeof(buf), name);
}


/* The zone keeps no key records: those are the keys file's. */

static ngx_int_t
ngx_http_helicone_store_shm_get(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_store_get_t *op)
{
    u_char                          name[32];
    ngx_int_t                       rc;
    ngx_uint_t                      i;
    ngx_http_helicone_main_conf_t  *hmcf;

    if (op->kind == NGX_HTTP_HELICONE_STORE_KEY) {
        return NGX_DECLINED;
    }

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);

    for (i = 0; i < op->n; i++) {
        ngx_http_helicone_shm_name(op->kind, op->sha, i, name);

        rc = ngx_http_helicone_shm_read(hmcf->store_zone, name, r->pool,
                                        &op->values[i]);

        if (rc == NGX_DECLINED) {
            ngx_str_null(&op->values[i]);
            continue;
        }

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * What it may push out, and what may push it out: an unknown key's
 * verdict nothing but its kind (anyone can make those by the thousand),
 * cached responses no known key's verdict nor a limit's bucket.
 */

static ngx_int_t
ngx_http_helicone_store_shm_put(ngx_http_request_t *r,
    ngx_http_helicone_store_put_t *op)
{
    u_char                          name[32];
    ngx_uint_t                      i, rank;
    ngx_http_helicone_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);

    switch (op->kind) {

    case NGX_HTTP_HELICONE_STORE_CACHE:
        rank = NGX_HTTP_HELICONE_SHM_CACHED;

        for (i = 0; i < op->n; i++) {
            ngx_http_helicone_shm_name(op->kind, op->sha, i, name);

            if (!ngx_http_helicone_shm_exists(hmcf->store_zone, name)) {
                break;
            }
        }

        if (i == op->n) {
            return NGX_DECLINED;
        }

        break;

    case NGX_HTTP_HELICONE_STORE_VERDICT:
        rank = NGX_HTTP_HELICONE_SHM_KEPT;
        ngx_http_helicone_shm_name(op->kind, op->sha, 0, name);
        break;

    case NGX_HTTP_HELICONE_STORE_UNKNOWN:
        rank = NGX_HTTP_HELICONE_SHM_EXPENDABLE;
        ngx_http_helicone_shm_name(op->kind, op->sha, 0, name);
        break;

    default: /* NGX_HTTP_HELICONE_STORE_KEY */
        return NGX_DECLINED;
    }

    return ngx_http_helicone_shm_set(hmcf->store_zone, name, op->value->len,
                                     ngx_time() + op->ttl, rank,
                                     ngx_http_helicone_shm_copy, op->value);
}


/* core/helicone_ratelimit.c's bucket, under the zone's lock */

static ngx_int_t
ngx_http_helicone_store_shm_take(ngx_http_request_t *r,
    ngx_http_helicone_ctx_t *ctx, ngx_http_helicone_store_take_t *op)
{
    ngx_http_helicone_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);

    return ngx_http_helicone_shm_set(hmcf->store_zone, op->sha,
                                     sizeof(helicone_rl_bucket_t), 0,
                                     NGX_HTTP_HELICONE_SHM_LASTING,
                                     ngx_http_helicone_shm_take, op);
}


static ngx_int_t
ngx_http_helicone_store_shm_charge(ngx_http_request_t *r,
    helicone_rl_policy_t *policy, u_char *sha, uint64_t cost)
{
    ngx_http_helicone_shm_charge_t  c;
    ngx_http_helicone_main_conf_t  *hmcf;

    hmcf = ngx_http_get_module_main_conf(r, ngx_http_helicone_module);

    c.policy = policy;
    c.cost = cost;

    return ngx_http_helicone_shm_set(hmcf->store_zone, sha,
                                     sizeof(helicone_rl_bucket_t), 0,
                                     NGX_HTTP_HELICONE_SHM_LASTING,
                                     ngx_http_helicone_shm_charge, &c);
}


static void
ngx_http_helicone_shm_take(u_char *data, void *op)
{
    ngx_http_helicone_store_take_t *o = op;

    o->allowed = helicone_rl_take((helicone_rl_bucket_t *) data, o->policy,
                                  (uint64_t) ngx_current_msec, &o->remaining,
                                  &o->reset);
    o->wait = o->allowed ? 0 : helicone_rl_wait((helicone_rl_bucket_t *) data,
                                                o->policy);
}


static void
ngx_http_helicone_shm_charge(u_char *data, void *op)
{
    ngx_http_helicone_shm_charge_t *c = op;

    helicone_rl_charge((helicone_rl_bucket_t *) data, c->policy,
                       (uint64_t) ngx_current_msec, c->cost);
}


/*
 * Runs fn on the entry named sha, created (zeroed, size bytes) when
 * absent, expired or of another size, under the zone's lock: fn must be
 * short and must not allocate. NGX_OK with fn's work done; NGX_BUSY
 * when the zone has no room even after evicting.
 */

static ngx_int_t
ngx_http_helicone_shm_set(ngx_shm_zone_t *zone, u_char *sha, size_t size,
    time_t expires, ngx_uint_t rank, ngx_http_helicone_shm_update_pt fn,
    void *data)
{
    ngx_http_helicone_shm_t       *shm;
    ngx_http_helicone_shm_node_t  *n;

    shm = zone->data;

    ngx_shmtx_lock(&shm->shpool->mutex);

    n = ngx_http_helicone_shm_live(shm, sha);

    if (n && n->len != size) {
        /* another kind of entry under the same name: start anew */
        ngx_http_helicone_shm_free(shm, n);
        n = NULL;
    }

    if (n == NULL) {
        /* larger than a quarter of the zone: not worth emptying it for */
        if (size > (size_t) (shm->shpool->end - shm->shpool->start) / 4) {
            ngx_shmtx_unlock(&shm->shpool->mutex);
            return NGX_BUSY;
        }

        n = ngx_http_helicone_shm_alloc(shm, size, rank);

        if (n == NULL) {
            ngx_shmtx_unlock(&shm->shpool->mutex);
            return NGX_BUSY;
        }

        ngx_memcpy(&n->node.key, sha, sizeof(ngx_rbtree_key_t));
        ngx_memcpy(n->sha, sha, 32);
        n->len = size;
        ngx_memzero(n->data, size);

        ngx_rbtree_insert(&shm->sh->rbtree, &n->node);

    } else {
        ngx_queue_remove(&n->queue);
    }

    n->expires = expires;
    n->rank = rank;
    ngx_http_helicone_shm_used(shm, n);

    fn(n->data, data);

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return NGX_OK;
}


/*
 * A copy of the entry named sha in pool: NGX_OK with *value,
 * NGX_DECLINED when absent or expired.
 */

static ngx_int_t
ngx_http_helicone_shm_read(ngx_shm_zone_t *zone, u_char *sha,
    ngx_pool_t *pool, ngx_str_t *value)
{
    ngx_http_helicone_shm_t       *shm;
    ngx_http_helicone_shm_node_t  *n;

    shm = zone->data;

    ngx_shmtx_lock(&shm->shpool->mutex);

    n = ngx_http_helicone_shm_live(shm, sha);

    if (n == NULL) {
        ngx_shmtx_unlock(&shm->shpool->mutex);
        return NGX_DECLINED;
    }

    ngx_queue_remove(&n->queue);
    ngx_http_helicone_shm_used(shm, n);

    /* copied before unlocking: shared memory is not ours after */
    value->len = n->len;
    value->data = ngx_pnalloc(pool, n->len);

    if (value->data) {
        ngx_memcpy(value->data, n->data, n->len);
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return value->data ? NGX_OK : NGX_ERROR;
}


/* whether the entry named sha is there, unexpired; nothing is copied */

static ngx_uint_t
ngx_http_helicone_shm_exists(ngx_shm_zone_t *zone, u_char *sha)
{
    ngx_http_helicone_shm_t       *shm;
    ngx_http_helicone_shm_node_t  *n;

    shm = zone->data;

    ngx_shmtx_lock(&shm->shpool->mutex);

    n = ngx_http_helicone_shm_live(shm, sha);

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return n != NULL;
}


static void
ngx_http_helicone_shm_copy(u_char *data, void *value)
{
    ngx_str_t *v = value;

    ngx_memcpy(data, v->data, v->len);
}
