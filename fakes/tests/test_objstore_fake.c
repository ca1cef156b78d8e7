/* test_objstore_fake.c: the fake MinIO: buckets, ETags, metadata, If-Match, prefix listing, faults. */
#include <criterion/criterion.h>
#include <string.h>

#include "fakes/objstore_fake.h"
#include "sim/faults.h"
#include "sim/loop.h"

Test(objstore_fake, put_get_head_list_delete)
{
    objfake *o;
    cr_assert_eq(objfake_new(NULL, &o, NULL), T0_OK);
    objstore p = objfake_port(o);
    t0_err err = {0};
    objstore_body body = {.data = "hello", .len = 5};
    cr_expect_eq(p.put(p.ctx, "b", "k", &body, NULL, NULL, &err), T0_ENOTFOUND, "no bucket yet: %s", err.msg);
    cr_assert_eq(p.ensure_bucket(p.ctx, "b", &err), T0_OK, "%s", err.msg);
    objstore_meta meta = {0};
    cr_assert_eq(objstore_meta_set(&meta, "owner", "x"), T0_OK);
    cr_assert_eq(p.put(p.ctx, "b", "logs/1/a", &body, "text/plain", &meta, &err), T0_OK, "%s", err.msg);
    cr_assert_eq(p.put(p.ctx, "b", "logs/0/z", &body, NULL, NULL, &err), T0_OK, "%s", err.msg);
    cr_assert_eq(p.put(p.ctx, "b", "state/1", &body, NULL, NULL, &err), T0_OK, "%s", err.msg);
    objstore_buf buf = {0};
    objstore_sink sink = {.buf = &buf};
    objstore_meta got = {0};
    cr_assert_eq(p.get(p.ctx, "b", "logs/1/a", &sink, &got, &err), T0_OK, "%s", err.msg);
    cr_expect_eq(buf.len, 5u);
    cr_expect_str_eq(buf.data, "hello");
    cr_expect_str_eq(got.etag, "5d41402abc4b2a76b9719d911017c592", "md5 etag: %s", got.etag);
    cr_expect_str_eq(objstore_meta_get(&got, "owner"), "x");
    objstore_buf_free(&buf);
    objstore_list l = {0};
    cr_assert_eq(p.list(p.ctx, "b", "logs/", &l, &err), T0_OK, "%s", err.msg);
    cr_assert_eq(l.n, 2u, "two keys under logs/: %zu", l.n);
    cr_expect_str_eq(l.keys[0], "logs/0/z", "sorted: %s", l.keys[0]);
    cr_expect_str_eq(l.keys[1], "logs/1/a", "sorted: %s", l.keys[1]);
    objstore_list_free(&l);
    cr_expect_eq(p.del(p.ctx, "b", "logs/1/a", &err), T0_OK);
    cr_expect_eq(p.head(p.ctx, "b", "logs/1/a", &got, &err), T0_ENOTFOUND, "after delete: %s", err.msg);
    cr_expect(strstr(err.msg, "NoSuchKey") != NULL, "%s", err.msg);
    objfake_destroy(o);
}

Test(objstore_fake, conditional_put)
{
    objfake *o;
    cr_assert_eq(objfake_new(NULL, &o, NULL), T0_OK);
    t0_err err = {0};
    cr_assert_eq(objfake_put_raw(o, "b", "k", "v1", 2, &err), T0_OK);
    const objfake_object *ob = objfake_peek(o, "b", "k");
    char etag[33];
    strcpy(etag, objfake_etag(ob));
    objstore_body body = {.data = "v2", .len = 2};
    cr_expect_eq(objfake_put_if_match(o, "b", "k", &body, NULL, NULL, "", &err), T0_ECONFLICT, "If-None-Match on existing: %s", err.msg);
    cr_expect_eq(err.http_status, 412);
    cr_expect_eq(objfake_put_if_match(o, "b", "k", &body, NULL, NULL, "0000", &err), T0_ECONFLICT, "wrong etag");
    cr_expect_eq(objfake_put_if_match(o, "b", "k", &body, NULL, NULL, etag, &err), T0_OK, "%s", err.msg);
    ob = objfake_peek(o, "b", "k");
    cr_expect_str_eq(ob->data, "v2");
    cr_expect_eq(ob->version, 2u, "version after overwrite: %llu", (unsigned long long)ob->version);
    cr_expect_eq(objfake_put_if_match(o, "b", "k", &body, NULL, NULL, etag, &err), T0_ECONFLICT, "stale etag now");
    objfake_destroy(o);
}

