/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The JSON-lines file sink. The file is opened like access_log's (by the
 * master, reopened on USR1); every write() holds whole lines only, so
 * lines from several workers never interleave.
 *
 * Without buffer=, a worker's lines are collected during one turn of its
 * event loop and written together at the turn's end (a posted event),
 * before the worker waits again: under load one write() serves every
 * request that ended in the turn, and a lone request is written as soon
 * as an unbuffered one would be, within the same turn.
 */

#include "ngx_http_helicone_module.h"


/*
 * Disk reserved ahead of the file's end (fallocate(FALLOC_FL_KEEP_SIZE)):
 * a write() into blocks already reserved skips the file system's block
 * allocation, about a tenth of an event's append on ext4. Renewed from
 * the end after each worker wrote half of it.
 */
#define NGX_HTTP_HELICONE_SINK_AHEAD  (1024 * 1024)

/* what one turn of the event loop collects before it writes anyway */
#define NGX_HTTP_HELICONE_SINK_TURN   (64 * 1024)


/* a worker's reservation in one file */
typedef struct {
    ngx_fd_t                           fd;      /* the file it was made in */
    size_t                             left;    /* bytes before renewing */
    unsigned                           off:1;   /* not supported there */
} ngx_http_helicone_sink_ahead_t;


typedef struct {
    u_char                            *start;
    u_char                            *pos;
    u_char                            *last;
    ngx_event_t                       *event;   /* its data: this */
    ngx_open_file_t                   *file;
    ngx_msec_t                         flush;   /* 0: at the turn's end */
    size_t                             size;
    ngx_http_helicone_sink_ahead_t     ahead;
} ngx_http_helicone_sink_buf_t;


/* a file's buffers in a worker, its ngx_open_file_t's data */
typedef struct {
    ngx_http_helicone_sink_buf_t       turn;    /* lines without buffer= */
    ngx_http_helicone_sink_buf_t       timed;   /* buffer= flush=, if any */
} ngx_http_helicone_sink_bufs_t;


typedef struct {
    ngx_open_file_t                   *file;
    ngx_http_helicone_sink_buf_t      *buf;     /* in file->data */
} ngx_http_helicone_sink_file_t;


static char *ngx_http_helicone_sink_file_parse(ngx_conf_t *cf,
    ngx_str_t *args, ngx_uint_t n, void **data);
static ngx_int_t ngx_http_helicone_sink_file_write(void *data,
    ngx_log_t *log, u_char *line, size_t len);
static void ngx_http_helicone_sink_file_write_fd(ngx_open_file_t *file,
    ngx_http_helicone_sink_ahead_t *ahead, ngx_log_t *log, u_char *data,
    size_t len);
static void ngx_http_helicone_sink_file_reserve(ngx_open_file_t *file,
    ngx_http_helicone_sink_ahead_t *ahead, ngx_log_t *log);
static ngx_int_t ngx_http_helicone_sink_file_start(
    ngx_http_helicone_sink_buf_t *buf, ngx_open_file_t *file, ngx_log_t *log);
static void ngx_http_helicone_sink_file_flush_buf(
    ngx_http_helicone_sink_buf_t *buf, ngx_open_file_t *file, ngx_log_t *log);
static void ngx_http_helicone_sink_file_flush(ngx_open_file_t *file,
    ngx_log_t *log);
static void ngx_http_helicone_sink_file_flush_handler(ngx_event_t *ev);


ngx_http_helicone_sink_t  ngx_http_helicone_sink_file = {
    ngx_string("file"),
    ngx_http_helicone_sink_file_parse,
    NULL,                                  /* init process */
    NULL,                                  /* exit process: nginx flushes */
    ngx_http_helicone_sink_file_write
};


/* helicone_log file path=PATH [buffer=SIZE] [flush=TIME] */

