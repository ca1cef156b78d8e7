/* test_hmap.c: the string-keyed hash map (core/hmap.h): lookups, replace, delete, exact-length getn,
 * growth, stable entries, the iteration order traces depend on, sorted iteration, the hash. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hmap.h"

static void *V(size_t i) { return (void *)(i + 1); } /* non-NULL distinct values */

Test(hmap, put_get_replace_delete)
{
    hmap m;
    hmap_init(&m);
    cr_expect_null(hmap_get(&m, "a"), "empty map: no value");
    cr_expect_null(hmap_del(&m, "a"), "empty map: nothing to delete");
    void *old = V(99);
    cr_assert_eq(hmap_put(&m, "a", V(1), &old), T0_OK);
    cr_expect_null(old, "a new key has no old value: got %p", old);
    cr_assert_eq(hmap_put(&m, "b", V(2), NULL), T0_OK);
    cr_assert_eq(hmap_put(&m, "a", V(3), &old), T0_OK);
    cr_expect_eq(old, V(1), "replace returns the old value: expected %p, got %p", V(1), old);
    cr_expect_eq(m.count, 2u, "two keys: count %zu", m.count);
    cr_expect_eq(hmap_get(&m, "a"), V(3));
    cr_expect_eq(hmap_del(&m, "a"), V(3), "delete returns the value");
    cr_expect_null(hmap_get(&m, "a"), "deleted key is gone");
    cr_expect_null(hmap_del(&m, "a"), "a second delete finds nothing");
    cr_expect_eq(m.count, 1u, "count after delete: %zu", m.count);
    cr_expect_eq(hmap_get(&m, "b"), V(2));
    hmap_free(&m);
    cr_expect_eq(m.count, 0u);
    cr_expect_null(hmap_get(&m, "b"), "freed map is empty");
    cr_assert_eq(hmap_put(&m, "c", V(4), NULL), T0_OK, "a freed map is usable again");
    cr_expect_eq(hmap_get(&m, "c"), V(4));
    hmap_free(&m);
    hmap_free(NULL);
}

Test(hmap, getn_matches_exactly_n_bytes)
{
    hmap m;
    hmap_init(&m);
    cr_assert_eq(hmap_put(&m, "ab", V(1), NULL), T0_OK);
    cr_assert_eq(hmap_put(&m, "", V(2), NULL), T0_OK);
    cr_expect_eq(hmap_getn(&m, "abc", 2), V(1), "the first two bytes of \"abc\" are the key \"ab\"");
    cr_expect_null(hmap_getn(&m, "abc", 3), "\"abc\" is not stored");
    cr_expect_null(hmap_getn(&m, "ab", 1), "\"a\" is not stored (a prefix of a key is not the key)");
    cr_expect_eq(hmap_getn(&m, "xyz", 0), V(2), "zero bytes: the empty key");
    cr_expect_eq(hmap_get(&m, ""), V(2));
    hmap_free(&m);
}

Test(hmap, many_keys_survive_growth_and_entries_do_not_move)
{
    enum { N = 20000 };
    hmap m;
    hmap_init(&m);
    char k[32];
    cr_assert_eq(hmap_put(&m, "first", V(N), NULL), T0_OK);
    hmap_entry *first = hmap_first(&m);
    cr_assert_not_null(first);
    for (size_t i = 0; i < N; i++) {
        snprintf(k, sizeof k, "pods/ns/bot-%zu", i);
        cr_assert_eq(hmap_put(&m, k, V(i), NULL), T0_OK);
    }
    cr_expect_eq(m.count, (size_t)N + 1, "count %zu", m.count);
    cr_expect_geq(m.nbuckets * 3, m.count * 4, "load factor at most 3/4: %zu entries in %zu buckets", m.count, m.nbuckets);
    for (size_t i = 0; i < N; i++) {
        snprintf(k, sizeof k, "pods/ns/bot-%zu", i);
        cr_assert_eq(hmap_get(&m, k), V(i), "key %s: expected %p, got %p", k, V(i), hmap_get(&m, k));
    }
    size_t seen = 0, found_first = 0;
    for (hmap_entry *e = hmap_first(&m); e; e = hmap_next(&m, e)) {
        seen++;
        if (e == first) found_first++;
    }
    cr_expect_eq(seen, (size_t)N + 1, "iteration visits every entry once: %zu", seen);
    cr_expect_eq(found_first, 1u, "the first entry kept its address through growth to %zu buckets (found %zu times)", m.nbuckets, found_first);
    cr_expect_str_eq(first->key, "first");
    /* delete every other key while iterating (taking the next entry first) */
    size_t deleted = 0;
    for (hmap_entry *e = hmap_first(&m), *n; e; e = n) {
        n = hmap_next(&m, e);
        if ((uintptr_t)e->val % 2 == 0) {
            hmap_del(&m, e->key);
            deleted++;
        }
    }
    cr_expect_eq(m.count + deleted, (size_t)N + 1, "count %zu + deleted %zu", m.count, deleted);
    for (size_t i = 0; i < N; i++) {
        snprintf(k, sizeof k, "pods/ns/bot-%zu", i);
        void *want = (i + 1) % 2 ? V(i) : NULL;
        cr_assert_eq(hmap_get(&m, k), want, "key %s after deletes: expected %p, got %p", k, want, hmap_get(&m, k));
    }
    hmap_free(&m);
}

