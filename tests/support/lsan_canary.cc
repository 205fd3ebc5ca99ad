// A program that leaks on purpose. scripts/sanitize.sh runs it with the
// sanitizer suite's own options and fails unless LeakSanitizer reports the
// leak: a suite that "passes" with leak detection silently off proves
// nothing about leaks.
#include <cstdio>
#include <cstdlib>
#include <cstring>

int main() {
  // volatile: the optimizer must not drop the allocation or keep the
  // pointer anywhere LeakSanitizer would count as reachable.
  void* volatile block = std::malloc(4096);
  std::memset(block, 0x5a, 4096);
  block = nullptr;
  std::puts("lsan_canary: leaked 4096 bytes on purpose");
  return 0;
}
