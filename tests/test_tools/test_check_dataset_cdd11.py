"""tools/misc/check_dataset.py on a tiny CDD-11 tree, clean and broken."""
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
from make_cdd11_tree import make_cdd11_tree
from tool_runner import load_tool

CFG = osp.join('configs', 'sler_ir_cdd11.py')
TOOL = osp.join('tools', 'misc', 'check_dataset.py')


@pytest.fixture
def tool(repo_root):
    return load_tool(repo_root, TOOL)


@pytest.fixture
def cdd11_root(tmp_path):
    # Training images as large as the config's 128 x 128 patch.
    return make_cdd11_tree(str(tmp_path / 'cdd'), num_images=1, size=32,
                           train_size=128)


def check(tool, repo_root, root, capsys, *extra):
    code = tool.main([osp.join(repo_root, CFG), '--data-root', root,
                      '--workers', '1', *extra])
    return code, capsys.readouterr().out


def test_clean_tree_passes(tool, repo_root, cdd11_root, capsys):
    code, out = check(tool, repo_root, cdd11_root, capsys)
    assert code == 0, out
    for split in ('train', 'val', 'test'):
        assert f'{split}: 11 dataset(s)' in out
    assert f'| low+haze+snow | {cdd11_root}: img=CDD-11_test/low_haze_snow' \
        ', gt=CDD-11_test/clear | 1       | 0' in out
    assert out.rstrip().endswith('All 33 dataset(s) OK.')


def test_a_missing_type_folder_is_named(tool, repo_root, cdd11_root,
                                        capsys):
    shutil.rmtree(osp.join(cdd11_root, 'CDD-11_test', 'haze_rain'))
    code, out = check(tool, repo_root, cdd11_root, capsys, '--splits',
                      'test')
    assert code == 1
    assert '[test] haze+rain (test_dataloader[7].dataset):' in out
    assert "cannot build the dataset: FileNotFoundError: data_prefix['img']" \
        f" folder not found: '{cdd11_root}/CDD-11_test/haze_rain'" in out
    assert '1 problem(s) in 1 of 11 dataset(s)' in out


def test_an_unpaired_file_is_named(tool, repo_root, cdd11_root, capsys):
    cv2.imwrite(osp.join(cdd11_root, 'CDD-11_train', 'rain', '000009.png'),
                np.zeros((128, 128, 3), np.uint8))
    os.remove(osp.join(cdd11_root, 'CDD-11_test', 'clear', '000001.png'))
    code, out = check(tool, repo_root, cdd11_root, capsys, '--no-decode')
    assert code == 1
    # The training rain set: one extra degraded image without its clear one.
    assert '[train] rain (train_dataloader.dataset.datasets[2]):' in out
    assert '000009.png -> no clean image 000009.*' in out
    # Every test type lost its clear image: 11 sets (val and test are one).
    assert out.count('000001.png -> no clean image 000001.*') == 11
    assert '12 problem(s) in 23 of 33 dataset(s)' in out
