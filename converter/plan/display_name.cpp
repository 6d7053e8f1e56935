#include "converter/plan/display_name.h"

#include "parsers/mutf7.h"

namespace cyrconv {

std::string display_folder_name(const MailboxName& name, bool& valid, CaretMeaning caret) {
  valid = true;
  std::size_t first = 0;
  std::string out;
  if (name.is_user() && !name.is_deleted()) {
    first = 2;
    if (name.parts.size() == 2) return "INBOX";
  }
  for (std::size_t i = first; i < name.parts.size(); ++i) {
    if (!out.empty()) out += '/';
    const std::string part = visible_part(name.parts[i], caret);
    auto decoded = mutf7_decode(part);
    if (decoded) {
      out += decoded.value();
    } else {
      valid = false;
      out += part;
    }
  }
  return out;
}

}  // namespace cyrconv
