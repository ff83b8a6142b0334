// footrackd's thin wrapper over the TensorRT 10 runtime API (cargo feature `tensorrt`).
// Deserializes a prebuilt engine, creates one execution context, binds tensor addresses and
// enqueues on the caller's CUDA stream. Built by build.rs only where TensorRT is installed.
// NOT compiled or run in this project's CI (no TensorRT there): see docs/gpu.md.
#include <NvInfer.h>
#include <NvInferVersion.h>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

namespace {
class Logger : public nvinfer1::ILogger {
  void log(Severity severity, const char* msg) noexcept override {
    if (severity <= Severity::kWARNING) std::fprintf(stderr, "tensorrt: %s\n", msg);
  }
};
Logger g_logger;

void set_err(char* err, size_t len, const char* msg) {
  if (err && len) {
    std::snprintf(err, len, "%s", msg);
  }
}
}  // namespace

struct FtTrt {
  std::unique_ptr<nvinfer1::IRuntime> runtime;
  std::unique_ptr<nvinfer1::ICudaEngine> engine;
  std::unique_ptr<nvinfer1::IExecutionContext> context;
};

extern "C" {

int ft_trt_version() { return NV_TENSORRT_MAJOR * 10000 + NV_TENSORRT_MINOR * 100 + NV_TENSORRT_PATCH; }

FtTrt* ft_trt_load(const char* path, char* err, size_t err_len) {
  std::ifstream f(path, std::ios::binary);
  if (!f) { set_err(err, err_len, "cannot open engine file"); return nullptr; }
  std::vector<char> blob((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto t = std::make_unique<FtTrt>();
  t->runtime.reset(nvinfer1::createInferRuntime(g_logger));
  if (!t->runtime) { set_err(err, err_len, "createInferRuntime failed"); return nullptr; }
  t->engine.reset(t->runtime->deserializeCudaEngine(blob.data(), blob.size()));
  if (!t->engine) {
    set_err(err, err_len, "deserializeCudaEngine failed (engine built by another TensorRT version or for another GPU?)");
    return nullptr;
  }
  t->context.reset(t->engine->createExecutionContext());
  if (!t->context) { set_err(err, err_len, "createExecutionContext failed"); return nullptr; }
  return t.release();
}

int ft_trt_num_io(const FtTrt* t) { return t->engine->getNbIOTensors(); }

// Fills name, dims, direction and whether the tensor is float32, for I/O tensor `index`; 0 on success.
int ft_trt_io(const FtTrt* t, int index, char* name, size_t name_len, long long* dims, int* nb_dims, int* is_input, int* is_float) {
  const char* n = t->engine->getIOTensorName(index);
  if (!n) return -1;
  set_err(name, name_len, n);
  nvinfer1::Dims d = t->engine->getTensorShape(n);
  *nb_dims = d.nbDims;
  for (int i = 0; i < d.nbDims && i < 8; i++) dims[i] = d.d[i];
  *is_input = t->engine->getTensorIOMode(n) == nvinfer1::TensorIOMode::kINPUT;
  *is_float = t->engine->getTensorDataType(n) == nvinfer1::DataType::kFLOAT;
  return 0;
}

// Sets the input's batch (engines with a dynamic first dimension), binds `input` and every
// output, in I/O order, to `outputs[0..n_outputs]`, and enqueues on `stream` (a CUstream /
// cudaStream_t). Returns 0 on success.
int ft_trt_enqueue(FtTrt* t, void* input, int batch, void* const* outputs, int n_outputs, void* stream, char* err, size_t err_len) {
  const char* in_name = nullptr;
  int bound_outputs = 0;
  for (int i = 0; i < t->engine->getNbIOTensors(); i++) {
    const char* n = t->engine->getIOTensorName(i);
    if (t->engine->getTensorIOMode(n) == nvinfer1::TensorIOMode::kINPUT) {
      if (in_name) { set_err(err, err_len, "engine has more than one input"); return -1; }
      in_name = n;
    } else {
      if (bound_outputs >= n_outputs) { set_err(err, err_len, "more outputs than buffers"); return -1; }
      if (!t->context->setTensorAddress(n, outputs[bound_outputs++])) { set_err(err, err_len, "setTensorAddress (output) failed"); return -1; }
    }
  }
  if (!in_name || bound_outputs == 0) { set_err(err, err_len, "engine lacks an input or an output"); return -1; }
  nvinfer1::Dims d = t->engine->getTensorShape(in_name);
  if (d.nbDims > 0 && d.d[0] == -1) {
    d.d[0] = batch;
    if (!t->context->setInputShape(in_name, d)) { set_err(err, err_len, "setInputShape failed (batch outside the engine's profile?)"); return -1; }
  } else if (batch != 1 && d.nbDims > 0 && d.d[0] != batch) {
    set_err(err, err_len, "the engine's batch is fixed");
    return -1;
  }
  if (!t->context->setTensorAddress(in_name, input)) { set_err(err, err_len, "setTensorAddress (input) failed"); return -1; }
  if (!t->context->enqueueV3(reinterpret_cast<cudaStream_t>(stream))) { set_err(err, err_len, "enqueueV3 failed"); return -1; }
  return 0;
}

// The first output's shape for the current input shape; 0 on success.
int ft_trt_output_shape(const FtTrt* t, long long* dims, int* nb_dims) {
  for (int i = 0; i < t->engine->getNbIOTensors(); i++) {
    const char* n = t->engine->getIOTensorName(i);
    if (t->engine->getTensorIOMode(n) == nvinfer1::TensorIOMode::kOUTPUT) {
      nvinfer1::Dims d = t->context->getTensorShape(n);
      *nb_dims = d.nbDims;
      for (int k = 0; k < d.nbDims && k < 8; k++) dims[k] = d.d[k];
      return 0;
    }
  }
  return -1;
}

void ft_trt_free(FtTrt* t) { delete t; }
}
