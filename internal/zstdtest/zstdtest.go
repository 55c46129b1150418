// Package zstdtest builds hostile zstd frames for the tests of cachette's
// bounded decompression.
package zstdtest

import "encoding/binary"

// BlockSize is the most one zstd block decompresses to: 128 KiB.
const BlockSize = 128 << 10

// RLEFrame returns a zstd frame of blocks run-length encoded blocks, each
// 128 KiB of zeros held in 4 bytes. If declared is not negative, the frame
// header states it as the content size, whatever the blocks hold; if it is
// negative, the header declares no content size (as zstd allows for frames
// that are not single-segment).
func RLEFrame(blocks, declared int) []byte {
	f := []byte{0x28, 0xb5, 0x2f, 0xfd} // magic
	if declared >= 0 {
		f = append(f, 0xc0) // 8-byte content size, window descriptor follows
		f = append(f, 7<<3) // window of 2^(10+7) = 128 KiB
		f = binary.LittleEndian.AppendUint64(f, uint64(declared))
	} else {
		f = append(f, 0x00, 7<<3) // no content size, 128 KiB window
	}
	for i := range blocks {
		h := uint32(BlockSize)<<3 | 1<<1 // RLE block
		if i == blocks-1 {
			h |= 1 // last block
		}
		f = append(f, byte(h), byte(h>>8), byte(h>>16), 0)
	}
	return f
}

// Bomb is the 16,386-byte frame, without a declared content size, of
// 4095 run-length encoded blocks that expand to 512 MiB - 128 KiB. Stored
// as a compressed cachette entry (16,398 bytes with its header), it made
// one Fetch allocate 2.25 GB while the decoder grew its output.
func Bomb() []byte { return RLEFrame(4095, -1) }
