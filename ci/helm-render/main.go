// ci/helm-render: renders a Helm chart as `helm template` does, from Debian's packages only (Debian has no
// helm): Go's text/template with the sprig function library (both what Helm itself uses) plus Helm's own
// functions (include, tpl, required, fail, toYaml, fromYaml, toJson, lookup). Values: the chart's
// values.yaml, then each -f file, then each --set a.b=c (deep-merged in that order). .Release, .Chart,
// .Capabilities and .Template as Helm fills them for `helm template`. Missing keys render as "" (Helm's
// missingkey=zero plus its "<no value>" removal). Output: one "---\n# Source: CHART/templates/FILE"
// document per template that renders to something other than white space, in file-name order.
//
//   helm-render CHART_DIR [--release NAME] [--namespace NS] [-f VALUES.yaml]... [--set PATH=VALUE]...
//
// Not covered (the chart does not use them): subcharts, .Files, schema validation, hooks.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/template"

	sprig "github.com/Masterminds/sprig/v3"
	yaml "gopkg.in/yaml.v3"
)

func die(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "helm-render: "+format+"\n", a...)
	os.Exit(1)
}

func readYAML(path string) map[string]interface{} {
	b, err := os.ReadFile(path)
	if err != nil {
		die("%v", err)
	}
	m := map[string]interface{}{}
	if err := yaml.Unmarshal(b, &m); err != nil {
		die("%s: %v", path, err)
	}
	return m
}

// merge: SRC into DST, maps recursively, everything else replaced (Helm's coalescing of user values).
func merge(dst, src map[string]interface{}) {
	for k, v := range src {
		if sm, ok := v.(map[string]interface{}); ok {
			if dm, ok := dst[k].(map[string]interface{}); ok {
				merge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

// setValue: --set a.b.c=v with Helm's scalar typing (true/false, integers, else a string).
func setValue(vals map[string]interface{}, expr string) {
	eq := strings.IndexByte(expr, '=')
	if eq <= 0 {
		die("--set wants PATH=VALUE, got %q", expr)
	}
	path, raw := strings.Split(expr[:eq], "."), expr[eq+1:]
	var v interface{} = raw
	if raw == "true" || raw == "false" {
		v = raw == "true"
	} else if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
		v = n
	} else if raw == "null" {
		v = nil
	}
	m := vals
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]interface{})
		if !ok {
			next = map[string]interface{}{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

func toYAML(v interface{}) string {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func main() {
	if len(os.Args) < 2 {
		die("usage: helm-render CHART_DIR [--release NAME] [--namespace NS] [-f VALUES]... [--set PATH=VALUE]...")
	}
	dir := os.Args[1]
	release, namespace := "release-name", "default"
	chart := readYAML(filepath.Join(dir, "Chart.yaml"))
	vals := readYAML(filepath.Join(dir, "values.yaml"))
	for i := 2; i < len(os.Args); i++ {
		if i+1 >= len(os.Args) {
			die("%s needs a value", os.Args[i])
		}
		switch os.Args[i] {
		case "--release":
			release = os.Args[i+1]
		case "--namespace", "-n":
			namespace = os.Args[i+1]
		case "-f", "--values":
			merge(vals, readYAML(os.Args[i+1]))
		case "--set":
			setValue(vals, os.Args[i+1])
		default:
			die("unknown option %s", os.Args[i])
		}
		i++
	}
	name, _ := chart["name"].(string)
	str := func(k string) string { s, _ := chart[k].(string); return s }
	top := map[string]interface{}{
		"Values": vals,
		"Release": map[string]interface{}{"Name": release, "Namespace": namespace, "Service": "Helm",
			"IsInstall": true, "IsUpgrade": false, "Revision": 1},
		"Chart": map[string]interface{}{"Name": name, "Version": str("version"), "AppVersion": str("appVersion"),
			"Description": str("description")},
		"Capabilities": map[string]interface{}{"KubeVersion": map[string]interface{}{"Version": "v1.32.0",
			"Major": "1", "Minor": "32"}},
	}

	t := template.New("gotpl").Option("missingkey=zero")
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	funcs["toJson"] = func(v interface{}) string { b, _ := json.Marshal(v); return string(b) }
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil || v == "" {
			return nil, fmt.Errorf("%s", msg)
		}
		return v, nil
	}
	funcs["fail"] = func(msg string) (string, error) { return "", fmt.Errorf("%s", msg) }
	funcs["lookup"] = func(...string) map[string]interface{} { return map[string]interface{}{} }
	funcs["include"] = func(name string, data interface{}) (string, error) {
		var b bytes.Buffer
		err := t.ExecuteTemplate(&b, name, data)
		return b.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		c, err := t.Clone()
		if err != nil {
			return "", err
		}
		c, err = c.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var b bytes.Buffer
		err = c.Execute(&b, data)
		return b.String(), err
	}
	t.Funcs(funcs)

	var files []string
	err := filepath.Walk(filepath.Join(dir, "templates"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".tpl")) {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		die("%v", err)
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			die("%v", err)
		}
		rel, _ := filepath.Rel(dir, f)
		if _, err := t.New(name + "/" + rel).Parse(string(b)); err != nil {
			die("%v", err)
		}
	}
	var out bytes.Buffer
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		if strings.HasPrefix(filepath.Base(f), "_") {
			continue
		}
		top["Template"] = map[string]interface{}{"Name": name + "/" + rel, "BasePath": name + "/templates"}
		var b bytes.Buffer
		if err := t.ExecuteTemplate(&b, name+"/"+rel, top); err != nil {
			die("%v", err)
		}
		s := strings.ReplaceAll(b.String(), "<no value>", "")
		if strings.TrimSpace(s) == "" {
			continue
		}
		fmt.Fprintf(&out, "---\n# Source: %s/%s\n%s\n", name, rel, strings.Trim(s, "\n"))
	}
	os.Stdout.Write(out.Bytes())
}
