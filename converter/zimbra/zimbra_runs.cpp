#include "converter/zimbra/zimbra_runs.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <set>

#include "converter/convert/prior_output.h"
#include "parsers/hex.h"
#include "writers/manifest.h"

namespace cyrconv {

namespace fs = std::filesystem;

std::string zimbra_archive_name(unsigned run) {
  if (run <= 1) return "zimbra.tgz";
  char b[32];
  std::snprintf(b, sizeof b, "zimbra-%04u.tgz", run);
  return b;
}

std::string zimbra_part_name(unsigned run, unsigned part) {
  if (part <= 1) return zimbra_archive_name(run);
  char b[48];
  std::snprintf(b, sizeof b, "zimbra-%04u-part%03u.tgz", run, part);
  return b;
}

std::vector<std::string> zimbra_run_archives(const ZimbraRun& run) {
  std::vector<std::string> out;
  for (unsigned p = 1; p <= run.parts; ++p) out.push_back(zimbra_part_name(run.number, p));
  return out;
}

std::string zimbra_flags_name(unsigned run) {
  if (run <= 1) return "zimbra-flags.zmm";
  char b[40];
  std::snprintf(b, sizeof b, "zimbra-flags-%04u.zmm", run);
  return b;
}

std::string zimbra_flag_check_name(unsigned run) {
  if (run <= 1) return "zimbra-flags-check.tsv";
  char b[48];
  std::snprintf(b, sizeof b, "zimbra-flags-check-%04u.tsv", run);
  return b;
}

std::vector<ZimbraRun> read_zimbra_runs(const fs::path& root, std::string& error) {
  std::vector<ZimbraRun> runs;
  std::error_code ec;
  std::ifstream in(root / zimbra_runs_file, std::ios::binary);
  if (!in) {
    if (fs::exists(root / "zimbra.tgz", ec)) runs.push_back(ZimbraRun{1, zimbra_archive_name(1), zimbra_flags_name(1), 0, ""});
    return runs;
  }
  std::string line;
  unsigned n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    ZimbraRun r;
    std::vector<std::string> cols;
    std::size_t at = 0;
    while (true) {
      const auto tab = line.find('\t', at);
      cols.push_back(line.substr(at, tab == std::string::npos ? std::string::npos : tab - at));
      if (tab == std::string::npos) break;
      at = tab + 1;
    }
    // A sixth column, the number of parts, since archives come in parts; without it, one.
    const bool ok = (cols.size() == 5 || cols.size() == 6) &&
                    (cols.size() == 5 ||
                     (std::from_chars(cols[5].data(), cols[5].data() + cols[5].size(), r.parts).ec == std::errc() &&
                      r.parts >= 1)) &&
                    std::from_chars(cols[0].data(), cols[0].data() + cols[0].size(), r.number).ec == std::errc() &&
                    std::from_chars(cols[3].data(), cols[3].data() + cols[3].size(), r.entries).ec == std::errc() &&
                    r.number == (runs.empty() ? 1 : runs.back().number + 1) && cols[1] == zimbra_archive_name(r.number) &&
                    cols[2] == zimbra_flags_name(r.number);
    if (!ok) {
      error = (root / zimbra_runs_file).string() + ": line " + std::to_string(n) +
              ": expected \"run<TAB>archive<TAB>flags file<TAB>messages<TAB>snapshot<TAB>parts\" continuing the runs "
              "before it";
      return {};
    }
    r.archive = cols[1];
    r.flags = cols[2];
    r.fingerprint = cols[4];
    runs.push_back(r);
  }
  return runs;
}

std::string zimbra_runs_text(const std::vector<ZimbraRun>& runs) {
  std::string s =
      "# run\tarchive\tflags file\tmessages\tsnapshot\tparts: import every archive once, in this order, each "
      "run's parts (zimbra-0001-part002.tgz, ...) after its archive (zimbra-import.sh does)\n";
  for (const auto& r : runs)
    s += std::to_string(r.number) + "\t" + r.archive + "\t" + r.flags + "\t" + std::to_string(r.entries) + "\t" +
         r.fingerprint + "\t" + std::to_string(r.parts) + "\n";
  return s;
}

std::size_t EarlierZimbraFolder::find(std::uint32_t uid) const {
  const auto it = std::lower_bound(held.begin(), held.end(), uid, [](const Held& h, std::uint32_t u) { return h.uid < u; });
  return it != held.end() && it->uid == uid ? static_cast<std::size_t>(it - held.begin()) : held.size();
}

EarlierZimbraFolder read_earlier_zimbra_folder(const fs::path& manifest, const std::vector<ZimbraRun>& runs) {
  EarlierZimbraFolder out;
  std::error_code ec;
  if (!fs::exists(manifest, ec)) return out;
  std::set<std::string> archives;
  for (const auto& r : runs)
    for (const auto& a : zimbra_run_archives(r)) archives.insert(a);
  out.manifest = read_earlier_manifest(manifest);
  if (!out.manifest.error.empty()) {
    out.error = out.manifest.error;
    return out;
  }
  std::vector<bool> in_archive;
  for (std::size_t i = 0; i < out.manifest.records.size(); ++i) {
    const ManifestRecord r = out.manifest.records[i];
    const bool archived = r.kind == Disposition::written || r.kind == Disposition::repaired;
    if (archived) {
      const auto colon = r.output_file.find(':');
      if (colon == std::string::npos || !archives.count(r.output_file.substr(0, colon))) continue;
    } else if (r.kind != Disposition::quarantined) {
      continue;  // missing, not converted, skipped: tried again
    }
    out.held.push_back(EarlierZimbraFolder::Held{r.uid, static_cast<std::uint32_t>(i)});
    in_archive.push_back(archived);
  }
  // By UID; of several lines for one UID the last counts.
  std::vector<std::uint32_t> order(out.held.size());
  for (std::uint32_t k = 0; k < order.size(); ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return out.held[a].uid < out.held[b].uid; });
  std::vector<EarlierZimbraFolder::Held> sorted;
  sorted.reserve(order.size());
  for (std::size_t k = 0; k < order.size(); ++k) {
    if (k + 1 < order.size() && out.held[order[k + 1]].uid == out.held[order[k]].uid) continue;
    sorted.push_back(out.held[order[k]]);
    out.in_archives += in_archive[order[k]];
  }
  out.held = std::move(sorted);
  return out;
}

bool same_zimbra_message(const ManifestRecord& earlier, const IndexRecord* record, const std::string& source_file) {
  if (!record) return earlier.source_file == source_file;
  if (record->has_guid() && !earlier.sha1.empty()) return to_hex(record->guid) == earlier.sha1;
  return record->size == earlier.size && record->internaldate == earlier.internaldate;
}

}  // namespace cyrconv
