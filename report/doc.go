// Package report turns a study directory into the answer a researcher wants
// on one page (SPEC REP-1..3): a per-configuration table with 95% confidence
// intervals across cycles, a ranking of the swept parameters by their main
// effect on energy per output token ("what matters most"), an uncertainty
// figure per configuration that combines cycle spread with the energy
// source's nominal accuracy, and plots (energy per token against each swept
// parameter, the energy–latency Pareto front, power over time).
//
// The flow follows the producing / aggregating / presenting split of
// DESIGN.md: Load reads a study directory as the study runner writes it
// (also one still running or partly failed), Build computes a Report, and
// the Write* functions and Export only present it. Every statistic comes
// from internal/stats.
package report