Test(objstore_fake, outage_and_faults)
{
    sim_loop *l;
    sim_faults *f;
    cr_assert_eq(sim_loop_new(3, 0, &l, NULL), T0_OK);
    cr_assert_eq(sim_faults_new(l, &f, NULL), T0_OK);
    objfake *o;
    cr_assert_eq(objfake_new(f, &o, NULL), T0_OK);
    objstore p = objfake_port(o);
    t0_err err = {0};
    cr_assert_eq(objfake_put_raw(o, "b", "k", "v", 1, &err), T0_OK);
    objfake_set_outage(o, true);
    cr_expect_eq(p.head(p.ctx, "b", "k", NULL, &err), T0_EUNAVAILABLE, "outage: %s", err.msg);
    objfake_set_outage(o, false);
    sim_fault_spec spec = {.kind = SIM_FAULT_ERROR, .status = T0_EINTERNAL, .first_call = 2};
    cr_assert_eq(sim_faults_inject(f, "s3/get", &spec, &err), T0_OK, "%s", err.msg);
    objstore_buf buf = {0};
    objstore_sink sink = {.buf = &buf};
    cr_expect_eq(p.get(p.ctx, "b", "k", &sink, NULL, &err), T0_OK, "1st call passes");
    t0_status st = p.get(p.ctx, "b", "k", &sink, NULL, &err);
    cr_expect_eq(st, T0_EINTERNAL, "2nd call fails: %s", t0_status_name(st));
    cr_expect_eq(p.get(p.ctx, "b", "k", &sink, NULL, &err), T0_OK, "3rd call passes");
    objstore_buf_free(&buf);
    objfake_destroy(o);
    sim_faults_destroy(f);
    sim_loop_destroy(l);
}

/* objfake_append must leave what a GET followed by a PUT of the longer body leaves: the same bytes, the
 * same ETag, version, content type and no user metadata; and fail where they fail, through the same points. */
