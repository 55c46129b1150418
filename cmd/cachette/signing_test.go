package main

import (
	"strings"
	"testing"

	"github.com/cachette-go/cachette/backends/backendtest"
)

// TestSignedEntries: with CACHETTE_SIGNING_KEY, put signs, inspect says
// so, get checks the tag, and a process with another key gets a miss; the
// key is never printed.
func TestSignedEntries(t *testing.T) {
	const keyA, keyB = "cli-signing-key-A-0123456789abcdef", "cli-signing-key-B-0123456789abcdef"
	base := []string{"CACHETTE_BACKEND=gob", "CACHETTE_PICKLE_PATH=" + t.TempDir(), "CACHETTE_PREFIX=" + backendtest.NewPrefix()}
	with := func(key string) []string { return append(append([]string(nil), base...), "CACHETTE_SIGNING_KEY="+key) }

	cli(t, with(keyA), "", "put", "k", "hello").want(t, "put", 0, "stored")
	cli(t, with(keyA), "", "inspect", "k").want(t, "inspect", 0, "signature    HMAC-SHA-256 tag, valid for signing_key")
	cli(t, base, "", "inspect", "k").want(t, "inspect without a key", 0, "signature    HMAC-SHA-256 tag, not checked (no signing_key)")
	cli(t, with(keyA), "", "get", "k").want(t, "get", 0, "hello\n")
	cli(t, base, "", "get", "k").want(t, "get without a key", 0, "hello\n")
	r := cli(t, with(keyB), "", "get", "k")
	r.wantErr(t, "get with another key", 3, `"k": the stored entry is refused`, "not authenticated")
	i := cli(t, with(keyB), "", "inspect", "k")
	i.want(t, "inspect with another key", 0, "signature    refused: ")
	for _, out := range []string{r.stdout, r.stderr, i.stdout, i.stderr} {
		if strings.Contains(out, keyA) || strings.Contains(out, keyB) {
			t.Errorf("a signing key is printed: %q", out)
		}
	}
	cli(t, with("short"), "", "get", "k").wantErr(t, "short key", 2, `"signing_key"`)
}
