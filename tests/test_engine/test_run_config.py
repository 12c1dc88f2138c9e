"""The run config that tools/train.py and tools/test.py share."""
import os.path as osp

import pytest

from sler_ir_mm.engine.run_config import finish_run_config, load_run_config

SMOKE = osp.join('configs', 'smoke', 'restormer_smoke.py')


def test_load_and_finish(repo_root, tmp_path):
    config = osp.join(repo_root, SMOKE)
    cfg = load_run_config(config, {'train_cfg.max_iters': 3}, 'pytorch')
    assert cfg.launcher == 'pytorch' and cfg.train_cfg.max_iters == 3
    finish_run_config(cfg, config)
    assert cfg.work_dir == osp.join('./work_dirs', 'restormer_smoke')
    finish_run_config(cfg, config, work_dir=str(tmp_path))
    assert cfg.work_dir == str(tmp_path)
    # A work_dir in the config wins over the default.
    cfg = load_run_config(config, {'work_dir': 'elsewhere'})
    finish_run_config(cfg, config)
    assert cfg.work_dir == 'elsewhere'


def test_missing_config_and_bad_data_root(repo_root, tmp_path):
    with pytest.raises(SystemExit, match='config file not found'):
        load_run_config(str(tmp_path / 'nope.py'))
    config = osp.join(repo_root, SMOKE)
    cfg = load_run_config(config)
    with pytest.raises(SystemExit, match='--data-root: data_root must be'):
        finish_run_config(cfg, config, data_root='')
