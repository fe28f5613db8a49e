/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* The Kafka sink's entry for the helicone_log directive (sink_file.c). */

#ifndef _NGX_HTTP_HELICONE_SINK_KAFKA_H_INCLUDED_
#define _NGX_HTTP_HELICONE_SINK_KAFKA_H_INCLUDED_


#include "ngx_http_helicone_module.h"


/*
 * "helicone_log kafka brokers=... topic=... [key=...] [spool=DIR]": reads
 * cf->args and sets *sink to a new sink in cf->pool. NGX_CONF_OK, an
 * error suffix for the directive, or NGX_CONF_ERROR (already logged).
 */
char *ngx_http_helicone_kafka_sink(ngx_conf_t *cf,
    ngx_http_helicone_sink_t **sink);


#endif /* _NGX_HTTP_HELICONE_SINK_KAFKA_H_INCLUDED_ */
