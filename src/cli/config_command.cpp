// `relnet config show FILE` and `relnet config schema`: the effective config
// with defaults filled in, and every key the config accepts.
#include <iostream>
#include <vector>

#include "commands.h"
#include "relnet/config.h"

namespace relnet::cli {

void setup_config(CLI::App& app, int& exit_code) {
  CLI::App* cmd =
      app.add_subcommand("config", "Show an effective config or the schema of every key");
  cmd->require_subcommand(1);

  struct ShowOptions {
    std::string file;
    std::vector<std::string> overrides;
  };
  auto show = std::make_shared<ShowOptions>();
  CLI::App* show_cmd = cmd->add_subcommand(
      "show", "Print the effective config of FILE (defaults filled in, --set applied) as JSON");
  show_cmd->add_option("file", show->file, "JSON config file")->required();
  show_cmd->add_option("--set", show->overrides,
                       "Override a config key: --set train.epochs=5 (repeatable)");
  show_cmd->callback([show, &exit_code] {
    Config config = load_config(show->file);
    apply_overrides(config, show->overrides);
    std::cout << config_to_json(config).dump(2) << std::endl;
    exit_code = kExitOk;
  });

  struct SchemaOptions {
    bool markdown = false;
    bool json = false;
  };
  auto schema = std::make_shared<SchemaOptions>();
  CLI::App* schema_cmd =
      cmd->add_subcommand("schema", "List every config key with its type, default and meaning");
  auto* md = schema_cmd->add_flag("--markdown", schema->markdown,
                                  "Print docs/CONFIG.md (the reference page generated from this)");
  schema_cmd->add_flag("--json", schema->json, "Print the schema as JSON")->excludes(md);
  schema_cmd->callback([schema, &exit_code] {
    if (schema->markdown) {
      std::cout << config_reference_markdown();
    } else if (schema->json) {
      nlohmann::json out = nlohmann::json::array();
      for (const ConfigKey& k : config_schema()) {
        out.push_back({{"key", k.key},
                       {"type", k.type},
                       {"default", k.default_value},
                       {"meaning", k.meaning}});
      }
      std::cout << out.dump(2) << std::endl;
    } else {
      std::cout << format_config_schema();
    }
    exit_code = kExitOk;
  });
}

}  // namespace relnet::cli
