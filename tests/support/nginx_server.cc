#include "tests/support/nginx_server.h"

#include <chrono>

#include "tests/support/eventually.h"
#include "tests/support/http_client.h"
#include "tests/support/switchyard_process.h"

namespace switchyard::support {

::testing::AssertionResult NginxServer::start(const std::string& servers,
                                              const std::vector<uint16_t>& ports) {
  // Debian's build puts its temp paths under /var/lib/nginx: each one is moved here.
  dir_.writeFile("nginx.conf", fillTemplate(R"(
daemon off;
master_process off;
pid ${DIR}/nginx.pid;
error_log ${DIR}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${DIR};
  proxy_temp_path ${DIR};
  fastcgi_temp_path ${DIR};
  uwsgi_temp_path ${DIR};
  scgi_temp_path ${DIR};
)" + servers + "\n}\n",
                                            {{"DIR", dir_.path()}}));
  const std::string spawned = process_.spawn(
      {"nginx", "-p", dir_.path(), "-c", dir_.file("nginx.conf"), "-e", dir_.file("error.log")},
      dir_.path(), dir_.file("stdout.log"));
  if (!spawned.empty()) return ::testing::AssertionFailure() << "nginx: " << spawned;
  for (uint16_t port : ports) {
    const bool up = eventually(
        [&] {
          return process_.running() && HttpClient().connect(port, std::chrono::milliseconds(200));
        },
        std::chrono::seconds(5));
    if (!up)
      return ::testing::AssertionFailure()
             << "nginx does not accept on port " << port << ": " << errorLog();
  }
  return ::testing::AssertionSuccess();
}

}  // namespace switchyard::support
