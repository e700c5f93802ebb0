package config

import (
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/chatops-dev/chatops/bot/suggest"
)

// Problem is one thing wrong with a configuration file, in the one
// wording every configuration error uses: the line, the key, what is
// wrong and how to fix it.
type Problem struct {
	// Line is the 1-based line of the key (0 when it cannot be told).
	Line int
	// Key is the key as a path ("gitlab", "url"); empty for the file.
	Key []string
	// What says what is wrong.
	What string
	// Fix says what to write instead (may be empty).
	Fix string
}

func (p Problem) Error() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", p.Line)
	}
	if k := keyName(p.Key); k != "" {
		b.WriteString(k + ": ")
	}
	b.WriteString(p.What)
	if p.Fix != "" {
		b.WriteString("; fix: " + p.Fix)
	}
	return b.String()
}

// Problems are all the problems found in one file, printed one per line.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// keyName writes a key as the file shows it: "[gitlab] url".
func keyName(k []string) string {
	switch len(k) {
	case 0:
		return ""
	case 1:
		return "[" + k[0] + "]"
	}
	name := k[len(k)-1]
	if !regexp.MustCompile(`^[A-Za-z0-9_-]+$`).MatchString(name) {
		name = strconv.Quote(name)
	}
	return "[" + strings.Join(k[:len(k)-1], ".") + "] " + name
}

// typeMismatch matches the TOML library's type error, which it returns
// as plain text: `toml: line 3 (last key "bot.workers"): incompatible
// types: TOML value has type string; destination has type integer`.
var typeMismatch = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]+)"\): incompatible types: TOML value has type (\w+); destination has type (\w+)`)

// decodeProblem turns a decoding error into a Problem with key and line.
func decodeProblem(err error) Problem {
	if m := typeMismatch.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		key := strings.Split(m[2], ".")
		p := Problem{Line: line, Key: key, What: fmt.Sprintf("the value is %s but must be %s", article(m[3]), article(m[4]))}
		name := key[len(key)-1]
		switch m[4] {
		case "integer":
			p.Fix = fmt.Sprintf("write a number without quotes, e.g. %s = 64", name)
		case "boolean":
			p.Fix = fmt.Sprintf("write %s = true or %s = false, without quotes", name, name)
		case "string":
			p.Fix = fmt.Sprintf("put the value in double quotes, e.g. %s = \"...\"", name)
		}
		if isDuration(key) {
			p.What = "the value must be a duration in quotes"
			p.Fix = fmt.Sprintf("e.g. %s = \"30s\" (units ms, s, m, h)", name)
		}
		return p
	}
	if pe, ok := err.(toml.ParseError); ok {
		p := Problem{Line: pe.Position.Line, What: pe.Message}
		if pe.LastKey != "" {
			p.Key = strings.Split(pe.LastKey, ".")
		}
		if len(p.Key) > 0 && isDuration(p.Key) {
			p.Fix = fmt.Sprintf("write a duration in quotes, e.g. %s = \"30s\" (units ms, s, m, h)", p.Key[len(p.Key)-1])
		}
		return p
	}
	return Problem{What: err.Error()}
}

// isDuration reports whether key holds a Duration.
func isDuration(key []string) bool {
	t, ok := fieldType(key)
	return ok && t == reflect.TypeOf(Duration{})
}

// fieldType is the Go type of the field a key decodes into.
func fieldType(key []string) (reflect.Type, bool) {
	t := reflect.TypeOf(Config{})
	for _, k := range key {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil, false
		}
		f, ok := fieldByTag(t, k)
		if !ok {
			return nil, false
		}
		t = f.Type
	}
	return t, true
}

func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		if strings.Split(t.Field(i).Tag.Get("toml"), ",")[0] == name {
			return t.Field(i), true
		}
	}
	return reflect.StructField{}, false
}

// knownKeys lists the keys allowed in a section (or the sections, for nil).
func knownKeys(section []string) []string {
	t := reflect.TypeOf(Config{})
	if len(section) > 0 {
		var ok bool
		if t, ok = fieldType(section); !ok {
			return nil
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for i := range t.NumField() {
		if n := strings.Split(t.Field(i).Tag.Get("toml"), ",")[0]; n != "" {
			out = append(out, n)
		}
	}
	return out
}

// unknownKeys reports keys the configuration does not have, once each
// (an unknown section, not each of its keys), with a likely spelling.
func unknownKeys(text string, keys []toml.Key) Problems {
	var out Problems
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[strings.Join(k[:len(k)-1], ".")] {
			continue // inside an unknown section already reported
		}
		seen[k.String()] = true
		p := Problem{Line: lineOf(text, k), Key: k, What: "unknown key"}
		if len(k) == 1 {
			p.What = "unknown section"
		}
		p.Fix = "remove it, or check the spelling against config.example.toml"
		if near := suggest.Closest(k[len(k)-1], knownKeys(k[:len(k)-1])); near != "" {
			p.Fix = "did you mean " + near + "?"
		}
		out = append(out, p)
	}
	return out
}

// checkURL reports a URL key whose value is not an http(s) URL with a
// host, with the value to write instead.
func checkURL(text string, key []string, v string, example string) *Problem {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return nil
	}
	p := &Problem{Line: lineOf(text, key), Key: key,
		What: fmt.Sprintf("%q is not an http(s) URL with a host", v)}
	name := key[len(key)-1]
	if err == nil && u.Scheme == "" && !strings.Contains(v, " ") {
		p.Fix = fmt.Sprintf("%s = %q", name, "https://"+strings.TrimPrefix(v, "//"))
	} else {
		p.Fix = fmt.Sprintf("%s = %q", name, example)
	}
	return p
}

// article prefixes a type name with "a" or "an".
func article(s string) string {
	if strings.ContainsAny(s[:1], "aeiou") {
		return "an " + s
	}
	return "a " + s
}
