package recycle

import (
	"context"
	"reflect"
	"testing"
	"time"
)

// fakeKube is a cluster of per-zone Deployments that settle a fixed
// number of reads after a restart (or never).
type fakeKube struct {
	pods       []Pod
	notice     map[string]string
	deps       map[string]*Deployment
	settleIn   map[string]int // reads until a restarted Deployment settles; -1 never
	pending    map[string]int
	restarts   []string
	overlapped bool // a restart began while another Deployment was rolling
}

func newFake(pods []Pod, names ...string) *fakeKube {
	f := &fakeKube{pods: pods, deps: map[string]*Deployment{}, settleIn: map[string]int{}, pending: map[string]int{}}
	for _, n := range names {
		f.deps[n] = &Deployment{Name: n, Generation: 1, ObservedGeneration: 1, Replicas: 1, StatusReplicas: 1, Updated: 1, Ready: 1, Available: 1}
		f.settleIn[n] = 2
	}
	return f
}

func (f *fakeKube) ListPods(context.Context, string, string) ([]Pod, error) { return f.pods, nil }

func (f *fakeKube) GetDeployment(_ context.Context, _ string, name string) (Deployment, error) {
	d := f.deps[name]
	if f.pending[name] > 0 {
		f.pending[name]--
		if f.pending[name] == 0 {
			d.Updated, d.Available, d.Ready = d.Replicas, d.Replicas, d.Replicas
		}
	}
	return *d, nil
}

func (f *fakeKube) RestartDeployment(_ context.Context, _ string, name string, _ time.Time) error {
	for n, d := range f.deps {
		if n != name && !d.Settled() {
			f.overlapped = true
		}
	}
	f.restarts = append(f.restarts, name)
	d := f.deps[name]
	d.Generation++
	d.ObservedGeneration = d.Generation
	d.Updated, d.Available = 0, 0
	if f.settleIn[name] < 0 {
		f.pending[name] = -1
	} else {
		f.pending[name] = f.settleIn[name]
	}
	return nil
}

func (f *fakeKube) GetConfigMap(context.Context, string, string) (map[string]string, bool, error) {
	return f.notice, f.notice != nil, nil
}

// fakeClock advances by what the job sleeps.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.now = c.now.Add(d)
	return nil
}

func config() Config {
	return Config{
		Namespace: "auth", Selector: "app=auth", ZoneLabel: "zone",
		Zones:           []string{"a", "b", "c"},
		Deployments:     map[string]string{"a": "auth-a", "b": "auth-b", "c": "auth-c"},
		MaxAge:          7 * 24 * time.Hour,
		Window:          Window{Start: 6 * 60, End: 8 * 60}, // 06:00-08:00 daily
		ZoneTimeout:     20 * time.Minute,
		NoticeNamespace: "auth-patching", NoticeName: "fargate-patch-notice",
		Poll: 5 * time.Second,
	}
}

var monday = time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)

func pod(name, zone string, created time.Time) Pod {
	return Pod{Name: name, Zone: zone, Created: created, Running: true}
}

func outcomes(r Report) []Outcome {
	var out []Outcome
	for _, z := range r.Zones {
		out = append(out, z.Outcome)
	}
	return out
}

func TestRun(t *testing.T) {
	old := monday.Add(-10 * 24 * time.Hour)
	fresh := monday.Add(-24 * time.Hour)
	beforeNotice := monday.Add(-3 * 24 * time.Hour)
	for _, tc := range []struct {
		name     string
		at       time.Time
		pods     []Pod
		notice   map[string]string
		never    string // a Deployment that never settles
		want     []Outcome
		restarts []string
		fails    bool
	}{
		{name: "outside the window nothing is read or restarted", at: monday.Add(5 * time.Hour),
			pods: []Pod{pod("p1", "a", old)}},
		{name: "old pods and pods older than the notice, one zone at a time", at: monday.Add(6 * time.Hour),
			pods:   []Pod{pod("p1", "a", old), pod("p2", "b", fresh), pod("p3", "c", beforeNotice)},
			notice: map[string]string{NoticeKey: monday.Add(-2 * 24 * time.Hour).Format(time.RFC3339)},
			want:   []Outcome{Restarted, Fresh, Restarted}, restarts: []string{"auth-a", "auth-c"}},
		{name: "without a notice age alone decides", at: monday.Add(6 * time.Hour),
			pods: []Pod{pod("p1", "a", old), pod("p2", "b", fresh), pod("p3", "c", beforeNotice)},
			want: []Outcome{Restarted, Fresh, Fresh}, restarts: []string{"auth-a"}},
		{name: "no zone starts when the window closes before its roll could finish", at: monday.Add(7*time.Hour + 45*time.Minute),
			pods: []Pod{pod("p1", "a", old)},
			want: []Outcome{NoTime, Fresh, Fresh}},
		{name: "a zone that does not settle stops the run", at: monday.Add(6 * time.Hour),
			pods:  []Pod{pod("p1", "a", old), pod("p3", "c", old)},
			never: "auth-a",
			want:  []Outcome{NotReached, NotReached, NotReached}, restarts: []string{"auth-a"}, fails: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newFake(tc.pods, "auth-a", "auth-b", "auth-c")
			k.notice = tc.notice
			if tc.never != "" {
				k.settleIn[tc.never] = -1
			}
			r, err := Run(context.Background(), config(), k, &fakeClock{now: tc.at})
			if (err != nil) != tc.fails {
				t.Fatalf("error %v, want failure %v", err, tc.fails)
			}
			if !reflect.DeepEqual(outcomes(r), tc.want) {
				t.Errorf("outcomes %v, want %v", outcomes(r), tc.want)
			}
			if !reflect.DeepEqual(k.restarts, tc.restarts) {
				t.Errorf("restarts %v, want %v", k.restarts, tc.restarts)
			}
			if k.overlapped {
				t.Error("a zone was restarted while another was still rolling")
			}
		})
	}
}

func TestWindowAcrossMidnightAndWeek(t *testing.T) {
	daily := Window{Start: 23 * 60, End: 60}                            // 23:00-01:00
	weekly := Window{Weekly: true, Start: 6*24*60 + 22*60, End: 2 * 60} // sat 22:00 - sun 02:00
	for _, tc := range []struct {
		w    Window
		at   time.Time
		left time.Duration
	}{
		{daily, monday.Add(-30 * time.Minute), 90 * time.Minute},
		{daily, monday.Add(30 * time.Minute), 30 * time.Minute},
		{daily, monday.Add(time.Hour), 0},
		{weekly, monday.Add(-24*time.Hour - time.Hour), 3 * time.Hour}, // sat 23:00
		{weekly, monday.Add(-24*time.Hour + time.Hour), time.Hour},     // sun 01:00
		{weekly, monday.Add(-30 * time.Minute), 0},                     // sun 23:30
	} {
		if got := tc.w.Remaining(tc.at); got != tc.left {
			t.Errorf("%+v at %s: %s left, want %s", tc.w, tc.at.Format(time.RFC3339), got, tc.left)
		}
	}
}
