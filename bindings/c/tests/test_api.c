/* The C API end to end, from C: NULL handling, clean/virus/spam verdicts,
 * report accessors, databases and rules from memory, the envelope, the
 * streaming session (same verdicts as a one-shot scan, reset), engine
 * references. Run under valgrind and ASan by scripts/c-tests.sh. */
/* mkdtemp, rmdir: POSIX.1-2008. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <unistd.h>

#include "util.h"

static const char CLEAN[] =
    "From: alice@example.com\r\nTo: bob@example.org\r\nSubject: lunch\r\n"
    "Date: Mon, 1 Mar 2004 10:00:00 +0000\r\nMessage-ID: <lunch@example.com>\r\n"
    "\r\nSee you at noon?\r\n";

static char msg_gtube[1024];
static char msg_eicar[1024];

static void build_messages(void) {
    char piece[128];
    snprintf(msg_gtube, sizeof msg_gtube,
             "From: sender@example.com\r\nTo: rcpt@example.org\r\nSubject: test\r\n"
             "Date: Mon, 1 Mar 2004 10:00:00 +0000\r\nMessage-ID: <gtube@example.com>\r\n"
             "\r\nThis is the GTUBE, the\r\n\r\n%s\r\n\r\nend.\r\n",
             gtube(piece));
    snprintf(msg_eicar, sizeof msg_eicar,
             "From: sender@example.com\r\nTo: rcpt@example.org\r\nSubject: file\r\n"
             "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
             "--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
             "--b\r\nContent-Type: application/octet-stream\r\n"
             "Content-Disposition: attachment; filename=\"eicar.com\"\r\n\r\n%s\r\n--b--\r\n",
             eicar(piece));
}

/* One engine with the defaults, shared by the tests (building one is the
 * slow part under valgrind). */
static const lf_engine *shared;

static const lf_engine *new_engine(void) {
    if (shared) return lf_engine_ref(shared);
    lf_engine_builder *b = NULL;
    const lf_engine *e = NULL;
    CHECK_OK(lf_engine_builder_new(&b));
    CHECK_OK(lf_engine_builder_build(b, &e));
    lf_engine_builder_free(b);
    CHECK(e != NULL);
    return e;
}

/* What a report says, flattened for comparison. */
struct seen {
    lf_verdict verdict;
    lf_action action;
    double score, required;
    uint32_t flags;
    char text[8192];
};

static void describe(const lf_report *r, struct seen *s) {
    memset(s, 0, sizeof *s);
    CHECK_OK(lf_report_verdict(r, &s->verdict));
    CHECK_OK(lf_report_action(r, &s->action));
    CHECK_OK(lf_report_score(r, &s->score));
    CHECK_OK(lf_report_required_score(r, &s->required));
    s->flags = lf_report_flags(r);
    size_t used = 0;
    for (size_t i = 0; i < lf_report_detection_count(r); i++) {
        const char *name = NULL;
        CHECK_OK(lf_report_detection_name(r, i, &name));
        used += (size_t)snprintf(s->text + used, sizeof s->text - used, "D:%s\n", name);
    }
    for (size_t i = 0; i < lf_report_symbol_count(r); i++) {
        const char *name = NULL, *desc = NULL;
        double score = 0;
        CHECK_OK(lf_report_symbol(r, i, &name, &score, &desc));
        CHECK(desc != NULL);
        used += (size_t)snprintf(s->text + used, sizeof s->text - used, "S:%s=%.3f\n", name, score);
    }
    for (size_t i = 0; i < lf_report_header_count(r); i++) {
        const char *name = NULL, *value = NULL;
        CHECK_OK(lf_report_header(r, i, &name, &value));
        used += (size_t)snprintf(s->text + used, sizeof s->text - used, "H:%s: %s\n", name, value);
    }
    CHECK(used < sizeof s->text);
}

static void scan(const lf_engine *e, const char *msg, size_t len, const lf_envelope *env,
                 struct seen *s) {
    lf_scanner *sc = NULL;
    lf_report *r = NULL;
    CHECK_OK(lf_scanner_new(e, &sc));
    CHECK_OK(lf_scanner_scan(sc, (const uint8_t *)msg, len, env, &r));
    describe(r, s);
    lf_report_free(r);
    lf_scanner_free(sc);
}

