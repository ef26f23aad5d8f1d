/*
 * libfilter-milter: a Postfix (and Sendmail) milter that scans every message
 * with libfilter: viruses are rejected, spam is tagged with X-Spam-* header
 * fields (and optionally quarantined or rejected above a score).
 *
 * Threads:
 *   - the main thread waits on a self-pipe written by the SIGHUP/SIGUSR1
 *     handler and rebuilds the engine there (never in the handler);
 *   - a second thread runs smfi_main(): libmilter's listener, its signal
 *     thread (SIGTERM, SIGINT) and one worker per connection.
 * One engine (lf_engine) is shared by every connection; each connection has
 * its own lf_session, which holds its own engine reference, so a reload
 * swaps the current engine under a mutex and the old one is freed when the
 * last connection using it closes.
 * With throttle = yes, one lf_throttle (per-client rate limits) is shared
 * by every connection behind its own mutex: consulted at connect and at
 * MAIL FROM, told of each message and its verdict at end of message. Time
 * comes from clock_gettime(CLOCK_MONOTONIC) here, never from the library;
 * a delay it advises is slept in the callback (capped by
 * throttle_max_delay, which must stay below the MTA's milter timeout).
 *
 * See README.md beside this file (written as a manual page).
 *
 * SPDX-License-Identifier: MIT OR Apache-2.0
 */

#define _GNU_SOURCE

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include <libfilter.h>

#define PROG "libfilter-milter"
#define MILTER_VERSION "0.1.0"
#ifndef DEFAULT_CONFIG
#define DEFAULT_CONFIG "/etc/libfilter/libfilter-milter.conf"
#endif
#define DEFAULT_SOCKET "inet:8895@127.0.0.1"

/* Exit statuses (documented in README.md, EXIT STATUS). */
#define EXIT_USAGE 1   /* bad command line or configuration */
#define EXIT_ENGINE 2  /* the engine could not be built */
#define EXIT_MILTER 3  /* libmilter failed: socket, registration, main loop */

/* ------------------------------------------------------------------ */
/* Configuration                                                        */
/* ------------------------------------------------------------------ */

enum policy { POLICY_TEMPFAIL, POLICY_ACCEPT, POLICY_REJECT };

struct strlist {
    char **v;
    size_t n;
};

/* A network in CIDR form: family, address bytes, prefix length. */
struct net {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    unsigned bits;
};

#define MAX_EXEMPT 64

struct config {
    char *socket;
    struct strlist databases; /* lf_engine_builder_load_path, in order */
    struct strlist rules;     /* lf_engine_builder_load_rules_path */
    char *bayes;              /* lf_engine_builder_load_bayes; NULL: none */
    bool defaults;            /* embedded EICAR, policy heuristics, rules */
    bool strict;              /* a bad database line fails the build */
    double reject_score;      /* NAN: never reject spam */
    double quarantine_score;  /* NAN: never quarantine */
    enum policy on_error;     /* internal errors */
    enum policy on_limit;     /* message could not be scanned in full */
    bool log_stderr;          /* else syslog */
    char *syslog_facility;
    uint64_t max_message_size; /* 0: the library's default */
    char *pidfile;
    int debug;
    bool foreground;
    int timeout;        /* libmilter's MTA timeout, seconds */
    bool strip_headers; /* remove incoming X-Spam-{Flag,Status,Report,Level} */
    char *user;         /* run as this user once the socket is open */
    int umask;          /* -1: unchanged; else applied before the socket */
    bool throttle;      /* per-client rate limits (lf_throttle) */
    lf_throttle_config throttle_cfg; /* the library's defaults, then the keys */
    struct net exempt[MAX_EXEMPT];   /* clients the throttle never counts */
    size_t n_exempt;
};

static void strlist_free(struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int strlist_add(struct strlist *l, const char *s)
{
    char *copy = strdup(s);
    char **v = realloc(l->v, (l->n + 1) * sizeof *v);
    if (copy == NULL || v == NULL) {
        free(copy);
        if (v != NULL)
            l->v = v;
        return -1;
    }
    l->v = v;
    l->v[l->n++] = copy;
    return 0;
}

static void config_init(struct config *c)
{
    memset(c, 0, sizeof *c);
    c->defaults = true;
    c->reject_score = NAN;
    c->quarantine_score = NAN;
    c->on_error = POLICY_TEMPFAIL;
    c->on_limit = POLICY_REJECT;
    c->log_stderr = false;
    c->timeout = 7210;
    c->strip_headers = true;
    c->umask = -1;
    c->throttle = false;
    (void)lf_throttle_config_default(&c->throttle_cfg);
    /* A delay is slept in a milter callback: keep it well under Postfix's
     * milter_command_timeout (30 s). */
    c->throttle_cfg.max_delay_ms = 5000;
}

static void config_free(struct config *c)
{
    free(c->socket);
    free(c->bayes);
    free(c->pidfile);
    free(c->syslog_facility);
    free(c->user);
    strlist_free(&c->databases);
    strlist_free(&c->rules);
    memset(c, 0, sizeof *c);
}

/* Command-line settings, "key=value", applied after the file on every
 * (re)load so that they always win. */
static struct strlist overrides;
static const char *config_path = NULL;
static bool config_path_given = false;

/* ------------------------------------------------------------------ */
/* Logging                                                              */
/* ------------------------------------------------------------------ */

static bool log_to_stderr = true; /* until the configuration says otherwise */
static int log_debug = 0;

static void logmsg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void logmsg(int prio, const char *fmt, ...)
{
    if (prio == LOG_DEBUG && log_debug == 0)
        return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (log_to_stderr) {
        static const char *const names[] = {"emerg", "alert", "crit", "error",
                                            "warning", "notice", "info", "debug"};
        char stamp[32];
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
        fprintf(stderr, "%s %s[%ld]: %s: %s\n", stamp, PROG, (long)getpid(),
                names[prio & 7], buf);
        fflush(stderr);
    } else {
        syslog(prio, "%s", buf);
    }
}

static int facility_by_name(const char *name)
{
    static const struct {
        const char *name;
        int value;
    } table[] = {{"mail", LOG_MAIL},     {"daemon", LOG_DAEMON}, {"user", LOG_USER},
                 {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
                 {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
                 {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcasecmp(name, table[i].name) == 0)
            return table[i].value;
    return -1;
}

/* ------------------------------------------------------------------ */
/* Parsing values                                                       */
/* ------------------------------------------------------------------ */

static int parse_bool(const char *v, bool *out)
{
    if (!strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcasecmp(v, "true") ||
        !strcmp(v, "1")) {
        *out = true;
        return 0;
    }
    if (!strcasecmp(v, "no") || !strcasecmp(v, "off") || !strcasecmp(v, "false") ||
        !strcmp(v, "0")) {
        *out = false;
        return 0;
    }
    return -1;
}

static int parse_score(const char *v, double *out)
{
    if (!strcasecmp(v, "off") || !strcasecmp(v, "no") || !strcasecmp(v, "none") || !*v) {
        *out = NAN;
        return 0;
    }
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno != 0 || end == v || *end != '\0' || !isfinite(d))
        return -1;
    *out = d;
    return 0;
}

static int parse_size(const char *v, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno != 0 || end == v || v[0] == '-')
        return -1;
    uint64_t mult = 1;
    switch (toupper((unsigned char)*end)) {
    case '\0': break;
    case 'K': mult = 1024ULL; end++; break;
    case 'M': mult = 1024ULL * 1024; end++; break;
    case 'G': mult = 1024ULL * 1024 * 1024; end++; break;
    default: return -1;
    }
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end != '\0' || (n != 0 && mult > UINT64_MAX / n))
        return -1;
    *out = (uint64_t)n * mult;
    return 0;
}

static int parse_int(const char *v, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < lo || n > hi)
        return -1;
    *out = (int)n;
    return 0;
}

