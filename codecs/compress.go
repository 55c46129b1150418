package codecs

import (
	"errors"
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
		dec, encErr = newDecoder(MaxDecompressedSize)
	})
	return enc, dec, encErr
}

// newDecoder returns a zstd decoder that refuses to produce more than limit bytes.
func newDecoder(limit uint64) (*zstd.Decoder, error) {
	return zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(limit))
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

// Decompress returns the decompression of src, which Compress produced. It
// refuses, with an error wrapping ErrDecompress, input that is not zstd, a
// frame that declares more content than its blocks can hold, and input
// that would decompress to more than MaxDecompressedSize bytes.
func Decompress(src []byte) ([]byte, error) {
	_, d, err := coders()
	if err != nil {
		return nil, err
	}
	return decompress(d, src)
}

func decompress(d *zstd.Decoder, src []byte) ([]byte, error) {
	if len(src) == 0 {
		// Compress never produces nothing, not even for an empty input.
		return nil, fmt.Errorf("%w: empty input", ErrDecompress)
	}
	if err := checkFrames(src); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecompress, err)
	}
	out, err := d.DecodeAll(src, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecompress, err)
	}
	return out, nil
}

// maxBlockSize is the most a zstd block can decompress to.
const maxBlockSize = 128 << 10

// checkFrames walks the frames and block headers of src before anything is
// decompressed. The decoder allocates a frame's declared content size up
// front, so a few hostile bytes declaring hundreds of megabytes would cost
// that much memory before failing: a declared size must not exceed what the
// frame's blocks can produce (at most 32 KiB per byte of input, for a
// run-length encoded block). The decoder itself refuses output beyond its
// limit.
func checkFrames(src []byte) error {
	for len(src) > 0 {
		var h zstd.Header
		if err := h.Decode(src); err != nil {
			return err
		}
		if h.Skippable {
			return errors.New("unexpected skippable frame")
		}
		src = src[h.HeaderSize:]
		// The most the frame's blocks can produce.
		var most uint64
		for last := false; !last; {
			if len(src) < 3 {
				return errors.New("truncated block header")
			}
			bh := uint32(src[0]) | uint32(src[1])<<8 | uint32(src[2])<<16
			src = src[3:]
			last = bh&1 != 0
			size := int(bh >> 3)
			switch (bh >> 1) & 3 {
			case 0: // raw
				most += uint64(size)
			case 1: // run-length encoded: one byte repeated size times
				most += uint64(size)
				size = 1
			case 2: // compressed
				most += maxBlockSize
			default:
				return errors.New("reserved block type")
			}
			if size > len(src) {
				return fmt.Errorf("block of %d bytes, only %d left", size, len(src))
			}
			src = src[size:]
		}
		if h.HasCheckSum {
			if len(src) < 4 {
				return errors.New("truncated checksum")
			}
			src = src[4:]
		}
		if h.HasFCS && h.FrameContentSize > most {
			return fmt.Errorf("frame declares %d bytes, its blocks hold at most %d", h.FrameContentSize, most)
		}
	}
	return nil
}
