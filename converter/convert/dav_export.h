#pragma once
// Calendars and addressbooks leave as importable files, one per collection: a merged .ics
// (one VCALENDAR holding every event, task and the time zones they use) or a .vcf (the
// vCards one after another).
#include <filesystem>

#include "converter/source/discover.h"
#include "converter/source/inventory.h"
#include "writers/convert_report.h"

namespace cyrconv {

void export_dav_collection(const MailboxRef& mailbox, const MailboxInventory& inventory,
                           const std::filesystem::path& file, ConvertFolder& out, bool sync);

}  // namespace cyrconv
