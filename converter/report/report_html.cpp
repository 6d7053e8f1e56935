#include "converter/report/report_html.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "converter/cli/cli.h"
#include "writers/html_report.h"

namespace cyrconv {

namespace {

std::string utc_time(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

}  // namespace

int run_report_html_command(const ReportHtmlRequest& r, const char* tool_version) {
  std::string out = r.out;
  if (out.empty()) {
    std::filesystem::path p(r.report);
    out = (p.extension() == ".json" ? p.replace_extension(".html") : std::filesystem::path(r.report + ".html")).string();
  }
  struct stat st {};
  if (::stat(r.report.c_str(), &st) != 0) {
    std::cerr << "cyrconv: cannot read " << r.report << "\n";
    return exit_input_unusable;
  }
  HtmlPageInfo info;
  info.tool_version = tool_version;
  info.source = std::filesystem::path(r.report).filename().string();
  info.report_time = "report written " + utc_time(st.st_mtime);
  if (auto err = write_html_report_file(r.report, out, info); !err.empty()) {
    std::cerr << "cyrconv: " << err << "\n";
    return exit_input_unusable;
  }
  std::cout << out << "\n";
  return exit_ok;
}

std::string write_run_html(const std::string& html_file, const std::string& report_file,
                           const std::function<void(std::ostream&)>& write_json, int exit_status,
                           const char* tool_version) {
  HtmlPageInfo info;
  info.tool_version = tool_version;
  info.report_time = utc_time(std::time(nullptr));
  info.exit_status = exit_status;
  if (!report_file.empty()) {
    info.source = std::filesystem::path(report_file).filename().string();
    return write_html_report_file(report_file, html_file, info);
  }
  // No JSON report of the run: one in a scratch file, streamed into the page like a given one.
  const char* dir = std::getenv("TMPDIR");
  std::string scratch = std::string(dir && *dir ? dir : "/tmp") + "/cyrconv-report-XXXXXX";
  const int fd = ::mkstemp(scratch.data());
  if (fd < 0) return "cannot make a scratch file for the report in " + scratch;
  ::close(fd);
  std::string error;
  {
    std::ofstream json(scratch, std::ios::binary | std::ios::trunc);
    write_json(json);
    json.flush();
    if (!json) error = "cannot write the report to the scratch file " + scratch;
  }
  if (error.empty()) error = write_html_report_file(scratch, html_file, info);
  std::error_code ec;
  std::filesystem::remove(scratch, ec);
  return error;
}

}  // namespace cyrconv
