#pragma once
// `cyrconv convert --format zimbra-tgz`: per user one archive of mail Zimbra's REST import reads
// as it is (`OUT/<user>/zimbra.tgz`, ArchiveFormatter's bare-entry path; `zimbra-000N.tgz` of only
// the new messages on a newer snapshot, converter/zimbra/zimbra_runs.h), one .ics/.vcf file per calendar
// and address book, a zmmailbox command file for what bare entries cannot carry
// (`zimbra-flags.zmm`), and the import script with its expected counts
// (writers/zimbra_import_script.h). Same plan as convert and verify (plan_names.h); users convert
// in parallel, one archive stream each. docs/zimbra.md documents the format and the decisions.
#include <functional>
#include <string>

#include "converter/convert/convert.h"

namespace cyrconv {

ConvertReport run_convert_zimbra(const SourceInputs& inputs, const ConvertOptions& options);

// For tests of a store that moves under the run: called (when set) with each user's name right
// before its folders' records are read again for its decision (`read_again`), and right before
// its archive is made from them (`archive`). Empty: nothing is called.
enum class ZimbraUserStage { read_again, archive };
void set_zimbra_stage_hook(std::function<void(const std::string& owner, ZimbraUserStage stage)> hook);

}  // namespace cyrconv
