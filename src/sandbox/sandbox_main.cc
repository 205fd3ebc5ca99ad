// session-sandbox: the built-in stand-in for the Gr4vy REST session API as
// a process of its own (session-gateway also runs it in-process when given
// no --upstream). See sandbox_server.h for the triggers.
#include <cstdio>

#include "absl/flags/flag.h"
#include "common/command_line.h"
#include "common/host_port.h"
#include "common/stop_signals.h"
#include "common/tls_key_pair.h"
#include "sandbox/sandbox_server.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:8080", "host:port to serve HTTP on (port 0: any free port).");
ABSL_FLAG(int, threads, 128, "Worker threads, which bound the connections served at once.");
ABSL_FLAG(std::string, tls_cert_file, "", "PEM certificate chain: serve https.");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key for --tls_cert_file.");

int main(int argc, char** argv) {
  session_gateway::BlockStopSignals();

  session_gateway::CommandLine spec;
  spec.program = "session-sandbox";
  spec.summary =
      "Usage: session-sandbox [--listen=127.0.0.1:8080]\n\n"
      "A stand-in for the Gr4vy REST session API; no real payment service is called.\n"
      "POST /payment-services/{uuid}/sessions and\n"
      "POST /payment-service-definitions/{slug}/sessions answer a CreateSession.\n"
      "Definition ids that rehearse failures: sandbox-fail-<status> (400-599, e.g. sandbox-fail-503),\n"
      "sandbox-slow-<N>ms (0-60000), sandbox-failed-session, sandbox-invalid-json.";
  spec.flags = {{"listen", "SESSION_SANDBOX_LISTEN"},
                {"threads", "SESSION_SANDBOX_THREADS"},
                {"tls_cert_file", "SESSION_SANDBOX_TLS_CERT_FILE"},
                {"tls_key_file", "SESSION_SANDBOX_TLS_KEY_FILE"}};
  session_gateway::ParseCommandLineOrExit(argc, argv, spec);

  absl::StatusOr<session_gateway::HostPort> listen = session_gateway::ParseHostPort(absl::GetFlag(FLAGS_listen));
  if (!listen.ok()) {
    std::fprintf(stderr, "session-sandbox: --listen: %s\n", std::string(listen.status().message()).c_str());
    return 2;
  }
  session_gateway::sandbox::SandboxOptions options;
  options.host = listen->host;
  options.port = listen->port;
  options.threads = absl::GetFlag(FLAGS_threads);
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  if (options.threads < 1) {
    std::fprintf(stderr, "session-sandbox: --threads must be positive\n");
    return 2;
  }
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    std::fprintf(stderr, "session-sandbox: --tls_cert_file and --tls_key_file go together\n");
    return 2;
  }
  if (!options.tls_cert_file.empty()) {
    if (absl::Status s = session_gateway::CheckTlsKeyPair(options.tls_cert_file, options.tls_key_file); !s.ok()) {
      std::fprintf(stderr, "session-sandbox: %s\n", std::string(s.message()).c_str());
      return 2;
    }
  }
  auto sandbox = session_gateway::sandbox::SandboxServer::Start(options);
  if (!sandbox.ok()) {
    std::fprintf(stderr, "session-sandbox: %s\n", std::string(sandbox.status().message()).c_str());
    return 1;
  }
  std::fprintf(stderr, "session-sandbox: a stand-in for the REST API; no real payment service is called\n");
  std::printf("listening on %s:%d\n", options.host.c_str(), (*sandbox)->port());
  std::fflush(stdout);
  session_gateway::WaitForStopSignal();
  return 0;
}