static void test_version_and_status(void) {
    char expect[64];
    snprintf(expect, sizeof expect, "%d.%d.%d", LF_VERSION_MAJOR, LF_VERSION_MINOR,
             LF_VERSION_PATCH);
    CHECK(strcmp(lf_version(), expect) == 0);
    CHECK(strcmp(lf_status_str(LF_OK), "success") == 0);
    CHECK(strcmp(lf_status_str(LF_ERR_NULL), "NULL argument") == 0);
    CHECK(strcmp(lf_status_str(-7), "unknown status") == 0);
}

static void test_null_arguments(void) {
    lf_report *r = (lf_report *)&r; /* not NULL: must be reset */
    lf_scanner *sc = NULL;
    CHECK(lf_engine_builder_new(NULL) == LF_ERR_NULL);
    CHECK(strstr(lf_last_error(), "NULL") != NULL);
    CHECK(lf_engine_builder_set_defaults(NULL, true) == LF_ERR_NULL);
    CHECK(lf_engine_builder_load_path(NULL, "x") == LF_ERR_NULL);
    CHECK(lf_scanner_new(NULL, &sc) == LF_ERR_NULL);
    CHECK(lf_scanner_scan(NULL, NULL, 0, NULL, &r) == LF_ERR_NULL);
    CHECK(r == NULL);
    CHECK(lf_report_verdict(NULL, NULL) == LF_ERR_NULL);
    CHECK(lf_report_detection_count(NULL) == 0);
    CHECK(lf_session_header(NULL, "a", "b") == LF_ERR_NULL);
    CHECK(lf_envelope_add_rcpt(NULL, "x") == LF_ERR_NULL);
    lf_engine_unref(NULL);
    lf_engine_builder_free(NULL);
    lf_scanner_free(NULL);
    lf_report_free(NULL);
    lf_session_free(NULL);
    lf_envelope_free(NULL);

    const lf_engine *e = new_engine();
    CHECK(lf_engine_scan(e, NULL, 5, NULL, &r) == LF_ERR_NULL);
    CHECK(strcmp(lf_last_error(), "data is NULL") == 0);
    CHECK(lf_engine_scan(e, (const uint8_t *)CLEAN, sizeof CLEAN - 1, NULL, NULL) == LF_ERR_NULL);
    /* A NULL out-parameter leaks nothing (valgrind checks). */
    CHECK(lf_scanner_new(e, NULL) == LF_ERR_NULL);
    CHECK(lf_session_new(e, NULL) == LF_ERR_NULL);
    CHECK(lf_envelope_new(NULL) == LF_ERR_NULL);
    lf_engine_unref(e);
}

