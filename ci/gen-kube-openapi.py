#!/usr/bin/env python3
"""ci/gen-kube-openapi.py: write fakes/kube_openapi_data.c, the OpenAPI v3 component schemas of the resources
`the0-sim serve` offers (Kubernetes 1.30, the version its /version claims), from the npm package
kubernetes-types 1.30.0 (TypeScript definitions generated from the Kubernetes OpenAPI document, with its
descriptions). `serve` answers /openapi/v3/... with them (kubectl explain) and checks fieldValidation against
them. Run by hand when the served version changes:

    ci/gen-kube-openapi.py            # npm pack kubernetes-types@1.30.0 into a temporary folder
    ci/gen-kube-openapi.py DIR        # an unpacked package folder
"""
import json
import os
import re
import subprocess
import sys
import tempfile

PKG = "kubernetes-types@1.30.0"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fakes", "kube_openapi_data.c")
# the kinds served (fakes/kube_fake.c kf_res) by module and interface
ROOTS = [("core/v1", k) for k in ("Pod", "Event", "Namespace", "ServiceAccount", "Secret", "ConfigMap", "Service",
                                  "Node")] + \
        [("batch/v1", "CronJob"), ("batch/v1", "Job"), ("coordination/v1", "Lease"), ("apps/v1", "Deployment")] + \
        [("rbac/v1", k) for k in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")]


def prefix(module):
    if module == "meta/v1":
        return "io.k8s.apimachinery.pkg.apis.meta.v1"
    if module == "api/resource":
        return "io.k8s.apimachinery.pkg.api.resource"
    if module == "runtime":
        return "io.k8s.apimachinery.pkg.runtime"
    group, version = module.split("/")
    group = {"rbac": "rbac"}.get(group, group)
    return f"io.k8s.api.{group}.{version}"


def doc_text(lines):
    out = []
    for l in lines:
        l = l.strip()
        l = re.sub(r"^/\*\*\s?", "", l)
        l = re.sub(r"\s?\*/$", "", l)
        l = re.sub(r"^\*\s?", "", l)
        out.append(l)
    return "\n".join(out).strip()


def parse_module(root, module):
    """interfaces: name -> (doc, [(field, type_text, optional, doc)]); aliases: name -> type_text; imports"""
    text = open(os.path.join(root, module + ".d.ts")).read().split("\n")
    imports, interfaces, aliases = {}, {}, {}
    doc, cur, i = [], None, 0
    while i < len(text):
        line = text[i]
        s = line.strip()
        m = re.match(r'import \{ (.*) \} from "(.*)";', s)
        if m:
            target = os.path.normpath(os.path.join(os.path.dirname(module), m.group(2)))
            for n in m.group(1).split(", "):
                imports[n] = target
        elif s.startswith("/**"):
            doc = [line]
            while not text[i].strip().endswith("*/"):
                i += 1
                doc.append(text[i])
        elif m := re.match(r"export type (\w+) = (.*);", s):
            aliases[m.group(1)] = m.group(2)
            doc = []
        elif m := re.match(r"export interface (\w+) \{(\})?", s):
            cur = []
            interfaces[m.group(1)] = (doc_text(doc), cur)
            doc = []
        elif cur is not None and (m := re.match(r"(readonly )?([\w$]+)(\?)?: (.*)$", s)):
            t = m.group(4)
            if t == "{":  # a map over several lines
                i += 1
                inner = re.match(r"\[\w+: string\]: (.*);", text[i].strip()).group(1)
                t = "{" + inner + "}"
                i += 1  # the closing "};"
            else:
                t = t.rstrip(";")
            cur.append((m.group(2), t, bool(m.group(3)), doc_text(doc)))
            doc = []
        elif s == "}":
            cur = None
        i += 1
    return interfaces, aliases, imports


class Gen:
    def __init__(self, root):
        self.root, self.mods, self.schemas, self.todo = root, {}, {}, []

    def mod(self, module):
        if module not in self.mods:
            self.mods[module] = parse_module(self.root, module)
        return self.mods[module]

    def ref(self, module, name):
        """the schema name of interface or alias NAME used in MODULE, queued for generation"""
        interfaces, aliases, imports = self.mod(module)
        if name not in interfaces and name not in aliases:
            module = imports[name]
        full = prefix(module) + "." + name
        if full not in self.schemas and (module, name) not in self.todo:
            self.todo.append((module, name))
        return full

    def type_schema(self, module, t):
        if t == "string" or t.startswith('"'):
            return {"type": "string"}
        if t == "number":
            return {"type": "integer"}
        if t == "boolean":
            return {"type": "boolean"}
        if t == "number | string":
            return {"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString"}]}
        if m := re.match(r"Array<(.*)>$", t):
            items = self.type_schema(module, m.group(1))
            if "allOf" in items:
                items["default"] = {}
            return {"type": "array", "items": items}
        if m := re.match(r"\{(.*)\}$", t):
            value = self.type_schema(module, m.group(1))
            if "allOf" in value:  # a map's values refer to their schema directly, as the API server's documents do
                value = value["allOf"][0]
            return {"type": "object", "additionalProperties": value}
        return {"allOf": [{"$ref": "#/components/schemas/" + self.ref(module, t)}]}

    def build(self, module, name):
        interfaces, aliases, _ = self.mod(module)
        full = prefix(module) + "." + name
        if name in aliases:
            s = {"type": "string"}
            if name in ("Time", "MicroTime"):
                s["format"] = "date-time"
            self.schemas[full] = s
            return
        doc, fields = interfaces[name]
        s = {"description": doc, "type": "object"}
        props, required, api, kind = {}, [], None, None
        for f, t, optional, fdoc in fields:
            p = self.type_schema(module, t)
            if fdoc:
                p["description"] = fdoc
            props[f] = p
            if not optional:
                required.append(f)
            if f == "apiVersion" and t.startswith('"'):
                api = t.strip('"')
            if f == "kind" and t.startswith('"'):
                kind = t.strip('"')
        if props:
            s["properties"] = props
        if required:
            s["required"] = required
        if api and kind:
            g, _, v = api.rpartition("/")
            s["x-kubernetes-group-version-kind"] = [{"group": g, "kind": kind, "version": v}]
        self.schemas[full] = s

    def run(self):
        for module, name in ROOTS:
            self.ref(module, name)
        while self.todo:
            self.build(*self.todo.pop(0))
        self.schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = {
            "description": "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML "
                           "marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to "
                           "have, for example, a JSON field that can accept a name or number.",
            "type": "string", "format": "int-or-string"}
        rq = "io.k8s.apimachinery.pkg.api.resource.Quantity"
        if rq in self.schemas:
            self.schemas[rq]["description"] = "Quantity is a fixed-point representation of a number."
        return dict(sorted(self.schemas.items()))


