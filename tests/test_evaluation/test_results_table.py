import math

import pytest

from sler_ir_mm.evaluation import (average_rows, format_results_table,
                                   group_averages, is_composite,
                                   summarize_metrics)

METRICS = {
    'SOTS/PSNR': 30.0, 'SOTS/SSIM': 0.97,
    'Rain100L/PSNR': 38.0, 'Rain100L/SSIM': 0.98,
    'CBSD68_sigma25/PSNR': 31.0, 'CBSD68_sigma25/SSIM': 0.89,
    'SOTS/MAE': 0.1, 'data_time': 0.01,
}


def harm(prefix, n, psnr, se, inp, rate, worst):
    return {f'{prefix}/N': n, f'{prefix}/PSNR': psnr,
            f'{prefix}/PSNR_SE': se, f'{prefix}/SSIM': 0.9,
            f'{prefix}/InputPSNR': inp, f'{prefix}/HarmRate': rate,
            f'{prefix}/WorstLoss': worst}


# Two single sets and a composite, as the mini benchmark v2 names them.
MIXED = {
    **harm('Rain', 10, 30.0, 0.3, 25.0, 0.0, -2.0),
    **harm('Haze', 30, 26.0, 0.4, 20.0, 0.2, 1.5),
    **harm('Rain+Haze', 20, 22.0, 0.5, 18.0, 0.5, 3.0),
}


def test_summary_groups_by_set_in_order_and_averages():
    summary = summarize_metrics(METRICS)
    assert list(summary['sets']) == ['SOTS', 'Rain100L', 'CBSD68_sigma25']
    assert summary['sets']['Rain100L'] == {'PSNR': 38.0, 'SSIM': 0.98}
    assert summary['average']['PSNR'] == pytest.approx(33.0)
    assert summary['average']['SSIM'] == pytest.approx((0.97 + 0.98 + 0.89) /
                                                       3)
    # No composite: the single-degradation and all-set averages agree.
    assert list(summary['averages']) == ['single', 'all']
    assert summary['averages']['all'] == summary['average']


def test_group_averages_single_composite_all():
    assert is_composite('Rain+Haze') and not is_composite('CBSD68-s25')
    summary = summarize_metrics(MIXED)
    single, composite, everything = (summary['averages'][g]
                                     for g in ('single', 'composite', 'all'))
    # The paper's "Average" is over the single-degradation sets.
    assert summary['average'] == single
    assert single['PSNR'] == pytest.approx(28.0)
    assert composite['PSNR'] == pytest.approx(22.0)
    assert everything['PSNR'] == pytest.approx(26.0)
    assert everything['InputPSNR'] == pytest.approx(21.0)
    # Images add up, the harm rate is over all images, the worst is the
    # worst set's, and the SE is that of the mean of the set means.
    assert everything['N'] == 60
    assert everything['HarmRate'] == pytest.approx((0 + 6 + 10) / 60)
    assert everything['WorstLoss'] == 3.0
    assert single['PSNR_SE'] == pytest.approx(math.sqrt(0.09 + 0.16) / 2)
    # The helper works on a summary's sets alone (e.g. an older
    # results.json without 'averages').
    assert group_averages(summary['sets']) == summary['averages']


def test_table_rows_and_average_rows():
    lines = format_results_table(summarize_metrics(MIXED)).splitlines()
    # The note says which PSNR is which and what harm means.
    assert "MMagic's PSNR and SSIM metrics on the float outputs" in lines[0]
    assert 'Harm rate' in lines[0] and 'composite' in lines[0]
    assert lines[2] == ('| Set | Images | PSNR ± SE | SSIM | Input PSNR | '
                        'Harm rate | Worst loss (dB) |')
    assert lines[4] == '| Rain | 10 | 30.00 ± 0.30 | 0.900 | 25.00 | 0.0% ' \
        '| -2.00 |'
    assert lines[6] == ('| Rain+Haze | 20 | 22.00 ± 0.50 | 0.900 | 18.00 | '
                        '50.0% | +3.00 |')
    assert [line.split(' | ')[0] for line in lines[7:]] == [
        '| Average (single degradations)', '| Average (composites)',
        '| Average (all sets)'
    ]
    assert lines[9].startswith('| Average (all sets) | 60 | 26.00 ± ')
    assert '| 26.7% | +3.00 |' in lines[9]
    assert len({line.count('|') for line in lines[2:]}) == 1


def test_one_average_row_without_composites_and_dashes_for_missing():
    lines = format_results_table(summarize_metrics(METRICS)).splitlines()
    assert 'composite' not in lines[0]
    assert lines[4] == '| SOTS | - | 30.00 | 0.970 | - | - | - |'
    assert lines[7] == '| Average | - | 33.00 | 0.947 | - | - | - |'
    assert len(lines) == 8
    assert len(average_rows(summarize_metrics({'a+b/PSNR': 20.0}))) == 1


def test_scikit_image_columns_when_reported():
    metrics = dict(METRICS, **{'SOTS/SkPSNR': 29.5, 'SOTS/SkSSIM': 0.96})
    lines = format_results_table(summarize_metrics(metrics)).splitlines()
    assert 'scikit-image' in lines[0]
    assert lines[2].endswith('| PSNR / SSIM (scikit-image, 8-bit) |')
    assert lines[4].endswith('| 29.50 / 0.960 |')
    assert lines[5].endswith('| - / - |')
    assert lines[7].endswith('| 29.50 / 0.960 |')  # the sets reporting it


def test_nan_is_left_out():
    summary = summarize_metrics({'a/PSNR': 20.0, 'a/PSNR_SE': float('nan')})
    assert summary['sets'] == {'a': {'PSNR': 20.0}}
