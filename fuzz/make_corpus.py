#!/usr/bin/python3
"""Writes the fuzz targets' seed corpus, fuzz/corpus/<target>/: a few small
valid and near-valid inputs for each parser, in the layout each target
expects (fuzz/<target>_fuzz.cpp: control bytes first, then the file). Run it
again after changing a target's input layout; the files are checked in.

    /usr/bin/python3 fuzz/make_corpus.py
"""
import gzip
import io
import json
import os
import shutil
import struct
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def put(target, name, data):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def config():
    for name in ("smoke.json", "cifar10_conv4_simclr.json", "stl10_resnet34.json"):
        with open(os.path.join(ROOT, "configs", name), "rb") as f:
            put("config", name, f.read())
    put("config", "sections.json", json.dumps({
        "name": "x", "data": {"dataset": "cifar100", "mean": [0.5, 0.5, 0.5], "std": [0.2, 0.2, 0.2]},
        "augment": {"K": 2, "crop_scale_min": 0.2}, "model": {"loss": "focal"},
        "method": {"name": "deepcluster", "clusters": 10}, "train": {"lr": 1e-3, "device": "cuda:0"}}))
    put("config", "set_lines.txt",
        "train.lr=0.01\ndata.mean=[0.5,0.5,0.5]\ntrain.device=cpu\nmodel.fused=false\nname=run\n")
    put("config", "overflow.json", '{"train": {"lr": 1e999}}')
    put("config", "wrong_types.json", '{"train": {"epochs": "3", "batch_size": 2.5}, "augment": []}')
    put("config", "not_json.json", '{"train": {"epochs": 3,}')
    put("config", "deep_70.json", "[" * 70 + "]" * 70)
    put("config", "deep_objects_70.json", '{"a":' * 70 + "1" + "}" * 70)


def binary():
    cifar10 = bytes([0x80, 2]) + bytes([3]) + bytes(3072) + bytes([9]) + bytes([255]) * 3072
    put("binary", "cifar10_two_records", cifar10)
    put("binary", "cifar10_bad_label", bytes([0x80, 1, 10]) + bytes(16))
    put("binary", "cifar10_unpadded", bytes([0x00, 1, 1]) + bytes([7]) * 3072)
    cifar100 = bytes([0x81, 3]) + bytes([19, 99]) + bytes(3072) + bytes([0, 0]) + bytes(100)
    put("binary", "cifar100_records", cifar100)
    put("binary", "cifar100_bad_fine", bytes([0x81, 1, 0, 100]) + bytes(8))
    put("binary", "stl10_train", bytes([0x82, 0, 2, 1, 10]) + bytes(range(256)))
    put("binary", "stl10_bad_label", bytes([0x82, 1, 1, 11]) + bytes(64))
    put("binary", "stl10_unlabeled", bytes([0x83, 1, 0]) + bytes(range(200)))
    put("binary", "stl10_short", bytes([0x02, 0, 1, 5]) + bytes(1000))


def idx():
    images = struct.pack(">IIII", 0x803, 3, 4, 4) + bytes(range(48))
    labels = struct.pack(">II", 0x801, 3) + bytes([0, 9, 5])
    put("idx", "images", bytes([0, 2]) + images)
    put("idx", "images_gz", bytes([0, 0]) + gzip.compress(images, mtime=0))
    put("idx", "images_truncated", bytes([0, 3]) + images[:40])
    put("idx", "images_huge_side", bytes([0, 1]) + struct.pack(">IIII", 0x803, 1, 1 << 16, 1))
    put("idx", "labels", bytes([1, 0]) + labels)
    put("idx", "labels_gz", bytes([1, 1]) + gzip.compress(labels, mtime=0))
    put("idx", "labels_bad_magic", bytes([1, 0]) + struct.pack(">II", 0x803, 1) + bytes(1))
    labels4 = struct.pack(">II", 0x801, 4) + bytes([1, 2, 3, 4])
    images4 = struct.pack(">IIII", 0x803, 4, 2, 2) + bytes(16)
    put("idx", "dataset", bytes([2, 0, len(labels4)]) + labels4 + images4)
    gz_labels = gzip.compress(labels4, mtime=0)
    put("idx", "dataset_gz", bytes([0x82, 2, len(gz_labels)]) + gz_labels +
        gzip.compress(images4, mtime=0))
    put("idx", "dataset_label_10",
        bytes([2, 0, len(labels4)]) + labels4[:8] + bytes([1, 2, 10, 4]) + images4)