Test(objstore_fake, append_equals_get_then_put)
{
    sim_loop *l;
    sim_faults *f;
    cr_assert_eq(sim_loop_new(3, 0, &l, NULL), T0_OK);
    cr_assert_eq(sim_faults_new(l, &f, NULL), T0_OK);
    objfake *a, *b;
    cr_assert_eq(objfake_new(f, &a, NULL), T0_OK);
    cr_assert_eq(objfake_new(NULL, &b, NULL), T0_OK);
    objstore pa = objfake_port(a), pb = objfake_port(b);
    t0_err err = {0};
    cr_expect_eq(objfake_append(a, "logs", "k", NULL, NULL, 0, "text/plain", &err), T0_ENOTFOUND, "no bucket: %s", err.msg);
    cr_expect(strstr(err.msg, "NoSuchBucket") != NULL, "%s", err.msg);
    cr_assert_eq(objfake_create_bucket(a, "logs", &err), T0_OK);
    cr_assert_eq(objfake_create_bucket(b, "logs", &err), T0_OK);
    objstore_meta meta = {0};
    cr_assert_eq(objstore_meta_set(&meta, "owner", "x"), T0_OK);
    objstore_body seed = {.data = "first\n", .len = 6};
    cr_assert_eq(pa.put(pa.ctx, "logs", "k", &seed, "application/octet-stream", &meta, &err), T0_OK, "%s", err.msg);
    cr_assert_eq(pb.put(pb.ctx, "logs", "k", &seed, "application/octet-stream", &meta, &err), T0_OK, "%s", err.msg);
    char line[64];
    for (int i = 0; i < 200; i++) { /* enough appends to move the body several times */
        snprintf(line, sizeof line, "line %d", i);
        const char *parts[] = {"[t] ", line, "\n"};
        const size_t lens[] = {4, strlen(line), 1};
        cr_assert_eq(objfake_append(a, "logs", i % 2 ? "k" : "new", parts, lens, 3, "text/plain", &err), T0_OK, "%s", err.msg);
        objstore_buf old = {0};
        objstore_sink sink = {.buf = &old};
        t0_status st = pb.get(pb.ctx, "logs", i % 2 ? "k" : "new", &sink, NULL, &err);
        cr_assert(st == T0_OK || st == T0_ENOTFOUND, "%s", err.msg);
        for (int j = 0; j < 3; j++) cr_assert_eq(objstore_buf_append(&old, parts[j], lens[j]), T0_OK);
        objstore_body body = {.data = old.data, .len = old.len};
        cr_assert_eq(pb.put(pb.ctx, "logs", i % 2 ? "k" : "new", &body, "text/plain", NULL, &err), T0_OK, "%s", err.msg);
        objstore_buf_free(&old);
    }
    const char *keys[] = {"k", "new"};
    for (int i = 0; i < 2; i++) {
        const objfake_object *x = objfake_peek(a, "logs", keys[i]), *y = objfake_peek(b, "logs", keys[i]);
        cr_assert(x && y, "%s exists in both", keys[i]);
        cr_expect_eq(x->len, y->len, "%s: %zu bytes appended, %zu by get+put", keys[i], x->len, y->len);
        cr_expect(x->len == y->len && !memcmp(x->data, y->data, x->len + 1), "%s: same bytes", keys[i]);
        cr_expect_str_eq(objfake_etag(x), objfake_etag(y), "%s: etag", keys[i]);
        cr_expect_eq(x->version, y->version, "%s: version %llu vs %llu", keys[i], (unsigned long long)x->version,
                     (unsigned long long)y->version);
        cr_expect_str_eq(x->content_type, y->content_type);
        cr_expect_eq(x->meta.nmeta, y->meta.nmeta, "%s: user metadata %zu vs %zu", keys[i], x->meta.nmeta, y->meta.nmeta);
    }
    objfake_stats sa, sb;
    objfake_get_stats(a, &sa);
    objfake_get_stats(b, &sb);
    cr_expect_eq(sa.gets, sb.gets + 1, "gets: %lu vs %lu (+1: the append without a bucket)", sa.gets, sb.gets);
    cr_expect_eq(sa.puts, sb.puts + 1, "puts: %lu vs %lu", sa.puts, sb.puts);
    /* a failing GET writes nothing; a failing PUT after a good GET writes nothing either */
    size_t before = objfake_peek(a, "logs", "k")->len;
    const char *parts[] = {"x\n"};
    const size_t lens[] = {2};
    sim_fault_spec get_fails = {.kind = SIM_FAULT_ERROR, .status = T0_EINTERNAL, .count = 1};
    cr_assert_eq(sim_faults_inject(f, "s3/get", &get_fails, &err), T0_OK, "%s", err.msg);
    cr_expect_eq(objfake_append(a, "logs", "k", parts, lens, 1, "text/plain", &err), T0_EINTERNAL, "get fault: %s", err.msg);
    sim_faults_clear(f, "*");
    sim_fault_spec put_fails = {.kind = SIM_FAULT_ERROR, .status = T0_EINTERNAL, .count = 1};
    cr_assert_eq(sim_faults_inject(f, "s3/put", &put_fails, &err), T0_OK, "%s", err.msg);
    cr_expect_eq(objfake_append(a, "logs", "k", parts, lens, 1, "text/plain", &err), T0_EINTERNAL, "put fault: %s", err.msg);
    cr_expect_eq(objfake_peek(a, "logs", "k")->len, before, "nothing written: %zu bytes, before %zu",
                 objfake_peek(a, "logs", "k")->len, before);
    objfake_destroy(a);
    objfake_destroy(b);
    sim_faults_destroy(f);
    sim_loop_destroy(l);
}
