#pragma once
// `cyrconv convert --format zimbra-tgz`: per user one archive Zimbra's REST import reads as it
// is (`OUT/<user>/zimbra.tgz`, ArchiveFormatter's bare-entry path), plus a zmmailbox command file
// for what bare entries cannot carry (`OUT/<user>/zimbra-flags.zmm`). Same plan as convert and
// verify (plan_names.h); users convert in parallel, one archive stream each. README
// "Zimbra archive" documents the format and the decisions.
#include "converter/convert.h"

namespace cyrconv {

ConvertReport run_convert_zimbra(const SourceInputs& inputs, const ConvertOptions& options);

}  // namespace cyrconv
