#include "converter/cli/cli_options.h"

#include "converter/cli/cli_checks.h"

namespace cyrconv {

void add_output_options(CLI::App& cmd, InputOptions& in, bool verbose) {
  cmd.add_flag("--quiet", in.quiet, "No progress line on stderr");
  if (verbose)
    cmd.add_flag("--verbose", in.verbose,
                 "List every folder and message in the text report (convert: and each folder's ACL), not only "
                 "those with something to note");
  cmd.add_option("--log", in.log,
                 "Append the command line, warnings, a progress line every 30 s and the full text report to FILE "
                 "as the run goes")
      ->type_name("FILE");
}

void add_io_depth_option(CLI::App& cmd, InputOptions& in) {
  cmd.add_option("--io-depth", in.io_depth,
                 "Files each worker keeps in flight (message files read ahead; cyrus.header, cyrus.index and "
                 "directory listings of that many mailboxes at once), for storage where every open and read "
                 "waits on the network (NFS): try 16-32 there; 1 (the default) reads one at a time")
      ->check(whole_number(1, 256))
      ->type_name("N");
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
  cmd.add_option("--config", in.config, "Copy of Cyrus's configdirectory (mailboxes.db, user/*.seen, user/*.sub, sieve/, quota/); "
                 "required for a uuid-layout store (Cyrus 3.x)")
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
      ->check(CLI::IsMember({"yes", "no"}).description(""))
      ->type_name("yes|no");
  cmd.add_option("--threads", in.threads, "Worker threads (default: one per core)")
      ->check(whole_number(0, 1024))
      ->type_name("N");
}

void add_audit_options(CLI::App& cmd, AuditCommandOptions& o) {
  cmd.add_option("--report", o.report_file, "Write the JSON corruption audit report (schema in docs/reference.md) to FILE")
      ->type_name("FILE");
  cmd.add_option("--html", o.html_file,
                 "Also write the report as one self-contained HTML page to FILE (docs/reference.md \"HTML report\")")
      ->type_name("FILE");
  cmd.add_option("--on-corrupt", o.on_corrupt,
                    "Policy convert would apply to damaged messages: repair (default), quarantine or fail")
      ->check(CLI::IsMember({"repair", "quarantine", "fail"}).description(""))
      ->type_name("POLICY");
  cmd.add_flag("--deep", o.deep,
                  "Also check MIME structure and base64 (costs up to about 40% of the throughput; see docs/reference.md)");
}

CLI::Option* add_convert_options(CLI::App& cmd, ConvertCommandOptions& o) {
  cmd.add_option("--format", o.format,
                      "Output format; zimbra-tgz: OUT/<user>/zimbra.tgz (mail), calendars/contacts files and "
                      "zimbra-import.sh, which imports them with zmmailbox (docs/zimbra.md)")
      ->required()
      ->check(CLI::IsMember({"maildir", "mbox", "zimbra-tgz"}).description(""))
      ->type_name("maildir|mbox|zimbra-tgz");
  cmd.add_option("--out", o.out, "Output root (created if needed); users go to OUT/<user>")
      ->required()
      ->type_name("DIR");
  cmd.add_option("--users", o.users, "Only these users (comma separated, e.g. fred,anna@example.org)")
      ->type_name("LIST");
  cmd.add_option("--profile", o.profile,
                      "Folder naming rules of the target (docs/reference.md \"Folder names\"); default zimbra for zimbra-tgz, "
                      "else dovecot")
      ->check(CLI::IsMember({"dovecot", "zimbra", "generic"}).description(""))
      ->type_name("dovecot|zimbra|generic");
  cmd.add_option("--eol", o.eol, "Maildir line ends: lf (default) or crlf as Cyrus stored them")
      ->check(CLI::IsMember({"lf", "crlf"}).description(""))
      ->type_name("lf|crlf");
  cmd.add_option("--on-corrupt", o.on_corrupt, "Damaged messages: repair (default), quarantine or fail")
      ->check(CLI::IsMember({"repair", "quarantine", "fail"}).description(""))
      ->type_name("POLICY");
  cmd.add_option("--sync", o.sync,
                      "fsync policy: none; folder (default: a folder's journal entry only after a syncfs of the output "
                      "covers its files, one syncfs per group of finished folders); message (also each message file "
                      "before it appears, and each folder's files as it finishes)")
      ->check(CLI::IsMember({"none", "folder", "message"}).description(""))
      ->type_name("none|folder|message");
  cmd.add_flag("--skip-deleted", o.skip_deleted, "Leave messages flagged \\Deleted out (they are listed)");
  cmd.add_option("--split-bytes", o.split_bytes,
                      "Convert a folder whose new messages exceed this many bytes as UID ranges of at most this size, "
                      "in parallel (default 256M; 0: no limit). Output is the same either way; not with --on-corrupt "
                      "fail or zimbra-tgz")
      ->transform(size_value())
      ->type_name("SIZE");
  cmd.add_option("--split-messages", o.split_messages,
                      "... or more new messages than this (default 20000; 0: no limit)")
      ->check(whole_number(0, 4000000000LL))
      ->type_name("N");
  // Refused with another format (cli.cpp), as --gzip is without mbox.
  auto zimbra_given = [&o](const std::string&) { o.zimbra_options_given = true; };
  cmd.add_option("--zimbra-max-line-length", o.zimbra_max_line,
                 "zimbra-tgz: the server's zimbra_lmtp_max_line_length (default 10240); a message with a longer "
                 "line is quarantined, as Zimbra would refuse it (0: not checked, for zimbra_lmtp_validate_messages "
                 "false)")
      ->type_name("BYTES")
      ->each(zimbra_given);
  cmd.add_option("--zimbra-quota", o.zimbra_quota,
                 "zimbra-tgz: the mailbox quota the accounts will have; a user whose converted bytes exceed it is "
                 "reported (zimbra_quota_exceeded) before anything is imported (default: not checked)")
      ->transform(size_value())
      ->type_name("SIZE")
      ->each(zimbra_given);
  cmd.add_option("--zimbra-part-size", o.zimbra_part_size,
                 "zimbra-tgz: cut each user's archive into parts of at most this size, each a whole archive "
                 "posted in turn (default 1G; at least 64K; a message larger than a part gets a part of its own); a big "
                 "user's parts are compressed in parallel, using up to 2 x --threads parts of scratch space in --out")
      ->transform(size_value())
      ->check(CLI::Validator(
          [](std::string& s) -> std::string {
            return s.size() < 5 || (s.size() == 5 && s < "65536") ? "expects a size of at least 64K, got " + s : "";
          },
          "", "part_size"))
      ->type_name("SIZE")
      ->each(zimbra_given);
  cmd.add_flag("--dry-run", o.dry_run,
                    "Discover, inventory, name and check space, then print what would be written (users, folders "
                    "with target names, messages, bytes, renames); create nothing");
  cmd.add_flag("--follow-source", o.follow_source,
               "Re-run on a newer snapshot (the cutover run): what an earlier run wrote follows the source's "
               "expunges, folder renames, deletions and re-creations; what leaves the view is moved to "
               "OUT/<user>/removed-by-source/, never deleted (docs/reference.md \"Following the source at cutover\")");
  cmd.add_flag("--no-space-check", o.no_space_check,
                    "Write even when the output file system seems to lack the space the new messages need");
  cmd.add_flag("--gzip", o.gzip, "mbox: compress each folder file to <name>.gz (Boost.Iostreams, zlib)");
  cmd.add_flag("--deep", o.deep, "Also check MIME structure and base64 (slower; docs/reference.md \"cyrconv audit\")");
  cmd.add_option("--rename-map", o.rename_map,
                      "Override folder names (format of OUT/rename-map.tsv, docs/reference.md \"Folder names\")")
      ->type_name("FILE");
  cmd.add_option("--owner", o.owner,
                      "As root: give each user's output to its owner once written: 'passwd' (the user's entry in this "
                      "machine's passwd) or a map file of '<cyrus user> <uid>:<gid>' lines ('*' = default; docs/reference.md "
                      "\"Output owner\")")
      ->type_name("passwd|FILE");
  cmd.add_option("--report", o.report_file, "Write the JSON convert report (schema in docs/reference.md) to FILE")
      ->type_name("FILE");
  cmd.add_option("--html", o.html_file,
                 "Also write the report as one self-contained HTML page to FILE (docs/reference.md \"HTML report\")")
      ->type_name("FILE");
  cmd.add_option("--plan", o.shard.plan_file,
                      "Convert one shard of this plan (cyrconv plan): its users and the UID ranges of split folders it "
                      "holds (as parts that report merge joins); its rename map is OUT/rename-map.shard-K.tsv")
      ->type_name("FILE");
  return cmd.add_option("--shard", o.shard.shard,
                          "Shard K of --plan, 0-based (default: $SLURM_ARRAY_TASK_ID, else $JOB_COMPLETION_INDEX)")
          ->type_name("K");
}

void add_verify_options(CLI::App& cmd, VerifyCommandOptions& o) {
  cmd.add_option("--out", o.out, "The output root convert wrote")->required()->type_name("DIR");
  cmd.add_option("--format", o.format,
                     "Output format (default: as convert recorded it in OUT/convert-options.json, else whichever of "
                     "OUT/<user>/Maildir, mail exists; zimbra-tgz is refused: not built yet)")
      ->check(CLI::IsMember({"maildir", "mbox", "zimbra-tgz"}).description(""))
      ->type_name("maildir|mbox");
  cmd.add_option("--users", o.users, "Only these users (default: the users convert recorded)")->type_name("LIST");
  cmd.add_option("--profile", o.profile, "Folder naming profile (default: as convert recorded it, else dovecot)")
      ->check(CLI::IsMember({"dovecot", "zimbra", "generic"}).description(""))
      ->type_name("dovecot|zimbra|generic");
  cmd.add_option("--rename-map", o.rename_map,
                     "The --rename-map convert was given (default: OUT/rename-map.tsv when convert recorded one)")->type_name("FILE");
  cmd.add_option("--eol", o.eol, "Maildir line ends convert wrote (default: as convert recorded them, else lf)")
      ->check(CLI::IsMember({"lf", "crlf"}).description(""))
      ->type_name("lf|crlf");
  cmd.add_option("--report", o.report_file, "Write the JSON verify report (schema in docs/reference.md) to FILE")
      ->type_name("FILE");
  cmd.add_option("--html", o.html_file,
                 "Also write the report as one self-contained HTML page to FILE (docs/reference.md \"HTML report\")")
      ->type_name("FILE");
  cmd.add_option("--zimbra-counts", o.zimbra_counts,
                 "After zimbra-import.sh: compare FILE, the output of `zmmailbox -z -m USER getAllFolders` (or -v), "
                 "with OUT/zimbra-expected.tsv (OUT = the user's directory) and name every folder whose count "
                 "differs; no store is read (docs/zimbra.md)")
      ->type_name("FILE");
  cmd.add_option("--zimbra-expected", o.zimbra_expected,
                 "With --zimbra-counts: the zimbra-expected.tsv to compare with (default OUT/zimbra-expected.tsv)")
      ->type_name("FILE");
}

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

}  // namespace cyrconv
