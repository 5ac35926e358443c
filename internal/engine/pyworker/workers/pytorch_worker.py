"""llem's pytorch backend: Hugging Face transformers behind llem's worker protocol.

Load: AutoModelForCausalLM with the requested dtype, device_map, attention
implementation, bitsandbytes 4/8-bit or torchao quantisation, optional torch.compile and
LoRA adapters through PEFT; random_init builds the model from its config with
random weights (no weight download). Generate: batches with left padding, one
timestamp per decoding step taken by a LogitsProcessor after synchronising the
device, so token times mark when each token's logits existed.

Written against transformers 4.x and 5.x (5's migration guide and source
read for every call made here; not yet run on a GPU): chat templates asked
for a dict of input_ids, tp_size refused on 5 (it left from_pretrained),
generate's own compile disabled unless torch_compile was asked for, plain
sequences from generate, nested (multimodal) configs read through their text
config, and assisted generation (draft model, prompt lookup) run one prompt
at a time with token times from a streamer.
"""

import sys
import time

import llem_protocol as proto

DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16", "": "bfloat16", None: "bfloat16"}

# Options that go to from_pretrained / from_config rather than generate().
LOAD_OPTIONS = ("attn_implementation", "device_map", "tp_plan", "tp_size")


def _major(version):
    try:
        return int(version.split(".")[0])
    except ValueError:
        return 0


def _load_options(opts, version):
    """The from_pretrained keywords of LOAD_OPTIONS for this transformers.

    transformers 5 moved tensor parallelism to distributed_config and a
    torchrun world: from_pretrained takes tp_plan (deprecated) but no
    tp_size, which would reach the model's constructor; refused here."""
    out = {k: opts[k] for k in LOAD_OPTIONS if opts.get(k) is not None}
    if "tp_size" in out and _major(version) >= 5:
        raise proto.WorkerError("pytorch.tp_size is not a from_pretrained argument in transformers %s "
                                "(the size is the torch.distributed world's); remove it" % version)
    return out


class ByteTokenizer:
    """Stands in when a random-init model has no tokenizer: one token per
    UTF-8 byte, offset past the special ids. Reported as a warning."""

    def __init__(self, vocab_size, bos, eos):
        self.vocab_size = vocab_size
        self.bos_token_id = bos
        self.eos_token_id = eos
        self.pad_token_id = eos

    def encode(self, text):
        return [3 + b for b in text.encode("utf-8")]

    def decode(self, ids):
        return bytes((i - 3) % 256 for i in ids if i >= 3).decode("utf-8", "replace")


