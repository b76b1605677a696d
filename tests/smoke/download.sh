#!/usr/bin/env bash
# `relnet download` against a loopback HTTP server serving a small archive in
# CIFAR-10's official layout: success, already present, wrong checksum
# (nothing left behind), HTTP 404, connection refused, interrupted transfer.
source "$(dirname "$0")/common.bash"
PY=/usr/bin/python3
serve="$SCRATCH/serve"
mkdir -p "$serve/mirror"
# An archive shaped like cifar-10-binary.tar.gz: every batch file at its
# official size (zeros, so it compresses to little), data_batch_1.bin
# starting with a recognisable text. And a partial one without most files.
$PY - "$serve/mirror/cifar-10-binary.tar.gz" "$serve/partial/cifar-10-binary.tar.gz" <<'PY'
import io, os, sys, tarfile
def write(path, names):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for name, size in names:
            head = (name * 100).encode()
            data = head + bytes(size - len(head)) if size else head
            info = tarfile.TarInfo("cifar-10-batches-bin/" + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
full = [("data_batch_%d.bin" % i, 30730000) for i in range(1, 6)] + [("test_batch.bin", 30730000)]
write(sys.argv[1], full + [("batches.meta.txt", 0)])
write(sys.argv[2], [("data_batch_1.bin", 0), ("test_batch.bin", 0), ("batches.meta.txt", 0)])
PY
md5=$(md5sum "$serve/mirror/cifar-10-binary.tar.gz" | cut -d' ' -f1)
partial_md5=$(md5sum "$serve/partial/cifar-10-binary.tar.gz" | cut -d' ' -f1)
cp "$serve/mirror/cifar-10-binary.tar.gz" "$serve/"   # also served at /cut/...

$PY "$RELNET_SOURCE_DIR/tests/python/http_server.py" "$serve" > "$SCRATCH/port" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$SCRATCH"' EXIT
for _ in $(seq 50); do [ -s "$SCRATCH/port" ] && break; sleep 0.1; done
port=$(head -1 "$SCRATCH/port")
[ -n "$port" ] || fail "test server did not start"
base="http://127.0.0.1:$port"

no_leftovers() {  # nothing but what was there before in the data root
  local root=$1
  if compgen -G "$root/.relnet-download-*" >/dev/null; then fail "temporary files left in $root"; fi
  [ ! -e "$root/cifar-10-batches-bin" ] || fail "a partial dataset was installed in $root"
}

# Wrong checksum: the official MD5 does not match this archive.
expect_fail 1 "checksum mismatch for $base/mirror/cifar-10-binary.tar.gz: MD5 $md5, expected c32a1d4ab5d03f1284b67883e8d87530; nothing was installed" -- \
  "$RELNET_BIN" download cifar10 --root "$SCRATCH/d1" --url "$base/mirror"
no_leftovers "$SCRATCH/d1"

# 404.
expect_fail 1 "download of $base/nowhere/cifar-10-binary.tar.gz failed: HTTP 404" -- \
  "$RELNET_BIN" download cifar10 --root "$SCRATCH/d2" --url "$base/nowhere" --md5 "$md5"
no_leftovers "$SCRATCH/d2"

# Connection refused: a port nobody listens on (the server's, once stopped, is
# not reused: take a fresh one from the kernel and close it).
dead=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
expect_fail 1 "cannot reach http://127.0.0.1:$dead/cifar-10-binary.tar.gz" -- \
  "$RELNET_BIN" download cifar10 --root "$SCRATCH/d3" --url "http://127.0.0.1:$dead" --md5 "$md5"
no_leftovers "$SCRATCH/d3"

# Interrupted transfer: headers promise the whole file, half arrives.
expect_fail 1 "download of $base/cut/cifar-10-binary.tar.gz was cut off after" -- \
  "$RELNET_BIN" download cifar10 --root "$SCRATCH/d4" --url "$base/cut" --md5 "$md5"
no_leftovers "$SCRATCH/d4"

# An archive without the dataset's files is not a download.
expect_fail 1 "is not a complete cifar10: 'cifar-10-batches-bin/data_batch_1.bin' has 1600 bytes, expected 30730000; nothing was installed" -- \
  "$RELNET_BIN" download cifar10 --root "$SCRATCH/d6" --url "$base/partial" --md5 "$partial_md5"
no_leftovers "$SCRATCH/d6"

# Success: verified, extracted, in place, temporary files gone.
"$RELNET_BIN" download cifar10 --root "$SCRATCH/ok" --url "$base/mirror" --md5 "$md5" 2>&1 | tee "$SCRATCH/out"
grep -qF "MD5 $md5 verified" "$SCRATCH/out" || fail "no verification line"
cmp <(printf 'data_batch_1.bin%.0s' $(seq 100)) <(head -c 1600 "$SCRATCH/ok/cifar-10-batches-bin/data_batch_1.bin") \
  || fail "extracted file differs"
[ "$(stat -c %s "$SCRATCH/ok/cifar-10-batches-bin/test_batch.bin")" = 30730000 ] || fail "wrong size"
[ -s "$SCRATCH/ok/cifar-10-batches-bin/.relnet-download.json" ] || fail "no download record"
if compgen -G "$SCRATCH/ok/.relnet-download-*" >/dev/null; then fail "temporary files left"; fi

# Already present and intact: says so, downloads nothing (the server is gone).
kill $server; wait $server 2>/dev/null || true
"$RELNET_BIN" download cifar10 --root "$SCRATCH/ok" --url "$base/mirror" --md5 "$md5" 2>&1 | tee "$SCRATCH/out"
grep -qF "cifar10 is already present and intact in '$SCRATCH/ok/cifar-10-batches-bin': nothing to do" "$SCRATCH/out" \
  || fail "second download did not recognise the installed copy"

# Usage errors.
expect_fail 1 "cannot download 'imagenet' (downloadable: cifar10, cifar100, stl10, fashion_mnist, mnist)" -- \
  "$RELNET_BIN" download imagenet --root "$SCRATCH/d5"
expect_fail 1 "--md5 applies to single-archive datasets; mnist has 4 files" -- \
  "$RELNET_BIN" download mnist --root "$SCRATCH/d5" --md5 "$md5"
echo "ok"
