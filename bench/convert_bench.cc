// convert_bench: how fast the REST JSON converter reads and writes
// CreateSession documents, measured against the baselines a reader of
// bench/RESULTS.md would ask about, all on the same messages:
//
//   * protobuf's own JSON util (JsonStringToMessage / MessageToJsonString)
//     on the proto3 JSON form of the same message;
//   * protobuf binary parse / serialize of the same message;
//   * simdjson's DOM parser on the same REST bytes (a lower bound: it builds
//     a tape, not a message).
//
// Documents: the two examples from docs/rest-json.md ("small", parsed
// together as one document set), and a 64 KiB and a 1 MiB document whose
// response_body is generated from a fixed seed, so every run measures the
// same bytes.
//
// After the benchmarks run, a ratio table is printed. With
// --results_md=PATH the `## Converter` section of that Markdown file is
// written (other sections are kept). Flags of Google Benchmark are accepted
// as usual; bench/run_convert_bench.sh passes --benchmark_repetitions=3 and
// the tables then use the median of the repetitions.

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>
#include <simdjson.h>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "convert/rest_json.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/stubs/common.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gr4vy/sessions/v1/session.pb.h"

namespace {

using gr4vy::sessions::v1::CreateSession;
using google::protobuf::Arena;

// ---------------------------------------------------------------------------
// Documents
// ---------------------------------------------------------------------------

// The examples of docs/rest-json.md ("Both examples ... print back byte for
// byte").
constexpr const char* kDocExamples[] = {
    R"({"type":"payment-service-session","status":"succeeded","code":"UNKNOWN_ERROR","status_code":201,"response_body":{"sessionId":"12345"}})",
    R"({"type":"payment-service-session","status":"succeeded","code":"UNKNOWN_ERROR","status_code":200,"response_body":{"data":{"customerType":"EXISTING","walletManagementUrl":"https://example.com/session"},"meta":{}}})",
};

// splitmix64: tiny, and unlike the <random> distributions its output is the
// same with every standard library, so generated documents are too.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return Next() % n; }
  bool OneIn(uint64_t n) { return Below(n) == 0; }

 private:
  uint64_t state_;
};

constexpr uint64_t kSeed = 20240607;

// Words for string values: plain ASCII, and non-ASCII written raw as UTF-8
// (two-, three- and four-byte sequences).
constexpr const char* kWords[] = {
    "payment", "session", "wallet", "customer", "token", "merchant", "checkout", "order",
    "refund", "card", "address", "approved", "pending", "capture", "3DS", "klarna",
    "Zürich", "São Paulo", "naïve", "café", "東京", "Ελληνικά", "€", "😀", "Ωmega", "Kraków"};
// JSON escapes, including \u forms of BMP and astral code points and of a
// control character.
constexpr const char* kEscapes[] = {"\\\"", "\\\\", "\\n", "\\t", "\\/", "\\r", "\\b", "\\f",
                                    "\\u00e9", "\\u20ac", "\\ud83d\\ude00", "\\u0001"};

template <typename T, size_t N>
const T& Pick(Rng& rng, const T (&items)[N]) {
  return items[rng.Below(N)];
}

// A JSON string literal (with quotes) of `words` words, some of them
// escapes.
std::string GenString(Rng& rng, int words) {
  std::string s = "\"";
  for (int i = 0; i < words; ++i) {
    if (i > 0) s += ' ';
    s += rng.OneIn(4) ? Pick(rng, kEscapes) : Pick(rng, kWords);
  }
  s += '"';
  return s;
}

std::string GenInteger(Rng& rng) {
  int64_t magnitude = static_cast<int64_t>(rng.Below(uint64_t{1} << (rng.Below(50) + 1)));
  return absl::StrCat(rng.OneIn(5) ? -magnitude : magnitude);
}

std::string GenDouble(Rng& rng) {
  double mantissa = static_cast<double>(rng.Below(1000000000)) / 1000.0 + 0.001;
  if (rng.OneIn(2)) mantissa = -mantissa;
  switch (rng.Below(3)) {
    case 0:
      return absl::StrFormat("%.*f", static_cast<int>(rng.Below(6) + 1), mantissa);
    case 1:
      return absl::StrFormat("%.6e", mantissa * 1e-9);
    default:
      return absl::StrFormat("%.15g", mantissa / 7.0);
  }
}

std::string GenScalar(Rng& rng) {
  switch (rng.Below(6)) {
    case 0: return GenString(rng, static_cast<int>(rng.Below(6) + 1));
    case 1: return GenInteger(rng);
    case 2: return GenDouble(rng);
    case 3: return "null";
    case 4: return rng.OneIn(2) ? "true" : "false";
    default: return GenString(rng, 1);
  }
}

// A value of mixed kinds nested at most `depth` more levels.
std::string GenValue(Rng& rng, int depth) {
  uint64_t kind = depth > 0 ? rng.Below(8) : 0;
  if (kind == 6) {  // Array.
    std::string s = "[";
    const int n = static_cast<int>(rng.Below(5));
    for (int i = 0; i < n; ++i) absl::StrAppend(&s, i ? "," : "", GenValue(rng, depth - 1));
    return s + "]";
  }
  if (kind == 7) {  // Object, keys unique.
    std::string s = "{";
    const int n = static_cast<int>(rng.Below(5));
    for (int i = 0; i < n; ++i) {
      absl::StrAppend(&s, i ? "," : "", "\"", Pick(rng, kWords), "_", i, "\":",
                      GenValue(rng, depth - 1));
    }
    return s + "}";
  }
  return GenScalar(rng);
}

