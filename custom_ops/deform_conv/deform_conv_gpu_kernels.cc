// GPU kernels of EfgrnetDeformConv2D and EfgrnetDeformConv2DGrad: validation and allocation as on
// the CPU, computation by the CUDA launchers of deform_conv_cuda.h on the op's stream.
// Compiled (by g++) only into CUDA builds of the library; see setup.py.
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "deform_conv_cuda.h"
#include "deform_conv_params.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"
#include "xla/stream_executor/stream.h"

namespace efgrnet {
namespace deform_conv {
namespace {

using tensorflow::OpKernel;
using tensorflow::OpKernelConstruction;
using tensorflow::OpKernelContext;
using tensorflow::Tensor;
using tensorflow::TensorShape;

// The cudaStream_t the op must run on.
void* StreamOf(OpKernelContext* context) {
  return context->op_device_context()->stream()->platform_specific_handle().stream;
}

absl::Status CudaStatus(const char* error) {
  return error == nullptr ? absl::OkStatus()
                          : absl::InternalError(absl::StrCat("EfgrnetDeformConv2D CUDA: ", error));
}

template <typename T>
constexpr cuda::HalfType HalfTypeOf() {
  return std::is_same_v<T, Eigen::half> ? cuda::HalfType::kFloat16 : cuda::HalfType::kBFloat16;
}

// `tensor` as float32: shared when T is float, otherwise converted into a temporary.
template <typename T>
absl::Status AsFloat(OpKernelContext* context, const Tensor& tensor, Tensor* result) {
  if constexpr (std::is_same_v<T, float>) {
    *result = tensor;
    return absl::OkStatus();
  } else {
    TF_RETURN_IF_ERROR(context->allocate_temp(tensorflow::DT_FLOAT, tensor.shape(), result));
    return CudaStatus(cuda::ToFloat(HalfTypeOf<T>(), tensor.flat<T>().data(),
                                    result->flat<float>().data(), tensor.NumElements(),
                                    StreamOf(context)));
  }
}

template <typename T>
absl::Status FloatBufferFor(OpKernelContext* context, const Tensor& output, Tensor* buffer) {
  if constexpr (std::is_same_v<T, float>) {
    *buffer = output;
    return absl::OkStatus();
  } else {
    return context->allocate_temp(tensorflow::DT_FLOAT, output.shape(), buffer);
  }
}

template <typename T>
absl::Status StoreOutput(OpKernelContext* context, const Tensor& buffer, Tensor* output) {
  if constexpr (std::is_same_v<T, float>) {
    return absl::OkStatus();
  } else {
    return CudaStatus(cuda::FromFloat(HalfTypeOf<T>(), buffer.flat<float>().data(),
                                      output->flat<T>().data(), output->NumElements(),
                                      StreamOf(context)));
  }
}

absl::Status SetZero(OpKernelContext* context, Tensor* tensor) {
  return CudaStatus(cuda::SetZero(tensor->data(), tensor->TotalBytes(), StreamOf(context)));
}

absl::Status ReadGeometry(OpKernelContext* context, const DeformConvAttrs& attrs,
                          DeformConvGeometry* geometry) {
  return ValidateInputs(attrs, ToPartialShape(context->input(0).shape()),
                        ToPartialShape(context->input(1).shape()),
                        ToPartialShape(context->input(2).shape()),
                        ToPartialShape(context->input(3).shape()), geometry);
}

template <typename T>
class DeformConv2DGpuOp : public OpKernel {
 public:
  explicit DeformConv2DGpuOp(OpKernelConstruction* context) : OpKernel(context) {
    OP_REQUIRES_OK(context, ReadAttrs(context, &attrs_));
  }

