// Package native is llem's built-in CPU inference engine: a pure-Go (no cgo)
// implementation of Llama-family decoder models that reads GGUF files or
// builds synthetic-weight models of real shapes in memory.
//
// The pieces are:
//   - a GGUF v3 reader and writer (gguf.go) with F32, F16, BF16, Q8_0 and
//     Q4_0 tensors (quant.go), and readers for Q4_1, Q5_0, Q5_1 and the
//     k-quants Q2_K…Q6_K (quant_k.go);
//   - tokenizers read from GGUF metadata: SentencePiece-style ("llama") and
//     byte-level BPE ("gpt2") (tokenizer.go), and a deterministic byte-level
//     BPE trained on an embedded corpus for synthetic models (synthvocab.go);
//   - the batched forward pass (model.go, forward.go): RMSNorm, RoPE,
//     grouped-query attention with a per-sequence KV cache, SwiGLU, where B
//     sequences advance together so each weight row is read once per step;
//   - matrix kernels (kernels*.go): AVX2+FMA assembly chosen at run time,
//     with a portable pure-Go fallback;
//   - synthetic shapes (shapes.go, synth.go) and SynthesizeGGUF, which writes
//     them as GGUF files that llama.cpp loads and runs to the same greedy
//     tokens (bench/native/compare-llamacpp.sh);
//   - the engine.Engine implementation (engine.go) with sampling (sample.go).
package native