// One element of response_body.items: what a payment service might send,
// every kind of JSON value represented.
std::string GenRecord(Rng& rng, int index) {
  std::string s = "{";
  absl::StrAppend(&s, R"("id":"sess_)", absl::Hex(rng.Next(), absl::kZeroPad16), R"(",)");
  absl::StrAppend(&s, R"("index":)", index, ",");
  absl::StrAppend(&s, R"("amount":)", GenInteger(rng), ",");
  absl::StrAppend(&s, R"("currency":")", rng.OneIn(2) ? "EUR" : "USD", R"(",)");
  absl::StrAppend(&s, R"("rate":)", GenDouble(rng), ",");
  absl::StrAppend(&s, R"("description":)", GenString(rng, static_cast<int>(rng.Below(12) + 3)),
                  ",");
  absl::StrAppend(&s, R"("customer":{"name":)", GenString(rng, 2), R"(,"email":"user)",
                  rng.Below(100000), R"(@example.com","verified":)",
                  rng.OneIn(2) ? "true" : "false", R"(,"address":{"line1":)", GenString(rng, 3),
                  R"(,"city":)", GenString(rng, 1), R"(,"postal_code":")", rng.Below(99999),
                  R"(","country":null}},)");
  absl::StrAppend(&s, R"("tags":[)");
  const int tags = static_cast<int>(rng.Below(5));
  for (int i = 0; i < tags; ++i) absl::StrAppend(&s, i ? "," : "", GenString(rng, 1));
  absl::StrAppend(&s, "],");
  absl::StrAppend(&s, R"("metrics":[)");
  const int metrics = static_cast<int>(rng.Below(8) + 1);
  for (int i = 0; i < metrics; ++i) {
    absl::StrAppend(&s, i ? "," : "", rng.OneIn(2) ? GenInteger(rng) : GenDouble(rng));
  }
  absl::StrAppend(&s, "],");
  absl::StrAppend(&s, R"("refunded_at":null,)");
  absl::StrAppend(&s, R"("metadata":)", GenValue(rng, 3), ",");
  absl::StrAppend(&s, R"("extra":{)");
  const int extra = static_cast<int>(rng.Below(4) + 1);
  for (int i = 0; i < extra; ++i) {
    absl::StrAppend(&s, i ? "," : "", "\"k", i, "\":", GenValue(rng, 2));
  }
  absl::StrAppend(&s, "}}");
  return s;
}

// A CreateSession REST document of at most `target_bytes` (and within a
// record's size of it) whose response_body holds generated records.
std::string GenerateDocument(size_t target_bytes, uint64_t seed) {
  Rng rng(seed);
  std::string head = absl::StrCat(
      R"({"type":"payment-service-session","status":"succeeded","code":"UNKNOWN_ERROR",)"
      R"("status_code":201,"response_body":{"sessionId":")",
      absl::Hex(rng.Next(), absl::kZeroPad16),
      R"(","data":{"customerType":"EXISTING","walletManagementUrl":)"
      R"("https://example.com/session?id=42\u0026lang=fr"},"items":[)");
  std::string items;
  int count = 0;
  constexpr size_t kTailReserve = 64;
  while (true) {
    std::string record = GenRecord(rng, count);
    if (head.size() + items.size() + record.size() + 1 + kTailReserve > target_bytes) break;
    if (count > 0) items += ',';
    items += record;
    ++count;
  }
  return absl::StrCat(head, items, R"(],"meta":{"count":)", count,
                      R"(,"next":null,"truncated":false}}})");
}

// One set of documents, with every form the baselines need. A benchmark
// iteration processes the whole set.
struct Corpus {
  std::string name;
  std::vector<std::string> rest;                   // Input REST JSON.
  std::vector<std::unique_ptr<CreateSession>> messages;  // Parsed from `rest`.
  std::vector<std::string> rest_out;               // MessageToRestJson(messages).
  std::vector<std::string> proto3;                 // MessageToJsonString(messages).
  std::vector<std::string> binary;                 // SerializeAsString(messages).
  std::vector<simdjson::padded_string> padded;     // `rest`, padded for simdjson.

  static size_t Total(const std::vector<std::string>& docs) {
    size_t n = 0;
    for (const std::string& d : docs) n += d.size();
    return n;
  }
};

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "convert_bench: " << what << "\n";
  std::exit(2);
}

