"""`BackboneSpec`: what `build_model` and the weight loading need to know of one backbone."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable


@dataclasses.dataclass(frozen=True)
class BackboneSpec:
    """One backbone: its four detection sources and how the modules above them adapt to it.

    Each backbone's file defines its spec; `backbones.BACKBONES` maps `model.backbone` to it.

    Attributes:
        build_sources: `(images, model_cfg, batch_norm) -> [x1, x2, x3, x4]`: applies the trunk
            to the (scaled) image tensor `[B, S, S, 3]` and returns the sources at strides 8,
            16, 32, 64 (`model_cfg` the `ModelConfig`, `batch_norm` the `BatchNormSettings`).
        load_torch_weights: `(model, path)`: loads an ImageNet `.pth` file into the trunk.
        load_keras_weights: `(model, path)`: loads a Keras ImageNet weights file (`.h5`,
            `.weights.h5`) into the trunk.
        fusion_channels: output channels of the objectness module's Norm layers at width 1;
            None = each level keeps its source's channels.
        pre_activation_levels: fusion levels (1-based) with a ReLU before Norm's conv.
        transition_residual_blocks: with feature enrichment, level k's fused feature passes a
            `TransitionBlock` back to its source's channels with `[k - 1]` residual bottlenecks;
            levels past the tuple's end (all, when empty) keep the fused feature.
        final_head_hidden_layers: 1x1 ConvBN layers before each final head's 3x3 conv (with
            the cascade on; the single-stage heads have none).
        final_head_hidden_channels: their channels at width 1.
    """

    build_sources: Callable
    load_torch_weights: Callable
    load_keras_weights: Callable
    fusion_channels: int | None = None
    pre_activation_levels: tuple[int, ...] = ()
    transition_residual_blocks: tuple[int, ...] = ()
    final_head_hidden_layers: int = 0
    final_head_hidden_channels: int = 512
