#pragma once
// What every folder of one convert run shares: the stop (a full disk or a signal ends the run
// cleanly, leaving what is done resumable: README "Re-runs"), the I/O threads, the report's
// message log, and --sync folder's journaling thread.
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "converter/convert/journal.h"
#include "writers/convert_report.h"
#include "writers/output_file.h"

namespace cyrconv {

class IoThreads;
class MessageLog;

Finding make_finding(Finding::Severity sev, std::string kind, std::string file, std::uint32_t uid, std::string detail);

struct RunControl {
  std::atomic<bool> stop{false};
  std::mutex lock;
  std::string reason;
  bool interrupted = false;    // set under `lock` with `stop`
  IoThreads* io = nullptr;     // --io-depth > 1: the I/O threads of the prefetch stage
  MessageLog* log = nullptr;   // where each range's report entries go when it ends

  // The first disk-full error stops the run.
  void note(const WriteStatus& st);
  // Also true once SIGINT/SIGTERM arrived (converter/cli/interrupt.h): every check of a message
  // boundary then winds the run down as a full disk does.
  bool stopped();

  // --sync folder: a folder's journal entry may be written only once its files are on disk.
  // Instead of fsyncs of each folder's uidlist, manifest, mbox file and cur/ (each one a journal
  // commit of the file system, waited for by the worker), finished folders wait here, and a
  // thread of its own makes one syncfs of the output file system cover a group of them (every
  // 256 folders or 2 seconds) and then writes their entries; the run ends with one more syncfs,
  // for the entries. Workers never wait for the disk.
  struct DoneEntry {
    std::filesystem::path root;
    std::string side;
    FolderDone done;
    ConvertFolder* out;
  };
  void start_syncer(const std::filesystem::path& out);
  void journal_done(DoneEntry e);
  // After the last folder: the rest of the entries, then a syncfs for the entries themselves.
  void finish_syncer();
  ~RunControl() { finish_syncer(); }

 private:
  void write_done_group(std::vector<DoneEntry>& group);
  std::mutex done_lock;
  std::condition_variable done_wake;
  std::vector<DoneEntry> done_waiting;
  bool done_quit = false;
  std::thread syncer;
  int out_fd = -1;  // the output root, for syncfs
};

}  // namespace cyrconv
