/* botprog.c: the bot program model (see botprog.h): the generated entrypoint around a program that writes
 * state and log lines through the container's filesystem port, and the readers of what it wrote. */
#include "fakes/botprog.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/str.h"

struct botprog {
    botprog_env env;
    botprog_spec spec;
    char var[256], code[256], wrapper[128], entry[256], done[300], log_path[300];
    bool trap, ended;
    fs_file *log;
    uint64_t log_off;
    uint64_t t_boot, t_exit, t_log, t_write, t_term, t_every;
    uint64_t every_n;
    size_t write_i;
    int64_t started;
};

static int64_t now(const botprog *b) { return b->env.loop->now_ms(b->env.loop->ctx); }
static uint64_t arm(botprog *b, int64_t ms, loop_fn fn) { return b->env.loop->timer(b->env.loop->ctx, ms, fn, b); }

static void disarm(botprog *b, uint64_t *t)
{
    if (*t) b->env.loop->cancel(b->env.loop->ctx, *t);
    *t = 0;
}

static void stop_timers(botprog *b)
{
    disarm(b, &b->t_boot);
    disarm(b, &b->t_exit);
    disarm(b, &b->t_log);
    disarm(b, &b->t_write);
    disarm(b, &b->t_term);
    disarm(b, &b->t_every);
}

static void close_log(botprog *b)
{
    if (b->log) b->env.fs->close(b->env.fs->ctx, b->log, NULL);
    b->log = NULL;
}

/* end: the script exits with CODE: the EXIT trap writes the done file, then the process is gone. Runs only
 * in a timer callback, and calls the exit callback last (it may free B). */
static void end(botprog *b, int code)
{
    if (b->ended) return;
    b->ended = true;
    stop_timers(b);
    close_log(b);
    if (b->trap) {
        char line[16];
        int n = snprintf(line, sizeof line, "%d\n", code);
        fs_write_all(b->env.fs, b->done, line, (size_t)n, 0644, NULL); /* a full volume: no done file */
    }
    b->env.exit(b->env.exit_ud, code);
}

/* ---- the program ------------------------------------------------------------------------------------ */
static void on_exit_timer(void *ud)
{
    botprog *b = ud;
    b->t_exit = 0;
    end(b, b->spec.exit_code);
}

static void on_term_timer(void *ud)
{
    botprog *b = ud;
    b->t_term = 0;
    end(b, 143);
}

static void on_log(void *ud)
{
    botprog *b = ud;
    b->t_log = 0;
    uint64_t n = ++*b->env.hooks.line_seq;
    char line[256], num[24];
    t0_u64_dec(num, n);
    size_t len = t0_strjoin(line, sizeof line, b->env.bot_id, " ", b->spec.log_text, " #", num, ".\n");
    t0_err e = {0};
    int eno = 0;
    if (!b->log) {
        eno = EBADF;
    } else if (b->env.fs->write(b->env.fs->ctx, b->log, b->log_off, line, len, &e) == T0_OK) {
        b->log_off += len;
    } else {
        eno = e.sys_errno ? e.sys_errno : EIO;
        fs_stat sb; /* what landed stays: the next line goes after it */
        if (b->env.fs->fstat(b->env.fs->ctx, b->log, &sb, NULL) == T0_OK) b->log_off = sb.size;
    }
    if (b->env.hooks.log_line) b->env.hooks.log_line(b->env.hooks.ud, n, eno);
    b->t_log = arm(b, b->spec.log_every_ms, on_log);
}

static void arm_write(botprog *b);

