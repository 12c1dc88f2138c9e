"""The demo page in a real headless Chromium: upload a photo, get it
restored, see what the model recognised.

Chromium and its WebDriver come from the Debian packages; with CI=true a
missing browser fails this test (tools/setup_env.sh installs it there),
elsewhere it is skipped with the command that installs it.
"""
import os

import numpy as np
import pytest
from demo_testing import CLASSES, DEMO_INSTALL, in_ci, need
from demo_browser import (BROWSER_INSTALL, fetch_image, find_browser,
                          full_page_screenshot, start_chromium,
                          upload_and_wait)

from sler_ir_mm.apis import read_image, restore_image

PLAIN = dict(zip(CLASSES, ('noise', 'rain', 'haze', 'blur', 'low light')))


@pytest.fixture(scope='module')
def chromium():
    need('selenium', DEMO_INSTALL)
    browser, driver = find_browser()
    if browser is None or driver is None:
        missing = 'chromium' if browser is None else 'chromedriver'
        message = (f'{missing} is not installed; install the browser and '
                   f'its driver (as root): {BROWSER_INSTALL}')
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    session = start_chromium(browser, driver)
    yield session
    session.quit()


def test_upload_restore_and_recognition_in_a_browser(chromium, demo_url,
                                                     tiny_model, examples,
                                                     tmp_path):
    from selenium.webdriver.common.by import By
    photo = examples[0]  # noise
    image = upload_and_wait(chromium, demo_url, photo)
    try:
        shown = fetch_image(image.get_attribute('src'))
        source = read_image(photo)
        expected = restore_image(tiny_model, photo)
        # The restored photo is shown, and it is not the input.
        assert shown.shape == source.shape
        assert np.array_equal(shown, expected.image)
        assert np.abs(shown.astype(int) - source.astype(int)).mean() > 1
        # The recognised degradation is shown, with its score.
        label = PLAIN[expected.recognition.label]
        widget = chromium.find_element(By.ID, 'sler-recognition').text
        assert label in widget
        text = chromium.find_element(By.ID, 'sler-recognition-text').text
        assert f'Recognised: {label}' in text
        path = chromium.find_element(By.ID, 'sler-route-text').text
        assert '-'.join(map(str, expected.route.tolist())) in path
        status = chromium.find_element(By.ID, 'sler-status').text
        assert 'peak resident memory' in status
    finally:
        shot = os.environ.get('SLER_IR_DEMO_SCREENSHOT') or str(
            tmp_path / 'gradio_demo.png')
        full_page_screenshot(chromium, shot)
        print(f'screenshot: {shot}')
    assert os.path.getsize(shot) > 10_000
