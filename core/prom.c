/* prom.c: the Prometheus text exposition format and the process collector (see prom.h). */
#include "core/prom.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

const double PROM_RECONCILE_BUCKETS[40] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35,
                                           0.4,   0.45, 0.5,   0.6,  0.7, 0.8,  0.9, 1.0,  1.25, 1.5,
                                           1.75,  2.0,  2.5,   3.0,  3.5, 4.0,  4.5, 5,    6,    7,
                                           8,     9,    10,    15,   20,  25,   30,  40,   50,   60};
const double PROM_WORKQUEUE_BUCKETS[12] = {1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 100, 1000};
const double PROM_REST_BUCKETS[12] = {0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60};

void prom_init(prom *b) { *b = (prom){0}; }

void prom_free(prom *b)
{
    free(b->p);
    *b = (prom){0};
}

char *prom_take(prom *b)
{
    char *t = b->oom ? NULL : b->p;
    if (b->oom) free(b->p);
    if (t == NULL && !b->oom) t = strdup("");
    *b = (prom){0};
    return t;
}

static void add(prom *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(prom *b, const char *fmt, ...)
{
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if (b->p && (size_t)n < b->cap - b->n) {
            b->n += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n + 4096;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

/* num: V as Go's strconv.FormatFloat(v, 'g', -1, 64) prints it, as the Go client does: the shortest digits
 * that read back as V, in exponent form when the exponent is < -4 or >= 6 */
static const char *num(char buf[40], double v)
{
    if (isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (isnan(v)) return "NaN";
    if (v == 0) return "0";
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, 40, "%.*e", prec - 1, v);
        if (strtod(buf, NULL) == v) break;
    }
    snprintf(buf, 40, "%.*e", prec - 1, v);
    int exp = atoi(strchr(buf, 'e') + 1);
    if (exp < -4 || exp >= 6) return buf; /* already "d.ddde+XX" */
    int decimals = prec - 1 - exp;
    snprintf(buf, 40, "%.*f", decimals > 0 ? decimals : 0, v);
    return buf;
}

void prom_family(prom *b, const char *name, const char *type, const char *help)
{
    add(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_sample(prom *b, const char *name, const char *labels, double v)
{
    char nb[40];
    if (labels && *labels)
        add(b, "%s{%s} %s\n", name, labels, num(nb, v));
    else
        add(b, "%s %s\n", name, num(nb, v));
}

const char *prom_labels_(char *buf, size_t cap, ...)
{
    size_t n = 0;
    buf[0] = 0;
    va_list ap;
    va_start(ap, cap);
    for (const char *k; (k = va_arg(ap, const char *));) {
        const char *v = va_arg(ap, const char *);
        if (!v) v = "";
        int w = snprintf(buf + n, n < cap ? cap - n : 0, "%s%s=\"", n ? "," : "", k);
        n += w > 0 ? (size_t)w : 0;
        for (; *v && n + 3 < cap; v++) {
            if (*v == '\\' || *v == '"') buf[n++] = '\\', buf[n++] = *v;
            else if (*v == '\n') buf[n++] = '\\', buf[n++] = 'n';
            else buf[n++] = *v;
        }
        if (n + 1 < cap) buf[n++] = '"';
        buf[n < cap ? n : cap - 1] = 0;
    }
    va_end(ap);
    return buf;
}

void prom_hist_observe(prom_hist *h, const double *bounds, size_t nbounds, double v)
{
    size_t i = 0;
    if (nbounds > PROM_MAX_BUCKETS) nbounds = PROM_MAX_BUCKETS;
    while (i < nbounds && v > bounds[i]) i++;
    h->counts[i]++;
    h->sum += v;
    h->count++;
}

void prom_histogram(prom *b, const char *name, const char *labels, const double *bounds, size_t nbounds,
                    const prom_hist *h)
{
    char nb[40], lb[64];
    const char *sep = labels && *labels ? "," : "";
    if (!labels) labels = "";
    if (nbounds > PROM_MAX_BUCKETS) nbounds = PROM_MAX_BUCKETS;
    uint64_t cum = 0;
    for (size_t i = 0; i < nbounds; i++) {
        cum += h->counts[i];
        snprintf(lb, sizeof lb, "%s", num(nb, bounds[i]));
        add(b, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, labels, sep, lb, (unsigned long long)cum);
    }
    add(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)h->count);
    if (*labels) {
        add(b, "%s_sum{%s} %s\n", name, labels, num(nb, h->sum));
        add(b, "%s_count{%s} %llu\n", name, labels, (unsigned long long)h->count);
    } else {
        add(b, "%s_sum %s\n", name, num(nb, h->sum));
        add(b, "%s_count %llu\n", name, (unsigned long long)h->count);
    }
}

/* ---- the process collector -------------------------------------------------------------------- */
static double boot_time_s(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return -1;
    char line[256];
    double bt = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "btime ", 6)) {
            bt = strtod(line + 6, NULL);
            break;
        }
    fclose(f);
    return bt;
}

void prom_process(prom *b)
{
    long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/self/stat", "r");
    if (f) {
        char line[1024];
        char *ok = fgets(line, sizeof line, f);
        fclose(f);
        /* fields after the command name (which may hold spaces: it ends at the last ')') */
        char *p = ok ? strrchr(line, ')') : NULL;
        if (p && ticks > 0) {
            p += 2; /* field 3, the state */
            unsigned long long v[25] = {0};
            for (int i = 3; i <= 24 && *p; i++) {
                char *end;
                v[i] = strtoull(p, &end, 10);
                if (i == 3) end = p + 1; /* the state is a letter */
                p = end;
                while (*p == ' ') p++;
            }
            prom_family(b, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
            prom_sample(b, "process_cpu_seconds_total", NULL, (double)(v[14] + v[15]) / (double)ticks);
            prom_family(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
            prom_sample(b, "process_virtual_memory_bytes", NULL, (double)v[23]);
            prom_family(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
            prom_sample(b, "process_resident_memory_bytes", NULL, (double)v[24] * (double)page);
            double bt = boot_time_s();
            if (bt >= 0) {
                prom_family(b, "process_start_time_seconds", "gauge",
                            "Start time of the process since unix epoch in seconds.");
                prom_sample(b, "process_start_time_seconds", NULL, bt + (double)v[22] / (double)ticks);
            }
        }
    }
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        long n = 0;
        for (struct dirent *e; (e = readdir(d));)
            if (e->d_name[0] != '.') n++;
        closedir(d);
        prom_family(b, "process_open_fds", "gauge", "Number of open file descriptors.");
        prom_sample(b, "process_open_fds", NULL, (double)(n > 0 ? n - 1 : 0)); /* not the directory's own fd */
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        prom_family(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
        prom_sample(b, "process_max_fds", NULL, rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur);
    }
}
