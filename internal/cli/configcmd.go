package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/llenergymeasure/llem"
	"github.com/llenergymeasure/llem/config"
	"github.com/llenergymeasure/llem/internal/buildinfo"
	"github.com/llenergymeasure/llem/results"
)

// configReport is `llem config --json`.
type configReport struct {
	// Version describes the llem build.
	Version buildinfo.Info `json:"version"`
	// Machine describes this machine, its energy sources and engines.
	Machine results.MachineReport `json:"machine"`
	// UserConfig lists each user-config value with where it came from.
	UserConfig []config.Setting `json:"user_config"`
	// UserFile is the user config file read, or "none (would be read from PATH)".
	UserFile string `json:"user_config_file"`
	// Python says what this machine offers each Python backend.
	Python []results.PythonBackend `json:"python_backends"`
}

func newConfigCmd(stdio *IO) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show this machine's GPUs, energy sensors and engines, and the configuration in effect",
		Long: `Show what llem finds on this machine — GPUs and drivers, energy sensors and
which would be used, engines available and how to get the missing ones — and the
user configuration in effect with where each value came from. It suggests; it
never changes anything.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			user, err := loadUserConfig(stdio)
			if err != nil {
				return err
			}
			rep, err := buildConfigReport(cmd.Context(), user, stdio)
			if err != nil {
				return err
			}
			if asJSON {
				return writeEnvelope(stdio.Out, envelopeMachine, "", rep)
			}
			printConfigReport(stdio.Out, rep, user)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func buildConfigReport(ctx context.Context, user config.UserConfig, stdio *IO) (configReport, error) {
	python := llem.CheckPython(ctx, user)
	m, err := llem.ProbeMachine(ctx, user, python)
	if err != nil {
		return configReport{}, err
	}
	return configReport{Version: buildinfo.Get(), Machine: m, UserConfig: user.Settings(), UserFile: userFileLabel(user, stdio), Python: python}, nil
}

func userFileLabel(user config.UserConfig, stdio *IO) string {
	if user.Path != "" {
		return user.Path
	}
	p, _ := config.UserConfigPath(stdio.Getenv)
	return "none (would be read from " + p + ")"
}

func printConfigReport(w io.Writer, rep configReport, user config.UserConfig) {
	m := rep.Machine
	e := m.Environment
	fmt.Fprintf(w, "llem %s\n\n", rep.Version)
	fmt.Fprintln(w, "Machine")
	fmt.Fprintf(w, "  os       %s, kernel %s\n", e.OS, e.Kernel)
	fmt.Fprintf(w, "  cpu      %s (%d cores, %d threads), %.1f GiB memory\n", e.CPUModel, e.CPUCores, e.CPUThreads, e.MemoryTotalMB/1024)
	if len(e.GPUs) == 0 {
		fmt.Fprintln(w, "  gpus     none found")
	}
	for _, g := range e.GPUs {
		fmt.Fprintf(w, "  gpu %d    %s, %.0f MiB, power limit %.0f W, persistence %s\n", g.Index, g.Name, g.MemoryTotalMB, g.PowerLimitW, g.PersistenceMode)
	}
	if e.DriverVersion != "" {
		fmt.Fprintf(w, "  driver   %s, CUDA %s (%s)\n", e.DriverVersion, e.CUDAVersion, e.CUDAVersionSource)
	}

	fmt.Fprintln(w, "\nEnergy sensors")
	for _, d := range m.EnergySources {
		fmt.Fprintf(w, "  %-12s %s\n", fmt.Sprintf("%s %d", d.Domain.Kind, d.Domain.Index), d.Source)
	}
	best := string(m.BestSource)
	if m.Estimated {
		best += " — an ESTIMATE, not a measurement; results will say so"
	}
	fmt.Fprintf(w, "  would use    %s\n", best)
	for _, r := range m.FallbackReasons {
		fmt.Fprintf(w, "  why not better: %s\n", r)
	}
	for _, h := range m.Hints {
		fmt.Fprintf(w, "  hint: %s\n", h)
	}

	fmt.Fprintln(w, "\nEngines")
	for _, s := range m.Engines {
		state := "available"
		if !s.Available {
			state = "missing"
		}
		line := fmt.Sprintf("  %-18s %-9s", s.Name, state)
		if s.Version != "" {
			line += " " + s.Version
		}
		if s.Hint != "" {
			line += "  " + s.Hint
		}
		fmt.Fprintln(w, line)
	}

	fmt.Fprintf(w, "\nUser config (file: %s)\n", rep.UserFile)
	for _, s := range rep.UserConfig {
		v := s.Value
		if v == "" || v == "0" {
			v = "(unset)"
		}
		fmt.Fprintf(w, "  %-28s %-20s %s\n", s.Key, v, s.Source)
	}
	if user.CarbonIntensity == 0 {
		fmt.Fprintln(w, "  hint: set carbon_intensity_gco2_kwh (or LLEM_CARBON_INTENSITY) to get carbon figures in results")
	}
}
