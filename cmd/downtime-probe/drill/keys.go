package drill

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/authplatform/auth-platform/tests/realparts"
)

// The service's Redis keys, restated from cmd/auth-service (a module of
// its own, whose internal packages the drill cannot import): a request is
// classified by the slots of the keys it touches, so that failures a
// fault explains (a hung shard's keys) are told from those it does not.
// TestKeySlotsFollowTheServiceLayout holds these to what the service
// writes.

// SessionKey is the key of a session: session: + hex SHA-256 of the token
// (cmd/auth-service/internal/session.Key).
func SessionKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "session:" + hex.EncodeToString(sum[:])
}

// AccountKeys are the keys a login touches under its account's hash tag,
// the SHA-256 of the canonical username (cmd/auth-service/internal/lockout
// Tag and AccountKey; session revoke.go indexKey and epochKey): the
// lockout counters, the revocation epoch and the session index. The
// drill's usernames are ASCII, whose canonical form (RFC 8265
// UsernameCaseMapped) is the lower case.
func AccountKeys(username string) []string {
	sum := sha256.Sum256([]byte(strings.ToLower(username)))
	tag := "{" + hex.EncodeToString(sum[:]) + "}"
	return []string{"lockout:" + tag, "session-epoch:" + tag, "session-index:" + tag}
}

// SourceKey is a login's lockout counter of its source address, the
// address the load balancer saw (cmd/auth-service/internal/lockout
// SourceKey; the drill's HAProxy connects from 127.0.0.1 and adds no
// X-Forwarded-For, so the service sees the peer).
func SourceKey(source string) string { return "lockout:source:{" + source + "}" }

// DrillSource is the source address every login of the drill has.
const DrillSource = "127.0.0.1"

// slotsOf lists the distinct slots of keys.
func slotsOf(keys ...string) []int {
	var out []int
	seen := map[int]bool{}
	for _, k := range keys {
		if s := realparts.KeySlot(k); !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// LoginSlots are the slots a login touches before it writes its session:
// the account's counters and the source's. The session it writes goes to
// a slot no one knows beforehand, and the service retries that write on
// a fresh token (another slot), so it is not counted.
func LoginSlots(username string) []int {
	return slotsOf(append(AccountKeys(username), SourceKey(DrillSource))...)
}

// SessionSlots is the slot a check or a logout of token touches.
func SessionSlots(token string) []int { return slotsOf(SessionKey(token)) }
