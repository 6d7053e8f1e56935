#include <unistd.h>

#include "converter/convert/folder_conversion.h"
#include "writers/gzip_file.h"
#include "writers/maildir.h"

namespace cyrconv {

namespace fs = std::filesystem;

void FolderConversion::fail_commit(const WriteStatus& st) {
  run.note(st);
  out.failed = true;
  out.fail_reason = st.message;
  out.findings.push_back(make_finding(Finding::Severity::error, "output_failed", st.message, 0, st.message));
}

// Finish: uidlist, the mbox file, the manifest, then the journal entry that says the folder is
// done. A folder stopped by a full disk, or an incremental run that failed, commits none of
// them: the next run takes up from the files already committed.
void FolderConversion::commit(bool lines_lost) {
  if (out.failed && (incremental || run.stopped() || lines_lost || prior.state == PriorFolder::State::unreadable))
    return;
  using OnExisting = OutputFile::OnExisting;
  // --sync message: each file fsynced here; --sync folder: the group's syncfs (RunControl).
  const bool fsync_files = opt.sync == SyncPolicy::message;
  if (!fo.is_mbox()) {
    if (auto st = fo.uidlist.commit(fo.uidlist_path, -1, fsync_files, OnExisting::replace); !st) fail_commit(st);
    if (fsync_files)
      if (auto st = sync_directory(fo.maildir / "cur"); !st) fail_commit(st);
  } else {
    // A first run's mbox is new (or, resumed, the very bytes an interrupted run committed); an
    // incremental run's is a copy of the earlier one plus the new messages.
    const OnExisting existing = incremental ? OnExisting::replace : OnExisting::keep_identical;
    if (!opt.gzip) {
      if (auto st = fo.mbox.commit(fo.mbox_file, -1, fsync_files, existing); !st) fail_commit(st);
    } else if (fo.compressing) {
      // Compressed as it was written: the stream is ended and linked into place (a resumed run
      // keeps the identical archive it committed before).
      if (auto st = fo.mbox_gz.commit(fs::path(fo.mbox_file.string() + ".gz"), fsync_files); !st) fail_commit(st);
    } else {
      // Written plain (after a copied earlier mbox): committed under a temporary name, then
      // compressed into place.
      fs::path plain = fo.mbox_file;
      plain.replace_filename("." + fo.mbox_file.filename().string() + ".cyrconv-plain");
      ::unlink(plain.c_str());
      if (auto st = fo.mbox.commit(plain, -1, false, OnExisting::refuse); !st) {
        fail_commit(st);
      } else if (auto gz = gzip_into_place(plain, fs::path(fo.mbox_file.string() + ".gz"), fsync_files); !gz) {
        fail_commit(gz);
      }
    }
  }
  if (auto st = fo.manifest.commit(fo.manifest_path, -1, fsync_files, OnExisting::replace); !st) fail_commit(st);
  if (out.failed) return;
  FolderDone done;
  done.folder = recovery ? source.name.internal() + std::string(orphan_suffix) : source.name.internal();
  done.target = target.path;
  done.uidvalidity = uidvalidity;
  done.source_uidnext = source_uidnext;
  done.target_uidnext = uidnext;
  done.manifest_lines = earlier_kept.size() + new_items;
  done.output = (mbox_format ? fo.mbox_file : fo.maildir).lexically_relative(user.root).string();
  done.uniqueid = source.unique_id;
  if (opt.sync == SyncPolicy::folder) {
    run.journal_done({user.root, fo.side_name, done, &out});
    return;
  }
  if (auto st = write_folder_done(user.root, fo.side_name, done, fsync_files); !st) {
    fail_commit(st);
    return;
  }
  remove_folder_pending(user.root, fo.side_name);
}

}  // namespace cyrconv
