package rules

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Markers stand for values a policy cannot read. They are the strings the
// offline plan already prints (cmd/plan/mocks), and the policy pack's adapter
// produces the same ones from the engine's property values.
const (
	// Secret replaces the value of a Pulumi secret.
	Secret = "[secret]"
	// Unknown replaces a value not known yet (an output of a resource that
	// does not exist yet, during a preview).
	Unknown = "[unknown]"
)

// at walks a plain value: map keys, and array indexes given as numbers.
// Anything missing or of another shape gives nil.
func at(v any, path ...string) any {
	cur := v
	for _, p := range path {
		switch t := cur.(type) {
		case map[string]any:
			cur = t[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(t) {
				return nil
			}
			cur = t[i]
		default:
			return nil
		}
	}
	return cur
}

// isUnknown reports whether v is the Unknown marker.
func isUnknown(v any) bool { s, ok := v.(string); return ok && s == Unknown }

// isSecret reports whether v is the Secret marker.
func isSecret(v any) bool { s, ok := v.(string); return ok && s == Secret }

// asString returns a known string (not a marker).
func asString(v any) (string, bool) {
	s, ok := v.(string)
	if !ok || s == Secret || s == Unknown {
		return "", false
	}
	return s, true
}

// asNumber returns a known number; numeric strings count (some providers
// type numbers as strings, e.g. a target group's deregistrationDelay).
func asNumber(v any) (float64, bool) {
	switch t := v.(type) {
	case float64:
		return t, true
	case float32:
		return float64(t), true
	case int:
		return float64(t), true
	case int32:
		return float64(t), true
	case int64:
		return float64(t), true
	case json.Number:
		f, err := t.Float64()
		return f, err == nil
	case string:
		if t == Secret || t == Unknown {
			return 0, false
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		return f, err == nil
	}
	return 0, false
}

// asBool returns a known boolean; "true" and "false" count.
func asBool(v any) (bool, bool) {
	switch t := v.(type) {
	case bool:
		return t, true
	case string:
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// asMap returns v as an object, or nil.
func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// asList returns v as a list, or nil.
func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// asMaps returns the objects of a list, skipping anything else.
func asMaps(v any) []map[string]any {
	var out []map[string]any
	for _, e := range asList(v) {
		if m := asMap(e); m != nil {
			out = append(out, m)
		}
	}
	return out
}

// asStringMap returns the known string values of an object (labels,
// selectors).
func asStringMap(v any) map[string]string {
	m := asMap(v)
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		if s, ok := asString(e); ok {
			out[k] = s
		}
	}
	return out
}

// oneOrMany reads a string or a list of strings (IAM documents allow both),
// keeping only known strings.
func oneOrMany(v any) []string {
	if s, ok := asString(v); ok {
		return []string{s}
	}
	var out []string
	for _, e := range asList(v) {
		if s, ok := asString(e); ok {
			out = append(out, s)
		}
	}
	return out
}

// formatNumber prints 30 as "30" and 0.5 as "0.5".
func formatNumber(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// show prints a value for a message.
func show(v any) string {
	switch t := v.(type) {
	case nil:
		return "unset"
	case string:
		return strconv.Quote(t)
	case float64:
		return formatNumber(t)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
