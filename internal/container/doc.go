// Package container runs one process in a container through the Docker
// Engine API (Docker, or podman's API service), for the Python workers of
// the pytorch, vllm and tensorrt backends (SPEC ENG-2, ENG-4).
//
// It talks to the daemon with the Engine API client library, never by
// shelling out to `docker`: create (GPUs passed through with a device
// request, host folders bind-mounted, environment set), attach to stdin and
// stdout before start (so no output is lost), start, wait, remove. Without a
// TTY the attach stream multiplexes stdout and stderr; it is split with
// stdcopy, so stdout carries only what the process writes there (the
// worker's JSON-lines protocol) and stderr goes to the caller's log.
//
// Environment values (which may hold a Hugging Face token) are sent to the
// daemon and nowhere else: Spec's String method names the variables only.
package container
