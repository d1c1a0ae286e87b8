// tpch_gen: our own generator of a TPC-H-shaped data set (the 8 tables and
// columns of the TPC-H schema, with dbgen-like value distributions), written
// as PostgreSQL COPY text files (tab-separated, no NULLs, no escapes needed).
//
//   tpch_gen --scale 1 --out DIR [--seed 1]
//
// Deterministic: the same scale and seed give the same bytes. Each table
// draws from its own random stream, so tables do not depend on each other's
// draws. Prints one JSON object with the row count per table on stdout.
//
// Not dbgen: the text is random words, keys and counts follow the spec's
// formulas (sparse order keys, 4 suppliers per part, customers with
// custkey % 3 == 0 place no orders) so the 22 queries return non-empty results.
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::size_t flush_bytes = 1 << 20;

// splitmix64: small, fast and good enough for benchmark data.
class rng {
 public:
  explicit rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi].
  int64_t range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1));
  }

 private:
  uint64_t state_;
};

class out_file {
 public:
  out_file(const std::string& dir, const char* table) : path_(dir + "/" + table + ".tsv") {
    f_ = std::fopen(path_.c_str(), "wb");
    if (f_ == nullptr) {
      std::fprintf(stderr, "tpch_gen: cannot create %s: %s\n", path_.c_str(), std::strerror(errno));
      std::exit(1);
    }
    buf_.reserve(flush_bytes + 4096);
  }
  out_file(const out_file&) = delete;
  out_file& operator=(const out_file&) = delete;
  ~out_file() {
    flush();
    if (std::fclose(f_) != 0) fail();
  }

