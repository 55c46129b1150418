package msgpack_test

import (
	"fmt"
	"time"

	"github.com/cachette-go/cachette/codecs"
	_ "github.com/cachette-go/cachette/codecs/msgpack" // registers "msgpack"
)

type Session struct {
	User    string
	Roles   []string
	Expires time.Time
}

// Importing the package makes the codec available by name, which is what
// cachette.New does with Config{Codec: "msgpack"}.
func Example() {
	codec, err := codecs.Lookup("msgpack")
	if err != nil {
		panic(err)
	}
	in := Session{User: "ada", Roles: []string{"admin"}, Expires: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	data, err := codec.Encode(in)
	if err != nil {
		panic(err)
	}
	var out Session
	if err := codec.Decode(data, &out); err != nil {
		panic(err)
	}
	fmt.Println(out.User, out.Roles, out.Expires.UTC().Format(time.RFC3339))
	// Output: ada [admin] 2030-01-02T03:04:05Z
}
