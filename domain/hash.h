/* hash.h: the config hash (byte-compatible with the Go controller, reference 5.5) and our spec hash. */
#ifndef CONTROLLERS_HASH_H
#define CONTROLLERS_HASH_H

#include <cJSON.h>

#include "domain/botdoc.h"
#include "core/t0.h"

#define HASH_HEX_LEN 16
/* Annotation keys on Pods (config hash) and CronJobs (schedule hash), and our spec hash on both. */
#define HASH_ANN_CONFIG "the0.dev/config-hash"
#define HASH_ANN_SCHEDULE "the0.dev/schedule-hash"
#define HASH_ANN_SPEC "the0.dev/spec-hash"

/* hash_config_input: the exact JSON text the reference hashes:
 * {"Config":<config as Go JSON, or null>,"CustomBotVersion":"<version>","Enabled":true|false|null}.
 * On T0_OK *out is owned by the caller (free()). T0_EINVAL when the config holds NaN/Inf. */
t0_status hash_config_input(const cJSON *config, const char *version, botdoc_tri enabled, char **out, t0_err *err);

/* hash_config: first 16 lowercase hex characters of SHA-256(hash_config_input(...)) into OUT. */
t0_status hash_config(const cJSON *config, const char *version, botdoc_tri enabled, char out[HASH_HEX_LEN + 1],
                      t0_err *err);

/* hash_config_doc: the reference's computeConfigHash for a bot or schedule document (its config,
 * custom.version and top-level enabled). Never fails: when the config cannot be encoded the result is
 * "err-" followed by the first min(8, len) characters of the id, as the reference does. OUT needs
 * HASH_HEX_LEN+1 bytes. */
void hash_config_doc(const botdoc *d, char out[HASH_HEX_LEN + 1]);

/* hash_spec: our spec hash of a generated Pod or CronJob OBJ: the first 16 hex characters of SHA-256
 * over the object's Go-style JSON with metadata.annotations left out. So every byte that shapes the object
 * (code path, runtime, entrypoint, images, pull policy, resources, MinIO endpoint/SSL/secret, controller
 * settings, hardening) takes part; the config also does, through BOT_CONFIG. */
t0_status hash_spec(const cJSON *obj, char out[HASH_HEX_LEN + 1], t0_err *err);

/* hash_digest: the SHA-256 or MD5 digest of DATA[0..LEN) into OUT (HASH_DIGEST_MAX bytes); its length, or
 * 0 when OpenSSL fails. Each algorithm is fetched from the provider once per process: with EVP_sha256()
 * OpenSSL 3 fetches it again at every digest, which costs about as much as hashing a generated pod. */
typedef enum hash_alg { HASH_SHA256 = 0, HASH_MD5 } hash_alg;
#define HASH_DIGEST_MAX 64
unsigned hash_digest(hash_alg alg, const void *data, size_t len, unsigned char out[HASH_DIGEST_MAX]);

/* hash_hex16: first 16 lowercase hex characters of SHA-256(DATA[0..LEN)). */
t0_status hash_hex16(const void *data, size_t len, char out[HASH_HEX_LEN + 1], t0_err *err);

#endif