static char *
ngx_http_helicone_sink_file_parse(ngx_conf_t *cf, ngx_str_t *args,
    ngx_uint_t n, void **data)
{
    size_t                           size;
    ngx_str_t                        path, s;
    ngx_msec_t                       flush;
    ngx_uint_t                       i;
    ngx_http_helicone_sink_file_t   *fs;
    ngx_http_helicone_sink_bufs_t   *bufs;

    ngx_str_null(&path);
    size = 0;
    flush = 1000;

    for (i = 0; i < n; i++) {

        if (ngx_http_helicone_conf_value(&args[i], "path", &path)) {
            continue;
        }

        if (ngx_http_helicone_conf_value(&args[i], "buffer", &s)) {
            size = ngx_parse_size(&s);
            if (size == (size_t) NGX_ERROR) {
                goto invalid;
            }

            continue;
        }

        if (ngx_http_helicone_conf_value(&args[i], "flush", &s)) {
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

    fs = ngx_pcalloc(cf->pool, sizeof(ngx_http_helicone_sink_file_t));
    if (fs == NULL) {
        return NGX_CONF_ERROR;
    }

    fs->file = ngx_conf_open_file(cf->cycle, &path);
    if (fs->file == NULL) {
        return NGX_CONF_ERROR;
    }

    bufs = fs->file->data;

    if (bufs && fs->file->flush != ngx_http_helicone_sink_file_flush) {
        /* a buffered access_log's */
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" is buffered by another module", &path);
        return NGX_CONF_ERROR;
    }

    if (bufs == NULL) {
        bufs = ngx_pcalloc(cf->pool, sizeof(ngx_http_helicone_sink_bufs_t));
        if (bufs == NULL) {
            return NGX_CONF_ERROR;
        }

        bufs->turn.size = NGX_HTTP_HELICONE_SINK_TURN;
        bufs->turn.ahead.fd = NGX_INVALID_FILE;
        bufs->timed.ahead.fd = NGX_INVALID_FILE;

        fs->file->data = bufs;
        fs->file->flush = ngx_http_helicone_sink_file_flush;
    }

    if (size == 0) {
        fs->buf = &bufs->turn;

    } else if (bufs->timed.size == 0) {
        bufs->timed.size = size;
        bufs->timed.flush = flush;
        fs->buf = &bufs->timed;

    } else if (bufs->timed.size == size && bufs->timed.flush == flush) {
        fs->buf = &bufs->timed;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" is used with another buffer= or "
                           "flush=", &path);
        return NGX_CONF_ERROR;
    }

    *data = fs;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &args[i]);
    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_helicone_sink_file_write(void *data, ngx_log_t *log, u_char *line,
    size_t len)
{
    ngx_http_helicone_sink_file_t *fs = data;

    ngx_open_file_t               *file;
    ngx_http_helicone_sink_buf_t  *buf;

    file = fs->file;
    buf = fs->buf;

    if (buf->start == NULL
        && ngx_http_helicone_sink_file_start(buf, file, log) != NGX_OK)
    {
        ngx_http_helicone_sink_file_write_fd(file, &buf->ahead, log, line,
                                             len);
        return NGX_OK;
    }

    if (len > (size_t) (buf->last - buf->pos)) {
        ngx_http_helicone_sink_file_flush_buf(buf, file, log);
    }

    if (len > (size_t) (buf->last - buf->pos)) {
        /* larger than the whole buffer */
        ngx_http_helicone_sink_file_write_fd(file, &buf->ahead, log, line,
                                             len);
        return NGX_OK;
    }

    buf->pos = ngx_cpymem(buf->pos, line, len);

    if (buf->flush == 0) {
        if (!buf->event->posted) {
            ngx_post_event(buf->event, &ngx_posted_events);
        }

    } else if (!buf->event->timer_set) {
        ngx_add_timer(buf->event, buf->flush);
    }

    return NGX_OK;
}


/* the first line of this worker for the buffer */

