// Command auth-service is the authentication service: logins against
// Aurora PostgreSQL, sessions in an ElastiCache Redis Cluster. See
// README.md for the API, the environment and the admin commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/admin"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/app"
	"github.com/authplatform/auth-platform/cmd/auth-service/internal/config"
)

func main() { os.Exit(run()) }

// Exit statuses: 0 clean stop, 1 failure, 2 configuration or usage error.
func run() int {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "auth-service: configuration:\n%v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "admin" {
		return runAdmin(ctx, cfg, logger, os.Args[2:])
	}
	if len(os.Args) > 1 && os.Args[1] == "migrate" {
		return runMigrate(ctx, cfg, logger, os.Args[2:])
	}
	// Nothing is reached here: the service listens first (liveness
	// answers), then initialises in the background (see app.Serve).
	svc, err := app.New(ctx, cfg, logger)
	if err != nil {
		logger.Error("start failed", "err", err)
		return 1
	}
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(cfg.Port))
	if err != nil {
		svc.Close()
		logger.Error("listen failed", "err", err)
		return 1
	}
	metricsLn, err := net.Listen("tcp", ":"+strconv.Itoa(cfg.MetricsPort))
	if err != nil {
		ln.Close()
		svc.Close()
		logger.Error("listen failed", "err", err)
		return 1
	}
	if err := svc.Serve(ctx, ln, metricsLn); err != nil {
		logger.Error("stopped with an error", "err", err)
		return 1
	}
	return 0
}

// runMigrate is the migration step: `auth-service migrate
// [--rotate-app-password]`, with the master credentials.
func runMigrate(ctx context.Context, cfg config.Config, logger *slog.Logger, args []string) int {
	rotate := false
	for _, a := range args {
		if a != "--rotate-app-password" {
			fmt.Fprintf(os.Stderr, "usage: auth-service migrate [--rotate-app-password]\n")
			return 2
		}
		rotate = true
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if err := app.Migrate(ctx, cfg, logger, rotate); err != nil {
		logger.Error("migrate failed", "err", err)
		return 1
	}
	return 0
}

// auditOut is where an admin command's audit events go: the serving
// process's stdout when the command runs beside it in the pod (`kubectl
// exec` output reaches only the operator's terminal, while PID 1's stdout
// is the container's log, which the stack routes to CloudWatch), and this
// process's stderr as well.
func auditOut() io.Writer {
	if os.Getpid() != 1 {
		if f, err := os.OpenFile("/proc/1/fd/1", os.O_WRONLY|os.O_APPEND, 0); err == nil {
			return io.MultiWriter(f, os.Stderr)
		}
	}
	return os.Stderr
}

func runAdmin(ctx context.Context, cfg config.Config, logger *slog.Logger, args []string) int {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	deps, closeAll, err := app.Admin(ctx, cfg, slog.New(slog.NewJSONHandler(auditOut(), nil)))
	if err != nil {
		fmt.Fprintf(os.Stderr, "auth-service admin: %v\n", err)
		return 1
	}
	defer closeAll()
	if err := admin.Run(ctx, deps, args, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "auth-service admin: %v\n", err)
		if errors.Is(err, admin.ErrUsage) {
			return 2
		}
		return 1
	}
	return 0
}
