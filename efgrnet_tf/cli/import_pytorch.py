"""`efgrnet-import-pytorch` / `scripts/import_pytorch.py`: the authors' trained `.pth` → a run
folder that `efgrnet-evaluate`, `efgrnet-export` and `efgrnet-predict --checkpoint` read.

    efgrnet-import-pytorch --config configs/coco_vgg16_320.yaml \
        --torch_checkpoint EFGRNet_vgg_coco_320.pth --output_dir runs/authors_coco320

Writes `output_dir/ckpt-0` and `output_dir/config.yaml` (the config with
`model.pretrained_backbone` cleared) and prints the checkpoint path; see
`efgrnet_tf.training.import_pytorch`. Needs PyTorch (`pip install .[pytorch]`). The flags are
defined when `run()` starts, so importing this module defines none.
"""

from __future__ import annotations

from absl import app, flags

from efgrnet_tf.cli import config_flags, launch


def define_flags(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Defines the import flags, all required, on `flag_values`."""
    config_flags.define_config_flags(
        "Experiment YAML the PyTorch model was trained as (configs/coco_vgg16_320.yaml, ...).",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "torch_checkpoint",
        None,
        "The authors' .pth: their training checkpoint or a bare state_dict (torch zip or "
        "legacy format, with or without DataParallel's `module.`).",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "output_dir",
        None,
        "Run folder to write (new or empty): ckpt-0 and config.yaml.",
        flag_values=flag_values,
    )
    flags.mark_flags_as_required(
        ["config", "torch_checkpoint", "output_dir"], flag_values=flag_values
    )


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    cfg = config_flags.config_from_flags()
    # TensorFlow and the model load only here, so flag and config errors come at once.
    from efgrnet_tf.training.import_pytorch import import_torch_checkpoint

    print(import_torch_checkpoint(cfg, flags.FLAGS.torch_checkpoint, flags.FLAGS.output_dir))
    return 0


def run() -> None:
    define_flags()
    launch.run_tool(main, [__name__, config_flags.MODULE])
