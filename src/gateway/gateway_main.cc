// session-gateway: serves Gr4vy's REST payment service session API over
// gRPC. main() only turns flags into options; see gateway_server.h.
#include <algorithm>
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/command_line.h"
#include "common/executor.h"
#include "common/header_value.h"
#include "common/host_port.h"
#include "common/read_file.h"
#include "common/reload_signal.h"
#include "common/stop_signals.h"
#include "common/tls_key_pair.h"
#include "common/upstream_url.h"
#include "gateway/call_log.h"
#include "gateway/gateway_metrics.h"
#include "gateway/gateway_server.h"
#include "gateway/metrics_endpoint.h"
#include "gateway/server_credentials.h"
#include "google/protobuf/descriptor.h"
#include "sandbox/sandbox_server.h"
#include "upstream/curl_http_client.h"
#include "upstream/jwt_signer.h"
#include "upstream/reloadable_token_source.h"
#include "upstream/token_source.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "host:port or [ipv6]:port to serve gRPC on (port 0: any free port); a port in use is refused.");
ABSL_FLAG(std::string, upstream, "",
          "Base URL of the REST API (http or https, with a host and optionally a path; no query, "
          "fragment or user:password@), e.g. https://api.sandbox.acme.gr4vy.app. "
          "Empty (and no --instance_id): use the built-in sandbox upstream.");
ABSL_FLAG(std::string, instance_id, "",
          "Gr4vy instance id; with --environment, sets --upstream to the instance's API.");
ABSL_FLAG(std::string, environment, "sandbox", "sandbox or production, used with --instance_id.");
ABSL_FLAG(std::string, private_key_file, "",
          "PKCS#8 PEM EC P-521 API key: sign ES512 JWTs for upstream requests (see --jwt_lifetime).");
ABSL_FLAG(std::string, bearer_token_file, "",
          "File holding a static bearer token for the upstream (else env GR4VY_BEARER_TOKEN).");
ABSL_FLAG(std::string, jwt_scopes, "",
          "Comma-separated scopes for every signed JWT, overriding the per-call default. Empty: "
          "each call's JWT carries exactly the scopes its REST operation requires, as declared "
          "in the proto (transactions.write for both RPCs).");
ABSL_FLAG(absl::Duration, jwt_lifetime, absl::Seconds(60),
          "Lifetime of each signed JWT. A token is reused by calls needing the same scopes for the "
          "first half of it, then replaced in the background.");
ABSL_FLAG(std::string, merchant_account_id, "",
          "Default x-gr4vy-merchant-account-id when neither the request nor the caller gives one.");
ABSL_FLAG(absl::Duration, upstream_timeout, absl::Seconds(30),
          "Longest time for an upstream exchange, retries included.");
ABSL_FLAG(bool, retry_on_status, false,
          "Retry 429, 500, 502, 503 and 504 answers (a retried POST may create a second session).");
ABSL_FLAG(int, max_attempts, 3, "Most upstream attempts per call, for any kind of retry.");
ABSL_FLAG(absl::Duration, initial_backoff, absl::Milliseconds(500), "Backoff before the first retry.");
ABSL_FLAG(double, backoff_multiplier, 1.5, "Growth factor of the backoff.");
ABSL_FLAG(absl::Duration, max_backoff, absl::Seconds(10), "Longest backoff between attempts.");
ABSL_FLAG(int, max_request_bytes, 4 << 20, "Largest gRPC request accepted, in bytes.");
ABSL_FLAG(int, max_json_depth, 100,
          "Deepest JSON nesting accepted in request bodies and upstream responses.");
ABSL_FLAG(int64_t, max_response_bytes, int64_t{16} << 20, "Largest upstream response accepted, in bytes.");
ABSL_FLAG(std::string, upstream_ca_file, "", "Extra PEM CA bundle trusted for an https upstream.");
// 1024 as Envoy's circuit breakers: an HTTP/1.1 connection carries one
// request at a time, so this is also how many HTTP/1.1 requests can be in
// flight (2,000 calls to a 500 ms upstream took 17.4 s at the former 64).
ABSL_FLAG(int, max_upstream_connections, 1024,
          "Most upstream connections open at once, over all event loops.");
