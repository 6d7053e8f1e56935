#pragma once
// The moves --follow-source makes (converter/follow/follow_source.h), their journal
// (journal/follow-source.pending, written before the first move and removed after the last), and
// their execution. Every step is a rename that checks where things already are, so running a list
// again after a kill finishes it and changes nothing that was done.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "converter/follow/follow_source.h"
#include "writers/output_file.h"

namespace cyrconv {

struct FollowMove {
  enum class Kind { message, folder_deleted, replace_recreated, rename };
  Kind kind = Kind::message;
  std::string side;        // the folder's side file name (journal, manifest, quarantine)
  std::string from;        // relative to the user root: message file, Maildir folder or mbox file
  std::string to;          // rename: the new folder's output
  std::string line;        // message: its manifest line
  std::uint32_t uid = 0;   // message
  std::string new_side, new_folder, new_target, new_uniqueid;  // rename
  std::string detail;      // for the report
};

struct PendingMoves {
  std::string stamp;
  std::vector<FollowMove> moves;
};

std::optional<PendingMoves> read_pending_moves(const std::filesystem::path& user_root, std::string& error);
WriteStatus write_pending_moves(const std::filesystem::path& user_root, const PendingMoves& p, bool sync);
void remove_pending_moves(const std::filesystem::path& user_root);

// Carries out every move (or finds it done), adding counts and one finding per move to `r`.
void execute_moves(const FollowInput& in, const PendingMoves& p, FollowResult& r);

// mbox: the expunged messages `ms` (all of one folder file) cut out of it into `holding`
// (converter/follow/follow_source_mbox.cpp).
void move_mbox_messages(const FollowInput& in, const std::string& side, const std::vector<const FollowMove*>& ms,
                        const std::filesystem::path& holding, FollowResult& r);

}  // namespace cyrconv
