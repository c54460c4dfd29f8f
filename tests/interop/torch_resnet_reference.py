"""A PyTorch reference of the authors' ResNet-101 EFGRNet (SPEC; their state_dict key names).

Module attribute names reproduce the authors' `model_builder_resnet.SSD` keys (`extractor.*`,
`arm_loc`, `odm_conf`, ...); the code is ours. The deformable conv is written out with bilinear
sampling (SPEC: Deformable convolution semantics), so no torchvision is needed.
"""

import torch
from torch import nn

LEVEL_CHANNELS = (512, 1024, 512, 256)
DILATIONS = (5, 4, 3, 2)
NUM_ANCHORS = 3


class BasicConv(nn.Module):
    """conv (no bias) → BN → optional ReLU: keys `conv.weight`, `bn.*`."""

    def __init__(self, cin, cout, k, stride=1, dilation=1, relu=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, dilation * (k - 1) // 2, dilation, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = relu

    def forward(self, x):
        x = self.bn(self.conv(x))
        return torch.relu(x) if self.relu else x


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


class Aspp(nn.Module):
    """MSCF's three dilated branches (1, 2, 4) and the 1x1 fuse (BN, no ReLU)."""

    def __init__(self, cin, cout):
        super().__init__()
        inner = cin // 4
        for k, rate in enumerate((1, 2, 4), 1):
            branch = nn.Sequential(BasicConv(cin, inner, 1), BasicConv(inner, inner, 3, 1, rate))
            setattr(self, f"branch_{k}", branch)
        self.branch_4 = BasicConv(3 * inner, cout, 1, relu=False)

    def forward(self, x):
        branches = [getattr(self, f"branch_{k}")(x) for k in (1, 2, 3)]
        return self.branch_4(torch.cat(branches, 1))


class Single(nn.Module):
    """A `single_branch` Sequential wrapper (the authors' MSCF and Downsample key prefix)."""

    def __init__(self, *layers):
        super().__init__()
        self.single_branch = nn.Sequential(*layers)

    def forward(self, x):
        return self.single_branch(x)


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
        self.MSCF = Single(BasicConv(3, 128, 3), BasicConv(128, 128, 1), Aspp(128, 512))
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


def deform_conv(x, offsets, weight, dilation):
    """3x3 deformable conv, stride 1, padding = dilation, one group, no bias.

    x `[N, C, H, W]`; offsets `[N, 18, H, W]` (tap k: channel 2k = dy, 2k + 1 = dx); weight
    `[O, C, 3, 3]`. Bilinear samples are 0 outside the image, corner by corner.
    """
    n, c, h, w = x.shape
    ys = torch.arange(h, dtype=x.dtype).view(1, h, 1)
    xs = torch.arange(w, dtype=x.dtype).view(1, 1, w)
    flat = x.reshape(n, c, h * w)
    out = 0
    for k in range(9):
        i, j = divmod(k, 3)
        y = ys - dilation + i * dilation + offsets[:, 2 * k]
        xx = xs - dilation + j * dilation + offsets[:, 2 * k + 1]
        y0, x0 = torch.floor(y), torch.floor(xx)
        sample = 0
        for cy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
            for cx, wx in ((x0, 1 - (xx - x0)), (x0 + 1, xx - x0)):
                inside = (cy >= 0) & (cy <= h - 1) & (cx >= 0) & (cx <= w - 1)
                index = (cy.clamp(0, h - 1) * w + cx.clamp(0, w - 1)).long().view(n, 1, -1)
                values = torch.gather(flat, 2, index.expand(n, c, -1)).view(n, c, h, w)
                sample = sample + values * (wy * wx * inside).unsqueeze(1)
        out = out + torch.einsum("nchw,oc->nohw", sample, weight[:, :, i, j])
    return out


class DeformConv(nn.Module):
    """The authors' DCNv1 layer: only a `weight` `[256, C, 3, 3]` (no bias)."""

    def __init__(self, cin, dilation):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(256, cin, 3, 3))
        self.dilation = dilation

    def forward(self, x, offsets):
        return deform_conv(x, offsets, self.weight, self.dilation)


class Basic2Conv(nn.Module):
    """Two 1x1 BasicConvs (the ResNet final heads' hidden layers): `branch1`, `branch2`."""

    def __init__(self, cin, cout):
        super().__init__()
        self.branch1 = BasicConv(cin, cout, 1)
        self.branch2 = BasicConv(cout, cout, 1)

    def forward(self, x):
        return self.branch2(self.branch1(x))


class ResNetEFGRNet(nn.Module):
    """The authors' ResNet-101 EFGRNet; `forward` returns our four outputs, anchors flattened."""

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
        outputs = {k: [] for k in ("objectness_deltas", "objectness_logits", "box_deltas")}
        outputs["class_logits"] = []
        for i, x in enumerate(self.extractor(images)):
            deltas, logits = self.arm_loc[i](x), self.arm_conf[i](x)
            attention = torch.sigmoid(torch.amax(logits[:, 1::2], 1, keepdim=True))
            offsets = self.loc_offset_conv[i](torch.cat([deltas[:, 0::4], deltas[:, 1::4]], 1))
            refined = self.dcn_convs[i](x * attention + x, offsets)
            refined = torch.relu(self.bn_layers[i](refined))
            maps = (deltas, logits, self.odm_loc[i](refined), self.odm_conf[i](refined))
            for values, m in zip(outputs.values(), maps, strict=True):
                values.append(m.permute(0, 2, 3, 1).reshape(m.shape[0], -1, m.shape[1] // 3))
        return {name: torch.cat(values, 1) for name, values in outputs.items()}


def randomize(model, images, seed=0):
    """Random weights and BN affine terms, then BN statistics of `images` (momentum 1).

    Convs are He-normal (fan_out); the offset convs' BN shifts up so the FGRM offsets are
    several pixels. Afterwards eval-mode outputs are well scaled at every depth.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d | DeformConv):
                fan_out = module.weight.shape[0] * module.weight[0, 0].numel()
                std = (2.0 / fan_out) ** 0.5
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * std)
            if isinstance(module, nn.Conv2d) and module.bias is not None:
                module.bias.copy_(0.1 * torch.randn(module.bias.shape, generator=generator))
            if isinstance(module, nn.BatchNorm2d):
                module.weight.copy_(0.5 + torch.rand(module.weight.shape, generator=generator))
                module.bias.copy_(0.2 * torch.randn(module.bias.shape, generator=generator))
                module.momentum = 1.0
        for offset_conv in model.loc_offset_conv:
            offset_conv.bn.weight.mul_(2.0)
            offset_conv.bn.bias.add_(1.0)
        model.train()
        model(images)
        model.eval()