static void test_verdicts(void) {
    const lf_engine *e = new_engine();
    struct seen s;
    char piece[128];

    CHECK(lf_engine_signature_count(e) > 0);
    CHECK(lf_engine_rule_count(e) > 0);

    scan(e, CLEAN, sizeof CLEAN - 1, NULL, &s);
    CHECK(s.verdict == LF_VERDICT_CLEAN);
    CHECK(s.action == LF_ACTION_ACCEPT);
    CHECK(s.required == 5.0);
    CHECK(s.score < s.required);
    CHECK(s.flags & LF_REPORT_SPAM_CHECKED);
    CHECK(strstr(s.text, "H:X-Spam-Status: No, score=") != NULL);
    CHECK(strstr(s.text, "H:X-Virus-Scanned: libfilter ") != NULL);
    CHECK(strstr(s.text, "X-Spam-Flag") == NULL);

    eicar(piece);
    scan(e, piece, strlen(piece), NULL, &s);
    CHECK(s.verdict == LF_VERDICT_VIRUS);
    CHECK(strncmp(s.text, "D:Win.Test.EICAR_HDB-1\n", 23) == 0);

    scan(e, msg_eicar, strlen(msg_eicar), NULL, &s);
    CHECK(s.verdict == LF_VERDICT_VIRUS);
    CHECK(s.action == LF_ACTION_REJECT);
    CHECK(strstr(s.text, "D:Win.Test.EICAR_HDB-1\n") != NULL);

    scan(e, msg_gtube, strlen(msg_gtube), NULL, &s);
    CHECK(s.verdict == LF_VERDICT_SPAM);
    CHECK(s.score >= 1000.0);
    CHECK(strstr(s.text, "S:LF_GTUBE=") != NULL);
    CHECK(strstr(s.text, "H:X-Spam-Flag: YES\n") != NULL);
    CHECK(strstr(s.text, "H:X-Spam-Report: ") != NULL);

    /* Accessors: out of range, kind, location. */
    lf_report *r = NULL;
    CHECK_OK(lf_engine_scan(e, (const uint8_t *)msg_eicar, strlen(msg_eicar), NULL, &r));
    const char *str = NULL;
    lf_detection_kind kind = LF_DETECTION_LIMIT;
    CHECK(lf_report_detection_name(r, 1000, &str) == LF_ERR_INVALID);
    CHECK(str == NULL);
    CHECK_OK(lf_report_detection_kind(r, 0, &kind));
    CHECK(kind == LF_DETECTION_SIGNATURE);
    CHECK_OK(lf_report_detection_location(r, 0, &str));
    CHECK(str != NULL && strcmp(str, "2") == 0);
    lf_report_free(r);
    lf_engine_unref(e);
}

static void test_memory_loads(void) {
    lf_engine_builder *b = NULL;
    const lf_engine *e = NULL;
    struct seen s;
    const char *marker = "LIBFILTER-CAPI-TEST";
    char ndb[256] = "Test.Capi.Marker:0:*:";
    for (const char *p = marker; *p; p++) {
        char hex[3];
        snprintf(hex, sizeof hex, "%02x", (unsigned char)*p);
        strcat(ndb, hex);
    }
    strcat(ndb, "\n");
    const char *rules = "body CAPI_WORD /\\bzanzibar\\b/\n"
                        "describe CAPI_WORD Says zanzibar\nscore CAPI_WORD 6.5\n";
    uint64_t v = 0;

    CHECK_OK(lf_engine_builder_new(&b));
    CHECK_OK(lf_engine_builder_set_defaults(b, false));
    CHECK_OK(lf_engine_builder_load_memory(b, "local.ndb", (const uint8_t *)ndb, strlen(ndb)));
    CHECK_OK(lf_engine_builder_load_rules_memory(b, "capi.cf", (const uint8_t *)rules,
                                                 strlen(rules)));
    CHECK(lf_engine_builder_load_path(b, "/nonexistent/x.ndb") == LF_ERR_IO);
    CHECK(strstr(lf_last_error(), "/nonexistent/x.ndb") != NULL);
    CHECK_OK(lf_engine_builder_set_limit(b, LF_LIMIT_MAX_PARTS, 100));
    CHECK_OK(lf_engine_builder_get_limit(b, LF_LIMIT_MAX_PARTS, &v));
    CHECK(v == 100);
    CHECK(lf_engine_builder_set_limit(b, 4242, 1) == LF_ERR_INVALID);
    CHECK_OK(lf_engine_builder_set_threshold(b, LF_ACTION_REJECT, 6.0));
    CHECK(lf_engine_builder_set_threshold(b, LF_ACTION_ACCEPT, 6.0) == LF_ERR_INVALID);
    CHECK_OK(lf_engine_builder_build(b, &e));
    const lf_engine *again = e;
    CHECK(lf_engine_builder_build(b, &again) == LF_ERR_STATE);
    CHECK(again == NULL);
    lf_engine_builder_free(b);
    lf_engine_unref(e);
    CHECK_OK(lf_engine_builder_new(&b));
    CHECK_OK(lf_engine_builder_set_defaults(b, false));
    CHECK_OK(lf_engine_builder_load_memory(b, "local.ndb", (const uint8_t *)ndb, strlen(ndb)));
    CHECK_OK(lf_engine_builder_load_rules_memory(b, "capi.cf", (const uint8_t *)rules,
                                                 strlen(rules)));
    CHECK_OK(lf_engine_builder_set_threshold(b, LF_ACTION_REJECT, 6.0));
    CHECK_OK(lf_engine_builder_build(b, &e));
    lf_engine_builder_free(b);
    CHECK(lf_engine_rule_count(e) == 1);

    const char *m1 = "From: a@example.com\r\nSubject: trip\r\n\r\nOff to zanzibar. "
                     "LIBFILTER-CAPI-TEST\r\n";
    scan(e, m1, strlen(m1), NULL, &s);
    CHECK(s.verdict == LF_VERDICT_VIRUS);
    CHECK(strncmp(s.text, "D:Test.Capi.Marker.UNOFFICIAL\n", 30) == 0);
    const char *m2 = "From: a@example.com\r\nSubject: trip\r\n\r\nOff to zanzibar.\r\n";
    scan(e, m2, strlen(m2), NULL, &s);
    CHECK(s.verdict == LF_VERDICT_SPAM);
    CHECK(s.action == LF_ACTION_REJECT);
    CHECK(strstr(s.text, "S:CAPI_WORD=6.500\n") != NULL);
    lf_engine_unref(e);
}

