#include "keeper/config/toml_table.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace varkeeper::keeper {
namespace {

namespace fs = std::filesystem;

// Optimal string alignment distance (Levenshtein plus adjacent transpositions), for "did you mean".
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) {
    d[i][0] = i;
  }
  for (std::size_t j = 0; j <= b.size(); ++j) {
    d[0][j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::optional<std::string_view> closest(std::string_view word,
                                        std::initializer_list<std::string_view> candidates) {
  std::optional<std::string_view> best;
  std::size_t best_distance = std::max<std::size_t>(1, word.size() / 3) + 1;
  for (auto c : candidates) {
    const std::size_t dist = edit_distance(word, c);
    if (dist < best_distance) {
      best_distance = dist;
      best = c;
    }
  }
  return best;
}

// Keys and values from the file are echoed in messages; TOML allows control characters in
// quoted keys and strings, so escape them to keep every message on one line.
std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out;
}

// toml++ reports "Error while parsing key-value pair: ..." style descriptions; keep them, on one
// line.
std::string one_line(std::string_view text) {
  std::string out(text);
  std::replace(out.begin(), out.end(), '\n', ' ');
  while (!out.empty() && (out.back() == ' ' || out.back() == '.')) {
    out.pop_back();
  }
  return out;
}

}  // namespace

std::string format_number(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", x);
  return buf;
}

std::string describe(const toml::node& node) {
  if (const auto* s = node.as_string()) {
    std::string text = s->get();
    if (text.size() > 40) {
      text = text.substr(0, 37) + "...";
    }
    return "a string (\"" + text + "\")";
  }
  if (const auto* i = node.as_integer()) {
    return "an integer (" + std::to_string(i->get()) + ")";
  }
  if (const auto* f = node.as_floating_point()) {
    return "a float (" + format_number(f->get()) + ")";
  }
  if (const auto* b = node.as_boolean()) {
    return std::string("a boolean (") + (b->get() ? "true" : "false") + ")";
  }
  if (node.is_table()) {
    return "a table";
  }
  if (node.is_array()) {
    return "an array";
  }
  return "a date or time";
}

toml::table parse_toml(std::string_view text, const std::string& file) {
  try {
    return toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    const auto& begin = e.source().begin;
    throw TomlError(printable(file + ":" + std::to_string(begin.line) + ":" +
                              std::to_string(begin.column) +
                              ": parse error: " + one_line(e.description())));
  }
}

void TomlFile::fail_sentence(const toml::node* where, const std::string& sentence) const {
  const auto line = where != nullptr ? where->source().begin.line : 0;
  const std::string at = line == 0 ? name_ : name_ + ":" + std::to_string(line);
  throw TomlError(printable(at + ": " + sentence));
}

void TomlFile::fail(const std::string& key, const toml::node* where,
                    const std::string& what) const {
  fail_sentence(where, key + ": " + what);
}

fs::path TomlFile::resolve(const std::string& text) const {
  const fs::path p(text);
  if (p.is_absolute()) {
    return p.lexically_normal();
  }
  return (base_dir_ / p).lexically_normal();
}

void TomlFile::require_readable_file(const std::string& key, const toml::node* where,
                                     const fs::path& path, std::string_view what) const {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    fail(key, where, std::string(what) + " " + path.string() + " does not exist");
  }
  if (!fs::is_regular_file(status)) {
    fail(key, where, std::string(what) + " " + path.string() + " is not a regular file");
  }
  if (::access(path.c_str(), R_OK) != 0) {
    fail(key, where, std::string(what) + " " + path.string() + " is not readable");
  }
}

