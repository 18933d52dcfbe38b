#include "engine/run_context.h"

#include <nlohmann/json.hpp>

namespace idsync {
namespace {

// One table lists every counter, so JSON, printing and summing agree.
#define IDSYNC_COUNTERS(X)                                                                       \
  X(stage_adds) X(stage_updates) X(stage_renames) X(stage_deletes) X(stage_unchanged) X(joins)   \
  X(projections) X(filtered) X(disconnects) X(flow_updates) X(mv_deletes) X(provisioned_adds)    \
  X(export_updates) X(export_renames) X(export_deletes) X(deprovision_disconnects)               \
  X(unresolved_references) X(exported_adds) X(exported_updates) X(exported_renames)             \
  X(exported_deletes) X(errors) X(processed)

}  // namespace

void RunCounters::Add(const RunCounters& o) {
#define IDSYNC_ADD(name) name += o.name;
  IDSYNC_COUNTERS(IDSYNC_ADD)
#undef IDSYNC_ADD
}

std::vector<std::pair<std::string, int64_t>> RunCounters::NonZero() const {
  std::vector<std::pair<std::string, int64_t>> out;
#define IDSYNC_LIST(name) \
  if (name) out.emplace_back(#name, name);
  IDSYNC_COUNTERS(IDSYNC_LIST)
#undef IDSYNC_LIST
  return out;
}

std::string RunCounters::ToJson() const {
  nlohmann::json j = nlohmann::json::object();
#define IDSYNC_JSON(name) j[#name] = name;
  IDSYNC_COUNTERS(IDSYNC_JSON)
#undef IDSYNC_JSON
  return j.dump();
}

Status RunContext::ObjectError(std::string_view object, std::string_view location,
                               std::string_view code, std::string_view message) {
  ++counters.errors;
  RunErrorRecord rec{std::string(object), std::string(location), std::string(code), std::string(message)};
  Status st;
  if (store.db().InTransaction()) {
    st = store.AddRunError(run_id, ++error_seq, rec);
  } else {
    int64_t seq = ++error_seq;
    st = store.WithWrite([&] { return store.AddRunError(run_id, seq, rec); });
  }
  if (!st) return st;
  if (counters.errors > ma.error_limit)
    return Fail(ErrorCode::kLimit, "error limit of " + std::to_string(ma.error_limit) + " reached");
  return {};
}

Status RunContext::CommitKeepingLimit(const std::function<Status()>& body) {
  Status limit;
  IDSYNC_TRY(store.WithWrite([&]() -> Status {
    auto st = body();
    if (!st && st.error().code == ErrorCode::kLimit) {
      limit = st;
      return {};
    }
    return st;
  }));
  return limit;
}

const MaObjectType* RunContext::FindType(std::string_view name) const {
  for (const auto& t : ma.object_types)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace idsync
