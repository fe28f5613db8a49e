/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * Log sinks: where each request's event line goes. "helicone_log NAME
 * ARGS..." is parsed in one place (sink.c); NAME picks a row of the sink
 * table, whose parse reads ARGS. A level's lines form a chain of
 * ngx_http_helicone_log_t; every event is written to each of them.
 */

#ifndef _NGX_HTTP_HELICONE_SINK_H_INCLUDED_
#define _NGX_HTTP_HELICONE_SINK_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef struct ngx_http_helicone_sink_s  ngx_http_helicone_sink_t;
typedef struct ngx_http_helicone_log_s   ngx_http_helicone_log_t;


/*
 * Reads the line's arguments after the sink's name: args[0 .. n - 1],
 * NUL-terminated, owned by the configuration. Sets *data to the sink's
 * state for this line, allocated in cf->pool (or shared with an earlier
 * line that says the same). Returns NGX_CONF_OK, an error suffix for the
 * directive ("needs path="), or NGX_CONF_ERROR once it has logged why.
 */
typedef char *(*ngx_http_helicone_sink_parse_pt)(ngx_conf_t *cf,
    ngx_str_t *args, ngx_uint_t n, void **data);

/*
 * In a worker (or the single process) after fork, for every row whether
 * a helicone_log line names it or not. NGX_ERROR ends the worker: a
 * sink that can serve without its outside world returns NGX_OK.
 */
typedef ngx_int_t (*ngx_http_helicone_sink_init_pt)(ngx_cycle_t *cycle);

/* At a worker's exit (quit, reload, terminate), for every row. */
typedef void (*ngx_http_helicone_sink_exit_pt)(ngx_cycle_t *cycle);

/*
 * One event line, its newline included, for the line whose parse made
 * data. The line is the caller's and goes with the request: a sink that
 * keeps it copies it. Never blocks. NGX_OK, or NGX_ERROR when the event
 * is lost to this sink (logged or counted by it); other sinks still get
 * it, and the request is not affected.
 */
typedef ngx_int_t (*ngx_http_helicone_sink_write_pt)(void *data,
    ngx_log_t *log, u_char *line, size_t len);


/* a row of the sink table: one per kind of sink, static */
struct ngx_http_helicone_sink_s {
    ngx_str_t                          name;      /* helicone_log's 1st */
    ngx_http_helicone_sink_parse_pt    parse;
    ngx_http_helicone_sink_init_pt     init_process;  /* NULL: none */
    ngx_http_helicone_sink_exit_pt     exit_process;  /* NULL: none */
    ngx_http_helicone_sink_write_pt    write;
};


/* one helicone_log line of a level, in cf->pool; a chain in line order */
struct ngx_http_helicone_log_s {
    ngx_http_helicone_sink_t          *sink;
    void                              *data;      /* the sink's parse's */
    ngx_http_helicone_log_t           *next;
};


/* the rows, each defined in its sink's file */
extern ngx_http_helicone_sink_t  ngx_http_helicone_sink_file;
extern ngx_http_helicone_sink_t  ngx_http_helicone_sink_kafka;


/*
 * helicone_log NAME ARGS... | off: the loc conf's "logs" chain grows by
 * one line (inherited whole by a level without helicone_log).
 */
char *ngx_http_helicone_log_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* every row's init_process / exit_process, in table order; workers only */
ngx_int_t ngx_http_helicone_sink_init_process(ngx_cycle_t *cycle);
void ngx_http_helicone_sink_exit_process(ngx_cycle_t *cycle);

/* the event line to every sink of the chain; NULL chain: none */
void ngx_http_helicone_sink_write(ngx_http_helicone_log_t *logs,
    ngx_log_t *log, u_char *line, size_t len);


#endif /* _NGX_HTTP_HELICONE_SINK_H_INCLUDED_ */
