// Attributes and input-shape validation of EfgrnetDeformConv2D / EfgrnetDeformConv2DGrad,
// shared by the shape functions (where dimensions may be unknown) and the CPU/GPU kernels (where
// they are known), so that both report the same errors.
#ifndef EFGRNET_CUSTOM_OPS_DEFORM_CONV_DEFORM_CONV_PARAMS_H_
#define EFGRNET_CUSTOM_OPS_DEFORM_CONV_DEFORM_CONV_PARAMS_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "deform_conv_geometry.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace efgrnet {
namespace deform_conv {

struct DeformConvAttrs {
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t groups = 1;
  bool use_mask = false;
};

// Reads and checks `strides`, `padding`, `dilations` (each [h, w]), `deformable_groups` and
// `use_mask`: strides and dilations must be positive, padding non-negative, groups positive.
absl::Status ReadAttrs(tensorflow::OpKernelConstruction* context, DeformConvAttrs* attrs);
absl::Status ReadAttrs(tensorflow::shape_inference::InferenceContext* context,
                       DeformConvAttrs* attrs);

// A possibly partially known shape: `known_rank` false means nothing is known; a dimension of
// -1 is unknown. Checks involving an unknown value are skipped.
struct PartialShape {
  bool known_rank = false;
  std::vector<int64_t> dims;
};

PartialShape ToPartialShape(const tensorflow::TensorShape& shape);
PartialShape ToPartialShape(tensorflow::shape_inference::InferenceContext* context,
                            tensorflow::shape_inference::ShapeHandle shape);

// Validates the four inputs of the forward op and fills `geometry` (unknown sizes are -1).
// Errors are InvalidArgument and name the offending argument.
absl::Status ValidateInputs(const DeformConvAttrs& attrs, const PartialShape& input,
                            const PartialShape& offset, const PartialShape& mask,
                            const PartialShape& kernel, DeformConvGeometry* geometry);

// Validates grad_output of the gradient op against the forward geometry: [N, Ho, Wo, O].
absl::Status ValidateGradOutput(const DeformConvGeometry& geometry,
                                const PartialShape& grad_output);

// Validates grad_columns of EfgrnetDeformCol2Im: [N, Ho, Wo, kh * kw * C].
absl::Status ValidateGradColumns(const DeformConvGeometry& geometry,
                                 const PartialShape& grad_columns);

}  // namespace deform_conv
}  // namespace efgrnet

#endif  // EFGRNET_CUSTOM_OPS_DEFORM_CONV_DEFORM_CONV_PARAMS_H_
