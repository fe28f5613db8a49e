/*
 * Copyright (C) ngx_http_helicone_module authors
 */

/* A minimal TAP producer for the core unit tests; one test per program. */

#ifndef _TAP_H_INCLUDED_
#define _TAP_H_INCLUDED_


#include <stdarg.h>
#include <stdio.h>
#include <string.h>


typedef struct {
    unsigned long   run;
    unsigned long   failed;
} tap_state_t;


/* Tests are single programs, so one counter per program is the plan. */
static tap_state_t  tap_state;


static inline void tap_vresult(int cond, const char *file, int line,
    const char *fmt, va_list args);
static inline int tap_ok(int cond, const char *file, int line,
    const char *fmt, ...);
static inline void tap_diag(const char *fmt, ...);
static inline void tap_quote(const char *label, const void *p, size_t len);
static inline int tap_is_int(long long got, long long exp, const char *file,
    int line, const char *name);
static inline int tap_is_mem(const void *got, size_t glen, const void *exp,
    size_t elen, const char *file, int line, const char *name);
static inline int tap_is_str(const char *got, const char *exp,
    const char *file, int line, const char *name);
static inline int tap_done_testing(void);


#define ok(cond, ...)                                                         \
    tap_ok((cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)

#define is_int(got, exp, name)                                                \
    tap_is_int((long long) (got), (long long) (exp), __FILE__, __LINE__, name)

#define is_str(got, exp, name)                                                \
    tap_is_str((got), (exp), __FILE__, __LINE__, name)

#define is_mem(got, glen, exp, elen, name)                                    \
    tap_is_mem((got), (glen), (exp), (elen), __FILE__, __LINE__, name)

#define diag(...)  tap_diag(__VA_ARGS__)

#define done_testing()  tap_done_testing()


static inline void
tap_vresult(int cond, const char *file, int line, const char *fmt,
    va_list args)
{
    char            name[512];
    unsigned char  *p;

    tap_state.run++;

    if (!cond) {
        tap_state.failed++;
    }

    vsnprintf(name, sizeof(name), fmt, args);

    /* a name must stay on one line and must not start a TAP directive */

    printf("%sok %lu - ", cond ? "" : "not ", tap_state.run);

    for (p = (unsigned char *) name; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '#') {
            printf("\\x%02x", *p);

        } else {
            putchar(*p);
        }
    }

    printf("\n");

    if (!cond) {
        printf("#   Failed test at %s line %d.\n", file, line);
    }

    fflush(stdout);
}


static inline int
tap_ok(int cond, const char *file, int line, const char *fmt, ...)
{
    va_list  args;

    va_start(args, fmt);
    tap_vresult(cond, file, line, fmt, args);
    va_end(args);

    return cond;
}


static inline void
tap_diag(const char *fmt, ...)
{
    va_list  args;

    printf("# ");
    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);
    printf("\n");
    fflush(stdout);
}


/* Prints bytes C-escaped, so a failure shows CR, LF and NUL. */

static inline void
tap_quote(const char *label, const void *p, size_t len)
{
    size_t               i;
    const unsigned char  *s;

    s = p;

    printf("#   %s: ", label);

    if (s == NULL) {
        printf("NULL\n");
        return;
    }

    printf("\"");

    for (i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\') {
            printf("\\%c", s[i]);

        } else if (s[i] >= 0x20 && s[i] < 0x7f) {
            printf("%c", s[i]);

        } else {
            printf("\\x%02x", s[i]);
        }
    }

    printf("\" (%lu bytes)\n", (unsigned long) len);
}


static inline int
tap_is_int(long long got, long long exp, const char *file, int line,
    const char *name)
{
    int  rc;

    rc = tap_ok(got == exp, file, line, "%s", name);

    if (!rc) {
        printf("#          got: %lld\n#     expected: %lld\n", got, exp);
    }

    return rc;
}


static inline int
tap_is_mem(const void *got, size_t glen, const void *exp, size_t elen,
    const char *file, int line, const char *name)
{
    int  rc, eq;

    if (got == NULL || exp == NULL) {
        eq = (got == NULL && exp == NULL);

    } else {
        eq = (glen == elen && (glen == 0 || memcmp(got, exp, glen) == 0));
    }

    rc = tap_ok(eq, file, line, "%s", name);

    if (!rc) {
        tap_quote("     got", got, glen);
        tap_quote("expected", exp, elen);
    }

    return rc;
}


static inline int
tap_is_str(const char *got, const char *exp, const char *file, int line,
    const char *name)
{
    return tap_is_mem(got, got ? strlen(got) : 0, exp, exp ? strlen(exp) : 0,
                      file, line, name);
}


static inline int
tap_done_testing(void)
{
    printf("1..%lu\n", tap_state.run);

    if (tap_state.failed) {
        printf("# Looks like you failed %lu test%s of %lu.\n",
               tap_state.failed, tap_state.failed == 1 ? "" : "s",
               tap_state.run);
    }

    fflush(stdout);

    return tap_state.failed ? 1 : 0;
}


#endif /* _TAP_H_INCLUDED_ */
