/* daemon.h: the pod-side daemon: `daemon init` (init container) and `daemon sync` (sidecar), plus the pure
 * pieces they are built from (safe archive extraction, entrypoint generation, state and log shipping). */
#ifndef T0_DAEMON_H
#define T0_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "core/objstore.h"
#include "adapters/s3.h"
#include "core/t0.h"

/* daemon_main: argv[0] == "daemon", argv[1] "init" | "sync". Exit codes as reference §8.1/§9.1: 0 success,
 * 1 any error (printed as "Error: <msg>" on stderr); `sync` exits 0 after the done file or SIGTERM
 * once everything was shipped, and 1 when the final sync's deadline passed with data unshipped. */
int daemon_main(int argc, char **argv);

/* ---- archives (daemon/archive.c) ---------------------------------------------------------------------
 * Extraction defences, for the code zip and the state tar.gz alike. The archive is REFUSED (T0_EINVAL, the
 * message names the entry) when an entry has an absolute path or a ".." component, is a hard link, or is
 * a symlink whose target is absolute or contains ".." (such a link can escape directly or by composing
 * with other links; refusing all of them keeps every link pointing below its own directory), or when a
 * file would be written through a symlink. Limits (T0_ELIMIT): entry count, per-file size and total
 * size, counted on the bytes actually written (a lying header does not help a zip bomb); a file that
 * crosses a limit is deleted. Devices, FIFOs and sockets are skipped with a warning. Modes keep the
 * permission bits (setuid/setgid/sticky dropped); bits 0 (zips from non-Unix tools) become 0644/0755.
 * Fault point: daemon/extract/write fails a file write with ENOSPC. */
typedef enum dar_format { DAR_ZIP, DAR_TARGZ } dar_format;
typedef struct dar_limits {
    uint64_t max_total;   /* bytes over all files */
    uint64_t max_file;    /* bytes for one file */
    uint64_t max_entries; /* entries of any type */
} dar_limits;
typedef struct dar_stats {
    uint64_t files, dirs, links, skipped, bytes;
} dar_stats;
t0_status dar_extract(const char *archive_path, dar_format fmt, const char *dest, const dar_limits *lim,
                      dar_stats *stats, t0_err *err);

/* dar_snapshot: write a gzip'd tar of DIR (entries sorted, relative names without "./", directories
 * included, modes and mtimes kept, symlinks as links) to OUT (truncated first), and put the content
 * hash (hex SHA-256 over names, types, permission bits, contents and link targets; NOT mtimes) in HASH.
 * Consistency: each file is read through one descriptor, read a second time and compared (hash), and
 * its size/mtime/ctime/inode are checked again; a file modified in the last 30 ms counts as still being
 * written. If anything moved, the whole snapshot is retried (up to 20 times, 35 ms apart)
 * and finally fails with T0_ESTATE, so a half-written file is never shipped. A file that vanishes
 * between listing and opening is treated as deleted. Limits: T0_ELIMIT with the reference messages
 * ("state file <name> exceeds maximum size limit (...)", "total state size exceeds maximum limit (...)").
 * A missing DIR is T0_ENOTFOUND. An empty DIR gives a valid empty archive and DAR_EMPTY_HASH. */
#define DAR_EMPTY_HASH "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
t0_status dar_snapshot(const char *dir, const dar_limits *lim, FILE *out, char hash[65], dar_stats *stats,
                       t0_err *err);

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
 * trap writes "<status>\n" to <var_dir>/done. */
t0_status dinit_entrypoint_script(const char *runtime, const char *entrypoint, const dinit_paths *paths,
                                  char **out, t0_err *err);

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
} dinit_opts;
/* dinit_run: reference §8.2 steps. State: NoSuchKey/NoSuchBucket is a first run (nothing restored);
 * any other download failure is retried ATTEMPTS times with backoff and then fails init with
 * "failed to restore state: ..." — a bot never starts on empty state while saved state exists. */
t0_status dinit_run(const objstore *os, const dinit_opts *o, t0_err *err);
int dinit_main(int argc, char **argv);

/* ---- sync: state (daemon/sync_state.c) ---------------------------------------------------------------- */
/* Object bot-state/<id>/state.tar.gz carries user metadata the0-sha256 = content hash of the snapshot.
 * A missing object counts as "empty state", so an empty /state next to no object ships nothing, while
 * an emptied /state next to an object uploads an EMPTY ARCHIVE (deletions propagate; init then restores
 * no files). Upload happens only when the content hash differs from the remote one (learned by HEAD on
 * first use, then remembered), so a restarted sidecar does not re-upload what init just restored. */
typedef struct dsync_state {
    const objstore *os;
    const char *bucket, *dir;
    char key[512];
    dar_limits lim;
    char remote_hash[65]; /* "" until known */
    bool remote_known, bucket_ok;
    uint64_t uploads, skips; /* counters for tests and logs */
} dsync_state;
void dsync_state_init(dsync_state *s, const objstore *os, const char *bucket, const char *bot_id, const char *dir,
                      const dar_limits *lim);