// Fills in the derived forms and checks that they all hold the same
// message, so the benchmarks compare like with like.
std::unique_ptr<Corpus> MakeCorpus(std::string name, std::vector<std::string> rest) {
  auto corpus = std::make_unique<Corpus>();
  corpus->name = std::move(name);
  corpus->rest = std::move(rest);
  for (const std::string& doc : corpus->rest) {
    const std::string where = absl::StrCat(corpus->name, " document of ", doc.size(), " bytes");
    auto message = std::make_unique<CreateSession>();
    absl::Status status = session_gateway::convert::RestJsonToMessage(doc, message.get());
    if (!status.ok()) Die(absl::StrCat(where, ": RestJsonToMessage: ", status.ToString()));

    std::string rest_out;
    status = session_gateway::convert::MessageToRestJson(*message, &rest_out);
    if (!status.ok()) Die(absl::StrCat(where, ": MessageToRestJson: ", status.ToString()));
    CreateSession check;
    status = session_gateway::convert::RestJsonToMessage(rest_out, &check);
    if (!status.ok() || !google::protobuf::util::MessageDifferencer::Equals(*message, check)) {
      Die(absl::StrCat(where, ": REST output does not read back to the same message"));
    }

    std::string proto3;
    auto pb_status = google::protobuf::util::MessageToJsonString(*message, &proto3);
    if (!pb_status.ok()) Die(absl::StrCat(where, ": MessageToJsonString: ", pb_status.ToString()));
    check.Clear();
    pb_status = google::protobuf::util::JsonStringToMessage(proto3, &check);
    if (!pb_status.ok() || !google::protobuf::util::MessageDifferencer::Equals(*message, check)) {
      Die(absl::StrCat(where, ": proto3 JSON does not read back to the same message"));
    }

    std::string binary = message->SerializeAsString();
    check.Clear();
    if (!check.ParseFromString(binary) ||
        !google::protobuf::util::MessageDifferencer::Equals(*message, check)) {
      Die(absl::StrCat(where, ": binary does not read back to the same message"));
    }

    simdjson::padded_string padded(doc);
    simdjson::dom::parser parser;
    simdjson::dom::element element;
    if (auto error = parser.parse(padded).get(element)) {
      Die(absl::StrCat(where, ": simdjson: ", simdjson::error_message(error)));
    }

    corpus->messages.push_back(std::move(message));
    corpus->rest_out.push_back(std::move(rest_out));
    corpus->proto3.push_back(std::move(proto3));
    corpus->binary.push_back(std::move(binary));
    corpus->padded.push_back(std::move(padded));
  }
  return corpus;
}

// ---------------------------------------------------------------------------
// Benchmarks
// ---------------------------------------------------------------------------

// What each benchmark processes per iteration, for MiB/s.
std::map<std::string, size_t>& BytesPerIteration() {
  static auto* bytes = new std::map<std::string, size_t>();
  return *bytes;
}

// An arena whose first block is ours and so survives Reset(): after the
// first iteration, small documents parse without touching malloc. Larger
// ones grow into blocks of up to 1 MiB. The same options serve our parser
// and protobuf's binary parser.
class BenchArena {
 public:
  BenchArena() : initial_(256 << 10) {
    google::protobuf::ArenaOptions options;
    options.initial_block = initial_.data();
    options.initial_block_size = initial_.size();
    options.start_block_size = 64 << 10;
    options.max_block_size = 1 << 20;
    arena_ = std::make_unique<Arena>(options);
  }
  Arena* get() { return arena_.get(); }

 private:
  std::vector<char> initial_;
  std::unique_ptr<Arena> arena_;
};

void Fail(benchmark::State& state, const std::string& what) {
  state.SkipWithError(what.c_str());
}

void DecodeOursHeap(benchmark::State& state, const Corpus* c) {
  for (auto _ : state) {
    for (const std::string& doc : c->rest) {
      CreateSession message;
      absl::Status status = session_gateway::convert::RestJsonToMessage(doc, &message);
      if (!status.ok()) return Fail(state, status.ToString());
      benchmark::DoNotOptimize(message);
    }
  }
}

void DecodeOursArena(benchmark::State& state, const Corpus* c) {
  BenchArena arena;
  for (auto _ : state) {
    for (const std::string& doc : c->rest) {
      auto* message = Arena::CreateMessage<CreateSession>(arena.get());
      absl::Status status = session_gateway::convert::RestJsonToMessage(doc, message);
      if (!status.ok()) return Fail(state, status.ToString());
      benchmark::DoNotOptimize(message);
    }
    arena.get()->Reset();
  }
}

void DecodeProtobufJson(benchmark::State& state, const Corpus* c) {
  for (auto _ : state) {
    for (const std::string& doc : c->proto3) {
      CreateSession message;
      auto status = google::protobuf::util::JsonStringToMessage(doc, &message);
      if (!status.ok()) return Fail(state, status.ToString());
      benchmark::DoNotOptimize(message);
    }
  }
}

void DecodeBinaryHeap(benchmark::State& state, const Corpus* c) {
  for (auto _ : state) {
    for (const std::string& doc : c->binary) {
      CreateSession message;
      if (!message.ParseFromString(doc)) return Fail(state, "ParseFromString failed");
      benchmark::DoNotOptimize(message);
    }
  }
}

void DecodeBinaryArena(benchmark::State& state, const Corpus* c) {
  BenchArena arena;
  for (auto _ : state) {
    for (const std::string& doc : c->binary) {
      auto* message = Arena::CreateMessage<CreateSession>(arena.get());
      if (!message->ParseFromString(doc)) return Fail(state, "ParseFromString failed");
      benchmark::DoNotOptimize(message);
    }
    arena.get()->Reset();
  }
}

