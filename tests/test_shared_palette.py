"""fit_palette on a list of images: one palette for all of them."""

from __future__ import annotations

import numpy as np
import pytest
from images import two_tone
from kmeans_quantize import fit_palette


def test_one_palette_for_a_list_of_images_is_the_palette_of_all_their_pixels() -> None:
    frames = [two_tone(seed) for seed in range(3)]
    frames[1] = frames[1][:25, :40]  # sizes may differ
    together = fit_palette(frames, 6, seed=0)
    column = np.concatenate([frame.reshape(-1, 1, 3) for frame in frames])
    alone = fit_palette(column, 6, seed=0)
    np.testing.assert_array_equal(together.colors, alone.colors)
    np.testing.assert_array_equal(together.counts, alone.counts)
    assert together.counts.sum() == sum(frame.shape[0] * frame.shape[1] for frame in frames)
    with pytest.raises(ValueError, match="one kind"):
        fit_palette([frames[0], frames[0][..., 0]], 4)
    with pytest.raises(ValueError, match="one mask"):
        fit_palette(frames, 4, mask=np.ones((40, 60), bool))
    with pytest.raises(ValueError, match="one mask"):
        fit_palette(frames, 4, mask=[None, None])


def test_masks_for_a_list_of_images_fit_only_the_selected_pixels_of_each() -> None:
    frames = [two_tone(seed) for seed in range(2)]
    masks = [np.zeros(frames[0].shape[:2], bool), None]
    masks[0][5:20, 10:30] = True
    together = fit_palette(frames, 5, seed=1, mask=masks)
    column = np.concatenate([frames[0][masks[0]], frames[1].reshape(-1, 3)])[:, None, :]
    alone = fit_palette(column, 5, seed=1)
    np.testing.assert_array_equal(together.colors, alone.colors)
    np.testing.assert_array_equal(together.counts, alone.counts)
    assert together.counts.sum() == masks[0].sum() + frames[1].shape[0] * frames[1].shape[1]
