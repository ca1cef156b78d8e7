/* lang.h: the scenario language inside the module: words, the grammar table the parser works from, the
 * script's arena and the error sink parse.c and grammar.c share (not part of the module's contract). */
#ifndef T0_SCN_LANG_H
#define T0_SCN_LANG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "scenarios/scn.h"

/* ---- the script's arena: strings, arrays and JSON values of the typed statements ------------------ */
typedef struct scn_arena scn_arena;
scn_arena *scn_arena_new(void);
void scn_arena_free(scn_arena *a);
/* scn_arena_alloc: N zeroed bytes aligned for any type, freed with the arena; NULL when out of memory. */
void *scn_arena_alloc(scn_arena *a, size_t n);
char *scn_arena_strdup(scn_arena *a, const char *s);
/* scn_arena_json: the arena takes J (a parsed value) and deletes it with itself; J back, or NULL (and J
 * deleted) when out of memory. */
cJSON *scn_arena_json(scn_arena *a, cJSON *j);

/* ---- words ------------------------------------------------------------------------------------------ */
typedef struct scn_tok {
    const char *s; /* the word with quotes removed */
    int col;       /* 1-based column where it starts */
    bool quoted;   /* the word started with a quote: never a KEY=VALUE */
} scn_tok;

/* scn_tok_is_kv: a KEY=VALUE word (comparison operators such as >= are not). */
bool scn_tok_is_kv(const scn_tok *t);

/* ---- one parse: where the errors of a file go ------------------------------------------------------ */
typedef struct scn_pctx {
    const char *path;
    int line;
    int text_col;       /* the column the current statement's text starts at */
    scn_arena *arena;
    scn_errors *errors; /* may be NULL */
    t0_err *err;        /* gets the first error */
    unsigned nerr;
    bool oom;
} scn_pctx;

/* scn_perr: report "PATH:LINE:COL: what is wrong" for the current line; parsing goes on. */
void scn_perr(scn_pctx *p, int col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* scn_pstr: S copied into the script's arena ("" and p->oom set when out of memory). */
const char *scn_pstr(scn_pctx *p, const char *s);

/* ---- the grammar (grammar.c) -------------------------------------------------------------------------- */
/* One verb: its leading words, whether it is a condition, how many positional words follow, the keys
 * it accepts as "name:type" (s string, d duration, u unsigned, i integer, f probability, j JSON, b on/off,
 * r range k..m, * anything; "config.*" accepts every key starting with "config."; NULL: the verb's
 * builder checks its words itself), and the builder that checks what is particular to it and fills the
 * statement's typed arguments. */
struct scn_args;
typedef struct scn_grammar_row {
    scn_verb verb;
    const char *words; /* NULL for SCN_INVARIANT (`always NAME`) */
    bool condition;
    int minpos, maxpos;
    const char *keys;
    bool (*build)(scn_pctx *p, scn_stmt *s, const struct scn_args *a);
} scn_grammar_row;
extern const scn_grammar_row scn_grammar[];
extern const size_t scn_grammar_len;
const char *scn_verb_name(scn_verb v); /* its words ("store put"), "always NAME" for SCN_INVARIANT */

/* scn_grammar_parse: S's verb and typed arguments from its N words W (time prefix, `within`, `expect` and
 * `always` removed; S->type set). false when the statement is wrong (every error reported). */
bool scn_grammar_parse(scn_pctx *p, scn_stmt *s, const scn_tok *w, size_t n);

bool scn_parse_bool(const char *v, bool *out);
bool scn_parse_range(const char *v, uint64_t *a, uint64_t *b);
/* scn_http_to_status: 404/409/410/422/429/401/403/5xx -> t0_status; -1 for anything else. */
int scn_http_to_status(int code);

#endif
