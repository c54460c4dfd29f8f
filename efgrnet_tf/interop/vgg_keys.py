"""The authors' VGG16 EFGRNet state_dict keys → our variables (and SSD's VGG16 trunk keys).

Key names are those of the authors' `models/model_builder_vgg.SSD` around
`models/efrgnet_vgg.VGG16Extractor` (the `extractor`): SSD's `vgg` ModuleList (convs at indices
0, 2, ..., 28, fc6 at 31, fc7 at 33), `ibn1`/`ibn2` (the BatchNorms replacing SSD's L2Norm),
`extras`, the MSCF `icn1`, `Norm1..4`, `dsc1..3`; then `arm_loc`, `arm_conf`, `loc_offset_conv`,
`dcn_convs`, `bn_layers`, `odm_loc`, `odm_conf`. 210 tensors for the full model
(`num_batches_tracked` counters have no variable and are not in the maps). With their
`MODEL.REFINE` off (our `cascade: false`, feature enrichment on: the "+FE" ablation) only
`arm_loc`/`arm_conf` follow the extractor, with `num_classes` logits: our single-stage heads.
Head, offset and MSCF channel orders are the same as ours: only kernels change layout.
"""

from __future__ import annotations

from efgrnet_tf.interop.layouts import TensorTarget
from efgrnet_tf.interop.torch_modules import (
    AUTHORS_FGRM_SETTINGS,
    AUTHORS_SETTINGS,
    batch_norm_targets,
    check_authors_settings,
    conv_bn_targets,
    conv_targets,
    fgrm_targets,
    mscf_targets,
    objectness_fusion_targets,
    objectness_head_targets,
)

VGG16_CONV_LAYERS = tuple(
    f"block{block}_conv{i}"
    for block, convs in ((1, 2), (2, 2), (3, 3), (4, 3), (5, 3))
    for i in range(1, convs + 1)
)
# Index of each conv in SSD's `vgg` ModuleList (ReLUs and pools take the indices between).
SSD_VGG16_INDICES = (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
SSD_FC_INDICES = {"fc6": 31, "fc7": 33}
# `extras.0..3` of the authors' `add_extras`.
EXTRAS_LAYERS = ("conv8_1", "conv8_2", "conv9_1", "conv9_2")
NUM_LEVELS = 4
# Our final (or, without the cascade, single-stage) box and class heads.
HEADS = ("box_head", "class_head")
# The VGG16 networks the authors' code defines: every one has the feature enrichment; the FGRM
# settings apply when `cascade` is on.
VGG_SETTINGS = {**AUTHORS_SETTINGS, "model.backbone": "vgg16", "model.vgg_batch_norm": False}


def ssd_vgg16_key_map(model) -> dict[str, TensorTarget]:
    """SSD `vgg16_reducedfc.pth` keys (`0.weight`, ..., `33.bias`) → the VGG16 trunk's variables."""
    layers = dict(zip(SSD_VGG16_INDICES, VGG16_CONV_LAYERS, strict=True))
    layers.update({index: name for name, index in SSD_FC_INDICES.items()})
    targets = {}
    for index, name in layers.items():
        targets.update(conv_targets(str(index), model.get_layer(name)))
    return targets


def vgg_key_map(model, cfg) -> dict[str, TensorTarget]:
    """Every tensor of the authors' VGG16 EFGRNet state_dict → one variable of `model`.

    Args:
        model: `build_model(cfg)`.
        cfg: an `ExperimentConfig` of a VGG16 network the authors' code defines (`VGG_SETTINGS`,
            and `AUTHORS_FGRM_SETTINGS` with `cascade`): the full EFGRNet (210 tensors) or,
            with `cascade` off, the "+FE" ablation (154 tensors).
    Returns:
        dict torch key (without DataParallel's `module.`) → `TensorTarget`.
    Raises:
        UnsupportedVariantError: `cfg` describes another network (naming the fields).
    """
    check_vgg_variant(cfg)
    cascade = cfg.model.cascade
    keys = {f"extractor.vgg.{k}": t for k, t in ssd_vgg16_key_map(model).items()}
    keys.update(_extractor_modules(model))
    box, classes = ("objectness_box_head", "objectness_class_head") if cascade else HEADS
    for i in range(NUM_LEVELS):
        level = i + 1
        keys.update(
            objectness_head_targets(
                i, model.get_layer(f"{box}{level}"), model.get_layer(f"{classes}{level}")
            )
        )
        if not cascade:
            continue
        keys.update(fgrm_targets(i, model.get_layer(f"fgrm{level}")))
        keys.update(conv_targets(f"odm_loc.{i}", model.get_layer(f"box_head{level}").predict))
        keys.update(conv_targets(f"odm_conf.{i}", model.get_layer(f"class_head{level}").predict))
    return keys


def check_vgg_variant(cfg) -> None:
    """Refuses a config of a VGG16 network the authors' code does not define.

    Raises:
        UnsupportedVariantError: naming every field that differs from `VGG_SETTINGS` (and, with
            `cascade`, `AUTHORS_FGRM_SETTINGS`).
    """
    fgrm = AUTHORS_FGRM_SETTINGS if cfg.model.cascade else {}
    check_authors_settings(cfg, "VGG16 EFGRNet", {**VGG_SETTINGS, **fgrm})


def _extractor_modules(model):
    """`extractor.` keys of the source BNs, extras, MSCF and bottom-up objectness fusion."""
    keys = {}
    keys.update(batch_norm_targets("extractor.ibn1.bn", model.get_layer("conv4_3_norm")))
    keys.update(batch_norm_targets("extractor.ibn2.bn", model.get_layer("fc7_norm")))
    for index, name in enumerate(EXTRAS_LAYERS):
        keys.update(conv_bn_targets(f"extractor.extras.{index}", model.get_layer(name)))
    keys.update(mscf_targets("extractor.icn1", model.get_layer("mscf")))
    # Norm1/Norm2 are `BasicRFB_a` (ReLU, then `single_branch.0`), Norm3/Norm4 `BasicConv`s.
    norms = [
        f"extractor.Norm{level}" + (".single_branch.0" if level <= 2 else "")
        for level in range(1, NUM_LEVELS + 1)
    ]
    keys.update(objectness_fusion_targets(model, norms))
    return keys
