/* init.c: `the0-runtime daemon init`, the init container: code zip into /bot, entrypoint.sh, state into /state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/s3.h"
#include "core/log.h"
#include "daemon/daemon.h"

#include "core/cli.h"

#define COMP "daemon-init"
#define MIB (1024ull * 1024ull)

/* Download BUCKET/KEY into the open file F, retrying failures other than "not found" with backoff.
 * Returns the last status; T0_ENOTFOUND at once when the object or bucket is missing. */
static t0_status fetch_retrying(const objstore *os, const char *bucket, const char *key, FILE *f, const dinit_opts *o,
                                const char *what, t0_err *err)
{
    int attempts = o->attempts > 0 ? o->attempts : 6;
    long delay = o->retry_base_ms > 0 ? o->retry_base_ms : 500;
    t0_status st = T0_OK;
    for (int i = 1; i <= attempts; i++) {
        if (fflush(f) != 0 || ftruncate(fileno(f), 0) != 0 || fseeko(f, 0, SEEK_SET) != 0)
            return t0_fail(err, T0_EIO, "%s: cannot reset the temporary file: %s", what, strerror(errno));
        objstore_sink sink = {.file = f};
        st = os->get(os->ctx, bucket, key, &sink, NULL, err);
        if (st == T0_OK || st == T0_ENOTFOUND) return st;
        if (i < attempts) {
            T0_WARN(COMP, "%s: attempt %d/%d failed (%s), retrying in %ld ms", what, i, attempts, err ? err->msg : "",
                    delay);
            dd_sleep_ms(delay);
            delay = delay * 2 > 8000 ? 8000 : delay * 2;
        }
    }
    if (err) t0_err_prefix(err, "gave up after %d attempts", attempts);
    return st;
}

static FILE *temp_in(const char *dir, char *path, size_t cap, t0_err *err)
{
    snprintf(path, cap, "%s/.the0-download-XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        t0_fail(err, T0_EIO, "create a temporary file in %s: %s", dir, strerror(errno));
        return NULL;
    }
    FILE *f = fdopen(fd, "w+");
    if (!f) {
        close(fd);
        unlink(path);
        t0_fail(err, T0_EIO, "create a temporary file in %s: %s", dir, strerror(errno));
    }
    return f;
}

static t0_status init_code(const objstore *os, const dinit_opts *o, t0_err *err)
{
    t0_status st = dd_mkdirs(o->code_path, 0755, err);
    if (st != T0_OK) return st;
    char tmp[4200];
    FILE *f = temp_in(o->code_path, tmp, sizeof tmp, err);
    if (!f) return T0_EIO;
    st = fetch_retrying(os, o->code_bucket, o->code_file, f, o, "download code", err);
    if (st != T0_OK) {
        if (err) t0_err_prefix(err, "failed to download code: failed to read from MinIO");
    } else if (fflush(f) != 0) {
        st = t0_fail(err, T0_EIO, "failed to download code: write %s: %s", tmp, strerror(errno));
    } else {
        dar_stats ds;
        st = dar_extract(tmp, DAR_ZIP, o->code_path, &o->code_limits, &ds, err);
        if (st != T0_OK) {
            if (err) t0_err_prefix(err, "failed to extract code %s/%s", o->code_bucket, o->code_file);
        } else {
            T0_INFO(COMP, "code %s/%s extracted into %s: %llu files, %llu dirs, %llu links, %llu bytes", o->code_bucket,
                    o->code_file, o->code_path, (unsigned long long)ds.files, (unsigned long long)ds.dirs,
                    (unsigned long long)ds.links, (unsigned long long)ds.bytes);
        }
    }
    fclose(f);
    unlink(tmp); /* also on failure */
    return st;
}

