// Putting a run directory back in order when a run starts or resumes: the
// temporaries of atomic writes (util/fs.h, `<file>.tmp.<pid>`) left by a
// process killed mid-save, and metrics.jsonl records written after the
// checkpoint being resumed (they would appear twice once those steps are
// redone).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace relnet {

// Removes every `<name>.tmp.<pid>` directly inside `dir` whose pid is not a
// live process (nor this one). Returns the paths removed; a file that cannot
// be removed is skipped with a warning. A missing `dir` removes nothing.
std::vector<std::string> remove_stale_temporaries(const std::string& dir);

// Rewrites the JSONL file `path` (atomically) without the records past the
// position `epochs_done` complete epochs plus `steps_done` steps of the next:
// "epoch" records of epochs > epochs_done, and "step" records of a later
// epoch or of epoch epochs_done + 1 past step steps_done (epochs in records
// count from 1). Other records are kept as they are. Returns how many records
// were dropped (the file is rewritten only when that is > 0). A missing file
// drops nothing; an unreadable one throws like read_jsonl.
int64_t drop_metrics_after(const std::string& path, int64_t epochs_done, int64_t steps_done);

}  // namespace relnet
