/* daemon.h: the pod-side daemon: `daemon init` (init container) and `daemon sync` (sidecar), plus the pieces
 * they are built from (safe archive extraction, consistent snapshots, entrypoint generation, state and log
 * shipping). Everything runs on ports only — the loop (core/ports.h), the object store (core/objstore.h)
 * and the filesystem (core/fs.h) — so the simulator runs this code as shipped, on a virtual clock, the fake
 * MinIO and its container filesystem model. Nothing here sleeps, reads the wall clock outside the loop
 * port, or starts a thread. cmd/runtime_daemon.c binds the production adapters (S3, rtloop, POSIX). */
#ifndef T0_DAEMON_H
#define T0_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "core/fs.h"
#include "core/objstore.h"
#include "core/ports.h"
#include "core/t0.h"
#include "fsm/fsm.h"

/* The ports a daemon runs on; all borrowed, they must outlive it. TRACER (optional) sees every step of
 * fsm_sync_table (the simulator prints them in its trace). */
typedef struct dd_env {
    const loop_port *loop;
    const objstore *os;
    const fs_port *fs;
    const fsm_tracer *tracer;
} dd_env;

/* The end of a daemon: called once, on the loop (never from inside a dinit/dsync call), with the process
 * exit code and a one-line summary (borrowed for the call; the error when CODE is 1). The daemon may be
 * destroyed from inside the callback. */
typedef void (*dd_exit_fn)(void *ud, int code, const char *msg);

/* ---- archives (daemon/archive.c) ---------------------------------------------------------------------
 * Names are bytes. Archive names are read and written as UTF-8 (libarchive's *_utf8 calls under a
 * thread-local C.UTF-8 locale, whatever the process locale is), so "données/café.py" round-trips as Go's
 * archive code does it.
 *
 * Extraction defences, for the code zip and the state tar.gz alike. The archive is REFUSED (T0_EINVAL, the
 * message names the entry) when an entry has an absolute path or a ".." component, is a hard link, or is
 * a symlink whose target is absolute or contains ".." (such a link can escape directly or by composing
 * with other links; refusing all of them keeps every link pointing below its own directory), or when a
 * file would be written through a symlink. Limits (T0_ELIMIT): entry count, per-file size and total
 * size, counted on the bytes actually written (a lying header does not help a zip bomb); a file that
 * crosses a limit is deleted. Devices, FIFOs and sockets are skipped with a warning. Modes keep the
 * permission bits (setuid/setgid/sticky dropped); bits 0 (zips from non-Unix tools) become 0644/0755.
 * A failure leaves what was extracted so far in DEST: callers extract into a staging directory (init). */
typedef enum dar_format { DAR_ZIP, DAR_TARGZ } dar_format;
typedef struct dar_limits {
    uint64_t max_total;   /* bytes over all files */
    uint64_t max_file;    /* bytes for one file */
    uint64_t max_entries; /* entries of any type */
} dar_limits;
typedef struct dar_stats {
    uint64_t files, dirs, links, skipped, bytes;
    uint64_t bad_names; /* snapshot: entries left out because their name is not valid UTF-8 */
    bool mem_overflow;  /* snapshot: the archive did not fit in dar_snap_opts.mem_max */
} dar_stats;
/* dar_extract: the archive in file ARCHIVE_PATH (read through FS with libarchive's client callbacks)
 * into the existing directory DEST. */
t0_status dar_extract(const fs_port *fs, const char *archive_path, dar_format fmt, const char *dest,
                      const dar_limits *lim, dar_stats *stats, t0_err *err);

/* dar_snapshot: ONE attempt at a gzip'd tar of DIR (entries sorted bytewise, relative names without "./",
 * directories included, modes and mtimes kept, symlinks as links), written through FS to OUT_PATH
 * (created or truncated), with the content hash (hex SHA-256 over names, types, permission bits, contents
 * and link targets; NOT mtimes) in HASH.
 * Consistency: each file is read through one descriptor, read a second time and compared (hash), and its
 * size/mtime/ctime/inode are checked again; a file modified less than RACY_MS before NOW_MS (the loop's
 * clock) counts as still being written. If anything moved the attempt fails with T0_ESTATE naming the
 * file, and the caller tries again a little later (dsync does, on a loop timer): a half-written file is
 * never in a snapshot that succeeded. A file that vanishes between listing and opening is treated as
 * deleted. An entry whose name (or link target) is not valid UTF-8 is left out, logged as an error naming
 * it (escaped) and counted in stats->bad_names: that file's sync fails, not the whole state. Top-level
 * names in EXCLUDE (NULL-terminated, may be NULL) are left out (the daemon's own work files).
 * Limits: T0_ELIMIT with the reference messages ("state file <name> exceeds maximum size limit (...)",
 * "total state size exceeds maximum limit (...)"). A missing DIR is T0_ENOTFOUND. An empty DIR gives a
 * valid empty archive and DAR_EMPTY_HASH. Every failure names its cause (a full spool volume says
 * "No space left on device", never "(null)"). */
