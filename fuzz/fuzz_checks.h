// The properties the fuzz targets check, one function per target, kept out
// of the libFuzzer entry points so that the GoogleTest suite
// (tests/fuzz_regressions) can replay the seed corpus and every crash input
// through exactly the same code in an ordinary GCC build.
//
// Each function takes the raw fuzzer input and returns OK when every
// property held, and kInternal naming the broken property otherwise. An
// input the code under test rejects with a proper error is fine: only a
// wrong answer, an error of the wrong shape, or a crash is a bug. The fuzz
// targets abort() on a non-OK result so that libFuzzer records the input.
//
// The first byte of most inputs is an option byte (see each function), so
// that one corpus covers strict and lenient mode, small depth limits and
// both message types without separate targets.
//
// Usage:
//
//   absl::Status s = session_gateway::fuzz::CheckRestParse(
//       session_gateway::fuzz::SessionType::kCreateSession, bytes);
//   if (!s.ok()) { /* s.message() says which property broke */ }
#ifndef SESSION_GATEWAY_FUZZ_FUZZ_CHECKS_H_
#define SESSION_GATEWAY_FUZZ_FUZZ_CHECKS_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace session_gateway {
namespace fuzz {

// The two REST resources the converter is used with.
enum class SessionType { kCreateSession, kPaymentServiceSession };

// Tells the code under test's dependencies to be quiet: protobuf logs an
// error for every invalid UTF-8 string it meets, which would drown the
// fuzzer's own output. Call once before the first check; idempotent.
void QuietLibraries();

// rest_parse_<type>: RestJsonToMessage in strict or lenient mode.
//
// Option byte: bit 0 strict, bits 2-4 pick ParseOptions::max_depth from
// {100, 1, 2, 3, 4, 8, 64, 200}, bit 5 sets max_input_bytes one below the
// document's size, bit 6 (without bit 5) exactly to it. The rest is the
// document.
//
// Properties: an error is kInvalidArgument and its message starts with a
// JSON path ("$"); the size limit is exact; a document accepted in strict
// mode or at a low depth limit reads the same in lenient mode at the
// highest limit; a parsed message prints (with PrintOptions::max_depth
// equal to the parse limit, as docs/rest-json.md asks) in compact and
// pretty form, and either output reads back (lenient) to the same message
// and prints the same bytes again.
absl::Status CheckRestParse(SessionType type, absl::string_view data);

// rest_round_trip: parse (lenient) -> print -> parse gives a message equal
// to the first one (MessageDifferencer, and bit for bit via deterministic
// serialization so that -0 and every double digit count), and printing
// that message again gives identical bytes. Compact and pretty output must
// both round-trip, and the pretty output must be the compact output plus
// whitespace (equal after re-printing compactly).
//
// Option byte: bit 0 picks the message type (0 CreateSession). The rest is
// the document. Lenient mode on every read, because strict mode rejects the
// integer literals beyond 2^53 the printer writes for large doubles.
absl::Status CheckRestRoundTrip(absl::string_view data);

// json_value: JsonToValue -> ValueToJson -> JsonToValue gives an equal
// Value, and the second print is byte-identical to the first (compact and
// pretty). JsonToStruct must accept exactly the documents whose Value is an
// object, with the same contents. A document that is one number must read
// as the double strtod gives, bit for bit.
//
// Option byte: bit 0 strict, bits 1-3 pick max_depth as for CheckRestParse.
absl::Status CheckJsonValue(absl::string_view data);

// cli_formats: cli::Convert from protojson, text or binary to rest.
//
// Option byte: bits 0-1 pick the input format (protojson, text, binary,
// and rest for good measure), bit 2 the message type (0 CreateSession),
// bit 3 strict, bit 4 pretty. The rest is the input.
//
// Properties: no crash; an error is kInvalidArgument starting with "$";
// output ends with a newline; and when REST output is produced, it parses
// back (lenient) into the message the input format describes, unknown
// fields aside and with `type` set to its constant (proto -> REST -> proto
// is the identity, docs/rest-json.md "Printing").
absl::Status CheckCliConvert(absl::string_view data);

// gateway_validation: Route::Build and Route::ValidateHeaderValue on
// fuzzed path variables, header values and request bodies.
//
// Option byte: bit 0 picks the RPC (0 CreatePaymentServiceSession), bit 1
// sets merchant_account_id, bit 2 sets request_body, bit 3 adds a Value
// with no kind (which has no JSON form) to the body. The rest is split at
// 0xFF bytes (never part of valid UTF-8, and protobuf's setters do not
// check UTF-8) into: the path variable, the merchant account id, the
// request body JSON, and a header name for ValidateHeaderValue.
//
// Build must succeed exactly when the path variable and (if set) the
// merchant id are non-empty, free of CR, LF and NUL and fully match their
// (gr4vy.rest.v1.field).pattern, and the body is printable.
//
// Properties of a successful Build: the path is the template with the
// variable replaced by a non-empty segment matching ^[A-Za-z0-9._~%-]*$
// that is neither "." nor ".." and percent-decodes to the value; the value
// fully matches the field's pattern; headers hold exactly the merchant id,
// which matches its pattern and has no CR, LF or NUL; the body is the
// request body's JSON. A failed Build is kInvalidArgument whose message
// starts with the violation's field path. ValidateHeaderValue never accepts
// CR, LF or NUL, nor (for the bound header) a value off its pattern.
// PercentEncodePathSegment of any value is a safe segment that decodes
// back to the value.
absl::Status CheckGatewayValidation(absl::string_view data);

}  // namespace fuzz
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_FUZZ_FUZZ_CHECKS_H_
