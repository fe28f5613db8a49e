/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/*
 * A paced HTTP/1.1 load for bench/run: POSTs one body at a fixed rate
 * over a few keep-alive connections and reports the latency percentiles,
 * counted from when each request was due (a stall that delays the next
 * requests counts against them too: no coordinated omission).
 *
 *   paced PORT PATH BODY_FILE KEY RATE COUNT [CONNECTIONS]
 *
 * Output, one line: PACED_RESULT count=N p50_us=N p90_us=N p99_us=N
 * p999_us=N max_us=N errors=N
 */

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>


#define PACED_MAX_CONNS  64
#define PACED_BUF        (256 * 1024)


typedef struct {
    int      fd;
    int      busy;
    double   due;        /* when its request was due, seconds */
    size_t   have;       /* bytes of the response read */
    char    *buf;
} paced_conn_t;


static double paced_now(void);
static int paced_connect(int port);
static int paced_complete(const char *p, size_t n);
static int paced_cmp(const void *a, const void *b);


static double
paced_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static int
paced_connect(int port)
{
    int                 fd, one;
    struct sockaddr_in  sin;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((unsigned short) port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    if (connect(fd, (struct sockaddr *) &sin, sizeof(sin)) != 0) {
        close(fd);
        return -1;
    }

    return fd;
}


/* 1 when p..p+n holds a whole response: Content-Length or chunked. */

static int
paced_complete(const char *p, size_t n)
{
    const char  *h, *cl;
    size_t       head;

    h = memmem(p, n, "\r\n\r\n", 4);
    if (h == NULL) {
        return 0;
    }

    head = (size_t) (h - p) + 4;

    cl = memmem(p, head, "Content-Length: ", 16);
    if (cl == NULL) {
        cl = memmem(p, head, "content-length: ", 16);
    }

    if (cl) {
        return n >= head + (size_t) strtoul(cl + 16, NULL, 10);
    }

    return n >= head + 5 && memcmp(p + n - 5, "0\r\n\r\n", 5) == 0;
}


static int
paced_cmp(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return (x > y) - (x < y);
}


int
main(int argc, char **argv)
{
    int            port, nconns, errors, i, k, n, rc, timeout;
    char          *body, *req;
    long           count, sent, done;
    double         rate, t0, next, now, *lat;
    size_t         blen, rlen;
    FILE          *f;
    ssize_t        r;
    paced_conn_t   conns[PACED_MAX_CONNS];
    struct pollfd  pfd[PACED_MAX_CONNS];

    if (argc < 7) {
        fprintf(stderr, "usage: paced PORT PATH BODY_FILE KEY RATE COUNT "
                        "[CONNECTIONS]\n");
        return 2;
    }

    port = atoi(argv[1]);
    rate = atof(argv[5]);
    count = atol(argv[6]);
    nconns = argc > 7 ? atoi(argv[7]) : 8;

    if (rate <= 0 || count <= 0 || nconns < 1 || nconns > PACED_MAX_CONNS) {
        fprintf(stderr, "paced: bad rate, count or connections\n");
        return 2;
    }

    f = fopen(argv[3], "rb");
    if (f == NULL) {
        perror(argv[3]);
        return 2;
    }

    body = malloc(PACED_BUF);
    req = malloc(PACED_BUF + 4096);
    lat = malloc(count * sizeof(double));
    if (body == NULL || req == NULL || lat == NULL) {
        return 2;
    }

    blen = fread(body, 1, PACED_BUF, f);
    fclose(f);

    while (blen && (body[blen - 1] == '\n' || body[blen - 1] == ' ')) {
        blen--;
    }

    rlen = (size_t) snprintf(req, 4096,
                             "POST %s HTTP/1.1\r\nHost: bench\r\n"
                             "Content-Type: application/json\r\n"
                             "Authorization: Bearer %s\r\n"
                             "Content-Length: %zu\r\n\r\n",
                             argv[2], argv[4], blen);
    memcpy(req + rlen, body, blen);
    rlen += blen;

    for (i = 0; i < nconns; i++) {
        conns[i].fd = paced_connect(port);
        conns[i].busy = 0;
        conns[i].have = 0;
        conns[i].buf = malloc(PACED_BUF);

        if (conns[i].fd < 0 || conns[i].buf == NULL) {
            fprintf(stderr, "paced: cannot connect to port %d\n", port);
            return 1;
        }
    }

    errors = 0;
    sent = 0;
    done = 0;
    t0 = paced_now();

    while (done < count) {
        now = paced_now();
        next = t0 + sent / rate;

        /* every request that is due goes out on an idle connection */
        while (sent < count && next <= now) {
            for (k = 0; k < nconns && conns[k].busy; k++) { /* void */ }

            if (k == nconns) {
                break;
            }

            if (write(conns[k].fd, req, rlen) != (ssize_t) rlen) {
                errors++;
            }

            conns[k].busy = 1;
            conns[k].due = next;
            conns[k].have = 0;
            sent++;
            next = t0 + sent / rate;
        }

        n = 0;

        for (i = 0; i < nconns; i++) {
            pfd[i].fd = conns[i].busy ? conns[i].fd : -1;
            pfd[i].events = POLLIN;
            pfd[i].revents = 0;
            n += conns[i].busy;
        }

        timeout = (sent < count) ? (int) ((next - paced_now()) * 1000) : 1000;
        timeout = timeout < 0 ? 0 : timeout;

        if (n == 0 && sent < count) {
            /* nothing in flight: sleep until the next is due */
            struct timespec  ts;
            double           w = next - paced_now();

            if (w > 0) {
                ts.tv_sec = (time_t) w;
                ts.tv_nsec = (long) ((w - ts.tv_sec) * 1e9);
                nanosleep(&ts, NULL);
            }

            continue;
        }

        rc = poll(pfd, nconns, timeout);

        if (rc < 0 && errno != EINTR) {
            perror("poll");
            return 1;
        }

        for (i = 0; rc > 0 && i < nconns; i++) {
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                continue;
            }

            r = read(conns[i].fd, conns[i].buf + conns[i].have,
                     PACED_BUF - conns[i].have);

            if (r <= 0) {
                fprintf(stderr, "paced: the server closed a connection\n");
                return 1;
            }

            conns[i].have += (size_t) r;

            if (paced_complete(conns[i].buf, conns[i].have)) {
                if (memcmp(conns[i].buf, "HTTP/1.1 200", 12) != 0) {
                    errors++;
                }

                lat[done++] = (paced_now() - conns[i].due) * 1e6;
                conns[i].busy = 0;
            }
        }
    }

    qsort(lat, count, sizeof(double), paced_cmp);

    printf("PACED_RESULT count=%ld p50_us=%.0f p90_us=%.0f p99_us=%.0f "
           "p999_us=%.0f max_us=%.0f errors=%d\n", count,
           lat[count / 2], lat[count * 9 / 10], lat[count * 99 / 100],
           lat[count * 999 / 1000], lat[count - 1], errors);

    return errors ? 1 : 0;
}
