"""`build_model(cfg)`: the EFGRNet detector (and its ablations) as a functional Keras model.

Data flow for the full model (paper Sec. 3; the authors' `models/model_builder_vgg.SSD`;
strides 8, 16, 32, 64):

    images ─ backbone ─ sources x1..x4 ─┐
       └─ MSCF ─────────────────────── objectness module (FeatureFusion) ─ s1..s4
    s_l ─ B1_l, C1_l (objectness heads)
    s_l, B1_l, C1_l ─ FGRM_l ─ B2_l, C2_l (final heads)

The backbone's `BackboneSpec` (`backbones.BACKBONES[model.backbone]`) gives the sources and how
the modules above adapt to it: the objectness module's widths and ReLUs, the transition blocks
between it and the heads, the final heads' hidden layers (see `backbones/vgg16.py` and
`backbones/resnet101.py`).
Switches: `feature_enrichment` off → the heads read the sources directly; `cascade` off → one
pair of heads B (A x 4), C (A x num_classes) and no FGRM (both off = SSD baseline).
"""

import keras

from efgrnet_tf.modeling.backbones import BACKBONES
from efgrnet_tf.modeling.conv_bn import BatchNormSettings, scaled_channels
from efgrnet_tf.modeling.fgrm import FeatureGuidedRefinement
from efgrnet_tf.modeling.heads import ConcatenateAnchors, PredictionHead
from efgrnet_tf.modeling.mscf import MultiScaleContextualFeatures
from efgrnet_tf.modeling.objectness_module import FeatureFusion
from efgrnet_tf.modeling.precision import dtype_policy_scope
from efgrnet_tf.modeling.pretrained import load_pretrained_backbone
from efgrnet_tf.modeling.transition import TransitionBlock


def build_model(cfg):
    """Builds the detector described by `cfg` (an `ExperimentConfig`).

    Args:
        cfg: uses `cfg.model` (architecture; `precision` is the dtype policy of every layer,
            whatever Keras' global policy), `cfg.train.sync_batch_norm` (every BN layer's
            `synchronized`) and `cfg.anchors.num_anchors_per_cell` (checked against the model's
            levels when the config loads, `efgrnet_tf.config.checks`).
    Returns:
        `keras.Model` mapping float32 images `[B, S, S, 3]` (S = `cfg.model.image_size`,
        preprocessed: BGR, mean subtracted) to a dict of float32 tensors (under every
        precision), A = 3 x (number of
        cells over the four levels), anchors ordered level → row → column → aspect ratio:
        `box_deltas` `[B, A, 4]` (dx, dy, dw, dh), `class_logits` `[B, A, num_classes]`, and
        with `cfg.model.cascade` also `objectness_deltas` `[B, A, 4]` and `objectness_logits`
        `[B, A, 2]` (background, foreground).
    Raises:
        ValueError: `cfg.model.num_classes` is still 0 (not resolved from the data).
        FileNotFoundError: `cfg.model.pretrained_backbone` names a missing file.
    """
    m = cfg.model
    if m.num_classes == 0:
        raise ValueError(
            "model.num_classes is 0 (take it from the data): resolve it first with "
            "efgrnet_tf.data.classes.resolve_classes(cfg)"
        )
    spec = BACKBONES[m.backbone]
    batch_norm = BatchNormSettings(
        m.batch_norm_momentum, m.batch_norm_epsilon, cfg.train.sync_batch_norm
    )
    with dtype_policy_scope(m.precision):
        model = _build_layers(m, spec, batch_norm, cfg.anchors.num_anchors_per_cell)
    if m.pretrained_backbone:
        load_pretrained_backbone(model, m.pretrained_backbone, spec)
    return model


