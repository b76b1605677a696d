// DeepCluster's PCA whitening, k-means and cluster weights on faiss.
#include "relnet/methods/clustering.h"

#ifdef RELNET_WITH_FAISS
#include <faiss/Clustering.h>
#include <faiss/IndexFlat.h>
#include <faiss/VectorTransform.h>
#include <faiss/impl/FaissException.h>
#endif

#include <algorithm>
#include <climits>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "relnet/util/rng.h"

namespace relnet {
namespace {

// Components with at most this fraction of the largest variance are treated as zero variance:
// in float32 they are rounding noise (measured ~1e-7 of the largest on centred rows of
// rank-deficient data, some of them negative), and whitening would blow them up to unit
// variance, or to NaN.
[[maybe_unused]] constexpr double kZeroVariance = 1e-5;

std::string sizes_of(const torch::Tensor& t) {
  std::string out = "[";
  for (int64_t i = 0; i < t.dim(); ++i) out += (i ? ", " : "") + std::to_string(t.size(i));
  return out + "]";
}

// Checks a (N, D) float32 CPU matrix of finite values that faiss can index with int, and
// returns it contiguous.
[[maybe_unused]] torch::Tensor checked_matrix(const char* what, const torch::Tensor& x) {
  if (!x.defined() || x.dim() != 2 || x.scalar_type() != torch::kFloat32 || !x.device().is_cpu()) {
    throw std::invalid_argument(std::string(what) + ": need (N, D) float32 CPU features, got " +
                                (x.defined() ? sizes_of(x) + " " +
                                                   std::string(c10::toString(x.scalar_type())) +
                                                   " on " + x.device().str()
                                             : std::string("an undefined tensor")));
  }
  if (x.size(0) > INT_MAX || x.size(1) > INT_MAX || x.size(1) < 1) {
    throw std::invalid_argument(
        std::string(what) + ": need N < 2^31 rows and 1 <= D < 2^31 columns, got " + sizes_of(x));
  }
  if (!torch::isfinite(x).all().item<bool>()) {
    throw std::invalid_argument(std::string(what) + ": the " + sizes_of(x) +
                                " features contain NaN or Inf");
  }
  return x.contiguous();
}

#ifdef RELNET_WITH_FAISS
// Runs a faiss call, turning its exceptions into std::runtime_error.
template <typename F>
void faiss_call(const char* what, F&& f) {
  try {
    f();
  } catch (const faiss::FaissException& e) {
    throw std::runtime_error(std::string(what) + ": faiss: " + e.what());
  }
}

#else
[[noreturn]] void no_faiss(const char* what) {
  throw std::runtime_error(std::string(what) +
                           ": this relnet was built without faiss, which DeepCluster needs "
                           "(install libfaiss-dev and rebuild)");
}
#endif

}  // namespace

#ifdef RELNET_WITH_FAISS
torch::Tensor pca_whiten(const torch::Tensor& features, int64_t out_dim) {
  const auto x = checked_matrix("pca_whiten", features);
  const int64_t n = x.size(0), d = x.size(1);
  if (n < 2 || out_dim < 1 || out_dim > d || out_dim > n) {
    throw std::invalid_argument(
        "pca_whiten: need N >= 2 rows and 1 <= out_dim <= min(D, N), got N=" + std::to_string(n) +
        ", D=" + std::to_string(d) + ", out_dim=" + std::to_string(out_dim));
  }
  // faiss forms the scatter matrix in float32 as sum(x x^T) - N mean mean^T, which cancels
  // badly for rows far from the origin (noise eigenvalues ~1e-5 of the largest at N = 20000):
  // hand it rows centred with a mean summed in double. The PCA and its output are unchanged.
  const auto mean = x.sum(0, /*keepdim=*/true, torch::kFloat64).div_(static_cast<double>(n));
  const auto centred = (x - mean.to(torch::kFloat32)).contiguous();
  (void)at::get_num_threads();  // faiss's OpenMP loops: LibTorch's thread count, set lazily
  faiss::PCAMatrix pca(static_cast<int>(d), static_cast<int>(out_dim), /*eigen_power=*/-0.5f,
                       /*random_rotation=*/false);
  // faiss trains on at most max_points_per_d * D rows (a random subset beyond): all N here.
  pca.max_points_per_d = static_cast<size_t>(n);
  auto out = torch::empty({n, out_dim}, torch::kFloat32);
  faiss_call("pca_whiten", [&] {
    pca.train(n, centred.data_ptr<float>());
    // Row i of A is the i-th principal direction scaled by eigenvalue_i^-0.5 (largest first):
    // zero the rows of (numerically) zero variance, and their bias, rather than amplify noise.
    const double largest = pca.eigenvalues.empty() ? 0.0 : pca.eigenvalues[0];
    for (int64_t i = 0; i < out_dim; ++i) {
      if (!(largest > 0 && pca.eigenvalues[i] > kZeroVariance * largest)) {
        std::fill_n(pca.A.begin() + i * d, d, 0.f);
        pca.b[i] = 0.f;
      }
    }
    pca.apply_noalloc(n, centred.data_ptr<float>(), out.data_ptr<float>());
  });
  return out;
}

#else
torch::Tensor pca_whiten(const torch::Tensor&, int64_t) { no_faiss("pca_whiten"); }
#endif

torch::Tensor pca_whiten_l2(const torch::Tensor& features, int64_t out_dim) {
  auto out = pca_whiten(features, out_dim);
  const auto norms = out.norm(2, /*dim=*/1, /*keepdim=*/true);
  out.div_(torch::where(norms > 0, norms, torch::ones_like(norms)));
  return out;
}

int64_t deepcluster_pca_dim(int64_t feature_size) {
  if (feature_size < 1) {
    throw std::invalid_argument("deepcluster_pca_dim: feature size must be >= 1, got " +
                                std::to_string(feature_size));
  }
  return feature_size >= 512 ? feature_size / 2 : feature_size;
}

#ifdef RELNET_WITH_FAISS
KMeansResult kmeans(const torch::Tensor& x_in, const KMeansOptions& options) {
  const auto x = checked_matrix("kmeans", x_in);
  const int64_t n = x.size(0), d = x.size(1);
  if (options.k < 1 || options.k > n) {
    throw std::invalid_argument("kmeans: need 1 <= k <= N, got k=" + std::to_string(options.k) +
                                " for N=" + std::to_string(n) + " rows");
  }
  if (options.iterations < 1 || options.iterations > INT_MAX || options.restarts < 1) {
    throw std::invalid_argument(
        "kmeans: need 1 <= iterations < 2^31 and restarts >= 1, got iterations=" +
        std::to_string(options.iterations) + ", restarts=" + std::to_string(options.restarts));
  }
  const int64_t k = options.k;
  (void)at::get_num_threads();  // faiss's OpenMP loops: LibTorch's thread count, set lazily

  faiss::ClusteringParameters params;
  params.niter = static_cast<int>(options.iterations);
  params.nredo = 1;  // restarts are run below, to compare the final objectives
  params.verbose = false;
  params.spherical = false;
  // No subsampling: faiss trains on at most max_points_per_centroid * k rows.
  params.max_points_per_centroid = static_cast<int>((n + k - 1) / k);
  // Only the threshold of a warning faiss prints to stderr (fewer rows than this per centroid).
  params.min_points_per_centroid = 1;

  KMeansResult best;
  const float* data = x.data_ptr<float>();
  for (int64_t r = 0; r < options.restarts; ++r) {
    // faiss seeds its initial sample with seed + 1 (an int): keep it positive and small.
    params.seed =
        static_cast<int>(derive_seed({options.seed, static_cast<uint64_t>(r)}) & 0x3FFFFFFFu);
    faiss::Clustering clustering(static_cast<int>(d), static_cast<int>(k), params);
    faiss::IndexFlatL2 index(d);
    auto labels = torch::empty({n}, torch::kInt64);
    std::vector<float> distances(static_cast<size_t>(n));
    faiss_call("kmeans", [&] {
      clustering.train(n, data, index);
      // The index holds the final centroids: assign every row to its nearest one.
      static_assert(sizeof(faiss::Index::idx_t) == sizeof(int64_t), "faiss labels are int64");
      index.search(n, data, 1, distances.data(),
                   reinterpret_cast<faiss::Index::idx_t*>(labels.data_ptr<int64_t>()));
    });
    auto centroids = torch::empty({k, d}, torch::kFloat32);
    std::memcpy(centroids.data_ptr<float>(), clustering.centroids.data(),
                sizeof(float) * static_cast<size_t>(k * d));
    const double objective = (x - centroids.index_select(0, labels))
                                 .pow(2)
                                 .sum(1)
                                 .to(torch::kFloat64)
                                 .sum()
                                 .item<double>();
    if (r == 0 || objective < best.objective) {
      best.assignments = labels;
      best.centroids = centroids;
      best.objective = objective;
    }
  }
  return best;
}

#else
KMeansResult kmeans(const torch::Tensor&, const KMeansOptions&) { no_faiss("kmeans"); }
#endif

bool clustering_available() {
#ifdef RELNET_WITH_FAISS
  return true;
#else
  return false;
#endif
}

torch::Tensor cluster_weights(const torch::Tensor& assignments, int64_t k) {
  if (!assignments.defined() || assignments.dim() != 1 ||
      assignments.scalar_type() != torch::kInt64 || assignments.size(0) < 1) {
    throw std::invalid_argument(
        "cluster_weights: need (N) int64 assignments with N >= 1, got " +
        (assignments.defined()
             ? sizes_of(assignments) + " " + std::string(c10::toString(assignments.scalar_type()))
             : std::string("an undefined tensor")));
  }
  if (k < 1) {
    throw std::invalid_argument("cluster_weights: k must be >= 1, got " + std::to_string(k));
  }
  const auto a = assignments.cpu();
  const int64_t lo = a.min().item<int64_t>(), hi = a.max().item<int64_t>();
  if (lo < 0 || hi >= k) {
    throw std::invalid_argument("cluster_weights: assignments must lie in [0, " +
                                std::to_string(k) + "), got values in [" + std::to_string(lo) +
                                ", " + std::to_string(hi) + "]");
  }
  const auto counts = torch::bincount(a, /*weights=*/{}, k).to(torch::kFloat64);
  return (1.0 - counts / static_cast<double>(a.size(0))).to(torch::kFloat32);
}

}  // namespace relnet