/* Feeds a CRLF message to a session as a milter would: header fields one
 * by one (no leading space, folds as "\n\t"), then the body in chunks. */
static void feed(lf_session *sess, const char *msg) {
    const char *body = strstr(msg, "\r\n\r\n");
    CHECK(body != NULL);
    char field[2048];
    const char *p = msg;
    while (p < body + 2) {
        /* One field: up to a CRLF not followed by white space. */
        const char *end = p;
        for (;;) {
            end = strstr(end, "\r\n");
            if (end[2] != ' ' && end[2] != '\t') break;
            end += 2;
        }
        size_t n = (size_t)(end - p);
        CHECK(n < sizeof field);
        char *w = field;
        for (size_t i = 0; i < n; i++) {
            if (p[i] != '\r') *w++ = p[i]; /* folds become "\n\t" */
        }
        *w = '\0';
        char *colon = strchr(field, ':');
        CHECK(colon != NULL);
        *colon = '\0';
        char *value = colon + 1;
        while (*value == ' ') value++;
        CHECK_OK(lf_session_header(sess, field, value));
        p = end + 2;
    }
    CHECK_OK(lf_session_eoh(sess));
    const char *b = body + 4;
    size_t left = strlen(b);
    while (left > 0) {
        size_t n = left < 5 ? left : 5;
        CHECK_OK(lf_session_body(sess, (const uint8_t *)b, n));
        b += n;
        left -= n;
    }
}

static void finish(lf_session *sess, struct seen *s) {
    lf_report *r = NULL;
    CHECK_OK(lf_session_finish(sess, &r));
    describe(r, s);
    lf_report_free(r);
}

