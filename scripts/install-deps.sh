#!/usr/bin/env bash
# Installs the Debian 12 packages the project builds and tests with. Idempotent:
# does nothing when every package is already installed. Uses sudo when not root.
set -euo pipefail

packages=(
  cmake ninja-build ccache g++ make python3
  llvm-19-dev llvm-19-tools libmlir-19-dev mlir-19-tools
  libgtest-dev clang-format-19 clang-19 libclang-rt-19-dev libomp-19-dev
  libflatbuffers-dev flatbuffers-compiler
  libopenblas-openmp-dev libopenblas0-openmp
  nlohmann-json3-dev libcli11-dev libsentencepiece-dev sentencepiece libfmt-dev
  libopenmpi-dev openmpi-bin
  python3-torch python3-matplotlib
)

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "Installing: ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