def annotations():
    lines = "val_0.JPEG\tn01443537\t0\t32\t44\t62\nval_1.JPEG\tn01629819\t52\t55\t57\t59\n"
    put("annotations", "two_lines", bytes([3]) + lines.encode())
    put("annotations", "crlf", bytes([1]) + lines.replace("\n", "\r\n").encode())
    put("annotations", "unknown_class", bytes([0]) + b"val_2.JPEG\tn99999999\t0\t0\t1\t1\n")
    put("annotations", "no_tab", bytes([0]) + b"val_3.JPEG n01443537\n")
    put("annotations", "empty_fields", bytes([2]) + b"\t\t\n\n\tn01443537\n")


def checkpoint():
    import torch
    w = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    b = torch.zeros(2)

    # Every dict and list has two entries or more: Python pickles a one-entry
    # dict with SETITEM and a one-entry list with APPEND, which LibTorch 1.13
    # cannot read.
    def save(name, obj):
        buf = io.BytesIO()
        torch.save(obj, buf)
        put("checkpoint", name, buf.getvalue())
    save("backbone_pt", {"backbone": {"w": w, "b": b}, "meta": json.dumps({"backbone": "conv4"})})
    save("with_optimizer", {"backbone": {"w": w, "b": b}, "relation": {"r": torch.ones(1), "s": b},
                            "optimizer": {"state": {}, "param_groups": [{"lr": 0.001, "params": [0, 1]},
                                                                       {"lr": 0.01, "params": [2, 3]}]},
                            "meta": "{}"})
    save("meta_not_object", {"backbone": {"w": w, "b": b}, "meta": "[1, 2]"})
    save("no_backbone", {"head": {"w": w, "b": b}, "meta": "{}"})
    save("backbone_not_dict", {"backbone": [w, b], "meta": "{}"})
    # A Conv4 backbone (its state dict's names and shapes), every tensor a
    # zero-stride view of one element so the file stays small, with Adam
    # state for its first parameter.
    conv4, widths = {}, [3, 8, 16, 32, 64]
    for i in range(4):
        cin, cout = widths[i], widths[i + 1]
        one = torch.zeros(1)
        conv4[f"layer{i + 1}.conv.weight"] = one.expand(cout, cin, 3, 3)
        for name in ("bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"):
            conv4[f"layer{i + 1}.{name}"] = one.expand(cout)
        conv4[f"layer{i + 1}.bn.num_batches_tracked"] = torch.tensor(0)
    def moments(key):
        return {"step": torch.tensor(3.0), "exp_avg": conv4[key], "exp_avg_sq": conv4[key]}
    adam = {"state": {0: moments("layer1.conv.weight"), 1: moments("layer1.bn.weight")},
            "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
                              "amsgrad": False, "params": list(range(8))},
                             {"lr": 0.001, "params": list(range(8, 16))}]}
    save("conv4_adam", {"backbone": conv4, "optimizer": adam, "meta": "{}"})
    adam["state"][1]["step"] = torch.tensor(float("nan"))
    save("conv4_adam_nan_step", {"backbone": conv4, "optimizer": adam, "meta": "{}"})
    adam["state"][1] = {"step": 1, "exp_avg": "not a tensor", "exp_avg_sq": None}
    save("conv4_adam_not_tensors", {"backbone": conv4, "optimizer": adam, "meta": "{}"})
    put("checkpoint", "legacy_pickle", b"\x80\x02}q\x00.")
    put("checkpoint", "garbage", b"PK\x03\x04" + bytes(60))


