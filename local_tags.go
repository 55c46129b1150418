package cachette

import "hash/maphash"

// Tags in the local tier.
//
// A tag's invalidation drops the local values of that tag only. A tagged
// value remembers, for each of its tags, the tag's stripe (a hash of its
// version key, one of localTagStripes) and that stripe's counter when it
// was filled; an invalidation of the tag moves the counter, and a hit on a
// tagged value checks its counters (an untagged value checks nothing
// more). Two tags may share a stripe: invalidating one then drops the
// local values of the other too, which costs a store read, never a stale
// value.
//
// An invalidation arrives as a change of the tag's version key
// (tagVersionKey): reported by the server's tracking on redis and valkey,
// from InvalidateTags in this process on every store.
//
// A fill does not know the tags of its value before it reads the store,
// so it notes tagsAll, which every tag invalidation moves, in begin. A tag
// invalidation moves tagsAll first and the tag's stripe next; a fill of a
// tagged value notes its stripes' counters, stores its value, then drops
// it if tagsAll moved since begin. Whichever order the two run in, the
// value of an invalidated tag does not stay: if the fill saw tagsAll
// unmoved, the stripe moved after the fill noted it, and the next hit
// sees that.

// localTagStripes is the number of tag invalidation counters of a local
// tier (a power of two).
const localTagStripes = 1024

// tagMark is one tag of a local value: its stripe, and the stripe's
// counter when the value was filled.
type tagMark struct {
	stripe uint32
	epoch  uint64
}

func (l *localTier) tagStripe(versionKey string) uint32 {
	return uint32(maphash.String(l.seed, versionKey)) & (localTagStripes - 1)
}

// markTags returns the marks of the tags of a tag block (entry_ext.go),
// with their counters as they are now.
func (l *localTier) markTags(block string) []tagMark {
	tvs := decodeTags(block)
	if len(tvs) == 0 {
		return nil
	}
	marks := make([]tagMark, len(tvs))
	for i, tv := range tvs {
		s := l.tagStripe(tagVersionKey(tv.tag))
		marks[i] = tagMark{stripe: s, epoch: l.tagEpochs[s].Load()}
	}
	return marks
}

// tagsMoved reports whether a tag of a local value was invalidated since
// the value was filled.
func (l *localTier) tagsMoved(marks []tagMark) bool {
	for _, m := range marks {
		if l.tagEpochs[m.stripe].Load() != m.epoch {
			return true
		}
	}
	return false
}

// invalidateTagKey drops the local values of the tag whose version key
// (tagVersionKey) changed.
func (l *localTier) invalidateTagKey(versionKey string) {
	l.tagsAll.Add(1) // first: see above
	l.tagEpochs[l.tagStripe(versionKey)].Add(1)
}

// localInvalidateTags drops the local values of tags (canonical, as
// normalTags returns them), after their versions were deleted.
func (c *Cache) localInvalidateTags(tags []string) {
	if c.local == nil {
		return
	}
	for _, t := range tags {
		c.local.invalidateTagKey(tagVersionKey(t))
	}
}
