#include "converter/cli.h"

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "converter/audit.h"
#include "converter/convert.h"
#include "converter/rename_map.h"
#include "converter/scan.h"
#include "converter/shard_commands.h"
#include "converter/verify.h"
#include "parsers/imapd_conf.h"
#include "writers/audit_report.h"
#include "writers/convert_report.h"
#include "writers/scan_report.h"
#include "writers/verify_report.h"

#ifndef CYRCONV_VERSION
#define CYRCONV_VERSION "0.0.0"
#endif

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

struct InputOptions {
  std::string spool;
  std::vector<std::string> partitions;  // NAME=DIR
  std::vector<std::string> archive_partitions;  // NAME=DIR
  std::string config;
  std::string imapd_conf;        // the server's imapd.conf (a copy)
  std::string root;              // where the server's absolute paths are on this machine
  std::string unixhierarchysep;  // yes | no | "" (from --imapd-conf, else assumed)
  int threads = 0;
  int io_depth = 1;  // scan, audit, convert, verify: files each worker keeps in flight
};

void add_io_depth_option(CLI::App& cmd, InputOptions& in) {
  cmd.add_option("--io-depth", in.io_depth,
                 "Files each worker keeps in flight (message files read ahead; cyrus.header, cyrus.index and "
                 "directory listings of that many mailboxes at once), for storage where every open and read "
                 "waits on the network (NFS): try 16-32 there; 1 (the default) reads one at a time")
      ->check(CLI::Range(1, 256));
}

void add_input_options(CLI::App& cmd, InputOptions& in) {
  cmd.add_option("--spool", in.spool, "Root of the copied default partition (partition-default)")->type_name("DIR");
  cmd.add_option("--partition", in.partitions, "Another partition named in mailboxes.db (repeatable)")
      ->type_name("NAME=DIR")
      ->take_all();
  cmd.add_option("--archive-partition", in.archive_partitions,
                 "Archive partition of partition NAME (archivepartition-NAME), where ARCHIVED messages live (repeatable)")
      ->type_name("NAME=DIR")
      ->take_all();
  cmd.add_option("--config", in.config, "Copy of Cyrus's configdirectory (mailboxes.db, user/*.seen, user/*.sub)")
      ->type_name("DIR");
  cmd.add_option("--imapd-conf", in.imapd_conf,
                 "The server's imapd.conf (a copy): partition-*, archivepartition-*, configdirectory and "
                 "unixhierarchysep from it; --spool, --partition, --archive-partition, --config and "
                 "--unixhierarchysep given as well win")
      ->type_name("FILE");
  cmd.add_option("--root", in.root,
                 "With --imapd-conf: the staging copy of the server's file system root; its absolute paths "
                 "(/var/spool/cyrus/mail) are read below DIR (DIR/var/spool/cyrus/mail)")
      ->type_name("DIR");
  cmd.add_option("--unixhierarchysep", in.unixhierarchysep,
                 "The server's unixhierarchysep: yes (a '^' in a stored name was a '.' to users; assumed when "
                 "not given, the default since Cyrus 3.0) or no (a literal '^')")
      ->check(CLI::IsMember({"yes", "no"}));
  cmd.add_option("--threads", in.threads, "Worker threads (default: one per core)")->check(CLI::Range(0, 1024));
}

// The server's path on this machine: below --root when given.
fs::path server_path(const InputOptions& in, const std::string& path) {
  if (in.root.empty()) return fs::path(path);
  return fs::path(in.root) / fs::path(path).relative_path();
}

