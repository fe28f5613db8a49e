/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * The Kafka sink's spool: events the producer cannot take or get
 * delivered go to a per-worker file of their topic; a replay timer
 * claims such files (this worker's, or a gone worker's) and produces
 * their lines again when the cluster is back.
 */

#include "ngx_http_helicone_sink_kafka.h"


#define NGX_HTTP_HELICONE_KAFKA_REPLAY_FAST    100      /* ms, file open */
#define NGX_HTTP_HELICONE_KAFKA_REPLAY_SLOW    1000     /* ms, looking */
#define NGX_HTTP_HELICONE_KAFKA_REPLAY_BATCH   2000     /* lines a tick */
#define NGX_HTTP_HELICONE_KAFKA_REPLAY_BYTES   (4 * 1024 * 1024) /* a tick */
#define NGX_HTTP_HELICONE_KAFKA_REPLAY_WINDOW  10000    /* in flight */
#define NGX_HTTP_HELICONE_KAFKA_READ           65536    /* first buffer */
#define NGX_HTTP_HELICONE_KAFKA_LINE_MAX       (64 * 1024 * 1024)


static void ngx_http_helicone_kafka_spool_cut(
    ngx_http_helicone_kafka_topic_t *kt);
static void ngx_http_helicone_kafka_replay_handler(ngx_event_t *ev);
static ngx_uint_t ngx_http_helicone_kafka_replay_step(
    ngx_http_helicone_kafka_topic_t *kt);
static ngx_int_t ngx_http_helicone_kafka_replay_line(
    ngx_http_helicone_kafka_topic_t *kt, u_char **line, size_t *len);
static ngx_int_t ngx_http_helicone_kafka_replay_claim(
    ngx_http_helicone_kafka_topic_t *kt);
static ngx_int_t ngx_http_helicone_kafka_replay_open(
    ngx_http_helicone_kafka_topic_t *kt, u_char *name, off_t offset);
static void ngx_http_helicone_kafka_replay_close(
    ngx_http_helicone_kafka_topic_t *kt);
static ngx_int_t ngx_http_helicone_kafka_spool_parse(u_char *p, u_char *end,
    ngx_pid_t *pid, off_t *offset, ngx_uint_t *own);
static u_char *ngx_http_helicone_kafka_replay_path(
    ngx_http_helicone_kafka_topic_t *kt, u_char *buf, ngx_uint_t seq,
    off_t offset);


/*
 * spool=DIR at configuration time: the directory, made by the master
 * and owned by the worker user (ngx_create_paths); a DIR given twice is
 * one ngx_path_t. NULL: an error.
 */

ngx_path_t *
ngx_http_helicone_kafka_spool_path(ngx_conf_t *cf, ngx_str_t *dir)
{
    ngx_path_t  *path;

    path = ngx_pcalloc(cf->pool, sizeof(ngx_path_t));
    if (path == NULL) {
        return NULL;
    }

    /* a copy: the trailing slashes are cut off */
    path->name.data = ngx_pnalloc(cf->pool, dir->len + 1);
    if (path->name.data == NULL) {
        return NULL;
    }

    ngx_cpystrn(path->name.data, dir->data, dir->len + 1);
    path->name.len = dir->len;

    if (ngx_conf_full_name(cf->cycle, &path->name, 0) != NGX_OK) {
        return NULL;
    }

    path->conf_file = cf->conf_file->file.name.data;
    path->line = cf->conf_file->line;

    if (ngx_add_path(cf, &path) != NGX_OK) {
        return NULL;
    }

    return path;
}


/*
 * After fork: the topics' file names, made once (every claim and spool
 * reuses them), and the replay timer when any topic has a spool.
 */

