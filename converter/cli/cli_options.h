#pragma once
// The command line's options: what each subcommand takes, as CLI11 registers it (converter/cli/cli.cpp
// runs the subcommands with them).
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "converter/shard/shard_commands.h"

namespace cyrconv {

// The input trees and how to read them (every subcommand but report merge), and the text output.
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
  // README "Quiet output and logs"
  bool quiet = false;    // no progress line
  bool verbose = false;  // audit, convert, verify: every folder in the text report
  std::string log;       // --log FILE
};

// audit; convert; verify: as given ("" where the default is decided later).
struct AuditCommandOptions {
  std::string report_file;
  std::string html_file;  // --html FILE
  std::string on_corrupt = "repair";
  bool deep = false;
};

struct ConvertCommandOptions {
  std::string format;
  std::string out;
  std::string users;
  std::string profile;  // "": the format's own (zimbra for zimbra-tgz, else dovecot)
  std::string eol = "lf";
  std::string on_corrupt = "repair";
  std::string sync = "folder";
  std::string report_file;
  std::string html_file;  // --html FILE
  std::string rename_map;
  std::string owner;  // --owner passwd|FILE
  bool skip_deleted = false;
  bool deep = false;
  bool gzip = false;
  bool no_space_check = false;
  bool follow_source = false;  // --follow-source (docs/reference.md "Following the source at cutover")
  bool dry_run = false;
  std::uint64_t split_bytes = 256ull << 20;
  std::uint64_t split_messages = 20000;
  std::uint64_t zimbra_max_line = 10240;  // --zimbra-max-line-length (0: not checked)
  std::uint64_t zimbra_quota = 0;         // --zimbra-quota (0: none)
  std::uint64_t zimbra_part_size = 1ull << 30;  // --zimbra-part-size
  bool zimbra_options_given = false;  // any of the three above, given on the command line
  ShardRequest shard;  // --plan FILE [--shard K]
};

struct VerifyCommandOptions {
  std::string format;  // "": detect
  std::string out;
  std::string users;
  std::string profile;  // "": as convert recorded it, else dovecot
  std::string eol;      // "": as convert recorded it, else lf
  std::string rename_map;
  std::string report_file;
  std::string html_file;  // --html FILE
  std::string zimbra_counts;    // --zimbra-counts: compare a getAllFolders listing (converter/zimbra/zimbra_counts.h)
  std::string zimbra_expected;  // --zimbra-expected: default OUT/zimbra-expected.tsv
};

// --spool, --partition, --archive-partition, --config, --threads.
void add_input_options(CLI::App& cmd, InputOptions& in);
void add_io_depth_option(CLI::App& cmd, InputOptions& in);
// --quiet, --log and (`verbose`) --verbose: README "Quiet output and logs".
void add_output_options(CLI::App& cmd, InputOptions& in, bool verbose);
void add_audit_options(CLI::App& cmd, AuditCommandOptions& o);
// Returns --shard, whose presence (not only its value) matters.
CLI::Option* add_convert_options(CLI::App& cmd, ConvertCommandOptions& o);
void add_verify_options(CLI::App& cmd, VerifyCommandOptions& o);

// "fred, anna@example.org" -> {"fred", "anna@example.org"}.
std::vector<std::string> split_list(const std::string& s);

}  // namespace cyrconv