TomlTable::TomlTable(const TomlFile& file, const toml::table& table, std::string path,
                     std::initializer_list<std::string_view> allowed,
                     std::span<const MovedKey> moved)
    : file_(file), table_(table), path_(std::move(path)) {
  for (auto&& [key, node] : table_) {
    const std::string_view k = key.str();
    if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) {
      continue;
    }
    std::string sentence = "unknown key '" + std::string(k) + "' " +
                           (path_.empty() ? std::string("at the top level") : "in " + path_);
    const auto m = std::find_if(moved.begin(), moved.end(),
                                [&](const MovedKey& mk) { return mk.old_key == k; });
    if (m != moved.end()) {
      sentence += " (it is now " + std::string(m->new_path) + ")";
    } else if (auto guess = closest(k, allowed)) {
      sentence += " (did you mean '" + std::string(*guess) + "'?)";
    }
    file_.fail_sentence(&node, sentence);
  }
}

std::string TomlTable::key(std::string_view k) const {
  return path_.empty() ? std::string(k) : path_ + "." + std::string(k);
}

const toml::node* TomlTable::where(std::string_view k) const {
  if (const auto* node = get(k)) {
    return node;
  }
  return path_.empty() ? nullptr : &table_;
}

void TomlTable::fail(std::string_view k, const std::string& what) const {
  file_.fail(key(k), where(k), what);
}

void TomlTable::fail_here(const std::string& what) const {
  file_.fail(path_, path_.empty() ? nullptr : &table_, what);
}

void TomlTable::require(std::string_view k) const {
  if (!has(k)) {
    fail(k, "is required");
  }
}

std::optional<std::string> TomlTable::opt_string(std::string_view k) const {
  const auto* node = get(k);
  if (node == nullptr) {
    return std::nullopt;
  }
  const auto* s = node->as_string();
  if (s == nullptr) {
    fail(k, "must be a string, got " + describe(*node));
  }
  return s->get();
}

std::string TomlTable::string(std::string_view k) const {
  require(k);
  return *opt_string(k);
}

std::optional<bool> TomlTable::opt_bool(std::string_view k) const {
  const auto* node = get(k);
  if (node == nullptr) {
    return std::nullopt;
  }
  const auto* b = node->as_boolean();
  if (b == nullptr) {
    fail(k, "must be true or false, got " + describe(*node));
  }
  return b->get();
}

bool TomlTable::boolean(std::string_view k, bool fallback) const {
  return opt_bool(k).value_or(fallback);
}

std::optional<std::int64_t> TomlTable::opt_int(std::string_view k) const {
  const auto* node = get(k);
  if (node == nullptr) {
    return std::nullopt;
  }
  const auto* i = node->as_integer();
  if (i == nullptr) {
    fail(k, "must be an integer, got " + describe(*node));
  }
  return i->get();
}

std::optional<std::int64_t> TomlTable::opt_int_in(std::string_view k, std::int64_t lo,
                                                  std::int64_t hi) const {
  auto v = opt_int(k);
  if (v && (*v < lo || *v > hi)) {
    if (hi == std::numeric_limits<std::int64_t>::max()) {
      fail(k, "must be >= " + std::to_string(lo) + ", got " + std::to_string(*v));
    }
    fail(k, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                std::to_string(*v));
  }
  return v;
}

std::uint64_t TomlTable::uint(std::string_view k, std::uint64_t fallback, std::int64_t lo,
                              std::int64_t hi) const {
  auto v = opt_int_in(k, lo, hi);
  return v ? static_cast<std::uint64_t>(*v) : fallback;
}

std::int64_t TomlTable::int64(std::string_view k, std::int64_t fallback) const {
  return opt_int(k).value_or(fallback);
}

std::optional<double> TomlTable::opt_number(std::string_view k) const {
  const auto* node = get(k);
  if (node == nullptr) {
    return std::nullopt;
  }
  double v = 0.0;
  if (const auto* i = node->as_integer()) {
    v = static_cast<double>(i->get());
  } else if (const auto* f = node->as_floating_point()) {
    v = f->get();
  } else {
    fail(k, "must be a number, got " + describe(*node));
  }
  if (!std::isfinite(v)) {
    fail(k, "must be a finite number, got " + format_number(v));
  }
  return v;
}

