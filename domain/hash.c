/* hash.c: config hash (reference 5.5) and spec hash of generated objects (see hash.h). */
#include "domain/hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include <openssl/evp.h>

#include "core/str.h"
#include "domain/gojson.h"

_Static_assert(HASH_DIGEST_MAX >= EVP_MAX_MD_SIZE, "HASH_DIGEST_MAX holds any EVP digest");

static EVP_MD *fetched[2];
static void fetch_all(void)
{
    fetched[HASH_SHA256] = EVP_MD_fetch(NULL, "SHA256", NULL);
    fetched[HASH_MD5] = EVP_MD_fetch(NULL, "MD5", NULL);
}

unsigned hash_digest(hash_alg alg, const void *data, size_t len, unsigned char out[HASH_DIGEST_MAX])
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fetch_all);
    const EVP_MD *md = fetched[alg == HASH_MD5];
    if (!md) md = alg == HASH_MD5 ? EVP_md5() : EVP_sha256();
    unsigned int n = 0;
    return EVP_Digest(data, len, out, &n, md, NULL) ? n : 0;
}

t0_status hash_hex16(const void *data, size_t len, char out[HASH_HEX_LEN + 1], t0_err *err)
{
    unsigned char md[HASH_DIGEST_MAX];
    if (hash_digest(HASH_SHA256, data, len, md) < HASH_HEX_LEN / 2)
        return t0_fail(err, T0_EINTERNAL, "sha256: EVP_Digest failed");
    t0_hex(md, HASH_HEX_LEN / 2, out);
    return T0_OK;
}

t0_status hash_config_input(const cJSON *config, const char *version, botdoc_tri enabled, char **out, t0_err *err)
{
    /* The three keys are already in byte order, so the sorting encoder keeps the reference's order. */
    cJSON *o = cJSON_CreateObject();
    if (!o) return t0_fail(err, T0_ENOMEM, "config hash: out of memory");
    int ok = config ? cJSON_AddItemReferenceToObject(o, "Config", (cJSON *)config) : cJSON_AddNullToObject(o, "Config") != NULL;
    ok = ok && cJSON_AddStringToObject(o, "CustomBotVersion", version ? version : "") != NULL;
    if (enabled == BOTDOC_ABSENT)
        ok = ok && cJSON_AddNullToObject(o, "Enabled") != NULL;
    else
        ok = ok && cJSON_AddBoolToObject(o, "Enabled", enabled == BOTDOC_TRUE) != NULL;
    t0_status st = ok ? gojson_encode(o, out, NULL, err) : t0_fail(err, T0_ENOMEM, "config hash: out of memory");
    cJSON_Delete(o); /* deletes the reference item only, not CONFIG */
    return st;
}

t0_status hash_config(const cJSON *config, const char *version, botdoc_tri enabled, char out[HASH_HEX_LEN + 1],
                      t0_err *err)
{
    char *in = NULL;
    t0_status st = hash_config_input(config, version, enabled, &in, err);
    if (st) return st;
    st = hash_hex16(in, strlen(in), out, err);
    free(in);
    return st;
}

void hash_config_doc(const botdoc *d, char out[HASH_HEX_LEN + 1])
{
    if (hash_config(d->config, d->version, d->enabled, out, NULL) == T0_OK) return;
    snprintf(out, HASH_HEX_LEN + 1, "err-%.8s", d->id);
}

t0_status hash_spec(const cJSON *obj, char out[HASH_HEX_LEN + 1], t0_err *err)
{
    /* the object without metadata.annotations (where the hashes themselves live) */
    const cJSON *ann = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "annotations");
    char *text = NULL;
    size_t len = 0;
    t0_status st = gojson_encode_omit(obj, ann, &text, &len, err);
    if (st) {
        t0_err_prefix(err, "spec hash");
        return st;
    }
    st = hash_hex16(text, len, out, err);
    free(text);
    return st;
}
