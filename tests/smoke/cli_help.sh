#!/usr/bin/env bash
# `relnet --help` and each subcommand's help list their options and exit 0.
source "$(dirname "$0")/common.bash"
out=$("$RELNET_BIN" --help)
grep -q "train" <<<"$out" || fail "--help does not list train"
grep -q "linear-eval" <<<"$out" || fail "--help does not list linear-eval"
"$RELNET_BIN" train --help | grep -q -- "--config" || fail "train --help lacks --config"
"$RELNET_BIN" linear-eval --help | grep -q -- "--checkpoint" || fail "linear-eval --help lacks --checkpoint"
for cmd in finetune test knn retrieval; do
  "$RELNET_BIN" $cmd --help | grep -q -- "--checkpoint" || fail "$cmd --help lacks --checkpoint"
done
"$RELNET_BIN" inspect --help | grep -q -- "FILE" || fail "inspect --help lacks FILE"
"$RELNET_BIN" --version | grep -q "relnet" || fail "--version"
expect_fail 2 "" -- "$RELNET_BIN" no-such-command
expect_fail 2 "--config" -- "$RELNET_BIN" train
echo "ok"