ngx_int_t
ngx_http_helicone_kafka_spool_init(ngx_http_helicone_kafka_main_conf_t *kmcf,
    ngx_cycle_t *cycle)
{
    size_t                             size;
    ngx_uint_t                         i, spool;
    ngx_http_helicone_kafka_topic_t  **ktp, *kt;

    spool = 0;
    ktp = kmcf->topics.elts;

    for (i = 0; i < kmcf->topics.nelts; i++) {
        kt = ktp[i];

        kt->fd = NGX_INVALID_FILE;
        kt->replay_fd = NGX_INVALID_FILE;

        if (kt->spool == NULL) {
            continue;
        }

        /* claimed names stay unique should a pid come back */
        kt->replay_seq = (ngx_uint_t) ngx_time();

        spool = 1;

        /* "<dir>/<topic>.<pid>.<seq>.<offset>.replay" at most */
        size = kt->spool->name.len + 1 + kt->name.len
               + 3 * (NGX_OFF_T_LEN + 1) + sizeof(".replay");

        kt->path_size = size;
        kt->spool_name = ngx_pnalloc(cycle->pool, size);
        kt->replay_name = ngx_pnalloc(cycle->pool, size);
        kt->path = ngx_pnalloc(cycle->pool, size);

        if (kt->spool_name == NULL || kt->replay_name == NULL
            || kt->path == NULL)
        {
            return NGX_ERROR;
        }

        ngx_sprintf(kt->spool_name, "%V/%V.%P.jsonl%Z",
                    &kt->spool->name, &kt->name, ngx_pid);
    }

    if (spool) {
        ngx_http_helicone_kafka_timer(kmcf, &kmcf->replay,
                                      ngx_http_helicone_kafka_replay_handler,
                                      NGX_HTTP_HELICONE_KAFKA_REPLAY_SLOW);
    }

    return NGX_OK;
}


/*
 * At exit, once the producer is stopped: a claimed file that is not done
 * is renamed for whoever claims it next, a done one deleted; the worker's
 * own spool file stays for the next generation.
 */

void
ngx_http_helicone_kafka_spool_exit(ngx_http_helicone_kafka_main_conf_t *kmcf)
{
    u_char                            *name;
    ngx_uint_t                         i;
    ngx_http_helicone_kafka_topic_t  **ktp, *kt;

    ktp = kmcf->topics.elts;

    for (i = 0; i < kmcf->topics.nelts; i++) {
        kt = ktp[i];

        if (kt->replay_fd != NGX_INVALID_FILE && !kt->replay_eof) {

            /*
             * What was produced from it is delivered or spooled again by
             * now: the name keeps where the rest starts, for whoever
             * claims the file next
             */

            name = ngx_http_helicone_kafka_replay_path(kt, kt->path,
                                                       kt->replay_seq,
                                                       kt->replay_off);

            if (ngx_rename_file(kt->replay_name, name) == NGX_FILE_ERROR) {
                ngx_log_error(NGX_LOG_ERR, kmcf->log, ngx_errno,
                              "helicone kafka: " ngx_rename_file_n
                              " \"%s\" to \"%s\" failed, its lines will "
                              "be produced again", kt->replay_name, name);
            }

            (void) ngx_close_file(kt->replay_fd);
            kt->replay_fd = NGX_INVALID_FILE;
        }

        if (kt->replay_fd != NGX_INVALID_FILE) {
            ngx_http_helicone_kafka_replay_close(kt);
        }

        if (kt->fd != NGX_INVALID_FILE) {
            (void) ngx_close_file(kt->fd);
            kt->fd = NGX_INVALID_FILE;
        }
    }
}


/*
 * Bytes of events this worker holds on disk: its own spool file, and what
 * is not yet produced of a file it claimed for replay (which no longer
 * counts as a spool file once renamed).
 */

off_t
ngx_http_helicone_kafka_spool_held(ngx_http_helicone_kafka_topic_t *kt)
{
    off_t  held;

    held = kt->spool_size;

    if (kt->replay_fd != NGX_INVALID_FILE && kt->replay_size > kt->replay_off)
    {
        held += kt->replay_size - kt->replay_off;
    }

    return held;
}


/*
 * Appends one line to this worker's spool file of the topic,
 * "<dir>/<topic>.<pid>.jsonl": one writev() per line, O_APPEND.
 */