def c_literal(js):
    out, line = [], ""
    for ch in js:
        e = {"\\": "\\\\", '"': '\\"', "?": "\\?"}.get(ch, ch)
        if len(line) + len(e) > 110:
            out.append('    "' + line + '"')
            line = ""
        line += e
    out.append('    "' + line + '"')
    return "\n".join(out)


def main():
    if len(sys.argv) > 1:
        root = sys.argv[1]
    else:
        tmp = tempfile.mkdtemp(prefix="the0-kube-types-")
        subprocess.run(["npm", "pack", PKG], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        subprocess.run("tar xzf *.tgz", shell=True, cwd=tmp, check=True)
        root = os.path.join(tmp, "package")
    schemas = Gen(root).run()
    js = json.dumps(schemas, separators=(",", ":"), ensure_ascii=True)
    with open(OUT, "w") as f:
        f.write("/* kube_openapi_data.c: the OpenAPI v3 component schemas of the resources `the0-sim serve` offers "
                "(Kubernetes 1.30),\n * generated by ci/gen-kube-openapi.py from the npm package " + PKG +
                "; do not edit. */\n")
        f.write('#include "fakes/kube_http_impl.h"\n\n')
        f.write(f"/* {len(schemas)} schemas, {len(js)} bytes of JSON: {{name: schema}} */\n")
        f.write("const char kh_openapi_schemas[] =\n" + c_literal(js) + ";\n")
    print(f"{OUT}: {len(schemas)} schemas, {len(js)} bytes")


if __name__ == "__main__":
    main()
