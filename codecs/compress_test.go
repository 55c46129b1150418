package codecs

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/cachette-go/cachette/internal/zstdtest"
	"github.com/klauspost/compress/zstd"
)

func TestShouldCompress(t *testing.T) {
	tests := []struct {
		mode    string
		minSize int
		n       int
		want    bool
	}{
		{CompressSmart, 1024, 1023, false},
		{CompressSmart, 1024, 1024, true},
		{CompressSmart, 1024, 1025, true},
		{CompressSmart, 1024, 0, false},
		{"", 1024, 1023, false}, // "" is smart
		{"", 1024, 1024, true},
		{"SMART", 100, 99, false},
		{"Smart", 100, 100, true},
		{CompressSmart, 0, 0, true},
		{CompressAll, 1024, 0, true},
		{CompressAll, 1024, 1023, true},
		{CompressAll, 1024, 1024, true},
		{CompressAll, 1024, 1025, true},
		{"ALL", 1024, 1, true},
		{CompressDisabled, 1024, 1023, false},
		{CompressDisabled, 1024, 1024, false},
		{CompressDisabled, 1024, 1 << 30, false},
		{CompressDisabled, 0, 0, false},
		{"Disabled", 1, 2, false},
	}
	for _, tt := range tests {
		if got := ShouldCompress(tt.mode, tt.minSize, tt.n); got != tt.want {
			t.Errorf("ShouldCompress(%q, %d, %d) = %v, want %v", tt.mode, tt.minSize, tt.n, got, tt.want)
		}
	}
}

func TestValidCompression(t *testing.T) {
	for _, mode := range []string{"", "smart", "all", "disabled", "ALL", "Disabled"} {
		if !ValidCompression(mode) {
			t.Errorf("ValidCompression(%q) = false", mode)
		}
	}
	for _, mode := range []string{"none", "zstd", "gzip", " smart"} {
		if ValidCompression(mode) {
			t.Errorf("ValidCompression(%q) = true", mode)
		}
	}
}

func TestCompressRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"0 bytes", []byte{}},
		{"1 byte", []byte{'x'}},
		{"20 KiB of text", bytes.Repeat([]byte("cachette compresses this line. "), 20<<10/31+1)[:20<<10]},
		{"20 KiB random", random(20 << 10)},
		{"2 MiB of text", bytes.Repeat([]byte("0123456789abcdef"), 2<<20/16)},
		{"2 MiB random", random(2 << 20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("header")
			out := Compress(bytes.Clone(prefix), tt.data)
			if !bytes.HasPrefix(out, prefix) {
				t.Fatalf("Compress did not append to dst: % x", out[:min(len(out), 16)])
			}
			got, err := Decompress(out[len(prefix):])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.data) {
				t.Fatalf("round trip gave %d bytes, want %d", len(got), len(tt.data))
			}
		})
	}
}

func TestCompressShrinksRepetitiveData(t *testing.T) {
	data := bytes.Repeat([]byte("abc"), 10000)
	if out := Compress(nil, data); len(out) >= len(data)/10 {
		t.Fatalf("30000 repetitive bytes compressed to %d", len(out))
	}
}

func TestDecompressGarbage(t *testing.T) {
	valid := Compress(nil, []byte("hello, hello, hello"))
	corrupted := bytes.Clone(valid)
	corrupted[len(corrupted)-1] ^= 0xff
	for name, data := range map[string][]byte{
		"nil":                nil,
		"empty":              {},
		"text":               []byte("this is not zstd"),
		"magic only":         {0x28, 0xb5, 0x2f, 0xfd},
		"truncated":          valid[:len(valid)-3],
		"damaged last bytes": corrupted,
	} {
		t.Run(name, func(t *testing.T) {
			out, err := Decompress(data)
			if !errors.Is(err, ErrCorrupt) || !errors.Is(err, ErrDecompress) {
				t.Fatalf("Decompress = %q, %v; want an error wrapping ErrCorrupt and ErrDecompress", out, err)
			}
		})
	}
}

// zeroFrame builds a zstd frame of blocks run-length-encoded blocks of
// 128 KiB zeros each. If declared, the frame header states the content size
// as declared bytes whatever the blocks hold; 0 declares no size.
func zeroFrame(blocks int, declared uint64) []byte {
	if declared == 0 {
		return zstdtest.RLEFrame(blocks, -1)
	}
	return zstdtest.RLEFrame(blocks, int(declared))
}

func TestZeroFrameIsValid(t *testing.T) {
	out, err := Decompress(zeroFrame(3, 3<<17))
	if err != nil || len(out) != 3<<17 || bytes.ContainsFunc(out, func(r rune) bool { return r != 0 }) {
		t.Fatalf("%d bytes, %v; want 384 KiB of zeros", len(out), err)
	}
}

