#pragma once
// Levenshtein distance and the "did you mean" pick built on it, for unknown keys and bad enum
// values in the configuration.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchyard::config {

// Insertions, deletions and substitutions needed to turn a into b (ASCII, case-sensitive).
size_t editDistance(std::string_view a, std::string_view b);

// The candidate closest to `word`, when it is close enough to be a plausible typo (or the word
// is a distinctive part of it, as "timeout" is of "connect_timeout_ms"); nothing otherwise.
std::optional<std::string> closestMatch(std::string_view word,
                                        const std::vector<std::string_view>& candidates);

}  // namespace switchyard::config
