// COPY FROM STDIN (decoded rows written through a tables::transaction) and
// COPY TO STDOUT (a DuckDB query streamed and encoded chunk by chunk).
#include <fmt/format.h>

#include <future>

#include "sql/copy_format.h"
#include "sql/session_impl.h"

namespace strata::sql::detail {
namespace {

using clock = std::chrono::steady_clock;

struct timer_scope {
  session_impl& s;
  timer_scope(session_impl& session, clock::time_point deadline) : s(session) { s.arm_timer(deadline); }
  ~timer_scope() { s.disarm_timer(); }
};

class copy_sink final : public copy_in_sink {
 public:
  copy_sink(std::shared_ptr<session_link> link, std::shared_ptr<statement> st, bool in_block)
      : link_(std::move(link)),
        st_(std::move(st)),
        in_block_(in_block),
        decoder_(*st_->copy_stmt, input_types()) {}

  ~copy_sink() override {
    if (own_txn_) own_txn_->rollback();
    set_active(false);
  }

  status write(std::string_view data) override {
    auto* s = session();
    if (s == nullptr) return closed();
    if (failure_) return *failure_;
    timer_scope timer(*s, deadline_);
    if (s->interrupted()) return fail(s->interrupted_error());
    auto fed = decoder_.feed(data);
    if (!fed.ok()) return fail(fed.err());
    if (decoder_.pending_bytes() >= piece_bytes()) return flush();
    return ok_t{};
  }

  outcome<uint64_t> finish() override {
    auto* s = session();
    if (s == nullptr) return closed();
    if (failure_) return *failure_;
    timer_scope timer(*s, deadline_);
    auto done = decoder_.finish();
    if (!done.ok()) return fail(done.err());
    auto flushed = flush();
    if (!flushed.ok()) return flushed.err();
    auto committed = wait_commit();
    if (!committed.ok()) return committed.err();
    if (s->interrupted()) return fail(s->interrupted_error());
    if (own_txn_) {
      auto txn = std::move(own_txn_);
      auto r = txn->commit();
      if (!r.ok()) return fail(s->tables_error(r.err()));
    }
    finished_ = true;
    set_active(false);
    return rows_;
  }

  void abort(std::string_view reason) override {
    if (finished_ || failure_) return;
    fail(error{"57014", fmt::format("COPY from stdin failed: {}", reason), {}, {}});
  }

  void start(clock::time_point deadline) {
    deadline_ = deadline;
    set_active(true);
  }

 private:
  session_impl* session() const { return link_->session; }
  // Decoded rows go to the transaction in pieces of at most a quarter of a
  // commit, so commits stay near copy_buffer_bytes_max.
  uint64_t piece_bytes() const {
    auto* s = session();
    return s == nullptr ? write_piece_bytes : std::min(write_piece_bytes, s->config().copy_buffer_bytes_max / 4);
  }
  static error closed() { return error{"08003", "the session of this COPY is closed", {}, {}}; }

  std::vector<tables::column_type> input_types() const {
    std::vector<tables::column_type> types;
    for (uint32_t c : st_->copy_columns) types.push_back(st_->copy_schema.columns[c].type);
    return types;
  }

  void set_active(bool active) {
    if (auto* s = session()) s->set_copy_active(active);
  }

  error fail(error e) {
    set_active(false);
    if (own_txn_) own_txn_->rollback();
    own_txn_.reset();
    failure_ = e;
    auto* s = session();
    if (s != nullptr && in_block_) {
      // Marks the block failed, as any error inside it does.
      (void)s->finish_call(outcome<ok_t>(e));
    }
    return e;
  }

  // Table rows from decoded input rows: columns in table order, omitted ones
  // their DEFAULT (NULL without one).
  outcome<tables::column_batch> to_table_rows(session_impl& s, tables::column_batch input) const {
    const auto& schema = st_->copy_schema;
    tables::column_batch out;
    out.row_count = input.row_count;
    for (uint32_t i = 0; i < schema.columns.size(); ++i) {
      auto at = std::find(st_->copy_columns.begin(), st_->copy_columns.end(), i);
      if (at != st_->copy_columns.end()) {
        out.columns.push_back(std::move(input.columns[size_t(at - st_->copy_columns.begin())]));
      } else {
        auto values = s.default_column(schema.columns[i], input.row_count);
        if (!values.ok()) return values.err();
        out.columns.push_back(std::move(*values));
      }
    }
    return out;
  }

