/* test_lang.c: the scenario language's tables agree: every verb of the enum has exactly one grammar row,
 * every action exactly one executor (actions.c) and every condition exactly one evaluator (expect.c), and
 * neither table holds a verb of the other kind. */
#include <criterion/criterion.h>

#include "scenarios/lang.h"
#include "scenarios/world.h"

static size_t rows_of(scn_verb v)
{
    size_t n = 0;
    for (size_t i = 0; i < scn_grammar_len; i++) n += scn_grammar[i].verb == v;
    return n;
}

static size_t execs_of(scn_verb v)
{
    size_t n = 0;
    for (size_t i = 0; i < scn_action_execs_len; i++) n += scn_action_execs[i].verb == v && scn_action_execs[i].exec;
    return n;
}

static size_t evals_of(scn_verb v)
{
    size_t n = 0;
    for (size_t i = 0; i < scn_cond_evals_len; i++) n += scn_cond_evals[i].verb == v && scn_cond_evals[i].eval;
    return n;
}

Test(scn_lang, every_verb_has_one_row_and_one_executor)
{
    for (int v = 0; v < SCN_VERB__COUNT; v++) {
        const char *name = scn_verb_name((scn_verb)v);
        cr_expect_eq(rows_of((scn_verb)v), 1u, "verb %d (%s): %zu grammar rows, want 1", v, name, rows_of((scn_verb)v));
        bool cond = scn_verb_is_condition((scn_verb)v);
        cr_expect_eq(execs_of((scn_verb)v), cond ? 0u : 1u, "verb %d (%s, %s): %zu executors, want %d", v, name,
                     cond ? "condition" : "action", execs_of((scn_verb)v), cond ? 0 : 1);
        cr_expect_eq(evals_of((scn_verb)v), cond ? 1u : 0u, "verb %d (%s, %s): %zu evaluators, want %d", v, name,
                     cond ? "condition" : "action", evals_of((scn_verb)v), cond ? 1 : 0);
    }
    for (size_t i = 0; i < scn_grammar_len; i++) {
        const scn_grammar_row *r = &scn_grammar[i];
        cr_expect(r->verb >= 0 && r->verb < SCN_VERB__COUNT, "grammar row %zu: verb %d out of range", i, r->verb);
        cr_expect_eq(r->condition, scn_verb_is_condition(r->verb), "grammar row %zu (%s): condition=%d but the verb is %s", i,
                     r->words ? r->words : "always NAME", r->condition, scn_verb_is_condition(r->verb) ? "a condition" : "an action");
        cr_expect(r->build != NULL, "grammar row %zu (%s) has no builder", i, r->words ? r->words : "always NAME");
    }
    cr_expect_eq(scn_action_execs_len + scn_cond_evals_len, (size_t)SCN_VERB__COUNT, "executors %zu + evaluators %zu, verbs %d",
                 scn_action_execs_len, scn_cond_evals_len, SCN_VERB__COUNT);
}

/* No two rows of one kind have the same words (the parser would take the first). */
Test(scn_lang, verb_words_are_unique)
{
    for (size_t i = 0; i < scn_grammar_len; i++)
        for (size_t j = i + 1; j < scn_grammar_len; j++) {
            const scn_grammar_row *a = &scn_grammar[i], *b = &scn_grammar[j];
            if (!a->words || !b->words || a->condition != b->condition) continue;
            cr_expect(strcmp(a->words, b->words), "grammar rows %zu and %zu both read '%s'", i, j, a->words);
        }
}
