"""Unit tests of the pytorch worker's pure helpers, which need neither torch
nor transformers. Run by TestWorkerHelpers with the embedded scripts on
PYTHONPATH."""

import unittest

import llem_protocol as proto
import pytorch_worker as pw


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


class Helpers(unittest.TestCase):
    def test_as_list_and_first(self):
        self.assertEqual(pw._as_list(None), [])
        self.assertEqual(pw._as_list(3), [3])
        self.assertEqual(pw._as_list([1, 2]), [1, 2])
        self.assertEqual(pw._first((7, 8)), 7)
        self.assertIsNone(pw._first(None))


if __name__ == "__main__":
    unittest.main()
