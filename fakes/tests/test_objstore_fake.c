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
    /* timeout-applied on a PUT: the object is stored, the client times out all the same */
    spec = (sim_fault_spec){.kind = SIM_FAULT_TIMEOUT_APPLIED, .count = 1};
    cr_assert_eq(sim_faults_inject(f, "s3/put", &spec, &err), T0_OK, "%s", err.msg);
    objstore_body body = {.data = "v2", .len = 2};
    st = p.put(p.ctx, "b", "k", &body, "text/plain", NULL, &err);
    cr_expect_eq(st, T0_ETIMEOUT, "the PUT times out: %s", t0_status_name(st));
    buf = (objstore_buf){0};
    cr_expect_eq(p.get(p.ctx, "b", "k", &sink, NULL, &err), T0_OK, "%s", err.msg);
    cr_expect(buf.len == 2 && !memcmp(buf.data, "v2", 2), "and yet it was stored: got %.*s", (int)buf.len, buf.data);
    objstore_buf_free(&buf);
    objfake_destroy(o);
    sim_faults_destroy(f);
    sim_loop_destroy(l);
}

/* ETags are MD5s of the bodies, also when a body grows by appends (computed incrementally). */
Test(objstore_fake, etags_of_growing_bodies)
{
    objfake *a;
    cr_assert_eq(objfake_new(NULL, &a, NULL), T0_OK);
    objstore pa = objfake_port(a);
    t0_err err = {0};
    cr_assert_eq(objfake_create_bucket(a, "logs", &err), T0_OK);
    char body[4096] = "";
    for (int i = 0; i < 50; i++) {
        if (i % 3 == 0 && objfake_peek(a, "logs", "k")) objfake_etag(objfake_peek(a, "logs", "k")); /* not always asked */
        size_t l = strlen(body);
        if (i == 25) l = 0; /* a body that does not start with the old one */
        snprintf(body + l, sizeof body - l, "line %d\n", i);
        objstore_body b = {.data = body, .len = strlen(body)};
        cr_assert_eq(pa.put(pa.ctx, "logs", "k", &b, "text/plain", NULL, &err), T0_OK, "%s", err.msg);
        char want[33];
        objfake_md5_hex(body, strlen(body), want);
        cr_assert_str_eq(objfake_etag(objfake_peek(a, "logs", "k")), want, "after put %d", i);
    }
    objfake_destroy(a);
}
