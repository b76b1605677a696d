// File helpers: whole-file reads with clear errors and atomic writes
// (temporary name + fsync + rename), so a crash never leaves a truncated file.
#pragma once

#include <string>
#include <vector>

namespace relnet {

// Reads a whole file. Throws std::runtime_error naming the path and the
// system's reason when it cannot be opened or read.
std::vector<char> read_file(const std::string& path);

// Writes `size` bytes to `path` atomically: a temporary file in the same
// folder is written, flushed to disk and renamed over `path`. On any failure
// (full disk, read-only folder) the temporary is removed, `path` keeps its
// previous content, and std::runtime_error names the path and the reason.
void write_file_atomic(const std::string& path, const void* data, size_t size);
void write_file_atomic(const std::string& path, const std::string& content);

// Creates `dir` and its parents; throws std::runtime_error naming it on failure.
void ensure_directory(const std::string& dir);

}  // namespace relnet
