package realparts

import (
	"context"
	"fmt"
	"os/exec"
)

func runPsql(ctx context.Context, bin string, pg *Postgres, sslmode, password, query string) (string, error) {
	dsn := fmt.Sprintf("postgres://%s@%s/%s?sslmode=%s&connect_timeout=5", pg.User(), pg.Addr(), pg.Database(), sslmode)
	return runPsqlDSN(ctx, bin, pg, dsn, password, query)
}

func runPsqlDSN(ctx context.Context, bin string, pg *Postgres, dsn, password, query string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, "-X", "-At", dsn, "-c", query)
	cmd.Env = append(pg.env(), "PGPASSWORD="+password)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
