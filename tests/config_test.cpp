#include "relnet/config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "relnet/util/json.h"
#include "test_util.h"

namespace relnet {
namespace {

using nlohmann::json;

std::string error_of(const json& j) {
  try {
    config_from_json(j);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigTest, DefaultsMatchThePaper) {
  const Config c = config_from_json(json::object());
  EXPECT_EQ(c.train.batch_size, 64);
  EXPECT_DOUBLE_EQ(c.train.lr, 0);  // the method's: relational reasoning's Adam 1e-3
  EXPECT_EQ(c.method.name, "relational");
  EXPECT_EQ(c.model.backbone, "conv4");
  EXPECT_EQ(c.model.aggregation, "cat");
  EXPECT_DOUBLE_EQ(c.augment.crop_scale_min, 0.08);
  EXPECT_DOUBLE_EQ(c.augment.jitter_p, 0.8);
  EXPECT_DOUBLE_EQ(c.augment.grayscale_p, 0.2);
}

TEST(ConfigTest, RejectsUnknownKeyNamingIt) {
  const std::string msg = error_of(json{{"train", {{"learnig_rate", 0.1}}}});
  EXPECT_NE(msg.find("unknown key 'learnig_rate' in train"), std::string::npos) << msg;
  EXPECT_NE(error_of(json{{"trian", json::object()}}).find("unknown key 'trian'"),
            std::string::npos);
}

TEST(ConfigTest, RejectsBadValuesNamingTheKey) {
  EXPECT_EQ(error_of(json{{"train", {{"batch_size", -4}}}}),
            "train.batch_size must be >= 2, got -4");
  EXPECT_NE(error_of(json{{"train", {{"lr", "fast"}}}}).find("train.lr must be a number"),
            std::string::npos);
  EXPECT_NE(error_of(json{{"data", {{"dataset", "imagenet"}}}}).find("data.dataset must be one of"),
            std::string::npos);
  EXPECT_NE(error_of(json{{"train", {{"device", "tpu"}}}}).find("train.device"), std::string::npos);
  EXPECT_NE(error_of(json{{"augment", {{"flip_p", 1.5}}}}).find("augment.flip_p"),
            std::string::npos);
  EXPECT_NE(error_of(json{{"data", {{"std", {0.5, 0.0, 0.5}}}}}).find("data.std"),
            std::string::npos);
}

TEST(ConfigTest, AcceptsEveryAggregationAndLoss) {
  for (const char* agg : {"cat", "sum", "mean", "max"}) {
    EXPECT_EQ(config_from_json(json{{"model", {{"aggregation", agg}}}}).model.aggregation, agg);
  }
  const Config c = config_from_json(
      json{{"model", {{"loss", "focal"}, {"focal_gamma", 1.5}, {"focal_alpha", 0.25}}}});
  EXPECT_EQ(c.model.loss, "focal");
  EXPECT_DOUBLE_EQ(c.model.focal_gamma, 1.5);
  EXPECT_DOUBLE_EQ(c.model.focal_alpha, 0.25);
  EXPECT_NE(
      error_of(json{{"model", {{"loss", "hinge"}}}}).find("model.loss must be one of bce | focal"),
      std::string::npos);
  EXPECT_NE(error_of(json{{"model", {{"focal_alpha", 2}}}}).find("model.focal_alpha"),
            std::string::npos);
}

TEST(ConfigTest, PairsMatrixIsABoolean) {
  EXPECT_FALSE(Config{}.model.pairs_matrix);
  EXPECT_TRUE(config_from_json(json{{"model", {{"pairs_matrix", true}}}}).model.pairs_matrix);
  EXPECT_EQ(error_of(json{{"model", {{"pairs_matrix", 1}}}}),
            "model.pairs_matrix must be true or false, got 1 (an integer)");
}

TEST(ConfigTest, JsonRoundTripKeepsEveryValue) {
  Config c;
  c.name = "x";
  c.augment.K = 7;
  c.train.seed = 3;
  c.data.mean = {0.1, 0.2, 0.3};
  const Config back = config_from_json(config_to_json(c));
  EXPECT_EQ(config_to_json(back), config_to_json(c));
}

TEST(ConfigTest, OverrideChangesOneKeyAndValidates) {
  Config c;
  apply_override(c, "train.epochs=5");
  apply_override(c, "train.device=cpu");
  EXPECT_EQ(c.train.epochs, 5);
  EXPECT_EQ(c.train.device, "cpu");
  EXPECT_THROW(apply_override(c, "train.epoch=5"), std::invalid_argument);
  EXPECT_THROW(apply_override(c, "train.epochs=zero"), std::invalid_argument);
  EXPECT_EQ(c.train.epochs, 5);
}

TEST(ConfigTest, ShippedConfigsAreValid) {
  int count = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(RELNET_SOURCE_DIR) + "/configs")) {
    if (entry.path().extension() != ".json") continue;
    SCOPED_TRACE(entry.path().string());
    const Config c = load_config(entry.path().string());
    EXPECT_EQ(c.name, entry.path().stem().string());
    ++count;
  }
  EXPECT_GE(count, 4);
}

TEST(ConfigTest, OverridesAreValidatedTogether) {
  Config c;  // batch 64
  // One at a time, subset 16 < batch 64 would be refused before the batch
  // override is seen; together they are valid.
  apply_overrides(c, {"data.subset=16", "train.batch_size=8"});
  EXPECT_EQ(c.data.subset, 16);
  EXPECT_EQ(c.train.batch_size, 8);
  Config d;
  EXPECT_EQ(relnet::testing::error_of([&] {
              apply_overrides(d, {"train.epochs=3", "data.subset=16"});
            }),
            "data.subset (16) must be 0 or >= train.batch_size (64)");
  EXPECT_EQ(d.train.epochs, Config{}.train.epochs) << "a failed override changed the config";
}

TEST(ConfigTest, PaperConfigsUseThePapersSettings) {
  struct Expected {
    std::string file, dataset, backbone;
    int64_t K, epochs;
  };
  const std::vector<Expected> paper = {
      {"cifar10_conv4", "cifar10", "conv4", 32, 200},
      {"cifar10_resnet32", "cifar10", "resnet32", 32, 200},
      {"cifar100_conv4", "cifar100", "conv4", 32, 200},
      {"cifar100_resnet32", "cifar100", "resnet32", 32, 200},
      {"stl10_resnet34", "stl10", "resnet34", 16, 300},
      {"tiny_resnet32", "image_folder", "resnet32", 32, 200},
  };
  for (const auto& e : paper) {
    SCOPED_TRACE(e.file);
    const Config c = load_config(std::string(RELNET_SOURCE_DIR) + "/configs/" + e.file + ".json");
    EXPECT_EQ(c.data.dataset, e.dataset);
    EXPECT_EQ(c.model.backbone, e.backbone);
    EXPECT_EQ(c.model.aggregation, "cat");
    EXPECT_EQ(c.augment.K, e.K);
    EXPECT_EQ(c.train.batch_size, 64);
    EXPECT_EQ(c.train.epochs, e.epochs);
    EXPECT_DOUBLE_EQ(c.train.lr, 1e-3);
  }
}

TEST(ConfigTest, LoadConfigNamesTheFile) {
  const auto dir = std::filesystem::temp_directory_path() / "relnet_config_test";
  std::filesystem::create_directories(dir);
  const auto path = (dir / "my_run.json").string();
  { std::ofstream(path) << R"({"train": {"epochs": 3}})"; }
  const Config c = load_config(path);
  EXPECT_EQ(c.name, "my_run");
  EXPECT_EQ(c.train.epochs, 3);
  { std::ofstream(path) << R"({"train": {"epochs": 3,}})"; }
  try {
    load_config(path);
    FAIL() << "expected a parse error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_config((dir / "missing.json").string()), std::runtime_error);
  std::filesystem::remove_all(dir);
}

// A config nested tens of thousands of levels deep overflowed the stack
// while the error message printed the value: it is refused while parsed,
// with one line naming the file and the limit.
TEST(ConfigTest, RefusesDeepNestingNamingTheFileAndTheDepth) {
  testing::TempDir dir("config");
  const int levels = 200000;
  const std::vector<std::pair<std::string, std::string>> texts = {
      {"arrays.json", std::string(levels, '[') + std::string(levels, ']')},
      {"section.json", R"({"data": )" + std::string(levels, '[') + std::string(levels, ']') + "}"},
      {"objects.json", [&] {
         std::string t;
         for (int i = 0; i < levels; ++i) t += R"({"a":)";
         return t + "1" + std::string(levels, '}');
       }()}};
  for (const auto& [name, text] : texts) {
    const std::string path = dir / name;
    { std::ofstream(path) << text; }
    const std::string error = relnet::testing::error_of([&] { load_config(path); });
    EXPECT_EQ(error, "config file '" + path + "' is nested deeper than " +
                         std::to_string(kMaxJsonDepth) + " levels of arrays and objects");
  }
  // As deep as the limit is fine as JSON (and then refused as a config).
  const std::string path = dir / "limit.json";
  {
    std::ofstream(path) << R"({"data": {"mean": )" + std::string(kMaxJsonDepth - 2, '[') +
                               std::string(kMaxJsonDepth - 2, ']') + "}}";
  }
  EXPECT_NE(relnet::testing::error_of([&] { load_config(path); }).find("data.mean must be"),
            std::string::npos);
}

TEST(ConfigTest, RefusesADeeplyNestedOverrideNamingTheKey) {
  Config c;
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(relnet::testing::error_of([&] { apply_overrides(c, {"data.mean=" + deep}); }),
            "override of data.mean: the value is nested deeper than " +
                std::to_string(kMaxJsonDepth) + " levels of arrays and objects");
}

// A --set value that is not JSON is taken as a string; bytes that are not
// UTF-8 used to escape as the JSON library's type_error when a message or
// the saved config printed them.
TEST(ConfigTest, RefusesAnOverrideThatIsNotUtf8NamingTheKey) {
  Config c;
  EXPECT_EQ(relnet::testing::error_of([&] { apply_overrides(c, {"data.root=caf\xe9"}); }),
            "override of data.root: the value is not valid UTF-8 text");
  EXPECT_EQ(relnet::testing::error_of([&] { apply_overrides(c, {"data.mean=[0.5,0\x8c.5]"}); }),
            "override of data.mean: the value is not valid UTF-8 text");
  EXPECT_EQ(relnet::testing::error_of([&] {
              apply_overrides(c, {"train.lr=1e999"});
            }).rfind("--set train.lr: ", 0),
            0u);
  apply_overrides(c, {"data.root=caf\xc3\xa9"});
  EXPECT_EQ(c.data.root, "caf\xc3\xa9");
}

// Every key config_to_json writes is in the schema, in the same order, with
// the default the parser starts from, and nothing else is.
TEST(ConfigSchemaTest, CoversEveryKeyWithItsDefault) {
  std::vector<std::string> written;
  const json defaults = config_to_json(Config{});
  for (const auto& [k, v] : defaults.items()) {
    if (v.is_object()) {
      for (const auto& [sub, x] : v.items()) written.push_back(k + "." + sub);
    } else {
      written.push_back(k);
    }
  }
  std::vector<std::string> schema_keys;
  for (const ConfigKey& k : config_schema()) {
    schema_keys.push_back(k.key);
    EXPECT_FALSE(k.meaning.empty()) << k.key;
    EXPECT_FALSE(k.type.empty()) << k.key;
  }
  std::vector<std::string> a = written, b = schema_keys;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  EXPECT_EQ(a, b);
  for (const ConfigKey& k : config_schema()) {
    if (k.key == "train.epochs") {
      EXPECT_EQ(k.type, "int >= 1");
      EXPECT_EQ(k.default_value, 200);
    }
    if (k.key == "model.loss") {
      EXPECT_EQ(k.type, "one of bce | focal");
    }
    if (k.key == "augment.flip_p") {
      EXPECT_EQ(k.type, "number in [0, 1]");
    }
    // The schema's type is what the parser enforces: the default parses,
    // and a value of the wrong JSON type is refused naming the key.
    const auto dot = k.key.find('.');
    json j = json::object();
    if (dot == std::string::npos) {
      j[k.key] = json::array({1, 2});
    } else {
      j[k.key.substr(0, dot)][k.key.substr(dot + 1)] = json::object({{"x", 1}});
    }
    EXPECT_NE(error_of(j).find(k.key), std::string::npos) << k.key << ": " << error_of(j);
  }
}

TEST(ConfigSchemaTest, DocsConfigMdIsTheGeneratedReference) {
  const std::string path = std::string(RELNET_SOURCE_DIR) + "/docs/CONFIG.md";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  const std::string on_disk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(on_disk, config_reference_markdown())
      << "docs/CONFIG.md is out of date: regenerate it with\n"
         "  build/relnet config schema --markdown > docs/CONFIG.md";
}

TEST(ConfigSchemaTest, PlainTextListsEveryKey) {
  const std::string text = format_config_schema();
  for (const ConfigKey& k : config_schema()) {
    EXPECT_NE(text.find(k.key + "  ("), std::string::npos) << k.key;
  }
  EXPECT_EQ(text.find('`'), std::string::npos);
}

TEST(ConfigOverrideTest, ValidUnknownAndWrongType) {
  Config c;
  apply_overrides(c, {"train.epochs=5", "augment.K=8", "train.device=cpu"});
  EXPECT_EQ(c.train.epochs, 5);
  EXPECT_EQ(c.augment.K, 8);
  EXPECT_EQ(c.train.device, "cpu");
  Config before = c;
  EXPECT_NE(relnet::testing::error_of([&] {
              apply_overrides(c, {"train.epoch=5"});
            }).find("unknown key 'epoch' in train"),
            std::string::npos);
  EXPECT_NE(relnet::testing::error_of([&] {
              apply_overrides(c, {"augment.K=\"eight\""});
            }).find("augment.K must be an integer"),
            std::string::npos);
  EXPECT_NE(relnet::testing::error_of([&] {
              apply_overrides(c, {"nonsense"});
            }).find("must look like section.key=value"),
            std::string::npos);
  EXPECT_EQ(config_to_json(c), config_to_json(before));  // unchanged after a failure
}

TEST(ConfigTest, MethodConfigsCarryTheReferencesSettings) {
  struct Expected {
    std::string method;
    int64_t batch;
    double lr;
  };
  for (const Expected& e : std::vector<Expected>{{"relational", 64, 1e-3},
                                                 {"simclr", 128, 1e-3},
                                                 {"deepcluster", 128, 1e-3},
                                                 {"infomax", 128, 1e-4},
                                                 {"rotation", 128, 1e-3},
                                                 {"supervised", 128, 0.1}}) {
    SCOPED_TRACE(e.method);
    const std::string dir = std::string(RELNET_SOURCE_DIR) + "/configs/";
    const Config c = load_config(dir + "cifar10_conv4_" + e.method + ".json");
    EXPECT_EQ(c.method.name, e.method);
    EXPECT_EQ(c.data.dataset, "cifar10");
    EXPECT_EQ(c.model.backbone, "conv4");
    EXPECT_EQ(c.train.epochs, 200);
    EXPECT_EQ(c.train.batch_size, e.batch);
    EXPECT_DOUBLE_EQ(c.train.lr, e.lr);
    const Config f = load_config(dir + "fashion_mnist_conv4_" + e.method + ".json");
    EXPECT_EQ(f.method.name, e.method);
    EXPECT_EQ(f.data.dataset, "fashion_mnist");
  }
  const Config slim =
      load_config(std::string(RELNET_SOURCE_DIR) + "/configs/slimagenet64_conv4.json");
  EXPECT_EQ(slim.data.dataset, "image_folder");
  EXPECT_EQ(slim.data.image_size, 64);
  EXPECT_EQ(slim.data.mean, (std::vector<double>{0.5, 0.5, 0.5}));
  EXPECT_EQ(slim.data.std, (std::vector<double>{0.25, 0.25, 0.25}));
}

}  // namespace
}  // namespace relnet

