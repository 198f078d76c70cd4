package lockout

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"
)

// Agree runs n random operations on one account and its sources through
// the Lua scripts on rdb and through the Go model (model.go) side by side,
// with the same times, and returns the first decision on which they
// differ: the test that holds the two statements of the rule together
// (e2e TestLockoutScriptsAndModelAgree). The policy is small, so that
// delays, ceilings, familiar sources, lapsed reservations and windows
// all occur within n.
func Agree(ctx context.Context, rdb redis.Cmdable, seed uint64, n int) error {
	p := Policy{FreePerPair: 2, MaxPerAccount: 6, AccountWindow: time.Hour, MaxPerSource: 5, SourceWindow: 10 * time.Minute,
		KnownFor: 2 * time.Hour, MaxKnown: 2, ReservationTTL: time.Minute}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	account := fmt.Sprintf("agree-%d-%d", seed, time.Now().UnixNano())
	model := newAccountState()
	sources := map[string]*sourceState{}
	srcs := []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "2001:db8::/64"}
	pending := map[string]int{}
	now := int64(1_800_000_000_000)
	l := &Limiter{rdb: rdb, policy: p}
	for step := 0; step < n; step++ {
		now += []int64{0, 10, 900, 1500, 4000, 70_000, 20 * 60_000, 3_700_000}[rng.IntN(8)]
		src := srcs[rng.IntN(len(srcs))]
		if sources[src] == nil {
			sources[src] = &sourceState{}
		}
		op := "begin"
		if pending[src] > 0 && rng.IntN(3) > 0 {
			op = []string{"fail", "fail", "ok", "none"}[rng.IntN(4)]
		} else if rng.IntN(40) == 0 {
			op = "unlock"
		}
		if op == "begin" {
			want := sources[src].begin(p, now)
			got, err := l.beginSource(ctx, p, src, now)
			if err != nil {
				return err
			}
			if got.ok != want.ok || got.retry != want.retry {
				return fmt.Errorf("step %d, source %s at %d: script %+v, model %+v", step, src, now, got, want)
			}
			if !want.ok {
				continue
			}
			wantA := model.begin(p, src, now)
			gotA, err := l.beginAccount(ctx, p, account, src, now)
			if err != nil {
				return err
			}
			if gotA != wantA {
				return fmt.Errorf("step %d, account from %s at %d: script %+v, model %+v", step, src, now, gotA, wantA)
			}
			if !wantA.ok {
				sources[src].settle(p, "none", now)
				if err := sourceScript.Run(ctx, rdb, []string{SourceKey(src)}, now, "none", p.MaxPerSource, ms(p.SourceWindow), ms(p.ReservationTTL)).Err(); err != nil {
					return err
				}
				continue
			}
			pending[src]++
			continue
		}
		if op != "unlock" {
			pending[src]--
			sources[src].settle(p, op, now)
			if err := sourceScript.Run(ctx, rdb, []string{SourceKey(src)}, now, op, p.MaxPerSource, ms(p.SourceWindow), ms(p.ReservationTTL)).Err(); err != nil {
				return err
			}
		}
		model.settle(p, src, op, now)
		if err := accountScript.Run(ctx, rdb, []string{AccountKey(account)}, l.accountArgs(p, now, op, src)...).Err(); err != nil {
			return err
		}
	}
	rdb.Del(ctx, AccountKey(account))
	for _, s := range srcs {
		rdb.Del(ctx, SourceKey(s))
	}
	return nil
}