/* The SDK's set(key, value): the directory, then the file rewritten in place. */
static int write_state(botprog *b, const char *key, const char *val, uint64_t seq)
{
    const fs_port *fs = b->env.fs;
    char path[1024], doc[512];
    size_t o = 0;
    o += (size_t)snprintf(doc, sizeof doc, "{\"value\":\"");
    for (const unsigned char *p = (const unsigned char *)val; *p && o + 8 < sizeof doc; p++) {
        if (*p == '"' || *p == '\\') doc[o++] = '\\', doc[o++] = (char)*p;
        else if (*p < 0x20) o += (size_t)snprintf(doc + o, sizeof doc - o, "\\u%04x", *p);
        else doc[o++] = (char)*p;
    }
    o += (size_t)snprintf(doc + o, sizeof doc - o, "\",\"seq\":%llu}", (unsigned long long)seq);
    t0_err e = {0};
    t0_status st = fs_mkdirs(fs, b->env.state_dir, 0755, &e);
    if (st == T0_OK && snprintf(path, sizeof path, "%s/%s.json", b->env.state_dir, key) >= (int)sizeof path)
        return ENAMETOOLONG;
    fs_file *f = NULL;
    if (st == T0_OK) st = fs->open(fs->ctx, path, FS_WRITE | FS_CREATE | FS_TRUNC, 0644, &f, &e);
    if (st == T0_OK) st = fs->write(fs->ctx, f, 0, doc, o, &e);
    if (f) fs->close(fs->ctx, f, NULL);
    return st == T0_OK ? 0 : fs_errno(st, &e) ? fs_errno(st, &e) : EIO;
}

static void on_write(void *ud)
{
    botprog *b = ud;
    b->t_write = 0;
    const char *key = b->spec.writes[b->write_i].key, *val = b->spec.writes[b->write_i].val;
    uint64_t seq = ++*b->env.hooks.state_seq;
    int eno = write_state(b, key, val, seq);
    if (b->env.hooks.state_write) b->env.hooks.state_write(b->env.hooks.ud, seq, key, eno);
    b->write_i++;
    arm_write(b);
}

static void on_every(void *ud)
{
    botprog *b = ud;
    char val[24];
    t0_u64_dec(val, ++b->every_n);
    uint64_t seq = ++*b->env.hooks.state_seq;
    int eno = write_state(b, "steady", val, seq);
    if (b->env.hooks.state_write) b->env.hooks.state_write(b->env.hooks.ud, seq, "steady", eno);
    b->t_every = arm(b, b->spec.write_every_ms, on_every);
}

static void arm_write(botprog *b)
{
    if (b->write_i >= b->spec.nwrites) return;
    int64_t at = b->started + b->spec.writes[b->write_i].at_ms;
    b->t_write = arm(b, at > now(b) ? at - now(b) : 0, on_write);
}

