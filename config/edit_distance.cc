#include "config/edit_distance.h"

#include <algorithm>
#include <cctype>

namespace switchyard::config {

size_t editDistance(std::string_view a, std::string_view b) {
  // One row of the classic dynamic-programming table is enough.
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      const size_t substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitution});
      diagonal = above;
    }
  }
  return row[b.size()];
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::optional<std::string> closestMatch(std::string_view word,
                                        const std::vector<std::string_view>& candidates) {
  // Case and '-' versus '_' are the commonest slips: compare without them first.
  std::string folded = lower(word);
  std::replace(folded.begin(), folded.end(), '-', '_');
  const std::string_view* best = nullptr;
  size_t best_distance = 0;
  for (const auto& c : candidates) {
    const size_t d = editDistance(folded, c);
    if (!best || d < best_distance) {
      best = &c;
      best_distance = d;
    }
  }
  if (!best) return std::nullopt;
  // A third of the word's length (at least 2) still reads as a typo; more is another word.
  const size_t limit = std::max<size_t>(2, folded.size() / 3);
  if (best_distance <= limit && best_distance < std::max(folded.size(), best->size()))
    return std::string(*best);
  // A distinctive fragment: "timeout" for "connect_timeout_ms". Among several, the nearest.
  if (folded.size() >= 4) {
    const std::string_view* fragment_best = nullptr;
    size_t fragment_distance = 0;
    for (const auto& c : candidates) {
      if (c.find(folded) == std::string_view::npos) continue;
      const size_t d = editDistance(folded, c);
      if (!fragment_best || d < fragment_distance) {
        fragment_best = &c;
        fragment_distance = d;
      }
    }
    if (fragment_best) return std::string(*fragment_best);
  }
  return std::nullopt;
}

}  // namespace switchyard::config
