#include "converter/cli/run_record.h"

#include <algorithm>
#include <tuple>
#include <nlohmann/json.hpp>

#include "converter/convert/journal.h"

namespace cyrconv {

namespace fs = std::filesystem;

std::optional<RunRecord> read_run_record(const fs::path& out, std::string& error) {
  const fs::path path = out / run_record_file;
  auto text = read_output_text(path, error);
  if (!text) return std::nullopt;
  try {
    const auto j = nlohmann::json::parse(*text);
    RunRecord r;
    r.format = j.at("format").get<std::string>();
    r.eol = j.at("eol").get<std::string>();
    r.profile = j.at("profile").get<std::string>();
    if (!j.at("users").is_null()) r.users = j.at("users").get<std::vector<std::string>>();
    r.rename_map = j.at("rename_map").get<bool>();
    return r;
  } catch (const std::exception& e) {
    error = path.string() + ": " + e.what();
    return std::nullopt;
  }
}

// The record as it should read after this run: what `now` and an earlier record agree on.
static std::string merged_run_record(const fs::path& out, const RunRecord& now) {
  std::string error;
  RunRecord r = now;
  if (auto was = read_run_record(out, error)) {
    auto agree = [](std::string& field, const std::string& earlier) {
      if (field != earlier) field.clear();
    };
    agree(r.format, was->format);
    agree(r.eol, was->eol);
    agree(r.profile, was->profile);
    if (!was->users || !r.users) {
      r.users.reset();
    } else {
      r.users->insert(r.users->end(), was->users->begin(), was->users->end());
      std::sort(r.users->begin(), r.users->end());
      r.users->erase(std::unique(r.users->begin(), r.users->end()), r.users->end());
    }
    r.rename_map = r.rename_map || was->rename_map;
  }
  nlohmann::ordered_json j;
  j["format"] = r.format;
  j["eol"] = r.eol;
  j["profile"] = r.profile;
  j["users"] = r.users ? nlohmann::ordered_json(*r.users) : nlohmann::ordered_json(nullptr);
  j["rename_map"] = r.rename_map;
  return j.dump(2) + "\n";
}

WriteStatus record_convert_run(const fs::path& out, const RunRecord& now, bool sync) {
  // The shards of a plan start together into one --out and write this file at the same moment:
  // one's replace can take the temporary name from under another's. Read it again and retry;
  // the same bytes already there are left as they are.
  for (int attempt = 1;; ++attempt) {
    WriteStatus st = write_small_file(out / run_record_file, merged_run_record(out, now), sync);
    if (st || attempt == 5) return st;
  }
}

std::string apply_run_record(const fs::path& out, RecordedOptions& given) {
  std::string error;
  const auto rec = read_run_record(out, error);
  if (!error.empty()) given.warning = error + ": give verify the options convert was given";
  if (!rec) return {};
  const std::string where = " (recorded by convert in " + (out / run_record_file).string() + "): leave the option out";
  for (auto [option, value, recorded] : {std::tuple{"--format", &given.format, &rec->format},
                                         std::tuple{"--eol", &given.eol, &rec->eol},
                                         std::tuple{"--profile", &given.profile, &rec->profile}}) {
    if (recorded->empty()) continue;  // runs disagreed: the command line decides
    if (value->empty())
      *value = *recorded;
    else if (*value != *recorded)
      return std::string(option) + " " + *value + " contradicts this output: convert wrote it with " + option + " " +
             *recorded + where;
  }
  if (rec->users) {
    std::string list;
    for (const auto& u : *rec->users) list += (list.empty() ? "" : ",") + u;
    std::string cur;
    for (std::size_t i = 0; i <= given.users.size(); ++i) {
      if (i < given.users.size() && given.users[i] != ',') {
        if (given.users[i] != ' ') cur += given.users[i];
        continue;
      }
      if (!cur.empty() && std::find(rec->users->begin(), rec->users->end(), cur) == rec->users->end())
        return "--users: " + cur + " was not converted into this output: convert was given --users " + list + where;
      cur.clear();
    }
    if (given.users.empty()) given.users = list;
  }
  std::error_code ec;
  if (rec->rename_map && given.rename_map.empty() && fs::exists(out / "rename-map.tsv", ec))
    given.rename_map = (out / "rename-map.tsv").string();
  return {};
}

}  // namespace cyrconv
