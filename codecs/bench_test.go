package codecs_test

import (
	"testing"

	"github.com/cachette-go/cachette/codecs"
	"github.com/cachette-go/cachette/codecs/internal/codectest"
)

func BenchmarkJSON(b *testing.B) { codectest.Bench(b, codecs.JSON{}) }
func BenchmarkGob(b *testing.B)  { codectest.Bench(b, codecs.Gob{}) }
