package main

import (
	"math/rand/v2"
	"sort"
)

// Sample picks n of the candidates, stratified by operator and top-level
// directory: each (operator, directory) stratum gets a share of n in
// proportion to its size (largest remainders), then every operator and
// every directory that has candidates gets at least one when n allows.
// Within a stratum the pick is a seeded shuffle, so the same candidates,
// n and seed give the same sample. The result is in candidate order.
func Sample(cands []Mutant, n int, seed uint64) []Mutant {
	if n >= len(cands) {
		return append([]Mutant(nil), cands...)
	}
	if n <= 0 {
		return nil
	}
	type stratum struct {
		op, dir string
		idx     []int
		take    int
		rem     float64
	}
	byKey := map[[2]string]*stratum{}
	var strata []*stratum
	for i, m := range cands {
		k := [2]string{m.Op, m.Dir}
		s := byKey[k]
		if s == nil {
			s = &stratum{op: m.Op, dir: m.Dir}
			byKey[k] = s
			strata = append(strata, s)
		}
		s.idx = append(s.idx, i)
	}
	// Proportional shares, floors first.
	total := len(cands)
	given := 0
	for _, s := range strata {
		exact := float64(n) * float64(len(s.idx)) / float64(total)
		s.take = int(exact)
		s.rem = exact - float64(s.take)
		given += s.take
	}
	order := append([]*stratum(nil), strata...)
	sort.SliceStable(order, func(i, j int) bool { return order[i].rem > order[j].rem })
	for i := 0; given < n; i = (i + 1) % len(order) {
		if order[i].take < len(order[i].idx) {
			order[i].take++
			given++
		}
	}
	// Every operator and every directory represented when n allows: move a
	// slot from the largest allocation to the largest stratum missing.
	cover := func(key func(*stratum) string) {
		for _, s := range strata {
			k := key(s)
			has := false
			for _, t := range strata {
				if key(t) == k && t.take > 0 {
					has = true
					break
				}
			}
			if has {
				continue
			}
			var best, donor *stratum
			for _, t := range strata {
				if key(t) == k && (best == nil || len(t.idx) > len(best.idx)) {
					best = t
				}
			}
			for _, t := range strata {
				if t.take > 1 && (donor == nil || t.take > donor.take) {
					donor = t
				}
			}
			if donor == nil {
				return
			}
			donor.take--
			best.take++
		}
	}
	cover(func(s *stratum) string { return s.op })
	cover(func(s *stratum) string { return s.dir })

	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var picked []int
	for _, s := range strata {
		idx := append([]int(nil), s.idx...)
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		picked = append(picked, idx[:s.take]...)
	}
	sort.Ints(picked)
	out := make([]Mutant, len(picked))
	for i, k := range picked {
		out[i] = cands[k]
	}
	return out
}