static ngx_int_t
ngx_http_helicone_sink_file_start(ngx_http_helicone_sink_buf_t *buf,
    ngx_open_file_t *file, ngx_log_t *log)
{
    if (buf->event == NULL) {
        buf->event = ngx_pcalloc(ngx_cycle->pool, sizeof(ngx_event_t));
        if (buf->event == NULL) {
            return NGX_ERROR;
        }

        buf->event->data = buf;
        buf->event->handler = ngx_http_helicone_sink_file_flush_handler;
        buf->event->log = ngx_cycle->log;
        buf->event->cancelable = 1;
    }

    buf->start = ngx_alloc(buf->size, log);
    if (buf->start == NULL) {
        return NGX_ERROR;
    }

    buf->file = file;

    buf->pos = buf->start;
    buf->last = buf->start + buf->size;

    return NGX_OK;
}


static void
ngx_http_helicone_sink_file_write_fd(ngx_open_file_t *file,
    ngx_http_helicone_sink_ahead_t *ahead, ngx_log_t *log, u_char *data,
    size_t len)
{
    ssize_t  n;

    if (ahead->fd != file->fd || ahead->left < len) {
        /* the first write, a reopened file, or the reserve half used */
        ngx_http_helicone_sink_file_reserve(file, ahead, log);
    }

    n = ngx_write_fd(file->fd, data, len);

    if (n == (ssize_t) len) {
        ahead->left -= ngx_min(ahead->left, len);
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


/*
 * Reserves NGX_HTTP_HELICONE_SINK_AHEAD bytes from the file's end, where
 * the next appends of every worker go; the size is kept, so readers see
 * only lines. A worker renews it after writing half: with several
 * workers the reserve is renewed more often, as the file grows faster.
 * A file system without fallocate(), or a device (/dev/null), is not
 * asked again for this file.
 */

static void
ngx_http_helicone_sink_file_reserve(ngx_open_file_t *file,
    ngx_http_helicone_sink_ahead_t *ahead, ngx_log_t *log)
{
#if (NGX_LINUX)
    off_t      end;
    ngx_err_t  err;

    if (ahead->fd != file->fd) {
        ahead->fd = file->fd;
        ahead->off = 0;
    }

    ahead->left = NGX_HTTP_HELICONE_SINK_AHEAD / 2;

    if (ahead->off) {
        return;
    }

    /* appends ignore the offset: moving it to the end is harmless */
    end = lseek(file->fd, 0, SEEK_END);

    if (end == -1
        || fallocate(file->fd, FALLOC_FL_KEEP_SIZE, end,
                     NGX_HTTP_HELICONE_SINK_AHEAD)
           == -1)
    {
        err = ngx_errno;

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, err,
                       "helicone log: no reserve in \"%s\"",
                       file->name.data);

        /* a full disk is left to write() to report, and asked again */
        ahead->off = (err == NGX_EOPNOTSUPP || err == ENOSYS
                      || err == ENODEV);
    }
#else
    ahead->fd = file->fd;
    ahead->left = (size_t) -1;
#endif
}


/* file->flush, called by nginx before a reopen and at a worker's exit */

static void
ngx_http_helicone_sink_file_flush(ngx_open_file_t *file, ngx_log_t *log)
{
    ngx_http_helicone_sink_bufs_t  *bufs;

    bufs = file->data;

    ngx_http_helicone_sink_file_flush_buf(&bufs->turn, file, log);
    ngx_http_helicone_sink_file_flush_buf(&bufs->timed, file, log);
}


static void
ngx_http_helicone_sink_file_flush_buf(ngx_http_helicone_sink_buf_t *buf,
    ngx_open_file_t *file, ngx_log_t *log)
{
    if (buf->start == NULL) {
        return;
    }

    if (buf->pos > buf->start) {
        ngx_http_helicone_sink_file_write_fd(file, &buf->ahead, log,
                                             buf->start,
                                             buf->pos - buf->start);
        buf->pos = buf->start;
    }

    if (buf->event->timer_set) {
        ngx_del_timer(buf->event);
    }
}


/* the buffer's timer, or the end of the turn it was written in */

static void
ngx_http_helicone_sink_file_flush_handler(ngx_event_t *ev)
{
    ngx_http_helicone_sink_buf_t  *buf = ev->data;

    ngx_http_helicone_sink_file_flush_buf(buf, buf->file, ev->log);
}
