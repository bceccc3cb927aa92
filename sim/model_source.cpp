#include "sim/model_source.h"

#include <fmt/format.h>

#include <filesystem>

#include "models/error.h"
#include "models/model_file.h"
#include "models/onnx_import.h"
#include "models/trainer.h"
#include "models/zoo.h"

namespace isimdl {

QuantizedModel quantize_imported(const FloatNetwork& imported, const MnistSplit& calibration, int count) {
  check_model_input(imported.arch(), calibration.images, imported.arch().name());
  count = std::min(count, calibration.images.count);
  if (count <= 0) throw Error("quantization needs at least one calibration image");
  FloatNetwork net = imported;
  net.fake_quant().enabled = false;
  const std::vector<float> inputs = images_to_float(calibration.images, 0, count);
  const CalibrationRanges ranges = calibrate(net, inputs, count);
  net.fake_quant() = make_fake_quantization(net.arch(), ranges, mnist_input_qparams());
  return quantize_network(net, net.fake_quant());
}

void check_model_input(const Architecture& arch, const IdxImages& images, const std::string& model_name) {
  const Shape image{1, images.rows, images.cols};
  if (arch.input_shape() != image)
    throw Error(fmt::format("{}: the model takes {} inputs, the dataset's images are {} (MNIST); other datasets are not "
                            "supported yet",
                            model_name, to_string(arch.input_shape()), to_string(image)));
}

QuantizedModel open_model(const std::string& name_or_path, const std::string& data_dir, std::vector<std::string>* notes) {
  if (std::filesystem::path(name_or_path).extension() == ".onnx") {
    ImportedNetwork imported = import_onnx(name_or_path);
    if (notes) *notes = imported.notes;
    return quantize_imported(imported.net, load_mnist(data_dir, "train"), kDefaultCalibrationImages);
  }
  QuantizedModel model = load_model(resolve_model_path(name_or_path, default_zoo_dir()));
  const Shape mnist{1, 28, 28};
  if (model.arch.input_shape() != mnist)
    throw Error(fmt::format("{}: the model takes {} inputs, the dataset's images are {} (MNIST); other datasets are not "
                            "supported yet",
                            name_or_path, to_string(model.arch.input_shape()), to_string(mnist)));
  return model;
}

}  // namespace isimdl
