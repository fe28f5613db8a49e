/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The Redis client's configuration: the parameters of helicone_store
 * redis that say where Redis is and how to reach it (the URL, the ACL
 * user and its password from the environment or a file, TLS files).
 * Credentials never reach a message: the URL is told without them.
 */

#include "ngx_http_helicone_redis.h"


#define NGX_HTTP_HELICONE_REDIS_SECRET_MAX  4096


typedef struct {
    ngx_str_t                            name;       /* with the "=" */
    size_t                               offset;     /* in the conf */
} ngx_http_helicone_redis_param_t;


static ngx_int_t ngx_http_helicone_redis_parse_url(ngx_conf_t *cf,
    ngx_http_helicone_redis_t *redis, ngx_str_t *url);
static ngx_int_t ngx_http_helicone_redis_userinfo(ngx_conf_t *cf,
    ngx_http_helicone_redis_conf_t *rc, ngx_str_t *userinfo);
static ngx_int_t ngx_http_helicone_redis_unescape(ngx_conf_t *cf,
    ngx_str_t *src, ngx_str_t *dst);
static ngx_int_t ngx_http_helicone_redis_secret(ngx_conf_t *cf,
    ngx_str_t *source, ngx_str_t *secret);
static ngx_int_t ngx_http_helicone_redis_read_secret(ngx_conf_t *cf,
    ngx_str_t *file, ngx_str_t *secret);


static ngx_http_helicone_redis_param_t  ngx_http_helicone_redis_params[] = {
    { ngx_string("url="),
      offsetof(ngx_http_helicone_redis_conf_t, url_param) },
    { ngx_string("password="),
      offsetof(ngx_http_helicone_redis_conf_t, password_param) },
    { ngx_string("timeout="),
      offsetof(ngx_http_helicone_redis_conf_t, timeout_param) },
    { ngx_string("sentinels="),
      offsetof(ngx_http_helicone_redis_conf_t, sentinels_param) },
    { ngx_string("sentinel_password="),
      offsetof(ngx_http_helicone_redis_conf_t, sentinel_password_param) },
    { ngx_string("cluster="),
      offsetof(ngx_http_helicone_redis_conf_t, cluster_param) },
    { ngx_string("tls_ca="),
      offsetof(ngx_http_helicone_redis_conf_t, tls_ca) },
    { ngx_string("tls_cert="),
      offsetof(ngx_http_helicone_redis_conf_t, tls_cert) },
    { ngx_string("tls_key="),
      offsetof(ngx_http_helicone_redis_conf_t, tls_key) },
    { ngx_string("tls_name="),
      offsetof(ngx_http_helicone_redis_conf_t, tls_name) },
    { ngx_null_string, 0 }
};


/*
 * An empty client: its parameters follow, one by one, through
 * ngx_http_helicone_redis_param(), then ngx_http_helicone_redis_configure().
 */

ngx_http_helicone_redis_t *
ngx_http_helicone_redis_create(ngx_conf_t *cf)
{
    ngx_http_helicone_redis_t  *redis;

    redis = ngx_pcalloc(cf->pool, sizeof(ngx_http_helicone_redis_t));
    if (redis == NULL) {
        return NULL;
    }

    redis->conf = ngx_pcalloc(cf->pool,
                              sizeof(ngx_http_helicone_redis_conf_t));
    if (redis->conf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&redis->conf->scripts, cf->pool, 4,
                       sizeof(ngx_http_helicone_redis_script_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return redis;
}


/*
 * NGX_OK: value was one of the connection's parameters, kept for
 * ngx_http_helicone_redis_configure(); NGX_DECLINED: it is not one;
 * NGX_ERROR: it was given twice or empty (logged).
 */

ngx_int_t
ngx_http_helicone_redis_param(ngx_conf_t *cf,
    ngx_http_helicone_redis_t *redis, ngx_str_t *value)
{
    ngx_str_t                        *field;
    ngx_http_helicone_redis_param_t  *p;

    for (p = ngx_http_helicone_redis_params; p->name.len; p++) {

        if (value->len < p->name.len
            || ngx_strncmp(value->data, p->name.data, p->name.len) != 0)
        {
            continue;
        }

        field = (ngx_str_t *) ((u_char *) redis->conf + p->offset);

        if (field->data || value->len == p->name.len) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s parameter \"%V\"",
                               field->data ? "duplicate" : "empty",
                               &p->name);
            return NGX_ERROR;
        }

        field->data = value->data + p->name.len;
        field->len = value->len - p->name.len;

        return NGX_OK;
    }

    return NGX_DECLINED;
}


