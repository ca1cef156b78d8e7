/* test_hash.c: the config hash against every vector of reference 5.5 and 7.5, and the spec hash. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "domain/botdoc.h"
#include "domain/hash.h"

static void check_vector(const char *config_json, const char *version, botdoc_tri en, const char *want_input,
                         const char *want_hash)
{
    cJSON *cfg = config_json ? cJSON_Parse(config_json) : NULL;
    if (config_json) cr_assert_not_null(cfg, "bad test JSON %s", config_json);
    char *in = NULL;
    t0_err err = {0};
    cr_assert_eq(hash_config_input(cfg, version, en, &in, &err), T0_OK, "%s", err.msg);
    cr_assert_str_eq(in, want_input);
    char h[HASH_HEX_LEN + 1];
    cr_assert_eq(hash_config(cfg, version, en, h, &err), T0_OK, "%s", err.msg);
    cr_assert_str_eq(h, want_hash, "input %s", in);
    /* The raw SHA-256 of the expected input gives the same value (the vector is self-consistent). */
    char h2[HASH_HEX_LEN + 1];
    cr_assert_eq(hash_hex16(want_input, strlen(want_input), h2, NULL), T0_OK);
    cr_assert_str_eq(h2, want_hash);
    free(in);
    cJSON_Delete(cfg);
}

Test(hash, reference_vectors)
{
    check_vector("{\"test_key\":\"test_value\"}", "1.0.0", BOTDOC_TRUE,
                 "{\"Config\":{\"test_key\":\"test_value\"},\"CustomBotVersion\":\"1.0.0\",\"Enabled\":true}",
                 "c8e62852ffc5f519");
    check_vector("{\"test_key\":\"test_value\"}", "1.0.0", BOTDOC_ABSENT,
                 "{\"Config\":{\"test_key\":\"test_value\"},\"CustomBotVersion\":\"1.0.0\",\"Enabled\":null}",
                 "cb8f75219c9c4ebc");
    check_vector("{\"symbol\":\"BTC/USD\",\"schedule\":\"0 9 * * *\"}", "1.0.0", BOTDOC_TRUE,
                 "{\"Config\":{\"schedule\":\"0 9 * * *\",\"symbol\":\"BTC/USD\"},\"CustomBotVersion\":\"1.0.0\","
                 "\"Enabled\":true}",
                 "a401d13cc30aaf64");
    check_vector("{\"symbol\":\"BTC/USD\",\"schedule\":\"0 10 * * *\"}", "2.0.0", BOTDOC_TRUE,
                 "{\"Config\":{\"schedule\":\"0 10 * * *\",\"symbol\":\"BTC/USD\"},\"CustomBotVersion\":\"2.0.0\","
                 "\"Enabled\":true}",
                 "7cf00fc6b9f04a72");
    check_vector("{\"threshold\":5.0,\"symbol\":\"BTC/USD\"}", "1.0.0", BOTDOC_ABSENT,
                 "{\"Config\":{\"symbol\":\"BTC/USD\",\"threshold\":5},\"CustomBotVersion\":\"1.0.0\",\"Enabled\":null}",
                 "7817a7cfc4239170");
    check_vector(NULL, "", BOTDOC_ABSENT, "{\"Config\":null,\"CustomBotVersion\":\"\",\"Enabled\":null}",
                 "34500216e9cfc8d3");
    check_vector("{\"a\":\"<b> &\"}", "1.0.0", BOTDOC_ABSENT,
                 "{\"Config\":{\"a\":\"\\u003cb\\u003e \\u0026\"},\"CustomBotVersion\":\"1.0.0\",\"Enabled\":null}",
                 "ad32565ddd89f45d");
}

Test(hash, pod_example_7_5)
{
    const char *doc = "{\"id\":\"ck9x2abc\",\"config\":{\"symbol\":\"BTC/USD\",\"type\":\"realtime/price-alerts\","
                      "\"version\":\"1.0.0\"},\"custom\":{\"version\":\"1.0.0\",\"filePath\":\"u1/price-alerts/1.0.0\","
                      "\"config\":{\"name\":\"price-alerts\",\"runtime\":\"python3.11\",\"entrypoints\":{\"bot\":"
                      "\"main.py\"}}}}";
    botdoc *d = NULL;
    t0_err err = {0};
    cr_assert_eq(botdoc_parse_text(doc, strlen(doc), &d, &err), T0_OK, "%s", err.msg);
    char h[HASH_HEX_LEN + 1];
    hash_config_doc(d, h);
    cr_assert_str_eq(h, "fcf3feb59f919e2d");
    botdoc_destroy(d);
}

Test(hash, err_fallback_on_nan)
{
    const char *doc = "{\"id\":\"abcdefghijkl\",\"config\":{}}";
    botdoc *d = NULL;
    cr_assert_eq(botdoc_parse_text(doc, strlen(doc), &d, NULL), T0_OK);
    cJSON_AddNumberToObject(d->config, "x", 0.0 / 0.0);
    char h[HASH_HEX_LEN + 1];
    hash_config_doc(d, h);
    cr_assert_str_eq(h, "err-abcdefgh");
    free(d->id);
    d->id = strdup("abc");
    hash_config_doc(d, h);
    cr_assert_str_eq(h, "err-abc");
    botdoc_destroy(d);
}

Test(hash, enabled_and_version_change_hash)
{
    cJSON *cfg = cJSON_Parse("{\"a\":1}");
    char h1[17], h2[17], h3[17], h4[17];
    cr_assert_eq(hash_config(cfg, "1", BOTDOC_ABSENT, h1, NULL), T0_OK);
    cr_assert_eq(hash_config(cfg, "1", BOTDOC_TRUE, h2, NULL), T0_OK);
    cr_assert_eq(hash_config(cfg, "1", BOTDOC_FALSE, h3, NULL), T0_OK);
    cr_assert_eq(hash_config(cfg, "2", BOTDOC_ABSENT, h4, NULL), T0_OK);
    cr_assert_str_neq(h1, h2);
    cr_assert_str_neq(h2, h3);
    cr_assert_str_neq(h1, h3);
    cr_assert_str_neq(h1, h4);
    cJSON_Delete(cfg);
}

Test(hash, spec_hash_ignores_annotations_only)
{
    cJSON *a = cJSON_Parse("{\"metadata\":{\"name\":\"x\",\"annotations\":{\"k\":\"1\"}},\"spec\":{\"image\":\"i\"}}");
    cJSON *b = cJSON_Parse("{\"spec\":{\"image\":\"i\"},\"metadata\":{\"annotations\":{\"k\":\"2\"},\"name\":\"x\"}}");
    cJSON *c = cJSON_Parse("{\"metadata\":{\"name\":\"x\"},\"spec\":{\"image\":\"j\"}}");
    char ha[17], hb[17], hc[17];
    cr_assert_eq(hash_spec(a, ha, NULL), T0_OK);
    cr_assert_eq(hash_spec(b, hb, NULL), T0_OK);
    cr_assert_eq(hash_spec(c, hc, NULL), T0_OK);
    cr_assert_str_eq(ha, hb);
    cr_assert_str_neq(ha, hc);
    cr_assert_eq(strlen(ha), 16);
    /* the input is not modified */
    cr_assert_not_null(cJSON_GetObjectItem(cJSON_GetObjectItem(a, "metadata"), "annotations"));
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(c);
}
