#include "tests/support/test_ca.h"

#include <fmt/format.h>

#include <stdexcept>

#include "tests/support/run_command.h"

namespace switchyard::support {

namespace {

void run(const std::vector<std::string>& argv) {
  CommandResult r = runCommand(argv, std::chrono::seconds(30));
  if (r.exit_code != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    throw std::runtime_error("TestCa: `" + cmd + "` failed (" + std::to_string(r.exit_code) +
                             "): " + r.output());
  }
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

}  // namespace

TestCa::TestCa(std::string name) : dir_("switchyard-ca") {
  ca_cert_ = dir_.file("ca.pem");
  ca_key_ = dir_.file("ca.key");
  run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key_, "-out",
       ca_cert_, "-days", "3", "-subj", "/CN=" + name, "-addext",
       "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
  // `openssl ca` (rather than `x509 -req`) because it can date a certificate in the past.
  dir_.writeFile("index.txt", "");
  dir_.writeFile("ca.cnf", fmt::format(R"([ ca ]
default_ca = test_ca
[ test_ca ]
database = {0}/index.txt
new_certs_dir = {0}
serial = {0}/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[ any ]
commonName = supplied
)",
                                       dir_.path()));
}

TestCertificate TestCa::issue(uint32_t serial, const Options& options) {
  const std::string hex = fmt::format("{:04X}", serial);
  const std::string base = dir_.file("server-" + hex);
  TestCertificate c{base + ".pem", base + ".key", hex};
  run({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", c.private_key, "-out",
       base + ".csr", "-subj", "/CN=switchyard-test-" + hex});
  dir_.writeFile("serial", hex + "\n");
  dir_.writeFile("server-" + hex + ".ext",
                 "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=" +
                     join(options.names) + "\n");
  std::vector<std::string> argv = {
      "openssl", "ca",          "-batch", "-config",     dir_.file("ca.cnf"),
      "-in",     base + ".csr", "-out",   c.certificate, "-cert",
      ca_cert_,  "-keyfile",    ca_key_,  "-extfile",    base + ".ext",
      "-notext"};
  if (options.expired) {
    argv.insert(argv.end(), {"-startdate", "20200101000000Z", "-enddate", "20201231000000Z"});
  } else {
    argv.insert(argv.end(), {"-days", "2"});
  }
  run(argv);
  return c;
}

}  // namespace switchyard::support