void
ngx_http_helicone_kafka_spool(ngx_http_helicone_kafka_topic_t *kt,
    const u_char *line, size_t len)
{
    u_char                                last;
    ssize_t                               n;
    struct iovec                          iov[2];
    ngx_file_info_t                       fi;
    ngx_http_helicone_kafka_main_conf_t  *kmcf;

    kmcf = kt->kmcf;

    if (kt->spool == NULL) {
        ngx_http_helicone_kafka_drop(kmcf, "no spool= is set", 0);
        return;
    }

    if (kt->fd == NGX_INVALID_FILE) {
        kt->fd = ngx_open_file(kt->spool_name, NGX_FILE_APPEND,
                               NGX_FILE_CREATE_OR_OPEN,
                               NGX_FILE_DEFAULT_ACCESS);

        if (kt->fd == NGX_INVALID_FILE) {
            ngx_http_helicone_kafka_drop(kmcf, "the spool file could not "
                                         "be opened", ngx_errno);
            return;
        }

        /* left by an earlier process with this pid, maybe */
        kt->spool_size = (ngx_fd_info(kt->fd, &fi) == NGX_FILE_ERROR)
                         ? 0 : ngx_file_size(&fi);

        /* ...cut mid-line when it died */
        if (kt->spool_size > 0
            && pread(kt->fd, &last, 1, kt->spool_size - 1) == 1
            && last != '\n')
        {
            ngx_http_helicone_kafka_spool_cut(kt);
        }
    }

    if (kt->spool_size + (off_t) len + 1 > kmcf->spool_max_size) {
        ngx_http_helicone_kafka_drop(kmcf, "the spool file is at "
                                     "helicone_kafka_spool_max_size", 0);
        return;
    }

    iov[0].iov_base = (void *) line;
    iov[0].iov_len = len;
    iov[1].iov_base = "\n";
    iov[1].iov_len = 1;

    n = writev(kt->fd, iov, 2);

    if (n == (ssize_t) len + 1) {
        kt->spool_size += n;
        kmcf->stats.spooled++;
        ngx_http_helicone_metrics_count(NGX_HTTP_HELICONE_KAFKA_SPOOLED);
        return;
    }

    if (n == -1) {
        ngx_http_helicone_kafka_drop(kmcf, "a write to the spool failed",
                                     ngx_errno);
        return;
    }

    /* a part of the line went (a full disk): it is taken back, so that
     * the next line does not join it */
    if (ftruncate(kt->fd, kt->spool_size) != 0) {
        kt->spool_size += n;
        ngx_http_helicone_kafka_spool_cut(kt);
    }

    ngx_http_helicone_kafka_drop(kmcf, "a write to the spool was "
                                 "incomplete", 0);
}


/*
 * The spool file ends in a cut line: it is ended here, alone (the replay
 * skips it as invalid), so that the next line does not join it.
 */

static void
ngx_http_helicone_kafka_spool_cut(ngx_http_helicone_kafka_topic_t *kt)
{
    if (write(kt->fd, "\n", 1) == 1) {
        kt->spool_size++;
    }
}


/*
 * The replay timer: while a spool file is claimed, a batch of its lines
 * every tick; otherwise a look for a file once a second.
 */

static void
ngx_http_helicone_kafka_replay_handler(ngx_event_t *ev)
{
    ngx_uint_t                            i, fast;
    ngx_http_helicone_kafka_topic_t     **ktp;
    ngx_http_helicone_kafka_main_conf_t  *kmcf;

    if (ngx_exiting) {
        /* the next generation's workers take the files over */
        return;
    }

    kmcf = ev->data;
    fast = 0;

    if (kmcf->rk) {
        ktp = kmcf->topics.elts;

        for (i = 0; i < kmcf->topics.nelts; i++) {
            if (ktp[i]->spool && ktp[i]->rkt) {
                fast |= ngx_http_helicone_kafka_replay_step(ktp[i]);
            }
        }
    }

    ngx_add_timer(ev, fast ? NGX_HTTP_HELICONE_KAFKA_REPLAY_FAST
                           : NGX_HTTP_HELICONE_KAFKA_REPLAY_SLOW);
}


/* 1: come back soon */

