// Package drill is a local model of a rolling deployment behind a cloud
// load balancer, used by the rollout drill in its tests: backends are real
// processes that receive a real SIGTERM, and the load balancer, like an
// ALB fed by the AWS Load Balancer Controller, stops routing to a
// deregistered backend only after a propagation delay.
package drill

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// LoadBalancer round-robins requests over registered backends on
// 127.0.0.1. It never retries: a failed forward is the client's failure
// (502 for a refused or reset connection, 504 for a timeout), as with a
// cloud load balancer.
type LoadBalancer struct {
	propagation time.Duration
	transport   *http.Transport
	server      *http.Server
	listener    net.Listener

	mu       sync.Mutex
	rotation []*target
	next     int
	all      map[string]*target
	timers   []*time.Timer
}

type target struct {
	addr         string
	proxy        *httputil.ReverseProxy
	deregistered bool
	forwarded    int
	afterDereg   int // forwarded after Deregister was announced
}

// TargetStats counts what the load balancer sent to one backend.
type TargetStats struct {
	Forwarded int
	// AfterDeregistration counts requests forwarded between the
	// deregistration announcement and the end of propagation: the traffic a
	// terminating backend must still serve.
	AfterDeregistration int
}

// NewLoadBalancer listens on an ephemeral loopback port. propagation is the
// delay between Deregister and the backend leaving the rotation.
func NewLoadBalancer(propagation time.Duration) (*LoadBalancer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	lb := &LoadBalancer{
		propagation: propagation,
		// No keep-alive to backends: net/http silently retries an idempotent
		// request whose reused connection turns out dead, and a load
		// balancer that retries would hide exactly what the drill measures.
		transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: time.Second}).DialContext,
			DisableKeepAlives:     true,
			ResponseHeaderTimeout: 5 * time.Second,
		},
		listener: ln,
		all:      map[string]*target{},
	}
	lb.server = &http.Server{Handler: http.HandlerFunc(lb.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = lb.server.Serve(ln) }()
	return lb, nil
}

// URL is where clients reach the load balancer.
func (lb *LoadBalancer) URL() string { return "http://" + lb.listener.Addr().String() }

// Register puts a backend into rotation at once; callers register only
// backends that are ready.
func (lb *LoadBalancer) Register(addr string) {
	u := &url.URL{Scheme: "http", Host: addr}
	t := &target{addr: addr}
	t.proxy = &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(u); r.SetXForwarded() },
		Transport: lb.transport,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			var netErr net.Error
			if errors.As(err, &netErr) && netErr.Timeout() {
				w.WriteHeader(http.StatusGatewayTimeout)
				return
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	lb.mu.Lock()
	defer lb.mu.Unlock()
	lb.all[addr] = t
	lb.rotation = append(lb.rotation, t)
}

// Deregister announces that addr is going away, like the EndpointSlice
// change the controller reacts to, and returns a channel closed when the
// backend has left the rotation, propagation later. Until then it still
// receives its share of requests.
func (lb *LoadBalancer) Deregister(addr string) <-chan struct{} {
	removed := make(chan struct{})
	lb.mu.Lock()
	defer lb.mu.Unlock()
	t, ok := lb.all[addr]
	if !ok || t.deregistered {
		close(removed)
		return removed
	}
	t.deregistered = true
	lb.timers = append(lb.timers, time.AfterFunc(lb.propagation, func() {
		lb.mu.Lock()
		for i, r := range lb.rotation {
			if r == t {
				lb.rotation = append(lb.rotation[:i:i], lb.rotation[i+1:]...)
				break
			}
		}
		lb.mu.Unlock()
		close(removed)
	}))
	return removed
}

// Stats returns the counters of one backend.
func (lb *LoadBalancer) Stats(addr string) TargetStats {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	t, ok := lb.all[addr]
	if !ok {
		return TargetStats{}
	}
	return TargetStats{Forwarded: t.forwarded, AfterDeregistration: t.afterDereg}
}

// Close stops the listener, pending removals and every connection. It
// closes rather than drains: the drill ends after the probe has stopped, and
// http.Server.Shutdown would wait up to 5s for connections the probe opened
// but never used (net/http treats a new connection as idle only after 5s).
func (lb *LoadBalancer) Close() error {
	lb.mu.Lock()
	for _, tm := range lb.timers {
		tm.Stop()
	}
	lb.mu.Unlock()
	err := lb.server.Close()
	lb.transport.CloseIdleConnections()
	if err != nil {
		return fmt.Errorf("closing the load balancer: %w", err)
	}
	return nil
}

func (lb *LoadBalancer) serve(w http.ResponseWriter, r *http.Request) {
	lb.mu.Lock()
	if len(lb.rotation) == 0 {
		lb.mu.Unlock()
		// What an ALB answers with no registered targets.
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	t := lb.rotation[lb.next%len(lb.rotation)]
	lb.next++
	t.forwarded++
	if t.deregistered {
		t.afterDereg++
	}
	lb.mu.Unlock()
	t.proxy.ServeHTTP(w, r)
}
