#include "common/read_file.h"

#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"

namespace session_gateway {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  // stdio rather than std::ifstream: a directory "opens" as a stream and
  // then reads as empty, where fread reports the error (EISDIR).
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (file == nullptr) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::string contents;
  char buffer[16384];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file.get())) > 0) contents.append(buffer, n);
  if (std::ferror(file.get())) return absl::InternalError(absl::StrCat("cannot read ", path));
  return contents;
}

}  // namespace session_gateway
