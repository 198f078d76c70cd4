package drill

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/authplatform/auth-platform/cmd/downtime-probe/probe"
)

// The auth service's API (cmd/auth-service/README.md).
const (
	LoginPath   = "/v1/login"
	SessionPath = "/v1/session"
	LogoutPath  = "/v1/logout"
)

// Operations of the load.
const (
	OpLogin      = "login"
	OpCheck      = "check"
	OpLogout     = "logout"
	OpCarried    = "carried-check" // a check of a session carried through the drill
	OpFinal      = "final-check"   // the check of a carried session at the end
	OpFinalLogin = "final-login"   // every user's login at the end: no account is locked
)

// Failure classes the drill adds to probe's.
const (
	// ClassSessionLost: the service refused a session the client holds as
	// valid (not logged out, not expired).
	ClassSessionLost probe.Class = "session_lost"
	// ClassBadResponse: 2xx without what the API promises (no token).
	ClassBadResponse probe.Class = "bad_response"
)

// Credentials of one user of the drill.
type Credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// LoadConfig shapes the load.
type LoadConfig struct {
	// BaseURL of the load balancer, e.g. http://127.0.0.1:8080, or of the
	// application in front of it (API).
	BaseURL string
	// API are the paths of BaseURL's login, session check and logout; the
	// zero value is the service's (ServiceAPI).
	API API
	// FinalURL is where the final checks and logins go, on the service's
	// API: the service's own word on whether the sessions survived and no
	// account is locked. Default BaseURL (then with API's paths).
	FinalURL string
	// Rate in requests per second, open loop: a request is sent on time
	// whatever the previous ones do. Default 300.
	Rate float64
	// Timeout per request, dial to last body byte. Default 10 s: longer
	// than a Redis failover the service rides through.
	Timeout time.Duration
	// Concurrency caps requests in flight; a request due when all are busy
	// is dropped and counted. Default 2048, or 3 s of requests when more:
	// while a shard hangs, a third of the requests wait out the service's
	// 8 s Redis deadline (8/3 s of requests in flight); during a Redis
	// failover a third wait ~4 s for the promotion (512 was too few).
	Concurrency int
	// LoginShare and LogoutShare of the requests; the rest are session
	// checks. Defaults 0.01 and 0.01 (3 a second each at 300 req/s): a
	// login costs an argon2id hash (46 MiB), which a loaded 2-core machine
	// does a few times a second at most.
	LoginShare, LogoutShare float64
	// CarriedShare of the checks go to the carried sessions. Default 0.3.
	CarriedShare float64
	Users        []Credentials
	// Seed makes the mix reproducible. Default 1.
	Seed uint64
}

// API names the paths the load sends its operations to.
type API struct{ Login, Session, Logout string }

// ServiceAPI is the auth service's.
var ServiceAPI = API{Login: LoginPath, Session: SessionPath, Logout: LogoutPath}

// AppAPI is the drill's application's (cmd/auth-service/client/examples/app).
var AppAPI = API{Login: "/app/login", Session: "/app/session", Logout: "/app/logout"}

// final tells the operations sent to FinalURL.
func final(op string) bool { return op == OpFinal || op == OpFinalLogin }

// route is the URL of op's request, whose path on the service is
// servicePath.
func (c *LoadConfig) route(op, servicePath string) string {
	base, api := c.BaseURL, c.API
	if final(op) && c.FinalURL != "" {
		base, api = c.FinalURL, ServiceAPI
	}
	path := servicePath
	switch servicePath {
	case LoginPath:
		path = api.Login
	case SessionPath:
		path = api.Session
	case LogoutPath:
		path = api.Logout
	}
	return strings.TrimSuffix(base, "/") + path
}