#define DAR_EMPTY_HASH "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
typedef struct dar_snap_opts {
    dar_limits lim;
    int64_t now_ms;
    int64_t racy_ms; /* 0 = 30 */
    const char *const *exclude;
    /* MEM set: the archive goes into *MEM (emptied first) instead of OUT_PATH, at most MEM_MAX bytes; a
     * larger one fails with T0_ELIMIT and stats->mem_overflow (the caller spools it to a file then). */
    objstore_buf *mem;
    uint64_t mem_max;
    /* HASH_ONLY: read and hash as a snapshot would (the same checks), write no archive (OUT_PATH unused) */
    bool hash_only;
} dar_snap_opts;
t0_status dar_snapshot(const fs_port *fs, const char *dir, const dar_snap_opts *o, const char *out_path,
                       char hash[65], dar_stats *stats, t0_err *err);
/* dar_name_utf8: whether NAME is valid UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF). */
bool dar_name_utf8(const char *name);

/* ---- entrypoint (daemon/entrypoint.c) ---------------------------------------------------------------- */
/* Paths baked into the script. The reference hard-codes /bot and /var/the0; tests and Docker mode may
 * point them elsewhere (env THE0_BOT_DIR, THE0_VAR_DIR in `daemon init`). */
typedef struct dinit_paths {
    const char *bot_dir; /* "/bot" */
    const char *var_dir; /* "/var/the0": logs/bot.log and the done file live here */
} dinit_paths;
/* dinit_entrypoint_validate: reference §8.4 rules; messages "entrypoint cannot be empty", "entrypoint
 * contains invalid characters: \"<e>\"", "entrypoint cannot contain path traversal". */
t0_status dinit_entrypoint_validate(const char *entrypoint, t0_err *err);
/* dinit_entrypoint_script: the bash script for RUNTIME (reference §8.4 table); caller frees *out.
 * Unsupported runtime: T0_EINVAL "unsupported runtime: \"<rt>\" (supported: ...)". Every script's EXIT
 * trap writes "<status>\n" to <var_dir>/done, which the script removes first (a restarted bot's old one). */
t0_status dinit_entrypoint_script(const char *runtime, const char *entrypoint, const dinit_paths *paths,
                                  char **out, t0_err *err);

/* ---- the state object (daemon/sync_state.c) ---------------------------------------------------------
 * bot-state/<id>/state.tar.gz carries user metadata:
 *   the0-sha256      content hash of the snapshot (dar_snapshot)
 *   the0-generation  1, 2, 3 ...: one more than the object it replaced (a missing or foreign object is 0)
 *   the0-final       "1" when written by a final sync (the run's last state), "0" by an ordinary upload.
 * A run whose final sync completed always leaves the0-final=1 (when its final snapshot equals an object
 * of this run marked 0, the same bytes are PUT again marked 1). So an object marked 0 tells the next
 * run's init that the previous run ended without its final sync: changes made after generation N were
 * not shipped (init logs it and puts it in its termination message). */
#define DD_STATE_WORK ".the0-init" /* init's work directory inside /bot and /state; never shipped */
#define DSYNC_MEM_SPOOL (4u << 20)  /* snapshots up to 4 MiB of archive stay in memory */
typedef struct dd_state_meta {
    uint64_t generation;
    bool final;
    bool known; /* the object carried our metadata */
} dd_state_meta;
/* dd_state_meta_read: the generation and final flag of M (known=false for a foreign object). */
void dd_state_meta_read(const objstore_meta *m, dd_state_meta *out);

