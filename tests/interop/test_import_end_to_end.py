"""The authors' checkpoint through every tool, as a user runs them: `efgrnet-import-pytorch` →
`efgrnet-evaluate` → `efgrnet-export` → `efgrnet-predict`, on the synthetic shapes set at 128x128.

The file is the torch reference with random weights, saved as the authors' `train_coco.py` saves
(legacy format, DataParallel's `module.`, the training-checkpoint dict).
"""

import json

import numpy as np
import pytest
import torch
from PIL import Image

import efgrnet_tf
from efgrnet_tf.config import load_config
from efgrnet_tf.data.classes import label_map
from efgrnet_tf.serving import image_tensor
from efgrnet_tf.serving.export_module import DetectionExportModule
from efgrnet_tf.serving.predictor import Detector
from efgrnet_tf.training.import_pytorch import load_torch_checkpoint
from tests.cli.test_cli_conventions import run_script
from tests.interop.torch_reference_modules import randomize
from tests.interop.torch_vgg_reference import VGGEFGRNet
from tests.serving.detection_asserts import assert_same_detections

pytestmark = pytest.mark.slow

IMAGE_SIZE = 128
CONFIG = f"""name: authors_shapes
model:
  num_classes: 5
  image_size: {IMAGE_SIZE}
  pretrained_backbone: /weights/vgg16_reducedfc.pth
data:
  source: synthetic
  synthetic:
    image_size: {IMAGE_SIZE}
    eval_size: 4
eval:
  metric: coco
  batch_size: 4
class_names: [circle, rectangle, triangle, cross]
"""


def _authors_file(path):
    torch.manual_seed(0)
    network = VGGEFGRNet(5)
    generator = torch.Generator().manual_seed(1)
    images = 50.0 * torch.randn(2, 3, IMAGE_SIZE, IMAGE_SIZE, generator=generator)
    randomize(network, images, objectness_logit_scale=0.2)
    state = {f"module.{k}": v for k, v in network.state_dict().items()}
    checkpoint = {"epoch": 160, "size": str(IMAGE_SIZE), "batch_size": 32, "model": state}
    torch.save(checkpoint, path, _use_new_zipfile_serialization=False)


def _run(tool, *args):
    """Runs `scripts/<tool>.py ARGS`; returns what it printed on stdout."""
    result = run_script(tool, *args)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip()


def _direct_detector(cfg, torch_checkpoint):
    """The model loaded straight from the .pth in this process, behind `serving_default`'s graph."""
    model = efgrnet_tf.build_model(cfg)
    load_torch_checkpoint(model, cfg, torch_checkpoint)
    serve = image_tensor.serving_function(
        DetectionExportModule(model, cfg, label_map(cfg)).detect, IMAGE_SIZE, cfg.data.mean_bgr
    )
    return Detector(serve, {})


def test_import_evaluate_export_predict(tmp_path):
    config = tmp_path / "authors_shapes.yaml"
    config.write_text(CONFIG)
    torch_checkpoint = str(tmp_path / "EFGRNet_vgg_epoch_160_128.pth")
    _authors_file(torch_checkpoint)
    run = tmp_path / "run"

    printed = _run(
        "import_pytorch",
        f"--config={config}",
        f"--torch_checkpoint={torch_checkpoint}",
        f"--output_dir={run}",
    )
    assert printed == str(run / "ckpt-0")
    imported_config = str(run / "config.yaml")

    _run(
        "evaluate",
        f"--config={imported_config}",
        f"--checkpoint={run}",
        f"--output_dir={tmp_path / 'eval'}",
    )
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["num_images"] == 4
    assert 0.0 <= metrics["AP"] <= 1.0

    version_dir = _run(
        "export",
        f"--config={imported_config}",
        f"--checkpoint={run}",
        f"--export_dir={tmp_path / 'exports'}",
    )
    assert version_dir == str(tmp_path / "exports" / "1")

    pixels = np.random.default_rng(0).integers(0, 256, (96, 160, 3), dtype=np.uint8)
    image = tmp_path / "photo.png"
    Image.fromarray(pixels).save(image)
    _run(
        "predict",
        f"--saved_model_dir={tmp_path / 'exports'}",
        f"--output_dir={tmp_path / 'predictions'}",
        "--score_threshold=0",
        str(image),
    )
    (entry,) = json.loads((tmp_path / "predictions" / "detections.json").read_text())
    records = entry["detections"]
    exported = {
        "detection_boxes": np.array([r["box_yxyx_normalized"] for r in records]),
        "detection_scores": np.array([r["score"] for r in records]),
        "detection_classes": np.array([r["class_id"] for r in records]),
        "num_detections": len(records),
    }
    cfg = load_config(imported_config, ["model.deform_conv_implementation=pure_tf"])
    direct = _direct_detector(cfg, torch_checkpoint)(pixels)
    assert_same_detections(exported, direct)
