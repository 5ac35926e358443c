"""llem's vllm backend: vLLM's offline engine behind llem's worker protocol.

Load builds vllm.LLM with the options llem's vllm section names
(tensor_parallel_size, gpu_memory_utilization, max_num_seqs, enforce_eager,
quantization, kv_cache_dtype, enable_prefix_caching, enable_chunked_prefill,
max_num_batched_tokens, block_size, max_model_len, enable_lora, attention
backend) plus passthrough_kwargs. Generate adds every prompt to the engine and
steps it, taking one timestamp per engine step for each request that gained
tokens in it; where the step API is missing it falls back to LLM.generate and
the RequestOutput metrics (first and last token times).

Checked against vLLM's V1 engine (LLM, LLMEngine.add_request/step/
has_unfinished_requests, SamplingParams, speculative_config, the
attention_backend engine argument that replaced VLLM_ATTENTION_BACKEND);
not yet run on a GPU.
"""

import os
import sys
import time

import llem_protocol as proto

DTYPES = {"fp16": "float16", "bf16": "bfloat16", "fp32": "float32", "": "auto", None: "auto",
          "int8": "auto", "int4": "auto", "fp8": "auto"}

ENGINE_OPTIONS = ("tensor_parallel_size", "gpu_memory_utilization", "max_num_seqs", "enforce_eager",
                  "quantization", "kv_cache_dtype", "enable_prefix_caching", "enable_chunked_prefill",
                  "max_num_batched_tokens", "block_size", "max_model_len", "enable_lora")


