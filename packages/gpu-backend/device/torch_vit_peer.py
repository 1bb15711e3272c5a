"""The peer a user would pick instead of the backend: PyTorch's own ViTForImageClassification with the
ViT-L/16@384 configuration (random weights; only the cost matters), in float16 on the GPU, timed at each
batch size on random pixel tensors (pre-processing excluded, as a GPU-bound peer would overlap it).

Usage: torch_vit_peer.py [--batches 1,8,32,64] [--seconds 5] [--out FILE]; prints and writes JSON.
"""
import argparse
import json
import sys
import time

CEILING_IMAGES_PER_SECOND = 2587


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", default="1,8,32,64")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--out")
    args = parser.parse_args()

    import torch
    from transformers import ViTConfig, ViTForImageClassification

    if not torch.cuda.is_available():
        result = {"skipped": "torch sees no CUDA device"}
    else:
        config = ViTConfig(
            image_size=384, patch_size=16, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
            intermediate_size=4096, num_labels=1000,
        )
        torch.manual_seed(0)
        model = ViTForImageClassification(config).to("cuda", dtype=torch.float16).eval()
        rows = []
        with torch.inference_mode():
            for batch in [int(b) for b in args.batches.split(",")]:
                pixels = torch.randn(batch, 3, 384, 384, device="cuda", dtype=torch.float16)
                for _ in range(3):
                    model(pixel_values=pixels)
                torch.cuda.synchronize()
                runs = 0
                started = time.perf_counter()
                while time.perf_counter() - started < args.seconds or runs < 3:
                    model(pixel_values=pixels)
                    runs += 1
                    if runs % 4 == 0:
                        torch.cuda.synchronize()
                torch.cuda.synchronize()
                elapsed = time.perf_counter() - started
                images_per_second = runs * batch / elapsed
                rows.append({
                    "batch": batch,
                    "runs": runs,
                    "imagesPerSecond": images_per_second,
                    "msPerBatch": elapsed * 1000 / runs,
                    "ratioToCeiling": images_per_second / CEILING_IMAGES_PER_SECOND,
                })
                print(f"torch fp16 batch {batch}: {images_per_second:.0f} images/s", file=sys.stderr)
        result = {
            "torch": torch.__version__,
            "device": torch.cuda.get_device_name(0),
            "dtype": "float16",
            "rows": rows,
        }
    text = json.dumps(result, indent=2)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
