#pragma once
// `cyrconv convert --format zimbra-tgz`: per user one archive of mail Zimbra's REST import reads
// as it is (`OUT/<user>/zimbra.tgz`, ArchiveFormatter's bare-entry path; `zimbra-000N.tgz` of only
// the new messages on a newer snapshot, converter/zimbra/zimbra_runs.h), one .ics/.vcf file per calendar
// and address book, a zmmailbox command file for what bare entries cannot carry
// (`zimbra-flags.zmm`), and the import script with its expected counts
// (writers/zimbra_import_script.h). Same plan as convert and verify (plan_names.h); users convert
// in parallel, one archive stream each. docs/zimbra.md documents the format and the decisions.
#include "converter/convert/convert.h"

namespace cyrconv {

ConvertReport run_convert_zimbra(const SourceInputs& inputs, const ConvertOptions& options);

}  // namespace cyrconv
