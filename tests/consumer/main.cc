// Parses a REST document and prints it back, through the installed
// SessionGateway::convert library and generated protos.
#include <iostream>

#include "convert/rest_json.h"
#include "gr4vy/sessions/v1/session.pb.h"

int main() {
  gr4vy::sessions::v1::CreateSession session;
  absl::Status status = session_gateway::convert::RestJsonToMessage(
      R"({"type":"payment-service-session","status":"succeeded","status_code":201,"response_body":{"sessionId":"12345"}})",
      &session);
  if (!status.ok()) {
    std::cerr << status << "\n";
    return 1;
  }
  std::cout << *session_gateway::convert::MessageToRestJson(session) << "\n";
  return 0;
}
