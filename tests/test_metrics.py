"""Image-quality measures: MSE, PSNR and CIEDE2000.

The CIEDE2000 reference is the complete test data set of G. Sharma, W. Wu and E. N. Dalal,
"The CIEDE2000 color-difference formula: implementation notes, supplementary test data,
and mathematical observations", Color Research & Application 30(1), 2005, Table 1: 34
pairs chosen to exercise every branch of the formula (hue wrap-around, the mean-hue
convention, zero chroma, the rotation term). Values are published to four decimals.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from kmeans_quantize.metrics import delta_e_2000, mean_delta_e_2000, mse, psnr

DTYPES = [np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32), np.dtype(np.float64)]
dtype_param = pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)

# (L1, a1, b1), (L2, a2, b2), Delta E 2000 -- Sharma, Wu & Dalal (2005), Table 1, pairs 1-34.
SHARMA_PAIRS = [
    ((50.0000, 2.6772, -79.7751), (50.0000, 0.0000, -82.7485), 2.0425),
    ((50.0000, 3.1571, -77.2803), (50.0000, 0.0000, -82.7485), 2.8615),
    ((50.0000, 2.8361, -74.0200), (50.0000, 0.0000, -82.7485), 3.4412),
    ((50.0000, -1.3802, -84.2814), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, -1.1848, -84.8006), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, -0.9009, -85.5211), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, 0.0000, 0.0000), (50.0000, -1.0000, 2.0000), 2.3669),
    ((50.0000, -1.0000, 2.0000), (50.0000, 0.0000, 0.0000), 2.3669),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0009), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0010), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0011), 7.2195),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0012), 7.2195),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0009, -2.4900), 4.8045),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0010, -2.4900), 4.8045),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0011, -2.4900), 4.7461),
    ((50.0000, 2.5000, 0.0000), (50.0000, 0.0000, -2.5000), 4.3065),
    ((50.0000, 2.5000, 0.0000), (73.0000, 25.0000, -18.0000), 27.1492),
    ((50.0000, 2.5000, 0.0000), (61.0000, -5.0000, 29.0000), 22.8977),
    ((50.0000, 2.5000, 0.0000), (56.0000, -27.0000, -3.0000), 31.9030),
    ((50.0000, 2.5000, 0.0000), (58.0000, 24.0000, 15.0000), 19.4535),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.1736, 0.5854), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.2972, 0.0000), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 1.8634, 0.5757), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.2592, 0.3350), 1.0000),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((63.0109, -31.0961, -5.8663), (62.8187, -29.7946, -4.0864), 1.2630),
    ((61.2901, 3.7196, -5.3901), (61.4292, 2.2480, -4.9620), 1.8731),
    ((35.0831, -44.1164, 3.7933), (35.0232, -40.0716, 1.5901), 1.8645),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((36.4612, 47.8580, 18.3852), (36.2715, 50.5065, 21.2231), 1.4146),
    ((90.8027, -2.0831, 1.4410), (91.1528, -1.6435, 0.0447), 1.4441),
    ((90.9257, -0.5406, -0.9208), (88.6381, -0.8985, -0.7239), 1.5381),
    ((6.7747, -0.2908, -2.4247), (5.8714, -0.0985, -2.2286), 0.6377),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]
FIRST = np.array([pair[0] for pair in SHARMA_PAIRS])
SECOND = np.array([pair[1] for pair in SHARMA_PAIRS])
EXPECTED = np.array([pair[2] for pair in SHARMA_PAIRS])


def scaled(unit: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Values in [0, 1] stored as ``dtype``."""
    if dtype.kind == "u":
        return np.rint(np.asarray(unit) * np.iinfo(dtype).max).astype(dtype)
    return np.asarray(unit).astype(dtype)


# --- CIEDE2000 ----------------------------------------------------------------------------------


def test_the_table_has_all_34_pairs() -> None:
    assert len(SHARMA_PAIRS) == 34


@pytest.mark.parametrize(("lab1", "lab2", "expected"), SHARMA_PAIRS, ids=[f"pair{i}" for i in range(1, 35)])
def test_delta_e_2000_matches_sharma_wu_dalal(lab1: tuple, lab2: tuple, expected: float) -> None:
    result = delta_e_2000(lab1, lab2)
    assert result.shape == ()
    assert float(result) == pytest.approx(expected, abs=1e-4)


def test_delta_e_2000_is_vectorised() -> None:
    result = delta_e_2000(FIRST, SECOND)
    assert result.shape == (34,) and result.dtype == np.float64
    np.testing.assert_allclose(result, EXPECTED, atol=1e-4, rtol=0)
    grid = delta_e_2000(FIRST.reshape(2, 17, 3), SECOND.reshape(2, 17, 3))
    np.testing.assert_array_equal(grid, result.reshape(2, 17))


def test_delta_e_2000_broadcasts() -> None:
    result = delta_e_2000(FIRST[:, None, :], SECOND[None, :4, :])
    assert result.shape == (34, 4)
    np.testing.assert_allclose(result[:6, 0], EXPECTED[:6], atol=1e-4, rtol=0)


