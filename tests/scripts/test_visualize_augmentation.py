"""`scripts/visualize_augmentation.py` draws a grid of augmented samples with their boxes."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from efgrnet_tf.visualization import PALETTE
from tests.cli.test_cli_conventions import REPO_ROOT, run_script

pytestmark = pytest.mark.slow


def test_writes_a_grid_of_samples_with_boxes_in_their_class_colours(tmp_path):
    output = tmp_path / "grid.png"
    result = run_script(
        "visualize_augmentation",
        f"--output={output}",
        "--num_images=2",
        f"--config={os.path.join(REPO_ROOT, 'configs', 'shapes_vgg16_128.yaml')}",
        "--override=model.image_size=64",
        "--override=data.deterministic=true",  # the same two samples every run
    )
    assert result.returncode == 0, result.stderr[-3000:]
    grid = np.asarray(Image.open(output).convert("RGB"))
    assert grid.shape == (64 + 4, 2 * (64 + 4), 3)  # 2 columns, 1 row, 4-pixel gutters
    assert (grid[:, 64:68] == 255).all() and (grid[64:] == 255).all()
    # Both samples keep objects large enough to draw: each tile shows a label strip's colour.
    for tile in (grid[:64, :64], grid[:64, 68:132]):
        colours = {tuple(pixel) for pixel in tile.reshape(-1, 3)}
        assert colours & set(PALETTE)
