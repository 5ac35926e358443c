// Package openai is llem's serving engine (SPEC ENG-3): it measures any
// OpenAI-compatible server (vLLM serve, SGLang, TGI, llama.cpp server,
// Ollama) through /v1/completions or /v1/chat/completions, streamed.
//
// Like vegeta, producing load is separate from measuring it: a Pacer says
// when the next request is due, as a pure function of elapsed time and
// requests sent (open loop, Poisson arrivals at request_rate), or requests
// are issued closed-loop at a fixed concurrency. Each request is streamed
// (server-sent events); a token time is taken at every chunk that carries
// text, so TTFT is the first chunk with text, not the first byte. Token
// counts come from the server's usage block (requested with
// stream_options.include_usage) or, where a server sends none, from the
// number of chunks, which Load reports as a warning.
//
// Optionally the engine starts the server itself (openai.server_command),
// waits for its health URL, and stops its whole process group on Close. The
// API key is read from the environment variable api_key_env names and is
// never recorded.
package openai
