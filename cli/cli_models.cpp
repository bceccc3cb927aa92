#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <filesystem>
#include <ostream>

#include "models/atomic_file.h"
#include "models/error.h"
#include "models/npy.h"
#include "models/model_file.h"
#include "models/onnx_export.h"
#include "models/onnx_import.h"
#include "models/reference_engine.h"
#include "models/trainer.h"
#include "models/zoo.h"
#include "sampler/sensitivity.h"
#include "runner/model_source.h"
#include "cli/cli.h"
#include "cli/cli_commands.h"
#include "config/config.h"

namespace isimdl {
namespace po = boost::program_options;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Accuracy of the int8 model on test images [begin, end), with a confusion matrix.
struct Int8Evaluation {
  int correct = 0;
  int total = 0;
  std::vector<std::vector<int>> confusion;  // [true][predicted]
  std::vector<std::vector<std::int8_t>> logits;  // per image, when asked for
  double accuracy() const { return total ? static_cast<double>(correct) / total : 0.0; }
};

Int8Evaluation evaluate_int8(const QuantizedModel& model, const MnistSplit& data, ImageRange range,
                             std::ostream* progress, bool keep_logits = false) {
  ReferenceEngine engine(model);
  Int8Evaluation e;
  const int classes = model.arch.num_classes();
  e.confusion.assign(static_cast<std::size_t>(classes), std::vector<int>(static_cast<std::size_t>(classes), 0));
  InferenceTrace trace;
  for (int i = range.begin; i < range.end; ++i) {
    engine.run(data.images, i, trace);
    const int predicted = ReferenceEngine::top1(trace.logits());
    const int label = data.labels[static_cast<std::size_t>(i)];
    if (keep_logits) e.logits.push_back(trace.logits());
    e.correct += predicted == label;
    ++e.total;
    ++e.confusion[static_cast<std::size_t>(label)][static_cast<std::size_t>(predicted)];
    if (progress && (i - range.begin + 1) % 2000 == 0)
      *progress << fmt::format("  {} / {} images\n", i - range.begin + 1, range.size()) << std::flush;
  }
  return e;
}

ImageRange images_option(const std::string& prog, const std::string& text) {
  try {
    return parse_image_range(text);
  } catch (const Error& e) {
    throw UsageError(fmt::format("{}: --images: {}", prog, e.what()));
  }
}

void check_range(const ImageRange& range, const MnistSplit& data, const std::string& dir) {
  if (range.end > data.images.count)
    throw Error(fmt::format("--images {}: the test set in {} has only {} images", to_string(range), dir, data.images.count));
}

// --data, --dataset, --inputs, --labels, --mean, --std: the dataset of the
// commands that take no configuration file (docs/configuration.md, "dataset").
struct DatasetOptions {
  std::string format = "auto", dir, inputs, labels, mean = "0", std = "1";
  void add(po::options_description& desc) {
    desc.add_options()("data", po::value(&dir), "dataset directory (default .cache/mnist or .cache/fashion-mnist)")(
        "dataset", po::value(&format)->default_value(format), "mnist, fashion-mnist, npy, or auto (a zoo model's own dataset, else mnist)")(
        "inputs", po::value(&inputs), "images from a .npy file (N,C,H,W or N,H,W,C; uint8 or float32); implies --dataset npy")(
        "labels", po::value(&labels), "labels from a .npy file of integers (without: the model's own predictions)")(
        "mean", po::value(&mean)->default_value(mean), "per-channel mean subtracted from pixel/255 (comma-separated)")(
        "std", po::value(&std)->default_value(std), "per-channel standard deviation divided by (comma-separated)");
  }
  DatasetConfig config(const std::string& prog, const std::string& model) const {
    DatasetConfig d;
    d.format = inputs.empty() ? format : "npy";
    if (d.format != "auto" && d.format != "mnist" && d.format != "fashion-mnist" && d.format != "npy")
      throw UsageError(fmt::format("{}: --dataset: expected auto, mnist, fashion-mnist or npy, got '{}'", prog, format));
    if (d.format == "npy" && inputs.empty()) throw UsageError(fmt::format("{}: --dataset npy needs --inputs FILE.npy", prog));
    if (!labels.empty() && inputs.empty()) throw UsageError(fmt::format("{}: --labels needs --inputs", prog));
    d.dir = dir, d.inputs = inputs, d.labels = labels;
    auto list = [&](const std::string& text, const char* what, bool positive) {
      std::vector<double> values;
      std::stringstream in(text);
      std::string item;
      while (std::getline(in, item, ',')) {
        char* end = nullptr;
        const double v = std::strtod(item.c_str(), &end);
        if (item.empty() || end != item.c_str() + item.size() || !std::isfinite(v) || (positive && !(v > 0)))
          throw UsageError(fmt::format("{}: --{}: '{}' is not a {}number", prog, what, item, positive ? "positive " : ""));
        values.push_back(v);
      }
      if (values.empty()) throw UsageError(fmt::format("{}: --{}: needs at least one value", prog, what));
      return values;
    };
    d.mean = list(mean, "mean", false);
    d.std = list(std, "std", true);
    return d.resolved_for(model);
  }
};

int train_command(const std::vector<std::string>& args, const std::string& prog, CliStreams& io) {
  std::string model_name, out_path, optimizer = "adam";
  DatasetOptions data;
  TrainOptions options;
  int qat_epochs = 1, calibration_images = 2000;
  std::uint64_t init_seed = 1;
  po::options_description desc("Options");
  desc.add_options()("model", po::value(&model_name)->required(), "zoo architecture: lenet5, cnn-small, mlp")(
      "epochs", po::value(&options.epochs)->default_value(options.epochs), "float training epochs")(
      "qat-epochs", po::value(&qat_epochs)->default_value(qat_epochs), "quantization-aware fine-tuning epochs")(
      "batch", po::value(&options.batch)->default_value(options.batch), "mini-batch size")(
      "optimizer", po::value(&optimizer)->default_value(optimizer), "adam or sgd (with momentum)")(
      "lr", po::value(&options.learning_rate)->default_value(options.learning_rate, fmt::format("{}", options.learning_rate)), "learning rate")(
      "lr-decay", po::value(&options.lr_decay)->default_value(options.lr_decay, fmt::format("{}", options.lr_decay)), "learning rate factor per epoch")(
      "momentum", po::value(&options.momentum)->default_value(options.momentum, fmt::format("{}", options.momentum)), "SGD momentum")(
      "weight-decay", po::value(&options.weight_decay)->default_value(options.weight_decay, fmt::format("{}", options.weight_decay)), "L2 weight decay")(
      "seed", po::value(&init_seed)->default_value(init_seed), "seed of initialisation and shuffling")(
      "train-images", po::value(&options.train_images)->default_value(0), "use the first N training images (0 = all)")(
      "calibration-images", po::value(&calibration_images)->default_value(calibration_images),
      "training images used to calibrate activation ranges")(
      "out", po::value(&out_path)->required(), "model file to write (.isq)");
  data.add(desc);
  po::variables_map values;
  if (parse_command_line(prog, "--model NAME --out FILE [options]", desc, {}, args, values, io)) return kExitOk;
  if (optimizer == "adam")
    options.optimizer = OptimizerKind::kAdam;
  else if (optimizer == "sgd")
    options.optimizer = OptimizerKind::kSgd;
  else
    throw UsageError(fmt::format("{}: --optimizer: expected adam or sgd, got '{}'", prog, optimizer));
  if (options.epochs < 0 || qat_epochs < 0 || options.batch < 1 || calibration_images < 1)
    throw UsageError(fmt::format("{}: epochs must be >= 0, batch and calibration images >= 1", prog));
  options.seed = init_seed;

  const auto start = std::chrono::steady_clock::now();
  const DatasetConfig dataset = data.config(prog, model_name);
  const MnistSplit train_set = load_split(dataset, "train");
  const MnistSplit test_set = load_split(dataset, "t10k");
  FloatNetwork net(zoo_architecture(model_name));
  net.initialize(init_seed);
  io.out << fmt::format("training {} ({} parameters) on {} images, {} epochs + {} QAT epochs, {} lr {}\n", model_name,
                        net.arch().parameter_count(),
                        options.train_images ? options.train_images : train_set.images.count, options.epochs,
                        qat_epochs, optimizer, options.learning_rate);
  int epoch_base = 0, epoch_total = options.epochs + qat_epochs;
  auto progress = [&](int done, int total, double loss) {
    io.out << fmt::format("  epoch {}/{}  batch {}/{}  loss {:.4f}  ({:.0f} s)\n", epoch_base + 1, epoch_total, done,
                          total, loss, seconds_since(start))
           << std::flush;
  };
  auto on_epoch = [&](const EpochReport& r) {
    ++epoch_base;
    io.out << fmt::format("epoch {}/{}: loss {:.4f}, train accuracy {:.2f}%\n", epoch_base, epoch_total, r.mean_loss,
                          100 * r.train_accuracy)
           << std::flush;
  };
  train(net, train_set, options, on_epoch, progress);
  const double float_accuracy = evaluate(net, test_set, 0, test_set.images.count);
  io.out << fmt::format("float test accuracy {:.2f}%\n", 100 * float_accuracy);

  const int calib = std::min(calibration_images, train_set.images.count);
  const std::vector<float> calib_inputs = images_to_float(train_set.images, 0, calib);
  net.fake_quant() = make_fake_quantization(net.arch(), calibrate(net, calib_inputs, calib), mnist_input_qparams());
  if (qat_epochs > 0) {
    TrainOptions qat = options;
    qat.epochs = qat_epochs;
    qat.learning_rate = options.learning_rate * std::pow(options.lr_decay, options.epochs) * 0.1;
    qat.seed = options.seed + 1000;
    train(net, train_set, qat, on_epoch, progress);
  }
  const QuantizedModel model = quantize_network(net, net.fake_quant());
  const Int8Evaluation e = evaluate_int8(model, test_set, ImageRange{0, test_set.images.count}, nullptr);
  io.out << fmt::format("int8 test accuracy {:.2f}% ({} / {})\n", 100 * e.accuracy(), e.correct, e.total);
  save_model(model, out_path);
  io.out << fmt::format("wrote {} ({:.0f} s)\n", out_path, seconds_since(start));
  return kExitOk;
}

int infer_command(const std::vector<std::string>& args, const std::string& prog, CliStreams& io) {
  std::string model_arg, images = "0:10000", outputs_path, predictions_path;
  DatasetOptions data;
  bool with_float = false;
  po::options_description desc("Options");
  desc.add_options()("model", po::value(&model_arg)->required(), "zoo name, model file (.isq) or ONNX file")(
      "images", po::value(&images)->default_value(images), "test images begin:end")(
      "float", po::bool_switch(&with_float),
      "also report the float accuracy of the stored float weights (and write float logits to --outputs)")(
      "outputs", po::value(&outputs_path), "write the logits as float32 .npy, images x classes (int8: dequantized)")(
      "predictions", po::value(&predictions_path), "write image,label,predicted,top5 as CSV");
  data.add(desc);
  po::variables_map values;
  if (parse_command_line(prog, "--model NAME|FILE [--images BEGIN:END]", desc, {}, args, values, io)) return kExitOk;
  const ImageRange range = images_option(prog, images);
  const auto start = std::chrono::steady_clock::now();
  const std::string path = model_arg;
  const DatasetConfig dataset = data.config(prog, model_arg);
  const QuantizedModel model = open_model(model_arg, dataset);
  const MnistSplit test_set = open_test_set(dataset, model);
  check_range(range, test_set, dataset.format == "npy" ? dataset.inputs : dataset.resolved_dir());
  io.out << fmt::format("{}: {} layers, {} parameters; test images {}\n", path, model.arch.size(),
                        model.arch.parameter_count(), to_string(range));
  for (const std::string& path : {outputs_path, predictions_path})
    if (const auto parent = std::filesystem::path(path).parent_path(); !path.empty() && !parent.empty())
      std::filesystem::create_directories(parent);
  const bool keep = !outputs_path.empty() || !predictions_path.empty();
  const Int8Evaluation e = evaluate_int8(model, test_set, range, range.size() >= 4000 ? &io.out : nullptr, keep);
  io.out << fmt::format("int8 accuracy {:.2f}% ({} / {}) in {:.2f} s\n", 100 * e.accuracy(), e.correct, e.total,
                        seconds_since(start));
  const int classes = model.arch.num_classes();
  std::vector<float> outputs;
  if (keep) {
    const QuantParams q = model.layers.back().output;
    for (const auto& l : e.logits)
      for (std::int8_t v : l) outputs.push_back(dequantize(v, q));
  }
  if (with_float) {
    if (model.float_params.empty()) throw Error(fmt::format("{}: --float: the model file carries no float weights", path));
    FloatNetwork net(model.arch);
    net.params() = model.float_params;
    io.out << fmt::format("float accuracy {:.2f}%\n", 100 * evaluate(net, test_set, range.begin, range.end));
    if (!outputs_path.empty()) {
      outputs.clear();
      const std::vector<float> x = images_to_float(test_set.images, range.begin, range.end);
      ForwardPass pass;
      for (int first = 0; first < range.size(); first += 256) {
        const int n = std::min(256, range.size() - first);
        net.forward(x.data() + static_cast<std::size_t>(first) * model.arch.input_shape().size(), n, pass);
        outputs.insert(outputs.end(), pass.logits().begin(), pass.logits().end());
      }
    }
  }
  if (!outputs_path.empty()) {
    write_npy_float32(outputs_path, {range.size(), classes}, outputs);
    io.out << fmt::format("wrote {} ({} x {} {} logits)\n", outputs_path, range.size(), classes, with_float ? "float" : "dequantized int8");
  }
  if (!predictions_path.empty()) {
    std::string csv = "image,label,predicted,top5\n";
    for (int i = 0; i < range.size(); ++i) {
      const auto& l = e.logits[static_cast<std::size_t>(i)];
      std::vector<int> order(static_cast<std::size_t>(classes));
      std::iota(order.begin(), order.end(), 0);
      // Highest logit first; ties to the lower class, as top-1 breaks them.
      std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return l[static_cast<std::size_t>(a)] > l[static_cast<std::size_t>(b)]; });
      std::string top5;
      for (int k = 0; k < std::min(5, classes); ++k) top5 += (k ? " " : "") + std::to_string(order[static_cast<std::size_t>(k)]);
      csv += fmt::format("{},{},{},{}\n", range.begin + i, test_set.labels[static_cast<std::size_t>(range.begin + i)], order[0], top5);
    }
    write_file_atomically(predictions_path, csv);
    io.out << fmt::format("wrote {} ({} images)\n", predictions_path, range.size());
  }
  io.out << "confusion matrix (rows: true class, columns: predicted)\n      ";
  for (std::size_t c = 0; c < e.confusion.size(); ++c) io.out << fmt::format("{:>6}", c);
  io.out << "\n";
  for (std::size_t t = 0; t < e.confusion.size(); ++t) {
    io.out << fmt::format("{:>6}", t);
    for (int v : e.confusion[t]) io.out << fmt::format("{:>6}", v);
    io.out << "\n";
  }
  return kExitOk;
}

