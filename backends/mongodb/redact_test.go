package mongodb

import (
	"errors"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"mongodb://127.0.0.1:27017", "mongodb://127.0.0.1:27017"},
		{"mongodb://user@h", "mongodb://user@h"},
		{"mongodb://user:pw@h:1,h2:2/db?x=1", "mongodb://user:xxxxx@h:1,h2:2/db?x=1"},
		{"mongodb+srv://u:p%40ss@cluster.example/?retryWrites=true", "mongodb+srv://u:xxxxx@cluster.example/?retryWrites=true"},
		{"mongodb://u:p@ss@h", "mongodb://u:xxxxx@h"},
		{"no scheme u:p@h", "(a URL without a scheme)"},
	}
	for _, tt := range tests {
		if got := redactURL(tt.in); got != tt.want {
			t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRedact(t *testing.T) {
	base := errors.New("auth failed for u:p%40ss (p@ss)")
	err := redact(base, urlSecrets("mongodb://u:p%40ss@h/"))
	if strings.Contains(err.Error(), "p%40ss") || strings.Contains(err.Error(), "p@ss") {
		t.Fatalf("secret left in %q", err)
	}
	if !errors.Is(err, base) {
		t.Fatal("redact lost the error chain")
	}
	if redact(base, nil) != base {
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
