// Package config reads and validates the service's environment in one
// place, before anything connects. Every variable it reads is listed in
// environment.txt (held to this code by a test, and to the stack's
// ConfigMap by the main module's contract test).
package config

import (
	_ "embed"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
)

//go:embed environment.txt
var environmentTable string

// Variable is one line of environment.txt.
type Variable struct {
	Name     string
	Required bool
	Local    bool // only for runs without AWS; the stack never sets it
	Meaning  string
}

// Variables parses environment.txt.
func Variables() []Variable {
	var vars []Variable
	for _, line := range strings.Split(environmentTable, "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		vars = append(vars, Variable{Name: f[0], Required: f[1] == "required", Local: f[2] == "local", Meaning: strings.Join(f[3:], " ")})
	}
	return vars
}

// Config is the validated environment.
type Config struct {
	AWSRegion   string
	Port        int
	MetricsPort int

	DBHost       string
	DBReaderHost string
	DBPort       int
	// DBReaderPort is the reader's port, DBPort unless set (local only).
	DBReaderPort int
	DBName       string
	DBSecretARN  string
	// Local replacements for the secret and the CA.
	DBUser         string
	DBPasswordFile string
	DBCAFile       string

	RedisAddrs         []string
	RedisSecretARN     string
	RedisTLS           bool
	RedisAuthTokenFile string
	RedisCAFile        string

	// The application role's credentials (the migrate command only).
	AppDBSecretARN    string
	AppDBUser         string
	AppDBPasswordFile string

	SessionTTL      time.Duration
	SessionIdle     time.Duration
	RequestTimeout  time.Duration
	ShutdownTimeout time.Duration
}

// Load reads the environment through getenv (os.Getenv in main) and
// reports every mistake at once, each naming the variable, its value and
// the fix.
func Load(getenv func(string) string) (Config, error) {
	r := reader{getenv: getenv}
	c := Config{
		AWSRegion:          r.str("AWS_REGION"),
		Port:               r.port("PORT"),
		MetricsPort:        r.port("METRICS_PORT"),
		DBHost:             r.host("DB_HOST"),
		DBReaderHost:       r.host("DB_READER_HOST"),
		DBPort:             r.port("DB_PORT"),
		DBReaderPort:       r.optionalPort("DB_READER_PORT"),
		DBName:             r.str("DB_NAME"),
		DBSecretARN:        r.optional("DB_SECRET_ARN"),
		DBUser:             r.optional("DB_USER"),
		DBPasswordFile:     r.optional("DB_PASSWORD_FILE"),
		DBCAFile:           r.optional("DB_CA_FILE"),
		RedisAddrs:         r.addrs("REDIS_HOSTS"),
		RedisSecretARN:     r.optional("REDIS_SECRET_ARN"),
		RedisTLS:           r.boolean("REDIS_TLS"),
		RedisAuthTokenFile: r.optional("REDIS_AUTH_TOKEN_FILE"),
		RedisCAFile:        r.optional("REDIS_CA_FILE"),
		SessionTTL:         r.ranged("SESSION_TTL_SECONDS"),
		SessionIdle:        r.ranged("SESSION_IDLE_SECONDS"),
		AppDBSecretARN:     r.optional("APP_DB_SECRET_ARN"),
		AppDBUser:          r.optional("APP_DB_USER"),
		AppDBPasswordFile:  r.optional("APP_DB_PASSWORD_FILE"),
		RequestTimeout:     r.seconds("REQUEST_TIMEOUT_SECONDS"),
		ShutdownTimeout:    r.seconds("SHUTDOWN_TIMEOUT_SECONDS"),
	}
	if clusterValue := r.getenv("CLUSTER_ENABLED"); !r.boolean("CLUSTER_ENABLED") && clusterValue != "" && !r.failed("CLUSTER_ENABLED") {
		r.errorf("CLUSTER_ENABLED=%q: sessions need a Redis Cluster (ElastiCache cluster mode enabled); set it to true", clusterValue)
	}
	// Each secret comes from Secrets Manager or, locally, from a file:
	// exactly one of the two.
	r.oneOf("DB_SECRET_ARN", c.DBSecretARN, "DB_PASSWORD_FILE", c.DBPasswordFile)
	r.oneOf("REDIS_SECRET_ARN", c.RedisSecretARN, "REDIS_AUTH_TOKEN_FILE", c.RedisAuthTokenFile)
	if c.DBReaderPort == 0 {
		c.DBReaderPort = c.DBPort
	}
	if c.Port != 0 && c.Port == c.MetricsPort {
		r.errorf("METRICS_PORT=%d is PORT too: metrics and the dependency state must not be on the traffic port; give another port (the stack uses 9090)", c.MetricsPort)
	}
	// Review L10: the AUTH token must not travel in clear by mistake.
	if plaintext := r.optional("REDIS_PLAINTEXT_LOCAL_ONLY"); !c.RedisTLS && !r.failed("REDIS_TLS") && r.getenv("REDIS_TLS") != "" && plaintext != "true" {
		r.errorf("REDIS_TLS=%q sends the AUTH token in clear: set it to true (ElastiCache has in-transit encryption on), or, for a Redis on a laptop only, REDIS_PLAINTEXT_LOCAL_ONLY=true", r.getenv("REDIS_TLS"))
	}
	if c.SessionIdle > c.SessionTTL && c.SessionTTL > 0 {
		r.errorf("SESSION_IDLE_SECONDS=%d is longer than SESSION_TTL_SECONDS=%d: a session never lives past its absolute lifetime; give at most %d", int(c.SessionIdle.Seconds()), int(c.SessionTTL.Seconds()), int(c.SessionTTL.Seconds()))
	}
	if c.AppDBSecretARN != "" && c.AppDBPasswordFile != "" {
		r.errorf("APP_DB_SECRET_ARN=%q and APP_DB_PASSWORD_FILE=%q are both set: use one (the file is for runs without AWS)", c.AppDBSecretARN, c.AppDBPasswordFile)
	}
	if (c.AppDBPasswordFile == "") != (c.AppDBUser == "") {
		r.errorf("APP_DB_USER=%q and APP_DB_PASSWORD_FILE=%q: set both or neither", c.AppDBUser, c.AppDBPasswordFile)
	}
	if c.DBPasswordFile != "" && c.DBUser == "" {
		r.errorf("DB_USER is not set: DB_PASSWORD_FILE=%q needs the user it belongs to in DB_USER", c.DBPasswordFile)
	}
	if c.DBSecretARN != "" && c.DBUser != "" {
		r.errorf("DB_USER=%q is set with DB_SECRET_ARN: the user comes from the secret; unset DB_USER", c.DBUser)
	}
	if err := errors.Join(r.errs...); err != nil {
		return Config{}, err
	}
	return c, nil
}

