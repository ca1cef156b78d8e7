/* test_init.c: entrypoint scripts (run for real with bash/python3/node) and `daemon init` against the in-memory store. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "helpers.h"
#include "memstore.h"

Test(entrypoint, validation_messages)
{
    t0_err e = {0};
    cr_assert_eq(dinit_entrypoint_validate("", &e), T0_EINVAL);
    cr_assert_str_eq(e.msg, "entrypoint cannot be empty");
    cr_assert_eq(dinit_entrypoint_validate("main.py; rm -rf /", &e), T0_EINVAL);
    cr_assert_str_eq(e.msg, "entrypoint contains invalid characters: \"main.py; rm -rf /\"");
    cr_assert_eq(dinit_entrypoint_validate("../main.py", &e), T0_EINVAL);
    cr_assert_str_eq(e.msg, "entrypoint cannot contain path traversal");
    cr_assert_eq(dinit_entrypoint_validate("src/bot_main-1.py", &e), T0_OK);
    char *s = NULL;
    cr_assert_eq(dinit_entrypoint_script("ruby3", "main.rb", NULL, &s, &e), T0_EINVAL);
    cr_assert_str_eq(e.msg, "unsupported runtime: \"ruby3\" (supported: python3.11, nodejs20, rust-stable, gcc13, "
                            "cpp-gcc13, dotnet8, scala3, ghc96)");
    cr_assert_eq(dinit_entrypoint_script("python3.11", "", NULL, &s, &e), T0_EINVAL);
    cr_assert_str_eq(e.msg, "invalid entrypoint: entrypoint cannot be empty");
}

Test(entrypoint, every_runtime_has_the_done_trap)
{
    const char *rts[] = {"python3.11", "nodejs20", "rust-stable", "gcc13", "cpp-gcc13", "ghc96", "dotnet8", "scala3"};
    for (size_t i = 0; i < T0_ARRAY_LEN(rts); i++) {
        char *s = NULL;
        cr_assert_eq(dinit_entrypoint_script(rts[i], "main", NULL, &s, NULL), T0_OK, "%s", rts[i]);
        cr_assert(!strncmp(s, "#!/bin/bash\n", 12), "%s: no shebang", rts[i]);
        cr_assert(strstr(s, "trap 'rc=$?; echo \"$rc\" > /var/the0/done; exit $rc' EXIT"), "%s: no EXIT trap", rts[i]);
        cr_assert(strstr(s, "mkdir -p /var/the0/logs"), "%s", rts[i]);
        cr_assert(strstr(s, "set -e\ncd /bot\n"), "%s", rts[i]);
        cr_assert(strstr(s, "tee -a /var/the0/logs/bot.log"), "%s", rts[i]);
        free(s);
    }
}

/* Run the generated script for RT in a sandbox (bot dir and var dir under D); returns the exit status. */
static int run_script(const char *d, const char *rt, const char *ep)
{
    char bot[600], var[600], path[700];
    snprintf(bot, sizeof bot, "%s/bot", d);
    snprintf(var, sizeof var, "%s/var", d);
    mkdir(bot, 0755);
    dinit_paths paths = {.bot_dir = bot, .var_dir = var};
    char *s = NULL;
    cr_assert_eq(dinit_entrypoint_script(rt, ep, &paths, &s, NULL), T0_OK);
    snprintf(path, sizeof path, "%s/entrypoint.sh", bot);
    th_write(path, s);
    free(s);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("BOT_ID", "bot-1", 1);
        setenv("BOT_CONFIG", "{\"symbol\":\"BTC/USD\"}", 1);
        int fd = open("/dev/null", 1);
        dup2(fd, 1);
        execl("/bin/bash", "bash", path, (char *)NULL);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *slurp(const char *d, const char *rel)
{
    char p[700];
    snprintf(p, sizeof p, "%s/%s", d, rel);
    return th_read(p, NULL);
}

Test(entrypoint, binary_exit_code_reaches_the_done_file)
{
    char *d = th_tmpdir(), p[700];
    snprintf(p, sizeof p, "%s/bot", d);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/bot/trader", d);
    th_write(p, "#!/bin/sh\necho trading $BOT_ID\nexit 3\n");
    int rc = run_script(d, "rust-stable", "trader");
    cr_assert_eq(rc, 3, "exit %d", rc);
    char *done = slurp(d, "var/done"), *log = slurp(d, "var/logs/bot.log");
    cr_assert_str_eq(done ? done : "(none)", "3\n");
    cr_assert_str_eq(log ? log : "(none)", "trading bot-1\n");
    free(done);
    free(log);
    th_rmrf(d);
    free(d);
}

Test(entrypoint, missing_binary_fails_with_done_1)
{
    char *d = th_tmpdir();
    int rc = run_script(d, "gcc13", "nothere");
    cr_assert_eq(rc, 1, "exit %d", rc);
    char *done = slurp(d, "var/done");
    cr_assert_str_eq(done ? done : "(none)", "1\n");
    free(done);
    th_rmrf(d);
    free(d);
}

Test(entrypoint, python_wrapper_runs_main_and_writes_result, .timeout = 30)
{
    char *d = th_tmpdir(), p[700];
    snprintf(p, sizeof p, "%s/bot", d);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/bot/main.py", d);
    th_write(p, "def main(bot_id, config):\n    print('py', bot_id, config['symbol'], flush=True)\n");
    int rc = run_script(d, "python3.11", "main.py");
    cr_assert_eq(rc, 0, "exit %d", rc);
    char *done = slurp(d, "var/done"), *log = slurp(d, "var/logs/bot.log"), *res = slurp(d, "bot/result.json");
    cr_assert_str_eq(done ? done : "(none)", "0\n");
    cr_assert(log && strstr(log, "py bot-1 BTC/USD"), "bot.log: %s", log ? log : "(none)");
    cr_assert(res && strstr(res, "\"success\""), "result.json: %s", res ? res : "(none)");
    free(done);
    free(log);
    free(res);
    th_rmrf(d);
    free(d);
}

Test(entrypoint, node_wrapper_reports_rejection_as_exit_1, .timeout = 30)
{
    if (system("command -v node >/dev/null 2>&1") != 0) cr_skip_test("node is not installed");
    char *d = th_tmpdir(), p[700];
    snprintf(p, sizeof p, "%s/bot", d);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/bot/index.js", d);
    th_write(p, "module.exports = async (id, cfg) => { console.log('node', id); throw new Error('no funds'); };\n");
    int rc = run_script(d, "nodejs20", "index.js");
    cr_assert_eq(rc, 1, "exit %d", rc);
    char *done = slurp(d, "var/done"), *log = slurp(d, "var/logs/bot.log");
    cr_assert_str_eq(done ? done : "(none)", "1\n");
    cr_assert(log && strstr(log, "node bot-1") && strstr(log, "EXECUTE_ERROR: no funds"), "bot.log: %s",
              log ? log : "(none)");
    free(done);
    free(log);
    th_rmrf(d);
    free(d);
}

/* ---- init against the in-memory store -------------------------------------------------------------- */

static dinit_opts opts_in(const char *d, char *code, char *state)
{
    sprintf(code, "%s/bot", d);
    sprintf(state, "%s/state", d);
    dinit_opts o = {.bot_id = "b1", .code_path = code, .state_path = state, .code_file = "",
                    .code_bucket = "custom-bots", .state_bucket = "bot-state",
                    .code_limits = {64 << 20, 16 << 20, 1000}, .state_limits = {64 << 20, 10 << 20, 1000},
                    .attempts = 3, .retry_base_ms = 5};
    return o;
}

static void put_file(memstore *m, const char *bucket, const char *key, const char *path)
{
    objstore os = memstore_port(m);
    os.ensure_bucket(m, bucket, NULL);
    FILE *f = fopen(path, "rb");
    objstore_body b = {.file = f};
    cr_assert_eq(os.put(m, bucket, key, &b, NULL, NULL, NULL), T0_OK);
    fclose(f);
}

Test(init, first_run_when_object_or_bucket_missing)
{
    char *d = th_tmpdir(), code[600], state[600];
    memstore m = {0};
    objstore os = memstore_port(&m);
    dinit_opts o = opts_in(d, code, state);
    t0_err e = {0};
    cr_assert_eq(dinit_run(&os, &o, &e), T0_OK, "no bucket: %s", e.msg);
    os.ensure_bucket(&m, "bot-state", NULL);
    cr_assert_eq(dinit_run(&os, &o, &e), T0_OK, "no key: %s", e.msg);
    cr_assert(th_exists(state));
    cr_assert_eq(th_count_files(state), 0);
    cr_assert_eq(m.gets, 2, "one GET per run, no retries for a missing object (got %d)", m.gets);
    th_rmrf(d);
    free(d);
}

Test(init, transient_state_errors_are_retried_then_restored)
{
    char *d = th_tmpdir(), code[600], state[600], arch[700];
    memstore m = {0};
    objstore os = memstore_port(&m);
    snprintf(arch, sizeof arch, "%s/s.tar.gz", d);
    th_entry e[] = {{'d', ".the0-state"}, {'f', ".the0-state/portfolio.json", "{\"btc\":2}"}};
    th_archive(arch, false, e, 2);
    put_file(&m, "bot-state", "b1/state.tar.gz", arch);
    m.fail_get = 2;
    m.fail_status = T0_EINTERNAL;
    dinit_opts o = opts_in(d, code, state);
    t0_err err = {0};
    cr_assert_eq(dinit_run(&os, &o, &err), T0_OK, "%s", err.msg);
    char p[700];
    snprintf(p, sizeof p, "%s/.the0-state/portfolio.json", state);
    char *got = th_read(p, NULL);
    cr_assert_str_eq(got ? got : "(missing)", "{\"btc\":2}");
    cr_assert_eq(m.gets, 3, "2 failures + 1 success, got %d GETs", m.gets);
    free(got);
    memstore_free(&m);
    th_rmrf(d);
    free(d);
}

Test(init, persistent_state_error_fails_init_never_empty_start)
{
    char *d = th_tmpdir(), code[600], state[600];
    memstore m = {0};
    objstore os = memstore_port(&m);
    m.fail_get = 100;
    m.fail_status = T0_EUNAVAILABLE;
    dinit_opts o = opts_in(d, code, state);
    t0_err err = {0};
    t0_status st = dinit_run(&os, &o, &err);
    cr_assert_eq(st, T0_EUNAVAILABLE, "got %s: %s", t0_status_name(st), err.msg);
    cr_assert(strstr(err.msg, "failed to restore state") && strstr(err.msg, "gave up after 3 attempts"), "%s", err.msg);
    cr_assert_eq(m.gets, 3, "attempts %d", m.gets);
    th_rmrf(d);
    free(d);
}

Test(init, hostile_state_archive_fails_init)
{
    char *d = th_tmpdir(), code[600], state[600], arch[700];
    memstore m = {0};
    objstore os = memstore_port(&m);
    snprintf(arch, sizeof arch, "%s/s.tar.gz", d);
    th_entry e[] = {{'f', "../../escape.json", "x"}};
    th_archive(arch, false, e, 1);
    put_file(&m, "bot-state", "b1/state.tar.gz", arch);
    dinit_opts o = opts_in(d, code, state);
    t0_err err = {0};
    cr_assert_eq(dinit_run(&os, &o, &err), T0_EINVAL, "%s", err.msg);
    cr_assert(strstr(err.msg, "failed to restore state from bot-state/b1/state.tar.gz") &&
                  strstr(err.msg, "path traversal"),
              "%s", err.msg);
    memstore_free(&m);
    th_rmrf(d);
    free(d);
}

Test(init, code_zip_extracted_and_entrypoint_overwrites_zip_copy)
{
    char *d = th_tmpdir(), code[600], state[600], arch[700], p[700];
    memstore m = {0};
    objstore os = memstore_port(&m);
    snprintf(arch, sizeof arch, "%s/code.zip", d);
    th_entry e[] = {{'f', "main.py", "def main(a, b): pass\n"}, {'f', "entrypoint.sh", "echo from zip\n"},
                    {'f', "lib/util.py", "X = 1\n"}};
    th_archive(arch, true, e, 3);
    put_file(&m, "custom-bots", "u1/price-alerts/1.0.0", arch);
    dinit_opts o = opts_in(d, code, state);
    o.code_file = "u1/price-alerts/1.0.0";
    o.runtime = "python3.11";
    o.entrypoint = "main.py";
    t0_err err = {0};
    cr_assert_eq(dinit_run(&os, &o, &err), T0_OK, "%s", err.msg);
    snprintf(p, sizeof p, "%s/lib/util.py", code);
    cr_assert(th_exists(p));
    snprintf(p, sizeof p, "%s/entrypoint.sh", code);
    char *ep = th_read(p, NULL);
    cr_assert(ep && strstr(ep, "PYTHON_SCRIPT") && !strstr(ep, "from zip"), "entrypoint: %s", ep ? ep : "(none)");
    struct stat sb;
    stat(p, &sb);
    cr_assert_eq(sb.st_mode & 0777, 0755, "mode %o", sb.st_mode & 0777);
    free(ep);
    snprintf(p, sizeof p, "%s/code.zip", code);
    cr_assert(!th_exists(p), "the downloaded zip must be removed");
    cr_assert_eq(th_count_files(code), 3, "main.py, lib/util.py, entrypoint.sh; got %d files", th_count_files(code));
    memstore_free(&m);
    th_rmrf(d);
    free(d);
}

Test(init, missing_code_fails_with_reference_message)
{
    char *d = th_tmpdir(), code[600], state[600];
    memstore m = {0};
    objstore os = memstore_port(&m);
    os.ensure_bucket(&m, "custom-bots", NULL);
    dinit_opts o = opts_in(d, code, state);
    o.code_file = "u1/nope/1.0.0";
    t0_err err = {0};
    cr_assert_eq(dinit_run(&os, &o, &err), T0_ENOTFOUND);
    cr_assert(!strncmp(err.msg, "failed to download code: failed to read from MinIO: ", 52), "%s", err.msg);
    cr_assert_eq(th_count_files(code), 0, "temporary download left behind");
    th_rmrf(d);
    free(d);
}