static int parse_policy(const char *v, enum policy *out)
{
    if (!strcasecmp(v, "tempfail"))
        *out = POLICY_TEMPFAIL;
    else if (!strcasecmp(v, "accept"))
        *out = POLICY_ACCEPT;
    else if (!strcasecmp(v, "reject"))
        *out = POLICY_REJECT;
    else
        return -1;
    return 0;
}

static const char *policy_name(enum policy p)
{
    return p == POLICY_ACCEPT ? "accept" : p == POLICY_REJECT ? "reject" : "tempfail";
}

/* "C/M/R/S": connections, messages, recipients and spam verdicts per
 * window; 0 is no limit. */
/* Reads "ADDR[/BITS]" (IPv4 or IPv6; no BITS: the one address). */
static int parse_net(const char *v, struct net *out)
{
    char buf[INET6_ADDRSTRLEN + 8];
    if (strlen(v) >= sizeof buf)
        return -1;
    strcpy(buf, v);
    char *slash = strchr(buf, '/');
    if (slash != NULL)
        *slash = '\0';
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = AF_INET;
        out->bits = 32;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = AF_INET6;
        out->bits = 128;
    } else {
        return -1;
    }
    if (slash != NULL) {
        char *end;
        errno = 0;
        unsigned long b = strtoul(slash + 1, &end, 10);
        if (end == slash + 1 || *end != '\0' || errno != 0 || b > out->bits)
            return -1;
        out->bits = (unsigned)b;
    }
    return 0;
}

/* Reads a list of networks separated by commas or spaces, adding to C's
 * exempt list. */
static int parse_exempt(const char *v, struct config *c)
{
    char *copy = strdup(v);
    if (copy == NULL)
        return -1;
    int bad = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ", \t", &save); tok != NULL && !bad;
         tok = strtok_r(NULL, ", \t", &save)) {
        if (c->n_exempt >= MAX_EXEMPT || parse_net(tok, &c->exempt[c->n_exempt]) != 0)
            bad = -1;
        else
            c->n_exempt++;
    }
    free(copy);
    return bad;
}

/* True when the address IP (text) is inside one of the N networks. */
static bool in_nets(const char *ip, const struct net *nets, size_t n)
{
    unsigned char a[16];
    int family;
    if (inet_pton(AF_INET, ip, a) == 1)
        family = AF_INET;
    else if (inet_pton(AF_INET6, ip, a) == 1)
        family = AF_INET6;
    else
        return false;
    for (size_t i = 0; i < n; i++) {
        if (nets[i].family != family)
            continue;
        unsigned whole = nets[i].bits / 8, rest = nets[i].bits % 8;
        if (memcmp(a, nets[i].addr, whole) != 0)
            continue;
        unsigned char mask = (unsigned char)(0xff << (8 - rest));
        if (rest == 0 || ((a[whole] ^ nets[i].addr[whole]) & mask) == 0)
            return true;
    }
    return false;
}

static int parse_rates(const char *v, lf_throttle_rates *out)
{
    unsigned long n[4];
    const char *p = v;
    for (int i = 0; i < 4; i++) {
        char *end;
        errno = 0;
        if (!isdigit((unsigned char)*p))
            return -1;
        n[i] = strtoul(p, &end, 10);
        if (errno != 0 || n[i] > UINT32_MAX || *end != (i < 3 ? '/' : '\0'))
            return -1;
        p = end + 1;
    }
    out->connections = (uint32_t)n[0];
    out->messages = (uint32_t)n[1];
    out->recipients = (uint32_t)n[2];
    out->spam = (uint32_t)n[3];
    return 0;
}

static int parse_u32(const char *v, uint32_t hi, uint32_t *out)
{
    int n;
    if (parse_int(v, 0, (int)(hi > INT32_MAX ? INT32_MAX : hi), &n) != 0)
        return -1;
    *out = (uint32_t)n;
    return 0;
}