// --imapd-conf: its settings as the options they stand for, wherever no option was given.
std::string read_imapd_conf(const InputOptions& in, InputOptions& merged, SourceInputs& out) {
  if (in.imapd_conf.empty()) {
    if (!in.root.empty()) return "--root is for the paths of --imapd-conf: give --imapd-conf FILE as well";
    return {};
  }
  std::ifstream f(in.imapd_conf, std::ios::binary);
  if (!f) return "--imapd-conf: cannot read " + in.imapd_conf;
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto parsed = parse_imapd_conf(text, in.imapd_conf);
  if (!parsed) return "--imapd-conf: " + parsed.error().to_string();
  const ImapdConf& c = parsed.value();
  auto given = [](const std::vector<std::string>& pairs, const std::string& name) {
    for (const auto& p : pairs)
      if (p.substr(0, p.find('=')) == name) return true;
    return false;
  };
  for (const auto& [name, path] : c.partitions) {
    if (name == "default" && !in.spool.empty()) continue;
    if (given(in.partitions, name)) continue;
    if (name == "default")
      merged.spool = server_path(in, path).string();
    else
      merged.partitions.push_back(name + "=" + server_path(in, path).string());
  }
  for (const auto& [name, path] : c.archive_partitions)
    if (!given(in.archive_partitions, name))
      merged.archive_partitions.push_back(name + "=" + server_path(in, path).string());
  if (c.configdirectory && in.config.empty()) merged.config = server_path(in, *c.configdirectory).string();
  if (c.unixhierarchysep && in.unixhierarchysep.empty()) {
    out.unixhierarchysep = *c.unixhierarchysep;
    out.unixhierarchysep_from = in.imapd_conf;
  }
  for (const auto& why : c.ignored) std::cerr << "cyrconv: --imapd-conf " << in.imapd_conf << ": " << why << "\n";
  return {};
}

// Turns the options into SourceInputs; an error message when they are unusable.
// Adds NAME=DIR pairs to `out`; an error message when one is malformed or repeated.
std::string add_named_dirs(const std::vector<std::string>& pairs, const char* option,
                           std::vector<std::pair<std::string, fs::path>>& out) {
  for (const auto& p : pairs) {
    const auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == p.size())
      return std::string(option) + " expects NAME=DIR, got '" + p + "'";
    const std::string name = p.substr(0, eq);
    for (const auto& existing : out)
      if (existing.first == name) return std::string(option) + ": partition '" + name + "' given twice";
    // Absolute, so reports and manifests name source files unambiguously.
    out.emplace_back(name, fs::absolute(p.substr(eq + 1)).lexically_normal());
  }
  for (const auto& [name, dir] : out)
    if (!fs::is_directory(dir)) return "partition '" + name + "': " + dir.string() + " is not a directory";
  return {};
}

std::string make_inputs(const InputOptions& given, SourceInputs& out) {
  InputOptions in = given;
  if (auto err = read_imapd_conf(given, in, out); !err.empty()) return err;
  if (!in.unixhierarchysep.empty()) {
    out.unixhierarchysep = in.unixhierarchysep == "yes";
    out.unixhierarchysep_from = "--unixhierarchysep";
  }
  if (!in.spool.empty()) out.partitions.emplace_back("default", fs::absolute(in.spool).lexically_normal());
  if (auto err = add_named_dirs(in.partitions, "--partition", out.partitions); !err.empty()) return err;
  if (out.partitions.empty())
    return "no input: give --spool DIR (and --partition NAME=DIR for other partitions), or --imapd-conf FILE";
  if (auto err = add_named_dirs(in.archive_partitions, "--archive-partition", out.archive_partitions); !err.empty())
    return err;
  if (!in.config.empty()) {
    if (!fs::is_directory(in.config)) return "--config: " + in.config + " is not a directory";
    out.config_dir = fs::absolute(in.config).lexically_normal();
  }
  return {};
}

int fail_input(const std::string& message) {
  std::cerr << "cyrconv: " << message << "\n";
  return exit_input_unusable;
}

int run_scan_command(const InputOptions& in, bool json, const std::string& json_file) {
  SourceInputs inputs;
  if (auto err = make_inputs(in, inputs); !err.empty()) return fail_input(err);
  ScanReport report = run_scan(inputs, ScanOptions{in.threads, in.io_depth});
  report.tool_version = CYRCONV_VERSION;
  if (!json_file.empty()) {
    std::ofstream out(json_file, std::ios::binary | std::ios::trunc);
    out << scan_report_json(report);
    if (!out) return fail_input("cannot write " + json_file);
  }
  if (json)
    std::cout << scan_report_json(report);
  else
    write_scan_text(report, std::cout);
  if (report.totals.folders == 0) {
    std::cerr << "cyrconv: no mailboxes found under the given inputs\n";
    return exit_input_unusable;
  }
  return report.totals.errors ? exit_problems_found : exit_ok;
}

