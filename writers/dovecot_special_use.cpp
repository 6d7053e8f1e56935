#include "writers/dovecot_special_use.h"

namespace cyrconv {

std::string dovecot_special_use_conf(const std::vector<std::pair<std::string, std::string>>& folders) {
  std::string out = "# written by cyrconv: special-use roles carried from Cyrus (README \"What is carried\")\n"
                    "namespace inbox {\n";
  for (const auto& [name, role] : folders) {
    std::string quoted;
    for (char c : name) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    out += "  mailbox \"" + quoted + "\" {\n    special_use = " + role + "\n  }\n";
  }
  return out + "}\n";
}

}  // namespace cyrconv