  out_file& str(std::string_view s) {
    buf_.append(s);
    return *this;
  }
  out_file& tab() { return ch('\t'); }
  out_file& ch(char c) {
    buf_.push_back(c);
    return *this;
  }
  out_file& num(int64_t v) {
    char tmp[24];
    int n = 0;
    bool neg = v < 0;
    uint64_t u = neg ? static_cast<uint64_t>(-v) : static_cast<uint64_t>(v);
    do {
      tmp[n++] = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u != 0);
    if (neg) buf_.push_back('-');
    while (n > 0) buf_.push_back(tmp[--n]);
    return *this;
  }
  // Zero-padded to `width` digits (v >= 0).
  out_file& padded(int64_t v, int width) {
    char tmp[24];
    for (int i = width - 1; i >= 0; --i) {
      tmp[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
    buf_.append(tmp, static_cast<std::size_t>(width));
    return *this;
  }
  // Cents as a DECIMAL(15,2) literal.
  out_file& money(int64_t cents) {
    if (cents < 0) {
      buf_.push_back('-');
      cents = -cents;
    }
    num(cents / 100).ch('.');
    return padded(cents % 100, 2);
  }
  void end_row() {
    buf_.push_back('\n');
    if (buf_.size() >= flush_bytes) flush();
  }

 private:
  void flush() {
    if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size()) fail();
    buf_.clear();
  }
  [[noreturn]] void fail() {
    std::fprintf(stderr, "tpch_gen: writing %s failed: %s\n", path_.c_str(), std::strerror(errno));
    std::exit(1);
  }

  std::string path_;
  std::FILE* f_;
  std::string buf_;
};

// ---- vocabularies (the TPC-H specification's lists) ----

constexpr const char* regions[] = {"AFRICA", "AMERICA", "ASIA", "EUROPE", "MIDDLE EAST"};
struct nation_def {
  const char* name;
  int region;
};
constexpr nation_def nations[] = {
    {"ALGERIA", 0}, {"ARGENTINA", 1}, {"BRAZIL", 1},  {"CANADA", 1},      {"EGYPT", 4},
    {"ETHIOPIA", 0}, {"FRANCE", 3},  {"GERMANY", 3}, {"INDIA", 2},       {"INDONESIA", 2},
    {"IRAN", 4},    {"IRAQ", 4},     {"JAPAN", 2},   {"JORDAN", 4},      {"KENYA", 0},
    {"MOROCCO", 0}, {"MOZAMBIQUE", 0}, {"PERU", 1},  {"CHINA", 2},       {"ROMANIA", 3},
    {"SAUDI ARABIA", 4}, {"VIETNAM", 2}, {"RUSSIA", 3}, {"UNITED KINGDOM", 3}, {"UNITED STATES", 1}};
constexpr const char* colors[] = {
    "almond",   "antique",   "aquamarine", "azure",     "beige",     "bisque",    "black",
    "blanched", "blue",      "blush",      "brown",     "burlywood", "burnished", "chartreuse",
    "chiffon",  "chocolate", "coral",      "cornflower", "cornsilk", "cream",     "cyan",
    "dark",     "deep",      "dim",        "dodger",    "drab",      "firebrick", "floral",
    "forest",   "frosted",   "gainsboro",  "ghost",     "goldenrod", "green",     "grey",
    "honeydew", "hot",       "indian",     "ivory",     "khaki",     "lace",      "lavender",
    "lawn",     "lemon",     "light",      "lime",      "linen",     "magenta",   "maroon",
    "medium",   "metallic",  "midnight",   "mint",      "misty",     "moccasin",  "navajo",
    "navy",     "olive",     "orange",     "orchid",    "pale",      "papaya",    "peach",
    "peru",     "pink",      "plum",       "powder",    "puff",      "purple",    "red",
    "rose",     "rosy",      "royal",      "saddle",    "salmon",    "sandy",     "seashell",
    "sienna",   "sky",       "slate",      "smoke",     "snow",      "spring",    "steel",
    "tan",      "thistle",   "tomato",     "turquoise", "violet",    "wheat",     "white",
    "yellow"};
constexpr const char* type_s1[] = {"STANDARD", "SMALL", "MEDIUM", "LARGE", "ECONOMY", "PROMO"};
constexpr const char* type_s2[] = {"ANODIZED", "BURNISHED", "PLATED", "POLISHED", "BRUSHED"};
constexpr const char* type_s3[] = {"TIN", "NICKEL", "BRASS", "STEEL", "COPPER"};
constexpr const char* container_s1[] = {"SM", "LG", "MED", "JUMBO", "WRAP"};
constexpr const char* container_s2[] = {"CASE", "BOX", "BAG", "JAR", "PKG", "PACK", "CAN", "DRUM"};
constexpr const char* segments[] = {"AUTOMOBILE", "BUILDING", "FURNITURE", "MACHINERY", "HOUSEHOLD"};
constexpr const char* priorities[] = {"1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW"};
constexpr const char* instructions[] = {"DELIVER IN PERSON", "COLLECT COD", "NONE", "TAKE BACK RETURN"};
constexpr const char* modes[] = {"REG AIR", "AIR", "RAIL", "SHIP", "TRUCK", "MAIL", "FOB"};
constexpr const char* words[] = {
    "furiously", "carefully", "quickly",  "slyly",     "blithely",  "fluffily",  "ironic",
    "final",     "regular",   "pending",  "express",   "special",   "bold",      "even",
    "silent",    "unusual",   "packages", "deposits",  "requests",  "accounts",  "instructions",
    "theodolites", "foxes",   "pinto",    "beans",     "asymptotes", "dependencies", "platelets",
    "excuses",   "ideas",     "sleep",    "wake",      "haggle",    "nag",       "use",
    "boost",     "affix",     "detect",   "integrate", "cajole",    "above",     "after",
    "among",     "against",   "along",    "across",    "the",       "of"};

template <class T, std::size_t N>
constexpr int64_t count_of(const T (&)[N]) {
    return static_cast<int64_t>(N);
}

template <class T, std::size_t N>
const char* pick(rng& r, const T (&list)[N]) {
  return list[r.next() % N];
}

// Random words, as many as fit in [min_len, max_len] characters.
void comment(out_file& out, rng& r, int min_len, int max_len) {
  int target = static_cast<int>(r.range(min_len, max_len));
  int len = 0;
  while (true) {
    const char* w = pick(r, words);
    int wl = static_cast<int>(std::strlen(w));
    int add = wl + (len > 0 ? 1 : 0);
    if (len + add > max_len || (len >= min_len && len + add > target)) break;
    if (len > 0) out.ch(' ');
    out.str(w);
    len += add;
  }
}

void address(out_file& out, rng& r) {
  static constexpr char alphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.";
  int n = static_cast<int>(r.range(10, 40));
  for (int i = 0; i < n; ++i) out.ch(alphabet[r.next() % (sizeof(alphabet) - 1)]);
}

void phone(out_file& out, rng& r, int64_t nationkey) {
  out.num(nationkey + 10).ch('-').num(r.range(100, 999)).ch('-').num(r.range(100, 999)).ch('-');
  out.num(r.range(1000, 9999));
}

// ---- dates: days since 1970-01-01 ----

int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// Inverse of days_from_civil (same algorithm, run backwards).
void civil_from_days(int64_t z, int* y, int* m, int* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = static_cast<int>(yoe + era * 400 + (*m <= 2));
}

// 'YYYY-MM-DD' for every day the generator can produce, made once.
class date_text {
 public:
  date_text() : first_(days_from_civil(1992, 1, 1)) {
    for (int64_t day = first_; day <= days_from_civil(1999, 12, 31); ++day) {
      int y, m, d;
      civil_from_days(day, &y, &m, &d);
      char buf[32];
      std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
      text_.emplace_back(buf);
    }
  }
  const std::string& operator()(int64_t day) const { return text_.at(static_cast<std::size_t>(day - first_)); }

