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

// Outputs [0, count) as float32 buffers (see FloatBufferFor).
template <typename T>
absl::Status FloatBuffersFor(tensorflow::OpKernelContext* context, int count,
                             tensorflow::Tensor* const* outputs, tensorflow::Tensor* buffers) {
  for (int i = 0; i < count; ++i) {
    TF_RETURN_IF_ERROR(FloatBufferFor<T>(context, *outputs[i], &buffers[i]));
  }
  return absl::OkStatus();
}

template <typename Engine, typename T>
absl::Status StoreOutputs(tensorflow::OpKernelContext* context, int count,
                          const tensorflow::Tensor* buffers, tensorflow::Tensor* const* outputs) {
  for (int i = 0; i < count; ++i) {
    TF_RETURN_IF_ERROR((StoreOutput<Engine, T>(context, buffers[i], outputs[i])));
  }
  return absl::OkStatus();
}

// Inputs [first, count) of `context` as float32 (see AsFloat) in floats[first, count).
template <typename Engine, typename T>
absl::Status InputsAsFloat(tensorflow::OpKernelContext* context, int count,
                           tensorflow::Tensor* floats, int first = 0) {
  for (int i = first; i < count; ++i) {
    TF_RETURN_IF_ERROR((AsFloat<Engine, T>(context, context->input(i), &floats[i])));
  }
  return absl::OkStatus();
}

// Allocates outputs [0, count), the gradients of inputs [0, count) (input, offset, mask, kernel):
// each shaped like its input, except the mask's, an empty [0] without use_mask.
inline absl::Status AllocateInputGradients(tensorflow::OpKernelContext* context,
                                           const DeformConvGeometry& g, int count,
                                           tensorflow::Tensor** grads) {
  for (int i = 0; i < count; ++i) {
    const bool empty_mask = i == 2 && !g.use_mask;
    TF_RETURN_IF_ERROR(context->allocate_output(
        i, empty_mask ? tensorflow::TensorShape({0}) : context->input(i).shape(), &grads[i]));
  }
  return absl::OkStatus();
}

// Points the sampling inputs of `tensors` (ForwardTensors or BackwardTensors) at the float32
// input, offset and mask in floats[0, 3).
// floats[0] may be a default (empty) Tensor, as for the bfloat16 ops, which sample the input's
// own bits: input is then nullptr.
template <typename Tensors>
void SetSamplingInputs(const DeformConvGeometry& g, tensorflow::Tensor* floats, Tensors* tensors) {
  tensors->input = floats[0].flat<float>().data();
  tensors->offset = floats[1].flat<float>().data();
  tensors->mask = g.use_mask ? floats[2].flat<float>().data() : nullptr;
}

// Points grad_input, grad_offset and grad_mask of `tensors` at the float32 buffers[0, 3).
inline void SetSamplingGradients(const DeformConvGeometry& g, tensorflow::Tensor* buffers,
                                 BackwardTensors* tensors) {
  tensors->grad_input = buffers[0].flat<float>().data();
  tensors->grad_offset = buffers[1].flat<float>().data();
  tensors->grad_mask = g.use_mask ? buffers[2].flat<float>().data() : nullptr;
}

// Base of the op kernels, whose inputs 0-3 are those of EfgrnetDeformConv2D: reads and checks
// the attributes once, and the inputs' shapes on each call.
class DeformConvOpKernel : public tensorflow::OpKernel {
 public:
  explicit DeformConvOpKernel(tensorflow::OpKernelConstruction* context) : OpKernel(context) {
    OP_REQUIRES_OK(context, ReadAttrs(context, &attrs_));
  }

 protected:
  // Validates inputs 0-3 of `context` and computes the geometry.
  absl::Status ReadGeometry(tensorflow::OpKernelContext* context,
                            DeformConvGeometry* geometry) const {
    return ValidateInputs(attrs_, ToPartialShape(context->input(0).shape()),
                          ToPartialShape(context->input(1).shape()),
                          ToPartialShape(context->input(2).shape()),
                          ToPartialShape(context->input(3).shape()), geometry);
  }