class PyTorchWorker:
    backend = "pytorch"
    modules = ["torch", "transformers", "accelerate", "peft", "bitsandbytes", "torchao"]
    import_check = ("torch", "transformers")

    def __init__(self):
        self.model = None
        self.tokenizer = None
        self.byte_tokenizer = False
        self.device = "cpu"
        self.gen_options = {}
        self.assistant = None
        self.assisted = False

    # ---- load ---------------------------------------------------------------

    def load(self, req):
        import torch
        import transformers
        from transformers import AutoConfig, AutoModelForCausalLM

        t0 = time.perf_counter()
        opts = dict(req.get("options") or {})
        kwargs = dict(req.get("passthrough_kwargs") or {})
        warnings = []
        precision = req.get("precision") or "bf16"
        if precision not in DTYPES:
            raise proto.WorkerError("pytorch backend runs fp32, fp16 or bf16, not %r" % precision)
        dtype = getattr(torch, DTYPES[precision])
        model_ref = req["model"]
        if int(opts.get("num_processes") or 1) > 1:
            raise proto.WorkerError("pytorch.num_processes > 1 needs a launcher (accelerate/torchrun) "
                                    "that llem's worker does not provide; use device_map or the vllm backend")
        if req.get("seed") is not None:
            torch.manual_seed(int(req["seed"]))

        dtype_key = _dtype_keyword(transformers.__version__)
        load_kwargs = {dtype_key: dtype}
        load_kwargs.update(_load_options(opts, transformers.__version__))
        if torch.cuda.is_available() and "device_map" not in load_kwargs and "tp_plan" not in load_kwargs:
            load_kwargs["device_map"] = "cuda:0"
        if opts.get("load_in_4bit") or opts.get("load_in_8bit"):
            try:
                from transformers import BitsAndBytesConfig
                import bitsandbytes  # noqa: F401
            except ImportError as exc:
                raise proto.WorkerError("load_in_4bit/load_in_8bit need bitsandbytes: pip install bitsandbytes (%s)" % exc)
            q = {"load_in_4bit": bool(opts.get("load_in_4bit")), "load_in_8bit": bool(opts.get("load_in_8bit"))}
            if q["load_in_4bit"]:
                q["bnb_4bit_compute_dtype"] = dtype
                if opts.get("bnb_4bit_quant_type"):
                    q["bnb_4bit_quant_type"] = opts["bnb_4bit_quant_type"]
            load_kwargs["quantization_config"] = BitsAndBytesConfig(**q)
        if opts.get("torchao_quant_type"):
            load_kwargs["quantization_config"] = _torchao_config(opts["torchao_quant_type"], opts.get("torchao_group_size"))
        load_kwargs.update(kwargs)

        random_init = bool(req.get("random_init"))
        if random_init:
            config = AutoConfig.from_pretrained(model_ref)
            from_config = {dtype_key: dtype}
            if "attn_implementation" in load_kwargs:
                from_config["attn_implementation"] = load_kwargs["attn_implementation"]
            model = AutoModelForCausalLM.from_config(config, **from_config)
            dev = load_kwargs.get("device_map", "cpu")
            if isinstance(dev, str) and dev != "auto":
                model = model.to(dev)
            elif torch.cuda.is_available():
                model = model.to("cuda:0")
            qc = load_kwargs.get("quantization_config")
            if qc is not None:
                # from_config takes no quantization_config: quantise the
                # random weights in place, as loading would have.
                if not opts.get("torchao_quant_type"):
                    raise proto.WorkerError("random_init cannot be combined with bitsandbytes (load_in_4bit/load_in_8bit): "
                                            "it quantises while loading real weights; use torchao_quant_type")
                from torchao.quantization import quantize_
                quantize_(model, qc.quant_type)
        else:
            model = AutoModelForCausalLM.from_pretrained(model_ref, **load_kwargs)

        lora = req.get("lora")
        if lora:
            try:
                from peft import PeftModel
            except ImportError as exc:
                raise proto.WorkerError("LoRA adapters need PEFT: pip install peft (%s)" % exc)
            adapter = lora.get("adapter_path") or lora.get("adapter_id")
            model = PeftModel.from_pretrained(model, adapter)
            if lora.get("merge_weights"):
                model = model.merge_and_unload()
        model.eval()

        if opts.get("torch_compile"):
            mode = opts.get("torch_compile_mode") or "default"
            # An unmerged PEFT model's generate runs the wrapped model's
            # forward (the LoRA layers live inside it), never the wrapper's.
            target = _compile_target(model)
            target.forward = torch.compile(target.forward, mode=mode)

        self.tokenizer, self.byte_tokenizer = self._tokenizer(model_ref, model.config)
        if self.byte_tokenizer:
            warnings.append("no tokenizer found for %s: prompts are encoded one token per UTF-8 byte; "
                            "prompt token ids given by llem are used as they are" % model_ref)
        if req.get("draft_model"):
            self.assistant = AutoModelForCausalLM.from_pretrained(req["draft_model"], **{dtype_key: dtype},
                                                                  device_map=load_kwargs.get("device_map"))
        self.model = model
        self.device = str(next(model.parameters()).device)
        self.gen_options = {k: opts[k] for k in ("use_cache", "cache_implementation", "prompt_lookup_num_tokens")
                            if opts.get(k) is not None}
        self.assisted = self.assistant is not None or bool(opts.get("prompt_lookup_num_tokens"))
        if self.assisted and self.gen_options.get("cache_implementation") == "static":
            raise proto.WorkerError("assisted generation (draft_model, prompt_lookup_num_tokens) does not take "
                                    "cache_implementation: static in transformers")
        from transformers import GenerationConfig
        self.gen_options.update(_generate_extras(vars(GenerationConfig()), bool(opts.get("torch_compile"))))
        proto.synchronize()
        params = sum(p.numel() for p in model.parameters())
        gpu_indices = sorted({p.device.index for p in model.parameters() if p.device.type == "cuda"})
        return {
            "load_seconds": time.perf_counter() - t0,
            "parameters": int(params),
            "weights": "random_init" if random_init else "hf",
            "device": self.device,
            "gpu_indices": gpu_indices,
            "exact_output_length": True,
            "effective": {
                "dtype": str(dtype).replace("torch.", ""),
                "device_map": load_kwargs.get("device_map"),
                "attn_implementation": getattr(model.config, "_attn_implementation", None),
                "torch_compile": bool(opts.get("torch_compile")),
                "quantization": _quantization_summary(load_kwargs.get("quantization_config")),
                "generation": self.gen_options,
                "one_prompt_at_a_time": self.assisted,
                "lora": lora,
            },
            "versions": {"transformers": transformers.__version__, "torch": torch.__version__},
            "warnings": warnings,
        }

    def _tokenizer(self, model_ref, config):
        from transformers import AutoTokenizer
        try:
            tok = AutoTokenizer.from_pretrained(model_ref)
        except Exception as exc:  # noqa: BLE001 - random-init configs ship no tokenizer
            sys.stderr.write("tokenizer for %s not loadable (%s); using bytes\n" % (model_ref, exc))
            text = _text_config(config)
            return ByteTokenizer(text.vocab_size, getattr(text, "bos_token_id", None),
                                 _first(getattr(text, "eos_token_id", None))), True
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        return tok, False

    # ---- generate -----------------------------------------------------------

    def _encode(self, prompt):
        tok = self.tokenizer
        bos = [tok.bos_token_id] if tok.bos_token_id is not None else []
        if prompt.get("tokens"):
            return bos + list(prompt["tokens"])
        if prompt.get("messages") and not self.byte_tokenizer and getattr(tok, "chat_template", None):
            return _chat_ids(tok, prompt["messages"])
        if self.byte_tokenizer:
            return bos + tok.encode(prompt.get("text") or "")
        return list(tok(prompt.get("text") or "", add_special_tokens=True)["input_ids"])

    def generate(self, body):
        params = body.get("params") or {}
        prompts = body.get("prompts") or []
        # Prompts asking for different lengths run as separate sub-batches.
        groups = {}
        for i, p in enumerate(prompts):
            n = p.get("max_new_tokens") or params.get("max_new_tokens") or 1
            groups.setdefault(n, []).append(i)
        out = [None] * len(prompts)
        for n, idx in groups.items():
            # Assisted generation decodes one sequence at a time.
            chunks = [[i] for i in idx] if self.assisted else [idx]
            for chunk in chunks:
                for i, c in zip(chunk, self._run([prompts[i] for i in chunk], n, params)):
                    out[i] = c
        return out

    def _run(self, prompts, max_new, params):
        import torch
        from transformers import LogitsProcessor, LogitsProcessorList

        tok = self.tokenizer
        pad = tok.pad_token_id if tok.pad_token_id is not None else 0
        encoded = [self._encode(p) for p in prompts]
        width = max(len(e) for e in encoded)
        ids = torch.full((len(encoded), width), pad, dtype=torch.long)
        mask = torch.zeros((len(encoded), width), dtype=torch.long)
        for r, e in enumerate(encoded):  # left padding
            ids[r, width - len(e):] = torch.tensor(e, dtype=torch.long)
            mask[r, width - len(e):] = 1
        ids, mask = ids.to(self.device), mask.to(self.device)

        steps = []
        puts = []

        class StepClock(LogitsProcessor):
            def __call__(self, input_ids, scores):
                proto.synchronize()
                steps.append(time.perf_counter())
                return scores

        try:
            from transformers.generation.streamers import BaseStreamer
        except ImportError:
            BaseStreamer = object

        class EmitClock(BaseStreamer):
            # A streamer: generate hands it the prompt, then every token it
            # emits (several at once when draft tokens are accepted).
            def put(self, value):
                proto.synchronize()
                puts.append((time.perf_counter(), int(value.numel())))

            def end(self):
                pass

        strategy = params.get("strategy") or "greedy"
        gen = dict(self.gen_options)
        gen.update(max_new_tokens=max_new, attention_mask=mask, pad_token_id=pad)
        if self.assisted:
            # The logits processor would also run for the draft model, once per
            # draft position: its times are not emission times.
            gen["streamer"] = EmitClock()
        else:
            gen["logits_processor"] = LogitsProcessorList([StepClock()])
        if params.get("ignore_eos"):
            gen["min_new_tokens"] = max_new
        elif params.get("min_new_tokens"):
            gen["min_new_tokens"] = params["min_new_tokens"]
        if strategy == "sampling":
            gen.update(do_sample=True, temperature=params.get("temperature") or 1.0,
                       top_p=params.get("top_p") or 1.0)
            if params.get("top_k"):
                gen["top_k"] = params["top_k"]
        else:
            gen["do_sample"] = False
            if strategy == "beam":
                gen["num_beams"] = params.get("num_beams") or 2
        if params.get("repetition_penalty"):
            gen["repetition_penalty"] = params["repetition_penalty"]
        if params.get("stop_sequences") and not self.byte_tokenizer:
            gen["stop_strings"] = params["stop_sequences"]
            gen["tokenizer"] = tok
        if self.assistant is not None:
            gen["assistant_model"] = self.assistant
        if params.get("seed") is not None:
            torch.manual_seed(int(params["seed"]))

        proto.synchronize()
        start = time.perf_counter()
        with torch.inference_mode():
            seqs = _sequences(self.model.generate(input_ids=ids, **gen))
        proto.synchronize()
        end = time.perf_counter()

        eos = set(_as_list(getattr(self.model.generation_config, "eos_token_id", None)))
        new = seqs[:, width:].tolist()
        if self.assisted:
            steps = _emission_times(puts)
        out = []
        for r, p in enumerate(prompts):
            row = new[r]
            n = len(row)
            finish = "length"
            if not params.get("ignore_eos"):
                for j, t in enumerate(row):
                    if t in eos:
                        n, finish = j + 1, "eos"
                        break
            row = row[:n]
            out.append({
                "prompt_id": p.get("id", ""),
                "prompt_tokens": _prompt_tokens(p, encoded[r], tok.bos_token_id),
                "output_tokens": n,
                "text": tok.decode(row) if not self.byte_tokenizer else "",
                "token_ids": row,
                "start": start,
                "token_times": steps[:n],
                "end": end,
                "finish_reason": finish,
            })
        return out

    def close(self):
        self.model = None
        self.assistant = None
        self.assisted = False
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available():
            torch.cuda.empty_cache()