// allocated returns how many bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestCompressDeclaresContentSize checks that every frame Compress writes
// declares its content size, which DecompressLimit requires: without
// zstd.WithSingleSegment, payloads of 1 to 255 bytes got frames without it.
func TestCompressDeclaresContentSize(t *testing.T) {
	for _, n := range []int{0, 1, 100, 255, 256, 1024, 1025, 200 << 10, 9 << 20} {
		src := bytes.Repeat([]byte("cachette "), n/9+1)[:n]
		out := Compress(nil, src)
		var h zstd.Header
		if err := h.Decode(out); err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if !h.HasFCS || h.FrameContentSize != uint64(n) {
			t.Errorf("%d bytes: frame declares a content size: %v, %d", n, h.HasFCS, h.FrameContentSize)
		}
		if got, err := DecompressLimit(out, n); err != nil || !bytes.Equal(got, src) {
			t.Errorf("%d bytes with a limit of %[1]d: %d bytes, %v", n, len(got), err)
		}
		if n > 0 {
			if _, err := DecompressLimit(out, n-1); !errors.Is(err, ErrDecompress) {
				t.Errorf("%d bytes with a limit of %d: %v, want ErrDecompress", n, n-1, err)
			}
		}
	}
}

func TestDecompressRefusesBombs(t *testing.T) {
	t.Run("declared beyond MaxDecompressedSize", func(t *testing.T) {
		// 16 KiB of blocks that expand to 512 MiB + 128 KiB, declared.
		bomb := zeroFrame(MaxDecompressedSize/maxBlockSize+1, MaxDecompressedSize+1)
		var err error
		if n := allocated(func() { _, err = Decompress(bomb) }); n > 16<<20 {
			t.Errorf("refusing the bomb allocated %d bytes", n)
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Decompress = %v, want an error wrapping ErrCorrupt", err)
		}
	})
	t.Run("declared beyond what the blocks hold", func(t *testing.T) {
		// 18 bytes that claim 512 MiB: the decoder would allocate it all
		// before noticing the frame is short.
		lie := zeroFrame(1, MaxDecompressedSize)
		var err error
		if n := allocated(func() { _, err = Decompress(lie) }); n > 16<<20 {
			t.Errorf("refusing the frame allocated %d bytes", n)
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Decompress = %v, want an error wrapping ErrCorrupt", err)
		}
	})
	t.Run("undeclared", func(t *testing.T) {
		// 16,386 bytes of run-length encoded blocks in a frame that does
		// not declare its size expand to 512 MiB - 128 KiB, within
		// MaxDecompressedSize: the decoder used to grow its output block by
		// block and allocate 2.25 GB on the way.
		bomb := zstdtest.Bomb()
		var err error
		if n := allocated(func() { _, err = Decompress(bomb) }); n > 1<<20 {
			t.Errorf("refusing the frame allocated %d bytes", n)
		}
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Decompress = %v, want an error wrapping ErrCorrupt", err)
		}
		if out, err := Decompress(zeroFrame(1, 0)); !errors.Is(err, ErrDecompress) {
			t.Fatalf("one undeclared block: %d bytes, %v; want ErrDecompress", len(out), err)
		}
	})
	t.Run("limit", func(t *testing.T) {
		const limit = 1 << 20
		var out []byte
		var err error
		n := allocated(func() { out, err = DecompressLimit(zeroFrame(limit/maxBlockSize, limit), limit) })
		if err != nil || len(out) != limit {
			t.Fatalf("at the limit: %d bytes, %v", len(out), err)
		}
		if n > 2*limit {
			t.Errorf("decompressing %d bytes allocated %d", limit, n)
		}
		for name, bomb := range map[string][]byte{
			"one frame":  zeroFrame(limit/maxBlockSize+1, limit+maxBlockSize),
			"two frames": append(zeroFrame(limit/maxBlockSize, limit), zeroFrame(1, maxBlockSize)...),
		} {
			if n := allocated(func() { out, err = DecompressLimit(bomb, limit) }); n > limit/4 {
				t.Errorf("%s beyond the limit: refusing it allocated %d bytes", name, n)
			}
			if !errors.Is(err, ErrDecompress) {
				t.Fatalf("%s beyond the limit: %d bytes, %v; want ErrDecompress", name, len(out), err)
			}
		}
	})
}

func TestDecompressSeveralFrames(t *testing.T) {
	// Decompress reads every frame, as zstd does; the second frame is
	// checked like the first.
	two := append(Compress(nil, []byte("hello, ")), Compress(nil, []byte("world"))...)
	out, err := Decompress(two)
	if err != nil || string(out) != "hello, world" {
		t.Fatalf("two frames: %q, %v", out, err)
	}
	lie := append(Compress(nil, []byte("hello")), zeroFrame(1, MaxDecompressedSize)...)
	if _, err := Decompress(lie); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("second frame declaring more than it holds: %v, want ErrCorrupt", err)
	}
}
