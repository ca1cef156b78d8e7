/* botprog.h: the bot program model: what a bot container's `/bin/bash /bot/entrypoint.sh` does in a simulated
 * pod — the entrypoint the init container wrote (its done file and its log tee) around a program that writes
 * state files and log lines through the container's filesystem — and the formats an invariant checker reads
 * back from the object store. */
#ifndef T0_FAKES_BOTPROG_H
#define T0_FAKES_BOTPROG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/fs.h"
#include "core/ports.h"
#include "core/t0.h"

/* A program: what the bot does after each start (the `model ID bot ...` statements, docs/scenarios.md). */
#define BOTPROG_MAX_WRITES 8
typedef struct botprog_spec {
    int64_t exit_after_ms; /* exit this long after each start; < 0 = runs until stopped */
    int exit_code;
    int64_t log_every_ms;  /* print a log line this often (0 = never) */
    char log_text[64];
    int64_t term_ms;       /* stops this long after SIGTERM; < 0 = ignores it (killed at the end of the grace period) */
    int64_t write_every_ms; /* also rewrite the state key "steady" (value: a counter) this often (0 = never) */
    size_t nwrites;        /* state writes, each at_ms after each start */
    struct {
        int64_t at_ms;
        char key[64];      /* bytes; the file is $STATE_DIR/<key>.json */
        char val[128];
    } writes[BOTPROG_MAX_WRITES];
} botprog_spec;

/* What the program reports, for the invariant checker: every state write and log line it attempted, with
 * its number (bot-wide sequences the caller keeps) and the errno of a write that failed (0: completed). */
typedef struct botprog_hooks {
    void *ud;
    uint64_t *state_seq; /* the bot's state-write counter (incremented per attempt) */
    uint64_t *line_seq;  /* the bot's log-line counter (incremented per attempt) */
    void (*state_write)(void *ud, uint64_t seq, const char *key, int eno);
    void (*log_line)(void *ud, uint64_t n, int eno);
} botprog_hooks;

/* The process. What it does, in the order of the generated entrypoint.sh (daemon/entrypoint.c), which it
 * reads to learn its paths (the var dir of `mkdir -p <var>/logs`, the wrapper file under /tmp, the entry
 * file): the script must exist and be readable (else exit 127), `mkdir -p <var>/logs` (else exit 1), the
 * old done file removed, the EXIT trap set (from here on every exit writes "<code>\n" to <var>/done),
 * `cd` to the code dir, the runtime wrapper written to /tmp (python/node: the root filesystem must be
 * writable, else exit 1), the entry file must exist in the code dir (else exit 1), bot.log opened for
 * append (tee -a). Then the program runs: state writes are the SDK's (mkdir -p $STATE_DIR, then the file
 * written in place: open with truncation, one write of {"value":"V","seq":N}, close), log lines are
 * "<bot-id> <text> #<n>.\n" appended to bot.log. A failed write is reported and the program goes on. */
typedef struct botprog botprog;
typedef struct botprog_env {
    const loop_port *loop;
    const fs_port *fs;
    const char *script;   /* argv[1]: /bot/entrypoint.sh */
    const char *bot_id;   /* $BOT_ID */
    const char *state_dir; /* $STATE_DIR (default /state/.the0-state) */
    const char *workdir;  /* the container's workingDir (default /) */
    botprog_hooks hooks;
    /* the end: called once, on the loop (never from inside botprog_* calls) */
    void (*exit)(void *ud, int code);
    void *exit_ud;
} botprog_env;
/* botprog_start: start the entrypoint with program SPEC (copied). ENV's strings are borrowed for the
 * process's life. */
t0_status botprog_start(const botprog_env *env, const botprog_spec *spec, botprog **out, t0_err *err);
/* botprog_term: SIGTERM (the program stops after term_ms, exit 143, unless it ignores it). */
void botprog_term(botprog *b);
/* botprog_kill: SIGKILL: gone at once (no done file, no exit callback); frees. NULL is a no-op. */
void botprog_kill(botprog *b);

/* ---- what the checker reads back ------------------------------------------------------------------- */
/* botprog_doc_parse: a state file's content as the SDK wrote it: true with *SEQ and the value (unescaped,
 * NUL-terminated, truncated to CAP) when it is a whole document; false for anything else (a file cut short). */
bool botprog_doc_parse(const char *data, size_t len, uint64_t *seq, char *val, size_t cap);
/* botprog_line_number: the n of a whole log line "<anything> #<n>." (LEN bytes, no newline); 0 when the line
 * is not one (another program's output, a line cut short). */
uint64_t botprog_line_number(const char *line, size_t len);
/* botprog_archive_each: call FN for every regular file of the gzip'd tar in DATA[LEN] (name relative to the
 * archive's root, content). T0_EINVAL when DATA is not a whole, valid tar.gz (err says where it breaks). */
typedef void (*botprog_file_fn)(void *ud, const char *name, const char *data, size_t len);
t0_status botprog_archive_each(const void *data, size_t len, botprog_file_fn fn, void *ud, t0_err *err);

#endif