  status flush() {
    auto* s = session();
    auto input = decoder_.take_rows();
    if (input.row_count == 0) return ok_t{};
    auto table_rows = to_table_rows(*s, std::move(input));
    if (!table_rows.ok()) return fail(table_rows.err());
    auto& rows = *table_rows;
    auto nn = check_not_null(st_->copy_schema, rows);
    if (!nn.ok()) return fail(nn.err());
    if (!in_block_ && !own_txn_) own_txn_ = s->tables().begin();
    tables::transaction& txn = in_block_ ? s->write_txn(own_txn_) : *own_txn_;
    // In a block a duplicate must fail the COPY itself, not the COMMIT.
    auto check = in_block_ ? tables::on_conflict::error : tables::on_conflict::error_at_commit;
    auto w = txn.insert(st_->copy_schema.name, rows, check);
    if (!w.ok()) return fail(s->tables_error(w.err()));
    rows_ += rows.row_count;
    if (own_txn_ && own_txn_->buffered_bytes() >= s->config().copy_buffer_bytes_max) return start_commit();
    return ok_t{};
  }

  // A full piece commits on its own thread while the next piece is parsed
  // (about half of a primary-key COPY is the commit). One piece commits at a
  // time, so pieces land in order and at most two are in memory.
  status start_commit() {
    auto waited = wait_commit();
    if (!waited.ok()) return waited;
    committing_ = std::async(std::launch::async, [txn = std::move(own_txn_)]() mutable {
      auto r = txn->commit();
      txn.reset();
      return r;
    });
    return ok_t{};
  }

  status wait_commit() {
    if (!committing_.valid()) return ok_t{};
    auto r = committing_.get();
    if (r.ok()) return ok_t{};
    auto* s = session();
    if (s == nullptr) return closed();
    return fail(s->tables_error(r.err()));
  }

  std::shared_ptr<session_link> link_;
  std::shared_ptr<statement> st_;
  bool in_block_;
  copy_decoder decoder_;
  std::unique_ptr<tables::transaction> own_txn_;
  std::future<result<void>> committing_;  // the previous piece, under autocommit
  uint64_t rows_ = 0;
  bool finished_ = false;
  std::optional<error> failure_;
  clock::time_point deadline_ = clock::time_point::max();
};

// The end of the encoded row starting at `begin`: the newline after it. Text
// format escapes newlines in values; CSV quotes them, so track the quoting.
size_t row_end(const copy_statement& options, const std::string& rows, size_t begin) {
  bool quoted = false;
  for (size_t i = begin; i < rows.size(); ++i) {
    char c = rows[i];
    if (options.format != copy_format::csv) {
      if (c == '\n') return i + 1;
    } else if (quoted) {
      if (c == options.escape && options.escape != options.quote && i + 1 < rows.size()) {
        ++i;
      } else if (c == options.quote) {
        quoted = false;
      }
    } else if (c == options.quote) {
      quoted = true;
    } else if (c == '\n') {
      return i + 1;
    }
  }
  return rows.size();
}

class copy_source final : public copy_out_source {
 public:
  copy_source(std::shared_ptr<session_link> link, std::shared_ptr<statement> st, std::shared_ptr<stream_state> state)
      : link_(std::move(link)), st_(std::move(st)), state_(std::move(state)) {}

  // One row (or the CSV header, or the binary trailer) per call: pgwire sends each as one CopyData,
  // which the protocol asks for and clients (psycopg's Copy.rows()) rely on.
  outcome<bool> next(uint64_t, std::string& out) override {
    auto* s = link_->session;
    if (s == nullptr) return error{"08003", "the session of this COPY is closed", {}, {}};
    const copy_statement& options = *st_->copy_stmt;
    const bool binary = options.format == copy_format::binary;
    if (!header_done_) {
      header_done_ = true;
      if (options.header && options.format == copy_format::csv) {
        std::vector<std::string> names;
        for (const auto& f : st_->fields_) names.push_back(f.name);
        encode_copy_header(options, names, out);
        return true;
      }
      // PostgreSQL sends the binary header in one message with the first row
      // (or the trailer), and clients (psycopg) expect it there.
      if (binary) encode_copy_binary_header(out);
    }
    if (position_ == pending_.size()) {
      auto refill = fill_pending(*s);
      if (!refill.ok()) return refill;
      if (!refill.value()) {
        if (!binary || trailer_done_) return false;
        trailer_done_ = true;
        encode_copy_binary_trailer(out);
        return true;
      }
    }
    size_t end = binary ? copy_binary_row_end(pending_, position_) : row_end(options, pending_, position_);
    out.append(pending_, position_, end - position_);
    position_ = end;
    return true;
  }

