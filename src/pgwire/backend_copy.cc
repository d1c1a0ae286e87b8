// backend: streaming result rows (DataRow, COPY TO STDOUT) and COPY FROM STDIN.
#include "pgwire/backend.h"

#include <fmt/format.h>

#include <algorithm>

#include "pgwire/backend_internal.h"
#include "sql/binary_value.h"
#include "sql/copy_format.h"

namespace strata::pgwire {

using detail::format_binary;
using detail::format_text;
using detail::make_sql_error;
using detail::printable_type;

// ---------------------------------------------------------------------------
// Rows and COPY output

backend::stream_result backend::stream_rows(portal_entry& portal, uint32_t row_limit, uint64_t& rows_sent) {
  const auto& fields = portal.fields;
  for (;;) {
    uint32_t want = env_.limits.fetch_rows_max;
    if (row_limit > 0) want = uint32_t(std::min<uint64_t>(want, row_limit - rows_sent));
    tables::column_batch batch;
    auto more = portal.cursor->fetch(want, batch);
    if (!more.ok()) {
      send_error(more.err());
      return stream_result::failed;
    }
    if ((batch.row_count > 0 || !batch.columns.empty()) && batch.columns.size() != fields.size()) {
      send_error(make_sql_error(sqlstate::internal_error,
                                fmt::format("the statement returned {} columns for {} fields", batch.columns.size(), fields.size())));
      return stream_result::failed;
    }
    for (size_t col = 0; col < batch.columns.size(); ++col) {
      const auto& c = batch.columns[col];
      if (c.row_count < batch.row_count) {
        send_error(make_sql_error(sqlstate::internal_error, "the statement returned a short column"));
        return stream_result::failed;
      }
      if (portal.formats[col] == format_binary && !sql::binary_encodable_as(fields[col].type_oid, c.type.id)) {
        send_error(make_sql_error(sqlstate::internal_error,
                                  fmt::format("column \"{}\" holds {} values, which cannot be sent as type OID {} in binary",
                                              fields[col].name, tables::type_name(c.type), fields[col].type_oid)));
        return stream_result::failed;
      }
    }
    for (uint32_t row = 0; row < batch.row_count; ++row) {
      const size_t m = begin_message(out_, be::data_row);
      put_i16(out_, int16_t(fields.size()));
      for (size_t col = 0; col < fields.size(); ++col) {
        const auto& column = batch.columns[col];
        if (column.is_null(row)) {
          put_i32(out_, -1);
          continue;
        }
        const size_t len_at = out_.size();
        put_i32(out_, 0);
        if (portal.formats[col] == format_binary) {
          sql::append_binary_value(fields[col], column, row, out_);
        } else {
          sql::append_text_value(column, row, out_);
        }
        const auto len = uint32_t(out_.size() - len_at - 4);
        out_[len_at] = char(len >> 24);
        out_[len_at + 1] = char((len >> 16) & 0xff);
        out_[len_at + 2] = char((len >> 8) & 0xff);
        out_[len_at + 3] = char(len & 0xff);
      }
      end_message(out_, m);
    }
    rows_sent += batch.row_count;
    portal.position += batch.row_count;
    const bool limit_reached = row_limit > 0 && rows_sent >= row_limit;
    if (!more.value()) {
      portal.finished = true;
      portal.tag = portal.cursor->command_tag();
      portal.cursor.reset();
      if (!limit_reached) {
        send_command_complete(portal.tag);
        return stream_result::done;
      }
      // PostgreSQL does not look ahead: the Execute that sends the last row
      // suspends, and the next one completes having sent none.
      if (portal.tag.starts_with("SELECT ")) portal.tag = "SELECT 0";
    }
    if (limit_reached) {
      const size_t m = begin_message(out_, be::portal_suspended);
      end_message(out_, m);
      return stream_result::suspended;
    }
    if (output_full()) return stream_result::paused;
  }
}

bool backend::start_copy_out(const std::shared_ptr<sql::prepared>& stmt, portal_entry& portal) {
  auto src = session_->copy_out(stmt);
  if (!src.ok()) {
    send_error(src.err());
    return false;
  }
  portal.copy_out = std::move(src.value());
  portal.started = true;
  const sql::copy_description d = stmt->copy();
  const int16_t format = d.format == sql::copy_format::binary ? format_binary : format_text;
  const size_t m = begin_message(out_, be::copy_out_response);
  out_.push_back(char(format));
  put_i16(out_, int16_t(d.column_count));
  for (uint32_t i = 0; i < d.column_count; ++i) put_i16(out_, format);
  end_message(out_, m);
  return true;
}

backend::stream_result backend::pump_copy_out(portal_entry& portal) {
  std::string chunk;
  for (;;) {
    chunk.clear();
    auto more = portal.copy_out->next(env_.limits.copy_out_chunk_bytes, chunk);
    if (!more.ok()) {
      send_error(more.err());
      return stream_result::failed;
    }
    if (!chunk.empty()) {
      const size_t m = begin_message(out_, be::copy_data);
      out_.append(chunk);
      end_message(out_, m);
    }
    if (!more.value()) {
      const size_t m = begin_message(out_, be::copy_done);
      end_message(out_, m);
      portal.finished = true;
      portal.tag = fmt::format("COPY {}", portal.copy_out->rows());
      portal.copy_out.reset();
      send_command_complete(portal.tag);
      return stream_result::done;
    }
    if (output_full()) return stream_result::paused;
  }
}

// ---------------------------------------------------------------------------
// COPY FROM STDIN

bool backend::start_copy_in(const std::shared_ptr<sql::prepared>& stmt, bool extended) {
  auto sink = session_->copy_in(stmt);
  if (!sink.ok()) {
    send_error(sink.err());
    return false;
  }
  copy_in_ = std::make_unique<copy_in_work>();
  copy_in_->sink = std::move(sink.value());
  copy_in_->extended = extended;
  const sql::copy_description d = stmt->copy();
  const int16_t format = d.format == sql::copy_format::binary ? format_binary : format_text;
  const size_t m = begin_message(out_, be::copy_in_response);
  out_.push_back(char(format));
  put_i16(out_, int16_t(d.column_count));
  for (uint32_t i = 0; i < d.column_count; ++i) put_i16(out_, format);
  end_message(out_, m);
  return true;
}

void backend::on_copy_message(char type, std::span<const uint8_t> body) {
  auto& sink = *copy_in_->sink;
  switch (type) {
    case fe::copy_data: {
      auto s = sink.write({reinterpret_cast<const char*>(body.data()), body.size()});
      if (!s.ok()) {
        sink.abort(s.err().message);
        send_error(s.err());
        finish_copy_in(false);
      }
      return;
    }
    case fe::copy_done: {
      auto rows = sink.finish();
      if (!rows.ok()) {
        send_error(rows.err());
        finish_copy_in(false);
        return;
      }
      send_command_complete(fmt::format("COPY {}", rows.value()));
      finish_copy_in(true);
      return;
    }
    case fe::copy_fail: {
      reader r(body);
      std::string reason(r.cstr());
      sink.abort(reason);
      send_error(make_sql_error(sqlstate::query_canceled, fmt::format("COPY from stdin failed: {}", reason)));
      finish_copy_in(false);
      return;
    }
    case fe::flush:
    case fe::sync: return;  // ignored during COPY FROM STDIN, as PostgreSQL does
    default:
      sink.abort("unexpected message during COPY");
      send_error(make_sql_error(sqlstate::protocol_violation,
                                fmt::format("unexpected message type {} during COPY from stdin", printable_type(type))));
      finish_copy_in(false);
      return;
  }
}

void backend::finish_copy_in(bool ok) {
  const bool extended = copy_in_->extended;
  copy_in_.reset();
  if (extended) {
    if (!ok) ignore_till_sync_ = true;
    return;
  }
  if (!ok) {
    end_simple();
    return;
  }
  if (simple_) send_reported_parameters();
  run_simple();
}

}  // namespace strata::pgwire
