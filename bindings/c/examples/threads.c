/* threads: one engine shared by several threads, each with its own
 * scanner. Every thread scans every file given; the verdicts are printed
 * once, by the first thread.
 *
 *   threads N FILE...
 *
 * Build: cc -std=c99 -pthread threads.c $(pkg-config --cflags --libs libfilter)
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <libfilter.h>

struct job {
    const lf_engine *engine; /* shared: lf_engine is thread-safe */
    int id;
    int nfiles;
    char **files;
    long found;
};

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        unsigned char *bigger = realloc(buf, cap *= 2);
        if (!bigger) free(buf);
        buf = bigger;
    }
    fclose(f);
    *len = n;
    return buf;
}

static void *run(void *arg) {
    struct job *job = arg;
    lf_scanner *scanner = NULL; /* one per thread: scanners are not shared */
    if (lf_scanner_new(job->engine, &scanner) != LF_OK) return (void *)1;
    for (int i = 0; i < job->nfiles; i++) {
        size_t len = 0;
        unsigned char *data = read_file(job->files[i], &len);
        lf_report *report = NULL;
        lf_verdict verdict = LF_VERDICT_CLEAN;
        if (!data) continue;
        if (lf_scanner_scan(scanner, data, len, NULL, &report) == LF_OK) {
            lf_report_verdict(report, &verdict);
            if (verdict != LF_VERDICT_CLEAN) job->found++;
            if (job->id == 0) printf("%s: %d\n", job->files[i], (int)verdict);
            lf_report_free(report);
        }
        free(data);
    }
    lf_scanner_free(scanner);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: threads N FILE...\n");
        return 2;
    }
    int n = atoi(argv[1]);
    if (n < 1 || n > 64) return 2;
    lf_engine_builder *b = NULL;
    const lf_engine *engine = NULL;
    if (lf_engine_builder_new(&b) != LF_OK || lf_engine_builder_build(b, &engine) != LF_OK) {
        fprintf(stderr, "threads: %s\n", lf_last_error());
        return 2;
    }
    lf_engine_builder_free(b);

    pthread_t tid[64];
    struct job jobs[64];
    for (int t = 0; t < n; t++) {
        jobs[t] = (struct job){engine, t, argc - 2, argv + 2, 0};
        pthread_create(&tid[t], NULL, run, &jobs[t]);
    }
    int status = 0;
    for (int t = 0; t < n; t++) {
        void *ret = NULL;
        pthread_join(tid[t], &ret);
        if (ret) status = 2;
        /* Every thread sees the same verdicts. */
        if (jobs[t].found != jobs[0].found) status = 1;
    }
    printf("%d threads, %ld flagged each\n", n, jobs[0].found);
    lf_engine_unref(engine);
    return status;
}