struct AuditCommandOptions {
  std::string report_file;
  std::string on_corrupt = "repair";
  bool deep = false;
};

int run_audit_command(const InputOptions& in, const AuditCommandOptions& a) {
  SourceInputs inputs;
  if (auto err = make_inputs(in, inputs); !err.empty()) return fail_input(err);
  AuditOptions options;
  options.threads = in.threads;
  options.io_depth = in.io_depth;
  options.on_corrupt = *parse_on_corrupt(a.on_corrupt);  // CLI11 checked the value
  options.mime = a.deep;
  AuditReport report = run_audit(inputs, options);
  report.tool_version = CYRCONV_VERSION;
  if (!a.report_file.empty()) {
    std::ofstream out(a.report_file, std::ios::binary | std::ios::trunc);
    write_audit_report_json(report, out);
    if (!out) return fail_input("cannot write " + a.report_file);
  }
  write_audit_text(report, std::cout);
  if (report.folders == 0) {
    std::cerr << "cyrconv: no mailboxes found under the given inputs\n";
    return exit_input_unusable;
  }
  return report.problems() ? exit_problems_found : exit_ok;
}

struct ConvertCommandOptions {
  std::string format;
  std::string out;
  std::string users;
  std::string profile;  // "": the format's own (zimbra for zimbra-tgz, else dovecot)
  std::string eol = "lf";
  std::string on_corrupt = "repair";
  std::string sync = "folder";
  std::string report_file;
  std::string rename_map;
  std::string owner;  // --owner passwd|FILE
  bool skip_deleted = false;
  bool deep = false;
  bool gzip = false;
  bool quiet = false;
  bool no_space_check = false;
  bool follow_source = false;
  std::uint64_t split_bytes = 256ull << 20;
  std::uint64_t split_messages = 20000;
  ShardRequest shard;  // --plan FILE [--shard K]
};

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

