//go:build goexperiment.jsonv2

package bench_test

import jsonv2 "encoding/json/v2"

// encoding/json/v2 exists only in toolchains built with GOEXPERIMENT=jsonv2
// (Go 1.25 and 1.26), which a library cannot require of its users; it is
// measured for reference. Under the experiment encoding/json itself is
// implemented with v2, so the encoding-json row of such a run is not the
// encoding/json of a normal build.
func init() {
	jsonLibs = append(jsonLibs, jsonLib{
		"json-v2",
		func(v any) ([]byte, error) { return jsonv2.Marshal(v) },
		func(b []byte, v any) error { return jsonv2.Unmarshal(b, v) },
	})
}
