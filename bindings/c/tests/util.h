/* Helpers shared by the C tests: file reading, checks, and the EICAR and
 * GTUBE test strings built from pieces at run time (no file holds either
 * whole). */
#ifndef LF_TEST_UTIL_H
#define LF_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfilter.h>

static int failures = 0;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n",   \
                    __FILE__, __LINE__, #cond, lf_last_error());             \
            failures++;                                                      \
        }                                                                    \
    } while (0)

#define CHECK_OK(expr) CHECK((expr) == LF_OK)

/* Reads a whole file; NULL on failure. The caller frees *data. */
static inline unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    if (!buf) { fclose(f); return NULL; }
    for (;;) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        unsigned char *bigger = realloc(buf, cap * 2);
        if (!bigger) { free(buf); fclose(f); return NULL; }
        buf = bigger;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (err) { free(buf); return NULL; }
    *len = n;
    return buf;
}

/* EICAR, from pieces, into buf (at least 69 bytes). */
static inline const char *eicar(char *buf) {
    strcpy(buf, "X5O!P%@AP[4\\PZX54(P^)7CC)7}$");
    strcat(buf, "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*");
    return buf;
}

/* GTUBE, from pieces, into buf (at least 69 bytes). */
static inline const char *gtube(char *buf) {
    strcpy(buf, "XJS*C4JDBQADN1.NSBN3*2IDNEN*");
    strcat(buf, "GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X");
    return buf;
}

#endif
