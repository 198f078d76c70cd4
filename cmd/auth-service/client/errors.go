package client

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// The kinds of *Error; test with errors.Is.
var (
	// ErrInvalidToken: the service refused the token (missing, malformed,
	// expired, revoked or never issued). Final: not retried, and any cached
	// validation of it is forgotten.
	ErrInvalidToken = errors.New("auth: invalid token")
	// ErrUnavailable: the service could not answer (a 5xx, a timeout, a
	// refused or cut connection, an open breaker). Fail closed: the caller
	// must not treat the token as valid.
	ErrUnavailable = errors.New("auth: service unavailable")
	// ErrCircuitOpen is the cause of an ErrUnavailable that was not even
	// tried: the call's breaker is open.
	ErrCircuitOpen = errors.New("auth: circuit open")
	// ErrInvalidCredentials: a login's username or password is wrong.
	ErrInvalidCredentials = errors.New("auth: invalid credentials")
	// ErrLockedOut: too many failed logins; retry after RetryAfter.
	ErrLockedOut = errors.New("auth: too many attempts")
	// ErrUnexpected: an answer the API does not document for the call.
	ErrUnexpected = errors.New("auth: unexpected answer")
)

// Error is every error the client returns.
type Error struct {
	Op         string // "validate", "login" or "logout"
	Kind       error  // one of the Err values above
	Status     int    // the HTTP status, 0 when there was none
	Code       string // the service's error code, e.g. "invalid_token"
	RetryAfter time.Duration
	Err        error // the cause, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %v", e.Op, e.Kind)
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d", e.Status)
		if e.Code != "" {
			fmt.Fprintf(&b, " %s", e.Code)
		}
		b.WriteString(")")
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

// Unwrap gives errors.Is and errors.As the kind and the cause.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}