static int set_string(char **slot, const char *v)
{
    char *copy = strdup(v);
    if (copy == NULL)
        return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

/* Sets one key. Returns 0, or -1 after printing why (WHERE names the file
 * and line, or the command line). */
static int config_set(struct config *c, const char *key, const char *v, const char *where)
{
    int bad = 0;
    if (!strcmp(key, "socket"))
        bad = set_string(&c->socket, v);
    else if (!strcmp(key, "database"))
        bad = strlist_add(&c->databases, v);
    else if (!strcmp(key, "rules"))
        bad = strlist_add(&c->rules, v);
    else if (!strcmp(key, "bayes"))
        bad = set_string(&c->bayes, v);
    else if (!strcmp(key, "defaults"))
        bad = parse_bool(v, &c->defaults);
    else if (!strcmp(key, "strict"))
        bad = parse_bool(v, &c->strict);
    else if (!strcmp(key, "reject_score"))
        bad = parse_score(v, &c->reject_score);
    else if (!strcmp(key, "quarantine_score"))
        bad = parse_score(v, &c->quarantine_score);
    else if (!strcmp(key, "on_error"))
        bad = parse_policy(v, &c->on_error);
    else if (!strcmp(key, "on_limit"))
        bad = parse_policy(v, &c->on_limit);
    else if (!strcmp(key, "log")) {
        if (!strcasecmp(v, "stderr"))
            c->log_stderr = true;
        else if (!strcasecmp(v, "syslog"))
            c->log_stderr = false;
        else
            bad = -1;
    } else if (!strcmp(key, "syslog_facility")) {
        bad = facility_by_name(v) < 0 ? -1 : set_string(&c->syslog_facility, v);
    } else if (!strcmp(key, "max_message_size"))
        bad = parse_size(v, &c->max_message_size);
    else if (!strcmp(key, "pidfile"))
        bad = set_string(&c->pidfile, v);
    else if (!strcmp(key, "debug"))
        bad = parse_int(v, 0, 9, &c->debug);
    else if (!strcmp(key, "foreground"))
        bad = parse_bool(v, &c->foreground);
    else if (!strcmp(key, "timeout"))
        bad = parse_int(v, 1, 86400, &c->timeout);
    else if (!strcmp(key, "strip_headers"))
        bad = parse_bool(v, &c->strip_headers);
    else if (!strcmp(key, "user"))
        bad = set_string(&c->user, v);
    else if (!strcmp(key, "throttle"))
        bad = parse_bool(v, &c->throttle);
    else if (!strcmp(key, "throttle_window")) {
        uint32_t secs = 0;
        bad = parse_u32(v, 86400, &secs) || secs == 0;
        c->throttle_cfg.window_ms = (uint64_t)secs * 1000;
    } else if (!strcmp(key, "throttle_buckets"))
        bad = parse_u32(v, 64, &c->throttle_cfg.buckets);
    else if (!strcmp(key, "throttle_slots")) {
        uint32_t n = 0;
        bad = parse_u32(v, 1u << 24, &n) || n == 0;
        c->throttle_cfg.host_slots = c->throttle_cfg.net_slots = n;
    } else if (!strcmp(key, "throttle_host"))
        bad = parse_rates(v, &c->throttle_cfg.host);
    else if (!strcmp(key, "throttle_net"))
        bad = parse_rates(v, &c->throttle_cfg.net);
    else if (!strcmp(key, "throttle_v4_prefix") || !strcmp(key, "throttle_v6_prefix")) {
        uint32_t n = 0;
        bool v4 = !strcmp(key, "throttle_v4_prefix");
        bad = parse_u32(v, v4 ? 32 : 128, &n);
        *(v4 ? &c->throttle_cfg.v4_prefix : &c->throttle_cfg.v6_prefix) = (uint8_t)n;
    } else if (!strcmp(key, "throttle_delay"))
        bad = parse_u32(v, 60000, &c->throttle_cfg.delay_ms);
    else if (!strcmp(key, "throttle_max_delay"))
        bad = parse_u32(v, 60000, &c->throttle_cfg.max_delay_ms);
    else if (!strcmp(key, "throttle_tempfail"))
        bad = parse_u32(v, 1000000, &c->throttle_cfg.tempfail_percent);
    else if (!strcmp(key, "throttle_reject"))
        bad = parse_u32(v, 1000000, &c->throttle_cfg.reject_percent);
    else if (!strcmp(key, "throttle_zombie"))
        bad = parse_u32(v, 100, &c->throttle_cfg.zombie_percent);
    else if (!strcmp(key, "throttle_exempt"))
        bad = parse_exempt(v, c);
    else if (!strcmp(key, "umask")) {
        char *end;
        long m = strtol(v, &end, 8);
        bad = (end == v || *end != '\0' || m < 0 || m > 0777) ? -1 : 0;
        if (!bad)
            c->umask = (int)m;
    }
    else {
        logmsg(LOG_ERR, "%s: unknown key \"%s\"", where, key);
        return -1;
    }
    if (bad) {
        logmsg(LOG_ERR, "%s: bad value \"%s\" for %s", where, v, key);
        return -1;
    }
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Reads the configuration file (when there is one) and then the command
 * line's overrides into C (initialised here). Returns 0 or -1. */
static int config_load(struct config *c)
{
    config_init(c);
    int rc = 0;
    if (config_path != NULL) {
        FILE *f = fopen(config_path, "r");
        if (f == NULL) {
            if (config_path_given || errno != ENOENT) {
                logmsg(LOG_ERR, "%s: %s", config_path, strerror(errno));
                config_free(c);
                return -1;
            }
        } else {
            char line[4096];
            int lineno = 0;
            while (fgets(line, sizeof line, f) != NULL) {
                lineno++;
                char where[PATH_MAX + 32];
                snprintf(where, sizeof where, "%s:%d", config_path, lineno);
                if (strchr(line, '\n') == NULL && !feof(f)) {
                    logmsg(LOG_ERR, "%s: line too long", where);
                    rc = -1;
                    break;
                }
                char *s = trim(line);
                if (*s == '\0' || *s == '#')
                    continue;
                char *eq = strchr(s, '=');
                if (eq == NULL) {
                    logmsg(LOG_ERR, "%s: expected key = value", where);
                    rc = -1;
                    continue;
                }
                *eq = '\0';
                char *key = trim(s), *value = trim(eq + 1);
                /* A trailing comment after a value: " # ..." */
                char *hash = strstr(value, " #");
                if (hash == NULL)
                    hash = strstr(value, "\t#");
                if (hash != NULL) {
                    *hash = '\0';
                    value = trim(value);
                }
                if (config_set(c, key, value, where) != 0)
                    rc = -1;
            }
            fclose(f);
        }
    }
    for (size_t i = 0; i < overrides.n && rc == 0; i++) {
        char *kv = strdup(overrides.v[i]);
        if (kv == NULL) {
            rc = -1;
            break;
        }
        char *eq = strchr(kv, '=');
        if (eq == NULL) {
            logmsg(LOG_ERR, "command line: expected key=value, got \"%s\"", kv);
            rc = -1;
        } else {
            *eq = '\0';
            if (config_set(c, trim(kv), trim(eq + 1), "command line") != 0)
                rc = -1;
        }
        free(kv);
    }
    if (rc == 0 && c->socket == NULL && set_string(&c->socket, DEFAULT_SOCKET) != 0)
        rc = -1;
    if (rc != 0)
        config_free(c);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The engine and its reload                                            */
/* ------------------------------------------------------------------ */

static struct config cfg; /* read at start; fixed for the process's life */

static pthread_mutex_t engine_lock = PTHREAD_MUTEX_INITIALIZER;
static const lf_engine *current_engine = NULL; /* guarded by engine_lock */
static unsigned long engine_generation = 0;    /* guarded by engine_lock */

/* Builds an engine from C's databases, rules and thresholds; NULL (and a
 * logged reason) on failure. Slow: never call it with engine_lock held. */
static const lf_engine *build_engine(const struct config *c)
{
    lf_engine_builder *b = NULL;
    const lf_engine *engine = NULL;
    lf_status st = lf_engine_builder_new(&b);
    if (st != LF_OK) {
        logmsg(LOG_ERR, "engine: lf_engine_builder_new: %s", lf_last_error());
        return NULL;
    }
    const char *what = "lf_engine_builder_set_defaults";
    const char *arg = "";
    st = lf_engine_builder_set_defaults(b, c->defaults);
    if (st == LF_OK) {
        what = "lf_engine_builder_set_strict";
        st = lf_engine_builder_set_strict(b, c->strict);
    }
    for (size_t i = 0; st == LF_OK && i < c->databases.n; i++) {
        what = "database";
        arg = c->databases.v[i];
        st = lf_engine_builder_load_path(b, arg);
    }
    for (size_t i = 0; st == LF_OK && i < c->rules.n; i++) {
        what = "rules";
        arg = c->rules.v[i];
        st = lf_engine_builder_load_rules_path(b, arg);
    }
    if (st == LF_OK && c->bayes) {
        /* Read-only: what the store holds now (`filterscan learn` or
         * lf_bayes_learn in another process); a reload reads it again. */
        what = "bayes";
        arg = c->bayes;
        st = lf_engine_builder_load_bayes(b, arg);
    }
    if (st == LF_OK) {
        /* The milter rejects spam only when told to: reject_score off
         * switches the library's reject step (15 by default) off. */
        what = "lf_engine_builder_set_threshold";
        arg = "";
        st = lf_engine_builder_set_threshold(b, LF_ACTION_REJECT, c->reject_score);
    }
    if (st == LF_OK) {
        what = "lf_engine_builder_build";
        st = lf_engine_builder_build(b, &engine);
    }
    if (st != LF_OK) {
        logmsg(LOG_ERR, "engine: %s%s%s: %s (%s)", what, *arg ? " " : "", arg,
               lf_last_error(), lf_status_str(st));
        lf_engine_builder_free(b);
        return NULL;
    }
    lf_engine_builder_free(b);
    logmsg(LOG_INFO,
           "engine built: %zu signatures (%zu bad lines skipped), %zu spam rules, "
           "%zu database path(s), %zu rules path(s), defaults %s, bayes %s",
           lf_engine_signature_count(engine), lf_engine_load_error_count(engine),
           lf_engine_rule_count(engine), c->databases.n, c->rules.n,
           c->defaults ? "on" : "off", c->bayes ? c->bayes : "off");
    return engine;
}

/* Installs ENGINE (taking over the caller's reference) as the current one,
 * and releases the reference the old one had from being current. */
static unsigned long install_engine(const lf_engine *engine)
{
    pthread_mutex_lock(&engine_lock);
    const lf_engine *old = current_engine;
    current_engine = engine;
    unsigned long gen = ++engine_generation;
    pthread_mutex_unlock(&engine_lock);
    lf_engine_unref(old); /* connections still using it hold their own */
    return gen;
}

/* Re-reads the configuration's engine settings (databases, rules, defaults,
 * strict, reject_score) and rebuilds; the old engine stays on failure. */
static void reload(void)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    logmsg(LOG_INFO, "reload: rebuilding the engine");
    struct config fresh;
    if (config_load(&fresh) != 0) {
        logmsg(LOG_ERR, "reload failed: configuration error; keeping the old engine");
        return;
    }
    const lf_engine *engine = build_engine(&fresh);
    config_free(&fresh);
    if (engine == NULL) {
        logmsg(LOG_ERR, "reload failed: keeping the old engine");
        return;
    }
    unsigned long gen = install_engine(engine);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    logmsg(LOG_NOTICE, "reload succeeded: engine generation %lu in %.0f ms", gen, ms);
}

/* ------------------------------------------------------------------ */
/* The throttle                                                         */
/* ------------------------------------------------------------------ */

/* Made at start from cfg (throttle = yes) and kept across reloads, so the
 * counts survive a SIGHUP; NULL when off. The handle is not thread-safe:
 * every call holds throttle_lock. */
static pthread_mutex_t throttle_lock = PTHREAD_MUTEX_INITIALIZER;
static lf_throttle *throttle = NULL;

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

enum throttle_event { T_CONNECT, T_MAIL, T_MESSAGE };

/* Tells the throttle of an event from IP (T_MAIL only asks) and returns
 * its advice; *delay_ms is set for LF_ADVICE_DELAY. A failure (an address
 * the library does not take) is logged and gives LF_ADVICE_ACCEPT. */
static lf_advice throttle_event(enum throttle_event ev, const char *ip, unsigned rcpts,
                                bool spam, uint32_t *delay_ms)
{
    lf_advice a = LF_ADVICE_ACCEPT;
    *delay_ms = 0;
    if (throttle == NULL || ip == NULL || strcmp(ip, "unknown") == 0 ||
        in_nets(ip, cfg.exempt, cfg.n_exempt))
        return a;
    lf_status st;
    pthread_mutex_lock(&throttle_lock);
    uint64_t now = monotonic_ms();
    switch (ev) {
    case T_CONNECT:
        st = lf_throttle_connect(throttle, ip, now, &a, delay_ms);
        break;
    case T_MAIL:
        st = lf_throttle_advice(throttle, ip, now, &a, delay_ms);
        break;
    case T_MESSAGE:
    default:
        st = lf_throttle_message(throttle, ip, rcpts, now, &a, delay_ms);
        if (st == LF_OK)
            st = lf_throttle_verdict(throttle, ip, spam, now, &a, delay_ms);
        break;
    }
    if (st != LF_OK) {
        logmsg(LOG_WARNING, "throttle: [%s]: %s", ip, lf_last_error());
        a = LF_ADVICE_ACCEPT;
        *delay_ms = 0;
    }
    pthread_mutex_unlock(&throttle_lock);
    return a;
}

static const char *advice_name(lf_advice a)
{
    switch (a) {
    case LF_ADVICE_DELAY: return "delay";
    case LF_ADVICE_TEMPFAIL: return "tempfail";
    case LF_ADVICE_REJECT: return "reject";
    case LF_ADVICE_ACCEPT:
    default: return "accept";
    }
}

/* Sleeps MS milliseconds (the tar pit), outside every lock. */
static void tarpit(uint32_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ------------------------------------------------------------------ */
/* Per-connection state and the milter callbacks                        */
/* ------------------------------------------------------------------ */

/* Incoming header fields removed at end of message (strip_headers), so a
 * sender cannot forge our verdict. */
static const char *const strip_names[] = {"X-Spam-Flag", "X-Spam-Status", "X-Spam-Report",
                                          "X-Spam-Level"};
#define NSTRIP (sizeof strip_names / sizeof strip_names[0])

struct conn {
    lf_session *session;
    unsigned long generation; /* of the engine the session was made on */
    char ip[INET6_ADDRSTRLEN];
    unsigned long messages;   /* finished on this connection */
    /* The current message: */
    char from[256];
    unsigned rcpts;
    uint64_t size;
    unsigned strip_count[NSTRIP];
#ifdef LF_MILTER_FAULT_INJECTION
    bool fault; /* test builds: the message asked for a failure */
#endif
};

static void message_clear(struct conn *c)
{
    c->from[0] = '\0';
    c->rcpts = 0;
    c->size = 0;
    memset(c->strip_count, 0, sizeof c->strip_count);
#ifdef LF_MILTER_FAULT_INJECTION
    c->fault = false;
#endif
}

static const char *queue_id(SMFICTX *ctx)
{
    const char *id = smfi_getsymval(ctx, "i");
    return id != NULL ? id : "NOQUEUE";
}

/* Copies TEXT into DST (of SIZE bytes) keeping only what an SMTP reply may
 * carry: printable ASCII; '%' (libmilter's escape) becomes '_'. */
static void reply_safe(char *dst, size_t size, const char *text)
{
    size_t j = 0;
    for (size_t i = 0; text[i] != '\0' && j + 1 < size; i++) {
        unsigned char ch = (unsigned char)text[i];
        dst[j++] = (ch >= 0x20 && ch < 0x7f && ch != '%') ? (char)ch : '_';
    }
    dst[j] = '\0';
}

/* Applies the on_error policy after a failure in WHAT. The session is reset
 * so that the connection can go on with its next message. */
static sfsistat fail(SMFICTX *ctx, struct conn *c, const char *what, bool can_reply)
{
    const char *err = lf_last_error();
    logmsg(LOG_ERR, "%s: %s failed: %s; on_error=%s", ctx != NULL ? queue_id(ctx) : "NOQUEUE",
           what, *err ? err : "internal error", policy_name(cfg.on_error));
    if (c != NULL && c->session != NULL)
        (void)lf_session_reset(c->session);
    if (c != NULL)
        message_clear(c);
    switch (cfg.on_error) {
    case POLICY_ACCEPT:
        return SMFIS_ACCEPT;
    case POLICY_REJECT:
        if (can_reply)
            (void)smfi_setreply(ctx, "550", "5.7.1", "Message content rejected: scanner error");
        return SMFIS_REJECT;
    case POLICY_TEMPFAIL:
    default:
        if (can_reply)
            (void)smfi_setreply(ctx, "451", "4.3.0", "Temporary content scanner failure");
        return SMFIS_TEMPFAIL;
    }
}

/* "<addr>" → "addr" into DST. */
static void strip_brackets(char *dst, size_t size, const char *addr)
{
    size_t len = strlen(addr);
    if (len >= 2 && addr[0] == '<' && addr[len - 1] == '>') {
        addr++;
        len -= 2;
    }
    if (len >= size)
        len = size - 1;
    memcpy(dst, addr, len);
    dst[len] = '\0';
}

static sfsistat cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
    if (throttle != NULL && hostaddr != NULL) {
        char addr[INET6_ADDRSTRLEN];
        const char *ip = NULL;
        if (hostaddr->sa_family == AF_INET)
            ip = inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)hostaddr)->sin_addr, addr,
                           sizeof addr);
        else if (hostaddr->sa_family == AF_INET6)
            ip = inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)hostaddr)->sin6_addr, addr,
                           sizeof addr);
        uint32_t ms = 0;
        lf_advice a = throttle_event(T_CONNECT, ip, 0, false, &ms);
        if (a == LF_ADVICE_TEMPFAIL || a == LF_ADVICE_REJECT) {
            /* No reply text at connect (libmilter ignores smfi_setreply
             * there): the MTA answers with its own 4xx or 5xx. */
            logmsg(LOG_NOTICE, "throttle: connect from [%s]: %s", ip, advice_name(a));
            return a == LF_ADVICE_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
        }
        if (a == LF_ADVICE_DELAY) {
            logmsg(LOG_INFO, "throttle: connect from [%s]: delay %u ms", ip, (unsigned)ms);
            tarpit(ms);
        }
    }
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return fail(ctx, NULL, "allocation", false);
    pthread_mutex_lock(&engine_lock);
    /* The session takes its own engine reference: a reload may replace
     * current_engine at any time, and this connection keeps its engine. */
    lf_status st = current_engine != NULL ? lf_session_new(current_engine, &c->session)
                                          : LF_ERR_NULL;
    c->generation = engine_generation;
    pthread_mutex_unlock(&engine_lock);
    if (st != LF_OK) {
        free(c);
        return fail(ctx, NULL, "lf_session_new", false);
    }
    if (cfg.max_message_size > 0 &&
        lf_session_set_max_size(c->session, (size_t)cfg.max_message_size) != LF_OK) {
        sfsistat r = fail(ctx, c, "lf_session_set_max_size", false);
        lf_session_free(c->session);
        free(c);
        return r;
    }
    const char *ip = NULL;
    if (hostaddr != NULL) {
        if (hostaddr->sa_family == AF_INET)
            ip = inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)hostaddr)->sin_addr, c->ip,
                           sizeof c->ip);
        else if (hostaddr->sa_family == AF_INET6)
            ip = inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)hostaddr)->sin6_addr,
                           c->ip, sizeof c->ip);
    }
    if (ip == NULL)
        snprintf(c->ip, sizeof c->ip, "unknown");
    /* Postfix says "unknown" and Sendmail "[addr]" when there is no
     * verified reverse name. */
    const char *rdns = hostname;
    if (rdns != NULL && (rdns[0] == '[' || strcmp(rdns, "unknown") == 0 || rdns[0] == '\0'))
        rdns = NULL;
    if (lf_session_connect(c->session, ip, rdns) != LF_OK) {
        sfsistat r = fail(ctx, c, "lf_session_connect", false);
        lf_session_free(c->session);
        free(c);
        return r;
    }
    message_clear(c);
    if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
        lf_session_free(c->session);
        free(c);
        return fail(ctx, NULL, "smfi_setpriv", false);
    }
    logmsg(LOG_DEBUG, "connect from %s [%s], engine generation %lu",
           hostname != NULL ? hostname : "unknown", c->ip, c->generation);
    return SMFIS_CONTINUE;
}

