"""A PyTorch reference of the authors' VGG16 EFGRNet (design.md; their state_dict key names).

Module attribute names reproduce the keys of the authors' `model_builder_vgg.SSD` around
`efrgnet_vgg.VGG16Extractor` (`extractor.vgg.N`, `extractor.icn1`, `extractor.Norm1..4`, ...,
`arm_loc`, `odm_conf`); the code is ours. `refine=False` is their `MODEL.REFINE` off: the
extractor with `arm_loc`/`arm_conf` carrying the class logits (our "+FE" ablation).
"""

import torch
from torch import nn

from tests.interop.torch_reference_modules import (
    DILATIONS,
    NUM_ANCHORS,
    BasicConv,
    DeformConv,
    Single,
    mscf,
    per_anchor,
    refine_and_predict,
)

LEVEL_CHANNELS = (512, 1024, 256, 256)
# SSD's VGG16: conv channels, "M" a 2x2/2 max-pool, "C" the same rounding up.
VGG16_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "C", 512, 512, 512, "M", 512, 512, 512)
# `vgg[:CONV4_3_END]` ends with conv4_3's ReLU.
CONV4_3_END = 23


def ssd_vgg16_layers():
    """SSD's `vgg` ModuleList: convs at 0, 2, ..., 28, pool5 at 30, fc6 at 31, fc7 at 33."""
    layers, cin = [], 3
    for v in VGG16_LAYOUT:
        if v in ("M", "C"):
            layers.append(nn.MaxPool2d(2, 2, ceil_mode=v == "C"))
        else:
            layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU()]
            cin = v
    layers += [nn.MaxPool2d(3, 1, 1), nn.Conv2d(512, 1024, 3, padding=6, dilation=6), nn.ReLU()]
    layers += [nn.Conv2d(1024, 1024, 1), nn.ReLU()]
    return nn.ModuleList(layers)


class PreActivated(nn.Module):
    """ReLU, then a BasicConv under `single_branch.0` (the authors' `BasicRFB_a`: Norm1, Norm2)."""

    def __init__(self, channels):
        super().__init__()
        self.single_branch = nn.Sequential(BasicConv(channels, channels, 3))

    def forward(self, x):
        return self.single_branch(torch.relu(x))


class SourceNorm(nn.Module):
    """BatchNorm without ReLU under `bn` (the authors' `IBN`, SSD's L2Norm replaced)."""

    def __init__(self, channels):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x):
        return self.bn(x)


class Extractor(nn.Module):
    """SSD VGG16 + extras + MSCF (`icn1`) + bottom-up fusion (`Norm1..4`, `dsc1..3`)."""

    def __init__(self):
        super().__init__()
        self.vgg = ssd_vgg16_layers()
        self.extras = nn.ModuleList(
            [
                BasicConv(1024, 256, 1),
                BasicConv(256, 256, 3, 2),
                BasicConv(256, 128, 1),
                BasicConv(128, 256, 3, 2),
            ]
        )
        self.Norm1, self.Norm2 = PreActivated(512), PreActivated(1024)
        self.Norm3, self.Norm4 = BasicConv(256, 256, 3), BasicConv(256, 256, 3)
        self.icn1 = mscf()
        for k, (cin, cout) in enumerate(((512, 1024), (1024, 256), (256, 256)), 1):
            setattr(self, f"dsc{k}", Single(BasicConv(cin, cout, 3, 2, relu=False)))
        self.ibn1, self.ibn2 = SourceNorm(512), SourceNorm(1024)

    def forward(self, x):
        pooled = x
        for _ in range(3):  # the authors' `impn1..3`
            pooled = nn.functional.max_pool2d(pooled, 2)
        guide = self.icn1(pooled)
        for layer in self.vgg[:CONV4_3_END]:
            x = layer(x)
        s1 = self.Norm1(self.ibn1(x) * guide)
        for layer in self.vgg[CONV4_3_END:]:
            x = layer(x)
        s2 = self.Norm2(self.ibn2(x) * self.dsc1(s1))
        x = self.extras[1](self.extras[0](x))
        s3 = self.Norm3(x * self.dsc2(s2))
        x = self.extras[3](self.extras[2](x))
        s4 = self.Norm4(x * self.dsc3(s3))
        return [s1, s2, s3, s4]


class VGGEFGRNet(nn.Module):
    """The authors' VGG16 EFGRNet (or with `refine=False` their REFINE-off "+FE" network).

    `forward(images, offset_mutation=None)` returns `refine_and_predict`'s dict; with `refine`
    off, `box_deltas` and `class_logits` from `arm_loc`/`arm_conf` only.
    """

    def __init__(self, num_classes, refine=True):
        super().__init__()
        a = NUM_ANCHORS
        self.extractor = Extractor()
        arm_classes = 2 if refine else num_classes
        self.arm_loc = nn.ModuleList(nn.Conv2d(c, a * 4, 3, padding=1) for c in LEVEL_CHANNELS)
        self.arm_conf = nn.ModuleList(
            nn.Conv2d(c, a * arm_classes, 3, padding=1) for c in LEVEL_CHANNELS
        )
        self.refine = refine
        if not refine:
            return
        self.loc_offset_conv = nn.ModuleList(BasicConv(a * 2, 18, 1) for _ in LEVEL_CHANNELS)
        self.dcn_convs = nn.ModuleList(
            DeformConv(c, d) for c, d in zip(LEVEL_CHANNELS, DILATIONS, strict=True)
        )
        self.bn_layers = nn.ModuleList(nn.BatchNorm2d(256) for _ in LEVEL_CHANNELS)
        self.odm_loc = nn.ModuleList(nn.Conv2d(256, a * 4, 3, padding=1) for _ in LEVEL_CHANNELS)
        self.odm_conf = nn.ModuleList(
            nn.Conv2d(256, a * num_classes, 3, padding=1) for _ in LEVEL_CHANNELS
        )

    def forward(self, images, offset_mutation=None):
        sources = self.extractor(images)
        if self.refine:
            return refine_and_predict(self, sources, offset_mutation)
        return {
            "box_deltas": torch.cat(
                [per_anchor(self.arm_loc[i](x)) for i, x in enumerate(sources)], 1
            ),
            "class_logits": torch.cat(
                [per_anchor(self.arm_conf[i](x)) for i, x in enumerate(sources)], 1
            ),
        }
