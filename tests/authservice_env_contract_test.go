package tests

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serviceVariable is one line of the auth service's environment table.
type serviceVariable struct {
	name     string
	required bool
	local    bool
}

// serviceEnvironment parses cmd/auth-service/internal/config/environment.txt,
// the list of every variable the service reads (held to the service's code
// by its own test). The service is a module of its own, so it is read, not
// imported.
func serviceEnvironment(t *testing.T) []serviceVariable {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "cmd", "auth-service", "internal", "config", "environment.txt"))
	require.NoError(t, err)
	var vars []serviceVariable
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		require.GreaterOrEqual(t, len(f), 3, "environment.txt line %q: name need source meaning", line)
		require.Contains(t, []string{"required", "optional"}, f[1], line)
		require.Contains(t, []string{"stack", "local"}, f[2], line)
		vars = append(vars, serviceVariable{name: f[0], required: f[1] == "required", local: f[2] == "local"})
	}
	require.NotEmpty(t, vars)
	return vars
}

// The ConfigMap the dev stack renders and the variables the service reads
// agree: the service reads every key, finds every variable it requires,
// and none of its local-only switches (secrets from files, test CAs) is
// turned on by the stack.
func TestAuthServiceReadsExactlyTheConfigMapTheStackRenders(t *testing.T) {
	res := planStack(t, "dev")
	cms := ofType(res, "kubernetes:core/v1:ConfigMap")
	var data map[string]interface{}
	for _, cm := range cms {
		if d, ok := value(cm.Inputs, "data").(map[string]interface{}); ok && d["DB_SECRET_ARN"] != nil {
			require.Nil(t, data, "one auth service ConfigMap")
			data = d
		}
	}
	require.NotNil(t, data, "the dev plan renders the auth service's ConfigMap")

	vars := serviceEnvironment(t)
	read := map[string]serviceVariable{}
	for _, v := range vars {
		read[v.name] = v
	}
	var keys []string
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, ok := read[k]
		if assert.True(t, ok, "ConfigMap key %s is not read by the service (add it to environment.txt and config.Load, or drop it from the ConfigMap)", k) {
			assert.False(t, v.local, "%s is a local-only switch of the service; the stack must not set it", k)
		}
	}
	for _, v := range vars {
		if v.required {
			assert.Contains(t, data, v.name, "the service requires %s; the ConfigMap does not set it", v.name)
		}
	}
}
