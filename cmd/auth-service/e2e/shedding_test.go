package e2e

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/password"
)

// A login flood past the pod's hashing capacity (review M2): the logins
// the pod can hash within password.MaxWait are judged, the others get
// 503 with Retry-After at once instead of waiting up to the request
// timeout, readiness stays ok, and each refusal is counted as shed.
func TestALoginFloodIsShedWithRetryAfterNotQueued(t *testing.T) {
	inst := startInstance(t, nil)
	const flood = 160
	type result struct {
		status     int
		retryAfter string
		code       string
		took       time.Duration
	}
	results := make([]result, flood)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range flood {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			h := map[string]string{"Content-Type": "application/json", "X-Forwarded-For": fmt.Sprintf("198.18.%d.%d", i/200, i%200+1)}
			began := time.Now()
			r, err := doErr(http.MethodPost, inst.URL+"/v1/login", loginBody(fmt.Sprintf("flood-%d-%d", i, time.Now().UnixNano()), "wrong-password"), h)
			if !assert.NoError(t, err) {
				return
			}
			results[i] = result{status: r.Status, retryAfter: r.Header.Get("Retry-After"), code: jsonField(r.Body, "error"), took: time.Since(began)}
		}()
	}
	// Readiness while the flood runs: a login flood alone never makes the
	// pod overloaded.
	probes := make(chan int, 1)
	go func() {
		bad := 0
		for range 20 {
			if r, err := doErr(http.MethodGet, inst.URL+"/health", nil, nil); err != nil || r.Status != http.StatusOK {
				bad++
			}
			time.Sleep(50 * time.Millisecond)
		}
		probes <- bad
	}()
	close(start)
	wg.Wait()
	assert.Zero(t, <-probes, "readiness stays ok under the flood")

	var judged, shed []time.Duration
	for _, r := range results {
		switch r.status {
		case http.StatusUnauthorized:
			judged = append(judged, r.took)
		case http.StatusServiceUnavailable:
			shed = append(shed, r.took)
			assert.Equal(t, "unavailable", r.code)
			secs, err := strconv.Atoi(r.retryAfter)
			if assert.NoError(t, err, "Retry-After %q", r.retryAfter) {
				assert.GreaterOrEqual(t, secs, 1)
			}
		default:
			t.Errorf("status %d: only 401 (judged) or 503 (shed) expected", r.status)
		}
	}
	t.Logf("%d logins at once: %d judged (median %s, slowest %s), %d shed (median %s, slowest %s)", flood,
		len(judged), median(judged), slowest(judged), len(shed), median(shed), slowest(shed))
	require.NotEmpty(t, judged, "the pod hashes what it can")
	require.NotEmpty(t, shed, "and sheds the rest")
	// Fast: a shed login waited at most MaxWait (plus HTTP on a loaded
	// machine), never the 25 s request timeout; most were refused at once,
	// before the judged ones, which waited their turn.
	assert.Less(t, slowest(shed), password.MaxWait+5*time.Second)
	assert.Less(t, median(shed), median(judged))
	assert.Equal(t, float64(len(shed)), metricValue(t, inst, `auth_logins_total{result="shed"}`))

	// Capacity comes back: once the queue drained, a login is judged.
	waitFor(t, "a login judged after the flood", 30*time.Second, func() error {
		if r := login(t, inst.URL, "after-the-flood", "wrong-password"); r.Status != http.StatusUnauthorized {
			return fmt.Errorf("status %d", r.Status)
		}
		return nil
	})
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func slowest(d []time.Duration) time.Duration {
	var m time.Duration
	for _, v := range d {
		m = max(m, v)
	}
	return m
}
