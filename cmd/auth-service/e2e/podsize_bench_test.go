package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/password"
	"github.com/authplatform/auth-platform/tests/realparts"
)

// The pod-sized measurements of README.md, "Load shedding and memory"
// (review M2, M3): the service binary in a cgroup sized like the default
// pod, 0.5 vCPU (CFS quota 50 ms per 100 ms) and the 768 MiB container
// limit of a 1 GiB Fargate size, with the GOMEMLIMIT the Deployment gives
// it. On a machine shared with other work, the group's CPU weight is
// raised (shares 8192, weight 800) so that it gets its 0.5 CPU when it
// asks, as a Fargate pod does (the quota still caps it), and so is the
// weight of the rest of the measurement (this process, which sends the
// load, and its Redis and PostgreSQL; cgroup v1), for the minute it runs.
// Needs root (it creates the cgroups, under this process's own, and
// removes them). Reports, besides the metrics, one line per phase.
//
//	PODSIZE_GOMEMLIMIT= go test ...    # without GOMEMLIMIT (the review's setting)
//
//	go test ./e2e/ -run '^$' -bench PodSized -benchtime 1x -v
//	PODSIZE_BIN=/path/to/auth-service go test ...   # measure another build
//
// Phases: (1) validation, open loop at 200 req/s over 16 sessions, 10 s
// after a 1 s warm-up, alone; (2) the same under a login flood, 32 clients
// logging in as unknown users with wrong passwords from random addresses
// without pause (the review's M2 flood), once waiting Retry-After after a
// 503, once not; (3) the worst login mix for
// memory: 64 clients, half logging in to users whose stored hashes sit at
// password's bounds (m = 64 MiB, t = 1, p = 4), half as unknown users (the
// dummy 46 MiB hash), for 20 s; peak cgroup memory and VmHWM.
func BenchmarkPodSized(b *testing.B) {
	const (
		quotaUS, periodUS = 50000, 100000
		memLimit          = 768 << 20
		goMemLimit        = "576MiB" // components/authservice FargateSize{0.5, 1}.GoMemLimit()
	)
	if os.Getuid() != 0 {
		b.Fatal("BenchmarkPodSized creates a cgroup: run it as root")
	}
	cg := newPodCgroup(b, quotaUS, periodUS, memLimit)
	prioritise(b)
	bin := os.Getenv("PODSIZE_BIN")
	if bin == "" {
		bin = filepath.Join(b.TempDir(), "auth-service")
		cmd := exec.Command("go", "build", "-o", bin, ".")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("build: %v\n%s", err, out)
		}
	}
	ports, err := realparts.FreePorts(2)
	if err != nil {
		b.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "GOMEMLIMIT=" + goMemLimit}
	if v, ok := os.LookupEnv("PODSIZE_GOMEMLIMIT"); ok { // "" measures without one
		env[1] = "GOMEMLIMIT=" + v
	}
	for k, v := range serviceEnv(map[string]string{"PORT": strconv.Itoa(ports[0]), "METRICS_PORT": strconv.Itoa(ports[1])}) {
		env = append(env, k+"="+v)
	}
	// The shell joins the cgroup, then becomes the service: the Go
	// runtime and the service read their limits at start.
	var log bytes.Buffer
	cmd := exec.Command("/bin/sh", "-c", cg.joinScript()+`exec "$0"`, bin)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &log, &log
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGKILL); _ = cmd.Wait() }()
	url := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	waitFor(b, "the pod-sized service ready", 2*time.Minute, wantHealth(url, http.StatusOK))
	b.Logf("machine: %d CPUs, load average %s; service log: %s", numCPU(), loadAvg(), firstLine(log.String(), "sized to the container"))

	var tokens []string
	for range 16 {
		name, pw := newUser(b, "podsize")
		tokens = append(tokens, podLogin(b, url, name, pw))
	}
	report := func(phase string, lat []time.Duration, errs int, achieved float64) {
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		n := len(lat)
		b.Logf("%s: %d validations at %.0f/s, %d errors: p50 %s, p99 %s, max %s; CFS throttled periods %d; load average %s",
			phase, n, achieved, errs, ms(lat[n/2]), ms(lat[n*99/100]), ms(lat[n-1]), cg.throttled(), loadAvg())
		b.ReportMetric(float64(lat[n*99/100])/1e6, phase+"-p99-ms")
	}

	for n := 0; n < b.N; n++ {
		// (1) validation alone.
		pace(url, tokens, 200, time.Second)
		cg.resetThrottled()
		lat, errs, achieved := pace(url, tokens, 200, 10*time.Second)
		report("alone", lat, errs, achieved)

		// (2) under the M2 login flood, its clients waiting Retry-After
		// after a 503 (as this module's client does), then resending at
		// once (the review's closed loop).
		for _, polite := range []bool{true, false} {
			phase := "flood-ignoring-retry-after"
			if polite {
				phase = "flood-honouring-retry-after"
			}
			stop := make(chan struct{})
			flood := runLogins(url, 32, polite, stop, func(int) (string, string) {
				return fmt.Sprintf("flood-%d", rand.Int64()), "wrong-password"
			})
			pace(url, tokens, 200, time.Second)
			cg.resetThrottled()
			lat, errs, achieved = pace(url, tokens, 200, 10*time.Second)
			close(stop)
			res := flood.wait()
			report(phase, lat, errs, achieved)
			b.Logf("%s: %s", phase, res)
		}
	}

	// (3) memory under the worst login mix.
	heavy := password.Params{MemoryKiB: password.MaxMemoryKiB, Iterations: 1, Parallelism: password.MaxParallelism, SaltLen: 16, KeyLen: 32}
	type user struct{ name, pw string }
	var heavyUsers []user
	for range 8 {
		name, pw := newUser(b, "podsize-heavy")
		h, err := password.Hash(context.Background(), pw, heavy)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := parts.pg.Exec(context.Background(), fmt.Sprintf("UPDATE users SET password_hash = '%s' WHERE username = '%s'", h, name)); err != nil {
			b.Fatal(err)
		}
		heavyUsers = append(heavyUsers, user{name, pw})
	}
	cg.resetPeak()
	stop := make(chan struct{})
	mix := runLogins(url, 64, false, stop, func(i int) (string, string) {
		if i%2 == 0 {
			u := heavyUsers[i/2%len(heavyUsers)]
			return u.name, u.pw
		}
		return fmt.Sprintf("mix-%d", rand.Int64()), "wrong-password"
	})
	time.Sleep(20 * time.Second)
	close(stop)
	res := mix.wait()
	peak := cg.peak()
	b.Logf("worst mix (64 clients, half at m=64 MiB p=4): %s; cgroup peak %d MiB of %d MiB, VmHWM %s, OOM kills %d; load average %s",
		res, peak>>20, memLimit>>20, vmHWM(cmd.Process.Pid), cg.ooms(), loadAvg())
	b.ReportMetric(float64(peak>>20), "peak-MiB")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 1 {
		return "?"
	}
	return f[0]
}

