package seal

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func testKey() []byte { return bytes.Repeat([]byte{7}, KeySize) }

func TestRoundTripAndBinding(t *testing.T) {
	s, err := New(testKey())
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.Seal([]byte("glpat-secret"), []byte("slack:U1"))
	b, _ := s.Seal([]byte("glpat-secret"), []byte("slack:U1"))
	if bytes.Equal(a, b) {
		t.Error("two seals of one value are equal: the nonce is not fresh")
	}
	if bytes.Contains(a, []byte("glpat-secret")) {
		t.Error("the sealed value holds the plaintext")
	}
	if pt, err := s.Open(a, []byte("slack:U1")); err != nil || string(pt) != "glpat-secret" {
		t.Fatalf("Open = %q, %v", pt, err)
	}
	if _, err := s.Open(a, []byte("slack:U2")); !errors.Is(err, ErrOpen) {
		t.Errorf("Open under another identity = %v, want ErrOpen", err)
	}
	other, _ := New(bytes.Repeat([]byte{8}, KeySize))
	if _, err := other.Open(a, []byte("slack:U1")); !errors.Is(err, ErrOpen) {
		t.Errorf("Open with another key = %v, want ErrOpen", err)
	}
	a[len(a)-1] ^= 1
	if _, err := s.Open(a, []byte("slack:U1")); !errors.Is(err, ErrOpen) {
		t.Errorf("Open of a tampered value = %v, want ErrOpen", err)
	}
	if _, err := s.Open([]byte{1, 2}, nil); !errors.Is(err, ErrOpen) {
		t.Errorf("Open of a short value = %v, want ErrOpen", err)
	}
}

func TestParseKey(t *testing.T) {
	k := testKey()
	for _, in := range []string{base64.StdEncoding.EncodeToString(k), base64.RawURLEncoding.EncodeToString(k), hex.EncodeToString(k), " " + hex.EncodeToString(k) + "\n"} {
		got, err := ParseKey(in)
		if err != nil || !bytes.Equal(got, k) {
			t.Errorf("ParseKey(%q) = %x, %v", in, got, err)
		}
	}
	for in, want := range map[string]string{"": "empty", base64.StdEncoding.EncodeToString(k[:16]): "16 bytes", "not a key!": "neither"} {
		if _, err := ParseKey(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseKey(%q) = %v, want an error with %q", in, err, want)
		}
	}
}
