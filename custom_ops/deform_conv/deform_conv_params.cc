#include "deform_conv_params.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace efgrnet {
namespace deform_conv {
namespace {

using tensorflow::shape_inference::InferenceContext;

absl::Status Invalid(const std::string& message) {
  return absl::InvalidArgumentError(absl::StrCat("EfgrnetDeformConv2D: ", message));
}

std::string ShapeString(const PartialShape& shape) {
  if (!shape.known_rank) return "<unknown>";
  return absl::StrCat("[", absl::StrJoin(shape.dims, ", "), "]");
}

bool Known(int64_t value) { return value >= 0; }

// Reads list attribute `name` of exactly two values into (*h, *w).
template <typename Context>
absl::Status ReadPair(Context* context, const char* name, int64_t* h, int64_t* w) {
  std::vector<int64_t> values;
  TF_RETURN_IF_ERROR(context->GetAttr(name, &values));
  if (values.size() != 2) {
    return Invalid(absl::StrCat("`", name, "` must have 2 values [h, w], got ", values.size()));
  }
  *h = values[0];
  *w = values[1];
  return absl::OkStatus();
}

template <typename Context>
absl::Status ReadAttrsImpl(Context* context, DeformConvAttrs* attrs) {
  TF_RETURN_IF_ERROR(ReadPair(context, "strides", &attrs->stride_h, &attrs->stride_w));
  TF_RETURN_IF_ERROR(ReadPair(context, "padding", &attrs->pad_h, &attrs->pad_w));
  TF_RETURN_IF_ERROR(ReadPair(context, "dilations", &attrs->dilation_h, &attrs->dilation_w));
  TF_RETURN_IF_ERROR(context->GetAttr("deformable_groups", &attrs->groups));
  TF_RETURN_IF_ERROR(context->GetAttr("use_mask", &attrs->use_mask));
  if (attrs->stride_h <= 0 || attrs->stride_w <= 0) {
    return Invalid(absl::StrCat("`strides` must be positive, got [", attrs->stride_h, ", ",
                                attrs->stride_w, "]"));
  }
  if (attrs->dilation_h <= 0 || attrs->dilation_w <= 0) {
    return Invalid(absl::StrCat("`dilations` must be positive, got [", attrs->dilation_h, ", ",
                                attrs->dilation_w, "]"));
  }
  if (attrs->pad_h < 0 || attrs->pad_w < 0) {
    return Invalid(absl::StrCat("`padding` must be non-negative, got [", attrs->pad_h, ", ",
                                attrs->pad_w, "]"));
  }
  if (attrs->groups <= 0) {
    return Invalid(absl::StrCat("`deformable_groups` must be positive, got ", attrs->groups));
  }
  return absl::OkStatus();
}

absl::Status CheckRank(const char* name, const PartialShape& shape, int rank,
                       const char* layout) {
  if (shape.known_rank && static_cast<int>(shape.dims.size()) != rank) {
    return Invalid(absl::StrCat("`", name, "` must have rank ", rank, " ", layout, ", got shape ",
                                ShapeString(shape)));
  }
  return absl::OkStatus();
}

// Dimension `axis` of a rank-checked shape, -1 when unknown.
int64_t Dim(const PartialShape& shape, int axis) {
  return shape.known_rank ? shape.dims[axis] : -1;
}

// `name`[axis] (called `what`) must equal `expected` (`expected_what`) when both are known.
absl::Status CheckDim(const char* name, const PartialShape& shape, int axis, const char* what,
                      int64_t expected, const std::string& expected_what) {
  const int64_t actual = Dim(shape, axis);
  if (Known(actual) && Known(expected) && actual != expected) {
    return Invalid(absl::StrCat("`", name, "` ", what, " must be ", expected_what, " = ",
                                expected, ", got ", actual, " (shape ", ShapeString(shape), ")"));
  }
  return absl::OkStatus();
}

// `name`, one row per output pixel of `g`: [batch, out_h, out_w, row_width] (`layout`), the row
// width called `row_width_what`.
absl::Status ValidatePixelRows(const char* name, const PartialShape& shape,
                               const DeformConvGeometry& g, const char* layout,
                               int64_t row_width, const std::string& row_width_what) {
  TF_RETURN_IF_ERROR(CheckRank(name, shape, 4, layout));
  TF_RETURN_IF_ERROR(CheckDim(name, shape, 0, "batch", g.batch, "the batch"));
  TF_RETURN_IF_ERROR(CheckDim(name, shape, 1, "height", g.out_h, "the output height"));
  TF_RETURN_IF_ERROR(CheckDim(name, shape, 2, "width", g.out_w, "the output width"));
  return CheckDim(name, shape, 3, "channels", row_width, row_width_what);
}

}  // namespace

absl::Status ReadAttrs(tensorflow::OpKernelConstruction* context, DeformConvAttrs* attrs) {
  return ReadAttrsImpl(context, attrs);
}

absl::Status ReadAttrs(InferenceContext* context, DeformConvAttrs* attrs) {
  return ReadAttrsImpl(context, attrs);
}

PartialShape ToPartialShape(const tensorflow::TensorShape& shape) {
  PartialShape result;
  result.known_rank = true;
  for (int i = 0; i < shape.dims(); ++i) result.dims.push_back(shape.dim_size(i));
  return result;
}

PartialShape ToPartialShape(InferenceContext* context,
                            tensorflow::shape_inference::ShapeHandle shape) {
  PartialShape result;
  result.known_rank = context->RankKnown(shape);
  if (!result.known_rank) return result;
  for (int i = 0; i < context->Rank(shape); ++i) {
    result.dims.push_back(context->Value(context->Dim(shape, i)));  // kUnknownDim is -1
  }
  return result;
}

absl::Status ValidateInputs(const DeformConvAttrs& attrs, const PartialShape& input,
                            const PartialShape& offset, const PartialShape& mask,
                            const PartialShape& kernel, DeformConvGeometry* g) {
  TF_RETURN_IF_ERROR(CheckRank("input", input, 4, "[batch, height, width, channels]"));
  TF_RETURN_IF_ERROR(
      CheckRank("kernel", kernel, 4, "[kernel_h, kernel_w, in_channels, out_channels]"));
  TF_RETURN_IF_ERROR(CheckRank("offset", offset, 4, "[batch, out_h, out_w, 2*G*kh*kw]"));
  if (attrs.use_mask) {
    TF_RETURN_IF_ERROR(CheckRank("mask", mask, 4, "[batch, out_h, out_w, G*kh*kw]"));
  } else if (mask.known_rank) {
    // Without use_mask the mask is a placeholder; anything known to hold values is a mistake.
    const bool known_non_empty = std::all_of(mask.dims.begin(), mask.dims.end(),
                                             [](int64_t d) { return d > 0; });
    if (known_non_empty) {
      return Invalid(absl::StrCat("`mask` must be empty when use_mask is false, got shape ",
                                  ShapeString(mask)));
    }
  }

  g->stride_h = attrs.stride_h;
  g->stride_w = attrs.stride_w;
  g->pad_h = attrs.pad_h;
  g->pad_w = attrs.pad_w;
  g->dilation_h = attrs.dilation_h;
  g->dilation_w = attrs.dilation_w;
  g->groups = attrs.groups;
  g->use_mask = attrs.use_mask;
  g->batch = Dim(input, 0);
  g->in_h = Dim(input, 1);
  g->in_w = Dim(input, 2);
  g->channels = Dim(input, 3);
  g->kernel_h = Dim(kernel, 0);
  g->kernel_w = Dim(kernel, 1);
  g->out_channels = Dim(kernel, 3);

  if ((Known(g->kernel_h) && g->kernel_h == 0) || (Known(g->kernel_w) && g->kernel_w == 0)) {
    return Invalid(absl::StrCat("`kernel` must have a positive spatial size, got shape ",
                                ShapeString(kernel)));
  }
  TF_RETURN_IF_ERROR(CheckDim("kernel", kernel, 2, "in_channels (dimension 2)", g->channels,
                              "the input channels"));
  if (Known(g->channels) && g->channels % g->groups != 0) {
    return Invalid(absl::StrCat("`input` channels (", g->channels,
                                ") must be divisible by deformable_groups (", g->groups, ")"));
  }

  g->out_h = -1;
  g->out_w = -1;
  if (Known(g->in_h) && Known(g->kernel_h)) {
    g->out_h = OutputSize(g->in_h, g->kernel_h, g->stride_h, g->pad_h, g->dilation_h);
  }
  if (Known(g->in_w) && Known(g->kernel_w)) {
    g->out_w = OutputSize(g->in_w, g->kernel_w, g->stride_w, g->pad_w, g->dilation_w);
  }
  if ((Known(g->in_h) && Known(g->kernel_h) && g->out_h <= 0) ||
      (Known(g->in_w) && Known(g->kernel_w) && g->out_w <= 0)) {
    return Invalid(absl::StrCat("output size must be positive, got [", g->out_h, ", ", g->out_w,
                                "] from input ", ShapeString(input), ", kernel ",
                                ShapeString(kernel), ", padding [", g->pad_h, ", ", g->pad_w,
                                "], dilations [", g->dilation_h, ", ", g->dilation_w, "]"));
  }

  const bool taps_known = Known(g->kernel_h) && Known(g->kernel_w);
  const int64_t taps = taps_known ? g->kernel_h * g->kernel_w : -1;
  TF_RETURN_IF_ERROR(CheckDim("offset", offset, 0, "batch", g->batch, "the input batch"));
  TF_RETURN_IF_ERROR(CheckDim("offset", offset, 1, "height", g->out_h, "the output height"));
  TF_RETURN_IF_ERROR(CheckDim("offset", offset, 2, "width", g->out_w, "the output width"));
  TF_RETURN_IF_ERROR(CheckDim("offset", offset, 3, "channels", taps_known ? 2 * g->groups * taps : -1,
                              "2 * deformable_groups * kernel_h * kernel_w"));
  if (attrs.use_mask) {
    TF_RETURN_IF_ERROR(CheckDim("mask", mask, 0, "batch", g->batch, "the input batch"));
    TF_RETURN_IF_ERROR(CheckDim("mask", mask, 1, "height", g->out_h, "the output height"));
    TF_RETURN_IF_ERROR(CheckDim("mask", mask, 2, "width", g->out_w, "the output width"));
    TF_RETURN_IF_ERROR(CheckDim("mask", mask, 3, "channels", taps_known ? g->groups * taps : -1,
                                "deformable_groups * kernel_h * kernel_w"));
  }
  // Offsets often carry the only static batch size (e.g. inside a Keras model).
  if (!Known(g->batch)) g->batch = Dim(offset, 0);
  return absl::OkStatus();
}

absl::Status ValidateGradOutput(const DeformConvGeometry& g, const PartialShape& grad_output) {
  return ValidatePixelRows("grad_output", grad_output, g, "[batch, out_h, out_w, out_channels]",
                           g.out_channels, "the kernel's out_channels");
}

absl::Status ValidateGradColumns(const DeformConvGeometry& g,
                                 const PartialShape& grad_columns) {
  return ValidatePixelRows("grad_columns", grad_columns, g,
                           "[batch, out_h, out_w, kh * kw * channels]",
                           g.channels >= 0 ? g.column_width() : -1,
                           "kh * kw * the input channels");
}

}  // namespace deform_conv
}  // namespace efgrnet