def archive():
    def tar(name, entries, mode="w:gz"):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode=mode, format=tarfile.GNU_FORMAT) as t:
            for info, data in entries:
                info.mtime = 0
                t.addfile(info, io.BytesIO(data) if data is not None else None)
        data = buf.getvalue()
        if mode == "w:gz":  # tarfile's gzip header carries the time; clear it
            data = data[:4] + bytes(4) + data[8:]
        put("archive", name, data)

    def entry(name, data=b"", kind=tarfile.REGTYPE, link=""):
        info = tarfile.TarInfo(name)
        info.type = kind
        info.size = len(data) if kind == tarfile.REGTYPE else 0
        info.linkname = link
        return info, data if kind == tarfile.REGTYPE else None
    tar("files_tgz", [entry("cifar-10-batches-bin", kind=tarfile.DIRTYPE),
                      entry("cifar-10-batches-bin/batches.meta.txt", b"airplane\nautomobile\n"),
                      entry("cifar-10-batches-bin/data_batch_1.bin", bytes(3073))])
    tar("plain_tar", [entry("a/b.txt", b"hello")], mode="w")
    tar("dotdot", [entry("../escape.txt", b"x")])
    tar("absolute", [entry("/tmp/escape.txt", b"x")])
    tar("symlink_inside", [entry("d", kind=tarfile.DIRTYPE), entry("d/l", kind=tarfile.SYMTYPE, link="../x")])
    tar("symlink_then_file", [entry("l", kind=tarfile.SYMTYPE, link=".."), entry("l/f.txt", b"x")])
    tar("hardlink", [entry("f", b"data"), entry("h", kind=tarfile.LNKTYPE, link="f")])
    tar("hardlink_out", [entry("h", kind=tarfile.LNKTYPE, link="../f")])
    tar("empty", [])


def pack():
    def npy(version, header):
        header = header.encode()
        size = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
        return b"\x93NUMPY" + bytes([version, 0]) + size + header
    put("pack", "npy_u1", bytes([0]) + npy(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3, 4, 4), }\n") + bytes(96))
    put("pack", "npy_i8_v2", bytes([0]) + npy(2, "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }\n"))
    put("pack", "npy_v3_scalar", bytes([0]) + npy(3, "{'descr': '|u1', 'fortran_order': False, 'shape': (), }\n"))
    put("pack", "npy_fortran", bytes([0]) + npy(1, "{'descr': '|u1', 'fortran_order': True, 'shape': (1,), }\n"))
    put("pack", "npy_float", bytes([0]) + npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n"))
    put("pack", "npy_huge_shape", bytes([0]) + npy(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }\n"))
    split = {"images": 2, "images_file": "train_images.npy", "labels_file": "train_labels.npy",
             "images_bytes": 224, "labels_bytes": 144, "images_crc32": "0123abcd", "labels_crc32": "ffffffff"}
    manifest = {"format": "relnet-pack", "version": 1, "source": {"dataset": "cifar10", "root": "data"},
                "side": 4, "num_classes": 2, "class_names": ["a", "b"],
                "normalization": {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
                "default_split": "train", "splits": {"train": split, "test": dict(split, images_file="t.npy")},
                "relnet_version": "0.1.0"}
    put("pack", "pack_json", bytes([1]) + json.dumps(manifest, indent=1).encode())
    put("pack", "pack_json_bad_split", bytes([1]) + json.dumps(dict(manifest, splits={"val": split})).encode())
    put("pack", "pack_json_escape", bytes([1]) + json.dumps(
        dict(manifest, splits={"train": dict(split, labels_file="../x")})).encode())
    put("pack", "pack_json_deep", bytes([1]) + b'{"format": "relnet-pack", "source": ' + b"[" * 80 + b"]" * 80 + b"}")


def main():
    corpus = os.path.join(HERE, "corpus")
    shutil.rmtree(corpus, ignore_errors=True)
    for make in (config, binary, idx, annotations, checkpoint, archive, pack):
        make()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(corpus) for f in fs)
    print(f"make_corpus: {sum(len(fs) for _, _, fs in os.walk(corpus))} files, {total} bytes")


if __name__ == "__main__":
    sys.exit(main())
