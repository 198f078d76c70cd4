package session

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSlotIsRedisKeyHashSlot(t *testing.T) {
	assert.Equal(t, uint16(0x31C3), crc16("123456789"), "CRC-16/XMODEM check value")
	for key, want := range map[string]int{
		"foo":                  12182, // CLUSTER KEYSLOT examples of the Redis documentation
		"somekey":              11058,
		"{user1000}.following": Slot("user1000"),
		"foo{}{bar}":           int(crc16("foo{}{bar}") % SlotCount), // an empty tag: the whole key
		"foo{{bar}}zap":        Slot("{bar"),
		"foo{bar}{zap}":        Slot("bar"),
	} {
		assert.Equal(t, want, Slot(key), key)
	}
}

func TestKeyInSlotsLandsInTheRange(t *testing.T) {
	for _, r := range [][2]int{{0, 5460}, {5461, 10922}, {10923, 16383}, {777, 777}} {
		s := Slot(KeyInSlots(r[0], r[1]))
		assert.True(t, s >= r[0] && s <= r[1], "%v: slot %d", r, s)
	}
}
