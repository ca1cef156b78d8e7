/* kube_rest.h: kube_port over the Kubernetes REST API (libcurl + cJSON): in-cluster config or kubeconfig
 * (libyaml), Status errors mapped to t0_status, client-side QPS/burst, list + streaming watch. */
#ifndef T0_ADAPTERS_KUBE_REST_H
#define T0_ADAPTERS_KUBE_REST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "adapters/rtloop.h"
#include "core/ports.h"
#include "core/prom.h"
#include "core/t0.h"

/* ---- configuration ---------------------------------------------------------------------------- */
/* Where and how to connect. Every string is owned by the struct (kuberest_config_free). PEM blobs are
 * the decoded *-data fields; files are absolute (kubeconfig-relative paths are resolved). */
typedef struct kuberest_config {
    char *server;     /* "https://10.0.0.1:443" */
    char *ca_file, *ca_pem;
    char *token;      /* static bearer token */
    char *token_file; /* re-read at most every minute (bound service-account tokens rotate) */
    char *cert_file, *cert_pem, *key_file, *key_pem;
    bool insecure;    /* insecure-skip-tls-verify */
    char *namespace;  /* context namespace or the service account's namespace; NULL when unknown */
    char *source;     /* "in-cluster" or the kubeconfig path (for logs) */
} kuberest_config;

/* kuberest_config_incluster: KUBERNETES_SERVICE_HOST/PORT plus SA_DIR/{token,ca.crt,namespace}
 * (SA_DIR NULL = /var/run/secrets/kubernetes.io/serviceaccount). T0_ENOTFOUND when the variables are
 * unset or the token is unreadable (= not in a cluster). */
t0_status kuberest_config_incluster(const char *sa_dir, kuberest_config *c, t0_err *err);
/* kuberest_config_kubeconfig_text: parse kubeconfig YAML TEXT; CONTEXT NULL = current-context.
 * BASE_DIR resolves relative certificate-authority/client-certificate/client-key/tokenFile paths.
 * T0_EINVAL naming what is missing or malformed. */
t0_status kuberest_config_kubeconfig_text(const char *text, size_t len, const char *base_dir, const char *context,
                                          kuberest_config *c, t0_err *err);
/* kuberest_config_kubeconfig: the same for the file at PATH. */
t0_status kuberest_config_kubeconfig(const char *path, const char *context, kuberest_config *c, t0_err *err);
/* kuberest_config_load: PATH (the --kubeconfig flag) when non-empty, else $KUBECONFIG (its first
 * entry), else in-cluster, else ~/.kube/config. *in_cluster tells which was used (may be NULL). */
t0_status kuberest_config_load(const char *path, kuberest_config *c, bool *in_cluster, t0_err *err);
void kuberest_config_free(kuberest_config *c);

/* ---- client ----------------------------------------------------------------------------------- */
typedef struct kuberest_opts {
    double qps;          /* client-side rate limit, requests per second (default 50; <= 0: unlimited) */
    int burst;           /* token bucket size (default 100) */
    long timeout_ms;     /* per request (default 30000); watches have none */
    long connect_timeout_ms; /* default 10000 */
    int watch_timeout_s; /* asks the server to end each watch after this many seconds (default 300) */
    long token_reread_ms; /* token_file re-read period (default 60000) */
} kuberest_opts;
void kuberest_opts_defaults(kuberest_opts *o);

typedef struct kuberest kuberest;

/* kuberest_new: a client for CFG (copied) that delivers watch events on LOOP (borrowed: it must
 * outlive the client). OPTS NULL = defaults. Port calls are made on the loop thread; each watch runs a
 * thread of its own. */
t0_status kuberest_new(const kuberest_config *cfg, rtloop *loop, const kuberest_opts *opts, kuberest **out, t0_err *err);
/* kuberest_destroy: stop every watch still open and wait for their threads, then free. Events already
 * posted to the loop are dropped safely (they find the watch dead). NULL is a no-op. */
void kuberest_destroy(kuberest *k);
/* kuberest_port: the kube_port adapter (ctx = K). */
kube_port kuberest_port(kuberest *k);

/* Request statistics, including a latency histogram per verb (seconds buckets KUBEREST_BUCKETS). */
#define KUBEREST_NBUCKETS 11
extern const double KUBEREST_BUCKETS[KUBEREST_NBUCKETS];
typedef enum kuberest_verb { KR_GET = 0, KR_LIST, KR_CREATE, KR_UPDATE, KR_DELETE, KR_WATCH, KR__VERBS } kuberest_verb;
const char *kuberest_verb_name(kuberest_verb v); /* "get", "list", ... */
const char *kuberest_verb_method(kuberest_verb v); /* the HTTP method: "GET", "POST", "PUT", "DELETE" */
/* client-go's rest client metrics: requests by HTTP status code (0 = no answer, shown as "<error>") and
 * method, and latency by method (PROM_REST_BUCKETS; watches, which last minutes by design, are counted
 * but not timed). */
#define KUBEREST_MAX_CODES 48
typedef struct kuberest_code_count {
    int code;             /* HTTP status; 0: the request got no answer */
    uint8_t verb;         /* kuberest_verb */
    uint64_t n;
} kuberest_code_count;
typedef struct kuberest_stats {
    uint64_t requests[KR__VERBS];
    uint64_t errors[KR__VERBS]; /* failed requests; a 404 on get or delete is an answer, not an error */
    uint64_t bucket[KR__VERBS][KUBEREST_NBUCKETS]; /* cumulative: requests that took <= bound */
    double sum_s[KR__VERBS];
    uint64_t throttled;     /* requests that waited for the token bucket */
    unsigned watches;       /* watch threads alive */
    char host[128];         /* the server's host:port (the host label) */
    kuberest_code_count codes[KUBEREST_MAX_CODES];
    unsigned ncodes;
    prom_hist method_latency[KR__VERBS]; /* by the verb's method: GET is get+list, see kuberest_metrics_write */
} kuberest_stats;
/* kuberest_stats_get: a consistent copy (thread-safe). */
void kuberest_stats_get(kuberest *k, kuberest_stats *out);
/* kuberest_stats_add: add FROM's counts to INTO (two clients of one server: the controller's and the
 * Event writer's). */
void kuberest_stats_add(kuberest_stats *into, const kuberest_stats *from);
/* kuberest_metrics_write: rest_client_requests_total{code,method,host} and
 * rest_client_request_duration_seconds{verb,host} of S, with client-go's names, labels and buckets, and the
 * domain's the0_kube_api_* families by verb. */
void kuberest_metrics_write(const kuberest_stats *s, prom *out);

/* ---- pieces exposed for tests ----------------------------------------------------------------- */
/* kuberest_map_error: turn an HTTP answer into a status and message. HTTP is the status code, BODY
 * the response (a Status object when the server sent one; may be NULL), RETRY_AFTER the Retry-After
 * header value (may be NULL), WHAT the context ("create Pod the0/bot-1"). 2xx -> T0_OK. */
t0_status kuberest_map_error(long http, const char *body, const char *retry_after, const char *what, t0_err *err);
/* kuberest_path: the REST path of kind K in namespace NS, with "/NAME" when NAME is non-NULL. */
t0_status kuberest_path(kube_kind k, const char *ns, const char *name, char *buf, size_t cap);

#endif
