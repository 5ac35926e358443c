package config

import (
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
)

// Plan lays out a study's runs (experiment × cycle) in execution order:
//
//   - sequential: every cycle of experiment 0, then of experiment 1, …
//   - interleaved: each cycle runs every experiment once, in list order.
//   - shuffled: interleaved, with the experiments shuffled afresh each
//     cycle by a PCG generator seeded with Execution.ShuffleSeed, or when
//     that is unset with the first 8 bytes of StudyDesignHash (so the same
//     design always runs in the same order), and the cycle number.
//   - reverse: interleaved, every second cycle in reverse order
//     (counterbalancing, A B C then C B A).
//   - latin_square: interleaved, cycle c starting at experiment c-1 and
//     wrapping around, so over n cycles each experiment takes each position
//     once.
//
// An unset NCycles counts as 1 and an unset order as sequential; Plan
// never fails (Parse and Revalidate reject unknown orders).
func Plan(sc *StudyConfig) []Run {
	n := len(sc.Experiments)
	cycles := max(sc.Execution.NCycles, 1)
	hashes := experimentHashes(sc.Experiments)
	runs := make([]Run, 0, n*cycles)
	add := func(exp, cycle int) {
		runs = append(runs, Run{Index: len(runs), Cycle: cycle, Experiment: exp, MeasurementConfigHash: hashes[exp]})
	}
	if sc.Execution.CycleOrder == OrderSequential || sc.Execution.CycleOrder == "" {
		for e := range n {
			for c := 1; c <= cycles; c++ {
				add(e, c)
			}
		}
		return runs
	}
	var seed uint64
	if sc.Execution.CycleOrder == OrderShuffled {
		seed = shuffleSeed(sc.Execution.ShuffleSeed, hashes)
	}
	order := make([]int, n)
	for c := 1; c <= cycles; c++ {
		for i := range order {
			order[i] = i
		}
		switch sc.Execution.CycleOrder {
		case OrderShuffled:
			shuffle(order, rand.NewPCG(seed, uint64(c)))
		case OrderReverse:
			if c%2 == 0 {
				for i, j := 0, n-1; i < j; i, j = i+1, j-1 {
					order[i], order[j] = order[j], order[i]
				}
			}
		case OrderLatinSquare:
			for i := range order {
				order[i] = (i + c - 1) % n
			}
		}
		for _, e := range order {
			add(e, c)
		}
	}
	return runs
}

// ShuffleSeed is the seed a shuffled study uses: Execution.ShuffleSeed, or
// one derived from the study design hash.
func ShuffleSeed(sc *StudyConfig) uint64 {
	return shuffleSeed(sc.Execution.ShuffleSeed, experimentHashes(sc.Experiments))
}

func shuffleSeed(explicit *int64, hashes []string) uint64 {
	if explicit != nil {
		return uint64(*explicit)
	}
	d, _ := hex.DecodeString(designHash(hashes)) // 16 hex characters always decode
	return binary.BigEndian.Uint64(d)
}

// shuffle is Fisher–Yates over src with unbiased bounded draws. It is
// written out, rather than rand.Shuffle, so a recorded seed reproduces the
// order whatever the Go release.
func shuffle(order []int, src *rand.PCG) {
	for i := len(order) - 1; i > 0; i-- {
		j := int(bounded(src, uint64(i+1)))
		order[i], order[j] = order[j], order[i]
	}
}

// bounded draws uniformly from [0, n) by rejection.
func bounded(src *rand.PCG, n uint64) uint64 {
	limit := -n % n // 2^64 mod n: draws below it are rejected
	for {
		x := src.Uint64()
		if x >= limit {
			return x % n
		}
	}
}