/* The documented order, modelled independently: entries by bucket (hash & (buckets - 1)), and within
 * a bucket by insertion. Traces of the simulator's fakes depend on it, so a change of the map's layout
 * that changes it must show up here first. */
Test(hmap, iteration_order_is_bucket_then_insertion)
{
    enum { N = 300 };
    hmap m;
    hmap_init(&m);
    char keys[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", (i * 7919) % 1000);
        cr_assert_eq(hmap_put(&m, keys[i], V((size_t)i), NULL), T0_OK);
    }
    for (int i = 0; i < N; i += 5) hmap_del(&m, keys[i]);
    for (int i = 0; i < N; i += 10) cr_assert_eq(hmap_put(&m, keys[i], V((size_t)i), NULL), T0_OK); /* re-added: now last */
    /* model: live keys with their last insertion rank */
    int rank[N], live[N], nlive = 0;
    for (int i = 0; i < N; i++) rank[i] = i % 5 == 0 ? (i % 10 == 0 ? N + i : -1) : i;
    for (int i = 0; i < N; i++)
        if (rank[i] >= 0) live[nlive++] = i;
    size_t mask = m.nbuckets - 1;
    for (int a = 1; a < nlive; a++) /* insertion sort by (bucket, rank) */
        for (int b = a; b > 0; b--) {
            int x = live[b - 1], y = live[b];
            size_t bx = hmap_hash(keys[x]) & mask, by = hmap_hash(keys[y]) & mask;
            if (bx < by || (bx == by && rank[x] < rank[y])) break;
            live[b - 1] = y;
            live[b] = x;
        }
    int i = 0;
    for (hmap_entry *e = hmap_first(&m); e; e = hmap_next(&m, e), i++) {
        cr_assert_lt(i, nlive, "more entries than live keys");
        cr_assert_str_eq(e->key, keys[live[i]], "position %d: expected %s, got %s", i, keys[live[i]], e->key);
    }
    cr_expect_eq(i, nlive, "iterated %d of %d live keys", i, nlive);
    /* the same history gives the same order */
    hmap m2;
    hmap_init(&m2);
    for (int j = 0; j < N; j++) hmap_put(&m2, keys[j], NULL, NULL);
    for (int j = 0; j < N; j += 5) hmap_del(&m2, keys[j]);
    for (int j = 0; j < N; j += 10) hmap_put(&m2, keys[j], NULL, NULL);
    for (hmap_entry *e = hmap_first(&m), *f = hmap_first(&m2); e || f; e = hmap_next(&m, e), f = hmap_next(&m2, f)) {
        cr_assert(e && f, "both maps have the same number of entries");
        cr_assert_str_eq(e->key, f->key);
    }
    hmap_free(&m);
    hmap_free(&m2);
}

static bool starts_with_b(const hmap_entry *e, const void *ctx) { return e->key[0] == *(const char *)ctx; }

Test(hmap, sorted_lists_entries_in_key_order)
{
    hmap m;
    hmap_init(&m);
    size_t n = 99;
    hmap_entry **v = hmap_sorted(&m, NULL, NULL, &n);
    cr_assert_not_null(v, "an empty map gives an empty array, not NULL");
    cr_expect_null(v[0]);
    cr_expect_eq(n, 0u);
    free(v);
    const char *in[] = {"b10", "a", "b2", "", "b1", "ab"};
    const char *want[] = {"", "a", "ab", "b1", "b10", "b2"};
    for (size_t i = 0; i < 6; i++) cr_assert_eq(hmap_put(&m, in[i], V(i), NULL), T0_OK);
    v = hmap_sorted(&m, NULL, NULL, &n);
    cr_assert_not_null(v);
    cr_expect_eq(n, 6u, "count %zu", n);
    for (size_t i = 0; i < 6; i++) cr_expect_str_eq(v[i]->key, want[i], "position %zu: expected \"%s\", got \"%s\"", i, want[i], v[i]->key);
    cr_expect_null(v[6], "NULL-terminated");
    cr_expect_eq(v[0]->val, V(3), "values come with their keys");
    free(v);
    v = hmap_sorted(&m, starts_with_b, "b", &n); /* only the kept entries, sorted */
    cr_assert_not_null(v);
    cr_expect_eq(n, 3u, "three keys start with b: %zu", n);
    for (size_t i = 0; i < 3; i++) cr_expect_str_eq(v[i]->key, want[3 + i], "kept %zu: expected %s, got %s", i, want[3 + i], v[i]->key);
    cr_expect_null(v[3]);
    free(v);
    v = hmap_sorted(&m, NULL, NULL, NULL); /* N is optional */
    cr_assert_not_null(v);
    cr_expect_null(v[6]);
    free(v);
    hmap_free(&m);
}

Test(hmap, hash_is_xxh3_64)
{
    /* XXH3_64bits of the empty input (the reference value of the xxHash spec) */
    cr_expect_eq(hmap_hash(""), 0x2D06800538D394C2ULL, "hash of \"\": %016llx", (unsigned long long)hmap_hash(""));
    cr_expect_eq(hmap_hash("abc"), hmap_hash_n("abcdef", 3), "hash_n hashes the first n bytes");
    cr_expect_neq(hmap_hash("abc"), hmap_hash("abd"));
}
