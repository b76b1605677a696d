#!/usr/bin/env bash
# Data-parallel training on loopback: `relnet launch` with 2 ranks trains,
# the ranks hold identical weights after every step (rank_param_hashes in
# metrics.jsonl), the loss goes down, and rank 0 wrote the run alone. A rank
# killed with SIGKILL makes the other exit non-zero within the collective
# timeout, with launch and without it.
source "$(dirname "$0")/common.bash"
if ! "$RELNET_BIN" launch --help >/dev/null 2>&1; then fail "no launch command"; fi
/usr/bin/python3 "$RELNET_SOURCE_DIR/tests/smoke/make_cifar10.py" "$SCRATCH/data" >/dev/null
cfg="$RELNET_SOURCE_DIR/configs/smoke.json"
common=(--set data.root="$SCRATCH/data" --set data.subset=512 --set train.batch_size=16
        --set train.threads=1 --set data.workers=1 --set train.log_interval=1
        --set train.dist_timeout_s=10)

if "$RELNET_BIN" info --json | /usr/bin/python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["distributed"] else 1)'; then :; else
  expect_fail 1 "built without distributed training" -- env WORLD_SIZE=2 RANK=0 MASTER_ADDR=127.0.0.1 \
    "$RELNET_BIN" train --config "$cfg" "${common[@]}" --out-dir "$SCRATCH/none"
  echo "ok (built without distributed training: refusal checked)"
  exit 0
fi

# Bad launch lines: one message each, exit 1.
expect_fail 1 "give the command to run after --" -- "$RELNET_BIN" launch --nproc 2
expect_fail 1 "--node-rank 2 must be < --nnodes 2" -- "$RELNET_BIN" launch --nnodes 2 --node-rank 2 \
  --master-port 29500 -- train --config "$cfg"
expect_fail 1 "every node needs the same --master-port" -- "$RELNET_BIN" launch --nnodes 2 -- train \
  --config "$cfg"

run="$SCRATCH/run"
"$RELNET_BIN" launch --nproc 2 -- train --config "$cfg" "${common[@]}" --set train.epochs=3 \
  --out-dir "$run" >"$SCRATCH/launch.out" 2>&1 || { cat "$SCRATCH/launch.out"; fail "launch failed"; }
cat "$SCRATCH/launch.out"
grep -qF "rank 0 of 2 (effective batch 32 = 16 x 2)" "$SCRATCH/launch.out" || fail "no rank line"
for f in checkpoint.pt backbone.pt metrics.jsonl train.log curves.png; do
  [ -s "$run/$f" ] || fail "missing $run/$f"
done
/usr/bin/python3 - "$run/metrics.jsonl" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
steps = [r for r in recs if r["kind"] == "step"]
epochs = [r for r in recs if r["kind"] == "epoch"]
# 512 images / (16 per rank x 2 ranks) = 16 steps per epoch, 3 epochs, a record each.
assert len(steps) == 48 and len(epochs) == 3, (len(steps), len(epochs))
for r in steps + epochs:
    h = r["rank_param_hashes"]
    assert len(h) == 2 and h[0] == h[1], r
first = sum(r["loss"] for r in steps[:8]) / 8
last = sum(r["loss"] for r in steps[-8:]) / 8
assert last < first - 0.01, (first, last)
print(f"2 ranks: {len(steps)} steps, identical weights at each, loss {first:.4f} -> {last:.4f}")
PY

# Every other method through the same data parallelism: the ranks stay
# identical (their modules, optimizers and DeepCluster's clusters included).
for method in simclr deepcluster infomax rotation supervised; do
  mrun="$SCRATCH/run_$method"
  "$RELNET_BIN" launch --nproc 2 -- train --config "$cfg" "${common[@]}" --set data.subset=64 \
    --set method.name=$method --set method.clusters=8 --set train.epochs=2 --out-dir "$mrun" \
    >"$SCRATCH/launch_$method.out" 2>&1 || { cat "$SCRATCH/launch_$method.out"; fail "launch of $method failed"; }
  /usr/bin/python3 - "$mrun/metrics.jsonl" "$method" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert [r["epoch"] for r in recs if r["kind"] == "epoch"] == [1, 2], recs
for r in recs:
    h = r["rank_param_hashes"]
    assert len(h) == 2 and h[0] == h[1], (sys.argv[2], r)
print(f"2 ranks, {sys.argv[2]}: {len(recs)} records, identical weights at each")
PY
done

