/* docver.c: document versions: text form, order (see docver.h). */
#include "domain/docver.h"

#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/ports.h"

/* digits: exactly N decimal digits at *P (advanced) */
static bool digits(const char **p, int n, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9') return false;
        unsigned d = (unsigned)(c - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    *p += n;
    *out = v;
    return true;
}

bool docver_parse(const char *s, docver *out)
{
    docver v = {0};
    *out = v;
    if (!s || !digits(&s, 16, &v.epoch) || *s++ != ':' || !digits(&s, 20, &v.seq) || v.epoch == 0) return false;
    if (*s == ':') {
        if (strcmp(s + 1, "direct") != 0) return false;
        v.direct = true;
    } else if (*s) {
        return false;
    }
    *out = v;
    return true;
}

void docver_format(const docver *v, char out[DOCVER_TEXT_MAX])
{
    snprintf(out, DOCVER_TEXT_MAX, "%016llu:%020llu%s", (unsigned long long)v->epoch, (unsigned long long)v->seq,
             v->direct ? ":direct" : "");
}

int docver_cmp(const docver *a, const docver *b)
{
    if (a->epoch != b->epoch) return a->epoch < b->epoch ? -1 : 1;
    if (!a->epoch) return 0;
    if (a->seq != b->seq) return a->seq < b->seq ? -1 : 1;
    return (int)a->direct - (int)b->direct;
}

docver docver_of(const cJSON *doc)
{
    docver v;
    const cJSON *f = doc ? t0_json_get(doc, STORE_VERSION_FIELD) : NULL;
    docver_parse(cJSON_IsString(f) ? f->valuestring : NULL, &v);
    return v;
}

bool docver_older(const cJSON *doc, const docver *v)
{
    docver d = docver_of(doc);
    return docver_cmp(&d, v) < 0;
}
