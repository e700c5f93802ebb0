package config

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
)

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandAll replaces ${VAR} in every string value of cfg. Only the braced
// form is expanded so that a literal "$" in a token stays as written.
func expandAll(cfg *Config, text string, lookup func(string) (string, bool)) Problems {
	var ps Problems
	expand := func(path []string, s string) string {
		return envRef.ReplaceAllStringFunc(s, func(ref string) string {
			name := envRef.FindStringSubmatch(ref)[1]
			v, ok := lookup(name)
			if !ok {
				key := toml.Key(path)
				ps = append(ps, Problem{Line: lineOf(text, key), Key: key,
					What: fmt.Sprintf("refers to ${%s}, which is not set in the environment", name),
					Fix:  fmt.Sprintf("export %s=... before starting chatops", name)})
			}
			return v
		})
	}
	walk(reflect.ValueOf(cfg).Elem(), nil, expand)
	return ps
}

// walk visits every string reachable from v (struct fields by their toml
// tag, map values, pointers) and replaces it with f's result.
func walk(v reflect.Value, path []string, f func([]string, string) string) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walk(v.Elem(), path, f)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			name := strings.Split(t.Field(i).Tag.Get("toml"), ",")[0]
			if name == "" || !t.Field(i).IsExported() {
				continue
			}
			walk(v.Field(i), append(path[:len(path):len(path)], name), f)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			// Map values are not addressable: walk a copy, store it back.
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			walk(e, append(path[:len(path):len(path)], k.String()), f)
			v.SetMapIndex(k, e)
		}
	case reflect.Slice:
		for i := range v.Len() {
			walk(v.Index(i), path, f)
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(f(path, v.String()))
		}
	}
}

// lineOf finds the line where key is defined: the line "name =" after the
// header of its table. It returns 0 when it cannot tell.
func lineOf(text string, key toml.Key) int {
	if len(key) == 0 {
		return 0
	}
	table := strings.Join(key[:len(key)-1], ".")
	name := key[len(key)-1]
	inTable := table == ""
	for i, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "[") {
			h := strings.Trim(strings.SplitN(t, "#", 2)[0], "[] \t")
			inTable = h == table
			if !inTable && h == strings.Join(key, ".") {
				return i + 1 // the key is itself a table
			}
			continue
		}
		if !inTable {
			continue
		}
		k, _, ok := strings.Cut(t, "=")
		if !ok {
			continue
		}
		k = strings.Trim(strings.TrimSpace(k), `"'`)
		if k == name {
			return i + 1
		}
	}
	return 0
}