static ngx_uint_t
ngx_http_helicone_kafka_replay_step(ngx_http_helicone_kafka_topic_t *kt)
{
    u_char                               *line;
    size_t                                len;
    size_t                                bytes;
    ngx_int_t                             rc;
    ngx_uint_t                            n, window;
    rd_kafka_resp_err_t                   err;
    ngx_http_helicone_kafka_main_conf_t  *kmcf;

    kmcf = kt->kmcf;
    bytes = 0;

    if (kt->replay_fd == NGX_INVALID_FILE
        && ngx_http_helicone_kafka_replay_claim(kt) != NGX_OK)
    {
        return 0;
    }

    /* while deliveries fail, one line at a time probes the cluster */
    window = kmcf->healthy ? NGX_HTTP_HELICONE_KAFKA_REPLAY_WINDOW : 1;

    for (n = 0; !kt->replay_eof && n < NGX_HTTP_HELICONE_KAFKA_REPLAY_BATCH;
         n++)
    {
        if (kt->replay_inflight >= window
            || bytes >= NGX_HTTP_HELICONE_KAFKA_REPLAY_BYTES)
        {
            /* the rest next tick: large events must not stall the loop */
            return 1;
        }

        rc = ngx_http_helicone_kafka_replay_line(kt, &line, &len);

        if (rc == NGX_DONE) {
            kt->replay_eof = 1;
            break;
        }

        if (rc == NGX_ERROR) {
            return 0;
        }

        if (len == 0 || helicone_json_parse(line, len, NULL) != HELICONE_OK)
        {
            kt->buf_pos += len + 1;
            kt->replay_off += len + 1;

            if (len) {
                ngx_http_helicone_kafka_drop(kmcf, "an invalid line in "
                                             "the spool", 0);
            }

            continue;
        }

        err = ngx_http_helicone_kafka_produce(kt, line, len, kt);

        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            /* the line stays first for the next tick */
            return 1;
        }

        kt->buf_pos += len + 1;
        kt->replay_off += len + 1;
        bytes += len;

        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            kt->replay_inflight++;
            kmcf->stats.replayed++;
            ngx_http_helicone_metrics_count(NGX_HTTP_HELICONE_KAFKA_REPLAYED);
            continue;
        }

        if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
            ngx_http_helicone_kafka_drop(kmcf, "an event larger than "
                                         "message.max.bytes", 0);
            continue;
        }

        ngx_http_helicone_kafka_spool(kt, line, len);

        return 0;
    }

    if (kt->replay_eof && kt->replay_inflight == 0) {
        ngx_http_helicone_kafka_replay_close(kt);
    }

    /* a tick with a full window costs nothing */
    return 1;
}


/*
 * The next whole line of the claimed file in kt->buf: NGX_OK, NGX_DONE at
 * the end of the file, NGX_ERROR when it cannot be read.
 */

static ngx_int_t
ngx_http_helicone_kafka_replay_line(ngx_http_helicone_kafka_topic_t *kt,
    u_char **line, size_t *len)
{
    u_char  *p, *nl, *buf;
    size_t   size;
    ssize_t  n;

    for ( ;; ) {
        p = kt->buf + kt->buf_pos;

        nl = (kt->buf_len > kt->buf_pos)
             ? memchr(p, '\n', kt->buf_len - kt->buf_pos) : NULL;

        if (nl) {
            *line = p;
            *len = nl - p;
            return NGX_OK;
        }

        if (kt->replay_end) {
            if (kt->buf_len > kt->buf_pos) {
                /* cut short by a failed write */
                ngx_http_helicone_kafka_drop(kt->kmcf, "an incomplete line "
                                             "in the spool", 0);
                kt->replay_off += kt->buf_len - kt->buf_pos;
                kt->buf_pos = kt->buf_len;
            }

            return NGX_DONE;
        }

        if (kt->buf_pos) {
            ngx_memmove(kt->buf, p, kt->buf_len - kt->buf_pos);
            kt->buf_len -= kt->buf_pos;
            kt->buf_pos = 0;
        }

        if (kt->buf_len == kt->buf_size) {
            size = kt->buf_size ? 2 * kt->buf_size
                                : NGX_HTTP_HELICONE_KAFKA_READ;

            if (size > NGX_HTTP_HELICONE_KAFKA_LINE_MAX) {
                ngx_log_error(NGX_LOG_ERR, kt->kmcf->log, 0,
                              "helicone kafka: \"%s\" has a line longer "
                              "than %uz bytes, the rest of the file is "
                              "dropped", kt->replay_name,
                              (size_t) NGX_HTTP_HELICONE_KAFKA_LINE_MAX);

                ngx_http_helicone_kafka_drop(kt->kmcf, "a line in the spool "
                                             "is too long", 0);
                kt->replay_end = 1;
                kt->buf_pos = 0;
                kt->buf_len = 0;
                return NGX_DONE;
            }

            buf = ngx_alloc(size, kt->kmcf->log);
            if (buf == NULL) {
                return NGX_ERROR;
            }

            if (kt->buf) {
                ngx_memcpy(buf, kt->buf, kt->buf_len);
                ngx_free(kt->buf);
            }

            kt->buf = buf;
            kt->buf_size = size;
        }

        n = pread(kt->replay_fd, kt->buf + kt->buf_len,
                  kt->buf_size - kt->buf_len, kt->replay_read);

        if (n == -1) {
            ngx_log_error(NGX_LOG_ERR, kt->kmcf->log, ngx_errno,
                          "helicone kafka: pread() \"%s\" failed",
                          kt->replay_name);
            return NGX_ERROR;
        }

        if (n == 0) {
            kt->replay_end = 1;
            continue;
        }

        kt->buf_len += n;
        kt->replay_read += n;
    }
}