int sensitivity_command(const std::vector<std::string>& args, const std::string& prog, CliStreams& io) {
  std::string model_arg, images = "0:256", out_path, target = "golden";
  DatasetOptions data;
  po::options_description desc("Options");
  desc.add_options()("model", po::value(&model_arg)->required(), "zoo name or model file")(
      "images", po::value(&images)->default_value(images), "calibration images begin:end (test set)")(
      "target", po::value(&target)->default_value(target), "loss against the model's golden prediction or the label")(
      "out", po::value(&out_path)->required(), "CSV to write: layer,kind,tensor,index,mean_abs_grad");
  data.add(desc);
  po::variables_map values;
  if (parse_command_line(prog, "--model NAME --out FILE [--images A:B]", desc, {}, args, values, io)) return kExitOk;
  if (target != "golden" && target != "label")
    throw UsageError(fmt::format("{}: --target: expected golden or label, got '{}'", prog, target));
  const ImageRange range = images_option(prog, images);
  const auto start = std::chrono::steady_clock::now();
  const std::string path = model_arg;
  const DatasetConfig dataset = data.config(prog, model_arg);
  const QuantizedModel model = open_model(model_arg, dataset);
  const MnistSplit test_set = open_test_set(dataset, model);
  check_range(range, test_set, dataset.format == "npy" ? dataset.inputs : dataset.resolved_dir());
  const auto sensitivity = compute_sensitivity(model, test_set, range.begin, range.end,
                                               target == "golden" ? LossTarget::kGoldenPrediction : LossTarget::kTrueLabel);
  io.out << fmt::format("{}: mean |dL/dx| over {} images (loss against the {})\n", path, range.size(),
                        target == "golden" ? "golden prediction" : "label");
  io.out << fmt::format("{:>5} {:<9} {:>14} {:>14} {:>14}\n", "layer", "kind", "activation", "accumulator", "weight");
  auto mean = [](const std::vector<float>& v) {
    double s = 0;
    for (float x : v) s += x;
    return v.empty() ? 0.0 : s / static_cast<double>(v.size());
  };
  for (std::size_t l = 0; l < sensitivity.size(); ++l)
    io.out << fmt::format("{:>5} {:<9} {:>14.6g} {:>14.6g} {:>14.6g}\n", l, to_string(model.arch.layer(static_cast<int>(l)).kind),
                          mean(sensitivity[l].activation), mean(sensitivity[l].accumulator), mean(sensitivity[l].weight));
  write_sensitivity_csv(out_path, model, sensitivity);
  io.out << fmt::format("wrote {} ({:.1f} s)\n", out_path, seconds_since(start));
  return kExitOk;
}

}  // namespace