void DecodeSimdjson(benchmark::State& state, const Corpus* c) {
  simdjson::dom::parser parser;
  for (auto _ : state) {
    for (const simdjson::padded_string& doc : c->padded) {
      simdjson::dom::element element;
      if (auto error = parser.parse(doc).get(element)) {
        return Fail(state, simdjson::error_message(error));
      }
      benchmark::DoNotOptimize(element);
    }
  }
}

// Encoders append to one string cleared per document, so they all measure
// writing rather than growing a fresh buffer.
void EncodeOurs(benchmark::State& state, const Corpus* c) {
  std::string out;
  for (auto _ : state) {
    for (const auto& message : c->messages) {
      out.clear();
      absl::Status status = session_gateway::convert::MessageToRestJson(*message, &out);
      if (!status.ok()) return Fail(state, status.ToString());
      benchmark::DoNotOptimize(out.data());
    }
  }
}

void EncodeProtobufJson(benchmark::State& state, const Corpus* c) {
  std::string out;
  for (auto _ : state) {
    for (const auto& message : c->messages) {
      out.clear();
      auto status = google::protobuf::util::MessageToJsonString(*message, &out);
      if (!status.ok()) return Fail(state, status.ToString());
      benchmark::DoNotOptimize(out.data());
    }
  }
}

void EncodeBinary(benchmark::State& state, const Corpus* c) {
  std::string out;
  for (auto _ : state) {
    for (const auto& message : c->messages) {
      if (!message->SerializeToString(&out)) return Fail(state, "SerializeToString failed");
      benchmark::DoNotOptimize(out.data());
    }
  }
}

// The benchmarks, in the order of the results table.
struct Variant {
  const char* name;         // Benchmark name prefix, e.g. "decode/ours_heap".
  const char* description;  // For the results table.
  void (*run)(benchmark::State&, const Corpus*);
  size_t (*bytes)(const Corpus&);  // Bytes processed per iteration.
};

const Variant kVariants[] = {
    {"decode/ours_heap", "RestJsonToMessage (REST JSON), heap message", DecodeOursHeap,
     [](const Corpus& c) { return Corpus::Total(c.rest); }},
    {"decode/ours_arena", "RestJsonToMessage (REST JSON), arena message", DecodeOursArena,
     [](const Corpus& c) { return Corpus::Total(c.rest); }},
    {"decode/protobuf_json", "util::JsonStringToMessage (proto3 JSON), heap message",
     DecodeProtobufJson, [](const Corpus& c) { return Corpus::Total(c.proto3); }},
    {"decode/binary_heap", "ParseFromString (binary), heap message", DecodeBinaryHeap,
     [](const Corpus& c) { return Corpus::Total(c.binary); }},
    {"decode/binary_arena", "ParseFromString (binary), arena message", DecodeBinaryArena,
     [](const Corpus& c) { return Corpus::Total(c.binary); }},
    {"decode/simdjson_dom", "simdjson::dom::parser::parse (REST JSON), no message",
     DecodeSimdjson, [](const Corpus& c) { return Corpus::Total(c.rest); }},
    {"encode/ours", "MessageToRestJson (REST JSON)", EncodeOurs,
     [](const Corpus& c) { return Corpus::Total(c.rest_out); }},
    {"encode/protobuf_json", "util::MessageToJsonString (proto3 JSON)", EncodeProtobufJson,
     [](const Corpus& c) { return Corpus::Total(c.proto3); }},
    {"encode/binary", "SerializeToString (binary)", EncodeBinary,
     [](const Corpus& c) { return Corpus::Total(c.binary); }},
};

std::string BenchName(const Variant& v, const Corpus& c) { return absl::StrCat(v.name, "/", c.name); }

void RegisterAll(const std::vector<std::unique_ptr<Corpus>>& corpora) {
  for (const Variant& v : kVariants) {
    for (const auto& corpus : corpora) {
      const std::string name = BenchName(v, *corpus);
      const size_t bytes = v.bytes(*corpus);
      BytesPerIteration()[name] = bytes;
      const Corpus* c = corpus.get();
      auto run = v.run;
      benchmark::RegisterBenchmark(name.c_str(),
                                   [run, c, bytes](benchmark::State& state) {
                                     run(state, c);
                                     state.SetBytesProcessed(state.iterations() *
                                                             static_cast<int64_t>(bytes));
                                   })
          ->Unit(benchmark::kMicrosecond);
    }
  }
}

// ---------------------------------------------------------------------------
// Capturing results
// ---------------------------------------------------------------------------

struct Measurement {
  std::vector<double> cpu_ns;   // One per repetition.
  std::vector<double> real_ns;  // Wall time, same runs.
  double aggregate_median_ns = -1;
  double aggregate_cv = -1;
  std::string error;

  bool ok() const { return error.empty() && (!cpu_ns.empty() || aggregate_median_ns > 0); }
  int repetitions() const { return static_cast<int>(cpu_ns.size()); }

