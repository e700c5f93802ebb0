package migrate

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadOrdersAndRejectsBadNames(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0002_b.sql": {Data: []byte("B")},
		"m/0001_a.sql": {Data: []byte("A")},
		"m/README.md":  {Data: []byte("ignored")},
		"m/0010_c.sql": {Data: []byte("C")},
	}
	ms, err := Load(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.SQL)
	}
	if strings.Join(got, "") != "ABC" {
		t.Fatalf("order = %v, want A B C", got)
	}

	for name, f := range map[string]fstest.MapFS{
		"no version": {"m/init.sql": {}},
		"duplicate":  {"m/0001_a.sql": {}, "m/1_b.sql": {}},
		"empty":      {"m/x.txt": {}},
	} {
		if _, err := Load(f, "m"); err == nil {
			t.Errorf("%s: Load succeeded, want an error", name)
		}
	}
}

func TestPending(t *testing.T) {
	known := []Migration{{Version: 1}, {Version: 2}, {Version: 3}}
	todo, err := Pending(known, []int{1})
	if err != nil || len(todo) != 2 || todo[0].Version != 2 || todo[1].Version != 3 {
		t.Fatalf("Pending = %v, %v; want versions 2, 3", todo, err)
	}
	if todo, err := Pending(known, []int{1, 2, 3}); err != nil || len(todo) != 0 {
		t.Fatalf("Pending(all applied) = %v, %v; want nothing", todo, err)
	}
	_, err = Pending(known, []int{1, 2, 3, 4})
	if err == nil || !strings.Contains(err.Error(), "version 4") || !strings.Contains(err.Error(), "newer chatops") {
		t.Fatalf("Pending(newer) error = %v, want one naming version 4 and a newer chatops", err)
	}
}
