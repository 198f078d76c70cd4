package probe

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClassifyStatus(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   Class
	}{
		{200, ""}, {204, ""}, {299, ""},
		{301, ClassHTTP3xx}, {304, ClassHTTP3xx},
		{400, ClassHTTP4xx}, {404, ClassHTTP4xx}, {429, ClassHTTP4xx},
		{500, ClassHTTP5xx}, {502, ClassHTTP5xx}, {503, ClassHTTP5xx}, {504, ClassHTTP5xx},
		{101, ClassHTTPOther}, {600, ClassHTTPOther},
	} {
		assert.Equal(t, tc.want, Classify(tc.status, nil), "status %d", tc.status)
	}
}

// wrapped dresses err the way net/http returns it.
func wrapped(err error) error {
	return &url.Error{Op: "Get", URL: "http://x/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: err}}}
}

func TestClassifyError(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want Class
	}{
		{"refused", wrapped(syscall.ECONNREFUSED), ClassRefused},
		{"reset", wrapped(syscall.ECONNRESET), ClassReset},
		{"broken pipe", wrapped(syscall.EPIPE), ClassReset},
		{"EOF", &url.Error{Op: "Get", URL: "http://x/", Err: io.EOF}, ClassReset},
		{"body cut short", io.ErrUnexpectedEOF, ClassReset},
		{"deadline", &url.Error{Op: "Get", URL: "http://x/", Err: context.DeadlineExceeded}, ClassTimeout},
		{"dial timeout", &net.OpError{Op: "dial", Err: timeoutErr{}}, ClassTimeout},
		{"DNS", &url.Error{Op: "Get", Err: &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}}}, ClassDNS},
		{"DNS timeout is DNS", &net.DNSError{Err: "i/o timeout", Name: "x", IsTimeout: true}, ClassDNS},
		{"unknown CA", &url.Error{Op: "Get", Err: x509.UnknownAuthorityError{}}, ClassTLS},
		{"hostname", fmt.Errorf("wrapped: %w", x509.HostnameError{Certificate: &x509.Certificate{}, Host: "x"}), ClassTLS},
		{"reset as text", errors.New("read tcp: connection reset by peer"), ClassReset},
		{"server closed as text", errors.New("http: server closed idle connection"), ClassReset},
		{"tls as text", errors.New("remote error: tls: handshake failure"), ClassTLS},
		{"other", errors.New("something else"), ClassOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Classify(0, tc.err))
			// A transport error wins over a status that arrived first.
			assert.Equal(t, tc.want, Classify(200, tc.err))
		})
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// TestClassifyRealTransportErrors provokes each transport failure on
// loopback and checks the class of what net/http actually returns.
func TestClassifyRealTransportErrors(t *testing.T) {
	closedPort := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		return "http://" + addr + "/"
	}
	// rawServer accepts connections and hands them to handle.
	rawServer := func(t *testing.T, handle func(net.Conn)) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		t.Cleanup(func() { _ = ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go handle(c)
			}
		}()
		return "http://" + ln.Addr().String() + "/"
	}
	readRequest := func(c net.Conn) {
		buf := make([]byte, 4096)
		_, _ = c.Read(buf)
	}

	for _, tc := range []struct {
		name   string
		target func(t *testing.T) string
		want   Class
	}{
		{"refused", func(t *testing.T) string { return closedPort(t) }, ClassRefused},
		{"reset", func(t *testing.T) string {
			return rawServer(t, func(c net.Conn) {
				readRequest(c)
				_ = c.(*net.TCPConn).SetLinger(0) // close with RST
				_ = c.Close()
			})
		}, ClassReset},
		{"EOF before a response", func(t *testing.T) string {
			return rawServer(t, func(c net.Conn) { readRequest(c); _ = c.Close() })
		}, ClassReset},
		{"body cut short", func(t *testing.T) string {
			return rawServer(t, func(c net.Conn) {
				readRequest(c)
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
				_ = c.Close()
			})
		}, ClassReset},
		{"timeout", func(t *testing.T) string {
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
			t.Cleanup(func() { close(release); srv.Close() })
			return srv.URL
		}, ClassTimeout},
		{"untrusted certificate", func(t *testing.T) string {
			srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			srv.Config.ErrorLog = discardLog()
			t.Cleanup(srv.Close)
			return srv.URL
		}, ClassTLS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.URL, cfg.Timeout = tc.target(t), 300*time.Millisecond
			p := &prober{cfg: cfg, client: newClient(&cfg)}
			r := p.do(0)
			assert.Equal(t, tc.want, r.Class, "error %q", r.Err)
			assert.True(t, r.Failed())
		})
	}
}
