package gojson_test

import (
	"fmt"

	"github.com/cachette-go/cachette/codecs"
	_ "github.com/cachette-go/cachette/codecs/gojson" // registers "gojson" (alias "orjson")
)

type Profile struct {
	Name  string   `json:"name"`
	Langs []string `json:"langs"`
}

// Importing the package makes the codec available by name, and by the
// name of Cachette's orjson codec, which is what cachette.New does with
// Config{Codec: "orjson"}. The text is the JSON encoding/json writes.
func Example() {
	codec, err := codecs.Lookup("orjson")
	if err != nil {
		panic(err)
	}
	data, err := codec.Encode(Profile{Name: "ada", Langs: []string{"go", "python"}})
	if err != nil {
		panic(err)
	}
	var out Profile
	if err := codec.Decode(data, &out); err != nil {
		panic(err)
	}
	fmt.Println(codec.Name(), string(data))
	fmt.Println(out.Name, out.Langs)
	// Output:
	// gojson {"name":"ada","langs":["go","python"]}
	// ada [go python]
}
