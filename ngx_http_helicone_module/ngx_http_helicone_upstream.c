/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Provider connections, at configuration time. The attempt location's
 * proxy_pass has variables, so the proxy looks an upstream up by the
 * URL's host and port among the configured ones
 * (ngx_http_upstream_init_request()). This module adds one such upstream
 * per provider origin and per allowed target origin, tuned by
 * helicone_upstream, whose balancer is balancer.c's and whose addresses
 * come from dns.c; attempts wait here for a name's first answer. An
 * upstream{} block of the operator's named like a provider's host is
 * found first and left alone. Also nginx -t's check that every server
 * with a helicone_pass location has the attempt location.
 */

#include "ngx_http_helicone_upstream.h"


typedef struct {
    ngx_str_t                      name;         /* provider, origin, "*" */
    ngx_http_helicone_upstream_conf_t  conf;     /* NGX_CONF_UNSET: not set */
    ngx_uint_t                     used;         /* applied to an upstream */
} ngx_http_helicone_upstream_tuning_t;


typedef struct {
    ngx_array_t                    upstreams;    /* upstream_t * */
    ngx_array_t                    tunings;      /* upstream_tuning_t */
    ngx_str_t                      resolv_conf;
    ngx_resolver_t                *resolver;     /* NULL: none needed yet */
    ngx_msec_t                     resolver_timeout;
    ngx_flag_t                     passes;       /* a helicone_pass seen */
} ngx_http_helicone_upstream_main_conf_t;


static ngx_int_t ngx_http_helicone_upstream_postconfiguration(
    ngx_conf_t *cf);
static void *ngx_http_helicone_upstream_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_helicone_upstream_init_main_conf(ngx_conf_t *cf,
    void *conf);
static char *ngx_http_helicone_upstream_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_helicone_upstream_walk(ngx_conf_t *cf,
    ngx_http_core_loc_conf_t *server, ngx_http_core_loc_conf_t *clcf);
static ngx_int_t ngx_http_helicone_upstream_walk_tree(ngx_conf_t *cf,
    ngx_http_core_loc_conf_t *server, ngx_http_location_tree_node_t *node);
static ngx_int_t ngx_http_helicone_upstream_location(ngx_conf_t *cf,
    ngx_http_core_loc_conf_t *server, ngx_http_core_loc_conf_t *clcf);
static ngx_uint_t ngx_http_helicone_upstream_has_location(
    ngx_http_core_loc_conf_t *clcf, ngx_str_t *uri);
static ngx_uint_t ngx_http_helicone_upstream_tree_has(
    ngx_http_location_tree_node_t *node, ngx_str_t *uri);
static ngx_int_t ngx_http_helicone_upstream_add(ngx_conf_t *cf,
    ngx_str_t *origin, ngx_str_t *provider);
static void ngx_http_helicone_upstream_tune(
    ngx_http_helicone_upstream_main_conf_t *humcf,
    ngx_http_helicone_upstream_t *hu, ngx_str_t *provider);
static ngx_int_t ngx_http_helicone_upstream_parse_origin(ngx_str_t *origin,
    ngx_str_t *host, in_port_t *port);
static ngx_http_helicone_upstream_t *ngx_http_helicone_upstream_find(
    ngx_http_helicone_upstream_main_conf_t *humcf, ngx_str_t *url);
static ngx_int_t ngx_http_helicone_upstream_preaccess(ngx_http_request_t *r);
static ngx_uint_t ngx_http_helicone_upstream_within(ngx_str_t *url,
    ngx_str_t *origin);

