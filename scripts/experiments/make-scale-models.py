#!/usr/bin/python3
"""Writes the networks and images of the at-scale benchmarks (docs/performance.md,
"At ResNet scale") into a directory, default .cache/scale:

  resnet18.onnx      torchvision ResNet-18, 10 classes, 3x64x64 input
  mobilenet_v2.onnx  torchvision MobileNetV2, 10 classes, 3x64x64 input
  images.npy         128 uint8 images, 128x3x64x64 (smooth random patterns)

Weights are torchvision's random initialization with a fixed seed (no download);
BatchNormalization running statistics are set from the images so that
activations have realistic ranges. Only the speed and memory of isimdl are
measured with them, not accuracy. Needs Debian's python3-torch and
python3-torchvision; the build and the tests do not.

  scripts/experiments/make-scale-models.py [DIR]
"""
import os
import sys

import numpy as np
import torch
import torchvision


def images(count, seed):
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(count, 3, 8, 8, generator=g)
    x = torch.nn.functional.interpolate(low, size=(64, 64), mode="bilinear", align_corners=False)
    x = x + 0.1 * torch.randn(count, 3, 64, 64, generator=g)
    return (x.clamp(0, 1) * 255).round().to(torch.uint8)


def export(model, x, path):
    model.train()
    with torch.no_grad():  # BatchNorm statistics of these inputs
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.reset_running_stats()
                m.momentum = None
        for i in range(0, len(x), 32):
            model(x[i:i + 32])
    model.eval()
    torch.onnx.export(model, x[:1], path, opset_version=13, input_names=["input"], output_names=["logits"])
    print(f"{path}: {sum(p.numel() for p in model.parameters())} parameters")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else ".cache/scale"
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(2026)
    u8 = images(128, 7)
    np.save(os.path.join(out, "images.npy"), u8.numpy())
    x = u8.float() / 255.0
    export(torchvision.models.resnet18(num_classes=10), x, os.path.join(out, "resnet18.onnx"))
    export(torchvision.models.mobilenet_v2(num_classes=10), x, os.path.join(out, "mobilenet_v2.onnx"))


if __name__ == "__main__":
    main()