  double MedianNs() const {
    if (cpu_ns.empty()) return aggregate_median_ns;
    std::vector<double> v = cpu_ns;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }
  // Coefficient of variation over the repetitions (sample standard
  // deviation / mean, as Google Benchmark computes it); negative if unknown.
  double Cv() const {
    if (cpu_ns.size() < 2) return aggregate_cv;
    double mean = 0;
    for (double x : cpu_ns) mean += x;
    mean /= static_cast<double>(cpu_ns.size());
    double sq = 0;
    for (double x : cpu_ns) sq += (x - mean) * (x - mean);
    return std::sqrt(sq / static_cast<double>(cpu_ns.size() - 1)) / mean;
  }
};

constexpr double kNoisyCv = 0.05;

double NsPerUnit(benchmark::TimeUnit unit) {
  switch (unit) {
    case benchmark::kNanosecond: return 1;
    case benchmark::kMicrosecond: return 1e3;
    case benchmark::kMillisecond: return 1e6;
    case benchmark::kSecond: return 1e9;
  }
  return 1;
}

// The console reporter, also keeping every run's CPU time for the tables.
class CapturingReporter : public benchmark::ConsoleReporter {
 public:
  explicit CapturingReporter(OutputOptions options) : ConsoleReporter(options) {}

  bool ReportContext(const Context& context) override {
    num_cpus_ = context.cpu_info.num_cpus;
    mhz_ = context.cpu_info.cycles_per_second / 1e6;
    scaling_ = context.cpu_info.scaling == benchmark::CPUInfo::ENABLED    ? "enabled"
               : context.cpu_info.scaling == benchmark::CPUInfo::DISABLED ? "disabled"
                                                                          : "unknown";
    return ConsoleReporter::ReportContext(context);
  }

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      Measurement& m = results_[run.run_name.function_name];
      if (run.error_occurred) {
        m.error = run.error_message;
      } else if (run.run_type == Run::RT_Iteration) {
        m.cpu_ns.push_back(run.GetAdjustedCPUTime() * NsPerUnit(run.time_unit));
        m.real_ns.push_back(run.GetAdjustedRealTime() * NsPerUnit(run.time_unit));
      } else if (run.aggregate_name == "median") {
        m.aggregate_median_ns = run.GetAdjustedCPUTime() * NsPerUnit(run.time_unit);
      } else if (run.aggregate_name == "cv") {
        m.aggregate_cv = run.cpu_accumulated_time;  // A fraction, not a time.
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  const std::map<std::string, Measurement>& results() const { return results_; }
  int num_cpus() const { return num_cpus_; }
  double mhz() const { return mhz_; }
  const std::string& scaling() const { return scaling_; }

 private:
  std::map<std::string, Measurement> results_;
  int num_cpus_ = 0;
  double mhz_ = 0;
  std::string scaling_;
};

// ---------------------------------------------------------------------------
// Ratios and the report
// ---------------------------------------------------------------------------

struct RatioSpec {
  const char* comparison;
  const char* numerator;    // Variant name whose time is divided...
  const char* denominator;  // ...by this one's.
  // Target on time(numerator) / time(denominator); at_least: ratio >= target.
  // Empty corpus name: applies to every document; 0: informational.
  const char* corpus;
  double target;
  bool at_least;
};

// Ratios are of CPU time per document set, never of MiB/s: the forms differ
// in size (binary is far smaller than JSON), the message is the same.
const RatioSpec kRatios[] = {
    {"decode speedup, ours vs JsonStringToMessage (heap)", "decode/protobuf_json",
     "decode/ours_heap", "small", 5, true},
    {"decode speedup, ours vs JsonStringToMessage (heap)", "decode/protobuf_json",
     "decode/ours_heap", "64KiB", 8, true},
    {"decode speedup, ours vs JsonStringToMessage (heap)", "decode/protobuf_json",
     "decode/ours_heap", "1MiB", 0, true},
    {"decode time, ours / binary parse (heap)", "decode/ours_heap", "decode/binary_heap", "",
     1.5, false},
    {"decode time, ours / binary parse (arena)", "decode/ours_arena", "decode/binary_arena", "",
     1.5, false},
    {"encode speedup, ours vs MessageToJsonString", "encode/protobuf_json", "encode/ours", "", 5,
     true},
    {"decode time, ours (heap) / simdjson DOM", "decode/ours_heap", "decode/simdjson_dom", "", 0,
     false},
    {"encode time, ours / binary serialize", "encode/ours", "encode/binary", "", 0, false},
};

struct RatioRow {
  std::string comparison;
  std::string corpus;
  double ratio = -1;  // Negative: not measured.
  std::string target;
  std::string verdict;
  bool noisy = false;
};

std::vector<RatioRow> ComputeRatios(const std::map<std::string, Measurement>& results,
                                    const std::vector<std::unique_ptr<Corpus>>& corpora) {
  std::vector<RatioRow> rows;
  for (const RatioSpec& spec : kRatios) {
    for (const auto& corpus : corpora) {
      if (*spec.corpus != '\0' && corpus->name != spec.corpus) continue;
      RatioRow row;
      row.comparison = spec.comparison;
      row.corpus = corpus->name;
      if (spec.target > 0) {
        row.target = absl::StrCat(spec.at_least ? ">= " : "<= ", spec.target, "x");
      } else {
        row.target = "(none)";
      }
      auto num = results.find(absl::StrCat(spec.numerator, "/", corpus->name));
      auto den = results.find(absl::StrCat(spec.denominator, "/", corpus->name));
      if (num == results.end() || den == results.end() || !num->second.ok() ||
          !den->second.ok()) {
        row.verdict = "not measured";
        rows.push_back(row);
        continue;
      }
      row.ratio = num->second.MedianNs() / den->second.MedianNs();
      row.noisy = num->second.Cv() > kNoisyCv || den->second.Cv() > kNoisyCv;
      if (spec.target > 0) {
        const bool met = spec.at_least ? row.ratio >= spec.target : row.ratio <= spec.target;
        row.verdict = met ? "met" : "MISSED";
      } else {
        row.verdict = "-";
      }
      if (row.noisy) row.verdict += " (noisy)";
      rows.push_back(row);
    }
  }
  return rows;
}

std::string FormatRatio(double ratio) {
  return ratio < 0 ? "n/a" : absl::StrFormat("%.3fx", ratio);
}

void PrintRatios(const std::vector<RatioRow>& rows) {
  std::printf("\nRatios (median CPU time per document set; noisy = CV > %.0f%%)\n",
              kNoisyCv * 100);
  std::printf("%-52s %-6s %10s %8s  %s\n", "comparison", "doc", "ratio", "target", "result");
  for (const RatioRow& row : rows) {
    std::printf("%-52s %-6s %10s %8s  %s\n", row.comparison.c_str(), row.corpus.c_str(),
                FormatRatio(row.ratio).c_str(), row.target.c_str(), row.verdict.c_str());
  }
  std::fflush(stdout);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string CpuModel() {
  std::istringstream in(ReadFile("/proc/cpuinfo"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        size_t start = line.find_first_not_of(" \t", colon + 1);
        return start == std::string::npos ? "" : line.substr(start);
      }
    }
  }
  return "unknown";
}

std::string LoadAverage() {
  std::string load = ReadFile("/proc/loadavg");
  std::istringstream in(load);
  std::string a, b, c;
  in >> a >> b >> c;
  return a.empty() ? "unknown" : absl::StrCat(a, " ", b, " ", c);
}

// The 1-minute load average, or -1.
double LoadAverage1(const std::string& load) {
  double value = -1;
  std::istringstream(load) >> value;
  return value;
}

// Median over all runs of wall time / CPU time: about 1 when the benchmark
// had a CPU to itself, higher when it waited for one.
double MedianWallToCpu(const std::map<std::string, Measurement>& results) {
  std::vector<double> ratios;
  for (const auto& entry : results) {
    const Measurement& m = entry.second;
    for (size_t i = 0; i < m.cpu_ns.size() && i < m.real_ns.size(); ++i) {
      if (m.cpu_ns[i] > 0) ratios.push_back(m.real_ns[i] / m.cpu_ns[i]);
    }
  }
  if (ratios.empty()) return -1;
  std::sort(ratios.begin(), ratios.end());
  return ratios[ratios.size() / 2];
}

std::string UtcNow() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buffer;
}