/* dsync_state_sync: snapshot and upload when changed. *uploaded says whether a PUT happened. */
t0_status dsync_state_sync(dsync_state *s, bool *uploaded, t0_err *err);

/* ---- sync: logs (daemon/sync_logs.c) ---------------------------------------------------------------- */
/* New bytes of <logs>/bot.log are appended to bot-logs/logs/<id>/<YYYYMMDD>.log (local date at append
 * time) as "[YYYY-MM-DD HH:MM:SS] <chunk, whitespace-trimmed>\n". Exactly-once across restarts:
 *  - <logs>/.the0-sync-offset (written with write+fsync+rename) holds "v1 <stream> <offset> <pending-key>
 *    <pending-end>": a random stream id for this bot.log, the shipped offset, and the append in flight;
 *  - before a PUT the pending append is recorded; the PUT carries x-amz-meta-the0-stream/-the0-end; after
 *    a crash or an ambiguous failure the pending object is HEADed: if it carries our stream and end, the
 *    append happened and the offset advances, otherwise it is shipped again;
 *  - a failed GET of the day's object (other than NoSuchKey) never leads to a PUT: the chunk waits.
 * Chunks end at a newline; an unterminated tail is shipped once it stayed unchanged for one call, or
 * on the final sync. Fault point daemon/log/read fails the read of bot.log (EIO). */
typedef struct dsync_logs {
    const objstore *os;
    const char *bucket, *bot_id, *dir;
    char log_path[1024], offset_path[1024];
    char stream[33];
    uint64_t offset;
    char pending_key[512];
    uint64_t pending_end;
    bool loaded, bucket_ok;
    uint64_t last_seen_size;
    size_t max_chunk;          /* default 8 MiB */
    time_t (*now)(void *ud);   /* clock for dates and stamps (tests inject one); NULL = time() */
    void *now_ud;
    uint64_t appends;          /* counters */
} dsync_logs;
void dsync_logs_init(dsync_logs *l, const objstore *os, const char *bucket, const char *bot_id, const char *logs_dir);
/* dsync_logs_ship: ship at most one chunk. *more says whether unshipped bytes remain afterwards. */
t0_status dsync_logs_ship(dsync_logs *l, bool final, bool *more, t0_err *err);
/* dsync_logs_pending: whether bot.log has bytes beyond the shipped offset (cheap stat). */
bool dsync_logs_pending(dsync_logs *l);
/* dsync_logs_key: "logs/<id>/<YYYYMMDD>.log" for time T (local time). */
void dsync_logs_key(const char *bot_id, time_t t, char *out, size_t cap);

/* ---- sync: the daemon loop (daemon/sync.c) ------------------------------------------------------------ */
typedef struct dsync_opts {
    const char *bot_id, *state_path, *logs_path, *watch_done;
    const char *state_bucket, *logs_bucket;
    dar_limits state_limits;
    long interval_ms;       /* periodic scan, default 60 s */
    long debounce_ms;       /* default 200 */
    long final_timeout_ms;  /* bound for the final sync after SIGTERM / done file, default 25 s */
    long retry_base_ms;     /* first backoff, default 1 s, doubling to retry_max_ms (default 30 s) */
    long retry_max_ms;
    /* called before each final attempt with the time left, so the transport can cap its timeouts */
    void (*deadline_hook)(void *ud, long remaining_ms);
    void *deadline_ud;
} dsync_opts;
/* dsync_run: the sidecar, stepping fsm_sync_table. Returns the process exit code (0 shipped; 1 failed). */
int dsync_run(const objstore *os, const dsync_opts *o);
int dsync_main(int argc, char **argv);

/* ---- shared helpers (daemon/daemon.c) ---------------------------------------------------------------- */
/* dd_write_atomic: write DATA to PATH via PATH.tmp + fsync + rename (+ fsync of the directory).
 * Fault point daemon/state/write fails it with ENOSPC. */
t0_status dd_write_atomic(const char *path, const void *data, size_t len, mode_t mode, t0_err *err);
/* dd_mkdirs: mkdir -p with MODE. */
t0_status dd_mkdirs(const char *path, mode_t mode, t0_err *err);
/* dd_open_s3: the MinIO configuration from the environment and a client for it, as `daemon init` and
 * `daemon sync` both start (reference 8.1). On failure prints "Error: ..." to stderr and returns false;
 * on success the caller owns *cfg (s3_config_free) and *c. */
bool dd_open_s3(s3_config *cfg, s3_client **c);

/* dd_now_ms: CLOCK_MONOTONIC milliseconds. dd_sleep_ms sleeps, resuming after signals. */
int64_t dd_now_ms(void);
void dd_sleep_ms(long ms);

#endif