ABSL_FLAG(int, upstream_event_loops, 0,
          "Threads driving upstream HTTP exchanges; 0: one per CPU.");
// In flight: 2,048, the upstream connections plus the calls allowed to wait
// for one (1,024 each, Envoy's defaults for max_requests and
// max_pending), so that the default limits admit every call the pool can
// serve or queue; 2,000 calls in flight to a 500 ms upstream all succeed
// (bench/inflight.sh), and a 20,000-call burst stays under 256 MiB
// (bench/overload.sh).
ABSL_FLAG(int, max_calls_in_flight, 2048,
          "Most calls admitted at once; more are shed with UNAVAILABLE (overloaded).");
ABSL_FLAG(int, max_calls_waiting, 1024,
          "Most admitted calls waiting for an upstream connection; more are shed with UNAVAILABLE.");
ABSL_FLAG(session_gateway::gateway::LogFormat, log_format, session_gateway::gateway::LogFormat::kText,
          "Call log format: text (one key=value line per call) or json (one object per line).");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "On SIGTERM/SIGINT, how long calls in flight may take to finish; a second signal exits at once "
          "with status 1.");
ABSL_FLAG(std::string, tls_cert_file, "", "PEM certificate chain: serve gRPC over TLS.");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key for --tls_cert_file.");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CA bundle: with TLS, require every caller to present a certificate signed by it "
          "(mutual TLS).");
ABSL_FLAG(absl::Duration, tls_reload_interval, absl::Seconds(60),
          "How often --tls_cert_file, --tls_key_file and --tls_client_ca_file are re-read, so that "
          "rotated files are served without a restart (1s to 24h).");
ABSL_FLAG(std::string, metrics_listen, "",
          "host:port to serve Prometheus metrics on at GET /metrics (port 0: any free port). "
          "Empty: no metrics endpoint.");
ABSL_FLAG(bool, log_calls, true, "Log one line per call to stderr.");

