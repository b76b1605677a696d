// DeepCluster's clustering step: PCA whitening, k-means and cluster weights on
// synthetic data whose answers are known.
#include "relnet/methods/clustering.h"

#include <gtest/gtest.h>

#include <set>

#include "test_util.h"

namespace relnet {
namespace {

using relnet::testing::error_of;

// `groups` Gaussian blobs in `dim` dimensions, far apart (centres ~N(0, 4^2) per coordinate,
// noise 0.3): returns the points (n, dim) and their group (n) int64.
std::pair<torch::Tensor, torch::Tensor> blobs(int64_t n, int64_t groups, int64_t dim,
                                              uint64_t seed) {
  torch::manual_seed(seed);
  const auto centres = 4 * torch::randn({groups, dim});
  const auto labels = torch::randperm(n, torch::kInt64) % groups;
  return {centres.index_select(0, labels) + 0.3 * torch::randn({n, dim}), labels};
}

// Whether `assignments` is `labels` up to a renaming: every true group lies in one cluster and
// different groups in different clusters.
bool same_partition(const torch::Tensor& assignments, const torch::Tensor& labels, int64_t groups) {
  std::set<int64_t> clusters;
  for (int64_t g = 0; g < groups; ++g) {
    const auto a = assignments.masked_select(labels == g);
    if (a.numel() == 0 || !a.eq(a[0]).all().item<bool>()) return false;
    clusters.insert(a[0].item<int64_t>());
  }
  return static_cast<int64_t>(clusters.size()) == groups;
}

TEST(ClusteringTest, RecoversSeparatedGroups) {
  if (!clustering_available()) GTEST_SKIP() << "built without faiss";
  const auto [x, labels] = blobs(400, 5, 16, 7);
  KMeansOptions opt;
  opt.k = 5;
  opt.iterations = 20;
  opt.restarts = 40;  // random-sample initialisation: one restart in ~25 seeds all 5 groups
  const auto r = kmeans(x, opt);
  ASSERT_EQ(r.assignments.sizes(), (std::vector<int64_t>{400}));
  ASSERT_EQ(r.assignments.scalar_type(), torch::kInt64);
  ASSERT_EQ(r.centroids.sizes(), (std::vector<int64_t>{5, 16}));
  ASSERT_EQ(r.centroids.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(same_partition(r.assignments, labels, 5)) << r.assignments;
  // Each row goes to its nearest centroid, and the objective is the sum of those squared
  // distances; each centroid is its cluster's mean.
  const auto d2 = torch::cdist(x, r.centroids).pow(2);
  EXPECT_TRUE(r.assignments.equal(d2.argmin(1)));
  EXPECT_NEAR(r.objective, std::get<0>(d2.min(1)).sum().item<double>(), 1e-3 * r.objective);
  for (int64_t c = 0; c < 5; ++c) {
    const auto members = x.index({r.assignments == c});
    EXPECT_TRUE(torch::allclose(r.centroids[c], members.mean(0), 1e-4, 1e-4)) << c;
  }
  // The true partition's objective: about n * dim * 0.3^2.
  EXPECT_NEAR(r.objective, 400 * 16 * 0.09, 0.15 * 400 * 16 * 0.09);
}

TEST(ClusteringTest, SameSeedGivesSameResult) {
  if (!clustering_available()) GTEST_SKIP() << "built without faiss";
  const auto [x, labels] = blobs(400, 5, 16, 11);
  KMeansOptions opt;
  opt.k = 5;
  opt.iterations = 20;
  opt.restarts = 40;
  opt.seed = 3;
  const auto a = kmeans(x, opt);
  const auto b = kmeans(x, opt);
  EXPECT_TRUE(a.assignments.equal(b.assignments));
  EXPECT_TRUE(a.centroids.equal(b.centroids));
  EXPECT_EQ(a.objective, b.objective);
  EXPECT_TRUE(same_partition(a.assignments, labels, 5));
  // Another seed starts elsewhere (the first restart's clusters differ) and still finds them.
  opt.seed = 4;
  const auto c = kmeans(x, opt);
  EXPECT_TRUE(same_partition(c.assignments, labels, 5));
  const auto first3 = kmeans(x, KMeansOptions{5, 20, 1, 3});
  const auto first4 = kmeans(x, KMeansOptions{5, 20, 1, 4});
  EXPECT_FALSE(first3.centroids.equal(first4.centroids));
}

TEST(ClusteringTest, RestartsKeepTheLowestObjective) {
  if (!clustering_available()) GTEST_SKIP() << "built without faiss";
  // A single random start often leaves two centroids in one group and none in another; the
  // best of many restarts is never worse than the first (restart 0 uses the same seed).
  const auto [x, labels] = blobs(400, 5, 16, 13);
  int stuck = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    const auto one = kmeans(x, KMeansOptions{5, 20, 1, seed});
    const auto many = kmeans(x, KMeansOptions{5, 20, 40, seed});
    EXPECT_LE(many.objective, one.objective) << seed;
    EXPECT_TRUE(same_partition(many.assignments, labels, 5)) << seed;
    if (many.objective < 0.9 * one.objective) ++stuck;
  }
  EXPECT_GE(stuck, 1) << "no single start got stuck: the test shows nothing";
}

TEST(ClusteringTest, AsManyClustersAsRowsGivesZeroObjective) {
  if (!clustering_available()) GTEST_SKIP() << "built without faiss";
  const auto x = torch::randn({6, 3});
  const auto r = kmeans(x, KMeansOptions{6, 5, 2, 1});
  EXPECT_TRUE(std::get<0>(r.assignments.sort()).equal(torch::arange(6, torch::kInt64)));
  EXPECT_NEAR(r.objective, 0.0, 1e-10);
  // One cluster: the mean of all 2000 rows (faiss's default would sample 256 of them).
  const auto many = torch::randn({2000, 3});
  const auto one = kmeans(many, KMeansOptions{1, 5, 1, 1});
  EXPECT_TRUE(one.assignments.eq(0).all().item<bool>());
  EXPECT_TRUE(torch::allclose(one.centroids[0], many.mean(0), 1e-4, 1e-5)) << one.centroids;
}

TEST(ClusteringTest, PcaWhiteningDecorrelatesAndEqualisesVariance) {
  if (!clustering_available()) GTEST_SKIP() << "built without faiss";
  // Correlated data with very different variances along its axes, off the origin.
  torch::manual_seed(5);
  const auto mix = torch::randn({8, 8}) * torch::tensor({10.f, 5.f, 3.f, 2.f, 1.f, .5f, .3f, .1f});
  const auto x = torch::randn({500, 8}).mm(mix.t()) + 7;
  const auto w = pca_whiten(x, 6);
  ASSERT_EQ(w.sizes(), (std::vector<int64_t>{500, 6}));
  ASSERT_EQ(w.scalar_type(), torch::kFloat32);
  // Centred, and w^T w = I: uncorrelated components of equal variance (1/N each).
  EXPECT_LT(w.mean(0).abs().max().item<float>(), 1e-5);
  const auto gram = w.t().mm(w);
  EXPECT_LT((gram - torch::eye(6)).abs().max().item<float>(), 1e-3) << gram;
  // The kept components span the top 6 principal directions: projecting the centred rows on
  // them leaves exactly the two smallest eigenvalues of the covariance (per row, on average).
  const auto xc = (x - x.mean(0)).to(torch::kFloat64);
  const auto wd = w.to(torch::kFloat64);
  const auto residual = (xc - wd.mm(wd.t().mm(xc))).pow(2).sum(1).mean().item<double>();
  const auto eig = torch::linalg_eigvalsh(xc.t().mm(xc) / 500);  // ascending
  const double smallest2 = (eig[0] + eig[1]).item<double>();
  EXPECT_NEAR(residual, smallest2, 1e-2 * smallest2);
  EXPECT_GT(eig[2].item<double>(), 2 * eig[1].item<double>());  // the split is well defined

  // Fitted on every row, also beyond faiss's default of 1000 rows per dimension.
  const auto tall = torch::randn({3000, 2}).mm(torch::tensor({{3.f, 1.f}, {0.f, 1.f}}));
  const auto wt = pca_whiten(tall, 2);
  EXPECT_LT((wt.t().mm(wt) - torch::eye(2)).abs().max().item<float>(), 1e-3) << wt.t().mm(wt);
}

TEST(ClusteringTest, PcaIsUnaffectedByTheOffsetOfTheRows) {
  if (!clustering_available()) GTEST_SKIP() << "built without faiss";
  // Rank-8 data in 64 dimensions, 20000 rows: faiss's float32 scatter matrix of the raw rows
  // gives the 56 empty directions noise eigenvalues > 1e-5 of the largest when the rows sit
  // off the origin; centring first keeps them at zero.
  torch::manual_seed(17);
  const auto basis = std::get<0>(torch::linalg_qr(torch::randn({64, 8})));
  const auto z = (torch::randn({20000, 8}) * torch::linspace(1, 10, 8)).mm(basis.t());
  const auto at_origin = pca_whiten(z, 64);
  const auto shifted = pca_whiten(z + 3, 64);
  EXPECT_EQ(shifted.slice(1, 8).abs().max().item<float>(), 0.f);
  EXPECT_TRUE(
      torch::allclose(shifted.slice(1, 0, 8).abs(), at_origin.slice(1, 0, 8).abs(), 1e-3, 1e-5));
}

TEST(ClusteringTest, PcaWhitenL2GivesUnitRowsAndKeepsGroupsSeparable) {
  if (!clustering_available()) GTEST_SKIP() << "built without faiss";
  // Four groups in a 2-D plane inside 8 dimensions.
  torch::manual_seed(9);
  const auto basis = std::get<0>(torch::linalg_qr(torch::randn({8, 2})));  // (8, 2) orthonormal
  const auto centres2 = torch::tensor({{3.f, 3.f}, {-3.f, 3.f}, {-3.f, -3.f}, {3.f, -3.f}});
  const auto labels = torch::arange(200, torch::kInt64) % 4;
  const auto x =
      (centres2.index_select(0, labels) + 0.3 * torch::randn({200, 2})).mm(basis.t()) + 1;
  const auto y = pca_whiten_l2(x, 2);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{200, 2}));
  EXPECT_TRUE(torch::allclose(y.norm(2, 1), torch::ones({200}), 1e-5, 1e-5));
  EXPECT_TRUE(same_partition(kmeans(y, KMeansOptions{4, 20, 20, 1}).assignments, labels, 4));