namespace relnet {
namespace {

// A number too large for a double names the file and the key, not the JSON
// library's text; --set names its key.
TEST(ConfigTest, AnOverflowingNumberNamesTheFileAndKey) {
  relnet::testing::TempDir dir("config_overflow");
  const std::string path = dir / "big.json";
  { std::ofstream(path) << R"({"train": {"epochs": 3, "lr": 1e999}})"; }
  EXPECT_EQ(relnet::testing::error_of([&] { load_config(path); }),
            "config file '" + path + "': train.lr: 1e999 is out of range (larger than any double)");
  { std::ofstream(path) << R"({"augment": {"K": 4}, "data": {"mean": [1e400, 0, 0]}})"; }
  EXPECT_EQ(
      relnet::testing::error_of([&] { load_config(path); }),
      "config file '" + path + "': data.mean: 1e400 is out of range (larger than any double)");
  Config c;
  EXPECT_EQ(relnet::testing::error_of([&] { apply_overrides(c, {"train.lr=1e999"}); }),
            "--set train.lr: 1e999 is out of range (larger than any double)");
}

TEST(ConfigTest, AHugeValueIsNotEchoedWhole) {
  const std::string huge(100000, 'x');
  Config c;
  const std::string error =
      relnet::testing::error_of([&] { apply_overrides(c, {"train.device=" + huge}); });
  EXPECT_LT(error.size(), 300u) << error.substr(0, 300);
  EXPECT_EQ(error, "train.device must be auto | cpu | cuda | cuda:N, got \"" +
                       std::string(80, 'x') + "... (100000 characters)\"");
  const std::string key_error =
      relnet::testing::error_of([&] { apply_overrides(c, {"train." + huge + "=1"}); });
  EXPECT_LT(key_error.size(), 400u) << key_error.substr(0, 400);
  EXPECT_EQ(key_error.rfind(
                "unknown key '" + std::string(80, 'x') + "... (100000 characters)' in train", 0),
            0u);
  const std::string value_error =
      relnet::testing::error_of([&] { apply_overrides(c, {"augment.K=\"" + huge + "\""}); });
  EXPECT_LT(value_error.size(), 300u) << value_error.substr(0, 300);
}

// The sizes that set a step's memory have upper bounds.
TEST(ConfigTest, SizesHaveUpperBounds) {
  Config c;
  EXPECT_EQ(relnet::testing::error_of([&] { apply_overrides(c, {"augment.K=100000"}); }),
            "augment.K must be <= 256, got 100000 (an integer)");
  EXPECT_EQ(relnet::testing::error_of(
                [&] { apply_overrides(c, {"train.batch_size=18446744073709551615"}); }),
            "train.batch_size must be <= 1048576, got 18446744073709551615 (an integer)");
  EXPECT_NE(relnet::testing::error_of([&] {
              apply_overrides(c, {"data.image_size=100000"});
            }).find("data.image_size must be <= 4096"),
            std::string::npos);
  apply_overrides(c, {"augment.K=256", "train.batch_size=1048576"});
  EXPECT_EQ(c.augment.K, 256);
}

}  // namespace
}  // namespace relnet
