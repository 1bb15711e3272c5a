#!/usr/bin/env bash
# Installs everything coyo-edge needs on a fresh Debian machine with Node 20: pnpm, Chromium (for the
# browser tests), the Vulkan loader (for the WebGPU tests), gcc and libjpeg-turbo (for the backend's JPEG
# decoder), the workspace's packages, and builds that decoder. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v pnpm >/dev/null 2>&1; then
  npm install -g pnpm@10 >/dev/null
fi

# Debian packages: Chromium for the browser tests; the Vulkan loader (libvulkan1) for the backend's
# WebGPU execution provider, which the tests run on Chromium's SwiftShader Vulkan driver. Each is
# installed only when missing; COYO_SKIP_CHROMIUM / COYO_SKIP_VULKAN skip it.
apt_packages=()
if ! command -v chromium >/dev/null 2>&1 && [ -z "${COYO_SKIP_CHROMIUM:-}" ]; then
  apt_packages+=(chromium)
fi
if [ -z "${COYO_SKIP_VULKAN:-}" ]; then
  case "$(/sbin/ldconfig -p 2>/dev/null || true)" in
    *'libvulkan.so.1 '*) ;;
    *) apt_packages+=(libvulkan1) ;;
  esac
fi
# Pillow and NumPy for Debian's python3: the floor `pnpm bench:backend` measures image pre-processing against.
if [ -z "${COYO_SKIP_PILLOW:-}" ] && ! /usr/bin/python3 -c 'import PIL, numpy' >/dev/null 2>&1; then
  apt_packages+=(python3-pil python3-numpy)
fi
# gcc and libjpeg-turbo's headers for the backend's native JPEG decoder (packages/gpu-backend/native/jpeg;
# Node's own header, node_api.h, comes with Debian's nodejs package). Without them the backend decodes
# JPEGs with sharp. COYO_SKIP_NATIVE skips them.
if [ -z "${COYO_SKIP_NATIVE:-}" ]; then
  command -v gcc >/dev/null 2>&1 || apt_packages+=(gcc libc6-dev)
  [ -f /usr/include/jpeglib.h ] || apt_packages+=(libjpeg62-turbo-dev)
fi
if [ "${#apt_packages[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then apt_get="apt-get"; else apt_get="sudo apt-get"; fi
  $apt_get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $apt_get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

# onnxruntime-node's install script downloads CUDA libraries; its CPU build is bundled. On a GPU host
# set ONNXRUNTIME_NODE_INSTALL=cuda12 before running this script.
export ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL:-skip}"
pnpm install --frozen-lockfile --reporter=append-only >/dev/null
# The native JPEG decoder (skipped when up to date; says so and carries on when it cannot be built).
if [ -z "${COYO_SKIP_NATIVE:-}" ]; then
  pnpm --filter @coyo/gpu-backend --silent build:native
fi
echo "coyo-edge: dependencies installed (pnpm $(pnpm --version), node $(node --version))"
