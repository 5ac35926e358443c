"""llem's tensorrt backend: TensorRT-LLM's LLM API behind llem's worker protocol.

Load builds (or reuses) an engine. llem names the cache folder from a key of
model x precision x tp x pp x max batch x max seq len x quantisation (the
builder's optimisation level is deliberately left out); a folder that already
holds an engine is loaded as it is, otherwise the engine is built and saved
there. tensorrt.engine_path skips both and loads a prebuilt engine.
Generate streams every prompt concurrently with generate_async and records
one timestamp per streamed token.

Checked against TensorRT-LLM 1.x's LLM API: there `tensorrt_llm.LLM` is the
PyTorch backend, which refuses TensorRT-only arguments (build_config) and
cannot save an engine, so this worker takes the TensorRT-engine LLM from
tensorrt_llm._tensorrt_engine where it exists (0.x: tensorrt_llm.LLM was
that one). Not yet run on a GPU.
"""

import asyncio
import os
import sys
import time

import llem_protocol as proto

DTYPES = {"fp16": "float16", "bf16": "bfloat16", "fp32": "float32", "int8": "float16", "int4": "float16",
          "fp8": "float16", "": "auto", None: "auto"}
QUANT = {"int8_sq": "W8A8_SQ_PER_CHANNEL", "int4_awq": "W4A16_AWQ", "fp8": "FP8"}