#define CONN_OR_FAIL(ctx, c)                                                                     \
    struct conn *c = smfi_getpriv(ctx);                                                          \
    if (c == NULL)                                                                               \
    return fail(ctx, NULL, "smfi_getpriv (no connection state)", true)

static sfsistat cb_helo(SMFICTX *ctx, char *helo)
{
    CONN_OR_FAIL(ctx, c);
    if (lf_session_helo(c->session, helo != NULL ? helo : "") != LF_OK)
        return fail(ctx, c, "lf_session_helo", true);
    return SMFIS_CONTINUE;
}

static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
    CONN_OR_FAIL(ctx, c);
    message_clear(c);
    strip_brackets(c->from, sizeof c->from, argv != NULL && argv[0] != NULL ? argv[0] : "");
    if (throttle != NULL) {
        /* A client over its limits on a connection it keeps open. */
        uint32_t ms = 0;
        lf_advice a = throttle_event(T_MAIL, c->ip, 0, false, &ms);
        if (a == LF_ADVICE_TEMPFAIL || a == LF_ADVICE_REJECT) {
            logmsg(LOG_NOTICE, "throttle: mail from <%s> [%s]: %s", c->from, c->ip,
                   advice_name(a));
            if (a == LF_ADVICE_REJECT) {
                (void)smfi_setreply(ctx, "550", "5.7.1", "Too much mail from your address");
                return SMFIS_REJECT;
            }
            (void)smfi_setreply(ctx, "450", "4.7.1", "Too much mail from your address, try later");
            return SMFIS_TEMPFAIL;
        }
        if (a == LF_ADVICE_DELAY)
            tarpit(ms);
    }
    if (lf_session_mail(c->session, c->from) != LF_OK)
        return fail(ctx, c, "lf_session_mail", true);
    return SMFIS_CONTINUE;
}

