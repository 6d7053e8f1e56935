#pragma once
// Cyrus stores each CalDAV/CardDAV resource as a one-part message wrapping the iCalendar or
// vCard object (cyrus-on-disk.md 9). These functions take that message's bytes apart.
#include <string>
#include <string_view>
#include <vector>

#include "parsers/bytes.h"
#include "parsers/parse_result.h"

namespace cyrconv {

// The object: the body after the header's blank line. Refuses a transfer encoding other than
// 7bit, 8bit or binary (Cyrus writes 8bit), naming the file.
Result<std::string_view> dav_resource_body(Bytes message, std::string_view file);

struct VCalendarParts {
  std::vector<std::string_view> components;  // BEGIN:VEVENT..END:VEVENT etc., each with its line ends
  std::vector<std::pair<std::string, std::string_view>> timezones;  // TZID -> VTIMEZONE block
};
// Splits one VCALENDAR object into its top-level components; calendar properties are dropped.
Result<VCalendarParts> split_vcalendar(std::string_view object, std::string_view file);

}  // namespace cyrconv
