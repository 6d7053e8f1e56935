#pragma once
// Pass 1, discover: which mailboxes exist and where. Source: mailboxes.db when the config
// directory has one, and always a walk of every partition for cyrus.header; the two are
// compared and every disagreement becomes a finding.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "parsers/acl.h"
#include "parsers/cyrus_header.h"
#include "parsers/mailbox_name.h"
#include "parsers/mailboxes_db.h"
#include "writers/report_model.h"

namespace cyrconv {

struct SourceInputs {
  std::vector<std::pair<std::string, std::filesystem::path>> partitions;  // name -> root
  // archivepartition-NAME roots (3.0+): ARCHIVED messages live there under the same relative path.
  std::vector<std::pair<std::string, std::filesystem::path>> archive_partitions;
  std::optional<std::filesystem::path> config_dir;
  // imapd.conf's unixhierarchysep, when given (--imapd-conf, --unixhierarchysep), and where from.
  std::optional<bool> unixhierarchysep;
  std::string unixhierarchysep_from;
};

struct MailboxRef {
  MailboxName name;
  MailboxKind kind = MailboxKind::email;
  bool deleted = false;       // DELETED hierarchy (delayed delete)
  bool in_db = false;
  bool on_disk = false;       // its directory was found (cyrus.header, cyrus.index or message files)
  std::string partition;
  std::filesystem::path dir;  // holds cyrus.header, cyrus.index and the message files
  std::filesystem::path archive_dir;  // same mailbox on the archive partition, when one was given
  std::string unique_id;
  std::uint32_t db_uidvalidity = 0;
  std::vector<AclEntry> acl;
  // The owner's /private/specialuse annotation ("\\Sent", ...), when annotations.db has one
  // (converter/plan/special_use.h).
  std::optional<std::string> special_use;
  std::optional<CyrusHeader> header;  // parsed during the walk, when readable
  std::string header_error;           // why it is not, otherwise
  std::uint32_t header_crc = 0;       // CRC32 of cyrus.header, checked against v12+ indexes
};

struct Discovery {
  std::filesystem::path mailboxes_db;   // empty when there is none
  std::string mailboxes_db_format;
  std::vector<MailboxRef> mailboxes;    // sorted by name
  std::vector<Finding> findings;
  bool fatal = false;                   // nothing could be read at all
  // How a '^' in the names reads: from SourceInputs::unixhierarchysep, else assumed '.' (the 3.x
  // default; a finding says so when some name holds a '^').
  CaretMeaning caret = CaretMeaning::dot;
};

// io_depth > 1: up to that many directories per worker are listed at once (converter/source/io_fanout.h);
// the result is the same at every depth.
Discovery discover(const SourceInputs& inputs, int io_depth = 1);

}  // namespace cyrconv
