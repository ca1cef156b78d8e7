/* kube_rest_impl.h: what the REST client's files share (kube_rest.c, kube_rest_verbs.c, kube_rest_watch.c,
 * kube_rest_config.c); private to adapters/kube_rest*.c. */
#ifndef T0_ADAPTERS_KUBE_REST_IMPL_H
#define T0_ADAPTERS_KUBE_REST_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "adapters/kube_rest.h"
#include "core/fs.h"

#define COMP "kube-rest"

struct kuberest {
    kuberest_config cfg;
    kuberest_opts o;
    rtloop *loop;
    CURL *easy; /* loop thread only: connection reuse for synchronous calls */
    pthread_mutex_t mu; /* token, rate limiter, stats, watch list */
    pthread_cond_t cv;  /* a watch thread ended */
    char *token;        /* current bearer token */
    int64_t token_read_ms;
    double tokens;
    int64_t bucket_ms;
    kuberest_stats st;
    struct kube_watch *watches;
    unsigned nthreads;
    /* o.drop's paths as they apply to an object answered alone, to list items and to watch events */
    char **drop_paths[3][KUBE__KINDS];
};
enum { DROP_ONE, DROP_LIST, DROP_WATCH };

/* a growing NUL-terminated byte buffer */
typedef struct kr_buf {
    char *p;
    size_t n, cap;
} kr_buf;
/* kr_buf_add: append N bytes of D; -1 when out of memory */
int kr_buf_add(kr_buf *b, const char *d, size_t n);

/* kr_xstrdup: a copy of S (NULL for NULL); kr_rtrim: S without trailing whitespace */
char *kr_xstrdup(const char *s);
void kr_rtrim(char *s);

/* KR_FILE_MAX: the largest kubeconfig, token or namespace file read (core/fs.h's fs_read_host) */
#define KR_FILE_MAX ((size_t)16 << 20)

/* kr_drop_for: K's o.drop paths for an object answered alone, list items or watch events (FORM: DROP_*) */
const char *const *kr_drop_for(const kuberest *k, int form, kube_kind kind);
struct curl_slist *kr_auth_header(kuberest *k, struct curl_slist *h);
void kr_rate_wait(kuberest *k);
void kr_record(kuberest *k, kuberest_verb v, long http, double secs, bool failed);
void kr_tls_setup(kuberest *k, CURL *c);
t0_status kr_request(kuberest *k, kuberest_verb verb, const char *method, const char *path_query, const char *body,
                     const char *what, const char *const *drop, cJSON **out, t0_err *err);
t0_status kr_append_query(CURL *c, char *path, size_t cap, const char *key, const char *val);

/* the port's watch and unwatch (kube_rest_watch.c); kr_watches_end: every stream of K ends and its threads are
 * gone, and the handles the caller never unwatched are released (kuberest_destroy) */
t0_status kr_watch(void *ctx, kube_kind kind, const char *ns, const char *selector, const char *from_rv,
                   kube_watch_fn fn, void *ud, kube_watch **out, t0_err *err);
void kr_unwatch(void *ctx, kube_watch *w);
void kr_watches_end(kuberest *k);

#endif
