/* podgen.h: generation of the realtime bot Pod (reference 7.5) and the schedule CronJob (reference 6.4,
 * 7.6) as cJSON objects ready to POST, with our hardening, hash annotations and extra validation. */
#ifndef CONTROLLERS_PODGEN_H
#define CONTROLLERS_PODGEN_H

#include <stdbool.h>

#include <cJSON.h>

#include "domain/botdoc.h"
#include "core/t0.h"

/* Generator settings. Strings are borrowed: they must outlive every call that uses the settings. */
typedef struct podgen_settings {
    const char *namespace;                /* "the0" */
    const char *bot_controller_name;      /* managed-by of Pods: "the0-bot-controller" */
    const char *schedule_controller_name; /* managed-by of CronJobs: "the0-schedule-controller" */
    const char *minio_endpoint;           /* host:port, no scheme: "minio:9000" */
    const char *minio_access_key;         /* used only with plain_credentials */
    const char *minio_secret_key;         /* used only with plain_credentials */
    const char *minio_secret_name;        /* Secret holding the credentials: "the0-minio" */
    const char *minio_secret_access_key;  /* its key for the access key: "access-key" */
    const char *minio_secret_secret_key;  /* its key for the secret key: "secret-key" */
    bool plain_credentials;               /* put the keys into env values, as the reference does */
    const char *minio_bucket;             /* only validated (never reaches pods): "the0-custom-bots" */
    const char *minio_state_bucket;       /* only validated: "bot-state" */
    bool minio_use_ssl;                   /* MINIO_USE_SSL "true"/"false" */
    const char *runtime_image;            /* init and sync image: "runtime:latest" */
    const char *pull_policy;              /* for all three containers: "IfNotPresent" */
    long starting_deadline_seconds;       /* CronJob spec.startingDeadlineSeconds: 300 */
    long active_deadline_seconds;         /* scheduled Job activeDeadlineSeconds: 3600 */
    long termination_grace_period_seconds; /* 90: room for the sidecar's final sync */
} podgen_settings;

/* podgen_settings_defaults: the defaults above. */
void podgen_settings_defaults(podgen_settings *s);
/* podgen_cli_opts: the command-line options of the settings a user chooses, one spelling each, shared by
 * `the0-runtime controller` and `the0-runtime render` (reference 4.1 names and environment variables where
 * it has them), writing into S. Fills at most CAP entries of OUT and returns how many (PODGEN_CLI_NOPTS). The
 * MinIO keys themselves are environment-only (MINIO_ACCESS_KEY, MINIO_SECRET_KEY), never flags. */
#define PODGEN_CLI_NOPTS 12
struct cli_opt;
size_t podgen_cli_opts(podgen_settings *s, struct cli_opt *out, size_t cap);
/* podgen_cli_credentials: S's MinIO keys from the environment. Returns a warning for the user ("" when
 * none): the keys are set but unused without --plain-credentials, or one is missing with it. */
const char *podgen_cli_credentials(podgen_settings *s);

/* podgen_settings_equal: whether A and B generate the same objects (every field equal; strings by value,
 * NULL equal only to NULL). */
bool podgen_settings_equal(const podgen_settings *a, const podgen_settings *b);

/* podgen_pod: the realtime Pod for bot D, exactly reference 7.5 (names, labels, annotation config-hash,
 * args, env order, volumes, resources with their silent fallback for unparsable quantities) plus:
 * pod securityContext (runAsNonRoot, uid/gid/fsGroup 1000, seccomp RuntimeDefault), per-container
 * securityContext (no privilege escalation, drop ALL, read-only root except the bot container),
 * automountServiceAccountToken false, terminationGracePeriodSeconds, MinIO credentials from a Secret
 * (unless plain_credentials) and the the0.dev/spec-hash annotation. On T0_OK *out is owned by the caller.
 * Errors (T0_EINVAL, message "bot <id>: ..."), in this order: the reference's 7.3 checks with its messages
 * (failed to marshal bot config, invalid file path, invalid bucket name, invalid bot ID, invalid state
 * bucket name, failed to get Docker image: unsupported runtime, which includes an empty runtime), then
 * ours: the id not a valid label value, the pod name not a DNS-1123 subdomain, a negative resource
 * quantity or a request above its limit, custom.version not a valid label value. T0_ENOMEM on allocation failure. */
t0_status podgen_pod(const podgen_settings *s, const botdoc *d, cJSON **out, t0_err *err);

/* podgen_cronjob: the CronJob for schedule D, exactly reference 6.4 with the 7.6 pod template plus
 * startingDeadlineSeconds, jobTemplate.spec.activeDeadlineSeconds, the same hardening and the
 * the0.dev/spec-hash annotation next to the0.dev/schedule-hash. Errors (T0_EINVAL, "schedule <id>: ..."):
 * `schedule <id> has no cron expression` when config.schedule is not a non-empty string; an invalid cron
 * expression (see cronexpr_parse); `failed to create CronJob spec: failed to generate pod spec: ...` for
 * the pod checks above; CronJob name or label values (schedule-id, raw custom-bot-id) invalid. */
t0_status podgen_cronjob(const podgen_settings *s, const botdoc *d, cJSON **out, t0_err *err);

/* podgen_annotation: OBJ's metadata.annotations[KEY] when it is a string, else NULL (borrowed). */
const char *podgen_annotation(const cJSON *obj, const char *key);

/* podgen_needs_replace: whether an existing Pod with annotations ANN (its metadata.annotations object,
 * may be NULL) must be replaced by one with WANT_CONFIG_HASH / WANT_SPEC_HASH: the config-hash
 * annotation differs or is missing -> true; the spec-hash annotation is present and differs -> true;
 * the spec-hash annotation is missing (a pod made by the Go controller) -> adopt it: false. */
bool podgen_needs_replace(const cJSON *ann, const char *want_config_hash, const char *want_spec_hash);

/* podgen_cronjob_needs_update: the same rule for CronJobs, with the schedule-hash annotation. */
bool podgen_cronjob_needs_update(const cJSON *ann, const char *want_schedule_hash, const char *want_spec_hash);

#endif
