// Package metrics defines the service's Prometheus metrics on a registry
// of its own (served at /metrics on the metrics port).
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the service's instruments.
type Metrics struct {
	Registry *prometheus.Registry

	Requests        *prometheus.CounterVec   // route, code
	RequestDuration *prometheus.HistogramVec // route
	Logins          *prometheus.CounterVec   // result
	Unreplicated    prometheus.Counter
	SessionRetries  prometheus.Counter
	HealthChecks    *prometheus.CounterVec // result
	LockoutFallback *prometheus.CounterVec // op
}

// New registers every metric, plus the Go runtime's and the process's.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auth_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		RequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "auth_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 25},
		}, []string{"route"}),
		Logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auth_logins_total", Help: "Login attempts by result (success, invalid_credentials, locked_out, invalid_request, unavailable, shed: refused past the pod's hashing capacity).",
		}, []string{"result"}),
		Unreplicated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "auth_session_writes_unreplicated_total", Help: "New sessions no replica acknowledged within the wait (kept, but at risk if the primary crashes).",
		}),
		SessionRetries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "auth_session_write_retries_total", Help: "New sessions whose first write failed and were written with a new token on another shard.",
		}),
		HealthChecks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auth_health_checks_total", Help: "Readiness answers (GET /health on the traffic port) by result (ok, starting, shutting_down, overloaded).",
		}, []string{"result"}),
		LockoutFallback: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auth_lockout_fallback_total", Help: "Lockout operations (begin, end) counted in this pod's memory because Redis did not answer.",
		}, []string{"op"}),
	}
	r.MustRegister(m.Requests, m.RequestDuration, m.Logins, m.Unreplicated, m.SessionRetries, m.HealthChecks, m.LockoutFallback,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}
