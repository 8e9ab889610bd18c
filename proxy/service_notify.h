#pragma once
// Tells systemd what the gateway is doing (a Type=notify unit, see packaging/), through
// libsystemd's sd_notify. Every call does nothing when NOTIFY_SOCKET is unset: started by hand, by
// a test, or by a unit of another Type.

#include <string_view>

namespace switchyard::proxy {

// One message each; `status` becomes STATUS=... (what `systemctl status` shows), omitted if empty.
void notifyReady(std::string_view status);      // READY=1
void notifyReloading(std::string_view status);  // RELOADING=1 (READY=1 ends the reload)
void notifyStopping(std::string_view status);   // STOPPING=1
void notifyStatus(std::string_view status);     // STATUS=... alone

// When to say READY=1: systemd starts the units ordered after ours, and `systemctl start` returns,
// once the gateway would answer /ready with 200: listeners bound and accepting, and every
// discovery source read once. Control thread only.
class ServiceNotifier {
 public:
  // The workers accept on every listener now.
  void serving(bool discovery_ready);
  // Discovery readiness may have changed (a source read, a snapshot published).
  void discoveryChanged(bool discovery_ready);
  // SIGHUP: RELOADING=1 before the file is read, READY=1 once applied or refused (the journal
  // says which). Nothing before the first READY=1: systemd is still waiting for that one.
  void reloading();
  void reloaded();
  // SIGTERM: STOPPING=1 as the drain begins (systemctl stop then waits up to TimeoutStopSec).
  void stopping();

 private:
  bool serving_ = false;
  bool ready_sent_ = false;
  bool stopping_ = false;
};

}  // namespace switchyard::proxy