static t0_status init_entrypoint(const dinit_opts *o, t0_err *err)
{
    char *script = NULL;
    t0_status st = dinit_entrypoint_script(o->runtime, o->entrypoint, &o->paths, &script, err);
    if (st != T0_OK) {
        if (err) t0_err_prefix(err, "failed to generate entrypoint");
        return st;
    }
    char path[4200];
    if ((st = dd_mkdirs(o->code_path, 0755, err)) != T0_OK) {
        free(script);
        return st;
    }
    snprintf(path, sizeof path, "%s/entrypoint.sh", o->code_path);
    unlink(path); /* a file (or link) of that name from the zip is replaced, never followed */
    st = dd_write_atomic(path, script, strlen(script), 0755, err);
    free(script);
    if (st == T0_OK && chmod(path, 0755) != 0) st = t0_fail(err, T0_EIO, "chmod %s: %s", path, strerror(errno));
    if (st != T0_OK && err) t0_err_prefix(err, "failed to write entrypoint");
    return st;
}

static t0_status init_state(const objstore *os, const dinit_opts *o, t0_err *err)
{
    t0_status st = dd_mkdirs(o->state_path, 0755, err);
    if (st != T0_OK) {
        if (err) t0_err_prefix(err, "failed to create state directory");
        return st;
    }
    char key[512], tmp[4200];
    snprintf(key, sizeof key, "%s/state.tar.gz", o->bot_id);
    /* The download lands next to /state, not inside it, so nothing half-downloaded is ever in /state. */
    char parent[4200];
    snprintf(parent, sizeof parent, "%s", o->state_path);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) *slash = '\0';
    else if (slash) parent[1] = '\0';
    FILE *f = temp_in(access(parent, W_OK) == 0 ? parent : o->state_path, tmp, sizeof tmp, err);
    if (!f) return T0_EIO;
    st = fetch_retrying(os, o->state_bucket, key, f, o, "download state", err);
    if (st == T0_ENOTFOUND) {
        T0_INFO(COMP, "No existing state (first run): %s", err ? err->msg : "");
        st = T0_OK;
    } else if (st != T0_OK) {
        if (err) t0_err_prefix(err, "failed to restore state (saved state may exist; refusing to start on empty state)");
    } else if (fflush(f) != 0) {
        st = t0_fail(err, T0_EIO, "failed to restore state: write %s: %s", tmp, strerror(errno));
    } else {
        dar_stats ds;
        st = dar_extract(tmp, DAR_TARGZ, o->state_path, &o->state_limits, &ds, err);
        if (st != T0_OK) {
            if (err) t0_err_prefix(err, "failed to restore state from %s/%s", o->state_bucket, key);
        } else {
            T0_INFO(COMP, "state %s/%s restored into %s: %llu files, %llu bytes", o->state_bucket, key, o->state_path,
                    (unsigned long long)ds.files, (unsigned long long)ds.bytes);
        }
    }
    fclose(f);
    unlink(tmp);
    return st;
}

t0_status dinit_run(const objstore *os, const dinit_opts *o, t0_err *err)
{
    t0_status st;
    if (o->code_file && *o->code_file && (st = init_code(os, o, err)) != T0_OK) return st;
    if (o->runtime && *o->runtime && o->entrypoint && *o->entrypoint && (st = init_entrypoint(o, err)) != T0_OK)
        return st;
    return init_state(os, o, err);
}

/* ---- CLI ----------------------------------------------------------------------------------------------- */

static uint64_t env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    if (!v || !*v) return dflt;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    return (*end || n == 0) ? dflt : n;
}

static const char INIT_ABOUT[] =
    "Downloads custom-bots/<code-file> into the code path (zip; traversal, absolute paths, escaping symlinks and\n"
    "bombs are refused), writes entrypoint.sh, and restores bot-state/<id>/state.tar.gz into the state path.";
static const char INIT_FOOTER[] =
    "environment: MINIO_ENDPOINT, MINIO_ACCESS_KEY, MINIO_SECRET_KEY (required), MINIO_USE_SSL, MINIO_CODE_BUCKET,\n"
    "MINIO_STATE_BUCKET, MAX_STATE_SIZE_MB, MAX_STATE_FILE_SIZE_MB, MAX_CODE_SIZE_MB, MAX_CODE_FILE_SIZE_MB,\n"
    "MAX_ARCHIVE_ENTRIES, THE0_INIT_ATTEMPTS, THE0_RETRY_BASE_MS, THE0_BOT_DIR, THE0_VAR_DIR.\n"
    "exit codes: 0 success, 1 any error (usage errors too, as the reference)";

