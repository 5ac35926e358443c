// Package study runs a resolved study (config.StudyConfig) on this machine:
// it orders the runs (experiment × cycle, config.Plan), executes each in a
// child process, waits the gaps between them, records every state change
// in the study's manifest, resumes interrupted studies, and writes the
// StudyResult and the flattened results.parquet (SPEC STU-1..7, STU-9).
//
// # Child processes
//
// Every run re-executes a binary (the CLI passes its own, with a hidden
// subcommand that calls ChildMain). The parent writes the ChildRequest as
// JSON to the child's stdin; the child sends one JSON reply (the
// ExperimentResult, or an error and its type) over file descriptor 3
// (ResultFD) and optional progress events as JSON lines over descriptor 4
// (ProgressFD), which the parent forwards to its Observer. The child's
// stdout and stderr go to the run's run.log. The child leads its own process
// group; a timeout or a cancelled context sends SIGTERM to the group, then
// SIGKILL after a grace period. The parent writes result.json itself, from
// the reply, so a child dying mid-write never leaves a half file; the child
// writes timeseries.parquet into the run directory it was given. The
// request carries the host's environment snapshot (Options.Machine), taken
// once per study by the caller, so a child adds only what may change
// between runs rather than probing the host again.
//
// The child never outlives its runner: descriptor 5 (LifelineFD) is a pipe
// whose write end only the runner holds, so the child sees it close when
// the runner dies however it died (with the kernel's parent-death signal
// as a prompt), and then SIGKILLs its own process group. Descriptor 6 is
// the study's lock (LockDir), inherited so that a child still alive keeps
// the study locked: a resume waits for such an orphan or refuses.
//
// # Lock, validated resume, repair
//
// Every writer of a study directory (run, resume, gather; an array task
// locks its run directory) holds an exclusive lock on its llem.lock, which
// the kernel releases on any exit; a second writer is refused at once with
// the holder's pid, host and start. A resume counts a completed run only if
// its result.json validates (results.CheckResult: schema, hash, cycle,
// files, the checksum recorded when the run completed); anything else is
// moved aside to invalid-<time>/ in the run directory and measured again.
// A missing or unreadable manifest is rebuilt from study.json and the
// validated results. A resume never drops planned runs: fewer cycles than
// the study has is refused, more extend it.
//
// A run fails, and the study goes on, when the child exits non-zero or
// reports an error, crashes on a signal, is killed by SIGKILL it did not get
// from llem (the out-of-memory killer), exceeds its timeout, or sends no or
// an invalid result. The manifest then holds the error type, the message
// and the tail of the log.
//
// # Manifest: snapshot plus journal
//
// A study of 10,000 runs changes state 20,000 times; rewriting a manifest
// of every run after each change costs time that grows with the study
// (STU-9). The manifest is therefore two files in the study directory:
//
//   - manifest.json, a full snapshot (results.StudyManifest) written
//     atomically (temporary file, fsync, rename, fsync of the directory);
//   - manifest.journal.jsonl, one line per state change since that snapshot
//     (results.JournalEntry: a sequence number and the run's new entry),
//     appended with a single write and fsync'd before the runner goes on.
//
// A change costs one small append, whatever the size of the study. The
// snapshot is rewritten, and the journal emptied, once the journal holds
// max(64, runs/4) changes and when the study ends: a cost proportional to
// the study, paid once per runs/4 changes, so constant per change on
// average. The snapshot records the sequence number it includes, so a crash
// between rewriting it and emptying the journal replays nothing twice.
// results.ReadManifest, used by resume and by readers, replays the journal
// over the snapshot; a torn last line (a writer killed mid-append) is the
// change that never completed and is ignored. Whatever instant a writer
// dies at, what is on disk reads as the state before or after the change.
//
// # Resume
//
// A resumed study keeps every run whose manifest entry is completed and
// whose result.json exists (identity: measurement_config_hash and cycle),
// untouched, and runs everything else again from a clean run directory. It
// refuses a study whose study_design_hash differs from the manifest's.
package study
