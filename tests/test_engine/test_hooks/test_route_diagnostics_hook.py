"""RouteDiagnosticsHook.diagnose/format on a stand-in model whose routes are
given (composite tasks in the probe)."""
import json
from types import SimpleNamespace

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmagic.structures import DataSample

import sler_ir_mm  # noqa: F401  (registers the losses the hook builds)
from sler_ir_mm.engine.hooks.route_diagnostics_hook import \
    RouteDiagnosticsHook

A, B = [0] * 8, [1] * 8


class GivenRoutes(nn.Module):
    """Routes each sample along the route stored in its input."""

    def __init__(self) -> None:
        super().__init__()
        self.router = SimpleNamespace(num_experts=3)

    def data_preprocessor(self, batch: dict, training: bool) -> dict:
        return dict(inputs=torch.stack(batch['inputs']),
                    data_samples=batch['data_samples'])

    def route(self, inputs: torch.Tensor) -> SimpleNamespace:
        indices = inputs.long()
        emb = F.normalize(F.one_hot(indices, 3).float(), dim=-1)
        return SimpleNamespace(indices=indices, embeddings=emb)


def diagnose(probe: dict) -> dict:
    hook = RouteDiagnosticsHook(per_task=2, batch_size=3)
    hook._tasks = [t for t, routes in probe.items() for _ in routes]
    hook._probe = [
        dict(inputs=torch.tensor(route), data_samples=DataSample())
        for routes in probe.values() for route in routes
    ]
    return hook.diagnose(GivenRoutes())


def test_composite_tasks_in_the_probe():
    hybrid = [0, 0, 0, 0, 1, 1, 1, 1]
    record = diagnose({'a': [A, A], 'b': [B, B], 'a+b': [hybrid, A],
                       'a+c': [B]})
    mix = record['composites']['mixes']['a+b']
    assert mix['hybrid_share'] == 0.5 and mix['differing_layers'] == 8
    assert record['composites']['skipped']['a+c']['missing'] == ['c']
    json.dumps(record)  # the hook writes it to route_diagnostics.jsonl
    text = RouteDiagnosticsHook.format(dict(record, epoch=1))
    assert '  a+b: hybrid 50% (8 layers differ between the components; ' \
        'mean exclusive layers a 6.0, b 2.0)' in text
    assert '  a+c: no hybrid statistics, no single-task images of c' in text


def test_no_composite_task_no_composite_record():
    record = diagnose({'a': [A, A], 'b': [B, B]})
    assert 'composites' not in record
    assert 'hybrid' not in RouteDiagnosticsHook.format(dict(record, epoch=1))
