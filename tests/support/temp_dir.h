#pragma once
// A fresh directory under $TMPDIR (or /tmp) for one test, removed with everything in it when the
// object is destroyed, so tests never share or leak files.

#include <string>
#include <string_view>

namespace switchyard::support {

class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "switchyard-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name; does not create anything.
  std::string file(std::string_view name) const;
  // Writes (truncates) path()/name and returns its full path. Aborts the test on failure via an
  // exception: a test that cannot write its own temp files has nothing to say.
  std::string writeFile(std::string_view name, std::string_view contents) const;
  // Reads path()/name whole; empty when it does not exist.
  std::string readFile(std::string_view name) const;

 private:
  std::string path_;
};

}  // namespace switchyard::support