type reader struct {
	getenv func(string) string
	errs   []error
	bad    map[string]bool
}

func (r *reader) errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf(format, args...))
}

func (r *reader) fail(name, format string, args ...any) {
	if r.bad == nil {
		r.bad = map[string]bool{}
	}
	r.bad[name] = true
	r.errorf(format, args...)
}

func (r *reader) failed(name string) bool { return r.bad[name] }

func (r *reader) optional(name string) string { return strings.TrimSpace(r.getenv(name)) }

func (r *reader) str(name string) string {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		r.fail(name, "%s is not set: it is required (see environment.txt)", name)
	}
	return v
}

func (r *reader) host(name string) string {
	v := r.str(name)
	if v != "" && (strings.ContainsAny(v, " /:@") || strings.Contains(v, "://")) {
		r.fail(name, "%s=%q is not a host name: give the endpoint's DNS name or IP, without port or scheme", name, v)
	}
	return v
}

func (r *reader) port(name string) int {
	v := r.str(name)
	if v == "" {
		return 0
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > 65535 {
		r.fail(name, "%s=%q is not a port: give a number from 1 to 65535", name, v)
	}
	return p
}

func (r *reader) optionalPort(name string) int {
	if r.optional(name) == "" {
		return 0
	}
	return r.port(name)
}

func (r *reader) boolean(name string) bool {
	v := r.str(name)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(name, "%s=%q is not a boolean: give true or false", name, v)
	}
	return b
}

func (r *reader) seconds(name string) time.Duration {
	v := r.str(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 30*24*3600 {
		r.fail(name, "%s=%q is not a number of seconds: give a whole number from 1 to 2592000", name, v)
		return 0
	}
	return time.Duration(n) * time.Second
}

// Range is a variable's allowed range, from environment.txt ([min-max] at
// the end of its meaning); ok is false when it states none.
func Range(name string) (lo, hi int, ok bool) {
	for _, v := range Variables() {
		if v.Name != name {
			continue
		}
		m := rangePattern.FindStringSubmatch(v.Meaning)
		if m == nil {
			return 0, 0, false
		}
		lo, _ = strconv.Atoi(m[1])
		hi, _ = strconv.Atoi(m[2])
		return lo, hi, true
	}
	return 0, 0, false
}

var rangePattern = regexp.MustCompile(`\[(\d+)-(\d+)\]$`)

// ranged reads a number of seconds within the range environment.txt
// states for the variable.
func (r *reader) ranged(name string) time.Duration {
	v := r.str(name)
	if v == "" {
		return 0
	}
	lo, hi, _ := Range(name)
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.fail(name, "%s=%q is not a number of seconds from %d to %d: give one in that range", name, v, lo, hi)
		return 0
	}
	return time.Duration(n) * time.Second
}

func (r *reader) addrs(name string) []string {
	v := r.str(name)
	if v == "" {
		return nil
	}
	var out []string
	for _, a := range strings.Split(v, ",") {
		a = strings.TrimSpace(a)
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" {
			r.fail(name, "%s=%q: %q is not host:port; give comma-separated host:port seeds", name, v, a)
			continue
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			r.fail(name, "%s=%q: port %q of %q is not 1-65535", name, v, port, a)
			continue
		}
		out = append(out, a)
	}
	return out
}

func (r *reader) oneOf(secretName, secret, fileName, file string) {
	switch {
	case secret == "" && file == "":
		r.errorf("%s is not set: give the secret's ARN (or, without AWS, %s)", secretName, fileName)
	case secret != "" && file != "":
		r.errorf("%s=%q and %s=%q are both set: use one (the file is for runs without AWS)", secretName, secret, fileName, file)
	}
}
