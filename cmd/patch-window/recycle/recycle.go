// Package recycle restarts the auth pods that Fargate patching would evict,
// before it does, inside the stack's maintenance window, one zone at a
// time, through the same path as a rollout: a restart of the zone's
// Deployment (maxSurge 1, maxUnavailable 0, the ALB readiness gate), so a
// new pod serves before an old one drains.
//
// Which pods: those older than MaxAge, and those created before the
// Fargate patch notice the operator recorded (Notice). AWS: "Any pods
// created before the time at which you receive the notification are
// subject to eviction", and it recommends restarting them before the
// eviction date (EKS User Guide, "Set actions for AWS Fargate OS patching
// events"). The notice reaches the job as a time in a ConfigMap, because
// the notice itself is an AWS Health event whose type and content are not
// documented (the stack routes it to the alarm topic; an operator reads
// it and records its time). MaxAge alone keeps every pod younger than the
// notice-to-eviction lead time when the window recurs often enough.
package recycle

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Pod is what the job reads of an auth pod.
type Pod struct {
	Name     string
	Zone     string
	Created  time.Time
	Running  bool // phase Running and not being deleted
	Deleting bool
}

// Deployment is what the job reads of a zone's Deployment.
type Deployment struct {
	Name string
	// Generation and ObservedGeneration: the controller has seen the last
	// change when they are equal.
	Generation, ObservedGeneration int64
	// Replicas wanted; the status counts.
	Replicas, StatusReplicas, Updated, Ready, Available int32
}

// Settled tells whether the Deployment has finished rolling: the
// controller saw the last change, every pod is of the newest template, and
// every one is available, with no old pod left.
func (d Deployment) Settled() bool {
	return d.ObservedGeneration >= d.Generation && d.Updated == d.Replicas &&
		d.Available == d.Replicas && d.Ready == d.Replicas && d.StatusReplicas == d.Replicas
}

// Client is the Kubernetes API the job uses: exactly what its RBAC allows.
type Client interface {
	// ListPods lists the pods of namespace matching selector.
	ListPods(ctx context.Context, namespace, selector string) ([]Pod, error)
	// GetDeployment reads one Deployment.
	GetDeployment(ctx context.Context, namespace, name string) (Deployment, error)
	// RestartDeployment stamps the pod template with at, as `kubectl
	// rollout restart` does.
	RestartDeployment(ctx context.Context, namespace, name string, at time.Time) error
	// GetConfigMap reads one ConfigMap's data; found is false when it does
	// not exist.
	GetConfigMap(ctx context.Context, namespace, name string) (data map[string]string, found bool, err error)
}

// NoticeKey is the key of the notice ConfigMap holding the time the
// Fargate patch notice was received (RFC 3339).
const NoticeKey = "receivedAt"

// Config is one run's configuration.
type Config struct {
	// Namespace and Selector of the auth pods; ZoneLabel holds a pod's
	// zone.
	Namespace, Selector, ZoneLabel string
	// Deployments by zone, in the order the zones are rolled.
	Zones       []string
	Deployments map[string]string
	// MaxAge of a pod before it is restarted.
	MaxAge time.Duration
	// Window the job may act in.
	Window Window
	// ZoneTimeout bounds one zone's roll; a zone is started only when the
	// window has that long left.
	ZoneTimeout time.Duration
	// NoticeNamespace and NoticeName locate the notice ConfigMap.
	NoticeNamespace, NoticeName string
	// Poll is how often a roll's progress is read. Default 5 s.
	Poll time.Duration
}

