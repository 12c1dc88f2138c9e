"""Drive the demo page in a real headless Chromium (selenium).

Used by tests/test_demo/test_browser.py, and run as a script it takes the
screenshot of docs/demo.md with a trained checkpoint::

    python tests/helpers/demo_browser.py configs/sler_ir_mini_5task.py \\
        CKPT docs/images/gradio_demo.png

Chromium and its WebDriver come from the Debian packages
(``apt-get install -y chromium chromium-driver``; tools/setup_env.sh
installs them as root).
"""
import io
import os
import shutil
import socket
import sys
import time
import urllib.request
from typing import Optional, Tuple

import numpy as np

BROWSER_INSTALL = 'apt-get install -y chromium chromium-driver'
_BROWSERS = ('chromium', 'chromium-browser', 'google-chrome')
_DRIVERS = ('chromedriver', '/usr/bin/chromedriver',
            '/usr/lib/chromium/chromedriver')


def find_browser() -> Tuple[Optional[str], Optional[str]]:
    """The Chromium binary and its chromedriver, or None for what is
    missing."""
    browser = next((shutil.which(b) for b in _BROWSERS if shutil.which(b)),
                   None)
    driver = next((shutil.which(d) for d in _DRIVERS if shutil.which(d)), None)
    return browser, driver


def start_chromium(browser: str,
                   driver: str,
                   width: int = 1280,
                   height: int = 1600):
    """A headless Chromium session through the given chromedriver (no
    download: selenium's manager is not asked)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage',
                '--disable-gpu', '--hide-scrollbars', '--disable-extensions',
                '--no-first-run', f'--window-size={width},{height}'):
        options.add_argument(arg)
    return webdriver.Chrome(
        service=Service(executable_path=driver), options=options)


def upload_and_wait(driver, url: str, photo: str, timeout: float = 60.0):
    """Open the page, upload ``photo`` and wait for the restored image.

    Returns:
        WebElement: The restored image's ``<img>``.
    """
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait
    driver.get(url)
    wait = WebDriverWait(driver, timeout)
    upload = wait.until(
        ec.presence_of_element_located(
            (By.CSS_SELECTOR, '#sler-photo input[type=file]')))
    upload.send_keys(os.path.abspath(photo))
    wait.until(
        lambda d: 'Done.' in d.find_element(By.ID, 'sler-status').text or
        'Could not restore' in d.find_element(By.ID, 'sler-status').text)
    image = wait.until(
        ec.presence_of_element_located(
            (By.CSS_SELECTOR, '#sler-restored img')))
    # Shown: loaded and drawn, not just in the page.
    wait.until(lambda d: d.execute_script(
        'return arguments[0].complete && arguments[0].naturalWidth > 0', image)
               )
    return image


def fetch_image(src: str) -> np.ndarray:
    """Download an ``<img>``'s source and decode it (RGB(A) or gray)."""
    from PIL import Image
    with urllib.request.urlopen(src, timeout=30) as response:
        data = response.read()
    return np.asarray(Image.open(io.BytesIO(data)))


def full_page_screenshot(driver, path: str, width: int = 1280) -> None:
    """Grow the window to the whole page and save a PNG of it."""
    for _ in range(5):  # the page relayouts after a resize
        inner, page = driver.execute_script(
            'return [window.innerHeight, Math.max(document.body.scrollHeight,'
            ' document.documentElement.scrollHeight)]')
        if inner >= page:
            break
        # The window's height includes the browser's own bars.
        height = driver.get_window_size()['height'] + page - inner + 20
        driver.set_window_size(width, height)
        time.sleep(0.5)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    driver.save_screenshot(path)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def main(argv=None) -> None:
    """Serve the demo of CONFIG CKPT, restore the haze example in Chromium
    and save a screenshot of the page to OUT (a small PNG)."""
    config, checkpoint, out = (argv or sys.argv[1:])[:3]
    import torch
    import sler_ir_mm  # noqa: F401  (its runtime fixes first)
    from sler_ir_mm.apis import init_restorer
    from sler_ir_mm.demo import build_demo, make_examples
    torch.set_num_threads(1)
    model = init_restorer(config, checkpoint)
    examples = make_examples()
    demo = build_demo(model, examples=examples)
    demo.queue().launch(
        server_name='127.0.0.1',
        server_port=_free_port(),
        prevent_thread_lock=True,
        quiet=True)
    browser, driver_path = find_browser()
    driver = start_chromium(browser, driver_path)
    try:
        photo = next(p for p in examples if 'haze' in p)
        upload_and_wait(driver, demo.local_url, photo)
        time.sleep(1.0)  # the toasts fade in; let the page settle
        raw = out + '.full.png'
        full_page_screenshot(driver, raw)
    finally:
        driver.quit()
        demo.close()
    # A palette PNG keeps the docs' picture small.
    from PIL import Image
    with Image.open(raw) as img:
        img = img.convert('RGB')
        img = img.resize((img.width * 3 // 4, img.height * 3 // 4),
                         Image.LANCZOS)
        img.quantize(
            colors=192, dither=Image.Dither.NONE).save(
                out, optimize=True)
    os.remove(raw)
    print(f'{out}: {os.path.getsize(out) / 1024:.0f} KB')


if __name__ == '__main__':
    main()
