#pragma once
// mbox pieces (mboxrd): the From_ line and the metadata headers mutt, Dovecot and UW-IMAP read
// (Status, X-Status, X-Keywords, X-UID, X-IMAPbase). cyrus-on-disk.md 10.4, dovecot-notes.md.
#include <cstdint>
#include <string>
#include <vector>

namespace cyrconv {

// "From <sender> Www Mmm dd hh:mm:ss yyyy\n" in UTC; MAILER-DAEMON when the sender is unknown.
std::string mbox_from_line(const std::string& envelope_sender, std::int64_t internaldate);

struct MboxFolderState {
  std::uint32_t uidvalidity = 0;
  std::uint32_t last_uid = 0;              // X-IMAPbase's second number: the last UID used
  std::vector<std::string> keywords;       // declared in X-IMAPbase
};

// Metadata headers for one message, LF line ends. `first` adds X-IMAPbase.
std::string mbox_metadata_headers(std::uint32_t uid, std::uint32_t system_flags,
                                  const std::vector<std::string>& keywords, const MboxFolderState* first);

// The envelope sender Cyrus recorded: the address in the first Return-Path header of `head`
// (the start of the message), or "" when there is none.
std::string envelope_sender_from_header(std::string_view head);

}  // namespace cyrconv
