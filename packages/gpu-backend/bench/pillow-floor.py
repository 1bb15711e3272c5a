"""The floor a ViT image request is measured against: Pillow's decode, bilinear resize to 384x384 and
rescale + normalise (mean 0.5, std 0.5) to a channels-first float32 array, the Hugging Face
ViTImageProcessor's path, over the same JPEG files the backend is sent, on one thread.

Usage: pillow-floor.py [--stages] <seconds> <jpeg>...   Prints one JSON line:
{"pillow": "<version>", "images": n, "cpuMsPerImage": x, "wallMsPerImage": y}
With --stages, each image's stages are timed apart (process CPU, one call at a time) and the line also
holds "stages": {"decodeMs", "resizeMs", "normaliseMs"} per image.
"""
import io
import json
import sys
import time

import numpy as np
from PIL import Image

SIZE = 384


def decode(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def resize(image: Image.Image) -> Image.Image:
    return image.resize((SIZE, SIZE), resample=Image.BILINEAR)


def normalise(image: Image.Image) -> np.ndarray:
    pixels = np.asarray(image, dtype=np.float32) * np.float32(1 / 255)
    pixels = (pixels - np.float32(0.5)) / np.float32(0.5)
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))


def preprocess(data: bytes) -> np.ndarray:
    return normalise(resize(decode(data)))


def stages(files: list, seconds: float) -> dict:
    """CPU ms per image of each stage, timed call by call over the same images."""
    spent = [0.0, 0.0, 0.0]
    count = 0
    clock = time.process_time
    wall0 = time.perf_counter()
    while time.perf_counter() - wall0 < seconds or count < len(files):
        t0 = clock()
        image = decode(files[count % len(files)])
        t1 = clock()
        image = resize(image)
        t2 = clock()
        normalise(image)
        t3 = clock()
        spent[0] += t1 - t0
        spent[1] += t2 - t1
        spent[2] += t3 - t2
        count += 1
    decode_ms, resize_ms, normalise_ms = (s * 1000 / count for s in spent)
    return {"images": count, "decodeMs": decode_ms, "resizeMs": resize_ms, "normaliseMs": normalise_ms}


def main() -> None:
    args = sys.argv[1:]
    with_stages = bool(args) and args[0] == "--stages"
    if with_stages:
        args = args[1:]
    seconds = float(args[0])
    files = [open(path, "rb").read() for path in args[1:]]
    if not files:
        raise SystemExit("no images given")
    for data in files:  # warm-up: first calls load codecs
        preprocess(data)
    if with_stages:
        print(json.dumps({"pillow": Image.__version__, "stages": stages(files, seconds)}))
        return
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
