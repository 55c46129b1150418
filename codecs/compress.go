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
// hostile bytes cannot make it allocate without limit. DecompressLimit
// takes a smaller bound; no limit can be larger.
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
		// Single-segment frames always declare their content size, which
		// DecompressLimit requires; without the option, EncodeAll leaves it
		// out of frames of 1 to 255 bytes.
		enc, encErr = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
			zstd.WithSingleSegment(true), zstd.WithZeroFrames(true))
		if encErr != nil {
			return
		}
		dec, encErr = newDecoder(MaxDecompressedSize)
	})
	return enc, dec, encErr
}

// newDecoder returns a zstd decoder that refuses to produce more than limit
// bytes, nor more than the capacity of the buffer DecodeAll is given.
func newDecoder(limit uint64) (*zstd.Decoder, error) {
	return zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(limit), zstd.WithDecodeAllCapLimit(true))
}

// Compress appends the zstd compression of src to dst: one frame that
// declares its content size, as DecompressLimit requires.
func Compress(dst, src []byte) []byte {
	e, _, err := coders()
	if err != nil {
		panic("cachette/codecs: zstd: " + err.Error())
	}
	return e.EncodeAll(src, dst)
}

// ErrDecompress wraps every decompression failure; it also wraps ErrCorrupt.
var ErrDecompress = fmt.Errorf("%w: zstd", ErrCorrupt)

// Decompress is DecompressLimit(src, MaxDecompressedSize).
func Decompress(src []byte) ([]byte, error) {
	return DecompressLimit(src, MaxDecompressedSize)
}

// DecompressLimit returns the decompression of src, which Compress
// produced, if it is at most limit bytes long (limit is capped at
// MaxDecompressedSize). Before anything is decompressed or allocated, it
// reads every frame header and block header of src and refuses, with an
// error wrapping ErrDecompress: input that is not zstd; a frame that does
// not declare its content size (Compress always declares it); a frame
// that declares more content than its blocks can hold; and frames whose
// declared sizes add up to more than limit. The output is decoded into one
// buffer of exactly the declared size, and a frame that produces more or
// less than it declared is refused: a stored entry never makes a reader
// allocate much more than limit, whatever its bytes.
func DecompressLimit(src []byte, limit int) ([]byte, error) {
	_, d, err := coders()
	if err != nil {
		return nil, err
	}
	return decompress(d, src, limit)
}

func decompress(d *zstd.Decoder, src []byte, limit int) ([]byte, error) {
	if len(src) == 0 {
		// Compress never produces nothing, not even for an empty input.
		return nil, fmt.Errorf("%w: empty input", ErrDecompress)
	}
	limit = max(0, min(limit, MaxDecompressedSize))
	total, err := checkFrames(src, uint64(limit))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecompress, err)
	}
	// The decoder writes into out and, limited to its capacity, refuses
	// to grow it.
	out, err := d.DecodeAll(src, make([]byte, 0, total))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecompress, err)
	}
	if uint64(len(out)) != total {
		return nil, fmt.Errorf("%w: %d bytes decoded, %d declared", ErrDecompress, len(out), total)
	}
	return out, nil
}

// maxBlockSize is the most a zstd block can decompress to.
const maxBlockSize = 128 << 10

// checkFrames walks the frames and block headers of src before anything is
// decompressed and returns the sum of the frames' declared content sizes.
// Every frame must declare its size: without it, the decoder grows its
// output as it goes, and a few kilobytes of run-length encoded blocks
// would cost gigabytes of allocations before any limit is reached. The
// sizes must add up to at most limit, and a declared size must not exceed
// what the frame's blocks can produce (at most 32 KiB per byte of input,
// for a run-length encoded block).
func checkFrames(src []byte, limit uint64) (uint64, error) {
	var total uint64
	for len(src) > 0 {
		var h zstd.Header
		if err := h.Decode(src); err != nil {
			return 0, err
		}
		if h.Skippable {
			return 0, errors.New("unexpected skippable frame")
		}
		if !h.HasFCS {
			return 0, errors.New("frame does not declare its content size")
		}
		if h.FrameContentSize > limit-total {
			return 0, fmt.Errorf("frames declare more than the limit of %d bytes", limit)
		}
		total += h.FrameContentSize
		src = src[h.HeaderSize:]
		// The most the frame's blocks can produce.
		var most uint64
		for last := false; !last; {
			if len(src) < 3 {
				return 0, errors.New("truncated block header")
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
				return 0, errors.New("reserved block type")
			}
			if size > len(src) {
				return 0, fmt.Errorf("block of %d bytes, only %d left", size, len(src))
			}
			src = src[size:]
		}
		if h.HasCheckSum {
			if len(src) < 4 {
				return 0, errors.New("truncated checksum")
			}
			src = src[4:]
		}
		if h.FrameContentSize > most {
			return 0, fmt.Errorf("frame declares %d bytes, its blocks hold at most %d", h.FrameContentSize, most)
		}
	}
	return total, nil
}
