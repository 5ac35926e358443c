// Package slurm runs a study on a Slurm cluster as one job array, one array
// task per run (SPEC STU-8): it renders the batch script (Script, a pure
// function), submits it with `sbatch --parsable` and follows the array with
// `squeue`.
//
// llem talks to Slurm through its command-line tools, run with os/exec
// behind the Exec seam: there is no maintained Go client of Slurm's C API,
// and slurmrestd is rarely enabled on clusters, while sbatch and squeue are
// everywhere Slurm is. Tests replace Exec to feed recorded output.
package slurm
