// Command patch-window is the in-cluster job that restarts auth pods due
// for Fargate patching inside the stack's maintenance window, one zone at a
// time (see package recycle). The stack runs it as a CronJob at the
// window's opening (components/patchwindow); outside the window it does
// nothing and exits 0.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/authplatform/auth-platform/cmd/patch-window/kube"
	"github.com/authplatform/auth-platform/cmd/patch-window/recycle"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cfg, err := parse(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "patch-window:", err)
		return 2
	}
	client, err := kube.InCluster()
	if err != nil {
		fmt.Fprintln(os.Stderr, "patch-window:", err)
		return 1
	}
	client.ZoneLabel = cfg.ZoneLabel
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	report, err := recycle.Run(ctx, cfg, client, recycle.RealClock{})
	_ = json.NewEncoder(os.Stdout).Encode(report)
	if err != nil {
		fmt.Fprintln(os.Stderr, "patch-window:", err)
		return 1
	}
	return 0
}

// parse reads the flags the CronJob passes.
func parse(args []string) (recycle.Config, error) {
	fs := flag.NewFlagSet("patch-window", flag.ContinueOnError)
	var cfg recycle.Config
	var deployments, period string
	fs.StringVar(&cfg.Namespace, "namespace", "", "namespace of the auth pods")
	fs.StringVar(&cfg.Selector, "selector", "", "label selector of the auth pods")
	fs.StringVar(&cfg.ZoneLabel, "zone-label", kube.DefaultZoneLabel, "label holding a pod's zone")
	fs.StringVar(&deployments, "deployments", "", "zone=deployment,... in the order the zones are rolled")
	fs.DurationVar(&cfg.MaxAge, "max-age", 0, "restart pods older than this")
	fs.StringVar(&period, "window-period", "daily", "daily or weekly")
	fs.IntVar(&cfg.Window.Start, "window-start", -1, "window opening, UTC minutes after midnight (daily) or Sunday 00:00 (weekly)")
	fs.IntVar(&cfg.Window.End, "window-end", -1, "window closing, same unit")
	fs.DurationVar(&cfg.ZoneTimeout, "zone-timeout", 20*time.Minute, "longest one zone's roll may take")
	fs.DurationVar(&cfg.Poll, "poll", 5*time.Second, "how often a roll's progress is read")
	var notice string
	fs.StringVar(&notice, "notice", "", "namespace/name of the ConfigMap holding the Fargate patch notice's time")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	switch period {
	case "daily":
	case "weekly":
		cfg.Window.Weekly = true
	default:
		return cfg, fmt.Errorf("-window-period %q: want daily or weekly", period)
	}
	cfg.Deployments = map[string]string{}
	for _, pair := range strings.Split(deployments, ",") {
		zone, name, ok := strings.Cut(pair, "=")
		if !ok || zone == "" || name == "" {
			return cfg, fmt.Errorf("-deployments %q: want zone=deployment,...", deployments)
		}
		cfg.Zones = append(cfg.Zones, zone)
		cfg.Deployments[zone] = name
	}
	if notice != "" {
		ns, name, ok := strings.Cut(notice, "/")
		if !ok || ns == "" || name == "" {
			return cfg, fmt.Errorf("-notice %q: want namespace/name", notice)
		}
		cfg.NoticeNamespace, cfg.NoticeName = ns, name
	}
	return cfg, cfg.Check()
}
