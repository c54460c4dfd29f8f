// CPU kernels of EfgrnetDeformConv2D and EfgrnetDeformConv2DGrad: validate, allocate, convert
// half/bfloat16 to float32, and run the CPU engine (cpu_engine.h) on the intra-op thread pool.
#define EIGEN_USE_THREADS

#include <functional>
#include <type_traits>
#include <utility>

#include "cpu_engine.h"
#include "deform_conv_params.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"
#include "unsupported/Eigen/CXX11/Tensor"

namespace efgrnet {
namespace deform_conv {
namespace {

using tensorflow::OpKernel;
using tensorflow::OpKernelConstruction;
using tensorflow::OpKernelContext;
using tensorflow::Tensor;
using tensorflow::TensorShape;
using CpuDevice = Eigen::ThreadPoolDevice;

class IntraOpPool final : public WorkerPool {
 public:
  explicit IntraOpPool(OpKernelContext* context)
      : pool_(context->device()->tensorflow_cpu_worker_threads()->workers) {}
  int NumThreads() const override { return pool_->NumThreads(); }
  int CurrentThreadId() const override { return pool_->CurrentThreadId(); }
  void Schedule(std::function<void()> task) override { pool_->Schedule(std::move(task)); }

 private:
  tsl::thread::ThreadPool* pool_;
};

// `tensor` as float32: shared when T is float, otherwise converted into a temporary.
template <typename T>
absl::Status AsFloat(OpKernelContext* context, const Tensor& tensor, Tensor* result) {
  if constexpr (std::is_same_v<T, float>) {
    *result = tensor;
  } else {
    TF_RETURN_IF_ERROR(context->allocate_temp(tensorflow::DT_FLOAT, tensor.shape(), result));
    result->flat<float>().device(context->eigen_device<CpuDevice>()) =
        tensor.flat<T>().template cast<float>();
  }
  return absl::OkStatus();
}

// A float32 buffer for output `output`: the output itself when T is float, else a temporary
// that StoreOutput converts back.
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
void StoreOutput(OpKernelContext* context, const Tensor& buffer, Tensor* output) {
  if constexpr (!std::is_same_v<T, float>) {
    output->flat<T>().device(context->eigen_device<CpuDevice>()) =
        buffer.flat<float>().template cast<T>();
  }
}

// Validates the forward inputs (0-3) of `context` and computes the geometry.
absl::Status ReadGeometry(OpKernelContext* context, const DeformConvAttrs& attrs,
                          DeformConvGeometry* geometry) {
  return ValidateInputs(attrs, ToPartialShape(context->input(0).shape()),
                        ToPartialShape(context->input(1).shape()),
                        ToPartialShape(context->input(2).shape()),
                        ToPartialShape(context->input(3).shape()), geometry);
}

template <typename T>
class DeformConv2DCpuOp : public OpKernel {
 public:
  explicit DeformConv2DCpuOp(OpKernelConstruction* context) : OpKernel(context) {
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
    if (g.channels == 0) {  // nothing to sum over
      output->flat<T>().setZero();
      return;
    }

    Tensor input, offset, mask, kernel, output_buffer, scratch;
    OP_REQUIRES_OK(context, AsFloat<T>(context, context->input(0), &input));
    OP_REQUIRES_OK(context, AsFloat<T>(context, context->input(1), &offset));
    OP_REQUIRES_OK(context, AsFloat<T>(context, context->input(2), &mask));
    OP_REQUIRES_OK(context, AsFloat<T>(context, context->input(3), &kernel));
    OP_REQUIRES_OK(context, FloatBufferFor<T>(context, *output, &output_buffer));
    OP_REQUIRES_OK(context, context->allocate_temp(tensorflow::DT_FLOAT,
                                                   TensorShape({ForwardScratchFloats(g)}),
                                                   &scratch));
    ForwardTensors tensors;
    tensors.input = input.flat<float>().data();
    tensors.offset = offset.flat<float>().data();
    tensors.mask = g.use_mask ? mask.flat<float>().data() : nullptr;
    tensors.kernel = kernel.flat<float>().data();
    tensors.output = output_buffer.flat<float>().data();
    tensors.scratch = scratch.flat<float>().data();
    IntraOpPool pool(context);
    SelectCpuEngine().forward(g, tensors, pool);
    StoreOutput<T>(context, output_buffer, output);
  }

 private:
  DeformConvAttrs attrs_;
};

template <typename T>
class DeformConv2DGradCpuOp : public OpKernel {
 public:
  explicit DeformConv2DGradCpuOp(OpKernelConstruction* context) : OpKernel(context) {
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
      // No output element depends on anything: every gradient is zero (or empty).
      for (Tensor* grad : grads) grad->flat<T>().setZero();
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
                                                   TensorShape({BackwardScratchFloats(g)}),
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
    IntraOpPool pool(context);
    SelectCpuEngine().backward(g, tensors, pool);
    for (int i = 0; i < 4; ++i) StoreOutput<T>(context, buffers[i], grads[i]);
  }

 private:
  DeformConvAttrs attrs_;
};

#define EFGRNET_REGISTER_CPU(T)                                                          \
  REGISTER_KERNEL_BUILDER(                                                               \
      Name("EfgrnetDeformConv2D").Device(tensorflow::DEVICE_CPU).TypeConstraint<T>("T"), \
      DeformConv2DCpuOp<T>);                                                             \
  REGISTER_KERNEL_BUILDER(Name("EfgrnetDeformConv2DGrad")                                \
                              .Device(tensorflow::DEVICE_CPU)                            \
                              .TypeConstraint<T>("T"),                                   \
                          DeformConv2DGradCpuOp<T>);
EFGRNET_REGISTER_CPU(float)
EFGRNET_REGISTER_CPU(Eigen::half)
EFGRNET_REGISTER_CPU(Eigen::bfloat16)
#undef EFGRNET_REGISTER_CPU

}  // namespace
}  // namespace deform_conv
}  // namespace efgrnet
