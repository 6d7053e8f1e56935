#include "converter/source/uid_listing.h"

#include "converter/source/census.h"

namespace cyrconv {

std::string list_message_uids(const std::filesystem::path& dir, std::vector<std::uint32_t>& uids,
                              const std::function<void(std::string_view, DirEntry::Type)>& other) {
  return for_each_directory_entry(dir, [&](std::string_view name, DirEntry::Type type) {
    if (type == DirEntry::Type::file && is_message_file_name(name)) {
      std::uint32_t uid = 0;
      for (std::size_t i = 0; i + 1 < name.size(); ++i) uid = uid * 10 + static_cast<std::uint32_t>(name[i] - '0');
      uids.push_back(uid);
    } else {
      other(name, type);
    }
  });
}

}  // namespace cyrconv