int dinit_main(int argc, char **argv)
{
    dinit_opts o = {.bot_id = "", .code_path = "", .state_path = "", .code_file = "", .runtime = "", .entrypoint = ""};
    const cli_opt opts[] = {
        {"bot-id", 0, CLI_STR, &o.bot_id, "the bot's id (required)"},
        {"code-path", 0, CLI_STR, &o.code_path, "where the code goes (default /bot)", .arg = "DIR"},
        {"state-path", 0, CLI_STR, &o.state_path, "where the state goes (default /state)", .arg = "DIR"},
        {"code-file", 0, CLI_STR, &o.code_file, "object key of the code zip in the code bucket (empty: no code step)",
         .arg = "KEY"},
        {"runtime", 0, CLI_STR, &o.runtime, "runtime of entrypoint.sh (python3.11, nodejs20, ...)"},
        {"entrypoint", 0, CLI_STR, &o.entrypoint, "the bot's entry file", .arg = "FILE"},
    };
    const cli_cmd cmd = {"the0-runtime daemon init", "--bot-id ID [flags]", INIT_ABOUT, opts, T0_ARRAY_LEN(opts), 0, 0,
                         INIT_FOOTER, 1};
    int first, pr = cli_parse(&cmd, argc, argv, &first);
    if (pr != CLI_CONTINUE) return pr;
    if (!*o.bot_id) {
        fprintf(stderr, "Error: required flag(s) \"bot-id\" not set\n");
        return 1;
    }
    if (!*o.code_path) o.code_path = "/bot";
    if (!*o.state_path) o.state_path = "/state";

    t0_err err = {0};
    s3_config cfg;
    s3_client *c = NULL;
    if (!dd_open_s3(&cfg, &c)) return 1;
    o.code_bucket = cfg.code_bucket;
    o.state_bucket = cfg.state_bucket;
    o.state_limits = (dar_limits){.max_total = cfg.max_state_size, .max_file = cfg.max_state_file_size,
                                  .max_entries = env_u64("MAX_ARCHIVE_ENTRIES", 100000)};
    o.code_limits = (dar_limits){.max_total = env_u64("MAX_CODE_SIZE_MB", 1024) * MIB,
                                 .max_file = env_u64("MAX_CODE_FILE_SIZE_MB", 512) * MIB,
                                 .max_entries = env_u64("MAX_ARCHIVE_ENTRIES", 100000)};
    o.paths.bot_dir = getenv("THE0_BOT_DIR") && *getenv("THE0_BOT_DIR") ? getenv("THE0_BOT_DIR") : "/bot";
    o.paths.var_dir = getenv("THE0_VAR_DIR") && *getenv("THE0_VAR_DIR") ? getenv("THE0_VAR_DIR") : "/var/the0";
    o.attempts = (int)env_u64("THE0_INIT_ATTEMPTS", 6);
    o.retry_base_ms = (long)env_u64("THE0_RETRY_BASE_MS", 500);
    objstore os = s3_objstore(c);
    T0_INFO(COMP, "init bot %s: code %s/%s into %s, state %s/%s/state.tar.gz into %s", o.bot_id, o.code_bucket,
            *o.code_file ? o.code_file : "(none)", o.code_path, o.state_bucket, o.bot_id, o.state_path);
    t0_status st = dinit_run(&os, &o, &err);
    s3_client_free(c);
    s3_config_free(&cfg);
    if (st != T0_OK) {
        fprintf(stderr, "Error: %s\n", err.msg);
        return 1;
    }
    T0_INFO(COMP, "init bot %s: done", o.bot_id);
    return 0;
}
