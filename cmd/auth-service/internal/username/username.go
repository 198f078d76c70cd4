// Package username gives every username one canonical form, used for
// identity (the users table's unique key), the lockout counters and the
// session index alike (review L1: the lockout used Go's ToLower and the
// lookup PostgreSQL's lower(), two different case maps, and nothing was
// normalised).
//
// The form is RFC 8265's UsernameCaseMapped profile (PRECIS,
// golang.org/x/text/secure/precis): full-width characters mapped to their
// narrow forms, Unicode case folded, NFC, and only letters, digits and
// printable ASCII symbols allowed: no spaces, no control or format
// characters (so "alice\u200b" and "tab\there" cannot exist), no
// mixed-direction tricks (the Bidi rule).
package username

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"golang.org/x/text/secure/precis"
)

// MaxLen is the longest canonical username, in characters (the users
// table's check constraint).
const MaxLen = 128

// ErrInvalid means a name has no canonical form: empty, too long, or with
// a character the profile refuses.
var ErrInvalid = errors.New("username: not a valid username")

// Canonical returns name's canonical form, or ErrInvalid.
func Canonical(name string) (string, error) {
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > 4*MaxLen {
		return "", ErrInvalid
	}
	c, err := precis.UsernameCaseMapped.String(name)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if c == "" || utf8.RuneCountInString(c) > MaxLen {
		return "", ErrInvalid
	}
	return c, nil
}
