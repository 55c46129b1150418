package bench_test

import (
	"encoding/json"
	"testing"

	"github.com/bytedance/sonic"
	"github.com/cachette-go/cachette/bench/client"
	gojsoncodec "github.com/cachette-go/cachette/codecs/gojson"
	gojson "github.com/goccy/go-json"
)

// jsonLib is one JSON library as a codec would call it.
type jsonLib struct {
	name      string
	marshal   func(any) ([]byte, error)
	unmarshal func([]byte, any) error
}

// jsonLibs are the candidates for the fast JSON codec, encoding/json
// first. codec-gojson is cachette's "gojson" codec: go-json behind
// encoding/json's validator (json.Valid), which it needs to refuse
// malformed text as encoding/json does (codecs/gojson). sonic-std is sonic.ConfigStd, the configuration that behaves like
// encoding/json (sorted map keys, HTML escaping, invalid UTF-8 replaced);
// sonic-fast is its default (sonic.ConfigDefault), which does none of
// that. jsonlib_v2_test.go adds encoding/json/v2 when the toolchain is
// built with GOEXPERIMENT=jsonv2.
var jsonLibs = []jsonLib{
	{"encoding-json", json.Marshal, json.Unmarshal},
	{"goccy-go-json", gojson.Marshal, gojson.Unmarshal},
	{"codec-gojson", gojsoncodec.Codec{}.Encode, gojsoncodec.Codec{}.Decode},
	{"sonic-std", sonic.ConfigStd.Marshal, sonic.ConfigStd.Unmarshal},
	{"sonic-fast", sonic.ConfigDefault.Marshal, sonic.ConfigDefault.Unmarshal},
}

// BenchmarkJSONLib compares the JSON libraries a cachette codec could
// use, encoding and decoding separately: a ~1.2 KiB struct (client.Item),
// a ~90 KiB struct (client.Payload of 512 records) and the Item as a
// map[string]any (what decoding it into an *any gives). Names:
// JSONLib/<value>/<encode|decode>/<library>.
func BenchmarkJSONLib(b *testing.B) {
	item := client.NewItem(1)
	itemJSON, err := json.Marshal(item)
	if err != nil {
		b.Fatal(err)
	}
	var itemMap map[string]any
	if err := json.Unmarshal(itemJSON, &itemMap); err != nil {
		b.Fatal(err)
	}
	values := []struct {
		name string
		v    any
		dst  func() any
	}{
		{"struct-1KiB", item, func() any { return new(client.Item) }},
		{"struct-100KiB", client.NewPayload(payloadRecords), func() any { return new(client.Payload) }},
		{"map-1KiB", itemMap, func() any { return new(map[string]any) }},
	}
	for _, val := range values {
		data, err := json.Marshal(val.v)
		if err != nil {
			b.Fatal(err)
		}
		for _, lib := range jsonLibs {
			b.Run(val.name+"/encode/"+lib.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					if _, err := lib.marshal(val.v); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		for _, lib := range jsonLibs {
			b.Run(val.name+"/decode/"+lib.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					if err := lib.unmarshal(data, val.dst()); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