# torchao quantisation names llem accepts, and the torchao config class each
# maps to (torchao 0.10+); older torchao takes the name as a string.
TORCHAO_CONFIGS = {
    "int4_weight_only": "Int4WeightOnlyConfig",
    "int8_weight_only": "Int8WeightOnlyConfig",
    "int8_dynamic_activation_int8_weight": "Int8DynamicActivationInt8WeightConfig",
    "float8_weight_only": "Float8WeightOnlyConfig",
    "float8_dynamic_activation_float8_weight": "Float8DynamicActivationFloat8WeightConfig",
}


def _torchao_config(quant_type, group_size):
    """Build transformers' TorchAoConfig for one of TORCHAO_CONFIGS."""
    if quant_type not in TORCHAO_CONFIGS:
        raise proto.WorkerError("torchao_quant_type %r is not one of %s" % (quant_type, ", ".join(sorted(TORCHAO_CONFIGS))))
    try:
        import torchao.quantization as aoq
        from transformers import TorchAoConfig
    except ImportError as exc:
        raise proto.WorkerError("torchao_quant_type needs torchao and transformers 4.47 or newer: "
                                "pip install torchao (%s)" % exc)
    kwargs = {"group_size": int(group_size)} if group_size and quant_type == "int4_weight_only" else {}
    cls = getattr(aoq, TORCHAO_CONFIGS[quant_type], None)
    if cls is not None:
        return TorchAoConfig(quant_type=cls(**kwargs))
    return TorchAoConfig(quant_type, **kwargs)