static void test_session(void) {
    const lf_engine *e = new_engine();
    lf_envelope *env = NULL;
    lf_session *sess = NULL;
    struct seen streamed, one_shot;

    CHECK_OK(lf_envelope_new(&env));
    CHECK_OK(lf_envelope_set_client_ip(env, "192.0.2.7"));
    CHECK_OK(lf_envelope_set_rdns(env, "mail.example.com"));
    CHECK_OK(lf_envelope_set_helo(env, "mail.example.com"));
    CHECK_OK(lf_envelope_set_mail_from(env, "sender@example.com"));
    CHECK_OK(lf_envelope_add_rcpt(env, "rcpt@example.org"));

    CHECK_OK(lf_session_new(e, &sess));
    CHECK_OK(lf_session_connect(sess, "192.0.2.7", "mail.example.com"));
    CHECK_OK(lf_session_helo(sess, "mail.example.com"));

    const char *folded =
        "From: sender@example.com\r\nTo: rcpt@example.org,\r\n\tother@example.org\r\n"
        "Subject: test\r\nDate: Mon, 1 Mar 2004 10:00:00 +0000\r\n"
        "Message-ID: <x@example.com>\r\n\r\nHello there.\r\n";
    const char *messages[] = {CLEAN, msg_gtube, msg_eicar, folded};
    const lf_verdict expect[] = {LF_VERDICT_CLEAN, LF_VERDICT_SPAM, LF_VERDICT_VIRUS,
                                 LF_VERDICT_CLEAN};
    for (size_t i = 0; i < sizeof messages / sizeof *messages; i++) {
        CHECK_OK(lf_session_mail(sess, "sender@example.com"));
        CHECK_OK(lf_session_rcpt(sess, "rcpt@example.org"));
        feed(sess, messages[i]);
        finish(sess, &streamed);
        scan(e, messages[i], strlen(messages[i]), env, &one_shot);
        CHECK(streamed.verdict == expect[i]);
        CHECK(streamed.verdict == one_shot.verdict);
        CHECK(streamed.score == one_shot.score);
        CHECK(strcmp(streamed.text, one_shot.text) == 0);
    }

    /* An aborted message, then the next one on the same connection. */
    CHECK_OK(lf_session_mail(sess, "sender@example.com"));
    CHECK_OK(lf_session_rcpt(sess, "rcpt@example.org"));
    feed(sess, msg_eicar);
    CHECK_OK(lf_session_reset(sess));
    CHECK_OK(lf_session_mail(sess, "sender@example.com"));
    CHECK_OK(lf_session_rcpt(sess, "rcpt@example.org"));
    feed(sess, CLEAN);
    finish(sess, &streamed);
    scan(e, CLEAN, strlen(CLEAN), env, &one_shot);
    CHECK(streamed.verdict == LF_VERDICT_CLEAN);
    CHECK(strcmp(streamed.text, one_shot.text) == 0);

    /* Header after the body: a state error. */
    CHECK_OK(lf_session_body(sess, (const uint8_t *)"x", 1));
    CHECK(lf_session_header(sess, "X", "y") == LF_ERR_STATE);
    CHECK_OK(lf_session_reset(sess));

    /* Over the size limit: flagged, never clean. */
    CHECK_OK(lf_session_set_max_size(sess, 64));
    feed(sess, CLEAN);
    CHECK_OK(lf_session_body(sess, (const uint8_t *)"0123456789012345678901234567890123456789", 40));
    finish(sess, &streamed);
    CHECK(streamed.verdict == LF_VERDICT_VIRUS);
    CHECK(streamed.flags & LF_REPORT_TRUNCATED);
    CHECK(strstr(streamed.text, "D:Heuristics.Limits.Exceeded.MaxScanSize\n") != NULL);

    lf_session_free(sess);
    lf_envelope_free(env);
    lf_engine_unref(e);
}

static void test_references(void) {
    /* A small engine of its own (no defaults), so that the scanner and the
     * session end up holding the only references. */
    lf_engine_builder *b = NULL;
    const lf_engine *e = NULL;
    CHECK_OK(lf_engine_builder_new(&b));
    CHECK_OK(lf_engine_builder_set_defaults(b, false));
    CHECK_OK(lf_engine_builder_build(b, &e));
    lf_engine_builder_free(b);
    lf_scanner *sc = NULL;
    lf_session *sess = NULL;
    lf_report *r = NULL;
    CHECK(lf_engine_ref(e) == e);
    lf_engine_unref(e);
    CHECK_OK(lf_scanner_new(e, &sc));
    CHECK_OK(lf_session_new(e, &sess));
    lf_engine_unref(e); /* the scanner and the session keep it alive */
    CHECK_OK(lf_scanner_scan(sc, (const uint8_t *)CLEAN, strlen(CLEAN), NULL, &r));
    lf_report_free(r);
    feed(sess, CLEAN);
    CHECK_OK(lf_session_finish(sess, &r));
    lf_report_free(r);
    lf_scanner_free(sc);
    lf_session_free(sess);
}

/* The Bayes store: learn, publish to an engine built with it, read it
 * back read-only. The store lives in a fresh directory under /tmp. */
