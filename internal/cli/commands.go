package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/llenergymeasure/llem"
	"github.com/llenergymeasure/llem/report"
	"github.com/llenergymeasure/llem/results"
)

// childCommand is the hidden subcommand the study runner re-executes llem
// with, one child process per run (STU-1).
const childCommand = llem.ChildCommand

func newChildCmd(stdio *IO) *cobra.Command {
	return &cobra.Command{
		Use:    childCommand,
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if code := llem.ServeChild(cmd.Context(), stdio.Getenv, stdio.Err); code != 0 {
				return exitError{code: code, err: errSilent}
			}
			return nil
		},
	}
}

func newModelCmd(stdio *IO) *cobra.Command {
	model := &cobra.Command{Use: "model", Short: "Synthetic-weight models for the native engine and peers"}
	var shape, out, typ string
	var seed int64
	synth := &cobra.Command{
		Use:   "synth",
		Short: "Write a synthetic-weight model of a named shape as GGUF (llama.cpp and Ollama load it)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageError{fmt.Errorf("--out FILE.gguf is required")}
			}
			if !slices.Contains(llem.ModelShapes(), shape) {
				return usageError{fmt.Errorf("--shape: unknown synthetic shape %q (allowed: %s)", shape, strings.Join(llem.ModelShapes(), ", "))}
			}
			if !slices.Contains(llem.ModelTensorTypes(), typ) {
				return usageError{fmt.Errorf("--type: unknown tensor type %q (allowed: %s)", typ, strings.Join(llem.ModelTensorTypes(), ", "))}
			}
			if err := llem.SynthesizeModel(out, shape, seed, typ); err != nil {
				return fmt.Errorf("synthesize %s: %w", shape, err)
			}
			fmt.Fprintf(stdio.Out, "wrote %s (shape %s, seed %d, %s)\n", out, shape, seed, typ)
			return nil
		},
	}
	synth.Flags().StringVar(&shape, "shape", "stories15M", "shape name: "+strings.Join(llem.ModelShapes(), ", "))
	synth.Flags().StringVar(&out, "out", "", "output GGUF file")
	synth.Flags().Int64Var(&seed, "seed", llem.DefaultWeightsSeed, "weights seed")
	synth.Flags().StringVar(&typ, "type", "f32", "tensor type: "+strings.Join(llem.ModelTensorTypes(), ", "))
	_ = synth.RegisterFlagCompletionFunc("shape", fixedCompletion(llem.ModelShapes()...))
	model.AddCommand(synth)
	return model
}

