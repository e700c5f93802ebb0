// Package migrate holds what the store implementations share about schema
// migrations: reading the embedded, numbered SQL files and deciding which
// of them a database still needs. Each implementation applies them itself,
// in one transaction, because the SQL dialects and locking differ.
package migrate

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Migration is one numbered schema change.
type Migration struct {
	// Version is the number the file name starts with (0001_init.sql: 1).
	// Versions are applied in increasing order and recorded once applied.
	Version int
	// Name is the file name, for error messages.
	Name string
	// SQL is the file's content, run as one script.
	SQL string
}

// Load reads every *.sql file in dir of fsys, named NNNN_what.sql, in
// version order. Two files with one version, or a name without a version,
// are errors: they are programming mistakes that the tests catch.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("reading embedded migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive version number and an underscore (0001_init.sql)", name)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("reading migration %s: %w", name, err)
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s have the same version %d", ms[i-1].Name, ms[i].Name, ms[i].Version)
		}
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("no migrations embedded under %s", dir)
	}
	return ms, nil
}

// Pending returns the migrations of known whose version is not in applied,
// in order. It refuses a database that has a version this binary does not
// know: that database was migrated by a newer chatops, and an older one
// writing to it could lose or corrupt what the newer schema expects.
func Pending(known []Migration, applied []int) ([]Migration, error) {
	have := make(map[int]bool, len(applied))
	latest := known[len(known)-1].Version
	for _, v := range applied {
		if v > latest || !slices.ContainsFunc(known, func(m Migration) bool { return m.Version == v }) {
			return nil, fmt.Errorf("store: the database schema has version %d, which this chatops does not know (it knows up to %d): "+
				"the database was migrated by a newer chatops; run that version, or point this one at another database", v, latest)
		}
		have[v] = true
	}
	var todo []Migration
	for _, m := range known {
		if !have[m.Version] {
			todo = append(todo, m)
		}
	}
	return todo, nil
}
