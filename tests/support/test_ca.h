#pragma once
// A throwaway certificate authority for TLS tests, made with the openssl command line in a
// TempDir: a CA, and server certificates it signs (for 127.0.0.1 and localhost by default, or
// other names; valid, or expired). Each certificate has the serial number the test chose, so a
// test can tell which one a server presented.
//
// Construction and issue() throw std::runtime_error with openssl's output when a command fails:
// a test that cannot make its certificates has nothing to say.

#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace switchyard::support {

struct TestCertificate {
  std::string certificate;  // PEM file: the leaf certificate
  std::string private_key;  // PEM file: its unencrypted key
  std::string serial;       // upper-case hex, as OpenSSL prints it ("1001")
};

class TestCa {
 public:
  explicit TestCa(std::string name = "Switchyard Test CA");

  const std::string& caCertificate() const { return ca_cert_; }  // PEM file
  const TempDir& dir() const { return dir_; }

  struct Options {
    std::vector<std::string> names = {"DNS:localhost", "IP:127.0.0.1"};  // subjectAltName
    bool expired = false;                                                // valid during 2020 only
  };
  // A server certificate signed by this CA; `serial` must be unique within the CA.
  TestCertificate issue(uint32_t serial, const Options& options);
  TestCertificate issue(uint32_t serial) { return issue(serial, Options{}); }

 private:
  TempDir dir_;
  std::string ca_cert_;
  std::string ca_key_;
};

}  // namespace switchyard::support
