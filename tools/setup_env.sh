#!/usr/bin/env bash
# Set up a working sler_ir_mm environment in the active Python (activate a venv first).
#
#   bash tools/setup_env.sh            # torch, mmcv 2.1.0 with CPU ops, OpenMMLab stack, open_clip, sler_ir_mm,
#                                      # the web demo (gradio) and, as root with apt, Chromium for its browser test
#
# Idempotent: a second run reuses the installed packages and the cached mmcv wheel.
# Environment variables:
#   PYTHON          interpreter to install into (default: the active venv's python, else `python` on PATH)
#   SLER_IR_CACHE   where the built mmcv wheel is cached (default: ~/.cache/sler_ir_mm)
#   SKIP_TORCH=1    keep the torch/torchvision already installed (e.g. a CUDA build of your own)
#   SKIP_BROWSER=1  do not apt-get install Chromium and chromedriver (the browser test then skips,
#                   or fails under CI=true)
#
# Why mmcv is built here: PyPI has only mmcv 2.1.0's sdist, MMagic 1.2.0 needs mmcv<2.2 with its
# compiled ops (`import mmagic.models` imports mmcv.ops), and mmcv 2.1.0's setup.py forces
# -std=c++17 while the headers of torch>=2.10 need C++20; we patch that flag and build once.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -n "${PYTHON:-}" ]; then PY=$PYTHON
elif [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then PY=$VIRTUAL_ENV/bin/python
else PY=$(command -v python || command -v python3); fi
CACHE=${SLER_IR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sler_ir_mm}
CONSTRAINTS=$ROOT/requirements/constraints.txt
MMCV_VERSION=2.1.0
PIP=("$PY" -m pip --disable-pip-version-check)
# Run pip, hiding two harmless warnings that some machines' pip configs print by the hundred.
pip_() { "${PIP[@]}" "$@" 2> >(grep -v -e 'is ignored: it is neither a file nor a directory' \
                                      -e "Running pip as the 'root' user" >&2); }

STEP=start
START=$(date +%s)
step() { STEP=$1; echo "==> [setup_env +$(( $(date +%s) - START ))s] $1"; }
trap 'echo "setup_env.sh: FAILED at step \"$STEP\" (exit $?). Fix the error above and run it again." >&2' ERR

step "check the interpreter ($PY)"
"$PY" - <<'EOF'
import sys
v = sys.version_info
if v[:2] != (3, 11):
    print(f'warning: tested with Python 3.11, this is {v.major}.{v.minor}', file=sys.stderr)
if sys.prefix == sys.base_prefix:
    print('note: no virtual environment is active; installing into', sys.prefix)
EOF

step "build tools (pip, setuptools<80, wheel, ninja)"
# setuptools: >=77.0.3 for torch; <80 keeps `pkg_resources` (mmcv's build, MMEngine's
# `pkg::` configs, OpenMIM) and the `develop` editable install that OpenMIM can locate.
pip_ install -q "pip>=23" "setuptools>=77.0.3,<80" wheel ninja

if [ "${SKIP_TORCH:-0}" = 1 ]; then
    step "torch: kept as installed (SKIP_TORCH=1)"
else
    step "torch and torchvision (pinned)"
    pip_ install -q -c "$CONSTRAINTS" torch torchvision
fi

step "inspect torch"
TORCH_TAG=$("$PY" -c 'import sys, torch; v = torch.__version__.split("+")[0]; print("torch%s-cp%d%d" % (v, *sys.version_info[:2]))')
echo "    $TORCH_TAG (CUDA build: $("$PY" -c 'import torch; print(torch.version.cuda)'))"
WHEEL_DIR=$CACHE/wheels/mmcv-$MMCV_VERSION-$TORCH_TAG-$(uname -m)

step "mmcv $MMCV_VERSION with CPU ops"
if "$PY" -c "import mmcv, mmcv.ops, sys; sys.exit(mmcv.__version__ != '$MMCV_VERSION')" 2>/dev/null; then
    echo "    already installed and importable with its ops"
    MMCV_REQ=mmcv==$MMCV_VERSION
else
    if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
        echo "    no cached wheel in $WHEEL_DIR: building from the sdist (about 7 min on 2 cores)"
        BUILD=$(mktemp -d)
        pip_ download -q --no-deps --no-binary :all: -d "$BUILD" "mmcv==$MMCV_VERSION"
        tar -xzf "$BUILD"/mmcv-$MMCV_VERSION.tar.gz -C "$BUILD"
        SRC=$BUILD/mmcv-$MMCV_VERSION
        # torch>=2.10 headers require C++20; mmcv 2.1.0 appends -std=c++17 after torch's flags.
        sed -i "s/'-std=c++17'/'-std=c++20'/g" "$SRC/setup.py"
        grep -q "'-std=c++20'" "$SRC/setup.py"
        # CUDA_VISIBLE_DEVICES="" keeps a visible GPU from switching the build to CUDA ops.
        MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=${MAX_JOBS:-$(nproc)} CUDA_VISIBLE_DEVICES="" \
            pip_ wheel -q --no-build-isolation --no-deps -w "$BUILD/dist" "$SRC"
        # The raw wheel is ~32 MB of debug info; stripping it gives ~1.4 MB.
        "$PY" -m wheel unpack -d "$BUILD/unpacked" "$BUILD"/dist/mmcv-*.whl >/dev/null
        find "$BUILD/unpacked" -name '_ext*.so' -exec strip --strip-debug {} +
        mkdir -p "$WHEEL_DIR"
        "$PY" -m wheel pack -d "$WHEEL_DIR" "$BUILD"/unpacked/mmcv-$MMCV_VERSION >/dev/null
        rm -rf "$BUILD"
    else
        echo "    reusing the cached wheel in $WHEEL_DIR"
    fi
    MMCV_REQ=$(ls "$WHEEL_DIR"/mmcv-*.whl | head -n 1)
fi

step "OpenMMLab stack, open_clip and test tools (pinned)"
# mmcv comes from our wheel; everything else from the registry with the known-good pins.
C_NO_MMCV=$(mktemp)
grep -v '^mmcv==' "$CONSTRAINTS" > "$C_NO_MMCV"
if [ "${SKIP_TORCH:-0}" = 1 ]; then sed -i '/^torch/d' "$C_NO_MMCV"; fi
pip_ install -q -c "$C_NO_MMCV" "$MMCV_REQ" \
    -r "$ROOT/requirements/mminstall.txt" -r "$ROOT/requirements/runtime.txt" \
    -r "$ROOT/requirements/tests.txt"

step "the web demo: gradio, gradio_client, selenium (pinned; the [demo] extra)"
pip_ install -q -c "$C_NO_MMCV" -r "$ROOT/requirements/demo.txt"
rm -f "$C_NO_MMCV"

step "Chromium and chromedriver for the demo's browser test (Debian packages)"
BROWSER_CMD="apt-get install -y chromium chromium-driver"
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    echo "    already installed: $(chromium --version 2>/dev/null | head -n 1)"
elif [ "${SKIP_BROWSER:-0}" = 1 ]; then
    echo "    skipped (SKIP_BROWSER=1); to install them later, as root: $BROWSER_CMD"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    # Not fatal: the Python environment works without a browser; only the browser test needs it.
    if DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; then
        echo "    installed: $(chromium --version 2>/dev/null | head -n 1)"
    else
        echo "    warning: apt-get could not install them; run as root: $BROWSER_CMD" >&2
    fi
else
    echo "    cannot install them here (needs root and apt-get); run as root: $BROWSER_CMD"
    echo "    (without them the browser test is skipped, and fails under CI=true)"
fi

step "openmim (without its opendatalab/openxlab deps, which downgrade setuptools)"
pip_ install -q --no-deps "openmim==0.3.9"
pip_ install -q -c "$CONSTRAINTS" model-index tabulate colorama click rich requests pandas

step "sler_ir_mm itself (editable)"
# Without a pyproject.toml, pip<25.3 installs this editable with `setup.py develop`, which
# records the source tree as the install location: that is where OpenMIM looks for
# sler_ir_mm/.mim/{configs,tools} (a PEP 660 editable install would point it at site-packages).
pip_ install -q --no-deps --no-build-isolation -e "$ROOT"
if ! "$PY" -c "import os, sys; from mim.utils import get_installed_path; sys.exit(not os.path.isfile(os.path.join(get_installed_path('sler_ir_mm'), '.mim', 'tools', 'train.py')))" 2>/dev/null; then
    echo "    warning: \`mim train sler_ir_mm\` cannot see this editable install (PEP 660);"
    echo "    use python tools/train.py, or reinstall with \`pip install .\` for mim"
fi

step "check the imports"
"$PY" -c "import sler_ir_mm, mmagic.models, mmcv.ops, open_clip, gradio, selenium; print('    sler_ir_mm', sler_ir_mm.__version__, '| mmagic', __import__('mmagic').__version__, '| mmcv', __import__('mmcv').__version__, '| torch', __import__('torch').__version__, '| gradio', gradio.__version__)"
step "done"