/* ---- init (daemon/init.c) --------------------------------------------------------------------------- */
typedef struct dinit_opts {
    const char *bot_id;
    const char *code_path;  /* default /bot */
    const char *state_path; /* default /state */
    const char *code_file;  /* object key in code_bucket; "" or NULL skips the code step */
    const char *runtime, *entrypoint;
    const char *code_bucket, *state_bucket;
    dar_limits code_limits, state_limits;
    dinit_paths paths;
    int attempts;        /* tries for each download (default 6) */
    long retry_base_ms;  /* first backoff (default 500 ms), doubling, capped at 8 s */
    const char *termination_log; /* written with the outcome when set (Kubernetes: /dev/termination-log) */
} dinit_opts;
/* dinit_start: reference §8.2 steps, on the ports. The bot id and code file must stay inside their
 * prefixes (names_validate_minio_path: no ".." or "." segments, no leading '/', no backslash or
 * '%'): refused at once otherwise. Each archive is downloaded into <dest>/.the0-init/download and
 * extracted into <dest>/.the0-init/staging ON THE SAME VOLUME; only a complete extraction is renamed into
 * place (the destination then holds exactly the archive's tree), so a failed or refused restore leaves nothing —
 * the work directory is removed whatever happens. State: NoSuchKey/NoSuchBucket is a first run (nothing
 * restored); any other download failure is retried ATTEMPTS times with backoff (loop timers) and then
 * fails init with "failed to restore state: ..." — a bot never starts on empty state while saved state
 * exists. DONE(UD, code, msg) runs once on the loop at the end. *out is owned by the caller. */
typedef struct dinit dinit;
t0_status dinit_start(const dd_env *env, const dinit_opts *o, dd_exit_fn done, void *ud, dinit **out, t0_err *err);
/* dinit_destroy: stop at once (SIGKILL): timers cancelled, no callback; the work directory stays (the
 * next init removes it first). NULL is a no-op. */
void dinit_destroy(dinit *in);

/* ---- sync: state (daemon/sync_state.c) ---------------------------------------------------------------- */
/* A missing object counts as "empty state", so an empty /state next to no object ships nothing, while an
 * emptied /state next to an object uploads an EMPTY ARCHIVE (deletions propagate; init then restores no
 * files). Upload happens only when the content hash differs from the remote one (learned by HEAD on first
 * use, then remembered), so a restarted sidecar does not re-upload what init just restored. The snapshot
 * is built in memory while it stays within mem_max (DSYNC_MEM_SPOOL by default: no disk, no writable volume
 * needed, and a full logs volume does not stop state shipping); a larger one is spooled to SPOOL_PATH (a file
 * on a volume the sidecar mounts, e.g. /var/the0/logs: the root filesystem is read-only) and removed after
 * each attempt. mem_max 0 always spools to the file. A full state volume (no byte available) is
 * never shipped: a write the bot could not finish may have truncated a file, so the previous object stays
 * (T0_EIO, ENOSPC, the message says so). */
typedef struct dsync_state {
    const objstore *os;
    const fs_port *fs;
    const char *bucket, *dir, *spool_path;
    char key[512];
    dar_limits lim;
    const char *exclude[4];
    char remote_hash[65]; /* "" until known */
    dd_state_meta remote;
    bool remote_known, bucket_ok, spooled, spill; /* spill: the last archive did not fit in memory */
    uint64_t mem_max;                     /* the in-memory spool's bound (bytes of archive) */
    uint64_t uploads, skips, refused_full; /* counters for tests and logs */
    dar_stats last;                       /* stats of the last snapshot */
} dsync_state;
void dsync_state_init(dsync_state *s, const objstore *os, const fs_port *fs, const char *bucket, const char *bot_id,
                      const char *dir, const char *spool_path, const dar_limits *lim);
/* dsync_state_exclude: PATH (a spool file of the sidecar's) is left out of the snapshots when it lies directly
 * in the state directory (at most two spools). */
void dsync_state_exclude(dsync_state *s, const char *path);
/* dsync_state_sync: one attempt: snapshot and upload when changed. FINAL marks the object as the run's
 * last state (the0-final=1). NOW_MS is the loop's clock. T0_ESTATE: a file changed while it was read,
 * try again shortly. *uploaded says whether a PUT happened. */
t0_status dsync_state_sync(dsync_state *s, int64_t now_ms, bool final, bool *uploaded, t0_err *err);