int run_convert_command(const InputOptions& in, const ConvertCommandOptions& c) {
  SourceInputs inputs;
  if (auto err = make_inputs(in, inputs); !err.empty()) return fail_input(err);
  ConvertOptions options;
  options.format = c.format == "mbox"         ? OutputFormat::mbox
                   : c.format == "zimbra-tgz" ? OutputFormat::zimbra_tgz
                                              : OutputFormat::maildir;
  options.out = fs::absolute(c.out);
  options.users = split_list(c.users);
  const std::string profile = !c.profile.empty() ? c.profile : c.format == "zimbra-tgz" ? "zimbra" : "dovecot";
  options.profile = *parse_naming_profile(profile);  // CLI11 checked the values
  options.crlf = c.eol == "crlf";
  options.on_corrupt = *parse_on_corrupt(c.on_corrupt);
  options.sync = c.sync == "none" ? SyncPolicy::none : c.sync == "message" ? SyncPolicy::message : SyncPolicy::folder;
  options.skip_deleted = c.skip_deleted;
  options.gzip = c.gzip;
  options.quiet = c.quiet;
  options.check_space = !c.no_space_check;
  options.follow_source = c.follow_source;
  if (c.follow_source && options.format == OutputFormat::zimbra_tgz)
    return fail_input("--follow-source applies to --format maildir and mbox (a zimbra-tgz archive is written whole)");
  if (options.gzip && options.format != OutputFormat::mbox) return fail_input("--gzip applies to --format mbox only");
  options.mime = c.deep;
  if (!c.rename_map.empty()) {
    std::ifstream in_map(c.rename_map, std::ios::binary);
    if (!in_map) return fail_input("--rename-map: cannot read " + c.rename_map);
    std::ostringstream text;
    text << in_map.rdbuf();
    auto parsed = parse_rename_map(text.str(), c.rename_map);
    if (!parsed) return fail_input(parsed.error().to_string());
    options.rename_map = std::move(parsed).value();
  }
  if (!c.owner.empty()) {  // README "Output owner"
    if (auto why = owner_refusal(::geteuid()); !why.empty()) {
      std::cerr << "cyrconv: " << why << "\n";
      return exit_usage;
    }
    if (c.owner == "passwd") {
      options.owner.kind = OwnerMap::Kind::passwd;
    } else {
      std::ifstream in_map(c.owner, std::ios::binary);
      if (!in_map) return fail_input("--owner: cannot read " + c.owner + " (give a map file, or 'passwd')");
      std::ostringstream text;
      text << in_map.rdbuf();
      auto parsed = parse_owner_map(text.str(), c.owner);
      if (!parsed) return fail_input("--owner: " + parsed.error().to_string());
      options.owner = std::move(parsed).value();
    }
  }
  options.threads = in.threads;
  options.io_depth = in.io_depth;
  options.split_bytes = c.split_bytes;
  options.split_messages = c.split_messages;
  if (options.format != OutputFormat::maildir && options.crlf) return fail_input("--eol crlf applies to --format maildir only");
  std::optional<ShardStamp> stamp;
  if (auto stop = prepare_shard_run(inputs, c.shard, options, stamp)) return *stop;
  if (auto st = make_directories(options.out); !st) return fail_input(st.message);
  ConvertReport report = run_convert(inputs, options);
  report.tool_version = CYRCONV_VERSION;
  if (!c.report_file.empty()) {
    std::ofstream out(c.report_file, std::ios::binary | std::ios::trunc);
    write_convert_report_file(report, stamp ? &*stamp : nullptr, out);
    if (!out) return fail_input("cannot write " + c.report_file);
  }
  write_convert_text(report, std::cout);
  for (const auto& f : report.findings)
    if (report.fatal && f.kind == "disk_space") return exit_stopped_resumable;
  if (report.fatal) return exit_input_unusable;
  if (report.stopped) return exit_stopped_resumable;
  if (report.folders == 0) {
    std::cerr << "cyrconv: no mailboxes found under the given inputs\n";
    return exit_input_unusable;
  }
  const auto& t = report.totals;
  const bool problems = report.errors || t.repaired || t.quarantined || t.missing || t.not_converted || t.orphans;
  return problems ? exit_problems_found : exit_ok;
}

struct VerifyCommandOptions {
  std::string format;  // "": detect
  std::string out;
  std::string users;
  std::string profile = "dovecot";
  std::string eol = "lf";
  std::string rename_map;
  std::string report_file;
};