def test_delta_e_2000_is_symmetric() -> None:
    np.testing.assert_allclose(delta_e_2000(SECOND, FIRST), delta_e_2000(FIRST, SECOND), rtol=0, atol=1e-12)
    rng = np.random.default_rng(1)
    lab1 = np.column_stack([rng.uniform(0, 100, 2000), rng.uniform(-100, 100, (2000, 2))])
    lab2 = np.column_stack([rng.uniform(0, 100, 2000), rng.uniform(-100, 100, (2000, 2))])
    np.testing.assert_allclose(delta_e_2000(lab2, lab1), delta_e_2000(lab1, lab2), rtol=0, atol=1e-10)


def test_delta_e_2000_is_zero_for_identical_colours() -> None:
    rng = np.random.default_rng(2)
    lab = np.column_stack([rng.uniform(0, 100, 500), rng.uniform(-100, 100, (500, 2))])
    lab[:3] = [[0, 0, 0], [50, 0, 0], [100, 0, 0]]
    np.testing.assert_array_equal(delta_e_2000(lab, lab), np.zeros(500))
    np.testing.assert_array_equal(delta_e_2000(FIRST, FIRST), np.zeros(34))


def test_delta_e_2000_on_the_neutral_axis_is_the_weighted_lightness_difference() -> None:
    # With a* = b* = 0 only the lightness term is left: |dL| / S_L, where
    # S_L = 1 + 0.015 (Lm - 50)^2 / sqrt(20 + (Lm - 50)^2). At Lm = 50, S_L = 1.
    assert float(delta_e_2000([0, 0, 0], [100, 0, 0])) == pytest.approx(100.0, abs=1e-12)
    s_l = 1 + 0.015 * 400 / math.sqrt(20 + 400)
    assert float(delta_e_2000([60, 0, 0], [80, 0, 0])) == pytest.approx(20 / s_l, abs=1e-12)


def test_neutral_colours_do_not_depend_on_the_sign_of_zero() -> None:
    # atan2 gives 0 or 180 degrees for a*, b* = +-0; a neutral colour has no hue, and the
    # result must be the same whichever angle it gets (pairs 7 and 8 fix the value).
    for zero_a, zero_b in [(0.0, 0.0), (-0.0, 0.0), (0.0, -0.0), (-0.0, -0.0)]:
        assert float(delta_e_2000([50, zero_a, zero_b], [50, -1, 2])) == pytest.approx(2.3669, abs=1e-4)
        assert float(delta_e_2000([50, -1, 2], [50, zero_a, zero_b])) == pytest.approx(2.3669, abs=1e-4)


def test_delta_e_2000_rejects_other_shapes() -> None:
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 3\)"):
        delta_e_2000([50, 0], [50, 0])
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 3\)"):
        delta_e_2000(np.zeros((4, 3)), np.zeros((4, 4)))


# --- MSE and PSNR -------------------------------------------------------------------------------


@dtype_param
def test_mse_and_psnr_hand_computed(dtype: np.dtype) -> None:
    # 2x2 RGB: twelve values, one differs by 3/255 of full scale and one by 1/255,
    # so the MSE is (9 + 1) / 12 on the 0-255 scale.
    a = np.zeros((2, 2, 3))
    b = np.zeros((2, 2, 3))
    b[0, 1, 2] = 3 / 255
    b[1, 0, 0] = 1 / 255
    a, b = scaled(a, dtype), scaled(b, dtype)
    assert mse(a, b) == pytest.approx(10 / 12, rel=1e-6)
    assert mse(b, a) == pytest.approx(10 / 12, rel=1e-6)
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 / (10 / 12)), rel=1e-6)


def test_mse_of_uint8_is_exact() -> None:
    a = np.array([[0, 255], [10, 20]], dtype=np.uint8)
    b = np.array([[255, 0], [13, 16]], dtype=np.uint8)
    assert mse(a, b) == (255**2 + 255**2 + 9 + 16) / 4
    assert psnr(a, b) == 10 * math.log10(255**2 / mse(a, b))


def test_full_scale_difference_gives_zero_db() -> None:
    black = np.zeros((3, 3), np.uint8)
    white = np.full((3, 3), 255, np.uint8)
    assert mse(black, white) == 255**2
    assert psnr(black, white) == 0.0


@dtype_param
def test_identical_arrays(dtype: np.dtype) -> None:
    image = scaled(np.random.default_rng(0).random((5, 6, 4)), dtype)
    assert mse(image, image.copy()) == 0.0
    assert psnr(image, image.copy()) == math.inf


