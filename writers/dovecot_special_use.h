#pragma once
// The Dovecot 2.3 configuration snippet that gives folders their special-use role:
//   namespace inbox {
//     mailbox "Gesendet" {
//       special_use = \Sent
//     }
//   }
// Names are the Dovecot (virtual) names: UTF-8, '/' between levels, as LIST shows them with
// `separator = /`.
#include <string>
#include <utility>
#include <vector>

namespace cyrconv {

// (folder name, role) pairs, in the order given.
std::string dovecot_special_use_conf(const std::vector<std::pair<std::string, std::string>>& folders);

}  // namespace cyrconv