static sfsistat cb_envrcpt(SMFICTX *ctx, char **argv)
{
    CONN_OR_FAIL(ctx, c);
    char rcpt[512];
    strip_brackets(rcpt, sizeof rcpt, argv != NULL && argv[0] != NULL ? argv[0] : "");
    if (lf_session_rcpt(c->session, rcpt) != LF_OK)
        return fail(ctx, c, "lf_session_rcpt", true);
    c->rcpts++;
    return SMFIS_CONTINUE;
}

static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
    CONN_OR_FAIL(ctx, c);
    if (name == NULL || value == NULL)
        return SMFIS_CONTINUE;
    for (size_t i = 0; i < NSTRIP; i++)
        if (strcasecmp(name, strip_names[i]) == 0)
            c->strip_count[i]++;
    c->size += strlen(name) + strlen(value) + 4;
#ifdef LF_MILTER_FAULT_INJECTION
    /* Test builds only (scripts/milter-tests.sh): this field makes the end
     * of message call the library wrongly, so that a real lf_ error takes
     * the on_error path. */
    if (strcasecmp(name, "X-Libfilter-Test-Fault") == 0)
        c->fault = true;
#endif
    if (lf_session_header(c->session, name, value) != LF_OK)
        return fail(ctx, c, "lf_session_header", true);
    return SMFIS_CONTINUE;
}

