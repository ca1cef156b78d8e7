/* kube_rest_config.c: where the REST client's configuration comes from: in-cluster service account files
 * and kubeconfig (libyaml's document API) (see kube_rest.h). */
#include "adapters/kube_rest.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "adapters/kube_rest_impl.h"
#include "core/log.h"

#define SA_DIR_DEFAULT "/var/run/secrets/kubernetes.io/serviceaccount"

/* ---- small helpers ---------------------------------------------------------------------------- */
static char *xstrndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

char *kr_xstrdup(const char *s) { return s ? xstrndup(s, strlen(s)) : NULL; }

void kr_rtrim(char *s)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
}

/* b64_decode: standard base64 (whitespace ignored, padding optional) into a new NUL-terminated buffer. */
static char *b64_decode(const char *in, size_t *outlen)
{
    size_t n = strlen(in);
    char *out = malloc(n * 3 / 4 + 4);
    if (!out) return NULL;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)in[i], v;
        if (c >= 'A' && c <= 'Z') v = c - 'A';
        else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
        else if (c >= '0' && c <= '9') v = c - '0' + 52;
        else if (c == '+' || c == '-') v = 62;
        else if (c == '/' || c == '_') v = 63;
        else if (c == '=') break;
        else if (isspace(c)) continue;
        else {
            free(out);
            return NULL;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = 0;
    if (outlen) *outlen = o;
    return out;
}

static char *join_path(const char *base, const char *p)
{
    if (!p) return NULL;
    if (p[0] == '/' || !base || !*base) return kr_xstrdup(p);
    size_t n = strlen(base) + strlen(p) + 2;
    char *r = malloc(n);
    if (r) snprintf(r, n, "%s/%s", base, p);
    return r;
}

void kuberest_config_free(kuberest_config *c)
{
    if (!c) return;
    free(c->server);
    free(c->ca_file);
    free(c->ca_pem);
    free(c->token);
    free(c->token_file);
    free(c->cert_file);
    free(c->cert_pem);
    free(c->key_file);
    free(c->key_pem);
    free(c->namespace);
    free(c->source);
    memset(c, 0, sizeof *c);
}

/* ---- in-cluster ------------------------------------------------------------------------------- */
t0_status kuberest_config_incluster(const char *sa_dir, kuberest_config *c, t0_err *err)
{
    memset(c, 0, sizeof *c);
    const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port)
        return t0_fail(err, T0_ENOTFOUND, "in-cluster config: KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT not set");
    if (!sa_dir) sa_dir = SA_DIR_DEFAULT;
    char path[1024];
    snprintf(path, sizeof path, "%s/token", sa_dir);
    if (access(path, R_OK) != 0)
        return t0_fail(err, T0_ENOTFOUND, "in-cluster config: service account token %s: %s", path, strerror(errno));
    char server[512];
    snprintf(server, sizeof server, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port);
    c->server = kr_xstrdup(server);
    c->token_file = kr_xstrdup(path);
    snprintf(path, sizeof path, "%s/ca.crt", sa_dir);
    if (access(path, R_OK) == 0) c->ca_file = kr_xstrdup(path);
    snprintf(path, sizeof path, "%s/namespace", sa_dir);
    char *ns = NULL;
    if (fs_read_host(path, KR_FILE_MAX, &ns, NULL, NULL) == T0_OK) {
        kr_rtrim(ns);
        c->namespace = ns;
    }
    c->source = kr_xstrdup("in-cluster");
    if (!c->server || !c->token_file || !c->source) {
        kuberest_config_free(c);
        return t0_fail(err, T0_ENOMEM, "in-cluster config: out of memory");
    }
    return T0_OK;
}

/* ---- kubeconfig (libyaml document API) -------------------------------------------------------- */
static yaml_node_t *ymap_get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE) return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);
        if (k && k->type == YAML_SCALAR_NODE && k->data.scalar.length == strlen(key) &&
            !memcmp(k->data.scalar.value, key, k->data.scalar.length))
            return yaml_document_get_node(d, p->value);
    }
    return NULL;
}

