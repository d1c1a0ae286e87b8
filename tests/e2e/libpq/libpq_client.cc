// An end-to-end libpq client for Strata's PostgreSQL face: connect, PQexec,
// PQprepare + PQexecPrepared with binary int8/float8/text parameters and
// binary results, PQsendQuery + PQsetSingleRowMode, COPY FROM STDIN with
// PQputCopyData, COPY TO STDOUT with PQgetCopyData, and PQcancel.
//
//   usage: libpq_client CONNINFO [--long-query SQL]
// Prints one PASS/FAIL line per check; exits 1 if any check failed.
#include <endian.h>
#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

int failures = 0;

void check(bool ok, const std::string& name, const std::string& detail = "") {
  if (ok) {
    std::printf("PASS: %s\n", name.c_str());
  } else {
    ++failures;
    std::printf("FAIL: %s -- %s\n", name.c_str(), detail.c_str());
  }
  std::fflush(stdout);
}

struct result_deleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using result = std::unique_ptr<PGresult, result_deleter>;

std::string describe(PGconn* conn, const PGresult* res) {
  if (res == nullptr) return std::string("no result: ") + PQerrorMessage(conn);
  const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  return std::string(PQresStatus(PQresultStatus(res))) + " " + (state ? state : "") + " " +
         PQresultErrorMessage(res);
}

std::string sqlstate(const PGresult* res) {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  return state ? state : "";
}

bool exec_ok(PGconn* conn, const char* sql) {
  result res(PQexec(conn, sql));
  bool ok = res && PQresultStatus(res.get()) == PGRES_COMMAND_OK;
  if (!ok) check(false, std::string("exec: ") + sql, describe(conn, res.get()));
  return ok;
}

std::string single_value(PGconn* conn, const char* sql) {
  result res(PQexec(conn, sql));
  if (!res || PQresultStatus(res.get()) != PGRES_TUPLES_OK || PQntuples(res.get()) != 1) {
    return "<error: " + describe(conn, res.get()) + ">";
  }
  return PQgetisnull(res.get(), 0, 0) ? "NULL" : PQgetvalue(res.get(), 0, 0);
}

uint64_t be64_at(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return be64toh(v);
}

void test_connect_and_parameters(PGconn* conn) {
  check(PQstatus(conn) == CONNECTION_OK, "connect", PQerrorMessage(conn));
  const char* version = PQparameterStatus(conn, "server_version");
  check(version != nullptr && PQserverVersion(conn) >= 90000, "server_version reported",
        version ? version : "missing");
  const char* idt = PQparameterStatus(conn, "integer_datetimes");
  check(idt != nullptr && std::string_view(idt) == "on", "integer_datetimes on", idt ? idt : "missing");
  const char* enc = PQparameterStatus(conn, "client_encoding");
  check(enc != nullptr && std::string_view(enc) == "UTF8", "client_encoding UTF8", enc ? enc : "missing");
  check(PQbackendPID(conn) != 0, "BackendKeyData gives a process id");
}

void test_exec(PGconn* conn) {
  if (!exec_ok(conn, "CREATE TABLE lp (id bigint PRIMARY KEY, x double precision, name text)")) return;
  result ins(PQexec(conn, "INSERT INTO lp VALUES (1, 0.5, 'one'), (2, -2.25, 'two'), (3, NULL, NULL)"));
  check(ins && PQresultStatus(ins.get()) == PGRES_COMMAND_OK && std::string_view(PQcmdTuples(ins.get())) == "3",
        "PQexec INSERT reports 3 rows", describe(conn, ins.get()));
  result sel(PQexec(conn, "SELECT id, x, name FROM lp ORDER BY id"));
  bool ok = sel && PQresultStatus(sel.get()) == PGRES_TUPLES_OK && PQntuples(sel.get()) == 3 &&
            PQnfields(sel.get()) == 3 && std::string_view(PQfname(sel.get(), 2)) == "name" &&
            PQftype(sel.get(), 0) == 20 && PQftype(sel.get(), 1) == 701 && PQftype(sel.get(), 2) == 25 &&
            std::string_view(PQgetvalue(sel.get(), 1, 1)) == "-2.25" &&
            std::string_view(PQgetvalue(sel.get(), 0, 2)) == "one" && PQgetisnull(sel.get(), 2, 1) == 1 &&
            PQgetisnull(sel.get(), 2, 2) == 1;
  check(ok, "PQexec SELECT: rows, names, type OIDs, NULLs", describe(conn, sel.get()));
  result err(PQexec(conn, "SELECT * FROM lp_missing"));
  check(sqlstate(err.get()) == "42P01", "an error carries SQLSTATE 42P01", describe(conn, err.get()));
  result dup(PQexec(conn, "INSERT INTO lp VALUES (1, 0, 'dup')"));
  check(sqlstate(dup.get()) == "23505", "a duplicate key is 23505", describe(conn, dup.get()));
}

