package sqlstore

import (
	"fmt"
	"time"
)

// Encoding and decoding of column values that the databases represent
// differently.

// nullTime is t for a nullable time column: NULL for the zero time.
func (s *Store) nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return s.d.Time(t)
}

// timeDest scans a time column into *t: the zero time for NULL, in UTC.
// The drivers hand back what the column holds: SQLite INTEGER
// microseconds since the Unix epoch, pgx's database/sql layer a time.Time
// for timestamptz. Decoding both here keeps the Dialect to encoding.
type timeDest struct{ t *time.Time }

// Scan implements sql.Scanner.
func (d timeDest) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.t = time.Time{}
	case int64:
		*d.t = time.UnixMicro(v).UTC()
	case time.Time:
		*d.t = v.UTC()
	default:
		return fmt.Errorf("scanning a time: unexpected %T", src)
	}
	return nil
}

// notesDest scans a notes column into *notes with the dialect's decoder:
// nil for NULL or no notes.
type notesDest struct {
	d     Dialect
	notes *[]string
}

// Scan implements sql.Scanner.
func (n notesDest) Scan(src any) error {
	var text string
	switch v := src.(type) {
	case nil:
		*n.notes = nil
		return nil
	case string:
		text = v
	case []byte:
		text = string(v)
	default:
		return fmt.Errorf("scanning notes: unexpected %T", src)
	}
	if text == "" {
		*n.notes = nil
		return nil
	}
	notes, err := n.d.DecodeNotes(text)
	if err != nil {
		return fmt.Errorf("decoding notes: %w", err)
	}
	if len(notes) == 0 {
		notes = nil
	}
	*n.notes = notes
	return nil
}

// nonNil keeps an empty token a zero-length BLOB or bytea rather than
// NULL, which the NOT NULL column refuses.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
