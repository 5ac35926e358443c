// Package pyworker drives llem's Python backends (pytorch via Hugging Face
// transformers, vllm, tensorrt via TensorRT-LLM) through a worker process,
// while the Go side keeps all measurement (SPEC ENG-2, ENG-4).
//
// The worker speaks a versioned JSON-lines protocol over its stdin and
// stdout (see protocol.go and workers/llem_protocol.py, the one Python
// module every worker shares): hello, load, generate, shutdown. Generate
// answers only after the worker has synchronised the device, so the energy
// window the harness closes after it holds the batch's work. A Python
// exception comes back with its traceback; a crash, a malformed line or a
// context deadline ends the worker and is reported with the tail of its
// stderr.
//
// The worker scripts are embedded in the binary and written to a
// content-addressed cache folder at run time. The Python comes from a
// Runner: a local interpreter or virtual environment, or a container image
// run through internal/container with the GPUs, the scripts and the Hugging
// Face cache passed in.
package pyworker
