package session

import "strconv"

// SlotCount is the number of hash slots of a Redis Cluster.
const SlotCount = 16384

// Slot is the hash slot Redis Cluster keeps key in: CRC16 (XMODEM) of the
// key, or of its hash tag (the text between the first "{" and the next
// "}", when not empty), modulo 16384 (redis/redis src/cluster.c
// keyHashSlot; go-redis keeps its own copy internal). The health checks
// use it to address each shard by a key of its own.
func Slot(key string) int {
	for i := 0; i < len(key); i++ {
		if key[i] != '{' {
			continue
		}
		for j := i + 1; j < len(key); j++ {
			if key[j] == '}' {
				if j > i+1 {
					key = key[i+1 : j]
				}
				return int(crc16(key) % SlotCount)
			}
		}
		break
	}
	return int(crc16(key) % SlotCount)
}

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

// KeyInSlots returns a short key whose slot is in [start, end]: "probe:"
// and a number, the first that lands there (a few tries for a shard's
// thousands of slots; at most a few tens of thousands for a single slot).
func KeyInSlots(start, end int) string {
	for i := 0; ; i++ {
		k := "probe:" + strconv.Itoa(i)
		if s := Slot(k); s >= start && s <= end {
			return k
		}
	}
}