func firstLine(s, containing string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, containing) {
			return l
		}
	}
	return "(not logged)"
}

func vmHWM(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			return strings.Join(strings.Fields(l)[1:], " ")
		}
	}
	return "?"
}

func podLogin(b *testing.B, url, name, pw string) string {
	for range 100 {
		r, err := doErr(http.MethodPost, url+"/v1/login", loginBody(name, pw), jsonHeader)
		if err == nil && r.Status == http.StatusOK {
			return jsonField(r.Body, "token")
		}
		time.Sleep(200 * time.Millisecond) // shed: wait as Retry-After says
	}
	b.Fatalf("no login for %s", name)
	return ""
}

// logins is a closed-loop login load.
type logins struct {
	wg                         sync.WaitGroup
	ok, judged, shed, other    atomic.Int64
	mu                         sync.Mutex
	shedLatency, judgedLatency []time.Duration
}

// runLogins runs clients that log in without pause until stop, waiting
// Retry-After after a 503 when polite; each request's credentials come
// from creds(client).
func runLogins(url string, clients int, polite bool, stop chan struct{}, creds func(int) (string, string)) *logins {
	l := &logins{}
	for i := range clients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			c := &http.Client{Timeout: 60 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				name, pw := creds(i)
				req, _ := http.NewRequest(http.MethodPost, url+"/v1/login", loginBody(name, pw))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", rand.IntN(256), rand.IntN(256), 1+rand.IntN(254)))
				start := time.Now()
				res, err := c.Do(req)
				took := time.Since(start)
				if err != nil {
					l.other.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if secs, err := strconv.Atoi(res.Header.Get("Retry-After")); polite && err == nil && res.StatusCode == http.StatusServiceUnavailable {
					select {
					case <-stop:
					case <-time.After(time.Duration(secs) * time.Second):
					}
				}
				l.mu.Lock()
				switch res.StatusCode {
				case http.StatusOK:
					l.ok.Add(1)
					l.judgedLatency = append(l.judgedLatency, took)
				case http.StatusUnauthorized:
					l.judged.Add(1)
					l.judgedLatency = append(l.judgedLatency, took)
				case http.StatusServiceUnavailable:
					l.shed.Add(1)
					l.shedLatency = append(l.shedLatency, took)
				default:
					l.other.Add(1)
				}
				l.mu.Unlock()
			}
		}()
	}
	return l
}

