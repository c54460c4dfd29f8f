// CPU kernels of EfgrnetDeformConv2D and EfgrnetDeformConv2DGrad (the shared kernel classes of
// deform_conv_op_kernels.h) and of EfgrnetDeformIm2Col and EfgrnetDeformCol2Im, running the CPU
// engine (cpu_engine.h) on the intra-op thread pool.
#define EIGEN_USE_THREADS

#include <functional>
#include <utility>

#include "cpu_engine.h"
#include "deform_conv_op_kernels.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"
#include "unsupported/Eigen/CXX11/Tensor"

namespace efgrnet {
namespace deform_conv {
namespace {

using tensorflow::OpKernelContext;
using tensorflow::Tensor;
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

// The CPU side of the kernel classes' `Engine` contract.
struct CpuOps {
  template <typename T>
  static absl::Status ToFloat(OpKernelContext* context, const Tensor& source, Tensor* result) {
    result->flat<float>().device(context->eigen_device<CpuDevice>()) =
        source.flat<T>().template cast<float>();
    return absl::OkStatus();
  }

  template <typename T>
  static absl::Status FromFloat(OpKernelContext* context, const Tensor& source, Tensor* result) {
    result->flat<T>().device(context->eigen_device<CpuDevice>()) =
        source.flat<float>().template cast<T>();
    return absl::OkStatus();
  }

  template <typename T>
  static absl::Status SetZero(OpKernelContext*, Tensor* tensor) {
    tensor->flat<T>().setZero();
    return absl::OkStatus();
  }

  static int64_t ForwardScratchFloats(const DeformConvGeometry& g) {
    return deform_conv::ForwardScratchFloats(g);
  }

  static int64_t BackwardScratchFloats(const DeformConvGeometry& g) {
    return deform_conv::BackwardScratchFloats(g);
  }

  static absl::Status Forward(OpKernelContext* context, const DeformConvGeometry& g,
                              const ForwardTensors& tensors) {
    IntraOpPool pool(context);
    SelectCpuEngine().forward(g, tensors, pool);
    return absl::OkStatus();
  }

  static absl::Status Backward(OpKernelContext* context, const DeformConvGeometry& g,
                               const BackwardTensors& tensors) {
    IntraOpPool pool(context);
    SelectCpuEngine().backward(g, tensors, pool);
    return absl::OkStatus();
  }
};

EFGRNET_REGISTER_DEFORM_CONV_KERNELS(tensorflow::DEVICE_CPU, CpuOps)

// EfgrnetDeformIm2Col and EfgrnetDeformCol2Im (bfloat16 only): the engine's sampling halves,
// reading and writing the bfloat16 columns directly.
using tensorflow::TensorShape;
using Bfloat16 = Eigen::bfloat16;

absl::Status ZeroRow(OpKernelContext* context, const DeformConvGeometry& g, Tensor* scratch) {
  return context->allocate_temp(tensorflow::DT_FLOAT, TensorShape({ZeroRowFloats(g)}), scratch);
}

uint16_t* Bfloat16Bits(Tensor* tensor) {
  return reinterpret_cast<uint16_t*>(tensor->flat<Bfloat16>().data());
}

const uint16_t* Bfloat16Bits(const Tensor& tensor) {
  return reinterpret_cast<const uint16_t*>(tensor.flat<Bfloat16>().data());
}

class DeformIm2ColOp : public DeformConvOpKernel {
 public:
  using DeformConvOpKernel::DeformConvOpKernel;

  void Compute(OpKernelContext* context) override {
    DeformConvGeometry g;
    OP_REQUIRES_OK(context, ReadGeometry(context, &g));
    Tensor* columns = nullptr;
    OP_REQUIRES_OK(context, context->allocate_output(
                                0, TensorShape({g.batch, g.out_h, g.out_w, g.column_width()}),
                                &columns));
    if (columns->NumElements() == 0) return;

    Tensor floats[3], scratch;
    OP_REQUIRES_OK(context, (InputsAsFloat<CpuOps, Bfloat16>(context, 3, floats, /*first=*/1)));
    OP_REQUIRES_OK(context, ZeroRow(context, g, &scratch));
    ForwardTensors tensors;
    SetSamplingInputs(g, floats, &tensors);
    tensors.scratch = scratch.flat<float>().data();
    IntraOpPool pool(context);
    SelectCpuEngine().im2col_bfloat16(g, tensors, Bfloat16Bits(context->input(0)),
                                      Bfloat16Bits(columns), pool);
  }
};

class DeformCol2ImOp : public DeformConvOpKernel {
 public:
  using DeformConvOpKernel::DeformConvOpKernel;

  void Compute(OpKernelContext* context) override {
    DeformConvGeometry g;
    OP_REQUIRES_OK(context, ReadGeometry(context, &g));
    OP_REQUIRES_OK(context, ValidateGradColumns(g, ToPartialShape(context->input(4).shape())));
    Tensor* grads[3] = {nullptr, nullptr, nullptr};
    OP_REQUIRES_OK(context, AllocateInputGradients(context, g, 3, grads));
    if (g.rows() == 0 || g.channels == 0) {
      for (Tensor* grad : grads) grad->flat<Bfloat16>().setZero();
      return;
    }

    Tensor floats[3], buffers[3], scratch;
    OP_REQUIRES_OK(context, (InputsAsFloat<CpuOps, Bfloat16>(context, 3, floats, /*first=*/1)));
    OP_REQUIRES_OK(context, FloatBuffersFor<Bfloat16>(context, 3, grads, buffers));
    OP_REQUIRES_OK(context, ZeroRow(context, g, &scratch));
    BackwardTensors tensors;
    SetSamplingInputs(g, floats, &tensors);
    SetSamplingGradients(g, buffers, &tensors);
    tensors.scratch = scratch.flat<float>().data();
    IntraOpPool pool(context);
    SelectCpuEngine().col2im_bfloat16(g, tensors, Bfloat16Bits(context->input(0)),
                                      Bfloat16Bits(context->input(4)), pool);
    OP_REQUIRES_OK(context, (StoreOutputs<CpuOps, Bfloat16>(context, 3, buffers, grads)));
  }
};

REGISTER_KERNEL_BUILDER(Name("EfgrnetDeformIm2Col").Device(tensorflow::DEVICE_CPU),
                        DeformIm2ColOp);
REGISTER_KERNEL_BUILDER(Name("EfgrnetDeformCol2Im").Device(tensorflow::DEVICE_CPU),
                        DeformCol2ImOp);

}  // namespace
}  // namespace deform_conv
}  // namespace efgrnet
