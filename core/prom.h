/* prom.h: the Prometheus text exposition format (0.0.4): a growable buffer of families (HELP, TYPE, samples),
 * histograms as fixed bucket counts, and the process_* families read from /proc. Each module renders its
 * own metrics into one prom buffer; the HTTP server serves the result. */
#ifndef T0_CORE_PROM_H
#define T0_CORE_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct prom {
    char *p;
    size_t n, cap;
    bool oom;
} prom;

/* prom_init: an empty buffer. prom_take: its text, owned by the caller (free), or NULL when an allocation
 * failed along the way; the buffer is empty again. prom_free: drop it. */
void prom_init(prom *b);
char *prom_take(prom *b);
void prom_free(prom *b);

/* prom_family: the HELP and TYPE lines ("counter", "gauge", "histogram") of family NAME; its samples follow. */
void prom_family(prom *b, const char *name, const char *type, const char *help);
/* prom_sample: one sample line. LABELS is NULL or a label list built with prom_labels (without braces). */
void prom_sample(prom *b, const char *name, const char *labels, double v);
/* prom_labels: `k1="v1",k2="v2"` for the pairs up to a NULL key into BUF, values escaped (\\ \" \n);
 * returns BUF. */
const char *prom_labels_(char *buf, size_t cap, ...);
#define prom_labels(buf, cap, ...) prom_labels_((buf), (cap), __VA_ARGS__, (const char *)NULL)

/* A histogram: counts per bucket (not cumulative; index i counts observations in (bound[i-1], bound[i]],
 * index nbounds counts those above the last bound), their sum and count. */
#define PROM_MAX_BUCKETS 48
typedef struct prom_hist {
    uint64_t counts[PROM_MAX_BUCKETS + 1];
    double sum;
    uint64_t count;
} prom_hist;
void prom_hist_observe(prom_hist *h, const double *bounds, size_t nbounds, double v);
/* prom_histogram: the _bucket (cumulative, le="+Inf" last), _sum and _count lines of H under LABELS. */
void prom_histogram(prom *b, const char *name, const char *labels, const double *bounds, size_t nbounds,
                    const prom_hist *h);

/* Bucket layouts of the standard families. */
extern const double PROM_RECONCILE_BUCKETS[40]; /* controller_runtime_reconcile_time_seconds */
extern const double PROM_WORKQUEUE_BUCKETS[12]; /* workqueue_*_duration_seconds: 1e-8 .. 1e3 */
extern const double PROM_REST_BUCKETS[12];      /* rest_client_request_duration_seconds */

/* prom_process: process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
 * process_open_fds, process_max_fds and process_start_time_seconds of this process, read from /proc (as the
 * Go client's process collector does). A file that cannot be read leaves its families out. */
void prom_process(prom *b);

#endif
