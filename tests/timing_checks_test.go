package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authplatform/auth-platform/components/timing"
)

// defaultBudgetWith is the default budget with one change.
func defaultBudgetWith(change func(b *timing.Budget)) timing.Budget {
	b := timing.DefaultBudget()
	if change != nil {
		change(&b)
	}
	return b
}

// Each case breaks exactly one rule of timing.Derive, or sits on the last
// valid value next to it (field == ""): the broken one is reported alone,
// by its field and its own message, with a fix; the valid one passes.
func TestTimingDeriveRejectsEachBrokenRuleByItsFieldAndMessage(t *testing.T) {
	for _, tc := range []struct {
		name      string
		budget    timing.Budget
		overrides timing.Overrides
		field     string // "" when the case is valid
		message   string
		fix       string // optional: a distinctive part of the fix
		also      string // another field the case breaks on purpose
	}{
		// Budget bounds, 1 to MaxBudgetSeconds each.
		{"propagation 0 is not positive", defaultBudgetWith(func(b *timing.Budget) { b.PropagationSeconds = 0 }), timing.Overrides{},
			"PropagationSeconds", "the allowance must be positive", "set 1 to 600", ""},
		{"propagation 1 is the shortest", defaultBudgetWith(func(b *timing.Budget) { b.PropagationSeconds = 1 }), timing.Overrides{}, "", "", "", ""},
		{"propagation 600 is the longest", defaultBudgetWith(func(b *timing.Budget) { b.PropagationSeconds = 600 }), timing.Overrides{}, "", "", "", ""},
		{"propagation 601 is too long", defaultBudgetWith(func(b *timing.Budget) { b.PropagationSeconds = 601 }), timing.Overrides{},
			"PropagationSeconds", "more than 600 s would push the grace period past its 900 s cap", "set 1 to 600", ""},
		{"longest request 0 is not positive", defaultBudgetWith(func(b *timing.Budget) { b.MaxRequestSeconds = 0 }), timing.Overrides{},
			"MaxRequestSeconds", "the longest request must be a positive number of seconds", "set 1 to 600", ""},
		{"longest request 1 is the shortest", defaultBudgetWith(func(b *timing.Budget) { b.MaxRequestSeconds = 1 }), timing.Overrides{}, "", "", "", ""},
		{"longest request 600 is the longest", defaultBudgetWith(func(b *timing.Budget) { b.MaxRequestSeconds = 600 }), timing.Overrides{}, "", "", "", ""},
		{"longest request 601 is a hung request", defaultBudgetWith(func(b *timing.Budget) { b.MaxRequestSeconds = 601 }), timing.Overrides{},
			"MaxRequestSeconds", "an auth request longer than 600 s is a hung request", "set 1 to 600", ""},
		{"shutdown 0 is not positive", defaultBudgetWith(func(b *timing.Budget) { b.ShutdownSeconds = 0 }), timing.Overrides{},
			"ShutdownSeconds", "the shutdown allowance must be a positive number of seconds", "set 1 to 600", ""},
		{"shutdown 1 is the shortest", defaultBudgetWith(func(b *timing.Budget) { b.ShutdownSeconds = 1 }), timing.Overrides{}, "", "", "", ""},
		{"shutdown 600 is the longest", defaultBudgetWith(func(b *timing.Budget) { b.ShutdownSeconds = 600 }), timing.Overrides{}, "", "", "", ""},
		{"shutdown 601 does not fit", defaultBudgetWith(func(b *timing.Budget) { b.ShutdownSeconds = 601 }), timing.Overrides{},
			"ShutdownSeconds", "a shutdown longer than 600 s does not fit", "set 1 to 600", ""},

		// Override ranges, checked before anything is derived.
		{"negative deregistration delay", defaultBudgetWith(nil), timing.Overrides{DeregistrationDelaySeconds: -1},
			"DeregistrationDelaySeconds", "the target group's deregistration delay is 0 to 3600 s", "set 0 (derived) to 3600", ""},
		{"deregistration delay 3600 is in the ELB range but its grace period is not", defaultBudgetWith(nil), timing.Overrides{DeregistrationDelaySeconds: 3600},
			"DeregistrationDelaySeconds", "the preStop sleep derived from it (propagation 30 s + 3600 s)", "set at most 840", ""},
		{"deregistration delay 3601 is above the ELB range", defaultBudgetWith(nil), timing.Overrides{DeregistrationDelaySeconds: 3601},
			"DeregistrationDelaySeconds", "the target group's deregistration delay is 0 to 3600 s", "set 0 (derived) to 3600", ""},
		{"negative preStop sleep", defaultBudgetWith(nil), timing.Overrides{PreStopSleepSeconds: -1},
			"PreStopSleepSeconds", "the preStop sleep runs inside the grace period, which is capped at 900 s", "set 0 (derived) to 870", ""},
		{"preStop sleep above the grace cap", defaultBudgetWith(nil), timing.Overrides{PreStopSleepSeconds: 901},
			"PreStopSleepSeconds", "the preStop sleep runs inside the grace period, which is capped at 900 s", "set 0 (derived) to 870", ""},
		{"preStop sleep above the cap with a 1 s shutdown leaves room for it", defaultBudgetWith(func(b *timing.Budget) { b.ShutdownSeconds = 1 }), timing.Overrides{PreStopSleepSeconds: 901},
			"PreStopSleepSeconds", "capped at 900 s", "set 0 (derived) to 894", ""},
		{"preStop sleep above the cap with a 600 s shutdown leaves room for it", defaultBudgetWith(func(b *timing.Budget) { b.ShutdownSeconds = 600 }), timing.Overrides{PreStopSleepSeconds: 901},
			"PreStopSleepSeconds", "capped at 900 s", "set 0 (derived) to 295", ""},
		{"preStop sleep above the cap with no shutdown names the cap itself", defaultBudgetWith(func(b *timing.Budget) { b.ShutdownSeconds = 0 }), timing.Overrides{PreStopSleepSeconds: 901},
			"PreStopSleepSeconds", "capped at 900 s", "set 0 (derived) to 900", "ShutdownSeconds"},
		{"preStop sleep above the cap with a 601 s shutdown names the cap itself", defaultBudgetWith(func(b *timing.Budget) { b.ShutdownSeconds = 601 }), timing.Overrides{PreStopSleepSeconds: 901},
			"PreStopSleepSeconds", "capped at 900 s", "set 0 (derived) to 900", "ShutdownSeconds"},
		{"preStop sleep 900 is in range but its grace period is not", defaultBudgetWith(nil), timing.Overrides{PreStopSleepSeconds: 900},
			"PreStopSleepSeconds", "preStop sleep 900 s + shutdown 25 s + 5 s makes a grace period of 930 s", "set at most 870", ""},
		{"negative grace period", defaultBudgetWith(nil), timing.Overrides{TerminationGracePeriodSeconds: -1},
			"TerminationGracePeriodSeconds", "a pod taking more than 900 s to stop", "set 0 (derived) to 900", ""},
		{"grace period 900 is the longest", defaultBudgetWith(nil), timing.Overrides{TerminationGracePeriodSeconds: 900}, "", "", "", ""},
		{"grace period 901 is too long", defaultBudgetWith(nil), timing.Overrides{TerminationGracePeriodSeconds: 901},
			"TerminationGracePeriodSeconds", "a pod taking more than 900 s to stop", "set 0 (derived) to 900", ""},

		// Invariants of the derived values.
		{"deregistration delay 24 cuts a 25 s request", defaultBudgetWith(nil), timing.Overrides{DeregistrationDelaySeconds: 24},
			"DeregistrationDelaySeconds", "the ALB would cut requests still in flight after 24 s, but requests may take 25 s", "set at least 25", ""},
		{"deregistration delay 25 outlasts a 25 s request", defaultBudgetWith(nil), timing.Overrides{DeregistrationDelaySeconds: 25}, "", "", "", ""},
		{"preStop sleep 29 ends inside a 30 s propagation", defaultBudgetWith(func(b *timing.Budget) { b.MaxRequestSeconds = 5 }), timing.Overrides{PreStopSleepSeconds: 29},
			"PreStopSleepSeconds", "SIGTERM would arrive while the ALB may still send new requests", "set at least 30", ""},
		{"preStop sleep 30 covers a 30 s propagation", defaultBudgetWith(func(b *timing.Budget) { b.MaxRequestSeconds = 5 }), timing.Overrides{PreStopSleepSeconds: 30}, "", "", "", ""},
		{"preStop sleep 39 ends inside a 40 s deregistration delay", defaultBudgetWith(nil), timing.Overrides{DeregistrationDelaySeconds: 40, PreStopSleepSeconds: 39},
			"PreStopSleepSeconds", "the deregistration delay (40 s) must not exceed the preStop sleep", "set at least 40", ""},
		{"preStop sleep 40 covers a 40 s deregistration delay", defaultBudgetWith(nil), timing.Overrides{DeregistrationDelaySeconds: 40, PreStopSleepSeconds: 40}, "", "", "", ""},
		{"grace period 85 equals preStop sleep 60 + shutdown 25", defaultBudgetWith(nil), timing.Overrides{TerminationGracePeriodSeconds: 85},
			"TerminationGracePeriodSeconds", "the grace period must exceed preStop sleep + shutdown", "set more than 85 (preStop sleep 60 + shutdown 25)", ""},
		{"grace period 86 exceeds preStop sleep 60 + shutdown 25", defaultBudgetWith(nil), timing.Overrides{TerminationGracePeriodSeconds: 86}, "", "", "", ""},

		// A derived grace period above the cap blames the value that was set.
		{"preStop sleep 870 makes a 900 s grace period", defaultBudgetWith(nil), timing.Overrides{PreStopSleepSeconds: 870}, "", "", "", ""},
		{"preStop sleep 871 makes a 901 s grace period", defaultBudgetWith(nil), timing.Overrides{PreStopSleepSeconds: 871},
			"PreStopSleepSeconds", "preStop sleep 871 s + shutdown 25 s + 5 s makes a grace period of 901 s, above the 900 s cap", "set at most 870", ""},
		{"deregistration delay 840 makes a 900 s grace period", defaultBudgetWith(nil), timing.Overrides{DeregistrationDelaySeconds: 840}, "", "", "", ""},
		{"deregistration delay 841 makes a 901 s grace period", defaultBudgetWith(nil), timing.Overrides{DeregistrationDelaySeconds: 841},
			"DeregistrationDelaySeconds", "the preStop sleep derived from it (propagation 30 s + 841 s)", "set at most 840", ""},
		{"a budget summing to 890 s makes a 900 s grace period", timing.Budget{PropagationSeconds: 600, MaxRequestSeconds: 200, ShutdownSeconds: 90}, timing.Overrides{}, "", "", "", ""},
		{"a budget summing to 891 s blames its longest part, propagation", timing.Budget{PropagationSeconds: 600, MaxRequestSeconds: 200, ShutdownSeconds: 91}, timing.Overrides{},
			"PropagationSeconds", "propagation 600 s + longest request 200 s + shutdown 91 s + margins make a grace period of 901 s", "within 890 s", ""},
		{"a budget too long by its longest request blames it", timing.Budget{PropagationSeconds: 200, MaxRequestSeconds: 600, ShutdownSeconds: 91}, timing.Overrides{},
			"MaxRequestSeconds", "propagation 200 s + longest request 600 s + shutdown 91 s", "within 890 s", ""},
		{"a budget too long by its shutdown blames it", timing.Budget{PropagationSeconds: 91, MaxRequestSeconds: 200, ShutdownSeconds: 600}, timing.Overrides{},
			"ShutdownSeconds", "propagation 91 s + longest request 200 s + shutdown 600 s", "within 890 s", ""},
		{"a tie between propagation and request blames propagation", timing.Budget{PropagationSeconds: 400, MaxRequestSeconds: 400, ShutdownSeconds: 91}, timing.Overrides{},
			"PropagationSeconds", "propagation 400 s + longest request 400 s", "", ""},
		{"a tie between request and shutdown blames the request", timing.Budget{PropagationSeconds: 91, MaxRequestSeconds: 400, ShutdownSeconds: 400}, timing.Overrides{},
			"MaxRequestSeconds", "longest request 400 s + shutdown 400 s", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm, vs := timing.Derive(tc.budget, tc.overrides)
			if tc.field == "" {
				require.Empty(t, vs)
				require.NoError(t, tm.Check())
				return
			}
			want := []string{tc.field}
			if tc.also != "" {
				want = append(want, tc.also)
			}
			var fields []string
			var v timing.Violation
			for _, x := range vs {
				fields = append(fields, x.Field)
				if x.Field == tc.field {
					v = x
				}
			}
			require.ElementsMatch(t, want, fields, "only the broken rule is reported: %v", vs)
			assert.Equal(t, tc.field, v.Field)
			assert.Contains(t, v.Message, tc.message)
			assert.Contains(t, v.Fix, tc.fix)
			assert.NotEmpty(t, v.Fix)
			assert.Contains(t, v.Error(), tc.field+"=", "the error names the field and its value")
		})
	}
}

