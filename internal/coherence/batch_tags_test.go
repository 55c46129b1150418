package coherence_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"testing"

	"github.com/cachette-go/cachette"
)

// TestLocalTierBatchCoherence: FetchMany and GetOrLoadMany serve the keys
// of the local tier from it, and a write through another cache (Put or
// PutMany) is not served stale by them (LocalTTL is an hour, so only the
// server's invalidation can make A see the change).
func TestLocalTierBatchCoherence(t *testing.T) {
	for name, target := range coherenceTargets() {
		t.Run(name, func(t *testing.T) {
			cfg, _ := target(t)
			ctx := context.Background()
			a, b, _ := twoCaches(t, cfg)
			ta, tb := cachette.For[string](a), cachette.For[string](b)
			keys := []string{"k1", "k2"}

			// batchLocal reads keys through A until one batch is served
			// from its local tier alone, with want.
			batchLocal := func(what string, want map[string]string) {
				t.Helper()
				eventually(t, what, func() bool {
					before := a.Stats().LocalHits
					got, err := ta.FetchMany(ctx, keys)
					if err != nil {
						t.Fatal(err)
					}
					return maps.Equal(got, want) && a.Stats().LocalHits-before == uint64(len(keys))
				})
			}

			must(t, tb.PutMany(ctx, map[string]string{"k1": "v1", "k2": "v1"}))
			batchLocal("A's batch is served locally", map[string]string{"k1": "v1", "k2": "v1"})

			must(t, tb.Put(ctx, "k1", "v2"))
			eventually(t, "A's batch sees B's Put", func() bool {
				got, err := ta.FetchMany(ctx, keys)
				must(t, err)
				if got["k2"] != "v1" {
					t.Fatalf("k2 = %q", got["k2"])
				}
				return got["k1"] == "v2"
			})
			batchLocal("A's batch is served locally again", map[string]string{"k1": "v2", "k2": "v1"})

			must(t, tb.PutMany(ctx, map[string]string{"k1": "v3", "k2": "v3"}))
			eventually(t, "A's batch sees B's PutMany", func() bool {
				got, err := ta.FetchMany(ctx, keys)
				must(t, err)
				return maps.Equal(got, map[string]string{"k1": "v3", "k2": "v3"})
			})

			// GetOrLoadMany reads through the local tier too.
			noLoad := func(context.Context, []string) (map[string]string, error) {
				return nil, errors.New("unexpected load")
			}
			batchLocal("A's batch is served locally after the PutMany", map[string]string{"k1": "v3", "k2": "v3"})
			before := a.Stats().LocalHits
			got, err := ta.GetOrLoadMany(ctx, keys, noLoad)
			if err != nil || !maps.Equal(got, map[string]string{"k1": "v3", "k2": "v3"}) || a.Stats().LocalHits-before != 2 {
				t.Fatalf("GetOrLoadMany = %v, %v (%d local hits)", got, err, a.Stats().LocalHits-before)
			}
			must(t, tb.Put(ctx, "k2", "v4"))
			eventually(t, "A's GetOrLoadMany sees B's Put", func() bool {
				got, err := ta.GetOrLoadMany(ctx, keys, noLoad)
				must(t, err)
				return got["k2"] == "v4"
			})
		})
	}
}

// TestLocalTierTagInvalidationGranular: InvalidateTags(A) through B drops
// A's local values of tag A, and only those: values of tag B and untagged
// ones are still served from A's local tier.
func TestLocalTierTagInvalidationGranular(t *testing.T) {
	for name, target := range coherenceTargets() {
		t.Run(name, func(t *testing.T) {
			cfg, _ := target(t)
			ctx := context.Background()
			a, b, o := twoCaches(t, cfg)
			// A late invalidation of an earlier write (a tag version
			// created by a Put, reported after A's read) can drop a value
			// once: a round where that happens is run again with new tags.
			// With a tier that drops everything on a tag's change, every
			// round fails.
			var failed []string
			for round := range 5 {
				tagA, tagB := fmt.Sprintf("A%d", round), fmt.Sprintf("B%d", round)
				ka, kab, kb, ku := "a"+tagA, "ab"+tagA, "b"+tagB, "u"+tagA
				must(t, b.Put(ctx, ka, "va", cachette.WithTags(tagA)))
				must(t, b.Put(ctx, kab, "vab", cachette.WithTags(tagA, tagB)))
				must(t, b.Put(ctx, kb, "vb", cachette.WithTags(tagB)))
				must(t, b.Put(ctx, ku, "vu"))
				for k, v := range map[string]string{ka: "va", kab: "vab", kb: "vb", ku: "vu"} {
					waitLocal(t, a, o, k, v)
				}
				must(t, b.InvalidateTags(ctx, tagA))
				for _, k := range []string{ka, kab} {
					eventually(t, "A drops "+k, func() bool {
						_, _, err := fetchString(t, a, o, k)
						return errors.Is(err, cachette.ErrNotFound)
					})
				}
				before := a.Stats().LocalHits
				for k, v := range map[string]string{kb: "vb", ku: "vu"} {
					if s, _, err := fetchString(t, a, o, k); err != nil || s != v {
						t.Fatalf("%s = %q, %v", k, s, err)
					}
				}
				n := a.Stats().LocalHits - before
				if n == 2 {
					return
				}
				failed = append(failed, fmt.Sprintf("round %d: %d of 2 local hits", round, n))
			}
			t.Fatalf("B's and untagged values were not served from A's local tier after InvalidateTags(A): %v", failed)
		})
	}
}
