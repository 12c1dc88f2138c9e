"""MMagic's LoadImageFromFile, with errors that name the file."""
from typing import Optional

import numpy as np
from mmagic.datasets.transforms import LoadImageFromFile
from mmagic.registry import TRANSFORMS
from sler_ir_mm.utils.errors import SLERIRError
from ..bad_samples import check_on_error, report_skipped


class UnreadableImageError(SLERIRError, OSError):
    """An image file exists but cannot be decoded (empty, truncated, not an
    image)."""


@TRANSFORMS.register_module()
class LoadImageFromFileChecked(LoadImageFromFile):
    """``LoadImageFromFile`` that says which file it could not read.

    MMagic 1.2's ``LoadImageFromFile`` names a missing file, but an empty,
    truncated or non-image file ends in an OpenCV assertion
    (``!_src.empty() in function 'cvtColor'``) or ``'NoneType' object has no
    attribute 'ndim'``, without the path. This subclass takes the same
    arguments and loads exactly as MMagic does; it only turns those failures
    into a ``FileNotFoundError`` (missing) or :class:`UnreadableImageError`
    (an ``OSError``) whose message gives the file path, the key and why
    (``empty file (0 bytes)``, ``not a decodable image``).

    With the default ``color_type='color'`` every readable image comes out
    8-bit, 3 channels: gray is repeated, the alpha of RGBA is dropped (not
    blended) and 16-bit is scaled to 8 bit by OpenCV (``v >> 8``, exact for
    ``v = 257 * k``). A decode that is not 8 bit (``color_type='unchanged'``
    on a 16-bit file) is an error rather than [0, 65535] values reaching a
    model trained on [0, 255].

    Args:
        key (str): The results key (``img`` or ``gt``); the file is
            ``results[f'{key}_path']``.
        on_error (str): What a missing or unreadable file does. ``'raise'``
            (default): the error above. ``'skip'`` (training only): log it
            once as a warning and return None, so that MMEngine's
            ``BaseDataset`` trains on another random sample instead (see
            :mod:`sler_ir_mm.datasets.bad_samples`; a ``test_mode``
            dataset refuses it). Other errors always raise.
        **kwargs: ``LoadImageFromFile``'s other arguments
            (``channel_order``, ``color_type``, ``to_float32``, ...).

    Example::

        dict(type='LoadImageFromFileChecked', key='img', channel_order='rgb')
        # training that skips (and logs) unreadable files
        dict(type='LoadImageFromFileChecked', key='img', channel_order='rgb',
             on_error='skip')
    """

    def __init__(self, key: str, on_error: str = 'raise', **kwargs) -> None:
        check_on_error('LoadImageFromFileChecked', on_error)
        super().__init__(key=key, **kwargs)
        self.on_error = on_error

    def _file_size(self, filename: str) -> Optional[int]:
        """Bytes in the file, or None if reading it fails again."""
        try:
            return len(self.file_backend.get(filename))
        except Exception:  # the failure is reported by the caller
            return None

    def _load_image(self, filename):
        try:
            img = super()._load_image(filename)
        except FileNotFoundError as e:
            raise FileNotFoundError(
                f'image file not found: {filename} (key {self.key!r})') from e
        except Exception as e:  # cv2.error, PIL errors, ValueError, ...
            img, error = None, e
        else:
            error = None
        if img is None or getattr(img, 'size', 0) == 0:
            # Only on failure: the file is read once more to say why.
            size = self._file_size(filename)
            if size == 0:
                reason = 'empty file (0 bytes)'
            elif size is None:  # unreadable, e.g. no permission
                reason = f'{type(error).__name__}: {error}'
            else:
                reason = (f'not a decodable image ({size} bytes): '
                          'truncated, corrupt or not an image file')
            raise UnreadableImageError(
                f'cannot read image file {filename} (key {self.key!r}): '
                f'{reason}') from error
        if img.dtype != np.uint8:
            raise UnreadableImageError(
                f'image file {filename} (key {self.key!r}) decoded as '
                f'{img.dtype} with color_type={self.color_type!r}; the '
                "models take 8-bit images: use color_type='color' (16-bit "
                'files are scaled to 8 bit)')
        return img

    def transform(self, results: dict) -> Optional[dict]:
        try:
            return super().transform(results)
        except OSError as e:  # FileNotFoundError or UnreadableImageError
            if self.on_error == 'raise':
                raise
            report_skipped(str(e))
            return None

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f', on_error={self.on_error!r})'
