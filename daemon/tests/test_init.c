/* test_init.c: entrypoint scripts (run for real with bash/python3/node) and `daemon init` on the virtual loop
 * against the in-memory store, on real directories (POSIX port) and on the in-memory filesystem (read-only
 * root, full volumes). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "helpers.h"
#include "memfs.h"
#include "memstore.h"
#include "sim/loop.h"

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
        const char *rm = strstr(s, "rm -f /var/the0/done\n"), *trap = strstr(s, "trap ");
        cr_assert(rm && trap && rm < trap, "%s: a restarted bot's old done file is removed before the trap", rts[i]);
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

typedef struct init_res {
    bool done;
    int code;
    char msg[700];
} init_res;

static void init_done(void *ud, int code, const char *msg)
{
    init_res *r = ud;
    r->done = true;
    r->code = code;
    snprintf(r->msg, sizeof r->msg, "%s", msg);
}

/* Run init to its end on a virtual loop over FS (NULL: the POSIX port). Returns the exit code; MSG gets
 * the summary or the error. */
static int run_init_fs(const fs_port *fs, sim_loop *l, memstore *m, const dinit_opts *o, char *msg)
{
    loop_port lp = sim_loop_port(l);
    objstore os = memstore_port(m);
    dd_env env = {.loop = &lp, .os = &os, .fs = fs ? fs : th_fs()};
    init_res r = {0};
    dinit *in = NULL;
    t0_err e = {0};
    if (dinit_start(&env, o, init_done, &r, &in, &e) != T0_OK) {
        snprintf(msg, 700, "%s", e.msg);
        return 1;
    }
    while (!r.done && sim_loop_step(l)) {
    }
    cr_assert(r.done, "init never finished");
    dinit_destroy(in);
    snprintf(msg, 700, "%s", r.msg);
    return r.code;
}

static int run_init(memstore *m, const dinit_opts *o, char *msg)
{
    sim_loop *l;
    cr_assert_eq(sim_loop_new(1, 0, &l, NULL), T0_OK);
    int code = run_init_fs(NULL, l, m, o, msg);
    sim_loop_destroy(l);
    return code;
}

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

/* An archive of ENTRIES as the object BUCKET/KEY (built in D). */
static void put_archive(memstore *m, const char *d, bool zip, const th_entry *e, size_t n, const char *bucket,
                        const char *key)
{
    char arch[700];
    snprintf(arch, sizeof arch, "%s/put.%s", d, zip ? "zip" : "tar.gz");
    th_archive(arch, zip, e, n);
    put_file(m, bucket, key, arch);
    unlink(arch);
}

Test(init, first_run_when_object_or_bucket_missing)
{
    char *d = th_tmpdir(), code[600], state[600], msg[700];
    memstore m = {0};
    objstore os = memstore_port(&m);
    dinit_opts o = opts_in(d, code, state);
    cr_assert_eq(run_init(&m, &o, msg), 0, "no bucket: %s", msg);
    os.ensure_bucket(&m, "bot-state", NULL);
    cr_assert_eq(run_init(&m, &o, msg), 0, "no key: %s", msg);
    cr_assert(strstr(msg, "first run"), "%s", msg);
    cr_assert(th_exists(state));
    cr_assert_eq(th_count_files(state), 0);
    char w[700];
    snprintf(w, sizeof w, "%s/" DD_STATE_WORK, state);
    cr_assert(!th_exists(w), "the work directory was left behind");
    cr_assert_eq(m.gets, 2, "one GET per run, no retries for a missing object (got %d)", m.gets);
    th_rmrf(d);
    free(d);
}

Test(init, transient_state_errors_are_retried_then_restored)
{
    char *d = th_tmpdir(), code[600], state[600], msg[700];
    memstore m = {0};
    th_entry e[] = {{'d', ".the0-state"}, {'f', ".the0-state/portfolio.json", "{\"btc\":2}"}};
    put_archive(&m, d, false, e, 2, "bot-state", "b1/state.tar.gz");
    m.fail_get = 2;
    m.fail_status = T0_EINTERNAL;
    dinit_opts o = opts_in(d, code, state);
    cr_assert_eq(run_init(&m, &o, msg), 0, "%s", msg);
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
    char *d = th_tmpdir(), code[600], state[600], msg[700];
    memstore m = {0};
    m.fail_get = 100;
    m.fail_status = T0_EUNAVAILABLE;
    dinit_opts o = opts_in(d, code, state);
    cr_assert_eq(run_init(&m, &o, msg), 1, "%s", msg);
    cr_assert(strstr(msg, "failed to restore state") && strstr(msg, "gave up after 3 attempts"), "%s", msg);
    cr_assert_eq(m.gets, 3, "attempts %d", m.gets);
    th_rmrf(d);
    free(d);
}