int import_command(const std::vector<std::string>& args, const std::string& prog, CliStreams& io) {
  std::string onnx_path, out_path, images = "0:1000";
  DatasetOptions data;
  int calibration = kDefaultCalibrationImages;
  po::options_description desc("Options");
  desc.add_options()("model", po::value(&onnx_path)->required(), "ONNX file to import (also the first positional argument)")(
      "out", po::value(&out_path)->required(), "isimdl model file to write (.isq)")(
      "calibration", po::value(&calibration)->default_value(calibration), "training images to calibrate activation ranges on")(
      "images", po::value(&images)->default_value(images), "test images on which float and int8 top-1 are compared");
  po::positional_options_description positional;
  positional.add("model", 1);
  data.add(desc);
  po::variables_map values;
  if (parse_command_line(prog, "MODEL.onnx --out MODEL.isq [--calibration N]", desc, positional, args, values, io))
    return kExitOk;
  if (calibration <= 0) throw UsageError(fmt::format("{}: --calibration must be positive, got {}", prog, calibration));
  const ImageRange range = images_option(prog, images);
  // Before any work: a missing directory is made, an unwritable one fails now.
  if (const auto parent = std::filesystem::path(out_path).parent_path(); !parent.empty()) std::filesystem::create_directories(parent);
  const auto start = std::chrono::steady_clock::now();
  const ImportedNetwork imported = import_onnx(onnx_path);
  const double import_seconds = seconds_since(start);
  io.out << fmt::format("{}: {} layers, {} parameters, input {}, {} classes (read in {:.2f} s)\n", onnx_path,
                        imported.net.arch().size(), imported.net.arch().parameter_count(),
                        to_string(imported.net.arch().input_shape()), imported.net.arch().num_classes(), import_seconds);
  for (const auto& note : imported.notes) io.out << "  note: " << note << "\n";
  const DatasetConfig dataset = data.config(prog, onnx_path);
  const MnistSplit train = load_split(dataset, "train");
  std::vector<std::string> quantization_notes;
  const QuantizedModel model = quantize_imported(imported.net, train, calibration, imported.quantization, &quantization_notes);
  for (const auto& note : quantization_notes) io.out << "  note: " << note << "\n";
  const bool own_quantization = imported.quantization.covers(imported.net.arch());
  if (!imported.quantization.empty())
    io.out << fmt::format("  QDQ model: {} given activation quantizations, {} layers with given int8 weights{}\n",
                          imported.quantization.activations.size() + (imported.quantization.input ? 1 : 0),
                          imported.quantization.weights.size(),
                          own_quantization ? "; nothing calibrated" : "; the other tensors calibrated");
  const MnistSplit test_set = open_test_set(dataset, model);
  check_range(range, test_set, dataset.format == "npy" ? dataset.inputs : dataset.resolved_dir());
  const Int8Evaluation e = evaluate_int8(model, test_set, range, nullptr);
  FloatNetwork plain = imported.net;
  plain.fake_quant().enabled = false;
  const std::vector<float> inputs = images_to_float(test_set.images, range.begin, range.end);
  ForwardPass pass;
  int agree = 0;
  const int classes = model.arch.num_classes();
  ReferenceEngine engine(model);
  InferenceTrace trace;
  for (int first = range.begin; first < range.end; first += 256) {
    const int n = std::min(256, range.end - first);
    plain.forward(inputs.data() + static_cast<std::size_t>(first - range.begin) * model.arch.input_shape().size(), n, pass);
    for (int i = 0; i < n; ++i) {
      engine.run(test_set.images, first + i, trace);
      agree += ReferenceEngine::top1(trace.logits()) == argmax(pass.logits().data() + static_cast<std::size_t>(i) * classes, classes);
    }
  }
  save_model(model, out_path);
  const std::string how = own_quantization ? std::string("quantized as the model gives it")
                                           : fmt::format("quantized on {} training images", std::min(calibration, train.images.count));
  io.out << fmt::format("{}; on test images {}: int8 accuracy {:.2f}%, int8 top-1 equals float top-1 on {:.2f}%\nwrote {}\n",
                        how, to_string(range), 100 * e.accuracy(), 100.0 * agree / range.size(), out_path);
  return kExitOk;
}

