package client

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Item is the struct the Redis and codec benchmarks store: a user-like
// record whose MessagePack encoding is about 1 KiB (ItemSize reports it).
type Item struct {
	ID         int64
	Name       string
	Email      string
	Active     bool
	Score      float64
	Tags       []string
	Attributes map[string]string
	Bio        string
	CreatedAt  time.Time
}

var words = strings.Fields(`cache entry expiry backend codec redis shard value key
	namespace prefix flush lock token refresh window origin handler request response
	header body status compute buffer planning memory server client record payload`)

// text returns n bytes of word salad drawn from r: compressible like real
// text, not a run of one byte.
func text(r *rand.Rand, n int) string {
	var b strings.Builder
	b.Grow(n + 16)
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[r.IntN(len(words))])
	}
	return b.String()[:n]
}

// NewItem returns the item number i; the same i always gives the same item.
func NewItem(i int) *Item {
	r := rand.New(rand.NewPCG(uint64(i), 0x9e3779b97f4a7c15))
	it := &Item{
		ID:         int64(i),
		Name:       "user-" + fmt.Sprint(i),
		Email:      fmt.Sprintf("user%d@example.com", i),
		Active:     i%3 != 0,
		Score:      r.Float64() * 100,
		Tags:       make([]string, 6),
		Attributes: make(map[string]string, 8),
		Bio:        text(r, 560),
		CreatedAt:  time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute),
	}
	for j := range it.Tags {
		it.Tags[j] = words[r.IntN(len(words))]
	}
	for j := range 8 {
		it.Attributes[fmt.Sprintf("attr-%d", j)] = text(r, 24)
	}
	return it
}

// Payload is the large value of the codec benchmarks: a list of records
// whose encoding is about 100 KiB.
type Payload struct {
	Page    int
	Total   int
	Records []Record
}

// Record is one row of a Payload.
type Record struct {
	ID      int64
	Title   string
	Summary string
	Price   float64
	InStock bool
	Labels  []string
}

// NewPayload returns a payload of n records (n = 512 gives about 100 KiB
// of MessagePack).
func NewPayload(n int) *Payload {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	p := &Payload{Page: 1, Total: n, Records: make([]Record, n)}
	for i := range p.Records {
		p.Records[i] = Record{
			ID:      int64(i),
			Title:   text(r, 24),
			Summary: text(r, 96),
			Price:   float64(r.IntN(100000)) / 100,
			InStock: r.IntN(2) == 0,
			Labels:  []string{words[r.IntN(len(words))], words[r.IntN(len(words))]},
		}
	}
	return p
}