func (c *LoadConfig) defaults() {
	if c.API == (API{}) {
		c.API = ServiceAPI
	}
	if c.Rate <= 0 {
		c.Rate = 300
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Concurrency <= 0 {
		c.Concurrency = max(2048, int(3*c.Rate))
	}
	if c.LoginShare <= 0 {
		c.LoginShare = 0.01
	}
	if c.LogoutShare <= 0 {
		c.LogoutShare = 0.01
	}
	if c.CarriedShare <= 0 {
		c.CarriedShare = 0.3
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
}

// Record is one request of the drill.
type Record struct {
	probe.Result
	// RetryAfter is the Retry-After a 503 carried: the service's "not
	// judged, resend after this" (a login shed for hashing capacity).
	RetryAfter time.Duration
	Op         string
	// Slots are the Redis Cluster slots of the keys the request touches
	// (keys.go), so a fault can tell the requests it explains.
	Slots []int
}

// session is a token the client holds as valid.
type session struct {
	token      string
	carried    bool
	inflight   int  // checks in flight
	loggingOut bool // a logout is in flight: checks may be refused now
	lost       bool // refused once: counted once
}

// Load drives the auth service through the load balancer and records
// every request.
type Load struct {
	cfg    LoadConfig
	client *http.Client

	mu      sync.Mutex
	rng     *rand.Rand
	start   time.Time
	records []Record
	live    []*session // sessions from the load's logins
	carried []*session
	lostIDs map[*session]bool
	// loggingIn holds the users with a login in flight.
	loggingIn map[string]bool
	dropped   int
	resent    int
	seq       int
	inflight  sync.WaitGroup
}

// NewLoad prepares a load; nothing is sent yet.
func NewLoad(cfg LoadConfig) *Load {
	cfg.defaults()
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        512,
		MaxIdleConnsPerHost: 512,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	return &Load{
		cfg:       cfg,
		client:    &http.Client{Transport: tr, Timeout: cfg.Timeout},
		rng:       rand.New(rand.NewPCG(cfg.Seed, 14)),
		start:     time.Now(),
		lostIDs:   map[*session]bool{},
		loggingIn: map[string]bool{},
	}
}

// Begin sets the time origin of the records.
func (l *Load) Begin(at time.Time) { l.start = at }

// Start is the time origin of the records.
func (l *Load) Start() time.Time { return l.start }

// takeUser picks a user with no login in flight: the service locks an
// account out after more than a few attempts without a success, and
// attempts in flight count. ok is false when every user is busy.
func (l *Load) takeUser() (Credentials, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.cfg.Users)
	for i, off := 0, l.rng.IntN(n); i < n; i++ {
		u := l.cfg.Users[(off+i)%n]
		if !l.loggingIn[u.Username] {
			l.loggingIn[u.Username] = true
			return u, true
		}
	}
	return Credentials{}, false
}

func (l *Load) releaseUser(c Credentials) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.loggingIn, c.Username)
}

// loginAs logs a free user in; ok is false when every user was busy.
func (l *Load) loginAs(ctx context.Context) (string, Record, bool) {
	u, ok := l.takeUser()
	if !ok {
		return "", Record{}, false
	}
	defer l.releaseUser(u)
	tok, rec := l.login(ctx, u)
	return tok, rec, true
}

// CreateCarried logs n sessions in before the first disruption; each
// must still validate once every pod has been replaced.
func (l *Load) CreateCarried(ctx context.Context, n int) error {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2) // hashes are expensive; keep the service responsive
	var errMu sync.Mutex
	var firstErr error
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var tok string
			var rec Record
			for {
				var ok bool
				if tok, rec, ok = l.loginAs(ctx); ok {
					break
				}
				if sleep(ctx, 5*time.Millisecond) != nil {
					return
				}
			}
			if rec.Failed() {
				errMu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("login for a carried session failed: %s %d %s", rec.Class, rec.Status, rec.Err)
				}
				errMu.Unlock()
				return
			}
			l.mu.Lock()
			l.carried = append(l.carried, &session{token: tok, carried: true})
			l.mu.Unlock()
		}()
	}
	wg.Wait()
	return firstErr
}

// Carried is how many sessions are carried through the drill.
func (l *Load) Carried() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.carried)
}

