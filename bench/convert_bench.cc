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
// A plain Google Benchmark binary: bench/run_convert_bench.sh runs it with
// --benchmark_repetitions and --benchmark_out (JSON), and
// bench/render_results.py turns that JSON (the library's median and CV
// aggregates, bytes_per_second, and the context added below) into the
// `## Converter` section of bench/RESULTS.md with its ratios.

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
// Context for the report
// ---------------------------------------------------------------------------

// What bench/render_results.py shows next to the numbers: the document
// sets, what each benchmark runs, and the build. Google Benchmark writes
// these into the JSON context (--benchmark_out), so the numbers and what
// they measured travel in one file; the statistics (median, CV) are the
// library's own aggregates.
void AddReportContext(const std::vector<std::unique_ptr<Corpus>>& corpora) {
  benchmark::AddCustomContext(
      "documents",
      absl::StrCat("one iteration processes a whole set; `small` is the two examples in "
                   "docs/rest-json.md, the others are generated from seed ",
                   kSeed,
                   " (objects, arrays, strings with escapes and raw non-ASCII, numbers, nulls, "
                   "booleans in response_body); every form was checked to read back to the same "
                   "message"));
  for (const auto& c : corpora) {
    benchmark::AddCustomContext(
        absl::StrCat("document set ", c->name),
        absl::StrCat(c->rest.size(), " doc(s); REST JSON ", Corpus::Total(c->rest), " B in, ",
                     Corpus::Total(c->rest_out), " B out; proto3 JSON ", Corpus::Total(c->proto3),
                     " B; binary ", Corpus::Total(c->binary), " B"));
  }
  for (const Variant& v : kVariants) {
    benchmark::AddCustomContext(absl::StrCat("benchmark ", v.name), v.description);
  }
  benchmark::AddCustomContext(
      "build",
      absl::StrCat("compiler " __VERSION__,
#ifdef NDEBUG
                   ", NDEBUG defined",
#else
                   ", NDEBUG NOT defined (not a release build)",
#endif
                   "; protobuf ", GOOGLE_PROTOBUF_VERSION / 1000000, ".",
                   GOOGLE_PROTOBUF_VERSION / 1000 % 1000, ".", GOOGLE_PROTOBUF_VERSION % 1000,
                   ", simdjson ", static_cast<int>(simdjson::SIMDJSON_VERSION_MAJOR), ".",
                   static_cast<int>(simdjson::SIMDJSON_VERSION_MINOR), ".",
                   static_cast<int>(simdjson::SIMDJSON_VERSION_REVISION), " (",
                   simdjson::get_active_implementation()->name(), " kernel)"));
}

}  // namespace

int main(int argc, char** argv) {
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
  AddReportContext(corpora);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