/*
 * Claims one spool file of the topic: this worker's own, or one whose
 * worker is gone (a reload, a crash), by renaming it to a name with this
 * worker's pid. rename() is atomic: of several workers that try, one
 * wins. NGX_OK: kt->replay_fd is open; NGX_DECLINED: none; NGX_ERROR.
 */

static ngx_int_t
ngx_http_helicone_kafka_replay_claim(ngx_http_helicone_kafka_topic_t *kt)
{
    u_char           *name;
    size_t            len;
    off_t             offset;
    ngx_int_t         rc;
    ngx_pid_t         pid;
    ngx_dir_t         dir;
    ngx_uint_t        own;
    ngx_file_info_t   fi;

    if (ngx_open_dir(&kt->spool->name, &dir) == NGX_ERROR) {
        if (!kt->dir_error) {
            ngx_log_error(NGX_LOG_ERR, kt->kmcf->log, ngx_errno,
                          "helicone kafka: " ngx_open_dir_n " \"%V\" "
                          "failed", &kt->spool->name);
            kt->dir_error = 1;
        }

        return NGX_ERROR;
    }

    kt->dir_error = 0;

    rc = NGX_DECLINED;

    for ( ;; ) {
        ngx_set_errno(0);

        if (ngx_read_dir(&dir) == NGX_ERROR) {
            if (ngx_errno != NGX_ENOMOREFILES) {
                ngx_log_error(NGX_LOG_ERR, kt->kmcf->log, ngx_errno,
                              "helicone kafka: " ngx_read_dir_n " \"%V\" "
                              "failed", &kt->spool->name);
                rc = NGX_ERROR;
            }

            break;
        }

        name = ngx_de_name(&dir);
        len = ngx_de_namelen(&dir);

        if (len <= kt->name.len + 1
            || len + kt->spool->name.len + 2 > kt->path_size
            || ngx_strncmp(name, kt->name.data, kt->name.len) != 0
            || name[kt->name.len] != '.')
        {
            continue;
        }

        if (ngx_http_helicone_kafka_spool_parse(name + kt->name.len + 1,
                                                name + len, &pid, &offset,
                                                &own)
            != NGX_OK)
        {
            continue;
        }

        if (pid != ngx_pid) {
            if (kill(pid, 0) == 0 || ngx_errno != NGX_ESRCH) {
                /* its worker still writes or replays it */
                continue;
            }

            own = 0;

        } else if (own && kt->fd != NGX_INVALID_FILE) {
            /* the spool file this worker writes: later lines, new file */
            (void) ngx_close_file(kt->fd);
            kt->fd = NGX_INVALID_FILE;
            kt->spool_size = 0;
        }

        ngx_sprintf(kt->path, "%V/%s%Z", &kt->spool->name, name);

        if (ngx_file_info(kt->path, &fi) == NGX_FILE_ERROR) {
            continue;
        }

        if (ngx_file_size(&fi) <= offset) {
            /* nothing left to produce */
            (void) ngx_delete_file(kt->path);
            continue;
        }

        do {
            kt->replay_seq++;
            (void) ngx_http_helicone_kafka_replay_path(kt, kt->replay_name,
                                                       kt->replay_seq,
                                                       offset);
        } while (ngx_file_info(kt->replay_name, &fi) != NGX_FILE_ERROR);

        if (ngx_rename_file(kt->path, kt->replay_name) == NGX_FILE_ERROR) {
            if (ngx_errno != NGX_ENOENT) {
                ngx_log_error(NGX_LOG_ERR, kt->kmcf->log, ngx_errno,
                              "helicone kafka: " ngx_rename_file_n " \"%s\" "
                              "to \"%s\" failed", kt->path, kt->replay_name);
            }

            /* another worker was first */
            continue;
        }

        ngx_log_error(NGX_LOG_NOTICE, kt->kmcf->log, 0,
                      "helicone kafka: replaying \"%s\" as \"%s\" from "
                      "byte %O", kt->path, kt->replay_name, offset);

        if (ngx_http_helicone_kafka_replay_open(kt, kt->replay_name, offset)
            == NGX_OK)
        {
            rc = NGX_OK;
            break;
        }
    }

    (void) ngx_close_dir(&dir);

    return rc;
}