class VLLMWorker:
    backend = "vllm"
    modules = ["torch", "vllm", "transformers"]
    import_check = ("vllm",)

    def __init__(self):
        self.llm = None
        self.lora = None
        self.next_id = 0

    def load(self, req):
        opts = dict(req.get("options") or {})
        precision = req.get("precision") or "bf16"
        if precision in ("int8", "int4", "fp8") and not opts.get("quantization"):
            raise proto.WorkerError("vllm precision %s needs vllm.quantization (awq, gptq or fp8) or a "
                                    "pre-quantised model whose config names its method" % precision)
        from vllm import LLM
        import vllm
        attn_kwargs = {}
        if opts.get("attention_backend"):
            attn_kwargs, env = _attention_backend(opts["attention_backend"], _engine_arg_names())
            os.environ.update(env)

        t0 = time.perf_counter()
        kwargs = {"model": req["model"], "dtype": DTYPES.get(precision, "auto"), "seed": int(req.get("seed") or 0)}
        for k in ENGINE_OPTIONS:
            if opts.get(k) is not None:
                kwargs[k] = opts[k]
        if req.get("random_init"):
            kwargs["load_format"] = "dummy"
        lora = req.get("lora")
        if lora:
            if not opts.get("enable_lora"):
                raise proto.WorkerError("a LoRA adapter with vllm needs vllm.enable_lora: true")
            from vllm.lora.request import LoRARequest
            self.lora = LoRARequest("llem-adapter", 1, lora.get("adapter_path") or lora.get("adapter_id"))
        kwargs.update(attn_kwargs)
        if req.get("draft_model"):
            kwargs["speculative_config"] = _speculative_config(req["draft_model"])
        kwargs.update(req.get("passthrough_kwargs") or {})
        self.llm = LLM(**kwargs)
        proto.synchronize()
        params = _parameter_count(self.llm)
        effective = {k: v for k, v in kwargs.items() if k != "model"}
        effective.update(_engine_effective(getattr(self.llm, "llm_engine", None)))
        return {
            "load_seconds": time.perf_counter() - t0,
            "parameters": params,
            "weights": "random_init" if req.get("random_init") else "hf",
            "device": "cuda:0",
            "gpu_indices": list(range(int(effective.get("tensor_parallel_size") or 1))),
            "exact_output_length": True,
            "effective": {k: v for k, v in effective.items() if isinstance(v, (int, float, str, bool, type(None), dict, list))},
            "versions": {"vllm": vllm.__version__},
            "warnings": [] if params else ["vllm: parameter count not available from this vLLM version"],
        }

    def _sampling(self, params, max_new):
        from vllm import SamplingParams
        strategy = params.get("strategy") or "greedy"
        sp = {"max_tokens": max_new, "ignore_eos": bool(params.get("ignore_eos")),
              # A prompt's own max_new_tokens may be below the batch's
              # minimum: SamplingParams refuses min_tokens > max_tokens.
              "min_tokens": max_new if params.get("ignore_eos") else min(int(params.get("min_new_tokens") or 0), max_new)}
        if strategy == "sampling":
            sp.update(temperature=params.get("temperature") or 1.0, top_p=params.get("top_p") or 1.0,
                      top_k=params.get("top_k") or -1)
        else:
            sp["temperature"] = 0.0
        if strategy == "beam":
            raise proto.WorkerError("beam search runs through LLM.beam_search in vLLM, which llem's worker does not drive yet")
        sp.update(proto.shared_sampling(params))
        try:
            # Every step's output holds all tokens so far (the default; set
            # so a changed default cannot turn _stepped's counts into deltas).
            from vllm.sampling_params import RequestOutputKind
            sp["output_kind"] = RequestOutputKind.CUMULATIVE
        except ImportError:
            pass
        return SamplingParams(**sp)

    def _prompt(self, p):
        if p.get("tokens"):
            tok = self.llm.get_tokenizer()
            bos = [tok.bos_token_id] if getattr(tok, "bos_token_id", None) is not None else []
            return {"prompt_token_ids": bos + list(p["tokens"])}
        if p.get("messages"):
            tok = self.llm.get_tokenizer()
            return {"prompt": tok.apply_chat_template(p["messages"], tokenize=False, add_generation_prompt=True)}
        return {"prompt": p.get("text") or ""}

    def generate(self, body):
        params = body.get("params") or {}
        prompts = body.get("prompts") or []
        engine = getattr(self.llm, "llm_engine", None)
        if engine is not None and hasattr(engine, "add_request") and hasattr(engine, "step"):
            return self._stepped(engine, prompts, params)
        return self._batch(prompts, params)

    def _stepped(self, engine, prompts, params):
        ids = {}
        start = time.perf_counter()
        for p in prompts:
            self.next_id += 1
            rid = "llem-%d" % self.next_id
            ids[rid] = p
            n = p.get("max_new_tokens") or params.get("max_new_tokens") or 1
            kw = {"lora_request": self.lora} if self.lora is not None else {}
            engine.add_request(rid, self._prompt(p), self._sampling(params, n), **kw)
        times = {rid: [] for rid in ids}
        done = {}
        while engine.has_unfinished_requests():
            outputs = engine.step()
            now = time.perf_counter()
            for o in outputs:
                if o.request_id not in ids:
                    continue
                seen = len(o.outputs[0].token_ids) if o.outputs else 0
                times[o.request_id].extend([now] * (seen - len(times[o.request_id])))
                if o.finished:
                    done[o.request_id] = (o, now)
        proto.synchronize()
        return [self._completion(ids[rid], *done[rid], start, times[rid]) for rid in ids]

    def _batch(self, prompts, params):
        start = time.perf_counter()
        wall0 = time.time()
        sps = [self._sampling(params, p.get("max_new_tokens") or params.get("max_new_tokens") or 1) for p in prompts]
        kw = {"lora_request": self.lora} if self.lora is not None else {}
        outs = self.llm.generate([self._prompt(p) for p in prompts], sps, use_tqdm=False, **kw)
        end = time.perf_counter()
        result = []
        for p, o in zip(prompts, outs):
            n = len(o.outputs[0].token_ids)
            times = [end] * n
            m = getattr(o, "metrics", None)
            if m is not None and getattr(m, "first_token_time", None) and n:
                # Metrics are wall-clock; map them onto perf_counter.
                first = start + (m.first_token_time - wall0)
                last = start + ((m.last_token_time or m.first_token_time) - wall0)
                step = (last - first) / max(1, n - 1)
                times = [first + i * step for i in range(n)]
            result.append(self._completion(p, o, end, start, times))
        return result

    def _completion(self, p, o, end, start, times):
        out = o.outputs[0]
        n_prompt = len(o.prompt_token_ids or [])
        if p.get("tokens"):
            n_prompt = len(p["tokens"])
        return {
            "prompt_id": p.get("id", ""),
            "prompt_tokens": n_prompt,
            "output_tokens": len(out.token_ids),
            "text": out.text,
            "token_ids": list(out.token_ids),
            "start": start,
            "token_times": times[:len(out.token_ids)],
            "end": end,
            "finish_reason": out.finish_reason or "",
        }

    def close(self):
        self.llm = None