static sfsistat cb_eoh(SMFICTX *ctx)
{
    CONN_OR_FAIL(ctx, c);
    if (lf_session_eoh(c->session) != LF_OK)
        return fail(ctx, c, "lf_session_eoh", true);
    return SMFIS_CONTINUE;
}

static sfsistat cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    CONN_OR_FAIL(ctx, c);
    c->size += len;
    if (lf_session_body(c->session, chunk, len) != LF_OK)
        return fail(ctx, c, "lf_session_body", true);
    return SMFIS_CONTINUE;
}

/* Adds the report's header fields (X-Spam-Status, X-Spam-Flag,
 * X-Spam-Report, X-Virus-Scanned), after removing forged ones. */
static int add_headers(SMFICTX *ctx, struct conn *c, const lf_report *report)
{
    if (cfg.strip_headers) {
        for (size_t i = 0; i < NSTRIP; i++)
            for (unsigned n = c->strip_count[i]; n > 0; n--)
                if (smfi_chgheader(ctx, (char *)strip_names[i], (int)n, NULL) != MI_SUCCESS)
                    return -1;
    }
    size_t count = lf_report_header_count(report);
    bool have_scanned = false;
    for (size_t i = 0; i < count; i++) {
        const char *name, *value;
        if (lf_report_header(report, i, &name, &value) != LF_OK)
            return -1;
        if (strcasecmp(name, "X-Virus-Scanned") == 0)
            have_scanned = true;
        if (smfi_addheader(ctx, (char *)name, (char *)value) != MI_SUCCESS)
            return -1;
    }
    if (!have_scanned) {
        char value[64];
        snprintf(value, sizeof value, "libfilter %s", lf_version());
        if (smfi_addheader(ctx, "X-Virus-Scanned", value) != MI_SUCCESS)
            return -1;
    }
    return 0;
}

static void symbols_list(const lf_report *report, char *buf, size_t size)
{
    size_t n = lf_report_symbol_count(report), used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used + 1 < size; i++) {
        const char *name;
        double score;
        if (lf_report_symbol(report, i, &name, &score, NULL) != LF_OK)
            break;
        int w = snprintf(buf + used, size - used, "%s%s(%.2f)", i ? "," : "", name, score);
        if (w < 0 || (size_t)w >= size - used) {
            if (size > 4)
                strcpy(buf + size - 4, "...");
            break;
        }
        used += (size_t)w;
    }
}

static sfsistat cb_eom(SMFICTX *ctx)
{
    CONN_OR_FAIL(ctx, c);
    const char *qid = queue_id(ctx);
    lf_report *report = NULL;
    lf_session *session = c->session;
#ifdef LF_MILTER_FAULT_INJECTION
    if (c->fault)
        session = NULL; /* LF_ERR_NULL, with lf_last_error set */
#endif
    if (lf_session_finish(session, &report) != LF_OK)
        return fail(ctx, c, "lf_session_finish", true);
    /* The session is ready for the next message of the connection. */
    c->messages++;

    lf_verdict verdict;
    lf_action action;
    double score = 0, required = 0;
    if (lf_report_verdict(report, &verdict) != LF_OK || lf_report_action(report, &action) != LF_OK ||
        lf_report_score(report, &score) != LF_OK ||
        lf_report_required_score(report, &required) != LF_OK) {
        lf_report_free(report);
        return fail(ctx, c, "lf_report_*", true);
    }
    char symbols[512];
    symbols_list(report, symbols, sizeof symbols);
    sfsistat result = SMFIS_CONTINUE;
    const char *outcome = "accepted";
    char detail[300] = "";

    if (verdict == LF_VERDICT_VIRUS) {
        /* The first real detection names the virus (the first overall is
         * clamscan's choice, but a scan limit hit before a signature
         * matched should not hide the signature). Only limit detections:
         * the message could not be scanned in full. */
        const char *name = NULL, *limit_name = NULL;
        for (size_t i = 0; i < lf_report_detection_count(report); i++) {
            const char *n = NULL;
            lf_detection_kind k = LF_DETECTION_SIGNATURE;
            if (lf_report_detection_name(report, i, &n) != LF_OK)
                continue;
            (void)lf_report_detection_kind(report, i, &k);
            if (k == LF_DETECTION_LIMIT) {
                if (limit_name == NULL)
                    limit_name = n;
            } else if (name == NULL) {
                name = n;
            }
        }
        bool all_limits = name == NULL && limit_name != NULL;
        if (all_limits)
            name = limit_name;
        else if (name == NULL)
            name = "unknown";
        char safe[200];
        reply_safe(safe, sizeof safe, name);
        if (!all_limits) {
            char text[256];
            snprintf(text, sizeof text, "Virus found: %s", safe);
            if (smfi_setreply(ctx, "550", "5.7.1", text) != MI_SUCCESS)
                logmsg(LOG_WARNING, "%s: smfi_setreply failed", qid);
            result = SMFIS_REJECT;
            outcome = "rejected (virus)";
            snprintf(detail, sizeof detail, " virus=%s", safe);
        } else {
            /* Could not be scanned in full: on_limit decides. */
            char text[256];
            snprintf(text, sizeof text, "Message could not be scanned in full: %s", safe);
            snprintf(detail, sizeof detail, " limit=%s", safe);
            if (cfg.on_limit == POLICY_REJECT) {
                (void)smfi_setreply(ctx, "550", "5.7.1", text);
                result = SMFIS_REJECT;
                outcome = "rejected (scan limit)";
            } else if (cfg.on_limit == POLICY_TEMPFAIL) {
                (void)smfi_setreply(ctx, "451", "4.3.0", text);
                result = SMFIS_TEMPFAIL;
                outcome = "tempfailed (scan limit)";
            } else {
                outcome = "accepted (scan limit)";
            }
        }
    } else if (action == LF_ACTION_REJECT) {
        /* Only with reject_score set (see build_engine). */
        char text[128];
        snprintf(text, sizeof text, "Spam message rejected (score %.1f)", score);
        (void)smfi_setreply(ctx, "550", "5.7.1", text);
        result = SMFIS_REJECT;
        outcome = "rejected (spam)";
    }

    if (result == SMFIS_CONTINUE) {
        if (add_headers(ctx, c, report) != 0) {
            lf_report_free(report);
            return fail(ctx, c, "smfi_addheader", true);
        }
        if (!isnan(cfg.quarantine_score) && score >= cfg.quarantine_score) {
            char reason[128];
            snprintf(reason, sizeof reason, "libfilter: spam score %.1f >= %.1f", score,
                     cfg.quarantine_score);
            if (smfi_quarantine(ctx, reason) != MI_SUCCESS) {
                lf_report_free(report);
                return fail(ctx, c, "smfi_quarantine", true);
            }
            outcome = "quarantined";
        } else if (verdict == LF_VERDICT_SPAM) {
            outcome = "accepted (tagged as spam)";
        }
        result = SMFIS_ACCEPT;
    }
    if (throttle != NULL) {
        /* A virus counts as a spam verdict: Sobig's zombies mailed both. */
        uint32_t ms = 0;
        lf_advice a = throttle_event(T_MESSAGE, c->ip, c->rcpts, verdict != LF_VERDICT_CLEAN, &ms);
        if (a != LF_ADVICE_ACCEPT)
            logmsg(LOG_INFO, "%s: throttle: client [%s] now %s", qid, c->ip, advice_name(a));
    }
    logmsg(LOG_INFO,
           "%s: %s: from=<%s> rcpts=%u size=%llu client=%s verdict=%s score=%.2f/%.2f%s "
           "engine=%lu symbols=%s",
           qid, outcome, c->from, c->rcpts, (unsigned long long)c->size, c->ip,
           verdict == LF_VERDICT_VIRUS ? "virus" : verdict == LF_VERDICT_SPAM ? "spam" : "clean",
           score, required, detail, c->generation, symbols[0] ? symbols : "-");
    lf_report_free(report);
    message_clear(c);
    return result;
}

