// PublishedDir (io/published_dir.h): a directory appears whole or not at all; the previous output
// survives every failed or unfinished write; one writer at a time, the others fail with a message
// naming the holder; leftovers of a killed writer are cleaned up (or put back) by the next one.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/base/error.h"
#include "io/published_dir.h"
#include "tests/support/error_of.h"
#include "tests/support/temp_dir.h"

namespace seqmend {
namespace {

namespace fs = std::filesystem;

struct Scratch {
  test::TempDir dir{"seqmend_publish"};
  fs::path root = dir.path();
};

void put(const fs::path& file, const std::string& text) { std::ofstream(file) << text; }

std::string get(const fs::path& file) {
  std::ifstream f(file);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Entries of `dir` other than the lock files.
std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string f = e.path().filename().string();
    if (f.size() < 5 || f.substr(f.size() - 5) != ".lock") out.push_back(f);
  }
  std::sort(out.begin(), out.end());
  return out;
}

PublishOptions quick(bool overwrite = false) {
  PublishOptions o;
  o.overwrite = overwrite;
  o.fsync = false;
  o.what = "test";
  return o;
}

using test::error_of;

TEST(PublishedDir, AppearsOnlyOnCommitAndLeavesNothingElse) {
  Scratch s;
  const fs::path out = s.root / "set";
  {
    PublishedDir d(out.string(), quick());
    put(fs::path(d.path()) / "a.txt", "new");
    EXPECT_FALSE(fs::exists(out)) << "nothing at DIR before the commit";
    d.commit();
  }
  EXPECT_EQ(get(out / "a.txt"), "new");
  EXPECT_EQ(entries(s.root), (std::vector<std::string>{"set"}));
  {
    PublishedDir d((s.root / "unfinished/").string(), quick());  // a trailing slash names the same
    EXPECT_EQ(d.dir(), (s.root / "unfinished").string());
    put(fs::path(d.path()) / "a.txt", "half");
  }  // an error unwinds: the temporary tree goes, DIR never appears
  EXPECT_EQ(entries(s.root), (std::vector<std::string>{"set"}));
  // An empty directory (made by the user beforehand) is simply replaced.
  fs::create_directories(s.root / "empty");
  {
    PublishedDir d((s.root / "empty").string(), quick());
    put(fs::path(d.path()) / "b.txt", "b");
    d.commit();
  }
  EXPECT_EQ(get(s.root / "empty" / "b.txt"), "b");
}

TEST(PublishedDir, ThePreviousOutputStaysWholeUntilTheNewOneIsComplete) {
  Scratch s;
  const fs::path out = s.root / "set";
  fs::create_directories(out);
  put(out / "old.txt", "old");
  const std::string refused = error_of([&] { PublishedDir d(out.string(), quick()); });
  EXPECT_NE(refused.find("is not empty"), std::string::npos) << refused;
  {
    PublishedDir d(out.string(), quick(true));
    put(fs::path(d.path()) / "new.txt", "new");
    EXPECT_EQ(get(out / "old.txt"), "old") << "overwrite keeps the old output until the commit";
  }  // the new write failed
  EXPECT_EQ(entries(out), (std::vector<std::string>{"old.txt"}));
  {
    PublishedDir d(out.string(), quick(true));
    put(fs::path(d.path()) / "new.txt", "new");
    d.commit();
  }
  EXPECT_EQ(entries(out), (std::vector<std::string>{"new.txt"})) << "nothing of the old tree is mixed in";
  EXPECT_EQ(entries(s.root), (std::vector<std::string>{"set"}));
  fs::remove_all(out);
  put(out, "a file");
  EXPECT_NE(error_of([&] { PublishedDir d(out.string(), quick(true)); }).find("is not a directory"),
            std::string::npos);
}

TEST(PublishedDir, OneWriterAtATimeAndTheOtherIsToldWho) {
  Scratch s;
  const fs::path out = s.root / "set";
  PublishedDir first(out.string(), quick());
  const std::string second = error_of([&] { PublishedDir d(out.string(), quick(true)); });
  EXPECT_NE(second.find("is being written by pid " + std::to_string(getpid())), std::string::npos) << second;
  EXPECT_TRUE(fs::exists(first.path())) << "the refused writer removed nothing";
}

TEST(PublishedDir, AKilledWritersLeftoversAreCleanedUpOrPutBack) {
  Scratch s;
  const fs::path out = s.root / "set";
  // A writer killed mid-write (no destructor runs): its temporary tree stays behind.
  const pid_t pid = fork();
  if (pid == 0) {
    PublishedDir d(out.string(), quick());
    put(fs::path(d.path()) / "half.txt", "half");
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  ASSERT_EQ(entries(s.root).size(), 1u);
  EXPECT_EQ(entries(s.root)[0].rfind(".set.tmp-", 0), 0u);
  {
    PublishedDir d(out.string(), quick());
    EXPECT_EQ(entries(s.root).size(), 1u) << "only this writer's own temporary tree";
  }
  EXPECT_TRUE(entries(s.root).empty());
  // A writer killed between moving the old output aside and renaming the new one into place.
  fs::create_directories(s.root / ".set.old-1-0");
  put(s.root / ".set.old-1-0" / "old.txt", "old");
  {
    PublishedDir d(out.string(), quick(true));
    EXPECT_EQ(get(out / "old.txt"), "old") << "put back before anything else";
  }
  EXPECT_EQ(entries(s.root), (std::vector<std::string>{"set"}));
}

// Eight processes publish the same directory at once, twenty times: exactly one wins, every loser
// fails with one of the two messages, and the directory holds the winner's files whole.
TEST(PublishedDir, RacingWritersExactlyOneWins) {
  Scratch s;
  for (int trial = 0; trial < 20; ++trial) {
    const fs::path out = s.root / ("set" + std::to_string(trial));
    std::vector<pid_t> kids;
    int go[2];
    ASSERT_EQ(pipe(go), 0);
    for (int k = 0; k < 8; ++k) {
      const pid_t pid = fork();
      if (pid == 0) {
        close(go[1]);
        char c;
        (void)!read(go[0], &c, 1);  // all start together
        try {
          PublishedDir d(out.string(), quick());
          for (int f = 0; f < 5; ++f) put(fs::path(d.path()) / ("f" + std::to_string(f)), std::to_string(k));
          d.commit();
          _exit(0);
        } catch (const Error& e) {
          const std::string m = e.what();
          _exit(m.find("is being written by") != std::string::npos || m.find("is not empty") != std::string::npos ? 1
                                                                                                                   : 2);
        }
      }
      kids.push_back(pid);
    }
    close(go[0]);
    close(go[1]);  // EOF releases every child at once
    int won = -1, wins = 0;
    for (size_t k = 0; k < kids.size(); ++k) {
      int st = 0;
      waitpid(kids[k], &st, 0);
      ASSERT_TRUE(WIFEXITED(st)) << "trial " << trial;
      ASSERT_NE(WEXITSTATUS(st), 2) << "a loser failed with an unexpected message, trial " << trial;
      if (WEXITSTATUS(st) == 0) ++wins, won = int(k);
    }
    ASSERT_EQ(wins, 1) << "trial " << trial;
    for (int f = 0; f < 5; ++f) EXPECT_EQ(get(out / ("f" + std::to_string(f))), std::to_string(won));
  }
  for (const std::string& e : entries(s.root)) EXPECT_EQ(e.rfind("set", 0), 0u) << "leftover " << e;
}

}  // namespace
}  // namespace seqmend
