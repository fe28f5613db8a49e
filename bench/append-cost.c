/*
 * What one log line costs the kernel on this box, without nginx
 * (`build/append-cost DIR [LINE_BYTES [TOTAL_MB]]`, run by bench/run).
 *
 * A file sink appends each event with one write() to a file opened
 * O_APPEND, as access_log does. Appending puts every byte in page-cache
 * pages the file did not have yet; writing the same bytes over pages the
 * file already has in the page cache costs only the copy and the system
 * call. The difference is the price of a growing file, which depends on
 * the kernel, the file system and, in a VM, on how the host hands out
 * fresh memory: bench/run reports both next to the gateway's numbers.
 *
 * The file sink reserves disk ahead of the file's end
 * (fallocate(FALLOC_FL_KEEP_SIZE) of 1 MB, renewed after 512 KB written,
 * ngx_http_helicone_sink_file.c): the same appends to a second new file
 * with that reserve measure what it saves.
 *
 * Writes TOTAL_MB (256) in LINE_BYTES (2900) writes to a new file in DIR,
 * the same to another new file with the reserve, then the same writes
 * again over the file's first bytes, and prints:
 *   append-cost line=N append_us=F reserved_us=F overwrite_us=F
 * (wall time per write: the process does nothing else). The files are
 * removed at the end.
 */

#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


#define RESERVE  (1024 * 1024)

#define OVERWRITE  0
#define APPEND     1
#define RESERVED   2


static double
now_us(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}


/*
 * n writes of line at the file's end (O_APPEND), with the sink's reserve
 * ahead of it, or from offset 0
 */

static double
write_lines(int fd, const char *line, size_t len, long n, int how)
{
    long     i;
    off_t    off;
    size_t   left;
    ssize_t  w;
    double   start;

    start = now_us();
    off = 0;
    left = 0;

    for (i = 0; i < n; i++) {
        if (how == RESERVED && left < len) {
            if (fallocate(fd, FALLOC_FL_KEEP_SIZE, lseek(fd, 0, SEEK_END),
                          RESERVE)
                == -1)
            {
                fprintf(stderr, "append-cost: fallocate: %s\n",
                        strerror(errno));
                exit(1);
            }

            left = RESERVE / 2;
        }

        w = (how == OVERWRITE) ? pwrite(fd, line, len, off)
                               : write(fd, line, len);

        if (w != (ssize_t) len) {
            fprintf(stderr, "append-cost: write: %s\n",
                    w < 0 ? strerror(errno) : "short write");
            exit(1);
        }

        off += len;
        left -= (left < len) ? left : len;
    }

    return (now_us() - start) / n;
}


int
main(int argc, char **argv)
{
    int      fd;
    long     n, total_mb;
    char     path[4096], *line;
    size_t   len;
    double   append_us, reserved_us, overwrite_us;

    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: append-cost DIR [LINE_BYTES [TOTAL_MB]]\n");
        return 2;
    }

    len = argc > 2 ? (size_t) atol(argv[2]) : 2900;
    total_mb = argc > 3 ? atol(argv[3]) : 256;

    if (len < 2 || len > (1 << 20) || total_mb < 1) {
        fprintf(stderr, "append-cost: LINE_BYTES 2..1048576, TOTAL_MB >= 1\n");
        return 2;
    }

    n = total_mb * 1024 * 1024 / (long) len;

    line = malloc(len);
    if (line == NULL) {
        return 1;
    }

    memset(line, 'x', len - 1);
    line[len - 1] = '\n';

    snprintf(path, sizeof(path), "%s/append-cost.%ld", argv[1],
             (long) getpid());

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    if (fd == -1) {
        fprintf(stderr, "append-cost: %s: %s\n", path, strerror(errno));
        return 1;
    }

    append_us = write_lines(fd, line, len, n, APPEND);
    close(fd);
    unlink(path);

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    if (fd == -1) {
        fprintf(stderr, "append-cost: %s: %s\n", path, strerror(errno));
        return 1;
    }

    reserved_us = write_lines(fd, line, len, n, RESERVED);
    close(fd);

    /* the same file without O_APPEND: pwrite() at offset 0 onwards */
    fd = open(path, O_WRONLY);
    if (fd == -1) {
        fprintf(stderr, "append-cost: %s: %s\n", path, strerror(errno));
        unlink(path);
        return 1;
    }

    overwrite_us = write_lines(fd, line, len, n, OVERWRITE);
    close(fd);
    unlink(path);
    free(line);

    printf("append-cost line=%zu append_us=%.2f reserved_us=%.2f "
           "overwrite_us=%.2f\n", len, append_us, reserved_us, overwrite_us);

    return 0;
}
