package results

import (
	"strconv"
	"strings"
	"testing"
)

func TestReplayJournal(t *testing.T) {
	base := func() *StudyManifest {
		return &StudyManifest{JournalSeq: 1, Runs: []ManifestRun{{Index: 0, State: StatePending}, {Index: 1, State: StatePending}}}
	}
	line := func(seq int, idx int, st RunState) string {
		return `{"seq":` + journalItoa(seq) + `,"time":"2026-01-01T00:00:00Z","run":{"index":` + journalItoa(idx) + `,"cycle":1,"experiment":0,"measurement_config_hash":"h","state":"` + string(st) + `"}}` + "\n"
	}
	cases := []struct {
		name    string
		journal string
		want    [2]RunState
		wantErr string
	}{
		{name: "applied in order", journal: line(2, 0, StateRunning) + line(3, 0, StateCompleted) + line(4, 1, StateFailed), want: [2]RunState{StateCompleted, StateFailed}},
		{name: "already in the snapshot", journal: line(1, 0, StateFailed) + line(2, 1, StateRunning), want: [2]RunState{StatePending, StateRunning}},
		{name: "torn tail without newline", journal: line(2, 0, StateRunning) + strings.TrimSuffix(line(3, 0, StateCompleted), "\n"), want: [2]RunState{StateRunning, StatePending}},
		{name: "unparsable last line", journal: line(2, 0, StateRunning) + `{"seq":3,"ti` + "\n", want: [2]RunState{StateRunning, StatePending}},
		{name: "corrupt middle line", journal: line(2, 0, StateRunning) + "garbage\n" + line(3, 1, StateRunning), wantErr: "line 2"},
		{name: "unknown run", journal: line(2, 5, StateRunning), wantErr: "run index 5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			err := ReplayJournal(m, strings.NewReader(tc.journal))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := [2]RunState{m.Runs[0].State, m.Runs[1].State}; got != tc.want {
				t.Errorf("states %v, want %v", got, tc.want)
			}
		})
	}
}

func journalItoa(i int) string { return strconv.Itoa(i) }
