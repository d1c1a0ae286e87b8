// psql's \d name patterns: a small regular-expression matcher (Thompson NFA)
// for what psql generates from them (psql_catalog_internal.h).
#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "sql/psql_catalog_internal.h"

namespace strata::sql::psql {

namespace {
constexpr size_t pattern_bytes_max = 1024;
}  // namespace

// psql turns \d patterns into `col OPERATOR(pg_catalog.~) '^(regex)$'`: `*`
// becomes `.*`, `?` becomes `.`, quoted characters are escaped, and other
// regular-expression syntax the user typed passes through. This matcher
// covers that syntax (literals, escapes, `.`, brackets, groups, `|`, `*`,
// `+`, `?`, `^`, `$`) as a Thompson NFA, so matching is linear in the name
// whatever the pattern. Bytes, not characters: `.` takes one byte.
class name_regex {
 public:
  static outcome<name_regex> compile(std::string_view re) {
    name_regex out;
    compiler c{re, out.states_};
    auto frag = c.alternation(0);
    if (!frag.ok()) return frag.err();
    if (c.pos != re.size()) return bad(re, "parentheses () not balanced");
    c.patch(frag->outs, c.add(make(state::match)));
    out.start_ = frag->start;
    return out;
  }

  // Like PostgreSQL's ~: true when the pattern matches anywhere in `text`.
  bool search(std::string_view text) const {
    std::vector<uint32_t> mark(states_.size(), 0);
    std::vector<int> current, next;
    uint32_t generation = 1;
    follow(current, start_, 0, text.size(), mark, generation);
    for (size_t pos = 0;; ++pos) {
      for (int s : current) {
        if (states_[s].kind == state::match) return true;
      }
      if (pos == text.size()) return false;
      ++generation;
      next.clear();
      const auto byte = static_cast<unsigned char>(text[pos]);
      for (int s : current) {
        if (states_[s].kind == state::chars && states_[s].set[byte]) {
          follow(next, states_[s].next, pos + 1, text.size(), mark, generation);
        }
      }
      follow(next, start_, pos + 1, text.size(), mark, generation);
      current.swap(next);
    }
  }

 private:
  struct state {
    enum kind_t : uint8_t { chars, split, jump, line_start, line_end, match } kind = jump;
    std::bitset<256> set;
    int next = -1;
    int alt = -1;  // split only
  };
  struct hole {
    int state;
    bool alt;
  };
  struct fragment {
    int start;
    std::vector<hole> outs;
  };

  static constexpr int depth_max = 32;

  static error bad(std::string_view re, std::string_view why) {
    return error{"2201B", fmt::format("invalid regular expression: {}", why), fmt::format("pattern: {}", re), {}};
  }

  static state make(state::kind_t kind) {
    state s;
    s.kind = kind;
    return s;
  }

  // Adds `s` and every state reachable from it without input to `list`.
  void follow(std::vector<int>& list, int s, size_t pos, size_t size, std::vector<uint32_t>& mark,
              uint32_t generation) const {
    std::vector<int> todo{s};
    while (!todo.empty()) {
      const int at = todo.back();
      todo.pop_back();
      if (at < 0 || mark[at] == generation) continue;
      mark[at] = generation;
      const state& st = states_[at];
      switch (st.kind) {
        case state::jump: todo.push_back(st.next); break;
        case state::split: todo.push_back(st.alt); todo.push_back(st.next); break;
        case state::line_start: if (pos == 0) todo.push_back(st.next); break;
        case state::line_end: if (pos == size) todo.push_back(st.next); break;
        default: list.push_back(at); break;
      }
    }
  }

  struct compiler {
    std::string_view re;
    std::vector<state>& states;
    size_t pos = 0;

    int add(state s) {
      states.push_back(s);
      return int(states.size() - 1);
    }
    void patch(const std::vector<hole>& outs, int target) {
      for (const hole& h : outs) (h.alt ? states[h.state].alt : states[h.state].next) = target;
    }
    bool at(char c) const { return pos < re.size() && re[pos] == c; }

    outcome<fragment> alternation(int depth) {
      if (depth > depth_max) return bad(re, "nesting too deep");
      auto left = sequence(depth);
      if (!left.ok()) return left;
      while (at('|')) {
        ++pos;
        auto right = sequence(depth);
        if (!right.ok()) return right;
        state s = make(state::split);
        s.next = left->start;
        s.alt = right->start;
        fragment f{add(s), std::move(left->outs)};
        f.outs.insert(f.outs.end(), right->outs.begin(), right->outs.end());
        left = std::move(f);
      }
      return left;
    }