// Check refuses an incomplete configuration.
func (c Config) Check() error {
	var errs []error
	if c.Namespace == "" || c.Selector == "" || c.ZoneLabel == "" {
		errs = append(errs, errors.New("namespace, selector and zone label are required"))
	}
	if len(c.Zones) == 0 {
		errs = append(errs, errors.New("no zones"))
	}
	for _, z := range c.Zones {
		if c.Deployments[z] == "" {
			errs = append(errs, fmt.Errorf("zone %s has no Deployment", z))
		}
	}
	if c.MaxAge <= 0 {
		errs = append(errs, fmt.Errorf("max age %s: want a positive duration", c.MaxAge))
	}
	if c.ZoneTimeout <= 0 {
		errs = append(errs, fmt.Errorf("zone timeout %s: want a positive duration", c.ZoneTimeout))
	}
	if err := c.Window.Check(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Outcome of a zone in a run.
type Outcome string

const (
	Restarted  Outcome = "restarted"
	Fresh      Outcome = "fresh"        // no pod needed it
	NoTime     Outcome = "window-short" // the window closes before a roll could finish
	Unhealthy  Outcome = "held"         // another zone was not settled: nothing started
	NotReached Outcome = "not-reached"  // an earlier zone failed
)

// ZoneResult says what happened to one zone and why.
type ZoneResult struct {
	Zone       string  `json:"zone"`
	Deployment string  `json:"deployment"`
	Outcome    Outcome `json:"outcome"`
	// Stale are the pods that called for the restart, with the reason.
	Stale []string `json:"stale,omitempty"`
}

// Report is one run's account.
type Report struct {
	Now      time.Time    `json:"now"`
	InWindow bool         `json:"inWindow"`
	Notice   *time.Time   `json:"notice,omitempty"`
	Zones    []ZoneResult `json:"zones,omitempty"`
}

// Clock is time, for tests.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

func (RealClock) Now() time.Time { return time.Now() }

func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run restarts the zones whose pods are due, one at a time, inside the
// window. It stops at the first zone that fails to settle.
func Run(ctx context.Context, cfg Config, k Client, clock Clock) (Report, error) {
	if err := cfg.Check(); err != nil {
		return Report{}, fmt.Errorf("configuration: %w", err)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 5 * time.Second
	}
	now := clock.Now()
	r := Report{Now: now, InWindow: cfg.Window.Contains(now)}
	if !r.InWindow {
		return r, nil
	}
	notice, err := readNotice(ctx, cfg, k)
	if err != nil {
		return r, err
	}
	r.Notice = notice
	pods, err := k.ListPods(ctx, cfg.Namespace, cfg.Selector)
	if err != nil {
		return r, fmt.Errorf("listing the auth pods: %w", err)
	}
	stale := StalePods(pods, now, cfg.MaxAge, notice)

	var failed error
	for _, zone := range cfg.Zones {
		res := ZoneResult{Zone: zone, Deployment: cfg.Deployments[zone], Stale: stale[zone]}
		switch {
		case failed != nil:
			res.Outcome = NotReached
		case len(res.Stale) == 0:
			res.Outcome = Fresh
		case cfg.Window.Remaining(clock.Now()) < cfg.ZoneTimeout:
			res.Outcome = NoTime
		default:
			settled, err := allSettled(ctx, cfg, k)
			if err != nil {
				failed = err
				res.Outcome = NotReached
			} else if !settled {
				res.Outcome = Unhealthy
				failed = errors.New("a zone's Deployment is still rolling or short of available pods: no restart while the service is degraded")
			} else if err := restartZone(ctx, cfg, k, clock, res.Deployment); err != nil {
				failed = fmt.Errorf("zone %s: %w", zone, err)
				res.Outcome = NotReached
			} else {
				res.Outcome = Restarted
			}
		}
		r.Zones = append(r.Zones, res)
	}
	return r, failed
}

// StalePods are, by zone, the running pods due for a restart: older than
// maxAge, or created before the notice.
func StalePods(pods []Pod, now time.Time, maxAge time.Duration, notice *time.Time) map[string][]string {
	out := map[string][]string{}
	for _, p := range pods {
		if !p.Running || p.Deleting {
			continue
		}
		switch {
		case notice != nil && p.Created.Before(*notice):
			out[p.Zone] = append(out[p.Zone], fmt.Sprintf("%s: created %s, before the patch notice of %s", p.Name, p.Created.UTC().Format(time.RFC3339), notice.UTC().Format(time.RFC3339)))
		case now.Sub(p.Created) > maxAge:
			out[p.Zone] = append(out[p.Zone], fmt.Sprintf("%s: %s old, more than %s", p.Name, now.Sub(p.Created).Round(time.Minute), maxAge))
		}
	}
	for z := range out {
		sort.Strings(out[z])
	}
	return out
}

func readNotice(ctx context.Context, cfg Config, k Client) (*time.Time, error) {
	if cfg.NoticeName == "" {
		return nil, nil
	}
	data, found, err := k.GetConfigMap(ctx, cfg.NoticeNamespace, cfg.NoticeName)
	if err != nil {
		return nil, fmt.Errorf("reading the patch notice %s/%s: %w", cfg.NoticeNamespace, cfg.NoticeName, err)
	}
	if !found {
		return nil, nil
	}
	v := strings.TrimSpace(data[NoticeKey])
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, fmt.Errorf("patch notice %s/%s: %s is %q, want an RFC 3339 time such as 2026-12-07T10:00:00Z", cfg.NoticeNamespace, cfg.NoticeName, NoticeKey, v)
	}
	return &t, nil
}

// allSettled tells whether every zone's Deployment is settled: a restart
// starts only when the whole service is at full strength.
func allSettled(ctx context.Context, cfg Config, k Client) (bool, error) {
	for _, z := range cfg.Zones {
		d, err := k.GetDeployment(ctx, cfg.Namespace, cfg.Deployments[z])
		if err != nil {
			return false, fmt.Errorf("reading Deployment %s: %w", cfg.Deployments[z], err)
		}
		if !d.Settled() {
			return false, nil
		}
	}
	return true, nil
}

// restartZone restarts one Deployment and waits until it has settled on
// the new template.
func restartZone(ctx context.Context, cfg Config, k Client, clock Clock, name string) error {
	before, err := k.GetDeployment(ctx, cfg.Namespace, name)
	if err != nil {
		return fmt.Errorf("reading Deployment %s: %w", name, err)
	}
	if err := k.RestartDeployment(ctx, cfg.Namespace, name, clock.Now()); err != nil {
		return fmt.Errorf("restarting Deployment %s: %w", name, err)
	}
	deadline := clock.Now().Add(cfg.ZoneTimeout)
	for {
		d, err := k.GetDeployment(ctx, cfg.Namespace, name)
		if err != nil {
			return fmt.Errorf("reading Deployment %s: %w", name, err)
		}
		if d.Generation > before.Generation && d.Settled() {
			return nil
		}
		if !clock.Now().Before(deadline) {
			return fmt.Errorf("Deployment %s did not settle within %s (updated %d, ready %d, available %d of %d, %d pods)",
				name, cfg.ZoneTimeout, d.Updated, d.Ready, d.Available, d.Replicas, d.StatusReplicas)
		}
		if err := clock.Sleep(ctx, cfg.Poll); err != nil {
			return err
		}
	}
}
