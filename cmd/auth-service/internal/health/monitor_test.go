package health

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/cmd/auth-service/internal/session"
)

// A shard is named by its slot ranges, whichever node serves them.
func TestLayoutNamesShardsBySlotRanges(t *testing.T) {
	node := func(id string) []redis.ClusterNode { return []redis.ClusterNode{{ID: id, Addr: id + ":6379"}} }
	shards, err := layout([]redis.ClusterSlot{
		{Start: 10923, End: 16383, Nodes: node("c")},
		{Start: 5461, End: 10922, Nodes: node("b")},
		{Start: 0, End: 100, Nodes: node("a")},
		{Start: 101, End: 5460, Nodes: node("d")},
		{Start: 12, End: 12, Nodes: nil}, // no node: ignored
	})
	require.NoError(t, err)
	var labels []string
	for _, s := range shards {
		labels = append(labels, s.label)
		first := firstSlot(s.label)
		slot := session.Slot(s.key)
		assert.True(t, slot >= first && slot <= first+5461, "%s: key %s in slot %d", s.label, s.key, slot)
	}
	assert.Equal(t, []string{"0-100", "101-5460", "5461-10922", "10923-16383"}, labels)

	two, err := layout([]redis.ClusterSlot{{Start: 5461, End: 6000, Nodes: node("x")}, {Start: 0, End: 5460, Nodes: node("x")}, {Start: 6001, End: 16383, Nodes: node("y")}})
	require.NoError(t, err)
	assert.Equal(t, "0-5460,5461-6000", two[0].label, "one primary's ranges, ascending, joined by commas")
	_, err = layout(nil)
	assert.Error(t, err)
}

// Every failed check logs dependency_down; a recovery logs dependency_up
// once; a first good check logs nothing.
func TestRecordLogsEveryDownAndOneUp(t *testing.T) {
	var buf bytes.Buffer
	m := &Monitor{Logger: slog.New(slog.NewJSONHandler(&buf, nil)), states: map[depKey]*DependencyState{}}
	k := depKey{Redis, "0-5460"}
	t0 := time.Unix(1000, 0)
	for i, err := range []error{nil, errors.New("i/o timeout"), errors.New("i/o timeout"), nil, nil} {
		m.record(k, err, t0.Add(time.Duration(i)*Interval))
	}
	var events []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var e map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &e))
		assert.Equal(t, Redis, e["dependency"])
		assert.Equal(t, "0-5460", e["shard"])
		events = append(events, e["event"].(string))
	}
	assert.Equal(t, []string{"dependency_down", "dependency_down", "dependency_up"}, events)
	s := m.states[k]
	assert.Equal(t, "up", s.State)
	assert.Equal(t, t0.Add(3*Interval), s.Since, "up since the recovery")
	assert.Equal(t, t0.Add(4*Interval), s.CheckedAt)
}