    outcome<fragment> sequence(int depth) {
      const int empty = add(make(state::jump));
      fragment f{empty, {{empty, false}}};
      while (pos < re.size() && !at('|') && !at(')')) {
        auto piece = repeated(depth);
        if (!piece.ok()) return piece;
        patch(f.outs, piece->start);
        f.outs = std::move(piece->outs);
      }
      return f;
    }

    outcome<fragment> repeated(int depth) {
      auto f = atom(depth);
      if (!f.ok()) return f;
      while (at('*') || at('+') || at('?') || at('{')) {
        if (at('{')) return bad(re, "{m,n} bounds are not supported in name patterns");
        const char q = re[pos++];
        state s = make(state::split);
        s.next = f->start;
        const int split = add(s);
        if (q == '*') {
          patch(f->outs, split);
          f = fragment{split, {{split, true}}};
        } else if (q == '+') {
          patch(f->outs, split);
          f = fragment{f->start, {{split, true}}};
        } else {
          f->outs.push_back({split, true});
          f->start = split;
        }
      }
      return f;
    }

    outcome<fragment> atom(int depth) {
      const char c = re[pos++];
      state s = make(state::chars);
      switch (c) {
        case '(': {
          if (re.substr(pos).starts_with("?:")) pos += 2;
          auto inner = alternation(depth + 1);
          if (!inner.ok()) return inner;
          if (!at(')')) return bad(re, "parentheses () not balanced");
          ++pos;
          return inner;
        }
        case '*': case '+': case '?': return bad(re, "quantifier operand invalid");
        case '^': s.kind = state::line_start; break;
        case '$': s.kind = state::line_end; break;
        case '.': s.set.set(); break;
        case '[': {
          auto set = bracket();
          if (!set.ok()) return set.err();
          s.set = *set;
          break;
        }
        case '\\': {
          if (pos == re.size()) return bad(re, "invalid escape \\ sequence");
          s.set = escape(re[pos++]);
          break;
        }
        default: s.set.set(static_cast<unsigned char>(c)); break;
      }
      const int id = add(s);
      return fragment{id, {{id, false}}};
    }

    static std::bitset<256> escape(char c) {
      std::bitset<256> set;
      auto range = [&set](char lo, char hi) {
        for (int b = static_cast<unsigned char>(lo); b <= static_cast<unsigned char>(hi); ++b) set.set(size_t(b));
      };
      switch (c) {
        case 'd': range('0', '9'); break;
        case 'w': range('0', '9'); range('a', 'z'); range('A', 'Z'); set.set('_'); break;
        case 's': for (char w : {' ', '\t', '\n', '\r', '\f', '\v'}) set.set(static_cast<unsigned char>(w)); break;
        default: set.set(static_cast<unsigned char>(c)); break;
      }
      return set;
    }

    outcome<std::bitset<256>> bracket() {
      std::bitset<256> set;
      const bool negate = at('^');
      if (negate) ++pos;
      bool first = true;
      while (pos < re.size() && (first || !at(']'))) {
        first = false;
        unsigned char lo = static_cast<unsigned char>(re[pos++]);
        if (lo == '\\' && pos < re.size()) {
          set |= escape(re[pos++]);
          continue;
        }
        unsigned char hi = lo;
        if (at('-') && pos + 1 < re.size() && re[pos + 1] != ']') {
          hi = static_cast<unsigned char>(re[pos + 1]);
          pos += 2;
          if (hi < lo) return bad(re, "invalid character range");
        }
        for (int b = lo; b <= hi; ++b) set.set(size_t(b));
      }
      if (!at(']')) return bad(re, "brackets [] not balanced");
      ++pos;
      if (negate) set.flip();
      return set;
    }
  };

  std::vector<state> states_;
  int start_ = 0;
};

bool name_filter::matches(std::string_view name) const { return !regex || regex->search(name); }

outcome<name_filter> filter_for(const query& q, std::string_view column) {
  const std::string fragment = std::string(column) + " operator(pg_catalog.~) ";
  size_t at = q.lower.find(fragment);
  if (at == std::string::npos) return name_filter{};
  auto literal = string_literal(q.text, at + fragment.size());
  if (!literal) return error{"42601", "unterminated pattern literal in a catalog query", {}, {}};
  if (literal->size() > pattern_bytes_max) {
    return error{"54000", fmt::format("the name pattern is longer than {} bytes", pattern_bytes_max), {},
                 "Use a shorter pattern."};
  }
  auto regex = name_regex::compile(*literal);
  if (!regex.ok()) return regex.err();
  return name_filter{std::make_shared<const name_regex>(std::move(regex.value()))};
}

}  // namespace strata::sql::psql
