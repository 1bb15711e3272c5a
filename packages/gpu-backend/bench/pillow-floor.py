"""The floor a ViT image request is measured against: Pillow's decode, bilinear resize to 384x384 and
rescale + normalise (mean 0.5, std 0.5) to a channels-first float32 array, the Hugging Face
ViTImageProcessor's path, over the same JPEG files the backend is sent, on one thread.

Usage: pillow-floor.py <seconds> <jpeg>...   Prints one JSON line:
{"pillow": "<version>", "images": n, "cpuMsPerImage": x, "wallMsPerImage": y}
"""
import io
import json
import sys
import time

import numpy as np
from PIL import Image

SIZE = 384


def preprocess(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image = image.resize((SIZE, SIZE), resample=Image.BILINEAR)
    pixels = np.asarray(image, dtype=np.float32) * np.float32(1 / 255)
    pixels = (pixels - np.float32(0.5)) / np.float32(0.5)
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))


def main() -> None:
    seconds = float(sys.argv[1])
    files = [open(path, "rb").read() for path in sys.argv[2:]]
    if not files:
        raise SystemExit("no images given")
    for data in files:  # warm-up: first calls load codecs
        preprocess(data)
    count = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while time.perf_counter() - wall0 < seconds or count < len(files):
        preprocess(files[count % len(files)])
        count += 1
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    print(json.dumps({
        "pillow": Image.__version__,
        "images": count,
        "cpuMsPerImage": cpu * 1000 / count,
        "wallMsPerImage": wall * 1000 / count,
    }))


if __name__ == "__main__":
    main()
