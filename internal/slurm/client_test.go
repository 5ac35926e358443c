package slurm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// fakeExec answers each call with the next scripted reply and records the
// command lines.
type fakeExec struct {
	replies []reply
	calls   []string
}

type reply struct {
	out string
	err error
}

func (f *fakeExec) Output(_ context.Context, name string, args ...string) ([]byte, error) {
	f.calls = append(f.calls, name+" "+strings.Join(args, " "))
	if len(f.replies) == 0 {
		return nil, fmt.Errorf("fakeExec: unexpected call %s %v", name, args)
	}
	r := f.replies[0]
	f.replies = f.replies[1:]
	return []byte(r.out), r.err
}

func TestSubmit(t *testing.T) {
	tests := []struct {
		out     string
		err     error
		want    string
		wantErr string
	}{
		{out: "4242\n", want: "4242"},
		{out: "4242;cluster1\n", want: "4242"},
		{out: "sbatch: warning: something\n17\n", want: "17"},
		{out: "Submitted batch job 12\n", wantErr: "not a job id"},
		{err: errors.New("sbatch --parsable x: exit status 1: sbatch: error: invalid partition specified: gpu"), wantErr: "invalid partition"},
	}
	for _, tt := range tests {
		f := &fakeExec{replies: []reply{{tt.out, tt.err}}}
		id, err := Client{Exec: f}.Submit(context.Background(), "/d/slurm/array.sbatch")
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: error %v, want %q", tt.out, err, tt.wantErr)
			}
			continue
		}
		if err != nil || id != tt.want {
			t.Errorf("%q: id %q, %v; want %q", tt.out, id, err, tt.want)
		}
		if f.calls[0] != "sbatch --parsable /d/slurm/array.sbatch" {
			t.Errorf("ran %q", f.calls[0])
		}
	}
}

func TestStatus(t *testing.T) {
	f := &fakeExec{replies: []reply{
		{out: "7_3 RUNNING\n7_4 PENDING\n7_5 PENDING\n"},
		{out: ""},
		{err: errors.New("squeue: exit status 1: slurm_load_jobs error: Invalid job id specified")},
		{err: errors.New("squeue: exit status 1: slurm_load_jobs error: Unable to contact slurm controller")},
	}}
	c := Client{Exec: f}
	st, err := c.Status(context.Background(), "7")
	if err != nil || !st.Active() || st.States["PENDING"] != 2 || st.States["RUNNING"] != 1 || st.String() != "2 PENDING, 1 RUNNING" {
		t.Fatalf("status %+v %q, %v", st, st, err)
	}
	if f.calls[0] != "squeue --noheader --array --jobs=7 --format=%i %T" {
		t.Errorf("ran %q", f.calls[0])
	}
	for i := 0; i < 2; i++ {
		st, err = c.Status(context.Background(), "7")
		if err != nil || st.Active() {
			t.Errorf("ended job %d: %+v, %v", i, st, err)
		}
	}
	if _, err := c.Status(context.Background(), "7"); err == nil || !strings.Contains(err.Error(), "Unable to contact") {
		t.Errorf("controller down: %v", err)
	}
}

func TestWait(t *testing.T) {
	f := &fakeExec{replies: []reply{
		{out: "9_0 RUNNING\n9_1 PENDING\n"},
		{out: "9_0 RUNNING\n9_1 PENDING\n"},
		{out: "9_1 RUNNING\n"},
		{out: ""},
	}}
	var seen []string
	err := Client{Exec: f}.Wait(context.Background(), "9", time.Millisecond, func(s ArrayStatus) { seen = append(seen, s.String()) })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1 PENDING, 1 RUNNING", "1 RUNNING", "no task left in the queue"}
	if strings.Join(seen, "|") != strings.Join(want, "|") {
		t.Errorf("changes %q, want %q", seen, want)
	}
	if len(f.calls) != 4 {
		t.Errorf("%d squeue calls, want 4", len(f.calls))
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f = &fakeExec{replies: []reply{{out: "9_0 RUNNING\n"}}}
	if err := (Client{Exec: f}).Wait(ctx, "9", time.Hour, nil); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "squeue -j 9") {
		t.Errorf("cancelled wait: %v", err)
	}
}

func TestOSExecNotInstalled(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := OSExec{}.Output(context.Background(), "sbatch", "--version")
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "without --scheduler") {
		t.Fatalf("error %v, want ErrNotInstalled naming the local alternative", err)
	}
}
