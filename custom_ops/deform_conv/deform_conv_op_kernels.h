// The kernel classes of EfgrnetDeformConv2D and EfgrnetDeformConv2DGrad, shared by the CPU and
// GPU builds: validate, allocate, convert half/bfloat16 to float32, run the device's engine and
// convert back. A device supplies `Engine`, a struct of static functions:
//   template <typename T> absl::Status ToFloat(OpKernelContext*, const Tensor& source_T,
//                                              Tensor* destination_float);
//   template <typename T> absl::Status FromFloat(OpKernelContext*, const Tensor& source_float,
//                                                Tensor* destination_T);
//   template <typename T> absl::Status SetZero(OpKernelContext*, Tensor*);
//   int64_t ForwardScratchFloats(const DeformConvGeometry&);   (and BackwardScratchFloats)
//   absl::Status Forward(OpKernelContext*, const DeformConvGeometry&, const ForwardTensors&);
//   absl::Status Backward(OpKernelContext*, const DeformConvGeometry&, const BackwardTensors&);
#ifndef EFGRNET_CUSTOM_OPS_DEFORM_CONV_DEFORM_CONV_OP_KERNELS_H_
#define EFGRNET_CUSTOM_OPS_DEFORM_CONV_DEFORM_CONV_OP_KERNELS_H_

#include <type_traits>

#include "deform_conv_buffers.h"
#include "deform_conv_geometry.h"
#include "deform_conv_params.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"

namespace efgrnet {
namespace deform_conv {

// `tensor` as float32: shared when T is float, otherwise converted into a temporary.
template <typename Engine, typename T>
absl::Status AsFloat(tensorflow::OpKernelContext* context, const tensorflow::Tensor& tensor,
                     tensorflow::Tensor* result) {
  if constexpr (std::is_same_v<T, float>) {
    *result = tensor;
    return absl::OkStatus();
  } else {
    TF_RETURN_IF_ERROR(context->allocate_temp(tensorflow::DT_FLOAT, tensor.shape(), result));
    return Engine::template ToFloat<T>(context, tensor, result);
  }
}

// A float32 buffer for `output`: the output itself when T is float, else a temporary that
// StoreOutput converts back.
template <typename T>
absl::Status FloatBufferFor(tensorflow::OpKernelContext* context,
                            const tensorflow::Tensor& output, tensorflow::Tensor* buffer) {
  if constexpr (std::is_same_v<T, float>) {
    *buffer = output;
    return absl::OkStatus();
  } else {
    return context->allocate_temp(tensorflow::DT_FLOAT, output.shape(), buffer);
  }
}

template <typename Engine, typename T>
absl::Status StoreOutput(tensorflow::OpKernelContext* context, const tensorflow::Tensor& buffer,
                         tensorflow::Tensor* output) {
  if constexpr (std::is_same_v<T, float>) {
    return absl::OkStatus();
  } else {
    return Engine::template FromFloat<T>(context, buffer, output);
  }
}

// Validates the forward inputs (0-3) of `context` and computes the geometry.
inline absl::Status ReadGeometry(tensorflow::OpKernelContext* context,
                                 const DeformConvAttrs& attrs, DeformConvGeometry* geometry) {
  return ValidateInputs(attrs, ToPartialShape(context->input(0).shape()),
                        ToPartialShape(context->input(1).shape()),
                        ToPartialShape(context->input(2).shape()),
                        ToPartialShape(context->input(3).shape()), geometry);
}

template <typename Engine, typename T>
class DeformConv2DOp : public tensorflow::OpKernel {
 public:
  explicit DeformConv2DOp(tensorflow::OpKernelConstruction* context) : OpKernel(context) {
    OP_REQUIRES_OK(context, ReadAttrs(context, &attrs_));
  }

  void Compute(tensorflow::OpKernelContext* context) override {
    using tensorflow::Tensor;
    using tensorflow::TensorShape;
    DeformConvGeometry g;
    OP_REQUIRES_OK(context, ReadGeometry(context, attrs_, &g));
    Tensor* output = nullptr;
    OP_REQUIRES_OK(context, context->allocate_output(
                                0, TensorShape({g.batch, g.out_h, g.out_w, g.out_channels}),
                                &output));
    if (output->NumElements() == 0) return;
    if (g.channels == 0) {  // nothing to sum over
      OP_REQUIRES_OK(context, Engine::template SetZero<T>(context, output));
      return;
    }

    Tensor input, offset, mask, kernel, output_buffer, scratch;
    OP_REQUIRES_OK(context, (AsFloat<Engine, T>(context, context->input(0), &input)));
    OP_REQUIRES_OK(context, (AsFloat<Engine, T>(context, context->input(1), &offset)));
    OP_REQUIRES_OK(context, (AsFloat<Engine, T>(context, context->input(2), &mask)));
    OP_REQUIRES_OK(context, (AsFloat<Engine, T>(context, context->input(3), &kernel)));
    OP_REQUIRES_OK(context, FloatBufferFor<T>(context, *output, &output_buffer));
    OP_REQUIRES_OK(context, context->allocate_temp(tensorflow::DT_FLOAT,
                                                   TensorShape({Engine::ForwardScratchFloats(g)}),
                                                   &scratch));
    ForwardTensors tensors;
    tensors.input = input.flat<float>().data();
    tensors.offset = offset.flat<float>().data();
    tensors.mask = g.use_mask ? mask.flat<float>().data() : nullptr;
    tensors.kernel = kernel.flat<float>().data();
    tensors.output = output_buffer.flat<float>().data();
    tensors.scratch = scratch.flat<float>().data();
    OP_REQUIRES_OK(context, Engine::Forward(context, g, tensors));
    OP_REQUIRES_OK(context, (StoreOutput<Engine, T>(context, output_buffer, output)));
  }

