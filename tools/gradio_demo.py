"""Serve the demo page: restore a photo, see what the model recognised.

Upload or drop a photo (or pick an example made from the mini benchmark's
test photos) and the page shows the restored photo beside the input with a
before/after slider and a PNG download, what the model recognised (a score
per known degradation, and a warning when the photo looks unlike every
trained degradation), the expert path, and the time and peak memory taken.
Needs the demo extra: ``pip install -e .[demo]``. See docs/demo.md.

Examples::

    python tools/gradio_demo.py configs/sler_ir_mini_5task.py \\
        work_dirs/sler_ir_mini_5task/epoch_22.pth
    python tools/gradio_demo.py CONFIG CKPT --port 7861 --device cuda
    python tools/gradio_demo.py CONFIG CKPT --host 0.0.0.0   # your network
"""
import argparse
import ipaddress
import os.path as osp
import sys
import warnings

# MMagic 1.2.0 imports diffusers/torch APIs that warn on every import; these
# warnings are not the user's to act on, so keep them out of the output.
warnings.filterwarnings('ignore', category=FutureWarning, module=r'diffusers')
warnings.filterwarnings(
    'ignore',
    message='`torch.jit.script` is deprecated',
    category=FutureWarning)

# Importing the plugin first applies its runtime fixes (numpy 2, safe
# torch.load).
import sler_ir_mm  # noqa: F401,E402,I001
import torch  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

from sler_ir_mm.apis import init_restorer  # noqa: E402
from sler_ir_mm.demo import (GradioMissingError, build_demo,  # noqa: E402
                             import_gradio, make_examples)
from sler_ir_mm.utils.cli import (TRACEBACK_EPILOG, run_main,  # noqa: E402
                                  show_traceback)

DEFAULT_HOST = '127.0.0.1'
DEFAULT_PORT = 7860


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Serve a web page that restores photos and shows what '
        'the model recognised (Gradio)',
        epilog=TRACEBACK_EPILOG)
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--port',
        type=int,
        default=DEFAULT_PORT,
        help=f'port to serve on (default: {DEFAULT_PORT})')
    parser.add_argument(
        '--host',
        default=DEFAULT_HOST,
        help=f'address to serve on (default: {DEFAULT_HOST}, this machine '
        'only; 0.0.0.0 serves every network interface)')
    parser.add_argument(
        '--share',
        action='store_true',
        help="also make a temporary public link through Gradio's share "
        'servers (needs internet access)')
    parser.add_argument(
        '--device',
        default=None,
        help='cpu, cuda or cuda:N (default: cuda if available, else cpu)')
    parser.add_argument(
        '--examples-dir',
        default=None,
        help='folder for the example photos, written on first start '
        '(default: ~/.cache/sler_ir_mm/demo_examples_v1, or under '
        '$SLER_IR_CACHE)')
    parser.add_argument(
        '--no-examples', action='store_true', help='offer no examples')
    parser.add_argument(
        '--no-tile',
        action='store_true',
        help='start with "tile large photos" unchecked (the page has the '
        'switch)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. model.test_cfg.routing=hard')
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error(f'--port must be in 1-65535, got {args.port}')
    return args


def _is_loopback(host: str) -> bool:
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        import_gradio()
    except GradioMissingError as err:
        # Said before the model is loaded, which takes a while.
        raise SystemExit(f'error: {err}')
    for path, what in ((args.config, 'config'), (args.checkpoint,
                                                 'checkpoint')):
        if not osp.isfile(path):
            raise SystemExit(f'{what} file not found: {path}')

    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    try:
        model = init_restorer(args.config, args.checkpoint, device,
                              args.cfg_options)
    except (RuntimeError, ValueError, KeyError, OSError) as e:
        if show_traceback():
            raise
        # A bad device, config or checkpoint: say so without a traceback.
        raise SystemExit(f'cannot build the model: {e}')
    examples = [] if args.no_examples else make_examples(args.examples_dir)
    demo = build_demo(model, examples=examples, tile_large=not args.no_tile)

    if not _is_loopback(args.host):
        print(f'note: serving on {args.host}: anyone who can reach this '
              f'machine on port {args.port} can use the page')
    try:
        demo.queue().launch(
            server_name=args.host,
            server_port=args.port,
            share=args.share,
            show_error=False,
            inbrowser=False,
            quiet=True,
            prevent_thread_lock=True)
    except OSError as e:
        if show_traceback():
            raise
        # Most often the port is taken.
        raise SystemExit(f'cannot serve on {args.host}:{args.port}: {e} '
                         '(choose another --port)')
    print(f'serving the demo on {demo.local_url}'
          f'{f" and {demo.share_url}" if args.share else ""} '
          '(Ctrl+C stops it)', flush=True)
    try:
        demo.block_thread()
    except KeyboardInterrupt:
        pass
    finally:
        demo.close()
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main))