def _build_layers(m, spec, batch_norm, num_anchors):
    """The functional model of `build_model`, its layers taking the current dtype policy."""
    inputs = keras.Input((m.image_size, m.image_size, 3), name="images")
    images = inputs
    if m.input_scale != 1.0:
        images = keras.layers.Rescaling(m.input_scale, name="input_scale")(images)
    sources = spec.build_sources(images, m, batch_norm)
    if m.feature_enrichment:
        sources = _enrich(images, sources, m, spec, batch_norm)
    outputs = {}
    if m.cascade:
        sources, outputs = _refine(sources, m, batch_norm, num_anchors)
    hidden_layers = spec.final_head_hidden_layers if m.cascade else 0
    head = dict(
        hidden_channels=scaled_channels(spec.final_head_hidden_channels, m.width_multiplier),
        num_hidden_layers=hidden_layers,
        kernel_stddev=m.head_kernel_stddev,
        batch_norm=batch_norm,
    )
    for key, prefix, values in (("box_deltas", "box", 4), ("class_logits", "class", m.num_classes)):
        maps = [
            PredictionHead(num_anchors, values, name=f"{prefix}_head{level}", **head)(x)
            for level, x in enumerate(sources, 1)
        ]
        outputs[key] = ConcatenateAnchors(values, name=key)(maps)
    return keras.Model(inputs, outputs, name=_model_name(m))


def _enrich(images, sources, m, spec, batch_norm):
    """MSCF + the bottom-up objectness module: the four fused features s1..s4, widened by the
    backbone's transition blocks where it has them."""
    guide = MultiScaleContextualFeatures(sources[0].shape[-1], name="mscf", batch_norm=batch_norm)(
        images
    )
    fused = []
    for level, source in enumerate(sources, 1):
        channels = source.shape[-1]
        fusion = FeatureFusion(
            channels
            if spec.fusion_channels is None
            else scaled_channels(spec.fusion_channels, m.width_multiplier),
            downsample_channels=None if level == 1 else channels,
            pre_activation=level in spec.pre_activation_levels,
            name=f"objectness_fusion{level}",
            batch_norm=batch_norm,
        )
        guide = fusion(source, guide)
        fused.append(guide)
    for level, blocks in enumerate(spec.transition_residual_blocks, 1):
        transition = TransitionBlock(
            sources[level - 1].shape[-1],
            blocks,
            name=f"transition{level}",
            batch_norm=batch_norm,
        )
        fused[level - 1] = transition(fused[level - 1])
    return fused


def _refine(sources, m, batch_norm, num_anchors):
    """The objectness heads B1/C1 and the FGRM of every level: (refined features, dict with
    `objectness_deltas` and `objectness_logits`)."""
    head = dict(kernel_stddev=m.head_kernel_stddev)
    deltas, logits, refined = [], [], []
    for level, (x, dilation) in enumerate(zip(sources, m.fgrm_dilations, strict=True), 1):
        deltas.append(PredictionHead(num_anchors, 4, name=f"objectness_box_head{level}", **head)(x))
        logits.append(
            PredictionHead(num_anchors, 2, name=f"objectness_class_head{level}", **head)(x)
        )
        fgrm = FeatureGuidedRefinement(
            scaled_channels(m.fgrm_channels, m.width_multiplier),
            dilation,
            num_anchors=num_anchors,
            offset_source=m.fgrm_offsets,
            offset_bn_relu=m.fgrm_offset_bn_relu,
            implementation=m.deform_conv_implementation,
            name=f"fgrm{level}",
            batch_norm=batch_norm,
        )
        refined.append(fgrm(x, deltas[-1], logits[-1]))
    outputs = {
        "objectness_deltas": ConcatenateAnchors(4, name="objectness_deltas")(deltas),
        "objectness_logits": ConcatenateAnchors(2, name="objectness_logits")(logits),
    }
    return refined, outputs


def _model_name(m):
    if m.feature_enrichment and m.cascade:
        kind = "efgrnet"
    elif m.feature_enrichment:
        kind = "ssd_fe"
    elif m.cascade:
        kind = "ssd_cascade"
    else:
        kind = "ssd"
    return f"{kind}_{m.backbone}_{m.image_size}"
