package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/authplatform/auth-platform/cmd/downtime-probe/drill"
	"github.com/authplatform/auth-platform/cmd/plan"
	"github.com/authplatform/auth-platform/stacks"
)

// Exit codes of the drill: 0 the scenario met its expectation, 1 it did
// not, or the drill could not run (a part failed to start: nothing was
// proven), 2 bad flags.
const (
	drillExitMet    = 0
	drillExitMissed = 1
	drillExitUsage  = 2
)

func runDrill(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("downtime-probe drill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scenario := fs.String("scenario", "", "scenario to run: "+strings.Join(drill.ScenarioNames(), ", "))
	stack := fs.String("stack", plan.DefaultStack, "stack whose timing budget the drill replays (stacks/Pulumi.<stack>.yaml)")
	scale := fs.Float64("scale", 0, "divide the stack's timings by this factor; 0 picks one that keeps the scenario under two minutes")
	rate := fs.Float64("rate", 300, "load in requests per second")
	asJSON := fs.Bool("json", false, "print the report as one JSON object on stdout (progress stays on stderr)")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	keep := fs.Bool("keep", false, "keep the run's temp dir (configs and logs of every part)")
	serviceBin := fs.String("service-bin", "", "auth-service binary to run; default: build cmd/auth-service")
	appBin := fs.String("app-bin", "", "the app-* scenarios' application; default: build "+drill.AppModuleDir+"/"+drill.AppPackage)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: downtime-probe drill --scenario NAME [--stack NAME] [--scale F] [--json]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return drillExitMet
		}
		return drillExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "downtime-probe drill: unexpected arguments %q\n", fs.Args())
		return drillExitUsage
	}
	sc, err := drill.LookupScenario(*scenario)
	if err != nil {
		fmt.Fprintf(stderr, "downtime-probe drill: --scenario: %v\n", err)
		return drillExitUsage
	}
	if *scale < 0 || *rate <= 0 {
		fmt.Fprintln(stderr, "downtime-probe drill: --scale must be 0 (default) or positive, --rate positive")
		return drillExitUsage
	}
	root, err := stacks.ProjectRoot()
	if err != nil {
		fmt.Fprintf(stderr, "downtime-probe drill: %v (run it from the repository)\n", err)
		return drillExitUsage
	}
	opts := drill.Options{Root: root, Stack: *stack, Scenario: sc, Scale: *scale, Rate: *rate, ServiceBin: *serviceBin, AppBin: *appBin, KeepDir: *keep}
	if !*quiet {
		opts.Log = stderr
	}
	report, err := drill.Run(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "downtime-probe drill: %v\n", err)
		return drillExitMissed
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			fmt.Fprintf(stderr, "downtime-probe drill: %v\n", err)
			return drillExitMissed
		}
		report.WriteSummary(stderr)
	} else {
		report.WriteSummary(stdout)
	}
	if report.Pass {
		return drillExitMet
	}
	return drillExitMissed
}
