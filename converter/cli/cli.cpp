#include "converter/cli/cli.h"
#include "converter/zimbra/zimbra_counts.h"

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>
#include <sstream>

#include "converter/audit/audit.h"
#include "converter/cli/cli_checks.h"
#include "converter/cli/cli_options.h"
#include "converter/convert/convert.h"
#include "converter/cli/exit_status.h"
#include "converter/cli/interrupt.h"
#include "converter/cli/preflight.h"
#include "converter/cli/progress.h"
#include "converter/plan/rename_map.h"
#include "converter/report/report_html.h"
#include "converter/cli/run_log.h"
#include "converter/cli/run_record.h"
#include "converter/audit/scan.h"
#include "converter/shard/shard_commands.h"
#include "converter/verify/verify.h"
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

// The run's --log (converter/cli/run_log.h) and the command line it names.
RunLog run_log;
std::string command_line;

// The text report: stdout as asked (quiet or --verbose), the log in full; `write(out, verbose)`.
template <typename Write>
void print_text_report(const InputOptions& in, Write write) {
  write(std::cout, in.verbose);
  std::cout.flush();
  if (run_log.enabled()) {
    write(run_log.stream(), true);
    run_log.flush();
  }
}

int finish(int status) {
  run_log.line("exit status " + std::to_string(status));
  return status;
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

// Options that do not go together: a usage error (README "Exit statuses": 2), like CLI11's own.
int fail_usage(const std::string& message) {
  std::cerr << "cyrconv: " << message << "\n";
  return exit_usage;
}

using PathKind = PreflightPath::Kind;

// The one place every subcommand's pre-flight checks run (converter/cli/preflight.h): a refusal is
// one line and status 2; warnings are printed and the run goes on.
// The --log file is opened here, once it passed, and gets the warnings too.
std::optional<int> run_preflight(const SourceInputs* inputs, const std::string& log_file,
                                 std::vector<PreflightPath> outputs) {
  PreflightRequest req;
  req.inputs = inputs;
  outputs.push_back({"--log", log_file, PreflightPath::Kind::file});
  for (auto& o : outputs)
    if (!o.path.empty()) req.outputs.push_back(std::move(o));
  const PreflightResult r = preflight(req);
  if (!r.refusal.empty()) {
    std::cerr << "cyrconv: " << r.refusal << "\n";
    return exit_usage;
  }
  if (auto why = run_log.open(log_file, command_line); !why.empty()) {
    std::cerr << "cyrconv: " << why << "\n";
    return exit_usage;
  }
  if (run_log.enabled()) set_progress_log([](const std::string& line) { run_log.line(line); });
  for (const auto& w : r.warnings) {
    std::cerr << "cyrconv: " << w << "\n";
    run_log.line("cyrconv: " + w);
  }
  return std::nullopt;
}

int run_scan_command(const InputOptions& in, bool json, const std::string& json_file) {
  SourceInputs inputs;
  if (auto err = make_inputs(in, inputs); !err.empty()) return fail_input(err);
  if (auto stop = run_preflight(&inputs, in.log, {{"--json-file", json_file, PathKind::file}})) return *stop;
  ScanReport report = run_scan(inputs, ScanOptions{in.threads, in.io_depth, in.quiet});
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
  if (run_log.enabled()) {
    write_scan_text(report, run_log.stream());
    run_log.flush();
  }
  if (report.totals.folders == 0) {
    std::cerr << "cyrconv: no mailboxes found under the given inputs\n";
    return finish(exit_input_unusable);
  }
  return finish(report.totals.errors ? exit_problems_found : exit_ok);
}

// The run's exit status, after its page is written when --html asks for one (a page that cannot
// be written makes the run fail like a report that cannot be written).
int with_html(const std::string& html_file, const std::string& report_file,
              const std::function<void(std::ostream&)>& write_json, int status) {
  if (html_file.empty()) return status;
  if (auto err = write_run_html(html_file, report_file, write_json, status, CYRCONV_VERSION); !err.empty())
    return fail_input(err);
  return status;
}

int run_audit_command(const InputOptions& in, const AuditCommandOptions& a) {
  SourceInputs inputs;
  if (auto err = make_inputs(in, inputs); !err.empty()) return fail_input(err);
  if (auto stop = run_preflight(&inputs, in.log, {{"--report", a.report_file, PathKind::file},
                                                  {"--html", a.html_file, PathKind::file}}))
    return *stop;
  AuditOptions options;
  options.quiet = in.quiet;
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
  print_text_report(in, [&](std::ostream& out, bool verbose) { write_audit_text(report, out, verbose); });
  int status = report.problems() ? exit_problems_found : exit_ok;
  if (report.folders == 0) {
    std::cerr << "cyrconv: no mailboxes found under the given inputs\n";
    status = exit_input_unusable;
  }
  return finish(
      with_html(a.html_file, a.report_file, [&](std::ostream& o) { write_audit_report_json(report, o); }, status));
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
  options.quiet = in.quiet;
  options.check_space = !c.no_space_check;
  options.dry_run = c.dry_run;
  options.follow_source = c.follow_source;
  if (c.follow_source && options.format == OutputFormat::zimbra_tgz)
    return fail_usage("--follow-source applies to --format maildir and mbox (a zimbra-tgz archive is written whole)");
  if (options.gzip && options.format != OutputFormat::mbox) return fail_usage("--gzip applies to --format mbox only");
  if (c.zimbra_options_given && options.format != OutputFormat::zimbra_tgz)
    return fail_usage("--zimbra-max-line-length, --zimbra-quota and --zimbra-part-size apply to --format zimbra-tgz only");
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
  options.zimbra_max_line = c.zimbra_max_line;
  options.zimbra_quota = c.zimbra_quota;
  options.zimbra_part_size = c.zimbra_part_size;
  if (options.format != OutputFormat::maildir && options.crlf) return fail_usage("--eol crlf applies to --format maildir only");
  if (auto stop = run_preflight(&inputs, in.log, {{"--out", c.out, PathKind::directory},
                                                  {"--report", c.report_file, PathKind::file},
                                                  {"--html", c.html_file, PathKind::file}}))
    return *stop;
  std::optional<ShardStamp> stamp;
  if (auto stop = prepare_shard_run(inputs, c.shard, options, stamp)) return *stop;
  if (options.dry_run) {
    ConvertReport plan = run_convert(inputs, options);
    if (!c.report_file.empty()) {  // asked for: its directory is made even inside --out
      std::error_code ec;
      fs::create_directories(fs::absolute(c.report_file).parent_path(), ec);
      std::ofstream out(c.report_file, std::ios::binary | std::ios::trunc);
      write_convert_report_file(plan, stamp ? &*stamp : nullptr, out);
      if (!out) return fail_input("cannot write " + c.report_file);
    }
    print_text_report(in, [&](std::ostream& out, bool) { write_dry_run_text(plan, out); });
    if (!plan.fatal && plan.folders == 0) std::cerr << "cyrconv: no mailboxes found under the given inputs\n";
    return finish(convert_exit_status(plan));  // 4 when the space is short, 1 for errors such as user_not_found
  }
  if (auto st = make_directories(options.out); !st) return fail_input(st.message);
  // What verify needs to read this output without repeated options (converter/cli/run_record.h).
  RunRecord record{c.format, c.eol, profile, std::nullopt, !c.rename_map.empty()};
  if (auto users = split_list(c.users); !users.empty()) record.users = std::move(users);
  if (auto st = record_convert_run(options.out, record, options.sync != SyncPolicy::none); !st)
    return fail_input(st.message);
  ConvertReport report = run_convert(inputs, options);
  report.tool_version = CYRCONV_VERSION;
  if (!c.report_file.empty()) {
    std::ofstream out(c.report_file, std::ios::binary | std::ios::trunc);
    write_convert_report_file(report, stamp ? &*stamp : nullptr, out);
    if (!out) return fail_input("cannot write " + c.report_file);
  }
  print_text_report(in, [&](std::ostream& out, bool verbose) { write_convert_text(report, out, verbose); });
  if (report.interrupted_by) {
    std::cerr << "cyrconv: " << interrupted_line << "\n";
    run_log.line(std::string("cyrconv: ") + interrupted_line);
  } else if (!report.fatal && !report.stopped && report.folders == 0) {
    std::cerr << "cyrconv: no mailboxes found under the given inputs\n";
  }
  return finish(with_html(c.html_file, c.report_file,
                          [&](std::ostream& o) { write_convert_report_file(report, stamp ? &*stamp : nullptr, o); },
                          convert_exit_status(report)));
}

int run_verify_command(const InputOptions& in, VerifyCommandOptions v) {
  if (!v.zimbra_counts.empty()) return run_zimbra_counts_check(v.zimbra_counts, v.zimbra_expected, v.out);
  SourceInputs inputs;
  if (auto err = make_inputs(in, inputs); !err.empty()) return fail_input(err);
  VerifyOptions options;
  options.out = fs::absolute(v.out);
  if (!fs::is_directory(options.out)) return fail_input("--out: " + v.out + " is not a directory");
  {
    RecordedOptions given{v.format, v.eol, v.profile, v.users, v.rename_map, {}};
    const std::string why = apply_run_record(options.out, given);
    if (!given.warning.empty()) std::cerr << "cyrconv: warning: " << given.warning << "\n";
    if (!why.empty()) {
      std::cerr << "cyrconv: " << why << "\n";
      return exit_usage;
    }
    v.format = given.format;
    v.eol = given.eol;
    v.profile = given.profile;
    v.users = given.users;
    v.rename_map = given.rename_map;
  }
  if (v.format == "zimbra-tgz")
    return fail_input("verify does not read zimbra-tgz archives yet; check one with `tar -tzvf OUT/<user>/zimbra.tgz` "
                      "and the convert report (docs/zimbra.md)");
  if (!v.format.empty()) options.format = v.format == "mbox" ? OutputFormat::mbox : OutputFormat::maildir;
  options.users = split_list(v.users);
  options.profile = *parse_naming_profile(v.profile.empty() ? "dovecot" : v.profile);  // CLI11 checked the values
  options.crlf = v.eol == "crlf";
  options.quiet = in.quiet;
  options.threads = in.threads;
  options.io_depth = in.io_depth;
  if (auto stop = run_preflight(&inputs, in.log, {{"--report", v.report_file, PathKind::file},
                                                  {"--html", v.html_file, PathKind::file}}))
    return *stop;
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
  print_text_report(in, [&](std::ostream& out, bool verbose) { write_verify_text(report, out, verbose); });
  // README "Exit statuses": 0 only when every source message is in the output.
  const auto& t = report.totals;
  const bool all_there = report.clean() && !t.quarantined && !t.listed_missing && !t.not_converted;
  const int status = report.fatal ? exit_input_unusable : all_there ? exit_ok : exit_problems_found;
  return finish(
      with_html(v.html_file, v.report_file, [&](std::ostream& o) { o << verify_report_json(report); }, status));
}

// `plan`: its options into `p`.
CLI::App* add_plan_subcommand(CLI::App& app, InputOptions& in, PlanRequest& p) {
  CLI::App* plan = app.add_subcommand(
      "plan", "Cut the store into shards of users and UID ranges of big folders, balanced by bytes, for several "
              "machines (Slurm array, Kubernetes indexed Job, GNU parallel); each runs convert --plan FILE --shard K, "
              "then report merge joins reports and split folders");
  add_input_options(*plan, in);
  add_io_depth_option(*plan, in);
  plan->add_option("--shards", p.shards, "Number of shards")->required()->check(whole_number(1, 1000000));
  plan->add_option("--out", p.out, "Write the plan (JSON, schema in docs/many-machines.md) to FILE")->required()->type_name("FILE");
  plan->add_option("--split-bytes", p.split_bytes,
                   "Cut a mail folder above this many bytes into UID ranges, each a unit of its own that any shard may "
                   "convert (as convert's --split-bytes; default 256M, 0: no limit); report merge joins them")
      ->transform(size_value())
      ->type_name("SIZE");
  plan->add_option("--split-messages", p.split_messages, "... or above this many messages (default 20000; 0: no limit)")
      ->check(whole_number(0, 4000000000LL))
      ->type_name("N");
  return plan;
}

// `report merge` and `report html`.
struct ReportSubcommands {
  CLI::App* merge = nullptr;
  CLI::App* html = nullptr;
};
ReportSubcommands add_report_subcommands(CLI::App& app, MergeRequest& merge_opts, ReportHtmlRequest& html_opts) {
  ReportSubcommands r;
  CLI::App* report_cmd = app.add_subcommand("report", "Work with reports");
  report_cmd->require_subcommand(1, 1);
  CLI::App* merge = r.merge = report_cmd->add_subcommand(
      "merge", "Join the convert reports of a plan's shards into the report of the whole run, and the UID-range parts "
              "of folders the plan split across shards into those folders (run it before the output is used)");
  merge->add_option("--plan", merge_opts.plan_file, "The plan the shards ran")->required()->type_name("FILE");
  merge->add_option("--out", merge_opts.out, "Write the merged JSON report to FILE")->required()->type_name("FILE");
  merge->add_option("--rename-map", merge_opts.rename_map,
                    "Also join the shards' rename maps into FILE (e.g. OUT/rename-map.tsv)")
      ->type_name("FILE");
  merge->add_option("reports", merge_opts.reports, "The shards' convert --report files")->required()->type_name("SHARD.json");
  CLI::App* html = r.html = report_cmd->add_subcommand(
      "html", "Turn a JSON report (scan --json, audit, convert, verify, report merge) into one self-contained HTML "
              "page: charts, sortable users, per-message entries; no network needed to view it");
  html->add_option("report", html_opts.report, "The JSON report")->required()->type_name("REPORT.json");
  html->add_option("-o,--out", html_opts.out, "Write the page to FILE (default: the report's name with .html)")
      ->type_name("FILE");
  return r;
}

// A parse error's message and exit status: --help and --version exit 0, the rest are usage errors.
int parse_failure(CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
  // An unknown word makes CLI11 complain of extras, or of a missing subcommand ("conver").
  if (auto hint = suggest_for_unknown(app, argc, argv); !hint.empty()) {
    std::cerr << "cyrconv: " << hint << "\n";
    return exit_usage;
  }
  std::cerr << "cyrconv: " << e.what() << " (see cyrconv --help)\n";
  return exit_usage;
}

int run_plan_subcommand(const InputOptions& in, PlanRequest& plan_opts) {
  SourceInputs inputs;
  if (auto err = make_inputs(in, inputs); !err.empty()) return fail_input(err);
  if (auto stop = run_preflight(&inputs, "", {{"--out", plan_opts.out, PathKind::file}})) return *stop;
  plan_opts.io_depth = in.io_depth;
  return run_plan_command(inputs, plan_opts, in.threads);
}

int run_merge_subcommand(const MergeRequest& merge_opts) {
  if (auto stop = run_preflight(nullptr, "", {{"--out", merge_opts.out, PathKind::file},
                                          {"--rename-map", merge_opts.rename_map, PathKind::file}}))
    return *stop;
  return run_report_merge_command(merge_opts);
}

int run_html_subcommand(const ReportHtmlRequest& html_opts) {
  if (auto stop = run_preflight(nullptr, "", {{"--out", html_opts.out, PathKind::file}})) return *stop;
  return run_report_html_command(html_opts, CYRCONV_VERSION);
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{
      "cyrconv: convert copied Cyrus IMAP mail stores, offline and read-only, into Maildir, mbox or a Zimbra archive.\n"
      "The source trees are never written, locked or touched.",
      "cyrconv"};
  app.set_version_flag("--version", std::string("cyrconv ") + CYRCONV_VERSION);
  app.require_subcommand(1, 1);
  app.get_formatter()->label("REQUIRED", "(required)");
  app.get_formatter()->column_width(36);
  app.footer(exit_status_table);

  InputOptions in;
  bool json = false;
  std::string json_file;
  CLI::App* scan = app.add_subcommand("scan", "Inventory a copied store: users, folders, messages, bytes, index "
                                              "versions, seen state, and the problems visible without reading messages");
  add_input_options(*scan, in);
  add_io_depth_option(*scan, in);
  add_output_options(*scan, in, false);
  scan->add_flag("--json", json, "Print the report as one JSON document (schema in docs/reference.md) instead of text");
  scan->add_option("--json-file", json_file, "Also write the JSON report to FILE")->type_name("FILE");

  AuditCommandOptions audit_opts;
  CLI::App* audit = app.add_subcommand(
      "audit", "Read and check every message file once; report per message what convert would do, and how many message "
      "files the source holds (the census verify checks). Writes no output tree (the report's per-message "
      "entries wait in an unnamed file in $TMPDIR)");
  add_input_options(*audit, in);
  add_io_depth_option(*audit, in);
  add_output_options(*audit, in, true);
  add_audit_options(*audit, audit_opts);

  ConvertCommandOptions conv;
  CLI::App* convert = app.add_subcommand(
      "convert", "Write Maildir++ or mbox trees (or Zimbra archives) with flag manifests; every message read once, "
                 "checked, and written, repaired (original kept) or quarantined. Also carries, per user, special-use "
                 "roles (dovecot-special-use.conf), Sieve scripts (sieve/, .dovecot.sieve; fileinto names rewritten), "
                 "ACLs (report, acl.tsv, Maildir dovecot-acl) and the quota (Maildir maildirsize); these need --config "
                 "(annotations.db, sieve/, quota/). Run it again to resume after a crash or to add a newer snapshot: "
                 "nothing is written twice, nothing in OUT deleted (docs/reference.md \"Re-runs\")");
  add_input_options(*convert, in);
  add_io_depth_option(*convert, in);
  add_output_options(*convert, in, true);
  CLI::Option* shard_opt = add_convert_options(*convert, conv);

  VerifyCommandOptions ver;
  CLI::App* verify = app.add_subcommand(
      "verify", "Re-read a converted output tree and check it against the source: every message accounted for, "
                "bodies by SHA-1, flags, keywords, internal dates, UIDs, and every message file found walking the "
                "source accounted for (census). Writes nothing");
  add_input_options(*verify, in);
  add_io_depth_option(*verify, in);
  add_output_options(*verify, in, true);
  add_verify_options(*verify, ver);

  PlanRequest plan_opts;
  CLI::App* plan = add_plan_subcommand(app, in, plan_opts);

  MergeRequest merge_opts;
  ReportHtmlRequest html_opts;
  const ReportSubcommands report = add_report_subcommands(app, merge_opts, html_opts);

  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return parse_failure(app, e, argc, argv);
  }

  // convert winds down at the next message boundary; zimbra-tgz, --dry-run and the others exit at once.
  if (convert->parsed() && conv.format != "zimbra-tgz" && !conv.dry_run)
    install_interrupt_handlers(InterruptMode::stop_at_boundary);
  else
    install_interrupt_handlers(InterruptMode::exit_now, convert->parsed()
                                                            ? "cyrconv: interrupted: run the same command again to resume"
                                                            : "cyrconv: interrupted: run the same command again");
  if (scan->parsed()) return run_scan_command(in, json, json_file);
  if (audit->parsed()) return run_audit_command(in, audit_opts);
  conv.shard.shard_given = shard_opt->count() > 0;
  if (convert->parsed()) return run_convert_command(in, conv);
  if (verify->parsed()) return run_verify_command(in, ver);
  if (plan->parsed()) return run_plan_subcommand(in, plan_opts);
  if (report.merge->parsed()) return run_merge_subcommand(merge_opts);
  if (report.html->parsed()) return run_html_subcommand(html_opts);
  return exit_usage;
}

}  // namespace cyrconv