namespace {

using session_gateway::CommandLine;

[[noreturn]] void UsageError(const std::string& message) {
  std::fprintf(stderr, "session-gateway: %s\n", message.c_str());
  std::exit(2);
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& path) {
  absl::StatusOr<std::string> contents = session_gateway::ReadFile(path);
  if (!contents.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--bearer_token_file: ", contents.status().message()));
  }
  return std::string(absl::StripAsciiWhitespace(*contents));
}

// A token goes into an HTTP header line.
absl::Status CheckBearerToken(const std::string& token) {
  if (session_gateway::ContainsCrLfNul(token)) {
    return absl::InvalidArgumentError("the bearer token must not contain CR, LF or NUL");
  }
  return absl::OkStatus();
}

CommandLine Spec() {
  CommandLine spec;
  spec.program = "session-gateway";
  spec.summary =
      "Usage: session-gateway [flags]\n\n"
      "Serves gr4vy.sessions.v1.SessionService over gRPC (with server reflection and\n"
      "grpc.health.v1.Health) and forwards each call to the Gr4vy REST API.\n"
      "Every flag can also be set with the environment variable shown.";
  for (const char* name :
       {"listen", "upstream", "instance_id", "environment", "private_key_file", "bearer_token_file",
        "jwt_scopes", "jwt_lifetime", "merchant_account_id", "upstream_timeout", "retry_on_status",
        "max_attempts", "initial_backoff", "backoff_multiplier", "max_backoff", "max_request_bytes",
        "max_json_depth",
        "max_response_bytes", "upstream_ca_file", "max_upstream_connections", "shutdown_grace",
        "upstream_event_loops", "max_calls_in_flight", "max_calls_waiting",
        "tls_cert_file", "tls_key_file", "tls_client_ca_file", "tls_reload_interval", "metrics_listen",
        "log_calls", "log_format"}) {
    spec.flags.push_back({name, absl::StrCat("SESSION_GATEWAY_", absl::AsciiStrToUpper(name))});
  }
  return spec;
}

std::string UpstreamBase() {
  std::string upstream = absl::GetFlag(FLAGS_upstream);
  const std::string instance = absl::GetFlag(FLAGS_instance_id);
  const std::string environment = absl::GetFlag(FLAGS_environment);
  if (environment != "sandbox" && environment != "production") {
    UsageError("--environment must be sandbox or production");
  }
  if (!instance.empty()) {
    if (!upstream.empty()) UsageError("give --upstream or --instance_id, not both");
    for (char c : instance) {
      if (!absl::ascii_isalnum(c) && c != '-') UsageError("--instance_id must be letters, digits and '-'");
    }
    upstream = environment == "sandbox" ? absl::StrCat("https://api.sandbox.", instance, ".gr4vy.app")
                                        : absl::StrCat("https://api.", instance, ".gr4vy.app");
  }
  if (upstream.empty()) return upstream;  // The built-in sandbox.
  // Messages never quote the URL: it may carry a password.
  absl::StatusOr<std::string> base = session_gateway::ParseUpstreamBase(upstream);
  if (!base.ok()) UsageError(absl::StrCat("--upstream: ", base.status().message()));
  return *std::move(base);
}

// The flags that say where to serve, checked before anything starts so
// that a mistake is a usage error rather than a server that cannot work.
void CheckServingFlags(const session_gateway::gateway::GatewayOptions& options) {
  if (absl::StatusOr<session_gateway::HostPort> listen = session_gateway::ParseHostPort(options.listen);
      !listen.ok()) {
    UsageError(absl::StrCat("--listen: ", listen.status().message()));
  }
  // The flags' shape as the server checks it, then the files' contents.
  if (absl::Status tls = session_gateway::gateway::CheckServerTlsOptions(
          {options.tls_cert_file, options.tls_key_file, options.tls_client_ca_file, options.tls_reload_interval});
      !tls.ok()) {
    UsageError(std::string(tls.message()));
  }
  if (!options.tls_cert_file.empty()) {
    absl::Status pair = session_gateway::CheckTlsKeyPair(options.tls_cert_file, options.tls_key_file);
    if (!pair.ok()) UsageError(std::string(pair.message()));
  }
  if (!options.tls_client_ca_file.empty()) {
    absl::Status ca = session_gateway::CheckTlsClientCaFile(options.tls_client_ca_file);
    if (!ca.ok()) UsageError(std::string(ca.message()));
  }
  if (const std::string metrics_listen = absl::GetFlag(FLAGS_metrics_listen); !metrics_listen.empty()) {
    auto address = session_gateway::gateway::MetricsEndpoint::ParseAddress(metrics_listen);
    if (!address.ok()) UsageError(std::string(address.status().message()));
  }
}

// The token source the credential files describe; errors name the flag and
// hold no secret. Run at start-up and again on every SIGHUP. Signed tokens
// are cached (see CachingTokenSource) and refreshed on `refresher`.
absl::StatusOr<std::unique_ptr<session_gateway::upstream::TokenSource>> LoadFileCredentials(
    const std::string& key_file, const std::string& token_file, session_gateway::Executor* refresher) {
  using namespace session_gateway::upstream;
  if (!key_file.empty()) {
    JwtOptions options;
    options.issuer = absl::StrCat("session-gateway/", session_gateway::ProjectVersion());
    options.lifetime = absl::GetFlag(FLAGS_jwt_lifetime);
    auto signer = JwtSigner::FromFile(key_file, options);
    if (!signer.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--private_key_file: ", signer.status().message()));
    }
    // One token per scope list, reused for half its lifetime: a P-521
    // signature per call would cost about 200 us of CPU each.
    std::unique_ptr<TokenSource> tokens = std::make_unique<CachingTokenSource>(
        std::make_unique<JwtTokenSource>(*std::move(signer)), options.lifetime, refresher);
    std::vector<std::string> scopes = absl::StrSplit(absl::GetFlag(FLAGS_jwt_scopes), ',', absl::SkipEmpty());
    for (std::string& scope : scopes) scope = std::string(absl::StripAsciiWhitespace(scope));
    if (scopes.empty()) return tokens;  // Each call's own scopes.
    return std::make_unique<FixedScopesTokenSource>(std::move(tokens), std::move(scopes));
  }
  absl::StatusOr<std::string> token = ReadSecretFile(token_file);
  if (!token.ok()) return token.status();
  if (token->empty()) return absl::InvalidArgumentError(absl::StrCat("--bearer_token_file: ", token_file, " is empty"));
  if (absl::Status s = CheckBearerToken(*token); !s.ok()) return s;
  return std::make_unique<StaticTokenSource>(*std::move(token));
}

// The upstream credentials from the flags, or null for none. Those read
// from a file come wrapped in a ReloadableTokenSource, returned in
// `reloadable` too, for SIGHUP to re-read.
std::unique_ptr<session_gateway::upstream::TokenSource> Credentials(
    session_gateway::Executor* refresher, session_gateway::upstream::ReloadableTokenSource** reloadable) {
  using namespace session_gateway::upstream;
  *reloadable = nullptr;
  const std::string key_file = absl::GetFlag(FLAGS_private_key_file);
  const std::string token_file = absl::GetFlag(FLAGS_bearer_token_file);
  if (!key_file.empty() && !token_file.empty()) {
    UsageError("give --private_key_file or --bearer_token_file, not both");
  }
  if (!key_file.empty() || !token_file.empty()) {
    auto tokens = ReloadableTokenSource::Create(
        [key_file, token_file, refresher] { return LoadFileCredentials(key_file, token_file, refresher); });
    if (!tokens.ok()) UsageError(std::string(tokens.status().message()));
    *reloadable = tokens->get();
    return *std::move(tokens);
  }
  // The environment cannot change under a running process: nothing to
  // reload.
  const char* env = std::getenv("GR4VY_BEARER_TOKEN");
  const std::string token = env == nullptr ? "" : std::string(absl::StripAsciiWhitespace(env));
  if (token.empty()) return nullptr;
  if (absl::Status s = CheckBearerToken(token); !s.ok()) UsageError(std::string(s.message()));
  return std::make_unique<StaticTokenSource>(token);
}

// Re-reads the credential files on SIGHUP; one line on stderr either way,
// naming the flag but never a secret.
void ReloadCredentials(session_gateway::upstream::ReloadableTokenSource* tokens) {
  if (tokens == nullptr) {
    std::fprintf(stderr,
                 "session-gateway: SIGHUP: no --private_key_file or --bearer_token_file to re-read\n");
    return;
  }
  absl::Status reloaded = tokens->Reload();
  if (reloaded.ok()) {
    std::fprintf(stderr, "session-gateway: SIGHUP: upstream credentials re-read\n");
  } else {
    std::fprintf(stderr, "session-gateway: SIGHUP: keeping the previous upstream credentials: %s\n",
                 std::string(reloaded.message()).c_str());
  }
}

// The metrics' label values: the short names of SessionService's RPCs, as
// the call log prints them.
std::vector<std::string> SessionServiceMethods() {
  std::vector<std::string> methods;
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName("gr4vy.sessions.v1.SessionService");
  for (int i = 0; service != nullptr && i < service->method_count(); ++i) {
    methods.push_back(service->method(i)->name());
  }
  return methods;
}

}  // namespace

