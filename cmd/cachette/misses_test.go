package main

import (
	"context"
	"testing"
	"time"

	"github.com/cachette-go/cachette"
	"github.com/cachette-go/cachette/backends/backendtest"
)

// TestGetAndTTLMissWhatFetchMisses: get and ttl report a negative marker
// and an entry of an invalidated tag as not found (exit 1), saying which,
// as Cache.Fetch misses them, instead of showing them as stored values;
// inspect shows both for what they are.
func TestGetAndTTLMissWhatFetchMisses(t *testing.T) {
	ctx := context.Background()
	dir, prefix := t.TempDir(), backendtest.NewPrefix()
	c, err := cachette.New(ctx, cachette.Config{Backend: "gob", PicklePath: dir, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = cachette.GetOrLoad(ctx, c, "gone", func(context.Context) (string, error) { return "", cachette.ErrNotFound },
		cachette.WithNegativeTTL(time.Hour))
	if err == nil {
		t.Fatal("GetOrLoad of a load that found nothing: no error")
	}
	if err := c.Put(ctx, "tagged", "v", cachette.WithTTL(time.Hour), cachette.WithTags("team:1")); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctx, "kept", "w", cachette.WithTTL(time.Hour), cachette.WithTags("team:2")); err != nil {
		t.Fatal(err)
	}
	if err := c.InvalidateTags(ctx, "team:1"); err != nil {
		t.Fatal(err)
	}
	env := []string{"CACHETTE_BACKEND=gob", "CACHETTE_PICKLE_PATH=" + dir, "CACHETTE_PREFIX=" + prefix}
	run := func(args ...string) result { t.Helper(); return cli(t, env, "", args...) }

	for _, cmd := range []string{"get", "ttl"} {
		run(cmd, "gone").wantErr(t, cmd+" of a negative entry", 1, `"gone" not found`, "negative entry")
		run(cmd, "tagged").wantErr(t, cmd+" of an invalidated tag's entry", 1, `"tagged" not found`, `invalidated by one of its tags ("team:1")`)
	}
	run("get", "kept").want(t, "get of a current tagged entry", 0, "w\n")
	run("ttl", "kept").want(t, "ttl of a current tagged entry", 0, "m")
	run("inspect", "gone").want(t, "inspect of a negative entry", 0, "negative     yes")
	run("inspect", "tagged").want(t, "inspect of an invalidated tag's entry", 0, `tags         "team:1", invalidated`)
	run("inspect", "kept").want(t, "inspect of a current tagged entry", 0, `tags         "team:2", current`)
}
