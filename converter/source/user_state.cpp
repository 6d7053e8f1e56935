#include "converter/source/user_state.h"

#include "converter/source/source_io.h"
#include "converter/source/spool_layout.h"
#include "parsers/cyrusdb.h"
#include "parsers/subscriptions.h"

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

// The first candidate that exists, mapped; status missing when none does.
SourceOpen open_first(const std::vector<fs::path>& candidates, fs::path& which) {
  for (const auto& c : candidates) {
    SourceOpen f = SourceOpen::map(c);
    if (f.status == SourceOpen::Status::missing) continue;
    which = c;
    return f;
  }
  SourceOpen none;
  none.status = SourceOpen::Status::missing;
  return none;
}

Finding db_finding(std::string kind, const fs::path& file, const ParseError& e) {
  return Finding{Finding::Severity::error, std::move(kind), file.string(), e.offset, 0, e.message};
}

}  // namespace

UserState load_user_state(const fs::path& config, const MailboxName& inbox, const std::string& inbox_id) {
  UserState st;
  fs::path path;
  SourceOpen seen = open_first(user_db_candidates(config, inbox, inbox_id, ".seen", "seen.db"), path);
  if (seen.status == SourceOpen::Status::ok) {
    st.seen_file = path.string();
    auto db = read_cyrusdb(seen.file.bytes(), st.seen_file);
    if (!db) {
      st.findings.push_back(db_finding("seen_db_unreadable", path, db.error()));
    } else if (auto entries = parse_seen_db(db.value().records, st.seen_file); !entries) {
      st.findings.push_back(db_finding("seen_db_unreadable", path, entries.error()));
    } else {
      for (auto& e : entries.value()) st.seen.emplace(e.key, std::move(e));
    }
  } else if (seen.status != SourceOpen::Status::missing) {
    st.findings.push_back(Finding{Finding::Severity::error, "seen_db_unreadable", path.string(), 0, 0, seen.message});
  }

  SourceOpen sub = open_first(user_db_candidates(config, inbox, inbox_id, ".sub", "sub.db"), path);
  if (sub.status == SourceOpen::Status::ok) {
    st.sub_file = path.string();
    auto db = read_cyrusdb(sub.file.bytes(), st.sub_file);
    if (!db) {
      st.findings.push_back(db_finding("subscriptions_unreadable", path, db.error()));
    } else if (auto names = parse_subscriptions(db.value().records, inbox.owner(), st.sub_file); !names) {
      st.findings.push_back(db_finding("subscriptions_unreadable", path, names.error()));
    } else {
      st.subscriptions_found = true;
      st.subscriptions = std::move(names).value();
    }
  } else if (sub.status != SourceOpen::Status::missing) {
    st.findings.push_back(Finding{Finding::Severity::error, "subscriptions_unreadable", path.string(), 0, 0, sub.message});
  }
  return st;
}

}  // namespace cyrconv