/* ystr: a copy of the scalar at MAP[KEY], or NULL (absent, not a scalar, or empty). */
static char *ystr(yaml_document_t *d, yaml_node_t *map, const char *key)
{
    yaml_node_t *n = ymap_get(d, map, key);
    if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.length == 0) return NULL;
    return xstrndup((const char *)n->data.scalar.value, n->data.scalar.length);
}

/* ynamed: in the sequence ROOT[LIST], the entry whose "name" is NAME; returns its INNER mapping. */
static yaml_node_t *ynamed(yaml_document_t *d, yaml_node_t *root, const char *list, const char *name, const char *inner)
{
    yaml_node_t *seq = ymap_get(d, root, list);
    if (!seq || seq->type != YAML_SEQUENCE_NODE) return NULL;
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
        yaml_node_t *e = yaml_document_get_node(d, *it);
        char *n = ystr(d, e, "name");
        bool match = n && !strcmp(n, name);
        free(n);
        if (match) return ymap_get(d, e, inner);
    }
    return NULL;
}

/* yfile: MAP[KEY], a file path, made absolute against BASE (NULL when absent) */
static char *yfile(yaml_document_t *d, yaml_node_t *map, const char *key, const char *base)
{
    char *v = ystr(d, map, key);
    char *path = join_path(base, v);
    free(v);
    return path;
}

/* ypem: MAP[KEY], base64 data, decoded into *OUT (left NULL when absent); false when it is not base64 */
static bool ypem(yaml_document_t *d, yaml_node_t *map, const char *key, char **out)
{
    char *v = ystr(d, map, key);
    bool ok = !v || (*out = b64_decode(v, NULL)) != NULL;
    free(v);
    return ok;
}

t0_status kuberest_config_kubeconfig_text(const char *text, size_t len, const char *base_dir, const char *context,
                                          kuberest_config *c, t0_err *err)
{
    memset(c, 0, sizeof *c);
    yaml_parser_t p;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&p)) return t0_fail(err, T0_ENOMEM, "kubeconfig: out of memory");
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (!yaml_parser_load(&p, &doc)) {
        t0_status st = t0_fail(err, T0_EINVAL, "kubeconfig: YAML error at line %lu: %s",
                               (unsigned long)p.problem_mark.line + 1, p.problem ? p.problem : "unknown");
        yaml_parser_delete(&p);
        return st;
    }
    yaml_parser_delete(&p);
    t0_status st = T0_OK;
    char *ctx_name = NULL, *cluster_name = NULL, *user_name = NULL;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || root->type != YAML_MAPPING_NODE) {
        st = t0_fail(err, T0_EINVAL, "kubeconfig: not a YAML mapping");
        goto out;
    }
    ctx_name = context && *context ? kr_xstrdup(context) : ystr(&doc, root, "current-context");
    if (!ctx_name) {
        st = t0_fail(err, T0_EINVAL, "kubeconfig: no current-context and no context chosen");
        goto out;
    }
    yaml_node_t *cx = ynamed(&doc, root, "contexts", ctx_name, "context");
    if (!cx) {
        st = t0_fail(err, T0_EINVAL, "kubeconfig: context \"%s\" not found", ctx_name);
        goto out;
    }
    cluster_name = ystr(&doc, cx, "cluster");
    user_name = ystr(&doc, cx, "user");
    c->namespace = ystr(&doc, cx, "namespace");
    yaml_node_t *cl = cluster_name ? ynamed(&doc, root, "clusters", cluster_name, "cluster") : NULL;
    if (!cl) {
        st = t0_fail(err, T0_EINVAL, "kubeconfig: context \"%s\": cluster \"%s\" not found", ctx_name,
                     cluster_name ? cluster_name : "");
        goto out;
    }
    c->server = ystr(&doc, cl, "server");
    if (!c->server) {
        st = t0_fail(err, T0_EINVAL, "kubeconfig: cluster \"%s\" has no server", cluster_name);
        goto out;
    }
    size_t sl = strlen(c->server);
    while (sl > 1 && c->server[sl - 1] == '/') c->server[--sl] = 0;
    char *insecure = ystr(&doc, cl, "insecure-skip-tls-verify");
    c->insecure = insecure && !strcmp(insecure, "true");
    free(insecure);
    if (!ypem(&doc, cl, "certificate-authority-data", &c->ca_pem)) {
        st = t0_fail(err, T0_EINVAL, "kubeconfig: cluster \"%s\": certificate-authority-data is not base64", cluster_name);
        goto out;
    }
    c->ca_file = yfile(&doc, cl, "certificate-authority", base_dir);
    yaml_node_t *us = user_name ? ynamed(&doc, root, "users", user_name, "user") : NULL;
    if (user_name && !us) {
        st = t0_fail(err, T0_EINVAL, "kubeconfig: context \"%s\": user \"%s\" not found", ctx_name, user_name);
        goto out;
    }
    if (us) {
        c->token = ystr(&doc, us, "token");
        c->token_file = yfile(&doc, us, "tokenFile", base_dir);
        c->cert_file = yfile(&doc, us, "client-certificate", base_dir);
        c->key_file = yfile(&doc, us, "client-key", base_dir);
        if (!ypem(&doc, us, "client-certificate-data", &c->cert_pem)) {
            st = t0_fail(err, T0_EINVAL, "kubeconfig: user \"%s\": client-certificate-data is not base64", user_name);
            goto out;
        }
        if (!ypem(&doc, us, "client-key-data", &c->key_pem)) {
            st = t0_fail(err, T0_EINVAL, "kubeconfig: user \"%s\": client-key-data is not base64", user_name);
            goto out;
        }
        if (ymap_get(&doc, us, "exec") || ymap_get(&doc, us, "auth-provider"))
            T0_WARN(COMP, "kubeconfig user \"%s\": exec/auth-provider credentials are not supported", user_name);
    }