static sfsistat cb_abort(SMFICTX *ctx)
{
    struct conn *c = smfi_getpriv(ctx);
    if (c == NULL)
        return SMFIS_CONTINUE;
    logmsg(LOG_DEBUG, "abort: message from <%s> dropped", c->from);
    if (lf_session_reset(c->session) != LF_OK)
        logmsg(LOG_ERR, "lf_session_reset: %s", lf_last_error());
    message_clear(c);
    return SMFIS_CONTINUE;
}

static sfsistat cb_close(SMFICTX *ctx)
{
    struct conn *c = smfi_getpriv(ctx);
    if (c == NULL)
        return SMFIS_CONTINUE;
    logmsg(LOG_DEBUG, "close: [%s], %lu message(s)", c->ip, c->messages);
    lf_session_free(c->session); /* and its engine reference */
    free(c);
    (void)smfi_setpriv(ctx, NULL);
    return SMFIS_CONTINUE;
}

static struct smfiDesc milter_desc = {
    .xxfi_name = PROG,
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE,
    .xxfi_connect = cb_connect,
    .xxfi_helo = cb_helo,
    .xxfi_envfrom = cb_envfrom,
    .xxfi_envrcpt = cb_envrcpt,
    .xxfi_header = cb_header,
    .xxfi_eoh = cb_eoh,
    .xxfi_body = cb_body,
    .xxfi_eom = cb_eom,
    .xxfi_abort = cb_abort,
    .xxfi_close = cb_close,
};

/* ------------------------------------------------------------------ */
/* Signals, threads, main                                               */
/* ------------------------------------------------------------------ */

static int wake_pipe[2] = {-1, -1};
static int milter_status = 0;

static void on_reload_signal(int sig)
{
    (void)sig;
    int saved = errno;
    char ch = 'H';
    ssize_t r = write(wake_pipe[1], &ch, 1);
    (void)r;
    errno = saved;
}

static void *milter_thread(void *arg)
{
    (void)arg;
    milter_status = smfi_main();
    char ch = 'Q';
    ssize_t r = write(wake_pipe[1], &ch, 1);
    (void)r;
    return NULL;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [-c CONFIG] [-p SOCKET] [-f] [-d]... [-l syslog|stderr] [-P PIDFILE]\n"
            "                        [-o KEY=VALUE]... [-t] [-V] [-h]\n"
            "  -c CONFIG   configuration file (default %s, if it exists)\n"
            "  -p SOCKET   listen on SOCKET: inet:PORT@HOST, inet6:PORT@HOST or unix:PATH\n"
            "              (default %s)\n"
            "  -f          stay in the foreground\n"
            "  -d          debug logging (twice or more: libmilter's debugging too)\n"
            "  -l WHERE    log to syslog or stderr\n"
            "  -P PIDFILE  write the process id there\n"
            "  -o KEY=VAL  set any configuration key, overriding the file\n"
            "  -t          check the configuration and build the engine, then exit\n"
            "  -V          print the versions and exit\n",
            PROG, DEFAULT_CONFIG, DEFAULT_SOCKET);
}

static int add_override(const char *key, const char *value)
{
    size_t len = strlen(key) + strlen(value) + 2;
    char *kv = malloc(len);
    if (kv == NULL)
        return -1;
    snprintf(kv, len, "%s=%s", key, value);
    int rc = strlist_add(&overrides, kv);
    free(kv);
    return rc;
}

static int write_pidfile(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "%ld\n", (long)getpid());
    return fclose(f);
}

/* Becomes USER (its uid, gid and groups) for good. */
static int drop_privileges(const char *user)
{
    errno = 0;
    struct passwd *pw = getpwnam(user);
    if (pw == NULL) {
        logmsg(LOG_ERR, "user %s: %s", user, errno ? strerror(errno) : "no such user");
        return -1;
    }
    if (getuid() == pw->pw_uid)
        return 0;
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0) {
        logmsg(LOG_ERR, "cannot become user %s: %s", user, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0 && pw->pw_uid != 0) {
        logmsg(LOG_ERR, "could regain root after becoming %s", user);
        return -1;
    }
    logmsg(LOG_INFO, "running as %s (uid %ld)", user, (long)pw->pw_uid);
    return 0;
}

