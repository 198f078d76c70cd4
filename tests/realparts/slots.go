package realparts

import (
	"fmt"
	"sort"
	"strings"
)

// SlotCount is the number of hash slots of a Redis Cluster.
const SlotCount = 16384

// KeySlot is the hash slot Redis Cluster puts key in: CRC16 (XMODEM) of the
// key modulo 16384, where a key holding a non-empty "{...}" hashes only what
// is between its first "{" and the next "}" (the hash tag), as
// CLUSTER KEYSLOT computes it (redis/redis src/cluster.c keyHashSlot).
func KeySlot(key string) int {
	if open := strings.IndexByte(key, '{'); open >= 0 {
		if n := strings.IndexByte(key[open+1:], '}'); n > 0 {
			key = key[open+1 : open+1+n]
		}
	}
	return int(crc16(key) % SlotCount)
}

// crc16 is CRC-16/XMODEM (polynomial 0x1021, initial value 0), bit by bit:
// the harness hashes a few keys, it needs no table.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for b := 0; b < 8; b++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// SlotRange is a contiguous range of hash slots, both ends included.
type SlotRange struct{ Start, End int }

// String is "start-end", always with both ends (also for a single slot).
func (r SlotRange) String() string { return fmt.Sprintf("%d-%d", r.Start, r.End) }

// Contains tells whether slot is in the range.
func (r SlotRange) Contains(slot int) bool { return slot >= r.Start && slot <= r.End }

// SlotRanges is a shard's set of slots.
type SlotRanges []SlotRange

// String is the ranges in ascending order joined by commas: "0-5460", or
// "0-100,5461-10922" for a shard holding two ranges. It names a shard the
// same way across failovers (addresses change, slots do not) and is the
// auth service's "shard" label.
func (rs SlotRanges) String() string {
	sorted := append(SlotRanges(nil), rs...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a].Start < sorted[b].Start })
	parts := make([]string, len(sorted))
	for i, r := range sorted {
		parts[i] = r.String()
	}
	return strings.Join(parts, ",")
}

// Contains tells whether slot belongs to the shard.
func (rs SlotRanges) Contains(slot int) bool {
	for _, r := range rs {
		if r.Contains(slot) {
			return true
		}
	}
	return false
}
