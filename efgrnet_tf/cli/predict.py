"""`efgrnet-predict` / `scripts/predict.py`: detections on image files, as JSON and drawings.

    efgrnet-predict --saved_model_dir exports/efgrnet --output_dir out images/ photo.jpg
    efgrnet-predict --config configs/voc_vgg16_320.yaml --checkpoint runs/voc320 \
        --output_dir out images/ [--tta]

Writes `output_dir/detections.json`, `output_dir/<image stem>.png` and `output_dir/skipped.json`
(files left out: unreadable images, other files and sub-folders of a folder, each also warned
about), see `efgrnet_tf.serving.predict_files.predict_images`. Detections carry the data set's
class ids and names (`efgrnet_tf.data.classes.LabelMap`).
"""

from __future__ import annotations

import os
import sys

from absl import app, flags

from efgrnet_tf.cli import config_flags, launch
from efgrnet_tf.data.classes import with_classes
from efgrnet_tf.serving import predictor
from efgrnet_tf.serving.predict_files import list_images, predict_images
from efgrnet_tf.serving.predictor import Detector
from efgrnet_tf.serving.saved_model_detection import resolve_saved_model_dir

_SAVED_MODEL_DIR = flags.DEFINE_string(
    "saved_model_dir",
    None,
    "An export base folder (its highest version, as TF Serving serves) or a version folder "
    "BASE/N; or give --config/--checkpoint.",
)
config_flags.define_config_flags("Experiment YAML, to run a training checkpoint.")
_CHECKPOINT = config_flags.define_checkpoint_flag()
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Where detections.json and PNGs go.")
_SCORE_THRESHOLD = flags.DEFINE_float(
    "score_threshold", 0.3, "Detections scoring below this are neither written nor drawn."
)
_DRAW_SCORE_THRESHOLD = flags.DEFINE_float(
    "draw_score_threshold",
    None,
    "Draw only detections scoring at least this (they are all written); default: "
    "--score_threshold.",
)
_TTA = flags.DEFINE_bool(
    "tta",
    False,
    "Multi-size + flip inference with box voting, as the config's `tta:` section says "
    "(needs --config/--checkpoint).",
)
_DRAWING_MIN_SIDE = flags.DEFINE_integer(
    "drawing_min_side", 0, "Draw smaller images enlarged (integer factor) to this shorter side."
)


def load_detector() -> Detector:
    """The detector the flags name: an export, or a config and a checkpoint."""
    if _SAVED_MODEL_DIR.value:
        if _TTA.value:
            raise app.UsageError("--tta runs a training checkpoint: give --config/--checkpoint")
        if flags.FLAGS.config or _CHECKPOINT.value:
            raise app.UsageError("give either --saved_model_dir or --config/--checkpoint")
        return predictor.saved_model_detector(resolve_saved_model_dir(_SAVED_MODEL_DIR.value))
    if not (flags.FLAGS.config and _CHECKPOINT.value):
        raise app.UsageError("give --saved_model_dir, or both --config and --checkpoint")
    cfg = with_classes(config_flags.config_from_flags())
    if _TTA.value:
        if not cfg.tta.scales:
            raise app.UsageError(f"--tta: {flags.FLAGS.config} has no tta.scales")
        return predictor.checkpoint_tta_detector(cfg, _CHECKPOINT.value)
    return predictor.checkpoint_detector(cfg, _CHECKPOINT.value)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        raise app.UsageError("give one or more image files or folders")
    image_paths, skipped = list_images(argv[1:])
    detector = load_detector()
    draw_threshold = max(_SCORE_THRESHOLD.value, _DRAW_SCORE_THRESHOLD.value or 0.0)
    print(
        f"writing detections scoring >= {_SCORE_THRESHOLD.value:g}, drawing those >= "
        f"{draw_threshold:g}",
        file=sys.stderr,
    )
    results, skipped = predict_images(
        detector,
        image_paths,
        _OUTPUT_DIR.value,
        _SCORE_THRESHOLD.value,
        drawing_min_side=_DRAWING_MIN_SIDE.value,
        skipped=skipped,
        draw_score_threshold=draw_threshold,
    )
    print(
        f"predicted {len(results)} images, skipped {len(skipped)} files"
        + (f" (listed in {os.path.join(_OUTPUT_DIR.value, 'skipped.json')})" if skipped else ""),
        file=sys.stderr,
    )
    print(os.path.join(_OUTPUT_DIR.value, "detections.json"))
    return 0


def run() -> None:
    flags.mark_flags_as_required(["output_dir"])
    launch.run_tool(main, [__name__, config_flags.MODULE])