  // All 8 components of rank-2 data: the 6 of zero variance come out 0, not noise blown up
  // to unit variance (or NaN), so the groups stay just as separable.
  const auto w8 = pca_whiten(x, 8);
  ASSERT_TRUE(torch::isfinite(w8).all().item<bool>());
  EXPECT_EQ(w8.slice(1, 2).abs().max().item<float>(), 0.f);
  const auto y8 = pca_whiten_l2(x, 8);
  EXPECT_TRUE(torch::allclose(y8.slice(1, 0, 2).abs(), y.abs(), 1e-4, 1e-4));
  EXPECT_TRUE(same_partition(kmeans(y8, KMeansOptions{4, 20, 20, 1}).assignments, labels, 4));
}

TEST(ClusteringTest, PcaOfConstantRowsIsZero) {
  if (!clustering_available()) GTEST_SKIP() << "built without faiss";
  // No variance at all: every component is dropped and the rows (norm 0) stay 0.
  const auto x = torch::tensor({1.f, 2.f, 3.f}).repeat({5, 1});
  EXPECT_EQ(pca_whiten_l2(x, 2).abs().max().item<float>(), 0.f);
  // Fewer rows than dimensions: the rank of the centred rows (N - 1) bounds what is kept.
  const auto few = torch::randn({5, 16});
  const auto w = pca_whiten(few, 5);
  ASSERT_TRUE(torch::isfinite(w).all().item<bool>());
  EXPECT_TRUE(
      torch::allclose(w.slice(1, 0, 4).t().mm(w.slice(1, 0, 4)), torch::eye(4), 1e-3, 1e-3));
  EXPECT_EQ(w.select(1, 4).abs().max().item<float>(), 0.f);
}

