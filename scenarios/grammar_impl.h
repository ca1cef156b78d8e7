/* grammar_impl.h: the scenario grammar's internals, shared by its files and by nothing else (lang.h has
 * what the parser uses):
 *   grammar.c          the table of verbs and how a statement is matched, split and typed against it
 *   grammar_values.c   the value types of KEY=VALUE words and their conversion
 *   grammar_actions.c  the builders of actions (options, definitions, programs, faults, the cluster)
 *   grammar_conds.c    the builders of conditions */
#ifndef T0_SCN_GRAMMAR_IMPL_H
#define T0_SCN_GRAMMAR_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scenarios/lang.h"

/* A KEY=VALUE word with its value converted to the key's type. */
typedef struct scn_kv {
    const scn_tok *tok;
    const char *key; /* not NUL-terminated: klen bytes */
    size_t klen;
    const char *v;   /* the value as written */
    char ty;
    bool b;
    uint64_t u, lo, hi;
    int64_t i, ms;
    double f;
    cJSON *json;     /* 'j': owned by the script's arena */
} scn_kv;

/* A statement's words after the verb: positional words and KEY=VALUE words, each in order. */
typedef struct scn_args {
    const scn_tok *w; /* all words, the verb's included */
    size_t n, first;  /* words; index of the first after the verb */
    const scn_tok **pos;
    size_t npos;
    scn_kv *kv;
    size_t nkv;
} scn_args;

/* scn_kv_split: the KEY=VALUE word T into KV (not converted) */
void scn_kv_split(const scn_tok *t, scn_kv *kv);
/* scn_kv_typed: KV of key spec KEYS converted; reports and returns false when the key or value is wrong. VERB
 * names the statement in the message, in quotes when QUOTE ("'bot' does not take", "model does not take"). */
bool scn_kv_typed(scn_pctx *p, const char *verb, bool quote, const char *keys, scn_kv *kv);

static inline bool key_is(const scn_kv *kv, const char *key) { return kv->klen == strlen(key) && !strncmp(kv->key, key, kv->klen); }

/* The first KEY=VALUE word of KEY (as the language always read options given twice), or NULL. */
static inline const scn_kv *kv_first(const scn_args *a, const char *key)
{
    for (size_t i = 0; i < a->nkv; i++)
        if (key_is(&a->kv[i], key)) return &a->kv[i];
    return NULL;
}

static inline const char *pos(const scn_args *a, size_t k) { return k < a->npos ? a->pos[k]->s : NULL; }
static inline int pos_col(const scn_args *a, size_t k) { return k < a->npos ? a->pos[k]->col : a->w[0].col; }

/* ---- builders: each checks what is particular to its verbs and fills the statement's typed arguments ---- */
/* actions (grammar_actions.c) */
bool scn_b_option(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_end(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_define(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_publish(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_publish_raw(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_put_broken(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_obj(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_model(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_fault(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_clear_fault(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_none(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_outage(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_mgr(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_foreign(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_fin(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_on_off(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_cronjob_controller(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_note(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_object(scn_pctx *p, scn_stmt *s, const scn_args *a);
/* conditions (grammar_conds.c) */
bool scn_b_pod(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_num(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_event(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_api(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_violations(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_within(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_clock(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_fsm(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_manager(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_message(scn_pctx *p, scn_stmt *s, const scn_args *a);
bool scn_b_state(scn_pctx *p, scn_stmt *s, const scn_args *a);

#endif
