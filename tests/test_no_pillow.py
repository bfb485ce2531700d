"""The library works without Pillow: only the command line needs it.

Each check runs in a fresh interpreter where importing ``PIL`` (or ``PIL.*``) raises
ImportError, as if Pillow were not installed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCK_PILLOW = textwrap.dedent(
    """
    import sys

    class BlockPillow:
        def find_spec(self, name, path=None, target=None):
            if name == "PIL" or name.startswith("PIL."):
                raise ImportError(f"Pillow is blocked in this test ({name})")
            return None

    for loaded in [m for m in sys.modules if m == "PIL" or m.startswith("PIL.")]:
        del sys.modules[loaded]
    sys.meta_path.insert(0, BlockPillow())

    try:
        import PIL.Image  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("the Pillow blocker does not work")
    """
)


def run_without_pillow(body: str) -> subprocess.CompletedProcess[str]:
    code = (
        BLOCK_PILLOW
        + textwrap.dedent(body)
        + '\nassert "PIL" not in sys.modules, "PIL was imported"\nprint("OK")\n'
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def assert_ok(process: subprocess.CompletedProcess[str]) -> None:
    assert process.returncode == 0, process.stderr
    assert process.stdout.strip().splitlines()[-1] == "OK", process.stdout


def test_import_does_not_import_pillow() -> None:
    assert_ok(
        run_without_pillow(
            """
            import kmeans_quantize
            from kmeans_quantize import Palette, QuantizeResult, apply_palette, fit_palette, quantize
            """
        )
    )


def test_library_works_without_pillow() -> None:
    assert_ok(
        run_without_pillow(
            """
            import numpy as np
            from kmeans_quantize import Palette, apply_palette, fit_palette, quantize

            rng = np.random.default_rng(0)
            pixels = rng.integers(0, 256, (16, 20, 4), dtype=np.uint8)
            pixels[:4, :, 3] = 0
            for color_space in ("rgb", "lab", "oklab"):
                result = quantize(pixels, 5, color_space=color_space, seed=0)
                assert result.image.shape == pixels.shape and result.image.dtype == np.uint8
                assert 1 <= len(result.palette) <= 5
                palette = fit_palette(pixels, 5, color_space=color_space, seed=0)
                assert isinstance(palette, Palette)
                assert np.array_equal(palette.colors, result.palette.colors)
                applied = apply_palette(pixels, palette)
                assert applied.shape == pixels.shape
                used = {tuple(c) for c in applied[4:, :, :3].reshape(-1, 3).tolist()}
                assert used <= {tuple(c) for c in palette.colors.tolist()}
            gray = rng.random((8, 9)).astype(np.float32)
            assert quantize(gray, 3, seed=1).image.dtype == np.float32
            """
        )
    )


def test_importing_the_cli_module_does_not_import_pillow() -> None:
    """cli.py imports Pillow lazily, only to read and write files."""
    assert_ok(
        run_without_pillow(
            """
            import kmeans_quantize.cli
            """
        )
    )


def test_blocker_detects_an_import_of_pillow() -> None:
    """The harness itself can fail: code that imports PIL is caught."""
    process = run_without_pillow(
        """
        import PIL
        """
    )
    assert process.returncode != 0
    assert "ImportError" in process.stderr or "ModuleNotFoundError" in process.stderr