func newReportCmd(stdio *IO) *cobra.Command {
	var format, export, out, measure, detect string
	cmd := &cobra.Command{
		Use:   "report DIR [DIR...]",
		Short: "Tables and plots of a study: which choices matter most; several studies side by side",
		Long: `Report one study: which choices matter most, every configuration's figures
with their intervals, uncertainty, the Pareto front (html by default, md or json).

Given several study folders, compare them instead (md by default, or json):
configurations matched by measurement config hash or by their swept values,
side by side with each study's ratio to the first, and the environment
fields (GPU, driver, CUDA, CPU, host, OS, llem and engine versions) that differ.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return compareStudies(cmd, stdio, args, format, out)
			}
			dir := args[0]
			st, err := report.Load(dir)
			if err != nil {
				return usageError{err}
			}
			noteRunning(stdio, dir)
			if export != "" {
				return exportResults(stdio, st, export, out, dir)
			}
			detectPct, err := report.ParseDetect(detect)
			if err != nil {
				return usageError{err}
			}
			rep, err := report.BuildWith(st, report.Options{Measure: report.Measure(measure), DetectPct: detectPct})
			if errors.Is(err, report.ErrOption) {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			switch format {
			case "md", "json":
				write := report.WriteMarkdown
				if format == "json" {
					write = func(w io.Writer, rep *report.Report) error { return writeEnvelope(w, envelopeReport, dir, rep) }
				}
				return writeReport(stdio, out, func(w io.Writer) error { return write(w, rep) })
			case "html":
				if out == "" {
					out = filepath.Join(dir, "report")
				}
				return writeHTMLReport(stdio, out, rep)
			default:
				return usageError{fmt.Errorf("unknown --format %q (allowed: html, md, json)", format)}
			}
		},
	}
	cmd.Flags().StringVar(&format, "format", "html", "html (page + plots), md or json; with several DIRs md (the default there) or json")
	cmd.Flags().StringVar(&export, "export", "", "deprecated: use llem export DIR --format FORMAT")
	cmd.Flags().StringVarP(&out, "out", "o", "", "output folder (html) or file (md, json, export); default: html and exports inside DIR, md and json on stdout")
	cmd.Flags().StringVar(&measure, "measure", string(report.MeasureTotal), "rank effects on energy per output token from the total or the baseline-adjusted energy: "+report.MeasureNames())
	cmd.Flags().StringVar(&detect, "detect", "", "an effect size, e.g. 5%: the report says how many cycles would resolve it")
	_ = cmd.RegisterFlagCompletionFunc("format", fixedCompletion("html", "md", "json"))
	_ = cmd.RegisterFlagCompletionFunc("measure", fixedCompletion(strings.Split(report.MeasureNames(), ", ")...))
	return cmd
}

// compareStudies is `llem report DIR DIR...`: the studies side by side,
// Markdown by default or JSON in the one-envelope form of --json.
func compareStudies(cmd *cobra.Command, stdio *IO, dirs []string, format, out string) error {
	for _, name := range []string{"export", "measure", "detect"} {
		if cmd.Flags().Changed(name) {
			return usageError{fmt.Errorf("--%s applies to one study; a report of %d studies compares them (drop --%s or give one DIR)", name, len(dirs), name)}
		}
	}
	if !cmd.Flags().Changed("format") {
		format = "md"
	}
	if format != "md" && format != "json" {
		return usageError{fmt.Errorf("--format %s: a report of several studies is md or json", format)}
	}
	studies := make([]*report.Study, len(dirs))
	for i, dir := range dirs {
		st, err := report.Load(dir)
		if err != nil {
			return usageError{err}
		}
		noteRunning(stdio, dir)
		studies[i] = st
	}
	cmp, err := report.Compare(studies)
	if errors.Is(err, report.ErrOption) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	write := func(w io.Writer) error { return report.WriteComparisonMarkdown(w, cmp) }
	if format == "json" {
		write = func(w io.Writer) error {
			return writeEnvelope(w, envelopeComparison, dirs[0], cmp)
		}
	}
	return writeReport(stdio, out, write)
}

// noteRunning says when a writer holds a study's lock: a reader takes none.
func noteRunning(stdio *IO, dir string) {
	if h, held := llem.LockedBy(dir); held {
		fmt.Fprintf(stdio.Err, "llem report: study %s is still running (pid %d on %s since %s): this report shows it part-way\n", dir, h.PID, h.Host, h.Since.Local().Format(time.RFC3339))
	}
}

// writeReport writes a Markdown or JSON report to stdout, or to the file
// out and says where.
func writeReport(stdio *IO, out string, write func(io.Writer) error) error {
	if out == "" {
		return write(stdio.Out)
	}
	if err := writeWhole(out, write); err != nil {
		return err
	}
	fmt.Fprintf(stdio.Out, "report: %s\n", out)
	return nil
}

// exportResults is the deprecated `llem report --export FORMAT`: the run
// table, written by default as DIR/results_flat.FORMAT.
func exportResults(stdio *IO, st *report.Study, format, out, dir string) error {
	fmt.Fprintf(stdio.Err, "llem report: --export is deprecated; use llem export %s --format %s\n", dir, format)
	if !slices.Contains(results.TableFormats, format) {
		return usageError{fmt.Errorf("unknown --export %q (allowed: %s)", format, strings.Join(results.TableFormats, ", "))}
	}
	if out == "" {
		out = filepath.Join(dir, "results_flat."+format)
	}
	if err := writeWhole(out, func(w io.Writer) error { return report.Export(w, st, format) }); err != nil {
		return err
	}
	fmt.Fprintf(stdio.Out, "exported %s\n", out)
	return nil
}

func newExportCmd(stdio *IO) *cobra.Command {
	var format, table, out string
	cmd := &cobra.Command{
		Use:   "export DIR",
		Short: "Write a study's runs or time series as one table: parquet, csv or jsonl",
		Long: `Write a study's run table (one row per run: identity, every configuration
field, state, energy, throughput, latency) or its time series (every run's
samples, keyed by run_index and measurement_config_hash). The columns, their
types and their order are the same in every format and every study.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if !slices.Contains(results.TableFormats, format) {
				return usageError{fmt.Errorf("unknown --format %q (allowed: %s)", format, strings.Join(results.TableFormats, ", "))}
			}
			if !slices.Contains(report.ExportTables, table) {
				return usageError{fmt.Errorf("unknown --table %q (allowed: %s)", table, strings.Join(report.ExportTables, ", "))}
			}
			st, err := report.Load(dir)
			if err != nil {
				return usageError{err}
			}
			if h, held := llem.LockedBy(dir); held {
				fmt.Fprintf(stdio.Err, "llem export: study %s is still running (pid %d on %s since %s): this table shows it part-way\n", dir, h.PID, h.Host, h.Since.Local().Format(time.RFC3339))
			}
			render := func(w io.Writer) error { return report.ExportTable(w, st, table, format) }
			if out == "" {
				var buf bytes.Buffer
				if err := render(&buf); err != nil {
					return err
				}
				_, err := stdio.Out.Write(buf.Bytes())
				return err
			}
			if err := writeWhole(out, render); err != nil {
				return err
			}
			fmt.Fprintf(stdio.Err, "exported %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", results.FormatCSV, "parquet, csv or jsonl")
	cmd.Flags().StringVar(&table, "table", report.TableRuns, "runs (one row per run) or timeseries (every run's samples)")
	cmd.Flags().StringVarP(&out, "out", "o", "", "output file (default: stdout)")
	_ = cmd.RegisterFlagCompletionFunc("format", fixedCompletion(results.TableFormats...))
	_ = cmd.RegisterFlagCompletionFunc("table", fixedCompletion(report.ExportTables...))
	return cmd
}

// writeWhole renders into memory and replaces path atomically, so a
// failure part-way leaves no partial file behind.
func writeWhole(path string, render func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		return err
	}
	return results.WriteFileAtomic(path, buf.Bytes(), 0o644)
}

// writeHTMLReport writes the self-contained page and the plot files.
func writeHTMLReport(stdio *IO, out string, rep *report.Report) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	plots, err := report.WritePlots(out, rep)
	if err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	page := filepath.Join(out, "report.html")
	f, err := os.Create(page)
	if err != nil {
		return err
	}
	if err := report.WriteHTML(f, rep); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdio.Out, "report: %s (%d plot files beside it)\n", page, len(plots))
	return nil
}