func TestTimingViolationReadsFieldValueMessageAndFix(t *testing.T) {
	v := timing.Violation{Field: "PreStopSleepSeconds", Value: 7, Message: "too short", Fix: "set 30"}
	assert.Equal(t, "PreStopSleepSeconds=7: too short (fix: set 30)", v.Error())
}

// Check proves a finished Timing; each case breaks one invariant by one
// second from the derived defaults (30 s delay, 60 s sleep, 90 s grace).
func TestTimingCheckRejectsEachBrokenInvariant(t *testing.T) {
	valid, vs := timing.Derive(timing.DefaultBudget(), timing.Overrides{})
	require.Empty(t, vs)
	require.NoError(t, valid.Check())
	for _, tc := range []struct {
		name   string
		change func(tm *timing.Timing)
		want   string // "" when valid
	}{
		{"delay equal to the sleep drains in time", func(tm *timing.Timing) { tm.DeregistrationDelaySeconds = 60 }, ""},
		{"delay one second above the sleep", func(tm *timing.Timing) { tm.DeregistrationDelaySeconds = 61 }, "deregistration delay 61 s exceeds the preStop sleep 60 s"},
		{"grace one second above sleep + shutdown", func(tm *timing.Timing) { tm.TerminationGracePeriodSeconds = 86 }, ""},
		{"grace equal to sleep + shutdown", func(tm *timing.Timing) { tm.TerminationGracePeriodSeconds = 85 }, "preStop sleep 60 s + shutdown 25 s is not below the grace period 85 s"},
		{"delay equal to the longest request", func(tm *timing.Timing) { tm.DeregistrationDelaySeconds = 25 }, ""},
		{"delay one second below the longest request", func(tm *timing.Timing) { tm.DeregistrationDelaySeconds = 24 }, "deregistration delay 24 s is shorter than the longest request 25 s"},
		{"sleep equal to the propagation", func(tm *timing.Timing) {
			tm.DeregistrationDelaySeconds, tm.MaxRequestSeconds, tm.PreStopSleepSeconds = 20, 20, 30
		}, ""},
		{"sleep one second below the propagation", func(tm *timing.Timing) {
			tm.DeregistrationDelaySeconds, tm.MaxRequestSeconds, tm.PreStopSleepSeconds = 20, 20, 29
		}, "preStop sleep 29 s is shorter than the propagation allowance 30 s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tm := valid
			tc.change(&tm)
			err := tm.Check()
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}
