"""`bench:gpu`: the GPU procedure of the device pack, run from the pack's folder (`sh bench-gpu.sh`) on a
Linux x64 host with an NVIDIA GPU, Python 3 and no network. In this order, each step bounded in time:

1. unpacks coyo-device.tar.xz (Node, the one-file backend, its native libraries, the bench);
2. probes the host: nvidia-smi, the Vulkan loader (unpacks the pack's libvulkan1 .deb when the host has
   none) and the NVIDIA Vulkan ICD for the WebGPU execution provider, onnxruntime's CUDA provider library;
   picks the device: cuda when its provider library is there, else webgpu when a Vulkan ICD is, else cpu;
3. smoke-tests the backend on the pack's test models;
4. generates the faithful ViT-L/16@384, BERT-base and EfficientNet-B7 graphs (random weights) with the
   pack's generator, and runs ViT classification through the real backend on that device at concurrency
   1/8/32/64/128 (the bench's JSON: images/s, latency, mean batch size);
5. runs PyTorch's ViTForImageClassification (ViT-L/16@384 config, fp16) at batch 1/8/32/64 beside it;
6. writes results/bench-gpu.json and results/bench-gpu.md (images/s and the ratio to the 2,587 images/s
   FLOP ceiling of an H100-class GPU).

The export path (export.py on randomly initialised AlignModel / ViTForImageClassification) is not run
here: export.py reads hub checkpoints, which this host cannot download.
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PAYLOAD = "coyo-device.tar.xz"
CEILING_IMAGES_PER_SECOND = 2587
NVIDIA_ICD = "/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json"
ICD_CANDIDATES = [NVIDIA_ICD, "/usr/share/vulkan/icd.d/nvidia_icd.json", "/etc/vulkan/icd.d/nvidia_icd.json"]


def log(message: str) -> None:
    print(f"[bench:gpu {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(argv, env=None, timeout=None, cwd=None):
    """Runs argv; returns (exit code, stdout + stderr tail). Never raises on failure or timeout."""
    try:
        proc = subprocess.run(argv, env=env, cwd=cwd, timeout=timeout, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return proc.returncode, proc.stdout[-20000:]
    except subprocess.TimeoutExpired as error:
        out = error.stdout or ""
        if isinstance(out, bytes):
            out = out.decode("utf-8", "replace")
        return 124, out[-20000:] + f"\n(timed out after {timeout} s)"
    except OSError as error:
        return 127, str(error)


def unpack(work: str) -> str:
    app = os.path.join(work, "app")
    marker = os.path.join(app, ".unpacked")
    if not os.path.exists(marker):
        shutil.rmtree(app, ignore_errors=True)
        os.makedirs(work, exist_ok=True)
        with tarfile.open(os.path.join(HERE, PAYLOAD), "r:xz") as tar:
            tar.extractall(work)
        os.chmod(os.path.join(app, "bin", "node"), 0o755)
        open(marker, "w").close()
    return app


def deb_data(deb: str, dest: str) -> None:
    """Extracts a .deb's data archive (an `ar` file holding data.tar.*) into dest, without dpkg."""
    with open(deb, "rb") as f:
        if f.read(8) != b"!<arch>\n":
            raise ValueError(f"{deb} is not a Debian package")
        while True:
            header = f.read(60)
            if len(header) < 60:
                break
            name = header[:16].decode().strip().rstrip("/")
            size = int(header[48:58].decode().strip())
            data = f.read(size)
            if size % 2:
                f.read(1)
            if name.startswith("data.tar"):
                path = os.path.join(dest, name)
                os.makedirs(dest, exist_ok=True)
                with open(path, "wb") as out:
                    out.write(data)
                with tarfile.open(path) as tar:
                    tar.extractall(dest)
                return
    raise ValueError(f"{deb} has no data archive")


def has_vulkan_loader() -> bool:
    import ctypes

    try:
        ctypes.CDLL("libvulkan.so.1")
        return True
    except OSError:
        return False


def probe(work: str, app: str, env: dict) -> dict:
    found = {"python": platform.python_version()}
    code, out = run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"], timeout=30)
    found["nvidiaSmi"] = out.strip() if code == 0 else f"unavailable ({out.strip()[:200]})"
    found["cpus"] = os.cpu_count()
    if has_vulkan_loader():
        found["vulkanLoader"] = "host"
    else:
        debs = [f for f in os.listdir(HERE) if f.startswith("libvulkan1_") and f.endswith(".deb")]
        if debs:
            root = os.path.join(work, "vulkan")
            deb_data(os.path.join(HERE, debs[0]), root)
            lib = os.path.join(root, "usr", "lib", "x86_64-linux-gnu")
            env["LD_LIBRARY_PATH"] = lib + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
            found["vulkanLoader"] = f"pack ({debs[0]})"
        else:
            found["vulkanLoader"] = "missing"
    icd = next((p for p in ICD_CANDIDATES if os.path.exists(p)), None)
    found["vulkanIcd"] = icd or "missing"
    if icd:
        env["VK_ICD_FILENAMES"] = icd
    env.setdefault("XDG_RUNTIME_DIR", os.path.join(work, "xdg"))
    os.makedirs(env["XDG_RUNTIME_DIR"], exist_ok=True)
    ort_bin = os.path.join(app, "node_modules", "onnxruntime-node", "bin", "napi-v6", "linux", "x64")
    cuda = os.path.join(ort_bin, "libonnxruntime_providers_cuda.so")
    found["ortCudaProvider"] = cuda if os.path.exists(cuda) else "missing (not on npm; the CUDA provider is not used)"
    if os.path.exists(cuda):
        found["device"] = "cuda"
    elif icd and found["vulkanLoader"] != "missing":
        found["device"] = "webgpu"
    else:
        found["device"] = "cpu"
    return found


