#!/usr/bin/env python3
"""Export the real checkpoints that the GPU backend serves to ONNX, and prove the exports right.

Writes, under --out (default ./models):

    align-base/
      config.json                 the checkpoint's config + "temperature" (the LEARNED value)
      preprocessor_config.json    EfficientNetImageProcessor config of the checkpoint
      tokenizer.json tokenizer_config.json special_tokens_map.json vocab.txt
      onnx/vision_model.onnx      pixel_values[B,3,289,289] f32 -> image_embeds[B,640] (get_image_features)
      onnx/text_model.onnx        input_ids, attention_mask, token_type_ids [B,L] i64 -> text_embeds[B,640]
      onnx/vision_model_fp16.onnx onnx/text_model_fp16.onnx   float16 weights, float32 inputs/outputs
    vit-large-patch16-384/
      config.json (id2label)  preprocessor_config.json
      onnx/model.onnx             pixel_values[B,3,384,384] f32 -> logits[B,1000]
      onnx/model_fp16.onnx
    export-report.json            versions, checks and their measured differences

Every export is checked with onnxruntime against PyTorch on real inputs (max abs diff printed; the run
fails above the tolerance), and ALIGN end to end against the reference of the transformers test-suite:
COCO val2017 000000039769.jpg with ["a photo of a cat", "a photo of a dog"] -> logits ~ [[9.7093, 3.4679]].

Float16 files are verified only where onnxruntime has the CUDA execution provider (install
onnxruntime-gpu instead of onnxruntime): the CPU provider has no float16 kernels for these graphs.

Usage: python export.py --out ../../../models            (see README.md beside this file)
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import shutil
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import onnx
import onnxruntime as ort
import torch
import transformers
from huggingface_hub import hf_hub_download
from PIL import Image
from torch import nn

ALIGN_REPO = "kakaobrain/align-base"
VIT_REPO = "kakaobrain/vit-large-patch16-384"
COCO_URL = "http://images.cocodataset.org/val2017/000000039769.jpg"
ALIGN_REFERENCE_TEXTS = ["a photo of a cat", "a photo of a dog"]
ALIGN_REFERENCE_LOGITS = np.array([[9.7093, 3.4679]], dtype=np.float32)
# The transformers test-suite holds PyTorch to 1e-3 on these logits; ONNX adds float32 reordering error.
ALIGN_REFERENCE_ATOL = {"fp32": 1e-2, "fp16": 1.5e-1}
OPSET = 17  # LayerNormalization is a single op from opset 17; onnxruntime-node 1.30 loads 13-26.


class CheckFailed(RuntimeError):
    """An exported graph disagrees with PyTorch or with the published reference."""


@dataclass
class Report:
    """What was exported and how closely each graph matches PyTorch; written as export-report.json."""

    versions: dict[str, str]
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)

    def record(self, **check: Any) -> None:
        self.checks.append(check)
        status = "ok" if check["passed"] else "FAILED"
        detail = ", ".join(f"{k}={v}" for k, v in check.items() if k not in ("name", "passed"))
        print(f"  [{status}] {check['name']}: {detail}", flush=True)


# ---------------------------------------------------------------------------------------------------
# Export wrappers: each exposes exactly the graph the backend runs, with the input/output names of the
# transformers.js / Optimum convention the server reads.
# ---------------------------------------------------------------------------------------------------


class SpatialMean(nn.Module):
    """Replaces AlignVisionModel's pooler for export.

    The checkpoint pools with nn.AvgPool2d(kernel_size=hidden_dim=2560, ceil_mode=True) over a 9x9 map:
    PyTorch clips the window to the input and divides by 81, i.e. a plain spatial mean. Exported
    literally that becomes an AveragePool with a 2560x2560 kernel whose divisor under count_include_pad
    differs between runtimes. The mean is the same function, stated so no runtime can read it otherwise;
    export_align() asserts the equality on the real weights before exporting.
    """

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return hidden_states.mean(dim=(2, 3), keepdim=True)


class AlignVisionTower(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.model.get_image_features(pixel_values=pixel_values)


class AlignTextTower(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        return self.model.get_text_features(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )


class VitClassifier(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.model(pixel_values=pixel_values).logits


# ---------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------


def fetch_file(source: str, filename: str, revision: str | None, dest: Path) -> Path:
    """Copies one published file of a checkpoint (hub id or local directory) to dest, byte for byte."""
    local = Path(source)
    src = local / filename if local.is_dir() else Path(hf_hub_download(source, filename, revision=revision))
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return dest


def load_coco_image(path: str | None) -> Image.Image:
    """The reference image of the transformers ALIGN test: a local copy, or downloaded from COCO."""
    if path:
        data = Path(path).read_bytes()
    else:
        with urllib.request.urlopen(COCO_URL, timeout=60) as response:  # noqa: S310 (a fixed, known URL)
            data = response.read()
    return Image.open(io.BytesIO(data)).convert("RGB")


def export_onnx(
    module: nn.Module,
    args: tuple[torch.Tensor, ...],
    path: Path,
    input_names: list[str],
    output_name: str,
    dynamic: dict[str, dict[int, str]],
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with torch.no_grad():
        torch.onnx.export(
            module,
            args,
            str(path),
            input_names=input_names,
            output_names=[output_name],
            dynamic_axes=dynamic,
            opset_version=OPSET,
            do_constant_folding=True,
        )
    onnx.checker.check_model(str(path))
    size_mb = path.stat().st_size / 1e6
    print(f"  exported {path} ({size_mb:.1f} MB, {time.perf_counter() - started:.1f} s)", flush=True)


def convert_fp16(src: Path, dest: Path, model_type: str | None, num_heads: int, hidden_size: int, fuse: bool) -> None:
    """Float16 weights and compute, float32 graph inputs/outputs (keep_io_types), for the CUDA provider.

    Transformer towers first get onnxruntime's offline fusions (Attention, SkipLayerNormalization,
    BiasGelu), the documented recipe for float16 BERT/ViT on GPUs; convolutional graphs convert as-is.
    Keeping float32 I/O lets the server feed the same tensors to either file.
    """
    from onnxruntime.transformers.onnx_model import OnnxModel
    from onnxruntime.transformers.optimizer import optimize_model

    if model_type is not None and fuse:
        optimized = optimize_model(
            str(src), model_type=model_type, num_heads=num_heads, hidden_size=hidden_size, opt_level=0
        )
        print(f"  fused operators: {optimized.get_fused_operator_statistics()}", flush=True)
    else:
        optimized = OnnxModel(onnx.load(str(src)))
    optimized.convert_float_to_float16(keep_io_types=True)
    optimized.save_model_to_file(str(dest))
    onnx.checker.check_model(str(dest))
    print(f"  exported {dest} ({dest.stat().st_size / 1e6:.1f} MB)", flush=True)


def ort_session(path: Path, precision: str) -> ort.InferenceSession | None:
    """A session to verify one file; None when this onnxruntime cannot run it (float16 without CUDA)."""
    available = ort.get_available_providers()
    if precision == "fp16":
        if "CUDAExecutionProvider" not in available:
            return None
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    else:
        providers = ["CPUExecutionProvider"]
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=providers)


def compare(
    report: Report, name: str, reference: np.ndarray, actual: np.ndarray, atol: float, rtol: float
) -> None:
    """Elementwise |actual - reference| <= atol + rtol * |reference|, with the max abs diff printed."""
    if actual.shape != reference.shape:
        report.record(name=name, passed=False, shape=list(actual.shape), expected_shape=list(reference.shape))
        return
    diff = np.abs(actual.astype(np.float64) - reference.astype(np.float64))
    bound = atol + rtol * np.abs(reference.astype(np.float64))
    report.record(
        name=name,
        passed=bool(np.all(diff <= bound)),
        shape=list(actual.shape),
        max_abs_diff=float(diff.max()),
        max_abs_reference=float(np.abs(reference).max()),
        atol=atol,
        rtol=rtol,
    )


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return np.sum(a * b, axis=-1)


TOLERANCE = {"fp32": (1e-3, 1e-3), "fp16": (5e-2, 5e-2)}
MIN_COSINE = {"fp32": 0.99999, "fp16": 0.999}


def check_against_torch(
    report: Report,
    name: str,
    path: Path,
    precision: str,
    feeds: dict[str, np.ndarray],
    reference: np.ndarray,
    extra: Callable[[np.ndarray], None] | None = None,
) -> np.ndarray | None:
    session = ort_session(path, precision)
    if session is None:
        report.record(name=f"{name} [{precision}] vs PyTorch", passed=True, skipped="no CUDA execution provider")
        return None
    (actual,) = session.run(None, feeds)
    atol, rtol = TOLERANCE[precision]
    compare(report, f"{name} [{precision}] vs PyTorch", reference, actual, atol, rtol)
    cos = cosine_rows(reference, actual)
    report.record(
        name=f"{name} [{precision}] cosine to PyTorch",
        passed=bool(cos.min() >= MIN_COSINE[precision]),
        min_cosine=float(cos.min()),
        bound=MIN_COSINE[precision],
    )
    if extra is not None:
        extra(actual)
    return actual


def require(report: Report) -> None:
    failed = [c["name"] for c in report.checks if not c["passed"]]
    if failed:
        raise CheckFailed("checks failed: " + "; ".join(failed))


# ---------------------------------------------------------------------------------------------------
# ALIGN
# ---------------------------------------------------------------------------------------------------


def export_align(args: argparse.Namespace, out: Path, image: Image.Image, report: Report) -> None:
    from transformers import AlignModel, AlignProcessor

    print(f"== {ALIGN_REPO}", flush=True)
    root = out / "align-base"
    onnx_dir = root / "onnx"
    model = AlignModel.from_pretrained(
        args.align_source, revision=args.align_revision, attn_implementation="eager"
    ).eval()
    processor = AlignProcessor.from_pretrained(args.align_source, revision=args.align_revision)
    temperature = float(model.temperature.item())
    text_cfg, vision_cfg = model.config.text_config, model.config.vision_config
    print(f"  learned temperature = {temperature:.6f} (config initial value {model.config.temperature_init_value})")

    # Reference inputs exactly as the transformers integration test builds them (padding to 64), plus a
    # second, shorter-padded batch and a second image so the dynamic axes are exercised.
    inputs = processor(images=image, text=ALIGN_REFERENCE_TEXTS, return_tensors="pt")
    pixel_values = torch.cat([inputs["pixel_values"], torch.flip(inputs["pixel_values"], dims=[3])], dim=0)
    texts = [*ALIGN_REFERENCE_TEXTS, "two cats sleeping on a pink blanket next to remote controls"]
    tokens = processor.tokenizer(texts, padding="longest", truncation=True, max_length=64, return_tensors="pt")
    text_feeds = {k: tokens[k] for k in ("input_ids", "attention_mask", "token_type_ids")}

    with torch.no_grad():
        reference = model(**inputs)
        torch_logits = reference.logits_per_image.numpy()
        torch_image = model.get_image_features(pixel_values=pixel_values).numpy()
        torch_text_ref = model.get_text_features(
            **{k: inputs[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
        ).numpy()
        torch_text = model.get_text_features(**text_feeds).numpy()
    print(f"  PyTorch logits_per_image = {np.round(torch_logits, 4).tolist()}")

    # The pooler replacement must be the same function on these weights, or the export is wrong.
    original_pooler = model.vision_model.pooler
    model.vision_model.pooler = SpatialMean()
    with torch.no_grad():
        patched = model.get_image_features(pixel_values=pixel_values).numpy()
    compare(report, "align vision: spatial mean == AvgPool2d(2560, ceil_mode)", torch_image, patched, 1e-5, 1e-5)
    require(report)

    vision_path = onnx_dir / "vision_model.onnx"
    text_path = onnx_dir / "text_model.onnx"
    export_onnx(
        AlignVisionTower(model).eval(),
        (pixel_values,),
        vision_path,
        ["pixel_values"],
        "image_embeds",
        {"pixel_values": {0: "batch_size"}, "image_embeds": {0: "batch_size"}},
    )
    export_onnx(
        AlignTextTower(model).eval(),
        (text_feeds["input_ids"], text_feeds["attention_mask"], text_feeds["token_type_ids"]),
        text_path,
        ["input_ids", "attention_mask", "token_type_ids"],
        "text_embeds",
        {
            "input_ids": {0: "batch_size", 1: "sequence_length"},
            "attention_mask": {0: "batch_size", 1: "sequence_length"},
            "token_type_ids": {0: "batch_size", 1: "sequence_length"},
            "text_embeds": {0: "batch_size"},
        },
    )
    model.vision_model.pooler = original_pooler

    precisions = ["fp32"]
    if not args.no_fp16:
        precisions.append("fp16")
        convert_fp16(vision_path, onnx_dir / "vision_model_fp16.onnx", None, 0, 0, args.fp16_fusion)
        convert_fp16(
            text_path,
            onnx_dir / "text_model_fp16.onnx",
            "bert",
            text_cfg.num_attention_heads,
            text_cfg.hidden_size,
            args.fp16_fusion,
        )

    # Published files, byte for byte, then the learned temperature that the server needs for logits.
    for name in ("config.json", "preprocessor_config.json"):
        fetch_file(args.align_source, name, args.align_revision, root / name)
    processor.tokenizer.save_pretrained(str(root))  # tokenizer.json (fast), tokenizer_config.json, vocab
    config = json.loads((root / "config.json").read_text())
    config["temperature"] = temperature
    (root / "config.json").write_text(json.dumps(config, indent=2) + "\n")

    if args.skip_verify:
        return
    for precision in precisions:
        suffix = "" if precision == "fp32" else "_fp16"
        image_embeds = check_against_torch(
            report,
            "align vision",
            onnx_dir / f"vision_model{suffix}.onnx",
            precision,
            {"pixel_values": pixel_values.numpy()},
            torch_image,
        )
        check_against_torch(
            report,
            "align text (padded to longest)",
            onnx_dir / f"text_model{suffix}.onnx",
            precision,
            {k: v.numpy() for k, v in text_feeds.items()},
            torch_text,
        )
        ref_text = check_against_torch(
            report,
            "align text (padded to 64)",
            onnx_dir / f"text_model{suffix}.onnx",
            precision,
            {k: inputs[k].numpy() for k in ("input_ids", "attention_mask", "token_type_ids")},
            torch_text_ref,
        )
        if image_embeds is None or ref_text is None:
            continue
        img = image_embeds[:1] / np.linalg.norm(image_embeds[:1], axis=-1, keepdims=True)
        txt = ref_text / np.linalg.norm(ref_text, axis=-1, keepdims=True)
        logits = (img @ txt.T) / temperature
        print(f"  ONNX [{precision}] logits_per_image = {np.round(logits, 4).tolist()}")
        compare(
            report,
            f"align [{precision}] COCO 39769 logits vs transformers reference",
            ALIGN_REFERENCE_LOGITS,
            logits.astype(np.float32),
            ALIGN_REFERENCE_ATOL[precision],
            0.0,
        )

    report.models["align-base"] = {
        "source": args.align_source,
        "revision": args.align_revision,
        "temperature": temperature,
        "files": sorted(str(p.relative_to(out)) for p in root.rglob("*") if p.is_file()),
    }


# ---------------------------------------------------------------------------------------------------
# ViT
# ---------------------------------------------------------------------------------------------------


def export_vit(args: argparse.Namespace, out: Path, image: Image.Image, report: Report) -> None:
    from transformers import AutoImageProcessor, ViTForImageClassification

    print(f"== {VIT_REPO}", flush=True)
    root = out / "vit-large-patch16-384"
    onnx_dir = root / "onnx"
    model = ViTForImageClassification.from_pretrained(
        args.vit_source, revision=args.vit_revision, attn_implementation="eager"
    ).eval()
    image_processor = AutoImageProcessor.from_pretrained(args.vit_source, revision=args.vit_revision)
    cfg = model.config
    print(
        f"  layers={cfg.num_hidden_layers} hidden={cfg.hidden_size} heads={cfg.num_attention_heads} "
        f"mlp={cfg.intermediate_size} patch={cfg.patch_size} image={cfg.image_size} labels={cfg.num_labels}"
    )
    pixel_values = image_processor(images=[image, image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)], return_tensors="pt")[
        "pixel_values"
    ]
    with torch.no_grad():
        torch_logits = model(pixel_values=pixel_values).logits.numpy()

    model_path = onnx_dir / "model.onnx"
    export_onnx(
        VitClassifier(model).eval(),
        (pixel_values,),
        model_path,
        ["pixel_values"],
        "logits",
        {"pixel_values": {0: "batch_size"}, "logits": {0: "batch_size"}},
    )
    precisions = ["fp32"]
    if not args.no_fp16:
        precisions.append("fp16")
        convert_fp16(
            model_path, onnx_dir / "model_fp16.onnx", "vit", cfg.num_attention_heads, cfg.hidden_size, args.fp16_fusion
        )
    for name in ("config.json", "preprocessor_config.json"):
        fetch_file(args.vit_source, name, args.vit_revision, root / name)

    top5 = [cfg.id2label[int(i)] for i in np.argsort(-torch_logits[0])[:5]]
    print(f"  PyTorch top-5 for COCO 39769: {top5}")
    if not any("cat" in label.lower() for label in top5):
        print("  warning: no cat label in the top-5 of a photo of two cats; check the checkpoint", flush=True)

    if not args.skip_verify:

        def same_top1(actual: np.ndarray) -> None:
            report.record(
                name="vit top-1 equals PyTorch",
                passed=bool(np.array_equal(actual.argmax(-1), torch_logits.argmax(-1))),
                onnx=actual.argmax(-1).tolist(),
                torch=torch_logits.argmax(-1).tolist(),
            )

        for precision in precisions:
            suffix = "" if precision == "fp32" else "_fp16"
            check_against_torch(
                report,
                "vit logits",
                onnx_dir / f"model{suffix}.onnx",
                precision,
                {"pixel_values": pixel_values.numpy()},
                torch_logits,
                same_top1,
            )

    report.models["vit-large-patch16-384"] = {
        "source": args.vit_source,
        "revision": args.vit_revision,
        "top5_coco_39769": top5,
        "files": sorted(str(p.relative_to(out)) for p in root.rglob("*") if p.is_file()),
    }


# ---------------------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("models"), help="models folder to write (default ./models)")
    parser.add_argument("--only", choices=["align", "vit"], help="export one model only")
    parser.add_argument("--align-source", default=ALIGN_REPO, help="hub id or local checkpoint directory")
    parser.add_argument("--align-revision", default=None, help="hub revision (commit sha) to pin")
    parser.add_argument("--vit-source", default=VIT_REPO, help="hub id or local checkpoint directory")
    parser.add_argument("--vit-revision", default=None, help="hub revision (commit sha) to pin")
    parser.add_argument("--coco-image", default=None, help=f"local copy of {COCO_URL} (else downloaded)")
    parser.add_argument("--no-fp16", action="store_true", help="skip the *_fp16.onnx files")
    parser.add_argument(
        "--fp16-fusion",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="apply onnxruntime transformer fusions before the float16 conversion (default on)",
    )
    parser.add_argument("--skip-verify", action="store_true", help="export only, no onnxruntime checks")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    torch.set_grad_enabled(False)
    report = Report(
        versions={
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": ort.__version__,
            "onnxruntime_providers": ",".join(ort.get_available_providers()),
            "opset": str(OPSET),
        }
    )
    print(json.dumps(report.versions), flush=True)
    image = load_coco_image(args.coco_image)
    try:
        if args.only in (None, "align"):
            export_align(args, out, image, report)
        if args.only in (None, "vit"):
            export_vit(args, out, image, report)
    finally:
        (out / "export-report.json").write_text(json.dumps(report.__dict__, indent=2) + "\n")
    try:
        require(report)
    except CheckFailed as error:
        print(f"export FAILED: {error}", file=sys.stderr)
        return 1
    skipped = sum(1 for c in report.checks if "skipped" in c)
    print(f"export ok: {len(report.checks) - skipped} checks passed, {skipped} skipped -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
