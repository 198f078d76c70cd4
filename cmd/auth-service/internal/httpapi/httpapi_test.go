package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestClientAddrIsTheAddressTheALBAppended(t *testing.T) {
	cases := []struct {
		name   string
		xff    []string
		remote string
		want   string
	}{
		{"no header: the peer", nil, "10.0.1.5:4711", "10.0.1.5"},
		{"ALB appended the client", []string{"203.0.113.9"}, "10.0.1.5:4711", "203.0.113.9"},
		{"forged entries before it are ignored", []string{"198.51.100.1, 203.0.113.9"}, "10.0.1.5:4711", "203.0.113.9"},
		{"several headers: the last one's last entry", []string{"198.51.100.1", "192.0.2.1, 203.0.113.9"}, "10.0.1.5:4711", "203.0.113.9"},
		{"garbage: the peer", []string{"not-an-ip"}, "10.0.1.5:4711", "10.0.1.5"},
		{"IPv6", []string{"2001:db8::1"}, "10.0.1.5:4711", "2001:db8::1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/v1/login", nil)
			r.RemoteAddr = c.remote
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			assert.Equal(t, c.want, clientAddr(r))
		})
	}
}

func TestBearerParsesTheAuthorizationHeader(t *testing.T) {
	for header, want := range map[string]string{
		"Bearer abc":   "abc",
		"bearer abc":   "abc",
		"Bearer  abc ": "abc",
		"Basic abc":    "",
		"Bearer":       "",
		"Bearer ":      "",
		"":             "",
	} {
		r := httptest.NewRequest("GET", "/v1/session", nil)
		r.Header.Set("Authorization", header)
		got, ok := bearer(r)
		assert.Equal(t, want, got, header)
		assert.Equal(t, want != "", ok, header)
	}
}

func TestDecodeStrictRefusesDuplicateAndCaseVariantKeys(t *testing.T) {
	for body, ok := range map[string]bool{
		`{"username":"alice","password":"pw"}`:                     true,
		`{"password":"pw","username":"alice"}`:                     true,
		`{"username":"nobody","username":"alice","password":"pw"}`: false,
		`{"Username":"alice","PASSWORD":"pw"}`:                     false,
		`{"username":"alice","password":"pw","admin":true}`:        false,
		`{"username":1,"password":"pw"}`:                           false,
		`{"username":"alice","password":"pw"}{}`:                   false,
		`["username","password"]`:                                  false,
		`{"username":"alice","password":"pw"`:                      false,
	} {
		r := httptest.NewRequest("POST", "/v1/login", strings.NewReader(body))
		w := httptest.NewRecorder()
		_, err := decodeStrict(w, r, "username", "password")
		assert.Equal(t, ok, err == nil, body)
	}
}
