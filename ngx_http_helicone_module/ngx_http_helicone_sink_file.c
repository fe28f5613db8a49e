/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The JSON-lines file sink. The file is opened like access_log's (by the
 * master, reopened on USR1); every write() holds whole lines only, so
 * lines from several workers never interleave.
 */

#include "ngx_http_helicone_module.h"
#include "ngx_http_helicone_sink_kafka.h"


typedef struct {
    u_char                        *start;
    u_char                        *pos;
    u_char                        *last;
    ngx_event_t                   *event;
    ngx_msec_t                     flush;
    size_t                         size;
} ngx_http_helicone_sink_buf_t;


typedef struct {
    ngx_open_file_t               *file;
} ngx_http_helicone_sink_file_t;


static ngx_int_t ngx_http_helicone_sink_file_emit(
    ngx_http_helicone_sink_t *sink, ngx_log_t *log, u_char *line,
    size_t len);
static void ngx_http_helicone_sink_file_write(ngx_open_file_t *file,
    ngx_log_t *log, u_char *data, size_t len);
static void ngx_http_helicone_sink_file_flush(ngx_open_file_t *file,
    ngx_log_t *log);
static void ngx_http_helicone_sink_file_flush_handler(ngx_event_t *ev);
static void ngx_http_helicone_log_chain(ngx_http_helicone_loc_conf_t *hlcf,
    ngx_http_helicone_sink_t *sink);


/*
 * helicone_log file path=PATH [buffer=SIZE] [flush=TIME];
 * helicone_log kafka brokers=LIST topic=NAME [key=...] [spool=DIR];
 * helicone_log off;
 *
 * Several lines at one level all get every event.
 */

char *
ngx_http_helicone_log_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_helicone_loc_conf_t *hlcf = conf;

    char                            *rv;
    size_t                           size;
    ngx_str_t                       *value, path, s;
    ngx_msec_t                       flush;
    ngx_uint_t                       i;
    ngx_http_helicone_sink_t        *sink;
    ngx_http_helicone_sink_buf_t    *buf;
    ngx_http_helicone_sink_file_t   *fs;

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        if (cf->args->nelts != 2) {
            return "takes no parameters after \"off\"";
        }

        if (hlcf->log_off != NGX_CONF_UNSET) {
            return "is duplicate";
        }

        hlcf->log_off = 1;
        hlcf->sink = NULL;
        return NGX_CONF_OK;
    }

    if (ngx_strcmp(value[1].data, "file") != 0
        && ngx_strcmp(value[1].data, "kafka") != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown log sink \"%V\": expected \"file\", "
                           "\"kafka\" or \"off\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (hlcf->log_off == 1) {
        return "conflicts with \"helicone_log off\"";
    }

    hlcf->log_off = 0;

    if (value[1].data[0] == 'k') {
        /* the Kafka sink: ngx_http_helicone_sink_kafka.c */
        rv = ngx_http_helicone_kafka_sink(cf, &sink);

        if (rv != NGX_CONF_OK) {
            return rv;
        }

        ngx_http_helicone_log_chain(hlcf, sink);
        return NGX_CONF_OK;
    }

    ngx_str_null(&path);
    size = 0;
    flush = 1000;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "path=", 5) == 0) {
            path.data = value[i].data + 5;
            path.len = value[i].len - 5;
            continue;
        }

        if (ngx_strncmp(value[i].data, "buffer=", 7) == 0) {
            s.data = value[i].data + 7;
            s.len = value[i].len - 7;

            size = ngx_parse_size(&s);
            if (size == (size_t) NGX_ERROR) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "flush=", 6) == 0) {
            s.data = value[i].data + 6;
            s.len = value[i].len - 6;

            flush = ngx_parse_time(&s, 0);
            if (flush == (ngx_msec_t) NGX_ERROR || flush == 0) {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    if (path.len == 0) {
        return "needs path=";
    }

    sink = ngx_pcalloc(cf->pool, sizeof(ngx_http_helicone_sink_t));
    fs = ngx_pcalloc(cf->pool, sizeof(ngx_http_helicone_sink_file_t));
    if (sink == NULL || fs == NULL) {
        return NGX_CONF_ERROR;
    }

    fs->file = ngx_conf_open_file(cf->cycle, &path);
    if (fs->file == NULL) {
        return NGX_CONF_ERROR;
    }

    if (size) {
        buf = fs->file->data;

        if (buf == NULL) {
            buf = ngx_pcalloc(cf->pool, sizeof(ngx_http_helicone_sink_buf_t));
            if (buf == NULL) {
                return NGX_CONF_ERROR;
            }

            buf->size = size;
            buf->flush = flush;

            fs->file->data = buf;
            fs->file->flush = ngx_http_helicone_sink_file_flush;

        } else if (buf->size != size || buf->flush != flush) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" is used with another buffer= or "
                               "flush=", &path);
            return NGX_CONF_ERROR;
        }
    }

    sink->emit = ngx_http_helicone_sink_file_emit;
    sink->data = fs;

    ngx_http_helicone_log_chain(hlcf, sink);

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);
    return NGX_CONF_ERROR;
}