int export_command(const std::vector<std::string>& args, const std::string& prog, CliStreams& io) {
  std::string model_arg, out_path;
  po::options_description desc("Options");
  desc.add_options()("model", po::value(&model_arg)->required(), "zoo name or isimdl model file (also the first positional argument)")(
      "out", po::value(&out_path)->required(), "ONNX file to write");
  po::positional_options_description positional;
  positional.add("model", 1);
  po::variables_map values;
  if (parse_command_line(prog, "MODEL.isq --out MODEL.onnx", desc, positional, args, values, io)) return kExitOk;
  if (const auto parent = std::filesystem::path(out_path).parent_path(); !parent.empty()) std::filesystem::create_directories(parent);
  const std::string path = resolve_model_path(model_arg, default_zoo_dir());
  const QuantizedModel model = load_model(path);
  // The stored float weights (what fat fine-tunes); a model without them
  // exports its dequantized int8 weights.
  FloatNetwork net = dequantized_network(model);
  net.fake_quant().enabled = false;
  export_onnx(net, out_path);
  io.out << fmt::format("{}: {} layers, {} parameters ({} weights) -> {}\n", path, model.arch.size(),
                        model.arch.parameter_count(), model.float_params.empty() ? "dequantized int8" : "float", out_path);
  return kExitOk;
}

std::vector<CliCommand> model_commands() {
  return {
      {"import", "import an ONNX model (PyTorch, TensorFlow exporters) and quantize it to an isimdl model file",
       import_command, {}},
      {"export", "write a model's float network (e.g. after fat) as ONNX", export_command, {}},
      {"train", "train a zoo architecture on MNIST and write its int8 model file", train_command, {}},
      {"infer", "run the int8 reference engine on MNIST test images: accuracy, confusion matrix", infer_command, {}},
      {"sensitivity", "mean |dloss/dx| of every activation, accumulator and weight over images (ISimDL)",
       sensitivity_command, {}},
  };
}

}  // namespace isimdl