/* ---- the entrypoint ------------------------------------------------------------------------------- */
/* after: the value that follows KEY in TEXT up to one of the bytes in STOP, into OUT. */
static bool after(const char *text, const char *key, const char *stop, char *out, size_t cap)
{
    const char *p = strstr(text, key);
    if (!p) return false;
    p += strlen(key);
    size_t n = strcspn(p, stop);
    if (n == 0 || n >= cap) return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

/* The script's paths (daemon/entrypoint.c writes them): false when it is not such a script. */
static bool read_script(botprog *b, const char *text)
{
    char logs[300];
    if (!after(text, "\nmkdir -p ", "\n", logs, sizeof logs)) return false;
    size_t l = strlen(logs);
    if (l < 6 || strcmp(logs + l - 5, "/logs")) return false;
    logs[l - 5] = '\0';
    snprintf(b->var, sizeof b->var, "%s", logs);
    snprintf(b->done, sizeof b->done, "%s/done", b->var);
    snprintf(b->log_path, sizeof b->log_path, "%s/logs/bot.log", b->var);
    if (!after(text, "set -e\ncd ", "\n", b->code, sizeof b->code)) return false;
    if (after(text, "cat > /tmp/", " ", b->wrapper, sizeof b->wrapper)) {
        if (!after(text, "export SCRIPT_PATH=\"", "\"", b->entry, sizeof b->entry)) return false;
    } else if (!after(text, "BINARY=\"", "\"", b->entry, sizeof b->entry) &&
               !after(text, "DLL=\"", "\"", b->entry, sizeof b->entry) && !after(text, "JAR=\"", "\"", b->entry, sizeof b->entry)) {
        return false;
    }
    return true;
}

static void on_fail(void *ud)
{
    botprog *b = ud;
    b->t_exit = 0;
    end(b, b->trap ? 1 : 127);
}

static void on_boot(void *ud)
{
    botprog *b = ud;
    b->t_boot = 0;
    const fs_port *fs = b->env.fs;
    char *text = NULL;
    if (fs_read_all(fs, b->env.script, 1 << 20, &text, NULL, NULL) != T0_OK) { /* bash: No such file or directory */
        end(b, 127);
        return;
    }
    bool ok = read_script(b, text);
    free(text);
    char path[600];
    snprintf(path, sizeof path, "%s/logs", b->var);
    if (!ok || fs_mkdirs(fs, path, 0755, NULL) != T0_OK) {
        end(b, 1);
        return;
    }
    fs->unlink(fs->ctx, b->done, NULL); /* rm -f */
    b->trap = true;
    fs_stat sb;
    if (fs->lstat(fs->ctx, b->code, &sb, NULL) != T0_OK || sb.type != FS_DIR) { /* cd (set -e) */
        end(b, 1);
        return;
    }
    static const char wrapper_text[] = "# the runtime's wrapper (daemon/entrypoint.c)\n";
    snprintf(path, sizeof path, "/tmp/%s", b->wrapper);
    if (*b->wrapper && fs_write_all(fs, path, wrapper_text, sizeof wrapper_text - 1, 0644, NULL) != T0_OK) {
        end(b, 1); /* a read-only root: the heredoc cannot be written */
        return;
    }
    snprintf(path, sizeof path, "%s/%s", b->code, b->entry);
    t0_err e = {0};
    if (fs->lstat(fs->ctx, path, &sb, NULL) != T0_OK ||
        fs->open(fs->ctx, b->log_path, FS_WRITE | FS_CREATE, 0644, &b->log, &e) != T0_OK) {
        b->log = NULL;
        end(b, 1); /* IMPORT_ERROR / Binary not found, or tee cannot open bot.log */
        return;
    }
    if (fs->fstat(fs->ctx, b->log, &sb, NULL) == T0_OK) b->log_off = sb.size;
    b->started = now(b);
    if (b->spec.exit_after_ms >= 0) b->t_exit = arm(b, b->spec.exit_after_ms, on_exit_timer);
    if (b->spec.log_every_ms > 0) b->t_log = arm(b, b->spec.log_every_ms, on_log);
    if (b->spec.write_every_ms > 0) b->t_every = arm(b, b->spec.write_every_ms, on_every);
    arm_write(b);
}

t0_status botprog_start(const botprog_env *env, const botprog_spec *spec, botprog **out, t0_err *err)
{
    botprog *b = calloc(1, sizeof *b);
    if (!b) return t0_fail(err, T0_ENOMEM, "bot program: out of memory");
    b->env = *env;
    b->spec = *spec;
    if (b->spec.nwrites > BOTPROG_MAX_WRITES) b->spec.nwrites = BOTPROG_MAX_WRITES;
    b->t_boot = arm(b, 0, on_boot);
    *out = b;
    return T0_OK;
}

void botprog_term(botprog *b)
{
    if (!b || b->ended || b->t_term || b->spec.term_ms < 0) return;
    if (b->t_boot) { /* not even started: bash dies of the signal */
        disarm(b, &b->t_boot);
        b->t_exit = arm(b, 0, on_fail);
        return;
    }
    b->t_term = arm(b, b->spec.term_ms, on_term_timer);
}

void botprog_kill(botprog *b)
{
    if (!b) return;
    stop_timers(b);
    close_log(b);
    free(b);
}

/* ---- readers ------------------------------------------------------------------------------------- */
bool botprog_doc_parse(const char *data, size_t len, uint64_t *seq, char *val, size_t cap)
{
    static const char head[] = "{\"value\":\"";
    if (len < sizeof head - 1 || memcmp(data, head, sizeof head - 1) || !cap) return false;
    size_t i = sizeof head - 1, o = 0;
    for (; i < len && data[i] != '"'; i++) {
        char c = data[i];
        if (c == '\\') {
            if (++i >= len) return false;
            c = data[i];
            if (c == 'u') {
                if (i + 4 >= len) return false;
                char hex[5] = {data[i + 1], data[i + 2], data[i + 3], data[i + 4], 0};
                c = (char)strtol(hex, NULL, 16);
                i += 4;
            }
        }
        if (o + 1 < cap) val[o++] = c;
    }
    val[o] = '\0';
    static const char mid[] = "\",\"seq\":";
    if (i + sizeof mid - 1 > len || memcmp(data + i, mid, sizeof mid - 1)) return false;
    i += sizeof mid - 1;
    uint64_t n = 0;
    size_t digits = 0;
    for (; i < len && data[i] >= '0' && data[i] <= '9'; i++, digits++) n = n * 10 + (uint64_t)(data[i] - '0');
    if (!digits || i + 1 != len || data[i] != '}') return false;
    *seq = n;
    return true;
}

uint64_t botprog_line_number(const char *line, size_t len)
{
    if (len < 3 || line[len - 1] != '.') return 0;
    size_t i = len - 1, digits = 0;
    uint64_t n = 0, mul = 1;
    while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9' && digits < 19) {
        i--;
        n += (uint64_t)(line[i] - '0') * mul;
        mul *= 10;
        digits++;
    }
    return digits && i > 0 && line[i - 1] == '#' ? n : 0;
}

