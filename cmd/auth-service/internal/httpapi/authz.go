package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The gateway check: one endpoint that NGINX's auth_request, Envoy's HTTP
// ext_authz and Traefik's ForwardAuth can each call for an application
// that does not speak to the service itself (issue 26; the three contracts
// and the configurations are in client/gateway/README.md).
//
//   - Any method and any path under AuthzPath: Envoy sends the original
//     request's method, and its path after path_prefix; NGINX and Traefik
//     send GET to the configured URI. No body is read.
//   - The decision is GET /v1/session's, made by the same handler: 200 for
//     a valid session, 401 (with WWW-Authenticate) for a missing or invalid
//     token, 503 when the service cannot tell. A 200 carries the identity
//     in AuthzHeaders for the gateway to copy to the upstream request; the
//     body is /v1/session's.
//   - RequireRoleHeader, when the gateway sets it, narrows the decision to
//     sessions holding one of its comma-separated roles: 403 otherwise. A
//     client that sends it itself can only narrow its own access.
const (
	AuthzPath         = "/v1/authz"
	RequireRoleHeader = "X-Auth-Require-Role"
)

// AuthzHeaders are the identity headers of a 200 from AuthzPath. Values
// are UTF-8 with '%', ',' and every byte outside printable ASCII
// percent-encoded (RFC 3986, 2.1), so a list splits on ',' and any name
// fits a header. Roles and permissions are lists; a session without any
// sends the header empty, so that a gateway copying it overrides whatever
// the client sent.
var AuthzHeaders = struct{ UserID, User, Roles, Permissions, ExpiresAt string }{
	UserID: "X-Auth-User-Id", User: "X-Auth-User", Roles: "X-Auth-Roles", Permissions: "X-Auth-Permissions",
	ExpiresAt: "X-Auth-Expires-At",
}

var errForbidden = apiError{http.StatusForbidden, "forbidden", "the session holds none of the roles this resource requires"}

// authz answers the gateway: /v1/session's decision, with the identity in
// headers.
func (a *API) authz(w http.ResponseWriter, r *http.Request) {
	var rec bufferedResponse
	rec.header = http.Header{}
	a.session(&rec, r)
	if rec.status == http.StatusOK {
		var s SessionResponse
		if err := json.Unmarshal(rec.body.Bytes(), &s); err != nil {
			a.unavailable(w, "authz decode", err)
			return
		}
		if want := r.Header.Get(RequireRoleHeader); want != "" && !holdsAny(s.Roles, want) {
			writeError(w, errForbidden)
			return
		}
		h := w.Header()
		h.Set(AuthzHeaders.UserID, strconv.FormatInt(s.User.ID, 10))
		h.Set(AuthzHeaders.User, headerEscape(s.User.Username))
		h.Set(AuthzHeaders.Roles, headerList(s.Roles))
		h.Set(AuthzHeaders.Permissions, headerList(s.Permissions))
		h.Set(AuthzHeaders.ExpiresAt, s.ExpiresAt.UTC().Format(time.RFC3339))
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
}

func holdsAny(roles []string, wanted string) bool {
	for _, w := range strings.Split(wanted, ",") {
		if slices.Contains(roles, strings.TrimSpace(w)) {
			return true
		}
	}
	return false
}

func headerList(items []string) string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = headerEscape(s)
	}
	return strings.Join(out, ",")
}

// headerEscape percent-encodes '%', ',' and every byte outside '!'..'~'.
func headerEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '!' || c > '~' || c == '%' || c == ',' {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// bufferedResponse keeps a handler's answer so that authz can add to it.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
