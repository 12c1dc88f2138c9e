"""Fixtures of the demo's tests: a tiny SLER-IR model that names
degradations, the example photos, and the demo served on a free loopback
port."""
import os.path as osp

import pytest
import torch
from demo_testing import DEMO_INSTALL, add_prototypes, free_port, need

from sler_ir_mm.apis import init_restorer

SLER_CFG = osp.join('configs', 'smoke', 'sler_ir_smoke.py')


@pytest.fixture(scope='session')
def one_thread():
    # Tiny models gain nothing from threads, and on a shared machine
    # OpenMP threads that wait on each other slow them down many times.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope='session')
def tiny_model(repo_root, one_thread):
    """The smoke SLER-IR with random weights and degradation prototypes
    (a similarity threshold no photo falls below)."""
    torch.manual_seed(0)
    model = init_restorer(osp.join(repo_root, SLER_CFG))
    add_prototypes(model)
    return model


@pytest.fixture(scope='session')
def examples(tmp_path_factory):
    from sler_ir_mm.demo import make_examples
    return make_examples(str(tmp_path_factory.mktemp('demo_examples')))


@pytest.fixture(scope='session')
def demo_url(tiny_model, examples, tmp_path_factory):
    """The demo page of the tiny model, served on a free loopback port."""
    need('gradio', DEMO_INSTALL)
    from sler_ir_mm.demo import build_demo
    demo = build_demo(
        tiny_model,
        examples=examples,
        out_dir=str(tmp_path_factory.mktemp('demo_out')))
    demo.queue().launch(
        server_name='127.0.0.1',
        server_port=free_port(),
        prevent_thread_lock=True,
        quiet=True,
        show_error=False)
    yield demo.local_url
    demo.close()