std::string ShellQuote(const std::string& arg) {
  if (!arg.empty() && arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789-_=./:,+@%") == std::string::npos) {
    return arg;
  }
  std::string quoted = "'";
  for (char ch : arg) {
    if (ch == '\'') {
      quoted += "'\\''";
    } else {
      quoted += ch;
    }
  }
  return quoted + "'";
}

struct RunInfo {
  std::string command;
  std::string wrapper;  // How a wrapper script was invoked, if it said.
  std::string date;
  std::string load_before;
  std::string load_after;
};

std::string ConverterSection(const RunInfo& info, const CapturingReporter& reporter,
                             const std::vector<std::unique_ptr<Corpus>>& corpora,
                             const std::vector<RatioRow>& ratios) {
  const auto& results = reporter.results();
  std::string md = "## Converter\n\n";
  absl::StrAppend(&md,
                  "Written by `bench/convert_bench --results_md=...` (normally through "
                  "`bench/run_convert_bench.sh`); rerun that to refresh this section.\n\n");
  absl::StrAppend(&md, "- Date: ", info.date, "\n");
  absl::StrAppend(&md, "- Machine: ", sysconf(_SC_NPROCESSORS_ONLN), " online CPUs (nproc), `",
                  CpuModel(), "`, ", absl::StrFormat("%.0f", reporter.mhz()),
                  " MHz, CPU frequency scaling ", reporter.scaling(), "\n");
  absl::StrAppend(&md, "- Load average before / after the run: ", info.load_before, " / ",
                  info.load_after, "\n");
  const double wall_to_cpu = MedianWallToCpu(results);
  if (wall_to_cpu > 0) {
    absl::StrAppend(&md, "- Median wall time / CPU time over all runs: ",
                    absl::StrFormat("%.2f", wall_to_cpu),
                    " (about 1.00 when the benchmark had a CPU to itself)\n");
  }
  const double cpus = static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN));
  if (LoadAverage1(info.load_before) >= cpus || LoadAverage1(info.load_after) >= cpus ||
      wall_to_cpu > 1.2) {
    absl::StrAppend(&md,
                    "- **Warning: the machine was busy with other work during this run** "
                    "(load average at or above the CPU count, or benchmarks waiting for a "
                    "CPU). CPU times still include cache and memory-bandwidth contention; "
                    "treat the numbers as indicative and rerun on an idle machine.\n");
  }
  absl::StrAppend(&md, "- Build: compiler ", __VERSION__,
#ifdef NDEBUG
                  ", NDEBUG defined",
#else
                  ", **NDEBUG not defined (not a release build)**",
#endif
                  "; protobuf ", GOOGLE_PROTOBUF_VERSION / 1000000, ".",
                  GOOGLE_PROTOBUF_VERSION / 1000 % 1000, ".", GOOGLE_PROTOBUF_VERSION % 1000,
                  ", simdjson ", static_cast<int>(simdjson::SIMDJSON_VERSION_MAJOR), ".",
                  static_cast<int>(simdjson::SIMDJSON_VERSION_MINOR), ".",
                  static_cast<int>(simdjson::SIMDJSON_VERSION_REVISION), " (",
                  simdjson::get_active_implementation()->name(), " kernel)\n");
  if (!info.wrapper.empty()) absl::StrAppend(&md, "- Command: `", info.wrapper, "`, which ran\n");
  absl::StrAppend(&md, info.wrapper.empty() ? "- Command: " : "  ", "`", info.command, "`\n\n");

  absl::StrAppend(
      &md,
      "Documents (one benchmark iteration processes the whole set). `small` is the two "
      "examples in docs/rest-json.md; the others are generated from seed ",
      kSeed,
      " (objects, arrays, strings with escapes and raw non-ASCII, integers, doubles, "
      "nulls, booleans in `response_body`). proto3 JSON is `MessageToJsonString` of the "
      "parsed message and binary its `SerializeAsString`; all forms were checked to read "
      "back to the same message.\n\n");
  absl::StrAppend(&md,
                  "| Document set | docs | REST JSON in (bytes) | REST JSON out (bytes) | "
                  "proto3 JSON (bytes) | binary (bytes) |\n|---|---:|---:|---:|---:|---:|\n");
  for (const auto& c : corpora) {
    absl::StrAppend(&md, "| ", c->name, " | ", c->rest.size(), " | ", Corpus::Total(c->rest),
                    " | ", Corpus::Total(c->rest_out), " | ", Corpus::Total(c->proto3), " | ",
                    Corpus::Total(c->binary), " |\n");
  }

  int repetitions = 0;
  for (const auto& entry : results) repetitions = std::max(repetitions, entry.second.repetitions());
  absl::StrAppend(
      &md, "\n### Throughput (MiB/s)\n\nMedian of ", repetitions,
      " repetition(s), CPU time; MiB/s is of each benchmark's own input (decode) or output "
      "(encode), in the form named in the row, so binary rows count far fewer bytes for the "
      "same message. `(noisy)` marks a coefficient of variation above ",
      absl::StrFormat("%.0f", kNoisyCv * 100),
      "% between repetitions. The second table gives the median CPU time per document set "
      "and the CV.\n\n");
  std::string header = "| Benchmark | What |";
  std::string rule = "|---|---|";
  for (const auto& c : corpora) {
    absl::StrAppend(&header, " ", c->name, " |");
    rule += "---:|";
  }
  absl::StrAppend(&md, header, "\n", rule, "\n");
  std::string times = absl::StrCat(header, "\n", rule, "\n");
  for (const Variant& v : kVariants) {
    std::string row = absl::StrCat("| `", v.name, "` | ", v.description, " |");
    std::string time_row = row;
    for (const auto& c : corpora) {
      const std::string name = BenchName(v, *c);
      auto it = results.find(name);
      if (it == results.end() || !it->second.ok()) {
        const char* why = it == results.end() ? "not run" : "error";
        absl::StrAppend(&row, " ", why, " |");
        absl::StrAppend(&time_row, " ", why, " |");
        continue;
      }
      const Measurement& m = it->second;
      const double seconds = m.MedianNs() / 1e9;
      const double mib_s = static_cast<double>(BytesPerIteration()[name]) / (1 << 20) / seconds;
      const double cv = m.Cv();
      const std::string noisy = cv > kNoisyCv ? " (noisy)" : "";
      absl::StrAppend(&row, " ", absl::StrFormat("%.1f", mib_s), noisy, " |");
      absl::StrAppend(&time_row, " ", absl::StrFormat("%.2f µs", m.MedianNs() / 1e3),
                      cv >= 0 ? absl::StrFormat(", CV %.1f%%", cv * 100) : "", noisy, " |");
    }
    absl::StrAppend(&md, row, "\n");
    absl::StrAppend(&times, time_row, "\n");
  }
  absl::StrAppend(&md, "\n", times);

  absl::StrAppend(
      &md,
      "\n### Ratios\n\nRatios of median CPU time per document set (same message in every "
      "form), decided on the unrounded values. A speedup is baseline time / our time; a time "
      "ratio is our time / baseline time.\n\n| Comparison | Document set | Measured | Target | "
      "Result |\n|---|---|---:|---|---|\n");
  for (const RatioRow& r : ratios) {
    absl::StrAppend(&md, "| ", r.comparison, " | ", r.corpus, " | ", FormatRatio(r.ratio), " | ",
                    r.target, " | ", r.verdict, " |\n");
  }
  return md;
}

