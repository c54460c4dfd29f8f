"""A PyTorch reference of the authors' ResNet-101 EFGRNet (design.md; their state_dict keys).

Module attribute names reproduce the authors' `model_builder_resnet.SSD` keys (`extractor.*`,
`arm_loc`, `odm_conf`, ...); the code is ours. The parts shared with the VGG16 reference (the
bilinear deformable conv among them) are in `torch_reference_modules`.
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
    refine_and_predict,
)

LEVEL_CHANNELS = (512, 1024, 512, 256)


class Bottleneck(nn.Module):
    """torchvision's bottleneck: stride on the 3x3 conv (padding 1), optional downsample."""

    def __init__(self, cin, planes, stride, downsample):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, 4 * planes, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(4 * planes)
        self.downsample = None
        if downsample:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, 4 * planes, 1, stride, bias=False), nn.BatchNorm2d(4 * planes)
            )

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = torch.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return torch.relu(y + (x if self.downsample is None else self.downsample(x)))


class SmallResidual(nn.Module):
    """ReLU(x + 1x1 → 3x3 → 1x1 BasicConvs): key prefix `single_branch.{0,1,2}`."""

    def __init__(self, c):
        super().__init__()
        self.single_branch = nn.Sequential(
            BasicConv(c, c // 4, 1), BasicConv(c // 4, c // 4, 3), BasicConv(c // 4, c, 1)
        )

    def forward(self, x):
        return torch.relu(self.single_branch(x) + x)


class Extractor(nn.Module):
    """torchvision ResNet-101 trunk + MSCF + bottom-up fusion + transitions + smooth1 + res6."""

    def __init__(self, stride_on_1x1=False):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        cin = 64
        for stage, (blocks, planes, stride) in enumerate(
            ((3, 64, 1), (4, 128, 2), (23, 256, 2), (3, 512, 2)), 1
        ):
            layers = []
            for b in range(blocks):
                layers.append(Bottleneck(cin, planes, stride if b == 0 else 1, b == 0))
                cin = 4 * planes
            setattr(self, f"layer{stage}", nn.Sequential(*layers))
        if stride_on_1x1:
            _move_strides_to_first_1x1(self)
        self.MSCF = mscf()
        for k, cin_norm in enumerate((512, 1024, 512, 256), 1):
            setattr(self, f"Norm{k}", BasicConv(cin_norm, 256, 3))
        for k, cout in enumerate((1024, 512, 256), 1):
            setattr(self, f"dsc{k}", Single(BasicConv(256, cout, 3, 2, relu=False)))
        self.extras = nn.ModuleList([BasicConv(2048, 256, 1), BasicConv(256, 256, 3, 2)])
        self.trans = nn.ModuleList(
            [
                nn.Sequential(SmallResidual(256), SmallResidual(256), BasicConv(256, 512, 1)),
                BasicConv(256, 1024, 1),
                BasicConv(256, 512, 1),
            ]
        )
        self.smooth1 = nn.Conv2d(2048, 512, 3, 1, 1)

    def forward(self, x):
        guide = nn.functional.max_pool2d(x, 2)
        guide = self.MSCF(nn.functional.max_pool2d(nn.functional.max_pool2d(guide, 2), 2))
        c = nn.functional.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        c3 = self.layer2(self.layer1(c))
        d3 = self.Norm1(c3 * guide)
        c4 = self.layer3(c3)
        d4 = self.Norm2(self.dsc1(d3) * c4)
        c5 = self.layer4(c4)
        d5 = self.Norm3(self.smooth1(c5) * self.dsc2(d4))
        d6 = self.Norm4(self.extras[1](self.extras[0](c5)) * self.dsc3(d5))
        return [self.trans[0](d3), self.trans[1](d4), self.trans[2](d5), d6]


def _move_strides_to_first_1x1(extractor):
    """The Caffe-style v1 mutation: each first block strides its 1x1 conv, not its 3x3."""
    for stage in (2, 3, 4):
        block = getattr(extractor, f"layer{stage}")[0]
        block.conv1.stride, block.conv2.stride = (2, 2), (1, 1)


class Basic2Conv(nn.Module):
    """Two 1x1 BasicConvs (the ResNet final heads' hidden layers): `branch1`, `branch2`."""

    def __init__(self, cin, cout):
        super().__init__()
        self.branch1 = BasicConv(cin, cout, 1)
        self.branch2 = BasicConv(cout, cout, 1)

    def forward(self, x):
        return self.branch2(self.branch1(x))


class ResNetEFGRNet(nn.Module):
    """The authors' ResNet-101 EFGRNet; `forward` returns `refine_and_predict`'s outputs."""

    def __init__(self, num_classes, stride_on_1x1=False):
        super().__init__()
        a = NUM_ANCHORS
        self.extractor = Extractor(stride_on_1x1)
        self.arm_loc = nn.ModuleList(nn.Conv2d(c, a * 4, 3, padding=1) for c in LEVEL_CHANNELS)
        self.arm_conf = nn.ModuleList(nn.Conv2d(c, a * 2, 3, padding=1) for c in LEVEL_CHANNELS)
        self.loc_offset_conv = nn.ModuleList(BasicConv(a * 2, 18, 1) for _ in LEVEL_CHANNELS)
        self.dcn_convs = nn.ModuleList(
            DeformConv(c, d) for c, d in zip(LEVEL_CHANNELS, DILATIONS, strict=True)
        )
        self.bn_layers = nn.ModuleList(nn.BatchNorm2d(256) for _ in LEVEL_CHANNELS)
        self.odm_loc = nn.ModuleList(
            nn.Sequential(Basic2Conv(256, 512), nn.Conv2d(512, a * 4, 3, padding=1))
            for _ in LEVEL_CHANNELS
        )
        self.odm_conf = nn.ModuleList(
            nn.Sequential(Basic2Conv(256, 512), nn.Conv2d(512, a * num_classes, 3, padding=1))
            for _ in LEVEL_CHANNELS
        )
        self.num_classes = num_classes

    def forward(self, images):
        return refine_and_predict(self, self.extractor(images))