Test(init, hostile_state_archive_fails_init)
{
    char *d = th_tmpdir(), code[600], state[600], msg[700];
    memstore m = {0};
    th_entry e[] = {{'f', "../../escape.json", "x"}};
    put_archive(&m, d, false, e, 1, "bot-state", "b1/state.tar.gz");
    dinit_opts o = opts_in(d, code, state);
    cr_assert_eq(run_init(&m, &o, msg), 1, "%s", msg);
    cr_assert(strstr(msg, "failed to restore state from bot-state/b1/state.tar.gz") && strstr(msg, "path traversal"),
              "%s", msg);
    memstore_free(&m);
    th_rmrf(d);
    free(d);
}

Test(init, code_zip_extracted_and_entrypoint_overwrites_zip_copy)
{
    char *d = th_tmpdir(), code[600], state[600], p[700], msg[700];
    memstore m = {0};
    th_entry e[] = {{'f', "main.py", "def main(a, b): pass\n"}, {'f', "entrypoint.sh", "echo from zip\n"},
                    {'f', "lib/util.py", "X = 1\n"}};
    put_archive(&m, d, true, e, 3, "custom-bots", "u1/price-alerts/1.0.0");
    dinit_opts o = opts_in(d, code, state);
    o.code_file = "u1/price-alerts/1.0.0";
    o.runtime = "python3.11";
    o.entrypoint = "main.py";
    cr_assert_eq(run_init(&m, &o, msg), 0, "%s", msg);
    snprintf(p, sizeof p, "%s/lib/util.py", code);
    cr_assert(th_exists(p));
    snprintf(p, sizeof p, "%s/entrypoint.sh", code);
    char *ep = th_read(p, NULL);
    cr_assert(ep && strstr(ep, "PYTHON_SCRIPT") && !strstr(ep, "from zip"), "entrypoint: %s", ep ? ep : "(none)");
    struct stat sb;
    stat(p, &sb);
    cr_assert_eq(sb.st_mode & 0777, 0755, "mode %o", sb.st_mode & 0777);
    free(ep);
    cr_assert_eq(th_count_files(code), 3, "main.py, lib/util.py, entrypoint.sh; got %d files", th_count_files(code));
    memstore_free(&m);
    th_rmrf(d);
    free(d);
}

Test(init, missing_code_fails_with_reference_message)
{
    char *d = th_tmpdir(), code[600], state[600], msg[700];
    memstore m = {0};
    objstore os = memstore_port(&m);
    os.ensure_bucket(&m, "custom-bots", NULL);
    dinit_opts o = opts_in(d, code, state);
    o.code_file = "u1/nope/1.0.0";
    cr_assert_eq(run_init(&m, &o, msg), 1);
    cr_assert(!strncmp(msg, "failed to download code: failed to read from MinIO: ", 52), "%s", msg);
    cr_assert_eq(th_count_files(code), 0, "temporary download left behind");
    th_rmrf(d);
    free(d);
}

/* Issue 14: a refused 3 x 400 MB zip bomb left 801 MB extracted, and an init that failed midway left
 * partially restored files. Everything is extracted into a staging directory and renamed into place only
 * when complete. */
Test(init, a_refused_archive_leaves_nothing_behind)
{
    char *d = th_tmpdir(), code[600], state[600], msg[700], p[700];
    memstore m = {0};
    th_entry bomb[] = {{'f', "a.bin", NULL, 3 << 20}, {'f', "b.bin", NULL, 3 << 20}, {'f', "c.bin", NULL, 3 << 20}};
    put_archive(&m, d, true, bomb, 3, "custom-bots", "u1/bomb/1.0.0");
    dinit_opts o = opts_in(d, code, state);
    o.code_file = "u1/bomb/1.0.0";
    o.code_limits = (dar_limits){.max_total = 7 << 20, .max_file = 4 << 20, .max_entries = 100};
    cr_assert_eq(run_init(&m, &o, msg), 1, "%s", msg);
    cr_assert(strstr(msg, "total extracted size exceeds maximum limit"), "%s", msg);
    cr_assert_eq(th_count_files(code), 0, "a refused zip left %d files in the code directory", th_count_files(code));
    snprintf(p, sizeof p, "%s/" DD_STATE_WORK, code);
    cr_assert(!th_exists(p), "the staging directory was left behind");

    /* a state archive that fails on its third entry (corrupt data after two good files) */
    th_entry st[] = {{'f', "one.json", "1"}, {'f', "two.json", "2"}, {'f', "big.json", NULL, 11 << 20}};
    put_archive(&m, d, false, st, 3, "bot-state", "b1/state.tar.gz");
    o.code_file = "";
    mkdir(state, 0755);
    snprintf(p, sizeof p, "%s/keep.json", state);
    th_write(p, "kept"); /* what was there before a failed restore stays as it was */
    cr_assert_eq(run_init(&m, &o, msg), 1, "%s", msg);
    cr_assert(strstr(msg, "big.json exceeds maximum size limit"), "%s", msg);
    cr_assert_eq(th_count_files(state), 1, "a failed restore left %d files (want only keep.json)", th_count_files(state));
    cr_assert(th_exists(p));
    memstore_free(&m);
    th_rmrf(d);
    free(d);
}

