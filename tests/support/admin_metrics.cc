#include "tests/support/admin_metrics.h"

#include <sstream>

#include "tests/support/http_client.h"

namespace switchyard::support {

double metricSample(uint16_t admin_port, const std::string& prefix) {
  HttpResponse r = HttpClient::get(admin_port, "/metrics", {}, std::chrono::seconds(2));
  if (!r.ok() || r.status != 200) return -1;
  std::istringstream in(r.body);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) return std::stod(line.substr(line.rfind(' ') + 1));
  return -1;
}

}  // namespace switchyard::support
