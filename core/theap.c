/* theap.c: the binary timer heap with cancel by id (see theap.h). */
#include "core/theap.h"

#include <stdlib.h>
#include <string.h>

#define FREE_POS UINT32_MAX /* the heap position of a free slot */

void theap_init(theap *h) { memset(h, 0, sizeof *h); }

void theap_free(theap *h)
{
    if (!h) return;
    free(h->heap);
    free(h->slots);
    theap_init(h);
}

static inline bool before(const theap_node *a, const theap_node *b) { return a->due < b->due || (a->due == b->due && a->seq < b->seq); }

/* place: node X at heap position POS, its slot told where it is */
static inline void place(theap *h, uint32_t pos, theap_node x)
{
    h->heap[pos] = x;
    h->slots[x.slot].pos = pos;
}

static void sift_up(theap *h, uint32_t pos, theap_node x)
{
    while (pos > 0) {
        uint32_t parent = (pos - 1) / 2;
        if (!before(&x, &h->heap[parent])) break;
        place(h, pos, h->heap[parent]);
        pos = parent;
    }
    place(h, pos, x);
}

static void sift_down(theap *h, uint32_t pos, theap_node x)
{
    for (;;) {
        uint32_t c = 2 * pos + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && before(&h->heap[c + 1], &h->heap[c])) c++;
        if (!before(&h->heap[c], &x)) break;
        place(h, pos, h->heap[c]);
        pos = c;
    }
    place(h, pos, x);
}

/* remove_at: take the node at POS out of the heap, filling the hole with the last node */
static void remove_at(theap *h, uint32_t pos)
{
    theap_node last = h->heap[--h->n];
    if (pos == h->n) return;
    if (pos > 0 && before(&last, &h->heap[(pos - 1) / 2]))
        sift_up(h, pos, last);
    else
        sift_down(h, pos, last);
}

static void slot_release(theap *h, uint32_t slot)
{
    theap_slot *s = &h->slots[slot];
    s->fn = NULL;
    s->ud = NULL;
    s->pos = FREE_POS;
    s->gen++;
    s->next_free = h->free_head;
    h->free_head = slot + 1;
}

static bool reserve(theap *h)
{
    if (h->nslots < h->cap) return true;
    if (h->cap > UINT32_MAX / 2 - 1) return false;
    uint32_t nc = h->cap ? h->cap * 2 : 64;
    theap_slot *ns = realloc(h->slots, nc * sizeof *ns);
    if (!ns) return false;
    h->slots = ns;
    theap_node *nh = realloc(h->heap, nc * sizeof *nh);
    if (!nh) return false; /* the slots grew, the capacity did not: harmless */
    h->heap = nh;
    h->cap = nc;
    return true;
}

uint64_t theap_add(theap *h, int64_t due, theap_fn fn, void *ud)
{
    if (!fn) return 0;
    uint32_t slot;
    if (h->free_head) {
        slot = h->free_head - 1;
        h->free_head = h->slots[slot].next_free;
    } else {
        if (!reserve(h)) return 0;
        slot = h->nslots++;
        h->slots[slot].gen = 1;
    }
    theap_slot *s = &h->slots[slot];
    s->fn = fn;
    s->ud = ud;
    sift_up(h, h->n++, (theap_node){due, ++h->seq, slot});
    return ((uint64_t)s->gen << 32) | (uint64_t)(slot + 1);
}

bool theap_cancel(theap *h, uint64_t id)
{
    uint64_t s1 = id & 0xffffffffULL;
    if (!s1 || s1 > h->nslots) return false;
    uint32_t slot = (uint32_t)(s1 - 1);
    theap_slot *s = &h->slots[slot];
    if (s->gen != (uint32_t)(id >> 32) || s->pos == FREE_POS) return false;
    remove_at(h, s->pos);
    slot_release(h, slot);
    return true;
}

bool theap_peek(const theap *h, int64_t *due)
{
    if (!h->n) return false;
    *due = h->heap[0].due;
    return true;
}

bool theap_pop(theap *h, theap_timer *out)
{
    if (!h->n) return false;
    uint32_t slot = h->heap[0].slot;
    *out = (theap_timer){h->heap[0].due, h->slots[slot].fn, h->slots[slot].ud};
    remove_at(h, 0);
    slot_release(h, slot);
    return true;
}

size_t theap_len(const theap *h) { return h->n; }
