#pragma once
// Maildir++ quota file `maildirsize` (Courier's quota spec, read by Dovecot's quota plugin with
// the maildir backend): the limits line "<bytes>S,<count>C" (a part left out when unlimited),
// then one "<bytes> <count>" line of usage.
#include <cstdint>
#include <optional>
#include <string>

namespace cyrconv {

std::string maildirsize(std::optional<std::uint64_t> limit_bytes, std::optional<std::uint64_t> limit_messages,
                        std::uint64_t used_bytes, std::uint64_t used_messages);

}  // namespace cyrconv