static ngx_int_t
ngx_http_helicone_kafka_replay_open(ngx_http_helicone_kafka_topic_t *kt,
    u_char *name, off_t offset)
{
    ngx_fd_t         fd;
    ngx_file_info_t  fi;

    fd = ngx_open_file(name, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_ERR, kt->kmcf->log, ngx_errno,
                      "helicone kafka: " ngx_open_file_n " \"%s\" failed",
                      name);
        return NGX_ERROR;
    }

    kt->replay_fd = fd;
    kt->replay_size = (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR)
                      ? offset : ngx_file_size(&fi);
    kt->replay_off = offset;
    kt->replay_read = offset;
    kt->buf_pos = 0;
    kt->buf_len = 0;
    kt->replay_eof = 0;
    kt->replay_end = 0;

    return NGX_OK;
}


/* every line delivered, or in the spool again: the file goes */

static void
ngx_http_helicone_kafka_replay_close(ngx_http_helicone_kafka_topic_t *kt)
{
    (void) ngx_close_file(kt->replay_fd);
    kt->replay_fd = NGX_INVALID_FILE;

    if (ngx_delete_file(kt->replay_name) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ERR, kt->kmcf->log, ngx_errno,
                      "helicone kafka: " ngx_delete_file_n " \"%s\" failed",
                      kt->replay_name);
        return;
    }

    ngx_log_error(NGX_LOG_NOTICE, kt->kmcf->log, 0,
                  "helicone kafka: replayed \"%s\"", kt->replay_name);
}


/*
 * A spool file name after "<topic>.": "<pid>.jsonl", the file a worker
 * appends to, or "<pid>.<seq>.<offset>.replay", one a worker claimed,
 * whose lines before offset are done.
 */

static ngx_int_t
ngx_http_helicone_kafka_spool_parse(u_char *p, u_char *end, ngx_pid_t *pid,
    off_t *offset, ngx_uint_t *own)
{
    u_char      *dot;
    off_t        n[3];
    ngx_uint_t   i;

    for (i = 0; i < 3; i++) {
        dot = ngx_strlchr(p, end, '.');

        if (dot == NULL || dot == p) {
            return NGX_ERROR;
        }

        n[i] = ngx_atoof(p, dot - p);

        if (n[i] == NGX_ERROR) {
            return NGX_ERROR;
        }

        p = dot + 1;

        if (i == 0 && end - p == 5 && ngx_strncmp(p, "jsonl", 5) == 0) {
            break;
        }
    }

    if (n[0] <= 0 || n[0] > NGX_MAX_INT32_VALUE) {
        return NGX_ERROR;
    }

    *pid = (ngx_pid_t) n[0];

    if (i == 0) {
        *offset = 0;
        *own = 1;
        return NGX_OK;
    }

    if (end - p != 6 || ngx_strncmp(p, "replay", 6) != 0) {
        return NGX_ERROR;
    }

    *offset = n[2];
    *own = 0;

    return NGX_OK;
}


static u_char *
ngx_http_helicone_kafka_replay_path(ngx_http_helicone_kafka_topic_t *kt,
    u_char *buf, ngx_uint_t seq, off_t offset)
{
    (void) ngx_sprintf(buf, "%V/%V.%P.%ui.%O.replay%Z", &kt->spool->name,
                       &kt->name, ngx_pid, seq, offset);

    return buf;
}