static ngx_command_t  ngx_http_helicone_upstream_commands[] = {

    { ngx_string("helicone_upstream"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_helicone_upstream_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("helicone_resolv_conf"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_helicone_upstream_main_conf_t, resolv_conf),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_helicone_upstream_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_helicone_upstream_postconfiguration, /* postconfiguration */

    ngx_http_helicone_upstream_create_main_conf, /* create main conf */
    ngx_http_helicone_upstream_init_main_conf, /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_helicone_upstream_module = {
    NGX_MODULE_V1,
    &ngx_http_helicone_upstream_module_ctx, /* module context */
    ngx_http_helicone_upstream_commands,   /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


#define NGX_HTTP_HELICONE_PARAM_NUMBER  0
#define NGX_HTTP_HELICONE_PARAM_MSEC    1
#define NGX_HTTP_HELICONE_PARAM_SEC     2


/* helicone_upstream's parameters */

typedef struct {
    ngx_str_t                      name;         /* "keepalive=" */
    ngx_uint_t                     type;         /* NGX_HTTP_HELICONE_PARAM_* */
    ngx_uint_t                     zero;         /* 0 is a valid number */
    size_t                         offset;
} ngx_http_helicone_upstream_param_t;


static ngx_http_helicone_upstream_param_t
    ngx_http_helicone_upstream_params[] =
{
    { ngx_string("keepalive="), NGX_HTTP_HELICONE_PARAM_NUMBER, 1,
      offsetof(ngx_http_helicone_upstream_conf_t, keepalive) },
    { ngx_string("keepalive_timeout="), NGX_HTTP_HELICONE_PARAM_MSEC, 0,
      offsetof(ngx_http_helicone_upstream_conf_t, keepalive_timeout) },
    { ngx_string("keepalive_requests="), NGX_HTTP_HELICONE_PARAM_NUMBER, 0,
      offsetof(ngx_http_helicone_upstream_conf_t, keepalive_requests) },
    { ngx_string("keepalive_time="), NGX_HTTP_HELICONE_PARAM_MSEC, 0,
      offsetof(ngx_http_helicone_upstream_conf_t, keepalive_time) },
    { ngx_string("max_fails="), NGX_HTTP_HELICONE_PARAM_NUMBER, 1,
      offsetof(ngx_http_helicone_upstream_conf_t, max_fails) },
    { ngx_string("fail_timeout="), NGX_HTTP_HELICONE_PARAM_SEC, 0,
      offsetof(ngx_http_helicone_upstream_conf_t, fail_timeout) },
    { ngx_null_string, 0, 0, 0 }
};


/* what suits a real provider: see docs/directives.md, helicone_upstream */

static ngx_http_helicone_upstream_conf_t  ngx_http_helicone_upstream_defaults
= {
    32,                                    /* keepalive */
    50000,                                 /* keepalive_timeout */
    1000,                                  /* keepalive_requests */
    3600000,                               /* keepalive_time */
    1,                                     /* max_fails */
    10                                     /* fail_timeout */
};


static void *
ngx_http_helicone_upstream_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_helicone_upstream_main_conf_t  *humcf;

    humcf = ngx_pcalloc(cf->pool,
                        sizeof(ngx_http_helicone_upstream_main_conf_t));
    if (humcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     humcf->resolv_conf = { 0, NULL };
     *     humcf->resolver = NULL;
     *     humcf->passes = 0;
     */

    if (ngx_array_init(&humcf->upstreams, cf->pool, 64,
                       sizeof(ngx_http_helicone_upstream_t *))
        != NGX_OK
        || ngx_array_init(&humcf->tunings, cf->pool, 4,
                          sizeof(ngx_http_helicone_upstream_tuning_t))
           != NGX_OK)
    {
        return NULL;
    }

    return humcf;
}


static char *
ngx_http_helicone_upstream_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_helicone_upstream_main_conf_t *humcf = conf;

    u_char  *env;

    if (humcf->resolv_conf.data == NULL) {
        /* tests point it away from the machine's DNS server */
        env = (u_char *) getenv("HELICONE_RESOLV_CONF");

        if (env && *env) {
            humcf->resolv_conf.data = env;
            humcf->resolv_conf.len = ngx_strlen(env);

        } else {
            ngx_str_set(&humcf->resolv_conf, "/etc/resolv.conf");
        }
    }

    return NGX_CONF_OK;
}


/*
 * helicone_upstream name|origin|* [keepalive=N] [keepalive_timeout=time]
 *     [keepalive_requests=N] [keepalive_time=time] [max_fails=N]
 *     [fail_timeout=time];
 */

static char *
ngx_http_helicone_upstream_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_helicone_upstream_main_conf_t *humcf = conf;

    u_char                               *field;
    ngx_int_t                             n;
    ngx_str_t                            *value, s;
    ngx_uint_t                            i;
    ngx_http_helicone_upstream_param_t   *p;
    ngx_http_helicone_upstream_tuning_t  *t;

    value = cf->args->elts;

    t = ngx_array_push(&humcf->tunings);
    if (t == NULL) {
        return NGX_CONF_ERROR;
    }

    t->name = value[1];
    t->used = (value[1].len == 1 && value[1].data[0] == '*');

    t->conf.keepalive = NGX_CONF_UNSET_UINT;
    t->conf.keepalive_timeout = NGX_CONF_UNSET_MSEC;
    t->conf.keepalive_requests = NGX_CONF_UNSET_UINT;
    t->conf.keepalive_time = NGX_CONF_UNSET_MSEC;
    t->conf.max_fails = NGX_CONF_UNSET_UINT;
    t->conf.fail_timeout = NGX_CONF_UNSET;

    for (i = 2; i < cf->args->nelts; i++) {

        for (p = ngx_http_helicone_upstream_params; p->name.len; p++) {
            if (value[i].len > p->name.len
                && ngx_strncmp(value[i].data, p->name.data, p->name.len) == 0)
            {
                break;
            }
        }

        if (p->name.len == 0) {
            goto invalid;
        }

        s.data = value[i].data + p->name.len;
        s.len = value[i].len - p->name.len;

        field = (u_char *) &t->conf + p->offset;

        switch (p->type) {

        case NGX_HTTP_HELICONE_PARAM_NUMBER:
            n = ngx_atoi(s.data, s.len);
            if (n == NGX_ERROR || (n == 0 && !p->zero)) {
                goto invalid;
            }

            *(ngx_uint_t *) field = n;
            break;

        case NGX_HTTP_HELICONE_PARAM_MSEC:
            n = ngx_parse_time(&s, 0);
            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }

            *(ngx_msec_t *) field = n;
            break;

        default: /* NGX_HTTP_HELICONE_PARAM_SEC */
            n = ngx_parse_time(&s, 1);
            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }

            *(time_t *) field = n;
        }
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}


/*
 * Once every location is merged: each server with a helicone_pass
 * location must have the attempt location; each provider origin and each
 * allowed target origin gets its upstream.
 */

static ngx_int_t
ngx_http_helicone_upstream_postconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t                               i, names;
    ngx_http_handler_pt                     *h;
    ngx_http_core_loc_conf_t                *clcf;
    ngx_http_core_srv_conf_t               **cscfp;
    ngx_http_core_main_conf_t               *cmcf;
    ngx_http_helicone_upstream_t           **hup;
    ngx_http_helicone_provider_t           **pp;
    ngx_http_helicone_main_conf_t           *hmcf;
    ngx_http_helicone_upstream_tuning_t     *tuning;
    ngx_http_helicone_upstream_main_conf_t  *humcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    hmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_helicone_module);
    humcf = ngx_http_conf_get_module_main_conf(cf,
                                          ngx_http_helicone_upstream_module);

    /* the servers: their helicone_pass locations and target origins */

    cscfp = cmcf->servers.elts;

    for (i = 0; i < cmcf->servers.nelts; i++) {
        clcf = cscfp[i]->ctx->loc_conf[ngx_http_core_module.ctx_index];

        if (ngx_http_helicone_upstream_walk(cf, clcf, clcf) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (!humcf->passes) {
        /* no helicone_pass anywhere: nothing to connect to */
        return NGX_OK;
    }

    pp = hmcf->providers.elts;

    for (i = 0; i < hmcf->providers.nelts; i++) {
        if (ngx_http_helicone_upstream_add(cf, &pp[i]->origin, &pp[i]->name)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        /* found once for its attempts: NULL for an upstream{} block's */
        pp[i]->upstream = ngx_http_helicone_upstream_find(humcf,
                                                          &pp[i]->origin);
    }

    /* provider names need a resolver; IP addresses do not */

    names = 0;
    hup = humcf->upstreams.elts;

    for (i = 0; i < humcf->upstreams.nelts; i++) {
        switch (ngx_http_helicone_dns_literal(cf, hup[i])) {

        case NGX_OK:
            break;

        case NGX_DECLINED:
            names++;
            break;

        default:
            return NGX_ERROR;
        }
    }

    if (names) {
        if (ngx_http_helicone_dns_resolver(cf, &humcf->resolv_conf,
                                           &humcf->resolver,
                                           &humcf->resolver_timeout)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        for (i = 0; i < humcf->upstreams.nelts; i++) {
            if (hup[i]->npeers == 0) {
                hup[i]->resolver = humcf->resolver;
                hup[i]->resolver_timeout = humcf->resolver_timeout;
            }
        }
    }

    /* a name that matched nothing is a typo, not a wish */

    tuning = humcf->tunings.elts;

    for (i = 0; i < humcf->tunings.nelts; i++) {
        if (!tuning[i].used
            /* a provider whose host has an upstream{} block of its own */
            && ngx_http_helicone_provider_find(hmcf, tuning[i].name.data,
                                               tuning[i].name.len)
               == NULL)
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "helicone_upstream \"%V\": no provider or "
                          "origin of that name", &tuning[i].name);
            return NGX_ERROR;
        }
    }

    /* attempts wait there for a name's first answer */

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_helicone_upstream_preaccess;

    return NGX_OK;
}


/* Every location of a server, nested ones included. */

static ngx_int_t
ngx_http_helicone_upstream_walk(ngx_conf_t *cf,
    ngx_http_core_loc_conf_t *server, ngx_http_core_loc_conf_t *clcf)
{
#if (NGX_PCRE)
    ngx_http_core_loc_conf_t  **regex;
#endif

    if (ngx_http_helicone_upstream_walk_tree(cf, server,
                                             clcf->static_locations)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

#if (NGX_PCRE)
    if (clcf->regex_locations) {
        for (regex = clcf->regex_locations; *regex; regex++) {
            if (ngx_http_helicone_upstream_location(cf, server, *regex)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }
    }
#endif

    return NGX_OK;
}


static ngx_int_t
ngx_http_helicone_upstream_walk_tree(ngx_conf_t *cf,
    ngx_http_core_loc_conf_t *server, ngx_http_location_tree_node_t *node)
{
    if (node == NULL) {
        return NGX_OK;
    }

    if ((node->exact
         && ngx_http_helicone_upstream_location(cf, server, node->exact)
            != NGX_OK)
        || (node->inclusive
            && ngx_http_helicone_upstream_location(cf, server,
                                                   node->inclusive)
               != NGX_OK))
    {
        return NGX_ERROR;
    }

    if (ngx_http_helicone_upstream_walk_tree(cf, server, node->left)
        != NGX_OK
        || ngx_http_helicone_upstream_walk_tree(cf, server, node->right)
           != NGX_OK
        || ngx_http_helicone_upstream_walk_tree(cf, server, node->tree)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * One location: a helicone_pass one needs the attempt location in its
 * server (nothing else would ever answer its subrequests), and its
 * allowed target origins need upstreams.
 */

static ngx_int_t
ngx_http_helicone_upstream_location(ngx_conf_t *cf,
    ngx_http_core_loc_conf_t *server, ngx_http_core_loc_conf_t *clcf)
{
    ngx_str_t                               *origin;
    ngx_uint_t                               i;
    ngx_http_helicone_loc_conf_t            *hlcf;
    ngx_http_helicone_upstream_main_conf_t  *humcf;

    hlcf = clcf->loc_conf[ngx_http_helicone_module.ctx_index];

    if (hlcf->pass != NGX_HTTP_HELICONE_PASS_OFF) {

        if (!ngx_http_helicone_upstream_has_location(server,
                                                     &hlcf->attempt_uri))
        {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "helicone_pass in location \"%V\" needs the "
                          "attempt location \"%V\" in its server: add "
                          "\"include /etc/nginx/helicone_attempt.conf;\" "
                          "to that server{}", &clcf->name,
                          &hlcf->attempt_uri);
            return NGX_ERROR;
        }

        /* something will connect: the providers get upstreams */
        humcf = ngx_http_conf_get_module_main_conf(cf,
                                          ngx_http_helicone_upstream_module);
        humcf->passes = 1;

        if (hlcf->target_allow) {
            origin = hlcf->target_allow->elts;

            for (i = 0; i < hlcf->target_allow->nelts; i++) {
                if (ngx_http_helicone_upstream_add(cf, &origin[i], NULL)
                    != NGX_OK)
                {
                    return NGX_ERROR;
                }
            }
        }
    }

    return ngx_http_helicone_upstream_walk(cf, server, clcf);
}


static ngx_uint_t
ngx_http_helicone_upstream_has_location(ngx_http_core_loc_conf_t *clcf,
    ngx_str_t *uri)
{
    return ngx_http_helicone_upstream_tree_has(clcf->static_locations, uri);
}


static ngx_uint_t
ngx_http_helicone_upstream_tree_has(ngx_http_location_tree_node_t *node,
    ngx_str_t *uri)
{
    ngx_http_core_loc_conf_t  *clcf;

    if (node == NULL) {
        return 0;
    }

    clcf = node->exact ? node->exact : node->inclusive;

    if (clcf && clcf->name.len == uri->len
        && ngx_strncmp(clcf->name.data, uri->data, uri->len) == 0)
    {
        return 1;
    }

    return ngx_http_helicone_upstream_tree_has(node->left, uri)
           || ngx_http_helicone_upstream_tree_has(node->right, uri)
           || ngx_http_helicone_upstream_tree_has(node->tree, uri)
           || (node->inclusive
               && ngx_http_helicone_upstream_has_location(node->inclusive,
                                                          uri));
}


/*
 * The upstream of an origin, unless one the proxy would find first
 * exists: an upstream{} block named like the host, or another origin
 * with the same host and port.
 */

static ngx_int_t
ngx_http_helicone_upstream_add(ngx_conf_t *cf, ngx_str_t *origin,
    ngx_str_t *provider)
{
    in_port_t                                port;
    ngx_str_t                                host;
    ngx_uint_t                               i, j;
    ngx_http_upstream_srv_conf_t            *uscf, **uscfp;
    ngx_http_helicone_upstream_t            *hu, **hup;
    ngx_http_upstream_main_conf_t           *umcf;
    ngx_http_helicone_upstream_main_conf_t  *humcf;

    if (ngx_http_helicone_upstream_parse_origin(origin, &host, &port)
        != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "helicone upstream: invalid origin \"%V\"",
                           origin);
        return NGX_ERROR;
    }

    humcf = ngx_http_conf_get_module_main_conf(cf,
                                          ngx_http_helicone_upstream_module);
    umcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_upstream_module);

    uscfp = umcf->upstreams.elts;

    for (i = 0; i < umcf->upstreams.nelts; i++) {
        if (uscfp[i]->host.len == host.len
            && (uscfp[i]->port == 0 || uscfp[i]->port == port)
            && ngx_strncasecmp(uscfp[i]->host.data, host.data, host.len)
               == 0)
        {
            hup = humcf->upstreams.elts;

            for (j = 0; j < humcf->upstreams.nelts; j++) {
                if (hup[j]->uscf == uscfp[i] && provider) {
                    /* another provider on the same origin: its tuning */
                    ngx_http_helicone_upstream_tune(humcf, hup[j], provider);
                }
            }

            return NGX_OK;
        }
    }

    hu = ngx_pcalloc(cf->pool, sizeof(ngx_http_helicone_upstream_t));
    uscf = ngx_pcalloc(cf->pool, sizeof(ngx_http_upstream_srv_conf_t));
    if (hu == NULL || uscf == NULL) {
        return NGX_ERROR;
    }

    hu->origin = *origin;
    hu->host = host;
    hu->port = port;
    hu->uscf = uscf;
    hu->conf = ngx_http_helicone_upstream_defaults;

    ngx_queue_init(&hu->waiters);
    ngx_queue_init(&hu->idle);
    ngx_queue_init(&hu->free);

    ngx_http_helicone_upstream_tune(humcf, hu, provider);

    uscf->host = host;
    uscf->port = port;
    uscf->file_name = cf->conf_file->file.name.data;
    uscf->line = cf->conf_file->line;
    uscf->peer.init = ngx_http_helicone_balancer_init_peer;
    uscf->peer.data = hu;

    uscfp = ngx_array_push(&umcf->upstreams);
    hup = ngx_array_push(&humcf->upstreams);
    if (uscfp == NULL || hup == NULL) {
        return NGX_ERROR;
    }

    *uscfp = uscf;
    *hup = hu;

    return NGX_OK;
}


/* helicone_upstream: "*" first, then the origin's, then the provider's */

static void
ngx_http_helicone_upstream_tune(ngx_http_helicone_upstream_main_conf_t *humcf,
    ngx_http_helicone_upstream_t *hu, ngx_str_t *provider)
{
    in_port_t                             port;
    ngx_uint_t                            i, pass;
    ngx_str_t                            *name, host;
    ngx_http_helicone_upstream_conf_t    *c;
    ngx_http_helicone_upstream_tuning_t  *t;

    t = humcf->tunings.elts;

    for (pass = 0; pass < 3; pass++) {
        for (i = 0; i < humcf->tunings.nelts; i++) {
            name = &t[i].name;

            if (pass == 0 && !(name->len == 1 && name->data[0] == '*')) {
                continue;
            }

            if (pass == 1
                && (ngx_http_helicone_upstream_parse_origin(name, &host,
                                                            &port)
                    != NGX_OK
                    || port != hu->port || host.len != hu->host.len
                    || ngx_strncasecmp(host.data, hu->host.data, host.len)
                       != 0))
            {
                continue;
            }

            if (pass == 2 && !(provider && name->len == provider->len
                               && ngx_strncmp(name->data, provider->data,
                                              name->len) == 0))
            {
                continue;
            }

            t[i].used = 1;
            c = &t[i].conf;

            hu->conf.keepalive = (c->keepalive != NGX_CONF_UNSET_UINT)
                                 ? c->keepalive : hu->conf.keepalive;
            hu->conf.keepalive_timeout =
                (c->keepalive_timeout != NGX_CONF_UNSET_MSEC)
                ? c->keepalive_timeout : hu->conf.keepalive_timeout;
            hu->conf.keepalive_requests =
                (c->keepalive_requests != NGX_CONF_UNSET_UINT)
                ? c->keepalive_requests : hu->conf.keepalive_requests;
            hu->conf.keepalive_time =
                (c->keepalive_time != NGX_CONF_UNSET_MSEC)
                ? c->keepalive_time : hu->conf.keepalive_time;
            hu->conf.max_fails = (c->max_fails != NGX_CONF_UNSET_UINT)
                                 ? c->max_fails : hu->conf.max_fails;
            hu->conf.fail_timeout = (c->fail_timeout != NGX_CONF_UNSET)
                                    ? c->fail_timeout
                                    : hu->conf.fail_timeout;
        }
    }
}


/*
 * "https://Host:8443" -> "Host", 8443, as the proxy sees a URL: the host
 * as written (an IPv6 one in brackets), the scheme's port if none.
 */

static ngx_int_t
ngx_http_helicone_upstream_parse_origin(ngx_str_t *origin, ngx_str_t *host,
    in_port_t *port)
{
    u_char     *p, *last, *colon;
    ngx_int_t   n;

    p = origin->data;
    last = p + origin->len;

    if (origin->len > 8 && helicone_caseless_eq(p, (u_char *) "https://", 8)) {
        p += 8;
        *port = 443;

    } else if (origin->len > 7
               && helicone_caseless_eq(p, (u_char *) "http://", 7))
    {
        p += 7;
        *port = 80;

    } else {
        return NGX_ERROR;
    }

    /* an origin or a whole URL: the authority ends at a path or query */

    for (colon = p; colon < last; colon++) {
        if (*colon == '/' || *colon == '?' || *colon == '#') {
            last = colon;
            break;
        }
    }

    host->data = p;

    if (*p == '[') {
        p = ngx_strlchr(p, last, ']');
        if (p == NULL) {
            return NGX_ERROR;
        }

        p++;
        colon = (p < last && *p == ':') ? p : NULL;

    } else {
        colon = ngx_strlchr(p, last, ':');
    }

    host->len = (colon ? colon : last) - host->data;

    if (host->len == 0) {
        return NGX_ERROR;
    }

    if (colon) {
        n = ngx_atoi(colon + 1, last - colon - 1);
        if (n < 1 || n > 65535) {
            return NGX_ERROR;
        }

        *port = (in_port_t) n;
    }

    return NGX_OK;
}


static ngx_http_helicone_upstream_t *
ngx_http_helicone_upstream_find(ngx_http_helicone_upstream_main_conf_t *humcf,
    ngx_str_t *url)
{
    in_port_t                      port;
    ngx_str_t                      host;
    ngx_uint_t                     i;
    ngx_http_helicone_upstream_t  *hu, **hup;

    if (ngx_http_helicone_upstream_parse_origin(url, &host, &port) != NGX_OK) {
        return NULL;
    }

    hup = humcf->upstreams.elts;

    for (i = 0; i < humcf->upstreams.nelts; i++) {
        hu = hup[i];

        if (hu->port == port && hu->host.len == host.len
            && helicone_caseless_eq(hu->host.data, host.data, host.len))
        {
            return hu;
        }
    }

    return NULL;
}


/*
 * 1 when url is origin followed by a path, a query, a fragment or nothing:
 * its host and port are the origin's, byte for byte.
 */

static ngx_uint_t
ngx_http_helicone_upstream_within(ngx_str_t *url, ngx_str_t *origin)
{
    u_char  c;

    if (url->len < origin->len
        || ngx_memcmp(url->data, origin->data, origin->len) != 0)
    {
        return 0;
    }

    if (url->len == origin->len) {
        return 1;
    }

    c = url->data[origin->len];

    return c == '/' || c == '?' || c == '#';
}


/*
 * The attempt subrequest, before the proxy runs: a name never resolved in
 * this worker is waited for here (the proxy's balancer cannot wait), and
 * one that cannot be resolved fails the attempt as a DNS error.
 */

static ngx_int_t
ngx_http_helicone_upstream_preaccess(ngx_http_request_t *r)
{
    ngx_http_helicone_target_t              *t;
    ngx_http_helicone_sr_ctx_t              *srctx;
    ngx_http_helicone_provider_t            *pr;
    ngx_http_helicone_upstream_t            *hu;
    ngx_http_helicone_upstream_main_conf_t  *humcf;

    if (r == r->main) {
        return NGX_DECLINED;
    }

    srctx = ngx_http_get_module_ctx(r, ngx_http_helicone_module);

    if (srctx == NULL || srctx->attempt == NULL) {
        return NGX_DECLINED;
    }

    t = srctx->attempt->target;
    pr = t->provider;

    if (pr && ngx_http_helicone_upstream_within(&t->url, &pr->origin)) {
        /*
         * the provider's own URL: the origin's upstream, found at start
         * (every provider's, as any attempt means a helicone_pass)
         */
        hu = pr->upstream;

    } else {
        humcf = ngx_http_get_module_main_conf(r,
                                          ngx_http_helicone_upstream_module);

        hu = ngx_http_helicone_upstream_find(humcf, &t->url);
    }

    if (hu == NULL) {
        return NGX_DECLINED;
    }

    switch (ngx_http_helicone_dns_wait(r, hu)) {

    case NGX_OK:
        return NGX_DECLINED;

    case NGX_AGAIN:
        r->write_event_handler = ngx_http_request_empty_handler;
        return NGX_AGAIN;

    case NGX_DECLINED:
        srctx->attempt->error = "dns";
        return NGX_HTTP_BAD_GATEWAY;

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}