/*
 * The sinks of one level form a chain in the order of their lines; a
 * level without helicone_log inherits its parent's whole chain (merge).
 */

static void
ngx_http_helicone_log_chain(ngx_http_helicone_loc_conf_t *hlcf,
    ngx_http_helicone_sink_t *sink)
{
    ngx_http_helicone_sink_t  **last;

    for (last = &hlcf->sink; *last; last = &(*last)->next) {
        /* void */
    }

    *last = sink;
}


static ngx_int_t
ngx_http_helicone_sink_file_emit(ngx_http_helicone_sink_t *sink,
    ngx_log_t *log, u_char *line, size_t len)
{
    ngx_http_helicone_sink_file_t *fs = sink->data;

    ngx_open_file_t               *file;
    ngx_http_helicone_sink_buf_t  *buf;

    file = fs->file;
    buf = file->data;

    if (buf == NULL) {
        ngx_http_helicone_sink_file_write(file, log, line, len);
        return NGX_OK;
    }

    if (buf->start == NULL) {
        /* the first event of this worker */
        buf->start = ngx_alloc(buf->size, log);
        buf->event = ngx_pcalloc(ngx_cycle->pool, sizeof(ngx_event_t));

        if (buf->start == NULL || buf->event == NULL) {
            ngx_http_helicone_sink_file_write(file, log, line, len);
            return NGX_OK;
        }

        buf->pos = buf->start;
        buf->last = buf->start + buf->size;

        buf->event->data = file;
        buf->event->handler = ngx_http_helicone_sink_file_flush_handler;
        buf->event->log = ngx_cycle->log;
        buf->event->cancelable = 1;
    }

    if (len > (size_t) (buf->last - buf->pos)) {
        ngx_http_helicone_sink_file_flush(file, log);
    }

    if (len > (size_t) (buf->last - buf->pos)) {
        /* larger than the whole buffer */
        ngx_http_helicone_sink_file_write(file, log, line, len);
        return NGX_OK;
    }

    buf->pos = ngx_cpymem(buf->pos, line, len);

    if (!buf->event->timer_set) {
        ngx_add_timer(buf->event, buf->flush);
    }

    return NGX_OK;
}


static void
ngx_http_helicone_sink_file_write(ngx_open_file_t *file, ngx_log_t *log,
    u_char *data, size_t len)
{
    ssize_t  n;

    n = ngx_write_fd(file->fd, data, len);

    if (n == (ssize_t) len) {
        return;
    }

    if (n == -1) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      "helicone log: " ngx_write_fd_n " to \"%s\" failed",
                      file->name.data);
        return;
    }

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "helicone log: " ngx_write_fd_n " to \"%s\" was "
                  "incomplete: %z of %uz", file->name.data, n, len);
}


static void
ngx_http_helicone_sink_file_flush(ngx_open_file_t *file, ngx_log_t *log)
{
    ngx_http_helicone_sink_buf_t  *buf;

    buf = file->data;

    if (buf == NULL || buf->start == NULL) {
        return;
    }

    if (buf->pos > buf->start) {
        ngx_http_helicone_sink_file_write(file, log, buf->start,
                                          buf->pos - buf->start);
        buf->pos = buf->start;
    }

    if (buf->event && buf->event->timer_set) {
        ngx_del_timer(buf->event);
    }
}


static void
ngx_http_helicone_sink_file_flush_handler(ngx_event_t *ev)
{
    ngx_http_helicone_sink_file_flush(ev->data, ev->log);
}