  uint64_t rows() const override { return rows_; }

 private:
  // Encodes the next non-empty DuckDB chunk into pending_; false at the end.
  outcome<bool> fill_pending(session_impl& s) {
    timer_scope timer(s, state_->deadline);
    pending_.clear();
    position_ = 0;
    while (pending_.empty()) {
      auto more = s.pull_chunk(*state_);
      if (!more.ok()) return s.finish_call(outcome<bool>(more.err()));
      if (!*more) return false;
      if (st_->copy_stmt->format == copy_format::binary) {
        encode_copy_binary_rows(st_->fields_, state_->buffer, pending_);
      } else {
        encode_copy_rows(*st_->copy_stmt, state_->buffer, pending_);
      }
      rows_ += state_->buffer.row_count;
      state_->buffer = {};
    }
    return true;
  }

  std::shared_ptr<session_link> link_;
  std::shared_ptr<statement> st_;
  std::shared_ptr<stream_state> state_;
  bool header_done_ = false;
  bool trailer_done_ = false;
  uint64_t rows_ = 0;
  std::string pending_;  // encoded rows of one DuckDB chunk
  size_t position_ = 0;  // where the next row in pending_ starts
};

error aborted_error() {
  return error{"25P02", "current transaction is aborted, commands ignored until end of transaction block", {},
               "Send ROLLBACK to end the block."};
}

std::shared_ptr<statement> statement_of(const std::shared_ptr<prepared>& p, const void* owner) {
  auto st = std::dynamic_pointer_cast<statement>(p);
  if (!st || st->owner != owner) return nullptr;
  return st;
}

}  // namespace

outcome<std::unique_ptr<copy_in_sink>> session_impl::copy_in(const std::shared_ptr<prepared>& p) {
  auto st = statement_of(p, this);
  if (!st || st->how != route::copy_in) return error{"08P01", "the statement is not a COPY FROM STDIN", {}, {}};
  begin_call();
  if (state_ == transaction_state::failed) return aborted_error();
  try {
    quiesce();
    auto sink = std::make_unique<copy_sink>(link_, st, state_ == transaction_state::in_block);
    sink->start(statement_deadline());
    return std::unique_ptr<copy_in_sink>(std::move(sink));
  } catch (const std::exception& ex) {
    return finish_call(outcome<std::unique_ptr<copy_in_sink>>(duck_error(duckdb::ErrorData(ex))));
  }
}

outcome<std::unique_ptr<copy_out_source>> session_impl::copy_out(const std::shared_ptr<prepared>& p) {
  auto st = statement_of(p, this);
  if (!st || st->how != route::copy_out) return error{"08P01", "the statement is not a COPY TO STDOUT", {}, {}};
  begin_call();
  if (state_ == transaction_state::failed) return aborted_error();
  outcome<std::unique_ptr<copy_out_source>> r = error{};
  try {
    quiesce();
    set_scan_txn(txn_.get());
    timer_scope timer(*this, statement_deadline());
    std::shared_ptr<duck_retry> retry;
    auto result = run(*st->duck, *st, {}, true, &retry);
    if (!result.ok()) {
      r = result.err();
    } else {
      auto s = std::make_shared<stream_state>();
      s->fields = st->fields_;
      s->result = std::move(result.value());
      s->retry = std::move(retry);
      s->deadline = statement_deadline();
      active_stream_ = s;
      r = std::unique_ptr<copy_out_source>(std::make_unique<copy_source>(link_, st, s));
    }
  } catch (const std::exception& ex) {
    r = duck_error(duckdb::ErrorData(ex));
  }
  return finish_call(std::move(r));
}

}  // namespace strata::sql::detail
