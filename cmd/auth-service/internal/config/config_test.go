package config

import (
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stackEnv is what components/authservice's ConfigMap renders for dev
// (values as in `go run . plan --stack dev`, shape only).
func stackEnv() map[string]string {
	return map[string]string{
		"AWS_REGION":               "eu-west-1",
		"PORT":                     "8080",
		"METRICS_PORT":             "9090",
		"DB_HOST":                  "auth-dev.cluster-abc.eu-west-1.rds.amazonaws.com",
		"DB_READER_HOST":           "auth-dev.cluster-ro-abc.eu-west-1.rds.amazonaws.com",
		"DB_PORT":                  "5432",
		"DB_NAME":                  "auth",
		"DB_SECRET_ARN":            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!cluster-1",
		"REDIS_HOSTS":              "clustercfg.auth-dev.abc.euw1.cache.amazonaws.com:6379",
		"REDIS_SECRET_ARN":         "arn:aws:secretsmanager:eu-west-1:123456789012:secret:cache-auth",
		"CLUSTER_ENABLED":          "true",
		"REDIS_TLS":                "true",
		"SESSION_TTL_SECONDS":      "3600",
		"SESSION_IDLE_SECONDS":     "1800",
		"REQUEST_TIMEOUT_SECONDS":  "25",
		"SHUTDOWN_TIMEOUT_SECONDS": "25",
	}
}

func TestLoadAcceptsTheStackEnvironment(t *testing.T) {
	env := stackEnv()
	c, err := Load(func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, 8080, c.Port)
	assert.Equal(t, 9090, c.MetricsPort)
	assert.Equal(t, []string{"clustercfg.auth-dev.abc.euw1.cache.amazonaws.com:6379"}, c.RedisAddrs)
	assert.Equal(t, time.Hour, c.SessionTTL)
	assert.Equal(t, 25*time.Second, c.RequestTimeout)
	assert.True(t, c.RedisTLS)
}

func TestLoadReportsEveryMistakeWithNameValueAndFix(t *testing.T) {
	env := stackEnv()
	env["PORT"] = "http"
	env["METRICS_PORT"] = "70000"
	env["DB_HOST"] = "postgres://x:5432"
	env["REDIS_HOSTS"] = "a:6379,b"
	env["CLUSTER_ENABLED"] = "false"
	env["SESSION_TTL_SECONDS"] = "-1"
	env["DB_PASSWORD_FILE"] = "/run/pw"
	delete(env, "DB_NAME")
	_, err := Load(func(k string) string { return env[k] })
	require.Error(t, err)
	for _, want := range []string{
		`PORT="http" is not a port`,
		`METRICS_PORT="70000" is not a port`,
		`DB_HOST="postgres://x:5432" is not a host name`,
		`REDIS_HOSTS="a:6379,b": "b" is not host:port`,
		`CLUSTER_ENABLED="false": sessions need a Redis Cluster`,
		`SESSION_TTL_SECONDS="-1" is not a number of seconds`,
		`DB_SECRET_ARN="arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!cluster-1" and DB_PASSWORD_FILE="/run/pw" are both set`,
		`DB_NAME is not set`,
	} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestMetricsPortIsNotTheTrafficPort(t *testing.T) {
	env := stackEnv()
	env["METRICS_PORT"] = env["PORT"]
	_, err := Load(func(k string) string { return env[k] })
	require.ErrorContains(t, err, `METRICS_PORT=8080 is PORT too`)
}

// Review L10: plaintext to Redis only with the local-only switch.
func TestRedisWithoutTLSNeedsTheLocalOnlySwitch(t *testing.T) {
	cases := []struct {
		name, tls, plaintext string
		wantErr              string
	}{
		{"TLS", "true", "", ""},
		{"plaintext refused", "false", "", `REDIS_TLS="false" sends the AUTH token in clear`},
		{"plaintext with the switch", "false", "true", ""},
		{"the switch alone changes nothing", "true", "true", ""},
		{"the switch must say true", "false", "yes", `REDIS_TLS="false" sends the AUTH token in clear`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := stackEnv()
			env["REDIS_TLS"], env["REDIS_PLAINTEXT_LOCAL_ONLY"] = c.tls, c.plaintext
			_, err := Load(func(k string) string { return env[k] })
			if c.wantErr == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, c.wantErr)
			}
		})
	}
}

func TestLocalSecretsReplaceTheARNs(t *testing.T) {
	env := stackEnv()
	delete(env, "DB_SECRET_ARN")
	delete(env, "REDIS_SECRET_ARN")
	env["DB_PASSWORD_FILE"] = "/tmp/pw"
	env["REDIS_AUTH_TOKEN_FILE"] = "/tmp/token"
	_, err := Load(func(k string) string { return env[k] })
	require.ErrorContains(t, err, "DB_USER is not set")
	env["DB_USER"] = "authsvc"
	_, err = Load(func(k string) string { return env[k] })
	require.NoError(t, err)
}

// The table is the whole truth: Load reads exactly the variables listed,
// and the stack's variables are the required ones.
func TestEnvironmentTableListsExactlyWhatLoadReads(t *testing.T) {
	read := map[string]bool{}
	_, _ = Load(func(k string) string { read[k] = true; return "" })
	var readNames, listed, stackNames, required []string
	for k := range read {
		readNames = append(readNames, k)
	}
	for _, v := range Variables() {
		listed = append(listed, v.Name)
		if !v.Local {
			stackNames = append(stackNames, v.Name)
		}
		if v.Required {
			required = append(required, v.Name)
		}
	}
	sort.Strings(readNames)
	sort.Strings(listed)
	assert.Equal(t, listed, readNames)
	var stackKeys []string
	for k := range stackEnv() {
		stackKeys = append(stackKeys, k)
	}
	// The ConfigMap sets exactly the required variables; the one optional
	// stack variable is the migration Job's own.
	assert.ElementsMatch(t, stackKeys, required)
	assert.ElementsMatch(t, append(required, "APP_DB_SECRET_ARN"), stackNames)
}

// The session's bounds are stated once, in environment.txt, and Load
// applies them (the stack's validation is held to the same line by the
// main module's contract test).
func TestSessionLifetimesWithinTheStatedRange(t *testing.T) {
	lo, hi, ok := Range("SESSION_TTL_SECONDS")
	require.True(t, ok)
	assert.Equal(t, []int{1, 7 * 24 * 3600}, []int{lo, hi})
	for _, c := range []struct {
		ttl, idle string
		problem   string
	}{
		{"604800", "1800", ""},
		{"2", "1", ""},
		{"604801", "1800", `SESSION_TTL_SECONDS="604801" is not a number of seconds from 1 to 604800`},
		{"0", "1", `SESSION_TTL_SECONDS="0"`},
		{"3600", "7200", "SESSION_IDLE_SECONDS=7200 is longer than SESSION_TTL_SECONDS=3600"},
	} {
		env := stackEnv()
		env["SESSION_TTL_SECONDS"], env["SESSION_IDLE_SECONDS"] = c.ttl, c.idle
		_, err := Load(func(k string) string { return env[k] })
		if c.problem == "" {
			assert.NoError(t, err, "%+v", c)
		} else {
			assert.ErrorContains(t, err, c.problem, "%+v", c)
		}
	}
}
