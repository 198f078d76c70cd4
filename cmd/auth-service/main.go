// Command auth-service is the authentication service: logins against
// Aurora PostgreSQL, sessions in an ElastiCache Redis Cluster. See
// README.md for the API, the environment and the admin commands.
package main

import (
	"context"
	"errors"
	"fmt"
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

func runAdmin(ctx context.Context, cfg config.Config, logger *slog.Logger, args []string) int {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	db, err := app.OpenAdminDB(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "auth-service admin: %v\n", err)
		return 1
	}
	defer db.Close()
	if err := admin.Run(ctx, db, args, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "auth-service admin: %v\n", err)
		if errors.Is(err, admin.ErrUsage) {
			return 2
		}
		return 1
	}
	return 0
}
