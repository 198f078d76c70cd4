package realparts

import (
	"fmt"
	"os/exec"
	"strings"
)

// debianPackage names the Debian package that ships each binary we run.
var debianPackage = map[string]string{
	"redis-server":  "redis-server",
	"redis-cli":     "redis-tools",
	"initdb":        "postgresql",
	"postgres":      "postgresql",
	"pg_isready":    "postgresql",
	"psql":          "postgresql",
	"pg_basebackup": "postgresql",
	"haproxy":       "haproxy",
	"etcd":          "etcd-server",
}

// Require reports, in one error, every binary that cannot be found, each with
// the Debian package that provides it. PostgreSQL's server binaries are
// looked up in the version directory under /usr/lib/postgresql, where Debian
// installs them, as well as on PATH.
func Require(binaries ...string) error {
	var missing []string
	for _, b := range binaries {
		if _, err := lookBinary(b); err != nil {
			pkg := debianPackage[b]
			if pkg == "" {
				pkg = "the package that provides " + b
			}
			missing = append(missing, fmt.Sprintf("%s (apt-get install -y %s)", b, pkg))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("realparts: missing binaries: %s", strings.Join(missing, ", "))
	}
	return nil
}

// lookBinary finds a binary on PATH or, for PostgreSQL's, in its bin dir.
func lookBinary(name string) (string, error) {
	switch name {
	case "initdb", "postgres", "pg_isready", "psql", "pg_basebackup":
		if dir, err := postgresBinDir(); err == nil {
			return dir + "/" + name, nil
		}
	}
	return exec.LookPath(name)
}