# Ctrl-C on launch: every rank stops at the same step, rank 0 saves, exit 130;
# then the group resumes and finishes, the ranks still identical.
"$RELNET_BIN" launch --nproc 2 -- train --config "$cfg" "${common[@]}" --set train.epochs=3 \
  --set data.subset=2048 --out-dir "$SCRATCH/resumed" >"$SCRATCH/int.out" 2>&1 &
launch=$!
for _ in $(seq 300); do
  grep -q '"kind":"step"' "$SCRATCH/resumed/metrics.jsonl" 2>/dev/null && break
  sleep 0.2
done
kill -INT "$launch"
rc=0; wait "$launch" || rc=$?
tail -3 "$SCRATCH/int.out"
[ "$rc" -eq 130 ] || fail "interrupted launch exited $rc, expected 130"
[ -s "$SCRATCH/resumed/checkpoint.pt" ] || fail "no checkpoint after Ctrl-C"
grep -qF "continue with: relnet launch --nproc 2 -- train" "$SCRATCH/int.out" || fail "no resume hint"
"$RELNET_BIN" launch --nproc 2 -- train --config "$cfg" "${common[@]}" --set train.epochs=3 \
  --set data.subset=2048 --out-dir "$SCRATCH/resumed" --resume >"$SCRATCH/resume.out" 2>&1 \
  || { cat "$SCRATCH/resume.out"; fail "resumed launch failed"; }
grep -qF "resuming from" "$SCRATCH/resume.out" || fail "did not resume"
/usr/bin/python3 - "$SCRATCH/resumed/metrics.jsonl" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
epochs = [r for r in recs if r["kind"] == "epoch"]
assert [r["epoch"] for r in epochs] == [1, 2, 3], [r["epoch"] for r in epochs]
assert all(r["rank_param_hashes"][0] == r["rank_param_hashes"][1] for r in recs), "ranks differ"
assert epochs[-1]["global_step"] == 3 * 64, epochs[-1]["global_step"]
print("interrupted and resumed as a group: 3 epochs,", epochs[-1]["global_step"], "steps")
PY

# A killed rank: the survivor fails within the timeout (10 s) instead of hanging.
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port
RANK=0 "$RELNET_BIN" train --config "$cfg" "${common[@]}" --set train.epochs=1000 \
  --out-dir "$SCRATCH/killed" >"$SCRATCH/r0.out" 2>&1 &
pid0=$!
RANK=1 "$RELNET_BIN" train --config "$cfg" "${common[@]}" --set train.epochs=1000 \
  --out-dir "$SCRATCH/killed" >"$SCRATCH/r1.out" 2>&1 &
pid1=$!
unset WORLD_SIZE MASTER_ADDR MASTER_PORT
for _ in $(seq 300); do
  grep -q '"kind":"step"' "$SCRATCH/killed/metrics.jsonl" 2>/dev/null && break
  sleep 0.2
done
grep -q '"kind":"step"' "$SCRATCH/killed/metrics.jsonl" || { cat "$SCRATCH/r0.out"; fail "ranks never stepped"; }
kill -9 "$pid1"
start=$(date +%s)
rc=0; wait "$pid0" || rc=$?
elapsed=$(( $(date +%s) - start ))
cat "$SCRATCH/r0.out" | tail -3
[ "$rc" -eq 1 ] || fail "rank 0 exited $rc after rank 1 was killed"
[ "$elapsed" -le 30 ] || fail "rank 0 took ${elapsed}s to notice"
grep -qF "rank 0: " "$SCRATCH/r0.out" || fail "no rank message"
grep -qF "with the other ranks failed" "$SCRATCH/r0.out" || fail "unclear failure message"

# Under launch: killing one rank ends the job with a non-zero code.
"$RELNET_BIN" launch --nproc 2 -- train --config "$cfg" "${common[@]}" --set train.epochs=1000 \
  --out-dir "$SCRATCH/killed2" >"$SCRATCH/launch2.out" 2>&1 &
launch=$!
for _ in $(seq 300); do
  grep -q '"kind":"step"' "$SCRATCH/killed2/metrics.jsonl" 2>/dev/null && break
  sleep 0.2
done
children=($(pgrep -P "$launch"))
[ "${#children[@]}" -eq 2 ] || fail "launch has ${#children[@]} children"
kill -9 "${children[1]}"
rc=0; wait "$launch" || rc=$?
[ "$rc" -ne 0 ] || fail "launch exited 0 after a rank was killed"
sleep 0.5
if kill -0 "${children[0]}" 2>/dev/null; then fail "the other rank is still running"; fi
grep -qF "exited with code" "$SCRATCH/launch2.out" || fail "launch did not say which rank failed"
echo "ok"
