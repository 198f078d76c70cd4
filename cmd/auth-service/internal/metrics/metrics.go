// Package metrics defines the service's Prometheus metrics on a registry
// of its own (served at /metrics).
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
	HealthChecks    *prometheus.CounterVec // result
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
			Name: "auth_logins_total", Help: "Login attempts by result (success, invalid_credentials, locked_out, invalid_request, unavailable).",
		}, []string{"result"}),
		Unreplicated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "auth_session_writes_unreplicated_total", Help: "New sessions no replica acknowledged within the wait (kept, but at risk if the primary crashes).",
		}),
		HealthChecks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auth_health_checks_total", Help: "/health answers by result (ok, unavailable, shutting_down).",
		}, []string{"result"}),
	}
	r.MustRegister(m.Requests, m.RequestDuration, m.Logins, m.Unreplicated, m.HealthChecks,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}