/* gzip_whole: DATA[LEN] is one whole gzip stream (its end and CRC reached; only zero padding after it): a tar reader
 * alone takes a stream cut at a block boundary for a short archive. */
static bool gzip_whole(const void *data, size_t len, t0_err *err)
{
    z_stream z = {0};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return t0_fail(err, T0_ENOMEM, "archive: out of memory"), false;
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    unsigned char sink[16384];
    int r;
    do {
        z.next_out = sink;
        z.avail_out = sizeof sink;
        r = inflate(&z, Z_NO_FLUSH);
    } while (r == Z_OK);
    bool whole = r == Z_STREAM_END;
    for (uInt i = 0; whole && i < z.avail_in; i++) whole = z.next_in[i] == 0; /* a writer's block padding */
    if (!whole)
        t0_fail(err, T0_EINVAL, "not a whole gzip stream (%s after %lu of %zu bytes)",
                r == Z_STREAM_END ? "trailing bytes" : r == Z_BUF_ERROR ? "it ends early" : "corrupt data",
                (unsigned long)z.total_in, len);
    inflateEnd(&z);
    return whole;
}

t0_status botprog_archive_each(const void *data, size_t len, botprog_file_fn fn, void *ud, t0_err *err)
{
    if (!gzip_whole(data, len, err)) return T0_EINVAL;
    struct archive *a = archive_read_new();
    if (!a) return t0_fail(err, T0_ENOMEM, "archive: out of memory");
    t0_utf8_scope loc = t0_utf8_enter(); /* names are UTF-8 */
    archive_read_support_filter_gzip(a);
    archive_read_support_format_tar(a);
    t0_status st = T0_OK;
    if (archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
        st = t0_fail(err, T0_EINVAL, "not a tar.gz: %s", archive_error_string(a) ? archive_error_string(a) : "?");
    }
    struct archive_entry *e;
    char *buf = NULL;
    size_t cap = 0;
    int r;
    while (st == T0_OK && (r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname_utf8(e);
        if (!name) name = archive_entry_pathname(e);
        if (archive_entry_filetype(e) != AE_IFREG) continue;
        size_t n = 0;
        for (;;) {
            if (n + 65536 > cap) {
                size_t nc = cap ? 2 * cap : 65536;
                char *nb = realloc(buf, nc);
                if (!nb) {
                    st = t0_fail(err, T0_ENOMEM, "archive: out of memory");
                    break;
                }
                buf = nb;
                cap = nc;
            }
            la_ssize_t got = archive_read_data(a, buf + n, cap - n);
            if (got < 0) {
                st = t0_fail(err, T0_EINVAL, "archive entry %s: %s", name ? name : "?", archive_error_string(a));
                break;
            }
            if (got == 0) break;
            n += (size_t)got;
        }
        if (st == T0_OK) fn(ud, name ? name : "", buf ? buf : "", n);
    }
    if (st == T0_OK && r != ARCHIVE_EOF)
        st = t0_fail(err, T0_EINVAL, "archive: %s", archive_error_string(a) ? archive_error_string(a) : "damaged");
    free(buf);
    archive_read_free(a);
    t0_utf8_leave(loc);
    return st;
}