 private:
  int64_t first_;
  std::vector<std::string> text_;
};

struct counts {
  int64_t suppliers, parts, customers, orders, clerks;
};

counts counts_for(double scale) {
  auto n = [scale](double per_sf) { return static_cast<int64_t>(std::llround(per_sf * scale)); };
  // At least 4 suppliers (each part has 4) and 3 customers (a third never order).
  return counts{std::max<int64_t>(4, n(10000)), n(200000), std::max<int64_t>(3, n(150000)), n(1500000),
                std::max<int64_t>(1, n(1000))};
}

// dbgen's retail price formula, in cents.
int64_t retail_cents(int64_t partkey) {
  return 90000 + ((partkey / 10) % 20001) + 100 * (partkey % 1000);
}

// The i-th (0..3) supplier of a part. dbgen's formula, except that its
// (partkey - 1) / suppliers term is an offset rather than part of the
// stride, so the 4 suppliers stay distinct at every scale.
int64_t part_supplier(int64_t partkey, int64_t i, int64_t suppliers) {
  return (partkey + i * (suppliers / 4) + (partkey - 1) / suppliers) % suppliers + 1;
}

// dbgen's sparse order keys: 8 used keys out of each 32.
int64_t order_key(int64_t index) { return (index / 8) * 32 + index % 8 + 1; }

enum table_stream : uint64_t { s_region = 1, s_nation, s_supplier, s_customer, s_part, s_partsupp, s_orders };

int64_t gen_region(const std::string& dir, uint64_t seed) {
  out_file out(dir, "region");
  rng r(seed * 131 + s_region);
  for (int64_t k = 0; k < count_of(regions); ++k) {
    out.num(k).tab().str(regions[k]).tab();
    comment(out, r, 31, 115);
    out.end_row();
  }
  return count_of(regions);
}

int64_t gen_nation(const std::string& dir, uint64_t seed) {
  out_file out(dir, "nation");
  rng r(seed * 131 + s_nation);
  for (int64_t k = 0; k < count_of(nations); ++k) {
    out.num(k).tab().str(nations[k].name).tab().num(nations[k].region).tab();
    comment(out, r, 31, 114);
    out.end_row();
  }
  return count_of(nations);
}

int64_t gen_supplier(const std::string& dir, uint64_t seed, const counts& c) {
  out_file out(dir, "supplier");
  rng r(seed * 131 + s_supplier);
  for (int64_t k = 1; k <= c.suppliers; ++k) {
    int64_t nation = r.range(0, 24);
    out.num(k).tab().str("Supplier#").padded(k, 9).tab();
    address(out, r);
    out.tab().num(nation).tab();
    phone(out, r, nation);
    out.tab().money(r.range(-99999, 999999)).tab();
    // About 5 in 10000 suppliers have complaints and 5 recommendations (Q16).
    uint64_t special = r.next() % 2000;
    if (special == 0) out.str("carefully Customer regular Complaints ");
    if (special == 1) out.str("blithely Customer even Recommends ");
    comment(out, r, 25, 60);
    out.end_row();
  }
  return c.suppliers;
}

int64_t gen_customer(const std::string& dir, uint64_t seed, const counts& c) {
  out_file out(dir, "customer");
  rng r(seed * 131 + s_customer);
  for (int64_t k = 1; k <= c.customers; ++k) {
    int64_t nation = r.range(0, 24);
    out.num(k).tab().str("Customer#").padded(k, 9).tab();
    address(out, r);
    out.tab().num(nation).tab();
    phone(out, r, nation);
    out.tab().money(r.range(-99999, 999999)).tab().str(pick(r, segments)).tab();
    comment(out, r, 29, 116);
    out.end_row();
  }
  return c.customers;
}

int64_t gen_part_and_partsupp(const std::string& dir, uint64_t seed, const counts& c, int64_t* partsupp_rows) {
  out_file part(dir, "part");
  out_file ps(dir, "partsupp");
  rng r(seed * 131 + s_part);
  rng rs(seed * 131 + s_partsupp);
  for (int64_t k = 1; k <= c.parts; ++k) {
    part.num(k).tab();
    int chosen[5];
    for (int i = 0; i < 5; ++i) {
      bool again;
      do {
        chosen[i] = static_cast<int>(r.next() % count_of(colors));
        again = false;
        for (int j = 0; j < i; ++j) again = again || chosen[j] == chosen[i];
      } while (again);
      if (i > 0) part.ch(' ');
      part.str(colors[chosen[i]]);
    }
    int64_t mfgr = r.range(1, 5);
    part.tab().str("Manufacturer#").num(mfgr).tab().str("Brand#").num(mfgr).num(r.range(1, 5)).tab();
    part.str(pick(r, type_s1)).ch(' ').str(pick(r, type_s2)).ch(' ').str(pick(r, type_s3)).tab();
    part.num(r.range(1, 50)).tab().str(pick(r, container_s1)).ch(' ').str(pick(r, container_s2)).tab();
    part.money(retail_cents(k)).tab();
    comment(part, r, 5, 22);
    part.end_row();
    for (int64_t i = 0; i < 4; ++i) {
      ps.num(k).tab().num(part_supplier(k, i, c.suppliers)).tab().num(rs.range(1, 9999)).tab();
      ps.money(rs.range(100, 100000)).tab();
      comment(ps, rs, 49, 198);
      ps.end_row();
    }
  }
  *partsupp_rows = 4 * c.parts;
  return c.parts;
}

int64_t gen_orders_and_lineitem(const std::string& dir, uint64_t seed, const counts& c, const date_text& dates,
                                int64_t* lineitem_rows) {
  out_file orders(dir, "orders");
  out_file line(dir, "lineitem");
  rng r(seed * 131 + s_orders);
  const int64_t start = days_from_civil(1992, 1, 1);
  const int64_t end = days_from_civil(1998, 12, 31);
  const int64_t current = days_from_civil(1995, 6, 17);
  int64_t lines_total = 0;
  for (int64_t i = 0; i < c.orders; ++i) {
    int64_t key = order_key(i);
    int64_t cust;
    do cust = r.range(1, c.customers);
    while (cust % 3 == 0 && c.customers > 2);
    int64_t odate = r.range(start, end - 151);
    int64_t nlines = r.range(1, 7);
    int64_t total_cents = 0;
    int shipped = 0;
    for (int64_t ln = 1; ln <= nlines; ++ln) {
      int64_t partkey = r.range(1, c.parts);
      int64_t suppkey = part_supplier(partkey, r.range(0, 3), c.suppliers);
      int64_t qty = r.range(1, 50);
      int64_t price = qty * retail_cents(partkey);
      int64_t disc = r.range(0, 10);
      int64_t tax = r.range(0, 8);
      int64_t ship = odate + r.range(1, 121);
      int64_t commit = odate + r.range(30, 90);
      int64_t receipt = ship + r.range(1, 30);
      char rflag = receipt <= current ? (r.next() % 2 == 0 ? 'R' : 'A') : 'N';
      char lstatus = ship > current ? 'O' : 'F';
      shipped += lstatus == 'F';
      total_cents += (price * (100 + tax) * (100 - disc) + 5000) / 10000;
      line.num(key).tab().num(partkey).tab().num(suppkey).tab().num(ln).tab().num(qty).tab();
      line.money(price).tab().money(disc).tab().money(tax).tab().ch(rflag).tab().ch(lstatus).tab();
      line.str(dates(ship)).tab().str(dates(commit)).tab().str(dates(receipt)).tab();
      line.str(pick(r, instructions)).tab().str(pick(r, modes)).tab();
      comment(line, r, 10, 43);
      line.end_row();
    }
    lines_total += nlines;
    char status = shipped == nlines ? 'F' : (shipped == 0 ? 'O' : 'P');
    orders.num(key).tab().num(cust).tab().ch(status).tab().money(total_cents).tab().str(dates(odate)).tab();
    orders.str(pick(r, priorities)).tab().str("Clerk#").padded(r.range(1, c.clerks), 9).tab().num(0).tab();
    comment(orders, r, 19, 78);
    orders.end_row();
  }
  *lineitem_rows = lines_total;
  return c.orders;
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "tpch_gen: %s\nusage: tpch_gen --scale SF --out DIR [--seed N]\n", why);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  double scale = 1.0;
  uint64_t seed = 1;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (i + 1 >= argc) usage("every flag takes a value");
    if (a == "--scale") {
      scale = std::strtod(argv[++i], nullptr);
    } else if (a == "--out") {
      dir = argv[++i];
    } else if (a == "--seed") {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else {
      usage("unknown flag");
    }
  }
  if (dir.empty()) usage("--out is required");
  if (!(scale >= 0.001 && scale <= 100)) usage("--scale must be between 0.001 and 100");

  auto t0 = std::chrono::steady_clock::now();
  counts c = counts_for(scale);
  date_text dates;
  int64_t partsupp = 0, lineitem = 0;
  int64_t region = gen_region(dir, seed);
  int64_t nation = gen_nation(dir, seed);
  int64_t supplier = gen_supplier(dir, seed, c);
  int64_t customer = gen_customer(dir, seed, c);
  int64_t part = gen_part_and_partsupp(dir, seed, c, &partsupp);
  int64_t orders = gen_orders_and_lineitem(dir, seed, c, dates, &lineitem);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "{\"region\": %lld, \"nation\": %lld, \"supplier\": %lld, \"customer\": %lld, \"part\": %lld, "
      "\"partsupp\": %lld, \"orders\": %lld, \"lineitem\": %lld, \"seconds\": %.3f}\n",
      static_cast<long long>(region), static_cast<long long>(nation), static_cast<long long>(supplier),
      static_cast<long long>(customer), static_cast<long long>(part), static_cast<long long>(partsupp),
      static_cast<long long>(orders), static_cast<long long>(lineitem), secs);
  return 0;
}
