package main

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDrillFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no scenario", []string{"drill"}, `unknown scenario ""`},
		{"unknown scenario", []string{"drill", "--scenario", "evicitons"}, "use one of app-redis-failover, app-zone-loss, credential-rotation, db-failover, db-outage, deep-readiness-db-outage, deep-readiness-shard-hang, evictions, no-prestop, redis-failover, redis-shard-hang, rollout, short-prestop, single-replica, zone-loss"},
		{"negative scale", []string{"drill", "--scenario", "evictions", "--scale", "-1"}, "--scale must be 0 (default) or positive"},
		{"stray argument", []string{"drill", "--scenario", "evictions", "now"}, "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			assert.Equal(t, drillExitUsage, run(context.Background(), tc.args, &stdout, &stderr))
			assert.Contains(t, stderr.String(), tc.want)
			assert.Empty(t, stdout.String())
		})
	}
}
