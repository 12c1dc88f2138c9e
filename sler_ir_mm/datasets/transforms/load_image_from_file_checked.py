"""MMagic's LoadImageFromFile, with errors that name the file."""
from mmagic.datasets.transforms import LoadImageFromFile
from mmagic.registry import TRANSFORMS


class UnreadableImageError(OSError):
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
    (an ``OSError``) whose message gives the file path and the key.

    Example::

        dict(type='LoadImageFromFileChecked', key='img', channel_order='rgb')
    """

    def _load_image(self, filename):
        try:
            img = super()._load_image(filename)
        except FileNotFoundError as e:
            raise FileNotFoundError(
                f'image file not found: {filename} (key {self.key!r})') from e
        except Exception as e:  # cv2.error, PIL errors, ValueError, ...
            raise UnreadableImageError(
                f'cannot read image file {filename} (key {self.key!r}): '
                f'{type(e).__name__}: {str(e).strip()}') from e
        if img is None or getattr(img, 'size', 0) == 0:
            raise UnreadableImageError(
                f'cannot read image file {filename} (key {self.key!r}): '
                'not a decodable image (empty, truncated or another format)')
        return img