double TomlTable::number(std::string_view k, double fallback) const {
  return opt_number(k).value_or(fallback);
}

std::optional<double> TomlTable::opt_number_in(std::string_view k, double lo, Bound lo_bound,
                                               double hi, Bound hi_bound) const {
  auto v = opt_number(k);
  if (!v) {
    return v;
  }
  const bool lo_ok = lo_bound == Bound::kNone || (lo_bound == Bound::kOpen ? *v > lo : *v >= lo);
  const bool hi_ok = hi_bound == Bound::kNone || (hi_bound == Bound::kOpen ? *v < hi : *v <= hi);
  if (lo_ok && hi_ok) {
    return v;
  }
  std::string range;
  if (hi_bound == Bound::kNone) {
    range = std::string(lo_bound == Bound::kOpen ? "> " : ">= ") + format_number(lo);
  } else if (lo_bound == Bound::kNone) {
    range = std::string(hi_bound == Bound::kOpen ? "< " : "<= ") + format_number(hi);
  } else {
    range = std::string("in ") + (lo_bound == Bound::kOpen ? "(" : "[") + format_number(lo) + ", " +
            format_number(hi) + (hi_bound == Bound::kOpen ? ")" : "]");
  }
  fail(k, "must be " + range + ", got " + format_number(*v));
}

double TomlTable::number_in(std::string_view k, double fallback, double lo, Bound lo_bound,
                            double hi, Bound hi_bound) const {
  return opt_number_in(k, lo, lo_bound, hi, hi_bound).value_or(fallback);
}

const toml::table* TomlTable::opt_table(std::string_view k) const {
  const auto* node = get(k);
  if (node == nullptr) {
    return nullptr;
  }
  const auto* t = node->as_table();
  if (t == nullptr) {
    fail(k, "must be a table, got " + describe(*node));
  }
  return t;
}

const toml::array* TomlTable::opt_array(std::string_view k) const {
  const auto* node = get(k);
  if (node == nullptr) {
    return nullptr;
  }
  const auto* a = node->as_array();
  if (a == nullptr) {
    fail(k, "must be an array, got " + describe(*node));
  }
  return a;
}

std::optional<TomlTable> TomlTable::sub(std::string_view k,
                                        std::initializer_list<std::string_view> allowed,
                                        std::span<const MovedKey> moved) const {
  const auto* t = opt_table(k);
  if (t == nullptr) {
    return std::nullopt;
  }
  return TomlTable(file_, *t, key(k), allowed, moved);
}

std::vector<std::pair<std::string, const toml::table*>> TomlTable::tables(
    std::string_view k) const {
  std::vector<std::pair<std::string, const toml::table*>> out;
  const auto* a = opt_array(k);
  if (a == nullptr) {
    return out;
  }
  for (std::size_t i = 0; i < a->size(); ++i) {
    const std::string element = key(k) + "[" + std::to_string(i) + "]";
    const auto* t = (*a)[i].as_table();
    if (t == nullptr) {
      file_.fail(element, &(*a)[i], "must be a table, got " + describe((*a)[i]));
    }
    out.emplace_back(element, t);
  }
  return out;
}

std::optional<chain::Address> TomlTable::opt_address(std::string_view k) const {
  auto text = opt_string(k);
  if (!text) {
    return std::nullopt;
  }
  auto address = chain::parse_address(*text);
  if (!address) {
    fail(k, "'" + *text + "' is not a valid address (" +
                std::string(chain::to_string(address.error())) + ")");
  }
  return *address;
}

std::optional<fs::path> TomlTable::opt_readable_path(std::string_view k,
                                                     std::string_view what) const {
  auto text = opt_string(k);
  if (!text) {
    return std::nullopt;
  }
  if (text->empty()) {
    fail(k, "must not be empty");
  }
  const fs::path p = file_.resolve(*text);
  file_.require_readable_file(key(k), get(k), p, what);
  return p;
}

}  // namespace varkeeper::keeper
