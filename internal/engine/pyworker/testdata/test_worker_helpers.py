"""Unit tests of the pytorch worker's pure helpers, which need neither torch
nor transformers. Run by TestWorkerHelpers with the embedded scripts on
PYTHONPATH."""

import unittest

import llem_protocol as proto
import pytorch_worker as pw
import tensorrt_worker as tw
import vllm_worker as vw


class DtypeKeyword(unittest.TestCase):
    def test_versions(self):
        self.assertEqual(pw._dtype_keyword("4.55.4"), "torch_dtype")
        self.assertEqual(pw._dtype_keyword("4.56.0"), "dtype")
        self.assertEqual(pw._dtype_keyword("4.57.0.dev0"), "dtype")
        self.assertEqual(pw._dtype_keyword("5.0.0rc0"), "dtype")
        self.assertEqual(pw._dtype_keyword("weird"), "dtype")


class PromptTokens(unittest.TestCase):
    def test_bos_excluded(self):
        self.assertEqual(pw._prompt_tokens({"text": "x"}, [1, 10, 11], 1), 2)
        self.assertEqual(pw._prompt_tokens({"text": "x"}, [10, 11], 1), 2)
        self.assertEqual(pw._prompt_tokens({"text": "x"}, [10, 11], None), 2)

    def test_given_tokens_counted_as_given(self):
        self.assertEqual(pw._prompt_tokens({"tokens": [5, 6, 7]}, [1, 5, 6, 7], 1), 3)


class ByteTokenizer(unittest.TestCase):
    def test_round_trip(self):
        tok = pw.ByteTokenizer(128256, 128000, 128001)
        ids = tok.encode("héllo")
        self.assertEqual(len(ids), len("héllo".encode("utf-8")))
        self.assertTrue(all(i >= 3 for i in ids))
        self.assertEqual(tok.decode(ids), "héllo")
        self.assertEqual(tok.pad_token_id, 128001)


class Torchao(unittest.TestCase):
    def test_unknown_type_is_a_worker_error(self):
        with self.assertRaises(proto.WorkerError) as cm:
            pw._torchao_config("int3_magic", None)
        self.assertIn("int4_weight_only", str(cm.exception))

    def test_missing_torchao_names_the_fix(self):
        try:
            import torchao  # noqa: F401
            self.skipTest("torchao is installed here")
        except ImportError:
            pass
        with self.assertRaises(proto.WorkerError) as cm:
            pw._torchao_config("int8_weight_only", None)
        self.assertIn("pip install torchao", str(cm.exception))


class QuantizationSummary(unittest.TestCase):
    def test_plain_values(self):
        class Fake:
            def to_dict(self):
                return {"quant_method": "torchao", "quant_type": object(), "load_in_4bit": False, "other": 1}
        got = pw._quantization_summary(Fake())
        self.assertEqual(got["method"], "torchao")
        self.assertIsInstance(got["quant_type"], str)
        self.assertNotIn("other", got)
        self.assertIsNone(pw._quantization_summary(None))


class SharedSampling(unittest.TestCase):
    def test_set_fields_only(self):
        self.assertEqual(proto.shared_sampling({}), {})
        self.assertEqual(proto.shared_sampling({"repetition_penalty": 1.1, "stop_sequences": ["\n"], "seed": "7"}),
                         {"repetition_penalty": 1.1, "stop": ["\n"], "seed": 7})
        self.assertEqual(proto.shared_sampling({"seed": 0}), {"seed": 0})


class ChatIds(unittest.TestCase):
    """apply_chat_template as transformers 4.x and 5.x answer it."""

    class Encoding(dict):
        # Iterating a BatchEncoding yields its keys: list() of v5's default
        # answer was ['input_ids', 'attention_mask'].
        pass

    def tokenizer(self, ids):
        test = self

        class Tok:
            def apply_chat_template(self, messages, add_generation_prompt=False, tokenize=True, return_dict=False, **kw):
                test.assertTrue(add_generation_prompt and tokenize and return_dict)
                return test.Encoding(input_ids=ids, attention_mask=None)
        return Tok()

    def test_input_ids_taken(self):
        msgs = [{"role": "user", "content": "hi"}]
        self.assertEqual(pw._chat_ids(self.tokenizer([1, 5, 6]), msgs), [1, 5, 6])

    def test_batched_and_tensor_forms(self):
        class T:
            def __init__(self, v):
                self.v = v

            def tolist(self):
                return self.v
        msgs = [{"role": "user", "content": "hi"}]
        self.assertEqual(pw._chat_ids(self.tokenizer([[7, 8]]), msgs), [7, 8])
        self.assertEqual(pw._chat_ids(self.tokenizer(T([[7, 9]])), msgs), [7, 9])


class LoadOptions(unittest.TestCase):
    def test_set_options_pass(self):
        got = pw._load_options({"attn_implementation": "sdpa", "device_map": None, "tp_plan": "auto"}, "5.0.0")
        self.assertEqual(got, {"attn_implementation": "sdpa", "tp_plan": "auto"})

    def test_tp_size_refused_on_5_only(self):
        self.assertEqual(pw._load_options({"tp_size": 2}, "4.57.1"), {"tp_size": 2})
        with self.assertRaises(proto.WorkerError) as cm:
            pw._load_options({"tp_size": 2}, "5.1.0")
        self.assertIn("tp_size", str(cm.exception))


