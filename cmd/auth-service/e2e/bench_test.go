package e2e

import (
	"context"
	"io"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/password"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/session"
)

// Benchmarks run on the same real parts as the tests:
//
//	go test ./e2e/ -run '^$' -bench . -benchtime 1x     (the paced one)
//	go test ./e2e/ -run '^$' -bench 'Login|Validation$'

var benchTransport = &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}
var benchClient = &http.Client{Transport: benchTransport, Timeout: 10 * time.Second}

func benchTokens(b *testing.B, inst *instance, n int) []string {
	b.Helper()
	tokens := make([]string, n)
	for i := range tokens {
		tok, _, err := inst.Svc.Sessions.Create(context.Background(), session.Data{UserID: int64(i + 1), Username: "bench"}, 0, false)
		if err != nil {
			b.Fatal(err)
		}
		tokens[i] = tok
	}
	return tokens
}

func validate(base, tok string) (time.Duration, error) {
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/session", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	start := time.Now()
	res, err := benchClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, &statusError{res.StatusCode}
	}
	return time.Since(start), nil
}

type statusError struct{ code int }

func (e *statusError) Error() string { return http.StatusText(e.code) }

// BenchmarkSessionValidation: GET /v1/session as fast as it goes, 8 at once.
func BenchmarkSessionValidation(b *testing.B) {
	inst := startInstance(b, nil)
	tokens := benchTokens(b, inst, 256)
	b.ResetTimer()
	b.SetParallelism(4)
	var i int64
	var mu sync.Mutex
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			i++
			tok := tokens[i%int64(len(tokens))]
			mu.Unlock()
			if _, err := validate(inst.URL, tok); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkSessionValidationPaced1000rps sends GET /v1/session at a fixed
// 1,000 requests/s for 5 s after a 1 s warm-up at the same rate (open loop:
// latency counts from the scheduled send time, so a stall is not hidden)
// and reports p50/p99/max.
func BenchmarkSessionValidationPaced1000rps(b *testing.B) {
	inst := startInstance(b, nil)
	tokens := benchTokens(b, inst, 256)
	const rate = 1000
	const duration = 5 * time.Second
	// Warm up at the same rate first (connections to the service and the
	// Redis pools open, the Go runtime settles): the figures are steady state.
	pace(inst.URL, tokens, rate, time.Second)
	for n := 0; n < b.N; n++ {
		lat, errs, achieved := pace(inst.URL, tokens, rate, duration)
		total := len(lat)
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		b.ReportMetric(ms(lat[total/2]), "p50-ms")
		b.ReportMetric(ms(lat[total*99/100]), "p99-ms")
		b.ReportMetric(ms(lat[total-1]), "max-ms")
		b.ReportMetric(achieved, "req/s")
		b.ReportMetric(float64(errs), "errors")
	}
}

// pace sends GET /v1/session at rate for duration, open loop, and returns
// every request's latency from its scheduled send time.
func pace(url string, tokens []string, rate int, duration time.Duration) ([]time.Duration, int, float64) {
	total := int(int64(rate) * int64(duration) / int64(time.Second))
	lat := make([]time.Duration, total)
	errs := 0
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < total; i++ {
		at := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
		time.Sleep(time.Until(at))
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := validate(url, tokens[i%len(tokens)])
			d := time.Since(at)
			mu.Lock()
			lat[i] = d
			if err != nil {
				errs++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return lat, errs, float64(total) / time.Since(start).Seconds()
}

// BenchmarkLogin: POST /v1/login with the right password, one at a time.
func BenchmarkLogin(b *testing.B) {
	inst := startInstance(b, nil)
	name, pw := newUser(b, "bench-login")
	body := `{"username":"` + name + `","password":"` + pw + `"}`
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest(http.MethodPost, inst.URL+"/v1/login", stringsReader(body))
		req.Header.Set("Content-Type", "application/json")
		res, err := benchClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("login: %d", res.StatusCode)
		}
	}
}

// BenchmarkPasswordVerify: the argon2id check alone (password.Default),
// to compare with BenchmarkLogin.
func BenchmarkPasswordVerify(b *testing.B) {
	h, err := password.Hash(context.Background(), "bench-password-123", password.Default)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ok, err := password.Verify(context.Background(), "bench-password-123", h); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