/* After a restore the state directory holds exactly the archive's tree (deletions propagate). */
Test(init, restore_renames_the_staged_tree_into_place)
{
    char *d = th_tmpdir(), code[600], state[600], msg[700], p[700];
    memstore m = {0};
    th_entry st[] = {{'d', ".the0-state"}, {'f', ".the0-state/a.json", "remote"}};
    put_archive(&m, d, false, st, 2, "bot-state", "b1/state.tar.gz");
    dinit_opts o = opts_in(d, code, state);
    snprintf(p, sizeof p, "%s/.the0-state", state);
    char cmd[800];
    snprintf(cmd, sizeof cmd, "mkdir -p %s && echo stale > %s/a.json && echo stale > %s/old.json", p, p, p);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(run_init(&m, &o, msg), 0, "%s", msg);
    snprintf(p, sizeof p, "%s/.the0-state/a.json", state);
    char *got = th_read(p, NULL);
    cr_assert_str_eq(got ? got : "(missing)", "remote");
    free(got);
    snprintf(p, sizeof p, "%s/.the0-state/old.json", state);
    cr_assert(!th_exists(p), "the restored directory replaces the old one as a whole");
    cr_assert_eq(th_count_files(state), 1, "only the archive's file remains (got %d)", th_count_files(state));
    memstore_free(&m);
    th_rmrf(d);
    free(d);
}

/* Issue 14: `--code-file ../bot-logs/x` or `u1/../u2/...` were accepted. */
Test(init, code_paths_stay_in_their_prefix)
{
    static const char *bad[] = {"../bot-logs/x", "u1/../u2/bot/1.0.0", "/u1/bot/1.0.0", "u1/./bot/1.0.0",
                                "u1\\..\\u2", "u1/%2e%2e/u2", ".."};
    char *d = th_tmpdir(), code[600], state[600], msg[700];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        memstore m = {0};
        dinit_opts o = opts_in(d, code, state);
        o.code_file = bad[i];
        cr_assert_eq(run_init(&m, &o, msg), 1, "code file \"%s\" was accepted", bad[i]);
        cr_assert(strstr(msg, "invalid code file"), "\"%s\": %s", bad[i], msg);
        cr_assert_eq(m.gets + m.heads, 0, "\"%s\": a request was made", bad[i]);
    }
    memstore m = {0};
    dinit_opts o = opts_in(d, code, state);
    o.bot_id = "../b2";
    cr_assert_eq(run_init(&m, &o, msg), 1, "bot id \"../b2\" was accepted");
    cr_assert(strstr(msg, "invalid bot ID"), "%s", msg);
    th_rmrf(d);
    free(d);
}

/* ---- on a container filesystem: read-only root, volumes with a capacity ---------------------------- */

static memfs *container(sim_loop *l, loop_port *lp, uint64_t state_cap)
{
    *lp = sim_loop_port(l);
    memfs *fs = memfs_new(lp);
    memfs_volume(fs, "/bot", 0, false);
    memfs_volume(fs, "/state", state_cap, false);
    memfs_volume(fs, "/", 0, true); /* readOnlyRootFilesystem: no /tmp either */
    return fs;
}

