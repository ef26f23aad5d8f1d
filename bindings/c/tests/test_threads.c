/* Many threads, one engine, reloaded while they scan.
 *
 *   test_threads CORPUS_DIR [THREADS [RELOADS [MAX_MESSAGES]]]
 *
 * CORPUS_DIR holds labels.tsv (label TAB path, a path may end in "#1")
 * and the messages. First every message is scanned on one thread; then
 * THREADS threads (default 8) scan the corpus again, over and over, while
 * the main thread builds a new engine and swaps it in RELOADS times
 * (default 100), unreferencing the old one while scans on it may still be
 * running, as a milter does on SIGHUP. Every threaded verdict and score
 * must equal the single-threaded one. Each worker scans the whole corpus
 * at least once, and keeps going until the reloads are done. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>

#include "util.h"

struct message {
    unsigned char *data;
    size_t len;
    lf_verdict verdict;
    double score;
};

static struct message *messages;
static size_t n_messages;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const lf_engine *current; /* guarded by lock; holds one reference */
static int reloading = 1;        /* guarded by lock */
static unsigned long total_scans = 0; /* guarded by lock */

static const lf_engine *build_engine(void) {
    lf_engine_builder *b = NULL;
    const lf_engine *e = NULL;
    if (lf_engine_builder_new(&b) != LF_OK || lf_engine_builder_build(b, &e) != LF_OK) {
        fprintf(stderr, "build failed: %s\n", lf_last_error());
        exit(2);
    }
    lf_engine_builder_free(b);
    return e;
}

/* A new reference to the current engine. */
static const lf_engine *take_current(void) {
    pthread_mutex_lock(&lock);
    const lf_engine *e = lf_engine_ref(current);
    pthread_mutex_unlock(&lock);
    return e;
}

static int scan_one(lf_scanner *sc, size_t i, lf_verdict *v, double *score) {
    lf_report *r = NULL;
    if (lf_scanner_scan(sc, messages[i].data, messages[i].len, NULL, &r) != LF_OK) {
        fprintf(stderr, "scan failed: %s\n", lf_last_error());
        return -1;
    }
    int ok = lf_report_verdict(r, v) == LF_OK && lf_report_score(r, score) == LF_OK;
    lf_report_free(r);
    return ok ? 0 : -1;
}

static void *worker(void *arg) {
    size_t start = (size_t)(uintptr_t)arg % (n_messages ? n_messages : 1);
    long mismatches = 0, scans = 0;
    const lf_engine *mine = take_current();
    lf_scanner *sc = NULL;
    if (lf_scanner_new(mine, &sc) != LF_OK) return (void *)1;
    for (size_t k = 0;; k++) {
        if (k >= n_messages) {
            pthread_mutex_lock(&lock);
            int more = reloading;
            pthread_mutex_unlock(&lock);
            if (!more) break;
        }
        /* Follow reloads: a new scanner on the newest engine. */
        pthread_mutex_lock(&lock);
        int changed = current != mine;
        pthread_mutex_unlock(&lock);
        if (changed) {
            lf_scanner_free(sc);
            lf_engine_unref(mine);
            mine = take_current();
            if (lf_scanner_new(mine, &sc) != LF_OK) return (void *)1;
        }
        size_t i = (start + k) % n_messages;
        lf_verdict v;
        double score;
        if (scan_one(sc, i, &v, &score) != 0) return (void *)1;
        scans++;
        if (v != messages[i].verdict || score != messages[i].score) {
            fprintf(stderr, "message %zu: verdict %d score %.3f, single-threaded %d %.3f\n", i,
                    (int)v, score, (int)messages[i].verdict, messages[i].score);
            mismatches++;
        }
    }
    lf_scanner_free(sc);
    lf_engine_unref(mine);
    pthread_mutex_lock(&lock);
    total_scans += (unsigned long)scans;
    pthread_mutex_unlock(&lock);
    return mismatches ? (void *)1 : NULL;
}

static void load_corpus(const char *dir, size_t max) {
    char path[4096];
    snprintf(path, sizeof path, "%s/labels.tsv", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    size_t cap = 1024;
    messages = calloc(cap, sizeof *messages);
    char line[4096];
    while (n_messages < max && fgets(line, sizeof line, f)) {
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        char *rel = tab + 1;
        rel[strcspn(rel, "\r\n")] = '\0';
        size_t rl = strlen(rel);
        if (rl > 2 && strcmp(rel + rl - 2, "#1") == 0) rel[rl - 2] = '\0';
        snprintf(path, sizeof path, "%s/%s", dir, rel);
        size_t len = 0;
        unsigned char *data = read_file(path, &len);
        if (!data) {
            fprintf(stderr, "cannot read %s\n", path);
            exit(2);
        }
        if (n_messages == cap) {
            cap *= 2;
            messages = realloc(messages, cap * sizeof *messages);
        }
        messages[n_messages].data = data;
        messages[n_messages].len = len;
        n_messages++;
    }
    fclose(f);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR [THREADS [RELOADS [MAX_MESSAGES]]]\n", argv[0]);
        return 2;
    }
    int threads = argc > 2 ? atoi(argv[2]) : 8;
    int reloads = argc > 3 ? atoi(argv[3]) : 100;
    size_t max = argc > 4 ? (size_t)strtoul(argv[4], NULL, 10) : (size_t)-1;
    if (threads < 1 || threads > 64 || reloads < 0) return 2;
    load_corpus(argv[1], max);
    if (n_messages == 0) {
        fprintf(stderr, "no messages\n");
        return 2;
    }

    /* The single-threaded reference. */
    current = build_engine();
    lf_scanner *sc = NULL;
    CHECK_OK(lf_scanner_new(current, &sc));
    size_t counts[3] = {0, 0, 0};
    for (size_t i = 0; i < n_messages; i++) {
        if (scan_one(sc, i, &messages[i].verdict, &messages[i].score) != 0) return 1;
        counts[messages[i].verdict]++;
    }
    lf_scanner_free(sc);
    printf("single-threaded: %zu messages: %zu clean, %zu virus, %zu spam\n", n_messages,
           counts[0], counts[1], counts[2]);

    pthread_t tid[64];
    for (int t = 0; t < threads; t++) {
        size_t offset = (size_t)t * (n_messages / (size_t)threads + 1);
        if (pthread_create(&tid[t], NULL, worker, (void *)(uintptr_t)offset) != 0) return 2;
    }
    for (int k = 0; k < reloads; k++) {
        const lf_engine *fresh = build_engine();
        pthread_mutex_lock(&lock);
        const lf_engine *old = current;
        current = fresh;
        pthread_mutex_unlock(&lock);
        lf_engine_unref(old); /* scans still running on it keep it alive */
    }
    pthread_mutex_lock(&lock);
    reloading = 0;
    pthread_mutex_unlock(&lock);
    int bad = 0;
    for (int t = 0; t < threads; t++) {
        void *ret = NULL;
        pthread_join(tid[t], &ret);
        if (ret) bad++;
    }
    lf_engine_unref(current);
    printf("%d threads, %d reloads: %lu scans, %d thread(s) with mismatches or errors\n",
           threads, reloads, total_scans, bad);
    for (size_t i = 0; i < n_messages; i++) free(messages[i].data);
    free(messages);
    return bad || failures ? 1 : 0;
}
