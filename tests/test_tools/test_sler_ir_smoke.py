"""SLER-IR through the tools: both stages of configs/smoke/sler_ir_smoke.py."""
import glob
import json
import os.path as osp

from make_smoke_pairs import make_smoke_pairs
from tool_runner import read_scalars, run_tool

CFG = osp.join('configs', 'smoke', 'sler_ir_smoke.py')


def test_two_stage_training_and_test(repo_root, tmp_path):
    cwd = str(tmp_path)
    make_smoke_pairs(osp.join(cwd, 'data', 'smoke_pairs'), size=32)
    cfg = osp.join(repo_root, CFG)
    log = run_tool(repo_root, cwd, osp.join(repo_root, 'tools', 'train.py'),
                   cfg, '--work-dir', 'work')
    assert 'RoutingStageSwitchHook: stage 2 from epoch 2' in log
    scalars = read_scalars(osp.join(cwd, 'work'))
    train = [r for _, r in sorted(scalars.items()) if 'loss_pix' in r]
    # Stage 1 (4 iterations of batch 4) logs the contrastive loss and the
    # router's center statistics; stage 2 (batch 8) has no contrastive term.
    assert len(train) == 2 + 2 + 1 + 1
    assert any(r['loss_hc'] > 0 for r in train[:4])
    assert all(r['loss_hc'] == 0 for r in train[4:])
    assert all(0 < r['router_min_center_angle'] <= 180 for r in train)
    # The learning rate restarts at the stage switch.
    assert train[4]['lr'] == train[0]['lr'] > train[3]['lr']
    # Route diagnostics after each stage-1 epoch, on 4 patches per task.
    assert 'route diagnostics on the training probe (epoch 2)' in log
    diag, = glob.glob(osp.join(cwd, 'work', '*', 'route_diagnostics.jsonl'))
    with open(diag) as f:
        records = [json.loads(line) for line in f]
    assert [r['epoch'] for r in records] == [1, 2]
    for r in records:
        assert list(r['tasks']) == ['noise', 'dark']
        assert r['num_images'] == 8
        assert 1 <= r['task_paths'] <= 2 and 0 <= r['nmi'] <= 1
        assert len(r['layer_balance']) == 8
        assert 0 <= r['hc_zero_share'] <= 1  # 2 batches an epoch
        # Two classes: the two forms of the loss agree.
        assert abs(r['hc_class_pairs'] - r['hc_batch_mean']) < 1e-6
    routed = [r for _, r in sorted(scalars.items()) if 'route/nmi' in r]
    assert len(routed) == 2

    out = osp.join(cwd, 'metrics.json')
    test_log = run_tool(repo_root, cwd,
                        osp.join(repo_root, 'tools', 'test.py'), cfg,
                        osp.join('work', 'epoch_4.pth'), '--work-dir',
                        'test', '--out', out)
    with open(out) as f:
        metrics = json.load(f)
    assert set(metrics) >= {'noise/PSNR', 'noise/SSIM', 'dark/PSNR',
                            'dark/SSIM'}
    # The results table: printed, and written to the run's log dir.
    table, = glob.glob(osp.join(cwd, 'test', '*', 'results.md'))
    with open(table) as f:
        rows = [line.split(' | ')[0] for line in f if line.startswith('|')]
    assert rows[0] == '| Set'
    assert rows[2:] == ['| noise', '| dark', '| Average']
    assert '| Set | Images | PSNR ± SE |' in test_log
    assert glob.glob(osp.join(cwd, 'work', 'epoch_4.pth'))
