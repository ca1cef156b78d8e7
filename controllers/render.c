/* render.c: the `render` subcommand (see render.h). */
#include "controllers/render.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/botdoc.h"
#include "controllers/podgen.h"

static void render_usage(FILE *f)
{
    fprintf(f,
            "usage: the0-runtime render pod|cronjob FILE.json [options]\n"
            "\n"
            "Print the Pod (realtime bot) or CronJob (scheduled bot) the controller would create for the bot or\n"
            "schedule document in FILE.json (the MongoDB document as JSON). Nothing is sent anywhere.\n"
            "\n"
            "options:\n"
            "  --namespace N                      namespace (default the0)\n"
            "  --minio-endpoint E                 MinIO host:port (default minio:9000)\n"
            "  --minio-bucket B                   code bucket, only validated (default the0-custom-bots)\n"
            "  --minio-state-bucket B             state bucket, only validated (default bot-state)\n"
            "  --minio-use-ssl                    MINIO_USE_SSL=true\n"
            "  --minio-secret-name S              Secret with keys access-key/secret-key (default the0-minio)\n"
            "  --plain-credentials                put the keys into env values instead of a secretKeyRef\n"
            "  --minio-access-key K               access key for --plain-credentials\n"
            "  --minio-secret-key K               secret key for --plain-credentials\n"
            "  --runtime-image I                  init and sync image (default runtime:latest)\n"
            "  --runtime-image-pull-policy P      pull policy of all containers (default IfNotPresent)\n"
            "  --termination-grace-period-seconds N   (default 90)\n"
            "  --starting-deadline-seconds N      CronJob startingDeadlineSeconds (default 300)\n"
            "  --active-deadline-seconds N        scheduled Job activeDeadlineSeconds (default 3600)\n"
            "  -h, --help                         this text\n");
}

static char *read_file(const char *path, size_t *len, char *why, size_t whylen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, whylen, "%s", strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
        if (n == cap) {
            if (cap > ((size_t)64 << 20)) {
                snprintf(why, whylen, "file larger than 64 MiB");
                free(buf);
                buf = NULL;
                break;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (buf && ferror(f)) {
        snprintf(why, whylen, "%s", strerror(errno));
        free(buf);
        buf = NULL;
    } else if (!buf && !*why) {
        snprintf(why, whylen, "out of memory");
    }
    fclose(f);
    *len = n;
    return buf;
}

static int parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0) return -1;
    *out = v;
    return 0;
}

int render_main(int argc, char **argv)
{
    podgen_settings s;
    podgen_settings_defaults(&s);
    const char *kind = NULL, *file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        const char **sval = NULL;
        long *lval = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            render_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--plain-credentials")) {
            s.plain_credentials = true;
            continue;
        } else if (!strcmp(a, "--minio-use-ssl")) {
            s.minio_use_ssl = true;
            continue;
        } else if (!strcmp(a, "--namespace")) sval = &s.namespace;
        else if (!strcmp(a, "--minio-endpoint")) sval = &s.minio_endpoint;
        else if (!strcmp(a, "--minio-bucket")) sval = &s.minio_bucket;
        else if (!strcmp(a, "--minio-state-bucket")) sval = &s.minio_state_bucket;
        else if (!strcmp(a, "--minio-secret-name")) sval = &s.minio_secret_name;
        else if (!strcmp(a, "--minio-access-key")) sval = &s.minio_access_key;
        else if (!strcmp(a, "--minio-secret-key")) sval = &s.minio_secret_key;
        else if (!strcmp(a, "--runtime-image")) sval = &s.runtime_image;
        else if (!strcmp(a, "--runtime-image-pull-policy")) sval = &s.pull_policy;
        else if (!strcmp(a, "--termination-grace-period-seconds")) lval = &s.termination_grace_period_seconds;
        else if (!strcmp(a, "--starting-deadline-seconds")) lval = &s.starting_deadline_seconds;
        else if (!strcmp(a, "--active-deadline-seconds")) lval = &s.active_deadline_seconds;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "render: unknown option '%s'\n", a);
            render_usage(stderr);
            return 2;
        } else if (!kind) {
            kind = a;
            continue;
        } else if (!file) {
            file = a;
            continue;
        } else {
            fprintf(stderr, "render: unexpected argument '%s'\n", a);
            render_usage(stderr);
            return 2;
        }
        if (!next) {
            fprintf(stderr, "render: option %s needs a value\n", a);
            return 2;
        }
        if (sval) *sval = next;
        if (lval && parse_long(next, lval)) {
            fprintf(stderr, "render: option %s: not a non-negative integer: '%s'\n", a, next);
            return 2;
        }
        i++;
    }
    if (!kind || !file || (strcmp(kind, "pod") && strcmp(kind, "cronjob"))) {
        fprintf(stderr, "render: expected 'pod' or 'cronjob' and a file\n");
        render_usage(stderr);
        return 2;
    }

    char why[256] = "";
    size_t len = 0;
    char *text = read_file(file, &len, why, sizeof why);
    if (!text) {
        fprintf(stderr, "render: %s: %s\n", file, why);
        return 1;
    }
    t0_err err = {0};
    botdoc *d = NULL;
    cJSON *obj = NULL;
    t0_status st = botdoc_parse_text(text, len, &d, &err);
    free(text);
    if (!st) st = !strcmp(kind, "pod") ? podgen_pod(&s, d, &obj, &err) : podgen_cronjob(&s, d, &obj, &err);
    botdoc_destroy(d);
    if (st) {
        fprintf(stderr, "render: %s: %s\n", file, err.msg);
        return 1;
    }
    char *out = cJSON_Print(obj);
    cJSON_Delete(obj);
    if (!out) {
        fprintf(stderr, "render: %s: out of memory\n", file);
        return 1;
    }
    int rc = (puts(out) == EOF || fflush(stdout)) ? 1 : 0;
    if (rc) fprintf(stderr, "render: writing stdout: %s\n", strerror(errno));
    free(out);
    return rc;
}