int run_verify_command(const InputOptions& in, const VerifyCommandOptions& v) {
  SourceInputs inputs;
  if (auto err = make_inputs(in, inputs); !err.empty()) return fail_input(err);
  VerifyOptions options;
  if (v.format == "zimbra-tgz")
    return fail_input("verify does not read zimbra-tgz archives yet; check one with `tar -tzvf OUT/<user>/zimbra.tgz` "
                      "and the convert report (README \"Zimbra archive\")");
  if (!v.format.empty()) options.format = v.format == "mbox" ? OutputFormat::mbox : OutputFormat::maildir;
  options.out = fs::absolute(v.out);
  options.users = split_list(v.users);
  options.profile = *parse_naming_profile(v.profile);  // CLI11 checked the values
  options.crlf = v.eol == "crlf";
  options.threads = in.threads;
  options.io_depth = in.io_depth;
  if (!fs::is_directory(options.out)) return fail_input("--out: " + v.out + " is not a directory");
  if (!v.rename_map.empty()) {
    std::ifstream in_map(v.rename_map, std::ios::binary);
    if (!in_map) return fail_input("--rename-map: cannot read " + v.rename_map);
    std::ostringstream text;
    text << in_map.rdbuf();
    auto parsed = parse_rename_map(text.str(), v.rename_map);
    if (!parsed) return fail_input(parsed.error().to_string());
    options.rename_map = std::move(parsed).value();
  }
  VerifyReport report = run_verify(inputs, options);
  report.tool_version = CYRCONV_VERSION;
  if (!v.report_file.empty()) {
    std::ofstream out(v.report_file, std::ios::binary | std::ios::trunc);
    out << verify_report_json(report);
    if (!out) return fail_input("cannot write " + v.report_file);
  }
  write_verify_text(report, std::cout);
  if (report.fatal) return exit_input_unusable;
  return report.clean() ? exit_ok : exit_problems_found;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{
      "cyrconv: convert copied Cyrus IMAP mail stores, offline and read-only, into Maildir, mbox or a Zimbra archive.\n"
      "The source trees are never written, locked or touched.",
      "cyrconv"};
  app.set_version_flag("--version", std::string("cyrconv ") + CYRCONV_VERSION);
  app.require_subcommand(1, 1);
  app.footer(
      "Exit status: 0 done, nothing wrong found; 1 done, problems found (see the report); 2 usage error;\n"
      "3 input missing or unusable (or refused, e.g. a shard plan made for other inputs);\n"
      "4 convert stopped on a full disk or refused for lack of space (free space, run it again to resume).");

  InputOptions in;
  bool json = false;
  std::string json_file;
  CLI::App* scan = app.add_subcommand("scan", "Inventory a copied store: users, folders, messages, bytes, index "
                                              "versions, seen state, and the problems visible without reading messages");
  add_input_options(*scan, in);
  add_io_depth_option(*scan, in);
  scan->add_flag("--json", json, "Print the report as one JSON document (schema in README) instead of text");
  scan->add_option("--json-file", json_file, "Also write the JSON report to FILE")->type_name("FILE");

  AuditCommandOptions audit_opts;
  CLI::App* audit = app.add_subcommand(
      "audit", "Read and check every message file once; report per message what convert would do. Writes no output tree (the report's per-message "
      "entries wait in an unnamed file in $TMPDIR)");
  add_input_options(*audit, in);
  add_io_depth_option(*audit, in);
  audit->add_option("--report", audit_opts.report_file, "Write the JSON corruption audit report (schema in README) to FILE")
      ->type_name("FILE");
  audit->add_option("--on-corrupt", audit_opts.on_corrupt,
                    "Policy convert would apply to damaged messages: repair (default), quarantine or fail")
      ->check(CLI::IsMember({"repair", "quarantine", "fail"}))
      ->type_name("POLICY");
  audit->add_flag("--deep", audit_opts.deep,
                  "Also check MIME structure and base64 (costs up to about 40% of the throughput; see README)");

  ConvertCommandOptions conv;
  CLI::App* convert = app.add_subcommand(
      "convert", "Write Maildir++ or mbox trees (or Zimbra archives) with flag manifests; every message read once, "
                 "checked, and written, repaired (original kept) or quarantined. Also carries, per user, special-use "
                 "roles (dovecot-special-use.conf), Sieve scripts (sieve/, .dovecot.sieve; fileinto names rewritten), "
                 "ACLs (report, acl.tsv, Maildir dovecot-acl) and the quota (Maildir maildirsize); these need --config "
                 "(annotations.db, sieve/, quota/). Run it again to resume after a crash or to add a newer snapshot: "
                 "nothing is written twice, nothing in OUT deleted (README \"Re-runs\")");
  add_input_options(*convert, in);
  add_io_depth_option(*convert, in);
  convert->add_option("--format", conv.format,
                      "Output format; zimbra-tgz: OUT/<user>/zimbra.tgz for Zimbra's REST import plus zimbra-flags.zmm "
                      "for zmmailbox (README \"Zimbra archive\")")
      ->required()
      ->check(CLI::IsMember({"maildir", "mbox", "zimbra-tgz"}))
      ->type_name("maildir|mbox|zimbra-tgz");
  convert->add_option("--out", conv.out, "Output root (created if needed); users go to OUT/<user>")
      ->required()
      ->type_name("DIR");
  convert->add_option("--users", conv.users, "Only these users (comma separated, e.g. fred,anna@example.org)")
      ->type_name("LIST");
  convert->add_option("--profile", conv.profile,
                      "Folder naming rules of the target (README \"Folder names\"); default zimbra for zimbra-tgz, "
                      "else dovecot")
      ->check(CLI::IsMember({"dovecot", "zimbra", "generic"}))
      ->type_name("dovecot|zimbra|generic");
  convert->add_option("--eol", conv.eol, "Maildir line ends: lf (default) or crlf as Cyrus stored them")
      ->check(CLI::IsMember({"lf", "crlf"}))
      ->type_name("lf|crlf");
  convert->add_option("--on-corrupt", conv.on_corrupt, "Damaged messages: repair (default), quarantine or fail")
      ->check(CLI::IsMember({"repair", "quarantine", "fail"}))
      ->type_name("POLICY");
  convert->add_option("--sync", conv.sync,
                      "fsync policy: none; folder (default: a folder's journal entry only after a syncfs of the output "
                      "covers its files, one syncfs per group of finished folders); message (also each message file "
                      "before it appears, and each folder's files as it finishes)")
      ->check(CLI::IsMember({"none", "folder", "message"}))
      ->type_name("none|folder|message");
  convert->add_flag("--skip-deleted", conv.skip_deleted, "Leave messages flagged \\Deleted out (they are listed)");
  convert->add_flag("--quiet", conv.quiet, "No progress line on stderr");
  convert->add_option("--split-bytes", conv.split_bytes,
                      "Convert a folder whose new messages exceed this many bytes as UID ranges of at most this size, "
                      "in parallel (default 256M; 0: no limit). Output is the same either way; not with --on-corrupt "
                      "fail or zimbra-tgz")
      ->transform(CLI::AsSizeValue(false))
      ->type_name("SIZE");
  convert->add_option("--split-messages", conv.split_messages,
                      "... or more new messages than this (default 20000; 0: no limit)")
      ->type_name("N");
  convert->add_flag("--follow-source", conv.follow_source,
                    "Re-run on a newer snapshot (the cutover run): what an earlier run wrote follows the source's "
                    "expunges, folder renames, deletions and re-creations; what leaves the view is moved to "
                    "OUT/<user>/removed-by-source/, never deleted (docs/reference.md \"Following the source at cutover\")");
  convert->add_flag("--no-space-check", conv.no_space_check,
                    "Write even when the output file system seems to lack the space the new messages need");
  convert->add_flag("--gzip", conv.gzip, "mbox: compress each folder file to <name>.gz (Boost.Iostreams, zlib)");
  convert->add_flag("--deep", conv.deep, "Also check MIME structure and base64 (slower; README \"audit\")");
  convert->add_option("--rename-map", conv.rename_map,
                      "Override folder names (format of OUT/rename-map.tsv, README \"Folder names\")")
      ->type_name("FILE");
  convert->add_option("--owner", conv.owner,
                      "As root: give each user's output to its owner once written: 'passwd' (the user's entry in this "
                      "machine's passwd) or a map file of '<cyrus user> <uid>:<gid>' lines ('*' = default; README "
                      "\"Output owner\")")
      ->type_name("passwd|FILE");
  convert->add_option("--report", conv.report_file, "Write the JSON convert report (schema in README) to FILE")
      ->type_name("FILE");
  convert->add_option("--plan", conv.shard.plan_file,
                      "Convert one shard of this plan (cyrconv plan): its users and the UID ranges of split folders it "
                      "holds (as parts that report merge joins); its rename map is OUT/rename-map.shard-K.tsv")
      ->type_name("FILE");
  CLI::Option* shard_opt =
      convert->add_option("--shard", conv.shard.shard,
                          "Shard K of --plan, 0-based (default: $SLURM_ARRAY_TASK_ID, else $JOB_COMPLETION_INDEX)")
          ->type_name("K");

  VerifyCommandOptions ver;
  CLI::App* verify = app.add_subcommand(
      "verify", "Re-read a converted output tree and check it against the source: every message accounted for, "
                "bodies by SHA-1, flags, keywords, internal dates, UIDs. Writes nothing");
  add_input_options(*verify, in);
  add_io_depth_option(*verify, in);
  verify->add_option("--out", ver.out, "The output root convert wrote")->required()->type_name("DIR");
  verify->add_option("--format", ver.format,
                     "Output format (default: whichever of OUT/<user>/Maildir, mail exists; zimbra-tgz is refused: not "
                     "built yet)")
      ->check(CLI::IsMember({"maildir", "mbox", "zimbra-tgz"}))
      ->type_name("maildir|mbox");
  verify->add_option("--users", ver.users, "Only these users, as given to convert --users")->type_name("LIST");
  verify->add_option("--profile", ver.profile, "Folder naming profile convert used")
      ->check(CLI::IsMember({"dovecot", "zimbra", "generic"}))
      ->type_name("dovecot|zimbra|generic");
  verify->add_option("--rename-map", ver.rename_map, "The --rename-map convert was given")->type_name("FILE");
  verify->add_option("--eol", ver.eol, "Maildir line ends convert wrote: lf (default) or crlf")
      ->check(CLI::IsMember({"lf", "crlf"}))
      ->type_name("lf|crlf");
  verify->add_option("--report", ver.report_file, "Write the JSON verify report (schema in README) to FILE")
      ->type_name("FILE");

  PlanRequest plan_opts;
  CLI::App* plan = app.add_subcommand(
      "plan", "Cut the store into shards of users and UID ranges of big folders, balanced by bytes, for several "
              "machines (Slurm array, Kubernetes indexed Job, GNU parallel); each runs convert --plan FILE --shard K, "
              "then report merge joins reports and split folders");
  add_input_options(*plan, in);
  add_io_depth_option(*plan, in);
  plan->add_option("--shards", plan_opts.shards, "Number of shards")->required()->check(CLI::Range(1, 1000000));
  plan->add_option("--out", plan_opts.out, "Write the plan (JSON, schema in README) to FILE")->required()->type_name("FILE");
  plan->add_option("--split-bytes", plan_opts.split_bytes,
                   "Cut a mail folder above this many bytes into UID ranges, each a unit of its own that any shard may "
                   "convert (as convert's --split-bytes; default 256M, 0: no limit); report merge joins them")
      ->transform(CLI::AsSizeValue(false))
      ->type_name("SIZE");
  plan->add_option("--split-messages", plan_opts.split_messages, "... or above this many messages (default 20000; 0: no limit)")
      ->type_name("N");

  MergeRequest merge_opts;
  CLI::App* report_cmd = app.add_subcommand("report", "Work with reports");
  report_cmd->require_subcommand(1, 1);
  CLI::App* merge = report_cmd->add_subcommand(
      "merge", "Join the convert reports of a plan's shards into the report of the whole run, and the UID-range parts "
              "of folders the plan split across shards into those folders (run it before the output is used)");
  merge->add_option("--plan", merge_opts.plan_file, "The plan the shards ran")->required()->type_name("FILE");
  merge->add_option("--out", merge_opts.out, "Write the merged JSON report to FILE")->required()->type_name("FILE");
  merge->add_option("--rename-map", merge_opts.rename_map,
                    "Also join the shards' rename maps into FILE (e.g. OUT/rename-map.tsv)")
      ->type_name("FILE");
  merge->add_option("reports", merge_opts.reports, "The shards' convert --report files")->required()->type_name("SHARD.json");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::cerr << "cyrconv: " << e.what() << " (see cyrconv --help)\n";
    return exit_usage;
  }

  if (scan->parsed()) return run_scan_command(in, json, json_file);
  if (audit->parsed()) return run_audit_command(in, audit_opts);
  conv.shard.shard_given = shard_opt->count() > 0;
  if (convert->parsed()) return run_convert_command(in, conv);
  if (verify->parsed()) return run_verify_command(in, ver);
  if (plan->parsed()) {
    SourceInputs inputs;
    if (auto err = make_inputs(in, inputs); !err.empty()) return fail_input(err);
    plan_opts.io_depth = in.io_depth;
    return run_plan_command(inputs, plan_opts, in.threads);
  }
  if (merge->parsed()) return run_report_merge_command(merge_opts);
  return exit_usage;
}

}  // namespace cyrconv
