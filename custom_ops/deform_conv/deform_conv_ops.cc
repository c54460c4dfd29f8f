// Registration of EfgrnetDeformConv2D and EfgrnetDeformConv2DGrad, and of their sampling halves
// EfgrnetDeformIm2Col and EfgrnetDeformCol2Im (bfloat16; deform_conv2d composes them with
// TensorFlow's MatMul, whose oneDNN kernels run bfloat16 GEMMs with float32 accumulation on AMX
// and AVX512-BF16, while the fused ops compute in float32), with their shape functions.
// Semantics: those of torchvision.ops.deform_conv2d (docs/design.md, "Deformable convolution");
// layouts: deform_conv_geometry.h.
#include "deform_conv_params.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace efgrnet {
namespace deform_conv {
namespace {

using tensorflow::shape_inference::DimensionHandle;
using tensorflow::shape_inference::InferenceContext;

DimensionHandle DimOrUnknown(InferenceContext* context, int64_t value) {
  return value >= 0 ? context->MakeDim(value) : context->UnknownDim();
}

absl::Status ReadGeometry(InferenceContext* context, DeformConvGeometry* geometry) {
  DeformConvAttrs attrs;
  TF_RETURN_IF_ERROR(ReadAttrs(context, &attrs));
  return ValidateInputs(attrs, ToPartialShape(context, context->input(0)),
                        ToPartialShape(context, context->input(1)),
                        ToPartialShape(context, context->input(2)),
                        ToPartialShape(context, context->input(3)), geometry);
}

// Output 0: one row per output pixel, [batch, out_h, out_w, row_width].
void SetPixelRowsOutput(InferenceContext* context, const DeformConvGeometry& g,
                        int64_t row_width) {
  context->set_output(0, context->MakeShape({DimOrUnknown(context, g.batch),
                                             DimOrUnknown(context, g.out_h),
                                             DimOrUnknown(context, g.out_w),
                                             DimOrUnknown(context, row_width)}));
}

// Outputs [0, count): the gradients of inputs [0, count), shaped like them except the mask's,
// an empty [0] without use_mask.
void SetInputGradientOutputs(InferenceContext* context, const DeformConvGeometry& g, int count) {
  for (int i = 0; i < count; ++i) {
    const bool empty_mask = i == 2 && !g.use_mask;
    context->set_output(i, empty_mask ? context->MakeShape({0}) : context->input(i));
  }
}

absl::Status ForwardShape(InferenceContext* context) {
  DeformConvGeometry g;
  TF_RETURN_IF_ERROR(ReadGeometry(context, &g));
  SetPixelRowsOutput(context, g, g.out_channels);
  return absl::OkStatus();
}

absl::Status GradShape(InferenceContext* context) {
  DeformConvGeometry g;
  TF_RETURN_IF_ERROR(ReadGeometry(context, &g));
  TF_RETURN_IF_ERROR(ValidateGradOutput(g, ToPartialShape(context, context->input(4))));
  SetInputGradientOutputs(context, g, 4);
  return absl::OkStatus();
}

absl::Status Im2ColShape(InferenceContext* context) {
  DeformConvGeometry g;
  TF_RETURN_IF_ERROR(ReadGeometry(context, &g));
  SetPixelRowsOutput(context, g, g.channels >= 0 ? g.column_width() : -1);
  return absl::OkStatus();
}

absl::Status Col2ImShape(InferenceContext* context) {
  DeformConvGeometry g;
  TF_RETURN_IF_ERROR(ReadGeometry(context, &g));
  TF_RETURN_IF_ERROR(ValidateGradColumns(g, ToPartialShape(context, context->input(4))));
  SetInputGradientOutputs(context, g, 3);
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("EfgrnetDeformConv2D")
    .Input("input: T")
    .Input("offset: T")
    .Input("mask: T")
    .Input("kernel: T")
    .Output("output: T")
    .Attr("T: {float, half, bfloat16}")
    .Attr("strides: list(int) = [1, 1]")
    .Attr("padding: list(int) = [0, 0]")
    .Attr("dilations: list(int) = [1, 1]")
    .Attr("deformable_groups: int = 1")
    .Attr("use_mask: bool = false")
    .SetShapeFn(ForwardShape)
    .Doc(R"doc(
Deformable 2-D convolution (DCNv1, or DCNv2 with use_mask), torchvision semantics.

input: [batch, height, width, channels], NHWC.
offset: [batch, out_h, out_w, 2 * deformable_groups * kh * kw]; channel g*2*kh*kw + 2*k is the
  dy and + 1 the dx of tap k = i*kw + j of group g.
mask: [batch, out_h, out_w, deformable_groups * kh * kw] when use_mask, else an empty tensor.
kernel: [kh, kw, channels, out_channels], HWIO.
output: [batch, out_h, out_w, out_channels], out_h = (height + 2*ph - (dh*(kh-1)+1)) // sh + 1.
strides: [sh, sw], positive.
padding: [ph, pw] implicit zero padding, non-negative.
dilations: [dh, dw], positive.
deformable_groups: channels is divided into this many groups, each with its own offsets.
use_mask: multiply each sample by the mask (DCNv2 modulation).
)doc");

REGISTER_OP("EfgrnetDeformConv2DGrad")
    .Input("input: T")
    .Input("offset: T")
    .Input("mask: T")
    .Input("kernel: T")
    .Input("grad_output: T")
    .Output("grad_input: T")
    .Output("grad_offset: T")
    .Output("grad_mask: T")
    .Output("grad_kernel: T")
    .Attr("T: {float, half, bfloat16}")
    .Attr("strides: list(int) = [1, 1]")
    .Attr("padding: list(int) = [0, 0]")
    .Attr("dilations: list(int) = [1, 1]")
    .Attr("deformable_groups: int = 1")
    .Attr("use_mask: bool = false")
    .SetShapeFn(GradShape)
    .Doc(R"doc(
Gradients of EfgrnetDeformConv2D with respect to its four inputs, given grad_output
[batch, out_h, out_w, out_channels]. grad_mask is an empty tensor [0] when use_mask is false.
)doc");

REGISTER_OP("EfgrnetDeformIm2Col")
    .Input("input: T")
    .Input("offset: T")
    .Input("mask: T")
    .Input("kernel: T")
    .Output("columns: T")
    .Attr("T: {bfloat16}")
    .Attr("strides: list(int) = [1, 1]")
    .Attr("padding: list(int) = [0, 0]")
    .Attr("dilations: list(int) = [1, 1]")
    .Attr("deformable_groups: int = 1")
    .Attr("use_mask: bool = false")
    .SetShapeFn(Im2ColShape)
    .Doc(R"doc(
The im2col matrix of EfgrnetDeformConv2D (same inputs and attributes): columns
[batch, out_h, out_w, kh * kw * channels], entry (i * kw + j) * channels + c the masked bilinear
sample of channel c at tap (i, j), so that reshaped to [rows, kh * kw * channels] and multiplied
by the kernel reshaped to [kh * kw * channels, out_channels] it gives EfgrnetDeformConv2D.
Samples are computed in float32 and rounded once to bfloat16 (the only type: float32 and half
use the fused op). The kernel is read for its shape only.
)doc");

REGISTER_OP("EfgrnetDeformCol2Im")
    .Input("input: T")
    .Input("offset: T")
    .Input("mask: T")
    .Input("kernel: T")
    .Input("grad_columns: T")
    .Output("grad_input: T")
    .Output("grad_offset: T")
    .Output("grad_mask: T")
    .Attr("T: {bfloat16}")
    .Attr("strides: list(int) = [1, 1]")
    .Attr("padding: list(int) = [0, 0]")
    .Attr("dilations: list(int) = [1, 1]")
    .Attr("deformable_groups: int = 1")
    .Attr("use_mask: bool = false")
    .SetShapeFn(Col2ImShape)
    .Doc(R"doc(
Gradients of EfgrnetDeformIm2Col with respect to input, offset and mask, given grad_columns
[batch, out_h, out_w, kh * kw * channels]; computed in float32 and rounded once. grad_mask is
an empty tensor [0] when use_mask is false. The kernel is read for its shape only.
)doc");

}  // namespace deform_conv
}  // namespace efgrnet