int main(int argc, char** argv) {
#ifdef NDEBUG
  // Debian's abseil is built with mutex deadlock detection on, which keeps
  // a lock graph on every Mutex acquisition: about 2% of the gateway's CPU
  // under load. Release builds (NDEBUG: the default RelWithDebInfo preset,
  // release) turn it off; Debug and sanitizer builds keep it, so the test
  // suite there still catches lock-order inversions.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
  session_gateway::BlockStopSignals();
  session_gateway::BlockReloadSignal();

  session_gateway::ParseCommandLineOrExit(argc, argv, Spec());

  session_gateway::gateway::GatewayOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.max_request_bytes = absl::GetFlag(FLAGS_max_request_bytes);
  options.shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace);
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key_file);
  options.tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  options.tls_reload_interval = absl::GetFlag(FLAGS_tls_reload_interval);
  CheckServingFlags(options);
  auto& fw = options.forwarder;
  fw.upstream_base = UpstreamBase();
  fw.upstream_timeout = absl::GetFlag(FLAGS_upstream_timeout);
  fw.user_agent = absl::StrCat("session-gateway/", session_gateway::ProjectVersion());
  fw.log_calls = absl::GetFlag(FLAGS_log_calls);
  fw.log_format = absl::GetFlag(FLAGS_log_format);
  fw.admission.max_calls_in_flight = absl::GetFlag(FLAGS_max_calls_in_flight);
  fw.admission.max_calls_waiting = absl::GetFlag(FLAGS_max_calls_waiting);
  fw.max_json_depth = absl::GetFlag(FLAGS_max_json_depth);
  if (fw.max_json_depth < 2 || fw.max_json_depth > 1000) UsageError("--max_json_depth must be 2 to 1000");
  if (!absl::GetFlag(FLAGS_merchant_account_id).empty()) {
    fw.default_headers["x-gr4vy-merchant-account-id"] = absl::GetFlag(FLAGS_merchant_account_id);
  }
  fw.retry.retry_on_status = absl::GetFlag(FLAGS_retry_on_status);
  fw.retry.max_attempts = absl::GetFlag(FLAGS_max_attempts);
  fw.retry.initial_backoff = absl::GetFlag(FLAGS_initial_backoff);
  fw.retry.multiplier = absl::GetFlag(FLAGS_backoff_multiplier);
  fw.retry.max_backoff = absl::GetFlag(FLAGS_max_backoff);
  session_gateway::upstream::CurlHttpClient::Options http_options;
  http_options.max_response_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_max_response_bytes));
  http_options.ca_file = absl::GetFlag(FLAGS_upstream_ca_file);
  http_options.max_connections = absl::GetFlag(FLAGS_max_upstream_connections);
  http_options.event_loops = absl::GetFlag(FLAGS_upstream_event_loops);

  if (fw.upstream_timeout <= absl::ZeroDuration()) UsageError("--upstream_timeout must be positive");
  if (fw.retry.max_attempts < 1 || fw.retry.max_attempts > 10) UsageError("--max_attempts must be 1 to 10");
  if (fw.retry.initial_backoff < absl::ZeroDuration() || fw.retry.max_backoff < fw.retry.initial_backoff) {
    UsageError("--initial_backoff must be >= 0 and <= --max_backoff");
  }
  if (fw.retry.multiplier < 1.0) UsageError("--backoff_multiplier must be at least 1");
  if (options.max_request_bytes < 1) UsageError("--max_request_bytes must be positive");
  if (absl::GetFlag(FLAGS_max_response_bytes) < 1) UsageError("--max_response_bytes must be positive");
  if (http_options.max_connections < 1) UsageError("--max_upstream_connections must be positive");
  if (http_options.event_loops < 0 || http_options.event_loops > 256) {
    UsageError("--upstream_event_loops must be 0 (one per CPU) to 256");
  }
  if (fw.admission.max_calls_in_flight < 1) UsageError("--max_calls_in_flight must be positive");
  if (fw.admission.max_calls_waiting < 1) UsageError("--max_calls_waiting must be positive");
  if (options.shutdown_grace < absl::ZeroDuration()) UsageError("--shutdown_grace must not be negative");

  // No upstream given: run the sandbox in-process on a loopback port, so
  // the gateway still goes through its real HTTP client.
  std::unique_ptr<session_gateway::sandbox::SandboxServer> sandbox;
  if (fw.upstream_base.empty()) {
    auto started = session_gateway::sandbox::SandboxServer::Start({});
    if (!started.ok()) {
      std::fprintf(stderr, "session-gateway: %s\n", std::string(started.status().message()).c_str());
      return 1;
    }
    sandbox = *std::move(started);
    // The sandbox serves one connection per thread: more would queue.
    http_options.max_connections =
        std::min(http_options.max_connections, session_gateway::sandbox::SandboxOptions{}.threads);
    fw.upstream_base = sandbox->base_url();
    std::fprintf(stderr,
                 "session-gateway: no --upstream given: using the built-in SANDBOX upstream at %s.\n"
                 "session-gateway: SANDBOX MODE: no real payment service is called. Definition ids\n"
                 "session-gateway: sandbox-fail-<400-599>, sandbox-slow-<0-60000>ms, sandbox-failed-session\n"
                 "session-gateway: and sandbox-invalid-json rehearse failures.\n",
                 fw.upstream_base.c_str());
  }
  // Responses are decoded and calls finished on this pool, not on the HTTP
  // client's event loops (shared by every exchange: decoding a 1 MiB
  // response takes 1.3 to 62 ms, which every other exchange on the loop
  // would wait for; and even small answers decoded there cost more CPU per
  // call, see bench/RESULTS.md). One thread per usable CPU at most, started
  // when work comes. Not gRPC's own executor threads: measured with a
  // 20,000-call burst, our tasks there delayed health checks by up to
  // 1.3 s. It also refreshes tokens. Declared before the HTTP client, so
  // that it outlives the client's last callbacks.
  session_gateway::ThreadPoolExecutor executor(session_gateway::ThreadPoolExecutor::DefaultThreads());
  session_gateway::upstream::ReloadableTokenSource* reloadable_tokens = nullptr;
  std::unique_ptr<session_gateway::upstream::TokenSource> tokens = Credentials(&executor, &reloadable_tokens);
  if (tokens == nullptr && sandbox == nullptr) {
    // Still start: callers may send their own authorization metadata.
    std::fprintf(stderr,
                 "session-gateway: warning: no upstream credentials (--private_key_file, "
                 "--bearer_token_file or GR4VY_BEARER_TOKEN): calls without their own authorization "
                 "metadata will be refused upstream\n");
  }
  // Calls wait for a connection once the pool's connections are all busy
  // (exact for HTTP/1.1; see admission_control.h).
  fw.admission.upstream_connections = http_options.max_connections;
  auto http = session_gateway::upstream::CurlHttpClient::Create(http_options);
  if (!http.ok()) {
    std::fprintf(stderr, "session-gateway: %s\n", std::string(http.status().message()).c_str());
    return 1;
  }
  // Metrics before the server: a refused --metrics_listen must stop the
  // start before the gateway says it listens. Declared after the HTTP
  // client, so that the endpoint stops serving scrapes, which read the
  // client's connection count, before the client goes.
  std::unique_ptr<session_gateway::gateway::GatewayMetrics> metrics;
  std::unique_ptr<session_gateway::gateway::MetricsEndpoint> metrics_endpoint;
  if (const std::string metrics_listen = absl::GetFlag(FLAGS_metrics_listen); !metrics_listen.empty()) {
    metrics = std::make_unique<session_gateway::gateway::GatewayMetrics>(SessionServiceMethods());
    // Sampled when scraped: libcurl reports connections only as a count.
    metrics->SetUpstreamConnectionsSource([client = http->get()] { return client->stats().open_connections; });
    auto endpoint = session_gateway::gateway::MetricsEndpoint::Start(metrics_listen, metrics->collectable());
    if (!endpoint.ok()) {
      std::fprintf(stderr, "session-gateway: %s\n", std::string(endpoint.status().message()).c_str());
      return absl::IsInvalidArgument(endpoint.status()) ? 2 : 1;
    }
    metrics_endpoint = *std::move(endpoint);
    std::fprintf(stderr, "session-gateway: metrics on http://%s/metrics\n", metrics_endpoint->address().c_str());
  }
  // Declared after what it uses, so destroyed first: Shutdown() waits for
  // every call, and calls need the HTTP client, the executor and the
  // metrics to finish.
  auto server = session_gateway::gateway::GatewayServer::Start(
      options, {http->get(), tokens.get(), &executor, metrics.get()});
  if (!server.ok()) {
    std::fprintf(stderr, "session-gateway: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  std::fprintf(stderr, "session-gateway: forwarding to %s\n", fw.upstream_base.c_str());
  std::printf("listening on %s\n", (*server)->address().c_str());
  std::fflush(stdout);

  // SIGHUP re-reads the credential files on this thread, between stop
  // signals: no thread of its own.
  int signal_number = session_gateway::WaitForStopSignalReloadingOnHangup(
      [reloadable_tokens] { ReloadCredentials(reloadable_tokens); });
  session_gateway::ExitOnNextStopSignal("session-gateway");
  std::fprintf(stderr,
               "session-gateway: signal %d, shutting down (grace %s; a second SIGTERM or SIGINT exits "
               "at once)\n",
               signal_number, absl::FormatDuration(options.shutdown_grace).c_str());
  (*server)->Shutdown();
  return 0;
}
