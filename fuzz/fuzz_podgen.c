/* fuzz_podgen.c: libFuzzer target: botdoc_parse_text -> podgen_pod / podgen_cronjob; what is generated must be valid for the API server. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain/botdoc.h"
#include "domain/cronexpr.h"
#include "domain/gojson.h"
#include "domain/names.h"
#include "controllers/podgen.h"
#include "core/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    t0_log_set_level(T0_LOG_OFF);
    return 0;
}

static const cJSON *at(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

/* Every label value valid, the name a DNS-1123 subdomain of at most MAX bytes. */
static void check_meta(const cJSON *md, size_t max)
{
    const cJSON *name = at(md, "name");
    if (name && (!cJSON_IsString(name) || !names_check_subdomain(name->valuestring, max, NULL))) abort();
    const cJSON *labels = at(md, "labels");
    for (const cJSON *l = labels ? labels->child : NULL; l; l = l->next)
        if (!cJSON_IsString(l) || !names_check_label_value(l->valuestring, NULL)) abort();
}

/* The object encodes (it is what gets POSTed), and the annotations carry both hashes. */
static void check_object(const cJSON *o, const char *hash_key)
{
    char *text = NULL;
    if (gojson_encode(o, &text, NULL, NULL) != T0_OK) abort();
    free(text);
    if (!podgen_annotation(o, hash_key) || !podgen_annotation(o, "the0.dev/spec-hash")) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    botdoc *d = NULL;
    if (botdoc_parse_text((const char *)data, size, &d, NULL) != T0_OK) return 0;
    podgen_settings s;
    podgen_settings_defaults(&s);
    for (int plain = 0; plain < 2; plain++) {
        s.plain_credentials = plain;
        cJSON *pod = NULL;
        t0_err err = {0};
        t0_status st = podgen_pod(&s, d, &pod, &err);
        if (st == T0_OK) {
            check_meta(at(pod, "metadata"), NAMES_SUBDOMAIN_MAX);
            check_object(pod, "the0.dev/config-hash");
            if (podgen_needs_replace(at(at(pod, "metadata"), "annotations"), podgen_annotation(pod, "the0.dev/config-hash"),
                                     podgen_annotation(pod, "the0.dev/spec-hash")))
                abort();
            cJSON_Delete(pod);
        } else if (st != T0_EINVAL || !err.msg[0] || pod) {
            abort();
        }
        cJSON *cj = NULL;
        t0_err err2 = {0};
        st = podgen_cronjob(&s, d, &cj, &err2);
        if (st == T0_OK) {
            check_meta(at(cj, "metadata"), NAMES_CRONJOB_MAX);
            const cJSON *tmpl = at(at(at(at(cj, "spec"), "jobTemplate"), "spec"), "template");
            check_meta(at(tmpl, "metadata"), NAMES_SUBDOMAIN_MAX);
            check_object(cj, "the0.dev/schedule-hash");
            /* the schedule written into the CronJob parses */
            const cJSON *sched = at(at(cj, "spec"), "schedule");
            cronexpr ce;
            if (!cJSON_IsString(sched) || cronexpr_parse(sched->valuestring, &ce, NULL) != T0_OK) abort();
            cJSON_Delete(cj);
        } else if ((st != T0_EINVAL && st != T0_ELIMIT) || !err2.msg[0] || cj) {
            abort();
        }
    }
    botdoc_destroy(d);
    return 0;
}
