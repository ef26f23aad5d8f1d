/* reload: swap in a freshly built engine while another thread scans, as a
 * milter does on SIGHUP. The scanning thread takes a reference to the
 * current engine for each message; the reloading thread replaces the
 * engine and drops its own reference to the old one, which lives on until
 * the last scan on it ends.
 *
 *   reload RELOADS FILE
 *
 * Build: cc -std=c99 -pthread reload.c $(pkg-config --cflags --libs libfilter)
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <libfilter.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const lf_engine *current; /* guarded by lock; holds one reference */
static int done;                 /* guarded by lock */
static unsigned char *data;
static size_t len;

static const lf_engine *build(void) {
    lf_engine_builder *b = NULL;
    const lf_engine *e = NULL;
    if (lf_engine_builder_new(&b) != LF_OK || lf_engine_builder_build(b, &e) != LF_OK) {
        fprintf(stderr, "reload: build: %s\n", lf_last_error());
        exit(2);
    }
    lf_engine_builder_free(b);
    return e;
}

static void *scan_loop(void *arg) {
    long *scans = arg;
    for (;;) {
        pthread_mutex_lock(&lock);
        int stop = done;
        const lf_engine *e = lf_engine_ref(current); /* this message's engine */
        pthread_mutex_unlock(&lock);
        if (stop) {
            lf_engine_unref(e);
            break;
        }
        lf_report *report = NULL;
        if (lf_engine_scan(e, data, len, NULL, &report) == LF_OK) {
            (*scans)++;
            lf_report_free(report);
        }
        lf_engine_unref(e);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: reload RELOADS FILE\n");
        return 2;
    }
    int reloads = atoi(argv[1]);
    FILE *f = fopen(argv[2], "rb");
    if (!f) return 2;
    data = malloc(1 << 20);
    len = fread(data, 1, 1 << 20, f);
    fclose(f);

    current = build();
    long scans = 0;
    pthread_t tid;
    pthread_create(&tid, NULL, scan_loop, &scans);
    for (int i = 0; i < reloads; i++) {
        const lf_engine *fresh = build();
        pthread_mutex_lock(&lock);
        const lf_engine *old = current;
        current = fresh;
        pthread_mutex_unlock(&lock);
        lf_engine_unref(old);
    }
    pthread_mutex_lock(&lock);
    done = 1;
    pthread_mutex_unlock(&lock);
    pthread_join(tid, NULL);
    lf_engine_unref(current);
    free(data);
    printf("%d reloads, %ld scans\n", reloads, scans);
    return 0;
}