int main(int argc, char **argv)
{
    int opt, debug_flags = 0;
    bool test_only = false;
    config_path = DEFAULT_CONFIG;
    while ((opt = getopt(argc, argv, "c:p:fdl:P:o:tVh")) != -1) {
        int bad = 0;
        switch (opt) {
        case 'c': config_path = optarg; config_path_given = true; break;
        case 'p': bad = add_override("socket", optarg); break;
        case 'f': bad = add_override("foreground", "yes"); break;
        case 'd': debug_flags++; break;
        case 'l': bad = add_override("log", optarg); break;
        case 'P': bad = add_override("pidfile", optarg); break;
        case 'o':
            if (strchr(optarg, '=') == NULL) {
                fprintf(stderr, "%s: -o wants KEY=VALUE\n", PROG);
                return EXIT_USAGE;
            }
            bad = strlist_add(&overrides, optarg);
            break;
        case 't': test_only = true; break;
        case 'V': {
            unsigned ma = 0, mi = 0, pl = 0;
            smfi_version(&ma, &mi, &pl);
            printf("%s %s, libfilter %s (header %d.%d.%d), libmilter %u.%u.%u\n", PROG,
                   MILTER_VERSION, lf_version(), LF_VERSION_MAJOR, LF_VERSION_MINOR,
                   LF_VERSION_PATCH, ma, mi, pl);
            return 0;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
        if (bad) {
            fprintf(stderr, "%s: out of memory\n", PROG);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (debug_flags > 0) {
        char n[16];
        snprintf(n, sizeof n, "%d", debug_flags);
        if (add_override("debug", n) != 0)
            return EXIT_USAGE;
    }

    /* Errors while reading the configuration go to stderr. */
    log_to_stderr = true;
    if (config_load(&cfg) != 0)
        return EXIT_USAGE;
    log_debug = cfg.debug;
    if (test_only)
        log_to_stderr = true;
    else if (!cfg.log_stderr) {
        int facility = cfg.syslog_facility ? facility_by_name(cfg.syslog_facility) : LOG_MAIL;
        openlog(PROG, LOG_PID | LOG_NDELAY, facility);
        log_to_stderr = false;
    }

    logmsg(LOG_INFO, "%s %s starting: libfilter %s, socket %s, on_error=%s", PROG,
           MILTER_VERSION, lf_version(), cfg.socket, policy_name(cfg.on_error));
    const lf_engine *engine = build_engine(&cfg);
    if (engine == NULL) {
        if (!log_to_stderr)
            fprintf(stderr, "%s: the engine could not be built (see the log)\n", PROG);
        return EXIT_ENGINE;
    }
    if (cfg.throttle) {
        /* A random seed, so that outsiders cannot aim addresses at one set
         * of the throttle's table. */
        uint64_t seed = 0;
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, &seed, sizeof seed) != (ssize_t)sizeof seed)
            seed = monotonic_ms() ^ ((uint64_t)getpid() << 32);
        if (fd >= 0)
            close(fd);
        cfg.throttle_cfg.seed = seed;
        if (lf_throttle_new(&cfg.throttle_cfg, &throttle) != LF_OK) {
            logmsg(LOG_ERR, "throttle: %s", lf_last_error());
            lf_engine_unref(engine);
            return EXIT_USAGE;
        }
        const lf_throttle_config *t = &cfg.throttle_cfg;
        logmsg(LOG_INFO,
               "throttle: window %llu s, host %u/%u/%u/%u, net /%u,/%u %u/%u/%u/%u "
               "(connections/messages/recipients/spam), %zu bytes",
               (unsigned long long)(t->window_ms / 1000), t->host.connections, t->host.messages,
               t->host.recipients, t->host.spam, t->v4_prefix, t->v6_prefix, t->net.connections,
               t->net.messages, t->net.recipients, t->net.spam, lf_throttle_memory(throttle));
    }
    if (test_only) {
        printf("configuration OK: socket %s, %zu signatures, %zu spam rules\n", cfg.socket,
               lf_engine_signature_count(engine), lf_engine_rule_count(engine));
        lf_throttle_free(throttle);
        throttle = NULL;
        lf_engine_unref(engine);
        config_free(&cfg);
        strlist_free(&overrides);
        return 0;
    }
    install_engine(engine);

    if (smfi_setconn(cfg.socket) != MI_SUCCESS || smfi_settimeout(cfg.timeout) != MI_SUCCESS ||
        smfi_register(milter_desc) != MI_SUCCESS) {
        logmsg(LOG_ERR, "libmilter: cannot set up the milter on %s", cfg.socket);
        return EXIT_MILTER;
    }
    if (cfg.debug > 1)
        (void)smfi_setdbg(cfg.debug - 1);
    if (cfg.umask >= 0)
        umask((mode_t)cfg.umask); /* the unix socket's permissions */
    /* Open the socket now, so that an error is seen before we detach;
     * true: remove a stale unix socket first. */
    if (smfi_opensocket(true) != MI_SUCCESS) {
        logmsg(LOG_ERR, "libmilter: cannot open the socket %s", cfg.socket);
        if (!log_to_stderr)
            fprintf(stderr, "%s: cannot open the socket %s\n", PROG, cfg.socket);
        return EXIT_MILTER;
    }
    if (!cfg.foreground && daemon(0, 0) != 0) {
        logmsg(LOG_ERR, "daemon: %s", strerror(errno));
        return EXIT_MILTER;
    }
    if (cfg.pidfile != NULL && write_pidfile(cfg.pidfile) != 0)
        logmsg(LOG_WARNING, "pidfile %s: %s", cfg.pidfile, strerror(errno));
    if (cfg.user != NULL && drop_privileges(cfg.user) != 0)
        return EXIT_MILTER;
    /* A client gone mid-reply must not kill the process. */
    signal(SIGPIPE, SIG_IGN);

    /* The reload signals: a handler that writes to a pipe read here. */
    if (pipe(wake_pipe) != 0) {
        logmsg(LOG_ERR, "pipe: %s", strerror(errno));
        return EXIT_MILTER;
    }
    (void)fcntl(wake_pipe[1], F_SETFL, O_NONBLOCK);
    (void)fcntl(wake_pipe[0], F_SETFD, FD_CLOEXEC);
    (void)fcntl(wake_pipe[1], F_SETFD, FD_CLOEXEC);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_reload_signal;
    /* SA_NODEFER: without it the kernel blocks SIGHUP in this thread while
     * the handler runs, and a SIGHUP arriving in that window goes to the
     * one thread that still takes it, libmilter's, which stops the milter.
     * The handler only writes a byte, so running it nested is harmless. */
    sa.sa_flags = SA_RESTART | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);

    /* Every thread but this one blocks the signals: libmilter's own
     * signal thread sigwaits for SIGTERM and SIGINT (and would stop the
     * milter on SIGHUP). This thread, the process's main thread, keeps
     * SIGHUP and SIGUSR1 unblocked, so the kernel hands it those
     * signals. */
    sigset_t all;
    sigemptyset(&all);
    sigaddset(&all, SIGHUP);
    sigaddset(&all, SIGUSR1);
    sigaddset(&all, SIGTERM);
    sigaddset(&all, SIGINT);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    pthread_t tid;
    if (pthread_create(&tid, NULL, milter_thread, NULL) != 0) {
        logmsg(LOG_ERR, "pthread_create failed");
        return EXIT_MILTER;
    }
    sigset_t reload_set;
    sigemptyset(&reload_set);
    sigaddset(&reload_set, SIGHUP);
    sigaddset(&reload_set, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &reload_set, NULL);
    logmsg(LOG_NOTICE, "listening on %s", cfg.socket);

    for (;;) {
        char buf[64];
        ssize_t n = read(wake_pipe[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        bool quit = memchr(buf, 'Q', (size_t)n) != NULL;
        if (quit)
            break;
        /* Several signals while we were busy: one reload does. */
        reload();
    }
    pthread_join(tid, NULL);
    logmsg(milter_status == MI_SUCCESS ? LOG_NOTICE : LOG_ERR, "stopping (%s)",
           milter_status == MI_SUCCESS ? "normal" : "libmilter failed");

    install_engine(NULL); /* drops ours; live sessions hold their own */
    pthread_mutex_lock(&throttle_lock);
    lf_throttle_free(throttle);
    throttle = NULL;
    pthread_mutex_unlock(&throttle_lock);
    if (cfg.pidfile != NULL)
        unlink(cfg.pidfile);
    config_free(&cfg);
    strlist_free(&overrides);
    return milter_status == MI_SUCCESS ? 0 : EXIT_MILTER;
}