void test_prepared_binary(PGconn* conn) {
  const Oid types[3] = {20, 701, 25};
  result prep(PQprepare(conn, "ins_lp", "INSERT INTO lp (id, x, name) VALUES ($1, $2, $3)", 3, types));
  if (!prep || PQresultStatus(prep.get()) != PGRES_COMMAND_OK) {
    check(false, "PQprepare", describe(conn, prep.get()));
    return;
  }
  result desc(PQdescribePrepared(conn, "ins_lp"));
  check(desc && PQnparams(desc.get()) == 3 && PQparamtype(desc.get(), 0) == 20 && PQparamtype(desc.get(), 1) == 701,
        "PQdescribePrepared gives the parameter types", describe(conn, desc.get()));
  int inserted = 0;
  for (int64_t id = 100; id < 200; ++id) {
    uint64_t id_be = htobe64(static_cast<uint64_t>(id));
    double x = static_cast<double>(id) / 8.0;
    uint64_t x_bits;
    std::memcpy(&x_bits, &x, 8);
    x_bits = htobe64(x_bits);
    std::string name = "name-" + std::to_string(id);
    const char* values[3] = {reinterpret_cast<const char*>(&id_be), reinterpret_cast<const char*>(&x_bits),
                             name.c_str()};
    const int lengths[3] = {8, 8, static_cast<int>(name.size())};
    const int formats[3] = {1, 1, 1};
    result r(PQexecPrepared(conn, "ins_lp", 3, values, lengths, formats, 0));
    if (r && PQresultStatus(r.get()) == PGRES_COMMAND_OK) {
      ++inserted;
    } else {
      check(false, "PQexecPrepared with binary parameters", describe(conn, r.get()));
      break;
    }
  }
  check(inserted == 100, "PQexecPrepared inserted 100 rows with binary int8/float8/text");

  const Oid sel_types[2] = {20, 25};
  result sel(PQprepare(conn, "sel_lp", "SELECT id, x, name FROM lp WHERE id >= $1 AND name <> $2 ORDER BY id",
                       2, sel_types));
  check(sel && PQresultStatus(sel.get()) == PGRES_COMMAND_OK, "PQprepare SELECT", describe(conn, sel.get()));
  uint64_t from_be = htobe64(150);
  const char* values[2] = {reinterpret_cast<const char*>(&from_be), "name-151"};
  const int lengths[2] = {8, 8};
  const int formats[2] = {1, 1};
  result rows(PQexecPrepared(conn, "sel_lp", 2, values, lengths, formats, 1));
  bool ok = rows && PQresultStatus(rows.get()) == PGRES_TUPLES_OK && PQntuples(rows.get()) == 49 &&
            PQfformat(rows.get(), 0) == 1;
  check(ok, "binary results: 49 rows in binary format", describe(conn, rows.get()));
  if (!ok) return;
  bool values_ok = true;
  std::string detail;
  for (int r = 0; r < PQntuples(rows.get()) && values_ok; ++r) {
    int64_t want = r == 0 ? 150 : 151 + r;
    int64_t id = static_cast<int64_t>(be64_at(PQgetvalue(rows.get(), r, 0)));
    uint64_t x_bits = be64_at(PQgetvalue(rows.get(), r, 1));
    double x;
    std::memcpy(&x, &x_bits, 8);
    std::string name(PQgetvalue(rows.get(), r, 2), static_cast<size_t>(PQgetlength(rows.get(), r, 2)));
    values_ok = PQgetlength(rows.get(), r, 0) == 8 && id == want && x == static_cast<double>(want) / 8.0 &&
                name == "name-" + std::to_string(want);
    if (!values_ok) detail = "row " + std::to_string(r) + ": id " + std::to_string(id) + " name " + name;
  }
  check(values_ok, "binary int8/float8/text result values decode", detail);

  // PQexecParams with a text NULL parameter.
  const char* null_values[1] = {nullptr};
  result nul(PQexecParams(conn, "SELECT count(*) FROM lp WHERE name = $1", 1, nullptr, null_values, nullptr,
                          nullptr, 0));
  check(nul && PQresultStatus(nul.get()) == PGRES_TUPLES_OK && std::string_view(PQgetvalue(nul.get(), 0, 0)) == "0",
        "PQexecParams with a NULL parameter", describe(conn, nul.get()));
}

void test_single_row_mode(PGconn* conn) {
  if (!PQsendQuery(conn, "SELECT id FROM lp WHERE id >= 100 ORDER BY id")) {
    check(false, "PQsendQuery", PQerrorMessage(conn));
    return;
  }
  check(PQsetSingleRowMode(conn) == 1, "PQsetSingleRowMode accepted");
  int single = 0;
  int64_t expect = 100;
  bool order_ok = true;
  bool ended_ok = false;
  while (PGresult* raw = PQgetResult(conn)) {
    result res(raw);
    ExecStatusType st = PQresultStatus(raw);
    if (st == PGRES_SINGLE_TUPLE) {
      ++single;
      if (std::stoll(PQgetvalue(raw, 0, 0)) != expect++) order_ok = false;
    } else if (st == PGRES_TUPLES_OK) {
      ended_ok = PQntuples(raw) == 0;
    } else {
      check(false, "single-row mode result", describe(conn, raw));
    }
  }
  check(single == 100 && order_ok && ended_ok, "single-row mode gives 100 rows one by one, then the end",
        std::to_string(single) + " rows");
}

