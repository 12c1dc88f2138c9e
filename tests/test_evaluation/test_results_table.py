import pytest

from sler_ir_mm.evaluation import format_results_table, summarize_metrics

METRICS = {
    'SOTS/PSNR': 30.0, 'SOTS/SSIM': 0.97,
    'Rain100L/PSNR': 38.0, 'Rain100L/SSIM': 0.98,
    'CBSD68_sigma25/PSNR': 31.0, 'CBSD68_sigma25/SSIM': 0.89,
    'SOTS/MAE': 0.1, 'data_time': 0.01,
}


def test_summary_groups_by_set_in_order_and_averages():
    summary = summarize_metrics(METRICS)
    assert list(summary['sets']) == ['SOTS', 'Rain100L', 'CBSD68_sigma25']
    assert summary['sets']['Rain100L'] == {'PSNR': 38.0, 'SSIM': 0.98}
    assert summary['average']['PSNR'] == pytest.approx(33.0)
    assert summary['average']['SSIM'] == pytest.approx((0.97 + 0.98 + 0.89) /
                                                       3)


def test_table_layout():
    table = format_results_table(summarize_metrics(METRICS))
    lines = table.splitlines()
    assert lines[0] == '(PSNR / SSIM)'
    assert lines[1] == '| SOTS | Rain100L | CBSD68_sigma25 | Average |'
    assert lines[3] == ('| 30.00 / 0.970 | 38.00 / 0.980 | 31.00 / 0.890 | '
                        '33.00 / 0.947 |')


def test_missing_metric_is_a_dash():
    table = format_results_table(summarize_metrics({'a/PSNR': 20.0}))
    assert '| 20.00 / - | 20.00 / - |' in table
