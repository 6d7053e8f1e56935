#include <doctest/doctest.h>

#include <tbb/global_control.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "converter/convert/convert.h"
#include "converter/zimbra/zimbra_part_tasks.h"
#include "tests/test_support.h"

using namespace cyrconv;
namespace fs = std::filesystem;

namespace {

// Entries of text and of noise, some larger than a scratch file's memory buffer.
WriteStatus fill(ZimbraArchive& a) {
  std::uint32_t v = 777;
  for (int i = 0; i < 60; ++i) {
    std::string body(2000 + static_cast<std::size_t>(i % 9) * 45000, ' ');
    for (std::size_t k = 0; k < body.size(); ++k)
      body[k] = i % 4 == 1 ? static_cast<char>((v = v * 1103515245u + 12345u) >> 24) : "From: a@b\r\nhello\r\n"[k % 18];
    WriteStatus st = a.begin(TarEntry{"Inbox/" + std::to_string(i) + ".eml", body.size(), 1600000000 + i, 0600});
    if (st) st = a.write(body);
    if (st) st = a.end();
    if (!st) return st;
  }
  return {};
}

// Every .tgz under `root` by its path relative to it, with its bytes.
std::vector<std::pair<std::string, std::string>> archives(const fs::path& root) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file() && e.path().extension() == ".tgz")
      out.emplace_back(fs::relative(e.path(), root).string(), test::read_file(e.path()));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("zimbra part tasks: at most as many parts handed out as the run has threads, and staging only where it helps") {
  tbb::global_control two(tbb::global_control::max_allowed_parallelism, 2);
  tbb::task_arena arena(2);
  arena.execute([] {
    ZimbraPartPool pool;
    REQUIRE(pool.threads() == 2);
    CHECK(pool.take());
    CHECK(pool.take());
    CHECK_FALSE(pool.take());  // the third part is compressed by the thread that wrote it
    pool.give_back();
    CHECK(pool.take());
    pool.give_back();
    pool.give_back();

    ZimbraPartTasks tasks(&pool);
    const std::uint64_t part = 1024 * 1024;
    const PartStaging one = zimbra_part_staging(tasks, &pool, part / 2, part);
    CHECK(one.compressor == &tasks);
    CHECK_FALSE(one.first);  // expected to fit one part: streamed, as before
    const PartStaging many = zimbra_part_staging(tasks, &pool, 3 * part, part);
    CHECK(many.compressor == &tasks);
    CHECK(many.first);
    CHECK(zimbra_part_staging(tasks, nullptr, 3 * part, part).compressor == nullptr);
  });
  tbb::task_arena single(1);
  single.execute([] {
    ZimbraPartPool pool;
    CHECK(pool.threads() == 1);
    ZimbraPartTasks tasks(&pool);
    CHECK(zimbra_part_staging(tasks, &pool, 100 * 1024 * 1024, 1024 * 1024).compressor == nullptr);
  });
}

TEST_CASE("zimbra part tasks: parts compressed on two threads equal a streamed archive byte for byte") {
  test::TempDir streamed, parallel;
  const std::uint64_t limit = 512 * 1024;
  ZimbraArchive a;
  REQUIRE(a.open(streamed.path, [](unsigned p) { return "p" + std::to_string(p) + ".tgz"; }, limit));
  REQUIRE(fill(a));
  REQUIRE(a.commit(false));
  REQUIRE(a.parts() >= 4);

  tbb::global_control two(tbb::global_control::max_allowed_parallelism, 2);
  tbb::task_arena arena(2);
  unsigned parts = 0;
  arena.execute([&] {
    tbb::this_task_arena::isolate([&] {
      ZimbraPartPool pool;
      ZimbraPartTasks tasks(&pool);
      ZimbraArchive b;
      REQUIRE(b.open(parallel.path, [](unsigned p) { return "p" + std::to_string(p) + ".tgz"; }, limit,
                     PartStaging{&tasks, true}));
      REQUIRE(fill(b));
      REQUIRE(b.commit(false));
      parts = b.parts();
    });
  });
  CHECK(parts == a.parts());
  const auto want = archives(streamed.path), got = archives(parallel.path);
  REQUIRE(got.size() == want.size());
  for (std::size_t k = 0; k < want.size(); ++k) {
    CAPTURE(want[k].first);
    CHECK(got[k].first == want[k].first);
    CHECK(got[k].second == want[k].second);
  }
}

TEST_CASE("convert zimbra-tgz: archives in parts made with two threads equal those made with one, byte for byte") {
  test::TempDir tmp;
  SourceInputs in;
  in.partitions.emplace_back("default", test::fixtures_dir() / "cyrus36-default" / "spool");
  std::vector<std::pair<std::string, std::string>> made[2];
  for (int threads : {1, 2}) {
    ConvertOptions opt;
    opt.format = OutputFormat::zimbra_tgz;
    opt.profile = NamingProfile::zimbra;
    opt.out = tmp.path / ("out" + std::to_string(threads));
    opt.sync = SyncPolicy::none;
    opt.quiet = true;
    opt.threads = threads;
    opt.zimbra_part_size = 64 * 1024;  // the CLI's least: the fixture's largest archive in several parts
    const ConvertReport r = run_convert(in, opt);
    REQUIRE(r.errors == 0);
    made[threads - 1] = archives(opt.out);
  }
  REQUIRE(made[0].size() > 3);
  CHECK(std::any_of(made[0].begin(), made[0].end(), [](const auto& f) { return f.first.find("-part003.tgz") != std::string::npos; }));
  REQUIRE(made[1].size() == made[0].size());
  for (std::size_t k = 0; k < made[0].size(); ++k) {
    CAPTURE(made[0][k].first);
    CHECK(made[1][k].first == made[0][k].first);
    CHECK(made[1][k].second == made[0][k].second);
  }
}
