package prometheus

import (
	"bytes"
	_ "embed"
	"fmt"
	"text/template"
	"time"
)

//go:embed rules.yaml.tmpl
var rulesTemplate string

// Job is the scrape job of the auth pods' metrics port: the collector's
// configuration names it, and every rule selects it.
const Job = "auth"

// Alert names, as the seeds call the first two.
const (
	AlertPodCount               = "AuthenticationPodCount"
	AlertEvictionRate           = "HighPodEvictionRate"
	AlertDependencyDown         = "AuthDependencyDown"
	AlertLoginFailureSurge      = "AuthLoginFailureSurge"
	AlertLockoutSurge           = "AuthLockoutSurge"
	AlertValidationLatency      = "AuthValidationLatencyHigh"
	AlertSessionWritesUnreplica = "AuthSessionWritesUnreplicated"
)

// Alerts lists every alert the rules define.
var Alerts = []string{
	AlertPodCount, AlertEvictionRate, AlertDependencyDown, AlertLoginFailureSurge,
	AlertLockoutSurge, AlertValidationLatency, AlertSessionWritesUnreplica,
}

// RuleParams render the rules for one stack.
type RuleParams struct {
	// Replicas is the stack's authReplicas. Required (at least 1).
	Replicas int
	// Scale divides every duration of the rules (the drill replays the
	// stack's timing faster). Default 1.
	Scale float64
}

// Render returns the rules file for params: a Prometheus rule file, which
// is also the data of an AMP rule groups namespace.
func Render(p RuleParams) (string, error) {
	if p.Replicas < 1 {
		return "", fmt.Errorf("prometheus rules: Replicas is %d, want at least 1", p.Replicas)
	}
	if p.Scale == 0 {
		p.Scale = 1
	}
	if p.Scale < 1 {
		return "", fmt.Errorf("prometheus rules: Scale is %g, want 1 or more", p.Scale)
	}
	var durErr error
	funcs := template.FuncMap{"dur": func(s string) string {
		d, err := time.ParseDuration(s)
		if err != nil {
			durErr = err
			return s
		}
		return ScaleDuration(d, p.Scale)
	}}
	t, err := template.New("rules").Funcs(funcs).Option("missingkey=error").Parse(rulesTemplate)
	if err != nil {
		return "", fmt.Errorf("prometheus rules: %w", err)
	}
	var b bytes.Buffer
	data := struct {
		RuleParams
		Job string
	}{p, Job}
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("prometheus rules: %w", err)
	}
	if durErr != nil {
		return "", fmt.Errorf("prometheus rules: %w", durErr)
	}
	return b.String(), nil
}

// ScaleDuration divides d by scale and writes it in Prometheus' duration
// format (h, m, s and ms units, largest first), at least 1ms.
func ScaleDuration(d time.Duration, scale float64) string {
	scaled := time.Duration(float64(d) / scale).Truncate(time.Millisecond)
	if scaled < time.Millisecond {
		scaled = time.Millisecond
	}
	return FormatDuration(scaled)
}

// FormatDuration writes d (whole milliseconds) in Prometheus' format.
func FormatDuration(d time.Duration) string {
	var b bytes.Buffer
	for _, u := range []struct {
		unit string
		d    time.Duration
	}{{"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}} {
		if n := d / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.unit)
			d -= n * u.d
		}
	}
	if b.Len() == 0 {
		return "0s"
	}
	return b.String()
}