class TensorRTWorker:
    backend = "tensorrt"
    modules = ["torch", "tensorrt_llm", "tensorrt", "transformers"]
    import_check = ("tensorrt_llm",)

    def __init__(self):
        self.llm = None
        self.tokenizer = None

    def load(self, req):
        if req.get("lora"):
            raise proto.WorkerError("LoRA adapters are not supported on tensorrt: merge the adapter into "
                                    "the model first (PEFT merge_and_unload) and give the merged model")
        import importlib
        import tensorrt_llm
        from tensorrt_llm import BuildConfig
        LLM = _llm_class(importlib.import_module)

        t0 = time.perf_counter()
        opts = dict(req.get("options") or {})
        precision = req.get("precision") or "fp16"
        kwargs = {"tensor_parallel_size": int(opts.get("tp_size") or 1),
                  "pipeline_parallel_size": int(opts.get("pp_size") or 1)}
        warnings = []
        engine_path = opts.get("engine_path")
        cache_dir = req.get("engine_dir")
        built = False
        if engine_path:
            source = engine_path
        elif cache_dir and os.path.exists(os.path.join(cache_dir, "config.json")):
            source = cache_dir
            warnings.append("tensorrt: reused the cached engine in %s" % cache_dir)
        else:
            source = req["model"]
            built = True
            bc = {}
            for k, opt in (("max_batch_size", "max_batch_size"), ("max_seq_len", "max_seq_len"),
                           ("max_input_len", "max_input_len"), ("opt_level", "builder_opt_level")):
                if opts.get(opt) is not None:
                    bc[k] = int(opts[opt])
            if opts.get("kv_cache_type"):
                from tensorrt_llm.llmapi import KvCacheConfig  # noqa: F401 - fails early on old versions
                bc["kv_cache_type"] = _kv_cache_type(opts["kv_cache_type"])
            kwargs["build_config"] = BuildConfig(**bc)
            kwargs["dtype"] = DTYPES.get(precision, "auto")
            if opts.get("quantization"):
                from tensorrt_llm.llmapi import QuantConfig, QuantAlgo
                kwargs["quant_config"] = QuantConfig(quant_algo=getattr(QuantAlgo, QUANT[opts["quantization"]]))
            elif precision in ("int8", "int4", "fp8"):
                raise proto.WorkerError("tensorrt precision %s needs tensorrt.quantization (int8_sq, int4_awq or fp8)" % precision)
        kwargs.update(req.get("passthrough_kwargs") or {})
        self.llm = LLM(model=source, **kwargs)
        if built and cache_dir:
            os.makedirs(cache_dir, exist_ok=True)
            self.llm.save(cache_dir)
        self.tokenizer = getattr(self.llm, "tokenizer", None)
        proto.synchronize()
        return {
            "load_seconds": time.perf_counter() - t0,
            "parameters": 0,
            "weights": "hf",
            "device": "cuda:0",
            "gpu_indices": list(range(kwargs["tensor_parallel_size"] * kwargs["pipeline_parallel_size"])),
            "exact_output_length": True,
            "effective": {"engine_source": source, "engine_built": built, "engine_dir": cache_dir,
                          "tensor_parallel_size": kwargs["tensor_parallel_size"],
                          "pipeline_parallel_size": kwargs["pipeline_parallel_size"],
                          "dtype": kwargs.get("dtype"),
                          "llm_class": "%s.%s" % (LLM.__module__, LLM.__name__)},
            "versions": {"tensorrt_llm": tensorrt_llm.__version__},
            "warnings": warnings + ["tensorrt: parameter count is not exposed by a built engine"],
        }

    def _sampling(self, params, max_new):
        from tensorrt_llm import SamplingParams
        strategy = params.get("strategy") or "greedy"
        if strategy == "beam":
            raise proto.WorkerError("tensorrt runs greedy or sampling decoding, not beam")
        sp = {"max_tokens": max_new, "ignore_eos": bool(params.get("ignore_eos"))}
        if params.get("min_new_tokens"):
            # Capped at the prompt's own max_new_tokens, as in the vLLM worker.
            sp["min_tokens"] = min(int(params["min_new_tokens"]), max_new)
        if strategy == "sampling":
            sp.update(temperature=params.get("temperature") or 1.0, top_p=params.get("top_p") or 1.0)
            if params.get("top_k"):
                sp["top_k"] = params["top_k"]
        else:
            sp.update(temperature=0.0, top_k=1)
        sp.update(proto.shared_sampling(params))
        return SamplingParams(**sp)

    def _prompt(self, p):
        if p.get("tokens"):
            bos = getattr(self.tokenizer, "bos_token_id", None) if self.tokenizer is not None else None
            return ([bos] if bos is not None else []) + list(p["tokens"])
        if p.get("messages") and self.tokenizer is not None:
            return self.tokenizer.apply_chat_template(p["messages"], tokenize=False, add_generation_prompt=True)
        return p.get("text") or ""

    def generate(self, body):
        params = body.get("params") or {}
        prompts = body.get("prompts") or []
        return asyncio.run(self._generate(prompts, params))

    async def _generate(self, prompts, params):
        start = time.perf_counter()

        async def one(p):
            n = p.get("max_new_tokens") or params.get("max_new_tokens") or 1
            times = []
            last = None
            async for out in self.llm.generate_async(self._prompt(p), self._sampling(params, n), streaming=True):
                now = time.perf_counter()
                seen = len(out.outputs[0].token_ids)
                times.extend([now] * (seen - len(times)))
                last = out
            c = last.outputs[0]
            prompt_tokens = len(p["tokens"]) if p.get("tokens") else len(getattr(last, "prompt_token_ids", []) or [])
            return {
                "prompt_id": p.get("id", ""),
                "prompt_tokens": prompt_tokens,
                "output_tokens": len(c.token_ids),
                "text": c.text,
                "token_ids": list(c.token_ids),
                "start": start,
                "token_times": times,
                "end": time.perf_counter(),
                "finish_reason": str(getattr(c, "finish_reason", "") or ""),
            }

        return list(await asyncio.gather(*(one(p) for p in prompts)))

    def close(self):
        if self.llm is not None and hasattr(self.llm, "shutdown"):
            self.llm.shutdown()
        self.llm = None


def _llm_class(import_module):
    """TensorRT-LLM's engine-building LLM class: tensorrt_llm._tensorrt_engine.LLM
    from 1.0 on (tensorrt_llm.LLM became the PyTorch backend), else
    tensorrt_llm.LLM."""
    try:
        return import_module("tensorrt_llm._tensorrt_engine").LLM
    except (ImportError, AttributeError):
        return import_module("tensorrt_llm").LLM


def _kv_cache_type(name):
    from tensorrt_llm.llmapi import KVCacheType
    return getattr(KVCacheType, name.upper())


if __name__ == "__main__":
    sys.exit(proto.serve(TensorRTWorker()))