def _quantization_summary(qc):
    """What a quantization config amounts to, as plain values for results."""
    if qc is None:
        return None
    to_dict = getattr(qc, "to_dict", None)
    d = to_dict() if to_dict else {}
    out = {"method": str(d.get("quant_method", type(qc).__name__))}
    for k in ("load_in_4bit", "load_in_8bit", "bnb_4bit_quant_type", "quant_type", "quant_type_kwargs"):
        if k in d:
            out[k] = d[k] if isinstance(d[k], (int, float, str, bool, type(None))) else str(d[k])
    return out


def _dtype_keyword(version):
    """transformers 4.56 renamed from_pretrained's torch_dtype to dtype."""
    try:
        major, minor = (int(x) for x in version.split(".")[:2])
    except ValueError:
        return "dtype"
    return "dtype" if (major, minor) >= (4, 56) else "torch_dtype"


def _chat_ids(tok, messages):
    """Token ids of a chat prompt. transformers 5's apply_chat_template
    returns a BatchEncoding by default (4.x returned the ids), so ask both
    for a dict and take its input_ids."""
    enc = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True)
    ids = enc["input_ids"]
    if hasattr(ids, "tolist"):
        ids = ids.tolist()
    if ids and isinstance(ids[0], list):
        ids = ids[0]
    return list(ids)