def test_dtypes_can_be_mixed() -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(0, 256, (4, 5, 3))
    as_uint8 = values.astype(np.uint8)
    as_uint16 = (values * 257).astype(np.uint16)  # 65535 / 255 = 257: the same levels
    as_float = (values / 255).astype(np.float64)
    assert mse(as_uint8, as_uint16) == pytest.approx(0.0, abs=1e-20)
    assert mse(as_uint8, as_float) == pytest.approx(0.0, abs=1e-20)
    assert mse(as_uint16, as_uint8 // 2) == pytest.approx(mse(as_uint8, as_uint8 // 2), rel=1e-12)


def test_mse_input_errors() -> None:
    a = np.zeros((2, 2), np.uint8)
    with pytest.raises(ValueError, match="same shape"):
        mse(a, np.zeros((2, 3), np.uint8))
    with pytest.raises(
        TypeError, match="b must be a uint8, uint16, float32 or float64 numpy array, got int64"
    ):
        mse(a, np.zeros((2, 2), np.int64))
    with pytest.raises(TypeError, match="got list"):
        mse([[0, 0], [0, 0]], a)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"float values must be finite and lie in \[0, 1\]"):
        psnr(a, np.full((2, 2), 2.0))
    with pytest.raises(ValueError, match="finite"):
        mse(np.full((2, 2), np.nan), a)
    with pytest.raises(ValueError, match="empty"):
        mse(np.zeros((0, 3), np.uint8), np.zeros((0, 3), np.uint8))


# --- mean Delta E 2000 over images --------------------------------------------------------------


@dtype_param
def test_black_against_white_is_100(dtype: np.dtype) -> None:
    # L* 0 against L* 100, a* = b* = 0: the mean lightness is 50, so S_L = 1 and dE = 100.
    black, white = scaled(np.zeros((3, 4)), dtype), scaled(np.ones((3, 4)), dtype)
    assert mean_delta_e_2000(black, white) == pytest.approx(100.0, abs=1e-6)
    rgb_black, rgb_white = scaled(np.zeros((3, 4, 3)), dtype), scaled(np.ones((3, 4, 3)), dtype)
    assert mean_delta_e_2000(rgb_black, rgb_white) == pytest.approx(100.0, abs=1e-6)
    assert mean_delta_e_2000(rgb_black[..., :1], rgb_white[..., :1]) == pytest.approx(100.0, abs=1e-6)


@dtype_param
def test_identical_images_have_zero_difference(dtype: np.dtype) -> None:
    image = scaled(np.random.default_rng(4).random((6, 7, 3)), dtype)
    assert mean_delta_e_2000(image, image.copy()) == 0.0


def test_mean_is_over_pixels() -> None:
    black = np.zeros((2, 2, 3), np.uint8)
    half = black.copy()
    half[0] = 255
    assert mean_delta_e_2000(black, half) == pytest.approx(50.0, abs=1e-6)


def test_gray_equals_the_same_rgb_gray() -> None:
    rng = np.random.default_rng(5)
    gray_a, gray_b = rng.integers(0, 256, (2, 5, 6), dtype=np.uint8)
    gray_result = mean_delta_e_2000(gray_a, gray_b)
    rgb_result = mean_delta_e_2000(np.repeat(gray_a[..., None], 3, 2), np.repeat(gray_b[..., None], 3, 2))
    assert gray_result == pytest.approx(rgb_result, abs=1e-12)
    assert gray_result > 0


def test_dtypes_can_be_mixed_in_mean_delta_e() -> None:
    values = np.random.default_rng(6).integers(0, 256, (4, 4, 3))
    assert mean_delta_e_2000(values.astype(np.uint8), (values * 257).astype(np.uint16)) == pytest.approx(
        0.0, abs=1e-9
    )


def test_mask_selects_the_compared_pixels() -> None:
    black = np.zeros((2, 3, 3), np.uint8)
    other = black.copy()
    other[0, 0] = 255
    mask = np.ones((2, 3), bool)
    assert mean_delta_e_2000(black, other) == pytest.approx(100 / 6, abs=1e-6)
    mask[0, 0] = False
    assert mean_delta_e_2000(black, other, mask) == 0.0
    only = np.zeros((2, 3), bool)
    only[0, 0] = True
    assert mean_delta_e_2000(black, other, only) == pytest.approx(100.0, abs=1e-6)


def test_alpha_is_ignored_but_transparent_pixels_are_left_out() -> None:
    a = np.zeros((1, 2, 4), np.uint8)
    b = a.copy()
    a[..., 3] = 255
    b[..., 3] = 255
    b[0, 1, :3] = 255
    b[0, 0, 3] = 17  # different alpha, same colour: not a colour difference
    assert mean_delta_e_2000(a, b) == pytest.approx(50.0, abs=1e-6)
    b[0, 1, 3] = 0  # the differing pixel becomes fully transparent in one image
    assert mean_delta_e_2000(a, b) == 0.0


def test_mean_delta_e_errors() -> None:
    a = np.zeros((2, 2, 3), np.uint8)
    with pytest.raises(ValueError, match="same shape"):
        mean_delta_e_2000(a, np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match="no pixels to compare"):
        mean_delta_e_2000(a, a, np.zeros((2, 2), bool))
    with pytest.raises(TypeError, match="unsupported pixel dtype"):
        mean_delta_e_2000(a.astype(np.int32), a.astype(np.int32))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        mean_delta_e_2000(np.full((2, 2), 1.5), np.zeros((2, 2)))