  void Compute(OpKernelContext* context) override {
    DeformConvGeometry g;
    OP_REQUIRES_OK(context, ReadGeometry(context, attrs_, &g));
    Tensor* output = nullptr;
    OP_REQUIRES_OK(context, context->allocate_output(
                                0, TensorShape({g.batch, g.out_h, g.out_w, g.out_channels}),
                                &output));
    if (output->NumElements() == 0) return;
    if (g.channels == 0) {
      OP_REQUIRES_OK(context, SetZero(context, output));
      return;
    }
    Tensor input, offset, mask, kernel, output_buffer, scratch;
    OP_REQUIRES_OK(context, AsFloat<T>(context, context->input(0), &input));
    OP_REQUIRES_OK(context, AsFloat<T>(context, context->input(1), &offset));
    OP_REQUIRES_OK(context, AsFloat<T>(context, context->input(2), &mask));
    OP_REQUIRES_OK(context, AsFloat<T>(context, context->input(3), &kernel));
    OP_REQUIRES_OK(context, FloatBufferFor<T>(context, *output, &output_buffer));
    OP_REQUIRES_OK(context, context->allocate_temp(tensorflow::DT_FLOAT,
                                                   TensorShape({cuda::ForwardScratchFloats(g)}),
                                                   &scratch));
    ForwardTensors tensors;
    tensors.input = input.flat<float>().data();
    tensors.offset = offset.flat<float>().data();
    tensors.mask = g.use_mask ? mask.flat<float>().data() : nullptr;
    tensors.kernel = kernel.flat<float>().data();
    tensors.output = output_buffer.flat<float>().data();
    tensors.scratch = scratch.flat<float>().data();
    OP_REQUIRES_OK(context, CudaStatus(cuda::Forward(g, tensors, StreamOf(context))));
    OP_REQUIRES_OK(context, StoreOutput<T>(context, output_buffer, output));
  }

 private:
  DeformConvAttrs attrs_;
};

template <typename T>
class DeformConv2DGradGpuOp : public OpKernel {
 public:
  explicit DeformConv2DGradGpuOp(OpKernelConstruction* context) : OpKernel(context) {
    OP_REQUIRES_OK(context, ReadAttrs(context, &attrs_));
  }

  void Compute(OpKernelContext* context) override {
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
      for (Tensor* grad : grads) OP_REQUIRES_OK(context, SetZero(context, grad));
      return;
    }
    Tensor input, offset, mask, kernel, grad_output, buffers[4], scratch;
    OP_REQUIRES_OK(context, AsFloat<T>(context, context->input(0), &input));
    OP_REQUIRES_OK(context, AsFloat<T>(context, context->input(1), &offset));
    OP_REQUIRES_OK(context, AsFloat<T>(context, context->input(2), &mask));
    OP_REQUIRES_OK(context, AsFloat<T>(context, context->input(3), &kernel));
    OP_REQUIRES_OK(context, AsFloat<T>(context, context->input(4), &grad_output));
    for (int i = 0; i < 4; ++i) {
      OP_REQUIRES_OK(context, FloatBufferFor<T>(context, *grads[i], &buffers[i]));
    }
    OP_REQUIRES_OK(context, context->allocate_temp(tensorflow::DT_FLOAT,
                                                   TensorShape({cuda::BackwardScratchFloats(g)}),
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
    OP_REQUIRES_OK(context, CudaStatus(cuda::Backward(g, tensors, StreamOf(context))));
    for (int i = 0; i < 4; ++i) {
      OP_REQUIRES_OK(context, StoreOutput<T>(context, buffers[i], grads[i]));
    }
  }

 private:
  DeformConvAttrs attrs_;
};

#define EFGRNET_REGISTER_GPU(T)                                                          \
  REGISTER_KERNEL_BUILDER(                                                               \
      Name("EfgrnetDeformConv2D").Device(tensorflow::DEVICE_GPU).TypeConstraint<T>("T"), \
      DeformConv2DGpuOp<T>);                                                             \
  REGISTER_KERNEL_BUILDER(Name("EfgrnetDeformConv2DGrad")                                \
                              .Device(tensorflow::DEVICE_GPU)                            \
                              .TypeConstraint<T>("T"),                                   \
                          DeformConv2DGradGpuOp<T>);
EFGRNET_REGISTER_GPU(float)
EFGRNET_REGISTER_GPU(Eigen::half)
EFGRNET_REGISTER_GPU(Eigen::bfloat16)
#undef EFGRNET_REGISTER_GPU

}  // namespace
}  // namespace deform_conv
}  // namespace efgrnet
