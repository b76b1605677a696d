// c10d process groups in one test process: two ranks on two threads talking
// over loopback, as two processes would.
#include "relnet/train/distributed.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <thread>

#include "test_util.h"

namespace relnet {
namespace {

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// Runs body(group) on `world` threads, one rank each; returns each rank's
// error message ("" when it finished).
std::vector<std::string> run_ranks(int world, const std::function<void(ProcessGroup&)>& body,
                                   int timeout_s = 20) {
  const int port = free_port();
  std::vector<std::string> errors(static_cast<size_t>(world));
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      try {
        DistributedEnv env;
        env.rank = r;
        env.world_size = world;
        env.master_port = port;
        ProcessGroup group(env, std::chrono::seconds(timeout_s));
        body(group);
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(r)] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  return errors;
}

#define SKIP_WITHOUT_DISTRIBUTED() \
  if (!distributed_available()) GTEST_SKIP() << "built without c10d/Gloo (libgloo-dev)"

TEST(DistributedTest, EnvironmentIsReadLikeTorchrun) {
  for (const char* v : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"})
    unsetenv(v);
  EXPECT_FALSE(distributed_env_from_environment().active());
  setenv("WORLD_SIZE", "2", 1);
  EXPECT_NE(
      relnet::testing::error_of([] { distributed_env_from_environment(); }).find("RANK is not set"),
      std::string::npos);
  setenv("RANK", "1", 1);
  EXPECT_NE(
      relnet::testing::error_of([] { distributed_env_from_environment(); }).find("MASTER_ADDR"),
      std::string::npos);
  setenv("MASTER_ADDR", "10.0.0.7", 1);
  setenv("MASTER_PORT", "1234", 1);
  const DistributedEnv e = distributed_env_from_environment();
  EXPECT_TRUE(e.active());
  EXPECT_EQ(e.rank, 1);
  EXPECT_EQ(e.world_size, 2);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.master_addr, "10.0.0.7");
  EXPECT_EQ(e.master_port, 1234);
  setenv("RANK", "2", 1);
  EXPECT_NE(
      relnet::testing::error_of([] { distributed_env_from_environment(); }).find("RANK must be"),
      std::string::npos);
  setenv("RANK", "0", 1);
  setenv("MASTER_PORT", "http", 1);
  EXPECT_NE(
      relnet::testing::error_of([] { distributed_env_from_environment(); }).find("MASTER_PORT"),
      std::string::npos);
  for (const char* v : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"})
    unsetenv(v);
}

TEST(DistributedTest, CollectivesBroadcastSumMaxAndGather) {
  SKIP_WITHOUT_DISTRIBUTED();
  std::vector<torch::Tensor> received(2);
  const auto errors = run_ranks(2, [&](ProcessGroup& g) {
    const int r = g.rank();
    auto w = torch::full({3, 2}, static_cast<float>(r + 1));
    auto steps = torch::full({1}, static_cast<int64_t>(10 * r + 7), torch::kInt64);
    g.broadcast({w, steps});  // rank 0's values everywhere, whatever the dtype
    received[static_cast<size_t>(r)] = torch::cat({w.view(-1), steps.to(torch::kFloat32)});
    const auto sum = g.all_sum({1.0, static_cast<double>(r)});
    EXPECT_EQ(sum, (std::vector<double>{2.0, 1.0}));
    EXPECT_EQ(g.all_max({static_cast<double>(r)}), (std::vector<double>{1.0}));
    EXPECT_EQ(g.all_gather(int64_t{1} << (40 + r)),
              (std::vector<int64_t>{int64_t{1} << 40, int64_t{1} << 41}));
    g.barrier();
  });
  EXPECT_EQ(errors, (std::vector<std::string>{"", ""}));
  EXPECT_TRUE(torch::equal(received[0], received[1]));
  EXPECT_FLOAT_EQ(received[1][0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(received[1][6].item<float>(), 7.0f);
}

// For a loss with no coupling between samples, two ranks on half batches with
// averaged gradients take exactly the step one process takes on the full batch.
TEST(DistributedTest, AveragedGradientsOfHalfBatchesEqualTheFullBatch) {
  SKIP_WITHOUT_DISTRIBUTED();
  torch::manual_seed(3);
  const auto x = torch::randn({8, 5});
  const auto y = torch::randn({8, 3});
  auto make_model = [] {
    torch::manual_seed(11);
    return torch::nn::Sequential(torch::nn::Linear(5, 4), torch::nn::Tanh(),
                                 torch::nn::Linear(4, 3));
  };
  // One process, full batch.
  auto single = make_model();
  torch::optim::Adam single_opt(single->parameters(), torch::optim::AdamOptions(0.01));
  for (int step = 0; step < 3; ++step) {
    single_opt.zero_grad();
    torch::mse_loss(single->forward(x), y).backward();
    single_opt.step();
  }
  // Built here, not on the rank threads: torch::manual_seed and the default
  // generator are process-wide, so two threads seeding and drawing at once
  // would start the ranks from different weights.
  std::vector<torch::nn::Sequential> models{make_model(), make_model()};
  std::vector<std::vector<torch::Tensor>> params(2);
  const auto errors = run_ranks(2, [&](ProcessGroup& g) {
    auto model = models[static_cast<size_t>(g.rank())];
    torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(0.01));
    const auto xs = x.slice(0, 4 * g.rank(), 4 * g.rank() + 4);
    const auto ys = y.slice(0, 4 * g.rank(), 4 * g.rank() + 4);
    for (int step = 0; step < 3; ++step) {
      opt.zero_grad();
      torch::mse_loss(model->forward(xs), ys).backward();
      // Tiny buckets: several allreduces in flight at once.
      auto pending = g.average_gradients_async(model->parameters(), /*bucket_bytes=*/32);
      pending.wait();
      opt.step();
      // Identical on both ranks after every step.
      const auto hashes = g.all_gather(static_cast<int64_t>(tensors_hash(model->parameters())));
      EXPECT_EQ(hashes[0], hashes[1]) << "step " << step;
    }
    params[static_cast<size_t>(g.rank())] = model->parameters();
  });
  ASSERT_EQ(errors, (std::vector<std::string>{"", ""}));
  const auto expected = single->parameters();
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(torch::allclose(params[0][i], expected[i], 1e-5, 1e-6)) << i;
    EXPECT_TRUE(torch::equal(params[0][i], params[1][i])) << i;
  }
}

TEST(DistributedTest, ARankThatLeavesMakesTheOtherFailWithinTheTimeout) {
  SKIP_WITHOUT_DISTRIBUTED();
  const auto t0 = std::chrono::steady_clock::now();
  const auto errors = run_ranks(
      2,
      [](ProcessGroup& g) {
        if (g.rank() == 1) return;  // leaves: its group is destroyed
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        g.all_sum({1.0});
      },
      /*timeout_s=*/3);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(errors[0].find("rank 0: allreduce with the other ranks failed"), std::string::npos)
      << errors[0];
  EXPECT_EQ(errors[1], "");
  EXPECT_LT(seconds, 15.0);
}

TEST(DistributedTest, HashSeesEveryBit) {
  auto a = torch::arange(6, torch::kFloat32);
  auto b = a.clone();
  EXPECT_EQ(tensors_hash({a}), tensors_hash({b}));
  b[5] = std::nextafter(5.0f, 6.0f);
  EXPECT_NE(tensors_hash({a}), tensors_hash({b}));
  EXPECT_NE(tensors_hash({a, a}), tensors_hash({a}));
}

}  // namespace
}  // namespace relnet