static void test_bayes(void) {
    char dir[] = "/tmp/lf-c-bayes-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[sizeof dir + 16], journal[sizeof dir + 32];
    snprintf(path, sizeof path, "%s/bayes.db", dir);
    static const char spam[] = "From: deals@pills.example\r\nSubject: cheap pills\r\n\r\n"
                               "buy cheap pills online now\r\n";
    static const char ham[] = "From: alice@work.example\r\nSubject: meeting notes\r\n\r\n"
                              "notes from the monday meeting\r\n";
    lf_bayes *bayes = NULL;
    CHECK_OK(lf_bayes_open(path, LF_BAYES_CHI_SQUARE, &bayes));
    lf_engine_builder *b = NULL;
    CHECK_OK(lf_engine_builder_new(&b));
    CHECK_OK(lf_engine_builder_set_bayes(b, bayes));
    const lf_engine *e = NULL;
    CHECK_OK(lf_engine_builder_build(b, &e));
    lf_engine_builder_free(b);
    for (int i = 0; i < 10; i++) {
        CHECK_OK(lf_bayes_learn(bayes, (const uint8_t *)spam, sizeof spam - 1, true));
        CHECK_OK(lf_bayes_learn(bayes, (const uint8_t *)ham, sizeof ham - 1, false));
    }
    CHECK_OK(lf_bayes_publish(bayes));
    uint64_t ns = 0, nh = 0, nt = 0;
    CHECK_OK(lf_bayes_counts(bayes, &ns, &nh, &nt));
    CHECK(ns == 10 && nh == 10 && nt > 0);
    lf_report *r = NULL;
    double p = 0;
    CHECK_OK(lf_engine_scan(e, (const uint8_t *)spam, sizeof spam - 1, NULL, &r));
    CHECK_OK(lf_report_bayes(r, &p));
    CHECK(p > 0.99);
    lf_report_free(r);
    CHECK_OK(lf_bayes_compact(bayes));
    lf_bayes_free(bayes);
    lf_engine_unref(e);

    CHECK_OK(lf_engine_builder_new(&b));
    CHECK_OK(lf_engine_builder_load_bayes(b, path));
    CHECK_OK(lf_engine_builder_build(b, &e));
    lf_engine_builder_free(b);
    CHECK_OK(lf_engine_scan(e, (const uint8_t *)ham, sizeof ham - 1, NULL, &r));
    CHECK_OK(lf_report_bayes(r, &p));
    CHECK(p < 0.01);
    lf_report_free(r);
    lf_engine_unref(e);

    /* After one compaction the store is bayes.db and bayes.db.journal.1. */
    snprintf(journal, sizeof journal, "%s/bayes.db.journal.1", dir);
    CHECK(remove(journal) == 0);
    CHECK(remove(path) == 0);
    CHECK(rmdir(dir) == 0);
}

/* The throttle: defaults, a connection limit crossed (delay, then
 * tempfail), a zombie escalated to reject, the window sliding on, counts,
 * memory fixed at creation whatever arrives, NULLs and bad addresses.
 * Time is the caller's: plain numbers here. */