/* ---- sync: logs (daemon/sync_logs.c) ---------------------------------------------------------------- */
/* New bytes of <logs>/bot.log are appended to bot-logs/logs/<id>/<YYYYMMDD>.log (local date at append
 * time) as "[YYYY-MM-DD HH:MM:SS] <chunk, whitespace-trimmed>\n". Exactly-once across restarts:
 *  - <logs>/.the0-sync-offset (write+fsync+rename) holds "v2 <stream> <offset> <key>|-": a random stream id
 *    for this bot.log and the offset from which its appends go to the day object <key>. It is written when a
 *    stream starts and before the first append to each day object (sync_logs.c tells the protocol);
 *  - each PUT carries x-amz-meta-the0-stream/-the0-end; after a restart or an ambiguous failure the day
 *    object is HEADed: if it carries our stream, its end is how far the appends got;
 *  - a failed GET of the day's object (other than NoSuchKey) never leads to a PUT: the chunk waits.
 * Chunks end at a newline; an unterminated tail is shipped once it stayed unchanged for one call, or
 * on the final sync. Time (dates, stamps) and the stream id come from the loop port.
 *
 * Pacing (dsync_logs_due): an append rewrites the whole day object (S3 has no append), so appending every
 * new line would cost traffic that grows with the square of the day's log. An object under small_obj bytes
 * is appended to as soon as lines come; a larger one only once the new bytes are at least 1/growth_div of
 * it (the traffic then stays within 2 x growth_div times the log's bytes) or max_delay_ms after the last
 * append to it (the reference's 60 s cadence: a slow log's lines are at most that late). The final sync
 * ships everything at once.
 *
 * Memory: an append holds the day object while it rewrites it. Below mem_max bytes that is in memory; a larger
 * object (as our last append left it, or as the GET finds it: the GET stops at mem_max) goes through a spool
 * file on a volume the sidecar mounts, so a chatty bot's day log never outgrows the sidecar's memory limit.
 * The chunk of new bytes read per append is at most max_chunk. */
typedef struct dsync_logs {
    const objstore *os;
    const fs_port *fs;
    const loop_port *loop;
    const char *bucket, *bot_id, *dir;
    char log_path[1024], offset_path[1024];
    char spool_path[1024];     /* where a day object of mem_max bytes or more is kept while an append rewrites it
                                  (default <logs>/DSYNC_LOGS_SPOOL; the sidecar puts it in its --spool-dir) */
    uint64_t mem_max;          /* default DSYNC_MEM_SPOOL; 0: always in memory */
    char stream[33];
    uint64_t offset;
    char pending_key[512];     /* a day object whose the0-end may be ahead of offset: asked (HEAD) before the next
                                  append (after a restart, or a PUT that failed after it may have landed) */
    char rec_key[512];         /* the day object the offset record names ("" = none yet) */
    bool loaded, bucket_ok;
    uint64_t last_seen_size;
    size_t max_chunk;          /* default 8 MiB */
    uint64_t small_obj;        /* pacing (above): default DSYNC_LOGS_SMALL */
    unsigned growth_div;       /* default DSYNC_LOGS_GROWTH_DIV */
    long max_delay_ms;         /* default DSYNC_LOGS_MAX_DELAY_MS; 0: no pacing, every line as it comes */
    char obj_key[512];         /* the day object of our last append ("" = none since the start) */
    uint64_t obj_len;          /* its length after that append */
    int64_t obj_put_ms;        /* when that append landed */
    struct tm tm;              /* local time of the minute tm_minute (private cache) */
    time_t tm_minute;
    int tm_sec0;
    bool tm_valid;
    char day_key[512];
    uint64_t appends;          /* counters */
} dsync_logs;
void dsync_logs_init(dsync_logs *l, const objstore *os, const fs_port *fs, const loop_port *loop, const char *bucket,
                     const char *bot_id, const char *logs_dir);
/* dsync_logs_ship: ship at most one chunk. *more says whether unshipped bytes remain afterwards. */
t0_status dsync_logs_ship(dsync_logs *l, bool final, bool *more, t0_err *err);
#define DSYNC_LOGS_SPOOL ".the0-log-spool"
#define DSYNC_LOGS_SMALL (16u << 10)
#define DSYNC_LOGS_GROWTH_DIV 16u
#define DSYNC_LOGS_MAX_DELAY_MS 60000L
/* dsync_logs_due: whether bot.log has bytes beyond the shipped offset that the pacing (above) ships now (a
 * stat; no I/O to the object store). When bytes wait but are not due yet, *WAIT_MS is how long until the
 * maximum delay makes them due; else -1. */
bool dsync_logs_due(dsync_logs *l, long *wait_ms);
/* dsync_logs_key: "logs/<id>/<YYYYMMDD>.log" for time T (local time). */
void dsync_logs_key(const char *bot_id, time_t t, char *out, size_t cap);

