/* theap.h: the project's one timer heap: callbacks ordered by due time, then by arming order, with
 * cancel by id in O(log n). The simulator's loop (virtual clock) and the production loop (monotonic
 * clock) both keep their timers in one; the heap itself knows no clock. */
#ifndef T0_THEAP_H
#define T0_THEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*theap_fn)(void *ud);

/* One armed timer, as theap_pop hands it out. */
typedef struct theap_timer {
    int64_t due;
    theap_fn fn;
    void *ud;
} theap_timer;

/* The fields are private. A timer lives in a slot of a pool (reused through a free list); the heap
 * holds its sort key (due, seq) and its slot. An id is (generation << 32) | (slot + 1): a stale id (its
 * slot reused since) is recognised and ignored. */
typedef struct theap_node {
    int64_t due;
    uint64_t seq;
    uint32_t slot;
} theap_node;
typedef struct theap_slot {
    theap_fn fn;
    void *ud;
    uint32_t gen;
    uint32_t pos;       /* index in the heap; UINT32_MAX while the slot is free */
    uint32_t next_free; /* free list: the next free slot + 1, 0 = none */
} theap_slot;
typedef struct theap {
    theap_node *heap;
    theap_slot *slots;
    uint32_t n;      /* armed timers */
    uint32_t nslots; /* slots ever used */
    uint32_t cap;    /* of both arrays */
    uint32_t free_head; /* the first free slot + 1, 0 = none */
    uint64_t seq;       /* arming order */
} theap;

/* theap_init: an empty heap (no allocation until the first add); a zeroed struct is one too. */
void theap_init(theap *h);
/* theap_free: free the heap's storage. Pending timers are dropped without running (their UD is not
 * freed). NULL is a no-op; the heap is empty and usable afterwards. */
void theap_free(theap *h);
/* theap_add: arm FN(UD) for DUE. Timers with equal DUE pop in the order they were added. Returns a
 * non-zero id for theap_cancel, 0 when FN is NULL or memory runs out (nothing is armed then). O(log n);
 * no allocation once the heap has grown to its working size. */
uint64_t theap_add(theap *h, int64_t due, theap_fn fn, void *ud);
/* theap_cancel: disarm the timer ID. Returns whether it was armed (0, unknown, already popped or
 * already cancelled ids return false and change nothing). O(log n). */
bool theap_cancel(theap *h, uint64_t id);
/* theap_peek: the earliest due time into *DUE; false when nothing is armed. */
bool theap_peek(const theap *h, int64_t *due);
/* theap_pop: remove the earliest timer (by due, then arming order) into *OUT; false when nothing is
 * armed. Its id is stale from here on. */
bool theap_pop(theap *h, theap_timer *out);
/* theap_len: how many timers are armed. */
size_t theap_len(const theap *h);

#endif
