package results

import "testing"

func TestSourceRank(t *testing.T) {
	for _, tc := range []struct {
		source string
		want   int
	}{
		{SourceNVMLCounter, 0},
		{SourceNVMLIntegration, 1},
		{SourceRAPL, 2},
		{SourceEstimated, 3},
		{"", 4},
		{"made_up", 4},
	} {
		if got := SourceRank(tc.source); got != tc.want {
			t.Errorf("SourceRank(%q) = %d, want %d", tc.source, got, tc.want)
		}
	}
}