// Run sends requests at the configured rate until ctx ends, then waits
// for those in flight.
func (l *Load) Run(ctx context.Context) {
	interval := time.Duration(float64(time.Second) / l.cfg.Rate)
	sem := make(chan struct{}, l.cfg.Concurrency)
	begin := time.Now()
	for i := 0; ; i++ {
		due := begin.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				l.inflight.Wait()
				return
			case <-t.C:
			}
		} else if ctx.Err() != nil {
			l.inflight.Wait()
			return
		}
		select {
		case sem <- struct{}{}:
		default:
			l.mu.Lock()
			l.dropped++
			l.mu.Unlock()
			continue
		}
		l.inflight.Add(1)
		go func() {
			defer l.inflight.Done()
			defer func() { <-sem }()
			l.one(context.WithoutCancel(ctx))
		}()
	}
}

// one sends one request of the mix.
func (l *Load) one(ctx context.Context) {
	l.mu.Lock()
	x := l.rng.Float64()
	var pick *session
	op := OpCheck
	switch {
	case x < l.cfg.LoginShare || (len(l.live) == 0 && len(l.carried) == 0):
		op = OpLogin
	case x < l.cfg.LoginShare+l.cfg.LogoutShare:
		// Log out a session no check is using, so a refused check always
		// means a lost session.
		for tries := 0; tries < 4 && len(l.live) > 0; tries++ {
			i := l.rng.IntN(len(l.live))
			if s := l.live[i]; s.inflight == 0 {
				pick = s
				l.live[i] = l.live[len(l.live)-1]
				l.live = l.live[:len(l.live)-1]
				s.loggingOut = true
				break
			}
		}
		if pick == nil {
			op = OpLogin
		} else {
			op = OpLogout
		}
	default:
		pool := l.live
		if len(l.carried) > 0 && (len(pool) == 0 || l.rng.Float64() < l.cfg.CarriedShare) {
			pool = l.carried
			op = OpCarried
		}
		pick = pool[l.rng.IntN(len(pool))]
		pick.inflight++
	}
	l.mu.Unlock()

	switch op {
	case OpLogin:
		tok, rec, ok := l.loginAs(ctx)
		if !ok {
			// Every user is logging in already: check a session instead.
			l.mu.Lock()
			pool := l.carried
			if len(l.live) > 0 {
				pool = l.live
			}
			if len(pool) == 0 {
				l.mu.Unlock()
				return
			}
			pick = pool[l.rng.IntN(len(pool))]
			pick.inflight++
			l.mu.Unlock()
			l.check(ctx, OpCheck, pick)
			l.mu.Lock()
			pick.inflight--
			l.mu.Unlock()
			return
		}
		if !rec.Failed() {
			l.mu.Lock()
			l.live = append(l.live, &session{token: tok})
			l.mu.Unlock()
		}
	case OpLogout:
		l.do(ctx, OpLogout, http.MethodPost, LogoutPath, pick.token, nil, SessionSlots(pick.token))
	default:
		l.check(ctx, op, pick)
		l.mu.Lock()
		pick.inflight--
		l.mu.Unlock()
	}
}

func (l *Load) login(ctx context.Context, c Credentials) (string, Record) {
	return l.loginOp(ctx, OpLogin, c)
}

func (l *Load) loginOp(ctx context.Context, op string, c Credentials) (string, Record) {
	body, _ := json.Marshal(c)
	rec, resp := l.do(ctx, op, http.MethodPost, LoginPath, "", body, LoginSlots(c.Username))
	// A login the service shed for hashing capacity (503 with
	// Retry-After) was not judged and is resent after the wait, as the
	// API's contract lets a client do (cmd/auth-service README, "Load
	// shedding"): the drill's three services share two cores with the
	// real parts and the generator, which a pod's own CPU is not. Only
	// the final answer is a request's outcome; resends are counted.
	for tries := 0; rec.Status == http.StatusServiceUnavailable && rec.RetryAfter > 0 && tries < maxLoginResends; tries++ {
		if sleep(ctx, min(rec.RetryAfter, 2*time.Second)) != nil {
			break
		}
		l.drop(rec.Seq)
		rec, resp = l.do(ctx, op, http.MethodPost, LoginPath, "", body, LoginSlots(c.Username))
	}
	if rec.Failed() {
		return "", rec
	}
	tok := tokenOf(resp)
	if tok == "" {
		rec.Class, rec.Err = ClassBadResponse, "login answered 2xx without a token"
		l.replace(rec)
	}
	return tok, rec
}

