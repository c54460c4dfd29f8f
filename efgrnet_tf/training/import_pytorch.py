"""The authors' trained PyTorch EFGRNet → a training checkpoint of this package.

`import_torch_checkpoint(cfg, torch_checkpoint, output_dir)` reads the `.pth`
(`efgrnet_tf.interop.torch_files`), maps every tensor onto the model of `cfg` (`interop.vgg_keys`
or `interop.resnet_keys`, all or none) and writes `output_dir` as a training run folder holding
one checkpoint `ckpt-0` and `config.yaml`, the format `efgrnet-train` writes (model weights, a
fresh optimizer, step and epoch 0), so `efgrnet-evaluate`, `efgrnet-export` and `efgrnet-predict
--checkpoint` read it as they read a trained run, and `efgrnet-train --init_checkpoint`
fine-tunes from it. Only reading the `.pth` needs PyTorch. It writes a run folder, so it lives
with training; `interop/` holds only the tensor mapping, which `modeling/pretrained.py` uses too.
"""

from __future__ import annotations

import dataclasses
import os

import tensorflow as tf
from absl import logging

from efgrnet_tf.config.experiment import ExperimentConfig
from efgrnet_tf.interop.resnet_keys import check_resnet_variant, resnet_key_map
from efgrnet_tf.interop.torch_files import assign_state_dict, read_state_dict
from efgrnet_tf.interop.vgg_keys import check_vgg_variant, vgg_key_map
from efgrnet_tf.modeling.efgrnet import build_model
from efgrnet_tf.training.checkpointing import TrainingCheckpoint
from efgrnet_tf.training.optimizer import optimizer_from_config
from efgrnet_tf.training.run_folder import record_config
from efgrnet_tf.training.schedule import schedule_from_config
from efgrnet_tf.user_errors import UserInputError

# `model.backbone` → (refusal of networks the authors never defined, the key map).
NETWORKS = {
    "vgg16": (check_vgg_variant, vgg_key_map),
    "resnet101": (check_resnet_variant, resnet_key_map),
}


def import_torch_checkpoint(cfg: ExperimentConfig, torch_checkpoint: str, output_dir: str) -> str:
    """Converts the authors' `.pth` into a run folder for `cfg`; returns the checkpoint path.

    Args:
        cfg: the config the checkpoint was trained as (`coco_vgg16_320`, `coco_vgg16_512`, the
            VOC VGG16 configs, the "+FE" ablation, `coco_resnet101_512`), with its class count.
            `model.pretrained_backbone` is cleared: the imported weights replace it.
        torch_checkpoint: the authors' training checkpoint or a bare state_dict, any torch
            format, with or without DataParallel's `module.` prefix.
        output_dir: a new or empty folder.
    Raises:
        FileExistsError: `output_dir` is not empty.
        FileNotFoundError: `torch_checkpoint` does not exist.
        UserInputError: no class count in `cfg`, a network the authors' code does not define
            (`UnsupportedVariantError`), an unreadable file or tensors that do not fit the model
            (`StateDictError`, every missing, unexpected and misshapen key named).
    """
    if tf.io.gfile.isdir(output_dir) and tf.io.gfile.listdir(output_dir):
        raise FileExistsError(f"--output_dir {output_dir} is not empty; give a new folder")
    if not os.path.isfile(torch_checkpoint):
        raise FileNotFoundError(f"--torch_checkpoint {torch_checkpoint} does not exist")
    if cfg.model.num_classes == 0:
        raise UserInputError(
            f"config {cfg.name!r} leaves model.num_classes to the data; give the checkpoint's "
            "class count (background included), e.g. --override model.num_classes=81"
        )
    check_variant, _ = NETWORKS[cfg.model.backbone]
    check_variant(cfg)
    cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, pretrained_backbone=""))
    model = build_model(cfg)
    load_torch_checkpoint(model, cfg, torch_checkpoint)
    tf.io.gfile.makedirs(output_dir)
    path = _write_training_checkpoint(cfg, model, output_dir)
    record_config(cfg, output_dir)
    return path


def load_torch_checkpoint(model, cfg: ExperimentConfig, torch_checkpoint: str) -> None:
    """Assigns every tensor of the authors' `torch_checkpoint` to `model` (`build_model(cfg)`).

    Raises:
        UnsupportedVariantError: `cfg` is a network the authors' code does not define.
        StateDictError: the file cannot be read, or one message naming every missing,
            unexpected and misshapen key, the file and the config; no variable is changed.
    """
    _, key_map = NETWORKS[cfg.model.backbone]
    targets = key_map(model, cfg)
    m = cfg.model
    description = (
        f"{torch_checkpoint!r} into config {cfg.name!r} ({m.backbone}, "
        f"{'EFGRNet' if m.cascade else 'feature enrichment only'}, "
        f"num_classes {m.num_classes})"
    )
    assign_state_dict(targets, read_state_dict(torch_checkpoint), description)
    logging.info("imported %d tensors from %s", len(targets), torch_checkpoint)


def _write_training_checkpoint(cfg, model, output_dir):
    """`ckpt-0` as the trainer writes it: the model, a fresh optimizer, step and epoch 0."""
    # The schedule is not part of the checkpoint: any steps-per-epoch gives the same variables.
    schedule = schedule_from_config(cfg.train, steps_per_epoch=1)
    optimizer = optimizer_from_config(cfg.train, schedule)
    optimizer.build(model.trainable_variables)
    step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    return TrainingCheckpoint(output_dir, model, optimizer, step, epoch).save()