 private:
  DeformConvAttrs attrs_;
};

template <typename Engine, typename T>
class DeformConv2DGradOp : public tensorflow::OpKernel {
 public:
  explicit DeformConv2DGradOp(tensorflow::OpKernelConstruction* context) : OpKernel(context) {
    OP_REQUIRES_OK(context, ReadAttrs(context, &attrs_));
  }

  void Compute(tensorflow::OpKernelContext* context) override {
    using tensorflow::Tensor;
    using tensorflow::TensorShape;
    DeformConvGeometry g;
    OP_REQUIRES_OK(context, ReadGeometry(context, attrs_, &g));
    OP_REQUIRES_OK(context, ValidateGradOutput(g, ToPartialShape(context->input(4).shape())));

    const TensorShape mask_shape = g.use_mask ? context->input(2).shape() : TensorShape({0});
    Tensor* grads[4] = {nullptr, nullptr, nullptr, nullptr};
    OP_REQUIRES_OK(context, context->allocate_output(0, context->input(0).shape(), &grads[0]));
    OP_REQUIRES_OK(context, context->allocate_output(1, context->input(1).shape(), &grads[1]));
    OP_REQUIRES_OK(context, context->allocate_output(2, mask_shape, &grads[2]));
    OP_REQUIRES_OK(context, context->allocate_output(3, context->input(3).shape(), &grads[3]));
    if (g.rows() == 0 || g.out_channels == 0 || g.channels == 0) {
      // No output element depends on anything: every gradient is zero (or empty).
      for (Tensor* grad : grads) {
        OP_REQUIRES_OK(context, Engine::template SetZero<T>(context, grad));
      }
      return;
    }

    Tensor input, offset, mask, kernel, grad_output, buffers[4], scratch;
    OP_REQUIRES_OK(context, (AsFloat<Engine, T>(context, context->input(0), &input)));
    OP_REQUIRES_OK(context, (AsFloat<Engine, T>(context, context->input(1), &offset)));
    OP_REQUIRES_OK(context, (AsFloat<Engine, T>(context, context->input(2), &mask)));
    OP_REQUIRES_OK(context, (AsFloat<Engine, T>(context, context->input(3), &kernel)));
    OP_REQUIRES_OK(context, (AsFloat<Engine, T>(context, context->input(4), &grad_output)));
    for (int i = 0; i < 4; ++i) {
      OP_REQUIRES_OK(context, FloatBufferFor<T>(context, *grads[i], &buffers[i]));
    }
    OP_REQUIRES_OK(context, context->allocate_temp(tensorflow::DT_FLOAT,
                                                   TensorShape({Engine::BackwardScratchFloats(g)}),
                                                   &scratch));
    BackwardTensors tensors;
    tensors.input = input.flat<float>().data();
    tensors.offset = offset.flat<float>().data();
    tensors.mask = g.use_mask ? mask.flat<float>().data() : nullptr;
    tensors.kernel = kernel.flat<float>().data();
    tensors.grad_output = grad_output.flat<float>().data();
    tensors.grad_input = buffers[0].flat<float>().data();
    tensors.grad_offset = buffers[1].flat<float>().data();
    tensors.grad_mask = g.use_mask ? buffers[2].flat<float>().data() : nullptr;
    tensors.grad_kernel = buffers[3].flat<float>().data();
    tensors.scratch = scratch.flat<float>().data();
    OP_REQUIRES_OK(context, Engine::Backward(context, g, tensors));
    for (int i = 0; i < 4; ++i) {
      OP_REQUIRES_OK(context, (StoreOutput<Engine, T>(context, buffers[i], grads[i])));
    }
  }

 private:
  DeformConvAttrs attrs_;
};

// Registers both kernels of `Engine` for `device` and the three element types.
#define EFGRNET_REGISTER_DEFORM_CONV_KERNELS_FOR_TYPE(DEVICE, ENGINE, T)                   \
  REGISTER_KERNEL_BUILDER(                                                                 \
      Name("EfgrnetDeformConv2D").Device(DEVICE).TypeConstraint<T>("T"),                   \
      ::efgrnet::deform_conv::DeformConv2DOp<ENGINE, T>);                                  \
  REGISTER_KERNEL_BUILDER(                                                                 \
      Name("EfgrnetDeformConv2DGrad").Device(DEVICE).TypeConstraint<T>("T"),               \
      ::efgrnet::deform_conv::DeformConv2DGradOp<ENGINE, T>);
#define EFGRNET_REGISTER_DEFORM_CONV_KERNELS(DEVICE, ENGINE)                              \
  EFGRNET_REGISTER_DEFORM_CONV_KERNELS_FOR_TYPE(DEVICE, ENGINE, float)                     \
  EFGRNET_REGISTER_DEFORM_CONV_KERNELS_FOR_TYPE(DEVICE, ENGINE, Eigen::half)               \
  EFGRNET_REGISTER_DEFORM_CONV_KERNELS_FOR_TYPE(DEVICE, ENGINE, Eigen::bfloat16)

}  // namespace deform_conv
}  // namespace efgrnet

#endif  // EFGRNET_CUSTOM_OPS_DEFORM_CONV_DEFORM_CONV_OP_KERNELS_H_
