// What is at a path where a data file should be, in words: so a reader can
// say "is a directory" or "is a symbolic link loop" instead of "missing".
#pragma once

#include <string>

namespace relnet {

// "" when `path` is (or links to) a regular file; otherwise why not, as a
// phrase to follow the path: "does not exist", "is a directory", "is a FIFO
// (named pipe)", "is a socket", "is a device", "is a symbolic link loop",
// "is a symbolic link to a missing file ('target')", or "cannot be examined:
// <system reason>".
std::string why_not_regular_file(const std::string& path);

// Throws std::runtime_error unless `path` is a regular file: "<title> file
// missing: '<path>'" when nothing is there, else "<title> file '<path>'
// <why_not_regular_file>", e.g. "CIFAR-10 file '/d/x.bin' is a directory".
void require_data_file(const std::string& path, const std::string& title);

// Whether anything at all is at `path` (a dangling or looping link counts).
bool path_occupied(const std::string& path);

}  // namespace relnet