 private:
  DeformConvAttrs attrs_;
};

template <typename Engine, typename T>
class DeformConv2DOp : public DeformConvOpKernel {
 public:
  using DeformConvOpKernel::DeformConvOpKernel;

  void Compute(tensorflow::OpKernelContext* context) override {
    using tensorflow::Tensor;
    using tensorflow::TensorShape;
    DeformConvGeometry g;
    OP_REQUIRES_OK(context, ReadGeometry(context, &g));
    Tensor* output = nullptr;
    OP_REQUIRES_OK(context, context->allocate_output(
                                0, TensorShape({g.batch, g.out_h, g.out_w, g.out_channels}),
                                &output));
    if (output->NumElements() == 0) return;
    if (g.channels == 0) {  // nothing to sum over
      OP_REQUIRES_OK(context, Engine::template SetZero<T>(context, output));
      return;
    }

    Tensor floats[4], output_buffer, scratch;
    OP_REQUIRES_OK(context, (InputsAsFloat<Engine, T>(context, 4, floats)));
    OP_REQUIRES_OK(context, FloatBufferFor<T>(context, *output, &output_buffer));
    OP_REQUIRES_OK(context, context->allocate_temp(tensorflow::DT_FLOAT,
                                                   TensorShape({Engine::ForwardScratchFloats(g)}),
                                                   &scratch));
    ForwardTensors tensors;
    SetSamplingInputs(g, floats, &tensors);
    tensors.kernel = floats[3].flat<float>().data();
    tensors.output = output_buffer.flat<float>().data();
    tensors.scratch = scratch.flat<float>().data();
    OP_REQUIRES_OK(context, Engine::Forward(context, g, tensors));
    OP_REQUIRES_OK(context, (StoreOutput<Engine, T>(context, output_buffer, output)));
  }
};

template <typename Engine, typename T>
class DeformConv2DGradOp : public DeformConvOpKernel {
 public:
  using DeformConvOpKernel::DeformConvOpKernel;

  void Compute(tensorflow::OpKernelContext* context) override {
    using tensorflow::Tensor;
    using tensorflow::TensorShape;
    DeformConvGeometry g;
    OP_REQUIRES_OK(context, ReadGeometry(context, &g));
    OP_REQUIRES_OK(context, ValidateGradOutput(g, ToPartialShape(context->input(4).shape())));
    Tensor* grads[4] = {nullptr, nullptr, nullptr, nullptr};
    OP_REQUIRES_OK(context, AllocateInputGradients(context, g, 4, grads));
    if (g.rows() == 0 || g.out_channels == 0 || g.channels == 0) {
      // No output element depends on anything: every gradient is zero (or empty).
      for (Tensor* grad : grads) {
        OP_REQUIRES_OK(context, Engine::template SetZero<T>(context, grad));
      }
      return;
    }

    Tensor floats[5], buffers[4], scratch;  // floats[4]: grad_output
    OP_REQUIRES_OK(context, (InputsAsFloat<Engine, T>(context, 5, floats)));
    OP_REQUIRES_OK(context, FloatBuffersFor<T>(context, 4, grads, buffers));
    OP_REQUIRES_OK(context, context->allocate_temp(tensorflow::DT_FLOAT,
                                                   TensorShape({Engine::BackwardScratchFloats(g)}),
                                                   &scratch));
    BackwardTensors tensors;
    SetSamplingInputs(g, floats, &tensors);
    tensors.kernel = floats[3].flat<float>().data();
    tensors.grad_output = floats[4].flat<float>().data();
    SetSamplingGradients(g, buffers, &tensors);
    tensors.grad_kernel = buffers[3].flat<float>().data();
    tensors.scratch = scratch.flat<float>().data();
    OP_REQUIRES_OK(context, Engine::Backward(context, g, tensors));
    OP_REQUIRES_OK(context, (StoreOutputs<Engine, T>(context, 4, buffers, grads)));
  }
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
