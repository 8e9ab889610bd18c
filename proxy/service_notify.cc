#include "proxy/service_notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <string>

namespace switchyard::proxy {

namespace {

void send(std::string message, std::string_view status) {
  if (!status.empty()) {
    // One assignment per line in the protocol: a newline in the text would start another.
    std::string line(status);
    for (char& c : line)
      if (c == '\n') c = ' ';
    message += (message.empty() ? "STATUS=" : "\nSTATUS=") + line;
  }
  // Returns 0 without NOTIFY_SOCKET, < 0 on a send error: neither is worth stopping the gateway
  // for (systemd's start timeout tells the operator if READY=1 never arrived).
  (void)sd_notify(0, message.c_str());
}

}  // namespace

void notifyReady(std::string_view status) { send("READY=1", status); }

void notifyReloading(std::string_view status) {
  // systemd 253+ wants the CLOCK_MONOTONIC time of the reload beside RELOADING=1 (to tell this
  // reload from an earlier one); older versions ignore it.
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const auto usec = static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL +
                    static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec), status);
}

void notifyStopping(std::string_view status) { send("STOPPING=1", status); }

void notifyStatus(std::string_view status) {
  if (!status.empty()) send("", status);
}

void ServiceNotifier::serving(bool discovery_ready) {
  serving_ = true;
  if (!discovery_ready)
    notifyStatus("listeners bound; waiting for every discovery source to be read once");
  discoveryChanged(discovery_ready);
}

void ServiceNotifier::discoveryChanged(bool discovery_ready) {
  if (!serving_ || ready_sent_ || stopping_ || !discovery_ready) return;
  ready_sent_ = true;
  notifyReady("serving");
}

void ServiceNotifier::reloading() {
  if (ready_sent_ && !stopping_) notifyReloading("reloading the configuration");
}

void ServiceNotifier::reloaded() {
  if (ready_sent_ && !stopping_) notifyReady("serving");
}

void ServiceNotifier::stopping() {
  if (stopping_) return;
  stopping_ = true;
  notifyStopping("draining");
}

}  // namespace switchyard::proxy
