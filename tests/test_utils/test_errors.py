"""The project's user-facing errors share SLERIRError (and keep their
built-in classes); run_main prints them as one line, the traceback only on
request."""
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from sler_ir_mm.datasets.bad_samples import OnErrorSettingError
from sler_ir_mm.datasets.data_root import DataRootError
from sler_ir_mm.datasets.dataset_cfgs import DatasetConfigError
from sler_ir_mm.datasets.transforms import UnreadableImageError
from sler_ir_mm.engine import (CheckpointMismatchError, NonFiniteLossError,
                               UnreadableCheckpointError)
from sler_ir_mm.engine.schedules import StageScheduleError
from sler_ir_mm.utils.cli import (TRACEBACK_ENV, error_message, run_main,
                                  show_traceback)
from sler_ir_mm.utils.errors import SLERIRError


@pytest.mark.parametrize('error, builtin', [
    (CheckpointMismatchError, ValueError),
    (UnreadableCheckpointError, ValueError),
    (UnreadableImageError, OSError),
    (NonFiniteLossError, FloatingPointError),
    (DataRootError, ValueError),
    (DatasetConfigError, ValueError),
    (OnErrorSettingError, ValueError),
    (StageScheduleError, ValueError),
])
def test_project_errors_keep_their_builtin_class(error, builtin):
    assert issubclass(error, SLERIRError) and issubclass(error, builtin)
    # MMEngine's registry re-raises a build error as type(err)(message).
    err = error('the message')
    assert str(err) == 'the message'
    assert str(type(err)(f'class `X` in x.py: {err}')).endswith('the message')
    with pytest.raises(builtin):
        raise err


def fails(error):

    def main():
        print('some output first')
        raise error

    return main


def test_a_user_error_is_one_line(capsys, monkeypatch):
    monkeypatch.delenv(TRACEBACK_ENV, raising=False)
    with pytest.raises(SystemExit) as exit_:
        run_main(
            fails(
                CheckpointMismatchError('checkpoint x.pth does not '
                                        'match the model')))
    assert exit_.value.code == 1
    out, err = capsys.readouterr()
    assert out == 'some output first\n'
    assert err == 'error: checkpoint x.pth does not match the model\n'
    # Missing weights and data folders are raised as FileNotFoundError.
    with pytest.raises(SystemExit):
        run_main(
            fails(FileNotFoundError(2, 'No such file or directory', 'data/x')))
    assert capsys.readouterr().err == \
        "error: [Errno 2] No such file or directory: 'data/x'\n"
    assert run_main(lambda: 3) == 3


@pytest.mark.parametrize('value, shown', [('1', True), ('yes', True),
                                          ('0', False), ('', False),
                                          ('off', False)])
def test_the_traceback_on_request(value, shown, monkeypatch, capsys):
    monkeypatch.setenv(TRACEBACK_ENV, value)
    assert show_traceback() is shown
    error = DataRootError('no dataset of the config uses its data_root')
    if shown:
        with pytest.raises(DataRootError):
            run_main(fails(error))
    else:
        with pytest.raises(SystemExit):
            run_main(fails(error))
        assert capsys.readouterr().err.startswith('error: no dataset')


def test_bugs_keep_their_traceback(monkeypatch):
    monkeypatch.delenv(TRACEBACK_ENV, raising=False)
    for bug in (KeyError('x'), ValueError('a bug'), OSError('disk')):
        with pytest.raises(type(bug)):
            run_main(fails(bug))


class _Unreadable(Dataset):

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index):
        raise UnreadableImageError('cannot read image file a.png: empty '
                                   'file (0 bytes)')


def test_a_dataloader_worker_error_keeps_its_message():
    loader = DataLoader(_Unreadable(), num_workers=1)
    with pytest.raises(UnreadableImageError) as err:
        next(iter(loader))
    # torch puts the worker's traceback into the message.
    assert 'Traceback' in str(err.value)
    assert error_message(err.value) == \
        'cannot read image file a.png: empty file (0 bytes)'
    assert error_message(ValueError()) == 'ValueError'
    assert torch.utils.data.get_worker_info() is None