/* ---- sync: the sidecar (daemon/sync.c), the one executor of fsm_sync_table --------------------------- */
typedef struct dsync_opts {
    const char *bot_id, *state_path, *logs_path;
    const char *watch_done; /* the bot's done file; it ends the sidecar (restartPolicy Never) */
    const char *done_file;  /* the bot's done file, only waited for after SIGTERM (restartPolicy Always) */
    long done_wait_ms;      /* after SIGTERM, wait this long at most for the done file (default 0; capped at
                               final_timeout_ms - 1 s) before the final sync */
    const char *state_bucket, *logs_bucket;
    const char *spool_dir;  /* where the snapshot is spooled (default: logs_path) */
    const char *termination_log; /* the final outcome is written here when set */
    const char *trace_key;  /* the FSM trace key (default bot_id) */
    dar_limits state_limits;
    long interval_ms;       /* periodic scan, default 60 s */
    long debounce_ms;       /* quiet time after a change, default 200 ms */
    long max_wait_ms;       /* the longest a change waits for quiet, default 300 ms (then the upload runs whatever comes) */
    long final_timeout_ms;  /* bound of the end from SIGTERM (the wait for the bot included) or from the done
                               file to the exit, default 25 s */
    long retry_base_ms;     /* first backoff, default 1 s, doubling to retry_max_ms (default 30 s) */
    long retry_max_ms;
    long done_poll_ms;      /* also look for the done file this often (default 500; < 0 never) */
    long logs_max_delay_ms; /* the longest new log lines wait for their append (dsync_logs pacing; default 60 s,
                               0 = never held) */
    /* called before each final attempt with the time left, so the transport can cap its timeouts */
    void (*deadline_hook)(void *ud, long remaining_ms);
    void *deadline_ud;
} dsync_opts;
typedef struct dsync dsync;
/* dsync_start: start the sidecar on ENV: watches (inotify in production), timers, and an immediate
 * change so that bytes left unshipped by a previous sidecar go out at once. Strings in O are borrowed.
 * EXIT runs once when the final sync ended (code 0 — see the sync table). *out is owned by the caller. */
t0_status dsync_start(const dd_env *env, const dsync_opts *o, dd_exit_fn exit_fn, void *ud, dsync **out,
                      t0_err *err);
/* dsync_term: SIGTERM/SIGINT: start the final sync, after the wait for the bot's done file when one is
 * configured and absent (fsm/sync_table.c); ignored once exited. */
void dsync_term(dsync *s);
/* dsync_destroy: stop at once (SIGKILL): no more callbacks, no final sync. NULL is a no-op. */
void dsync_destroy(dsync *s);
/* Observation for tests and the simulator. */
typedef struct dsync_info {
    int state;                /* enum sync_state */
    uint64_t state_uploads, log_appends, upload_failures, snapshot_retries;
    uint64_t state_skips;     /* uploads whose state part was skipped: the tree had not changed */
    dd_state_meta remote;     /* what the state object holds, as far as known */
} dsync_info;
void dsync_get_info(const dsync *s, dsync_info *out);

/* ---- options from a container's args and environment (daemon/options.c) -------------------------------
 * What the production binary reads, so that a simulated pod runs the daemon exactly as its spec says. ENV
 * gives a variable's value or NULL (getenv in production; the container's env list in the simulator):
 * MINIO_CODE_BUCKET, MINIO_STATE_BUCKET, MAX_STATE_SIZE_MB, MAX_STATE_FILE_SIZE_MB, MAX_CODE_SIZE_MB,
 * MAX_CODE_FILE_SIZE_MB, MAX_ARCHIVE_ENTRIES, THE0_INIT_ATTEMPTS, THE0_RETRY_BASE_MS, THE0_BOT_DIR,
 * THE0_VAR_DIR, THE0_TERMINATION_LOG (default /dev/termination-log; "" for none). ARGV[0] is the subcommand
 * ("init" / "sync"). Strings in the result are borrowed from ARGV and ENV. Flags through core/cli.h.
 * Returns CLI_CONTINUE (core/cli.h) when the daemon should run with *O; otherwise the process exit status:
 * 0 after --help (the help on OUT), 1 after a usage error (the message on ERR, as the reference's cobra:
 * "unknown option '--x'", "invalid value ... for --interval ...", "Error: required flag(s) \"bot-id\" not
 * set"). OUT/ERR NULL: stdout/stderr. The MinIO endpoint and keys are the transport's (adapters/s3.h). */
typedef const char *(*dd_getenv_fn)(void *ud, const char *name);
int dinit_opts_parse(int argc, char **argv, dd_getenv_fn env, void *ud, dinit_opts *o, FILE *out, FILE *err);
int dsync_opts_parse(int argc, char **argv, dd_getenv_fn env, void *ud, dsync_opts *o, FILE *out, FILE *err);

/* ---- shared helpers (daemon/daemon.c, daemon/archive.c) ------------------------------------------- */
/* dd_escape: NAME with bytes outside printable ASCII as \xNN, for messages (truncated to CAP). */
const char *dd_escape(const char *name, char *out, size_t cap);
/* dd_termination_message: write MSG to PATH in place (Kubernetes reads the container's termination
 * message from it); best effort, a failure is logged at debug level. PATH NULL or "" does nothing. */
void dd_termination_message(const fs_port *fs, const char *path, const char *msg);

#endif