/*
 * After the last parameter: the URL parsed and its host resolved (once;
 * requests never wait for DNS), the password read, the TLS context made.
 * NGX_CONF_OK, or what is wrong.
 */

char *
ngx_http_helicone_redis_configure(ngx_conf_t *cf,
    ngx_http_helicone_redis_t *redis)
{
    ngx_str_t                        url, password;
    ngx_http_helicone_redis_conf_t  *rc;

    rc = redis->conf;

    if (rc->url_param.len == 0) {
        return "needs url=redis://host[:port][/db]";
    }

    rc->timeout = 100;

    if (rc->timeout_param.len) {
        rc->timeout = ngx_parse_time(&rc->timeout_param, 0);

        if (rc->timeout == (ngx_msec_t) NGX_ERROR || rc->timeout == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"timeout=%V\"",
                               &rc->timeout_param);
            return NGX_CONF_ERROR;
        }
    }

    if ((rc->tls_cert.len == 0) != (rc->tls_key.len == 0)) {
        return "needs both tls_cert= and tls_key=, or neither";
    }

    if (rc->sentinel_password_param.len) {
        if (rc->sentinels_param.len == 0) {
            return "has sentinel_password= without sentinels=";
        }

        if (ngx_http_helicone_redis_secret(cf, &rc->sentinel_password_param,
                                           &rc->sentinel_password)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    /* url=env:VAR: a managed service's URL, its password in it */

    if (rc->url_param.len > 4
        && ngx_strncmp(rc->url_param.data, "env:", 4) == 0)
    {
        if (ngx_http_helicone_redis_secret(cf, &rc->url_param, &url)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

    } else {
        url = rc->url_param;
    }

    if (ngx_http_helicone_redis_parse_url(cf, redis, &url) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (rc->cluster_param.len) {
        if (rc->cluster_param.len != 2
            || ngx_strncmp(rc->cluster_param.data, "on", 2) != 0)
        {
            return "takes cluster=on, or no cluster=";
        }

        if (rc->sentinels_param.len) {
            return "takes sentinels= or cluster=on, not both";
        }

        if (ngx_http_helicone_redis_cluster_conf(cf, redis) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    if (rc->password_param.len) {
        if (rc->password.len) {
            return "has a password in url= and in password=";
        }

        if (ngx_http_helicone_redis_secret(cf, &rc->password_param,
                                           &password)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        rc->password = password;
    }

    if (rc->user.len && rc->password.len == 0) {
        return "has a user and no password: add password=env:VAR or "
               "password=file:path";
    }

    if (rc->ssl == NULL
        && (rc->tls_ca.len || rc->tls_cert.len || rc->tls_key.len
            || rc->tls_name.len))
    {
        return "has tls_ parameters for a plain redis:// url: "
               "use rediss://";
    }

    return NGX_CONF_OK;
}


/*
 * redis[s]://[user[:password]@]host[:port][/db]; with sentinels= the
 * host is the master's name. The URL told in messages is kept without
 * the user and the password.
 */

static ngx_int_t
ngx_http_helicone_redis_parse_url(ngx_conf_t *cf,
    ngx_http_helicone_redis_t *redis, ngx_str_t *url)
{
    u_char                          *p, *last, *at, *slash, *host;
    size_t                           scheme;
    ngx_int_t                        db;
    ngx_str_t                        userinfo, shown, master;
    ngx_url_t                        u;
    ngx_uint_t                       tls;
    ngx_http_helicone_redis_conf_t  *rc;

    rc = redis->conf;

    if (url->len >= 8
        && ngx_strncasecmp(url->data, (u_char *) "redis://", 8) == 0)
    {
        scheme = 8;
        tls = 0;

    } else if (url->len >= 9
               && ngx_strncasecmp(url->data, (u_char *) "rediss://", 9)
                  == 0)
    {
        scheme = 9;
        tls = 1;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid redis url: expected "
                           "\"redis[s]://[user@]host[:port][/db]\"");
        return NGX_ERROR;
    }

    p = url->data + scheme;
    last = url->data + url->len;

    slash = ngx_strlchr(p, last, '/');
    if (slash == NULL) {
        slash = last;
    }

    /* the last "@" before the path: a password may hold one, escaped */

    host = p;

    for (at = slash; at > p; at--) {
        if (at[-1] == '@') {
            host = at;
            break;
        }
    }

    /* what messages show: "rediss://host:port/db" */

    shown.len = scheme + (last - host);
    shown.data = ngx_pnalloc(cf->pool, shown.len);
    if (shown.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(ngx_cpymem(shown.data, url->data, scheme), host, last - host);
    rc->url = shown;

    if (host > p) {
        userinfo.data = p;
        userinfo.len = host - 1 - p;

        if (ngx_http_helicone_redis_userinfo(cf, rc, &userinfo) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (slash < last) {
        db = (last - slash > 1) ? ngx_atoi(slash + 1, last - slash - 1) : 0;

        if (db == NGX_ERROR) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid database in redis url \"%V\"",
                               &rc->url);
            return NGX_ERROR;
        }

        rc->db = db;
    }

    if (rc->sentinels_param.len) {
        /* the host is the master's name; Sentinel says where it is */
        master.data = host;
        master.len = slash - host;

        if (master.len == 0 || ngx_strlchr(host, slash, ':')) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid redis url \"%V\": with sentinels= "
                               "its host is the master's name, without a "
                               "port", &rc->url);
            return NGX_ERROR;
        }

        if (tls && rc->tls_name.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "a rediss:// url with sentinels= needs "
                               "tls_name=, the name the masters' "
                               "certificates carry");
            return NGX_ERROR;
        }

        if (ngx_http_helicone_redis_sentinel_conf(cf, redis,
                                                  &rc->sentinels_param,
                                                  &master)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        goto tls;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url.data = host;
    u.url.len = slash - host;
    u.default_port = 6379;

    if (u.url.len == 0 || ngx_parse_url(cf->pool, &u) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%s in redis url \"%V\"",
                           u.err ? u.err : "invalid host", &rc->url);
        return NGX_ERROR;
    }

    if (u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "no address for redis url \"%V\"", &rc->url);
        return NGX_ERROR;
    }

    redis->addr = u.addrs[0];

tls:

    if (!tls) {
        return NGX_OK;
    }

    /* the name TLS expects: tls_name=, else the URL's host */

    if (rc->tls_name.len == 0) {
        rc->tls_name = u.host;

        if (rc->tls_name.len > 2 && rc->tls_name.data[0] == '[') {
            /* an IPv6 address */
            rc->tls_name.data++;
            rc->tls_name.len -= 2;
        }
    }

    p = ngx_pnalloc(cf->pool, rc->tls_name.len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *ngx_cpymem(p, rc->tls_name.data, rc->tls_name.len) = '\0';
    rc->tls_name.data = p;

    return ngx_http_helicone_redis_tls_init(cf, rc);
}


/* "user", "user:password" or ":password", %-escaped as in any URL */

static ngx_int_t
ngx_http_helicone_redis_userinfo(ngx_conf_t *cf,
    ngx_http_helicone_redis_conf_t *rc, ngx_str_t *userinfo)
{
    u_char     *colon;
    ngx_str_t   user, password;

    colon = ngx_strlchr(userinfo->data, userinfo->data + userinfo->len, ':');

    user.data = userinfo->data;
    user.len = (colon ? colon : userinfo->data + userinfo->len)
               - userinfo->data;

    if (ngx_http_helicone_redis_unescape(cf, &user, &rc->user) != NGX_OK) {
        return NGX_ERROR;
    }

    if (colon == NULL) {
        return NGX_OK;
    }

    password.data = colon + 1;
    password.len = userinfo->data + userinfo->len - password.data;

    return ngx_http_helicone_redis_unescape(cf, &password, &rc->password);
}


static ngx_int_t
ngx_http_helicone_redis_unescape(ngx_conf_t *cf, ngx_str_t *src,
    ngx_str_t *dst)
{
    u_char  *s, *d;

    dst->data = ngx_pnalloc(cf->pool, src->len);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    s = src->data;
    d = dst->data;

    ngx_unescape_uri(&d, &s, src->len, 0);

    dst->len = d - dst->data;

    return NGX_OK;
}


/*
 * "env:VAR" or "file:path": the secret itself never appears in
 * nginx.conf. A file's final newline is not part of it.
 */

static ngx_int_t
ngx_http_helicone_redis_secret(ngx_conf_t *cf, ngx_str_t *source,
    ngx_str_t *secret)
{
    char       *env;
    ngx_str_t   file;

    if (source->len > 4 && ngx_strncmp(source->data, "env:", 4) == 0) {

        /* the value is the tail of a parameter: null-terminated */
        env = getenv((char *) source->data + 4);

        if (env == NULL || *env == '\0') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "environment variable \"%s\" is not set",
                               source->data + 4);
            return NGX_ERROR;
        }

        secret->len = ngx_strlen(env);
        secret->data = ngx_pnalloc(cf->pool, secret->len);
        if (secret->data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(secret->data, env, secret->len);

        return NGX_OK;
    }

    if (source->len > 5 && ngx_strncmp(source->data, "file:", 5) == 0) {
        file.data = source->data + 5;
        file.len = source->len - 5;

        return ngx_http_helicone_redis_read_secret(cf, &file, secret);
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "a redis password is given as env:VAR or file:path, "
                       "never in nginx.conf");
    return NGX_ERROR;
}


static ngx_int_t
ngx_http_helicone_redis_read_secret(ngx_conf_t *cf, ngx_str_t *file,
    ngx_str_t *secret)
{
    u_char           buf[NGX_HTTP_HELICONE_REDIS_SECRET_MAX];
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_str_t        name;
    ngx_int_t        rc;

    name = *file;

    if (ngx_conf_full_name(cf->cycle, &name, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(name.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%s\" failed", name.data);
        return NGX_ERROR;
    }

    n = ngx_read_fd(fd, buf, sizeof(buf));

    rc = NGX_OK;

    if (n == -1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_read_fd_n " \"%s\" failed", name.data);
        rc = NGX_ERROR;
        goto done;
    }

    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) {
        n--;
    }

    if (n == 0 || n == (ssize_t) sizeof(buf)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "redis password file \"%s\" is %s", name.data,
                           n ? "too long" : "empty");
        rc = NGX_ERROR;
        goto done;
    }

    secret->len = n;
    secret->data = ngx_pnalloc(cf->pool, n);

    if (secret->data == NULL) {
        rc = NGX_ERROR;
        goto done;
    }

    ngx_memcpy(secret->data, buf, n);

done:

    ngx_explicit_memzero(buf, sizeof(buf));

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%s\" failed", name.data);
    }

    return rc;
}


/*
 * An address as Sentinel and Cluster announce it, an IP and a port, into
 * addr (allocated in pool, its name "ip:port" or "[ip6]:port").
 */

ngx_int_t
ngx_http_helicone_redis_parse_addr(ngx_pool_t *pool, ngx_str_t *ip,
    ngx_str_t *port, ngx_addr_t *addr)
{
    u_char      *p, *last;
    ngx_uint_t   ipv6;

    if (ip->len == 0 || port->len == 0) {
        return NGX_ERROR;
    }

    ipv6 = (ngx_strlchr(ip->data, ip->data + ip->len, ':') != NULL);

    p = ngx_pnalloc(pool, ip->len + port->len + 3);
    if (p == NULL) {
        return NGX_ERROR;
    }

    last = ngx_sprintf(p, ipv6 ? "[%V]:%V" : "%V:%V", ip, port);

    if (ngx_parse_addr_port(pool, addr, p, last - p) != NGX_OK) {
        return NGX_ERROR;
    }

    addr->name.data = p;
    addr->name.len = last - p;

    return NGX_OK;
}
