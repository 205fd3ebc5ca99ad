// PickUnusedPort() finds a free TCP port on 127.0.0.1 for a program that
// must be told its port up front instead of reporting the one it got.
//
// Prefer --port=0 and reading the port back (the stub upstream prints it)
// where the program supports that: a picked port is free only until
// someone else takes it, so two tests racing for ports can still collide.
// The kernel hands out ephemeral ports in a spread-out order, which makes
// that rare.
//
// Usage:
//
//   int port = PickUnusedPort();
//   ASSERT_GT(port, 0);
//   options.args.push_back(absl::StrCat("--port=", port));

#ifndef SESSION_GATEWAY_TEST_SUPPORT_PORTS_H_
#define SESSION_GATEWAY_TEST_SUPPORT_PORTS_H_

namespace session_gateway {
namespace testing {

// Binds 127.0.0.1:0, reads the port the kernel chose, and closes the
// socket. Returns the port (1-65535), or -1 if no socket could be bound.
int PickUnusedPort();

}  // namespace testing
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_TEST_SUPPORT_PORTS_H_