// check validates s; a refusal of a session the client holds as valid is
// a lost session, counted once per session.
func (l *Load) check(ctx context.Context, op string, s *session) Record {
	rec, _ := l.do(ctx, op, http.MethodGet, SessionPath, s.token, nil, SessionSlots(s.token))
	if rec.Status == http.StatusUnauthorized || rec.Status == http.StatusNotFound {
		rec.Class = ClassSessionLost
		l.replace(rec)
		l.mu.Lock()
		l.lostIDs[s] = true
		l.mu.Unlock()
	}
	return rec
}

// ValidateCarried checks every carried session once more, after the
// drill: each must still validate. It returns how many did not.
func (l *Load) ValidateCarried(ctx context.Context) int {
	l.mu.Lock()
	carried := append([]*session(nil), l.carried...)
	l.mu.Unlock()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, s := range carried {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if rec := l.check(ctx, OpFinal, s); rec.Failed() {
				l.mu.Lock()
				l.lostIDs[s] = true
				l.mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return l.LostSessions()
}

// FinalLogins logs every user in once more, after the drill, with its
// password: a fault must not leave an account locked (a login the
// service could not judge must not count against it). It returns how
// many failed and how many of those were refused as locked (429).
func (l *Load) FinalLogins(ctx context.Context) (failed, locked int) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	sem := make(chan struct{}, 2) // hashes are expensive
	for _, u := range l.cfg.Users {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, rec := l.loginOp(ctx, OpFinalLogin, u)
			if rec.Failed() {
				mu.Lock()
				failed++
				if rec.Status == http.StatusTooManyRequests {
					locked++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return failed, locked
}

// LostSessions counts the sessions refused while held as valid, and the
// carried ones that failed their final check.
func (l *Load) LostSessions() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lostIDs)
}

// Records returns every request so far, in send order.
func (l *Load) Records() []Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]Record(nil), l.records...)
	return sortRecords(out)
}

// Dropped counts requests not sent because Concurrency were in flight.
func (l *Load) Dropped() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped
}

// do sends one request and records it.
func (l *Load) do(ctx context.Context, op, method, path, token string, body []byte, slots []int) (Record, []byte) {
	l.mu.Lock()
	seq := l.seq
	l.seq++
	l.mu.Unlock()
	sent := time.Now()
	status, retryAfter, respBody, err := l.roundTrip(ctx, method, l.cfg.route(op, path), token, body)
	rec := Record{Op: op, Slots: slots, RetryAfter: retryAfter, Result: probe.Result{Seq: seq, Sent: sent, Latency: time.Since(sent), Status: status}}
	rec.Class = probe.Classify(status, err)
	if err != nil {
		rec.Err = err.Error()
	}
	l.mu.Lock()
	l.records = append(l.records, rec)
	l.mu.Unlock()
	return rec, respBody
}

// maxLoginResends bounds the resends of one shed login.
const maxLoginResends = 3

// drop forgets the record of seq, a shed login about to be resent, and
// counts the resend.
func (l *Load) drop(seq int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.resent++
	for i := len(l.records) - 1; i >= 0; i-- {
		if l.records[i].Seq == seq {
			l.records = append(l.records[:i], l.records[i+1:]...)
			return
		}
	}
}

// Resent counts logins resent after the service shed them.
func (l *Load) Resent() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.resent
}

// replace overwrites the stored record of rec.Seq after a reclassification.
func (l *Load) replace(rec Record) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.records) - 1; i >= 0; i-- {
		if l.records[i].Seq == rec.Seq {
			l.records[i] = rec
			return
		}
	}
}

func (l *Load) roundTrip(ctx context.Context, method, url, token string, body []byte) (int, time.Duration, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, 0, nil, err
	}
	defer resp.Body.Close()
	var retryAfter time.Duration
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		retryAfter = time.Duration(secs) * time.Second
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, retryAfter, b, err
}

// tokenOf finds the session token in a login response.
func tokenOf(body []byte) string {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	for _, k := range []string{"token", "session_token", "sessionToken", "access_token"} {
		if s, ok := m[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

func sortRecords(rs []Record) []Record {
	// Records are appended on completion; the report wants send order.
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Sent.Before(rs[j].Sent) })
	return rs
}
