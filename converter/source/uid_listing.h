#pragma once
// One directory listed for its message files without a string per entry: a folder of a million
// messages costs 4 bytes a file here, where list_directory (source_io.h) keeps every name.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "converter/source/source_io.h"

namespace cyrconv {

// Regular files named "<UID>." (census.h is_message_file_name) go to `uids`, unsorted; every
// other entry except "." and ".." goes to `other` with its type, as list_directory would type
// it (d_type, an lstat only where the file system does not fill it in). Returns "" or, when the
// directory cannot be read, the error list_directory gives ("DIR: cannot list directory: ...").
std::string list_message_uids(const std::filesystem::path& dir, std::vector<std::uint32_t>& uids,
                              const std::function<void(std::string_view name, DirEntry::Type type)>& other);

}  // namespace cyrconv
