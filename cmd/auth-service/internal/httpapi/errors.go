package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// errorBody is every error's JSON. Codes are stable; messages say what to
// do, never what failed inside (no user names, hosts or driver errors).
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

var (
	errInvalidRequest     = apiError{http.StatusBadRequest, "invalid_request", "the request body must be one JSON object with exactly the documented string fields, each once, and a valid username"}
	errTooLarge           = apiError{http.StatusRequestEntityTooLarge, "request_too_large", "the request body is too large"}
	errUnsupportedMedia   = apiError{http.StatusUnsupportedMediaType, "unsupported_media_type", "send Content-Type: application/json"}
	errInvalidCredentials = apiError{http.StatusUnauthorized, "invalid_credentials", "the username or password is wrong"}
	errMissingToken       = apiError{http.StatusUnauthorized, "missing_token", "send Authorization: Bearer <token>"}
	errInvalidToken       = apiError{http.StatusUnauthorized, "invalid_token", "the session does not exist, has expired or was revoked; log in again"}
	errWrongPassword      = apiError{http.StatusForbidden, "invalid_credentials", "the current password is wrong"}
	errTooManyAttempts    = apiError{http.StatusTooManyRequests, "too_many_attempts", "too many failed logins; retry after the time in Retry-After"}
	errUnavailable        = apiError{http.StatusServiceUnavailable, "unavailable", "the service cannot answer now; retry shortly"}
	errNotFound           = apiError{http.StatusNotFound, "not_found", "no such endpoint"}
	errMethodNotAllowed   = apiError{http.StatusMethodNotAllowed, "method_not_allowed", "see the Allow header"}
	errInternal           = apiError{http.StatusInternalServerError, "internal", "unexpected error"}
)

type apiError struct {
	status  int
	code    string
	message string
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes e as JSON. A 401 carries the challenge of RFC 6750
// §3: error="invalid_token" when a token was presented and is not valid,
// error="invalid_request" for a login's wrong credentials (no token is at
// stake), and no error code when no credentials came at all (§3.1: the
// server SHOULD NOT include one then).
func writeError(w http.ResponseWriter, e apiError) {
	if e.status == http.StatusUnauthorized {
		challenge := `Bearer realm="auth"`
		switch e.code {
		case "invalid_token":
			challenge += `, error="invalid_token", error_description="the token is malformed, expired or revoked"`
		case "invalid_credentials":
			challenge += `, error="invalid_request", error_description="the username or password is wrong"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
	}
	writeJSON(w, e.status, errorBody{Error: e.code, Message: e.message})
}

func writeRetryAfter(w http.ResponseWriter, e apiError, after time.Duration) {
	secs := int((after + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, e)
}
