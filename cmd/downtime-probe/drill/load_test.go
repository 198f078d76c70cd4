package drill

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A login the service shed (503 with Retry-After: not judged) is resent
// and only the resent login's answer is a record; any other 503 (an
// outage, the load balancer without targets) is the request's outcome.
func TestLoadResendsOnlyShedLogins(t *testing.T) {
	for _, tc := range []struct {
		name        string
		retryAfter  string
		wantToken   string
		wantStatus  int
		wantResent  int
		wantRecords int
	}{
		{"shed with Retry-After: resent, then logged in", "1", "tok", http.StatusOK, 1, 1},
		{"503 without Retry-After: failed, not resent", "", "", http.StatusServiceUnavailable, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				require.Equal(t, LoginPath, r.URL.Path)
				if calls.Add(1) == 1 {
					if tc.retryAfter != "" {
						w.Header().Set("Retry-After", tc.retryAfter)
					}
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				_, _ = w.Write([]byte(`{"token":"tok"}`))
			}))
			defer srv.Close()
			load := NewLoad(LoadConfig{BaseURL: srv.URL, Rate: 1, Users: []Credentials{{"u", "p"}}})

			tok, rec := load.login(t.Context(), Credentials{"u", "p"})

			assert.Equal(t, tc.wantToken, tok)
			assert.Equal(t, tc.wantStatus, rec.Status)
			assert.Equal(t, tc.wantResent, load.Resent())
			assert.Len(t, load.Records(), tc.wantRecords, "a resent login leaves one record: its final answer")
		})
	}
}
