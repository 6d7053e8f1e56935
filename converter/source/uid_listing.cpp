#include "converter/source/uid_listing.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "converter/source/census.h"

namespace cyrconv {

std::string list_message_uids(const std::filesystem::path& dir, std::vector<std::uint32_t>& uids,
                              const std::function<void(std::string_view, DirEntry::Type)>& other) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR* d = fd >= 0 ? fdopendir(fd) : nullptr;
  if (!d) {
    std::string error = dir.string() + ": cannot list directory: " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return error;
  }
  while (dirent* e = readdir(d)) {
    const std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    unsigned char t = e->d_type;
    if (t == DT_UNKNOWN) {
      struct stat st {};
      if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        t = S_ISREG(st.st_mode) ? DT_REG : S_ISDIR(st.st_mode) ? DT_DIR : S_ISLNK(st.st_mode) ? DT_LNK : DT_FIFO;
    }
    const DirEntry::Type type = t == DT_REG   ? DirEntry::Type::file
                                : t == DT_DIR ? DirEntry::Type::directory
                                : t == DT_LNK ? DirEntry::Type::symlink
                                              : DirEntry::Type::other;
    if (type == DirEntry::Type::file && is_message_file_name(name)) {
      std::uint32_t uid = 0;
      for (std::size_t i = 0; i + 1 < name.size(); ++i) uid = uid * 10 + static_cast<std::uint32_t>(name[i] - '0');
      uids.push_back(uid);
    } else {
      other(name, type);
    }
  }
  closedir(d);
  return {};
}

}  // namespace cyrconv
