package sqlstore

import "time"

// Encoding rules both databases share, around the Dialect's encoders.

// nullTime is t for a nullable time column: NULL for the zero time.
func (s *Store) nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return s.d.Time(t)
}

// nonNil keeps an empty token a zero-length BLOB or bytea rather than
// NULL, which the NOT NULL column refuses.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
