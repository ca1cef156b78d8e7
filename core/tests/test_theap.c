/* test_theap.c: the timer heap (core/theap.h): order by due then arming, cancel by id and stale ids, and
 * a long random run checked against a plain sorted-list model. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/prng.h"
#include "core/theap.h"

static char log_[64];
static size_t nlog;
static void note(void *ud)
{
    log_[nlog++] = *(const char *)ud;
    log_[nlog] = '\0';
}

static void drain(theap *h)
{
    theap_timer t;
    while (theap_pop(h, &t)) t.fn(t.ud);
}

Test(theap, pops_by_due_then_arming_order)
{
    theap h;
    theap_init(&h);
    nlog = 0;
    log_[0] = '\0';
    theap_add(&h, 50, note, "a");
    theap_add(&h, 10, note, "b");
    theap_add(&h, 50, note, "c"); /* same instant as a: after a */
    theap_add(&h, -5, note, "d"); /* the heap knows no clock: negative times are just early */
    theap_add(&h, 10, note, "e"); /* same instant as b: after b */
    cr_expect_eq(theap_len(&h), 5u);
    int64_t due = 0;
    cr_assert(theap_peek(&h, &due));
    cr_expect_eq(due, -5, "earliest due: expected -5, got %lld", (long long)due);
    theap_timer t;
    cr_assert(theap_pop(&h, &t));
    cr_expect_eq(t.due, -5);
    cr_expect_eq(t.fn, note);
    t.fn(t.ud);
    drain(&h);
    cr_expect_str_eq(log_, "dbeac", "pop order: expected dbeac, got %s", log_);
    cr_expect(!theap_peek(&h, &due), "empty heap has no earliest timer");
    cr_expect(!theap_pop(&h, &t), "empty heap pops nothing");
    cr_expect_eq(theap_add(&h, 1, NULL, NULL), 0u, "a NULL callback is not armed");
    cr_expect_eq(theap_len(&h), 0u);
    theap_free(&h);
}

Test(theap, cancel_by_id_and_stale_ids)
{
    theap h = {0}; /* a zeroed struct is an empty heap */
    nlog = 0;
    log_[0] = '\0';
    uint64_t ia = theap_add(&h, 30, note, "a");
    uint64_t ib = theap_add(&h, 20, note, "b");
    theap_add(&h, 10, note, "c");
    cr_assert(ia && ib && ia != ib, "ids are non-zero and distinct: %llu %llu", (unsigned long long)ia, (unsigned long long)ib);
    cr_expect(theap_cancel(&h, ib), "an armed timer cancels");
    cr_expect(!theap_cancel(&h, ib), "a cancelled id cancels nothing the second time");
    cr_expect(!theap_cancel(&h, 0));
    cr_expect(!theap_cancel(&h, 999999));
    uint64_t ib2 = theap_add(&h, 5, note, "B"); /* reuses b's slot */
    cr_expect_neq(ib2, ib, "a reused slot gets a new id");
    cr_expect(!theap_cancel(&h, ib), "the stale id does not cancel the slot's new timer");
    cr_expect_eq(theap_len(&h), 3u);
    drain(&h);
    cr_expect_str_eq(log_, "Bca", "expected Bca, got %s", log_);
    cr_expect(!theap_cancel(&h, ia), "a popped timer's id is stale");
    theap_add(&h, 1, note, "x");
    theap_free(&h); /* drops the pending timer without running it */
    cr_expect_str_eq(log_, "Bca");
    cr_expect_eq(theap_len(&h), 0u);
    theap_add(&h, 1, note, "y");
    drain(&h);
    cr_expect_str_eq(log_, "Bcay", "a freed heap is usable again: got %s", log_);
    theap_free(&h);
    theap_free(NULL);
}

/* the model: armed timers in a plain array; the next one is the smallest (due, seq) */
typedef struct mtimer {
    int64_t due;
    uint64_t seq, id;
    int tag;
    bool live;
} mtimer;

static void record(void *ud) { (void)ud; }

Test(theap, random_run_matches_a_sorted_model)
{
    enum { OPS = 40000 };
    static mtimer m[OPS];
    size_t nm = 0;
    theap h;
    theap_init(&h);
    prng r;
    prng_seed(&r, 12345);
    uint64_t seq = 0;
    size_t live = 0, pops = 0, cancels = 0;
    for (int op = 0; op < OPS; op++) {
        int64_t what = prng_range(&r, 0, 9);
        if (what < 5 || !live) { /* add, with many equal due times */
            int64_t due = prng_range(&r, 0, 200);
            uint64_t id = theap_add(&h, due, record, &m[nm]);
            cr_assert_neq(id, 0u);
            m[nm] = (mtimer){due, ++seq, id, (int)nm, true};
            nm++;
            live++;
        } else if (what < 7) { /* cancel a random earlier timer (live or not) */
            size_t i = (size_t)prng_range(&r, 0, (int64_t)nm - 1);
            bool was = theap_cancel(&h, m[i].id);
            cr_assert_eq(was, m[i].live, "cancel of timer %zu: heap says %d, model says %d", i, was, m[i].live);
            if (was) {
                m[i].live = false;
                live--;
                cancels++;
            }
        } else { /* pop */
            size_t best = SIZE_MAX;
            for (size_t i = 0; i < nm; i++)
                if (m[i].live && (best == SIZE_MAX || m[i].due < m[best].due || (m[i].due == m[best].due && m[i].seq < m[best].seq))) best = i;
            theap_timer t;
            cr_assert(theap_pop(&h, &t));
            cr_assert_eq(t.ud, (void *)&m[best], "pop %zu: heap gave timer %d (due %lld), model timer %zu (due %lld)", pops,
                         (int)((mtimer *)t.ud - m), (long long)t.due, best, (long long)m[best].due);
            cr_assert_eq(t.due, m[best].due);
            m[best].live = false;
            live--;
            pops++;
        }
        cr_assert_eq(theap_len(&h), live, "op %d: heap holds %zu, model %zu", op, theap_len(&h), live);
    }
    cr_expect_gt(pops, 1000u, "the run popped %zu", pops);
    cr_expect_gt(cancels, 1000u, "the run cancelled %zu", cancels);
    theap_free(&h);
}
