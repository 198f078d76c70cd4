// Command app is the smallest application behind the auth service's Go
// client: what the downtime drill (cmd/downtime-probe, scenarios app-*)
// puts between its load and the service, so that it measures what an
// application's users see rather than the service's raw answers.
//
//	POST /app/login   {"username","password"} → the client's Login: 200 {"token","expiresAt"}
//	GET  /app/session Authorization: Bearer T → the client's Middleware: 200 {"userId","username","roles","stale"}
//	POST /app/logout  Authorization: Bearer T → the client's Logout: 204
//	GET  /app/stats   the client's Stats() as JSON (the drill's report)
//	GET  /healthz     200 once listening
//
// The client's errors become the answers an application would give: 401
// for a refused token or credentials, 429 for a locked account, 503 with
// Retry-After when the service could not answer.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/authplatform/auth-platform/cmd/auth-service/client"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stderr); err != nil {
		log.Fatalf("app: %v", err)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("app", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8090", "address to serve on")
	service := fs.String("service", "", "the auth service's base URL, e.g. http://127.0.0.1:8080 (required)")
	timeout := fs.Duration("timeout", 0, "client.Config.Timeout, one attempt (0: the client's default)")
	callTimeout := fs.Duration("call-timeout", 0, "client.Config.CallTimeout, one call (0: the client's default)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	auth, err := client.New(client.Config{BaseURL: *service, Timeout: *timeout, CallTimeout: *callTimeout})
	if err != nil {
		return err
	}
	loginBudget := *callTimeout
	if loginBudget <= 0 {
		loginBudget = 10 * time.Second // the client's default CallTimeout
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: newApp(auth, loginBudget), ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	fmt.Fprintf(stderr, "app: serving on %s in front of %s\n", ln.Addr(), *service)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newApp routes the application's endpoints through auth; a user's login
// may take loginBudget, waits for a shed login's Retry-After included.
func newApp(auth *client.Client, loginBudget time.Duration) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("GET /app/stats", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, auth.Stats()) })
	mux.Handle("GET /app/session", auth.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := client.IdentityFrom(r.Context())
		writeJSON(w, http.StatusOK, map[string]any{"userId": id.UserID, "username": id.Username, "roles": id.Roles, "stale": id.Stale})
	})))
	mux.HandleFunc("POST /app/login", func(w http.ResponseWriter, r *http.Request) {
		var c struct{ Username, Password string }
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<12)).Decode(&c); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), loginBudget)
		defer cancel()
		tk, err := login(ctx, auth, c.Username, c.Password)
		if err != nil {
			writeClientError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"token": tk.Token, "expiresAt": tk.ExpiresAt})
	})
	mux.HandleFunc("POST /app/logout", func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := cutSpace(r.Header.Get("Authorization"))
		if scheme != "Bearer" || token == "" {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "missing_token"})
			return
		}
		if err := auth.Logout(r.Context(), token); err != nil {
			writeClientError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// login logs in, and retries a login the service shed (503 with
// Retry-After: past its pods' hashing capacity, judged nothing, counted
// nothing towards the lockout; cmd/auth-service/README.md "Load shedding
// and memory") after the wait it asked for, plus jitter so that shed
// users do not come back together, while ctx leaves time for it. The
// client leaves that wait to its caller: only the caller knows how long
// its user may wait.
func login(ctx context.Context, auth *client.Client, username, password string) (client.Token, error) {
	for {
		tk, err := auth.Login(ctx, username, password)
		var e *client.Error
		if err == nil || !errors.Is(err, client.ErrUnavailable) || !errors.As(err, &e) || e.RetryAfter <= 0 {
			return tk, err
		}
		wait := e.RetryAfter + rand.N(250*time.Millisecond)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return tk, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return tk, err
		case <-t.C:
		}
	}
}

func cutSpace(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// writeClientError answers for a failed Login or Logout.
func writeClientError(w http.ResponseWriter, err error) {
	var e *client.Error
	retryAfter := time.Duration(0)
	if errors.As(err, &e) {
		retryAfter = e.RetryAfter
	}
	status := http.StatusBadGateway
	switch {
	case errors.Is(err, client.ErrInvalidCredentials), errors.Is(err, client.ErrInvalidToken):
		status = http.StatusUnauthorized
	case errors.Is(err, client.ErrLockedOut):
		status = http.StatusTooManyRequests
	case errors.Is(err, client.ErrUnavailable):
		status = http.StatusServiceUnavailable
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int((retryAfter+time.Second-1)/time.Second))))
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
