/* scan_file: scan files with libfilter and print what it found.
 *
 *   scan_file [-n] [-d DATABASE]... [-r RULES]... FILE...
 *
 *   -n           no embedded defaults (EICAR, attachment policy, rules)
 *   -d DATABASE  a ClamAV database file or directory
 *   -r RULES     a SpamAssassin .cf file or directory
 *
 * Exit status, as clamscan's: 0 all clean, 1 something found, 2 an error.
 *
 * Build: cc -std=c99 scan_file.c $(pkg-config --cflags --libs libfilter)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfilter.h>

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
    if (ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

static const char *verdict_name(lf_verdict v) {
    switch (v) {
    case LF_VERDICT_CLEAN: return "clean";
    case LF_VERDICT_VIRUS: return "virus";
    case LF_VERDICT_SPAM: return "spam";
    }
    return "?";
}

static int fail(const char *what, lf_status s) {
    fprintf(stderr, "scan_file: %s: %s: %s\n", what, lf_status_str(s), lf_last_error());
    return 2;
}

int main(int argc, char **argv) {
    lf_engine_builder *b = NULL;
    const lf_engine *engine = NULL;
    lf_scanner *scanner = NULL;
    lf_status s;
    int i, found = 0;

    if ((s = lf_engine_builder_new(&b)) != LF_OK) return fail("builder", s);
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-n") == 0) {
            s = lf_engine_builder_set_defaults(b, false);
        } else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc) {
            s = lf_engine_builder_load_path(b, argv[++i]);
        } else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc) {
            s = lf_engine_builder_load_rules_path(b, argv[++i]);
        } else {
            fprintf(stderr, "usage: scan_file [-n] [-d DATABASE]... [-r RULES]... FILE...\n");
            lf_engine_builder_free(b);
            return 2;
        }
        if (s != LF_OK) {
            lf_engine_builder_free(b);
            return fail(argv[i], s);
        }
    }
    s = lf_engine_builder_build(b, &engine);
    lf_engine_builder_free(b);
    if (s != LF_OK) return fail("build", s);
    s = lf_scanner_new(engine, &scanner);
    lf_engine_unref(engine); /* the scanner holds its own reference */
    if (s != LF_OK) return fail("scanner", s);

    for (; i < argc; i++) {
        size_t len = 0, k;
        unsigned char *data = read_file(argv[i], &len);
        lf_report *report = NULL;
        lf_verdict verdict;
        double score = 0, required = 0;
        if (!data) {
            fprintf(stderr, "scan_file: cannot read %s\n", argv[i]);
            found = 2;
            continue;
        }
        s = lf_scanner_scan(scanner, data, len, NULL, &report);
        free(data); /* the report borrows nothing from the buffer */
        if (s != LF_OK) {
            found = fail(argv[i], s);
            continue;
        }
        lf_report_verdict(report, &verdict);
        lf_report_score(report, &score);
        lf_report_required_score(report, &required);
        printf("%s: %s", argv[i], verdict_name(verdict));
        if (lf_report_flags(report) & LF_REPORT_SPAM_CHECKED)
            printf(" (score %.1f, required %.1f)", score, required);
        printf("\n");
        for (k = 0; k < lf_report_detection_count(report); k++) {
            const char *name = NULL, *where = NULL;
            lf_report_detection_name(report, k, &name);
            lf_report_detection_location(report, k, &where);
            printf("  detection %s%s%s\n", name, *where ? " in part " : "", where);
        }
        for (k = 0; k < lf_report_symbol_count(report); k++) {
            const char *name = NULL, *desc = NULL;
            double pts = 0;
            lf_report_symbol(report, k, &name, &pts, &desc);
            printf("  %5.1f %-24s %s\n", pts, name, desc);
        }
        for (k = 0; k < lf_report_defect_count(report); k++) {
            const char *name = NULL;
            lf_report_defect(report, k, &name);
            printf("  defect %s\n", name);
        }
        for (k = 0; k < lf_report_header_count(report); k++) {
            const char *name = NULL, *value = NULL;
            lf_report_header(report, k, &name, &value);
            printf("  %s: %s\n", name, value);
        }
        if (verdict != LF_VERDICT_CLEAN && found == 0) found = 1;
        lf_report_free(report);
    }
    lf_scanner_free(scanner);
    return found;
}
