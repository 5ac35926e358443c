package study

// This file stands in for the config package's planning and hashing
// functions (config.Plan, config.MeasurementConfigHash,
// config.StudyDesignHash) until they exist. Replace each function body by
// the call to its config counterpart, then delete the file.

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"

	"github.com/llenergymeasure/llem/config"
)

func measurementConfigHash(cfg config.ExperimentConfig) string {
	b, _ := json.Marshal(cfg) // a struct of plain fields always encodes
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:16]
}

func studyDesignHash(sc *config.StudyConfig) string {
	h := sha256.New()
	for _, e := range sc.Experiments {
		h.Write([]byte(measurementConfigHash(e)))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func plan(sc *config.StudyConfig) []config.Run {
	n := len(sc.Experiments)
	cycles := max(sc.Execution.NCycles, 1)
	hashes := make([]string, n)
	for i, e := range sc.Experiments {
		hashes[i] = measurementConfigHash(e)
	}
	var runs []config.Run
	add := func(exp, cycle int) {
		runs = append(runs, config.Run{Index: len(runs), Cycle: cycle, Experiment: exp, MeasurementConfigHash: hashes[exp]})
	}
	switch sc.Execution.CycleOrder {
	case config.OrderSequential:
		for e := range n {
			for c := 1; c <= cycles; c++ {
				add(e, c)
			}
		}
	default:
		var seed uint64
		if s := sc.Execution.ShuffleSeed; s != nil {
			seed = uint64(*s)
		} else {
			d, _ := hex.DecodeString(studyDesignHash(sc))
			seed = binary.BigEndian.Uint64(d)
		}
		for c := 1; c <= cycles; c++ {
			order := make([]int, n)
			for i := range order {
				order[i] = i
			}
			if sc.Execution.CycleOrder == config.OrderShuffled {
				rng := rand.New(rand.NewPCG(seed, uint64(c)))
				rng.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
			}
			for _, e := range order {
				add(e, c)
			}
		}
	}
	return runs
}