out:
    free(ctx_name);
    free(cluster_name);
    free(user_name);
    yaml_document_delete(&doc);
    if (st != T0_OK) kuberest_config_free(c);
    return st;
}

t0_status kuberest_config_kubeconfig(const char *path, const char *context, kuberest_config *c, t0_err *err)
{
    size_t len = 0;
    char *text = NULL;
    t0_status rst = fs_read_host(path, KR_FILE_MAX, &text, &len, err);
    if (rst != T0_OK) {
        memset(c, 0, sizeof *c);
        t0_err_prefix(err, "kubeconfig");
        return rst;
    }
    char *dir = kr_xstrdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
    if (slash) *slash = 0;
    t0_status st = kuberest_config_kubeconfig_text(text, len, slash ? dir : ".", context, c, err);
    free(dir);
    free(text);
    if (st != T0_OK) {
        t0_err_prefix(err, "%s", path);
        return st;
    }
    if (!(c->source = kr_xstrdup(path))) {
        kuberest_config_free(c);
        return t0_fail(err, T0_ENOMEM, "kubeconfig: out of memory");
    }
    return T0_OK;
}

t0_status kuberest_config_load(const char *path, kuberest_config *c, bool *in_cluster, t0_err *err)
{
    if (in_cluster) *in_cluster = false;
    if (path && *path) return kuberest_config_kubeconfig(path, NULL, c, err);
    const char *env = getenv("KUBECONFIG");
    if (env && *env) {
        char first[1024];
        snprintf(first, sizeof first, "%s", env);
        char *colon = strchr(first, ':');
        if (colon) *colon = 0;
        return kuberest_config_kubeconfig(first, NULL, c, err);
    }
    t0_err e = {0};
    t0_status st = kuberest_config_incluster(NULL, c, &e);
    if (st == T0_OK) {
        if (in_cluster) *in_cluster = true;
        return T0_OK;
    }
    if (st != T0_ENOTFOUND) return t0_fail(err, st, "%s", e.msg);
    const char *home = getenv("HOME");
    char p[1024];
    snprintf(p, sizeof p, "%s/.kube/config", home ? home : "");
    if (home && access(p, R_OK) == 0) return kuberest_config_kubeconfig(p, NULL, c, err);
    return t0_fail(err, T0_ENOTFOUND,
                   "no Kubernetes configuration: not in a cluster (%s) and no kubeconfig (--kubeconfig, KUBECONFIG, "
                   "~/.kube/config)",
                   e.msg);
}
