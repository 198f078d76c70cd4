package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
)

// Class names why a request failed. The values are keys of the JSON report
// and are stable.
type Class string

// Failure classes. Transport classes first, then HTTP status classes.
const (
	// ClassRefused: nothing accepted the connection (listener closed,
	// process gone, port not yet bound).
	ClassRefused Class = "refused"
	// ClassReset: an established connection died mid-exchange (RST, EOF,
	// broken pipe), typically a process killed with requests in flight.
	ClassReset Class = "reset"
	// ClassTimeout: no complete response within -timeout.
	ClassTimeout Class = "timeout"
	// ClassDNS: the name did not resolve.
	ClassDNS Class = "dns"
	// ClassTLS: handshake or certificate failure.
	ClassTLS Class = "tls"
	// ClassOther: any other transport error.
	ClassOther Class = "other"

	ClassHTTP5xx   Class = "http_5xx"
	ClassHTTP4xx   Class = "http_4xx"
	ClassHTTP3xx   Class = "http_3xx" // redirects are failures unless -follow-redirects
	ClassHTTPOther Class = "http_other"
)

// Classify returns the failure class of one exchange, or "" when it
// succeeded: no transport error and a 2xx status. A transport error wins
// over a status, so a 200 whose body was cut off is a failure.
func Classify(status int, err error) Class {
	if err != nil {
		return classifyError(err)
	}
	switch {
	case status >= 200 && status < 300:
		return ""
	case status >= 500 && status < 600:
		return ClassHTTP5xx
	case status >= 400 && status < 500:
		return ClassHTTP4xx
	case status >= 300 && status < 400:
		return ClassHTTP3xx
	default:
		return ClassHTTPOther
	}
}

func classifyError(err error) Class {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		// Before the timeout check: a resolver timeout is a DNS problem.
		return ClassDNS
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ClassTimeout
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return ClassTimeout
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return ClassRefused
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ClassReset
	}
	if isTLS(err) {
		return ClassTLS
	}
	// net/http wraps some conditions in plain strings; match on text last.
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "connection refused"):
		return ClassRefused
	case strings.Contains(msg, "connection reset"), strings.Contains(msg, "broken pipe"),
		strings.Contains(msg, "eof"), strings.Contains(msg, "server closed"):
		return ClassReset
	case strings.Contains(msg, "tls:"), strings.Contains(msg, "x509:"):
		return ClassTLS
	}
	return ClassOther
}

func isTLS(err error) bool {
	var (
		recordErr tls.RecordHeaderError
		alertErr  tls.AlertError
		verifyErr *tls.CertificateVerificationError
		authErr   x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
	)
	return errors.As(err, &recordErr) || errors.As(err, &alertErr) || errors.As(err, &verifyErr) ||
		errors.As(err, &authErr) || errors.As(err, &hostErr) || errors.As(err, &invalid)
}
