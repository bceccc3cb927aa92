#include "runner/model_source.h"

#include <fmt/format.h>

#include <filesystem>

#include "models/error.h"
#include "models/model_file.h"
#include "models/onnx_import.h"
#include "models/reference_engine.h"
#include "models/trainer.h"
#include "models/zoo.h"

namespace isimdl {
namespace {

std::string dataset_name(const DatasetConfig& d) {
  return d.format == "npy" ? d.inputs : fmt::format("{} in {}", d.format, d.resolved_dir());
}

}  // namespace

MnistSplit load_split(const DatasetConfig& dataset, const std::string& split) {
  MnistSplit data = dataset.format == "npy" ? load_npy_dataset(dataset.inputs, dataset.labels, dataset.layout)
                                            : load_mnist(dataset.resolved_dir(), split);
  const auto channels = static_cast<std::size_t>(data.images.channels);
  for (const auto* list : {&dataset.mean, &dataset.std})
    if (list->size() != 1 && list->size() != channels)
      throw Error(fmt::format("dataset.{}: {} values for images of {} channels (give one, or one per channel)",
                              list == &dataset.mean ? "mean" : "std", list->size(), channels));
  data.images.mean.assign(dataset.mean.begin(), dataset.mean.end());
  data.images.std.assign(dataset.std.begin(), dataset.std.end());
  return data;
}

void check_model_input(const Architecture& arch, const IdxImages& images, const std::string& model_name,
                       const std::string& dataset) {
  const Shape image{images.channels, images.rows, images.cols};
  if (arch.input_shape() != image)
    throw Error(fmt::format("{}: the model takes {} inputs, the images of {} are {}", model_name,
                            to_string(arch.input_shape()), dataset, to_string(image)));
}

QuantizedModel quantize_imported(const FloatNetwork& imported, const MnistSplit& calibration, int count,
                                 const QuantizationOverrides& given, std::vector<std::string>* notes) {
  check_model_input(imported.arch(), calibration.images, imported.arch().name(), "the calibration set");
  const Architecture& arch = imported.arch();
  FloatNetwork net = imported;
  net.fake_quant().enabled = false;
  CalibrationRanges ranges{std::vector<float>(static_cast<std::size_t>(arch.size()), 0.0f),
                           std::vector<float>(static_cast<std::size_t>(arch.size()), 0.0f)};
  QuantParams input = mnist_input_qparams();
  if (!given.covers(arch)) {
    count = std::min(count, calibration.images.count);
    if (count <= 0) throw Error("quantization needs at least one calibration image");
    const std::vector<float> inputs = images_to_float(calibration.images, 0, count);
    ranges = calibrate(net, inputs, count);
    // Byte images read as pixel / 255 are exactly representable with the
    // MNIST input quantization; anything else gets its calibrated range.
    const bool plain_bytes = calibration.images.bytes() && calibration.images.mean == std::vector<float>{0.0f} &&
                             calibration.images.std == std::vector<float>{1.0f};
    if (!plain_bytes) {
      const auto [lo, hi] = std::minmax_element(inputs.begin(), inputs.end());
      input = choose_activation_qparams(*lo, *hi);
    }
  }
  net.fake_quant() = make_fake_quantization(arch, ranges, input, &given);
  // A given quantization the int8 engine cannot keep: a layer that stays on
  // its input's grid (activations, pooling, flatten), or a Conv/Linear whose
  // fused ReLU's output is the int8 tensor.
  if (notes) {
    for (int li = 0; li < arch.size(); ++li)
      if (requantizes(arch, li)) given_output(arch, given, li, notes);
  }
  // (Requantizing layers are explained by given_output above.)
  if (notes)
    for (const auto& [layer, params] : given.activations) {
      const QuantParams& used = net.fake_quant().output[static_cast<std::size_t>(layer)];
      const LayerKind kind = arch.layer(layer).kind;
      if (used == params || requantizes(arch, layer)) continue;
      notes->push_back(fmt::format("layer {} ({}): the model quantizes its output with scale {} and zero point {}; isimdl's "
                                   "int8 tensor there has scale {} and zero point {} (this layer keeps its input's grid)",
                                   layer, to_string(kind), params.scale, params.zero_point, used.scale, used.zero_point));
    }
  return quantize_network(net, net.fake_quant(), &given, notes);
}

QuantizedModel open_model(const std::string& name_or_path, const DatasetConfig& dataset, std::vector<std::string>* notes) {
  if (std::filesystem::path(name_or_path).extension() == ".onnx") {
    ImportedNetwork imported = import_onnx(name_or_path);
    if (notes) *notes = imported.notes;
    return quantize_imported(imported.net, load_split(dataset, "train"), kDefaultCalibrationImages, imported.quantization,
                             notes);
  }
  const std::string path = resolve_model_path(name_or_path, default_zoo_dir());
  if (!std::filesystem::exists(path)) {
    std::string known;
    for (const auto& n : zoo_names()) known += (known.empty() ? "" : ", ") + n;
    throw Error(fmt::format("{}: no such model file, and not a zoo model (zoo: {}); an .onnx file is imported", name_or_path,
                            known));
  }
  if (std::filesystem::is_directory(path)) throw Error(fmt::format("{}: is a directory, not a model file", path));
  return load_model(path);
}

void label_with_golden_predictions(const QuantizedModel& model, MnistSplit& data) {
  const bool unlabelled = std::any_of(data.labels.begin(), data.labels.end(), [](std::uint8_t l) { return l == kUnlabelled; });
  if (!unlabelled) return;
  ReferenceEngine engine(model);
  InferenceTrace trace;
  for (int i = 0; i < data.images.count; ++i)
    if (data.labels[static_cast<std::size_t>(i)] == kUnlabelled) {
      engine.run(data.images, i, trace);
      data.labels[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(ReferenceEngine::top1(trace.logits()));
    }
}

MnistSplit open_train_set(const DatasetConfig& dataset, const QuantizedModel& model) {
  MnistSplit data = load_split(dataset, "train");
  check_model_input(model.arch, data.images, model.arch.name(), dataset_name(dataset));
  label_with_golden_predictions(model, data);
  return data;
}

MnistSplit open_test_set(const DatasetConfig& dataset, const QuantizedModel& model) {
  MnistSplit data = load_split(dataset, "t10k");
  check_model_input(model.arch, data.images, model.arch.name(), dataset_name(dataset));
  label_with_golden_predictions(model, data);
  for (std::size_t i = 0; i < data.labels.size(); ++i)
    if (data.labels[i] >= model.arch.num_classes())
      throw Error(fmt::format("{}: image {} has label {}, the model has {} classes", dataset_name(dataset), i,
                              data.labels[i], model.arch.num_classes()));
  return data;
}

}  // namespace isimdl
