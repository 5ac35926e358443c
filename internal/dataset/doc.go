// Package dataset builds the prompts an experiment measures (SPEC DAT-1..4).
//
// What is measured depends on the prompts as much as on the engine, so every
// set of prompts carries its identity (results.DatasetInfo: name, Hub
// revision or file SHA-256, parameters), which the harness records in the
// result and folds into measurement_config_hash.
//
// Sources:
//   - synthetic (the default, offline): prompts of a set input and output
//     token length, fixed or drawn from a distribution, seeded. With the
//     engine's tokenizer the prompts are made of real tokens and encode to
//     exactly input_len tokens (BOS excluded); without one (remote servers)
//     lengths are approximated in words and marked as such.
//   - jsonl and sharegpt files: one prompt per line ({"prompt": …} or chat
//     {"messages": […]}), or ShareGPT-style conversations; errors name the
//     file, line and what was wrong; the identity is the file's SHA-256.
//   - aienergyscore: the AI Energy Score text-generation prompt set, fetched
//     from the Hugging Face Hub at a pinned revision, checked by hash and
//     cached in the huggingface_hub cache layout (see hub.go).
//   - builtin: a small embedded set of natural prompts for offline demos.
//
// Load is the single entry point; it selects, orders (interleaved, grouped
// or shuffled) and cuts the pool to the experiment's n. The package never
// prints; errors carry the context a user needs, and a Hub set that cannot
// be fetched or found in the cache is reported as ErrDatasetUnavailable.
package dataset