func (l *logins) wait() string {
	l.wg.Wait()
	q := func(d []time.Duration, p int) string {
		if len(d) == 0 {
			return "-"
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return ms(d[len(d)*p/100])
	}
	return fmt.Sprintf("logins: %d ok + %d refused (judged; p50 %s, p99 %s), %d shed with 503 (p50 %s, p99 %s), %d other",
		l.ok.Load(), l.judged.Load(), q(l.judgedLatency, 50), q(l.judgedLatency, 99), l.shed.Load(), q(l.shedLatency, 50), q(l.shedLatency, 99), l.other.Load())
}

// podCgroup is a cgroup for the service (v1: one per controller; v2: one),
// a child of this process's own.
type podCgroup struct {
	b        testing.TB
	v2       bool
	cpu, mem string // v1 directories (v2: both the same)
}

func newPodCgroup(b testing.TB, quotaUS, periodUS int, memLimit int64) *podCgroup {
	groups, _ := os.ReadFile("/proc/self/cgroup")
	own := map[string]string{}
	for _, line := range strings.Split(string(groups), "\n") {
		p := strings.SplitN(line, ":", 3)
		if len(p) == 3 {
			for _, c := range strings.Split(p[1], ",") {
				own[c] = p[2]
			}
		}
	}
	name := fmt.Sprintf("podsize-%d", os.Getpid())
	cg := &podCgroup{b: b}
	if _, err := os.Stat("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"); err == nil {
		cg.cpu = filepath.Join("/sys/fs/cgroup/cpu", own["cpu"], name)
		cg.mem = filepath.Join("/sys/fs/cgroup/memory", own["memory"], name)
		cg.mkdir(cg.cpu)
		cg.mkdir(cg.mem)
		cg.write(cg.cpu, "cpu.cfs_period_us", strconv.Itoa(periodUS))
		cg.write(cg.cpu, "cpu.cfs_quota_us", strconv.Itoa(quotaUS))
		cg.write(cg.cpu, "cpu.shares", "8192")
		cg.write(cg.mem, "memory.limit_in_bytes", strconv.FormatInt(memLimit, 10))
	} else {
		cg.v2 = true
		cg.cpu = filepath.Join("/sys/fs/cgroup", own[""], name)
		cg.mem = cg.cpu
		cg.mkdir(cg.cpu)
		cg.write(cg.cpu, "cpu.max", fmt.Sprintf("%d %d", quotaUS, periodUS))
		cg.write(cg.cpu, "cpu.weight", "800")
		cg.write(cg.cpu, "memory.max", strconv.FormatInt(memLimit, 10))
	}
	b.Cleanup(func() {
		// The service is gone by now; the directories go once empty.
		for range 50 {
			if os.Remove(cg.cpu) == nil || os.IsNotExist(os.Remove(cg.cpu)) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if cg.mem != cg.cpu {
			_ = os.Remove(cg.mem)
		}
	})
	return cg
}

func (cg *podCgroup) mkdir(dir string) {
	if err := os.Mkdir(dir, 0o755); err != nil {
		cg.b.Fatalf("cgroup: %v", err)
	}
}

func (cg *podCgroup) write(dir, file, v string) {
	if err := os.WriteFile(filepath.Join(dir, file), []byte(v), 0o644); err != nil {
		cg.b.Fatalf("cgroup %s/%s = %s: %v", dir, file, v, err)
	}
}

func (cg *podCgroup) read(dir, file string) string {
	b, _ := os.ReadFile(filepath.Join(dir, file))
	return string(b)
}

// joinScript moves the shell running it into the group.
func (cg *podCgroup) joinScript() string {
	s := fmt.Sprintf("echo $$ > %s/cgroup.procs; ", cg.cpu)
	if cg.mem != cg.cpu {
		s += fmt.Sprintf("echo $$ > %s/cgroup.procs; ", cg.mem)
	}
	return s
}

func (cg *podCgroup) stat(dir, file, key string) int64 {
	for _, l := range strings.Split(cg.read(dir, file), "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && f[0] == key {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

var throttleBase int64

func (cg *podCgroup) resetThrottled() { throttleBase = cg.stat(cg.cpu, "cpu.stat", "nr_throttled") }

func (cg *podCgroup) throttled() int64 {
	return cg.stat(cg.cpu, "cpu.stat", "nr_throttled") - throttleBase
}

func (cg *podCgroup) resetPeak() {
	if !cg.v2 {
		cg.write(cg.mem, "memory.max_usage_in_bytes", "0")
	}
}

func (cg *podCgroup) peak() int64 {
	file := "memory.max_usage_in_bytes"
	if cg.v2 {
		file = "memory.peak"
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(cg.read(cg.mem, file)), 10, 64)
	return n
}

func (cg *podCgroup) ooms() int64 {
	if cg.v2 {
		return cg.stat(cg.mem, "memory.events", "oom_kill")
	}
	return cg.stat(cg.mem, "memory.oom_control", "oom_kill")
}

// prioritise moves this process and its descendants (Redis, PostgreSQL)
// into a cpu cgroup with shares 8192, for the benchmark's duration (cgroup
// v1; on v2 it does nothing and says so).
func prioritise(b *testing.B) {
	groups, _ := os.ReadFile("/proc/self/cgroup")
	own := ""
	for _, line := range strings.Split(string(groups), "\n") {
		if p := strings.SplitN(line, ":", 3); len(p) == 3 && slices.Contains(strings.Split(p[1], ","), "cpu") {
			own = p[2]
		}
	}
	base := filepath.Join("/sys/fs/cgroup/cpu", own)
	if own == "" {
		b.Log("not prioritised: no cgroup v1 cpu controller")
		return
	}
	dir := filepath.Join(base, fmt.Sprintf("podsize-bench-%d", os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cpu.shares"), []byte("8192"), 0o644); err != nil {
		b.Fatal(err)
	}
	pids := descendants(os.Getpid())
	for _, pid := range pids {
		_ = os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644)
	}
	b.Cleanup(func() {
		procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		for _, pid := range strings.Fields(string(procs)) {
			_ = os.WriteFile(filepath.Join(base, "cgroup.procs"), []byte(pid), 0o644)
		}
		_ = os.Remove(dir)
	})
}

// descendants is pid and every process below it.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// "pid (comm) state ppid ...": comm may hold spaces; split after it.
		rest := string(stat)[strings.LastIndexByte(string(stat), ')')+1:]
		if f := strings.Fields(rest); len(f) > 1 {
			if ppid, err := strconv.Atoi(f[1]); err == nil {
				children[ppid] = append(children[ppid], p)
			}
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}