def _generate_extras(generation_fields, compile_requested):
    """generate() keywords every call takes: plain sequences (not a
    GenerateOutput), and, where this transformers has disable_compile, no
    compile of its own (a static cache makes generate compile the forward
    pass, which would be measured as compiled while the result says
    torch_compile: false) unless torch_compile was asked for."""
    extras = {"return_dict_in_generate": False}
    if "disable_compile" in generation_fields and not compile_requested:
        extras["disable_compile"] = True
    return extras


def _sequences(out):
    """The token tensor of what generate returned, dict-style or not."""
    return getattr(out, "sequences", out)


def _text_config(config):
    """The text model's config: multimodal configs nest it (transformers 5
    raises on config.vocab_size there)."""
    get = getattr(config, "get_text_config", None)
    return get() if callable(get) else config


def _compile_target(model):
    """The module whose forward generate calls: an unmerged PEFT model's
    wrapped transformers model, else the model itself."""
    get = getattr(model, "get_base_model", None)
    if hasattr(model, "peft_config") and callable(get):
        return get()
    return model


def _emission_times(puts):
    """Per-token times from a streamer's put() calls [(time, tokens)]: the
    first put is the prompt; each later one emits its tokens at its time."""
    times = []
    for t, k in puts[1:]:
        times.extend([t] * k)
    return times


def _prompt_tokens(prompt, encoded, bos):
    """Prompt length as llem counts it: the prompt's own tokens, BOS excluded."""
    if prompt.get("tokens"):
        return len(prompt["tokens"])
    if bos is not None and encoded and encoded[0] == bos:
        return len(encoded) - 1
    return len(encoded)


def _as_list(v):
    if v is None:
        return []
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _first(v):
    lst = _as_list(v)
    return lst[0] if lst else None


if __name__ == "__main__":
    sys.exit(proto.serve(PyTorchWorker()))
