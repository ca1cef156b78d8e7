/* fuzz_kubeconfig.c: libFuzzer target for kubeconfig parsing (kuberest_config_kubeconfig_text, libyaml) with and without a chosen context. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/kube_rest.h"
#include "core/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    t0_log_set_level(T0_LOG_OFF);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const contexts[] = {NULL, "dev"};
    for (size_t i = 0; i < 2; i++) {
        kuberest_config c;
        t0_err err = {0};
        t0_status st = kuberest_config_kubeconfig_text((const char *)data, size, "/base", contexts[i], &c, &err);
        if (st == T0_OK) {
            if (!c.server || !c.server[0]) abort();
            /* relative file names were resolved against the base directory */
            const char *files[] = {c.ca_file, c.token_file, c.cert_file, c.key_file};
            for (size_t k = 0; k < 4; k++)
                if (files[k] && files[k][0] != '/') abort();
        } else {
            if (st != T0_EINVAL || !err.msg[0]) abort();
            /* nothing is left allocated on failure (kubeconfig_text frees and clears the struct) */
            if (c.server || c.token || c.ca_pem || c.namespace) abort();
        }
        kuberest_config_free(&c);
    }
    return 0;
}
