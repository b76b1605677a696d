#!/usr/bin/env bash
# Ctrl-C during training: the current step finishes, checkpoint.pt is saved,
# relnet exits 130 naming the resume command, and --resume completes the run.
source "$(dirname "$0")/common.bash"
/usr/bin/python3 "$RELNET_SOURCE_DIR/tests/smoke/make_cifar10.py" "$SCRATCH/data" >/dev/null
run="$SCRATCH/run"
args=(--config "$RELNET_SOURCE_DIR/configs/smoke.json" --set data.root="$SCRATCH/data"
      --set data.subset=2048 --set train.epochs=5 --set train.log_interval=1 --out-dir "$run")
"$RELNET_BIN" train "${args[@]}" >"$SCRATCH/log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do  # wait until a step has been logged
  grep -q '"kind":"step"' "$run/metrics.jsonl" 2>/dev/null && break
  sleep 0.1
done
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
cat "$SCRATCH/log"
[ "$rc" -eq 130 ] || fail "expected exit 130 after SIGINT, got $rc"
grep -qF -- "--resume" "$SCRATCH/log" || fail "no resume hint in the output"
[ -s "$run/checkpoint.pt" ] || fail "no checkpoint after SIGINT"
ls "$run" | grep -q '\.tmp\.' && fail "temporary file left behind"
step=$(/usr/bin/python3 -c "import json,sys,torch; print(json.loads(torch.load(sys.argv[1])['meta'])['global_step'])" "$run/checkpoint.pt")
[ "$step" -ge 1 ] || fail "checkpoint records step $step"
out=$("$RELNET_BIN" train "${args[@]}" --resume 2>&1)
grep -qF "resuming from '$run/checkpoint.pt'" <<<"$out" || fail "resume did not start: $out"
grep -qF "done: 5 epochs" <<<"$out" || fail "resume did not finish: $out"
echo "ok (interrupted at global step $step)"
