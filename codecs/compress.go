package codecs

import (
	"fmt"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Compression modes.
const (
	CompressSmart    = "smart"    // compress payloads of at least the minimum size (default)
	CompressAll      = "all"      // compress every payload
	CompressDisabled = "disabled" // never compress
)

// DefaultCompressionMinSize is the "smart" threshold in bytes.
const DefaultCompressionMinSize = 1024

// MaxDecompressedSize bounds what Decompress will produce, so corrupt or
// hostile bytes cannot make it allocate without limit.
const MaxDecompressedSize = 512 << 20

// ValidCompression reports whether mode names a compression mode ("" is smart).
func ValidCompression(mode string) bool {
	switch strings.ToLower(mode) {
	case "", CompressSmart, CompressAll, CompressDisabled:
		return true
	}
	return false
}

// ShouldCompress applies mode to a payload of n bytes.
func ShouldCompress(mode string, minSize, n int) bool {
	switch strings.ToLower(mode) {
	case CompressAll:
		return true
	case CompressDisabled:
		return false
	default:
		return n >= minSize
	}
}

var (
	encOnce sync.Once
	enc     *zstd.Encoder
	dec     *zstd.Decoder
	encErr  error
)

func coders() (*zstd.Encoder, *zstd.Decoder, error) {
	encOnce.Do(func() {
		enc, encErr = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
		if encErr != nil {
			return
		}
		dec, encErr = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(MaxDecompressedSize))
	})
	return enc, dec, encErr
}

// Compress appends the zstd compression of src to dst.
func Compress(dst, src []byte) []byte {
	e, _, err := coders()
	if err != nil {
		panic("cachette/codecs: zstd: " + err.Error())
	}
	return e.EncodeAll(src, dst)
}

// ErrDecompress wraps every decompression failure; it also wraps ErrCorrupt.
var ErrDecompress = fmt.Errorf("%w: zstd", ErrCorrupt)

// Decompress returns the decompression of src.
func Decompress(src []byte) ([]byte, error) {
	_, d, err := coders()
	if err != nil {
		return nil, err
	}
	out, err := d.DecodeAll(src, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecompress, err)
	}
	return out, nil
}
