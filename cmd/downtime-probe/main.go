// Command downtime-probe sends requests to a URL at a fixed rate while a
// deployment runs and reports what clients saw: failed requests with their
// times, downtime windows, errors by class and latency percentiles. It
// exits 1 when more requests failed than -budget allows, so a pipeline can
// fail a rollout that dropped traffic.
//
//	downtime-probe -url https://auth.example.com/healthz -rate 20 -json probe.json &
//	pulumi up --yes --stack prod-us-east-1
//	kill -TERM %1; wait %1
//
// Exit codes: 0 within budget, 1 over budget (or nothing was sent),
// 2 usage error or the report could not be written.
//
// `downtime-probe drill --scenario NAME` runs the eviction drill on real
// parts on loopback instead (see README.md and drill.go).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/authplatform/auth-platform/cmd/downtime-probe/probe"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal ends the run gracefully; restoring the default
		// lets a second one kill a probe stuck waiting for requests.
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// headerFlag collects repeated -header "Name: value" flags.
type headerFlag struct{ h http.Header }

func (f headerFlag) String() string { return "" }

func (f headerFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return fmt.Errorf("want \"Name: value\", got %q", v)
	}
	f.h.Add(name, strings.TrimSpace(value))
	return nil
}

// run is the command without process globals, for tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "drill" {
		return runDrill(ctx, args[1:], stdout, stderr)
	}
	cfg := probe.DefaultConfig()
	fs := flag.NewFlagSet("downtime-probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.URL, "url", "", "URL to probe (or give it as the only argument)")
	fs.StringVar(&cfg.Method, "method", cfg.Method, "HTTP method")
	fs.Var(headerFlag{cfg.Header}, "header", "request header \"Name: value\"; repeatable (Host: sets the virtual host)")
	body := fs.String("body", "", "request body")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "requests per second, fixed (open loop)")
	fs.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "most requests in flight; a request due when all are busy is dropped and counted")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long to probe; 0 runs until SIGINT/SIGTERM")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "per-request timeout, dial to last body byte")
	fs.IntVar(&cfg.Budget, "budget", cfg.Budget, "failed requests tolerated before exiting 1")
	fs.IntVar(&cfg.DropBudget, "drop-budget", cfg.DropBudget, "dropped requests tolerated before exiting 1; -1 does not check")
	fs.DurationVar(&cfg.MergeGap, "merge-gap", cfg.MergeGap, "failures closer than this form one downtime window; 0 merges only consecutive failures")
	fs.BoolVar(&cfg.FollowRedirects, "follow-redirects", false, "follow redirects instead of counting 3xx as failures")
	fs.BoolVar(&cfg.DisableKeepAlives, "no-keepalive", false, "open a new connection per request")
	fs.BoolVar(&cfg.InsecureTLS, "insecure", false, "skip TLS certificate verification")
	jsonOut := fs.String("json", "", "write the JSON report to this file; - writes it to stdout and the summary to stderr")
	fs.DurationVar(&cfg.ProgressEvery, "progress", cfg.ProgressEvery, "period of progress lines on stderr; 0 disables them")
	quiet := fs.Bool("quiet", false, "no live output on stderr (state changes, progress)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: downtime-probe [flags] [-url] URL")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return probe.ExitPass
		}
		return probe.ExitUsage
	}
	switch {
	case fs.NArg() == 1 && cfg.URL == "":
		cfg.URL = fs.Arg(0)
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "downtime-probe: unexpected arguments %q\n", fs.Args())
		return probe.ExitUsage
	}
	cfg.Body = []byte(*body)
	if !*quiet {
		cfg.Log = stderr
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "downtime-probe: %v\n", err)
		return probe.ExitUsage
	}

	summary := stdout
	if *jsonOut == "-" {
		summary = stderr // keep stdout parseable
	}
	if cfg.Saturates() && !*quiet {
		fmt.Fprintf(stderr, "downtime-probe: warning: if the target hangs, %g req/s × %v timeout exceeds -concurrency %d and requests will be dropped\n",
			cfg.Rate, cfg.Timeout, cfg.Concurrency)
	}
	report, err := probe.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "downtime-probe: %v\n", err)
		return probe.ExitUsage
	}
	report.WriteSummary(summary)
	if *jsonOut != "" {
		if err := writeJSON(*jsonOut, stdout, report); err != nil {
			fmt.Fprintf(stderr, "downtime-probe: writing the report: %v\n", err)
			return probe.ExitUsage
		}
	}
	return report.ExitCode()
}

func writeJSON(path string, stdout io.Writer, report *probe.Report) error {
	data, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if path == "-" {
		_, err = stdout.Write(data)
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