class GenerateExtras(unittest.TestCase):
    def test_compile_disabled_unless_asked(self):
        fields = {"disable_compile": False, "max_new_tokens": 20}
        self.assertEqual(pw._generate_extras(fields, False), {"return_dict_in_generate": False, "disable_compile": True})
        self.assertEqual(pw._generate_extras(fields, True), {"return_dict_in_generate": False})

    def test_older_transformers_without_the_field(self):
        # generate() refuses keywords its GenerationConfig does not know.
        self.assertEqual(pw._generate_extras({"max_new_tokens": 20}, False), {"return_dict_in_generate": False})

    def test_sequences(self):
        class Out:
            sequences = "seqs"
        self.assertEqual(pw._sequences(Out()), "seqs")
        self.assertEqual(pw._sequences("tensor"), "tensor")


class Configs(unittest.TestCase):
    def test_text_config(self):
        class Text:
            vocab_size = 151936

        class Nested:
            def get_text_config(self):
                return Text()

        class Flat:
            vocab_size = 128256
        self.assertEqual(pw._text_config(Nested()).vocab_size, 151936)
        self.assertEqual(pw._text_config(Flat()).vocab_size, 128256)

    def test_compile_target(self):
        class Inner:
            pass
        inner = Inner()

        class Peft:
            peft_config = {"default": None}

            def get_base_model(self):
                return inner

        class Plain:
            pass
        plain = Plain()
        self.assertIs(pw._compile_target(Peft()), inner)
        self.assertIs(pw._compile_target(plain), plain)


class EmissionTimes(unittest.TestCase):
    def test_prompt_skipped_and_accepted_drafts_share_a_time(self):
        # prompt (12 tokens), 1 token, 3 accepted draft tokens + 1, 1 token
        puts = [(0.0, 12), (0.5, 1), (0.7, 4), (0.8, 1)]
        self.assertEqual(pw._emission_times(puts), [0.5, 0.7, 0.7, 0.7, 0.7, 0.8])
        self.assertEqual(pw._emission_times([(0.0, 5)]), [])
        self.assertEqual(pw._emission_times([]), [])


class VLLMAttentionBackend(unittest.TestCase):
    def test_engine_argument_where_vllm_has_it(self):
        self.assertEqual(vw._attention_backend("FLASHINFER", {"model", "attention_backend"}),
                         ({"attention_backend": "FLASHINFER"}, {}))

    def test_environment_before(self):
        self.assertEqual(vw._attention_backend("XFORMERS", {"model"}), ({}, {"VLLM_ATTENTION_BACKEND": "XFORMERS"}))


class VLLMSpeculative(unittest.TestCase):
    def test_method_named(self):
        self.assertEqual(vw._speculative_config("m/draft"),
                         {"method": "draft_model", "model": "m/draft", "num_speculative_tokens": 5})


class VLLMEffective(unittest.TestCase):
    class NS:
        def __init__(self, **kw):
            self.__dict__.update(kw)

    def test_v1_vllm_config(self):
        ns = self.NS
        cfg = ns(scheduler_config=ns(max_num_seqs=256, max_num_batched_tokens=8192),
                 cache_config=ns(gpu_memory_utilization=0.9, block_size=16, cache_dtype="auto", enable_prefix_caching=True),
                 model_config=ns(max_model_len=4096, enforce_eager=False),
                 parallel_config=ns(tensor_parallel_size=1))
        got = vw._engine_effective(ns(vllm_config=cfg))
        self.assertEqual(got["max_num_seqs"], 256)
        self.assertEqual(got["kv_cache_dtype"], "auto")
        self.assertEqual(got["tensor_parallel_size"], 1)
        self.assertEqual(len(got), len(vw.EFFECTIVE_FIELDS))

    def test_older_engine_attributes_and_gaps(self):
        ns = self.NS
        got = vw._engine_effective(ns(model_config=ns(max_model_len=2048), cache_config=ns(block_size=32)))
        self.assertEqual(got, {"max_model_len": 2048, "block_size": 32})
        self.assertEqual(vw._engine_effective(None), {})


class TensorRTLLMClass(unittest.TestCase):
    class Mod:
        def __init__(self, llm):
            self.LLM = llm

    def test_engine_llm_from_1_0(self):
        mods = {"tensorrt_llm._tensorrt_engine": self.Mod("trt-engine"), "tensorrt_llm": self.Mod("pytorch")}
        self.assertEqual(tw._llm_class(lambda name: mods[name]), "trt-engine")

    def test_plain_llm_before(self):
        def imp(name):
            if name == "tensorrt_llm._tensorrt_engine":
                raise ImportError(name)
            return self.Mod("trt-0.x")
        self.assertEqual(tw._llm_class(imp), "trt-0.x")


class Helpers(unittest.TestCase):
    def test_as_list_and_first(self):
        self.assertEqual(pw._as_list(None), [])
        self.assertEqual(pw._as_list(3), [3])
        self.assertEqual(pw._as_list([1, 2]), [1, 2])
        self.assertEqual(pw._first((7, 8)), 7)
        self.assertIsNone(pw._first(None))


if __name__ == "__main__":
    unittest.main()