static void test_throttle(void) {
    lf_throttle_config c;
    memset(&c, 0, sizeof c);
    lf_throttle *t = (lf_throttle *)&c; /* must be reset to NULL on failure */
    CHECK(lf_throttle_new(&c, &t) == LF_ERR_INVALID); /* 0 buckets */
    CHECK(t == NULL);
    CHECK(lf_throttle_new(NULL, NULL) == LF_ERR_NULL);
    CHECK(lf_throttle_config_default(NULL) == LF_ERR_NULL);
    CHECK_OK(lf_throttle_config_default(&c));
    CHECK(c.window_ms == 60000 && c.buckets == 6 && c.v4_prefix == 24 && c.v6_prefix == 64);
    c.host.connections = 2;
    c.net.connections = 0;
    c.host_slots = 64;
    c.net_slots = 64;
    CHECK_OK(lf_throttle_new(&c, &t));
    CHECK(t != NULL);
    size_t mem = lf_throttle_memory(t);
    CHECK(mem > 0 && mem == lf_throttle_config_memory(&c));

    lf_advice a = LF_ADVICE_REJECT;
    uint32_t ms = 99;
    const char *ip = "192.0.2.1";
    CHECK_OK(lf_throttle_connect(t, ip, 0, &a, &ms));
    CHECK(a == LF_ADVICE_ACCEPT && ms == 0);
    CHECK_OK(lf_throttle_connect(t, ip, 10, &a, &ms));
    CHECK(a == LF_ADVICE_ACCEPT);
    CHECK_OK(lf_throttle_connect(t, ip, 20, &a, &ms));
    CHECK(a == LF_ADVICE_DELAY && ms == 1000);
    CHECK_OK(lf_throttle_connect(t, ip, 30, &a, NULL)); /* delay_ms may be NULL */
    CHECK(a == LF_ADVICE_TEMPFAIL);
    CHECK_OK(lf_throttle_message(t, ip, 5, 40, &a, &ms));
    CHECK_OK(lf_throttle_verdict(t, ip, true, 50, &a, &ms));
    CHECK(a == LF_ADVICE_REJECT); /* all spam: a zombie, escalated */
    lf_throttle_rates host, net;
    CHECK_OK(lf_throttle_counts(t, ip, 50, &host, &net));
    CHECK(host.connections == 4 && host.messages == 1 && host.recipients == 5 && host.spam == 1);
    CHECK(net.connections == 4);
    /* Another host of the /24 shares the network's counts only. */
    CHECK_OK(lf_throttle_counts(t, "192.0.2.77", 50, &host, &net));
    CHECK(host.connections == 0 && net.connections == 4);
    /* The window slides on. */
    CHECK_OK(lf_throttle_advice(t, ip, 70000, &a, &ms));
    CHECK(a == LF_ADVICE_ACCEPT);
    /* Many distinct clients (IPv4 and IPv6), times running backwards:
     * memory stays what it was. */
    char buf[64];
    for (uint32_t i = 0; i < 20000; i++) {
        if (i % 2)
            snprintf(buf, sizeof buf, "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        else
            snprintf(buf, sizeof buf, "[IPv6:2001:db8:%x::%x]", i, i);
        uint64_t now = (i % 7 == 0) ? 1000 : 100000 + (uint64_t)i;
        CHECK_OK(lf_throttle_connect(t, buf, now, &a, &ms));
    }
    CHECK(lf_throttle_memory(t) == mem);

    CHECK(lf_throttle_connect(NULL, ip, 0, &a, &ms) == LF_ERR_NULL);
    CHECK(lf_throttle_connect(t, NULL, 0, &a, &ms) == LF_ERR_NULL);
    CHECK(lf_throttle_connect(t, ip, 0, NULL, &ms) == LF_ERR_NULL);
    CHECK(lf_throttle_message(NULL, ip, 1, 0, &a, &ms) == LF_ERR_NULL);
    CHECK(lf_throttle_verdict(NULL, ip, false, 0, &a, &ms) == LF_ERR_NULL);
    CHECK(lf_throttle_advice(NULL, ip, 0, &a, &ms) == LF_ERR_NULL);
    CHECK(lf_throttle_counts(t, ip, 0, NULL, &net) == LF_ERR_NULL);
    CHECK(lf_throttle_connect(t, "not an address", 0, &a, &ms) == LF_ERR_INVALID);
    CHECK(strstr(lf_last_error(), "not an IP address") != NULL);
    CHECK(lf_throttle_memory(NULL) == 0);
    CHECK(lf_throttle_config_memory(NULL) == 0);
    lf_throttle_free(t);
    lf_throttle_free(NULL);
}

int main(void) {
    build_messages();
    shared = new_engine();
    test_version_and_status();
    test_null_arguments();
    test_verdicts();
    test_memory_loads();
    test_session();
    test_references();
    test_bayes();
    test_throttle();
    lf_engine_unref(shared);
    if (failures) {
        fprintf(stderr, "test_api: %d check(s) failed\n", failures);
        return 1;
    }
    printf("test_api: all checks passed\n");
    return 0;
}
