package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
)

// Readiness is what the kubelet's readiness probe asks a pod.
type Readiness string

const (
	// ReadinessPod is the stack's probe: GET /health on the traffic port,
	// which says whether this pod can serve (initialised, not shutting
	// down, not overloaded); a shared dependency's failure never fails it.
	ReadinessPod Readiness = "pod"
	// ReadinessEveryDependency is the controls' probe, the service's
	// readiness before issue 22: NotReady as soon as the detailed health
	// on the metrics port names any dependency down. A failure every pod
	// shares then takes every pod out at once.
	ReadinessEveryDependency Readiness = "every-dependency"
)

// probeHTTP is one HTTP probe: a pass for a status from 200 to 399, as
// the kubelet counts it.
func probeHTTP(ctx context.Context, client *http.Client, url string) error {
	status, _, err := get(ctx, client, url)
	if err != nil {
		return err
	}
	if status < 200 || status >= 400 {
		return fmt.Errorf("GET %s: %d", url, status)
	}
	return nil
}

// probeEveryDependency passes only when the detailed health answers and
// names no dependency down.
func probeEveryDependency(ctx context.Context, client *http.Client, url string) error {
	status, body, err := get(ctx, client, url)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("GET %s: %d", url, status)
	}
	down, err := DependenciesDown(body)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	if len(down) > 0 {
		return fmt.Errorf("dependencies down: %s", strings.Join(down, ", "))
	}
	return nil
}

// Detail is the part of the service's detailed health (GET /health on
// METRICS_PORT: cmd/auth-service/internal/httpapi DetailedHealth) the
// control reads.
type Detail struct {
	Dependencies []DependencyState `json:"dependencies"`
}

// DependencyState is one dependency (one Redis shard) in the detail:
// dependency postgres-writer, postgres-reader or redis, shard a Redis
// shard's slot ranges, state up or down.
type DependencyState struct {
	Dependency string `json:"dependency"`
	Shard      string `json:"shard"`
	State      string `json:"state"`
}

// DependenciesDown lists the dependencies the detailed health names
// down, sorted; a body that names none at all is an error, so that a
// changed format cannot pass for "every dependency up".
func DependenciesDown(body []byte) ([]string, error) {
	var d Detail
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("detailed health: %w", err)
	}
	if len(d.Dependencies) == 0 {
		return nil, fmt.Errorf("detailed health names no dependency: %.200s", body)
	}
	var down []string
	for _, dep := range d.Dependencies {
		if dep.State == "up" {
			continue
		}
		name := dep.Dependency
		if dep.Shard != "" {
			name += " " + dep.Shard
		}
		down = append(down, name+" "+dep.State)
	}
	sort.Strings(down)
	return down, nil
}

func get(ctx context.Context, client *http.Client, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, body, err
}