void test_copy(PGconn* conn) {
  if (!exec_ok(conn, "CREATE TABLE lpcopy (id integer, label text, amount numeric(10,2))")) return;
  result start(PQexec(conn, "COPY lpcopy FROM STDIN"));
  if (!start || PQresultStatus(start.get()) != PGRES_COPY_IN) {
    check(false, "COPY FROM STDIN starts", describe(conn, start.get()));
    return;
  }
  std::string buffer;
  int sent_ok = 1;
  constexpr int rows = 50000;
  for (int i = 1; i <= rows; ++i) {
    buffer += std::to_string(i) + "\tlabel " + std::to_string(i) + "\t" + std::to_string(i % 1000) + ".25\n";
    if (buffer.size() > 7000) {  // odd-sized pieces: rows straddle CopyData messages
      sent_ok &= PQputCopyData(conn, buffer.data(), 5000) == 1;
      buffer.erase(0, 5000);
    }
  }
  sent_ok &= PQputCopyData(conn, buffer.data(), static_cast<int>(buffer.size())) == 1;
  sent_ok &= PQputCopyEnd(conn, nullptr) == 1;
  result done(PQgetResult(conn));
  check(sent_ok && done && PQresultStatus(done.get()) == PGRES_COMMAND_OK &&
            std::string_view(PQcmdTuples(done.get())) == std::to_string(rows),
        "COPY FROM STDIN with PQputCopyData: 50000 rows", describe(conn, done.get()));
  while (PGresult* extra = PQgetResult(conn)) PQclear(extra);
  std::string sums = single_value(conn, "SELECT count(*) || ' ' || sum(id) || ' ' || sum(amount) FROM lpcopy");
  // sum(i % 1000) over 1..50000 = 50 * 499500 = 24975000, plus 0.25 per row.
  check(sums == "50000 1250025000 24987500.00", "COPY rows are all there with exact sums", sums);

  result out(PQexec(conn, "COPY (SELECT id, label FROM lpcopy WHERE id <= 3 ORDER BY id) TO STDOUT"));
  if (!out || PQresultStatus(out.get()) != PGRES_COPY_OUT) {
    check(false, "COPY TO STDOUT starts", describe(conn, out.get()));
    return;
  }
  std::string text;
  char* chunk = nullptr;
  int n;
  while ((n = PQgetCopyData(conn, &chunk, 0)) > 0) {
    text.append(chunk, static_cast<size_t>(n));
    PQfreemem(chunk);
  }
  result end(PQgetResult(conn));
  check(n == -1 && text == "1\tlabel 1\n2\tlabel 2\n3\tlabel 3\n" && end &&
            PQresultStatus(end.get()) == PGRES_COMMAND_OK,
        "COPY TO STDOUT with PQgetCopyData", text);
  while (PGresult* extra = PQgetResult(conn)) PQclear(extra);
}

void test_cancel(PGconn* conn, const std::string& long_query) {
  if (!PQsendQuery(conn, long_query.c_str())) {
    check(false, "PQsendQuery of the long query", PQerrorMessage(conn));
    return;
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto started = std::chrono::steady_clock::now();
  PGcancel* cancel = PQgetCancel(conn);
  char errbuf[256] = {0};
  int sent = PQcancel(cancel, errbuf, sizeof errbuf);
  PQfreeCancel(cancel);
  check(sent == 1, "PQcancel sent", errbuf);
  std::string state;
  while (PGresult* raw = PQgetResult(conn)) {
    result res(raw);
    if (PQresultStatus(raw) == PGRES_FATAL_ERROR) state = sqlstate(raw);
  }
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  check(state == "57014", "the cancelled query fails with 57014", "got '" + state + "'");
  check(waited.count() < 15000, "the query stopped soon after PQcancel", std::to_string(waited.count()) + " ms");
  check(single_value(conn, "SELECT 40 + 2") == "42", "the connection works after the cancel");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CONNINFO [--long-query SQL]\n", argv[0]);
    return 2;
  }
  std::string long_query = "SELECT count(*) FROM range(10000000000)";
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::string_view(argv[i]) == "--long-query") long_query = argv[i + 1];
  }
  PGconn* conn = PQconnectdb(argv[1]);
  test_connect_and_parameters(conn);
  if (PQstatus(conn) == CONNECTION_OK) {
    test_exec(conn);
    test_prepared_binary(conn);
    test_single_row_mode(conn);
    test_copy(conn);
    test_cancel(conn, long_query);
  }
  PQfinish(conn);
  std::printf("%s: %d failed\n", failures ? "FAILED" : "OK", failures);
  return failures ? 1 : 0;
}
