"""What the demo's tests share: a tiny SLER-IR model that names
degradations, and skipping (or, under CI, failing) without an optional
dependency."""
import os
import socket

import pytest
import torch
import torch.nn.functional as F

from sler_ir_mm.models.encoders.degradation_prototypes import \
    DegradationPrototypes

# The classes a pretrained tower of the mini benchmark names.
CLASSES = ('denoise', 'derain', 'dehaze', 'deblur', 'lowlight')
DEMO_INSTALL = 'pip install -e .[demo]'


def in_ci() -> bool:
    """CI runs set CI=true: there a missing dependency fails the test."""
    return os.environ.get('CI', '').strip().lower() in ('1', 'true', 'yes')


def need(module: str, install: str):
    """Import ``module``; without it, skip with the install command (fail
    under CI, where tools/setup_env.sh has installed it)."""
    try:
        return __import__(module)
    except ImportError as err:
        message = f'{module} is not installed ({err}); install it: {install}'
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def add_prototypes(model, seed: int = 0, threshold=-1.0) -> None:
    """Give the model's tower per-degradation prototypes, as a pretrained
    tower has (random unit vectors here: the tiny tower is random too)."""
    encoder = model.degradation_encoder
    dim = encoder.embed_dim
    generator = torch.Generator().manual_seed(seed)
    protos = F.normalize(
        torch.randn(len(CLASSES), dim, generator=generator), dim=-1)
    encoder.degradation_prototypes = DegradationPrototypes(
        CLASSES, protos, 10.0, threshold, 0.01)