def markdown(result: dict) -> str:
    lines = ["# bench:gpu", "", f"host: {result['probe'].get('nvidiaSmi')}; device {result['probe'].get('device')}; {result['probe'].get('cpus')} CPUs", ""]
    backend = result.get("backend") or {}
    cells = [c for c in backend.get("cells", []) if c.get("server") == "coyo"]
    if cells:
        lines += ["| workload | batching | concurrency | items/s | p50 ms | p99 ms | mean batch | ratio to 2,587 |", "|---|---|---:|---:|---:|---:|---:|---:|"]
        for c in cells:
            ratio = c["itemsPerSecond"] / CEILING_IMAGES_PER_SECOND if c["workload"] == "vit" else None
            batch = "–" if c.get("meanBatchSize") is None else f"{c['meanBatchSize']:.1f}"
            lines.append(
                f"| {c['workload']} | {c['batching']} | {c['concurrency']} | {c['itemsPerSecond']:.0f} | {c['latencyMs']['p50']:.1f} | "
                f"{c['latencyMs']['p99']:.1f} | {batch} | {'–' if ratio is None else f'{ratio:.3f}'} |"
            )
    else:
        lines.append(f"backend: {result.get('backendError', 'not run')}")
    torch_rows = (result.get("torch") or {}).get("rows", [])
    if torch_rows:
        lines += ["", f"PyTorch {result['torch'].get('torch')} ViTForImageClassification fp16 on {result['torch'].get('device')}:", "",
                  "| batch | images/s | ms/batch | ratio to 2,587 |", "|---:|---:|---:|---:|"]
        for r in torch_rows:
            lines.append(f"| {r['batch']} | {r['imagesPerSecond']:.0f} | {r['msPerBatch']:.1f} | {r['ratioToCeiling']:.3f} |")
    else:
        lines.append(f"torch peer: {(result.get('torch') or {}).get('skipped', 'not run')}")
    lines += ["", f"export: {result.get('export')}", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default=os.path.join(HERE, "work"))
    parser.add_argument("--concurrency", default="1,8,32,64,128")
    parser.add_argument("--duration", type=int, default=6, help="seconds per bench cell")
    parser.add_argument("--device", choices=["auto", "cuda", "webgpu", "cpu"], help="override the probe's choice")
    parser.add_argument("--skip-torch", action="store_true")
    parser.add_argument("--smoke-only", action="store_true", help="stop after the test-model smoke run")
    args = parser.parse_args()

    started = time.time()
    work = os.path.abspath(args.work)
    results_dir = os.path.join(work, "results")
    os.makedirs(results_dir, exist_ok=True)
    result = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "export": "not run: export.py reads hub checkpoints, which this host cannot download"}

    log("unpacking")
    app = unpack(work)
    node = os.path.join(app, "bin", "node")
    lib = os.path.join(app, "lib", "bin")
    env = dict(os.environ)
    result["probe"] = probe(work, app, env)
    device = args.device or result["probe"]["device"]
    result["device"] = device
    log(f"probe: {json.dumps(result['probe'])}")
    env["COYO_BENCH_BACKEND_FILE"] = os.path.join(lib, "backend.mjs")

    log("smoke run on the test models")
    smoke_out = os.path.join(results_dir, "smoke.json")
    code, out = run([node, os.path.join(lib, "bench.mjs"), "--models", os.path.join(app, "models-test"), "--device", device,
                     "--workloads", "vit,text", "--concurrency", "8", "--duration", "2", "--no-peer", "--no-cpu", "--no-replicas",
                     "--no-batch1", "--out", smoke_out], env=env, timeout=180)
    result["smoke"] = {"exit": code, "tail": out[-3000:]}
    print(out[-3000:], file=sys.stderr)

    if not args.smoke_only:
        models = os.path.join(work, "models-bench")
        log("generating the faithful models")
        code, out = run([node, os.path.join(lib, "gen-models.mjs"), "--out", models, "--no-check"], env=env, timeout=300)
        result["generate"] = {"exit": code, "seconds": round(time.time() - started), "tail": out[-2000:]}
        if code == 0:
            log("benchmarking the backend")
            backend_out = os.path.join(results_dir, "backend.json")
            code, out = run([node, os.path.join(lib, "bench.mjs"), "--faithful", "--models", models, "--device", device,
                             "--workloads", "vit", "--concurrency", args.concurrency, "--duration", str(args.duration),
                             "--no-peer", "--no-cpu", "--no-replicas", "--no-batch1", "--out", backend_out], env=env, timeout=300)
            print(out[-4000:], file=sys.stderr)
            if os.path.exists(backend_out):
                with open(backend_out, encoding="utf-8") as f:
                    result["backend"] = json.load(f)
            else:
                result["backendError"] = f"exit {code}: {out[-1500:]}"
        else:
            result["backendError"] = f"model generation failed: exit {code}"
        if not args.skip_torch:
            log("PyTorch peer")
            torch_out = os.path.join(results_dir, "torch.json")
            code, out = run([sys.executable, os.path.join(HERE, "torch_vit_peer.py"), "--out", torch_out], env=env, timeout=150)
            if os.path.exists(torch_out):
                with open(torch_out, encoding="utf-8") as f:
                    result["torch"] = json.load(f)
            else:
                result["torch"] = {"skipped": f"exit {code}: {out[-1500:]}"}

    result["seconds"] = round(time.time() - started)
    with open(os.path.join(results_dir, "bench-gpu.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
    table = markdown(result)
    with open(os.path.join(results_dir, "bench-gpu.md"), "w", encoding="utf-8") as f:
        f.write(table)
    print(table)
    log(f"done in {result['seconds']} s: {results_dir}")


if __name__ == "__main__":
    main()