def _count(model):
    return sum(p.numel() for p in model.parameters())


def _parameter_count(llm):
    """Parameters of the served model: LLM.apply_model on V1 (it runs in the
    engine's worker processes), model_executor.apply_model before."""
    for get in (lambda: llm.apply_model(_count), lambda: llm.llm_engine.model_executor.apply_model(_count)):
        try:
            return int(sum(get()))
        except Exception as exc:  # noqa: BLE001 - the API differs between vLLM versions
            sys.stderr.write("parameter count unavailable this way: %s\n" % exc)
    return 0


def _speculative_config(draft_model, num_tokens=5):
    """speculative_config for a draft model. The V1 engine takes draft models
    only with method "draft_model" (vLLM PR 24322; 0.13 and earlier V1
    releases refuse them: NotImplementedError at load, before anything is
    measured); without a method vLLM guesses it from the model's name."""
    return {"method": "draft_model", "model": draft_model, "num_speculative_tokens": num_tokens}


def _engine_arg_names():
    try:
        import dataclasses
        from vllm.engine.arg_utils import EngineArgs
        return {f.name for f in dataclasses.fields(EngineArgs)}
    except Exception:  # noqa: BLE001 - EngineArgs moved or is not a dataclass
        return set()


def _attention_backend(name, engine_args):
    """LLM keywords and environment that select the attention backend:
    the attention_backend engine argument where vLLM has it (the
    VLLM_ATTENTION_BACKEND variable it replaced is deprecated there), else
    the variable."""
    if "attention_backend" in engine_args:
        return {"attention_backend": name}, {}
    return {}, {"VLLM_ATTENTION_BACKEND": name}


# Effective settings and where each lives in vLLM's config objects.
EFFECTIVE_FIELDS = (
    ("max_num_seqs", "scheduler_config", "max_num_seqs"),
    ("max_num_batched_tokens", "scheduler_config", "max_num_batched_tokens"),
    ("gpu_memory_utilization", "cache_config", "gpu_memory_utilization"),
    ("block_size", "cache_config", "block_size"),
    ("kv_cache_dtype", "cache_config", "cache_dtype"),
    ("enable_prefix_caching", "cache_config", "enable_prefix_caching"),
    ("max_model_len", "model_config", "max_model_len"),
    ("tensor_parallel_size", "parallel_config", "tensor_parallel_size"),
    ("enforce_eager", "model_config", "enforce_eager"),
)


def _engine_effective(engine):
    """The settings vLLM resolved, from engine.vllm_config (V1) or the
    engine's own config attributes (older engines keep some there); a field
    neither has is left out rather than guessed."""
    if engine is None:
        return {}
    root = getattr(engine, "vllm_config", None)
    out = {}
    for key, section, attr in EFFECTIVE_FIELDS:
        sec = getattr(root, section, None) if root is not None else None
        if sec is None:
            sec = getattr(engine, section, None)
        if sec is not None and hasattr(sec, attr):
            out[key] = getattr(sec, attr)
    return out


if __name__ == "__main__":
    sys.exit(proto.serve(VLLMWorker()))
