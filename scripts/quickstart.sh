#!/usr/bin/env bash
# The main job end to end on real data: self-supervised training of a Conv4 on
# Fashion-MNIST (from Debian's dataset-fashion-mnist package), then linear
# evaluation of the trained backbone and, for contrast, of the same network
# with random weights.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/setup.sh
bash scripts/build.sh --target relnet
relnet=${BUILD_DIR:-build}/relnet
config=configs/fashion_mnist_conv4.json
run=runs/fashion_mnist_conv4

"$relnet" train --config "$config" --out-dir "$run" "$@"
"$relnet" linear-eval --checkpoint "$run/backbone.pt"
"$relnet" linear-eval --checkpoint "$run/backbone.pt" --random-init

acc() { sed -n 's/.*"test_accuracy": *\([0-9.]*\).*/\1/p' "$1"; }
trained=$(acc "$run/linear_eval.json")
random=$(acc "$run/linear_eval_random_init.json")
echo
echo "Fashion-MNIST linear evaluation (test accuracy, 10 classes)"
printf '  relnet Conv4, self-supervised : %.2f%%\n' "$(awk "BEGIN{print $trained*100}")"
printf '  same Conv4, random weights    : %.2f%%\n' "$(awk "BEGIN{print $random*100}")"
echo "  results: $run/linear_eval.json, $run/linear_eval_random_init.json"
echo "  total time: $(( $(date +%s) - start )) s"