Test(init, runs_with_a_read_only_root)
{
    char *d = th_tmpdir(), msg[700];
    memstore m = {0};
    th_entry st[] = {{'d', ".the0-state"}, {'f', ".the0-state/p.json", "{\"btc\":1}"}};
    put_archive(&m, d, false, st, 2, "bot-state", "b1/state.tar.gz");
    th_entry c[] = {{'f', "main.py", "x = 1\n"}};
    put_archive(&m, d, true, c, 1, "custom-bots", "u1/b/1.0.0");
    sim_loop *l;
    cr_assert_eq(sim_loop_new(1, 0, &l, NULL), T0_OK);
    loop_port lp;
    memfs *mf = container(l, &lp, 0);
    fs_port fs = memfs_port(mf);
    dinit_opts o = {.bot_id = "b1", .code_file = "u1/b/1.0.0", .runtime = "python3.11", .entrypoint = "main.py",
                    .code_bucket = "custom-bots", .state_bucket = "bot-state",
                    .code_limits = {64 << 20, 16 << 20, 1000}, .state_limits = {64 << 20, 10 << 20, 1000},
                    .attempts = 2, .retry_base_ms = 5, .paths = {"/bot", "/var/the0"}};
    cr_assert_eq(run_init_fs(&fs, l, &m, &o, msg), 0, "%s", msg);
    char *p = memfs_get(mf, "/state/.the0-state/p.json", NULL);
    cr_assert_str_eq(p ? p : "(missing)", "{\"btc\":1}");
    free(p);
    cr_assert(memfs_exists(mf, "/bot/main.py") && memfs_exists(mf, "/bot/entrypoint.sh"));
    cr_assert(!memfs_exists(mf, "/bot/" DD_STATE_WORK) && !memfs_exists(mf, "/state/" DD_STATE_WORK));
    memfs_free(mf);
    sim_loop_destroy(l);
    memstore_free(&m);
    th_rmrf(d);
    free(d);
}

Test(init, enospc_during_restore_leaves_nothing_and_names_the_cause)
{
    char *d = th_tmpdir(), msg[700];
    memstore m = {0};
    th_entry st[] = {{'f', "a.json", NULL, 3000}, {'f', "b.json", NULL, 3000}, {'f', "c.json", NULL, 3000}};
    put_archive(&m, d, false, st, 3, "bot-state", "b1/state.tar.gz");
    sim_loop *l;
    cr_assert_eq(sim_loop_new(1, 0, &l, NULL), T0_OK);
    loop_port lp;
    memfs *mf = container(l, &lp, 7000); /* the archive fits, its content does not */
    fs_port fs = memfs_port(mf);
    dinit_opts o = {.bot_id = "b1", .code_bucket = "custom-bots", .state_bucket = "bot-state",
                    .state_limits = {64 << 20, 10 << 20, 1000}, .attempts = 2, .retry_base_ms = 5};
    cr_assert_eq(run_init_fs(&fs, l, &m, &o, msg), 1, "%s", msg);
    cr_assert(strstr(msg, "No space left on device"), "the cause is missing: %s", msg);
    cr_assert_eq(memfs_count_files(mf, "/state"), 0, "a failed restore left %d files", memfs_count_files(mf, "/state"));
    cr_assert_eq(memfs_used(mf, "/state"), 0, "%llu bytes left on the volume", (unsigned long long)memfs_used(mf, "/state"));
    memfs_free(mf);
    sim_loop_destroy(l);
    memstore_free(&m);
    th_rmrf(d);
    free(d);
}

/* The generation: init says whether the state it restored was a run's last one. */
Test(init, a_state_object_not_marked_final_is_reported)
{
    char *d = th_tmpdir(), code[600], state[600], msg[700];
    memstore m = {0};
    th_entry st[] = {{'f', "a.json", "1"}};
    put_archive(&m, d, false, st, 1, "bot-state", "b1/state.tar.gz");
    memobj *obj = memstore_find(&m, "bot-state", "b1/state.tar.gz");
    objstore_meta_set(&obj->meta, "the0-sha256", "x");
    objstore_meta_set(&obj->meta, "the0-generation", "7");
    objstore_meta_set(&obj->meta, "the0-final", "0");
    dinit_opts o = opts_in(d, code, state);
    char tl[700];
    snprintf(tl, sizeof tl, "%s/termination-log", d);
    th_write(tl, "");
    o.termination_log = tl;
    cr_assert_eq(run_init(&m, &o, msg), 0, "%s", msg);
    cr_assert(strstr(msg, "generation 7") && strstr(msg, "not final"), "%s", msg);
    char *t = th_read(tl, NULL);
    cr_assert(t && strstr(t, "generation 7 (not final"), "termination message: %s", t ? t : "(none)");
    free(t);
    memstore_free(&m);
    th_rmrf(d);
    free(d);
}
