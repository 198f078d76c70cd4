// Package audit writes the service's security events (review M7): one
// JSON line on stdout per login success and failure, refusal by the
// lockout, logout, revocation, password change and admin action, which
// the stack's log routing takes to CloudWatch and a metric filter counts
// ({ $.event = "audit" && $.action = "login" && $.outcome = "failure" }).
//
// Every event has the time (the log's), the action, the outcome, the user
// (the canonical name and id of an existing account; for a name that
// matches no account only user_tag, the first 16 hex digits of its
// SHA-256, so that a password typed into the username field is never
// written), the source address, the request id and a reason. It never
// carries a password, a token or a token's hash.
package audit

import (
	"context"
	"log/slog"
)

// Actions.
const (
	Login          = "login"
	Logout         = "logout"
	LogoutAll      = "logout_all"
	PasswordChange = "password_change"
	Admin          = "admin"
)

// Outcomes.
const (
	Success     = "success"
	Failure     = "failure"     // judged: wrong password, unknown or disabled account
	Refused     = "refused"     // by the lockout, before any judgement
	Unavailable = "unavailable" // not judged: a dependency failed
	Invalid     = "invalid"     // the request was malformed
)

// Event is one security event.
type Event struct {
	Action    string
	Outcome   string
	User      string // canonical name of an existing account
	UserID    int64
	UserTag   string // for a name that is no account
	Source    string
	RequestID string
	Reason    string
	// Operator is who ran an admin command (its --operator, or the OS user).
	Operator string
	// Command and Count: an admin command, and how many sessions ended.
	Command string
	Count   int
}

// Logger writes events.
type Logger struct{ L *slog.Logger }

// Log writes one event as `"msg":"audit","event":"audit",…`.
func (a Logger) Log(ctx context.Context, e Event) {
	if a.L == nil {
		return
	}
	attrs := []slog.Attr{slog.String("event", "audit"), slog.String("action", e.Action), slog.String("outcome", e.Outcome)}
	add := func(k, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(k, v))
		}
	}
	add("user", e.User)
	if e.UserID != 0 {
		attrs = append(attrs, slog.Int64("user_id", e.UserID))
	}
	add("user_tag", e.UserTag)
	add("source", e.Source)
	add("request_id", e.RequestID)
	add("reason", e.Reason)
	add("operator", e.Operator)
	add("command", e.Command)
	if e.Count != 0 {
		attrs = append(attrs, slog.Int("sessions_ended", e.Count))
	}
	a.L.LogAttrs(ctx, slog.LevelInfo, "audit", attrs...)
}