// Replaces the `## Converter` section of the Markdown file at `path` (or
// creates the file), keeping every other section as it is. A new section
// goes before `## Gateway`; that heading is added at the end if missing.
bool WriteResultsMd(const std::string& path, const std::string& section) {
  std::vector<std::string> lines;
  {
    std::istringstream in(ReadFile(path));
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
  }
  if (lines.empty()) {
    lines = {"# Benchmark results", "",
             "Each section is written by its own benchmark script in bench/."};
  }
  auto heading = [](const std::string& line, absl::string_view name) {
    absl::string_view text = absl::StripTrailingAsciiWhitespace(line);
    return name.empty() ? absl::StartsWith(text, "## ") : text == absl::StrCat("## ", name);
  };
  auto find = [&](size_t from, absl::string_view name) {
    for (size_t i = from; i < lines.size(); ++i) {
      if (heading(lines[i], name)) return i;
    }
    return lines.size();
  };
  size_t begin = find(0, "Converter");
  size_t end = begin;
  if (begin < lines.size()) {
    end = find(begin + 1, "");
  } else {
    begin = end = find(0, "Gateway");
  }
  std::vector<std::string> before(lines.begin(), lines.begin() + static_cast<ptrdiff_t>(begin));
  std::vector<std::string> after(lines.begin() + static_cast<ptrdiff_t>(end), lines.end());
  while (!before.empty() && before.back().empty()) before.pop_back();
  while (!after.empty() && after.back().empty()) after.pop_back();
  if (find(0, "Gateway") == lines.size()) {
    if (!after.empty()) after.push_back("");
    after.insert(after.end(), {"## Gateway", "", "(see bench/gateway_load.sh)"});
  }

  std::string text;
  for (const std::string& line : before) absl::StrAppend(&text, line, "\n");
  if (!before.empty()) text += "\n";
  text += section;
  if (!after.empty()) text += "\n";
  for (const std::string& line : after) absl::StrAppend(&text, line, "\n");

  // Write a sibling and rename it over, so a reader never sees half a file.
  const std::string temp = absl::StrCat(path, ".tmp.", getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) return false;
  }
  return std::rename(temp.c_str(), path.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  RunInfo info;
  info.date = UtcNow();
  info.load_before = LoadAverage();
  for (int i = 0; i < argc; ++i) {
    absl::StrAppend(&info.command, i ? " " : "", ShellQuote(argv[i]));
  }
  if (const char* wrapper = std::getenv("CONVERT_BENCH_WRAPPER")) info.wrapper = wrapper;

  // Our own flags, removed before Google Benchmark sees the rest.
  std::string results_md;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--results_md=")) {
      results_md = std::string(arg);
    } else if (arg == "--help" || arg == "-h") {
      std::printf(
          "usage: %s [--results_md=PATH] [Google Benchmark flags]\n"
          "  --results_md=PATH  write the `## Converter` section of PATH (Markdown)\n"
          "Recommended: --benchmark_repetitions=3 (tables use the median).\n",
          argv[0]);
      argv[kept++] = argv[i];  // Let the library print its flags too.
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;

  std::vector<std::unique_ptr<Corpus>> corpora;
  corpora.push_back(MakeCorpus("small", {kDocExamples[0], kDocExamples[1]}));
  corpora.push_back(MakeCorpus("64KiB", {GenerateDocument(64 << 10, kSeed)}));
  corpora.push_back(MakeCorpus("1MiB", {GenerateDocument(1 << 20, kSeed + 1)}));
  for (const auto& c : corpora) {
    std::fprintf(stderr, "corpus %-5s: %zu doc(s), REST %zu B, REST out %zu B, proto3 JSON %zu B, binary %zu B\n",
                 c->name.c_str(), c->rest.size(), Corpus::Total(c->rest),
                 Corpus::Total(c->rest_out), Corpus::Total(c->proto3), Corpus::Total(c->binary));
  }

  RegisterAll(corpora);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  const bool tty = isatty(STDOUT_FILENO) != 0;
  CapturingReporter reporter(tty ? benchmark::ConsoleReporter::OO_ColorTabular
                                 : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  info.load_after = LoadAverage();

  std::vector<RatioRow> ratios = ComputeRatios(reporter.results(), corpora);
  PrintRatios(ratios);

  int exit_code = 0;
  for (const auto& entry : reporter.results()) {
    if (!entry.second.error.empty()) {
      std::fprintf(stderr, "convert_bench: %s failed: %s\n", entry.first.c_str(),
                   entry.second.error.c_str());
      exit_code = 1;
    }
  }
  if (!results_md.empty()) {
    if (WriteResultsMd(results_md, ConverterSection(info, reporter, corpora, ratios))) {
      std::printf("\nWrote the ## Converter section of %s\n", results_md.c_str());
    } else {
      std::fprintf(stderr, "convert_bench: cannot write %s\n", results_md.c_str());
      exit_code = 1;
    }
  }
  benchmark::Shutdown();
  return exit_code;
}
