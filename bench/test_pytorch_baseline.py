"""Checks of bench/pytorch_baseline.py's methods (not timings).

usage: /usr/bin/python3 -m unittest bench/test_pytorch_baseline.py   (from the repository root)
"""
import json
import math
import os
import subprocess
import sys
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_baseline as pb  # noqa: E402

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pytorch_baseline.py")


class Parts(unittest.TestCase):
    def test_simclr_loss_matches_its_formula(self):
        torch.manual_seed(0)
        z = torch.randn(8, 5)  # rows 2i, 2i+1: the two views of image i
        s = torch.nn.functional.normalize(z, dim=1) @ torch.nn.functional.normalize(z, dim=1).t()
        E = torch.exp(s / 0.5)
        r = [E[i ^ 1, i] / (E[:, i].sum() - math.exp(2.0)) for i in range(8)]
        self.assertAlmostEqual(float(pb.simclr_loss(z)), float(-torch.log(torch.stack(r).mean())), places=5)

    def test_rotate_batch(self):
        x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(2, 3, 4, 4)
        out, target = pb.rotate_batch(x)
        self.assertEqual(tuple(out.shape), (8, 3, 4, 4))
        self.assertEqual(target.tolist(), [0, 0, 1, 1, 2, 2, 3, 3])
        self.assertTrue(torch.equal(out[2], torch.rot90(x[0], 1, dims=(1, 2))))

    def test_pca_whitening(self):
        rng = np.random.default_rng(0)
        f = (rng.normal(size=(2000, 8)) @ rng.normal(size=(8, 8)) + 3).astype(np.float32)
        x = torch.from_numpy(f).double()
        x = x - x.mean(0)
        eigval, eigvec = torch.linalg.eigh(x.t() @ x / (len(x) - 1))
        white = x @ eigvec / eigval.sqrt()
        self.assertTrue(torch.allclose(white.t() @ white / (len(x) - 1), torch.eye(8, dtype=torch.float64),
                                       atol=1e-6))
        out = pb.pca_whiten_l2(f)
        self.assertEqual(tuple(out.shape), (2000, 8))
        self.assertTrue(torch.allclose(out.norm(dim=1), torch.ones(2000), atol=1e-5))
        self.assertEqual(tuple(pb.pca_whiten_l2(rng.normal(size=(600, 512)).astype(np.float32)).shape),
                         (600, 256))

    def test_kmeans_finds_separated_blobs(self):
        g = torch.Generator().manual_seed(0)
        centers = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
        x = torch.cat([c + 0.1 * torch.randn(50, 2, generator=g) for c in centers])
        labels = pb.kmeans_torch(x, 3, iterations=30, restarts=5)
        for b in range(3):
            self.assertEqual(len(set(labels[50 * b:50 * b + 50].tolist())), 1)
        self.assertEqual(len(set(labels.tolist())), 3)

    def test_cluster_weights(self):
        w = pb.cluster_weights(torch.tensor([0, 0, 1, 3]), 4)
        self.assertTrue(torch.allclose(w, torch.tensor([0.5, 0.75, 1.0, 0.75])))

    def test_infomax_encoder_maps(self):
        for name, channels in [("conv4", 8), ("resnet8", 16)]:
            backbone = pb.make_backbone(name)
            enc = pb.InfoMaxEncoder(backbone)
            x = torch.randn(4, 3, 32, 32)
            y, M = enc(x)
            self.assertEqual(tuple(M.shape), (4, channels, 32, 32))
            self.assertEqual(enc.M_channels, channels)
            backbone.eval()
            enc.eval()
            self.assertTrue(torch.allclose(enc(x)[0], backbone(x), atol=1e-5))


class Runs(unittest.TestCase):
    def run_bench(self, *argv):
        out = subprocess.run([sys.executable, SCRIPT, "--threads", "1", *argv], check=True,
                             capture_output=True, text=True).stdout
        return json.loads(out)

    def test_every_method_runs_one_step(self):
        views = {"relational": 4, "simclr": 2, "deepcluster": 1, "infomax": 1, "rotation": 4, "supervised": 1}
        for method, v in views.items():
            with self.subTest(method=method):
                r = self.run_bench("--method", method, "--batch", "16", "--steps", "1", "--warmup", "0")
                self.assertEqual(r["method"], method)
                self.assertEqual(r["views_per_step"], 16 * v)
                self.assertEqual(r["images_per_step_dataset"], 16)
                self.assertAlmostEqual(r["images_per_s"], 16 * v / r["seconds_per_step"])
                self.assertEqual(set(r["split_s"]), {"data_wait", "backbone_forward", "pairs", "head_forward",
                                                     "backward", "optimizer"})
                self.assertTrue(math.isfinite(r["loss"]))
                self.assertEqual("K" in r, method == "relational")
                if method != "relational":
                    self.assertEqual(r["split_s"]["pairs"], 0)

    def test_deepcluster_clustering(self):
        r = self.run_bench("--method", "deepcluster", "--batch", "16", "--steps", "1", "--warmup", "0",
                           "--clusters", "10", "--cluster-images", "300", "--kmeans-restarts", "1")
        self.assertEqual(r["cluster_images"], 300)
        self.assertGreater(r["clustering_s"], 0)
        self.assertEqual(set(r["clustering_split_s"]), {"features", "pca", "kmeans", "weights"})


if __name__ == "__main__":
    unittest.main()
