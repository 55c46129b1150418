package mongodb

import (
	"errors"
	"strings"
	"testing"

	"github.com/cachette-go/cachette/backends"
)

func TestRedact(t *testing.T) {
	base := errors.New("auth failed for u:p%40ss (p@ss)")
	err := backends.Redact(base, urlSecrets("mongodb://u:p%40ss@h/"))
	if strings.Contains(err.Error(), "p%40ss") || strings.Contains(err.Error(), "p@ss") {
		t.Fatalf("secret left in %q", err)
	}
	if !errors.Is(err, base) {
		t.Fatal("redact lost the error chain")
	}
	if backends.Redact(base, nil) != base {
		t.Fatal("redact changed an error with no secrets")
	}
}

func TestDocID(t *testing.T) {
	tests := []struct{ in, want string }{
		{"p:k é", "p:k é"},
		{"p:\xff", "p:\uFFFDff"},
		{"p:\uFFFD", "p:\uFFFDuu"},
		{"p:\uFFFDff", "p:\uFFFDuuff"},
		{"\xc3:\xa9", "\uFFFDc3:\uFFFDa9"},
	}
	for _, tt := range tests {
		if got := docID(tt.in); got != tt.want {
			t.Errorf("docID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