TEST(ClusteringTest, ClusterWeightsFollowClusterSizes) {
  // Counts 2, 1, 3, 0 of N = 6: w = 1 - n_c / N.
  const auto w = cluster_weights(torch::tensor({0, 2, 1, 2, 0, 2}, torch::kInt64), 4);
  ASSERT_EQ(w.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::allclose(w, torch::tensor({4.f / 6, 5.f / 6, 3.f / 6, 1.f}))) << w;
}

TEST(ClusteringTest, DeepClusterPcaDimHalvesWideFeatures) {
  EXPECT_EQ(deepcluster_pca_dim(64), 64);
  EXPECT_EQ(deepcluster_pca_dim(511), 511);
  EXPECT_EQ(deepcluster_pca_dim(512), 256);
  EXPECT_EQ(deepcluster_pca_dim(2048), 1024);
  EXPECT_EQ(error_of([] { deepcluster_pca_dim(0); }),
            "deepcluster_pca_dim: feature size must be >= 1, got 0");
}

TEST(ClusteringTest, RejectsBadArguments) {
  if (!clustering_available()) GTEST_SKIP() << "built without faiss";
  const auto x = torch::randn({4, 3});
  const auto kmeans_error = [](const torch::Tensor& t, const KMeansOptions& o) {
    return error_of([&] { kmeans(t, o); });
  };
  EXPECT_EQ(kmeans_error(x, {5, 10, 1, 1}), "kmeans: need 1 <= k <= N, got k=5 for N=4 rows");
  EXPECT_EQ(kmeans_error(x, {0, 10, 1, 1}), "kmeans: need 1 <= k <= N, got k=0 for N=4 rows");
  EXPECT_EQ(kmeans_error(x, {2, 0, 1, 1}),
            "kmeans: need 1 <= iterations < 2^31 and restarts >= 1, got iterations=0, restarts=1");
  EXPECT_EQ(kmeans_error(x, {2, 10, 0, 1}),
            "kmeans: need 1 <= iterations < 2^31 and restarts >= 1, got iterations=10, restarts=0");
  EXPECT_EQ(kmeans_error(x.to(torch::kFloat64), {2, 10, 1, 1}),
            "kmeans: need (N, D) float32 CPU features, got [4, 3] Double on cpu");
  EXPECT_EQ(kmeans_error(torch::randn({12}), {2, 10, 1, 1}),
            "kmeans: need (N, D) float32 CPU features, got [12] Float on cpu");
  auto bad = x.clone();
  bad[1][2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(kmeans_error(bad, {2, 10, 1, 1}), "kmeans: the [4, 3] features contain NaN or Inf");

  EXPECT_EQ(error_of([&] { pca_whiten_l2(x, 4); }),
            "pca_whiten: need N >= 2 rows and 1 <= out_dim <= min(D, N), got N=4, D=3, out_dim=4");
  EXPECT_EQ(error_of([&] { pca_whiten_l2(x, 0); }),
            "pca_whiten: need N >= 2 rows and 1 <= out_dim <= min(D, N), got N=4, D=3, out_dim=0");
  const auto one_row = x.slice(0, 0, 1);
  EXPECT_EQ(error_of([&] { pca_whiten_l2(one_row, 1); }),
            "pca_whiten: need N >= 2 rows and 1 <= out_dim <= min(D, N), got N=1, D=3, out_dim=1");
  EXPECT_EQ(error_of([&] { pca_whiten_l2(x.to(torch::kInt64), 2); }),
            "pca_whiten: need (N, D) float32 CPU features, got [4, 3] Long on cpu");

  const auto a = torch::tensor({0, 1, 2}, torch::kInt64);
  EXPECT_EQ(error_of([&] { cluster_weights(a, 2); }),
            "cluster_weights: assignments must lie in [0, 2), got values in [0, 2]");
  EXPECT_EQ(error_of([&] { cluster_weights(a - 1, 3); }),
            "cluster_weights: assignments must lie in [0, 3), got values in [-1, 1]");
  EXPECT_EQ(error_of([&] { cluster_weights(a, 0); }), "cluster_weights: k must be >= 1, got 0");
  EXPECT_EQ(error_of([&] { cluster_weights(a.to(torch::kInt32), 3); }),
            "cluster_weights: need (N) int64 assignments with N >= 1, got [3] Int");
  const auto matrix = a.view({1, 3});
  EXPECT_EQ(error_of([&] { cluster_weights(matrix, 3); }),
            "cluster_weights: need (N) int64 assignments with N >= 1, got [1, 3] Long");
}

}  // namespace
}  // namespace relnet
