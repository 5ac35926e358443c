package slurm

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestScriptGolden(t *testing.T) {
	tests := []struct {
		name string
		p    ScriptParams
	}{
		{"minimal", ScriptParams{
			JobName: "llem-tinystudy", StudyDir: "/data/results/tinystudy_2026-01-02T03-04-05", Tasks: 8,
			Command: []string{"/usr/local/bin/llem", "__run-array-task", "/data/results/tinystudy_2026-01-02T03-04-05"},
		}},
		{"options_env_concurrency", ScriptParams{
			JobName: "llem-my study/α", StudyDir: "/scratch/r/s_1", Tasks: 1, Concurrency: 4,
			Options: []string{"--partition=debug", "--exclusive", "--time=00:30:00"},
			Env:     map[string]string{"LLEM_STUDY_BASEDIR": "/home/me/my studies", "A_FIRST": "it's"},
			Command: []string{"/opt/llem", "__run-array-task", "/scratch/r/s_1", "--no-gaps"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Script(tt.p)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tt.name+".sbatch")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("script differs from %s:\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

func TestScriptErrors(t *testing.T) {
	ok := ScriptParams{StudyDir: "/d", Tasks: 2, Command: []string{"llem"}}
	tests := []struct {
		name   string
		modify func(*ScriptParams)
		want   string
	}{
		{"no tasks", func(p *ScriptParams) { p.Tasks = 0 }, "at least one task"},
		{"relative dir", func(p *ScriptParams) { p.StudyDir = "results/s" }, "must be absolute"},
		{"space in dir", func(p *ScriptParams) { p.StudyDir = "/my results/s" }, "space, quote or backslash"},
		{"no command", func(p *ScriptParams) { p.Command = nil }, "no task command"},
		{"option injection", func(p *ScriptParams) { p.Options = []string{"--partition=x\nrm -rf /"} }, "not one sbatch option"},
		{"option without dash", func(p *ScriptParams) { p.Options = []string{"partition=debug"} }, "must start with '-'"},
		{"bad env name", func(p *ScriptParams) { p.Env = map[string]string{"A B": "x"} }, "not a valid environment variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.modify(&p)
			_, err := Script(p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":              "''",
		"/usr/bin/llem": "/usr/bin/llem",
		"a b":           "'a b'",
		"it's":          `'it'\''s'`,
		"$HOME":         "'$HOME'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
